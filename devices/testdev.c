// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's test devices: isa-debugcon and pc-testdev (the ports and what
 * they do: testdev.h), and the parser of their -device options.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/testdev.h"
#include "machine/bus.h"
#include "machine/chardev.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/vm.h"

static int why_err(char *why, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int why_err(char *why, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Is every port of [base, base + n) free? Bus ranges never overlap. */
static bool pio_free(struct vm *vm, unsigned base, unsigned n, const char **owner)
{
	for (unsigned p = base; p < base + n; p++) {
		const struct bus_range *r = bus_find(&vm->pio, p);

		if (r) {
			*owner = r->name ? r->name : "another device";
			return false;
		}
	}
	return true;
}

/* ---- isa-debugcon ---------------------------------------------------- */

struct debugcon {
	struct device dev;
	struct chardev *out;
	bool own_out;		/* false: the serial port's back end, shared */
	uint8_t readback;
};

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
	struct debugcon *d = opaque;

	return d->readback;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct debugcon *d = opaque;
	uint8_t c = (uint8_t)val;

	chardev_write(d->out, &c, 1);
}

static const struct io_ops debugcon_io = {
	.read = debugcon_read,
	.write = debugcon_write,
};

/* Nothing changes at run time: the state is the readback value, for a check. */
static int debugcon_save(struct device *dev, struct dev_buf *out)
{
	struct debugcon *d = container_of(dev, struct debugcon, dev);

	return dev_buf_put(out, &d->readback, 1);
}

static int debugcon_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			 size_t whylen)
{
	struct debugcon *d = container_of(dev, struct debugcon, dev);

	if (len != 1 || data[0] != d->readback)
		return why_err(why, whylen, -EINVAL, "%s: saved state does not match", dev->name);
	return 0;
}

static void debugcon_destroy(struct device *dev)
{
	struct debugcon *d = container_of(dev, struct debugcon, dev);

	if (d->own_out)
		chardev_close(d->out);
	free(d);
}

static const struct device_ops debugcon_ops = {
	.type = "isa-debugcon",
	.save = debugcon_save,
	.load = debugcon_load,
	.destroy = debugcon_destroy,
};

static int debugcon_create(struct vm *vm, unsigned iobase, uint8_t readback, const char *spec,
			   char *why, size_t len)
{
	const char *owner;
	struct debugcon *d;
	char name[32], err[256];
	int ret;

	if (!pio_free(vm, iobase, 1, &owner))
		return why_err(why, len, -EEXIST, "port 0x%x is taken by %s", iobase, owner);
	d = calloc(1, sizeof(*d));
	if (!d)
		return why_err(why, len, -ENOMEM, "out of memory");
	d->readback = readback;
	/*
	 * Two readers of one terminal would steal each other's keys: a
	 * debugcon on stdio next to a serial port on stdio shares its back end
	 * (output only, interleaved), as QEMU's mux would.
	 */
	if (!strcmp(spec, "stdio") && vm->serial && vm->cfg.serial &&
	    !strcmp(vm->cfg.serial, "stdio")) {
		d->out = vm->serial;
	} else {
		d->out = chardev_open(vm, spec, err, sizeof(err));
		if (!d->out) {
			free(d);
			return why_err(why, len, -EINVAL, "%s", err);
		}
		d->own_out = true;
		/* Opened (and truncated) now: the loaders have read their files. */
		ret = chardev_start(d->out, err, sizeof(err));
		if (ret) {
			chardev_close(d->out);
			free(d);
			return why_err(why, len, ret, "%s", err);
		}
	}
	ret = pio_register(vm, (uint16_t)iobase, 1, &debugcon_io, d, "isa-debugcon");
	if (ret) {
		if (d->own_out)
			chardev_close(d->out);
		free(d);
		return why_err(why, len, ret, "cannot claim port 0x%x", iobase);
	}
	snprintf(name, sizeof(name), "isa-debugcon@0x%x", iobase);
	device_add(vm, &d->dev, &debugcon_ops, name);
	return 0;
}

/* ---- pc-testdev ------------------------------------------------------ */

struct pc_testdev {
	struct device dev;
	struct vm *vm;
	uint32_t scratch;
	uint8_t iomem[TESTDEV_IOMEM_SIZE];
};

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* 0xe0 and 0xe8: the bus hands over only accesses inside the 4 bytes. */
static uint64_t scratch_read(void *opaque, uint64_t off, unsigned size)
{
	struct pc_testdev *t = opaque;

	return (t->scratch >> (off * 8)) & size_mask(size);
}

static void scratch_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pc_testdev *t = opaque;
	uint32_t mask = (uint32_t)(size_mask(size) << (off * 8));

	t->scratch = (t->scratch & ~mask) | ((uint32_t)(val << (off * 8)) & mask);
}

static const struct io_ops scratch_io = {
	.read = scratch_read,
	.write = scratch_write,
};

/* 0xe4: a dword write names a page whose cached translations must go. */
static void flush_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pc_testdev *t = opaque;
	uint64_t page = (uint32_t)val & ~0xfffull;

	if (size != 4 || off != 0)
		return;		/* QEMU takes only whole dwords */
	/* Guest-chosen address: only RAM has anything cached. */
	if (gpa_to_hva(t->vm, page, 0x1000))
		vm_mem_written(t->vm, page, 0x1000);
}

static const struct io_ops flush_io = {
	.write = flush_write,
};

static void irq_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pc_testdev *t = opaque;

	/* Byte writes only, as QEMU; off < TESTDEV_IRQ_LINES (the bus). */
	if (size == 1)
		irq_set(t->vm, (unsigned)off, !!(val & 0xff));
}

static const struct io_ops irq_io = {
	.write = irq_write,
};

static uint64_t iomem_read(void *opaque, uint64_t off, unsigned size)
{
	struct pc_testdev *t = opaque;
	uint64_t v = 0;

	/* The bus only passes accesses wholly inside the 64 KiB. */
	memcpy(&v, t->iomem + off, size);
	return v;
}

static void iomem_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pc_testdev *t = opaque;

	memcpy(t->iomem + off, &val, size);
}

static const struct io_ops iomem_io = {
	.read = iomem_read,
	.write = iomem_write,
};

static void testdev_reset(struct device *dev)
{
	struct pc_testdev *t = container_of(dev, struct pc_testdev, dev);

	t->scratch = 0;
	memset(t->iomem, 0, sizeof(t->iomem));
}

static int testdev_save(struct device *dev, struct dev_buf *out)
{
	struct pc_testdev *t = container_of(dev, struct pc_testdev, dev);
	int ret = dev_buf_put(out, &t->scratch, sizeof(t->scratch));

	return ret ? ret : dev_buf_put(out, t->iomem, sizeof(t->iomem));
}

static int testdev_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			size_t whylen)
{
	struct pc_testdev *t = container_of(dev, struct pc_testdev, dev);

	if (len != sizeof(t->scratch) + sizeof(t->iomem))
		return why_err(why, whylen, -EINVAL, "%s: saved state of %zu bytes (want %zu)",
			       dev->name, len, sizeof(t->scratch) + sizeof(t->iomem));
	memcpy(&t->scratch, data, sizeof(t->scratch));
	memcpy(t->iomem, data + sizeof(t->scratch), sizeof(t->iomem));
	return 0;
}

static void testdev_destroy(struct device *dev)
{
	free(container_of(dev, struct pc_testdev, dev));
}

static const struct device_ops testdev_ops = {
	.type = "pc-testdev",
	.reset = testdev_reset,
	.save = testdev_save,
	.load = testdev_load,
	.destroy = testdev_destroy,
};

static int pc_testdev_create(struct vm *vm, char *why, size_t len)
{
	static const struct {
		unsigned base, len;
		const struct io_ops *ops;
		const char *name;
	} ports[] = {
		{ TESTDEV_PORT, 4, &scratch_io, "pc-testdev ioport" },
		{ TESTDEV_PORT + 4, 4, &flush_io, "pc-testdev flush-page" },
		{ TESTDEV_PORT + 8, 4, &scratch_io, "pc-testdev ioport-byte" },
		{ TESTDEV_IRQ_PORT, TESTDEV_IRQ_LINES, &irq_io, "pc-testdev irq-line" },
	};
	struct pc_testdev *t;
	const char *owner;
	int ret;

	/* Check every range first: the bus cannot take a range back. */
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (!pio_free(vm, ports[i].base, ports[i].len, &owner))
			return why_err(why, len, -EEXIST, "ports 0x%x-0x%x overlap %s",
				       ports[i].base, ports[i].base + ports[i].len - 1, owner);
	if (gpa_to_hva(vm, TESTDEV_IOMEM_BASE, 1))
		return why_err(why, len, -EEXIST, "0x%llx (iomem) is guest RAM",
			       TESTDEV_IOMEM_BASE);
	t = calloc(1, sizeof(*t));
	if (!t)
		return why_err(why, len, -ENOMEM, "out of memory");
	t->vm = vm;
	/*
	 * The VM owns it from here: if a range below cannot be registered
	 * (ENOMEM; the MMIO window taken), the caller does not start the VM
	 * and the device goes with the others, after the bus that points to it
	 * has stopped dispatching.
	 */
	device_add(vm, &t->dev, &testdev_ops, "pc-testdev");
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		ret = pio_register(vm, (uint16_t)ports[i].base, (uint16_t)ports[i].len,
				   ports[i].ops, t, ports[i].name);
		if (ret)
			return why_err(why, len, ret, "cannot claim ports 0x%x-0x%x: %s",
				       ports[i].base, ports[i].base + ports[i].len - 1,
				       strerror(-ret));
	}
	ret = mmio_register(vm, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_SIZE, &iomem_io, t,
			    "pc-testdev iomem");
	if (ret)
		return why_err(why, len, ret, "cannot claim 0x%llx-0x%llx (iomem): %s",
			       TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_BASE + TESTDEV_IOMEM_SIZE - 1,
			       strerror(-ret));
	return 0;
}

/* ---- -device options --------------------------------------------------- */

int testdev_handles(const char *name)
{
	return name && (!strcmp(name, "isa-debugcon") || !strcmp(name, "pc-testdev"));
}

/* A number in C syntax (0xe9, 233) of at most @max. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	*out = strtoul(s, &end, 0);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

int testdev_create_from_opts(struct vm *vm, const char *name, const char *opts,
			     testdev_chardev_fn chardev, char *why, size_t len)
{
	unsigned long iobase = TESTDEV_DEBUGCON_PORT, readback = TESTDEV_DEBUGCON_READBACK;
	const char *spec = NULL, *id = NULL;
	char *copy, *tok, *save = NULL;
	bool debugcon;
	int ret = 0;

	if (!testdev_handles(name))
		return why_err(why, len, -ENOENT, "not a test device");
	debugcon = !strcmp(name, "isa-debugcon");
	copy = strdup(opts ? opts : "");
	if (!copy)
		return why_err(why, len, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		if (debugcon && !strncmp(tok, "iobase=", 7)) {
			if (parse_num(tok + 7, 0xffff, &iobase))
				ret = why_err(why, len, -EINVAL, "iobase '%s': a port, 0 to 0xffff",
					      tok + 7);
		} else if (debugcon && !strncmp(tok, "readback=", 9)) {
			if (parse_num(tok + 9, 0xff, &readback))
				ret = why_err(why, len, -EINVAL, "readback '%s': a byte, 0 to 0xff",
					      tok + 9);
		} else if (debugcon && !strncmp(tok, "chardev=", 8)) {
			id = tok + 8;
			spec = chardev ? chardev(id) : NULL;
			if (!spec)
				ret = why_err(why, len, -ENOENT, "no -chardev with id=%s", id);
		} else if (!strncmp(tok, "id=", 3)) {
			continue;	/* QEMU's instance name: accepted, unused */
		} else {
			ret = why_err(why, len, -EINVAL, "option '%s' not supported (%s)", tok,
				      debugcon ? "iobase=, chardev=, readback=" : "it takes none");
		}
	}
	if (!ret && debugcon && !spec)
		ret = why_err(why, len, -EINVAL, "needs chardev=ID (with -chardev "
			      "file,id=ID,path=PATH or stdio,id=ID), as in QEMU");
	if (!ret)
		ret = debugcon ? debugcon_create(vm, (unsigned)iobase, (uint8_t)readback, spec, why,
						 len)
			       : pc_testdev_create(vm, why, len);
	free(copy);
	return ret;
}
