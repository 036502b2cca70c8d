// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest kit runtime: serial console, printf, checks, IDT and trap
 * recording, exit. Everything here runs in 64-bit ring 0 with interrupts
 * off unless a guest turns them on.
 *
 * Instruction counts matter (under some engines every ring-0 instruction
 * is emulated): no loop here runs longer than the data it prints.
 */
#include "guest.h"

unsigned guest_checks, guest_failures;

volatile struct trap_record trap_last;
volatile uint64_t trap_count;
volatile uint64_t trap_start, trap_fixup;

static void (*trap_handlers[256])(struct trap_frame *f);

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

extern const char trap_stubs[];		/* lib/entry.S, 16 bytes per vector */

/* ---- printf ------------------------------------------------------------- */

static void put_padded(const char *s, size_t len, unsigned width, bool left, char pad)
{
	size_t i;

	if (!left)
		for (i = len; i < width; i++)
			serial_putc(pad);
	for (i = 0; i < len; i++)
		serial_putc(s[i]);
	if (left)
		for (i = len; i < width; i++)
			serial_putc(' ');
}

static void put_number(uint64_t v, unsigned base, bool neg, bool upper, unsigned width,
		       bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	size_t n = 0, i;

	do {
		buf[sizeof(buf) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && zero && !left) {
		/* The sign goes before the zero padding. */
		serial_putc('-');
		if (width)
			width--;
		neg = false;
	}
	if (neg)
		buf[sizeof(buf) - 1 - n++] = '-';
	if (zero && !left)
		for (i = n; i < width; i++)
			serial_putc('0');
	put_padded(&buf[sizeof(buf) - n], n, (zero && !left) ? 0 : width, left, ' ');
}

void guest_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false;
		unsigned width = 0, lng = 0;
		const char *s;
		uint64_t u;
		int64_t d;

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
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
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			d = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			put_number(u, 10, d < 0, false, width, left, zero);
			break;
		case 'u':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_number(u, 10, false, false, width, left, zero);
			break;
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			if (alt)
				serial_puts("0x");
			put_number(u, 16, false, *fmt == 'X', width, left, zero);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			serial_puts("0x");
			put_number(u, 16, false, false, 16, false, true);
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(s, strlen(s), width, left, ' ');
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			/* Unknown conversion: show it rather than guess. */
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

/* ---- checks and exit ---------------------------------------------------- */

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

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void guest_exit(uint32_t code)
{
	/*
	 * The exit status is (code << 1) | 1 truncated to 8 bits: cap the
	 * code so a large failure count can never read as success.
	 */
	if (code > 127)
		code = 127;
	outl(DEBUG_EXIT_PORT, code);
	halt_forever();
}

void guest_poweroff(uint32_t code)
{
	cli();
	outw(0x604, 0x2000);
	/*
	 * A VMM may act on the power-off request asynchronously (QEMU -M pc
	 * does: SeaBIOS puts the PIIX4 PM block at 0x600). Give it ~20 ms,
	 * timed by the PIT, before falling back to the debug-exit port, so
	 * which of the two ends the run does not depend on thread timing.
	 */
	pit_start(1193);
	pit_wait_reloads(20, 400000);
	guest_exit(code);
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
	uint64_t vec = f->vector;

	if (vec < 256 && trap_handlers[vec]) {
		trap_handlers[vec](f);
		return;
	}
	if (trap_fixup) {
		trap_last.vector = vec;
		trap_last.error_code = f->error_code;
		trap_last.rip = f->rip;
		trap_last.cr2 = read_cr2();
		trap_last.start = trap_start;
		trap_last.fixup = trap_fixup;
		trap_count++;
		f->rip = trap_fixup;
		/* One fault per TRAP_TRY: a second one is unexpected, and a
		 * single-step test must not keep stepping after it. */
		trap_fixup = 0;
		f->rflags &= ~RFLAGS_TF;
		return;
	}
	guest_check(false, "unexpected trap: vector %lu error %#lx rip %#lx cr2 %#lx", vec,
		    f->error_code, f->rip, read_cr2());
	guest_exit(guest_failures);
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };
	unsigned i;

	for (i = 0; i < 256; i++) {
		uint64_t a = (uintptr_t)trap_stubs + 16 * i;

		idt[i].offset_lo = (uint16_t)a;
		idt[i].selector = SEL_CODE64;
		idt[i].ist = 0;
		idt[i].type_attr = 0x8e;	/* present, DPL 0, interrupt gate */
		idt[i].offset_mid = (uint16_t)(a >> 16);
		idt[i].offset_hi = (uint32_t)(a >> 32);
		idt[i].reserved = 0;
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
