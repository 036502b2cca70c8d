// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest RAM: memfd-backed regions and the one checked gpa -> host helper. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/accel.h"
#include "machine/memory.h"
#include "machine/vm.h"

static int region_add(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct mem_region *r;
	void *host;
	int fd;

	if (vm->nr_ram >= VM_MAX_RAM_REGIONS)
		return -ENOSPC;
	fd = memfd_create("tandem-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err;
	/* MAP_NORESERVE: guest RAM is touched lazily, like any VMM's. */
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (host == MAP_FAILED)
		goto err;
	madvise(host, size, MADV_HUGEPAGE);
	r = &vm->ram[vm->nr_ram];
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	r->fd = fd;
	r->slot = vm->nr_ram++;
	return 0;
err:
	{
		int e = -errno;

		close(fd);
		return e;
	}
}

int vm_mem_init(struct vm *vm, uint64_t ram_size)
{
	uint64_t low = ram_size < VM_LOWMEM_END ? ram_size : VM_LOWMEM_END;
	int ret;

	if (ram_size < (1u << 20) || ram_size & 0xfff)
		return -EINVAL;
	ret = region_add(vm, 0, low);
	if (ret)
		return ret;
	if (ram_size > low) {
		ret = region_add(vm, VM_HIGHMEM_BASE, ram_size - low);
		if (ret) {
			vm_mem_exit(vm);
			return ret;
		}
	}
	return 0;
}

void vm_mem_exit(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_ram; i++) {
		munmap(vm->ram[i].host, vm->ram[i].size);
		close(vm->ram[i].fd);
	}
	vm->nr_ram = 0;
}

void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->nr_ram; i++) {
		const struct mem_region *r = &vm->ram[i];

		/* Written to be overflow-safe for any guest-supplied gpa/len. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int vm_mem_write(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	void *p = gpa_to_hva(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	vm_mem_written(vm, gpa, len);
	return 0;
}

void vm_mem_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (len && vm->accel && vm->accel->mem_written)
		vm->accel->mem_written(vm, gpa, len);
}

int vm_mem_read(struct vm *vm, uint64_t gpa, void *dst, size_t len)
{
	void *p = gpa_to_hva(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int vm_mem_reserve(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (!size || gpa + size < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < vm->nr_ram; i++)
		if (gpa < vm->ram[i].gpa + vm->ram[i].size && gpa + size > vm->ram[i].gpa)
			return -EINVAL;
	if (vm->nr_mem_reserved == VM_MAX_MEM_RESERVED)
		return -ENOSPC;
	vm->mem_reserved[vm->nr_mem_reserved].gpa = gpa;
	vm->mem_reserved[vm->nr_mem_reserved].size = size;
	vm->nr_mem_reserved++;
	return 0;
}

uint64_t vm_mem_low_size(struct vm *vm)
{
	return vm->nr_ram ? vm->ram[0].size : 0;
}
