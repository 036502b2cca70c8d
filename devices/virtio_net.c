// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net (devices/virtio_net.h).
 *
 * Receive: a frame takes one element (or, with MRG_RXBUF, as many as it
 * needs) from the receive queue. Elements popped for a frame that then
 * could not be completed (the ring ran dry half way, or a buffer too
 * small without MRG_RXBUF) are kept in rx_stash, in ring order, and used
 * first for the next frame: the core has no "un-pop", and an element once
 * popped must be pushed exactly once.
 *
 * Transmit: the vCPU's kick only schedules the main-loop work (one idle
 * source at a time); that work pops up to TX_BUDGET frames per turn with
 * the queue's notifications off, hands each to the back end and gives the
 * buffers back.
 *
 * Locking: all state is under vm->lock; the idle callback takes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "devices/virtio_net.h"
#include "machine/device.h"
#include "machine/net.h"
#include "devices/virtio_pci.h"
#include "machine/vm.h"

#define TX_BUDGET	256
#define RX_STASH_MAX	64	/* elements one frame may span (MRG_RXBUF) */
#define CONFIG_LEN	10	/* mac[6], status, max_virtqueue_pairs */

struct virtio_net {
	struct virtio_dev vdev;
	struct vm *vm;
	char name[32];
	uint8_t config[CONFIG_LEN];
	struct netdev *nd;
	struct virtio_net_stats stats;

	struct virtq_elem *tx_elem;
	uint8_t *tx_buf;
	/* Popped, not yet used receive elements, oldest first. */
	struct virtq_elem *rx_stash[RX_STASH_MAX];
	unsigned rx_stash_n;
	uint16_t stash_avail;		/* the receive queue's last_avail before rx_stash[0] */

	unsigned bh;			/* idle source id, 0 when none is pending */
	bool tx_pending, rx_pending;
};

static unsigned nr_nics;	/* for the default MACs, as QEMU numbers them */

/* --- options ------------------------------------------------------------ */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	/* A multicast source address would make every frame from the guest invalid. */
	return mac[0] & 1 ? -EINVAL : 0;
}

int virtio_net_parse(const char *opts, struct virtio_net_opts *o, char *err, size_t errlen)
{
	char **parts = g_strsplit(opts, ",", -1);
	int ret = -EINVAL;

	memset(o, 0, sizeof(*o));
	o->mrg_rxbuf = true;
	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		const char *v = eq ? eq + 1 : "";

		if (!**p)
			continue;
		if (eq)
			*eq = 0;
		if (!strcmp(*p, "netdev")) {
			if (!*v || strlen(v) >= sizeof(o->netdev)) {
				snprintf(err, errlen, "netdev=%s: not a -netdev id", v);
				goto out;
			}
			snprintf(o->netdev, sizeof(o->netdev), "%s", v);
		} else if (!strcmp(*p, "mac")) {
			if (parse_mac(v, o->mac)) {
				snprintf(err, errlen, "mac=%s: want six hex bytes like "
					 "52:54:00:12:34:56 (unicast)", v);
				goto out;
			}
			o->mac_set = true;
		} else if (!strcmp(*p, "mrg_rxbuf")) {
			if (!strcmp(v, "on") || !strcmp(v, "true"))
				o->mrg_rxbuf = true;
			else if (!strcmp(v, "off") || !strcmp(v, "false"))
				o->mrg_rxbuf = false;
			else {
				snprintf(err, errlen, "mrg_rxbuf=%s: on or off", v);
				goto out;
			}
		} else if (strcmp(*p, "id")) {
			snprintf(err, errlen, "'%s' not supported (virtio-net-pci takes: netdev, "
				 "mac, mrg_rxbuf, id)", *p);
			goto out;
		}
	}
	ret = 0;
out:
	g_strfreev(parts);
	return ret;
}

/* --- receive ------------------------------------------------------------ */

/* Drop the first @n stash entries (used now), keeping the allocations. */
static void stash_consume(struct virtio_net *n, unsigned k)
{
	struct virtq_elem *tmp[RX_STASH_MAX];

	memcpy(tmp, n->rx_stash, k * sizeof(tmp[0]));
	memmove(n->rx_stash, n->rx_stash + k, (RX_STASH_MAX - k) * sizeof(tmp[0]));
	memcpy(n->rx_stash + RX_STASH_MAX - k, tmp, k * sizeof(tmp[0]));
	n->rx_stash_n -= k;
}

/* Make sure stash slot @i holds a popped element: 1 it does, 0 ring empty, -EIO broken. */
static int stash_fill(struct virtio_net *n, struct virtq *vq, unsigned i)
{
	struct virtq_elem *e;
	int r;

	for (;;) {
		if (i < n->rx_stash_n)
			return 1;
		if (!n->rx_stash[i]) {
			n->rx_stash[i] = malloc(sizeof(*n->rx_stash[i]));
			if (!n->rx_stash[i])
				return 0;
		}
		e = n->rx_stash[i];
		if (!n->rx_stash_n)
			n->stash_avail = vq->last_avail;
		r = virtq_pop(vq, e);
		if (r <= 0)
			return r;
		if (e->out_num || e->in_len < VIRTIO_NET_HDR_LEN) {
			/* Not a receive buffer: give it back empty (the driver counts an error). */
			virtq_push(vq, e, 0);
			n->stats.rx_dropped++;
			continue;
		}
		n->rx_stash_n++;
		return 1;
	}
}

bool virtio_net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct virtio_net *n = opaque;
	struct virtq *vq = &n->vdev.vq[VIRTIO_NET_RXQ];
	bool mrg = virtio_has_feature(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t total = VIRTIO_NET_HDR_LEN + (uint64_t)len, have = 0;
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	size_t done = 0;
	unsigned k = 0;
	int r;

	if (!virtq_ready(vq)) {
		/* No driver (yet): the frame is lost, as on a NIC that is down. */
		n->stats.rx_dropped++;
		return true;
	}
	while (have < total) {
		if (k == RX_STASH_MAX) {
			n->stats.rx_too_big++;
			return true;
		}
		r = stash_fill(n, vq, k);
		if (r < 0) {
			n->stats.rx_dropped++;
			return true;
		}
		if (r == 0) {
			/* The guest kicks the queue when it adds buffers: we go on then. */
			n->stats.rx_no_buffers++;
			return false;
		}
		have += n->rx_stash[k++]->in_len;
		if (!mrg)
			break;
	}
	if (have < total) {
		/* One buffer per frame and this one is too small: keep it for a smaller frame. */
		n->stats.rx_too_big++;
		return true;
	}

	memset(hdr, 0, sizeof(hdr));
	hdr[10] = (uint8_t)k;		/* num_buffers, little-endian */
	hdr[11] = (uint8_t)(k >> 8);
	for (unsigned i = 0; i < k; i++) {
		struct virtq_elem *e = n->rx_stash[i];
		const struct iovec *iov = e->iov + e->out_num;
		size_t off = 0, put;

		if (i == 0)
			off = iov_from_buf(iov, e->in_num, 0, hdr, sizeof(hdr));
		put = iov_from_buf(iov, e->in_num, off, frame + done, len - done);
		done += put;
		virtq_push(vq, e, (uint32_t)(off + put));
	}
	stash_consume(n, k);
	virtq_notify(vq);
	n->stats.rx_frames++;
	return true;
}

static const struct netdev_client virtio_net_client = {
	.receive = virtio_net_receive,
};

/* --- transmit ----------------------------------------------------------- */

static void tx_one(struct virtio_net *n, struct virtq *vq, struct virtq_elem *e)
{
	uint64_t len = e->out_len;

	if (len < VIRTIO_NET_HDR_LEN + 14 || len - VIRTIO_NET_HDR_LEN > NETDEV_MAX_FRAME) {
		n->stats.tx_bad++;
	} else {
		size_t got = iov_to_buf(e->iov, e->out_num, VIRTIO_NET_HDR_LEN, n->tx_buf,
					(size_t)(len - VIRTIO_NET_HDR_LEN));

		/* No back end: the cable is out, the frame goes nowhere. */
		if (n->nd)
			netdev_send(n->nd, n->tx_buf, got);
		n->stats.tx_frames++;
	}
	virtq_push(vq, e, 0);
}

/* Returns true when the budget ran out with work left. */
static bool tx_run(struct virtio_net *n)
{
	struct virtq *vq = &n->vdev.vq[VIRTIO_NET_TXQ];
	unsigned budget = TX_BUDGET;
	bool more = false;

	if (!virtq_ready(vq))
		return false;
	for (;;) {
		virtq_set_notification(vq, false);
		while (budget && virtq_pop(vq, n->tx_elem) == 1) {
			tx_one(n, vq, n->tx_elem);
			budget--;
		}
		if (!budget) {
			/* Notifications stay off: we come back at once. */
			more = true;
			break;
		}
		virtq_set_notification(vq, true);
		/* A frame queued between the last pop and re-enabling would wait for no kick. */
		if (virtq_pop(vq, n->tx_elem) != 1)
			break;
		tx_one(n, vq, n->tx_elem);
		budget--;
	}
	virtq_notify(vq);
	return more;
}

void virtio_net_poll(struct virtio_net *n)
{
	if (n->rx_pending) {
		n->rx_pending = false;
		netdev_rx_resume(n->nd);
	}
	if (n->tx_pending)
		n->tx_pending = tx_run(n);
}

static gboolean virtio_net_bh(gpointer opaque)
{
	struct virtio_net *n = opaque;
	gboolean again;

	pthread_mutex_lock(&n->vm->lock);
	virtio_net_poll(n);
	again = n->tx_pending || n->rx_pending;
	if (!again)
		n->bh = 0;
	pthread_mutex_unlock(&n->vm->lock);
	return again ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void schedule(struct virtio_net *n)
{
	/* At the default priority: an idle one would wait behind every busy source. */
	if (!n->bh)
		n->bh = g_idle_add_full(G_PRIORITY_DEFAULT, virtio_net_bh, n, NULL);
}

/* --- virtio ------------------------------------------------------------- */

static void virtio_net_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_net *n = container_of(vdev, struct virtio_net, vdev);

	if (vq->index == VIRTIO_NET_TXQ)
		n->tx_pending = true;
	else if (vq->index == VIRTIO_NET_RXQ && n->nd)
		n->rx_pending = true;
	else
		return;
	schedule(n);
}

static void virtio_net_status_changed(struct virtio_dev *vdev, uint8_t old)
{
	struct virtio_net *n = container_of(vdev, struct virtio_net, vdev);

	/* Frames that waited for the driver may go now. */
	if ((vdev->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    n->nd) {
		n->rx_pending = true;
		schedule(n);
	}
}

static void virtio_net_reset(struct virtio_dev *vdev)
{
	struct virtio_net *n = container_of(vdev, struct virtio_net, vdev);

	/* Popped elements belong to the old rings; virtq_push() would drop them anyway. */
	n->rx_stash_n = 0;
	n->tx_pending = n->rx_pending = false;
}

static const struct virtio_dev_ops virtio_net_ops = {
	.queue_notify = virtio_net_queue_notify,
	.status_changed = virtio_net_status_changed,
	.reset = virtio_net_reset,
};

struct virtio_net *virtio_net_new(struct vm *vm, const char *name,
				  const struct virtio_net_opts *o, char *err, size_t errlen)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	static const uint8_t qemu_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->vm = vm;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->tx_elem = malloc(sizeof(*n->tx_elem));
	n->tx_buf = malloc(NETDEV_MAX_FRAME);
	if (!n->tx_elem || !n->tx_buf) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if (o->mac_set) {
		memcpy(n->config, o->mac, 6);
	} else {
		memcpy(n->config, qemu_mac, 6);
		n->config[5] = (uint8_t)(qemu_mac[5] + nr_nics);
	}
	nr_nics++;
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	n->config[8] = 1;		/* max_virtqueue_pairs (read only with MQ) */
	if (o->mrg_rxbuf)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (virtio_dev_init(&n->vdev, vm, n->name, VIRTIO_ID_NET, &virtio_net_ops, features,
			    n->config, sizeof(n->config), 2, VIRTIO_NET_QUEUE_SIZE)) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if (o->netdev[0]) {
		n->nd = netdev_open(vm, o->netdev, &virtio_net_client, n, err, errlen);
		if (!n->nd) {
			virtio_dev_free(&n->vdev);
			goto err;
		}
	}
	return n;
err:
	free(n->tx_elem);
	free(n->tx_buf);
	free(n);
	return NULL;
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->bh)
		g_source_remove(n->bh);
	netdev_close(n->nd);
	virtio_dev_free(&n->vdev);
	for (unsigned i = 0; i < RX_STASH_MAX; i++)
		free(n->rx_stash[i]);
	free(n->tx_elem);
	free(n->tx_buf);
	free(n);
}

struct virtio_dev *virtio_net_vdev(struct virtio_net *n)
{
	return &n->vdev;
}

const struct virtio_net_stats *virtio_net_stats(const struct virtio_net *n)
{
	return &n->stats;
}

/* --- the PCI face --------------------------------------------------------- */

struct vnet_pci {
	struct virtio_pci vp;
	struct virtio_net *n;
};

static void vnet_pci_reset(struct device *dev)
{
	virtio_pci_reset(virtio_pci_of(dev));
}

static void vnet_pci_destroy(struct device *dev)
{
	struct vnet_pci *p = container_of(virtio_pci_of(dev), struct vnet_pci, vp);

	virtio_net_free(p->n);
	free(p);
}

/*
 * Snapshots: the virtio state, nothing of the back end. A user-mode
 * (slirp) back end's connections and NAT table are not saved (QEMU does
 * not migrate them either): after a restore the guest's TCP connections
 * through it are gone and time out, new ones work. Receive buffers held
 * in the stash are given back to the ring first (they carry no data yet),
 * so the receive queue's state is the ring's.
 */
static int vnet_pci_save(struct device *dev, struct dev_buf *b)
{
	struct vnet_pci *p = container_of(virtio_pci_of(dev), struct vnet_pci, vp);
	struct virtio_net *n = p->n;

	if (n->rx_stash_n) {
		struct virtq *vq = &n->vdev.vq[VIRTIO_NET_RXQ];

		virtq_unpop(vq, (uint16_t)(vq->last_avail - n->stash_avail));
		n->rx_stash_n = 0;
	}
	return virtio_pci_save(&p->vp, b);
}

static int vnet_pci_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			 size_t whylen)
{
	struct vnet_pci *p = container_of(virtio_pci_of(dev), struct vnet_pci, vp);
	struct virtio_net *n = p->n;
	struct dev_reader r = dev_reader(data, len);
	int ret = virtio_pci_load(&p->vp, &r, why, whylen);

	if (!ret && !dev_reader_ok(&r))
		ret = dev_load_error(dev, why, whylen, "wrong state size");
	if (ret)
		return ret;
	/* Popped elements belonged to the rings before the load. */
	n->rx_stash_n = 0;
	if (n->vdev.status & VIRTIO_STATUS_DRIVER_OK) {
		/* Frames the guest queued before the snapshot go out now. */
		n->tx_pending = true;
		n->rx_pending = n->nd != NULL;
		schedule(n);
	}
	return 0;
}

static const struct device_ops vnet_pci_ops = {
	.type = "virtio-net-pci",
	.reset = vnet_pci_reset,
	.save = vnet_pci_save,
	.load = vnet_pci_load,
	.destroy = vnet_pci_destroy,
};

int virtio_net_pci_create(struct vm *vm, const char *opts, char *why, size_t len)
{
	struct virtio_net_opts o;
	struct vnet_pci *p;
	char name[32];
	int ret;

	ret = virtio_net_parse(opts, &o, why, len);
	if (ret)
		return ret;
	if (!vm_pci_bus(vm)) {
		snprintf(why, len, "the board has no PCI bus");
		return -ENODEV;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "virtio-net%u", nr_nics);
	p->n = virtio_net_new(vm, name, &o, why, len);
	if (!p->n) {
		free(p);
		return -EINVAL;
	}
	ret = virtio_pci_init(&p->vp, &p->n->vdev, VIRTIO_PCI_CLASS_NET);
	if (!ret) {
		pthread_mutex_lock(&vm->lock);
		ret = virtio_pci_add(&p->vp, vm_pci_bus(vm), &vnet_pci_ops, p->n->name);
		pthread_mutex_unlock(&vm->lock);
	}
	if (ret) {
		snprintf(why, len, "cannot plug it into the PCI bus: %s", strerror(-ret));
		virtio_net_free(p->n);
		free(p);
	}
	return ret;
}
