// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the software CPU core: decode cache and self-modifying
 * code, segmentation checks, real-mode wrap, RIP-relative operands, byte
 * registers, stack widths, decoder faults, decimal adjust, tracing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "machine/cpuid.h"
#include "tests/unit/sw_harness.h"

#define CODE	0x10000ull

static struct swh *h;

static void fresh(enum swh_mode mode)
{
	swh_free(h);
	h = swh_new(4 << 20, mode);
	CU_ASSERT_FATAL(h != NULL);
}

static uint64_t run_code(const void *code, size_t len, int expect)
{
	uint64_t end = swh_load_code(h, CODE, code, len);

	CU_ASSERT_EQUAL(swh_run(h, end, 100), expect);
	return end;
}

/* ---- decode cache / SMC ---- */

static void test_smc_same_page(void)
{
	/*
	 * 0: add byte [rip + 2], 1	; bumps the imm8 of the next insn
	 * 7: add eax, 5		; (83 c0 05)
	 */
	static const uint8_t code[] = { 0x80, 0x05, 0x02, 0x00, 0x00, 0x00, 0x01,
					0x83, 0xc0, 0x05 };
	struct sw_decode_stats st;
	uint64_t end;

	fresh(SWH_LONG64);
	end = swh_load_code(h, CODE, code, sizeof(code));
	/* Execute "add eax, 5" once so that it is cached. */
	h->cpu.st.rip = CODE + 7;
	CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 5);
	CU_ASSERT(h->svm.page_flags[CODE >> 12] & SW_PAGE_CODE);

	/* Now patch it from the guest and run it again: the new byte must be seen. */
	h->cpu.st.rip = CODE;
	CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	CU_ASSERT_EQUAL(swh_peek_val(h, CODE + 9, 1), 6);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 5 + 6);
	sw_decode_get_stats(&h->svm, &st);
	CU_ASSERT(st.invalidations >= 1);
}

static void test_smc_data_next_to_code(void)
{
	/* add dword [rip + 0x100], 1 ; a data write in the code page, not over code */
	static const uint8_t code[] = { 0x83, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01 };
	struct sw_decode_stats before, after;
	uint64_t end;

	fresh(SWH_LONG64);
	end = swh_load_code(h, CODE, code, sizeof(code));
	CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	sw_decode_get_stats(&h->svm, &before);
	for (int i = 0; i < 5; i++) {
		h->cpu.st.rip = CODE;
		CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	}
	sw_decode_get_stats(&h->svm, &after);
	CU_ASSERT_EQUAL(swh_peek_val(h, CODE + 7 + 0x100, 4), 6);
	/* The instruction stayed cached: hits only, no invalidation. */
	CU_ASSERT_EQUAL(after.invalidations, before.invalidations);
	CU_ASSERT_EQUAL(after.misses, before.misses);
	CU_ASSERT_EQUAL(after.hits, before.hits + 5);
}

static void test_cross_page_insn(void)
{
	/* add eax, 0x12345678 (05 imm32) straddling a page boundary */
	static const uint8_t code[] = { 0x05, 0x78, 0x56, 0x34, 0x12 };
	struct sw_decode_stats before, after;
	uint64_t gpa = CODE + 0x1000 - 2;
	uint64_t end;

	fresh(SWH_PROT32);
	sw_decode_get_stats(&h->svm, &before);
	end = swh_load_code(h, gpa, code, sizeof(code));
	h->cpu.st.gpr[R_AX] = 1;
	CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x12345679);
	sw_decode_get_stats(&h->svm, &after);
	CU_ASSERT_EQUAL(after.uncached, before.uncached + 1);

	/* A write to the second page changes the next execution too. */
	swh_poke_val(h, CODE + 0x1000 + 2, 0x00, 1);	/* imm becomes 0x00345678 */
	h->cpu.st.rip = gpa;
	h->cpu.st.gpr[R_AX] = 0;
	CU_ASSERT_EQUAL(swh_run(h, end, 10), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x00345678);
}

/* ---- decoder faults ---- */

static void test_decode_faults(void)
{
	/* 16 bytes: 15 prefixes + nop -> too long */
	uint8_t longi[16];
	static const uint8_t lock_reg[] = { 0xf0, 0x01, 0xc0 };	/* lock add eax, eax */
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	static const uint8_t popcnt[] = { 0xf3, 0x0f, 0xb8, 0xc1 };	/* popcnt eax, ecx */
	static const uint8_t lzcnt[] = { 0xf3, 0x0f, 0xbd, 0xc1 };	/* lzcnt eax, ecx */

	fresh(SWH_LONG64);
	memset(longi, 0x66, sizeof(longi));
	longi[15] = 0x90;
	run_code(longi, sizeof(longi), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(h->cpu.st.rip, CODE);	/* faults leave rip on the insn */
	run_code(lock_reg, sizeof(lock_reg), X86_UD);
	run_code(ud2, sizeof(ud2), X86_UD);
	/* POPCNT and LZCNT as the model (the host's features) says. */
	{
		uint32_t l1[4], l81[4];

		cpuid_model_lookup(&cpuid_global, 0, 1, 0, l1);
		cpuid_model_lookup(&cpuid_global, 0, 0x80000001, 0, l81);
		h->cpu.st.gpr[R_CX] = 0x00f0;
		h->cpu.st.gpr[R_AX] = 0;
		run_code(popcnt, sizeof(popcnt), (l1[2] & CPUID_1_ECX_POPCNT) ? SWH_OK : X86_UD);
		if (l1[2] & CPUID_1_ECX_POPCNT)
			CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 4);
		h->cpu.st.gpr[R_AX] = 0;
		run_code(lzcnt, sizeof(lzcnt), SWH_OK);
		CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], (l81[2] & CPUID_81_ECX_ABM) ? 24 : 7);
	}
	/*
	 * A model without them (KVM may hide them): POPCNT is #UD, and F3 0F BD
	 * runs as BSR (the decoders are set up from the model, as at vCPU start).
	 */
	for (unsigned i = 0; i < cpuid_global.nr; i++) {
		if (cpuid_global.leaf[i].function == 1)
			cpuid_global.leaf[i].ecx &= ~CPUID_1_ECX_POPCNT;
		if (cpuid_global.leaf[i].function == 0x80000001)
			cpuid_global.leaf[i].ecx &= ~CPUID_81_ECX_ABM;
	}
	ZydisDecoderEnableMode(&h->cpu.dec64, ZYDIS_DECODER_MODE_LZCNT, false);
	sw_decode_flush(&h->svm);
	run_code(popcnt, sizeof(popcnt), X86_UD);
	h->cpu.st.gpr[R_CX] = 0x00f0;
	h->cpu.st.gpr[R_AX] = 0;
	run_code(lzcnt, sizeof(lzcnt), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 7);
	cpuid_model_init(&cpuid_global, 1);
}

static void test_fetch_limit(void)
{
	static const uint8_t code[] = { 0x05, 0x01, 0x00, 0x00, 0x00 };	/* add eax, 1 */

	fresh(SWH_PROT32);
	/* CS limit ends in the middle of the instruction: #GP(0) before executing it. */
	h->cpu.st.seg[S_CS].limit = CODE + 2;
	h->cpu.st.gpr[R_AX] = 0;
	run_code(code, sizeof(code), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0);
	h->cpu.st.seg[S_CS].limit = CODE + 4;
	h->cpu.st.rip = CODE;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 1);
}

/* ---- segmentation ---- */

static void test_segment_limits(void)
{
	static const uint8_t load[] = { 0x03, 0x03 };		/* add eax, [ebx] */
	static const uint8_t store[] = { 0x01, 0x03 };		/* add [ebx], eax */
	static const uint8_t load_bp[] = { 0x03, 0x45, 0x00 };	/* add eax, [ebp+0] (SS) */
	static const uint8_t load_cs[] = { 0x2e, 0x03, 0x03 };	/* add eax, cs:[ebx] */

	fresh(SWH_PROT32);
	h->cpu.st.seg[S_DS].limit = 0x1fff;
	h->cpu.st.gpr[R_BX] = 0x1ffc;
	run_code(load, sizeof(load), SWH_OK);
	h->cpu.st.gpr[R_BX] = 0x1ffd;		/* last byte at 0x2000 > limit */
	run_code(load, sizeof(load), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);

	/* Through SS: #SS(0). */
	h->cpu.st.seg[S_SS].limit = 0xfff;
	h->cpu.st.gpr[R_BP] = 0x1000;
	run_code(load_bp, sizeof(load_bp), X86_SS);

	/* Expand-down data segment: offsets above the limit are the valid ones. */
	h->cpu.st.seg[S_DS].attr = 0xc097;	/* data, expand-down, writable, B=1 */
	h->cpu.st.seg[S_DS].limit = 0xfff;
	h->cpu.st.gpr[R_BX] = 0x800;
	run_code(load, sizeof(load), X86_GP);
	h->cpu.st.gpr[R_BX] = 0x1000;
	run_code(load, sizeof(load), SWH_OK);

	/* Read-only data: reads fine, writes #GP and leave memory alone. */
	h->cpu.st.seg[S_DS].attr = 0xc091;
	h->cpu.st.seg[S_DS].limit = 0xffffffff;
	h->cpu.st.gpr[R_BX] = 0x3000;
	swh_poke_val(h, 0x3000, 7, 4);
	h->cpu.st.gpr[R_AX] = 1;
	run_code(load, sizeof(load), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 8);
	run_code(store, sizeof(store), X86_GP);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x3000, 4), 7);

	/* Execute-only code segment is not readable through CS:. */
	h->cpu.st.seg[S_CS].attr = 0xc099;
	run_code(load_cs, sizeof(load_cs), X86_GP);
	h->cpu.st.seg[S_CS].attr = 0xc09b;
	run_code(load_cs, sizeof(load_cs), SWH_OK);

	/* A null (unusable) data segment faults on any access. */
	h->cpu.st.seg[S_DS].attr = SEG_ATTR_UNUSABLE;
	run_code(load, sizeof(load), X86_GP);
}

static void test_real_mode_wrap(void)
{
	static const uint8_t code[] = { 0x02, 0x00 };	/* add al, [bx+si] */
	static const uint8_t word[] = { 0x03, 0x07 };	/* add ax, [bx] */

	fresh(SWH_REAL);
	h->cpu.st.seg[S_CS].sel = CODE >> 4;
	h->cpu.st.seg[S_CS].base = CODE;
	/* DS = 0x2000: base 0x20000. bx + si wraps at 64 KiB. */
	h->cpu.st.seg[S_DS].sel = 0x2000;
	h->cpu.st.seg[S_DS].base = 0x20000;
	swh_poke_val(h, 0x20001, 0x42, 1);
	swh_poke_val(h, 0x30001, 0x99, 1);	/* where no wrap would read */
	h->cpu.st.gpr[R_BX] = 0xffff;
	h->cpu.st.gpr[R_SI] = 2;
	h->cpu.st.gpr[R_AX] = 0;
	run_code(code, sizeof(code), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x42);
	/* A word at offset 0xffff crosses the 64 KiB limit: #GP. */
	run_code(word, sizeof(word), X86_GP);
	/* IP wraps within the segment too: rip stays 16-bit. */
	CU_ASSERT(h->cpu.st.rip <= 0xffff);
}

/* ---- operands ---- */

static void test_rip_relative(void)
{
	/* add eax, [rip + 0x10] ; 67 add eax, [eip + 0x10] */
	static const uint8_t code[] = { 0x03, 0x05, 0x10, 0x00, 0x00, 0x00 };
	static const uint8_t code32[] = { 0x67, 0x03, 0x05, 0x10, 0x00, 0x00, 0x00 };

	fresh(SWH_LONG64);
	swh_poke_val(h, CODE + 6 + 0x10, 0x1234, 4);
	h->cpu.st.gpr[R_AX] = 1;
	run_code(code, sizeof(code), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x1235);

	swh_poke_val(h, CODE + 7 + 0x10, 0x10, 4);
	h->cpu.st.gpr[R_AX] = 1;
	run_code(code32, sizeof(code32), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x11);
}

static void test_byte_registers(void)
{
	static const uint8_t ah_bh[] = { 0x00, 0xfc };		/* add ah, bh */
	static const uint8_t spl_dil[] = { 0x40, 0x00, 0xfc };	/* add spl, dil */
	static const uint8_t r8b[] = { 0x45, 0x00, 0xc8 };	/* add r8b, r9b */
	static const uint8_t eax32[] = { 0x83, 0xc0, 0x01 };	/* add eax, 1 */

	fresh(SWH_LONG64);
	h->cpu.st.gpr[R_AX] = 0x1111111111110100ull;
	h->cpu.st.gpr[R_BX] = 0x2222222222220200ull;
	run_code(ah_bh, sizeof(ah_bh), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 0x1111111111110300ull);

	h->cpu.st.gpr[R_SP] = 0x8010;
	h->cpu.st.gpr[R_DI] = 0x05;
	run_code(spl_dil, sizeof(spl_dil), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0x8015);

	h->cpu.st.gpr[R_R8] = 0xff;
	h->cpu.st.gpr[R_R9] = 0x01;
	run_code(r8b, sizeof(r8b), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_R8], 0);
	CU_ASSERT(h->cpu.st.rflags & X86_RFLAGS_CF);

	/* 32-bit writes zero the upper half in 64-bit mode. */
	h->cpu.st.gpr[R_AX] = 0xffffffff00000001ull;
	run_code(eax32, sizeof(eax32), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 2);
}

static int push_pop(uint64_t val, unsigned size, uint64_t *out)
{
	if (sigsetjmp(h->cpu.jmp, 0))
		return h->cpu.exc.vector;
	sw_push(&h->cpu, val, size);
	*out = sw_pop(&h->cpu, size);
	return SWH_OK;
}

static void test_stack_widths(void)
{
	uint64_t v;

	/* Real mode: SP wraps at 64 KiB. */
	fresh(SWH_REAL);
	h->cpu.st.seg[S_SS].base = 0x30000;
	h->cpu.st.gpr[R_SP] = 0xabcd0000;	/* upper bits of ESP are kept */
	if (sigsetjmp(h->cpu.jmp, 0)) {
		CU_FAIL("push faulted");
	} else {
		sw_push(&h->cpu, 0x1234, 2);
		CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0xabcdfffe);
		CU_ASSERT_EQUAL(swh_peek_val(h, 0x3fffe, 2), 0x1234);
		CU_ASSERT_EQUAL(sw_pop(&h->cpu, 2), 0x1234);
		CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0xabcd0000);
	}

	/* 32-bit stack. */
	fresh(SWH_PROT32);
	h->cpu.st.gpr[R_SP] = 0x8000;
	CU_ASSERT_EQUAL(push_pop(0xdeadbeef, 4, &v), SWH_OK);
	CU_ASSERT_EQUAL(v, 0xdeadbeef);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x7ffc, 4), 0xdeadbeef);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0x8000);
	/* A push that faults (SS limit) leaves ESP alone. */
	h->cpu.st.seg[S_SS].limit = 0x7ffd;
	CU_ASSERT_EQUAL(push_pop(1, 4, &v), X86_SS);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0x8000);

	/* 64-bit stack. */
	fresh(SWH_LONG64);
	h->cpu.st.gpr[R_SP] = 0x9000;
	CU_ASSERT_EQUAL(push_pop(0x0123456789abcdefull, 8, &v), SWH_OK);
	CU_ASSERT_EQUAL(v, 0x0123456789abcdefull);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x8ff8, 8), 0x0123456789abcdefull);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SP], 0x9000);
	/* 16-bit push in 64-bit mode moves RSP by 2. */
	CU_ASSERT_EQUAL(push_pop(0xbeef, 2, &v), SWH_OK);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x8ffe, 2), 0xbeef);
}

/* ---- ALU corner cases the oracle cannot run natively ---- */

static void test_divide_errors(void)
{
	static const uint8_t div_ecx[] = { 0xf7, 0xf1 };	/* div ecx */
	static const uint8_t idiv_cl[] = { 0xf6, 0xf9 };	/* idiv cl */

	fresh(SWH_LONG64);
	h->cpu.st.gpr[R_AX] = 10;
	h->cpu.st.gpr[R_DX] = 0;
	h->cpu.st.gpr[R_CX] = 0;
	run_code(div_ecx, sizeof(div_ecx), X86_DE);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 10);	/* nothing changed */
	h->cpu.st.gpr[R_CX] = 3;
	run_code(div_ecx, sizeof(div_ecx), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 3);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_DX], 1);
	/* Quotient overflow: -128 / -1 in 8 bits. */
	h->cpu.st.gpr[R_AX] = 0xff80;
	h->cpu.st.gpr[R_CX] = 0xff;
	run_code(idiv_cl, sizeof(idiv_cl), X86_DE);
}

static void test_bcd(void)
{
	static const uint8_t daa[] = { 0x27 }, das[] = { 0x2f }, aaa[] = { 0x37 };
	static const uint8_t aam[] = { 0xd4, 0x0a }, aad[] = { 0xd5, 0x0a };
	static const uint8_t aam0[] = { 0xd4, 0x00 };

	fresh(SWH_PROT32);
	/* 79 + 35 = AE, DAA -> 14 carry 1 (packed BCD 114) */
	h->cpu.st.gpr[R_AX] = 0xae;
	h->cpu.st.rflags = X86_RFLAGS_FIXED;
	run_code(daa, sizeof(daa), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xff, 0x14);
	CU_ASSERT(h->cpu.st.rflags & X86_RFLAGS_CF);
	/* 35 - 47 = EE with CF, DAS -> 88 carry 1 */
	h->cpu.st.gpr[R_AX] = 0xee;
	h->cpu.st.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_CF;
	run_code(das, sizeof(das), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xff, 0x88);
	CU_ASSERT(h->cpu.st.rflags & X86_RFLAGS_CF);
	/* 9 + 8 = 0x11 with AF, AAA -> AX = 0x0107 */
	h->cpu.st.gpr[R_AX] = 0x0011;
	h->cpu.st.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_AF;
	run_code(aaa, sizeof(aaa), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xffff, 0x0107);
	h->cpu.st.gpr[R_AX] = 45;
	run_code(aam, sizeof(aam), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xffff, 0x0405);
	run_code(aad, sizeof(aad), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xffff, 45);
	run_code(aam0, sizeof(aam0), X86_DE);

	/* Not in 64-bit mode. */
	fresh(SWH_LONG64);
	run_code(daa, sizeof(daa), X86_UD);
}

static void test_lock_memory(void)
{
	/* lock add dword [rbx], 3 ; lock bts dword [rbx], 40 (reg offset via ecx) */
	static const uint8_t add[] = { 0xf0, 0x83, 0x03, 0x03 };
	static const uint8_t bts[] = { 0xf0, 0x0f, 0xab, 0x0b };

	fresh(SWH_LONG64);
	swh_poke_val(h, 0x5000, 10, 4);
	h->cpu.st.gpr[R_BX] = 0x5000;
	run_code(add, sizeof(add), SWH_OK);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x5000, 4), 13);
	h->cpu.st.gpr[R_CX] = 40;	/* bit 8 of the next dword */
	run_code(bts, sizeof(bts), SWH_OK);
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x5004, 4), 0x100);
	CU_ASSERT(!(h->cpu.st.rflags & X86_RFLAGS_CF));
	run_code(bts, sizeof(bts), SWH_OK);
	CU_ASSERT(h->cpu.st.rflags & X86_RFLAGS_CF);
}

/* ---- tracing ---- */

static void test_trace_in_asm(void)
{
	static const uint8_t code[] = { 0x83, 0xc0, 0x05 };	/* add eax, 5 */
	char line[128] = "";
	FILE *f;

	fresh(SWH_LONG64);
	f = tmpfile();
	CU_ASSERT_FATAL(f != NULL);
	h->vm.trace = f;
	h->vm.cfg.trace = TRACE_IN_ASM;
	run_code(code, sizeof(code), SWH_OK);
	h->vm.trace = NULL;
	rewind(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	/* vCPU, address (no symbols here), bytes, then Zydis' text. */
	CU_ASSERT_STRING_EQUAL(line, "CPU0 0x0000000000010000: 83 c0 05                       add eax, 0x05\n");
	fclose(f);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sw_core", NULL, NULL);
	CU_add_test(s, "SMC in the same page", test_smc_same_page);
	CU_add_test(s, "data writes next to code", test_smc_data_next_to_code);
	CU_add_test(s, "instruction crossing a page", test_cross_page_insn);
	CU_add_test(s, "decoder faults", test_decode_faults);
	CU_add_test(s, "fetch past the CS limit", test_fetch_limit);
	CU_add_test(s, "segment limits and types", test_segment_limits);
	CU_add_test(s, "real-mode wrap", test_real_mode_wrap);
	CU_add_test(s, "RIP-relative operands", test_rip_relative);
	CU_add_test(s, "byte registers", test_byte_registers);
	CU_add_test(s, "stack widths", test_stack_widths);
	CU_add_test(s, "divide errors", test_divide_errors);
	CU_add_test(s, "decimal adjust", test_bcd);
	CU_add_test(s, "LOCK on memory", test_lock_memory);
	CU_add_test(s, "--trace=in_asm", test_trace_in_asm);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	swh_free(h);
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
