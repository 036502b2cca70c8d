// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest clock and device timers. Timers are kept in a small list (a PC has
 * a handful); one timerfd armed at the earliest deadline wakes the event
 * loop, which runs expired callbacks under vm->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "machine/timer.h"
#include "machine/vm.h"

struct vm_timer {
	struct vm *vm;
	void (*cb)(void *opaque);
	void *opaque;
	uint64_t deadline;	/* vm clock ns; UINT64_MAX = not armed */
	uint64_t ran;		/* run_expired() pass that last ran it */
	struct vm_timer *next;
};

struct vm_timers {
	struct vm_timer *list;
	int fd;			/* timerfd, -1 until attached */
	unsigned source;
	bool manual;
	uint64_t manual_ns;
	uint64_t pass;		/* run_expired() passes so far */
	bool running;		/* in run_expired(): one rearm() at the end */
};

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct vm_timers *timers(struct vm *vm)
{
	if (!vm->timers) {
		vm->timers = calloc(1, sizeof(*vm->timers));
		if (!vm->timers)
			return NULL;
		vm->timers->fd = -1;
		if (!vm->clock_base_ns)
			vm->clock_base_ns = host_ns();
	}
	return vm->timers;
}

uint64_t vm_clock_ns(struct vm *vm)
{
	struct vm_timers *t = timers(vm);

	if (t && t->manual)
		return t->manual_ns;
	return host_ns() - vm->clock_base_ns;
}

void vm_clock_restore(struct vm *vm, uint64_t ns)
{
	struct vm_timers *t = timers(vm);

	if (t && t->manual)
		t->manual_ns = ns;
	else
		vm->clock_base_ns = host_ns() - ns;
}

void vm_clock_set_manual(struct vm *vm, uint64_t ns)
{
	struct vm_timers *t = timers(vm);

	if (t) {
		t->manual = true;
		t->manual_ns = ns;
	}
}

/* Re-arm the timerfd for the earliest deadline (caller holds vm->lock). */
static void rearm(struct vm *vm)
{
	struct vm_timers *t = vm->timers;
	uint64_t first = UINT64_MAX;
	struct itimerspec its = { 0 };

	if (!t || t->fd < 0 || t->manual || t->running)
		return;
	for (struct vm_timer *x = t->list; x; x = x->next)
		if (x->deadline < first)
			first = x->deadline;
	if (first != UINT64_MAX) {
		uint64_t abs = first + vm->clock_base_ns;

		if (abs == 0)
			abs = 1;	/* 0 would disarm */
		its.it_value.tv_sec = (time_t)(abs / 1000000000ull);
		its.it_value.tv_nsec = (long)(abs % 1000000000ull);
	}
	timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

struct vm_timer *vm_timer_new(struct vm *vm, void (*cb)(void *opaque), void *opaque)
{
	struct vm_timers *t = timers(vm);
	struct vm_timer *x;

	if (!t)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->vm = vm;
	x->cb = cb;
	x->opaque = opaque;
	x->deadline = UINT64_MAX;
	x->next = t->list;
	t->list = x;
	return x;
}

void vm_timer_mod(struct vm_timer *x, uint64_t deadline_ns)
{
	if (!x)
		return;
	x->deadline = deadline_ns == UINT64_MAX ? UINT64_MAX - 1 : deadline_ns;
	rearm(x->vm);
}

void vm_timer_del(struct vm_timer *x)
{
	if (!x)
		return;
	x->deadline = UINT64_MAX;
	rearm(x->vm);
}

void vm_timer_free(struct vm_timer *x)
{
	struct vm_timers *t;

	if (!x)
		return;
	t = x->vm->timers;
	for (struct vm_timer **pp = &t->list; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	free(x);
}

/*
 * Caller holds vm->lock. A callback may re-arm its own or other timers.
 *
 * Each timer runs at most once per pass, against one "now": a timer that
 * re-arms itself at or before now (a guest asking for more interrupts than
 * we can deliver, or a host that fell behind) waits for the next wakeup
 * instead of looping here. Looping kept vm->lock held for milliseconds at
 * a time -- 64 rounds of callbacks and timerfd updates -- and starved the
 * vCPU threads, which need the lock for every I/O exit and interrupt.
 * Missed periods coalesce in the devices (see i8254.c, lapic.c).
 */
static void run_expired(struct vm *vm)
{
	struct vm_timers *t = vm->timers;
	uint64_t now, pass;
	bool again = true;

	if (!t)
		return;
	now = vm_clock_ns(vm);
	pass = ++t->pass;
	t->running = true;
	while (again) {
		again = false;
		for (struct vm_timer *x = t->list; x; x = x->next) {
			if (x->deadline <= now && x->ran != pass) {
				x->ran = pass;
				x->deadline = UINT64_MAX;
				x->cb(x->opaque);
				again = true;
				break;	/* the list may have changed */
			}
		}
	}
	t->running = false;
	rearm(vm);
}

void vm_timers_run(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	run_expired(vm);
	pthread_mutex_unlock(&vm->lock);
}

static gboolean timerfd_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct vm *vm = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return G_SOURCE_CONTINUE;
	vm_timers_run(vm);
	return G_SOURCE_CONTINUE;
}

int vm_timers_attach(struct vm *vm)
{
	struct vm_timers *t = timers(vm);

	if (!t)
		return -ENOMEM;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0)
		return -errno;
	t->source = g_unix_fd_add(t->fd, G_IO_IN, timerfd_ready, vm);
	pthread_mutex_lock(&vm->lock);
	rearm(vm);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void vm_timers_free(struct vm *vm)
{
	struct vm_timers *t = vm->timers;

	if (!t)
		return;
	if (t->source)
		g_source_remove(t->source);
	if (t->fd >= 0)
		close(t->fd);
	while (t->list) {
		struct vm_timer *x = t->list;

		t->list = x->next;
		free(x);
	}
	free(t);
	vm->timers = NULL;
}
