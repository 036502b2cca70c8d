// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prot32: 32-bit protected mode without long mode (lib32 runtime).
 * Segmentation (a based data segment with a small limit, expand-down data
 * and stack segments, a read-only segment, selector checks; the limit and
 * rights faults QEMU TCG does not model are in seglimit.c), a 32-bit IDT
 * with interrupt and trap gates, far calls through call gates (same
 * privilege, and ring 3 -> ring 0 with parameters copied to the TSS
 * stack), LTR/STR, PUSHA/POPA, the BCD instructions, 32-bit paging with
 * 4 MiB pages (PSE) and PAE paging with a PTE edit + INVLPG.
 * Ring-3 code and the gate targets are in prot32_asm.S.
 */
#include "guest32.h"

const char guest_name[] = "prot32";

#define SEL_SMALL	0x18	/* data, base seg_buf, limit 0xfff */
#define SEL_EXPDOWN	0x20	/* data, expand-down, limit 0xfffff, B=1 */
#define SEL_RODATA	0x28	/* data, read-only, flat */
#define SEL_UCODE	0x33
#define SEL_UDATA	0x3b
#define SEL_TSS		0x40
#define SEL_GATE3	0x4b	/* call gate, DPL 3 -> ring 0, 2 parameters */
#define SEL_GATE0	0x50	/* call gate, DPL 0 -> ring 0 */
#define SEL_PAST_GDT	0x80

#define PTE_P		0x001u
#define PTE_RW		0x002u
#define PTE_A		0x020u
#define PTE_D		0x040u
#define PTE_PS		0x080u
#define PAE_NX		(1ull << 63)

#define ALIAS_VA	0x40000000u	/* PDE 0x100 (32-bit) / PDPTE 1 (PAE) */

/* prot32_asm.S */
void p32_enter_ring3(uint32_t eip, uint32_t esp);
void p32_ring3_back(void);
void p32_user_callgate(void);
void p32_user_ret(void);
void p32_gate_inner(void);
void p32_gate_same(void);
extern volatile uint32_t p32_res[4], p32_gate[9];

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

static uint64_t gdt[11] __attribute__((aligned(8)));
static struct tss32 tss __attribute__((aligned(16)));
static uint8_t kstack[4096] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));
static uint8_t seg_buf[8192] __attribute__((aligned(4096)));

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd0[512] __attribute__((aligned(4096)));
static uint64_t pae_pd1[512] __attribute__((aligned(4096)));
static uint64_t pae_pt[512] __attribute__((aligned(4096)));
static volatile uint32_t page_a[1024] __attribute__((aligned(4096)));
static volatile uint32_t page_b[1024] __attribute__((aligned(4096)));
static uint8_t page_x[4096] __attribute__((aligned(4096)));

#define KSTACK_TOP	((uintptr_t)kstack + sizeof(kstack))
#define USTACK_TOP	((uintptr_t)ustack + sizeof(ustack))

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static uint64_t call_gate(uint16_t sel, void (*fn)(void), uint8_t access, unsigned params)
{
	uint32_t off = (uintptr_t)fn;

	return (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)(params & 0x1f) << 32 |
	       (uint64_t)access << 40 | (uint64_t)(off >> 16) << 48;
}

static void load_gs(uint16_t sel)
{
	asm volatile("movw %0, %%gs" : : "r"(sel) : "memory");
}

static void load_fs(uint16_t sel)
{
	asm volatile("movw %0, %%fs" : : "r"(sel) : "memory");
}

static void setup_gdt(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };

	gdt[0] = 0;
	gdt[1] = 0x00cf9a000000ffffull;				/* 0x08 code, flat */
	gdt[2] = 0x00cf92000000ffffull;				/* 0x10 data, flat */
	gdt[3] = seg_desc((uintptr_t)seg_buf, 0xfff, 0x92, 0x4);	/* 0x18 small, byte gran. */
	gdt[4] = seg_desc(0, 0xfffff, 0x96, 0x4);		/* 0x20 expand-down */
	gdt[5] = 0x00cf90000000ffffull;				/* 0x28 read-only data */
	gdt[6] = 0x00cffa000000ffffull;				/* 0x30 user code */
	gdt[7] = 0x00cff2000000ffffull;				/* 0x38 user data */
	gdt[8] = seg_desc((uintptr_t)&tss, sizeof(tss) - 1, 0x89, 0x0);	/* 0x40 TSS */
	gdt[9] = call_gate(SEL_CODE, p32_gate_inner, 0xec, 2);	/* 0x48 gate, DPL 3 */
	gdt[10] = call_gate(SEL_CODE, p32_gate_same, 0x8c, 0);	/* 0x50 gate, DPL 0 */

	tss.esp0 = KSTACK_TOP;
	tss.ss0 = SEL_DATA;
	tss.iomap_base = sizeof(tss);		/* no I/O bitmap */

	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%fs\n\t"
		     "movl %%eax, %%gs\n\t"
		     "movl %%eax, %%ss"
		     : : "m"(gd), "i"(SEL_CODE), "i"(SEL_DATA) : "eax", "memory");
}

static void test_mode(void)
{
	uint32_t r[4], cr0 = read_cr0();
	bool lma = false;

	cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000001u) {
		cpuid(0x80000001u, 0, r);
		if (r[3] & (1u << 29))
			lma = rdmsr(MSR_EFER) & (1u << 10);
	}
	check((cr0 & CR0_PE) && !(cr0 & CR0_PG) && !lma,
	      "32-bit protected mode: CR0.PE set, paging off, EFER.LMA clear");
}

static void test_tr(void)
{
	uint16_t tr;

	asm volatile("ltr %w0" : : "r"(SEL_TSS));
	asm volatile("str %0" : "=r"(tr));
	check(tr == SEL_TSS, "LTR/STR: TR is the TSS selector");
	check(((gdt[8] >> 40) & 0xf) == 0xb, "LTR marked the TSS descriptor busy (type 11)");
	check(TRAP_TRY("ltr %w0", : : "r"(SEL_TSS)) == 13 && trap_last.error_code == SEL_TSS,
	      "LTR of a busy TSS: #GP(selector)");
}

/*
 * Segment bases and the accesses that stay inside the limits. The limit
 * and access-rights faults are in seglimit.c: QEMU TCG does not check
 * data segment limits or writability, so they cannot be recorded there.
 */
static void test_segments(void)
{
	uint32_t v = 0, vec;

	*(volatile uint32_t *)(seg_buf + 0x10) = 0x11223344;
	*(volatile uint32_t *)(seg_buf + 0xffc) = 0x55667788;
	load_gs(SEL_SMALL);
	asm volatile("movl %%gs:0x10, %0" : "=r"(v));
	check(v == 0x11223344, "data segment with base != 0: GS:0x10 reads base + 0x10");
	asm volatile("movl %%gs:0xffc, %0" : "=r"(v));
	check(v == 0x55667788, "small data segment: dword at the limit (0xffc..0xfff)");

	load_fs(SEL_EXPDOWN);
	asm volatile("movl %%fs:(%1), %0" : "=r"(v) : "r"(seg_buf + 0x10));
	check(v == 0x11223344, "expand-down data segment: offset above the limit reads memory");
	asm volatile("movl %%fs:0x100000, %0" : "=r"(v));
	check(v == 0x1BADB002u, "expand-down: limit + 1 reads linear limit + 1 (base 0)");

	/* The same descriptor as SS: the stack itself (above 1 MiB) stays valid. */
	asm volatile("movw %w0, %%ss" : : "r"(SEL_EXPDOWN) : "memory");
	vec = TRAP_TRY("pushl $0x77\n\tpopl %0", : "=r"(v));
	asm volatile("movw %w0, %%ss" : : "r"(SEL_DATA) : "memory");
	check(vec == TRAP_NONE && v == 0x77, "expand-down stack segment: PUSH/POP above the limit");

	load_gs(SEL_RODATA);
	asm volatile("movl %%gs:(%1), %0" : "=r"(v) : "r"(seg_buf + 0x10));
	check(v == 0x11223344, "read-only data segment: reads work");

	vec = TRAP_TRY("movw %w0, %%gs", : : "r"(SEL_PAST_GDT));
	check(vec == 13 && trap_last.error_code == SEL_PAST_GDT,
	      "loading a selector past the GDT limit: #GP(selector)");
	vec = TRAP_TRY("movw %w0, %%ss", : : "r"(SEL_UDATA & ~3));
	asm volatile("movw %w0, %%ss" : : "r"(SEL_DATA) : "memory");
	check(vec == 13 && trap_last.error_code == (SEL_UDATA & ~3),
	      "loading SS with a DPL 3 segment at CPL 0: #GP(selector)");
	load_gs(SEL_DATA);
	load_fs(SEL_DATA);
}

static volatile uint32_t gate_eflags, gate_frame_end;

static void gate_probe(struct trap_frame *f)
{
	gate_eflags = read_eflags();
	gate_frame_end = (uintptr_t)&f->esp;	/* just past EFLAGS */
}

static void test_idt(void)
{
	uint32_t esp, vec;

	pic_mask_all();
	trap_set_handler(0x40, gate_probe);
	trap_set_handler(0x41, gate_probe);
	guest_idt[0x41] |= 1ull << 40;		/* type 0xe -> 0xf: trap gate */

	asm volatile("sti\n\tmovl %%esp, %0\n\tint $0x40\n\tcli" : "=&r"(esp) : : "memory");
	check(!(gate_eflags & EFLAGS_IF), "32-bit interrupt gate clears IF");
	check(gate_frame_end == esp, "same-privilege gate: EIP, CS, EFLAGS pushed on the current stack");
	asm volatile("sti\n\tint $0x41\n\tcli" : : : "memory");
	check(gate_eflags & EFLAGS_IF, "32-bit trap gate leaves IF set");

	vec = TRAP_TRY("ud2");
	check(vec == 6 && trap_last.eip == trap_last.start && trap_last.cs == SEL_CODE &&
	      (trap_last.eflags & 2), "#UD through a 32-bit gate: EIP of the ud2, CS, EFLAGS");
	vec = TRAP_TRY("int3");
	check(vec == 3 && trap_last.eip == trap_last.fixup, "#BP: saved EIP is after the int3");
	trap_set_handler(0x40, NULL);
	trap_set_handler(0x41, NULL);
}

static volatile uint32_t r3_cs, r3_eip, r3_frame_end;

static void ring3_exit(struct trap_frame *f)
{
	r3_cs = f->cs & 0xffff;
	r3_eip = f->eip;
	r3_frame_end = (uintptr_t)(&f->ss + 1);
	/* Back to ring 0: IRET to p32_ring3_back (same privilege: pops 3 words). */
	f->eip = (uintptr_t)p32_ring3_back;
	f->cs = SEL_CODE;
	f->eflags = 0x2;
	f->ds = f->es = f->fs = f->gs = SEL_DATA;
}

static void test_call_gates(void)
{
	uint32_t ret, esp;

	asm volatile("movl $1f, %0\n\t"
		     "movl %%esp, %1\n\t"
		     "lcall %2, $0x1234\n"
		     "1:"
		     : "=&r"(ret), "=&r"(esp) : "i"(SEL_GATE0) : "eax", "memory");
	check(p32_gate[0] == esp - 8 && p32_gate[1] == ret && p32_gate[2] == SEL_CODE,
	      "far call through a DPL 0 call gate: CS:EIP pushed, same stack");

	guest_idt[0x30] |= 3ull << 45;		/* DPL 3: ring 3 may INT 0x30 */
	trap_set_handler(0x30, ring3_exit);
	p32_enter_ring3((uintptr_t)p32_user_callgate, USTACK_TOP);
	trap_set_handler(0x30, NULL);

	check(p32_gate[0] == KSTACK_TOP - 24, "call gate to ring 0: stack switched to TSS ESP0");
	check(p32_gate[28 / 4] == SEL_CODE && p32_gate[32 / 4] == SEL_DATA,
	      "call gate to ring 0: CS from the gate, SS from TSS SS0");
	check(p32_gate[1] == (uintptr_t)p32_user_ret && p32_gate[2] == SEL_UCODE,
	      "call gate to ring 0: caller CS:EIP (RPL 3) pushed");
	check(p32_gate[3] == 0x2222 && p32_gate[4] == 0x1111,
	      "call gate: 2 parameters copied in order");
	check(p32_gate[5] == USTACK_TOP - 8 && p32_gate[6] == SEL_UDATA,
	      "call gate: caller SS:ESP pushed");
	check(p32_res[0] == USTACK_TOP && p32_res[1] == USTACK_TOP,
	      "RET 8 to ring 3: parameters released on the caller's stack");
	check(p32_res[2] == SEL_UCODE && p32_res[3] == SEL_UDATA,
	      "RET to ring 3: CS RPL 3, DS (DPL 3) kept");
	check(r3_cs == SEL_UCODE && r3_frame_end == KSTACK_TOP,
	      "INT 0x30 from ring 3: frame on the TSS ESP0 stack");
}

/* Referenced by name from the asm below. */
static uint32_t pa_out[8] __attribute__((used)), pa_after[8] __attribute__((used));
static uint32_t pa_esp0 __attribute__((used)), pa_esp1 __attribute__((used));
static uint32_t pa_wdelta __attribute__((used));

static void test_pusha(void)
{
	asm volatile("pushl %%ebp\n\t"
		     "movl %%esp, pa_esp0\n\t"
		     "movl $0xa0a0a0a0, %%eax\n\t"
		     "movl $0xc1c1c1c1, %%ecx\n\t"
		     "movl $0xd2d2d2d2, %%edx\n\t"
		     "movl $0xb3b3b3b3, %%ebx\n\t"
		     "movl $0xb5b5b5b5, %%ebp\n\t"
		     "movl $0x56565656, %%esi\n\t"
		     "movl $0xd7d7d7d7, %%edi\n\t"
		     "pushal\n\t"
		     "movl %%esp, pa_esp1\n\t"
		     "movl 0(%%esp), %%eax\n\tmovl %%eax, pa_out\n\t"
		     "movl 4(%%esp), %%eax\n\tmovl %%eax, pa_out + 4\n\t"
		     "movl 8(%%esp), %%eax\n\tmovl %%eax, pa_out + 8\n\t"
		     "movl 12(%%esp), %%eax\n\tmovl %%eax, pa_out + 12\n\t"
		     "movl 16(%%esp), %%eax\n\tmovl %%eax, pa_out + 16\n\t"
		     "movl 20(%%esp), %%eax\n\tmovl %%eax, pa_out + 20\n\t"
		     "movl 24(%%esp), %%eax\n\tmovl %%eax, pa_out + 24\n\t"
		     "movl 28(%%esp), %%eax\n\tmovl %%eax, pa_out + 28\n\t"
		     "movl $0xdeadbeef, 12(%%esp)\n\t"	/* POPAD skips the ESP slot */
		     "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t"
		     "xorl %%ebx, %%ebx\n\txorl %%ebp, %%ebp\n\txorl %%esi, %%esi\n\t"
		     "xorl %%edi, %%edi\n\t"
		     "popal\n\t"
		     "movl %%eax, pa_after\n\tmovl %%ecx, pa_after + 4\n\t"
		     "movl %%edx, pa_after + 8\n\tmovl %%ebx, pa_after + 12\n\t"
		     "movl %%esp, pa_after + 16\n\tmovl %%ebp, pa_after + 20\n\t"
		     "movl %%esi, pa_after + 24\n\tmovl %%edi, pa_after + 28\n\t"
		     "movl %%esp, %%eax\n\t"
		     "pushaw\n\t"
		     "subl %%esp, %%eax\n\t"
		     "movl %%eax, pa_wdelta\n\t"
		     "popaw\n\t"
		     "popl %%ebp"
		     : : : "eax", "ecx", "edx", "ebx", "esi", "edi", "memory");
	check(pa_esp0 - pa_esp1 == 32, "PUSHAD pushes 8 dwords");
	check(pa_out[7] == 0xa0a0a0a0 && pa_out[6] == 0xc1c1c1c1 && pa_out[5] == 0xd2d2d2d2 &&
	      pa_out[4] == 0xb3b3b3b3 && pa_out[2] == 0xb5b5b5b5 && pa_out[1] == 0x56565656 &&
	      pa_out[0] == 0xd7d7d7d7, "PUSHAD order: EAX at the top ... EDI at the bottom");
	check(pa_out[3] == pa_esp0, "PUSHAD stores ESP as it was before the instruction");
	check(pa_after[0] == 0xa0a0a0a0 && pa_after[1] == 0xc1c1c1c1 &&
	      pa_after[2] == 0xd2d2d2d2 && pa_after[3] == 0xb3b3b3b3 &&
	      pa_after[5] == 0xb5b5b5b5 && pa_after[6] == 0x56565656 &&
	      pa_after[7] == 0xd7d7d7d7, "POPAD restores the 7 registers");
	check(pa_after[4] == pa_esp0, "POPAD discards the stored ESP");
	check(pa_wdelta == 16, "PUSHAW (0x66) pushes 8 words");
}

#define ARITH_FLAGS	(EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF)

/* Expected values are worked out from the SDM pseudocode by hand. */
static void test_bcd(void)
{
	uint32_t ax, fl, vec;

	ax = 0x79;
	asm volatile("addb $0x35, %%al\n\tdaa\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xff) == 0x14 && (fl & ARITH_FLAGS) == (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF),
	      "DAA: 0x79 + 0x35 = 0x14, CF AF PF");
	ax = 0x50;
	asm volatile("addb $0x50, %%al\n\tdaa\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xff) == 0x00 && (fl & ARITH_FLAGS) == (EFLAGS_CF | EFLAGS_PF | EFLAGS_ZF),
	      "DAA: 0x50 + 0x50 = 0x00, CF ZF PF");
	ax = 0x35;
	asm volatile("subb $0x47, %%al\n\tdas\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xff) == 0x88 &&
	      (fl & ARITH_FLAGS) == (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_SF),
	      "DAS: 0x35 - 0x47 = 0x88, CF AF SF PF");
	ax = 0x0008;
	asm volatile("addb $6, %%al\n\taaa\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xffff) == 0x0104 && (fl & (EFLAGS_CF | EFLAGS_AF)) == (EFLAGS_CF | EFLAGS_AF),
	      "AAA: 8 + 6 = AX 0x0104, CF AF");
	ax = 0x0002;
	asm volatile("subb $5, %%al\n\taas\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xffff) == 0xff07 && (fl & (EFLAGS_CF | EFLAGS_AF)) == (EFLAGS_CF | EFLAGS_AF),
	      "AAS: 2 - 5 = AX 0xff07, CF AF");
	ax = 0x003f;
	asm volatile("aam\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xffff) == 0x0603 && (fl & (EFLAGS_ZF | EFLAGS_SF | EFLAGS_PF)) == EFLAGS_PF,
	      "AAM: 63 = AX 0x0603, PF");
	ax = 0x003f;
	asm volatile(".byte 0xd4, 0x10\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xffff) == 0x030f, "AAM 16: 0x3f = AX 0x030f");
	ax = 0x0603;
	asm volatile("aad\n\tpushfl\n\tpopl %1" : "+a"(ax), "=r"(fl));
	check((ax & 0xffff) == 0x003f && (fl & (EFLAGS_ZF | EFLAGS_SF | EFLAGS_PF)) == EFLAGS_PF,
	      "AAD: AX 0x0603 = 63, AH 0, PF");
	ax = 0x0305;
	asm volatile(".byte 0xd5, 0x10" : "+a"(ax));
	check((ax & 0xffff) == 0x0035, "AAD 16: AX 0x0305 = 0x35");
	ax = 0x1234;
	vec = TRAP_TRY(".byte 0xd4, 0x00", : "+a"(ax));
	check(vec == 0 && trap_last.eip == trap_last.start && (ax & 0xffff) == 0x1234,
	      "AAM 0: #DE, AX unchanged");
}

static uint32_t read32(uint32_t va)
{
	return *(volatile uint32_t *)(uintptr_t)va;
}

static void paging_on(uint32_t cr3, uint32_t cr4_bits)
{
	write_cr4((read_cr4() & ~(CR4_PSE | CR4_PAE)) | cr4_bits);
	write_cr3(cr3);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PSE | CR4_PAE));
}

static void test_paging32(void)
{
	uint32_t i, vec, v = 0;

	for (i = 0; i < 16; i++)		/* 0..64 MiB identity, 4 MiB pages */
		pd32[i] = (i << 22) | PTE_P | PTE_RW | PTE_PS;
	pd32[0x100] = 0x00800000 | PTE_P | PTE_RW | PTE_PS;	/* alias of 8 MiB */
	pd32[0x101] = (uintptr_t)pt32 | PTE_P | PTE_RW;
	pd32[0x103] = 0x00c00000 | PTE_P | PTE_PS;		/* read-only */
	pt32[0] = (uintptr_t)page_a | PTE_P | PTE_RW;
	pt32[1] = (uintptr_t)page_b | PTE_P;			/* read-only */
	page_a[3] = 0xaaaa0003;
	*(volatile uint32_t *)0x801234 = 0xcafe0001;

	paging_on((uintptr_t)pd32, CR4_PSE);
	check(read_cr0() & CR0_PG, "32-bit paging on (CR4.PSE, no PAE)");
	check(read32(ALIAS_VA + 0x1234) == 0xcafe0001,
	      "4 MiB page: 0x40001234 reads physical 0x801234");
	check((pd32[0x100] & (PTE_A | PTE_D)) == PTE_A, "4 MiB PDE: A set by a read, D still clear");
	*(volatile uint32_t *)(ALIAS_VA + 0x1238) = 0xcafe0002;
	check((pd32[0x100] & PTE_D) && *(volatile uint32_t *)0x801238 == 0xcafe0002,
	      "4 MiB PDE: write through the alias sets D, lands at 8 MiB");
	check(read32(ALIAS_VA + 0x400000 + 12) == 0xaaaa0003, "4K page table next to 4 MiB pages");
	vec = TRAP_TRY("movl (%1), %0", : "=r"(v) : "r"(ALIAS_VA + 0x800010));
	check(vec == 14 && trap_last.error_code == 0 && trap_last.cr2 == ALIAS_VA + 0x800010,
	      "not-present PDE: #PF, error 0, CR2");
	vec = TRAP_TRY("movl $1, (%0)", : : "r"(ALIAS_VA + 0xc00020) : "memory");
	check(vec == 14 && trap_last.error_code == 3 && trap_last.cr2 == ALIAS_VA + 0xc00020,
	      "read-only 4 MiB page, CR0.WP: write is #PF, error W|P");
	vec = TRAP_TRY("movl $1, (%0)", : : "r"(ALIAS_VA + 0x401000) : "memory");
	check(vec == 14 && trap_last.error_code == 3, "read-only 4K page, CR0.WP: write is #PF");
	paging_off();
	check(!(read_cr0() & CR0_PG), "32-bit paging off again");
}

static bool cpu_has_nx(void)
{
	uint32_t r[4];

	cpuid(0x80000000u, 0, r);
	if (r[0] < 0x80000001u)
		return false;
	cpuid(0x80000001u, 0, r);
	return r[3] & (1u << 20);
}

static void test_pae(void)
{
	uint32_t i, v = 0, vec = TRAP_NONE, target = ALIAS_VA + 0x1000;
	bool nx = cpu_has_nx();

	for (i = 0; i < 32; i++)		/* 0..64 MiB identity, 2 MiB pages */
		pae_pd0[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
	pae_pd1[0] = (uintptr_t)pae_pt | PTE_P | PTE_RW;
	pae_pd1[1] = 0x00a00000 | PTE_P | PTE_RW | PTE_PS;
	pae_pt[0] = (uintptr_t)page_a | PTE_P | PTE_RW;
	pae_pt[1] = (uintptr_t)page_x | PTE_P | (nx ? PAE_NX : 0);
	pdpt[0] = (uintptr_t)pae_pd0 | PTE_P;	/* PDPTEs: P only, RW/US are reserved */
	pdpt[1] = (uintptr_t)pae_pd1 | PTE_P;
	page_a[5] = 0xaaaa0005;
	page_b[5] = 0xbbbb0005;
	page_x[0] = 0xc3;			/* ret */
	*(volatile uint32_t *)0xa00040 = 0xcafe0040;
	if (nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);

	paging_on((uintptr_t)pdpt, CR4_PAE);
	check((read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE), "PAE paging on (legacy, 3 levels)");
	check(read32(ALIAS_VA + 20) == 0xaaaa0005, "PAE: 4K page through PDPTE 1");
	check(read32(ALIAS_VA + 0x200040) == 0xcafe0040, "PAE: 2 MiB page");
	*(volatile uint32_t *)(ALIAS_VA + 24) = 1;
	check((pae_pt[0] & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "PAE: PTE A and D set by a write");
	pae_pt[0] = (uintptr_t)page_b | PTE_P | PTE_RW;
	invlpg((void *)ALIAS_VA);
	check(read32(ALIAS_VA + 20) == 0xbbbb0005, "PAE: PTE edited to another page + INVLPG");

	/* A fetch from the NX page faults after the CALL pushed: restore ESP. */
	trap_last.vector = TRAP_NONE;
	asm volatile("movl %%esp, %%esi\n\t"
		     "movl $1f, trap_fixup\n\t"
		     "call *%0\n"
		     "1:\tmovl %%esi, %%esp\n\t"
		     "movl $0, trap_fixup"
		     : : "r"(target) : "esi", "eax", "ecx", "edx", "memory");
	vec = trap_last.vector;
	if (nx)
		check(vec == 14 && trap_last.error_code == 0x11 && trap_last.cr2 == target &&
		      trap_last.eip == target, "PAE: fetch from an XD page is #PF, error I/D|P");
	else
		check(vec == TRAP_NONE, "PAE: fetch from an XD page is #PF, error I/D|P");
	vec = TRAP_TRY("movl (%1), %0", : "=r"(v) : "r"(ALIAS_VA + 0x400000));
	check(vec == 14 && trap_last.error_code == 0 && trap_last.cr2 == ALIAS_VA + 0x400000,
	      "PAE: not-present PDE: #PF, error 0");
	paging_off();
	check(!(read_cr0() & CR0_PG) && !(read_cr4() & CR4_PAE), "PAE paging off again");
}

void guest_main(void)
{
	pic_mask_all();
	setup_gdt();
	test_mode();
	test_tr();
	test_segments();
	test_idt();
	test_call_gates();
	test_pusha();
	test_bcd();
	test_paging32();
	test_pae();
	check(TRAP_TRY("ud2") == 6, "exceptions still delivered at the end");
}
