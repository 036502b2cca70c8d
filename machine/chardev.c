// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Character back ends: "stdio", "file:PATH", "none".
 *
 * Output is written synchronously by the device (under vm->lock). Input is
 * read on the GLib main loop thread into a small buffer and handed to the
 * receiver, under vm->lock, no faster than it says it can take; when the
 * buffer is full we stop watching the fd until chardev_accept_input()
 * drains it. When stdin is a terminal it is put in raw mode (restored on
 * close, at exit and on fatal signals) and QEMU's Ctrl-A escapes apply.
 *
 * Locking: in_buf, in_len, watch and the receiver are only touched with
 * vm->lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/chardev.h"
#include "machine/monitor.h"
#include "machine/progress.h"
#include "machine/vmswitch.h"
#include "machine/vm.h"

#define CHARDEV_INBUF	1024
#define ESCAPE_CHAR	0x01	/* Ctrl-A */

enum chardev_kind {
	CHARDEV_NONE,
	CHARDEV_STDIO,
	CHARDEV_FILE,
};

struct chardev {
	struct vm *vm;
	enum chardev_kind kind;
	int out_fd;		/* -1: output discarded */
	int in_fd;		/* -1: no input */
	char *path;		/* file: the output, opened by chardev_start() */
	bool out_dead;		/* a write failed for good: stop trying */
	bool in_eof;		/* input ended: never watch again */
	bool escapes;		/* Ctrl-A handling (terminal input, or mon:) */
	bool got_escape;
	/*
	 * mon:stdio / -monitor stdio: the input is multiplexed between the
	 * guest and the human monitor (Ctrl-A c switches). Monitor lines run
	 * from an idle callback, outside vm->lock: a command may wait for the
	 * vCPUs, which may need the lock to finish an I/O access.
	 */
	bool mux;
	bool in_monitor;
	bool gated;		/* see chardev_set_gated() */
	GString *mon_line;
	unsigned watch;		/* GSource id, 0 when not watching */

	const struct chardev_receiver *rx;
	void *rx_opaque;

	uint8_t in_buf[CHARDEV_INBUF];
	size_t in_len;
};

/*
 * The terminal state to restore. Kept in globals so that the atexit and
 * signal paths, which have no chardev at hand, can reach it. Only one
 * chardev may own the terminal at a time.
 */
static struct termios tty_saved;
static volatile sig_atomic_t tty_raw;
static bool tty_atexit_done;

static void tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
		tty_raw = 0;
	}
}

/* Fatal-signal path: put the terminal back, then die of the same signal. */
static void tty_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_catch(int sig)
{
	struct sigaction old, sa;

	/* Someone (the main loop) handles this one already: leave it be. */
	if (sigaction(sig, NULL, &old) < 0 || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	sigaction(sig, &sa, NULL);
}

static int tty_make_raw(void)
{
	struct termios t;

	if (tty_raw)
		return -EBUSY;
	if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
		return -errno;
	t = tty_saved;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	/* Keep output processing so a bare "\n" from the guest still returns the carriage. */
	t.c_oflag |= OPOST;
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -errno;
	tty_raw = 1;
	if (!tty_atexit_done) {
		atexit(tty_restore);
		tty_atexit_done = true;
	}
	tty_catch(SIGTERM);
	tty_catch(SIGINT);
	tty_catch(SIGHUP);
	tty_catch(SIGQUIT);
	return 0;
}

static void fd_write_all(struct chardev *cd, int fd, const uint8_t *buf, size_t len)
{
	/*
	 * Anything on the console -- the guest's bytes, the monitor, C-a h --
	 * ends the progress line first (chardev_write() counts the guest's).
	 */
	progress_serial_out(0);
	while (len && !cd->out_dead) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Someone made the fd non-blocking: wait for room. */
				usleep(1000);
				continue;
			}
			cd->out_dead = true;
			return;
		}
		buf += n;
		len -= n;
	}
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (!cd || !len)
		return;
	progress_serial_out(len);	/* counted; the line goes before the guest's first byte */
	if (cd->out_fd < 0)
		return;
	fd_write_all(cd, cd->out_fd, buf, len);
}

static void chardev_print(struct chardev *cd, const char *s)
{
	int fd = cd->out_fd >= 0 ? cd->out_fd : STDERR_FILENO;

	fd_write_all(cd, fd, (const uint8_t *)s, strlen(s));
}

/* Hand buffered input to the device while it has room. vm->lock held. */
static void chardev_deliver(struct chardev *cd)
{
	size_t n, off = 0;

	if (!cd->rx || cd->gated)
		return;
	while (off < cd->in_len) {
		n = cd->rx->can_receive(cd->rx_opaque);
		if (!n)
			break;
		if (n > cd->in_len - off)
			n = cd->in_len - off;
		cd->rx->receive(cd->rx_opaque, cd->in_buf + off, n);
		off += n;
	}
	memmove(cd->in_buf, cd->in_buf + off, cd->in_len - off);
	cd->in_len -= off;
}

static void chardev_help(struct chardev *cd)
{
	chardev_print(cd, "\r\n"
		      "tandem console escapes (Ctrl-A then a key):\r\n"
		      "  C-a h    show this help\r\n"
		      "  C-a x    quit\r\n"
		      "  C-a s    move the guest to the other engine (sw <-> kvm)\r\n");
	if (cd->mux)
		chardev_print(cd, "  C-a c    switch between the console and the monitor\r\n");
	chardev_print(cd, "  C-a C-a  send C-a to the guest\r\n");
}

struct mon_job {
	struct chardev *cd;
	char *line;
};

/* Print with bare newlines made CRLF: the terminal is raw while we run. */
static void chardev_print_text(struct chardev *cd, const char *s)
{
	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		fd_write_all(cd, cd->out_fd >= 0 ? cd->out_fd : STDERR_FILENO,
			     (const uint8_t *)s, (size_t)(nl - s));
		chardev_print(cd, "\r\n");
	}
	chardev_print(cd, s);
}

static gboolean mon_run(gpointer data)
{
	struct mon_job *j = data;
	GString *out = g_string_new(NULL);

	monitor_command(j->cd->vm, j->line, out);
	chardev_print_text(j->cd, out->str);
	if (!vm_should_stop(j->cd->vm) && j->cd->in_monitor)
		chardev_print(j->cd, "(tandem) ");
	g_string_free(out, TRUE);
	g_free(j->line);
	g_free(j);
	return G_SOURCE_REMOVE;
}

/* A byte typed at the monitor: minimal line editing, Enter runs the line. */
static void mon_input(struct chardev *cd, uint8_t c)
{
	if (c == '\r' || c == '\n') {
		struct mon_job *j = g_new0(struct mon_job, 1);

		chardev_print(cd, "\r\n");
		j->cd = cd;
		j->line = g_strdup(cd->mon_line->str);
		g_string_truncate(cd->mon_line, 0);
		g_idle_add(mon_run, j);
	} else if (c == 0x7f || c == 0x08) {
		if (cd->mon_line->len) {
			g_string_truncate(cd->mon_line, cd->mon_line->len - 1);
			chardev_print(cd, "\b \b");
		}
	} else if (c >= 0x20 && c < 0x7f && cd->mon_line->len < 256) {
		char echo[2] = { (char)c, 0 };

		g_string_append_c(cd->mon_line, (char)c);
		chardev_print(cd, echo);
	}
}

static gboolean switch_run(gpointer data)
{
	struct chardev *cd = data;
	char why[512], line[600];

	if (vm_switch_accel(cd->vm, "other", NULL, why, sizeof(why)))
		snprintf(line, sizeof(line), "\r\ntandem: C-a s: %s\r\n", why);
	else
		snprintf(line, sizeof(line), "\r\ntandem: C-a s: the guest now runs on %s\r\n",
			 cd->vm->accel->name);
	chardev_print(cd, line);
	return G_SOURCE_REMOVE;
}

static void mon_enter(struct chardev *cd)
{
	cd->in_monitor = true;
	chardev_print(cd, "\r\ntandem " PACKAGE_VERSION " monitor - type 'help' for more "
		      "information, C-a c for the console\r\n(tandem) ");
}

/* Filter one input byte through the escape state machine; true: keep it. */
static bool chardev_filter(struct chardev *cd, uint8_t c)
{
	if (!cd->escapes)
		return true;
	if (!cd->got_escape) {
		if (c != ESCAPE_CHAR) {
			if (!cd->in_monitor)
				return true;
			mon_input(cd, c);
			return false;
		}
		cd->got_escape = true;
		return false;
	}
	cd->got_escape = false;
	switch (c) {
	case ESCAPE_CHAR:
		return !cd->in_monitor;
	case 'c':
	case 'C':
		if (!cd->mux)
			return false;
		if (cd->in_monitor) {
			cd->in_monitor = false;
			chardev_print(cd, "\r\n");
		} else {
			mon_enter(cd);
		}
		return false;
	case 'x':
	case 'X':
		chardev_print(cd, "\r\ntandem: terminated by C-a x\r\n");
		vm_request_exit(cd->vm, VM_EXIT_USER, 0);
		return false;
	case 's':
	case 'S':
		/* Outside vm->lock (held here): the switch waits for the vCPUs. */
		g_idle_add(switch_run, cd);
		return false;
	case 'h':
	case 'H':
	case '?':
		chardev_help(cd);
		return false;
	default:
		/* Unknown escapes are swallowed, as in QEMU's mux. */
		return false;
	}
}

static gboolean chardev_readable(gint fd, GIOCondition cond, gpointer opaque);

static void chardev_watch(struct chardev *cd)
{
	if (cd->in_fd >= 0 && !cd->in_eof && !cd->watch && cd->in_len < CHARDEV_INBUF)
		cd->watch = g_unix_fd_add(cd->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					  chardev_readable, cd);
}

static gboolean chardev_readable(gint fd, GIOCondition cond, gpointer opaque)
{
	struct chardev *cd = opaque;
	uint8_t tmp[CHARDEV_INBUF];
	gboolean keep = G_SOURCE_CONTINUE;
	ssize_t n, i;

	pthread_mutex_lock(&cd->vm->lock);
	if (cd->in_len >= CHARDEV_INBUF) {
		keep = G_SOURCE_REMOVE;
		goto out;
	}
	/* Only read what fits: the rest waits in the kernel (flow control). */
	n = read(fd, tmp, CHARDEV_INBUF - cd->in_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		goto out;
	if (n <= 0) {
		/* EOF or a dead fd: the guest simply gets no more input. */
		cd->in_eof = true;
		keep = G_SOURCE_REMOVE;
		goto out_deliver;
	}
	for (i = 0; i < n; i++) {
		if (chardev_filter(cd, tmp[i]))
			cd->in_buf[cd->in_len++] = tmp[i];
	}
out_deliver:
	chardev_deliver(cd);
	/* Held for the recorder: a halted vCPU must wake up to release it. */
	if (cd->gated && cd->in_len)
		vm_kick_all(cd->vm);
	if (cd->in_len >= CHARDEV_INBUF)
		keep = G_SOURCE_REMOVE;
out:
	if (keep == G_SOURCE_REMOVE)
		cd->watch = 0;
	pthread_mutex_unlock(&cd->vm->lock);
	return keep;
}

void chardev_set_gated(struct chardev *cd, bool gated)
{
	if (cd)
		cd->gated = gated;
}

size_t chardev_gated_pending(const struct chardev *cd)
{
	return cd ? __atomic_load_n(&cd->in_len, __ATOMIC_RELAXED) : 0;
}

size_t chardev_gated_release(struct chardev *cd, uint8_t *out, size_t max)
{
	size_t n;

	if (!cd || !cd->rx || !cd->in_len)
		return 0;
	n = cd->rx->can_receive(cd->rx_opaque);
	if (n > cd->in_len)
		n = cd->in_len;
	if (n > max)
		n = max;
	if (!n)
		return 0;
	memcpy(out, cd->in_buf, n);
	cd->rx->receive(cd->rx_opaque, cd->in_buf, n);
	memmove(cd->in_buf, cd->in_buf + n, cd->in_len - n);
	cd->in_len -= n;
	chardev_watch(cd);
	return n;
}

void chardev_inject(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (!cd || !cd->rx)
		return;
	cd->in_len = 0;		/* replay: what is typed now is not what ran */
	cd->rx->receive(cd->rx_opaque, buf, len);
	chardev_watch(cd);
}

void chardev_accept_input(struct chardev *cd)
{
	if (!cd)
		return;
	chardev_deliver(cd);
	chardev_watch(cd);
}

void chardev_set_receiver(struct chardev *cd, const struct chardev_receiver *rx, void *opaque)
{
	if (!cd)
		return;
	cd->rx = rx;
	cd->rx_opaque = opaque;
	if (rx)
		chardev_accept_input(cd);
}

static int chardev_open_stdio(struct chardev *cd)
{
	struct sigaction old;
	pid_t fg;
	int flags;

	/* A vanished reader must not kill the VMM with SIGPIPE. */
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	cd->out_fd = STDOUT_FILENO;

	flags = fcntl(STDIN_FILENO, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
		return 0;	/* no usable stdin: output only */
	/*
	 * Our controlling terminal while we run in the background would stop
	 * us (SIGTTIN/SIGTTOU) the moment we read it or change its mode.
	 */
	fg = isatty(STDIN_FILENO) ? tcgetpgrp(STDIN_FILENO) : -1;
	if (fg >= 0 && fg != getpgrp())
		return 0;
	cd->in_fd = STDIN_FILENO;
	/*
	 * A terminal goes raw and gets the escapes; if that fails (or another
	 * chardev owns the terminal) input still works, cooked.
	 */
	if (isatty(STDIN_FILENO) && tty_make_raw() == 0)
		cd->escapes = true;
	return 0;
}

struct chardev *chardev_open(struct vm *vm, const char *spec, char *err, size_t errlen)
{
	struct chardev *cd;
	int ret = 0;

	if (!spec) {
		snprintf(err, errlen, "no character device given");
		return NULL;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cd->vm = vm;
	cd->out_fd = -1;
	cd->in_fd = -1;

	if (!strcmp(spec, "none")) {
		cd->kind = CHARDEV_NONE;
	} else if (!strcmp(spec, "stdio")) {
		cd->kind = CHARDEV_STDIO;
		ret = chardev_open_stdio(cd);
	} else if (!strcmp(spec, "mon:stdio") || !strcmp(spec, "monitor:stdio")) {
		/* monitor:stdio (-monitor stdio): the monitor has the input first. */
		cd->kind = CHARDEV_STDIO;
		ret = chardev_open_stdio(cd);
		cd->mux = true;
		cd->escapes = cd->in_fd >= 0;	/* asked for: on pipes too, as QEMU */
		cd->mon_line = g_string_new(NULL);
		if (spec[1] == 'o' && spec[3] == 'i')
			cd->in_monitor = true;	/* the prompt follows chardev_start() */
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		/* Opened by chardev_start(), once the loaders have read their files. */
		cd->kind = CHARDEV_FILE;
		cd->path = strdup(spec + 5);
		if (!cd->path) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		}
	} else {
		snprintf(err, errlen, "unknown serial back end '%s' (stdio, mon:stdio, file:PATH, "
			 "none)", spec);
		ret = -EINVAL;
	}
	if (ret < 0) {
		free(cd);
		return NULL;
	}

	pthread_mutex_lock(&vm->lock);
	chardev_watch(cd);
	pthread_mutex_unlock(&vm->lock);
	return cd;
}

int chardev_start(struct chardev *cd, char *err, size_t errlen)
{
	int ret;

	if (cd && cd->mux && cd->in_monitor)
		mon_enter(cd);
	if (!cd || cd->kind != CHARDEV_FILE || cd->out_fd >= 0)
		return 0;
	/* Truncated, as QEMU does: a log holds one run. */
	cd->out_fd = open(cd->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cd->out_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", cd->path, strerror(-ret));
		return ret;
	}
	return 0;
}

void chardev_close(struct chardev *cd)
{
	if (!cd)
		return;
	pthread_mutex_lock(&cd->vm->lock);
	if (cd->watch)
		g_source_remove(cd->watch);
	cd->watch = 0;
	cd->rx = NULL;
	pthread_mutex_unlock(&cd->vm->lock);

	if (cd->escapes)
		tty_restore();
	if (cd->kind == CHARDEV_FILE && cd->out_fd >= 0)
		close(cd->out_fd);
	if (cd->mon_line)
		g_string_free(cd->mon_line, TRUE);
	free(cd->path);
	free(cd);
}
