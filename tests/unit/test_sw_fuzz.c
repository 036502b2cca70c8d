// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Random bytes as guest code on the software CPU, in every mode, at CPL 0,
 * so they reach the system instructions too (MOV to CRn, WRMSR, LGDT, far
 * transfers, IRET with random frames, I/O to unmapped ports).
 *
 * What must hold, whatever the bytes: tandem does not crash (run this under
 * ASan/UBSan now and then), does not hang (an alarm catches that), every
 * step ends in OK, HALT, a stop or an exception vector 0..31, and the real
 * event loop, which delivers each fault through whatever IDT or IVT the
 * random code left behind, always comes back (a triple fault is a stop).
 *
 * Reproducible: the seed is fixed unless TANDEM_FUZZ_SEED is set;
 * TANDEM_FUZZ_ROUNDS sets the number of rounds. Plain C (no CUnit), exit 0
 * on success, 1 on a broken invariant.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_harness.h"

#define RAM_SIZE	(4u << 20)
#define CODE_GPA	0x9000u		/* below 64 KiB: reachable in real mode */
#define DATA_GPA	0x10000u	/* random data the code may read */
#define STEPS_PER_ROUND	3000
/*
 * The hang alarm, in seconds, on a plain build. Scaled like
 * tests/linux/run.sh's timeouts: x4 when built with ASan (the
 * interpreter runs several times slower), or TANDEM_TIMEOUT_SCALE.
 */
#define ALARM_SECONDS	240
#if defined(__SANITIZE_ADDRESS__)
#define ALARM_SCALE	4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALARM_SCALE	4
#endif
#endif
#ifndef ALARM_SCALE
#define ALARM_SCALE	1
#endif

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, and the same sequence on every host. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill_random(struct swh *h, uint64_t gpa, size_t len)
{
	uint8_t buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = rnd();

			memcpy(buf + i, &v, n - i < 8 ? n - i : 8);
		}
		swh_poke(h, gpa, buf, n);
		gpa += n;
		len -= n;
	}
}

static void on_alarm(int sig)
{
	static const char msg[] = "fuzz: FAIL: still running after the alarm (a hang?)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static unsigned long nr_steps, nr_halts, nr_stops, nr_event_runs, nr_event_stops[16];
static unsigned long nr_vectors[32];

/* Point CS:RIP at a random byte of the code page, whatever CS now is. */
static void jump_somewhere(struct swh *h)
{
	h->cpu.st.rip = CODE_GPA + rnd() % 4096 - h->cpu.st.seg[S_CS].base;
	if (!(h->cpu.st.efer & X86_EFER_LMA) || !(h->cpu.st.seg[S_CS].attr & 0x2000))
		h->cpu.st.rip &= 0xffffffffu;
	h->cpu.st.halted = false;
}

static int one_round(struct swh *h, enum swh_mode mode)
{
	unsigned faults_in_a_row = 0;

	swh_set_mode(h, mode);
	fill_random(h, CODE_GPA, 4096);
	fill_random(h, DATA_GPA, 64 << 10);
	for (unsigned r = 0; r < 16; r++)
		if (r != R_SP)
			h->cpu.st.gpr[r] = rnd() & (r & 1 ? ~0ull : 0xffffull);
	h->cpu.st.gpr[R_SP] = 0x8000;
	jump_somewhere(h);

	for (unsigned i = 0; i < STEPS_PER_ROUND; i++) {
		int r = swh_step(h);

		nr_steps++;
		if (r == SWH_OK) {
			faults_in_a_row = 0;
			continue;
		}
		if (r == SWH_HALT) {
			nr_halts++;
		} else if (r == SWH_STOP) {
			nr_stops++;
		} else if (r >= 0 && r < 32) {
			nr_vectors[r]++;
			/* Now and then let the real loop deliver it. */
			if (rnd() % 8 == 0) {
				enum vcpu_stop s;

				h->cpu.stop_req = false;
				s = swh_run_events(h, 64);
				nr_event_runs++;
				nr_event_stops[(unsigned)s & 15]++;
				h->cpu.stop_req = false;
			}
		} else {
			printf("fuzz: FAIL: step returned %d (mode %d, rip %#" PRIx64 ")\n", r,
			       mode, h->cpu.st.rip);
			return -1;
		}
		/* The random code has wrecked its segments or tables: start over. */
		if (++faults_in_a_row > 64)
			break;
		jump_somewhere(h);
	}
	return 0;
}

int main(void)
{
	static const enum swh_mode modes[] = { SWH_REAL, SWH_PROT16, SWH_PROT32,
					       SWH_COMPAT32, SWH_LONG64 };
	static const char *const names[] = { "real", "prot16", "prot32", "compat32", "long64" };
	const char *s = getenv("TANDEM_FUZZ_SEED"), *n = getenv("TANDEM_FUZZ_ROUNDS");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x7a6e64656du;
	unsigned rounds = n ? (unsigned)strtoul(n, NULL, 0) : 1000;
	const char *sc = getenv("TANDEM_TIMEOUT_SCALE");
	unsigned scale = sc && strtoul(sc, NULL, 0) ? (unsigned)strtoul(sc, NULL, 0) : ALARM_SCALE;
	unsigned long faults = 0;
	struct swh *h;

	printf("fuzz: alarm after %u s (%u x %u%s)\n", ALARM_SECONDS * scale, ALARM_SECONDS,
	       scale, sc ? ", TANDEM_TIMEOUT_SCALE" : ALARM_SCALE > 1 ? ", sanitizer build" : "");
	signal(SIGALRM, on_alarm);
	alarm(ALARM_SECONDS * scale);
	h = swh_new(RAM_SIZE, SWH_LONG64);
	if (!h) {
		printf("fuzz: FAIL: cannot create the harness VM\n");
		return 1;
	}
	rng_state = seed ? seed : 1;
	for (unsigned i = 0; i < rounds; i++) {
		if (one_round(h, modes[i % 5])) {
			printf("fuzz: seed %#" PRIx64 ", round %u (%s)\n", seed, i, names[i % 5]);
			swh_free(h);
			return 1;
		}
	}
	swh_free(h);

	for (unsigned v = 0; v < 32; v++)
		faults += nr_vectors[v];
	printf("fuzz: seed %#" PRIx64 ": %u rounds (5 modes), %lu steps, %lu faults, %lu HLT, "
	       "%lu stops, %lu event-loop runs\n", seed, rounds, nr_steps, faults, nr_halts,
	       nr_stops, nr_event_runs);
	printf("fuzz: faults by vector:");
	for (unsigned v = 0; v < 32; v++)
		if (nr_vectors[v])
			printf(" #%u=%lu", v, nr_vectors[v]);
	printf("\nfuzz: event-loop stops by kind:");
	for (unsigned k = 0; k < 16; k++)
		if (nr_event_stops[k])
			printf(" %u=%lu", k, nr_event_stops[k]);
	printf("\n");
	/* Random bytes that never fault would mean the fuzzer is not reaching the decoder. */
	if (faults < rounds) {
		printf("fuzz: FAIL: only %lu faults in %u rounds\n", faults, rounds);
		return 1;
	}
	return 0;
}
