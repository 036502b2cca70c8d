// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gdbtarget: what tests/gdb.sh debugs. Built with debug info (-g) and
 * kept as the ELF64 gdbtarget.sym next to the loadable ELF32, so gdb has
 * symbols and line numbers. The values are fixed: gdb.sh checks them
 * (and changes some) at the breakpoints.
 */
#include "guest.h"

const char guest_name[] = "gdbtarget";

volatile uint64_t gdb_counter;
volatile uint32_t gdb_watched = 0x1234;
volatile uint64_t gdb_poked = 7;	/* gdb.sh writes 42 here */

uint64_t __attribute__((noinline)) gdb_triple(uint64_t x)
{
	return x * 3 + 1;
}

void __attribute__((noinline)) gdb_break_here(void)
{
	gdb_counter++;
	barrier();
}

void guest_main(void)
{
	guest_printf("gdbtarget: start\n");
	gdb_break_here();
	gdb_watched = (uint32_t)gdb_triple(gdb_counter + 4);	/* 16 */
	gdb_watched += 0x100;
	guest_printf("gdbtarget: counter=%u watched=%#x poked=%u\n", (unsigned)gdb_counter,
		     (unsigned)gdb_watched, (unsigned)gdb_poked);
}
