// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the PCI bus (devices/pci.c): configuration space through
 * 0xcf8/0xcfc and ECAM, BAR sizing and moves on the pio/mmio bus, the
 * write masks, capabilities, MSI-X and INTx; plus the board's view of it
 * (ECAM reserved in e820, MCFG and PCI0 in the ACPI tables), driven
 * through the buses the way a guest would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "board/acpi.h"
#include "devices/misc.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/e820.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/vm.h"

static struct vm vm;
static struct pci_bus *bus;
static int line_level[VM_NR_IRQ_LINES];

static void line_spy(void *opaque, unsigned line, int level)
{
	line_level[line] = level;
}

static void setup(uint64_t ram)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	pthread_mutex_init(&vm.halt_lock, NULL);
	pthread_cond_init(&vm.halt_cond, NULL);
	if (ram)
		CU_ASSERT_FATAL(vm_mem_init(&vm, ram) == 0);
	for (unsigned l = 16; l < 20; l++) {
		line_level[l] = -1;
		CU_ASSERT(irq_connect(&vm, l, line_spy, NULL) == 0);
	}
	bus = pci_bus_create(&vm, PCI_ECAM_BASE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bus);
}

static void teardown(void)
{
	device_destroy_all(&vm);
	bus_free(&vm.pio);
	bus_free(&vm.mmio);
	irq_free(&vm);
	vm_mem_exit(&vm);
	pthread_mutex_destroy(&vm.lock);
}

/* Mechanism #1, as a guest does it: address dword to 0xcf8, data at 0xcfc + (off & 3). */
static uint32_t cf8_read(unsigned slot, unsigned off, unsigned size)
{
	bus_write(&vm.pio, 0xcf8, 0x80000000u | slot << 11 | (off & 0xfc), 4);
	return (uint32_t)bus_read(&vm.pio, 0xcfc + (off & 3), size);
}

static void cf8_write(unsigned slot, unsigned off, uint32_t val, unsigned size)
{
	bus_write(&vm.pio, 0xcf8, 0x80000000u | slot << 11 | (off & 0xfc), 4);
	bus_write(&vm.pio, 0xcfc + (off & 3), val, size);
}

static uint64_t ecam(unsigned busnr, unsigned slot, unsigned fn, unsigned off)
{
	return PCI_ECAM_BASE + ((uint64_t)busnr << 20 | slot << 15 | fn << 12 | off);
}

static void test_config_mechanisms(void)
{
	setup(0);
	/* The host bridge, by both mechanisms and every width. */
	CU_ASSERT_EQUAL(cf8_read(0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	CU_ASSERT_EQUAL(cf8_read(0, 2, 2), PCI_HOST_DEVICE);
	CU_ASSERT_EQUAL(cf8_read(0, 3, 1), PCI_HOST_DEVICE >> 8);
	CU_ASSERT_EQUAL(cf8_read(0, 0x0a, 2), 0x0600);	/* class: host bridge */
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(0, 0, 0, 0), 4),
			PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(0, 0, 0, 2), 2), PCI_HOST_DEVICE);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(0, 0, 0, 0x0b), 1), 0x06);
	/* CONFIG_ADDRESS reads back without bits 1:0 and 30:24. */
	bus_write(&vm.pio, 0xcf8, 0xff00ff03u, 4);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcf8, 4), 0x8000ff00u);
	/* Enable bit clear: CONFIG_DATA reads all-ones. */
	bus_write(&vm.pio, 0xcf8, 0, 4);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcfc, 4), 0xffffffffu);
	/* Empty slots, other functions and other buses: all-ones, writes dropped. */
	CU_ASSERT_EQUAL(cf8_read(5, 0, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(cf8_read(31, 0, 2), 0xffff);
	bus_write(&vm.pio, 0xcf8, 0x80000100u, 4);	/* 00:00.1 */
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcfc, 4), 0xffffffffu);
	bus_write(&vm.pio, 0xcf8, 0x80010000u, 4);	/* 01:00.0 */
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcfc, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(1, 0, 0, 0), 4), 0xffffffffu);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(255, 31, 7, 0xffc), 4), 0xffffffffu);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, ecam(0, 0, 1, 0), 4), 0xffffffffu);
	/* Vendor and device ids are read-only. */
	cf8_write(0, 0, 0x12345678, 4);
	CU_ASSERT_EQUAL(cf8_read(0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	teardown();
}

static uint8_t rcr_val;
static uint64_t rcr_read(void *opaque, uint64_t off, unsigned size)
{
	return rcr_val;
}
static void rcr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	rcr_val = (uint8_t)val;
}
static const struct io_ops rcr_ops = { .read = rcr_read, .write = rcr_write };

/* A dword at 0xcf8 is CONFIG_ADDRESS, never a write to 0xcf9 (the reset control register). */
static void test_cf9_shared(void)
{
	setup(0);
	rcr_val = 0;
	pci_bus_set_port_cf9(bus, &rcr_ops, NULL);
	bus_write(&vm.pio, 0xcf8, 0x80000004u, 4);
	CU_ASSERT_EQUAL(rcr_val, 0);
	bus_write(&vm.pio, 0xcf9, 0x06, 1);
	CU_ASSERT_EQUAL(rcr_val, 0x06);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcf9, 1), 0x06);
	/* ... and the byte write did not change CONFIG_ADDRESS. */
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xcf8, 4), 0x80000004u);
	teardown();
}

static void test_bar_sizing_and_moves(void)
{
	struct pci_testdev *t;
	uint32_t bar0, bar1;

	setup(0);
	t = pci_testdev_create(&vm, bus, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(cf8_read(3, 0, 4), PCI_TESTDEV_DEVICE << 16 | PCI_TESTDEV_VENDOR);
	/* Placed by the board: memory window and I/O window, decode on. */
	bar0 = cf8_read(3, 0x10, 4);
	bar1 = cf8_read(3, 0x14, 4);
	CU_ASSERT_EQUAL(bar0, PCI_MEM_WINDOW_BASE);
	CU_ASSERT_EQUAL(bar1, PCI_IO_WINDOW_BASE | 1);
	CU_ASSERT_EQUAL(cf8_read(3, 4, 2) & 3, 3);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, bar0 + 1, 1), 1);	/* test 0's width */
	CU_ASSERT_EQUAL(bus_read(&vm.pio, PCI_IO_WINDOW_BASE + 4, 4), PCI_TESTDEV_IO_SIZE / 2);

	/* Sizing: all-ones reads back the size mask with the type bits. */
	cf8_write(3, 4, 0, 2);	/* decode off first, as Linux does */
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, bar0 + 1, 1), 0xff);	/* unmapped now */
	cf8_write(3, 0x10, 0xffffffffu, 4);
	cf8_write(3, 0x14, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cf8_read(3, 0x10, 4), ~(PCI_TESTDEV_MEM_SIZE - 1));
	CU_ASSERT_EQUAL(cf8_read(3, 0x14, 4), ~(PCI_TESTDEV_IO_SIZE - 1) | 1);
	/* No BAR2..5, no ROM: all zero even after all-ones. */
	cf8_write(3, 0x18, 0xffffffffu, 4);
	cf8_write(3, 0x30, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cf8_read(3, 0x18, 4), 0);
	CU_ASSERT_EQUAL(cf8_read(3, 0x30, 4), 0);
	/* Sizing with decode on must not map anything at the top of the space. */
	cf8_write(3, 4, 3, 2);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, 0xfffff001ull, 1), 0xff);

	/* Move both BARs (low bits are ignored); the old places go dark. */
	cf8_write(3, 0x10, 0xc0123456u, 4);
	cf8_write(3, 0x14, 0xd123u, 4);
	CU_ASSERT_EQUAL(cf8_read(3, 0x10, 4), 0xc0123000u);
	CU_ASSERT_EQUAL(cf8_read(3, 0x14, 4), 0xd101u);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, bar0 + 1, 1), 0xff);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, PCI_IO_WINDOW_BASE + 1, 1), 0xff);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, 0xc0123000u + 1, 1), 1);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xd101, 1), 1);
	/* Through the BAR: select test 2 (datamatch) on I/O, write its offset. */
	bus_write(&vm.pio, 0xd100, 2, 1);
	bus_write(&vm.pio, 0xd100 + PCI_TESTDEV_IO_SIZE / 2 + 2, 0x5, 1);
	bus_write(&vm.pio, 0xd100 + PCI_TESTDEV_IO_SIZE / 2 + 2, 0x6, 1);	/* no match */
	CU_ASSERT_EQUAL(pci_testdev_count(t, 1, 2), 1);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xd100 + 12, 4), 1);
	/* Memory decode off: only the memory BAR goes. */
	cf8_write(3, 4, PCI_COMMAND_IO, 2);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, 0xc0123001u, 1), 0xff);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xd101, 1), 1);
	/* A BAR moved onto another device (the config ports) stays unmapped, harmlessly. */
	cf8_write(3, 0x14, 0x0c00, 4);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, 0xc01, 1), 0xff);
	cf8_write(3, 0x14, 0xcf0 | 1, 4);	/* overlaps 0xcf8: refused by the bus */
	CU_ASSERT_EQUAL(cf8_read(0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);

	/* Reset: back where the firmware put them. */
	device_reset_all(&vm);
	CU_ASSERT_EQUAL(cf8_read(3, 0x10, 4), PCI_MEM_WINDOW_BASE);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, PCI_MEM_WINDOW_BASE + 1, 1), 1);
	CU_ASSERT_EQUAL(pci_testdev_count(t, 1, 2), 0);
	teardown();
}

/* A device with a 64-bit BAR, MSI-X and INTA, to poke at the rest of the API. */
struct fake {
	struct pci_device pci;
	unsigned written;
};

static uint64_t msi_addr[8];
static uint32_t msi_data[8];
static unsigned nr_msi;

static void msi_spy(void *opaque, uint64_t addr, uint32_t data)
{
	if (nr_msi < 8) {
		msi_addr[nr_msi] = addr;
		msi_data[nr_msi] = data;
	}
	nr_msi++;
}

static uint64_t zero_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x5a;
}
static void zero_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}
static const struct io_ops zero_ops = { .read = zero_read, .write = zero_write };

static void fake_written(struct pci_device *pd, unsigned off, unsigned size)
{
	container_of(pd, struct fake, pci)->written++;
}

static void fake_destroy(struct device *dev)
{
	free(container_of(dev, struct fake, pci.dev));
}

static const struct device_ops fake_ops = { .type = "fake", .destroy = fake_destroy };

static struct fake *fake_create(int slot)
{
	struct fake *f = calloc(1, sizeof(*f));

	pci_device_init(&f->pci, 0x1af4, 0x1042, 0x010000, 1, 0x1af4, 2, 1);
	pci_set_bar(&f->pci, 0, PCI_BAR_MEM64, true, 0x3000, &zero_ops, f);	/* -> 16 KiB */
	CU_ASSERT_EQUAL(pci_add_capability(&f->pci, PCI_CAP_ID_VNDR, 16), 0x40);
	CU_ASSERT_EQUAL(pci_msix_init(&f->pci, 3, 2), 0);
	f->pci.config_written = fake_written;
	CU_ASSERT_EQUAL_FATAL(pci_device_add(bus, &f->pci, slot, &fake_ops, "fake"), 0);
	return f;
}

static void test_bar64_caps(void)
{
	struct fake *f;
	unsigned cap, n = 0;

	setup(0);
	f = fake_create(2);
	/* 64-bit prefetchable, 16 KiB: lower dword has type 0xc, upper reads 0 until sized. */
	CU_ASSERT_EQUAL(cf8_read(2, 0x10, 4) & 0xf, 0xc);
	cf8_write(2, 4, 0, 2);
	cf8_write(2, 0x10, 0xffffffffu, 4);
	cf8_write(2, 0x14, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cf8_read(2, 0x10, 4), 0xffffc00cu);
	CU_ASSERT_EQUAL(cf8_read(2, 0x14, 4), 0xffffffffu);
	/* Above 4 GiB, where Linux may put it. */
	cf8_write(2, 0x10, 0x4000000cu, 4);
	cf8_write(2, 0x14, 0x10, 4);
	cf8_write(2, 4, PCI_COMMAND_MEMORY, 2);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, 0x1040000000ull, 1), 0x5a);
	CU_ASSERT(f->written > 0);
	/* Capability list: vendor-specific at 0x40, then MSI-X; the status bit says so. */
	CU_ASSERT(cf8_read(2, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (cap = cf8_read(2, PCI_CAPABILITY_LIST, 1); cap && n < 8; n++) {
		if (n == 0)
			CU_ASSERT_EQUAL(cf8_read(2, cap, 1), PCI_CAP_ID_VNDR);
		if (n == 1) {
			CU_ASSERT_EQUAL(cf8_read(2, cap, 1), PCI_CAP_ID_MSIX);
			CU_ASSERT_EQUAL(cf8_read(2, cap + 2, 2) & 0x7ff, 2);	/* 3 vectors */
			CU_ASSERT_EQUAL(cf8_read(2, cap + 4, 4), 2);	/* table: BAR2 + 0 */
			CU_ASSERT_EQUAL(cf8_read(2, cap + 8, 4), 48 | 2);	/* PBA: BAR2 + 48 */
		}
		cap = cf8_read(2, cap + 1, 1);
	}
	CU_ASSERT_EQUAL(n, 2);
	/* INTERRUPT_LINE preset to the swizzled GSI; PIN read-only. */
	CU_ASSERT_EQUAL(cf8_read(2, PCI_INTERRUPT_LINE, 1), pci_intx_gsi(2, 1));
	CU_ASSERT_EQUAL(pci_intx_gsi(2, 1), 18);
	cf8_write(2, PCI_INTERRUPT_PIN, 4, 1);
	CU_ASSERT_EQUAL(cf8_read(2, PCI_INTERRUPT_PIN, 1), 1);
	/* STATUS error bits are write-1-to-clear, the rest read-only. */
	f->pci.config[PCI_STATUS + 1] |= 0x20;	/* received master abort, say */
	cf8_write(2, PCI_STATUS, 0xffff, 2);
	CU_ASSERT_EQUAL(cf8_read(2, PCI_STATUS, 2) & 0xf900, 0);
	CU_ASSERT(cf8_read(2, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	teardown();
}

static void test_msix(void)
{
	struct fake *f;
	uint64_t tbl;
	unsigned cap;

	setup(0);
	vm_set_msi_handler(&vm, msi_spy, NULL);
	nr_msi = 0;
	f = fake_create(-1);
	CU_ASSERT_EQUAL(f->pci.slot, 1);
	cap = f->pci.msix ? 0x50 : 0;
	CU_ASSERT_EQUAL(cf8_read(1, cap, 1), PCI_CAP_ID_MSIX);
	tbl = cf8_read(1, 0x18, 4) & ~0xfull;	/* BAR2 */
	CU_ASSERT(tbl >= PCI_MEM_WINDOW_BASE && tbl < PCI_MEM_WINDOW_END);
	/* Vectors start masked; disabled MSI-X sends nothing and marks nothing. */
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 12, 4), 1);
	pci_msix_notify(&f->pci, 0);
	CU_ASSERT_EQUAL(nr_msi, 0);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 48, 8), 0);
	/* Program vector 1, enable MSI-X; still masked: pending bit. */
	bus_write(&vm.mmio, tbl + 16, 0xfee00000u, 4);
	bus_write(&vm.mmio, tbl + 20, 0, 4);
	bus_write(&vm.mmio, tbl + 24, 0x41, 4);
	cf8_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	CU_ASSERT(pci_msix_enabled(&f->pci));
	pci_msix_notify(&f->pci, 1);
	CU_ASSERT_EQUAL(nr_msi, 0);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 48, 8), 2);
	/* Unmask: the pending message goes, the bit clears. */
	bus_write(&vm.mmio, tbl + 28, 0, 4);
	CU_ASSERT_EQUAL(nr_msi, 1);
	CU_ASSERT_EQUAL(msi_addr[0], 0xfee00000u);
	CU_ASSERT_EQUAL(msi_data[0], 0x41);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 48, 8), 0);
	pci_msix_notify(&f->pci, 1);
	CU_ASSERT_EQUAL(nr_msi, 2);
	/* Function mask holds it back; clearing it delivers. */
	cf8_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	CU_ASSERT(!pci_msix_enabled(&f->pci));
	pci_msix_notify(&f->pci, 1);
	CU_ASSERT_EQUAL(nr_msi, 2);
	cf8_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	CU_ASSERT_EQUAL(nr_msi, 3);
	/* Out of range vectors and PBA writes are ignored; odd sizes too. */
	pci_msix_notify(&f->pci, 3);
	pci_msix_notify(&f->pci, ~0u);
	bus_write(&vm.mmio, tbl + 48, ~0ull, 8);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 48, 8), 0);
	bus_write(&vm.mmio, tbl + 16, 0xff, 1);
	CU_ASSERT_EQUAL(bus_read(&vm.mmio, tbl + 16, 4), 0xfee00000u);
	CU_ASSERT_EQUAL(nr_msi, 3);
	/* Table size field is read-only. */
	cf8_write(1, cap + 2, 0x07ff | PCI_MSIX_FLAGS_ENABLE, 2);
	CU_ASSERT_EQUAL(cf8_read(1, cap + 2, 2) & 0x7ff, 2);
	teardown();
}

static void test_intx(void)
{
	struct fake *a, *b;
	unsigned gsi;

	setup(0);
	/* Idle lines are driven high (active low). */
	for (unsigned l = 16; l < 20; l++)
		CU_ASSERT_EQUAL(line_level[l], 1);
	a = fake_create(3);	/* INTA of slot 3 -> GSI 19 */
	b = fake_create(7);	/* INTA of slot 7 -> GSI 16 + (7 + 0) % 4 = 19 too: shared */
	gsi = pci_intx_gsi(3, 1);
	CU_ASSERT_EQUAL(gsi, 19);
	CU_ASSERT_EQUAL(pci_intx_gsi(7, 1), 19);
	CU_ASSERT_EQUAL(pci_intx_gsi(4, 2), 17);
	pci_set_irq(&a->pci, 1);
	CU_ASSERT_EQUAL(line_level[gsi], 0);
	CU_ASSERT(cf8_read(3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_set_irq(&b->pci, 1);
	pci_set_irq(&a->pci, 0);
	CU_ASSERT_EQUAL(line_level[gsi], 0);	/* b still asserts */
	/* INTx disable takes b off the wire but leaves its status bit. */
	cf8_write(7, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	CU_ASSERT_EQUAL(line_level[gsi], 1);
	CU_ASSERT(cf8_read(7, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(7, PCI_COMMAND, 0, 2);
	CU_ASSERT_EQUAL(line_level[gsi], 0);
	pci_set_irq(&b->pci, 0);
	CU_ASSERT_EQUAL(line_level[gsi], 1);
	CU_ASSERT_EQUAL(cf8_read(7, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	/* Reset deasserts everything. */
	pci_set_irq(&a->pci, 1);
	device_reset_all(&vm);
	CU_ASSERT_EQUAL(line_level[gsi], 1);
	teardown();
}

static void test_slots(void)
{
	setup(0);
	CU_ASSERT_PTR_NULL(pci_testdev_create(&vm, bus, 0));	/* the host bridge's */
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_PTR_NULL(pci_testdev_create(&vm, bus, 32));
	for (int i = 1; i < PCI_MAX_DEVICES; i++)
		CU_ASSERT_PTR_NOT_NULL(pci_testdev_create(&vm, bus, -1));
	CU_ASSERT_PTR_NULL(pci_testdev_create(&vm, bus, -1));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	/* 31 BARs of 4 KiB and 31 of 256 ports, all distinct and decoding. */
	CU_ASSERT_EQUAL(cf8_read(31, 0x10, 4), PCI_MEM_WINDOW_BASE + 30 * 4096);
	CU_ASSERT_EQUAL(cf8_read(31, 0x14, 4), (PCI_IO_WINDOW_BASE + 30 * 256) | 1);
	CU_ASSERT_EQUAL(bus_read(&vm.pio, PCI_IO_WINDOW_BASE + 30 * 256 + 1, 1), 1);
	teardown();
}

/* The memory map and the tables a guest reads. */
static void test_board_view(void)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	const uint64_t sizes[] = { 128ull << 20, 3ull << 30, 3584ull << 20, 5ull << 30 };
	char err[256];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int n, reserved = 0;

		setup(sizes[s]);
		n = e820_build(&vm, e, E820_MAX_ENTRIES);
		CU_ASSERT_FATAL(n > 0);
		for (int i = 0; i < n; i++) {
			uint64_t end = e[i].addr + e[i].size;

			if (e[i].addr == PCI_ECAM_BASE && e[i].size == PCI_ECAM_SIZE &&
			    e[i].type == E820_RESERVED)
				reserved++;
			/* No RAM in the PCI hole, whatever the size. */
			if (e[i].type == E820_RAM)
				CU_ASSERT(end <= PCI_MEM_WINDOW_BASE || e[i].addr >= (4ull << 30));
		}
		CU_ASSERT_EQUAL(reserved, 1);
		CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, PCI_MEM_WINDOW_BASE, 1));
		CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, PCI_ECAM_BASE, 1));
		if (sizes[s] > (3ull << 30))
			CU_ASSERT_PTR_NOT_NULL(gpa_to_hva(&vm, (4ull << 30) + sizes[s] -
							       (3ull << 30) - 1, 1));

		CU_ASSERT_EQUAL_FATAL(acpi_build(&vm, 1, err, sizeof(err)), 0);
		{
			const uint8_t *xsdt = gpa_to_hva(&vm, *(uint64_t *)gpa_to_hva(&vm,
						ACPI_RSDP_ADDR + 24, 8), 36);
			uint32_t len = *(const uint32_t *)(xsdt + 4);
			const uint8_t *mcfg = NULL, *fadt = NULL, *dsdt;
			uint32_t dlen;
			int pci0 = 0, prt = 0, crs = 0;

			for (uint32_t o = 36; o + 8 <= len; o += 8) {
				const uint8_t *t = gpa_to_hva(&vm, *(const uint64_t *)(xsdt + o), 4);

				if (!memcmp(t, "MCFG", 4))
					mcfg = t;
				if (!memcmp(t, "FACP", 4))
					fadt = t;
			}
			CU_ASSERT_PTR_NOT_NULL_FATAL(mcfg);
			CU_ASSERT_EQUAL(*(const uint32_t *)(mcfg + 4), 60);
			CU_ASSERT_EQUAL(*(const uint64_t *)(mcfg + 44), PCI_ECAM_BASE);
			CU_ASSERT_EQUAL(mcfg[54], 0);
			CU_ASSERT_EQUAL(mcfg[55], 255);
			CU_ASSERT_PTR_NOT_NULL_FATAL(fadt);
			dsdt = gpa_to_hva(&vm, *(const uint32_t *)(fadt + 40), 36);
			dlen = *(const uint32_t *)(dsdt + 4);
			dsdt = gpa_to_hva(&vm, *(const uint32_t *)(fadt + 40), dlen);
			for (uint32_t i = 36; i + 4 <= dlen; i++) {
				pci0 += !memcmp(dsdt + i, "PCI0", 4);
				prt += !memcmp(dsdt + i, "_PRT", 4);
				crs += !memcmp(dsdt + i, "_CRS", 4);
			}
			CU_ASSERT_EQUAL(pci0, 1);
			CU_ASSERT_EQUAL(prt, 1);
			CU_ASSERT_EQUAL(crs, 2);	/* PCI0's and RES0's */
		}
		teardown();
	}
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "config mechanism #1 and ECAM", test_config_mechanisms },
		{ "0xcf8 dword vs 0xcf9 byte", test_cf9_shared },
		{ "BAR sizing, moves, decode, reset", test_bar_sizing_and_moves },
		{ "64-bit BAR, capabilities, masks", test_bar64_caps },
		{ "MSI-X table, masks, PBA", test_msix },
		{ "INTx swizzle, sharing, disable", test_intx },
		{ "slots and placement", test_slots },
		{ "e820 hole, MCFG, DSDT PCI0", test_board_view },
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("pci", NULL, NULL);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
