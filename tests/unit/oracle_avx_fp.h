/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_TESTS_UNIT_ORACLE_AVX_FP_H
#define TANDEM_TESTS_UNIT_ORACLE_AVX_FP_H
/*
 * The AVX floating-point, FMA and F16C part of the host-CPU oracle
 * (oracle_avx_fp.c), run by test_sw_oracle after oracle_simd().
 */
#include "tests/unit/oracle_simd.h"

/*
 * @per random cases per form: prints the counts per extension and the
 * VEX availability checks, and adds them to @total. Skips (prints why)
 * when the host lacks AVX, AVX2, FMA, F16C or OSXSAVE.
 */
void oracle_avx_fp(unsigned per, struct oracle_counts *total);

#endif
