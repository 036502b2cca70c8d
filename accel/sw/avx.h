/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_AVX_H
#define TANDEM_SW_AVX_H
/*
 * VEX-encoded vector instructions of the software CPU (AVX, AVX2, FMA,
 * F16C and the VEX forms of AES/PCLMULQDQ): the plumbing they share.
 *
 * Register file: YMMi is XMMi (cpu->st.fx.xmm[i], bits 127:0) plus
 * cpu->st.ymmh[i] (bits 255:128, XSAVE component 2). Legacy SSE writes
 * leave bits 255:128 alone; every VEX write to a vector register zeroes
 * the bits above its vector length (VEX.128 clears 255:128).
 *
 * Order of checks (SDM vol. 2, 2.4 "AVX and SSE instruction exception
 * specification"), done by sw_avx_enter():
 *   1. the model does not advertise the feature         -> #UD
 *   2. real or virtual-8086 mode                        -> #UD
 *   3. CR4.OSXSAVE = 0 or XCR0 lacks SSE|AVX (bits 2:1) -> #UD
 *   4. CR0.TS = 1                                       -> #NM
 * then the memory operand (sw_avx_read/sw_avx_write: segment, paging and,
 * for the aligned forms only, alignment #GP), then SIMD FP exceptions
 * (sw_avx_host). CR0.EM and CR4.OSFXSR are not looked at by VEX forms.
 * A fault changes nothing: handlers read every source before writing.
 *
 * Handlers are registered per Zydis mnemonic (the V-prefixed mnemonics
 * exist only as VEX/EVEX encodings); a handler must check
 * in->zi.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX or call
 * sw_avx_enter(), which raises #UD for EVEX (AVX-512 is not implemented).
 */
#include "accel/sw/fpu.h"
#include "machine/cpuid.h"

/* One YMM value, or any vector operand up to 256 bits. */
union sw_yvec {
	uint8_t b[32];
	int8_t sb[32];
	uint16_t w[16];
	int16_t sw[16];
	uint32_t d[8];
	int32_t sd[8];
	uint64_t q[4];
	int64_t sq[4];
	float f[8];
	double fd[4];
	union sw_vec x[2];	/* the two 128-bit lanes */
};

_Static_assert(sizeof(union sw_yvec) == 32, "sw_yvec is one YMM register");

/* A CPUID feature bit of the model: leaf, subleaf, register (0 eax .. 3 edx), bit. */
struct sw_feat {
	uint32_t leaf, sub;
	uint8_t reg;
	uint32_t bit;
};

#define SW_FEAT_AVX	((struct sw_feat){ 1, 0, 2, 1u << 28 })
#define SW_FEAT_FMA	((struct sw_feat){ 1, 0, 2, 1u << 12 })
#define SW_FEAT_F16C	((struct sw_feat){ 1, 0, 2, 1u << 29 })
#define SW_FEAT_AES	((struct sw_feat){ 1, 0, 2, 1u << 25 })
#define SW_FEAT_PCLMUL	((struct sw_feat){ 1, 0, 2, 1u << 1 })
#define SW_FEAT_AVX2	((struct sw_feat){ 7, 0, 1, 1u << 5 })

/* The CPU model advertises @f. */
static inline bool sw_model_has(struct sw_feat f)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, f.leaf, f.sub, r);
	return r[f.reg & 3] & f.bit;
}

/* Registers every VEX family (called by sw_register_sse()). */
void sw_register_avx(void);

static inline bool sw_fpu_is_ymm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_YMM0 && r <= ZYDIS_REGISTER_YMM15;
}

static inline bool sw_op_is_ymm(const struct sw_insn *in, unsigned i)
{
	return sw_op_is_reg(in, i) && sw_fpu_is_ymm(in->op[i].reg.value);
}

/* Register number 0..15 of operand @i, an XMM or YMM register. */
static inline unsigned sw_vreg_index(const struct sw_insn *in, unsigned i)
{
	ZydisRegister r = in->op[i].reg.value;

	if (sw_fpu_is_ymm(r))
		return (r - ZYDIS_REGISTER_YMM0) & 15;
	return (r - ZYDIS_REGISTER_XMM0) & 15;
}

/*
 * Vector length of the instruction in bytes: 32 for VEX.256, 16 for
 * VEX.128 and for the scalar (LIG) forms.
 */
static inline unsigned sw_vex_len(const struct sw_insn *in)
{
	return in->zi.vector_length == 32 ? 32 : 16;
}

/* Checks 1-4 above, for an instruction of feature @f. */
void sw_avx_enter(struct sw_cpu *cpu, const struct sw_insn *in, struct sw_feat f);

/*
 * Read operand @i into @v, zero-extended to 256 bits: an XMM register
 * (16 bytes), a YMM register (32), memory of the operand's size (1..32
 * bytes; 16/32-byte operands must be aligned for VMOVAPS/APD, VMOVDQA,
 * VMOVNTPS/PD/DQ and VMOVNTDQA only), a GPR or an immediate.
 */
void sw_avx_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, union sw_yvec *v);
/*
 * Write operand @i from @v: an XMM register gets 16 bytes and bits
 * 255:128 cleared, a YMM register 32 bytes; memory the operand's size
 * (every page checked before the first byte lands); a GPR through
 * sw_op_write (32-bit writes zero-extend).
 */
void sw_avx_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i,
		  const union sw_yvec *v);
/* Whole YMM register @r (0..15) as a value, and back. */
void sw_ymm_get(const struct sw_cpu *cpu, unsigned r, union sw_yvec *v);
void sw_ymm_set(struct sw_cpu *cpu, unsigned r, const union sw_yvec *v);

/*
 * *@d = fn(*@a, *@b) on each 128-bit lane of @len bytes (16 or 32) under
 * the guest's MXCSR (sw_sse_host). The flags of both lanes are merged
 * into MXCSR; if either lane raised an unmasked exception, #XM (#UD
 * without CR4.OSXMMEXCPT) follows and *@d is not written. Lanes of @d
 * past @len are zeroed.
 */
void sw_avx_host(struct sw_cpu *cpu, sw_sse_host_fn fn, union sw_yvec *d,
		 const union sw_yvec *a, const union sw_yvec *b, unsigned len);

/* The families (avx_fp.c: AVX floating point, FMA, F16C). */
void sw_register_avx_fp(void);
/*
 * Integer families (avx_int.c: the VEX forms of SSE2-SSE4.2; avx2.c: AVX2's
 * new ones; avx_crypto.c: VEX.128 AES and PCLMULQDQ).
 */
void sw_register_avx_int(void);
void sw_register_avx2(void);
void sw_register_avx_crypto(void);

#endif
