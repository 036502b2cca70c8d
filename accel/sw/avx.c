// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VEX plumbing of avx.h: availability checks, operands up to 256
 * bits, the YMM register file, host FP execution per 128-bit lane; and
 * the instructions that only exist because of YMM state (VZEROUPPER,
 * VZEROALL). The families live in their own files and register here.
 */
#include <string.h>

#include "accel/sw/avx.h"

#define XCR0_SSE_AVX	0x6ull

void sw_avx_enter(struct sw_cpu *cpu, const struct sw_insn *in, struct sw_feat f)
{
	if (in->zi.encoding != ZYDIS_INSTRUCTION_ENCODING_VEX || !sw_model_has(f))
		sw_ud(cpu);
	if (!(cpu->st.cr0 & X86_CR0_PE) || (cpu->st.rflags & X86_RFLAGS_VM))
		sw_ud(cpu);
	if (!(cpu->st.cr4 & X86_CR4_OSXSAVE) || (cpu->st.xcr0 & XCR0_SSE_AVX) != XCR0_SSE_AVX)
		sw_ud(cpu);
	if (cpu->st.cr0 & X86_CR0_TS)
		sw_raise(cpu, X86_NM);
}

void sw_ymm_get(const struct sw_cpu *cpu, unsigned r, union sw_yvec *v)
{
	memcpy(v->b, cpu->st.fx.xmm[r & 15], 16);
	memcpy(v->b + 16, cpu->st.ymmh[r & 15], 16);
}

void sw_ymm_set(struct sw_cpu *cpu, unsigned r, const union sw_yvec *v)
{
	memcpy(cpu->st.fx.xmm[r & 15], v->b, 16);
	memcpy(cpu->st.ymmh[r & 15], v->b + 16, 16);
}

/* The forms whose 16- and 32-byte memory operands must be naturally aligned. */
static bool avx_aligned_form(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_VMOVAPS: case ZYDIS_MNEMONIC_VMOVAPD: case ZYDIS_MNEMONIC_VMOVDQA:
	case ZYDIS_MNEMONIC_VMOVNTPS: case ZYDIS_MNEMONIC_VMOVNTPD: case ZYDIS_MNEMONIC_VMOVNTDQ:
	case ZYDIS_MNEMONIC_VMOVNTDQA:
		return true;
	default:
		return false;
	}
}

static uint64_t avx_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, unsigned len,
		       unsigned acc)
{
	uint64_t la = sw_seg_linear(cpu, sw_op_seg(in, i), sw_op_ea(cpu, in, i), len, acc);

	if (len >= 16 && (la & (len - 1)) && avx_aligned_form(in->zi.mnemonic))
		sw_gp0(cpu);
	return la;
}

void sw_avx_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, union sw_yvec *v)
{
	const struct sw_op *o = &in->op[i];
	unsigned len = o->size / 8;

	memset(v, 0, sizeof(*v));
	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		if (sw_fpu_is_ymm(o->reg.value))
			sw_ymm_get(cpu, sw_vreg_index(in, i), v);
		else if (sw_fpu_is_xmm(o->reg.value))
			memcpy(v->b, cpu->st.fx.xmm[sw_vreg_index(in, i)], 16);
		else
			v->q[0] = sw_op_read(cpu, in, i);
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		if (len == 1 || len == 2 || len == 4 || len == 8) {
			/* The ordinary path: segment checks, #AC, MMIO. */
			v->q[0] = sw_op_read(cpu, in, i);
		} else if (len && len <= 32) {
			uint64_t la = avx_la(cpu, in, i, len, SW_ACC_READ);

			sw_fpu_read_buf(cpu, la, v->b, len);
		} else {
			sw_ud(cpu);
		}
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		v->q[0] = o->imm.value.u;
		break;
	default:
		sw_ud(cpu);
	}
}

void sw_avx_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i,
		  const union sw_yvec *v)
{
	const struct sw_op *o = &in->op[i];
	unsigned len = o->size / 8;

	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		if (sw_fpu_is_ymm(o->reg.value)) {
			sw_ymm_set(cpu, sw_vreg_index(in, i), v);
		} else if (sw_fpu_is_xmm(o->reg.value)) {
			unsigned r = sw_vreg_index(in, i);

			memcpy(cpu->st.fx.xmm[r], v->b, 16);
			memset(cpu->st.ymmh[r], 0, 16);
		} else {
			sw_op_write(cpu, in, i, v->q[0]);
		}
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		if (len == 1 || len == 2 || len == 4 || len == 8) {
			sw_op_write(cpu, in, i, v->q[0]);
		} else if (len && len <= 32) {
			uint64_t la = avx_la(cpu, in, i, len, SW_ACC_WRITE);

			sw_fpu_write_buf(cpu, la, v->b, len);
		} else {
			sw_ud(cpu);
		}
		break;
	default:
		sw_ud(cpu);
	}
}

void sw_avx_host(struct sw_cpu *cpu, sw_sse_host_fn fn, union sw_yvec *d,
		 const union sw_yvec *a, const union sw_yvec *b, unsigned len)
{
	union sw_yvec r = { 0 };
	uint32_t flags = 0;

	for (unsigned l = 0; l < len / 16 && l < 2; l++) {
		bool unmasked;

		r.x[l] = a->x[l];
		flags |= sw_sse_host(cpu, fn, &r.x[l], &b->x[l], &unmasked);
	}
	/* Raises for an unmasked flag (of either lane) before anything is written. */
	sw_sse_flags(cpu, flags);
	*d = r;
}

/*
 * VZEROUPPER (VEX.L = 0) clears bits 255:128 of the YMM registers,
 * VZEROALL (L = 1) all their bits. Outside 64-bit mode only YMM0-7 are
 * touched (SDM): 8-15 keep their contents for a later 64-bit reader.
 */
static void avx_vzero(struct sw_cpu *cpu, const struct sw_insn *in, bool all)
{
	unsigned n = x86_code_bits(&cpu->st) == 64 ? 16 : 8;

	sw_avx_enter(cpu, in, SW_FEAT_AVX);
	for (unsigned r = 0; r < n; r++) {
		if (all)
			memset(cpu->st.fx.xmm[r], 0, 16);
		memset(cpu->st.ymmh[r], 0, 16);
	}
}

static void avx_vzeroupper(struct sw_cpu *cpu, const struct sw_insn *in)
{
	avx_vzero(cpu, in, false);
}

static void avx_vzeroall(struct sw_cpu *cpu, const struct sw_insn *in)
{
	avx_vzero(cpu, in, true);
}

void sw_register_avx(void)
{
	sw_handlers[ZYDIS_MNEMONIC_VZEROUPPER] = avx_vzeroupper;
	sw_handlers[ZYDIS_MNEMONIC_VZEROALL] = avx_vzeroall;
	sw_register_avx_fp();
	sw_register_avx_int();
	sw_register_avx2();
	sw_register_avx_crypto();
}
