// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Breakpoints, watchpoints and single step on the software CPU
 * (accel/sw/debug.h). Used by the sw engine and by the fallback that runs
 * ring 0 for KVM (fallback.c sets cpu->vcpu to the KVM vCPU, whose
 * settings are the same struct), so a breakpoint hits on either.
 */
#include "accel/sw/cpu.h"
#include "accel/sw/debug.h"

void sw_debug_begin(struct sw_cpu *cpu)
{
	const struct vcpu_debug *d = cpu->vcpu ? &cpu->vcpu->debug : NULL;
	struct sw_debug *s = &cpu->dbg;

	s->on = d && vcpu_debug_active(d);
	s->step = s->on && d->single_step;
	s->stepped = false;
	s->watch = false;
	s->watch_hit = false;
	for (unsigned i = 0; s->on && i < d->nr_hw; i++)
		if (d->hw[i].type != DEBUG_HW_EXEC)
			s->watch = true;
}

static bool hit(struct sw_cpu *cpu, enum vcpu_debug_reason why, uint64_t addr)
{
	cpu->vcpu->debug_hit = (struct vcpu_debug_hit){ .reason = why, .addr = addr };
	return true;
}

bool sw_debug_check(struct sw_cpu *cpu)
{
	const struct vcpu_debug *d = &cpu->vcpu->debug;
	struct sw_debug *s = &cpu->dbg;
	uint64_t la;

	/* A watchpoint reports after the instruction that touched it, as #DB does. */
	if (s->watch_hit) {
		s->watch_hit = false;
		cpu->vcpu->debug_hit = s->hit;
		return true;
	}
	if (s->step) {
		/* A HLT stepped over with interrupts masked would never end: report it. */
		if (s->stepped || cpu->st.halted)
			return hit(cpu, DEBUG_STOP_STEP, 0);
		/*
		 * The stepped instruction itself is not checked for breakpoints,
		 * as RF does for the debug registers: stepping off one works
		 * whether gdb removed it first or not.
		 */
		s->stepped = true;
		return false;
	}
	la = cpu->st.seg[S_CS].base + cpu->st.rip;
	if (!sw_64bit(cpu))
		la &= 0xffffffff;
	for (unsigned i = 0; i < d->nr_bp; i++)
		if (d->bp[i] == la)
			return hit(cpu, DEBUG_STOP_SWBP, la);
	for (unsigned i = 0; i < d->nr_hw; i++)
		if (d->hw[i].type == DEBUG_HW_EXEC && d->hw[i].addr == la)
			return hit(cpu, DEBUG_STOP_HWBP, la);
	return false;
}

void sw_debug_access(struct sw_cpu *cpu, uint64_t la, uint64_t len, unsigned acc)
{
	const struct vcpu_debug *d = &cpu->vcpu->debug;
	struct sw_debug *s = &cpu->dbg;

	if ((acc & SW_ACC_EXEC) || s->watch_hit)
		return;
	for (unsigned i = 0; i < d->nr_hw; i++) {
		const struct vcpu_hw_bp *w = &d->hw[i];

		if (vcpu_watch_matches(w, la, len, acc & SW_ACC_WRITE)) {
			s->watch_hit = true;
			s->hit = (struct vcpu_debug_hit){ .reason = DEBUG_STOP_WATCH,
							  .type = w->type, .addr = w->addr };
			return;
		}
	}
}

int sw_set_debug(struct vcpu *vcpu)
{
	/* Nothing cached depends on it: sw_run() reads vcpu->debug each time. */
	return 0;
}
