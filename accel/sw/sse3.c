// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SSE3: the horizontal and alternating float arithmetic (HADDPS/PD,
 * HSUBPS/PD, ADDSUBPS/PD), run as the same host instruction under the
 * guest's MXCSR like sse_fp.c; the duplicating moves MOVSLDUP, MOVSHDUP
 * and MOVDDUP; LDDQU (an unaligned load); and the CPUID gate of FISTTP,
 * which x87.c implements. MONITOR/MWAIT have their own CPUID bit, which
 * the model does not set: they stay #UD.
 */
#include "accel/sw/simd_ext.h"

#define H2(name, insn)								\
static void name(union sw_vec *d, const union sw_vec *s)			\
{										\
	__asm__ volatile(insn " %1, %0" : "+x"(d->v) : "x"(s->v));		\
}

H2(h_addsubps, "addsubps") H2(h_addsubpd, "addsubpd")
H2(h_haddps, "haddps") H2(h_haddpd, "haddpd")
H2(h_hsubps, "hsubps") H2(h_hsubpd, "hsubpd")

static const struct {
	ZydisMnemonic m;
	sw_sse_host_fn fn;
} fp_table[] = {
	{ ZYDIS_MNEMONIC_ADDSUBPS, h_addsubps }, { ZYDIS_MNEMONIC_ADDSUBPD, h_addsubpd },
	{ ZYDIS_MNEMONIC_HADDPS, h_haddps }, { ZYDIS_MNEMONIC_HADDPD, h_haddpd },
	{ ZYDIS_MNEMONIC_HSUBPS, h_hsubps }, { ZYDIS_MNEMONIC_HSUBPD, h_hsubpd },
};

static sw_sse_host_fn fp_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];

static void sse3_fp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec d, s;

	sw_ext_enter(cpu, in, CPUID_1_ECX_SSE3);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	sw_ext_host(cpu, fp_ops[in->zi.mnemonic], &d, &s);
	*sw_xmm(cpu, in, 0) = d;
}

/* MOVSLDUP / MOVSHDUP: the even (odd) dwords, each copied to its pair. */
static void sse3_movsxdup(struct sw_cpu *cpu, const struct sw_insn *in, unsigned odd)
{
	union sw_vec s, r;

	sw_ext_enter(cpu, in, CPUID_1_ECX_SSE3);
	sw_simd_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < 4; i += 2)
		r.d[i] = r.d[i + 1] = s.d[i + odd];
	*sw_xmm(cpu, in, 0) = r;
}

static void sse3_movsldup(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sse3_movsxdup(cpu, in, 0);
}

static void sse3_movshdup(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sse3_movsxdup(cpu, in, 1);
}

/* MOVDDUP xmm, xmm/m64: the low quadword in both halves. */
static void sse3_movddup(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec s;

	sw_ext_enter(cpu, in, CPUID_1_ECX_SSE3);
	sw_simd_read(cpu, in, 1, &s);
	s.q[1] = s.q[0];
	*sw_xmm(cpu, in, 0) = s;
}

/* LDDQU: a 16-byte load without the alignment rule (sse.c knows it). */
static void sse3_lddqu(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec s;

	sw_ext_enter(cpu, in, CPUID_1_ECX_SSE3);
	sw_simd_read(cpu, in, 1, &s);
	*sw_xmm(cpu, in, 0) = s;
}

/* FISTTP is x87.c's; it exists only with SSE3. */
static sw_handler x87_fisttp;

static void sse3_fisttp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!sw_model_1ecx(CPUID_1_ECX_SSE3))
		sw_ud(cpu);
	x87_fisttp(cpu, in);
}

void sw_register_sse3(void)
{
	for (unsigned i = 0; i < sizeof(fp_table) / sizeof(fp_table[0]); i++) {
		fp_ops[fp_table[i].m] = fp_table[i].fn;
		sw_handlers[fp_table[i].m] = sse3_fp;
	}
	sw_handlers[ZYDIS_MNEMONIC_MOVSLDUP] = sse3_movsldup;
	sw_handlers[ZYDIS_MNEMONIC_MOVSHDUP] = sse3_movshdup;
	sw_handlers[ZYDIS_MNEMONIC_MOVDDUP] = sse3_movddup;
	sw_handlers[ZYDIS_MNEMONIC_LDDQU] = sse3_lddqu;
	/* Registered after x87.c (cpu.c's order); once, whatever the order of calls. */
	if (sw_handlers[ZYDIS_MNEMONIC_FISTTP] != sse3_fisttp) {
		x87_fisttp = sw_handlers[ZYDIS_MNEMONIC_FISTTP];
		if (x87_fisttp)
			sw_handlers[ZYDIS_MNEMONIC_FISTTP] = sse3_fisttp;
	}
}
