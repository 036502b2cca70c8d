/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_I8254_H
#define TANDEM_I8254_H
/*
 * 8254 programmable interval timer: three channels at @base..@base+3,
 * clocked at 1.193182 MHz. Channel 0's output drives @irq (edge-triggered
 * pulses on each rising edge); channel 2's gate and output are wired to
 * the PC's port 0x61 (NMI status/control, "speaker port"), which this
 * device also serves.
 */
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8254;

#define I8254_BASE	0x40
#define I8254_IRQ	0
#define I8254_PORT61	0x61
#define I8254_HZ	1193182u

/* NULL with errno set on failure. */
struct i8254 *i8254_create(struct vm *vm, uint16_t base, unsigned irq);
void i8254_reset(struct i8254 *pit);
/* Teardown only, after the bus no longer dispatches to @pit. */
void i8254_destroy(struct i8254 *pit);

/* Output pin of channel @ch now (tests, debugging). */
bool i8254_out(struct i8254 *pit, unsigned ch);
/* Channel 0 ticks held back (coalesced) in timer storms, see i8254.c. */
uint64_t i8254_held_ticks(const struct i8254 *pit);

#endif
