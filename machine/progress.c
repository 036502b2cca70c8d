// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The progress line (machine/progress.h). Drawn as "\r" + text + "erase
 * to end of line" with no newline, so the cursor stays on it; whoever
 * prints on stderr first erases it (progress_clear()), and the next
 * refresh draws it again below what was printed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "accel/accel.h"
#include "machine/progress.h"
#include "machine/timer.h"
#include "machine/vm.h"
#include "machine/vmctl.h"

#define ERASE	"\r\033[K"

static struct {
	pthread_mutex_t lock;		/* drawing and erasing */
	struct vm *vm;
	atomic_bool on;			/* started, and the guest has not printed yet */
	bool shown;			/* a line is on the terminal now (under lock) */
	atomic_uint_least64_t serial_out;
	atomic_bool console_used;	/* something was written to a console (guest or monitor) */
	unsigned source;		/* the GLib timeout, main thread only */
	uint64_t t0_ns, last_ns;
	struct accel_progress last;
} prog = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void write_all(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void erase_locked(void)
{
	if (prog.shown)
		write_all(ERASE, sizeof(ERASE) - 1);
	prog.shown = false;
}

void progress_clear(void)
{
	if (!atomic_load(&prog.on))
		return;
	pthread_mutex_lock(&prog.lock);
	erase_locked();
	pthread_mutex_unlock(&prog.lock);
}

void progress_serial_out(size_t len)
{
	atomic_fetch_add(&prog.serial_out, len);
	atomic_store(&prog.console_used, true);
	/* The first byte: the line goes before the byte is written. */
	if (!atomic_exchange(&prog.on, false))
		return;
	pthread_mutex_lock(&prog.lock);
	erase_locked();
	pthread_mutex_unlock(&prog.lock);
}

static const char *mode_name(const struct x86_state *st)
{
	if (!(st->cr0 & X86_CR0_PE))
		return "real mode";
	if (st->rflags & X86_RFLAGS_VM)
		return "vm86";
	switch (x86_code_bits(st)) {
	case 64:
		return "64-bit";
	case 32:
		return st->efer & X86_EFER_LMA ? "32-bit compat" : "32-bit";
	default:
		return st->efer & X86_EFER_LMA ? "16-bit compat" : "16-bit prot";
	}
}

static void read_state(struct vcpu *vcpu, void *arg)
{
	struct x86_state *st = arg;

	if (vcpu->vm->accel->get_state(vcpu, st))
		st->cr0 = ~0ull;	/* unreadable: said as such */
}

/* "12.3 M", "456 k", "7": @v per second with a unit prefix. */
static void rate(char *buf, size_t len, double v)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.1f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.1f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1f k", v / 1e3);
	else
		snprintf(buf, len, "%.0f ", v);
}

static gboolean on_tick(gpointer data)
{
	struct vm *vm = data;
	struct accel_progress p = { 0 };
	struct x86_state st;
	char line[256], where[96], speed[96], r1[24];
	struct winsize ws;
	uint64_t t = now_ns();
	double dt = (double)(t - prog.last_ns) / 1e9;
	size_t n, cols = 80;

	if (!atomic_load(&prog.on) || vm_should_stop(vm)) {
		prog.source = 0;
		return G_SOURCE_REMOVE;
	}
	if (vm->accel->progress)
		vm->accel->progress(vm, &p);
	/*
	 * vCPU 0's RIP, read on its thread (a kick: the guest does not see
	 * it). Not under -icount: there a kick changes when the run loop
	 * looks for interrupts, and the run must not depend on the host.
	 */
	if (vm->cfg.icount) {
		snprintf(where, sizeof(where), "RIP n/a (-icount)");
	} else if (vm_paused(vm)) {
		snprintf(where, sizeof(where), "paused");
	} else if (vcpu_call(vm->vcpus[0], read_state, &st, 200) || st.cr0 == ~0ull) {
		snprintf(where, sizeof(where), "vCPU 0 busy");
	} else {
		snprintf(where, sizeof(where), "RIP %04x:%llx %s CPL%u", st.seg[S_CS].sel,
			 (unsigned long long)st.rip, mode_name(&st),
			 (st.cr0 & X86_CR0_PE) && !(st.rflags & X86_RFLAGS_VM) ?
			 st.seg[S_CS].sel & 3 : 0);
	}
	if (dt <= 0)
		dt = 1;
	/* What the engine counts: instructions (sw, kvm's ring 0 on sw), blocks, exits. */
	n = 0;
	speed[0] = 0;
	if (!vm->accel->hw || p.insns)
		n += (size_t)snprintf(speed + n, sizeof(speed) - n, "%.1f MIPS",
				      (double)(p.insns - prog.last.insns) / dt / 1e6);
	if (p.blocks) {
		rate(r1, sizeof(r1), (double)(p.blocks - prog.last.blocks) / dt);
		n += (size_t)snprintf(speed + n, sizeof(speed) - n, " + %sblk/s", r1);
	}
	if (vm->accel->hw && n < sizeof(speed)) {
		rate(r1, sizeof(r1), (double)(p.exits - prog.last.exits) / dt);
		snprintf(speed + n, sizeof(speed) - n, "%s%sexits/s", n ? ", " : "", r1);
	}
	prog.last = p;
	prog.last_ns = t;
	n = (size_t)snprintf(line, sizeof(line), "\rtandem: %s %llus | %s | %s | serial %lluB",
			     vm->accel->name,
			     (unsigned long long)((t - prog.t0_ns) / 1000000000ull), where, speed,
			     (unsigned long long)atomic_load(&prog.serial_out));
	/* One line, never wrapped: a wrapped line cannot be erased with one \r. */
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		cols = ws.ws_col;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	if (n > cols)		/* the \r takes no column */
		n = cols;
	pthread_mutex_lock(&prog.lock);
	if (atomic_load(&prog.on)) {
		write_all(line, n);
		write_all("\033[K", 3);
		prog.shown = true;
	}
	pthread_mutex_unlock(&prog.lock);
	return G_SOURCE_CONTINUE;
}

void progress_start(struct vm *vm)
{
	/* Not over a trace on the same terminal, and never when asked to be quiet. */
	if (tandem_quiet || !isatty(STDERR_FILENO) || vm->trace == stderr || !vm->nr_vcpus)
		return;
	prog.vm = vm;
	prog.t0_ns = prog.last_ns = now_ns();
	memset(&prog.last, 0, sizeof(prog.last));
	if (vm->accel->progress)
		vm->accel->progress(vm, &prog.last);
	/* The console has shown something already (the monitor's banner): no line over it. */
	if (atomic_load(&prog.console_used))
		return;
	atomic_store(&prog.on, true);
	prog.source = g_timeout_add(1000, on_tick, vm);
}

void progress_stop(void)
{
	atomic_store(&prog.on, false);
	pthread_mutex_lock(&prog.lock);
	erase_locked();
	pthread_mutex_unlock(&prog.lock);
	if (prog.source)
		g_source_remove(prog.source);
	prog.source = 0;
}
