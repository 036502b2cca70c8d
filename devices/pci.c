// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI bus 0 behind one host bridge: configuration mechanism #1 and ECAM,
 * BAR sizing and (re)mapping, capabilities, MSI-X and INTx. The API and
 * the address layout are in devices/pci.h.
 *
 * Invariants:
 *  - config[] always holds what the guest reads; writes go through
 *    wmask/w1cmask, so BAR sizing needs no special case: a BAR's wmask is
 *    ~(size - 1) over its address bits, so all-ones reads back the size
 *    mask with the read-only type bits.
 *  - bar[i].mapped says the BAR is on the pio/mmio bus at bar[i].addr;
 *    pci_update_bars() recomputes where every BAR should be from config[]
 *    and COMMAND after each write and moves what changed.
 *  - The INTx line of a GSI is driven low while at least one device on
 *    it asserts (intx_count), high otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/vm.h"

#define PCI_NR_INTX		4
#define PCI_ROM_ADDRESS		0x30
#define PCI_HEADER_SIZE		0x40	/* the standard type 0 header */
#define PCI_BAR_UNMAPPED	(~0ull)

struct pci_msix {
	unsigned nr;		/* vectors */
	unsigned bar;
	unsigned cap;		/* capability offset in config space */
	uint32_t pba_off;	/* in the BAR; the table is at 0 */
	uint8_t *table;		/* nr * 16 bytes, guest-visible layout */
	uint64_t *pba;		/* pending bits */
};

struct pci_bus {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	uint64_t ecam_base;
	uint32_t config_address;	/* 0xcf8 */
	struct pci_device *slot[PCI_MAX_DEVICES];
	/* MSI-X state of each slot's device: the bus frees it, after the devices are gone. */
	struct pci_msix *msix[PCI_MAX_DEVICES];
	struct pci_device host;	/* 00:00.0 */
	const struct io_ops *cf9_ops;
	void *cf9_opaque;
	unsigned intx_count[PCI_NR_INTX];
	/* Where the next BAR goes (pci_place_bars()). */
	uint32_t io_next;
	uint64_t mem_next;
	uint64_t bad_config;	/* dropped: non-dword 0xcf8, accesses to absent functions */
};

static uint32_t cfg_get(const struct pci_device *pd, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)pd->config[off + i] << (8 * i);
	return v;
}

static void cfg_set(struct pci_device *pd, unsigned off, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		pd->config[off + i] = (uint8_t)(v >> (8 * i));
}

static void mask_set(uint8_t *mask, unsigned off, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		mask[off + i] = (uint8_t)(v >> (8 * i));
}

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin - 1) % PCI_NR_INTX;
}

/* ---- INTx ---------------------------------------------------------------- */

static bool intx_asserted(const struct pci_device *pd)
{
	return pd->intx_level && pd->config[PCI_INTERRUPT_PIN] &&
	       !(cfg_get(pd, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
}

static void intx_drive(struct pci_bus *bus, unsigned idx)
{
	/* Active low: the wire is low while anyone asserts. */
	irq_set(bus->vm, PCI_INTX_GSI_BASE + idx, bus->intx_count[idx] ? 0 : 1);
}

/* Apply a change of intx_level or COMMAND.INTX_DISABLE; @was: asserted before. */
static void intx_update(struct pci_device *pd, bool was)
{
	bool now = intx_asserted(pd);
	unsigned idx;

	if (pd->intx_level)
		pd->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		pd->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (now == was || !pd->bus)
		return;
	idx = pci_intx_gsi(pd->slot, pd->config[PCI_INTERRUPT_PIN]) - PCI_INTX_GSI_BASE;
	if (now)
		pd->bus->intx_count[idx]++;
	else if (pd->bus->intx_count[idx])
		pd->bus->intx_count[idx]--;
	intx_drive(pd->bus, idx);
}

void pci_set_irq(struct pci_device *pd, int level)
{
	bool was = intx_asserted(pd);

	pd->intx_level = level != 0;
	intx_update(pd, was);
}

bool pci_bus_master(const struct pci_device *pd)
{
	return cfg_get(pd, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

/* ---- BARs ---------------------------------------------------------------- */

static unsigned bar_reg(unsigned i)
{
	return PCI_BASE_ADDRESS_0 + 4 * i;
}

/* Where BAR @i decodes now, or PCI_BAR_UNMAPPED (disabled, unset, sizing, off the end). */
static uint64_t bar_target(const struct pci_device *pd, unsigned i)
{
	const struct pci_bar *b = &pd->bar[i];
	uint16_t cmd = cfg_get(pd, PCI_COMMAND, 2);
	uint64_t addr, last;

	switch (b->kind) {
	case PCI_BAR_IO:
		if (!(cmd & PCI_COMMAND_IO))
			return PCI_BAR_UNMAPPED;
		addr = cfg_get(pd, bar_reg(i), 4) & ~(uint64_t)(b->size - 1) & 0xfffffffc;
		if (!addr || addr + b->size > 0x10000)
			return PCI_BAR_UNMAPPED;
		return addr;
	case PCI_BAR_MEM32:
	case PCI_BAR_MEM64:
		if (!(cmd & PCI_COMMAND_MEMORY))
			return PCI_BAR_UNMAPPED;
		addr = cfg_get(pd, bar_reg(i), 4) & 0xfffffff0u;
		if (b->kind == PCI_BAR_MEM64)
			addr |= (uint64_t)cfg_get(pd, bar_reg(i + 1), 4) << 32;
		addr &= ~(b->size - 1);
		last = addr + b->size - 1;
		/* The sizing pattern ends at the top of the space: not a placement. */
		if (!addr || last < addr || last == PCI_BAR_UNMAPPED ||
		    (b->kind == PCI_BAR_MEM32 && last >= 0xffffffffull))
			return PCI_BAR_UNMAPPED;
		return addr;
	default:
		return PCI_BAR_UNMAPPED;
	}
}

static struct bus *bar_bus(struct pci_device *pd, unsigned i)
{
	struct vm *vm = pd->bus->vm;

	return pd->bar[i].kind == PCI_BAR_IO ? &vm->pio : &vm->mmio;
}

/*
 * Move every BAR to where config[] and COMMAND say. A BAR that would
 * overlap another range (a device, another BAR) stays unmapped, as if
 * it decoded nothing: the guest's mistake, never the VMM's crash.
 */
static void pci_update_bars(struct pci_device *pd)
{
	if (!pd->bus)
		return;
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pd->bar[i];
		uint64_t want;

		if (b->kind == PCI_BAR_NONE || !b->ops)
			continue;
		want = bar_target(pd, i);
		if (b->mapped && b->addr == want)
			continue;
		if (b->mapped) {
			bus_unregister(bar_bus(pd, i), b->addr, b->opaque);
			b->mapped = false;
		}
		if (want == PCI_BAR_UNMAPPED)
			continue;
		b->addr = want;
		b->mapped = !bus_register(bar_bus(pd, i), want, b->size, b->ops, b->opaque,
					  pd->dev.name[0] ? pd->dev.name : "pci-bar");
	}
}

void pci_set_bar(struct pci_device *pd, unsigned i, enum pci_bar_kind kind, bool prefetch,
		 uint64_t size, const struct io_ops *ops, void *opaque)
{
	uint64_t min = kind == PCI_BAR_IO ? 16 : 4096, sz = min;
	uint32_t type;

	if (i >= PCI_NR_BARS || (kind == PCI_BAR_MEM64 && i + 1 >= PCI_NR_BARS))
		return;
	while (sz < size && sz < (1ull << 62))
		sz <<= 1;
	/* I/O BARs cannot be larger than 256 bytes on PCI; 32-bit ones than 2 GiB. */
	if ((kind == PCI_BAR_IO && sz > 256) || (kind == PCI_BAR_MEM32 && sz > (1ull << 31)))
		return;
	pd->bar[i] = (struct pci_bar){ .kind = kind, .prefetch = prefetch, .size = sz,
				       .ops = ops, .opaque = opaque };
	switch (kind) {
	case PCI_BAR_IO:
		type = PCI_BASE_ADDRESS_SPACE_IO;
		mask_set(pd->wmask, bar_reg(i), ~(uint32_t)(sz - 1) & 0xfffffffc, 4);
		break;
	case PCI_BAR_MEM32:
		type = prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
		mask_set(pd->wmask, bar_reg(i), ~(uint32_t)(sz - 1) & 0xfffffff0, 4);
		break;
	case PCI_BAR_MEM64:
		type = PCI_BASE_ADDRESS_MEM_TYPE_64 | (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		mask_set(pd->wmask, bar_reg(i), ~(uint32_t)(sz - 1) & 0xfffffff0, 4);
		mask_set(pd->wmask, bar_reg(i + 1), (uint32_t)(~(sz - 1) >> 32), 4);
		pd->bar[i + 1] = (struct pci_bar){ .kind = PCI_BAR_NONE };
		cfg_set(pd, bar_reg(i + 1), 0, 4);
		break;
	default:
		mask_set(pd->wmask, bar_reg(i), 0, 4);
		cfg_set(pd, bar_reg(i), 0, 4);
		return;
	}
	cfg_set(pd, bar_reg(i), type, 4);
}

/* The firmware's job: BARs in order, each naturally aligned, decoding on. */
static int pci_place_bars(struct pci_bus *bus, struct pci_device *pd)
{
	uint16_t cmd = cfg_get(pd, PCI_COMMAND, 2);

	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pd->bar[i];
		uint64_t addr;

		if (b->kind == PCI_BAR_IO) {
			addr = (bus->io_next + b->size - 1) & ~(b->size - 1);
			if (addr + b->size > PCI_IO_WINDOW_END)
				return -ENOSPC;
			bus->io_next = (uint32_t)(addr + b->size);
			cfg_set(pd, bar_reg(i), (uint32_t)addr | PCI_BASE_ADDRESS_SPACE_IO, 4);
			cmd |= PCI_COMMAND_IO;
		} else if (b->kind == PCI_BAR_MEM32 || b->kind == PCI_BAR_MEM64) {
			addr = (bus->mem_next + b->size - 1) & ~(b->size - 1);
			if (addr + b->size > PCI_MEM_WINDOW_END || addr + b->size < addr)
				return -ENOSPC;
			bus->mem_next = addr + b->size;
			cfg_set(pd, bar_reg(i), (uint32_t)addr | (pd->config[bar_reg(i)] & 0xf), 4);
			if (b->kind == PCI_BAR_MEM64)
				cfg_set(pd, bar_reg(i + 1), (uint32_t)(addr >> 32), 4);
			cmd |= PCI_COMMAND_MEMORY;
		}
	}
	cfg_set(pd, PCI_COMMAND, cmd, 2);
	return 0;
}

/* ---- capabilities and MSI-X ---------------------------------------------- */

unsigned pci_add_capability(struct pci_device *pd, uint8_t id, unsigned len)
{
	unsigned off = (pd->cap_next + 3) & ~3u;

	if (off < PCI_HEADER_SIZE)
		off = PCI_HEADER_SIZE;
	if (len < 2 || off + len > 256)
		return 0;
	/* Chain: the list head, or the previous capability's next pointer. */
	if (!(pd->config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		pd->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
		pd->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	} else {
		unsigned p = pd->config[PCI_CAPABILITY_LIST];

		for (unsigned n = 0; n < 48 && pd->config[p + 1]; n++)
			p = pd->config[p + 1];
		pd->config[p + 1] = (uint8_t)off;
	}
	pd->config[off] = id;
	pd->config[off + 1] = 0;
	pd->cap_next = (uint8_t)(off + len < 256 ? off + len : 255);
	return off;
}

static uint16_t msix_ctrl(const struct pci_device *pd)
{
	return cfg_get(pd, pd->msix->cap + 2, 2);
}

bool pci_msix_enabled(const struct pci_device *pd)
{
	return pd->msix && (msix_ctrl(pd) & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)) ==
			   PCI_MSIX_FLAGS_ENABLE;
}

static bool msix_vector_masked(const struct pci_device *pd, unsigned v)
{
	const uint8_t *e = pd->msix->table + v * PCI_MSIX_ENTRY_SIZE;

	return !pci_msix_enabled(pd) || (e[12] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(struct pci_device *pd, unsigned v)
{
	const uint8_t *e = pd->msix->table + v * PCI_MSIX_ENTRY_SIZE;
	uint64_t addr;
	uint32_t data;

	memcpy(&addr, e, 8);
	memcpy(&data, e + 8, 4);
	vm_msi_send(pd->bus->vm, addr, data);
}

void pci_msix_notify(struct pci_device *pd, unsigned v)
{
	struct pci_msix *m = pd->msix;

	if (!m || v >= m->nr || !pd->bus)
		return;
	/* With MSI-X off the function signals through INTx (the device's choice). */
	if (!(msix_ctrl(pd) & PCI_MSIX_FLAGS_ENABLE))
		return;
	if (msix_vector_masked(pd, v)) {
		m->pba[v / 64] |= 1ull << (v % 64);
		return;
	}
	msix_send(pd, v);
}

/* Something was unmasked: deliver what became deliverable. */
static void msix_flush_pending(struct pci_device *pd)
{
	struct pci_msix *m = pd->msix;

	for (unsigned v = 0; v < m->nr; v++) {
		if (!(m->pba[v / 64] & (1ull << (v % 64))) || msix_vector_masked(pd, v))
			continue;
		m->pba[v / 64] &= ~(1ull << (v % 64));
		msix_send(pd, v);
	}
}

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_device *pd = opaque;
	struct pci_msix *m = pd->msix;
	uint64_t v = 0;

	/* Table and PBA: byte-wise, any size that stays inside. */
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i, b = 0;

		if (o < (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)
			b = m->table[o];
		else if (o >= m->pba_off && o < m->pba_off + 8 * ((m->nr + 63) / 64))
			b = ((const uint8_t *)m->pba)[o - m->pba_off];
		v |= b << (8 * i);
	}
	return v;
}

static void msix_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_device *pd = opaque;
	struct pci_msix *m = pd->msix;
	bool unmasked = false;

	/* The PBA is read-only; the table takes dword and qword writes (the spec's sizes). */
	if ((size != 4 && size != 8) || (off & (size - 1)) ||
	    off + size > (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)
		return;
	for (unsigned i = 0; i < size; i += 4) {
		uint64_t o = off + i;
		uint32_t d = (uint32_t)(val >> (8 * i));

		if ((o & 15) == 12) {
			bool was = m->table[o] & PCI_MSIX_ENTRY_CTRL_MASKBIT;

			/* Only the mask bit is writable in vector control. */
			d = (m->table[o] & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) |
			    (d & PCI_MSIX_ENTRY_CTRL_MASKBIT);
			unmasked |= was && !(d & PCI_MSIX_ENTRY_CTRL_MASKBIT);
		}
		memcpy(m->table + o, &d, 4);
	}
	if (unmasked)
		msix_flush_pending(pd);
}

static const struct io_ops msix_ops = {
	.read = msix_read,
	.write = msix_write,
};

static void msix_reset(struct pci_device *pd)
{
	struct pci_msix *m = pd->msix;

	memset(m->table, 0, (size_t)m->nr * PCI_MSIX_ENTRY_SIZE);
	for (unsigned v = 0; v < m->nr; v++)
		m->table[v * PCI_MSIX_ENTRY_SIZE + 12] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	memset(m->pba, 0, 8 * ((m->nr + 63) / 64));
	cfg_set(pd, m->cap + 2, m->nr - 1, 2);
}

int pci_msix_init(struct pci_device *pd, unsigned nr_vectors, unsigned bar)
{
	struct pci_msix *m;
	uint64_t table_len, size;
	unsigned cap;

	if (!nr_vectors || nr_vectors > 2048 || bar >= PCI_NR_BARS || pd->msix)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nr = nr_vectors;
	m->bar = bar;
	table_len = (uint64_t)nr_vectors * PCI_MSIX_ENTRY_SIZE;
	m->pba_off = (uint32_t)((table_len + 7) & ~7ull);
	size = m->pba_off + 8 * ((nr_vectors + 63) / 64);
	m->table = calloc(1, table_len);
	m->pba = calloc((nr_vectors + 63) / 64, 8);
	cap = pci_add_capability(pd, PCI_CAP_ID_MSIX, 12);
	if (!m->table || !m->pba || !cap) {
		free(m->table);
		free(m->pba);
		free(m);
		return cap ? -ENOMEM : -ENOSPC;
	}
	m->cap = cap;
	pd->msix = m;
	/* Table at offset 0 of the BAR, PBA right after it; both name BIR @bar. */
	cfg_set(pd, cap + 4, bar, 4);
	cfg_set(pd, cap + 8, m->pba_off | bar, 4);
	mask_set(pd->wmask, cap + 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	msix_reset(pd);
	pci_set_bar(pd, bar, PCI_BAR_MEM32, false, size, &msix_ops, pd);
	return 0;
}

/* ---- configuration space ------------------------------------------------- */

void pci_device_init(struct pci_device *pd, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		     uint16_t subsys, uint8_t intx_pin)
{
	memset(pd->config, 0, sizeof(pd->config));
	memset(pd->wmask, 0, sizeof(pd->wmask));
	memset(pd->w1cmask, 0, sizeof(pd->w1cmask));
	memset(pd->bar, 0, sizeof(pd->bar));
	pd->cap_next = PCI_HEADER_SIZE;
	pd->intx_level = false;
	cfg_set(pd, PCI_VENDOR_ID, vendor, 2);
	cfg_set(pd, PCI_DEVICE_ID, device, 2);
	pd->config[PCI_REVISION_ID] = revision;
	cfg_set(pd, PCI_CLASS_PROG, class_code, 3);
	pd->config[PCI_HEADER_TYPE] = 0;
	cfg_set(pd, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor, 2);
	cfg_set(pd, PCI_SUBSYSTEM_ID, subsys, 2);
	pd->config[PCI_INTERRUPT_PIN] = intx_pin <= 4 ? intx_pin : 0;
	/* COMMAND: I/O, memory, master, INTx disable; STATUS: the error bits are W1C. */
	mask_set(pd->wmask, PCI_COMMAND,
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		 PCI_COMMAND_INTX_DISABLE, 2);
	mask_set(pd->w1cmask, PCI_STATUS, 0xf900, 2);
	pd->wmask[PCI_INTERRUPT_LINE] = 0xff;
	/* Cache line size and latency timer: plain storage, as most devices have. */
	pd->wmask[0x0c] = 0xff;
	pd->wmask[0x0d] = 0xff;
}

static struct pci_device *config_target(struct pci_bus *bus, unsigned busnr, unsigned slot,
					unsigned fn)
{
	if (busnr != 0 || fn != 0 || slot >= PCI_MAX_DEVICES)
		return NULL;
	return bus->slot[slot];
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned busnr, unsigned slot, unsigned fn,
			 unsigned off, unsigned size)
{
	struct pci_device *pd = config_target(bus, busnr, slot, fn);
	uint32_t v = 0;

	if (size != 1 && size != 2 && size != 4)
		return ~0u;
	if (!pd) {
		return size == 4 ? ~0u : (1u << (8 * size)) - 1;
	}
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;

		v |= (uint32_t)(o < PCI_CONFIG_SIZE ? pd->config[o] : 0xff) << (8 * i);
	}
	return v;
}

void pci_config_write(struct pci_bus *bus, unsigned busnr, unsigned slot, unsigned fn,
		      unsigned off, uint32_t val, unsigned size)
{
	struct pci_device *pd = config_target(bus, busnr, slot, fn);
	bool intx_was, msix_was = false;
	uint16_t msix_old = 0;

	if (!pd || (size != 1 && size != 2 && size != 4) || off >= PCI_CONFIG_SIZE) {
		bus->bad_config++;
		return;
	}
	if (off + size > PCI_CONFIG_SIZE)
		size = PCI_CONFIG_SIZE - off;
	intx_was = intx_asserted(pd);
	if (pd->msix) {
		msix_old = msix_ctrl(pd);
		msix_was = pci_msix_enabled(pd);
	}
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		pd->config[o] = (pd->config[o] & ~pd->wmask[o]) | (b & pd->wmask[o]);
		pd->config[o] &= ~(b & pd->w1cmask[o]);
	}
	/* What the write can have moved: BARs, decode enables, INTx disable, MSI-X. */
	if (off < PCI_HEADER_SIZE && off + size > PCI_COMMAND)
		pci_update_bars(pd);
	intx_update(pd, intx_was);
	if (pd->msix && msix_ctrl(pd) != msix_old && pci_msix_enabled(pd) && !msix_was)
		msix_flush_pending(pd);
	if (pd->config_written)
		pd->config_written(pd, off, size);
}

/* ---- 0xcf8/0xcfc and ECAM ------------------------------------------------ */

#define CONFIG_ADDRESS_ENABLE	0x80000000u

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t a = bus->config_address;

	if (off == 0 && size == 4)
		return a;
	if (off == 1 && size == 1 && bus->cf9_ops)
		return bus->cf9_ops->read(bus->cf9_opaque, 0, 1);
	if (off >= 4) {
		if (!(a & CONFIG_ADDRESS_ENABLE))
			return size >= 4 ? ~0u : (1u << (8 * size)) - 1;
		return pci_config_read(bus, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
				       (a & 0xfc) + (unsigned)(off - 4), size);
	}
	/* Byte and word accesses to 0xcf8-0xcfb are not CONFIG_ADDRESS (mechanism #1). */
	bus->bad_config++;
	return (1ull << (8 * size)) - 1;
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t a = bus->config_address;

	if (off == 0 && size == 4) {
		/* Bits 30:24 are reserved, 1:0 read as 0. */
		bus->config_address = (uint32_t)val & 0x80fffffcu;
		return;
	}
	if (off == 1 && size == 1 && bus->cf9_ops) {
		bus->cf9_ops->write(bus->cf9_opaque, 0, val, 1);
		return;
	}
	if (off >= 4 && (a & CONFIG_ADDRESS_ENABLE)) {
		pci_config_write(bus, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
				 (a & 0xfc) + (unsigned)(off - 4), (uint32_t)val, size);
		return;
	}
	bus->bad_config++;
}

static const struct io_ops cf8_ops = {
	.read = cf8_read,
	.write = cf8_write,
};

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;

	if (size == 8)
		return ecam_read(opaque, off, 4) | (uint64_t)ecam_read(opaque, off + 4, 4) << 32;
	return pci_config_read(bus, (unsigned)(off >> 20) & 0xff, (unsigned)(off >> 15) & 0x1f,
			       (unsigned)(off >> 12) & 7, (unsigned)off & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;

	if (size == 8) {
		ecam_write(opaque, off, val & 0xffffffffu, 4);
		ecam_write(opaque, off + 4, val >> 32, 4);
		return;
	}
	pci_config_write(bus, (unsigned)(off >> 20) & 0xff, (unsigned)(off >> 15) & 0x1f,
			 (unsigned)(off >> 12) & 7, (unsigned)off & 0xfff, (uint32_t)val, size);
}

static const struct io_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

/* ---- devices on the bus -------------------------------------------------- */

static void msix_free(struct pci_msix *m)
{
	if (!m)
		return;
	free(m->table);
	free(m->pba);
	free(m);
}

int pci_device_add(struct pci_bus *bus, struct pci_device *pd, int slot,
		   const struct device_ops *ops, const char *name)
{
	int ret = 0;

	if (slot < 0) {
		for (slot = 0; slot < PCI_MAX_DEVICES && bus->slot[slot]; slot++)
			;
		if (slot == PCI_MAX_DEVICES)
			ret = -ENOSPC;
	} else if (slot >= PCI_MAX_DEVICES) {
		ret = -EINVAL;
	} else if (bus->slot[slot]) {
		ret = -EEXIST;
	}
	if (!ret)
		ret = pci_place_bars(bus, pd);
	if (ret) {
		msix_free(pd->msix);
		pd->msix = NULL;
		return ret;
	}
	bus->msix[slot] = pd->msix;
	pd->bus = bus;
	pd->slot = (uint8_t)slot;
	/* INTERRUPT_LINE: the GSI, as firmware leaves it for a guest without ACPI. */
	if (pd->config[PCI_INTERRUPT_PIN])
		pd->config[PCI_INTERRUPT_LINE] =
			(uint8_t)pci_intx_gsi((unsigned)slot, pd->config[PCI_INTERRUPT_PIN]);
	bus->slot[slot] = pd;
	device_add(bus->vm, &pd->dev, ops, name);
	pci_update_bars(pd);
	return 0;
}

/*
 * Reset: every function back to how the firmware left it (BARs where
 * they were placed, decode on, MSI-X off with all vectors masked, no
 * INTx); the devices' own reset ops then reset their registers.
 */
static void pci_bus_reset(struct device *dev)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);

	bus->config_address = 0;
	bus->io_next = PCI_IO_WINDOW_BASE;
	bus->mem_next = PCI_MEM_WINDOW_BASE;
	for (unsigned s = 0; s < PCI_MAX_DEVICES; s++) {
		struct pci_device *pd = bus->slot[s];

		if (!pd)
			continue;
		pci_set_irq(pd, 0);
		cfg_set(pd, PCI_COMMAND, 0, 2);
		cfg_set(pd, PCI_STATUS, cfg_get(pd, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 2);
		for (unsigned i = 0; i < PCI_NR_BARS; i++)
			if (pd->bar[i].kind != PCI_BAR_NONE)
				pd->config[bar_reg(i)] &= 0xf;	/* keep the type bits */
		if (pd->msix)
			msix_reset(pd);
		pci_place_bars(bus, pd);	/* same order, same sizes: cannot fail now */
		if (pd->config[PCI_INTERRUPT_PIN])
			pd->config[PCI_INTERRUPT_LINE] =
				(uint8_t)pci_intx_gsi(s, pd->config[PCI_INTERRUPT_PIN]);
		pci_update_bars(pd);
	}
	for (unsigned i = 0; i < PCI_NR_INTX; i++) {
		bus->intx_count[i] = 0;
		intx_drive(bus, i);
	}
}

static void pci_bus_destroy(struct device *dev)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);

	/* The devices on it were destroyed first (they came later). */
	if (bus->vm && bus->vm->pci == bus)
		bus->vm->pci = NULL;
	for (unsigned s = 0; s < PCI_MAX_DEVICES; s++)
		msix_free(bus->msix[s]);
	free(bus);
}

static const struct device_ops pci_bus_ops = {
	.type = "pci-host",
	.reset = pci_bus_reset,
	.destroy = pci_bus_destroy,
};

/* The host bridge function itself: identity only, nothing to reset. */
static const struct device_ops pci_host_fn_ops = {
	.type = "q35-mch",
};

struct pci_bus *pci_bus_create(struct vm *vm, uint64_t ecam_base)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int ret;

	if (!bus) {
		errno = ENOMEM;
		return NULL;
	}
	bus->vm = vm;
	bus->ecam_base = ecam_base;
	bus->io_next = PCI_IO_WINDOW_BASE;
	bus->mem_next = PCI_MEM_WINDOW_BASE;
	/* The windows and ECAM lie in the 32-bit hole: never on guest RAM. */
	for (unsigned i = 0; i < vm->nr_ram; i++) {
		uint64_t s = vm->ram[i].gpa, e = s + vm->ram[i].size;

		if ((s < PCI_MEM_WINDOW_END && e > PCI_MEM_WINDOW_BASE) ||
		    (ecam_base && s < ecam_base + PCI_ECAM_SIZE && e > ecam_base)) {
			free(bus);
			errno = EEXIST;
			return NULL;
		}
	}
	if (ecam_base && vm_mem_reserve(vm, ecam_base, PCI_ECAM_SIZE)) {
		free(bus);
		errno = EEXIST;
		return NULL;
	}
	ret = pio_register(vm, PCI_CONFIG_PORT, 8, &cf8_ops, bus, "pci-config");
	if (!ret && ecam_base)
		ret = mmio_register(vm, ecam_base, PCI_ECAM_SIZE, &ecam_ops, bus, "pci-ecam");
	if (ret < 0) {
		/* A registered range cannot be taken back safely here: keep @bus for it. */
		errno = -ret;
		return NULL;
	}
	device_add(vm, &bus->dev, &pci_bus_ops, "pci0");
	vm->pci = bus;
	/* Idle INTx lines are high (active low). */
	for (unsigned i = 0; i < PCI_NR_INTX; i++)
		intx_drive(bus, i);

	pci_device_init(&bus->host, PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0x060000, 0, 0, 0, 0);
	ret = pci_device_add(bus, &bus->host, 0, &pci_host_fn_ops, "pci-host-bridge");
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return bus;
}

struct pci_bus *vm_pci_bus(struct vm *vm)
{
	return vm->pci;
}

uint64_t pci_bus_ecam_base(const struct pci_bus *bus)
{
	return bus->ecam_base;
}

void pci_bus_set_port_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque)
{
	bus->cf9_ops = ops;
	bus->cf9_opaque = opaque;
}

struct pci_device *pci_bus_device(struct pci_bus *bus, unsigned slot)
{
	return slot < PCI_MAX_DEVICES ? bus->slot[slot] : NULL;
}
