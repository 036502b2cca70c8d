/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 32-bit guest kit entry: multiboot v1 header, a flat GDT, and the
 * exception/interrupt stubs for all 256 vectors. Never enters long mode.
 */

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* page-align modules, want mem info */

#define STACK_SIZE	16384

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry32, "ax"
	.code32
	.globl _start
_start:
	/* Loader state: flat 32-bit PM, paging off, EAX magic, EBX info. */
	cli
	cld
	movl %eax, guest_mb_magic
	movl %ebx, guest_mb_info_addr
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $stack_top, %esp
	xorl %ebp, %ebp
	call guest_start
2:	cli
	hlt
	jmp 2b

	.text
/*
 * One 16-byte stub per vector (stub n at trap_stubs + 16 * n). Vectors
 * without a CPU error code push a 0 to keep one frame layout.
 */
	.balign 16
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.set has_err, (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
	.set has_err, has_err || (vec == 21) || (vec == 29) || (vec == 30)
	.if has_err == 0
	pushl $0
	.endif
	pushl $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	/* The interrupted code may have had any data segment loaded. */
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	cld
	pushl %esp			/* struct trap_frame * */
	call trap_dispatch
	addl $4, %esp
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp			/* vector, error code */
	iret

	.data
	.balign 8
gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00cf9a000000ffff	/* 0x08 code, 32-bit flat */
	.quad 0x00cf92000000ffff	/* 0x10 data, flat */
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.globl guest_mb_magic, guest_mb_info_addr
	.balign 4
guest_mb_magic:
	.long 0
guest_mb_info_addr:
	.long 0

	.bss
	.balign 16
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
