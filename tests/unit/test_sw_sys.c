// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the system half of the software CPU: page walks in every
 * paging mode (A/D bits checked in guest memory), #PF error codes, TLB
 * maintenance and paging-structure write tracking, interrupt delivery in
 * real, protected and long mode, #DF and triple fault, call gates,
 * SYSCALL/SYSRET, the I/O permission bitmap, CPUID, MSRs and mode
 * switches through MOV CR0.
 */
#include <CUnit/Basic.h>
#include <setjmp.h>
#include <string.h>
#include <x86intrin.h>

#include "accel/sw/sys.h"
#include "machine/bus.h"
#include "machine/cpuid.h"
#include "tests/unit/sw_harness.h"

#define RAM_SIZE	(16ull << 20)
#define GDT		0x5000ull
#define TSS		0x6000ull
#define IDT		0x7000ull
#define STK0		0x9000ull	/* ring-0 stack top (TSS) */
#define ISTK		0xa000ull	/* IST1 stack top */
#define CODE		0x10000ull
#define HCODE		0x11000ull	/* handlers */

/* Selectors of the test GDT. */
#define K_CODE		0x08
#define K_DATA		0x10
#define U_CODE		0x1b
#define U_DATA		0x23
#define TSS32_SEL	0x28
#define GATE_SEL	0x30
#define K_CODE64	0x38
#define U_CODE64	0x43
#define TSS64_SEL	0x48	/* 16 bytes: 0x48 and 0x50 */
#define NP_DATA		0x58	/* not present, DPL 3 */
#define GDT_LIMIT	0x5f

#define PTE_P		0x1ull
#define PTE_W		0x2ull
#define PTE_U		0x4ull
#define PTE_A		0x20ull
#define PTE_D		0x40ull
#define PTE_PS		0x80ull
#define PTE_NX		(1ull << 63)

/* ---- helpers ---- */

static struct swh *new_h(enum swh_mode mode)
{
	struct swh *h = swh_new(RAM_SIZE, mode);

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl,
		     unsigned l, unsigned db, unsigned g)
{
	uint64_t lo = (limit & 0xffff) | ((uint64_t)(base & 0xffff) << 16);
	uint64_t hi = ((base >> 16) & 0xff) | (type << 8) | (s << 12) | (dpl << 13) | (1u << 15) |
		      (limit & 0xf0000) | (l << 21) | (db << 22) | (g << 23) | (base & 0xff000000u);

	return lo | (hi << 32);
}

static void seg_cache(struct x86_seg *s, uint16_t sel, uint32_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attr = attr;
}

/* The GDT above, the TSSs (ring-0 stack STK0, IST1 = ISTK + 8) and TR. */
static void std_gdt(struct swh *h, bool lm)
{
	struct x86_state *st = &h->cpu.st;

	memset(&st->gdt, 0, sizeof(st->gdt));
	swh_poke_val(h, GDT, 0, 8);
	swh_poke_val(h, GDT + 0x08, desc(0, 0xfffff, 0xb, 1, 0, 0, 1, 1), 8);
	swh_poke_val(h, GDT + 0x10, desc(0, 0xfffff, 0x3, 1, 0, 0, 1, 1), 8);
	swh_poke_val(h, GDT + 0x18, desc(0, 0xfffff, 0xb, 1, 3, 0, 1, 1), 8);
	swh_poke_val(h, GDT + 0x20, desc(0, 0xfffff, 0x3, 1, 3, 0, 1, 1), 8);
	swh_poke_val(h, GDT + 0x28, desc(TSS, 0x67, 9, 0, 0, 0, 0, 0), 8);
	swh_poke_val(h, GDT + 0x38, desc(0, 0xfffff, 0xb, 1, 0, 1, 0, 1), 8);
	swh_poke_val(h, GDT + 0x40, desc(0, 0xfffff, 0xb, 1, 3, 1, 0, 1), 8);
	swh_poke_val(h, GDT + 0x48, desc(TSS, 0x67, 9, 0, 0, 0, 0, 0), 8);
	swh_poke_val(h, GDT + 0x50, 0, 8);
	swh_poke_val(h, GDT + 0x58, desc(0, 0xfffff, 0x3, 1, 3, 0, 1, 1) & ~(1ull << 47), 8);
	st->gdt.base = GDT;
	st->gdt.limit = GDT_LIMIT;
	/* 32-bit TSS: SS0:ESP0; 64-bit TSS: RSP0 at 4, IST1 at 0x24 (overlapping is fine here). */
	swh_poke_val(h, TSS + 4, STK0, lm ? 8 : 4);
	if (!lm)
		swh_poke_val(h, TSS + 8, K_DATA, 2);
	swh_poke_val(h, TSS + 0x24, ISTK + 8, 8);
	st->tr.sel = lm ? TSS64_SEL : TSS32_SEL;
	st->tr.base = TSS;
	st->tr.limit = 0x67;
	st->tr.attr = 0x8b;
}

static void to_user32(struct swh *h)
{
	struct x86_state *st = &h->cpu.st;

	seg_cache(&st->seg[S_CS], U_CODE, 0xc0fb);
	for (int i = 0; i < S_NR; i++)
		if (i != S_CS)
			seg_cache(&st->seg[i], U_DATA, 0xc0f3);
}

static void to_user64(struct swh *h)
{
	struct x86_state *st = &h->cpu.st;

	seg_cache(&st->seg[S_CS], U_CODE64, 0xa0fb);
	seg_cache(&st->seg[S_SS], U_DATA, 0xc0f3);
}

static void kernel64(struct swh *h)
{
	seg_cache(&h->cpu.st.seg[S_CS], K_CODE64, 0xa09b);
	seg_cache(&h->cpu.st.seg[S_SS], K_DATA, 0xc093);
}

static void idt32(struct swh *h, unsigned vec, uint16_t sel, uint32_t off, unsigned type,
		  unsigned dpl, bool present)
{
	uint64_t g = (off & 0xffff) | ((uint64_t)sel << 16) |
		     ((uint64_t)(off & 0xffff0000u) << 32) | ((uint64_t)type << 40) |
		     ((uint64_t)dpl << 45) | ((uint64_t)present << 47);

	swh_poke_val(h, IDT + vec * 8, g, 8);
	h->cpu.st.idt.base = IDT;
	h->cpu.st.idt.limit = 256 * 8 - 1;
}

static void idt64(struct swh *h, unsigned vec, uint64_t off, unsigned type, unsigned dpl,
		  unsigned ist, bool present)
{
	uint64_t g = (off & 0xffff) | ((uint64_t)K_CODE64 << 16) | ((uint64_t)ist << 32) |
		     ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | ((uint64_t)present << 47) |
		     ((off & 0xffff0000ull) << 32);

	swh_poke_val(h, IDT + vec * 16, g, 8);
	swh_poke_val(h, IDT + vec * 16 + 8, off >> 32, 8);
	h->cpu.st.idt.base = IDT;
	h->cpu.st.idt.limit = 256 * 16 - 1;
}

/* Translate through the MMU; -1 on success, else the vector raised. */
static int xlate(struct swh *h, uint64_t la, unsigned acc, uint64_t *gpa)
{
	struct sw_cpu *cpu = &h->cpu;
	uint64_t dummy;

	if (sigsetjmp(cpu->jmp, 0))
		return cpu->exc.vector;
	sw_mmu_translate(cpu, la, acc, gpa ? gpa : &dummy);
	return -1;
}

/* A write through the CPU (paging, A/D bits, write tracking); -1 or the vector. */
static int cpu_write(struct swh *h, uint64_t la, uint64_t val, unsigned size)
{
	struct sw_cpu *cpu = &h->cpu;

	if (sigsetjmp(cpu->jmp, 0))
		return cpu->exc.vector;
	sw_write_lin(cpu, la, val, size, SW_ACC_WRITE);
	return -1;
}

static void set_cpl(struct swh *h, unsigned cpl)
{
	struct x86_state *st = &h->cpu.st;

	st->seg[S_SS].attr = (st->seg[S_SS].attr & ~0x60u) | (cpl << 5);
	st->seg[S_CS].attr = (st->seg[S_CS].attr & ~0x60u) | (cpl << 5);
	st->seg[S_CS].sel = (st->seg[S_CS].sel & ~3u) | cpl;
}

static void paging_on(struct swh *h, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	struct x86_state *st = &h->cpu.st;

	st->cr3 = cr3;
	st->cr4 = cr4;
	st->efer = efer;
	st->cr0 |= X86_CR0_PG;
	sw_mmu_paging_changed(&h->cpu);
}

/* ---- 32-bit paging ---- */

#define PD32	0x20000ull
#define PT32	0x21000ull

static void setup_pg32(struct swh *h)
{
	/* 0-4M identity (4M page), 4M-8M 4K pages, 8M-12M a 4M page at 12M. */
	swh_poke_val(h, PD32 + 0 * 4, 0 | PTE_P | PTE_W | PTE_U | PTE_PS, 4);
	swh_poke_val(h, PD32 + 1 * 4, PT32 | PTE_P | PTE_W | PTE_U, 4);
	swh_poke_val(h, PT32 + 0 * 4, 0x30000 | PTE_P | PTE_W | PTE_U, 4);
	swh_poke_val(h, PT32 + 1 * 4, 0x31000 | PTE_P | PTE_U, 4);		/* read-only */
	swh_poke_val(h, PD32 + 2 * 4, 0xc00000 | PTE_P | PTE_W | PTE_PS, 4);
	paging_on(h, PD32, X86_CR4_PSE, 0);
}

static void test_paging32(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0xa1, 0x10, 0x00, 0x40, 0x00,		/* mov eax, [0x400010] */
		0x89, 0x1d, 0x20, 0x00, 0x40, 0x00,	/* mov [0x400020], ebx */
		0x8b, 0x0d, 0x56, 0x04, 0x80, 0x00,	/* mov ecx, [0x800456] */
		0xf4,					/* hlt */
	};
	uint64_t gpa;

	setup_pg32(h);
	swh_poke_val(h, 0x30010, 0xdeadbeef, 4);
	swh_poke_val(h, 0xc00456, 0x12345678, 4);
	h->cpu.st.gpr[R_BX] = 0xcafef00d;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 10), SWH_HALT);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0xdeadbeef);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x30020, 4), 0xcafef00d);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_CX], 0x12345678);
	/* Accessed on every level used, dirty only on written leaves. */
	CU_ASSERT_EQUAL(swh_peek_val(h, PD32 + 4, 4) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, PT32, 4) & (PTE_A | PTE_D), PTE_A | PTE_D);
	CU_ASSERT_EQUAL(swh_peek_val(h, PD32 + 8, 4) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, PD32, 4) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, PT32 + 4, 4) & PTE_A, 0);

	/* Not present: error code 0, CR2 = the address. */
	CU_ASSERT_EQUAL(xlate(h, 0x402000, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(h->cpu.exc.cr2, 0x402000);
	/* User access to a supervisor page. */
	set_cpl(h, 3);
	CU_ASSERT_EQUAL(xlate(h, 0x800000, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_U);
	CU_ASSERT_EQUAL(xlate(h, 0x401000, SW_ACC_WRITE, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_W | PF_U);
	/* The same read at CPL 3 as an implicit supervisor access faults without U. */
	CU_ASSERT_EQUAL(xlate(h, 0x800000, SW_ACC_READ | SW_ACC_SYS, &gpa), -1);
	set_cpl(h, 0);
	/* Supervisor write to a read-only page: allowed with WP=0, #PF with WP=1. */
	CU_ASSERT_EQUAL(xlate(h, 0x401000, SW_ACC_WRITE, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x31000);
	CU_ASSERT_EQUAL(swh_peek_val(h, PT32 + 4, 4) & (PTE_A | PTE_D), PTE_A | PTE_D);
	h->cpu.st.cr0 |= X86_CR0_WP;
	sw_mmu_paging_changed(&h->cpu);
	CU_ASSERT_EQUAL(xlate(h, 0x401000, SW_ACC_WRITE, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_W);
	swh_free(h);
}

/* ---- PAE paging ---- */

static void test_pae(void)
{
	struct swh *h = new_h(SWH_PROT32);
	const uint64_t pdpt = 0x20000, pd = 0x21000, pt = 0x22000;
	static const uint8_t code[] = {
		0xb8, 0x00, 0x30, 0x02, 0x00,	/* mov eax, 0x23000 */
		0x0f, 0x22, 0xd8,		/* mov cr3, eax */
	};
	uint64_t gpa;

	swh_poke_val(h, pdpt, pd | PTE_P, 8);
	/* 0-2M identity, 4M-6M 4K pages, 8M-10M a 2M page at 10M. */
	swh_poke_val(h, pd + 0 * 8, 0 | PTE_P | PTE_W | PTE_PS, 8);
	swh_poke_val(h, pd + 2 * 8, pt | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, pt + 0 * 8, 0x30000 | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, pt + 1 * 8, 0x31000 | PTE_P | PTE_W | PTE_U | PTE_NX, 8);
	swh_poke_val(h, pt + 2 * 8, 0x32000 | PTE_P | PTE_W | (1ull << 51), 8);
	swh_poke_val(h, pd + 4 * 8, 0xa00000 | PTE_P | PTE_W | PTE_PS, 8);
	paging_on(h, pdpt, X86_CR4_PAE, X86_EFER_NXE);

	CU_ASSERT_EQUAL(xlate(h, 0x400010, SW_ACC_WRITE, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30010);
	CU_ASSERT_EQUAL(swh_peek_val(h, pt, 8) & (PTE_A | PTE_D), PTE_A | PTE_D);
	CU_ASSERT_EQUAL(swh_peek_val(h, pd + 16, 8) & (PTE_A | PTE_D), PTE_A);
	/* NX: fetch faults with I, a read is fine. */
	CU_ASSERT_EQUAL(xlate(h, 0x401000, SW_ACC_EXEC, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_I);
	CU_ASSERT_EQUAL(xlate(h, 0x401000, SW_ACC_READ, NULL), -1);
	/* Reserved physical-address bit. */
	CU_ASSERT_EQUAL(xlate(h, 0x402000, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_RSVD);
	CU_ASSERT_EQUAL(swh_peek_val(h, pt + 16, 8) & PTE_A, 0);
	/* 2M page. */
	CU_ASSERT_EQUAL(xlate(h, 0x9ff123, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0xbff123);
	/* PDPT not present: #PF with P=0. */
	CU_ASSERT_EQUAL(xlate(h, 0x40000000, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);

	/* MOV CR3 to a PDPT with a reserved bit in a present entry: #GP, CR3 kept. */
	swh_poke_val(h, 0x23000, pd | PTE_P | (1ull << 5), 8);
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 2), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.st.cr3, pdpt);
	/* A valid one is accepted and its PDPTEs are used from then on. */
	swh_poke_val(h, 0x23000, pd | PTE_P, 8);
	CU_ASSERT_EQUAL(swh_run(h, CODE + sizeof(code), 2), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.cr3, 0x23000);
	CU_ASSERT_EQUAL(xlate(h, 0x400010, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30010);
	swh_free(h);
}

/* ---- 4-level paging ---- */

#define LA_HI	0x8000000000ull		/* PML4 slot 1 */

/* PML4[1] -> PDPT -> PD -> PT at @base, @base + 0x1000, +0x2000, +0x3000. */
static void map_hi(struct swh *h, uint64_t pml4, uint64_t base)
{
	swh_poke_val(h, pml4 + 8, base | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, base, (base + 0x1000) | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, base + 0x1000, (base + 0x2000) | PTE_P | PTE_W | PTE_U, 8);
}

static void test_long4(void)
{
	struct swh *h = new_h(SWH_LONG64);
	const uint64_t base = 0x20000, pt = base + 0x2000;
	static const uint8_t code[] = { 0x48, 0x8b, 0x03, 0xf4 };	/* mov rax, [rbx]; hlt */
	bool gb = sw_cpuid_reg(0x80000001u, 0, 3) & CPUID_81_EDX_PDPE1GB;
	uint64_t gpa;

	map_hi(h, SWH_PT_BASE, base);
	swh_poke_val(h, pt + 0 * 8, 0x30000 | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, pt + 1 * 8, 0x31000 | PTE_P | PTE_W, 8);		/* supervisor */
	swh_poke_val(h, pt + 2 * 8, 0x32000 | PTE_P | PTE_U, 8);		/* read-only */
	swh_poke_val(h, pt + 3 * 8, 0x33000 | PTE_P | PTE_W | PTE_U | PTE_NX, 8);
	swh_poke_val(h, base + 8, 0x40000000 | PTE_P | PTE_W | PTE_PS, 8);	/* 1G page */
	swh_poke_val(h, 0x30010, 0x1122334455667788ull, 8);
	h->cpu.st.efer |= X86_EFER_NXE;
	sw_mmu_paging_changed(&h->cpu);

	h->cpu.st.gpr[R_BX] = LA_HI + 0x10;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 10), SWH_HALT);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x1122334455667788ull);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x18, SW_ACC_WRITE, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30018);
	CU_ASSERT_EQUAL(swh_peek_val(h, SWH_PT_BASE + 8, 8) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, base, 8) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, base + 0x1000, 8) & (PTE_A | PTE_D), PTE_A);
	CU_ASSERT_EQUAL(swh_peek_val(h, pt, 8) & (PTE_A | PTE_D), PTE_A | PTE_D);

	set_cpl(h, 3);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x1000, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_U);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x2000, SW_ACC_WRITE, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_W | PF_U);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x2000, SW_ACC_READ, NULL), -1);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x3000, SW_ACC_EXEC, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_U | PF_I);
	set_cpl(h, 0);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x2000, SW_ACC_WRITE, NULL), -1);	/* WP = 0 */
	h->cpu.st.cr0 |= X86_CR0_WP;
	sw_mmu_paging_changed(&h->cpu);
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x2000, SW_ACC_WRITE, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_W);
	/* NX applies to supervisor fetches too. */
	CU_ASSERT_EQUAL(xlate(h, LA_HI + 0x3000, SW_ACC_EXEC, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_I);
	/* Not present at the PML4 level. */
	CU_ASSERT_EQUAL(xlate(h, 2 * LA_HI, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(h->cpu.exc.cr2, 2 * LA_HI);
	/* 1 GiB page, if the model has them (outside RAM: no host pointer), else RSVD. */
	if (gb) {
		struct sw_cpu *cpu = &h->cpu;

		CU_ASSERT_EQUAL(xlate(h, LA_HI + (1ull << 30) + 0x1234, SW_ACC_READ, &gpa), -1);
		CU_ASSERT_EQUAL(gpa, 0x40001234);
		CU_ASSERT_PTR_NULL(sw_mmu_translate(cpu, LA_HI + (1ull << 30), SW_ACC_READ, &gpa));
	} else {
		CU_ASSERT_EQUAL(xlate(h, LA_HI + (1ull << 30), SW_ACC_READ, NULL), X86_PF);
		CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_RSVD);
	}
	/* A PS bit in a PML4 entry is reserved. */
	swh_poke_val(h, SWH_PT_BASE + 16, base | PTE_P | PTE_W | PTE_PS, 8);
	CU_ASSERT_EQUAL(xlate(h, 2 * LA_HI, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_RSVD);
	swh_free(h);
}

static void test_paging_off(void)
{
	struct swh *h = new_h(SWH_PROT32);
	uint64_t gpa;
	uint8_t *p;

	p = sw_mmu_translate(&h->cpu, 0x12345, SW_ACC_WRITE, &gpa);
	CU_ASSERT_EQUAL(gpa, 0x12345);
	CU_ASSERT_PTR_EQUAL(p, gpa_to_hva(&h->vm, 0x12345, 1));
	/* Beyond RAM: no host pointer, the gpa still reported (MMIO). */
	p = sw_mmu_translate(&h->cpu, 0xfee00030, SW_ACC_READ, &gpa);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(gpa, 0xfee00030);
	swh_free(h);
}

/* ---- TLB maintenance ---- */

static void test_invlpg(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = { 0x0f, 0x01, 0x38, 0xf4 };	/* invlpg [eax]; hlt */
	uint64_t gpa;

	setup_pg32(h);
	CU_ASSERT_EQUAL(xlate(h, 0x400000, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30000);
	/* A change nobody reports (as by DMA): x86 may use either mapping until INVLPG. */
	swh_poke_val(h, PT32, 0x34000 | PTE_P | PTE_W | PTE_U, 4);
	h->cpu.st.gpr[R_AX] = 0x400000;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 5), SWH_HALT);
	CU_ASSERT_EQUAL(xlate(h, 0x400000, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x34000);

	/* INVLPG anywhere in a large page drops all of it. */
	CU_ASSERT_EQUAL(xlate(h, 0x800000, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0xc00000);
	CU_ASSERT_EQUAL(xlate(h, 0xbff000, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0xfff000);
	swh_poke_val(h, PD32 + 8, 0x400000 | PTE_P | PTE_W | PTE_PS, 4);
	sw_mmu_invlpg(&h->cpu, 0x812345);
	CU_ASSERT_EQUAL(xlate(h, 0xbff000, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x7ff000);

	/* INVLPG at CPL 3: #GP(0). */
	set_cpl(h, 3);
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	swh_free(h);
}

/*
 * Contexts survive MOV CR3, and a write to a paging structure makes the
 * contexts that used it walk again: switch away, rewrite a PTE of the old
 * address space through the CPU, switch back, see the new mapping.
 */
static void test_pt_tracking(void)
{
	struct swh *h = new_h(SWH_LONG64);
	const uint64_t base = 0x20000, pt = base + 0x2000, pml4b = 0x28000;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xdf,	/* mov cr3, rdi   (to B) */
		0x48, 0x89, 0x03,	/* mov [rbx], rax (PTE of A) */
		0x0f, 0x22, 0xd9,	/* mov cr3, rcx   (back to A) */
		0x48, 0x8b, 0x16,	/* mov rdx, [rsi] */
		0xf4,
	};
	struct x86_state *st = &h->cpu.st;
	uint64_t gpa, s0[4], s1[4];

	map_hi(h, SWH_PT_BASE, base);
	swh_poke_val(h, pt, 0x30000 | PTE_P | PTE_W | PTE_U, 8);
	swh_poke_val(h, 0x30000, 0xaaaa, 8);
	swh_poke_val(h, 0x35000, 0xbbbb, 8);
	/* Address space B: the low identity map only. */
	swh_poke_val(h, pml4b, swh_peek_val(h, SWH_PT_BASE, 8), 8);

	CU_ASSERT_EQUAL(xlate(h, LA_HI, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30000);
	CU_ASSERT(h->svm.page_flags[pt >> 12] & SW_PAGE_PT);
	st->cr3 = pml4b;
	sw_mmu_cr3_written(&h->cpu);
	CU_ASSERT_EQUAL(xlate(h, LA_HI, SW_ACC_READ, NULL), X86_PF);
	st->cr3 = SWH_PT_BASE;
	sw_mmu_cr3_written(&h->cpu);
	/* Back in A: the translation is still cached, no walk needed. */
	sw_mmu_stats(&h->cpu, s0);
	CU_ASSERT_EQUAL(xlate(h, LA_HI, SW_ACC_READ, &gpa), -1);
	sw_mmu_stats(&h->cpu, s1);
	CU_ASSERT_EQUAL(gpa, 0x30000);
	CU_ASSERT_EQUAL(s1[0], s0[0]);

	st->gpr[R_DI] = pml4b;
	st->gpr[R_CX] = SWH_PT_BASE;
	st->gpr[R_BX] = pt;
	st->gpr[R_AX] = 0x35000 | PTE_P | PTE_W | PTE_U;
	st->gpr[R_SI] = LA_HI;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 10), SWH_HALT);
	CU_ASSERT_EQUAL(st->gpr[R_DX], 0xbbbb);
	/* And the write itself went to memory. */
	CU_ASSERT_EQUAL(swh_peek_val(h, pt, 8) & ~(PTE_A | PTE_D), 0x35000 | PTE_P | PTE_W | PTE_U);

	/* A PTE write without a CR3 switch: visible once the guest reloads CR3. */
	CU_ASSERT_EQUAL(cpu_write(h, pt, 0x30000 | PTE_P | PTE_W | PTE_U, 8), -1);
	sw_mmu_cr3_written(&h->cpu);
	CU_ASSERT_EQUAL(xlate(h, LA_HI, SW_ACC_READ, &gpa), -1);
	CU_ASSERT_EQUAL(gpa, 0x30000);
	swh_free(h);
}

/* ---- interrupts ---- */

static void test_real_int(void)
{
	struct swh *h = new_h(SWH_REAL);
	static const uint8_t code[] = { 0xcd, 0x21, 0xf4 };	/* int 0x21; hlt */
	static const uint8_t hnd[] = { 0xb8, 0x34, 0x12, 0xcf };	/* mov ax, 0x1234; iret */
	static const uint8_t de[] = { 0x31, 0xdb, 0xf7, 0xf3 };	/* xor bx, bx; div bx */
	static const uint8_t de_hnd[] = { 0xbb, 0x55, 0x00, 0xf4 };	/* mov bx, 0x55; hlt */
	struct x86_state *st = &h->cpu.st;

	swh_poke_val(h, 0x21 * 4, 0x10000010, 4);	/* 1000:0010 */
	swh_poke(h, 0x10010, hnd, sizeof(hnd));
	st->rflags |= X86_RFLAGS_IF;
	swh_load_code(h, 0x500, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, 0x1000);
	CU_ASSERT_EQUAL(st->seg[S_CS].base, 0x10000);
	CU_ASSERT_EQUAL(st->rip, 0x10);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000 - 6);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x7ffa, 2), 0x502);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x7ffc, 2), 0);
	CU_ASSERT(swh_peek_val(h, 0x7ffe, 2) & X86_RFLAGS_IF);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_IF);
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 10), SWH_HALT);
	CU_ASSERT_EQUAL(st->gpr[R_AX] & 0xffff, 0x1234);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, 0);
	CU_ASSERT(st->rflags & X86_RFLAGS_IF);

	/* A fault through the IVT, with the real loop: #DE returns to the DIV. */
	swh_poke_val(h, 0, 0x00000600, 4);
	swh_poke(h, 0x600, de_hnd, sizeof(de_hnd));
	st->rflags &= ~X86_RFLAGS_IF;
	st->halted = false;
	swh_load_code(h, 0x700, de, sizeof(de));
	CU_ASSERT_EQUAL(swh_run_events(h, 100), VCPU_STOP_HALT);
	CU_ASSERT_EQUAL(st->gpr[R_BX] & 0xffff, 0x55);
	CU_ASSERT_EQUAL(swh_peek_val(h, st->gpr[R_SP], 2), 0x702);
	swh_free(h);
}

static void test_prot_int(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0xcd, 0x80,	/* int 0x80 */
		0xcd, 0x81,	/* int 0x81: gate DPL 0 */
		0xcd, 0x82,	/* int 0x82: gate not present */
		0x8e, 0xd8,	/* mov ds, ax */
	};
	static const uint8_t iret[] = { 0xcf };
	struct x86_state *st = &h->cpu.st;
	uint64_t sp;

	std_gdt(h, false);
	idt32(h, 0x80, K_CODE, HCODE, SW_SYS_INT32, 3, true);
	idt32(h, 0x81, K_CODE, HCODE, SW_SYS_INT32, 0, true);
	idt32(h, 0x82, K_CODE, HCODE, SW_SYS_INT32, 3, false);
	idt32(h, X86_GP, K_CODE, HCODE + 0x10, SW_SYS_TRAP32, 0, true);
	swh_poke(h, HCODE, iret, 1);
	swh_poke_val(h, HCODE + 0x10, 0xf4, 1);	/* hlt */
	to_user32(h);
	st->rflags |= X86_RFLAGS_IF;
	swh_load_code(h, CODE, code, sizeof(code));

	/* Ring 3 -> ring 0 through an interrupt gate, stack from the TSS. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, HCODE);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 0);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, K_DATA);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, STK0 - 20);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 4), CODE + 2);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 4, 4), U_CODE);
	CU_ASSERT(swh_peek_val(h, sp + 8, 4) & X86_RFLAGS_IF);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 12, 4), 0x8000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 16, 4), U_DATA);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_IF);
	/* IRET to ring 3. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 2);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, U_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, U_DATA);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);
	CU_ASSERT(st->rflags & X86_RFLAGS_IF);
	/* Gate DPL below CPL: #GP(vector * 8 + 2), nothing changed. */
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0x81 * 8 + 2);
	CU_ASSERT_EQUAL(st->rip, CODE + 2);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	st->rip += 2;
	CU_ASSERT_EQUAL(swh_step(h), X86_NP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0x82 * 8 + 2);

	/* A fault with an error code, delivered by the loop: MOV DS, kernel data at CPL 3. */
	st->rip = CODE + 6;
	st->gpr[R_AX] = K_DATA;
	CU_ASSERT_EQUAL(swh_run_events(h, 10), VCPU_STOP_HALT);
	CU_ASSERT_EQUAL(st->rip, HCODE + 0x11);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 4), K_DATA);		/* error code */
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 4, 4), CODE + 6);	/* the faulting insn */
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 4), U_CODE);
	CU_ASSERT(swh_peek_val(h, sp + 12, 4) & X86_RFLAGS_RF);	/* fault: RF in the image */
	CU_ASSERT(st->rflags & X86_RFLAGS_IF);			/* trap gate */
	swh_free(h);
}

static void test_long_int(void)
{
	struct swh *h = new_h(SWH_LONG64);
	static const uint8_t code[] = { 0xcd, 0x20, 0xcd, 0x21 };	/* int 0x20; int 0x21 */
	static const uint8_t iretq[] = { 0x48, 0xcf };
	static const uint8_t pf[] = { 0x48, 0x8b, 0x03 };		/* mov rax, [rbx] */
	struct x86_state *st = &h->cpu.st;
	uint64_t sp;

	std_gdt(h, true);
	kernel64(h);
	idt64(h, 0x20, HCODE, SW_SYS_INT32, 0, 1, true);
	idt64(h, 0x21, HCODE, SW_SYS_INT32, 3, 0, true);
	idt64(h, X86_PF, HCODE + 0x10, SW_SYS_INT32, 0, 0, true);
	swh_poke(h, HCODE, iretq, sizeof(iretq));
	swh_poke_val(h, HCODE + 0x10, 0xf4, 1);
	st->rflags |= X86_RFLAGS_IF;
	swh_load_code(h, CODE, code, sizeof(code));

	/* IST1 at the same privilege: new RSP from the TSS, aligned, SS kept. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, HCODE);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, ISTK - 40);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 8), CODE + 2);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 8), K_CODE64);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 24, 8), 0x8000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 32, 8), K_DATA);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, K_DATA);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_IF);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 2);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	CU_ASSERT(st->rflags & X86_RFLAGS_IF);

	/* Ring 3 -> 0: RSP0, null SS, SS:RSP pushed; IRETQ back. */
	to_user64(h);
	st->gpr[R_SP] = 0x7ff8;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 0);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, 0);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, STK0 - 40);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 8), U_CODE64);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 24, 8), 0x7ff8);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 32, 8), U_DATA);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 4);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, U_CODE64);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, U_DATA);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x7ff8);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);

	/* #PF from ring 3 through the loop: CR2 written, error code pushed. */
	st->gpr[R_BX] = 0x40000000 + 0x123;	/* beyond the 1 GiB identity map */
	swh_load_code(h, CODE + 0x100, pf, sizeof(pf));
	CU_ASSERT_EQUAL(swh_run_events(h, 10), VCPU_STOP_HALT);
	CU_ASSERT_EQUAL(st->cr2, 0x40000123);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 8), PF_U);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 8), CODE + 0x100);
	swh_free(h);
}

static void test_double_triple(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = { 0x8e, 0xd8 };	/* mov ds, ax */
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	/* #GP's gate is not present: delivering #GP raises #NP -> #DF. */
	idt32(h, X86_GP, K_CODE, HCODE, SW_SYS_INT32, 0, false);
	idt32(h, X86_DF, K_CODE, HCODE, SW_SYS_INT32, 0, true);
	swh_poke_val(h, HCODE, 0xf4, 1);
	st->gpr[R_AX] = 0x1230;	/* beyond the GDT limit */
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run_events(h, 10), VCPU_STOP_HALT);
	CU_ASSERT_EQUAL(st->rip, HCODE + 1);
	CU_ASSERT_EQUAL(swh_peek_val(h, st->gpr[R_SP], 4), 0);	/* #DF error code */
	CU_ASSERT_EQUAL(swh_peek_val(h, st->gpr[R_SP] + 4, 4), CODE);

	/* And with no #DF handler either: shutdown. */
	idt32(h, X86_DF, K_CODE, HCODE, SW_SYS_INT32, 0, false);
	st->gpr[R_SP] = 0x8000;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run_events(h, 10), VCPU_STOP_SHUTDOWN);
	swh_free(h);
}

/* ---- far transfers, fast system calls ---- */

static void test_call_gate(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0x68, 0x22, 0x22, 0x22, 0x22,			/* push 0x22222222 */
		0x68, 0x11, 0x11, 0x11, 0x11,			/* push 0x11111111 */
		0x9a, 0x00, 0x00, 0x00, 0x00, 0x33, 0x00,	/* call 0x33:0 */
	};
	static const uint8_t retf[] = { 0xca, 0x08, 0x00 };	/* retf 8 */
	struct x86_state *st = &h->cpu.st;
	uint64_t gate, sp;
	uint8_t far[7];

	std_gdt(h, false);
	gate = (HCODE & 0xffff) | ((uint64_t)K_CODE << 16) |
	       ((uint64_t)((HCODE & 0xffff0000u) | (1u << 15) | (3u << 13) |
			   (SW_SYS_CALL32 << 8) | 2) << 32);
	swh_poke_val(h, GDT + GATE_SEL, gate, 8);
	swh_poke(h, HCODE, retf, sizeof(retf));
	to_user32(h);
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, HCODE, 5), SWH_OK);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, K_DATA);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, STK0 - 24);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 4), CODE + sizeof(code));
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 4, 4), U_CODE);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 4), 0x11111111);	/* parameters copied */
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 12, 4), 0x22222222);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 16, 4), 0x8000 - 8);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 20, 4), U_DATA);
	/* RETF 8 to ring 3 releases the caller's parameters. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + sizeof(code));
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, U_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, U_DATA);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);
	/* A direct far call to ring-0 code from ring 3: #GP(selector). */
	memcpy(far, code + 10, sizeof(far));
	far[5] = K_CODE;
	swh_load_code(h, CODE + 0x100, far, sizeof(far));
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, K_CODE);
	swh_free(h);
}

static void test_syscall(void)
{
	struct swh *h = new_h(SWH_LONG64);
	static const uint8_t code[] = { 0x0f, 0x05, 0x90 };		/* syscall; nop */
	static const uint8_t sysretq[] = { 0x48, 0x0f, 0x07 };
	struct x86_state *st = &h->cpu.st;
	uint64_t fl = X86_RFLAGS_FIXED | X86_RFLAGS_IF | X86_RFLAGS_DF | X86_RFLAGS_CF;

	std_gdt(h, true);
	to_user64(h);
	st->efer |= X86_EFER_SCE;
	st->msr.star = (0x18ull << 48) | ((uint64_t)K_CODE << 32);
	st->msr.lstar = HCODE;
	st->msr.sfmask = X86_RFLAGS_IF | X86_RFLAGS_DF | X86_RFLAGS_TF;
	st->rflags = fl;
	swh_poke(h, HCODE, sysretq, sizeof(sysretq));
	swh_load_code(h, CODE, code, sizeof(code));

	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, HCODE);
	CU_ASSERT_EQUAL(st->gpr[R_CX], CODE + 2);
	CU_ASSERT_EQUAL(st->gpr[R_R11], fl);
	CU_ASSERT_EQUAL(st->rflags, X86_RFLAGS_FIXED | X86_RFLAGS_CF);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, K_DATA);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 0);
	CU_ASSERT(sw_64bit(&h->cpu));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 2);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, 0x2b);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, 0x23);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);
	CU_ASSERT(sw_64bit(&h->cpu));
	CU_ASSERT_EQUAL(st->rflags, fl);
	/* SYSRET from ring 3: #GP; SYSCALL with EFER.SCE clear: #UD. */
	swh_load_code(h, CODE + 0x100, sysretq, sizeof(sysretq));
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	st->efer &= ~X86_EFER_SCE;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), X86_UD);
	swh_free(h);
}

/* ---- port I/O ---- */

struct io_dev {
	uint64_t last_off, last_val;
	unsigned writes;
};

static uint64_t io_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x5a;
}

static void io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct io_dev *d = opaque;

	d->last_off = off;
	d->last_val = val;
	d->writes++;
}

static const struct io_ops io_dev_ops = { .read = io_read, .write = io_write };

static void test_io_bitmap(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0xe6, 0x80,	/* out 0x80, al */
		0xe6, 0x81,	/* out 0x81, al */
		0xec,		/* in al, dx */
		0x66, 0xef,	/* out dx, ax */
	};
	struct x86_state *st = &h->cpu.st;
	struct io_dev dev = { 0 };

	CU_ASSERT_EQUAL_FATAL(pio_register(&h->vm, 0x80, 2, &io_dev_ops, &dev, "test"), 0);
	std_gdt(h, false);
	/* Bitmap at 0x68: every port denied but 0x80; one terminator byte. */
	swh_poke_val(h, TSS + 0x66, 0x68, 2);
	for (unsigned i = 0; i <= 0x80; i++)
		swh_poke_val(h, TSS + 0x68 + i, i == 0x10 ? 0xfe : 0xff, 1);
	st->tr.limit = 0x68 + 0x80;
	to_user32(h);
	st->gpr[R_AX] = 0x42;
	st->gpr[R_DX] = 0x80;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(dev.writes, 1);
	CU_ASSERT_EQUAL(dev.last_val, 0x42);
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(dev.writes, 1);
	st->rip = CODE + 4;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_AX] & 0xff, 0x5a);
	/* A 16-bit access covers 0x81 too. */
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	/* IOPL 3 skips the bitmap. */
	st->rflags |= X86_RFLAGS_IOPL;
	st->rip = CODE + 2;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(dev.writes, 2);
	CU_ASSERT_EQUAL(dev.last_off, 1);
	/* No bitmap inside the TSS limit: denied. */
	st->rflags &= ~X86_RFLAGS_IOPL;
	st->tr.limit = 0x67;
	st->rip = CODE;
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	swh_free(h);
}

/* ---- CPUID, MSRs, control registers ---- */

static void test_cpuid(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = { 0x0f, 0xa2 };
	static const uint32_t leaves[] = { 0, 1, 7, 0x40000000, 0x80000000, 0x80000001,
					   0x80000002, 0x80000008 };
	struct x86_state *st = &h->cpu.st;

	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		uint32_t out[4];

		cpuid_model_lookup(&cpuid_global, 0, leaves[i], 0, out);
		st->gpr[R_AX] = leaves[i];
		st->gpr[R_CX] = 0;
		swh_load_code(h, CODE, code, sizeof(code));
		CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
		CU_ASSERT_EQUAL(st->gpr[R_AX], out[0]);
		CU_ASSERT_EQUAL(st->gpr[R_BX], out[1]);
		CU_ASSERT_EQUAL(st->gpr[R_CX], out[2]);
		CU_ASSERT_EQUAL(st->gpr[R_DX], out[3]);
	}
	st->gpr[R_AX] = 0x40000000;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	{
		char sig[13] = { 0 };
		uint32_t r[3] = { st->gpr[R_BX], st->gpr[R_CX], st->gpr[R_DX] };

		memcpy(sig, r, 12);
		CU_ASSERT_STRING_EQUAL(sig, "TandemTandem");
	}
	swh_free(h);
}

static int run_msr(struct swh *h, bool write, uint32_t idx, uint64_t val)
{
	static const uint8_t rd[] = { 0x0f, 0x32 }, wr[] = { 0x0f, 0x30 };

	h->cpu.st.gpr[R_CX] = idx;
	h->cpu.st.gpr[R_AX] = (uint32_t)val;
	h->cpu.st.gpr[R_DX] = val >> 32;
	swh_load_code(h, CODE, write ? wr : rd, 2);
	return swh_step(h);
}

static void test_msr(void)
{
	struct swh *h = new_h(SWH_LONG64);
	struct x86_state *st = &h->cpu.st;
	uint64_t t;

	CU_ASSERT_EQUAL(run_msr(h, true, MSR_EFER, st->efer | 2), X86_GP);
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_FS_BASE, 0x0000800000000000ull), X86_GP);
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_FS_BASE, 0xffff800012345000ull), SWH_OK);
	CU_ASSERT_EQUAL(st->seg[S_FS].base, 0xffff800012345000ull);
	CU_ASSERT_EQUAL(run_msr(h, false, MSR_FS_BASE, 0), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_AX], 0x12345000);
	CU_ASSERT_EQUAL(st->gpr[R_DX], 0xffff8000);
	CU_ASSERT_EQUAL(run_msr(h, false, 0x12345678, 0), X86_GP);
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_IA32_PAT, 0x0007040600070402ull), X86_GP);
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_IA32_PAT, 0x0007040600070406ull), SWH_OK);
	/* LME cannot change with paging on. */
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_EFER, st->efer & ~X86_EFER_LME), X86_GP);
	/* Writing the TSC moves the guest's clock. */
	CU_ASSERT_EQUAL(run_msr(h, true, MSR_IA32_TSC, 1ull << 40), SWH_OK);
	t = sw_rdtsc(&h->cpu);
	CU_ASSERT(t >= (1ull << 40) && t < (1ull << 40) + (1ull << 36));
	/* SWAPGS exchanges GS.base and KERNEL_GS_BASE. */
	{
		static const uint8_t swapgs[] = { 0x0f, 0x01, 0xf8 };

		st->seg[S_GS].base = 0x1000;
		st->msr.kernel_gs_base = 0x2000;
		swh_load_code(h, CODE, swapgs, sizeof(swapgs));
		CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
		CU_ASSERT_EQUAL(st->seg[S_GS].base, 0x2000);
		CU_ASSERT_EQUAL(st->msr.kernel_gs_base, 0x1000);
	}
	/* Machine check: no banks (MCG_CAP 0), MCG_STATUS 0, the bank MSRs absent. */
	st->gpr[R_AX] = st->gpr[R_DX] = 0x5555;
	CU_ASSERT_EQUAL(run_msr(h, false, 0x179, 0), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_AX] | st->gpr[R_DX], 0);
	CU_ASSERT_EQUAL(run_msr(h, false, 0x17a, 0), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_AX] | st->gpr[R_DX], 0);
	CU_ASSERT_EQUAL(run_msr(h, true, 0x17a, 0), SWH_OK);
	CU_ASSERT_EQUAL(run_msr(h, true, 0x179, 0), X86_GP);	/* read-only */
	CU_ASSERT_EQUAL(run_msr(h, false, 0x17b, 0), X86_GP);	/* MCG_CTL: no MCG_CTL_P */
	CU_ASSERT_EQUAL(run_msr(h, false, 0x400, 0), X86_GP);	/* MC0_CTL: no bank 0 */
	/*
	 * The legacy AMD counters exist on AMD models only: they keep what is
	 * written (event 0x76 counts nothing). Both vendors, by changing the
	 * model's leaf 0.
	 */
	for (unsigned amd = 0; amd < 2; amd++) {
		struct cpuid_model saved = cpuid_global;

		for (unsigned i = 0; i < cpuid_global.nr; i++) {
			struct cpuid_leaf *l = &cpuid_global.leaf[i];

			if (l->function == 0) {
				memcpy(&l->ebx, amd ? "Auth" : "Genu", 4);
				memcpy(&l->edx, amd ? "enti" : "ineI", 4);
				memcpy(&l->ecx, amd ? "cAMD" : "ntel", 4);
			}
		}
		for (uint32_t idx = 0xc0010000u; idx <= 0xc0010008u; idx++) {
			int want = amd && idx <= 0xc0010007u ? SWH_OK : X86_GP;

			st->gpr[R_AX] = st->gpr[R_DX] = 0x5555;
			CU_ASSERT_EQUAL(run_msr(h, true, idx, 0x430076), want);
			CU_ASSERT_EQUAL(run_msr(h, false, idx, 0), want);
			if (want == SWH_OK)
				CU_ASSERT_EQUAL((st->gpr[R_DX] << 32) | (uint32_t)st->gpr[R_AX],
						0x430076);
		}
		cpuid_global = saved;
	}
	/* Ring 3: RDMSR is privileged. */
	set_cpl(h, 3);
	CU_ASSERT_EQUAL(run_msr(h, false, MSR_EFER, 0), X86_GP);
	swh_free(h);
}

/* CR4.DE (the model has DE): accepted, and then DR4/DR5 are #UD instead of DR6/DR7. */
static void test_cr4_de(void)
{
	struct swh *h = new_h(SWH_LONG64);
	struct x86_state *st = &h->cpu.st;
	static const uint8_t mov_cr4[] = { 0x0f, 0x22, 0xe0 };	/* mov cr4, rax */
	static const uint8_t mov_dr4[] = { 0x0f, 0x21, 0xe0 };	/* mov rax, dr4 */

	if (!(sw_cpuid_reg(1, 0, 3) & CPUID_1_EDX_DE)) {
		/* The host lacks DE: then CR4.DE stays reserved. */
		st->gpr[R_AX] = st->cr4 | X86_CR4_DE;
		swh_load_code(h, CODE, mov_cr4, sizeof(mov_cr4));
		CU_ASSERT_EQUAL(swh_step(h), X86_GP);
		swh_free(h);
		return;
	}
	swh_load_code(h, CODE, mov_dr4, sizeof(mov_dr4));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_AX] & 0xffff0ff0u, 0xffff0ff0u);	/* DR6 */
	st->gpr[R_AX] = st->cr4 | X86_CR4_DE;
	swh_load_code(h, CODE, mov_cr4, sizeof(mov_cr4));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT(st->cr4 & X86_CR4_DE);
	swh_load_code(h, CODE, mov_dr4, sizeof(mov_dr4));
	CU_ASSERT_EQUAL(swh_step(h), X86_UD);
	swh_free(h);
}

static void test_real_to_prot(void)
{
	struct swh *h = new_h(SWH_REAL);
	static const uint8_t code[] = {
		0x0f, 0x01, 0x16, 0x00, 0x06,	/* lgdt [0x600] */
		0x0f, 0x20, 0xc0,		/* mov eax, cr0 */
		0x66, 0x83, 0xc8, 0x01,		/* or eax, 1 */
		0x0f, 0x22, 0xc0,		/* mov cr0, eax */
		0xea, 0x20, 0x70, 0x08, 0x00,	/* jmp 0x08:0x7020 */
	};
	static const uint8_t pg_no_pe[] = {
		0x66, 0xb8, 0x00, 0x00, 0x00, 0x80,	/* mov eax, 0x80000000 */
		0x0f, 0x22, 0xc0,			/* mov cr0, eax */
	};
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	st->gdt.base = 0;
	st->gdt.limit = 0;
	swh_poke_val(h, 0x600, GDT_LIMIT, 2);
	swh_poke_val(h, 0x602, GDT, 4);
	swh_poke_val(h, 0x7020, 0xf4, 1);
	swh_load_code(h, 0x7000, pg_no_pe, sizeof(pg_no_pe));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 5), X86_GP);
	CU_ASSERT_FALSE(st->cr0 & X86_CR0_PG);

	swh_load_code(h, 0x7000, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 10), SWH_HALT);
	CU_ASSERT_EQUAL(st->gdt.base, GDT);
	CU_ASSERT_EQUAL(st->gdt.limit, GDT_LIMIT);
	CU_ASSERT(st->cr0 & X86_CR0_PE);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	CU_ASSERT_EQUAL(sw_code_bits(&h->cpu), 32);
	CU_ASSERT_EQUAL(st->rip, 0x7021);
	/* The descriptor's accessed bit was set in the GDT. */
	CU_ASSERT(swh_peek_val(h, GDT + K_CODE + 5, 1) & 1);
	swh_free(h);
}

static void test_long_mode_activation(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0x0f, 0x20, 0xe0,			/* mov eax, cr4 */
		0x83, 0xc8, 0x20,			/* or eax, 0x20 (PAE) */
		0x0f, 0x22, 0xe0,			/* mov cr4, eax */
		0xb9, 0x80, 0x00, 0x00, 0xc0,		/* mov ecx, EFER */
		0x0f, 0x32,				/* rdmsr */
		0x0d, 0x00, 0x01, 0x00, 0x00,		/* or eax, LME */
		0x0f, 0x30,				/* wrmsr */
		0xb8, 0x00, 0x10, 0x00, 0x00,		/* mov eax, 0x1000 */
		0x0f, 0x22, 0xd8,			/* mov cr3, eax */
		0x0f, 0x20, 0xc0,			/* mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80,		/* or eax, PG */
		0x0f, 0x22, 0xc0,			/* mov cr0, eax */
		0xea, 0x00, 0x01, 0x01, 0x00, 0x38, 0x00,	/* jmp 0x38:0x10100 */
	};
	static const uint8_t bad_cr4[] = {
		0xb8, 0x00, 0x00, 0x40, 0x00,	/* mov eax, 1 << 22 (PKE: not in the model) */
		0x0f, 0x22, 0xe0,		/* mov cr4, eax */
	};
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	/* Identity map of the first 1 GiB with 2 MiB pages, tables at 0x1000. */
	swh_poke_val(h, 0x1000, 0x2000 | PTE_P | PTE_W, 8);
	swh_poke_val(h, 0x2000, 0x3000 | PTE_P | PTE_W, 8);
	for (uint64_t i = 0; i < 512; i++)
		swh_poke_val(h, 0x3000 + 8 * i, (i << 21) | PTE_P | PTE_W | PTE_PS, 8);
	swh_poke_val(h, 0x10100, 0xf4, 1);

	swh_load_code(h, CODE, bad_cr4, sizeof(bad_cr4));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 5), X86_GP);
	CU_ASSERT_EQUAL(st->cr4, 0);

	/* Paging with LME but without PAE: #GP, nothing changes. */
	st->efer = X86_EFER_LME;
	swh_load_code(h, CODE + 0x1f, code + 0x1f, sizeof(code) - 0x1f);
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 5), X86_GP);
	CU_ASSERT_FALSE(st->cr0 & X86_CR0_PG);
	CU_ASSERT_EQUAL(st->efer, X86_EFER_LME);
	st->efer = 0;

	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, ~0ull, 20), SWH_HALT);
	CU_ASSERT(st->efer & X86_EFER_LMA);
	CU_ASSERT(st->cr0 & X86_CR0_PG);
	CU_ASSERT(sw_64bit(&h->cpu));
	CU_ASSERT_EQUAL(st->rip, 0x10101);
	/* CR4.PAE cannot be cleared in long mode. */
	{
		/* xor eax, eax; mov cr4, rax */
		static const uint8_t clr[] = { 0x31, 0xc0, 0x0f, 0x22, 0xe0 };

		swh_load_code(h, 0x10200, clr, sizeof(clr));
		CU_ASSERT_EQUAL(swh_run(h, ~0ull, 5), X86_GP);
		CU_ASSERT(st->cr4 & X86_CR4_PAE);
	}
	swh_free(h);
}

/* ---- segments and descriptor tables ---- */

static int load_ds(struct swh *h, uint16_t sel, bool ss)
{
	static const uint8_t mov_ds[] = { 0x8e, 0xd8 }, mov_ss[] = { 0x8e, 0xd0 };

	h->cpu.st.gpr[R_AX] = sel;
	swh_load_code(h, CODE, ss ? mov_ss : mov_ds, 2);
	return swh_step(h);
}

static void test_seg_loads(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t lar_lsl[] = {
		0x0f, 0x02, 0xd8,	/* lar ebx, ax */
		0x0f, 0x03, 0xc8,	/* lsl ecx, ax */
		0x0f, 0x00, 0xe0,	/* verr ax */
	};
	static const uint8_t verw[] = { 0x0f, 0x00, 0xe8 };
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	CU_ASSERT_EQUAL(load_ds(h, 0, false), SWH_OK);
	CU_ASSERT(st->seg[S_DS].attr & SEG_ATTR_UNUSABLE);
	CU_ASSERT_EQUAL(load_ds(h, 0x1230, false), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0x1230);
	CU_ASSERT_EQUAL(load_ds(h, NP_DATA | 3, false), X86_NP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, NP_DATA);
	CU_ASSERT_EQUAL(load_ds(h, U_DATA, false), SWH_OK);
	CU_ASSERT_EQUAL(st->seg[S_DS].sel, U_DATA);
	CU_ASSERT_EQUAL(SEG_ATTR_DPL(st->seg[S_DS].attr), 3);
	CU_ASSERT(swh_peek_val(h, GDT + 0x20 + 5, 1) & 1);	/* accessed */
	CU_ASSERT_EQUAL(load_ds(h, 0, true), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(load_ds(h, U_DATA, true), X86_GP);	/* RPL/DPL 3 at CPL 0 */
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0x20);
	CU_ASSERT_EQUAL(load_ds(h, K_CODE, true), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, K_CODE);
	st->int_shadow = false;
	CU_ASSERT_EQUAL(load_ds(h, K_DATA, true), SWH_OK);
	CU_ASSERT(st->int_shadow);
	/* From ring 3, ring-0 data is out of reach. */
	to_user32(h);
	CU_ASSERT_EQUAL(load_ds(h, K_DATA, false), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, K_DATA);

	st->gpr[R_AX] = U_CODE;
	swh_load_code(h, CODE, lar_lsl, sizeof(lar_lsl));
	CU_ASSERT_EQUAL(swh_run(h, CODE + sizeof(lar_lsl), 5), SWH_OK);
	/* Bits 19:16 are undefined per the SDM; we return them as zero. */
	CU_ASSERT_EQUAL(st->gpr[R_BX], 0x00c0fb00);
	CU_ASSERT_EQUAL(st->gpr[R_CX], 0xffffffff);
	CU_ASSERT(st->rflags & X86_RFLAGS_ZF);
	swh_load_code(h, CODE, verw, sizeof(verw));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_ZF);
	/* LAR of a ring-0 segment from ring 3: ZF = 0, destination kept. */
	st->gpr[R_AX] = K_DATA;
	st->gpr[R_BX] = 0x77;
	swh_load_code(h, CODE, lar_lsl, 3);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_ZF);
	CU_ASSERT_EQUAL(st->gpr[R_BX], 0x77);
	swh_free(h);
}

static void test_tables(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = {
		0x0f, 0x00, 0xd8,			/* ltr ax */
		0x0f, 0x00, 0xcb,			/* str ebx */
		0x0f, 0x01, 0x05, 0x00, 0x07, 0x00, 0x00,	/* sgdt [0x700] */
		0x0f, 0x01, 0x1d, 0x00, 0x07, 0x00, 0x00,	/* lidt [0x700] */
		0x0f, 0x00, 0xd8,			/* ltr ax (busy now) */
	};
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	memset(&st->tr, 0, sizeof(st->tr));
	st->gpr[R_AX] = TSS32_SEL;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, CODE + 20, 5), SWH_OK);
	CU_ASSERT_EQUAL(st->tr.sel, TSS32_SEL);
	CU_ASSERT_EQUAL(st->tr.base, TSS);
	CU_ASSERT_EQUAL(st->tr.limit, 0x67);
	CU_ASSERT_EQUAL(SEG_ATTR_TYPE(st->tr.attr), SW_SYS_TSS32_BUSY);
	CU_ASSERT_EQUAL(swh_peek_val(h, GDT + TSS32_SEL + 5, 1), 0x8b);
	CU_ASSERT_EQUAL(st->gpr[R_BX], TSS32_SEL);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x700, 2), GDT_LIMIT);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x702, 4), GDT);
	CU_ASSERT_EQUAL(st->idt.base, GDT);
	CU_ASSERT_EQUAL(st->idt.limit, GDT_LIMIT);
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, TSS32_SEL);
	swh_free(h);
}

/* ---- CLI/STI/HLT, x87 availability ---- */

static void test_flags_hlt(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t cli[] = { 0xfa }, sti_hlt[] = { 0xfb, 0xf4 };
	struct x86_state *st = &h->cpu.st;

	to_user32(h);
	swh_load_code(h, CODE, cli, 1);
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	swh_load_code(h, CODE, sti_hlt + 1, 1);
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	/* IOPL 3 lets ring 3 change IF. */
	st->rflags |= X86_RFLAGS_IOPL | X86_RFLAGS_IF;
	swh_load_code(h, CODE, cli, 1);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_IF);

	swh_set_mode(h, SWH_PROT32);
	swh_load_code(h, CODE, sti_hlt, sizeof(sti_hlt));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT(st->rflags & X86_RFLAGS_IF);
	CU_ASSERT(st->int_shadow);
	CU_ASSERT_EQUAL(swh_step(h), SWH_HALT);
	CU_ASSERT(st->halted);
	CU_ASSERT_EQUAL(st->rip, CODE + 2);
	swh_free(h);
}

static void test_fpu_absent(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t fwait[] = { 0x9b }, fninit[] = { 0xdb, 0xe3 };
	struct x86_state *st = &h->cpu.st;

	st->cr0 |= X86_CR0_TS | X86_CR0_MP;
	swh_load_code(h, CODE, fwait, 1);
	CU_ASSERT_EQUAL(swh_step(h), X86_NM);
	st->cr0 &= ~X86_CR0_MP;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	swh_load_code(h, CODE, fninit, sizeof(fninit));
	CU_ASSERT_EQUAL(swh_step(h), X86_NM);
	st->cr0 = (st->cr0 & ~X86_CR0_TS) | X86_CR0_EM;
	CU_ASSERT_EQUAL(swh_step(h), X86_NM);
	swh_free(h);
}

/* ---- virtual-8086 mode, SYSENTER, 64-bit call gates, odd gates and stacks ---- */

static void test_vm86(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t iretd[] = { 0xcf };
	static const uint8_t int30[] = { 0xcd, 0x30 };
	static const uint32_t frame[] = {
		0x0010, 0x2000,
		X86_RFLAGS_VM | X86_RFLAGS_IOPL | X86_RFLAGS_IF | X86_RFLAGS_FIXED,
		0x0ff0, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000,
	};
	struct x86_state *st = &h->cpu.st;
	uint64_t sp;

	std_gdt(h, false);
	idt32(h, 0x30, K_CODE, HCODE, SW_SYS_INT32, 3, true);
	swh_poke(h, HCODE, iretd, 1);
	swh_poke(h, 0x20010, int30, sizeof(int30));
	swh_poke(h, 0x8000 - sizeof(frame), frame, sizeof(frame));
	st->gpr[R_SP] = 0x8000 - sizeof(frame);
	swh_load_code(h, CODE, iretd, 1);
	/* IRETD with VM=1 at CPL 0 enters virtual-8086 mode with all six selectors. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT(sw_vm86(&h->cpu));
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);
	CU_ASSERT_EQUAL(st->seg[S_CS].base, 0x20000);
	CU_ASSERT_EQUAL(st->rip, 0x10);
	CU_ASSERT_EQUAL(st->seg[S_SS].base, 0x30000);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x0ff0);
	CU_ASSERT_EQUAL(st->seg[S_DS].base, 0x50000);
	CU_ASSERT_EQUAL(st->seg[S_GS].sel, 0x7000);
	CU_ASSERT_EQUAL(st->seg[S_DS].attr, 0xf3);
	/* INT n (IOPL 3) leaves for ring 0 and saves the data segments too. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_FALSE(sw_vm86(&h->cpu));
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, STK0 - 36);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 4), 0x12);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 4, 4), 0x2000);
	CU_ASSERT(swh_peek_val(h, sp + 8, 4) & X86_RFLAGS_VM);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 12, 4), 0x0ff0);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 16, 4), 0x3000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 20, 4), 0x4000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 24, 4), 0x5000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 28, 4), 0x6000);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 32, 4), 0x7000);
	CU_ASSERT(st->seg[S_DS].attr & SEG_ATTR_UNUSABLE);
	/* And IRETD brings it all back. */
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT(sw_vm86(&h->cpu));
	CU_ASSERT_EQUAL(st->rip, 0x12);
	CU_ASSERT_EQUAL(st->seg[S_DS].base, 0x50000);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x0ff0);
	/* With IOPL < 3, INT n in virtual-8086 mode is #GP(0). */
	st->rflags &= ~X86_RFLAGS_IOPL;
	st->rip = 0x10;
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	swh_free(h);
}

static void test_sysenter(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t code[] = { 0x0f, 0x34 }, sysexit[] = { 0x0f, 0x35 };
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	/* No SYSENTER_CS: #GP(0). */
	to_user32(h);
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	st->msr.sysenter_cs = K_CODE;
	st->msr.sysenter_esp = STK0;
	st->msr.sysenter_eip = HCODE;
	st->rflags |= X86_RFLAGS_IF;
	swh_poke(h, HCODE, sysexit, sizeof(sysexit));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, HCODE);
	CU_ASSERT_EQUAL(st->gpr[R_SP], STK0);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, K_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, K_DATA);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 0);
	CU_ASSERT_FALSE(st->rflags & X86_RFLAGS_IF);
	st->gpr[R_CX] = 0x7000;
	st->gpr[R_DX] = CODE + 0x40;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 0x40);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x7000);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, U_CODE);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, U_DATA);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 3);
	swh_free(h);
}

static void test_call_gate64(void)
{
	struct swh *h = new_h(SWH_LONG64);
	static const uint8_t code[] = { 0x48, 0xff, 0x1b };	/* call far [rbx] (m16:64) */
	static const uint8_t retfq[] = { 0x48, 0xcb };
	struct x86_state *st = &h->cpu.st;
	uint64_t sp;

	std_gdt(h, true);
	st->gdt.limit = 0x6f;
	swh_poke_val(h, GDT + 0x60, (HCODE & 0xffff) | ((uint64_t)K_CODE64 << 16) |
		     ((uint64_t)((HCODE & 0xffff0000u) | (1u << 15) | (3u << 13) |
				 (SW_SYS_CALL32 << 8)) << 32), 8);
	swh_poke_val(h, GDT + 0x68, HCODE >> 32, 8);
	swh_poke(h, HCODE, retfq, sizeof(retfq));
	swh_poke_val(h, 0x600, 0xdeadbeef, 8);	/* offset: ignored through a gate */
	swh_poke_val(h, 0x608, 0x63, 2);
	to_user64(h);
	st->gpr[R_BX] = 0x600;
	st->gpr[R_SP] = 0x7ff8;
	swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, HCODE);
	CU_ASSERT_EQUAL(sw_cpl(&h->cpu), 0);
	CU_ASSERT(sw_64bit(&h->cpu));
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, 0);
	sp = st->gpr[R_SP];
	CU_ASSERT_EQUAL(sp, STK0 - 32);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp, 8), CODE + 3);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 8, 8), U_CODE64);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 16, 8), 0x7ff8);
	CU_ASSERT_EQUAL(swh_peek_val(h, sp + 24, 8), U_DATA);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->rip, CODE + 3);
	CU_ASSERT_EQUAL(st->seg[S_CS].sel, U_CODE64);
	CU_ASSERT_EQUAL(st->seg[S_SS].sel, U_DATA);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x7ff8);
	swh_free(h);
}

static void test_gates_stacks(void)
{
	struct swh *h = new_h(SWH_PROT32);
	static const uint8_t ints[] = { 0xcd, 0x40, 0xcd, 0x50, 0xcd, 0x51 };
	static const uint8_t jmp_tss[] = { 0xea, 0, 0, 0, 0, TSS32_SEL, 0 };
	struct x86_state *st = &h->cpu.st;

	std_gdt(h, false);
	idt32(h, 0x40, K_CODE, HCODE, SW_SYS_TRAP32, 0, true);
	idt32(h, 0x50, TSS32_SEL, 0, SW_SYS_TASK, 0, true);
	idt32(h, 0x51, K_CODE, HCODE, SW_SYS_INT16, 0, true);
	/* Expand-down stack: valid offsets are above its limit. */
	seg_cache(&st->seg[S_SS], K_DATA, 0xc097);
	st->seg[S_SS].limit = 0xfff;
	st->gpr[R_SP] = 0x1008;
	swh_load_code(h, CODE, ints, sizeof(ints));
	CU_ASSERT_EQUAL(swh_step(h), X86_SS);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	st->gpr[R_SP] = 0x100c;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x1000);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x1000, 4), CODE + 2);
	/*
	 * A task gate to the current TSS, busy in the GDT as LTR leaves it:
	 * #GP(TSS selector) and nothing changes (task.c; the kit guest
	 * tests/guests/tasks.c runs real switches).
	 */
	swh_poke_val(h, GDT + TSS32_SEL + 5, 0x8b, 1);
	st->gpr[R_SP] = 0x8000;
	seg_cache(&st->seg[S_SS], K_DATA, 0xc093);
	st->rip = CODE + 2;
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, TSS32_SEL);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000);
	CU_ASSERT_EQUAL(st->tr.sel, TSS32_SEL);
	/* A 16-bit interrupt gate pushes a 16-bit frame. */
	st->rip = CODE + 4;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(st->gpr[R_SP], 0x8000 - 6);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x8000 - 6, 2), (CODE + 6) & 0xffff);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x8000 - 4, 2), K_CODE);
	CU_ASSERT_EQUAL(st->rip, HCODE & 0xffff);
	/* A far JMP to the busy current TSS: #GP(selector). */
	swh_set_mode(h, SWH_PROT32);
	std_gdt(h, false);
	swh_poke_val(h, GDT + TSS32_SEL + 5, 0x8b, 1);
	swh_load_code(h, CODE, jmp_tss, sizeof(jmp_tss));
	CU_ASSERT_EQUAL(swh_step(h), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, TSS32_SEL);
	swh_free(h);
}

/* SMEP and SMAP are not in the model, but the MMU honours them if CR4 has them. */
static void test_smep_smap(void)
{
	struct swh *h = new_h(SWH_LONG64);
	struct x86_state *st = &h->cpu.st;

	st->cr4 |= X86_CR4_SMEP | X86_CR4_SMAP;
	sw_mmu_paging_changed(&h->cpu);
	/* The harness identity map is user-accessible: supervisor fetch / data faults. */
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_EXEC, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_I);
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_READ, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P);
	st->rflags |= X86_RFLAGS_AC;
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_WRITE, NULL), -1);
	/* Implicit supervisor accesses ignore AC. */
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_READ | SW_ACC_SYS, NULL), X86_PF);
	st->rflags &= ~X86_RFLAGS_AC;
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_WRITE, NULL), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.err, PF_P | PF_W);
	/* User mode is unaffected. */
	set_cpl(h, 3);
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_EXEC, NULL), -1);
	CU_ASSERT_EQUAL(xlate(h, CODE, SW_ACC_WRITE, NULL), -1);
	swh_free(h);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "32-bit paging, A/D bits, #PF codes, WP", test_paging32 },
		{ "PAE paging, NX, reserved bits, PDPTE load", test_pae },
		{ "4-level paging, U/S, WP, NX, 1G pages", test_long4 },
		{ "paging off: identity, no host pointer for MMIO", test_paging_off },
		{ "INVLPG, large pages", test_invlpg },
		{ "contexts across MOV CR3, PT write tracking", test_pt_tracking },
		{ "real-mode INT and #DE through the IVT", test_real_int },
		{ "protected-mode interrupts, ring 3 -> 0", test_prot_int },
		{ "long-mode interrupts, IST, #PF and CR2", test_long_int },
		{ "double fault and triple fault", test_double_triple },
		{ "far call through a call gate, RETF imm", test_call_gate },
		{ "SYSCALL / SYSRET round trip", test_syscall },
		{ "IN/OUT and the TSS I/O bitmap", test_io_bitmap },
		{ "CPUID from the model", test_cpuid },
		{ "RDMSR/WRMSR, TSC, SWAPGS", test_msr }, { "CR4.DE", test_cr4_de },
		{ "real mode -> protected mode", test_real_to_prot },
		{ "long mode activation, CR0/CR4 checks", test_long_mode_activation },
		{ "segment loads, LAR/LSL/VERR/VERW", test_seg_loads },
		{ "LTR busy bit, STR, SGDT, LIDT", test_tables },
		{ "CLI/STI/HLT privilege, STI shadow", test_flags_hlt },
		{ "x87 #NM with CR0.TS/EM/MP", test_fpu_absent },
		{ "virtual-8086 mode: IRET in, INT out and back", test_vm86 },
		{ "SYSENTER / SYSEXIT", test_sysenter },
		{ "64-bit call gate, RETFQ to ring 3", test_call_gate64 },
		{ "trap/task/16-bit gates, expand-down stack", test_gates_stacks },
		{ "SMEP / SMAP in the MMU", test_smep_smap },
	};
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sw_sys", NULL, NULL);
	for (unsigned i = 0; s && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
