// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tasks: hardware task switching in 32-bit protected mode (lib32 runtime,
 * paging off). Far CALL to a TSS and through a task gate (NT set in the
 * new task, the back link, both descriptors busy, IRET with NT=1 back),
 * far JMP to a TSS (the old one no longer busy, no link, JMP back), INT n
 * through an IDT task gate, a double fault through a task gate (a #GP
 * whose IDT entry is not present: the #DF task gets error code 0 on its
 * own stack, fixes the IDT and returns with IRET to the retried
 * instruction), what the switch saves in the old TSS and loads from the
 * new one (registers, EFLAGS, LDTR, CR0.TS, with paging on CR3), and the
 * faults: JMP to the busy current TSS (#GP), a TSS below the minimum
 * limit (#TS), a TSS not present (#NP), IRET with NT=1 whose link names
 * an available TSS (#TS). With paging off CR3 is not compared: QEMU does
 * not load it then.
 */
#include "guest32.h"

const char guest_name[] = "tasks";

#define SEL_TSS_MAIN	0x18
#define SEL_TSS_A	0x20
#define SEL_TSS_DF	0x28
#define SEL_GATE_A	0x30	/* task gate -> TSS A */
#define SEL_TSS_SHORT	0x38	/* limit 0x50 < 0x67 */
#define SEL_TSS_NP	0x40	/* not present */
#define SEL_LDT		0x48

#define EFLAGS_NT	(1u << 14)

/* With paging: 4 MiB pages, identity but for PROBE_VA, which differs per task. */
#define PROBE_VA	0x40000000u
#define PROBE_MAIN	0x01000000u	/* physical, 16 MiB */
#define PROBE_A		0x01400000u	/* physical, 20 MiB */
#define CR0_TS		(1u << 3)

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

static uint64_t gdt[10] __attribute__((aligned(8)));
static uint64_t ldt[2] __attribute__((aligned(8)));
static struct tss32 tss_main, tss_a, tss_df, tss_short, tss_np;
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
static uint32_t pd_main[1024] __attribute__((aligned(4096)));
static uint32_t pd_a[1024] __attribute__((aligned(4096)));

/* What task A saw each time it ran (task_a_body). */
static volatile struct {
	uint32_t runs, eax0, tr, ldtr, eflags, link, main_eax, main_eflags;
	uint32_t busy_main, busy_a, esp_in_stack, cr3, marker;
} a;
/* The #DF task. */
static volatile struct {
	uint32_t runs, err, link, tr, eflags, main_eip_ok;
} df;
static uint64_t saved_gp_gate, saved_df_gate;

void task_a_entry(void);
void df_task_entry(void);

/*
 * Task A: records, then returns the way it was entered: IRET when NT says
 * it is nested (CALL, task gate, INT), else a JMP back to the main task.
 * Each later entry resumes after the IRET or JMP, at the loop.
 */
asm(".text\n"
    ".globl task_a_entry\n"
    "task_a_entry:\n"
    "	movl %eax, a+4\n"		/* a.eax0: EAX from the TSS */
    "1:	call task_a_body\n"
    "	pushfl\n"
    "	testl $0x4000, (%esp)\n"
    "	leal 4(%esp), %esp\n"
    "	jz 2f\n"
    "	iret\n"
    "	jmp 1b\n"
    "2:	ljmp $0x18, $0\n"
    "	jmp 1b\n"
    ".globl df_task_entry\n"
    "df_task_entry:\n"
    "	popl df+4\n"			/* df.err: pushed by the #DF delivery */
    "	call df_task_body\n"
    "	iret\n"
    "	jmp df_task_entry\n");

static uint32_t desc_type(unsigned sel)
{
	return (uint32_t)(gdt[sel >> 3] >> 40) & 0xf;
}

__attribute__((used)) void task_a_body(void)
{
	uint32_t esp;
	uint16_t tr, l;

	a.runs++;
	asm volatile("str %0; sldt %1; movl %%esp, %2" : "=r"(tr), "=r"(l), "=r"(esp));
	a.tr = tr;
	a.ldtr = l;
	a.eflags = read_eflags();
	a.link = tss_a.link & 0xffff;
	a.main_eax = tss_main.eax;
	a.main_eflags = tss_main.eflags;
	a.busy_main = desc_type(SEL_TSS_MAIN);
	a.busy_a = desc_type(SEL_TSS_A);
	a.esp_in_stack = esp > (uintptr_t)stack_a && esp <= (uintptr_t)stack_a + sizeof(stack_a);
	a.cr3 = read_cr3();
	if (read_cr0() & CR0_PG)
		a.marker = *(volatile uint32_t *)PROBE_VA;
}

__attribute__((used)) void df_task_body(void)
{
	uint16_t tr;

	df.runs++;
	asm volatile("str %0" : "=r"(tr));
	df.tr = tr;
	df.link = tss_df.link & 0xffff;
	df.eflags = read_eflags();
	df.main_eip_ok = tss_main.eip == trap_start;
	/* The retried instruction's #GP must find its handler. */
	guest_idt[13] = saved_gp_gate;
}

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static uint64_t task_gate(uint16_t tss_sel, uint8_t dpl)
{
	return (uint64_t)tss_sel << 16 | (uint64_t)(0x85 | dpl << 5) << 40;
}

static void tss_init(struct tss32 *t, void (*eip)(void), uint8_t *stack, size_t size)
{
	t->cr3 = read_cr3();
	t->eip = (uintptr_t)eip;
	t->eflags = 0x2;
	t->esp = (uintptr_t)stack + size;
	t->cs = SEL_CODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_DATA;
	t->iomap_base = sizeof(*t);
}

static void setup(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };

	gdt[1] = 0x00cf9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	gdt[SEL_TSS_MAIN >> 3] = seg_desc((uintptr_t)&tss_main, sizeof(tss_main) - 1, 0x89, 0);
	gdt[SEL_TSS_A >> 3] = seg_desc((uintptr_t)&tss_a, sizeof(tss_a) - 1, 0x89, 0);
	gdt[SEL_TSS_DF >> 3] = seg_desc((uintptr_t)&tss_df, sizeof(tss_df) - 1, 0x89, 0);
	gdt[SEL_GATE_A >> 3] = task_gate(SEL_TSS_A, 0);
	gdt[SEL_TSS_SHORT >> 3] = seg_desc((uintptr_t)&tss_short, 0x50, 0x89, 0);
	gdt[SEL_TSS_NP >> 3] = seg_desc((uintptr_t)&tss_np, sizeof(tss_np) - 1, 0x09, 0);
	gdt[SEL_LDT >> 3] = seg_desc((uintptr_t)ldt, sizeof(ldt) - 1, 0x82, 0);
	ldt[1] = 0x00cf92000000ffffull;

	tss_main.iomap_base = sizeof(tss_main);
	tss_init(&tss_a, task_a_entry, stack_a, sizeof(stack_a));
	tss_a.eax = 0xa5a5a5a5;
	tss_a.ldt = SEL_LDT;
	tss_init(&tss_df, df_task_entry, stack_df, sizeof(stack_df));
	tss_init(&tss_short, task_a_entry, stack_a, sizeof(stack_a));
	tss_init(&tss_np, task_a_entry, stack_a, sizeof(stack_a));

	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%fs\n\t"
		     "movl %%eax, %%gs\n\t"
		     "movl %%eax, %%ss\n\t"
		     "ltr %w3"
		     : : "m"(gd), "i"(SEL_CODE), "i"(SEL_DATA), "r"(SEL_TSS_MAIN) : "eax", "memory");
}

static void clts(void)
{
	asm volatile("clts");
}

/* lcall/ljmp with a selector known at compile time. */
#define FAR_CALL(sel)	asm volatile("lcall $" #sel ", $0" : : "a"(0x11223344) : "memory")

static void test_calls(void)
{
	uint32_t runs, cr0;
	uint16_t tr, l;

	/* First entry: EAX comes from the TSS. */
	tss_a.link = 0;
	clts();
	FAR_CALL(0x20);
	asm volatile("str %0; sldt %1" : "=r"(tr), "=r"(l));
	cr0 = read_cr0();
	clts();
	check(a.runs == 1 && a.eax0 == 0xa5a5a5a5, "CALL TSS: task A starts with EAX from its TSS");
	check(a.tr == SEL_TSS_A && a.ldtr == SEL_LDT, "CALL TSS: in task A, TR and LDTR from its TSS");
	check(a.eflags & EFLAGS_NT, "CALL TSS: task A runs with NT set");
	check(a.link == SEL_TSS_MAIN, "CALL TSS: task A's back link is the caller's TSS");
	check(a.busy_main == 0xb && a.busy_a == 0xb, "CALL TSS: both TSS descriptors busy meanwhile");
	check(a.main_eax == 0x11223344, "CALL TSS: the caller's EAX saved in its TSS");
	check(!(a.main_eflags & EFLAGS_NT), "CALL TSS: the caller's EFLAGS image has NT clear");
	check(a.esp_in_stack, "CALL TSS: task A runs on its own stack");
	check(tr == SEL_TSS_MAIN && l == 0, "IRET with NT: TR and LDTR are the caller's again");
	check(desc_type(SEL_TSS_A) == 0x9 && desc_type(SEL_TSS_MAIN) == 0xb,
	      "IRET with NT: task A's TSS available again, the caller's still busy");
	check(!(read_eflags() & EFLAGS_NT), "IRET with NT: NT clear back in the caller");
	check(cr0 & CR0_TS, "CALL TSS: CR0.TS set by the task switch");
	check(!(tss_a.eflags & EFLAGS_NT), "IRET with NT: task A's saved EFLAGS have NT clear");

	/* Through a task gate in the GDT: the same, and task A resumes after its IRET. */
	runs = a.runs;
	tss_a.link = 0;
	FAR_CALL(0x30);
	clts();
	check(a.runs == runs + 1 && a.link == SEL_TSS_MAIN && (a.eflags & EFLAGS_NT),
	      "CALL task gate: task A runs nested, linked to the caller");
	check(a.eax0 == 0xa5a5a5a5 && a.tr == SEL_TSS_A,
	      "CALL task gate: task A resumed at its loop (not restarted)");

	/* INT n through a task gate in the IDT. */
	runs = a.runs;
	tss_a.link = 0;
	guest_idt[0x40] = task_gate(SEL_TSS_A, 0);
	asm volatile("int $0x40" : : : "memory");
	clts();
	check(a.runs == runs + 1 && a.link == SEL_TSS_MAIN && (a.eflags & EFLAGS_NT),
	      "INT 0x40 through an IDT task gate: task A runs nested");
	check(desc_type(SEL_TSS_A) == 0x9, "INT 0x40: task A available again after its IRET");
}

static void test_jmp(void)
{
	uint32_t runs = a.runs;
	uint16_t tr;

	tss_a.link = 0x1234;
	asm volatile("ljmp $0x20, $0" : : "a"(0x55667788) : "memory");
	asm volatile("str %0" : "=r"(tr));
	clts();
	check(a.runs == runs + 1, "JMP TSS: task A ran");
	check(!(a.eflags & EFLAGS_NT), "JMP TSS: task A runs with NT clear");
	check(a.link == 0x1234, "JMP TSS: the back link is not written");
	check(a.busy_main == 0x9 && a.busy_a == 0xb,
	      "JMP TSS: the old TSS is available, the new one busy");
	check(a.main_eax == 0x55667788, "JMP TSS: the old task's EAX saved in its TSS");
	check(tr == SEL_TSS_MAIN && desc_type(SEL_TSS_MAIN) == 0xb && desc_type(SEL_TSS_A) == 0x9,
	      "JMP back: TR is the main TSS, busy again; task A available");
}

static void test_df(void)
{
	uint32_t vec;

	/* #GP's IDT entry not present: delivering a #GP raises #NP, which makes a #DF. */
	saved_gp_gate = guest_idt[13];
	saved_df_gate = guest_idt[8];
	guest_idt[13] &= ~(1ull << 47);
	guest_idt[8] = task_gate(SEL_TSS_DF, 0);
	vec = TRAP_TRY("movw %w0, %%gs", : : "r"(0x7f8));
	clts();
	check(df.runs == 1, "#DF through a task gate: the #DF task ran once");
	check(df.err == 0, "#DF task: error code 0 pushed on its own stack");
	check(df.tr == SEL_TSS_DF && df.link == SEL_TSS_MAIN && (df.eflags & EFLAGS_NT),
	      "#DF task: TR is its TSS, linked to the faulting task, NT set");
	check(vec == 13 && trap_last.error_code == 0x7f8,
	      "#DF task IRET back: the instruction is retried and raises #GP(selector)");
	check(desc_type(SEL_TSS_DF) == 0x9, "#DF task: available again after its IRET");
	check(df.main_eip_ok, "#DF task: the faulting task's TSS holds the faulting EIP");
	guest_idt[8] = saved_df_gate;
}

static void test_faults(void)
{
	uint32_t vec, runs = a.runs;

	vec = TRAP_TRY("ljmp $0x18, $0");
	check(vec == 13 && trap_last.error_code == SEL_TSS_MAIN,
	      "JMP to the busy current TSS: #GP(selector)");
	vec = TRAP_TRY("lcall $0x38, $0");
	check(vec == 10 && trap_last.error_code == SEL_TSS_SHORT,
	      "CALL to a TSS with limit 0x50: #TS(selector)");
	vec = TRAP_TRY("lcall $0x40, $0");
	check(vec == 11 && trap_last.error_code == SEL_TSS_NP,
	      "CALL to a TSS not present: #NP(selector)");
	check(a.runs == runs && desc_type(SEL_TSS_MAIN) == 0xb,
	      "the failed switches changed nothing");

	/* IRET with NT=1 whose link names an available TSS. */
	tss_main.link = SEL_TSS_A;
	vec = TRAP_TRY("pushfl\n\torl $0x4000, (%esp)\n\tpopfl\n\tiret");
	asm volatile("pushfl\n\tandl $~0x4000, (%%esp)\n\tpopfl" : : : "memory");
	check(vec == 10 && trap_last.error_code == SEL_TSS_A,
	      "IRET with NT=1 to an available TSS: #TS(link selector)");
	tss_main.link = 0;
}

/*
 * CR3 comes from the new TSS (with paging on; it is never saved into the
 * old one, so the main task's TSS must hold its own for the way back).
 */
static void test_cr3(void)
{
	uint32_t marker;

	for (unsigned i = 0; i < 1024; i++)
		pd_main[i] = pd_a[i] = i << 22 | 0x83;	/* present, writable, 4 MiB */
	*(volatile uint32_t *)PROBE_MAIN = 0x4d41494e;
	*(volatile uint32_t *)PROBE_A = 0x5441534b;
	pd_main[PROBE_VA >> 22] = PROBE_MAIN | 0x83;
	pd_a[PROBE_VA >> 22] = PROBE_A | 0x83;
	tss_main.cr3 = (uintptr_t)pd_main;
	tss_a.cr3 = (uintptr_t)pd_a;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uintptr_t)pd_main);
	write_cr0(read_cr0() | CR0_PG);
	check(*(volatile uint32_t *)PROBE_VA == 0x4d41494e, "paging on: the main task's view");

	tss_a.link = 0;
	FAR_CALL(0x20);
	clts();
	marker = *(volatile uint32_t *)PROBE_VA;
	check(a.cr3 == (uintptr_t)pd_a && a.marker == 0x5441534b,
	      "CALL TSS with paging: task A runs on the CR3 of its TSS");
	check(read_cr3() == (uintptr_t)pd_main && marker == 0x4d41494e,
	      "IRET back: the main task's CR3 from its TSS");
	write_cr0(read_cr0() & ~CR0_PG);
}

void guest_main(void)
{
	setup();
	test_calls();
	test_jmp();
	test_df();
	test_faults();
	test_cr3();
}
