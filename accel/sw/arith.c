// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Integer arithmetic: ADD ADC SUB SBB CMP INC DEC NEG, MUL IMUL DIV IDIV,
 * the shared flag helpers and the condition codes.
 *
 * Flags the SDM calls undefined follow what Intel hardware produces (the
 * oracle test compares with the host CPU): after MUL/IMUL, SF and PF come
 * from the low half of the result, ZF and AF are cleared; DIV/IDIV leave
 * all flags unchanged.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"

/* ---- flag helpers ---- */

uint64_t sw_alu_add(struct sw_cpu *cpu, uint64_t a, uint64_t b, unsigned cin, unsigned size)
{
	uint64_t mask = sw_mask(size), top = size * 8 - 1;
	uint64_t res, carries, f;

	a &= mask;
	b &= mask;
	res = (a + b + cin) & mask;
	/* Carry out of every bit position: majority(a, b, carry in). */
	carries = (a & b) | ((a | b) & ~res);
	f = sw_flags_szp(res, size);
	f |= ((carries >> top) & 1) ? X86_RFLAGS_CF : 0;
	f |= ((a ^ b ^ res) & 0x10) ? X86_RFLAGS_AF : 0;
	f |= (((a ^ res) & (b ^ res)) >> top) & 1 ? X86_RFLAGS_OF : 0;
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
	return res;
}

uint64_t sw_alu_sub(struct sw_cpu *cpu, uint64_t a, uint64_t b, unsigned cin, unsigned size)
{
	uint64_t mask = sw_mask(size), top = size * 8 - 1;
	uint64_t res, borrows, f;

	a &= mask;
	b &= mask;
	res = (a - b - cin) & mask;
	/* Borrow out of every bit position. */
	borrows = (~a & b) | (~(a ^ b) & res);
	f = sw_flags_szp(res, size);
	f |= ((borrows >> top) & 1) ? X86_RFLAGS_CF : 0;
	f |= ((a ^ b ^ res) & 0x10) ? X86_RFLAGS_AF : 0;
	f |= (((a ^ b) & (a ^ res)) >> top) & 1 ? X86_RFLAGS_OF : 0;
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
	return res;
}

void sw_alu_logic_flags(struct sw_cpu *cpu, uint64_t res, unsigned size)
{
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, sw_flags_szp(res, size));
}

/* ---- conditions ---- */

bool sw_cond(const struct sw_cpu *cpu, unsigned cc)
{
	uint64_t f = cpu->st.rflags;
	bool r;

	switch ((cc >> 1) & 7) {
	case 0:
		r = f & X86_RFLAGS_OF;
		break;
	case 1:
		r = f & X86_RFLAGS_CF;
		break;
	case 2:
		r = f & X86_RFLAGS_ZF;
		break;
	case 3:
		r = f & (X86_RFLAGS_CF | X86_RFLAGS_ZF);
		break;
	case 4:
		r = f & X86_RFLAGS_SF;
		break;
	case 5:
		r = f & X86_RFLAGS_PF;
		break;
	case 6:
		r = !(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF);
		break;
	default:
		r = (f & X86_RFLAGS_ZF) || (!(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF));
		break;
	}
	return (cc & 1) ? !r : r;
}

int sw_mnemonic_cc(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_CMOVO:
		return 0;
	case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_CMOVNO:
		return 1;
	case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_SETB: case ZYDIS_MNEMONIC_CMOVB:
		return 2;
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_CMOVNB:
		return 3;
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_SETZ: case ZYDIS_MNEMONIC_CMOVZ:
		return 4;
	case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_SETNZ: case ZYDIS_MNEMONIC_CMOVNZ:
		return 5;
	case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_CMOVBE:
		return 6;
	case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_CMOVNBE:
		return 7;
	case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_SETS: case ZYDIS_MNEMONIC_CMOVS:
		return 8;
	case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_CMOVNS:
		return 9;
	case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_CMOVP:
		return 10;
	case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_SETNP: case ZYDIS_MNEMONIC_CMOVNP:
		return 11;
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_CMOVL:
		return 12;
	case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_CMOVNL:
		return 13;
	case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_SETLE: case ZYDIS_MNEMONIC_CMOVLE:
		return 14;
	case ZYDIS_MNEMONIC_JNLE: case ZYDIS_MNEMONIC_SETNLE: case ZYDIS_MNEMONIC_CMOVNLE:
		return 15;
	default:
		return -1;
	}
}

/* ---- two-operand ALU ---- */

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	      ALU_INC, ALU_DEC, ALU_NEG, ALU_NOT };

/* Compute @op on @a and @b, writing the flags it defines; cin is CF before the insn. */
static uint64_t alu(struct sw_cpu *cpu, enum alu_op op, uint64_t a, uint64_t b, unsigned cin,
		    unsigned size)
{
	uint64_t cf = cpu->st.rflags & X86_RFLAGS_CF, r;

	switch (op) {
	case ALU_ADD:
		return sw_alu_add(cpu, a, b, 0, size);
	case ALU_ADC:
		return sw_alu_add(cpu, a, b, cin, size);
	case ALU_SUB:
	case ALU_CMP:
		return sw_alu_sub(cpu, a, b, 0, size);
	case ALU_SBB:
		return sw_alu_sub(cpu, a, b, cin, size);
	case ALU_OR:
		r = (a | b) & sw_mask(size);
		sw_alu_logic_flags(cpu, r, size);
		return r;
	case ALU_AND:
		r = a & b & sw_mask(size);
		sw_alu_logic_flags(cpu, r, size);
		return r;
	case ALU_XOR:
		r = (a ^ b) & sw_mask(size);
		sw_alu_logic_flags(cpu, r, size);
		return r;
	case ALU_INC:
		r = sw_alu_add(cpu, a, 1, 0, size);
		sw_set_flags(cpu, X86_RFLAGS_CF, cf);	/* INC/DEC keep CF */
		return r;
	case ALU_DEC:
		r = sw_alu_sub(cpu, a, 1, 0, size);
		sw_set_flags(cpu, X86_RFLAGS_CF, cf);
		return r;
	case ALU_NEG:
		return sw_alu_sub(cpu, 0, a, 0, size);
	case ALU_NOT:
	default:
		return ~a & sw_mask(size);	/* no flags */
	}
}

/*
 * Operand 0 = operand 0 @op @b. Memory destinations are translated for
 * writing before anything changes; LOCK makes the update a host atomic
 * (compare-and-swap, recomputing from the value seen) on RAM.
 */
static void alu_rmw(struct sw_cpu *cpu, const struct sw_insn *in, enum alu_op op, uint64_t b)
{
	unsigned size = sw_op_size(in, 0);
	unsigned cin = (cpu->st.rflags & X86_RFLAGS_CF) ? 1 : 0;
	bool write = op != ALU_CMP;
	struct sw_memref m;
	uint64_t a, r;

	if (in->op[0].type != ZYDIS_OPERAND_TYPE_MEMORY) {
		if (in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
			sw_ud(cpu);
		r = alu(cpu, op, sw_op_read(cpu, in, 0), b, cin, size);
		if (write)
			sw_op_write(cpu, in, 0, r);
		return;
	}
	sw_op_memref(cpu, in, 0, write ? SW_ACC_WRITE : SW_ACC_READ, &m);
	a = sw_mem_load(cpu, &m);
	if (!write) {
		alu(cpu, op, a, b, cin, size);
		return;
	}
	if (in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) {
		uint64_t flags = cpu->st.rflags;

		for (;;) {
			cpu->st.rflags = flags;
			r = alu(cpu, op, a, b, cin, size);
			if (sw_mem_cmpxchg(cpu, &m, &a, r))
				break;
		}
		return;
	}
	r = alu(cpu, op, a, b, cin, size);
	sw_mem_store(cpu, &m, r);
}

static void h_binop(struct sw_cpu *cpu, const struct sw_insn *in, enum alu_op op)
{
	uint64_t b = sw_op_read(cpu, in, 1);

	alu_rmw(cpu, in, op, b);
}

static void h_add(struct sw_cpu *cpu, const struct sw_insn *in) { h_binop(cpu, in, ALU_ADD); }
static void h_adc(struct sw_cpu *cpu, const struct sw_insn *in) { h_binop(cpu, in, ALU_ADC); }
static void h_sub(struct sw_cpu *cpu, const struct sw_insn *in) { h_binop(cpu, in, ALU_SUB); }
static void h_sbb(struct sw_cpu *cpu, const struct sw_insn *in) { h_binop(cpu, in, ALU_SBB); }
static void h_cmp(struct sw_cpu *cpu, const struct sw_insn *in) { h_binop(cpu, in, ALU_CMP); }
static void h_inc(struct sw_cpu *cpu, const struct sw_insn *in) { alu_rmw(cpu, in, ALU_INC, 1); }
static void h_dec(struct sw_cpu *cpu, const struct sw_insn *in) { alu_rmw(cpu, in, ALU_DEC, 1); }
static void h_neg(struct sw_cpu *cpu, const struct sw_insn *in) { alu_rmw(cpu, in, ALU_NEG, 0); }

/* ---- multiply ---- */

static const ZydisRegister acc_lo[9] = {
	[1] = ZYDIS_REGISTER_AL, [2] = ZYDIS_REGISTER_AX, [4] = ZYDIS_REGISTER_EAX,
	[8] = ZYDIS_REGISTER_RAX,
};
static const ZydisRegister acc_hi[9] = {
	[1] = ZYDIS_REGISTER_AH, [2] = ZYDIS_REGISTER_DX, [4] = ZYDIS_REGISTER_EDX,
	[8] = ZYDIS_REGISTER_RDX,
};

static int64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

/* Flags after a multiply: CF = OF = @ovf; SF, PF from the low half; ZF, AF clear. */
static void mul_flags(struct sw_cpu *cpu, uint64_t lo, unsigned size, bool ovf)
{
	uint64_t f = sw_flags_szp(lo, size) & ~X86_RFLAGS_ZF;

	if (ovf)
		f |= X86_RFLAGS_CF | X86_RFLAGS_OF;
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_mul(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t mask = sw_mask(size);
	uint64_t b = sw_op_read(cpu, in, 0) & mask;
	uint64_t a = sw_reg_read(cpu, acc_lo[size]) & mask;
	unsigned __int128 p = (unsigned __int128)a * b;
	uint64_t lo = (uint64_t)p & mask, hi = (uint64_t)(p >> (size * 8)) & mask;

	if (size == 1) {
		sw_reg_write(cpu, ZYDIS_REGISTER_AX, (uint16_t)p);
	} else {
		sw_reg_write(cpu, acc_lo[size], lo);
		sw_reg_write(cpu, acc_hi[size], hi);
	}
	mul_flags(cpu, lo, size, hi != 0);
}

/* Signed product of two @size-byte values, truncated; *ovf if it does not fit. */
static uint64_t imul_trunc(uint64_t a, uint64_t b, unsigned size, bool *ovf, __int128 *full)
{
	__int128 p = (__int128)sext(a, size) * sext(b, size);
	uint64_t lo = (uint64_t)p & sw_mask(size);

	*ovf = (__int128)sext(lo, size) != p;
	if (full)
		*full = p;
	return lo;
}

static void h_imul(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned nvis = in->zi.operand_count_visible;
	unsigned size = sw_op_size(in, 0);
	uint64_t a, b, lo;
	__int128 p;
	bool ovf;

	if (nvis == 1) {
		b = sw_op_read(cpu, in, 0);
		a = sw_reg_read(cpu, acc_lo[size]);
		lo = imul_trunc(a, b, size, &ovf, &p);
		if (size == 1) {
			sw_reg_write(cpu, ZYDIS_REGISTER_AX, (uint16_t)p);
		} else {
			sw_reg_write(cpu, acc_lo[size], lo);
			sw_reg_write(cpu, acc_hi[size],
				     (uint64_t)(p >> (size * 8)) & sw_mask(size));
		}
	} else {
		/* imul r, r/m  or  imul r, r/m, imm */
		a = sw_op_read(cpu, in, 1);
		b = nvis >= 3 ? sw_op_read(cpu, in, 2) : sw_op_read(cpu, in, 0);
		lo = imul_trunc(a, b, size, &ovf, NULL);
		sw_op_write(cpu, in, 0, lo);
	}
	mul_flags(cpu, lo, size, ovf);
}

/* ---- divide ---- */

static void h_div(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t mask = sw_mask(size);
	uint64_t d = sw_op_read(cpu, in, 0) & mask;
	unsigned __int128 n, q, r;

	if (!d)
		sw_raise(cpu, X86_DE);
	if (size == 1)
		n = sw_reg_read(cpu, ZYDIS_REGISTER_AX);
	else
		n = ((unsigned __int128)(sw_reg_read(cpu, acc_hi[size]) & mask) << (size * 8)) |
		    (sw_reg_read(cpu, acc_lo[size]) & mask);
	q = n / d;
	r = n % d;
	if (q > mask)
		sw_raise(cpu, X86_DE);
	if (size == 1) {
		sw_reg_write(cpu, ZYDIS_REGISTER_AX, ((uint64_t)r << 8) | (uint64_t)q);
	} else {
		sw_reg_write(cpu, acc_lo[size], (uint64_t)q);
		sw_reg_write(cpu, acc_hi[size], (uint64_t)r);
	}
}

static void h_idiv(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0), bits = size * 8;
	uint64_t mask = sw_mask(size);
	int64_t d = sext(sw_op_read(cpu, in, 0), size);
	unsigned __int128 un, ud, uq, ur;
	bool nneg, dneg;
	uint64_t hi, lo, q, r;

	if (!d)
		sw_raise(cpu, X86_DE);
	if (size == 1) {
		uint64_t ax = sw_reg_read(cpu, ZYDIS_REGISTER_AX);

		hi = ax >> 8;
		lo = ax & 0xff;
	} else {
		hi = sw_reg_read(cpu, acc_hi[size]) & mask;
		lo = sw_reg_read(cpu, acc_lo[size]) & mask;
	}
	/* Magnitudes in 128 bits: the dividend has 2 * bits bits, never overflows C. */
	un = ((unsigned __int128)hi << bits) | lo;
	nneg = hi & sw_sign_bit(size);
	if (nneg) {
		un = ~un + 1;
		if (bits < 64)
			un &= ((unsigned __int128)1 << (2 * bits)) - 1;
	}
	dneg = d < 0;
	ud = dneg ? (unsigned __int128)(-(__int128)d) : (unsigned __int128)d;
	uq = un / ud;
	ur = un % ud;
	/* Quotient must fit in a signed @bits value. */
	if (nneg != dneg) {
		if (uq > (unsigned __int128)sw_sign_bit(size))
			sw_raise(cpu, X86_DE);
		q = (uint64_t)(-(__int128)uq) & mask;
	} else {
		if (uq >= (unsigned __int128)sw_sign_bit(size))
			sw_raise(cpu, X86_DE);
		q = (uint64_t)uq & mask;
	}
	r = (uint64_t)(nneg ? -(__int128)ur : (__int128)ur) & mask;
	if (size == 1) {
		sw_reg_write(cpu, ZYDIS_REGISTER_AX, (r << 8) | q);
	} else {
		sw_reg_write(cpu, acc_lo[size], q);
		sw_reg_write(cpu, acc_hi[size], r);
	}
}

void sw_register_arith(void)
{
	sw_handlers[ZYDIS_MNEMONIC_ADD] = h_add;
	sw_handlers[ZYDIS_MNEMONIC_ADC] = h_adc;
	sw_handlers[ZYDIS_MNEMONIC_SUB] = h_sub;
	sw_handlers[ZYDIS_MNEMONIC_SBB] = h_sbb;
	sw_handlers[ZYDIS_MNEMONIC_CMP] = h_cmp;
	sw_handlers[ZYDIS_MNEMONIC_INC] = h_inc;
	sw_handlers[ZYDIS_MNEMONIC_DEC] = h_dec;
	sw_handlers[ZYDIS_MNEMONIC_NEG] = h_neg;
	sw_handlers[ZYDIS_MNEMONIC_MUL] = h_mul;
	sw_handlers[ZYDIS_MNEMONIC_IMUL] = h_imul;
	sw_handlers[ZYDIS_MNEMONIC_DIV] = h_div;
	sw_handlers[ZYDIS_MNEMONIC_IDIV] = h_idiv;
}
