// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The CPU model. One fixed baseline, what the software CPU implements, so
 * the guest sees the same features on both engines; each feature word is
 * intersected with the host's CPUID so KVM can honour it too.
 */
#include <cpuid.h>
#include <string.h>

#include "machine/cpuid.h"

struct cpuid_model cpuid_global;

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

static void host(uint32_t fn, uint32_t idx, uint32_t r[4])
{
	__cpuid_count(fn, idx, r[0], r[1], r[2], r[3]);
}

static void put_str(uint32_t *regs, const char *s)
{
	memcpy(regs, s, 16);
}

/* Leaf 1 ECX of the model as built so far. */
static uint32_t l1ecx(const struct cpuid_model *m)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->leaf[i].function == 1)
			return m->leaf[i].ecx;
	return 0;
}

unsigned cpuid_xsave_size(uint64_t xcr0)
{
	/* The legacy region and the header; AVX at 576 (leaf 0xD.2). */
	return xcr0 & CPUID_XCR0_AVX ? 576 + 256 : 576;
}

void cpuid_model_init(struct cpuid_model *m, unsigned nr_vcpus)
{
	static const char brand[48] = "tandem virtual CPU";
	uint32_t h[4], hmax[4], hext[4];
	struct cpuid_leaf *l;

	memset(m, 0, sizeof(*m));
	host(0, 0, hmax);
	host(0x80000000, 0, hext);
	m->max_basic = 7;
	m->max_ext = 0x80000008;

	/* Leaf 0: the host's vendor, so KVM's vendor-specific behaviour matches. */
	l = add(m, 0, 0);
	l->eax = m->max_basic;
	l->ebx = hmax[1];
	l->ecx = hmax[2];
	l->edx = hmax[3];

	/* Leaf 1: family 6 model 6 stepping 3; 64-byte CLFLUSH line. */
	host(1, 0, h);
	l = add(m, 1, 0);
	l->eax = 0x663;
	l->ebx = (8u << 8) | ((nr_vcpus & 0xff) << 16);
	/* x86-64-v2: what the interpreter implements (accel/sw/sse3.c ssse3.c sse4.c). */
	l->ecx = (h[2] & (CPUID_1_ECX_SSE3 | CPUID_1_ECX_SSSE3 | CPUID_1_ECX_CX16 |
			  CPUID_1_ECX_SSE4_1 | CPUID_1_ECX_SSE4_2 | CPUID_1_ECX_POPCNT)) |
		 CPUID_1_ECX_HYPERVISOR;
	/* accel/sw/bmi.c crypto.c datamov.c xsave.c: where the host has them. */
	l->ecx |= h[2] & (CPUID_1_ECX_PCLMULQDQ | CPUID_1_ECX_MOVBE | CPUID_1_ECX_AES |
			  CPUID_1_ECX_RDRAND | CPUID_1_ECX_XSAVE);
	l->edx = h[3] & (CPUID_1_EDX_FPU | CPUID_1_EDX_DE | CPUID_1_EDX_PSE | CPUID_1_EDX_TSC |
			 CPUID_1_EDX_MSR | CPUID_1_EDX_PAE | CPUID_1_EDX_CX8 | CPUID_1_EDX_APIC |
			 CPUID_1_EDX_SEP | CPUID_1_EDX_PGE |
			 CPUID_1_EDX_CMOV | CPUID_1_EDX_PAT | CPUID_1_EDX_CLFSH | CPUID_1_EDX_MMX |
			 CPUID_1_EDX_FXSR | CPUID_1_EDX_SSE | CPUID_1_EDX_SSE2);

	/* Leaf 7: the scalar extensions of accel/sw/bmi.c crypto.c, where the host has them. */
	l = add(m, 7, 0);
	if (hmax[0] >= 7) {
		host(7, 0, h);
		l->ebx = h[1] & (CPUID_7_EBX_BMI1 | CPUID_7_EBX_BMI2 | CPUID_7_EBX_RDSEED |
				 CPUID_7_EBX_ADX | CPUID_7_EBX_SHA);
	}

	/* Leaf 0xD: the XSAVE components accel/sw/xsave.c implements (see xsave_leaf()). */
	if ((l1ecx(m) & CPUID_1_ECX_XSAVE) && hmax[0] >= 0xd) {
		m->max_basic = 0xd;
		m->leaf[0].eax = m->max_basic;
		host(0xd, 0, h);
		l = add(m, 0xd, 0);
		l->eax = h[0] & CPUID_XCR0_SW;
		l->ecx = cpuid_xsave_size(l->eax);
		host(0xd, 1, h);
		l = add(m, 0xd, 1);
		l->eax = h[0] & (CPUID_D1_EAX_XSAVEOPT | CPUID_D1_EAX_XSAVEC);
		l = add(m, 0xd, 2);
		l->eax = 256;	/* AVX: YMM0-15 bits 255:128 */
		l->ebx = 576;
	}

	/* Hypervisor leaves: our own signature on both engines. */
	l = add(m, 0x40000000, 0);
	l->eax = 0x40000000;
	memcpy(&l->ebx, "TandemTandem", 12);

	l = add(m, 0x80000000, 0);
	l->eax = m->max_ext;
	host(0x80000001, 0, h);
	l = add(m, 0x80000001, 0);
	l->ecx = h[2] & (CPUID_81_ECX_LAHF | CPUID_81_ECX_ABM);
	l->edx = h[3] & (CPUID_81_EDX_SYSCALL | CPUID_81_EDX_NX | CPUID_81_EDX_PDPE1GB |
			 CPUID_81_EDX_LM);
	for (int i = 0; i < 3; i++) {
		l = add(m, 0x80000002 + i, 0);
		put_str(&l->eax, brand + 16 * i);
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

/*
 * Leaf 0xD follows leaf 1 as it is now (KVM may have masked XSAVE or AVX
 * out of it since cpuid_model_init): nothing without XSAVE, no AVX
 * component without AVX. EBX of subleaves 0 and 1 is the size of the
 * standard and compacted area for XCR0 at reset (the same for x87, SSE
 * and AVX); each engine's CPUID gives the one for the vCPU's XCR0.
 */
static void xsave_leaf(const struct cpuid_model *m, uint32_t index, uint32_t out[4])
{
	uint32_t ecx = l1ecx(m);

	if (!(ecx & CPUID_1_ECX_XSAVE)) {
		memset(out, 0, 4 * sizeof(*out));
		return;
	}
	if (!(ecx & CPUID_1_ECX_AVX)) {
		if (index == 0) {
			out[0] &= ~CPUID_XCR0_AVX;
			out[2] = cpuid_xsave_size(out[0]);
		} else if (index == 2) {
			memset(out, 0, 4 * sizeof(*out));
		}
	}
	/* Sizes for XCR0 at reset (x87 only); the engines give the vCPU's (system.c, KVM). */
	if (index == 0 || (index == 1 && (out[0] & CPUID_D1_EAX_XSAVEC)))
		out[1] = cpuid_xsave_size(CPUID_XCR0_X87);
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

		if (l->function != fn || ((fn == 7 || fn == 0xd) && l->index != index))
			continue;
		out[0] = l->eax;
		out[1] = l->ebx;
		out[2] = l->ecx;
		out[3] = l->edx;
		break;
	}
	if (fn == 1)
		out[1] = (out[1] & 0x00ffffff) | (apic_id << 24);
	if (fn == 0xd)
		xsave_leaf(m, index, out);
}
