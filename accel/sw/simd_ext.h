/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_SIMD_EXT_H
#define TANDEM_SW_SIMD_EXT_H
/*
 * The x86-64-v2 vector extensions of the software CPU (sse3.c, ssse3.c,
 * sse4.c): what they share on top of fpu.h.
 *
 * Every instruction exists only when the CPU model advertises its
 * extension: otherwise #UD, before any CR0/CR4 check (an unknown opcode
 * is #UD whatever CR0.TS says). Then the SSE/MMX rules of sw_simd_enter()
 * (CR0.EM, CR4.OSFXSR -> #UD, CR0.TS -> #NM, the MMX #MF and mode switch),
 * then the memory operand, then the result: a fault changes nothing.
 */
#include "accel/sw/fpu.h"
#include "machine/cpuid.h"

void sw_register_sse3(void);
void sw_register_ssse3(void);
void sw_register_sse4(void);

/* The CPU model has CPUID.1:ECX @bit. */
static inline bool sw_model_1ecx(uint32_t bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, 1, 0, r);
	return r[2] & bit;
}

/* The checks every handler of these files starts with (see above). */
static inline void sw_ext_enter(struct sw_cpu *cpu, const struct sw_insn *in, uint32_t bit)
{
	if (!sw_model_1ecx(bit))
		sw_ud(cpu);
	/* MMX forms (SSSE3) follow the MMX rules: CR4.OSFXSR is not looked at. */
	sw_simd_enter(cpu, in, false);
}

/*
 * PCMPxSTRx's comparison of @a (operand 0) and @b (operand 1) with the
 * imm8 of operand 2, for the legacy and the VEX forms (sse4.c): writes
 * ECX or XMM0 (bits 127:0) and the flags. Nothing here can fault.
 */
void sw_sse42_pcmpstr(struct sw_cpu *cpu, const struct sw_insn *in, const union sw_vec *a,
		      const union sw_vec *b);

/* The imm8 operand @i. */
static inline unsigned sw_ext_imm8(const struct sw_insn *in, unsigned i)
{
	return (unsigned)(in->op[i].imm.value.u & 0xff);
}

/* Bytes of the vector destination (operand 0): 8 for MMX, 16 for XMM. */
static inline unsigned sw_ext_width(const struct sw_insn *in)
{
	return sw_op_is_mmx(in, 0) ? 8 : 16;
}

/*
 * Run host SSE operation @fn under the guest's MXCSR on @d (the
 * destination's value) and @s: raises #XM/#UD for unmasked exceptions
 * with @d unwritten, else merges the flags. For the FP instructions.
 */
static inline void sw_ext_host(struct sw_cpu *cpu, sw_sse_host_fn fn, union sw_vec *d,
			       const union sw_vec *s)
{
	bool unmasked;
	uint32_t fl = sw_sse_host(cpu, fn, d, s, &unmasked);

	sw_sse_flags(cpu, fl);
}

#endif
