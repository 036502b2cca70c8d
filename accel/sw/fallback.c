// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU as a fallback for another engine: run a few
 * instructions from a handed-over x86_state and hand it back. KVM uses it
 * for instructions it cannot emulate (kvm_pvm: int3, cmpxchg16b, xrstor,
 * fninit in guest kernel mode).
 *
 * The other engine changed guest memory behind our back, so nothing the
 * software CPU cached may be trusted: translations are flushed and the
 * decoded page of each executed instruction is dropped afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Drop the decoded page at the (already translated) instruction pointer. */
static void forget_code(struct sw_fallback *fb, uint64_t la)
{
	uint64_t gpa;

	/* Translation cannot fault here: the page was just fetched from. */
	if (!(fb->cpu.st.cr0 & X86_CR0_PG)) {
		sw_decode_invalidate_range(&fb->svm, la & ~0xfffull, 4096);
		return;
	}
	if (sigsetjmp(fb->cpu.jmp, 0) == 0) {
		sw_mmu_translate(&fb->cpu, la, SW_ACC_EXEC | SW_ACC_SYS, &gpa);
		sw_decode_invalidate_range(&fb->svm, gpa & ~0xfffull, 4096);
	}
}

enum vcpu_stop sw_emulate(struct vcpu *vcpu, struct x86_state *st, unsigned max,
				 char *why, size_t len)
{
	struct sw_fallback *fb = fallback_get(vcpu->vm);
	struct sw_cpu *cpu;
	enum vcpu_stop stop;
	uint64_t start_icount;

	if (!fb) {
		snprintf(why, len, "software CPU fallback: out of memory");
		return VCPU_STOP_ERROR;
	}
	cpu = &fb->cpu;
	cpu->vcpu = vcpu;
	cpu->st = *st;
	cpu->stop_req = false;
	sw_mmu_flush_all(cpu);
	start_icount = cpu->icount;
	stop = sw_run(cpu, max, NULL);
	forget_code(fb, cpu->st.seg[S_CS].base + st->rip);
	fb->nr_calls++;
	fb->nr_insns += cpu->icount - start_icount;
	*st = cpu->st;
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
