// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-pci, modern transport (devices/virtio_pci.h). Register accesses
 * arrive with vm->lock held, as offsets into BAR 4; anything the layout
 * does not name reads 0 and is dropped on write, counted in the device's
 * bad_accesses.
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio_pci.h"
#include "machine/device.h"

/* virtio_pci_cap.cfg_type */
#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4

/* Common configuration layout (virtio 1.x 4.1.4.3). */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_NUMQ		0x12
#define CC_STATUS	0x14
#define CC_CFGGEN	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOFF	0x1e
#define CC_Q_DESC	0x20
#define CC_Q_AVAIL	0x28
#define CC_Q_USED	0x30
#define CC_SIZE		0x38

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static struct virtq *sel_vq(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->vdev->nr_vq ? &vp->vdev->vq[vp->queue_sel] : NULL;
}

/* The common structure as the driver sees it now; reads take any bytes of it. */
static void common_image(struct virtio_pci *vp, uint8_t *img)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtq *vq = sel_vq(vp);

	memset(img, 0, CC_SIZE);
	put32(img + CC_DFSELECT, vp->dfselect);
	put32(img + CC_DF, virtio_host_features(vdev, vp->dfselect));
	put32(img + CC_GFSELECT, vp->gfselect);
	put32(img + CC_GF, vp->gfselect > 1 ? 0 :
			   (uint32_t)(vdev->guest_features >> (32 * vp->gfselect)));
	put16(img + CC_MSIX, vp->msix_config);
	put16(img + CC_NUMQ, (uint16_t)vdev->nr_vq);
	img[CC_STATUS] = vdev->status;
	img[CC_CFGGEN] = vdev->config_generation;
	put16(img + CC_Q_SELECT, vp->queue_sel);
	if (!vq)
		return;		/* size 0: no such queue */
	put16(img + CC_Q_SIZE, vq->size);
	put16(img + CC_Q_MSIX, vq->msix_vector);
	put16(img + CC_Q_ENABLE, vq->enabled);
	put16(img + CC_Q_NOFF, (uint16_t)vq->index);
	put32(img + CC_Q_DESC, (uint32_t)vq->desc_gpa);
	put32(img + CC_Q_DESC + 4, (uint32_t)(vq->desc_gpa >> 32));
	put32(img + CC_Q_AVAIL, (uint32_t)vq->avail_gpa);
	put32(img + CC_Q_AVAIL + 4, (uint32_t)(vq->avail_gpa >> 32));
	put32(img + CC_Q_USED, (uint32_t)vq->used_gpa);
	put32(img + CC_Q_USED + 4, (uint32_t)(vq->used_gpa >> 32));
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	uint8_t img[CC_SIZE];
	uint64_t v = 0;

	if (off >= CC_SIZE || size > CC_SIZE - off) {
		vp->vdev->bad_accesses++;
		return 0;
	}
	common_image(vp, img);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)img[off + i] << (8 * i);
	return v;
}

/* A 64-bit ring address written whole or as two 32-bit halves. */
static void set_addr(uint64_t *addr, unsigned half_off, uint64_t val, unsigned size)
{
	if (size == 8)
		*addr = val;
	else if (half_off == 0)
		*addr = (*addr & ~0xffffffffull) | (uint32_t)val;
	else
		*addr = (*addr & 0xffffffffull) | ((uint64_t)(uint32_t)val << 32);
}

static uint16_t checked_vector(struct virtio_pci *vp, uint16_t v)
{
	/* The driver reads the vector back: NO_VECTOR says the mapping failed. */
	return v < vp->nr_vectors ? v : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint64_t val, unsigned size)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtq *vq = sel_vq(vp);

	switch (off) {
	case CC_DFSELECT:
		if (size == 4) {
			vp->dfselect = (uint32_t)val;
			return;
		}
		break;
	case CC_GFSELECT:
		if (size == 4) {
			vp->gfselect = (uint32_t)val;
			return;
		}
		break;
	case CC_GF:
		if (size == 4) {
			virtio_set_guest_features(vdev, vp->gfselect, (uint32_t)val);
			return;
		}
		break;
	case CC_MSIX:
		if (size == 2) {
			vp->msix_config = checked_vector(vp, (uint16_t)val);
			return;
		}
		break;
	case CC_STATUS:
		if (size == 1) {
			virtio_set_status(vdev, (uint8_t)val);
			if (!val) {
				/* Reset: the transport's part too. */
				vp->isr = 0;
				pci_set_irq(&vp->pd, 0);
				vp->msix_config = VIRTIO_MSI_NO_VECTOR;
			}
			return;
		}
		break;
	case CC_Q_SELECT:
		if (size == 2) {
			vp->queue_sel = (uint16_t)val;
			return;
		}
		break;
	case CC_Q_SIZE:
		if (size == 2 && vq && !vq->enabled) {
			virtq_set_size(vq, (uint16_t)val);
			return;
		}
		break;
	case CC_Q_MSIX:
		if (size == 2 && vq) {
			vq->msix_vector = checked_vector(vp, (uint16_t)val);
			return;
		}
		break;
	case CC_Q_ENABLE:
		/* Only 1 is defined; a queue stops by a device reset. */
		if (size == 2 && vq && val == 1) {
			virtq_enable(vq);
			return;
		}
		break;
	case CC_Q_DESC: case CC_Q_DESC + 4:
	case CC_Q_AVAIL: case CC_Q_AVAIL + 4:
	case CC_Q_USED: case CC_Q_USED + 4: {
		unsigned base = off & ~7u;
		uint64_t *a;

		if (!vq || vq->enabled || (size != 4 && size != 8) || (size == 8 && off != base))
			break;
		a = base == CC_Q_DESC ? &vq->desc_gpa : base == CC_Q_AVAIL ? &vq->avail_gpa
									   : &vq->used_gpa;
		set_addr(a, off - base, val, size);
		return;
	}
	default:
		break;
	}
	vdev->bad_accesses++;
}

static uint64_t vp_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t v;

	if (off < VIRTIO_PCI_ISR)
		return common_read(vp, (unsigned)off, size);
	if (off == VIRTIO_PCI_ISR) {
		/* Reading ISR acknowledges it (virtio 1.x 4.1.4.5). */
		v = vp->isr;
		vp->isr = 0;
		pci_set_irq(&vp->pd, 0);
		return v;
	}
	if (off >= VIRTIO_PCI_DEVCFG && off < VIRTIO_PCI_NOTIFY)
		return virtio_config_read(vp->vdev, (unsigned)(off - VIRTIO_PCI_DEVCFG), size);
	vp->vdev->bad_accesses++;
	return 0;
}

static void vp_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct virtio_pci *vp = opaque;

	if (off < VIRTIO_PCI_ISR) {
		common_write(vp, (unsigned)off, val, size);
	} else if (off >= VIRTIO_PCI_DEVCFG && off < VIRTIO_PCI_NOTIFY) {
		virtio_config_write(vp->vdev, (unsigned)(off - VIRTIO_PCI_DEVCFG), val, size);
	} else if (off >= VIRTIO_PCI_NOTIFY && !((off - VIRTIO_PCI_NOTIFY) % VIRTIO_PCI_NOTIFY_MULT)) {
		/* No DMA unless the driver enabled bus mastering. */
		if (!pci_bus_master(&vp->pd)) {
			vp->kicks_dropped++;
			return;
		}
		virtio_queue_notify(vp->vdev,
				    (unsigned)((off - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT));
	} else {
		vp->vdev->bad_accesses++;
	}
}

static const struct io_ops vp_ops = {
	.read = vp_read,
	.write = vp_write,
};

static void vp_interrupt(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_pci *vp = vdev->transport;

	if (pci_msix_enabled(&vp->pd)) {
		uint16_t v = vq ? vq->msix_vector : vp->msix_config;

		if (v != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&vp->pd, v);
		return;
	}
	vp->isr |= vq ? 1 : 2;
	pci_set_irq(&vp->pd, 1);
}

static const struct virtio_transport_ops vp_tops = {
	.interrupt = vp_interrupt,
};

/* A virtio_pci_cap (16 bytes, or 20 for notify) naming a window of BAR 4. */
static int add_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length,
		   unsigned len)
{
	unsigned at = pci_add_capability(&vp->pd, PCI_CAP_ID_VNDR, len);
	uint8_t *c = vp->pd.config + at;

	if (!at)
		return -ENOSPC;
	c[2] = (uint8_t)len;			/* cap_len */
	c[3] = type;				/* cfg_type */
	c[4] = VIRTIO_PCI_BAR;			/* bar */
	c[5] = 0;				/* id */
	put32(c + 8, offset);
	put32(c + 12, length);
	if (type == CAP_NOTIFY)
		put32(c + 16, VIRTIO_PCI_NOTIFY_MULT);	/* notify_off_multiplier */
	return 0;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev, uint32_t class_code)
{
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vdev->tops = &vp_tops;
	vdev->transport = vp;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->nr_vectors = (uint16_t)(vdev->nr_vq + 1);
	if (vdev->nr_vq > (VIRTIO_PCI_BAR_SIZE - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT)
		return -EINVAL;
	pci_device_init(&vp->pd, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + vdev->device_id,
			class_code, 1, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS, 1);
	pci_set_bar(&vp->pd, VIRTIO_PCI_BAR, PCI_BAR_MEM32, false, VIRTIO_PCI_BAR_SIZE, &vp_ops,
		    vp);
	ret = add_cap(vp, CAP_COMMON, VIRTIO_PCI_COMMON, CC_SIZE, 16);
	if (!ret)
		ret = add_cap(vp, CAP_ISR, VIRTIO_PCI_ISR, 1, 16);
	if (!ret)
		ret = add_cap(vp, CAP_DEVICE, VIRTIO_PCI_DEVCFG,
			      vdev->config_len ? vdev->config_len : 1, 16);
	if (!ret)
		ret = add_cap(vp, CAP_NOTIFY, VIRTIO_PCI_NOTIFY,
			      VIRTIO_PCI_NOTIFY_MULT * vdev->nr_vq, 20);
	if (!ret)
		ret = pci_msix_init(&vp->pd, vp->nr_vectors, VIRTIO_PCI_MSIX_BAR);
	return ret;
}

int virtio_pci_add(struct virtio_pci *vp, struct pci_bus *bus, const struct device_ops *ops,
		   const char *name)
{
	return pci_device_add(bus, &vp->pd, -1, ops, name);
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	virtio_reset(vp->vdev);
	vp->isr = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	pci_set_irq(&vp->pd, 0);
}

int virtio_pci_save(struct virtio_pci *vp, struct dev_buf *b)
{
	pci_device_save(&vp->pd, b);
	DEV_SAVE(b, vp->dfselect);
	DEV_SAVE(b, vp->gfselect);
	DEV_SAVE(b, vp->queue_sel);
	DEV_SAVE(b, vp->msix_config);
	DEV_SAVE(b, vp->isr);
	return virtio_dev_save(vp->vdev, b);
}

int virtio_pci_load(struct virtio_pci *vp, struct dev_reader *r, char *why, size_t whylen)
{
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, msix_config;
	uint8_t isr;
	int ret;

	ret = pci_device_load(&vp->pd, r, why, whylen);
	if (ret)
		return ret;
	DEV_LOAD(r, dfselect);
	DEV_LOAD(r, gfselect);
	DEV_LOAD(r, queue_sel);
	DEV_LOAD(r, msix_config);
	DEV_LOAD(r, isr);
	if (r->bad)
		return dev_load_error(&vp->pd.dev, why, whylen, "truncated virtio-pci state");
	if (isr & ~3u)
		return dev_load_error(&vp->pd.dev, why, whylen, "ISR with unknown bits");
	ret = virtio_dev_load(vp->vdev, r, why, whylen);
	if (ret)
		return ret;
	vp->dfselect = dfselect;
	vp->gfselect = gfselect;
	vp->queue_sel = queue_sel;
	/* A vector past the table would be refused by the driver's write too. */
	vp->msix_config = checked_vector(vp, msix_config);
	for (unsigned i = 0; i < vp->vdev->nr_vq; i++)
		vp->vdev->vq[i].msix_vector = checked_vector(vp, vp->vdev->vq[i].msix_vector);
	vp->isr = isr;
	return 0;
}
