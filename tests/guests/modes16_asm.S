/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * modes16: the mode-switching code. Three round trips from 64-bit mode:
 *  - compatibility mode with a 32-bit code segment (modes_compat32),
 *  - compatibility mode with a 16-bit code segment (modes_compat16),
 *  - all the way down to real mode and back (modes_real): long mode ->
 *    32-bit protected mode (paging off) -> 16-bit protected mode -> real
 *    mode -> 32-bit protected mode -> long mode.
 * The 16-bit code is a blob (tramp_start..tramp_end) the C side copies to
 * LOW_BASE, since real mode cannot reach the image at 1 MiB. Its labels
 * are used as offsets from tramp_start (CS base = LOW_BASE). Results are
 * 16-bit words in the blob's result area, read back by the C side.
 * Interrupts stay off throughout: in real mode the IDTR still describes
 * the 64-bit IDT, so nothing in the 16-bit code may fault.
 */

#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_CODE16	0x20	/* 16-bit code, base LOW_BASE, limit 64K */
#define SEL_DATA16	0x28	/* 16-bit data, base 0, limit 64K */
#define LOW_BASE	0x6000
#define LOW_SEG		0x0600
#define LOW_STACK	0x0ff0	/* offset: stack top inside the low page pair */

#define OFF(x)		((x) - tramp_start)
#define LOW(x)		(LOW_BASE + OFF(x))

/* ------------------------------------------------------------------ */
	.text
	.code64

/* void modes_compat32(void): results in modes_c32_res[0..4]. */
	.globl modes_compat32
modes_compat32:
	pushq %rbx
	subq $8, %rsp
	movl $c32_ret, (%rsp)		/* far return frame for a 32-bit lret */
	movl $SEL_CODE64, 4(%rsp)
	pushq $SEL_CODE32
	pushq $c32_entry
	lretq
c32_ret:
	popq %rbx
	ret

	.code32
c32_entry:
	movl $5, %eax
	.byte 0x48			/* dec %eax here; a REX prefix in 64-bit mode */
	movl %eax, modes_c32_res
	movl %esp, %ecx
	pushl $0
	subl %esp, %ecx
	popl %edx
	movl %ecx, modes_c32_res + 4	/* push size */
	movl $0xffffffff, %eax
	movw $0x1234, %ax		/* operand-size prefix: 16-bit move */
	movl %eax, modes_c32_res + 8
	xorl %eax, %eax
	movw %cs, %ax
	movl %eax, modes_c32_res + 12
	movl $0x7fffffff, %eax
	addl $1, %eax			/* 32-bit overflow: OF set, SF set */
	pushfl
	popl %eax
	andl $0x880, %eax
	movl %eax, modes_c32_res + 16
	lret

/* ------------------------------------------------------------------ */
	.code64
/* void modes_compat16(void): results in the blob (p16_res). */
	.globl modes_compat16
modes_compat16:
	pushq %rbx
	subq $8, %rsp
	movl $c16_ret, (%rsp)
	movl $SEL_CODE64, 4(%rsp)
	pushq $SEL_CODE16
	pushq $OFF(p16_entry)
	lretq
c16_ret:
	popq %rbx
	ret

/* ------------------------------------------------------------------ */
/* void modes_real(void): results in the blob (rm_res). */
	.globl modes_real
modes_real:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, saved_rsp(%rip)
	pushq $SEL_CODE32
	pushq $r32_down
	lretq

	.code32
r32_down:
	movl %cr0, %eax
	andl $0x7fffffff, %eax		/* paging off: leaves long mode */
	movl %eax, %cr0
	movl $0xc0000080, %ecx
	rdmsr
	andl $~0x100, %eax		/* EFER.LME off */
	wrmsr
	movl $SEL_DATA16, %eax		/* 64K limits before real mode */
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $(LOW_BASE + LOW_STACK), %esp
	ljmp $SEL_CODE16, $OFF(pm16_down)

r32_up:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* EFER.LME on */
	wrmsr
	movl %cr0, %eax			/* CR3 and CR4.PAE were kept */
	orl $0x80000000, %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $r64_up

	.code64
r64_up:
	movq saved_rsp(%rip), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.data
	.balign 8
saved_rsp:
	.quad 0

	.bss
	.balign 4
	.globl modes_c32_res
modes_c32_res:
	.skip 20

/* ------------------------------------------------------------------ */
/* The low blob: copied to LOW_BASE, runs with CS base = LOW_BASE. */
	.section .rodata
	.balign 16
	.globl tramp_start, tramp_end, tramp_rm_res, tramp_p16_res
tramp_start:
	.code16

/* Compatibility mode, 16-bit code segment; DS/SS are flat (base 0). */
p16_entry:
	movw $0x1234, %ax		/* b8 + imm16: must not eat the next insn */
	movw %ax, LOW(tramp_p16_res)
	movl %esp, %ecx
	pushw %ax
	subl %esp, %ecx
	popw %ax
	movw %cx, LOW(tramp_p16_res) + 2	/* push size */
	movw %cs, %ax
	movw %ax, LOW(tramp_p16_res) + 4
	movw $0xffff, %bx
	incw %bx			/* 16-bit wrap: 0, ZF */
	pushfw
	popw %ax
	andw $0x40, %ax
	orw %bx, %ax
	movw %ax, LOW(tramp_p16_res) + 6
	movl $0x89abcdef, %eax		/* operand-size prefix: 32-bit move */
	shrl $16, %eax
	movw %ax, LOW(tramp_p16_res) + 8
	lretl				/* 32-bit far return to 64-bit code */

/* 16-bit protected mode (legacy), on the way down to real mode. */
pm16_down:
	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0
	ljmp $LOW_SEG, $OFF(rm_entry)

/* Real mode: CS = LOW_SEG. */
rm_entry:
	movw $LOW_SEG, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $LOW_STACK, %sp

	/* 0: segment arithmetic, 0x0700:0x0010 == 0x0600:0x1010 */
	movw $0x0700, %ax
	movw %ax, %es
	movw $0xbeef, %es:0x0010
	movw 0x1010, %ax
	movw %ax, OFF(tramp_rm_res)

	/* 1: CR0.PE and CR0.PG both clear */
	movl %cr0, %eax
	andl $0x80000001, %eax
	movw %ax, OFF(tramp_rm_res) + 2

	/* 2: 16-bit add carries out: CF and ZF */
	movw $0xffff, %ax
	addw $1, %ax
	pushfw
	popw %bx
	andw $0x41, %bx
	movw %bx, OFF(tramp_rm_res) + 4

	/* 3: operand-size prefix reaches the 32-bit registers */
	movl $0x12345678, %eax
	shrl $16, %eax
	movw %ax, OFF(tramp_rm_res) + 6

	/* 4: pushes are 2 bytes */
	movw %sp, %cx
	pushw %ax
	subw %sp, %cx
	popw %ax
	movw %cx, OFF(tramp_rm_res) + 8

	/* 5: near call/ret with a 16-bit return address */
	xorw %ax, %ax
	call rm_sub
	movw %ax, OFF(tramp_rm_res) + 10

	/* 6: rep movsw within the segment */
	movw %ds, %ax
	movw %ax, %es
	movw $OFF(rm_src), %si
	movw $OFF(rm_dst), %di
	movw $4, %cx
	cld
	rep movsw
	movw OFF(rm_dst) + 6, %ax
	orw %cx, %ax			/* CX must be 0 */
	movw %ax, OFF(tramp_rm_res) + 12

	/* 7: 16-bit effective addresses wrap: 0xffff + 2 = 0x0001 */
	movw $0xffff, %bx
	leaw 2(%bx), %ax
	movw %ax, OFF(tramp_rm_res) + 14

	/* 8: CS is the real-mode segment */
	movw %cs, %ax
	movw %ax, OFF(tramp_rm_res) + 16

	/* 9: made it to the end */
	movw $0x600d, OFF(tramp_rm_res) + 18

	/* Back up: PE on, 32-bit far jump into the image. */
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $r32_up

rm_sub:
	movw $0x5a5a, %ax
	ret

	.balign 2
rm_src:
	.word 0x1111, 0x2222, 0x3333, 0x4444
rm_dst:
	.word 0, 0, 0, 0
tramp_rm_res:
	.fill 10, 2, 0
tramp_p16_res:
	.fill 5, 2, 0
tramp_end:
	.code64

	.section .note.GNU-stack, "", @progbits
