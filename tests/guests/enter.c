// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * enter: ENTER in 32-bit protected mode (lib32 runtime). With a 32-bit
 * operand size on a 16-bit stack (SS.B = 0) only SP moves, and EBP and
 * the pushed frame pointer get the whole ESP (its upper half with SP): what
 * an Intel host CPU does (checked in ring 3 through a 16-bit LDT stack).
 * With a 16-bit operand size only BP changes. Nesting levels copy the
 * outer frame pointers. ENTER checks a write through the final stack
 * pointer before it changes anything: #SS(0) with ESP and EBP untouched,
 * on a 16-bit and on a 32-bit stack segment.
 * QEMU TCG checks no stack-segment limits, so the guest is not run there.
 */
#include "guest32.h"

const char guest_name[] = "enter";

#define SEL_STK16	0x18	/* base stack16, limit 0xffff, B = 0 */
/*
 * Base 0, limit 0xfff: the #SS frame goes on the faulting stack itself
 * (no privilege change), where the runtime's C handler can run.
 */
#define SEL_SMALL16	0x20	/* B = 0 */
#define SEL_SMALL32	0x28	/* B = 1 */

static uint64_t gdt[6] __attribute__((aligned(8)));
static uint8_t stack16[0x10000] __attribute__((aligned(16)));
static volatile uint32_t in_esp, in_ebp, out_esp, out_ebp, restore_eip;

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static void setup(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };

	gdt[1] = 0x00cf9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	gdt[3] = seg_desc((uintptr_t)stack16, 0xffff, 0x92, 0x0);
	gdt[4] = seg_desc(0, 0xfff, 0x92, 0x0);
	gdt[5] = seg_desc(0, 0xfff, 0x92, 0x4);
	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss"
		     : : "m"(gd), "i"(SEL_CODE), "i"(SEL_DATA) : "eax", "memory");
}

/*
 * Run @insn with SS = @sel, ESP = in_esp, EBP = in_ebp; out_* get ESP
 * and EBP after it (or as they were when it faulted). Interrupts are off.
 */
#define ON_STACK(sel, insn)						\
	TRAP_TRY("movl $4f, restore_eip\n\t"				\
		 "movl %%esp, %%edi\n\t"					\
		 "movw %%ss, %%si\n\t"					\
		 "movw %w0, %%ss\n\t"					\
		 "movl in_esp, %%esp\n\t"				\
		 "movl in_ebp, %%ebp\n"					\
		 "3:\t" insn "\n\t"					\
		 "movl %%esp, out_esp\n\t"				\
		 "movl %%ebp, out_ebp\n"				\
		 "4:\tmovw %%si, %%ss\n\t"				\
		 "movl %%edi, %%esp",					\
		 : : "r"(sel) : "esi", "edi", "ebp", "memory")

static volatile uint32_t *at(uint32_t off)
{
	return (volatile uint32_t *)(stack16 + off);
}

/*
 * #SS from ENTER on a small stack: the CPU's frame (error code, EIP, CS,
 * EFLAGS; no stack switch) lands on that stack, so the handler is a few
 * instructions of asm: record ESP before the frame, EBP and the error
 * code, and resume where ON_STACK puts SS and ESP back.
 */
static volatile uint32_t ss_vec, ss_err;
void ss_stub(void);
asm(".text\n"
    ".globl ss_stub\n"
    "ss_stub:\n"
    "	movl %ebp, out_ebp\n"
    "	movl $12, ss_vec\n"
    "	pushl %eax\n"
    "	movl 4(%esp), %eax\n"
    "	movl %eax, ss_err\n"
    "	leal 20(%esp), %eax\n"
    "	movl %eax, out_esp\n"
    "	movl restore_eip, %eax\n"
    "	movl %eax, 8(%esp)\n"
    "	popl %eax\n"
    "	addl $4, %esp\n"
    "	iret\n");

static uint64_t int_gate(void (*fn)(void))
{
	uint32_t a = (uintptr_t)fn;

	return (a & 0xffff) | (uint64_t)SEL_CODE << 16 | 0x8eull << 40 | (uint64_t)(a >> 16) << 48;
}

static void test_layouts(void)
{
	uint32_t vec;

	in_esp = 0xabcd8000;
	in_ebp = 0x12344000;
	*at(0x3ffc) = 0x0badf00d;
	vec = ON_STACK(SEL_STK16, "enterl $8, $0");
	check(vec == TRAP_NONE && out_ebp == 0xabcd7ffc && out_esp == 0xabcd7ff4,
	      "o32 ENTER 8,0 on a 16-bit stack: EBP = ESP (upper half kept), SP -= 12");
	check(*at(0x7ffc) == 0x12344000, "o32 ENTER on a 16-bit stack: EBP pushed at SS:SP-4");

	vec = ON_STACK(SEL_STK16, "enterl $8, $2");
	check(vec == TRAP_NONE && out_ebp == 0xabcd7ffc && out_esp == 0xabcd7fec,
	      "o32 ENTER 8,2 on a 16-bit stack: EBP = ESP, SP -= 20");
	check(*at(0x7ff8) == 0x0badf00d && *at(0x7ff4) == 0xabcd7ffc,
	      "o32 ENTER 8,2: outer frame copied from SS:BP-4, the frame pointer pushed whole");

	vec = ON_STACK(SEL_STK16, "enterw $8, $2");
	check(vec == TRAP_NONE && out_ebp == 0x12347ffe && out_esp == 0xabcd7ff2,
	      "o16 ENTER 8,2 on a 16-bit stack: only BP and SP change");
	check((*at(0x7ffc) & 0xffff) == 0x0bad && (*at(0x7ff8) >> 16) == 0x7ffe,
	      "o16 ENTER 8,2: 16-bit outer frame copy and frame pointer");
}

static void test_probe(void)
{
	uint64_t saved = guest_idt[12];
	uint32_t vec;

	guest_idt[12] = int_gate(ss_stub);
	in_esp = 0x800;
	in_ebp = 0x4000;
	ss_vec = TRAP_NONE;
	ON_STACK(SEL_SMALL16, "enterl $0x900, $0");
	check(ss_vec == 12 && ss_err == 0,
	      "ENTER whose final SP leaves a 16-bit segment: #SS(0)");
	check(out_esp == 0x800 && out_ebp == 0x4000, "ENTER #SS: ESP and EBP untouched");

	ss_vec = TRAP_NONE;
	ON_STACK(SEL_SMALL32, "enterl $0x900, $0");
	check(ss_vec == 12 && ss_err == 0,
	      "ENTER whose final ESP wraps below a 32-bit segment: #SS(0)");
	check(out_esp == 0x800 && out_ebp == 0x4000, "ENTER #SS on a 32-bit stack: ESP and EBP untouched");

	ss_vec = TRAP_NONE;
	vec = ON_STACK(SEL_SMALL32, "enterl $0x700, $0");
	check(vec == TRAP_NONE && ss_vec == TRAP_NONE && out_esp == 0x800 - 4 - 0x700 && out_ebp == 0x7fc,
	      "ENTER whose final ESP stays inside: no fault");
	guest_idt[12] = saved;
}

void guest_main(void)
{
	setup();
	test_layouts();
	test_probe();
}
