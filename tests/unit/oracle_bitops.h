/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TESTS_UNIT_ORACLE_BITOPS_H
#define TANDEM_TESTS_UNIT_ORACLE_BITOPS_H
/*
 * The scalar and cryptographic part of the host-CPU oracle
 * (oracle_bitops.c): BMI1, BMI2, ADX, MOVBE, RDRAND, RDSEED, AES-NI,
 * PCLMULQDQ, SHA. Run by test_sw_oracle after oracle_simd().
 */
#include <stdbool.h>

#include "tests/unit/oracle_simd.h"

/*
 * @per random cases per instruction form and operand size: prints the
 * counts per extension and adds them to @total. @compare_undef: compare
 * the flags the SDM leaves undefined, as on Intel hosts. Installs its own
 * signal handlers.
 */
void oracle_bitops(unsigned per, bool compare_undef, struct oracle_counts *total);

#endif
