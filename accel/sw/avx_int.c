// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VEX forms of the integer SSE2/SSSE3/SSE4.1/SSE4.2 instructions:
 * VEX.128 (AVX) and VEX.256 (AVX2; the moves and VPTEST are AVX at both
 * lengths). Integer only, no MXCSR: element loops in C as in sse_int.c,
 * ssse3.c and sse4.c, which they mirror.
 *
 * Operands, as Zydis gives them: op0 the destination, op1 the first
 * source (VEX.vvvv, or the r/m source of the two-operand forms), op2 the
 * second source (r/m), then the imm8 or the is4 register. The result is
 * op(src1, src2) where the legacy form computes op(dest, src): the
 * legacy destination becomes the first source.
 *
 * VEX.256 forms work on two independent 128-bit lanes, except where an
 * instruction says otherwise (VPMOVSX/ZX widen the low 128 bits into the
 * whole register). So every operation is a function of one lane; the
 * handler runs it on each lane of the vector length and writes the
 * destination once, after every source was read (sw_avx_write zeroes
 * the bits above the vector length).
 *
 * Which feature an instruction needs comes from Zydis' ISA extension of
 * the decoded form (AVX or AVX2), checked by sw_avx_enter().
 */
#include "accel/sw/avx.h"
#include "accel/sw/simd_ext.h"

/* The feature of the decoded form: AVX, or AVX2 for AVX2 and its gathers. */
static struct sw_feat avx_int_feat(const struct sw_insn *in)
{
	return in->zi.meta.isa_ext == ZYDIS_ISA_EXT_AVX ? SW_FEAT_AVX : SW_FEAT_AVX2;
}

static void avx_int_enter(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_avx_enter(cpu, in, avx_int_feat(in));
}

static unsigned imm8_of(const struct sw_insn *in, unsigned i)
{
	return (unsigned)(in->op[i].imm.value.u & 0xff);
}

/* ---- one 128-bit lane: r = op(a, b), imm8 where the form has one ---- */

typedef void (*lane_fn)(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			unsigned imm);

static int8_t sat_s8(int v)
{
	return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v;
}

static uint8_t sat_u8(int v)
{
	return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v;
}

static int16_t sat_s16(int32_t v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
}

static uint16_t sat_u16(int32_t v)
{
	return v > 65535 ? 65535 : v < 0 ? 0 : (uint16_t)v;
}

#define EW(name, field, expr)							\
static void name(union sw_vec *r, const union sw_vec *va, const union sw_vec *vb, \
		 unsigned imm)							\
{										\
	(void)imm;								\
	for (unsigned i = 0; i < 16 / sizeof(r->field[0]); i++) {		\
		__typeof__(r->field[0]) a = va->field[i], b = vb->field[i];	\
		r->field[i] = (expr);						\
		(void)b;							\
	}									\
}

EW(op_paddb, b, a + b)
EW(op_paddw, w, a + b)
EW(op_paddd, d, a + b)
EW(op_paddq, q, a + b)
EW(op_psubb, b, a - b)
EW(op_psubw, w, a - b)
EW(op_psubd, d, a - b)
EW(op_psubq, q, a - b)
EW(op_paddsb, sb, sat_s8(a + b))
EW(op_paddsw, sw, sat_s16(a + b))
EW(op_psubsb, sb, sat_s8(a - b))
EW(op_psubsw, sw, sat_s16(a - b))
EW(op_paddusb, b, sat_u8(a + b))
EW(op_paddusw, w, sat_u16(a + b))
EW(op_psubusb, b, sat_u8(a - b))
EW(op_psubusw, w, sat_u16(a - b))

EW(op_pcmpeqb, b, a == b ? 0xff : 0)
EW(op_pcmpeqw, w, a == b ? 0xffff : 0)
EW(op_pcmpeqd, d, a == b ? 0xffffffffu : 0)
EW(op_pcmpeqq, q, a == b ? ~0ull : 0)
EW(op_pcmpgtb, sb, a > b ? -1 : 0)
EW(op_pcmpgtw, sw, a > b ? -1 : 0)
EW(op_pcmpgtd, sd, a > b ? -1 : 0)
EW(op_pcmpgtq, sq, a > b ? -1 : 0)

EW(op_pand, q, a & b)
EW(op_pandn, q, ~a & b)
EW(op_por, q, a | b)
EW(op_pxor, q, a ^ b)

EW(op_pmullw, sw, (int16_t)((int32_t)a * b))
EW(op_pmulhw, sw, (int16_t)(((int32_t)a * b) >> 16))
EW(op_pmulhuw, w, (uint16_t)(((uint32_t)a * b) >> 16))
EW(op_pmulld, d, a * b)
EW(op_pmulhrsw, sw, (int16_t)(((((int32_t)a * b) >> 14) + 1) >> 1))
EW(op_pavgb, b, (uint8_t)((a + b + 1) >> 1))
EW(op_pavgw, w, (uint16_t)((a + b + 1) >> 1))

EW(op_pminsb, sb, a < b ? a : b)
EW(op_pmaxsb, sb, a > b ? a : b)
EW(op_pminub, b, a < b ? a : b)
EW(op_pmaxub, b, a > b ? a : b)
EW(op_pminsw, sw, a < b ? a : b)
EW(op_pmaxsw, sw, a > b ? a : b)
EW(op_pminuw, w, a < b ? a : b)
EW(op_pmaxuw, w, a > b ? a : b)
EW(op_pminsd, sd, a < b ? a : b)
EW(op_pmaxsd, sd, a > b ? a : b)
EW(op_pminud, d, a < b ? a : b)
EW(op_pmaxud, d, a > b ? a : b)

/* PSIGN: a negated where b is negative, zero where b is zero. */
EW(op_psignb, sb, b < 0 ? (int8_t)-(uint8_t)a : b ? a : 0)
EW(op_psignw, sw, b < 0 ? (int16_t)-(uint16_t)a : b ? a : 0)
EW(op_psignd, sd, b < 0 ? (int32_t)-(uint32_t)a : b ? a : 0)

/* AVX2 per-element shifts: counts past the element width give zero (sign fill for VPSRAVD). */
EW(op_psllvd, d, b < 32 ? a << b : 0)
EW(op_psllvq, q, b < 64 ? a << b : 0)
EW(op_psrlvd, d, b < 32 ? a >> b : 0)
EW(op_psrlvq, q, b < 64 ? a >> b : 0)
EW(op_psravd, sd, (uint32_t)b < 32 ? a >> b : a >> 31)

/* PABS: of the (only) source, which the handler passes as @b too. */
EW(op_pabsb, sb, a < 0 ? (int8_t)-(uint8_t)a : a)
EW(op_pabsw, sw, a < 0 ? (int16_t)-(uint16_t)a : a)
EW(op_pabsd, sd, a < 0 ? (int32_t)-(uint32_t)a : a)

static void op_pmaddwd(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 4; i++) {
		uint32_t lo = (uint32_t)((int32_t)a->sw[2 * i] * b->sw[2 * i]);
		uint32_t hi = (uint32_t)((int32_t)a->sw[2 * i + 1] * b->sw[2 * i + 1]);

		r->d[i] = lo + hi;
	}
}

/* Unsigned bytes of a times signed bytes of b, pairs summed with saturation. */
static void op_pmaddubsw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			 unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 8; i++) {
		int32_t lo = (int32_t)a->b[2 * i] * b->sb[2 * i];
		int32_t hi = (int32_t)a->b[2 * i + 1] * b->sb[2 * i + 1];

		r->sw[i] = sat_s16(lo + hi);
	}
}

static void op_pmuludq(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 2; i++)
		r->q[i] = (uint64_t)a->d[2 * i] * b->d[2 * i];
}

static void op_pmuldq(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		      unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 2; i++)
		r->sq[i] = (int64_t)a->sd[2 * i] * b->sd[2 * i];
}

static void op_psadbw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		      unsigned imm)
{
	(void)imm;
	for (unsigned g = 0; g < 2; g++) {
		unsigned sum = 0;

		for (unsigned i = 8 * g; i < 8 * g + 8; i++)
			sum += a->b[i] > b->b[i] ? a->b[i] - b->b[i] : b->b[i] - a->b[i];
		r->q[g] = sum;
	}
}

/* MPSADBW on one lane: a's bytes from imm[2] * 4 sliding, b's 4 bytes at imm[1:0] * 4. */
static void op_mpsadbw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	unsigned o1 = ((imm >> 2) & 1) * 4, o2 = (imm & 3) * 4;

	for (unsigned i = 0; i < 8; i++) {
		unsigned sum = 0;

		for (unsigned k = 0; k < 4; k++) {
			int x = a->b[o1 + i + k], y = b->b[o2 + k];

			sum += (unsigned)(x > y ? x - y : y - x);
		}
		r->w[i] = (uint16_t)sum;
	}
}

/* ---- packs: a's elements narrowed, then b's ---- */

static void op_packsswb(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 8; i++) {
		r->sb[i] = sat_s8(a->sw[i]);
		r->sb[8 + i] = sat_s8(b->sw[i]);
	}
}

static void op_packuswb(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 8; i++) {
		r->b[i] = sat_u8(a->sw[i]);
		r->b[8 + i] = sat_u8(b->sw[i]);
	}
}

static void op_packssdw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 4; i++) {
		r->sw[i] = sat_s16(a->sd[i]);
		r->sw[4 + i] = sat_s16(b->sd[i]);
	}
}

static void op_packusdw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 4; i++) {
		r->w[i] = sat_u16(a->sd[i]);
		r->w[4 + i] = sat_u16(b->sd[i]);
	}
}

/* ---- unpacks: a's and b's elements of the low or high half, interleaved ---- */

#define UNPACK(name, elt, base)							\
static void name(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,	\
		 unsigned imm)							\
{										\
	(void)imm;								\
	for (unsigned i = 0; i < 8 / (elt); i++) {				\
		memcpy(r->b + 2 * i * (elt), a->b + (base) + i * (elt), (elt));	\
		memcpy(r->b + (2 * i + 1) * (elt), b->b + (base) + i * (elt), (elt)); \
	}									\
}

UNPACK(op_punpcklbw, 1, 0)
UNPACK(op_punpcklwd, 2, 0)
UNPACK(op_punpckldq, 4, 0)
UNPACK(op_punpcklqdq, 8, 0)
UNPACK(op_punpckhbw, 1, 8)
UNPACK(op_punpckhwd, 2, 8)
UNPACK(op_punpckhdq, 4, 8)
UNPACK(op_punpckhqdq, 8, 8)

/* ---- SSSE3 ---- */

/* Bit 7 of b's byte zeroes it; its low four bits index a's bytes (of this lane). */
static void op_pshufb(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		      unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < 16; i++)
		r->b[i] = (b->b[i] & 0x80) ? 0 : a->b[b->b[i] & 15];
}

/* Horizontal pairs: a's pairs give the low half of the lane, b's the high half. */
#define HORIZ(name, field, type, expr)						\
static void name(union sw_vec *r, const union sw_vec *va, const union sw_vec *vb, \
		 unsigned imm)							\
{										\
	unsigned h = 16 / sizeof(r->field[0]) / 2;				\
	(void)imm;								\
	for (unsigned i = 0; i < h; i++) {					\
		type a = va->field[2 * i], b = va->field[2 * i + 1];		\
		r->field[i] = (expr);						\
		a = vb->field[2 * i];						\
		b = vb->field[2 * i + 1];					\
		r->field[h + i] = (expr);					\
	}									\
}

HORIZ(op_phaddw, w, uint16_t, (uint16_t)(a + b))
HORIZ(op_phaddd, d, uint32_t, a + b)
HORIZ(op_phaddsw, sw, int16_t, sat_s16((int32_t)a + b))
HORIZ(op_phsubw, w, uint16_t, (uint16_t)(a - b))
HORIZ(op_phsubd, d, uint32_t, a - b)
HORIZ(op_phsubsw, sw, int16_t, sat_s16((int32_t)a - b))

/* a:b as one 32-byte value, shifted right by imm8 bytes, the low 16 kept. */
static void op_palignr(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	uint8_t cat[32];

	memcpy(cat, b->b, 16);
	memcpy(cat + 16, a->b, 16);
	for (unsigned i = 0; i < 16; i++)
		r->b[i] = imm + i < 32 ? cat[imm + i] : 0;
}

/* ---- blends and shuffles ---- */

static void op_pblendw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	for (unsigned i = 0; i < 8; i++)
		r->w[i] = (imm & (1u << i)) ? b->w[i] : a->w[i];
}

/* PSHUFD/HW/LW: of the (only) source @a. */
static void op_pshufd(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		      unsigned imm)
{
	(void)b;
	for (unsigned i = 0; i < 4; i++)
		r->d[i] = a->d[(imm >> (2 * i)) & 3];
}

static void op_pshuflw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	(void)b;
	*r = *a;
	for (unsigned i = 0; i < 4; i++)
		r->w[i] = a->w[(imm >> (2 * i)) & 3];
}

static void op_pshufhw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
		       unsigned imm)
{
	(void)b;
	*r = *a;
	for (unsigned i = 0; i < 4; i++)
		r->w[4 + i] = a->w[4 + ((imm >> (2 * i)) & 3)];
}

/* PHMINPOSUW (VEX.128 only): the smallest word of @a and its lowest index. */
static void op_phminposuw(union sw_vec *r, const union sw_vec *a, const union sw_vec *b,
			  unsigned imm)
{
	unsigned idx = 0;

	(void)b;
	(void)imm;
	for (unsigned i = 1; i < 8; i++)
		if (a->w[i] < a->w[idx])
			idx = i;
	memset(r, 0, sizeof(*r));
	r->w[0] = a->w[idx];
	r->w[1] = (uint16_t)idx;
}

/* ---- shifts: every element by one count (imm8, or the low quadword of an XMM/m128) ---- */

#define SHIFT(name, field, bits, expr_in, expr_out)				\
static void name(union sw_vec *r, const union sw_vec *va, uint64_t c)		\
{										\
	for (unsigned i = 0; i < 16 / sizeof(r->field[0]); i++) {		\
		__typeof__(r->field[0]) a = va->field[i];			\
		r->field[i] = c < (bits) ? (expr_in) : (expr_out);		\
	}									\
}

SHIFT(sh_psllw, w, 16, (uint16_t)(a << c), 0)
SHIFT(sh_pslld, d, 32, a << c, 0)
SHIFT(sh_psllq, q, 64, a << c, 0)
SHIFT(sh_psrlw, w, 16, a >> c, 0)
SHIFT(sh_psrld, d, 32, a >> c, 0)
SHIFT(sh_psrlq, q, 64, a >> c, 0)
SHIFT(sh_psraw, sw, 16, a >> c, a >> 15)
SHIFT(sh_psrad, sd, 32, a >> c, a >> 31)

/* VPSLLDQ/VPSRLDQ: each lane by bytes. */
static void sh_pslldq(union sw_vec *r, const union sw_vec *a, uint64_t c)
{
	memset(r, 0, sizeof(*r));
	if (c < 16)
		memcpy(r->b + c, a->b, 16 - c);
}

static void sh_psrldq(union sw_vec *r, const union sw_vec *a, uint64_t c)
{
	memset(r, 0, sizeof(*r));
	if (c < 16)
		memcpy(r->b, a->b + c, 16 - c);
}

typedef void (*shift_fn)(union sw_vec *r, const union sw_vec *a, uint64_t c);

/* ---- handlers ---- */

static lane_fn lane_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static shift_fn shift_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/*
 * Three operands: op0 = op(op1, op2) per lane, imm8 in op3 if present.
 * VMPSADBW's upper lane takes its offsets from imm8 bits 5:3.
 */
static void avx_int3(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in), imm = 0;
	union sw_yvec a, b, r = { 0 };

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	if (in->zi.operand_count_visible > 3 && in->op[3].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		imm = imm8_of(in, 3);
	for (unsigned l = 0; l < len / 16; l++) {
		unsigned li = imm;

		if (l && in->zi.mnemonic == ZYDIS_MNEMONIC_VMPSADBW)
			li = imm >> 3;
		lane_ops[in->zi.mnemonic](&r.x[l], &a.x[l], &b.x[l], li);
	}
	sw_avx_write(cpu, in, 0, &r);
}

/* Two operands: op0 = op(op1) per lane, imm8 in op2 if present. */
static void avx_int2(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in), imm = 0;
	union sw_yvec a, r = { 0 };

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &a);
	if (in->zi.operand_count_visible > 2 && in->op[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		imm = imm8_of(in, 2);
	for (unsigned l = 0; l < len / 16; l++)
		lane_ops[in->zi.mnemonic](&r.x[l], &a.x[l], &a.x[l], imm);
	sw_avx_write(cpu, in, 0, &r);
}

/*
 * Shifts: op0 = op1 shifted by op2, which is an imm8 or an XMM register
 * or m128 whose low quadword counts for every lane.
 */
static void avx_shift(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in);
	union sw_yvec a, c, r = { 0 };

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &c);
	sw_avx_read(cpu, in, 1, &a);
	if (in->op[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		c.q[0] &= 0xff;
	for (unsigned l = 0; l < len / 16; l++)
		shift_ops[in->zi.mnemonic](&r.x[l], &a.x[l], c.q[0]);
	sw_avx_write(cpu, in, 0, &r);
}

/* VPBLENDVB: the byte of op2 where the is4 register's byte (op3) has its top bit set. */
static void avx_pblendvb(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in);
	union sw_yvec a, b, m, r = { 0 };

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	sw_avx_read(cpu, in, 3, &m);
	for (unsigned i = 0; i < len; i++)
		r.b[i] = m.sb[i] < 0 ? b.b[i] : a.b[i];
	sw_avx_write(cpu, in, 0, &r);
}

/* VPMOVSX/ZX: the low elements of the source widened over the whole vector length. */
static void avx_pmovx(struct sw_cpu *cpu, const struct sw_insn *in)
{
	static const struct {
		ZydisMnemonic m;
		uint8_t from, to;
		bool sign;
	} forms[] = {
		{ ZYDIS_MNEMONIC_VPMOVSXBW, 1, 2, true }, { ZYDIS_MNEMONIC_VPMOVSXBD, 1, 4, true },
		{ ZYDIS_MNEMONIC_VPMOVSXBQ, 1, 8, true }, { ZYDIS_MNEMONIC_VPMOVSXWD, 2, 4, true },
		{ ZYDIS_MNEMONIC_VPMOVSXWQ, 2, 8, true }, { ZYDIS_MNEMONIC_VPMOVSXDQ, 4, 8, true },
		{ ZYDIS_MNEMONIC_VPMOVZXBW, 1, 2, false }, { ZYDIS_MNEMONIC_VPMOVZXBD, 1, 4, false },
		{ ZYDIS_MNEMONIC_VPMOVZXBQ, 1, 8, false }, { ZYDIS_MNEMONIC_VPMOVZXWD, 2, 4, false },
		{ ZYDIS_MNEMONIC_VPMOVZXWQ, 2, 8, false }, { ZYDIS_MNEMONIC_VPMOVZXDQ, 4, 8, false },
	};
	unsigned len = sw_vex_len(in), f = 0;
	union sw_yvec s, r = { 0 };

	while (forms[f].m != in->zi.mnemonic)
		f++;
	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < len / forms[f].to; i++) {
		uint64_t v = 0;

		memcpy(&v, s.b + i * forms[f].from, forms[f].from);
		if (forms[f].sign && (v >> (8 * forms[f].from - 1)))
			v |= ~0ull << (8 * forms[f].from);
		memcpy(r.b + i * forms[f].to, &v, forms[f].to);
	}
	sw_avx_write(cpu, in, 0, &r);
}

/* VPTEST: ZF = (op0 & op1) == 0, CF = (~op0 & op1) == 0 over the vector length. */
static void avx_ptest(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec d, s;
	uint64_t and = 0, andn = 0, f = 0;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	sw_avx_read(cpu, in, 0, &d);
	for (unsigned i = 0; i < sw_vex_len(in) / 8; i++) {
		and |= d.q[i] & s.q[i];
		andn |= ~d.q[i] & s.q[i];
	}
	if (!and)
		f |= X86_RFLAGS_ZF;
	if (!andn)
		f |= X86_RFLAGS_CF;
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

/* VPMOVMSKB: the top bit of each byte into a GPR (zero-extended). */
static void avx_pmovmskb(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec s;
	uint64_t m = 0;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < sw_vex_len(in); i++)
		m |= (uint64_t)(s.b[i] >> 7) << i;
	sw_op_write(cpu, in, 0, m);
}

/*
 * VMOVDQA/VMOVDQU/VMOVNTDQ/VMOVNTDQA/VLDDQU: the whole operand
 * (sw_avx_read/write know which must be aligned).
 */
static void avx_mov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec v;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &v);
	sw_avx_write(cpu, in, 0, &v);
}

/*
 * VMOVD/VMOVQ, every form: the source's low 32 or 64 bits (its operand
 * size), zero-extended into an XMM destination (bits 255:size cleared),
 * or stored/written with the destination's size.
 */
static void avx_movdq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = in->op[1].size / 8;
	union sw_yvec v;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &v);
	if (n < 32)
		memset(v.b + n, 0, 32 - n);
	sw_avx_write(cpu, in, 0, &v);
}

/* VPEXTRB/W/D/Q: the element imm8 selects to a GPR (zero-extended) or memory. */
static void avx_pextr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = imm8_of(in, 2);
	union sw_yvec s, r = { 0 };

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VPEXTRB:
		r.q[0] = s.b[imm & 15];
		break;
	case ZYDIS_MNEMONIC_VPEXTRW:
		r.q[0] = s.w[imm & 7];
		break;
	case ZYDIS_MNEMONIC_VPEXTRD:
		r.q[0] = s.d[imm & 3];
		break;
	default:
		r.q[0] = s.q[imm & 1];
		break;
	}
	sw_avx_write(cpu, in, 0, &r);
}

/* VPINSRB/W/D/Q: op1 with the element imm8 selects replaced by op2's low element. */
static void avx_pinsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = imm8_of(in, 3);
	union sw_yvec d, s;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &s);
	sw_avx_read(cpu, in, 1, &d);
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VPINSRB:
		d.b[imm & 15] = s.b[0];
		break;
	case ZYDIS_MNEMONIC_VPINSRW:
		d.w[imm & 7] = s.w[0];
		break;
	case ZYDIS_MNEMONIC_VPINSRD:
		d.d[imm & 3] = s.d[0];
		break;
	default:
		d.q[imm & 1] = s.q[0];
		break;
	}
	sw_avx_write(cpu, in, 0, &d);
}

/*
 * VMASKMOVDQU: the bytes of op0 whose byte in op1 has its top bit set,
 * stored at DS:rDI (hidden op2). As MASKMOVDQU (sse_move.c): every page
 * of the 16 bytes is checked before the first byte is stored.
 */
static void avx_maskmovdqu(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec v, m;
	uint64_t la;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 0, &v);
	sw_avx_read(cpu, in, 1, &m);
	la = sw_seg_linear(cpu, sw_op_seg(in, 2), sw_op_ea(cpu, in, 2), 16, SW_ACC_WRITE);
	sw_probe_write_lin(cpu, la, 16, SW_ACC_WRITE);
	for (unsigned i = 0; i < 16; i++)
		if (m.b[i] & 0x80)
			sw_write_lin(cpu, la + i, v.b[i], 1, SW_ACC_WRITE);
}

/*
 * VPCMPESTRI/ESTRM/ISTRI/ISTRM (VEX.128): sse4.c's comparison on op0
 * and op1; the M forms' XMM0 write is a VEX one (bits 255:128 cleared).
 */
static void avx_pcmpstr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	ZydisMnemonic m = in->zi.mnemonic;
	union sw_yvec a, b;

	avx_int_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &b);
	sw_avx_read(cpu, in, 0, &a);
	sw_sse42_pcmpstr(cpu, in, &a.x[0], &b.x[0]);
	if (m == ZYDIS_MNEMONIC_VPCMPESTRM || m == ZYDIS_MNEMONIC_VPCMPISTRM)
		memset(cpu->st.ymmh[0], 0, 16);
}

/* ---- registration ---- */

static const struct {
	ZydisMnemonic m;
	lane_fn fn;
} three[] = {
	{ ZYDIS_MNEMONIC_VPADDB, op_paddb }, { ZYDIS_MNEMONIC_VPADDW, op_paddw },
	{ ZYDIS_MNEMONIC_VPADDD, op_paddd }, { ZYDIS_MNEMONIC_VPADDQ, op_paddq },
	{ ZYDIS_MNEMONIC_VPSUBB, op_psubb }, { ZYDIS_MNEMONIC_VPSUBW, op_psubw },
	{ ZYDIS_MNEMONIC_VPSUBD, op_psubd }, { ZYDIS_MNEMONIC_VPSUBQ, op_psubq },
	{ ZYDIS_MNEMONIC_VPADDSB, op_paddsb }, { ZYDIS_MNEMONIC_VPADDSW, op_paddsw },
	{ ZYDIS_MNEMONIC_VPSUBSB, op_psubsb }, { ZYDIS_MNEMONIC_VPSUBSW, op_psubsw },
	{ ZYDIS_MNEMONIC_VPADDUSB, op_paddusb }, { ZYDIS_MNEMONIC_VPADDUSW, op_paddusw },
	{ ZYDIS_MNEMONIC_VPSUBUSB, op_psubusb }, { ZYDIS_MNEMONIC_VPSUBUSW, op_psubusw },
	{ ZYDIS_MNEMONIC_VPCMPEQB, op_pcmpeqb }, { ZYDIS_MNEMONIC_VPCMPEQW, op_pcmpeqw },
	{ ZYDIS_MNEMONIC_VPCMPEQD, op_pcmpeqd }, { ZYDIS_MNEMONIC_VPCMPEQQ, op_pcmpeqq },
	{ ZYDIS_MNEMONIC_VPCMPGTB, op_pcmpgtb }, { ZYDIS_MNEMONIC_VPCMPGTW, op_pcmpgtw },
	{ ZYDIS_MNEMONIC_VPCMPGTD, op_pcmpgtd }, { ZYDIS_MNEMONIC_VPCMPGTQ, op_pcmpgtq },
	{ ZYDIS_MNEMONIC_VPAND, op_pand }, { ZYDIS_MNEMONIC_VPANDN, op_pandn },
	{ ZYDIS_MNEMONIC_VPOR, op_por }, { ZYDIS_MNEMONIC_VPXOR, op_pxor },
	{ ZYDIS_MNEMONIC_VPMULLW, op_pmullw }, { ZYDIS_MNEMONIC_VPMULHW, op_pmulhw },
	{ ZYDIS_MNEMONIC_VPMULHUW, op_pmulhuw }, { ZYDIS_MNEMONIC_VPMULLD, op_pmulld },
	{ ZYDIS_MNEMONIC_VPMULUDQ, op_pmuludq }, { ZYDIS_MNEMONIC_VPMULDQ, op_pmuldq },
	{ ZYDIS_MNEMONIC_VPMULHRSW, op_pmulhrsw }, { ZYDIS_MNEMONIC_VPMADDWD, op_pmaddwd },
	{ ZYDIS_MNEMONIC_VPMADDUBSW, op_pmaddubsw }, { ZYDIS_MNEMONIC_VPSADBW, op_psadbw },
	{ ZYDIS_MNEMONIC_VMPSADBW, op_mpsadbw },
	{ ZYDIS_MNEMONIC_VPAVGB, op_pavgb }, { ZYDIS_MNEMONIC_VPAVGW, op_pavgw },
	{ ZYDIS_MNEMONIC_VPMINSB, op_pminsb }, { ZYDIS_MNEMONIC_VPMAXSB, op_pmaxsb },
	{ ZYDIS_MNEMONIC_VPMINUB, op_pminub }, { ZYDIS_MNEMONIC_VPMAXUB, op_pmaxub },
	{ ZYDIS_MNEMONIC_VPMINSW, op_pminsw }, { ZYDIS_MNEMONIC_VPMAXSW, op_pmaxsw },
	{ ZYDIS_MNEMONIC_VPMINUW, op_pminuw }, { ZYDIS_MNEMONIC_VPMAXUW, op_pmaxuw },
	{ ZYDIS_MNEMONIC_VPMINSD, op_pminsd }, { ZYDIS_MNEMONIC_VPMAXSD, op_pmaxsd },
	{ ZYDIS_MNEMONIC_VPMINUD, op_pminud }, { ZYDIS_MNEMONIC_VPMAXUD, op_pmaxud },
	{ ZYDIS_MNEMONIC_VPSIGNB, op_psignb }, { ZYDIS_MNEMONIC_VPSIGNW, op_psignw },
	{ ZYDIS_MNEMONIC_VPSIGND, op_psignd },
	{ ZYDIS_MNEMONIC_VPACKSSWB, op_packsswb }, { ZYDIS_MNEMONIC_VPACKUSWB, op_packuswb },
	{ ZYDIS_MNEMONIC_VPACKSSDW, op_packssdw }, { ZYDIS_MNEMONIC_VPACKUSDW, op_packusdw },
	{ ZYDIS_MNEMONIC_VPUNPCKLBW, op_punpcklbw }, { ZYDIS_MNEMONIC_VPUNPCKLWD, op_punpcklwd },
	{ ZYDIS_MNEMONIC_VPUNPCKLDQ, op_punpckldq },
	{ ZYDIS_MNEMONIC_VPUNPCKLQDQ, op_punpcklqdq },
	{ ZYDIS_MNEMONIC_VPUNPCKHBW, op_punpckhbw }, { ZYDIS_MNEMONIC_VPUNPCKHWD, op_punpckhwd },
	{ ZYDIS_MNEMONIC_VPUNPCKHDQ, op_punpckhdq },
	{ ZYDIS_MNEMONIC_VPUNPCKHQDQ, op_punpckhqdq },
	{ ZYDIS_MNEMONIC_VPSHUFB, op_pshufb },
	{ ZYDIS_MNEMONIC_VPHADDW, op_phaddw }, { ZYDIS_MNEMONIC_VPHADDD, op_phaddd },
	{ ZYDIS_MNEMONIC_VPHADDSW, op_phaddsw }, { ZYDIS_MNEMONIC_VPHSUBW, op_phsubw },
	{ ZYDIS_MNEMONIC_VPHSUBD, op_phsubd }, { ZYDIS_MNEMONIC_VPHSUBSW, op_phsubsw },
	{ ZYDIS_MNEMONIC_VPALIGNR, op_palignr }, { ZYDIS_MNEMONIC_VPBLENDW, op_pblendw },
	{ ZYDIS_MNEMONIC_VPSLLVD, op_psllvd }, { ZYDIS_MNEMONIC_VPSLLVQ, op_psllvq },
	{ ZYDIS_MNEMONIC_VPSRLVD, op_psrlvd }, { ZYDIS_MNEMONIC_VPSRLVQ, op_psrlvq },
	{ ZYDIS_MNEMONIC_VPSRAVD, op_psravd },
}, two[] = {
	{ ZYDIS_MNEMONIC_VPABSB, op_pabsb }, { ZYDIS_MNEMONIC_VPABSW, op_pabsw },
	{ ZYDIS_MNEMONIC_VPABSD, op_pabsd },
	{ ZYDIS_MNEMONIC_VPSHUFD, op_pshufd }, { ZYDIS_MNEMONIC_VPSHUFLW, op_pshuflw },
	{ ZYDIS_MNEMONIC_VPSHUFHW, op_pshufhw }, { ZYDIS_MNEMONIC_VPHMINPOSUW, op_phminposuw },
};

static const struct {
	ZydisMnemonic m;
	shift_fn fn;
} shifts[] = {
	{ ZYDIS_MNEMONIC_VPSLLW, sh_psllw }, { ZYDIS_MNEMONIC_VPSLLD, sh_pslld },
	{ ZYDIS_MNEMONIC_VPSLLQ, sh_psllq }, { ZYDIS_MNEMONIC_VPSRLW, sh_psrlw },
	{ ZYDIS_MNEMONIC_VPSRLD, sh_psrld }, { ZYDIS_MNEMONIC_VPSRLQ, sh_psrlq },
	{ ZYDIS_MNEMONIC_VPSRAW, sh_psraw }, { ZYDIS_MNEMONIC_VPSRAD, sh_psrad },
	{ ZYDIS_MNEMONIC_VPSLLDQ, sh_pslldq }, { ZYDIS_MNEMONIC_VPSRLDQ, sh_psrldq },
};

void sw_register_avx_int(void)
{
	static const ZydisMnemonic moves[] = {
		ZYDIS_MNEMONIC_VMOVDQA, ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_MNEMONIC_VMOVNTDQ,
		ZYDIS_MNEMONIC_VMOVNTDQA, ZYDIS_MNEMONIC_VLDDQU,
	};
	static const ZydisMnemonic pmovx[] = {
		ZYDIS_MNEMONIC_VPMOVSXBW, ZYDIS_MNEMONIC_VPMOVSXBD, ZYDIS_MNEMONIC_VPMOVSXBQ,
		ZYDIS_MNEMONIC_VPMOVSXWD, ZYDIS_MNEMONIC_VPMOVSXWQ, ZYDIS_MNEMONIC_VPMOVSXDQ,
		ZYDIS_MNEMONIC_VPMOVZXBW, ZYDIS_MNEMONIC_VPMOVZXBD, ZYDIS_MNEMONIC_VPMOVZXBQ,
		ZYDIS_MNEMONIC_VPMOVZXWD, ZYDIS_MNEMONIC_VPMOVZXWQ, ZYDIS_MNEMONIC_VPMOVZXDQ,
	};

	for (unsigned i = 0; i < sizeof(three) / sizeof(three[0]); i++) {
		lane_ops[three[i].m] = three[i].fn;
		sw_handlers[three[i].m] = avx_int3;
	}
	for (unsigned i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
		lane_ops[two[i].m] = two[i].fn;
		sw_handlers[two[i].m] = avx_int2;
	}
	for (unsigned i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		shift_ops[shifts[i].m] = shifts[i].fn;
		sw_handlers[shifts[i].m] = avx_shift;
	}
	for (unsigned i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
		sw_handlers[moves[i]] = avx_mov;
	for (unsigned i = 0; i < sizeof(pmovx) / sizeof(pmovx[0]); i++)
		sw_handlers[pmovx[i]] = avx_pmovx;
	sw_handlers[ZYDIS_MNEMONIC_VPBLENDVB] = avx_pblendvb;
	sw_handlers[ZYDIS_MNEMONIC_VPTEST] = avx_ptest;
	sw_handlers[ZYDIS_MNEMONIC_VPMOVMSKB] = avx_pmovmskb;
	sw_handlers[ZYDIS_MNEMONIC_VMOVD] = avx_movdq;
	sw_handlers[ZYDIS_MNEMONIC_VMOVQ] = avx_movdq;
	sw_handlers[ZYDIS_MNEMONIC_VPEXTRB] = avx_pextr;
	sw_handlers[ZYDIS_MNEMONIC_VPEXTRW] = avx_pextr;
	sw_handlers[ZYDIS_MNEMONIC_VPEXTRD] = avx_pextr;
	sw_handlers[ZYDIS_MNEMONIC_VPEXTRQ] = avx_pextr;
	sw_handlers[ZYDIS_MNEMONIC_VPINSRB] = avx_pinsr;
	sw_handlers[ZYDIS_MNEMONIC_VPINSRW] = avx_pinsr;
	sw_handlers[ZYDIS_MNEMONIC_VPINSRD] = avx_pinsr;
	sw_handlers[ZYDIS_MNEMONIC_VPINSRQ] = avx_pinsr;
	sw_handlers[ZYDIS_MNEMONIC_VMASKMOVDQU] = avx_maskmovdqu;
	sw_handlers[ZYDIS_MNEMONIC_VPCMPESTRI] = avx_pcmpstr;
	sw_handlers[ZYDIS_MNEMONIC_VPCMPESTRM] = avx_pcmpstr;
	sw_handlers[ZYDIS_MNEMONIC_VPCMPISTRI] = avx_pcmpstr;
	sw_handlers[ZYDIS_MNEMONIC_VPCMPISTRM] = avx_pcmpstr;
}
