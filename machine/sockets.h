/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_SOCKETS_H
#define TANDEM_MACHINE_SOCKETS_H
/*
 * Listening sockets for tandem's servers (QMP, the GDB stub). A stale Unix
 * socket from an earlier run is replaced; any other file at the path is
 * not. Both return the listening fd (close-on-exec), or -errno with one
 * line in @err that starts with @who ("-qmp", "-gdb").
 */
#include <stddef.h>

int sock_listen_unix(const char *who, const char *path, int backlog, char *err, size_t errlen);
/* @host "" listens on every address. */
int sock_listen_tcp(const char *who, const char *host, unsigned port, int backlog, char *err,
		    size_t errlen);

#endif
