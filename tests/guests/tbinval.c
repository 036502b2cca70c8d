// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tbinval: code that a translator has translated, chained and cached
 * must follow the mappings it was fetched through. Each check runs code
 * through a virtual page often enough to be translated (and its blocks
 * chained, and the indirect call that reaches it cached), then changes
 * what the page maps to and runs it again:
 *
 *   - the PTE edited to another physical page holding other code, then
 *     INVLPG; then, with no INVLPG, a CR3 reload;
 *   - a direct jump into the next virtual page, which is remapped;
 *   - two page-table trees mapping different code at one address, CR3
 *     switched between them in a loop;
 *   - the PTE made not present + INVLPG: the next call faults;
 *   - CR0.WP toggled with no INVLPG: a supervisor write to a read-only
 *     page faults only with WP=1;
 *   - CR4.PGE and a global page: toggling PGE drops its translation;
 *   - PCID (when CPUID has it): tagged address spaces, then a flush.
 *
 * And self-modifying code that smc.c does not cover: a store to an
 * instruction a few bytes ahead in the same block (operand and opcode),
 * and a patch of the target of an already-chained direct jump, from
 * outside and from the jumping block itself, within a page and across.
 *
 * Where the architecture allows either outcome (a global translation
 * kept across a CR3 reload), the check accepts both and prints the same.
 */
#include "guest.h"

const char guest_name[] = "tbinval";

#define VB		0x8000000000ull		/* PML4[1] */
#define PAGE		4096ull
#define VA(n)		(VB + (n) * PAGE)	/* 4K page n of the test PT */

#define PTE_G		(1ull << 8)
#define CR4_PGE		(1ul << 7)
#define CR4_PCIDE	(1ul << 17)
#define CR3_NOFLUSH	(1ull << 63)

#define PF_P		0x01u
#define PF_W		0x02u
#define PF_ID		0x10u

#define NCODE		8

/* Tree A hangs off the boot PML4; tree B is a PML4 of its own. */
static volatile uint64_t pdpt[512] __attribute__((aligned(4096)));
static volatile uint64_t pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static volatile uint64_t pml4_b[512] __attribute__((aligned(4096)));
static volatile uint64_t pdpt_b[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_b[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_b[512] __attribute__((aligned(4096)));

/* Physical pages of code, mapped under VB; and pages run where they are. */
static uint8_t code[NCODE][4096] __attribute__((aligned(4096)));
static uint8_t smc_page[2][4096] __attribute__((aligned(4096)));
static volatile uint32_t ro_page[1024] __attribute__((aligned(4096)));

static uint64_t phys(const volatile void *p)
{
	return (uintptr_t)p;
}

/* What the function in code[k] returns. */
static uint32_t value(unsigned k)
{
	return 0x1000u * (k + 1) + 0x11u;
}

static unsigned put(uint8_t *p, unsigned at, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[at + i] = b[i];
	return at + n;
}

static unsigned put32(uint8_t *p, unsigned at, uint32_t v)
{
	const uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			       (uint8_t)(v >> 24) };

	return put(p, at, b, 4);
}

/*
 * code[k]: mov $value(k) - 1, %eax; jmp 1f; 1: add $1, %eax; ret -- two
 * blocks chained by the jump, both on the page under test.
 */
static void emit_value_fn(unsigned k)
{
	uint8_t *p = code[k];
	unsigned at = 0;

	p[at++] = 0xb8;
	at = put32(p, at, value(k) - 1);
	at = put(p, at, (const uint8_t[]){ 0xeb, 0x00, 0x83, 0xc0, 0x01, 0xc3 }, 6);
}

static uint32_t call_at(uint64_t fn)
{
	uint32_t ret;

	asm volatile("call *%1"
		     : "=a"(ret)
		     : "r"(fn)
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	return ret;
}

static uint32_t call_cl(uint64_t fn, uint32_t cl)
{
	uint32_t ret;

	asm volatile("call *%2"
		     : "=a"(ret), "+c"(cl)
		     : "r"(fn)
		     : "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	return ret;
}

/*
 * A call that may fault on its target: the vector (TRAP_NONE if none),
 * with the stack put back, which the fixup alone would not do (the
 * return address is pushed before the fetch faults).
 */
static uint64_t call_try(uint64_t fn, uint32_t *ret)
{
	uint32_t r = 0;

	trap_last.vector = TRAP_NONE;
	barrier();
	asm volatile("movq %%rsp, %%rbx\n\t"
		     "movq $8f, trap_start\n\t"
		     "movq $9f, trap_fixup\n"
		     "8:\tcall *%1\n"
		     "9:\tmovq $0, trap_fixup\n\t"
		     "movq %%rbx, %%rsp"
		     : "+a"(r)
		     : "r"(fn)
		     : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	barrier();
	*ret = r;
	return trap_last.vector;
}

static uint64_t pf_write(uint64_t va)
{
	return TRAP_TRY("movl %0, (%1)", : : "r"(0x5a5a5a5au), "r"(va) : "memory");
}

static void map(unsigned n, const void *page, uint64_t flags)
{
	pt[n] = phys(page) | PTE_P | flags;
}

/* @n calls of @va; true if every one returned @want. */
static bool calls_return(uint64_t va, unsigned n, uint32_t want)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++)
		ok &= call_at(va) == want;
	return ok;
}

static void test_remap_invlpg(void)
{
	bool before = true, after = true;

	map(0, code[0], PTE_RW);
	invlpg((void *)VA(0));
	/* One loop: translated, its call cached, then the page changes under it. */
	for (unsigned i = 0; i < 24; i++) {
		if (i == 12) {
			map(0, code[1], PTE_RW);
			invlpg((void *)VA(0));
		}
		if (i < 12)
			before &= call_at(VA(0)) == value(0);
		else
			after &= call_at(VA(0)) == value(1);
	}
	check(before && after, "PTE to another page of code + INVLPG: the new code runs");

	map(0, code[2], PTE_RW);
	write_cr3(read_cr3());
	check(calls_return(VA(0), 8, value(2)),
	      "PTE to another page of code + CR3 reload (no INVLPG): the new code runs");
	map(0, code[0], PTE_RW);
	write_cr3(read_cr3());
	check(calls_return(VA(0), 8, value(0)), "and back to the first page: its code runs again");
}

/* code[3] at VA(1): mov $0x100, %eax; jmp VA(2); VA(2) adds and returns. */
static void test_cross_page_jump(void)
{
	static const uint8_t add10[] = { 0x83, 0xc0, 0x10, 0xc3 };	/* add $0x10, %eax; ret */
	static const uint8_t add20[] = { 0x83, 0xc0, 0x20, 0xc3 };
	unsigned at = 0;
	bool ok;

	code[3][at++] = 0xb8;
	at = put32(code[3], at, 0x100);
	code[3][at++] = 0xe9;
	at = put32(code[3], at, (uint32_t)(VA(2) - (VA(1) + at + 4)));
	put(code[4], 0, add10, sizeof(add10));
	put(code[5], 0, add20, sizeof(add20));
	map(1, code[3], PTE_RW);
	map(2, code[4], PTE_RW);
	invlpg((void *)VA(1));
	invlpg((void *)VA(2));
	ok = calls_return(VA(1), 12, 0x110);
	map(2, code[5], PTE_RW);
	invlpg((void *)VA(2));
	check(ok && calls_return(VA(1), 12, 0x120),
	      "direct jump into the next page, that page remapped + INVLPG: the new code runs");
}

static void test_two_trees(void)
{
	uint64_t cr3 = read_cr3(), cr3_b = phys(pml4_b);
	bool ok = true;

	for (unsigned i = 0; i < 512; i++)
		pml4_b[i] = i == 1 ? phys(pdpt_b) | PTE_P | PTE_RW : guest_pml4[i];
	pdpt_b[0] = phys(pd_b) | PTE_P | PTE_RW;
	pd_b[0] = phys(pt_b) | PTE_P | PTE_RW;
	pt_b[0] = phys(code[1]) | PTE_P | PTE_RW;
	map(0, code[0], PTE_RW);
	invlpg((void *)VA(0));
	barrier();
	for (unsigned i = 0; i < 16; i++) {
		write_cr3(cr3);
		ok &= call_at(VA(0)) == value(0);
		write_cr3(cr3_b);
		ok &= call_at(VA(0)) == value(1);
	}
	write_cr3(cr3);
	check(ok, "two page-table trees, one address, CR3 switched 32 times: each tree's code runs");
}

static void test_not_present(void)
{
	uint32_t r;
	bool ok;

	map(0, code[0], PTE_RW);
	invlpg((void *)VA(0));
	ok = calls_return(VA(0), 12, value(0));
	pt[0] = 0;
	invlpg((void *)VA(0));
	/* I/D is reported only with NXE or SMEP: not checked. */
	check(ok && call_try(VA(0), &r) == 14 && trap_last.cr2 == VA(0) &&
	      trap_last.rip == VA(0) && (trap_last.error_code & ~(uint64_t)PF_ID) == 0,
	      "run code's PTE made not present + INVLPG: the next call is a #PF at the page");
	map(0, code[0], PTE_RW);
	invlpg((void *)VA(0));
	check(call_try(VA(0), &r) == TRAP_NONE && r == value(0),
	      "the PTE present again + INVLPG: the code runs again");
}

static void test_wp(void)
{
	uint64_t cr0 = read_cr0(), va = VA(3) + 0x40;
	volatile uint32_t *p = (volatile uint32_t *)va;
	bool ok = true;

	ro_page[0x10] = 7;
	pt[3] = phys(ro_page) | PTE_P;		/* read-only, supervisor */
	invlpg((void *)va);
	for (unsigned round = 0; round < 3; round++) {
		/*
		 * No INVLPG after the CR0 writes: the MOV to CR0 must be enough,
		 * so a write permission the inline TLB got under WP=0 must not
		 * outlive it.
		 */
		write_cr0(cr0 & ~CR0_WP);
		for (unsigned i = 0; i < 16; i++)
			*p = round * 100 + i;
		ok &= ro_page[0x10] == round * 100 + 15;
		write_cr0(cr0 | CR0_WP);
		ok &= pf_write(va) == 14 && trap_last.error_code == (PF_P | PF_W) &&
		      trap_last.cr2 == va && ro_page[0x10] == round * 100 + 15;
	}
	write_cr0(cr0);
	check(ok, "CR0.WP toggled 3 times: a supervisor write to a read-only page faults only with WP=1");
}

static void test_global(void)
{
	uint64_t cr4 = read_cr4();
	uint32_t r[4], v;
	bool ok;

	cpuid(1, 0, r);
	if (!(r[3] & (1u << 13))) {
		check(true, "CR4.PGE: a global page's edited PTE seen after PGE is toggled");
		check(true, "CR4.PGE: INVLPG drops a global translation");
		return;
	}
	write_cr4(cr4 | CR4_PGE);
	map(4, code[0], PTE_RW | PTE_G);
	invlpg((void *)VA(4));
	ok = calls_return(VA(4), 12, value(0));
	map(4, code[1], PTE_RW | PTE_G);
	/* A CR3 reload may keep the global translation or not: either code may run. */
	write_cr3(read_cr3());
	v = call_at(VA(4));
	ok &= v == value(0) || v == value(1);
	write_cr4(cr4 & ~CR4_PGE);
	write_cr4(cr4 | CR4_PGE);
	check(ok && calls_return(VA(4), 8, value(1)),
	      "CR4.PGE: a global page's edited PTE seen after PGE is toggled");
	map(4, code[2], PTE_RW | PTE_G);
	invlpg((void *)VA(4));
	check(calls_return(VA(4), 8, value(2)), "CR4.PGE: INVLPG drops a global translation");
	write_cr4(cr4);
	pt[4] = 0;
	write_cr3(read_cr3());
}

static void test_pcid(void)
{
	static const char what[] =
		"PCID: tagged trees switched without flush, then a flush (or skipped: no PCID)";
	uint64_t cr3 = read_cr3(), cr4 = read_cr4(), cr3_b = phys(pml4_b);
	uint32_t r[4];
	bool ok = true;

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 17)) || (cr3 & 0xfff)) {
		check(true, "%s", what);
		return;
	}
	map(0, code[0], PTE_RW);
	pt_b[0] = phys(code[1]) | PTE_P | PTE_RW;
	write_cr3(cr3);
	write_cr4(cr4 | CR4_PCIDE);
	write_cr3(cr3 | 1);
	write_cr3(cr3_b | 2);
	for (unsigned i = 0; i < 8; i++) {
		write_cr3(cr3 | 1 | CR3_NOFLUSH);
		ok &= call_at(VA(0)) == value(0);
		write_cr3(cr3_b | 2 | CR3_NOFLUSH);
		ok &= call_at(VA(0)) == value(1);
	}
	/* Tree A edited: a switch to PCID 1 that flushes must see it. */
	map(0, code[2], PTE_RW);
	write_cr3(cr3 | 1);
	ok &= calls_return(VA(0), 4, value(2));
	write_cr3(cr3);
	write_cr4(cr4);
	map(0, code[0], PTE_RW);
	write_cr3(cr3);
	check(ok, "%s", what);
}

/*
 * Same block, a few bytes ahead: mov %cl, imm(%rip) patches the imm8 of
 * an add three instructions further on: 5 + cl.
 */
static void test_patch_ahead(void)
{
	static const uint8_t fn[] = {
		0x88, 0x0d, 0x08, 0x00, 0x00, 0x00,	/* mov %cl, 14(start) */
		0x31, 0xc0,				/* xor %eax, %eax */
		0x83, 0xc0, 0x05,			/* add $5, %eax */
		0x90,					/* nop */
		0x83, 0xc0, 0x01,			/* add $imm8, %eax  (imm8 at 14) */
		0xc3,
	};
	static const uint8_t fn2[] = {
		0x88, 0x0d, 0x07, 0x00, 0x00, 0x00,	/* mov %cl, 13(start) */
		0xb8, 0x64, 0x00, 0x00, 0x00,		/* mov $100, %eax */
		0x90,					/* nop */
		0x83, 0xc0, 0x07,			/* add/sub $7, %eax  (ModRM at 13) */
		0xc3,
	};
	uint64_t f = phys(smc_page[0]), f2 = phys(smc_page[0] + 64);
	bool ok = true, ok2 = true;

	put(smc_page[0], 0, fn, sizeof(fn));
	put(smc_page[0], 64, fn2, sizeof(fn2));
	for (uint32_t i = 1; i <= 16; i++)
		ok &= call_cl(f, i) == 5 + i;
	check(ok, "a store to an operand 3 insns ahead in the same block: the new operand is used");
	for (uint32_t i = 0; i < 16; i++)
		ok2 &= call_cl(f2, i & 1 ? 0xe8 : 0xc0) == (i & 1 ? 93u : 107u);
	check(ok2, "a store to an opcode (ModRM) ahead in the same block: the new insn runs");
}

/*
 * X: mov $1, %eax; jmp T, with T: add $imm8, %eax; ret. X's jump gets
 * chained to T; then T is patched (by C, and by X itself before its
 * jump), in the same page and with T on the next page.
 */
static void build_chain(uint8_t *x, uint8_t *t, bool self)
{
	uint64_t xa = phys(x), ta = phys(t);
	unsigned at = 0;

	x[at++] = 0xb8;
	at = put32(x, at, 1);
	if (self) {
		/* mov %cl, T+2(%rip) */
		at = put(x, at, (const uint8_t[]){ 0x88, 0x0d }, 2);
		at = put32(x, at, (uint32_t)(ta + 2 - (xa + at + 4)));
	}
	x[at++] = 0xe9;
	at = put32(x, at, (uint32_t)(ta - (xa + at + 4)));
	put(t, 0, (const uint8_t[]){ 0x83, 0xc0, 0x00, 0xc3 }, 4);
}

static bool run_chain(uint8_t *x, uint8_t *t, bool self)
{
	bool ok = true;

	build_chain(x, t, self);
	for (uint32_t i = 0; i < 8; i++)	/* translated, chained */
		ok &= call_cl(phys(x), 0) == 1;
	for (uint32_t i = 1; i <= 12; i++) {
		if (!self)
			t[2] = (uint8_t)i;
		ok &= call_cl(phys(x), i) == 1 + i;
	}
	return ok;
}

static void test_patch_chained(void)
{
	check(run_chain(smc_page[1], smc_page[1] + 256, false),
	      "patch the target of a chained jump (same page): the new code runs");
	check(run_chain(smc_page[1] + 512, smc_page[1] + 768, true),
	      "the jumping block patches its own chained target first: the new code runs");
	check(run_chain(smc_page[0] + 4096 - 32, smc_page[1] + 1024, false),
	      "patch the target of a jump into the next page: the new code runs");
	check(run_chain(smc_page[0] + 4096 - 64, smc_page[1] + 1280, true),
	      "a block patches its jump target on the next page first: the new code runs");
}

void guest_main(void)
{
	for (unsigned k = 0; k < 3; k++)
		emit_value_fn(k);
	pd[0] = phys(pt) | PTE_P | PTE_RW;
	pdpt[0] = phys(pd) | PTE_P | PTE_RW;
	guest_pml4[1] = phys(pdpt) | PTE_P | PTE_RW;
	barrier();

	test_remap_invlpg();
	test_cross_page_jump();
	test_two_trees();
	test_not_present();
	test_wp();
	test_global();
	test_pcid();
	test_patch_ahead();
	test_patch_chained();

	guest_pml4[1] = 0;
	barrier();
	write_cr3(read_cr3());
}
