// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Segmentation for the software CPU: descriptor table reads, segment
 * register loads with every protection check, far JMP/CALL (call gates
 * included), far RET and IRET, and the descriptor-inspecting instructions
 * (LAR, LSL, VERR, VERW, ARPL, LDS and friends).
 *
 * Error codes: a fault caused by a selector reports the selector with
 * RPL cleared (sw_sel_err()); a null selector where one is not allowed
 * reports 0. Privilege-changing transfers build the new stack with the
 * sw_stack helpers so that nothing architectural changes until every
 * access has succeeded.
 *
 * Hardware task switches (far JMP/CALL to a TSS or task gate, IRET with
 * NT=1) are task.c's.
 */
#include <string.h>

#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "accel/sw/task.h"

/* ---- descriptors ---- */

bool sw_desc_fetch(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d, bool wide)
{
	const struct x86_state *st = &cpu->st;
	uint64_t base, la, idx = sel & ~7u;
	uint32_t limit;
	uint64_t v;

	if (sel & 4) {
		/* LDTR loaded with a null selector is unusable: any TI=1 selector faults. */
		if (st->ldt.attr & SEG_ATTR_UNUSABLE)
			return false;
		base = st->ldt.base;
		limit = st->ldt.limit;
	} else {
		base = st->gdt.base;
		limit = st->gdt.limit;
	}
	if (idx + (wide ? 15 : 7) > limit)
		return false;
	la = base + idx;
	if (!sw_long_mode(cpu))
		la &= 0xffffffffu;
	v = sw_read_lin(cpu, la, 8, SW_ACC_READ | SW_ACC_SYS);
	d->lo = (uint32_t)v;
	d->hi = (uint32_t)(v >> 32);
	d->hi2 = d->hi3 = 0;
	if (wide) {
		v = sw_read_lin(cpu, la + 8, 8, SW_ACC_READ | SW_ACC_SYS);
		d->hi2 = (uint32_t)v;
		d->hi3 = (uint32_t)(v >> 32);
	}
	d->la = la;
	return true;
}

void sw_desc_set_accessed(struct sw_cpu *cpu, struct sw_desc *d)
{
	if (!SW_DESC_S(d) || (d->hi & (SW_TYPE_A << 8)))
		return;
	d->hi |= SW_TYPE_A << 8;
	sw_write_lin(cpu, d->la + 5, (d->hi >> 8) & 0xff, 1, SW_ACC_WRITE | SW_ACC_SYS);
}

void sw_desc_to_seg(const struct sw_desc *d, uint16_t sel, struct x86_seg *s)
{
	s->sel = sel;
	s->base = sw_desc_base(d);
	s->limit = sw_desc_limit(d);
	/* Descriptor bits 40..47 and 52..55 are the VMX attr bits 0..7 and 12..15. */
	s->attr = (d->hi >> 8) & 0xf0ff;
	if (SW_DESC_S(d))
		s->attr |= SW_TYPE_A;
}

void sw_seg_set_null(struct x86_seg *s, uint16_t sel, unsigned dpl)
{
	s->sel = sel;
	/* Intel clears the base of a null-loaded segment (AMD keeps it). */
	s->base = 0;
	s->limit = 0;
	/* SS keeps its DPL: it is the CPL (as in VMX). */
	s->attr = SEG_ATTR_UNUSABLE | SEG_ATTR_S | SW_TYPE_W | SW_TYPE_A | (dpl << 5);
}

/* ---- stacks ---- */

static uint64_t stack_mask(unsigned bits)
{
	return bits == 64 ? ~0ull : bits == 32 ? 0xffffffffull : 0xffffull;
}

void sw_stack_current(struct sw_cpu *cpu, struct sw_stack *stk)
{
	stk->ss = cpu->st.seg[S_SS];
	stk->rsp = cpu->st.gpr[R_SP];
	stk->bits = sw_stack_bits(cpu);
	stk->acc = 0;
	stk->err = 0;
	stk->lm64 = sw_64bit(cpu);
}

/* Linear address of @size bytes at offset @off of the stack, with its checks. */
static uint64_t stack_la(struct sw_cpu *cpu, const struct sw_stack *stk, uint64_t off,
			 unsigned size)
{
	const struct x86_seg *s = &stk->ss;

	if (stk->lm64) {
		if (!sw_canonical(off) || !sw_canonical(off + size - 1))
			sw_raise_err(cpu, X86_SS, stk->err);
		return off;
	}
	if (sw_protected(cpu) && !sw_vm86(cpu) && (s->attr & SEG_ATTR_UNUSABLE))
		sw_raise_err(cpu, X86_SS, stk->err);
	if ((s->attr & SEG_ATTR_S) && !(s->attr & SW_TYPE_CODE) && (s->attr & SW_TYPE_E)) {
		uint64_t upper = (s->attr & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;

		/* Expand-down: valid offsets are (limit, upper]. */
		if (off <= s->limit || off + size - 1 > upper)
			sw_raise_err(cpu, X86_SS, stk->err);
	} else if (off + size - 1 > s->limit) {
		sw_raise_err(cpu, X86_SS, stk->err);
	}
	return (s->base + off) & 0xffffffffull;
}

void sw_stack_push(struct sw_cpu *cpu, struct sw_stack *stk, uint64_t val, unsigned size)
{
	uint64_t m = stack_mask(stk->bits);
	uint64_t sp = (stk->rsp - size) & m;
	uint64_t la = stack_la(cpu, stk, sp, size);

	sw_write_lin(cpu, la, val & sw_mask(size), size, SW_ACC_WRITE | stk->acc);
	stk->rsp = (stk->rsp & ~m) | sp;
}

void sw_stack_probe(struct sw_cpu *cpu, const struct sw_stack *stk, uint64_t off, unsigned size)
{
	uint64_t la = stack_la(cpu, stk, off & stack_mask(stk->bits), size);

	sw_probe_write_lin(cpu, la, size, SW_ACC_WRITE | stk->acc);
}

uint64_t sw_stack_peek(struct sw_cpu *cpu, struct sw_stack *stk, uint64_t off, unsigned size)
{
	uint64_t m = stack_mask(stk->bits);
	uint64_t sp = (stk->rsp + off) & m;

	return sw_read_lin(cpu, stack_la(cpu, stk, sp, size), size, SW_ACC_READ | stk->acc);
}

uint64_t sw_stack_pop(struct sw_cpu *cpu, struct sw_stack *stk, unsigned size)
{
	uint64_t m = stack_mask(stk->bits);
	uint64_t v = sw_stack_peek(cpu, stk, 0, size);

	stk->rsp = (stk->rsp & ~m) | ((stk->rsp + size) & m);
	return v;
}

void sw_stack_commit(struct sw_cpu *cpu, const struct sw_stack *stk)
{
	cpu->st.seg[S_SS] = stk->ss;
	cpu->st.gpr[R_SP] = stk->rsp;
}

/*
 * Checks on a new SS for a privilege change to @rpl (TSS stack, RETF or
 * IRET to an outer level); @fault_vec is #TS for TSS stacks and #GP for
 * returns. Loads the hidden part into @s.
 */
static void check_new_ss(struct sw_cpu *cpu, uint16_t sel, unsigned rpl, unsigned fault_vec,
			 uint32_t ext, struct x86_seg *s)
{
	struct sw_desc d;

	if (!(sel & ~3u))
		sw_raise_err(cpu, fault_vec, ext);
	if (!sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, fault_vec, sw_sel_err(sel, ext));
	if ((sel & 3) != rpl || !SW_DESC_S(&d) || (SW_DESC_TYPE(&d) & SW_TYPE_CODE) ||
	    !(SW_DESC_TYPE(&d) & SW_TYPE_W) || SW_DESC_DPL(&d) != rpl)
		sw_raise_err(cpu, fault_vec, sw_sel_err(sel, ext));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_SS, sw_sel_err(sel, ext));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, s);
}

void sw_inner_stack(struct sw_cpu *cpu, unsigned dpl, unsigned ist, uint32_t ext,
		    struct sw_stack *stk)
{
	const struct x86_seg *tr = &cpu->st.tr;
	unsigned type = SEG_ATTR_TYPE(tr->attr);
	uint16_t ss;
	uint64_t off;

	stk->acc = dpl < 3 ? SW_ACC_SYS : 0;
	if (sw_long_mode(cpu)) {
		/* 64-bit TSS: RSP0..2 at 4, IST1..7 at 0x24. */
		off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * dpl;
		if ((tr->attr & SEG_ATTR_UNUSABLE) || off + 7 > tr->limit)
			sw_raise_err(cpu, X86_TS, sw_sel_err(tr->sel, ext));
		stk->rsp = sw_read_lin(cpu, tr->base + off, 8, SW_ACC_READ | SW_ACC_SYS);
		sw_seg_set_null(&stk->ss, dpl, dpl);
		stk->bits = 64;
		stk->lm64 = true;
		stk->err = ext;
		return;
	}
	if (type == SW_SYS_TSS32 || type == SW_SYS_TSS32_BUSY) {
		off = 4 + 8 * dpl;
		if (off + 5 > tr->limit)
			sw_raise_err(cpu, X86_TS, sw_sel_err(tr->sel, ext));
		stk->rsp = sw_read_lin(cpu, (tr->base + off) & 0xffffffffu, 4,
				       SW_ACC_READ | SW_ACC_SYS);
		ss = sw_read_lin(cpu, (tr->base + off + 4) & 0xffffffffu, 2,
				 SW_ACC_READ | SW_ACC_SYS);
	} else if (type == SW_SYS_TSS16 || type == SW_SYS_TSS16_BUSY) {
		off = 2 + 4 * dpl;
		if (off + 3 > tr->limit)
			sw_raise_err(cpu, X86_TS, sw_sel_err(tr->sel, ext));
		stk->rsp = sw_read_lin(cpu, (tr->base + off) & 0xffffffffu, 2,
				       SW_ACC_READ | SW_ACC_SYS);
		ss = sw_read_lin(cpu, (tr->base + off + 2) & 0xffffffffu, 2,
				 SW_ACC_READ | SW_ACC_SYS);
	} else {
		sw_raise_err(cpu, X86_TS, sw_sel_err(tr->sel, ext));
	}
	check_new_ss(cpu, ss, dpl, X86_TS, ext, &stk->ss);
	stk->bits = (stk->ss.attr & SEG_ATTR_DB) ? 32 : 16;
	stk->lm64 = false;
	stk->err = sw_sel_err(ss, ext);
}

void sw_seg_check_outer(struct sw_cpu *cpu)
{
	static const enum x86_sreg segs[] = { S_ES, S_DS, S_FS, S_GS };
	unsigned cpl = sw_cpl(cpu);

	for (unsigned i = 0; i < 4; i++) {
		struct x86_seg *s = &cpu->st.seg[segs[i]];
		unsigned t = SEG_ATTR_TYPE(s->attr);

		if (s->attr & SEG_ATTR_UNUSABLE)
			continue;
		/* Data and non-conforming code more privileged than the new CPL. */
		if ((!(t & SW_TYPE_CODE) || !(t & SW_TYPE_C)) && SEG_ATTR_DPL(s->attr) < cpl)
			sw_seg_set_null(s, 0, 0);
	}
}

/* ---- segment register loads ---- */

void sw_load_seg_real(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel)
{
	struct x86_seg *s = &cpu->st.seg[seg];

	s->sel = sel;
	s->base = (uint64_t)sel << 4;
	if (sw_vm86(cpu)) {
		/* Virtual-8086 segments are fixed: 64 KiB, DPL 3, read/write. */
		s->limit = 0xffff;
		s->attr = 0xf3;
	} else if (s->attr & SEG_ATTR_UNUSABLE) {
		/* Limit and attributes survive real-mode loads (unreal mode), but not unusable. */
		s->limit = 0xffff;
		s->attr = seg == S_CS ? 0x9b : 0x93;
	}
}

static void load_ss_prot(struct sw_cpu *cpu, uint16_t sel)
{
	unsigned cpl = sw_cpl(cpu);
	struct sw_desc d;

	if (!(sel & ~3u)) {
		/* 64-bit mode allows a null SS below ring 3 (RPL must still be the CPL). */
		if (sw_64bit(cpu) && cpl != 3 && (sel & 3) == cpl) {
			sw_seg_set_null(&cpu->st.seg[S_SS], sel, cpl);
			return;
		}
		sw_gp0(cpu);
	}
	if (!sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if ((sel & 3) != cpl || !SW_DESC_S(&d) || (SW_DESC_TYPE(&d) & SW_TYPE_CODE) ||
	    !(SW_DESC_TYPE(&d) & SW_TYPE_W) || SW_DESC_DPL(&d) != cpl)
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_SS, sw_sel_err(sel, 0));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, &cpu->st.seg[S_SS]);
}

static void load_data_prot(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel)
{
	unsigned cpl = sw_cpl(cpu), rpl = sel & 3, type;
	struct sw_desc d;

	if (!(sel & ~3u)) {
		sw_seg_set_null(&cpu->st.seg[seg], sel, 0);
		return;
	}
	if (!sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	type = SW_DESC_TYPE(&d);
	/* Data, or readable code. */
	if (!SW_DESC_S(&d) || ((type & SW_TYPE_CODE) && !(type & SW_TYPE_R)))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	/* Conforming code is usable from any level; the rest needs DPL >= max(CPL, RPL). */
	if ((!(type & SW_TYPE_CODE) || !(type & SW_TYPE_C)) &&
	    (rpl > SW_DESC_DPL(&d) || cpl > SW_DESC_DPL(&d)))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, &cpu->st.seg[seg]);
}

static void load_seg(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel)
{
	if (seg == S_CS || seg >= S_NR)
		sw_ud(cpu);	/* MOV CS, and anything that is not a segment register */
	if (!sw_protected(cpu) || sw_vm86(cpu))
		sw_load_seg_real(cpu, seg, sel);
	else if (seg == S_SS)
		load_ss_prot(cpu, sel);
	else
		load_data_prot(cpu, seg, sel);
}

void sw_load_seg(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel)
{
	load_seg(cpu, seg, sel);
	/* MOV SS / POP SS: no interrupt or trap before the next instruction completes. */
	if (seg == S_SS)
		cpu->st.int_shadow = true;
}

/* ---- far transfers ---- */

/* Operand size in bytes; tolerate a size given in bits. */
static unsigned norm_opsize(unsigned opsize)
{
	if (opsize >= 16)
		opsize /= 8;
	return opsize == 8 ? 8 : opsize == 4 ? 4 : 2;
}

/* Target offset check for a code segment being loaded: canonical or within its limit. */
static void check_target(struct sw_cpu *cpu, const struct x86_seg *cs, uint64_t ip)
{
	if (sw_long_mode(cpu) && (cs->attr & SEG_ATTR_L)) {
		if (!sw_canonical(ip))
			sw_gp0(cpu);
	} else if (ip > cs->limit) {
		sw_gp0(cpu);
	}
}

static void far_real(struct sw_cpu *cpu, uint16_t sel, uint64_t off, bool is_call,
		     unsigned opsize)
{
	uint64_t ip = off & sw_mask(opsize);
	struct sw_stack stk;

	/* Real and virtual-8086 mode keep the CS limit across loads. */
	if (ip > cpu->st.seg[S_CS].limit)
		sw_gp0(cpu);
	if (is_call) {
		sw_stack_current(cpu, &stk);
		sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, opsize);
		sw_stack_push(cpu, &stk, cpu->next_rip, opsize);
		sw_stack_commit(cpu, &stk);
	}
	sw_load_seg_real(cpu, S_CS, sel);
	cpu->next_rip = ip;
}

/* Far JMP/CALL straight to a code segment (no gate): no privilege change. */
static void far_direct(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d, uint64_t off,
		       bool is_call, unsigned opsize)
{
	unsigned cpl = sw_cpl(cpu), dpl = SW_DESC_DPL(d);
	struct x86_seg cs;
	struct sw_stack stk;
	uint64_t ip;

	if (SW_DESC_TYPE(d) & SW_TYPE_C) {
		if (dpl > cpl)
			sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	} else if ((sel & 3) > cpl || dpl != cpl) {
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	}
	if (!SW_DESC_P(d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	if (sw_long_mode(cpu) && SW_DESC_L(d) && SW_DESC_DB(d))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	sw_desc_to_seg(d, (sel & ~3u) | cpl, &cs);
	ip = off & sw_mask(opsize);
	check_target(cpu, &cs, ip);
	sw_stack_current(cpu, &stk);
	if (is_call) {
		sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, opsize);
		sw_stack_push(cpu, &stk, cpu->next_rip, opsize);
	}
	sw_desc_set_accessed(cpu, d);
	sw_stack_commit(cpu, &stk);
	cpu->st.seg[S_CS] = cs;
	cpu->next_rip = ip;
}

/* Far JMP/CALL through a call gate (16/32-bit, or 64-bit in long mode). */
static void far_gate(struct sw_cpu *cpu, uint16_t sel, const struct sw_desc *g, bool is_call)
{
	bool lm = sw_long_mode(cpu);
	unsigned cpl = sw_cpl(cpu), gsize, new_cpl;
	uint16_t tsel = sw_gate_sel(g);
	struct sw_desc cd;
	struct x86_seg cs;
	struct sw_stack stk, old;
	uint64_t ip;

	if (SW_DESC_DPL(g) < cpl || SW_DESC_DPL(g) < (sel & 3u))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!SW_DESC_P(g))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	if (!(tsel & ~3u))
		sw_gp0(cpu);
	if (!sw_desc_fetch(cpu, tsel, &cd, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, 0));
	if (!SW_DESC_S(&cd) || !(SW_DESC_TYPE(&cd) & SW_TYPE_CODE) || SW_DESC_DPL(&cd) > cpl)
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, 0));
	/* A 64-bit gate leads to 64-bit code only. */
	if (lm && (!SW_DESC_L(&cd) || SW_DESC_DB(&cd)))
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, 0));
	if (!SW_DESC_P(&cd))
		sw_raise_err(cpu, X86_NP, sw_sel_err(tsel, 0));

	gsize = lm ? 8 : SW_DESC_TYPE(g) == SW_SYS_CALL32 ? 4 : 2;
	ip = sw_gate_offset(g, lm);
	if (gsize == 2)
		ip &= 0xffff;
	new_cpl = (SW_DESC_TYPE(&cd) & SW_TYPE_C) ? cpl : SW_DESC_DPL(&cd);
	if (!is_call) {
		/* JMP never changes privilege. */
		if (new_cpl != cpl)
			sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, 0));
	}
	sw_desc_to_seg(&cd, (tsel & ~3u) | new_cpl, &cs);
	check_target(cpu, &cs, ip);

	if (is_call && new_cpl < cpl) {
		unsigned count = lm ? 0 : g->hi & 0x1f;

		sw_inner_stack(cpu, new_cpl, 0, 0, &stk);
		sw_stack_current(cpu, &old);
		sw_stack_push(cpu, &stk, cpu->st.seg[S_SS].sel, gsize);
		sw_stack_push(cpu, &stk, cpu->st.gpr[R_SP], gsize);
		/* Parameters keep their order: the deepest one is copied first. */
		for (unsigned i = count; i-- > 0;) {
			uint64_t p = sw_stack_peek(cpu, &old, (uint64_t)i * gsize, gsize);

			sw_stack_push(cpu, &stk, p, gsize);
		}
	} else {
		sw_stack_current(cpu, &stk);
	}
	if (is_call) {
		sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, gsize);
		sw_stack_push(cpu, &stk, cpu->next_rip, gsize);
	}
	sw_desc_set_accessed(cpu, &cd);
	sw_stack_commit(cpu, &stk);
	cpu->st.seg[S_CS] = cs;
	cpu->next_rip = ip;
}

void sw_far_jump(struct sw_cpu *cpu, uint16_t sel, uint64_t off, bool is_call, unsigned opsize)
{
	struct sw_desc d;
	unsigned type;

	opsize = norm_opsize(opsize);
	if (!sw_protected(cpu) || sw_vm86(cpu)) {
		far_real(cpu, sel, off, is_call, opsize);
		return;
	}
	if (!(sel & ~3u))
		sw_gp0(cpu);
	if (!sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (SW_DESC_S(&d)) {
		if (!(SW_DESC_TYPE(&d) & SW_TYPE_CODE))
			sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
		far_direct(cpu, sel, &d, off, is_call, opsize);
		return;
	}
	type = SW_DESC_TYPE(&d);
	if (sw_long_mode(cpu)) {
		/* Only 64-bit call gates (type 12, 16 bytes) exist in long mode. */
		if (type != SW_SYS_CALL32 || !sw_desc_fetch(cpu, sel, &d, true) ||
		    ((d.hi3 >> 8) & 0x1f) != 0)
			sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
		far_gate(cpu, sel, &d, is_call);
		return;
	}
	switch (type) {
	case SW_SYS_CALL16:
	case SW_SYS_CALL32:
		far_gate(cpu, sel, &d, is_call);
		return;
	case SW_SYS_TASK:
	case SW_SYS_TSS16:
	case SW_SYS_TSS32:
		sw_task_far(cpu, sel, &d, is_call);
		return;
	}
	sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
}

/*
 * The code segment a RETF/IRET returns to: checks common to both.
 * Returns the new CPL (the selector's RPL).
 */
static unsigned check_return_cs(struct sw_cpu *cpu, uint16_t csel, struct sw_desc *d)
{
	unsigned cpl = sw_cpl(cpu), rpl = csel & 3, dpl;

	if (!(csel & ~3u))
		sw_gp0(cpu);
	if (!sw_desc_fetch(cpu, csel, d, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(csel, 0));
	dpl = SW_DESC_DPL(d);
	if (rpl < cpl || !SW_DESC_S(d) || !(SW_DESC_TYPE(d) & SW_TYPE_CODE))
		sw_raise_err(cpu, X86_GP, sw_sel_err(csel, 0));
	if ((SW_DESC_TYPE(d) & SW_TYPE_C) ? dpl > rpl : dpl != rpl)
		sw_raise_err(cpu, X86_GP, sw_sel_err(csel, 0));
	if (!SW_DESC_P(d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(csel, 0));
	if (sw_long_mode(cpu) && SW_DESC_L(d) && SW_DESC_DB(d))
		sw_raise_err(cpu, X86_GP, sw_sel_err(csel, 0));
	return rpl;
}

/* SS for a return to outer level @rpl (or any level in 64-bit mode for IRET). */
static void return_ss(struct sw_cpu *cpu, uint16_t ssel, unsigned rpl, bool to64,
		      struct x86_seg *ss)
{
	/* A null SS is allowed only when going back to 64-bit code below ring 3. */
	if (!(ssel & ~3u) && to64 && rpl != 3 && (ssel & 3) == rpl) {
		sw_seg_set_null(ss, ssel, rpl);
		return;
	}
	check_new_ss(cpu, ssel, rpl, X86_GP, 0, ss);
}

static uint64_t new_sp(uint64_t old, uint64_t v, const struct x86_seg *ss, bool to64)
{
	if (to64)
		return v;
	if (ss->attr & SEG_ATTR_DB)
		return v & 0xffffffffu;
	return (old & ~0xffffull) | (v & 0xffff);
}

void sw_far_return(struct sw_cpu *cpu, unsigned opsize, uint16_t pop_bytes)
{
	struct sw_stack stk;
	struct sw_desc cd;
	struct x86_seg cs, ss;
	uint64_t ip, m;
	uint16_t csel;
	unsigned cpl, rpl;
	bool to64;

	opsize = norm_opsize(opsize);
	sw_stack_current(cpu, &stk);
	m = stack_mask(stk.bits);
	ip = sw_stack_pop(cpu, &stk, opsize) & sw_mask(opsize);
	csel = sw_stack_pop(cpu, &stk, opsize) & 0xffff;
	if (!sw_protected(cpu) || sw_vm86(cpu)) {
		if (ip > cpu->st.seg[S_CS].limit)
			sw_gp0(cpu);
		stk.rsp = (stk.rsp & ~m) | ((stk.rsp + pop_bytes) & m);
		sw_stack_commit(cpu, &stk);
		sw_load_seg_real(cpu, S_CS, csel);
		cpu->next_rip = ip;
		return;
	}
	cpl = sw_cpl(cpu);
	rpl = check_return_cs(cpu, csel, &cd);
	to64 = sw_long_mode(cpu) && SW_DESC_L(&cd);
	sw_desc_to_seg(&cd, csel, &cs);
	stk.rsp = (stk.rsp & ~m) | ((stk.rsp + pop_bytes) & m);
	if (rpl == cpl) {
		check_target(cpu, &cs, ip);
		sw_desc_set_accessed(cpu, &cd);
		sw_stack_commit(cpu, &stk);
		cpu->st.seg[S_CS] = cs;
		cpu->next_rip = ip;
		return;
	}
	/* Return to an outer level: the caller's SS:ESP follows the parameters. */
	{
		uint64_t rsp = sw_stack_pop(cpu, &stk, opsize);
		uint16_t ssel = sw_stack_pop(cpu, &stk, opsize) & 0xffff;

		return_ss(cpu, ssel, rpl, to64, &ss);
		check_target(cpu, &cs, ip);
		sw_desc_set_accessed(cpu, &cd);
		cpu->st.seg[S_CS] = cs;
		cpu->st.seg[S_SS] = ss;
		cpu->st.gpr[R_SP] = new_sp(cpu->st.gpr[R_SP], rsp + pop_bytes, &ss, to64);
		cpu->next_rip = ip;
		sw_seg_check_outer(cpu);
	}
}

/* RFLAGS bits an IRET/POPF-style load may change, by operand size and privilege. */
static void iret_flags(struct sw_cpu *cpu, uint64_t fl, unsigned opsize, unsigned cpl)
{
	uint64_t mask = X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF |
			X86_RFLAGS_SF | X86_RFLAGS_TF | X86_RFLAGS_DF | X86_RFLAGS_OF |
			X86_RFLAGS_NT;
	unsigned iopl = (cpu->st.rflags >> 12) & 3;

	if (opsize >= 4)
		mask |= X86_RFLAGS_RF | X86_RFLAGS_AC | X86_RFLAGS_ID;
	if (cpl <= iopl)
		mask |= X86_RFLAGS_IF;
	if (cpl == 0) {
		mask |= X86_RFLAGS_IOPL;
		if (opsize >= 4)
			mask |= X86_RFLAGS_VIF | X86_RFLAGS_VIP;
	}
	cpu->st.rflags = (cpu->st.rflags & ~mask) | (fl & mask) | X86_RFLAGS_FIXED;
}

static void iret_real(struct sw_cpu *cpu, unsigned opsize)
{
	struct sw_stack stk;
	uint64_t ip, fl, mask;
	uint16_t csel;

	if (sw_vm86(cpu) && ((cpu->st.rflags >> 12) & 3) < 3)
		sw_gp0(cpu);	/* no CR4.VME in the model */
	sw_stack_current(cpu, &stk);
	ip = sw_stack_pop(cpu, &stk, opsize) & sw_mask(opsize);
	csel = sw_stack_pop(cpu, &stk, opsize) & 0xffff;
	fl = sw_stack_pop(cpu, &stk, opsize);
	if (ip > cpu->st.seg[S_CS].limit)
		sw_gp0(cpu);
	/* VM, VIF and VIP never change here; IOPL is fixed in virtual-8086 mode. */
	mask = opsize == 2 ? 0x7fd5 : 0x257fd5;
	if (sw_vm86(cpu))
		mask &= ~X86_RFLAGS_IOPL;
	sw_stack_commit(cpu, &stk);
	sw_load_seg_real(cpu, S_CS, csel);
	cpu->next_rip = ip;
	cpu->st.rflags = (cpu->st.rflags & ~mask) | (fl & mask) | X86_RFLAGS_FIXED;
}

/* IRETD at CPL 0 with VM=1 in the image: enter virtual-8086 mode. */
static void iret_to_vm86(struct sw_cpu *cpu, struct sw_stack *stk, uint64_t ip, uint16_t csel,
			 uint64_t fl)
{
	static const enum x86_sreg order[] = { S_ES, S_DS, S_FS, S_GS };
	uint64_t rsp = sw_stack_pop(cpu, stk, 4);
	uint16_t ssel = sw_stack_pop(cpu, stk, 4) & 0xffff;
	uint16_t sels[4];

	for (unsigned i = 0; i < 4; i++)
		sels[i] = sw_stack_pop(cpu, stk, 4) & 0xffff;
	cpu->st.rflags = (fl & 0x3f7fd5) | X86_RFLAGS_FIXED | X86_RFLAGS_VM;
	sw_load_seg_real(cpu, S_CS, csel);
	sw_load_seg_real(cpu, S_SS, ssel);
	for (unsigned i = 0; i < 4; i++)
		sw_load_seg_real(cpu, order[i], sels[i]);
	cpu->st.gpr[R_SP] = rsp & 0xffffffffu;
	cpu->next_rip = ip & 0xffff;
}

void sw_iret(struct sw_cpu *cpu, unsigned opsize)
{
	struct sw_stack stk;
	struct sw_desc cd;
	struct x86_seg cs, ss;
	uint64_t ip, fl;
	uint16_t csel;
	unsigned cpl, rpl;
	bool to64;

	/* Any IRET ends NMI blocking, even one that then faults (the host CPU's rule). */
	cpu->st.nmi_blocked = false;
	opsize = norm_opsize(opsize);
	if (!sw_protected(cpu) || sw_vm86(cpu)) {
		iret_real(cpu, opsize);
		return;
	}
	if (cpu->st.rflags & X86_RFLAGS_NT) {
		/* Long mode has no task return: #GP(0) is architectural there. */
		if (sw_long_mode(cpu))
			sw_gp0(cpu);
		sw_task_iret(cpu);
		return;
	}
	cpl = sw_cpl(cpu);
	sw_stack_current(cpu, &stk);
	ip = sw_stack_pop(cpu, &stk, opsize) & sw_mask(opsize);
	csel = sw_stack_pop(cpu, &stk, opsize) & 0xffff;
	fl = sw_stack_pop(cpu, &stk, opsize);
	if (!sw_long_mode(cpu) && opsize == 4 && (fl & X86_RFLAGS_VM) && cpl == 0) {
		iret_to_vm86(cpu, &stk, ip, csel, fl);
		return;
	}
	rpl = check_return_cs(cpu, csel, &cd);
	to64 = sw_long_mode(cpu) && SW_DESC_L(&cd);
	sw_desc_to_seg(&cd, csel, &cs);
	/* 64-bit mode always pops SS:RSP; elsewhere only on a return to an outer level. */
	if (rpl == cpl && !sw_64bit(cpu)) {
		check_target(cpu, &cs, ip);
		sw_desc_set_accessed(cpu, &cd);
		sw_stack_commit(cpu, &stk);
		cpu->st.seg[S_CS] = cs;
		cpu->next_rip = ip;
		iret_flags(cpu, fl, opsize, cpl);
		return;
	}
	{
		uint64_t rsp = sw_stack_pop(cpu, &stk, opsize);
		uint16_t ssel = sw_stack_pop(cpu, &stk, opsize) & 0xffff;

		return_ss(cpu, ssel, rpl, to64, &ss);
		check_target(cpu, &cs, ip);
		sw_desc_set_accessed(cpu, &cd);
		cpu->st.seg[S_CS] = cs;
		cpu->st.seg[S_SS] = ss;
		cpu->st.gpr[R_SP] = new_sp(cpu->st.gpr[R_SP], rsp, &ss, to64 || opsize == 8);
		cpu->next_rip = ip;
		iret_flags(cpu, fl, opsize, cpl);
		if (rpl > cpl)
			sw_seg_check_outer(cpu);
	}
}

/* ---- instructions ---- */

static void set_zf(struct sw_cpu *cpu, bool z)
{
	if (z)
		cpu->st.rflags |= X86_RFLAGS_ZF;
	else
		cpu->st.rflags &= ~X86_RFLAGS_ZF;
}

static void need_protected(struct sw_cpu *cpu)
{
	if (!sw_protected(cpu) || sw_vm86(cpu))
		sw_ud(cpu);
}

/* LDS LES LSS LFS LGS: offset then selector from memory; the segment load checks first. */
static void h_lxs(struct sw_cpu *cpu, const struct sw_insn *in)
{
	enum x86_sreg sreg;
	unsigned size = sw_op_size(in, 0);
	uint64_t ea, amask, off;
	enum x86_sreg s;
	uint16_t sel;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_LDS: sreg = S_DS; break;
	case ZYDIS_MNEMONIC_LES: sreg = S_ES; break;
	case ZYDIS_MNEMONIC_LSS: sreg = S_SS; break;
	case ZYDIS_MNEMONIC_LFS: sreg = S_FS; break;
	default: sreg = S_GS; break;
	}
	if (in->op[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
		sw_ud(cpu);
	ea = sw_op_ea(cpu, in, 1);
	s = sw_op_seg(in, 1);
	amask = sw_mask(in->zi.address_width / 8);
	off = sw_read(cpu, s, ea, size);
	sel = sw_read(cpu, s, (ea + size) & amask, 2);
	/* LSS makes no interrupt shadow (only MOV SS / POP SS do). */
	load_seg(cpu, sreg, sel);
	sw_op_write(cpu, in, 0, off);
}

/*
 * Common part of LAR/LSL/VERR/VERW: the descriptor if it is visible at
 * the current CPL with the selector's RPL (else ZF = 0 for the caller).
 */
static bool visible_desc(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d)
{
	unsigned cpl = sw_cpl(cpu), dpl;

	if (!(sel & ~3u) || !sw_desc_fetch(cpu, sel, d, false))
		return false;
	dpl = SW_DESC_DPL(d);
	if (SW_DESC_S(d) && (SW_DESC_TYPE(d) & (SW_TYPE_CODE | SW_TYPE_C)) ==
			    (SW_TYPE_CODE | SW_TYPE_C))
		return true;	/* conforming code: no privilege check */
	return dpl >= cpl && dpl >= (sel & 3u);
}

static bool lar_lsl_type_ok(struct sw_cpu *cpu, const struct sw_desc *d, bool lar)
{
	unsigned t = SW_DESC_TYPE(d);

	if (SW_DESC_S(d))
		return true;
	if (sw_long_mode(cpu))
		return t == SW_SYS_LDT || t == SW_SYS_TSS32 || t == SW_SYS_TSS32_BUSY ||
		       (lar && t == SW_SYS_CALL32);
	switch (t) {
	case SW_SYS_TSS16: case SW_SYS_LDT: case SW_SYS_TSS16_BUSY:
	case SW_SYS_TSS32: case SW_SYS_TSS32_BUSY:
		return true;
	case SW_SYS_CALL16: case SW_SYS_TASK: case SW_SYS_CALL32:
		return lar;
	}
	return false;
}

static void h_lar_lsl(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool lar = in->zi.mnemonic == ZYDIS_MNEMONIC_LAR;
	uint16_t sel;
	struct sw_desc d;
	uint64_t v;

	need_protected(cpu);
	sel = sw_op_read(cpu, in, 1) & 0xffff;
	if (!visible_desc(cpu, sel, &d) || !lar_lsl_type_ok(cpu, &d, lar)) {
		set_zf(cpu, false);
		return;
	}
	if (lar)
		v = d.hi & (sw_op_size(in, 0) == 2 ? 0xff00 : 0x00f0ff00);
	else
		v = sw_desc_limit(&d);
	sw_op_write(cpu, in, 0, v & sw_mask(sw_op_size(in, 0)));
	set_zf(cpu, true);
}

static void h_verr_verw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool write = in->zi.mnemonic == ZYDIS_MNEMONIC_VERW;
	uint16_t sel;
	struct sw_desc d;
	unsigned t;
	bool ok;

	need_protected(cpu);
	sel = sw_op_read(cpu, in, 0) & 0xffff;
	ok = visible_desc(cpu, sel, &d) && SW_DESC_S(&d);
	if (ok) {
		t = SW_DESC_TYPE(&d);
		if (write)
			ok = !(t & SW_TYPE_CODE) && (t & SW_TYPE_W);
		else
			ok = !(t & SW_TYPE_CODE) || (t & SW_TYPE_R);
	}
	set_zf(cpu, ok);
}

static void h_arpl(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint16_t dst, src;

	need_protected(cpu);
	dst = sw_op_read(cpu, in, 0) & 0xffff;
	src = sw_op_read(cpu, in, 1) & 0xffff;
	if ((dst & 3) < (src & 3)) {
		sw_op_write(cpu, in, 0, (dst & ~3u) | (src & 3));
		set_zf(cpu, true);
	} else {
		set_zf(cpu, false);
	}
}

static void h_iret(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_iret(cpu, sw_opsize(in));
}

void sw_register_seg(void)
{
	sw_handlers[ZYDIS_MNEMONIC_LDS] = h_lxs;
	sw_handlers[ZYDIS_MNEMONIC_LES] = h_lxs;
	sw_handlers[ZYDIS_MNEMONIC_LSS] = h_lxs;
	sw_handlers[ZYDIS_MNEMONIC_LFS] = h_lxs;
	sw_handlers[ZYDIS_MNEMONIC_LGS] = h_lxs;
	sw_handlers[ZYDIS_MNEMONIC_LAR] = h_lar_lsl;
	sw_handlers[ZYDIS_MNEMONIC_LSL] = h_lar_lsl;
	sw_handlers[ZYDIS_MNEMONIC_VERR] = h_verr_verw;
	sw_handlers[ZYDIS_MNEMONIC_VERW] = h_verr_verw;
	sw_handlers[ZYDIS_MNEMONIC_ARPL] = h_arpl;
	/*
	 * IRET may also be claimed by control.c: a handler already there is
	 * kept (both end in sw_iret()).
	 */
	if (!sw_handlers[ZYDIS_MNEMONIC_IRET])
		sw_handlers[ZYDIS_MNEMONIC_IRET] = h_iret;
	if (!sw_handlers[ZYDIS_MNEMONIC_IRETD])
		sw_handlers[ZYDIS_MNEMONIC_IRETD] = h_iret;
	if (!sw_handlers[ZYDIS_MNEMONIC_IRETQ])
		sw_handlers[ZYDIS_MNEMONIC_IRETQ] = h_iret;
}
