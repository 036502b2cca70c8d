// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Control transfer: near JMP/CALL/RET, Jcc, JCXZ/JECXZ/JRCXZ, LOOPcc,
 * the far JMP/CALL/RET forms (operand decoding here, the transfer in
 * seg.c), INT n / INT3 / INTO / INT1 (delivered by excp.c), BOUND and
 * IRET (seg.c).
 *
 * Near targets: the operand size cuts the target (16 bits: IP wraps);
 * in 64-bit mode a non-canonical target is #GP(0), elsewhere one past
 * the CS limit is. The check comes before anything is pushed or popped,
 * so a faulting branch changes nothing.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"

/* The checked near target for an operand size of @size bytes. */
static uint64_t near_target(struct sw_cpu *cpu, uint64_t target, unsigned size)
{
	if (sw_64bit(cpu)) {
		/* Near branches are 64-bit in 64-bit mode (Intel ignores 66h). */
		if (size == 2)
			target &= 0xffff;
		else if (size == 4)
			target &= 0xffffffffull;
		if (!sw_canonical(target))
			sw_gp0(cpu);
		return target;
	}
	target &= size == 2 ? 0xffffull : 0xffffffffull;
	if (target > cpu->st.seg[S_CS].limit)
		sw_gp0(cpu);
	return target;
}

/* next_rip + the relative displacement of operand 0. */
static uint64_t rel_target(struct sw_cpu *cpu, const struct sw_insn *in)
{
	return cpu->next_rip + (uint64_t)in->op[0].imm.value.s;
}

static bool is_far(const struct sw_insn *in)
{
	return in->zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
}

/* The absolute target of JMP/CALL: relative immediate, register or memory. */
static uint64_t branch_target(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (in->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return rel_target(cpu, in);
	return sw_op_read(cpu, in, 0);
}

/*
 * Far pointer operand of JMP/CALL: ptr16:16/ptr16:32 immediate, or
 * m16:16 / m16:32 / m16:64 (offset first, then the selector). Both
 * reads happen before the transfer starts.
 */
static void far_pointer(struct sw_cpu *cpu, const struct sw_insn *in, uint16_t *sel,
			uint64_t *off)
{
	unsigned size = sw_opsize(in);
	const struct sw_op *op = &in->op[0];
	enum x86_sreg seg;
	uint64_t ea;

	if (op->type == ZYDIS_OPERAND_TYPE_POINTER) {
		*sel = op->ptr.segment;
		*off = op->ptr.offset & sw_mask(size);
		return;
	}
	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
		sw_ud(cpu);	/* JMP/CALL FAR with a register operand */
	seg = sw_op_seg(in, 0);
	ea = sw_op_ea(cpu, in, 0);
	*off = sw_read(cpu, seg, ea, size);
	*sel = (uint16_t)sw_read(cpu, seg, (ea + size) & sw_mask(in->zi.address_width / 8), 2);
}

static void h_jmp(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);

	if (is_far(in)) {
		uint16_t sel;
		uint64_t off;

		far_pointer(cpu, in, &sel, &off);
		sw_far_jump(cpu, sel, off, false, size);
		return;
	}
	cpu->next_rip = near_target(cpu, branch_target(cpu, in), size);
}

static void h_call(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t target;

	if (is_far(in)) {
		uint16_t sel;
		uint64_t off;

		far_pointer(cpu, in, &sel, &off);
		sw_far_jump(cpu, sel, off, true, size);
		return;
	}
	/* The target is read (CALL [RSP] sees the old stack) and checked before the push. */
	target = near_target(cpu, branch_target(cpu, in), size);
	sw_push(cpu, cpu->next_rip, size);
	cpu->next_rip = target;
}

/* RET / RET imm16, near or far. */
static void h_ret(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint16_t pop = 0;
	struct sw_stack stk;
	uint64_t m, ip;

	if (in->zi.operand_count_visible > 0 && in->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		pop = (uint16_t)in->op[0].imm.value.u;
	if (is_far(in)) {
		sw_far_return(cpu, size, pop);
		return;
	}
	sw_stack_current(cpu, &stk);
	m = sw_mask(stk.bits / 8);
	ip = near_target(cpu, sw_stack_pop(cpu, &stk, size), size);
	stk.rsp = (stk.rsp & ~m) | ((stk.rsp + pop) & m);
	if (stk.bits == 32)
		stk.rsp &= 0xffffffffull;
	sw_stack_commit(cpu, &stk);
	cpu->next_rip = ip;
}

static void h_jcc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	int cc = sw_mnemonic_cc(in->zi.mnemonic);

	if (cc < 0)
		sw_ud(cpu);
	if (sw_cond(cpu, (unsigned)cc))
		cpu->next_rip = near_target(cpu, rel_target(cpu, in), sw_opsize(in));
}

/* The count register of JCXZ/LOOP: CX, ECX or RCX by the address size. */
static uint64_t count_mask(const struct sw_insn *in)
{
	return sw_mask(in->zi.address_width / 8);
}

static void h_jcxz(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!(cpu->st.gpr[R_CX] & count_mask(in)))
		cpu->next_rip = near_target(cpu, rel_target(cpu, in), sw_opsize(in));
}

/*
 * LOOP/LOOPE/LOOPNE: decrement the count register (only its address-size
 * part; a 32-bit count zero-extends into RCX like any 32-bit write) and
 * branch while it is not zero (and ZF matches). A faulting target leaves
 * the count unchanged.
 */
static void h_loop(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t m = count_mask(in), rcx = cpu->st.gpr[R_CX];
	uint64_t cnt = (rcx - 1) & m;
	bool zf = cpu->st.rflags & X86_RFLAGS_ZF, take = cnt != 0;

	if (in->zi.mnemonic == ZYDIS_MNEMONIC_LOOPE)
		take = take && zf;
	else if (in->zi.mnemonic == ZYDIS_MNEMONIC_LOOPNE)
		take = take && !zf;
	if (take)
		cpu->next_rip = near_target(cpu, rel_target(cpu, in), sw_opsize(in));
	cpu->st.gpr[R_CX] = m == 0xffffffffull ? cnt : (rcx & ~m) | cnt;
}

/* ---- software interrupts ---- */

/* INT n: excp.c checks the gate DPL (and IOPL in virtual-8086 mode). */
static void h_int(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_deliver_event(cpu, (unsigned)(in->op[0].imm.value.u & 0xff), SW_EV_SOFT_INT, false, 0);
}

static void h_int3(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_deliver_event(cpu, X86_BP, SW_EV_SOFT_EXC, false, 0);
}

static void h_into(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (sw_64bit(cpu))
		sw_ud(cpu);
	if (cpu->st.rflags & X86_RFLAGS_OF)
		sw_deliver_event(cpu, X86_OF, SW_EV_SOFT_EXC, false, 0);
}

/*
 * BOUND r16, m16&16 / r32, m32&32 (not in 64-bit mode, where 62 is EVEX):
 * the signed index against the two bounds in memory; outside them, #BR
 * (a fault: RIP stays on the BOUND). A register operand is #UD (in
 * 32-bit code the decoder already sees EVEX there).
 */
static void h_bound(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	unsigned sh = 64 - 8 * size;
	enum x86_sreg seg;
	uint64_t ea;
	int64_t idx, lo, hi;

	if (sw_64bit(cpu) || in->op[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
		sw_ud(cpu);
	seg = sw_op_seg(in, 1);
	ea = sw_op_ea(cpu, in, 1);
	/* Shift as unsigned, then arithmetic right: sign-extend @size bytes. */
	lo = (int64_t)(sw_read(cpu, seg, ea, size) << sh) >> sh;
	hi = (int64_t)(sw_read(cpu, seg, (ea + size) & sw_mask(in->zi.address_width / 8), size)
		       << sh) >> sh;
	idx = (int64_t)(sw_op_read(cpu, in, 0) << sh) >> sh;
	if (idx < lo || idx > hi)
		sw_raise(cpu, X86_BR);
}

static void h_int1(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_deliver_event(cpu, X86_DB, SW_EV_PRIV_SOFT, false, 0);
}

static void h_iret(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_iret(cpu, sw_opsize(in));
}

void sw_register_control(void)
{
	static const ZydisMnemonic jcc[] = {
		ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
		ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
		ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
		ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
	};

	for (unsigned i = 0; i < 16; i++)
		sw_handlers[jcc[i]] = h_jcc;
	sw_handlers[ZYDIS_MNEMONIC_JMP] = h_jmp;
	sw_handlers[ZYDIS_MNEMONIC_CALL] = h_call;
	sw_handlers[ZYDIS_MNEMONIC_RET] = h_ret;
	sw_handlers[ZYDIS_MNEMONIC_JCXZ] = h_jcxz;
	sw_handlers[ZYDIS_MNEMONIC_JECXZ] = h_jcxz;
	sw_handlers[ZYDIS_MNEMONIC_JRCXZ] = h_jcxz;
	sw_handlers[ZYDIS_MNEMONIC_LOOP] = h_loop;
	sw_handlers[ZYDIS_MNEMONIC_LOOPE] = h_loop;
	sw_handlers[ZYDIS_MNEMONIC_LOOPNE] = h_loop;
	sw_handlers[ZYDIS_MNEMONIC_INT] = h_int;
	sw_handlers[ZYDIS_MNEMONIC_INT3] = h_int3;
	sw_handlers[ZYDIS_MNEMONIC_INTO] = h_into;
	sw_handlers[ZYDIS_MNEMONIC_BOUND] = h_bound;
	sw_handlers[ZYDIS_MNEMONIC_INT1] = h_int1;
	sw_handlers[ZYDIS_MNEMONIC_IRET] = h_iret;
	sw_handlers[ZYDIS_MNEMONIC_IRETD] = h_iret;
	sw_handlers[ZYDIS_MNEMONIC_IRETQ] = h_iret;
}
