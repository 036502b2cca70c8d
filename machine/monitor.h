/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_MONITOR_H
#define TANDEM_MACHINE_MONITOR_H
/*
 * The human monitor's commands (QEMU's HMP spellings), used by QMP's
 * human-monitor-command and by the commands QMP has natively. Main thread
 * only: they wait for vCPU threads (vcpu_call()), never the other way.
 */
#include <glib.h>
#include <stdbool.h>

struct vm;

/* Run one command line; its output is appended to @out. 0, or -EINVAL (said in @out). */
int monitor_command(struct vm *vm, const char *line, GString *out);

/* What QMP's commands share with the monitor. */
const char *monitor_run_state(struct vm *vm);	/* "running", "paused", "shutdown" */
/* The registers of vCPU @idx, as --stats/SIGUSR1 print them: 0 or -errno. */
int monitor_registers(struct vm *vm, unsigned idx, GString *out);

/*
 * Save (@load false) or restore a snapshot with the vCPUs paused around it;
 * they run on afterwards if they ran before, unless @stay_paused (QMP
 * migrate leaves the source stopped, as QEMU does). 0, or -errno with one
 * line in @why.
 */
int monitor_snapshot(struct vm *vm, const char *path, bool load, bool stay_paused, char *why,
		     size_t len);

#endif
