/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BUS_H
#define TANDEM_BUS_H
/*
 * Port I/O and MMIO buses. Devices register a range and see offsets from
 * its base. Accesses that hit no device read as all-ones and writes are
 * dropped; both are counted (never fatal: the guest controls them).
 *
 * Locking: every device callback runs with vm->lock held (the bus takes
 * it); devices need no locks of their own.
 */
#include <stdint.h>

struct vm;

struct io_ops {
	uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
	void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

struct bus_range {
	uint64_t base, len;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range *r;	/* sorted by base, never overlapping */
	unsigned nr, cap;
	uint64_t unmapped_reads, unmapped_writes;
};

/* 0, or -EEXIST if the range overlaps another, -EINVAL if empty. */
int pio_register(struct vm *vm, uint16_t base, uint16_t len,
		 const struct io_ops *ops, void *opaque, const char *name);
int mmio_register(struct vm *vm, uint64_t base, uint64_t len,
		  const struct io_ops *ops, void *opaque, const char *name);

/* Dispatch one guest access (size 1, 2, 4 or 8). Takes vm->lock. */
uint64_t pio_read(struct vm *vm, uint16_t port, unsigned size);
void pio_write(struct vm *vm, uint16_t port, uint64_t val, unsigned size);
uint64_t mmio_read(struct vm *vm, uint64_t addr, unsigned size);
void mmio_write(struct vm *vm, uint64_t addr, uint64_t val, unsigned size);

/* Lock-free variants for callers that already hold vm->lock. */
uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned size);
void bus_write(struct bus *bus, uint64_t addr, uint64_t val, unsigned size);
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct io_ops *ops, void *opaque, const char *name);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/*
 * Remove the range starting at @base that belongs to @opaque (a PCI BAR
 * moving). 0, or -ENOENT. Safe from inside a device callback of the same
 * bus: the dispatcher does not touch the range after the callback.
 */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);
void bus_free(struct bus *bus);

#endif
