// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Instruction fetch and decode, with a decode cache keyed by the
 * guest-physical address of the first byte and the code/stack size.
 *
 * Fetch goes through the MMU with SW_ACC_EXEC, one page at a time: the
 * bytes of the first page are decoded first and the next page is
 * translated (and may #PF) only when the decoder asks for more bytes.
 * Instructions that cross a page, or come from MMIO, are not cached.
 *
 * Self-modifying code: every page holding cached instructions is marked
 * SW_PAGE_CODE; mem.c calls sw_page_written() for writes to marked pages,
 * which drops the entries overlapping the written bytes (a bitmap of the
 * bytes covered per page keeps writes to data next to code cheap).
 *
 * Entry lifetime: a dropped entry goes on a free list and is reused only
 * by a later decode, so the instruction executing when its own bytes are
 * overwritten stays readable until its handler returns. With several
 * vCPUs (cfg.smp > 1) the tables are locked; another vCPU can still reuse
 * an entry that a vCPU is executing only if the guest modifies code that
 * another CPU runs without the synchronisation x86 requires for
 * cross-modifying code; operand accessors check every register index, so
 * that is wrong guest behaviour, never host memory unsafety.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/translator/tb.h"

/*
 * One bucket per possible entry: every executed instruction looks itself
 * up here, and each extra link walked is a cache miss in a table of
 * entries (384 bytes each) far bigger than the host's caches.
 */
#define DC_HASH_BITS	20
#define DC_PAGE_HASH_BITS 10
#define DC_MAX_ENTRIES	(1u << 20)	/* at 384 bytes each: up to 384 MiB, allocated as used */
#define DC_CHUNK	256

struct dc_page;

/*
 * Cache-line aligned, with what the lookup compares (@key, @hnext) in the
 * same line as the head of @in that the run loop reads next: a hit costs
 * one line of the entry.
 */
struct dc_entry {
	uint64_t key;			/* gpa << 4 | mode */
	struct dc_entry *hnext;		/* hash chain, or free list */
	struct sw_insn in;		/* &in is what callers get */
	struct dc_entry *pnext;		/* entries of the same page */
	struct dc_page *page;
	uint8_t bytes[16];
} __attribute__((aligned(64)));

struct dc_page {
	uint64_t pfn;
	struct dc_page *hnext;
	struct dc_entry *entries;
	uint64_t covered[4096 / 64];	/* bytes covered by cached instructions */
};

struct sw_decode_cache {
	struct dc_entry *hash[1u << DC_HASH_BITS];
	struct dc_page *pages[1u << DC_PAGE_HASH_BITS];
	struct dc_entry *free;
	void **chunks;			/* allocated entry blocks, for destroy */
	unsigned nr_chunks, cap_chunks;
	unsigned nr_alloc;		/* entries carved from chunks */
	bool locked;			/* take @lock (several vCPUs) */
	pthread_mutex_t lock;
	struct sw_decode_stats stats;
};

/* Instructions that are not cached live here until the next decode on this thread. */
static __thread struct dc_entry scratch;

/* What Zydis decodes into, before sw_insn_compact() keeps what handlers read. */
static __thread struct {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
} full;

/*
 * Neighbouring instructions go to neighbouring buckets (the low bits of the
 * address are kept), so a run of straight-line code reads one line of the
 * table for several instructions; the bits above the table's reach and the
 * mode move the whole window so that aliases spread out.
 */
static inline unsigned hash_key(uint64_t key)
{
	uint64_t gpa = key >> 4, hi = (gpa >> DC_HASH_BITS) << 4 | (key & 15);

	return (unsigned)((gpa + hi * 0x9e3779b97f4a7c15ull) & ((1u << DC_HASH_BITS) - 1));
}

static inline unsigned hash_pfn(uint64_t pfn)
{
	pfn *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(pfn >> (64 - DC_PAGE_HASH_BITS));
}

static void dc_lock(struct sw_decode_cache *dc)
{
	if (dc->locked)
		pthread_mutex_lock(&dc->lock);
}

static void dc_unlock(struct sw_decode_cache *dc)
{
	if (dc->locked)
		pthread_mutex_unlock(&dc->lock);
}

int sw_decode_init(struct sw_vm *svm)
{
	struct sw_decode_cache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return -ENOMEM;
	dc->locked = svm->vm && svm->vm->cfg.smp > 1;
	pthread_mutex_init(&dc->lock, NULL);
	svm->dc = dc;
	return 0;
}

void sw_decode_destroy(struct sw_vm *svm)
{
	struct sw_decode_cache *dc = svm->dc;

	if (!dc)
		return;
	for (unsigned i = 0; i < (1u << DC_PAGE_HASH_BITS); i++) {
		struct dc_page *p = dc->pages[i];

		while (p) {
			struct dc_page *n = p->hnext;

			free(p);
			p = n;
		}
	}
	for (unsigned i = 0; i < dc->nr_chunks; i++)
		free(dc->chunks[i]);
	free(dc->chunks);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
	svm->dc = NULL;
}

const uint8_t *sw_insn_bytes(const struct sw_insn *in)
{
	/* Every sw_insn handed out is the @in of a dc_entry. */
	return ((const struct dc_entry *)((const char *)in -
					  offsetof(struct dc_entry, in)))->bytes;
}

void sw_decode_get_stats(const struct sw_vm *svm, struct sw_decode_stats *s)
{
	if (svm->dc)
		*s = svm->dc->stats;
	else
		memset(s, 0, sizeof(*s));
}

/* ---- pages ---- */

static struct dc_page *page_find(struct sw_decode_cache *dc, uint64_t pfn)
{
	struct dc_page *p;

	for (p = dc->pages[hash_pfn(pfn)]; p; p = p->hnext)
		if (p->pfn == pfn)
			return p;
	return NULL;
}

static void page_unlink_free(struct sw_vm *svm, struct dc_page *page)
{
	struct sw_decode_cache *dc = svm->dc;
	struct dc_page **pp = &dc->pages[hash_pfn(page->pfn)];

	while (*pp && *pp != page)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = page->hnext;
	if (page->pfn < svm->nr_pages)
		__atomic_fetch_and(&svm->page_flags[page->pfn], (uint8_t)~SW_PAGE_CODE,
				   __ATOMIC_SEQ_CST);	/* other bits are other threads' */
	free(page);
}

static void hash_unlink(struct sw_decode_cache *dc, struct dc_entry *e)
{
	struct dc_entry **pp = &dc->hash[hash_key(e->key)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

static void mark_covered(struct dc_page *page, unsigned off, unsigned len)
{
	for (unsigned b = off; b < off + len && b < 4096; b++)
		page->covered[b / 64] |= 1ull << (b % 64);
}

static bool range_covered(const struct dc_page *page, unsigned off, unsigned len)
{
	for (unsigned b = off; b < off + len && b < 4096; b++)
		if (page->covered[b / 64] & (1ull << (b % 64)))
			return true;
	return false;
}

/* Drop the entries of @page overlapping [off, off + len); free the page if none is left. */
static void page_drop(struct sw_vm *svm, struct dc_page *page, unsigned off, unsigned len)
{
	struct sw_decode_cache *dc = svm->dc;
	struct dc_entry **pp = &page->entries;

	memset(page->covered, 0, sizeof(page->covered));
	while (*pp) {
		struct dc_entry *e = *pp;
		unsigned eoff = (unsigned)((e->key >> 4) & 0xfff);

		if (eoff < off + len && off < eoff + e->in.len) {
			*pp = e->pnext;
			hash_unlink(dc, e);
			e->hnext = dc->free;
			dc->free = e;
			dc->stats.invalidations++;
			continue;
		}
		mark_covered(page, eoff, e->in.len);
		pp = &e->pnext;
	}
	if (!page->entries)
		page_unlink_free(svm, page);
}

void sw_decode_invalidate_range(struct sw_vm *svm, uint64_t gpa, unsigned len)
{
	struct sw_decode_cache *dc = svm->dc;
	unsigned off = gpa & 0xfff;
	struct dc_page *page;

	if (!dc)
		return;
	if (len > 4096 - off)
		len = 4096 - off;
	dc_lock(dc);
	page = page_find(dc, gpa >> 12);
	if (page && range_covered(page, off, len))
		page_drop(svm, page, off, len);
	dc_unlock(dc);
}

void sw_decode_invalidate_page(struct sw_vm *svm, uint64_t gpa)
{
	struct sw_decode_cache *dc = svm->dc;
	struct dc_page *page;

	if (!dc)
		return;
	dc_lock(dc);
	page = page_find(dc, gpa >> 12);
	if (page)
		page_drop(svm, page, 0, 4096);
	dc_unlock(dc);
}

/* Drop everything (the entry pool is exhausted). */
static void flush_all(struct sw_vm *svm)
{
	struct sw_decode_cache *dc = svm->dc;

	for (unsigned i = 0; i < (1u << DC_PAGE_HASH_BITS); i++) {
		while (dc->pages[i])
			page_drop(svm, dc->pages[i], 0, 4096);
	}
	dc->stats.flushes++;
}

void sw_decode_flush(struct sw_vm *svm)
{
	if (!svm->dc)
		return;
	dc_lock(svm->dc);
	flush_all(svm);
	dc_unlock(svm->dc);
}

static struct dc_entry *entry_alloc(struct sw_vm *svm)
{
	struct sw_decode_cache *dc = svm->dc;
	struct dc_entry *e;

	if (!dc->free && dc->nr_alloc >= DC_MAX_ENTRIES)
		flush_all(svm);
	if (!dc->free) {
		struct dc_entry *chunk;

		if (dc->nr_chunks == dc->cap_chunks) {
			unsigned cap = dc->cap_chunks ? dc->cap_chunks * 2 : 16;
			void **c = realloc(dc->chunks, cap * sizeof(*c));

			if (!c)
				return NULL;
			dc->chunks = c;
			dc->cap_chunks = cap;
		}
		chunk = aligned_alloc(_Alignof(struct dc_entry), DC_CHUNK * sizeof(*chunk));
		if (!chunk)
			return NULL;
		memset(chunk, 0, DC_CHUNK * sizeof(*chunk));
		dc->chunks[dc->nr_chunks++] = chunk;
		dc->nr_alloc += DC_CHUNK;
		for (unsigned i = 0; i < DC_CHUNK; i++) {
			chunk[i].hnext = dc->free;
			dc->free = &chunk[i];
		}
	}
	e = dc->free;
	dc->free = e->hnext;
	return e;
}

/* Writes to the page now go through mem.c, which tells us: none may bypass it inline. */
static void mark_code(struct sw_vm *svm, uint64_t pfn)
{
	bool was = __atomic_fetch_or(&svm->page_flags[pfn], SW_PAGE_CODE, __ATOMIC_SEQ_CST) != 0;

	if (!was)
		tb_page_flagged(svm, pfn);
}

/* Insert a decoded copy of @src (already in scratch) into the cache; NULL if out of memory. */
static struct dc_entry *cache_insert(struct sw_vm *svm, const struct dc_entry *src)
{
	struct sw_decode_cache *dc = svm->dc;
	uint64_t gpa = src->key >> 4, pfn = gpa >> 12;
	struct dc_page *page = page_find(dc, pfn);
	struct dc_entry *e;
	unsigned h;

	if (!page) {
		page = calloc(1, sizeof(*page));
		if (!page)
			return NULL;
		page->pfn = pfn;
		h = hash_pfn(pfn);
		page->hnext = dc->pages[h];
		dc->pages[h] = page;
		mark_code(svm, pfn);
	}
	e = entry_alloc(svm);
	if (!e)
		return NULL;
	/* A flush in entry_alloc may have freed @page. */
	if (!page_find(dc, pfn)) {
		page = calloc(1, sizeof(*page));
		if (!page) {
			e->hnext = dc->free;
			dc->free = e;
			return NULL;
		}
		page->pfn = pfn;
		h = hash_pfn(pfn);
		page->hnext = dc->pages[h];
		dc->pages[h] = page;
		mark_code(svm, pfn);
	}
	*e = *src;
	e->page = page;
	e->pnext = page->entries;
	page->entries = e;
	mark_covered(page, gpa & 0xfff, e->in.len);
	h = hash_key(e->key);
	e->hnext = dc->hash[h];
	dc->hash[h] = e;
	return e;
}

static struct dc_entry *cache_lookup(struct sw_decode_cache *dc, uint64_t key)
{
	struct dc_entry **head = &dc->hash[hash_key(key)], **pp, *e;

	for (pp = head; (e = *pp); pp = &e->hnext) {
		if (e->key != key)
			continue;
		/* Move to the front: the next lookup of a hot instruction walks nothing. */
		if (pp != head) {
			*pp = e->hnext;
			e->hnext = *head;
			*head = e;
		}
		return e;
	}
	return NULL;
}

/* ---- fetch ---- */

/* Copy @n instruction bytes of one page: RAM through the host pointer, else the bus. */
static void fetch_bytes(struct sw_cpu *cpu, uint8_t *dst, const uint8_t *host, uint64_t gpa,
			unsigned n)
{
	if (host) {
		memcpy(dst, host, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		dst[i] = (uint8_t)sw_phys_read(cpu, gpa + i, 1);
}

static ZyanStatus decode_bytes(struct sw_cpu *cpu, unsigned bits, unsigned sbits,
			       const uint8_t *bytes, unsigned n, ZydisDecodedInstruction *zi,
			       ZydisDecodedOperand *ops)
{
	const ZydisDecoder *base = bits == 64 ? &cpu->dec64 : bits == 32 ? &cpu->dec32 :
				   &cpu->dec16;
	ZydisDecoder d;

	if (sbits != bits && bits != 64) {
		/* e.g. 16-bit code on a 32-bit stack: Zydis sizes stack operands by this. */
		d = *base;
		d.stack_width = sbits == 32 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;
		base = &d;
	}
	return ZydisDecoderDecodeFull(base, bytes, n, zi, ops);
}

static ZyanStatus run_decoder(struct sw_cpu *cpu, unsigned bits, unsigned sbits,
			      struct dc_entry *e, unsigned n)
{
	return decode_bytes(cpu, bits, sbits, e->bytes, n, &full.zi, full.op);
}

/* The narrow fields of struct sw_zi / sw_op must hold every value Zydis produces. */
_Static_assert(ZYDIS_MNEMONIC_MAX_VALUE <= UINT16_MAX, "mnemonic");
_Static_assert(ZYDIS_REGISTER_MAX_VALUE <= UINT16_MAX, "register");
_Static_assert(ZYDIS_CATEGORY_MAX_VALUE <= UINT8_MAX, "category");
_Static_assert(ZYDIS_ISA_EXT_MAX_VALUE <= UINT8_MAX, "isa_ext");
_Static_assert(ZYDIS_BRANCH_TYPE_MAX_VALUE <= UINT8_MAX, "branch_type");
_Static_assert(ZYDIS_OPERAND_TYPE_MAX_VALUE <= UINT8_MAX, "operand type");
_Static_assert(ZYDIS_MEMOP_TYPE_MAX_VALUE <= UINT16_MAX, "memory operand type");
_Static_assert(sizeof(struct sw_op) == 24, "sw_op grew");
_Static_assert(sizeof(struct dc_entry) == 384, "dc_entry grew: lookups miss more");

/* Copy what the handlers read from the decoder's output into @in. */
static void insn_compact(struct sw_insn *in, const ZydisDecodedInstruction *zi,
			 const ZydisDecodedOperand *ops)
{
	in->zi.mnemonic = (uint16_t)zi->mnemonic;
	in->zi.length = zi->length;
	in->zi.opcode = zi->opcode;
	in->zi.operand_width = zi->operand_width;
	in->zi.address_width = zi->address_width;
	in->zi.operand_count = zi->operand_count;
	in->zi.operand_count_visible = zi->operand_count_visible;
	in->zi.raw.modrm.mod = zi->raw.modrm.mod;
	in->zi.raw.modrm.reg = zi->raw.modrm.reg;
	in->zi.raw.modrm.rm = zi->raw.modrm.rm;
	in->zi.meta.category = (uint8_t)zi->meta.category;
	in->zi.meta.isa_ext = (uint8_t)zi->meta.isa_ext;
	in->zi.meta.branch_type = (uint8_t)zi->meta.branch_type;
	in->zi.encoding = (uint8_t)zi->encoding;
	in->zi.vector_length = (uint8_t)(zi->avx.vector_length / 8);
	in->zi.attributes = zi->attributes;
	in->zi.cpu_flags = zi->cpu_flags;

	/* Every slot, not just operand_count: the unused ones end up zero as in @full. */
	for (unsigned i = 0; i < ZYDIS_MAX_OPERAND_COUNT; i++) {
		const ZydisDecodedOperand *o = &ops[i];
		struct sw_op *d = &in->op[i];

		memset(d, 0, sizeof(*d));
		d->type = (uint8_t)o->type;
		d->actions = o->actions;
		d->size = o->size;
		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			d->reg.value = (uint16_t)o->reg.value;
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			d->mem.type = (uint16_t)o->mem.type;
			d->mem.scale = o->mem.scale;
			d->mem.segment = (uint16_t)o->mem.segment;
			d->mem.base = (uint16_t)o->mem.base;
			d->mem.index = (uint16_t)o->mem.index;
			d->mem.disp.value = o->mem.disp.value;
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			d->ptr.segment = o->ptr.segment;
			d->ptr.offset = o->ptr.offset;
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			d->imm.is_signed = o->imm.is_signed;
			d->imm.is_relative = o->imm.is_relative;
			d->imm.value.u = o->imm.value.u;
			break;
		default:
			break;
		}
	}
}

static void sw_insn_compact(struct sw_insn *in)
{
	insn_compact(in, &full.zi, full.op);
}

int sw_decode_at(struct sw_cpu *cpu, const uint8_t *bytes, unsigned n, unsigned bits,
		 unsigned sbits, ZydisDecodedInstruction *zi, ZydisDecodedOperand *ops,
		 struct sw_insn *in)
{
	ZydisDecodedInstruction *z = zi ? zi : &full.zi;
	ZydisDecodedOperand *o = ops ? ops : full.op;
	ZyanStatus s = decode_bytes(cpu, bits, sbits, bytes, n, z, o);

	if (s == ZYDIS_STATUS_NO_MORE_DATA)
		return -EAGAIN;
	if (!ZYAN_SUCCESS(s))
		return -EINVAL;
	insn_compact(in, z, o);
	in->len = in->zi.length;
	in->fn = sw_handlers[in->zi.mnemonic];
	return 0;
}

static bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

const struct sw_insn *sw_decode(struct sw_cpu *cpu)
{
	struct sw_vm *svm = cpu->svm;
	struct sw_decode_cache *dc = svm->dc;
	struct x86_state *st = &cpu->st;
	unsigned bits = sw_code_bits(cpu), sbits = sw_stack_bits(cpu);
	unsigned mode = (bits == 64 ? 2 : bits == 32 ? 1 : 0) * 3 +
			(sbits == 64 ? 2 : sbits == 32 ? 1 : 0);
	uint64_t rip = st->rip, la, gpa, gpa2, avail;
	unsigned in_page, n;
	struct dc_entry *e = &scratch, *c;
	uint8_t *host, *host2;
	ZyanStatus s;

	/* How many bytes the CS limit (or the canonical boundary) lets us fetch. */
	if (bits == 64) {
		la = rip;
		if (!canonical(la))
			sw_gp0(cpu);
		avail = 15;
		if (la < (1ull << 47) && (1ull << 47) - la < 15)
			avail = (1ull << 47) - la;
	} else {
		const struct x86_seg *cs = &st->seg[S_CS];

		if (rip > cs->limit)
			sw_gp0(cpu);
		avail = (uint64_t)cs->limit - rip + 1;
		if (avail > 15)
			avail = 15;
		la = (cs->base + rip) & 0xffffffff;
	}

	host = sw_mmu_translate(cpu, la, SW_ACC_EXEC, &gpa);
	if (host) {
		dc_lock(dc);
		c = cache_lookup(dc, gpa << 4 | mode);
		/* Cached entries never cross a page, so the bytes are all at @host. */
		if (c && svm->external_writers && memcmp(c->bytes, host, c->in.len)) {
			dc_unlock(dc);
			sw_decode_invalidate_range(svm, gpa, c->in.len);
			c = NULL;
			dc_lock(dc);
		}
		if (c) {
			dc->stats.hits++;
			dc_unlock(dc);
			if (c->in.len > avail)
				sw_gp0(cpu);
			return &c->in;
		}
		dc_unlock(dc);
	}

	/* Miss: decode what this page holds first. */
	in_page = 4096 - (unsigned)(la & 0xfff);
	n = in_page < avail ? in_page : (unsigned)avail;
	fetch_bytes(cpu, e->bytes, host, gpa, n);
	s = run_decoder(cpu, bits, sbits, e, n);
	if (s == ZYDIS_STATUS_NO_MORE_DATA && n == in_page && n < avail) {
		unsigned more = (unsigned)avail - n;

		/* The instruction continues on the next page: only now may it fault. */
		host2 = sw_mmu_translate(cpu, (la + n) & (bits == 64 ? ~0ull : 0xffffffffull),
					 SW_ACC_EXEC, &gpa2);
		fetch_bytes(cpu, e->bytes + n, host2, gpa2, more);
		n += more;
		s = run_decoder(cpu, bits, sbits, e, n);
		host = NULL;	/* crosses a page: not cached */
	}
	if (s == ZYDIS_STATUS_NO_MORE_DATA || s == ZYDIS_STATUS_INSTRUCTION_TOO_LONG)
		sw_gp0(cpu);	/* past the CS limit, or longer than 15 bytes */
	if (!ZYAN_SUCCESS(s))
		sw_ud(cpu);

	sw_insn_compact(&e->in);
	e->in.len = e->in.zi.length;
	e->in.fn = sw_handlers[e->in.zi.mnemonic];
	e->key = gpa << 4 | mode;
	e->page = NULL;
	if (e->in.len > avail)
		sw_gp0(cpu);

	dc_lock(dc);
	if (host && (gpa >> 12) < svm->nr_pages) {
		c = cache_insert(svm, e);
		if (c) {
			dc->stats.misses++;
			dc_unlock(dc);
			return &c->in;
		}
	}
	dc->stats.uncached++;
	dc_unlock(dc);
	return &e->in;
}
