/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_CPUID_H
#define TANDEM_CPUID_H
/*
 * The CPU model: the CPUID the guest sees, identical on both engines.
 * It is a fixed baseline (what the software CPU implements), intersected
 * with what the host (and so KVM) supports.
 */
#include <stdint.h>

struct cpuid_leaf {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
};

#define CPUID_MAX_LEAVES 32

struct cpuid_model {
	struct cpuid_leaf leaf[CPUID_MAX_LEAVES];
	unsigned nr;
	uint32_t max_basic, max_ext;
};

/* Build the model for a guest with @nr_vcpus. */
void cpuid_model_init(struct cpuid_model *m, unsigned nr_vcpus);
/* What CPUID returns for (function, index) on vCPU @apic_id. */
void cpuid_model_lookup(const struct cpuid_model *m, unsigned apic_id,
			uint32_t function, uint32_t index, uint32_t out[4]);

extern struct cpuid_model cpuid_global;

/* XCR0 / XSAVE state components, and what the software CPU implements. */
#define CPUID_XCR0_X87		(1u << 0)
#define CPUID_XCR0_SSE		(1u << 1)
#define CPUID_XCR0_AVX		(1u << 2)
#define CPUID_XCR0_SW		(CPUID_XCR0_X87 | CPUID_XCR0_SSE | CPUID_XCR0_AVX)
/* Leaf 0xD subleaf 1 EAX. */
#define CPUID_D1_EAX_XSAVEOPT	(1u << 0)
#define CPUID_D1_EAX_XSAVEC	(1u << 1)

/* Bytes of a standard-format XSAVE area for the components in @xcr0. */
unsigned cpuid_xsave_size(uint64_t xcr0);

/* Feature bits of the model (leaf 1 edx/ecx, 0x80000001 edx/ecx). */
#define CPUID_1_EDX_FPU		(1u << 0)
#define CPUID_1_EDX_VME		(1u << 1)
#define CPUID_1_EDX_DE		(1u << 2)
#define CPUID_1_EDX_PSE		(1u << 3)
#define CPUID_1_EDX_TSC		(1u << 4)
#define CPUID_1_EDX_MSR		(1u << 5)
#define CPUID_1_EDX_PAE		(1u << 6)
#define CPUID_1_EDX_CX8		(1u << 8)
#define CPUID_1_EDX_APIC	(1u << 9)
#define CPUID_1_EDX_SEP		(1u << 11)
#define CPUID_1_EDX_PGE		(1u << 13)
#define CPUID_1_EDX_CMOV	(1u << 15)
#define CPUID_1_EDX_PAT		(1u << 16)
#define CPUID_1_EDX_CLFSH	(1u << 19)
#define CPUID_1_EDX_MMX		(1u << 23)
#define CPUID_1_EDX_FXSR	(1u << 24)
#define CPUID_1_EDX_SSE		(1u << 25)
#define CPUID_1_EDX_SSE2	(1u << 26)
#define CPUID_1_ECX_SSE3	(1u << 0)
#define CPUID_1_ECX_PCLMULQDQ	(1u << 1)
#define CPUID_1_ECX_SSSE3	(1u << 9)
#define CPUID_1_ECX_CX16	(1u << 13)
#define CPUID_1_ECX_SSE4_1	(1u << 19)
#define CPUID_1_ECX_SSE4_2	(1u << 20)
#define CPUID_1_ECX_MOVBE	(1u << 22)
#define CPUID_1_ECX_POPCNT	(1u << 23)
#define CPUID_1_ECX_AES		(1u << 25)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_1_ECX_AVX		(1u << 28)
#define CPUID_1_ECX_RDRAND	(1u << 30)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_7_EBX_BMI1	(1u << 3)
#define CPUID_7_EBX_BMI2	(1u << 8)
#define CPUID_7_EBX_RDSEED	(1u << 18)
#define CPUID_7_EBX_ADX		(1u << 19)
#define CPUID_7_EBX_SHA		(1u << 29)
#define CPUID_81_EDX_SYSCALL	(1u << 11)
#define CPUID_81_EDX_NX		(1u << 20)
#define CPUID_81_EDX_PDPE1GB	(1u << 26)
#define CPUID_81_EDX_LM		(1u << 29)
#define CPUID_81_ECX_LAHF	(1u << 0)
#define CPUID_81_ECX_ABM	(1u << 5)	/* LZCNT */

#endif
