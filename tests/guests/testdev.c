// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * testdev: QEMU's test devices as test kernels use them. Run by
 * tests/testdev.sh (not by the kit runner: it needs -device options),
 * with the devices named on the command line:
 *   debugcon=PORT  an isa-debugcon there: reads give 0xe9 (its readback),
 *                  and a line written to it must reach its chardev;
 *   pctest         a pc-testdev: the scratch register at 0xe0 and its
 *                  byte-wise view at 0xe8, the flush-page port 0xe4,
 *                  interrupt lines at 0x2000 + n (IRQ 5 through the PIC),
 *                  the 64 KiB MMIO scratch at 0xff000000.
 * Every access is naturally aligned: QEMU refuses unaligned ones.
 */
#include "guest.h"

const char guest_name[] = "testdev";

#define IRQ_LINE	5
#define PIC_BASE	0x20

static const char *cmdline(void)
{
	const struct mb_info *mbi = guest_mbi();

	return (mbi->flags & MB_INFO_CMDLINE) ? (const char *)(uintptr_t)mbi->cmdline : "";
}

/* The value of " KEY=..." / " KEY" in the command line, or NULL. */
static const char *arg(const char *key)
{
	const char *s = cmdline();
	unsigned n = 0;

	while (key[n])
		n++;
	for (; *s; s++) {
		unsigned i = 0;

		if (s != cmdline() && s[-1] != ' ')
			continue;
		while (i < n && s[i] == key[i])
			i++;
		if (i == n && (s[n] == '=' || s[n] == ' ' || !s[n]))
			return s[n] == '=' ? s + n + 1 : s + n;
	}
	return NULL;
}

static unsigned hex(const char *s)
{
	unsigned v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			v = v * 16 + (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			v = v * 16 + (unsigned)(*s - 'a' + 10);
		else
			return v;
	}
}

static void test_debugcon(uint16_t port)
{
	static const char line[] = "hello from the guest through isa-debugcon\n";

	check(inb(port) == 0xe9, "isa-debugcon at 0x%x reads 0xe9", port);
	for (const char *c = line; *c; c++)
		outb(port, (uint8_t)*c);
	check(true, "isa-debugcon: line written");
}

static volatile unsigned irqs;

static void irq_handler(struct trap_frame *f)
{
	irqs++;
	pic_eoi(IRQ_LINE);
}

/* With IF=1 for a bounded spin: returns how many IRQs came. */
static unsigned irqs_in_window(void)
{
	unsigned before = irqs, spins = 100000;

	sti();
	while (irqs == before && --spins)
		barrier();
	cli();
	return irqs - before;
}

static uint8_t flush_page[4096] __attribute__((aligned(4096)));

static void test_pc_testdev(void)
{
	volatile uint32_t *io32 = (volatile uint32_t *)(uintptr_t)0xff000000u;
	volatile uint64_t *io64 = (volatile uint64_t *)(uintptr_t)0xff000100u;
	volatile uint8_t *io8 = (volatile uint8_t *)(uintptr_t)0xff000200u;
	bool kept = true;

	/* Scratch register: sizes and offsets within it. */
	outl(0xe0, 0x12345678);
	check(inl(0xe0) == 0x12345678, "0xe0: dword scratch reads back");
	check(inb(0xe1) == 0x56 && inw(0xe2) == 0x1234, "0xe0: byte and word views of it");
	outw(0xe2, 0xabcd);
	outb(0xe0, 0x99);
	check(inl(0xe0) == 0xabcd5699, "0xe0: word and byte writes merge");
	check(inl(0xe8) == 0xabcd5699 && inb(0xeb) == 0xab, "0xe8: the same register");
	outl(0xe8, 0x0badf00d);
	check(inl(0xe0) == 0x0badf00d, "0xe8: writes reach it too");

	/* Flush page: the page stays as it was, and so does the code. */
	for (unsigned i = 0; i < sizeof(flush_page); i++)
		flush_page[i] = (uint8_t)(i * 7);
	outl(0xe4, (uint32_t)(uintptr_t)flush_page);
	for (unsigned i = 0; i < sizeof(flush_page); i++)
		kept &= flush_page[i] == (uint8_t)(i * 7);
	check(kept, "0xe4: flush page leaves its contents");

	/* Interrupt line 5: raised -> one IRQ through the PIC; lowered -> none. */
	trap_set_handler(PIC_BASE + IRQ_LINE, irq_handler);
	pic_init(PIC_BASE);
	pic_set_mask((uint16_t)~(1u << IRQ_LINE) & 0xfffb);
	outb(0x2000 + IRQ_LINE, 1);
	check(irqs_in_window() == 1, "0x%x: raising line %d gives one IRQ", 0x2000 + IRQ_LINE,
	      IRQ_LINE);
	outb(0x2000 + IRQ_LINE, 0);
	check(irqs_in_window() == 0, "0x%x: lowering it gives none", 0x2000 + IRQ_LINE);
	outb(0x2000 + IRQ_LINE, 1);
	check(irqs_in_window() == 1, "0x%x: a second edge, a second IRQ", 0x2000 + IRQ_LINE);
	outb(0x2000 + IRQ_LINE, 0);
	pic_set_mask(0xffff);

	/* MMIO scratch memory. */
	io32[4] = 0xdeadbeef;
	check(io32[4] == 0xdeadbeef, "0xff000010: dword MMIO scratch reads back");
	*io64 = 0x0123456789abcdefull;
	check(*io64 == 0x0123456789abcdefull && io32[0x40] == 0x89abcdef,
	      "0xff000100: qword write, qword and dword reads");
	io8[0] = 0x11;
	io8[1] = 0x22;
	io8[3] = 0x44;
	check((io32[0x80] & 0xff00ffff) == 0x44002211, "0xff000200: byte writes, dword read");
}

void guest_main(void)
{
	const char *port = arg("debugcon");

	if (port)
		test_debugcon((uint16_t)hex(port));
	else
		guest_printf("no isa-debugcon asked for\n");
	if (arg("pctest"))
		test_pc_testdev();
	else
		guest_printf("no pc-testdev asked for\n");
}
