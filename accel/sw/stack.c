// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stack instructions: PUSH POP (register, memory, immediate, segment
 * register), PUSHA/PUSHAD POPA/POPAD, PUSHF/POPF with their privilege
 * rules, ENTER and LEAVE. (sw_push/sw_pop themselves live in operand.c.)
 *
 * Multi-slot instructions build the new stack in a struct sw_stack
 * (seg.c) and commit RSP only after the last access that can fault, so a
 * fault leaves every register as it was.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"

static uint64_t stack_mask(const struct sw_cpu *cpu)
{
	return sw_mask(sw_stack_bits(cpu) / 8);
}

/* Write @v into the low @bytes of RSP-sized register value @old (stack-size writes). */
static uint64_t merge_sp(uint64_t old, uint64_t v, uint64_t mask)
{
	/* A 32-bit stack pointer write zero-extends, as ESP writes do. */
	if (mask == 0xffffffffull)
		return v & mask;
	return (old & ~mask) | (v & mask);
}

static enum x86_sreg sreg_of(ZydisRegister r)
{
	return (enum x86_sreg)(r - ZYDIS_REGISTER_ES);
}

static bool op_is_sreg(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       in->op[i].reg.value >= ZYDIS_REGISTER_ES && in->op[i].reg.value <= ZYDIS_REGISTER_GS;
}

/* ---- PUSH / POP ---- */

/*
 * PUSH Sreg with a 32-bit operand size: the stack pointer moves by 4 but,
 * as on current Intel processors, only the 16-bit selector is written
 * (the rest of the slot keeps its old contents); the whole slot is
 * checked for writing first. With a 64-bit operand size the same
 * processors store the zero-extended selector.
 */
static void push_sreg(struct sw_cpu *cpu, uint16_t sel, unsigned size)
{
	uint64_t mask = stack_mask(cpu), sp = cpu->st.gpr[R_SP];
	uint64_t nsp = (sp - size) & mask;
	struct sw_memref m;

	if (size != 4) {
		sw_push(cpu, sel, size);
		return;
	}
	sw_mem_prepare(cpu, S_SS, nsp, size, SW_ACC_WRITE, &m);
	/* Translated for the full slot: storing its first two bytes cannot fault. */
	m.size = 2;
	if (m.first > 2)
		m.first = 2;
	sw_mem_store(cpu, &m, sel);
	cpu->st.gpr[R_SP] = merge_sp(sp, nsp, mask);
}

static void h_push(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);

	if (op_is_sreg(in, 0)) {
		push_sreg(cpu, cpu->st.seg[sreg_of(in->op[0].reg.value)].sel, size);
		return;
	}
	/* The value is read first: PUSH [RSP] pushes the old top of stack. */
	sw_push(cpu, sw_op_read(cpu, in, 0), size);
}

/*
 * POP r/m. A memory destination's address is computed with RSP already
 * incremented (SDM); RSP itself changes only once the store succeeded.
 */
static void pop_mem(struct sw_cpu *cpu, const struct sw_insn *in, unsigned size)
{
	uint64_t mask = stack_mask(cpu), sp = cpu->st.gpr[R_SP];
	uint64_t v = sw_read(cpu, S_SS, sp & mask, size);
	uint64_t nsp = merge_sp(sp, (sp & mask) + size, mask);
	uint64_t ea;

	cpu->st.gpr[R_SP] = nsp;
	ea = sw_op_ea(cpu, in, 0);
	cpu->st.gpr[R_SP] = sp;
	sw_write(cpu, sw_op_seg(in, 0), ea, v, size);
	cpu->st.gpr[R_SP] = nsp;
}

/* POP Sreg: the descriptor load (which may fault) comes before RSP moves. */
static void pop_sreg(struct sw_cpu *cpu, enum x86_sreg seg, unsigned size)
{
	uint64_t mask = stack_mask(cpu), sp = cpu->st.gpr[R_SP];
	uint16_t sel = (uint16_t)sw_read(cpu, S_SS, sp & mask, size);
	uint64_t nsp = merge_sp(sp, (sp & mask) + size, mask);

	sw_load_seg(cpu, seg, sel);
	cpu->st.gpr[R_SP] = nsp;
}

static void h_pop(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);

	if (in->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
		pop_mem(cpu, in, size);
		return;
	}
	if (op_is_sreg(in, 0)) {
		pop_sreg(cpu, sreg_of(in->op[0].reg.value), size);
		return;
	}
	/* POP RSP: the popped value replaces the incremented pointer. */
	sw_op_write(cpu, in, 0, sw_pop(cpu, size));
}

/* ---- PUSHA / POPA ---- */

static void h_pusha(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t old_sp = cpu->st.gpr[R_SP];
	struct sw_stack stk;

	if (sw_64bit(cpu))
		sw_ud(cpu);
	sw_stack_current(cpu, &stk);
	for (unsigned r = R_AX; r <= R_DI; r++)
		sw_stack_push(cpu, &stk, r == R_SP ? old_sp : cpu->st.gpr[r], size);
	sw_stack_commit(cpu, &stk);
}

static void h_popa(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t v[8], m = sw_mask(size);
	struct sw_stack stk;

	if (sw_64bit(cpu))
		sw_ud(cpu);
	sw_stack_current(cpu, &stk);
	for (int r = R_DI; r >= R_AX; r--)
		v[r] = sw_stack_pop(cpu, &stk, size);	/* the SP slot is read and dropped */
	sw_stack_commit(cpu, &stk);
	for (unsigned r = R_AX; r <= R_DI; r++) {
		if (r == R_SP)
			continue;
		/* A 32-bit POPAD writes whole registers (only seen outside 64-bit mode). */
		cpu->st.gpr[r] = size == 4 ? (uint32_t)v[r] : (cpu->st.gpr[r] & ~m) | (v[r] & m);
	}
}

/* ---- PUSHF / POPF ---- */

static unsigned iopl(const struct sw_cpu *cpu)
{
	return (cpu->st.rflags >> 12) & 3;
}

/* Without CR4.VME (not in the model) PUSHF/POPF in vm86 mode need IOPL 3. */
static void check_vm86_iopl(struct sw_cpu *cpu)
{
	if (sw_vm86(cpu) && iopl(cpu) < 3)
		sw_gp0(cpu);
}

/* The pushed image has VM and RF clear. */
static void h_pushf(struct sw_cpu *cpu, const struct sw_insn *in)
{
	check_vm86_iopl(cpu);
	sw_push(cpu, cpu->st.rflags & ~(X86_RFLAGS_VM | X86_RFLAGS_RF), sw_opsize(in));
}

/*
 * The bits POPF may load. VM, VIF and VIP never change here and RF ends
 * up clear; IOPL only at CPL 0 (real mode counts as CPL 0; virtual-8086
 * mode, which gets here only with IOPL 3, keeps IOPL); IF only when
 * CPL <= IOPL. Reserved bits keep their fixed values; a 16-bit POPF
 * leaves bits 16 and up alone.
 */
static uint64_t popf_mask(const struct sw_cpu *cpu, unsigned size)
{
	uint64_t mask = X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF |
			X86_RFLAGS_SF | X86_RFLAGS_TF | X86_RFLAGS_DF | X86_RFLAGS_OF |
			X86_RFLAGS_NT | X86_RFLAGS_AC | X86_RFLAGS_ID;
	unsigned cpl = sw_cpl(cpu);

	if (sw_vm86(cpu)) {
		mask |= X86_RFLAGS_IF;
	} else {
		if (cpl == 0)
			mask |= X86_RFLAGS_IOPL;
		if (cpl <= iopl(cpu))
			mask |= X86_RFLAGS_IF;
	}
	if (size == 2)
		mask &= 0xffff;
	return mask;
}

static void h_popf(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t v, mask;

	check_vm86_iopl(cpu);
	mask = popf_mask(cpu, size);
	v = sw_pop(cpu, size);
	cpu->st.rflags = (cpu->st.rflags & ~(mask | X86_RFLAGS_RF)) | (v & mask) |
			 X86_RFLAGS_FIXED;
}

/* ---- ENTER / LEAVE ---- */

/*
 * ENTER imm16, imm8: push RBP; with nesting level L > 0 copy L - 1 frame
 * pointers from the old frame ([RBP - i * opsize], RBP addressed with the
 * stack size) and push the new frame pointer; then RBP = frame and RSP
 * -= imm16. Everything is built on a private stack and committed last.
 */
static void h_enter(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t alloc = in->op[0].imm.value.u & 0xffff;
	unsigned level = in->op[1].imm.value.u & 31;
	uint64_t smask = stack_mask(cpu), frame, bp = cpu->st.gpr[R_BP];
	struct sw_stack stk;

	sw_stack_current(cpu, &stk);
	/*
	 * The SDM: ENTER faults whenever a write through the final stack
	 * pointer would, before it pushes anything.
	 */
	sw_stack_probe(cpu, &stk, stk.rsp - size - (level ? (uint64_t)level * size : 0) - alloc,
		       size);
	sw_stack_push(cpu, &stk, bp, size);
	/* FrameTemp is the whole stack pointer register, as the host CPU has it. */
	frame = size == 4 && smask == 0xffff ? stk.rsp & 0xffffffffu : stk.rsp & smask;
	if (level > 0) {
		for (unsigned i = 1; i < level; i++) {
			uint64_t off = (bp - (uint64_t)i * size) & smask;

			sw_stack_push(cpu, &stk, sw_read(cpu, S_SS, off, size), size);
		}
		sw_stack_push(cpu, &stk, frame, size);
	}
	stk.rsp = merge_sp(stk.rsp, (stk.rsp & smask) - alloc, smask);
	sw_stack_commit(cpu, &stk);
	if (size == 2)
		cpu->st.gpr[R_BP] = (bp & ~0xffffull) | (frame & 0xffff);
	else if (size == 4)
		cpu->st.gpr[R_BP] = (uint32_t)frame;
	else
		cpu->st.gpr[R_BP] = frame;
}

/* LEAVE: RSP = RBP (stack size), then RBP = pop (operand size). */
static void h_leave(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_opsize(in);
	uint64_t smask = stack_mask(cpu), v;
	struct sw_stack stk;

	sw_stack_current(cpu, &stk);
	stk.rsp = merge_sp(stk.rsp, cpu->st.gpr[R_BP], smask);
	v = sw_stack_pop(cpu, &stk, size);
	sw_stack_commit(cpu, &stk);
	if (size == 2)
		cpu->st.gpr[R_BP] = (cpu->st.gpr[R_BP] & ~0xffffull) | (v & 0xffff);
	else if (size == 4)
		cpu->st.gpr[R_BP] = (uint32_t)v;
	else
		cpu->st.gpr[R_BP] = v;
}

void sw_register_stack(void)
{
	sw_handlers[ZYDIS_MNEMONIC_PUSH] = h_push;
	sw_handlers[ZYDIS_MNEMONIC_POP] = h_pop;
	sw_handlers[ZYDIS_MNEMONIC_PUSHA] = h_pusha;
	sw_handlers[ZYDIS_MNEMONIC_PUSHAD] = h_pusha;
	sw_handlers[ZYDIS_MNEMONIC_POPA] = h_popa;
	sw_handlers[ZYDIS_MNEMONIC_POPAD] = h_popa;
	sw_handlers[ZYDIS_MNEMONIC_PUSHF] = h_pushf;
	sw_handlers[ZYDIS_MNEMONIC_PUSHFD] = h_pushf;
	sw_handlers[ZYDIS_MNEMONIC_PUSHFQ] = h_pushf;
	sw_handlers[ZYDIS_MNEMONIC_POPF] = h_popf;
	sw_handlers[ZYDIS_MNEMONIC_POPFD] = h_popf;
	sw_handlers[ZYDIS_MNEMONIC_POPFQ] = h_popf;
	sw_handlers[ZYDIS_MNEMONIC_ENTER] = h_enter;
	sw_handlers[ZYDIS_MNEMONIC_LEAVE] = h_leave;
}
