/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_DEBUG_H
#define TANDEM_SW_DEBUG_H
/*
 * The software CPU's side of the debugger (machine/debug.h), debug.c.
 *
 * While a breakpoint, watchpoint or single step is set, the interpreter
 * runs alone (no translated code): it looks at every instruction
 * boundary for breakpoints, and at every data access for watchpoints,
 * so both are exact and guest memory is never written. The translator
 * would need breakpoint-aware block ends and a checked memory path in
 * its inline TLB for the same; a debugged guest does not need speed.
 */
#include <stdbool.h>
#include <stdint.h>

#include "machine/debug.h"

struct sw_cpu;
struct vcpu;

/* Per sw_cpu, set up from vcpu->debug at each sw_run(). */
struct sw_debug {
	bool on;		/* anything set: interpreter only, checks on */
	bool step;		/* single step: one instruction, no interrupts taken */
	bool stepped;		/* the step's instruction (or event) has begun */
	bool watch;		/* watchpoints to check on data accesses */
	bool watch_hit;		/* one matched in the instruction just run */
	struct vcpu_debug_hit hit;
};

/* sw_run() start: read the debugger's settings for this run. */
void sw_debug_begin(struct sw_cpu *cpu);
/*
 * Each instruction boundary while cpu->dbg.on: true when the run must
 * return VCPU_STOP_DEBUG now (the reason is in vcpu->debug_hit).
 */
bool sw_debug_check(struct sw_cpu *cpu);
/* A data access of @len bytes at linear @la (mem.c), while cpu->dbg.watch. */
void sw_debug_access(struct sw_cpu *cpu, uint64_t la, uint64_t len, unsigned acc);
/* accel_ops.set_debug. */
int sw_set_debug(struct vcpu *vcpu);

#endif
