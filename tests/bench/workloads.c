// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Benchmark workloads (see workloads.h). Freestanding C: no libc calls,
 * no struct copies or big initialisers, because the guest and the native
 * build would then call different memcpy()/memset() implementations and
 * stop running the same code.
 *
 * Full sizes are chosen so that each workload takes about 0.1 s (0.05-0.3
 * s) natively on a current x86 host and well under a minute on tandem's
 * interpreter; `small` and `tiny` (workloads.h) divide the work by 16 and
 * 256. The size is the only input: slower engines just take longer, they
 * never do less work, and a size gives the same checksum everywhere.
 */
#include "workloads.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* xorshift64*: cheap, deterministic, the same on every target. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Mix a value into a running checksum (order sensitive). */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

/* ---- crc32: table-driven CRC-32 over a 1 MiB buffer, many passes ------ */

#define CRC_BUF		(1u << 20)
#define CRC_PASSES	48

static uint64_t wl_crc32(void *arena, unsigned shift)
{
	unsigned len = CRC_BUF >> shift;
	uint32_t *table = arena;
	uint8_t *buf = (uint8_t *)arena + 4096;
	uint64_t seed = 0x1234567u, h = 0;
	uint32_t crc = 0xffffffffu;
	unsigned i, j, pass;

	for (i = 0; i < 256; i++) {
		uint32_t c = i;

		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
		table[i] = c;
	}
	for (i = 0; i < len; i += 8) {
		uint64_t r = rng_next(&seed);

		for (j = 0; j < 8; j++)
			buf[i + j] = (uint8_t)(r >> (8 * j));
	}
	/* Dependent loads through the table: integer ALU and L1 latency. */
	for (pass = 0; pass < CRC_PASSES; pass++) {
		for (i = 0; i < len; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		h = mix(h, crc);
		buf[pass] ^= (uint8_t)crc;
	}
	return mix(h, ~crc);
}

/* ---- sort: quicksort of 1M 32-bit keys ------------------------------ */

#define SORT_N		(1u << 20)

static void insertion_sort(uint32_t *a, long n)
{
	long i, j;

	for (i = 1; i < n; i++) {
		uint32_t v = a[i];

		for (j = i; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Recurse into the smaller side only, so the depth stays below log2(n)
 * and fits the guest's small stack. */
static void quicksort(uint32_t *a, long n)
{
	while (n > 16) {
		uint32_t x = a[0], y = a[n / 2], z = a[n - 1], pivot, t;
		long i = 0, j = n - 1;

		/* Median of three keeps sorted runs from going quadratic. */
		pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			t = a[i];
			a[i] = a[j];
			a[j] = t;
			i++;
			j--;
		}
		if (j + 1 < n - j - 1) {
			quicksort(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			quicksort(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	insertion_sort(a, n);
}

static uint64_t wl_sort(void *arena, unsigned shift)
{
	uint32_t *a = arena;
	uint64_t seed = 0xdeadbeefu, h = 0;
	unsigned i, unsorted = 0, n = SORT_N >> shift;

	for (i = 0; i < n; i++)
		a[i] = (uint32_t)(rng_next(&seed) >> 32);
	quicksort(a, n);
	for (i = 1; i < n; i++)
		unsorted += a[i - 1] > a[i];
	for (i = 0; i < n; i += 4096 >> shift)
		h = mix(h, a[i]);
	return mix(h, unsorted);
}

/* ---- mem: memset/memcpy-style loops over two 8 MiB buffers --------- */

#define MEM_WORDS	((8u << 20) / 8)
#define MEM_PASSES	24

static uint64_t wl_mem(void *arena, unsigned shift)
{
	unsigned words = MEM_WORDS >> shift, bytes = (1u << 20) >> shift, i, pass;
	uint64_t *a = arena, *b = a + words, h = 0;
	uint8_t *ab = arena, *bb = (uint8_t *)b;

	/* Streams of 8-byte stores, copies, and a byte copy of 1 MiB per pass:
	 * store/load throughput and, on a software MMU, the TLB fast path. */
	for (pass = 0; pass < MEM_PASSES; pass++) {
		uint64_t fill = 0x0101010101010101ull * (pass + 1);

		for (i = 0; i < words; i++)
			a[i] = fill ^ i;
		for (i = 0; i < words; i++)
			b[i] = a[i] + pass;
		for (i = 0; i < bytes; i++)
			ab[i + ((pass << 12) >> shift)] = bb[i ^ (0x5555 & (bytes - 1))];
		h = mix(h, a[(pass * 4099) & (words - 1)] ^
			   b[words - 1 - ((pass * 7) & (words - 1))]);
	}
	for (i = 0; i < words; i += (8191 >> shift) | 1)
		h = mix(h, a[i] + b[i]);
	return h;
}

/* ---- chase: dependent loads, one per 4 KiB page, across 32 MiB ------ */

#define CHASE_PAGES	8192u
#define CHASE_STEPS	(3u << 20)

static uint64_t wl_chase(void *arena, unsigned shift)
{
	unsigned pages = CHASE_PAGES >> shift, steps = CHASE_STEPS >> shift, i;
	uint8_t *base = arena;
	uint32_t *perm = (uint32_t *)(base + (uint64_t)pages * 4096);
	uint64_t seed = 0xc0ffee, h = 0, *p;

	/* Sattolo's algorithm: one cycle through all pages, in random order,
	 * so every step misses the TLB (hardware or software) and caches. */
	for (i = 0; i < pages; i++)
		perm[i] = i;
	for (i = pages - 1; i > 0; i--) {
		unsigned j = (unsigned)(rng_next(&seed) % i), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	/* Node in page perm[i] points at the node in page perm[i + 1]; each
	 * node sits at a random cache line of its page. */
	for (i = 0; i < pages; i++) {
		unsigned from = perm[i], to = perm[(i + 1) % pages];
		uint64_t *node = (uint64_t *)(base + (uint64_t)from * 4096 + (from * 37 % 64) * 64);

		node[0] = (uint64_t)(uintptr_t)(base + (uint64_t)to * 4096 + (to * 37 % 64) * 64);
		node[1] = from;
	}
	p = (uint64_t *)(base + (uint64_t)perm[0] * 4096 + (perm[0] * 37 % 64) * 64);
	for (i = 0; i < steps; i++) {
		h += p[1] ^ i;
		p = (uint64_t *)(uintptr_t)p[0];
	}
	return mix(h, p[1]);
}

/* ---- sieve: Eratosthenes up to 8M, a few times ---------------------- */

#define SIEVE_N		(8u << 20)
#define SIEVE_ROUNDS	3

static uint64_t wl_sieve(void *arena, unsigned shift)
{
	uint8_t *composite = arena;
	uint64_t h = 0;
	unsigned round, i, j, count;

	for (round = 0; round < SIEVE_ROUNDS; round++) {
		unsigned limit = (SIEVE_N >> shift) - round * (4096 >> shift);

		for (i = 0; i < limit; i++)
			composite[i] = 0;
		count = 0;
		for (i = 2; i < limit; i++) {
			if (composite[i])
				continue;
			count++;
			if (i < 1000)
				h = mix(h, i);
			for (j = i * 2; j < limit; j += i)
				composite[j] = 1;
		}
		h = mix(h, count);
	}
	return h;
}

/* ---- interp: a bytecode interpreter (switch dispatch, branchy) ------ */

enum { OP_HALT, OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_AND,
       OP_SHR, OP_DUP, OP_JZ, OP_JMP, OP_LT };

/*
 * Sum over n in 1..N of the Collatz step count of n; v0 = n, v1 = total,
 * v2 = the current value, v3 = N. The numbers on the left are code offsets.
 */
#define INTERP_N	30000

static const int interp_prog[] = {
	/*  0 */ OP_LOAD, 3, OP_STORE, 0, OP_PUSH, 0, OP_STORE, 1,
	/*  8 outer: v2 = v0 */
	OP_LOAD, 0, OP_STORE, 2,
	/* 12 inner: if (v2 < 2) goto next */
	OP_LOAD, 2, OP_PUSH, 2, OP_LT, OP_JZ, 21, OP_JMP, 54,
	/* 21 body: if (!(v2 & 1)) goto even */
	OP_LOAD, 2, OP_PUSH, 1, OP_AND, OP_JZ, 38,
	/* 28 odd: 3 * v2 + 1 */
	OP_LOAD, 2, OP_PUSH, 3, OP_MUL, OP_PUSH, 1, OP_ADD, OP_JMP, 43,
	/* 38 even: v2 >> 1 */
	OP_LOAD, 2, OP_PUSH, 1, OP_SHR,
	/* 43 step: v2 = result; v1 += 1; goto inner */
	OP_STORE, 2, OP_LOAD, 1, OP_PUSH, 1, OP_ADD, OP_STORE, 1, OP_JMP, 12,
	/* 54 next: if (--v0) goto outer */
	OP_LOAD, 0, OP_PUSH, 1, OP_SUB, OP_DUP, OP_STORE, 0, OP_JZ, 66, OP_JMP, 8,
	/* 66 */ OP_HALT,
};

static uint64_t interp_run(const int *code, long *vars, uint64_t *steps)
{
	long stack[16];
	unsigned sp = 0, pc = 0;
	uint64_t n = 0;

	for (;;) {
		int op = code[pc++];

		n++;
		switch (op) {
		case OP_HALT:
			*steps = n;
			return (uint64_t)vars[1];
		case OP_PUSH:
			stack[sp++] = code[pc++];
			break;
		case OP_LOAD:
			stack[sp++] = vars[code[pc++]];
			break;
		case OP_STORE:
			vars[code[pc++]] = stack[--sp];
			break;
		case OP_ADD:
			sp--;
			stack[sp - 1] += stack[sp];
			break;
		case OP_SUB:
			sp--;
			stack[sp - 1] -= stack[sp];
			break;
		case OP_MUL:
			sp--;
			stack[sp - 1] *= stack[sp];
			break;
		case OP_AND:
			sp--;
			stack[sp - 1] &= stack[sp];
			break;
		case OP_SHR:
			sp--;
			stack[sp - 1] >>= stack[sp];
			break;
		case OP_DUP:
			stack[sp] = stack[sp - 1];
			sp++;
			break;
		case OP_LT:
			sp--;
			stack[sp - 1] = stack[sp - 1] < stack[sp];
			break;
		case OP_JZ:
			if (!stack[--sp])
				pc = (unsigned)code[pc];
			else
				pc++;
			break;
		case OP_JMP:
			pc = (unsigned)code[pc];
			break;
		default:
			*steps = n;
			return ~0ull;
		}
		sp &= 15;	/* a broken program must not run off the stack */
	}
}

static uint64_t wl_interp(void *arena, unsigned shift)
{
	long vars[4] = { 0, 0, 0, INTERP_N >> shift };
	uint64_t steps = 0, total;

	(void)arena;
	total = interp_run(interp_prog, vars, &steps);
	return mix(total, steps);
}

const struct bench_workload bench_workloads[] = {
	{ "crc32", "table-driven CRC-32, 48 MiB", wl_crc32 },
	{ "sort", "quicksort of 1M 32-bit keys", wl_sort },
	{ "mem", "8-byte fill/copy of 8 MiB + 1 MiB byte copy, 24 passes", wl_mem },
	{ "chase", "pointer chase, one node per 4 KiB page over 32 MiB", wl_chase },
	{ "sieve", "sieve of Eratosthenes to 8M, 3 rounds", wl_sieve },
	{ "interp", "bytecode interpreter: Collatz step sum", wl_interp },
};

const unsigned bench_nr_workloads = ARRAY_SIZE(bench_workloads);

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return !*a && !*b;
}

const struct bench_workload *bench_find(const char *name)
{
	unsigned i;

	for (i = 0; i < bench_nr_workloads; i++)
		if (same(bench_workloads[i].name, name))
			return &bench_workloads[i];
	return NULL;
}

const char *const bench_size_names[] = { "full", "small", "tiny", NULL };

int bench_size_shift(const char *size)
{
	static const int shifts[] = { 0, 4, 8 };
	unsigned i;

	for (i = 0; bench_size_names[i]; i++)
		if (same(bench_size_names[i], size))
			return shifts[i];
	return -1;
}
