/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_LOADER_H
#define TANDEM_LOADER_H
/*
 * Kernel loaders. Each checks the image completely before touching guest
 * memory and reports one clear line in @err on failure (-errno returned).
 *
 *  - multiboot v1 (header in the first 8 KiB; ELF32/ELF64 program headers
 *    or the a.out address kludge): 32-bit flat protected mode at the entry,
 *    EAX = 0x2BADB002, EBX = the multiboot info (memory map, cmdline,
 *    the initrd as module 0), per the multiboot 0.6.96 spec.
 *  - plain ELF64 (no multiboot header): loaded by its PT_LOAD segments
 *    (physical addresses), entered in 64-bit long mode with the first
 *    4 GiB identity-mapped, RDI = EBX = multiboot info, EAX = 0x2BADB002.
 * Segments may lie anywhere in usable RAM (also below 1 MiB: a kernel
 * linked at 0x8000 loads as on QEMU); the boot data moves out of their way.
 * Every kind also gets the board's ACPI tables (RSDP at 0xf0000).
 */
#include <stddef.h>
#include <stdint.h>

#include "machine/x86_state.h"

struct vm;

struct loader_args {
	const char *kernel;		/* path */
	const void *image;		/* or an in-memory image (demo guest) */
	size_t image_size;
	const char *cmdline;
	const char *initrd;
};

int loader_load(struct vm *vm, const struct loader_args *a, struct x86_state *boot,
		char *err, size_t errlen);

/* Individual formats, on an image already in memory. */
int loader_multiboot(struct vm *vm, const uint8_t *img, size_t size,
		     const struct loader_args *a, struct x86_state *boot,
		     char *err, size_t errlen);
int loader_elf64(struct vm *vm, const uint8_t *img, size_t size,
		 const struct loader_args *a, struct x86_state *boot,
		 char *err, size_t errlen);
/* 1 if @img has a multiboot v1 header in its first 8 KiB. */
int loader_is_multiboot(const uint8_t *img, size_t size);

#endif
