// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU's MMU: guest page walks (32-bit, PAE, 4-level) and a
 * cache of their results, the "shadow translations".
 *
 * Cache. Each vCPU keeps NR_CTX address-space contexts, keyed by CR3 (and
 * the PCID when CR4.PCIDE), replaced LRU, plus one for paging off. A
 * context is a direct-mapped table of TLB_SIZE entries: linear page tag,
 * host pointer of the page (NULL for MMIO / unbacked memory) and the gpa
 * with the permission bits (read/write/execute x supervisor/user) in its
 * low 12 bits. The fast path is one table index, one tag compare and one
 * bit test. Large pages are cached as 4 KiB pieces.
 *
 * Invariants:
 *  - An entry never grants more than the guest tables did when it was
 *    made, and grants write only once the leaf's dirty bit is set (the
 *    first write takes the slow path, which sets D).
 *  - Every guest page read as a paging structure (and the PAE PDPT) is
 *    flagged SW_PAGE_PT and recorded in the context's dependency filter
 *    (a 4096-bit hash set of page numbers) before it is read. mem.c
 *    reports writes to flagged pages (sw_mmu_pt_written): every context,
 *    of every vCPU, whose filter has the page is marked stale.
 *  - A stale context is flushed before it is used again after an x86 TLB
 *    invalidation point of its own (MOV CR3 selecting it). Until then it
 *    may serve stale entries, exactly as a TLB may until the guest
 *    invalidates them.
 *
 * Why MOV CR3 does not flush the target context: x86 requires that after
 * MOV CR3 no non-global translation older than the instruction is used.
 * A context kept across the switch only holds translations computed from
 * guest tables that have not been written since (any write to a page the
 * walks read marked it stale, and stale contexts are flushed when
 * selected), so its entries are exactly what fresh walks would produce.
 * Flushing would only cost time. The one residual window is a walk that
 * flags a page as a paging structure for the first time while another
 * vCPU writes that page: the writer may miss the new flag. Closing it
 * needs a fence between the store and the flag load in mem.c.
 *
 * INVLPG drops the page (the whole large page) in every context: x86
 * drops global translations everywhere, and the others are harmless to
 * drop. Paging-mode changes (CR0.PG/WP, CR4.PSE/PAE/PGE/PCIDE/SMEP/SMAP,
 * EFER.NXE/LMA) flush all contexts; so does INVPCID beyond one address.
 * Global pages need no special casing: no flush here spares them.
 *
 * Protection keys (CR4.PKE for user addresses with PKRU, CR4.PKS for
 * supervisor addresses with IA32_PKRS, 4-level paging only) restrict
 * data accesses by the leaf's key (bits 62:59). The walk folds them into
 * the cached permissions, so PKRU and PKRS are part of the mode signature
 * and a change of either (WRPKRU, WRMSR) flushes like a paging-mode change.
 *
 * Accessed/dirty bits are set with compare-and-swap on the host copy of
 * the paging entry, after the access passed every check (as KVM does: a
 * faulting access sets nothing); a lost race restarts the walk.
 * Paging structures outside RAM read as zero (not present).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "accel/sw/translator/tb.h"
#include "machine/memory.h"

#define TLB_BITS	10
#define TLB_SIZE	(1u << TLB_BITS)
#define NR_CTX		8
#define DEP_BITS	12
#define DEP_WORDS	((1u << DEP_BITS) / 64)
#define TAG_INVALID	1ull	/* never equal to a page-aligned address */
#define MAX_CAS_RETRY	64

/* Low bits of tlbe.gpa. */
enum {
	P_R_S = 1 << 0, P_W_S = 1 << 1, P_X_S = 1 << 2,	/* supervisor read/write/exec */
	P_R_U = 1 << 3, P_W_U = 1 << 4, P_X_U = 1 << 5,	/* user */
	P_GLOBAL = 1 << 6,
	P_SIZE_SHIFT = 7,				/* 2 bits: enum page_size */
	P_ALL = 0x3f,
};

enum page_size { PS_4K, PS_2M, PS_4M, PS_1G };

static const uint64_t page_bytes[] = { 1ull << 12, 1ull << 21, 1ull << 22, 1ull << 30 };

/* -d mmu: page walks, fills and flushes (one line each, QEMU's class name). */
static bool tracing_mmu(const struct sw_cpu *cpu)
{
	return __builtin_expect(cpu->vm && cpu->vm->trace != NULL, 0) &&
	       vm_tracing(cpu->vm, TRACE_MMU);
}

static void trace_fill(struct sw_cpu *cpu, uint64_t la, uint64_t gpa, unsigned perm,
		       unsigned size, bool global)
{
	static const char *const sizes[] = { "4K", "2M", "4M", "1G" };

	vm_trace(cpu->vm, TRACE_MMU, "CPU%u mmu: walk %#018" PRIx64 " -> %#" PRIx64
		 " %s %c%c%c/%c%c%c%s cr3=%#" PRIx64 "\n", cpu->vcpu ? cpu->vcpu->id : 0, la,
		 gpa, sizes[size & 3], perm & P_R_S ? 'r' : '-', perm & P_W_S ? 'w' : '-',
		 perm & P_X_S ? 'x' : '-', perm & P_R_U ? 'r' : '-', perm & P_W_U ? 'w' : '-',
		 perm & P_X_U ? 'x' : '-', global ? " global" : "", cpu->st.cr3);
}

static void trace_flush(struct sw_cpu *cpu, const char *what)
{
	vm_trace(cpu->vm, TRACE_MMU, "CPU%u mmu: %s cr0=%#" PRIx64 " cr3=%#" PRIx64 " cr4=%#"
		 PRIx64 "\n", cpu->vcpu ? cpu->vcpu->id : 0, what, cpu->st.cr0, cpu->st.cr3,
		 cpu->st.cr4);
}

struct tlbe {
	uint64_t tag;
	uint8_t *host;
	uint64_t gpa;
};

struct ctx {
	struct tlbe e[TLB_SIZE];
	uint64_t key;
	uint64_t lru;
	bool used;
	bool has_large;
	atomic_bool stale;
	_Atomic uint64_t deps[DEP_WORDS];
	uint64_t tag;		/* new at every flush: names the translations it holds */
};

static _Atomic uint64_t ctx_tags;

enum mode { M_NONE, M_32, M_PAE, M_4L };

struct sw_mmu {
	struct sw_cpu *cpu;
	struct ctx *cur;
	enum mode mode;
	uint64_t sig;		/* paging bits of CR0/CR4/EFER the contexts were made for */
	uint64_t pdpte[4];
	uint64_t rsvd_phys;	/* address bits at and above MAXPHYADDR (below 52) */
	bool pdpe1gb;
	uint64_t lru_clock;
	uint64_t nr_walks, nr_flushes, nr_switches, nr_pt_writes;
	struct ctx phys;	/* paging off */
	struct ctx ctx[NR_CTX];
};

/*
 * Every MMU, so that a paging-structure write by one vCPU reaches the
 * others' contexts. Slots change only at vCPU creation and destruction,
 * when no vCPU of the same VM runs.
 */
#define MAX_MMUS	64
static struct sw_mmu *_Atomic all_mmus[MAX_MMUS];
static atomic_uint all_mmus_end;	/* slots at and above are unused */

/* ---- modes and keys ---- */

static uint64_t mode_sig(const struct x86_state *st)
{
	/* The three masks use disjoint bit positions, so OR-ing them is lossless. */
	uint64_t sig = (st->cr0 & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)) |
		       (st->cr4 & (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE |
				   X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS)) |
		       (st->efer & (X86_EFER_NXE | X86_EFER_LMA));

	/* The keys' rights, where they count: bits 32-63 (CR4 and EFER bits are below 32). */
	if (st->cr4 & X86_CR4_PKE)
		sig ^= (uint64_t)st->pkru << 32;
	if (st->cr4 & X86_CR4_PKS)
		sig ^= ((uint64_t)(uint32_t)st->msr.pkrs << 32) * 3;
	return sig;
}

static enum mode paging_mode(const struct x86_state *st)
{
	if (!(st->cr0 & X86_CR0_PG))
		return M_NONE;
	if (st->efer & X86_EFER_LMA)
		return M_4L;
	return (st->cr4 & X86_CR4_PAE) ? M_PAE : M_32;
}

static uint64_t ctx_key(const struct x86_state *st, enum mode mode)
{
	switch (mode) {
	case M_32:
		return st->cr3 & 0xfffff000u;
	case M_PAE:
		return st->cr3 & 0xffffffe0u;
	case M_4L:
		/* The PCID (CR3[11:0]) names the address space only with PCIDE. */
		return st->cr3 & ~(1ull << 63) & ((st->cr4 & X86_CR4_PCIDE) ? ~0ull : ~0xfffull);
	default:
		return 0;
	}
}

static unsigned dep_hash(uint64_t pfn)
{
	return (unsigned)((pfn * 0x9e3779b97f4a7c15ull) >> (64 - DEP_BITS));
}

/* ---- contexts ---- */

static void ctx_flush(struct sw_mmu *m, struct ctx *c)
{
	atomic_store(&c->stale, false);
	for (unsigned i = 0; i < TLB_SIZE; i++)
		c->e[i].tag = TAG_INVALID;
	for (unsigned i = 0; i < DEP_WORDS; i++)
		atomic_store_explicit(&c->deps[i], 0, memory_order_relaxed);
	c->has_large = false;
	c->tag = atomic_fetch_add(&ctx_tags, 1) + 1;
	m->nr_flushes++;
}

/* Record that @c's entries depend on the paging structure at @gpa (before reading it). */
static void ctx_depend(struct sw_mmu *m, struct ctx *c, uint64_t gpa)
{
	struct sw_vm *svm = m->cpu->svm;
	uint64_t pfn = gpa >> 12;
	unsigned h = dep_hash(pfn);
	uint64_t bit = 1ull << (h & 63);

	if (pfn < svm->nr_pages && !(svm->page_flags[pfn] & SW_PAGE_PT)) {
		uint8_t was = __atomic_fetch_or(&svm->page_flags[pfn], SW_PAGE_PT, __ATOMIC_SEQ_CST);

		/* Its writes must reach mem.c from now on, translated code's too. */
		if (!was)
			tb_page_flagged(svm, pfn);
	}
	/* A locked OR is a full barrier: the flag is visible before the entry is read. */
	if (!(atomic_load_explicit(&c->deps[h >> 6], memory_order_relaxed) & bit))
		atomic_fetch_or(&c->deps[h >> 6], bit);
}

static void load_pdptes(struct sw_mmu *m)
{
	const struct x86_state *st = &m->cpu->st;
	uint64_t base = st->cr3 & 0xffffffe0u;
	const uint64_t *p = gpa_to_hva(m->cpu->vm, base, 32);

	ctx_depend(m, m->cur, base);
	for (unsigned i = 0; i < 4; i++)
		m->pdpte[i] = p ? __atomic_load_n(&p[i], __ATOMIC_RELAXED) : 0;
}

/* Make the context for the current CR3 the current one. */
static void select_ctx(struct sw_mmu *m)
{
	const struct x86_state *st = &m->cpu->st;
	uint64_t key;
	struct ctx *c = NULL;

	if (m->mode == M_NONE) {
		m->cur = &m->phys;
		return;
	}
	key = ctx_key(st, m->mode);
	for (unsigned i = 0; i < NR_CTX; i++) {
		if (m->ctx[i].used && m->ctx[i].key == key) {
			c = &m->ctx[i];
			break;
		}
	}
	if (c) {
		if (atomic_load(&c->stale))
			ctx_flush(m, c);
	} else {
		c = &m->ctx[0];
		for (unsigned i = 0; i < NR_CTX; i++) {
			if (!m->ctx[i].used) {
				c = &m->ctx[i];
				break;
			}
			if (m->ctx[i].lru < c->lru)
				c = &m->ctx[i];
		}
		ctx_flush(m, c);
		c->used = true;
		c->key = key;
	}
	if (c != m->cur)
		m->nr_switches++;
	c->lru = ++m->lru_clock;
	m->cur = c;
	if (m->mode == M_PAE)
		load_pdptes(m);
}

/* Everything from the current state: mode, empty contexts, PDPTEs. */
static void resync(struct sw_mmu *m)
{
	const struct x86_state *st = &m->cpu->st;

	m->mode = paging_mode(st);
	m->sig = mode_sig(st);
	ctx_flush(m, &m->phys);
	for (unsigned i = 0; i < NR_CTX; i++) {
		if (m->ctx[i].used)
			ctx_flush(m, &m->ctx[i]);
		m->ctx[i].used = false;
	}
	m->cur = NULL;
	select_ctx(m);
	tb_tlb_flush(m->cpu);
}

/* ---- page walk ---- */

#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_U	(1ull << 2)
#define PTE_A	(1ull << 5)
#define PTE_D	(1ull << 6)
#define PTE_PS	(1ull << 7)
#define PTE_G	(1ull << 8)
#define PTE_NX	(1ull << 63)

/* walk() result for a not-present entry (error code P = 0, but not "no fault"). */
#define WALK_NOT_PRESENT	0x10000u

struct walk {
	unsigned n;			/* entries used, root first */
	void *host[4];
	uint64_t gpa[4];
	uint64_t val[4];
	bool wide;			/* 8-byte entries */
	uint64_t page;			/* gpa of the 4 KiB page of @la */
	unsigned perm;			/* P_* bits the tables allow */
	unsigned pkdeny;		/* P_* bits the leaf's protection key takes away */
	enum page_size size;
	bool global;
};

static uint64_t load_entry(void *p, bool wide)
{
	if (!p)
		return 0;
	return wide ? __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED) :
		      __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
}

/*
 * Walk the tables for @la. Returns 0, WALK_NOT_PRESENT, or PF_P | PF_RSVD
 * for a reserved bit set; the caller adds W/U/I to the error code.
 */
static uint32_t walk(struct sw_mmu *m, uint64_t la, struct walk *w)
{
	const struct x86_state *st = &m->cpu->st;
	bool wide = m->mode != M_32, nxe = st->efer & X86_EFER_NXE;
	bool pse = st->cr4 & X86_CR4_PSE, pge = st->cr4 & X86_CR4_PGE;
	uint64_t addr = wide ? 0x000ffffffffff000ull & ~m->rsvd_phys : 0xfffff000ull;
	uint64_t rsvd = wide ? m->rsvd_phys | (nxe ? 0 : PTE_NX) : 0;
	bool wr = true, us = true, nx = false;
	uint64_t table;
	unsigned level;

	w->n = 0;
	w->wide = wide;
	w->pkdeny = 0;
	if (m->mode == M_4L) {
		table = st->cr3 & addr;
		level = 4;
	} else if (m->mode == M_PAE) {
		uint64_t e = m->pdpte[(la >> 30) & 3];

		if (!(e & PTE_P))
			return WALK_NOT_PRESENT;
		if (e & (0x1e6ull | m->rsvd_phys | PTE_NX))
			return PF_P | PF_RSVD;
		table = e & addr;
		level = 2;
	} else {
		table = st->cr3 & addr;
		level = 2;
	}
	for (;;) {
		unsigned shift = wide ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
		unsigned idx = (la >> shift) & (wide ? 0x1ff : 0x3ff);
		uint64_t egpa = table + idx * (wide ? 8 : 4);
		void *p = gpa_to_hva(m->cpu->vm, egpa, wide ? 8 : 4);
		uint64_t v, size;
		bool leaf;

		ctx_depend(m, m->cur, egpa);
		v = load_entry(p, wide);
		w->host[w->n] = p;
		w->gpa[w->n] = egpa;
		w->val[w->n] = v;
		w->n++;
		if (!(v & PTE_P))
			return WALK_NOT_PRESENT;
		if (v & rsvd)
			return PF_P | PF_RSVD;
		leaf = level == 1 || ((v & PTE_PS) && ((level == 2 && (wide || pse)) ||
						       level == 3));
		if (wide && (v & PTE_PS) && level == 4)
			return PF_P | PF_RSVD;	/* no 512 GiB pages */
		if (leaf && level == 3 && !m->pdpe1gb)
			return PF_P | PF_RSVD;
		/* Large-page address bits below the page size are reserved (no PSE-36). */
		if (leaf && level > 1 && (v & (wide ? ((1ull << shift) - 1) & ~0x1fffull :
						      0x3fe000ull)))
			return PF_P | PF_RSVD;
		wr = wr && (v & PTE_W);
		us = us && (v & PTE_U);
		if (wide && nxe && (v & PTE_NX))
			nx = true;
		if (leaf) {
			size = 1ull << shift;
			w->page = ((v & addr) & ~(size - 1)) | (la & (size - 1) & ~0xfffull);
			w->size = level == 1 ? PS_4K : level == 3 ? PS_1G : wide ? PS_2M : PS_4M;
			w->global = pge && (v & PTE_G);
			break;
		}
		table = v & addr;
		level--;
	}
	{
		bool wp = st->cr0 & X86_CR0_WP, smep = st->cr4 & X86_CR4_SMEP;
		bool smap = st->cr4 & X86_CR4_SMAP;
		unsigned perm = 0;

		/* SMAP's AC escape is dynamic: never cached, checked in the slow path. */
		if (!(smap && us)) {
			perm |= P_R_S;
			if (wr || !wp)
				perm |= P_W_S;
		}
		if (!nx && !(smep && us))
			perm |= P_X_S;
		if (us) {
			perm |= P_R_U;
			if (wr)
				perm |= P_W_U;
			if (!nx)
				perm |= P_X_U;
		}
		w->perm = perm;
		if (m->mode == M_4L && (st->cr4 & (us ? X86_CR4_PKE : X86_CR4_PKS))) {
			unsigned key = (w->val[w->n - 1] >> 59) & 0xf;
			uint32_t rights = us ? st->pkru : (uint32_t)st->msr.pkrs;

			/* AD: no data access; WD: no user write, no supervisor write with WP. */
			if (rights & (1u << (2 * key)))
				w->pkdeny = P_R_S | P_W_S | (us ? P_R_U | P_W_U : 0);
			else if (rights & (2u << (2 * key)))
				w->pkdeny = (us ? P_W_U : 0) | (wp ? P_W_S : 0);
		}
	}
	return 0;
}

/* Set A on every entry used and D on the leaf for a write. false: lost a race, walk again. */
static bool set_ad(struct sw_mmu *m, struct walk *w, bool write)
{
	struct sw_vm *svm = m->cpu->svm;

	for (unsigned i = 0; i < w->n; i++) {
		uint64_t want = PTE_A | (i == w->n - 1 && write ? PTE_D : 0);
		uint64_t v = w->val[i];
		bool ok;

		if ((v & want) == want || !w->host[i])
			continue;
		if (w->wide) {
			uint64_t e = v;

			ok = __atomic_compare_exchange_n((uint64_t *)w->host[i], &e, v | want,
							 false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else {
			uint32_t e = (uint32_t)v;

			ok = __atomic_compare_exchange_n((uint32_t *)w->host[i], &e,
							 (uint32_t)(v | want), false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		}
		if (!ok)
			return false;
		w->val[i] = v | want;
		/* Our own A/D update is not a guest table change; only cached code cares. */
		if ((w->gpa[i] >> 12) < svm->nr_pages &&
		    (svm->page_flags[w->gpa[i] >> 12] & SW_PAGE_CODE))
			sw_decode_invalidate_page(svm, w->gpa[i] & ~0xfffull);
		if ((w->gpa[i] >> 12) < svm->nr_pages &&
		    (svm->page_flags[w->gpa[i] >> 12] & SW_PAGE_TB))
			tb_invalidate_range(svm, w->gpa[i], w->wide ? 8 : 4);
	}
	return true;
}

static _Noreturn void page_fault(struct sw_cpu *cpu, struct tlbe *e, uint64_t la, uint32_t err,
				 unsigned acc, bool user)
{
	const struct x86_state *st = &cpu->st;
	bool wide = st->cr4 & X86_CR4_PAE;

	/* A fault drops the stale entry for the address, as a real TLB does. */
	if (e->tag == (la & ~0xfffull))
		e->tag = TAG_INVALID;
	if ((acc & 3) == SW_ACC_WRITE)
		err |= PF_W;
	if (user)
		err |= PF_U;
	if ((acc & 3) == SW_ACC_EXEC &&
	    ((st->cr4 & X86_CR4_SMEP) || (wide && (st->efer & X86_EFER_NXE))))
		err |= PF_I;
	sw_raise_pf(cpu, la, err);
}

/*
 * Not inlined into sw_mmu_translate(): its walk state would make every
 * TLB hit (each fetch and data access) pay for a large stack frame and
 * the callee-saved registers.
 */
static __attribute__((noinline)) uint8_t *
translate_slow(struct sw_cpu *cpu, uint64_t la, unsigned acc, uint64_t *gpa, bool user,
	       unsigned need)
{
	struct sw_mmu *m = cpu->mmu;
	const struct x86_state *st = &cpu->st;
	unsigned kind = acc & 3;
	struct tlbe *e;
	struct walk w;
	unsigned perm, tries = 0;
	uint32_t err;

	/* State changed behind our back (set_state, tests): start over from it. */
	if (mode_sig(st) != m->sig || paging_mode(st) != m->mode ||
	    (m->mode != M_NONE && ctx_key(st, m->mode) != m->cur->key))
		resync(m);
	e = &m->cur->e[(la >> 12) & (TLB_SIZE - 1)];
	if (m->mode == M_NONE) {
		uint64_t page = la & ~0xfffull;

		e->tag = page;
		e->host = gpa_to_hva(cpu->vm, page, 4096);
		e->gpa = page | P_ALL;
		*gpa = la;
		return e->host ? e->host + (la & 0xfff) : NULL;
	}
	for (;;) {
		m->nr_walks++;
		err = walk(m, la, &w);
		if (err && tracing_mmu(cpu))
			vm_trace(cpu->vm, TRACE_MMU,
				 "CPU%u mmu: walk %#018" PRIx64 " fault%s cr3=%#" PRIx64 "\n",
				 cpu->vcpu ? cpu->vcpu->id : 0, la,
				 err == WALK_NOT_PRESENT ? " (not present)" : " (reserved bit)",
				 st->cr3);
		if (err)
			page_fault(cpu, e, la, err == WALK_NOT_PRESENT ? 0 : err, acc, user);
		perm = w.perm;
		/* A protection-key denial sets PK whatever else the access broke. */
		if (w.pkdeny & need)
			page_fault(cpu, e, la, PF_P | PF_PK, acc, user);
		perm &= ~w.pkdeny;
		if (!(perm & need)) {
			/* SMAP: explicit supervisor data access to a user page with EFLAGS.AC. */
			bool smap_ok = !user && kind != SW_ACC_EXEC && !(acc & SW_ACC_SYS) &&
				       (st->cr4 & X86_CR4_SMAP) && (st->rflags & X86_RFLAGS_AC) &&
				       (perm & P_R_U) &&
				       (kind == SW_ACC_READ || (perm & P_W_U) ||
					!(st->cr0 & X86_CR0_WP));

			if (!smap_ok)
				page_fault(cpu, e, la, PF_P, acc, user);
		}
		if (set_ad(m, &w, kind == SW_ACC_WRITE) || ++tries >= MAX_CAS_RETRY)
			break;
	}
	/* Write permission only once the page is dirty: the first write must set D. */
	if (!(w.val[w.n - 1] & PTE_D))
		perm &= ~(P_W_S | P_W_U);
	e->tag = la & ~0xfffull;
	e->host = gpa_to_hva(cpu->vm, w.page, 4096);
	e->gpa = w.page | perm | (w.global ? P_GLOBAL : 0) | ((uint64_t)w.size << P_SIZE_SHIFT);
	if (w.size != PS_4K)
		m->cur->has_large = true;
	if (tracing_mmu(cpu))
		trace_fill(cpu, la & ~0xfffull, w.page, perm, w.size, w.global);
	*gpa = w.page | (la & 0xfff);
	return e->host ? e->host + (la & 0xfff) : NULL;
}

uint8_t *sw_mmu_translate(struct sw_cpu *cpu, uint64_t la, unsigned acc, uint64_t *gpa)
{
	struct sw_mmu *m = cpu->mmu;
	bool user = !(acc & SW_ACC_SYS) && sw_cpl(cpu) == 3;
	unsigned need = 1u << ((acc & 3) + (user ? 3 : 0));
	const struct tlbe *e = &m->cur->e[(la >> 12) & (TLB_SIZE - 1)];

	if (__builtin_expect(e->tag == (la & ~0xfffull) && (e->gpa & need), 1)) {
		*gpa = (e->gpa & ~0xfffull) | (la & 0xfff);
		return e->host ? e->host + (la & 0xfff) : NULL;
	}
	return translate_slow(cpu, la, acc, gpa, user, need);
}

/* ---- maintenance ---- */

void sw_mmu_cr3_written(struct sw_cpu *cpu)
{
	struct sw_mmu *m = cpu->mmu;

	cpu->nr_tlb_flushes++;
	if (tracing_mmu(cpu))
		trace_flush(cpu, "cr3 load:");
	if (mode_sig(&cpu->st) != m->sig || paging_mode(&cpu->st) != m->mode) {
		resync(m);
	} else {
		select_ctx(m);
		tb_tlb_switch(cpu, m->cur->tag);
	}
}

void sw_mmu_paging_changed(struct sw_cpu *cpu)
{
	cpu->nr_tlb_flushes++;
	if (tracing_mmu(cpu))
		trace_flush(cpu, "flush (paging mode changed):");
	resync(cpu->mmu);
}

void sw_mmu_flush_all(struct sw_cpu *cpu)
{
	cpu->nr_tlb_flushes++;
	if (tracing_mmu(cpu))
		trace_flush(cpu, "flush (all):");
	resync(cpu->mmu);
}

static void ctx_invlpg(struct ctx *c, uint64_t la)
{
	struct tlbe *e = &c->e[(la >> 12) & (TLB_SIZE - 1)];

	if (e->tag == (la & ~0xfffull))
		e->tag = TAG_INVALID;
	if (!c->has_large)
		return;
	/* Pieces of a large page live in other slots: find them by their page size. */
	for (unsigned i = 0; i < TLB_SIZE; i++) {
		unsigned size = (c->e[i].gpa >> P_SIZE_SHIFT) & 3;
		uint64_t mask = ~(page_bytes[size] - 1);

		if (size != PS_4K && c->e[i].tag != TAG_INVALID &&
		    (c->e[i].tag & mask) == (la & mask))
			c->e[i].tag = TAG_INVALID;
	}
}

void sw_mmu_invlpg(struct sw_cpu *cpu, uint64_t la)
{
	struct sw_mmu *m = cpu->mmu;

	bool large = false;

	cpu->nr_tlb_flushes++;
	if (tracing_mmu(cpu))
		vm_trace(cpu->vm, TRACE_MMU, "CPU%u mmu: invlpg %#018" PRIx64 "\n",
			 cpu->vcpu ? cpu->vcpu->id : 0, la);
	for (unsigned i = 0; i < NR_CTX; i++) {
		if (m->ctx[i].used) {
			ctx_invlpg(&m->ctx[i], la);
			large |= m->ctx[i].has_large;
		}
	}
	/* The inline TLB keeps 4 KiB pieces of large pages without their size. */
	if (large)
		tb_tlb_flush(cpu);
	else
		tb_tlb_flush_page(cpu, la);
	/* Other address spaces' copies held for a switch back: INVLPG drops them everywhere. */
	tb_tlb_forget(cpu);
}

void sw_mmu_pt_written(struct sw_cpu *cpu, uint64_t gpa)
{
	unsigned h = dep_hash(gpa >> 12);
	uint64_t bit = 1ull << (h & 63);

	cpu->mmu->nr_pt_writes++;
	/* Pairs with the locked OR in ctx_depend(): see the comment at the top. */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0, end = atomic_load(&all_mmus_end); i < end && i < MAX_MMUS; i++) {
		struct sw_mmu *m = atomic_load_explicit(&all_mmus[i], memory_order_acquire);

		if (!m || m->cpu->svm != cpu->svm)
			continue;
		for (unsigned k = 0; k < NR_CTX; k++) {
			struct ctx *c = &m->ctx[k];

			if (atomic_load_explicit(&c->deps[h >> 6], memory_order_relaxed) & bit)
				atomic_store(&c->stale, true);
		}
	}
	/*
	 * Every context that read the page is stale now and is flushed before
	 * it is used after its next invalidation point; a context that walks
	 * the page again flags it again first (ctx_depend). Until then its
	 * writes need not be reported: unflagged, the page's writes go the
	 * fast way again (pages freed from page tables are reused for data).
	 */
	if ((gpa >> 12) < cpu->svm->nr_pages)
		__atomic_fetch_and(&cpu->svm->page_flags[gpa >> 12], (uint8_t)~SW_PAGE_PT,
				   __ATOMIC_SEQ_CST);
}

bool sw_mmu_pdptes_valid(struct sw_cpu *cpu, uint64_t cr3)
{
	const uint64_t *p = gpa_to_hva(cpu->vm, cr3 & 0xffffffe0u, 32);

	if (!p)
		return true;	/* outside RAM: reads as not present */
	for (unsigned i = 0; i < 4; i++) {
		uint64_t e = __atomic_load_n(&p[i], __ATOMIC_RELAXED);

		if ((e & PTE_P) && (e & (0x1e6ull | cpu->mmu->rsvd_phys | PTE_NX)))
			return false;
	}
	return true;
}

void sw_mmu_stats(struct sw_cpu *cpu, uint64_t out[4])
{
	struct sw_mmu *m = cpu->mmu;

	out[0] = m->nr_walks;
	out[1] = m->nr_flushes;
	out[2] = m->nr_switches;
	out[3] = m->nr_pt_writes;
}

/* ---- setup ---- */

int sw_mmu_init(struct sw_cpu *cpu)
{
	struct sw_mmu *m = calloc(1, sizeof(*m));
	unsigned maxphy = 36, slot;

	if (!m)
		return -ENOMEM;
	m->cpu = cpu;
	if (sw_cpuid_reg(0x80000000u, 0, 0) >= 0x80000008u)
		maxphy = sw_cpuid_reg(0x80000008u, 0, 0) & 0xff;
	if (maxphy < 32 || maxphy > 52)
		maxphy = 36;
	m->rsvd_phys = ((1ull << 52) - 1) & ~((1ull << maxphy) - 1);
	m->pdpe1gb = sw_cpuid_reg(0x80000001u, 0, 3) & (1u << 26);
	for (slot = 0; slot < MAX_MMUS; slot++) {
		struct sw_mmu *expect = NULL;

		if (atomic_compare_exchange_strong(&all_mmus[slot], &expect, m))
			break;
	}
	if (slot == MAX_MMUS) {
		free(m);
		return -ENOSPC;
	}
	for (unsigned end = atomic_load(&all_mmus_end); end < slot + 1;)
		if (atomic_compare_exchange_weak(&all_mmus_end, &end, slot + 1))
			break;
	cpu->mmu = m;
	resync(m);
	return 0;
}

void sw_mmu_destroy(struct sw_cpu *cpu)
{
	struct sw_mmu *m = cpu->mmu;

	if (!m)
		return;
	for (unsigned i = 0; i < MAX_MMUS; i++) {
		struct sw_mmu *expect = m;

		if (atomic_compare_exchange_strong(&all_mmus[i], &expect, NULL))
			break;
	}
	free(m);
	cpu->mmu = NULL;
}
