// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pc board: the device table, walked by board_create(), and the boot
 * image. Ports and IRQ lines are the PC's; where a choice exists we take
 * QEMU's, so test kernels written for QEMU run unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/misc.h"
#include "devices/rtc.h"
#include "devices/uart8250.h"
#include "machine/board.h"
#include "machine/chardev.h"
#include "machine/loader.h"
#include "machine/vm.h"

/*
 * One row per device: where it sits and how to make, reset and free it.
 * The wrappers adapt each device's typed constructor to the table.
 */
struct board_dev {
	const char *name;
	uint16_t port;
	int irq;
	void *(*create)(struct vm *vm, const struct board_dev *d);
	void (*reset)(void *dev);
	void (*destroy)(void *dev);
};

#define DEV_HOOKS(prefix, type)						\
	static void prefix##_reset_hook(void *d) { prefix##_reset((struct type *)d); }	\
	static void prefix##_destroy_hook(void *d) { prefix##_destroy((struct type *)d); }

DEV_HOOKS(i8259, i8259)
DEV_HOOKS(i8254, i8254)
DEV_HOOKS(rtc, rtc)
DEV_HOOKS(i8042, i8042)
DEV_HOOKS(uart8250, uart8250)
DEV_HOOKS(misc_post, misc_post)
DEV_HOOKS(misc_acpi_pm, misc_acpi_pm)
DEV_HOOKS(misc_port92, misc_port92)
DEV_HOOKS(misc_rcr, misc_rcr)
DEV_HOOKS(lapic, lapic)
DEV_HOOKS(ioapic, ioapic)

static void debug_exit_destroy_hook(void *d)
{
	misc_debug_exit_destroy(d);
}

static void fw_cfg_destroy_hook(void *d)
{
	fw_cfg_destroy(d);
}

static void *create_pic(struct vm *vm, const struct board_dev *d)
{
	return i8259_create(vm);
}

/*
 * The interrupt controllers, in the order they wrap each other: the PIC
 * pair, the local APIC that takes the CPU's INTR from it (LINT0, virtual
 * wire until the guest enables the APIC), the I/O APIC that sends the ISA
 * lines to the local APIC. Rows 0-2 of pc_devices[]; the ACPI MADT
 * (machine/acpi.c) describes the same addresses and IRQ 0 -> pin 2.
 */
enum { ROW_PIC, ROW_LAPIC, ROW_IOAPIC };

static void *board_row(struct vm *vm, unsigned row);

static void *create_lapic(struct vm *vm, const struct board_dev *d)
{
	/* One local APIC per vCPU, ids 0..smp-1, as the MADT says. */
	return lapic_create(vm, vm->cfg.smp, board_row(vm, ROW_PIC));
}

static void *create_ioapic(struct vm *vm, const struct board_dev *d)
{
	unsigned isa_to_gsi[IOAPIC_NR_ISA_IRQS];

	for (unsigned i = 0; i < IOAPIC_NR_ISA_IRQS; i++)
		isa_to_gsi[i] = i;
	isa_to_gsi[0] = 2;
	isa_to_gsi[2] = IOAPIC_NO_PIN;
	/* The first id after the CPUs', as the MADT says. */
	return ioapic_create(vm, IOAPIC_DEFAULT_BASE, (uint8_t)vm->cfg.smp, isa_to_gsi,
			     board_row(vm, ROW_LAPIC));
}

static void *create_rcr(struct vm *vm, const struct board_dev *d)
{
	return misc_rcr_create(vm, d->port);
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
static const struct board_dev pc_devices[] = {
	{ "i8259 PIC pair", 0x20, -1, create_pic, i8259_reset_hook, i8259_destroy_hook },
	{ "local APIC", 0, -1, create_lapic, lapic_reset_hook, lapic_destroy_hook },
	{ "I/O APIC", 0, -1, create_ioapic, ioapic_reset_hook, ioapic_destroy_hook },
	{ "i8254 PIT", 0x40, 0, create_pit, i8254_reset_hook, i8254_destroy_hook },
	{ "mc146818 RTC", 0x70, 8, create_rtc, rtc_reset_hook, rtc_destroy_hook },
	{ "i8042", 0x60, 1, create_kbc, i8042_reset_hook, i8042_destroy_hook },
	{ "isa-debug-exit", 0xf4, -1, create_debug_exit, NULL, debug_exit_destroy_hook },
	{ "POST port", 0x80, -1, create_post, misc_post_reset_hook, misc_post_destroy_hook },
	{ "port 92", 0x92, -1, create_port92, misc_port92_reset_hook, misc_port92_destroy_hook },
	{ "ACPI PM", 0x600, -1, create_acpi_pm, misc_acpi_pm_reset_hook,
	  misc_acpi_pm_destroy_hook },
	{ "reset control", 0xcf9, -1, create_rcr, misc_rcr_reset_hook, misc_rcr_destroy_hook },
	{ "fw_cfg", 0x510, -1, create_fw_cfg, NULL, fw_cfg_destroy_hook },
	{ "16550A UART (COM1)", 0x3f8, 4, create_com1, uart8250_reset_hook,
	  uart8250_destroy_hook },
};
#define NR_PC_DEVICES (sizeof(pc_devices) / sizeof(pc_devices[0]))

struct pc_board {
	void *dev[NR_PC_DEVICES];
};

static void *board_row(struct vm *vm, unsigned row)
{
	struct pc_board *b = vm->board;

	return b->dev[row];
}

int board_create(struct vm *vm, char *err, size_t errlen)
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
	return 0;
}

void board_reset(struct vm *vm)
{
	struct pc_board *b = vm->board;

	for (size_t i = 0; i < NR_PC_DEVICES; i++)
		if (b->dev[i] && pc_devices[i].reset)
			pc_devices[i].reset(b->dev[i]);
}

int board_load(struct vm *vm, char *err, size_t errlen)
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

void board_destroy(struct vm *vm)
{
	struct pc_board *b = vm->board;

	if (!b)
		return;
	for (size_t i = NR_PC_DEVICES; i-- > 0;)
		if (b->dev[i])
			pc_devices[i].destroy(b->dev[i]);
	if (vm->serial)
		chardev_close(vm->serial);
	vm->serial = NULL;
	free(b);
	vm->board = NULL;
}
