// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Port I/O and MMIO buses: a sorted array of non-overlapping ranges,
 * searched by bisection. Holes read as all-ones, writes to them are
 * dropped; both are counted, never fatal. An access is never split
 * between devices (the rule and why: bus.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/vm.h"

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		 void *opaque, const char *name)
{
	unsigned i;

	if (!len || base + len - 1 < base || !ops)
		return -EINVAL;
	/* Find the insertion point and refuse overlap with either neighbour. */
	for (i = 0; i < bus->nr && bus->r[i].base < base; i++)
		;
	if (i > 0 && bus->r[i - 1].base + bus->r[i - 1].len > base)
		return -EEXIST;
	if (i < bus->nr && base + len > bus->r[i].base)
		return -EEXIST;
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->r = r;
		bus->cap = cap;
	}
	memmove(&bus->r[i + 1], &bus->r[i], (bus->nr - i) * sizeof(*bus->r));
	bus->r[i] = (struct bus_range){ base, len, ops, opaque, name };
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* The range covering the whole access, or NULL if it hits a hole or straddles. */
static const struct bus_range *find_whole(const struct bus *bus, uint64_t addr, unsigned size)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (r && size <= r->len && addr - r->base <= r->len - size)
		return r;
	return NULL;
}

/*
 * Does any device cover a byte of [addr, addr + size)? Only for counting:
 * a partly claimed access is dropped like an unclaimed one (bus.h).
 */
static bool bus_touches(const struct bus *bus, uint64_t addr, unsigned size)
{
	for (unsigned i = 0; i < size && addr + i >= addr; i++)
		if (bus_find(bus, addr + i))
			return true;
	return false;
}

static uint64_t all_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned size)
{
	const struct bus_range *r = find_whole(bus, addr, size);

	if (r) {
		/* A write-only device reads as floating lines, like a hole. */
		if (!r->ops->read)
			return all_ones(size);
		return r->ops->read(r->opaque, addr - r->base, size) & all_ones(size);
	}
	bus->unmapped_reads++;
	if (bus_touches(bus, addr, size))
		bus->partial_reads++;
	return all_ones(size);
}

void bus_write(struct bus *bus, uint64_t addr, uint64_t val, unsigned size)
{
	const struct bus_range *r = find_whole(bus, addr, size);

	if (r) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, val, size);
		return;
	}
	bus->unmapped_writes++;
	if (bus_touches(bus, addr, size))
		bus->partial_writes++;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		if (bus->r[i].base != base || bus->r[i].opaque != opaque)
			continue;
		memmove(&bus->r[i], &bus->r[i + 1], (bus->nr - i - 1) * sizeof(*bus->r));
		bus->nr--;
		return 0;
	}
	return -ENOENT;
}

void bus_free(struct bus *bus)
{
	free(bus->r);
	memset(bus, 0, sizeof(*bus));
}

int pio_register(struct vm *vm, uint16_t base, uint16_t len, const struct io_ops *ops,
		 void *opaque, const char *name)
{
	if ((uint32_t)base + len > 0x10000)
		return -EINVAL;
	return bus_register(&vm->pio, base, len, ops, opaque, name);
}

int mmio_register(struct vm *vm, uint64_t base, uint64_t len, const struct io_ops *ops,
		  void *opaque, const char *name)
{
	return bus_register(&vm->mmio, base, len, ops, opaque, name);
}

/* -d guest_errors: an access nothing decodes (reads all-ones, writes dropped and counted). */
static void guest_error(struct vm *vm, const char *what, uint64_t addr, unsigned size,
			uint64_t val)
{
	vm_trace(vm, TRACE_GUEST_ERRORS, "CPU%u guest_errors: unmapped %s %#llx size %u %s %#llx\n",
		 vm_current_cpu(), what, (unsigned long long)addr, size,
		 strstr(what, "read") ? "->" : "<-", (unsigned long long)val);
}

uint64_t pio_read(struct vm *vm, uint16_t port, unsigned size)
{
	uint64_t v, holes;

	pthread_mutex_lock(&vm->lock);
	holes = vm->pio.unmapped_reads;
	/* No range reaches past 0xffff, so a word at 0xffff is a partial access. */
	v = bus_read(&vm->pio, port, size);
	holes = vm->pio.unmapped_reads - holes;
	pthread_mutex_unlock(&vm->lock);
	if (holes && vm_tracing(vm, TRACE_GUEST_ERRORS))
		guest_error(vm, "port read", port, size, v);
	if (vm_tracing(vm, TRACE_IO))
		vm_trace(vm, TRACE_IO, "CPU%u io: in  port %#06x size %u -> %#llx\n",
			 vm_current_cpu(), port, size,
			 (unsigned long long)v);
	return v;
}

void pio_write(struct vm *vm, uint16_t port, uint64_t val, unsigned size)
{
	if (vm_tracing(vm, TRACE_IO))
		vm_trace(vm, TRACE_IO, "CPU%u io: out port %#06x size %u <- %#llx\n",
			 vm_current_cpu(), port, size,
			 (unsigned long long)val);
	uint64_t holes;

	pthread_mutex_lock(&vm->lock);
	holes = vm->pio.unmapped_writes;
	bus_write(&vm->pio, port, val, size);
	holes = vm->pio.unmapped_writes - holes;
	pthread_mutex_unlock(&vm->lock);
	if (holes && vm_tracing(vm, TRACE_GUEST_ERRORS))
		guest_error(vm, "port write", port, size, val);
}

uint64_t mmio_read(struct vm *vm, uint64_t addr, unsigned size)
{
	uint64_t v, holes;

	pthread_mutex_lock(&vm->lock);
	holes = vm->mmio.unmapped_reads;
	v = bus_read(&vm->mmio, addr, size);
	holes = vm->mmio.unmapped_reads - holes;
	pthread_mutex_unlock(&vm->lock);
	if (holes && vm_tracing(vm, TRACE_GUEST_ERRORS))
		guest_error(vm, "MMIO read", addr, size, v);
	if (vm_tracing(vm, TRACE_IO))
		vm_trace(vm, TRACE_IO, "CPU%u io: mmio read  %#llx size %u -> %#llx\n",
			 vm_current_cpu(), (unsigned long long)addr, size, (unsigned long long)v);
	return v;
}

void mmio_write(struct vm *vm, uint64_t addr, uint64_t val, unsigned size)
{
	if (vm_tracing(vm, TRACE_IO))
		vm_trace(vm, TRACE_IO, "CPU%u io: mmio write %#llx size %u <- %#llx\n",
			 vm_current_cpu(), (unsigned long long)addr, size, (unsigned long long)val);
	uint64_t holes;

	pthread_mutex_lock(&vm->lock);
	holes = vm->mmio.unmapped_writes;
	bus_write(&vm->mmio, addr, val, size);
	holes = vm->mmio.unmapped_writes - holes;
	pthread_mutex_unlock(&vm->lock);
	if (holes && vm_tracing(vm, TRACE_GUEST_ERRORS))
		guest_error(vm, "MMIO write", addr, size, val);
}
