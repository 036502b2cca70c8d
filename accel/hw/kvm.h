/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_KVM_H
#define TANDEM_KVM_H
/* The KVM engine's private data. */
#include <linux/kvm.h>
#include <stdatomic.h>

#include "machine/vm.h"

struct kvm_vm {
	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	int run_size;
	uint64_t nr_exits, nr_io, nr_mmio, nr_irqs, nr_emulation_failures, nr_fallbacks;
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
};

int kvm_get_state(struct vcpu *vcpu, struct x86_state *st);
int kvm_set_state(struct vcpu *vcpu, const struct x86_state *st);
int kvm_set_cpuid(struct vcpu *vcpu);

#endif
