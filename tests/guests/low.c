// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * low: a multiboot kernel linked and loaded at 0x8000, below 1 MiB, as
 * small test kernels for QEMU often are. The loader must put the image
 * there (every byte of .data, .bss zeroed) and its own boot data (the
 * info, memory map, command line) anywhere but over the image: the image
 * covers 0x9000, where tandem's multiboot info usually goes.
 *
 * Not run on QEMU (7.2): its multiboot loader puts the info at 0x9500
 * whatever the kernel's layout, then copies the kernel over it (the span
 * from the lowest to the highest segment, gaps zero-filled), so a kernel
 * at 0x8000 larger than 4 KiB finds an all-zero info there.
 */
#include "guest.h"

const char guest_name[] = "low";

extern char guest_image_start[], guest_image_end[];	/* lib/guest.ld */

static volatile uint32_t data_word = 0x10ad10ad;
static volatile uint8_t bss_block[512];

static bool clear_of_image(uint64_t addr, uint64_t len)
{
	return addr + len <= (uintptr_t)guest_image_start || addr >= (uintptr_t)guest_image_end;
}

void guest_main(void)
{
	const struct mb_info *mbi = guest_mbi();
	uintptr_t rip;
	bool zero = true, mmap_ok = true;

	asm volatile("lea 0(%%rip), %0" : "=r"(rip));
	guest_printf("image linked at %p\n", (void *)guest_image_start);
	check(rip >= (uintptr_t)guest_image_start && rip < (uintptr_t)guest_image_end &&
	      rip < 0x100000, "running from the image below 1 MiB");
	check((uintptr_t)&data_word < 0x100000, ".data below 1 MiB too");
	check(guest_mb_magic == MB_BOOT_MAGIC, "multiboot magic in EAX");
	check(data_word == 0x10ad10ad, ".data loaded");
	for (unsigned i = 0; i < sizeof(bss_block); i++)
		zero &= bss_block[i] == 0;
	check(zero, ".bss zeroed");
	check(clear_of_image(guest_mb_info_addr, sizeof(*mbi)), "multiboot info clear of the image");
	check((mbi->flags & MB_INFO_MEM) && mbi->mem_lower >= 600,
	      "multiboot info: mem_lower present (>= 600 KiB)");
	if (check(mbi->flags & MB_INFO_MMAP, "multiboot info: memory map present")) {
		uint32_t off = 0;
		unsigned n = 0;

		mmap_ok = clear_of_image(mbi->mmap_addr, mbi->mmap_length);
		while (off + 24 <= mbi->mmap_length && n < 64) {
			const struct mb_mmap_entry *e =
				(const void *)(uintptr_t)(mbi->mmap_addr + off);

			/* The image's RAM is usable RAM in the map. */
			if (e->type == 1 && e->addr <= (uintptr_t)guest_image_start &&
			    e->addr + e->len >= (uintptr_t)guest_image_end)
				n += 100;
			off += e->size + 4;
			n++;
		}
		check(mmap_ok && n >= 100, "memory map clear of the image and lists it as RAM");
	}
	if (mbi->flags & MB_INFO_CMDLINE)
		check(clear_of_image(mbi->cmdline, 1), "command line clear of the image");
	else
		check(true, "command line clear of the image");
}
