/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TESTS_UNIT_ORACLE_AVX_INT_H
#define TANDEM_TESTS_UNIT_ORACLE_AVX_INT_H
/*
 * The integer AVX/AVX2 part of the host-CPU oracle (oracle_avx_int.c),
 * run by test_sw_oracle after the x86-64-v2 extensions.
 */
#include "tests/unit/oracle_simd.h"

/*
 * @per random cases per instruction form and vector length: prints the
 * counts per extension (AVX integer, AVX2) and adds them to @total.
 * Skips (says so) what the host does not have. Installs its own signal
 * handlers.
 */
void oracle_avx_int(unsigned per, struct oracle_counts *total);

#endif
