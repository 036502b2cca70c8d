/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_FPU_H
#define TANDEM_SW_FPU_H
/*
 * The software CPU's floating-point and vector units (x87.c, sse*.c):
 * private interfaces. All state lives in cpu->st.fx, the FXSAVE image,
 * so FXSAVE/FXRSTOR and the KVM <-> sw handover are plain copies.
 *
 * Invariants of the image kept by these files:
 *  - fx.st[i] holds ST(i) (stack order, as FXSAVE stores it), 10 bytes
 *    used, bytes 10..15 zero. MMi is the physical register Ri, i.e. ST
 *    slot (i - TOP) & 7; an MMX instruction ends with TOP = 0 (the image
 *    rotated to keep each Ri) and every tag valid.
 *  - fx.ftw is the abridged tag byte, one bit per physical register
 *    (1 = not empty).
 *  - fx.fip is the offset of the last x87 non-control instruction and
 *    fx.fdp the offset of its memory operand. FCS/FDS are not kept: they
 *    read as zero, as on processors with the FCS/FDS deprecation
 *    (CPUID.7.EBX[13]).
 *  - fx.mxcsr never has bits outside sw_mxcsr_mask set.
 *
 * The host's own x87 and SSE units execute guest arithmetic, so results,
 * rounding, flags, NaN propagation and denormal handling are exactly the
 * host's (which is also what KVM gives the guest on the same machine).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "accel/sw/core.h"

void sw_register_x87(void);
void sw_register_sse(void);

/* Families of sse.c, called by sw_register_sse(). */
void sw_register_sse_move(void);
void sw_register_sse_int(void);
void sw_register_sse_fp(void);

/* x87 status word. */
#define FSW_IE		0x0001
#define FSW_DE		0x0002
#define FSW_ZE		0x0004
#define FSW_OE		0x0008
#define FSW_UE		0x0010
#define FSW_PE		0x0020
#define FSW_SF		0x0040
#define FSW_ES		0x0080
#define FSW_C0		0x0100
#define FSW_C1		0x0200
#define FSW_C2		0x0400
#define FSW_TOP_SHIFT	11
#define FSW_TOP		0x3800
#define FSW_C3		0x4000
#define FSW_B		0x8000
#define FSW_EXC		0x003f		/* the six exception flags */

/* x87 control word: bit 6 reads as one, bits 7 and 13..15 as zero. */
#define FCW_VALID	0x1f3f
#define FCW_ONE		0x0040
#define FCW_INIT	0x037f

/* MXCSR. */
#define MXCSR_FLAGS	0x003f
#define MXCSR_DAZ	0x0040
#define MXCSR_MASKS	0x1f80
#define MXCSR_MASK_SHIFT 7
#define MXCSR_RC	0x6000
#define MXCSR_FTZ	0x8000
#define MXCSR_INIT	0x1f80

/* The MXCSR bits this CPU implements (the host's MXCSR_MASK). */
extern uint32_t sw_mxcsr_mask;

/* One XMM or MMX value, and any vector operand up to 128 bits. */
union sw_vec {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
	float v __attribute__((vector_size(16)));	/* for "x" asm operands */
};

_Static_assert(sizeof(union sw_vec) == 16, "sw_vec is one XMM register");

/* ---- register access ---- */
static inline bool sw_fpu_is_xmm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15;
}

static inline bool sw_fpu_is_mmx(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_MM0 && r <= ZYDIS_REGISTER_MM7;
}

static inline bool sw_op_is_reg(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER;
}

static inline bool sw_op_is_mem(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

static inline bool sw_op_is_xmm(const struct sw_insn *in, unsigned i)
{
	return sw_op_is_reg(in, i) && sw_fpu_is_xmm(in->op[i].reg.value);
}

static inline bool sw_op_is_mmx(const struct sw_insn *in, unsigned i)
{
	return sw_op_is_reg(in, i) && sw_fpu_is_mmx(in->op[i].reg.value);
}

/* XMM register of operand @i (which is an XMM register). */
static inline union sw_vec *sw_xmm(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i)
{
	return (union sw_vec *)cpu->st.fx.xmm[(in->op[i].reg.value - ZYDIS_REGISTER_XMM0) & 15];
}

static inline unsigned sw_fpu_top(const struct sw_cpu *cpu)
{
	return (cpu->st.fx.fsw & FSW_TOP) >> FSW_TOP_SHIFT;
}

/* MMi is the physical register Ri: image slot (i - TOP) & 7. */
static inline uint8_t *sw_mmx_slot(struct sw_cpu *cpu, unsigned i)
{
	return cpu->st.fx.st[(i - sw_fpu_top(cpu)) & 7];
}

static inline uint64_t sw_mmx_get(struct sw_cpu *cpu, unsigned i)
{
	uint64_t v;

	memcpy(&v, sw_mmx_slot(cpu, i), 8);
	return v;
}

/* Writing MMi sets bits 79:64 of Ri to ones (the value reads as a NaN to x87 code). */
static inline void sw_mmx_set(struct sw_cpu *cpu, unsigned i, uint64_t v)
{
	uint8_t *slot = sw_mmx_slot(cpu, i);

	memcpy(slot, &v, 8);
	slot[8] = 0xff;
	slot[9] = 0xff;
}

/* An unmasked x87 exception is waiting for the next waiting instruction. */
static inline bool sw_x87_pending(const struct sw_cpu *cpu)
{
	return cpu->st.fx.fsw & ~cpu->st.fx.fcw & FSW_EXC;
}

/* Recompute ES and B from the flags and the masks (after FLDCW, FLDENV, ...). */
static inline void sw_x87_update_es(struct sw_cpu *cpu)
{
	cpu->st.fx.fsw &= ~(FSW_ES | FSW_B);
	if (sw_x87_pending(cpu))
		cpu->st.fx.fsw |= FSW_ES | FSW_B;
}

/*
 * Set TOP to @top keeping every physical register's contents: the image
 * holds registers in stack order, so it is rotated (FNINIT, FLDENV, the
 * MMX mode switch).
 */
void sw_fpu_set_top(struct sw_cpu *cpu, unsigned top);

/* ---- availability (sse.c, x87.c) ---- */
/*
 * x87 instruction: CR0.EM or CR0.TS -> #NM; a waiting instruction with
 * an unmasked exception pending -> #MF.
 */
void sw_x87_enter(struct sw_cpu *cpu, bool waiting);
/*
 * MMX-register instruction: CR0.EM -> #UD, CR0.TS -> #NM, pending x87
 * exception -> #MF. Changes nothing: the switch to MMX mode is
 * sw_mmx_commit(), once the memory source has been read (a faulting
 * load leaves the x87 unit alone; a SIMD exception comes after the
 * switch).
 */
void sw_mmx_enter(struct sw_cpu *cpu);
/* The x87 unit in MMX mode: TOP = 0 (registers kept), all tags valid. */
void sw_mmx_commit(struct sw_cpu *cpu);
/* The instruction names an MMX register. */
bool sw_insn_has_mmx(const struct sw_insn *in);
/* SSE instruction: CR0.EM -> #UD, CR4.OSFXSR = 0 -> #UD, CR0.TS -> #NM. */
void sw_sse_enter(struct sw_cpu *cpu);
/*
 * The checks for any instruction of sse*.c from its operands: SSE rules
 * when an XMM register is involved or @sse, MMX rules when an MMX
 * register is.
 */
void sw_simd_enter(struct sw_cpu *cpu, const struct sw_insn *in, bool sse);

/* ---- operands (sse.c) ---- */
/*
 * Read operand @i (XMM, MMX, GPR, memory of 1..16 bytes, immediate)
 * into @v, zero-extended to 128 bits. 16-byte memory operands must be
 * 16-byte aligned (#GP(0)) unless the instruction is one of the
 * unaligned moves.
 */
void sw_simd_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, union sw_vec *v);
/*
 * Write operand @i from @v: a whole XMM register, an MMX register, a GPR
 * (sw_op_write: 32-bit writes zero-extend) or the operand's size in
 * memory (same alignment rule as sw_simd_read). This is an instruction's
 * last step: when it names an MMX register, the MMX mode switch follows.
 */
void sw_simd_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i,
		   const union sw_vec *v);
/* Linear address of memory operand @i of @len bytes, checked for @acc. */
uint64_t sw_simd_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, unsigned len,
		    unsigned acc);
/* Copy @len bytes to/from guest memory at @la, faulting before any byte is written. */
void sw_fpu_read_buf(struct sw_cpu *cpu, uint64_t la, void *buf, unsigned len);
void sw_fpu_write_buf(struct sw_cpu *cpu, uint64_t la, const void *buf, unsigned len);

/* ---- host execution of SSE arithmetic (sse.c) ---- */
/* One host SSE operation: *d = op(*d, *s), the host's MXCSR holding the guest's. */
typedef void (*sw_sse_host_fn)(union sw_vec *d, const union sw_vec *s);
/*
 * Run @fn with the guest's MXCSR (rounding, DAZ, FTZ and masks) loaded
 * into the host's. Returns the exception flags the operation raised and
 * whether it raised an unmasked one; *@d is left unchanged in that case
 * (the instruction then must not write its destination).
 */
uint32_t sw_sse_host(struct sw_cpu *cpu, sw_sse_host_fn fn, union sw_vec *d,
		     const union sw_vec *s, bool *unmasked);
/*
 * Merge @flags into MXCSR, then raise #XM (CR4.OSXMMEXCPT = 1) or #UD
 * when one of them is unmasked.
 */
void sw_sse_flags(struct sw_cpu *cpu, uint32_t flags);

#endif
