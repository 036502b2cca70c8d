/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_RNG_H
#define TANDEM_DEVICES_VIRTIO_RNG_H
/*
 * virtio-rng (virtio 1.x 5.4): one request queue whose device-writable
 * buffers are filled from the host's getrandom(). The guest sees it as
 * /dev/hwrng (rng_current: virtio_rng.N).
 *
 *   -device virtio-rng-pci[,addr=SLOT]
 */
#include <stddef.h>

struct vm;
struct virtio_dev;
struct virtio_rng;

/* At most this much per request: a guest asking for more gets a short fill. */
#define VIRTIO_RNG_MAX_FILL	65536

struct virtio_rng *virtio_rng_new(struct vm *vm, const char *name, char *err, size_t errlen);
void virtio_rng_free(struct virtio_rng *r);
struct virtio_dev *virtio_rng_vdev(struct virtio_rng *r);
/* Bytes handed to the guest so far. */
unsigned long long virtio_rng_bytes(const struct virtio_rng *r);

/* -device virtio-rng-pci (board/ table row): 0, or -errno with one line in @why. */
int virtio_rng_pci_create(struct vm *vm, const char *opts, char *why, size_t len);

#endif
