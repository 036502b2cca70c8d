// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ring3: privilege levels in 64-bit mode. Builds a GDT with user segments
 * and a 64-bit TSS (RSP0, IST1, an I/O permission bitmap), maps one code
 * page and two data pages user-accessible, enters ring 3 with IRETQ and
 * checks how the CPU gets back to ring 0: SYSCALL/SYSRET, INT through a
 * DPL 3 gate (with and without IST), #GP from privileged instructions,
 * #PF with the U bit, IN allowed by IOPL or by the I/O bitmap.
 * The user code is ring3_asm.S.
 */
#include "guest.h"

const char guest_name[] = "ring3";

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
/*
 * User selectors as Linux lays them out (0x23/0x2b/0x33): kvm_pvm runs
 * ring 3 on the host's own user segments, so a guest reading CS or SS
 * there sees the host's values; Linux-shaped guests see their own.
 */
#define SEL_UCODE32	0x23	/* STAR[63:48]: SYSRET's base selector, RPL 3 */
#define SEL_UDATA	0x2b
#define SEL_UCODE64	0x33
#define SEL_TSS		0x40

#define MSR_STAR	0xc0000081u
#define MSR_LSTAR	0xc0000082u
#define MSR_FMASK	0xc0000084u

#define RFLAGS_DF	(1ul << 10)
#define RFLAGS_IOPL3	(3ul << 12)
#define USER_FLAGS	(0x2ul | RFLAGS_IF)

#define PF_P		0x01u
#define PF_W		0x02u
#define PF_U		0x04u
#define PF_ID		0x10u

#define NOTPRESENT_VA	0x1ff000ul	/* last 4K page of the first 2 MiB */
#define IOMAP_BYTES	0x100		/* covers ports 0..0x7ff */
#define PORT_OK		0x511		/* fw_cfg data: the one allowed port */

/* ring3_asm.S */
void ring3_run(uint64_t rip, uint64_t rflags, volatile uint64_t *res, uint64_t arg);
void ring3_back(void);
void syscall_entry(void);
extern const char user_page_start[], user_page_end[];
extern const char user_probe[], user_syscall[], user_syscall_ret[], user_cli[], user_hlt[];
extern const char user_mov_cr3[], user_syscall_ud[], user_popf[], user_load[], user_store[];
extern const char user_inb[], user_inw[], user_inb_io[], user_inw_io[], user_int82[];
extern uint64_t ring3_krsp, ring3_user_rsp;
extern uint64_t sc_user_rsp, sc_rcx, sc_r11, sc_rflags, sc_cs, sc_ss;

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	uint8_t iomap[IOMAP_BYTES + 1];	/* + the all-ones terminator byte */
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
	0x00cffa000000ffffull,		/* 0x20 user code, 32-bit (SYSRET base) */
	0x00cff2000000ffffull,		/* 0x28 user data */
	0x00affa000000ffffull,		/* 0x30 user code, 64-bit */
	0x00cf12000000ffffull,		/* 0x38 not present */
	0, 0,				/* 0x40 TSS, filled in at run time */
};

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t iststack[4096] __attribute__((aligned(16)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static volatile uint64_t user_res[512] __attribute__((aligned(4096)));
static uint8_t user_stack[4096] __attribute__((aligned(4096)));
static volatile uint64_t secret = 0x5ec2e7;

#define RSP0_TOP	((uintptr_t)kstack + sizeof(kstack))
#define IST1_TOP	((uintptr_t)iststack + sizeof(iststack))
#define USER_RSP	((uintptr_t)user_stack + sizeof(user_stack))

/* What the trap handler saw for the event that ended (or interrupted) ring 3. */
static volatile struct {
	uint64_t vector, error_code, rip, cs, ss, rsp, rflags, cr2;
	uint64_t frame_top;	/* one past the CPU-pushed SS slot */
	uint64_t handler_ss;	/* SS while the handler ran */
} ut;

static volatile uint64_t ist_frame_top, ist_frame_rsp, ist_seen;
static bool have_nx;

static uint64_t cur_ss(void)
{
	uint16_t s;

	asm volatile("movw %%ss, %0" : "=r"(s));
	return s;
}

static void user_trap(struct trap_frame *f)
{
	uint64_t top = (uintptr_t)(&f->ss + 1);

	if (f->vector == 0x80 && f->rax == 1) {
		f->rax = f->rdx * 2;		/* echo service: back to ring 3 */
		return;
	}
	if (f->vector == 0x81 || f->vector == 0x82 || f->vector == 0x83) {
		ist_frame_top = top;
		ist_frame_rsp = f->rsp;
		ist_seen = f->vector;
		f->rax = 0xa5;
		return;
	}
	ut.vector = f->vector;
	ut.error_code = f->error_code;
	ut.rip = f->rip;
	ut.cs = f->cs;
	ut.ss = f->ss;
	ut.rsp = f->rsp;
	ut.rflags = f->rflags;
	ut.cr2 = read_cr2();
	ut.frame_top = top;
	ut.handler_ss = cur_ss();
	if ((f->cs & 3) != 3) {
		guest_check(false, "unexpected trap at CPL 0: vector %lu error %#lx rip %#lx",
			    f->vector, f->error_code, f->rip);
		guest_exit(guest_failures);
	}
	/* Back to ring 0: IRETQ to ring3_back on the stack ring3_run saved. */
	f->rip = (uintptr_t)ring3_back;
	f->cs = SEL_KCODE;
	f->ss = SEL_KDATA;
	f->rsp = ring3_krsp;
	f->rflags = 0x2;
}

static const unsigned user_vectors[] = { 6, 13, 14, 0x80, 0x81, 0x82, 0x83 };

static void set_handlers(bool on)
{
	unsigned i;

	for (i = 0; i < sizeof(user_vectors) / sizeof(user_vectors[0]); i++)
		trap_set_handler(user_vectors[i], on ? user_trap : NULL);
}

/* Run @entry at CPL 3; returns the vector that ended it (0x80: INT 0x80 exit). */
static uint64_t run(const char *entry, uint64_t rflags, uint64_t arg)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		user_res[i] = 0;
	memset((void *)&ut, 0, sizeof(ut));
	ut.vector = TRAP_NONE;
	ring3_user_rsp = USER_RSP;
	ring3_run((uintptr_t)entry, rflags, user_res, arg);
	return ut.vector;
}

/* The event was a #GP(@err) at @entry, delivered on RSP0 from ring 3. */
static bool gp_at(uint64_t vec, const char *entry, uint64_t err)
{
	return vec == 13 && ut.error_code == err && ut.rip == (uintptr_t)entry &&
	       ut.cs == SEL_UCODE64 && ut.ss == SEL_UDATA && ut.rsp == USER_RSP &&
	       ut.frame_top == RSP0_TOP;
}

static bool pf_was(uint64_t vec, uint64_t err, uint64_t cr2)
{
	return vec == 14 && ut.error_code == err && ut.cr2 == cr2 && ut.frame_top == RSP0_TOP;
}

static struct gate64 *idt_gates(void)
{
	struct table_desc d;

	asm volatile("sidt %0" : "=m"(d));
	return (struct gate64 *)(uintptr_t)d.base;
}

static void setup_tables(void)
{
	uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;
	struct table_desc gd = { sizeof(gdt) - 1, (uintptr_t)gdt };
	struct gate64 *idt = idt_gates();
	uint16_t tr;

	tss.rsp[0] = RSP0_TOP;
	tss.ist[0] = IST1_TOP;
	tss.iomap_base = offsetof(struct tss64, iomap);
	memset(tss.iomap, 0xff, sizeof(tss.iomap));
	tss.iomap[PORT_OK / 8] &= (uint8_t)~(1u << (PORT_OK % 8));

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
	asm volatile("str %0" : "=r"(tr));
	check(tr == SEL_TSS, "LTR/STR: TR is the 64-bit TSS selector");
	check(((gdt[8] >> 40) & 0xf) == 0xb, "LTR marked the TSS descriptor busy");

	idt[0x80].type_attr = 0xee;	/* present, DPL 3, interrupt gate */
	idt[0x81].type_attr = 0xee;
	idt[0x81].ist = 1;
	idt[0x83].ist = 1;		/* DPL 0: only ring 0 may use it */
}

/* Page tables: the first 2 MiB by 4K pages, user bits on three pages only. */
static void setup_paging(void)
{
	uint64_t code = (uintptr_t)user_page_start, i;
	uint32_t r[4];

	for (i = 0; i < 512; i++)
		pt[i] = (i << 12) | PTE_P | PTE_RW;
	for (i = code; i < (uintptr_t)user_page_end; i += 4096)
		pt[i >> 12] = i | PTE_P | PTE_US;		/* user, read-only */
	pt[(uintptr_t)user_res >> 12] |= PTE_US;
	pt[(uintptr_t)user_stack >> 12] |= PTE_US;
	pt[NOTPRESENT_VA >> 12] = 0;
	guest_pml4[0] |= PTE_US;
	guest_pdpt[0] |= PTE_US;
	guest_pd[0] = (uintptr_t)pt | PTE_P | PTE_RW | PTE_US;

	cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000001u) {
		cpuid(0x80000001u, 0, r);
		have_nx = r[3] & (1u << 20);
	}
	if (have_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3(read_cr3());
}

static void test_enter(void)
{
	uint64_t v = run(user_probe, USER_FLAGS, 0);

	check(user_res[0] == SEL_UCODE64, "IRETQ to ring 3: CS is the user code selector, RPL 3");
	check(user_res[1] == SEL_UDATA, "IRETQ to ring 3: SS is the user data selector, RPL 3");
	check(user_res[2] == 0 && user_res[3] == 0,
	      "IRETQ to ring 3 nulls DS and ES (DPL 0 < CPL 3)");
	check((user_res[4] & (RFLAGS_IF | RFLAGS_IOPL3)) == RFLAGS_IF,
	      "ring 3 runs with the RFLAGS IRETQ popped (IF 1, IOPL 0)");
	check(user_res[5] == 42 && user_res[6] == 0,
	      "INT 0x80 through a DPL 3 gate and IRETQ back: RAX from the handler");
	check(user_res[7] == 0xa5 && ist_seen == 0x81 && ist_frame_top == IST1_TOP &&
	      ist_frame_rsp == USER_RSP, "INT 0x81 through an IST1 gate: frame on the IST stack");
	check(v == 0x80 && ut.frame_top == RSP0_TOP && ut.ss == SEL_UDATA &&
	      ut.rsp == USER_RSP && ut.cs == SEL_UCODE64,
	      "INT 0x80 exit: frame on RSP0 with the user SS:RSP and CS");
	check(ut.handler_ss == 0, "interrupt from ring 3 loads a null SS at CPL 0");
	check(ut.rflags & RFLAGS_IF, "INT 0x80 exit: saved RFLAGS has IF set");
}

static void test_syscall(void)
{
	uint64_t v;

	/*
	 * SYSRET takes CS = base + 16 and SS = base + 8; Intel forces SS.RPL
	 * to 3 but AMD copies it from STAR, so the base carries RPL 3 itself.
	 */
	wrmsr(MSR_STAR, (uint64_t)SEL_UCODE32 << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF);

	v = run(user_syscall_ud, USER_FLAGS, 0);
	check(v == 6 && ut.rip == (uintptr_t)user_syscall_ud, "SYSCALL with EFER.SCE clear: #UD");

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	v = run(user_syscall, USER_FLAGS, 0);
	check(v == 0x80, "SYSCALL/SYSRET round trip reached the exit");
	check(sc_cs == SEL_KCODE && sc_ss == SEL_KDATA, "SYSCALL: CS/SS from STAR[47:32]");
	check(sc_rcx == (uintptr_t)user_syscall_ret, "SYSCALL: RCX is the return RIP");
	check((sc_r11 & (RFLAGS_IF | RFLAGS_DF)) == (RFLAGS_IF | RFLAGS_DF),
	      "SYSCALL: R11 holds the user RFLAGS (IF, DF)");
	check((sc_rflags & (RFLAGS_IF | RFLAGS_DF | RFLAGS_TF)) == 0,
	      "SYSCALL: SFMASK cleared IF and DF in ring 0");
	check(sc_user_rsp == USER_RSP, "SYSCALL: RSP not switched");
	check(user_res[1] == SEL_UCODE64 && user_res[2] == SEL_UDATA,
	      "SYSRETQ: CS = STAR[63:48] + 16, SS = STAR[63:48] + 8, RPL 3");
	check((user_res[0] & (RFLAGS_IF | RFLAGS_DF)) == (RFLAGS_IF | RFLAGS_DF),
	      "SYSRETQ: RFLAGS restored from R11");
	check(user_res[3] == 0x15c, "SYSRETQ: RAX from the handler");
	check(user_res[4] == (uintptr_t)user_syscall_ret && user_res[5] == sc_r11,
	      "SYSRETQ: RCX and R11 as the handler left them");
	check(user_res[6] == 0, "SYSRETQ: user RSP unchanged");
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SCE);
}

static void test_privileged(void)
{
	uint64_t v;

	v = run(user_cli, USER_FLAGS, 0);
	check(gp_at(v, user_cli, 0), "CLI at CPL 3, IOPL 0: #GP(0) on RSP0, user SS:RSP saved");
	check(ut.handler_ss == 0, "#GP from ring 3: SS is null in the handler");
	v = run(user_cli, USER_FLAGS | RFLAGS_IOPL3, 0);
	check(v == 0x80 && !(user_res[0] & RFLAGS_IF), "CLI at CPL 3, IOPL 3: allowed, IF cleared");
	v = run(user_hlt, USER_FLAGS | RFLAGS_IOPL3, 0);
	check(gp_at(v, user_hlt, 0), "HLT at CPL 3 (even IOPL 3): #GP(0)");
	v = run(user_mov_cr3, USER_FLAGS, read_cr3());
	check(gp_at(v, user_mov_cr3, 0), "MOV to CR3 at CPL 3: #GP(0)");
	v = run(user_popf, USER_FLAGS, 0);
	check(v == 0x80 && (user_res[0] & (RFLAGS_IF | RFLAGS_IOPL3)) == RFLAGS_IF,
	      "POPF at CPL 3, IOPL 0: IF and IOPL silently kept");
	v = run(user_int82, USER_FLAGS, 0);
	/*
	 * The error code names the gate by vector (SDM 6.13: index = vector,
	 * IDT bit set), 0x412. QEMU 7.2 TCG reports vector * 16 + 2 in 64-bit
	 * mode (the gate's byte offset); accept both.
	 */
	check(gp_at(v, user_int82, 0x82 * 8 + 2) || gp_at(v, user_int82, 0x82 * 16 + 2),
	      "INT 0x82 through a DPL 0 gate: #GP(vector, IDT)");
}

static void test_paging(void)
{
	uint64_t v, page = (uintptr_t)&secret;

	v = run(user_load, USER_FLAGS, (uintptr_t)&user_res[8]);
	check(v == 0x80, "user read of a user page: no fault");
	v = run(user_load, USER_FLAGS, page);
	check(pf_was(v, PF_P | PF_U, page) && ut.rip == (uintptr_t)user_load,
	      "user read of a supervisor page: #PF, error U|P, CR2, on RSP0");
	v = run(user_store, USER_FLAGS, page);
	check(pf_was(v, PF_P | PF_W | PF_U, page) && secret == 0x5ec2e7,
	      "user write to a supervisor page: #PF, error U|W|P, memory unchanged");
	v = run(user_store, USER_FLAGS, (uintptr_t)user_page_start);
	check(pf_was(v, PF_P | PF_W | PF_U, (uintptr_t)user_page_start),
	      "user write to its read-only code page: #PF, error U|W|P");
	v = run(user_load, USER_FLAGS, NOTPRESENT_VA + 8);
	check(pf_was(v, PF_U, NOTPRESENT_VA + 8), "user read of a not-present page: #PF, error U");
	v = run((const char *)guest_main, USER_FLAGS, 0);
	check(pf_was(v, PF_P | PF_U | (have_nx ? PF_ID : 0), (uintptr_t)guest_main),
	      "user fetch from a supervisor page: #PF, error U|P (and I/D with NXE)");
	v = run(user_load, USER_FLAGS, 0x400000);
	check(pf_was(v, PF_P | PF_U, 0x400000),
	      "user read through a 2 MiB supervisor PDE: #PF, error U|P");
}

static void fw_cfg_select_signature(void)
{
	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
}

static void test_io(void)
{
	uint64_t v;

	fw_cfg_select_signature();
	v = run(user_inb, USER_FLAGS | RFLAGS_IOPL3, PORT_OK);
	check(v == 0x80 && user_res[0] == 'Q', "IN at CPL 3 with IOPL 3: allowed");
	fw_cfg_select_signature();
	v = run(user_inb, USER_FLAGS, PORT_OK);
	check(v == 0x80 && user_res[0] == 'Q', "IN at CPL 3, IOPL 0, port clear in the I/O bitmap");
	v = run(user_inb, USER_FLAGS, PORT_OK - 1);
	check(gp_at(v, user_inb_io, 0), "IN at CPL 3, IOPL 0, port set in the I/O bitmap: #GP(0)");
	v = run(user_inw, USER_FLAGS, PORT_OK);
	check(gp_at(v, user_inw_io, 0),
	      "16-bit IN whose second port is set in the bitmap: #GP(0)");
	v = run(user_inb, USER_FLAGS, 0xcf8);
	check(gp_at(v, user_inb_io, 0), "IN at CPL 3, port past the TSS limit: #GP(0)");
}

static void test_ring0_stacks(void)
{
	uint64_t before;

	ist_seen = 0;
	asm volatile("movq %%rsp, %0\n\tint $0x82" : "=&r"(before) : : "rax", "memory");
	check(ist_seen == 0x82 && ist_frame_rsp == before && ist_frame_top == (before & ~15ul),
	      "INT at CPL 0, no IST: no stack switch, RSP aligned to 16");
	ist_seen = 0;
	asm volatile("movq %%rsp, %0\n\tint $0x83" : "=&r"(before) : : "rax", "memory");
	check(ist_seen == 0x83 && ist_frame_rsp == before && ist_frame_top == IST1_TOP,
	      "INT at CPL 0 through an IST1 gate: switches to the IST stack");
}

void guest_main(void)
{
	uint16_t cs, ds;

	pic_init(0x20);			/* all IRQs masked: IF=1 in ring 3 is safe */
	setup_tables();
	setup_paging();
	set_handlers(true);

	test_enter();
	test_syscall();
	test_privileged();
	test_paging();
	test_io();
	test_ring0_stacks();

	set_handlers(false);
	asm volatile("movw %%cs, %0\n\tmovw %%ds, %1" : "=r"(cs), "=r"(ds));
	check(cs == SEL_KCODE && ds == SEL_KDATA && cur_ss() == SEL_KDATA,
	      "back in ring 0 with kernel CS/DS/SS");
	check(TRAP_TRY("ud2") == 6 && trap_last.rip == trap_last.start,
	      "ring-0 exceptions still delivered after the ring-3 runs");
}
