/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * modeswitch: two round trips between long mode and real mode.
 *
 *  pass 0: long -> 32-bit PM -> 16-bit PM (16-bit IDT, INT/#UD through
 *          16-bit gates, a 32-bit far call from 16-bit code) -> real mode
 *          (IVT: INT 0x21, #DE, #UD; unreal-mode FS; far CALL/RETF) ->
 *          LMSW sets PE (data segments keep their real-mode bases until
 *          reloaded) -> 16-bit PM (LMSW cannot clear PE) -> 32-bit PM ->
 *          long mode (LIDT of the 64-bit IDT again)
 *  pass 1: long -> 32-bit PM -> 16-bit PM -> real mode -> long mode in one
 *          MOV CR0 (PE and PG together; compatibility mode with the
 *          real-mode CS until the far jump) -> back to the caller.
 *
 * The 16-bit code is a blob (tramp_start..tramp_end) the C side copies to
 * LOW_BASE: real mode cannot reach the image at 1 MiB. Results are 16-bit
 * words in ms_res (in the blob), read back by modeswitch.c. Interrupts
 * stay off throughout; only the exceptions the test raises on purpose
 * may happen while the 64-bit IDT is not loaded.
 */

#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_CODE16	0x20	/* 16-bit code, base LOW_BASE, limit 64K */
#define SEL_DATA16	0x28	/* 16-bit data, base 0, limit 64K */
#define LOW_BASE	0x6000
#define LOW_SEG		0x0600
#define LOW_STACK	0x1ff0	/* offset: stack top inside the low pages */

#define OFF(x)		((x) - tramp_start)
#define LOW(x)		(LOW_BASE + OFF(x))
#define RES(n)		LOW(ms_res) + 2 * (n)	/* linear address of result n */
#define RRES(n)		OFF(ms_res) + 2 * (n)	/* offset from LOW_SEG:0 */

	.text
	.code64

/* void ms_run(void): both passes; returns in 64-bit mode. */
	.globl ms_run
ms_run:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, ms_saved_rsp(%rip)
	sidt ms_saved_idtr(%rip)
	pushq $SEL_CODE32
	pushq $pm32_down
	lretq

	.code32
/* 32-bit PM (compatibility mode until PG goes off). */
pm32_down:
	movl %cr0, %eax
	andl $0x7fffffff, %eax		/* paging off: leaves long mode */
	movl %eax, %cr0
	movl $0xc0000080, %ecx
	rdmsr
	andl $~0x100, %eax		/* EFER.LME off */
	wrmsr
	/* R0: PG (bit 0) and EFER.LMA (bit 1), both must be clear now */
	movl %cr0, %ebx
	shrl $31, %ebx
	rdmsr
	andl $0x400, %eax
	shrl $9, %eax
	orl %eax, %ebx
	movw %bx, RES(0)
	/* R1: 32-bit push size */
	movl %esp, %ecx
	pushl $0
	subl %esp, %ecx
	popl %eax
	movw %cx, RES(1)
	/* 16-bit segments for real mode; FS flat 4 GiB for the unreal test */
	movl $SEL_DATA16, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %gs
	movl %eax, %ss
	movl $SEL_DATA, %eax
	movl %eax, %fs
	movl $(LOW_BASE + LOW_STACK), %esp
	ljmp $SEL_CODE16, $OFF(pm16_down)

/* Reached with a 32-bit far call from 16-bit code (16-bit SS: SP is used). */
pm32_sub:
	movl %esp, %eax
	movw %ax, RES(8)
	lret

/* 16-bit PM -> 32-bit PM on the way up: then long mode. */
pm32_up:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $(LOW_BASE + LOW_STACK), %esp
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* EFER.LME on; CR3 and CR4.PAE were kept */
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $r64_up

	.code64
r64_up:
	lidt ms_saved_idtr(%rip)
	movabsq $0x6464000000000000, %rax	/* REX.W works again */
	shrq $48, %rax
	movw %ax, RES(22)
	incw LOW(ms_pass)
	pushq $SEL_CODE32
	pushq $pm32_down
	lretq

/* Real mode -> long mode directly lands here. */
r64_direct:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	lidt ms_saved_idtr(%rip)
	movw $0xd1ec, RES(24)
	movq ms_saved_rsp(%rip), %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.data
	.balign 8
ms_saved_rsp:
	.quad 0
ms_saved_idtr:
	.word 0
	.quad 0

/* ------------------------------------------------------------------ */
/* The low blob: copied to LOW_BASE. */
	.section .rodata
	.balign 16
	.globl tramp_start, tramp_end, ms_res, ms_pass, ms_param
	.globl ms_pm16_int_ret, ms_pm16_ud, ms_rm_int_ret, ms_rm_div, ms_rm_ud
tramp_start:
	.code16

/* 16-bit PM: CS = SEL_CODE16 (base LOW_BASE); DS/ES/SS base 0, 64K. */
pm16_down:
	cmpw $0, LOW(ms_pass)
	jne pm16_to_real
	/* R2: CS; R3: push size */
	movw %cs, %ax
	movw %ax, RES(2)
	movw %sp, %cx
	pushw %ax
	subw %sp, %cx
	popw %ax
	movw %cx, RES(3)
	/* INT 0x21 and #UD through 16-bit interrupt gates */
	lidt LOW(idt16_desc)
	movw %sp, LOW(sp_before)
	int $0x21
ms_pm16_int_ret:
ms_pm16_ud:
	ud2
	/* A 32-bit far call from 16-bit code pushes 32-bit CS and EIP. */
	movw %sp, RES(7)
	lcalll $SEL_CODE32, $pm32_sub
	movw $0x3232, RES(9)
pm16_to_real:
	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0
	ljmp $LOW_SEG, $OFF(rm_entry)

/* 16-bit gate handlers: FLAGS, CS, IP pushed as words. */
pm16_int:
	movw LOW(sp_before), %ax
	subw %sp, %ax
	movw %ax, RES(4)
	movw %sp, %bx
	movw %ss:(%bx), %ax
	movw %ax, RES(5)
	iretw
pm16_ud:
	movw %sp, %bx
	movw %ss:(%bx), %ax
	movw %ax, RES(6)
	addw $2, %ss:(%bx)		/* skip the ud2 */
	iretw

/* Real mode, CS = LOW_SEG. FS still has the flat 4 GiB limit from PM. */
rm_entry:
	movw $LOW_SEG, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $LOW_STACK, %sp
	cmpw $0, OFF(ms_pass)
	jne rm_second

	/* IVT at 0: vectors 0 (#DE), 6 (#UD), 0x21 */
	xorw %ax, %ax
	movw %ax, %es
	movw $OFF(rm_de), %es:0
	movw $LOW_SEG, %es:2
	movw $OFF(rm_ud), %es:24
	movw $LOW_SEG, %es:26
	movw $OFF(rm_int21), %es:0x84
	movw $LOW_SEG, %es:0x86
	lidt OFF(ivt_desc)
	movw %sp, OFF(sp_before)
	stc
	int $0x21
ms_rm_int_ret:
	movw $100, %ax
	xorb %bl, %bl
ms_rm_div:
	divb %bl
ms_rm_ud:
	ud2

	/* Unreal mode: a 32-bit offset through FS reaches the image. */
	movl OFF(ms_param), %esi
	movl %fs:(%esi), %eax
	movw %ax, RRES(15)
	shrl $16, %eax
	movw %ax, RRES(16)

	/* Far CALL/RETF within real mode. */
	lcall $LOW_SEG, $OFF(rm_far_sub)
	movw $0xfa12, RRES(18)

	/* Up again: LMSW sets PE; segment caches keep their real-mode bases. */
	smsw %ax
	orw $1, %ax
	lmsw %ax
	movw OFF(rm_marker), %ax	/* DS base still LOW_BASE */
	movw %ax, RRES(20)
	movl %cr0, %eax
	andw $1, %ax
	movw %ax, RRES(19)
	ljmp $SEL_CODE16, $OFF(pm16_up)

rm_int21:
	movw OFF(sp_before), %ax
	subw %sp, %ax
	movw %ax, RRES(12)
	movw %sp, %bx
	movw %ss:(%bx), %ax
	movw %ax, RRES(10)
	movw %ss:2(%bx), %ax
	movw %ax, RRES(11)
	movw %ss:4(%bx), %ax		/* FLAGS as pushed: CF from the stc */
	andw $1, %ax
	movw %ax, RRES(26)
	iret
rm_de:
	movw %sp, %bx
	movw %ss:(%bx), %ax
	movw %ax, RRES(13)
	addw $2, %ss:(%bx)		/* skip the 2-byte div */
	iret
rm_ud:
	movw %sp, %bx
	movw %ss:(%bx), %ax
	movw %ax, RRES(14)
	addw $2, %ss:(%bx)
	iret
rm_far_sub:
	movw %sp, %bx
	movw %ss:2(%bx), %ax		/* pushed CS */
	movw %ax, RRES(17)
	lret

/* 16-bit PM reached from real mode (after LMSW). */
pm16_up:
	movw $SEL_DATA16, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $(LOW_BASE + LOW_STACK), %sp
	smsw %ax
	andw $~1, %ax
	lmsw %ax			/* cannot clear PE */
	movl %cr0, %eax
	andw $1, %ax
	movw %ax, RES(21)
	ljmpl $SEL_CODE32, $pm32_up

/* Second pass: real mode -> long mode in one step. */
rm_second:
	movw $2, RRES(23)
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* EFER.LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PE and PG at once */
	movl %eax, %cr0
	/* Compatibility mode, still the real-mode CS (16-bit) and DS */
	rdmsr
	andw $0x400, %ax
	movw %ax, RRES(25)
	ljmpl $SEL_CODE64, $r64_direct

	.balign 8
idt16:
	.fill 6, 8, 0
	.word OFF(pm16_ud), SEL_CODE16, 0x8600, 0	/* 6: 16-bit interrupt gate */
	.fill 0x21 - 7, 8, 0
	.word OFF(pm16_int), SEL_CODE16, 0x8600, 0	/* 0x21 */
idt16_end:
idt16_desc:
	.word idt16_end - idt16 - 1
	.long LOW(idt16)
ivt_desc:
	.word 0x3ff
	.long 0
rm_marker:
	.word 0x7e57
sp_before:
	.word 0
ms_pass:
	.word 0
	.balign 4
ms_param:
	.long 0
ms_res:
	.fill 32, 2, 0
tramp_end:
	.code64

	.section .note.GNU-stack, "", @progbits
