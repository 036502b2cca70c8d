/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpufeat: the ring-3 probes and the ring-0 glue around them (the same
 * scheme as ring3_asm.S). Every probe gets RDI = a user-writable buffer
 * B[] (8-byte slots), runs its instruction(s), stores what it saw in B[]
 * and leaves ring 3 through user_exit (INT 0x80, RAX = 0), or by faulting
 * (#UD: the feature is missing).
 */

#define SEL_UCODE64	0x33
#define SEL_UDATA	0x2b

	.text
	.code64

/* void cf_run(uint64_t rip, uint64_t rflags, uint64_t *buf): IRETQ to @rip at CPL 3. */
	.globl cf_run
cf_run:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, cf_krsp(%rip)
	pushq $SEL_UDATA
	pushq cf_user_rsp(%rip)
	pushq %rsi
	pushq $SEL_UCODE64
	pushq %rdi
	movq %rdx, %rdi
	iretq

	.globl cf_back
cf_back:
	movl $0x10, %eax
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

	.data
	.balign 8
	.globl cf_krsp, cf_user_rsp
cf_krsp:	.quad 0
cf_user_rsp:	.quad 0

	.section .text.user, "ax"
	.balign 4096
	.globl cf_user_start
cf_user_start:

user_exit:
	xorl %eax, %eax
	int $0x80
	ud2

#define PROBE(name) .globl up_##name; up_##name:
#define DONE jmp user_exit

PROBE(nop)	DONE
PROBE(fpu)	fld1; fstp %st(0); DONE
PROBE(tsc)	rdtsc; DONE
PROBE(cx8)	xorl %eax, %eax; xorl %edx, %edx; cmpxchg8b (%rdi); DONE
PROBE(cmov)	cmovzl %eax, %eax; DONE
PROBE(clflush)	clflush (%rdi); DONE
PROBE(mmx)	pxor %mm0, %mm0; emms; DONE
PROBE(fxsr)	fxsave 512(%rdi); fxrstor 512(%rdi); DONE
PROBE(sse)	xorps %xmm0, %xmm0; DONE
PROBE(sse2)	xorpd %xmm0, %xmm0; DONE
PROBE(pni)	haddpd %xmm0, %xmm0; DONE
PROBE(ssse3)	pshufb %xmm0, %xmm0; DONE
PROBE(cx16)	xorl %eax, %eax; xorl %edx, %edx; cmpxchg16b (%rdi); DONE
PROBE(sse41)	ptest %xmm0, %xmm0; DONE
PROBE(sse42)	crc32b %al, %eax; DONE
PROBE(popcnt)	popcntl %eax, %eax; DONE
PROBE(lahf)	lahf; DONE
/* LZCNT of 1 is 31; without ABM the same bytes are BSR, which gives 0. */
PROBE(abm)	movl $1, %eax; lzcntl %eax, %eax; movq %rax, (%rdi); DONE
PROBE(clflushopt) clflushopt (%rdi); DONE
PROBE(rdtscp)	rdtscp; movq %rcx, (%rdi); DONE
PROBE(rdpid)	rdpid %rax; movq %rax, (%rdi); DONE
/* A load from / a store to the address in B[10]. */
PROBE(load)	movq 80(%rdi), %rax; movq (%rax), %rcx; DONE
PROBE(store)	movq 80(%rdi), %rax; movq %rcx, (%rax); DONE
/* B[0] = RDPKRU at CPL 3. */
PROBE(rdpkru)	xorl %ecx, %ecx; rdpkru; movq %rax, (%rdi); DONE
/* RDPMC of counter 0 at CPL 3: #GP without CR4.PCE. */
PROBE(rdpmc)	xorl %ecx, %ecx; rdpmc; DONE
/* SGDT at CPL 3: #GP with CR4.UMIP. */
PROBE(sgdt)	sgdt 16(%rdi); DONE

/*
 * MXCSR across the engines' hand-over. B[0] = MXCSR as seen here,
 * B[2] = CVTSD2SI of the double B[1], B[5] = B[3] + B[4] (ADDSD).
 */
PROBE(mx_get)
	stmxcsr (%rdi)
	cvtsd2si 8(%rdi), %rax
	movq %rax, 16(%rdi)
	movsd 24(%rdi), %xmm0
	addsd 32(%rdi), %xmm0
	movsd %xmm0, 40(%rdi)
	DONE
/*
 * LDMXCSR B[6] here, then INT 0x81 (ring 0 looks at MXCSR and comes
 * back), then B[7] = MXCSR and B[8] = CVTSD2SI of B[1] again.
 */
PROBE(mx_set)
	ldmxcsr 48(%rdi)
	int $0x81
	stmxcsr 56(%rdi)
	cvtsd2si 8(%rdi), %rax
	movq %rax, 64(%rdi)
	DONE

	.balign 4096
	.globl cf_user_end
cf_user_end:
