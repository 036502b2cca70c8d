/* The guests of `tandem bench` (tests/bench/), embedded as read-only data. */
	.section .rodata
	.balign 16
	.globl bench_guest, bench_guest_end
bench_guest:
	.incbin "tests/bench/bench.elf"
bench_guest_end:
	.balign 16
	.globl nano_guest, nano_guest_end
nano_guest:
	.incbin "tests/bench/nano.elf"
nano_guest_end:
	.section .note.GNU-stack, "", @progbits
