/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TIMER_H
#define TANDEM_TIMER_H
/*
 * Guest time and device timers. vm_clock_ns() is the guest's notion of
 * time (the host monotonic clock since VM start). Timer callbacks run on
 * the event-loop thread with vm->lock held.
 */
#include <stdint.h>

struct vm;
struct vm_timer;

uint64_t vm_clock_ns(struct vm *vm);

struct vm_timer *vm_timer_new(struct vm *vm, void (*cb)(void *opaque), void *opaque);
/* Arm (or re-arm) for an absolute vm_clock_ns() deadline. */
void vm_timer_mod(struct vm_timer *t, uint64_t deadline_ns);
void vm_timer_del(struct vm_timer *t);
void vm_timer_free(struct vm_timer *t);

/*
 * Manual clock: from now on vm_clock_ns() returns what was last set here
 * and timers fire only from vm_timers_run(). Unit tests use it; so will
 * the deterministic (instruction-counted) mode.
 */
void vm_clock_set_manual(struct vm *vm, uint64_t ns);
/*
 * A restored snapshot: vm_clock_ns() goes on from @ns (the clock when it
 * was taken). Timers keep their absolute deadlines; the devices that own
 * them re-arm from their restored state.
 */
void vm_clock_restore(struct vm *vm, uint64_t ns);
/* Run the callbacks of expired timers now (takes vm->lock). */
void vm_timers_run(struct vm *vm);
/* Event-loop integration (vm.c): attach the timer source to the main loop. */
int vm_timers_attach(struct vm *vm);
void vm_timers_free(struct vm *vm);

#endif
