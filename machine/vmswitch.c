// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The live engine switch (machine/vmswitch.h).
 *
 * Order matters: the vCPU threads are parked in vmctl_point() (they hold
 * no engine state on their stacks there), states are read on their own
 * threads, then the engines are swapped with vm->lock held, so that a
 * device thread kicking a vCPU (vm_intr_changed()) never sees a half-built
 * engine, and the states go back in on the vCPU threads again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "accel/accel.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/vmswitch.h"

/* Set while the auto switch calls vm_switch_accel(): not a switch by hand. */
static bool autosw_switching;

static void engine_down(struct vm *vm)
{
	vm->switching = true;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->accel_data && vm->accel->vcpu_destroy)
			vm->accel->vcpu_destroy(vm->vcpus[i]);
		vm->vcpus[i]->accel_data = NULL;
	}
	if (vm->accel_data)
		vm->accel->vm_destroy(vm);
	vm->accel_data = NULL;
	vm->switching = false;
}

static int engine_up(struct vm *vm, const struct accel_ops *a)
{
	int ret;

	vm->accel = a;
	ret = a->vm_init(vm);
	for (unsigned i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = a->vcpu_init(vm->vcpus[i]);
	return ret;
}

static const struct accel_ops *pick(struct vm *vm, const char *name, char *why, size_t len)
{
	const struct accel_ops *a = NULL;
	char reason[256];

	if (!strcmp(name, "other")) {
		for (unsigned i = 0; accel_list[i] && !a; i++)
			if (accel_list[i] != vm->accel && !accel_list[i]->probe(reason, sizeof(reason)))
				a = accel_list[i];
		if (!a)
			snprintf(why, len, "no other engine is usable here");
		return a;
	}
	a = accel_find(name);
	if (!a) {
		snprintf(why, len, "unknown engine '%s' (sw, kvm, other)", name);
		return NULL;
	}
	if (a == vm->accel) {
		snprintf(why, len, "the guest already runs on %s", a->name);
		return NULL;
	}
	if (a->probe(reason, sizeof(reason))) {
		snprintf(why, len, "engine %s is not usable here: %s", a->name, reason);
		return NULL;
	}
	return a;
}

int vm_switch_accel(struct vm *vm, const char *name, const char *opts, char *why, size_t len)
{
	static char opts_buf[256];
	const struct accel_ops *from = vm->accel, *to = pick(vm, name, why, len);
	struct x86_state *st;
	bool was_running;
	int ret = 0;

	if (!to)
		return -EINVAL;
	if (accel_check_opts(to, opts, why, len))
		return -EINVAL;
	if (accel_cpuid_check(to, opts, why, len))
		return -EINVAL;
	if (opts && strlen(opts) >= sizeof(opts_buf)) {
		snprintf(why, len, "engine options too long");
		return -EINVAL;
	}
	st = calloc(vm->nr_vcpus, sizeof(*st));
	if (!st) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	was_running = vm_pause(vm);
	if (!vmctl_all_parked(vm)) {
		snprintf(why, len, "a vCPU did not stop; the guest stays on %s", from->name);
		ret = -EBUSY;
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_state_access(vm->vcpus[i], &st[i], false);
		if (ret) {
			snprintf(why, len, "cannot read vCPU %u's state on %s: %s", i, from->name,
				 strerror(-ret));
			goto out;
		}
	}

	pthread_mutex_lock(&vm->lock);
	engine_down(vm);
	/* Engines read their options while they run: keep a copy (one VM per process). */
	snprintf(opts_buf, sizeof(opts_buf), "%s", opts ? opts : "");
	vm->cfg.accel_opts = opts ? opts_buf : NULL;
	ret = engine_up(vm, to);
	if (ret) {
		snprintf(why, len, "engine %s cannot take the guest: %s; back on %s", to->name,
			 strerror(-ret), from->name);
		engine_down(vm);
		vm->cfg.accel_opts = NULL;
		if (engine_up(vm, from)) {
			pthread_mutex_unlock(&vm->lock);
			snprintf(why, len, "engine %s failed and %s cannot be rebuilt: stopping",
				 to->name, from->name);
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
			goto out;
		}
	}
	pthread_mutex_unlock(&vm->lock);

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_state_access(vm->vcpus[i], &st[i], true);

		if (r && !ret) {
			snprintf(why, len, "vCPU %u refused its state on %s: %s", i,
				 vm->accel->name, strerror(-r));
			ret = r;
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
		}
	}
	if (!ret) {
		vm->nr_switches++;
		vm->accel_switched_by_hand = !autosw_switching;
		vm_info("switched the guest from %s to %s\n", from->name,
			to->name);
	}
out:
	if (was_running)
		vm_resume(vm);
	free(st);
	return ret;
}

/* ---- auto ------------------------------------------------------------------ */

#define AUTO_TICK_MS		10
#define AUTO_WINDOW_NS		1000000000ull	/* one decision per second at most */
#define AUTO_SHARE		80		/* % of the busy samples */
#define AUTO_BUSY		50		/* % of all samples busy, or no decision */
#define AUTO_DWELL_NS		2000000000ull
#define AUTO_DWELL_MAX_NS	60000000000ull
#define AUTO_CLOSE_NS		10000000000ull	/* switches closer than this: dwell x2 */

static struct {
	bool off;			/* switch=off */
	bool running;
	char opts[256];			/* the engine options given with auto */
	const struct accel_ops *home;	/* the hardware engine auto chose */
	uint64_t window_start, hold_until, last_switch, dwell;
	unsigned samples, busy, ring0, ring3;
	unsigned nr_auto, nr_to_sw, nr_back;
} autosw;

int vm_autoswitch_opts(const char *accel, const char **opts, char *why, size_t len)
{
	GString *rest;
	const char *p = *opts;

	if (strcmp(accel, "auto") || !p)
		return 0;
	rest = g_string_new(NULL);
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n >= 7 && !strncmp(p, "switch=", 7)) {
			if (n == 9 && !strncmp(p + 7, "on", 2)) {
				autosw.off = false;
			} else if (n == 10 && !strncmp(p + 7, "off", 3)) {
				autosw.off = true;
			} else {
				snprintf(why, len, "--accel=auto: switch takes on|off, not '%.*s'",
					 (int)(n - 7), p + 7);
				g_string_free(rest, TRUE);
				return -EINVAL;
			}
		} else if (n) {
			g_string_append_printf(rest, "%s%.*s", rest->len ? "," : "", (int)n, p);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (rest->len >= sizeof(autosw.opts)) {
		snprintf(why, len, "engine options too long");
		g_string_free(rest, TRUE);
		return -EINVAL;
	}
	snprintf(autosw.opts, sizeof(autosw.opts), "%s", rest->str);
	*opts = autosw.opts[0] ? autosw.opts : NULL;
	g_string_free(rest, TRUE);
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void window_reset(uint64_t now)
{
	autosw.window_start = now;
	autosw.samples = autosw.busy = autosw.ring0 = autosw.ring3 = 0;
}

static void auto_switch(struct vm *vm, const struct accel_ops *to, unsigned share, unsigned ring,
			double secs, uint64_t now)
{
	char why[256], opts[sizeof(autosw.opts)];
	const char *o = NULL;
	const char *from = vm->accel->name;
	int ret;

	/* The options given with auto, where the other engine takes them. */
	if (autosw.opts[0] && !accel_check_opts(to, autosw.opts, why, sizeof(why))) {
		snprintf(opts, sizeof(opts), "%s", autosw.opts);
		o = opts;
	}
	vm_info("auto: guest ran %u%% in ring %u over %.1f s on %s%s, switching to %s\n", share,
		ring, secs, from, vm->accel->hw && !access("/sys/module/kvm_pvm", F_OK) ?
		" (kvm_pvm)" : "", to->name);
	autosw_switching = true;
	ret = vm_switch_accel(vm, to->name, o, why, sizeof(why));
	autosw_switching = false;
	if (ret) {
		vm_info("auto: %s; automatic switching stops\n", why);
		autosw.running = false;
		return;
	}
	autosw.nr_auto++;
	if (to == autosw.home)
		autosw.nr_back++;
	else
		autosw.nr_to_sw++;
	/* Hysteresis: switches in quick succession wait longer and longer. */
	if (autosw.last_switch && now - autosw.last_switch < AUTO_CLOSE_NS)
		autosw.dwell = autosw.dwell * 2 < AUTO_DWELL_MAX_NS ? autosw.dwell * 2
								   : AUTO_DWELL_MAX_NS;
	else
		autosw.dwell = AUTO_DWELL_NS;
	autosw.last_switch = now;
	autosw.hold_until = mono_ns() + autosw.dwell;
}

static gboolean auto_tick(gpointer opaque)
{
	struct vm *vm = opaque;
	uint64_t now = mono_ns();
	const struct accel_ops *a = vm->accel;
	unsigned share;

	if (!autosw.running || vm->accel_switched_by_hand) {
		if (autosw.running)
			vm_info("auto: the engine was switched by hand; no automatic switches "
				"from now on\n");
		autosw.running = false;
		return G_SOURCE_REMOVE;
	}
	if (vm_should_stop(vm))
		return G_SOURCE_REMOVE;
	if (vm_paused(vm) || !a->cpl_hint) {
		window_reset(now);
		return G_SOURCE_CONTINUE;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int cpl = a->cpl_hint(vm->vcpus[i]);

		autosw.samples++;
		if (cpl < 0)
			continue;
		autosw.busy++;
		autosw.ring0 += cpl == 0;
		autosw.ring3 += cpl == 3;
	}
	if (now - autosw.window_start < AUTO_WINDOW_NS)
		return G_SOURCE_CONTINUE;
	if (now >= autosw.hold_until && autosw.busy * 100 >= autosw.samples * AUTO_BUSY) {
		double secs = (double)(now - autosw.window_start) / 1e9;
		const struct accel_ops *sw = accel_fallback(autosw.home);

		if (a == autosw.home && sw) {
			share = autosw.ring0 * 100 / autosw.busy;
			if (share >= AUTO_SHARE)
				auto_switch(vm, sw, share, 0, secs, now);
		} else if (a != autosw.home) {
			share = autosw.ring3 * 100 / autosw.busy;
			if (share >= AUTO_SHARE)
				auto_switch(vm, autosw.home, share, 3, secs, now);
		}
	}
	window_reset(mono_ns());
	return autosw.running ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void vm_autoswitch_start(struct vm *vm)
{
	/* Only auto's own choice of a hardware engine that splits the guest by ring. */
	if (autosw.off || strcmp(vm->cfg.accel, "auto") || !vm->accel->hw ||
	    !vm->accel->cpl_hint || !accel_fallback(vm->accel) || vm->cfg.icount)
		return;
	autosw.home = vm->accel;
	autosw.running = true;
	autosw.dwell = AUTO_DWELL_NS;
	window_reset(mono_ns());
	autosw.hold_until = autosw.window_start;
	g_timeout_add(AUTO_TICK_MS, auto_tick, vm);
}

void vm_autoswitch_print_stats(struct vm *vm, FILE *out)
{
	(void)vm;
	if (autosw.nr_auto)
		fprintf(out, "tandem: auto: %u automatic engine switches (%u to %s, %u back)\n",
			autosw.nr_auto, autosw.nr_to_sw,
			accel_fallback(autosw.home) ? accel_fallback(autosw.home)->name : "?",
			autosw.nr_back);
}
