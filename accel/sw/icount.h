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
 * The interpreter counts every instruction exactly; the translator's
 * blocks do not count yet, so this mode runs the interpreter (jit=off).
 * One vCPU only.
 */
#include <stdbool.h>
#include <stdint.h>

struct sw_cpu;

/* Before each instruction (the run loop): true when an interrupt may now be pending. */
bool sw_icount_point(struct sw_cpu *cpu);
/* HLT: jump the clock to the next timer deadline; false when none is armed. */
bool sw_icount_warp(struct sw_cpu *cpu);
/* The clock the guest TSC counts from: the host TSC, or the instruction clock. */
uint64_t sw_tsc_base(const struct sw_cpu *cpu);

#endif
