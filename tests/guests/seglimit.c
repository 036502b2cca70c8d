// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seglimit: segment limit and access-rights checks in 32-bit protected
 * mode (lib32 runtime), the faults prot32 cannot record because QEMU TCG
 * does not model them (it checks neither data segment limits nor
 * writability). Expected results follow the SDM (vol. 3, 5.3 "Limit
 * checking", 5.4-5.6 type and privilege checks): a byte, word or dword
 * access faults when any of its bytes is outside the segment; accesses
 * through SS (explicit or implied by ESP/EBP) raise #SS(0), the others
 * #GP(0); loading a segment register checks type/presence and faults
 * with the selector.
 */
#include "guest32.h"

const char guest_name[] = "seglimit";

#define SEL_SMALL	0x18	/* data RW, base seg_buf, limit 0xfff, byte granular */
#define SEL_EXPDOWN	0x20	/* data RW expand-down, base 0, limit 0xfffff, B=1 */
#define SEL_RODATA	0x28	/* data read-only, flat */
#define SEL_EXPDOWN16	0x30	/* data RW expand-down, base seg_buf, limit 0xfff, B=0 */
#define SEL_PAGES	0x38	/* data RW, base seg_buf, limit 0 with G=1 (4 KiB) */
#define SEL_XONLY	0x40	/* code execute-only, flat */
#define SEL_SHORTCODE	0x48	/* code RX, base 0, limit 0xfffff: ends below the image */
#define SEL_NOTPRESENT	0x50	/* data RW, P=0 */

static uint64_t gdt[11] __attribute__((aligned(8)));
static uint8_t seg_buf[0x11000] __attribute__((aligned(4096)));

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static void setup_gdt(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };
	uint32_t buf = (uintptr_t)seg_buf;

	gdt[0] = 0;
	gdt[1] = 0x00cf9a000000ffffull;			/* 0x08 code, flat */
	gdt[2] = 0x00cf92000000ffffull;			/* 0x10 data, flat */
	gdt[3] = seg_desc(buf, 0xfff, 0x92, 0x4);
	gdt[4] = seg_desc(0, 0xfffff, 0x96, 0x4);
	gdt[5] = 0x00cf90000000ffffull;
	gdt[6] = seg_desc(buf, 0xfff, 0x96, 0x0);
	gdt[7] = seg_desc(buf, 0, 0x92, 0xc);
	gdt[8] = 0x00cf98000000ffffull;
	gdt[9] = seg_desc(0, 0xfffff, 0x9a, 0x4);
	gdt[10] = 0x00cf12000000ffffull;
	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%fs\n\t"
		     "movl %%eax, %%gs\n\t"
		     "movl %%eax, %%ss"
		     : : "m"(gd), "i"(SEL_CODE), "i"(SEL_DATA) : "eax", "memory");
}

static void load_gs(uint16_t sel)
{
	asm volatile("movw %0, %%gs" : : "r"(sel) : "memory");
}

/* The fault was #GP/#SS(@err) at the instruction under test. */
static bool fault(uint32_t vec, uint32_t want, uint32_t err)
{
	return vec == want && trap_last.error_code == err && trap_last.eip == trap_last.start;
}

static void test_limits(void)
{
	uint32_t v = 0, vec;

	load_gs(SEL_SMALL);
	vec = TRAP_TRY("movl %%gs:0xffc, %0", : "=r"(v));
	check(vec == TRAP_NONE, "limit 0xfff: dword at 0xffc (last 4 bytes) is fine");
	vec = TRAP_TRY("movl %%gs:0xffd, %0", : "=r"(v));
	check(fault(vec, 13, 0), "limit 0xfff: dword at 0xffd crosses the limit: #GP(0)");
	vec = TRAP_TRY("movw %%gs:0xffe, %w0", : "=r"(v));
	check(vec == TRAP_NONE, "limit 0xfff: word at 0xffe is fine");
	vec = TRAP_TRY("movw %%gs:0xfff, %w0", : "=r"(v));
	check(fault(vec, 13, 0), "limit 0xfff: word at 0xfff crosses the limit: #GP(0)");
	vec = TRAP_TRY("movb $1, %%gs:0x1000", : : : "memory");
	check(fault(vec, 13, 0) && seg_buf[0x1000] == 0,
	      "limit 0xfff: byte write at 0x1000: #GP(0), memory untouched");
	vec = TRAP_TRY("movl %%gs:0xfffffffc, %0", : "=r"(v));
	check(fault(vec, 13, 0), "limit 0xfff: offset 0xfffffffc (no wrap-around): #GP(0)");

	load_gs(SEL_PAGES);
	vec = TRAP_TRY("movb %%gs:0xfff, %b0", : "=q"(v));
	check(vec == TRAP_NONE, "G=1, limit 0: offsets up to 0xfff are inside");
	vec = TRAP_TRY("movb %%gs:0x1000, %b0", : "=q"(v));
	check(fault(vec, 13, 0), "G=1, limit 0: offset 0x1000 is outside: #GP(0)");

	load_gs(SEL_EXPDOWN16);
	seg_buf[0x1000] = 0x5a;
	vec = TRAP_TRY("movb %%gs:0x1000, %b0", : "=q"(v));
	check(vec == TRAP_NONE && (v & 0xff) == 0x5a,
	      "expand-down B=0, limit 0xfff: offset 0x1000 is the first valid byte");
	vec = TRAP_TRY("movb %%gs:0xfff, %b0", : "=q"(v));
	check(fault(vec, 13, 0), "expand-down B=0: offset 0xfff (at the limit): #GP(0)");
	vec = TRAP_TRY("movw %%gs:0xfffe, %w0", : "=r"(v));
	check(vec == TRAP_NONE, "expand-down B=0: word at 0xfffe ends at the 0xffff bound");
	vec = TRAP_TRY("movl %%gs:0xfffe, %0", : "=r"(v));
	check(fault(vec, 13, 0), "expand-down B=0: dword at 0xfffe crosses 0xffff: #GP(0)");

	load_gs(SEL_EXPDOWN);
	vec = TRAP_TRY("movl %%gs:0x8000, %0", : "=r"(v));
	check(fault(vec, 13, 0), "expand-down B=1, limit 0xfffff: offset 0x8000: #GP(0)");
	vec = TRAP_TRY("movl %%gs:0xffffe, %0", : "=r"(v));
	check(fault(vec, 13, 0), "expand-down B=1: dword starting below limit + 1: #GP(0)");
	vec = TRAP_TRY("movl %%gs:0xfffffffc, %0", : "=r"(v));
	check(vec == TRAP_NONE, "expand-down B=1: dword at 0xfffffffc is inside");
	load_gs(SEL_DATA);
}

static void test_stack_segment(void)
{
	uint32_t v = 0, vec;

	/* ESP (above 1 MiB) stays valid under the expand-down SS. */
	asm volatile("movw %w0, %%ss" : : "r"(SEL_EXPDOWN) : "memory");
	vec = TRAP_TRY("movl %%ss:0x8000, %0", : "=r"(v));
	check(fault(vec, 12, 0), "expand-down SS: SS: override below the limit is #SS(0)");
	/* By hand rather than TRAP_TRY: the fixup must still pop EBP. */
	trap_last.vector = TRAP_NONE;
	asm volatile("pushl %%ebp\n\t"
		     "movl $1f, trap_start\n\t"
		     "movl $2f, trap_fixup\n\t"
		     "movl $0x8000, %%ebp\n"
		     "1:\tmovl (%%ebp), %%eax\n"
		     "2:\tpopl %%ebp\n\t"
		     "movl $0, trap_fixup"
		     : : : "eax", "memory");
	vec = trap_last.vector;
	check(fault(vec, 12, 0), "EBP-based address defaults to SS: #SS(0) below the limit");
	vec = TRAP_TRY("movl $0x8000, %0\n\tmovl (%0), %0", : "=b"(v));
	check(vec == TRAP_NONE, "EBX-based address at the same offset uses DS: no fault");
	asm volatile("movw %w0, %%ss" : : "r"(SEL_DATA) : "memory");
}

/*
 * The #GP of a far jump past the CS limit belongs to the jump (CS is not
 * loaded). Should a CPU take the jump and fault on the next fetch instead,
 * this records the fault like the runtime does and also puts the flat CS
 * back, so the check fails instead of the guest.
 */
static void gp_restore_cs(struct trap_frame *f)
{
	trap_last.vector = f->vector;
	trap_last.error_code = f->error_code;
	trap_last.eip = f->eip;
	trap_last.cs = f->cs & 0xffff;
	trap_last.start = trap_start;
	trap_last.fixup = trap_fixup;
	f->eip = trap_fixup;
	f->cs = SEL_CODE;
	trap_fixup = 0;
}

static void test_rights(void)
{
	uint32_t v = 0, vec;

	load_gs(SEL_RODATA);
	vec = TRAP_TRY("movl $0, %%gs:(%0)", : : "r"(seg_buf) : "memory");
	check(fault(vec, 13, 0), "read-only data segment: write is #GP(0)");
	vec = TRAP_TRY("incl %%gs:(%0)", : : "r"(seg_buf) : "memory");
	check(fault(vec, 13, 0), "read-only data segment: read-modify-write is #GP(0)");

	load_gs(SEL_CODE);
	vec = TRAP_TRY("movl %%gs:0x100000, %0", : "=r"(v));
	check(vec == TRAP_NONE && v == 0x1BADB002u, "readable code segment in GS: reads work");
	vec = TRAP_TRY("movl $0, %%gs:(%0)", : : "r"(seg_buf) : "memory");
	check(fault(vec, 13, 0), "code segment in GS: write is #GP(0)");
	vec = TRAP_TRY("movl $0, %%cs:(%0)", : : "r"(seg_buf) : "memory");
	check(fault(vec, 13, 0), "CS: override write: #GP(0)");

	load_gs(SEL_DATA);
	vec = TRAP_TRY("movw %w0, %%gs", : : "r"(SEL_XONLY));
	check(fault(vec, 13, SEL_XONLY), "loading an execute-only code segment into GS: #GP(sel)");
	vec = TRAP_TRY("movw %w0, %%gs", : : "r"(SEL_NOTPRESENT));
	check(fault(vec, 11, SEL_NOTPRESENT), "loading a not-present segment: #NP(sel)");
	vec = TRAP_TRY("movw %w0, %%ss", : : "r"(SEL_RODATA));
	asm volatile("movw %w0, %%ss" : : "r"(SEL_DATA) : "memory");
	check(fault(vec, 13, SEL_RODATA), "loading SS with a read-only segment: #GP(sel)");
	vec = TRAP_TRY("movw %w0, %%ss", : : "r"(0));
	asm volatile("movw %w0, %%ss" : : "r"(SEL_DATA) : "memory");
	check(fault(vec, 13, 0), "loading SS with the null selector: #GP(0)");
	vec = TRAP_TRY("movw %w0, %%gs", : : "r"(SEL_SHORTCODE));
	check(vec == TRAP_NONE, "loading a readable code segment into GS is fine");

	load_gs(0);
	vec = TRAP_TRY("movl %%gs:0, %0", : "=r"(v));
	check(fault(vec, 13, 0), "access through a null GS: #GP(0)");
	load_gs(SEL_DATA);

	trap_set_handler(13, gp_restore_cs);
	vec = TRAP_TRY("ljmp %0, $1f\n1:", : : "i"(SEL_SHORTCODE));
	trap_set_handler(13, NULL);
	check(fault(vec, 13, 0) && trap_last.cs == SEL_CODE,
	      "far jump past the code segment limit: #GP(0) at the jump, CS unchanged");
	vec = TRAP_TRY("ljmp %0, $0", : : "i"(SEL_RODATA));
	check(fault(vec, 13, SEL_RODATA), "far jump to a data segment: #GP(selector)");
}

void guest_main(void)
{
	uint16_t cs;

	setup_gdt();
	test_limits();
	test_stack_segment();
	test_rights();
	asm volatile("movw %%cs, %0" : "=r"(cs));
	check(cs == SEL_CODE && TRAP_TRY("ud2") == 6, "still in the flat code segment at the end");
}
