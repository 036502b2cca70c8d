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
 * Boot data: what the loaders write for the kernel besides its image.
 * Each block has a preferred address (the layout tandem always used, so
 * kernels linked at 1 MiB see the same addresses as before) and moves to
 * the lowest free usable RAM below 4 GiB when a kernel segment or the
 * initrd is there (a multiboot kernel linked at 0x8000, as QEMU takes).
 *  - the multiboot info with its memory map, module list and strings,
 *    preferred at LDR_INFO (kept below LDR_INFO_END when it can be);
 *  - for the plain ELF64 entry only, one LDR_TABLES_SIZE block: page
 *    tables (PML4, PDPT, 4 PDs), GDT, then the stack, preferred at
 *    LDR_PML4; the LDR_* addresses below are that block's default place,
 *    also used by the bzImage loader's fixed layout.
 * Kernel segments themselves must lie in RAM the memory map (e820.h)
 * calls usable; [0x9fc00, 0x100000) is the EBDA/VGA/BIOS/ACPI area.
 */
#define LDR_PML4		0x1000ull
#define LDR_PDPT		0x2000ull
#define LDR_PD			0x3000ull	/* 4 pages: 4 GiB of 2 MiB pages */
#define LDR_GDT			0x7000ull
#define LDR_STACK_TOP		0x9000ull	/* stack grows down from the info */
#define LDR_INFO		0x9000ull	/* multiboot info and its strings */
#define LDR_INFO_END		0x9f000ull
#define LDR_TABLES_SIZE		(LDR_STACK_TOP - LDR_PML4)
#define LDR_LOW_FLOOR		0x1000ull	/* [0, 4 KiB): real-mode IVT and BDA, left alone */
#define LDR_CMDLINE_MAX		0x10000ull	/* bytes with the NUL; QEMU sets none */

/* A range of guest-physical memory some boot data already occupies. */
struct ldr_range {
	uint64_t start, end;	/* [start, end) */
};

#define LDR_BOOT_END		0x100000ull	/* 1 MiB: the initrd goes at or above */
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

/* Refuse segments outside usable RAM (the e820 map); then copy them. */
int ldr_image_check(struct vm *vm, const struct ldr_image *im, const char *name, char *err,
		    size_t errlen);
void ldr_image_copy(struct vm *vm, const struct ldr_image *im);

/*
 * Put @size bytes (aligned to @align, a power of two) at @pref if that is
 * free, else at the lowest free address: inside one usable RAM entry of
 * the memory map, below 4 GiB, at or above LDR_LOW_FLOOR, clear of every
 * segment of @im and of @busy[0..nr_busy). 0 and the address in @out, or
 * -ENOSPC when nothing fits.
 */
int ldr_place(struct vm *vm, const struct ldr_image *im, const struct ldr_range *busy,
	      unsigned nr_busy, uint64_t size, uint64_t align, uint64_t pref, uint64_t *out);

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

/*
 * Lay out the info and the initrd (module 0) around @im's segments and
 * the @busy ranges the caller placed already (ELF64: its tables block).
 */
int ldr_mbi_plan(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		 const struct ldr_image *im, const struct ldr_range *busy, unsigned nr_busy,
		 struct ldr_mbi *mbi, char *err, size_t errlen);
void ldr_mbi_write(struct vm *vm, const struct loader_args *a, const struct ldr_blob *initrd,
		   const struct ldr_mbi *mbi);

/*
 * The board's ACPI tables (RSDP in the BIOS area, RSDT/XSDT, FADT with the
 * PM timer, FACS, MADT for vm->cfg.smp CPUs), for every kernel kind: test
 * kernels find them by the RSDP scan as on QEMU. Writes guest RAM: call it
 * last, after every check that may refuse the kernel.
 */
int ldr_acpi(struct vm *vm, char *err, size_t errlen);

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
