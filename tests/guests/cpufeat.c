// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cpufeat: the feature probe. Prints the CPUID leaves that matter, then
 * for every feature the model advertises runs one instruction that needs
 * it (user instructions at CPL 3, system ones at CPL 0) and checks that
 * it works (no #UD, the documented result); a feature not advertised is
 * listed and not tried (hardware cannot hide an instruction, so KVM may
 * run it anyway). Last, MXCSR's rounding mode across ring changes, which
 * under KVM on kvm_pvm are hand-overs between KVM and the software CPU.
 *
 * The output depends on the CPU model, so it has no .expected file:
 * tests/cpufeat.sh runs it on every engine and compares the outputs
 * (same model, same lines) and wants 0 failed checks.
 */
#include "guest.h"

const char guest_name[] = "cpufeat";

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_TSS		0x40
#define USER_FLAGS	0x202ul

#define MSR_TSC_AUX	0xc0000103u
#define MSR_MCG_CAP	0x179u
#define MSR_APIC_BASE	0x1bu
#define MSR_PAT		0x277u

#define CR4_DE		(1ul << 3)
#define CR4_MCE		(1ul << 6)
#define CR4_PGE		(1ul << 7)
#define CR4_UMIP	(1ul << 11)
#define CR4_PCIDE	(1ul << 17)
#define CR4_SMEP	(1ul << 20)
#define CR4_SMAP	(1ul << 21)
#define CR4_PKE		(1ul << 22)
#define CR4_PKS		(1ul << 24)
#define MSR_PKRS	0x6e1u
#define PTE_KEY(k)	((uint64_t)(k) << 59)

void cf_run(uint64_t rip, uint64_t rflags, volatile uint64_t *buf);
void cf_back(void);
extern const char cf_user_start[], cf_user_end[];
extern uint64_t cf_krsp, cf_user_rsp;

#define UP(n) extern const char up_##n[];
UP(nop) UP(fpu) UP(tsc) UP(cx8) UP(cmov) UP(clflush) UP(mmx) UP(fxsr) UP(sse) UP(sse2)
UP(pni) UP(ssse3) UP(cx16) UP(sse41) UP(sse42) UP(popcnt) UP(lahf) UP(abm)
UP(clflushopt) UP(rdtscp) UP(rdpid) UP(sgdt) UP(mx_get) UP(mx_set) UP(load) UP(store)
UP(rdpkru) UP(rdpmc)

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct gate64 {
	uint16_t offset_lo, selector;
	uint8_t ist, type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
} __attribute__((packed));

struct table_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t gdt[10] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull,		/* 0x08 kernel code, 64-bit */
	0x00cf92000000ffffull,		/* 0x10 kernel data */
	0x00cf9a000000ffffull,		/* 0x18 kernel code, 32-bit */
	0x00cffa000000ffffull,		/* 0x20 user code, 32-bit */
	0x00cff2000000ffffull,		/* 0x28 user data */
	0x00affa000000ffffull,		/* 0x30 user code, 64-bit */
	0,
	0, 0,				/* 0x40 TSS */
};

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static volatile uint64_t ubuf[512] __attribute__((aligned(4096)));
static uint8_t ustack[4096] __attribute__((aligned(4096)));
static volatile uint64_t pkpage[512] __attribute__((aligned(4096)));	/* user, key 1 */
static volatile uint64_t pkspage[512] __attribute__((aligned(4096)));	/* supervisor, key 2 */

static volatile uint64_t u_vector, u_error;	/* what ended the last ring-3 run */
static volatile uint64_t k_mxcsr, k_cvt;	/* what INT 0x81 saw at CPL 0 */

static void user_trap(struct trap_frame *f)
{
	if (f->vector == 0x81) {
		uint32_t mx;
		uint64_t r;

		/* Ring 0 under the MXCSR ring 3 set: read it, convert with it. */
		asm volatile("stmxcsr %0" : "=m"(mx));
		asm volatile("cvtsd2si %1, %0" : "=r"(r) : "m"(ubuf[1]));
		k_mxcsr = mx;
		k_cvt = r;
		return;
	}
	u_vector = f->vector;
	u_error = f->error_code;
	if ((f->cs & 3) != 3) {
		guest_check(false, "unexpected trap at CPL 0: vector %lu rip %#lx", f->vector,
			    f->rip);
		guest_exit(guest_failures);
	}
	f->rip = (uintptr_t)cf_back;
	f->cs = SEL_KCODE;
	f->ss = SEL_KDATA;
	f->rsp = cf_krsp;
	f->rflags = 0x2;
}

/* Exceptions go to user_trap only while ring 3 runs: ring-0 probes use TRAP_TRY. */
static const unsigned user_vectors[] = { 6, 13, 14 };

static void set_user_handlers(bool on)
{
	for (unsigned i = 0; i < sizeof(user_vectors) / sizeof(user_vectors[0]); i++)
		trap_set_handler(user_vectors[i], on ? user_trap : NULL);
}

/* Run probe @entry at CPL 3: the vector that ended it (0x80: it finished). */
static uint64_t urun(const char *entry)
{
	u_vector = TRAP_NONE;
	cf_user_rsp = (uintptr_t)ustack + sizeof(ustack);
	set_user_handlers(true);
	cf_run((uintptr_t)entry, USER_FLAGS, ubuf);
	set_user_handlers(false);
	return u_vector;
}

static void setup(void)
{
	uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1, i;
	struct table_desc gd = { sizeof(gdt) - 1, (uintptr_t)gdt }, id;
	struct gate64 *idt;

	tss.rsp[0] = (uintptr_t)kstack + sizeof(kstack);
	tss.iomap_base = sizeof(tss);
	gdt[8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[9] = base >> 32;
	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "pushq $1f\n\t"
		     "lretq\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     "ltr %w3"
		     : : "m"(gd), "i"(SEL_KCODE), "i"(SEL_KDATA), "r"(SEL_TSS) : "rax", "memory");
	asm volatile("sidt %0" : "=m"(id));
	idt = (struct gate64 *)(uintptr_t)id.base;
	idt[0x80].type_attr = 0xee;
	idt[0x81].type_attr = 0xee;
	trap_set_handler(0x80, user_trap);
	trap_set_handler(0x81, user_trap);
	/* SSE on: CR4.OSFXSR and OSXMMEXCPT. */
	write_cr4(read_cr4() | (1ul << 9) | (1ul << 10));

	/* The first 2 MiB by 4K pages; user bits on the probe code, buffer and stack. */
	for (i = 0; i < 512; i++)
		pt[i] = (i << 12) | PTE_P | PTE_RW;
	for (i = (uintptr_t)cf_user_start; i < (uintptr_t)cf_user_end; i += 4096)
		pt[i >> 12] = i | PTE_P | PTE_US;
	pt[(uintptr_t)ubuf >> 12] |= PTE_US;
	pt[(uintptr_t)ustack >> 12] |= PTE_US;
	pt[(uintptr_t)pkpage >> 12] |= PTE_US | PTE_KEY(1);
	pt[(uintptr_t)pkspage >> 12] |= PTE_KEY(2);
	guest_pml4[0] |= PTE_US;
	guest_pdpt[0] |= PTE_US;
	guest_pd[0] = (uintptr_t)pt | PTE_P | PTE_RW | PTE_US;
	write_cr3(read_cr3());
}

/* ---- CPUID ---- */

static uint32_t max_basic, max_ext;

static uint32_t cpuid_reg(uint32_t leaf, uint32_t sub, unsigned reg)
{
	uint32_t r[4];

	if (leaf >= 0x80000000u ? leaf > max_ext : leaf > max_basic)
		return 0;
	cpuid(leaf, sub, r);
	return r[reg];
}

static void print_leaves(void)
{
	uint32_t r[4];
	char vendor[13] = { 0 };

	cpuid(0, 0, r);
	max_basic = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	cpuid(0x80000000u, 0, r);
	max_ext = r[0];
	guest_printf("cpuid 0: max 0x%x, %s; 0x80000000: max 0x%x\n", max_basic, vendor,
		     max_ext);
	cpuid(1, 0, r);
	/* Leaf 1 EBX without the APIC id: the same on every vCPU. */
	guest_printf("cpuid 1: eax %08x ebx %08x ecx %08x edx %08x\n", r[0], r[1] & 0xffffff,
		     r[2], r[3]);
	if (max_basic >= 7) {
		cpuid(7, 0, r);
		guest_printf("cpuid 7.0: ebx %08x ecx %08x edx %08x\n", r[1], r[2], r[3]);
	}
	if (max_basic >= 0xa) {
		cpuid(0xa, 0, r);
		guest_printf("cpuid 0xa: eax %08x ebx %08x ecx %08x edx %08x\n", r[0], r[1], r[2],
			     r[3]);
	}
	if (max_basic >= 0xd) {
		cpuid(0xd, 0, r);
		guest_printf("cpuid 0xd.0: eax %08x ebx %08x ecx %08x\n", r[0], r[1], r[2]);
		cpuid(0xd, 1, r);
		guest_printf("cpuid 0xd.1: eax %08x\n", r[0]);
	}
	cpuid(0x80000001u, 0, r);
	guest_printf("cpuid 0x80000001: ecx %08x edx %08x\n", r[2], r[3]);
	cpuid(0x80000008u, 0, r);
	guest_printf("cpuid 0x80000008: eax %08x\n", r[0]);
}

/* ---- the probes ---- */

enum { EAX, EBX, ECX, EDX };

/* A user probe that must finish (no #UD). */
static bool runs(const char *entry)
{
	return urun(entry) == 0x80;
}

static bool p_lzcnt(void)
{
	ubuf[0] = 0;
	return runs(up_abm) && ubuf[0] == 31;
}

static bool p_tsc_aux(const char *entry)
{
	wrmsr(MSR_TSC_AUX, 0x2a5);
	ubuf[0] = 0;
	return runs(entry) && (uint32_t)ubuf[0] == 0x2a5;
}

static bool p_rdtscp(void) { return p_tsc_aux(up_rdtscp); }
static bool p_rdpid(void) { return p_tsc_aux(up_rdpid); }

/* CR4 bit @bit can be set and cleared again. */
static bool cr4_toggles(uint64_t bit)
{
	uint64_t cr4 = read_cr4();
	bool ok = TRAP_TRY("movq %0, %%cr4", : : "r"(cr4 | bit)) == TRAP_NONE &&
		  (read_cr4() & bit);

	write_cr4(cr4);
	return ok;
}

static bool p_de(void)
{
	uint64_t cr4 = read_cr4();
	uint64_t v;
	bool ok;

	if (!cr4_toggles(CR4_DE))
		return false;
	write_cr4(cr4 | CR4_DE);
	ok = TRAP_TRY("movq %%dr4, %0", : "=r"(v)) == 6;	/* DR4 does not alias DR6 */
	write_cr4(cr4);
	return ok;
}

static bool p_mce(void) { return cr4_toggles(CR4_MCE); }
static bool p_pge(void) { return cr4_toggles(CR4_PGE); }
static bool p_pcid(void) { return cr4_toggles(CR4_PCIDE); }

static bool p_mca(void)
{
	uint64_t v;

	return TRAP_TRY("rdmsr", : "=a"(v) : "c"(MSR_MCG_CAP) : "rdx") == TRAP_NONE;
}

static bool p_msr(void)
{
	return (rdmsr(MSR_APIC_BASE) & 0xfffff000u) == 0xfee00000u;
}

static bool p_pat(void)
{
	return rdmsr(MSR_PAT) == 0x0007040600070406ull;
}

static bool p_invpcid(void)
{
	static uint64_t desc[2] __attribute__((aligned(16)));

	return TRAP_TRY("invpcid %0, %1", : : "m"(desc), "r"(2ul) : "memory") == TRAP_NONE;
}

/* SMEP: ring 0 may not fetch from a user page (#PF with the I/D bit; a JMP pushes nothing). */
static bool p_smep(void)
{
	uint64_t cr4 = read_cr4();
	void (*fn)(void) = (void (*)(void))(uintptr_t)up_nop;
	bool ok;

	write_cr4(cr4 | CR4_SMEP);
	ok = TRAP_TRY("jmp *%0", : : "r"(fn) : "memory") == 14 &&
	     (trap_last.error_code & 0x11) == 0x11;
	write_cr4(cr4);
	return ok;
}

/* SMAP: ring 0 may not read a user page unless EFLAGS.AC (STAC). */
static bool p_smap(void)
{
	uint64_t cr4 = read_cr4(), v = 0;
	bool ok;

	write_cr4(cr4 | CR4_SMAP);
	ok = TRAP_TRY("movq (%1), %0", : "=r"(v) : "r"(&ubuf[0]) : "memory") == 14 &&
	     (trap_last.error_code & 0x5) == 0x1;
	ok = ok && TRAP_TRY("stac\n\tmovq (%1), %0\n\tclac", : "=r"(v) : "r"(&ubuf[0])) ==
		   TRAP_NONE;
	write_cr4(cr4);
	return ok;
}

/* UMIP: SGDT at CPL 3 raises #GP. */
static bool p_umip(void)
{
	uint64_t cr4 = read_cr4();
	bool ok;

	write_cr4(cr4 | CR4_UMIP);
	ok = urun(up_sgdt) == 13;
	write_cr4(cr4);
	return ok && runs(up_sgdt);
}

static void wrpkru(uint32_t v)
{
	asm volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory");
}

/* The user page pkpage has key 1: PKRU's AD1 blocks every data access, WD1 writes. */
static bool p_pku(void)
{
	uint64_t cr4 = read_cr4(), v = 0;
	bool ok;

	if (!cr4_toggles(CR4_PKE) || (cpuid_reg(7, 0, ECX) & (1u << 4)))
		return false;
	write_cr4(cr4 | CR4_PKE);
	ok = cpuid_reg(7, 0, ECX) & (1u << 4);			/* OSPKE */
	ubuf[10] = (uintptr_t)pkpage;
	wrpkru(1u << 2);					/* AD1 */
	ubuf[0] = 0;
	ok = ok && runs(up_rdpkru) && ubuf[0] == 4;
	ok = ok && urun(up_load) == 14 && u_error == 0x25;		/* P | U | PK */
	ok = ok && TRAP_TRY("movq (%1), %0", : "=r"(v) : "r"(&pkpage[0])) == 14 &&
	     trap_last.error_code == 0x21;			/* P | PK, CPL 0 read */
	wrpkru(2u << 2);					/* WD1 */
	ok = ok && runs(up_load) && urun(up_store) == 14 && u_error == 0x27;
	ok = ok && TRAP_TRY("movq %0, (%1)", : : "r"(v), "r"(&pkpage[0]) : "memory") == 14 &&
	     trap_last.error_code == 0x23;			/* P | W | PK, WP=1 */
	wrpkru(0);
	ok = ok && runs(up_store) &&
	     TRAP_TRY("xorl %%ecx, %%ecx\n\twrpkru", : : "a"(0), "d"(1) : "rcx") == 13;
	write_cr4(cr4);
	return ok && urun(up_rdpkru) == 6;
}

/* The supervisor page pkspage has key 2: IA32_PKRS's AD2 blocks ring 0's reads. */
static bool p_pks(void)
{
	uint64_t cr4 = read_cr4(), v = 0;
	bool ok;

	if (!cr4_toggles(CR4_PKS))
		return false;
	write_cr4(cr4 | CR4_PKS);
	wrmsr(MSR_PKRS, 1u << 4);				/* AD2 */
	ok = TRAP_TRY("movq (%1), %0", : "=r"(v) : "r"(&pkspage[0])) == 14 &&
	     trap_last.error_code == 0x21 && rdmsr(MSR_PKRS) == 16;
	wrmsr(MSR_PKRS, 0);
	ok = ok && TRAP_TRY("movq (%1), %0", : "=r"(v) : "r"(&pkspage[0])) == TRAP_NONE;
	write_cr4(cr4);
	return ok;
}

/* ---- x2APIC, TSC deadline ---- */

#define APIC_MMIO	0xfee00000ul
#define LAPIC_VERSION_LOW 0x14	/* tandem's and QEMU's APIC version */
#define APIC_EN		(1ull << 11)
#define APIC_EXTD	(1ull << 10)
#define VEC_SELF	0x40
#define VEC_TIMER	0x41

static volatile unsigned irq_seen[2];
static bool x2_mode;

static uint32_t mmio_read(unsigned reg)
{
	return *(volatile uint32_t *)(APIC_MMIO + reg);
}

static void mmio_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_MMIO + reg) = v;
}

static void apic_eoi(void)
{
	if (x2_mode)
		wrmsr(0x80b, 0);
	else
		mmio_write(0xb0, 0);
}

static void apic_irq(struct trap_frame *f)
{
	irq_seen[f->vector - VEC_SELF]++;
	apic_eoi();
}

/* Let a pending interrupt in: windows with IF=1, for up to ~2^32 TSC cycles (1-2 s). */
static void irq_window(volatile unsigned *seen)
{
	uint64_t end = __builtin_ia32_rdtsc() + (1ull << 32);

	while (!*seen && __builtin_ia32_rdtsc() < end) {
		sti();
		asm volatile("nop");
		cli();
	}
}

static bool x2_gp(bool write, uint32_t idx)
{
	uint64_t lo = 0, hi = 0;

	if (write)
		return TRAP_TRY("wrmsr", : : "c"(idx), "a"(0), "d"(0)) == 13;
	return TRAP_TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(idx)) == 13;
}

static bool p_x2apic(void)
{
	uint64_t base = rdmsr(0x1b);
	bool ok;

	trap_set_handler(VEC_SELF, apic_irq);
	ok = x2_gp(false, 0x802);				/* not in x2APIC mode yet */
	wrmsr(0x1b, base | APIC_EXTD);
	x2_mode = true;
	ok = ok && (rdmsr(0x1b) & APIC_EXTD) && rdmsr(0x802) == 0 &&
	     (rdmsr(0x803) & 0xff) == (LAPIC_VERSION_LOW) && rdmsr(0x80d) == 1 &&
	     mmio_read(0x30) == 0;
	ok = ok && x2_gp(true, 0x803) && x2_gp(false, 0x80b) && x2_gp(false, 0x80e) &&
	     x2_gp(false, 0x831);
	wrmsr(0x80f, 0x1ff);					/* SVR: enabled */
	wrmsr(0x808, 0);					/* TPR */
	irq_seen[0] = 0;
	wrmsr(0x83f, VEC_SELF);					/* self IPI */
	ok = ok && (rdmsr(0x822) & 1);				/* IRR bit 0x40 */
	irq_window(&irq_seen[0]);
	ok = ok && irq_seen[0] == 1 && !(rdmsr(0x822) & 1);
	irq_seen[0] = 0;
	wrmsr(0x830, (uint64_t)0 << 32 | 0x4000 | VEC_SELF);	/* ICR: fixed, to id 0 */
	irq_window(&irq_seen[0]);
	ok = ok && irq_seen[0] == 1;
	/* x2APIC -> xAPIC directly is refused; through disabled it works. */
	ok = ok && TRAP_TRY("wrmsr", : : "c"(0x1b), "a"((uint32_t)(base & ~APIC_EXTD)),
			    "d"((uint32_t)(base >> 32))) == 13;
	wrmsr(0x1b, base & ~(APIC_EN | APIC_EXTD));
	wrmsr(0x1b, base);
	x2_mode = false;
	ok = ok && (mmio_read(0x30) & 0xff) == LAPIC_VERSION_LOW && x2_gp(false, 0x802);
	trap_set_handler(VEC_SELF, NULL);
	return ok;
}

static bool p_tsc_deadline(void)
{
	uint32_t lvt = mmio_read(0x320), svr = mmio_read(0xf0);
	uint64_t t;
	bool ok;

	trap_set_handler(VEC_TIMER, apic_irq);
	mmio_write(0xf0, svr | 0x100);
	mmio_write(0x320, VEC_TIMER | (1u << 18));		/* TSC-deadline mode */
	ok = (mmio_read(0x320) & 0x60000) == 0x40000;
	irq_seen[1] = 0;
	t = __builtin_ia32_rdtsc() + 20000000;	/* ~10 ms */
	wrmsr(0x6e0, t);
	ok = ok && rdmsr(0x6e0) == t && irq_seen[1] == 0;
	irq_window(&irq_seen[1]);
	ok = ok && irq_seen[1] == 1 && rdmsr(0x6e0) == 0 && __builtin_ia32_rdtsc() >= t;
	irq_seen[1] = 0;
	wrmsr(0x6e0, 1);					/* in the past: at once */
	irq_window(&irq_seen[1]);
	ok = ok && irq_seen[1] == 1;
	mmio_write(0x380, 1000);				/* TMICT: ignored in this mode */
	ok = ok && mmio_read(0x380) == 0 && mmio_read(0x390) == 0;
	mmio_write(0x320, lvt);
	mmio_write(0xf0, svr);
	ok = ok && rdmsr(0x6e0) == 0;				/* reads 0 in other modes */
	trap_set_handler(VEC_TIMER, NULL);
	return ok;
}

/* ---- performance counters ---- */

#define EVT_INSNS	(0xc0u | (1u << 16) | (1u << 17) | (1u << 22))	/* USR OS EN */
#define EVT_USR		(1u << 16)
#define EVT_OS		(1u << 17)

/*
 * Instructions retired between two RDPMCs of counter @idx around a known
 * sequence: rdpmc, mov, mov, 1000 x (dec, jnz), mov, rdpmc counts 2004
 * (the first RDPMC retires inside the window, the second outside).
 */
static uint32_t loop_count(uint32_t idx)
{
	uint32_t d, c = idx;

	asm volatile("movl %1, %%ecx\n\t"
		     "rdpmc\n\t"
		     "movl %%eax, %%esi\n\t"
		     "movl $1000, %%ecx\n"
		     "1:\tdecl %%ecx\n\t"
		     "jnz 1b\n\t"
		     "movl %1, %%ecx\n\t"
		     "rdpmc\n\t"
		     "subl %%esi, %%eax"
		     : "=a"(d), "+r"(c) : : "rcx", "rdx", "rsi");
	return d;
}

#define LOOP_INSNS	2004u

static bool p_pmu(void)
{
	uint32_t r[4];
	bool ok;
	uint64_t cr4 = read_cr4();

	cpuid(0xa, 0, r);
	ok = (r[0] & 0xff) >= 2 && ((r[0] >> 8) & 0xff) >= 1 && !(r[1] & 2) && (r[3] & 0x1f) >= 1;
	wrmsr(0x38f, 0);					/* GLOBAL_CTRL off */
	wrmsr(0x186, EVT_INSNS);
	wrmsr(0xc1, 0);
	wrmsr(0x38d, 3);					/* fixed 0: OS + USR */
	wrmsr(0x309, 0);
	ok = ok && loop_count(0) == 0;				/* globally disabled */
	wrmsr(0x38f, 1 | (1ull << 32));
	ok = ok && loop_count(0) == LOOP_INSNS && loop_count(1u << 30) == LOOP_INSNS;
	wrmsr(0x186, EVT_INSNS & ~EVT_OS);			/* user only */
	ok = ok && loop_count(0) == 0;
	ok = ok && urun(up_rdpmc) == 13;			/* CR4.PCE clear */
	write_cr4(cr4 | (1ul << 8));
	wrmsr(0xc1, 0);
	ok = ok && runs(up_nop) && rdmsr(0xc1) >= 2 && rdmsr(0xc1) < 10 && runs(up_rdpmc);
	write_cr4(cr4);
	/* Legacy writes sign-extend bit 31 to the 48-bit width. */
	wrmsr(0x390, 0x100000003ull);				/* clear overflow status */
	wrmsr(0xc1, 0xfffffffeu);
	ok = ok && rdmsr(0xc1) == 0xfffffffffffeull && !(rdmsr(0x38e) & 1);
	wrmsr(0x186, EVT_INSNS);
	loop_count(0);
	ok = ok && (rdmsr(0x38e) & 1);				/* it wrapped: status bit 0 */
	wrmsr(0x390, 1);
	ok = ok && !(rdmsr(0x38e) & 1);
	ok = ok && TRAP_TRY("rdpmc", : : "c"(5) : "rax", "rdx") == 13;
	wrmsr(0x38f, 0);
	wrmsr(0x186, 0);
	wrmsr(0x38d, 0);
	return ok;
}

/* AMD's legacy counters: PERF_CTL0-3 at 0xc0010000, PERF_CTR0-3 at 0xc0010004. */
static bool p_amd_pmu(void)
{
	bool ok;

	wrmsr(0xc0010000u, EVT_INSNS);
	wrmsr(0xc0010004u, 0);
	ok = loop_count(0) == LOOP_INSNS;
	wrmsr(0xc0010003u, EVT_INSNS & ~EVT_USR);
	ok = ok && loop_count(3) == LOOP_INSNS && rdmsr(0xc0010007u) > LOOP_INSNS;
	wrmsr(0xc0010000u, 0);
	wrmsr(0xc0010003u, 0);
	ok = ok && loop_count(0) == 0;
	return ok && TRAP_TRY("rdpmc", : : "c"(4) : "rax", "rdx") == 13;
}

struct probe {
	const char *name;
	uint32_t leaf, sub;
	uint8_t reg, bit;
	const char *user;	/* a user probe that must finish, or */
	bool (*fn)(void);	/* a check */
	const char *what;
};

static const struct probe probes[] = {
	{ "fpu", 1, 0, EDX, 0, up_fpu, NULL, "fld1" },
	{ "de", 1, 0, EDX, 2, NULL, p_de, "CR4.DE, mov dr4 #UD" },
	{ "tsc", 1, 0, EDX, 4, up_tsc, NULL, "rdtsc" },
	{ "msr", 1, 0, EDX, 5, NULL, p_msr, "rdmsr IA32_APIC_BASE" },
	{ "mce", 1, 0, EDX, 7, NULL, p_mce, "CR4.MCE" },
	{ "cx8", 1, 0, EDX, 8, up_cx8, NULL, "cmpxchg8b" },
	{ "pge", 1, 0, EDX, 13, NULL, p_pge, "CR4.PGE" },
	{ "mca", 1, 0, EDX, 14, NULL, p_mca, "rdmsr IA32_MCG_CAP" },
	{ "cmov", 1, 0, EDX, 15, up_cmov, NULL, "cmovz" },
	{ "pat", 1, 0, EDX, 16, NULL, p_pat, "IA32_PAT at its reset value" },
	{ "clflush", 1, 0, EDX, 19, up_clflush, NULL, "clflush" },
	{ "mmx", 1, 0, EDX, 23, up_mmx, NULL, "pxor mm" },
	{ "fxsr", 1, 0, EDX, 24, up_fxsr, NULL, "fxsave/fxrstor" },
	{ "sse", 1, 0, EDX, 25, up_sse, NULL, "xorps" },
	{ "sse2", 1, 0, EDX, 26, up_sse2, NULL, "xorpd" },
	{ "pni", 1, 0, ECX, 0, up_pni, NULL, "haddpd" },
	{ "ssse3", 1, 0, ECX, 9, up_ssse3, NULL, "pshufb" },
	{ "cx16", 1, 0, ECX, 13, up_cx16, NULL, "cmpxchg16b" },
	{ "pcid", 1, 0, ECX, 17, NULL, p_pcid, "CR4.PCIDE" },
	{ "x2apic", 1, 0, ECX, 21, NULL, p_x2apic, "EXTD, MSRs 0x802-0x83f, self IPI and ICR, #GP rules" },
	{ "tsc-deadline", 1, 0, ECX, 24, NULL, p_tsc_deadline, "IA32_TSC_DEADLINE fires, clears" },
	{ "sse4.1", 1, 0, ECX, 19, up_sse41, NULL, "ptest" },
	{ "sse4.2", 1, 0, ECX, 20, up_sse42, NULL, "crc32" },
	{ "popcnt", 1, 0, ECX, 23, up_popcnt, NULL, "popcnt" },
	{ "invpcid", 7, 0, EBX, 10, NULL, p_invpcid, "invpcid all" },
	{ "smep", 7, 0, EBX, 7, NULL, p_smep, "ring-0 jmp into a user page: #PF" },
	{ "smap", 7, 0, EBX, 20, NULL, p_smap, "ring-0 read of a user page: #PF, with STAC fine" },
	{ "clflushopt", 7, 0, EBX, 23, up_clflushopt, NULL, "clflushopt" },
	{ "umip", 7, 0, ECX, 2, NULL, p_umip, "sgdt at CPL 3: #GP" },
	{ "pku", 7, 0, ECX, 3, NULL, p_pku, "PKRU AD/WD on a key-1 user page, RDPKRU/WRPKRU" },
	{ "pks", 7, 0, ECX, 31, NULL, p_pks, "IA32_PKRS AD on a key-2 supervisor page" },
	{ "rdpid", 7, 0, ECX, 22, NULL, p_rdpid, "rdpid = IA32_TSC_AUX" },
	{ "pmu", 0xa, 0, EAX, 1, NULL, p_pmu, "arch PMU v2: instructions retired, RDPMC, CR4.PCE" },
	{ "lahf-lm", 0x80000001u, 0, ECX, 0, up_lahf, NULL, "lahf" },
	{ "abm", 0x80000001u, 0, ECX, 5, NULL, p_lzcnt, "lzcnt 1 = 31" },
	{ "rdtscp", 0x80000001u, 0, EDX, 27, NULL, p_rdtscp, "rdtscp ecx = IA32_TSC_AUX" },
};

static void run_probes(void)
{
	unsigned i, n = 0;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		bool ok;

		if (!(cpuid_reg(p->leaf, p->sub, p->reg) & (1u << p->bit))) {
			guest_printf("-- %s: not advertised\n", p->name);
			continue;
		}
		n++;
		ok = p->user ? runs(p->user) : p->fn();
		check(ok, "%s: %s", p->name, p->what);
	}
	guest_printf("%u advertised features tried\n", n);
	if (cpuid_reg(0, 0, ECX) == 0x444d4163u)	/* "cAMD": AuthenticAMD */
		check(p_amd_pmu(), "AMD legacy counters: instructions retired, RDPMC");
}

/* ---- MXCSR ---- */

#define D_1_25		0x3ff4000000000000ull
#define D_1_0		0x3ff0000000000000ull
#define D_2M60		0x3c30000000000000ull	/* 2^-60 */
#define MXCSR_UP	0x5f80u			/* RC = round up, all masked */
#define MXCSR_DOWN	0x3f80u
#define MXCSR_FLAGS	0x3fu			/* sticky exception flags: inexact gets set */

static void mx_load(uint32_t v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

static uint32_t mx_store(void)
{
	uint32_t v;

	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void test_mxcsr(void)
{
	uint32_t saved = mx_store();

	/* Set at CPL 0, used at CPL 3. */
	memset((void *)ubuf, 0, 128);
	ubuf[1] = D_1_25;
	ubuf[3] = D_1_0;
	ubuf[4] = D_2M60;
	mx_load(MXCSR_UP);
	check(runs(up_mx_get) && (uint32_t)ubuf[0] == MXCSR_UP,
	      "MXCSR set at CPL 0 (RC up) is what CPL 3 reads");
	check(ubuf[2] == 2, "CPL 3 cvtsd2si 1.25 rounds up to 2");
	check(ubuf[5] == D_1_0 + 1, "CPL 3 addsd 1 + 2^-60 rounds up");
	check((mx_store() & ~MXCSR_FLAGS) == MXCSR_UP, "back at CPL 0: MXCSR still RC up");

	/* Set at CPL 3, seen at CPL 0 in an interrupt, and at CPL 3 after the IRET. */
	ubuf[6] = MXCSR_DOWN;
	k_mxcsr = k_cvt = 0;
	check(runs(up_mx_set), "CPL 3 ldmxcsr, int 0x81, back");
	check((k_mxcsr & ~MXCSR_FLAGS) == MXCSR_DOWN && k_cvt == 1,
	      "CPL 0 handler sees the MXCSR CPL 3 set (RC down: 1.25 -> 1)");
	check(((uint32_t)ubuf[7] & ~MXCSR_FLAGS) == MXCSR_DOWN && ubuf[8] == 1,
	      "CPL 3 after the IRET: MXCSR RC down, 1.25 -> 1");
	check((mx_store() & ~MXCSR_FLAGS) == MXCSR_DOWN, "back at CPL 0: MXCSR is what CPL 3 left");
	mx_load(saved);
}

void guest_main(void)
{
	pic_init(0x20);
	setup();
	print_leaves();
	run_probes();
	test_mxcsr();
}
