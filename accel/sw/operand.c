// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Operand access: registers by Zydis name, memory operands (segment,
 * effective address, address-size wrap), immediates, and the stack.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"

/* ---- registers ---- */

uint64_t sw_reg_read(struct sw_cpu *cpu, ZydisRegister reg)
{
	const struct x86_state *st = &cpu->st;

	if (reg >= ZYDIS_REGISTER_RAX && reg <= ZYDIS_REGISTER_R15)
		return st->gpr[reg - ZYDIS_REGISTER_RAX];
	if (reg >= ZYDIS_REGISTER_EAX && reg <= ZYDIS_REGISTER_R15D)
		return (uint32_t)st->gpr[reg - ZYDIS_REGISTER_EAX];
	if (reg >= ZYDIS_REGISTER_AX && reg <= ZYDIS_REGISTER_R15W)
		return (uint16_t)st->gpr[reg - ZYDIS_REGISTER_AX];
	if (reg >= ZYDIS_REGISTER_AL && reg <= ZYDIS_REGISTER_BL)
		return (uint8_t)st->gpr[reg - ZYDIS_REGISTER_AL];
	if (reg >= ZYDIS_REGISTER_AH && reg <= ZYDIS_REGISTER_BH)
		return (uint8_t)(st->gpr[reg - ZYDIS_REGISTER_AH] >> 8);
	if (reg >= ZYDIS_REGISTER_SPL && reg <= ZYDIS_REGISTER_R15B)
		return (uint8_t)st->gpr[reg - ZYDIS_REGISTER_SPL + 4];
	if (reg >= ZYDIS_REGISTER_ES && reg <= ZYDIS_REGISTER_GS)
		return st->seg[reg - ZYDIS_REGISTER_ES].sel;

	switch (reg) {
	case ZYDIS_REGISTER_RIP:
		return st->rip;
	case ZYDIS_REGISTER_EIP:
		return (uint32_t)st->rip;
	case ZYDIS_REGISTER_IP:
		return (uint16_t)st->rip;
	case ZYDIS_REGISTER_RFLAGS:
		return st->rflags;
	case ZYDIS_REGISTER_EFLAGS:
		return (uint32_t)st->rflags;
	case ZYDIS_REGISTER_FLAGS:
		return (uint16_t)st->rflags;
	/* Control/debug registers: reads have no side effects; writes go through system.c. */
	case ZYDIS_REGISTER_CR0:
		return st->cr0;
	case ZYDIS_REGISTER_CR2:
		return st->cr2;
	case ZYDIS_REGISTER_CR3:
		return st->cr3;
	case ZYDIS_REGISTER_CR4:
		return st->cr4;
	case ZYDIS_REGISTER_CR8:
		return st->cr8;
	case ZYDIS_REGISTER_DR0:
	case ZYDIS_REGISTER_DR1:
	case ZYDIS_REGISTER_DR2:
	case ZYDIS_REGISTER_DR3:
	case ZYDIS_REGISTER_DR4:
	case ZYDIS_REGISTER_DR5:
	case ZYDIS_REGISTER_DR6:
	case ZYDIS_REGISTER_DR7:
		return st->dr[reg - ZYDIS_REGISTER_DR0];
	default:
		return 0;	/* not a register this interpreter models here */
	}
}

void sw_reg_write(struct sw_cpu *cpu, ZydisRegister reg, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	uint64_t *r;

	if (reg >= ZYDIS_REGISTER_RAX && reg <= ZYDIS_REGISTER_R15) {
		st->gpr[reg - ZYDIS_REGISTER_RAX] = v;
	} else if (reg >= ZYDIS_REGISTER_EAX && reg <= ZYDIS_REGISTER_R15D) {
		/* Outside 64-bit mode the upper half is not visible; zeroing it is harmless. */
		st->gpr[reg - ZYDIS_REGISTER_EAX] = (uint32_t)v;
	} else if (reg >= ZYDIS_REGISTER_AX && reg <= ZYDIS_REGISTER_R15W) {
		r = &st->gpr[reg - ZYDIS_REGISTER_AX];
		*r = (*r & ~0xffffull) | (uint16_t)v;
	} else if (reg >= ZYDIS_REGISTER_AL && reg <= ZYDIS_REGISTER_BL) {
		r = &st->gpr[reg - ZYDIS_REGISTER_AL];
		*r = (*r & ~0xffull) | (uint8_t)v;
	} else if (reg >= ZYDIS_REGISTER_AH && reg <= ZYDIS_REGISTER_BH) {
		r = &st->gpr[reg - ZYDIS_REGISTER_AH];
		*r = (*r & ~0xff00ull) | ((uint64_t)(uint8_t)v << 8);
	} else if (reg >= ZYDIS_REGISTER_SPL && reg <= ZYDIS_REGISTER_R15B) {
		r = &st->gpr[reg - ZYDIS_REGISTER_SPL + 4];
		*r = (*r & ~0xffull) | (uint8_t)v;
	} else {
		switch (reg) {
		case ZYDIS_REGISTER_RIP:
			st->rip = v;
			break;
		case ZYDIS_REGISTER_EIP:
			st->rip = (uint32_t)v;
			break;
		case ZYDIS_REGISTER_IP:
			st->rip = (uint16_t)v;
			break;
		/* Raw flag writes (no privilege rules: POPF/IRET apply those). */
		case ZYDIS_REGISTER_RFLAGS:
			st->rflags = v | X86_RFLAGS_FIXED;
			break;
		case ZYDIS_REGISTER_EFLAGS:
			st->rflags = (uint32_t)v | X86_RFLAGS_FIXED;
			break;
		case ZYDIS_REGISTER_FLAGS:
			st->rflags = (st->rflags & ~0xffffull) | (uint16_t)v | X86_RFLAGS_FIXED;
			break;
		default:
			/* Segment, control and debug registers are loaded by seg.c/system.c. */
			break;
		}
	}
}

/* ---- operands ---- */

unsigned sw_op_size(const struct sw_insn *in, unsigned i)
{
	return in->op[i].size / 8;
}

enum x86_sreg sw_op_seg(const struct sw_insn *in, unsigned i)
{
	ZydisRegister s = in->op[i].mem.segment;

	/*
	 * 3E as the last segment prefix of an indirect JMP/CALL: Zydis takes
	 * it as NOTRACK (CET, which the model does not have) and reports the
	 * default segment, but it is a DS override too (SS-based addresses
	 * with BP/EBP go through DS). Only the target operand: the hidden
	 * stack operands keep SS.
	 */
	if ((in->zi.attributes & ZYDIS_ATTRIB_HAS_NOTRACK) && i < in->zi.operand_count_visible)
		return S_DS;

	if (s >= ZYDIS_REGISTER_ES && s <= ZYDIS_REGISTER_GS)
		return (enum x86_sreg)(s - ZYDIS_REGISTER_ES);
	return S_DS;
}

uint64_t sw_op_ea(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i)
{
	const struct sw_op_mem *m = &in->op[i].mem;
	uint64_t ea = (uint64_t)m->disp.value;

	if (m->base != ZYDIS_REGISTER_NONE) {
		if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP)
			/* From the next insn, whatever the handler did to next_rip. */
			ea += cpu->st.rip + in->len;
		else
			ea += sw_reg_read(cpu, m->base);
	}
	if (m->index != ZYDIS_REGISTER_NONE)
		ea += sw_reg_read(cpu, m->index) * (m->scale ? m->scale : 1);
	switch (in->zi.address_width) {
	case 16:
		return ea & 0xffff;
	case 32:
		return ea & 0xffffffff;
	default:
		return ea;
	}
}

/*
 * Zydis gives immediates already sign-extended to 64 bits (when signed)
 * and sizes them as encoded (imm8 in "add rax, -1" is 8 bits): the value
 * is cut to the instruction's operand size, or the encoded size if wider.
 */
static uint64_t imm_value(const struct sw_insn *in, unsigned i)
{
	const struct sw_op *op = &in->op[i];
	unsigned size = in->zi.operand_width > op->size ? in->zi.operand_width : op->size;

	return (op->imm.is_signed ? (uint64_t)op->imm.value.s : op->imm.value.u) &
	       sw_mask(size ? size / 8 : 8);
}

uint64_t sw_op_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i)
{
	const struct sw_op *op = &in->op[i];

	switch (op->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		return sw_reg_read(cpu, op->reg.value);
	case ZYDIS_OPERAND_TYPE_MEMORY:
		return sw_read(cpu, sw_op_seg(in, i), sw_op_ea(cpu, in, i), op->size / 8);
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		return imm_value(in, i);
	case ZYDIS_OPERAND_TYPE_POINTER:
		return op->ptr.offset;
	default:
		return 0;
	}
}

void sw_op_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, uint64_t v)
{
	const struct sw_op *op = &in->op[i];

	switch (op->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		sw_reg_write(cpu, op->reg.value, v);
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		sw_write(cpu, sw_op_seg(in, i), sw_op_ea(cpu, in, i), v, op->size / 8);
		break;
	default:
		break;
	}
}

void sw_op_memref(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, unsigned acc,
		  struct sw_memref *m)
{
	sw_mem_prepare(cpu, sw_op_seg(in, i), sw_op_ea(cpu, in, i), in->op[i].size / 8, acc, m);
}

/* ---- stack ---- */

void sw_push(struct sw_cpu *cpu, uint64_t val, unsigned size)
{
	unsigned sbits = sw_stack_bits(cpu);
	uint64_t sp = cpu->st.gpr[R_SP];
	uint64_t nsp = sp - size;

	if (sbits == 16)
		nsp &= 0xffff;
	else if (sbits == 32)
		nsp &= 0xffffffff;
	/* The write can fault: RSP changes only after it succeeded. */
	sw_write(cpu, S_SS, nsp, val, size);
	if (sbits == 16)
		cpu->st.gpr[R_SP] = (sp & ~0xffffull) | nsp;
	else if (sbits == 32)
		cpu->st.gpr[R_SP] = nsp;	/* a 32-bit write zero-extends (like ESP writes) */
	else
		cpu->st.gpr[R_SP] = nsp;
}

uint64_t sw_pop(struct sw_cpu *cpu, unsigned size)
{
	unsigned sbits = sw_stack_bits(cpu);
	uint64_t sp = cpu->st.gpr[R_SP];
	uint64_t off = sbits == 16 ? sp & 0xffff : sbits == 32 ? sp & 0xffffffff : sp;
	uint64_t v = sw_read(cpu, S_SS, off, size);
	uint64_t nsp = off + size;

	if (sbits == 16)
		cpu->st.gpr[R_SP] = (sp & ~0xffffull) | (nsp & 0xffff);
	else if (sbits == 32)
		cpu->st.gpr[R_SP] = nsp & 0xffffffff;
	else
		cpu->st.gpr[R_SP] = nsp;
	return v;
}

void sw_op_rmw(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, sw_rmw_fn fn,
	       void *ctx)
{
	struct sw_memref m;
	uint64_t old, flags;

	if (in->op[i].type != ZYDIS_OPERAND_TYPE_MEMORY) {
		if (in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
			sw_ud(cpu);
		sw_op_write(cpu, in, i, fn(cpu, sw_op_read(cpu, in, i), ctx));
		return;
	}
	sw_op_memref(cpu, in, i, SW_ACC_WRITE, &m);
	old = sw_mem_load(cpu, &m);
	if (!(in->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)) {
		sw_mem_store(cpu, &m, fn(cpu, old, ctx));
		return;
	}
	flags = cpu->st.rflags;
	for (;;) {
		uint64_t v;

		cpu->st.rflags = flags;
		v = fn(cpu, old, ctx);
		if (sw_mem_cmpxchg(cpu, &m, &old, v))
			break;
	}
}
