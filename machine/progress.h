/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_PROGRESS_H
#define TANDEM_MACHINE_PROGRESS_H
/*
 * The progress line: where stderr is a terminal (and not -q), one line
 * refreshed every second while the guest has printed nothing yet -- the
 * engine, vCPU 0's RIP and mode, MIPS (sw) or exits/s (kvm), serial bytes
 * -- so that a long silent boot shows it is alive. The guest's first
 * serial byte erases it for good, before the byte reaches the terminal.
 *
 * One VM per process: the line is process-wide state, like the terminal.
 */
#include <stddef.h>

struct vm;

/* Main thread, vCPU threads started: show the line from now on where it may be. */
void progress_start(struct vm *vm);
/* Main thread, the VM ended: the line goes. */
void progress_stop(void);
/* Erase the line (it comes back at the next refresh); any thread, before other stderr output. */
void progress_clear(void);
/* The guest wrote @len bytes to a serial back end, or (0) tandem wrote to a console; any thread. */
void progress_serial_out(size_t len);

#endif
