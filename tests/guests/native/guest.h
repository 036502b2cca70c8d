/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TESTS_GUESTS_NATIVE_GUEST_H
#define TANDEM_TESTS_GUESTS_NATIVE_GUEST_H
/*
 * Just enough of the guest kit's guest.h to build a guest that only
 * computes and prints (tests/guests/isa.c) as a host program: its output
 * natively is the reference the engines' output is compared with
 * (tests/isa.sh). GUEST_NATIVE tells the guest to skip what needs ring 0.
 */
#include <cpuid.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GUEST_NATIVE 1
#define guest_printf printf

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	__cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
}

void guest_main(void);

int main(void)
{
	guest_main();
	return 0;
}

#endif
