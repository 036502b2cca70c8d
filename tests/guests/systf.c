// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * systf: single-step (TF) across SYSCALL and SYSRET in 64-bit mode. Both
 * single-step on the TF they leave, not the one they find:
 *  - SYSRETQ with TF set in R11 traps at once, with RIP the user RIP and
 *    no user instruction run (why Linux returns with IRET when TF is set);
 *  - SYSCALL from TF=1 user code with SFMASK masking TF enters the kernel
 *    with no #DB; R11 holds the user RFLAGS with TF set and RF clear
 *    (the user code was entered by IRETQ with RF=1);
 *  - SYSCALL with SFMASK leaving TF set traps at the LSTAR entry (CPL 0,
 *    before its first instruction).
 * Only the user code, stack and data pages are user-accessible (on
 * kvm_pvm, SYSCALL enters LSTAR still at CPL 3, and tandem's kvm engine
 * relies on that fetch faulting: see accel/hw/kvm.c replay_fixup()).
 */
#include "guest.h"

const char guest_name[] = "systf";

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_UCODE32	0x23
#define SEL_UDATA	0x2b
#define SEL_UCODE64	0x33
#define SEL_TSS		0x40

#define MSR_STAR	0xc0000081u
#define MSR_LSTAR	0xc0000082u
#define MSR_FMASK	0xc0000084u
#define RFLAGS_RF	(1ull << 16)

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static uint64_t gdt[10] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull,		/* 0x08 kernel code, 64-bit */
	0x00cf92000000ffffull,		/* 0x10 kernel data */
	0x00cf9a000000ffffull,		/* 0x18 kernel code, 32-bit */
	0x00cffa000000ffffull,		/* 0x20 user code, 32-bit (SYSRET base) */
	0x00cff2000000ffffull,		/* 0x28 user data */
	0x00affa000000ffffull,		/* 0x30 user code, 64-bit */
	0,
	0, 0,				/* 0x40 TSS */
};

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
uint8_t systf_ustack[4096] __attribute__((aligned(4096)));

/* systf asm below */
void systf_sysret(uint64_t rip, uint64_t r11);
void systf_iret(uint64_t rip, uint64_t rflags);
void systf_back(void);
void systf_entry(void);
extern char user_page_start[], user_first[], user_syscall[];
extern uint64_t systf_ksp, systf_r11, systf_rflags, systf_entries;
/* The user-writable page: [0] counts user_first runs. */
volatile uint64_t systf_udata[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
#define systf_user_runs	systf_udata[0]

/*
 * systf_sysret / systf_iret enter ring 3 at @rip with R11 / RFLAGS as
 * given; they return when the #DB handler or the SYSCALL entry comes
 * back through systf_back on the saved kernel stack.
 */
asm(".text\n"
    ".globl systf_sysret, systf_iret, systf_back, systf_entry\n"
    "systf_sysret:\n"
    "	pushq %rbx; pushq %rbp; pushq %r12; pushq %r13; pushq %r14; pushq %r15\n"
    "	movq %rsp, systf_ksp(%rip)\n"
    "	movq %rdi, %rcx\n"
    "	movq %rsi, %r11\n"
    "	leaq systf_ustack+4096(%rip), %rsp\n"
    "	sysretq\n"
    "systf_iret:\n"
    "	pushq %rbx; pushq %rbp; pushq %r12; pushq %r13; pushq %r14; pushq %r15\n"
    "	movq %rsp, systf_ksp(%rip)\n"
    "	pushq $0x2b\n"
    "	leaq systf_ustack+4096(%rip), %rax\n"
    "	pushq %rax\n"
    "	pushq %rsi\n"
    "	pushq $0x33\n"
    "	pushq %rdi\n"
    "	iretq\n"
    "systf_back:\n"
    "	movl $0x10, %eax\n"
    "	movl %eax, %ds; movl %eax, %es; movl %eax, %ss\n"
    "	movq systf_ksp(%rip), %rsp\n"
    "	popq %r15; popq %r14; popq %r13; popq %r12; popq %rbp; popq %rbx\n"
    "	ret\n"
    /* SYSCALL lands here at CPL 0 on the user stack. */
    "systf_entry:\n"
    "	incq systf_entries(%rip)\n"
    "	movq %r11, systf_r11(%rip)\n"
    "	pushfq\n"
    "	popq systf_rflags(%rip)\n"
    "	andq $~0x100, systf_rflags(%rip)\n"	/* the #DB handler may still see TF */
    "	pushq $0x2\n"
    "	popfq\n"
    "	jmp systf_back\n"
    /* User code, alone in its page: counts that it ran, then SYSCALL. */
    ".section .text.systf_user, \"ax\"\n"
    ".balign 4096\n"
    ".globl user_page_start, user_first, user_syscall\n"
    "user_page_start:\n"
    "user_first:\n"
    "	incq systf_udata(%rip)\n"
    "user_syscall:\n"
    "	syscall\n"
    "	ud2\n"
    ".balign 4096\n"
    ".data\n"
    ".balign 8\n"
    ".globl systf_ksp, systf_r11, systf_rflags, systf_entries\n"
    "systf_ksp: .quad 0\n"
    "systf_r11: .quad 0\n"
    "systf_rflags: .quad 0\n"
    "systf_entries: .quad 0\n"
    ".text\n");

static volatile uint64_t db_count, db_rip, db_cs, db_rflags, db_dr6;

static void on_db(struct trap_frame *f)
{
	uint64_t dr6;

	asm volatile("movq %%dr6, %0" : "=r"(dr6));
	asm volatile("movq %0, %%dr6" : : "r"(0ull));
	db_count++;
	db_rip = f->rip;
	db_cs = f->cs;
	db_rflags = f->rflags;
	db_dr6 = dr6;
	f->rflags &= ~RFLAGS_TF;
	if ((f->cs & 3) == 3) {
		/* From user code: back to the kernel side of the test. */
		f->rip = (uintptr_t)systf_back;
		f->cs = SEL_KCODE;
		f->ss = SEL_KDATA;
		f->rsp = systf_ksp;
		f->rflags = 0x2;
	}
}

static void setup(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };
	uint64_t t = (uintptr_t)&tss;

	tss.rsp[0] = (uintptr_t)kstack + sizeof(kstack);
	tss.iomap_base = sizeof(tss);
	gdt[8] = (sizeof(tss) - 1) | (t & 0xffffff) << 16 | 0x89ull << 40 | (t >> 24 & 0xff) << 56;
	gdt[9] = t >> 32;
	asm volatile("lgdt %0\n\t"
		     "pushq $0x08\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\tmovl $0x10, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     "movw %1, %%ax\n\t"
		     "ltr %%ax"
		     : : "m"(gd), "i"(SEL_TSS) : "rax", "memory");
	/*
	 * The first 2 MiB by 4K pages, supervisor-only but for the user code
	 * page (read-only), the user stack and the user data page.
	 */
	for (unsigned i = 0; i < 512; i++)
		pt[i] = (uint64_t)i << 12 | 3;
	pt[(uintptr_t)user_page_start >> 12] = (uintptr_t)user_page_start | 5;
	pt[(uintptr_t)systf_ustack >> 12] |= 4;
	pt[(uintptr_t)systf_udata >> 12] |= 4;
	guest_pml4[0] |= 4;
	guest_pdpt[0] |= 4;
	guest_pd[0] = (uintptr_t)pt | 7;
	write_cr3(read_cr3());
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)SEL_UCODE32 << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uintptr_t)systf_entry);
	trap_set_handler(1, on_db);
}

static void reset(void)
{
	db_count = db_rip = db_cs = db_rflags = db_dr6 = 0;
	systf_user_runs = systf_entries = systf_r11 = systf_rflags = 0;
}

void guest_main(void)
{
	setup();

	/* SYSRETQ with R11.TF = 1. */
	reset();
	systf_sysret((uintptr_t)user_first, 0x2 | RFLAGS_TF);
	check(db_count == 1 && db_rip == (uintptr_t)user_first && db_cs == SEL_UCODE64,
	      "SYSRETQ with TF in R11: #DB at the user RIP");
	check(systf_user_runs == 0, "SYSRETQ with TF: no user instruction ran before the #DB");
	check(db_dr6 & 0x4000, "SYSRETQ with TF: DR6.BS set");

	/* Plain SYSRETQ (TF clear): the user code runs and SYSCALLs back. */
	reset();
	wrmsr(MSR_FMASK, RFLAGS_TF | 0x200);
	systf_sysret((uintptr_t)user_first, 0x2);
	check(db_count == 0 && systf_user_runs == 1 && systf_entries == 1,
	      "SYSRETQ, TF clear: user code ran, SYSCALL back, no #DB");

	/* IRETQ to SYSCALL with TF and RF set; SFMASK clears TF. */
	reset();
	systf_iret((uintptr_t)user_syscall, 0x2 | RFLAGS_TF | RFLAGS_RF);
	check(systf_entries == 1 && db_count == 0,
	      "SYSCALL with TF=1, SFMASK masking TF: the kernel entry runs, no #DB");
	check((systf_r11 & RFLAGS_TF) && !(systf_r11 & RFLAGS_RF),
	      "SYSCALL: R11 has the user RFLAGS with TF set and RF clear");

	/* SFMASK leaves TF set: the single step traps at the entry point. */
	reset();
	wrmsr(MSR_FMASK, 0x200);
	systf_iret((uintptr_t)user_syscall, 0x2 | RFLAGS_TF);
	check(db_count == 1 && db_rip == (uintptr_t)systf_entry && db_cs == SEL_KCODE,
	      "SYSCALL with TF=1 kept by SFMASK: #DB at the LSTAR entry, CPL 0");
	check(systf_entries == 1, "SYSCALL entry: runs on after the #DB");
	wrmsr(MSR_FMASK, 0);
}
