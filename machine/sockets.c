// SPDX-License-Identifier: GPL-2.0-or-later
/* Listening sockets for tandem's servers (machine/sockets.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "machine/sockets.h"

int sock_listen_unix(const char *who, const char *path, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A stale socket from an earlier run is replaced; any other file is not. */
	if (!lstat(path, &sb) && S_ISSOCK(sb.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, backlog))
		goto fail;
	return fd;
fail:
	ret = -errno;
	snprintf(err, errlen, "%s: cannot listen on unix:%s: %s", who, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

int sock_listen_tcp(const char *who, const char *host, unsigned port, int backlog, char *err,
		    size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char ports[8];
	int fd = -1, one = 1, rc;

	snprintf(ports, sizeof(ports), "%u", port);
	rc = getaddrinfo(*host ? host : NULL, ports, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: cannot resolve '%s': %s", who, host, gai_strerror(rc));
		return -EINVAL;
	}
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, backlog))
			break;
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot listen on tcp:%s:%u: %s", who, host,
			 port,
			 strerror(rc ? -rc : EADDRNOTAVAIL));
		return rc ? rc : -EADDRNOTAVAIL;
	}
	return fd;
}
