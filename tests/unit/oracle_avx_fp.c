// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host CPU as oracle for the floating-point side of AVX (the VEX
 * forms of the SSE..SSE4.1 float instructions and FP-domain moves and
 * shuffles, VPERMPS/VPERMPD), FMA and F16C (accel/sw/avx_fp.c).
 *
 * As oracle_simd.c does for SSE: each case is one instruction from the
 * Zydis encoder, run natively (a stub loads the general registers,
 * RFLAGS, YMM0-15 and MXCSR from a context, executes it, saves them
 * back) and in the interpreter from the same state and memory; the
 * general registers, the arithmetic flags, all YMM registers (bits
 * 255:128 included), MXCSR and memory must match, and so must faults
 * (#GP for a misaligned VMOVAPS/APD/NTPS/NTPD, #XM for an unmasked SIMD
 * exception, #GP for VLDMXCSR with reserved bits).
 *
 * The forms are found by asking the encoder: every operand shape
 * (XMM, YMM, memory of 4..32 bytes, r32/r64, imm8) it accepts as a VEX
 * encoding of the mnemonic is one form, so 128/256-bit and mixed forms
 * (VCVTPD2PS xmm, ymm/m256) and register and memory sources are all
 * covered. Inputs: float specials of all three precisions (zeros,
 * infinities, quiet and signalling NaNs, denormals, halfway values),
 * random bits; MXCSR with every rounding mode, DAZ/FTZ at random, sticky
 * flags, and unmasked exceptions one time in eight; every imm8 (all 32
 * compare predicates, rounding controls).
 *
 * Each form also runs with VEX.L, VEX.W or VEX.vvvv changed or a legacy
 * prefix in front (what the
 * host refuses, the interpreter must refuse), and in 32-bit code
 * (compatibility mode natively, SWH_COMPAT32 in the interpreter: YMM0-7
 * only, YMM8-15 untouched, 32-bit addressing).
 *
 * Then the VEX availability rules (sw_avx_enter): #UD without the
 * feature in the model, in real mode, with CR4.OSXSAVE clear or XCR0
 * lacking AVX; #NM with CR0.TS; the alignment #GP of 32-byte VMOVAPS
 * and none for VADDPS ymm, [misaligned]; and VMASKMOVPS across into a
 * not-present page (no fault for masked-off elements).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cpuid.h>

#include "accel/sw/avx.h"
#include "machine/cpuid.h"
#include "tests/unit/oracle_avx_fp.h"

#define MEM_SIZE	512
#define MEM_GPA		0x20000ull
#define CODE_GPA	0x10000ull
#define SLOT_LEN	16
#define ARITH_FLAGS	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

struct actx {
	uint64_t gpr[16];		/* 0: R_AX.. order; rsp and r15 unused */
	uint64_t flags_in, flags_out;	/* 128, 136 */
	uint32_t mxcsr_in, mxcsr_out;	/* 144, 148 */
	uint64_t pad;			/* 152 */
	uint8_t ymm[16][32];		/* 160 */
} __attribute__((aligned(32)));

#define OFF_FLAGS_IN	128
#define OFF_FLAGS_OUT	136
#define OFF_MXCSR_IN	144
#define OFF_MXCSR_OUT	148
#define OFF_YMM		160

_Static_assert(__builtin_offsetof(struct actx, ymm) == OFF_YMM, "layout");

typedef void (*anative_fn)(struct actx *ctx);

static uint8_t *astub;
static size_t aslot;
static uint8_t amem[MEM_SIZE] __attribute__((aligned(64)));
static sigjmp_buf ajmp;
static volatile int asig;

/* ---- the native stub ---- */

static size_t enc(uint8_t *p, size_t n, ZydisEncoderRequest *req)
{
	ZyanUSize len = 16;

	req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, p + n, &len))) {
		printf("oracle_avx_fp: cannot assemble the stub (%s)\n",
		       ZydisMnemonicGetString(req->mnemonic));
		exit(1);
	}
	return n + len;
}

static void req_init(ZydisEncoderRequest *r, ZydisMnemonic m, unsigned nops)
{
	memset(r, 0, sizeof(*r));
	r->mnemonic = m;
	r->operand_count = nops;
}

static void o_reg(ZydisEncoderOperand *o, ZydisRegister r)
{
	o->type = ZYDIS_OPERAND_TYPE_REGISTER;
	o->reg.value = r;
}

static void o_mem(ZydisEncoderOperand *o, ZydisRegister base, int64_t disp, unsigned size)
{
	o->type = ZYDIS_OPERAND_TYPE_MEMORY;
	o->mem.base = base;
	o->mem.displacement = disp;
	o->mem.size = (ZyanU16)size;
}

static void o_imm(ZydisEncoderOperand *o, uint64_t v)
{
	o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	o->imm.u = v;
}

static size_t e_r_m(uint8_t *p, size_t n, ZydisMnemonic m, ZydisRegister r, int64_t disp,
		    unsigned size, bool store)
{
	ZydisEncoderRequest q;

	req_init(&q, m, 2);
	if (store) {
		o_mem(&q.operands[0], ZYDIS_REGISTER_R15, disp, size);
		o_reg(&q.operands[1], r);
	} else {
		o_reg(&q.operands[0], r);
		o_mem(&q.operands[1], ZYDIS_REGISTER_R15, disp, size);
	}
	return enc(p, n, &q);
}

static size_t e_m(uint8_t *p, size_t n, ZydisMnemonic m, ZydisRegister base, int64_t disp,
		  unsigned size)
{
	ZydisEncoderRequest q;

	req_init(&q, m, 1);
	o_mem(&q.operands[0], base, disp, size);
	return enc(p, n, &q);
}

static size_t e_0(uint8_t *p, size_t n, ZydisMnemonic m)
{
	ZydisEncoderRequest q;

	req_init(&q, m, 0);
	return enc(p, n, &q);
}

static size_t e_r(uint8_t *p, size_t n, ZydisMnemonic m, ZydisRegister r)
{
	ZydisEncoderRequest q;

	req_init(&q, m, 1);
	o_reg(&q.operands[0], r);
	return enc(p, n, &q);
}

static void build_astub(void)
{
	static const ZydisRegister saved[] = {
		ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_R12,
		ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15,
	};
	ZydisEncoderRequest q;
	size_t n = 0;

	astub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (astub == MAP_FAILED) {
		perror("mmap");
		exit(77);
	}
	for (unsigned i = 0; i < 6; i++)
		n = e_r(astub, n, ZYDIS_MNEMONIC_PUSH, saved[i]);
	n = e_r(astub, n, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_RAX);
	n = e_m(astub, n, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_RSP, 0, 4);
	req_init(&q, ZYDIS_MNEMONIC_MOV, 2);
	o_reg(&q.operands[0], ZYDIS_REGISTER_R15);
	o_reg(&q.operands[1], ZYDIS_REGISTER_RDI);
	n = enc(astub, n, &q);
	for (unsigned i = 0; i < 16; i++)
		n = e_r_m(astub, n, ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_REGISTER_YMM0 + i,
			  OFF_YMM + 32 * i, 32, false);
	n = e_m(astub, n, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_R15, OFF_MXCSR_IN, 4);
	n = e_m(astub, n, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_R15, OFF_FLAGS_IN, 8);
	n = e_0(astub, n, ZYDIS_MNEMONIC_POPFQ);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = e_r_m(astub, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8,
				  false);
	aslot = n;
	memset(astub + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	n = e_0(astub, n, ZYDIS_MNEMONIC_PUSHFQ);
	n = e_m(astub, n, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_R15, OFF_FLAGS_OUT, 8);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = e_r_m(astub, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8,
				  true);
	n = e_m(astub, n, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_R15, OFF_MXCSR_OUT, 4);
	for (unsigned i = 0; i < 16; i++)
		n = e_r_m(astub, n, ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_REGISTER_YMM0 + i,
			  OFF_YMM + 32 * i, 32, true);
	n = e_0(astub, n, ZYDIS_MNEMONIC_VZEROUPPER);
	n = e_m(astub, n, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_RSP, 0, 4);
	n = e_r(astub, n, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_RAX);
	for (int i = 5; i >= 0; i--)
		n = e_r(astub, n, ZYDIS_MNEMONIC_POP, saved[i]);
	n = e_0(astub, n, ZYDIS_MNEMONIC_RET);
	if (n > 4096) {
		printf("oracle_avx_fp: stub too long\n");
		exit(1);
	}
}

static int run_anative_raw(const uint8_t *insn, unsigned len, struct actx *ctx);

static void aon_signal(int sig)
{
	asig = sig;
	siglongjmp(ajmp, 1);
}

/*
 * Native runs catch their own faults; the handlers are only in place
 * around them, since the interpreter has its own SIGFPE catcher (sse.c)
 * for guarded runs with unmasked exceptions.
 */
static const int asigs[4] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS };
static struct sigaction aold[4];

static void native_handlers(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = aon_signal;
	sa.sa_flags = SA_NODEFER;
	for (unsigned i = 0; i < 4; i++) {
		if (on)
			sigaction(asigs[i], &sa, &aold[i]);
		else
			sigaction(asigs[i], &aold[i], NULL);
	}
}

static int run_anative(const uint8_t *insn, unsigned len, struct actx *ctx)
{
	int sig;

	native_handlers(true);
	sig = run_anative_raw(insn, len, ctx);
	native_handlers(false);
	return sig;
}

static int run_anative_raw(const uint8_t *insn, unsigned len, struct actx *ctx)
{
	uint32_t host_mxcsr;

	__asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
	memset(astub + aslot, 0x90, SLOT_LEN);
	memcpy(astub + aslot, insn, len);
	asig = 0;
	if (sigsetjmp(ajmp, 1)) {
		__asm__ volatile("vzeroupper; ldmxcsr %0" : : "m"(host_mxcsr));
		return asig;
	}
	((anative_fn)(void *)astub)(ctx);
	return 0;
}

/* ---- inputs ---- */

static uint64_t rs = 0x13198a2e03707344ull;

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_gpr(void)
{
	static const uint64_t edge[] = {
		0, 1, ~0ull, 0x80000000, 0xffffffff, 0x8000000000000000ull,
		0x7fffffffffffffffull, 0x1000000, 0x20000000000001ull,
	};
	uint64_t r = rnd();

	switch (r & 7) {
	case 0:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (uint64_t)((int64_t)((r >> 8) % 2001) - 1000);
	default:
		return rnd();
	}
}

static uint32_t f32_special(uint64_t r)
{
	static const uint32_t v[] = {
		0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
		0x7fc00000, 0xffc00000, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000,
		0x7f7fffff, 0x3f000000, 0x3fc00000, 0x40200000, 0xbfc00000, 0x4b000000,
		0x4effffff, 0xcf000000, 0x3effffff, 0x40000000, 0x477fe000, 0x38800000,
		0x33800000, 0x387fc000,
	};
	uint32_t x = v[r % (sizeof(v) / sizeof(v[0]))];

	if ((r >> 8) & 1)
		x += (uint32_t)((r >> 9) & 3);
	return x;
}

static uint64_t f64_special(uint64_t r)
{
	static const uint64_t v[] = {
		0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
		0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
		0xfff8000000000000ull, 0x7ff4000000000000ull, 1, 0x800fffffffffffffull,
		0x0010000000000000ull, 0x7fefffffffffffffull, 0x3fe0000000000000ull,
		0x3ff8000000000000ull, 0x4004000000000000ull, 0xbff8000000000000ull,
		0x4330000000000000ull, 0x43e0000000000000ull, 0x3fdfffffffffffffull,
		0x41dfffffffc00000ull, 0xc1e0000000000000ull, 0x47efffffe0000000ull,
		0x36a0000000000000ull,
	};
	uint64_t x = v[r % (sizeof(v) / sizeof(v[0]))];

	if ((r >> 8) & 1)
		x += (r >> 9) & 3;
	return x;
}

static uint16_t f16_special(uint64_t r)
{
	static const uint16_t v[] = {
		0x0000, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7d00,
		0x0001, 0x83ff, 0x0400, 0x7bff, 0x3800, 0x3e00,
	};

	return v[r % (sizeof(v) / sizeof(v[0]))];
}

/* Products near each other's negation (FMA's single rounding shows there). */
static void rnd_vec(uint8_t *v, unsigned len)
{
	unsigned kind = rnd() % 7;

	for (unsigned i = 0; i < len; i += 8) {
		uint64_t r = rnd(), x;

		switch (kind) {
		case 0:
			x = f32_special(r) | (uint64_t)f32_special(r >> 20) << 32;
			break;
		case 1:
			x = f64_special(r);
			break;
		case 2:
			x = 0;
			for (unsigned h = 0; h < 4; h++)
				x |= (uint64_t)f16_special(r >> (8 * h)) << (16 * h);
			break;
		case 3:		/* singles of moderate size: sums and products round */
			x = (0x3f000000ull + ((r >> 4) & 0x01ffffff)) |
			    (uint64_t)(0xbf000000u + ((r >> 34) & 0x01ffffff)) << 32;
			break;
		case 4:		/* doubles of moderate size */
			x = 0x3fe0000000000000ull + (r & 0x003fffffffffffffull);
			if (r >> 63)
				x |= 1ull << 63;
			break;
		default:
			x = r;
			break;
		}
		memcpy(v + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* ---- the mnemonics and their forms ---- */

enum { E_AVX, E_AVX2, E_FMA, E_F16C, E_VARIANT, E_COMPAT, E_NR };

static const char *const ext_names[E_NR] = {
	"AVX (floating point)", "AVX2 VPERMPS/PD, VBROADCASTSS/SD reg", "FMA", "F16C",
	"VEX.L/W/vvvv/prefix variants of them", "all of them in 32-bit code",
};

static const ZydisMnemonic amnemonics[] = {
	ZYDIS_MNEMONIC_VADDPS, ZYDIS_MNEMONIC_VADDPD, ZYDIS_MNEMONIC_VADDSS, ZYDIS_MNEMONIC_VADDSD,
	ZYDIS_MNEMONIC_VSUBPS, ZYDIS_MNEMONIC_VSUBPD, ZYDIS_MNEMONIC_VSUBSS, ZYDIS_MNEMONIC_VSUBSD,
	ZYDIS_MNEMONIC_VMULPS, ZYDIS_MNEMONIC_VMULPD, ZYDIS_MNEMONIC_VMULSS, ZYDIS_MNEMONIC_VMULSD,
	ZYDIS_MNEMONIC_VDIVPS, ZYDIS_MNEMONIC_VDIVPD, ZYDIS_MNEMONIC_VDIVSS, ZYDIS_MNEMONIC_VDIVSD,
	ZYDIS_MNEMONIC_VMINPS, ZYDIS_MNEMONIC_VMINPD, ZYDIS_MNEMONIC_VMINSS, ZYDIS_MNEMONIC_VMINSD,
	ZYDIS_MNEMONIC_VMAXPS, ZYDIS_MNEMONIC_VMAXPD, ZYDIS_MNEMONIC_VMAXSS, ZYDIS_MNEMONIC_VMAXSD,
	ZYDIS_MNEMONIC_VSQRTPS, ZYDIS_MNEMONIC_VSQRTPD, ZYDIS_MNEMONIC_VSQRTSS,
	ZYDIS_MNEMONIC_VSQRTSD,
	ZYDIS_MNEMONIC_VRCPPS, ZYDIS_MNEMONIC_VRCPSS, ZYDIS_MNEMONIC_VRSQRTPS,
	ZYDIS_MNEMONIC_VRSQRTSS,
	ZYDIS_MNEMONIC_VCMPPS, ZYDIS_MNEMONIC_VCMPPD, ZYDIS_MNEMONIC_VCMPSS, ZYDIS_MNEMONIC_VCMPSD,
	ZYDIS_MNEMONIC_VCOMISS, ZYDIS_MNEMONIC_VCOMISD, ZYDIS_MNEMONIC_VUCOMISS,
	ZYDIS_MNEMONIC_VUCOMISD,
	ZYDIS_MNEMONIC_VANDPS, ZYDIS_MNEMONIC_VANDPD, ZYDIS_MNEMONIC_VANDNPS,
	ZYDIS_MNEMONIC_VANDNPD, ZYDIS_MNEMONIC_VORPS, ZYDIS_MNEMONIC_VORPD,
	ZYDIS_MNEMONIC_VXORPS, ZYDIS_MNEMONIC_VXORPD,
	ZYDIS_MNEMONIC_VHADDPS, ZYDIS_MNEMONIC_VHADDPD, ZYDIS_MNEMONIC_VHSUBPS,
	ZYDIS_MNEMONIC_VHSUBPD, ZYDIS_MNEMONIC_VADDSUBPS, ZYDIS_MNEMONIC_VADDSUBPD,
	ZYDIS_MNEMONIC_VDPPS, ZYDIS_MNEMONIC_VDPPD,
	ZYDIS_MNEMONIC_VROUNDPS, ZYDIS_MNEMONIC_VROUNDPD, ZYDIS_MNEMONIC_VROUNDSS,
	ZYDIS_MNEMONIC_VROUNDSD,
	ZYDIS_MNEMONIC_VBLENDPS, ZYDIS_MNEMONIC_VBLENDPD, ZYDIS_MNEMONIC_VBLENDVPS,
	ZYDIS_MNEMONIC_VBLENDVPD,
	ZYDIS_MNEMONIC_VCVTSS2SD, ZYDIS_MNEMONIC_VCVTSD2SS, ZYDIS_MNEMONIC_VCVTPS2PD,
	ZYDIS_MNEMONIC_VCVTPD2PS, ZYDIS_MNEMONIC_VCVTDQ2PS, ZYDIS_MNEMONIC_VCVTPS2DQ,
	ZYDIS_MNEMONIC_VCVTTPS2DQ, ZYDIS_MNEMONIC_VCVTDQ2PD, ZYDIS_MNEMONIC_VCVTPD2DQ,
	ZYDIS_MNEMONIC_VCVTTPD2DQ, ZYDIS_MNEMONIC_VCVTSI2SS, ZYDIS_MNEMONIC_VCVTSI2SD,
	ZYDIS_MNEMONIC_VCVTSS2SI, ZYDIS_MNEMONIC_VCVTTSS2SI, ZYDIS_MNEMONIC_VCVTSD2SI,
	ZYDIS_MNEMONIC_VCVTTSD2SI,
	ZYDIS_MNEMONIC_VMOVAPS, ZYDIS_MNEMONIC_VMOVAPD, ZYDIS_MNEMONIC_VMOVUPS,
	ZYDIS_MNEMONIC_VMOVUPD, ZYDIS_MNEMONIC_VMOVNTPS, ZYDIS_MNEMONIC_VMOVNTPD,
	ZYDIS_MNEMONIC_VMOVSS, ZYDIS_MNEMONIC_VMOVSD,
	ZYDIS_MNEMONIC_VMOVLPS, ZYDIS_MNEMONIC_VMOVHPS, ZYDIS_MNEMONIC_VMOVLPD,
	ZYDIS_MNEMONIC_VMOVHPD, ZYDIS_MNEMONIC_VMOVLHPS, ZYDIS_MNEMONIC_VMOVHLPS,
	ZYDIS_MNEMONIC_VMOVSLDUP, ZYDIS_MNEMONIC_VMOVSHDUP, ZYDIS_MNEMONIC_VMOVDDUP,
	ZYDIS_MNEMONIC_VMOVMSKPS, ZYDIS_MNEMONIC_VMOVMSKPD,
	ZYDIS_MNEMONIC_VSHUFPS, ZYDIS_MNEMONIC_VSHUFPD,
	ZYDIS_MNEMONIC_VUNPCKLPS, ZYDIS_MNEMONIC_VUNPCKLPD, ZYDIS_MNEMONIC_VUNPCKHPS,
	ZYDIS_MNEMONIC_VUNPCKHPD,
	ZYDIS_MNEMONIC_VINSERTPS, ZYDIS_MNEMONIC_VEXTRACTPS,
	ZYDIS_MNEMONIC_VBROADCASTSS, ZYDIS_MNEMONIC_VBROADCASTSD, ZYDIS_MNEMONIC_VBROADCASTF128,
	ZYDIS_MNEMONIC_VINSERTF128, ZYDIS_MNEMONIC_VEXTRACTF128, ZYDIS_MNEMONIC_VPERM2F128,
	ZYDIS_MNEMONIC_VPERMILPS, ZYDIS_MNEMONIC_VPERMILPD,
	ZYDIS_MNEMONIC_VMASKMOVPS, ZYDIS_MNEMONIC_VMASKMOVPD,
	ZYDIS_MNEMONIC_VTESTPS, ZYDIS_MNEMONIC_VTESTPD,
	ZYDIS_MNEMONIC_VLDMXCSR, ZYDIS_MNEMONIC_VSTMXCSR,
	ZYDIS_MNEMONIC_VPERMPS, ZYDIS_MNEMONIC_VPERMPD,
	ZYDIS_MNEMONIC_VFMADD132PS, ZYDIS_MNEMONIC_VFMADD213PS, ZYDIS_MNEMONIC_VFMADD231PS,
	ZYDIS_MNEMONIC_VFMADD132PD, ZYDIS_MNEMONIC_VFMADD213PD, ZYDIS_MNEMONIC_VFMADD231PD,
	ZYDIS_MNEMONIC_VFMADD132SS, ZYDIS_MNEMONIC_VFMADD213SS, ZYDIS_MNEMONIC_VFMADD231SS,
	ZYDIS_MNEMONIC_VFMADD132SD, ZYDIS_MNEMONIC_VFMADD213SD, ZYDIS_MNEMONIC_VFMADD231SD,
	ZYDIS_MNEMONIC_VFMSUB132PS, ZYDIS_MNEMONIC_VFMSUB213PS, ZYDIS_MNEMONIC_VFMSUB231PS,
	ZYDIS_MNEMONIC_VFMSUB132PD, ZYDIS_MNEMONIC_VFMSUB213PD, ZYDIS_MNEMONIC_VFMSUB231PD,
	ZYDIS_MNEMONIC_VFMSUB132SS, ZYDIS_MNEMONIC_VFMSUB213SS, ZYDIS_MNEMONIC_VFMSUB231SS,
	ZYDIS_MNEMONIC_VFMSUB132SD, ZYDIS_MNEMONIC_VFMSUB213SD, ZYDIS_MNEMONIC_VFMSUB231SD,
	ZYDIS_MNEMONIC_VFNMADD132PS, ZYDIS_MNEMONIC_VFNMADD213PS, ZYDIS_MNEMONIC_VFNMADD231PS,
	ZYDIS_MNEMONIC_VFNMADD132PD, ZYDIS_MNEMONIC_VFNMADD213PD, ZYDIS_MNEMONIC_VFNMADD231PD,
	ZYDIS_MNEMONIC_VFNMADD132SS, ZYDIS_MNEMONIC_VFNMADD213SS, ZYDIS_MNEMONIC_VFNMADD231SS,
	ZYDIS_MNEMONIC_VFNMADD132SD, ZYDIS_MNEMONIC_VFNMADD213SD, ZYDIS_MNEMONIC_VFNMADD231SD,
	ZYDIS_MNEMONIC_VFNMSUB132PS, ZYDIS_MNEMONIC_VFNMSUB213PS, ZYDIS_MNEMONIC_VFNMSUB231PS,
	ZYDIS_MNEMONIC_VFNMSUB132PD, ZYDIS_MNEMONIC_VFNMSUB213PD, ZYDIS_MNEMONIC_VFNMSUB231PD,
	ZYDIS_MNEMONIC_VFNMSUB132SS, ZYDIS_MNEMONIC_VFNMSUB213SS, ZYDIS_MNEMONIC_VFNMSUB231SS,
	ZYDIS_MNEMONIC_VFNMSUB132SD, ZYDIS_MNEMONIC_VFNMSUB213SD, ZYDIS_MNEMONIC_VFNMSUB231SD,
	ZYDIS_MNEMONIC_VFMADDSUB132PS, ZYDIS_MNEMONIC_VFMADDSUB213PS,
	ZYDIS_MNEMONIC_VFMADDSUB231PS, ZYDIS_MNEMONIC_VFMADDSUB132PD,
	ZYDIS_MNEMONIC_VFMADDSUB213PD, ZYDIS_MNEMONIC_VFMADDSUB231PD,
	ZYDIS_MNEMONIC_VFMSUBADD132PS, ZYDIS_MNEMONIC_VFMSUBADD213PS,
	ZYDIS_MNEMONIC_VFMSUBADD231PS, ZYDIS_MNEMONIC_VFMSUBADD132PD,
	ZYDIS_MNEMONIC_VFMSUBADD213PD, ZYDIS_MNEMONIC_VFMSUBADD231PD,
	ZYDIS_MNEMONIC_VCVTPH2PS, ZYDIS_MNEMONIC_VCVTPS2PH,
};

/* Operand kinds of a form. */
enum akind { K_X, K_Y, K_M4, K_M8, K_M16, K_M32, K_G4, K_G8, K_I, K_NR };

struct aform {
	ZydisMnemonic mn;
	uint8_t nops;
	uint8_t kind[4];
	uint8_t ext;
};

#define MAX_FORMS	1024
static struct aform aforms[MAX_FORMS], aforms32[MAX_FORMS];
static unsigned nr_aforms, nr_aforms32;

static const ZydisRegister gprs[] = {
	ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
	ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_R8,
	ZYDIS_REGISTER_R9, ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11, ZYDIS_REGISTER_R12,
	ZYDIS_REGISTER_R13,
};

/* Mostly 32-byte aligned displacements, sometimes anything (the aligned forms' #GP). */
static int64_t pick_disp(void)
{
	uint64_t r = rnd();

	if (r & 7)
		return (int64_t)((r >> 8) % 7) * 32 - 96;
	return (int64_t)((r >> 8) % 193) - 96;
}

/* 32-bit code: XMM0-7, 32-bit registers (not ESP, nor ESI, the memory base there). */
static const ZydisRegister gprs32[] = {
	ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_EBX,
	ZYDIS_REGISTER_EBP, ZYDIS_REGISTER_EDI,
};

/* Fill an encoder request for @f with random registers, displacement and imm8. */
static void fill_req(ZydisEncoderRequest *q, const struct aform *f, bool probe, bool m32)
{
	memset(q, 0, sizeof(*q));
	q->machine_mode = m32 ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 : ZYDIS_MACHINE_MODE_LONG_64;
	q->allowed_encodings = ZYDIS_ENCODABLE_ENCODING_VEX;
	q->mnemonic = f->mn;
	q->operand_count = f->nops;
	for (unsigned i = 0; i < f->nops; i++) {
		ZydisEncoderOperand *o = &q->operands[i];
		unsigned r = probe ? i : (unsigned)(rnd() % (m32 ? 8 : 16));

		switch (f->kind[i]) {
		case K_X:
			o_reg(o, ZYDIS_REGISTER_XMM0 + r);
			o->reg.is4 = i == 3;
			break;
		case K_Y:
			o_reg(o, ZYDIS_REGISTER_YMM0 + r);
			o->reg.is4 = i == 3;
			break;
		case K_M4: case K_M8: case K_M16: case K_M32:
			o_mem(o, m32 ? ZYDIS_REGISTER_ESI : ZYDIS_REGISTER_R14,
			      probe ? 0 : pick_disp(), 4u << (f->kind[i] - K_M4));
			break;
		case K_G4: case K_G8: {
			unsigned n = sizeof(gprs) / sizeof(gprs[0]);
			ZydisRegister g = gprs[probe ? 0 : rnd() % n];

			if (f->kind[i] == K_G4)
				g = ZYDIS_REGISTER_EAX + (g - ZYDIS_REGISTER_RAX);
			if (m32) {
				n = sizeof(gprs32) / sizeof(gprs32[0]);
				g = gprs32[probe ? 0 : rnd() % n];
			}
			o_reg(o, g);
			break;
		}
		default:
			o_imm(o, probe ? 0 : rnd() & 0xff);
			break;
		}
	}
}

static unsigned ext_of(const ZydisDecodedInstruction *zi)
{
	switch (zi->meta.isa_ext) {
	case ZYDIS_ISA_EXT_AVX2:
		return E_AVX2;
	case ZYDIS_ISA_EXT_FMA:
		return E_FMA;
	case ZYDIS_ISA_EXT_F16C:
		return E_F16C;
	default:
		return E_AVX;
	}
}

/*
 * Every shape of 1..4 operands (imm8 last only) the encoder accepts as
 * VEX: one form each, into @forms (*@nr of them), 64-bit or 32-bit code.
 */
static void find_forms(struct aform *forms, unsigned *nr, bool m32)
{
	ZydisDecoder dec;

	if (m32)
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
	else
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t m = 0; m < sizeof(amnemonics) / sizeof(amnemonics[0]); m++) {
		unsigned found = 0;

		for (unsigned nops = 1; nops <= 4; nops++) {
			unsigned total = 1;

			for (unsigned i = 0; i < nops; i++)
				total *= K_NR;
			for (unsigned code = 0; code < total; code++) {
				struct aform f = { .mn = amnemonics[m], .nops = (uint8_t)nops };
				unsigned c = code, nmem = 0;
				ZydisEncoderRequest q;
				ZydisDecodedInstruction zi;
				uint8_t buf[SLOT_LEN];
				ZyanUSize len = SLOT_LEN;
				bool ok = true;

				for (unsigned i = 0; i < nops; i++) {
					f.kind[i] = (uint8_t)(c % K_NR);
					c /= K_NR;
					if (f.kind[i] == K_I && i != nops - 1)
						ok = false;
					if (f.kind[i] >= K_M4 && f.kind[i] <= K_M32)
						nmem++;
				}
				if (!ok || nmem > 1)
					continue;
				fill_req(&q, &f, true, m32);
				if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, buf, &len)))
					continue;
				if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, buf,
										len, &zi)) ||
				    zi.encoding != ZYDIS_INSTRUCTION_ENCODING_VEX)
					continue;
				f.ext = (uint8_t)ext_of(&zi);
				if (*nr < MAX_FORMS)
					forms[(*nr)++] = f;
				found++;
			}
		}
		if (!found)
			printf("oracle_avx_fp: no VEX form of %s found (%s code)\n",
			       ZydisMnemonicGetString(amnemonics[m]), m32 ? "32-bit" : "64-bit");
	}
}

/* ---- one case ---- */

static struct swh *ah;
static struct oracle_counts ext_counts[E_NR];
static unsigned long nr_forms_ext[E_NR];
static unsigned long nr_variant_invalid;	/* variants Zydis (and so sw) refuses */

static int asignal_vector(int sig)
{
	switch (sig) {
	case 0:
		return SWH_OK;
	case SIGFPE:
		return X86_XM;
	case SIGILL:
		return X86_UD;
	default:
		return X86_GP;
	}
}

static void dump_ymm(const char *tag, const uint8_t *v)
{
	printf(" %s=", tag);
	for (int b = 31; b >= 0; b--)
		printf("%02x%s", v[b], b == 16 ? "_" : "");
}

static void interp_ymm(const struct sw_cpu *cpu, unsigned r, uint8_t out[32])
{
	memcpy(out, cpu->st.fx.xmm[r], 16);
	memcpy(out + 16, cpu->st.ymmh[r], 16);
}

static void areport(const char *what, const uint8_t *insn, unsigned len,
		    const struct actx *in, const struct actx *nat, int nvec, int ivec)
{
	static unsigned per_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];
	ZydisDisassembledInstruction di;
	char text[96] = "";
	struct sw_cpu *cpu = &ah->cpu;

	if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, insn, len, &di))) {
		snprintf(text, sizeof(text), "%s", di.text);
		if (++per_mnemonic[di.info.mnemonic] > 3)
			return;
	}
	printf("MISMATCH %s: %-44s mxcsr_in=%04x native(vec %d) mxcsr=%04x flags=%03" PRIx64
	       " | interp(vec %d) mxcsr=%04x flags=%03" PRIx64 "\n", what, text, in->mxcsr_in,
	       nvec, nat->mxcsr_out, nat->flags_out & 0xfff, ivec, cpu->st.fx.mxcsr,
	       cpu->st.rflags & 0xfff);
	for (unsigned r = 0; r < 14; r++)
		if (r != R_SP && (nat->gpr[r] != cpu->st.gpr[r] || in->gpr[r] != nat->gpr[r]))
			printf("   r%-2u in=%016" PRIx64 " native=%016" PRIx64 " interp=%016" PRIx64
			       "\n", r, in->gpr[r], nat->gpr[r], cpu->st.gpr[r]);
	for (unsigned x = 0; x < 16; x++) {
		uint8_t iv[32];

		interp_ymm(cpu, x, iv);
		if (!memcmp(nat->ymm[x], iv, 32) && !memcmp(in->ymm[x], nat->ymm[x], 32))
			continue;
		printf("   ymm%-2u", x);
		dump_ymm("in", in->ymm[x]);
		printf("\n         ");
		dump_ymm("nt", nat->ymm[x]);
		printf("\n         ");
		dump_ymm("sw", iv);
		printf("\n");
	}
}

static void arun_case(const struct aform *f, const uint8_t *insn, unsigned len)
{
	struct sw_cpu *cpu = &ah->cpu;
	struct actx in, nat;
	uint8_t imem[MEM_SIZE], init_mem[MEM_SIZE];
	struct oracle_counts *c = &ext_counts[f->ext];
	bool same = true;
	int nvec, ivec;
	uint64_t r = rnd();

	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = rnd_gpr();
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < 16; i++)
		rnd_vec(in.ymm[i], 32);
	in.mxcsr_in = MXCSR_INIT | (uint32_t)((r & 3) << 13);
	if (r & 4)
		in.mxcsr_in |= MXCSR_DAZ;
	if (r & 8)
		in.mxcsr_in |= MXCSR_FTZ;
	if (r & 16)
		in.mxcsr_in |= (uint32_t)(r >> 8) & MXCSR_FLAGS;
	if (((r >> 20) & 7) == 0)
		in.mxcsr_in &= ~((uint32_t)(r >> 24) & MXCSR_MASKS);
	in.mxcsr_in &= sw_mxcsr_mask;
	for (unsigned i = 0; i < MEM_SIZE; i += 32)
		rnd_vec(init_mem + i, 32);
	/* VLDMXCSR: a valid value most of the time. */
	if (f->mn == ZYDIS_MNEMONIC_VLDMXCSR && (rnd() & 3)) {
		for (unsigned i = 0; i < MEM_SIZE; i += 4) {
			uint32_t v = (uint32_t)rnd() & sw_mxcsr_mask;

			memcpy(init_mem + i, &v, 4);
		}
	}

	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(amem + MEM_SIZE / 2);
	memcpy(amem, init_mem, MEM_SIZE);
	nvec = asignal_vector(run_anative(insn, len, &nat));

	swh_poke(ah, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(ah, CODE_GPA, insn, len);
	memcpy(cpu->st.gpr, in.gpr, sizeof(in.gpr));
	cpu->st.gpr[R_R14] = MEM_GPA + MEM_SIZE / 2;
	cpu->st.gpr[R_SP] = 0x8000;
	cpu->st.rflags = in.flags_in;
	cpu->st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
	cpu->st.xcr0 = 7;
	cpu->st.fx.mxcsr = in.mxcsr_in;
	for (unsigned i = 0; i < 16; i++) {
		memcpy(cpu->st.fx.xmm[i], in.ymm[i], 16);
		memcpy(cpu->st.ymmh[i], in.ymm[i] + 16, 16);
	}
	ivec = swh_step(ah);
	swh_peek(ah, MEM_GPA, imem, MEM_SIZE);

	c->cases++;
	if (nvec != SWH_OK)
		c->faults++;
	if (nvec != ivec) {
		c->mismatches++;
		areport("fault", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK) {
		/* Precise: nothing changed but (for #XM) the MXCSR flags. */
		nat = in;
		nat.mxcsr_out = nvec == X86_XM ? cpu->st.fx.mxcsr : in.mxcsr_in;
		nat.flags_out = in.flags_in;
		memcpy(amem, init_mem, MEM_SIZE);
		nat.gpr[R_R14] = cpu->st.gpr[R_R14];
	}
	for (unsigned i = 0; i < 14; i++)
		if (i != R_SP && nat.gpr[i] != cpu->st.gpr[i])
			same = false;
	if (!same) {
		c->mismatches++;
		areport("register", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if ((nat.flags_out ^ cpu->st.rflags) & ARITH_FLAGS) {
		c->mismatches++;
		areport("flags", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	for (unsigned x = 0; x < 16; x++) {
		uint8_t iv[32];

		interp_ymm(cpu, x, iv);
		if (memcmp(nat.ymm[x], iv, 32)) {
			c->mismatches++;
			areport("ymm", insn, len, &in, &nat, nvec, ivec);
			return;
		}
	}
	if (nvec != X86_XM && nat.mxcsr_out != cpu->st.fx.mxcsr) {
		c->mismatches++;
		areport("mxcsr", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(imem, amem, MEM_SIZE)) {
		c->mismatches++;
		areport("memory", insn, len, &in, &nat, nvec, ivec);
	}
}

/*
 * The same encodings with VEX.L, VEX.W or VEX.vvvv changed: what the
 * host refuses (#UD: L=1 where the form has no 256-bit version, vvvv
 * not 1111b where the form has no vvvv operand) the interpreter must
 * refuse, and what it accepts must compute the same. Variants that
 * become an instruction outside this file's set are not run.
 */
static bool mutate_vex(uint8_t *insn, ZyanUSize *len, uint64_t r, bool m32)
{
	/* A legacy prefix before VEX is #UD (66 F2 F3 F0 REX); a segment override is not. */
	static const uint8_t pfx[] = { 0x66, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36,
				       0x40, 0x41, 0x48, 0x4f };
	unsigned b = insn[0] == 0xc5 ? 1 : insn[0] == 0xc4 ? 2 : 0;
	/* In 32-bit code C5 is VEX only with its next byte's bits 7:6 set (else LDS). */
	unsigned vmask = m32 && b == 1 ? 7 : 15;

	if (!b || *len < b + 2 || *len >= SLOT_LEN)
		return false;
	switch (r % 4) {
	case 0:
		insn[b] ^= 0x04;			/* L */
		break;
	case 1:
		insn[b] ^= (uint8_t)(((r >> 8) % vmask + 1) << 3);	/* vvvv */
		break;
	case 2:
		if (b != 2)
			insn[b] ^= 0x04;
		else
			insn[b] ^= 0x80;		/* W */
		break;
	default:	/* (REX bytes are INC/DEC in 32-bit code) */
		memmove(insn + 1, insn, *len);
		insn[0] = pfx[(r >> 8) % (sizeof(pfx) - (m32 ? 4 : 0))];
		++*len;
		break;
	}
	return true;
}

static bool in_set(ZydisMnemonic m)
{
	for (size_t i = 0; i < sizeof(amnemonics) / sizeof(amnemonics[0]); i++)
		if (amnemonics[i] == m)
			return true;
	return false;
}

/* ---- the availability rules ---- */

static unsigned long nr_checks, nr_checks_failed;

static void check(bool ok, const char *what)
{
	nr_checks++;
	if (!ok) {
		nr_checks_failed++;
		printf("MISMATCH: %s\n", what);
	}
}

/* A state sw_avx_enter accepts: CR4.OSXSAVE, XCR0 = x87|SSE|AVX, TS clear. */
static void avx_ready(struct sw_cpu *cpu)
{
	cpu->st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
	cpu->st.cr0 &= ~(uint64_t)X86_CR0_TS;
	cpu->st.xcr0 = 7;
	cpu->st.fx.mxcsr = MXCSR_INIT;
}

static int step_code(struct swh *h, const uint8_t *code, size_t len)
{
	swh_load_code(h, CODE_GPA, code, len);
	return swh_step(h);
}

static void atest_rules(void)
{
	/* vaddps ymm0, ymm1, ymm2; vaddps xmm0, xmm0, xmm1 (both 2-byte VEX) */
	static const uint8_t vaddps_y[] = { 0xc5, 0xf4, 0x58, 0xc2 };
	static const uint8_t vaddps_x[] = { 0xc5, 0xf8, 0x58, 0xc1 };
	/* vmovaps ymm0, [rax]; vmovaps [rax], ymm0; vaddps ymm0, ymm0, [rax]; vmovups */
	static const uint8_t vmovaps_ld[] = { 0xc5, 0xfc, 0x28, 0x00 };
	static const uint8_t vmovaps_st[] = { 0xc5, 0xfc, 0x29, 0x00 };
	static const uint8_t vaddps_m[] = { 0xc5, 0xfc, 0x58, 0x00 };
	static const uint8_t vmovups_ld[] = { 0xc5, 0xfc, 0x10, 0x00 };
	/* vmovaps xmm0, [rax] */
	static const uint8_t vmovaps_x[] = { 0xc5, 0xf8, 0x28, 0x00 };
	/* vfmadd231ps ymm0, ymm1, ymm2; vcvtph2ps ymm0, xmm1 */
	static const uint8_t fma[] = { 0xc4, 0xe2, 0x75, 0xb8, 0xc2 };
	static const uint8_t f16c[] = { 0xc4, 0xe2, 0x7d, 0x13, 0xc1 };
	/* vmaskmovps ymm0, ymm1, [rax]; vmaskmovps [rax], ymm1, ymm0 */
	static const uint8_t mask_ld[] = { 0xc4, 0xe2, 0x75, 0x2c, 0x00 };
	static const uint8_t mask_st[] = { 0xc4, 0xe2, 0x75, 0x2e, 0x00 };
	struct swh *h = ah;
	struct sw_cpu *cpu = &h->cpu;
	struct cpuid_model saved = cpuid_global;
	struct swh *hr;

	avx_ready(cpu);
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == SWH_OK, "VADDPS ymm runs");
	cpu->st.xcr0 = 3;
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == X86_UD, "#UD with XCR0 lacking AVX");
	cpu->st.xcr0 = 5;
	check(step_code(h, vaddps_x, sizeof(vaddps_x)) == X86_UD, "#UD with XCR0 lacking SSE");
	avx_ready(cpu);
	cpu->st.cr4 &= ~(uint64_t)X86_CR4_OSXSAVE;
	check(step_code(h, vaddps_x, sizeof(vaddps_x)) == X86_UD, "#UD with CR4.OSXSAVE clear");
	avx_ready(cpu);
	cpu->st.cr0 |= X86_CR0_TS;
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == X86_NM, "#NM with CR0.TS");
	/* XCR0 is looked at before TS: #UD wins. */
	cpu->st.xcr0 = 3;
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == X86_UD, "#UD before #NM");
	avx_ready(cpu);
	/* CR0.EM and CR4.OSFXSR do not matter to VEX forms. */
	cpu->st.cr0 |= X86_CR0_EM;
	cpu->st.cr4 &= ~(uint64_t)X86_CR4_OSFXSR;
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == SWH_OK, "VEX ignores EM and OSFXSR");
	cpu->st.cr0 &= ~(uint64_t)X86_CR0_EM;
	avx_ready(cpu);

	/* The model without AVX / FMA / F16C: #UD, even with TS set. */
	for (unsigned i = 0; i < cpuid_global.nr; i++)
		if (cpuid_global.leaf[i].function == 1)
			cpuid_global.leaf[i].ecx &= ~(uint32_t)((1u << 28) | (1u << 12) |
								  (1u << 29));
	cpu->st.cr0 |= X86_CR0_TS;
	check(step_code(h, vaddps_y, sizeof(vaddps_y)) == X86_UD, "#UD without AVX in the model");
	check(step_code(h, fma, sizeof(fma)) == X86_UD, "#UD without FMA in the model");
	check(step_code(h, f16c, sizeof(f16c)) == X86_UD, "#UD without F16C in the model");
	cpuid_global = saved;
	avx_ready(cpu);
	check(step_code(h, fma, sizeof(fma)) == SWH_OK, "VFMADD231PS runs with FMA");
	check(step_code(h, f16c, sizeof(f16c)) == SWH_OK, "VCVTPH2PS runs with F16C");

	/* Alignment: VMOVAPS ymm needs 32 bytes, VMOVUPS and VADDPS ymm, m256 none. */
	cpu->st.gpr[R_AX] = MEM_GPA + 16;
	check(step_code(h, vmovaps_ld, sizeof(vmovaps_ld)) == X86_GP, "VMOVAPS ymm, [16 mod 32]");
	check(step_code(h, vmovaps_st, sizeof(vmovaps_st)) == X86_GP, "VMOVAPS [16 mod 32], ymm");
	check(step_code(h, vmovaps_x, sizeof(vmovaps_x)) == SWH_OK, "VMOVAPS xmm, [16 mod 32]");
	cpu->st.gpr[R_AX] = MEM_GPA + 3;
	check(step_code(h, vaddps_m, sizeof(vaddps_m)) == SWH_OK, "VADDPS ymm, [misaligned]");
	check(step_code(h, vmovups_ld, sizeof(vmovups_ld)) == SWH_OK, "VMOVUPS ymm, [misaligned]");
	cpu->st.gpr[R_AX] = MEM_GPA + 32;
	check(step_code(h, vmovaps_ld, sizeof(vmovaps_ld)) == SWH_OK, "VMOVAPS ymm, [aligned]");

	/*
	 * VMASKMOVPS over the end of a mapped page into a not-present one
	 * (PD entry 1, 2..4 MiB, cleared): the masked-off elements there do
	 * not fault, a selected one does (#PF).
	 */
	{
		uint64_t pde = swh_peek_val(h, SWH_PT_BASE + 0x2000 + 8, 8);
		union sw_yvec m = { 0 }, d;

		swh_poke_val(h, SWH_PT_BASE + 0x2000 + 8, 0, 8);
		sw_mmu_flush_all(cpu);
		for (unsigned i = 0; i < 4; i++)
			m.d[i] = 0x80000000u;
		sw_ymm_set(cpu, 1, &m);
		memset(&d, 0x55, sizeof(d));
		sw_ymm_set(cpu, 0, &d);
		cpu->st.gpr[R_AX] = 0x200000 - 16;
		check(step_code(h, mask_ld, sizeof(mask_ld)) == SWH_OK,
		      "VMASKMOVPS load: masked-off elements on a not-present page");
		sw_ymm_get(cpu, 0, &d);
		check(d.d[4] == 0 && d.d[7] == 0, "VMASKMOVPS load zeroes masked-off elements");
		check(step_code(h, mask_st, sizeof(mask_st)) == SWH_OK,
		      "VMASKMOVPS store: masked-off elements on a not-present page");
		m.d[5] = 0x80000000u;
		sw_ymm_set(cpu, 1, &m);
		check(step_code(h, mask_ld, sizeof(mask_ld)) == X86_PF,
		      "VMASKMOVPS load: a selected element on a not-present page");
		check(step_code(h, mask_st, sizeof(mask_st)) == X86_PF,
		      "VMASKMOVPS store: a selected element on a not-present page");
		memset(&m, 0, sizeof(m));
		sw_ymm_set(cpu, 1, &m);
		cpu->st.gpr[R_AX] = 0x200000 + 64;
		check(step_code(h, mask_ld, sizeof(mask_ld)) == SWH_OK,
		      "VMASKMOVPS load with an all-zero mask from a not-present page");
		swh_poke_val(h, SWH_PT_BASE + 0x2000 + 8, pde, 8);
		sw_mmu_flush_all(cpu);
	}

	/* Real mode: VEX forms are #UD. Protected mode: they run. */
	hr = swh_new(4 << 20, SWH_REAL);
	if (hr) {
		cpuid_global = saved;
		avx_ready(&hr->cpu);
		/* Code below 64 KiB: CS limit. */
		swh_load_code(hr, 0x6000, vaddps_x, sizeof(vaddps_x));
		check(swh_step(hr) == X86_UD, "#UD in real mode");
		swh_set_mode(hr, SWH_PROT32);
		avx_ready(&hr->cpu);
		check(step_code(hr, vaddps_x, sizeof(vaddps_x)) == SWH_OK,
		      "VADDPS runs in 32-bit protected mode");
		swh_free(hr);
	}
	cpuid_global = saved;
}

/* The same masked-load rule on the host: the native side of the check above. */
static void atest_native_maskmov(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t out[32];
	volatile int ok = 1;

	if (p == MAP_FAILED)
		return;
	mprotect(p + pg, (size_t)pg, PROT_NONE);
	native_handlers(true);
	asig = 0;
	if (sigsetjmp(ajmp, 1)) {
		ok = 0;
	} else {
		static const uint32_t mask[8] = { 0x80000000u, 0x80000000u, 0x80000000u,
						  0x80000000u };

		__asm__ volatile("vmovdqu %1, %%ymm1\n\t"
				 "vmaskmovps (%2), %%ymm1, %%ymm0\n\t"
				 "vmovdqu %%ymm0, %0\n\t"
				 "vzeroupper"
				 : "=m"(out)
				 : "m"(mask), "r"(p + pg - 16)
				 : "xmm0", "xmm1", "memory");
	}
	native_handlers(false);
	check(ok, "host: VMASKMOVPS with masked-off elements on a PROT_NONE page");
	munmap(p, 2 * (size_t)pg);
}

/*
 * ---- 32-bit code: the forms again in compatibility mode ----
 *
 * VEX in 32-bit code has XMM/YMM0-7 only, ignores VEX.W where 64-bit
 * code would widen a GPR, and addresses memory with 32-bit registers.
 * The process far-calls a 32-bit code segment (the kernel's user CS
 * 0x23) with a stack below 4 GiB, as test_sw_oracle.c does for the
 * decimal adjusts; kernels without IA-32 emulation fault the far call
 * and the cases are skipped. The interpreter runs them in SWH_COMPAT32.
 */
#define LOW_SAVED_RSP	0x0000
#define LOW_FARPTR	0x0008
#define LOW_STUB64	0x0100
#define LOW_STUB32	0x0200
#define LOW_CTX		0x1000
#define LOW_MEM		0x2000	/* MEM_SIZE bytes */
#define LOW_STACK_TOP	0x4000

struct actx32 {
	uint32_t gpr[8];		/* eax ecx edx ebx esp(unused) ebp esi edi */
	uint32_t flags_in, flags_out;	/* 32, 36 */
	uint32_t mxcsr_in, mxcsr_out;	/* 40, 44 */
	uint8_t pad[16];
	uint8_t ymm[8][32];		/* 64 */
};

#define C32_FLAGS_IN	32
#define C32_FLAGS_OUT	36
#define C32_MXCSR_IN	40
#define C32_MXCSR_OUT	44
#define C32_YMM		64

_Static_assert(__builtin_offsetof(struct actx32, ymm) == C32_YMM, "layout");

static void model_patch(void);

static uint8_t *low;
static size_t low_slot;
static struct swh *ah32;

static size_t enc32(uint8_t *p, size_t n, ZydisEncoderRequest *req)
{
	ZyanUSize len = 16;

	req->machine_mode = ZYDIS_MACHINE_MODE_LONG_COMPAT_32;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, p + n, &len))) {
		printf("oracle_avx_fp: cannot assemble the 32-bit stub (%s)\n",
		       ZydisMnemonicGetString(req->mnemonic));
		exit(1);
	}
	return n + len;
}

/* insn reg, [abs] (or insn [abs], reg); reg NONE for one-operand forms. */
static size_t e32_abs(uint8_t *p, size_t n, ZydisMnemonic m, ZydisRegister r, uint32_t abs,
		      unsigned size, bool store)
{
	ZydisEncoderRequest q;
	unsigned mi = r == ZYDIS_REGISTER_NONE ? 0 : store ? 0 : 1;

	req_init(&q, m, r == ZYDIS_REGISTER_NONE ? 1 : 2);
	o_mem(&q.operands[mi], ZYDIS_REGISTER_NONE, abs, size);
	if (r != ZYDIS_REGISTER_NONE)
		o_reg(&q.operands[1 - mi], r);
	return enc32(p, n, &q);
}

static bool build_low(void)
{
	static const uint8_t push_regs[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56,
					     0x41, 0x57 };
	static const uint8_t pop_regs[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d,
					    0x5b, 0xc3 };
	uint32_t base, ctx;
	size_t n;

	low = mmap(NULL, LOW_STACK_TOP, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return false;
	base = (uint32_t)(uintptr_t)low;
	ctx = base + LOW_CTX;

	/* 64-bit side: save rsp; esp = low stack; call far [farptr]; restore rsp. */
	n = LOW_STUB64;
	memcpy(low + n, push_regs, sizeof(push_regs));
	n += sizeof(push_regs);
	memcpy(low + n, (const uint8_t[]){ 0x48, 0x89, 0x24, 0x25 }, 4);
	n += 4;
	memcpy(low + n, &(uint32_t){ base + LOW_SAVED_RSP }, 4);
	n += 4;
	low[n++] = 0xbc;
	memcpy(low + n, &(uint32_t){ base + LOW_STACK_TOP }, 4);
	n += 4;
	memcpy(low + n, (const uint8_t[]){ 0xff, 0x1c, 0x25 }, 3);
	n += 3;
	memcpy(low + n, &(uint32_t){ base + LOW_FARPTR }, 4);
	n += 4;
	memcpy(low + n, (const uint8_t[]){ 0x48, 0x8b, 0x24, 0x25 }, 4);
	n += 4;
	memcpy(low + n, &(uint32_t){ base + LOW_SAVED_RSP }, 4);
	n += 4;
	memcpy(low + n, pop_regs, sizeof(pop_regs));

	/* 32-bit side: DS = ES = SS (null in a 64-bit process), then load the context. */
	n = LOW_STUB32;
	memcpy(low + n, (const uint8_t[]){ 0x16, 0x1f, 0x16, 0x07 }, 4);
	n += 4;
	for (unsigned i = 0; i < 8; i++)
		n = e32_abs(low, n, ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_REGISTER_YMM0 + i,
			    ctx + C32_YMM + 32 * i, 32, false);
	n = e32_abs(low, n, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_NONE, ctx + C32_MXCSR_IN, 4,
		    false);
	n = e32_abs(low, n, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_NONE, ctx + C32_FLAGS_IN, 4,
		    false);
	low[n++] = 0x9d;	/* popfd */
	for (unsigned r = 0; r < 8; r++)
		if (r != R_SP)
			n = e32_abs(low, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_EAX + r,
				    ctx + 4 * r, 4, false);
	low_slot = n;
	memset(low + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	low[n++] = 0x9c;	/* pushfd */
	n = e32_abs(low, n, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_NONE, ctx + C32_FLAGS_OUT, 4,
		    false);
	for (unsigned r = 0; r < 8; r++)
		if (r != R_SP)
			n = e32_abs(low, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_EAX + r,
				    ctx + 4 * r, 4, true);
	n = e32_abs(low, n, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_NONE, ctx + C32_MXCSR_OUT, 4,
		    false);
	for (unsigned i = 0; i < 8; i++)
		n = e32_abs(low, n, ZYDIS_MNEMONIC_VMOVDQU, ZYDIS_REGISTER_YMM0 + i,
			    ctx + C32_YMM + 32 * i, 32, true);
	/* push 0; pop ds; push 0; pop es; retf */
	memcpy(low + n, (const uint8_t[]){ 0x6a, 0x00, 0x1f, 0x6a, 0x00, 0x07, 0xcb }, 7);
	n += 7;
	if (n > LOW_CTX) {
		printf("oracle_avx_fp: 32-bit stub too long\n");
		exit(1);
	}
	memcpy(low + LOW_FARPTR, &(uint32_t){ base + LOW_STUB32 }, 4);
	low[LOW_FARPTR + 4] = 0x23;	/* __USER32_CS */
	low[LOW_FARPTR + 5] = 0x00;
	return true;
}

static int run_low_raw(const uint8_t *insn, unsigned len)
{
	uint32_t host_mxcsr;

	__asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
	memset(low + low_slot, 0x90, SLOT_LEN);
	memcpy(low + low_slot, insn, len);
	asig = 0;
	if (sigsetjmp(ajmp, 1)) {
		__asm__ volatile("vzeroupper; ldmxcsr %0" : : "m"(host_mxcsr));
		return asig;
	}
	((void (*)(void))(void *)(low + LOW_STUB64))();
	__asm__ volatile("vzeroupper; ldmxcsr %0" : : "m"(host_mxcsr));
	return 0;
}

static int run_low(const uint8_t *insn, unsigned len)
{
	int sig;

	native_handlers(true);
	sig = run_low_raw(insn, len);
	native_handlers(false);
	return sig;
}

static void arun_case32(const uint8_t *insn, unsigned len, struct oracle_counts *c)
{
	struct actx32 *ctx = (struct actx32 *)(void *)(low + LOW_CTX), in;
	struct sw_cpu *cpu = &ah32->cpu;
	uint8_t init_mem[MEM_SIZE], imem[MEM_SIZE], hi[8][32];
	uint64_t r = rnd();
	uint32_t base = (uint32_t)(uintptr_t)low;
	bool bad = false;
	int nvec, ivec;

	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 8; i++)
		in.gpr[i] = (uint32_t)rnd_gpr();
	in.gpr[R_SP] = 0;
	in.flags_in = X86_RFLAGS_FIXED | (uint32_t)(rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < 8; i++)
		rnd_vec(in.ymm[i], 32);
	in.mxcsr_in = MXCSR_INIT | (uint32_t)((r & 3) << 13);
	if (r & 4)
		in.mxcsr_in |= MXCSR_DAZ;
	if (r & 8)
		in.mxcsr_in |= MXCSR_FTZ;
	if (((r >> 20) & 7) == 0)
		in.mxcsr_in &= ~((uint32_t)(r >> 24) & MXCSR_MASKS);
	in.mxcsr_in &= sw_mxcsr_mask;
	for (unsigned i = 0; i < MEM_SIZE; i += 32)
		rnd_vec(init_mem + i, 32);

	/* native: ESI points into the middle of the low buffer */
	*ctx = in;
	ctx->gpr[R_SI] = base + LOW_MEM + MEM_SIZE / 2;
	memcpy(low + LOW_MEM, init_mem, MEM_SIZE);
	nvec = asignal_vector(run_low(insn, len));

	/* interpreter */
	swh_poke(ah32, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(ah32, CODE_GPA, insn, len);
	for (unsigned i = 0; i < 8; i++)
		cpu->st.gpr[i] = in.gpr[i];
	cpu->st.gpr[R_SI] = MEM_GPA + MEM_SIZE / 2;
	cpu->st.gpr[R_SP] = 0x8000;
	cpu->st.rflags = in.flags_in;
	cpu->st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
	cpu->st.xcr0 = 7;
	cpu->st.fx.mxcsr = in.mxcsr_in;
	for (unsigned i = 0; i < 8; i++) {
		memcpy(cpu->st.fx.xmm[i], in.ymm[i], 16);
		memcpy(cpu->st.ymmh[i], in.ymm[i] + 16, 16);
	}
	/* YMM8-15 are out of reach of 32-bit code: they must not change. */
	for (unsigned i = 0; i < 8; i++) {
		rnd_vec(hi[i], 32);
		memcpy(cpu->st.fx.xmm[8 + i], hi[i], 16);
		memcpy(cpu->st.ymmh[8 + i], hi[i] + 16, 16);
	}
	ivec = swh_step(ah32);
	swh_peek(ah32, MEM_GPA, imem, MEM_SIZE);

	c->cases++;
	if (nvec != SWH_OK)
		c->faults++;
	if (nvec != ivec) {
		bad = true;
	} else if (nvec != SWH_OK) {
		/* Precise: nothing changed (but the MXCSR flags for #XM). */
		for (unsigned i = 0; i < 8; i++)
			if (i != R_SP && i != R_SI && (uint32_t)cpu->st.gpr[i] != in.gpr[i])
				bad = true;
		for (unsigned i = 0; i < 8; i++) {
			uint8_t iv[32];

			interp_ymm(cpu, i, iv);
			bad |= memcmp(iv, in.ymm[i], 32) != 0;
		}
		bad |= memcmp(imem, init_mem, MEM_SIZE) != 0;
	} else {
		for (unsigned i = 0; i < 8; i++)
			if (i != R_SP && i != R_SI && (uint32_t)cpu->st.gpr[i] != ctx->gpr[i])
				bad = true;
		bad |= (uint32_t)cpu->st.gpr[R_SI] - (uint32_t)(MEM_GPA + MEM_SIZE / 2) !=
		       ctx->gpr[R_SI] - (base + LOW_MEM + MEM_SIZE / 2);
		bad |= ((ctx->flags_out ^ cpu->st.rflags) & ARITH_FLAGS) != 0;
		bad |= ctx->mxcsr_out != cpu->st.fx.mxcsr;
		for (unsigned i = 0; i < 8; i++) {
			uint8_t iv[32];

			interp_ymm(cpu, i, iv);
			bad |= memcmp(iv, ctx->ymm[i], 32) != 0;
		}
		bad |= memcmp(imem, low + LOW_MEM, MEM_SIZE) != 0;
	}
	for (unsigned i = 0; i < 8; i++) {
		uint8_t iv[32];

		interp_ymm(cpu, 8 + i, iv);
		bad |= memcmp(iv, hi[i], 32) != 0;
	}
	if (bad) {
		ZydisDisassembledInstruction di;
		static unsigned shown;

		c->mismatches++;
		if (++shown <= 20) {
			bool ok = ZYAN_SUCCESS(ZydisDisassembleIntel(
				ZYDIS_MACHINE_MODE_LONG_COMPAT_32, 0, insn, len, &di));

			printf("MISMATCH 32-bit: %-44s (", ok ? di.text : "(invalid)");
			for (unsigned b = 0; b < len; b++)
				printf("%s%02x", b ? " " : "", insn[b]);
			printf(") native(vec %d) | interp(vec %d) mxcsr_in=%04x native %04x "
			       "interp %04x\n", nvec, ivec, in.mxcsr_in, ctx->mxcsr_out,
			       cpu->st.fx.mxcsr);
		}
	}
}

/* The forms in 32-bit code, per/8 cases each; counts into @c. */
static void atest_compat(unsigned per, struct oracle_counts *c)
{
	static const uint8_t nop[] = { 0x90 };
	ZydisDecoder dec;
	int sig;

	if (!build_low()) {
		printf("oracle: no memory below 4 GiB: 32-bit AVX cases skipped\n");
		return;
	}
	memset(low + LOW_CTX, 0, sizeof(struct actx32));
	((struct actx32 *)(void *)(low + LOW_CTX))->mxcsr_in = MXCSR_INIT;
	((struct actx32 *)(void *)(low + LOW_CTX))->flags_in = X86_RFLAGS_FIXED;
	sig = run_low(nop, sizeof(nop));
	if (sig) {
		printf("oracle: compatibility mode not available here (signal %d): 32-bit AVX "
		       "cases skipped\n", sig);
		return;
	}
	ah32 = swh_new(4 << 20, SWH_COMPAT32);
	if (!ah32) {
		c->mismatches++;
		return;
	}
	/* A new harness VM sets up the model again. */
	model_patch();
	find_forms(aforms32, &nr_aforms32, true);
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
	for (unsigned i = 0; i < nr_aforms32; i++) {
		for (unsigned k = 0; k < (per + 7) / 8; k++) {
			ZydisEncoderRequest q;
			uint8_t insn[SLOT_LEN + 1];
			ZyanUSize len;
			int tries = 0;

			do {
				fill_req(&q, &aforms32[i], false, true);
				len = SLOT_LEN;
			} while (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, insn, &len)) &&
				 ++tries < 50);
			if (tries >= 50) {
				c->mismatches++;
				break;
			}
			arun_case32(insn, (unsigned)len, c);
			/* One case in 8: a VEX-field variant (VEX.vvvv[3] is ignored here). */
			if ((rnd() & 7) == 0 && mutate_vex(insn, &len, rnd(), true)) {
				ZydisDecodedInstruction zi;
				ZyanStatus st = ZydisDecoderDecodeInstruction(&dec, NULL, insn,
									      len, &zi);

				if (!ZYAN_SUCCESS(st) || in_set(zi.mnemonic))
					arun_case32(insn, (unsigned)len, c);
			}
		}
	}
	swh_free(ah32);
}

/* The model advertises these (the host has them), whatever machine/cpuid.c says. */
static void model_patch(void)
{
	for (unsigned i = 0; i < cpuid_global.nr; i++) {
		struct cpuid_leaf *l = &cpuid_global.leaf[i];

		if (l->function == 1)
			l->ecx |= (1u << 28) | (1u << 12) | (1u << 29);
		if (l->function == 7 && l->index == 0)
			l->ebx |= 1u << 5;
	}
}

static bool host_has(unsigned leaf, unsigned reg, unsigned bit)
{
	unsigned r[4];

	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg] & (1u << bit);
}

void oracle_avx_fp(unsigned per, struct oracle_counts *total)
{
	struct cpuid_model saved;
	ZydisDecoder vdec;

	if (!host_has(1, 2, 28) || !host_has(1, 2, 27) || !host_has(1, 2, 12) ||
	    !host_has(1, 2, 29) || !host_has(7, 1, 5)) {
		printf("oracle: AVX/FMA/F16C/AVX2 cases skipped: the host lacks one of them\n");
		return;
	}
	build_astub();

	ah = swh_new(4 << 20, SWH_LONG64);
	if (!ah) {
		printf("oracle_avx_fp: cannot create the harness VM\n");
		total->mismatches++;
		return;
	}
	saved = cpuid_global;
	model_patch();
	find_forms(aforms, &nr_aforms, false);
	ZydisDecoderInit(&vdec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	nr_forms_ext[E_VARIANT] = nr_aforms;
	for (unsigned i = 0; i < nr_aforms; i++) {
		const struct aform *f = &aforms[i];

		nr_forms_ext[f->ext]++;
		if (getenv("ORACLE_TRACE")) {
			static const char *const kn[K_NR] = { "x", "y", "m32", "m64", "m128",
							     "m256", "r32", "r64", "imm8" };

			fprintf(stderr, "avx form %u %s", i, ZydisMnemonicGetString(f->mn));
			for (unsigned o = 0; o < f->nops; o++)
				fprintf(stderr, "%s%s", o ? ", " : " ", kn[f->kind[o]]);
			fprintf(stderr, "\n");
		}
		for (unsigned k = 0; k < per; k++) {
			ZydisEncoderRequest q;
			uint8_t insn[SLOT_LEN + 1];
			ZyanUSize len = SLOT_LEN;
			int tries = 0;

			do {
				fill_req(&q, f, false, false);
				len = SLOT_LEN;
			} while (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, insn, &len)) &&
				 ++tries < 50);
			if (tries >= 50) {
				printf("cannot encode a form of %s\n",
				       ZydisMnemonicGetString(f->mn));
				ext_counts[f->ext].mismatches++;
				break;
			}
			arun_case(f, insn, (unsigned)len);
			/* One case in 8: a VEX-field variant too. */
			if ((rnd() & 7) == 0 && mutate_vex(insn, &len, rnd(), false)) {
				ZydisDecodedInstruction zi;
				ZyanStatus st = ZydisDecoderDecodeInstruction(&vdec, NULL, insn,
									      len, &zi);
				struct aform v = *f;

				v.ext = E_VARIANT;
				if (!ZYAN_SUCCESS(st) || in_set(zi.mnemonic)) {
					nr_variant_invalid += !ZYAN_SUCCESS(st);
					arun_case(&v, insn, (unsigned)len);
				}
			}
		}
	}
	atest_compat(per, &ext_counts[E_COMPAT]);
	nr_forms_ext[E_COMPAT] = nr_aforms32;
	atest_rules();
	atest_native_maskmov();
	cpuid_global = saved;
	for (unsigned e = 0; e < E_NR; e++) {
		printf("oracle: %-36s %7lu cases in %3lu forms, %lu mismatches (%lu faulted on "
		       "both sides)\n", ext_names[e], ext_counts[e].cases, nr_forms_ext[e],
		       ext_counts[e].mismatches, ext_counts[e].faults);
		total->cases += ext_counts[e].cases;
		total->mismatches += ext_counts[e].mismatches;
		total->faults += ext_counts[e].faults;
	}
	printf("oracle: %lu of the variants are invalid encodings (#UD expected on both sides)\n",
	       nr_variant_invalid);
	printf("oracle: VEX rules (#UD/#NM/#GP, VMASKMOV faults): %lu checks, %lu failed\n",
	       nr_checks, nr_checks_failed);
	total->cases += nr_checks;
	total->mismatches += nr_checks_failed;
	swh_free(ah);
}
