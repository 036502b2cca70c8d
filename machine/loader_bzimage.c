// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst, "64-bit BOOT PROTOCOL"; zero-page.rst for struct boot_params).
 * The guest-physical layout is in machine/linuxboot.h.
 *
 * Like the other loaders it runs in two phases: parse and check the
 * image, the command line, the initrd and every destination range, then
 * write. A refused kernel leaves guest RAM untouched.
 */
#include <errno.h>
#include <string.h>

#include "machine/e820.h"
#include "machine/linuxboot.h"
#include "machine/loader.h"
#include "machine/loader_int.h"
#include "machine/vm.h"

/*
 * Offsets of the setup header fields. The header sits at 0x1f1 both in
 * the image and in struct boot_params, so one set of offsets serves both.
 */
#define HDR_START		0x1f1
#define HDR_SETUP_SECTS		0x1f1	/* u8, 0 means 4 */
#define HDR_SYSSIZE		0x1f4	/* u32, 16-byte paragraphs */
#define HDR_VID_MODE		0x1fa	/* u16 */
#define HDR_BOOT_FLAG		0x1fe	/* u16, 0xaa55 */
#define HDR_JUMP		0x200	/* jmp short: byte 0x201 is the header's length */
#define HDR_MAGIC		0x202	/* "HdrS" */
#define HDR_VERSION		0x206	/* u16 */
#define HDR_TYPE_OF_LOADER	0x210	/* u8 */
#define HDR_LOADFLAGS		0x211	/* u8 */
#define HDR_RAMDISK_IMAGE	0x218	/* u32 */
#define HDR_RAMDISK_SIZE	0x21c	/* u32 */
#define HDR_HEAP_END_PTR	0x224	/* u16 */
#define HDR_EXT_LOADER_VER	0x226	/* u8 */
#define HDR_EXT_LOADER_TYPE	0x227	/* u8 */
#define HDR_CMD_LINE_PTR	0x228	/* u32 */
#define HDR_INITRD_ADDR_MAX	0x22c	/* u32, highest address of the initrd's last byte */
#define HDR_KERNEL_ALIGNMENT	0x230	/* u32 */
#define HDR_RELOCATABLE		0x234	/* u8 */
#define HDR_XLOADFLAGS		0x236	/* u16 */
#define HDR_CMDLINE_SIZE	0x238	/* u32, without the NUL */
#define HDR_HARDWARE_SUBARCH	0x23c	/* u32 */
#define HDR_SUBARCH_DATA	0x240	/* u64 */
#define HDR_SETUP_DATA		0x250	/* u64 */
#define HDR_PREF_ADDRESS	0x258	/* u64 */
#define HDR_INIT_SIZE		0x260	/* u32 */
#define HDR_MIN_END		0x264	/* a 2.12 header reaches at least past init_size */

/* struct boot_params outside the setup header. */
#define BP_SIZE			0x1000
#define BP_ACPI_RSDP_ADDR	0x070	/* u64, protocol 2.14+ */
#define BP_E820_ENTRIES		0x1e8	/* u8 */
#define BP_HDR_END		0x290	/* room for the setup header in boot_params */
#define BP_E820_TABLE		0x2d0	/* 128 x { u64 addr, u64 size, u32 type } */
#define BP_E820_MAX		128
#define BP_E820_ENTRY_SIZE	20

#define BOOT_FLAG_MAGIC		0xaa55
#define LOADFLAG_LOADED_HIGH	(1u << 0)
#define LOADFLAG_KEEP_SEGMENTS	(1u << 6)
#define LOADFLAG_CAN_USE_HEAP	(1u << 7)
#define XLF_KERNEL_64		(1u << 0)
#define LOADER_TYPE_UNKNOWN	0xff
#define VID_MODE_NORMAL		0xffff
/* Where the 16-bit setup code's heap would end; only read by that code. */
#define HEAP_END_PTR		0xde00
#define VERSION_ACPI_RSDP	0x020e

#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_PS		(1ull << 7)
#define PT_ENTRIES	512

/* GDT: two null slots, then __BOOT_CS (64-bit code) and __BOOT_DS (flat data). */
#define GDT_CODE64	0x00af9b000000ffffull
#define GDT_DATA	0x00cf93000000ffffull
/* The same descriptors in struct x86_seg's access-rights layout. */
#define ATTR_CODE64	0xa09b
#define ATTR_DATA	0xc093

/* The boot data below the kernel must not run into the page tables or each other. */
_Static_assert(LDR_PD + 4 * LDR_PAGE <= BZ_GDT, "page tables overlap the GDT");
_Static_assert(BZ_GDT + 4 * 8 <= BZ_STACK_TOP - LDR_PAGE, "GDT overlaps the boot stack");
_Static_assert(BZ_STACK_TOP <= BZ_ZERO_PAGE, "stack overlaps boot_params");
_Static_assert(BZ_ZERO_PAGE + BP_SIZE <= BZ_CMDLINE, "boot_params overlaps the command line");
_Static_assert(BZ_CMDLINE_END <= E820_EBDA_START, "boot data must be in e820 RAM");

/* What the checks found; everything the write phase needs. */
struct bz_plan {
	unsigned version;
	uint64_t setup_size;		/* real-mode part: (setup_sects + 1) * 512 */
	uint64_t kernel_size;		/* protected-mode part: syssize * 16 */
	size_t hdr_len;			/* bytes of setup header to copy */
	uint64_t kernel_end;		/* end of what the kernel may touch at boot */
	uint64_t initrd_addr;
	size_t cmdline_len;
	uint64_t rsdp;			/* the board's ACPI tables; 0: none */
	unsigned nr_e820;
	struct e820_entry e820[E820_MAX_ENTRIES];
};

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);	/* x86-64 host: already little-endian */
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int loader_is_bzimage(const uint8_t *img, size_t size)
{
	return size >= HDR_MAGIC + 4 && !memcmp(img + HDR_MAGIC, "HdrS", 4);
}

/* The image itself: header, protocol version, sizes, entry capabilities. */
static int check_header(const uint8_t *img, size_t size, const char *name, struct bz_plan *p,
			char *err, size_t errlen)
{
	unsigned sects;
	size_t hdr_end;

	if (!loader_is_bzimage(img, size))
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' is not a Linux bzImage (no \"HdrS\" setup header at 0x202)",
			       name);
	if (get16(img + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s': bzImage boot flag at 0x1fe is 0x%04x, not 0xaa55", name,
			       get16(img + HDR_BOOT_FLAG));
	if (size < HDR_VERSION + 2)
		return ldr_err(err, errlen, -ENOEXEC, "'%s' is truncated (%zu bytes)", name, size);
	p->version = get16(img + HDR_VERSION);
	if (p->version < BZ_MIN_VERSION)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' is a bzImage with boot protocol %u.%02u; tandem needs %u.%02u "
			       "or later (64-bit entry)", name, p->version >> 8, p->version & 0xff,
			       BZ_MIN_VERSION >> 8, BZ_MIN_VERSION & 0xff);
	/* The header's own length: the jump at 0x200 lands right after it. */
	hdr_end = HDR_MAGIC + img[HDR_JUMP + 1];
	if (hdr_end < HDR_MIN_END)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s': setup header ends at 0x%zx, too short for protocol %u.%02u",
			       name, hdr_end, p->version >> 8, p->version & 0xff);
	if (size < hdr_end)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' is truncated (%zu bytes, setup header ends at 0x%zx)", name,
			       size, hdr_end);
	/* Newer headers than boot_params has room for: the fields we know are a prefix. */
	p->hdr_len = (hdr_end < BP_HDR_END ? hdr_end : BP_HDR_END) - HDR_START;

	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	p->setup_size = (sects + 1ull) * 512;
	p->kernel_size = get32(img + HDR_SYSSIZE) * 16ull;
	if (!p->kernel_size)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s': bzImage header gives an empty kernel (syssize 0)", name);
	/* Files may carry more (signatures); the header's sizes must be there. */
	if (p->setup_size > size || p->kernel_size > size - p->setup_size)
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' is truncated (%zu bytes; its header says %llu)", name, size,
			       (unsigned long long)(p->setup_size + p->kernel_size));
	if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' is a zImage (not LOADED_HIGH); tandem boots bzImages only",
			       name);
	if (!(get16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return ldr_err(err, errlen, -ENOEXEC,
			       "'%s' has no 64-bit entry point (XLF_KERNEL_64 clear); tandem "
			       "starts Linux in long mode", name);
	return 0;
}

/*
 * Where the kernel will work before it reads the memory map: we load it
 * at 1 MiB and it decompresses to its run address, which for a
 * relocatable kernel is the load address rounded up to kernel_alignment
 * but never below pref_address (LOAD_PHYSICAL_ADDR), and for a fixed one
 * is pref_address; from there it needs init_size bytes. Everything of
 * ours (the initrd) must stay out of [1 MiB, kernel_end).
 */
static int check_kernel_room(struct vm *vm, const uint8_t *img, const char *name,
			     struct bz_plan *p, char *err, size_t errlen)
{
	uint64_t align = get32(img + HDR_KERNEL_ALIGNMENT);
	uint64_t pref = get64(img + HDR_PREF_ADDRESS);
	uint64_t init_size = get32(img + HDR_INIT_SIZE);
	uint64_t run, end;

	if (pref >= LDR_4G)
		return ldr_err(err, errlen, -ERANGE,
			       "'%s': preferred load address 0x%llx is above 4 GiB", name,
			       (unsigned long long)pref);
	if (img[HDR_RELOCATABLE]) {
		if (align < LDR_PAGE || align > (1ull << 30) || (align & (align - 1)))
			return ldr_err(err, errlen, -ENOEXEC,
				       "'%s': bad kernel_alignment 0x%llx", name,
				       (unsigned long long)align);
		run = align_up(BZ_LOAD_ADDR, align);
		if (run < pref)
			run = pref;
	} else {
		run = pref ? pref : BZ_LOAD_ADDR;
	}
	if (run < BZ_LOAD_ADDR)
		return ldr_err(err, errlen, -ERANGE,
			       "'%s': kernel wants to run at 0x%llx, below 1 MiB", name,
			       (unsigned long long)run);
	/* All below 2^32 + 2^32: no overflow. */
	end = run + init_size;
	if (end < BZ_LOAD_ADDR + p->kernel_size)
		end = BZ_LOAD_ADDR + p->kernel_size;
	if (!gpa_to_hva(vm, BZ_LOAD_ADDR, end - BZ_LOAD_ADDR))
		return ldr_err(err, errlen, -ERANGE,
			       "'%s' needs guest RAM from 0x%llx to 0x%llx (%llu MiB) to boot; "
			       "give the guest more memory", name, BZ_LOAD_ADDR,
			       (unsigned long long)end - 1, (unsigned long long)(end >> 20) + 1);
	p->kernel_end = end;
	return 0;
}

/* The end of the RAM region holding the kernel: the top of low memory. */
static uint64_t low_ram_end(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_ram && i < VM_MAX_RAM_REGIONS; i++) {
		const struct mem_region *r = &vm->ram[i];

		if (r->gpa <= BZ_LOAD_ADDR && BZ_LOAD_ADDR - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}

/*
 * The initrd goes as high as it may, page-aligned: below the end of low
 * RAM, below initrd_addr_max (its last byte's highest address) and below
 * 4 GiB (ramdisk_image is 32 bits), and above the kernel's window.
 */
static int plan_initrd(struct vm *vm, const uint8_t *img, const struct ldr_blob *initrd,
		       struct bz_plan *p, char *err, size_t errlen)
{
	uint64_t top = low_ram_end(vm), max = get32(img + HDR_INITRD_ADDR_MAX) + 1ull;
	uint64_t floor = align_up(p->kernel_end, LDR_PAGE);

	if (top > max)
		top = max;
	if (top > LDR_4G)
		top = LDR_4G;
	if (initrd->size > top || ((top - initrd->size) & ~(LDR_PAGE - 1)) < floor)
		return ldr_err(err, errlen, -ERANGE,
			       "initrd '%s' (%zu bytes) does not fit in guest RAM between the "
			       "kernel (up to 0x%llx) and 0x%llx; give the guest more memory",
			       initrd->path, initrd->size, (unsigned long long)floor,
			       (unsigned long long)top);
	p->initrd_addr = (top - initrd->size) & ~(LDR_PAGE - 1);
	return 0;
}

static int plan(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		const struct ldr_blob *initrd, struct bz_plan *p, char *err, size_t errlen)
{
	const char *name = ldr_kernel_name(a);
	uint64_t limit;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = check_header(img, size, name, p, err, errlen);
	if (ret)
		return ret;
	ret = check_kernel_room(vm, img, name, p, err, errlen);
	if (ret)
		return ret;

	p->cmdline_len = a->cmdline ? strlen(a->cmdline) : 0;
	limit = get32(img + HDR_CMDLINE_SIZE);
	if (limit > BZ_CMDLINE_END - BZ_CMDLINE - 1)
		limit = BZ_CMDLINE_END - BZ_CMDLINE - 1;
	if (p->cmdline_len > limit)
		return ldr_err(err, errlen, -E2BIG,
			       "kernel command line too long (%zu bytes; '%s' takes at most %llu)",
			       p->cmdline_len, name, (unsigned long long)limit);

	if (initrd) {
		ret = plan_initrd(vm, img, initrd, p, err, errlen);
		if (ret)
			return ret;
	}

	ret = e820_build(vm, p->e820, E820_MAX_ENTRIES);
	if (ret < 0)
		return ldr_err(err, errlen, ret, "'%s': the e820 memory map has too many entries",
			       name);
	p->nr_e820 = (unsigned)ret;

	if (!gpa_to_hva(vm, 0, BZ_CMDLINE_END))
		return ldr_err(err, errlen, -ERANGE,
			       "'%s': no guest RAM for the boot data at 0x0-0x%llx", name,
			       BZ_CMDLINE_END - 1);
	return 0;
}

/* 4 GiB identity map with 2 MiB pages: PML4[0] -> PDPT[0..3] -> 4 PDs. */
static void build_page_tables(uint8_t *low)
{
	uint64_t *pml4 = (uint64_t *)(low + LDR_PML4);
	uint64_t *pdpt = (uint64_t *)(low + LDR_PDPT);
	uint64_t *pd = (uint64_t *)(low + LDR_PD);

	memset(pml4, 0, LDR_PAGE);
	memset(pdpt, 0, LDR_PAGE);
	pml4[0] = LDR_PDPT | PTE_P | PTE_RW;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (LDR_PD + i * LDR_PAGE) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * PT_ENTRIES; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

static void write_boot_params(uint8_t *bp, const uint8_t *img, const struct ldr_blob *initrd,
			      const struct bz_plan *p)
{
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, img + HDR_START, p->hdr_len);

	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNKNOWN;
	bp[HDR_EXT_LOADER_VER] = 0;
	bp[HDR_EXT_LOADER_TYPE] = 0;
	bp[HDR_LOADFLAGS] = (uint8_t)((bp[HDR_LOADFLAGS] | LOADFLAG_CAN_USE_HEAP) &
				      ~LOADFLAG_KEEP_SEGMENTS);
	put16(bp + HDR_HEAP_END_PTR, HEAP_END_PTR);
	put16(bp + HDR_VID_MODE, VID_MODE_NORMAL);
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)BZ_CMDLINE);
	put32(bp + HDR_RAMDISK_IMAGE, initrd ? (uint32_t)p->initrd_addr : 0);
	put32(bp + HDR_RAMDISK_SIZE, initrd ? (uint32_t)initrd->size : 0);
	/* A plain PC, and no setup_data list: never pass on what the image holds. */
	put32(bp + HDR_HARDWARE_SUBARCH, 0);
	put64(bp + HDR_SUBARCH_DATA, 0);
	put64(bp + HDR_SETUP_DATA, 0);
	if (p->version >= VERSION_ACPI_RSDP)
		put64(bp + BP_ACPI_RSDP_ADDR, p->rsdp);

	bp[BP_E820_ENTRIES] = (uint8_t)p->nr_e820;
	for (unsigned i = 0; i < p->nr_e820 && i < BP_E820_MAX; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

		put64(e, p->e820[i].addr);
		put64(e + 8, p->e820[i].size);
		put32(e + 16, p->e820[i].type);
	}
}

static void seg_flat(struct x86_seg *s, uint16_t sel, uint32_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attr = attr;
}

/* The 64-bit protocol's entry state, RSI = boot_params. */
static void set_boot_state(struct x86_state *boot)
{
	x86_state_flat32(boot);
	boot->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	boot->cr4 = X86_CR4_PAE;
	boot->efer = X86_EFER_LME | X86_EFER_LMA;
	boot->cr3 = LDR_PML4;
	for (int i = 0; i < S_NR; i++)
		seg_flat(&boot->seg[i], BZ_BOOT_DS, ATTR_DATA);
	seg_flat(&boot->seg[S_CS], BZ_BOOT_CS, ATTR_CODE64);
	boot->gdt.base = BZ_GDT;
	boot->gdt.limit = 4 * 8 - 1;
	boot->rip = BZ_LOAD_ADDR + BZ_ENTRY_64;
	boot->rflags = X86_RFLAGS_FIXED;	/* IF clear: interrupts off */
	boot->gpr[R_SP] = BZ_STACK_TOP;
	boot->gpr[R_SI] = BZ_ZERO_PAGE;
}

int ldr_bzimage(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		const struct ldr_blob *initrd, struct x86_state *boot, char *err, size_t errlen)
{
	static const uint64_t gdt[] = { 0, 0, GDT_CODE64, GDT_DATA };
	struct bz_plan p;
	uint8_t *low;
	int ret;

	_Static_assert(sizeof(gdt) == 4 * 8, "GDT size");
	_Static_assert(BZ_BOOT_CS == 2 * 8 && BZ_BOOT_DS == 3 * 8, "boot selectors");

	ret = plan(vm, img, size, a, initrd, &p, err, errlen);
	if (ret)
		return ret;
	/* Checks its own arguments before writing anything: the last thing that may fail. */
	ret = vm_firmware_tables(vm, &p.rsdp, err, errlen);
	if (ret)
		return ret;

	/* Every range below was checked by plan(). */
	low = gpa_to_hva(vm, 0, BZ_CMDLINE_END);
	memcpy(gpa_to_hva(vm, BZ_LOAD_ADDR, p.kernel_size), img + p.setup_size, p.kernel_size);
	if (initrd)
		memcpy(gpa_to_hva(vm, p.initrd_addr, initrd->size), initrd->data, initrd->size);
	write_boot_params(low + BZ_ZERO_PAGE, img, initrd, &p);
	memset(low + BZ_CMDLINE, 0, BZ_CMDLINE_END - BZ_CMDLINE);
	if (p.cmdline_len)
		memcpy(low + BZ_CMDLINE, a->cmdline, p.cmdline_len);
	build_page_tables(low);
	memset(low + BZ_GDT, 0, BZ_STACK_TOP - BZ_GDT);
	memcpy(low + BZ_GDT, gdt, sizeof(gdt));
	set_boot_state(boot);
	return 0;
}

int loader_bzimage(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
		   struct x86_state *boot, char *err, size_t errlen)
{
	return ldr_with_initrd(vm, img, size, a, boot, err, errlen, ldr_bzimage);
}
