// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk (devices/virtio_blk.h): the device, its I/O thread, and the
 * -drive / -hda / -device options.
 *
 * Threads: the vCPU's notify (vm->lock held) sets a flag and signals the
 * device's I/O thread; the thread takes vm->lock to pop a batch of
 * requests, drops it for the I/O, and takes it again to push the
 * completions and interrupt. Its own mutex is a leaf: it is never held
 * while taking vm->lock. A reset while requests are in flight is safe:
 * their pushes carry the old epoch and are dropped (devices/virtio.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block.h"
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "machine/device.h"
#include "machine/vm.h"

/* Feature bits (virtio 1.x 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* Request types and status. */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2

#define VIRTIO_BLK_ID_BYTES		20
#define SECTOR				512u

/* Config layout (struct virtio_blk_config). */
#define CFG_CAPACITY			0
#define CFG_SIZE_MAX			8
#define CFG_SEG_MAX			12
#define CFG_BLK_SIZE			20
#define CFG_NUM_QUEUES			34
#define CFG_MAX_DISCARD_SECTORS		36
#define CFG_MAX_DISCARD_SEG		40
#define CFG_DISCARD_ALIGN		44
#define CFG_MAX_WZ_SECTORS		48
#define CFG_MAX_WZ_SEG			52
#define CFG_WZ_MAY_UNMAP		56
#define CFG_LEN				60

#define QUEUE_SIZE			256
#define SEG_MAX				(QUEUE_SIZE - 2)	/* header and status take two */
#define SIZE_MAX_BYTES			(1u << 20)
#define MAX_DISCARD_SECTORS		0x3fffffu
#define MAX_QUEUES			16
#define BATCH				32

struct vblk {
	struct virtio_pci vp;		/* first: vp.pd.dev is the struct device */
	struct virtio_dev vdev;
	uint8_t config[CFG_LEN];
	char name[32];
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	struct block *blk;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;		/* leaf lock for the five below */
	pthread_cond_t cv;		/* the thread waits here for work */
	pthread_cond_t idle_cv;		/* quiesce() waits here for !busy */
	bool kicked, stop;
	bool busy;			/* the thread is in a round (may hold requests) */
	bool held;			/* snapshot: take no request until resume() */

	struct virtq_elem *elem[BATCH];
	unsigned elem_q[BATCH];
	uint32_t elem_len[BATCH];
	bool elem_bad[BATCH];
	struct iovec cut[VIRTQ_MAX_IOV];
	uint64_t requests, io_errors;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The iovecs of [off, off + len) of the element's device-writable part. */
static unsigned in_cut(struct vblk *vb, const struct virtq_elem *e, size_t off, size_t len)
{
	const struct iovec *iov = e->iov + e->out_num;
	unsigned k = 0;

	for (unsigned i = 0; i < e->in_num && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		vb->cut[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		vb->cut[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}

static unsigned out_cut(struct vblk *vb, const struct virtq_elem *e, size_t off, size_t len)
{
	unsigned k = 0;

	for (unsigned i = 0; i < e->out_num && len; i++) {
		size_t l = e->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		vb->cut[k].iov_base = (uint8_t *)e->iov[i].iov_base + off;
		vb->cut[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}

/* Discard / write-zeroes: segments of {le64 sector, le32 sectors, le32 flags}. */
static int do_zeroes(struct vblk *vb, const struct virtq_elem *e, bool discard)
{
	uint64_t nseg = (e->out_len - 16) / 16;

	if (!nseg || (e->out_len - 16) % 16 || nseg > 1)
		return -EINVAL;	/* we said max_*_seg = 1 */
	for (uint64_t i = 0; i < nseg; i++) {
		uint8_t seg[16];
		uint64_t sector, n;
		uint32_t flags;
		int ret;

		iov_to_buf(e->iov, e->out_num, 16 + 16 * i, seg, 16);
		sector = get_le(seg, 8);
		n = get_le(seg + 8, 4);
		flags = (uint32_t)get_le(seg + 12, 4);
		if (n > MAX_DISCARD_SECTORS || sector > UINT64_MAX / SECTOR ||
		    (flags & ~1u) || (discard && flags))
			return -EINVAL;
		ret = block_write_zeroes(vb->blk, sector * SECTOR, n * SECTOR, discard || (flags & 1));
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * One request, without vm->lock. Returns the bytes written into the
 * writable part (data, then the status byte); *bad when the request has
 * no room for a header or status (the device breaks, under the lock).
 */
static uint32_t vblk_handle(struct vblk *vb, const struct virtq_elem *e, bool *bad)
{
	uint8_t hdr[16], status = VIRTIO_BLK_S_OK;
	uint64_t sector, off, len;
	uint32_t type, written = 0;
	unsigned k;
	int ret = 0;

	*bad = false;
	if (e->out_len < sizeof(hdr) || e->in_len < 1) {
		*bad = true;
		return 0;
	}
	iov_to_buf(e->iov, e->out_num, 0, hdr, sizeof(hdr));
	type = (uint32_t)get_le(hdr, 4);
	sector = get_le(hdr + 8, 8);
	vb->requests++;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = e->in_len - 1;
		if (len % SECTOR || sector > UINT64_MAX / SECTOR) {
			ret = -EINVAL;
			break;
		}
		off = sector * SECTOR;
		k = in_cut(vb, e, 0, len);
		ret = block_preadv(vb->blk, vb->cut, k, off, len);
		if (!ret)
			written = (uint32_t)len;
		break;
	case VIRTIO_BLK_T_OUT:
		len = e->out_len - sizeof(hdr);
		if (len % SECTOR || sector > UINT64_MAX / SECTOR) {
			ret = -EINVAL;
			break;
		}
		k = out_cut(vb, e, sizeof(hdr), len);
		ret = block_pwritev(vb->blk, vb->cut, k, sector * SECTOR, len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* The guest hears "done" only once the data is on stable storage. */
		ret = block_flush(vb->blk);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };

		memcpy(id, vb->serial, strnlen(vb->serial, sizeof(id)));
		len = e->in_len - 1 < sizeof(id) ? e->in_len - 1 : sizeof(id);
		k = in_cut(vb, e, 0, len);
		iov_from_buf(vb->cut, k, 0, id, len);
		written = (uint32_t)len;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (block_readonly(vb->blk)) {
			ret = -EROFS;
			break;
		}
		ret = do_zeroes(vb, e, type == VIRTIO_BLK_T_DISCARD);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (ret) {
		status = VIRTIO_BLK_S_IOERR;
		written = 0;
		vb->io_errors++;
	}
	/* The status byte is the last byte of the writable part. */
	k = in_cut(vb, e, e->in_len - 1, 1);
	iov_from_buf(vb->cut, k, 0, &status, 1);
	return written + 1;
}

static void *vblk_thread(void *opaque)
{
	struct vblk *vb = opaque;
	struct vm *vm = vb->vdev.vm;

	for (;;) {
		unsigned n, q0 = 0;

		pthread_mutex_lock(&vb->mu);
		/* Between rounds nothing is in flight: a snapshot may go ahead. */
		vb->busy = false;
		pthread_cond_broadcast(&vb->idle_cv);
		while ((!vb->kicked || vb->held) && !vb->stop)
			pthread_cond_wait(&vb->cv, &vb->mu);
		vb->kicked = false;
		if (vb->stop) {
			pthread_mutex_unlock(&vb->mu);
			return NULL;
		}
		vb->busy = true;
		pthread_mutex_unlock(&vb->mu);

		do {
			bool touched[MAX_QUEUES] = { false };

			/* Pop a batch, queues taken in turn so none starves. */
			n = 0;
			pthread_mutex_lock(&vm->lock);
			for (unsigned i = 0; i < vb->vdev.nr_vq && n < BATCH; i++) {
				unsigned q = (q0 + i) % vb->vdev.nr_vq;

				while (n < BATCH && virtq_pop(&vb->vdev.vq[q], vb->elem[n]) == 1)
					vb->elem_q[n++] = q;
			}
			pthread_mutex_unlock(&vm->lock);
			q0++;

			for (unsigned i = 0; i < n; i++)
				vb->elem_len[i] = vblk_handle(vb, vb->elem[i], &vb->elem_bad[i]);

			pthread_mutex_lock(&vm->lock);
			for (unsigned i = 0; i < n; i++) {
				struct virtq *vq = &vb->vdev.vq[vb->elem_q[i]];

				if (vb->elem_bad[i]) {
					if (vb->elem[i]->epoch == vb->vdev.epoch)
						virtio_dev_broken(&vb->vdev, "request without room "
								  "for header or status");
					continue;
				}
				virtq_push(vq, vb->elem[i], vb->elem_len[i]);
				touched[vb->elem_q[i]] = true;
			}
			for (unsigned q = 0; q < vb->vdev.nr_vq; q++)
				if (touched[q])
					virtq_notify(&vb->vdev.vq[q]);
			pthread_mutex_unlock(&vm->lock);
		} while (n);
	}
}

/* vCPU thread, vm->lock held: only wake the I/O thread. */
static void vblk_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct vblk *vb = container_of(vdev, struct vblk, vdev);

	pthread_mutex_lock(&vb->mu);
	vb->kicked = true;
	pthread_cond_signal(&vb->cv);
	pthread_mutex_unlock(&vb->mu);
}

static void vblk_status_changed(struct virtio_dev *vdev, uint8_t old)
{
	/* Buffers queued before DRIVER_OK, if any, get looked at now. */
	if ((vdev->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		vblk_queue_notify(vdev, NULL);
}

static const struct virtio_dev_ops vblk_vops = {
	.queue_notify = vblk_queue_notify,
	.status_changed = vblk_status_changed,
};

static void vblk_reset(struct device *dev)
{
	virtio_pci_reset(virtio_pci_of(dev));
}

static struct vblk *vblk_of(struct device *dev)
{
	return container_of(virtio_pci_of(dev), struct vblk, vp);
}

/*
 * Snapshots: the I/O thread finishes the round it is in (its requests
 * are pushed, the data is in RAM and in the image) and takes no new one,
 * so a snapshot never holds a request half done nor loses one: what the
 * driver queued and we did not pop is still in its avail ring.
 */
static void vblk_quiesce(struct device *dev)
{
	struct vblk *vb = vblk_of(dev);

	pthread_mutex_lock(&vb->mu);
	vb->held = true;
	while (vb->busy)
		pthread_cond_wait(&vb->idle_cv, &vb->mu);
	pthread_mutex_unlock(&vb->mu);
}

static void vblk_resume(struct device *dev)
{
	struct vblk *vb = vblk_of(dev);

	pthread_mutex_lock(&vb->mu);
	vb->held = false;
	/* One look at the rings: after a load they may hold requests never popped. */
	vb->kicked = true;
	pthread_cond_signal(&vb->cv);
	pthread_mutex_unlock(&vb->mu);
}

static int vblk_save(struct device *dev, struct dev_buf *b)
{
	struct vblk *vb = vblk_of(dev);
	/* The image first: a restore onto another image is refused before anything changes. */
	int ret = block_save(vb->blk, b);

	if (!ret)
		ret = virtio_pci_save(&vb->vp, b);
	return ret ? ret : dev_buf_status(b);
}

static int vblk_load(struct device *dev, const uint8_t *data, size_t len, char *why,
		     size_t whylen)
{
	struct vblk *vb = vblk_of(dev);
	struct dev_reader r = dev_reader(data, len);
	int ret = block_load(vb->blk, &r, dev->name, why, whylen);

	if (!ret)
		ret = virtio_pci_load(&vb->vp, &r, why, whylen);
	if (!ret && !dev_reader_ok(&r))
		ret = dev_load_error(dev, why, whylen, "wrong state size");
	return ret;
}

static void vblk_free(struct vblk *vb)
{
	if (vb->thread_started) {
		pthread_mutex_lock(&vb->mu);
		vb->stop = true;
		pthread_cond_signal(&vb->cv);
		pthread_mutex_unlock(&vb->mu);
		pthread_join(vb->thread, NULL);
	}
	for (unsigned i = 0; i < BATCH; i++)
		free(vb->elem[i]);
	block_close(vb->blk);
	virtio_dev_free(&vb->vdev);
	pthread_mutex_destroy(&vb->mu);
	pthread_cond_destroy(&vb->cv);
	pthread_cond_destroy(&vb->idle_cv);
	free(vb);
}

static void vblk_destroy(struct device *dev)
{
	vblk_free(container_of(virtio_pci_of(dev), struct vblk, vp));
}

static const struct device_ops vblk_dev_ops = {
	.type = "virtio-blk-pci",
	.reset = vblk_reset,
	.save = vblk_save,
	.load = vblk_load,
	.destroy = vblk_destroy,
	.quiesce = vblk_quiesce,
	.resume = vblk_resume,
};

/* One disk on @blk (taken over, closed on failure). */
static int vblk_create(struct vm *vm, struct block *blk, unsigned index, unsigned nr_queues,
		       const char *serial, char *err, size_t errlen)
{
	struct vblk *vb = calloc(1, sizeof(*vb));
	struct pci_bus *bus = vm_pci_bus(vm);
	uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);
	int ret = -ENOMEM;

	if (!vb) {
		block_close(blk);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vb->blk = blk;
	pthread_mutex_init(&vb->mu, NULL);
	pthread_cond_init(&vb->cv, NULL);
	pthread_cond_init(&vb->idle_cv, NULL);
	snprintf(vb->name, sizeof(vb->name), "virtio-blk%u", index);
	snprintf(vb->serial, sizeof(vb->serial), "%s", serial ? serial : "");
	for (unsigned i = 0; i < BATCH; i++) {
		vb->elem[i] = malloc(sizeof(*vb->elem[i]));
		if (!vb->elem[i]) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (!bus) {
		ret = -ENODEV;
		snprintf(err, errlen, "virtio-blk-pci: the board has no PCI bus");
		goto fail;
	}

	if (block_readonly(blk))
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (block_write_cache(blk))
		features |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (nr_queues > 1)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	put_le(vb->config + CFG_CAPACITY, block_size(blk) / SECTOR, 8);
	put_le(vb->config + CFG_SIZE_MAX, SIZE_MAX_BYTES, 4);
	put_le(vb->config + CFG_SEG_MAX, SEG_MAX, 4);
	put_le(vb->config + CFG_BLK_SIZE, SECTOR, 4);
	put_le(vb->config + CFG_NUM_QUEUES, nr_queues, 2);
	put_le(vb->config + CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS, 4);
	put_le(vb->config + CFG_MAX_DISCARD_SEG, 1, 4);
	put_le(vb->config + CFG_DISCARD_ALIGN, 4096 / SECTOR, 4);
	put_le(vb->config + CFG_MAX_WZ_SECTORS, MAX_DISCARD_SECTORS, 4);
	put_le(vb->config + CFG_MAX_WZ_SEG, 1, 4);
	vb->config[CFG_WZ_MAY_UNMAP] = 1;

	ret = virtio_dev_init(&vb->vdev, vm, vb->name, VIRTIO_ID_BLOCK, &vblk_vops, features,
			      vb->config, sizeof(vb->config), nr_queues, QUEUE_SIZE);
	if (!ret)
		ret = virtio_pci_init(&vb->vp, &vb->vdev, VIRTIO_PCI_CLASS_BLOCK);
	if (ret) {
		snprintf(err, errlen, "%s: cannot set up the device: %s", vb->name, strerror(-ret));
		goto fail;
	}
	ret = -pthread_create(&vb->thread, NULL, vblk_thread, vb);
	if (ret) {
		snprintf(err, errlen, "%s: cannot start its I/O thread: %s", vb->name,
			 strerror(-ret));
		goto fail;
	}
	vb->thread_started = true;
	pthread_mutex_lock(&vm->lock);
	ret = virtio_pci_add(&vb->vp, bus, &vblk_dev_ops, vb->name);
	pthread_mutex_unlock(&vm->lock);
	if (ret) {
		snprintf(err, errlen, "%s: cannot plug it into the PCI bus: %s", vb->name,
			 strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	vblk_free(vb);
	return ret;
}

/* -------- options -------- */

#define MAX_DRIVES	16

static struct drive {
	char *file, *id;
	bool readonly, snapshot, iface_none, used;
	enum block_cache cache;
} drives[MAX_DRIVES];
static unsigned nr_drives, nr_disks;

/*
 * Split QEMU's "a=b,c=d" where ",," is a literal comma. Returns a
 * NULL-terminated vector of strings (free with free_parts()), NULL when
 * out of memory.
 */
static char **split_opts(const char *s)
{
	size_t n = 1, len = strlen(s);
	char **v, *cur;
	unsigned k = 0;

	for (const char *p = s; *p; p++)
		n += *p == ',';
	v = calloc(n + 1, sizeof(*v));
	cur = malloc(len + 1);
	if (!v || !cur) {
		free(v);
		free(cur);
		return NULL;
	}
	for (size_t i = 0, o = 0;; i++) {
		if (s[i] == ',' && s[i + 1] == ',') {
			cur[o++] = ',';
			i++;
			continue;
		}
		if (s[i] == ',' || !s[i]) {
			cur[o] = 0;
			v[k] = strdup(cur);
			if (!v[k++])
				break;
			o = 0;
			if (!s[i])
				break;
			continue;
		}
		cur[o++] = s[i];
	}
	free(cur);
	for (unsigned i = 0; i < k; i++) {
		if (!v[i]) {
			for (unsigned j = 0; j < k; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void free_parts(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* on/off as QEMU spells booleans; 0 or -EINVAL. */
static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static struct drive *find_drive(const char *id)
{
	for (unsigned i = 0; i < nr_drives; i++)
		if (drives[i].id && !strcmp(drives[i].id, id))
			return &drives[i];
	return NULL;
}

/* Parse one key of -drive into @d; 0 or -EINVAL with @err said. */
static int drive_key(struct drive *d, const char *k, const char *v, char *err, size_t errlen)
{
	if (!strcmp(k, "file")) {
		if (!*v) {
			snprintf(err, errlen, "-drive: file= is empty");
			return -EINVAL;
		}
		free(d->file);
		d->file = strdup(v);
	} else if (!strcmp(k, "format")) {
		if (strcmp(v, "raw")) {
			snprintf(err, errlen, "-drive: format=%s not supported (tandem reads raw "
				 "images only)", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "if")) {
		if (strcmp(v, "none") && strcmp(v, "virtio")) {
			snprintf(err, errlen, "-drive: if=%s not supported (tandem has if=virtio "
				 "and if=none)", v);
			return -EINVAL;
		}
		d->iface_none = !strcmp(v, "none");
	} else if (!strcmp(k, "id")) {
		if (!*v || find_drive(v)) {
			snprintf(err, errlen, "-drive: id=%s %s", v, *v ? "is taken" : "is empty");
			return -EINVAL;
		}
		free(d->id);
		d->id = strdup(v);
	} else if (!strcmp(k, "readonly") || !strcmp(k, "read-only")) {
		if (parse_bool(v, &d->readonly)) {
			snprintf(err, errlen, "-drive: readonly=%s: on or off", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "snapshot")) {
		if (parse_bool(v, &d->snapshot)) {
			snprintf(err, errlen, "-drive: snapshot=%s: on or off", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "cache")) {
		if (block_cache_parse(v, &d->cache)) {
			snprintf(err, errlen, "-drive: cache=%s: writeback, none, writethrough, "
				 "directsync or unsafe", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "media")) {
		if (strcmp(v, "disk")) {
			snprintf(err, errlen, "-drive: media=%s not supported (disks only)", v);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "-drive: '%s' not supported (tandem takes file, format=raw, "
			 "if, id, readonly, snapshot, cache, media=disk)", k);
		return -EINVAL;
	}
	return 0;
}

int virtio_blk_drive_opt(const char *spec, char *device, size_t devlen, char *err,
			 size_t errlen)
{
	char **parts = split_opts(spec);
	struct drive d = { .cache = BLOCK_CACHE_WRITEBACK };
	int ret = -EINVAL;

	device[0] = 0;
	if (!parts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (nr_drives == MAX_DRIVES) {
		snprintf(err, errlen, "-drive: at most %d drives", MAX_DRIVES);
		goto out;
	}
	for (char **p = parts; *p; p++) {
		char *k = *p, *v = strchr(k, '=');

		if (v)
			*v++ = 0;
		else if (!strcmp(k, "readonly") || !strcmp(k, "snapshot"))
			v = "on";	/* QEMU's bare flag */
		if (!v) {
			snprintf(err, errlen, "-drive: '%s' needs a value", k);
			goto out;
		}
		if (drive_key(&d, k, v, err, errlen))
			goto out;
	}
	if (!d.file) {
		snprintf(err, errlen, "-drive %s: needs file=", spec);
		goto out;
	}
	if (d.iface_none && !d.id) {
		snprintf(err, errlen, "-drive if=none needs id= (for -device virtio-blk-pci,drive=ID)");
		goto out;
	}
	if (!d.id) {
		/* QEMU's name for the Nth virtio drive, unless the user took it. */
		char name[32];

		for (unsigned n = nr_drives;; n++) {
			snprintf(name, sizeof(name), "virtio%u", n);
			if (!find_drive(name))
				break;
		}
		d.id = strdup(name);
	}
	if (!d.id) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!d.iface_none)
		snprintf(device, devlen, "virtio-blk-pci,drive=%s", d.id);
	drives[nr_drives++] = d;
	ret = 0;
out:
	if (ret) {
		free(d.file);
		free(d.id);
	}
	free_parts(parts);
	return ret;
}

int virtio_blk_hda_opt(const char *file, char *device, size_t devlen, char *err,
		       size_t errlen)
{
	size_t n = strlen(file);
	char *spec = malloc(2 * n + 24);
	int ret;

	if (!spec) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* file=X with X's commas doubled, so the name goes through as it is. */
	strcpy(spec, "file=");
	for (size_t i = 0, o = 5; i <= n; i++) {
		spec[o++] = file[i];
		if (file[i] == ',')
			spec[o++] = ',';
	}
	strcat(spec, ",if=virtio");
	ret = virtio_blk_drive_opt(spec, device, devlen, err, errlen);
	free(spec);
	return ret;
}

int virtio_blk_pci_create(struct vm *vm, const char *opts, char *err, size_t errlen)
{
	char **parts = split_opts(opts);
	const char *drive_id = NULL, *serial = NULL;
	unsigned nr_queues = 0;	/* not given: one per vCPU, as QEMU does */
	struct block_opts bo;
	struct block *blk;
	struct drive *d;
	char why[512];
	int ret = -EINVAL;

	if (!parts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (char **p = parts; *p; p++) {
		char *k = *p, *v = strchr(k, '=');

		if (!*k && p == parts && !p[1])
			break;	/* no options at all */
		if (!v) {
			snprintf(err, errlen, "'%s' needs a value", k);
			goto out;
		}
		*v++ = 0;
		if (!strcmp(k, "drive")) {
			drive_id = v;
		} else if (!strcmp(k, "num-queues")) {
			char *end;
			unsigned long n = strtoul(v, &end, 0);

			if (!*v || *end || n < 1 || n > MAX_QUEUES) {
				snprintf(err, errlen, "num-queues=%s: 1 to %d", v, MAX_QUEUES);
				goto out;
			}
			nr_queues = (unsigned)n;
		} else if (!strcmp(k, "serial")) {
			if (strlen(v) > VIRTIO_BLK_ID_BYTES) {
				snprintf(err, errlen, "serial=%s: at most %d characters", v,
					 VIRTIO_BLK_ID_BYTES);
				goto out;
			}
			serial = v;
		} else if (strcmp(k, "id")) {
			/* id= names the device for QEMU's monitor: accepted, unused. */
			snprintf(err, errlen, "'%s' not supported (virtio-blk-pci takes drive, "
				 "num-queues, serial, id)", k);
			goto out;
		}
	}
	if (!drive_id) {
		snprintf(err, errlen, "needs drive=ID (of a -drive if=none,id=ID)");
		goto out;
	}
	d = find_drive(drive_id);
	if (!d) {
		snprintf(err, errlen, "no -drive with id=%s", drive_id);
		goto out;
	}
	if (d->used) {
		snprintf(err, errlen, "drive %s is already a disk (one device per drive)", drive_id);
		goto out;
	}
	bo = (struct block_opts){ .file = d->file, .readonly = d->readonly,
				  .snapshot = d->snapshot, .cache = d->cache };
	blk = block_open(&bo, why, sizeof(why));
	if (!blk) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	d->used = true;
	/*
	 * A request queue per vCPU by default (QEMU's default too): Linux's
	 * blk-mq then maps each CPU to its own queue and interrupt vector, and
	 * CPUs submitting at once do not contend for one ring.
	 */
	if (!nr_queues)
		nr_queues = vm->cfg.smp > MAX_QUEUES ? MAX_QUEUES : vm->cfg.smp ? vm->cfg.smp : 1;
	ret = vblk_create(vm, blk, nr_disks, nr_queues, serial, err, errlen);
	if (!ret)
		nr_disks++;
out:
	free_parts(parts);
	return ret;
}

void virtio_blk_opts_free(void)
{
	for (unsigned i = 0; i < nr_drives; i++) {
		free(drives[i].file);
		free(drives[i].id);
	}
	memset(drives, 0, sizeof(drives));
	nr_drives = nr_disks = 0;
}
