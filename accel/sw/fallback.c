// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU as a fallback for another engine: run a few
 * instructions from a handed-over x86_state and hand it back. KVM uses it
 * for instructions it cannot emulate (kvm_pvm: int3, cmpxchg16b, xrstor,
 * fninit in guest kernel mode).
 *
 * Two uses: KVM's emulation failures (one instruction), and on kvm_pvm
 * all ring-0 code (until the guest returns to CPL 3), which the
 * interpreter runs faster than kvm_pvm emulates it. Each vCPU has its
 * own software CPU (see struct sw_fallback).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "accel/accel.h"
#include "accel/sw/core.h"
#include "accel/sw/fallback.h"
#include "accel/sw/sys.h"

/*
 * One software CPU per vCPU (each vCPU's thread emulates for itself, in
 * parallel with the others), sharing one struct sw_vm as the sw engine's
 * vCPUs do. Made on first use, all at once, under fallback_lock: the
 * translator registers its vCPUs only while none of them runs.
 */
struct sw_fallback {
	struct sw_vm svm;
	struct sw_cpu *cpu[VM_MAX_VCPUS];
	unsigned nr_cpus;
	_Atomic uint64_t nr_calls, nr_insns;
};

static pthread_mutex_t fallback_lock = PTHREAD_MUTEX_INITIALIZER;

static void fallback_free(struct sw_fallback *fb)
{
	for (unsigned i = 0; i < fb->nr_cpus; i++) {
		sw_cpu_destroy(fb->cpu[i]);
		free(fb->cpu[i]);
	}
	sw_vm_destroy_data(&fb->svm);
	free(fb);
}

static struct sw_fallback *fallback_get(struct vm *vm)
{
	struct sw_fallback *fb = __atomic_load_n((struct sw_fallback **)&vm->fallback,
						 __ATOMIC_ACQUIRE);

	if (fb)
		return fb;
	pthread_mutex_lock(&fallback_lock);
	fb = vm->fallback;
	if (fb)
		goto out;
	fb = calloc(1, sizeof(*fb));
	if (!fb)
		goto out;
	if (sw_vm_init_data(&fb->svm, vm)) {
		free(fb);
		fb = NULL;
		goto out;
	}
	fb->svm.external_writers = true;
	for (unsigned i = 0; i < (vm->nr_vcpus ? vm->nr_vcpus : 1); i++) {
		struct sw_cpu *cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);

		if (!cpu || sw_cpu_init(cpu, vm, &fb->svm)) {
			free(cpu);
			fallback_free(fb);
			fb = NULL;
			goto out;
		}
		fb->cpu[fb->nr_cpus++] = cpu;
	}
	__atomic_store_n((struct sw_fallback **)&vm->fallback, fb, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&fallback_lock);
	return fb;
}

enum vcpu_stop sw_emulate(struct vcpu *vcpu, struct x86_state *st, struct accel_emulate *req,
			 char *why, size_t len)
{
	struct sw_fallback *fb = fallback_get(vcpu->vm);
	struct sw_cpu *cpu;
	enum vcpu_stop stop;
	uint64_t start_icount, start_flushes;

	if (!fb || vcpu->id >= fb->nr_cpus) {
		snprintf(why, len, "software CPU fallback: out of memory");
		return VCPU_STOP_ERROR;
	}
	cpu = fb->cpu[vcpu->id];
	cpu->vcpu = vcpu;
	cpu->st = *st;
	sw_pmu_update(cpu);
	cpu->stop_req = false;
	cpu->stop_at_user = req->until_user;
	/* The guest's TSC runs on from where the other engine's was. */
	if (req->has_tsc_offset)
		cpu->tsc_offset = (uint64_t)req->tsc_offset;
	else if (st->msr.tsc)
		cpu->tsc_offset = st->msr.tsc - __rdtsc();
	/*
	 * Page tables and code may have changed under the other engine:
	 * translations go, and decoded instructions are checked against RAM
	 * (svm.external_writers) instead of being dropped.
	 */
	sw_mmu_flush_all(cpu);
	start_icount = cpu->icount;
	start_flushes = cpu->nr_tlb_flushes;
	stop = sw_run(cpu, req->max, req->kick);
	req->insns = cpu->icount - start_icount;
	req->tlb_flushed = cpu->nr_tlb_flushes != start_flushes;
	atomic_fetch_add_explicit(&fb->nr_calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fb->nr_insns, req->insns, memory_order_relaxed);
	*st = cpu->st;
	st->msr.tsc = 0;
	if (stop == VCPU_STOP_ERROR)
		snprintf(why, len, "software CPU fallback failed at %#llx",
			 (unsigned long long)st->rip);
	/* Halted with an interrupt to wait for: the caller's loop handles it. */
	if (stop == VCPU_STOP_HALT)
		st->halted = true;
	return stop;
}

void sw_emulate_cleanup(struct vm *vm)
{
	struct sw_fallback *fb = vm->fallback;

	if (!fb)
		return;
	fallback_free(fb);
	vm->fallback = NULL;
}

void sw_emulate_mem_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	/* Any thread (a device's DMA): pairs with fallback_get()'s release store. */
	struct sw_fallback *fb = __atomic_load_n((struct sw_fallback **)&vm->fallback,
						 __ATOMIC_ACQUIRE);

	if (fb)
		sw_svm_mem_written(&fb->svm, gpa, len);
}
