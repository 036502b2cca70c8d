/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_VMCTL_H
#define TANDEM_MACHINE_VMCTL_H
/*
 * Control of a running VM from outside its vCPU threads (the monitor, QMP,
 * later the GDB stub): pause and resume all vCPUs, run a function on one
 * vCPU's thread between two runs (where get_state()/set_state() are safe
 * on every engine), and the events a control client hears about.
 *
 * Every vCPU thread calls vmctl_point() between runs; that is where it
 * parks while the VM is paused and where posted calls run. Callers of
 * vm_pause()/vcpu_call() are never vCPU threads (they would wait on
 * themselves); they are the main thread's GLib callbacks.
 */
#include <stdbool.h>

struct vm;
struct vcpu;

/* QMP's events, also printed by the human monitor. */
enum vm_event {
	VM_EVENT_STOP,
	VM_EVENT_RESUME,
	VM_EVENT_RESET,
	VM_EVENT_SHUTDOWN,
	VM_EVENT_POWERDOWN,
};
typedef void (*vm_event_fn)(void *opaque, enum vm_event ev, const char *reason);

/* Set up vm->ctl; 0 or -errno. */
int vmctl_init(struct vm *vm);
void vmctl_destroy(struct vm *vm);

/* A vCPU thread, between runs: park while paused, run posted calls. */
void vmctl_point(struct vcpu *vcpu);

/*
 * Stop every vCPU at its next stop and wait until all are parked (or the
 * VM is ending). Returns false when it was already paused.
 */
bool vm_pause(struct vm *vm);
/*
 * The debugger's all-stop, from any thread (a vCPU that hit a breakpoint):
 * pause without waiting and without an event; the main thread then calls
 * vm_wait_parked().
 */
void vm_pause_request(struct vm *vm);
/* Main thread: wait (5 s at most) until every vCPU is parked, while paused. */
void vm_wait_parked(struct vm *vm);
/* Let the vCPUs go on; false when it was not paused. */
bool vm_resume(struct vm *vm);
/*
 * Let only the vCPUs with @run[i] set go on (@run: nr_vcpus entries; NULL:
 * all); the others stay parked until the next pause and resume. A
 * debugger's scheduler locking (gdb's vCont with actions for some threads).
 */
bool vm_resume_only(struct vm *vm, const bool *run);
/* Let held vCPUs go (a reset must reach every vCPU, see vm.c's park_aps()). */
void vm_release_held(struct vm *vm);
bool vm_paused(struct vm *vm);
/* Paused and every vCPU thread parked (vm_pause() may give up waiting). */
bool vmctl_all_parked(struct vm *vm);
/* -S: paused from the start, before any vCPU thread exists (no event). */
void vm_pause_initial(struct vm *vm);

/*
 * Run @fn(@vcpu, @arg) on @vcpu's thread and wait for it: 0, or -ETIMEDOUT
 * when the thread did not come within @timeout_ms (the call is withdrawn:
 * @fn never runs after this returns), -ESHUTDOWN when the VM is ending.
 */
int vcpu_call(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg,
	      unsigned timeout_ms);

/*
 * The board's power button (the ACPI PM block): @fn presses it. Without
 * one, vm_powerdown() returns -ENODEV.
 */
void vm_set_powerdown_handler(struct vm *vm, int (*fn)(void *opaque), void *opaque);
int vm_powerdown(struct vm *vm);

/*
 * get_state (@set false) or set_state of @vcpu where it is safe: on its own
 * thread once the vCPU threads run (vcpu_call(), 5 s), directly before.
 */
struct x86_state;
int vcpu_state_access(struct vcpu *vcpu, struct x86_state *st, bool set);

/* Listen to events (one listener: the control socket; the monitor prints). */
void vm_set_event_listener(struct vm *vm, vm_event_fn fn, void *opaque);
/* Tell the listener; any thread. @reason may be NULL. */
void vm_event(struct vm *vm, enum vm_event ev, const char *reason);

#endif
