// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * modeswitch: long mode <-> real mode twice, complementing modes16 (which
 * checks operand/stack sizes and 16-bit addressing on one trip down and
 * up). Here: interrupts and exceptions through 16-bit IDT gates and the
 * real-mode IVT, a 32-bit far call from 16-bit code, unreal mode (a 4 GiB
 * limit kept across PE=0), LMSW/SMSW, segment caches that survive setting
 * PE until reloaded, and a second trip that climbs from real mode straight
 * to long mode with one MOV CR0. The code is modeswitch_asm.S.
 */
#include "guest.h"

const char guest_name[] = "modeswitch";

#define LOW_BASE	0x6000ul
#define LOW_SEG		0x0600
#define SEL_CODE16	0x20

extern const uint8_t tramp_start[], tramp_end[], ms_res[], ms_param[];
extern const uint8_t ms_pm16_int_ret[], ms_pm16_ud[], ms_rm_int_ret[], ms_rm_div[], ms_rm_ud[];
void ms_run(void);

struct gdt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static const uint64_t ms_gdt[6] __attribute__((aligned(8))) = {
	0,
	0x00af9a000000ffffull,		/* 0x08 code, 64-bit */
	0x00cf92000000ffffull,		/* 0x10 data, flat */
	0x00cf9a000000ffffull,		/* 0x18 code, 32-bit flat */
	0x00009a006000ffffull,		/* 0x20 code, 16-bit, base 0x6000, 64K */
	0x000092000000ffffull,		/* 0x28 data, 16-bit, base 0, 64K */
};

static volatile uint32_t unreal_marker = 0x8badf00d;

/* Result word @i, in the low-memory copy of the blob. */
static uint16_t res(unsigned i)
{
	return ((volatile uint16_t *)(LOW_BASE + (uintptr_t)(ms_res - tramp_start)))[i];
}

/* Offset of a blob label from the blob start (= from CS base in 16-bit code). */
static uint16_t off(const uint8_t *label)
{
	return (uint16_t)(label - tramp_start);
}

static bool in_long_mode(void)
{
	uint16_t cs;

	asm volatile("movw %%cs, %0" : "=r"(cs));
	return cs == SEL_CODE64 && (rdmsr(MSR_EFER) & EFER_LMA) && (read_cr0() & CR0_PG);
}

void guest_main(void)
{
	struct gdt_desc boot, mine = { sizeof(ms_gdt) - 1, (uintptr_t)ms_gdt };
	size_t n = (size_t)(tramp_end - tramp_start);

	/* The blob and its stack share LOW_BASE..LOW_BASE + 0x2000. */
	if (!check(n < 0x1e00, "16-bit blob fits below its stack"))
		return;
	memcpy((void *)LOW_BASE, tramp_start, n);
	*(volatile uint32_t *)(LOW_BASE + (uintptr_t)(ms_param - tramp_start)) =
		(uint32_t)(uintptr_t)&unreal_marker;
	asm volatile("sgdt %0" : "=m"(boot));
	asm volatile("lgdt %0" : : "m"(mine) : "memory");

	ms_run();

	asm volatile("lgdt %0" : : "m"(boot) : "memory");
	check(in_long_mode(), "two round trips to real mode: back in 64-bit mode");

	check(res(0) == 0, "32-bit PM: paging off and EFER.LMA clear after leaving long mode");
	check(res(1) == 4, "32-bit PM: PUSH is 4 bytes");
	check(res(2) == SEL_CODE16 && res(3) == 2, "16-bit PM: CS 16-bit, PUSH is 2 bytes");
	check(res(4) == 6 && res(5) == off(ms_pm16_int_ret),
	      "16-bit PM: INT 0x21 through a 16-bit gate pushes FLAGS, CS, IP (6 bytes)");
	check(res(6) == off(ms_pm16_ud), "16-bit PM: #UD through a 16-bit gate, IP of the ud2");
	check((uint16_t)(res(7) - res(8)) == 8 && res(9) == 0x3232,
	      "16-bit PM: 32-bit far call (0x66) pushes 32-bit CS and EIP, RETF 32 returns");
	check(res(10) == off(ms_rm_int_ret) && res(11) == LOW_SEG && res(12) == 6,
	      "real mode: INT 0x21 through the IVT pushes FLAGS, CS, IP");
	check(res(26) == 1, "real mode: FLAGS pushed by INT keep CF");
	check(res(13) == off(ms_rm_div), "real mode: #DE through the IVT, IP of the div");
	check(res(14) == off(ms_rm_ud), "real mode: #UD through the IVT, IP of the ud2");
	check(res(15) == 0xf00d && res(16) == 0x8bad,
	      "unreal mode: FS keeps its 4 GiB limit after PE=0, 32-bit offset reads the image");
	check(res(17) == LOW_SEG && res(18) == 0xfa12, "real mode: far CALL/RETF");
	check(res(19) == 1 && res(20) == 0x7e57,
	      "LMSW sets PE; DS keeps its real-mode base until reloaded");
	check(res(21) == 1, "LMSW cannot clear PE");
	check(res(22) == 0x6464, "back in long mode after the first trip (REX.W works)");
	check(res(23) == 2, "second trip: down to real mode again");
	check(res(25) == 0x400, "real mode -> MOV CR0 (PE|PG) with EFER.LME: LMA set at once");
	check(res(24) == 0xd1ec, "far jump from the 16-bit CS to the 64-bit CS: long mode");

	check(TRAP_TRY("ud2") == 6 && trap_last.rip == trap_last.start,
	      "64-bit IDT delivers exceptions after the round trips");
}
