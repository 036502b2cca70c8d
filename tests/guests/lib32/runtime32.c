// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 32-bit guest kit runtime: serial console, printf, checks, a 32-bit IDT
 * with trap recording, exit. The 32-bit twin of lib/runtime.c for guests
 * that stay in protected mode (lib/ is 64-bit only: its trap frame, IDT
 * and TRAP_TRY are long-mode shaped). Runs at CPL 0, interrupts off.
 */
#include "guest32.h"

unsigned guest_checks, guest_failures;

volatile struct trap_record trap_last;
volatile uint32_t trap_count;
volatile uint32_t trap_start, trap_fixup;

uint64_t guest_idt[256] __attribute__((aligned(8)));
static void (*trap_handlers[256])(struct trap_frame *f);

extern const char trap_stubs[];		/* lib32/entry32.S, 16 bytes per vector */

/* ---- printf (32-bit values only: no 64-bit division in freestanding code) */

static void put_pad(unsigned n, char pad)
{
	while (n--)
		serial_putc(pad);
}

static void put_number(uint32_t v, unsigned base, bool neg, bool upper, unsigned width,
		       bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[12];
	unsigned n = 0, len;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (zero && !left) {
		if (neg)
			serial_putc('-');
		put_pad(width > len ? width - len : 0, '0');
	} else {
		if (!left)
			put_pad(width > len ? width - len : 0, ' ');
		if (neg)
			serial_putc('-');
	}
	while (n)
		serial_putc(buf[--n]);
	if (left)
		put_pad(width > len ? width - len : 0, ' ');
}

void guest_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false;
		unsigned width = 0, len;
		const char *s;
		int32_t d;

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			fmt++;			/* long and size_t are 32-bit here */
		switch (*fmt) {
		case 'd':
		case 'i':
			d = va_arg(ap, int32_t);
			put_number(d < 0 ? -(uint32_t)d : (uint32_t)d, 10, d < 0, false, width,
				   left, zero);
			break;
		case 'u':
			put_number(va_arg(ap, uint32_t), 10, false, false, width, left, zero);
			break;
		case 'x':
		case 'X':
			if (alt)
				serial_puts("0x");
			put_number(va_arg(ap, uint32_t), 16, false, *fmt == 'X', width, left,
				   zero);
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			len = strlen(s);
			if (!left)
				put_pad(width > len ? width - len : 0, ' ');
			serial_puts(s);
			if (left)
				put_pad(width > len ? width - len : 0, ' ');
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			serial_putc('%');
			serial_putc(*fmt);
			break;
		}
	}
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
}

/* ---- checks, exit, PIC -------------------------------------------------- */

bool guest_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	guest_checks++;
	if (!ok)
		guest_failures++;
	serial_puts(ok ? "ok - " : "FAIL - ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	return ok;
}

void guest_exit(uint32_t code)
{
	/* Status is (code << 1) | 1 in 8 bits: cap so failures never read as 0. */
	if (code > 127)
		code = 127;
	asm volatile("outl %0, %1" : : "a"(code), "Nd"((uint16_t)DEBUG_EXIT_PORT));
	for (;;)
		asm volatile("cli; hlt");
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---- traps -------------------------------------------------------------- */

void trap_set_handler(unsigned vec, void (*fn)(struct trap_frame *f))
{
	if (vec < 256)
		trap_handlers[vec] = fn;
}

void trap_dispatch(struct trap_frame *f);

void trap_dispatch(struct trap_frame *f)
{
	uint32_t vec = f->vector;

	if (vec < 256 && trap_handlers[vec]) {
		trap_handlers[vec](f);
		return;
	}
	if (trap_fixup) {
		trap_last.vector = vec;
		trap_last.error_code = f->error_code;
		trap_last.eip = f->eip;
		trap_last.cs = f->cs & 0xffff;
		trap_last.eflags = f->eflags;
		trap_last.cr2 = read_cr2();
		trap_last.start = trap_start;
		trap_last.fixup = trap_fixup;
		trap_count++;
		f->eip = trap_fixup;
		trap_fixup = 0;			/* one fault per TRAP_TRY */
		f->eflags &= ~EFLAGS_TF;
		return;
	}
	guest_check(false, "unexpected trap: vector %u error %#x eip %#x cr2 %#x", vec,
		    f->error_code, f->eip, read_cr2());
	guest_exit(guest_failures);
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = { sizeof(guest_idt) - 1, (uintptr_t)guest_idt };
	unsigned i;

	for (i = 0; i < 256; i++) {
		uint32_t a = (uintptr_t)trap_stubs + 16 * i;

		/* Present, DPL 0, 32-bit interrupt gate, selector SEL_CODE. */
		guest_idt[i] = (a & 0xffff) | (uint64_t)SEL_CODE << 16 | 0x8eull << 40 |
			       (uint64_t)(a >> 16) << 48;
	}
	asm volatile("lidt %0" : : "m"(desc));
}

void guest_start(void);

void guest_start(void)
{
	guest_serial_init();
	idt_init();
	guest_main();
	guest_printf("%s: %u checks, %u failed\n", guest_name, guest_checks, guest_failures);
	guest_exit(guest_failures);
}
