/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_TRANSLATOR_TB_H
#define TANDEM_SW_TRANSLATOR_TB_H
/*
 * The binary translator, as the rest of the software CPU sees it.
 *
 * cpu.c's run loop calls tb_exec() where it would step one instruction;
 * the MMU and memory code call the invalidation hooks at the points x86
 * (or self-modifying code) requires. Everything else is private to
 * accel/sw/translator/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sw_cpu;
struct sw_vm;

enum tb_mode {
	TB_OFF,		/* jit=off: the interpreter alone */
	TB_ON,
	TB_CHECK,	/* jit=check: every block replayed on the interpreter and compared */
};

int tb_vm_init(struct sw_vm *svm, enum tb_mode mode, bool perfmap);
void tb_vm_destroy(struct sw_vm *svm);
int tb_cpu_init(struct sw_cpu *cpu);
void tb_cpu_destroy(struct sw_cpu *cpu);

/*
 * Run translated code from the current state. Returns the number of
 * blocks run (0: the instruction at RIP is not translated; the caller
 * interprets it). Returns when cpu->st needs the run loop: an exit
 * request (kick, interrupt), an instruction left to the interpreter, a
 * stop request. Faults unwind through cpu->jmp as in the interpreter.
 */
uint64_t tb_exec(struct sw_cpu *cpu);
/* Blocks this vCPU entered so far (any thread, a racy read: the progress line). */
uint64_t tb_dispatches(const struct sw_cpu *cpu);
/* The flag that asks translated code to leave (sw_run()'s kick; NULL: none). */
void tb_set_kick(struct sw_cpu *cpu, const volatile int *kick);

/* x86 TLB invalidation points of this vCPU (mmu.c): the inline TLB and jump caches follow. */
void tb_tlb_flush(struct sw_cpu *cpu);
void tb_tlb_flush_page(struct sw_cpu *cpu, uint64_t la);
/*
 * MOV CR3 selected the MMU context named @tag (mmu.c: a new tag at every
 * flush of a context). The inline TLB and jump caches of the context left
 * are kept aside and those of @tag come back, as the MMU keeps contexts
 * across switches (see mmu.c's top comment for why that is exact).
 */
void tb_tlb_switch(struct sw_cpu *cpu, uint64_t tag);
/* Drop the copies kept aside (an invalidation that reaches every context). */
void tb_tlb_forget(struct sw_cpu *cpu);
/* Page @pfn just got SW_PAGE_* flags: no inline write access may reach it any more. */
void tb_page_flagged(struct sw_vm *svm, uint64_t pfn);
/*
 * Guest code at [gpa, gpa + len) was written (one page at most), by the
 * calling thread's vCPU or by the VMM: other vCPUs stop running it before
 * their next block (see exec.c).
 */
void tb_invalidate_range(struct sw_vm *svm, uint64_t gpa, unsigned len);
/*
 * Drop every translation (guest RAM changed behind the CPUs' backs): the
 * caller's at once, other vCPUs' before they dispatch their next block.
 */
void tb_flush(struct sw_vm *svm);
/* Drop @cpu's own translations (its new state came without RAM changes). */
void tb_flush_cpu(struct sw_cpu *cpu);

void tb_print_stats(struct sw_vm *svm, FILE *out);

#endif
