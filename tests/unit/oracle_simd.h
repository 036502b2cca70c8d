/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TESTS_UNIT_ORACLE_SIMD_H
#define TANDEM_TESTS_UNIT_ORACLE_SIMD_H
/*
 * The x86-64-v2 part of the host-CPU oracle (oracle_simd.c), run by
 * test_sw_oracle after the ALU families.
 */
#include <stdbool.h>

#include "tests/unit/sw_harness.h"

struct oracle_counts {
	unsigned long cases, mismatches, faults;
};

/*
 * @per random cases per instruction form and operand size: prints the
 * counts per extension and adds them to @total. @compare_undef: compare
 * the flags the SDM leaves undefined (LZCNT's), as on Intel hosts.
 * Installs its own signal handlers (the caller's are replaced).
 */
void oracle_simd(unsigned per, bool compare_undef, struct oracle_counts *total);

#endif
