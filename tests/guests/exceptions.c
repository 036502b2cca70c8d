// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * exceptions: raise each common exception from 64-bit ring 0, check it is
 * delivered through the IDT with the right vector, error code, saved RIP
 * (and CR2 for #PF), and that execution resumes after it.
 */
#include "guest.h"

const char guest_name[] = "exceptions";

#define NONCANONICAL	0x8000000000000000ull
#define UNMAPPED	0x140000000ull	/* 5 GiB: PDPT[5] is not present */
#define RO_REGION	0x600000ull	/* 2 MiB page made read-only below */

/* The fault was reported at the instruction under test. */
static bool at_start(void)
{
	return trap_last.rip == trap_last.start;
}

/* The trap was reported after the instruction under test. */
static bool after_insn(void)
{
	return trap_last.rip == trap_last.fixup;
}

static void test_de(void)
{
	uint32_t lo = 1234, hi = 0, zero = 0;
	uint64_t v;

	v = TRAP_TRY("divl %2", : "+a"(lo), "+d"(hi) : "r"(zero));
	check(v == 0 && trap_last.error_code == 0 && at_start(), "#DE: div by zero");

	lo = 0x80000000u;
	hi = 0xffffffffu;
	v = TRAP_TRY("idivl %2", : "+a"(lo), "+d"(hi) : "r"(-1));
	check(v == 0 && at_start(), "#DE: idiv INT_MIN / -1 overflow");
}

static void test_db(void)
{
	uint64_t dr6;
	uint64_t v;

	asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
	v = TRAP_TRY("pushfq; orq $0x100, (%%rsp); popfq; nop", : : : "memory");
	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	check(v == 1 && after_insn() && (dr6 & (1u << 14)),
	      "#DB: RFLAGS.TF single-steps one insn after POPF, DR6.BS set");
}

static void test_bp(void)
{
	uint64_t v;

	v = TRAP_TRY("int3");
	check(v == 3 && after_insn(), "#BP: int3, saved RIP is after the int3");
	v = TRAP_TRY(".byte 0xcd, 0x03");	/* as emits CC for "int $3" */
	check(v == 3 && after_insn(), "#BP: int $3 (CD 03), saved RIP is after it");
}

static void test_ud(void)
{
	uint64_t v;

	v = TRAP_TRY("ud2");
	check(v == 6 && at_start(), "#UD: ud2");
	v = TRAP_TRY(".byte 0xce");
	check(v == 6 && at_start(), "#UD: opcode 0xce (INTO) is invalid in 64-bit mode");
	v = TRAP_TRY(".byte 0xf0, 0x01, 0xd8");
	check(v == 6 && at_start(), "#UD: LOCK prefix on a register-destination add");
}

static void test_nm(void)
{
	uint64_t v;

	write_cr0(read_cr0() | CR0_TS);
	v = TRAP_TRY("fninit");
	asm volatile("clts");
	check(v == 7 && at_start(), "#NM: x87 insn with CR0.TS=1");
	v = TRAP_TRY("fninit");
	check(v == TRAP_NONE, "x87 insn after CLTS runs");
}

static void test_segments(void)
{
	uint16_t sel, ds;
	uint64_t v;

	sel = SEL_PAST_LIMIT;
	v = TRAP_TRY("movw %0, %%ds", : : "r"(sel));
	check(v == 13 && trap_last.error_code == SEL_PAST_LIMIT && at_start(),
	      "#GP(0x%x): load DS with a selector past the GDT limit", SEL_PAST_LIMIT);

	sel = SEL_NOTPRESENT;
	v = TRAP_TRY("movw %0, %%ds", : : "r"(sel));
	check(v == 11 && trap_last.error_code == SEL_NOTPRESENT && at_start(),
	      "#NP(0x%x): load DS with a not-present descriptor", SEL_NOTPRESENT);

	asm volatile("movw %%ds, %0" : "=r"(ds));
	check(ds == SEL_DATA, "DS unchanged after the faulting loads");
}

static void test_gp(void)
{
	uint64_t p = NONCANONICAL, val = 0;
	uint64_t v;

	v = TRAP_TRY("movq (%1), %0", : "=r"(val) : "r"(p));
	check(v == 13 && trap_last.error_code == 0 && at_start(),
	      "#GP(0): read from a non-canonical address");
	v = TRAP_TRY("movq %0, (%1)", : : "r"(val), "r"(p) : "memory");
	check(v == 13 && trap_last.error_code == 0 && at_start(),
	      "#GP(0): write to a non-canonical address");
}

static void test_pf(void)
{
	volatile uint64_t *un = (volatile uint64_t *)(UNMAPPED + 0x238);
	volatile uint64_t *ro = (volatile uint64_t *)(RO_REGION + 0x10);
	uint64_t val = 0, v;

	v = TRAP_TRY("movq (%1), %0", : "=r"(val) : "r"(un));
	check(v == 14 && trap_last.error_code == 0 && trap_last.cr2 == (uintptr_t)un &&
	      at_start(), "#PF: read of a not-present page, error 0, CR2");
	v = TRAP_TRY("movq %0, (%1)", : : "r"(val), "r"(un) : "memory");
	check(v == 14 && trap_last.error_code == 2 && trap_last.cr2 == (uintptr_t)un &&
	      at_start(), "#PF: write to a not-present page, error W, CR2");

	/* PDE 3 maps 6..8 MiB: drop its RW bit, keep CR0.WP=1 (set at boot). */
	guest_pd[3] &= ~PTE_RW;
	invlpg(ro);
	*ro;	/* reads still work */
	v = TRAP_TRY("movq %0, (%1)", : : "r"(val), "r"(ro) : "memory");
	check(v == 14 && trap_last.error_code == 3 && trap_last.cr2 == (uintptr_t)ro &&
	      at_start(), "#PF: write to a read-only page (CR0.WP=1), error P|W, CR2");
	guest_pd[3] |= PTE_RW;
	invlpg(ro);
	v = TRAP_TRY("movq %0, (%1)", : : "r"(val), "r"(ro) : "memory");
	check(v == TRAP_NONE, "write succeeds once RW is back and the TLB entry flushed");
}

static void test_soft_int(void)
{
	uint64_t v;

	v = TRAP_TRY("int $0x40");
	check(v == 0x40 && after_insn(), "int $0x40 goes through IDT vector 0x40");
	v = TRAP_TRY("int $0xff");
	check(v == 0xff && after_insn(), "int $0xff goes through IDT vector 0xff");
}

void guest_main(void)
{
	uint64_t before = trap_count;

	test_de();
	test_db();
	test_bp();
	test_ud();
	test_nm();
	test_segments();
	test_gp();
	test_pf();
	test_soft_int();
	check(trap_count - before == 18, "all 18 exceptions were delivered and resumed");
}
