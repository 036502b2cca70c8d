// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * xsave: the XSAVE feature set as a guest sees it. XGETBV/XSETBV and their
 * #UD/#GP rules, CPUID leaf 0xD (sizes for the XCR0 in force), then round
 * trips of x87, SSE and (when the model has AVX) YMM upper-half state
 * through XSAVE, XSAVEOPT and XSAVEC with XRSTOR, the initial state XRSTOR
 * gives a component whose XSTATE_BV bit is clear, and the faults XSAVE and
 * XRSTOR raise (alignment, header, CR0.TS).
 *
 * What is printed is architectural only: the state components' bytes
 * (as checksums) and exception vectors, never XSTATE_BV as saved (whether
 * a component in its initial state counts as in use is up to the
 * processor). tests/xsave.sh compares the output across the engines; the
 * lines depend on the model (with or without AVX), so it is not in the
 * kit's .expected list.
 */
#include "guest.h"

const char guest_name[] = "xsave";

#define AREA	1024
#define XCR0_X87	1u
#define XCR0_SSE	2u
#define XCR0_AVX	4u

static uint8_t pat[AREA] __attribute__((aligned(64)));
static uint8_t a[AREA] __attribute__((aligned(64)));
static uint8_t b[AREA] __attribute__((aligned(64)));
static uint8_t spare[AREA + 64] __attribute__((aligned(64)));

static uint64_t rng = 0x082efa98ec4e6c89ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static unsigned long cr4_get(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void cr4_set(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | (uint64_t)hi << 32;
}

static uint64_t try_xsetbv(uint32_t ecx, uint64_t v)
{
	return TRAP_TRY("xsetbv", : : "c"(ecx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* XSAVE-family instruction @insn on @p with mask @m: the vector, or TRAP_NONE. */
#define XOP(insn, p, m)								\
	TRAP_TRY(insn " (%0)", : : "r"(p), "a"((uint32_t)(m)), "d"(0) : "memory")

/*
 * A pattern area: x87 (control word masked, a TOP, every register
 * valid), MXCSR with a rounding mode, XMM0-15 and YMM upper halves of
 * random bytes; XSTATE_BV = @bv.
 */
static void make_pattern(uint8_t *p, uint64_t bv)
{
	uint16_t fcw = 0x027f, fsw = 3u << 11;
	uint32_t mxcsr = 0x1f80 | (2u << 13);

	memset(p, 0, AREA);
	memcpy(p + 0, &fcw, 2);
	memcpy(p + 2, &fsw, 2);
	p[4] = 0xff;				/* abridged tag: all valid */
	for (unsigned i = 0; i < 8; i++)	/* ST: 10 random bytes each */
		for (unsigned k = 0; k < 10; k++)
			p[32 + 16 * i + k] = (uint8_t)rnd();
	memcpy(p + 24, &mxcsr, 4);
	for (unsigned i = 160; i < 416; i++)
		p[i] = (uint8_t)rnd();
	for (unsigned i = 576; i < 832; i++)
		p[i] = (uint8_t)rnd();
	put64(p + 512, bv);
}

/* The bytes a component owns in the standard format (the x87 pointers excluded). */
static uint64_t sum_x87(const uint8_t *p)
{
	return fnv(p, 8) ^ fnv(p + 32, 128) * 3;
}

static uint64_t sum_sse(const uint8_t *p)
{
	return fnv(p + 24, 4) ^ fnv(p + 160, 256) * 5;
}

static uint64_t sum_avx(const uint8_t *p)
{
	return fnv(p + 576, 256);
}

/* A save area: bytes no save writes are 0xcc, the header zero (XRSTOR insists). */
static void prep(uint8_t *p)
{
	memset(p, 0xcc, AREA);
	memset(p + 512, 0, 64);
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void print_state(const char *what, const uint8_t *p, uint64_t xcr0)
{
	guest_printf("%s: x87 %016lx sse %016lx", what, (unsigned long)sum_x87(p),
		     (unsigned long)sum_sse(p));
	if (xcr0 & XCR0_AVX)
		guest_printf(" avx %016lx", (unsigned long)sum_avx(p));
	guest_printf("\n");
}

static void round_trips(uint64_t xcr0, uint32_t d1)
{
	/* XRSTOR the pattern, XSAVE it back: the same bytes. */
	make_pattern(pat, xcr0);
	prep(a);
	check(XOP("xrstor64", pat, xcr0) == TRAP_NONE, "xrstor64 of the pattern");
	check(XOP("xsave64", a, xcr0) == TRAP_NONE, "xsave64");
	check(sum_x87(a) == sum_x87(pat) && sum_sse(a) == sum_sse(pat), "xsave64: x87 and SSE as restored");
	if (xcr0 & XCR0_AVX)
		check(sum_avx(a) == sum_avx(pat), "xsave64: YMM upper halves as restored");
	check((get64(a + 512) & ~xcr0) == 0, "xsave64: XSTATE_BV within XCR0");
	print_state("pattern", a, xcr0);

	/* XRSTOR with XSTATE_BV = 0: every component to its initial state. */
	memset(b, 0, AREA);
	b[24] = 0x80;
	b[25] = 0x1f;	/* MXCSR is loaded anyway (standard form) */
	check(XOP("xrstor64", b, xcr0) == TRAP_NONE, "xrstor64 with XSTATE_BV = 0");
	prep(b);
	check(XOP("xsave64", b, xcr0) == TRAP_NONE, "xsave64 after the init");
	{
		uint16_t fcw;

		memcpy(&fcw, b, 2);
		check(fcw == 0x037f && b[2] == 0 && b[3] == 0 && b[4] == 0 && zero(b + 32, 128),
		      "x87 in its initial state (FCW 037f, FSW 0, all empty)");
	}
	check(zero(b + 160, 256), "XMM0-15 zero");
	if (xcr0 & XCR0_AVX)
		check(zero(b + 576, 256), "YMM upper halves zero");

	/* Back to the pattern through XSAVEOPT, then through XSAVEC/compacted XRSTOR. */
	check(XOP("xrstor64", a, xcr0) == TRAP_NONE, "xrstor64 of the saved area");
	if (d1 & 1) {
		prep(b);
		check(XOP("xsaveopt64", b, xcr0) == TRAP_NONE, "xsaveopt64");
		check(sum_x87(b) == sum_x87(pat) && sum_sse(b) == sum_sse(pat) &&
		      (!(xcr0 & XCR0_AVX) || sum_avx(b) == sum_avx(pat)), "xsaveopt64: the pattern");
	}
	if (d1 & 2) {
		memset(b, 0, AREA);
		check(XOP("xsavec64", b, xcr0) == TRAP_NONE, "xsavec64");
		check(get64(b + 520) == ((1ull << 63) | xcr0), "xsavec64: XCOMP_BV = XCR0 | bit 63");
		check(XOP("xrstor64", b + 0, 0) == TRAP_NONE, "xrstor64 compacted, mask 0");
		check(XOP("xrstor64", b, xcr0) == TRAP_NONE, "xrstor64 compacted");
		prep(spare);
		check(XOP("xsave64", spare, xcr0) == TRAP_NONE, "xsave64 after it");
		check(sum_x87(spare) == sum_x87(pat) && sum_sse(spare) == sum_sse(pat) &&
		      (!(xcr0 & XCR0_AVX) || sum_avx(spare) == sum_avx(pat)),
		      "compacted round trip: the pattern");
	}

	/* Only SSE restored from a second pattern: x87 (and AVX) keep theirs. */
	make_pattern(b, xcr0);
	check(XOP("xrstor64", b, XCR0_SSE) == TRAP_NONE, "xrstor64 of SSE alone");
	prep(spare);
	check(XOP("xsave64", spare, xcr0) == TRAP_NONE, "xsave64 of everything");
	check(sum_x87(spare) == sum_x87(pat) && sum_sse(spare) == sum_sse(b) &&
	      (!(xcr0 & XCR0_AVX) || sum_avx(spare) == sum_avx(pat)),
	      "partial restore: SSE new, the rest as it was");
	print_state("partial", spare, xcr0);

	/* AVX: VZEROUPPER clears the upper halves only. */
	if (xcr0 & XCR0_AVX) {
		check(TRAP_TRY("vzeroupper") == TRAP_NONE, "vzeroupper");
		prep(spare);
		check(XOP("xsave64", spare, xcr0) == TRAP_NONE, "xsave64 after vzeroupper");
		check(zero(spare + 576, 256) && sum_sse(spare) == sum_sse(b),
		      "vzeroupper: upper halves zero, XMM kept");
	}

	/* Faults. */
	check(XOP("xsave64", spare + 32, xcr0) == 13, "xsave64 at a 32-byte boundary: #GP");
	check(XOP("xrstor64", spare + 16, xcr0) == 13, "xrstor64 misaligned: #GP");
	memcpy(b, a, AREA);
	put64(b + 512, 1ull << 9);
	check(XOP("xrstor64", b, xcr0) == 13, "xrstor64: XSTATE_BV bit outside XCR0: #GP");
	memcpy(b, a, AREA);
	b[512 + 20] = 1;
	check(XOP("xrstor64", b, xcr0) == 13, "xrstor64: reserved header bytes: #GP");
	memcpy(b, a, AREA);
	b[24 + 2] = 1;	/* MXCSR bit 16 */
	check(XOP("xrstor64", b, xcr0) == 13, "xrstor64: MXCSR reserved bit: #GP");
	{
		uint64_t cr0, v;

		__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
		__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 8));	/* TS */
		v = XOP("xsave64", spare, xcr0);
		__asm__ volatile("clts");
		check(v == 7, "xsave64 with CR0.TS: #NM");
	}
	/* Leave the state as the pattern had it, then at init for the runtime. */
	memset(b, 0, AREA);
	b[24] = 0x80;
	b[25] = 0x1f;
	check(XOP("xrstor64", b, xcr0) == TRAP_NONE, "xrstor64 back to the initial state");
}

void guest_main(void)
{
	uint32_t r[4], supported, d1;
	unsigned long cr4 = cr4_get();
	uint64_t v;

	/* SSE on (the runtime leaves it to the guest); OSXSAVE off to begin with. */
	cr4_set((cr4 | (1ul << 9) | (1ul << 10)) & ~(1ul << 18));
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26))) {
		guest_printf("xsave: not in CPUID\n");
		check(TRAP_TRY("xgetbv", : : "c"(0) : "rax", "rdx") == 6, "xgetbv: #UD");
		check(try_xsetbv(0, 1) == 6, "xsetbv: #UD");
		check(!((cr4_get() >> 18) & 1), "CR4.OSXSAVE clear");
		return;
	}
	check(!(r[2] & (1u << 27)), "CPUID.1:ECX.OSXSAVE clear with CR4.OSXSAVE clear");
	check(TRAP_TRY("xgetbv", : : "c"(0) : "rax", "rdx") == 6, "xgetbv without CR4.OSXSAVE: #UD");
	check(XOP("xsave64", a, 3) == 6, "xsave64 without CR4.OSXSAVE: #UD");

	cr4_set(cr4_get() | (1ul << 18));
	cpuid(1, 0, r);
	check(r[2] & (1u << 27), "CPUID.1:ECX.OSXSAVE set with CR4.OSXSAVE");
	check(xgetbv0() == 1, "XCR0 at reset: x87");
	check(TRAP_TRY("xgetbv", : : "c"(1) : "rax", "rdx") == 13, "xgetbv ECX=1 (not in CPUID): #GP");

	cpuid(0xd, 0, r);
	supported = r[0] & 7;
	guest_printf("leaf 0xd: XCR0 components %x, areas %u (now) %u (all)\n", supported, r[1],
		     r[2]);
	check((supported & 3) == 3, "leaf 0xd: x87 and SSE");
	check(r[1] == 576, "leaf 0xd: 576 bytes for XCR0 = 1");
	cpuid(0xd, 1, r);
	d1 = r[0] & 3;
	guest_printf("leaf 0xd.1: xsaveopt %u xsavec %u\n", d1 & 1, (d1 >> 1) & 1);

	check(try_xsetbv(0, 0) == 13, "xsetbv 0: #GP");
	check(try_xsetbv(0, 2) == 13, "xsetbv without x87: #GP");
	check(try_xsetbv(0, 5) == 13, "xsetbv AVX without SSE: #GP");
	check(try_xsetbv(0, 1ull << 40 | 3) == 13, "xsetbv of a reserved bit: #GP");
	check(try_xsetbv(1, 3) == 13, "xsetbv ECX=1: #GP");
	check(try_xsetbv(0, supported) == TRAP_NONE, "xsetbv of the supported components");
	v = xgetbv0();
	check(v == supported, "xgetbv reads them back");
	cpuid(0xd, 0, r);
	check(r[1] == (supported & 4 ? 832u : 576u), "leaf 0xd: the area's size follows XCR0");
	round_trips(supported, d1);

	/* SSE only (if AVX was on): the AVX component is gone from the area size. */
	check(try_xsetbv(0, 3) == TRAP_NONE, "xsetbv x87|SSE");
	cpuid(0xd, 0, r);
	check(r[1] == 576, "leaf 0xd: 576 bytes for x87|SSE");
	round_trips(3, d1);
}
