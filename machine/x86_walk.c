// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest page walks for the VMM (machine/x86_walk.h). */
#include <errno.h>
#include <string.h>

#include "machine/memory.h"
#include "machine/x86_walk.h"

#define PTE_P		(1ull << 0)
#define PTE_PS		(1ull << 7)
#define ADDR_MASK	0x000ffffffffff000ull	/* 52-bit physical addresses */
#define X86_CR4_LA57	(1ull << 12)

static int load(struct vm *vm, uint64_t gpa, unsigned size, uint64_t *e)
{
	const void *p = gpa_to_hva(vm, gpa, size);
	uint32_t v32;

	if (!p)
		return -EFAULT;
	if (size == 4) {
		memcpy(&v32, p, 4);
		*e = v32;
	} else {
		memcpy(e, p, 8);
	}
	return 0;
}

/* A leaf of 2^@shift bytes at @base (already masked to the page). */
static int leaf(uint64_t base, unsigned shift, uint64_t la, uint64_t *gpa, uint64_t *room)
{
	uint64_t off = la & ((1ull << shift) - 1);

	*gpa = base + off;
	*room = (1ull << shift) - off;
	return 0;
}

int x86_walk(struct vm *vm, const struct x86_state *st, uint64_t la, uint64_t *gpa,
	     uint64_t *room)
{
	uint64_t e, table;
	int levels;

	if (!(st->cr0 & X86_CR0_PG) || !(st->cr0 & X86_CR0_PE)) {
		la &= 0xffffffff;
		return leaf(la & ~0xfffull, 12, la, gpa, room);
	}
	if (st->efer & X86_EFER_LMA) {
		levels = (st->cr4 & X86_CR4_LA57) ? 5 : 4;
		table = st->cr3 & ADDR_MASK;
	} else if (st->cr4 & X86_CR4_PAE) {
		la &= 0xffffffff;
		/* The PDPTE: 32-byte aligned table of four at CR3. */
		if (load(vm, (st->cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8, 8, &e) ||
		    !(e & PTE_P))
			return -EFAULT;
		table = e & ADDR_MASK;
		levels = 2;
	} else {
		la &= 0xffffffff;
		if (load(vm, (st->cr3 & 0xfffff000ull) + ((la >> 22) & 0x3ff) * 4, 4, &e) ||
		    !(e & PTE_P))
			return -EFAULT;
		if ((e & PTE_PS) && (st->cr4 & X86_CR4_PSE))	/* 4 MiB, PSE-36 bits 13-20 */
			return leaf((e & 0xffc00000ull) | ((e & 0x1fe000ull) << 19), 22, la, gpa,
				    room);
		if (load(vm, (e & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4, 4, &e) ||
		    !(e & PTE_P))
			return -EFAULT;
		return leaf(e & 0xfffff000ull, 12, la, gpa, room);
	}
	for (int lvl = levels - 1; lvl >= 0; lvl--) {
		unsigned shift = 12 + 9 * (unsigned)lvl;

		if (load(vm, table + ((la >> shift) & 511) * 8, 8, &e) || !(e & PTE_P))
			return -EFAULT;
		/* 1 GiB at the PDPT, 2 MiB at the PD; bit 12 there is PAT, not address. */
		if ((lvl == 1 || lvl == 2) && (e & PTE_PS))
			return leaf(e & ADDR_MASK & ~((1ull << shift) - 1), shift, la, gpa, room);
		table = e & ADDR_MASK;
	}
	return leaf(table, 12, la, gpa, room);
}
