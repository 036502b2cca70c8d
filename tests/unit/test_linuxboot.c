// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of Linux boot support: the bzImage loader, the e820 map and
 * the ACPI tables. Images are built here by filling the setup header by
 * hand; offsets are spelled out as numbers from the boot protocol
 * (Documentation/arch/x86/boot.rst, zero-page.rst) and the ACPI spec
 * rather than taken from the code under test, so that a wrong offset
 * there cannot hide behind the same wrong offset here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "board/acpi.h"
#include "machine/e820.h"
#include "machine/linuxboot.h"
#include "machine/loader.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define MiB		(1ull << 20)
#define GiB		(1ull << 30)
#define RAM_SIZE	(64 * MiB)
#define ZP		0x10000ull	/* where the loader promises boot_params */
#define SETUP_SECTS	4
#define SETUP_SIZE	((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE	0x3000u		/* protected-mode part of the fake image */
#define PREF_ADDR	0x1000000u	/* 16 MiB, like LOAD_PHYSICAL_ADDR */
#define INIT_SIZE	0x800000u	/* 8 MiB */

static char tmpdir[64];

/* ---- helpers ---- */

static const char *tmp_path(const char *name)
{
	static char paths[8][256];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");

	CU_ASSERT_FATAL(f != NULL);
	if (len)
		CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
	fclose(f);
	return path;
}

/* The PC board's tables, as the loaders get them (board/pc.c does the same). */
static int test_firmware_tables(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen)
{
	int ret = acpi_build(vm, vm->cfg.smp ? vm->cfg.smp : 1, err, errlen);

	*rsdp = ret ? 0 : ACPI_RSDP_ADDR;
	return ret;
}

static const struct vm_board test_board = {
	.name = "test",
	.firmware_tables = test_firmware_tables,
};

static void vm_setup(struct vm *vm, uint64_t ram)
{
	memset(vm, 0, sizeof(*vm));
	vm->board_ops = &test_board;
	CU_ASSERT_FATAL(vm_mem_init(vm, ram) == 0);
	/* Garbage in the first 64 MiB, so that "zeroed" and "untouched" mean something. */
	memset(vm->ram[0].host, 0xcc, vm->ram[0].size < 64 * MiB ? vm->ram[0].size : 64 * MiB);
}

static uint8_t rd8(struct vm *vm, uint64_t gpa)
{
	uint8_t v = 0xee;

	CU_ASSERT(vm_mem_read(vm, gpa, &v, 1) == 0);
	return v;
}

static uint16_t rd16(struct vm *vm, uint64_t gpa)
{
	uint16_t v = 0xeeee;

	CU_ASSERT(vm_mem_read(vm, gpa, &v, 2) == 0);
	return v;
}

static uint32_t rd32(struct vm *vm, uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	CU_ASSERT(vm_mem_read(vm, gpa, &v, 4) == 0);
	return v;
}

static uint64_t rd64(struct vm *vm, uint64_t gpa)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	CU_ASSERT(vm_mem_read(vm, gpa, &v, 8) == 0);
	return v;
}

static int guest_all(struct vm *vm, uint64_t gpa, uint8_t byte, size_t len)
{
	const uint8_t *p = gpa_to_hva(vm, gpa, len);

	if (!p)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] != byte)
			return 0;
	return 1;
}

static uint8_t sum_guest(struct vm *vm, uint64_t gpa, uint32_t len)
{
	const uint8_t *p = gpa_to_hva(vm, gpa, len);
	uint8_t s = 0;

	CU_ASSERT_FATAL(p != NULL);
	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ---- fake bzImage ---- */

struct bz_spec {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t init_size;
	uint64_t pref;
};

static struct bz_spec bz_default(void)
{
	struct bz_spec s = {
		.version = 0x020f, .loadflags = 0x01, .xloadflags = 0x0003, .relocatable = 1,
		.cmdline_size = 2047, .initrd_addr_max = 0x7fffffff, .init_size = INIT_SIZE,
		.pref = PREF_ADDR,
	};
	return s;
}

/* A 4-sector setup part then KERNEL_SIZE bytes of pattern; caller frees. */
static uint8_t *build_bz(const struct bz_spec *s, size_t *size)
{
	size_t len = SETUP_SIZE + KERNEL_SIZE;
	uint8_t *b = calloc(1, len);

	CU_ASSERT_FATAL(b != NULL);
	b[0x1f1] = SETUP_SECTS;
	w16(b + 0x1f2, 1);			/* root_flags: copied through */
	w32(b + 0x1f4, KERNEL_SIZE / 16);	/* syssize */
	w16(b + 0x1fa, 0x1234);			/* vid_mode: the loader sets "normal" */
	w16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;			/* jmp short past the header: end 0x26c */
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	w16(b + 0x206, s->version);
	w16(b + 0x20e, 0x0345);			/* kernel_version pointer: copied */
	b[0x210] = 0x00;
	b[0x211] = s->loadflags;
	w32(b + 0x214, 0x100000);		/* code32_start */
	w32(b + 0x22c, s->initrd_addr_max);
	w32(b + 0x230, 0x200000);		/* kernel_alignment */
	b[0x234] = s->relocatable;
	w16(b + 0x236, s->xloadflags);
	w32(b + 0x238, s->cmdline_size);
	w32(b + 0x23c, 3);			/* hardware_subarch: must not pass through */
	w64(b + 0x250, 0x123456);		/* setup_data: must not pass through */
	w64(b + 0x258, s->pref);
	w32(b + 0x260, s->init_size);
	w32(b + 0x264, 0x190);			/* handover_offset: copied */
	for (unsigned i = 0; i < KERNEL_SIZE; i++)
		b[SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
	*size = len;
	return b;
}

static int load_bz(struct vm *vm, const uint8_t *img, size_t size, const char *cmdline,
		   const char *initrd, struct x86_state *boot, char *err, size_t errlen)
{
	struct loader_args a = { .kernel = "vmlinuz-test", .image = img, .image_size = size,
				 .cmdline = cmdline, .initrd = initrd };

	err[0] = 0;
	return loader_bzimage(vm, img, size, &a, boot, err, errlen);
}

/* Translate @va through the guest's 4-level page tables at @cr3; ~0 when unmapped. */
static uint64_t walk(struct vm *vm, uint64_t cr3, uint64_t va)
{
	uint64_t e = rd64(vm, (cr3 & ~0xfffull) + ((va >> 39) & 511) * 8);

	if (!(e & 1))
		return ~0ull;
	e = rd64(vm, (e & 0xffffffffff000ull) + ((va >> 30) & 511) * 8);
	if (!(e & 1))
		return ~0ull;
	if (e & 0x80)
		return (e & 0xfffffc0000000ull) | (va & (GiB - 1));
	e = rd64(vm, (e & 0xffffffffff000ull) + ((va >> 21) & 511) * 8);
	if (!(e & 1))
		return ~0ull;
	if (e & 0x80)
		return (e & 0xfffffffe00000ull) | (va & (2 * MiB - 1));
	e = rd64(vm, (e & 0xffffffffff000ull) + ((va >> 12) & 511) * 8);
	if (!(e & 1))
		return ~0ull;
	return (e & 0xffffffffff000ull) | (va & 0xfff);
}

/* ---- bzImage: a successful load ---- */

static void test_bz_probe(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img = build_bz(&s, &size);

	CU_ASSERT_EQUAL(loader_is_bzimage(img, size), 1);
	CU_ASSERT_EQUAL(loader_is_bzimage(img, 0x205), 0);	/* "HdrS" cut short */
	img[0x203] = 'x';
	CU_ASSERT_EQUAL(loader_is_bzimage(img, size), 0);
	free(img);
}

static void test_bz_load(void)
{
	static const char cmdline[] = "console=ttyS0 panic=-1 quiet";
	struct bz_spec s = bz_default();
	uint8_t rd[100000];
	struct x86_state boot;
	char err[256];
	struct vm vm;
	size_t size;
	uint8_t *img = build_bz(&s, &size);
	uint32_t rd_addr, rd_size;
	const char *rd_path;

	for (unsigned i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ (i >> 8));
	rd_path = write_file("initrd", rd, sizeof(rd));
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(load_bz(&vm, img, size, cmdline, rd_path, &boot, err,
				      sizeof(err)), 0);

	/* The protected-mode kernel at 1 MiB, byte for byte. */
	CU_ASSERT(memcmp(gpa_to_hva(&vm, 0x100000, KERNEL_SIZE), img + SETUP_SIZE,
			 KERNEL_SIZE) == 0);

	/* boot_params: the image's setup header, then the loader's fields. */
	CU_ASSERT(guest_all(&vm, ZP, 0, 0x70));			/* screen_info etc. zeroed */
	CU_ASSERT(memcmp(gpa_to_hva(&vm, ZP + 0x202, 4), "HdrS", 4) == 0);
	CU_ASSERT_EQUAL(rd16(&vm, ZP + 0x206), 0x020f);
	CU_ASSERT_EQUAL(rd16(&vm, ZP + 0x1f2), 1);
	CU_ASSERT_EQUAL(rd16(&vm, ZP + 0x20e), 0x0345);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x264), 0x190);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x260), INIT_SIZE);
	CU_ASSERT_EQUAL(rd16(&vm, ZP + 0x1fa), 0xffff);		/* vid_mode: normal */
	CU_ASSERT_EQUAL(rd8(&vm, ZP + 0x210), 0xff);		/* type_of_loader */
	CU_ASSERT_EQUAL(rd8(&vm, ZP + 0x211) & 0x81, 0x81);	/* LOADED_HIGH | CAN_USE_HEAP */
	CU_ASSERT(rd16(&vm, ZP + 0x224) != 0);			/* heap_end_ptr */
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x23c), 0);		/* hardware_subarch: PC */
	CU_ASSERT_EQUAL(rd64(&vm, ZP + 0x250), 0);		/* no setup_data */
	CU_ASSERT_EQUAL(rd64(&vm, ZP + 0x070), 0xf0000);	/* acpi_rsdp_addr (2.14+) */
	CU_ASSERT(guest_all(&vm, ZP + 0x26c, 0, 0x290 - 0x26c)); /* past the header */

	/* Command line. */
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x228), 0x20000);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x0c8), 0);		/* ext_cmd_line_ptr */
	CU_ASSERT_STRING_EQUAL((const char *)gpa_to_hva(&vm, 0x20000, sizeof(cmdline)),
			       cmdline);

	/* The initrd: page-aligned, as high as possible, clear of the kernel's window. */
	rd_addr = rd32(&vm, ZP + 0x218);
	rd_size = rd32(&vm, ZP + 0x21c);
	CU_ASSERT_EQUAL(rd_size, sizeof(rd));
	CU_ASSERT_EQUAL(rd_addr & 0xfff, 0);
	CU_ASSERT(rd_addr >= PREF_ADDR + INIT_SIZE);
	CU_ASSERT(rd_addr + rd_size <= RAM_SIZE);
	CU_ASSERT(rd_addr + rd_size > RAM_SIZE - 0x1000);
	CU_ASSERT(memcmp(gpa_to_hva(&vm, rd_addr, sizeof(rd)), rd, sizeof(rd)) == 0);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x0c0), 0);		/* ext_ramdisk_image */

	/* Entry state: 64-bit protocol. */
	CU_ASSERT_EQUAL(boot.rip, 0x100200);
	CU_ASSERT_EQUAL(boot.gpr[R_SI], ZP);
	CU_ASSERT_EQUAL(boot.rflags & X86_RFLAGS_IF, 0);
	CU_ASSERT((boot.cr0 & (X86_CR0_PE | X86_CR0_PG)) == (X86_CR0_PE | X86_CR0_PG));
	CU_ASSERT(boot.cr4 & X86_CR4_PAE);
	CU_ASSERT((boot.efer & (X86_EFER_LME | X86_EFER_LMA)) == (X86_EFER_LME | X86_EFER_LMA));
	CU_ASSERT_EQUAL(boot.seg[S_CS].sel, 0x10);
	CU_ASSERT(boot.seg[S_CS].attr & SEG_ATTR_L);
	CU_ASSERT_FALSE(boot.seg[S_CS].attr & SEG_ATTR_DB);
	CU_ASSERT_EQUAL(boot.seg[S_DS].sel, 0x18);
	CU_ASSERT_EQUAL(boot.seg[S_ES].sel, 0x18);
	CU_ASSERT_EQUAL(boot.seg[S_SS].sel, 0x18);
	CU_ASSERT(boot.seg[S_SS].attr & SEG_ATTR_P);
	CU_ASSERT_FALSE(boot.tr.attr & SEG_ATTR_UNUSABLE);
	/* The GDT in RAM matches the selectors: 0x10 long-mode code, 0x18 writable data. */
	CU_ASSERT(boot.gdt.limit >= 0x1f);
	{
		uint64_t cs = rd64(&vm, boot.gdt.base + 0x10), ds = rd64(&vm, boot.gdt.base + 0x18);

		CU_ASSERT_EQUAL((cs >> 40) & 0x9a, 0x9a);	/* present, code, readable */
		CU_ASSERT((cs & (1ull << 53)) != 0);			/* L */
		CU_ASSERT_EQUAL((ds >> 40) & 0x9a, 0x92);	/* present, data, writable */
		CU_ASSERT_EQUAL(ds & 0xffff, 0xffff);
		CU_ASSERT((ds & (1ull << 55)) != 0);		/* 4 KiB granularity: flat */
	}
	/* Identity map over the kernel, boot_params, cmdline, initrd, the stack, 4 GiB - 1. */
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0x100200), 0x100200);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, ZP + 0x228), ZP + 0x228);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0x20000), 0x20000);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, rd_addr + rd_size - 1), rd_addr + rd_size - 1);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, PREF_ADDR + INIT_SIZE - 1), PREF_ADDR + INIT_SIZE - 1);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, boot.gpr[R_SP] - 8), boot.gpr[R_SP] - 8);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0xffffffffull), 0xffffffffull);
	/* The boot data sits in e820 RAM below the EBDA, clear of the kernel. */
	CU_ASSERT(boot.gpr[R_SP] <= 0x9fc00 && boot.gdt.base + 0x20 <= 0x9fc00);

	/* ACPI tables came with it. */
	CU_ASSERT(memcmp(gpa_to_hva(&vm, 0xf0000, 8), "RSD PTR ", 8) == 0);

	vm_mem_exit(&vm);
	free(img);
}

static void test_bz_e820_in_zero_page(void)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x400, 2 },
		{ 0xe0000, 0x20000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000, 1 },
	};
	struct bz_spec s = bz_default();
	struct x86_state boot;
	char err[256];
	struct vm vm;
	size_t size;
	uint8_t *img = build_bz(&s, &size);

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(load_bz(&vm, img, size, NULL, NULL, &boot, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rd8(&vm, ZP + 0x1e8), 4);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t e = ZP + 0x2d0 + i * 20;

		CU_ASSERT_EQUAL(rd64(&vm, e), want[i][0]);
		CU_ASSERT_EQUAL(rd64(&vm, e + 8), want[i][1]);
		CU_ASSERT_EQUAL(rd32(&vm, e + 16), want[i][2]);
	}
	CU_ASSERT(guest_all(&vm, ZP + 0x2d0 + 4 * 20, 0, 20));
	/* No initrd, empty command line. */
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x218), 0);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x21c), 0);
	CU_ASSERT_EQUAL(rd8(&vm, 0x20000), 0);
	vm_mem_exit(&vm);
	free(img);
}

/* Older protocol (2.12): no acpi_rsdp_addr; a fixed-address kernel still clears its window. */
static void test_bz_fixed_kernel_protocol_212(void)
{
	struct bz_spec s = bz_default();
	struct x86_state boot;
	uint8_t rd[5000] = { 1, 2, 3 };
	char err[256];
	struct vm vm;
	size_t size;
	uint8_t *img;
	uint32_t rd_addr;

	s.version = 0x020c;
	s.relocatable = 0;
	s.pref = 0x2000000;		/* 32 MiB */
	s.init_size = 0x1000000;	/* 16 MiB: window up to 48 MiB */
	s.initrd_addr_max = 40 * MiB - 1;
	img = build_bz(&s, &size);
	vm_setup(&vm, RAM_SIZE);
	/* initrd_addr_max (40 MiB) is inside the window: nowhere legal to put it. */
	CU_ASSERT_EQUAL(load_bz(&vm, img, size, "x", write_file("rd-fixed", rd, sizeof(rd)),
				&boot, err, sizeof(err)), -ERANGE);
	CU_ASSERT(strstr(err, "rd-fixed") != NULL);
	CU_ASSERT(guest_all(&vm, 0x100000, 0xcc, 0x1000));	/* refused: RAM untouched */

	w32(img + 0x22c, 60 * MiB - 1);
	CU_ASSERT_EQUAL_FATAL(load_bz(&vm, img, size, "x", tmp_path("rd-fixed"), &boot, err,
				      sizeof(err)), 0);
	rd_addr = rd32(&vm, ZP + 0x218);
	CU_ASSERT(rd_addr >= 48 * MiB);
	CU_ASSERT(rd_addr + sizeof(rd) <= 60 * MiB);
	CU_ASSERT(rd_addr + sizeof(rd) > 60 * MiB - 0x1000);
	CU_ASSERT_EQUAL(rd_addr & 0xfff, 0);
	CU_ASSERT_EQUAL(rd64(&vm, ZP + 0x070), 0);		/* 2.12: no acpi_rsdp_addr */
	CU_ASSERT(memcmp(gpa_to_hva(&vm, 0xf0000, 8), "RSD PTR ", 8) == 0);
	vm_mem_exit(&vm);
	free(img);
}

/* ---- bzImage: refusals ---- */

/* Load @img and expect @want with @needle in the message, and RAM untouched. */
static void expect_refused(const uint8_t *img, size_t size, const char *cmdline,
			   const char *initrd, int want, const char *needle)
{
	struct x86_state boot;
	char err[256];
	struct vm vm;
	int ret;

	vm_setup(&vm, RAM_SIZE);
	ret = load_bz(&vm, img, size, cmdline, initrd, &boot, err, sizeof(err));
	CU_ASSERT_EQUAL(ret, want);
	if (!strstr(err, needle))
		printf("\n  message '%s' lacks '%s'\n", err, needle);
	CU_ASSERT(strstr(err, needle) != NULL);
	CU_ASSERT(strchr(err, '\n') == NULL);
	CU_ASSERT(guest_all(&vm, 0x100000, 0xcc, KERNEL_SIZE));
	CU_ASSERT(guest_all(&vm, 0xe0000, 0xcc, 0x20000));
	CU_ASSERT(guest_all(&vm, 0x1000, 0xcc, 0x2f000));
	vm_mem_exit(&vm);
}

static void test_bz_old_protocol(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img;

	s.version = 0x0202;
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ENOEXEC,
		       "'vmlinuz-test' is a bzImage with boot protocol 2.02; tandem needs 2.12");
	free(img);
	/* 2.11 has no xloadflags, hence no way to say "64-bit entry". */
	s.version = 0x020b;
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "boot protocol 2.11");
	free(img);
}

static void test_bz_bad_magic(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img = build_bz(&s, &size);

	memcpy(img + 0x202, "HdrZ", 4);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "HdrS");
	memcpy(img + 0x202, "HdrS", 4);
	w16(img + 0x1fe, 0x55aa);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "0xaa55");
	free(img);
}

static void test_bz_no_kernel64(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img;

	s.xloadflags = 0x0002;
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "XLF_KERNEL_64");
	free(img);
	s = bz_default();
	s.loadflags = 0;
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "zImage");
	free(img);
}

static void test_bz_truncated(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img = build_bz(&s, &size);

	expect_refused(img, size - 16, NULL, NULL, -ENOEXEC, "truncated");
	expect_refused(img, SETUP_SIZE - 1, NULL, NULL, -ENOEXEC, "truncated");
	expect_refused(img, 0x230, NULL, NULL, -ENOEXEC, "truncated");	/* mid-header */
	/* A short header for the protocol it claims. */
	img[0x201] = 0x40;
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "setup header");
	img[0x201] = 0x6a;
	/* Extra bytes after the kernel (a signature) are fine; missing ones are not. */
	w32(img + 0x1f4, KERNEL_SIZE / 16 + 1);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "truncated");
	w32(img + 0x1f4, 0);
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "syssize 0");
	free(img);
}

static void test_bz_initrd_too_big(void)
{
	struct bz_spec s = bz_default();
	struct x86_state boot;
	char err[256];
	struct vm vm;
	size_t size, rd_size = 40 * MiB + 1;	/* window ends at 24 MiB: 40 MiB fit, no more */
	uint8_t *img = build_bz(&s, &size);
	uint8_t *rd = calloc(1, rd_size);

	CU_ASSERT_FATAL(rd != NULL);
	expect_refused(img, size, NULL, write_file("big-initrd", rd, rd_size), -ERANGE,
		       "does not fit");
	/* One byte less fits, right at the end of the kernel's window. */
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL(load_bz(&vm, img, size, NULL, write_file("big-initrd", rd, rd_size - 1),
				&boot, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x218), PREF_ADDR + INIT_SIZE);
	CU_ASSERT_EQUAL(rd32(&vm, ZP + 0x21c), rd_size - 1);
	vm_mem_exit(&vm);
	free(rd);
	free(img);
}

static void test_bz_kernel_too_big(void)
{
	struct bz_spec s = bz_default();
	size_t size;
	uint8_t *img;

	s.init_size = 60 * MiB;		/* 16 MiB + 60 MiB > 64 MiB of RAM */
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ERANGE, "more memory");
	free(img);
	s = bz_default();
	s.pref = 0x100000000ull;
	img = build_bz(&s, &size);
	expect_refused(img, size, NULL, NULL, -ERANGE, "above 4 GiB");
	free(img);
	s = bz_default();
	img = build_bz(&s, &size);
	w32(img + 0x230, 0x300000);	/* not a power of two */
	expect_refused(img, size, NULL, NULL, -ENOEXEC, "kernel_alignment");
	free(img);
}

static void test_bz_cmdline_too_long(void)
{
	struct bz_spec s = bz_default();
	struct x86_state boot;
	char err[256];
	struct vm vm;
	size_t size;
	uint8_t *img;

	s.cmdline_size = 16;
	img = build_bz(&s, &size);
	expect_refused(img, size, "0123456789abcdefX", NULL, -E2BIG, "at most 16");
	/* Exactly cmdline_size bytes fit (the NUL is extra). */
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL(load_bz(&vm, img, size, "0123456789abcdef", NULL, &boot, err,
				sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL((const char *)gpa_to_hva(&vm, 0x20000, 17), "0123456789abcdef");
	vm_mem_exit(&vm);
	free(img);
}

/* Random header bytes must only ever give a clean load or a clean refusal. */
static void test_bz_fuzz_header(void)
{
	static const uint16_t fields[] = { 0x1f1, 0x1f4, 0x1f5, 0x1f7, 0x1fe, 0x201, 0x206,
		0x207, 0x211, 0x22c, 0x22f, 0x230, 0x232, 0x234, 0x236, 0x238, 0x23b, 0x258,
		0x25b, 0x25f, 0x260, 0x262, 0x263 };
	long page = sysconf(_SC_PAGESIZE);
	struct bz_spec s = bz_default();
	unsigned ok = 0, refused = 0;
	uint8_t rd[3000] = { 0 };
	size_t base_size;
	uint8_t *base = build_bz(&s, &base_size);
	const char *rd_path = write_file("fuzz-initrd", rd, sizeof(rd));
	struct vm vm;

	srand(1234);
	vm_setup(&vm, RAM_SIZE);
	for (unsigned iter = 0; iter < 3000; iter++) {
		size_t size = base_size, maplen;
		struct x86_state boot;
		char err[256];
		uint8_t *map, *img;
		int ret;

		if (iter % 5 == 0)
			size = (size_t)rand() % base_size + 1;
		/* The image ends right at a PROT_NONE page: any overread faults. */
		maplen = ((size + (size_t)page - 1) / (size_t)page + 1) * (size_t)page;
		map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		CU_ASSERT_FATAL(map != MAP_FAILED);
		CU_ASSERT_FATAL(mprotect(map + maplen - page, (size_t)page, PROT_NONE) == 0);
		img = map + maplen - page - size;
		memcpy(img, base, size);
		for (unsigned k = 0, n = 1 + (unsigned)rand() % 3; k < n; k++) {
			unsigned off = fields[(unsigned)rand() % (sizeof(fields) / 2)];

			if (off < size)
				img[off] = (uint8_t)rand();
		}
		ret = load_bz(&vm, img, size, iter % 2 ? "console=ttyS0" : NULL,
			      iter % 3 ? rd_path : NULL, &boot, err, sizeof(err));
		if (ret == 0) {
			ok++;
			CU_ASSERT_EQUAL(boot.rip, 0x100200);
			CU_ASSERT_EQUAL(memcmp(gpa_to_hva(&vm, ZP + 0x202, 4), "HdrS", 4), 0);
		} else {
			refused++;
			CU_ASSERT(ret < 0);
			CU_ASSERT(err[0] != 0);
			CU_ASSERT(strchr(err, '\n') == NULL);
		}
		munmap(map, maplen);
	}
	CU_ASSERT(ok > 100);
	CU_ASSERT(refused > 100);
	printf("(%u loaded, %u refused) ", ok, refused);
	vm_mem_exit(&vm);
	free(base);
}

/* ---- e820 ---- */

static void test_e820_high_ram(void)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	struct vm vm;
	int n;

	/* 4 GiB: 3 GiB below the hole, 1 GiB from 4 GiB. MAP_NORESERVE: nothing touched. */
	memset(&vm, 0, sizeof(vm));
	CU_ASSERT_FATAL(vm_mem_init(&vm, 4 * GiB) == 0);
	n = e820_build(&vm, e, E820_MAX_ENTRIES);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == E820_RAM);
	CU_ASSERT(e[1].addr == 0x9fc00 && e[1].size == 0x400 && e[1].type == E820_RESERVED);
	CU_ASSERT(e[2].addr == 0xe0000 && e[2].size == 0x20000 && e[2].type == E820_RESERVED);
	CU_ASSERT(e[3].addr == 0x100000 && e[3].size == 3 * GiB - 0x100000 &&
		  e[3].type == E820_RAM);
	CU_ASSERT(e[4].addr == 4 * GiB && e[4].size == 1 * GiB && e[4].type == E820_RAM);
	/* Sorted and disjoint. */
	for (int i = 1; i < n; i++)
		CU_ASSERT(e[i - 1].addr + e[i - 1].size <= e[i].addr);
	/* Too small an array is an error, never a short map. */
	CU_ASSERT_EQUAL(e820_build(&vm, e, 4), -ENOSPC);
	CU_ASSERT_EQUAL(e820_build(&vm, e, 0), -ENOSPC);
	vm_mem_exit(&vm);
}

static void test_e820_one_mib(void)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	struct vm vm;

	memset(&vm, 0, sizeof(vm));
	CU_ASSERT_FATAL(vm_mem_init(&vm, MiB) == 0);
	/* Nothing above 1 MiB: no empty RAM entry for it. */
	CU_ASSERT_EQUAL(e820_build(&vm, e, E820_MAX_ENTRIES), 3);
	CU_ASSERT_EQUAL(e[0].size, 0x9fc00);
	CU_ASSERT_EQUAL(e[2].addr + e[2].size, MiB);
	vm_mem_exit(&vm);
}

/* ---- ACPI ---- */

/* The RSDP the way an OS finds it: "RSD PTR " on a 16-byte boundary, valid checksum. */
static uint64_t find_rsdp(struct vm *vm)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = gpa_to_hva(vm, a, 20);

		if (p && !memcmp(p, "RSD PTR ", 8) && sum_guest(vm, a, 20) == 0)
			return a;
	}
	return 0;
}

/* Check a table's signature, bounds and checksum; returns its length. */
static uint32_t check_table(struct vm *vm, uint64_t gpa, const char *sig)
{
	uint32_t len;

	CU_ASSERT_FATAL(gpa >= 0xe0000 && gpa < 0x100000);
	CU_ASSERT_FATAL(memcmp(gpa_to_hva(vm, gpa, 4), sig, 4) == 0);
	len = rd32(vm, gpa + 4);
	CU_ASSERT_FATAL(len >= 36 && gpa + len <= 0x100000);
	CU_ASSERT_EQUAL(sum_guest(vm, gpa, len), 0);
	CU_ASSERT(memcmp(gpa_to_hva(vm, gpa + 10, 6), "TANDEM", 6) == 0);
	return len;
}

static void check_acpi(struct vm *vm, unsigned nr_cpus)
{
	uint64_t rsdp = find_rsdp(vm), xsdt, rsdt, fadt = 0, madt = 0, dsdt, facs;
	uint32_t len, xlen, mlen;
	unsigned lapics = 0, ioapics = 0, isos = 0;
	const uint8_t *aml;
	int found_s5 = 0;

	CU_ASSERT_FATAL(rsdp != 0);
	CU_ASSERT_EQUAL(rsdp, 0xf0000);
	CU_ASSERT_EQUAL(rd8(vm, rsdp + 15), 2);			/* revision */
	CU_ASSERT_EQUAL(rd32(vm, rsdp + 20), 36);		/* length */
	CU_ASSERT_EQUAL(sum_guest(vm, rsdp, 36), 0);		/* extended checksum */

	xsdt = rd64(vm, rsdp + 24);
	xlen = check_table(vm, xsdt, "XSDT");
	CU_ASSERT_EQUAL(xsdt & 7, 0);
	CU_ASSERT_EQUAL_FATAL((xlen - 36) % 8, 0);
	for (uint32_t off = 36; off < xlen; off += 8) {
		uint64_t t = rd64(vm, xsdt + off);
		const char *sig = gpa_to_hva(vm, t, 4);

		CU_ASSERT_FATAL(sig != NULL);
		if (!memcmp(sig, "FACP", 4))
			fadt = t;
		if (!memcmp(sig, "APIC", 4))
			madt = t;
	}
	CU_ASSERT_FATAL(fadt && madt);

	/* The RSDT lists the same tables, as 32-bit pointers. */
	rsdt = rd32(vm, rsdp + 16);
	len = check_table(vm, rsdt, "RSDT");
	CU_ASSERT_EQUAL_FATAL(len - 36, (xlen - 36) / 2);
	for (uint32_t i = 0; i < (len - 36) / 4; i++)
		CU_ASSERT_EQUAL(rd32(vm, rsdt + 36 + i * 4), rd64(vm, xsdt + 36 + i * 8));

	/* FADT: the PM block at 0x600, SCI 9, reset via 0xcf9, not hardware-reduced. */
	len = check_table(vm, fadt, "FACP");
	CU_ASSERT(len >= 244);
	CU_ASSERT_EQUAL(rd16(vm, fadt + 46), 9);
	CU_ASSERT_EQUAL(rd32(vm, fadt + 48), 0);		/* no SMI_CMD */
	CU_ASSERT_EQUAL(rd32(vm, fadt + 56), 0x600);
	CU_ASSERT_EQUAL(rd32(vm, fadt + 64), 0x604);
	CU_ASSERT_EQUAL(rd32(vm, fadt + 76), 0x608);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 88), 4);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 89), 2);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 91), 4);
	CU_ASSERT_EQUAL(rd32(vm, fadt + 112) & (1u << 20), 0);	/* HW_REDUCED_ACPI */
	CU_ASSERT_EQUAL(rd32(vm, fadt + 112) & 0x431, 0x431);	/* WBINVD, buttons, RESET_REG */
	CU_ASSERT_EQUAL(rd8(vm, fadt + 116), 1);		/* reset reg: system I/O */
	CU_ASSERT_EQUAL(rd8(vm, fadt + 117), 8);
	CU_ASSERT_EQUAL(rd64(vm, fadt + 120), 0xcf9);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 128), 6);
	/* 64-bit blocks agree with the 32-bit ones (bit widths = lengths). */
	CU_ASSERT_EQUAL(rd64(vm, fadt + 148 + 4), 0x600);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 148 + 1), 32);
	CU_ASSERT_EQUAL(rd64(vm, fadt + 172 + 4), 0x604);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 172 + 1), 16);
	CU_ASSERT_EQUAL(rd64(vm, fadt + 208 + 4), 0x608);
	CU_ASSERT_EQUAL(rd8(vm, fadt + 208 + 1), 32);

	/* FACS: 64 bytes, 64-byte aligned; the 64-bit pointer, if set, agrees. */
	facs = rd32(vm, fadt + 36);
	if (!facs)
		facs = rd64(vm, fadt + 132);
	else
		CU_ASSERT(rd64(vm, fadt + 132) == 0 || rd64(vm, fadt + 132) == facs);
	CU_ASSERT_FATAL(facs != 0);
	CU_ASSERT_EQUAL(facs & 63, 0);
	CU_ASSERT(memcmp(gpa_to_hva(vm, facs, 4), "FACS", 4) == 0);
	CU_ASSERT_EQUAL(rd32(vm, facs + 4), 64);

	/* DSDT: \_S5 = Package { 0, 0, 0, 0 }, well-formed AML. */
	dsdt = rd32(vm, fadt + 40);
	CU_ASSERT_EQUAL(rd64(vm, fadt + 140), dsdt);
	len = check_table(vm, dsdt, "DSDT");
	aml = gpa_to_hva(vm, dsdt, len);
	for (uint32_t i = 36; i + 4 <= len; i++) {
		if (memcmp(aml + i, "_S5_", 4))
			continue;
		found_s5 = 1;
		CU_ASSERT_EQUAL(aml[i - 1], 0x08);		/* NameOp */
		CU_ASSERT_FATAL(i + 7 <= len);
		CU_ASSERT_EQUAL(aml[i + 4], 0x12);		/* PackageOp */
		/* One-byte PkgLength covering itself, NumElements and the elements. */
		CU_ASSERT_EQUAL(aml[i + 5] & 0xc0, 0);
		CU_ASSERT_EQUAL(i + 5 + aml[i + 5], len);
		CU_ASSERT(aml[i + 6] >= 2);			/* NumElements */
		CU_ASSERT_EQUAL(aml[i + 7], 0x00);		/* SLP_TYPa = 0 (ZeroOp) */
	}
	CU_ASSERT(found_s5);

	/* MADT: LAPIC address, PCAT_COMPAT, one enabled LAPIC per CPU, an I/O APIC, overrides. */
	mlen = check_table(vm, madt, "APIC");
	CU_ASSERT_EQUAL(rd32(vm, madt + 36), 0xfee00000);
	CU_ASSERT_EQUAL(rd32(vm, madt + 40) & 1, 1);
	for (uint32_t off = 44; off + 2 <= mlen;) {
		uint8_t type = rd8(vm, madt + off), elen = rd8(vm, madt + off + 1);

		CU_ASSERT_FATAL(elen >= 2 && off + elen <= mlen);
		if (type == 0) {
			CU_ASSERT_EQUAL(elen, 8);
			CU_ASSERT_EQUAL(rd8(vm, madt + off + 3), lapics);	/* APIC id */
			CU_ASSERT_EQUAL(rd32(vm, madt + off + 4) & 1, 1);	/* enabled */
			lapics++;
		} else if (type == 1) {
			CU_ASSERT_EQUAL(elen, 12);
			CU_ASSERT_EQUAL(rd8(vm, madt + off + 2), nr_cpus);
			CU_ASSERT_EQUAL(rd32(vm, madt + off + 4), 0xfec00000);
			CU_ASSERT_EQUAL(rd32(vm, madt + off + 8), 0);
			ioapics++;
		} else if (type == 2) {
			uint8_t irq = rd8(vm, madt + off + 3);
			uint16_t flags = rd16(vm, madt + off + 8);

			CU_ASSERT_EQUAL(elen, 10);
			CU_ASSERT_EQUAL(rd8(vm, madt + off + 2), 0);	/* ISA */
			if (irq == 0) {
				CU_ASSERT_EQUAL(rd32(vm, madt + off + 4), 2);
				CU_ASSERT_EQUAL(flags, 0x5);		/* edge, high */
			} else {
				CU_ASSERT_EQUAL(irq, 9);
				CU_ASSERT_EQUAL(rd32(vm, madt + off + 4), 9);
				CU_ASSERT_EQUAL(flags, 0xd);		/* level, high */
			}
			isos++;
		}
		off += elen;
	}
	CU_ASSERT_EQUAL(lapics, nr_cpus);
	CU_ASSERT_EQUAL(ioapics, 1);
	CU_ASSERT_EQUAL(isos, 2);
}

static void test_acpi_tables(void)
{
	char err[256];
	struct vm vm;

	vm_setup(&vm, RAM_SIZE);
	for (unsigned n = 1; n <= VM_MAX_VCPUS; n++) {
		CU_ASSERT_EQUAL_FATAL(acpi_build(&vm, n, err, sizeof(err)), 0);
		check_acpi(&vm, n);
	}
	/* A rebuild for fewer CPUs leaves no trace of the bigger tables. */
	CU_ASSERT_EQUAL_FATAL(acpi_build(&vm, 2, err, sizeof(err)), 0);
	check_acpi(&vm, 2);
	vm_mem_exit(&vm);
}

static void test_acpi_bad_cpus(void)
{
	char err[256] = "";
	struct vm vm;

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL(acpi_build(&vm, 0, err, sizeof(err)), -EINVAL);
	CU_ASSERT(err[0] != 0);
	CU_ASSERT_EQUAL(acpi_build(&vm, VM_MAX_VCPUS + 1, NULL, 0), -EINVAL);
	CU_ASSERT(guest_all(&vm, 0xe0000, 0xcc, 0x20000));
	vm_mem_exit(&vm);
}

/* The bzImage path builds the tables for the configured CPU count. */
static void test_bz_acpi_smp(void)
{
	struct bz_spec s = bz_default();
	struct x86_state boot;
	char err[256];
	struct vm vm;
	size_t size;
	uint8_t *img = build_bz(&s, &size);

	vm_setup(&vm, RAM_SIZE);
	vm.cfg.smp = 3;
	CU_ASSERT_EQUAL_FATAL(load_bz(&vm, img, size, NULL, NULL, &boot, err, sizeof(err)), 0);
	check_acpi(&vm, 3);
	CU_ASSERT_EQUAL(find_rsdp(&vm), rd64(&vm, ZP + 0x070));
	vm_mem_exit(&vm);
	free(img);
}

/* ---- suite ---- */

static int suite_init(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/tandem-linuxboot-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	static const char *const names[] = { "initrd", "rd-fixed", "big-initrd", "fuzz-initrd" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	return rmdir(tmpdir) ? -1 : 0;
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "bzImage probe", test_bz_probe },
		{ "bzImage load: zero page, cmdline, initrd, entry", test_bz_load },
		{ "bzImage e820 table in the zero page", test_bz_e820_in_zero_page },
		{ "bzImage fixed-address kernel, 2.12", test_bz_fixed_kernel_protocol_212 },
		{ "bzImage refused: old protocol", test_bz_old_protocol },
		{ "bzImage refused: no HdrS / boot flag", test_bz_bad_magic },
		{ "bzImage refused: no 64-bit entry, zImage", test_bz_no_kernel64 },
		{ "bzImage refused: truncated", test_bz_truncated },
		{ "bzImage refused: initrd too big", test_bz_initrd_too_big },
		{ "bzImage refused: kernel window outside RAM", test_bz_kernel_too_big },
		{ "bzImage refused: command line too long", test_bz_cmdline_too_long },
		{ "bzImage fuzzed headers", test_bz_fuzz_header },
		{ "e820 with RAM above 4 GiB", test_e820_high_ram },
		{ "e820 with 1 MiB of RAM", test_e820_one_mib },
		{ "ACPI tables, 1 to 8 CPUs", test_acpi_tables },
		{ "ACPI refused CPU counts", test_acpi_bad_cpus },
		{ "bzImage ACPI tables for --smp 3", test_bz_acpi_smp },
	};
	unsigned failures;
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("linuxboot", suite_init, suite_clean);
	for (unsigned i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
