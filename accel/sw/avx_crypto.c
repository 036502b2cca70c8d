// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VEX.128 forms of AES-NI and PCLMULQDQ: VAESENC, VAESENCLAST,
 * VAESDEC, VAESDECLAST, VAESIMC, VAESKEYGENASSIST and VPCLMULQDQ, with
 * the VEX rules (three operands, no alignment, bits 255:128 of the
 * destination cleared). The VEX.256 forms are the VAES and VPCLMULQDQ
 * extensions of CPUID leaf 7, which the model does not have: #UD.
 *
 * Each needs the model's AES (or PCLMULQDQ) bit and AVX. AES runs as the
 * host's instruction, as the legacy forms do (the oracle compares with
 * the host anyway); the host's CPUID is asked too, so that a model that
 * claims AES on a host without it gives #UD, never SIGILL. PCLMULQDQ is
 * written out in C. No MXCSR, no flags.
 */
#include <cpuid.h>

#include "accel/sw/avx.h"

static bool host_aes(void)
{
	static int has = -1;
	unsigned a, b, c, d;

	if (has < 0)
		has = __get_cpuid(1, &a, &b, &c, &d) && (c & SW_FEAT_AES.bit);
	return has;
}

static void crypto_enter(struct sw_cpu *cpu, const struct sw_insn *in, struct sw_feat f)
{
	if (!sw_model_has(f) || in->zi.vector_length != 16)
		sw_ud(cpu);
	if (f.bit == SW_FEAT_AES.bit && !host_aes())
		sw_ud(cpu);
	sw_avx_enter(cpu, in, SW_FEAT_AVX);
}

/* ---- AES: r = op(state, round key) on the host ---- */

static void h_aesenc(union sw_vec *r, const union sw_vec *k)
{
	__asm__("aesenc %1, %0" : "+x"(r->v) : "x"(k->v));
}

static void h_aesenclast(union sw_vec *r, const union sw_vec *k)
{
	__asm__("aesenclast %1, %0" : "+x"(r->v) : "x"(k->v));
}

static void h_aesdec(union sw_vec *r, const union sw_vec *k)
{
	__asm__("aesdec %1, %0" : "+x"(r->v) : "x"(k->v));
}

static void h_aesdeclast(union sw_vec *r, const union sw_vec *k)
{
	__asm__("aesdeclast %1, %0" : "+x"(r->v) : "x"(k->v));
}

/* VAESENC/ENCLAST/DEC/DECLAST xmm1, xmm2 (state), xmm3/m128 (round key). */
static void avx_aes_round(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec a, b, r = { 0 };

	crypto_enter(cpu, in, SW_FEAT_AES);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	r.x[0] = a.x[0];
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VAESENC:
		h_aesenc(&r.x[0], &b.x[0]);
		break;
	case ZYDIS_MNEMONIC_VAESENCLAST:
		h_aesenclast(&r.x[0], &b.x[0]);
		break;
	case ZYDIS_MNEMONIC_VAESDEC:
		h_aesdec(&r.x[0], &b.x[0]);
		break;
	default:
		h_aesdeclast(&r.x[0], &b.x[0]);
		break;
	}
	sw_avx_write(cpu, in, 0, &r);
}

/* VAESIMC xmm1, xmm2/m128. */
static void avx_aesimc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec s, r = { 0 };

	crypto_enter(cpu, in, SW_FEAT_AES);
	sw_avx_read(cpu, in, 1, &s);
	__asm__("aesimc %1, %0" : "=x"(r.x[0].v) : "x"(s.x[0].v));
	sw_avx_write(cpu, in, 0, &r);
}

/* AESKEYGENASSIST's imm8 is part of the host instruction: one case each. */
#define KG(h, l)								\
	case 0x##h##l:								\
		__asm__("aeskeygenassist $0x" #h #l ", %1, %0" : "=x"(r->v) : "x"(s->v)); \
		break;
#define KGROW(h)								\
	KG(h, 0) KG(h, 1) KG(h, 2) KG(h, 3) KG(h, 4) KG(h, 5) KG(h, 6) KG(h, 7)	\
	KG(h, 8) KG(h, 9) KG(h, a) KG(h, b) KG(h, c) KG(h, d) KG(h, e) KG(h, f)

static void h_aeskeygenassist(union sw_vec *r, const union sw_vec *s, unsigned imm)
{
	switch (imm & 0xff) {
	KGROW(0) KGROW(1) KGROW(2) KGROW(3) KGROW(4) KGROW(5) KGROW(6) KGROW(7)
	KGROW(8) KGROW(9) KGROW(a) KGROW(b) KGROW(c) KGROW(d) KGROW(e) KGROW(f)
	}
}

/* VAESKEYGENASSIST xmm1, xmm2/m128, imm8. */
static void avx_aeskeygenassist(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec s, r = { 0 };

	crypto_enter(cpu, in, SW_FEAT_AES);
	sw_avx_read(cpu, in, 1, &s);
	h_aeskeygenassist(&r.x[0], &s.x[0], (unsigned)in->op[2].imm.value.u);
	sw_avx_write(cpu, in, 0, &r);
}

/* ---- PCLMULQDQ ---- */

/*
 * VPCLMULQDQ xmm1, xmm2, xmm3/m128, imm8: the carry-less product of
 * xmm2's quadword imm8[0] and the source's quadword imm8[4].
 */
static void avx_pclmulqdq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = (unsigned)(in->op[3].imm.value.u & 0xff);
	union sw_yvec a, b, r = { 0 };
	uint64_t x, y, lo = 0, hi = 0;

	crypto_enter(cpu, in, SW_FEAT_PCLMUL);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	x = a.q[imm & 1];
	y = b.q[(imm >> 4) & 1];
	for (unsigned i = 0; i < 64; i++) {
		if (!((y >> i) & 1))
			continue;
		lo ^= x << i;
		if (i)
			hi ^= x >> (64 - i);
	}
	r.q[0] = lo;
	r.q[1] = hi;
	sw_avx_write(cpu, in, 0, &r);
}

void sw_register_avx_crypto(void)
{
	sw_handlers[ZYDIS_MNEMONIC_VAESENC] = avx_aes_round;
	sw_handlers[ZYDIS_MNEMONIC_VAESENCLAST] = avx_aes_round;
	sw_handlers[ZYDIS_MNEMONIC_VAESDEC] = avx_aes_round;
	sw_handlers[ZYDIS_MNEMONIC_VAESDECLAST] = avx_aes_round;
	sw_handlers[ZYDIS_MNEMONIC_VAESIMC] = avx_aesimc;
	sw_handlers[ZYDIS_MNEMONIC_VAESKEYGENASSIST] = avx_aeskeygenassist;
	sw_handlers[ZYDIS_MNEMONIC_VPCLMULQDQ] = avx_pclmulqdq;
}
