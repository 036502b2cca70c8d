// SPDX-License-Identifier: GPL-2.0-or-later
/* Interrupt lines routed to controllers, and the CPU's INTR input. */
#include <errno.h>
#include <stdlib.h>

#include "accel/accel.h"
#include "machine/irq.h"
#include "machine/vm.h"

int irq_connect(struct vm *vm, unsigned line, irq_line_fn fn, void *opaque)
{
	struct irq_listener *l;

	if (line >= VM_NR_IRQ_LINES)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fn = fn;
	l->opaque = opaque;
	l->next = vm->irq_lines[line];
	vm->irq_lines[line] = l;
	return 0;
}

void irq_set(struct vm *vm, unsigned line, int level)
{
	if (line >= VM_NR_IRQ_LINES)
		return;
	for (struct irq_listener *l = vm->irq_lines[line]; l; l = l->next)
		l->fn(l->opaque, line, level);
}

void irq_set_busy_fn(struct vm *vm, unsigned line, void *opaque, irq_busy_fn fn)
{
	if (line >= VM_NR_IRQ_LINES)
		return;
	for (struct irq_listener *l = vm->irq_lines[line]; l; l = l->next)
		if (l->opaque == opaque)
			l->busy = fn;
}

bool irq_line_busy(struct vm *vm, unsigned line)
{
	if (line >= VM_NR_IRQ_LINES)
		return false;
	for (struct irq_listener *l = vm->irq_lines[line]; l; l = l->next)
		if (l->busy && l->busy(l->opaque, line))
			return true;
	return false;
}

void irq_free(struct vm *vm)
{
	for (unsigned i = 0; i < VM_NR_IRQ_LINES; i++) {
		while (vm->irq_lines[i]) {
			struct irq_listener *l = vm->irq_lines[i];

			vm->irq_lines[i] = l->next;
			free(l);
		}
	}
}

void vm_set_intr_controller(struct vm *vm, const struct intr_ops *ops, void *opaque)
{
	vm->intr = ops;
	vm->intr_opaque = opaque;
}

int vm_intr_msr(struct vm *vm, unsigned cpu, bool write, uint32_t idx, uint64_t *val,
		uint64_t tsc)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&vm->lock);
	if (vm->intr && vm->intr->msr)
		ret = vm->intr->msr(vm->intr_opaque, cpu, write, idx, val, tsc);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static __thread unsigned current_cpu;

void vm_set_current_cpu(unsigned cpu)
{
	current_cpu = cpu;
}

unsigned vm_current_cpu(void)
{
	return current_cpu;
}

static void wake_halted(struct vm *vm)
{
	/* Wake halted vCPUs (generation counter: see vcpu_wait_halted()). */
	pthread_mutex_lock(&vm->halt_lock);
	vm->intr_gen++;
	pthread_cond_broadcast(&vm->halt_cond);
	pthread_mutex_unlock(&vm->halt_lock);
}

/*
 * A running vCPU must notice an asserted INTR (KVM injects only between
 * runs): called with vm->lock held, so ask the controller directly, and
 * kick only the vCPUs whose INTR is asserted.
 */
void vm_intr_changed_cpu(struct vm *vm, unsigned cpu)
{
	wake_halted(vm);
	if (vm->intr && cpu < vm->nr_vcpus && vm->intr->pending(vm->intr_opaque, cpu))
		vm->accel->vcpu_kick(vm->vcpus[cpu]);
}

void vm_intr_changed(struct vm *vm)
{
	wake_halted(vm);
	for (unsigned i = 0; vm->intr && i < vm->nr_vcpus; i++)
		if (vm->intr->pending(vm->intr_opaque, i))
			vm->accel->vcpu_kick(vm->vcpus[i]);
}

bool vm_intr_pending(struct vm *vm, unsigned cpu)
{
	bool p;

	if (!vm->intr)
		return false;
	pthread_mutex_lock(&vm->lock);
	p = vm->intr->pending(vm->intr_opaque, cpu);
	pthread_mutex_unlock(&vm->lock);
	return p;
}

int vm_intr_ack(struct vm *vm, unsigned cpu)
{
	int v;

	if (!vm->intr)
		return -1;
	pthread_mutex_lock(&vm->lock);
	v = vm->intr->pending(vm->intr_opaque, cpu) ? vm->intr->ack(vm->intr_opaque, cpu) : -1;
	pthread_mutex_unlock(&vm->lock);
	return v;
}

void vm_set_msi_handler(struct vm *vm, msi_fn fn, void *opaque)
{
	vm->msi = fn;
	vm->msi_opaque = opaque;
}

void vm_msi_send(struct vm *vm, uint64_t addr, uint32_t data)
{
	if (!vm->msi || (addr >> 20) != 0xfee) {
		vm->msi_dropped++;
		return;
	}
	vm->msi(vm->msi_opaque, addr, data);
}
