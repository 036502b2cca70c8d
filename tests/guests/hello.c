// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hello: the smallest guest. Checks the multiboot v1 hand-off (magic,
 * info flags, memory fields, memory map, command line) and that the
 * runtime got us into 64-bit long mode with the image loaded correctly.
 */
#include "guest.h"

const char guest_name[] = "hello";

/* Loader must copy .data and zero .bss (ELF memsz beyond filesz). */
static volatile uint32_t data_word = 0x5eed1e55;
static volatile uint8_t bss_block[256];

extern char guest_image_end[];		/* lib/guest.ld */

/* Is a NUL within @max bytes of @s? */
static bool terminated(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max; i++)
		if (!s[i])
			return true;
	return false;
}

static bool info_placed_sanely(uint64_t addr, uint64_t size)
{
	uint64_t ram_top = ((uint64_t)guest_mbi()->mem_upper + 1024) * 1024;

	if (addr == 0)
		return false;
	if (addr + size <= 0x100000)
		return true;
	return addr >= (uintptr_t)guest_image_end && addr + size <= ram_top;
}

static void check_mmap(const struct mb_info *mbi)
{
	uint64_t kernel_lo = 0x100000, kernel_hi = (uintptr_t)guest_image_end;
	uint32_t off = 0, entries = 0;
	bool sizes_ok = true, covers_kernel = false, has_low = false;

	if (!check(mbi->flags & MB_INFO_MMAP, "multiboot flags: memory map present (bit 6)"))
		return;
	/* Bound the walk: a broken map must not send us off into memory. */
	while (off + 24 <= mbi->mmap_length && entries < 64) {
		const struct mb_mmap_entry *e =
			(const void *)(uintptr_t)(mbi->mmap_addr + off);

		if (e->size < 20)
			sizes_ok = false;
		if (e->type == 1 && e->addr <= kernel_lo && e->addr + e->len >= kernel_hi)
			covers_kernel = true;
		if (e->type == 1 && e->addr == 0 && e->len >= 0x80000)
			has_low = true;
		entries++;
		off += e->size + 4;
		if (e->size < 20)
			break;
	}
	check(entries >= 2 && sizes_ok, "memory map: at least 2 well-formed entries");
	check(has_low, "memory map: available RAM at 0 (at least 512 KiB)");
	check(covers_kernel, "memory map: available RAM holds the image at 1 MiB");
}

void guest_main(void)
{
	const struct mb_info *mbi = guest_mbi();
	uint8_t bss_or = 0;
	unsigned i;

	guest_printf("Hello from tandem guest\n");

	check(guest_mb_magic == MB_BOOT_MAGIC, "multiboot magic in EAX is 0x%08x", MB_BOOT_MAGIC);
	check(info_placed_sanely(guest_mb_info_addr, sizeof(*mbi)),
	      "multiboot info (EBX) is in RAM, outside the loaded image");
	check(mbi->flags & MB_INFO_MEM, "multiboot flags: mem_lower/mem_upper valid (bit 0)");
	check(mbi->mem_lower > 0 && mbi->mem_lower <= 640, "mem_lower is 1..640 KiB");
	check(mbi->mem_upper > 0, "mem_upper > 0");
	check(!(mbi->flags & MB_INFO_CMDLINE) ||
	      (mbi->cmdline != 0 && terminated((const char *)(uintptr_t)mbi->cmdline, 4096)),
	      "cmdline (when flag bit 2 is set) is a NUL-terminated string");
	check_mmap(mbi);

	check(rdmsr(MSR_EFER) & EFER_LMA, "running in 64-bit long mode (EFER.LMA)");
	check((read_cr0() & (CR0_PG | CR0_PE)) == (CR0_PG | CR0_PE) && (read_cr4() & CR4_PAE),
	      "CR0.PG, CR0.PE and CR4.PAE set");
	check(data_word == 0x5eed1e55, ".data loaded from the image");
	for (i = 0; i < sizeof(bss_block); i++)
		bss_or |= bss_block[i];
	check(bss_or == 0, ".bss zeroed by the loader");
}
