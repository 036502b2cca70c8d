// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Multiboot v1 (specification 0.6.96): the header, the a.out address
 * kludge, and the 32-bit flat protected-mode entry. ELF program headers
 * are parsed by loader_elf.c; the info structure is built in loader.c.
 */
#include <errno.h>
#include <string.h>

#include "machine/loader.h"
#include "machine/loader_int.h"
#include "machine/vm.h"

/* Header flags. The low 16 bits are requirements, the high 16 optional. */
#define MBH_PAGE_ALIGN		(1u << 0)	/* modules page-aligned: we always do */
#define MBH_MEMORY_INFO		(1u << 1)	/* mem_* and mmap: always provided */
#define MBH_VIDEO_MODE		(1u << 2)	/* no framebuffer: accepted, left absent */
#define MBH_REQUIRED_KNOWN	(MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE)
#define MBH_REQUIRED_MASK	0xffffu
#define MBH_AOUT_KLUDGE		(1u << 16)

#define MBH_SIZE		12	/* magic, flags, checksum */
#define MBH_AOUT_SIZE		32	/* plus the five address fields */

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);	/* the image may be unaligned (a->image) */
	return v;
}

int ldr_mb_probe(const uint8_t *img, size_t size, const char *name, long *off, char *err,
		 size_t errlen)
{
	size_t limit = size < MB_SEARCH ? size : MB_SEARCH;
	long first = -1;

	/* The whole 12-byte header must lie in the first 8 KiB, 4-byte aligned. */
	for (size_t o = 0; o + 4 <= limit; o += 4) {
		if (get32(img + o) != MB_HEADER_MAGIC)
			continue;
		if (first < 0)
			first = (long)o;
		if (o + MBH_SIZE <= limit &&
		    (uint32_t)(MB_HEADER_MAGIC + get32(img + o + 4) + get32(img + o + 8)) == 0) {
			*off = (long)o;
			return 1;
		}
	}
	if (first < 0)
		return 0;
	/*
	 * A magic without a valid header almost always is a kernel build
	 * mistake; booting the file some other way would hide it.
	 */
	*off = first;
	if ((size_t)first + MBH_SIZE > size)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': truncated multiboot header at offset 0x%lx", name,
			       first);
	if ((size_t)first + MBH_SIZE > limit)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': multiboot header at offset 0x%lx crosses the 8 KiB "
			       "limit", name, first);
	return ldr_err(err, errlen, -ENOEXEC,
		       "kernel '%s': bad multiboot header checksum at offset 0x%lx", name, first);
}

int loader_is_multiboot(const uint8_t *img, size_t size)
{
	long off;

	return ldr_mb_probe(img, size, "", &off, NULL, 0) == 1;
}

/*
 * The a.out kludge: the header says where it itself is loaded
 * (header_addr), which gives the file offset of load_addr. Every address
 * is 32-bit, every length is checked against the file before use.
 */
static int mb_aout(const uint8_t *img, size_t size, size_t off, const struct mb_header *h,
		   const char *name, struct ldr_image *im, char *err, size_t errlen)
{
	uint64_t delta, file_off, avail, load_len, mem_len;

	if (h->load_addr > h->header_addr)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': multiboot load_addr 0x%x is above header_addr 0x%x",
			       name, h->load_addr, h->header_addr);
	delta = h->header_addr - h->load_addr;
	if (delta > off)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': multiboot load_addr 0x%x is before the start of the "
			       "file", name, h->load_addr);
	file_off = off - delta;
	avail = size - file_off;
	if (!h->load_end_addr) {
		load_len = avail;	/* text and data: the rest of the file */
	} else {
		if (h->load_end_addr < h->load_addr)
			return ldr_err(err, errlen, -ENOEXEC,
				       "kernel '%s': multiboot load_end_addr 0x%x is below "
				       "load_addr 0x%x", name, h->load_end_addr, h->load_addr);
		load_len = h->load_end_addr - h->load_addr;
		if (load_len > avail)
			return ldr_err(err, errlen, -ENOEXEC,
				       "kernel '%s': multiboot load_end_addr 0x%x is beyond the "
				       "end of the file", name, h->load_end_addr);
	}
	mem_len = load_len;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + load_len)
			return ldr_err(err, errlen, -ENOEXEC,
				       "kernel '%s': multiboot bss_end_addr 0x%x is below the end "
				       "of the loaded image", name, h->bss_end_addr);
		mem_len = h->bss_end_addr - h->load_addr;
	}
	if (h->load_addr + mem_len > LDR_4G)
		return ldr_err(err, errlen, -ERANGE,
			       "kernel '%s': multiboot image at 0x%x extends beyond 4 GiB", name,
			       h->load_addr);
	im->entry = h->entry_addr;
	return ldr_image_add(im, h->load_addr, img + file_off, load_len, mem_len, name, err,
			     errlen);
}

int ldr_multiboot(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		  const struct ldr_blob *initrd, struct x86_state *boot, char *err,
		  size_t errlen)
{
	const char *name = ldr_kernel_name(a);
	struct ldr_image im = { 0 };
	struct mb_header h = { 0 };
	struct ldr_mbi mbi;
	uint32_t unknown;
	long off;
	int ret;

	ret = ldr_mb_probe(img, size, name, &off, err, errlen);
	if (ret == 0)
		return ldr_err(err, errlen, -ENOEXEC, "kernel '%s' has no multiboot header", name);
	if (ret < 0)
		return ret;
	h.magic = get32(img + off);
	h.flags = get32(img + off + 4);
	h.checksum = get32(img + off + 8);
	/* The spec: refuse requirements we do not know, rather than boot wrongly. */
	unknown = h.flags & MBH_REQUIRED_MASK & ~MBH_REQUIRED_KNOWN;
	if (unknown)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': multiboot header requires unknown features "
			       "(flags 0x%x)", name, unknown);

	if (h.flags & MBH_AOUT_KLUDGE) {
		/* The spec has the address fields win over ELF headers when present. */
		if ((size_t)off + MBH_AOUT_SIZE > size)
			return ldr_err(err, errlen, -ENOEXEC,
				       "kernel '%s': truncated multiboot header at offset 0x%lx",
				       name, off);
		h.header_addr = get32(img + off + 12);
		h.load_addr = get32(img + off + 16);
		h.load_end_addr = get32(img + off + 20);
		h.bss_end_addr = get32(img + off + 24);
		h.entry_addr = get32(img + off + 28);
		ret = mb_aout(img, size, (size_t)off, &h, name, &im, err, errlen);
	} else {
		ret = ldr_elf_parse(img, size, name, LDR_ELF_MULTIBOOT, &im, err, errlen);
	}
	if (ret)
		goto out;
	ret = ldr_image_check(vm, &im, name, err, errlen);
	if (ret)
		goto out;
	ret = ldr_mbi_plan(vm, a, initrd, &im, NULL, 0, &mbi, err, errlen);
	if (ret)
		goto out;
	/* Checks its own arguments before writing anything: the last thing that may fail. */
	ret = ldr_acpi(vm, err, errlen);
	if (ret)
		goto out;

	/* Everything checked: from here on nothing can fail. */
	ldr_image_copy(vm, &im);
	ldr_mbi_write(vm, a, initrd, &mbi);
	x86_state_flat32(boot);
	boot->gpr[R_AX] = MB_BOOT_MAGIC;
	boot->gpr[R_BX] = mbi.info;
	boot->rip = im.entry;
out:
	ldr_image_free(&im);
	return ret;
}

int loader_multiboot(struct vm *vm, const uint8_t *img, size_t size,
		     const struct loader_args *a, struct x86_state *boot,
		     char *err, size_t errlen)
{
	return ldr_with_initrd(vm, img, size, a, boot, err, errlen, ldr_multiboot);
}
