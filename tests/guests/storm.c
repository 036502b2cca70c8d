// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * storm: a guest that programs its timers as fast as they go -- the PIT
 * at divisor 1 (mode 2 takes it as 2: ~600 kHz) and the local APIC timer
 * periodic at count 1, divide by 1 -- and must still get its own work
 * done. With every edge turned into an interrupt (and every interrupt
 * into a kick of the vCPU) the VMM spends its time delivering them and
 * the guest makes no progress; edges the guest has not taken yet must
 * coalesce, as QEMU's lost-tick policy has them.
 *
 * Only what we control is printed: that the loop finished and that the
 * timer did interrupt it (never how often).
 */
#include "guest.h"

const char guest_name[] = "storm";

#define LOOPS		1000000u
/* A fast engine may be done before the first tick: go on until one came. */
#define LOOPS_MAX	(64 * LOOPS)
#define PIT_VEC		0x20
#define APIC_VEC	0x40

#define APIC_BASE	0xfee00000ul
#define APIC_EOI	0x0b0
#define APIC_SVR	0x0f0
#define APIC_LVT_TIMER	0x320
#define APIC_TMICT	0x380
#define APIC_TDCR	0x3e0

static volatile unsigned pit_ticks, apic_ticks;

static void apic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static void pit_irq(struct trap_frame *f)
{
	pit_ticks++;
	pic_eoi(0);
}

static void apic_irq(struct trap_frame *f)
{
	apic_ticks++;
	apic_write(APIC_EOI, 0);
}

/*
 * The guest's own work, with interrupts on: a loop the compiler must keep,
 * LOOPS iterations and then on until @ticks has moved (at most LOOPS_MAX).
 */
static unsigned work(volatile unsigned *ticks)
{
	volatile unsigned n = 0;
	unsigned before = *ticks;

	sti();
	while (n < LOOPS || (*ticks == before && n < LOOPS_MAX))
		n++;
	cli();
	return n;
}

static void pit_storm(void)
{
	unsigned done;

	pic_set_mask(0xfffe);
	pit_start(1);
	done = work(&pit_ticks);
	pit_oneshot(0xffff);	/* quiet again */
	pic_set_mask(0xffff);
	check(done >= LOOPS, "%u loop iterations with the PIT at divisor 1", LOOPS);
	check(pit_ticks > 0, "the PIT interrupted the loop");
}

static void apic_storm(void)
{
	unsigned done;

	apic_write(APIC_SVR, 0x1ff);			/* enabled, spurious vector 0xff */
	apic_write(APIC_TDCR, 0xb);			/* divide by 1 */
	apic_write(APIC_LVT_TIMER, 1u << 17 | APIC_VEC);	/* periodic */
	apic_write(APIC_TMICT, 1);
	done = work(&apic_ticks);
	apic_write(APIC_TMICT, 0);
	apic_write(APIC_LVT_TIMER, 1u << 16);		/* masked */
	check(done >= LOOPS, "%u loop iterations with the APIC timer at count 1, divide 1",
	      LOOPS);
	check(apic_ticks > 0, "the APIC timer interrupted the loop");
}

void guest_main(void)
{
	pic_init(PIT_VEC);
	trap_set_handler(PIT_VEC, pit_irq);
	trap_set_handler(APIC_VEC, apic_irq);
	pit_storm();
	apic_storm();
}
