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

struct vm_board;

extern const struct vm_board pc_board;

/* The built-in demo guest (tests/guests/demo.elf, linked into the binary). */
extern const unsigned char demo_guest[];
extern const unsigned char demo_guest_end[];

#endif
