// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ELF program headers (for multiboot and for plain ELF64 kernels) and the
 * long-mode entry of a plain ELF64 kernel: identity-mapped first 4 GiB,
 * a GDT with 64-bit code and flat data, a small stack.
 *
 * libelf does the parsing; every offset and size it hands back is still
 * checked against the file here, because a malformed kernel must only
 * ever produce an error message.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "machine/loader.h"
#include "machine/loader_int.h"
#include "machine/vm.h"

#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_PS		(1ull << 7)
#define PT_ENTRIES	512

/* GDT: null, 64-bit code (0x08), flat data (0x10), 32-bit code (0x18). */
#define GDT_CODE64	0x00af9b000000ffffull
#define GDT_DATA	0x00cf93000000ffffull
#define GDT_CODE32	0x00cf9b000000ffffull
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
/* The same descriptors in the VMX access-rights layout of struct x86_seg. */
#define ATTR_CODE64	0xa09b
#define ATTR_DATA	0xc093

static const char *class_word(unsigned cls)
{
	return cls == ELFCLASS32 ? "32-bit" : "64-bit";
}

int ldr_elf_parse(const uint8_t *img, size_t size, const char *name, enum ldr_elf_mode mode,
		  struct ldr_image *im, char *err, size_t errlen)
{
	size_t ehsz, phsz;
	GElf_Ehdr eh;
	unsigned cls;
	Elf *e = NULL;
	int ret;

	if (size < SELFMAG || memcmp(img, ELFMAG, SELFMAG)) {
		if (mode == LDR_ELF_MULTIBOOT)
			return ldr_err(err, errlen, -ENOEXEC,
				       "kernel '%s': multiboot header without load addresses "
				       "(flag 16) in a file that is not ELF", name);
		return ldr_err(err, errlen, -ENOEXEC, "kernel '%s' is not an ELF file", name);
	}
	if (size < EI_NIDENT)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': truncated ELF header (%zu bytes)", name, size);
	cls = img[EI_CLASS];
	if (cls == ELFCLASS32) {
		ehsz = sizeof(Elf32_Ehdr);
		phsz = sizeof(Elf32_Phdr);
	} else if (cls == ELFCLASS64) {
		ehsz = sizeof(Elf64_Ehdr);
		phsz = sizeof(Elf64_Phdr);
	} else {
		return ldr_err(err, errlen, -ENOEXEC, "kernel '%s': unknown ELF class %u", name,
			       cls);
	}
	if (size < ehsz)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel '%s': truncated ELF header (%zu of %zu bytes)", name, size,
			       ehsz);
	if (img[EI_DATA] != ELFDATA2LSB)
		return ldr_err(err, errlen, -ENOEXEC, "kernel '%s' is a big-endian ELF, not x86",
			       name);
	if (img[EI_VERSION] != EV_CURRENT)
		return ldr_err(err, errlen, -ENOEXEC, "kernel '%s': unknown ELF version %u", name,
			       img[EI_VERSION]);

	if (elf_version(EV_CURRENT) == EV_NONE)
		return ldr_err(err, errlen, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
	/*
	 * elf_memory() wants a char *, but in read mode with the host's byte
	 * order (checked above) libelf only reads the image: it may be const.
	 */
	e = elf_memory((char *)img, size);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		int e_no = elf_errno();

		ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s': bad ELF header%s%s", name,
			      e_no ? ": " : "", e_no ? elf_errmsg(e_no) : "");
		goto out;
	}
	if (eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "kernel '%s' is an ELF for another machine (e_machine %u), not x86",
			      name, eh.e_machine);
		goto out;
	}
	if (mode == LDR_ELF_PLAIN64 && cls == ELFCLASS32) {
		ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s' is a 32-bit ELF without "
			      "a multiboot header (unsupported)", name);
		goto out;
	}
	if ((cls == ELFCLASS32) != (eh.e_machine == EM_386)) {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "kernel '%s': %s ELF with e_machine %u (expected %s)", name,
			      class_word(cls), eh.e_machine,
			      cls == ELFCLASS32 ? "EM_386" : "EM_X86_64");
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "kernel '%s' is not an executable ELF (e_type %u)", name, eh.e_type);
		goto out;
	}
	/* e_phoff 0 means "no table" to the ELF spec (and to libelf). */
	if (eh.e_phnum == 0 || eh.e_phoff == 0 || eh.e_phnum == PN_XNUM) {
		ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s': %s program headers", name,
			      eh.e_phnum == PN_XNUM ? "too many" : "no");
		goto out;
	}
	if (eh.e_phentsize != phsz) {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "kernel '%s': program header entries of %u bytes (expected %zu)",
			      name, eh.e_phentsize, phsz);
		goto out;
	}
	if (eh.e_phoff > size || (uint64_t)eh.e_phnum * phsz > size - eh.e_phoff) {
		ret = ldr_err(err, errlen, -ENOEXEC,
			      "kernel '%s': truncated program header table (%u entries at offset "
			      "0x%llx, file size %zu)",
			      name, eh.e_phnum, (unsigned long long)eh.e_phoff, size);
		goto out;
	}

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph)) {
			ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s': program header %u: %s",
				      name, i, elf_errmsg(-1));
			goto out;
		}
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s': segment %u has "
				      "p_filesz 0x%llx > p_memsz 0x%llx", name, i,
				      (unsigned long long)ph.p_filesz,
				      (unsigned long long)ph.p_memsz);
			goto out;
		}
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s': segment %u (0x%llx "
				      "bytes at offset 0x%llx) extends beyond the end of the "
				      "file (%zu bytes)", name, i,
				      (unsigned long long)ph.p_filesz,
				      (unsigned long long)ph.p_offset, size);
			goto out;
		}
		if (mode == LDR_ELF_MULTIBOOT &&
		    (ph.p_paddr >= LDR_4G || ph.p_memsz > LDR_4G - ph.p_paddr)) {
			ret = ldr_err(err, errlen, -ERANGE, "kernel '%s': segment %u at 0x%llx "
				      "is not below 4 GiB (a multiboot kernel starts in 32-bit "
				      "mode)", name, i, (unsigned long long)ph.p_paddr);
			goto out;
		}
		ret = ldr_image_add(im, ph.p_paddr, img + ph.p_offset, ph.p_filesz, ph.p_memsz,
				    name, err, errlen);
		if (ret)
			goto out;
		im->segs[im->nr_segs - 1].vaddr = ph.p_vaddr;
	}
	if (!im->nr_segs) {
		ret = ldr_err(err, errlen, -ENOEXEC, "kernel '%s' has no loadable segments", name);
		goto out;
	}

	/*
	 * Both entries run with paging off or identity-mapped, so a virtual
	 * e_entry (higher-half kernels) is turned into the physical address
	 * of the same byte. Equal p_vaddr and p_paddr leave it unchanged.
	 */
	im->entry = eh.e_entry;
	for (unsigned i = 0; i < im->nr_segs; i++) {
		const struct ldr_seg *s = &im->segs[i];

		if (eh.e_entry >= s->vaddr && eh.e_entry - s->vaddr < s->memsz) {
			im->entry = s->paddr + (eh.e_entry - s->vaddr);
			break;
		}
	}
	if (im->entry >= LDR_4G) {
		ret = ldr_err(err, errlen, -ERANGE,
			      "kernel '%s': entry point 0x%llx is not below 4 GiB", name,
			      (unsigned long long)im->entry);
		goto out;
	}
	ret = 0;
out:
	if (e)
		elf_end(e);
	if (ret)
		ldr_image_free(im);
	return ret;
}

/*
 * The tables block at guest address @base (host @blk): 4 GiB identity map
 * with 2 MiB pages, PML4[0] -> PDPT[0..3] -> 4 PDs, then the GDT, then the
 * stack up to the block's end. Offsets as in the default layout.
 */
#define TBL_PML4	(LDR_PML4 - LDR_PML4)
#define TBL_PDPT	(LDR_PDPT - LDR_PML4)
#define TBL_PD		(LDR_PD - LDR_PML4)
#define TBL_GDT		(LDR_GDT - LDR_PML4)

static void build_page_tables(uint8_t *blk, uint64_t base)
{
	uint64_t *pml4 = (uint64_t *)(blk + TBL_PML4);
	uint64_t *pdpt = (uint64_t *)(blk + TBL_PDPT);
	uint64_t *pd = (uint64_t *)(blk + TBL_PD);

	memset(pml4, 0, LDR_PAGE);
	memset(pdpt, 0, LDR_PAGE);
	pml4[0] = (base + TBL_PDPT) | PTE_P | PTE_RW;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (base + TBL_PD + i * LDR_PAGE) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * PT_ENTRIES; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

static void seg_flat(struct x86_seg *s, uint16_t sel, uint32_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attr = attr;
}

int ldr_elf64(struct vm *vm, const uint8_t *img, size_t size, const struct loader_args *a,
	      const struct ldr_blob *initrd, struct x86_state *boot, char *err, size_t errlen)
{
	static const uint64_t gdt[] = { 0, GDT_CODE64, GDT_DATA, GDT_CODE32 };
	const char *name = ldr_kernel_name(a);
	struct ldr_image im = { 0 };
	struct ldr_range tbl;
	struct ldr_mbi mbi;
	uint8_t *blk = NULL;
	int ret;

	ret = ldr_elf_parse(img, size, name, LDR_ELF_PLAIN64, &im, err, errlen);
	if (ret)
		return ret;
	ret = ldr_image_check(vm, &im, name, err, errlen);
	if (ret)
		goto out;
	/* Page tables, GDT and stack: one block, clear of the segments (loader_int.h). */
	if (ldr_place(vm, &im, NULL, 0, LDR_TABLES_SIZE, LDR_PAGE, LDR_PML4, &tbl.start) ||
	    !(blk = gpa_to_hva(vm, tbl.start, LDR_TABLES_SIZE))) {
		ret = ldr_err(err, errlen, -ERANGE,
			      "kernel '%s': no free guest RAM below 4 GiB for the boot page "
			      "tables (%llu KiB) beside the kernel", name, LDR_TABLES_SIZE >> 10);
		goto out;
	}
	tbl.end = tbl.start + LDR_TABLES_SIZE;
	ret = ldr_mbi_plan(vm, a, initrd, &im, &tbl, 1, &mbi, err, errlen);
	if (ret)
		goto out;
	/* Checks its own arguments before writing anything: the last thing that may fail. */
	ret = ldr_acpi(vm, err, errlen);
	if (ret)
		goto out;

	/* Everything checked: from here on nothing can fail. */
	ldr_image_copy(vm, &im);
	ldr_mbi_write(vm, a, initrd, &mbi);
	build_page_tables(blk, tbl.start);
	memcpy(blk + TBL_GDT, gdt, sizeof(gdt));
	memset(blk + TBL_GDT + sizeof(gdt), 0, LDR_TABLES_SIZE - TBL_GDT - sizeof(gdt));

	x86_state_flat32(boot);
	boot->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	boot->cr4 = X86_CR4_PAE;
	boot->efer = X86_EFER_LME | X86_EFER_LMA;
	boot->cr3 = tbl.start + TBL_PML4;
	for (int i = 0; i < S_NR; i++)
		seg_flat(&boot->seg[i], SEL_DATA, ATTR_DATA);
	seg_flat(&boot->seg[S_CS], SEL_CODE64, ATTR_CODE64);
	boot->gdt.base = tbl.start + TBL_GDT;
	boot->gdt.limit = sizeof(gdt) - 1;
	boot->rip = im.entry;
	boot->rflags = X86_RFLAGS_FIXED;
	boot->gpr[R_SP] = tbl.end;
	boot->gpr[R_AX] = MB_BOOT_MAGIC;
	boot->gpr[R_BX] = mbi.info;
	boot->gpr[R_DI] = mbi.info;
out:
	ldr_image_free(&im);
	return ret;
}

int loader_elf64(struct vm *vm, const uint8_t *img, size_t size,
		 const struct loader_args *a, struct x86_state *boot,
		 char *err, size_t errlen)
{
	return ldr_with_initrd(vm, img, size, a, boot, err, errlen, ldr_elf64);
}
