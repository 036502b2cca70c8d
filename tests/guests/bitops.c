// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bitops: the scalar and cryptographic extensions as a guest sees them:
 * BMI1, BMI2, ADX, MOVBE, RDRAND, RDSEED, AES-NI, PCLMULQDQ and SHA. For
 * each it checks the CPUID bit, then runs every instruction (register and
 * memory forms, 32- and 64-bit operands) over a fixed pseudo-random data
 * set in a loop, hot enough for the software CPU's translator, and prints
 * a checksum of the results and flags. RDRAND/RDSEED results are random:
 * what is printed is whether every one of a few hundred tries ended with
 * CF = 1 and the flags as the SDM says, within a bounded number of retries.
 *
 * Like isa.c it builds as a host program too (tests/guests/native/guest.h):
 * tests/bitops.sh compares the host's lines with the software CPU's (jit
 * on, off, check) and with the KVM engine's. Not in the kit's .expected
 * list: the lines depend on the host's features.
 */
#include "guest.h"

const char guest_name[] = "bitops";

struct vec {
	uint64_t q[2];
} __attribute__((aligned(16)));

#define NDATA 32

static struct vec data[NDATA];
static uint64_t sum;
static uint64_t rng = 0x452821e638d01377ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void mix(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		sum ^= b[i];
		sum *= 0x100000001b3ull;
	}
}

static void mix64(uint64_t v)
{
	mix(&v, sizeof(v));
}

/* Random bits, runs of ones, BEXTR/BZHI controls near 0, 32 and 64. */
static void fill(void)
{
	for (unsigned i = 0; i < NDATA; i++) {
		for (unsigned k = 0; k < 2; k++) {
			uint64_t r = rnd();

			switch (r & 3) {
			case 0:
				data[i].q[k] = ((1ull << ((r >> 8) & 63)) - 1) << ((r >> 16) & 31);
				break;
			case 1:
				data[i].q[k] = ((r >> 8) % 70) | ((r >> 16) % 70) << 8;
				break;
			default:
				data[i].q[k] = rnd();
				break;
			}
		}
	}
}

/*
 * Known flags first: all arithmetic flags clear (0), or all set (1); IF
 * stays set (and natively cannot change anyway).
 */
#define FLAGS_IN_0	"pushq $0x202\n\tpopfq\n\t"
#define FLAGS_IN_1	"pushq $0xad7\n\tpopfq\n\t"
#define FLAGS_IN(set)	FLAGS_IN_##set

/* Three operands, r/m first in AT&T order (ANDN MULX PDEP PEXT): dst, vvvv, r/m. */
#define G3(insn)								\
	do {									\
		uint64_t r_, f_;						\
		uint32_t e_;							\
		__asm__ volatile(FLAGS_IN(0) insn "q %3, %2, %0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(r_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(r_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "q %4, %2, %0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(r_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(r_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "l %k3, %k2, %k0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(e_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(e_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "l %4, %k2, %k0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(e_), "=r"(f_) : "r"(x), "r"(y), "m"(*(const uint32_t *)m) \
				 : "cc");					\
		mix64(e_); mix64(f_ & 0x8d5);					\
	} while (0)

/* Three operands, vvvv first in AT&T order (BEXTR BZHI SHLX SHRX SARX): dst, r/m, vvvv. */
#define GV(insn)								\
	do {									\
		uint64_t r_, f_;						\
		uint32_t e_;							\
		__asm__ volatile(FLAGS_IN(0) insn "q %2, %3, %0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(r_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(r_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "q %2, %4, %0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(r_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(r_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "l %k2, %k3, %k0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(e_), "=r"(f_) : "r"(x), "r"(y), "m"(*m) : "cc"); \
		mix64(e_); mix64(f_ & 0x8d5);					\
		__asm__ volatile(FLAGS_IN(0) insn "l %k2, %4, %k0\n\tpushfq\n\tpopq %1" \
				 : "=&r"(e_), "=r"(f_) : "r"(x), "r"(y), "m"(*(const uint32_t *)m) \
				 : "cc");					\
		mix64(e_); mix64(f_ & 0x8d5);					\
	} while (0)

/* Two operands: dst, r/m; the destination starts as @x (ADCX/ADOX add to it). */
#define G2(insn, stc)								\
	do {									\
		uint64_t r_, f_;						\
		uint32_t e_;							\
		r_ = x;								\
		__asm__ volatile(FLAGS_IN(stc) insn "q %2, %0\n\tpushfq\n\tpopq %1" \
				 : "+r"(r_), "=r"(f_) : "r"(y), "m"(*m) : "cc");	\
		mix64(r_); mix64(f_ & 0x8d5);					\
		r_ = x;								\
		__asm__ volatile(FLAGS_IN(stc) insn "q %3, %0\n\tpushfq\n\tpopq %1" \
				 : "+r"(r_), "=r"(f_) : "r"(y), "m"(*m) : "cc");	\
		mix64(r_); mix64(f_ & 0x8d5);					\
		e_ = (uint32_t)x;						\
		__asm__ volatile(FLAGS_IN(stc) insn "l %k2, %0\n\tpushfq\n\tpopq %1" \
				 : "+r"(e_), "=r"(f_) : "r"(y), "m"(*m) : "cc");	\
		mix64(e_); mix64(f_ & 0x8d5);					\
		e_ = (uint32_t)x;						\
		__asm__ volatile(FLAGS_IN(stc) insn "l %3, %0\n\tpushfq\n\tpopq %1" \
				 : "+r"(e_), "=r"(f_) : "r"(y), "m"(*(const uint32_t *)m) \
				 : "cc");					\
		mix64(e_); mix64(f_ & 0x8d5);					\
	} while (0)

static void run_bmi1(const struct vec *a, const struct vec *b)
{
	uint64_t x = a->q[0], y = b->q[0];
	const uint64_t *m = &b->q[1];

	G3("andn");
	GV("bextr");
	G2("blsi", 0);
	G2("blsmsk", 0);
	G2("blsr", 0);
	G2("tzcnt", 0);
}

static void run_bmi2(const struct vec *a, const struct vec *b)
{
	uint64_t x = a->q[0], y = b->q[0], r, lo;
	const uint64_t *m = &b->q[1];

	GV("bzhi");
	G3("pdep");
	G3("pext");
	GV("shlx");
	GV("shrx");
	GV("sarx");
	/* MULX: EDX/RDX times r/m. */
	__asm__ volatile("mulxq %3, %1, %0" : "=&r"(r), "=&r"(lo) : "d"(x), "r"(y));
	mix64(r); mix64(lo);
	__asm__ volatile("mulxq %3, %1, %0" : "=&r"(r), "=&r"(lo) : "d"(x), "m"(*m));
	mix64(r); mix64(lo);
	__asm__ volatile("mulxl %k3, %k1, %k0" : "=&r"(r), "=&r"(lo) : "d"(x), "r"(y));
	mix64(r); mix64(lo);
	__asm__ volatile("rorxq $13, %1, %0" : "=r"(r) : "r"(x));
	mix64(r);
	__asm__ volatile("rorxl $45, %1, %k0" : "=r"(r) : "m"(*(const uint32_t *)m));
	mix64(r);
}

static void run_adx(const struct vec *a, const struct vec *b)
{
	uint64_t x = a->q[0], y = b->q[0];
	const uint64_t *m = &b->q[1];

	G2("adcx", 0);
	G2("adcx", 1);
	G2("adox", 0);
	G2("adox", 1);
}

static void run_movbe(const struct vec *a, const struct vec *b)
{
	uint64_t r, st64 = a->q[0];
	uint32_t st32 = (uint32_t)a->q[1];
	uint16_t w, st16 = (uint16_t)(a->q[1] >> 32);

	__asm__ volatile("movbeq %1, %0" : "=r"(r) : "m"(b->q[0]));
	mix64(r);
	__asm__ volatile("movbel %1, %k0" : "=r"(r) : "m"(b->q[1]));
	mix64(r);
	__asm__ volatile("movbew %1, %0" : "=r"(w) : "m"(b->q[1]));
	mix64(w);
	__asm__ volatile("movbeq %1, %0" : "+m"(st64) : "r"(b->q[1]));
	__asm__ volatile("movbel %k1, %0" : "+m"(st32) : "r"(b->q[0]));
	__asm__ volatile("movbew %w1, %0" : "+m"(st16) : "r"(b->q[0]));
	mix64(st64);
	mix64(st32);
	mix64(st16);
}

/*
 * RDRAND/RDSEED: a number within 100 tries (the SDM's advice for RDRAND
 * is 10; RDSEED may run dry for longer), CF = 1 and OF SF ZF AF PF = 0.
 */
static unsigned rand_bad;

#define RAND(insn, reg)								\
	do {									\
		unsigned t_;							\
		for (t_ = 0; t_ < 100; t_++) {					\
			uint64_t v_, f_;					\
			__asm__ volatile(FLAGS_IN(0) insn " %" reg "0\n\tpushfq\n\tpopq %1" \
					 : "=r"(v_), "=r"(f_) : : "cc");	\
			if (f_ & 1) {						\
				rand_bad += (f_ & 0x8d4) != 0;			\
				break;						\
			}							\
		}								\
		rand_bad += t_ == 100;						\
	} while (0)

static void run_rdrand(const struct vec *a, const struct vec *b)
{
	(void)a;
	(void)b;
	RAND("rdrand", "q");
	RAND("rdrand", "k");
	RAND("rdrand", "w");
	mix64(rand_bad);
}

static void run_rdseed(const struct vec *a, const struct vec *b)
{
	(void)a;
	(void)b;
	RAND("rdseed", "q");
	RAND("rdseed", "k");
	RAND("rdseed", "w");
	mix64(rand_bad);
}

/* xmm0 = a, xmm1 = b; INSN; the result xmm0. The memory form: %2 is b. */
#define RR(insn)								\
	do {									\
		struct vec r_;							\
		__asm__ volatile("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\t"	\
				 insn "\n\tmovdqu %%xmm0, %0"			\
				 : "=m"(r_) : "m"(*a), "m"(*b) : "memory"); \
		mix(&r_, sizeof(r_));						\
	} while (0)

#define BOTH(op)	RR(op " %%xmm1, %%xmm0"); RR(op " %2, %%xmm0")
#define BOTHI(op, imm)	RR(op " $" #imm ", %%xmm1, %%xmm0"); RR(op " $" #imm ", %2, %%xmm0")

static void run_aes(const struct vec *a, const struct vec *b)
{
	BOTH("aesenc");
	BOTH("aesenclast");
	BOTH("aesdec");
	BOTH("aesdeclast");
	BOTH("aesimc");
	BOTHI("aeskeygenassist", 0x01);
	BOTHI("aeskeygenassist", 0x36);
}

static void run_pclmul(const struct vec *a, const struct vec *b)
{
	BOTHI("pclmulqdq", 0x00);
	BOTHI("pclmulqdq", 0x01);
	BOTHI("pclmulqdq", 0x10);
	BOTHI("pclmulqdq", 0x11);
}

static void run_sha(const struct vec *a, const struct vec *b)
{
	BOTHI("sha1rnds4", 0);
	BOTHI("sha1rnds4", 1);
	BOTHI("sha1rnds4", 2);
	BOTHI("sha1rnds4", 3);
	BOTH("sha1nexte");
	BOTH("sha1msg1");
	BOTH("sha1msg2");
	BOTH("sha256msg1");
	BOTH("sha256msg2");
	{
		struct vec r_;

		/* SHA256RNDS2 xmm2, xmm1/m128, <xmm0>: xmm0 = b as well. */
		__asm__ volatile("movdqu %1, %%xmm2\n\tmovdqu %2, %%xmm1\n\tmovdqu %2, %%xmm0\n\t"
				 "sha256rnds2 %%xmm1, %%xmm2\n\tsha256rnds2 %2, %%xmm2\n\t"
				 "movdqu %%xmm2, %0"
				 : "=m"(r_) : "m"(*a), "m"(*b) : "memory");
		mix(&r_, sizeof(r_));
	}
}

static const struct {
	const char *name;
	uint32_t leaf, reg, bit;	/* CPUID leaf, register (1: ebx, 2: ecx), bit */
	void (*run)(const struct vec *a, const struct vec *b);
} exts[] = {
	{ "bmi1", 7, 1, 3, run_bmi1 },
	{ "bmi2", 7, 1, 8, run_bmi2 },
	{ "adx", 7, 1, 19, run_adx },
	{ "movbe", 1, 2, 22, run_movbe },
	{ "rdrand", 1, 2, 30, run_rdrand },
	{ "rdseed", 7, 1, 18, run_rdseed },
	{ "aes", 1, 2, 25, run_aes },
	{ "pclmulqdq", 1, 2, 1, run_pclmul },
	{ "sha", 7, 1, 29, run_sha },
};

void guest_main(void)
{
	uint32_t r[4], max[4];
	unsigned long cr4;

#ifndef GUEST_NATIVE
	/* SSE on: CR4.OSFXSR and OSXMMEXCPT (the runtime leaves them to the guest). */
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1ul << 9) | (1ul << 10);
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
#else
	(void)cr4;
#endif
	cpuid(0, 0, max);
	fill();
	sum = 0xcbf29ce484222325ull;
	mix(data, sizeof(data));
	guest_printf("data: %016lx\n", (unsigned long)sum);
	for (unsigned e = 0; e < sizeof(exts) / sizeof(exts[0]); e++) {
		bool have = false;

		if (max[0] >= exts[e].leaf) {
			cpuid(exts[e].leaf, 0, r);
			have = r[exts[e].reg] & (1u << exts[e].bit);
		}
		if (!have) {
			guest_printf("%s: not in CPUID\n", exts[e].name);
			continue;
		}
		sum = 0xcbf29ce484222325ull;
		rand_bad = 0;
		for (unsigned it = 0; it < 4; it++)
			for (unsigned i = 0; i < NDATA; i++)
				exts[e].run(&data[i], &data[(i * 7 + it + 1) % NDATA]);
		if (exts[e].run == run_rdrand || exts[e].run == run_rdseed)
			guest_printf("%s: %u tries without a number or with wrong flags\n",
				     exts[e].name, rand_bad);
		else
			guest_printf("%s: %016lx\n", exts[e].name, (unsigned long)sum);
	}
}
