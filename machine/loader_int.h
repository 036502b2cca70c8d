/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_LOADER_INT_H
#define TANDEM_LOADER_INT_H
/*
 * Private to machine/loader*.c: the low-memory layout the loaders own, the
 * parsed form of a kernel image, and the helpers shared between formats.
 *
 * Every loader runs in two phases: parse and check everything (image,
 * ranges, the boot data layout) without writing guest memory, then write.
 * So a refused kernel never leaves half an image in RAM.
 *
 * Error codes: -ENOEXEC the image is malformed or of an unsupported kind,
 * -ERANGE something does not fit where it must go (RAM, 4 GiB, boot area),
 * -E2BIG the command line is too long, -EIO/-ENOMEM/open's errno for files.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/e820.h"
#include "machine/loader.h"
#include "machine/memory.h"

/*
 * Guest-physical layout below 1 MiB. The page tables, GDT and stack are
 * only written for the ELF64 entry, but the whole range is refused to
 * kernel segments for both formats so the two boot paths share one rule.
 * [0, 0x1000) (real-mode IVT) stays usable; [0x9fc00, 0x100000) is the
 * EBDA/VGA/BIOS/ACPI area (machine/e820.h, board/acpi.h).
 */
#define LDR_BOOT_AREA_START	0x1000ull
#define LDR_BOOT_AREA_END	0x100000ull
#define LDR_PML4		0x1000ull
#define LDR_PDPT		0x2000ull
#define LDR_PD			0x3000ull	/* 4 pages: 4 GiB of 2 MiB pages */
#define LDR_GDT			0x7000ull
#define LDR_STACK_TOP		0x9000ull	/* stack grows down from the info */
#define LDR_INFO		0x9000ull	/* multiboot info and its strings */
#define LDR_INFO_END		0x9f000ull

#define LDR_4G			0x100000000ull
#define LDR_PAGE		0x1000ull

#define MB_HEADER_MAGIC		0x1BADB002u
#define MB_BOOT_MAGIC		0x2BADB002u
#define MB_SEARCH		8192u

/* One piece of the kernel to place: @filesz bytes from @src, then zeros. */
struct ldr_seg {
	uint64_t paddr;
	uint64_t vaddr;			/* ELF: to turn a virtual e_entry physical */
	uint64_t filesz;
	uint64_t memsz;
	const uint8_t *src;
};

struct ldr_image {
	struct ldr_seg *segs;		/* calloc'd, freed by ldr_image_free() */
	unsigned nr_segs;
	uint64_t entry;			/* physical */
	uint64_t end;			/* highest paddr + memsz */
};

/* A file mapped into memory (the initrd). */
struct ldr_blob {
	const char *path;
	const uint8_t *data;
	size_t size;
};

enum ldr_elf_mode {
	LDR_ELF_MULTIBOOT,	/* ELF32 i386 or ELF64 x86-64, entered in 32-bit mode */
	LDR_ELF_PLAIN64,	/* ELF64 x86-64 only, entered in long mode */
};

/* snprintf into @err (may be NULL) and return @ret. */
int ldr_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

const char *ldr_kernel_name(const struct loader_args *a);

/*
 * Map a regular, non-empty file of at most @max bytes read-only (checked
 * from its size before anything is read); @what is "kernel" or "initrd".
 * Undo with ldr_unmap_file().
 */
int ldr_map_file(const char *path, const char *what, uint64_t max, const uint8_t **data,
		 size_t *size, char *err, size_t errlen);
void ldr_unmap_file(const uint8_t *data, size_t size);

void ldr_image_free(struct ldr_image *im);
int ldr_image_add(struct ldr_image *im, uint64_t paddr, const uint8_t *src, uint64_t filesz,
		  uint64_t memsz, const char *name, char *err, size_t errlen);

/* Parse ELF program headers into @im (libelf plus our own bounds checks). */
int ldr_elf_parse(const uint8_t *img, size_t size, const char *name, enum ldr_elf_mode mode,
		  struct ldr_image *im, char *err, size_t errlen);

/* Refuse segments outside RAM or over the boot area; then copy them. */
int ldr_image_check(struct vm *vm, const struct ldr_image *im, const char *name, char *err,
		    size_t errlen);
void ldr_image_copy(struct vm *vm, const struct ldr_image *im);

/* The multiboot info, planned (checked) first and written afterwards. */
struct ldr_mbi {
	uint64_t info;
	uint64_t mmap, mmap_len;
	uint64_t mods;
	uint64_t loader_name;
	uint64_t mod_string;
	uint64_t cmdline;
	uint64_t end;
	uint64_t mod_start;		/* where the initrd goes */
	unsigned nr_mmap;
	struct e820_entry map[E820_MAX_ENTRIES];
};

int ldr_mbi_plan(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		 uint64_t kernel_end, struct ldr_mbi *mbi, char *err, size_t errlen);
void ldr_mbi_write(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		   const struct ldr_mbi *mbi);

/* Format back ends on an image in memory, with the initrd already read. */
int ldr_multiboot(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		  const struct ldr_blob *initrd, struct x86_state *boot, char *err,
		  size_t errlen);
int ldr_elf64(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
	      const struct ldr_blob *initrd, struct x86_state *boot, char *err, size_t errlen);

/*
 * Look for a multiboot header in the first 8 KiB: 1 and its offset in @off
 * if one has a valid checksum, 0 if there is no header magic at all, and
 * -ENOEXEC (with a message) for a magic whose header is broken.
 */
int ldr_mb_probe(const uint8_t *img, size_t size, const char *name, long *off, char *err,
		 size_t errlen);

/* For the public per-format entry points: read a->initrd, then call @fn. */
typedef int (*ldr_format_fn)(struct vm *vm, const uint8_t *img, size_t size,
			     const struct loader_args *a, const struct ldr_blob *initrd,
			     struct x86_state *boot, char *err, size_t errlen);
int ldr_with_initrd(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		    struct x86_state *boot, char *err, size_t errlen, ldr_format_fn fn);

#endif
