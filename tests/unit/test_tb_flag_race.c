// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The inline write TLB of translated code against another thread's
 * tb_page_flagged(), a stress test (plain C, a few seconds at most).
 *
 * A vCPU runs a translated loop that stores to one guest page through its
 * inline TLB (the fast path loads the entry's tag, then its addend) while a
 * second thread keeps emptying that vCPU's write entries for the page, as
 * another vCPU does when it starts translating code or walking page tables
 * there. The emptying must never pair a tag that still hits with a wrong
 * addend: the store would go to host memory at the guest's linear address
 * (below 64 KiB here, never mapped: SIGSEGV). tandem was seen to segfault
 * so in 1 of 58 boots of Linux with 4 vCPUs on kvm_pvm, where every
 * vCPU's ring-0 code runs on the software CPU. The loop's result in guest
 * RAM is checked too.
 *
 * Without a second host CPU the two threads never run at the same time
 * and the test shows nothing: it then skips (77).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/sw/translator/tb.h"
#include "tests/unit/sw_harness.h"

#define DATA_GPA	0x9000ull	/* host address 0x9000 is below mmap_min_addr */
#define CODE_GPA	0x10000ull
#define LOOPS		20000000u

static atomic_bool done;
static atomic_ulong nr_flags;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "FAIL: SIGSEGV at host address %p: a translated store used an inline TLB "
		     "entry emptied half-way by another thread\n", si->si_addr);
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

static void *flagger(void *arg)
{
	struct swh *h = arg;

	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		tb_page_flagged(&h->svm, DATA_GPA >> 12);
		atomic_fetch_add_explicit(&nr_flags, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void)
{
	static const uint8_t code[] = {
		0xb9, LOOPS & 0xff, (LOOPS >> 8) & 0xff, (LOOPS >> 16) & 0xff, LOOPS >> 24,
						/* mov ecx, LOOPS */
		0x89, 0x03,			/* 1: mov [rbx], eax */
		0xff, 0xc0,			/* inc eax */
		0xff, 0xc9,			/* dec ecx */
		0x75, 0xf8,			/* jnz 1b */
		0xf4,				/* hlt */
	};
	struct sigaction sa;
	struct swh *h;
	pthread_t t;
	enum vcpu_stop stop;
	uint64_t val;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("SKIP: one host CPU: the two threads never race\n");
		return 77;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	h = swh_new(4 << 20, SWH_LONG64);
	if (!h || !h->cpu.tb.tv) {
		printf("SKIP: no translator in this build\n");
		return 77;
	}
	swh_load_code(h, CODE_GPA, code, sizeof(code));
	h->cpu.st.gpr[R_BX] = DATA_GPA;
	h->cpu.st.gpr[R_AX] = 0;
	if (pthread_create(&t, NULL, flagger, h)) {
		printf("FAIL: pthread_create\n");
		return 1;
	}
	stop = swh_run_events(h, 0);
	atomic_store(&done, true);
	pthread_join(t, NULL);
	val = swh_peek_val(h, DATA_GPA, 4);
	printf("%u stores, %lu flag passes, stop %d, last value %#llx\n", LOOPS,
	       atomic_load(&nr_flags), stop, (unsigned long long)val);
	if (stop != VCPU_STOP_HALT || val != LOOPS - 1 || h->cpu.st.gpr[R_AX] != LOOPS) {
		printf("FAIL: expected HLT and %#x in guest RAM\n", LOOPS - 1);
		return 1;
	}
	swh_free(h);
	printf("PASS\n");
	return 0;
}
