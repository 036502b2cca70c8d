/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MEMORY_H
#define TANDEM_MEMORY_H
/*
 * Guest RAM: one memfd-backed mapping per region. Regions never overlap
 * and never change after vm_mem_init() except through vm_mem_* calls that
 * tell the engine (accel->mem_changed).
 */
#include <stdint.h>
#include <stddef.h>

struct vm;

#define VM_MAX_RAM_REGIONS	4
/*
 * The PC's 32-bit hole [VM_LOWMEM_END, 4 GiB) is never RAM: the PCI
 * memory window (0xc0000000-0xdfffffff), ECAM (0xe0000000-0xefffffff),
 * the I/O APIC and the local APIC live there (devices/pci.h). RAM past
 * 3 GiB continues at 4 GiB.
 */
#define VM_LOWMEM_END		0xc0000000ull
#define VM_MAX_MEM_RESERVED	4
#define VM_HIGHMEM_BASE		0x100000000ull

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	int fd;
	unsigned slot;
};

/* Map @ram_size bytes of guest RAM: below the hole, the rest from 4 GiB. */
int vm_mem_init(struct vm *vm, uint64_t ram_size);
void vm_mem_exit(struct vm *vm);

/*
 * The one checked gpa -> host pointer helper: returns NULL unless the
 * whole range [gpa, gpa + len) lies inside one RAM region. Everything a
 * guest can name (DMA, loaders, page walks) goes through here.
 */
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; -EFAULT if any byte is outside RAM. */
int vm_mem_write(struct vm *vm, uint64_t gpa, const void *src, size_t len);
/*
 * The VMM (a device's DMA) wrote guest RAM at [gpa, gpa + len) behind the
 * CPU's back: engines that cache what they read of RAM (decoded and
 * translated code) drop it. vm_mem_write() says so itself; code that
 * writes through gpa_to_hva() calls this after.
 */
void vm_mem_written(struct vm *vm, uint64_t gpa, uint64_t len);
int vm_mem_read(struct vm *vm, uint64_t gpa, void *dst, size_t len);

/*
 * Mark [gpa, gpa + size) reserved for the memory map (e820 type 2): MMIO
 * an OS must not hand out, such as the ECAM window. 0, -ENOSPC, -EINVAL
 * if it overlaps RAM.
 */
int vm_mem_reserve(struct vm *vm, uint64_t gpa, uint64_t size);

/* Total RAM below the hole (for e820 / multiboot mem_upper). */
uint64_t vm_mem_low_size(struct vm *vm);

#endif
