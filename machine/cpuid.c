// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The CPU model: named models (QEMU's names and feature sets), feature
 * names (QEMU's spellings), and the table of what the software CPU
 * implements. See cpuid.h for how a model meets an engine.
 *
 * Invariant: a feature bit is advertised only if the engine running the
 * guest implements it. For the software CPU that is sw_implements[]
 * below; nothing else in tandem advertises a bit.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "machine/cpuid.h"

struct cpuid_model cpuid_global;

/* ---- feature names ---- */

struct feat_name {
	const char *name;
	const char *alias;	/* another spelling QEMU or Linux uses (may be NULL) */
	uint8_t word, bit;
};

#define F(n, a, w, b) { n, a, CPUID_W_##w, b }
static const struct feat_name feat_names[] = {
	F("fpu", NULL, 1_EDX, 0), F("vme", NULL, 1_EDX, 1), F("de", NULL, 1_EDX, 2),
	F("pse", NULL, 1_EDX, 3), F("tsc", NULL, 1_EDX, 4), F("msr", NULL, 1_EDX, 5),
	F("pae", NULL, 1_EDX, 6), F("mce", NULL, 1_EDX, 7), F("cx8", NULL, 1_EDX, 8),
	F("apic", NULL, 1_EDX, 9), F("sep", NULL, 1_EDX, 11), F("mtrr", NULL, 1_EDX, 12),
	F("pge", NULL, 1_EDX, 13), F("mca", NULL, 1_EDX, 14), F("cmov", NULL, 1_EDX, 15),
	F("pat", NULL, 1_EDX, 16), F("pse36", NULL, 1_EDX, 17), F("clflush", NULL, 1_EDX, 19),
	F("mmx", NULL, 1_EDX, 23), F("fxsr", NULL, 1_EDX, 24), F("sse", NULL, 1_EDX, 25),
	F("sse2", NULL, 1_EDX, 26), F("ss", NULL, 1_EDX, 27), F("ht", NULL, 1_EDX, 28),

	F("pni", "sse3", 1_ECX, 0), F("pclmulqdq", "pclmuldq", 1_ECX, 1),
	F("monitor", NULL, 1_ECX, 3), F("ssse3", NULL, 1_ECX, 9), F("fma", NULL, 1_ECX, 12),
	F("cx16", NULL, 1_ECX, 13), F("pdcm", NULL, 1_ECX, 15), F("pcid", NULL, 1_ECX, 17),
	F("sse4.1", "sse4_1", 1_ECX, 19), F("sse4.2", "sse4_2", 1_ECX, 20),
	F("x2apic", NULL, 1_ECX, 21), F("movbe", NULL, 1_ECX, 22), F("popcnt", NULL, 1_ECX, 23),
	F("tsc-deadline", "tsc_deadline_timer", 1_ECX, 24), F("aes", NULL, 1_ECX, 25),
	F("xsave", NULL, 1_ECX, 26), F("avx", NULL, 1_ECX, 28), F("f16c", NULL, 1_ECX, 29),
	F("rdrand", NULL, 1_ECX, 30), F("hypervisor", NULL, 1_ECX, 31),

	F("fsgsbase", NULL, 7_EBX, 0), F("bmi1", NULL, 7_EBX, 3), F("hle", NULL, 7_EBX, 4),
	F("avx2", NULL, 7_EBX, 5), F("smep", NULL, 7_EBX, 7), F("bmi2", NULL, 7_EBX, 8),
	F("erms", NULL, 7_EBX, 9), F("invpcid", NULL, 7_EBX, 10), F("rtm", NULL, 7_EBX, 11),
	F("avx512f", NULL, 7_EBX, 16), F("rdseed", NULL, 7_EBX, 18), F("adx", NULL, 7_EBX, 19),
	F("smap", NULL, 7_EBX, 20), F("clflushopt", NULL, 7_EBX, 23), F("clwb", NULL, 7_EBX, 24),
	F("sha-ni", "sha_ni", 7_EBX, 29),

	F("umip", NULL, 7_ECX, 2), F("pku", NULL, 7_ECX, 3), F("gfni", NULL, 7_ECX, 8),
	F("vaes", NULL, 7_ECX, 9), F("vpclmulqdq", NULL, 7_ECX, 10), F("la57", NULL, 7_ECX, 16),
	F("rdpid", NULL, 7_ECX, 22), F("pks", NULL, 7_ECX, 31),

	F("fsrm", NULL, 7_EDX, 4), F("serialize", NULL, 7_EDX, 14),

	F("syscall", NULL, 81_EDX, 11), F("nx", "xd", 81_EDX, 20), F("mmxext", NULL, 81_EDX, 22),
	F("fxsr-opt", "fxsr_opt", 81_EDX, 25), F("pdpe1gb", NULL, 81_EDX, 26),
	F("rdtscp", NULL, 81_EDX, 27), F("lm", NULL, 81_EDX, 29),

	F("lahf-lm", "lahf_lm", 81_ECX, 0), F("svm", NULL, 81_ECX, 2),
	F("cr8legacy", NULL, 81_ECX, 4), F("abm", "lzcnt", 81_ECX, 5),
	F("sse4a", NULL, 81_ECX, 6), F("misalignsse", NULL, 81_ECX, 7),
	F("3dnowprefetch", NULL, 81_ECX, 8), F("osvw", NULL, 81_ECX, 9),
	F("xop", NULL, 81_ECX, 11), F("fma4", NULL, 81_ECX, 16), F("tbm", NULL, 81_ECX, 21),
	F("perfctr-core", "perfctr_core", 81_ECX, 23),

	F("xsaveopt", NULL, D1_EAX, 0), F("xsavec", NULL, D1_EAX, 1),
	F("xgetbv1", NULL, D1_EAX, 2), F("xsaves", NULL, D1_EAX, 3),

	/* Not a CPUID bit: QEMU's pmu=on|off property, leaf 0xa (Intel models). */
	F("pmu", NULL, PMU, 0),
};
#undef F
#define NR_NAMES (sizeof(feat_names) / sizeof(feat_names[0]))

static const struct feat_name *feat_find(const char *name, size_t n)
{
	for (size_t i = 0; i < NR_NAMES; i++) {
		const struct feat_name *f = &feat_names[i];

		if ((strlen(f->name) == n && !strncmp(f->name, name, n)) ||
		    (f->alias && strlen(f->alias) == n && !strncmp(f->alias, name, n)))
			return f;
	}
	return NULL;
}

static bool feats_test(const struct cpuid_feats *f, const struct feat_name *n)
{
	return f->w[n->word] & (1u << n->bit);
}

static void feats_set(struct cpuid_feats *f, const struct feat_name *n, bool on)
{
	if (on)
		f->w[n->word] |= 1u << n->bit;
	else
		f->w[n->word] &= ~(1u << n->bit);
}

/* Set every feature named in the space-separated @list (names are checked: see below). */
static void feats_add_list(struct cpuid_feats *f, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ");
		const struct feat_name *fn = n ? feat_find(p, n) : NULL;

		if (fn)
			feats_set(f, fn, true);
		p += n;
		p += strspn(p, " ");
	}
}

/* ---- host ---- */

static void host(uint32_t fn, uint32_t idx, uint32_t r[4])
{
	__cpuid_count(fn, idx, r[0], r[1], r[2], r[3]);
}

static bool host_is_amd(void)
{
	uint32_t r[4];

	host(0, 0, r);
	return !memcmp(&r[1], "Auth", 4) || !memcmp(&r[1], "Hygo", 4);
}

static void host_feats(struct cpuid_feats *f)
{
	uint32_t r[4], max, maxext;

	memset(f, 0, sizeof(*f));
	host(0, 0, r);
	max = r[0];
	host(0x80000000u, 0, r);
	maxext = r[0];
	host(1, 0, r);
	f->w[CPUID_W_1_EDX] = r[3];
	f->w[CPUID_W_1_ECX] = r[2];
	if (max >= 7) {
		host(7, 0, r);
		f->w[CPUID_W_7_EBX] = r[1];
		f->w[CPUID_W_7_ECX] = r[2];
		f->w[CPUID_W_7_EDX] = r[3];
	}
	if (max >= 0xd) {
		host(0xd, 1, r);
		f->w[CPUID_W_D1_EAX] = r[0];
	}
	if (maxext >= 0x80000001u) {
		host(0x80000001u, 0, r);
		f->w[CPUID_W_81_EDX] = r[3];
		f->w[CPUID_W_81_ECX] = r[2];
	}
}

/* ---- what the software CPU implements ---- */

/*
 * THE list of features the software CPU implements, one line each. A bit
 * not listed here is never advertised on any engine (KVM runs part of
 * every guest on the software CPU too: emulation failures, and on
 * kvm_pvm all of ring 0). Whoever implements an extension in accel/sw/
 * adds its line here, with
 *   SW_HOST  for instructions: offered only if the host has them as well,
 *            as the host-CPU oracle tests them against the host, and
 *   SW_SELF  for what the software CPU provides by itself (paging and
 *            system features, the APIC, MSRs).
 * Each line names where the implementation lives.
 */
enum sw_need { SW_SELF, SW_HOST };

static const struct {
	const char *name;
	enum sw_need need;
} sw_implements[] = {
	{ "fpu", SW_HOST },		/* x87.c */
	{ "de", SW_SELF },		/* system.c: CR4.DE, DR4/DR5 */
	{ "pse", SW_SELF },		/* mmu.c */
	{ "tsc", SW_SELF },		/* system.c */
	{ "msr", SW_SELF },		/* system.c */
	{ "pae", SW_SELF },		/* mmu.c */
	{ "mce", SW_SELF },		/* system.c: CR4.MCE; nothing raises #MC */
	{ "cx8", SW_HOST },		/* datamov.c */
	{ "apic", SW_SELF },		/* devices/lapic.c */
	{ "x2apic", SW_SELF },		/* devices/lapic.c: MSRs 0x800-0x8ff; system.c */
	{ "tsc-deadline", SW_SELF },	/* devices/lapic.c: IA32_TSC_DEADLINE */
	{ "sep", SW_SELF },		/* system.c: SYSENTER/SYSEXIT */
	{ "pge", SW_SELF },		/* mmu.c */
	{ "mca", SW_SELF },		/* system.c: IA32_MCG_CAP = 0 banks, MCG_STATUS */
	{ "cmov", SW_HOST },		/* datamov.c */
	{ "pat", SW_SELF },		/* system.c: IA32_PAT (no cache types) */
	{ "clflush", SW_HOST },		/* system.c */
	{ "mmx", SW_HOST },		/* sse.c */
	{ "fxsr", SW_HOST },		/* sse.c */
	{ "sse", SW_HOST },		/* sse*.c */
	{ "sse2", SW_HOST },		/* sse*.c */
	{ "pni", SW_HOST },		/* sse3.c */
	{ "ssse3", SW_HOST },		/* ssse3.c */
	{ "cx16", SW_HOST },		/* datamov.c */
	{ "sse4.1", SW_HOST },		/* sse4.c */
	{ "sse4.2", SW_HOST },		/* sse4.c */
	{ "popcnt", SW_HOST },		/* logic.c */
	{ "hypervisor", SW_SELF },
	{ "pcid", SW_SELF },		/* mmu.c: contexts keyed by PCID */
	{ "invpcid", SW_SELF },		/* system.c */
	{ "clflushopt", SW_HOST },	/* system.c */
	{ "smep", SW_SELF },		/* mmu.c */
	{ "smap", SW_SELF },		/* mmu.c, system.c: STAC/CLAC */
	{ "umip", SW_SELF },		/* system.c */
	{ "pku", SW_SELF },		/* mmu.c, system.c: RDPKRU/WRPKRU (PKRU not in XSAVE yet) */
	{ "pks", SW_SELF },		/* mmu.c, system.c: IA32_PKRS */
	{ "rdtscp", SW_SELF },		/* system.c, IA32_TSC_AUX */
	{ "rdpid", SW_SELF },		/* system.c */
	{ "syscall", SW_SELF },		/* system.c */
	{ "nx", SW_SELF },		/* mmu.c */
	{ "pdpe1gb", SW_SELF },		/* mmu.c */
	{ "lm", SW_SELF },
	{ "lahf-lm", SW_HOST },		/* datamov.c */
	{ "abm", SW_HOST },		/* logic.c: LZCNT */
	{ "avx", SW_HOST },		/* avx_fp.c, avx_int.c (usable once XSAVE sets XCR0) */
	{ "fma", SW_HOST },		/* avx_fp.c */
	{ "f16c", SW_HOST },		/* avx_fp.c */
	{ "avx2", SW_HOST },		/* avx_int.c, avx2.c */
	{ "pmu", SW_SELF },		/* system.c: arch PMU v2, instructions retired */
	{ "bmi1", SW_HOST },		/* bmi.c, logic.c: TZCNT */
	{ "bmi2", SW_HOST },		/* bmi.c */
	{ "adx", SW_HOST },		/* bmi.c */
	{ "movbe", SW_HOST },		/* datamov.c */
	{ "rdrand", SW_HOST },		/* bmi.c: the host's generator */
	{ "rdseed", SW_HOST },		/* bmi.c: the host's generator */
	{ "aes", SW_HOST },		/* crypto.c (VEX forms: avx_crypto.c) */
	{ "pclmulqdq", SW_HOST },	/* crypto.c (VEX forms: avx_crypto.c) */
	{ "sha-ni", SW_HOST },		/* crypto.c */
	{ "xsave", SW_HOST },		/* xsave.c: x87, SSE, AVX components */
	{ "xsaveopt", SW_HOST },	/* xsave.c */
	{ "xsavec", SW_HOST },		/* xsave.c */
};

void cpuid_sw_provides(struct cpuid_feats *f)
{
	struct cpuid_feats h;

	host_feats(&h);
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < sizeof(sw_implements) / sizeof(sw_implements[0]); i++) {
		const char *n = sw_implements[i].name;
		const struct feat_name *fn = feat_find(n, strlen(n));

		if (fn && (sw_implements[i].need == SW_SELF || feats_test(&h, fn)))
			feats_set(f, fn, true);
	}
}

/* Is @fn in the software CPU's table at all (whatever the host has)? */
static bool sw_lists(const struct feat_name *fn)
{
	for (size_t i = 0; i < sizeof(sw_implements) / sizeof(sw_implements[0]); i++)
		if (feat_find(sw_implements[i].name, strlen(sw_implements[i].name)) == fn)
			return true;
	return false;
}

/* ---- models ---- */

enum vendor { V_HOST, V_INTEL, V_AMD };

struct cpu_def {
	const char *name;
	enum vendor vendor;
	unsigned family, model, stepping;	/* family 0: the host's */
	const char *brand;			/* NULL: the host's */
	const char *features;			/* QEMU's names, space-separated */
	const char *help;
};

#define BASE_EDX "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 " \
		 "clflush mmx fxsr sse sse2 "
#define V2 "pni ssse3 cx16 sse4.1 sse4.2 popcnt lahf_lm "
#define V3 "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave "

/*
 * The default: the baseline the software CPU has long implemented, and
 * the AVX family as the avx helpers added it to the default model.
 */
#define DEFAULT_FEATURES "fpu de pse tsc msr pae cx8 apic sep pge cmov pat clflush mmx fxsr " \
			 "sse sse2 pni ssse3 cx16 sse4.1 sse4.2 popcnt syscall nx pdpe1gb lm " \
			 "lahf_lm abm avx fma f16c avx2"

static const struct cpu_def cpu_defs[] = {
	{ "tandem", V_HOST, 6, 6, 3, "tandem virtual CPU", DEFAULT_FEATURES,
	  "the default: x86-64-v2 where every usable engine has it, the host's vendor" },
	{ "qemu64", V_HOST, 15, 107, 1, "QEMU Virtual CPU version 2.5+",
	  BASE_EDX "pni cx16 syscall nx lm lahf_lm svm",
	  "QEMU's qemu64 (with the host's vendor, not AMD's)" },
	{ "x86-64-v2", V_HOST, 6, 6, 3, "tandem x86-64-v2 CPU",
	  BASE_EDX V2 "syscall nx lm", "the x86-64-v2 baseline, the host's vendor" },
	{ "x86-64-v3", V_HOST, 6, 6, 3, "tandem x86-64-v3 CPU",
	  BASE_EDX V2 V3 "syscall nx lm", "the x86-64-v3 baseline, the host's vendor" },
	{ "Nehalem", V_INTEL, 6, 26, 3, "Intel Core i7 9xx (Nehalem Class Core i7)",
	  "vme " BASE_EDX V2 "syscall nx lm", "Intel, x86-64-v2" },
	{ "Haswell", V_INTEL, 6, 60, 4, "Intel Core Processor (Haswell)",
	  "vme " BASE_EDX V2 "pclmulqdq fma pcid x2apic movbe tsc-deadline aes xsave avx f16c "
	  "rdrand fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm abm syscall nx rdtscp lm "
	  "xsaveopt", "Intel, x86-64-v3 (with TSX)" },
	{ "Haswell-noTSX", V_INTEL, 6, 60, 1, "Intel Core Processor (Haswell, no TSX)",
	  "vme " BASE_EDX V2 "pclmulqdq fma pcid x2apic movbe tsc-deadline aes xsave avx f16c "
	  "rdrand fsgsbase bmi1 avx2 smep bmi2 erms invpcid abm syscall nx rdtscp lm xsaveopt",
	  "Intel, x86-64-v3" },
	{ "Opteron_G4", V_AMD, 21, 1, 2, "AMD Opteron 62xx class CPU",
	  "vme " BASE_EDX V2 "pclmulqdq aes xsave avx syscall nx pdpe1gb rdtscp lm svm abm "
	  "sse4a misalignsse 3dnowprefetch xop fma4", "AMD, x86-64-v2 (+AVX, XOP, FMA4)" },
	{ "EPYC", V_AMD, 23, 1, 2, "AMD EPYC Processor",
	  "vme " BASE_EDX V2 V3 "pclmulqdq monitor aes rdrand syscall nx mmxext fxsr_opt "
	  "pdpe1gb rdtscp lm svm cr8legacy sse4a misalignsse 3dnowprefetch osvw fsgsbase smep "
	  "rdseed adx smap clflushopt sha-ni xsaveopt xsavec xgetbv1", "AMD, x86-64-v3" },
	{ "max", V_HOST, 0, 0, 0, "tandem max CPU", NULL,
	  "everything the engine provides on this host" },
	{ "host", V_HOST, 0, 0, 0, NULL, NULL,
	  "the host CPU's features (refused where the engine lacks one)" },
};
#define NR_DEFS (sizeof(cpu_defs) / sizeof(cpu_defs[0]))

static const struct cpu_def *def_find(const char *name, size_t n)
{
	for (size_t i = 0; i < NR_DEFS; i++)
		if (strlen(cpu_defs[i].name) == n && !strncasecmp(cpu_defs[i].name, name, n))
			return &cpu_defs[i];
	return NULL;
}

bool cpuid_spec_is_default(const char *spec)
{
	return !spec || (strcspn(spec, ",") == 6 && !strncmp(spec, "tandem", 6));
}

/* ---- leaves ---- */

static struct cpuid_leaf *add(struct cpuid_model *m, uint32_t fn, uint32_t idx)
{
	struct cpuid_leaf *l;

	if (m->nr >= CPUID_MAX_LEAVES)
		return NULL;
	l = &m->leaf[m->nr++];
	memset(l, 0, sizeof(*l));
	l->function = fn;
	l->index = idx;
	return l;
}

static struct cpuid_leaf *find(struct cpuid_model *m, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->leaf[i].function == fn && m->leaf[i].index == idx)
			return &m->leaf[i];
	return NULL;
}

static uint32_t fms(unsigned family, unsigned model, unsigned stepping)
{
	return (stepping & 0xf) | ((model & 0xf) << 4) | ((family > 15 ? 15 : family) << 8) |
	       ((model >> 4) << 16) | ((family > 15 ? family - 15 : 0) << 20);
}

static void vendor_regs(enum vendor v, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
	uint32_t r[4];

	switch (v) {
	case V_INTEL:
		memcpy(ebx, "Genu", 4);
		memcpy(edx, "ineI", 4);
		memcpy(ecx, "ntel", 4);
		break;
	case V_AMD:
		memcpy(ebx, "Auth", 4);
		memcpy(edx, "enti", 4);
		memcpy(ecx, "cAMD", 4);
		break;
	default:
		host(0, 0, r);
		*ebx = r[1];
		*ecx = r[2];
		*edx = r[3];
		break;
	}
}

/*
 * The leaves of a model: identification from @d (NULL, family 0 or brand
 * NULL: the host's), features @f.
 */
static void build_leaves(struct cpuid_model *m, const struct cpu_def *d, enum vendor v,
			 const struct cpuid_feats *f, unsigned nr_vcpus)
{
	uint32_t h[4], hext[4];
	char brand[49] = { 0 };
	bool xsave = f->w[CPUID_W_1_ECX] & CPUID_1_ECX_XSAVE;
	bool pmu = (f->w[CPUID_W_PMU] & 1) && v != V_AMD && !(v == V_HOST && host_is_amd());
	struct cpuid_leaf *l;

	memset(m, 0, sizeof(*m));
	host(0x80000000u, 0, hext);
	m->max_basic = xsave ? 0xd : pmu ? 0xa : 7;
	m->max_ext = 0x80000008;

	l = add(m, 0, 0);
	l->eax = m->max_basic;
	vendor_regs(v, &l->ebx, &l->ecx, &l->edx);

	host(1, 0, h);
	l = add(m, 1, 0);
	l->eax = d && d->family ? fms(d->family, d->model, d->stepping) : h[0];
	/* 64-byte CLFLUSH line, the vCPU count; the APIC id goes in at lookup. */
	l->ebx = (8u << 8) | ((nr_vcpus & 0xff) << 16);
	l->ecx = f->w[CPUID_W_1_ECX] | CPUID_1_ECX_HYPERVISOR;
	l->edx = f->w[CPUID_W_1_EDX];

	l = add(m, 7, 0);
	l->ebx = f->w[CPUID_W_7_EBX];
	l->ecx = f->w[CPUID_W_7_ECX];
	l->edx = f->w[CPUID_W_7_EDX];

	if (pmu) {
		/*
		 * Architectural PMU version 2: 2 general counters and fixed
		 * counter 0, 48 bits wide; of the 7 architectural events only
		 * "instructions retired" (EBX bit 1 clear) is available.
		 */
		l = add(m, 0xa, 0);
		l->eax = 2 | (2u << 8) | (48u << 16) | (7u << 24);
		l->ebx = 0x7f & ~(1u << 1);
		l->edx = 1 | (48u << 5);
	}
	if (xsave) {
		/* x87 and SSE state, and the YMM halves with AVX (the standard layout). */
		bool avx = f->w[CPUID_W_1_ECX] & CPUID_1_ECX_AVX;
		uint32_t size = avx ? 576 + 256 : 576;

		l = add(m, 0xd, 0);
		l->eax = avx ? 7 : 3;
		l->ebx = 576;		/* for XCR0 = x87|SSE; CPUID adjusts it to XCR0 (system.c) */
		l->ecx = size;
		l = add(m, 0xd, 1);
		l->eax = f->w[CPUID_W_D1_EAX];
		if (avx) {
			l = add(m, 0xd, 2);
			l->eax = 256;
			l->ebx = 576;
		}
	}

	/* Hypervisor leaves: our own signature on both engines. */
	l = add(m, 0x40000000, 0);
	l->eax = 0x40000000;
	memcpy(&l->ebx, "TandemTandem", 12);

	l = add(m, 0x80000000, 0);
	l->eax = m->max_ext;
	if (v == V_AMD || (v == V_HOST && host_is_amd()))
		vendor_regs(v, &l->ebx, &l->ecx, &l->edx);
	l = add(m, 0x80000001, 0);
	l->ecx = f->w[CPUID_W_81_ECX];
	l->edx = f->w[CPUID_W_81_EDX];
	if (d && d->brand) {
		strncpy(brand, d->brand, 48);
	} else if (hext[0] >= 0x80000004u) {
		for (int i = 0; i < 3; i++)
			host(0x80000002u + i, 0, (uint32_t *)(brand + 16 * i));
	}
	for (int i = 0; i < 3; i++) {
		l = add(m, 0x80000002 + i, 0);
		memcpy(&l->eax, brand + 16 * i, 16);
	}
	/* Address sizes: 40 physical bits at most (never more than the host), 48 virtual. */
	l = add(m, 0x80000008, 0);
	if (hext[0] >= 0x80000008) {
		host(0x80000008, 0, h);
		l->eax = ((h[0] & 0xff) < 40 ? (h[0] & 0xff) : 40) | (48u << 8);
	} else {
		l->eax = 36 | (48u << 8);
	}
}

void cpuid_model_feats(const struct cpuid_model *m, struct cpuid_feats *f)
{
	uint32_t r[4];

	memset(f, 0, sizeof(*f));
	cpuid_model_lookup(m, 0, 1, 0, r);
	f->w[CPUID_W_1_EDX] = r[3];
	f->w[CPUID_W_1_ECX] = r[2] & ~CPUID_1_ECX_HYPERVISOR;
	if (m->max_basic >= 7) {
		cpuid_model_lookup(m, 0, 7, 0, r);
		f->w[CPUID_W_7_EBX] = r[1];
		f->w[CPUID_W_7_ECX] = r[2];
		f->w[CPUID_W_7_EDX] = r[3];
	}
	if (m->max_basic >= 0xd) {
		cpuid_model_lookup(m, 0, 0xd, 1, r);
		f->w[CPUID_W_D1_EAX] = r[0];
	}
	if (m->max_basic >= 0xa) {
		cpuid_model_lookup(m, 0, 0xa, 0, r);
		f->w[CPUID_W_PMU] = (r[0] & 0xff) ? 1 : 0;
	}
	cpuid_model_lookup(m, 0, 0x80000001u, 0, r);
	f->w[CPUID_W_81_EDX] = r[3];
	f->w[CPUID_W_81_ECX] = r[2];
}

void cpuid_model_from_feats(struct cpuid_model *m, const struct cpuid_feats *f)
{
	struct cpuid_feats all = *f;

	/* Leaf 0xd is there whenever a word might need it. */
	all.w[CPUID_W_1_ECX] |= CPUID_1_ECX_XSAVE;
	build_leaves(m, NULL, V_HOST, &all, 1);
	if (!(f->w[CPUID_W_1_ECX] & CPUID_1_ECX_XSAVE))
		find(m, 1, 0)->ecx &= ~CPUID_1_ECX_XSAVE;
}

/* ---- building a model from -cpu ---- */

/*
 * Features an OS can use only through XSAVE (their state is enabled in
 * XCR0): a model without xsave cannot offer them, whatever implements the
 * instructions (Linux lists AVX without XSAVE, and its programs then #UD).
 */
static const char *const needs_xsave[] = {
	"avx", "fma", "f16c", "avx2", "xsaveopt", "xsavec", "xgetbv1", "xsaves",
};

static bool is_xsave_dep(const struct feat_name *fn)
{
	for (size_t i = 0; i < sizeof(needs_xsave) / sizeof(needs_xsave[0]); i++)
		if (!strcmp(fn->name, needs_xsave[i]))
			return true;
	return false;
}

/* Drop from @f what needs xsave if @f lacks it. */
static void xsave_deps(struct cpuid_feats *f)
{
	if (f->w[CPUID_W_1_ECX] & CPUID_1_ECX_XSAVE)
		return;
	for (size_t i = 0; i < NR_NAMES; i++)
		if (is_xsave_dep(&feat_names[i]))
			feats_set(f, &feat_names[i], false);
}

/* What the software CPU provides, for lack_reason()'s xsave test. */
static const struct cpuid_feats *can_xsave(void)
{
	static struct cpuid_feats sw;

	cpuid_sw_provides(&sw);
	return &sw;
}

/* Why the engine lacks @fn: one phrase. */
static const char *lack_reason(const struct feat_name *fn, const char *engine)
{
	static char buf[96];
	struct cpuid_feats sw, h;

	if (is_xsave_dep(fn) && sw_lists(fn) && !feats_test(can_xsave(), feat_find("xsave", 5)))
		return "it needs xsave (XCR0), which this engine does not offer here";
	if (!sw_lists(fn))
		return "the software CPU does not implement it";
	if (!strcmp(fn->name, "pmu") && strstr(engine, "kvm"))
		return "the counters live in the software CPU, which does not see the user code "
		       "KVM runs";
	host_feats(&h);
	cpuid_sw_provides(&sw);
	if (!feats_test(&sw, fn) && !feats_test(&h, fn))
		return "the host CPU lacks it (the software CPU offers only what the host has, "
		       "for its oracle tests)";
	snprintf(buf, sizeof(buf), "the %s engine does not offer it on this host", engine);
	return buf;
}

/* The names of the bits in @f, space-separated, into @buf. */
static void feats_names(const struct cpuid_feats *f, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < NR_NAMES && n < len; i++)
		if (feats_test(f, &feat_names[i]))
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", feat_names[i].name);
}

static int build(struct cpuid_model *m, unsigned nr_vcpus, const char *spec,
		 const struct cpuid_feats *can_in, const char *engine, bool host_vendor_only,
		 FILE *warn, char *why, size_t len, bool deps)
{
	struct cpuid_feats can_deps = *can_in;
	const struct cpuid_feats *can = &can_deps;
	const char *p = spec ? spec : "tandem";
	size_t n = strcspn(p, ",");
	const struct cpu_def *d = def_find(p, n);
	struct cpuid_feats want = { { 0 } }, plus = { { 0 } }, minus = { { 0 } }, lost;
	bool enforce = false, is_default = cpuid_spec_is_default(spec);
	enum vendor v;
	char names[512];

	if (!d) {
		snprintf(why, len, "unknown CPU model '%.*s' (-cpu help lists the models)",
			 (int)n, p);
		return -EINVAL;
	}
	v = d->vendor;
	if (deps)
		xsave_deps(&can_deps);
	/* Options: +feat -feat feat=on|off enforce check. */
	for (p += n; *p == ',';) {
		const char *o = ++p, *eq;
		size_t on = strcspn(o, ","), nn;
		const struct feat_name *fn;
		bool set;

		p += on;
		if (on == 7 && !strncmp(o, "enforce", 7)) {
			enforce = true;
			continue;
		}
		if (on == 5 && !strncmp(o, "check", 5))
			continue;
		if (on && (*o == '+' || *o == '-')) {
			set = *o == '+';
			o++;
			nn = on - 1;
		} else {
			eq = memchr(o, '=', on);
			if (!eq || (strncmp(eq, "=on", 3) && strncmp(eq, "=off", 4)) ||
			    (size_t)(o + on - eq) != (eq[2] == 'n' ? 3u : 4u)) {
				snprintf(why, len, "-cpu %s: '%.*s' is neither +FEATURE, -FEATURE, "
					 "FEATURE=on|off nor enforce", spec, (int)on, o);
				return -EINVAL;
			}
			set = eq[2] == 'n';
			nn = eq - o;
		}
		fn = feat_find(o, nn);
		if (!fn) {
			snprintf(why, len, "-cpu %s: unknown CPU feature '%.*s' (-cpu help lists "
				 "them)", spec, (int)nn, o);
			return -EINVAL;
		}
		feats_set(set ? &plus : &minus, fn, true);
		feats_set(set ? &minus : &plus, fn, false);
	}
	if (host_vendor_only && v != V_HOST) {
		uint32_t r[4], e[3];

		host(0, 0, r);
		vendor_regs(v, &e[0], &e[2], &e[1]);
		if (memcmp(&r[1], &e[0], 4) || memcmp(&r[2], &e[2], 4)) {
			snprintf(why, len, "-cpu %s: the %s engine runs guest code on the host CPU, "
				 "of another vendor; this model needs --accel=sw", d->name, engine);
			return -EINVAL;
		}
	}
	if (d->features) {
		feats_add_list(&want, d->features);
	} else if (!strcmp(d->name, "max")) {
		want = *can;
	} else {
		/* host: the host's named features, all of which the engine must have. */
		struct cpuid_feats h;

		host_feats(&h);
		for (size_t i = 0; i < NR_NAMES; i++)
			if (feats_test(&h, &feat_names[i]))
				feats_set(&want, &feat_names[i], true);
		feats_set(&want, feat_find("hypervisor", 10), false);
		for (int w = 0; w < CPUID_NR_WORDS; w++)
			lost.w[w] = want.w[w] & ~can->w[w] & ~minus.w[w];
		feats_names(&lost, names, sizeof(names));
		if (names[0]) {
			snprintf(why, len, "-cpu host: the %s engine lacks the host's %s (-cpu max "
				 "has what it can offer; -FEATURE drops one)", engine, names);
			return -EINVAL;
		}
	}
	/* +feat: the engine must provide it, or it is refused with the reason. */
	for (size_t i = 0; i < NR_NAMES; i++) {
		const struct feat_name *fn = &feat_names[i];

		if (feats_test(&plus, fn) && !feats_test(can, fn)) {
			snprintf(why, len, "-cpu %s: feature %s: %s", spec, fn->name,
				 lack_reason(fn, engine));
			return -EINVAL;
		}
	}
	for (int w = 0; w < CPUID_NR_WORDS; w++) {
		want.w[w] = (want.w[w] | plus.w[w]) & ~minus.w[w];
		lost.w[w] = want.w[w] & ~can->w[w];
		want.w[w] &= can->w[w];
	}
	lost.w[CPUID_W_1_ECX] &= ~CPUID_1_ECX_HYPERVISOR;
	feats_names(&lost, names, sizeof(names));
	/* The default model quietly takes what every engine has, as it always did. */
	if (names[0] && !is_default) {
		if (enforce) {
			snprintf(why, len, "-cpu %s,enforce: the %s engine lacks %s", d->name,
				 engine, names);
			return -EINVAL;
		}
		if (warn)
			fprintf(warn, "tandem: warning: -cpu %s: the %s engine lacks %s; left out "
				"(,enforce makes this an error)\n", d->name, engine, names);
	}
	if (deps)
		xsave_deps(&want);	/* -xsave drops them too */
	build_leaves(m, d, v, &want, nr_vcpus);
	return 0;
}

int cpuid_model_build(struct cpuid_model *m, unsigned nr_vcpus, const char *spec,
		      const struct cpuid_feats *can, const char *engine, bool host_vendor_only,
		      FILE *warn, char *why, size_t len)
{
	return build(m, nr_vcpus, spec, can, engine, host_vendor_only, warn, why, len, true);
}

/*
 * The unit tests' model: the default's features as the software CPU has
 * them on this host, with the AVX family even without XSAVE (the tests set
 * XCR0 and CR4.OSXSAVE in the state themselves).
 */
void cpuid_model_init(struct cpuid_model *m, unsigned nr_vcpus)
{
	struct cpuid_feats can;
	char why[256];

	cpuid_sw_provides(&can);
	build(m, nr_vcpus, NULL, &can, "sw", false, NULL, why, sizeof(why), false);
}

/* ---- lookup, printing ---- */

bool cpuid_leaf_indexed(uint32_t fn)
{
	return fn == 4 || fn == 7 || fn == 0xb || fn == 0xd || fn == 0x1f;
}

void cpuid_model_lookup(const struct cpuid_model *m, unsigned apic_id, uint32_t function,
			uint32_t index, uint32_t out[4])
{
	uint32_t fn = function;

	/* Out-of-range basic leaves return the highest basic leaf, as Intel CPUs do. */
	if (fn < 0x40000000 && fn > m->max_basic)
		fn = m->max_basic;
	memset(out, 0, 4 * sizeof(*out));
	for (unsigned i = 0; i < m->nr; i++) {
		const struct cpuid_leaf *l = &m->leaf[i];

		if (l->function != fn || (cpuid_leaf_indexed(fn) && l->index != index))
			continue;
		out[0] = l->eax;
		out[1] = l->ebx;
		out[2] = l->ecx;
		out[3] = l->edx;
		break;
	}
	if (fn == 1)
		out[1] = (out[1] & 0x00ffffff) | (apic_id << 24);
}

bool cpuid_model_has(const struct cpuid_model *m, const char *name)
{
	const struct feat_name *fn = feat_find(name, strlen(name));
	struct cpuid_feats f;

	if (!fn)
		return false;
	cpuid_model_feats(m, &f);
	return feats_test(&f, fn);
}

void cpuid_model_print(const struct cpuid_model *m, FILE *out)
{
	struct cpuid_feats f;
	char names[1024];

	for (unsigned i = 0; i < m->nr; i++) {
		const struct cpuid_leaf *l = &m->leaf[i];

		fprintf(out, "  0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
			l->function, l->index, l->eax, l->ebx, l->ecx, l->edx);
	}
	cpuid_model_feats(m, &f);
	f.w[CPUID_W_1_ECX] |= CPUID_1_ECX_HYPERVISOR;
	feats_names(&f, names, sizeof(names));
	fprintf(out, "  features: %s\n", names);
}

void cpuid_print_help(FILE *out)
{
	fprintf(out, "CPU models (-cpu NAME[,+FEATURE|-FEATURE|FEATURE=on|off|enforce]...):\n");
	for (size_t i = 0; i < NR_DEFS; i++)
		fprintf(out, "  %-14s %s\n", cpu_defs[i].name, cpu_defs[i].help);
	fprintf(out, "CPU features (QEMU's names; the software CPU implements the starred):\n ");
	for (size_t i = 0, col = 1; i < NR_NAMES; i++) {
		size_t w = strlen(feat_names[i].name) + 2;

		if (col + w > 78) {
			fprintf(out, "\n ");
			col = 1;
		}
		fprintf(out, " %s%s", feat_names[i].name, sw_lists(&feat_names[i]) ? "*" : "");
		col += w;
	}
	fprintf(out, "\n");
}
