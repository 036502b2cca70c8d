/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_CONSOLE_H
#define TANDEM_DEVICES_VIRTIO_CONSOLE_H
/*
 * virtio-console (virtio 1.x 5.3) with one port, which Linux names
 * /dev/hvc0: receiveq 0 carries input, transmitq 1 output, to and from a
 * character back end (machine/chardev.h: stdio, file:PATH, none).
 * MULTIPORT is not offered, so there is no control queue and no
 * /dev/vportNpM: only the console port, as the spec's single-port mode.
 *
 *   -device virtio-serial-pci[,addr=SLOT] [-device virtconsole,chardev=ID]
 *
 * QEMU's pair: the first gives the device, the second names the back end
 * of its console (a -chardev id); without it, output is discarded.
 */
#include <stddef.h>

struct vm;
struct chardev;
struct virtio_dev;
struct virtio_console;

/*
 * The device on back end @cd (NULL: none), which it owns from now on; the
 * output file, if any, is created when the driver starts the device (after
 * the loaders read their inputs). NULL with one line in @err.
 */
struct virtio_console *virtio_console_new(struct vm *vm, const char *name, struct chardev *cd,
					  char *err, size_t errlen);
void virtio_console_free(struct virtio_console *c);
struct virtio_dev *virtio_console_vdev(struct virtio_console *c);
unsigned long long virtio_console_tx_bytes(const struct virtio_console *c);

/*
 * -chardev ids, for virtconsole,chardev=ID: the command line registers
 * each -chardev's tandem spelling ("file:PATH", "stdio", "none").
 */
int virtio_console_chardev_register(const char *id, const char *spec);

/* -device virtio-serial-pci and -device virtconsole (board/ table rows). */
int virtio_serial_pci_create(struct vm *vm, const char *opts, char *why, size_t len);
int virtconsole_create(struct vm *vm, const char *opts, char *why, size_t len);

#endif
