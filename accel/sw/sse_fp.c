/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSE/SSE2 floating point: arithmetic, square roots, min/max, compares,
 * COMIS/UCOMIS, conversions, and the reciprocal estimates. Each runs as
 * the same host instruction under the guest's MXCSR (sw_sse_host), so
 * results, rounding, DAZ/FTZ, NaN selection, exception flags and the
 * RCP/RSQRT approximations are those of the hardware.
 *
 * The host instruction is always the register form: a memory source is
 * first read (with its own size, zero-extended) and the instruction
 * only looks at the bits its memory form would read.
 */
#include "accel/sw/fpu.h"

#define H2(name, insn)								\
static void name(union sw_vec *d, const union sw_vec *s)			\
{										\
	__asm__ volatile(insn " %1, %0" : "+x"(d->v) : "x"(s->v));		\
}

H2(h_addps, "addps") H2(h_addss, "addss") H2(h_addpd, "addpd") H2(h_addsd, "addsd")
H2(h_subps, "subps") H2(h_subss, "subss") H2(h_subpd, "subpd") H2(h_subsd, "subsd")
H2(h_mulps, "mulps") H2(h_mulss, "mulss") H2(h_mulpd, "mulpd") H2(h_mulsd, "mulsd")
H2(h_divps, "divps") H2(h_divss, "divss") H2(h_divpd, "divpd") H2(h_divsd, "divsd")
H2(h_minps, "minps") H2(h_minss, "minss") H2(h_minpd, "minpd") H2(h_minsd, "minsd")
H2(h_maxps, "maxps") H2(h_maxss, "maxss") H2(h_maxpd, "maxpd") H2(h_maxsd, "maxsd")
H2(h_sqrtps, "sqrtps") H2(h_sqrtss, "sqrtss") H2(h_sqrtpd, "sqrtpd") H2(h_sqrtsd, "sqrtsd")
H2(h_rcpps, "rcpps") H2(h_rcpss, "rcpss") H2(h_rsqrtps, "rsqrtps") H2(h_rsqrtss, "rsqrtss")
H2(h_cvtss2sd, "cvtss2sd") H2(h_cvtsd2ss, "cvtsd2ss")
H2(h_cvtps2pd, "cvtps2pd") H2(h_cvtpd2ps, "cvtpd2ps")
H2(h_cvtdq2ps, "cvtdq2ps") H2(h_cvtps2dq, "cvtps2dq") H2(h_cvttps2dq, "cvttps2dq")
H2(h_cvtdq2pd, "cvtdq2pd") H2(h_cvtpd2dq, "cvtpd2dq") H2(h_cvttpd2dq, "cvttpd2dq")

static const struct {
	ZydisMnemonic m;
	sw_sse_host_fn fn;
} fp_table[] = {
	{ ZYDIS_MNEMONIC_ADDPS, h_addps }, { ZYDIS_MNEMONIC_ADDSS, h_addss },
	{ ZYDIS_MNEMONIC_ADDPD, h_addpd }, { ZYDIS_MNEMONIC_ADDSD, h_addsd },
	{ ZYDIS_MNEMONIC_SUBPS, h_subps }, { ZYDIS_MNEMONIC_SUBSS, h_subss },
	{ ZYDIS_MNEMONIC_SUBPD, h_subpd }, { ZYDIS_MNEMONIC_SUBSD, h_subsd },
	{ ZYDIS_MNEMONIC_MULPS, h_mulps }, { ZYDIS_MNEMONIC_MULSS, h_mulss },
	{ ZYDIS_MNEMONIC_MULPD, h_mulpd }, { ZYDIS_MNEMONIC_MULSD, h_mulsd },
	{ ZYDIS_MNEMONIC_DIVPS, h_divps }, { ZYDIS_MNEMONIC_DIVSS, h_divss },
	{ ZYDIS_MNEMONIC_DIVPD, h_divpd }, { ZYDIS_MNEMONIC_DIVSD, h_divsd },
	{ ZYDIS_MNEMONIC_MINPS, h_minps }, { ZYDIS_MNEMONIC_MINSS, h_minss },
	{ ZYDIS_MNEMONIC_MINPD, h_minpd }, { ZYDIS_MNEMONIC_MINSD, h_minsd },
	{ ZYDIS_MNEMONIC_MAXPS, h_maxps }, { ZYDIS_MNEMONIC_MAXSS, h_maxss },
	{ ZYDIS_MNEMONIC_MAXPD, h_maxpd }, { ZYDIS_MNEMONIC_MAXSD, h_maxsd },
	{ ZYDIS_MNEMONIC_SQRTPS, h_sqrtps }, { ZYDIS_MNEMONIC_SQRTSS, h_sqrtss },
	{ ZYDIS_MNEMONIC_SQRTPD, h_sqrtpd }, { ZYDIS_MNEMONIC_SQRTSD, h_sqrtsd },
	{ ZYDIS_MNEMONIC_RCPPS, h_rcpps }, { ZYDIS_MNEMONIC_RCPSS, h_rcpss },
	{ ZYDIS_MNEMONIC_RSQRTPS, h_rsqrtps }, { ZYDIS_MNEMONIC_RSQRTSS, h_rsqrtss },
	{ ZYDIS_MNEMONIC_CVTSS2SD, h_cvtss2sd }, { ZYDIS_MNEMONIC_CVTSD2SS, h_cvtsd2ss },
	{ ZYDIS_MNEMONIC_CVTPS2PD, h_cvtps2pd }, { ZYDIS_MNEMONIC_CVTPD2PS, h_cvtpd2ps },
	{ ZYDIS_MNEMONIC_CVTDQ2PS, h_cvtdq2ps }, { ZYDIS_MNEMONIC_CVTPS2DQ, h_cvtps2dq },
	{ ZYDIS_MNEMONIC_CVTTPS2DQ, h_cvttps2dq }, { ZYDIS_MNEMONIC_CVTDQ2PD, h_cvtdq2pd },
	{ ZYDIS_MNEMONIC_CVTPD2DQ, h_cvtpd2dq }, { ZYDIS_MNEMONIC_CVTTPD2DQ, h_cvttpd2dq },
};

static sw_sse_host_fn fp_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/* xmm = op(xmm, xmm/mem): the destination is written only if nothing unmasked was raised. */
static void sse_fp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec d, s;
	bool unmasked;
	uint32_t fl;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	fl = sw_sse_host(cpu, fp_ops[in->zi.mnemonic], &d, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	*sw_xmm(cpu, in, 0) = d;
}

/* ---- CMPPS/CMPSS/CMPPD/CMPSD: the predicate (imm8[2:0]) is part of the opcode ---- */

#define HCMP(name, insn, imm)							\
static void name##_##imm(union sw_vec *d, const union sw_vec *s)		\
{										\
	__asm__ volatile(insn " $" #imm ", %1, %0" : "+x"(d->v) : "x"(s->v));	\
}

#define HCMP8(name, insn)							\
	HCMP(name, insn, 0) HCMP(name, insn, 1) HCMP(name, insn, 2)		\
	HCMP(name, insn, 3) HCMP(name, insn, 4) HCMP(name, insn, 5)		\
	HCMP(name, insn, 6) HCMP(name, insn, 7)					\
static const sw_sse_host_fn name[8] = {						\
	name##_0, name##_1, name##_2, name##_3,					\
	name##_4, name##_5, name##_6, name##_7,					\
};

HCMP8(h_cmpps, "cmpps")
HCMP8(h_cmpss, "cmpss")
HCMP8(h_cmppd, "cmppd")
HCMP8(h_cmpsd, "cmpsd")

static sw_handler string_cmpsd;

static void sse_cmp(struct sw_cpu *cpu, const struct sw_insn *in, const sw_sse_host_fn *fns)
{
	union sw_vec d, s;
	bool unmasked;
	uint32_t fl;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	/* Legacy encodings use imm8[2:0]; the other bits are ignored. */
	fl = sw_sse_host(cpu, fns[in->op[2].imm.value.u & 7], &d, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	*sw_xmm(cpu, in, 0) = d;
}

static void sse_cmpps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sse_cmp(cpu, in, h_cmpps);
}

static void sse_cmpss(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sse_cmp(cpu, in, h_cmpss);
}

static void sse_cmppd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sse_cmp(cpu, in, h_cmppd);
}

static void sse_cmpsd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (in->zi.meta.isa_ext != ZYDIS_ISA_EXT_SSE2) {
		if (!string_cmpsd)
			sw_ud(cpu);
		string_cmpsd(cpu, in);
		return;
	}
	sse_cmp(cpu, in, h_cmpsd);
}

/* ---- COMISS/UCOMISS/COMISD/UCOMISD: ZF PF CF, the result of d->q[0] ---- */

#define HCOMI(name, insn)							\
static void name(union sw_vec *d, const union sw_vec *s)			\
{										\
	uint8_t z, p, c;							\
	__asm__ volatile(insn " %4, %3\n\tsetz %0\n\tsetp %1\n\tsetc %2"	\
			 : "=q"(z), "=q"(p), "=q"(c) : "x"(d->v), "x"(s->v)	\
			 : "cc");						\
	d->q[0] = (z ? X86_RFLAGS_ZF : 0) | (p ? X86_RFLAGS_PF : 0) |		\
		  (c ? X86_RFLAGS_CF : 0);					\
	d->q[1] = 0;								\
}

HCOMI(h_comiss, "comiss")
HCOMI(h_ucomiss, "ucomiss")
HCOMI(h_comisd, "comisd")
HCOMI(h_ucomisd, "ucomisd")

static void sse_comi(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_sse_host_fn fn;
	union sw_vec d, s;
	bool unmasked;
	uint32_t fl;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_COMISS:
		fn = h_comiss;
		break;
	case ZYDIS_MNEMONIC_UCOMISS:
		fn = h_ucomiss;
		break;
	case ZYDIS_MNEMONIC_COMISD:
		fn = h_comisd;
		break;
	default:
		fn = h_ucomisd;
		break;
	}
	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	fl = sw_sse_host(cpu, fn, &d, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	/* OF, SF and AF are cleared. */
	sw_set_flags(cpu, X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF |
		     X86_RFLAGS_PF | X86_RFLAGS_CF, d.q[0]);
}

/* ---- integer -> scalar float, 32- or 64-bit source ---- */

static void h_cvtsi2ss_l(union sw_vec *d, const union sw_vec *s)
{
	__asm__ volatile("cvtsi2ssl %1, %0" : "+x"(d->v) : "r"(s->d[0]));
}

static void h_cvtsi2ss_q(union sw_vec *d, const union sw_vec *s)
{
	__asm__ volatile("cvtsi2ssq %1, %0" : "+x"(d->v) : "r"(s->q[0]));
}

static void h_cvtsi2sd_l(union sw_vec *d, const union sw_vec *s)
{
	__asm__ volatile("cvtsi2sdl %1, %0" : "+x"(d->v) : "r"(s->d[0]));
}

static void h_cvtsi2sd_q(union sw_vec *d, const union sw_vec *s)
{
	__asm__ volatile("cvtsi2sdq %1, %0" : "+x"(d->v) : "r"(s->q[0]));
}

static void sse_cvtsi2s(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool q = in->op[1].size == 64, ss = in->zi.mnemonic == ZYDIS_MNEMONIC_CVTSI2SS;
	union sw_vec d, s;
	bool unmasked;
	uint32_t fl;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	fl = sw_sse_host(cpu, ss ? (q ? h_cvtsi2ss_q : h_cvtsi2ss_l) :
			 (q ? h_cvtsi2sd_q : h_cvtsi2sd_l), &d, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	*sw_xmm(cpu, in, 0) = d;
}

/* ---- scalar float -> integer (GPR), rounding per MXCSR or truncating ---- */

#define HCVT2SI(name, insn, type)						\
static void name(union sw_vec *d, const union sw_vec *s)			\
{										\
	type r;									\
	__asm__ volatile(insn " %1, %0" : "=r"(r) : "x"(s->v));			\
	d->q[0] = r;								\
	d->q[1] = 0;								\
}

HCVT2SI(h_cvtss2si_l, "cvtss2si", uint32_t)
HCVT2SI(h_cvtss2si_q, "cvtss2si", uint64_t)
HCVT2SI(h_cvttss2si_l, "cvttss2si", uint32_t)
HCVT2SI(h_cvttss2si_q, "cvttss2si", uint64_t)
HCVT2SI(h_cvtsd2si_l, "cvtsd2si", uint32_t)
HCVT2SI(h_cvtsd2si_q, "cvtsd2si", uint64_t)
HCVT2SI(h_cvttsd2si_l, "cvttsd2si", uint32_t)
HCVT2SI(h_cvttsd2si_q, "cvttsd2si", uint64_t)

static void sse_cvt2si(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool q = in->op[0].size == 64;
	sw_sse_host_fn fn;
	union sw_vec d, s;
	bool unmasked;
	uint32_t fl;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_CVTSS2SI:
		fn = q ? h_cvtss2si_q : h_cvtss2si_l;
		break;
	case ZYDIS_MNEMONIC_CVTTSS2SI:
		fn = q ? h_cvttss2si_q : h_cvttss2si_l;
		break;
	case ZYDIS_MNEMONIC_CVTSD2SI:
		fn = q ? h_cvtsd2si_q : h_cvtsd2si_l;
		break;
	default:
		fn = q ? h_cvttsd2si_q : h_cvttsd2si_l;
		break;
	}
	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	memset(&d, 0, sizeof(d));
	fl = sw_sse_host(cpu, fn, &d, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	sw_op_write(cpu, in, 0, d.q[0]);
}

/*
 * ---- the MMX conversions, done with their SSE2 128-bit twins: the
 * unused source lanes are zero, which converts exactly and raises
 * nothing, so results and flags are the same ----
 */

static void sse_cvtpi2ps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec d, s, r;
	bool unmasked;
	uint32_t fl;

	sw_simd_enter(cpu, in, true);
	sw_simd_read(cpu, in, 1, &s);
	if (sw_insn_has_mmx(in))
		sw_mmx_commit(cpu);
	r = s;
	fl = sw_sse_host(cpu, h_cvtdq2ps, &r, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	d = *sw_xmm(cpu, in, 0);
	d.q[0] = r.q[0];
	sw_simd_write(cpu, in, 0, &d);
}

static void sse_cvtpi2pd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec s, r;
	bool unmasked;
	uint32_t fl;

	sw_simd_enter(cpu, in, true);
	sw_simd_read(cpu, in, 1, &s);
	if (sw_insn_has_mmx(in))
		sw_mmx_commit(cpu);
	r = s;
	fl = sw_sse_host(cpu, h_cvtdq2pd, &r, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	sw_simd_write(cpu, in, 0, &r);
}

/* CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128. */
static void sse_cvt2pi(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_sse_host_fn fn;
	union sw_vec s, r;
	bool unmasked;
	uint32_t fl;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_CVTPS2PI:
		fn = h_cvtps2dq;
		break;
	case ZYDIS_MNEMONIC_CVTTPS2PI:
		fn = h_cvttps2dq;
		break;
	case ZYDIS_MNEMONIC_CVTPD2PI:
		fn = h_cvtpd2dq;
		break;
	default:
		fn = h_cvttpd2dq;
		break;
	}
	sw_simd_enter(cpu, in, true);
	sw_simd_read(cpu, in, 1, &s);
	sw_mmx_commit(cpu);		/* the destination is MMX */
	if (fn == h_cvtps2dq || fn == h_cvttps2dq)
		s.q[1] = 0;	/* only two singles are converted */
	r = s;
	fl = sw_sse_host(cpu, fn, &r, &s, &unmasked);
	sw_sse_flags(cpu, fl);
	sw_simd_write(cpu, in, 0, &r);
}

void sw_register_sse_fp(void)
{
	for (unsigned i = 0; i < sizeof(fp_table) / sizeof(fp_table[0]); i++) {
		fp_ops[fp_table[i].m] = fp_table[i].fn;
		sw_handlers[fp_table[i].m] = sse_fp;
	}
	sw_handlers[ZYDIS_MNEMONIC_CMPPS] = sse_cmpps;
	sw_handlers[ZYDIS_MNEMONIC_CMPSS] = sse_cmpss;
	sw_handlers[ZYDIS_MNEMONIC_CMPPD] = sse_cmppd;
	/* Keep the string CMPSD (registered by string.c before us) reachable. */
	if (sw_handlers[ZYDIS_MNEMONIC_CMPSD] != sse_cmpsd)
		string_cmpsd = sw_handlers[ZYDIS_MNEMONIC_CMPSD];
	sw_handlers[ZYDIS_MNEMONIC_CMPSD] = sse_cmpsd;

	sw_handlers[ZYDIS_MNEMONIC_COMISS] = sse_comi;
	sw_handlers[ZYDIS_MNEMONIC_UCOMISS] = sse_comi;
	sw_handlers[ZYDIS_MNEMONIC_COMISD] = sse_comi;
	sw_handlers[ZYDIS_MNEMONIC_UCOMISD] = sse_comi;
	sw_handlers[ZYDIS_MNEMONIC_CVTSI2SS] = sse_cvtsi2s;
	sw_handlers[ZYDIS_MNEMONIC_CVTSI2SD] = sse_cvtsi2s;
	sw_handlers[ZYDIS_MNEMONIC_CVTSS2SI] = sse_cvt2si;
	sw_handlers[ZYDIS_MNEMONIC_CVTTSS2SI] = sse_cvt2si;
	sw_handlers[ZYDIS_MNEMONIC_CVTSD2SI] = sse_cvt2si;
	sw_handlers[ZYDIS_MNEMONIC_CVTTSD2SI] = sse_cvt2si;
	sw_handlers[ZYDIS_MNEMONIC_CVTPI2PS] = sse_cvtpi2ps;
	sw_handlers[ZYDIS_MNEMONIC_CVTPI2PD] = sse_cvtpi2pd;
	sw_handlers[ZYDIS_MNEMONIC_CVTPS2PI] = sse_cvt2pi;
	sw_handlers[ZYDIS_MNEMONIC_CVTTPS2PI] = sse_cvt2pi;
	sw_handlers[ZYDIS_MNEMONIC_CVTPD2PI] = sse_cvt2pi;
	sw_handlers[ZYDIS_MNEMONIC_CVTTPD2PI] = sse_cvt2pi;
}
