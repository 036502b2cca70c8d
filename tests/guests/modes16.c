// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * modes16: leave 64-bit mode and come back. Runs code in compatibility
 * mode with 32-bit and 16-bit code segments, then drops through 32-bit
 * and 16-bit protected mode to real mode and climbs back to long mode
 * (modes16_asm.S), checking operand sizes, stack widths, 16-bit address
 * wrap and segment arithmetic on the way.
 */
#include "guest.h"

const char guest_name[] = "modes16";

/* Must match modes16_asm.S. */
#define LOW_BASE	0x6000ul
#define SEL_CODE16	0x20

extern const uint8_t tramp_start[], tramp_end[], tramp_rm_res[], tramp_p16_res[];
extern volatile uint32_t modes_c32_res[5];
void modes_compat32(void);
void modes_compat16(void);
void modes_real(void);

struct gdt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static const uint64_t modes_gdt[6] __attribute__((aligned(8))) = {
	0,
	0x00af9a000000ffffull,		/* 0x08 code, 64-bit */
	0x00cf92000000ffffull,		/* 0x10 data, flat */
	0x00cf9a000000ffffull,		/* 0x18 code, 32-bit flat */
	0x00009a006000ffffull,		/* 0x20 code, 16-bit, base 0x6000, 64K */
	0x000092000000ffffull,		/* 0x28 data, 16-bit, base 0, 64K */
};

/* Result word @i of a blob area, at its copy in low memory. */
static uint16_t low_word(const uint8_t *area, unsigned i)
{
	return ((volatile uint16_t *)(LOW_BASE + (uintptr_t)(area - tramp_start)))[i];
}

static bool in_long_mode(void)
{
	uint16_t cs;

	asm volatile("movw %%cs, %0" : "=r"(cs));
	return cs == SEL_CODE64 && (rdmsr(MSR_EFER) & EFER_LMA) && (read_cr0() & CR0_PG);
}

static void test_compat32(void)
{
	modes_compat32();
	check(in_long_mode(), "compat mode (32-bit CS) and back: 64-bit again");
	check(modes_c32_res[0] == 4, "compat32: 0x48 is DEC EAX, not a REX prefix");
	check(modes_c32_res[1] == 4, "compat32: PUSH is 4 bytes");
	check(modes_c32_res[2] == 0xffff1234u, "compat32: 0x66 prefix makes a 16-bit MOV");
	check(modes_c32_res[3] == SEL_CODE32, "compat32: CS is the 32-bit code selector");
	check(modes_c32_res[4] == 0x880, "compat32: 32-bit ADD overflow sets OF and SF");
}

static void test_compat16(void)
{
	modes_compat16();
	check(in_long_mode(), "compat mode (16-bit CS) and back: 64-bit again");
	check(low_word(tramp_p16_res, 0) == 0x1234, "compat16: MOV takes a 16-bit immediate");
	check(low_word(tramp_p16_res, 1) == 2, "compat16: PUSH is 2 bytes");
	check(low_word(tramp_p16_res, 2) == SEL_CODE16, "compat16: CS is the 16-bit code selector");
	check(low_word(tramp_p16_res, 3) == 0x40, "compat16: 16-bit INC wraps 0xffff to 0 (ZF)");
	check(low_word(tramp_p16_res, 4) == 0x89ab, "compat16: 0x66 prefix makes a 32-bit MOV");
}

static void test_real(void)
{
	modes_real();
	check(in_long_mode(), "long -> protected -> real mode and back: 64-bit again");
	check(low_word(tramp_rm_res, 9) == 0x600d, "real mode: ran to the end");
	check(low_word(tramp_rm_res, 0) == 0xbeef, "real mode: 0x0700:0x0010 is 0x0600:0x1010");
	check(low_word(tramp_rm_res, 1) == 0, "real mode: CR0.PE and CR0.PG clear");
	check(low_word(tramp_rm_res, 2) == 0x41, "real mode: 16-bit ADD carry-out sets CF and ZF");
	check(low_word(tramp_rm_res, 3) == 0x1234, "real mode: 0x66 prefix reaches EAX");
	check(low_word(tramp_rm_res, 4) == 2, "real mode: PUSH is 2 bytes");
	check(low_word(tramp_rm_res, 5) == 0x5a5a, "real mode: near CALL/RET");
	check(low_word(tramp_rm_res, 6) == 0x4444, "real mode: REP MOVSW copies 4 words, CX ends 0");
	check(low_word(tramp_rm_res, 7) == 1, "real mode: 16-bit address wraps (0xffff + 2 = 1)");
	check(low_word(tramp_rm_res, 8) == 0x0600, "real mode: CS is 0x0600");
}

void guest_main(void)
{
	struct gdt_desc boot, mine = { sizeof(modes_gdt) - 1, (uintptr_t)modes_gdt };
	size_t n = (size_t)(tramp_end - tramp_start);

	/* The blob must fit below its real-mode stack (LOW_BASE + 0xff0). */
	if (!check(n < 0xf00, "16-bit trampoline fits in its low-memory page pair"))
		return;
	memcpy((void *)LOW_BASE, tramp_start, n);
	asm volatile("sgdt %0" : "=m"(boot));
	asm volatile("lgdt %0" : : "m"(mine) : "memory");

	test_compat32();
	test_compat16();
	test_real();

	asm volatile("lgdt %0" : : "m"(boot) : "memory");
	check(TRAP_TRY("ud2") == 6 && trap_last.rip == trap_last.start,
	      "IDT still delivers exceptions after the round trips");
}
