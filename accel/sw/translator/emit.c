// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x86-64 encodings of the translator's own instructions (see emit.h).
 * Everything goes through e_op_mem()/e_op_reg(), which know the ModRM,
 * SIB and REX rules; the rest are one-liners naming opcodes.
 */
#include "accel/sw/translator/emit.h"

static void prefixes(struct emit *e, unsigned size, bool gs, unsigned rex, bool force_rex)
{
	if (gs)
		e_u8(e, 0x65);
	if (size == 2)
		e_u8(e, 0x66);
	if (size == 8)
		rex |= 8;
	if (rex || force_rex)
		e_u8(e, (uint8_t)(0x40 | rex));
}

void e_op_mem(struct emit *e, unsigned size, const uint8_t *op, unsigned oplen, unsigned reg,
	      struct e_mem m)
{
	unsigned rex = (reg & 8 ? 4 : 0) | (m.index >= 0 && (m.index & 8) ? 2 : 0) |
		       (m.base >= 0 && (m.base & 8) ? 1 : 0);
	unsigned ss = m.scale == 8 ? 3 : m.scale == 4 ? 2 : m.scale == 2 ? 1 : 0;
	bool byte_rex = size == 1 && reg >= 4 && reg < 8;

	prefixes(e, size, m.gs, rex, byte_rex);
	e_bytes(e, op, oplen);
	if (m.base < 0) {
		/* No base: SIB with base 101 and mod 00 is [index * scale + disp32]. */
		e_u8(e, (uint8_t)(0x04 | (reg & 7) << 3));
		e_u8(e, (uint8_t)(ss << 6 | (m.index >= 0 ? (m.index & 7) : 4) << 3 | 5));
		e_u32(e, (uint32_t)m.disp);
		return;
	}
	{
		unsigned mod = m.disp == 0 && (m.base & 7) != 5 ? 0 :
			       (m.disp >= -128 && m.disp <= 127) ? 1 : 2;
		bool sib = m.index >= 0 || (m.base & 7) == 4;

		e_u8(e, (uint8_t)(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (m.base & 7))));
		if (sib)
			e_u8(e, (uint8_t)(ss << 6 | (m.index >= 0 ? (m.index & 7) : 4) << 3 |
					  (m.base & 7)));
		if (mod == 1)
			e_u8(e, (uint8_t)(int8_t)m.disp);
		else if (mod == 2)
			e_u32(e, (uint32_t)m.disp);
	}
}

void e_op_reg(struct emit *e, unsigned size, const uint8_t *op, unsigned oplen, unsigned reg,
	      unsigned rm)
{
	unsigned rex = (reg & 8 ? 4 : 0) | (rm & 8 ? 1 : 0);
	bool byte_rex = size == 1 && ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8));

	prefixes(e, size, false, rex, byte_rex);
	e_bytes(e, op, oplen);
	e_u8(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

void e_load(struct emit *e, unsigned size, unsigned reg, struct e_mem m)
{
	e_op_mem(e, size, (const uint8_t[]){ size == 1 ? 0x8a : 0x8b }, 1, reg, m);
}

void e_store(struct emit *e, unsigned size, struct e_mem m, unsigned reg)
{
	e_op_mem(e, size, (const uint8_t[]){ size == 1 ? 0x88 : 0x89 }, 1, reg, m);
}

void e_store_imm(struct emit *e, unsigned size, struct e_mem m, int32_t imm)
{
	e_op_mem(e, size, (const uint8_t[]){ size == 1 ? 0xc6 : 0xc7 }, 1, 0, m);
	if (size == 1)
		e_u8(e, (uint8_t)imm);
	else if (size == 2)
		e_bytes(e, &imm, 2);
	else
		e_u32(e, (uint32_t)imm);
}

void e_lea(struct emit *e, unsigned size, unsigned reg, struct e_mem m)
{
	m.gs = false;
	e_op_mem(e, size, (const uint8_t[]){ 0x8d }, 1, reg, m);
}

void e_mov_imm(struct emit *e, unsigned reg, uint64_t imm)
{
	if (imm <= 0xffffffffull) {
		/* mov r32, imm32 zero-extends. */
		if (reg & 8)
			e_u8(e, 0x41);
		e_u8(e, (uint8_t)(0xb8 | (reg & 7)));
		e_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		e_op_reg(e, 8, (const uint8_t[]){ 0xc7 }, 1, 0, reg);
		e_u32(e, (uint32_t)imm);
	} else {
		e_u8(e, (uint8_t)(0x48 | (reg & 8 ? 1 : 0)));
		e_u8(e, (uint8_t)(0xb8 | (reg & 7)));
		e_u64(e, imm);
	}
}

void e_mov_rr(struct emit *e, unsigned size, unsigned dst, unsigned src)
{
	e_op_reg(e, size, (const uint8_t[]){ 0x89 }, 1, src, dst);
}

void e_shr_imm(struct emit *e, unsigned size, unsigned reg, uint8_t n)
{
	e_op_reg(e, size, (const uint8_t[]){ 0xc1 }, 1, 5, reg);
	e_u8(e, n);
}

void e_and_imm(struct emit *e, unsigned size, unsigned reg, int32_t imm)
{
	e_op_reg(e, size, (const uint8_t[]){ 0x81 }, 1, 4, reg);
	e_u32(e, (uint32_t)imm);
}

void e_test_imm(struct emit *e, unsigned size, unsigned reg, int32_t imm)
{
	e_op_reg(e, size, (const uint8_t[]){ 0xf7 }, 1, 0, reg);
	e_u32(e, (uint32_t)imm);
}

void e_alu_mem(struct emit *e, uint8_t op, unsigned reg, struct e_mem m)
{
	e_op_mem(e, 8, &op, 1, reg, m);
}

void e_cmp_mem8_imm(struct emit *e, struct e_mem m, uint8_t imm)
{
	e_op_mem(e, 1, (const uint8_t[]){ 0x80 }, 1, 7, m);
	e_u8(e, imm);
}

uint32_t e_jmp(struct emit *e, const uint8_t *to)
{
	uint32_t at;

	e_u8(e, 0xe9);
	at = e_off(e);
	if (e_room(e, 4))
		e_patch_rel32(e->p, to);
	e->p += e->overflow ? 0 : 4;
	return at;
}

uint32_t e_jcc(struct emit *e, unsigned cc, const uint8_t *to)
{
	uint32_t at;

	e_u8(e, 0x0f);
	e_u8(e, (uint8_t)(0x80 | cc));
	at = e_off(e);
	if (e_room(e, 4))
		e_patch_rel32(e->p, to);
	e->p += e->overflow ? 0 : 4;
	return at;
}

void e_call(struct emit *e, const uint8_t *to)
{
	e_u8(e, 0xe8);
	if (e_room(e, 4))
		e_patch_rel32(e->p, to);
	e->p += e->overflow ? 0 : 4;
}

void e_call_reg(struct emit *e, unsigned reg)
{
	e_op_reg(e, 4, (const uint8_t[]){ 0xff }, 1, 2, reg);
}

void e_jmp_reg(struct emit *e, unsigned reg)
{
	e_op_reg(e, 4, (const uint8_t[]){ 0xff }, 1, 4, reg);
}

void e_jmp_mem(struct emit *e, struct e_mem m)
{
	e_op_mem(e, 4, (const uint8_t[]){ 0xff }, 1, 4, m);
}

void e_push_mem(struct emit *e, struct e_mem m)
{
	e_op_mem(e, 4, (const uint8_t[]){ 0xff }, 1, 6, m);
}

void e_pop_mem(struct emit *e, struct e_mem m)
{
	e_op_mem(e, 4, (const uint8_t[]){ 0x8f }, 1, 0, m);
}

void e_push(struct emit *e, unsigned reg)
{
	if (reg & 8)
		e_u8(e, 0x41);
	e_u8(e, (uint8_t)(0x50 | (reg & 7)));
}

void e_pop(struct emit *e, unsigned reg)
{
	if (reg & 8)
		e_u8(e, 0x41);
	e_u8(e, (uint8_t)(0x58 | (reg & 7)));
}
