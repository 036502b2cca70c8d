// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nmi: NMI delivery and blocking through the local APIC (32-bit protected
 * mode, lib32 runtime). A self NMI (ICR delivery mode NMI, physical
 * destination = own APIC ID) arrives through vector 2 with IF=0; a
 * second NMI sent from the NMI handler is held until its IRET and then
 * taken at once; an IRET of another handler (INT3) inside the NMI handler
 * unblocks NMIs too, so a held NMI nests there (the host CPU's rule);
 * the NMI handler sees the interrupted EFLAGS with IF=0 unchanged.
 * Every wait for an NMI is a bounded spin: an IPI takes a few
 * instructions to arrive on hardware.
 */
#include "guest32.h"

const char guest_name[] = "nmi";

#define APIC_BASE	0xfee00000u
#define APIC_ID		0x20
#define APIC_SVR	0xf0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310

enum { MODE_PLAIN, MODE_RESEND, MODE_INT3 };

static volatile uint32_t nmi_count, nmi_depth, nmi_max_depth, mode;
static volatile uint32_t seen_inside, nmi_eflags, bp_count;

static uint32_t apic_read(unsigned reg)
{
	return *(volatile uint32_t *)(APIC_BASE + reg);
}

static void apic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static void self_nmi(void)
{
	apic_write(APIC_ICR_HI, apic_read(APIC_ID) & 0xff000000u);
	apic_write(APIC_ICR_LO, 0x4400);	/* NMI, assert, physical, no shorthand */
}

/* Spin until nmi_count reaches @n or a bound passes. */
static void wait_nmis(uint32_t n)
{
	for (volatile uint32_t i = 0; i < 100000 && nmi_count < n; i++)
		;
}

static void spin(void)
{
	for (volatile uint32_t i = 0; i < 20000; i++)
		;
}

static void on_bp(struct trap_frame *f)
{
	(void)f;
	bp_count++;
}

static void on_nmi(struct trap_frame *f)
{
	uint32_t first = nmi_count == 0 || nmi_depth == 0;

	nmi_count++;
	if (++nmi_depth > nmi_max_depth)
		nmi_max_depth = nmi_depth;
	if (nmi_depth == 1)
		nmi_eflags = f->eflags;
	if (first && nmi_depth == 1 && mode == MODE_RESEND) {
		uint32_t before = nmi_count;

		mode = MODE_PLAIN;
		self_nmi();
		spin();
		seen_inside = nmi_count - before;	/* held: 0 */
	} else if (nmi_depth == 1 && mode == MODE_INT3) {
		uint32_t before = nmi_count;

		mode = MODE_PLAIN;
		self_nmi();
		spin();
		seen_inside = nmi_count - before;	/* still held: 0 */
		asm volatile("int3" : : : "memory");
		spin();
		seen_inside |= (nmi_count - before) << 8;	/* nested after INT3's IRET: 1 */
	}
	nmi_depth--;
}

void guest_main(void)
{
	pic_mask_all();
	trap_set_handler(2, on_nmi);
	trap_set_handler(3, on_bp);
	apic_write(APIC_SVR, 0x1ff);

	mode = MODE_PLAIN;
	self_nmi();
	wait_nmis(1);
	check(nmi_count == 1, "self NMI with IF=0: delivered through vector 2");
	check(!(nmi_eflags & EFLAGS_IF), "NMI handler: the interrupted EFLAGS have IF=0");
	spin();
	check(nmi_count == 1, "one NMI message, one NMI");

	nmi_count = nmi_max_depth = 0;
	mode = MODE_RESEND;
	self_nmi();
	wait_nmis(2);
	check(seen_inside == 0, "NMI sent inside the NMI handler: held while it runs");
	check(nmi_count == 2 && nmi_max_depth == 1,
	      "the held NMI is taken after the handler's IRET, not nested");

	nmi_count = nmi_max_depth = seen_inside = 0;
	mode = MODE_INT3;
	self_nmi();
	wait_nmis(2);
	check((seen_inside & 0xff) == 0 && bp_count == 1,
	      "NMI held inside the NMI handler until another IRET");
	check((seen_inside >> 8) == 1 && nmi_max_depth == 2,
	      "the IRET of an INT3 handler inside the NMI handler unblocks NMIs: it nests");
	check(nmi_count == 2, "two NMIs in all");
	apic_write(APIC_SVR, 0xff);
}
