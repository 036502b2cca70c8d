/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSE/SSE2 and MMX data movement and rearrangement: the MOV family,
 * masks, non-temporal and masked stores, shuffles, unpacks, word
 * insert/extract and whole-register byte shifts. No MXCSR involvement:
 * these are bit moves, written out in C.
 *
 * Handlers read every source (faulting if they must) before writing
 * anything, and write the destination once.
 */
#include "accel/sw/fpu.h"

/* The string MOVSD/CMPSD share their mnemonics with the SSE2 scalar ones. */
static sw_handler string_movsd;

/* MOVAPS and friends: a whole 128-bit register or memory operand. */
static void mov_full(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec v;

	sw_simd_enter(cpu, in, true);
	sw_simd_read(cpu, in, 1, &v);
	sw_simd_write(cpu, in, 0, &v);
}

/*
 * MOVD, MOVQ, MOVQ2DQ, MOVDQ2Q, MOVNTQ, MOVNTI: the source's low bits
 * (its operand size), zero-extended into the destination.
 */
static void mov_zext(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = in->op[1].size / 8;
	union sw_vec v;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &v);
	if (n < 16)
		memset(v.b + n, 0, 16 - n);
	sw_simd_write(cpu, in, 0, &v);
}

/*
 * MOVSS/MOVSD: register to register replaces the low element only; a
 * load zero-extends; a store writes the element.
 */
static void mov_scalar(struct sw_cpu *cpu, const struct sw_insn *in, unsigned n)
{
	union sw_vec d, s;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	if (sw_op_is_xmm(in, 0) && sw_op_is_xmm(in, 1)) {
		d = *sw_xmm(cpu, in, 0);
		memcpy(d.b, s.b, n);
		*sw_xmm(cpu, in, 0) = d;
		return;
	}
	memset(s.b + n, 0, 16 - n);
	sw_simd_write(cpu, in, 0, &s);
}

static void sse_movss(struct sw_cpu *cpu, const struct sw_insn *in)
{
	mov_scalar(cpu, in, 4);
}

static void sse_movsd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (in->zi.meta.isa_ext != ZYDIS_ISA_EXT_SSE2) {
		if (!string_movsd)
			sw_ud(cpu);
		string_movsd(cpu, in);
		return;
	}
	mov_scalar(cpu, in, 8);
}

/*
 * MOVLPS/MOVLPD/MOVHPS/MOVHPD (one quadword with memory), MOVHLPS and
 * MOVLHPS (between registers). @dq: the destination quadword of a
 * register destination; @sq: the source quadword of a register source.
 */
static void mov_half(struct sw_cpu *cpu, const struct sw_insn *in, unsigned dq, unsigned sq)
{
	union sw_vec d, s;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	if (!sw_op_is_xmm(in, 1))
		sq = 0;
	if (sw_op_is_xmm(in, 0)) {
		d = *sw_xmm(cpu, in, 0);
		d.q[dq] = s.q[sq];
		*sw_xmm(cpu, in, 0) = d;
	} else {
		d.q[0] = s.q[sq];
		d.q[1] = 0;
		sw_simd_write(cpu, in, 0, &d);
	}
}

static void sse_movlp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	mov_half(cpu, in, 0, 0);
}

static void sse_movhp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	mov_half(cpu, in, 1, 1);
}

static void sse_movhlps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	mov_half(cpu, in, 0, 1);
}

static void sse_movlhps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	mov_half(cpu, in, 1, 0);
}

/* ---- masks ---- */

static void sse_movmskps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec s;
	uint64_t m = 0;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < 4; i++)
		m |= (uint64_t)(s.d[i] >> 31) << i;
	sw_op_write(cpu, in, 0, m);
}

static void sse_movmskpd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_vec s;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	sw_op_write(cpu, in, 0, (s.q[0] >> 63) | ((s.q[1] >> 63) << 1));
}

static void sse_pmovmskb(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_op_is_xmm(in, 1) ? 16 : 8;
	union sw_vec s;
	uint64_t m = 0;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < n; i++)
		m |= (uint64_t)(s.b[i] >> 7) << i;
	memset(&s, 0, sizeof(s));
	s.q[0] = m;
	sw_simd_write(cpu, in, 0, &s);
}

/*
 * MASKMOVDQU/MASKMOVQ: store the bytes of operand 0 whose mask byte
 * (operand 1) has its top bit set to DS:rDI (operand 2, hidden).
 * Every page the full operand touches must be writable before the
 * first byte is stored.
 */
static void sse_maskmov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_op_is_xmm(in, 0) ? 16 : 8;
	union sw_vec v, m;
	uint64_t la;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 0, &v);
	sw_simd_read(cpu, in, 1, &m);
	/* Unlike MOVQ m64, mm, the switch is complete before the store can fault (hardware). */
	if (n == 8)
		sw_mmx_commit(cpu);
	la = sw_seg_linear(cpu, sw_op_seg(in, 2), sw_op_ea(cpu, in, 2), n, SW_ACC_WRITE);
	sw_probe_write_lin(cpu, la, n, SW_ACC_WRITE);
	for (unsigned i = 0; i < n; i++)
		if (m.b[i] & 0x80)
			sw_write_lin(cpu, la + i, v.b[i], 1, SW_ACC_WRITE);
}

/* ---- shuffles ---- */

static uint8_t imm8(const struct sw_insn *in, unsigned i)
{
	return in->op[i].imm.value.u;
}

static void sse_shufps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t imm = imm8(in, 2);
	union sw_vec d, s, r;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	r.d[0] = d.d[imm & 3];
	r.d[1] = d.d[(imm >> 2) & 3];
	r.d[2] = s.d[(imm >> 4) & 3];
	r.d[3] = s.d[(imm >> 6) & 3];
	*sw_xmm(cpu, in, 0) = r;
}

static void sse_shufpd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t imm = imm8(in, 2);
	union sw_vec d, s, r;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	d = *sw_xmm(cpu, in, 0);
	r.q[0] = d.q[imm & 1];
	r.q[1] = s.q[(imm >> 1) & 1];
	*sw_xmm(cpu, in, 0) = r;
}

/* PSHUFD, PSHUFW, PSHUFLW, PSHUFHW: pick elements of the source. */
static void pshuf(struct sw_cpu *cpu, const struct sw_insn *in, unsigned elt, unsigned first)
{
	uint8_t imm = imm8(in, 2);
	union sw_vec s, r;

	sw_sse_enter(cpu);
	sw_simd_read(cpu, in, 1, &s);
	r = s;
	for (unsigned i = 0; i < 4; i++) {
		unsigned from = first + ((imm >> (2 * i)) & 3);

		if (elt == 4)
			r.d[i] = s.d[from];
		else
			r.w[first + i] = s.w[from];
	}
	sw_simd_write(cpu, in, 0, &r);
}

static void sse_pshufd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	pshuf(cpu, in, 4, 0);
}

static void sse_pshuflw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	pshuf(cpu, in, 2, 0);
}

static void sse_pshufhw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	pshuf(cpu, in, 2, 4);
}

static void sse_pshufw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t imm = imm8(in, 2);
	union sw_vec s, r;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &s);
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < 4; i++)
		r.w[i] = s.w[(imm >> (2 * i)) & 3];
	sw_simd_write(cpu, in, 0, &r);
}

/* ---- unpacks: interleave elements of @elt bytes from the low or high half ---- */

static void unpack(struct sw_cpu *cpu, const struct sw_insn *in, unsigned elt, bool high)
{
	unsigned n = sw_op_is_mmx(in, 0) ? 8 : 16;
	unsigned half = n / 2, base = high ? half : 0;
	union sw_vec d, s, r;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 0, &d);
	sw_simd_read(cpu, in, 1, &s);
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < half / elt; i++) {
		memcpy(r.b + 2 * i * elt, d.b + base + i * elt, elt);
		memcpy(r.b + (2 * i + 1) * elt, s.b + base + i * elt, elt);
	}
	sw_simd_write(cpu, in, 0, &r);
}

static void sse_punpcklbw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 1, false);
}

static void sse_punpcklwd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 2, false);
}

static void sse_punpckldq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 4, false);
}

static void sse_punpcklqdq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 8, false);
}

static void sse_punpckhbw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 1, true);
}

static void sse_punpckhwd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 2, true);
}

static void sse_punpckhdq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 4, true);
}

static void sse_punpckhqdq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 8, true);
}

/* ---- word insert / extract ---- */

static void sse_pinsrw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_op_is_mmx(in, 0) ? 8 : 16;
	union sw_vec d, s;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &s);
	sw_simd_read(cpu, in, 0, &d);
	d.w[imm8(in, 2) & (n / 2 - 1)] = s.w[0];
	sw_simd_write(cpu, in, 0, &d);
}

static void sse_pextrw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_op_is_mmx(in, 1) ? 8 : 16;
	union sw_vec s;

	/* The memory-destination form is SSE4.1. */
	if (!sw_op_is_reg(in, 0))
		sw_ud(cpu);
	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &s);
	s.q[0] = s.w[imm8(in, 2) & (n / 2 - 1)];
	sw_simd_write(cpu, in, 0, &s);
}

/* ---- PSLLDQ / PSRLDQ: the whole register by bytes ---- */

static void byte_shift(struct sw_cpu *cpu, const struct sw_insn *in, bool left)
{
	unsigned cnt = imm8(in, 1);
	union sw_vec d, r;

	sw_sse_enter(cpu);
	d = *sw_xmm(cpu, in, 0);
	memset(&r, 0, sizeof(r));
	if (cnt < 16) {
		if (left)
			memcpy(r.b + cnt, d.b, 16 - cnt);
		else
			memcpy(r.b, d.b + cnt, 16 - cnt);
	}
	*sw_xmm(cpu, in, 0) = r;
}

static void sse_pslldq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	byte_shift(cpu, in, true);
}

static void sse_psrldq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	byte_shift(cpu, in, false);
}

/* ---- UNPCKxPS/PD: the float forms of the unpacks ---- */

static void sse_unpcklps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 4, false);
}

static void sse_unpckhps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 4, true);
}

static void sse_unpcklpd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 8, false);
}

static void sse_unpckhpd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unpack(cpu, in, 8, true);
}

void sw_register_sse_move(void)
{
	static const ZydisMnemonic full[] = {
		ZYDIS_MNEMONIC_MOVAPS, ZYDIS_MNEMONIC_MOVUPS, ZYDIS_MNEMONIC_MOVAPD,
		ZYDIS_MNEMONIC_MOVUPD, ZYDIS_MNEMONIC_MOVDQA, ZYDIS_MNEMONIC_MOVDQU,
		ZYDIS_MNEMONIC_MOVNTPS, ZYDIS_MNEMONIC_MOVNTPD, ZYDIS_MNEMONIC_MOVNTDQ,
	};
	static const ZydisMnemonic zext[] = {
		ZYDIS_MNEMONIC_MOVD, ZYDIS_MNEMONIC_MOVQ, ZYDIS_MNEMONIC_MOVQ2DQ,
		ZYDIS_MNEMONIC_MOVDQ2Q, ZYDIS_MNEMONIC_MOVNTQ, ZYDIS_MNEMONIC_MOVNTI,
	};

	for (unsigned i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		sw_handlers[full[i]] = mov_full;
	for (unsigned i = 0; i < sizeof(zext) / sizeof(zext[0]); i++)
		sw_handlers[zext[i]] = mov_zext;

	/* Keep the string MOVSD (registered by string.c before us) reachable. */
	if (sw_handlers[ZYDIS_MNEMONIC_MOVSD] != sse_movsd)
		string_movsd = sw_handlers[ZYDIS_MNEMONIC_MOVSD];
	sw_handlers[ZYDIS_MNEMONIC_MOVSD] = sse_movsd;
	sw_handlers[ZYDIS_MNEMONIC_MOVSS] = sse_movss;

	sw_handlers[ZYDIS_MNEMONIC_MOVLPS] = sse_movlp;
	sw_handlers[ZYDIS_MNEMONIC_MOVLPD] = sse_movlp;
	sw_handlers[ZYDIS_MNEMONIC_MOVHPS] = sse_movhp;
	sw_handlers[ZYDIS_MNEMONIC_MOVHPD] = sse_movhp;
	sw_handlers[ZYDIS_MNEMONIC_MOVHLPS] = sse_movhlps;
	sw_handlers[ZYDIS_MNEMONIC_MOVLHPS] = sse_movlhps;

	sw_handlers[ZYDIS_MNEMONIC_MOVMSKPS] = sse_movmskps;
	sw_handlers[ZYDIS_MNEMONIC_MOVMSKPD] = sse_movmskpd;
	sw_handlers[ZYDIS_MNEMONIC_PMOVMSKB] = sse_pmovmskb;
	sw_handlers[ZYDIS_MNEMONIC_MASKMOVDQU] = sse_maskmov;
	sw_handlers[ZYDIS_MNEMONIC_MASKMOVQ] = sse_maskmov;

	sw_handlers[ZYDIS_MNEMONIC_SHUFPS] = sse_shufps;
	sw_handlers[ZYDIS_MNEMONIC_SHUFPD] = sse_shufpd;
	sw_handlers[ZYDIS_MNEMONIC_PSHUFD] = sse_pshufd;
	sw_handlers[ZYDIS_MNEMONIC_PSHUFLW] = sse_pshuflw;
	sw_handlers[ZYDIS_MNEMONIC_PSHUFHW] = sse_pshufhw;
	sw_handlers[ZYDIS_MNEMONIC_PSHUFW] = sse_pshufw;

	sw_handlers[ZYDIS_MNEMONIC_PUNPCKLBW] = sse_punpcklbw;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKLWD] = sse_punpcklwd;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKLDQ] = sse_punpckldq;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKLQDQ] = sse_punpcklqdq;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKHBW] = sse_punpckhbw;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKHWD] = sse_punpckhwd;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKHDQ] = sse_punpckhdq;
	sw_handlers[ZYDIS_MNEMONIC_PUNPCKHQDQ] = sse_punpckhqdq;
	sw_handlers[ZYDIS_MNEMONIC_UNPCKLPS] = sse_unpcklps;
	sw_handlers[ZYDIS_MNEMONIC_UNPCKHPS] = sse_unpckhps;
	sw_handlers[ZYDIS_MNEMONIC_UNPCKLPD] = sse_unpcklpd;
	sw_handlers[ZYDIS_MNEMONIC_UNPCKHPD] = sse_unpckhpd;

	sw_handlers[ZYDIS_MNEMONIC_PINSRW] = sse_pinsrw;
	sw_handlers[ZYDIS_MNEMONIC_PEXTRW] = sse_pextrw;
	sw_handlers[ZYDIS_MNEMONIC_PSLLDQ] = sse_pslldq;
	sw_handlers[ZYDIS_MNEMONIC_PSRLDQ] = sse_psrldq;
}
