// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Kernel loading: reading the files, telling the formats apart (multiboot,
 * bzImage in loader_bzimage.c, plain ELF64), and what the formats share:
 * segment placement checks and the multiboot info, which both the
 * multiboot and the plain ELF64 entry hand to the kernel.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machine/e820.h"
#include "machine/linuxboot.h"
#include "machine/loader.h"
#include "machine/loader_int.h"
#include "machine/memory.h"
#include "machine/vm.h"

int ldr_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

const char *ldr_kernel_name(const struct loader_args *a)
{
	return a->kernel ? a->kernel : "(built-in)";
}

/*
 * Map @path read-only instead of reading it: a kernel or initrd costs no
 * memory until a loader copies the parts it places, and a file that can
 * never fit (more than @max bytes: the guest's RAM) is refused from its
 * size alone, before a byte is read. MAP_PRIVATE with PROT_READ: nothing
 * we do can write the file. The price: a file truncated by someone else
 * while we copy it faults (SIGBUS) instead of reading short.
 */
int ldr_map_file(const char *path, const char *what, uint64_t max, const uint8_t **data,
		 size_t *size, char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd, ret;

	*data = NULL;
	*size = 0;
	/* O_NONBLOCK: a FIFO given by mistake must not hang us in open(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		return ldr_err(err, errlen, ret, "cannot open %s '%s': %s", what, path,
			       strerror(-ret));
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		ldr_err(err, errlen, ret, "cannot stat %s '%s': %s", what, path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ldr_err(err, errlen, -EINVAL, "%s '%s' is not a regular file", what, path);
		goto out;
	}
	if (st.st_size == 0) {
		ret = ldr_err(err, errlen, -ENOEXEC, "%s '%s' is empty", what, path);
		goto out;
	}
	if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX / 2) {
		ret = ldr_err(err, errlen, -EFBIG, "%s '%s' (%llu bytes) is larger than guest "
			      "RAM (%llu bytes); give the guest more memory", what, path,
			      (unsigned long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		ldr_err(err, errlen, ret, "cannot map %s '%s': %s", what, path, strerror(-ret));
		goto out;
	}
	*data = map;
	*size = (size_t)st.st_size;
	ret = 0;
out:
	close(fd);	/* the mapping keeps the file */
	return ret;
}

void ldr_unmap_file(const uint8_t *data, size_t size)
{
	if (data)
		munmap((void *)data, size);
}

/* Guest RAM in bytes: nothing larger can be loaded whole. */
static uint64_t ram_total(const struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < vm->nr_ram && i < VM_MAX_RAM_REGIONS; i++)
		n += vm->ram[i].size;
	return n;
}

void ldr_image_free(struct ldr_image *im)
{
	free(im->segs);
	im->segs = NULL;
	im->nr_segs = 0;
}

int ldr_image_add(struct ldr_image *im, uint64_t paddr, const uint8_t *src, uint64_t filesz,
		  uint64_t memsz, const char *name, char *err, size_t errlen)
{
	struct ldr_seg *s;

	if (!memsz)
		return 0;
	if (filesz > memsz || paddr > UINT64_MAX - memsz)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': segment at 0x%llx has an impossible size", name,
			       (unsigned long long)paddr);
	s = realloc(im->segs, (im->nr_segs + 1) * sizeof(*s));
	if (!s)
		return ldr_err(err, errlen, -ENOMEM, "kernel '%s': out of memory", name);
	im->segs = s;
	s += im->nr_segs++;
	s->paddr = paddr;
	s->vaddr = paddr;
	s->filesz = filesz;
	s->memsz = memsz;
	s->src = src;
	if (paddr + memsz > im->end)
		im->end = paddr + memsz;
	return 0;
}

/* Does [start, start + len) lie inside one usable RAM entry of @map? */
static bool in_usable_ram(const struct e820_entry *map, unsigned n, uint64_t start, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (map[i].type == E820_RAM && start >= map[i].addr &&
		    len <= map[i].size && start - map[i].addr <= map[i].size - len)
			return true;
	return false;
}

int ldr_image_check(struct vm *vm, const struct ldr_image *im, const char *name, char *err,
		    size_t errlen)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(vm, map, E820_MAX_ENTRIES);

	if (n < 0)
		return ldr_err(err, errlen, n, "kernel '%s': cannot build the memory map", name);
	for (unsigned i = 0; i < im->nr_segs; i++) {
		const struct ldr_seg *s = &im->segs[i];
		unsigned long long first = s->paddr, last = s->paddr + s->memsz - 1;

		/* memsz > 0 and no overflow: ldr_image_add() saw to both. */
		if (!gpa_to_hva(vm, s->paddr, s->memsz))
			return ldr_err(err, errlen, -ERANGE,
				       "kernel '%s': segment 0x%llx-0x%llx is outside guest RAM",
				       name, first, last);
		/* Below 1 MiB anything but the BIOS area is fine (QEMU loads there too). */
		if (!in_usable_ram(map, (unsigned)n, s->paddr, s->memsz))
			return ldr_err(err, errlen, -ERANGE,
				       "kernel '%s': segment 0x%llx-0x%llx overlaps memory the "
				       "memory map reserves (EBDA, VGA, BIOS and ACPI area "
				       "0x%llx-0x%llx)", name, first, last, E820_EBDA_START,
				       E820_BIOS_END - 1);
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Does one of @im's segments or @busy overlap [start, end)? Its end in @over_end. */
static bool find_overlap(const struct ldr_image *im, const struct ldr_range *busy,
			 unsigned nr_busy, uint64_t start, uint64_t end, uint64_t *over_end)
{
	for (unsigned i = 0; i < im->nr_segs; i++) {
		const struct ldr_seg *s = &im->segs[i];

		if (s->paddr < end && start < s->paddr + s->memsz) {
			*over_end = s->paddr + s->memsz;
			return true;
		}
	}
	for (unsigned i = 0; i < nr_busy; i++) {
		if (busy[i].start < end && start < busy[i].end) {
			*over_end = busy[i].end;
			return true;
		}
	}
	return false;
}

int ldr_place(struct vm *vm, const struct ldr_image *im, const struct ldr_range *busy,
	      unsigned nr_busy, uint64_t size, uint64_t align, uint64_t pref, uint64_t *out)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(vm, map, E820_MAX_ENTRIES);
	uint64_t over;

	if (n < 0)
		return n;
	if (!size || size > LDR_4G)
		return -ENOSPC;
	if (pref >= LDR_LOW_FLOOR && pref <= LDR_4G - size &&
	    in_usable_ram(map, (unsigned)n, pref, size) &&
	    !find_overlap(im, busy, nr_busy, pref, pref + size, &over)) {
		*out = pref;
		return 0;
	}
	/* e820_build() sorts by address: the first fit is the lowest. */
	for (int i = 0; i < n; i++) {
		uint64_t lo = map[i].addr, hi = map[i].addr + map[i].size, cand;

		if (map[i].type != E820_RAM || lo >= LDR_4G)
			continue;
		if (hi > LDR_4G)
			hi = LDR_4G;
		cand = align_up(lo > LDR_LOW_FLOOR ? lo : LDR_LOW_FLOOR, align);
		/* Each step moves past one occupied range's end: this ends. */
		while (cand < hi && size <= hi - cand) {
			uint64_t next;

			if (!find_overlap(im, busy, nr_busy, cand, cand + size, &over)) {
				*out = cand;
				return 0;
			}
			next = align_up(over, align);
			if (next <= cand)
				break;	/* wrapped: nothing above */
			cand = next;
		}
	}
	return -ENOSPC;
}

void ldr_image_copy(struct vm *vm, const struct ldr_image *im)
{
	for (unsigned i = 0; i < im->nr_segs; i++) {
		const struct ldr_seg *s = &im->segs[i];
		/* Checked by ldr_image_check(); a NULL here is a loader bug. */
		uint8_t *dst = gpa_to_hva(vm, s->paddr, s->memsz);

		memcpy(dst, s->src, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
}

int ldr_acpi(struct vm *vm, char *err, size_t errlen)
{
	uint64_t rsdp;

	/* The board's firmware tables (board/acpi.c), as for the bzImage loader. */
	return vm_firmware_tables(vm, &rsdp, err, errlen);
}

/* Multiboot info layout (spec 0.6.96, section 3.3), byte offsets. */
enum {
	MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_CMDLINE = 16,
	MBI_MODS_COUNT = 20, MBI_MODS_ADDR = 24, MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48,
	MBI_LOADER_NAME = 64, MBI_SIZE = 120,	/* through the framebuffer fields */
};
#define MBI_F_MEMORY		(1u << 0)
#define MBI_F_CMDLINE		(1u << 2)
#define MBI_F_MODS		(1u << 3)
#define MBI_F_MMAP		(1u << 6)
#define MBI_F_LOADER_NAME	(1u << 9)
#define MBI_MMAP_ENTRY		24	/* a u32 size (20) then base, length, type */
#define MBI_MOD_SIZE		16

static const char loader_name[] = "tandem";

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* x86-64 host: already little-endian */
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static size_t cmdline_len(const struct loader_args *a)
{
	size_t n = a->kernel ? strlen(a->kernel) : 0;

	if (a->cmdline && *a->cmdline)
		n += (n ? 1 : 0) + strlen(a->cmdline);
	return n + 1;
}

int ldr_mbi_plan(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		 const struct ldr_image *im, const struct ldr_range *busy, unsigned nr_busy,
		 struct ldr_mbi *mbi, char *err, size_t errlen)
{
	const char *name = ldr_kernel_name(a);
	size_t clen = cmdline_len(a);
	struct ldr_range taken[8];
	uint64_t p, base;
	int n;

	memset(mbi, 0, sizeof(*mbi));
	if (nr_busy > sizeof(taken) / sizeof(taken[0]) - 1)
		return ldr_err(err, errlen, -EINVAL, "kernel '%s': too many boot blocks", name);
	memcpy(taken, busy, nr_busy * sizeof(*busy));
	/* The board's one memory map: multiboot and Linux kernels see the same RAM. */
	n = e820_build(vm, mbi->map, E820_MAX_ENTRIES);
	if (n < 0)
		return ldr_err(err, errlen, n, "kernel '%s': cannot build the memory map", name);
	mbi->nr_mmap = (unsigned)n;
	if (clen > LDR_CMDLINE_MAX)
		return ldr_err(err, errlen, -E2BIG,
			       "kernel command line too long (%zu bytes, at most %llu)", clen - 1,
			       LDR_CMDLINE_MAX - 1);
	if (initrd && strlen(initrd->path) + 1 > LDR_CMDLINE_MAX)
		return ldr_err(err, errlen, -E2BIG, "initrd path too long (%zu bytes)",
			       strlen(initrd->path));

	if (initrd) {
		/* Page-aligned above the kernel (multiboot flag 0 asks for it; always safe). */
		uint64_t start = im->end > LDR_BOOT_END ? im->end : LDR_BOOT_END;

		if (start > UINT64_MAX - LDR_PAGE)
			start = UINT64_MAX;
		else
			start = align_up(start, LDR_PAGE);
		/* mod_start/mod_end are 32-bit: the whole initrd must sit below 4 GiB. */
		if (start >= LDR_4G || initrd->size > LDR_4G - start ||
		    !gpa_to_hva(vm, start, initrd->size))
			return ldr_err(err, errlen, -ERANGE,
				       "initrd '%s' (%zu bytes) does not fit in guest RAM below "
				       "4 GiB after the kernel", initrd->path, initrd->size);
		mbi->mod_start = start;
		taken[nr_busy++] = (struct ldr_range){ start, start + initrd->size };
	}

	/* Offsets from the info's start first; the block is placed whole. */
	p = align_up(MBI_SIZE, 8);
	mbi->mmap = p;
	mbi->mmap_len = (uint64_t)mbi->nr_mmap * MBI_MMAP_ENTRY;
	p += mbi->mmap_len;
	if (initrd) {
		mbi->mods = p;
		p += MBI_MOD_SIZE;
	}
	mbi->loader_name = p;
	p += sizeof(loader_name);
	if (initrd) {
		mbi->mod_string = p;
		p += strlen(initrd->path) + 1;
	}
	mbi->cmdline = p;
	p += clen;
	/* Where it always was when nothing is in the way, else the lowest free RAM. */
	if (ldr_place(vm, im, taken, nr_busy, p, 8, LDR_INFO + p <= LDR_INFO_END ? LDR_INFO : 0,
		      &base))
		return ldr_err(err, errlen, -ERANGE,
			       "kernel '%s': no free guest RAM below 4 GiB for the multiboot "
			       "info (%llu bytes) beside the kernel and initrd", name,
			       (unsigned long long)p);
	mbi->info = base;
	mbi->mmap += base;
	if (initrd) {
		mbi->mods += base;
		mbi->mod_string += base;
	}
	mbi->loader_name += base;
	mbi->cmdline += base;
	mbi->end = base + p;
	if (!gpa_to_hva(vm, mbi->info, mbi->end - mbi->info))
		return ldr_err(err, errlen, -ERANGE,
			       "kernel '%s': no guest RAM for the multiboot info at 0x%llx", name,
			       (unsigned long long)mbi->info);
	return 0;
}

void ldr_mbi_write(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		   const struct ldr_mbi *mbi)
{
	/* Range checked by ldr_mbi_plan(); offsets below are relative to the info. */
	uint8_t *base = gpa_to_hva(vm, mbi->info, mbi->end - mbi->info);
	uint32_t flags = MBI_F_MEMORY | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER_NAME;
	uint64_t upper = 0;
	uint8_t *p;

	memset(base, 0, mbi->end - mbi->info);
	for (unsigned i = 0; i < vm->nr_ram && i < VM_MAX_RAM_REGIONS; i++) {
		const struct mem_region *r = &vm->ram[i];

		if (r->gpa <= LDR_BOOT_END && r->gpa + r->size > LDR_BOOT_END)
			upper = (r->gpa + r->size - LDR_BOOT_END) >> 10;
	}
	put32(base + MBI_MEM_LOWER, 640);
	put32(base + MBI_MEM_UPPER, upper > UINT32_MAX ? UINT32_MAX : (uint32_t)upper);

	p = base + (mbi->cmdline - mbi->info);
	if (a->kernel)
		p = (uint8_t *)stpcpy((char *)p, a->kernel);
	if (a->cmdline && *a->cmdline) {
		if (a->kernel)
			*p++ = ' ';
		strcpy((char *)p, a->cmdline);
	}
	put32(base + MBI_CMDLINE, (uint32_t)mbi->cmdline);

	for (unsigned i = 0; i < mbi->nr_mmap; i++) {
		uint8_t *e = base + (mbi->mmap - mbi->info) + i * MBI_MMAP_ENTRY;

		put32(e, MBI_MMAP_ENTRY - 4);
		/* Multiboot types 1 (RAM) and 2 (reserved) are e820's numbers. */
		put64(e + 4, mbi->map[i].addr);
		put64(e + 12, mbi->map[i].size);
		put32(e + 20, mbi->map[i].type);
	}
	put32(base + MBI_MMAP_LENGTH, (uint32_t)mbi->mmap_len);
	put32(base + MBI_MMAP_ADDR, (uint32_t)mbi->mmap);

	memcpy(base + (mbi->loader_name - mbi->info), loader_name, sizeof(loader_name));
	put32(base + MBI_LOADER_NAME, (uint32_t)mbi->loader_name);

	if (initrd) {
		uint8_t *m = base + (mbi->mods - mbi->info);

		memcpy(gpa_to_hva(vm, mbi->mod_start, initrd->size), initrd->data, initrd->size);
		put32(m, (uint32_t)mbi->mod_start);
		put32(m + 4, (uint32_t)(mbi->mod_start + initrd->size));
		put32(m + 8, (uint32_t)mbi->mod_string);
		strcpy((char *)base + (mbi->mod_string - mbi->info), initrd->path);
		put32(base + MBI_MODS_COUNT, 1);
		put32(base + MBI_MODS_ADDR, (uint32_t)mbi->mods);
		flags |= MBI_F_MODS;
	}
	put32(base + MBI_FLAGS, flags);
}

enum kernel_kind { KERNEL_MULTIBOOT, KERNEL_BZIMAGE, KERNEL_ELF };

int loader_load(struct vm *vm, const struct loader_args *a, struct x86_state *boot,
		char *err, size_t errlen)
{
	const char *name = ldr_kernel_name(a);
	struct ldr_blob initrd = { .path = a->initrd };
	enum kernel_kind kind;
	const uint8_t *file = NULL;
	const uint8_t *img;
	size_t size = 0;
	long off;
	int ret;

	if (a->image) {
		img = a->image;
		size = a->image_size;
		if (!size)
			return ldr_err(err, errlen, -ENOEXEC, "kernel '%s' is empty", name);
	} else if (a->kernel) {
		/* No RAM bound: an ELF file's debug sections need not fit, only its segments. */
		ret = ldr_map_file(a->kernel, "kernel", UINT64_MAX, &file, &size, err, errlen);
		if (ret)
			return ret;
		img = file;
	} else {
		return ldr_err(err, errlen, -EINVAL, "no kernel given");
	}

	/* Multiboot first: a multiboot kernel is often also an ELF file. */
	ret = ldr_mb_probe(img, size, name, &off, err, errlen);
	if (ret < 0)
		goto out;
	if (ret > 0) {
		kind = KERNEL_MULTIBOOT;
	} else if (loader_is_bzimage(img, size)) {
		/* Before the ELF test; a bzImage has a Linux setup header at 0x202. */
		kind = KERNEL_BZIMAGE;
	} else if (size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
		kind = KERNEL_ELF;
	} else {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "'%s' is not a bzImage, multiboot or ELF64 kernel", name);
		goto out;
	}

	if (a->initrd) {
		ret = ldr_map_file(a->initrd, "initrd", ram_total(vm), &initrd.data, &initrd.size,
				   err, errlen);
		if (ret)
			goto out;
	}
	switch (kind) {
	case KERNEL_MULTIBOOT:
		ret = ldr_multiboot(vm, img, size, a, a->initrd ? &initrd : NULL, boot, err,
				    errlen);
		break;
	case KERNEL_BZIMAGE:
		ret = ldr_bzimage(vm, img, size, a, a->initrd ? &initrd : NULL, boot, err,
				  errlen);
		break;
	case KERNEL_ELF:
		ret = ldr_elf64(vm, img, size, a, a->initrd ? &initrd : NULL, boot, err, errlen);
		break;
	}
out:
	ldr_unmap_file(initrd.data, initrd.size);
	ldr_unmap_file(file, size);
	return ret;
}

int ldr_with_initrd(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		    struct x86_state *boot, char *err, size_t errlen, ldr_format_fn fn)
{
	struct ldr_blob initrd = { .path = a->initrd };
	int ret;

	if (a->initrd) {
		ret = ldr_map_file(a->initrd, "initrd", ram_total(vm), &initrd.data, &initrd.size,
				   err, errlen);
		if (ret)
			return ret;
	}
	ret = fn(vm, img, size, a, a->initrd ? &initrd : NULL, boot, err, errlen);
	ldr_unmap_file(initrd.data, initrd.size);
	return ret;
}
