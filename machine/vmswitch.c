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

#include "accel/accel.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/vmswitch.h"

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
		vm_info("switched the guest from %s to %s\n", from->name,
			to->name);
	}
out:
	if (was_running)
		vm_resume(vm);
	free(st);
	return ret;
}
