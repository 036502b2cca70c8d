/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BENCH_WORKLOADS_H
#define TANDEM_BENCH_WORKLOADS_H
/*
 * Benchmark workloads, compiled twice from workloads.c: into the bench
 * guest (tests/bench/bench.elf, guest kit) and into the native host program
 * (tests/bench/bench-native). Both builds use the same freestanding code
 * generation flags, so each target runs the same instruction stream as far
 * as the compiler is concerned; only the harness around it differs.
 *
 * Every workload does a fixed amount of work for a given size (nothing
 * depends on the target) and returns a checksum that must be identical
 * everywhere.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scratch memory every workload may use: the guest puts it at a fixed
 * physical address, the native program allocates it. */
#define BENCH_ARENA_SIZE	(40ul << 20)

struct bench_workload {
	const char *name;
	const char *what;
	/* The work is the full size's divided by 2^@shift. */
	uint64_t (*run)(void *arena, unsigned shift);
};

extern const struct bench_workload bench_workloads[];
extern const unsigned bench_nr_workloads;

const struct bench_workload *bench_find(const char *name);

/* Sizes by name: "full" (shift 0), "small" (4: 1/16 of the work), "tiny"
 * (8: 1/256, for tests). */
extern const char *const bench_size_names[];	/* NULL-terminated */
int bench_size_shift(const char *size);		/* -1: no such size */

#endif
