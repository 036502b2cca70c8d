// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for the GDB stub's common parts: the page walk it reads guest
 * memory through (every paging mode, and never a table outside RAM), the
 * watchpoint match, and -gdb address parsing.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "machine/debug.h"
#include "machine/gdbstub.h"
#include "machine/memory.h"
#include "machine/vm.h"
#include "machine/x86_walk.h"

#define RAM	(16ull << 20)

static struct vm vm;

static void put64(uint64_t gpa, uint64_t v)
{
	CU_ASSERT_EQUAL_FATAL(vm_mem_write(&vm, gpa, &v, 8), 0);
}

static void put32(uint64_t gpa, uint32_t v)
{
	CU_ASSERT_EQUAL_FATAL(vm_mem_write(&vm, gpa, &v, 4), 0);
}

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	CU_ASSERT_EQUAL_FATAL(vm_mem_init(&vm, RAM), 0);
}

static struct x86_state paged(uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	struct x86_state st;

	memset(&st, 0, sizeof(st));
	st.cr0 = X86_CR0_PE | X86_CR0_PG;
	st.cr3 = cr3;
	st.cr4 = cr4;
	st.efer = efer;
	return st;
}

static void test_no_paging(void)
{
	struct x86_state st;
	uint64_t gpa, room;

	setup();
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0x123456, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x123456);
	CU_ASSERT_EQUAL(room, 0x1000 - 0x456);
	/* Outside long mode linear addresses are 32 bits. */
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0x100000010ull, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x10);
	vm_mem_exit(&vm);
}

static void test_four_level(void)
{
	struct x86_state st = paged(0x10000, X86_CR4_PAE, X86_EFER_LME | X86_EFER_LMA);
	uint64_t la = 0xffff800000201234ull, gpa, room;

	setup();
	/* PML4[256] -> PDPT 0x11000, [0] -> PD 0x12000, [1] -> PT 0x13000, [1] -> 0x345000. */
	put64(0x10000 + 256 * 8, 0x11000 | 3);
	put64(0x11000 + 0 * 8, 0x12000 | 3);
	put64(0x12000 + 1 * 8, 0x13000 | 3);
	put64(0x13000 + 1 * 8, 0x345000 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, la, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x345234);
	CU_ASSERT_EQUAL(room, 0x1000 - 0x234);
	/* A 2 MiB page at PD[2] (PAT bit 12 set: not part of the address). */
	put64(0x12000 + 2 * 8, 0x600000 | 0x1000 | 0x80 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xffff800000412345ull, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x612345);
	CU_ASSERT_EQUAL(room, 0x200000 - 0x12345);
	/* A 1 GiB page at PDPT[1]. */
	put64(0x11000 + 1 * 8, 0x40000000ull | 0x80 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xffff800040000010ull, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x40000010ull);
	/* Not present. */
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xffff800000203000ull, &gpa, &room), -EFAULT);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0x1000, &gpa, &room), -EFAULT);
	/* A table pointer outside RAM is never followed. */
	put64(0x12000 + 3 * 8, 0x7fff0000000ull | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xffff800000600000ull, &gpa, &room), -EFAULT);
	st.cr3 = RAM + 0x1000;
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, la, &gpa, &room), -EFAULT);
	vm_mem_exit(&vm);
}

static void test_pae(void)
{
	struct x86_state st = paged(0x20020, X86_CR4_PAE, 0);
	uint64_t gpa, room;

	setup();
	/* PDPTE[3] (at CR3 & ~0x1f) -> PD 0x21000, [0] -> PT 0x22000, [5] -> 0x777000. */
	put64(0x20020 + 3 * 8, 0x21000 | 1);
	put64(0x21000, 0x22000 | 3);
	put64(0x22000 + 5 * 8, 0x777000 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0005abcull, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x777abc);
	/* 2 MiB page. */
	put64(0x21000 + 8, 0x800000 | 0x80 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0212345ull, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x812345);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0x00001000, &gpa, &room), -EFAULT);
	vm_mem_exit(&vm);
}

static void test_two_level(void)
{
	struct x86_state st = paged(0x30000, 0, 0);
	uint64_t gpa, room;

	setup();
	/* PD[0x300] -> PT 0x31000, [0x12] -> 0x456000. */
	put32(0x30000 + 0x300 * 4, 0x31000 | 3);
	put32(0x31000 + 0x12 * 4, 0x456000 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0012fedu, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x456fed);
	/* A 4 MiB page counts only with CR4.PSE; PSE-36 bits 13-20 give gpa bits 32-39. */
	put32(0x30000 + 0x301 * 4, 0x800000 | 0x80 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0412345u, &gpa, &room), -EFAULT);	/* PT 0x800000: zeros */
	st.cr4 = X86_CR4_PSE;
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0412345u, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x812345);
	CU_ASSERT_EQUAL(room, 0x400000 - 0x12345);
	put32(0x30000 + 0x302 * 4, 0x800000 | (1u << 13) | 0x80 | 3);
	CU_ASSERT_EQUAL(x86_walk(&vm, &st, 0xc0800010u, &gpa, &room), 0);
	CU_ASSERT_EQUAL(gpa, 0x100800010ull);
	vm_mem_exit(&vm);
}

/* x86_walk_each(): what it lists, x86_walk() translates the same way. */
struct leaves {
	unsigned n;
	uint64_t la[8], e[8], size[8];
};

static int collect(void *opaque, uint64_t la, uint64_t e, uint64_t size)
{
	struct leaves *l = opaque;

	if (l->n < 8) {
		l->la[l->n] = la;
		l->e[l->n] = e;
		l->size[l->n] = size;
	}
	l->n++;
	return 0;
}

static void check_leaves(const struct x86_state *st, const struct leaves *l)
{
	for (unsigned i = 0; i < l->n && i < 8; i++) {
		uint64_t gpa, room;

		CU_ASSERT_EQUAL(x86_walk(&vm, st, l->la[i] + l->size[i] - 1, &gpa, &room), 0);
		CU_ASSERT_EQUAL(room, 1);
	}
}

static int count(void *opaque, uint64_t la, uint64_t e, uint64_t size)
{
	(*(long *)opaque)++;
	return 0;
}

static void test_walk_each(void)
{
	struct x86_state st = paged(0x10000, X86_CR4_PAE, X86_EFER_LME | X86_EFER_LMA);
	struct leaves l = { 0 };
	long n = 0;

	setup();
	/* The tables of test_four_level(): a 4K page, a 2M page, a 1G page, in address order. */
	put64(0x10000 + 256 * 8, 0x11000 | 3);
	put64(0x11000 + 0 * 8, 0x12000 | 3);
	put64(0x11000 + 1 * 8, 0x40000000ull | 0x80 | 3);
	put64(0x12000 + 1 * 8, 0x13000 | 3);
	put64(0x12000 + 2 * 8, 0x600000 | 0x80 | 7);
	put64(0x13000 + 1 * 8, 0x345000 | (1ull << 63) | 3);
	CU_ASSERT_EQUAL(x86_walk_each(&vm, &st, collect, &l, 100), 3);
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_EQUAL(l.la[0], 0xffff800000201000ull);	/* canonical */
	CU_ASSERT_EQUAL(l.size[0], 0x1000);
	CU_ASSERT_EQUAL(l.e[0], 0x345000 | (1ull << 63) | 3);
	CU_ASSERT_EQUAL(l.la[1], 0xffff800000400000ull);
	CU_ASSERT_EQUAL(l.size[1], 0x200000);
	CU_ASSERT_EQUAL(l.la[2], 0xffff800040000000ull);
	CU_ASSERT_EQUAL(l.size[2], 0x40000000ull);
	check_leaves(&st, &l);
	/* A table that maps itself at every level: 512^4 leaves; the walk stops at the cap. */
	for (unsigned i = 0; i < 512; i++)
		put64(0x50000 + i * 8, 0x50000 | 3);
	st.cr3 = 0x50000;
	CU_ASSERT_EQUAL(x86_walk_each(&vm, &st, count, &n, 5000), 5000);
	CU_ASSERT_EQUAL(n, 5000);
	/* PAE and 32-bit tables. */
	st = paged(0x20020, X86_CR4_PAE, 0);
	put64(0x20020 + 3 * 8, 0x21000 | 1);
	put64(0x21000, 0x22000 | 3);
	put64(0x21000 + 8, 0x800000 | 0x80 | 3);
	put64(0x22000 + 5 * 8, 0x777000 | 3);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(x86_walk_each(&vm, &st, collect, &l, 100), 2);
	CU_ASSERT_EQUAL(l.la[0], 0xc0005000ull);
	CU_ASSERT_EQUAL(l.la[1], 0xc0200000ull);
	CU_ASSERT_EQUAL(l.size[1], 0x200000);
	check_leaves(&st, &l);
	st = paged(0x30000, X86_CR4_PSE, 0);
	put32(0x30000 + 0x300 * 4, 0x31000 | 3);
	put32(0x31000 + 0x12 * 4, 0x456000 | 3);
	put32(0x30000 + 0x301 * 4, 0x800000 | 0x80 | 3);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(x86_walk_each(&vm, &st, collect, &l, 100), 2);
	CU_ASSERT_EQUAL(l.la[0], 0xc0012000u);
	CU_ASSERT_EQUAL(l.la[1], 0xc0400000u);
	CU_ASSERT_EQUAL(l.size[1], 0x400000);
	check_leaves(&st, &l);
	/* Paging off: nothing to list. */
	st.cr0 = X86_CR0_PE;
	CU_ASSERT_EQUAL(x86_walk_each(&vm, &st, count, &n, 100), -ENOENT);
	vm_mem_exit(&vm);
}

static void test_watch_match(void)
{
	struct vcpu_hw_bp w = { .addr = 0x1000, .len = 4, .type = DEBUG_HW_WRITE };

	CU_ASSERT_TRUE(vcpu_watch_matches(&w, 0x1003, 1, true));
	CU_ASSERT_TRUE(vcpu_watch_matches(&w, 0xffc, 8, true));	/* overlaps the start */
	CU_ASSERT_FALSE(vcpu_watch_matches(&w, 0xffc, 4, true));	/* ends just before */
	CU_ASSERT_FALSE(vcpu_watch_matches(&w, 0x1004, 4, true));
	CU_ASSERT_FALSE(vcpu_watch_matches(&w, 0x1000, 4, false));	/* a read */
	w.type = DEBUG_HW_READ;
	CU_ASSERT_TRUE(vcpu_watch_matches(&w, 0x1000, 4, false));
	CU_ASSERT_FALSE(vcpu_watch_matches(&w, 0x1000, 4, true));
	w.type = DEBUG_HW_ACCESS;
	CU_ASSERT_TRUE(vcpu_watch_matches(&w, 0x1002, 2, false));
	CU_ASSERT_TRUE(vcpu_watch_matches(&w, 0x1002, 2, true));
	w.type = DEBUG_HW_EXEC;
	CU_ASSERT_FALSE(vcpu_watch_matches(&w, 0x1000, 1, false));
}

static void test_spec(void)
{
	char err[256];
	static const char *const good[] = { "tcp::1234", "tcp:127.0.0.1:5555", "tcp:[::1]:9",
					     "unix:/tmp/g.sock", "unix:/tmp/g.sock,server",
					     "tcp::1,arch=i386", "tcp::1,arch=x86-64,server", NULL };
	static const char *const bad[] = { "", "tcp:1234", "tcp::", "tcp::0", "tcp::65536",
					   "tcp::12a", "unix:", "udp::1", "tcp::1,arch=arm",
					   "tcp::1,frob", NULL };

	for (const char *const *s = good; *s; s++)
		CU_ASSERT_EQUAL(gdb_parse_spec(*s, err, sizeof(err)), 0);
	for (const char *const *s = bad; *s; s++) {
		err[0] = 0;
		CU_ASSERT_EQUAL(gdb_parse_spec(*s, err, sizeof(err)), -EINVAL);
		CU_ASSERT_EQUAL(strncmp(err, "-gdb: ", 6), 0);
	}
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("gdb", NULL, NULL);
	CU_add_test(s, "walk: paging off", test_no_paging);
	CU_add_test(s, "walk: 4-level, 2M and 1G pages, RAM only", test_four_level);
	CU_add_test(s, "walk: PAE", test_pae);
	CU_add_test(s, "walk: 32-bit, PSE and PSE-36", test_two_level);
	CU_add_test(s, "walk: every mapping (info tlb), capped", test_walk_each);
	CU_add_test(s, "watchpoint overlap and kind", test_watch_match);
	CU_add_test(s, "-gdb address syntax", test_spec);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
