// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Data movement: MOV (GPR, memory, immediate, moffs; the segment, control
 * and debug register forms are handed to seg.c / system.c), MOVZX MOVSX
 * MOVSXD MOVBE, XCHG CMPXCHG CMPXCHG8B CMPXCHG16B XADD BSWAP, CMOVcc
 * SETcc, LEA, the accumulator widenings, LAHF/SAHF SALC, the CF/DF flag
 * instructions, every NOP form, XLAT and the UD0/UD1/UD2 traps.
 *
 * Each handler does the accesses that can fault (memory translated for
 * the access kind it needs, read-modify-write operands translated for
 * writing) before it changes a register or a flag. Instructions with an
 * implicit or explicit LOCK update RAM with host atomics.
 */
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "machine/cpuid.h"

#define CPUID_1_ECX_MOVBE	(1u << 22)

/* The CPU model's CPUID bit @bit of register @reg (0 = eax .. 3 = edx) of @leaf. */
static bool model_has(uint32_t leaf, unsigned reg, uint32_t bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, leaf, 0, r);
	return r[reg & 3] & bit;
}

static bool op_is_reg(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER;
}

static bool op_is_mem(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

static bool is_sreg(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS;
}

static bool is_creg(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15;
}

static bool is_dreg(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15;
}

static int64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - 8 * size;

	return size >= 8 ? (int64_t)v : (int64_t)(v << sh) >> sh;
}

static void set_flag(struct sw_cpu *cpu, uint64_t flag, bool on)
{
	if (on)
		cpu->st.rflags |= flag;
	else
		cpu->st.rflags &= ~flag;
}

/*
 * A location host atomics can update: RAM within one page. MMIO is read
 * exactly once instead (a compare-and-swap loop would read a device
 * register twice).
 */
static bool atomic_ok(const struct sw_memref *m)
{
	return m->host[0] && m->first == m->size;
}

/* SMC / page-table notification after a write that bypassed sw_mem_store(). */
static void note_write(struct sw_cpu *cpu, uint64_t gpa, unsigned len)
{
	struct sw_vm *svm = cpu->svm;
	uint64_t pfn = gpa >> 12;

	if (pfn < svm->nr_pages && svm->page_flags[pfn])
		sw_page_written(cpu, gpa, len);
}

/* ---- MOV ---- */

/*
 * MOV Sreg, r/m16 and MOV r/m, Sreg. The selector stored to memory is 16
 * bits whatever the operand size; a register destination gets it
 * zero-extended to the operand size (what P6 and later processors do).
 */
static void mov_sreg(struct sw_cpu *cpu, const struct sw_insn *in)
{
	ZydisRegister d = op_is_reg(in, 0) ? in->op[0].reg.value : ZYDIS_REGISTER_NONE;

	if (is_sreg(d)) {
		uint16_t sel = (uint16_t)sw_op_read(cpu, in, 1);

		/* seg.c: #UD for CS, every protected-mode check, MOV SS shadow. */
		sw_load_seg(cpu, (enum x86_sreg)(d - ZYDIS_REGISTER_ES), sel);
		return;
	}
	sw_op_write(cpu, in, 0, sw_reg_read(cpu, in->op[1].reg.value) & 0xffff);
}

static void h_mov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (op_is_reg(in, 0) || op_is_reg(in, 1)) {
		ZydisRegister d = op_is_reg(in, 0) ? in->op[0].reg.value : ZYDIS_REGISTER_NONE;
		ZydisRegister s = op_is_reg(in, 1) ? in->op[1].reg.value : ZYDIS_REGISTER_NONE;

		if (is_creg(d) || is_creg(s)) {
			sw_mov_cr(cpu, in);
			return;
		}
		if (is_dreg(d) || is_dreg(s)) {
			sw_mov_dr(cpu, in);
			return;
		}
		if (is_sreg(d) || is_sreg(s)) {
			mov_sreg(cpu, in);
			return;
		}
	}
	sw_op_write(cpu, in, 0, sw_op_read(cpu, in, 1));
}

/* MOVZX, MOVSX, MOVSXD: the source widened to the destination (narrowed if not smaller). */
static void h_movzx(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_op_write(cpu, in, 0, sw_op_read(cpu, in, 1));
}

static void h_movsx(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned ss = sw_op_size(in, 1);

	sw_op_write(cpu, in, 0, (uint64_t)sext(sw_op_read(cpu, in, 1), ss));
}

static uint64_t bswap(uint64_t v, unsigned size)
{
	switch (size) {
	case 2:
		return __builtin_bswap16((uint16_t)v);
	case 4:
		return __builtin_bswap32((uint32_t)v);
	default:
		return __builtin_bswap64(v);
	}
}

/* MOVBE: a load or store with the bytes reversed; #UD unless the model has it. */
static void h_movbe(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!model_has(1, 2, CPUID_1_ECX_MOVBE))
		sw_ud(cpu);
	sw_op_write(cpu, in, 0, bswap(sw_op_read(cpu, in, 1), sw_op_size(in, 0)));
}

/*
 * BSWAP r32/r64. With a 16-bit operand the SDM leaves the result
 * undefined; Intel and AMD processors clear the register's low 16 bits.
 */
static void h_bswap(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t v = sw_op_read(cpu, in, 0);

	sw_op_write(cpu, in, 0, size == 2 ? 0 : bswap(v, size));
}

/* ---- exchanges ---- */

/*
 * XCHG. With a memory operand the exchange is locked whether or not the
 * prefix is there: a host atomic on RAM (compare-and-swap until it sticks).
 */
static void h_xchg(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned mi, ri;
	struct sw_memref m;
	uint64_t old, v;

	if (!op_is_mem(in, 0) && !op_is_mem(in, 1)) {
		uint64_t a = sw_op_read(cpu, in, 0), b = sw_op_read(cpu, in, 1);

		sw_op_write(cpu, in, 0, b);
		sw_op_write(cpu, in, 1, a);
		return;
	}
	mi = op_is_mem(in, 0) ? 0 : 1;
	ri = 1 - mi;
	v = sw_op_read(cpu, in, ri);
	sw_op_memref(cpu, in, mi, SW_ACC_WRITE, &m);
	old = sw_mem_load(cpu, &m);
	if (atomic_ok(&m)) {
		while (!sw_mem_cmpxchg(cpu, &m, &old, v))
			;
	} else {
		sw_mem_store(cpu, &m, v);
	}
	sw_op_write(cpu, in, ri, old);
}

/*
 * CMPXCHG r/m, r: compare the accumulator with the destination (flags as
 * CMP acc, dest). Equal: dest = src. Otherwise acc = dest and the
 * destination is written back unchanged (a memory destination is always
 * written; a register destination keeps its upper half, as on hardware).
 */
static void h_cmpxchg(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	ZydisRegister acc = in->op[2].reg.value;
	uint64_t a = sw_reg_read(cpu, acc), src = sw_op_read(cpu, in, 1), cur;
	struct sw_memref m;

	if (!op_is_mem(in, 0)) {
		if (in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
			sw_ud(cpu);
		cur = sw_op_read(cpu, in, 0);
		sw_alu_sub(cpu, a, cur, 0, size);
		if (cur == a)
			sw_op_write(cpu, in, 0, src);
		else
			sw_reg_write(cpu, acc, cur);
		return;
	}
	sw_op_memref(cpu, in, 0, SW_ACC_WRITE, &m);
	if ((in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) && atomic_ok(&m)) {
		cur = a;
		if (sw_mem_cmpxchg(cpu, &m, &cur, src))
			cur = a;	/* the location held the accumulator */
	} else {
		cur = sw_mem_load(cpu, &m);
		sw_mem_store(cpu, &m, cur == a ? src : cur);
	}
	sw_alu_sub(cpu, a, cur, 0, size);
	if (cur != a)
		sw_reg_write(cpu, acc, cur);
}

/*
 * CMPXCHG8B m64 / CMPXCHG16B m128: EDX:EAX (RDX:RAX) against memory; equal
 * stores ECX:EBX (RCX:RBX) and sets ZF, else loads the accumulator pair
 * and clears ZF. Only ZF changes.
 */
static void h_cmpxchg8b(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint64_t expect, val, cur;
	struct sw_memref m;

	if (!op_is_mem(in, 0) || !model_has(1, 3, CPUID_1_EDX_CX8))
		sw_ud(cpu);
	expect = (uint32_t)st->gpr[R_AX] | (st->gpr[R_DX] << 32);
	val = (uint32_t)st->gpr[R_BX] | (st->gpr[R_CX] << 32);
	sw_op_memref(cpu, in, 0, SW_ACC_WRITE, &m);
	/* Atomic on RAM with or without LOCK (the location was checked for writing). */
	cur = expect;
	if (atomic_ok(&m)) {
		sw_mem_cmpxchg(cpu, &m, &cur, val);
	} else {
		cur = sw_mem_load(cpu, &m);
		sw_mem_store(cpu, &m, cur == expect ? val : cur);
	}
	if (cur == expect) {
		set_flag(cpu, X86_RFLAGS_ZF, true);
		return;
	}
	set_flag(cpu, X86_RFLAGS_ZF, false);
	st->gpr[R_AX] = (uint32_t)cur;
	st->gpr[R_DX] = cur >> 32;
}

/* 16 bytes of RAM at @p, 16-aligned: one host compare-and-swap. */
static bool host_cas16(uint8_t *p, uint64_t cmp[2], const uint64_t val[2])
{
#if defined(__x86_64__)
	bool ok;

	/* The model only advertises CX16 when the host has it. */
	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok), "+m"(*(volatile __int128 *)p), "+a"(cmp[0]),
			       "+d"(cmp[1])
			     : "b"(val[0]), "c"(val[1])
			     : "memory");
	return ok;
#else
	uint64_t cur[2];

	memcpy(cur, p, 16);
	if (cur[0] == cmp[0] && cur[1] == cmp[1]) {
		memcpy(p, val, 16);
		return true;
	}
	cmp[0] = cur[0];
	cmp[1] = cur[1];
	return false;
#endif
}

static void h_cmpxchg16b(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint64_t expect[2] = { st->gpr[R_AX], st->gpr[R_DX] };
	uint64_t val[2] = { st->gpr[R_BX], st->gpr[R_CX] };
	uint64_t cur[2] = { expect[0], expect[1] }, la, gpa, ea;
	enum x86_sreg seg;
	uint8_t *host;

	if (!op_is_mem(in, 0) || !model_has(1, 2, CPUID_1_ECX_CX16))
		sw_ud(cpu);
	seg = sw_op_seg(in, 0);
	ea = sw_op_ea(cpu, in, 0);
	la = sw_seg_linear(cpu, seg, ea, 16, SW_ACC_WRITE);
	if (la & 15)
		sw_gp0(cpu);
	/* Aligned: the 16 bytes lie in one page. */
	host = sw_mmu_translate(cpu, la, SW_ACC_WRITE, &gpa);
	if (host) {
		if (host_cas16(host, cur, val))
			note_write(cpu, gpa, 16);
	} else {
		/* MMIO: no atomicity to offer, but the same result. */
		cur[0] = sw_phys_read(cpu, gpa, 8);
		cur[1] = sw_phys_read(cpu, gpa + 8, 8);
		if (cur[0] == expect[0] && cur[1] == expect[1]) {
			sw_phys_write(cpu, gpa, val[0], 8);
			sw_phys_write(cpu, gpa + 8, val[1], 8);
		} else {
			sw_phys_write(cpu, gpa, cur[0], 8);
			sw_phys_write(cpu, gpa + 8, cur[1], 8);
		}
	}
	if (cur[0] == expect[0] && cur[1] == expect[1]) {
		set_flag(cpu, X86_RFLAGS_ZF, true);
		return;
	}
	set_flag(cpu, X86_RFLAGS_ZF, false);
	st->gpr[R_AX] = cur[0];
	st->gpr[R_DX] = cur[1];
}

/* XADD r/m, r: tmp = dest + src (ADD flags); src = dest; dest = tmp (dest written last). */
static void h_xadd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t src = sw_op_read(cpu, in, 1), old, sum;
	struct sw_memref m;

	if (!op_is_mem(in, 0)) {
		if (in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
			sw_ud(cpu);
		old = sw_op_read(cpu, in, 0);
		sum = sw_alu_add(cpu, old, src, 0, size);
		sw_op_write(cpu, in, 1, old);
		sw_op_write(cpu, in, 0, sum);
		return;
	}
	sw_op_memref(cpu, in, 0, SW_ACC_WRITE, &m);
	old = sw_mem_load(cpu, &m);
	if ((in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) && atomic_ok(&m)) {
		uint64_t flags = cpu->st.rflags;

		for (;;) {
			cpu->st.rflags = flags;
			sum = sw_alu_add(cpu, old, src, 0, size);
			if (sw_mem_cmpxchg(cpu, &m, &old, sum))
				break;
		}
	} else {
		sum = sw_alu_add(cpu, old, src, 0, size);
		sw_mem_store(cpu, &m, sum);
	}
	sw_op_write(cpu, in, 1, old);
}

/* ---- conditional moves and sets ---- */

/*
 * CMOVcc: the source is read (and may fault) whatever the condition; a
 * 32-bit destination in 64-bit mode is zero-extended even when the
 * condition is false.
 */
static void h_cmovcc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t src = sw_op_read(cpu, in, 1);
	int cc = sw_mnemonic_cc(in->zi.mnemonic);

	if (cc < 0)
		sw_ud(cpu);
	sw_op_write(cpu, in, 0, sw_cond(cpu, (unsigned)cc) ? src : sw_op_read(cpu, in, 0));
}

static void h_setcc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	int cc = sw_mnemonic_cc(in->zi.mnemonic);

	if (cc < 0)
		sw_ud(cpu);
	sw_op_write(cpu, in, 0, sw_cond(cpu, (unsigned)cc) ? 1 : 0);
}

/* ---- addresses ---- */

/* LEA: the effective address, wrapped to the address size, cut to the operand size. */
static void h_lea(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!op_is_mem(in, 1))
		sw_ud(cpu);
	sw_op_write(cpu, in, 0, sw_op_ea(cpu, in, 1));
}

/* XLAT: AL = seg:[(E/R)BX + AL], the sum wrapped to the address size. */
static void h_xlat(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned asz = in->zi.address_width / 8;
	uint64_t off = (cpu->st.gpr[R_BX] + (uint8_t)cpu->st.gpr[R_AX]) & sw_mask(asz);
	uint64_t v = sw_read(cpu, sw_op_seg(in, 0), off, 1);

	cpu->st.gpr[R_AX] = (cpu->st.gpr[R_AX] & ~0xffull) | (uint8_t)v;
}

/* ---- accumulator widening ---- */

/* CBW CWDE CDQE: accumulator = sign-extended low half. */
static void h_cbw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_op_write(cpu, in, 0, (uint64_t)sext(sw_op_read(cpu, in, 1), sw_op_size(in, 1)));
}

/* CWD CDQ CQO: DX/EDX/RDX = copies of the accumulator's sign bit. */
static void h_cwd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 1);
	uint64_t v = sw_op_read(cpu, in, 1);

	sw_op_write(cpu, in, 0, (v & sw_sign_bit(size)) ? ~0ull : 0);
}

/* ---- flags ---- */

/* LAHF/SAHF: SF ZF AF PF CF through AH; in 64-bit mode only with CPUID LAHF-SAHF. */
static void check_lahf(struct sw_cpu *cpu)
{
	if (sw_64bit(cpu) && !model_has(0x80000001, 2, CPUID_81_ECX_LAHF))
		sw_ud(cpu);
}

#define LAHF_FLAGS (X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF | \
		    X86_RFLAGS_CF)

static void h_lahf(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t ah = (cpu->st.rflags & LAHF_FLAGS) | X86_RFLAGS_FIXED;

	check_lahf(cpu);
	cpu->st.gpr[R_AX] = (cpu->st.gpr[R_AX] & ~0xff00ull) | (ah << 8);
}

static void h_sahf(struct sw_cpu *cpu, const struct sw_insn *in)
{
	check_lahf(cpu);
	sw_set_flags(cpu, LAHF_FLAGS, (cpu->st.gpr[R_AX] >> 8) & 0xff);
}

/* SALC (undocumented, legacy modes only; 64-bit mode #UDs at decode): AL = CF ? 0xff : 0. */
static void h_salc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t al = (cpu->st.rflags & X86_RFLAGS_CF) ? 0xff : 0;

	cpu->st.gpr[R_AX] = (cpu->st.gpr[R_AX] & ~0xffull) | al;
}

static void h_clc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	set_flag(cpu, X86_RFLAGS_CF, false);
}

static void h_stc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	set_flag(cpu, X86_RFLAGS_CF, true);
}

static void h_cmc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	cpu->st.rflags ^= X86_RFLAGS_CF;
}

static void h_cld(struct sw_cpu *cpu, const struct sw_insn *in)
{
	set_flag(cpu, X86_RFLAGS_DF, false);
}

static void h_std(struct sw_cpu *cpu, const struct sw_insn *in)
{
	set_flag(cpu, X86_RFLAGS_DF, true);
}

/* ---- no-ops and traps ---- */

/*
 * NOP, the 0F 18..1F hint space (no memory access) and PAUSE. On this
 * CPU model (no CET, MPX or CLDEMOTE) the instructions defined in that
 * space since are hint NOPs too: ENDBR32/64 at every function entry of
 * an IBT kernel, RDSSPD/Q (destination unchanged), the BND* family.
 */
static void h_nop(struct sw_cpu *cpu, const struct sw_insn *in)
{
}

static void h_ud(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_ud(cpu);
}

void sw_register_datamov(void)
{
	static const ZydisMnemonic cmov[] = {
		ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,
		ZYDIS_MNEMONIC_CMOVNB, ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ,
		ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVS,
		ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
		ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE,
		ZYDIS_MNEMONIC_CMOVNLE,
	};
	static const ZydisMnemonic set[] = {
		ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,
		ZYDIS_MNEMONIC_SETNB, ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ,
		ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE, ZYDIS_MNEMONIC_SETS,
		ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
		ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE,
		ZYDIS_MNEMONIC_SETNLE,
	};
	static const ZydisMnemonic hint_nop[] = {
		ZYDIS_MNEMONIC_NOP, ZYDIS_MNEMONIC_PAUSE, ZYDIS_MNEMONIC_ENDBR32,
		ZYDIS_MNEMONIC_ENDBR64, ZYDIS_MNEMONIC_RDSSPD, ZYDIS_MNEMONIC_RDSSPQ,
		ZYDIS_MNEMONIC_BNDLDX, ZYDIS_MNEMONIC_BNDSTX, ZYDIS_MNEMONIC_BNDMK,
		ZYDIS_MNEMONIC_BNDCL, ZYDIS_MNEMONIC_BNDCU, ZYDIS_MNEMONIC_BNDCN,
		ZYDIS_MNEMONIC_BNDMOV, ZYDIS_MNEMONIC_CLDEMOTE,
	};

	for (unsigned i = 0; i < 16; i++) {
		sw_handlers[cmov[i]] = h_cmovcc;
		sw_handlers[set[i]] = h_setcc;
	}
	sw_handlers[ZYDIS_MNEMONIC_MOV] = h_mov;
	sw_handlers[ZYDIS_MNEMONIC_MOVZX] = h_movzx;
	sw_handlers[ZYDIS_MNEMONIC_MOVSX] = h_movsx;
	sw_handlers[ZYDIS_MNEMONIC_MOVSXD] = h_movsx;
	sw_handlers[ZYDIS_MNEMONIC_MOVBE] = h_movbe;
	sw_handlers[ZYDIS_MNEMONIC_BSWAP] = h_bswap;
	sw_handlers[ZYDIS_MNEMONIC_XCHG] = h_xchg;
	sw_handlers[ZYDIS_MNEMONIC_CMPXCHG] = h_cmpxchg;
	sw_handlers[ZYDIS_MNEMONIC_CMPXCHG8B] = h_cmpxchg8b;
	sw_handlers[ZYDIS_MNEMONIC_CMPXCHG16B] = h_cmpxchg16b;
	sw_handlers[ZYDIS_MNEMONIC_XADD] = h_xadd;
	sw_handlers[ZYDIS_MNEMONIC_LEA] = h_lea;
	sw_handlers[ZYDIS_MNEMONIC_XLAT] = h_xlat;
	sw_handlers[ZYDIS_MNEMONIC_CBW] = h_cbw;
	sw_handlers[ZYDIS_MNEMONIC_CWDE] = h_cbw;
	sw_handlers[ZYDIS_MNEMONIC_CDQE] = h_cbw;
	sw_handlers[ZYDIS_MNEMONIC_CWD] = h_cwd;
	sw_handlers[ZYDIS_MNEMONIC_CDQ] = h_cwd;
	sw_handlers[ZYDIS_MNEMONIC_CQO] = h_cwd;
	sw_handlers[ZYDIS_MNEMONIC_LAHF] = h_lahf;
	sw_handlers[ZYDIS_MNEMONIC_SAHF] = h_sahf;
	sw_handlers[ZYDIS_MNEMONIC_SALC] = h_salc;
	sw_handlers[ZYDIS_MNEMONIC_CLC] = h_clc;
	sw_handlers[ZYDIS_MNEMONIC_STC] = h_stc;
	sw_handlers[ZYDIS_MNEMONIC_CMC] = h_cmc;
	sw_handlers[ZYDIS_MNEMONIC_CLD] = h_cld;
	sw_handlers[ZYDIS_MNEMONIC_STD] = h_std;
	for (unsigned i = 0; i < sizeof(hint_nop) / sizeof(hint_nop[0]); i++)
		sw_handlers[hint_nop[i]] = h_nop;
	sw_handlers[ZYDIS_MNEMONIC_UD0] = h_ud;
	sw_handlers[ZYDIS_MNEMONIC_UD1] = h_ud;
	sw_handlers[ZYDIS_MNEMONIC_UD2] = h_ud;
}
