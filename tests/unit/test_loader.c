// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the kernel loaders. Every image is generated here, by
 * filling ELF and multiboot headers by hand, and written to a temporary
 * directory when the test needs a file.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "board/acpi.h"
#include "machine/e820.h"
#include "machine/loader.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define MiB		(1ull << 20)
#define RAM_SIZE	(64 * MiB)
#define INFO		0x9000u
#define MB_MAGIC	0x1BADB002u
#define SEG_OFF(i)	(0x1000u + (i) * 0x1000u)	/* file offset of segment i */

static char tmpdir[64];

/* ---- helpers: files, VM, guest memory reads ---- */

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
	/* Garbage below 16 MiB, so that "zeroed" and "untouched" mean something. */
	memset(vm->ram[0].host, 0xcc, vm->ram[0].size < 16 * MiB ? vm->ram[0].size : 16 * MiB);
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

/* A NUL-terminated guest string, or NULL when it runs out of RAM. */
static const char *guest_str(struct vm *vm, uint64_t gpa)
{
	const char *s = gpa_to_hva(vm, gpa, 1);
	uint64_t n = 0;

	while (s && gpa_to_hva(vm, gpa + n, 1) && s[n])
		n++;
	return s && gpa_to_hva(vm, gpa + n, 1) ? s : NULL;
}

static int guest_is(struct vm *vm, uint64_t gpa, const void *data, size_t len)
{
	const void *p = gpa_to_hva(vm, gpa, len);

	return p && !memcmp(p, data, len);
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

/* ---- image builders ---- */

struct seg_spec {
	uint64_t paddr, vaddr;
	uint32_t filesz, memsz;	/* filesz <= 0x1000 */
	uint32_t type;		/* 0: PT_LOAD */
};

struct elf_spec {
	int cls;
	unsigned machine, type;
	uint64_t entry;
	unsigned nr_segs;
	struct seg_spec segs[4];
	int mb;			/* put a multiboot header at the start of segment 0 */
	uint32_t mb_flags;
};

static void put_mb_header(uint8_t *p, uint32_t flags)
{
	uint32_t h[3] = { MB_MAGIC, flags, -(MB_MAGIC + flags) };

	memcpy(p, h, sizeof(h));
}

static size_t build_elf(const struct elf_spec *s, uint8_t **out)
{
	size_t size = SEG_OFF(s->nr_segs);
	uint8_t *buf = calloc(1, size);

	CU_ASSERT_FATAL(buf != NULL);
	for (unsigned i = 0; i < s->nr_segs; i++)
		for (unsigned j = 0; j < s->segs[i].filesz; j++)
			buf[SEG_OFF(i) + j] = (uint8_t)(i * 37 + j * 7 + 1);
	if (s->mb)
		put_mb_header(buf + SEG_OFF(0), s->mb_flags);

	if (s->cls == ELFCLASS32) {
		Elf32_Ehdr eh = { 0 };
		Elf32_Phdr *ph = (Elf32_Phdr *)(buf + sizeof(eh));

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		eh.e_type = s->type;
		eh.e_machine = s->machine;
		eh.e_version = EV_CURRENT;
		eh.e_entry = (uint32_t)s->entry;
		eh.e_phoff = sizeof(eh);
		eh.e_ehsize = sizeof(eh);
		eh.e_phentsize = sizeof(*ph);
		eh.e_phnum = s->nr_segs;
		memcpy(buf, &eh, sizeof(eh));
		for (unsigned i = 0; i < s->nr_segs; i++) {
			ph[i].p_type = s->segs[i].type ? s->segs[i].type : PT_LOAD;
			ph[i].p_offset = SEG_OFF(i);
			ph[i].p_paddr = (uint32_t)s->segs[i].paddr;
			ph[i].p_vaddr = (uint32_t)(s->segs[i].vaddr ? s->segs[i].vaddr :
						   s->segs[i].paddr);
			ph[i].p_filesz = s->segs[i].filesz;
			ph[i].p_memsz = s->segs[i].memsz;
			ph[i].p_flags = PF_R | PF_X;
			ph[i].p_align = 0x1000;
		}
	} else {
		Elf64_Ehdr eh = { 0 };
		Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(eh));

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		eh.e_type = s->type;
		eh.e_machine = s->machine;
		eh.e_version = EV_CURRENT;
		eh.e_entry = s->entry;
		eh.e_phoff = sizeof(eh);
		eh.e_ehsize = sizeof(eh);
		eh.e_phentsize = sizeof(*ph);
		eh.e_phnum = s->nr_segs;
		memcpy(buf, &eh, sizeof(eh));
		for (unsigned i = 0; i < s->nr_segs; i++) {
			ph[i].p_type = s->segs[i].type ? s->segs[i].type : PT_LOAD;
			ph[i].p_offset = SEG_OFF(i);
			ph[i].p_paddr = s->segs[i].paddr;
			ph[i].p_vaddr = s->segs[i].vaddr ? s->segs[i].vaddr : s->segs[i].paddr;
			ph[i].p_filesz = s->segs[i].filesz;
			ph[i].p_memsz = s->segs[i].memsz;
			ph[i].p_flags = PF_R | PF_X;
			ph[i].p_align = 0x1000;
		}
	}
	*out = buf;
	return size;
}

/* Multiboot ELF32: text at 1 MiB, data + bss at 1 MiB + 64 KiB, a note. */
static const struct elf_spec mb_elf32 = {
	.cls = ELFCLASS32, .machine = EM_386, .type = ET_EXEC, .entry = 0x100010,
	.nr_segs = 3, .segs = {
		{ .paddr = 0x100000, .filesz = 0x400, .memsz = 0x400 },
		{ .paddr = 0x110000, .filesz = 0x300, .memsz = 0x2800 },
		{ .paddr = 0x300000, .filesz = 0x20, .memsz = 0x20, .type = PT_NOTE },
	},
	.mb = 1, .mb_flags = 0x3,
};

static const struct elf_spec mb_elf64 = {
	.cls = ELFCLASS64, .machine = EM_X86_64, .type = ET_EXEC, .entry = 0x200020,
	.nr_segs = 2, .segs = {
		{ .paddr = 0x200000, .filesz = 0x800, .memsz = 0x800 },
		{ .paddr = 0x201000, .filesz = 0x100, .memsz = 0x1100 },
	},
	.mb = 1, .mb_flags = 0x2,
};

static const struct elf_spec plain64 = {
	.cls = ELFCLASS64, .machine = EM_X86_64, .type = ET_EXEC, .entry = 0x400100,
	.nr_segs = 2, .segs = {
		{ .paddr = 0x400000, .filesz = 0x1000, .memsz = 0x1000 },
		{ .paddr = 0x402000, .filesz = 0x10, .memsz = 0x3000 },
	},
};

/* a.out kludge: a flat binary whose header says where it goes. */
#define AOUT_LOAD	0x180000u
#define AOUT_FILE	0x600u
#define AOUT_BSS_END	(AOUT_LOAD + 0x2000u)
#define AOUT_ENTRY	(AOUT_LOAD + 0x40u)
#define AOUT_HDR_OFF	0x20u

static size_t build_aout(uint8_t **out)
{
	uint8_t *buf = malloc(AOUT_FILE);
	uint32_t flags = (1u << 16) | 0x3;
	uint32_t h[8] = { MB_MAGIC, flags, -(MB_MAGIC + flags), AOUT_LOAD + AOUT_HDR_OFF,
			  AOUT_LOAD, AOUT_LOAD + AOUT_FILE, AOUT_BSS_END, AOUT_ENTRY };

	CU_ASSERT_FATAL(buf != NULL);
	for (unsigned i = 0; i < AOUT_FILE; i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	memcpy(buf + AOUT_HDR_OFF, h, sizeof(h));
	*out = buf;
	return AOUT_FILE;
}

/* ---- checks shared by the success tests ---- */

struct mmap_entry {
	uint64_t base, len;
	uint32_t type;
};

static unsigned read_mmap(struct vm *vm, struct mmap_entry *e, unsigned max)
{
	uint32_t len = rd32(vm, INFO + 44), addr = rd32(vm, INFO + 48), off = 0;
	unsigned n = 0;

	CU_ASSERT(addr >= INFO && addr + len <= 0x9f000);
	while (off < len && n < max) {
		CU_ASSERT_EQUAL(rd32(vm, addr + off), 20);
		e[n].base = rd64(vm, addr + off + 4);
		e[n].len = rd64(vm, addr + off + 12);
		e[n].type = rd32(vm, addr + off + 20);
		off += 24;
		n++;
	}
	CU_ASSERT_EQUAL(off, len);
	return n;
}

/* The info's memory map is the board's e820 map, entry for entry. */
static unsigned check_mmap_is_e820(struct vm *vm, struct mmap_entry *e, unsigned max)
{
	struct e820_entry want[E820_MAX_ENTRIES];
	unsigned n = read_mmap(vm, e, max);
	int nw = e820_build(vm, want, E820_MAX_ENTRIES);

	CU_ASSERT_EQUAL_FATAL((int)n, nw);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(e[i].base, want[i].addr);
		CU_ASSERT_EQUAL(e[i].len, want[i].size);
		CU_ASSERT_EQUAL(e[i].type, want[i].type);
	}
	/* Ascending and disjoint, as kernels expect. */
	for (unsigned i = 1; i < n; i++)
		CU_ASSERT(e[i - 1].base + e[i - 1].len <= e[i].base);
	return n;
}

static void check_mmap_64m(struct vm *vm)
{
	struct mmap_entry e[8];
	unsigned n = check_mmap_is_e820(vm, e, 8);

	/* The PC layout: low RAM, EBDA and BIOS reserved, RAM from 1 MiB to the end. */
	CU_ASSERT_FATAL(n == 4);
	CU_ASSERT(e[0].base == 0 && e[0].len == 0x9fc00 && e[0].type == 1);
	CU_ASSERT(e[1].base == 0x9fc00 && e[1].base + e[1].len == 0xa0000 && e[1].type == 2);
	CU_ASSERT(e[2].base <= 0xf0000 && e[2].base + e[2].len == MiB && e[2].type == 2);
	CU_ASSERT(e[3].base == MiB && e[3].len == RAM_SIZE - MiB && e[3].type == 1);
}

/* The loaded segments of @s, byte for byte, and zeroed bss. */
static void check_segments(struct vm *vm, const struct elf_spec *s, const uint8_t *img)
{
	for (unsigned i = 0; i < s->nr_segs; i++) {
		const struct seg_spec *g = &s->segs[i];

		if (g->type && g->type != PT_LOAD) {
			/* Not loaded: the garbage there is untouched. */
			CU_ASSERT(guest_all(vm, g->paddr, 0xcc, g->memsz));
			continue;
		}
		CU_ASSERT(guest_is(vm, g->paddr, img + SEG_OFF(i), g->filesz));
		CU_ASSERT(guest_all(vm, g->paddr + g->filesz, 0, g->memsz - g->filesz));
	}
}

/* The multiboot entry state, with the info at @info. */
static void check_flat32_at(const struct x86_state *b, uint64_t entry, uint64_t info)
{
	CU_ASSERT_EQUAL(b->rip, entry);
	CU_ASSERT_EQUAL(b->gpr[R_AX], 0x2BADB002);
	CU_ASSERT_EQUAL(b->gpr[R_BX], info);
	CU_ASSERT_EQUAL(b->cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE);
	CU_ASSERT_EQUAL(b->efer & X86_EFER_LMA, 0);
	CU_ASSERT_EQUAL(b->rflags & (X86_RFLAGS_IF | X86_RFLAGS_VM), 0);
	CU_ASSERT_EQUAL(b->seg[S_CS].base, 0);
	CU_ASSERT_EQUAL(b->seg[S_CS].limit, 0xffffffff);
	CU_ASSERT(b->seg[S_CS].attr & SEG_ATTR_DB);
	CU_ASSERT_FALSE(b->seg[S_CS].attr & SEG_ATTR_L);
	CU_ASSERT_EQUAL(SEG_ATTR_TYPE(b->seg[S_CS].attr) & 0x8, 0x8);	/* code */
	for (int i = 0; i < S_NR; i++) {
		if (i == S_CS)
			continue;
		CU_ASSERT_EQUAL(b->seg[i].base, 0);
		CU_ASSERT_EQUAL(b->seg[i].limit, 0xffffffff);
		CU_ASSERT_EQUAL(SEG_ATTR_TYPE(b->seg[i].attr) & 0xa, 0x2);	/* data, rw */
	}
}

static void check_flat32(const struct x86_state *b, uint64_t entry)
{
	check_flat32_at(b, entry, INFO);
}

/* ---- success paths ---- */

static void test_multiboot_elf32(void)
{
	struct vm vm;
	struct x86_state boot;
	uint8_t *img, initrd[5000];
	size_t size = build_elf(&mb_elf32, &img);
	char err[256] = "";
	const char *kpath, *ipath;
	uint32_t mods, mod_start, mod_end;

	for (unsigned i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 31 + 3);
	kpath = write_file("mb32.elf", img, size);
	ipath = write_file("initrd.img", initrd, sizeof(initrd));
	vm_setup(&vm, RAM_SIZE);
	struct loader_args a = { .kernel = kpath, .cmdline = "console=ttyS0 quiet",
				 .initrd = ipath };

	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	check_segments(&vm, &mb_elf32, img);
	check_flat32(&boot, 0x100010);

	/* flags: memory, cmdline, mods, mmap, boot loader name; no boot device */
	CU_ASSERT_EQUAL(rd32(&vm, INFO), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	CU_ASSERT_EQUAL(rd32(&vm, INFO + 4), 640);
	CU_ASSERT_EQUAL(rd32(&vm, INFO + 8), (RAM_SIZE - MiB) / 1024);
	{
		char want[300];

		snprintf(want, sizeof(want), "%s console=ttyS0 quiet", kpath);
		CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, INFO + 16)), want);
	}
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, INFO + 64)), "tandem");
	check_mmap_64m(&vm);

	/* The initrd as module 0: page-aligned right after the kernel's bss. */
	CU_ASSERT_EQUAL(rd32(&vm, INFO + 20), 1);
	mods = rd32(&vm, INFO + 24);
	CU_ASSERT(mods > INFO && mods < 0x9f000);
	mod_start = rd32(&vm, mods);
	mod_end = rd32(&vm, mods + 4);
	CU_ASSERT_EQUAL(mod_start, 0x113000);	/* 0x110000 + 0x2800, page-aligned */
	CU_ASSERT_EQUAL(mod_end - mod_start, sizeof(initrd));
	CU_ASSERT(guest_is(&vm, mod_start, initrd, sizeof(initrd)));
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, mods + 8)), ipath);
	CU_ASSERT_EQUAL(rd32(&vm, mods + 12), 0);
	/* Every string the info points to lies inside the info area. */
	CU_ASSERT(rd32(&vm, INFO + 16) < 0x9f000 && rd32(&vm, INFO + 64) < 0x9f000);
	vm_mem_exit(&vm);
	free(img);
}

static void test_multiboot_elf64(void)
{
	struct vm vm;
	struct x86_state boot;
	uint8_t *img;
	size_t size = build_elf(&mb_elf64, &img);
	char err[256] = "";
	struct loader_args a = { .kernel = write_file("mb64.elf", img, size) };

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	check_segments(&vm, &mb_elf64, img);
	/* An ELF64 with a multiboot header still starts in 32-bit mode. */
	check_flat32(&boot, 0x200020);
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, INFO + 16)), a.kernel);
	CU_ASSERT_EQUAL(rd32(&vm, INFO) & (1u << 3), 0);	/* no initrd, no mods */
	vm_mem_exit(&vm);
	free(img);
}

static void test_multiboot_aout(void)
{
	struct vm vm;
	struct x86_state boot;
	uint8_t *img;
	size_t size = build_aout(&img);
	char err[256] = "";
	/* In memory this time, as the built-in demo guest is loaded. */
	struct loader_args a = { .image = img, .image_size = size, .cmdline = "x=1" };

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	CU_ASSERT(guest_is(&vm, AOUT_LOAD, img, AOUT_FILE));
	CU_ASSERT(guest_all(&vm, AOUT_LOAD + AOUT_FILE, 0, AOUT_BSS_END - AOUT_LOAD - AOUT_FILE));
	CU_ASSERT(guest_all(&vm, AOUT_BSS_END, 0xcc, 0x1000));
	check_flat32(&boot, AOUT_ENTRY);
	/* No path to put first: the command line is the --append string alone. */
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, INFO + 16)), "x=1");
	CU_ASSERT_EQUAL(loader_is_multiboot(img, size), 1);
	vm_mem_exit(&vm);
	free(img);
}

/* Translate @va through the guest's 4-level page tables; -1 unless mapped writable. */
static uint64_t walk(struct vm *vm, uint64_t cr3, uint64_t va)
{
	const uint64_t addr_mask = 0x000ffffffffff000ull;
	uint64_t e = rd64(vm, (cr3 & addr_mask) + ((va >> 39) & 511) * 8);

	if ((e & 3) != 3)
		return ~0ull;
	e = rd64(vm, (e & addr_mask) + ((va >> 30) & 511) * 8);
	if ((e & 3) != 3)
		return ~0ull;
	if (e & 0x80)
		return (e & 0x000fffffc0000000ull) | (va & 0x3fffffff);
	e = rd64(vm, (e & addr_mask) + ((va >> 21) & 511) * 8);
	if ((e & 3) != 3)
		return ~0ull;
	if (e & 0x80)
		return (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
	e = rd64(vm, (e & addr_mask) + ((va >> 12) & 511) * 8);
	if ((e & 3) != 3)
		return ~0ull;
	return (e & addr_mask) | (va & 0xfff);
}

/* struct x86_seg attr of the GDT descriptor @sel (bits 40-47, 52-55). */
static uint32_t gdt_attr(struct vm *vm, const struct x86_state *b, uint16_t sel)
{
	CU_ASSERT((uint32_t)(sel | 7) <= b->gdt.limit);
	return (uint32_t)(rd64(vm, b->gdt.base + (sel & ~7u)) >> 40) & 0xf0ff;
}

static void test_plain_elf64(void)
{
	struct vm vm;
	struct x86_state boot;
	uint8_t *img, initrd[3000];
	size_t size = build_elf(&plain64, &img);
	char err[256] = "";
	const uint64_t probes[] = { 0, 0x1000, 0x400100, 0x12345678, 0xbfffffff, 0xfee00000,
				    0xffffffff };
	struct loader_args a = { .cmdline = "root=/dev/vda" };

	memset(initrd, 0x5a, sizeof(initrd));
	a.kernel = write_file("plain64.elf", img, size);
	a.initrd = write_file("rd64", initrd, sizeof(initrd));
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	check_segments(&vm, &plain64, img);

	CU_ASSERT_EQUAL(boot.rip, 0x400100);
	CU_ASSERT_EQUAL(boot.gpr[R_AX], 0x2BADB002);
	CU_ASSERT_EQUAL(boot.gpr[R_BX], INFO);
	CU_ASSERT_EQUAL(boot.gpr[R_DI], INFO);
	CU_ASSERT(boot.gpr[R_SP] <= INFO && boot.gpr[R_SP] > 0x7000 && !(boot.gpr[R_SP] & 15));
	CU_ASSERT_EQUAL(boot.rflags, 2);
	CU_ASSERT_EQUAL(boot.cr0 & (X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE),
			X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE);
	CU_ASSERT(boot.cr4 & X86_CR4_PAE);
	CU_ASSERT_EQUAL(boot.efer & (X86_EFER_LME | X86_EFER_LMA), X86_EFER_LME | X86_EFER_LMA);
	CU_ASSERT_EQUAL(boot.seg[S_CS].sel, 0x8);
	CU_ASSERT_EQUAL(boot.seg[S_CS].attr, 0xa09b);
	CU_ASSERT_EQUAL(boot.seg[S_SS].sel, 0x10);
	CU_ASSERT_EQUAL(boot.seg[S_SS].attr, 0xc093);
	CU_ASSERT_EQUAL(boot.seg[S_DS].attr, 0xc093);
	CU_ASSERT_EQUAL(boot.seg[S_ES].attr, 0xc093);
	/* The GDT in guest memory says what the hidden parts say. */
	CU_ASSERT_EQUAL(gdt_attr(&vm, &boot, boot.seg[S_CS].sel), boot.seg[S_CS].attr);
	CU_ASSERT_EQUAL(gdt_attr(&vm, &boot, boot.seg[S_SS].sel), boot.seg[S_SS].attr);
	CU_ASSERT_EQUAL(rd64(&vm, boot.gdt.base), 0);
	/* Page tables, GDT and stack all lie below the info and don't overlap the kernel. */
	CU_ASSERT(boot.cr3 >= 0x1000 && boot.cr3 < INFO && boot.gdt.base < INFO);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		CU_ASSERT_EQUAL(walk(&vm, boot.cr3, probes[i]), probes[i]);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0x100000000ull), ~0ull);

	/* The same multiboot info as a multiboot kernel gets. */
	check_mmap_64m(&vm);
	CU_ASSERT_EQUAL(rd32(&vm, INFO + 20), 1);
	CU_ASSERT_EQUAL(rd32(&vm, rd32(&vm, INFO + 24)), 0x405000);
	CU_ASSERT(guest_is(&vm, 0x405000, initrd, sizeof(initrd)));
	vm_mem_exit(&vm);
	free(img);
}

/* A higher-half ELF64: the virtual entry is turned into its physical address. */
static void test_plain_elf64_higher_half(void)
{
	struct elf_spec s = plain64;
	struct vm vm;
	struct x86_state boot;
	uint8_t *img;
	size_t size;
	char err[256] = "";

	s.segs[0].vaddr = 0xffffffff80400000ull;
	s.segs[1].vaddr = 0xffffffff80402000ull;
	s.entry = 0xffffffff80400123ull;
	size = build_elf(&s, &img);
	struct loader_args a = { .kernel = "hh.elf", .image = img, .image_size = size };

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL(loader_elf64(&vm, img, size, &a, &boot, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(boot.rip, 0x400123);
	check_segments(&vm, &s, img);
	vm_mem_exit(&vm);
	free(img);
}

/* More than 3 GiB of RAM: low RAM up to the hole, the rest from 4 GiB. */
static void test_highmem_map(void)
{
	struct vm vm;
	struct x86_state boot;
	struct mmap_entry e[8];
	uint8_t *img;
	size_t size = build_elf(&mb_elf32, &img);
	char err[256] = "";
	struct loader_args a = { .image = img, .image_size = size };
	unsigned n;

	vm_setup(&vm, 5ull << 30);
	CU_ASSERT_EQUAL_FATAL(vm.nr_ram, 2);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rd32(&vm, INFO + 8), (0xc0000000u - MiB) / 1024);
	n = check_mmap_is_e820(&vm, e, 8);
	CU_ASSERT_FATAL(n == 5);
	CU_ASSERT(e[3].base == MiB && e[3].len == 0xc0000000ull - MiB && e[3].type == 1);
	CU_ASSERT(e[4].base == 1ull << 32 && e[4].len == 2ull << 30 && e[4].type == 1);
	vm_mem_exit(&vm);
	free(img);
}

/* libelf must only read the image: give it one it cannot write. */
static void test_readonly_image(void)
{
	struct vm vm;
	struct x86_state boot;
	uint8_t *img, *ro;
	size_t size = build_elf(&plain64, &img);
	char err[256] = "";

	ro = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(ro != MAP_FAILED);
	memcpy(ro, img, size);
	CU_ASSERT_FATAL(mprotect(ro, size, PROT_READ) == 0);
	struct loader_args a = { .kernel = "ro.elf", .image = ro, .image_size = size };

	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(loader_is_multiboot(ro, size), 0);
	check_segments(&vm, &plain64, img);
	vm_mem_exit(&vm);
	munmap(ro, size);
	free(img);
}

/* ---- errors: exact messages, -errno, and guest memory left alone ---- */

static int expect_fail(struct loader_args *a, uint64_t ram, int want_ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int expect_fail(struct loader_args *a, uint64_t ram, int want_ret, const char *fmt, ...)
{
	struct vm vm;
	struct x86_state boot;
	char err[512] = "", want[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	vm_setup(&vm, ram);
	memset(&boot, 0x77, sizeof(boot));
	ret = loader_load(&vm, a, &boot, err, sizeof(err));
	CU_ASSERT_EQUAL(ret, want_ret);
	CU_ASSERT_STRING_EQUAL(err, want);
	if (strcmp(err, want))
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
	/* Refused before anything was written: RAM and the boot state untouched. */
	CU_ASSERT(guest_all(&vm, 0, 0xcc, vm.ram[0].size < 16 * MiB ? vm.ram[0].size : 16 * MiB));
	CU_ASSERT_EQUAL(boot.rip, 0x7777777777777777ull);
	vm_mem_exit(&vm);
	return ret;
}

static void test_err_files(void)
{
	struct loader_args a = { .kernel = tmp_path("no-such-kernel") };
	uint8_t *img;
	size_t size = build_elf(&mb_elf32, &img);

	expect_fail(&a, RAM_SIZE, -ENOENT,
		    "cannot open kernel '%s': No such file or directory", a.kernel);
	a.kernel = write_file("empty", "", 0);
	expect_fail(&a, RAM_SIZE, -ENOEXEC, "kernel '%s' is empty", a.kernel);
	a.kernel = tmpdir;
	expect_fail(&a, RAM_SIZE, -EINVAL, "kernel '%s' is not a regular file", a.kernel);

	a.kernel = write_file("good.elf", img, size);
	a.initrd = tmp_path("no-such-initrd");
	expect_fail(&a, RAM_SIZE, -ENOENT,
		    "cannot open initrd '%s': No such file or directory", a.initrd);
	a.initrd = write_file("empty-initrd", "", 0);
	expect_fail(&a, RAM_SIZE, -ENOEXEC, "initrd '%s' is empty", a.initrd);
	free(img);
}

static void test_err_formats(void)
{
	static const char garbage[] = "#!/bin/sh\necho this is not a kernel\n";
	struct loader_args a = { .kernel = write_file("garbage", garbage, sizeof(garbage)) };
	struct elf_spec s;
	uint8_t *img;
	size_t size;

	expect_fail(&a, RAM_SIZE, -ENOEXEC, "'%s' is not a bzImage, multiboot or ELF64 kernel", a.kernel);

	size = build_elf(&plain64, &img);
	a.kernel = write_file("trunc-ehdr", img, 30);
	expect_fail(&a, RAM_SIZE, -ENOEXEC, "kernel '%s': truncated ELF header (30 of 64 bytes)",
		    a.kernel);
	/* Cut in the middle of the second program header. */
	a.kernel = write_file("trunc-phdr", img, 64 + 56 + 10);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s': truncated program header table (2 entries at offset 0x40, "
		    "file size 130)", a.kernel);
	/* Segment 1's 0x10 bytes at 0x2000 are gone. */
	a.kernel = write_file("trunc-seg", img, 0x2008);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s': segment 1 (0x10 bytes at offset 0x2000) extends beyond the end "
		    "of the file (8200 bytes)", a.kernel);
	free(img);

	s = plain64;
	s.machine = EM_ARM;
	size = build_elf(&s, &img);
	a.kernel = write_file("arm.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s' is an ELF for another machine (e_machine 40), not x86", a.kernel);
	free(img);

	s = mb_elf32;
	s.mb = 0;
	size = build_elf(&s, &img);
	a.kernel = write_file("plain32.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s' is a 32-bit ELF without a multiboot header (unsupported)",
		    a.kernel);
	free(img);

	s = plain64;
	s.type = ET_DYN;
	size = build_elf(&s, &img);
	a.kernel = write_file("dyn.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC, "kernel '%s' is not an executable ELF (e_type 3)",
		    a.kernel);
	free(img);
}

static void test_err_multiboot(void)
{
	struct loader_args a = { 0 };
	struct elf_spec s = mb_elf32;
	uint8_t *img;
	size_t size = build_elf(&s, &img);

	img[SEG_OFF(0) + 8] ^= 1;	/* checksum */
	a.kernel = write_file("badsum.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s': bad multiboot header checksum at offset 0x1000", a.kernel);
	CU_ASSERT_EQUAL(loader_is_multiboot(img, size), 0);
	free(img);

	s.mb_flags = 0x3 | (1u << 5);	/* an undefined requirement */
	size = build_elf(&s, &img);
	a.kernel = write_file("unknown-flag.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s': multiboot header requires unknown features (flags 0x20)",
		    a.kernel);
	free(img);

	/* The video mode request (bit 2) is accepted, the info just has no video. */
	s.mb_flags = 0x7;
	size = build_elf(&s, &img);
	{
		struct vm vm;
		struct x86_state boot;
		char err[256] = "";

		a.kernel = "video.elf";
		vm_setup(&vm, RAM_SIZE);
		CU_ASSERT_EQUAL(loader_multiboot(&vm, img, size, &a, &boot, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(rd32(&vm, INFO) & (1u << 11 | 1u << 12), 0);
		CU_ASSERT_EQUAL(boot.rip, 0x100010);
		vm_mem_exit(&vm);
	}
	free(img);

	/* a.out kludge: load_end_addr past the end of the file. */
	size = build_aout(&img);
	{
		uint32_t bad_end = AOUT_LOAD + AOUT_FILE + 1;

		memcpy(img + AOUT_HDR_OFF + 20, &bad_end, 4);
	}
	a.kernel = write_file("aout-bad", img, size);
	expect_fail(&a, RAM_SIZE, -ENOEXEC,
		    "kernel '%s': multiboot load_end_addr 0x180601 is beyond the end of the file",
		    a.kernel);
	free(img);
}

static void test_err_placement(void)
{
	struct loader_args a = { 0 };
	struct elf_spec s = plain64;
	const size_t big_size = 1536 * 1024;
	uint8_t *img, *big = malloc(big_size);
	size_t size;
	char *line;

	/* Segment 0 fits; segment 1 at 2 GiB does not: nothing may be written. */
	s.segs[1].paddr = 0x80000000;
	size = build_elf(&s, &img);
	a.kernel = write_file("outside.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ERANGE,
		    "kernel '%s': segment 0x80000000-0x80002fff is outside guest RAM", a.kernel);
	free(img);

	s = mb_elf32;
	s.segs[1].paddr = 0x9e000;
	size = build_elf(&s, &img);
	a.kernel = write_file("lowmem.elf", img, size);
	expect_fail(&a, RAM_SIZE, -ERANGE,
		    "kernel '%s': segment 0x9e000-0xa07ff overlaps memory the memory map "
		    "reserves (EBDA, VGA, BIOS and ACPI area 0x9fc00-0xfffff)", a.kernel);
	free(img);

	/* 2 MiB of RAM, all of it usable RAM above 4 KiB taken by the kernel. */
	s = mb_elf32;
	s.entry = 0x1010;
	s.segs[0].paddr = 0x1000;
	s.segs[0].memsz = 0x9fc00 - 0x1000;
	s.segs[1].paddr = 0x100000;
	s.segs[1].memsz = 0x100000;
	size = build_elf(&s, &img);
	a.kernel = write_file("full.elf", img, size);
	expect_fail(&a, 2 * MiB, -ERANGE,
		    "kernel '%s': no free guest RAM below 4 GiB for the multiboot info (%u "
		    "bytes) beside the kernel and initrd", a.kernel, 120 + 4 * 24 + 7 +
		    (unsigned)strlen(a.kernel) + 1);
	free(img);

	/* 2 MiB of RAM: a 1.5 MiB initrd cannot follow a kernel at 1 MiB. */
	size = build_elf(&mb_elf32, &img);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 1, big_size);
	a.kernel = write_file("small.elf", img, size);
	a.initrd = write_file("big-initrd", big, big_size);
	free(big);
	expect_fail(&a, 2 * MiB, -ERANGE,
		    "initrd '%s' (1572864 bytes) does not fit in guest RAM below 4 GiB after "
		    "the kernel", a.initrd);
	a.initrd = NULL;

	/* A command line that cannot fit in the info area below 0x9f000. */
	line = malloc(700 * 1024);
	CU_ASSERT_FATAL(line != NULL);
	memset(line, 'x', 700 * 1024 - 1);
	line[700 * 1024 - 1] = 0;
	a.cmdline = line;
	{
		struct vm vm;
		struct x86_state boot;
		char err[256] = "";

		vm_setup(&vm, RAM_SIZE);
		CU_ASSERT_EQUAL(loader_load(&vm, &a, &boot, err, sizeof(err)), -E2BIG);
		CU_ASSERT(strncmp(err, "kernel command line too long (", 30) == 0);
		CU_ASSERT(guest_all(&vm, MiB, 0xcc, 0x20000));
		vm_mem_exit(&vm);
	}
	free(line);
	free(img);
}

/* Does [a, a + alen) overlap [b, b + blen)? */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * A multiboot kernel linked at 0x8000, over the info's usual place (as
 * QEMU takes it): the info, its strings and map move to free RAM.
 */
static void test_multiboot_low(void)
{
	struct elf_spec s = mb_elf32;
	struct loader_args a = { .cmdline = "low=1" };
	struct vm vm;
	struct x86_state boot;
	uint8_t *img, initrd[100];
	char err[256] = "";
	size_t size;
	uint32_t info, mmap, mmap_len, mods, cmd;

	s.entry = 0x8010;
	s.segs[0].paddr = 0x8000;
	s.segs[1].paddr = 0x9000;	/* data + bss to 0xb800: over 0x9000 */
	size = build_elf(&s, &img);
	memset(initrd, 0x3c, sizeof(initrd));
	a.kernel = write_file("low.elf", img, size);
	a.initrd = write_file("low-initrd", initrd, sizeof(initrd));
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	check_segments(&vm, &s, img);
	info = (uint32_t)boot.gpr[R_BX];
	check_flat32_at(&boot, 0x8010, info);
	CU_ASSERT(info != INFO && info >= 0x1000);
	/* Nothing of the info over the kernel, and all of it in low RAM. */
	mmap = rd32(&vm, info + 48);
	mmap_len = rd32(&vm, info + 44);
	mods = rd32(&vm, info + 24);
	cmd = rd32(&vm, info + 16);
	CU_ASSERT(!overlaps(info, 120, 0x8000, 0xb800 - 0x8000));
	CU_ASSERT(!overlaps(mmap, mmap_len, 0x8000, 0xb800 - 0x8000));
	CU_ASSERT(!overlaps(mods, 16, 0x8000, 0xb800 - 0x8000));
	CU_ASSERT(!overlaps(cmd, strlen(a.kernel) + 7, 0x8000, 0xb800 - 0x8000));
	CU_ASSERT(mmap + mmap_len <= 0x9fc00 && cmd < 0x9fc00);
	CU_ASSERT_EQUAL(mmap_len, 4 * 24);
	CU_ASSERT_EQUAL(rd64(&vm, mmap + 12), 0x9fc00);	/* entry 0: low RAM */
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, info + 64)), "tandem");
	{
		char want[300];

		snprintf(want, sizeof(want), "%s low=1", a.kernel);
		CU_ASSERT_STRING_EQUAL(guest_str(&vm, cmd), want);
	}
	/* The initrd still follows at 1 MiB, past the (low) kernel. */
	CU_ASSERT_EQUAL(rd32(&vm, info + 20), 1);
	CU_ASSERT_EQUAL(rd32(&vm, mods), MiB);
	CU_ASSERT(guest_is(&vm, MiB, initrd, sizeof(initrd)));
	/* The ACPI tables a Linux boot gets: the RSDP where a scan of 0xe0000-0xfffff finds it. */
	CU_ASSERT(guest_is(&vm, 0xf0000, "RSD PTR ", 8));
	vm_mem_exit(&vm);
	free(img);
}

/* A plain ELF64 kernel over the page tables' usual place: they move. */
static void test_plain_elf64_low(void)
{
	struct elf_spec s = plain64;
	struct loader_args a = { 0 };
	struct vm vm;
	struct x86_state boot;
	uint8_t *img;
	char err[256] = "";
	size_t size;

	s.entry = 0x2100;
	s.segs[0].paddr = 0x2000;
	s.segs[1].paddr = 0x4000;	/* to 0x7000 */
	size = build_elf(&s, &img);
	a.kernel = write_file("low64.elf", img, size);
	vm_setup(&vm, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_load(&vm, &a, &boot, err, sizeof(err)), 0);
	check_segments(&vm, &s, img);
	CU_ASSERT_EQUAL(boot.rip, 0x2100);
	/* Tables block (32 KiB: tables, GDT, stack) clear of [0x2000, 0x7000). */
	CU_ASSERT(!(boot.cr3 & 0xfff));
	CU_ASSERT(!overlaps(boot.cr3, 0x8000, 0x2000, 0x5000));
	CU_ASSERT_EQUAL(boot.gpr[R_SP], boot.cr3 + 0x8000);
	CU_ASSERT_EQUAL(boot.gdt.base, boot.cr3 + 0x6000);
	CU_ASSERT_EQUAL(gdt_attr(&vm, &boot, boot.seg[S_CS].sel), boot.seg[S_CS].attr);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0x12345678), 0x12345678);
	CU_ASSERT_EQUAL(walk(&vm, boot.cr3, 0xffffffff), 0xffffffff);
	/* The info clear of both. */
	CU_ASSERT(!overlaps(boot.gpr[R_BX], 120, 0x2000, 0x5000));
	CU_ASSERT(!overlaps(boot.gpr[R_BX], 120, boot.cr3, 0x8000));
	CU_ASSERT_EQUAL(boot.gpr[R_DI], boot.gpr[R_BX]);
	CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, boot.gpr[R_BX] + 64)), "tandem");
	CU_ASSERT(guest_is(&vm, 0xf0000, "RSD PTR ", 8));
	vm_mem_exit(&vm);
	free(img);
}

/* ---- robustness: random mutations of valid images ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: the same sequence on every libc. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static const uint64_t interesting[] = {
	0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x100000, 0x1000, 0x9000, 0x9fc00,
	0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000ull, 0x3ffffff,
	0x4000000, 0x7fffffffffffffffull, 0xffffffffffffffffull, 0xfffffffffffff000ull,
};

/*
 * A few random mutations of @buf; three in four aim at [@lo, @hi), where
 * the header is: that is where the interesting bugs are.
 */
static void mutate_in(uint8_t *buf, size_t *size, size_t lo, size_t hi)
{
	unsigned n = 1 + rnd() % 6;

	for (unsigned k = 0; k < n && *size; k++) {
		size_t off;
		uint64_t v;
		unsigned w;

		if (rnd() % 4 && lo < *size)
			off = lo + rnd() % ((hi < *size ? hi : *size) - lo);
		else
			off = rnd() % *size;
		v = interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
		w = 1u << (rnd() % 4);

		switch (rnd() % 5) {
		case 0:
			buf[off] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			buf[off] = (uint8_t)rnd();
			break;
		case 2:
		case 3:
			if (off + w <= *size)
				memcpy(buf + off, &v, w);
			break;
		case 4:
			if (rnd() % 3 == 0)
				*size = off;	/* truncate */
			break;
		}
	}
}

static void mutate(uint8_t *buf, size_t *size)
{
	mutate_in(buf, size, 0, 0x200);
}

/* @len bytes ending exactly at a PROT_NONE guard page, themselves read-only. */
static uint8_t *guarded_copy(const uint8_t *src, size_t len, void **map, size_t *maplen)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + pg - 1) / pg;
	uint8_t *m;

	*maplen = (data_pages + 1) * pg;
	m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	memcpy(m + data_pages * pg - len, src, len);
	mprotect(m, data_pages * pg, PROT_READ);
	mprotect(m + data_pages * pg, pg, PROT_NONE);
	*map = m;
	return m + data_pages * pg - len;
}

/*
 * With TANDEM_LOADER_SEEDS=DIR, also write the valid images there as a
 * corpus for tests/unit/loader-fuzz.c (its first byte selects options).
 */
static void write_seeds(uint8_t *const *imgs, const size_t *sizes, unsigned n, unsigned first)
{
	const char *dir = getenv("TANDEM_LOADER_SEEDS");

	for (unsigned i = 0; dir && i < n; i++) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%u", dir, first + i);
		f = fopen(path, "wb");
		if (!f)
			continue;
		fputc((int)(first + i), f);
		fwrite(imgs[i], 1, sizes[i], f);
		fclose(f);
	}
}

static void test_mutations(void)
{
	const struct elf_spec *specs[] = { &mb_elf32, &mb_elf64, &plain64 };
	uint8_t *bases[4], buf[SEG_OFF(4)];
	size_t base_sizes[4];
	unsigned ok = 0, failed = 0;
	struct vm vm;
	uint8_t rd[100];

	for (unsigned i = 0; i < 3; i++)
		base_sizes[i] = build_elf(specs[i], &bases[i]);
	base_sizes[3] = build_aout(&bases[3]);
	write_seeds(bases, base_sizes, 4, 0);
	memset(rd, 0x42, sizeof(rd));
	vm_setup(&vm, RAM_SIZE);

	for (unsigned iter = 0; iter < 2000; iter++) {
		unsigned which = rnd() % 4;
		size_t size = base_sizes[which];
		struct x86_state boot;
		char err[256];
		void *map;
		size_t maplen;
		uint8_t *img;
		int ret;

		memcpy(buf, bases[which], size);
		mutate(buf, &size);
		if (!size)
			size = 1;
		img = guarded_copy(buf, size, &map, &maplen);
		struct loader_args a = { .kernel = "fuzz", .image = img, .image_size = size,
					 .cmdline = iter % 2 ? "a b c" : NULL,
					 .initrd = iter % 3 ? NULL : tmp_path("fuzz-initrd") };

		if (iter == 0)
			write_file("fuzz-initrd", rd, sizeof(rd));
		err[0] = 0;
		ret = loader_load(&vm, &a, &boot, err, sizeof(err));
		if (ret == 0) {
			ok++;
			CU_ASSERT_EQUAL(boot.gpr[R_AX], 0x2BADB002);
			/* The info moves when a mutated segment is in its way. */
			CU_ASSERT(boot.gpr[R_BX] < (1ull << 32));
			CU_ASSERT(boot.rip < (1ull << 32));
			CU_ASSERT_STRING_EQUAL(guest_str(&vm, rd32(&vm, boot.gpr[R_BX] + 64)),
					       "tandem");
		} else {
			failed++;
			CU_ASSERT(ret < 0);
			CU_ASSERT(err[0] != 0);
			CU_ASSERT(strchr(err, '\n') == NULL);
			CU_ASSERT(strncmp(err, "error:", 6) != 0);
		}
		munmap(map, maplen);
	}
	/* Both outcomes must be common, or the mutations test nothing. */
	CU_ASSERT(ok > 100);
	CU_ASSERT(failed > 100);
	printf("(%u loaded, %u refused) ", ok, failed);
	vm_mem_exit(&vm);
	for (unsigned i = 0; i < 4; i++)
		free(bases[i]);
}

/*
 * A minimal bzImage: a 4-sector setup part whose header asks for what the
 * loader needs (boot protocol 2.15, LOADED_HIGH, a 64-bit entry, a
 * relocatable kernel) and 0x1000 bytes of "kernel". Offsets are the boot
 * protocol's (Documentation/arch/x86/boot.rst).
 */
#define BZ_SETUP	(5 * 512)
#define BZ_KERNEL	0x1000u
#define BZ_HDR_LO	0x1f1u		/* the setup header ... */
#define BZ_HDR_HI	0x268u		/* ... up to init_size and handover_offset */

static size_t build_bzimage(uint8_t **out)
{
	uint8_t *b = calloc(1, BZ_SETUP + BZ_KERNEL);
	uint32_t v32;
	uint16_t v16;
	uint64_t v64;

	CU_ASSERT_FATAL(b != NULL);
	b[0x1f1] = 4;						/* setup_sects */
	v32 = BZ_KERNEL / 16;
	memcpy(b + 0x1f4, &v32, 4);				/* syssize */
	v16 = 0xaa55;
	memcpy(b + 0x1fe, &v16, 2);				/* boot_flag */
	b[0x200] = 0xeb;					/* jmp to the header's end */
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	v16 = 0x020f;
	memcpy(b + 0x206, &v16, 2);				/* version */
	b[0x211] = 0x01;					/* loadflags: LOADED_HIGH */
	v32 = 0x100000;
	memcpy(b + 0x214, &v32, 4);				/* code32_start */
	v32 = 0x7fffffff;
	memcpy(b + 0x22c, &v32, 4);				/* initrd_addr_max */
	v32 = 0x200000;
	memcpy(b + 0x230, &v32, 4);				/* kernel_alignment */
	b[0x234] = 1;						/* relocatable_kernel */
	v16 = 0x0003;
	memcpy(b + 0x236, &v16, 2);				/* xloadflags: 64-bit entry */
	v32 = 2047;
	memcpy(b + 0x238, &v32, 4);				/* cmdline_size */
	v64 = 0x1000000;
	memcpy(b + 0x258, &v64, 8);				/* pref_address */
	v32 = 0x400000;
	memcpy(b + 0x260, &v32, 4);				/* init_size */
	for (unsigned i = 0; i < BZ_KERNEL; i++)
		b[BZ_SETUP + i] = (uint8_t)(i * 7 + 3);
	*out = b;
	return BZ_SETUP + BZ_KERNEL;
}

/*
 * Move guest RAM between two PROT_NONE pages: a loader writing past
 * either end of it then faults here instead of corrupting the heap
 * unseen. Returns the reservation, to munmap() after vm_mem_exit().
 */
static uint8_t *guard_ram(struct vm *vm, size_t *len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct mem_region *r = &vm->ram[0];
	uint8_t *res;
	void *moved;

	CU_ASSERT_FATAL(vm->nr_ram == 1);
	*len = r->size + 2 * pg;
	res = mmap(NULL, *len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CU_ASSERT_FATAL(res != MAP_FAILED);
	moved = mremap(r->host, r->size, r->size, MREMAP_MAYMOVE | MREMAP_FIXED, res + pg);
	CU_ASSERT_FATAL(moved == res + pg);
	r->host = moved;
	return res;
}

/*
 * The bzImage and multiboot paths through loader_load(), as the command
 * line takes them: random mutations aimed at a valid minimal bzImage's
 * setup header and at the multiboot header of an a.out-kludge and an
 * ELF32 kernel. Each input must load or be refused with one line; RAM
 * sits between guard pages, the image ends at one.
 */
static void test_header_mutations(void)
{
	static const struct {
		const char *name;
		size_t lo, hi;		/* the header the mutations aim at */
	} kinds[] = {
		{ "bzImage", BZ_HDR_LO, BZ_HDR_HI },
		{ "multiboot a.out", AOUT_HDR_OFF, AOUT_HDR_OFF + 32 },
		{ "multiboot ELF32", SEG_OFF(0), SEG_OFF(0) + 12 },
	};
	enum { NR_KINDS = sizeof(kinds) / sizeof(kinds[0]), ITERS = 3000 };
	unsigned ok[NR_KINDS] = { 0 }, refused[NR_KINDS] = { 0 };
	uint8_t *bases[NR_KINDS], *buf, *guard;
	size_t sizes[NR_KINDS], guard_len, max = 0;
	uint8_t rd[100];
	struct vm vm;

	sizes[0] = build_bzimage(&bases[0]);
	sizes[1] = build_aout(&bases[1]);
	sizes[2] = build_elf(&mb_elf32, &bases[2]);
	write_seeds(bases, sizes, 1, 4);	/* the bzImage; the others are seeds 0-3 */
	for (unsigned k = 0; k < NR_KINDS; k++)
		max = sizes[k] > max ? sizes[k] : max;
	buf = malloc(max);
	CU_ASSERT_FATAL(buf != NULL);
	memset(rd, 0x42, sizeof(rd));
	write_file("fuzz-initrd", rd, sizeof(rd));
	vm_setup(&vm, RAM_SIZE);
	guard = guard_ram(&vm, &guard_len);

	for (unsigned iter = 0; iter < ITERS * NR_KINDS; iter++) {
		unsigned k = iter % NR_KINDS;
		size_t size = sizes[k], maplen;
		struct x86_state boot;
		char err[256] = "";
		void *map;
		uint8_t *img;
		int ret;

		memcpy(buf, bases[k], size);
		mutate_in(buf, &size, kinds[k].lo, kinds[k].hi);
		if (!size)
			size = 1;
		img = guarded_copy(buf, size, &map, &maplen);
		struct loader_args a = { .kernel = "fuzz", .image = img, .image_size = size,
					 .cmdline = iter % 2 ? "console=ttyS0" : NULL,
					 .initrd = iter % 5 ? NULL : tmp_path("fuzz-initrd") };

		ret = loader_load(&vm, &a, &boot, err, sizeof(err));
		if (ret == 0 && boot.gpr[R_AX] == 0x2BADB002) {
			ok[k]++;
			CU_ASSERT_EQUAL(boot.gpr[R_BX], INFO);
			CU_ASSERT(boot.rip < (1ull << 32));
		} else if (ret == 0) {
			/* Linux: 64-bit entry in RAM, boot_params (RSI) with the header. */
			const uint8_t *zp = gpa_to_hva(&vm, boot.gpr[R_SI], 0x1000);

			ok[k]++;
			CU_ASSERT(boot.efer & X86_EFER_LMA);
			CU_ASSERT(gpa_to_hva(&vm, boot.rip, 1) != NULL);
			CU_ASSERT(zp && !memcmp(zp + 0x202, "HdrS", 4));
		} else {
			refused[k]++;
			CU_ASSERT(ret < 0);
			CU_ASSERT(err[0] != 0);
			CU_ASSERT(strchr(err, '\n') == NULL);
		}
		munmap(map, maplen);
	}
	printf("(");
	for (unsigned k = 0; k < NR_KINDS; k++) {
		/* Both outcomes common, or the mutations test nothing. */
		CU_ASSERT(ok[k] > ITERS / 20);
		CU_ASSERT(refused[k] > ITERS / 20);
		printf("%s%s: %u loaded, %u refused", k ? "; " : "", kinds[k].name, ok[k],
		       refused[k]);
	}
	printf(") ");
	vm_mem_exit(&vm);
	munmap(guard, guard_len);
	for (unsigned k = 0; k < NR_KINDS; k++)
		free(bases[k]);
	free(buf);
}

/* ---- suite ---- */

static int suite_init(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/tandem-loader-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	static const char *const names[] = {
		"mb32.elf", "initrd.img", "mb64.elf", "plain64.elf", "rd64", "empty", "good.elf",
		"empty-initrd", "garbage", "trunc-ehdr", "trunc-phdr", "trunc-seg", "arm.elf",
		"plain32.elf", "dyn.elf", "badsum.elf", "unknown-flag.elf", "aout-bad",
		"outside.elf", "lowmem.elf", "small.elf", "big-initrd", "fuzz-initrd",
		"full.elf", "low.elf", "low-initrd", "low64.elf",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	return rmdir(tmpdir);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "multiboot ELF32 + initrd + cmdline", test_multiboot_elf32 },
		{ "multiboot ELF64 (32-bit entry)", test_multiboot_elf64 },
		{ "multiboot a.out kludge, in memory", test_multiboot_aout },
		{ "plain ELF64: long mode, page tables", test_plain_elf64 },
		{ "plain ELF64: higher-half entry", test_plain_elf64_higher_half },
		{ "multiboot linked at 0x8000: info moved", test_multiboot_low },
		{ "plain ELF64 over the tables: tables moved", test_plain_elf64_low },
		{ "memory map with RAM above 4 GiB", test_highmem_map },
		{ "read-only image", test_readonly_image },
		{ "errors: files", test_err_files },
		{ "errors: formats", test_err_formats },
		{ "errors: multiboot header", test_err_multiboot },
		{ "errors: placement", test_err_placement },
		{ "2000 random mutations", test_mutations },
		{ "bzImage and multiboot header mutations, RAM guarded", test_header_mutations },
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("loader", suite_init, suite_clean);
	for (unsigned i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
