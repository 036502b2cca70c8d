// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest page walks for the VMM (machine/x86_walk.h). */
#include <errno.h>
#include <stdbool.h>
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

/* ---- every mapping (the monitor's `info tlb`) ---- */

struct walk_each {
	struct vm *vm;
	x86_walk_fn fn;
	void *opaque;
	long n, max;
	bool la57;
	bool stop;
};

static uint64_t canonical(uint64_t la, bool la57)
{
	unsigned top = la57 ? 56 : 47;

	return (la & (1ull << top)) ? la | ~((1ull << (top + 1)) - 1) : la;
}

static void visit(struct walk_each *w, uint64_t la, uint64_t e, uint64_t size)
{
	if (w->stop)
		return;
	if (w->n >= w->max || w->fn(w->opaque, canonical(la, w->la57), e, size)) {
		w->stop = true;
		return;
	}
	w->n++;
}

/* A table of 512 eight-byte entries at @table, level @lvl (0: page table), for @la's prefix. */
static void each_table64(struct walk_each *w, uint64_t table, int lvl, uint64_t la)
{
	unsigned shift = 12 + 9 * (unsigned)lvl;

	for (unsigned i = 0; i < 512 && !w->stop; i++) {
		uint64_t e, a = la | ((uint64_t)i << shift);

		if (load(w->vm, table + i * 8, 8, &e) || !(e & PTE_P))
			continue;
		if (!lvl || ((lvl == 1 || lvl == 2) && (e & PTE_PS)))
			visit(w, a, e, 1ull << shift);
		else
			each_table64(w, e & ADDR_MASK, lvl - 1, a);
	}
}

long x86_walk_each(struct vm *vm, const struct x86_state *st, x86_walk_fn fn, void *opaque,
		   long max)
{
	struct walk_each w = { .vm = vm, .fn = fn, .opaque = opaque, .max = max };
	uint64_t e;

	if (!(st->cr0 & X86_CR0_PG) || !(st->cr0 & X86_CR0_PE))
		return -ENOENT;
	if (st->efer & X86_EFER_LMA) {
		w.la57 = st->cr4 & X86_CR4_LA57;
		each_table64(&w, st->cr3 & ADDR_MASK, w.la57 ? 4 : 3, 0);
	} else if (st->cr4 & X86_CR4_PAE) {
		for (unsigned i = 0; i < 4 && !w.stop; i++)
			if (!load(vm, (st->cr3 & 0xffffffe0ull) + i * 8, 8, &e) && (e & PTE_P))
				each_table64(&w, e & ADDR_MASK, 1, (uint64_t)i << 30);
	} else {
		for (unsigned i = 0; i < 1024 && !w.stop; i++) {
			uint64_t pde, pte, table;

			if (load(vm, (st->cr3 & 0xfffff000ull) + i * 4, 4, &pde) || !(pde & PTE_P))
				continue;
			if ((pde & PTE_PS) && (st->cr4 & X86_CR4_PSE)) {
				visit(&w, (uint64_t)i << 22, pde, 1ull << 22);
				continue;
			}
			table = pde & 0xfffff000ull;
			for (unsigned j = 0; j < 1024 && !w.stop; j++)
				if (!load(vm, table + j * 4, 4, &pte) && (pte & PTE_P))
					visit(&w, ((uint64_t)i << 22) | ((uint64_t)j << 12), pte,
					      4096);
		}
	}
	return w.n;
}
