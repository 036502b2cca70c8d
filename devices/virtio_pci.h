/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_PCI_H
#define TANDEM_DEVICES_VIRTIO_PCI_H
/*
 * The modern (virtio 1.x) PCI transport: vendor 0x1af4, device
 * 0x1040 + virtio id, revision 1, subsystem 0x1af4:0x1100.
 *
 * BAR 4 (32-bit memory, 16 KiB) holds the four virtio structures, each
 * named by a vendor capability:
 *   0x0000  common configuration
 *   0x1000  ISR status (read clears it and lowers INTx)
 *   0x2000  device configuration
 *   0x3000  notifications: queue i at 0x3000 + 4 * i
 * BAR 1 holds the MSI-X table: vector 0 .. nr_vq, one per queue and one
 * for config changes as the driver maps them. Without MSI-X the device
 * raises INTA and says why in the ISR byte.
 *
 * Not there: the legacy transport and the VIRTIO_PCI_CAP_PCI_CFG window
 * (Linux uses neither).
 */
#include <stddef.h>
#include <stdint.h>

#include "devices/pci.h"
#include "devices/virtio.h"

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040
#define VIRTIO_PCI_SUBSYS		0x1100
#define VIRTIO_MSI_NO_VECTOR		0xffff

#define VIRTIO_PCI_BAR			4
#define VIRTIO_PCI_MSIX_BAR		1
#define VIRTIO_PCI_COMMON		0x0000
#define VIRTIO_PCI_ISR			0x1000
#define VIRTIO_PCI_DEVCFG		0x2000
#define VIRTIO_PCI_NOTIFY		0x3000
#define VIRTIO_PCI_NOTIFY_MULT		4
#define VIRTIO_PCI_BAR_SIZE		0x4000

/* PCI class codes (base << 16 | sub << 8 | prog-if) as QEMU gives them. */
#define VIRTIO_PCI_CLASS_BLOCK		0x010000
#define VIRTIO_PCI_CLASS_NET		0x020000
#define VIRTIO_PCI_CLASS_CONSOLE	0x078000
#define VIRTIO_PCI_CLASS_RNG		0x00ff00

struct virtio_pci {
	struct pci_device pd;		/* first: pd.dev is the struct device */
	struct virtio_dev *vdev;
	uint32_t dfselect, gfselect;	/* feature word selectors */
	uint16_t queue_sel;
	uint16_t msix_config;
	uint16_t nr_vectors;
	uint8_t isr;			/* bit 0: a queue, bit 1: config (INTx only) */
	uint64_t kicks_dropped;		/* notifications with bus mastering off */
};

/*
 * Make @vp the PCI face of @vdev (initialised already): identity, BARs,
 * capabilities, MSI-X. Then virtio_pci_add(). 0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev, uint32_t class_code);
/* Plug into @bus (first free slot) as device @name with @ops; 0 or -errno. */
int virtio_pci_add(struct virtio_pci *vp, struct pci_bus *bus, const struct device_ops *ops,
		   const char *name);
/* Machine reset: the virtio device and the transport back to power-on. */
void virtio_pci_reset(struct virtio_pci *vp);

/*
 * Snapshots: the PCI function (configuration space, MSI-X table), the
 * transport's registers and the virtio state (devices/virtio.h), for the
 * device's save()/load() to put before its own. Load checks and refuses
 * with one line in @why; 0 or -errno.
 */
int virtio_pci_save(struct virtio_pci *vp, struct dev_buf *b);
int virtio_pci_load(struct virtio_pci *vp, struct dev_reader *r, char *why, size_t whylen);

static inline struct virtio_pci *virtio_pci_of(struct device *dev)
{
	return container_of(dev, struct virtio_pci, pd.dev);
}

#endif
