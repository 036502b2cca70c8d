// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-native: the benchmark workloads run directly on the host, timed
 * with CLOCK_MONOTONIC, as the baseline for tests/bench/run.sh.
 *	bench-native [-r REPEAT] [NAME...]
 * prints one line per workload: NAME SECONDS CHECKSUM (best of REPEAT);
 *	bench-native -l
 * lists the workloads, one per line: NAME DESCRIPTION.
 * workloads.c is built with the guest's code generation flags, so the
 * native and the guest runs execute the same workload code.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "workloads.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_one(const struct bench_workload *w, void *arena, unsigned repeat)
{
	double best = 0;
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < repeat; i++) {
		double t = now();
		uint64_t s = w->run(arena);

		t = now() - t;
		if (i && s != sum) {
			fprintf(stderr, "bench-native: %s: checksum changed between runs\n",
				w->name);
			return 1;
		}
		sum = s;
		if (!i || t < best)
			best = t;
	}
	printf("%s %.6f 0x%016" PRIx64 "\n", w->name, best, sum);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned repeat = 1, i;
	size_t huge = 2ul << 20;
	uint8_t *map;
	void *arena;
	int argi = 1, rc = 0;

	if (argc == 2 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < bench_nr_workloads; i++)
			printf("%s %s\n", bench_workloads[i].name, bench_workloads[i].what);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "-r")) {
		repeat = (unsigned)strtoul(argv[2], NULL, 10);
		if (!repeat)
			repeat = 1;
		argi = 3;
	}
	/* 2 MiB aligned and backed by huge pages where the host allows it,
	 * like the guest's identity map; touched once so that host page
	 * faults are not timed. */
	map = mmap(NULL, BENCH_ARENA_SIZE + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "bench-native: mmap: %s\n", strerror(errno));
		return 1;
	}
	arena = map + (-(uintptr_t)map & (huge - 1));
	madvise(arena, BENCH_ARENA_SIZE, MADV_HUGEPAGE);
	memset(arena, 0, BENCH_ARENA_SIZE);

	if (argi == argc) {
		for (i = 0; i < bench_nr_workloads && !rc; i++)
			rc = run_one(&bench_workloads[i], arena, repeat);
		return rc;
	}
	for (; argi < argc && !rc; argi++) {
		const struct bench_workload *w = bench_find(argv[argi]);

		if (!w) {
			fprintf(stderr, "bench-native: unknown workload '%s'\n", argv[argi]);
			return 1;
		}
		rc = run_one(w, arena, repeat);
	}
	return rc;
}
