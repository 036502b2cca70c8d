// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exceptions and interrupts for the software CPU: raising (siglongjmp to
 * the loop), delivery through the real-mode IVT, the protected-mode IDT
 * and the long-mode IDT, and the double-fault / triple-fault rules.
 *
 * Delivery is all-or-nothing for registers: the gate, the target code
 * segment and the new stack are checked and the frame is written before
 * CS, SS, RSP, RIP or RFLAGS change, so a fault during delivery leaves
 * the interrupted context intact (the x86 behaviour the #DF logic needs).
 * A task gate in the protected-mode IDT switches tasks (task.c): a fault
 * after that switch has committed belongs to the new task.
 *
 * --trace=int prints one line per event delivered:
 *   int: v=0e #PF exc e=0002 cpl=3 0023:0000000000401000 rsp=00007ffffffde000 cr2=0000000000601000
 *   int: v=20 ext cpl=0 0008:ffffffff81000000 rsp=ffffffff82003f58
 * type is ext (external interrupt), nmi, exc (fault/trap), int (INT n),
 * soft (INT3/INTO), int1 (ICEBP); e= only when an error code is pushed;
 * cr2= only for #PF. Nested faults print
 *   int: v=0d while delivering v=0b -> v=08 (#DF)
 *   int: v=0e while delivering v=08 -> triple fault
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "accel/sw/task.h"

/* ---- raising ---- */

_Noreturn void sw_raise(struct sw_cpu *cpu, unsigned vector)
{
	cpu->exc.vector = vector;
	cpu->exc.has_err = false;
	cpu->exc.err = 0;
	cpu->exc.cr2 = 0;
	siglongjmp(cpu->jmp, 1);
}

_Noreturn void sw_raise_err(struct sw_cpu *cpu, unsigned vector, uint32_t err)
{
	cpu->exc.vector = vector;
	cpu->exc.has_err = true;
	cpu->exc.err = err;
	cpu->exc.cr2 = 0;
	siglongjmp(cpu->jmp, 1);
}

_Noreturn void sw_raise_pf(struct sw_cpu *cpu, uint64_t la, uint32_t err)
{
	cpu->exc.vector = X86_PF;
	cpu->exc.has_err = true;
	cpu->exc.err = err;
	cpu->exc.cr2 = la;
	siglongjmp(cpu->jmp, 1);
}

void sw_note_unsupported(struct sw_cpu *cpu, const char *what)
{
	/* Once per distinct message per process: a guest loop must not flood stderr. */
	static const char *_Atomic seen[8];

	for (unsigned i = 0; i < 8; i++) {
		const char *expect = NULL;

		if (atomic_load(&seen[i]) == what)
			return;
		if (atomic_compare_exchange_strong(&seen[i], &expect, what))
			break;
		if (expect == what)
			return;
	}
	fprintf(stderr, "tandem: sw: unsupported: %s at %04x:%#" PRIx64 " (raising #GP)\n", what,
		cpu->st.seg[S_CS].sel, cpu->st.rip);
}

/* ---- tracing ---- */

static const char *const ev_names[] = {
	[SW_EV_EXT_INT] = "external interrupt", [SW_EV_NMI] = "NMI",
	[SW_EV_EXCEPTION] = "exception", [SW_EV_SOFT_INT] = "INT n",
	[SW_EV_SOFT_EXC] = "INT3/INTO", [SW_EV_PRIV_SOFT] = "INT1",
};

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP",
	"#SS", "#GP", "#PF", "", "#MF", "#AC", "#MC", "#XM",
};

/* Events delivered by all vCPUs: QEMU's running count at the start of each line. */
static atomic_uint event_count;

/*
 * One line per event, in QEMU's -d int layout (vector, error code, INT
 * instruction or not, CPL, CS:RIP, linear pc, SS:RSP, then CR2 for #PF
 * or EAX) so that tools and eyes used to it read it; the vCPU first, the
 * kind and name last. e= is 0 where no error code is pushed.
 */
static void trace_event(struct sw_cpu *cpu, unsigned vector, enum sw_event_type type,
			bool push_err, uint32_t err)
{
	const struct x86_state *st = &cpu->st;
	const char *name = type == SW_EV_EXCEPTION && vector < 32 && exc_names[vector] ?
			   exc_names[vector] : "";
	bool soft = type == SW_EV_SOFT_INT || type == SW_EV_SOFT_EXC || type == SW_EV_PRIV_SOFT;
	char extra[40];

	if (type == SW_EV_EXCEPTION && vector == X86_PF)
		snprintf(extra, sizeof(extra), "CR2=%016" PRIx64, st->cr2);
	else
		snprintf(extra, sizeof(extra), "EAX=%016" PRIx64, st->gpr[R_AX]);
	vm_trace(cpu->vm, TRACE_INT, "CPU%u %6u: v=%02x e=%04x i=%d cpl=%u IP=%04x:%016" PRIx64
		 " pc=%016" PRIx64 " SP=%04x:%016" PRIx64 " %s (%s%s%s)\n",
		 cpu->vcpu ? cpu->vcpu->id : 0, atomic_fetch_add(&event_count, 1), vector,
		 push_err ? err & 0xffff : 0, soft, sw_cpl(cpu), st->seg[S_CS].sel, st->rip,
		 st->seg[S_CS].base + st->rip, st->seg[S_SS].sel, st->gpr[R_SP], extra, name,
		 *name ? " " : "", ev_names[type]);
}

/* ---- delivery ---- */

static bool is_soft(enum sw_event_type type)
{
	return type == SW_EV_SOFT_INT || type == SW_EV_SOFT_EXC;
}

/* Fault-class exceptions: the pushed RFLAGS image has RF set (no insn breakpoints here). */
static bool is_fault(unsigned vector, enum sw_event_type type)
{
	if (type != SW_EV_EXCEPTION)
		return false;
	switch (vector) {
	case X86_DE: case X86_BR: case X86_UD: case X86_NM: case X86_TS: case X86_NP:
	case X86_SS: case X86_GP: case X86_PF: case X86_MF: case X86_AC: case X86_XM:
		return true;
	}
	return false;
}

/* Leave the handler's address in both places the loop may commit from. */
static void set_rip(struct sw_cpu *cpu, uint64_t rip)
{
	cpu->st.rip = rip;
	cpu->next_rip = rip;
}

static void deliver_real(struct sw_cpu *cpu, unsigned vector, uint64_t ret)
{
	struct sw_stack stk;
	uint32_t ent;

	/* The IVT is limited by IDTR too; real mode pushes no error codes. */
	if (vector * 4u + 3 > cpu->st.idt.limit)
		sw_raise_err(cpu, X86_GP, vector * 8u + 2);
	ent = sw_read_lin(cpu, (cpu->st.idt.base + vector * 4u) & 0xffffffffu, 4,
			  SW_ACC_READ | SW_ACC_SYS);
	sw_stack_current(cpu, &stk);
	sw_stack_push(cpu, &stk, cpu->st.rflags, 2);
	sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, 2);
	sw_stack_push(cpu, &stk, ret, 2);
	sw_stack_commit(cpu, &stk);
	sw_load_seg_real(cpu, S_CS, ent >> 16);
	cpu->st.rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | X86_RFLAGS_RF);
	set_rip(cpu, ent & 0xffff);
}

/*
 * The gate's target code segment: present code with DPL <= CPL (and
 * 64-bit code in long mode). Errors carry the selector and EXT.
 */
static void gate_target(struct sw_cpu *cpu, uint16_t tsel, uint32_t ext, struct sw_desc *cd)
{
	if (!(tsel & ~3u))
		sw_raise_err(cpu, X86_GP, ext);
	if (!sw_desc_fetch(cpu, tsel, cd, false))
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, ext));
	if (!SW_DESC_S(cd) || !(SW_DESC_TYPE(cd) & SW_TYPE_CODE) ||
	    SW_DESC_DPL(cd) > sw_cpl(cpu))
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, ext));
	if (sw_long_mode(cpu) && (!SW_DESC_L(cd) || SW_DESC_DB(cd)))
		sw_raise_err(cpu, X86_GP, sw_sel_err(tsel, ext));
	if (!SW_DESC_P(cd))
		sw_raise_err(cpu, X86_NP, sw_sel_err(tsel, ext));
}

static void deliver_prot(struct sw_cpu *cpu, unsigned vector, enum sw_event_type type,
			 bool push_err, uint32_t err, uint64_t ret)
{
	uint32_t ext = is_soft(type) ? 0 : 1, idt_err = vector * 8u + 2 + ext;
	unsigned cpl = sw_cpl(cpu), gtype, gsize, new_cpl;
	bool vm86 = sw_vm86(cpu);
	struct sw_desc g, cd;
	struct x86_seg cs;
	struct sw_stack stk;
	uint64_t ip, fl;

	/* INT n in virtual-8086 mode is IOPL-sensitive (there is no CR4.VME). */
	if (vm86 && type == SW_EV_SOFT_INT && ((cpu->st.rflags >> 12) & 3) < 3)
		sw_gp0(cpu);
	if (vector * 8u + 7 > cpu->st.idt.limit)
		sw_raise_err(cpu, X86_GP, idt_err);
	{
		uint64_t v = sw_read_lin(cpu, (cpu->st.idt.base + vector * 8u) & 0xffffffffu, 8,
					 SW_ACC_READ | SW_ACC_SYS);

		g.lo = (uint32_t)v;
		g.hi = (uint32_t)(v >> 32);
		g.hi2 = g.hi3 = 0;
	}
	gtype = SW_DESC_TYPE(&g);
	if (SW_DESC_S(&g) || !(gtype == SW_SYS_TASK || gtype == SW_SYS_INT16 ||
			       gtype == SW_SYS_TRAP16 || gtype == SW_SYS_INT32 ||
			       gtype == SW_SYS_TRAP32))
		sw_raise_err(cpu, X86_GP, idt_err);
	if (is_soft(type) && SW_DESC_DPL(&g) < cpl)
		sw_raise_err(cpu, X86_GP, idt_err);
	if (!SW_DESC_P(&g))
		sw_raise_err(cpu, X86_NP, idt_err);
	if (gtype == SW_SYS_TASK) {
		/* The new task's EFLAGS come from its TSS: IF and TF are not cleared. */
		sw_task_gate_event(cpu, &g, push_err, err, ret, ext);
		set_rip(cpu, cpu->next_rip);
		return;
	}
	gate_target(cpu, sw_gate_sel(&g), ext, &cd);
	gsize = gtype >= SW_SYS_INT32 ? 4 : 2;
	ip = sw_gate_offset(&g, false);
	if (gsize == 2)
		ip &= 0xffff;
	new_cpl = (SW_DESC_TYPE(&cd) & SW_TYPE_C) ? cpl : SW_DESC_DPL(&cd);
	/* Virtual-8086 mode may only interrupt to a ring-0 non-conforming handler. */
	if (vm86 && new_cpl != 0)
		sw_raise_err(cpu, X86_GP, sw_sel_err(sw_gate_sel(&g), ext));
	sw_desc_to_seg(&cd, (sw_gate_sel(&g) & ~3u) | new_cpl, &cs);
	if (ip > cs.limit)
		sw_raise_err(cpu, X86_GP, ext);

	fl = cpu->st.rflags | (is_fault(vector, type) ? X86_RFLAGS_RF : 0);
	if (new_cpl < cpl) {
		sw_inner_stack(cpu, new_cpl, 0, ext, &stk);
		if (vm86) {
			sw_stack_push(cpu, &stk, cpu->st.seg[S_GS].sel, gsize);
			sw_stack_push(cpu, &stk, cpu->st.seg[S_FS].sel, gsize);
			sw_stack_push(cpu, &stk, cpu->st.seg[S_DS].sel, gsize);
			sw_stack_push(cpu, &stk, cpu->st.seg[S_ES].sel, gsize);
		}
		sw_stack_push(cpu, &stk, cpu->st.seg[S_SS].sel, gsize);
		sw_stack_push(cpu, &stk, cpu->st.gpr[R_SP], gsize);
	} else {
		sw_stack_current(cpu, &stk);
	}
	sw_stack_push(cpu, &stk, fl, gsize);
	sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, gsize);
	sw_stack_push(cpu, &stk, ret, gsize);
	if (push_err)
		sw_stack_push(cpu, &stk, err, gsize);
	sw_desc_set_accessed(cpu, &cd);

	/* Nothing can fault from here on. */
	sw_stack_commit(cpu, &stk);
	cpu->st.seg[S_CS] = cs;
	if (vm86) {
		sw_seg_set_null(&cpu->st.seg[S_ES], 0, 0);
		sw_seg_set_null(&cpu->st.seg[S_DS], 0, 0);
		sw_seg_set_null(&cpu->st.seg[S_FS], 0, 0);
		sw_seg_set_null(&cpu->st.seg[S_GS], 0, 0);
	}
	cpu->st.rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (gtype == SW_SYS_INT16 || gtype == SW_SYS_INT32)
		cpu->st.rflags &= ~X86_RFLAGS_IF;
	set_rip(cpu, ip);
}

static void deliver_long(struct sw_cpu *cpu, unsigned vector, enum sw_event_type type,
			 bool push_err, uint32_t err, uint64_t ret)
{
	uint32_t ext = is_soft(type) ? 0 : 1, idt_err = vector * 8u + 2 + ext;
	unsigned cpl = sw_cpl(cpu), gtype, new_cpl, ist;
	struct sw_desc g, cd;
	struct x86_seg cs;
	struct sw_stack stk;
	uint64_t ip, fl, old_rsp = cpu->st.gpr[R_SP];
	uint16_t old_ss = cpu->st.seg[S_SS].sel;

	if (vector * 16u + 15 > cpu->st.idt.limit)
		sw_raise_err(cpu, X86_GP, idt_err);
	{
		uint64_t la = cpu->st.idt.base + vector * 16u;
		uint64_t v0 = sw_read_lin(cpu, la, 8, SW_ACC_READ | SW_ACC_SYS);
		uint64_t v1 = sw_read_lin(cpu, la + 8, 8, SW_ACC_READ | SW_ACC_SYS);

		g.lo = (uint32_t)v0;
		g.hi = (uint32_t)(v0 >> 32);
		g.hi2 = (uint32_t)v1;
		g.hi3 = (uint32_t)(v1 >> 32);
	}
	/* Only 64-bit interrupt and trap gates exist in long mode. */
	gtype = SW_DESC_TYPE(&g);
	if (SW_DESC_S(&g) || (gtype != SW_SYS_INT32 && gtype != SW_SYS_TRAP32))
		sw_raise_err(cpu, X86_GP, idt_err);
	if (is_soft(type) && SW_DESC_DPL(&g) < cpl)
		sw_raise_err(cpu, X86_GP, idt_err);
	if (!SW_DESC_P(&g))
		sw_raise_err(cpu, X86_NP, idt_err);
	gate_target(cpu, sw_gate_sel(&g), ext, &cd);
	ip = sw_gate_offset(&g, true);
	if (!sw_canonical(ip))
		sw_raise_err(cpu, X86_GP, ext);
	ist = g.hi & 7;
	new_cpl = (SW_DESC_TYPE(&cd) & SW_TYPE_C) ? cpl : SW_DESC_DPL(&cd);
	sw_desc_to_seg(&cd, (sw_gate_sel(&g) & ~3u) | new_cpl, &cs);

	/* Interrupted compatibility-mode code has a 32-bit stack pointer. */
	if (!sw_64bit(cpu))
		old_rsp &= 0xffffffffu;
	if (new_cpl < cpl || ist) {
		sw_inner_stack(cpu, new_cpl, ist, ext, &stk);
		if (new_cpl == cpl)
			stk.ss = cpu->st.seg[S_SS];	/* IST at the same level keeps SS */
	} else {
		sw_stack_current(cpu, &stk);
		stk.rsp = old_rsp;
		stk.bits = 64;
		stk.lm64 = true;
		stk.acc = new_cpl < 3 ? SW_ACC_SYS : 0;
		stk.err = ext;
	}
	/* The frame is always 16-byte aligned and always has SS:RSP. */
	stk.rsp &= ~0xfull;
	fl = cpu->st.rflags | (is_fault(vector, type) ? X86_RFLAGS_RF : 0);
	sw_stack_push(cpu, &stk, old_ss, 8);
	sw_stack_push(cpu, &stk, old_rsp, 8);
	sw_stack_push(cpu, &stk, fl, 8);
	sw_stack_push(cpu, &stk, cpu->st.seg[S_CS].sel, 8);
	sw_stack_push(cpu, &stk, ret, 8);
	if (push_err)
		sw_stack_push(cpu, &stk, err, 8);
	sw_desc_set_accessed(cpu, &cd);

	sw_stack_commit(cpu, &stk);
	cpu->st.seg[S_CS] = cs;
	cpu->st.rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (gtype == SW_SYS_INT32)
		cpu->st.rflags &= ~X86_RFLAGS_IF;
	set_rip(cpu, ip);
}

void sw_deliver_event(struct sw_cpu *cpu, unsigned vector, enum sw_event_type type,
		      bool has_err, uint32_t err)
{
	/* Faults and interrupts return to rip; INT n, INT3, INTO and INT1 after the insn. */
	uint64_t ret = (is_soft(type) || type == SW_EV_PRIV_SOFT) ? cpu->next_rip : cpu->st.rip;
	bool push_err = has_err && type == SW_EV_EXCEPTION && sw_protected(cpu);

	vector &= 0xff;
	if (vm_tracing(cpu->vm, TRACE_INT))
		trace_event(cpu, vector, type, push_err, err);
	if (!sw_protected(cpu))
		deliver_real(cpu, vector, ret);
	else if (sw_long_mode(cpu))
		deliver_long(cpu, vector, type, push_err, err, ret);
	else
		deliver_prot(cpu, vector, type, push_err, err, ret);
	cpu->st.halted = false;
	cpu->st.int_shadow = false;
}

/* ---- double and triple faults ---- */

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT };

static enum exc_class exc_class(unsigned vector)
{
	switch (vector) {
	case X86_DE: case X86_TS: case X86_NP: case X86_SS: case X86_GP:
		return EXC_CONTRIBUTORY;
	case X86_PF:
		return EXC_PAGE_FAULT;
	}
	return EXC_BENIGN;
}

/* SDM table "Conditions for Generating a Double Fault". */
static bool makes_double_fault(unsigned first, unsigned second)
{
	enum exc_class a = exc_class(first), b = exc_class(second);

	return (a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
	       (a == EXC_PAGE_FAULT && b != EXC_BENIGN);
}

/* Nested faults before giving up: a benign-after-benign chain cannot loop forever. */
#define MAX_NESTED	8

void sw_handle_exception(struct sw_cpu *cpu)
{
	sigjmp_buf outer;
	volatile unsigned vec = cpu->exc.vector, nested = 0;
	volatile bool has_err = cpu->exc.has_err;
	volatile uint32_t err = cpu->exc.err;

	/* CR2 is written when the #PF is recognised, before its delivery starts. */
	if (vec == X86_PF)
		cpu->st.cr2 = cpu->exc.cr2;
	memcpy(outer, cpu->jmp, sizeof(outer));
	cpu->delivering++;
	for (;;) {
		unsigned nv;

		if (!sigsetjmp(cpu->jmp, 0)) {
			sw_deliver_event(cpu, vec, SW_EV_EXCEPTION, has_err, err);
			break;
		}
		/* A fault while delivering @vec: cpu->exc holds it, the state is untouched. */
		nv = cpu->exc.vector;
		if (vec == X86_DF || ++nested >= MAX_NESTED) {
			vm_trace(cpu->vm, TRACE_INT, "CPU%u int: v=%02x while delivering v=%02x -> "
				 "triple fault\n", cpu->vcpu ? cpu->vcpu->id : 0, nv, vec);
			/* Shutdown: the common code dumps the registers. */
			cpu->stop = VCPU_STOP_SHUTDOWN;
			cpu->stop_req = true;
			break;
		}
		if (nv == X86_PF)
			cpu->st.cr2 = cpu->exc.cr2;
		if (makes_double_fault(vec, nv)) {
			vm_trace(cpu->vm, TRACE_INT, "CPU%u int: v=%02x while delivering v=%02x -> "
				 "v=08 (#DF)\n", cpu->vcpu ? cpu->vcpu->id : 0, nv, vec);
			vec = X86_DF;
			has_err = true;
			err = 0;
		} else {
			vec = nv;
			has_err = cpu->exc.has_err;
			err = cpu->exc.err;
		}
	}
	cpu->delivering--;
	memcpy(cpu->jmp, outer, sizeof(outer));
}
