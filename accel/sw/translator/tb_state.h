/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_TRANSLATOR_TB_STATE_H
#define TANDEM_SW_TRANSLATOR_TB_STATE_H
/*
 * What translated code reads and writes of a vCPU, besides struct
 * x86_state: the inline TLB, the indirect-branch (jump) caches, scratch
 * slots and the exit protocol. It lives inside struct sw_cpu, right after
 * the architectural state, because translated code reaches both through
 * the host's GS base, which points at the vCPU's struct x86_state: every
 * field here is one gs:[disp32] away, and no host register is spent on a
 * state pointer.
 *
 * Inline TLB entry: host = linear + addend, valid when the page of the
 * access's last byte equals @tag (so a hit also proves that the access
 * does not cross a page). An empty slot i holds a tag of a page whose own
 * slot is i + 2, which no access probing slot i can match (see
 * tb_tlb_flush()).
 */
#include <stdint.h>

#define TB_TLB_BITS	11
#define TB_TLB_SIZE	(1u << TB_TLB_BITS)
#define TB_JC_BITS	12
#define TB_JC_SIZE	(1u << TB_JC_BITS)

/* Inline TLB tables: [privilege][kind]. */
enum { TB_TLB_SUP = 0, TB_TLB_USER = 1 };
enum { TB_TLB_READ = 0, TB_TLB_WRITE = 1 };

struct tb_tlbe {
	uint64_t tag;
	uint64_t addend;
};

struct tb_jce {
	uint64_t rip;		/* guest RIP (offset in CS) */
	void *code;		/* host entry of the block */
};

struct tb;
struct tb_exit;
struct tb_vcpu;

struct tb_cpu_state {
	/* Scalars first, so that their displacements are small. */
	uint64_t hflags;		/* guest OSZAPC as host RFLAGS (| bit 1) */
	uint64_t slot[4];		/* scratch for translated code */
	void *entry;			/* where tb_enter jumps */
	void *self;			/* struct sw_cpu * */
	struct tb_exit *exit;		/* direct exit taken last, or NULL */
	/*
	 * The run loop's kick flag (an atomic int, or @kick_none): translated
	 * code leaves at its next check while it is set, and only the run loop
	 * clears it, so no kick is ever lost between two flags.
	 */
	const volatile int *kick;
	int kick_none;
	struct tb_vcpu *tv;		/* exec.c's per-vCPU data */
	/*
	 * -icount: a block whose end (cpu->icount + its length) passes this
	 * count leaves at its entry (sw_icount_next(), accel/sw/icount.h).
	 */
	uint64_t icount_limit;
	struct tb_tlbe tlb[2][2][TB_TLB_SIZE];	/* [TB_TLB_SUP/USER][READ/WRITE] */
	uint64_t tlb_wgpa[2][TB_TLB_SIZE];	/* guest page of each write entry */
	struct tb_jce jc[2][TB_JC_SIZE];	/* [CPL < 3, CPL 3] */
};

#endif
