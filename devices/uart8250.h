/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_UART8250_H
#define TANDEM_UART8250_H
/*
 * 16550A UART (8 ports from @base) wired like a PC COM port: the IRQ line
 * is gated by MCR.OUT2, and is disconnected in loopback mode (the OUT2 pin
 * is forced inactive there). Output goes to a character back end; input
 * comes from the back end's receiver hook as FIFO space allows.
 */
#include <stdint.h>

struct vm;
struct chardev;
struct uart8250;

/* Standard PC COM1/COM2 resources. */
#define UART8250_COM1_BASE	0x3f8
#define UART8250_COM1_IRQ	4
#define UART8250_COM2_BASE	0x2f8
#define UART8250_COM2_IRQ	3

/* NULL with errno set on failure. @cd may be NULL (output discarded). */
struct uart8250 *uart8250_create(struct vm *vm, uint16_t base, unsigned irq, struct chardev *cd);
void uart8250_reset(struct uart8250 *u);
/* Teardown only, after the bus no longer dispatches to @u. */
void uart8250_destroy(struct uart8250 *u);

#endif
