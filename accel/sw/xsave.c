// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The XSAVE feature set of the software CPU: XSETBV, XGETBV, XSAVE,
 * XSAVEOPT, XSAVEC and XRSTOR (standard and compacted forms), with the
 * state components it implements: x87 (0), SSE (1) and AVX (2, the upper
 * halves of YMM0-15 in cpu->st.ymmh). XSAVES/XRSTORS (supervisor state)
 * are not implemented, nor XGETBV with ECX = 1 (XINUSE): the model
 * advertises neither (leaf 0xD subleaf 1).
 *
 * XINUSE (which components are not in their initial configuration) is
 * computed from the state when needed, never tracked: a component whose
 * registers hold their reset values counts as not in use. The SDM lets a
 * processor report in-use for more than that, not less, so XSTATE_BV as
 * XSAVE writes it may differ from a given host's in that respect only.
 * XSAVEOPT uses the init optimisation (components not in use are not
 * written) but not the modified one.
 *
 * Checks, in order: the model's XSAVE bit and CR4.OSXSAVE (#UD), CR0.TS
 * (#NM), the memory operand (segment, 64-byte alignment: #GP(0)), then
 * for XRSTOR the header and MXCSR (#GP(0)); every check and every page is
 * done before the first byte or register changes.
 */
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/fpu.h"
#include "machine/cpuid.h"

#define XSAVE_HDR	512
#define XSAVE_AVX	576
#define XSAVE_LEN_MAX	(576 + 256)
#define XCOMP_COMPACT	(1ull << 63)

static bool model_xsave(void)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, 1, 0, r);
	return r[2] & CPUID_1_ECX_XSAVE;
}

/* XCR0 bits XSETBV accepts: what leaf 0xD advertises. */
static uint64_t xcr0_supported(void)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, 0xd, 0, r);
	return (r[0] | (uint64_t)r[3] << 32) & CPUID_XCR0_SW;
}

static bool model_d1(uint32_t bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, 0xd, 1, r);
	return r[0] & bit;
}

unsigned sw_xsave_area_size(uint64_t xcr0)
{
	/* The legacy region and the header, then AVX: the same in both formats. */
	return xcr0 & CPUID_XCR0_AVX ? XSAVE_AVX + 256 : XSAVE_AVX;
}

/* #UD without XSAVE in the model or with CR4.OSXSAVE clear. */
static void xsave_enter(struct sw_cpu *cpu)
{
	if (!model_xsave() || !(cpu->st.cr4 & X86_CR4_OSXSAVE))
		sw_ud(cpu);
}

/* ---- XSETBV / XGETBV ---- */

static void h_xgetbv(struct sw_cpu *cpu, const struct sw_insn *in)
{
	(void)in;
	xsave_enter(cpu);
	if ((uint32_t)cpu->st.gpr[R_CX] != 0)
		sw_gp0(cpu);
	cpu->st.gpr[R_AX] = (uint32_t)cpu->st.xcr0;
	cpu->st.gpr[R_DX] = cpu->st.xcr0 >> 32;
}

/*
 * XSETBV: CPL 0 only; XCR0 only; bit 0 (x87) always set, AVX only with
 * SSE, nothing the model does not advertise.
 */
static void h_xsetbv(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t v = (uint32_t)cpu->st.gpr[R_AX] | (cpu->st.gpr[R_DX] << 32);

	(void)in;
	xsave_enter(cpu);
	if (sw_cpl(cpu) != 0 || (uint32_t)cpu->st.gpr[R_CX] != 0)
		sw_gp0(cpu);
	if (!(v & CPUID_XCR0_X87) || (v & ~xcr0_supported()) ||
	    ((v & CPUID_XCR0_AVX) && !(v & CPUID_XCR0_SSE)))
		sw_gp0(cpu);
	cpu->st.xcr0 = v;
}

/* ---- the state components ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* XMM/YMM registers the instruction reaches: 16 in 64-bit mode, else 8. */
static unsigned nr_vregs(struct sw_cpu *cpu)
{
	return sw_64bit(cpu) ? 16 : 8;
}

/* Components not in their initial configuration (see the top of the file). */
static uint64_t xinuse(struct sw_cpu *cpu)
{
	const struct x86_fxsave *fx = &cpu->st.fx;
	uint64_t u = 0;
	bool st_zero = true;

	for (unsigned i = 0; i < 8; i++)
		st_zero = st_zero && all_zero(fx->st[i], 10);
	if (fx->fcw != FCW_INIT || fx->fsw || fx->ftw || fx->fop || fx->fip || fx->fdp || !st_zero)
		u |= CPUID_XCR0_X87;
	if (!all_zero(fx->xmm, sizeof(fx->xmm)))
		u |= CPUID_XCR0_SSE;
	if (!all_zero(cpu->st.ymmh, sizeof(cpu->st.ymmh)))
		u |= CPUID_XCR0_AVX;
	return u;
}

/* Bytes 0-23 and 32-159 of the legacy region: the x87 state, as FXSAVE lays it out. */
static void x87_store(struct sw_cpu *cpu, uint8_t *img, bool rex_w)
{
	const struct x86_fxsave *fx = &cpu->st.fx;

	memset(img, 0, 24);
	memcpy(img + 0, &fx->fcw, 2);
	memcpy(img + 2, &fx->fsw, 2);
	img[4] = fx->ftw;
	img[6] = fx->fop & 0xff;
	img[7] = (fx->fop >> 8) & 0x7;
	if (rex_w) {
		put64(img + 8, fx->fip);
		put64(img + 16, fx->fdp);
	} else {
		/* 32-bit layout: offsets, then FCS and FDS (deprecated, zero). */
		put32(img + 8, (uint32_t)fx->fip);
		put32(img + 16, (uint32_t)fx->fdp);
	}
	for (unsigned i = 0; i < 8; i++) {
		memcpy(img + 32 + 16 * i, fx->st[i], 10);
		memset(img + 32 + 16 * i + 10, 0, 6);
	}
}

static void x87_load(struct sw_cpu *cpu, const uint8_t *img, bool rex_w)
{
	struct x86_fxsave *fx = &cpu->st.fx;
	uint16_t fcw, fop;

	memcpy(&fcw, img, 2);
	memcpy(&fx->fsw, img + 2, 2);
	memcpy(&fop, img + 6, 2);
	fx->fcw = (fcw & FCW_VALID) | FCW_ONE;
	fx->ftw = img[4];
	fx->rsvd0 = 0;
	fx->fop = fop & 0x7ff;
	fx->fip = rex_w ? get64(img + 8) : get32(img + 8);
	fx->fdp = rex_w ? get64(img + 16) : get32(img + 16);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(fx->st[i], img + 32 + 16 * i, 10);
		memset(fx->st[i] + 10, 0, 6);
	}
}

static void x87_init(struct sw_cpu *cpu)
{
	struct x86_fxsave *fx = &cpu->st.fx;

	fx->fcw = FCW_INIT;
	fx->fsw = 0;
	fx->ftw = 0;
	fx->rsvd0 = 0;
	fx->fop = 0;
	fx->fip = 0;
	fx->fdp = 0;
	memset(fx->st, 0, sizeof(fx->st));
}

/* ---- XSAVE, XSAVEOPT, XSAVEC ---- */

enum xsave_kind { XS_STD, XS_OPT, XS_COMPACT };

static bool is_rex_w(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_XSAVE64: case ZYDIS_MNEMONIC_XSAVEOPT64:
	case ZYDIS_MNEMONIC_XSAVEC64: case ZYDIS_MNEMONIC_XRSTOR64:
		return true;
	default:
		return false;
	}
}

/* The area's linear address, @len bytes checked for @acc: segment, then 64-byte alignment. */
static uint64_t area_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned len,
			unsigned acc)
{
	uint64_t la = sw_seg_linear(cpu, sw_op_seg(in, 0), sw_op_ea(cpu, in, 0), len, acc);

	if (la & 63)
		sw_gp0(cpu);
	return la;
}

static void xsave_common(struct sw_cpu *cpu, const struct sw_insn *in, enum xsave_kind kind)
{
	bool rex_w = is_rex_w(in->zi.mnemonic);
	uint64_t rfbm, save, bv, la;
	unsigned len, n = nr_vregs(cpu);
	uint8_t img[XSAVE_LEN_MAX];
	bool mxcsr;

	xsave_enter(cpu);
	if (kind == XS_OPT && !model_d1(CPUID_D1_EAX_XSAVEOPT))
		sw_ud(cpu);
	if (kind == XS_COMPACT && !model_d1(CPUID_D1_EAX_XSAVEC))
		sw_ud(cpu);
	if (cpu->st.cr0 & X86_CR0_TS)
		sw_raise(cpu, X86_NM);
	rfbm = ((uint32_t)cpu->st.gpr[R_AX] | (cpu->st.gpr[R_DX] << 32)) & cpu->st.xcr0;
	len = rfbm & CPUID_XCR0_AVX ? XSAVE_AVX + 256 : XSAVE_AVX;
	la = area_la(cpu, in, len, SW_ACC_WRITE);
	/* Every page writable before the first byte lands; nothing can fault after this. */
	sw_probe_write_lin(cpu, la, len, SW_ACC_WRITE);

	switch (kind) {
	case XS_STD:
		save = rfbm;
		mxcsr = rfbm & (CPUID_XCR0_SSE | CPUID_XCR0_AVX);
		break;
	case XS_OPT:
		save = rfbm & xinuse(cpu);
		mxcsr = rfbm & (CPUID_XCR0_SSE | CPUID_XCR0_AVX);
		break;
	default:
		/* XSAVEC: SSE is saved for an MXCSR other than its reset value too. */
		save = rfbm & xinuse(cpu);
		if ((rfbm & CPUID_XCR0_SSE) && cpu->st.fx.mxcsr != MXCSR_INIT)
			save |= CPUID_XCR0_SSE;
		mxcsr = save & CPUID_XCR0_SSE;
		break;
	}

	memset(img, 0, sizeof(img));
	if (save & CPUID_XCR0_X87) {
		x87_store(cpu, img, rex_w);
		sw_write_lin_buf(cpu, la, img, 24, SW_ACC_WRITE);
		sw_write_lin_buf(cpu, la + 32, img + 32, 128, SW_ACC_WRITE);
	}
	if (mxcsr) {
		put32(img + 24, cpu->st.fx.mxcsr);
		put32(img + 28, sw_mxcsr_mask);
		sw_write_lin_buf(cpu, la + 24, img + 24, 8, SW_ACC_WRITE);
	}
	if (save & CPUID_XCR0_SSE)
		sw_write_lin_buf(cpu, la + 160, cpu->st.fx.xmm, 16 * n, SW_ACC_WRITE);
	/* Standard and compacted formats agree here: AVX is the first extended component. */
	if (save & CPUID_XCR0_AVX)
		sw_write_lin_buf(cpu, la + XSAVE_AVX, cpu->st.ymmh, 16 * n, SW_ACC_WRITE);

	if (kind == XS_COMPACT) {
		put64(img + XSAVE_HDR, save);
		put64(img + XSAVE_HDR + 8, rfbm | XCOMP_COMPACT);
		sw_write_lin_buf(cpu, la + XSAVE_HDR, img + XSAVE_HDR, 16, SW_ACC_WRITE);
	} else {
		/* XSTATE_BV: the requested bits from XINUSE, the others as they were. */
		bv = sw_read_lin(cpu, la + XSAVE_HDR, 8, SW_ACC_READ);
		bv = (bv & ~rfbm) | (xinuse(cpu) & rfbm);
		sw_write_lin(cpu, la + XSAVE_HDR, bv, 8, SW_ACC_WRITE);
	}
}

static void h_xsave(struct sw_cpu *cpu, const struct sw_insn *in)
{
	xsave_common(cpu, in, XS_STD);
}

static void h_xsaveopt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	xsave_common(cpu, in, XS_OPT);
}

static void h_xsavec(struct sw_cpu *cpu, const struct sw_insn *in)
{
	xsave_common(cpu, in, XS_COMPACT);
}

/* ---- XRSTOR ---- */

static void h_xrstor(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool rex_w = is_rex_w(in->zi.mnemonic);
	uint64_t rfbm, bv, comp, la, load;
	unsigned len = XSAVE_AVX, n = nr_vregs(cpu);
	uint8_t img[XSAVE_LEN_MAX];
	bool compact, mxcsr_load;
	uint32_t mxcsr = MXCSR_INIT;

	xsave_enter(cpu);
	if (cpu->st.cr0 & X86_CR0_TS)
		sw_raise(cpu, X86_NM);
	rfbm = ((uint32_t)cpu->st.gpr[R_AX] | (cpu->st.gpr[R_DX] << 32)) & cpu->st.xcr0;
	la = area_la(cpu, in, XSAVE_AVX, SW_ACC_READ);
	sw_fpu_read_buf(cpu, la + XSAVE_HDR, img + XSAVE_HDR, 64);
	bv = get64(img + XSAVE_HDR);
	comp = get64(img + XSAVE_HDR + 8);
	compact = comp & XCOMP_COMPACT;

	/* The header: #GP(0) for what the form does not allow. */
	if (compact) {
		if (!model_d1(CPUID_D1_EAX_XSAVEC) || (comp & ~XCOMP_COMPACT & ~cpu->st.xcr0) ||
		    (bv & ~comp) || !all_zero(img + XSAVE_HDR + 16, 48))
			sw_gp0(cpu);
	} else {
		if ((bv & ~cpu->st.xcr0) || !all_zero(img + XSAVE_HDR + 8, 16))
			sw_gp0(cpu);
	}
	load = rfbm & bv;
	if (load & CPUID_XCR0_AVX)
		len = XSAVE_AVX + 256;
	if (len > XSAVE_AVX)
		la = area_la(cpu, in, len, SW_ACC_READ);
	/* Everything read (and every page checked) before the state changes. */
	sw_fpu_read_buf(cpu, la, img, XSAVE_HDR);
	if (len > XSAVE_AVX)
		sw_fpu_read_buf(cpu, la + XSAVE_AVX, img + XSAVE_AVX, len - XSAVE_AVX);
	/*
	 * MXCSR: the standard form loads it whenever SSE or AVX is requested,
	 * the compacted form with SSE's data only (else its reset value).
	 */
	if (compact)
		mxcsr_load = rfbm & CPUID_XCR0_SSE;
	else
		mxcsr_load = rfbm & (CPUID_XCR0_SSE | CPUID_XCR0_AVX);
	if (mxcsr_load && (!compact || (load & CPUID_XCR0_SSE))) {
		mxcsr = get32(img + 24);
		if (mxcsr & ~sw_mxcsr_mask)
			sw_gp0(cpu);
	}

	if (rfbm & CPUID_XCR0_X87) {
		if (load & CPUID_XCR0_X87)
			x87_load(cpu, img, rex_w);
		else
			x87_init(cpu);
	}
	if (rfbm & CPUID_XCR0_SSE) {
		if (load & CPUID_XCR0_SSE)
			memcpy(cpu->st.fx.xmm, img + 160, 16 * n);
		else
			memset(cpu->st.fx.xmm, 0, 16 * n);
	}
	if (mxcsr_load)
		cpu->st.fx.mxcsr = mxcsr;
	if (rfbm & CPUID_XCR0_AVX) {
		if (load & CPUID_XCR0_AVX)
			memcpy(cpu->st.ymmh, img + XSAVE_AVX, 16 * n);
		else
			memset(cpu->st.ymmh, 0, 16 * n);
	}
	/* Unmasked x87 flags loaded here raise #MF at the next waiting instruction. */
	if (rfbm & CPUID_XCR0_X87)
		sw_x87_update_es(cpu);
}

void sw_register_xsave(void)
{
	sw_handlers[ZYDIS_MNEMONIC_XGETBV] = h_xgetbv;
	sw_handlers[ZYDIS_MNEMONIC_XSETBV] = h_xsetbv;
	sw_handlers[ZYDIS_MNEMONIC_XSAVE] = h_xsave;
	sw_handlers[ZYDIS_MNEMONIC_XSAVE64] = h_xsave;
	sw_handlers[ZYDIS_MNEMONIC_XSAVEOPT] = h_xsaveopt;
	sw_handlers[ZYDIS_MNEMONIC_XSAVEOPT64] = h_xsaveopt;
	sw_handlers[ZYDIS_MNEMONIC_XSAVEC] = h_xsavec;
	sw_handlers[ZYDIS_MNEMONIC_XSAVEC64] = h_xsavec;
	sw_handlers[ZYDIS_MNEMONIC_XRSTOR] = h_xrstor;
	sw_handlers[ZYDIS_MNEMONIC_XRSTOR64] = h_xrstor;
}
