// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * shadows: the one-instruction shadows after MOV SS, POP SS and STI
 * (32-bit protected mode, lib32 runtime). With TF=1 the single-step #DB
 * of a MOV SS / POP SS is held until the next instruction has run (an
 * Intel host does this, checked in ring 3), and so is STI's (with IF=0
 * before it) as QEMU TCG has it; other instructions trap right after.
 * (STI with IF=1 opens no shadow on hardware but does on QEMU: not checked.)
 * A fixed interrupt pending in the local APIC while IF=0 is taken one
 * instruction after STI, and STI; HLT takes it with the return address
 * after the HLT. DR6.BS is set for each single step.
 */
#include "guest32.h"

const char guest_name[] = "shadows";

#define APIC_BASE	0xfee00000u
#define APIC_SVR	0xf0
#define APIC_EOI	0xb0
#define APIC_ICR_LO	0x300
#define VEC_IPI		0x50

static volatile uint32_t db_count, db_eip, db_dr6, irq_count, irq_eip, irq_ecx;
static volatile uint32_t want_eip;

static void apic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static void on_db(struct trap_frame *f)
{
	uint32_t dr6;

	asm volatile("movl %%dr6, %0" : "=r"(dr6));
	db_count++;
	db_eip = f->eip;
	db_dr6 = dr6;
	asm volatile("movl %0, %%dr6" : : "r"(0u));
	f->eflags &= ~EFLAGS_TF;
}

static void on_ipi(struct trap_frame *f)
{
	irq_count++;
	irq_eip = f->eip;
	irq_ecx = f->ecx;
	apic_write(APIC_EOI, 0);
}

static void reset(void)
{
	db_count = db_eip = db_dr6 = 0;
	asm volatile("movl %0, %%dr6" : : "r"(0u));
}

/*
 * Each test: POPF sets TF (no trap after POPF itself), then the
 * instruction under test, then INC ECX; want_eip is where the #DB
 * should report: after the instruction under test, or after the INC.
 */
static void test_tf(void)
{
	uint32_t ecx;

	reset();
	asm volatile("movl $2f, want_eip\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "movw %%ss, %%ax\n\t"
		     "pushfl\n\t"
		     "orl $0x100, (%%esp)\n\t"
		     "popfl\n\t"
		     "movw %%ax, %%ss\n\t"
		     "incl %%ecx\n"
		     "2:\tincl %%ecx\n\t"
		     "nop"
		     : "=c"(ecx) : : "eax", "memory");
	check(db_count == 1 && db_eip == want_eip && ecx == 2,
	      "TF + MOV SS: one #DB, after the next instruction (INC ran)");
	check(db_dr6 & 0x4000, "TF + MOV SS: DR6.BS set");

	reset();
	asm volatile("movl $2f, want_eip\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "pushl %%ss\n\t"
		     "pushfl\n\t"
		     "orl $0x100, (%%esp)\n\t"
		     "popfl\n\t"
		     "popl %%ss\n\t"
		     "incl %%ecx\n"
		     "2:\tincl %%ecx\n\t"
		     "nop"
		     : "=c"(ecx) : : "memory");
	check(db_count == 1 && db_eip == want_eip && ecx == 2,
	      "TF + POP SS: one #DB, after the next instruction");

	reset();
	asm volatile("movl $2f, want_eip\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "pushfl\n\t"
		     "orl $0x100, (%%esp)\n\t"
		     "popfl\n\t"
		     "movl %%eax, %%ebx\n"
		     "2:\tincl %%ecx\n\t"
		     "nop"
		     : "=c"(ecx) : : "ebx", "memory");
	check(db_count == 1 && db_eip == want_eip && ecx == 1,
	      "TF + MOV reg: #DB right after it (no shadow)");

	/* IF=0 here: STI opens a shadow. */
	reset();
	asm volatile("movl $2f, want_eip\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "pushfl\n\t"
		     "orl $0x100, (%%esp)\n\t"
		     "popfl\n\t"
		     "sti\n\t"
		     "incl %%ecx\n"
		     "2:\tcli"
		     : "=c"(ecx) : : "memory");
	check(db_count == 1 && db_eip == want_eip && ecx == 1,
	      "TF + STI (IF was 0): one #DB, after the next instruction");
}

static void test_irq(void)
{
	uint32_t ecx;

	trap_set_handler(VEC_IPI, on_ipi);
	apic_write(APIC_SVR, 0x1ff);
	/* Self IPI with IF=0: it waits in the IRR. */
	irq_count = 0;
	apic_write(APIC_ICR_LO, 0x40000 | VEC_IPI);
	for (volatile int i = 0; i < 1000; i++)
		;
	check(irq_count == 0, "self IPI with IF=0: not taken");
	asm volatile("xorl %%ecx, %%ecx\n\t"
		     "sti\n\t"
		     "incl %%ecx\n\t"
		     "incl %%ecx\n\t"
		     "cli"
		     : "=c"(ecx) : : "memory");
	check(irq_count == 1 && irq_ecx == 1 && ecx == 2,
	      "pending interrupt and STI: taken after exactly one more instruction");

	irq_count = 0;
	apic_write(APIC_ICR_LO, 0x40000 | VEC_IPI);
	for (volatile int i = 0; i < 1000; i++)
		;
	asm volatile("movl $2f, want_eip\n\t"
		     "sti\n\t"
		     "hlt\n"
		     "2:\tcli" : : : "memory");
	check(irq_count == 1 && irq_eip == want_eip,
	      "pending interrupt and STI; HLT: taken with the return address after HLT");
	apic_write(APIC_SVR, 0xff);
}

void guest_main(void)
{
	pic_mask_all();
	trap_set_handler(1, on_db);
	test_tf();
	test_irq();
}
