/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_BENCH_H
#define TANDEM_MACHINE_BENCH_H
/*
 * `tandem bench`: the benchmark workloads (tests/bench/) and the nano
 * microbenchmarks on every engine, each run a child tandem (or QEMU).
 * @argv[0] is "bench"; returns the exit status (0 every run agreed,
 * 1 bad usage or a run failed).
 */
int bench_main(int argc, char **argv);

#endif
