// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM object and the common vCPU loop. The main thread runs the GLib
 * event loop (console input, timers, signals); each vCPU has a thread that
 * calls the engine's vcpu_run() and handles what it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "accel/accel.h"
#include "machine/chardev.h"
#include "machine/cpuid.h"
#include "machine/device.h"
#include "machine/gdbstub.h"
#include "machine/progress.h"
#include "machine/timer.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/qmp.h"
#include "machine/replay.h"
#include "machine/snapshot.h"
#include "machine/symbols.h"

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

bool tandem_quiet;

void vm_info(const char *fmt, ...)
{
	va_list ap;

	if (tandem_quiet)
		return;
	progress_clear();
	va_start(ap, fmt);
	fputs("tandem: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void vm_trace(struct vm *vm, unsigned cls, const char *fmt, ...)
{
	va_list ap;

	if (!vm_tracing(vm, cls))
		return;
	pthread_mutex_lock(&trace_lock);
	va_start(ap, fmt);
	vfprintf(vm->trace, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&trace_lock);
}

void vcpu_kick(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	atomic_store(&vcpu->kick, true);
	pthread_mutex_lock(&vm->halt_lock);
	pthread_cond_broadcast(&vm->halt_cond);
	pthread_mutex_unlock(&vm->halt_lock);
	if (vm->accel)
		vm->accel->vcpu_kick(vcpu);
}

void vm_kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

static const int exit_status[] = {
	[VM_EXIT_NONE] = 0,
	[VM_EXIT_POWEROFF] = 0,
	[VM_EXIT_RESET] = 0,
	[VM_EXIT_SHUTDOWN] = 2,
	[VM_EXIT_ERROR] = 3,
	[VM_EXIT_HALTED] = 4,
	[VM_EXIT_USER] = 0,
	[VM_EXIT_QMP] = 0,
};

void vm_request_exit(struct vm *vm, enum vm_exit_kind kind, int code)
{
	int none = VM_EXIT_NONE;

	if (atomic_compare_exchange_strong(&vm->exit_kind, &none, (int)kind)) {
		vm->exit_code = kind == VM_EXIT_DEBUG_PORT ? code : exit_status[kind];
		vm_event(vm, VM_EVENT_SHUTDOWN, vm_exit_reason(kind));
	}
	vm_kick_all(vm);
	if (vm->mainloop)
		g_main_loop_quit(vm->mainloop);
}

void vm_request_reset(struct vm *vm)
{
	atomic_store(&vm->reset_request, true);
	vm_kick_all(vm);
}

/* QMP's SHUTDOWN "reason" values for each way a VM ends. */
const char *vm_exit_reason(enum vm_exit_kind kind)
{
	switch (kind) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_DEBUG_PORT:
		return "guest-shutdown";
	case VM_EXIT_RESET:
		return "guest-reset";
	case VM_EXIT_SHUTDOWN:
		return "guest-panic";
	case VM_EXIT_USER:
		return "host-signal";
	case VM_EXIT_QMP:
		return "host-qmp-quit";
	default:
		return "host-error";
	}
}

bool vm_should_stop(struct vm *vm)
{
	return atomic_load(&vm->exit_kind) != VM_EXIT_NONE;
}

static uint64_t intr_gen(struct vm *vm)
{
	uint64_t g;

	pthread_mutex_lock(&vm->halt_lock);
	g = vm->intr_gen;
	pthread_mutex_unlock(&vm->halt_lock);
	return g;
}

/*
 * The engine returned HALT: nothing deliverable now. Sleep until the
 * interrupt controller's output changes after @gen (taken before the
 * run, so a change racing with the HLT is never lost), or a kick.
 */
static void vcpu_wait_halted(struct vcpu *vcpu, uint64_t gen)
{
	struct vm *vm = vcpu->vm;
	struct x86_state st;

	/*
	 * cli; hlt with no NMI source can never wake: end the run with a
	 * clear message instead of hanging (QEMU would hang here).
	 */
	if (vm->nr_vcpus == 1 && !vm->accel->get_state(vcpu, &st) &&
	    !(st.rflags & X86_RFLAGS_IF)) {
		fprintf(stderr, "tandem: guest halted with interrupts disabled at rip %#llx; "
			"stopping\n", (unsigned long long)st.rip);
		vm_request_exit(vm, VM_EXIT_HALTED, 0);
		return;
	}
	pthread_mutex_lock(&vm->halt_lock);
	while (vm->intr_gen == gen && !atomic_load(&vcpu->kick) && !vm_should_stop(vm) &&
	       !atomic_load(&vm->reset_request))
		pthread_cond_wait(&vm->halt_cond, &vm->halt_lock);
	pthread_mutex_unlock(&vm->halt_lock);
}

static void dump_vcpu(struct vcpu *vcpu, const char *why)
{
	struct x86_state st;

	progress_clear();
	fprintf(stderr, "tandem: %s (vCPU %u)\n", why, vcpu->id);
	if (!vcpu->vm->accel->get_state(vcpu, &st))
		x86_state_dump(&st, stderr);
}

/* -d cpu_reset: a vCPU (re)starts from @st (reset, INIT, STARTUP): why, then the registers. */
static void trace_cpu_reset(struct vcpu *vcpu, const char *why, const struct x86_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!vm_tracing(vcpu->vm, TRACE_CPU_RESET))
		return;
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	x86_state_dump(st, f);
	fclose(f);
	vm_trace(vcpu->vm, TRACE_CPU_RESET, "CPU%u cpu_reset: %s\n%s", vcpu->id, why, buf);
	free(buf);
}

/* ---- multiprocessor start-up -------------------------------------------- */

/* The state an AP takes at INIT (and keeps while waiting for a SIPI). */
static void ap_init_state(struct x86_state *st)
{
	x86_state_reset(st);
	st->msr.apic_base &= ~(1ull << 8);	/* not the BSP */
}

bool vm_cpu_init(struct vm *vm, unsigned cpu)
{
	struct vcpu *v;

	if (cpu >= vm->nr_vcpus || cpu == 0)
		return false;
	v = vm->vcpus[cpu];
	pthread_mutex_lock(&vm->halt_lock);
	v->init_req = true;
	v->sipi_req = -1;	/* a STARTUP before this INIT is void */
	v->nr_init++;
	pthread_cond_broadcast(&vm->halt_cond);
	pthread_mutex_unlock(&vm->halt_lock);
	vcpu_kick(v);
	return true;
}

bool vm_cpu_sipi(struct vm *vm, unsigned cpu, uint8_t vector)
{
	struct vcpu *v;

	if (cpu >= vm->nr_vcpus)
		return false;
	v = vm->vcpus[cpu];
	pthread_mutex_lock(&vm->halt_lock);
	/* Only a CPU in wait-for-SIPI (or about to be, INIT pending) takes it. */
	if ((v->wait_sipi || v->init_req) && v->sipi_req < 0) {
		v->sipi_req = vector;
		v->nr_sipi++;
		pthread_cond_broadcast(&vm->halt_cond);
	}
	pthread_mutex_unlock(&vm->halt_lock);
	return true;
}

bool vm_cpu_nmi(struct vm *vm, unsigned cpu)
{
	struct vcpu *v;

	if (cpu >= vm->nr_vcpus)
		return false;
	v = vm->vcpus[cpu];
	/* Edge-triggered and not counted: NMIs arriving before the CPU takes one merge. */
	atomic_store(&v->nmi_req, true);
	vcpu_kick(v);
	return true;
}

/*
 * Apply INIT and STARTUP requests on the vCPU's own thread. Returns true
 * while the CPU waits for a SIPI (after sleeping until something
 * changes), false when it may run.
 */
static bool vcpu_mp_step(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct x86_state st;
	bool init, waiting;
	int sipi = -1;

	pthread_mutex_lock(&vm->halt_lock);
	init = vcpu->init_req;
	if (init) {
		vcpu->init_req = false;
		vcpu->wait_sipi = true;
	}
	if (vcpu->wait_sipi && vcpu->sipi_req >= 0) {
		sipi = vcpu->sipi_req;
		vcpu->sipi_req = -1;
		vcpu->wait_sipi = false;
	}
	waiting = vcpu->wait_sipi;
	pthread_mutex_unlock(&vm->halt_lock);

	if (init || sipi >= 0) {
		ap_init_state(&st);
		if (init)
			trace_cpu_reset(vcpu, "INIT", &st);
		if (sipi >= 0) {
			char why[32];

			/* Real mode at VV00:0000, base VV000, as a real CPU starts. */
			st.seg[S_CS].sel = (uint16_t)(sipi << 8);
			st.seg[S_CS].base = (uint64_t)sipi << 12;
			st.rip = 0;
			snprintf(why, sizeof(why), "STARTUP vector %#04x", sipi);
			trace_cpu_reset(vcpu, why, &st);
		}
		if (vm->accel->set_state(vcpu, &st)) {
			snprintf(vcpu->error, sizeof(vcpu->error), "cannot set the state at %s",
				 sipi >= 0 ? "STARTUP" : "INIT");
			dump_vcpu(vcpu, vcpu->error);
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
			return true;
		}
	}
	if (!waiting)
		return false;
	pthread_mutex_lock(&vm->halt_lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vm->halt_cond);
	while (!vcpu->init_req && vcpu->sipi_req < 0 && !atomic_load(&vcpu->kick) &&
	       !vm_should_stop(vm))
		pthread_cond_wait(&vm->halt_cond, &vm->halt_lock);
	vcpu->parked = false;
	pthread_mutex_unlock(&vm->halt_lock);
	return true;
}

/*
 * Reset sends every AP back to wait-for-SIPI and waits until their
 * threads sleep there, so that the board, the memory image and the
 * engines' caches are rebuilt with only the BSP's thread running.
 */
static void park_aps(struct vm *vm)
{
	bool all;

	/* APs a debugger holds (scheduler locking) take the reset too. */
	vm_release_held(vm);
	for (unsigned i = 1; i < vm->nr_vcpus; i++) {
		pthread_mutex_lock(&vm->halt_lock);
		vm->vcpus[i]->init_req = true;
		vm->vcpus[i]->sipi_req = -1;
		pthread_mutex_unlock(&vm->halt_lock);
		vcpu_kick(vm->vcpus[i]);
	}
	pthread_mutex_lock(&vm->halt_lock);
	for (;;) {
		all = true;
		for (unsigned i = 1; i < vm->nr_vcpus; i++)
			all &= vm->vcpus[i]->parked && !vm->vcpus[i]->init_req;
		if (all || vm_should_stop(vm))
			break;
		pthread_cond_wait(&vm->halt_cond, &vm->halt_lock);
	}
	pthread_mutex_unlock(&vm->halt_lock);
}

/* Reset the whole machine: devices, memory image, every vCPU's state (on the BSP's thread). */
static void vm_reset(struct vm *vm)
{
	char err[256];

	park_aps(vm);
	pthread_mutex_lock(&vm->lock);
	device_reset_all(vm);
	pthread_mutex_unlock(&vm->lock);
	if (vm->board_ops->load(vm, err, sizeof(err))) {
		fprintf(stderr, "tandem: reset: %s\n", err);
		vm_request_exit(vm, VM_EXIT_ERROR, 0);
		return;
	}
	trace_cpu_reset(vm->vcpus[0], "reset (the boot state)", &vm->boot);
	vm->accel->set_state(vm->vcpus[0], &vm->boot);
	vm_event(vm, VM_EVENT_RESET, "guest-reset");
}

static void vcpu_handle_reset(struct vm *vm, const char *why)
{
	if (vm->cfg.no_reboot) {
		vm_request_exit(vm, VM_EXIT_RESET, 0);
		return;
	}
	fprintf(stderr, "tandem: %s: rebooting\n", why);
	vm_reset(vm);
}

/*
 * A register dump asked for from outside (SIGUSR1, SIGTERM). Printed by
 * the vCPU's own thread between runs: get_state() is only safe there on
 * every engine (KVM's vCPU ioctls wait for KVM_RUN; the sw CPU's state is
 * its thread's). A kick gets the thread here from anywhere: KVM_RUN
 * returns on the kick signal, the sw CPU checks at block boundaries, HLT
 * waits wake up.
 */
static void vcpu_dump_if_asked(struct vcpu *vcpu)
{
	if (atomic_exchange(&vcpu->dump, false))
		dump_vcpu(vcpu, "register dump on request");
}

/*
 * The watchdog's report, printed by the vCPU's own thread for the same
 * reason as the dumps above. It says and shows; it does not stop the guest.
 */
static void vcpu_report_if_stuck(struct vcpu *vcpu)
{
	uint64_t ns = atomic_exchange(&vcpu->stuck_report, 0);
	struct x86_state st;

	if (!ns)
		return;
	if (vcpu->vm->accel->get_state(vcpu, &st)) {
		fprintf(stderr, "tandem: vCPU %u: no exit for %llu s (state unreadable)\n",
			vcpu->id, (unsigned long long)(ns / 1000000000ull));
		return;
	}
	fprintf(stderr, "tandem: vCPU %u: no exit for %llu s at RIP %#llx (CS %04x), "
		"still running (--watchdog=0 turns this off)\n", vcpu->id,
		(unsigned long long)(ns / 1000000000ull),
		(unsigned long long)(st.seg[S_CS].base + st.rip), st.seg[S_CS].sel);
	x86_state_dump(&st, stderr);
}

/* A reset asked for on an AP's thread is done by the BSP's (vm_reset() parks the APs). */
static void vcpu_reset(struct vcpu *vcpu, const char *why)
{
	struct vm *vm = vcpu->vm;

	if (vcpu->id == 0) {
		vcpu_handle_reset(vm, why);
	} else if (vm->cfg.no_reboot) {
		vm_request_exit(vm, VM_EXIT_RESET, 0);
	} else {
		fprintf(stderr, "tandem: %s on vCPU %u: rebooting\n", why, vcpu->id);
		vm_request_reset(vm);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;

	vcpu->tid = (int)gettid();
	vm_set_current_cpu(vcpu->id);
	while (!vm_should_stop(vm)) {
		uint64_t gen;

		if (vcpu->id == 0 && atomic_exchange(&vm->reset_request, false)) {
			vcpu_handle_reset(vm, "guest reset");
			continue;
		}
		gen = intr_gen(vm);
		atomic_store(&vcpu->kick, false);
		/* After clearing the kick: a request set before it is seen here, a later one kicks. */
		vcpu_dump_if_asked(vcpu);
		vcpu_report_if_stuck(vcpu);
		vmctl_point(vcpu);
		if (vm_should_stop(vm))
			break;
		if (vcpu->id && vcpu_mp_step(vcpu))
			continue;	/* waiting for a STARTUP IPI */
		switch (vm->accel->vcpu_run(vcpu)) {
		case VCPU_STOP_HALT:
			vcpu_wait_halted(vcpu, gen);
			break;
		case VCPU_STOP_SHUTDOWN:
			dump_vcpu(vcpu, "guest triple fault (shutdown)");
			if (vm->cfg.no_reboot)
				vm_request_exit(vm, VM_EXIT_SHUTDOWN, 0);
			else
				vcpu_reset(vcpu, "guest triple fault");
			break;
		case VCPU_STOP_RESET:
			vcpu_reset(vcpu, "guest reset");
			break;
		case VCPU_STOP_ERROR:
			dump_vcpu(vcpu, vcpu->error[0] ? vcpu->error : "engine error");
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
			break;
		case VCPU_STOP_DEBUG:
			gdb_vcpu_stopped(vcpu);	/* all-stop: parks us at vmctl_point() */
			break;
		case VCPU_STOP_KICK:
			break;
		}
	}
	vcpu_dump_if_asked(vcpu);	/* SIGTERM: the state it stopped in */
	return NULL;
}

static void vm_request_dump(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		atomic_store(&vm->vcpus[i]->dump, true);
		vcpu_kick(vm->vcpus[i]);
	}
}

/*
 * The stuck-vCPU watchdog (--watchdog): a vCPU the engine says has made
 * no exit for watchdog_s seconds is reported once, by its own thread
 * after a kick, and again only after it has moved on. Halted vCPUs and
 * time on the software CPU never count (see accel_ops.no_exit_ns).
 */
static gboolean on_watchdog(gpointer data)
{
	struct vm *vm = data;
	uint64_t limit = vm->cfg.watchdog_s * 1000000000ull;

	/* After a live switch the engine may be one that always comes back. */
	if (!vm->accel->no_exit_ns)
		return G_SOURCE_CONTINUE;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];
		uint64_t ns = vm->accel->no_exit_ns(vcpu);

		if (ns < limit) {
			vcpu->stuck_reported = false;
		} else if (!vcpu->stuck_reported) {
			vcpu->stuck_reported = true;
			atomic_store(&vcpu->stuck_report, ns);
			vcpu_kick(vcpu);
		}
	}
	return G_SOURCE_CONTINUE;
}

static unsigned watchdog_attach(struct vm *vm)
{
	unsigned ms = vm->cfg.watchdog_s * 250;

	if (!vm->cfg.watchdog_s || !vm->accel->no_exit_ns)
		return 0;
	/* A quarter of the limit, at most a second: late by at most that much. */
	return g_timeout_add(ms < 1000 ? ms : 1000, on_watchdog, vm);
}

static gboolean on_signal(gpointer data)
{
	struct vm *vm = data;

	progress_clear();
	fprintf(stderr, "tandem: terminating on signal\n");
	vm_request_exit(vm, VM_EXIT_USER, 0);
	return G_SOURCE_CONTINUE;
}

/* SIGTERM: say where the guest was, then stop, so a killed hung run leaves a clue. */
static gboolean on_sigterm(gpointer data)
{
	struct vm *vm = data;

	progress_clear();
	fprintf(stderr, "tandem: terminating on SIGTERM\n");
	vm_request_dump(vm);
	vm_request_exit(vm, VM_EXIT_USER, 0);
	return G_SOURCE_CONTINUE;
}

/*
 * SIGUSR1 is also an engine's kick signal (KVM interrupts KVM_RUN with
 * pthread_kill(SIGUSR1)), so it cannot simply be GLib's: our handler
 * tells the two apart by si_code -- a kick is SI_TKILL from this process,
 * a user's "kill -USR1" is SI_USER -- passes kicks on to the engine's
 * handler, and turns the rest into a byte on a pipe the main loop
 * watches (write() is async-signal-safe; the dump itself is not).
 */
static int usr1_pipe[2] = { -1, -1 };
static struct sigaction usr1_chained;

static void usr1_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (si && si->si_code == SI_TKILL && si->si_pid == getpid()) {
		if (usr1_chained.sa_flags & SA_SIGINFO)
			usr1_chained.sa_sigaction(sig, si, uc);
		else if (usr1_chained.sa_handler != SIG_DFL && usr1_chained.sa_handler != SIG_IGN)
			usr1_chained.sa_handler(sig);
	} else if (usr1_pipe[1] >= 0 && write(usr1_pipe[1], "", 1) < 0) {
		/* The pipe is full: a dump is already on its way. */
	}
	errno = saved;
}

static gboolean on_sigusr1(gint fd, GIOCondition cond, gpointer data)
{
	struct vm *vm = data;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	/*
	 * The counters now, read as they are (the vCPUs run on); then each
	 * vCPU prints its registers from its own thread.
	 */
	progress_clear();
	fprintf(stderr, "tandem: SIGUSR1: counters, then the registers of %u vCPU(s)\n",
		vm->nr_vcpus);
	vm_print_stats(vm, stderr);
	vm_request_dump(vm);
	return G_SOURCE_CONTINUE;
}

static unsigned usr1_attach(struct vm *vm)
{
	struct sigaction sa;

	if (pipe2(usr1_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		usr1_pipe[0] = usr1_pipe[1] = -1;
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = usr1_handler;
	/* SA_RESTART, as the engine's own: a kick may land in a write(). */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &usr1_chained);
	return g_unix_fd_add(usr1_pipe[0], G_IO_IN, on_sigusr1, vm);
}

static void usr1_detach(unsigned source)
{
	/* Back to the engine's handler: kicks may still come until it is gone. */
	sigaction(SIGUSR1, &usr1_chained, NULL);
	if (source)
		g_source_remove(source);
	for (int i = 0; i < 2; i++) {
		if (usr1_pipe[i] >= 0)
			close(usr1_pipe[i]);
		usr1_pipe[i] = -1;
	}
}

/*
 * Outputs never destroy inputs: an output file (--serial file:,
 * --trace-file) that is the kernel or the initrd -- the same device and
 * inode, whatever the spelling, links included -- is refused before
 * anything is opened. (Outputs are also opened only after the loaders
 * have read the inputs; see vm_create().)
 */
static int check_outputs(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct { const char *what, *path; } in[] = {
		{ "kernel", cfg->kernel }, { "initrd", cfg->initrd },
	};
	const struct { const char *opt, *path; } out[] = {
		{ "--serial file:", cfg->serial && !strncmp(cfg->serial, "file:", 5) ?
				    cfg->serial + 5 : NULL },
		{ "--trace-file ", cfg->trace_file },
	};
	struct stat so, si;

	for (size_t o = 0; o < sizeof(out) / sizeof(out[0]); o++) {
		if (!out[o].path || stat(out[o].path, &so))
			continue;	/* not there yet: it cannot be an input */
		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
			if (!in[i].path || stat(in[i].path, &si))
				continue;
			if (so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
				snprintf(err, errlen, "%s%s is the %s '%s': refusing to overwrite "
					 "an input", out[o].opt, out[o].path, in[i].what,
					 in[i].path);
				return -EEXIST;
			}
		}
	}
	return 0;
}

int vm_firmware_tables(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen)
{
	*rsdp = 0;
	if (!vm->board_ops || !vm->board_ops->firmware_tables)
		return 0;
	return vm->board_ops->firmware_tables(vm, rsdp, err, errlen);
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct accel_ops *accel,
	      const struct vm_board *board, char *err, size_t errlen)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	ret = check_outputs(cfg, err, errlen);
	if (ret)
		return ret;
	vm->cfg = *cfg;
	vm->accel = accel;
	vm->board_ops = board;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->halt_lock, NULL);
	pthread_cond_init(&vm->halt_cond, NULL);
	vm->mainloop = g_main_loop_new(NULL, FALSE);
	vm_clock_ns(vm);	/* starts the guest clock */
	ret = vmctl_init(vm);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto err_destroy;
	}
	/* -icount: the clock starts at 0 and moves only with instructions (accel/sw/icount.c). */
	if (cfg->icount)
		vm_clock_set_manual(vm, 0);
	if (cfg->start_paused)
		vm_pause_initial(vm);

	ret = accel_cpuid_init(cfg->smp, cfg->cpu, accel, cfg->accel_opts, err, errlen);
	if (ret)
		goto err_destroy;
	ret = vm_mem_init(vm, cfg->ram_size);
	if (ret) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(cfg->ram_size >> 20), strerror(-ret));
		goto err_destroy;
	}
	ret = accel->vm_init(vm);
	if (ret) {
		snprintf(err, errlen, "%s engine: cannot create the VM: %s", accel->name,
			 strerror(-ret));
		goto err_destroy;
	}
	ret = board->create(vm, err, errlen);
	if (ret)
		goto err_destroy;
	ret = board->load(vm, err, errlen);
	if (ret)
		goto err_destroy;

	/* The inputs are read: only now may outputs be created or truncated. */
	ret = chardev_start(vm->serial, err, errlen);
	if (ret)
		goto err_destroy;
	if (cfg->qmp) {
		ret = qmp_open(vm, cfg->qmp, err, errlen);
		if (ret)
			goto err_destroy;
	}
	ret = replay_open(vm, (enum replay_mode)cfg->rr_mode, cfg->rr_file,
			  cfg->icount_shift, err, errlen);
	if (ret)
		goto err_destroy;
	/* Symbols for traces: asked for, or the kernel's own when it is an ELF with some. */
	if (cfg->symbols) {
		vm->symbols = symbols_load(cfg->symbols, err, errlen);
		if (!vm->symbols) {
			ret = -EINVAL;
			goto err_destroy;
		}
	} else if (cfg->kernel && cfg->trace) {
		char ignored[256];

		vm->symbols = symbols_load(cfg->kernel, ignored, sizeof(ignored));
	}
	if (cfg->gdb) {
		ret = gdb_open(vm, cfg->gdb, err, errlen);
		if (ret)
			goto err_destroy;
	}
	if (cfg->trace) {
		vm->trace = cfg->trace_file ? fopen(cfg->trace_file, "w") : stderr;
		if (!vm->trace) {
			ret = -errno;
			snprintf(err, errlen, "cannot open trace file '%s': %s", cfg->trace_file,
				 strerror(-ret));
			goto err_destroy;
		}
	}

	/*
	 * One vCPU (one host thread, see vm_run()) per CPU. The APs start in
	 * wait-for-SIPI, as after INIT: the guest starts them through its
	 * local APIC (INIT, STARTUP), as on real hardware.
	 */
	for (unsigned i = 0; i < cfg->smp; i++) {
		struct x86_state ap;
		struct vcpu *v = calloc(1, sizeof(*v));

		if (!v) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto err_destroy;
		}
		v->vm = vm;
		v->id = i;
		v->wait_sipi = i > 0;
		v->sipi_req = -1;
		vm->vcpus[vm->nr_vcpus++] = v;
		ap_init_state(&ap);
		ret = accel->vcpu_init(v);
		if (!ret)
			ret = accel->set_state(v, i ? &ap : &vm->boot);
		if (ret) {
			snprintf(err, errlen, "%s engine: cannot create vCPU %u: %s", accel->name,
				 i, strerror(-ret));
			goto err_destroy;
		}
	}
	if (cfg->incoming) {
		ret = vm_snapshot_load(vm, cfg->incoming, err, errlen);
		if (ret)
			goto err_destroy;
	}
	return 0;

err_destroy:
	/* vm_destroy() takes a half-built VM: each part checks whether it exists. */
	vm_destroy(vm);
	return ret;
}

int vm_run(struct vm *vm)
{
	unsigned usr1, watchdog;

	vm_timers_attach(vm);
	g_unix_signal_add(SIGINT, on_signal, vm);
	g_unix_signal_add(SIGTERM, on_sigterm, vm);
	g_unix_signal_add(SIGHUP, on_signal, vm);
	usr1 = usr1_attach(vm);
	watchdog = watchdog_attach(vm);

	vm->threads_started = true;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (pthread_create(&vm->vcpus[i]->thread, NULL, vcpu_thread, vm->vcpus[i])) {
			fprintf(stderr, "tandem: cannot start vCPU thread\n");
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
			vm->nr_vcpus = i;
			break;
		}
	}
	if (!vm_should_stop(vm)) {
		progress_start(vm);
		g_main_loop_run(vm->mainloop);
	}
	progress_stop();
	vm_kick_all(vm);
	qmp_flush(vm);		/* the SHUTDOWN event reaches the client before we go */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		pthread_join(vm->vcpus[i]->thread, NULL);
	usr1_detach(usr1);
	if (watchdog)
		g_source_remove(watchdog);
	return vm->exit_code;
}

void vm_print_stats(struct vm *vm, FILE *out)
{
	fprintf(out, "tandem: unmapped I/O: %llu port reads, %llu port writes, "
		"%llu MMIO reads, %llu MMIO writes\n",
		(unsigned long long)vm->pio.unmapped_reads,
		(unsigned long long)vm->pio.unmapped_writes,
		(unsigned long long)vm->mmio.unmapped_reads,
		(unsigned long long)vm->mmio.unmapped_writes);
	if (vm->nr_switches)
		fprintf(out, "tandem: engine switches: %u (now on %s)\n", vm->nr_switches,
			vm->accel->name);
	if (vm->accel && vm->accel->print_stats)
		vm->accel->print_stats(vm, out);
}

void vm_destroy(struct vm *vm)
{
	qmp_close(vm);
	replay_close(vm);
	gdb_close(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->accel->vcpu_destroy && vm->vcpus[i]->accel_data)
			vm->accel->vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus[i]);
	}
	vm->nr_vcpus = 0;
	device_destroy_all(vm);
	if (vm->board_ops && vm->board_ops->destroy)
		vm->board_ops->destroy(vm);
	if (vm->accel_data)
		vm->accel->vm_destroy(vm);
	vm_timers_free(vm);
	irq_free(vm);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	vm_mem_exit(vm);
	if (vm->trace && vm->trace != stderr)
		fclose(vm->trace);
	vm->trace = NULL;
	if (vm->mainloop)
		g_main_loop_unref(vm->mainloop);
	vm->mainloop = NULL;
	symbols_free(vm->symbols);
	vm->symbols = NULL;
	vmctl_destroy(vm);
}
