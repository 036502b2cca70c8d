/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_X86_WALK_H
#define TANDEM_MACHINE_X86_WALK_H
/*
 * A guest page walk from the VMM's side (the debugger's memory access):
 * linear address to guest-physical, through the paging structures that
 * @st's CR0/CR3/CR4/EFER select -- 4- or 5-level, PAE, 32-bit (with PSE
 * and PSE-36), or none. Reads the tables from guest RAM only, through the
 * checked helper; sets no accessed or dirty bits and checks no
 * permissions (a debugger may read what the guest may not).
 */
#include <stdint.h>

#include "machine/x86_state.h"

struct vm;

/*
 * 0 with *@gpa, and in *@room the bytes left in the page from there; or
 * -EFAULT: not mapped, or a paging structure outside guest RAM.
 */
int x86_walk(struct vm *vm, const struct x86_state *st, uint64_t la, uint64_t *gpa,
	     uint64_t *room);

/*
 * Every present leaf of the guest's page tables, in linear-address order:
 * @fn(@opaque, la, entry, size) with the canonical linear address, the
 * leaf entry as the guest wrote it (flags and frame) and the page size.
 * Stops after @max leaves (the guest may map one table everywhere) or
 * when @fn returns non-zero. Returns the number of leaves visited, or
 * -ENOENT when paging is off.
 */
typedef int (*x86_walk_fn)(void *opaque, uint64_t la, uint64_t entry, uint64_t size);
long x86_walk_each(struct vm *vm, const struct x86_state *st, x86_walk_fn fn, void *opaque,
		   long max);

#endif
