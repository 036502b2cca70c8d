// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest kit helpers for the PC devices the tests share: fw_cfg, the
 * 8259A PIC pair and PIT channel 0.
 */
#include "guest.h"

/* ---- fw_cfg (I/O interface: 16-bit selector, 8-bit data) --------------- */

void fw_cfg_read(uint16_t key, void *buf, size_t len)
{
	uint8_t *p = buf;

	outw(FW_CFG_PORT_SEL, key);
	while (len--)
		*p++ = inb(FW_CFG_PORT_DATA);
}

bool fw_cfg_present(void)
{
	char sig[4];

	fw_cfg_read(FW_CFG_SIGNATURE, sig, sizeof(sig));
	return memcmp(sig, "QEMU", 4) == 0;
}

uint64_t fw_cfg_ram_size(void)
{
	uint8_t b[8];
	uint64_t v = 0;
	int i;

	fw_cfg_read(FW_CFG_RAM_SIZE, b, sizeof(b));
	for (i = 7; i >= 0; i--)
		v = (v << 8) | b[i];	/* little endian */
	return v;
}

unsigned fw_cfg_nb_cpus(void)
{
	uint8_t b[2];

	fw_cfg_read(FW_CFG_NB_CPUS, b, sizeof(b));
	return b[0] | (unsigned)b[1] << 8;
}

/* ---- 8259A PIC ---------------------------------------------------------- */

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1

void pic_init(uint8_t master_base)
{
	/* Mask everything first so nothing fires half-way through. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	outb(PIC1_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, master_base);	/* ICW2: vector base */
	outb(PIC2_DATA, (uint8_t)(master_base + 8));
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02);		/* ICW3: slave identity 2 */
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff);		/* OCW1: all masked */
	outb(PIC2_DATA, 0xff);
}

void pic_set_mask(uint16_t mask)
{
	outb(PIC1_DATA, (uint8_t)mask);
	outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

uint16_t pic_get_mask(void)
{
	return inb(PIC1_DATA) | (uint16_t)inb(PIC2_DATA) << 8;
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, 0x20);
	outb(PIC1_CMD, 0x20);		/* non-specific EOI */
}

static uint16_t pic_read_reg(uint8_t ocw3)
{
	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	return inb(PIC1_CMD) | (uint16_t)inb(PIC2_CMD) << 8;
}

uint16_t pic_read_irr(void)
{
	return pic_read_reg(0x0a);
}

uint16_t pic_read_isr(void)
{
	return pic_read_reg(0x0b);
}

/* ---- PIT channel 0 ------------------------------------------------------ */

#define PIT_CH0		0x40
#define PIT_CMD		0x43

void pit_start(uint16_t divisor)
{
	outb(PIT_CMD, 0x34);		/* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

void pit_oneshot(uint16_t count)
{
	outb(PIT_CMD, 0x30);		/* channel 0, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
}

uint16_t pit_read_count(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, 0x00);		/* latch channel 0 */
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return lo | (uint16_t)hi << 8;
}

unsigned pit_wait_reloads(unsigned n, unsigned max_polls)
{
	uint16_t prev = pit_read_count(), cur;
	unsigned seen = 0;

	/*
	 * The counter counts down and reloads at the end of each period:
	 * a reading above the previous one means a reload happened (the
	 * period must be longer than the polling interval).
	 */
	while (seen < n && max_polls--) {
		cur = pit_read_count();
		if (cur > prev)
			seen++;
		prev = cur;
	}
	return seen;
}
