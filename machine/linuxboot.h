/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_LINUXBOOT_H
#define TANDEM_LINUXBOOT_H
/*
 * Linux bzImage loader: the x86 boot protocol's 64-bit entry
 * (Documentation/arch/x86/boot.rst), with the board's e820 map and ACPI
 * tables. Guest-physical layout it writes (all below 1 MiB, in e820 RAM
 * that Linux reclaims once it has copied what it needs):
 *
 *   0x01000-0x06fff  page tables: first 4 GiB identity-mapped, 2 MiB pages
 *                    (LDR_PML4/LDR_PDPT/LDR_PD of loader_int.h)
 *   0x07000          GDT: null, null, __BOOT_CS 0x10 (64-bit code),
 *                    __BOOT_DS 0x18 (flat data)
 *   0x08000-0x08fff  a boot stack (RSP = 0x9000; the kernel sets its own)
 *   0x10000          struct boot_params ("zero page"), RSI at entry
 *   0x20000          kernel command line (at most cmdline_size bytes + NUL)
 *   0xe0000-0xfffff  ACPI tables (the board's, board/acpi.h), e820-reserved
 *   0x100000         the protected-mode kernel; entry startup_64 = +0x200
 *   top of low RAM   the initrd, page-aligned, below initrd_addr_max and
 *                    above the kernel's init_size window
 */
#include <stddef.h>
#include <stdint.h>

#include "machine/loader.h"
#include "machine/x86_state.h"

struct vm;
struct ldr_blob;

#define BZ_GDT			0x7000ull
#define BZ_STACK_TOP		0x9000ull
#define BZ_ZERO_PAGE		0x10000ull
#define BZ_CMDLINE		0x20000ull
#define BZ_CMDLINE_END		0x30000ull
#define BZ_LOAD_ADDR		0x100000ull
#define BZ_ENTRY_64		0x200ull	/* startup_64 - startup_32 */
#define BZ_BOOT_CS		0x10
#define BZ_BOOT_DS		0x18
/* Oldest boot protocol with xloadflags, hence with a 64-bit entry point. */
#define BZ_MIN_VERSION		0x020c

/* 1 if @img carries a Linux setup header ("HdrS" at 0x202). */
int loader_is_bzimage(const uint8_t *img, size_t size);

/* Load a bzImage (reads a->initrd) and set @boot to its 64-bit entry state. */
int loader_bzimage(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		   struct x86_state *boot, char *err, size_t errlen);

/* The same with the initrd already read (NULL: none), for loader_load()'s dispatch. */
int ldr_bzimage(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		const struct ldr_blob *initrd, struct x86_state *boot, char *err, size_t errlen);

#endif
