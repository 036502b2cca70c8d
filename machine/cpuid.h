/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_CPUID_H
#define TANDEM_MACHINE_CPUID_H
/*
 * The CPU model: the CPUID the guest sees, identical on both engines.
 *
 * A model (-cpu NAME[,+feat,-feat,...]) is a vendor, a family/model/
 * stepping, a brand string and a set of feature bits, named with QEMU's
 * spellings. A bit is advertised only when the engine that runs the guest
 * provides it: the software CPU implements it (cpuid.c's sw_implements[]
 * table) and, for instructions, the host has it too (the host-CPU oracle
 * tests against it); under KVM also what KVM_GET_SUPPORTED_CPUID offers
 * (the software CPU still runs part of the guest there). The default
 * model, "tandem", is limited by every usable engine so that a live
 * engine switch keeps one CPU.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cpuid_leaf {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
};

#define CPUID_MAX_LEAVES 40

struct cpuid_model {
	struct cpuid_leaf leaf[CPUID_MAX_LEAVES];
	unsigned nr;
	uint32_t max_basic, max_ext;
};

/* The feature words a model is made of. */
enum cpuid_word {
	CPUID_W_1_EDX,
	CPUID_W_1_ECX,
	CPUID_W_7_EBX,
	CPUID_W_7_ECX,
	CPUID_W_7_EDX,
	CPUID_W_81_EDX,
	CPUID_W_81_ECX,
	CPUID_W_D1_EAX,		/* leaf 0xd subleaf 1: xsaveopt xsavec xgetbv1 xsaves */
	CPUID_W_PMU,		/* bit 0: leaf 0xa, the architectural PMU (Intel models) */
	CPUID_NR_WORDS,
};

struct cpuid_feats {
	uint32_t w[CPUID_NR_WORDS];
};

/*
 * The unit tests' model: the default ("tandem") with what the software CPU
 * has on this host, no engine limits, AVX even without XSAVE.
 */
void cpuid_model_init(struct cpuid_model *m, unsigned nr_vcpus);

/*
 * Build model @spec ("NAME[,+feat|-feat|feat=on|off|enforce]...", NULL:
 * the default) for @nr_vcpus, on an engine that provides @can (see
 * cpuid_sw_provides(); an engine on the host CPU names its vendor with
 * @host_vendor_only). 0, or -EINVAL with one line in @why; warnings (a
 * model's feature left out) go to @warn (may be NULL).
 */
int cpuid_model_build(struct cpuid_model *m, unsigned nr_vcpus, const char *spec,
		      const struct cpuid_feats *can, const char *engine, bool host_vendor_only,
		      FILE *warn, char *why, size_t len);
/* Is @spec the default model (NULL, "tandem")? The part before a comma counts. */
bool cpuid_spec_is_default(const char *spec);

/* What the software CPU provides on this host: its table, each instruction if the host has it. */
void cpuid_sw_provides(struct cpuid_feats *f);
/* A model's feature words, and back: a model with exactly @f (for engines' limits). */
void cpuid_model_feats(const struct cpuid_model *m, struct cpuid_feats *f);
void cpuid_model_from_feats(struct cpuid_model *m, const struct cpuid_feats *f);

/* What CPUID returns for (function, index) on vCPU @apic_id. */
void cpuid_model_lookup(const struct cpuid_model *m, unsigned apic_id,
			uint32_t function, uint32_t index, uint32_t out[4]);
/* Leaves whose ECX input selects a subleaf. */
bool cpuid_leaf_indexed(uint32_t fn);
/* Print the model's leaves (tandem info --cpu), and the models and feature names (-cpu help). */
void cpuid_model_print(const struct cpuid_model *m, FILE *out);
void cpuid_print_help(FILE *out);
/* Does the model have feature @name (QEMU's spelling)? */
bool cpuid_model_has(const struct cpuid_model *m, const char *name);

extern struct cpuid_model cpuid_global;

/* XCR0 / XSAVE state components, and what the software CPU implements. */
#define CPUID_XCR0_X87		(1u << 0)
#define CPUID_XCR0_SSE		(1u << 1)
#define CPUID_XCR0_AVX		(1u << 2)
#define CPUID_XCR0_SW		(CPUID_XCR0_X87 | CPUID_XCR0_SSE | CPUID_XCR0_AVX)
/* Leaf 0xD subleaf 1 EAX. */
#define CPUID_D1_EAX_XSAVEOPT	(1u << 0)
#define CPUID_D1_EAX_XSAVEC	(1u << 1)

/* Feature bits of the model (leaf 1 edx/ecx, 0x80000001 edx/ecx). */
#define CPUID_1_EDX_FPU		(1u << 0)
#define CPUID_1_EDX_VME		(1u << 1)
#define CPUID_1_EDX_DE		(1u << 2)
#define CPUID_1_EDX_PSE		(1u << 3)
#define CPUID_1_EDX_TSC		(1u << 4)
#define CPUID_1_EDX_MSR		(1u << 5)
#define CPUID_1_EDX_PAE		(1u << 6)
#define CPUID_1_EDX_MCE		(1u << 7)
#define CPUID_1_EDX_CX8		(1u << 8)
#define CPUID_1_EDX_APIC	(1u << 9)
#define CPUID_1_EDX_SEP		(1u << 11)
#define CPUID_1_EDX_PGE		(1u << 13)
#define CPUID_1_EDX_MCA		(1u << 14)
#define CPUID_1_EDX_CMOV	(1u << 15)
#define CPUID_1_EDX_PAT		(1u << 16)
#define CPUID_1_EDX_CLFSH	(1u << 19)
#define CPUID_1_EDX_MMX		(1u << 23)
#define CPUID_1_EDX_FXSR	(1u << 24)
#define CPUID_1_EDX_SSE		(1u << 25)
#define CPUID_1_EDX_SSE2	(1u << 26)
#define CPUID_1_ECX_SSE3	(1u << 0)
#define CPUID_1_ECX_PCLMULQDQ	(1u << 1)
#define CPUID_1_ECX_PDCM	(1u << 15)
#define CPUID_1_ECX_SSSE3	(1u << 9)
#define CPUID_1_ECX_FMA		(1u << 12)
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
#define CPUID_1_ECX_X2APIC	(1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_F16C	(1u << 29)
#define CPUID_7_EBX_AVX2	(1u << 5)
#define CPUID_7_EBX_SMEP	(1u << 7)
#define CPUID_7_EBX_SMAP	(1u << 20)
#define CPUID_7_ECX_UMIP	(1u << 2)
#define CPUID_7_ECX_PKU		(1u << 3)
#define CPUID_7_ECX_OSPKE	(1u << 4)
#define CPUID_7_ECX_RDPID	(1u << 22)
#define CPUID_7_ECX_PKS		(1u << 31)
#define CPUID_81_EDX_SYSCALL	(1u << 11)
#define CPUID_81_EDX_NX		(1u << 20)
#define CPUID_81_EDX_PDPE1GB	(1u << 26)
#define CPUID_81_EDX_RDTSCP	(1u << 27)
#define CPUID_81_EDX_LM		(1u << 29)
#define CPUID_81_ECX_LAHF	(1u << 0)
#define CPUID_81_ECX_ABM	(1u << 5)	/* LZCNT */
#define CPUID_81_ECX_PERFCTR_CORE (1u << 23)

#endif
