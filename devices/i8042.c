// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Minimal 8042 keyboard controller.
 *
 * Replies (to controller or keyboard commands) go through a small output
 * queue; the status register's OBF bit says whether its head is readable
 * at the data port. IRQ1 follows "OBF and keyboard interrupt enabled" as a
 * level, so each byte made available is a rising edge for the PIC.
 * Invariant: out_len <= I8042_QUEUE.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/vm.h"

#define I8042_QUEUE	16

#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* system flag: passed self-test */
#define STS_CMD		0x08	/* last write went to the command port */
#define STS_UNLOCKED	0x10	/* keyboard not inhibited */

#define CB_KBD_INT	0x01	/* command byte: IRQ1 on keyboard data */
#define CB_SYS		0x04
#define CB_KBD_OFF	0x10
#define CB_AUX_OFF	0x20
#define CB_XLATE	0x40

#define OUTP_RESET	0x01	/* output port: CPU reset line (active low) */
#define OUTP_A20	0x02

struct i8042 {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	unsigned irq;
	uint8_t status;
	uint8_t cmd_byte;
	uint8_t outport;
	uint8_t pending_cmd;	/* controller command awaiting its data byte */
	uint8_t kbd_pending;	/* keyboard command awaiting its parameter */
	uint8_t out[I8042_QUEUE];
	unsigned out_head, out_len;
	bool irq_level;
};

static void kbc_update_irq(struct i8042 *k)
{
	bool level = k->out_len && (k->cmd_byte & CB_KBD_INT);

	if (level != k->irq_level) {
		k->irq_level = level;
		irq_set(k->vm, k->irq, level);
	}
}

static void kbc_queue(struct i8042 *k, uint8_t b)
{
	/* A guest that never reads just loses the newest replies. */
	if (k->out_len >= I8042_QUEUE)
		return;
	k->out[(k->out_head + k->out_len) % I8042_QUEUE] = b;
	k->out_len++;
}

static void kbc_write_outport(struct i8042 *k, uint8_t val)
{
	k->outport = val;
	/* Bit 0 low asserts the CPU reset line. */
	if (!(val & OUTP_RESET))
		vm_request_reset(k->vm);
}

static void kbc_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20:		/* read command byte */
		kbc_queue(k, k->cmd_byte);
		break;
	case 0x60:		/* write command byte: data follows */
	case 0xd1:		/* write output port: data follows */
	case 0xd2:		/* write keyboard output buffer: data follows */
	case 0xd3:		/* write aux output buffer: data follows */
	case 0xd4:		/* write to the aux device: data follows */
		k->pending_cmd = cmd;
		break;
	case 0xa7:		/* disable aux: there is none */
		k->cmd_byte |= CB_AUX_OFF;
		break;
	case 0xa8:
		break;
	case 0xa9:		/* aux interface test: clock line stuck low (no port) */
		kbc_queue(k, 0x01);
		break;
	case 0xaa:		/* controller self-test */
		k->status |= STS_SYS;
		kbc_queue(k, 0x55);
		break;
	case 0xab:		/* keyboard interface test: OK */
		kbc_queue(k, 0x00);
		break;
	case 0xad:
		k->cmd_byte |= CB_KBD_OFF;
		break;
	case 0xae:
		k->cmd_byte &= ~CB_KBD_OFF;
		break;
	case 0xc0:		/* read input port: keyboard not inhibited */
		kbc_queue(k, 0x80);
		break;
	case 0xd0:		/* read output port */
		kbc_queue(k, k->outport);
		break;
	default:
		/* 0xf0-0xff pulse output lines for 6 us; bit 0 clear pulses reset. */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			vm_request_reset(k->vm);
		break;
	}
}

/* A byte for the keyboard itself: acknowledge like a plain AT keyboard. */
static void kbd_command(struct i8042 *k, uint8_t b)
{
	if (k->kbd_pending) {
		/* Parameter of 0xed (LEDs), 0xf0 (scan set), 0xf3 (typematic). */
		if (k->kbd_pending == 0xf0 && b == 0) {
			kbc_queue(k, 0xfa);
			kbc_queue(k, 0x02);	/* current scan code set */
		} else {
			kbc_queue(k, 0xfa);
		}
		k->kbd_pending = 0;
		return;
	}
	switch (b) {
	case 0xed:
	case 0xf0:
	case 0xf3:
		k->kbd_pending = b;
		kbc_queue(k, 0xfa);
		break;
	case 0xee:		/* echo */
		kbc_queue(k, 0xee);
		break;
	case 0xf2:		/* identify: MF2 keyboard */
		kbc_queue(k, 0xfa);
		kbc_queue(k, 0xab);
		kbc_queue(k, 0x83);
		break;
	case 0xff:		/* reset and self-test */
		kbc_queue(k, 0xfa);
		kbc_queue(k, 0xaa);
		break;
	default:
		kbc_queue(k, 0xfa);
		break;
	}
}

static void kbc_data(struct i8042 *k, uint8_t b)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->cmd_byte = b;
		/* The system flag in the status register mirrors the command byte. */
		k->status = (k->status & ~STS_SYS) | (b & CB_SYS);
		break;
	case 0xd1:
		kbc_write_outport(k, b);
		break;
	case 0xd2:
		kbc_queue(k, b);
		break;
	case 0xd3:
		/*
		 * There is no aux channel: the byte comes back without the aux
		 * data flag, which is how an OS's loopback probe learns (at
		 * once, without a timeout) that no mouse port exists.
		 */
		kbc_queue(k, b);
		break;
	case 0xd4:
		break;		/* nothing listens on the aux port */
	default:
		kbd_command(k, b);
		break;
	}
}

static uint64_t kbc_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (off == 1)
		return k->status | (k->out_len ? STS_OBF : 0);
	/* Reading an empty buffer returns the last byte again on real parts; 0 here. */
	if (!k->out_len)
		return 0;
	v = k->out[k->out_head];
	k->out_head = (k->out_head + 1) % I8042_QUEUE;
	k->out_len--;
	/* The next byte is a new interrupt: drop the line so it can rise again. */
	if (k->irq_level) {
		k->irq_level = false;
		irq_set(k->vm, k->irq, 0);
	}
	kbc_update_irq(k);
	return v;
}

static void kbc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8042 *k = opaque;

	if (off == 1) {
		k->status |= STS_CMD;
		k->pending_cmd = 0;
		kbc_command(k, val);
	} else {
		k->status &= ~STS_CMD;
		kbc_data(k, val);
	}
	kbc_update_irq(k);
}

static uint64_t kbc_data_read(void *opaque, uint64_t off, unsigned size)
{
	return kbc_read(opaque, 0, size);
}

static void kbc_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	kbc_write(opaque, 0, val, size);
}

static uint64_t kbc_cmd_read(void *opaque, uint64_t off, unsigned size)
{
	return kbc_read(opaque, 1, size);
}

static void kbc_cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	kbc_write(opaque, 1, val, size);
}

static const struct io_ops kbc_data_ops = {
	.read = kbc_data_read,
	.write = kbc_data_write,
};

static const struct io_ops kbc_cmd_ops = {
	.read = kbc_cmd_read,
	.write = kbc_cmd_write,
};

void i8042_reset(struct i8042 *k)
{
	k->status = STS_SYS | STS_UNLOCKED;
	k->cmd_byte = CB_KBD_INT | CB_SYS | CB_AUX_OFF | CB_XLATE;
	k->outport = OUTP_RESET | OUTP_A20;
	k->pending_cmd = 0;
	k->kbd_pending = 0;
	k->out_head = 0;
	k->out_len = 0;
	kbc_update_irq(k);
}

static void i8042_dev_reset(struct device *dev)
{
	i8042_reset(container_of(dev, struct i8042, dev));
}

static void i8042_dev_destroy(struct device *dev)
{
	i8042_destroy(container_of(dev, struct i8042, dev));
}

static const struct device_ops i8042_dev_ops = {
	.type = "i8042",
	.reset = i8042_dev_reset,
	.destroy = i8042_dev_destroy,
};

struct i8042 *i8042_create(struct vm *vm, uint16_t data_port, uint16_t cmd_port, unsigned irq)
{
	struct i8042 *k;
	int ret;

	k = calloc(1, sizeof(*k));
	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->vm = vm;
	k->irq = irq;
	i8042_reset(k);
	ret = pio_register(vm, data_port, 1, &kbc_data_ops, k, "i8042-data");
	if (ret < 0) {
		free(k);
		errno = -ret;
		return NULL;
	}
	ret = pio_register(vm, cmd_port, 1, &kbc_cmd_ops, k, "i8042-cmd");
	if (ret < 0) {
		/* The data port stays registered; keep @k alive for it. */
		errno = -ret;
		return NULL;
	}
	device_add(vm, &k->dev, &i8042_dev_ops, "i8042");
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	device_remove(&k->dev);
	free(k);
}
