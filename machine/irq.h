/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_IRQ_H
#define TANDEM_IRQ_H
/*
 * Interrupt lines and the CPUs' interrupt inputs.
 *
 * Devices raise and lower numbered lines (ISA IRQs 0-15 today); the board
 * routes each line to the controllers that listen to it (the 8259 pair,
 * later the IOAPIC). The controller that drives the CPU's INTR pin
 * registers a struct intr_ops; the engines ask it, at an instruction
 * boundary with IF=1, for the vector (the INTA cycle). Both engines use
 * the same userspace controllers, so a guest sees identical interrupt
 * behaviour on both.
 *
 * All functions here run with vm->lock held.
 */
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define VM_NR_IRQ_LINES		24

typedef void (*irq_line_fn)(void *opaque, unsigned line, int level);
/* Is the CPU not done with @line's last edge (see irq_line_busy())? */
typedef bool (*irq_busy_fn)(void *opaque, unsigned line);

/* Route @line to a controller input; several listeners per line allowed. */
int irq_connect(struct vm *vm, unsigned line, irq_line_fn fn, void *opaque);
/* Let @opaque's listener on @line answer irq_line_busy(). */
void irq_set_busy_fn(struct vm *vm, unsigned line, void *opaque, irq_busy_fn fn);
/* Set a line's level (edge devices pulse: 1 then 0). Out of range: ignored. */
void irq_set(struct vm *vm, unsigned line, int level);
/*
 * Has the CPU not finished with @line's last edge yet: still requested or
 * in service at a controller that would deliver it (not masked there)?
 * Timers running faster than interrupts can be delivered ask this to
 * coalesce their ticks (i8254.c); false when no controller can tell.
 */
bool irq_line_busy(struct vm *vm, unsigned line);
void irq_free(struct vm *vm);

/* The controller of each CPU's INTR input; @cpu is the vCPU index (= APIC id). */
struct intr_ops {
	bool (*pending)(void *opaque, unsigned cpu);	/* INTR pin asserted */
	int (*ack)(void *opaque, unsigned cpu);		/* INTA: the vector to deliver */
	/*
	 * The controller's MSRs (x2APIC 0x800-0x8ff, IA32_TSC_DEADLINE, and
	 * IA32_APIC_BASE writes, after the engine checked them) read or
	 * written by vCPU @cpu whose TSC reads @tsc; 0, or -EINVAL: #GP.
	 * May be NULL.
	 */
	int (*msr)(void *opaque, unsigned cpu, bool write, uint32_t idx, uint64_t *val,
		   uint64_t tsc);
};

void vm_set_intr_controller(struct vm *vm, const struct intr_ops *ops, void *opaque);
/* The controller's output changed: wake or kick the vCPUs it asserts INTR of. */
void vm_intr_changed(struct vm *vm);
/* ...only vCPU @cpu's output changed. */
void vm_intr_changed_cpu(struct vm *vm, unsigned cpu);
/* For engines: take vm->lock themselves. */
bool vm_intr_pending(struct vm *vm, unsigned cpu);
int vm_intr_ack(struct vm *vm, unsigned cpu);
/* For engines, taking vm->lock: the controller's MSR (see struct intr_ops); -EINVAL: #GP. */
int vm_intr_msr(struct vm *vm, unsigned cpu, bool write, uint32_t idx, uint64_t *val,
		uint64_t tsc);

/*
 * Processor-level messages from the APIC bus to vCPU @cpu (machine/vm.c);
 * each returns false when there is no such vCPU (the message is dropped):
 *  - INIT: the CPU waits for a STARTUP IPI (its registers as after INIT);
 *  - STARTUP (SIPI): a CPU waiting for one starts in real mode at
 *    @vector << 8 : 0 (base @vector << 12); ignored (true) otherwise;
 *  - NMI: the CPU's NMI input (latched until the engine takes it).
 */
bool vm_cpu_init(struct vm *vm, unsigned cpu);
bool vm_cpu_sipi(struct vm *vm, unsigned cpu, uint8_t vector);
bool vm_cpu_nmi(struct vm *vm, unsigned cpu);

/*
 * The vCPU this thread runs (set by the vCPU loop; 0 on any other
 * thread): device models that look different per CPU (the local APIC
 * page) ask it, as both engines dispatch MMIO on the accessing vCPU's
 * thread.
 */
void vm_set_current_cpu(unsigned cpu);
unsigned vm_current_cpu(void);

/*
 * Message-signalled interrupts (MSI/MSI-X): a device's write of @data to
 * @addr (0xfeeXXXXX: destination APIC id in bits 19:12, logical mode in
 * bit 2; data: vector, delivery mode, trigger), handed to whatever models
 * the APIC bus. Without a handler the message is dropped and counted.
 */
typedef void (*msi_fn)(void *opaque, uint64_t addr, uint32_t data);
void vm_set_msi_handler(struct vm *vm, msi_fn fn, void *opaque);
void vm_msi_send(struct vm *vm, uint64_t addr, uint32_t data);

#endif
