/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smp: the application processors' way from a STARTUP IPI to C.
 *
 * ap_tramp_start..ap_tramp_end is a blob the C side copies to AP_BASE
 * (4 KiB aligned, below 1 MiB: a SIPI vector names it), with the BSP's
 * CR3 and the 64-bit entry filled in. An AP starts there in real mode at
 * CS = AP_BASE >> 4, IP = 0, loads the blob's GDT, enters protected mode,
 * turns on PAE, long mode and paging with the BSP's page tables, and
 * jumps to ap_entry64 in the image, which picks the stack of its APIC id
 * and calls ap_main(id). Interrupts stay off until ap_main turns them on.
 */

#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define AP_BASE		0x6000
#define AP_STACK	8192
#define LAPIC_ID	0xfee00020

#define OFF(x)		((x) - ap_tramp_start)
#define LOW(x)		(AP_BASE + OFF(x))

	.text
	.code16
	.globl ap_tramp_start, ap_tramp_end, ap_tramp_cr3, ap_tramp_entry
ap_tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl OFF(tr_gdt_desc)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $LOW(tr_pm32)

	.code32
tr_pm32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl LOW(ap_tramp_cr3), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80010023, %eax		/* PG | WP | NE | MP | PE */
	movl %eax, %cr0
	ljmp $SEL_CODE64, $LOW(tr_lm64)

	.code64
tr_lm64:
	movq LOW(ap_tramp_entry), %rax
	jmp *%rax

	.balign 8
tr_gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00af9a000000ffff	/* 0x08 code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 data, flat */
	.quad 0x00cf9a000000ffff	/* 0x18 code, 32-bit flat */
tr_gdt_desc:
	.word 4 * 8 - 1
	.long LOW(tr_gdt)
	.balign 8
ap_tramp_cr3:
	.quad 0
ap_tramp_entry:
	.quad 0
ap_tramp_end:

/* In the image: 64-bit, on the blob's GDT, paging on, no stack yet. */
	.globl ap_entry64
ap_entry64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $LAPIC_ID, %eax		/* zero-extended: above 2 GiB */
	movl (%rax), %edi
	shrl $24, %edi
	movl %edi, %eax
	incl %eax
	imull $AP_STACK, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	xorl %ebp, %ebp
	call ap_main
1:	cli
	hlt
	jmp 1b

	.bss
	.balign 4096
	.globl ap_stacks
ap_stacks:
	.skip AP_STACK * 8
