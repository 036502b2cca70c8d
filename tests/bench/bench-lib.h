/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BENCH_LIB_H
#define TANDEM_BENCH_LIB_H
/*
 * What the bench guests (bench.elf, nano.elf) share: the command line, and
 * ring 3 (a GDT with Linux's user selectors, a 64-bit TSS, the whole
 * identity map user-accessible, and a call that runs a function at CPL 3
 * and comes back with UD2).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy the value of the `@key=VALUE` word of the kernel command line into
 * @out (NUL-terminated, cut to @size); false when there is none. */
bool bench_cmdline_get(const char *key, char *out, size_t size);

#define BENCH_SEL_KCODE		0x08
#define BENCH_SEL_KDATA		0x10
#define BENCH_SEL_UCODE32	0x23	/* STAR[63:48]: SYSRET's base, RPL 3 */
#define BENCH_SEL_UDATA		0x2b
#define BENCH_SEL_UCODE64	0x33

/* Load the GDT and TSS, mark every boot page table entry user-accessible
 * and route #UD (the way back from ring 3) to the bench handler. */
void bench_ring3_setup(void);

/*
 * Run @fn(@arg, @arg2) at CPL 3 with @rflags_extra (e.g. IOPL 3) or'ed
 * into RFLAGS 0x2 (interrupts stay off), on the bench user stack; returns
 * what @fn returned. A trap from ring 3 other than the UD2 that ends the
 * call is reported and ends the guest.
 */
uint64_t bench_ring3_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2,
			  uint64_t rflags_extra);

/* The same at CPL 0, so that a trap handler can abandon it too. */
uint64_t bench_ring0_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2);

/*
 * From a trap handler: abandon the bench_ring3_call() or bench_ring0_call()
 * in progress (at any CPL), which returns @result. @f is the handler's
 * trap frame (guest.h).
 */
struct trap_frame;
void bench_resume_caller(struct trap_frame *f, uint64_t result);

#endif
