/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_LAPIC_H
#define TANDEM_LAPIC_H
/*
 * Local APIC, xAPIC MMIO model (no x2APIC, no TSC-deadline timer).
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
 * Limits (documented, not bugs):
 *  - one local APIC, for vCPU 0: struct intr_ops has no vCPU argument and
 *    the MMIO page is the same for every CPU, so SMP needs both to change;
 *  - the MMIO page is fixed at LAPIC_DEFAULT_BASE: a guest relocating it
 *    through IA32_APIC_BASE is ignored (the MSR itself lives in the engines,
 *    which is also why the MSR's global enable bit is not seen here);
 *  - NMI, SMI, INIT and SIPI messages (ICR, LVT, I/O APIC) are counted and
 *    dropped: there is no NMI input in struct intr_ops yet, and with one CPU
 *    INIT/SIPI could only target the sender;
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
 * Create the local APIC with id @apic_id at LAPIC_DEFAULT_BASE and make it
 * the CPU's interrupt controller, replacing @pic's registration (create it
 * after the PIC). @pic may be NULL (no ExtINT source). NULL with errno set
 * on failure.
 */
struct lapic *lapic_create(struct vm *vm, uint8_t apic_id, struct i8259 *pic);
void lapic_reset(struct lapic *l);
/* Teardown only, after the bus, the timers and the I/O APIC no longer reach @l. */
void lapic_destroy(struct lapic *l);

void lapic_set_eoi_handler(struct lapic *l, lapic_eoi_fn fn, void *opaque);

/* Does (@dest, logical or physical) address this APIC? 0xff is broadcast. */
bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical);
/*
 * An interrupt message from the I/O APIC (or the bus): delivery mode
 * APIC_DM_*, vector, trigger. The caller has checked the destination.
 * True if the APIC accepted it (a level message then owes an EOI).
 */
bool lapic_deliver(struct lapic *l, unsigned mode, uint8_t vector, bool level);

/* Inspection (debugging, tests). */
bool lapic_irr_test(const struct lapic *l, uint8_t vector);
bool lapic_isr_test(const struct lapic *l, uint8_t vector);
bool lapic_tmr_test(const struct lapic *l, uint8_t vector);
uint64_t lapic_dropped_messages(const struct lapic *l);
/* Timer ticks held back (coalesced) in timer storms, see lapic.c. */
uint64_t lapic_held_ticks(const struct lapic *l);

#endif
