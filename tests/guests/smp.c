// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * smp: start every application processor as an OS does and make them
 * work together.
 *  - The CPU count comes from fw_cfg and must match CPUID.1's count.
 *  - Each AP gets INIT (assert, de-assert), then STARTUP twice with the
 *    vector of a trampoline at AP_BASE (smp_asm.S); it must come up once
 *    (the second SIPI, sent while it runs, is ignored) with its APIC id.
 *  - Counters: every CPU adds ITER_LOCK times under a spinlock (XCHG),
 *    ITER_XADD times with LOCK XADD, and ITER_SPLIT times with LOCK INC on
 *    a dword that straddles a cache line; the totals must be exact.
 *  - TLB shootdown: the BSP remaps a 4 KiB page at VA_SHOOT back and
 *    forth while the APs read through it, then sends an IPI (by physical
 *    id, by the all-but-self shorthand, by a logical flat mask); each AP's
 *    handler does INVLPG and must then read the new page's contents.
 * Output does not depend on the number of CPUs (2 to 8).
 */
#include "guest.h"

const char guest_name[] = "smp";

#define AP_BASE		0x6000ul	/* must match smp_asm.S */
#define MAX_CPUS	8
#define LAPIC		0xfee00000ul
#define APIC_ID		0x020
#define APIC_EOI	0x0b0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SVR	0x0f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define ICR_BUSY	(1u << 12)
#define ICR_ASSERT	(1u << 14)
#define ICR_LEVEL	(1u << 15)
#define ICR_LOGICAL	(1u << 11)
#define ICR_OTHERS	(3u << 18)
#define DM_INIT		0x500u
#define DM_STARTUP	0x600u
#define IPI_VECTOR	0x40

#define ITER_LOCK	20000u
#define ITER_XADD	100000u
#define ITER_SPLIT	20000u
#define ROUNDS		30u
#define SPIN_MAX	200000000ul

#define VA_SHOOT	0x100000000ul	/* 4 GiB: PDPT entry 4, our own PD and PT */
#define MARK_A		0xa5a5a5a5a5a5a5a5ull
#define MARK_B		0x5b5b5b5b5b5b5b5bull

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern uint64_t ap_tramp_cr3, ap_tramp_entry;
void ap_entry64(void);
void ap_main(unsigned id);

static volatile uint32_t ap_entries[MAX_CPUS], ap_alive[MAX_CPUS], ap_done[MAX_CPUS];
static volatile uint32_t ap_bad_id;
static volatile uint32_t go, stop;
static volatile uint32_t spin;
static volatile uint64_t counter_lock;
static volatile uint32_t counter_xadd;
static uint8_t split_area[128] __attribute__((aligned(64)));
static volatile uint32_t cur_round, acks[MAX_CPUS];
static volatile uint64_t seen[MAX_CPUS];
static volatile uint64_t ap_sink;

static uint64_t shoot_pd[512] __attribute__((aligned(4096)));
static uint64_t shoot_pt[512] __attribute__((aligned(4096)));
static uint64_t page_a[512] __attribute__((aligned(4096)));
static uint64_t page_b[512] __attribute__((aligned(4096)));

static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) idt_desc;

static uint32_t apic_r(unsigned reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}

static void apic_w(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static unsigned apic_id(void)
{
	return apic_r(APIC_ID) >> 24;
}

static void pause(void)
{
	asm volatile("pause" ::: "memory");
}

/* Spin until *p == want (bounded); true if it got there. */
static bool wait_eq(volatile uint32_t *p, uint32_t want)
{
	for (uint64_t i = 0; i < SPIN_MAX; i++) {
		if (*p == want)
			return true;
		pause();
	}
	return *p == want;
}

static void send_ipi(unsigned dest, uint32_t lo)
{
	for (uint64_t i = 0; i < SPIN_MAX && (apic_r(APIC_ICR_LO) & ICR_BUSY); i++)
		pause();
	apic_w(APIC_ICR_HI, dest << 24);
	apic_w(APIC_ICR_LO, lo);
}

/* ---- the workload, on every CPU ---- */

static void spin_lock(volatile uint32_t *l)
{
	uint32_t v;

	for (;;) {
		v = 1;
		asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*l) : : "memory");
		if (!v)
			return;
		while (*l)
			pause();
	}
}

static void spin_unlock(volatile uint32_t *l)
{
	asm volatile("movl $0, %0" : "=m"(*l) : : "memory");
}

static void workload(void)
{
	volatile uint32_t *split = (volatile uint32_t *)(split_area + 62);

	for (unsigned i = 0; i < ITER_LOCK; i++) {
		spin_lock(&spin);
		counter_lock = counter_lock + 1;
		spin_unlock(&spin);
	}
	for (unsigned i = 0; i < ITER_XADD; i++) {
		uint32_t one = 1;

		asm volatile("lock xaddl %0, %1" : "+r"(one), "+m"(counter_xadd) : : "memory");
	}
	for (unsigned i = 0; i < ITER_SPLIT; i++)
		asm volatile("lock incl %0" : "+m"(*split) : : "memory");
}

/* ---- the APs ---- */

static void ipi_handler(struct trap_frame *f)
{
	unsigned id = apic_id();

	(void)f;
	invlpg((const volatile void *)VA_SHOOT);
	if (id < MAX_CPUS) {
		seen[id] = *(volatile uint64_t *)VA_SHOOT;
		acks[id] = cur_round + 1;
	}
	apic_w(APIC_EOI, 0);
}

void ap_main(unsigned id)
{
	asm volatile("lidt %0" : : "m"(idt_desc));
	if (id == 0 || id >= MAX_CPUS) {
		ap_bad_id = 1;
		return;
	}
	__atomic_fetch_add(&ap_entries[id], 1, __ATOMIC_SEQ_CST);
	apic_w(APIC_SVR, 0x1ff);
	apic_w(APIC_DFR, 0xffffffffu);		/* flat model */
	apic_w(APIC_LDR, (1u << id) << 24);
	ap_alive[id] = 1;
	wait_eq(&go, 1);
	workload();
	ap_done[id] = 1;
	/* Read through the shared mapping until told to stop, taking the shootdown IPIs. */
	sti();
	while (!stop) {
		ap_sink += *(volatile uint64_t *)VA_SHOOT;
		pause();
	}
	cli();
	ap_done[id] = 2;
}

/* ---- the BSP ---- */

static unsigned start_aps(unsigned ncpu)
{
	size_t n = (size_t)(ap_tramp_end - ap_tramp_start);
	unsigned up = 0;

	memcpy((void *)AP_BASE, ap_tramp_start, n);
	*(uint64_t *)(AP_BASE + (uintptr_t)((const uint8_t *)&ap_tramp_cr3 - ap_tramp_start)) =
		read_cr3();
	*(uint64_t *)(AP_BASE + (uintptr_t)((const uint8_t *)&ap_tramp_entry - ap_tramp_start)) =
		(uintptr_t)ap_entry64;
	for (unsigned i = 1; i < ncpu; i++) {
		send_ipi(i, DM_INIT | ICR_ASSERT | ICR_LEVEL);
		send_ipi(i, DM_INIT | ICR_LEVEL);		/* de-assert */
		send_ipi(i, DM_STARTUP | (AP_BASE >> 12));
		send_ipi(i, DM_STARTUP | (AP_BASE >> 12));	/* as the MP spec says: twice */
		if (wait_eq(&ap_alive[i], 1))
			up++;
	}
	return up;
}

static void setup_shoot_mapping(void)
{
	for (unsigned i = 0; i < 512; i++) {
		page_a[i] = MARK_A;
		page_b[i] = MARK_B;
	}
	shoot_pt[0] = (uintptr_t)page_a | PTE_P | PTE_RW;
	shoot_pd[0] = (uintptr_t)shoot_pt | PTE_P | PTE_RW;
	guest_pdpt[4] = (uintptr_t)shoot_pd | PTE_P | PTE_RW;
	write_cr3(read_cr3());
}

/* One shootdown round: remap, IPI the APs one of three ways, wait for every ack. */
static bool shoot_round(unsigned r, unsigned ncpu)
{
	uint64_t *target = (r & 1) ? page_b : page_a;
	uint64_t want = (r & 1) ? MARK_B : MARK_A;
	uint32_t mask = 0;
	bool ok = true;

	cur_round = r;
	for (unsigned i = 1; i < ncpu; i++) {
		acks[i] = 0;
		mask |= 1u << i;
	}
	shoot_pt[0] = (uintptr_t)target | PTE_P | PTE_RW;
	invlpg((const volatile void *)VA_SHOOT);
	switch (r % 3) {
	case 0:
		for (unsigned i = 1; i < ncpu; i++)
			send_ipi(i, IPI_VECTOR);
		break;
	case 1:
		send_ipi(0, ICR_OTHERS | IPI_VECTOR);
		break;
	default:
		send_ipi(mask, ICR_LOGICAL | IPI_VECTOR);
		break;
	}
	for (unsigned i = 1; i < ncpu; i++) {
		ok &= wait_eq(&acks[i], r + 1);
		ok &= seen[i] == want;
	}
	return ok && *(volatile uint64_t *)VA_SHOOT == want;
}

void guest_main(void)
{
	unsigned ncpu = fw_cfg_nb_cpus(), up, done = 0, rounds_ok = 0, once = 0;
	uint32_t r[4], split_total;

	cpuid(1, 0, r);
	check(ncpu >= 2 && ncpu <= MAX_CPUS, "fw_cfg: 2 to 8 CPUs");
	if (ncpu < 2 || ncpu > MAX_CPUS)
		return;
	check(((r[1] >> 16) & 0xff) == ncpu, "CPUID.1: as many logical processors as fw_cfg says");
	check(apic_id() == 0, "the BSP's APIC id is 0");

	asm volatile("sidt %0" : "=m"(idt_desc));
	trap_set_handler(IPI_VECTOR, ipi_handler);
	apic_w(APIC_SVR, 0x1ff);
	setup_shoot_mapping();

	up = start_aps(ncpu);
	check(up == ncpu - 1, "every AP started by INIT, STARTUP, STARTUP");
	check(!ap_bad_id, "every AP's APIC id is its number");
	for (uint64_t i = 0; i < 1000000; i++)
		pause();
	for (unsigned i = 1; i < ncpu; i++)
		once += ap_entries[i] == 1;
	check(once == ncpu - 1, "the second STARTUP did not restart a running AP");

	go = 1;
	workload();
	for (unsigned i = 1; i < ncpu; i++)
		done += wait_eq(&ap_done[i], 1);
	check(done == ncpu - 1, "every AP finished the counter workload");
	check(counter_lock == (uint64_t)ncpu * ITER_LOCK, "spinlock counter: every increment kept");
	check(counter_xadd == ncpu * ITER_XADD, "LOCK XADD counter: every increment kept");
	memcpy(&split_total, split_area + 62, 4);
	check(split_total == ncpu * ITER_SPLIT,
	      "LOCK INC across a cache line: every increment kept");

	for (unsigned r = 0; r < ROUNDS; r++)
		rounds_ok += shoot_round(r, ncpu);
	check(rounds_ok == ROUNDS, "TLB shootdown: after the IPI and INVLPG every AP sees the "
	      "new page (%u rounds)", ROUNDS);
	stop = 1;
	done = 0;
	for (unsigned i = 1; i < ncpu; i++)
		done += wait_eq(&ap_done[i], 2);
	check(done == ncpu - 1, "every AP stopped");
}
