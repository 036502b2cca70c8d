// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cascaded 8259A programmable interrupt controllers.
 *
 * Each chip keeps IRR (requests), ISR (in service) and IMR (mask). Edge
 * inputs latch IRR on a rising edge and keep it until INTA, even if the
 * line drops (devices pulse); level inputs (ELCR, or ICW1.LTIM) make IRR
 * follow the line. The slave's INT output feeds master IR2 as a level:
 * master IRR2 is recomputed from the slave on every change, so a request
 * left on the slave after an EOI can never be lost for want of an edge.
 *
 * Priorities rotate: "prio" is the IR with the highest priority (0 after
 * initialisation); rank(ir) = (ir - prio) mod 8, lower rank wins.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8259.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/vm.h"

#define CASCADE_IR	2

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t pins;		/* current input levels, for edge detection */
	uint8_t elcr, elcr_mask;
	uint8_t vbase;		/* ICW2: vector of IR0 */
	uint8_t icw3;
	uint8_t prio;		/* IR with the highest priority */
	uint8_t init_step;	/* 0: operational, else the ICW expected next */
	bool need_icw4, single, ltim, aeoi, rotate_aeoi, sfnm;
	bool special_mask, read_isr, poll;
	bool is_master;
};

struct i8259 {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	struct pic_chip c[2];	/* master, slave */
	bool out;		/* INTR pin as last reported */
};

static uint8_t chip_level_mask(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

static unsigned chip_rank(const struct pic_chip *c, unsigned ir)
{
	return (ir - c->prio) & 7;
}

/* The IR in @mask with the highest priority, or -1. */
static int chip_highest(const struct pic_chip *c, uint8_t mask)
{
	for (unsigned r = 0; r < 8; r++) {
		unsigned ir = (c->prio + r) & 7;

		if (mask & (1u << ir))
			return ir;
	}
	return -1;
}

/* The IR this chip would present on INTA now, or -1 (INT low). */
static int chip_best(const struct pic_chip *c)
{
	uint8_t isr = c->isr;
	int req, cur;

	req = chip_highest(c, c->irr & ~c->imr);
	if (req < 0)
		return -1;
	/* Special mask mode: masked in-service levels stop blocking others. */
	if (c->special_mask)
		isr &= ~c->imr;
	/* Special fully nested mode: the slave may interrupt its own cascade. */
	if (c->is_master && c->sfnm && req == CASCADE_IR)
		isr &= ~(1u << CASCADE_IR);
	cur = chip_highest(c, isr);
	if (cur >= 0 && chip_rank(c, cur) <= chip_rank(c, req))
		return -1;
	return req;
}

static void chip_set_input(struct pic_chip *c, unsigned ir, int level)
{
	uint8_t bit = 1u << ir;

	if (chip_level_mask(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->pins & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->pins |= bit;
	else
		c->pins &= ~bit;
}

/* INTA (or a poll) for @ir on one chip. */
static void chip_ack(struct pic_chip *c, unsigned ir)
{
	uint8_t bit = 1u << ir;

	/* A level request stays in IRR while its line is high. */
	if (!(chip_level_mask(c) & bit))
		c->irr &= ~bit;
	if (c->aeoi) {
		if (c->rotate_aeoi)
			c->prio = (ir + 1) & 7;
	} else {
		c->isr |= bit;
	}
}

/* Propagate the slave's output to master IR2 and the master's to INTR. */
static void pic_update(struct i8259 *p)
{
	struct pic_chip *m = &p->c[0], *s = &p->c[1];
	bool out;

	if (!m->single) {
		if (chip_best(s) >= 0) {
			m->irr |= 1u << CASCADE_IR;
			m->pins |= 1u << CASCADE_IR;
		} else {
			m->irr &= ~(1u << CASCADE_IR);
			m->pins &= ~(1u << CASCADE_IR);
		}
	}
	out = chip_best(m) >= 0;
	if (out != p->out) {
		p->out = out;
		vm_intr_changed(p->vm);
	}
}

static void pic_line(void *opaque, unsigned line, int level)
{
	struct i8259 *p = opaque;

	/* IR2 of the master is the cascade input, not an ISA line. */
	if (line >= 16 || line == CASCADE_IR)
		return;
	chip_set_input(&p->c[line >> 3], line & 7, level);
	pic_update(p);
}

/*
 * irq_line_busy(): @line's IR is unmasked and still requested or in
 * service. A masked IR is never busy: its IRR latch delivers nothing, and
 * the line may well be served by the I/O APIC instead.
 */
static bool pic_line_busy(void *opaque, unsigned line)
{
	struct i8259 *p = opaque;
	const struct pic_chip *c = &p->c[line >> 3];
	uint8_t bit = 1u << (line & 7);

	if (line >= 16 || (c->imr & bit))
		return false;
	return (c->irr | c->isr) & bit;
}

static bool pic_pending(void *opaque)
{
	struct i8259 *p = opaque;

	return chip_best(&p->c[0]) >= 0;
}

static int pic_ack(void *opaque)
{
	struct i8259 *p = opaque;
	struct pic_chip *m = &p->c[0], *s = &p->c[1];
	int ir, sir, vec;

	ir = chip_best(m);
	if (ir < 0) {
		/* The request went away before INTA: spurious IRQ7, ISR untouched. */
		vec = m->vbase | 7;
	} else if (ir == CASCADE_IR && !m->single) {
		chip_ack(m, ir);
		sir = chip_best(s);
		if (sir < 0) {
			vec = s->vbase | 7;	/* spurious IRQ15 */
		} else {
			chip_ack(s, sir);
			vec = s->vbase + sir;
		}
	} else {
		chip_ack(m, ir);
		vec = m->vbase + ir;
	}
	pic_update(p);
	return vec;
}

bool i8259_intr_pending(struct i8259 *pic)
{
	return pic_pending(pic);
}

int i8259_intr_ack(struct i8259 *pic)
{
	return pic_ack(pic);
}

static const struct intr_ops pic_intr_ops = {
	.pending = pic_pending,
	.ack = pic_ack,
};

static void chip_icw1(struct pic_chip *c, uint8_t val)
{
	c->need_icw4 = val & 0x01;
	c->single = val & 0x02;
	c->ltim = val & 0x08;
	c->init_step = 2;
	/* Initialisation clears IMR, ISR and the edge-sense latches. */
	c->imr = 0;
	c->isr = 0;
	c->irr = c->pins & chip_level_mask(c);
	c->prio = 0;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->icw3 = 7;
	if (!c->need_icw4) {
		c->aeoi = false;
		c->sfnm = false;
	}
	c->rotate_aeoi = false;
}

static void chip_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	int ir;

	switch (val >> 5) {
	case 0:		/* clear rotate in automatic EOI mode */
		c->rotate_aeoi = false;
		break;
	case 4:		/* set rotate in automatic EOI mode */
		c->rotate_aeoi = true;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		ir = chip_highest(c, c->isr);
		if (ir < 0)
			break;
		c->isr &= ~(1u << ir);
		if (val >> 5 == 5)
			c->prio = (ir + 1) & 7;
		break;
	case 3:		/* specific EOI */
		c->isr &= ~(1u << level);
		break;
	case 7:		/* rotate on specific EOI */
		c->isr &= ~(1u << level);
		c->prio = (level + 1) & 7;
		break;
	case 6:		/* set priority: @level becomes the lowest */
		c->prio = (level + 1) & 7;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void chip_ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & 0x04)
		c->poll = true;
	if (val & 0x02)
		c->read_isr = val & 0x01;
	if (val & 0x40)
		c->special_mask = val & 0x20;
}

static void chip_write(struct pic_chip *c, unsigned port, uint8_t val)
{
	if (port == 0) {
		if (val & 0x10)
			chip_icw1(c, val);
		else if (val & 0x08)
			chip_ocw3(c, val);
		else
			chip_ocw2(c, val);
		return;
	}
	switch (c->init_step) {
	case 2:
		c->vbase = val & 0xf8;
		c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	case 4:
		/* 8086 mode is assumed; buffered-mode bits have no meaning here. */
		c->aeoi = val & 0x02;
		c->sfnm = val & 0x10;
		c->init_step = 0;
		break;
	default:
		c->imr = val;	/* OCW1 */
		break;
	}
}

static uint8_t chip_poll(struct pic_chip *c)
{
	int ir = chip_best(c);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_ack(c, ir);
	return 0x80 | ir;
}

static uint64_t pic_io_read(struct i8259 *p, struct pic_chip *c, uint64_t off)
{
	uint8_t v;

	if (c->poll) {
		v = chip_poll(c);
		pic_update(p);
		return v;
	}
	if (off == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static uint64_t pic_master_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8259 *p = opaque;

	return pic_io_read(p, &p->c[0], off);
}

static uint64_t pic_slave_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8259 *p = opaque;

	return pic_io_read(p, &p->c[1], off);
}

static void pic_master_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8259 *p = opaque;

	chip_write(&p->c[0], off, val);
	pic_update(p);
}

static void pic_slave_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8259 *p = opaque;

	chip_write(&p->c[1], off, val);
	pic_update(p);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8259 *p = opaque;

	return off < 2 ? p->c[off].elcr : 0xff;
}

static void elcr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8259 *p = opaque;
	struct pic_chip *c;

	if (off >= 2)
		return;
	c = &p->c[off];
	c->elcr = val & c->elcr_mask;
	/* Lines that became level-triggered report their current level. */
	c->irr = (c->irr & ~chip_level_mask(c)) | (c->pins & chip_level_mask(c));
	pic_update(p);
}

static const struct io_ops pic_master_ops = {
	.read = pic_master_read,
	.write = pic_master_write,
};

static const struct io_ops pic_slave_ops = {
	.read = pic_slave_read,
	.write = pic_slave_write,
};

static const struct io_ops elcr_ops = {
	.read = elcr_read,
	.write = elcr_write,
};

static void chip_reset(struct pic_chip *c, bool master)
{
	uint8_t pins = c->pins;

	memset(c, 0, sizeof(*c));
	c->pins = pins;
	c->is_master = master;
	/* IRQ0-2 (master) and IRQ8/IRQ13 (slave) cannot be level-triggered. */
	c->elcr_mask = master ? 0xf8 : 0xde;
	c->need_icw4 = true;
	c->vbase = master ? 0x08 : 0x70;
	c->icw3 = master ? 1u << CASCADE_IR : CASCADE_IR;
	c->imr = master ? (uint8_t)~(1u << CASCADE_IR) : 0xff;
}

void i8259_reset(struct i8259 *p)
{
	chip_reset(&p->c[0], true);
	chip_reset(&p->c[1], false);
	p->c[0].pins &= ~(1u << CASCADE_IR);
	pic_update(p);
}

uint8_t i8259_irr(const struct i8259 *p, unsigned chip)
{
	return chip < 2 ? p->c[chip].irr : 0;
}

uint8_t i8259_isr(const struct i8259 *p, unsigned chip)
{
	return chip < 2 ? p->c[chip].isr : 0;
}

uint8_t i8259_imr(const struct i8259 *p, unsigned chip)
{
	return chip < 2 ? p->c[chip].imr : 0;
}

static void i8259_dev_reset(struct device *dev)
{
	i8259_reset(container_of(dev, struct i8259, dev));
}

static void i8259_dev_destroy(struct device *dev)
{
	i8259_destroy(container_of(dev, struct i8259, dev));
}

static const struct device_ops i8259_dev_ops = {
	.type = "i8259",
	.reset = i8259_dev_reset,
	.destroy = i8259_dev_destroy,
};

struct i8259 *i8259_create(struct vm *vm)
{
	struct i8259 *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->vm = vm;
	i8259_reset(p);

	ret = pio_register(vm, I8259_MASTER_BASE, 2, &pic_master_ops, p, "i8259-master");
	if (!ret)
		ret = pio_register(vm, I8259_SLAVE_BASE, 2, &pic_slave_ops, p, "i8259-slave");
	if (!ret)
		ret = pio_register(vm, I8259_ELCR_BASE, 2, &elcr_ops, p, "elcr");
	for (unsigned line = 0; !ret && line < 16; line++)
		if (line != CASCADE_IR) {
			ret = irq_connect(vm, line, pic_line, p);
			if (!ret)
				irq_set_busy_fn(vm, line, p, pic_line_busy);
		}
	if (ret < 0) {
		/*
		 * Ranges and listeners already registered cannot be taken back
		 * (the bus has no unregister): the VM is being torn down anyway,
		 * so keep @p alive for them and only report the failure.
		 */
		errno = -ret;
		return NULL;
	}
	vm_set_intr_controller(vm, &pic_intr_ops, p);
	device_add(vm, &p->dev, &i8259_dev_ops, "pic");
	return p;
}

void i8259_destroy(struct i8259 *p)
{
	if (!p)
		return;
	device_remove(&p->dev);
	free(p);
}
