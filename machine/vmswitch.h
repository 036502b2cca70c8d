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

/*
 * --accel=auto switches by itself where the engine it chose turns out
 * slow for what the guest runs: on a host whose hardware engine runs the
 * guest's ring 0 on the software CPU anyway (kvm_pvm), a ring-0-heavy
 * phase is faster on sw alone, and a ring-3-heavy one back on the
 * hardware engine. Every 10 ms the main loop samples each vCPU's
 * privilege level (accel_ops.cpl_hint); over a window (1 s) it decides:
 *   on the hardware engine: >= 80% of the busy samples in ring 0 -> sw
 *   on sw, having left the hardware engine by itself: >= 80% in ring 3
 *   -> back
 * with the vCPUs busy in at least half of the samples (idle decides
 * nothing). Hysteresis: the two conditions exclude each other, and after
 * a switch the next decision waits a dwell time, 2 s, doubled (up to 60 s)
 * for every switch that comes less than 10 s after the one before, so a
 * guest that alternates fast stays where it is. A switch made by hand
 * (QMP, HMP, Ctrl-A s) ends the automatic ones. Each one says why in a
 * line (vm_info(): -q silences it) and --stats counts them.
 */
#include <stdbool.h>
#include <stdio.h>

/*
 * --accel=auto,switch=on|off: take switch= out of *@opts (the engine never
 * sees it; *@opts may point to a static buffer afterwards). Only when
 * @accel is "auto"; otherwise nothing changes and an engine refuses the
 * option as unknown. 0, or -EINVAL with one line in @why.
 */
int vm_autoswitch_opts(const char *accel, const char **opts, char *why, size_t len);
/* After vm_create(): start sampling if auto switching applies to @vm. */
void vm_autoswitch_start(struct vm *vm);
/* --stats: how many switches were automatic (nothing when none). */
void vm_autoswitch_print_stats(struct vm *vm, FILE *out);

#endif
