/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_IOAPIC_H
#define TANDEM_IOAPIC_H
/*
 * I/O APIC, 82093AA style, version 0x20 (with the EOI register): 24
 * redirection entries, indirect access through IOREGSEL (+0x00) and IOWIN
 * (+0x10), EOI at +0x40.
 *
 * It listens to IRQ lines 0-23. ISA lines 0-15 reach the pins named by
 * the board's ISA-to-GSI table (the MADT's interrupt source overrides:
 * on the pc board IRQ 0 goes to pin 2 and nothing to pin 0); lines 16-23
 * reach pins 16-23. Lines carry electrical levels: a pin programmed
 * active-low sees its line inverted. Messages go to the local APIC (one
 * CPU: a destination matching it, or broadcast 0xff).
 *
 * All functions run with vm->lock held.
 */
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct lapic;

#define IOAPIC_DEFAULT_BASE	0xfec00000u
#define IOAPIC_MMIO_SIZE	0x100u
#define IOAPIC_NR_PINS		24u
#define IOAPIC_VERSION		0x00170020u	/* max redirection entry 23, version 0x20 */
#define IOAPIC_NR_ISA_IRQS	16u
/* An ISA IRQ with no I/O APIC pin (IRQ 2, the cascade, on a PC). */
#define IOAPIC_NO_PIN		(~0u)

/*
 * @isa_to_gsi[irq]: the pin (GSI, with the GSI base 0) that ISA IRQ @irq
 * drives, or IOAPIC_NO_PIN; pins must be < 16 and distinct. NULL with
 * errno set on failure (EINVAL for a bad table). Create after @lapic;
 * @lapic may be NULL (messages are then lost).
 */
struct ioapic *ioapic_create(struct vm *vm, uint64_t base, uint8_t id,
			     const unsigned isa_to_gsi[IOAPIC_NR_ISA_IRQS], struct lapic *lapic);
void ioapic_reset(struct ioapic *io);
/* Teardown only, after the bus, the IRQ lines and the LAPIC no longer reach @io. */
void ioapic_destroy(struct ioapic *io);

/* Inspection (debugging, tests): the 64-bit redirection entry of @pin. */
uint64_t ioapic_redir(const struct ioapic *io, unsigned pin);

#endif
