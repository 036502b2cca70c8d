// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU as a fallback for another engine: run a few
 * instructions from a handed-over x86_state and hand it back. KVM uses it
 * for instructions it cannot emulate (kvm_pvm: int3, cmpxchg16b, xrstor,
 * fninit in guest kernel mode).
 *
 * Two uses: KVM's emulation failures (one instruction), and on kvm_pvm
 * all ring-0 code (until the guest returns to CPL 3), which the
 * interpreter runs faster than kvm_pvm emulates it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "accel/accel.h"
#include "accel/sw/core.h"
#include "accel/sw/fallback.h"

struct sw_fallback {
	struct sw_vm svm;
	struct sw_cpu cpu;
	uint64_t nr_calls, nr_insns;
};

static struct sw_fallback *fallback_get(struct vm *vm)
{
	struct sw_fallback *fb = vm->fallback;

	if (fb)
		return fb;
	fb = calloc(1, sizeof(*fb));
	if (!fb)
		return NULL;
	if (sw_vm_init_data(&fb->svm, vm)) {
		free(fb);
		return NULL;
	}
	fb->svm.external_writers = true;
	if (sw_cpu_init(&fb->cpu, vm, &fb->svm)) {
		sw_vm_destroy_data(&fb->svm);
		free(fb);
		return NULL;
	}
	vm->fallback = fb;
	return fb;
}

enum vcpu_stop sw_emulate(struct vcpu *vcpu, struct x86_state *st, struct accel_emulate *req,
			 char *why, size_t len)
{
	struct sw_fallback *fb = fallback_get(vcpu->vm);
	struct sw_cpu *cpu;
	enum vcpu_stop stop;
	uint64_t start_icount, start_flushes;

	if (!fb) {
		snprintf(why, len, "software CPU fallback: out of memory");
		return VCPU_STOP_ERROR;
	}
	cpu = &fb->cpu;
	cpu->vcpu = vcpu;
	cpu->st = *st;
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
	fb->nr_calls++;
	fb->nr_insns += req->insns;
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
	sw_cpu_destroy(&fb->cpu);
	sw_vm_destroy_data(&fb->svm);
	free(fb);
	vm->fallback = NULL;
}

void sw_emulate_mem_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	struct sw_fallback *fb = vm->fallback;

	if (fb)
		sw_svm_mem_written(&fb->svm, gpa, len);
}
