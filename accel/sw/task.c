// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hardware task switching for the software CPU (protected mode outside
 * long mode): far JMP/CALL to a TSS descriptor or a task gate (seg.c),
 * IRET with NT=1 (seg.c), and events through a task gate in the IDT
 * (excp.c), with the 32-bit and the 16-bit TSS layouts.
 *
 * The order follows the SDM's task-switch steps. Everything that can
 * fault in the context of the old task comes first and changes nothing:
 * the new TSS descriptor's checks (#GP / #TS / #NP with its selector),
 * the read of the whole new TSS, and a write probe of the old TSS's
 * dynamic fields and of the new TSS's link field. Then the switch
 * commits: the old task's state is saved, the busy bits and the link are
 * written, TR, CR3, the registers and the selectors are loaded, and
 * CR0.TS is set. The segment descriptor checks (LDTR, CS, SS, DS, ES, FS,
 * GS) come last and fault in the context of the new task (#TS, #NP or
 * #SS with the selector), as on the host CPU.
 *
 * Not modelled: the T (debug trap) bit of the TSS.
 */
#include <string.h>

#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "accel/sw/task.h"

/* Offsets of the dynamic fields in the two TSS layouts. */
struct tss_layout {
	unsigned min_limit;		/* 0x67 / 0x2b */
	unsigned width;			/* 4 / 2: register and EIP/EFLAGS fields */
	unsigned cr3;			/* 0 in the 16-bit TSS: no CR3 there */
	unsigned ip, flags, gpr;	/* gpr: EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI */
	unsigned seg;			/* ES, CS, SS, DS (, FS, GS) */
	unsigned seg_step, nr_seg;
	unsigned ldt;
	unsigned dyn_end;		/* end of what a switch writes */
};

static const struct tss_layout tss32 = {
	.min_limit = 0x67, .width = 4, .cr3 = 0x1c, .ip = 0x20, .flags = 0x24, .gpr = 0x28,
	.seg = 0x48, .seg_step = 4, .nr_seg = 6, .ldt = 0x60, .dyn_end = 0x60,
};

static const struct tss_layout tss16 = {
	.min_limit = 0x2b, .width = 2, .cr3 = 0, .ip = 0x0e, .flags = 0x10, .gpr = 0x12,
	.seg = 0x22, .seg_step = 2, .nr_seg = 4, .ldt = 0x2a, .dyn_end = 0x2a,
};

/* Segment registers in TSS order (ES, CS, SS, DS, FS, GS) are x86_sreg order. */

static bool is_tss32(unsigned type)
{
	return type == SW_SYS_TSS32 || type == SW_SYS_TSS32_BUSY;
}

static uint32_t get_le(const uint8_t *b, unsigned off, unsigned width)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)b[off + i] << (8 * i);
	return v;
}

static void put_le(uint8_t *b, unsigned off, uint32_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

/* Set or clear the busy bit (type bit 1) of the TSS descriptor at @la in memory. */
static void set_busy(struct sw_cpu *cpu, uint64_t la, bool busy)
{
	uint8_t t = (uint8_t)sw_read_lin(cpu, la + 5, 1, SW_ACC_READ | SW_ACC_SYS);

	t = busy ? t | 0x2 : t & ~0x2;
	sw_write_lin(cpu, la + 5, t, 1, SW_ACC_WRITE | SW_ACC_SYS);
}

/* ---- the new task's segments (after the commit point) ---- */

static void load_ldt(struct sw_cpu *cpu, uint16_t sel)
{
	struct sw_desc d;

	if (!(sel & ~3u)) {
		sw_seg_set_null(&cpu->st.ldt, sel, 0);
		return;
	}
	/* The LDT descriptor lives in the GDT. */
	if ((sel & 4) || !sw_desc_fetch(cpu, sel, &d, false) || SW_DESC_S(&d) ||
	    SW_DESC_TYPE(&d) != SW_SYS_LDT)
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	sw_desc_to_seg(&d, sel, &cpu->st.ldt);
}

static void load_cs(struct sw_cpu *cpu, uint16_t sel)
{
	unsigned rpl = sel & 3, dpl;
	struct sw_desc d;

	if (!(sel & ~3u) || !sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	dpl = SW_DESC_DPL(&d);
	if (!SW_DESC_S(&d) || !(SW_DESC_TYPE(&d) & SW_TYPE_CODE) ||
	    ((SW_DESC_TYPE(&d) & SW_TYPE_C) ? dpl > rpl : dpl != rpl))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, &cpu->st.seg[S_CS]);
}

static void load_ss(struct sw_cpu *cpu, uint16_t sel, unsigned cpl)
{
	struct sw_desc d;

	if (!(sel & ~3u) || !sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if ((sel & 3) != cpl || !SW_DESC_S(&d) || (SW_DESC_TYPE(&d) & SW_TYPE_CODE) ||
	    !(SW_DESC_TYPE(&d) & SW_TYPE_W) || SW_DESC_DPL(&d) != cpl)
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_SS, sw_sel_err(sel, 0));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, &cpu->st.seg[S_SS]);
}

static void load_data(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel, unsigned cpl)
{
	unsigned type;
	struct sw_desc d;

	if (!(sel & ~3u)) {
		sw_seg_set_null(&cpu->st.seg[seg], sel, 0);
		return;
	}
	if (!sw_desc_fetch(cpu, sel, &d, false))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	type = SW_DESC_TYPE(&d);
	if (!SW_DESC_S(&d) || ((type & SW_TYPE_CODE) && !(type & SW_TYPE_R)))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if ((!(type & SW_TYPE_CODE) || !(type & SW_TYPE_C)) &&
	    ((sel & 3) > SW_DESC_DPL(&d) || cpl > SW_DESC_DPL(&d)))
		sw_raise_err(cpu, X86_TS, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	sw_desc_set_accessed(cpu, &d);
	sw_desc_to_seg(&d, sel, &cpu->st.seg[seg]);
}

/* ---- the switch ---- */

/*
 * Switch to the task whose TSS descriptor @nd (selector @nsel) was
 * fetched and checked by the caller (type, busy bit as @why needs,
 * presence). @ret is the EIP saved for the old task. Returns the new
 * task's TSS width (4 or 2) for an error code push.
 */
static unsigned switch_to(struct sw_cpu *cpu, uint16_t nsel, struct sw_desc *nd,
			  enum sw_task_why why, uint64_t ret, uint32_t ext)
{
	struct x86_state *st = &cpu->st;
	unsigned ntype = SW_DESC_TYPE(nd), otype = SEG_ATTR_TYPE(st->tr.attr);
	const struct tss_layout *nl = is_tss32(ntype) ? &tss32 : &tss16;
	const struct tss_layout *ol = is_tss32(otype) ? &tss32 : &tss16;
	uint64_t nbase = sw_desc_base(nd), obase = st->tr.base;
	uint32_t nlimit = sw_desc_limit(nd);
	uint8_t nt[0x68], ot[0x68];
	uint16_t sels[S_NR] = { 0 }, ldt;
	uint32_t fl, eip, cr3 = 0;
	struct sw_desc od;
	bool nested = why == SW_TASK_CALL || why == SW_TASK_INT;

	if (nlimit < nl->min_limit)
		sw_raise_err(cpu, X86_TS, sw_sel_err(nsel, ext));
	/* The current TSS must be one too, with room for what is saved there. */
	if ((st->tr.attr & SEG_ATTR_UNUSABLE) ||
	    !(is_tss32(otype) || otype == SW_SYS_TSS16 || otype == SW_SYS_TSS16_BUSY) ||
	    st->tr.limit < ol->dyn_end - 1)
		sw_raise_err(cpu, X86_TS, sw_sel_err(st->tr.sel, ext));

	/* Everything that can fault in the old task's context, changing nothing. */
	sw_read_lin_buf(cpu, nbase & 0xffffffffu, nt, nl->min_limit + 1, SW_ACC_READ | SW_ACC_SYS);
	sw_read_lin_buf(cpu, obase & 0xffffffffu, ot, ol->dyn_end, SW_ACC_READ | SW_ACC_SYS);
	sw_probe_write_lin(cpu, (obase + ol->ip) & 0xffffffffu, ol->dyn_end - ol->ip,
			   SW_ACC_WRITE | SW_ACC_SYS);
	if (nested)
		sw_probe_write_lin(cpu, nbase & 0xffffffffu, 2, SW_ACC_WRITE | SW_ACC_SYS);
	if (why == SW_TASK_JMP || why == SW_TASK_IRET) {
		/* The old descriptor's busy bit is cleared: it must be reachable. */
		if ((st->tr.sel & 4) || !sw_desc_fetch(cpu, st->tr.sel, &od, false))
			sw_raise_err(cpu, X86_TS, sw_sel_err(st->tr.sel, ext));
		sw_probe_write_lin(cpu, od.la + 5, 1, SW_ACC_WRITE | SW_ACC_SYS);
	}
	sw_probe_write_lin(cpu, nd->la + 5, 1, SW_ACC_WRITE | SW_ACC_SYS);

	/* ---- commit: the old task's state goes to its TSS ---- */
	fl = (uint32_t)st->rflags;
	if (why == SW_TASK_IRET)
		fl &= ~X86_RFLAGS_NT;
	put_le(ot, ol->ip, (uint32_t)ret, ol->width);
	put_le(ot, ol->flags, fl, ol->width);
	for (unsigned i = 0; i < 8; i++)
		put_le(ot, ol->gpr + i * ol->width, (uint32_t)st->gpr[i], ol->width);
	for (unsigned i = 0; i < ol->nr_seg; i++)
		put_le(ot, ol->seg + i * ol->seg_step, st->seg[i].sel, 2);
	sw_write_lin_buf(cpu, (obase + ol->ip) & 0xffffffffu, ot + ol->ip, ol->dyn_end - ol->ip,
			 SW_ACC_WRITE | SW_ACC_SYS);
	if (why == SW_TASK_JMP || why == SW_TASK_IRET)
		set_busy(cpu, od.la, false);
	if (nested) {
		put_le(nt, 0, st->tr.sel, 2);
		sw_write_lin(cpu, nbase & 0xffffffffu, st->tr.sel, 2, SW_ACC_WRITE | SW_ACC_SYS);
	}
	if (why != SW_TASK_IRET)
		set_busy(cpu, nd->la, true);

	/* ---- the new task's state ---- */
	nd->hi |= 0x200;
	sw_desc_to_seg(nd, nsel, &st->tr);
	st->cr0 |= X86_CR0_TS;
	eip = get_le(nt, nl->ip, nl->width);
	fl = get_le(nt, nl->flags, nl->width);
	if (nl->cr3)
		cr3 = get_le(nt, nl->cr3, 4);
	for (unsigned i = 0; i < 8; i++) {
		uint32_t v = get_le(nt, nl->gpr + i * nl->width, nl->width);

		/* A 16-bit TSS has the low halves only: the upper ones stay. */
		st->gpr[i] = nl->width == 4 ? v : (st->gpr[i] & ~0xffffull) | v;
	}
	for (unsigned i = 0; i < nl->nr_seg; i++)
		sels[i] = get_le(nt, nl->seg + i * nl->seg_step, 2);
	ldt = get_le(nt, nl->ldt, 2);
	if (nl->width == 4)
		st->rflags = (fl & 0x3f7fd5) | X86_RFLAGS_FIXED;
	else
		st->rflags = (st->rflags & ~0xffffull) | (fl & 0x7fd5) | X86_RFLAGS_FIXED;
	if (nested)
		st->rflags |= X86_RFLAGS_NT;
	cpu->next_rip = eip;
	st->rip = eip;
	/* CR3 is loaded when paging is on (a 16-bit TSS has none). */
	if (nl->cr3 && (st->cr0 & X86_CR0_PG) && cr3 != st->cr3) {
		st->cr3 = cr3;
		sw_mmu_cr3_written(cpu);
	}

	/*
	 * Selectors first, so that a fault below shows the new task's;
	 * the hidden parts are loaded one by one with the checks.
	 */
	for (unsigned i = 0; i < S_NR; i++)
		st->seg[i].sel = sels[i];
	st->ldt.sel = ldt;
	if (st->rflags & X86_RFLAGS_VM) {
		/* A virtual-8086 task: its segments are real-mode style. */
		load_ldt(cpu, ldt);
		for (unsigned i = 0; i < S_NR; i++)
			sw_load_seg_real(cpu, (enum x86_sreg)i, sels[i]);
		cpu->next_rip = st->rip = eip & 0xffff;
		return nl->width;
	}
	load_ldt(cpu, ldt);
	load_cs(cpu, sels[S_CS]);
	load_ss(cpu, sels[S_SS], sels[S_CS] & 3);
	load_data(cpu, S_DS, sels[S_DS], sels[S_CS] & 3);
	load_data(cpu, S_ES, sels[S_ES], sels[S_CS] & 3);
	load_data(cpu, S_FS, sels[S_FS], sels[S_CS] & 3);
	load_data(cpu, S_GS, sels[S_GS], sels[S_CS] & 3);
	if (eip > st->seg[S_CS].limit)
		sw_raise_err(cpu, X86_GP, ext);
	return nl->width;
}

/*
 * The TSS a task gate or JMP/CALL names: in the GDT, an available TSS
 * for JMP/CALL/INT, present. @gp_vec is the vector for a wrong selector
 * or type (#GP for gates and far transfers, #TS for IRET's back link).
 */
static void fetch_tss(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d, bool want_busy,
		      unsigned gp_vec, uint32_t ext)
{
	unsigned type;

	if ((sel & 4) || !(sel & ~3u) || !sw_desc_fetch(cpu, sel, d, false))
		sw_raise_err(cpu, gp_vec, sw_sel_err(sel, ext));
	type = SW_DESC_TYPE(d);
	if (SW_DESC_S(d) ||
	    (want_busy ? type != SW_SYS_TSS32_BUSY && type != SW_SYS_TSS16_BUSY :
			 type != SW_SYS_TSS32 && type != SW_SYS_TSS16))
		sw_raise_err(cpu, gp_vec, sw_sel_err(sel, ext));
	if (!SW_DESC_P(d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, ext));
}

void sw_task_far(struct sw_cpu *cpu, uint16_t sel, const struct sw_desc *d, bool is_call)
{
	unsigned cpl = sw_cpl(cpu);
	struct sw_desc tss = *d;
	uint16_t tsel = sel;

	/* JMP/CALL: CPL and RPL must not exceed the DPL of the gate or TSS named. */
	if (SW_DESC_DPL(d) < cpl || SW_DESC_DPL(d) < (sel & 3u))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (SW_DESC_TYPE(d) == SW_SYS_TASK) {
		if (!SW_DESC_P(d))
			sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
		tsel = sw_gate_sel(d);
		fetch_tss(cpu, tsel, &tss, false, X86_GP, 0);
	} else {
		/* Straight to a TSS: the busy check is the caller's type switch (#GP). */
		if (!SW_DESC_P(d))
			sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	}
	switch_to(cpu, tsel, &tss, is_call ? SW_TASK_CALL : SW_TASK_JMP, cpu->next_rip, 0);
}

void sw_task_iret(struct sw_cpu *cpu)
{
	struct sw_desc tss;
	uint16_t link;
	uint64_t tr_base = cpu->st.tr.base;

	/* The back link: the first word of the current TSS. */
	if (cpu->st.tr.attr & SEG_ATTR_UNUSABLE)
		sw_raise_err(cpu, X86_TS, 0);
	link = sw_read_lin(cpu, tr_base & 0xffffffffu, 2, SW_ACC_READ | SW_ACC_SYS);
	fetch_tss(cpu, link, &tss, true, X86_TS, 0);
	switch_to(cpu, link, &tss, SW_TASK_IRET, cpu->next_rip, 0);
}

void sw_task_gate_event(struct sw_cpu *cpu, const struct sw_desc *gate, bool push_err,
			uint32_t err, uint64_t ret, uint32_t ext)
{
	uint16_t tsel = sw_gate_sel(gate);
	struct sw_desc tss;
	struct sw_stack stk;
	unsigned width;

	fetch_tss(cpu, tsel, &tss, false, X86_GP, ext);
	width = switch_to(cpu, tsel, &tss, SW_TASK_INT, ret, ext);
	if (push_err) {
		/* On the new task's stack: a fault here is the new task's. */
		sw_stack_current(cpu, &stk);
		stk.err = ext;
		sw_stack_push(cpu, &stk, err, width);
		sw_stack_commit(cpu, &stk);
	}
}
