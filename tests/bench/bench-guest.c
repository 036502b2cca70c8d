// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench guest: the benchmark workloads (workloads.c) as a guest-kit guest,
 * speaking the result protocol of `tandem bench` (tests/bench/README.md):
 *	bench=list			prints `bench: workload NAME DESCRIPTION`
 *					for each workload
 *	bench=NAME size=SIZE [cpl=0]	prints `bench: start NAME`, runs it,
 *					prints `bench: end NAME checksum 0x...`
 *	cpl=0033...			phases: the workload once per digit, in
 *					that ring, each with `bench: phase I cpl=C`
 *					before its start/end lines (tests/autoswitch.sh)
 * then exits through the debug-exit port with 0 (status 1), or 100 on a
 * bad command line. The host times the workload between the arrival of
 * the two lines on the serial console, so the guest needs no clock (no
 * TSC calibration that would differ between engines) and boot and exit
 * are not counted.
 */
#include "guest.h"
#include "workloads.h"
#include "bench-lib.h"

const char guest_name[] = "bench";

/* Well above the image, the multiboot info and the loaders' scratch
 * (all below 2 MiB); the guest needs 128 MiB of RAM for this. */
#define ARENA_BASE	(16ul << 20)

static void list_workloads(const char *prefix)
{
	unsigned i;

	for (i = 0; i < bench_nr_workloads; i++)
		guest_printf("bench: %s%s %s\n", prefix, bench_workloads[i].name,
			     bench_workloads[i].what);
}

void guest_main(void)
{
	const struct mb_info *mbi = guest_mbi();
	const struct bench_workload *w;
	char name[32], cpl[24] = "3", size[8] = "full";
	uint64_t sum;
	unsigned i;
	bool user = false;
	int shift;

	if (bench_cmdline_get("bench", name, sizeof(name)) && !memcmp(name, "list", 5)) {
		list_workloads("workload ");
		guest_exit(0);
	}
	if (!bench_cmdline_get("bench", name, sizeof(name)) || !(w = bench_find(name))) {
		guest_printf("bench: no or unknown bench=NAME on the command line; one of:\n");
		list_workloads("  ");
		guest_exit(100);
	}
	bench_cmdline_get("cpl", cpl, sizeof(cpl));
	bench_cmdline_get("size", size, sizeof(size));
	shift = bench_size_shift(size);
	if (shift < 0) {
		guest_printf("bench: unknown size=%s (full, small or tiny)\n", size);
		guest_exit(100);
	}
	if (!(mbi->flags & MB_INFO_MEM) ||
	    ((uint64_t)mbi->mem_upper + 1024) * 1024 < ARENA_BASE + BENCH_ARENA_SIZE) {
		guest_printf("bench: needs %lu MiB of RAM\n",
			     (ARENA_BASE + BENCH_ARENA_SIZE) >> 20);
		guest_exit(100);
	}
	for (i = 0; cpl[i]; i++) {
		if (cpl[i] != '0' && cpl[i] != '3') {
			guest_printf("bench: cpl=%s: digits 0 and 3 only\n", cpl);
			guest_exit(100);
		}
		user |= cpl[i] == '3';
	}
	if (user)
		bench_ring3_setup();
	for (i = 0; cpl[i]; i++) {
		if (cpl[1])
			guest_printf("bench: phase %u cpl=%c\n", i, cpl[i]);
		guest_printf("bench: start %s\n", w->name);
		if (cpl[i] == '0')
			sum = w->run((void *)ARENA_BASE, (unsigned)shift);
		else
			sum = bench_ring3_call(w->run, (void *)ARENA_BASE, (unsigned)shift, 0);
		guest_printf("bench: end %s checksum 0x%016lx\n", w->name, sum);
	}
	guest_exit(0);
}
