// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The e820 memory map of the pc board (layout in machine/e820.h). Built
 * from vm->ram[] each time, so it can never disagree with the RAM the
 * engines actually map.
 */
#include <errno.h>
#include <stdbool.h>

#include "machine/e820.h"
#include "machine/memory.h"
#include "machine/vm.h"

struct e820_map {
	struct e820_entry *e;
	unsigned nr, max;
	bool full;
};

static void map_add(struct e820_map *m, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start)
		return;
	if (m->nr >= m->max) {
		m->full = true;
		return;
	}
	m->e[m->nr].addr = start;
	m->e[m->nr].size = end - start;
	m->e[m->nr].type = type;
	m->nr++;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int e820_build(struct vm *vm, struct e820_entry *out, unsigned max)
{
	struct e820_map m = { .e = out, .max = max };

	/*
	 * Each RAM region minus the legacy window [0x9fc00, 1 MiB): the
	 * part below it and the part above it. Regions never overlap
	 * (memory.h), so neither do the entries.
	 */
	for (unsigned i = 0; i < vm->nr_ram && i < VM_MAX_RAM_REGIONS; i++) {
		uint64_t s = vm->ram[i].gpa, e = s + vm->ram[i].size;

		map_add(&m, s, min64(e, E820_EBDA_START), E820_RAM);
		map_add(&m, max64(s, E820_BIOS_END), e, E820_RAM);
	}
	map_add(&m, E820_EBDA_START, E820_VGA_START, E820_RESERVED);
	map_add(&m, E820_BIOS_START, E820_BIOS_END, E820_RESERVED);
	/* The board's MMIO that no OS may use for anything else (ECAM). */
	for (unsigned i = 0; i < vm->nr_mem_reserved && i < VM_MAX_MEM_RESERVED; i++)
		map_add(&m, vm->mem_reserved[i].gpa,
			vm->mem_reserved[i].gpa + vm->mem_reserved[i].size, E820_RESERVED);
	if (m.full)
		return -ENOSPC;

	/* Insertion sort: a handful of entries, and kernels want them ascending. */
	for (unsigned i = 1; i < m.nr; i++) {
		struct e820_entry t = out[i];
		unsigned j = i;

		for (; j > 0 && out[j - 1].addr > t.addr; j--)
			out[j] = out[j - 1];
		out[j] = t;
	}
	return (int)m.nr;
}
