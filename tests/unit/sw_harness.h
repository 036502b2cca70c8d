/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_HARNESS_H
#define TANDEM_SW_HARNESS_H
/*
 * Unit-test harness for the software CPU: a VM with RAM only (no board,
 * no devices, empty buses: unmapped I/O reads all-ones), one sw_cpu, code
 * poked at a guest address, registers set directly in h->cpu.st, then
 * single steps or bounded runs.
 *
 *	struct swh *h = swh_new(4 << 20, SWH_LONG64);
 *	static const uint8_t code[] = { 0x48, 0x01, 0xd8 };	// add rax, rbx
 *	uint64_t end = swh_load_code(h, 0x10000, code, sizeof(code));
 *	h->cpu.st.gpr[R_AX] = 1; h->cpu.st.gpr[R_BX] = 2;
 *	CU_ASSERT_EQUAL(swh_run(h, end, 100), SWH_OK);
 *	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX], 3);
 *	swh_free(h);
 *
 * swh_step()/swh_run() do NOT deliver exceptions: they stop and return the
 * vector, the state is as the fault left it (rip = the faulting insn) and
 * h->cpu.exc holds the error code / CR2. swh_run_events() runs the real
 * loop (sw_run) instead: exceptions and interrupts go through the IDT/IVT.
 *
 * Memory map in every mode: guest-physical = linear (paging identity maps
 * the first 1 GiB in the long modes, with its tables at SWH_PT_BASE ..
 * SWH_PT_END: keep code and data out of there). RAM starts at 0.
 */
#include <stddef.h>
#include <stdint.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "machine/vm.h"

enum swh_mode {
	SWH_REAL,	/* real mode, all segments base 0 limit 0xffff, IVT at 0 */
	SWH_PROT16,	/* PE=1, 16-bit code/data segments, base 0 limit 0xffff */
	SWH_PROT32,	/* flat 32-bit protected mode, CPL 0, paging off */
	SWH_COMPAT32,	/* long mode, 32-bit code segment (CS.L=0, D=1) */
	SWH_LONG64,	/* 64-bit long mode, CPL 0 */
};

#define SWH_PT_BASE	0x1000ull	/* PML4 at +0, PDPT at +0x1000, PD at +0x2000 */
#define SWH_PT_END	0x4000ull

/* Results of swh_step() / swh_run(); >= 0 is an exception vector. */
#define SWH_OK		(-1)	/* stepped / reached end_rip */
#define SWH_HALT	(-2)	/* HLT executed (st.halted) */
#define SWH_LIMIT	(-3)	/* max instructions executed */
#define SWH_STOP	(-4)	/* a handler requested a stop (cpu.stop_req) */

struct swh {
	struct sw_cpu cpu;	/* first: 16-byte aligned state */
	struct vm vm;
	struct sw_vm svm;
	enum swh_mode mode;
};

/* A fresh VM with @ram_size bytes of RAM (>= 1 MiB, 4 KiB multiple) in @mode; NULL on error. */
struct swh *swh_new(uint64_t ram_size, enum swh_mode mode);
void swh_free(struct swh *h);
/* Reset the CPU state to @mode (registers zero, RFLAGS = 2, rip 0, stack at 0x8000). */
void swh_set_mode(struct swh *h, enum swh_mode mode);

/*
 * Guest-physical memory access, bypassing the CPU (no paging, no
 * segments). A poke drops decoded instructions of the pages it touches,
 * but not shadow page-table state (SW_PAGE_PT): after poking page tables
 * call sw_mmu_flush_all(&h->cpu), as for a DMA write.
 */
void swh_poke(struct swh *h, uint64_t gpa, const void *src, size_t len);
void swh_peek(struct swh *h, uint64_t gpa, void *dst, size_t len);
uint64_t swh_peek_val(struct swh *h, uint64_t gpa, unsigned size);
void swh_poke_val(struct swh *h, uint64_t gpa, uint64_t val, unsigned size);

/*
 * Put @len code bytes at @gpa (a poke) and point CS:RIP there
 * (rip = gpa - CS.base, halted cleared). Returns the rip just past the
 * code (the usual @end_rip for swh_run()).
 */
uint64_t swh_load_code(struct swh *h, uint64_t gpa, const void *code, size_t len);

/* Execute one instruction; SWH_OK, SWH_HALT, SWH_STOP or the exception vector. */
int swh_step(struct swh *h);
/*
 * Step until rip == @end_rip (SWH_OK), an exception (its vector), HLT
 * (SWH_HALT), a stop request (SWH_STOP) or @max instructions (SWH_LIMIT).
 */
int swh_run(struct swh *h, uint64_t end_rip, uint64_t max);
/* The real loop with event delivery, at most @max instructions (0: until halt/stop). */
enum vcpu_stop swh_run_events(struct swh *h, uint64_t max);

#endif
