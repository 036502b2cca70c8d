// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio 1.x core: status, features and split virtqueues (devices/virtio.h).
 *
 * The guest owns the rings and may change them under us at any time, from
 * another vCPU: every field is read once into a local and checked there,
 * never re-read after the check. Chains are walked with a counter bounded
 * by the table they live in, so a loop ends; every buffer must lie inside
 * one RAM region (gpa_to_hva()), so nothing else is ever touched.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
#include "machine/device.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define VIRTIO_MSI_NO_VECTOR	0xffff
/* Broken-ring messages said per device, then counted only (a guest can reset in a loop). */
#define VIRTIO_BROKEN_SAY_MAX	8

/* Split ring layout (virtio 1.x 2.6): offsets into the three areas. */
#define DESC_SIZE		16
#define AVAIL_IDX		2
#define AVAIL_RING(i)		(4 + 2 * (i))
#define USED_IDX		2
#define USED_RING(i)		(4 + 8 * (i))

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint16_t ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static void read_desc(const uint8_t *table, unsigned i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];
	uint64_t a;
	uint32_t l;
	uint16_t f, n;

	/* One copy: the fields checked are the fields used. */
	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	memcpy(&a, raw, 8);
	memcpy(&l, raw + 8, 4);
	memcpy(&f, raw + 12, 2);
	memcpy(&n, raw + 14, 2);
	d->addr = le64toh(a);
	d->len = le32toh(l);
	d->flags = le16toh(f);
	d->next = le16toh(n);
}

int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, const char *name,
		    uint16_t device_id, const struct virtio_dev_ops *ops, uint64_t features,
		    uint8_t *config, unsigned config_len, unsigned nr_vq, uint16_t max_size)
{
	if (!nr_vq || !max_size || max_size > VIRTQ_MAX_SIZE || (max_size & (max_size - 1)))
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	vdev->vq = calloc(nr_vq, sizeof(*vdev->vq));
	if (!vdev->vq)
		return -ENOMEM;
	vdev->vm = vm;
	vdev->name = name;
	vdev->device_id = device_id;
	vdev->ops = ops;
	vdev->host_features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vdev->config = config;
	vdev->config_len = config_len;
	vdev->nr_vq = nr_vq;
	for (unsigned i = 0; i < nr_vq; i++) {
		vdev->vq[i].vdev = vdev;
		vdev->vq[i].index = i;
		vdev->vq[i].max_size = max_size;
	}
	virtio_reset(vdev);
	return 0;
}

void virtio_dev_free(struct virtio_dev *vdev)
{
	free(vdev->vq);
	vdev->vq = NULL;
	vdev->nr_vq = 0;
}

static void virtq_reset(struct virtq *vq)
{
	vq->size = vq->max_size;
	vq->enabled = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->desc = vq->avail = vq->used = NULL;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_off = false;
}

void virtio_reset(struct virtio_dev *vdev)
{
	vdev->status = 0;
	vdev->guest_features = 0;
	vdev->broken = false;
	/* Elements popped before now are pushed nowhere (virtq_push() drops them). */
	vdev->epoch++;
	for (unsigned i = 0; i < vdev->nr_vq; i++)
		virtq_reset(&vdev->vq[i]);
	if (vdev->ops && vdev->ops->reset)
		vdev->ops->reset(vdev);
}

void virtio_set_status(struct virtio_dev *vdev, uint8_t status)
{
	uint8_t old = vdev->status;

	if (!status) {
		virtio_reset(vdev);
		return;
	}
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* The driver reads FEATURES_OK back: clear means "not these features". */
		if ((vdev->guest_features & ~vdev->host_features) ||
		    !(vdev->guest_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
			status &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	/* NEEDS_RESET is the device's: only a reset clears it. */
	status &= ~VIRTIO_STATUS_NEEDS_RESET;
	if (vdev->broken)
		status |= VIRTIO_STATUS_NEEDS_RESET;
	vdev->status = status;
	if (vdev->ops && vdev->ops->status_changed && status != old)
		vdev->ops->status_changed(vdev, old);
}

void virtio_set_guest_features(struct virtio_dev *vdev, unsigned sel, uint32_t val)
{
	if (sel > 1 || (vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
		vdev->bad_accesses++;
		return;
	}
	vdev->guest_features &= ~(0xffffffffull << (32 * sel));
	vdev->guest_features |= (uint64_t)val << (32 * sel);
}

uint32_t virtio_host_features(const struct virtio_dev *vdev, unsigned sel)
{
	return sel > 1 ? 0 : (uint32_t)(vdev->host_features >> (32 * sel));
}

uint64_t virtio_config_read(struct virtio_dev *vdev, unsigned off, unsigned size)
{
	uint64_t v = 0;

	if (size > 8 || off > vdev->config_len || size > vdev->config_len - off) {
		vdev->bad_accesses++;
		return 0;
	}
	/* Little-endian in the buffer, little-endian host: the bytes are the value. */
	memcpy(&v, vdev->config + off, size);
	return le64toh(v);
}

void virtio_config_write(struct virtio_dev *vdev, unsigned off, uint64_t val, unsigned size)
{
	if (size > 8 || off > vdev->config_len || size > vdev->config_len - off ||
	    !vdev->ops || !vdev->ops->config_write) {
		vdev->bad_accesses++;
		return;
	}
	vdev->ops->config_write(vdev, off, val, size);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
		vdev->tops->interrupt(vdev, NULL);
}

void virtio_dev_broken(struct virtio_dev *vdev, const char *why)
{
	if (vdev->broken)
		return;
	vdev->broken = true;
	if (vdev->bad_rings++ < VIRTIO_BROKEN_SAY_MAX)
		fprintf(stderr, "tandem: %s: bad virtqueue, device needs reset: %s\n",
			vdev->name, why);
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	if ((vdev->status & VIRTIO_STATUS_DRIVER_OK) && vdev->tops)
		vdev->tops->interrupt(vdev, NULL);
}

void virtq_set_size(struct virtq *vq, uint16_t size)
{
	/* A size the device cannot take is kept out; enable checks again. */
	if (vq->enabled || !size || size > vq->max_size || (size & (size - 1))) {
		vq->vdev->bad_accesses++;
		return;
	}
	vq->size = size;
}

static void broken(struct virtq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void broken(struct virtq *vq, const char *fmt, ...)
{
	char msg[200];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "queue %u: ", vq->index);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	virtio_dev_broken(vq->vdev, msg);
}

void virtq_enable(struct virtq *vq)
{
	struct vm *vm = vq->vdev->vm;
	uint64_t n = vq->size;

	if (vq->enabled)
		return;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	if (!n || (n & (n - 1)) || n > vq->max_size) {
		broken(vq, "size %llu is not a power of two up to %u", (unsigned long long)n,
		       vq->max_size);
		return;
	}
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		broken(vq, "rings misaligned (desc %#llx, avail %#llx, used %#llx)",
		       (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
		       (unsigned long long)vq->used_gpa);
		return;
	}
	/* Rings (with the event words) inside RAM; RAM never moves, so keep the views. */
	vq->desc = gpa_to_hva(vm, vq->desc_gpa, n * DESC_SIZE);
	vq->avail = gpa_to_hva(vm, vq->avail_gpa, 6 + 2 * n);
	vq->used = gpa_to_hva(vm, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		broken(vq, "rings outside RAM (desc %#llx, avail %#llx, used %#llx)",
		       (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
		       (unsigned long long)vq->used_gpa);
		return;
	}
	vq->enabled = true;
}

bool virtq_ready(const struct virtq *vq)
{
	const struct virtio_dev *vdev = vq->vdev;

	return vq->enabled && !vdev->broken && (vdev->status & VIRTIO_STATUS_DRIVER_OK);
}

void virtio_queue_notify(struct virtio_dev *vdev, unsigned index)
{
	if (index >= vdev->nr_vq) {
		vdev->bad_accesses++;
		return;
	}
	if (virtq_ready(&vdev->vq[index]) && vdev->ops->queue_notify)
		vdev->ops->queue_notify(vdev, &vdev->vq[index]);
}

/* Walk the chain from @head into @elem; 0, or -EIO with the device broken. */
static int virtq_walk(struct virtq *vq, struct virtq_elem *elem, unsigned head)
{
	struct vm *vm = vq->vdev->vm;
	const uint8_t *table = vq->desc;
	unsigned table_size = vq->size, idx = head, count = 0, n = 0;
	bool indirect = false;
	struct desc d;

	elem->head = (uint16_t)head;
	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;
	for (;;) {
		void *host;

		if (idx >= table_size) {
			broken(vq, "descriptor %u past a table of %u", idx, table_size);
			return -EIO;
		}
		/* A chain visits each descriptor of its table at most once. */
		if (++count > table_size) {
			broken(vq, "descriptor chain from %u loops", head);
			return -EIO;
		}
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!virtio_has_feature(vq->vdev, VIRTIO_F_INDIRECT_DESC)) {
				broken(vq, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
				return -EIO;
			}
			if (indirect) {
				broken(vq, "indirect descriptor inside an indirect table");
				return -EIO;
			}
			if ((d.flags & VIRTQ_DESC_F_NEXT) || n) {
				broken(vq, "indirect descriptor chained to others");
				return -EIO;
			}
			if (!d.len || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_IOV ||
			    (d.addr & 7)) {
				broken(vq, "indirect table %#llx+%u: not a whole, aligned table "
				       "of at most %u descriptors", (unsigned long long)d.addr,
				       d.len, VIRTQ_MAX_IOV);
				return -EIO;
			}
			table = gpa_to_hva(vm, d.addr, d.len);
			if (!table) {
				broken(vq, "indirect table %#llx+%u outside RAM",
				       (unsigned long long)d.addr, d.len);
				return -EIO;
			}
			table_size = d.len / DESC_SIZE;
			indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		/* Zero-length buffers carry nothing: skipped, not an error. */
		if (d.len) {
			host = gpa_to_hva(vm, d.addr, d.len);
			if (!host) {
				broken(vq, "buffer %#llx+%u outside RAM", (unsigned long long)d.addr,
				       d.len);
				return -EIO;
			}
			if (n == VIRTQ_MAX_IOV) {
				broken(vq, "more than %u buffers in one request", VIRTQ_MAX_IOV);
				return -EIO;
			}
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				elem->in_num++;
				elem->in_len += d.len;
			} else if (elem->in_num) {
				broken(vq, "device-readable buffer after a writable one");
				return -EIO;
			} else {
				elem->out_num++;
				elem->out_len += d.len;
			}
			elem->iov[n].iov_base = host;
			elem->iov[n].iov_len = d.len;
			elem->gpa[n] = d.addr;
			n++;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* With event index, tell the driver which avail index to kick us at. */
static void set_avail_event(struct virtq *vq, uint16_t v)
{
	st16(vq->used + USED_RING(vq->size), v);
	vm_mem_written(vq->vdev->vm, vq->used_gpa + USED_RING(vq->size), 2);
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	bool event = virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX);
	uint16_t avail_idx, pending, head;

	if (!virtq_ready(vq))
		return -EIO;
	avail_idx = ld16(vq->avail + AVAIL_IDX);
	if (avail_idx == vq->last_avail) {
		if (!event || vq->notify_off)
			return 0;
		/*
		 * Ask for a kick at the next buffer, then look again: a buffer
		 * added before the driver saw the new event index would
		 * otherwise wait for a kick that never comes.
		 */
		set_avail_event(vq, vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ld16(vq->avail + AVAIL_IDX);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending > vq->size) {
		broken(vq, "avail index %u is %u entries ahead (queue size %u)", avail_idx,
		       pending, vq->size);
		return -EIO;
	}
	/* The ring entry is read after the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ld16(vq->avail + AVAIL_RING(vq->last_avail & (vq->size - 1)));
	if (head >= vq->size) {
		broken(vq, "avail ring names descriptor %u (queue size %u)", head, vq->size);
		return -EIO;
	}
	if (virtq_walk(vq, elem, head))
		return -EIO;
	vq->last_avail++;
	if (event && !vq->notify_off)
		set_avail_event(vq, vq->last_avail);
	elem->epoch = vq->vdev->epoch;
	vq->popped++;
	return 1;
}

void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	struct vm *vm = vq->vdev->vm;
	uint64_t left = len;
	uint32_t v32;
	uint16_t slot;

	if (elem->epoch != vq->vdev->epoch || !virtq_ready(vq))
		return;
	if (left > elem->in_len)
		left = elem->in_len;
	len = (uint32_t)left;
	/* What the device wrote: engines drop code they cached from there. */
	for (unsigned i = elem->out_num; left && i < elem->out_num + elem->in_num; i++) {
		uint64_t n = elem->iov[i].iov_len < left ? elem->iov[i].iov_len : left;

		vm_mem_written(vm, elem->gpa[i], n);
		left -= n;
	}
	slot = vq->used_idx & (vq->size - 1);
	v32 = htole32(elem->head);
	memcpy(vq->used + USED_RING(slot), &v32, 4);
	v32 = htole32(len);
	memcpy(vq->used + USED_RING(slot) + 4, &v32, 4);
	vm_mem_written(vm, vq->used_gpa + USED_RING(slot), 8);
	/* The element is visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	st16(vq->used + USED_IDX, vq->used_idx);
	vm_mem_written(vm, vq->used_gpa + USED_IDX, 2);
	vq->pushed++;
}

void virtq_notify(struct virtq *vq)
{
	struct virtio_dev *vdev = vq->vdev;

	if (!virtq_ready(vq))
		return;
	/* Our used index is out before we read what the driver asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX)) {
		uint16_t event = ld16(vq->avail + AVAIL_RING(vq->size));
		uint16_t old = vq->signalled_used, new = vq->used_idx;
		bool valid = vq->signalled_valid;

		vq->signalled_used = new;
		vq->signalled_valid = true;
		/* virtio 1.x 2.6.7.2: interrupt when used_event was crossed since the last one. */
		if (valid && (uint16_t)(new - event - 1) >= (uint16_t)(new - old))
			return;
	} else if (ld16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	vq->interrupts++;
	vdev->tops->interrupt(vdev, vq);
}

void virtq_set_notification(struct virtq *vq, bool enable)
{
	vq->notify_off = !enable;
	if (!virtq_ready(vq))
		return;
	if (virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
		/* Off: the event index stays behind, so the driver stops kicking. */
		if (enable)
			set_avail_event(vq, vq->last_avail);
	} else {
		st16(vq->used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
		vm_mem_written(vq->vdev->vm, vq->used_gpa, 2);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void virtq_unpop(struct virtq *vq, unsigned n)
{
	/* The avail event index may stay ahead: at worst one kick too many. */
	vq->last_avail = (uint16_t)(vq->last_avail - n);
	vq->popped -= n;
}

/* ---- snapshots ---------------------------------------------------------- */

#define VIRTIO_SAVE_VERSION	1
#define KNOWN_STATUS		(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
				 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
				 VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* A queue as the file has it: fixed-size fields, no host pointers. */
struct vq_image {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size, msix_vector, last_avail, used_idx, signalled_used;
	uint8_t enabled, signalled_valid, notify_off;
};

int virtio_dev_save(const struct virtio_dev *vdev, struct dev_buf *b)
{
	uint8_t version = VIRTIO_SAVE_VERSION, broken_flag = vdev->broken;
	uint32_t nr = vdev->nr_vq;

	DEV_SAVE(b, version);
	DEV_SAVE(b, vdev->host_features);
	DEV_SAVE(b, vdev->guest_features);
	DEV_SAVE(b, vdev->status);
	DEV_SAVE(b, vdev->config_generation);
	DEV_SAVE(b, broken_flag);
	DEV_SAVE(b, nr);
	for (unsigned i = 0; i < vdev->nr_vq; i++) {
		const struct virtq *vq = &vdev->vq[i];
		struct vq_image q = {
			.desc_gpa = vq->desc_gpa, .avail_gpa = vq->avail_gpa,
			.used_gpa = vq->used_gpa, .size = vq->size,
			.msix_vector = vq->msix_vector, .last_avail = vq->last_avail,
			.used_idx = vq->used_idx, .signalled_used = vq->signalled_used,
			.enabled = vq->enabled, .signalled_valid = vq->signalled_valid,
			.notify_off = vq->notify_off,
		};

		DEV_SAVE(b, q.desc_gpa);
		DEV_SAVE(b, q.avail_gpa);
		DEV_SAVE(b, q.used_gpa);
		DEV_SAVE(b, q.size);
		DEV_SAVE(b, q.msix_vector);
		DEV_SAVE(b, q.last_avail);
		DEV_SAVE(b, q.used_idx);
		DEV_SAVE(b, q.signalled_used);
		DEV_SAVE(b, q.enabled);
		DEV_SAVE(b, q.signalled_valid);
		DEV_SAVE(b, q.notify_off);
	}
	return dev_buf_status(b);
}

static int vload_error(const struct virtio_dev *vdev, char *why, size_t whylen, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
static int vload_error(const struct virtio_dev *vdev, char *why, size_t whylen, const char *fmt,
		       ...)
{
	int n = snprintf(why, whylen, "snapshot: device '%s': ", vdev->name);
	va_list ap;

	if (n > 0 && (size_t)n < whylen) {
		va_start(ap, fmt);
		vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int virtio_dev_load(struct virtio_dev *vdev, struct dev_reader *r, char *why, size_t whylen)
{
	uint64_t host, guest;
	uint8_t version = 0, status, gen, broken_flag;
	uint32_t nr = 0;
	struct vq_image *q;
	int ret = 0;

	DEV_LOAD(r, version);
	if (r->bad || version != VIRTIO_SAVE_VERSION)
		return vload_error(vdev, why, whylen, "virtio state version %u, want %u", version,
				   VIRTIO_SAVE_VERSION);
	DEV_LOAD(r, host);
	DEV_LOAD(r, guest);
	DEV_LOAD(r, status);
	DEV_LOAD(r, gen);
	DEV_LOAD(r, broken_flag);
	DEV_LOAD(r, nr);
	if (r->bad)
		return vload_error(vdev, why, whylen, "truncated virtio state");
	if (nr != vdev->nr_vq)
		return vload_error(vdev, why, whylen, "%u queues there, %u here", nr, vdev->nr_vq);
	if (host != vdev->host_features)
		return vload_error(vdev, why, whylen, "offered features %#llx there, %#llx here "
				   "(other device options?)", (unsigned long long)host,
				   (unsigned long long)vdev->host_features);
	if (guest & ~host)
		return vload_error(vdev, why, whylen, "driver features %#llx were never offered",
				   (unsigned long long)guest);
	if (status & ~KNOWN_STATUS)
		return vload_error(vdev, why, whylen, "status %#x has unknown bits", status);
	q = calloc(nr, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (unsigned i = 0; i < nr && !ret; i++) {
		struct vq_image *v = &q[i];
		uint64_t n;

		DEV_LOAD(r, v->desc_gpa);
		DEV_LOAD(r, v->avail_gpa);
		DEV_LOAD(r, v->used_gpa);
		DEV_LOAD(r, v->size);
		DEV_LOAD(r, v->msix_vector);
		DEV_LOAD(r, v->last_avail);
		DEV_LOAD(r, v->used_idx);
		DEV_LOAD(r, v->signalled_used);
		DEV_LOAD(r, v->enabled);
		DEV_LOAD(r, v->signalled_valid);
		DEV_LOAD(r, v->notify_off);
		n = v->size;
		if (r->bad) {
			ret = vload_error(vdev, why, whylen, "truncated virtio state");
		} else if (!n || (n & (n - 1)) || n > vdev->vq[i].max_size) {
			ret = vload_error(vdev, why, whylen, "queue %u: size %u is not a power of two "
					  "up to %u", i, v->size, vdev->vq[i].max_size);
		} else if (v->enabled > 1 || v->signalled_valid > 1 || v->notify_off > 1) {
			ret = vload_error(vdev, why, whylen, "queue %u: bad flags", i);
		} else if (v->enabled &&
			   ((v->desc_gpa & 15) || (v->avail_gpa & 1) || (v->used_gpa & 3) ||
			    !gpa_to_hva(vdev->vm, v->desc_gpa, n * DESC_SIZE) ||
			    !gpa_to_hva(vdev->vm, v->avail_gpa, 6 + 2 * n) ||
			    !gpa_to_hva(vdev->vm, v->used_gpa, 6 + 8 * n))) {
			ret = vload_error(vdev, why, whylen, "queue %u: rings misaligned or outside "
					  "RAM", i);
		} else if ((uint16_t)(v->last_avail - v->used_idx) > n) {
			/* More in flight than the ring holds: no driver gets there. */
			ret = vload_error(vdev, why, whylen, "queue %u: %u requests in flight in a "
					  "ring of %u", i, (uint16_t)(v->last_avail - v->used_idx),
					  v->size);
		}
	}
	if (ret) {
		free(q);
		return ret;
	}

	/* Whatever was popped before the load belongs to another life. */
	vdev->epoch++;
	vdev->guest_features = guest;
	vdev->status = status;
	vdev->config_generation = gen;
	vdev->broken = broken_flag != 0;
	for (unsigned i = 0; i < nr; i++) {
		struct virtq *vq = &vdev->vq[i];
		const struct vq_image *v = &q[i];

		vq->size = v->size;
		vq->desc_gpa = v->desc_gpa;
		vq->avail_gpa = v->avail_gpa;
		vq->used_gpa = v->used_gpa;
		vq->msix_vector = v->msix_vector;
		vq->last_avail = v->last_avail;
		vq->used_idx = v->used_idx;
		vq->signalled_used = v->signalled_used;
		vq->signalled_valid = v->signalled_valid;
		vq->notify_off = v->notify_off;
		vq->enabled = v->enabled;
		if (vq->enabled) {
			vq->desc = gpa_to_hva(vdev->vm, vq->desc_gpa, (uint64_t)vq->size * DESC_SIZE);
			vq->avail = gpa_to_hva(vdev->vm, vq->avail_gpa, 6 + 2 * (uint64_t)vq->size);
			vq->used = gpa_to_hva(vdev->vm, vq->used_gpa, 6 + 8 * (uint64_t)vq->size);
		} else {
			vq->desc = vq->avail = vq->used = NULL;
		}
	}
	free(q);
	return 0;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf,
		    size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, l);
		done += l;
		off = 0;
	}
	return done;
}
