// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Running translated code: the code cache and its shared stubs, block
 * lookup and chaining, the C side of helper calls and of the inline TLB's
 * slow path, invalidation (x86 TLB points, self-modifying code) and the
 * counters behind --stats.
 *
 * One code cache per vCPU, so that chaining, patching and flushing never
 * race with another thread running the same code. Blocks are found by
 * guest-physical address, mode and virtual PC; they are chained only to
 * blocks that start in the same virtual page (as QEMU does), so a chain
 * never outlives the mapping it was made under: the first block of a
 * page is always reached through a lookup that translated its address
 * afresh (or the jump cache, which every TLB invalidation point empties).
 *
 * Dead blocks (overwritten code) are unlinked at once but their code and
 * data stay until the whole cache is flushed, because a helper called
 * from the block that its own store killed returns into it.
 *
 * Several vCPUs (SMP). Every table here (hash chains, chains, jump
 * caches, the inline TLB) belongs to one vCPU and is only ever changed by
 * that vCPU's thread, so translation, lookup and chaining take no lock
 * and cost what they cost with one vCPU. What is shared is the per-VM
 * page_flags array (written with atomic RMWs) and these rules:
 *  - A guest write to a page with translations (SW_PAGE_TB) is handled by
 *    the writer: its own blocks there die at once; every other vCPU that
 *    may hold blocks of the page (its bit in tv->pages) gets the range
 *    posted to its mailbox and its kick flag set, which makes its
 *    translated code leave at the next kick check. The owner drains the
 *    mailbox at each block boundary of the dispatcher (one relaxed load
 *    when empty) and whenever C code is about to go back into a block
 *    (back_to_code()). So vCPU B stops running a page vCPU A wrote before
 *    it dispatches another block, which is within what x86's cross-
 *    modifying-code rules allow (B may finish the block it is in; the
 *    writer has to synchronise with B anyway before B must see the code).
 *  - A vCPU sets its bit for a page, then SW_PAGE_TB, under
 *    tvm->flag_lock and before it reads the guest bytes it translates; a
 *    writer stores, fences, then reads the bits (Dekker: either the
 *    writer sees the bit or the translator sees the new bytes). The flag
 *    is cleared only under the lock, once no vCPU has the bit.
 *  - Making a page's inline write entries go away (tb_page_flagged())
 *    empties them in other vCPUs' tables from the flagging thread (one
 *    store of the tag, never the addend: see tlbe_empty_remote(); the
 *    copies kept for other address spaces under the owner's saved_lock);
 *    a vCPU that fills or restores a write entry re-reads the page's
 *    flags after a fence and empties it if it lost the race, so no
 *    inline write reaches a flagged page.
 *  - tb_flush() (every translation goes) posts "everything" the same way.
 * With one vCPU the thread is always the owner: nothing is posted, and
 * the extra work is one load per dispatch.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/icount.h"
#include "accel/sw/translator/emit.h"
#include "accel/sw/translator/tb_int.h"
#include "machine/memory.h"

/* Guest registers kept in host registers of the same number. */
static const unsigned mapped[] = {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RBP, H_RSI, H_RDI, H_R8, H_R9, H_R10, H_R11, H_R12, H_R13,
};

static __thread void *thread_gs;	/* the GS base this thread runs translated code with */

static void cache_flush(struct tb_vcpu *tv);
static void invalidate_vcpu(struct tb_vcpu *tv, uint64_t gpa, unsigned len);
static bool page_has_blocks(struct tb_vcpu *tv, uint64_t pfn);

/* Is @tv the vCPU whose translated code this thread runs? */
static bool is_self(const struct tb_vcpu *tv)
{
	return thread_gs == &tv->cpu->st;
}

/* ---- cross-vCPU invalidation, see the top ---- */

/* May @tv hold blocks of page @pfn? (Pages past the map: assume so.) */
static bool page_bit(struct tb_vcpu *tv, uint64_t pfn)
{
	if (pfn >= tv->tvm->nr_pages)
		return true;
	return atomic_load_explicit(&tv->pages[pfn >> 6], memory_order_relaxed) &
	       (1ull << (pfn & 63));
}

/* Before translating from @pfn: the bit, then the flag (both under the lock), then the bytes. */
static void page_claim(struct tb_vcpu *tv, struct sw_vm *svm, uint64_t pfn)
{
	struct tb_vm *tvm = tv->tvm;
	uint8_t was;

	if (pfn >= svm->nr_pages)
		return;
	if (page_bit(tv, pfn) && (__atomic_load_n(&svm->page_flags[pfn], __ATOMIC_ACQUIRE) &
				  SW_PAGE_TB))
		return;
	pthread_mutex_lock(&tvm->flag_lock);
	/* RAM added after the map was sized: no bit, page_bit() says "maybe" there. */
	if (pfn < tvm->nr_pages)
		atomic_fetch_or(&tv->pages[pfn >> 6], 1ull << (pfn & 63));
	was = __atomic_fetch_or(&svm->page_flags[pfn], SW_PAGE_TB, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&tvm->flag_lock);
	if (!(was & SW_PAGE_TB))
		tb_page_flagged(svm, pfn);
}

/* Owner: @pfn may have lost its last block here; if no vCPU has any, writes go inline again. */
static void page_settle(struct tb_vcpu *tv, struct sw_vm *svm, uint64_t pfn)
{
	struct tb_vm *tvm = tv->tvm;
	bool any = false;

	if (pfn >= tvm->nr_pages || page_has_blocks(tv, pfn))
		return;
	pthread_mutex_lock(&tvm->flag_lock);
	atomic_fetch_and(&tv->pages[pfn >> 6], ~(1ull << (pfn & 63)));
	for (unsigned v = 0; v < tvm->nr_vcpus && !any; v++)
		any = tvm->vcpus[v] && page_bit(tvm->vcpus[v], pfn);
	if (!any && pfn < svm->nr_pages)
		__atomic_fetch_and(&svm->page_flags[pfn], (uint8_t)~SW_PAGE_TB, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&tvm->flag_lock);
}

/* Ask @tv (another thread's vCPU) to drop [gpa, gpa + len), or all (len 0), soon. */
static void mbox_post(struct tb_vcpu *tv, uint64_t gpa, unsigned len)
{
	struct sw_cpu *cpu = tv->cpu;
	const volatile int *kick;

	pthread_mutex_lock(&tv->mbox_lock);
	if (!len || tv->mbox_n == TB_MBOX)
		tv->mbox_all = true;
	else if (!tv->mbox_all)
		tv->mbox[tv->mbox_n++] = (typeof(tv->mbox[0])){ gpa, len };
	tv->mbox_posts++;
	atomic_store(&tv->mbox_pending, 1);
	pthread_mutex_unlock(&tv->mbox_lock);
	/* Out of chained code at its next kick check; the run loop only polls on a kick. */
	kick = cpu->tb.kick;
	if (kick != &cpu->tb.kick_none)
		atomic_store((atomic_int *)(uintptr_t)kick, 1);
}

/* Owner: apply what other threads posted. */
static void mbox_drain(struct tb_vcpu *tv)
{
	struct sw_vm *svm = tv->cpu->svm;
	typeof(tv->mbox[0]) todo[TB_MBOX];
	unsigned n;
	bool all;

	pthread_mutex_lock(&tv->mbox_lock);
	atomic_store(&tv->mbox_pending, 0);
	all = tv->mbox_all;
	n = tv->mbox_n;
	memcpy(todo, tv->mbox, n * sizeof(todo[0]));
	tv->mbox_all = false;
	tv->mbox_n = 0;
	pthread_mutex_unlock(&tv->mbox_lock);
	if (all) {
		cache_flush(tv);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		invalidate_vcpu(tv, todo[i].gpa, todo[i].len);
		page_settle(tv, svm, todo[i].gpa >> 12);
	}
}

static inline bool mbox_pending(struct tb_vcpu *tv)
{
	return atomic_load_explicit(&tv->mbox_pending, memory_order_relaxed);
}

static bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* ---- shared code at the start of each cache ---- */

static void emit_spill(struct emit *e)
{
	for (unsigned i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
		e_store(e, 8, e_gs(TB_GS_GPR(mapped[i])), mapped[i]);
}

static void emit_reload(struct emit *e)
{
	for (unsigned i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
		e_load(e, 8, mapped[i], e_gs(TB_GS_GPR(mapped[i])));
}

static void emit_rsp_imm(struct emit *e, unsigned ext, uint8_t n)
{
	e_op_reg(e, 8, (const uint8_t[]){ 0x83 }, 1, ext, H_RSP);	/* add/sub rsp, n */
	e_u8(e, n);
}

static const unsigned saved[] = { H_RBX, H_RBP, H_R12, H_R13, H_R14, H_R15 };

/*
 * A trampoline into C for translated code: r14 = site, r15 = linear
 * address (slow path). The C function returns 0 (leave: cpu->st is
 * current), 1 (go on after the call) or a host address (slow path: r15
 * gets it, and the return goes 5 bytes further, to the stub's second jmp).
 */
static uint8_t *emit_tramp(struct tb_vcpu *tv, struct emit *e, void *fn)
{
	uint8_t *start = e->p;
	uint32_t jz, je;

	emit_spill(e);
	e_pushf(e);
	e_pop_mem(e, e_gs(TB_GS(tb.hflags)));
	e_load(e, 8, H_RDI, e_gs(TB_GS(tb.self)));
	e_mov_rr(e, 8, H_RSI, H_R14);
	e_mov_rr(e, 8, H_RDX, H_R15);
	emit_rsp_imm(e, 5, 8);
	e_mov_imm(e, H_RAX, (uint64_t)(uintptr_t)fn);
	e_call_reg(e, H_RAX);
	emit_rsp_imm(e, 0, 8);
	e_op_reg(e, 8, (const uint8_t[]){ 0x85 }, 1, H_RAX, H_RAX);	/* test rax, rax */
	jz = e_jcc(e, CC_E, e->p);
	e_op_reg(e, 8, (const uint8_t[]){ 0x83 }, 1, 7, H_RAX);	/* cmp rax, 1 */
	e_u8(e, 1);
	je = e_jcc(e, CC_E, e->p);
	e_mov_rr(e, 8, H_R15, H_RAX);
	e_op_mem(e, 8, (const uint8_t[]){ 0x83 }, 1, 0, e_base(H_RSP, 0));	/* add [rsp], 5 */
	e_u8(e, 5);
	e_patch_rel32(e->start + je, e->p);
	emit_reload(e);
	e_push_mem(e, e_gs(TB_GS(tb.hflags)));
	e_popf(e);
	e_u8(e, 0xc3);
	e_patch_rel32(e->start + jz, e->p);
	emit_rsp_imm(e, 0, 8);		/* drop the return address */
	e_jmp(e, tv->exit_synced);
	return start;
}

static void emit_common(struct tb_vcpu *tv)
{
	struct emit e = { .start = tv->cache, .p = tv->cache, .end = tv->cache_end };

	tv->enter = (void (*)(void *))(void *)e.p;
	for (unsigned i = 0; i < 6; i++)
		e_push(&e, saved[i]);
	emit_rsp_imm(&e, 5, 8);		/* 16-byte aligned inside translated code */
	e_store(&e, 8, e_gs(TB_GS(tb.entry)), H_RDI);
	emit_reload(&e);
	e_push_mem(&e, e_gs(TB_GS(tb.hflags)));
	e_popf(&e);
	e_jmp_mem(&e, e_gs(TB_GS(tb.entry)));

	tv->exit_common = e.p;
	emit_spill(&e);
	e_pushf(&e);
	e_pop_mem(&e, e_gs(TB_GS(tb.hflags)));
	tv->exit_synced = e.p;
	emit_rsp_imm(&e, 0, 8);
	for (unsigned i = 6; i-- > 0;)
		e_pop(&e, saved[i]);
	e_u8(&e, 0xc3);

	/* r15 = the struct tb_exit taken. */
	tv->exit_direct = e.p;
	e_store(&e, 8, e_gs(TB_GS(tb.exit)), H_R15);
	e_load(&e, 8, H_R15, e_base(H_R15, (int32_t)offsetof(struct tb_exit, target)));
	e_store(&e, 8, e_gs(TB_GS(st.rip)), H_R15);
	e_jmp(&e, tv->exit_common);

	tv->mem_tramp = emit_tramp(tv, &e, (void *)tb_slow_mem);
	tv->help_tramp = emit_tramp(tv, &e, (void *)tb_helper);
	tv->cache_blocks = (uint8_t *)(((uintptr_t)e.p + 63) & ~(uintptr_t)63);
	tv->cache_ptr = tv->cache_blocks;
}

/* ---- inline TLB and jump caches ---- */

/* Slot @i holds a tag whose own slot is i + 2: no access probing slot i matches it. */
static void tlbe_empty(struct tb_tlbe *t, unsigned i)
{
	t->tag = (uint64_t)((i + 2) & (TB_TLB_SIZE - 1)) << 12;
	t->addend = 0;
}

/*
 * The same from another vCPU's thread (tb_page_flagged()): the tag alone,
 * in one store. The owner's translated code may be between its load of
 * the tag and its load of the addend: had the addend been zeroed there, a
 * hit on the old tag would add 0 and access host memory at the guest's
 * linear address (tandem was seen to segfault so during an SMP boot).
 * With the addend left as it was, every mix of old and new words is the
 * old entry (what the owner could have hit just before the flag anyway)
 * or an empty one.
 */
static void tlbe_empty_remote(struct tb_tlbe *t, unsigned i)
{
	__atomic_store_n(&t->tag, (uint64_t)((i + 2) & (TB_TLB_SIZE - 1)) << 12,
			 __ATOMIC_RELAXED);
}

static void tlb_poison(struct tb_tlbe *t)
{
	for (unsigned i = 0; i < TB_TLB_SIZE; i++)
		tlbe_empty(&t[i], i);
}

/* A RIP that is never looked up in slot @i (it has another slot). */
static uint64_t jc_empty_rip(unsigned i)
{
	for (uint64_t r = 1;; r++)
		if (tb_jc_slot(r) != i)
			return r;
}

static void jce_empty(struct tb_jce *e, unsigned i)
{
	e->rip = jc_empty_rip(i);
	e->code = NULL;
}

static void jc_poison(struct tb_jce *jc)
{
	for (unsigned i = 0; i < TB_JC_SIZE; i++)
		jce_empty(&jc[i], i);
}

static void tlb_poison_slot(struct sw_cpu *cpu, unsigned p, unsigned i)
{
	for (unsigned k = 0; k < 2; k++)
		tlbe_empty(&cpu->tb.tlb[p][k][i], i);
}

static void note_dirty(uint16_t *list, unsigned *nr, unsigned v)
{
	if (*nr < TB_DIRTY_MAX)
		list[*nr] = (uint16_t)v;
	if (*nr <= TB_DIRTY_MAX)
		(*nr)++;
}

void tb_tlb_flush(struct sw_cpu *cpu)
{
	struct tb_vcpu *tv = cpu->tb.tv;

	if (!tv)
		return;
	tv->cur_tag = 0;	/* a switch that follows keeps nothing of these */
	if (tv->nr_tlb_dirty > TB_DIRTY_MAX) {
		for (unsigned p = 0; p < 2; p++) {
			tlb_poison(cpu->tb.tlb[p][TB_TLB_READ]);
			tlb_poison(cpu->tb.tlb[p][TB_TLB_WRITE]);
		}
	} else {
		for (unsigned k = 0; k < tv->nr_tlb_dirty; k++)
			tlb_poison_slot(cpu, tv->tlb_dirty[k] >> TB_TLB_BITS,
					tv->tlb_dirty[k] & (TB_TLB_SIZE - 1));
	}
	tv->nr_tlb_dirty = 0;
	if (tv->nr_jc_dirty > TB_DIRTY_MAX) {
		jc_poison(cpu->tb.jc[0]);
		jc_poison(cpu->tb.jc[1]);
	} else {
		for (unsigned k = 0; k < tv->nr_jc_dirty; k++) {
			unsigned c = tv->jc_dirty[k] >> TB_JC_BITS, i = tv->jc_dirty[k] & (TB_JC_SIZE - 1);

			jce_empty(&cpu->tb.jc[c][i], i);
		}
	}
	tv->nr_jc_dirty = 0;
}

void tb_tlb_forget(struct sw_cpu *cpu)
{
	struct tb_vcpu *tv = cpu->tb.tv;

	if (!tv)
		return;
	for (unsigned i = 0; i < TB_SAVED; i++)
		tv->saved[i].tag = 0;
}

/* Keep the live tables' filled slots as those of context @tag. */
static void keep_tables(struct tb_vcpu *tv, uint64_t tag)
{
	struct sw_cpu *cpu = tv->cpu;
	struct tb_saved *s = &tv->saved[0];

	if (!tag || tv->nr_tlb_dirty > TB_DIRTY_MAX || tv->nr_jc_dirty > TB_DIRTY_MAX)
		return;		/* unknown, or more filled than listed */
	for (unsigned i = 0; i < TB_SAVED; i++) {
		if (tv->saved[i].tag == tag) {
			s = &tv->saved[i];
			break;
		}
		if (tv->saved[i].lru < s->lru)
			s = &tv->saved[i];
	}
	pthread_mutex_lock(&tv->saved_lock);
	s->tag = tag;
	s->lru = ++tv->saved_clock;
	s->ntlb = tv->nr_tlb_dirty;
	for (unsigned k = 0; k < s->ntlb; k++) {
		unsigned p = tv->tlb_dirty[k] >> TB_TLB_BITS, i = tv->tlb_dirty[k] & (TB_TLB_SIZE - 1);

		s->tlb[k].slot = tv->tlb_dirty[k];
		s->tlb[k].r = cpu->tb.tlb[p][TB_TLB_READ][i];
		s->tlb[k].w = cpu->tb.tlb[p][TB_TLB_WRITE][i];
		s->tlb[k].wgpa = cpu->tb.tlb_wgpa[p][i];
	}
	s->njc = tv->nr_jc_dirty;
	for (unsigned k = 0; k < s->njc; k++) {
		unsigned c = tv->jc_dirty[k] >> TB_JC_BITS, i = tv->jc_dirty[k] & (TB_JC_SIZE - 1);

		s->jc[k].slot = tv->jc_dirty[k];
		s->jc[k].mode = tv->jc_mode[c];
		s->jc[k].e = cpu->tb.jc[c][i];
	}
	pthread_mutex_unlock(&tv->saved_lock);
}

/* Bring back what was kept for context @tag, if anything. */
static void restore_tables(struct tb_vcpu *tv, uint64_t tag)
{
	struct sw_cpu *cpu = tv->cpu;
	struct tb_saved *s = NULL;

	for (unsigned i = 0; i < TB_SAVED && !s; i++)
		if (tv->saved[i].tag == tag)
			s = &tv->saved[i];
	if (!s)
		return;
	for (unsigned k = 0; k < s->ntlb; k++) {
		unsigned p = s->tlb[k].slot >> TB_TLB_BITS, i = s->tlb[k].slot & (TB_TLB_SIZE - 1);

		cpu->tb.tlb[p][TB_TLB_READ][i] = s->tlb[k].r;
		cpu->tb.tlb[p][TB_TLB_WRITE][i] = s->tlb[k].w;
		cpu->tb.tlb_wgpa[p][i] = s->tlb[k].wgpa;
		note_dirty(tv->tlb_dirty, &tv->nr_tlb_dirty, s->tlb[k].slot);
	}
	/* A page another vCPU flagged while these were kept aside (see the top). */
	if (tv->tvm->nr_vcpus > 1) {
		struct sw_vm *svm = cpu->svm;

		atomic_thread_fence(memory_order_seq_cst);
		for (unsigned k = 0; k < s->ntlb; k++) {
			unsigned p = s->tlb[k].slot >> TB_TLB_BITS;
			unsigned i = s->tlb[k].slot & (TB_TLB_SIZE - 1);
			uint64_t pfn = cpu->tb.tlb_wgpa[p][i] >> 12;

			if (pfn >= svm->nr_pages ||
			    __atomic_load_n(&svm->page_flags[pfn], __ATOMIC_RELAXED))
				tlbe_empty(&cpu->tb.tlb[p][TB_TLB_WRITE][i], i);
		}
	}
	for (unsigned k = 0; k < s->njc; k++) {
		unsigned c = s->jc[k].slot >> TB_JC_BITS, i = s->jc[k].slot & (TB_JC_SIZE - 1);

		/* A block of another mode (or one since dropped: NULL) stays out. */
		if (s->jc[k].mode != tv->jc_mode[c] || !s->jc[k].e.code)
			continue;
		cpu->tb.jc[c][i] = s->jc[k].e;
		note_dirty(tv->jc_dirty, &tv->nr_jc_dirty, s->jc[k].slot);
	}
	tv->stats.switch_restores++;
}

void tb_tlb_switch(struct sw_cpu *cpu, uint64_t tag)
{
	struct tb_vcpu *tv = cpu->tb.tv;

	if (!tv)
		return;
	tv->stats.switches++;
	/* Reloading the context in use: its translations stay exact (mmu.c). */
	if (tag && tag == tv->cur_tag)
		return;
	keep_tables(tv, tv->cur_tag);
	tb_tlb_flush(cpu);
	if (tag)
		restore_tables(tv, tag);
	tv->cur_tag = tag;
}

void tb_tlb_flush_page(struct sw_cpu *cpu, uint64_t la)
{
	unsigned i = (la >> 12) & (TB_TLB_SIZE - 1);
	uint64_t page = la & ~0xfffull;

	if (!cpu->tb.tv)
		return;
	for (unsigned p = 0; p < 2; p++) {
		for (unsigned k = 0; k < 2; k++) {
			struct tb_tlbe *t = &cpu->tb.tlb[p][k][i];

			if (t->tag == page)
				tlbe_empty(t, i);
		}
		/* Jump-cache entries are keyed by RIP, not page: drop the page's. */
		for (unsigned j = 0; j < TB_JC_SIZE; j++)
			if ((cpu->tb.jc[p][j].rip & ~0xfffull) == page)
				jce_empty(&cpu->tb.jc[p][j], j);
	}
}

void tb_page_flagged(struct sw_vm *svm, uint64_t pfn)
{
	struct tb_vm *tvm = svm->tb;

	if (!tvm)
		return;
	for (unsigned v = 0; v < tvm->nr_vcpus; v++) {
		struct sw_cpu *cpu = tvm->vcpus[v] ? tvm->vcpus[v]->cpu : NULL;

		if (!cpu)
			continue;
		for (unsigned p = 0; p < 2; p++) {
			for (unsigned i = 0; i < TB_TLB_SIZE; i++) {
				struct tb_tlbe *t = &cpu->tb.tlb[p][TB_TLB_WRITE][i];

				if ((cpu->tb.tlb_wgpa[p][i] >> 12) == pfn &&
				    (t->tag >> 12 & (TB_TLB_SIZE - 1)) == i)
					tlbe_empty_remote(t, i);
			}
		}
		/* The copies kept for other address spaces lose theirs too. */
		pthread_mutex_lock(&tvm->vcpus[v]->saved_lock);
		for (unsigned k = 0; k < TB_SAVED; k++) {
			struct tb_saved *s = &tvm->vcpus[v]->saved[k];

			for (unsigned e = 0; s->tag && e < s->ntlb; e++) {
				unsigned i = s->tlb[e].slot & (TB_TLB_SIZE - 1);

				if ((s->tlb[e].wgpa >> 12) == pfn)
					tlbe_empty_remote(&s->tlb[e].w, i);
			}
		}
		pthread_mutex_unlock(&tvm->vcpus[v]->saved_lock);
	}
}

static void tlb_fill(struct sw_cpu *cpu, unsigned priv, bool write, uint64_t la, uint8_t *host,
		     uint64_t gpa)
{
	unsigned i = (la >> 12) & (TB_TLB_SIZE - 1);
	uint64_t page = la & ~0xfffull;
	struct tb_tlbe e = { page, (uint64_t)(uintptr_t)(host - (la & 0xfff)) - page };

	note_dirty(cpu->tb.tv->tlb_dirty, &cpu->tb.tv->nr_tlb_dirty, priv << TB_TLB_BITS | i);
	cpu->tb.tlb[priv][TB_TLB_READ][i] = e;
	if (write) {
		struct sw_vm *svm = cpu->svm;

		cpu->tb.tlb[priv][TB_TLB_WRITE][i] = e;
		cpu->tb.tlb_wgpa[priv][i] = gpa & ~0xfffull;
		/* Another vCPU may have flagged the page meanwhile (see the top). */
		if (cpu->tb.tv->tvm->nr_vcpus > 1) {
			atomic_thread_fence(memory_order_seq_cst);
			if ((gpa >> 12) >= svm->nr_pages ||
			    __atomic_load_n(&svm->page_flags[gpa >> 12], __ATOMIC_RELAXED))
				tlbe_empty(&cpu->tb.tlb[priv][TB_TLB_WRITE][i], i);
		}
	}
}

/* ---- blocks ---- */

static unsigned hash_key(uint64_t key, uint64_t pc)
{
	uint64_t h = (key ^ (pc << 7)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> (64 - TB_HASH_BITS));
}

static unsigned hash_pfn(uint64_t pfn)
{
	return (unsigned)((pfn * 0x9e3779b97f4a7c15ull) >> (64 - TB_PHASH_BITS));
}

static void tb_free(struct tb *tb)
{
	free(tb->bytes);
	free(tb->insn_off);
	free(tb->sites);
	free(tb);
}

static void cache_flush(struct tb_vcpu *tv)
{
	struct tb *tb = tv->all;

	while (tb) {
		struct tb *n = tb->all_next;

		tb_free(tb);
		tb = n;
	}
	tv->all = NULL;
	memset(tv->hash, 0, sizeof(tv->hash));
	memset(tv->phash, 0, sizeof(tv->phash));
	memset(tv->jc_tb, 0, sizeof(tv->jc_tb));
	tv->cache_ptr = tv->cache_blocks;
	tv->cpu->tb.exit = NULL;
	for (unsigned k = 0; k < TB_SAVED; k++)
		tv->saved[k].njc = 0;	/* their code is gone */
	jc_poison(tv->cpu->tb.jc[0]);
	jc_poison(tv->cpu->tb.jc[1]);
	/* No blocks left: other writers need not post to us (the flags stay, conservatively). */
	for (uint64_t i = 0; i < (tv->tvm->nr_pages + 63) / 64; i++)
		atomic_store_explicit(&tv->pages[i], 0, memory_order_relaxed);
	tv->stats.flushes++;
}

static void unlink_list(struct tb **pp, struct tb *tb, size_t next_off)
{
	while (*pp) {
		if (*pp == tb) {
			*pp = *(struct tb **)((char *)tb + next_off);
			return;
		}
		pp = (struct tb **)((char *)*pp + next_off);
	}
}

/* Overwritten: no lookup, chain or jump-cache entry reaches the block any more. */
static void tb_kill(struct tb_vcpu *tv, struct tb *tb)
{
	struct sw_cpu *cpu = tv->cpu;

	if (tb->dead)
		return;
	tb->dead = true;
	unlink_list(&tv->hash[hash_key(tb->key, tb->pc)], tb, offsetof(struct tb, hnext));
	unlink_list(&tv->phash[hash_pfn(tb->gpa >> 12)], tb, offsetof(struct tb, pnext));
	for (struct tb_exit *ex = tb->incoming; ex; ex = ex->in_next) {
		e_patch_rel32(ex->tb->code + ex->patch, ex->tb->code + ex->stub);
		ex->dest = NULL;
		tv->stats.unchains++;
	}
	tb->incoming = NULL;
	for (unsigned i = 0; i < tb->nexit; i++) {
		struct tb_exit *ex = &tb->exit[i], **pp;

		if (!ex->dest)
			continue;
		for (pp = &ex->dest->incoming; *pp; pp = &(*pp)->in_next) {
			if (*pp == ex) {
				*pp = ex->in_next;
				break;
			}
		}
		ex->dest = NULL;
	}
	if (tb->code) {
		for (unsigned p = 0; p < 2; p++)
			for (unsigned j = 0; j < TB_JC_SIZE; j++)
				if (cpu->tb.jc[p][j].code == tb->code)
					jce_empty(&cpu->tb.jc[p][j], j);
		for (unsigned k = 0; k < TB_SAVED; k++)
			for (unsigned e = 0; tv->saved[k].tag && e < tv->saved[k].njc; e++)
				if (tv->saved[k].jc[e].e.code == tb->code)
					tv->saved[k].jc[e].e.code = NULL;
	}
	if (cpu->tb.exit && cpu->tb.exit->tb == tb)
		cpu->tb.exit = NULL;
	tv->stats.invalidations++;
}

static void invalidate_vcpu(struct tb_vcpu *tv, uint64_t gpa, unsigned len)
{
	uint64_t pfn = gpa >> 12;
	struct tb *tb = tv->phash[hash_pfn(pfn)];

	while (tb) {
		struct tb *n = tb->pnext;
		/* A block that is the interpreter's covers its first instruction at most. */
		uint64_t end = tb->gpa + (tb->ninsn ? tb->glen : 15);

		if ((tb->gpa >> 12) == pfn && tb->gpa < gpa + len && gpa < end)
			tb_kill(tv, tb);
		tb = n;
	}
}

static bool page_has_blocks(struct tb_vcpu *tv, uint64_t pfn)
{
	for (struct tb *tb = tv->phash[hash_pfn(pfn)]; tb; tb = tb->pnext)
		if ((tb->gpa >> 12) == pfn)
			return true;
	return false;
}

void tb_invalidate_range(struct sw_vm *svm, uint64_t gpa, unsigned len)
{
	struct tb_vm *tvm = svm->tb;
	uint64_t pfn = gpa >> 12;
	struct tb_vcpu *self = NULL;
	bool posted = false;

	if (!tvm)
		return;
	/* The guest's store is done: now read who may hold the page (see the top). */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned v = 0; v < tvm->nr_vcpus; v++) {
		struct tb_vcpu *tv = tvm->vcpus[v];

		if (!tv)
			continue;
		if (is_self(tv)) {
			invalidate_vcpu(tv, gpa, len);
			self = tv;
		} else if (page_bit(tv, pfn)) {
			mbox_post(tv, gpa, len);
			posted = true;
		}
	}
	if (self) {
		page_settle(self, svm, pfn);
	} else if (!posted && pfn < svm->nr_pages) {
		bool any = false;

		/* No vCPU has the page: writes may take the inline path again. */
		pthread_mutex_lock(&tvm->flag_lock);
		for (unsigned v = 0; v < tvm->nr_vcpus && !any; v++)
			any = tvm->vcpus[v] && page_bit(tvm->vcpus[v], pfn);
		if (!any)
			__atomic_fetch_and(&svm->page_flags[pfn], (uint8_t)~SW_PAGE_TB,
					   __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&tvm->flag_lock);
	}
}

void tb_flush_cpu(struct sw_cpu *cpu)
{
	if (cpu->tb.tv)
		cache_flush(cpu->tb.tv);
}

void tb_flush(struct sw_vm *svm)
{
	struct tb_vm *tvm = svm->tb;

	if (!tvm)
		return;
	for (unsigned v = 0; v < tvm->nr_vcpus; v++) {
		struct tb_vcpu *tv = tvm->vcpus[v];

		if (!tv)
			continue;
		if (is_self(tv) || tvm->nr_vcpus == 1)
			cache_flush(tv);
		else
			mbox_post(tv, 0, 0);
	}
}

static struct tb *lookup(struct tb_vcpu *tv, struct sw_cpu *cpu, unsigned mode)
{
	struct x86_state *st = &cpu->st;
	struct sw_vm *svm = cpu->svm;
	uint64_t la = st->rip, gpa, key;
	struct tb *tb;
	uint8_t *host;
	unsigned h;

	if (mode & 4) {
		if (!canonical(la))
			return NULL;
	} else {
		la &= 0xffffffff;
	}
	/* A fault here is the one the interpreter's fetch would raise, with the same state. */
	host = sw_mmu_translate(cpu, la, SW_ACC_EXEC, &gpa);
	if (!host || (gpa >> 12) >= svm->nr_pages)
		return NULL;
	key = gpa << 8 | mode;
	h = hash_key(key, st->rip);
	for (tb = tv->hash[h]; tb; tb = tb->hnext) {
		if (tb->key != key || tb->pc != st->rip)
			continue;
		/* KVM writes guest RAM unseen: trust a block only while its bytes are the same. */
		if (tb->bytes && memcmp(tb->bytes, host, tb->glen)) {
			tb_kill(tv, tb);
			break;
		}
		return tb;
	}
	if ((size_t)(tv->cache_end - tv->cache_ptr) < TB_BLOCK_MAX)
		cache_flush(tv);
	/* Before the bytes are read: a write from now on reaches us (see the top). */
	page_claim(tv, svm, gpa >> 12);
	tb = tb_translate(tv, st->rip, gpa, host, mode);
	if (!tb)
		return NULL;
	if (svm->external_writers && tb->ninsn) {
		tb->bytes = malloc(tb->glen);
		if (tb->bytes)
			memcpy(tb->bytes, host, tb->glen);
	}
	tv->stats.blocks++;
	if (!tb->ninsn)
		tv->stats.empty++;
	tv->stats.guest_bytes += tb->glen;
	tv->stats.code_bytes += tb->size;
	tb->hnext = tv->hash[h];
	tv->hash[h] = tb;
	tb->pnext = tv->phash[hash_pfn(gpa >> 12)];
	tv->phash[hash_pfn(gpa >> 12)] = tb;
	tb->all_next = tv->all;
	tv->all = tb;
	if (tb->ninsn)
		tb_announce(tv, tb);
	return tb;
}

static void chain(struct tb_vcpu *tv, struct tb_exit *ex, struct tb *to)
{
	struct tb *from = ex->tb;

	if (from->dead || to->dead || !to->ninsn || ex->dest || ex->target != to->pc ||
	    from->mode != to->mode || (from->pc >> 12) != (to->pc >> 12))
		return;
	e_patch_rel32(from->code + ex->patch, to->code);
	ex->dest = to;
	ex->in_next = to->incoming;
	to->incoming = ex;
	tv->stats.chains++;
}

/* ---- running ---- */

static bool flat_data(const struct x86_seg *s)
{
	unsigned type = SEG_ATTR_TYPE(s->attr);

	return s->base == 0 && s->limit == 0xffffffffu && !(s->attr & SEG_ATTR_UNUSABLE) &&
	       (type & 0xe) == 2;	/* data, writable, expand-up */
}

bool tb_can_run(struct sw_cpu *cpu)
{
	const struct x86_state *st = &cpu->st;

	if (!(st->cr0 & X86_CR0_PE) || (st->rflags & (X86_RFLAGS_TF | X86_RFLAGS_VM)) ||
	    st->int_shadow || st->halted || cpu->pending_db_trap)
		return false;
	if (st->exception.pending || st->exception.injected || st->interrupt.pending ||
	    st->interrupt.injected || (st->nmi_pending && !st->nmi_blocked))
		return false;
	if (st->dr[7] & 0xff)
		return false;
	if ((st->rflags & X86_RFLAGS_AC) && (st->cr0 & X86_CR0_AM) && sw_cpl(cpu) == 3)
		return false;
	/* Under KVM, user code runs there; what sw replays of it is one instruction. */
	if (cpu->svm->external_writers && sw_cpl(cpu) == 3)
		return false;
	if (sw_64bit(cpu))
		return true;
	if (!(st->seg[S_CS].attr & SEG_ATTR_DB) || st->seg[S_CS].base ||
	    st->seg[S_CS].limit != 0xffffffffu)
		return false;
	return flat_data(&st->seg[S_DS]) && flat_data(&st->seg[S_ES]) &&
	       flat_data(&st->seg[S_SS]) && (st->seg[S_SS].attr & SEG_ATTR_DB);
}

static void set_gs(struct sw_cpu *cpu)
{
	if (thread_gs == &cpu->st)
		return;
	syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)&cpu->st);
	thread_gs = &cpu->st;
}

uint64_t tb_exec(struct sw_cpu *cpu)
{
	struct tb_vcpu *tv = cpu->tb.tv;
	struct x86_state *st = &cpu->st;
	uint64_t n = 0;

	if (!tv)
		return 0;
	set_gs(cpu);
	if (tv->tvm->icount)
		cpu->tb.icount_limit = sw_icount_next(cpu);
	while (tb_can_run(cpu)) {
		unsigned mode = tb_mode_of(cpu), cls = (mode & 3) == 3;
		struct tb *tb;
		struct tb_jce *jce;

		if (__builtin_expect(mbox_pending(tv), 0)) {
			mbox_drain(tv);
			cpu->tb.exit = NULL;	/* its block may be gone */
		}

		/* The jump caches hold blocks of one mode per privilege class. */
		if (tv->jc_mode[cls] != mode) {
			jc_poison(cpu->tb.jc[cls]);
			tv->jc_mode[cls] = mode;
		}
		jce = &cpu->tb.jc[cls][tb_jc_slot(st->rip)];
		tb = tv->jc_tb[cls][tb_jc_slot(st->rip)];
		if (!(jce->rip == st->rip && jce->code && tb && tb->code == jce->code &&
		      !tb->bytes && !tb->dead))
			tb = lookup(tv, cpu, mode);
		if (!tb || !tb->ninsn)
			break;
		/* -icount: a block that would pass the next event: the interpreter goes up to it. */
		if (tv->tvm->icount && cpu->icount + tb->ninsn > cpu->tb.icount_limit)
			break;
		if (tv->check) {
			/* One block at a time, each compared with the interpreter. */
			tv->stats.dispatches++;
			tb_check_block(tv, tb);
			n++;
			if (tv->cut) {
				/* Left before an instruction C runs: the interpreter's now. */
				tv->cut = false;
				tv->stats.check_cuts++;
				if (tv->tvm->icount)
					sw_icount_sync(cpu);
				sw_step(cpu);
				if (tv->tvm->icount)
					cpu->tb.icount_limit = sw_icount_next(cpu);
			}
			/* Several vCPUs take turns per run-loop step (cpu.c's serial_step()). */
			if (*cpu->tb.kick || cpu->stop_req || cpu->svm->serialize)
				break;
			continue;
		}
		if (cpu->tb.exit)
			chain(tv, cpu->tb.exit, tb);
		if (jce->code != tb->code) {
			note_dirty(tv->jc_dirty, &tv->nr_jc_dirty,
				   cls << TB_JC_BITS | tb_jc_slot(st->rip));
			jce->rip = st->rip;
			jce->code = tb->code;
			tv->jc_tb[cls][tb_jc_slot(st->rip)] = tb;
			tv->stats.jc_fills++;
		}
		cpu->tb.exit = NULL;
		tb_flags_to_code(cpu);
		tv->stats.dispatches++;
		tv->enter(tb->code);
		tb_flags_from_code(cpu);
		n++;
		if (cpu->tb.exit)
			tv->stats.exits_direct++;
		else
			tv->stats.exits_synced++;
		if (*cpu->tb.kick || cpu->stop_req) {
			tv->stats.exits_req++;
			break;
		}
	}
	return n;
}

uint64_t tb_dispatches(const struct sw_cpu *cpu)
{
	const struct tb_vcpu *tv = cpu->tb.tv;

	return tv ? *(const volatile uint64_t *)&tv->stats.dispatches : 0;
}

void tb_set_kick(struct sw_cpu *cpu, const volatile int *kick)
{
	cpu->tb.kick = kick ? kick : &cpu->tb.kick_none;
}

/* ---- C entry points of translated code ---- */

/*
 * -icount: the instructions of the block after @site's, which its entry
 * already counted: while C runs, cpu->icount is exact instead.
 */
static uint64_t icount_rest(const struct tb_site *site)
{
	return site->tb->ninsn - site->idx - 1u;
}

/* After C ran an instruction: go on in the block only if nothing needs the run loop. */
static uint64_t back_to_code(struct sw_cpu *cpu, const struct tb_site *site)
{
	tb_flags_to_code(cpu);
	if (cpu->stop_req || site->tb->dead || cpu->st.rip != site->next || *cpu->tb.kick ||
	    mbox_pending(cpu->tb.tv))
		return 0;
	if (cpu->tb.tv->tvm->icount) {
		/* The instruction may have armed a timer: the rest must still fit. */
		cpu->tb.icount_limit = sw_icount_next(cpu);
		if (cpu->icount + icount_rest(site) > cpu->tb.icount_limit)
			return 0;
		cpu->icount += icount_rest(site);
	}
	return 1;
}

static void enter_c(struct sw_cpu *cpu, const struct tb_site *site)
{
	struct x86_state *st = &cpu->st;

	tb_flags_from_code(cpu);
	st->rip = site->rip;
	cpu->tb.exit = NULL;
	/* -icount: the count and the clock of this instruction (a fault leaves them so). */
	if (cpu->tb.tv->tvm->icount) {
		cpu->icount -= icount_rest(site) + 1;
		sw_icount_sync(cpu);
	}
}

/* -icount: back into the block without C having run the instruction. */
static void icount_resume(struct sw_cpu *cpu, const struct tb_site *site)
{
	if (cpu->tb.tv->tvm->icount)
		cpu->icount += icount_rest(site) + 1;
}

uint64_t tb_helper(struct sw_cpu *cpu, struct tb_site *site)
{
	struct tb_vcpu *tv = cpu->tb.tv;
	bool str = site->in.zi.meta.category == ZYDIS_CATEGORY_STRINGOP;

	enter_c(cpu, site);
	if (tv->check) {
		/* Only jump-cache misses get here: leave before the branch. */
		tv->cut = true;
		tb_flags_to_code(cpu);
		return 0;
	}
	if (site->sys) {
		uint64_t old = cpu->st.rflags;

		tv->stats.helper_calls++;
		tv->stats.helper_mn[site->in.zi.mnemonic]++;
		sw_exec_insn(cpu, &site->in);
		/*
		 * Interrupts just enabled may be pending (the run loop takes
		 * them); TF, a segment load, a mode change: the block's
		 * assumptions may not hold any more.
		 */
		if ((!(old & X86_RFLAGS_IF) && (cpu->st.rflags & X86_RFLAGS_IF)) ||
		    !tb_can_run(cpu) || tb_mode_of(cpu) != site->tb->mode) {
			tb_flags_to_code(cpu);
			return 0;
		}
		return back_to_code(cpu, site);
	}
	tv->stats.helper_calls++;
	tv->stats.helper_mn[site->in.zi.mnemonic]++;
	/* -icount: each pass of a string instruction counts one, as in the interpreter. */
	for (;;) {
		sw_exec_insn(cpu, &site->in);
		if (!str || cpu->st.rip != site->rip || cpu->stop_req || *cpu->tb.kick ||
		    site->tb->dead)
			break;
		if (tv->tvm->icount) {
			cpu->tb.icount_limit = sw_icount_next(cpu);
			if (cpu->icount >= cpu->tb.icount_limit)
				break;
			sw_icount_sync(cpu);
		}
	}
	return back_to_code(cpu, site);
}

uint64_t tb_slow_mem(struct sw_cpu *cpu, struct tb_site *site, uint64_t la)
{
	struct tb_vcpu *tv = cpu->tb.tv;
	struct sw_vm *svm = cpu->svm;
	unsigned size = site->size, mode = site->tb->mode;
	bool write = site->acc == SW_ACC_WRITE;
	uint64_t gpa, pfn;
	uint8_t *host;

	enter_c(cpu, site);
	if (!(mode & 4) ? la + size - 1 > 0xffffffffull :
			  !canonical(la) || !canonical(la + size - 1))
		goto interp;	/* the interpreter raises #GP / #SS */
	if ((la & 0xfff) + size > 4096 || (site->align && (la & (size - 1))))
		goto interp;
	host = sw_mmu_translate(cpu, la, site->acc, &gpa);	/* may raise #PF */
	if (!host)
		goto interp;	/* MMIO */
	pfn = gpa >> 12;
	if (pfn >= svm->nr_pages || (write && svm->page_flags[pfn]))
		goto interp;	/* code or page tables: the interpreter's store reports it */
	if (tv->check) {
		/* No write entries: every write comes here and is journaled. */
		if (write)
			tb_check_journal(tv, host, size);
		else
			tlb_fill(cpu, (mode & 3) == 3 ? TB_TLB_USER : TB_TLB_SUP, false, la, host, gpa);
		icount_resume(cpu, site);
		return (uint64_t)(uintptr_t)host + size - 1;
	}
	/* SMAP's EFLAGS.AC escape must not be cached for later accesses. */
	if ((mode & 3) == 3 || !(cpu->st.cr4 & X86_CR4_SMAP) ||
	    !(cpu->st.rflags & X86_RFLAGS_AC)) {
		tlb_fill(cpu, (mode & 3) == 3 ? TB_TLB_USER : TB_TLB_SUP, write, la, host, gpa);
		tv->stats.tlb_fills++;
	}
	icount_resume(cpu, site);
	return (uint64_t)(uintptr_t)host + size - 1;
interp:
	tv->stats.mem_interp++;
	if (tv->check) {
		tv->cut = true;
		tb_flags_to_code(cpu);
		return 0;
	}
	sw_exec_insn(cpu, &site->in);
	return back_to_code(cpu, site);
}

/* ---- tracing and the perf map ---- */

static __thread csh cs_host, cs_guest[2];
static __thread bool cs_open_host, cs_open_guest[2];

static void trace_block(struct tb_vcpu *tv, struct tb *tb)
{
	struct vm *vm = tv->cpu->vm;
	unsigned g = (tb->mode & 4) ? 1 : 0;
	const uint8_t *gbytes = gpa_to_hva(vm, tb->gpa, tb->glen);
	cs_insn *ci;
	size_t n;

	if (!cs_open_host && cs_open(CS_ARCH_X86, CS_MODE_64, &cs_host) == CS_ERR_OK)
		cs_open_host = true;
	if (!cs_open_guest[g] &&
	    cs_open(CS_ARCH_X86, g ? CS_MODE_64 : CS_MODE_32, &cs_guest[g]) == CS_ERR_OK)
		cs_open_guest[g] = true;
	vm_trace(vm, TRACE_OUT_ASM, "IN: pc 0x%" PRIx64 " gpa 0x%" PRIx64 " cpl %u, %u insns, %u bytes\n",
		 tb->pc, tb->gpa, tb->mode & 3, tb->ninsn, tb->glen);
	if (gbytes && cs_open_guest[g]) {
		n = cs_disasm(cs_guest[g], gbytes, tb->glen, tb->pc, 0, &ci);
		for (size_t i = 0; i < n; i++)
			vm_trace(vm, TRACE_OUT_ASM, "  0x%" PRIx64 ": %s %s\n", ci[i].address,
				 ci[i].mnemonic, ci[i].op_str);
		if (n)
			cs_free(ci, n);
	}
	vm_trace(vm, TRACE_OUT_ASM, "OUT: [size=%u]\n", tb->size);
	if (cs_open_host) {
		n = cs_disasm(cs_host, tb->code, tb->size, (uint64_t)(uintptr_t)tb->code, 0, &ci);
		for (size_t i = 0; i < n; i++)
			vm_trace(vm, TRACE_OUT_ASM, "  0x%" PRIx64 ": %s %s\n", ci[i].address,
				 ci[i].mnemonic, ci[i].op_str);
		if (n)
			cs_free(ci, n);
	}
}

void tb_announce(struct tb_vcpu *tv, struct tb *tb)
{
	if (tv->tvm->perfmap)
		fprintf(tv->tvm->perfmap, "%" PRIxPTR " %x tb_%s%" PRIx64 "\n",
			(uintptr_t)tb->code, tb->size, (tb->mode & 3) == 3 ? "u_" : "k_", tb->pc);
	if (vm_tracing(tv->cpu->vm, TRACE_OUT_ASM))
		trace_block(tv, tb);
}

/* ---- setup ---- */

int tb_vm_init(struct sw_vm *svm, enum tb_mode mode, bool perfmap)
{
	struct tb_vm *tvm;

	svm->tb = NULL;
	if (mode == TB_OFF)
		return 0;
	tvm = calloc(1, sizeof(*tvm));
	if (!tvm)
		return -ENOMEM;
	tvm->mode = mode;
	tvm->icount = svm->vm && svm->vm->cfg.icount;
	tvm->nr_pages = svm->nr_pages;
	pthread_mutex_init(&tvm->flag_lock, NULL);
	if (perfmap) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		tvm->perfmap = fopen(path, "a");
		if (tvm->perfmap)
			setvbuf(tvm->perfmap, NULL, _IOLBF, 0);
	}
	svm->tb = tvm;
	return 0;
}

void tb_vm_destroy(struct sw_vm *svm)
{
	struct tb_vm *tvm = svm->tb;

	if (!tvm)
		return;
	if (tvm->perfmap)
		fclose(tvm->perfmap);
	pthread_mutex_destroy(&tvm->flag_lock);
	free(tvm);
	svm->tb = NULL;
}

int tb_cpu_init(struct sw_cpu *cpu)
{
	struct tb_vm *tvm = cpu->svm->tb;
	struct tb_vcpu *tv;
	unsigned slot;

	cpu->tb.tv = NULL;
	cpu->tb.self = cpu;
	cpu->tb.kick = &cpu->tb.kick_none;
	if (!tvm)
		return 0;
	for (slot = 0; slot < TB_MAX_VCPUS && tvm->vcpus[slot]; slot++)
		;
	if (slot == TB_MAX_VCPUS)
		return -ENOSPC;
	tv = calloc(1, sizeof(*tv));
	if (!tv)
		return -ENOMEM;
	tv->cpu = cpu;
	tv->tvm = tvm;
	tv->pages = calloc((tvm->nr_pages + 63) / 64 + 1, sizeof(*tv->pages));
	if (!tv->pages) {
		free(tv);
		return -ENOMEM;
	}
	pthread_mutex_init(&tv->mbox_lock, NULL);
	pthread_mutex_init(&tv->saved_lock, NULL);
	tv->scratch = tb_translate_scratch_new();
	tv->cache = mmap(NULL, TB_CACHE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!tv->scratch || tv->cache == MAP_FAILED) {
		if (tv->cache != MAP_FAILED)
			munmap(tv->cache, TB_CACHE_SIZE);
		free(tv->scratch);
		free(tv->pages);
		free(tv);
		return -ENOMEM;
	}
	tv->cache_end = tv->cache + TB_CACHE_SIZE;
	if (tvm->mode == TB_CHECK && !(tv->check = tb_check_new())) {
		munmap(tv->cache, TB_CACHE_SIZE);
		free(tv->scratch);
		free(tv->pages);
		free(tv);
		return -ENOMEM;
	}
	tv->jc_mode[0] = tv->jc_mode[1] = ~0u;
	tv->nr_tlb_dirty = tv->nr_jc_dirty = TB_DIRTY_MAX + 1;	/* first flush: whole */
	emit_common(tv);
	if (tvm->perfmap)
		fprintf(tvm->perfmap, "%" PRIxPTR " %" PRIxPTR " tb_stubs\n", (uintptr_t)tv->cache,
			(uintptr_t)(tv->cache_blocks - tv->cache));
	tvm->vcpus[slot] = tv;
	if (slot >= tvm->nr_vcpus)
		tvm->nr_vcpus = slot + 1;
	cpu->tb.tv = tv;
	tb_tlb_flush(cpu);
	return 0;
}

void tb_cpu_destroy(struct sw_cpu *cpu)
{
	struct tb_vcpu *tv = cpu->tb.tv;

	if (!tv)
		return;
	for (unsigned i = 0; i < tv->tvm->nr_vcpus; i++)
		if (tv->tvm->vcpus[i] == tv)
			tv->tvm->vcpus[i] = NULL;
	cache_flush(tv);
	tb_check_free(tv->check);
	munmap(tv->cache, TB_CACHE_SIZE);
	free(tv->scratch);
	pthread_mutex_destroy(&tv->mbox_lock);
	pthread_mutex_destroy(&tv->saved_lock);
	free(tv->pages);
	free(tv);
	cpu->tb.tv = NULL;
	if (thread_gs == &cpu->st)
		thread_gs = NULL;
}

/* ---- statistics ---- */

static void add_stats(struct tb_stats *sum, const struct tb_stats *s)
{
	const uint64_t *a = (const uint64_t *)s;
	uint64_t *b = (uint64_t *)sum;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		b[i] += a[i];
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

void tb_print_stats(struct sw_vm *svm, FILE *out)
{
	struct tb_vm *tvm = svm->tb;
	struct tb_stats *s;
	unsigned top[10] = { 0 };

	if (!tvm) {
		fprintf(out, "sw: translator off (jit=off)\n");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	for (unsigned v = 0; v < tvm->nr_vcpus; v++)
		if (tvm->vcpus[v])
			add_stats(s, &tvm->vcpus[v]->stats);
	fprintf(out, "sw: translator: %" PRIu64 " blocks (%" PRIu64 " left to the interpreter), %"
		PRIu64 " guest bytes -> %" PRIu64 " host bytes, %" PRIu64 " cache flushes, %" PRIu64
		" invalidated (SMC)\n", s->blocks, s->empty, s->guest_bytes, s->code_bytes,
		s->flushes, s->invalidations);
	fprintf(out, "sw: translator: %" PRIu64 " dispatches; exits: %" PRIu64 " direct, %" PRIu64
		" other (indirect miss, helper, check), %" PRIu64 " for the run loop; %" PRIu64
		" chains made, %" PRIu64 " unchained; %" PRIu64 " jump-cache fills\n",
		s->dispatches, s->exits_direct, s->exits_synced, s->exits_req, s->chains,
		s->unchains, s->jc_fills);
	fprintf(out, "sw: translator: %" PRIu64 " address-space switches, %" PRIu64
		" of them found their inline TLB and jump caches kept\n", s->switches,
		s->switch_restores);
	fprintf(out, "sw: translator: inline TLB: %" PRIu64 " fills (misses), %" PRIu64
		" accesses interpreted (MMIO, page-crossing, code/page-table writes); %" PRIu64
		" helper calls, %" PRIu64 " encodings left to helpers\n", s->tlb_fills,
		s->mem_interp, s->helper_calls, s->encode_fallbacks);
	if (tvm->mode == TB_CHECK)
		fprintf(out, "sw: translator: jit=check: %" PRIu64 " blocks compared with the "
			"interpreter, %" PRIu64 " mismatches, %" PRIu64 " cut before an access or "
			"branch C runs\n", s->checked, s->check_mismatches, s->check_cuts);
	/* The ten mnemonics helpers ran most (selection, no sort of the whole table). */
	for (unsigned m = 1; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++) {
		unsigned k;

		if (!s->helper_mn[m])
			continue;
		for (k = 10; k > 0 && (!top[k - 1] || s->helper_mn[top[k - 1]] < s->helper_mn[m]); k--)
			if (k < 10)
				top[k] = top[k - 1];
		if (k < 10)
			top[k] = m;
	}
	if (top[0]) {
		fprintf(out, "sw: translator: helper calls by mnemonic:");
		for (unsigned k = 0; k < 10 && top[k]; k++)
			fprintf(out, " %s %.1f%%", ZydisMnemonicGetString((ZydisMnemonic)top[k]),
				pct(s->helper_mn[top[k]], s->helper_calls));
		fprintf(out, "\n");
	}
	free(s);
}
