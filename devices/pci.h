/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_PCI_H
#define TANDEM_DEVICES_PCI_H
/*
 * PCI: one host bridge (bus 0, configuration mechanism #1 at 0xcf8/0xcfc
 * and an ECAM window for PCIe guests, described by the MCFG table) and the
 * devices on it.
 *
 * A device embeds struct pci_device, sets its identity and BARs, adds
 * capabilities, then pci_device_add(). The bus owns the configuration
 * space: it answers BAR sizing (write all-ones, read back the size mask),
 * maps and unmaps a BAR on the pio/mmio bus when the guest moves it or
 * flips COMMAND's I/O / memory enables, and keeps read-only and
 * write-1-to-clear bits as the masks say. A device sees its BAR accesses
 * as offsets into the BAR (struct io_ops, like every other device) and,
 * if it wants, its configuration writes after the bus applied them.
 *
 * Interrupts: INTx through pci_set_irq() (pin INTA-INTD swizzled onto the
 * I/O APIC's PCI lines, the GSI in INTERRUPT_LINE), or MSI-X through a
 * table in a BAR of its own (pci_msix_init()), messages sent through
 * vm_msi_send().
 *
 * Everything runs with vm->lock held (config accesses come through the
 * bus, device calls from vCPU or I/O threads take the lock first).
 *
 * The layout (the PC board's; ACPI's DSDT _CRS, MCFG and the e820 map
 * describe the same):
 *   0xcf8-0xcff          CONFIG_ADDRESS (dword only) / CONFIG_DATA; a byte
 *                        at 0xcf9 is the reset control register
 *   0xc000-0xffff        I/O window: I/O BARs
 *   0xc0000000-0xdfffffff  32-bit memory window: memory BARs (64-bit ones too)
 *   0xe0000000-0xefffffff  ECAM, buses 0-255 (only bus 0 has devices)
 *   INTA-INTD of slot S pin P (1-4): GSI 16 + (S + P - 1) % 4, level,
 *   active low as PCI's INTx# wires are (the ACPI _PRT default), so an
 *   idle line is driven high.
 * BARs are placed at pci_device_add() the way firmware would (in order,
 * naturally aligned) with COMMAND's I/O and memory decode on, because no
 * firmware runs before a directly booted guest.
 */
#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/device.h"

struct vm;
struct pci_bus;

#define PCI_CONFIG_SIZE		4096u	/* PCIe; the first 256 bytes are PCI's */
#define PCI_NR_BARS		6
#define PCI_MAX_DEVICES		32	/* bus 0, function 0 of each slot */

#define PCI_IO_WINDOW_BASE	0xc000u
#define PCI_IO_WINDOW_END	0x10000u
#define PCI_MEM_WINDOW_BASE	0xc0000000ull
#define PCI_MEM_WINDOW_END	0xe0000000ull
#define PCI_ECAM_BASE		0xe0000000ull
#define PCI_ECAM_SIZE		0x10000000ull	/* 256 buses x 32 slots x 8 fns x 4 KiB */
#define PCI_INTX_GSI_BASE	16u		/* INTA..INTD swizzled onto GSIs 16-19 */
#define PCI_CONFIG_PORT		0xcf8u

/* The host bridge at 00:00.0: Intel's Q35 MCH, as QEMU's q35 machine has. */
#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x29c0

/* Standard header offsets used by devices. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x0001
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x0008
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define  PCI_BASE_ADDRESS_SPACE_IO	0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64	0x04
#define  PCI_BASE_ADDRESS_MEM_PREFETCH	0x08
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_CAP_ID_MSIX		0x11
#define  PCI_MSIX_FLAGS_ENABLE	0x8000	/* in the capability's message control */
#define  PCI_MSIX_FLAGS_MASKALL	0x4000
#define PCI_MSIX_ENTRY_SIZE	16
#define  PCI_MSIX_ENTRY_CTRL_MASKBIT	0x1
#define PCI_CAP_ID_VNDR		0x09

enum pci_bar_kind {
	PCI_BAR_NONE,
	PCI_BAR_IO,		/* port I/O */
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,		/* takes this BAR and the next */
};

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetch;
	uint64_t size;		/* a power of two (at least 16 for I/O, 4096 for memory) */
	const struct io_ops *ops;
	void *opaque;
	uint64_t addr;		/* where the guest put it (bus-owned) */
	bool mapped;		/* registered on the pio/mmio bus now (bus-owned) */
};

struct pci_device {
	struct device dev;
	struct pci_bus *bus;
	uint8_t slot;			/* device number on bus 0 */
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SIZE];	/* bits a guest 1 clears */
	struct pci_bar bar[PCI_NR_BARS];
	uint8_t cap_next;		/* where the next capability goes */
	bool intx_level;		/* the device's INTx output, before COMMAND's disable */
	/* MSI-X (pci_msix_init()), bus-owned. */
	struct pci_msix *msix;
	/* Called after the bus applied a guest config write (may be NULL). */
	void (*config_written)(struct pci_device *pd, unsigned off, unsigned size);
};

/*
 * Set the identity: vendor, device, class (base << 16 | sub << 8 | prog-if),
 * revision, subsystem ids, INTx pin (0: none, 1: INTA ...). Fills the
 * header's read-only fields and the standard writable masks (COMMAND,
 * the BARs, INTERRUPT_LINE).
 */
void pci_device_init(struct pci_device *pd, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		     uint16_t subsys, uint8_t intx_pin);
/* Declare BAR @i (before pci_device_add()). @size is rounded up to a power of two. */
void pci_set_bar(struct pci_device *pd, unsigned i, enum pci_bar_kind kind, bool prefetch,
		 uint64_t size, const struct io_ops *ops, void *opaque);
/*
 * Append a capability of @len bytes (including the id and next bytes) with
 * id @id; returns its offset in config space, 0 if there is no room.
 */
unsigned pci_add_capability(struct pci_device *pd, uint8_t id, unsigned len);
/*
 * MSI-X with @nr_vectors entries: the table and the PBA live in BAR @bar
 * (declared here, 32-bit memory). Returns 0 or -errno.
 */
int pci_msix_init(struct pci_device *pd, unsigned nr_vectors, unsigned bar);
/* MSI-X enabled by the guest and the function not masked. */
bool pci_msix_enabled(const struct pci_device *pd);
/* Send vector @v's message, or set its pending bit if masked. Out of range: ignored. */
void pci_msix_notify(struct pci_device *pd, unsigned v);

/*
 * Put @pd on @bus at slot @slot (-1: the first free one), registered with
 * the VM as device @name (struct device ops in @ops). 0 or -errno (-ENOSPC:
 * bus full or no window room, -EEXIST: slot taken); on failure the MSI-X
 * state is freed, on success the bus frees it when it goes (so a device's
 * destroy frees only the device).
 */
int pci_device_add(struct pci_bus *bus, struct pci_device *pd, int slot,
		   const struct device_ops *ops, const char *name);
/* Drive INTx (level). Ignored without a pin or with COMMAND.INTX_DISABLE. */
void pci_set_irq(struct pci_device *pd, int level);
/* Bus-master DMA allowed (COMMAND.MASTER set)? Devices check before touching RAM. */
bool pci_bus_master(const struct pci_device *pd);

/* The board's host bridge; NULL with errno on failure. */
struct pci_bus *pci_bus_create(struct vm *vm, uint64_t ecam_base);
struct pci_bus *vm_pci_bus(struct vm *vm);
uint64_t pci_bus_ecam_base(const struct pci_bus *bus);
/*
 * A byte access to port 0xcf9 (inside the bridge's 0xcf8-0xcff) goes to
 * @ops/@opaque at offset 0: the PC's reset control register.
 */
void pci_bus_set_port_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque);
/* The device in @slot of bus 0, or NULL. */
struct pci_device *pci_bus_device(struct pci_bus *bus, unsigned slot);
/* The GSI that @slot's pin @pin (1-4: INTA-INTD) drives. */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);
/*
 * Configuration space as the guest sees it (bus, slot, function, offset
 * below 4096, size 1/2/4); what 0xcfc and ECAM do. Missing: all-ones.
 */
uint32_t pci_config_read(struct pci_bus *bus, unsigned busnr, unsigned slot, unsigned fn,
			 unsigned off, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned busnr, unsigned slot, unsigned fn,
		      unsigned off, uint32_t val, unsigned size);

#endif
