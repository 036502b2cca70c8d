/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_CORE_H
#define TANDEM_SW_CORE_H
/*
 * Private interfaces of the interpreter core (cpu.c decode.c operand.c
 * mem.c and the ALU files) that other sw files may use too: the bounded
 * run loop, memory read-modify-write references (for LOCK), the flag
 * helpers every flag-producing instruction shares, and statistics.
 */
#include <stdatomic.h>

#include "accel/sw/cpu.h"

/* ---- run loop (cpu.c) ---- */
/*
 * Run @cpu with event delivery (interrupts, exceptions through the
 * IDT/IVT) until it halts, shuts down, is kicked, or @max_insns
 * instructions have been executed (0: no limit; the result is then
 * VCPU_STOP_KICK). @kick may be NULL (unit tests). This is vcpu_run()'s
 * body; the KVM engine's emulation fallback can use it with max_insns 1.
 */
enum vcpu_stop sw_run(struct sw_cpu *cpu, uint64_t max_insns, atomic_int *kick);

/* The bytes of a decoded instruction (in->len of them). */
const uint8_t *sw_insn_bytes(const struct sw_insn *in);

/* Decode cache statistics (decode.c). */
struct sw_decode_stats {
	uint64_t hits, misses, uncached, invalidations, flushes;
};
void sw_decode_get_stats(const struct sw_vm *svm, struct sw_decode_stats *s);
/*
 * Drop everything: guest RAM changed behind the CPU's back (reset and
 * image reload, a state handed over from another engine).
 */
void sw_decode_flush(struct sw_vm *svm);
/* Drop cached instructions overlapping [gpa, gpa + len) (len <= 4096, one page). */
void sw_decode_invalidate_range(struct sw_vm *svm, uint64_t gpa, unsigned len);

/* ---- the CPU model's vendor (system.c) ---- */
/*
 * Where the SDM and the APM leave an outcome undefined or up to the
 * implementation, and Intel and AMD hardware differ, the software CPU
 * does what the model's vendor does. The model has the host's vendor,
 * so a guest sees the same on this engine as under KVM on that host.
 */
bool sw_vendor_amd(void);

/* ---- memory references (mem.c) ---- */
/*
 * A translated guest memory location of 1..8 bytes, possibly split over
 * two pages. sw_mem_prepare() does every check that can fault (segment,
 * paging) for the access kind; load/store/cmpxchg cannot fault after it.
 * Read-modify-write instructions prepare with SW_ACC_WRITE (which implies
 * read permission), then load and store: precise faults, and LOCK'ed
 * forms use sw_mem_cmpxchg() which is a host atomic when the location is
 * RAM and does not cross a page.
 */
struct sw_memref {
	uint64_t la;
	uint64_t gpa[2];
	uint8_t *host[2];	/* NULL: MMIO or unbacked */
	unsigned size;
	unsigned first;		/* bytes in the first page */
};

void sw_mem_prepare(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size,
		    unsigned acc, struct sw_memref *m);
void sw_mem_prepare_lin(struct sw_cpu *cpu, uint64_t la, unsigned size, unsigned acc,
			struct sw_memref *m);
uint64_t sw_mem_load(struct sw_cpu *cpu, const struct sw_memref *m);
void sw_mem_store(struct sw_cpu *cpu, const struct sw_memref *m, uint64_t val);
/*
 * If the location holds *@expect, store @val and return true; else set
 * *@expect to the current value and return false. Atomic for RAM.
 */
bool sw_mem_cmpxchg(struct sw_cpu *cpu, const struct sw_memref *m, uint64_t *expect,
		    uint64_t val);

/*
 * Memory operand @i of @in as a reference (segment, EA, size, checks
 * for @acc). Operand helpers for read-modify-write handlers.
 */
void sw_op_memref(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, unsigned acc,
		  struct sw_memref *m);

/*
 * Read-modify-write of operand @i (register or memory): new = fn(old),
 * where @fn also sets the flags. Memory is translated for writing first;
 * with LOCK the store is a compare-and-swap loop (flags restored before
 * each retry); LOCK on a register destination is #UD.
 */
typedef uint64_t (*sw_rmw_fn)(struct sw_cpu *cpu, uint64_t old, void *ctx);
void sw_op_rmw(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, sw_rmw_fn fn,
	       void *ctx);

/* ---- flags (arith.c) ---- */
#define SW_FLAGS_OSZAPC (X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

/* Sign bit of an operand of @size bytes. */
static inline uint64_t sw_sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

/* PF: even parity of the low byte. */
static inline uint64_t sw_parity(uint64_t res)
{
	return __builtin_parity((unsigned)(res & 0xff)) ? 0 : X86_RFLAGS_PF;
}

/* SF, ZF and PF of a result of @size bytes. */
static inline uint64_t sw_flags_szp(uint64_t res, unsigned size)
{
	uint64_t f = sw_parity(res);

	res &= sw_mask(size);
	if (!res)
		f |= X86_RFLAGS_ZF;
	if (res & sw_sign_bit(size))
		f |= X86_RFLAGS_SF;
	return f;
}

static inline void sw_set_flags(struct sw_cpu *cpu, uint64_t mask, uint64_t val)
{
	cpu->st.rflags = (cpu->st.rflags & ~mask) | (val & mask);
}

/*
 * a + b + cin and a - b - cin on @size bytes: the result, with OSZAPC
 * written to cpu->st.rflags. For CMP, CMPS, SCAS, CMPXCHG, XADD, NEG...
 */
uint64_t sw_alu_add(struct sw_cpu *cpu, uint64_t a, uint64_t b, unsigned cin, unsigned size);
uint64_t sw_alu_sub(struct sw_cpu *cpu, uint64_t a, uint64_t b, unsigned cin, unsigned size);
/* Flags of AND/OR/XOR/TEST: OF = CF = 0, SF ZF PF from @res, AF cleared. */
void sw_alu_logic_flags(struct sw_cpu *cpu, uint64_t res, unsigned size);

#endif
