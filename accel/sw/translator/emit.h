/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_TRANSLATOR_EMIT_H
#define TANDEM_SW_TRANSLATOR_EMIT_H
/*
 * A small x86-64 emitter for the fixed forms the translator writes
 * itself: moves between host registers and gs:-relative state, the TLB
 * probe, jumps and calls. Guest instructions that are copied go through
 * the Zydis encoder instead (translate.c).
 *
 * Writing past the end of the buffer is never done: e->overflow is set
 * and the caller drops the block.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Host registers by their encoding number. */
enum {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
};

struct emit {
	uint8_t *start, *p, *end;
	bool overflow;
};

/* A memory operand: [base + index * scale + disp], optionally gs:. base/index -1: none. */
struct e_mem {
	int base, index;
	unsigned scale;
	int32_t disp;
	bool gs;
};

static inline struct e_mem e_gs(int32_t disp)
{
	return (struct e_mem){ .base = -1, .index = -1, .scale = 1, .disp = disp, .gs = true };
}

static inline struct e_mem e_gs_base(int base, int32_t disp)
{
	return (struct e_mem){ .base = base, .index = -1, .scale = 1, .disp = disp, .gs = true };
}

static inline struct e_mem e_base(int base, int32_t disp)
{
	return (struct e_mem){ .base = base, .index = -1, .scale = 1, .disp = disp };
}

static inline bool e_room(struct emit *e, unsigned n)
{
	if (e->overflow || (size_t)(e->end - e->p) < n) {
		e->overflow = true;
		return false;
	}
	return true;
}

static inline void e_bytes(struct emit *e, const void *b, unsigned n)
{
	if (e_room(e, n)) {
		memcpy(e->p, b, n);
		e->p += n;
	}
}

static inline void e_u8(struct emit *e, uint8_t v)
{
	e_bytes(e, &v, 1);
}

static inline void e_u32(struct emit *e, uint32_t v)
{
	e_bytes(e, &v, 4);
}

static inline void e_u64(struct emit *e, uint64_t v)
{
	e_bytes(e, &v, 8);
}

static inline uint32_t e_off(const struct emit *e)
{
	return (uint32_t)(e->p - e->start);
}

/*
 * One instruction "op reg, mem" (or "op mem, reg"): prefixes, REX, @oplen
 * opcode bytes, ModRM/SIB/disp. @size: 1, 2, 4 or 8 (operand size; 2 adds
 * 0x66, 8 REX.W). @reg is a register number or an opcode extension.
 */
void e_op_mem(struct emit *e, unsigned size, const uint8_t *op, unsigned oplen, unsigned reg,
	      struct e_mem m);
/* "op reg, rm" with a register rm (ModRM mod = 3). */
void e_op_reg(struct emit *e, unsigned size, const uint8_t *op, unsigned oplen, unsigned reg,
	      unsigned rm);

void e_load(struct emit *e, unsigned size, unsigned reg, struct e_mem m);	/* mov reg, m */
void e_store(struct emit *e, unsigned size, struct e_mem m, unsigned reg);	/* mov m, reg */
void e_store_imm(struct emit *e, unsigned size, struct e_mem m, int32_t imm);	/* mov m, imm */
void e_lea(struct emit *e, unsigned size, unsigned reg, struct e_mem m);	/* size 4 or 8 */
void e_mov_imm(struct emit *e, unsigned reg, uint64_t imm);	/* shortest mov r64, imm */
void e_mov_rr(struct emit *e, unsigned size, unsigned dst, unsigned src);
void e_shr_imm(struct emit *e, unsigned size, unsigned reg, uint8_t n);
void e_and_imm(struct emit *e, unsigned size, unsigned reg, int32_t imm);
void e_test_imm(struct emit *e, unsigned size, unsigned reg, int32_t imm);
void e_alu_mem(struct emit *e, uint8_t op, unsigned reg, struct e_mem m);	/* 64-bit op reg, m */
void e_cmp_mem8_imm(struct emit *e, struct e_mem m, uint8_t imm);
/* jmp/jcc/call rel32 to an absolute host address (returns the offset of the rel32). */
uint32_t e_jmp(struct emit *e, const uint8_t *to);
uint32_t e_jcc(struct emit *e, unsigned cc, const uint8_t *to);
void e_call(struct emit *e, const uint8_t *to);
void e_call_reg(struct emit *e, unsigned reg);
void e_jmp_reg(struct emit *e, unsigned reg);
void e_jmp_mem(struct emit *e, struct e_mem m);
void e_push_mem(struct emit *e, struct e_mem m);
void e_pop_mem(struct emit *e, struct e_mem m);
void e_push(struct emit *e, unsigned reg);
void e_pop(struct emit *e, unsigned reg);
static inline void e_pushf(struct emit *e) { e_u8(e, 0x9c); }
static inline void e_popf(struct emit *e) { e_u8(e, 0x9d); }

/* Patch a rel32 at @at (an address inside emitted code) to reach @to. */
static inline void e_patch_rel32(uint8_t *at, const uint8_t *to)
{
	int32_t rel = (int32_t)(to - (at + 4));

	memcpy(at, &rel, 4);
}

enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
       CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G };

#endif
