// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * smc: self-modifying code, the classic trap for a translating CPU. Code
 * is patched and re-run through every path an engine must notice: a plain
 * store then a call, the next instruction of the running block, a second
 * virtual mapping of the same physical page, REP MOVSB, a patch loop, and
 * data writes sharing the page with live code (which must not break it).
 */
#include "guest.h"

const char guest_name[] = "smc";

#define ALIAS_VA	0x8000000000ull		/* PML4[1]: alias of code_page */

static uint8_t code_page[4096] __attribute__((aligned(4096)));
static volatile uint64_t alias_pdpt[512] __attribute__((aligned(4096)));
static volatile uint64_t alias_pd[512] __attribute__((aligned(4096)));
static volatile uint64_t alias_pt[512] __attribute__((aligned(4096)));

/* mov $imm32, %eax; ret */
static void emit_ret_imm(volatile uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;
	p[1] = (uint8_t)imm;
	p[2] = (uint8_t)(imm >> 8);
	p[3] = (uint8_t)(imm >> 16);
	p[4] = (uint8_t)(imm >> 24);
	p[5] = 0xc3;
}

static uint32_t call_at(const volatile void *fn)
{
	uint32_t ret;

	asm volatile("call *%1"
		     : "=a"(ret)
		     : "r"(fn)
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	return ret;
}

static void test_store_then_call(void)
{
	uint32_t a, b;

	emit_ret_imm(code_page, 0x11111111);
	a = call_at(code_page);
	emit_ret_imm(code_page, 0x22222222);
	b = call_at(code_page);
	check(a == 0x11111111 && b == 0x22222222, "store to run code, then call: new code runs");
}

static void test_same_block(void)
{
	uint32_t v;

	/*
	 * Patch the immediate of the very next instruction from inside the
	 * same straight-line block (no jump in between). Hardware and QEMU
	 * both see the new bytes; a translator must notice its own block.
	 */
	asm volatile("movl $0x33333333, 1f+1(%%rip)\n\t"
		     "1: movl $0x44444444, %0"
		     : "=a"(v)
		     :
		     : "memory");
	check(v == 0x33333333, "patch the next insn of the running block: patched value used");
	/* The text is writable (one RW 2 MiB page): restore it for a re-run. */
	asm volatile("movl $0x44444444, 1f+1(%%rip)\n\t"
		     "jmp 1f\n"
		     "1: movl $0x55555555, %0"
		     : "=a"(v)
		     :
		     : "memory");
	check(v == 0x44444444, "patch an insn after a jump in the same page");
}

static void test_alias(void)
{
	volatile uint8_t *alias = (volatile uint8_t *)ALIAS_VA;
	uint32_t a, b;

	alias_pt[0] = (uintptr_t)code_page | PTE_P | PTE_RW;
	alias_pd[0] = (uintptr_t)alias_pt | PTE_P | PTE_RW;
	alias_pdpt[0] = (uintptr_t)alias_pd | PTE_P | PTE_RW;
	guest_pml4[1] = (uintptr_t)alias_pdpt | PTE_P | PTE_RW;
	barrier();

	emit_ret_imm(code_page + 64, 0x66666666);
	a = call_at(code_page + 64);
	emit_ret_imm(alias + 64, 0x77777777);	/* write through the alias... */
	b = call_at(code_page + 64);		/* ...run through the original */
	check(a == 0x66666666 && b == 0x77777777,
	      "write code through a second mapping, run the first: new code runs");
	a = call_at(alias + 64);
	emit_ret_imm(code_page + 64, 0x88888888);
	b = call_at(alias + 64);
	check(a == 0x77777777 && b == 0x88888888,
	      "run through the alias, patch the original: new code runs");
}

static void test_rep_movsb(void)
{
	static const uint8_t src[6] = { 0xb8, 0x99, 0x99, 0x99, 0x99, 0xc3 };
	void *dst = code_page + 128;
	const void *s = src;
	uint64_t n = sizeof(src);
	uint32_t a;

	emit_ret_imm(code_page + 128, 0x12341234);
	a = call_at(code_page + 128);
	asm volatile("rep movsb" : "+D"(dst), "+S"(s), "+c"(n) : : "memory");
	check(a == 0x12341234 && call_at(code_page + 128) == 0x99999999,
	      "REP MOVSB over run code: new code runs");
}

static void test_patch_loop(void)
{
	uint32_t sum = 0, i;

	for (i = 1; i <= 16; i++) {
		emit_ret_imm(code_page + 192, i * 3);
		sum += call_at(code_page + 192);
	}
	check(sum == 3 * 136, "16 patch-and-call rounds: sum %u", 3 * 136);
}

static void test_data_on_code_page(void)
{
	volatile uint32_t *counter = (volatile uint32_t *)(code_page + 2048);
	uint32_t sum = 0, i;

	/*
	 * Code at the page start and a counter in the same page: every store
	 * hits a page with translated code, but never the code bytes.
	 */
	emit_ret_imm(code_page + 256, 7);
	*counter = 0;
	for (i = 0; i < 32; i++) {
		*counter += 1;
		sum += call_at(code_page + 256);
	}
	check(sum == 7 * 32 && *counter == 32, "data writes next to live code leave the code alone");
}

/*
 * A device writes the code (QEMU's fw_cfg DMA at port 0x514, reading the
 * 4-byte "QEMU" signature, item 0, over the immediate of run code): no
 * CPU store to notice, so the VMM must tell the engine.
 */
struct fw_cfg_dma {
	uint32_t control, length;
	uint64_t address;
} __attribute__((packed));

static void test_dma(void)
{
	static volatile struct fw_cfg_dma d __attribute__((aligned(16)));
	uint64_t desc = (uint64_t)(uintptr_t)&d;	/* identity-mapped: physical */
	uint32_t a, b;

	emit_ret_imm(code_page + 512, 0x11111111);
	a = call_at(code_page + 512);
	d.control = __builtin_bswap32(0x08 | 0x02);	/* select item 0, read */
	d.length = __builtin_bswap32(4);
	d.address = __builtin_bswap64((uint64_t)(uintptr_t)(code_page + 513));
	outl(0x514, __builtin_bswap32((uint32_t)(desc >> 32)));
	outl(0x518, __builtin_bswap32((uint32_t)desc));	/* the low half starts it */
	b = call_at(code_page + 512);
	check(a == 0x11111111 && b == 0x554d4551 && d.control == 0,
	      "fw_cfg DMA over run code (a device's write): new code runs");
}

void guest_main(void)
{
	test_store_then_call();
	test_same_block();
	test_alias();
	test_rep_movsb();
	test_patch_loop();
	test_data_on_code_page();
	test_dma();
}
