// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * I/O APIC (82093AA programming model, version 0x20); see ioapic.h.
 *
 * Each pin keeps the raw level of its line; "asserted" is that level
 * XOR the entry's polarity. Edge pins send a message on each rising
 * asserted edge while unmasked (an edge on a masked pin is discarded, as
 * the datasheet says). Level pins send while asserted, unmasked and
 * without remote IRR; remote IRR is set when the local APIC accepts and
 * cleared by an EOI for the entry's vector (the LAPIC's EOI broadcast or
 * the EOI register), after which a still-asserted pin sends again.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/vm.h"

/* MMIO offsets. */
#define IOREGSEL		0x00
#define IOWIN			0x10
#define IOEOI			0x40

/* Indirect registers. */
#define REG_ID			0x00
#define REG_VERSION		0x01
#define REG_ARB			0x02
#define REG_REDIR		0x10	/* 0x10 + 2 * pin: low half; + 1: high half */

#define ID_SHIFT		24
#define ID_MASK			0x0fu

/* Redirection entry bits. */
#define RTE_VECTOR		0xffull
#define RTE_DM_SHIFT		8
#define RTE_LOGICAL		(1ull << 11)
#define RTE_POLARITY_LOW	(1ull << 13)
#define RTE_REMOTE_IRR		(1ull << 14)
#define RTE_LEVEL		(1ull << 15)
#define RTE_MASKED		(1ull << 16)
#define RTE_DEST_SHIFT		56
/* Delivery status (12) reads idle and remote IRR (14) is read-only. */
#define RTE_LO_WRITABLE		0x1afffull
#define RTE_HI_WRITABLE		0xff000000ull

#define NO_PIN			0xff

struct ioapic {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	struct lapic *lapic;
	uint8_t id, reset_id;
	uint8_t sel;
	uint64_t redir[IOAPIC_NR_PINS];
	uint32_t levels;		/* raw line level per pin */
	uint8_t line_pin[VM_NR_IRQ_LINES];
};

static bool pin_asserted(const struct ioapic *io, unsigned pin)
{
	bool level = (io->levels >> pin) & 1;

	return level != !!(io->redir[pin] & RTE_POLARITY_LOW);
}

/* Send @pin's message; true if the local APIC accepted it. */
static bool pin_send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	uint8_t dest = e >> RTE_DEST_SHIFT;

	if (!io->lapic || !lapic_match_dest(io->lapic, dest, e & RTE_LOGICAL))
		return false;
	return lapic_deliver(io->lapic, (e >> RTE_DM_SHIFT) & 7, e & RTE_VECTOR, e & RTE_LEVEL);
}

/* A level pin: send if asserted, unmasked and not waiting for an EOI. */
static void pin_service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];

	if (!(e & RTE_LEVEL) || (e & (RTE_MASKED | RTE_REMOTE_IRR)) || !pin_asserted(io, pin))
		return;
	if (pin_send(io, pin))
		io->redir[pin] |= RTE_REMOTE_IRR;
}

static void ioapic_line(void *opaque, unsigned line, int level)
{
	struct ioapic *io = opaque;
	unsigned pin;
	bool was;

	if (line >= VM_NR_IRQ_LINES || io->line_pin[line] == NO_PIN)
		return;
	pin = io->line_pin[line];
	was = pin_asserted(io, pin);
	if (level)
		io->levels |= 1u << pin;
	else
		io->levels &= ~(1u << pin);
	if (io->redir[pin] & RTE_LEVEL)
		pin_service_level(io, pin);
	else if (!was && pin_asserted(io, pin) && !(io->redir[pin] & RTE_MASKED))
		pin_send(io, pin);
}

/*
 * irq_line_busy(): an unmasked edge pin whose fixed vector the local APIC
 * still holds in IRR or ISR. Masked pins never are (nothing is sent).
 */
static bool ioapic_line_busy(void *opaque, unsigned line)
{
	struct ioapic *io = opaque;
	unsigned pin, dm;
	uint64_t e;

	if (line >= VM_NR_IRQ_LINES || io->line_pin[line] == NO_PIN || !io->lapic)
		return false;
	pin = io->line_pin[line];
	e = io->redir[pin];
	dm = (e >> RTE_DM_SHIFT) & 7;
	if ((e & (RTE_MASKED | RTE_LEVEL)) || (dm != APIC_DM_FIXED && dm != APIC_DM_LOWEST))
		return false;
	return lapic_irr_test(io->lapic, e & RTE_VECTOR) ||
	       lapic_isr_test(io->lapic, e & RTE_VECTOR);
}

/* EOI for @vector: level entries with that vector may send again. */
static void ioapic_eoi(void *opaque, uint8_t vector)
{
	struct ioapic *io = opaque;

	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if (!(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR) || (e & RTE_VECTOR) != vector)
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		pin_service_level(io, pin);
	}
}

static uint32_t reg_read(struct ioapic *io, uint8_t reg)
{
	unsigned pin;

	switch (reg) {
	case REG_ID:
	case REG_ARB:	/* the arbitration id is loaded from the id */
		return (uint32_t)io->id << ID_SHIFT;
	case REG_VERSION:
		return IOAPIC_VERSION;
	default:
		if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_NR_PINS)
			return 0;
		pin = (reg - REG_REDIR) / 2;
		return (reg & 1) ? io->redir[pin] >> 32 : (uint32_t)io->redir[pin];
	}
}

static void redir_write(struct ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t e = io->redir[pin];

	if (high) {
		e = (e & 0xffffffffull) | (((uint64_t)val & RTE_HI_WRITABLE) << 32);
	} else {
		e = (e & ~RTE_LO_WRITABLE) | (val & RTE_LO_WRITABLE);
		/* Remote IRR means nothing for an edge entry. */
		if (!(e & RTE_LEVEL))
			e &= ~RTE_REMOTE_IRR;
	}
	io->redir[pin] = e;
	/* An unmasked (or repolarised) level pin that is asserted sends now. */
	pin_service_level(io, pin);
}

static void reg_write(struct ioapic *io, uint8_t reg, uint32_t val)
{
	if (reg == REG_ID) {
		io->id = (val >> ID_SHIFT) & ID_MASK;
		return;
	}
	if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_NR_PINS)
		return;		/* version, arbitration, unimplemented: read-only */
	redir_write(io, (reg - REG_REDIR) / 2, reg & 1, val);
}

/*
 * Registers are 32 bits wide at 0x00, 0x10 and 0x40. Narrow or unaligned
 * accesses see (and change) only the bytes they cover; 8-byte ones are
 * cut to the register.
 */
static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned shift = (off & 3) * 8;
	uint32_t v;

	switch (off & ~3ull) {
	case IOREGSEL:
		v = io->sel;
		break;
	case IOWIN:
		v = reg_read(io, io->sel);
		break;
	default:	/* EOI is write-only; the rest is unused */
		return 0;
	}
	v >>= shift;
	return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned shift = (off & 3) * 8, width = size * 8;
	uint32_t mask, cur;

	if (width > 32 - shift)
		width = 32 - shift;
	mask = (uint32_t)(((1ull << width) - 1) << shift);
	switch (off & ~3ull) {
	case IOREGSEL:
		if (mask & 0xff)
			io->sel = (uint8_t)val;
		break;
	case IOWIN:
		cur = reg_read(io, io->sel);
		reg_write(io, io->sel, (cur & ~mask) | (((uint32_t)val << shift) & mask));
		break;
	case IOEOI:
		if (mask & 0xff)
			ioapic_eoi(io, (uint8_t)val);
		break;
	default:
		break;
	}
}

static const struct io_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

void ioapic_reset(struct ioapic *io)
{
	io->id = io->reset_id;
	io->sel = 0;
	/* Every entry masked, edge, fixed, vector 0; the line levels stay. */
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
		io->redir[pin] = RTE_MASKED;
}

uint64_t ioapic_redir(const struct ioapic *io, unsigned pin)
{
	return pin < IOAPIC_NR_PINS ? io->redir[pin] : 0;
}

static void ioapic_dev_reset(struct device *dev)
{
	ioapic_reset(container_of(dev, struct ioapic, dev));
}

static void ioapic_dev_destroy(struct device *dev)
{
	ioapic_destroy(container_of(dev, struct ioapic, dev));
}

static const struct device_ops ioapic_dev_ops = {
	.type = "ioapic",
	.reset = ioapic_dev_reset,
	.destroy = ioapic_dev_destroy,
};

struct ioapic *ioapic_create(struct vm *vm, uint64_t base, uint8_t id,
			     const unsigned isa_to_gsi[IOAPIC_NR_ISA_IRQS], struct lapic *lapic)
{
	struct ioapic *io;
	uint32_t used = 0;
	int ret;

	if (id > ID_MASK) {
		errno = EINVAL;
		return NULL;
	}
	io = calloc(1, sizeof(*io));
	if (!io) {
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned line = 0; line < VM_NR_IRQ_LINES; line++) {
		unsigned pin = line;

		if (line < IOAPIC_NR_ISA_IRQS) {
			pin = isa_to_gsi ? isa_to_gsi[line] : line;
			if (pin == IOAPIC_NO_PIN) {
				io->line_pin[line] = NO_PIN;
				continue;
			}
			/* ISA pins stay below 16 so that lines 16-23 keep theirs. */
			if (pin >= IOAPIC_NR_ISA_IRQS || (used & (1u << pin))) {
				free(io);
				errno = EINVAL;
				return NULL;
			}
		}
		used |= 1u << pin;
		io->line_pin[line] = (uint8_t)pin;
	}
	io->vm = vm;
	io->lapic = lapic;
	io->reset_id = id;
	ioapic_reset(io);

	ret = mmio_register(vm, base, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, io, "ioapic");
	if (ret < 0) {
		free(io);
		errno = -ret;
		return NULL;
	}
	for (unsigned line = 0; !ret && line < VM_NR_IRQ_LINES; line++)
		if (io->line_pin[line] != NO_PIN) {
			ret = irq_connect(vm, line, ioapic_line, io);
			if (!ret)
				irq_set_busy_fn(vm, line, io, ioapic_line_busy);
		}
	if (ret < 0) {
		/*
		 * The MMIO range and the listeners already connected cannot be
		 * taken back (no unregister): the VM is being torn down, so keep
		 * @io alive for them.
		 */
		errno = -ret;
		return NULL;
	}
	if (lapic)
		lapic_set_eoi_handler(lapic, ioapic_eoi, io);
	device_add(vm, &io->dev, &ioapic_dev_ops, "ioapic");
	return io;
}

void ioapic_destroy(struct ioapic *io)
{
	if (!io)
		return;
	device_remove(&io->dev);
	free(io);
}
