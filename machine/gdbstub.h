/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_GDBSTUB_H
#define TANDEM_MACHINE_GDBSTUB_H
/*
 * The GDB remote stub: gdb's remote serial protocol on a TCP or Unix
 * socket, served by the main thread's GLib loop, one client at a time.
 *
 *   -s                     = -gdb tcp::1234
 *   -gdb tcp:[HOST]:PORT[,arch=auto|x86-64|i386]
 *   -gdb unix:PATH[,server][,arch=...]
 *
 * All-stop: the VM pauses when gdb connects, at every stop it reports,
 * and on Ctrl-C; threads are vCPUs (thread id = vCPU index + 1).
 */
#include <stddef.h>

struct vm;
struct vcpu;

/* Check @spec's syntax only: 0, or -EINVAL with one line in @err. */
int gdb_parse_spec(const char *spec, char *err, size_t errlen);
/* Parse @spec, bind and listen: 0, or -errno with one line in @err. */
int gdb_open(struct vm *vm, const char *spec, char *err, size_t errlen);
void gdb_close(struct vm *vm);

/*
 * @vcpu's engine returned VCPU_STOP_DEBUG (reason in vcpu->debug_hit);
 * on the vCPU's thread. Stops the other vCPUs (all-stop) and has the
 * main thread tell gdb. The vCPU then parks at its next vmctl_point().
 */
void gdb_vcpu_stopped(struct vcpu *vcpu);

#endif
