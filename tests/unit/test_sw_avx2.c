// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU's masked AVX2 memory accesses, where the host-CPU
 * oracle cannot go (a fault in the middle of an instruction):
 *  - a gather that faults on one element has gathered and unmasked the
 *    elements before it, leaves the rest masked, and completes from that
 *    state once the page is there (it restarts, not repeats);
 *  - a masked-off element never faults, wherever it points (gathers,
 *    VPMASKMOVD load and store);
 *  - a VPMASKMOVD store that faults has stored nothing;
 *  - a gather naming one register twice (destination, index, mask) is #UD.
 * The page that is missing is the 2 MiB one at 2 MiB (its PDE cleared).
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "accel/sw/avx.h"
#include "tests/unit/sw_harness.h"

#define CODE	0x10000ull
#define HOLE	0x200000ull		/* first byte of the unmapped page */
#define PDE1	(SWH_PT_BASE + 0x2000 + 8)

static struct swh *h;

static void set_model_bit(uint32_t fn, unsigned reg, uint32_t bit)
{
	for (unsigned i = 0; i < cpuid_global.nr; i++) {
		struct cpuid_leaf *l = &cpuid_global.leaf[i];

		if (l->function == fn && !l->index)
			*(reg == 1 ? &l->ebx : &l->ecx) |= bit;
	}
}

static int suite_init(void)
{
	h = swh_new(4 << 20, SWH_LONG64);
	if (!h)
		return 1;
	set_model_bit(1, 2, SW_FEAT_AVX.bit);
	set_model_bit(7, 1, SW_FEAT_AVX2.bit);
	return 0;
}

static int suite_clean(void)
{
	swh_free(h);
	return 0;
}

/* Fresh 64-bit state with AVX enabled, and the page at HOLE present or not. */
static void reset(bool hole)
{
	swh_set_mode(h, SWH_LONG64);
	h->cpu.st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXSAVE;
	h->cpu.st.xcr0 = 7;
	swh_poke_val(h, PDE1, hole ? 0 : HOLE | 0x87, 8);
	sw_mmu_flush_all(&h->cpu);
}

static void map_hole(void)
{
	swh_poke_val(h, PDE1, HOLE | 0x87, 8);
	sw_mmu_flush_all(&h->cpu);
}

static int exec(const uint8_t *code, size_t len)
{
	swh_load_code(h, CODE, code, len);
	return swh_step(h);
}

/* vpgatherdd ymm1, [rax + ymm2 * 4], ymm3 */
static const uint8_t gather_dd[] = { 0xc4, 0xe2, 0x65, 0x90, 0x0c, 0x90 };

static void gather_setup(union sw_yvec *idx, unsigned fault_elem)
{
	union sw_yvec d, m;

	h->cpu.st.gpr[R_AX] = 0x100000;
	for (unsigned i = 0; i < 8; i++) {
		idx->sd[i] = (int32_t)(0x400 * i);	/* 0x100000 + 0x1000 * i */
		swh_poke_val(h, 0x100000 + 0x1000ull * i, 0x1110 + i, 4);
		d.d[i] = 0xdead0000 + i;
		m.d[i] = 0x80000000;
	}
	/* Element @fault_elem reads HOLE + 0x40. */
	idx->sd[fault_elem] = (int32_t)((HOLE + 0x40 - 0x100000) / 4);
	swh_poke_val(h, HOLE + 0x40, 0x2222, 4);
	sw_ymm_set(&h->cpu, 1, &d);
	sw_ymm_set(&h->cpu, 2, idx);
	sw_ymm_set(&h->cpu, 3, &m);
}

static void test_gather_restart(void)
{
	union sw_yvec idx, d, m, i2;

	reset(true);
	gather_setup(&idx, 5);
	CU_ASSERT_EQUAL(exec(gather_dd, sizeof(gather_dd)), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.cr2, HOLE + 0x40);
	CU_ASSERT_EQUAL(h->cpu.st.rip, CODE);
	sw_ymm_get(&h->cpu, 1, &d);
	sw_ymm_get(&h->cpu, 3, &m);
	sw_ymm_get(&h->cpu, 2, &i2);
	for (unsigned i = 0; i < 8; i++) {
		/* Gathered and unmasked before the fault; untouched from it on. */
		CU_ASSERT_EQUAL(d.d[i], i < 5 ? 0x1110 + i : 0xdead0000 + i);
		CU_ASSERT_EQUAL(m.d[i], i < 5 ? 0 : 0x80000000);
	}
	CU_ASSERT_EQUAL(memcmp(&i2, &idx, 32), 0);

	/* The page arrives (the guest's #PF handler): the same instruction completes. */
	map_hole();
	swh_poke_val(h, 0x100000, 0x9999, 4);	/* element 0 is not read again */
	CU_ASSERT_EQUAL(exec(gather_dd, sizeof(gather_dd)), SWH_OK);
	sw_ymm_get(&h->cpu, 1, &d);
	sw_ymm_get(&h->cpu, 3, &m);
	for (unsigned i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(d.d[i], i == 5 ? 0x2222 : 0x1110 + i);
		CU_ASSERT_EQUAL(m.d[i], 0);
	}
}

/* A masked-off element pointing at the missing page: no fault, the old value stays. */
static void test_gather_masked_off(void)
{
	union sw_yvec idx, d, m;

	reset(true);
	gather_setup(&idx, 3);
	sw_ymm_get(&h->cpu, 3, &m);
	m.d[3] = 0x7fffffff;
	sw_ymm_set(&h->cpu, 3, &m);
	CU_ASSERT_EQUAL(exec(gather_dd, sizeof(gather_dd)), SWH_OK);
	sw_ymm_get(&h->cpu, 1, &d);
	sw_ymm_get(&h->cpu, 3, &m);
	for (unsigned i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(d.d[i], i == 3 ? 0xdead0003 : 0x1110 + i);
		CU_ASSERT_EQUAL(m.d[i], 0);
	}
}

/* vpgatherqd xmm1, [rax + ymm2 * 8], xmm3: four elements, bits 255:128 of dest and mask cleared. */
static void test_gather_qd(void)
{
	static const uint8_t code[] = { 0xc4, 0xe2, 0x65, 0x91, 0x0c, 0xd0 };
	union sw_yvec idx, d, m;

	reset(false);
	h->cpu.st.gpr[R_AX] = 0x100000;
	for (unsigned i = 0; i < 4; i++) {
		idx.sq[i] = -(int64_t)(0x100 * i);
		swh_poke_val(h, 0x100000 - 0x800ull * i, 0x3330 + i, 4);
	}
	memset(&d, 0x55, sizeof(d));
	memset(&m, 0xff, sizeof(m));
	sw_ymm_set(&h->cpu, 1, &d);
	sw_ymm_set(&h->cpu, 2, &idx);
	sw_ymm_set(&h->cpu, 3, &m);
	CU_ASSERT_EQUAL(exec(code, sizeof(code)), SWH_OK);
	sw_ymm_get(&h->cpu, 1, &d);
	sw_ymm_get(&h->cpu, 3, &m);
	for (unsigned i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(d.d[i], i < 4 ? 0x3330 + i : 0);
		CU_ASSERT_EQUAL(m.d[i], 0);
	}
}

/* Destination, index and mask must be three registers. */
static void test_gather_ud(void)
{
	static const uint8_t same[][6] = {
		{ 0xc4, 0xe2, 0x65, 0x90, 0x0c, 0x88 },	/* index = destination */
		{ 0xc4, 0xe2, 0x75, 0x90, 0x0c, 0x90 },	/* mask = destination */
		{ 0xc4, 0xe2, 0x6d, 0x90, 0x0c, 0x90 },	/* mask = index */
	};
	union sw_yvec before, after;

	for (unsigned k = 0; k < 3; k++) {
		reset(false);
		h->cpu.st.gpr[R_AX] = 0x100000;
		memset(&before, 0x80, sizeof(before));
		sw_ymm_set(&h->cpu, 1, &before);
		sw_ymm_set(&h->cpu, 2, &before);
		CU_ASSERT_EQUAL(exec(same[k], 6), X86_UD);
		sw_ymm_get(&h->cpu, 1, &after);
		CU_ASSERT_EQUAL(memcmp(&before, &after, 32), 0);
		/* An encoding that cannot run: #UD before CR0.TS is looked at. */
		h->cpu.st.cr0 |= X86_CR0_TS;
		CU_ASSERT_EQUAL(exec(same[k], 6), X86_UD);
	}
	/* A valid gather with CR0.TS: #NM. */
	reset(false);
	h->cpu.st.cr0 |= X86_CR0_TS;
	CU_ASSERT_EQUAL(exec(gather_dd, sizeof(gather_dd)), X86_NM);
}

/* vpmaskmovd ymm1, ymm2, [rax] and vpmaskmovd [rax], ymm2, ymm1, 16 bytes before the hole. */
static const uint8_t mload[] = { 0xc4, 0xe2, 0x6d, 0x8c, 0x08 };
static const uint8_t mstore[] = { 0xc4, 0xe2, 0x6d, 0x8e, 0x08 };

static void maskmov_setup(bool elem4)
{
	union sw_yvec m, v;

	h->cpu.st.gpr[R_AX] = HOLE - 16;
	for (unsigned i = 0; i < 8; i++) {
		m.d[i] = (i < 4 || (i == 4 && elem4)) ? 0x80000000 : 0x7fffffff;
		v.d[i] = 0xaaaa0000 + i;
	}
	/* Element 1 masked off too: it is not loaded (zero) and not stored. */
	m.d[1] = 0;
	sw_ymm_set(&h->cpu, 2, &m);
	sw_ymm_set(&h->cpu, 1, &v);
	for (unsigned i = 0; i < 4; i++)
		swh_poke_val(h, HOLE - 16 + 4 * i, 0x4440 + i, 4);
}

static void test_maskmov(void)
{
	union sw_yvec v;

	/* Load: elements 4..7 on the missing page, masked off: no fault. */
	reset(true);
	maskmov_setup(false);
	CU_ASSERT_EQUAL(exec(mload, sizeof(mload)), SWH_OK);
	sw_ymm_get(&h->cpu, 1, &v);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(v.d[i], i < 4 && i != 1 ? 0x4440 + i : 0);
	/* Element 4 selected: #PF, the destination unchanged. */
	reset(true);
	maskmov_setup(true);
	CU_ASSERT_EQUAL(exec(mload, sizeof(mload)), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.cr2, HOLE);
	sw_ymm_get(&h->cpu, 1, &v);
	CU_ASSERT_EQUAL(v.d[0], 0xaaaa0000);

	/* Store: masked-off elements on the missing page are not checked. */
	reset(true);
	maskmov_setup(false);
	CU_ASSERT_EQUAL(exec(mstore, sizeof(mstore)), SWH_OK);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(swh_peek_val(h, HOLE - 16 + 4 * i, 4),
				i == 1 ? 0x4441 : 0xaaaa0000 + i);
	/* Element 4 selected: #PF and nothing stored, not even elements 0..3. */
	reset(true);
	maskmov_setup(true);
	CU_ASSERT_EQUAL(exec(mstore, sizeof(mstore)), X86_PF);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(swh_peek_val(h, HOLE - 16 + 4 * i, 4), 0x4440 + i);
	/* And with the page there, the stores land on both pages. */
	map_hole();
	swh_poke_val(h, HOLE, 0x5555, 4);
	swh_poke_val(h, HOLE + 4, 0x6666, 4);
	CU_ASSERT_EQUAL(exec(mstore, sizeof(mstore)), SWH_OK);
	CU_ASSERT_EQUAL(swh_peek_val(h, HOLE - 16, 4), 0xaaaa0000);
	CU_ASSERT_EQUAL(swh_peek_val(h, HOLE - 12, 4), 0x4441);
	CU_ASSERT_EQUAL(swh_peek_val(h, HOLE, 4), 0xaaaa0004);
	CU_ASSERT_EQUAL(swh_peek_val(h, HOLE + 4, 4), 0x6666);
}

/*
 * 32-bit protected mode: the same encodings, 32-bit addresses. A gather
 * element's address wraps at 4 GiB as any effective address does there.
 */
static void test_prot32(void)
{
	/* vpaddd ymm0, ymm1, ymm2 */
	static const uint8_t paddd[] = { 0xc5, 0xf5, 0xfe, 0xc2 };
	union sw_yvec a, b, d, m, idx;

	swh_set_mode(h, SWH_PROT32);
	h->cpu.st.cr4 |= X86_CR4_OSXSAVE;
	h->cpu.st.xcr0 = 7;
	for (unsigned i = 0; i < 8; i++) {
		a.d[i] = 0x10 * i;
		b.d[i] = 0xffffffff;
	}
	sw_ymm_set(&h->cpu, 1, &a);
	sw_ymm_set(&h->cpu, 2, &b);
	CU_ASSERT_EQUAL(exec(paddd, sizeof(paddd)), SWH_OK);
	sw_ymm_get(&h->cpu, 0, &d);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(d.d[i], 0x10 * i - 1);

	h->cpu.st.gpr[R_AX] = 0xffffff00;
	for (unsigned i = 0; i < 8; i++) {
		idx.sd[i] = 0x80 + (int32_t)i;		/* 0x100 + 4 * i, past 4 GiB */
		m.d[i] = 0x80000000;
		swh_poke_val(h, 0x100 + 4 * i, 0x7770 + i, 4);
	}
	memset(&d, 0, sizeof(d));
	sw_ymm_set(&h->cpu, 1, &d);
	sw_ymm_set(&h->cpu, 2, &idx);
	sw_ymm_set(&h->cpu, 3, &m);
	CU_ASSERT_EQUAL(exec(gather_dd, sizeof(gather_dd)), SWH_OK);
	sw_ymm_get(&h->cpu, 1, &d);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(d.d[i], 0x7770 + i);
}

int main(void)
{
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sw avx2 masked accesses", suite_init, suite_clean);
	CU_add_test(s, "gather faults mid-way and restarts", test_gather_restart);
	CU_add_test(s, "gather: masked-off element never faults", test_gather_masked_off);
	CU_add_test(s, "gather QD: upper halves cleared", test_gather_qd);
	CU_add_test(s, "gather: #UD for a register named twice", test_gather_ud);
	CU_add_test(s, "VPMASKMOVD load/store around a missing page", test_maskmov);
	CU_add_test(s, "32-bit protected mode, addresses wrap", test_prot32);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
