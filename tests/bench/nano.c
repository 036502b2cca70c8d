// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nano guest: microbenchmarks of the events that cost a virtual machine
 * most, after Adams & Agesen (ASPLOS'06): each one's cost in cycles of the
 * guest's TSC. `tandem bench --nano` runs it on every engine.
 *
 * Each benchmark is a loop of N iterations around one operation, timed
 * with a serialized TSC (LFENCE; RDTSC; LFENCE to start, RDTSCP; LFENCE to
 * stop where CPUID has RDTSCP, else LFENCE; RDTSC; LFENCE). The same loop
 * with an empty body, run in the same ring, is the overhead; both take
 * the minimum of ROUNDS rounds, and the result is
 *	(min(op loop) - min(empty loop)) / (N * operations per iteration)
 * printed with one decimal. N is ITERS, or fewer where one round would
 * take more than ROUND_BUDGET cycles (a probe of 16 iterations says), so
 * that an operation costing a millisecond does not take minutes.
 * Command line: `iters=ITERS rounds=ROUNDS` (defaults 10000 and 5).
 * Output, one line each, then the debug-exit with 0:
 *	nano: tsc=rdtscp|rdtsc iters=ITERS rounds=ROUNDS
 *	nano: op NAME CYCLES iters=N
 *	nano: op NAME FAIL vector V rip 0x...	(it trapped; the others go on)
 *	nano: done
 * Interrupts stay off throughout.
 */
#include "guest.h"
#include "bench-lib.h"

const char guest_name[] = "nano";

#define MSR_STAR	0xc0000081u
#define MSR_LSTAR	0xc0000082u
#define MSR_FMASK	0xc0000084u
#define RFLAGS_IOPL3	(3ul << 12)

/* A port with a device on tandem and QEMU (PIT/speaker port B), and one
 * with none on either board (reads all-ones). */
#define PORT_DEV	0x61
#define PORT_NONE	0x2e0
/* The POST port: a write-only sink on both boards, free of the debug-exit. */
#define PORT_POST	0x80

/*
 * The page-fault and PTE benchmarks work in the 2 MiB at 64 MiB, which
 * this guest maps by 4 KiB pages (identity, like the rest): page 0 of it
 * is made not present and faulted in, page 1 gets its PTE rewritten.
 */
#define PT_VA		(64ul << 20)
#define PAGE0		((volatile uint64_t *)PT_VA)
#define PAGE1		((volatile uint64_t *)(PT_VA + 4096))
#define PTE_VAL(i)	((PT_VA + (i) * 4096ul) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)

/* Cycles one timed loop may take in a round: about 0.1 s at 3 GHz. */
#define ROUND_BUDGET	(1ull << 28)
#define PROBE_ITERS	16

static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static bool have_rdtscp;
static unsigned rounds = 5;

/* A SYSCALL's ring-0 side: straight back (RCX and R11 untouched). */
void nano_syscall_entry(void);
void nano_ret(void);
asm(".text\n"
    ".globl nano_syscall_entry, nano_ret\n"
    "nano_syscall_entry:\n\tsysretq\n"
    "nano_ret:\n\tret\n");

static inline uint64_t tsc_start(void)
{
	uint32_t lo, hi;

	asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t tsc_stop(void)
{
	uint32_t lo, hi;

	if (have_rdtscp)
		asm volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi) : : "rcx", "memory");
	else
		asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* One timed loop of @n iterations around @body (an asm statement). */
#define NANO_LOOP(fn, body)					\
	static uint64_t fn(unsigned n)				\
	{							\
		uint64_t t0 = tsc_start();			\
		unsigned i;					\
								\
		for (i = 0; i < n; i++) {			\
			body;					\
		}						\
		return tsc_stop() - t0;				\
	}

#define X8(s)	s s s s s s s s

NANO_LOOP(loop_empty, asm volatile("" : : : "memory"))
NANO_LOOP(loop_syscall, asm volatile("syscall" : : : "rcx", "r11", "memory"))
NANO_LOOP(loop_in_dev, asm volatile("inb %0, %%al" : : "i"(PORT_DEV) : "rax", "memory"))
NANO_LOOP(loop_in_none,
	  asm volatile("inb %%dx, %%al" : : "d"(PORT_NONE) : "rax", "memory"))
NANO_LOOP(loop_cr8wr, asm volatile(X8("movq %0, %%cr8\n\t") : : "r"(0ul) : "memory"))
NANO_LOOP(loop_callret, asm volatile(X8("call nano_ret\n\t") : : : "memory"))
/* DIVL %ECX is two bytes (F7 F1): the #DE handler skips exactly that. */
NANO_LOOP(loop_divzero,
	  asm volatile("xorl %%edx, %%edx\n\tmovl $1, %%eax\n\tdivl %%ecx"
		       : : "c"(0) : "rax", "rdx", "memory"))
NANO_LOOP(loop_ptemod,
	  asm volatile("movq %0, (%1)\n\tinvlpg (%2)"
		       : : "r"(PTE_VAL(1)), "r"(&pt[1]), "r"(PAGE1) : "memory"))
/* Touch page 0, which faults (the handler maps it), then unmap it. */
NANO_LOOP(loop_pgfault,
	  asm volatile("movq (%2), %%rax\n\tmovq %0, (%1)\n\tinvlpg (%2)"
		       : : "r"(0ul), "r"(&pt[0]), "r"(PAGE0) : "rax", "memory"))
/* The same with page 0 left mapped: the pgfault benchmark's overhead. */
NANO_LOOP(loop_pgfault_base,
	  asm volatile("movq (%2), %%rax\n\tmovq %0, (%1)\n\tinvlpg (%2)"
		       : : "r"(PTE_VAL(0)), "r"(&pt[0]), "r"(PAGE0) : "rax", "memory"))
NANO_LOOP(loop_cpuid,
	  asm volatile("cpuid" : : "a"(0), "c"(0) : "rbx", "rdx", "memory"))
NANO_LOOP(loop_out_post,
	  asm volatile("outb %%al, %0" : : "i"(PORT_POST), "a"(0) : "memory"))

struct nano_op {
	const char *name;
	uint64_t (*loop)(unsigned n);
	uint64_t (*base)(unsigned n);	/* the overhead: empty loop by default */
	unsigned per_iter;		/* operations per iteration */
	bool user;			/* runs at CPL 3 (with IOPL 3) */
	void (*prepare)(void);		/* before each round */
	unsigned iters;			/* N */
	uint64_t best, best_base;	/* minimum over the rounds */
	uint64_t fault_vector, fault_rip;
};

static struct nano_op *current;

static void unmap_page0(void)
{
	pt[0] = 0;
	invlpg(PAGE0);
}

/*
 * The order is the paper's (syscall, in, cr8wr, call/ret, pgfault,
 * divzero, ptemod), then the exit costs: CPUID and OUT, at CPL 0 (where
 * tandem's kvm engine on kvm_pvm runs the software CPU) and at CPL 3 (in
 * KVM itself there), and the empty loop's own cost per iteration.
 */
static struct nano_op ops[] = {
	{ "syscall", loop_syscall, NULL, 1, true, NULL },
	{ "in_dev", loop_in_dev, NULL, 1, false, NULL },
	{ "in_none", loop_in_none, NULL, 1, false, NULL },
	{ "cr8wr", loop_cr8wr, NULL, 8, false, NULL },
	{ "callret", loop_callret, NULL, 8, false, NULL },
	{ "pgfault", loop_pgfault, loop_pgfault_base, 1, false, unmap_page0 },
	{ "divzero", loop_divzero, NULL, 1, false, NULL },
	{ "ptemod", loop_ptemod, NULL, 1, false, NULL },
	{ "cpuid", loop_cpuid, NULL, 1, false, NULL },
	{ "cpuid_u", loop_cpuid, NULL, 1, true, NULL },
	{ "out_post_u", loop_out_post, NULL, 1, true, NULL },
};

/* Runs in the op's ring: the minimum of both loops over the rounds. */
static uint64_t measure(void *arg, unsigned n)
{
	struct nano_op *op = arg;
	uint64_t (*base)(unsigned) = op->base ? op->base : loop_empty;
	uint64_t per;
	unsigned r;

	if (op->prepare)
		op->prepare();
	per = op->loop(PROBE_ITERS) / PROBE_ITERS + 1;
	if (per * n > ROUND_BUDGET)
		n = ROUND_BUDGET / per > PROBE_ITERS ? (unsigned)(ROUND_BUDGET / per) : PROBE_ITERS;
	op->iters = n;
	op->best = op->best_base = ~0ull;
	for (r = 0; r < rounds; r++) {
		uint64_t t;

		if (op->prepare)
			op->prepare();
		t = op->loop(n);
		if (t < op->best)
			op->best = t;
		t = base(n);
		if (t < op->best_base)
			op->best_base = t;
	}
	return 0;
}

/* A trap no benchmark asked for: give up the op in progress. */
static void abandon_op(struct trap_frame *f)
{
	if (!current) {
		guest_printf("nano: unexpected trap: vector %lu error %#lx rip %#lx\n",
			     f->vector, f->error_code, f->rip);
		guest_exit(100);
	}
	current->fault_vector = f->vector;
	current->fault_rip = f->rip;
	bench_resume_caller(f, 1);
}

static void pf_handler(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();

	if ((cr2 & ~0xfffull) != (uint64_t)(uintptr_t)PAGE0 || pt[0]) {
		abandon_op(f);
		return;
	}
	pt[0] = PTE_VAL(0);
}

static void de_handler(struct trap_frame *f)
{
	if ((f->cs & 3) || !current || current->loop != loop_divzero) {
		abandon_op(f);
		return;
	}
	f->rip += 2;
}

static unsigned arg_num(const char *key, unsigned def, unsigned max)
{
	char buf[12];
	unsigned v = 0, i;

	if (!bench_cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return def;
	for (i = 0; buf[i]; i++) {
		if (buf[i] < '0' || buf[i] > '9' || v > max / 10)
			return def;
		v = v * 10 + (unsigned)(buf[i] - '0');
	}
	return v && v <= max ? v : def;
}

static void setup(void)
{
	uint32_t r[4];
	unsigned i;

	cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000001u) {
		cpuid(0x80000001u, 0, r);
		have_rdtscp = r[3] & (1u << 27);
	}

	bench_ring3_setup();
	for (i = 0; i < 512; i++)
		pt[i] = PTE_VAL(i);
	guest_pd[PT_VA >> 21] = (uintptr_t)pt | PTE_P | PTE_RW | PTE_US;
	write_cr3(read_cr3());

	wrmsr(MSR_STAR, (uint64_t)BENCH_SEL_UCODE32 << 48 | (uint64_t)BENCH_SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uintptr_t)nano_syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | (1ul << 10));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	trap_set_handler(0, de_handler);
	trap_set_handler(14, pf_handler);
	for (i = 1; i < 32; i++)
		if (i != 6 && i != 14)	/* #UD: the way back from ring 3 */
			trap_set_handler(i, abandon_op);
}

void guest_main(void)
{
	unsigned iters = arg_num("iters", 10000, 10000000), i;
	uint64_t empty = ~0ull;

	rounds = arg_num("rounds", 5, 1000);
	setup();
	guest_printf("nano: tsc=%s iters=%u rounds=%u\n", have_rdtscp ? "rdtscp" : "rdtsc",
		     iters, rounds);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct nano_op *op = &ops[i];
		uint64_t diff, tenths;

		current = op;
		if (op->user)
			bench_ring3_call(measure, op, iters, RFLAGS_IOPL3);
		else
			bench_ring0_call(measure, op, iters);
		current = NULL;
		if (op->fault_vector || op->fault_rip) {
			guest_printf("nano: op %s FAIL vector %lu rip %#lx\n", op->name,
				     op->fault_vector, op->fault_rip);
			pt[0] = PTE_VAL(0);
			invlpg(PAGE0);
			continue;
		}
		diff = op->best > op->best_base ? op->best - op->best_base : 0;
		tenths = diff * 10 / ((uint64_t)op->iters * op->per_iter);
		guest_printf("nano: op %s %lu.%lu iters=%u\n", op->name, tenths / 10, tenths % 10,
			     op->iters);
		tenths = op->best_base * 10 / op->iters;
		if (!op->user && !op->base && tenths < empty)
			empty = tenths;
	}
	guest_printf("nano: op loop %lu.%lu\n", empty / 10, empty % 10);
	guest_printf("nano: done\n");
	guest_exit(0);
}
