/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_X86_STATE_H
#define TANDEM_X86_STATE_H
/*
 * The architectural state of one x86 vCPU: the common currency between
 * the engines. KVM converts to and from its ioctls; the software CPU keeps
 * a superset. Comparing two engines, handing an instruction from one to
 * the other, and snapshots all go through this struct.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum x86_gpr {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

enum x86_sreg { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NR };

/*
 * A segment register with its hidden part. @attr uses the VMX
 * access-rights layout: type[3:0] s[4] dpl[6:5] p[7] avl[12] l[13]
 * db[14] g[15] unusable[16]. @limit is the expanded byte limit.
 */
struct x86_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t sel;
	uint32_t attr;
};

#define SEG_ATTR_TYPE(a)	((a) & 0xf)
#define SEG_ATTR_S		(1u << 4)
#define SEG_ATTR_DPL(a)		(((a) >> 5) & 3)
#define SEG_ATTR_P		(1u << 7)
#define SEG_ATTR_AVL		(1u << 12)
#define SEG_ATTR_L		(1u << 13)
#define SEG_ATTR_DB		(1u << 14)
#define SEG_ATTR_G		(1u << 15)
#define SEG_ATTR_UNUSABLE	(1u << 16)

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

/* Legacy FXSAVE image: FPU, MMX and SSE state, as the FXSAVE insn writes it. */
struct x86_fxsave {
	uint16_t fcw, fsw;
	uint8_t ftw, rsvd0;	/* abridged tag word */
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];	/* 80-bit registers, 16-byte slots */
	uint8_t xmm[16][16];
	uint8_t rsvd1[96];
} __attribute__((aligned(16)));

_Static_assert(sizeof(struct x86_fxsave) == 512, "fxsave layout");

/* Pending event (exception or external interrupt) not yet delivered. */
struct x86_event {
	bool pending;
	bool injected;		/* delivery started (e.g. a fault during it) */
	uint8_t vector;
	bool has_error;
	uint32_t error;
};

#define X86_RFLAGS_CF	(1ull << 0)
#define X86_RFLAGS_FIXED (1ull << 1)
#define X86_RFLAGS_PF	(1ull << 2)
#define X86_RFLAGS_AF	(1ull << 4)
#define X86_RFLAGS_ZF	(1ull << 6)
#define X86_RFLAGS_SF	(1ull << 7)
#define X86_RFLAGS_TF	(1ull << 8)
#define X86_RFLAGS_IF	(1ull << 9)
#define X86_RFLAGS_DF	(1ull << 10)
#define X86_RFLAGS_OF	(1ull << 11)
#define X86_RFLAGS_IOPL	(3ull << 12)
#define X86_RFLAGS_NT	(1ull << 14)
#define X86_RFLAGS_RF	(1ull << 16)
#define X86_RFLAGS_VM	(1ull << 17)
#define X86_RFLAGS_AC	(1ull << 18)
#define X86_RFLAGS_VIF	(1ull << 19)
#define X86_RFLAGS_VIP	(1ull << 20)
#define X86_RFLAGS_ID	(1ull << 21)

#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_MP	(1ull << 1)
#define X86_CR0_EM	(1ull << 2)
#define X86_CR0_TS	(1ull << 3)
#define X86_CR0_ET	(1ull << 4)
#define X86_CR0_NE	(1ull << 5)
#define X86_CR0_WP	(1ull << 16)
#define X86_CR0_AM	(1ull << 18)
#define X86_CR0_NW	(1ull << 29)
#define X86_CR0_CD	(1ull << 30)
#define X86_CR0_PG	(1ull << 31)

#define X86_CR4_VME	(1ull << 0)
#define X86_CR4_PVI	(1ull << 1)
#define X86_CR4_TSD	(1ull << 2)
#define X86_CR4_DE	(1ull << 3)
#define X86_CR4_PSE	(1ull << 4)
#define X86_CR4_PAE	(1ull << 5)
#define X86_CR4_MCE	(1ull << 6)
#define X86_CR4_PGE	(1ull << 7)
#define X86_CR4_PCE	(1ull << 8)
#define X86_CR4_OSFXSR	(1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP	(1ull << 11)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_PCIDE	(1ull << 17)
#define X86_CR4_OSXSAVE	(1ull << 18)
#define X86_CR4_SMEP	(1ull << 20)
#define X86_CR4_SMAP	(1ull << 21)
#define X86_CR4_PKE	(1ull << 22)
#define X86_CR4_PKS	(1ull << 24)

#define X86_EFER_SCE	(1ull << 0)
#define X86_EFER_LME	(1ull << 8)
#define X86_EFER_LMA	(1ull << 10)
#define X86_EFER_NXE	(1ull << 11)

/* MSR numbers the CPU model implements on both engines. */
#define MSR_IA32_TSC		0x10
#define MSR_IA32_APIC_BASE	0x1b
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_PAT		0x277
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define MSR_IA32_PKRS		0x6e1
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

struct x86_msrs {
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t pat, misc_enable, apic_base, tsc_aux, tsc_deadline;
	uint64_t tsc;		/* guest TSC value at the time of the snapshot */
	uint64_t pkrs;		/* IA32_PKRS: supervisor protection keys (PKS) */
};

/*
 * The performance counters the CPU model has (machine/cpuid.c): Intel's
 * architectural PMU v2 (2 general counters, fixed counter 0) or AMD's
 * legacy four. @sel/@ctr are IA32_PERFEVTSELx/IA32_PMCx (Intel) or
 * PERF_CTLx/PERF_CTRx (AMD).
 */
struct x86_pmu {
	uint64_t sel[4], ctr[4];
	uint64_t fixed_ctr0, fixed_ctrl, global_ctrl, global_status;
};

struct x86_state {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
	struct x86_seg seg[S_NR];
	struct x86_seg ldt, tr;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[8];		/* dr4/dr5 unused */
	uint64_t xcr0;
	uint32_t pkru;		/* user protection keys (PKU): AD/WD bits of keys 0-15 */
	struct x86_pmu pmu;
	struct x86_msrs msr;
	struct x86_fxsave fx;
	uint8_t ymmh[16][16];	/* bits 255:128 of YMM0-15 (XSAVE component 2) */
	struct x86_event exception;
	struct x86_event interrupt;
	bool nmi_pending;
	bool nmi_blocked;	/* an NMI handler runs: NMIs held until the next IRET */
	bool int_shadow;	/* STI / MOV SS shadow in effect */
	bool halted;
};

/* Fill @st with the architectural reset state (CS:IP = f000:fff0). */
void x86_state_reset(struct x86_state *st);
/* Flat 32-bit protected mode, paging off: the multiboot entry state. */
void x86_state_flat32(struct x86_state *st);
/* Print a register dump in one familiar layout (QEMU's "info registers"). */
void x86_state_dump(const struct x86_state *st, FILE *out);

#define X86_MAX_INSN_LEN	15	/* longest legal encoding */

/*
 * The width code runs at in @st, 16, 32 or 64: what a disassembler must be
 * told. Real and virtual-8086 mode are 16-bit whatever CS's cached D bit
 * says; CS.L counts only with EFER.LMA (else it is compatibility mode).
 * It is the rule KVM's instruction emulator decodes by, so a failure it
 * reports is described as the instruction it gave up on.
 */
unsigned x86_code_bits(const struct x86_state *st);

#endif
