// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pause/resume and calls onto vCPU threads (machine/vmctl.h).
 *
 * One mutex and one condition variable for all of it: control operations
 * are rare (a person or a script drives them), so simplicity wins over
 * per-vCPU wakeups. Lock order: ctl->lock is taken with no other lock held
 * and never held across a call into the engine except the posted @fn
 * itself, which runs unlocked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/accel.h"
#include "machine/vm.h"
#include "machine/vmctl.h"

enum call_state { CALL_NONE, CALL_POSTED, CALL_RUNNING, CALL_DONE };

struct vm_ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool paused;
	/*
	 * A debugger's scheduler locking: these vCPUs stay parked while the
	 * VM runs (vm_resume_only()); any pause clears it, since a stopped
	 * VM is all-stop again.
	 */
	bool hold[VM_MAX_VCPUS];
	unsigned parked;
	struct {
		enum call_state state;
		void (*fn)(struct vcpu *vcpu, void *arg);
		void *arg;
	} call[VM_MAX_VCPUS];
	vm_event_fn event_fn;
	void *event_opaque;
	int (*powerdown)(void *opaque);
	void *powerdown_opaque;
};

int vmctl_init(struct vm *vm)
{
	struct vm_ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	vm->ctl = c;
	return 0;
}

void vmctl_destroy(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;

	if (!c)
		return;
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	vm->ctl = NULL;
}

/* With c->lock held: run @vcpu's posted call, unlocked. */
static void run_call(struct vm_ctl *c, struct vcpu *vcpu)
{
	unsigned i = vcpu->id;

	if (c->call[i].state != CALL_POSTED)
		return;
	c->call[i].state = CALL_RUNNING;
	pthread_mutex_unlock(&c->lock);
	c->call[i].fn(vcpu, c->call[i].arg);
	pthread_mutex_lock(&c->lock);
	c->call[i].state = CALL_DONE;
	pthread_cond_broadcast(&c->cond);
}

void vmctl_point(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_ctl *c = vm->ctl;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	run_call(c, vcpu);
	if (c->paused || c->hold[vcpu->id]) {
		c->parked++;
		pthread_cond_broadcast(&c->cond);
		while ((c->paused || c->hold[vcpu->id]) && !vm_should_stop(vm)) {
			run_call(c, vcpu);
			if ((c->paused || c->hold[vcpu->id]) && !vm_should_stop(vm))
				pthread_cond_wait(&c->cond, &c->lock);
		}
		c->parked--;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Wake parked vCPUs too: vm_request_exit() kicks, but they wait on c->cond. */
static void ctl_wake(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;

	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000l;
	if (ts->tv_nsec >= 1000000000l) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000l;
	}
}

bool vm_pause(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;

	pthread_mutex_lock(&c->lock);
	if (c->paused) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->paused = true;
	memset(c->hold, 0, sizeof(c->hold));
	pthread_mutex_unlock(&c->lock);
	vm_kick_all(vm);
	vm_wait_parked(vm);
	vm_event(vm, VM_EVENT_STOP, NULL);
	return true;
}

void vm_pause_request(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;

	pthread_mutex_lock(&c->lock);
	c->paused = true;
	memset(c->hold, 0, sizeof(c->hold));
	pthread_mutex_unlock(&c->lock);
	vm_kick_all(vm);
}

void vm_wait_parked(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;
	struct timespec ts;

	/*
	 * A vCPU an engine cannot get back from (a guest spinning in KVM
	 * without exits still returns on the kick signal) would hold us here:
	 * give up after 5 s and say paused anyway, it parks when it comes back.
	 */
	deadline_after(&ts, 5000);
	pthread_mutex_lock(&c->lock);
	while (c->paused && c->parked < vm->nr_vcpus && !vm_should_stop(vm))
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&c->lock);
}

bool vm_resume(struct vm *vm)
{
	return vm_resume_only(vm, NULL);
}

bool vm_resume_only(struct vm *vm, const bool *run)
{
	struct vm_ctl *c = vm->ctl;
	bool was;

	pthread_mutex_lock(&c->lock);
	was = c->paused;
	c->paused = false;
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		c->hold[i] = run && i < vm->nr_vcpus && !run[i];
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (was)
		vm_event(vm, VM_EVENT_RESUME, NULL);
	return was;
}

void vm_release_held(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;

	pthread_mutex_lock(&c->lock);
	memset(c->hold, 0, sizeof(c->hold));
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

bool vmctl_all_parked(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;
	bool all;

	pthread_mutex_lock(&c->lock);
	all = c->paused && (!vm->threads_started || c->parked == vm->nr_vcpus);
	pthread_mutex_unlock(&c->lock);
	return all;
}

void vm_pause_initial(struct vm *vm)
{
	vm->ctl->paused = true;
}

bool vm_paused(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;
	bool p;

	pthread_mutex_lock(&c->lock);
	p = c->paused;
	pthread_mutex_unlock(&c->lock);
	return p;
}

int vcpu_call(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg,
	      unsigned timeout_ms)
{
	struct vm *vm = vcpu->vm;
	struct vm_ctl *c = vm->ctl;
	unsigned i = vcpu->id;
	struct timespec ts;
	int ret = 0;

	if (vm_should_stop(vm))
		return -ESHUTDOWN;
	pthread_mutex_lock(&c->lock);
	c->call[i].fn = fn;
	c->call[i].arg = arg;
	c->call[i].state = CALL_POSTED;
	pthread_cond_broadcast(&c->cond);	/* a parked vCPU */
	pthread_mutex_unlock(&c->lock);
	vcpu_kick(vcpu);			/* a running or halted one */

	deadline_after(&ts, timeout_ms);
	pthread_mutex_lock(&c->lock);
	while (c->call[i].state != CALL_DONE) {
		if (c->call[i].state == CALL_RUNNING) {
			pthread_cond_wait(&c->cond, &c->lock);	/* it runs: it ends */
			continue;
		}
		if (vm_should_stop(vm)) {
			ret = -ESHUTDOWN;
			break;
		}
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT &&
		    c->call[i].state == CALL_POSTED) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	c->call[i].state = CALL_NONE;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void vm_set_event_listener(struct vm *vm, vm_event_fn fn, void *opaque)
{
	struct vm_ctl *c = vm->ctl;

	pthread_mutex_lock(&c->lock);
	c->event_fn = fn;
	c->event_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

void vm_event(struct vm *vm, enum vm_event ev, const char *reason)
{
	struct vm_ctl *c = vm->ctl;
	vm_event_fn fn;
	void *opaque;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	fn = c->event_fn;
	opaque = c->event_opaque;
	pthread_mutex_unlock(&c->lock);
	if (fn)
		fn(opaque, ev, reason);
	if (ev == VM_EVENT_SHUTDOWN)
		ctl_wake(vm);
}

void vm_set_powerdown_handler(struct vm *vm, int (*fn)(void *opaque), void *opaque)
{
	if (!vm->ctl)
		return;		/* a VM built without control (unit tests' boards) */
	vm->ctl->powerdown = fn;
	vm->ctl->powerdown_opaque = opaque;
}

int vm_powerdown(struct vm *vm)
{
	struct vm_ctl *c = vm->ctl;
	int ret;

	if (!c || !c->powerdown)
		return -ENODEV;
	ret = c->powerdown(c->powerdown_opaque);
	if (!ret)
		vm_event(vm, VM_EVENT_POWERDOWN, NULL);
	return ret;
}

struct state_call {
	struct x86_state *st;
	bool set;
	int ret;
};

static void state_on_vcpu(struct vcpu *vcpu, void *arg)
{
	struct state_call *c = arg;

	c->ret = c->set ? vcpu->vm->accel->set_state(vcpu, c->st)
			: vcpu->vm->accel->get_state(vcpu, c->st);
}

int vcpu_state_access(struct vcpu *vcpu, struct x86_state *st, bool set)
{
	struct state_call c = { .st = st, .set = set, .ret = -EIO };
	int ret;

	if (!vcpu->vm->threads_started) {
		state_on_vcpu(vcpu, &c);
		return c.ret;
	}
	ret = vcpu_call(vcpu, state_on_vcpu, &c, 5000);
	return ret ? ret : c.ret;
}
