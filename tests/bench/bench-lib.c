// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Shared by the bench guests (bench-lib.h): the command line, and ring 3
 * (its assembly half is bench_asm.S). The layout is that of tests/guests/ring3.c: kvm_pvm runs
 * ring 3 on the host's own user segments, so the user selectors are
 * Linux's 0x2b/0x33.
 */
#include "guest.h"
#include "bench-lib.h"

#define SEL_TSS		0x40

/* bench_asm.S */
uint64_t bench_user_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2,
			 uint64_t user_rsp, uint64_t rflags);
uint64_t bench_kernel_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2);
void bench_user_back(void);
extern uint64_t bench_krsp, bench_user_result;

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static uint64_t gdt[10] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull,		/* 0x08 kernel code, 64-bit */
	0x00cf92000000ffffull,		/* 0x10 kernel data */
	0x00cf9a000000ffffull,		/* 0x18 kernel code, 32-bit */
	0x00cffa000000ffffull,		/* 0x20 user code, 32-bit */
	0x00cff2000000ffffull,		/* 0x28 user data */
	0x00affa000000ffffull,		/* 0x30 user code, 64-bit */
	0,
	0, 0,				/* 0x40 TSS, filled in at run time */
};

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
/* Workloads recurse (quicksort) and keep small arrays on the stack. */
static uint8_t user_stack[65536] __attribute__((aligned(4096)));

static void user_trap(struct trap_frame *f)
{
	if ((f->cs & 3) != 3 || f->vector != 6) {
		guest_printf("bench: unexpected trap: vector %lu error %#lx rip %#lx cr2 %#lx\n",
			     f->vector, f->error_code, f->rip, read_cr2());
		guest_exit(100);
	}
	/* UD2 after the function: back to ring 0 with its result. */
	bench_resume_caller(f, f->rax);
}

void bench_resume_caller(struct trap_frame *f, uint64_t result)
{
	bench_user_result = result;
	f->rip = (uintptr_t)bench_user_back;
	f->cs = BENCH_SEL_KCODE;
	f->ss = BENCH_SEL_KDATA;
	f->rsp = bench_krsp;
	f->rflags = 0x2;
}

void bench_ring3_setup(void)
{
	uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gd = { sizeof(gdt) - 1, (uintptr_t)gdt };
	unsigned i;

	tss.rsp[0] = (uintptr_t)kstack + sizeof(kstack);
	tss.iomap_base = sizeof(tss);	/* no I/O bitmap: ports only with IOPL 3 */
	gdt[8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[9] = base >> 32;
	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "pushq $1f\n\t"
		     "lretq\n"
		     "1:\tmovl %2, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     "ltr %w3"
		     : : "m"(gd), "i"(BENCH_SEL_KCODE), "i"(BENCH_SEL_KDATA), "r"(SEL_TSS)
		     : "rax", "memory");

	/* Everything user-accessible: the code, its stack and the data all
	 * live in the identity map (2 MiB pages) of the boot tables. */
	guest_pml4[0] |= PTE_US;
	for (i = 0; i < 4; i++)
		guest_pdpt[i] |= PTE_US;
	for (i = 0; i < 4 * 512; i++)
		guest_pd[i] |= PTE_US;
	write_cr3(read_cr3());
	trap_set_handler(6, user_trap);
}

uint64_t bench_ring0_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2)
{
	return bench_kernel_call(fn, arg, arg2);
}

uint64_t bench_ring3_call(uint64_t (*fn)(void *, unsigned), void *arg, unsigned arg2,
			  uint64_t rflags_extra)
{
	return bench_user_call(fn, arg, arg2, (uintptr_t)user_stack + sizeof(user_stack),
			       0x2 | rflags_extra);
}

/* Copy the value of the `@key=` word of the command line into @out. */
bool bench_cmdline_get(const char *key, char *out, size_t size)
{
	const struct mb_info *mbi = guest_mbi();
	const char *s;
	size_t klen = strlen(key), n;

	if (!(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
		return false;
	s = (const char *)(uintptr_t)mbi->cmdline;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!memcmp(s, key, klen) && s[klen] == '=') {
			s += klen + 1;
			for (n = 0; n + 1 < size && s[n] && s[n] != ' '; n++)
				out[n] = s[n];
			out[n] = 0;
			return true;
		}
		while (*s && *s != ' ')
			s++;
	}
	return false;
}
