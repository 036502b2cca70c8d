// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Logical and bit instructions: AND OR XOR NOT TEST, BT BTS BTR BTC,
 * BSF BSR, and the BMI/ABM ones (POPCNT LZCNT TZCNT) when the CPU model
 * advertises them (ANDN and the other BMI ones are bmi.c's). Undefined
 * flags follow the host (Intel), as the oracle test checks: logical ops
 * clear AF.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "machine/cpuid.h"

/* ---- AND OR XOR NOT TEST ---- */

enum logic_op { L_AND, L_OR, L_XOR };

struct logic_ctx {
	enum logic_op op;
	uint64_t b;
	unsigned size;
};

static uint64_t logic_fn(struct sw_cpu *cpu, uint64_t a, void *opaque)
{
	const struct logic_ctx *c = opaque;
	uint64_t r;

	switch (c->op) {
	case L_AND:
		r = a & c->b;
		break;
	case L_OR:
		r = a | c->b;
		break;
	default:
		r = a ^ c->b;
		break;
	}
	r &= sw_mask(c->size);
	sw_alu_logic_flags(cpu, r, c->size);
	return r;
}

static void h_logic(struct sw_cpu *cpu, const struct sw_insn *in, enum logic_op op)
{
	struct logic_ctx c = { .op = op, .b = sw_op_read(cpu, in, 1), .size = sw_op_size(in, 0) };

	sw_op_rmw(cpu, in, 0, logic_fn, &c);
}

static void h_and(struct sw_cpu *cpu, const struct sw_insn *in) { h_logic(cpu, in, L_AND); }
static void h_or(struct sw_cpu *cpu, const struct sw_insn *in) { h_logic(cpu, in, L_OR); }
static void h_xor(struct sw_cpu *cpu, const struct sw_insn *in) { h_logic(cpu, in, L_XOR); }

static uint64_t not_fn(struct sw_cpu *cpu, uint64_t a, void *opaque)
{
	return ~a;	/* no flags; sw_op_write cuts to the operand size */
}

static void h_not(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_op_rmw(cpu, in, 0, not_fn, NULL);
}

static void h_test(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t a = sw_op_read(cpu, in, 0), b = sw_op_read(cpu, in, 1);

	sw_alu_logic_flags(cpu, a & b & sw_mask(size), size);
}

/* ---- BT BTS BTR BTC ---- */

enum bt_op { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static uint64_t bt_apply(enum bt_op op, uint64_t v, uint64_t bit)
{
	switch (op) {
	case BT_SET:
		return v | bit;
	case BT_RESET:
		return v & ~bit;
	case BT_COMPLEMENT:
		return v ^ bit;
	default:
		return v;
	}
}

/*
 * CF = the selected bit. A register bit offset on a memory operand is a
 * signed offset from the operand's address, in operand-size units (it can
 * reach far outside the operand); an immediate offset is taken modulo the
 * operand size.
 */
static void h_bt_common(struct sw_cpu *cpu, const struct sw_insn *in, enum bt_op op)
{
	unsigned size = sw_op_size(in, 0), bits = size * 8;
	uint64_t off = sw_op_read(cpu, in, 1);
	uint64_t bit, v, nv;
	bool lock = in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK;

	if (in->op[0].type != ZYDIS_OPERAND_TYPE_MEMORY) {
		if (lock)
			sw_ud(cpu);
		bit = 1ull << (off & (bits - 1));
		v = sw_op_read(cpu, in, 0);
		if (op != BT_TEST)
			sw_op_write(cpu, in, 0, bt_apply(op, v, bit));
	} else {
		uint64_t ea = sw_op_ea(cpu, in, 0);
		struct sw_memref m;

		if (in->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			int64_t soff = (int64_t)(off << (64 - bits)) >> (64 - bits);
			int64_t units = soff >> (__builtin_ctz(bits));

			ea += (uint64_t)units * size;
			if (in->zi.address_width == 16)
				ea &= 0xffff;
			else if (in->zi.address_width == 32)
				ea &= 0xffffffff;
		}
		bit = 1ull << (off & (bits - 1));
		sw_mem_prepare(cpu, sw_op_seg(in, 0), ea, size,
			       op == BT_TEST ? SW_ACC_READ : SW_ACC_WRITE, &m);
		v = sw_mem_load(cpu, &m);
		if (op != BT_TEST) {
			if (lock) {
				while (!sw_mem_cmpxchg(cpu, &m, &v, bt_apply(op, v, bit)))
					;
			} else {
				sw_mem_store(cpu, &m, bt_apply(op, v, bit));
			}
		}
	}
	nv = (v & bit) ? X86_RFLAGS_CF : 0;
	sw_set_flags(cpu, X86_RFLAGS_CF, nv);
}

static void h_bt(struct sw_cpu *cpu, const struct sw_insn *in) { h_bt_common(cpu, in, BT_TEST); }
static void h_bts(struct sw_cpu *cpu, const struct sw_insn *in) { h_bt_common(cpu, in, BT_SET); }
static void h_btr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	h_bt_common(cpu, in, BT_RESET);
}
static void h_btc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	h_bt_common(cpu, in, BT_COMPLEMENT);
}

/* ---- BSF BSR ---- */

/* Zero source: ZF = 1 and the destination is left as it was (as hardware does). */
static void h_bsf_bsr(struct sw_cpu *cpu, const struct sw_insn *in, bool reverse)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t v = sw_op_read(cpu, in, 1) & sw_mask(size);
	uint64_t r;

	if (!v) {
		sw_set_flags(cpu, SW_FLAGS_OSZAPC, X86_RFLAGS_ZF | X86_RFLAGS_PF);
		return;
	}
	r = reverse ? 63 - __builtin_clzll(v) : __builtin_ctzll(v);
	sw_op_write(cpu, in, 0, r);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, sw_parity(r));
}

static void h_bsf(struct sw_cpu *cpu, const struct sw_insn *in) { h_bsf_bsr(cpu, in, false); }
static void h_bsr(struct sw_cpu *cpu, const struct sw_insn *in) { h_bsf_bsr(cpu, in, true); }

/* ---- CPU-model gated ones ---- */

static bool model_has(uint32_t leaf, unsigned reg, unsigned bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, leaf, 0, r);
	return r[reg] & (1u << bit);
}

static void h_popcnt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t v;

	if (!model_has(1, 2, 23))	/* CPUID.1:ECX.POPCNT */
		sw_ud(cpu);
	v = sw_op_read(cpu, in, 1) & sw_mask(size);
	sw_op_write(cpu, in, 0, (uint64_t)__builtin_popcountll(v));
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, v ? 0 : X86_RFLAGS_ZF);
}

/* LZCNT/TZCNT decode as such only when the model has them (see cpu.c init_decoder). */
static void h_lzcnt_tzcnt(struct sw_cpu *cpu, const struct sw_insn *in, bool lz)
{
	unsigned size = sw_op_size(in, 0), bits = size * 8;
	uint64_t v = sw_op_read(cpu, in, 1) & sw_mask(size);
	uint64_t r, f = 0;

	if (!v)
		r = bits;
	else if (lz)
		r = (uint64_t)__builtin_clzll(v) - (64 - bits);
	else
		r = (uint64_t)__builtin_ctzll(v);
	if (!v)
		f |= X86_RFLAGS_CF;
	if (!r)
		f |= X86_RFLAGS_ZF;
	sw_op_write(cpu, in, 0, r);
	/* OF SF AF PF are undefined: Intel cores clear them (the host oracle checks it). */
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_lzcnt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!model_has(0x80000001, 2, 5))	/* ABM */
		sw_ud(cpu);
	h_lzcnt_tzcnt(cpu, in, true);
}

static void h_tzcnt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!model_has(7, 1, 3))		/* BMI1 */
		sw_ud(cpu);
	h_lzcnt_tzcnt(cpu, in, false);
}

void sw_register_logic(void)
{
	sw_handlers[ZYDIS_MNEMONIC_AND] = h_and;
	sw_handlers[ZYDIS_MNEMONIC_OR] = h_or;
	sw_handlers[ZYDIS_MNEMONIC_XOR] = h_xor;
	sw_handlers[ZYDIS_MNEMONIC_NOT] = h_not;
	sw_handlers[ZYDIS_MNEMONIC_TEST] = h_test;
	sw_handlers[ZYDIS_MNEMONIC_BT] = h_bt;
	sw_handlers[ZYDIS_MNEMONIC_BTS] = h_bts;
	sw_handlers[ZYDIS_MNEMONIC_BTR] = h_btr;
	sw_handlers[ZYDIS_MNEMONIC_BTC] = h_btc;
	sw_handlers[ZYDIS_MNEMONIC_BSF] = h_bsf;
	sw_handlers[ZYDIS_MNEMONIC_BSR] = h_bsr;
	sw_handlers[ZYDIS_MNEMONIC_POPCNT] = h_popcnt;
	sw_handlers[ZYDIS_MNEMONIC_LZCNT] = h_lzcnt;
	sw_handlers[ZYDIS_MNEMONIC_TZCNT] = h_tzcnt;
}
