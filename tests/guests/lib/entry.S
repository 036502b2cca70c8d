/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest kit entry: multiboot v1 header, 32-bit entry, switch to 64-bit
 * long mode, exception/interrupt stubs for all 256 vectors.
 *
 * Assembled into a 64-bit object; the image is linked at 1 MiB and
 * converted to ELF32 so QEMU's multiboot loader takes it too. All symbol
 * addresses are below 2 GiB, so 32-bit absolute references are fine.
 */

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* page-align modules, want mem info */

#define STACK_SIZE	16384

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------------ */

	.section .text.entry32, "ax"
	.code32
	.globl _start
_start:
	/* Loader state: flat 32-bit PM, paging off, EAX magic, EBX info. */
	cli
	cld
	movl %eax, guest_mb_magic
	movl %ebx, guest_mb_info_addr

	/* Our own GDT: the loader's may be anywhere (even gone). */
	lgdt gdt_desc
	ljmp $0x18, $1f
1:	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $stack_top, %esp

	/* Long mode: PAE, CR3, EFER.LME, then PG. */
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $guest_pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80010023, %eax		/* PG | WP | NE | MP | PE */
	movl %eax, %cr0
	ljmp $0x08, $long_entry

	.code64
long_entry:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movq $stack_top, %rsp
	xorl %ebp, %ebp
	call guest_start
2:	cli
	hlt
	jmp 2b

/* ------------------------------------------------------------------ */

	.text
	.code64
/*
 * One 16-byte stub per vector, so stub n is at trap_stubs + 16 * n.
 * Vectors where the CPU pushes no error code push a 0 to keep one
 * frame layout (struct trap_frame).
 */
	.balign 16
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX push an error code */
	.set has_err, (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
	.set has_err, has_err || (vec == 21) || (vec == 29) || (vec == 30)
	.if has_err == 0
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	/* 22 quadwords below the CPU's 16-byte aligned frame start: the
	 * call below is made with RSP 16-byte aligned, as the ABI wants. */
	movq %rsp, %rdi
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp			/* vector, error code */
	iretq

/* ------------------------------------------------------------------ */

	.data
	.balign 8
gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00af9a000000ffff	/* 0x08 code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 data, flat */
	.quad 0x00cf9a000000ffff	/* 0x18 code, 32-bit flat */
	.quad 0x00cf12000000ffff	/* 0x20 data, not present (#NP tests) */
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl guest_mb_magic, guest_mb_info_addr
	.balign 4
guest_mb_magic:
	.long 0
guest_mb_info_addr:
	.long 0

/*
 * Boot page tables, built at assembly time so the entry runs no loop:
 * PML4[0] -> PDPT[0..3] -> 2048 PDEs of 2 MiB pages = 0..4 GiB identity.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl guest_pml4, guest_pdpt, guest_pd
guest_pml4:
	.quad guest_pdpt + 0x3
	.fill 511, 8, 0
guest_pdpt:
	.quad guest_pd + 0x0003
	.quad guest_pd + 0x1003
	.quad guest_pd + 0x2003
	.quad guest_pd + 0x3003
	.fill 508, 8, 0
guest_pd:
	.set pde, 0
	.rept 2048
	.quad (pde << 21) | 0x83	/* P | RW | PS */
	.set pde, pde + 1
	.endr

	.bss
	.balign 16
stack_bottom:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
