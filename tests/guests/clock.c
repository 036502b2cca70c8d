// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * clock: prints what a guest reads from its clocks — TSC deltas between
 * PIT ticks, PIT counts, the ACPI PM timer, RTC time and a tick count
 * after a fixed amount of work ("long": 40 times) — and, with "echo" on its command line,
 * each byte typed on COM1 with the tick and TSC at which it arrived
 * (until 'q' or 3000 ticks). Under -icount these are all functions of
 * the instruction count, so the output is byte-identical run after run
 * (tests/icount.sh); without it they follow the host and vary.
 *
 * Not in guest-runner.sh's list: its output is deterministic only under
 * -icount.
 */
#include "guest.h"

const char guest_name[] = "clock";

#define PIC_BASE	0x20
#define PM_TMR_PORT	0x608
#define COM1		0x3f8

static volatile unsigned ticks;
static volatile uint64_t tick_tsc[8];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void irq0(struct trap_frame *f)
{
	(void)f;
	if (ticks < 8)
		tick_tsc[ticks] = rdtsc();
	ticks++;
	pic_eoi(0);
}

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static bool cmdline_has(const char *word)
{
	const struct mb_info *mbi = guest_mbi();
	const char *s;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return false;
	for (s = (const char *)(uintptr_t)mbi->cmdline; *s; s++) {
		size_t i = 0;

		while (word[i] && s[i] == word[i])
			i++;
		if (!word[i])
			return true;
	}
	return false;
}

void guest_main(void)
{
	volatile uint64_t sink = 0;
	unsigned t0;

	pic_init(PIC_BASE);
	trap_set_handler(PIC_BASE, irq0);
	pit_start(1193);		/* ~1 kHz */
	pic_set_mask(0xfffe);
	sti();
	while (ticks < 8)
		asm volatile("hlt");
	for (unsigned i = 1; i < 8; i++)
		guest_printf("tsc delta %u: %llu\n", i,
			     (unsigned long long)(tick_tsc[i] - tick_tsc[i - 1]));
	/* "long": 40 rounds, so that a test can stop the guest in the middle (snapshots). */
	for (unsigned r = 0; r < (cmdline_has("long") ? 40u : 1u); r++) {
		t0 = ticks;
		for (unsigned i = 0; i < 200000; i++)
			sink += i;
		guest_printf("ticks during 200000 iterations: %u, pit count %u\n", ticks - t0,
			     pit_read_count());
	}
	guest_printf("pm timer %u, %u\n", inl(PM_TMR_PORT) & 0xffffff, inl(PM_TMR_PORT) & 0xffffff);
	guest_printf("rtc %02x:%02x:%02x %02x-%02x-%02x\n", cmos(4), cmos(2), cmos(0), cmos(9),
		     cmos(8), cmos(7));
	if (cmdline_has("echo")) {
		guest_printf("echo: type, q ends\n");
		t0 = ticks;
		while (ticks - t0 < 3000) {
			if (inb(COM1 + 5) & 1) {
				uint8_t c = inb(COM1);

				guest_printf("got %02x at tick %u tsc %llu\n", c, ticks - t0,
					     (unsigned long long)rdtsc());
				if (c == 'q')
					break;
			}
			asm volatile("pause");
		}
	}
	cli();
	guest_poweroff(0);
}
