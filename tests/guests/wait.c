// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wait: says it is waiting, then never ends by itself, so that a test can
 * signal tandem while a guest runs (tests/signals.sh). It spins with
 * interrupts enabled, or, with "hlt" on its command line, halts with
 * interrupts enabled and every IRQ masked: a vCPU asleep in HLT. With
 * "silent" it says nothing at all (tests/progress.py: a guest that has
 * not printed yet).
 *
 * Not in guest-runner.sh's list: it has no end to compare.
 */
#include "guest.h"

const char guest_name[] = "wait";

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
	bool hlt = cmdline_has("hlt");

	pic_init(0x20);
	if (!cmdline_has("silent"))
		guest_printf("wait: waiting (%s)\n", hlt ? "hlt" : "spin");
	for (;;) {
		if (hlt)
			asm volatile("sti; hlt" : : : "memory");
		else
			sti();
		barrier();
	}
}
