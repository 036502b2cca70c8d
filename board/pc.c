// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pc board: the device table, walked by pc_create(), the ACPI tables
 * and the boot image. Ports and IRQ lines are the PC's; where a choice
 * exists we take QEMU's, so test kernels written for QEMU run unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "board/acpi.h"
#include "board/board.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/misc.h"
#include "devices/pci.h"
#include "devices/rtc.h"
#include "devices/uart8250.h"
#include "machine/chardev.h"
#include "machine/device.h"
#include "machine/loader.h"
#include "machine/vm.h"

/*
 * One row per device: where it sits and how to make it. Each constructor
 * registers its device with the VM (machine/device.h), which resets and
 * destroys it from then on; the board only keeps the pointers it wires
 * other devices to.
 */
struct board_dev {
	const char *name;
	uint16_t port;
	int irq;
	void *(*create)(struct vm *vm, const struct board_dev *d);
};

static void *create_pic(struct vm *vm, const struct board_dev *d)
{
	return i8259_create(vm);
}

/*
 * The interrupt controllers, in the order they wrap each other: the PIC
 * pair, the local APIC that takes the CPU's INTR from it (LINT0, virtual
 * wire until the guest enables the APIC), the I/O APIC that sends the ISA
 * lines to the local APIC. The ACPI MADT (board/acpi.c) describes the
 * same addresses and IRQ 0 -> pin 2. Rows are created in this order.
 */
enum {
	ROW_PIC, ROW_LAPIC, ROW_IOAPIC, ROW_PIT, ROW_RTC, ROW_KBC, ROW_DEBUG_EXIT, ROW_POST,
	ROW_PORT92, ROW_ACPI_PM, ROW_RCR, ROW_PCI, ROW_FW_CFG, ROW_COM1, NR_PC_DEVICES
};

static void *board_row(struct vm *vm, unsigned row);

/*
 * MSI/MSI-X messages (vm_msi_send()) to the one local APIC: address
 * 0xfeeXXXXX with the destination in bits 19:12 and logical mode in bit
 * 2; data: vector in 7:0, delivery mode in 10:8, level trigger in bit 15.
 */
static void pc_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct lapic *l = opaque;

	if (!lapic_match_dest(l, (uint8_t)(addr >> 12), addr & 4))
		return;
	lapic_deliver(l, (data >> 8) & 7, (uint8_t)data, data & (1u << 15));
}

static void *create_lapic(struct vm *vm, const struct board_dev *d)
{
	struct lapic *l = lapic_create(vm, 0, board_row(vm, ROW_PIC));

	if (l)
		vm_set_msi_handler(vm, pc_msi, l);
	return l;
}

static void *create_ioapic(struct vm *vm, const struct board_dev *d)
{
	unsigned isa_to_gsi[IOAPIC_NR_ISA_IRQS];

	for (unsigned i = 0; i < IOAPIC_NR_ISA_IRQS; i++)
		isa_to_gsi[i] = i;
	isa_to_gsi[0] = 2;
	isa_to_gsi[2] = IOAPIC_NO_PIN;
	/* Id 1: after the one CPU's, as the MADT says. */
	return ioapic_create(vm, IOAPIC_DEFAULT_BASE, 1, isa_to_gsi, board_row(vm, ROW_LAPIC));
}

/* Port 0: the PCI host bridge's 0xcf8-0xcff range passes byte 0xcf9 on to it. */
static void *create_rcr(struct vm *vm, const struct board_dev *d)
{
	return misc_rcr_create(vm, 0);
}

/* Bus 0 with the host bridge; layout in devices/pci.h, described by board/acpi.c. */
static void *create_pci(struct vm *vm, const struct board_dev *d)
{
	struct pci_bus *bus = pci_bus_create(vm, PCI_ECAM_BASE);

	if (bus)
		pci_bus_set_port_cf9(bus, misc_rcr_io_ops(), board_row(vm, ROW_RCR));
	return bus;
}

static void *create_pit(struct vm *vm, const struct board_dev *d)
{
	return i8254_create(vm, d->port, (unsigned)d->irq);
}

static void *create_rtc(struct vm *vm, const struct board_dev *d)
{
	return rtc_create(vm, d->port, (unsigned)d->irq);
}

static void *create_kbc(struct vm *vm, const struct board_dev *d)
{
	return i8042_create(vm, d->port, d->port + 4, (unsigned)d->irq);
}

static void *create_debug_exit(struct vm *vm, const struct board_dev *d)
{
	return misc_debug_exit_create(vm, d->port, 4);
}

static void *create_post(struct vm *vm, const struct board_dev *d)
{
	return misc_post_create(vm, d->port);
}

static void *create_acpi_pm(struct vm *vm, const struct board_dev *d)
{
	return misc_acpi_pm_create(vm, d->port);
}

static void *create_port92(struct vm *vm, const struct board_dev *d)
{
	return misc_port92_create(vm, d->port);
}

static void *create_fw_cfg(struct vm *vm, const struct board_dev *d)
{
	return fw_cfg_create(vm, vm->cfg.append ? vm->cfg.append : "", vm->cfg.ram_size,
			     vm->cfg.smp);
}

static void *create_com1(struct vm *vm, const struct board_dev *d)
{
	return uart8250_create(vm, d->port, (unsigned)d->irq, vm->serial);
}

/* The interrupt controller comes first: the others connect to its lines. */
static const struct board_dev pc_devices[NR_PC_DEVICES] = {
	[ROW_PIC] = { "i8259 PIC pair", 0x20, -1, create_pic },
	[ROW_LAPIC] = { "local APIC", 0, -1, create_lapic },
	[ROW_IOAPIC] = { "I/O APIC", 0, -1, create_ioapic },
	[ROW_PIT] = { "i8254 PIT", 0x40, 0, create_pit },
	[ROW_RTC] = { "mc146818 RTC", 0x70, 8, create_rtc },
	[ROW_KBC] = { "i8042", 0x60, 1, create_kbc },
	[ROW_DEBUG_EXIT] = { "isa-debug-exit", 0xf4, -1, create_debug_exit },
	[ROW_POST] = { "POST port", 0x80, -1, create_post },
	[ROW_PORT92] = { "port 92", 0x92, -1, create_port92 },
	[ROW_ACPI_PM] = { "ACPI PM", 0x600, -1, create_acpi_pm },
	[ROW_RCR] = { "reset control", 0xcf9, -1, create_rcr },
	[ROW_PCI] = { "PCI host bridge", 0xcf8, -1, create_pci },
	[ROW_FW_CFG] = { "fw_cfg", 0x510, -1, create_fw_cfg },
	[ROW_COM1] = { "16550A UART (COM1)", 0x3f8, 4, create_com1 },
};

struct pc_board {
	void *dev[NR_PC_DEVICES];
};

static void *board_row(struct vm *vm, unsigned row)
{
	struct pc_board *b = vm->board;

	return b->dev[row];
}

static int pc_create(struct vm *vm, char *err, size_t errlen)
{
	struct pc_board *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	vm->board = b;
	vm->serial = chardev_open(vm, vm->cfg.serial, err, errlen);
	if (!vm->serial)
		return -EINVAL;
	for (size_t i = 0; i < NR_PC_DEVICES; i++) {
		b->dev[i] = pc_devices[i].create(vm, &pc_devices[i]);
		if (!b->dev[i]) {
			snprintf(err, errlen, "cannot create %s at port %#x", pc_devices[i].name,
				 pc_devices[i].port);
			return -ENOMEM;
		}
	}
	/* -device: after the fixed devices, in command-line order. */
	return board_devices_create(vm, err, errlen);
}

static int pc_load(struct vm *vm, char *err, size_t errlen)
{
	struct loader_args a = {
		.kernel = vm->cfg.kernel,
		.cmdline = vm->cfg.append,
		.initrd = vm->cfg.initrd,
	};

	if (!a.kernel) {
		a.image = demo_guest;
		a.image_size = (size_t)(demo_guest_end - demo_guest);
	}
	return loader_load(vm, &a, &vm->boot, err, errlen);
}

static void pc_destroy(struct vm *vm)
{
	struct pc_board *b = vm->board;

	/* The devices went first (device_destroy_all()): nothing reads the chardev now. */
	if (!b)
		return;
	if (vm->serial)
		chardev_close(vm->serial);
	vm->serial = NULL;
	free(b);
	vm->board = NULL;
}

/* The ACPI tables, for the loaders (vm_firmware_tables()). */
static int pc_firmware_tables(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen)
{
	int ret = acpi_build(vm, vm->cfg.smp ? vm->cfg.smp : 1, err, errlen);

	*rsdp = ret ? 0 : ACPI_RSDP_ADDR;
	return ret;
}

const struct vm_board pc_board = {
	.name = "pc",
	.create = pc_create,
	.load = pc_load,
	.destroy = pc_destroy,
	.firmware_tables = pc_firmware_tables,
};
