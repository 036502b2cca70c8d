/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_SYS_H
#define TANDEM_SW_SYS_H
/*
 * Private to the system half of the software CPU (seg.c, excp.c,
 * system.c, mmu.c): descriptor tables, stacks being built for a privilege
 * change, and the handlers other files dispatch to.
 *
 * Everything here follows the rules of cpu.h: helpers raise with
 * sw_raise*() and never change architectural state before the last
 * access that can fault.
 */
#include <stdbool.h>
#include <stdint.h>

#include "accel/sw/cpu.h"

/* ---- handlers for instructions that share a mnemonic with others ----
 * MOV to/from CRn and DRn decode as ZYDIS_MNEMONIC_MOV, like a GPR MOV:
 * the MOV handler (datamov.c) calls these when operand 0 or 1 is a
 * control or debug register (MOV Sreg goes to sw_load_seg()).
 */
void sw_mov_cr(struct sw_cpu *cpu, const struct sw_insn *in);
void sw_mov_dr(struct sw_cpu *cpu, const struct sw_insn *in);
/*
 * x87 / MMX / SSE / AVX instruction with no implementation yet: raises
 * #NM or #UD exactly as the CR0.EM/TS/MP and CR4.OSFXSR rules say, then
 * #UD. The place where x87.c / sse.c will plug in.
 */
void sw_fpu_absent(struct sw_cpu *cpu, const struct sw_insn *in);

/* ---- CPU model (system.c) ---- */
/* One register (0 = eax .. 3 = edx) of the model's CPUID leaf. */
uint32_t sw_cpuid_reg(uint32_t leaf, uint32_t subleaf, unsigned reg);
/* CR4 bits the model lets the guest set. */
uint64_t sw_cr4_valid_bits(void);
/* Performance counters (system.c): recompute cpu->pmu_on after st.pmu changed. */
void sw_pmu_update(struct sw_cpu *cpu);
/* One instruction retired while cpu->pmu_on: the counters that count it advance. */
void sw_pmu_retire(struct sw_cpu *cpu);

/* ---- descriptors (seg.c) ---- */
struct sw_desc {
	uint32_t lo, hi;	/* the 8-byte descriptor */
	uint32_t hi2, hi3;	/* bytes 8..15 of a 16-byte long-mode system descriptor */
	uint64_t la;		/* linear address, for the accessed / busy bits */
};

#define SW_DESC_TYPE(d)		(((d)->hi >> 8) & 0xf)
#define SW_DESC_S(d)		(((d)->hi >> 12) & 1)
#define SW_DESC_DPL(d)		(((d)->hi >> 13) & 3)
#define SW_DESC_P(d)		(((d)->hi >> 15) & 1)
#define SW_DESC_L(d)		(((d)->hi >> 21) & 1)
#define SW_DESC_DB(d)		(((d)->hi >> 22) & 1)
/* Code/data descriptor type bits (S = 1). */
#define SW_TYPE_A		0x1	/* accessed */
#define SW_TYPE_W		0x2	/* data: writable */
#define SW_TYPE_R		0x2	/* code: readable */
#define SW_TYPE_E		0x4	/* data: expand-down */
#define SW_TYPE_C		0x4	/* code: conforming */
#define SW_TYPE_CODE		0x8
/* System descriptor types (S = 0). */
enum {
	SW_SYS_TSS16 = 1, SW_SYS_LDT = 2, SW_SYS_TSS16_BUSY = 3, SW_SYS_CALL16 = 4,
	SW_SYS_TASK = 5, SW_SYS_INT16 = 6, SW_SYS_TRAP16 = 7, SW_SYS_TSS32 = 9,
	SW_SYS_TSS32_BUSY = 11, SW_SYS_CALL32 = 12, SW_SYS_INT32 = 14, SW_SYS_TRAP32 = 15,
};

static inline uint64_t sw_desc_base(const struct sw_desc *d)
{
	return (d->lo >> 16) | ((uint64_t)(d->hi & 0xff) << 16) | (d->hi & 0xff000000u);
}

/* The byte limit, with the granularity applied. */
static inline uint32_t sw_desc_limit(const struct sw_desc *d)
{
	uint32_t l = (d->lo & 0xffff) | (d->hi & 0xf0000);

	return (d->hi & (1u << 23)) ? (l << 12) | 0xfff : l;
}

/* Gate fields (call, interrupt, trap gates). */
static inline uint16_t sw_gate_sel(const struct sw_desc *d)
{
	return d->lo >> 16;
}

static inline uint64_t sw_gate_offset(const struct sw_desc *d, bool long_mode)
{
	uint64_t off = (d->lo & 0xffff) | (d->hi & 0xffff0000u);

	return long_mode ? off | ((uint64_t)d->hi2 << 32) : off;
}

/* Selector error code: index and TI, plus EXT when delivering an external event. */
static inline uint32_t sw_sel_err(uint16_t sel, uint32_t ext)
{
	return (sel & 0xfffc) | ext;
}

/*
 * Read the descriptor @sel names from the GDT or LDT (8 bytes, or 16 with
 * @wide for long-mode system descriptors). false when the selector lies
 * outside the table; the caller raises its own exception. May #PF.
 */
bool sw_desc_fetch(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d, bool wide);
/* Set the accessed bit in memory (and in @d) if it is clear. */
void sw_desc_set_accessed(struct sw_cpu *cpu, struct sw_desc *d);
/* Hidden part of a segment register from a code/data descriptor. */
void sw_desc_to_seg(const struct sw_desc *d, uint16_t sel, struct x86_seg *s);
/* A null selector load: unusable, DPL kept for SS (it is the CPL). */
void sw_seg_set_null(struct x86_seg *s, uint16_t sel, unsigned dpl);
/* True when @va is canonical for 48-bit linear addresses. */
static inline bool sw_canonical(uint64_t va)
{
	/* Shift as unsigned: a left shift of a negative signed value is undefined. */
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* ---- stacks being built for a transfer (seg.c) ----
 * Pushes go to memory at once but the stack pointer and SS are only
 * committed with sw_stack_commit() once every access has succeeded.
 */
struct sw_stack {
	struct x86_seg ss;	/* the segment the pushes go through */
	uint64_t rsp;		/* full register value; pushes change the low @bits */
	unsigned bits;		/* 16, 32 or 64 */
	unsigned acc;		/* SW_ACC_SYS for an inner (supervisor) stack */
	uint32_t err;		/* #SS error code: new SS selector, or 0 */
	bool lm64;		/* 64-bit mode stack: no limit checks, canonical only */
};

/* The current SS:RSP. */
void sw_stack_current(struct sw_cpu *cpu, struct sw_stack *stk);
void sw_stack_push(struct sw_cpu *cpu, struct sw_stack *stk, uint64_t val, unsigned size);
uint64_t sw_stack_pop(struct sw_cpu *cpu, struct sw_stack *stk, unsigned size);
/* Read at @off bytes above the stack pointer without popping. */
uint64_t sw_stack_peek(struct sw_cpu *cpu, struct sw_stack *stk, uint64_t off, unsigned size);
void sw_stack_commit(struct sw_cpu *cpu, const struct sw_stack *stk);
/* Fault now (#SS, #PF) if @size bytes at stack offset @off could not be written; writes nothing. */
void sw_stack_probe(struct sw_cpu *cpu, const struct sw_stack *stk, uint64_t off, unsigned size);
/*
 * The inner stack for a transfer to privilege @dpl: SS:ESP from the
 * 32-bit (or 16-bit) TSS with the SS checks, or in long mode RSPn / IST
 * @ist from the 64-bit TSS with a null SS. Raises #TS / #SS (with @ext).
 */
void sw_inner_stack(struct sw_cpu *cpu, unsigned dpl, unsigned ist, uint32_t ext,
		    struct sw_stack *stk);
/* After a return to an outer level: null DS/ES/FS/GS the new CPL may not use. */
void sw_seg_check_outer(struct sw_cpu *cpu);

/* ---- MMU (mmu.c) ---- */
/*
 * PAE paging (not long mode) loads the four PDPTEs when CR3 is written or
 * paging is enabled: false when one is present with reserved bits set
 * (the MOV then raises #GP(0)).
 */
bool sw_mmu_pdptes_valid(struct sw_cpu *cpu, uint64_t cr3);
/* Statistics for print_stats: walks, flushes, context switches. */
void sw_mmu_stats(struct sw_cpu *cpu, uint64_t out[4]);

/* ---- events (excp.c) ---- */
/* Once-per-process note on stderr for an unsupported guest feature. */
void sw_note_unsupported(struct sw_cpu *cpu, const char *what);

#endif
