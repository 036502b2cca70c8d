// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cpuprobe: the feature probe inside the Linux guest (tests/linux-cpu.sh).
 * For each feature it knows, prints whether /proc/cpuinfo lists its flag,
 * and for a listed one runs one instruction that needs it (SIGILL caught):
 *   TANDEM-CPU: <flag> yes ok | yes SIGILL | no
 * Built static by mkinitrd.sh with the host's compiler (no -march: the
 * instructions are in inline asm).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf jb;

static void on_sigill(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static unsigned long long buf[64] __attribute__((aligned(64)));

static void i_pni(void) { __asm__ volatile("haddpd %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_ssse3(void) { __asm__ volatile("pshufb %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_sse41(void) { __asm__ volatile("ptest %%xmm0, %%xmm0" ::: "cc"); }
static void i_sse42(void)
{
	unsigned a = 0;

	__asm__ volatile("crc32b %b0, %0" : "+r"(a));
}
static void i_popcnt(void)
{
	unsigned a = 5;

	__asm__ volatile("popcnt %0, %0" : "+r"(a) :: "cc");
}
/* Without LZCNT the bytes are BSR, which gives 0: count that as missing. */
static void i_abm(void)
{
	unsigned a = 1;

	__asm__ volatile("lzcnt %0, %0" : "+r"(a) :: "cc");
	if (a != 31)
		raise(SIGILL);
}
static void i_cx16(void)
{
	__asm__ volatile("xor %%eax,%%eax; xor %%edx,%%edx; xor %%ebx,%%ebx; xor %%ecx,%%ecx\n\t"
			 "lock cmpxchg16b %0"
			 : "+m"(buf[0]) :: "rax", "rbx", "rcx", "rdx", "cc", "memory");
}
static void i_rdtscp(void)
{
	unsigned a, c, d;

	__asm__ volatile("rdtscp" : "=a"(a), "=c"(c), "=d"(d));
}
static void i_rdpid(void) { unsigned long long a; __asm__ volatile("rdpid %0" : "=r"(a)); }
static void i_clflushopt(void) { __asm__ volatile("clflushopt %0" : "+m"(buf[0])); }
static void i_avx(void) { __asm__ volatile("vxorps %%ymm0, %%ymm0, %%ymm0" ::: "xmm0"); }
static void i_avx2(void) { __asm__ volatile("vpaddd %%ymm0, %%ymm0, %%ymm0" ::: "xmm0"); }
static void i_fma(void) { __asm__ volatile("vfmadd231ps %%xmm0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_f16c(void) { __asm__ volatile("vcvtph2ps %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_bmi1(void)
{
	unsigned a = 6, b = 0;

	__asm__ volatile("andn %1, %1, %0" : "=r"(b) : "r"(a) : "cc");
}
static void i_bmi2(void)
{
	unsigned a = 6, b = 1, c;

	__asm__ volatile("shlx %2, %1, %0" : "=r"(c) : "r"(a), "r"(b));
}
static void i_movbe(void) { unsigned a; __asm__ volatile("movbe %1, %0" : "=r"(a) : "m"(buf[0])); }
static void i_adx(void) { unsigned a = 1; __asm__ volatile("adcx %0, %0" : "+r"(a) :: "cc"); }
static void i_aes(void) { __asm__ volatile("aesenc %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_pclmul(void) { __asm__ volatile("pclmulqdq $0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_rdrand(void)
{
	unsigned long long a;

	__asm__ volatile("rdrand %0" : "=r"(a) :: "cc");
}

static void i_rdseed(void)
{
	unsigned long long a;

	__asm__ volatile("rdseed %0" : "=r"(a) :: "cc");
}
static void i_sha(void) { __asm__ volatile("sha256rnds2 %%xmm0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void i_none(void) { }

static const struct {
	const char *flag;
	void (*fn)(void);
} probes[] = {
	{ "pni", i_pni }, { "ssse3", i_ssse3 }, { "sse4_1", i_sse41 }, { "sse4_2", i_sse42 },
	{ "popcnt", i_popcnt }, { "abm", i_abm }, { "cx16", i_cx16 }, { "lahf_lm", i_none },
	{ "pdpe1gb", i_none }, { "rdtscp", i_rdtscp }, { "rdpid", i_rdpid },
	{ "clflushopt", i_clflushopt }, { "pcid", i_none }, { "invpcid", i_none },
	{ "smep", i_none }, { "smap", i_none }, { "umip", i_none }, { "pku", i_none },
	{ "ospke", i_none }, { "x2apic", i_none }, { "tsc_deadline_timer", i_none },
	{ "arch_perfmon", i_none }, { "xsave", i_none }, { "avx", i_avx }, { "avx2", i_avx2 },
	{ "fma", i_fma }, { "f16c", i_f16c }, { "bmi1", i_bmi1 }, { "bmi2", i_bmi2 },
	{ "movbe", i_movbe }, { "adx", i_adx }, { "aes", i_aes }, { "pclmulqdq", i_pclmul },
	{ "rdrand", i_rdrand }, { "rdseed", i_rdseed }, { "sha_ni", i_sha },
};

/* Is @flag a word of @flags (the "flags : ..." line)? */
static int has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; (p = strstr(p, flag)); p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

int main(void)
{
	static char line[8192], flags[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct sigaction sa;

	if (!f) {
		printf("TANDEM-CPU: FAIL no /proc/cpuinfo\n");
		return 1;
	}
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && !flags[0])
			strcpy(flags, strchr(line, ':') ? strchr(line, ':') + 1 : line);
	fclose(f);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigill;
	sigaction(SIGILL, &sa, NULL);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int yes = has_flag(flags, probes[i].flag);

		if (!yes) {
			printf("TANDEM-CPU: %s no\n", probes[i].flag);
			continue;
		}
		if (sigsetjmp(jb, 1)) {
			printf("TANDEM-CPU: %s yes SIGILL\n", probes[i].flag);
			continue;
		}
		probes[i].fn();
		printf("TANDEM-CPU: %s yes ok\n", probes[i].flag);
	}
	{
		/* What user mode itself sees (glibc picks its string functions by this). */
		unsigned a = 1, b, c = 0, d;

		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		printf("TANDEM-CPU: user cpuid 1 ecx=%08x edx=%08x\n", c, d);
	}
	printf("TANDEM-CPU: done\n");
	return 0;
}
