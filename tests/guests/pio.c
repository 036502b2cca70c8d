// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pio: port I/O paths — byte/word/dword and string (INS/OUTS) accesses,
 * the 16550 UART's scratch, loopback and status registers, unmapped ports,
 * the CMOS RTC and fw_cfg (checked against the multiboot memory info).
 */
#include "guest.h"

const char guest_name[] = "pio";

#define UART_RBR	0
#define UART_IER	1
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_NORMAL	0x0b		/* DTR | RTS | OUT2, as the runtime sets it */
#define MCR_LOOP	0x10

#define UNMAPPED_PORT	0x2f0		/* between COM4 (0x2e8) and COM2 (0x2f8) */

static void test_uart(void)
{
	static const uint8_t scr[3] = { 0x5a, 0xa5, 0x3c };
	uint8_t lsr, msr, rx = 0;
	unsigned spins, echoed = 0;
	const char *p;

	outb(COM1 + UART_SCR, 0x5a);
	check(inb(COM1 + UART_SCR) == 0x5a, "UART scratch register round trip (0x5a)");
	outb(COM1 + UART_SCR, 0xa5);
	check(inb(COM1 + UART_SCR) == 0xa5, "UART scratch register round trip (0xa5)");

	/* String I/O: REP OUTSB writes each byte to the same port. */
	p = (const char *)scr;
	spins = 3;
	asm volatile("rep outsb" : "+S"(p), "+c"(spins) : "d"(COM1 + UART_SCR) : "memory");
	check(spins == 0 && p == (const char *)scr + 3 && inb(COM1 + UART_SCR) == 0x3c,
	      "REP OUTSB x3 to the scratch register leaves the last byte");

	/* Our own output may still be draining: give it a bounded wait. */
	for (spins = 100000; spins && !(inb(COM1 + UART_LSR) & LSR_TEMT); spins--)
		;
	lsr = inb(COM1 + UART_LSR);
	check((lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT) && !(lsr & LSR_DR),
	      "LSR idle: THRE and TEMT set, no data ready");

	/*
	 * Loopback: TX feeds RX inside the UART, modem outputs feed MSR.
	 * Nothing reaches the console meanwhile, so results are printed
	 * only after leaving loopback mode.
	 */
	outb(COM1 + UART_MCR, MCR_LOOP | 0x03);		/* loop, DTR, RTS */
	msr = inb(COM1 + UART_MSR);
	for (p = "Tq~"; *p; p++) {
		outb(COM1 + UART_RBR, (uint8_t)*p);
		for (spins = 10000; spins && !(inb(COM1 + UART_LSR) & LSR_DR); spins--)
			;
		rx = inb(COM1 + UART_RBR);
		if (spins && rx == (uint8_t)*p)
			echoed++;
	}
	lsr = inb(COM1 + UART_LSR);
	outb(COM1 + UART_MCR, MCR_NORMAL);
	check((msr & 0xf0) == 0x30, "loopback: DTR/RTS show as DSR/CTS in MSR");
	check(echoed == 3, "loopback: 3 bytes echoed back through RBR");
	check(!(lsr & LSR_DR), "loopback: LSR data-ready clear after reading RBR");
	check(inb(COM1 + UART_MCR) == MCR_NORMAL, "MCR reads back after leaving loopback");
	check(inb(COM1 + UART_LCR) == 0x03, "LCR reads back 8N1");
}

static void test_unmapped(void)
{
	check(inb(UNMAPPED_PORT) == 0xff, "unmapped port 0x%x: inb reads 0xff", UNMAPPED_PORT);
	check(inw(UNMAPPED_PORT + 2) == 0xffff, "unmapped port 0x%x: inw reads 0xffff",
	      UNMAPPED_PORT + 2);
	check(inl(UNMAPPED_PORT + 4) == 0xffffffffu, "unmapped port 0x%x: inl reads 0xffffffff",
	      UNMAPPED_PORT + 4);
	outl(UNMAPPED_PORT, 0x12345678);
	check(inl(UNMAPPED_PORT) == 0xffffffffu, "unmapped port: writes are dropped");
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static bool bcd_ok(uint8_t v, uint8_t max)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9 && v <= max;
}

static void test_rtc(void)
{
	uint8_t a = cmos_read(0x0a), b = cmos_read(0x0b), d = cmos_read(0x0d);

	check((a & 0x7f) == 0x26, "RTC register A: 32.768 kHz divider, 1024 Hz rate (0x26)");
	check((b & 0x06) == 0x02, "RTC register B: 24-hour mode, BCD");
	check(d & 0x80, "RTC register D: valid RAM and time (VRT)");
	check(bcd_ok(cmos_read(0x00), 0x59) && bcd_ok(cmos_read(0x02), 0x59) &&
	      bcd_ok(cmos_read(0x04), 0x23), "RTC seconds/minutes/hours are valid BCD");
	check(bcd_ok(cmos_read(0x08), 0x12) && cmos_read(0x08) >= 1 &&
	      bcd_ok(cmos_read(0x07), 0x31) && cmos_read(0x07) >= 1,
	      "RTC day of month and month are valid BCD");
}

static void test_fw_cfg(void)
{
	const struct mb_info *mbi = guest_mbi();
	char sig[5] = { 0 };
	uint64_t ram, upper;
	void *dst = sig;
	unsigned n = 4;

	fw_cfg_read(FW_CFG_SIGNATURE, sig, 4);
	check(memcmp(sig, "QEMU", 4) == 0, "fw_cfg signature \"QEMU\" (inb)");
	memset(sig, 0, sizeof(sig));
	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
	asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(FW_CFG_PORT_DATA) : "memory");
	check(n == 0 && memcmp(sig, "QEMU", 4) == 0, "fw_cfg signature \"QEMU\" (REP INSB)");

	ram = fw_cfg_ram_size();
	check(ram == 128ull << 20, "fw_cfg RAM size is %u MiB", 128);
	check(fw_cfg_nb_cpus() == 1, "fw_cfg CPU count is 1");
	/*
	 * mem_upper is the RAM from 1 MiB to the first hole; the firmware
	 * may keep a little at the top for its tables.
	 */
	upper = ((uint64_t)mbi->mem_upper + 1024) * 1024;
	check((mbi->flags & MB_INFO_MEM) && upper <= ram && upper + (4ull << 20) > ram,
	      "fw_cfg RAM size matches multiboot mem_upper (within 4 MiB)");
}

void guest_main(void)
{
	test_uart();
	test_unmapped();
	test_rtc();
	test_fw_cfg();
}
