// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SSSE3: byte shuffle, horizontal add/subtract, multiply-add of unsigned
 * by signed bytes, rounded high multiply, sign and absolute value, and
 * PALIGNR. Integer only (no MXCSR): element loops in C, as in
 * sse_int.c. Each has an MMX form (8 bytes) and an XMM form (16 bytes);
 * the MMX forms follow the MMX rules (no CR4.OSFXSR check, the x87
 * unit switches to MMX mode when the instruction completes).
 */
#include "accel/sw/simd_ext.h"

typedef void (*op_fn)(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm);

static op_fn ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];

static void ssse3(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_ext_width(in);
	unsigned imm = in->zi.operand_count_visible > 2 ? sw_ext_imm8(in, 2) : 0;
	union sw_vec d, s;

	sw_ext_enter(cpu, in, CPUID_1_ECX_SSSE3);
	sw_simd_read(cpu, in, 1, &s);
	sw_simd_read(cpu, in, 0, &d);
	ops[in->zi.mnemonic](&d, &s, n, imm);
	sw_simd_write(cpu, in, 0, &d);
}

static int16_t sat_s16(int32_t v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
}

/* Bit 7 of a control byte zeroes the byte; its low bits index the destination. */
static void op_pshufb(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm)
{
	union sw_vec r;

	(void)imm;
	for (unsigned i = 0; i < n; i++)
		r.b[i] = (s->b[i] & 0x80) ? 0 : d->b[s->b[i] & (n - 1)];
	memcpy(d->b, r.b, n);
}

/*
 * Horizontal pairs: the destination's pairs give the low half of the
 * result, the source's the high half.
 */
#define HORIZ(name, field, type, expr)						\
static void name(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm) \
{										\
	unsigned h = n / sizeof(d->field[0]) / 2;				\
	union sw_vec r;								\
	(void)imm;								\
	for (unsigned i = 0; i < h; i++) {					\
		type a = d->field[2 * i], b = d->field[2 * i + 1];		\
		r.field[i] = (expr);						\
		a = s->field[2 * i];						\
		b = s->field[2 * i + 1];					\
		r.field[h + i] = (expr);					\
	}									\
	memcpy(d->b, r.b, n);							\
}

HORIZ(op_phaddw, w, uint16_t, (uint16_t)(a + b))
HORIZ(op_phaddd, d, uint32_t, a + b)
HORIZ(op_phaddsw, sw, int16_t, sat_s16((int32_t)a + b))
HORIZ(op_phsubw, w, uint16_t, (uint16_t)(a - b))
HORIZ(op_phsubd, d, uint32_t, a - b)
HORIZ(op_phsubsw, sw, int16_t, sat_s16((int32_t)a - b))

/* Unsigned bytes of the destination times signed bytes of the source, pairs summed. */
static void op_pmaddubsw(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n / 2; i++) {
		int32_t lo = (int32_t)d->b[2 * i] * s->sb[2 * i];
		int32_t hi = (int32_t)d->b[2 * i + 1] * s->sb[2 * i + 1];

		d->sw[i] = sat_s16(lo + hi);
	}
}

/* Bits 30:15 of the product rounded: ((a * b >> 14) + 1) >> 1. */
static void op_pmulhrsw(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n / 2; i++) {
		int32_t p = (int32_t)d->sw[i] * s->sw[i];

		d->w[i] = (uint16_t)(((p >> 14) + 1) >> 1);
	}
}

/* PSIGN: negated where the source is negative, zero where it is zero. */
#define SIGN(name, field, ufield)						\
static void name(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm) \
{										\
	(void)imm;								\
	for (unsigned i = 0; i < n / sizeof(d->field[0]); i++) {		\
		if (s->field[i] < 0)						\
			d->ufield[i] = -d->ufield[i];				\
		else if (!s->field[i])						\
			d->ufield[i] = 0;					\
	}									\
}

SIGN(op_psignb, sb, b)
SIGN(op_psignw, sw, w)
SIGN(op_psignd, sd, d)

/* PABS: the source's absolute values (the most negative one stays as it is). */
#define ABS(name, field, ufield)						\
static void name(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm) \
{										\
	(void)imm;								\
	for (unsigned i = 0; i < n / sizeof(d->field[0]); i++)			\
		d->ufield[i] = s->field[i] < 0 ? -s->ufield[i] : s->ufield[i];	\
}

ABS(op_pabsb, sb, b)
ABS(op_pabsw, sw, w)
ABS(op_pabsd, sd, d)

/* Destination:source as one 2n-byte value, shifted right by imm8 bytes, low n kept. */
static void op_palignr(union sw_vec *d, const union sw_vec *s, unsigned n, unsigned imm)
{
	uint8_t cat[32];

	memcpy(cat, s->b, n);
	memcpy(cat + n, d->b, n);
	for (unsigned i = 0; i < n; i++)
		d->b[i] = imm + i < 2 * n ? cat[imm + i] : 0;
}

static const struct {
	ZydisMnemonic m;
	op_fn fn;
} table[] = {
	{ ZYDIS_MNEMONIC_PSHUFB, op_pshufb },
	{ ZYDIS_MNEMONIC_PHADDW, op_phaddw }, { ZYDIS_MNEMONIC_PHADDD, op_phaddd },
	{ ZYDIS_MNEMONIC_PHADDSW, op_phaddsw }, { ZYDIS_MNEMONIC_PHSUBW, op_phsubw },
	{ ZYDIS_MNEMONIC_PHSUBD, op_phsubd }, { ZYDIS_MNEMONIC_PHSUBSW, op_phsubsw },
	{ ZYDIS_MNEMONIC_PMADDUBSW, op_pmaddubsw }, { ZYDIS_MNEMONIC_PMULHRSW, op_pmulhrsw },
	{ ZYDIS_MNEMONIC_PSIGNB, op_psignb }, { ZYDIS_MNEMONIC_PSIGNW, op_psignw },
	{ ZYDIS_MNEMONIC_PSIGND, op_psignd }, { ZYDIS_MNEMONIC_PABSB, op_pabsb },
	{ ZYDIS_MNEMONIC_PABSW, op_pabsw }, { ZYDIS_MNEMONIC_PABSD, op_pabsd },
	{ ZYDIS_MNEMONIC_PALIGNR, op_palignr },
};

void sw_register_ssse3(void)
{
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ops[table[i].m] = table[i].fn;
		sw_handlers[table[i].m] = ssse3;
	}
}
