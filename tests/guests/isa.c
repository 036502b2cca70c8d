// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * isa: the x86-64-v2 extensions as a guest sees them. For each of SSE3,
 * SSSE3, SSE4.1, SSE4.2, POPCNT, LZCNT and CX16 it checks the CPUID bit,
 * then runs every instruction of the extension (register and memory
 * forms) over a fixed pseudo-random data set in a loop, hot enough for
 * the software CPU's translator, and prints a checksum of the results,
 * the flags and (for the float ones) MXCSR under each rounding mode.
 *
 * The same source builds as a host program (tests/guests/native/guest.h):
 * tests/isa.sh compares what the host CPU prints with what the software
 * CPU prints with the translator on, off and in self-check mode, and the
 * KVM engine with the software CPU (each with the CPU model it gets). An
 * exception (#UD, #GP, #XM) ends the guest through the runtime's
 * unexpected-trap report. Not in the kit's .expected list: the lines
 * depend on the host's features.
 */
#include "guest.h"

const char guest_name[] = "isa";

struct vec {
	uint64_t q[2];
} __attribute__((aligned(16)));

#define NDATA 32

/* One spare vector: the unaligned LDDQU reads 4 bytes past its element. */
static struct vec data[NDATA + 1];
static uint64_t sum;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

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

/* Data: random bits, float specials, short strings with zeros, small numbers. */
static void fill(void)
{
	static const uint64_t special[] = {
		0x3f800000bf800000ull, 0x7f8000007fc00000ull, 0x000000010080000ull,
		0x3ff8000000000000ull, 0xfff0000000000000ull, 0x4004000000000000ull,
		0x0061626300616263ull, 0x6162636461626364ull, 0x7fff80000001ffffull,
		0x3fc000004b000000ull, 0xbfc0000040200000ull, 0x0000000000000000ull,
	};

	for (unsigned i = 0; i < NDATA; i++)
		for (unsigned k = 0; k < 2; k++)
			data[i].q[k] = (rnd() & 3) ? rnd() : special[rnd() % 12];
}

static uint32_t mxcsr_get(void)
{
	uint32_t v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void mxcsr_set(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

/*
 * xmm0 = a, xmm1 = b; INSN; result xmm0 and the flags (set to a known
 * value first: the compiler's code before would leak into them).
 */
#define RR(insn)								\
	do {									\
		struct vec r_;							\
		uint64_t f_;							\
		__asm__ volatile("movdqu %2, %%xmm0\n\tmovdqu %3, %%xmm1\n\t"	\
				 "cmpq %%rsp, %%rsp\n\t" insn "\n\tpushfq\n\t"	\
				 "popq %1\n\tmovdqu %%xmm0, %0"		\
				 : "=m"(r_), "=r"(f_)				\
				 : "m"(*a), "m"(*b)				\
				 : "cc", "memory");				\
		mix(&r_, sizeof(r_));						\
		mix64(f_ & 0x8d5);						\
	} while (0)

/* The memory form: xmm0 = a; INSN with %2 as the (aligned) source. */
#define RM(insn)								\
	do {									\
		struct vec r_;							\
		__asm__ volatile("movdqu %1, %%xmm0\n\t" insn "\n\tmovdqu %%xmm0, %0" \
				 : "=m"(r_)					\
				 : "m"(*a), "m"(*b)				\
				 : "cc", "memory");				\
		mix(&r_, sizeof(r_));						\
	} while (0)

#define BOTH(op)	RR(op " %%xmm1, %%xmm0"); RM(op " %2, %%xmm0")
#define BOTHI(op, imm)	RR(op " $" #imm ", %%xmm1, %%xmm0"); RM(op " $" #imm ", %2, %%xmm0")

/* MMX forms: mm0 = a.q[0], mm1 = b.q[0]. */
#define MMX(op)									\
	do {									\
		uint64_t r_;							\
		__asm__ volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\t" op	\
				 " %%mm1, %%mm0\n\t" op " %2, %%mm0\n\t"	\
				 "movq %%mm0, %0\n\temms"			\
				 : "=m"(r_)					\
				 : "m"(a->q[0]), "m"(b->q[0])			\
				 : "memory");					\
		mix64(r_);							\
	} while (0)

static void run_sse3(const struct vec *a, const struct vec *b)
{
	BOTH("addsubps");
	BOTH("addsubpd");
	BOTH("haddps");
	BOTH("haddpd");
	BOTH("hsubps");
	BOTH("hsubpd");
	BOTH("movsldup");
	BOTH("movshdup");
	RR("movddup %%xmm1, %%xmm0");
	RM("movddup %2, %%xmm0");
	{
		struct vec r_;

		/* LDDQU from an unaligned address, on purpose. */
		__asm__ volatile("lddqu 4(%1), %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "=m"(r_) : "r"(a) : "memory");
		mix(&r_, sizeof(r_));
	}
	mix64(mxcsr_get());
}

static void run_ssse3(const struct vec *a, const struct vec *b)
{
	BOTH("pshufb");
	BOTH("phaddw");
	BOTH("phaddd");
	BOTH("phaddsw");
	BOTH("phsubw");
	BOTH("phsubd");
	BOTH("phsubsw");
	BOTH("pmaddubsw");
	BOTH("pmulhrsw");
	BOTH("psignb");
	BOTH("psignw");
	BOTH("psignd");
	BOTH("pabsb");
	BOTH("pabsw");
	BOTH("pabsd");
	BOTHI("palignr", 5);
	BOTHI("palignr", 19);
	MMX("pshufb");
	MMX("phaddw");
	MMX("phsubsw");
	MMX("pmaddubsw");
	MMX("psignw");
	MMX("pabsb");
}

static void run_sse41(const struct vec *a, const struct vec *b)
{
	uint64_t g;

	BOTH("pminsb");
	BOTH("pmaxsb");
	BOTH("pminuw");
	BOTH("pmaxuw");
	BOTH("pminud");
	BOTH("pmaxud");
	BOTH("pminsd");
	BOTH("pmaxsd");
	BOTH("pmulld");
	BOTH("pmuldq");
	BOTH("pcmpeqq");
	BOTH("packusdw");
	BOTH("pmovsxbw");
	BOTH("pmovsxbd");
	BOTH("pmovsxbq");
	BOTH("pmovsxwd");
	BOTH("pmovsxwq");
	BOTH("pmovsxdq");
	BOTH("pmovzxbw");
	BOTH("pmovzxbd");
	BOTH("pmovzxbq");
	BOTH("pmovzxwd");
	BOTH("pmovzxwq");
	BOTH("pmovzxdq");
	BOTHI("blendps", 5);
	BOTHI("blendpd", 2);
	BOTHI("pblendw", 0xa5);
	BOTH("blendvps");
	BOTH("blendvpd");
	BOTH("pblendvb");
	BOTHI("mpsadbw", 5);
	BOTH("phminposuw");
	BOTH("ptest");
	RM("movntdqa %2, %%xmm0");
	BOTHI("roundps", 4);
	BOTHI("roundpd", 1);
	BOTHI("roundss", 10);
	BOTHI("roundsd", 3);
	BOTHI("dpps", 0xf1);
	BOTHI("dpps", 0x3e);
	BOTHI("dppd", 0x31);
	BOTHI("insertps", 0x9a);
	RR("pinsrb $7, %%eax, %%xmm0");
	RM("pinsrd $3, %2, %%xmm0");
	RM("pinsrq $1, %2, %%xmm0");
	__asm__ volatile("movdqu %1, %%xmm1\n\tpextrb $9, %%xmm1, %%eax\n\tmovq %%rax, %0"
			 : "=r"(g) : "m"(*a) : "rax");
	mix64(g);
	__asm__ volatile("movdqu %1, %%xmm1\n\tpextrq $1, %%xmm1, %0" : "=r"(g) : "m"(*a));
	mix64(g);
	__asm__ volatile("movdqu %1, %%xmm1\n\tpextrw $5, %%xmm1, %0" : "=m"(g) : "m"(*a));
	mix(&g, 2);
	__asm__ volatile("movdqu %1, %%xmm1\n\textractps $2, %%xmm1, %0" : "=m"(g) : "m"(*b));
	mix(&g, 4);
	mix64(mxcsr_get());
}

static void run_sse42(const struct vec *a, const struct vec *b)
{
	uint64_t c, f;

	BOTH("pcmpgtq");
#define STRI(insn, imm)								\
	__asm__ volatile("movdqu %2, %%xmm0\n\tmovl $5, %%eax\n\tmovl $-11, %%edx\n\t" \
			 insn " $" #imm ", %3, %%xmm0\n\tpushfq\n\tpopq %1\n\t"	\
			 "movq %%rcx, %0"					\
			 : "=r"(c), "=r"(f)					\
			 : "m"(*a), "m"(*b)					\
			 : "rax", "rcx", "rdx", "cc");				\
	mix64(c);								\
	mix64(f & 0x8d5)
	STRI("pcmpistri", 0x00);
	STRI("pcmpistri", 0x04);
	STRI("pcmpistri", 0x08);
	STRI("pcmpistri", 0x0c);
	STRI("pcmpistri", 0x4d);
	STRI("pcmpistri", 0x3a);
	STRI("pcmpestri", 0x00);
	STRI("pcmpestri", 0x14);
	STRI("pcmpestri", 0x6d);
	STRI("pcmpestri", 0x39);
#define STRM(insn, imm)								\
	do {									\
		struct vec r_;							\
		__asm__ volatile("movdqu %2, %%xmm1\n\tmovl $7, %%eax\n\tmovl $9, %%edx\n\t" \
				 insn " $" #imm ", %3, %%xmm1\n\tpushfq\n\tpopq %1\n\t" \
				 "movdqu %%xmm0, %0"				\
				 : "=m"(r_), "=r"(f)				\
				 : "m"(*a), "m"(*b)				\
				 : "rax", "rdx", "cc");				\
		mix(&r_, sizeof(r_));						\
		mix64(f & 0x8d5);						\
	} while (0)
	STRM("pcmpistrm", 0x40);
	STRM("pcmpistrm", 0x05);
	STRM("pcmpestrm", 0x48);
	STRM("pcmpestrm", 0x0f);
	c = a->q[0];
	__asm__ volatile("crc32b %b1, %k0\n\tcrc32w %w1, %k0\n\tcrc32l %k1, %k0\n\t"
			 "crc32q %1, %q0\n\tcrc32q %2, %q0"
			 : "+r"(c) : "r"(b->q[0]), "m"(b->q[1]));
	mix64(c);
}

static void run_bits(const struct vec *a, const struct vec *b)
{
	uint64_t r = 0, f;

	(void)b;
#define BITOP(insn, sz)								\
	__asm__ volatile(insn " %" sz "2, %" sz "0\n\tpushfq\n\tpopq %1"	\
			 : "+&r"(r), "=r"(f) : "r"(a->q[0] >> (a->q[1] & 63)) : "cc"); \
	mix64(r);								\
	mix64(f & 0x8d5)
	BITOP("popcntq", "q");
	BITOP("popcntl", "k");
	BITOP("popcntw", "w");
	BITOP("lzcntq", "q");
	BITOP("lzcntl", "k");
	BITOP("lzcntw", "w");
}

static void run_cx16(const struct vec *a, const struct vec *b)
{
	struct vec m = *a;
	uint64_t lo = (b->q[0] & 1) ? a->q[0] : b->q[0], hi = a->q[1], f;

	__asm__ volatile("cmpq %%rsp, %%rsp\n\tlock cmpxchg16b %0\n\tpushfq\n\tpopq %3"
			 : "+m"(m), "+a"(lo), "+d"(hi), "=r"(f)
			 : "b"(b->q[0]), "c"(b->q[1]) : "cc");
	mix(&m, sizeof(m));
	mix64(lo);
	mix64(hi);
	mix64(f & 0x8d5);
}

static const struct {
	const char *name;
	uint32_t leaf, bit;	/* ecx bit of the leaf */
	void (*run)(const struct vec *a, const struct vec *b);
	bool fp;		/* every rounding mode */
} exts[] = {
	{ "sse3", 1, 0, run_sse3, true },
	{ "ssse3", 1, 9, run_ssse3, false },
	{ "sse4.1", 1, 19, run_sse41, true },
	{ "sse4.2", 1, 20, run_sse42, false },
	{ "popcnt+lzcnt", 1, 23, run_bits, false },
	{ "cx16", 1, 13, run_cx16, false },
};

void guest_main(void)
{
	uint32_t r[4], r81[4];
	unsigned long cr4;

#ifndef GUEST_NATIVE
	/* SSE on: CR4.OSFXSR and OSXMMEXCPT (the runtime leaves them to the guest). */
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1ul << 9) | (1ul << 10);
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
#else
	(void)cr4;
#endif
	cpuid(1, 0, r);
	cpuid(0x80000001, 0, r81);
	fill();
	sum = 0xcbf29ce484222325ull;
	mix(data, sizeof(data));
	guest_printf("data: %016lx\n", (unsigned long)sum);
	for (unsigned e = 0; e < sizeof(exts) / sizeof(exts[0]); e++) {
		bool have = r[2] & (1u << exts[e].bit);

		/* LZCNT is in 0x80000001 ECX (ABM). */
		if (exts[e].run == run_bits)
			have = have && (r81[2] & (1u << 5));
		if (!have) {
			guest_printf("%s: not in CPUID\n", exts[e].name);
			continue;
		}
		sum = 0xcbf29ce484222325ull;
		for (unsigned rc = 0; rc < (exts[e].fp ? 4u : 1u); rc++) {
			mxcsr_set(0x1f80 | (rc << 13));
			for (unsigned it = 0; it < 4; it++)
				for (unsigned i = 0; i < NDATA; i++)
					exts[e].run(&data[i], &data[(i * 7 + it + 1) % NDATA]);
		}
		mxcsr_set(0x1f80);
		guest_printf("%s: %016lx\n", exts[e].name, (unsigned long)sum);
	}
}
