/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_GUEST32_H
#define TANDEM_GUEST32_H
/*
 * The 32-bit guest kit runtime: for guests that must never enter long
 * mode. lib32/entry32.S takes the multiboot v1 hand-off, loads a flat GDT
 * (SEL_CODE 0x08, SEL_DATA 0x10) and stays in 32-bit protected mode with
 * paging off; the runtime installs a 32-bit IDT (interrupt gates, DPL 0)
 * and calls guest_main(). The API mirrors lib/guest.h where it can: same
 * names, 32-bit types. Guests that load their own GDT must keep 0x08 as a
 * flat 32-bit ring-0 code segment and 0x10 as a flat data segment (the
 * trap path reloads DS/ES with 0x10).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const char guest_name[];
void guest_main(void);

/* ---- multiboot v1 (what the runtime needs of it) ------------------------ */

#define MB_BOOT_MAGIC		0x2BADB002u
extern uint32_t guest_mb_magic;
extern uint32_t guest_mb_info_addr;

#define SEL_CODE	0x08
#define SEL_DATA	0x10

#include "x86io.h"

#define MSR_EFER	0xc0000080u
#define EFER_NXE	(1ull << 11)

#define EFLAGS_CF	(1u << 0)
#define EFLAGS_PF	(1u << 2)
#define EFLAGS_AF	(1u << 4)
#define EFLAGS_ZF	(1u << 6)
#define EFLAGS_SF	(1u << 7)
#define EFLAGS_TF	(1u << 8)
#define EFLAGS_IF	(1u << 9)
#define EFLAGS_OF	(1u << 11)

#define CR0_PE		(1u << 0)
#define CR0_WP		(1u << 16)
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)

#define DEFINE_CR(n)							\
	static inline uint32_t read_cr##n(void)				\
	{								\
		uint32_t v;						\
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));		\
		return v;						\
	}								\
	static inline void write_cr##n(uint32_t v)			\
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

static inline void barrier(void)
{
	asm volatile("" : : : "memory");
}

static inline uint32_t read_eflags(void)
{
	uint32_t v;

	asm volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

/* ---- libc bits ---------------------------------------------------------- */


/* ---- serial console (COM1, 115200 8N1), printf, checks, exit ------------ */

/* Conversions: %s %c %d %i %u %x %X %%; flags '0' '-' '#', width; 'l' is a no-op. */
void guest_vprintf(const char *fmt, va_list ap);
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern unsigned guest_checks, guest_failures;
bool guest_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define check(cond, ...) guest_check(!!(cond), __VA_ARGS__)

#define DEBUG_EXIT_PORT	0xf4
void guest_exit(uint32_t code) __attribute__((noreturn));

/* Mask every 8259A input (the guest may then run with EFLAGS.IF set). */
void pic_mask_all(void);

/* ---- traps ------------------------------------------------------------ */

/*
 * What lib32/entry32.S pushes: segment registers, PUSHAD, vector and error
 * code (0 when the CPU pushes none), then the CPU's frame. @esp and @ss
 * are only there when the event changed privilege level.
 */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_pushad, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;
};

#define TRAP_NONE	(~0u)

struct trap_record {
	uint32_t vector, error_code, eip, cs, eflags, cr2;
	uint32_t start, fixup;
};

extern volatile struct trap_record trap_last;
extern volatile uint32_t trap_count;
extern volatile uint32_t trap_start, trap_fixup;

/* The IDT the runtime built: 256 interrupt gates to the stubs, DPL 0. */
extern uint64_t guest_idt[256];

/* Route vector @vec to @fn instead of the recording path (NULL: back). */
void trap_set_handler(unsigned vec, void (*fn)(struct trap_frame *f));

/* As lib/guest.h's TRAP_TRY: run @insn, evaluate to the vector it raised. */
#define TRAP_TRY(insn, ...)						\
	({								\
		trap_last.vector = TRAP_NONE;				\
		barrier();						\
		asm volatile("movl $8f, trap_start\n\t"			\
			     "movl $9f, trap_fixup\n"			\
			     "8:\t" insn "\n"				\
			     "9:\tmovl $0, trap_fixup" __VA_ARGS__);	\
		barrier();						\
		trap_last.vector;					\
	})

#endif
