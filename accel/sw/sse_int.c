/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MMX and SSE2 integer SIMD: add/subtract (wrapping and saturating),
 * compares, logic (with the bitwise float forms ANDPS...), shifts,
 * multiplies, packs, averages, min/max, PSADBW, and EMMS.
 *
 * One handler serves both register files: an MMX destination works on
 * 8 bytes, an XMM destination on 16. Each operation is an element loop
 * over @n bytes of the destination @d and the source @s.
 */
#include "accel/sw/fpu.h"

typedef void (*int_fn)(union sw_vec *d, const union sw_vec *s, unsigned n);

static int_fn int_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1];

static void sse_int(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned n = sw_op_is_mmx(in, 0) ? 8 : 16;
	union sw_vec d, s;

	sw_simd_enter(cpu, in, false);
	sw_simd_read(cpu, in, 1, &s);
	sw_simd_read(cpu, in, 0, &d);
	int_ops[in->zi.mnemonic](&d, &s, n);
	sw_simd_write(cpu, in, 0, &d);
}

/* ---- saturation ---- */

static int8_t sat_s8(int v)
{
	return v > 127 ? 127 : v < -128 ? -128 : v;
}

static uint8_t sat_u8(int v)
{
	return v > 255 ? 255 : v < 0 ? 0 : v;
}

static int16_t sat_s16(int32_t v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

static uint16_t sat_u16(int32_t v)
{
	return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

/* ---- add / subtract ---- */

#define ELEMENTWISE(name, field, expr)						\
static void name(union sw_vec *d, const union sw_vec *s, unsigned n)		\
{										\
	for (unsigned i = 0; i < n / sizeof(d->field[0]); i++) {		\
		__typeof__(d->field[0]) a = d->field[i], b = s->field[i];	\
		d->field[i] = (expr);						\
	}									\
}

ELEMENTWISE(op_paddb, b, a + b)
ELEMENTWISE(op_paddw, w, a + b)
ELEMENTWISE(op_paddd, d, a + b)
ELEMENTWISE(op_paddq, q, a + b)
ELEMENTWISE(op_psubb, b, a - b)
ELEMENTWISE(op_psubw, w, a - b)
ELEMENTWISE(op_psubd, d, a - b)
ELEMENTWISE(op_psubq, q, a - b)
ELEMENTWISE(op_paddsb, sb, sat_s8(a + b))
ELEMENTWISE(op_paddsw, sw, sat_s16(a + b))
ELEMENTWISE(op_psubsb, sb, sat_s8(a - b))
ELEMENTWISE(op_psubsw, sw, sat_s16(a - b))
ELEMENTWISE(op_paddusb, b, sat_u8(a + b))
ELEMENTWISE(op_paddusw, w, sat_u16(a + b))
ELEMENTWISE(op_psubusb, b, sat_u8(a - b))
ELEMENTWISE(op_psubusw, w, sat_u16(a - b))

/* ---- compares: all ones where true ---- */

ELEMENTWISE(op_pcmpeqb, b, a == b ? 0xff : 0)
ELEMENTWISE(op_pcmpeqw, w, a == b ? 0xffff : 0)
ELEMENTWISE(op_pcmpeqd, d, a == b ? 0xffffffffu : 0)
ELEMENTWISE(op_pcmpgtb, sb, a > b ? -1 : 0)
ELEMENTWISE(op_pcmpgtw, sw, a > b ? -1 : 0)
ELEMENTWISE(op_pcmpgtd, sd, a > b ? -1 : 0)

/* ---- logic (also ANDPS/ANDNPS/ORPS/XORPS and the PD forms) ---- */

ELEMENTWISE(op_and, q, a & b)
ELEMENTWISE(op_andn, q, ~a & b)
ELEMENTWISE(op_or, q, a | b)
ELEMENTWISE(op_xor, q, a ^ b)

/* ---- multiplies, averages, min/max ---- */

ELEMENTWISE(op_pmullw, sw, (int16_t)((int32_t)a * b))
ELEMENTWISE(op_pmulhw, sw, (int16_t)(((int32_t)a * b) >> 16))
ELEMENTWISE(op_pmulhuw, w, (uint16_t)(((uint32_t)a * b) >> 16))
ELEMENTWISE(op_pavgb, b, (a + b + 1) >> 1)
ELEMENTWISE(op_pavgw, w, (a + b + 1) >> 1)
ELEMENTWISE(op_pmaxub, b, a > b ? a : b)
ELEMENTWISE(op_pminub, b, a < b ? a : b)
ELEMENTWISE(op_pmaxsw, sw, a > b ? a : b)
ELEMENTWISE(op_pminsw, sw, a < b ? a : b)

/* Pairs of signed word products summed into dwords (0x8000^2 * 2 wraps). */
static void op_pmaddwd(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	for (unsigned i = 0; i < n / 4; i++) {
		uint32_t lo = (uint32_t)((int32_t)d->sw[2 * i] * s->sw[2 * i]);
		uint32_t hi = (uint32_t)((int32_t)d->sw[2 * i + 1] * s->sw[2 * i + 1]);

		d->d[i] = lo + hi;
	}
}

/* The low dword of each quadword, multiplied into the full quadword. */
static void op_pmuludq(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	for (unsigned i = 0; i < n / 8; i++)
		d->q[i] = (uint64_t)d->d[2 * i] * s->d[2 * i];
}

/* Sum of absolute byte differences per quadword, in its low word. */
static void op_psadbw(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	for (unsigned g = 0; g < n / 8; g++) {
		unsigned sum = 0;

		for (unsigned i = 8 * g; i < 8 * g + 8; i++)
			sum += d->b[i] > s->b[i] ? d->b[i] - s->b[i] : s->b[i] - d->b[i];
		d->q[g] = sum;
	}
}

/* ---- packs: the destination's elements narrowed, then the source's ---- */

static void op_packsswb(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	union sw_vec r;
	unsigned h = n / 2;

	for (unsigned i = 0; i < h; i++) {
		r.sb[i] = sat_s8(d->sw[i]);
		r.sb[h + i] = sat_s8(s->sw[i]);
	}
	memcpy(d->b, r.b, n);
}

static void op_packuswb(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	union sw_vec r;
	unsigned h = n / 2;

	for (unsigned i = 0; i < h; i++) {
		r.b[i] = sat_u8(d->sw[i]);
		r.b[h + i] = sat_u8(s->sw[i]);
	}
	memcpy(d->b, r.b, n);
}

static void op_packssdw(union sw_vec *d, const union sw_vec *s, unsigned n)
{
	union sw_vec r;
	unsigned h = n / 4;

	for (unsigned i = 0; i < h; i++) {
		r.sw[i] = sat_s16(d->sd[i]);
		r.sw[h + i] = sat_s16(s->sd[i]);
	}
	memcpy(d->b, r.b, n);
}

/*
 * ---- shifts: the count is the source's low quadword (or the immediate);
 * counts past the element width give zero, or sign fill for PSRA ----
 */

#define SHIFT(name, field, bits, expr_in, expr_out)				\
static void name(union sw_vec *d, const union sw_vec *s, unsigned n)		\
{										\
	uint64_t c = s->q[0];							\
	for (unsigned i = 0; i < n / sizeof(d->field[0]); i++) {		\
		__typeof__(d->field[0]) a = d->field[i];			\
		d->field[i] = c < (bits) ? (expr_in) : (expr_out);		\
	}									\
}

SHIFT(op_psllw, w, 16, a << c, 0)
SHIFT(op_pslld, d, 32, a << c, 0)
SHIFT(op_psllq, q, 64, a << c, 0)
SHIFT(op_psrlw, w, 16, a >> c, 0)
SHIFT(op_psrld, d, 32, a >> c, 0)
SHIFT(op_psrlq, q, 64, a >> c, 0)
SHIFT(op_psraw, sw, 16, a >> c, a >> 15)
SHIFT(op_psrad, sd, 32, a >> c, a >> 31)

/* ---- EMMS: all x87 registers empty again ---- */

static void mmx_emms(struct sw_cpu *cpu, const struct sw_insn *in)
{
	/* Same checks and TOP = 0 as any MMX instruction, then tags empty. */
	sw_mmx_enter(cpu);
	sw_fpu_set_top(cpu, 0);
	cpu->st.fx.ftw = 0;
}

static const struct {
	ZydisMnemonic m;
	int_fn fn;
} int_table[] = {
	{ ZYDIS_MNEMONIC_PADDB, op_paddb }, { ZYDIS_MNEMONIC_PADDW, op_paddw },
	{ ZYDIS_MNEMONIC_PADDD, op_paddd }, { ZYDIS_MNEMONIC_PADDQ, op_paddq },
	{ ZYDIS_MNEMONIC_PSUBB, op_psubb }, { ZYDIS_MNEMONIC_PSUBW, op_psubw },
	{ ZYDIS_MNEMONIC_PSUBD, op_psubd }, { ZYDIS_MNEMONIC_PSUBQ, op_psubq },
	{ ZYDIS_MNEMONIC_PADDSB, op_paddsb }, { ZYDIS_MNEMONIC_PADDSW, op_paddsw },
	{ ZYDIS_MNEMONIC_PSUBSB, op_psubsb }, { ZYDIS_MNEMONIC_PSUBSW, op_psubsw },
	{ ZYDIS_MNEMONIC_PADDUSB, op_paddusb }, { ZYDIS_MNEMONIC_PADDUSW, op_paddusw },
	{ ZYDIS_MNEMONIC_PSUBUSB, op_psubusb }, { ZYDIS_MNEMONIC_PSUBUSW, op_psubusw },
	{ ZYDIS_MNEMONIC_PCMPEQB, op_pcmpeqb }, { ZYDIS_MNEMONIC_PCMPEQW, op_pcmpeqw },
	{ ZYDIS_MNEMONIC_PCMPEQD, op_pcmpeqd }, { ZYDIS_MNEMONIC_PCMPGTB, op_pcmpgtb },
	{ ZYDIS_MNEMONIC_PCMPGTW, op_pcmpgtw }, { ZYDIS_MNEMONIC_PCMPGTD, op_pcmpgtd },
	{ ZYDIS_MNEMONIC_PAND, op_and }, { ZYDIS_MNEMONIC_PANDN, op_andn },
	{ ZYDIS_MNEMONIC_POR, op_or }, { ZYDIS_MNEMONIC_PXOR, op_xor },
	{ ZYDIS_MNEMONIC_ANDPS, op_and }, { ZYDIS_MNEMONIC_ANDNPS, op_andn },
	{ ZYDIS_MNEMONIC_ORPS, op_or }, { ZYDIS_MNEMONIC_XORPS, op_xor },
	{ ZYDIS_MNEMONIC_ANDPD, op_and }, { ZYDIS_MNEMONIC_ANDNPD, op_andn },
	{ ZYDIS_MNEMONIC_ORPD, op_or }, { ZYDIS_MNEMONIC_XORPD, op_xor },
	{ ZYDIS_MNEMONIC_PMULLW, op_pmullw }, { ZYDIS_MNEMONIC_PMULHW, op_pmulhw },
	{ ZYDIS_MNEMONIC_PMULHUW, op_pmulhuw }, { ZYDIS_MNEMONIC_PMADDWD, op_pmaddwd },
	{ ZYDIS_MNEMONIC_PMULUDQ, op_pmuludq }, { ZYDIS_MNEMONIC_PSADBW, op_psadbw },
	{ ZYDIS_MNEMONIC_PAVGB, op_pavgb }, { ZYDIS_MNEMONIC_PAVGW, op_pavgw },
	{ ZYDIS_MNEMONIC_PMAXUB, op_pmaxub }, { ZYDIS_MNEMONIC_PMINUB, op_pminub },
	{ ZYDIS_MNEMONIC_PMAXSW, op_pmaxsw }, { ZYDIS_MNEMONIC_PMINSW, op_pminsw },
	{ ZYDIS_MNEMONIC_PACKSSWB, op_packsswb }, { ZYDIS_MNEMONIC_PACKUSWB, op_packuswb },
	{ ZYDIS_MNEMONIC_PACKSSDW, op_packssdw },
	{ ZYDIS_MNEMONIC_PSLLW, op_psllw }, { ZYDIS_MNEMONIC_PSLLD, op_pslld },
	{ ZYDIS_MNEMONIC_PSLLQ, op_psllq }, { ZYDIS_MNEMONIC_PSRLW, op_psrlw },
	{ ZYDIS_MNEMONIC_PSRLD, op_psrld }, { ZYDIS_MNEMONIC_PSRLQ, op_psrlq },
	{ ZYDIS_MNEMONIC_PSRAW, op_psraw }, { ZYDIS_MNEMONIC_PSRAD, op_psrad },
};

void sw_register_sse_int(void)
{
	for (unsigned i = 0; i < sizeof(int_table) / sizeof(int_table[0]); i++) {
		int_ops[int_table[i].m] = int_table[i].fn;
		sw_handlers[int_table[i].m] = sse_int;
	}
	sw_handlers[ZYDIS_MNEMONIC_EMMS] = mmx_emms;
}
