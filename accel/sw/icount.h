/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_ACCEL_SW_ICOUNT_H
#define TANDEM_ACCEL_SW_ICOUNT_H
/*
 * Deterministic mode (-icount shift=N): the guest clock is the retired
 * instruction count, 2^N ns per instruction, plus the time skipped while
 * the guest halted (it jumps to the next timer deadline at once). Timers
 * run on the vCPU thread, before the instruction at which they expire;
 * TSC, PIT, RTC, PM timer and LAPIC timer all read that clock, so two
 * runs of the same guest with the same input execute the same instruction
 * sequence and print the same bytes. Serial input is the one thing
 * timing cannot reproduce: -icount rr=record|replay (machine/replay.c).
 *
 * The interpreter calls sw_icount_point() before every instruction. The
 * translator's blocks count their instructions into cpu->icount, and a
 * block is entered only if it ends at or before sw_icount_next() -- the
 * next count at which a point has something to do (a timer deadline, a
 * replay event or checkpoint, the interrupt poll) -- so every such point
 * is still reached in the run loop at its exact count (the last few
 * instructions before it are interpreted). Instructions that C runs
 * inside a block (I/O, MMIO, RDTSC, RDMSR, ...) see cpu->icount and the
 * clock of their own instruction (sw_icount_sync()), so jit=on and
 * jit=off print the same bytes. One vCPU only.
 */
#include <stdbool.h>
#include <stdint.h>

struct sw_cpu;

/*
 * In deterministic mode the run loop looks for interrupts without a hint
 * when the count is a multiple of this (not every N steps: steps are
 * blocks or instructions depending on the engine's choice).
 */
#define SW_ICOUNT_POLL_MASK	0xffffull

/* Before each instruction (the run loop): true when an interrupt may now be pending. */
bool sw_icount_point(struct sw_cpu *cpu);
/* HLT: jump the clock to the next timer deadline; false when none is armed. */
bool sw_icount_warp(struct sw_cpu *cpu);
/* The clock the guest TSC counts from: the host TSC, or the instruction clock. */
uint64_t sw_tsc_base(const struct sw_cpu *cpu);
/*
 * The smallest instruction count >= cpu->icount at which sw_icount_point()
 * must run (UINT64_MAX: none): translated code may retire instructions
 * up to, not including, that count without the run loop.
 */
uint64_t sw_icount_next(const struct sw_cpu *cpu);
/* C runs an instruction of a block at cpu->icount: the clock it reads is that count's. */
void sw_icount_sync(struct sw_cpu *cpu);
/*
 * The vCPU leaves its run loop: the clock is set to cpu->icount's, so that
 * a snapshot or another thread sees the time of the next instruction, not
 * that of the last point (which may be a block's entry).
 */
void sw_icount_leave(struct sw_cpu *cpu);

#endif
