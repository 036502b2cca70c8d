// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * interrupts: the 8259A PIC and PIT channel 0 delivering IRQ0 through the
 * IDT. Remap the PIC to 0x20/0x28, run the PIT at ~1 kHz, count ticks with
 * HLT, then check the PIC's bookkeeping: ISR while a tick is in service,
 * no nesting before EOI, IRR while masked, delivery on unmask.
 *
 * Only counts we control are printed (never "how many ticks in N ms").
 */
#include "guest.h"

const char guest_name[] = "interrupts";

#define PIC_BASE	0x20
#define IRQ0_VEC	PIC_BASE
#define TICKS		10
#define PIT_DIVISOR	1193		/* ~1 kHz */

static volatile unsigned ticks;
static volatile bool send_eoi = true;
static volatile uint64_t irq_rflags;

static void irq0(struct trap_frame *f)
{
	ticks++;
	irq_rflags = f->rflags;
	if (send_eoi)
		pic_eoi(0);
}

/*
 * With IF=1, spin on the PIT for at least 4 counter periods and until the
 * PIC shows IRQ0 pending in IRR (at most 50 periods: a VMM may raise the
 * line a little after its counter reloads). Returns whether IRR bit 0 got
 * set; *@periods_ok says the PIT kept counting meanwhile.
 */
static bool wait_irr0_sti(bool *periods_ok)
{
	unsigned seen = 0;
	bool irr = false;

	sti();
	while (seen < 50) {
		if (pit_wait_reloads(1, 100000) != 1)
			break;
		seen++;
		if (seen >= 4 && (pic_read_irr() & 1)) {
			irr = true;
			break;
		}
	}
	cli();
	*periods_ok = seen >= 4;
	return irr;
}

/*
 * With the periodic timer quiet (one-shot, ~55 ms away), open IF for a
 * bounded spin: only an IRQ already pending can arrive, so the count is
 * exact. A spin (not STI;HLT) gives engines that check interrupts only at
 * block boundaries a few boundaries to do it.
 */
static unsigned ticks_in_window(void)
{
	unsigned before = ticks, spins = 2000;

	sti();
	while (ticks == before && --spins)
		barrier();
	cli();
	return ticks - before;
}

static void test_ticks(void)
{
	unsigned halts = 0;

	pic_set_mask(0xfffe);
	while (ticks < TICKS && halts < 10 * TICKS) {
		sti_hlt_cli();
		halts++;
	}
	check(ticks >= TICKS, "got %u timer ticks (IRQ0 -> vector 0x%x, HLT wake-ups)", TICKS,
	      IRQ0_VEC);
	check(halts <= ticks, "every HLT was ended by a tick");
	check(irq_rflags & RFLAGS_IF, "interrupted context had RFLAGS.IF set");
	check((pic_read_isr() & 1) == 0, "ISR clear after EOI");
}

static void test_no_eoi(void)
{
	bool irr, periods_ok;
	unsigned before;

	/* Take one tick without EOI: IRQ0 stays in service. */
	send_eoi = false;
	before = ticks;
	sti_hlt_cli();
	check(ticks == before + 1, "one tick taken without EOI");
	check(pic_read_isr() & 1, "ISR bit 0 set while IRQ0 is in service");

	/* Same priority cannot nest: further ticks wait in IRR. */
	before = ticks;
	irr = wait_irr0_sti(&periods_ok);
	check(periods_ok && ticks == before,
	      "no further IRQ0 before EOI (4+ PIT periods with IF=1)");
	check(irr, "IRR bit 0 set: the next tick is pending");

	/* EOI with IF=0 keeps it pending; opening IF lets exactly it in. */
	pit_oneshot(0xffff);
	send_eoi = true;
	pic_eoi(0);
	check((pic_read_isr() & 1) == 0, "EOI clears ISR bit 0");
	check(ticks_in_window() == 1, "the pending IRQ0 is delivered once IF=1 (exactly 1)");
}

static void test_mask(void)
{
	bool irr, periods_ok;
	unsigned before, first;

	pit_start(PIT_DIVISOR);
	pic_set_mask(0xffff);
	check(pic_get_mask() == 0xffff, "IMR reads back 0xffff");
	before = ticks;
	irr = wait_irr0_sti(&periods_ok);
	check(periods_ok && ticks == before,
	      "masked IRQ0 is not delivered (4+ PIT periods with IF=1)");
	check(irr, "IRR bit 0 set while masked");

	pit_oneshot(0xffff);
	pic_set_mask(0xfffe);
	check(pic_get_mask() == 0xfffe, "IMR reads back 0xfffe");
	check(ticks_in_window() == 1, "unmasking delivers the pending IRQ0 (exactly 1)");

	/*
	 * At least one tick per HLT, not exactly one: the PIT follows the host
	 * clock, and a host that deschedules the vCPU for over a period (1 ms)
	 * lets a second edge in before the CLI.
	 */
	pit_start(PIT_DIVISOR);
	before = ticks;
	sti_hlt_cli();
	first = ticks;
	sti_hlt_cli();
	check(first > before && ticks > first, "periodic ticks resume: each of 2 HLTs ends with a tick");
}

void guest_main(void)
{
	trap_set_handler(IRQ0_VEC, irq0);
	pic_init(PIC_BASE);
	check(pic_get_mask() == 0xffff, "PIC remapped to 0x20/0x28, all IRQs masked");
	pit_start(PIT_DIVISOR);

	test_ticks();
	test_no_eoi();
	test_mask();

	pic_set_mask(0xffff);
}
