/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_TRANSLATOR_TB_INT_H
#define TANDEM_SW_TRANSLATOR_TB_INT_H
/*
 * Private to accel/sw/translator/: blocks, exits, call sites, the
 * per-vCPU translator and the code-cache layout shared by translate.c
 * (which writes blocks) and exec.c (which runs, chains and drops them).
 *
 * Host register use inside translated code:
 *   rax rcx rdx rbx rbp rsi rdi r8-r13   the guest's registers of the same number
 *   r14 r15                              scratch (the guest's r14/r15 live in cpu->st)
 *   rsp                                  the host stack (the guest's rsp lives in cpu->st)
 *   gs base                              &cpu->st: gs:[8 * n] is guest GPR n
 *   OSZAPC of RFLAGS                     the guest's; host DF stays 0
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "accel/sw/cpu.h"
#include "accel/sw/translator/tb.h"

#define TB_MAX_INSNS	64
#define TB_HASH_BITS	16
#define TB_PHASH_BITS	12
#define TB_CACHE_SIZE	(128u << 20)	/* per vCPU, reserved lazily */
#define TB_BLOCK_MAX	(32u << 10)	/* room a block may need */
#define TB_DIRTY_MAX	512
#define TB_MBOX		32	/* invalidations queued for another vCPU before it flushes all */

#define TB_OSZAPC	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

/* gs:-relative displacement of a field of struct sw_cpu (gs base = &cpu->st). */
#define TB_GS(field)	((int32_t)(offsetof(struct sw_cpu, field) - offsetof(struct sw_cpu, st)))
#define TB_GS_GPR(n)	TB_GS(st.gpr[n])

/* Guest registers that live in cpu->st rather than in a host register. */
static inline bool tb_gpr_in_mem(int g)
{
	return g == R_SP || g == R_R14 || g == R_R15;
}

struct tb;

/* A direct exit: a jmp/jcc rel32 that goes to its stub until chained. */
struct tb_exit {
	struct tb *tb;			/* owner */
	uint64_t target;		/* guest RIP */
	uint32_t patch;			/* offset in tb->code of the rel32 */
	uint32_t stub;			/* offset in tb->code of the exit stub */
	struct tb *dest;		/* chained to, or NULL */
	struct tb_exit *in_next;	/* dest's incoming list */
};

/* An instruction the generated code hands to C: a helper call or a memory slow path. */
struct tb_site {
	struct tb *tb;
	uint64_t rip, next;
	int8_t mem;			/* memory operand index (slow path), -1 */
	uint8_t size;			/* its size in bytes */
	uint8_t acc;			/* SW_ACC_READ / SW_ACC_WRITE */
	bool align;			/* misaligned is #GP (aligned SSE forms) */
	bool sys;			/* may change what the block depends on: check after */
	uint16_t idx;			/* the instruction's index in the block (-icount) */
	struct sw_insn in;		/* what the interpreter executes */
};

struct tb {
	uint64_t key;			/* gpa << 8 | mode */
	uint64_t pc;			/* guest RIP of the first instruction */
	uint64_t gpa;
	uint8_t *code;
	uint32_t size;			/* host bytes */
	uint16_t ninsn;			/* 0: the first instruction is the interpreter's */
	uint16_t glen;			/* guest bytes */
	uint8_t mode;
	bool dead;
	struct tb *hnext, *pnext, *all_next;
	struct tb_exit exit[2];
	unsigned nexit;
	struct tb_exit *incoming;
	struct tb_site *sites;
	unsigned nsites;
	uint8_t *bytes;			/* guest bytes, kept where another engine writes RAM */
	uint32_t undef;			/* OSZAPC some instruction leaves undefined (jit=check) */
	uint16_t *insn_off;		/* jit=check: each instruction's offset from @pc */
	uint64_t live_bits;		/* jit=check: bit i, OSZAPC live before instruction i */
};

struct tb_stats {
	uint64_t blocks, empty, guest_bytes, code_bytes, flushes, dispatches, lookups_missed;
	uint64_t exits_direct, exits_indirect, exits_req, exits_synced;
	uint64_t chains, unchains, jc_fills, invalidations;
	uint64_t tlb_fills, mem_interp, helper_calls, encode_fallbacks;
	uint64_t checked, check_mismatches, check_cuts;
	uint64_t switches, switch_restores;
	uint64_t helper_mn[ZYDIS_MNEMONIC_MAX_VALUE + 1];
};

#define TB_SAVED	4	/* address spaces whose inline TLB and jump caches are kept */

/* What tb_tlb_switch() keeps of an address space: the slots it had filled. */
struct tb_saved {
	uint64_t tag;			/* the MMU context's; 0: empty */
	uint64_t lru;
	unsigned ntlb, njc;
	struct {
		uint16_t slot;		/* priv << TB_TLB_BITS | index */
		struct tb_tlbe r, w;
		uint64_t wgpa;
	} tlb[TB_DIRTY_MAX];
	struct {
		uint16_t slot;		/* class << TB_JC_BITS | index */
		unsigned mode;		/* jc_mode of the class when kept */
		struct tb_jce e;
	} jc[TB_DIRTY_MAX];
};

struct tb_vcpu {
	struct sw_cpu *cpu;
	struct tb_vm *tvm;
	uint8_t *cache, *cache_end, *cache_ptr, *cache_blocks;
	/* Shared code at the start of the cache (exec.c). */
	void (*enter)(void *code);
	uint8_t *exit_common, *exit_synced, *exit_direct, *mem_tramp, *help_tramp;
	struct tb *hash[1u << TB_HASH_BITS];
	struct tb *phash[1u << TB_PHASH_BITS];
	struct tb *all;
	unsigned jc_mode[2];		/* the mode each jump cache holds blocks of */
	/*
	 * The block of each jump-cache slot as the dispatcher filled it:
	 * a hit there is a lookup without a page walk or a hash chain (the
	 * jump cache is emptied wherever the mapping could change). Only
	 * trusted while the slot's code is the block's; cleared with the cache.
	 */
	struct tb *jc_tb[2][TB_JC_SIZE];
	/*
	 * Slots filled since the last flush (all fills go through C), so that
	 * a flush, which x86 asks for at every MOV CR3, costs what was used;
	 * past TB_DIRTY_MAX the flush is whole.
	 */
	uint16_t tlb_dirty[TB_DIRTY_MAX], jc_dirty[TB_DIRTY_MAX];
	unsigned nr_tlb_dirty, nr_jc_dirty;
	uint64_t cur_tag;		/* MMU context the live tables belong to; 0: unknown */
	uint64_t saved_clock;
	struct tb_saved saved[TB_SAVED];
	/*
	 * Held by keep_tables() while it rewrites a copy and by another
	 * thread's tb_page_flagged() while it empties write entries in the
	 * copies: the slot it reads and the tag it empties are then of the
	 * same entry (an empty tag is made for its slot).
	 */
	pthread_mutex_t saved_lock;
	struct tb_stats stats;
	/* Translation scratch (translate.c). */
	void *scratch;
	struct tb_check *check;		/* jit=check (check.c), or NULL */
	bool cut;			/* jit=check: C left the block before an instruction */
	/*
	 * Cross-vCPU invalidation (exec.c's top comment): one bit per guest
	 * page this vCPU may hold blocks of (set before translating, under
	 * tvm->flag_lock; cleared by the owner), and the mailbox other
	 * threads post guest writes to, drained by the owner at block
	 * boundaries.
	 */
	_Atomic uint64_t *pages;
	atomic_int mbox_pending;
	pthread_mutex_t mbox_lock;
	unsigned mbox_n;
	bool mbox_all;			/* flush everything (mailbox overflow, tb_flush()) */
	struct {
		uint64_t gpa;
		unsigned len;
	} mbox[TB_MBOX];
	uint64_t mbox_posts;		/* stats: posted to this vCPU */
};

#define TB_MAX_VCPUS	64

struct tb_vm {
	enum tb_mode mode;
	/*
	 * -icount: each block's entry adds its length to cpu->icount, after
	 * checking it against cpu->tb.icount_limit; C called from the block
	 * sets the count back to its own instruction's (exec.c's enter_c()).
	 */
	bool icount;
	FILE *perfmap;
	struct tb_vcpu *vcpus[TB_MAX_VCPUS];
	unsigned nr_vcpus;
	uint64_t nr_pages;		/* of tv->pages */
	/* Orders setting and clearing SW_PAGE_TB against the vCPUs' page bits. */
	pthread_mutex_t flag_lock;
};

/* Guest OSZAPC into the host-RFLAGS image translated code loads, and back. */
static inline void tb_flags_to_code(struct sw_cpu *cpu)
{
	cpu->tb.hflags = (cpu->st.rflags & TB_OSZAPC) | X86_RFLAGS_FIXED;
}

static inline void tb_flags_from_code(struct sw_cpu *cpu)
{
	cpu->st.rflags = (cpu->st.rflags & ~TB_OSZAPC) | (cpu->tb.hflags & TB_OSZAPC);
}

/* The jump-cache slot of a RIP; the inline lookup computes the same. */
static inline unsigned tb_jc_slot(uint64_t rip)
{
	return (unsigned)((rip ^ (rip >> 4)) & (TB_JC_SIZE - 1));
}

/* Mode bits of a block key: CPL, code size, stack size. */
#define TB_MODE_SSE	16	/* SSE runs without #NM/#UD: CR0.TS = EM = 0, CR4.OSFXSR = 1 */

static inline unsigned tb_mode_of(const struct sw_cpu *cpu)
{
	bool sse = !(cpu->st.cr0 & (X86_CR0_TS | X86_CR0_EM)) && (cpu->st.cr4 & X86_CR4_OSFXSR);

	return sw_cpl(cpu) | (sw_code_bits(cpu) == 64 ? 4 : 0) |
	       (sw_stack_bits(cpu) == 64 ? 8 : 0) | (sse ? TB_MODE_SSE : 0);
}

/* translate.c: one block at @pc (guest-physical @gpa, bytes at @host up to the page end). */
struct tb *tb_translate(struct tb_vcpu *tv, uint64_t pc, uint64_t gpa, const uint8_t *host,
			unsigned mode);
/* translate.c: the per-vCPU scratch it needs. */
void *tb_translate_scratch_new(void);

/* exec.c: C entry points of translated code. */
uint64_t tb_helper(struct sw_cpu *cpu, struct tb_site *site);
uint64_t tb_slow_mem(struct sw_cpu *cpu, struct tb_site *site, uint64_t la);

/* exec.c: out_asm trace and perf map of a new block. */
void tb_announce(struct tb_vcpu *tv, struct tb *tb);
/* exec.c: the block/lookup half of tb_exec() that check.c shares. */
bool tb_can_run(struct sw_cpu *cpu);

/*
 * check.c, jit=check: run @tb once translated, undo its memory writes,
 * run the same instructions on the interpreter from the same state and
 * compare; the interpreter's result stands. Translated code then never
 * writes memory behind the journal: no inline write entries, and C
 * leaves ("cuts") the block before an access it would interpret.
 */
struct tb_check *tb_check_new(void);
void tb_check_free(struct tb_check *c);
void tb_check_block(struct tb_vcpu *tv, struct tb *tb);
/* The slow path is about to hand out @host for a write of @size bytes. */
void tb_check_journal(struct tb_vcpu *tv, uint8_t *host, unsigned size);

#endif
