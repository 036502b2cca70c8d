/*
 * An x86-64-v3 user program for the Linux guest (tests/linux-v3.sh):
 * built with -march=x86-64-v3 -O3 so that the compiler vectorises with
 * AVX2 and FMA and uses BMI1/BMI2/LZCNT/MOVBE; glibc's string functions
 * pick their AVX2 variants from CPUID. It prints checksums that must
 * equal the host's run of the same binary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static float fa[N], fb[N], fc[N];
static double da[N], db[N];
static int32_t ia[N], ib[N];
static uint8_t bytes[N * 4];

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	uint64_t h = 0xcbf29ce484222325ull;
	double dot = 0;
	int64_t isum = 0;
	unsigned bits = 0;

	for (int i = 0; i < N; i++) {
		fa[i] = (float)(next() % 100000) / 1000.0f - 50.0f;
		fb[i] = (float)(next() % 100000) / 777.0f;
		da[i] = (double)(int64_t)(next() % 2000001 - 1000000) / 3.0;
		db[i] = (double)(next() % 1000) / 7.0;
		ia[i] = (int32_t)next();
		ib[i] = (int32_t)(next() % 65536);
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(next() % 26 + 'a');
	bytes[sizeof(bytes) - 1] = 0;

	for (int r = 0; r < 50; r++) {
		for (int i = 0; i < N; i++)	/* FMA, vectorised */
			fc[i] = fa[i] * fb[i] + fc[i] * 0.5f;
		for (int i = 0; i < N; i++)
			dot += da[i] * db[i];
		for (int i = 0; i < N; i++)	/* AVX2 integer */
			ia[i] = (ia[i] >> (ib[i] & 7)) + (ia[i] ^ ib[i]) * 3 - (ib[i] > 30000 ? ib[i] : -ib[i]);
		for (int i = 0; i < N; i++)
			isum += ia[i] < 0 ? -(int64_t)ia[i] : ia[i];
	}
	for (int i = 0; i < N; i++) {	/* BMI/LZCNT/TZCNT/MOVBE-ish scalar work */
		uint64_t v = next() | 1;

		bits += (unsigned)__builtin_clzll(v) + (unsigned)__builtin_ctzll(v >> 1 | 1u << 31);
		bits += (unsigned)__builtin_popcountll(v & (v - 1));
		bits ^= (unsigned)__builtin_bswap64(v) >> (i & 31);
	}
	h = fnv(fc, sizeof(fc), h);
	h = fnv(&dot, sizeof(dot), h);
	h = fnv(ia, sizeof(ia), h);
	printf("v3: fma %016llx\n", (unsigned long long)h);
	printf("v3: isum %lld bits %u\n", (long long)isum, bits);
	/* glibc's AVX2 string functions (chosen at start-up from CPUID). */
	printf("v3: strlen %zu strchr %td memcmp %d\n", strlen((char *)bytes),
	       (char *)strchr((char *)bytes + 1000, 'q') - (char *)bytes,
	       memcmp(bytes, bytes + 7, 2000) > 0);
	qsort(ia, N, sizeof(ia[0]), cmp_i32);
	printf("v3: sorted %016llx\n", (unsigned long long)fnv(ia, sizeof(ia), 0xcbf29ce484222325ull));
	return 0;
}
