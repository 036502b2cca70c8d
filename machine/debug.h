/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_DEBUG_H
#define TANDEM_MACHINE_DEBUG_H
/*
 * What a debugger (the GDB stub, machine/gdbstub.c) asks of an engine:
 * breakpoints, hardware breakpoints and watchpoints, single step. The
 * stub writes struct vcpu.debug on the vCPU's own thread (vcpu_call())
 * and then calls accel_ops.set_debug(); engines read vcpu->debug from
 * that thread only. A hit makes vcpu_run() return VCPU_STOP_DEBUG with
 * the reason in vcpu->debug_hit.
 *
 * All addresses are linear (segment base + offset), as the debug
 * registers compare them: with flat segments that is what gdb calls a
 * virtual address.
 */
#include <stdbool.h>
#include <stdint.h>

#define VCPU_DEBUG_MAX_BP	64	/* software breakpoints (Z0) */
#define VCPU_DEBUG_MAX_HW	4	/* Z1-Z4: the x86's four debug registers */

enum vcpu_hw_type {
	DEBUG_HW_EXEC,		/* Z1: hardware breakpoint */
	DEBUG_HW_WRITE,		/* Z2: watch */
	DEBUG_HW_READ,		/* Z3: rwatch (exact on sw; x86 hardware has none) */
	DEBUG_HW_ACCESS,	/* Z4: awatch */
};

struct vcpu_debug {
	bool single_step;	/* one instruction, interrupts masked, then stop */
	unsigned nr_bp;
	uint64_t bp[VCPU_DEBUG_MAX_BP];
	unsigned nr_hw;
	struct vcpu_hw_bp {
		uint64_t addr;
		uint64_t len;	/* bytes: 1 for EXEC; 1, 2, 4 or 8 for watchpoints */
		enum vcpu_hw_type type;
	} hw[VCPU_DEBUG_MAX_HW];
};

static inline bool vcpu_debug_active(const struct vcpu_debug *d)
{
	return d->single_step || d->nr_bp || d->nr_hw;
}

enum vcpu_debug_reason {
	DEBUG_STOP_STEP,	/* the single step is done */
	DEBUG_STOP_SWBP,	/* at a breakpoint, before the instruction */
	DEBUG_STOP_HWBP,	/* at a hardware breakpoint, before the instruction */
	DEBUG_STOP_WATCH,	/* after the instruction that touched a watchpoint */
};

struct vcpu_debug_hit {
	enum vcpu_debug_reason reason;
	enum vcpu_hw_type type;	/* DEBUG_STOP_WATCH: which kind matched */
	uint64_t addr;		/* the breakpoint's or watchpoint's address */
};

/* An access of @len bytes at @la against watchpoint @w: overlap, for @write or not. */
static inline bool vcpu_watch_matches(const struct vcpu_hw_bp *w, uint64_t la, uint64_t len,
				      bool write)
{
	if (w->type == DEBUG_HW_EXEC || la + len <= w->addr || w->addr + w->len <= la)
		return false;
	if (w->type == DEBUG_HW_WRITE)
		return write;
	if (w->type == DEBUG_HW_READ)
		return !write;
	return true;
}

#endif
