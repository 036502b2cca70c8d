/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BOARD_BOARD_H
#define TANDEM_BOARD_BOARD_H
/*
 * Boards: machines composed on top of the core (machine/). A board is a
 * struct vm_board (machine/vm.h) that vm_create() runs: it creates the
 * devices, wires their interrupt lines, writes the firmware tables and
 * loads the boot image. The core never names a device; the board never
 * runs a vCPU.
 *
 * pc_board: the PC (board/pc.c): 8259 pair, local and I/O APIC, PIT,
 * RTC, i8042 reset line, COM1, fw_cfg, the ACPI PM block, QEMU's
 * isa-debug-exit, and the tables of board/acpi.h.
 */
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_board;

extern const struct vm_board pc_board;

/*
 * -device NAME[,KEY=VALUE...]: the board's table of optional devices
 * (board/devices.c). The command line queues each spec with
 * board_device_queue() (the name is checked there); pc_board creates them
 * in order after its fixed devices, calling the row's create() with what
 * followed "NAME," ("" when nothing did).
 *
 * To add a device type: write
 *	static int create_foo(struct vm *vm, const char *opts, char *why, size_t len)
 * which parses @opts with board_opts_parse() (it refuses keys the device
 * does not take), creates the device and returns 0, or -errno with one
 * line in @why; then add one row { "foo", "what it is, its keys", create_foo }
 * to board_device_types[] in board/devices.c.
 */
struct board_device_type {
	const char *name;
	const char *help;
	int (*create)(struct vm *vm, const char *opts, char *why, size_t len);
};

/* 0 queued; 1 "help" listed the types on stdout; -EINVAL with one line in @why. */
int board_device_queue(const char *spec, char *why, size_t len);
/* Create the queued devices on @vm (the board does, after its own). */
int board_devices_create(struct vm *vm, char *why, size_t len);
void board_devices_clear(void);

#define BOARD_MAX_OPTS	16
struct board_opts {
	char buf[256];
	const char *key[BOARD_MAX_OPTS], *val[BOARD_MAX_OPTS];
	unsigned n;
};
/*
 * Split @opts ("k=v,k=v") for device @dev; every key must be one of
 * @keys (NULL-terminated). 0, or -EINVAL with one line in @why naming
 * the keys @dev takes.
 */
int board_opts_parse(struct board_opts *o, const char *dev, const char *opts,
		     const char *const keys[], char *why, size_t len);
/* The value of @key, NULL if not given ("" for a bare key). */
const char *board_opt(const struct board_opts *o, const char *key);
/* @key as a number (C syntax), @def when absent; -EINVAL with a line if not a number. */
int board_opt_u64(const struct board_opts *o, const char *dev, const char *key, uint64_t def,
		  uint64_t *out, char *why, size_t len);
/* QEMU's addr=SLOT[.FN] for a PCI device: the slot, or -1 when absent (first free). */
int board_opt_pci_slot(const struct board_opts *o, const char *dev, int *slot, char *why,
		       size_t len);

/* The built-in demo guest (tests/guests/demo.elf, linked into the binary). */
extern const unsigned char demo_guest[];
extern const unsigned char demo_guest_end[];

#endif
