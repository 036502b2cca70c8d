/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_KVM_H
#define TANDEM_KVM_H
/* The KVM engine's private data. */
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "machine/vm.h"

#define KVM_NR_EXIT_COUNTS	64

struct kvm_vm {
	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	int run_size;
	uint64_t nr_exits, nr_io, nr_mmio, nr_irqs, nr_emulation_failures, nr_fallbacks;
	uint64_t nr_exit_reason[KVM_NR_EXIT_COUNTS];	/* by KVM_EXIT_* (--stats, by name) */
	uint64_t nr_nmis;		/* KVM_NMI */
	/*
	 * Ring 0 runs on the software CPU (option ring0=sw; the default on
	 * kvm_pvm, which emulates guest ring-0 code at ~1 us per instruction).
	 */
	bool ring0_sw;
	uint64_t nr_ring0_runs, nr_ring0_insns, nr_replays, nr_zaps;
	/*
	 * Held shared around every KVM_RUN and KVM_TRANSLATE and exclusively
	 * by kvm_zap_shadow(): its memory-slot delete and re-add must not be
	 * seen by another vCPU in the guest or walking its page tables (its
	 * accesses would find no memory there).
	 */
	pthread_rwlock_t run_lock;
	bool guest_debug_blockirq;	/* KVM_GUESTDBG_BLOCKIRQ is supported */
	bool guest_debug_warned;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;	/* for kicks; valid once the vCPU has run */
	atomic_bool running;
	/*
	 * KVM without an in-kernel irqchip returns from HLT with RIP past the
	 * instruction; the vCPU stays halted, as far as the guest can tell,
	 * until we inject an interrupt.
	 */
	bool halted;
	/*
	 * ring0=sw: where the guest runs now, for kvm_cpl_hint(): 3 in
	 * KVM_RUN (64-bit user code), 0 on the software CPU, -1 neither.
	 */
	atomic_int cpl_hint;
	/* kvm_vcpu_kick() sets it too: the software CPU polls it while it runs ring 0. */
	atomic_int sw_kick;
	/* The last exit was I/O or MMIO: KVM completes it at the next KVM_RUN. */
	bool io_pending;
	/* run->s.regs.sregs is fresh (sync regs, after an exit): the CPL can be read there. */
	bool sregs_synced;
	/* Guest TSC - host TSC, as KVM keeps it (KVM_VCPU_TSC_OFFSET, or measured). */
	int64_t tsc_offset;
	/*
	 * ring0=sw: KVM runs 64-bit user code with an empty IDT (limit 0), so
	 * that every exception or SYSCALL there ends in a triple-fault exit
	 * before KVM delivers it (kvm_pvm gets INT n and SYSCALL wrong); the
	 * software CPU replays it. @idt is the guest's own, which
	 * kvm_get_state() reports.
	 */
	bool idt_hidden;
	struct x86_dtable idt;
	/*
	 * kvm_pvm runs user code with IOPL 0 whatever the guest set; code at
	 * CPL 3 cannot change IOPL, so the value handed over is still the
	 * guest's when the hidden IDT brings it back.
	 */
	uint64_t iopl;
	/*
	 * For the stuck-vCPU watchdog (kvm_no_exit_ns()): when the KVM_RUN in
	 * progress began (0: none), and the time already spent in KVM since
	 * the guest last made progress -- an exit, an interrupt injected, a
	 * run on the software CPU. A KVM_RUN cut short by a kick (EINTR) is
	 * not progress: the guest ran on there and may still be stuck.
	 * Written by the vCPU thread, read by the main loop.
	 */
	atomic_uint_least64_t run_start_ns;
	atomic_uint_least64_t stuck_ns;
	/* kvm_set_debug(): debug register n holds vcpu->debug entry debug_slot[n]. */
	unsigned debug_slots;
	uint8_t debug_slot[4];
};

void kvm_finish_io(struct vcpu *vcpu);
int kvm_get_state(struct vcpu *vcpu, struct x86_state *st);
int kvm_set_state(struct vcpu *vcpu, const struct x86_state *st);
int kvm_set_cpuid(struct vcpu *vcpu);
int64_t kvm_tsc_offset(struct vcpu *vcpu);

#endif
