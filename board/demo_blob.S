/* The built-in demo guest, embedded as read-only data. */
	.section .rodata
	.balign 16
	.globl demo_guest
	.globl demo_guest_end
demo_guest:
	.incbin "tests/guests/demo.elf"
demo_guest_end:
	.section .note.GNU-stack, "", @progbits
