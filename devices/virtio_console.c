// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-console, single port (devices/virtio_console.h).
 *
 * Output: each transmit element is written to the back end in the kick,
 * on the vCPU thread, as the UART does with its THR (chardev_write() is
 * synchronous).
 *
 * Input: the back end asks can_receive(); we answer with the room in one
 * receive element, popped then and kept in rx_elem until receive() fills
 * it. When the ring is empty we say 0, and the guest's next kick of the
 * receive queue calls chardev_accept_input() to deliver what waited.
 *
 * Locking: everything runs with vm->lock held (kicks come through the
 * bus, the chardev calls its receiver under the lock).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
#include "machine/device.h"
#include "devices/virtio_console.h"
#include "machine/chardev.h"
#include "machine/vm.h"

#define RXQ		0
#define TXQ		1
#define QUEUE_SIZE	128
#define CONFIG_LEN	12	/* cols, rows, max_nr_ports, emerg_wr: none offered */

struct virtio_console {
	struct virtio_dev vdev;
	char name[32];
	uint8_t config[CONFIG_LEN];
	struct chardev *cd;
	bool started;			/* chardev_start() done (or failed, said once) */
	struct virtq_elem *tx_elem, *rx_elem;
	bool rx_held;			/* rx_elem is popped and not pushed yet */
	uint8_t buf[4096];
	unsigned long long tx_bytes, rx_bytes;
};

static void console_tx(struct virtio_console *c, struct virtq *vq)
{
	while (virtq_pop(vq, c->tx_elem) == 1) {
		struct virtq_elem *e = c->tx_elem;
		size_t off = 0, n;

		while ((n = iov_to_buf(e->iov, e->out_num, off, c->buf, sizeof(c->buf)))) {
			chardev_write(c->cd, c->buf, n);
			off += n;
		}
		c->tx_bytes += off;
		virtq_push(vq, e, 0);
	}
	virtq_notify(vq);
}

static size_t console_can_receive(void *opaque)
{
	struct virtio_console *c = opaque;
	struct virtq *vq = &c->vdev.vq[RXQ];

	if (!c->rx_held) {
		if (!virtq_ready(vq) || virtq_pop(vq, c->rx_elem) != 1)
			return 0;
		c->rx_held = true;
	}
	return c->rx_elem->in_len < 65536 ? (size_t)c->rx_elem->in_len : 65536;
}

static void console_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = opaque;
	struct virtq *vq = &c->vdev.vq[RXQ];
	struct virtq_elem *e = c->rx_elem;
	size_t n;

	if (!c->rx_held)
		return;
	n = iov_from_buf(e->iov + e->out_num, e->in_num, 0, buf, len);
	c->rx_held = false;
	c->rx_bytes += n;
	virtq_push(vq, e, (uint32_t)n);
	virtq_notify(vq);
}

static const struct chardev_receiver console_rx = {
	.can_receive = console_can_receive,
	.receive = console_receive,
};

static void virtio_console_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);

	if (vq->index == TXQ)
		console_tx(c, vq);
	else
		chardev_accept_input(c->cd);	/* new receive buffers: input may flow */
}

static void virtio_console_status_changed(struct virtio_dev *vdev, uint8_t old)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);
	char err[256];

	if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK) || c->started)
		return;
	/* The guest runs, so the loaders are done: the output file may be created now. */
	c->started = true;
	if (chardev_start(c->cd, err, sizeof(err)))
		fprintf(stderr, "tandem: %s: %s (its output is lost)\n", c->name, err);
}

static void virtio_console_reset(struct virtio_dev *vdev)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);

	c->rx_held = false;	/* that element belonged to the old ring */
}

static const struct virtio_dev_ops virtio_console_ops = {
	.queue_notify = virtio_console_queue_notify,
	.status_changed = virtio_console_status_changed,
	.reset = virtio_console_reset,
};

struct virtio_console *virtio_console_new(struct vm *vm, const char *name, struct chardev *cd,
					  char *err, size_t errlen)
{
	struct virtio_console *c = calloc(1, sizeof(*c));

	if (c) {
		c->tx_elem = malloc(sizeof(*c->tx_elem));
		c->rx_elem = malloc(sizeof(*c->rx_elem));
	}
	if (!c || !c->tx_elem || !c->rx_elem)
		goto nomem;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->cd = cd;
	if (virtio_dev_init(&c->vdev, vm, c->name, VIRTIO_ID_CONSOLE, &virtio_console_ops, 0,
			    c->config, sizeof(c->config), 2, QUEUE_SIZE))
		goto nomem;
	pthread_mutex_lock(&vm->lock);
	chardev_set_receiver(cd, &console_rx, c);
	pthread_mutex_unlock(&vm->lock);
	return c;
nomem:
	if (c) {
		free(c->tx_elem);
		free(c->rx_elem);
	}
	free(c);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void virtio_console_free(struct virtio_console *c)
{
	if (!c)
		return;
	chardev_close(c->cd);
	virtio_dev_free(&c->vdev);
	free(c->tx_elem);
	free(c->rx_elem);
	free(c);
}

struct virtio_dev *virtio_console_vdev(struct virtio_console *c)
{
	return &c->vdev;
}

unsigned long long virtio_console_tx_bytes(const struct virtio_console *c)
{
	return c->tx_bytes;
}

/* --- -chardev ids ------------------------------------------------------- */

#define MAX_IDS	8
static struct {
	char id[32];
	char spec[256];
} ids[MAX_IDS];
static unsigned nr_ids;

int virtio_console_chardev_register(const char *id, const char *spec)
{
	if (nr_ids == MAX_IDS || strlen(id) >= sizeof(ids[0].id) ||
	    strlen(spec) >= sizeof(ids[0].spec))
		return -ENOSPC;
	snprintf(ids[nr_ids].id, sizeof(ids[0].id), "%s", id);
	snprintf(ids[nr_ids].spec, sizeof(ids[0].spec), "%s", spec);
	nr_ids++;
	return 0;
}

const char *virtio_console_chardev_spec(const char *id);
const char *virtio_console_chardev_spec(const char *id)
{
	for (unsigned i = 0; i < nr_ids; i++)
		if (!strcmp(ids[i].id, id))
			return ids[i].spec;
	return NULL;
}
