/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_E820_H
#define TANDEM_E820_H
/*
 * The board's memory map, in the BIOS e820 form. This is THE map: every
 * boot path that tells a kernel about memory (Linux's boot_params, later
 * the multiboot info) takes it from e820_build(), so the guest sees the
 * same RAM and holes whichever way it was started.
 *
 *   [0, 0x9fc00)          RAM
 *   [0x9fc00, 0xa0000)    reserved (EBDA)
 *   [0xa0000, 0xe0000)    not listed (VGA window, option ROMs)
 *   [0xe0000, 0x100000)   reserved (ACPI tables, BIOS area)
 *   [1 MiB, low RAM end)  RAM
 *   [0xe0000000, 0xf0000000)  reserved (PCI ECAM, when the board has it:
 *                         vm_mem_reserve())
 *   [4 GiB, ...)          RAM, the part of guest RAM above the PCI hole
 */
#include <stdint.h>

struct vm;

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_ACPI	3
#define E820_NVS	4

#define E820_EBDA_START		0x9fc00ull
#define E820_VGA_START		0xa0000ull
#define E820_BIOS_START		0xe0000ull
#define E820_BIOS_END		0x100000ull

/* Room for any board: two legacy holes plus each RAM region split in two. */
#define E820_MAX_ENTRIES	16

/* Host form; Linux's boot_params packs the same fields into 20 bytes. */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * Fill @out with the map of @vm's RAM, sorted by address, entries never
 * overlapping. Returns the number of entries, or -ENOSPC when @max is too
 * small (nothing useful is left in @out then).
 */
int e820_build(struct vm *vm, struct e820_entry *out, unsigned max);

#endif
