/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench guests: enter ring 3 to run a function, and come back (bench-ring3.c).
 *
 * Workloads run at CPL 3 by default because that is where tandem's kvm
 * engine runs guest code on KVM itself (ring 0 may go to the software CPU).
 * The way back is UD2, not INT or SYSCALL: kvm_pvm, the nested KVM of the
 * development hosts, turns INT n at CPL 3 into #UD and faults on SYSCALL,
 * while #UD from UD2 reaches the guest's IDT on every engine.
 */

#define SEL_KDATA	0x10
#define SEL_UCODE64	0x33
#define SEL_UDATA	0x2b

	.text
	.code64

/*
 * uint64_t bench_user_call(uint64_t (*fn)(void *, unsigned), void *arg,
 *			    unsigned arg2, uint64_t user_rsp, uint64_t rflags):
 * IRETQ to bench_user_entry at CPL 3 on @user_rsp with @rflags, which
 * calls @fn(@arg, @arg2) and executes UD2 with the result in RAX. The #UD handler
 * (bench-lib.c) stores RAX in bench_user_result and resumes at
 * bench_user_back on the stack saved here.
 */
	.globl bench_user_call, bench_user_back
bench_user_call:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, bench_krsp(%rip)
	pushq $SEL_UDATA
	pushq %rcx
	pushq %r8			/* RFLAGS */
	pushq $SEL_UCODE64
	leaq bench_user_entry(%rip), %rax
	pushq %rax
	iretq

/*
 * uint64_t bench_kernel_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2):
 * @fn(@arg, @arg2) at CPL 0, returning the same way as bench_user_call, so
 * that a trap handler can abandon it with bench_resume_caller().
 */
	.globl bench_kernel_call
bench_kernel_call:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, bench_krsp(%rip)
	subq $8, %rsp			/* the call below with RSP 16-byte aligned */
	movq %rdi, %rax
	movq %rsi, %rdi
	movl %edx, %esi
	call *%rax
	movq %rax, bench_user_result(%rip)
	movq bench_krsp(%rip), %rsp
	jmp bench_user_back

bench_user_back:
	/* IRETQ to ring 3 nulled DS/ES/FS/GS (DPL 0 < CPL 3). */
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
	movq bench_user_result(%rip), %rax
	ret

/* CPL 3 from here: RDI = fn, RSI = arg, RDX = arg2. */
bench_user_entry:
	movq %rdi, %rax
	movq %rsi, %rdi
	movl %edx, %esi
	call *%rax
	ud2
1:	jmp 1b

	.data
	.balign 8
	.globl bench_krsp, bench_user_result
bench_krsp:		.quad 0
bench_user_result:	.quad 0
