// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the PC devices (devices/) and the character back ends
 * (machine/chardev.c), driven through the port bus like a guest would,
 * with the guest clock under manual control.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/misc.h"
#include "devices/rtc.h"
#include "devices/uart8250.h"
#include "machine/bus.h"
#include "machine/chardev.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/timer.h"
#include "machine/vm.h"

static struct vm vm;

/* Per-line record of what devices drove: current level and rising edges. */
static int line_level[VM_NR_IRQ_LINES];
static unsigned line_edges[VM_NR_IRQ_LINES];

static void line_spy(void *opaque, unsigned line, int level)
{
	if (level && !line_level[line])
		line_edges[line]++;
	line_level[line] = level;
}

static void vm_setup(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	pthread_mutex_init(&vm.halt_lock, NULL);
	pthread_cond_init(&vm.halt_cond, NULL);
	vm_clock_set_manual(&vm, 0);
	memset(line_level, 0, sizeof(line_level));
	memset(line_edges, 0, sizeof(line_edges));
}

static void vm_teardown(void)
{
	bus_free(&vm.pio);
	irq_free(&vm);
	vm_timers_free(&vm);
	pthread_mutex_destroy(&vm.lock);
}

static void spy_line(unsigned line)
{
	CU_ASSERT_EQUAL(irq_connect(&vm, line, line_spy, NULL), 0);
}

/* Advance the manual clock and fire what expired, as the event loop would. */
static void advance_to(uint64_t ns)
{
	vm_clock_set_manual(&vm, ns);
	vm_timers_run(&vm);
}

static uint8_t inb(uint16_t port)
{
	return pio_read(&vm, port, 1);
}

static void outb(uint16_t port, uint8_t v)
{
	pio_write(&vm, port, v, 1);
}

/* ---- fd redirection helpers (stdin/stdout for the stdio back end) ---- */

struct redirect {
	int fd, saved;
};

static void redirect_fd(struct redirect *r, int fd, int newfd)
{
	fflush(stdout);
	r->fd = fd;
	r->saved = dup(fd);
	dup2(newfd, fd);
	close(newfd);
}

static void redirect_undo(struct redirect *r)
{
	fflush(stdout);
	dup2(r->saved, r->fd);
	close(r->saved);
}

/* Let the GLib default context dispatch what is ready (stdin watches). */
static void pump_mainloop(void)
{
	for (int i = 0; i < 16 && g_main_context_iteration(NULL, FALSE); i++)
		;
}

/* ---- 16550A UART ------------------------------------------------------- */

#define COM1 0x3f8

static void test_uart_registers(void)
{
	struct uart8250 *u;

	vm_setup();
	u = uart8250_create(&vm, COM1, 4, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);

	/* DLAB switches offsets 0/1 to the divisor latch. */
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 0x34);
	outb(COM1 + 1, 0x12);
	CU_ASSERT_EQUAL(inb(COM1 + 0), 0x34);
	CU_ASSERT_EQUAL(inb(COM1 + 1), 0x12);
	outb(COM1 + 3, 0x03);
	CU_ASSERT_EQUAL(inb(COM1 + 3), 0x03);
	CU_ASSERT_EQUAL(inb(COM1 + 1), 0x00);	/* IER, not DLM */
	outb(COM1 + 1, 0xff);
	CU_ASSERT_EQUAL(inb(COM1 + 1), 0x0f);	/* only four enable bits */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x80);
	CU_ASSERT_EQUAL(inb(COM1 + 1), 0x12);	/* the divisor was not touched */
	outb(COM1 + 3, 0x03);

	/* Transmitter always empty, nothing received. */
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x60);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x01);
	outb(COM1 + 2, 0x07);			/* FIFO on */
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc1);
	outb(COM1 + 2, 0x00);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x01);

	outb(COM1 + 7, 0xa5);
	CU_ASSERT_EQUAL(inb(COM1 + 7), 0xa5);
	outb(COM1 + 4, 0xff);
	CU_ASSERT_EQUAL(inb(COM1 + 4), 0x1f);	/* bits 5-7 read as zero */
	outb(COM1 + 4, 0x00);
	/* A connected line: CTS, DSR, DCD asserted. */
	CU_ASSERT_EQUAL(inb(COM1 + 6) & 0xf0, 0xb0);

	uart8250_destroy(u);
	vm_teardown();
}

static void test_uart_loopback_fifo(void)
{
	struct uart8250 *u;
	unsigned i;

	vm_setup();
	u = uart8250_create(&vm, COM1, 4, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);

	outb(COM1 + 2, 0x01);		/* FIFO on, trigger 1 */
	outb(COM1 + 4, 0x10);		/* loopback */
	for (i = 0; i < 20; i++)
		outb(COM1, 0x40 + i);
	/* 16 bytes fit, the rest overran. */
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x63);	/* DR | OE | THRE | TEMT */
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x61);	/* OE cleared by the read */
	for (i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(inb(COM1), 0x40 + i);
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x60);

	/* Without the FIFO the receiver holds one byte. */
	outb(COM1 + 2, 0x00);
	outb(COM1, 'a');
	outb(COM1, 'b');
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x63);
	CU_ASSERT_EQUAL(inb(COM1), 'a');
	CU_ASSERT_EQUAL(inb(COM1 + 5), 0x60);

	/* FCR bit 1 empties the receive FIFO. */
	outb(COM1 + 2, 0x01);
	outb(COM1, 'x');
	outb(COM1, 'y');
	CU_ASSERT_EQUAL(inb(COM1 + 5) & 0x01, 0x01);
	outb(COM1 + 2, 0x03);
	CU_ASSERT_EQUAL(inb(COM1 + 5) & 0x01, 0x00);

	/* Modem outputs loop back to the inputs, with deltas. */
	outb(COM1 + 4, 0x1f);
	CU_ASSERT_EQUAL(inb(COM1 + 6), 0xfb);	/* all inputs, DCTS DDSR DDCD */
	CU_ASSERT_EQUAL(inb(COM1 + 6), 0xf0);	/* deltas clear on read */
	outb(COM1 + 4, 0x10);
	CU_ASSERT_EQUAL(inb(COM1 + 6), 0x0f);	/* RI fell: TERI */
	CU_ASSERT_EQUAL(inb(COM1 + 6), 0x00);

	uart8250_destroy(u);
	vm_teardown();
}

static void test_uart_iir_priorities(void)
{
	struct uart8250 *u;

	vm_setup();
	spy_line(4);
	u = uart8250_create(&vm, COM1, 4, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);

	/* Everything at once: overrun, data, THR empty, modem status. */
	outb(COM1 + 4, 0x10 | 0x02);	/* loopback, RTS -> CTS changes */
	outb(COM1 + 1, 0x0f);
	outb(COM1, '1');
	outb(COM1, '2');		/* no FIFO: overrun */
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x06);	/* line status first */
	inb(COM1 + 5);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x04);	/* then received data */
	CU_ASSERT_EQUAL(inb(COM1), '1');
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x02);	/* then THR empty, cleared by this read */
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x00);	/* then modem status */
	inb(COM1 + 6);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x01);
	/* In loopback the OUT2 pin is inactive: the line never moved. */
	CU_ASSERT_EQUAL(line_edges[4], 0);

	/* Out of loopback, OUT2 gates the line. */
	outb(COM1 + 1, 0);
	outb(COM1 + 4, 0x00);
	inb(COM1 + 6);
	outb(COM1 + 1, 0x02);		/* THRI with THR empty: pending */
	CU_ASSERT_EQUAL(line_level[4], 0);
	outb(COM1 + 4, 0x08);		/* OUT2 */
	CU_ASSERT_EQUAL(line_level[4], 1);
	CU_ASSERT_EQUAL(line_edges[4], 1);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x02);
	CU_ASSERT_EQUAL(line_level[4], 0);
	outb(COM1, 'z');		/* sent at once: THR empty again */
	CU_ASSERT_EQUAL(line_level[4], 1);
	outb(COM1 + 1, 0x00);
	CU_ASSERT_EQUAL(line_level[4], 0);

	uart8250_destroy(u);
	vm_teardown();
}

/* Read everything written to a pipe so far (non-blocking). */
static size_t drain_pipe(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += n;
	return got;
}

static void test_uart_stdio(void)
{
	struct redirect rin, rout;
	int in[2], out[2];
	char err[128], buf[64];
	struct chardev *cd;
	struct uart8250 *u;
	unsigned i;

	vm_setup();
	spy_line(4);
	CU_ASSERT_EQUAL_FATAL(pipe(in), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(out), 0);
	redirect_fd(&rin, STDIN_FILENO, in[0]);
	redirect_fd(&rout, STDOUT_FILENO, out[1]);

	cd = chardev_open(&vm, "stdio", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(cd);
	u = uart8250_create(&vm, COM1, 4, cd);
	CU_ASSERT_PTR_NOT_NULL(u);
	if (!cd || !u)
		goto out;

	/* Output reaches stdout. */
	outb(COM1, 'o');
	outb(COM1, 'k');
	CU_ASSERT_EQUAL(drain_pipe(out[0], buf, sizeof(buf)), 2);
	CU_ASSERT_EQUAL(memcmp(buf, "ok", 2), 0);

	/* Input raises the line (IER.RDI, OUT2); a pipe has no escapes. */
	outb(COM1 + 1, 0x01);
	outb(COM1 + 4, 0x08);
	CU_ASSERT_EQUAL(write(in[1], "\001x", 2), 2);
	pump_mainloop();
	CU_ASSERT_EQUAL(line_level[4], 1);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0x04);
	CU_ASSERT_EQUAL(inb(COM1), 0x01);
	CU_ASSERT_EQUAL(inb(COM1), 'x');
	CU_ASSERT_EQUAL(line_level[4], 0);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_NONE);

	/* 40 bytes through a 16-byte FIFO: held back, then delivered in order. */
	outb(COM1 + 2, 0x01);
	for (i = 0; i < 40; i++)
		buf[i] = 'A' + i;
	CU_ASSERT_EQUAL(write(in[1], buf, 40), 40);
	pump_mainloop();
	CU_ASSERT_EQUAL(inb(COM1 + 5) & 0x03, 0x01);	/* data, never an overrun */
	for (i = 0; i < 40; i++) {
		CU_ASSERT_EQUAL(inb(COM1 + 5) & 0x01, 0x01);
		CU_ASSERT_EQUAL(inb(COM1), 'A' + i);
	}
	CU_ASSERT_EQUAL(inb(COM1 + 5) & 0x03, 0x00);

	/* EOF on stdin just stops the watch; the device keeps working. */
	close(in[1]);
	in[1] = -1;
	pump_mainloop();
	outb(COM1, '!');
	CU_ASSERT_EQUAL(drain_pipe(out[0], buf, sizeof(buf)), 1);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_NONE);
out:
	uart8250_destroy(u);
	chardev_close(cd);
	redirect_undo(&rout);
	redirect_undo(&rin);
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	vm_teardown();
}

static void test_uart_rx_timeout(void)
{
	struct redirect rin;
	int in[2];
	char err[128];
	struct chardev *cd;
	struct uart8250 *u;
	uint64_t t;

	vm_setup();
	CU_ASSERT_EQUAL_FATAL(pipe(in), 0);
	redirect_fd(&rin, STDIN_FILENO, in[0]);
	cd = chardev_open(&vm, "stdio", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
	u = uart8250_create(&vm, COM1, 4, cd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);

	/* 115200 8N1: 10 bits a character, four of them ~347 us. */
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);
	outb(COM1 + 2, 0x81);		/* FIFO, trigger level 8 */
	outb(COM1 + 1, 0x01);
	CU_ASSERT_EQUAL(write(in[1], "abc", 3), 3);
	pump_mainloop();
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc1);	/* below the trigger level */
	t = 300000;
	advance_to(t);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc1);	/* not yet four characters */
	t = 400000;
	advance_to(t);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xcc);	/* character timeout */
	CU_ASSERT_EQUAL(inb(COM1), 'a');	/* a read restarts the timeout */
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc1);
	advance_to(t + 400000);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xcc);
	inb(COM1);
	inb(COM1);
	advance_to(t + 800000);
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc1);	/* empty: no timeout */

	/* Reaching the trigger level is "data available" at once. */
	CU_ASSERT_EQUAL(write(in[1], "0123456789", 10), 10);
	pump_mainloop();
	CU_ASSERT_EQUAL(inb(COM1 + 2), 0xc4);

	uart8250_destroy(u);
	chardev_close(cd);
	redirect_undo(&rin);
	close(in[1]);
	vm_teardown();
}

/* ---- chardev ---------------------------------------------------------- */

static uint8_t rx_got[64];
static size_t rx_len;

static size_t rx_room(void *opaque)
{
	return sizeof(rx_got) - rx_len;
}

static void rx_take(void *opaque, const uint8_t *buf, size_t len)
{
	memcpy(rx_got + rx_len, buf, len);
	rx_len += len;
}

static const struct chardev_receiver test_rx = { rx_room, rx_take };

static void test_chardev_specs(void)
{
	char err[256], path[] = "/tmp/tandem-chardev-XXXXXX", buf[32];
	struct chardev *cd;
	int fd;

	vm_setup();
	CU_ASSERT_PTR_NULL(chardev_open(&vm, "bogus", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));
	CU_ASSERT_PTR_NULL(chardev_open(&vm, "file:", err, sizeof(err)));
	/* A file is only opened by chardev_start(), after the loaders read their inputs. */
	cd = chardev_open(&vm, "file:/nonexistent-dir/x", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
	CU_ASSERT_EQUAL(chardev_start(cd, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/x"));
	chardev_close(cd);

	cd = chardev_open(&vm, "none", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
	chardev_write(cd, (const uint8_t *)"dropped", 7);
	chardev_close(cd);

	/* file: truncates, as QEMU's file chardev does: each run's log is its own. */
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "old:", 4), 4);
	close(fd);
	snprintf(buf, sizeof(buf), "file:%s", path);
	cd = chardev_open(&vm, buf, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
	/* Not touched before chardev_start(). */
	fd = open(path, O_RDONLY);
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	CU_ASSERT_EQUAL(chardev_start(cd, err, sizeof(err)), 0);
	chardev_write(cd, (const uint8_t *)"new", 3);
	chardev_close(cd);
	fd = open(path, O_RDONLY);
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(memcmp(buf, "new", 3), 0);
	close(fd);
	unlink(path);
	vm_teardown();
}

static void test_chardev_tty_escapes(void)
{
	struct termios before, during, after;
	struct redirect rin, rout;
	int master, slave, out[2];
	char err[128], buf[512];
	struct chardev *cd;

	vm_setup();
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		CU_FAIL("no pseudo-terminal");
		vm_teardown();
		return;
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	CU_ASSERT_FATAL(slave >= 0);
	CU_ASSERT_EQUAL_FATAL(pipe(out), 0);
	tcgetattr(slave, &before);
	CU_ASSERT(before.c_lflag & ICANON);
	redirect_fd(&rin, STDIN_FILENO, slave);
	redirect_fd(&rout, STDOUT_FILENO, out[1]);

	cd = chardev_open(&vm, "stdio", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
	tcgetattr(STDIN_FILENO, &during);
	CU_ASSERT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG));
	rx_len = 0;
	pthread_mutex_lock(&vm.lock);
	chardev_set_receiver(cd, &test_rx, NULL);
	pthread_mutex_unlock(&vm.lock);

	/* C-a C-a is a literal ^A; C-a h prints help and sends nothing. */
	CU_ASSERT_EQUAL(write(master, "a\001\001b\001hc", 7), 7);
	for (int i = 0; i < 200 && rx_len < 4; i++) {
		usleep(5000);
		pump_mainloop();
	}
	CU_ASSERT_EQUAL(rx_len, 4);
	CU_ASSERT_EQUAL(memcmp(rx_got, "a\001bc", 4), 0);
	CU_ASSERT(drain_pipe(out[0], buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_NONE);

	/* C-a x quits. */
	CU_ASSERT_EQUAL(write(master, "\001x", 2), 2);
	for (int i = 0; i < 200 && vm.exit_kind == VM_EXIT_NONE; i++) {
		usleep(5000);
		pump_mainloop();
	}
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_USER);
	CU_ASSERT_EQUAL(vm.exit_code, 0);
	CU_ASSERT_EQUAL(rx_len, 4);

	chardev_close(cd);
	tcgetattr(STDIN_FILENO, &after);
	CU_ASSERT_EQUAL(after.c_lflag, before.c_lflag);
	CU_ASSERT_EQUAL(after.c_iflag, before.c_iflag);
	redirect_undo(&rout);
	redirect_undo(&rin);
	close(out[0]);
	close(master);
	vm_teardown();
}

/* ---- 8259A pair -------------------------------------------------------- */

static bool pic_pending(void)
{
	return vm_intr_pending(&vm, vm_current_cpu());
}

static int pic_ack(void)
{
	int v;

	/* The raw INTA, without vm_intr_ack()'s pending check: spurious cases too. */
	pthread_mutex_lock(&vm.lock);
	v = vm.intr->ack(vm.intr_opaque, vm_current_cpu());
	pthread_mutex_unlock(&vm.lock);
	return v;
}

static void line(unsigned n, int level)
{
	pthread_mutex_lock(&vm.lock);
	irq_set(&vm, n, level);
	pthread_mutex_unlock(&vm.lock);
}

static void pulse(unsigned n)
{
	line(n, 1);
	line(n, 0);
}

static void pic_init(uint8_t icw4)
{
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, icw4);
	outb(0xa0, 0x11);
	outb(0xa1, 0x28);
	outb(0xa1, 0x02);
	outb(0xa1, icw4);
}

static void test_pic_init_mask_eoi(void)
{
	struct i8259 *pic;
	uint64_t gen;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	CU_ASSERT_PTR_EQUAL(vm.intr_opaque, pic);
	/* Reset leaves what a BIOS would: all masked but the cascade. */
	CU_ASSERT_EQUAL(inb(0x21), 0xfb);
	CU_ASSERT_EQUAL(inb(0xa1), 0xff);
	pulse(3);
	CU_ASSERT_FALSE(pic_pending());

	pic_init(0x01);
	CU_ASSERT_EQUAL(inb(0x21), 0x00);	/* ICW1 cleared the mask */
	CU_ASSERT_EQUAL(inb(0xa1), 0x00);
	outb(0x21, 0x08);			/* mask IRQ3 */
	pulse(3);
	CU_ASSERT_FALSE(pic_pending());
	outb(0x20, 0x0a);			/* OCW3: read IRR */
	CU_ASSERT_EQUAL(inb(0x20), 0x08);	/* latched even though masked */
	gen = vm.intr_gen;
	outb(0x21, 0x00);
	CU_ASSERT_TRUE(pic_pending());
	CU_ASSERT(vm.intr_gen != gen);		/* INTR change was signalled */
	CU_ASSERT_EQUAL(pic_ack(), 0x23);
	CU_ASSERT_FALSE(pic_pending());
	outb(0x20, 0x0b);			/* OCW3: read ISR */
	CU_ASSERT_EQUAL(inb(0x20), 0x08);
	outb(0x20, 0x20);			/* non-specific EOI */
	CU_ASSERT_EQUAL(inb(0x20), 0x00);
	CU_ASSERT_EQUAL(i8259_irr(pic, 0), 0x00);

	/* Specific EOI clears the named level only. */
	pulse(5);
	CU_ASSERT_EQUAL(pic_ack(), 0x25);
	pulse(1);
	CU_ASSERT_EQUAL(pic_ack(), 0x21);	/* nests above IRQ5 */
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x22);
	outb(0x20, 0x65);			/* specific EOI, level 5 */
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x02);
	outb(0x20, 0x20);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x00);

	i8259_destroy(pic);
	vm_teardown();
}

static void test_pic_priority_cascade(void)
{
	struct i8259 *pic;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	pic_init(0x01);

	/* Lower number wins; a lower level waits for the EOI. */
	pulse(5);
	pulse(3);
	CU_ASSERT_EQUAL(pic_ack(), 0x23);
	CU_ASSERT_FALSE(pic_pending());
	outb(0x20, 0x20);
	CU_ASSERT_TRUE(pic_pending());
	CU_ASSERT_EQUAL(pic_ack(), 0x25);
	outb(0x20, 0x20);

	/* Slave requests come through IR2 with the slave's vector. */
	pulse(10);
	CU_ASSERT_TRUE(pic_pending());
	CU_ASSERT_EQUAL(i8259_irr(pic, 0), 0x04);
	CU_ASSERT_EQUAL(pic_ack(), 0x2a);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x04);
	CU_ASSERT_EQUAL(i8259_isr(pic, 1), 0x04);
	/* IRQ1 still nests above the cascade; IRQ12 must wait. */
	pulse(12);
	CU_ASSERT_FALSE(pic_pending());
	pulse(1);
	CU_ASSERT_EQUAL(pic_ack(), 0x21);
	outb(0x20, 0x20);
	outb(0xa0, 0x20);
	CU_ASSERT_FALSE(pic_pending());		/* master IR2 still in service */
	outb(0x20, 0x20);
	CU_ASSERT_TRUE(pic_pending());		/* IRQ12 was not lost */
	CU_ASSERT_EQUAL(pic_ack(), 0x2c);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(pic_pending());

	/* Masking a slave input hides it from the master too. */
	outb(0xa1, 0x01);
	pulse(8);
	CU_ASSERT_FALSE(pic_pending());
	outb(0xa1, 0x00);
	CU_ASSERT_EQUAL(pic_ack(), 0x28);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);

	/* Set priority: IRQ2 lowest makes IRQ3 highest. */
	outb(0x20, 0xc2);
	pulse(1);
	pulse(4);
	CU_ASSERT_EQUAL(pic_ack(), 0x24);
	CU_ASSERT_FALSE(pic_pending());		/* IRQ1 now ranks below IRQ4 */
	outb(0x20, 0x20);
	CU_ASSERT_EQUAL(pic_ack(), 0x21);
	outb(0x20, 0x20);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x00);

	i8259_destroy(pic);
	vm_teardown();
}

static void test_pic_level_edge_spurious(void)
{
	struct i8259 *pic;

	vm_setup();
	pic = i8259_create(&vm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	pic_init(0x01);

	/* IRQ0-2 cannot be level-triggered. */
	outb(0x4d0, 0xff);
	CU_ASSERT_EQUAL(inb(0x4d0), 0xf8);
	outb(0x4d1, 0xff);
	CU_ASSERT_EQUAL(inb(0x4d1), 0xde);
	outb(0x4d1, 0x00);
	outb(0x4d0, 0x08);			/* IRQ3 level, the rest edge */

	/* Level: requests as long as the line is high, even after EOI. */
	line(3, 1);
	CU_ASSERT_EQUAL(pic_ack(), 0x23);
	outb(0x20, 0x20);
	CU_ASSERT_TRUE(pic_pending());
	CU_ASSERT_EQUAL(pic_ack(), 0x23);
	line(3, 0);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(pic_pending());

	/* Edge: a pulse is latched, and only a new edge requests again. */
	line(4, 1);
	line(4, 0);
	CU_ASSERT_TRUE(pic_pending());
	CU_ASSERT_EQUAL(pic_ack(), 0x24);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(pic_pending());
	line(4, 1);
	CU_ASSERT_EQUAL(pic_ack(), 0x24);
	outb(0x20, 0x20);
	CU_ASSERT_FALSE(pic_pending());		/* held high: no new edge */
	line(4, 0);

	/* A level request withdrawn before INTA: spurious IRQ7, nothing in service. */
	line(3, 1);
	CU_ASSERT_TRUE(pic_pending());
	line(3, 0);
	CU_ASSERT_EQUAL(pic_ack(), 0x27);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x00);

	/* Auto-EOI: nothing stays in service. */
	pic_init(0x03);
	pulse(6);
	CU_ASSERT_EQUAL(pic_ack(), 0x26);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x00);

	/* Poll mode: the read acknowledges. */
	pic_init(0x01);
	pulse(5);
	outb(0x20, 0x0c);
	CU_ASSERT_EQUAL(inb(0x20), 0x85);
	CU_ASSERT_EQUAL(i8259_isr(pic, 0), 0x20);
	outb(0x20, 0x0c);
	CU_ASSERT_EQUAL(inb(0x20), 0x00);
	outb(0x20, 0x20);

	/* The PIC's ports are mapped; its neighbours are not. */
	CU_ASSERT_EQUAL(inb(0x22), 0xff);
	CU_ASSERT_EQUAL(vm.pio.unmapped_reads, 1);

	i8259_destroy(pic);
	vm_teardown();
}

/* ---- 8254 PIT ----------------------------------------------------------- */

/* Clock time (ns) at which @ticks PIT clocks have elapsed. */
static uint64_t pit_ns(uint64_t ticks)
{
	return (ticks * 1000000000ull + I8254_HZ - 1) / I8254_HZ;
}

static unsigned pit_read16(uint16_t port)
{
	unsigned lo = inb(port);

	return lo | inb(port) << 8;
}

static void test_pit_mode2(void)
{
	struct i8254 *pit;

	vm_setup();
	spy_line(0);
	pit = i8254_create(&vm, 0x40, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pit);

	outb(0x43, 0x34);		/* ch0, lo/hi, mode 2 */
	outb(0x40, 1000 & 0xff);
	outb(0x40, 1000 >> 8);
	CU_ASSERT_EQUAL(pit_read16(0x40), 1000);
	vm_clock_set_manual(&vm, pit_ns(300));
	CU_ASSERT_EQUAL(pit_read16(0x40), 700);

	/* Latch: the value is frozen until read; a second latch is ignored. */
	outb(0x43, 0x00);
	vm_clock_set_manual(&vm, pit_ns(550));
	outb(0x43, 0x00);
	CU_ASSERT_EQUAL(pit_read16(0x40), 700);
	CU_ASSERT_EQUAL(pit_read16(0x40), 450);

	/* One IRQ0 edge per period, from the clock, not per tick. */
	for (unsigned k = 1; k <= 5; k++) {
		advance_to(pit_ns(k * 1000) - 1);
		CU_ASSERT_EQUAL(line_edges[0], k - 1);
		advance_to(pit_ns(k * 1000) + 1);
		CU_ASSERT_EQUAL(line_edges[0], k);
		CU_ASSERT_EQUAL(line_level[0], 0);	/* pulsed, not held */
	}
	/* Reloads: the count restarts each period. */
	vm_clock_set_manual(&vm, pit_ns(5000 + 250));
	CU_ASSERT_EQUAL(pit_read16(0x40), 750);

	/* Read-back of status and count for ch0. */
	outb(0x43, 0xc2);
	CU_ASSERT_EQUAL(inb(0x40), 0x80 | 0x34);	/* OUT high, lo/hi, mode 2 */
	CU_ASSERT_EQUAL(pit_read16(0x40), 750);

	/* A new control word stops channel 0: no more interrupts. */
	outb(0x43, 0x34);
	advance_to(pit_ns(20000));
	CU_ASSERT_EQUAL(line_edges[0], 5);

	i8254_destroy(pit);
	vm_teardown();
}

static bool line0_busy;

static bool spy_busy(void *opaque, unsigned line)
{
	return line0_busy;
}

/*
 * Divisor 1: a tick is raised only once the CPU is done with the last one;
 * while it is not, the tick is held (looked at again after a doubling gap)
 * and the missed periods coalesce into one edge. At 1 kHz, ticks come on
 * time whatever the CPU does (the 8259 latches them, as on hardware).
 */
static void test_pit_storm(void)
{
	struct i8254 *pit;
	uint64_t t, held;

	vm_setup();
	spy_line(0);
	irq_set_busy_fn(&vm, 0, NULL, spy_busy);
	line0_busy = false;
	pit = i8254_create(&vm, 0x40, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pit);

	outb(0x43, 0x34);		/* ch0, lo/hi, mode 2 */
	outb(0x40, 1);
	outb(0x40, 0);
	for (t = 1000; line_edges[0] == 0 && t < 100000; t += 1000)
		advance_to(t);
	CU_ASSERT_EQUAL(line_edges[0], 1);

	/* 10 ms while the CPU has not finished with it: nothing, and few looks. */
	line0_busy = true;
	for (; t < 10000000; t += 1000)
		advance_to(t);
	CU_ASSERT_EQUAL(line_edges[0], 1);
	held = i8254_held_ticks(pit);
	CU_ASSERT(held >= 5 && held <= 20);

	/* Taken: one edge for all the missed periods, within the longest gap. */
	line0_busy = false;
	t += 1000000;
	advance_to(t);
	CU_ASSERT_EQUAL(line_edges[0], 2);

	/* An OS's 1 kHz tick: on time, busy or not. */
	line0_busy = true;
	outb(0x43, 0x34);
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);
	line_edges[0] = 0;
	for (unsigned k = 1; k <= 5; k++) {
		t += pit_ns(1193);
		advance_to(t + 1);
	}
	CU_ASSERT_EQUAL(line_edges[0], 5);

	i8254_destroy(pit);
	vm_teardown();
}

static void test_pit_mode0_and_port61(void)
{
	struct i8254 *pit;

	vm_setup();
	spy_line(0);
	pit = i8254_create(&vm, 0x40, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pit);

	/* Mode 0: OUT low until terminal count, one edge, the count wraps on. */
	outb(0x43, 0x30);
	outb(0x40, 500 & 0xff);
	outb(0x40, 500 >> 8);
	CU_ASSERT_FALSE(i8254_out(pit, 0));
	advance_to(pit_ns(499));
	CU_ASSERT_FALSE(i8254_out(pit, 0));
	CU_ASSERT_EQUAL(pit_read16(0x40), 1);
	CU_ASSERT_EQUAL(line_edges[0], 0);
	advance_to(pit_ns(500));
	CU_ASSERT_TRUE(i8254_out(pit, 0));
	CU_ASSERT_EQUAL(line_edges[0], 1);
	advance_to(pit_ns(600));
	CU_ASSERT_EQUAL(pit_read16(0x40), 65536 - 100);
	advance_to(pit_ns(200000));
	CU_ASSERT_EQUAL(line_edges[0], 1);

	/* Channel 2 through port 0x61, the way Linux calibrates the TSC. */
	advance_to(1000000);
	outb(0x61, 0x01);		/* gate high, speaker off */
	outb(0x43, 0xb0);		/* ch2, lo/hi, mode 0 */
	outb(0x42, 0x00);
	outb(0x42, 0x01);		/* 256 */
	CU_ASSERT_EQUAL(inb(0x61) & 0x23, 0x01);	/* OUT2 low */
	vm_clock_set_manual(&vm, 1000000 + pit_ns(100));
	/* Gate low pauses mode 0. */
	outb(0x61, 0x00);
	vm_clock_set_manual(&vm, 1000000 + pit_ns(5000));
	CU_ASSERT_EQUAL(pit_read16(0x42), 156);
	outb(0x61, 0x01);
	vm_clock_set_manual(&vm, 1000000 + pit_ns(5000) + pit_ns(155));
	CU_ASSERT_EQUAL(inb(0x61) & 0x20, 0x00);
	vm_clock_set_manual(&vm, 1000000 + pit_ns(5000) + pit_ns(157));
	CU_ASSERT_EQUAL(inb(0x61) & 0x20, 0x20);	/* OUT2 high */
	CU_ASSERT_EQUAL(line_edges[0], 1);		/* channel 2 has no IRQ */

	/* Bit 4 toggles with refresh cycles. */
	{
		uint8_t a, b;

		vm_clock_set_manual(&vm, 10000000);
		a = inb(0x61) & 0x10;
		vm_clock_set_manual(&vm, 10000000 + 15085);
		b = inb(0x61) & 0x10;
		CU_ASSERT_NOT_EQUAL(a, b);
	}

	/* BCD counting. */
	vm_clock_set_manual(&vm, 20000000);
	outb(0x43, 0xb1);		/* ch2, lo/hi, mode 0, BCD */
	outb(0x42, 0x00);
	outb(0x42, 0x10);		/* 1000 decimal */
	vm_clock_set_manual(&vm, 20000000 + pit_ns(1));
	CU_ASSERT_EQUAL(pit_read16(0x42), 0x0999);

	i8254_destroy(pit);
	vm_teardown();
}

/* ---- RTC --------------------------------------------------------------- */

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void cmos_w(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

static int64_t utc(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = m, .tm_sec = s };

	return timegm(&tm);
}

static void test_rtc_time_formats(void)
{
	struct rtc *rtc;

	vm_setup();
	rtc = rtc_create(&vm, 0x70, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	/* Host UTC at creation. */
	{
		time_t now = time(NULL);
		struct tm tm;
		unsigned y;

		gmtime_r(&now, &tm);
		y = (tm.tm_year + 1900) % 100;
		CU_ASSERT_EQUAL(cmos(0x09), (y / 10) << 4 | (y % 10));
		y = (tm.tm_year + 1900) / 100;
		CU_ASSERT_EQUAL(cmos(0x32), (y / 10) << 4 | (y % 10));
	}

	rtc_set_time(rtc, utc(2024, 2, 29, 13, 45, 30));	/* a Thursday */
	CU_ASSERT_EQUAL(cmos(0x0b), 0x02);		/* BCD, 24h */
	CU_ASSERT_EQUAL(cmos(0x00), 0x30);
	CU_ASSERT_EQUAL(cmos(0x02), 0x45);
	CU_ASSERT_EQUAL(cmos(0x04), 0x13);
	CU_ASSERT_EQUAL(cmos(0x06), 5);
	CU_ASSERT_EQUAL(cmos(0x07), 0x29);
	CU_ASSERT_EQUAL(cmos(0x08), 0x02);
	CU_ASSERT_EQUAL(cmos(0x09), 0x24);
	CU_ASSERT_EQUAL(cmos(0x32), 0x20);
	CU_ASSERT_EQUAL(cmos(0x0d), 0x80);

	cmos_w(0x0b, 0x06);				/* binary, 24h */
	CU_ASSERT_EQUAL(cmos(0x00), 30);
	CU_ASSERT_EQUAL(cmos(0x04), 13);
	CU_ASSERT_EQUAL(cmos(0x09), 24);
	cmos_w(0x0b, 0x04);				/* binary, 12h */
	CU_ASSERT_EQUAL(cmos(0x04), 0x81);		/* 1 PM */
	cmos_w(0x0b, 0x00);				/* BCD, 12h */
	CU_ASSERT_EQUAL(cmos(0x04), 0x81);
	cmos_w(0x0b, 0x02);

	/* Time advances with the guest clock, carrying into minutes. */
	vm_clock_set_manual(&vm, 31ull * 1000000000);
	CU_ASSERT_EQUAL(cmos(0x00), 0x01);
	CU_ASSERT_EQUAL(cmos(0x02), 0x46);

	/* UIP shows in the last 244 us before an update. */
	vm_clock_set_manual(&vm, 31ull * 1000000000 + 999900000);
	CU_ASSERT_EQUAL(cmos(0x0a), 0xa6);
	vm_clock_set_manual(&vm, 32ull * 1000000000 + 100000);
	CU_ASSERT_EQUAL(cmos(0x0a), 0x26);

	/* The guest sets the time: SET stops the clock while it writes. */
	cmos_w(0x0b, 0x82);
	cmos_w(0x00, 0x59);
	cmos_w(0x02, 0x59);
	cmos_w(0x04, 0x23);
	cmos_w(0x07, 0x31);
	cmos_w(0x08, 0x12);
	cmos_w(0x09, 0x99);
	cmos_w(0x32, 0x19);
	vm_clock_set_manual(&vm, 40ull * 1000000000);
	CU_ASSERT_EQUAL(cmos(0x00), 0x59);		/* stopped */
	cmos_w(0x0b, 0x02);
	vm_clock_set_manual(&vm, 41ull * 1000000000);
	CU_ASSERT_EQUAL(cmos(0x00), 0x00);		/* 2000-01-01 00:00:00 */
	CU_ASSERT_EQUAL(cmos(0x09), 0x00);
	CU_ASSERT_EQUAL(cmos(0x32), 0x20);
	CU_ASSERT_EQUAL(cmos(0x08), 0x01);
	CU_ASSERT_EQUAL(cmos(0x06), 7);			/* a Saturday */

	/* Plain CMOS bytes, and the NMI bit of the index is ignored. */
	cmos_w(0x40, 0x5a);
	CU_ASSERT_EQUAL(cmos(0xc0), 0x5a);

	rtc_destroy(rtc);
	vm_teardown();
}

static void test_rtc_interrupts(void)
{
	struct rtc *rtc;
	uint64_t s = 1000000000ull;

	vm_setup();
	spy_line(8);
	rtc = rtc_create(&vm, 0x70, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	rtc_set_time(rtc, utc(2024, 1, 1, 0, 0, 0));

	/* Flags are set without enables, and reading C clears them. */
	vm_clock_set_manual(&vm, s + 1);
	CU_ASSERT_EQUAL(cmos(0x0c), 0x50);		/* UF and PF, no IRQF */
	CU_ASSERT_EQUAL(cmos(0x0c), 0x00);
	CU_ASSERT_EQUAL(line_edges[8], 0);

	/* Update-ended interrupt: IRQ8 high until C is read. */
	cmos_w(0x0b, 0x12);
	advance_to(2 * s - 1);
	CU_ASSERT_EQUAL(line_level[8], 0);
	advance_to(2 * s);
	CU_ASSERT_EQUAL(line_level[8], 1);
	CU_ASSERT_EQUAL(cmos(0x0c) & 0x90, 0x90);
	CU_ASSERT_EQUAL(line_level[8], 0);
	CU_ASSERT_EQUAL(cmos(0x0c), 0x00);
	advance_to(3 * s);
	CU_ASSERT_EQUAL(line_edges[8], 2);
	cmos(0x0c);

	/* Periodic interrupt at 1024 Hz. */
	cmos_w(0x0b, 0x42);
	cmos(0x0c);
	advance_to(3 * s + 976563);
	CU_ASSERT_EQUAL(line_level[8], 1);
	CU_ASSERT_EQUAL(cmos(0x0c) & 0xc0, 0xc0);
	advance_to(3 * s + 2 * 976563);
	CU_ASSERT_EQUAL(line_edges[8], 4);
	cmos(0x0c);

	/* Alarm with "don't care" seconds: once a second. */
	cmos_w(0x0b, 0x22);
	cmos_w(0x01, 0xff);
	cmos_w(0x03, 0x00);
	cmos_w(0x05, 0x00);
	cmos(0x0c);
	advance_to(4 * s);
	CU_ASSERT_EQUAL(cmos(0x0c) & 0xa0, 0xa0);
	cmos_w(0x03, 0x30);				/* minute 30: not now */
	advance_to(5 * s);
	CU_ASSERT_EQUAL(cmos(0x0c) & 0x20, 0x00);

	rtc_destroy(rtc);
	vm_teardown();
}

static void test_rtc_cmos_memory(void)
{
	struct rtc *rtc;

	vm_setup();
	/* The RTC only looks at the region layout, not at the memory. */
	vm.ram[0] = (struct mem_region){ .gpa = 0, .size = 512ull << 20 };
	vm.ram[1] = (struct mem_region){ .gpa = VM_HIGHMEM_BASE, .size = 1ull << 30 };
	vm.nr_ram = 2;
	vm.cfg.smp = 4;
	rtc = rtc_create(&vm, 0x70, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	CU_ASSERT_EQUAL(cmos(0x15) | cmos(0x16) << 8, 640);
	CU_ASSERT_EQUAL(cmos(0x17) | cmos(0x18) << 8, 0xffff);
	CU_ASSERT_EQUAL(cmos(0x30) | cmos(0x31) << 8, 0xffff);
	CU_ASSERT_EQUAL(cmos(0x34) | cmos(0x35) << 8, (512 - 16) * 16);
	CU_ASSERT_EQUAL(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 16384);
	CU_ASSERT_EQUAL(cmos(0x5f), 3);
	rtc_destroy(rtc);
	vm_teardown();

	vm_setup();
	vm.ram[0] = (struct mem_region){ .gpa = 0, .size = 32ull << 20 };
	vm.nr_ram = 1;
	rtc = rtc_create(&vm, 0x70, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	CU_ASSERT_EQUAL(cmos(0x17) | cmos(0x18) << 8, 31 * 1024);
	CU_ASSERT_EQUAL(cmos(0x34) | cmos(0x35) << 8, 16 * 16);
	CU_ASSERT_EQUAL(cmos(0x5b) | cmos(0x5c) | cmos(0x5d), 0);
	rtc_destroy(rtc);
	vm_teardown();
}

/* ---- fw_cfg ------------------------------------------------------------- */

static void fw_select(uint16_t key)
{
	pio_write(&vm, FW_CFG_PORT_SEL, key, 2);
}

static void fw_read(void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = inb(FW_CFG_PORT_DATA);
}

static void test_fw_cfg_items(void)
{
	struct fw_cfg *fw;
	uint8_t buf[256];
	uint64_t ram;
	uint32_t v32;
	uint16_t v16;

	vm_setup();
	fw = fw_cfg_create(&vm, "console=ttyS0", 128ull << 20, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fw);

	fw_select(FW_CFG_SIGNATURE);
	fw_read(buf, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "QEMU\0", 5), 0);	/* then zeroes */
	fw_select(FW_CFG_ID);
	fw_read(&v32, 4);
	CU_ASSERT_EQUAL(le32toh(v32) & FW_CFG_VERSION, FW_CFG_VERSION);
	fw_select(FW_CFG_RAM_SIZE);
	fw_read(&ram, 8);
	CU_ASSERT_EQUAL(le64toh(ram), 128ull << 20);
	fw_select(FW_CFG_NB_CPUS);
	fw_read(&v16, 2);
	CU_ASSERT_EQUAL(le16toh(v16), 2);
	fw_select(FW_CFG_MAX_CPUS);
	fw_read(&v16, 2);
	CU_ASSERT_EQUAL(le16toh(v16), 2);
	fw_select(FW_CFG_CMDLINE_SIZE);
	fw_read(&v32, 4);
	CU_ASSERT_EQUAL(le32toh(v32), 14);
	fw_select(FW_CFG_CMDLINE_DATA);
	fw_read(buf, 16);
	CU_ASSERT_EQUAL(memcmp(buf, "console=ttyS0\0\0\0", 16), 0);
	fw_select(FW_CFG_INITRD_SIZE);
	fw_read(&v32, 4);
	CU_ASSERT_EQUAL(v32, 0);
	/* Unknown selectors read as zero. */
	fw_select(0x1234);
	CU_ASSERT_EQUAL(inb(FW_CFG_PORT_DATA), 0);

	/* Files: sorted by name, selectors follow the order. */
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/e820", "E820DATA", 8), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "bootorder", "disk\n", 5), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "a/first", "1", 1), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/e820", "x", 1), -EEXIST);
	memset(buf, 'n', 60);
	buf[60] = 0;
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, (char *)buf, "x", 1), -ENAMETOOLONG);

	fw_select(FW_CFG_FILE_DIR);
	fw_read(&v32, 4);
	CU_ASSERT_EQUAL(be32toh(v32), 3);
	{
		static const char *names[] = { "a/first", "bootorder", "etc/e820" };
		static const uint32_t sizes[] = { 1, 5, 8 };

		for (unsigned i = 0; i < 3; i++) {
			uint8_t e[64];

			fw_read(e, sizeof(e));
			CU_ASSERT_EQUAL(e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3], sizes[i]);
			CU_ASSERT_EQUAL(e[4] << 8 | e[5], FW_CFG_FILE_FIRST + i);
			CU_ASSERT_STRING_EQUAL((char *)e + 8, names[i]);
		}
	}
	fw_select(FW_CFG_FILE_FIRST + 2);
	fw_read(buf, 9);
	CU_ASSERT_EQUAL(memcmp(buf, "E820DATA\0", 9), 0);

	/* The write channel bit selects the same (read-only) item. */
	fw_select(FW_CFG_WRITE_CHANNEL | (FW_CFG_FILE_FIRST + 1));
	fw_read(buf, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "disk", 4), 0);
	pio_write(&vm, FW_CFG_PORT_DATA, 'X', 1);
	fw_select(FW_CFG_FILE_FIRST + 1);
	fw_read(buf, 1);
	CU_ASSERT_EQUAL(buf[0], 'd');

	/* The DMA register reads "QEMU CFG", big-endian. */
	CU_ASSERT_EQUAL(pio_read(&vm, FW_CFG_PORT_DMA, 4), 0x554d4551);
	CU_ASSERT_EQUAL(pio_read(&vm, FW_CFG_PORT_DMA + 4, 4), 0x47464320);

	fw_cfg_destroy(fw);
	vm_teardown();
}

static void fw_dma_kick(uint64_t desc)
{
	pio_write(&vm, FW_CFG_PORT_DMA, htobe32(desc >> 32), 4);
	pio_write(&vm, FW_CFG_PORT_DMA + 4, htobe32((uint32_t)desc), 4);
}

static void test_fw_cfg_dma(void)
{
	struct fw_dma {
		uint32_t control, length;
		uint64_t address;
	} __attribute__((packed)) d;
	struct fw_cfg *fw;
	uint8_t buf[16];

	vm_setup();
	CU_ASSERT_EQUAL_FATAL(vm_mem_init(&vm, 16ull << 20), 0);
	fw = fw_cfg_create(&vm, "ro quiet", 16ull << 20, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fw);

	/* Select + read 12 bytes of the 9-byte command line: zero-filled. */
	memset(buf, 0xee, sizeof(buf));
	vm_mem_write(&vm, 0x2000, buf, sizeof(buf));
	d.control = htobe32(FW_CFG_CMDLINE_DATA << 16 | 0x08 | 0x02);
	d.length = htobe32(12);
	d.address = htobe64(0x2000);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	vm_mem_read(&vm, 0x1000, &d, sizeof(d));
	CU_ASSERT_EQUAL(d.control, 0);
	vm_mem_read(&vm, 0x2000, buf, sizeof(buf));
	CU_ASSERT_EQUAL(memcmp(buf, "ro quiet\0\0\0\0\xee", 13), 0);

	/* Skip, then read, on the current item. */
	d.control = htobe32(0x08 | 0x04 | FW_CFG_SIGNATURE << 16);
	d.length = htobe32(2);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	d.control = htobe32(0x02);
	d.length = htobe32(2);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	vm_mem_read(&vm, 0x2000, buf, 2);
	CU_ASSERT_EQUAL(memcmp(buf, "MU", 2), 0);

	/* Outside RAM (or wrapping): the error bit, nothing written. */
	d.control = htobe32(FW_CFG_SIGNATURE << 16 | 0x08 | 0x02);
	d.length = htobe32(4);
	d.address = htobe64((16ull << 20) - 2);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	vm_mem_read(&vm, 0x1000, &d, sizeof(d));
	CU_ASSERT_EQUAL(be32toh(d.control), 0x01);
	d.control = htobe32(0x02);
	d.address = htobe64(~0ull - 1);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	vm_mem_read(&vm, 0x1000, &d, sizeof(d));
	CU_ASSERT_EQUAL(be32toh(d.control), 0x01);
	/* Writes are refused: every item is read-only. */
	d.control = htobe32(0x10);
	d.address = htobe64(0x2000);
	vm_mem_write(&vm, 0x1000, &d, sizeof(d));
	fw_dma_kick(0x1000);
	vm_mem_read(&vm, 0x1000, &d, sizeof(d));
	CU_ASSERT_EQUAL(be32toh(d.control), 0x01);
	/* A descriptor outside RAM is ignored (no crash, nothing to report to). */
	fw_dma_kick(1ull << 40);

	fw_cfg_destroy(fw);
	vm_mem_exit(&vm);
	vm_teardown();
}

/* ---- misc ports, i8042 -------------------------------------------------- */

static void test_debug_exit(void)
{
	struct misc_debug_exit *d;

	vm_setup();
	d = misc_debug_exit_create(&vm, 0xf4, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	outb(0xf4, 0x10);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_DEBUG_PORT);
	CU_ASSERT_EQUAL(vm.exit_code, 0x21);
	/* The first request wins. */
	outb(0xf4, 0x00);
	CU_ASSERT_EQUAL(vm.exit_code, 0x21);
	misc_debug_exit_destroy(d);
	vm_teardown();

	vm_setup();
	d = misc_debug_exit_create(&vm, 0xf4, 4);
	pio_write(&vm, 0xf4, 0, 4);
	CU_ASSERT_EQUAL(vm.exit_code, 1);
	misc_debug_exit_destroy(d);
	vm_teardown();
}

static void test_acpi_pm(void)
{
	struct misc_acpi_pm *pm;

	vm_setup();
	pm = misc_acpi_pm_create(&vm, 0x600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pm);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x604, 2), 0x0001);	/* SCI_EN */

	/* The PM timer runs at 3.579545 MHz and wraps at 24 bits. */
	vm_clock_set_manual(&vm, 1000000000);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x608, 4), 3579545);
	vm_clock_set_manual(&vm, 5000000000ull);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x608, 4), (5 * 3579545) & 0xffffff);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x600, 2) & 1, 1);	/* TMR_STS */
	pio_write(&vm, 0x600, 1, 2);				/* write 1 to clear */
	CU_ASSERT_EQUAL(pio_read(&vm, 0x600, 2) & 1, 0);

	/* S3 (type 1) is not implemented: nothing happens. */
	pio_write(&vm, 0x604, 0x2000 | 1 << 10 | 1, 2);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_NONE);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x604, 2), 1 << 10 | 1);	/* SLP_EN reads 0 */
	/* SLP_TYP 0 + SLP_EN: power off. */
	pio_write(&vm, 0x604, 0x2000 | 1, 2);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_POWEROFF);
	CU_ASSERT_EQUAL(vm.exit_code, 0);
	misc_acpi_pm_destroy(pm);
	vm_teardown();

	/* Byte writes to the high half work as well. */
	vm_setup();
	pm = misc_acpi_pm_create(&vm, 0x600);
	outb(0x605, 0x20);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_POWEROFF);
	misc_acpi_pm_destroy(pm);
	vm_teardown();
}

static void test_post_port92(void)
{
	struct misc_post *post;
	struct misc_port92 *p92;

	vm_setup();
	post = misc_post_create(&vm, 0x80);
	p92 = misc_port92_create(&vm, 0x92);
	CU_ASSERT_PTR_NOT_NULL_FATAL(post);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p92);

	outb(0x80, 0x42);
	outb(0x80, 0x43);
	CU_ASSERT_EQUAL(vm.pio.unmapped_writes, 0);
	CU_ASSERT_EQUAL(inb(0x80), 0x43);
	CU_ASSERT_EQUAL(vm.exit_kind, VM_EXIT_NONE);

	CU_ASSERT_EQUAL(inb(0x92), 0x02);		/* A20 on */
	outb(0x92, inb(0x92) | 0x02);
	CU_ASSERT_FALSE(vm.reset_request);
	outb(0x92, 0x03);
	CU_ASSERT_TRUE(vm.reset_request);
	CU_ASSERT_EQUAL(inb(0x92), 0x02);

	/* Ports nobody claimed are still unmapped. */
	outb(0x81, 1);
	CU_ASSERT_EQUAL(vm.pio.unmapped_writes, 1);
	misc_post_destroy(post);
	misc_port92_destroy(p92);
	vm_teardown();
}

static void test_i8042(void)
{
	struct i8042 *k;

	vm_setup();
	spy_line(1);
	k = i8042_create(&vm, 0x60, 0x64, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);

	CU_ASSERT_EQUAL(inb(0x64) & 0x01, 0);		/* output buffer empty */
	outb(0x64, 0xaa);
	CU_ASSERT_EQUAL(inb(0x64) & 0x01, 1);
	CU_ASSERT_EQUAL(inb(0x60), 0x55);
	CU_ASSERT_EQUAL(inb(0x64) & 0x01, 0);

	/* Command byte round trip. */
	outb(0x64, 0x60);
	outb(0x60, 0x45);
	outb(0x64, 0x20);
	CU_ASSERT_EQUAL(inb(0x60), 0x45);

	/* Keyboard replies raise IRQ1 once per byte. */
	line_edges[1] = 0;
	outb(0x60, 0xf2);
	CU_ASSERT_EQUAL(line_edges[1], 1);
	CU_ASSERT_EQUAL(inb(0x60), 0xfa);
	CU_ASSERT_EQUAL(line_edges[1], 2);
	CU_ASSERT_EQUAL(inb(0x60), 0xab);
	CU_ASSERT_EQUAL(inb(0x60), 0x83);
	CU_ASSERT_EQUAL(line_level[1], 0);

	CU_ASSERT_FALSE(vm.reset_request);
	outb(0x64, 0xfe);
	CU_ASSERT_TRUE(vm.reset_request);
	i8042_destroy(k);
	vm_teardown();
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "uart registers", test_uart_registers },
		{ "uart loopback and FIFO", test_uart_loopback_fifo },
		{ "uart IIR priorities and IRQ line", test_uart_iir_priorities },
		{ "uart on stdio", test_uart_stdio },
		{ "uart receive timeout", test_uart_rx_timeout },
		{ "chardev specs", test_chardev_specs },
		{ "chardev tty escapes", test_chardev_tty_escapes },
		{ "pic init, mask, EOI", test_pic_init_mask_eoi },
		{ "pic priority and cascade", test_pic_priority_cascade },
		{ "pic level, edge, spurious", test_pic_level_edge_spurious },
		{ "pit mode 2", test_pit_mode2 },
		{ "pit mode 0 and port 0x61", test_pit_mode0_and_port61 },
		{ "pit storm coalesces", test_pit_storm },
		{ "rtc time formats", test_rtc_time_formats },
		{ "rtc interrupts", test_rtc_interrupts },
		{ "rtc cmos memory", test_rtc_cmos_memory },
		{ "fw_cfg items", test_fw_cfg_items },
		{ "fw_cfg dma", test_fw_cfg_dma },
		{ "debug exit", test_debug_exit },
		{ "acpi pm", test_acpi_pm },
		{ "post and port 92", test_post_port92 },
		{ "i8042", test_i8042 },
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("devices", NULL, NULL);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
