/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_I8042_H
#define TANDEM_I8042_H
/*
 * A minimal 8042 keyboard controller: data port @data_port (0x60), status
 * and command port @cmd_port (0x64). It answers the controller commands
 * firmware and OSes probe with (self-test, interface tests, command byte),
 * acknowledges keyboard commands so probing is quick, never produces
 * keystrokes, and turns the reset pulse (command 0xFE, or an output-port
 * write with bit 0 clear) into vm_request_reset(). No mouse port.
 */
#include <stdint.h>

struct vm;
struct i8042;

#define I8042_DATA_PORT	0x60
#define I8042_CMD_PORT	0x64
#define I8042_KBD_IRQ	1

/* NULL with errno set on failure. */
struct i8042 *i8042_create(struct vm *vm, uint16_t data_port, uint16_t cmd_port, unsigned irq);
void i8042_reset(struct i8042 *kbc);
/* Teardown only, after the bus no longer dispatches to @kbc. */
void i8042_destroy(struct i8042 *kbc);

#endif
