// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the local APIC, the I/O APIC and the reset control
 * register, driven through the MMIO and port buses and the IRQ lines as
 * a guest and its devices would, with the guest clock under manual
 * control. The CPU side is the engines' view: vm_intr_pending() and the
 * INTA cycle (the registered intr_ops' ack()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/misc.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/timer.h"
#include "machine/vm.h"

static struct vm vm;

static void vm_setup(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	pthread_mutex_init(&vm.halt_lock, NULL);
	pthread_cond_init(&vm.halt_cond, NULL);
	vm_clock_set_manual(&vm, 0);
}

static void vm_teardown(void)
{
	bus_free(&vm.pio);
	bus_free(&vm.mmio);
	irq_free(&vm);
	vm_timers_free(&vm);
	pthread_mutex_destroy(&vm.lock);
	pthread_mutex_destroy(&vm.halt_lock);
	pthread_cond_destroy(&vm.halt_cond);
}

static void advance_to(uint64_t ns)
{
	vm_clock_set_manual(&vm, ns);
	vm_timers_run(&vm);
}

static uint8_t inb(uint16_t port)
{
	return pio_read(&vm, port, 1);
}

static void outb(uint16_t port, uint8_t v)
{
	pio_write(&vm, port, v, 1);
}

/* ---- local APIC and CPU side ----------------------------------------- */

#define LAPIC	LAPIC_DEFAULT_BASE
#define IOAPIC	IOAPIC_DEFAULT_BASE

enum {
	ID = 0x20, VER = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0,
	DFR = 0xe0, SVR = 0xf0, ISR0 = 0x100, TMR0 = 0x180, IRR0 = 0x200, ESR = 0x280,
	ICR_LO = 0x300, ICR_HI = 0x310, LVT_TIMER = 0x320, LVT_THERMAL = 0x330,
	LVT_PMC = 0x340, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370,
	TMICT = 0x380, TMCCT = 0x390, TDCR = 0x3e0,
};

#define MASKED		0x10000u
#define PERIODIC	0x20000u
#define DM_EXTINT	0x700u
#define DM_NMI		0x400u
#define ICR_SELF	(1u << 18)
#define ICR_ALL		(2u << 18)
#define ICR_OTHERS	(3u << 18)
#define ICR_LOGICAL	(1u << 11)

static uint32_t apic_r(unsigned reg)
{
	return (uint32_t)mmio_read(&vm, LAPIC + reg, 4);
}

static void apic_w(unsigned reg, uint32_t v)
{
	mmio_write(&vm, LAPIC + reg, v, 4);
}

static bool cpu_pending(void)
{
	return vm_intr_pending(&vm, vm_current_cpu());
}

/* The raw INTA, without vm_intr_ack()'s pending check: spurious cases too. */
static int cpu_ack(void)
{
	int v;

	pthread_mutex_lock(&vm.lock);
	v = vm.intr->ack(vm.intr_opaque, vm_current_cpu());
	pthread_mutex_unlock(&vm.lock);
	return v;
}

static void self_ipi(uint8_t vec)
{
	apic_w(ICR_LO, ICR_SELF | vec);
}

/* IRR/ISR/TMR bit of @vec as the guest reads it. */
static bool reg_bit(unsigned base, unsigned vec)
{
	return apic_r(base + (vec / 32) * 0x10) & (1u << (vec % 32));
}

static void line(unsigned n, int level)
{
	pthread_mutex_lock(&vm.lock);
	irq_set(&vm, n, level);
	pthread_mutex_unlock(&vm.lock);
}

static void pulse(unsigned n)
{
	line(n, 1);
	line(n, 0);
}

static struct lapic *make_lapic(uint8_t id, struct i8259 *pic, bool enable)
{
	/* APIC ids are vCPU indexes: APIC @id is the last of id + 1, and this thread is its CPU. */
	struct lapic *l = lapic_create(&vm, id + 1u, pic);

	vm_set_current_cpu(id);

	CU_ASSERT_PTR_NOT_NULL(l);
	if (l && enable)
		apic_w(SVR, 0x1ff);
	return l;
}

static void test_lapic_registers(void)
{
	struct i8259 *pic;
	struct lapic *l;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	CU_ASSERT_PTR_EQUAL(vm.intr_opaque, pic);
	l = make_lapic(3, pic, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* The LAPIC took the CPU's INTR pin over from the PIC. */
	CU_ASSERT_PTR_EQUAL(vm.intr_opaque, l);

	CU_ASSERT_EQUAL(apic_r(ID), 0x03000000);
	apic_w(ID, 0x07000000);
	CU_ASSERT_EQUAL(apic_r(ID), 0x03000000);
	CU_ASSERT_EQUAL(apic_r(VER), 0x00050014);
	CU_ASSERT_EQUAL(apic_r(SVR), 0xff);
	CU_ASSERT_EQUAL(apic_r(DFR), 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(LDR), 0);
	CU_ASSERT_EQUAL(apic_r(TPR), 0);
	for (unsigned r = LVT_TIMER; r <= LVT_ERROR; r += 0x10)
		CU_ASSERT_EQUAL(apic_r(r), MASKED);
	for (unsigned i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(apic_r(ISR0 + i * 0x10), 0);
		CU_ASSERT_EQUAL(apic_r(IRR0 + i * 0x10), 0);
		CU_ASSERT_EQUAL(apic_r(TMR0 + i * 0x10), 0);
	}

	apic_w(TPR, 0x1ff);
	CU_ASSERT_EQUAL(apic_r(TPR), 0xff);
	CU_ASSERT_EQUAL(apic_r(PPR), 0xff);
	apic_w(TPR, 0);
	apic_w(LDR, 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(LDR), 0xff000000);
	apic_w(DFR, 0);
	CU_ASSERT_EQUAL(apic_r(DFR), 0x0fffffff);
	apic_w(DFR, 0xffffffff);
	apic_w(ICR_HI, 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(ICR_HI), 0xff000000);
	apic_w(TDCR, 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(TDCR), 0xb);
	apic_w(TDCR, 0);

	/* Narrow reads see the register's bytes; the rest of a slot reads 0. */
	CU_ASSERT_EQUAL(mmio_read(&vm, LAPIC + VER, 1), 0x14);
	CU_ASSERT_EQUAL(mmio_read(&vm, LAPIC + VER + 2, 1), 0x05);
	CU_ASSERT_EQUAL(mmio_read(&vm, LAPIC + VER + 4, 4), 0);
	/* A narrow write is dropped. */
	mmio_write(&vm, LAPIC + TPR, 0x30, 1);
	CU_ASSERT_EQUAL(apic_r(TPR), 0);

	/* Software-disabled: LVT masks cannot be cleared. */
	apic_w(LVT_LINT0, DM_EXTINT);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT0), MASKED | DM_EXTINT);
	apic_w(SVR, 0x1ff);
	CU_ASSERT_EQUAL(apic_r(SVR), 0x1ff);
	apic_w(LVT_LINT0, DM_EXTINT);
	apic_w(LVT_LINT1, DM_NMI);
	apic_w(LVT_TIMER, 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT0), DM_EXTINT);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT1), DM_NMI);
	/* No TSC-deadline mode: bit 18 stays clear. */
	CU_ASSERT_EQUAL(apic_r(LVT_TIMER), 0x300ff);
	apic_w(LVT_ERROR, 0xffffffff);
	CU_ASSERT_EQUAL(apic_r(LVT_ERROR), 0x100ff);
	/* Disabling masks every LVT entry. */
	apic_w(SVR, 0xff);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT0), MASKED | DM_EXTINT);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT1), MASKED | DM_NMI);
	CU_ASSERT_EQUAL(apic_r(LVT_TIMER), 0x300ff);

	/* ESR: errors become visible at the next ESR write. */
	CU_ASSERT_EQUAL(apic_r(ESR), 0);
	apic_r(0x2f0);			/* no CMCI LVT: illegal register */
	CU_ASSERT_EQUAL(apic_r(ESR), 0);
	apic_w(ESR, 0);
	CU_ASSERT_EQUAL(apic_r(ESR), 0x80);
	apic_w(ESR, 0);
	CU_ASSERT_EQUAL(apic_r(ESR), 0);

	/* Reset brings the architectural state back. */
	apic_w(TPR, 0x20);
	apic_w(SVR, 0x1ff);
	pthread_mutex_lock(&vm.lock);
	lapic_reset(l);
	pthread_mutex_unlock(&vm.lock);
	CU_ASSERT_EQUAL(apic_r(TPR), 0);
	CU_ASSERT_EQUAL(apic_r(SVR), 0xff);
	CU_ASSERT_EQUAL(apic_r(LVT_LINT0), MASKED);

	lapic_destroy(l);
	i8259_destroy(pic);
	vm_teardown();
}

static void test_lapic_priority_eoi(void)
{
	struct lapic *l;
	uint64_t gen;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_FALSE(cpu_pending());

	gen = vm.intr_gen;
	self_ipi(0x45);
	CU_ASSERT(vm.intr_gen != gen);		/* the vCPUs were told */
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x45));
	CU_ASSERT_TRUE(lapic_irr_test(l, vm_current_cpu(), 0x45));
	CU_ASSERT_TRUE(cpu_pending());

	/* TPR: a class equal to the vector's blocks it; one below lets it through. */
	apic_w(TPR, 0x40);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(apic_r(PPR), 0x40);
	apic_w(TPR, 0x3f);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(apic_r(PPR), 0x3f);
	apic_w(TPR, 0);

	/* INTA: IRR -> ISR; PPR follows the in-service class. */
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x45);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x45));
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x45));
	CU_ASSERT_EQUAL(apic_r(PPR), 0x40);
	CU_ASSERT_FALSE(cpu_pending());

	/* Same class waits; a higher class nests. */
	self_ipi(0x41);
	CU_ASSERT_FALSE(cpu_pending());
	self_ipi(0x61);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x61);
	CU_ASSERT_EQUAL(apic_r(PPR), 0x60);
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x45));
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x61));
	/* APR: the highest of TPR, ISR and IRR classes. */
	CU_ASSERT_EQUAL(apic_r(APR), 0x60);

	/* EOI retires the highest in-service vector first. */
	apic_w(EOI, 0);
	CU_ASSERT_FALSE(reg_bit(ISR0, 0x61));
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x45));
	CU_ASSERT_FALSE(cpu_pending());		/* 0x41 still below 0x45's class */
	gen = vm.intr_gen;
	apic_w(EOI, 0);
	CU_ASSERT_FALSE(reg_bit(ISR0, 0x45));
	CU_ASSERT(vm.intr_gen != gen);		/* 0x41 became deliverable */
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x41);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(apic_r(PPR), 0);
	/* An EOI with nothing in service is harmless. */
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(apic_r(ISR0 + 0x20), 0);

	/* Highest IRR first, whatever the arrival order. */
	self_ipi(0x50);
	self_ipi(0xf0);
	self_ipi(0x90);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0xf0);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x90);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x50);
	apic_w(EOI, 0);
	CU_ASSERT_FALSE(cpu_pending());

	/* Spurious: INTA with nothing deliverable returns SVR's vector, ISR untouched. */
	apic_w(SVR, 0x13f);
	CU_ASSERT_EQUAL(cpu_ack(), 0x3f);
	CU_ASSERT_EQUAL(apic_r(ISR0 + 0x10), 0);
	apic_w(TPR, 0xf0);
	self_ipi(0x80);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(cpu_ack(), 0x3f);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x80));	/* still waiting */
	apic_w(TPR, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x80);
	apic_w(EOI, 0);

	/* Software-disabled: new fixed interrupts are not accepted. */
	apic_w(SVR, 0xff);
	self_ipi(0x70);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x70));
	CU_ASSERT_FALSE(cpu_pending());
	apic_w(SVR, 0x1ff);
	self_ipi(0x70);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x70));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x70);
	apic_w(EOI, 0);

	lapic_destroy(l);
	vm_teardown();
}

static void test_lapic_ipi(void)
{
	struct lapic *l;
	uint64_t dropped;

	vm_setup();
	l = make_lapic(2, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);

	/* Destination field, physical: own id and broadcast hit, others miss. */
	apic_w(ICR_HI, 0x02000000);
	apic_w(ICR_LO, 0x51);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x51));
	CU_ASSERT_EQUAL(apic_r(ICR_LO), 0x51);	/* delivery status: idle */
	apic_w(ICR_HI, 0x01000000);
	apic_w(ICR_LO, 0x52);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x52));
	apic_w(ICR_HI, 0xff000000);
	apic_w(ICR_LO, 0x53);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x53));

	/* Logical, flat model: a bit in common with LDR. */
	apic_w(LDR, 0x04000000);
	apic_w(ICR_HI, 0x05000000);
	apic_w(ICR_LO, ICR_LOGICAL | 0x54);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x54));
	apic_w(ICR_HI, 0x08000000);
	apic_w(ICR_LO, ICR_LOGICAL | 0x55);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x55));
	/* Cluster model: cluster in the high nibble, members in the low one. */
	apic_w(DFR, 0x0fffffff);
	apic_w(LDR, 0x31000000);
	apic_w(ICR_HI, 0x33000000);
	apic_w(ICR_LO, ICR_LOGICAL | 0x56);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x56));
	apic_w(ICR_HI, 0x21000000);
	apic_w(ICR_LO, ICR_LOGICAL | 0x57);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x57));
	apic_w(DFR, 0xffffffff);

	/* Shorthands: all-including-self hits, all-excluding-self does not. */
	apic_w(ICR_LO, ICR_ALL | 0x58);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x58));
	apic_w(ICR_LO, ICR_OTHERS | 0x59);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x59));
	/* Self IPIs are edge: TMR clear. */
	CU_ASSERT_FALSE(reg_bit(TMR0, 0x58));

	/* An illegal vector is a send error, not an interrupt. */
	apic_w(ESR, 0);
	self_ipi(0x05);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x05));
	apic_w(ESR, 0);
	CU_ASSERT_EQUAL(apic_r(ESR), 0x20);
	/* ...delivered through the error LVT when it is unmasked. */
	apic_w(LVT_ERROR, 0xe3);
	self_ipi(0x06);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0xe3));
	/* An illegal error vector cannot loop. */
	apic_w(LVT_ERROR, 0x02);
	self_ipi(0x07);
	apic_w(ESR, 0);
	CU_ASSERT_EQUAL(apic_r(ESR), 0x60);

	/* NMI and INIT to self are counted and dropped. */
	dropped = lapic_dropped_messages(l);
	apic_w(ICR_LO, ICR_SELF | DM_NMI);
	apic_w(ICR_LO, ICR_SELF | 0x500);
	CU_ASSERT_EQUAL(lapic_dropped_messages(l), dropped + 2);

	lapic_destroy(l);
	vm_teardown();
}

/* ---- LAPIC timer ------------------------------------------------------ */

static void test_lapic_timer_oneshot(void)
{
	static const struct {
		uint32_t tdcr;
		unsigned div;
	} divs[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	struct lapic *l;
	uint64_t t;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);

	apic_w(LVT_TIMER, 0x30);
	apic_w(TDCR, 0xb);		/* divide by 1: 1 count per ns */
	apic_w(TMICT, 1000);
	CU_ASSERT_EQUAL(apic_r(TMICT), 1000);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 1000);
	advance_to(400);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 600);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));
	advance_to(999);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 1);
	CU_ASSERT_FALSE(cpu_pending());
	advance_to(1000);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 0);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x30));
	CU_ASSERT_FALSE(reg_bit(TMR0, 0x30));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x30);
	apic_w(EOI, 0);
	/* One shot: nothing more, the count stays 0. */
	advance_to(100000);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(apic_r(TMCCT), 0);

	/* Every divide configuration. */
	t = 200000;
	for (size_t i = 0; i < sizeof(divs) / sizeof(divs[0]); i++) {
		advance_to(t);
		apic_w(TDCR, divs[i].tdcr);
		apic_w(TMICT, 1000);
		advance_to(t + 10 * divs[i].div);
		CU_ASSERT_EQUAL(apic_r(TMCCT), 990);
		advance_to(t + 1000 * divs[i].div - 1);
		CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));
		advance_to(t + 1000 * divs[i].div);
		CU_ASSERT_TRUE(reg_bit(IRR0, 0x30));
		CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x30);
		apic_w(EOI, 0);
		t += 1000 * divs[i].div + 1000;
	}

	/* A divider change keeps the count and continues at the new rate. */
	advance_to(t);
	apic_w(TDCR, 0xb);
	apic_w(TMICT, 1000);
	advance_to(t + 400);
	apic_w(TDCR, 0x0);		/* divide by 2 */
	CU_ASSERT_EQUAL(apic_r(TMCCT), 600);
	advance_to(t + 400 + 20);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 590);
	advance_to(t + 400 + 1199);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));
	advance_to(t + 400 + 1200);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x30));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x30);
	apic_w(EOI, 0);
	t += 10000;

	/* Masked: the count runs out, no interrupt. */
	advance_to(t);
	apic_w(TDCR, 0xb);
	apic_w(LVT_TIMER, MASKED | 0x30);
	apic_w(TMICT, 500);
	advance_to(t + 250);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 250);
	advance_to(t + 600);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 0);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));
	t += 1000;

	/* A zero initial count stops the timer. */
	advance_to(t);
	apic_w(LVT_TIMER, 0x30);
	apic_w(TMICT, 500);
	apic_w(TMICT, 0);
	advance_to(t + 10000);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));
	CU_ASSERT_EQUAL(apic_r(TMCCT), 0);

	/* A software-disabled APIC masks the timer too. */
	t += 20000;
	advance_to(t);
	apic_w(TMICT, 500);
	apic_w(SVR, 0xff);
	advance_to(t + 1000);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x30));

	lapic_destroy(l);
	vm_teardown();
}

static void test_lapic_timer_periodic(void)
{
	struct lapic *l;
	uint64_t t0 = 5000, p = 200000;
	unsigned hits = 0;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);

	advance_to(t0);
	apic_w(TDCR, 0x0);		/* divide by 2 */
	apic_w(LVT_TIMER, PERIODIC | 0x31);
	apic_w(TMICT, p / 2);		/* 100000 counts x 2 ns = 200 us */
	for (unsigned k = 1; k <= 5; k++) {
		advance_to(t0 + k * p - 1);
		CU_ASSERT_FALSE(reg_bit(IRR0, 0x31));
		CU_ASSERT_EQUAL(apic_r(TMCCT), 1);
		advance_to(t0 + k * p);
		CU_ASSERT_EQUAL(apic_r(TMCCT), p / 2);	/* reloaded */
		if (reg_bit(IRR0, 0x31))
			hits++;
		CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
		apic_w(EOI, 0);
		/* Mid-period the count keeps decreasing. */
		advance_to(t0 + k * p + p / 4);
		CU_ASSERT_EQUAL(apic_r(TMCCT), p / 2 - p / 8);
		advance_to(t0 + k * p + p / 2);
		CU_ASSERT_EQUAL(apic_r(TMCCT), p / 4);
	}
	CU_ASSERT_EQUAL(hits, 5);

	/* Missed periods coalesce into one interrupt; the phase is kept. */
	advance_to(t0 + 20 * p + p / 2);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	apic_w(EOI, 0);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(apic_r(TMCCT), p / 4);
	advance_to(t0 + 21 * p);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	apic_w(EOI, 0);

	/* Masking stops the interrupts but not the count. */
	apic_w(LVT_TIMER, PERIODIC | MASKED | 0x31);
	advance_to(t0 + 23 * p + p / 2);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(apic_r(TMCCT), p / 4);
	apic_w(LVT_TIMER, PERIODIC | 0x31);
	advance_to(t0 + 24 * p);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	apic_w(EOI, 0);

	/* A mode change stops the timer. */
	apic_w(LVT_TIMER, 0x31);
	CU_ASSERT_EQUAL(apic_r(TMICT), 0);
	advance_to(t0 + 30 * p);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x31));

	/* A tiny period is stretched to LAPIC_MIN_PERIOD_NS, never a flood. */
	t0 = t0 + 40 * p;
	advance_to(t0);
	apic_w(TDCR, 0xb);
	apic_w(LVT_TIMER, PERIODIC | 0x31);
	apic_w(TMICT, 10);
	advance_to(t0 + LAPIC_MIN_PERIOD_NS - 1);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x31));
	advance_to(t0 + LAPIC_MIN_PERIOD_NS);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	apic_w(EOI, 0);
	/* The count still spans 10..1 over the stretched period. */
	advance_to(t0 + LAPIC_MIN_PERIOD_NS + LAPIC_MIN_PERIOD_NS / 2);
	CU_ASSERT_EQUAL(apic_r(TMCCT), 5);
	advance_to(t0 + 1000000000ull);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	apic_w(TMICT, 0);

	lapic_destroy(l);
	vm_teardown();
}

/*
 * Count 1, divide 1 (a storm): a tick taken but not yet EOI'd holds the
 * next one back -- it is not even latched in IRR -- and the periods missed
 * meanwhile coalesce into one interrupt after the EOI. An ordinary period
 * still latches during service, as on hardware.
 */
static void test_lapic_timer_storm(void)
{
	struct lapic *l;
	uint64_t t0 = 5000, t;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);

	advance_to(t0);
	apic_w(TDCR, 0xb);		/* divide by 1 */
	apic_w(LVT_TIMER, PERIODIC | 0x31);
	apic_w(TMICT, 1);
	advance_to(t0 + LAPIC_MIN_PERIOD_NS);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	for (t = t0 + LAPIC_MIN_PERIOD_NS; t < t0 + 10000000; t += 10000)
		advance_to(t);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x31));
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x31));
	CU_ASSERT(lapic_held_ticks(l) >= 5 && lapic_held_ticks(l) <= 20);
	apic_w(EOI, 0);
	advance_to(t + LAPIC_BACKOFF_MAX_NS);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	apic_w(EOI, 0);

	/* 200 us asked for: no storm; a tick during service waits in IRR. */
	t += LAPIC_BACKOFF_MAX_NS;
	apic_w(TDCR, 0x0);		/* divide by 2 */
	apic_w(TMICT, 100000);
	advance_to(t + 200000);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x31);
	advance_to(t + 400000);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x31));
	CU_ASSERT_TRUE(reg_bit(ISR0, 0x31));
	apic_w(TMICT, 0);

	lapic_destroy(l);
	vm_teardown();
}

/* ---- virtual wire: the 8259 through the LAPIC ------------------------- */

static void test_virtual_wire(void)
{
	struct i8259 *pic;
	struct lapic *l;
	uint64_t gen;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	l = make_lapic(0, pic, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	outb(0x21, 0xfe);		/* unmask IRQ0; vectors 0x08 (reset state) */

	/* Software-disabled APIC: the PIC's INTR reaches the CPU directly. */
	CU_ASSERT_FALSE(cpu_pending());
	gen = vm.intr_gen;
	pulse(0);
	CU_ASSERT(vm.intr_gen != gen);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x08);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x01);
	outb(0x20, 0x20);

	/* Enabled with LINT0 masked (its reset state): the PIC is cut off. */
	apic_w(SVR, 0x1ff);
	pulse(0);
	CU_ASSERT_EQUAL(i8259_irr(pic, 0), 0x01);
	CU_ASSERT_FALSE(cpu_pending());

	/* LINT0 in ExtINT mode: the pending request goes through, INTA is the PIC's. */
	gen = vm.intr_gen;
	apic_w(LVT_LINT0, DM_EXTINT);
	CU_ASSERT(vm.intr_gen != gen);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x08);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x01);
	CU_ASSERT_EQUAL(apic_r(ISR0), 0);	/* not an APIC interrupt */
	outb(0x20, 0x20);

	/* ExtINT bypasses TPR and goes before APIC vectors. */
	apic_w(TPR, 0xff);
	pulse(0);
	CU_ASSERT_TRUE(cpu_pending());
	apic_w(TPR, 0);
	self_ipi(0xa0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x08);
	outb(0x20, 0x20);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0xa0);
	apic_w(EOI, 0);

	/* ExtINT masked again (what Linux does before using the I/O APIC). */
	apic_w(LVT_LINT0, MASKED | DM_EXTINT);
	pulse(0);
	CU_ASSERT_FALSE(cpu_pending());
	/* Software disable: the direct path comes back. */
	apic_w(SVR, 0xff);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x08);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(cpu_pending());

	lapic_destroy(l);
	i8259_destroy(pic);
	vm_teardown();
}

/* ---- I/O APIC -------------------------------------------------------- */

#define RTE_LEVEL	(1u << 15)
#define RTE_LOW		(1u << 13)
#define RTE_REMOTE_IRR	(1u << 14)
#define RTE_LOGICAL	(1u << 11)

static const unsigned pc_isa_to_gsi[IOAPIC_NR_ISA_IRQS] = {
	2, 1, IOAPIC_NO_PIN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

static uint32_t io_r(uint8_t reg)
{
	mmio_write(&vm, IOAPIC, reg, 4);
	return (uint32_t)mmio_read(&vm, IOAPIC + 0x10, 4);
}

static void io_w(uint8_t reg, uint32_t v)
{
	mmio_write(&vm, IOAPIC, reg, 4);
	mmio_write(&vm, IOAPIC + 0x10, v, 4);
}

static void rte_w(unsigned pin, uint32_t lo, uint8_t dest)
{
	io_w(0x11 + 2 * pin, (uint32_t)dest << 24);
	io_w(0x10 + 2 * pin, lo);
}

static uint32_t rte_lo(unsigned pin)
{
	return io_r(0x10 + 2 * pin);
}

static struct ioapic *make_ioapic(struct lapic *l)
{
	struct ioapic *io = ioapic_create(&vm, IOAPIC, 1, pc_isa_to_gsi, l);

	CU_ASSERT_PTR_NOT_NULL(io);
	return io;
}

static void test_ioapic_registers(void)
{
	static const unsigned dup[IOAPIC_NR_ISA_IRQS] = {
		2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	static const unsigned high[IOAPIC_NR_ISA_IRQS] = {
		16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	struct ioapic *io;

	vm_setup();
	/* Bad tables and ids are refused before anything is registered. */
	errno = 0;
	CU_ASSERT_PTR_NULL(ioapic_create(&vm, IOAPIC, 1, dup, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(ioapic_create(&vm, IOAPIC, 1, high, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NULL(ioapic_create(&vm, IOAPIC, 16, pc_isa_to_gsi, NULL));
	CU_ASSERT_EQUAL(vm.mmio.nr, 0);

	io = make_ioapic(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	CU_ASSERT_EQUAL(io_r(0x00), 0x01000000);
	CU_ASSERT_EQUAL(io_r(0x01), 0x00170020);
	CU_ASSERT_EQUAL(io_r(0x02), 0x01000000);
	io_w(0x00, 0xffffffff);
	CU_ASSERT_EQUAL(io_r(0x00), 0x0f000000);
	io_w(0x01, 0);
	CU_ASSERT_EQUAL(io_r(0x01), 0x00170020);
	/* IOREGSEL reads back. */
	mmio_write(&vm, IOAPIC, 0x13, 4);
	CU_ASSERT_EQUAL(mmio_read(&vm, IOAPIC, 4), 0x13);

	/* Reset: every entry masked, edge, vector 0, destination 0. */
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		CU_ASSERT_EQUAL(rte_lo(pin), 0x10000);
		CU_ASSERT_EQUAL(io_r(0x11 + 2 * pin), 0);
	}
	/* Writable bits; delivery status and remote IRR are read-only. */
	io_w(0x10 + 2 * 23, 0xffffffff);
	CU_ASSERT_EQUAL(rte_lo(23), 0x1afff);
	io_w(0x11 + 2 * 23, 0xffffffff);
	CU_ASSERT_EQUAL(io_r(0x11 + 2 * 23), 0xff000000);
	CU_ASSERT_EQUAL(ioapic_redir(io, 23), 0xff0000000001afffull);
	/* Past the last entry: reads 0, writes go nowhere. */
	io_w(0x10 + 2 * 24, 0x1234);
	CU_ASSERT_EQUAL(io_r(0x10 + 2 * 24), 0);

	/* Narrow IOWIN accesses touch only their bytes. */
	io_w(0x10 + 2 * 5, 0x10000);
	mmio_write(&vm, IOAPIC + 0x10, 0x42, 1);
	CU_ASSERT_EQUAL(rte_lo(5), 0x10042);
	mmio_write(&vm, IOAPIC + 0x12, 0x00, 1);
	CU_ASSERT_EQUAL(rte_lo(5), 0x00042);
	CU_ASSERT_EQUAL(mmio_read(&vm, IOAPIC + 0x10, 1), 0x42);

	pthread_mutex_lock(&vm.lock);
	ioapic_reset(io);
	pthread_mutex_unlock(&vm.lock);
	CU_ASSERT_EQUAL(rte_lo(5), 0x10000);
	CU_ASSERT_EQUAL(rte_lo(23), 0x10000);
	CU_ASSERT_EQUAL(io_r(0x00), 0x01000000);

	ioapic_destroy(io);
	vm_teardown();
}

static void test_ioapic_edge(void)
{
	struct lapic *l;
	struct ioapic *io;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	io = make_ioapic(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);

	/* Masked at reset: nothing. */
	pulse(4);
	CU_ASSERT_FALSE(cpu_pending());

	rte_w(4, 0x34, 0);
	pulse(4);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x34));
	CU_ASSERT_FALSE(reg_bit(TMR0, 0x34));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x34);
	/* An edge pin needs no EOI before the next edge. */
	pulse(4);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x34));
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x34);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(rte_lo(4) & RTE_REMOTE_IRR, 0);

	/* A held line gives one edge, not a stream. */
	line(4, 1);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x34);
	apic_w(EOI, 0);
	line(4, 1);
	CU_ASSERT_FALSE(cpu_pending());
	line(4, 0);

	/* An edge on a masked pin is discarded, even after unmasking. */
	rte_w(4, 0x10034, 0);
	pulse(4);
	rte_w(4, 0x34, 0);
	CU_ASSERT_FALSE(cpu_pending());

	/* Destinations: physical other id misses; broadcast and logical match hit. */
	rte_w(4, 0x34, 1);
	pulse(4);
	CU_ASSERT_FALSE(cpu_pending());
	rte_w(4, 0x34, 0xff);
	pulse(4);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x34);
	apic_w(EOI, 0);
	apic_w(LDR, 0x01000000);
	rte_w(4, RTE_LOGICAL | 0x34, 0x01);
	pulse(4);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x34);
	apic_w(EOI, 0);
	rte_w(4, RTE_LOGICAL | 0x34, 0x02);
	pulse(4);
	CU_ASSERT_FALSE(cpu_pending());
	/* Lowest priority goes to the one LAPIC. */
	rte_w(4, RTE_LOGICAL | 0x100 | 0x35, 0x01);
	pulse(4);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x35);
	apic_w(EOI, 0);

	/* ISA IRQ 0 is on pin 2, not pin 0; IRQ 2 reaches nothing. */
	rte_w(0, 0x40, 0);
	rte_w(2, 0x42, 0);
	pulse(0);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x40));
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x42));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x42);
	apic_w(EOI, 0);
	pulse(2);
	CU_ASSERT_FALSE(cpu_pending());
	/* Lines 16-23 reach pins 16-23. */
	rte_w(20, 0x60, 0);
	pulse(20);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x60);
	apic_w(EOI, 0);

	/* NMI messages are dropped (no NMI input yet) and counted. */
	rte_w(4, 0x400, 0);
	pulse(4);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(lapic_dropped_messages(l), 1);

	ioapic_destroy(io);
	lapic_destroy(l);
	vm_teardown();
}

static void test_ioapic_level(void)
{
	struct lapic *l;
	struct ioapic *io;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	io = make_ioapic(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);

	rte_w(9, RTE_LEVEL | 0x59, 0);
	line(9, 1);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x59));
	CU_ASSERT_TRUE(reg_bit(TMR0, 0x59));	/* level: Linux checks this */
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x59);
	/* Remote IRR holds further messages while the line stays high. */
	line(9, 0);
	line(9, 1);
	CU_ASSERT_FALSE(reg_bit(IRR0, 0x59));
	/* An EOI for another (edge) vector does not touch it. */
	self_ipi(0x90);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x90);
	apic_w(EOI, 0);
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	/* The EOI broadcast clears remote IRR; the still-high line sends again. */
	apic_w(EOI, 0);
	CU_ASSERT_FALSE(reg_bit(ISR0, 0x59));
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x59));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x59);
	/* Line low before the EOI: nothing more. */
	line(9, 0);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(rte_lo(9) & RTE_REMOTE_IRR, 0);
	CU_ASSERT_FALSE(cpu_pending());
	/* Re-assertion after the EOI delivers again. */
	line(9, 1);
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x59);

	/* The I/O APIC's own EOI register clears remote IRR too. */
	mmio_write(&vm, IOAPIC + 0x40, 0x58, 4);	/* another vector: no effect */
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	line(9, 0);
	mmio_write(&vm, IOAPIC + 0x40, 0x59, 4);
	CU_ASSERT_EQUAL(rte_lo(9) & RTE_REMOTE_IRR, 0);
	/* (the LAPIC's ISR is the guest's business) */
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(apic_r(ISR0 + 0x20), 0);

	/* Masked while asserted: held; unmasking delivers. */
	rte_w(9, 0x10000 | RTE_LEVEL | 0x59, 0);
	line(9, 1);
	CU_ASSERT_FALSE(cpu_pending());
	CU_ASSERT_EQUAL(rte_lo(9) & RTE_REMOTE_IRR, 0);
	rte_w(9, RTE_LEVEL | 0x59, 0);
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x59);
	line(9, 0);
	apic_w(EOI, 0);

	/* A software-disabled LAPIC refuses: no remote IRR, retried on enable+event. */
	apic_w(SVR, 0xff);
	line(9, 1);
	CU_ASSERT_EQUAL(rte_lo(9) & RTE_REMOTE_IRR, 0);
	apic_w(SVR, 0x1ff);
	rte_w(9, RTE_LEVEL | 0x59, 0);
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x59);
	line(9, 0);
	apic_w(EOI, 0);

	/* Switching the entry to edge drops a stale remote IRR. */
	line(9, 1);
	CU_ASSERT_TRUE(rte_lo(9) & RTE_REMOTE_IRR);
	rte_w(9, 0x10000 | 0x59, 0);
	CU_ASSERT_EQUAL(rte_lo(9) & RTE_REMOTE_IRR, 0);
	line(9, 0);

	ioapic_destroy(io);
	lapic_destroy(l);
	vm_teardown();
}

static void test_ioapic_polarity(void)
{
	struct lapic *l;
	struct ioapic *io;

	vm_setup();
	l = make_lapic(0, NULL, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	io = make_ioapic(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);

	/* Active-low edge: the falling line edge is the interrupt. */
	line(5, 1);
	rte_w(5, RTE_LOW | 0x45, 0);
	CU_ASSERT_FALSE(cpu_pending());
	line(5, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x45);
	apic_w(EOI, 0);
	line(5, 1);
	CU_ASSERT_FALSE(cpu_pending());

	/* Active-low level: asserted while the line is low. */
	rte_w(11, 0x10000 | RTE_LOW | RTE_LEVEL | 0x4b, 0);
	line(11, 1);
	rte_w(11, RTE_LOW | RTE_LEVEL | 0x4b, 0);
	CU_ASSERT_FALSE(cpu_pending());
	line(11, 0);
	CU_ASSERT_TRUE(reg_bit(IRR0, 0x4b));
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x4b);
	line(11, 1);
	apic_w(EOI, 0);
	CU_ASSERT_EQUAL(rte_lo(11) & RTE_REMOTE_IRR, 0);
	CU_ASSERT_FALSE(cpu_pending());
	/* Flipping the polarity of a high line asserts it at once. */
	rte_w(11, RTE_LEVEL | 0x4b, 0);
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x4b);

	ioapic_destroy(io);
	lapic_destroy(l);
	vm_teardown();
}

static void test_ioapic_extint(void)
{
	struct i8259 *pic;
	struct lapic *l;
	struct ioapic *io;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	l = make_lapic(0, pic, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	io = make_ioapic(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	outb(0x21, 0xf7);		/* unmask PIC IRQ3 */

	/* LINT0 masked: the PIC's INTR only gets in through an ExtINT message. */
	rte_w(3, 0x700, 0);
	pulse(3);
	CU_ASSERT_TRUE(cpu_pending());
	CU_ASSERT_EQUAL(vm_intr_ack(&vm, vm_current_cpu()), 0x0b);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x08);
	CU_ASSERT_EQUAL(apic_r(ISR0), 0);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(cpu_pending());

	ioapic_destroy(io);
	lapic_destroy(l);
	i8259_destroy(pic);
	vm_teardown();
}

static uint64_t pit_ns(uint64_t ticks)
{
	return (ticks * 1000000000ull + I8254_HZ - 1) / I8254_HZ;
}

/* The pc board's wiring: the PIT on line 0 reaches the PIC's IR0 and I/O APIC pin 2. */
static void test_pit_via_ioapic(void)
{
	struct i8259 *pic;
	struct lapic *l;
	struct ioapic *io;
	struct i8254 *pit;
	unsigned hits = 0;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	l = make_lapic(0, pic, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	io = make_ioapic(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	pit = i8254_create(&vm, I8254_BASE, I8254_IRQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pit);

	/* What Linux does: PIC IRQ0 masked, LINT0 masked ExtINT, pin 2 -> 0x30. */
	outb(0x21, 0xff);
	apic_w(SVR, 0x1ff);
	apic_w(LVT_LINT0, MASKED | DM_EXTINT);
	apic_w(LDR, 0x01000000);
	rte_w(2, RTE_LOGICAL | 0x30, 0x01);
	outb(0x43, 0x34);		/* ch0, lo/hi, mode 2, 1000 ticks */
	outb(0x40, 1000 & 0xff);
	outb(0x40, 1000 >> 8);

	for (unsigned k = 1; k <= 4; k++) {
		advance_to(pit_ns(k * 1000) - 1);
		CU_ASSERT_FALSE(cpu_pending());
		advance_to(pit_ns(k * 1000) + 1);
		if (cpu_pending() && vm_intr_ack(&vm, vm_current_cpu()) == 0x30)
			hits++;
		apic_w(EOI, 0);
	}
	CU_ASSERT_EQUAL(hits, 4);
	/* The PIC saw the same edges (masked, so they only sit in IRR). */
	CU_ASSERT_EQUAL(i8259_irr(pic, 0) & 1, 1);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0);

	i8254_destroy(pit);
	ioapic_destroy(io);
	lapic_destroy(l);
	i8259_destroy(pic);
	vm_teardown();
}

/* ---- reset control register ------------------------------------------ */

static void test_reset_control(void)
{
	struct misc_rcr *r;

	vm_setup();
	r = misc_rcr_create(&vm, MISC_RESET_CONTROL_PORT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(inb(0xcf9), 0);
	outb(0xcf9, 0x02);		/* hard-reset select only */
	CU_ASSERT_EQUAL(inb(0xcf9), 0x02);
	CU_ASSERT_FALSE(vm.reset_request);
	outb(0xcf9, 0x06);		/* the FADT's reset value */
	CU_ASSERT_TRUE(vm.reset_request);
	CU_ASSERT_EQUAL(inb(0xcf9), 0x06);
	misc_rcr_reset(r);
	CU_ASSERT_EQUAL(inb(0xcf9), 0);
	vm.reset_request = false;
	outb(0xcf9, 0x04);		/* soft reset works the same */
	CU_ASSERT_TRUE(vm.reset_request);
	misc_rcr_destroy(r);
	vm_teardown();
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "lapic registers", test_lapic_registers },
		{ "lapic priority, ack, EOI", test_lapic_priority_eoi },
		{ "lapic IPIs and errors", test_lapic_ipi },
		{ "lapic timer one-shot and divider", test_lapic_timer_oneshot },
		{ "lapic timer periodic", test_lapic_timer_periodic },
		{ "lapic timer storm coalesces", test_lapic_timer_storm },
		{ "virtual wire (PIC through LINT0)", test_virtual_wire },
		{ "ioapic registers", test_ioapic_registers },
		{ "ioapic edge", test_ioapic_edge },
		{ "ioapic level and EOI", test_ioapic_level },
		{ "ioapic polarity", test_ioapic_polarity },
		{ "ioapic ExtINT", test_ioapic_extint },
		{ "PIT through ioapic pin 2", test_pit_via_ioapic },
		{ "reset control register", test_reset_control },
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("apic", NULL, NULL);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
