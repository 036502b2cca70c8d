// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest memory as the CPU sees it: segmentation (limits, types, canonical
 * addresses), then paging (mmu.c), then RAM through the host pointer or
 * the MMIO bus. Accesses that cross a page are split, and both pages are
 * translated before any byte moves, so a fault leaves memory untouched.
 *
 * Writes to pages flagged in svm->page_flags (decoded code, guest page
 * tables) are reported through sw_page_written() after the bytes landed.
 */
#include <pthread.h>
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/debug.h"
#include "accel/sw/translator/tb.h"
#include "machine/bus.h"
#include "machine/memory.h"

/* ---- segmentation ---- */

static _Noreturn void seg_fault(struct sw_cpu *cpu, enum x86_sreg seg)
{
	sw_raise_err(cpu, seg == S_SS ? X86_SS : X86_GP, 0);
}

static bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

uint64_t sw_seg_linear(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size,
		       unsigned acc)
{
	const struct x86_seg *s = &cpu->st.seg[seg];
	uint64_t last = off + (size ? size - 1 : 0);
	uint32_t type;

	if (sw_64bit(cpu)) {
		uint64_t la = off;

		if (seg == S_FS || seg == S_GS)
			la += s->base;
		if (!canonical(la) || !canonical(la + (size ? size - 1 : 0)))
			seg_fault(cpu, seg);
		return la;
	}

	if (sw_protected(cpu) && !sw_vm86(cpu)) {
		/* A null selector loaded in protected mode: unusable for any access. */
		if (s->attr & SEG_ATTR_UNUSABLE)
			seg_fault(cpu, seg);
		type = SEG_ATTR_TYPE(s->attr);
		if (!(acc & SW_ACC_EXEC)) {
			if (type & 8) {
				/* Code: never writable, readable only with R. */
				if ((acc & SW_ACC_WRITE) || !(type & 2))
					seg_fault(cpu, seg);
			} else if ((acc & SW_ACC_WRITE) && !(type & 2)) {
				seg_fault(cpu, seg);
			}
		}
		if (!(type & 8) && (type & 4)) {
			/* Expand-down data: valid offsets are (limit, top]. */
			uint64_t top = (s->attr & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;

			if (off <= s->limit || last > top)
				seg_fault(cpu, seg);
			return (s->base + off) & 0xffffffff;
		}
	}
	/* Real mode and vm86 check the (usually 64 KiB) limit too. */
	if (last > s->limit || last < off)
		seg_fault(cpu, seg);
	return (s->base + off) & 0xffffffff;
}

/* #AC: CR0.AM, EFLAGS.AC, CPL 3 and a misaligned data access. */
static inline void check_align(struct sw_cpu *cpu, uint64_t la, unsigned size, unsigned acc)
{
	if (__builtin_expect((cpu->st.rflags & X86_RFLAGS_AC) != 0, 0) &&
	    (cpu->st.cr0 & X86_CR0_AM) && !(acc & SW_ACC_SYS) && (la & (size - 1)) &&
	    (size == 2 || size == 4 || size == 8) && sw_cpl(cpu) == 3)
		sw_raise_err(cpu, X86_AC, 0);
}

/* ---- physical side ---- */

static inline uint64_t load_host(const uint8_t *p, unsigned size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64 = 0;

	switch (size) {
	case 1:
		v8 = *p;
		return v8;
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	case 4:
		memcpy(&v32, p, 4);
		return v32;
	default:
		memcpy(&v64, p, size > 8 ? 8 : size);
		return v64;
	}
}

static inline void store_host(uint8_t *p, uint64_t v, unsigned size)
{
	switch (size) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2: {
		uint16_t v16 = (uint16_t)v;

		memcpy(p, &v16, 2);
		break;
	}
	case 4: {
		uint32_t v32 = (uint32_t)v;

		memcpy(p, &v32, 4);
		break;
	}
	default:
		memcpy(p, &v, size > 8 ? 8 : size);
		break;
	}
}

/* MMIO or unbacked: the bus takes sizes 1/2/4/8; anything else goes bytewise. */
static uint64_t bus_load(struct sw_cpu *cpu, uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	if (size == 1 || size == 2 || size == 4 || size == 8)
		return mmio_read(cpu->vm, gpa, size);
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (mmio_read(cpu->vm, gpa + i, 1) & 0xff) << (8 * i);
	return v;
}

static void bus_store(struct sw_cpu *cpu, uint64_t gpa, uint64_t v, unsigned size)
{
	if (size == 1 || size == 2 || size == 4 || size == 8) {
		mmio_write(cpu->vm, gpa, v, size);
		return;
	}
	for (unsigned i = 0; i < size && i < 8; i++)
		mmio_write(cpu->vm, gpa + i, (v >> (8 * i)) & 0xff, 1);
}

static inline void note_write(struct sw_cpu *cpu, uint64_t gpa, unsigned len)
{
	struct sw_vm *svm = cpu->svm;
	uint64_t pfn = gpa >> 12;

	if (pfn < svm->nr_pages && __builtin_expect(svm->page_flags[pfn] != 0, 0))
		sw_page_written(cpu, gpa, len);
}

void sw_page_written(struct sw_cpu *cpu, uint64_t gpa, unsigned len)
{
	struct sw_vm *svm = cpu->svm;
	uint64_t pfn = gpa >> 12;
	uint8_t f;

	if (pfn >= svm->nr_pages)
		return;
	f = svm->page_flags[pfn];
	if (f & SW_PAGE_CODE)
		sw_decode_invalidate_range(svm, gpa, len);
	if (f & SW_PAGE_TB)
		tb_invalidate_range(svm, gpa, len);
	if (f & SW_PAGE_PT)
		sw_mmu_pt_written(cpu, gpa);
}

uint64_t sw_phys_read(struct sw_cpu *cpu, uint64_t gpa, unsigned size)
{
	uint8_t *p = gpa_to_hva(cpu->vm, gpa, size);

	if (p)
		return load_host(p, size);
	return bus_load(cpu, gpa, size);
}

void sw_phys_write(struct sw_cpu *cpu, uint64_t gpa, uint64_t val, unsigned size)
{
	uint8_t *p = gpa_to_hva(cpu->vm, gpa, size);

	if (p)
		store_host(p, val, size);
	else
		bus_store(cpu, gpa, val, size);
	note_write(cpu, gpa, size);
}

/* ---- memory references ---- */

void sw_mem_prepare_lin(struct sw_cpu *cpu, uint64_t la, unsigned size, unsigned acc,
			struct sw_memref *m)
{
	unsigned in_page = 4096 - (unsigned)(la & 0xfff);

	if (__builtin_expect(cpu->dbg.watch, 0))
		sw_debug_access(cpu, la, size, acc);
	if (size > 8)
		size = 8;
	m->la = la;
	m->size = size;
	m->host[0] = sw_mmu_translate(cpu, la, acc, &m->gpa[0]);
	if (size <= in_page) {
		m->first = size;
		m->host[1] = NULL;
		m->gpa[1] = 0;
		return;
	}
	m->first = in_page;
	/* Outside 64-bit mode linear addresses wrap at 4 GiB. */
	la += in_page;
	if (!sw_64bit(cpu))
		la &= 0xffffffff;
	m->host[1] = sw_mmu_translate(cpu, la, acc, &m->gpa[1]);
}

void sw_mem_prepare(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size,
		    unsigned acc, struct sw_memref *m)
{
	uint64_t la = sw_seg_linear(cpu, seg, off, size, acc);

	check_align(cpu, la, size, acc);
	sw_mem_prepare_lin(cpu, la, size, acc, m);
}

uint64_t sw_mem_load(struct sw_cpu *cpu, const struct sw_memref *m)
{
	uint64_t lo, hi;
	unsigned rest = m->size - m->first;

	lo = m->host[0] ? load_host(m->host[0], m->first) : bus_load(cpu, m->gpa[0], m->first);
	if (!rest)
		return lo;
	hi = m->host[1] ? load_host(m->host[1], rest) : bus_load(cpu, m->gpa[1], rest);
	return lo | (hi << (8 * m->first));
}

void sw_mem_store(struct sw_cpu *cpu, const struct sw_memref *m, uint64_t val)
{
	unsigned rest = m->size - m->first;

	if (m->host[0])
		store_host(m->host[0], val, m->first);
	else
		bus_store(cpu, m->gpa[0], val, m->first);
	note_write(cpu, m->gpa[0], m->first);
	if (!rest)
		return;
	val >>= 8 * m->first;
	if (m->host[1])
		store_host(m->host[1], val, rest);
	else
		bus_store(cpu, m->gpa[1], val, rest);
	note_write(cpu, m->gpa[1], rest);
}

/* Locked accesses host atomics cannot do (see sw_mem_cmpxchg()). */
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

bool sw_mem_cmpxchg(struct sw_cpu *cpu, const struct sw_memref *m, uint64_t *expect,
		    uint64_t val)
{
	uint64_t cur;
	bool ok = false;

	if (m->host[0] && m->first == m->size) {
		uint8_t *p = m->host[0];

		/* Host atomics need natural alignment for 2/4/8 bytes; else fall back. */
		switch (m->size) {
		case 1: {
			uint8_t e = (uint8_t)*expect;

			ok = __atomic_compare_exchange_n(p, &e, (uint8_t)val, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			*expect = e;
			goto done;
		}
		case 2:
			if ((uintptr_t)p & 1)
				break;
			{
				uint16_t e = (uint16_t)*expect;

				ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)val,
								 false, __ATOMIC_SEQ_CST,
								 __ATOMIC_SEQ_CST);
				*expect = e;
			}
			goto done;
		case 4:
			if ((uintptr_t)p & 3)
				break;
			{
				uint32_t e = (uint32_t)*expect;

				ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)val,
								 false, __ATOMIC_SEQ_CST,
								 __ATOMIC_SEQ_CST);
				*expect = e;
			}
			goto done;
		case 8:
			if ((uintptr_t)p & 7)
				break;
			ok = __atomic_compare_exchange_n((uint64_t *)p, expect, val, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			goto done;
		default:
			break;
		}
	}
	/*
	 * Split across pages or misaligned (it may cross a cache line): the
	 * bus lock a real CPU takes, one for the VM's software CPUs. It makes
	 * such locked operations atomic against each other; against aligned
	 * atomics on overlapping bytes they are not (no guest relies on mixing
	 * the two). MMIO is serialised by the device lock and read once.
	 */
	pthread_mutex_lock(&bus_lock);
	cur = sw_mem_load(cpu, m);
	if (cur != (*expect & sw_mask(m->size))) {
		pthread_mutex_unlock(&bus_lock);
		*expect = cur;
		return false;
	}
	sw_mem_store(cpu, m, val);
	pthread_mutex_unlock(&bus_lock);
	return true;
done:
	if (ok) {
		note_write(cpu, m->gpa[0], m->size);
	}
	return ok;
}

/* ---- linear accesses ---- */

uint64_t sw_read_lin(struct sw_cpu *cpu, uint64_t la, unsigned size, unsigned acc)
{
	struct sw_memref m;

	if (__builtin_expect(cpu->dbg.watch, 0))
		sw_debug_access(cpu, la, size, acc);
	if (__builtin_expect((la & 0xfff) + size <= 4096, 1)) {
		uint64_t gpa;
		uint8_t *p = sw_mmu_translate(cpu, la, acc, &gpa);

		return p ? load_host(p, size) : bus_load(cpu, gpa, size);
	}
	sw_mem_prepare_lin(cpu, la, size, acc, &m);
	return sw_mem_load(cpu, &m);
}

void sw_write_lin(struct sw_cpu *cpu, uint64_t la, uint64_t val, unsigned size, unsigned acc)
{
	struct sw_memref m;

	acc |= SW_ACC_WRITE;
	if (__builtin_expect(cpu->dbg.watch, 0))
		sw_debug_access(cpu, la, size, acc);
	if (__builtin_expect((la & 0xfff) + size <= 4096, 1)) {
		uint64_t gpa;
		uint8_t *p = sw_mmu_translate(cpu, la, acc, &gpa);

		if (p)
			store_host(p, val, size);
		else
			bus_store(cpu, gpa, val, size);
		note_write(cpu, gpa, size);
		return;
	}
	sw_mem_prepare_lin(cpu, la, size, acc, &m);
	sw_mem_store(cpu, &m, val);
}

uint64_t sw_read(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size)
{
	uint64_t la = sw_seg_linear(cpu, seg, off, size, SW_ACC_READ);

	check_align(cpu, la, size, 0);
	return sw_read_lin(cpu, la, size, SW_ACC_READ);
}

void sw_write(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, uint64_t val, unsigned size)
{
	uint64_t la = sw_seg_linear(cpu, seg, off, size, SW_ACC_WRITE);

	check_align(cpu, la, size, 0);
	sw_write_lin(cpu, la, val, size, SW_ACC_WRITE);
}

/* Next page's linear address, wrapping at 4 GiB outside 64-bit mode. */
static uint64_t lin_add(struct sw_cpu *cpu, uint64_t la, uint64_t n)
{
	la += n;
	return sw_64bit(cpu) ? la : la & 0xffffffff;
}

/* Translate every page of [la, la + len) for @acc: all faults happen here. */
static void probe_range(struct sw_cpu *cpu, uint64_t la, unsigned len, unsigned acc)
{
	uint64_t gpa;

	if (__builtin_expect(cpu->dbg.watch, 0))
		sw_debug_access(cpu, la, len, acc);
	while (len) {
		unsigned n = 4096 - (unsigned)(la & 0xfff);

		if (n > len)
			n = len;
		sw_mmu_translate(cpu, la, acc, &gpa);
		la = lin_add(cpu, la, n);
		len -= n;
	}
}

void sw_read_lin_buf(struct sw_cpu *cpu, uint64_t la, void *buf, unsigned len, unsigned acc)
{
	uint8_t *dst = buf;

	probe_range(cpu, la, len, acc);
	while (len) {
		unsigned n = 4096 - (unsigned)(la & 0xfff);
		uint64_t gpa;
		uint8_t *p;

		if (n > len)
			n = len;
		p = sw_mmu_translate(cpu, la, acc, &gpa);
		if (p) {
			memcpy(dst, p, n);
		} else {
			for (unsigned i = 0; i < n; i++)
				dst[i] = (uint8_t)mmio_read(cpu->vm, gpa + i, 1);
		}
		dst += n;
		len -= n;
		la = lin_add(cpu, la, n);
	}
}

void sw_write_lin_buf(struct sw_cpu *cpu, uint64_t la, const void *buf, unsigned len,
		      unsigned acc)
{
	const uint8_t *src = buf;

	acc |= SW_ACC_WRITE;
	probe_range(cpu, la, len, acc);
	while (len) {
		unsigned n = 4096 - (unsigned)(la & 0xfff);
		uint64_t gpa;
		uint8_t *p;

		if (n > len)
			n = len;
		p = sw_mmu_translate(cpu, la, acc, &gpa);
		if (p) {
			memcpy(p, src, n);
		} else {
			for (unsigned i = 0; i < n; i++)
				mmio_write(cpu->vm, gpa + i, src[i], 1);
		}
		note_write(cpu, gpa, n);
		src += n;
		len -= n;
		la = lin_add(cpu, la, n);
	}
}

void sw_probe_write_lin(struct sw_cpu *cpu, uint64_t la, unsigned len, unsigned acc)
{
	probe_range(cpu, la, len, acc | SW_ACC_WRITE);
}
