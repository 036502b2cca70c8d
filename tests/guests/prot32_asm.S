/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prot32: ring-3 entry/exit and the call-gate targets. 32-bit code only.
 * Selectors must match prot32.c.
 */

#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_UCODE	0x33	/* 0x30 | RPL 3 */
#define SEL_UDATA	0x3b	/* 0x38 | RPL 3 */
#define SEL_GATE3	0x4b	/* DPL 3 call gate to ring 0, 2 parameters */

	.text
	.code32

/*
 * void p32_enter_ring3(uint32_t eip, uint32_t esp): IRET to @eip at CPL 3;
 * comes back (as a return from this function) when a trap handler sends
 * the CPU to p32_ring3_back.
 */
	.globl p32_enter_ring3
p32_enter_ring3:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, p32_ksp
	movl 20(%esp), %eax
	movl 24(%esp), %ecx
	pushl $SEL_UDATA
	pushl %ecx
	pushl $0x2
	pushl $SEL_UCODE
	pushl %eax
	iret

	.globl p32_ring3_back
p32_ring3_back:
	movl $SEL_DATA, %eax
	movl %eax, %ss
	movl p32_ksp, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/*
 * Ring 3: push two parameters, far call through the DPL 3 gate (the
 * offset in the far pointer is ignored), then record ESP and CS and leave
 * with INT 0x30. p32_res: ESP after the call, ESP before the pushes, CS, DS.
 */
	.globl p32_user_callgate, p32_user_ret
p32_user_callgate:
	movl $SEL_UDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %esp, %ebx
	pushl $0x1111
	pushl $0x2222
	lcall $SEL_GATE3, $0x12345678
p32_user_ret:
	movl %esp, p32_res
	movl %ebx, p32_res + 4
	xorl %eax, %eax
	movw %cs, %ax
	movl %eax, p32_res + 8
	movw %ds, %ax
	movl %eax, p32_res + 12
	int $0x30
	ud2

/*
 * Ring 0 through the DPL 3 gate: the CPU switched to SS0:ESP0 and pushed
 * SS, ESP, the two copied parameters, CS, EIP. p32_gate: ESP, EIP, CS,
 * param (low), param (high), old ESP, old SS, CS, SS.
 */
	.globl p32_gate_inner
p32_gate_inner:
	movl %esp, p32_gate
	movl 0(%esp), %eax
	movl %eax, p32_gate + 4
	movl 4(%esp), %eax
	movl %eax, p32_gate + 8
	movl 8(%esp), %eax
	movl %eax, p32_gate + 12
	movl 12(%esp), %eax
	movl %eax, p32_gate + 16
	movl 16(%esp), %eax
	movl %eax, p32_gate + 20
	movl 20(%esp), %eax
	movl %eax, p32_gate + 24
	xorl %eax, %eax
	movw %cs, %ax
	movl %eax, p32_gate + 28
	movw %ss, %ax
	movl %eax, p32_gate + 32
	lret $8				/* releases the parameters on both stacks */

/* Ring 0 through the DPL 0 gate from ring 0: no stack switch. */
	.globl p32_gate_same
p32_gate_same:
	movl %esp, p32_gate
	movl 0(%esp), %eax
	movl %eax, p32_gate + 4
	movl 4(%esp), %eax
	movl %eax, p32_gate + 8
	lret

	.data
	.balign 4
	.globl p32_ksp, p32_res, p32_gate
p32_ksp:
	.long 0
p32_res:
	.fill 4, 4, 0
p32_gate:
	.fill 9, 4, 0

	.section .note.GNU-stack, "", @progbits
