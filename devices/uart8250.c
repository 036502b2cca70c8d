// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 16550A UART.
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * back end (or, in loopback, into the receive FIFO), so THR and the
 * transmit shift register always read as empty and the TX FIFO never holds
 * anything. Reception is paced by the back end: it only hands over as many
 * bytes as the receive FIFO can hold (can_receive), and we pull more with
 * chardev_accept_input() whenever the guest frees space. The receive
 * timeout interrupt is modelled with a timer armed for four character
 * times (from LCR and the divisor) after the last FIFO activity.
 *
 * Invariants: rx_count <= uart_rx_capacity(); irq_level mirrors what we
 * last drove on the IRQ line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/uart8250.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/chardev.h"
#include "machine/irq.h"
#include "machine/timer.h"
#include "machine/vm.h"

#define UART_FIFO_SIZE	16
#define UART_CLOCK_HZ	1843200u	/* 16x oversampling: 115200 baud at divisor 1 */

/* Register offsets. */
enum {
	UART_RBR = 0,	/* read, DLAB=0; THR on write; DLL with DLAB=1 */
	UART_IER = 1,	/* DLM with DLAB=1 */
	UART_IIR = 2,	/* read; FCR on write */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI		0x01	/* received data available (+ timeout) */
#define IER_THRI	0x02	/* THR empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_TIMEOUT	0x0c
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_KEEP	0xc9	/* enable, DMA mode select, trigger level */

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f	/* bits 5-7 read as zero on a 16550A */

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_PE		0x04
#define LSR_FE		0x08
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRS	(LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DELTAS	0x0f

struct uart8250 {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	struct chardev *cd;
	uint16_t base;
	unsigned irq;

	uint8_t ier, lcr, mcr, msr, scr, fcr;
	uint8_t lsr_errs;	/* latched OE/PE/FE/BI, cleared by reading LSR */
	uint16_t divisor;

	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;

	bool thri;		/* THR-empty interrupt latched */
	bool timeout;		/* character timeout latched */
	bool irq_level;

	struct vm_timer *rx_timer;
};

static unsigned uart_rx_capacity(const struct uart8250 *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned uart_rx_trigger(const struct uart8250 *u)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };

	if (!(u->fcr & FCR_ENABLE))
		return 1;
	return levels[u->fcr >> 6];
}

/* Four character times at the programmed line settings. */
static uint64_t uart_timeout_ns(const struct uart8250 *u)
{
	/* Start bit, 5-8 data bits, parity, 1 or 2 stop bits. */
	unsigned bits = 1 + 5 + (u->lcr & 3) + ((u->lcr & 0x08) ? 1 : 0) +
			((u->lcr & 0x04) ? 2 : 1);
	uint64_t div = u->divisor ? u->divisor : 0x10000;

	return 4ull * bits * div * 16 * 1000000000ull / UART_CLOCK_HZ;
}

static uint8_t uart_iir_id(const struct uart8250 *u)
{
	if ((u->ier & IER_RLSI) && u->lsr_errs)
		return IIR_RLSI;
	if (u->ier & IER_RDI) {
		if (u->rx_count >= uart_rx_trigger(u))
			return IIR_RDI;
		if (u->timeout && u->rx_count)
			return IIR_TIMEOUT;
	}
	if ((u->ier & IER_THRI) && u->thri)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * The PC wires the UART's INTR pin to the ISA bus through a buffer enabled
 * by the OUT2 pin; in loopback mode the OUT2 pin is forced inactive, so
 * the line is released even though IIR still reports the cause.
 */
static void uart_update_irq(struct uart8250 *u)
{
	bool level = uart_iir_id(u) != IIR_NO_INT && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(u->vm, u->irq, level);
	}
}

static void uart_arm_timeout(struct uart8250 *u)
{
	u->timeout = false;
	if (!u->rx_timer)
		return;
	if (u->rx_count && (u->fcr & FCR_ENABLE))
		vm_timer_mod(u->rx_timer, vm_clock_ns(u->vm) + uart_timeout_ns(u));
	else
		vm_timer_del(u->rx_timer);
}

static void uart_timeout_cb(void *opaque)
{
	struct uart8250 *u = opaque;

	if (u->rx_count && (u->fcr & FCR_ENABLE)) {
		u->timeout = true;
		uart_update_irq(u);
	}
}

static void uart_rx_clear(struct uart8250 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->timeout = false;
	if (u->rx_timer)
		vm_timer_del(u->rx_timer);
}

/* One byte off the serial line into the FIFO; a full FIFO means overrun. */
static void uart_rx_push(struct uart8250 *u, uint8_t b)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		u->lsr_errs |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
}

static size_t uart_can_receive(void *opaque)
{
	struct uart8250 *u = opaque;

	/* In loopback the receiver is disconnected from the outside. */
	if (u->mcr & MCR_LOOP)
		return 0;
	return uart_rx_capacity(u) - u->rx_count;
}

static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart8250 *u = opaque;
	size_t i;

	if (u->mcr & MCR_LOOP)
		return;
	for (i = 0; i < len; i++)
		uart_rx_push(u, buf[i]);
	uart_arm_timeout(u);
	uart_update_irq(u);
}

static const struct chardev_receiver uart_receiver = {
	.can_receive = uart_can_receive,
	.receive = uart_receive,
};

static void uart_pull_input(struct uart8250 *u)
{
	if (u->cd && !(u->mcr & MCR_LOOP))
		chardev_accept_input(u->cd);
}

/* Modem inputs: looped back from MCR, or a permanently connected line. */
static uint8_t uart_modem_inputs(const struct uart8250 *u)
{
	uint8_t in = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (u->mcr & MCR_RTS)
		in |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		in |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		in |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		in |= MSR_DCD;
	return in;
}

static void uart_update_msr(struct uart8250 *u)
{
	uint8_t old = u->msr & ~MSR_DELTAS, now = uart_modem_inputs(u), chg = old ^ now;
	uint8_t deltas = u->msr & MSR_DELTAS;

	if (chg & MSR_CTS)
		deltas |= MSR_DCTS;
	if (chg & MSR_DSR)
		deltas |= MSR_DDSR;
	if (chg & MSR_DCD)
		deltas |= MSR_DDCD;
	/* TERI flags the trailing edge of RI only. */
	if ((old & MSR_RI) && !(now & MSR_RI))
		deltas |= MSR_TERI;
	u->msr = now | deltas;
}

static void uart_transmit(struct uart8250 *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		uart_rx_push(u, b);
		uart_arm_timeout(u);
	} else if (u->cd) {
		chardev_write(u->cd, &b, 1);
	}
	/* THR and the shift register are empty again at once. */
	u->thri = true;
}

static uint8_t uart_read_rbr(struct uart8250 *u)
{
	uint8_t b = 0;

	if (u->rx_count) {
		b = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
	}
	uart_arm_timeout(u);
	uart_pull_input(u);
	return b;
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
	struct uart8250 *u = opaque;
	uint8_t v = 0xff, id;

	switch (off) {
	case UART_RBR:
		v = (u->lcr & LCR_DLAB) ? (u->divisor & 0xff) : uart_read_rbr(u);
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? (u->divisor >> 8) : u->ier;
		break;
	case UART_IIR:
		id = uart_iir_id(u);
		/* Reading IIR is what acknowledges a THR-empty interrupt. */
		if (id == IIR_THRI)
			u->thri = false;
		v = id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr_errs | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		u->lsr_errs = 0;
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~MSR_DELTAS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	uart_update_irq(u);
	return v;
}

static void uart_write_fcr(struct uart8250 *u, uint8_t val)
{
	/* Toggling the FIFO enable bit empties both FIFOs. */
	if ((val ^ u->fcr) & FCR_ENABLE)
		uart_rx_clear(u);
	else if ((val & FCR_ENABLE) && (val & FCR_CLEAR_RX))
		uart_rx_clear(u);
	u->fcr = (val & FCR_ENABLE) ? (val & FCR_KEEP) : 0;
	uart_pull_input(u);
}

static void uart_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
	struct uart8250 *u = opaque;
	uint8_t val = val64, old;

	switch (off) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			uart_transmit(u, val);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0x00ff) | (val << 8);
			break;
		}
		old = u->ier;
		u->ier = val & 0x0f;
		/* Enabling ETBEI while THR is empty raises the interrupt. */
		if ((u->ier & IER_THRI) && !(old & IER_THRI))
			u->thri = true;
		break;
	case UART_IIR:
		uart_write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		old = u->mcr;
		u->mcr = val & MCR_MASK;
		uart_update_msr(u);
		if ((old & MCR_LOOP) && !(u->mcr & MCR_LOOP))
			uart_pull_input(u);
		break;
	case UART_LSR:
		/* Factory test register on some parts: writes are ignored. */
		break;
	case UART_MSR:
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
	uart_update_irq(u);
}

static const struct io_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

void uart8250_reset(struct uart8250 *u)
{
	u->ier = 0;
	u->lcr = 0x03;		/* 8N1 */
	u->mcr = 0;
	u->scr = 0;
	u->fcr = 0;
	u->lsr_errs = 0;
	u->divisor = 12;	/* 9600 baud until the guest programs it */
	u->thri = false;
	uart_rx_clear(u);
	u->msr = uart_modem_inputs(u);
	uart_update_irq(u);
	uart_pull_input(u);
}

static void uart8250_dev_reset(struct device *dev)
{
	uart8250_reset(container_of(dev, struct uart8250, dev));
}

static void uart8250_dev_destroy(struct device *dev)
{
	uart8250_destroy(container_of(dev, struct uart8250, dev));
}

static const struct device_ops uart8250_dev_ops = {
	.type = "uart8250",
	.reset = uart8250_dev_reset,
	.destroy = uart8250_dev_destroy,
};

struct uart8250 *uart8250_create(struct vm *vm, uint16_t base, unsigned irq, struct chardev *cd)
{
	struct uart8250 *u;
	char name[32];
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	u->vm = vm;
	u->cd = cd;
	u->base = base;
	u->irq = irq;
	u->rx_timer = vm_timer_new(vm, uart_timeout_cb, u);
	if (!u->rx_timer) {
		ret = -ENOMEM;
		goto err_free;
	}
	uart8250_reset(u);

	ret = pio_register(vm, base, 8, &uart_ops, u, "uart8250");
	if (ret < 0)
		goto err_timer;
	if (cd)
		chardev_set_receiver(cd, &uart_receiver, u);
	/* COM1 at 0x3f8, COM2 at 0x2f8 ...: the name says which. */
	snprintf(name, sizeof(name), "serial@%#x", base);
	device_add(vm, &u->dev, &uart8250_dev_ops, name);
	return u;

err_timer:
	vm_timer_free(u->rx_timer);
err_free:
	free(u);
	errno = -ret;
	return NULL;
}

void uart8250_destroy(struct uart8250 *u)
{
	if (!u)
		return;
	device_remove(&u->dev);
	if (u->cd)
		chardev_set_receiver(u->cd, NULL, NULL);
	vm_timer_free(u->rx_timer);
	free(u);
}
