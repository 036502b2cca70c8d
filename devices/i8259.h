/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_I8259_H
#define TANDEM_I8259_H
/*
 * The PC's cascaded 8259A pair: master at 0x20/0x21 (IRQ 0-7), slave at
 * 0xa0/0xa1 (IRQ 8-15) on the master's IR2, and the PIIX edge/level
 * control registers (ELCR) at 0x4d0/0x4d1. It listens to IRQ lines 0-15
 * and drives the CPU's INTR pin (vm_set_intr_controller).
 *
 * No firmware runs before a directly booted guest, so reset leaves the
 * pair as a PC BIOS would: initialised, vectors 0x08 (master) and 0x70
 * (slave), everything masked except the cascade.
 */
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8259;

#define I8259_MASTER_BASE	0x20
#define I8259_SLAVE_BASE	0xa0
#define I8259_ELCR_BASE		0x4d0

/* NULL with errno set on failure. */
struct i8259 *i8259_create(struct vm *vm);
void i8259_reset(struct i8259 *pic);
/* Teardown only, after the bus and IRQ lines no longer reach @pic. */
void i8259_destroy(struct i8259 *pic);

/*
 * The INTR pin and the INTA cycle, for a local APIC that wraps the pair
 * (LINT0 in ExtINT mode) and registers itself as the CPU's controller in
 * the PIC's place. The PIC still signals vm_intr_changed() when INTR moves.
 */
bool i8259_intr_pending(struct i8259 *pic);
int i8259_intr_ack(struct i8259 *pic);

/* Inspection (debugging, tests): chip 0 = master, 1 = slave. */
uint8_t i8259_irr(const struct i8259 *pic, unsigned chip);
uint8_t i8259_isr(const struct i8259 *pic, unsigned chip);
uint8_t i8259_imr(const struct i8259 *pic, unsigned chip);

#endif
