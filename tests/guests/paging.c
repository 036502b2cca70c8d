// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * paging: build 4-level mappings of our own next to the boot identity map
 * (under PML4[1], virtual 512 GiB) and check what the MMU does with them:
 * 4K/2M/1G pages, aliasing, accessed/dirty bits, not-present and
 * read-only faults with CR0.WP, INVLPG and CR3 reloads, NX with EFER.NXE.
 */
#include "guest.h"

const char guest_name[] = "paging";

#define VB		0x8000000000ull		/* PML4[1] */
#define PAGE		4096ull
#define VA(n)		(VB + (n) * PAGE)	/* 4K page n of the test PT */

#define PF_P		0x01u
#define PF_W		0x02u
#define PF_RSVD		0x08u
#define PF_ID		0x10u

/*
 * Page tables and the data/code pages they map (identity: virt == phys).
 * Volatile: the compiler must not reorder or drop stores the MMU reads.
 */
static volatile uint64_t pdpt[512] __attribute__((aligned(4096)));
static volatile uint64_t pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static volatile uint64_t page_a[512] __attribute__((aligned(4096)));
static volatile uint64_t page_b[512] __attribute__((aligned(4096)));
static volatile uint64_t page_c[512] __attribute__((aligned(4096)));
static uint8_t page_code[4096] __attribute__((aligned(4096)));

static volatile uint64_t marker = 0x6d61726b65720a21ull;

static uint64_t phys(const volatile void *p)
{
	return (uintptr_t)p;
}

static volatile uint64_t *at(uint64_t va)
{
	return (volatile uint64_t *)va;
}

static uint64_t pf_read(uint64_t va)
{
	uint64_t val;

	return TRAP_TRY("movq (%1), %0", : "=r"(val) : "r"(va));
}

static uint64_t pf_write(uint64_t va)
{
	return TRAP_TRY("movq %0, (%1)", : : "r"(0ull), "r"(va) : "memory");
}

static bool pf_was(uint64_t vec, uint64_t err, uint64_t cr2)
{
	return vec == 14 && trap_last.error_code == err && trap_last.cr2 == cr2;
}

static void test_sizes(void)
{
	uint32_t r[4];

	/* 4K: one physical page at two virtual addresses. */
	pt[0] = phys(page_a) | PTE_P | PTE_RW;
	pt[1] = phys(page_a) | PTE_P | PTE_RW;
	*at(VA(0) + 8) = 0x1111222233334444ull;
	check(*at(VA(1) + 8) == 0x1111222233334444ull && page_a[1] == 0x1111222233334444ull,
	      "4K pages: one physical page aliased at two virtual addresses");

	/* 2M: PD entry with PS maps physical 0..2 MiB (our image is there). */
	pd[1] = 0 | PTE_P | PTE_RW | PTE_PS;
	check(*at(VB + (2ull << 20) + phys(&marker)) == marker,
	      "2M page maps the right physical frame");
	*at(VB + (2ull << 20) + phys(&page_b[3])) = 0x2222;
	check(page_b[3] == 0x2222, "2M page: write through the alias lands in RAM");

	/* 1G: PDPT entry with PS, only where CPUID offers it; the line is the
	 * same either way so the output does not depend on the CPU model. */
	cpuid(0x80000001, 0, r);
	if (r[3] & (1u << 26)) {
		pdpt[1] = 0 | PTE_P | PTE_RW | PTE_PS;
		check(*at(VB + (1ull << 30) + phys(&marker)) == marker,
		      "1G page maps the right physical frame (when CPUID has pdpe1gb)");
	} else {
		check(true, "1G page maps the right physical frame (when CPUID has pdpe1gb)");
	}
}

static void test_accessed_dirty(void)
{
	pt[4] = phys(page_c) | PTE_P | PTE_RW;
	(void)*at(VA(4));
	check((pt[4] & (PTE_A | PTE_D)) == PTE_A, "read sets the accessed bit, not dirty");
	*at(VA(4)) = 1;
	check((pt[4] & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "write sets the dirty bit");
}

static void test_not_present(void)
{
	uint64_t va = VA(2) + 0x10;

	pt[2] = 0;
	check(pf_was(pf_read(va), 0, va), "#PF: read of a not-present 4K page, error 0, CR2");
	check(pf_was(pf_write(va), PF_W, va), "#PF: write to a not-present 4K page, error W, CR2");
	va = VB + (4ull << 20) + 0x20;		/* PD entry 2 is empty */
	check(pf_was(pf_read(va), 0, va), "#PF: not-present page directory entry");
}

static void test_read_only(void)
{
	uint64_t va = VA(3) + 0x18;

	pt[3] = phys(page_b) | PTE_P;
	check(*at(va) == page_b[3] && pf_was(pf_write(va), PF_P | PF_W, va),
	      "#PF: write to a read-only page with CR0.WP=1, error P|W, CR2");
	write_cr0(read_cr0() & ~CR0_WP);
	invlpg((void *)va);
	check(pf_write(va) == TRAP_NONE && page_b[3] == 0,
	      "CR0.WP=0: ring-0 write to the read-only page goes through");
	write_cr0(read_cr0() | CR0_WP);
	invlpg((void *)va);
	check(pf_was(pf_write(va), PF_P | PF_W, va), "CR0.WP=1 again: write faults again");
}

static void test_flush(void)
{
	page_a[0] = 0xaaaa;
	page_b[0] = 0xbbbb;
	page_c[0] = 0xcccc;
	pt[5] = phys(page_a) | PTE_P | PTE_RW;
	check(*at(VA(5)) == 0xaaaa, "4K page reads its frame");
	pt[5] = phys(page_b) | PTE_P | PTE_RW;
	invlpg((void *)VA(5));
	check(*at(VA(5)) == 0xbbbb, "INVLPG after editing the PTE: new frame seen");
	pt[5] = phys(page_c) | PTE_P | PTE_RW;
	write_cr3(read_cr3());
	check(*at(VA(5)) == 0xcccc, "CR3 reload after editing the PTE: new frame seen");
}

static void test_nx(void)
{
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12, 0x00, 0x00,	/* mov $0x1234, %eax */
		0xc3,				/* ret */
	};
	uint64_t efer = rdmsr(MSR_EFER), ret = 0;
	uint32_t r[4];

	/*
	 * Without EFER.NXE, bit 63 is a reserved bit. Hardware reports
	 * P|RSVD; QEMU 7.2 TCG leaves P clear, so only RSVD is checked.
	 */
	pt[6] = phys(page_c) | PTE_P | PTE_RW | PTE_NX;
	check(!(efer & EFER_NXE) && pf_read(VA(6)) == 14 &&
	      (trap_last.error_code & ~(uint64_t)PF_P) == PF_RSVD && trap_last.cr2 == VA(6),
	      "#PF: NX bit with EFER.NXE=0 is reserved, error has RSVD");

	cpuid(0x80000001, 0, r);
	if (!check(r[3] & (1u << 20), "CPUID has NX"))
		return;
	wrmsr(MSR_EFER, efer | EFER_NXE);
	invlpg((void *)VA(6));
	check(pf_read(VA(6)) == TRAP_NONE, "EFER.NXE=1: data read of an NX page works");

	memcpy(page_code, code, sizeof(code));
	pt[7] = phys(page_code) | PTE_P | PTE_RW | PTE_NX;
	check(pf_was(TRAP_TRY("jmp *%0", : : "r"(VA(7))), PF_P | PF_ID, VA(7)) &&
	      trap_last.rip == VA(7), "#PF: fetch from an NX page, error P|I/D, CR2 = RIP");
	pt[7] &= ~PTE_NX;
	invlpg((void *)VA(7));
	asm volatile("call *%1"
		     : "=a"(ret)
		     : "r"(VA(7))
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	check(ret == 0x1234, "NX cleared + INVLPG: code on the page runs");
	pt[8] = 0;
	check(pf_was(TRAP_TRY("jmp *%0", : : "r"(VA(8))), PF_ID, VA(8)),
	      "#PF: fetch from a not-present page, error I/D");
}

void guest_main(void)
{
	/* PML4[1] -> pdpt -> pd -> pt, fresh entries need no flush. */
	pd[0] = phys(pt) | PTE_P | PTE_RW;
	pdpt[0] = phys(pd) | PTE_P | PTE_RW;
	guest_pml4[1] = phys(pdpt) | PTE_P | PTE_RW;
	barrier();

	test_sizes();
	test_accessed_dirty();
	test_not_present();
	test_read_only();
	test_flush();
	test_nx();

	guest_pml4[1] = 0;
	barrier();
	write_cr3(read_cr3());
	check(pf_was(pf_read(VA(0)), 0, VA(0)), "PML4 entry cleared + CR3 reload: region unmapped");
}
