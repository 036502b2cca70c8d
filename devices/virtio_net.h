/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_NET_H
#define TANDEM_DEVICES_VIRTIO_NET_H
/*
 * virtio-net (virtio 1.x 5.1): one receive and one transmit queue,
 * VIRTIO_NET_F_MAC, _STATUS (link always up) and _MRG_RXBUF. No checksum
 * or segmentation offloads are offered (no CSUM, GUEST_CSUM, GSO bits):
 * every frame crosses whole and checksummed, at most NETDEV_MAX_FRAME
 * bytes, and the 12-byte virtio_net_hdr is all zeros (num_buffers aside).
 *
 * Frames go to a back end of machine/net.h (-netdev ID). Transmit work is
 * moved from the vCPU that kicked the queue to the main loop, in batches,
 * so the vCPU never waits on the host network; receive happens on the
 * main loop when the back end has a frame and the guest has buffers. A
 * frame for a guest that has posted no buffers is refused (counted), and
 * waits in the back end's queue for the next kick of the receive queue.
 *
 *   -device virtio-net-pci,netdev=ID[,mac=52:54:00:12:34:56][,mrg_rxbuf=off]
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio.h"

struct vm;
struct virtio_net;

#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define VIRTIO_NET_S_LINK_UP		1
#define VIRTIO_NET_HDR_LEN		12	/* virtio 1.x: num_buffers always there */
#define VIRTIO_NET_QUEUE_SIZE		256
#define VIRTIO_NET_RXQ			0
#define VIRTIO_NET_TXQ			1

struct virtio_net_opts {
	char netdev[32];		/* "": no back end (cable unplugged, link still up) */
	uint8_t mac[6];
	bool mac_set;
	bool mrg_rxbuf;			/* default on */
};

struct virtio_net_stats {
	uint64_t rx_frames, rx_no_buffers, rx_dropped, rx_too_big;
	uint64_t tx_frames, tx_bad;
};

/* Parse the options after "virtio-net-pci,"; 0, or -EINVAL with one line in @err. */
int virtio_net_parse(const char *opts, struct virtio_net_opts *o, char *err, size_t errlen);

/*
 * The device without a transport: opens the back end, fills @o's defaults
 * (the next MAC of QEMU's 52:54:00:12:34:56 series when none was given).
 * NULL with one line in @err.
 */
struct virtio_net *virtio_net_new(struct vm *vm, const char *name,
				  const struct virtio_net_opts *o, char *err, size_t errlen);
void virtio_net_free(struct virtio_net *n);
struct virtio_dev *virtio_net_vdev(struct virtio_net *n);
const struct virtio_net_stats *virtio_net_stats(const struct virtio_net *n);

/*
 * A frame from the network (the back end's receive callback; tests call
 * it directly). vm->lock held. True if taken or dropped for good, false
 * if the guest has no buffer for it now (counted in rx_no_buffers).
 */
bool virtio_net_receive(void *opaque, const uint8_t *frame, size_t len);
/* The main loop's deferred work: transmit and receive-resume (vm->lock held). */
void virtio_net_poll(struct virtio_net *n);

/* -device virtio-net-pci (board/ table row): 0, or -errno with one line in @why. */
int virtio_net_pci_create(struct vm *vm, const char *opts, char *why, size_t len);

#endif
