/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring3: the ring-3 code and the ring-0 glue around it.
 *
 * User code lives alone in .text.user, page aligned at both ends, so the
 * C side can map exactly that page user-accessible (read-only). Every user
 * routine gets RDI = a user-writable result array R[] (8-byte slots) and
 * RSI = an argument, records what it sees in R[], and leaves ring 3 with
 * INT 0x80, RAX = 0 (or by faulting). ring3_run() enters ring 3 with IRETQ;
 * the C trap handler comes back by rewriting the trap frame to return to
 * ring3_back at CPL 0 with the stack ring3_run() saved.
 */

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_UCODE64	0x33	/* 0x30 | RPL 3 */
#define SEL_UDATA	0x2b	/* 0x28 | RPL 3 */

/* ------------------------------------------------------------------ */
	.text
	.code64

/*
 * void ring3_run(uint64_t rip, uint64_t rflags, uint64_t *res, uint64_t arg):
 * IRETQ to @rip at CPL 3 on ring3_user_rsp with @rflags; returns when a
 * trap handler sends the CPU to ring3_back.
 */
	.globl ring3_run
ring3_run:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, ring3_krsp(%rip)
	pushq $SEL_UDATA
	pushq ring3_user_rsp(%rip)
	pushq %rsi
	pushq $SEL_UCODE64
	pushq %rdi
	movq %rdx, %rdi
	movq %rcx, %rsi
	iretq

	.globl ring3_back
ring3_back:
	/* IRET to ring 3 nulled DS/ES/FS/GS (their DPL 0 < CPL 3). */
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/*
 * SYSCALL lands here at CPL 0 on the user's stack (SYSCALL does not switch
 * stacks): record what the CPU set up, return RAX + 0x100 with SYSRETQ.
 */
	.globl syscall_entry
syscall_entry:
	movq %rsp, sc_user_rsp(%rip)
	leaq sc_stack_top(%rip), %rsp
	movq %rcx, sc_rcx(%rip)
	movq %r11, sc_r11(%rip)
	pushfq
	popq sc_rflags(%rip)
	movw %cs, sc_cs(%rip)
	movw %ss, sc_ss(%rip)
	addq $0x100, %rax
	movq sc_user_rsp(%rip), %rsp
	sysretq

	.data
	.balign 8
	.globl ring3_krsp, ring3_user_rsp
	.globl sc_user_rsp, sc_rcx, sc_r11, sc_rflags, sc_cs, sc_ss
ring3_krsp:	.quad 0
ring3_user_rsp:	.quad 0
sc_user_rsp:	.quad 0
sc_rcx:		.quad 0
sc_r11:		.quad 0
sc_rflags:	.quad 0
sc_cs:		.quad 0
sc_ss:		.quad 0

	.bss
	.balign 16
sc_stack:
	.skip 4096
sc_stack_top:

/* ------------------------------------------------------------------ */
/* The user page: only what runs at CPL 3. */
	.section .text.user, "ax"
	.balign 4096
	.globl user_page_start
user_page_start:

/* Leave ring 3: INT 0x80 with RAX = 0 is "exit" (the handler never returns). */
user_exit:
	xorl %eax, %eax
	int $0x80
	ud2

/*
 * R0 CS, R1 SS, R2 DS, R3 ES, R4 RFLAGS, R5 INT 0x80 echo (RDX * 2),
 * R6 RSP moved by the echo (0), R7 INT 0x81 (IST gate) came back.
 */
	.globl user_probe
user_probe:
	xorl %eax, %eax
	movw %cs, %ax
	movq %rax, 0(%rdi)
	movw %ss, %ax
	movq %rax, 8(%rdi)
	movw %ds, %ax
	movq %rax, 16(%rdi)
	movw %es, %ax
	movq %rax, 24(%rdi)
	pushfq
	popq 32(%rdi)
	movq %rsp, %rbx
	movl $1, %eax
	movl $21, %edx
	int $0x80
	movq %rax, 40(%rdi)
	subq %rsp, %rbx
	movq %rbx, 48(%rdi)
	movl $0x5a, %eax
	int $0x81
	movq %rax, 56(%rdi)
	jmp user_exit

/*
 * SYSCALL with DF and IF set: R0 RFLAGS after SYSRET, R1 CS, R2 SS,
 * R3 RAX (handler adds 0x100), R4 RCX, R5 R11, R6 RSP kept.
 */
	.globl user_syscall, user_syscall_ret
user_syscall:
	movq %rsp, %rbx
	std
	movl $0x5c, %eax
	syscall
user_syscall_ret:
	pushfq
	popq 0(%rdi)
	cld
	movq %rax, 24(%rdi)
	xorl %eax, %eax
	movw %cs, %ax
	movq %rax, 8(%rdi)
	movw %ss, %ax
	movq %rax, 16(%rdi)
	movq %rcx, 32(%rdi)
	movq %r11, 40(%rdi)
	subq %rsp, %rbx
	movq %rbx, 48(%rdi)
	jmp user_exit

/* Privileged or IOPL-sensitive instructions; R0 RFLAGS if they ran. */
	.globl user_cli, user_hlt, user_mov_cr3, user_syscall_ud
user_cli:
	cli
	pushfq
	popq 0(%rdi)
	jmp user_exit
user_hlt:
	hlt
	jmp user_exit
user_mov_cr3:
	movq %rsi, %cr3
	jmp user_exit
user_syscall_ud:
	syscall
	jmp user_exit

/* POPF at CPL 3 trying to flip IF and set IOPL: R0 RFLAGS after it. */
	.globl user_popf
user_popf:
	pushfq
	popq %rax
	xorq $0x200, %rax
	orq $0x3000, %rax
	pushq %rax
	popfq
	pushfq
	popq 0(%rdi)
	jmp user_exit

/* Memory access at RSI: R0 the value read. */
	.globl user_load, user_store
user_load:
	movq (%rsi), %rax
	movq %rax, 0(%rdi)
	jmp user_exit
user_store:
	movq $0x1234, (%rsi)
	jmp user_exit

/* Port input from port RSI: R0 the value read. */
	.globl user_inb, user_inw, user_inb_io, user_inw_io
user_inb:
	movl %esi, %edx
	xorl %eax, %eax
user_inb_io:
	inb %dx, %al
	movq %rax, 0(%rdi)
	jmp user_exit
user_inw:
	movl %esi, %edx
	xorl %eax, %eax
user_inw_io:
	inw %dx, %ax
	movq %rax, 0(%rdi)
	jmp user_exit

/* INT through a DPL 0 gate. */
	.globl user_int82
user_int82:
	int $0x82
	jmp user_exit

	.balign 4096
	.globl user_page_end
user_page_end:

	.section .note.GNU-stack, "", @progbits
