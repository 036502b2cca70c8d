// SPDX-License-Identifier: GPL-2.0-or-later
/* The instruction-counted clock (accel/sw/icount.h). */
#include <x86intrin.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/icount.h"
#include "machine/replay.h"
#include "machine/timer.h"
#include "machine/vm.h"

static uint64_t now_ns(const struct sw_cpu *cpu)
{
	return (cpu->icount << cpu->vm->cfg.icount_shift) + cpu->icount_bias;
}

bool sw_icount_point(struct sw_cpu *cpu)
{
	struct vm *vm = cpu->vm;
	uint64_t now = now_ns(cpu);
	bool delivered;

	vm_clock_set_manual(vm, now);
	delivered = replay_point(vm, cpu->icount, cpu->st.seg[S_CS].base + cpu->st.rip);
	if (now >= vm_timers_deadline(vm)) {
		vm_timers_run(vm);
		return true;
	}
	/* The poll the run loop makes without a hint, at fixed counts (icount.h). */
	return delivered || !(cpu->icount & SW_ICOUNT_POLL_MASK);
}

bool sw_icount_warp(struct sw_cpu *cpu)
{
	struct vm *vm = cpu->vm;
	uint64_t now = now_ns(cpu), d = vm_timers_deadline(vm);

	if (d == UINT64_MAX)
		return false;
	if (d > now)
		cpu->icount_bias += d - now;
	vm_clock_set_manual(vm, now_ns(cpu));
	vm_timers_run(vm);
	return true;
}

uint64_t sw_tsc_base(const struct sw_cpu *cpu)
{
	/* 1 GHz: one TSC tick per ns of the instruction clock. */
	return cpu->vm && cpu->vm->cfg.icount ? now_ns(cpu) : __rdtsc();
}

uint64_t sw_icount_next(const struct sw_cpu *cpu)
{
	struct vm *vm = cpu->vm;
	unsigned shift = vm->cfg.icount_shift;
	uint64_t c = cpu->icount, d = vm_timers_deadline(vm), next, r;

	/* The next multiple of the poll interval, this count included. */
	next = (c + SW_ICOUNT_POLL_MASK) & ~SW_ICOUNT_POLL_MASK;
	/* The first count whose clock reaches the deadline: (k << shift) + bias >= d. */
	if (d != UINT64_MAX) {
		uint64_t k = d <= cpu->icount_bias ? 0 :
			     (d - cpu->icount_bias + (1ull << shift) - 1) >> shift;

		if (k < c)
			k = c;
		if (k < next)
			next = k;
	}
	r = replay_next(vm, c);
	return r < next ? r : next;
}

void sw_icount_sync(struct sw_cpu *cpu)
{
	vm_clock_set_manual(cpu->vm, now_ns(cpu));
	replay_note(cpu->vm, cpu->icount);
}

void sw_icount_leave(struct sw_cpu *cpu)
{
	vm_clock_set_manual(cpu->vm, now_ns(cpu));
}
