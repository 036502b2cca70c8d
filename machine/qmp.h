/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_QMP_H
#define TANDEM_MACHINE_QMP_H
/*
 * The control socket: QEMU's QMP protocol (greeting, qmp_capabilities,
 * commands, events) on a Unix or TCP socket, served by the main thread's
 * GLib loop. The commands are the monitor's (machine/monitor.h).
 *
 *   -qmp unix:PATH,server[=on],wait=off     -qmp tcp:HOST:PORT,server,wait=off
 *
 * wait=on (QEMU's default for a server) holds the start until one client
 * connects. Several clients may be connected; each does its own
 * capabilities negotiation and all hear the events.
 */
#include <stddef.h>

struct vm;

/* Parse @spec, bind and listen: 0, or -errno with one line in @err. */
int qmp_open(struct vm *vm, const char *spec, char *err, size_t errlen);
/* Send what is queued (events from vCPU threads) now; main thread. */
void qmp_flush(struct vm *vm);
void qmp_close(struct vm *vm);

/* For tests: check @spec's syntax only (0 or -EINVAL with why in @err). */
int qmp_parse_spec(const char *spec, char **path, char **host, unsigned *port, int *wait,
		   char *err, size_t errlen);

#endif
