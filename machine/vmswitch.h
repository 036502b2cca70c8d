/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_VMSWITCH_H
#define TANDEM_MACHINE_VMSWITCH_H
/*
 * Moving a running guest to another engine (QMP x-switch-accel, console
 * Ctrl-A s): every vCPU stops at an instruction boundary, its struct
 * x86_state is read from the old engine, the old engine's VM and vCPUs
 * are torn down and the new engine's built over the same guest RAM, and
 * the state goes in. Devices, interrupt controllers, timers and guest RAM
 * belong to the machine, not the engine, so they carry on untouched; the
 * CPU model is the same on every engine (accel_cpuid_init()), and the TSC
 * travels in the state, so the guest sees time run on.
 */
#include <stddef.h>

struct vm;

/*
 * Switch @vm to engine @name ("sw", "kvm", or "other": whichever usable
 * engine is not the current one), with engine options @opts (may be
 * NULL). Main thread only. 0, or -errno with one line in @why; on failure
 * the guest stays on the engine it was on.
 */
int vm_switch_accel(struct vm *vm, const char *name, const char *opts, char *why, size_t len);

#endif
