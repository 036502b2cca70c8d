// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the 64-bit (lib/runtime.c) and 32-bit (lib32/runtime32.c) guest
 * runtimes share: the few libc functions the compiler may call, and the
 * COM1 console. Mode-independent C; built into both kits.
 */
#include <stddef.h>
#include <stdint.h>

#include "x86io.h"

/* ---- libc bits ---------------------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *ap = a, *bp = b;

	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap - *bp;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- serial ------------------------------------------------------------- */

#define UART_THR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_DLL	0
#define UART_DLM	1
#define LSR_THRE	0x20

void guest_serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);	/* no UART interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: divisor 1 = 115200 baud */
	outb(COM1 + UART_DLL, 0x01);
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);	/* FIFO on, both cleared, 14-byte trigger */
	outb(COM1 + UART_MCR, 0x0b);	/* DTR | RTS | OUT2 */
}

void serial_putc(char c)
{
	unsigned spins = 100000;

	/*
	 * A missing or wedged UART must not hang the guest: give up waiting
	 * for THRE after a bounded number of polls and send anyway.
	 */
	while (!(inb(COM1 + UART_LSR) & LSR_THRE) && --spins)
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
