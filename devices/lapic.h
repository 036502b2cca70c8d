/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_LAPIC_H
#define TANDEM_LAPIC_H
/*
 * Local APIC: the xAPIC MMIO model, and where the CPU model has them the
 * x2APIC MSR interface (0x800-0x8ff, IA32_APIC_BASE.EXTD; the MMIO page
 * reads 0 then) and the TSC-deadline timer (IA32_TSC_DEADLINE), both
 * reached through struct intr_ops' msr hook (vm_intr_msr()).
 *
 * The local APIC becomes the CPU's interrupt controller
 * (vm_set_intr_controller) and wraps the 8259 pair: the PIC's INTR reaches
 * the CPU directly while the APIC is software-disabled (SVR bit 8 clear,
 * the state at reset: no firmware runs before a directly booted guest, so
 * this is the "virtual wire" a BIOS would leave), and through LINT0 when
 * the APIC is enabled and LINT0 is unmasked in ExtINT mode. APIC vectors
 * are taken from IRR when their priority class is above PPR's.
 *
 * Version 0x00050014: an integrated xAPIC with six LVT entries (timer,
 * thermal, PMC, LINT0, LINT1, error; no CMCI) and no directed-EOI
 * support. The timer counts at LAPIC_BUS_HZ divided by the divide
 * configuration register, from the VM clock; Linux calibrates it against
 * the PIT, so any fixed rate works.
 *
 * One local APIC per vCPU, APIC id = vCPU index, and the APIC bus that
 * carries messages between them: IPIs from ICR writes, the I/O APIC's
 * redirection entries and MSIs (vm_set_msi_handler()) are routed by
 * physical or logical (flat, cluster) destination and by shorthand (self,
 * all, all but self). Lowest priority goes to one APIC, chosen
 * deterministically (see lapic.c's bus_lowest()). INIT puts an AP into
 * wait-for-SIPI and a STARTUP IPI starts it (vm_cpu_init()/vm_cpu_sipi()
 * in machine/irq.h); NMI messages go to the CPU's NMI input (vm_cpu_nmi()).
 *
 * The MMIO page at LAPIC_DEFAULT_BASE is the same address on every CPU and
 * shows the accessing CPU's own APIC: the engines dispatch MMIO on the
 * vCPU's own thread, which vm_current_cpu() names (a thread-local set by
 * the vCPU loop), so the bus API needs no vCPU argument for one device.
 *
 * Limits (documented, not bugs):
 *  - x2APIC destinations of the I/O APIC and MSIs stay 8-bit (no interrupt
 *    remapping), as without an IOMMU;
 *  - the MMIO page is fixed at LAPIC_DEFAULT_BASE: a guest relocating it
 *    through IA32_APIC_BASE is ignored (the MSR itself lives in the engines,
 *    which is also why the MSR's global enable bit is not seen here);
 *  - SMI messages are counted and dropped; INIT to the BSP is dropped too;
 *  - the 8259's INTR reaches the BSP only (its LINT0; an AP's has nothing);
 *  - CR8 is not tied to TPR (the engines own CR8; Linux uses the MMIO TPR).
 *
 * All functions run with vm->lock held.
 */
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8259;
struct lapic;

#define LAPIC_DEFAULT_BASE	0xfee00000u
#define LAPIC_MMIO_SIZE		0x1000u
#define LAPIC_VERSION		0x00050014u
/* Timer input before the divider: 1 GHz, so one tick per ns at divide-by-1. */
#define LAPIC_BUS_HZ		1000000000u
/* Periodic mode never fires more often than this (a guest cannot flood the host). */
#define LAPIC_MIN_PERIOD_NS	100000u
/* The longest a storm tick is held before the next look (see lapic.c). */
#define LAPIC_BACKOFF_MAX_NS	1000000u

/* Delivery modes: one encoding for ICR, LVT and I/O APIC redirection entries. */
enum {
	APIC_DM_FIXED		= 0,
	APIC_DM_LOWEST		= 1,
	APIC_DM_SMI		= 2,
	APIC_DM_NMI		= 4,
	APIC_DM_INIT		= 5,
	APIC_DM_STARTUP		= 6,
	APIC_DM_EXTINT		= 7,
};

/* An EOI for a level-triggered vector (TMR set): the I/O APIC clears remote IRR. */
typedef void (*lapic_eoi_fn)(void *opaque, uint8_t vector);

/*
 * Create the local APICs of @nr_cpus vCPUs (ids 0..nr_cpus-1) at
 * LAPIC_DEFAULT_BASE, make them the CPUs' interrupt controller, replacing
 * @pic's registration (create them after the PIC), and the MSI handler.
 * @pic (wired to the BSP's LINT0) may be NULL. NULL with errno set on
 * failure.
 */
struct lapic *lapic_create(struct vm *vm, unsigned nr_cpus, struct i8259 *pic);
/* Every APIC to its reset state. */
void lapic_reset(struct lapic *l);
/* Teardown only, after the bus, the timers and the I/O APIC no longer reach @l. */
void lapic_destroy(struct lapic *l);

/* Any APIC's EOI of a level-triggered vector calls @fn. */
void lapic_set_eoi_handler(struct lapic *l, lapic_eoi_fn fn, void *opaque);

/*
 * An interrupt message on the APIC bus (I/O APIC, MSI): delivery mode
 * APIC_DM_*, vector and trigger, to the APICs @dest names (0xff:
 * broadcast) in logical or physical mode. True if an APIC accepted it (a
 * level message then owes an EOI).
 */
bool lapic_bus_deliver(struct lapic *l, uint8_t dest, bool logical, unsigned mode,
		       uint8_t vector, bool level);
/* Does any CPU still hold @vector in IRR or ISR (irq_line_busy())? */
bool lapic_vector_busy(const struct lapic *l, uint8_t vector);

/* Inspection (debugging, tests) of vCPU @cpu's APIC. */
bool lapic_irr_test(const struct lapic *l, unsigned cpu, uint8_t vector);
bool lapic_isr_test(const struct lapic *l, unsigned cpu, uint8_t vector);
bool lapic_tmr_test(const struct lapic *l, unsigned cpu, uint8_t vector);
uint64_t lapic_dropped_messages(const struct lapic *l);
/* Timer ticks held back (coalesced) in timer storms, all CPUs, see lapic.c. */
uint64_t lapic_held_ticks(const struct lapic *l);

#endif
