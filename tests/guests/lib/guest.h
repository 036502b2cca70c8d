/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_GUEST_H
#define TANDEM_GUEST_H
/*
 * The guest kit runtime: a freestanding 64-bit environment for bare-metal
 * test guests. lib/entry.S takes the multiboot v1 hand-off (32-bit flat
 * protected mode), switches to long mode with the first 4 GiB identity
 * mapped by 2 MiB pages, and calls guest_main() (defined by each guest).
 * When guest_main() returns, the runtime prints the summary line and exits
 * through the debug-exit port with the number of failed checks.
 *
 * Everything a guest prints must be identical on KVM, the software CPU and
 * QEMU TCG: no addresses that vary, no timings, no host-specific CPUID bits.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- provided by each guest ---------------------------------------- */

extern const char guest_name[];
void guest_main(void);

/* ---- multiboot v1 ---------------------------------------------------- */

#define MB_BOOT_MAGIC		0x2BADB002u
#define MB_INFO_MEM		(1u << 0)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_MMAP		(1u << 6)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;		/* KiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

/* @size counts the bytes after the size field itself. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;				/* 1 = available RAM */
} __attribute__((packed));

/* EAX and EBX as the loader left them, saved by the 32-bit entry. */
extern uint32_t guest_mb_magic;
extern uint32_t guest_mb_info_addr;

static inline const struct mb_info *guest_mbi(void)
{
	return (const struct mb_info *)(uintptr_t)guest_mb_info_addr;
}

/* ---- boot page tables (lib/entry.S) ---------------------------------- */

/*
 * PML4[0] -> PDPT[0..3] -> 4 page directories of 2 MiB pages, identity
 * mapping 0..4 GiB. Guests may edit them (and must flush what they edit).
 */
#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_US		(1ull << 2)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_NX		(1ull << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ull

extern uint64_t guest_pml4[512];
extern uint64_t guest_pdpt[512];
extern uint64_t guest_pd[4 * 512];

/* GDT selectors (lib/entry.S). */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_NOTPRESENT	0x20	/* a data descriptor with P=0 */
#define SEL_PAST_LIMIT	0x30	/* beyond the GDT limit */

#include "x86io.h"

#define MSR_EFER	0xc0000080u
#define EFER_SCE	(1ull << 0)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)

#define RFLAGS_TF	(1ul << 8)
#define RFLAGS_IF	(1ul << 9)

#define CR0_PE		(1ul << 0)
#define CR0_TS		(1ul << 3)
#define CR0_WP		(1ul << 16)
#define CR0_PG		(1ul << 31)
#define CR4_PAE		(1ul << 5)

#define DEFINE_CR(n)							\
	static inline uint64_t read_cr##n(void)				\
	{								\
		uint64_t v;						\
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));		\
		return v;						\
	}								\
	static inline void write_cr##n(uint64_t v)			\
	{								\
		asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory");	\
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(const volatile void *va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

/* Enable interrupts, wait for one, disable them again: the STI shadow
 * guarantees no interrupt slips in between STI and HLT. */
static inline void sti_hlt_cli(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

static inline void barrier(void)
{
	asm volatile("" : : : "memory");
}

/* ---- libc bits (the compiler may emit calls to these) ----------------- */


/* ---- serial console (COM1, 115200 8N1) and printf --------------------- */

/* Conversions: %s %c %d %i %u %x %X %p %%; flags '0' '-' '#', width, 'l'/'ll'/'z'. */
void guest_vprintf(const char *fmt, va_list ap);
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- checks and exit -------------------------------------------------- */

extern unsigned guest_checks, guest_failures;

/* Prints "ok - what" or "FAIL - what" and counts; returns @ok. */
bool guest_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define check(cond, ...) guest_check(!!(cond), __VA_ARGS__)

/* Debug-exit port: the VMM exits with status (code << 1) | 1. */
#define DEBUG_EXIT_PORT	0xf4
void guest_exit(uint32_t code) __attribute__((noreturn));
/* ACPI PM1a_CNT SLP_EN (S5) at 0x604; if the VM is still running ~20 ms
 * later (no ACPI PM there), the debug-exit with @code. */
void guest_poweroff(uint32_t code) __attribute__((noreturn));

/* ---- traps ------------------------------------------------------------ */

/* What lib/entry.S pushes: the GPRs, then vector and error code (0 when
 * the CPU pushes none), then the CPU's own frame. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define TRAP_NONE	(~0ull)

/* The last exception taken with a fixup armed. */
struct trap_record {
	uint64_t vector, error_code, rip, cr2;
	uint64_t start;		/* address of the insn under TRAP_TRY */
	uint64_t fixup;		/* where execution resumed */
};

extern volatile struct trap_record trap_last;
extern volatile uint64_t trap_count;	/* exceptions recorded so far */
extern volatile uint64_t trap_start, trap_fixup;

/* Route vector @vec (>= 32) to @fn instead of the recording path. */
void trap_set_handler(unsigned vec, void (*fn)(struct trap_frame *f));

/*
 * Run @insn (an asm string) expecting it may fault: any exception it
 * raises is recorded in trap_last and execution resumes after it.
 * Evaluates to the vector taken, or TRAP_NONE. The optional rest are asm
 * operands, starting with ':' (then write registers as %%reg in @insn), e.g.
 *	TRAP_TRY("ud2")
 *	TRAP_TRY("movb $1, (%0)", : : "r"(p) : "memory")
 */
#define TRAP_TRY(insn, ...)						\
	({								\
		trap_last.vector = TRAP_NONE;				\
		barrier();						\
		asm volatile("movq $8f, trap_start\n\t"			\
			     "movq $9f, trap_fixup\n"			\
			     "8:\t" insn "\n"				\
			     "9:\tmovq $0, trap_fixup" __VA_ARGS__);	\
		barrier();						\
		trap_last.vector;					\
	})

/* ---- PC devices ------------------------------------------------------- */

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05

void fw_cfg_read(uint16_t key, void *buf, size_t len);
bool fw_cfg_present(void);		/* signature is "QEMU" */
uint64_t fw_cfg_ram_size(void);
unsigned fw_cfg_nb_cpus(void);

/* 8259A pair remapped to @master_base / @master_base + 8, all masked. */
void pic_init(uint8_t master_base);
void pic_set_mask(uint16_t mask);	/* bit n masks IRQ n */
uint16_t pic_get_mask(void);
void pic_eoi(unsigned irq);
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);

#define PIT_HZ		1193182u
/* Channel 0, mode 2 (rate generator), reload @divisor. */
void pit_start(uint16_t divisor);
/* Channel 0, mode 0: one IRQ0 edge after @count ticks (65535: ~55 ms);
 * used to quiet the periodic timer without touching the PIC. */
void pit_oneshot(uint16_t count);
uint16_t pit_read_count(void);
/* Polls channel 0 until it has reloaded @n times or @max_polls reads
 * went by; returns the reloads seen. */
unsigned pit_wait_reloads(unsigned n, unsigned max_polls);

#endif
