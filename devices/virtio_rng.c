// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-rng (devices/virtio_rng.h). Requests are served right in the
 * kick, on the vCPU's thread: getrandom() of at most VIRTIO_RNG_MAX_FILL
 * bytes does not block once the host's pool is initialised (it is, long
 * before a VM runs), and Linux asks for 64 bytes at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <glib.h>

#include "devices/virtio.h"
#include "machine/device.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_pci.h"
#include "machine/vm.h"

struct virtio_rng {
	struct virtio_dev vdev;
	char name[32];
	struct virtq_elem *elem;
	uint8_t buf[4096];
	unsigned long long bytes;
};

/* Fill @e's writable part from getrandom(); the bytes written. */
static size_t rng_fill(struct virtio_rng *r, struct virtq_elem *e)
{
	const struct iovec *iov = e->iov + e->out_num;
	size_t want = e->in_len < VIRTIO_RNG_MAX_FILL ? (size_t)e->in_len : VIRTIO_RNG_MAX_FILL;
	size_t done = 0;

	while (done < want) {
		size_t chunk = want - done < sizeof(r->buf) ? want - done : sizeof(r->buf);
		ssize_t got = getrandom(r->buf, chunk, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		done += iov_from_buf(iov, e->in_num, done, r->buf, (size_t)got);
	}
	r->bytes += done;
	return done;
}

static void virtio_rng_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_rng *r = container_of(vdev, struct virtio_rng, vdev);

	while (virtq_pop(vq, r->elem) == 1)
		virtq_push(vq, r->elem, (uint32_t)rng_fill(r, r->elem));
	virtq_notify(vq);
}

static const struct virtio_dev_ops virtio_rng_ops = {
	.queue_notify = virtio_rng_queue_notify,
};

struct virtio_rng *virtio_rng_new(struct vm *vm, const char *name, char *err, size_t errlen)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));

	if (r)
		r->elem = malloc(sizeof(*r->elem));
	if (!r || !r->elem) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (virtio_dev_init(&r->vdev, vm, r->name, VIRTIO_ID_RNG, &virtio_rng_ops, 0, NULL, 0, 1,
			    64)) {
		free(r->elem);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return r;
}

void virtio_rng_free(struct virtio_rng *r)
{
	if (!r)
		return;
	virtio_dev_free(&r->vdev);
	free(r->elem);
	free(r);
}

struct virtio_dev *virtio_rng_vdev(struct virtio_rng *r)
{
	return &r->vdev;
}

unsigned long long virtio_rng_bytes(const struct virtio_rng *r)
{
	return r->bytes;
}

/* --- the PCI face --------------------------------------------------------- */

struct vrng_pci {
	struct virtio_pci vp;
	struct virtio_rng *r;
};

static unsigned nr_rngs;

static void vrng_pci_reset(struct device *dev)
{
	virtio_pci_reset(virtio_pci_of(dev));
}

static void vrng_pci_destroy(struct device *dev)
{
	struct vrng_pci *p = container_of(virtio_pci_of(dev), struct vrng_pci, vp);

	virtio_rng_free(p->r);
	free(p);
}

/* Requests are served in the kick: between kicks none is held, the ring is all. */
static int vrng_pci_save(struct device *dev, struct dev_buf *b)
{
	return virtio_pci_save(virtio_pci_of(dev), b);
}

static int vrng_pci_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			 size_t whylen)
{
	struct dev_reader r = dev_reader(data, len);
	int ret = virtio_pci_load(virtio_pci_of(dev), &r, why, whylen);

	if (!ret && !dev_reader_ok(&r))
		ret = dev_load_error(dev, why, whylen, "wrong state size");
	return ret;
}

static const struct device_ops vrng_pci_ops = {
	.type = "virtio-rng-pci",
	.reset = vrng_pci_reset,
	.save = vrng_pci_save,
	.load = vrng_pci_load,
	.destroy = vrng_pci_destroy,
};

int virtio_rng_pci_create(struct vm *vm, const char *opts, char *why, size_t len)
{
	char name[32], **parts = g_strsplit(opts, ",", -1);
	struct vrng_pci *p;
	int ret = 0;

	/* QEMU's rng=, max-bytes= and period= name things tandem does not have. */
	for (char **k = parts; *k && !ret; k++) {
		if (**k && strncmp(*k, "id=", 3)) {
			snprintf(why, len, "'%s' not supported (virtio-rng-pci takes: id; it reads "
				 "the host's getrandom())", *k);
			ret = -EINVAL;
		}
	}
	g_strfreev(parts);
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
	snprintf(name, sizeof(name), "virtio-rng%u", nr_rngs++);
	p->r = virtio_rng_new(vm, name, why, len);
	if (!p->r) {
		free(p);
		return -ENOMEM;
	}
	ret = virtio_pci_init(&p->vp, &p->r->vdev, VIRTIO_PCI_CLASS_RNG);
	if (!ret) {
		pthread_mutex_lock(&vm->lock);
		ret = virtio_pci_add(&p->vp, vm_pci_bus(vm), &vrng_pci_ops, p->r->name);
		pthread_mutex_unlock(&vm->lock);
	}
	if (ret) {
		snprintf(why, len, "cannot plug it into the PCI bus: %s", strerror(-ret));
		virtio_rng_free(p->r);
		free(p);
	}
	return ret;
}
