// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host CPU as oracle for the integer VEX instructions: the VEX.128
 * (AVX) and VEX.256 (AVX2) forms of the SSE2..SSE4.2 integer
 * instructions and the moves, and AVX2's own (broadcasts, lane permutes,
 * VPERMD/Q, VPBLENDD, variable shifts, VPMASKMOV, the gathers).
 *
 * As in oracle_simd.c: each case is one instruction encoded with the
 * Zydis encoder, in every form its operands allow (register and memory
 * source or destination, both vector lengths), run natively (a stub
 * loads the general registers, RFLAGS, MXCSR and the whole of YMM0-15,
 * executes it and saves them back) and in the interpreter from the same
 * state and memory. General registers, the arithmetic flags, all 256
 * bits of every YMM register, MXCSR and memory must match, and so must
 * faults (#GP for a misaligned VMOVDQA/VMOVNTDQ/VMOVNTDQA, #UD for a
 * gather naming one register twice). None of these leave anything
 * undefined.
 *
 * Inputs: random bits, saturation edges per word, sign bits per byte,
 * small strings with zeros (VPCMPxSTRx), small element values (shift
 * counts). Gathers get index elements that keep every address inside
 * the memory block; their masks are random.
 *
 * The interpreter runs with CR4.OSXSAVE and XCR0 = 7, and a model with
 * AVX and AVX2 set where the host has them.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/sw/avx.h"
#include "machine/cpuid.h"
#include "tests/unit/oracle_avx_int.h"

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
	uint64_t pad[3];		/* 152 */
	uint8_t ymm[16][32];		/* 176 */
} __attribute__((aligned(32)));

#define OFF_FLAGS_IN	128
#define OFF_FLAGS_OUT	136
#define OFF_MXCSR_IN	144
#define OFF_MXCSR_OUT	148
#define OFF_YMM		176

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
		printf("oracle_avx_int: cannot assemble the stub (%s)\n",
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
		printf("oracle_avx_int: stub too long\n");
		exit(1);
	}
}

static void aon_signal(int sig)
{
	asig = sig;
	siglongjmp(ajmp, 1);
}

static int run_anative(const uint8_t *insn, unsigned len, struct actx *ctx)
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
		0, 1, ~0ull, 0x80, 0xff, 0x8000, 0xffff, 0x80000000, 0xffffffff,
		0x8000000000000000ull, 0x7fffffffffffffffull, 0x100000000ull,
	};
	uint64_t r = rnd();

	switch (r & 7) {
	case 0:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (r >> 8) & 0xff;
	case 2:
	case 3:
		/* Explicit string lengths (VPCMPESTRx), negative ones included. */
		return (uint64_t)((int64_t)((r >> 8) % 41) - 20);
	default:
		return rnd();
	}
}

/* One 8-byte chunk of vector input, of kind @kind. */
static uint64_t rnd_chunk(unsigned kind)
{
	uint64_t r = rnd(), x = 0;

	switch (kind) {
	case 0:		/* saturation edges per word */
		for (unsigned w = 0; w < 4; w++) {
			static const uint16_t e[] = { 0, 1, 0x7fff, 0x8000, 0xffff, 0x80, 0x7f,
						      0xff };

			x |= (uint64_t)e[(r >> (3 * w)) & 7] << (16 * w);
		}
		return x;
	case 1:		/* strings over a small alphabet, zeros included */
		for (unsigned b = 0; b < 8; b++)
			x |= (uint64_t)("\0abcab\x80\xff"[(r >> (3 * b)) & 7]) << (8 * b);
		return x;
	case 2:		/* small elements: shift counts, indices, in and past range */
		for (unsigned b = 0; b < 8; b++)
			x |= (uint64_t)((r >> (5 * b)) % 70) << (8 * b);
		return (r >> 62) ? x & 0x000000ff000000ffull : x & 0x0000007f0000007full;
	case 3:		/* sign bits (masks, blends, PMOVMSKB) */
		for (unsigned b = 0; b < 8; b++)
			x |= (uint64_t)(((r >> b) & 1) ? 0x80 | ((r >> (8 + b)) & 0x7f) : 0) << (8 * b);
		return x;
	default:
		return r;
	}
}

static void rnd_vec(uint8_t *v, unsigned len)
{
	unsigned kind = rnd() % 7;

	for (unsigned i = 0; i < len; i += 8) {
		uint64_t x = rnd_chunk(kind);

		memcpy(v + i, &x, 8);
	}
}

/* ---- the forms ---- */

/*
 * Operand letters: V vector register of the vector length, x an XMM, y a
 * YMM register; R V-register or memory, S XMM or memory, M memory; g r32,
 * G r32 or memory, Q r64 or memory; i imm8; W a VSIB operand indexed by a
 * V register, w one indexed by an XMM. A shape with R, S, G or Q gives a
 * register form and a memory form.
 */
struct aspec {
	ZydisMnemonic mn;
	const char *shape;
	unsigned vl;		/* 16 or 32 */
};

#define B(m, s)		{ m, s, 16 }, { m, s, 32 }
#define L(m, s)		{ m, s, 16 }
#define H(m, s)		{ m, s, 32 }

static const struct aspec aspecs[] = {
	B(ZYDIS_MNEMONIC_VPADDB, "VVR"), B(ZYDIS_MNEMONIC_VPADDW, "VVR"),
	B(ZYDIS_MNEMONIC_VPADDD, "VVR"), B(ZYDIS_MNEMONIC_VPADDQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPSUBB, "VVR"), B(ZYDIS_MNEMONIC_VPSUBW, "VVR"),
	B(ZYDIS_MNEMONIC_VPSUBD, "VVR"), B(ZYDIS_MNEMONIC_VPSUBQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPADDSB, "VVR"), B(ZYDIS_MNEMONIC_VPADDSW, "VVR"),
	B(ZYDIS_MNEMONIC_VPSUBSB, "VVR"), B(ZYDIS_MNEMONIC_VPSUBSW, "VVR"),
	B(ZYDIS_MNEMONIC_VPADDUSB, "VVR"), B(ZYDIS_MNEMONIC_VPADDUSW, "VVR"),
	B(ZYDIS_MNEMONIC_VPSUBUSB, "VVR"), B(ZYDIS_MNEMONIC_VPSUBUSW, "VVR"),
	B(ZYDIS_MNEMONIC_VPCMPEQB, "VVR"), B(ZYDIS_MNEMONIC_VPCMPEQW, "VVR"),
	B(ZYDIS_MNEMONIC_VPCMPEQD, "VVR"), B(ZYDIS_MNEMONIC_VPCMPEQQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPCMPGTB, "VVR"), B(ZYDIS_MNEMONIC_VPCMPGTW, "VVR"),
	B(ZYDIS_MNEMONIC_VPCMPGTD, "VVR"), B(ZYDIS_MNEMONIC_VPCMPGTQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPAND, "VVR"), B(ZYDIS_MNEMONIC_VPANDN, "VVR"),
	B(ZYDIS_MNEMONIC_VPOR, "VVR"), B(ZYDIS_MNEMONIC_VPXOR, "VVR"),
	B(ZYDIS_MNEMONIC_VPMULLW, "VVR"), B(ZYDIS_MNEMONIC_VPMULHW, "VVR"),
	B(ZYDIS_MNEMONIC_VPMULHUW, "VVR"), B(ZYDIS_MNEMONIC_VPMULLD, "VVR"),
	B(ZYDIS_MNEMONIC_VPMULUDQ, "VVR"), B(ZYDIS_MNEMONIC_VPMULDQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPMULHRSW, "VVR"), B(ZYDIS_MNEMONIC_VPMADDWD, "VVR"),
	B(ZYDIS_MNEMONIC_VPMADDUBSW, "VVR"), B(ZYDIS_MNEMONIC_VPSADBW, "VVR"),
	B(ZYDIS_MNEMONIC_VMPSADBW, "VVRi"),
	B(ZYDIS_MNEMONIC_VPAVGB, "VVR"), B(ZYDIS_MNEMONIC_VPAVGW, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINSB, "VVR"), B(ZYDIS_MNEMONIC_VPMAXSB, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINUB, "VVR"), B(ZYDIS_MNEMONIC_VPMAXUB, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINSW, "VVR"), B(ZYDIS_MNEMONIC_VPMAXSW, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINUW, "VVR"), B(ZYDIS_MNEMONIC_VPMAXUW, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINSD, "VVR"), B(ZYDIS_MNEMONIC_VPMAXSD, "VVR"),
	B(ZYDIS_MNEMONIC_VPMINUD, "VVR"), B(ZYDIS_MNEMONIC_VPMAXUD, "VVR"),
	B(ZYDIS_MNEMONIC_VPABSB, "VR"), B(ZYDIS_MNEMONIC_VPABSW, "VR"),
	B(ZYDIS_MNEMONIC_VPABSD, "VR"),
	B(ZYDIS_MNEMONIC_VPSIGNB, "VVR"), B(ZYDIS_MNEMONIC_VPSIGNW, "VVR"),
	B(ZYDIS_MNEMONIC_VPSIGND, "VVR"),
	B(ZYDIS_MNEMONIC_VPTEST, "VR"),
	B(ZYDIS_MNEMONIC_VPSLLW, "VVS"), B(ZYDIS_MNEMONIC_VPSLLW, "VVi"),
	B(ZYDIS_MNEMONIC_VPSLLD, "VVS"), B(ZYDIS_MNEMONIC_VPSLLD, "VVi"),
	B(ZYDIS_MNEMONIC_VPSLLQ, "VVS"), B(ZYDIS_MNEMONIC_VPSLLQ, "VVi"),
	B(ZYDIS_MNEMONIC_VPSRLW, "VVS"), B(ZYDIS_MNEMONIC_VPSRLW, "VVi"),
	B(ZYDIS_MNEMONIC_VPSRLD, "VVS"), B(ZYDIS_MNEMONIC_VPSRLD, "VVi"),
	B(ZYDIS_MNEMONIC_VPSRLQ, "VVS"), B(ZYDIS_MNEMONIC_VPSRLQ, "VVi"),
	B(ZYDIS_MNEMONIC_VPSRAW, "VVS"), B(ZYDIS_MNEMONIC_VPSRAW, "VVi"),
	B(ZYDIS_MNEMONIC_VPSRAD, "VVS"), B(ZYDIS_MNEMONIC_VPSRAD, "VVi"),
	B(ZYDIS_MNEMONIC_VPSLLDQ, "VVi"), B(ZYDIS_MNEMONIC_VPSRLDQ, "VVi"),
	B(ZYDIS_MNEMONIC_VPSHUFB, "VVR"),
	B(ZYDIS_MNEMONIC_VPSHUFD, "VRi"), B(ZYDIS_MNEMONIC_VPSHUFHW, "VRi"),
	B(ZYDIS_MNEMONIC_VPSHUFLW, "VRi"),
	B(ZYDIS_MNEMONIC_VPALIGNR, "VVRi"),
	B(ZYDIS_MNEMONIC_VPUNPCKLBW, "VVR"), B(ZYDIS_MNEMONIC_VPUNPCKLWD, "VVR"),
	B(ZYDIS_MNEMONIC_VPUNPCKLDQ, "VVR"), B(ZYDIS_MNEMONIC_VPUNPCKLQDQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPUNPCKHBW, "VVR"), B(ZYDIS_MNEMONIC_VPUNPCKHWD, "VVR"),
	B(ZYDIS_MNEMONIC_VPUNPCKHDQ, "VVR"), B(ZYDIS_MNEMONIC_VPUNPCKHQDQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPACKSSWB, "VVR"), B(ZYDIS_MNEMONIC_VPACKSSDW, "VVR"),
	B(ZYDIS_MNEMONIC_VPACKUSWB, "VVR"), B(ZYDIS_MNEMONIC_VPACKUSDW, "VVR"),
	B(ZYDIS_MNEMONIC_VPMOVSXBW, "VS"), B(ZYDIS_MNEMONIC_VPMOVSXBD, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVSXBQ, "VS"), B(ZYDIS_MNEMONIC_VPMOVSXWD, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVSXWQ, "VS"), B(ZYDIS_MNEMONIC_VPMOVSXDQ, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVZXBW, "VS"), B(ZYDIS_MNEMONIC_VPMOVZXBD, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVZXBQ, "VS"), B(ZYDIS_MNEMONIC_VPMOVZXWD, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVZXWQ, "VS"), B(ZYDIS_MNEMONIC_VPMOVZXDQ, "VS"),
	B(ZYDIS_MNEMONIC_VPMOVMSKB, "gV"),
	B(ZYDIS_MNEMONIC_VPBLENDW, "VVRi"), B(ZYDIS_MNEMONIC_VPBLENDVB, "VVRV"),
	B(ZYDIS_MNEMONIC_VPHADDW, "VVR"), B(ZYDIS_MNEMONIC_VPHADDD, "VVR"),
	B(ZYDIS_MNEMONIC_VPHADDSW, "VVR"), B(ZYDIS_MNEMONIC_VPHSUBW, "VVR"),
	B(ZYDIS_MNEMONIC_VPHSUBD, "VVR"), B(ZYDIS_MNEMONIC_VPHSUBSW, "VVR"),
	L(ZYDIS_MNEMONIC_VPHMINPOSUW, "VR"),
	L(ZYDIS_MNEMONIC_VPEXTRB, "Gxi"), L(ZYDIS_MNEMONIC_VPEXTRW, "Gxi"),
	L(ZYDIS_MNEMONIC_VPEXTRD, "Gxi"), L(ZYDIS_MNEMONIC_VPEXTRQ, "Qxi"),
	L(ZYDIS_MNEMONIC_VPINSRB, "xxGi"), L(ZYDIS_MNEMONIC_VPINSRW, "xxGi"),
	L(ZYDIS_MNEMONIC_VPINSRD, "xxGi"), L(ZYDIS_MNEMONIC_VPINSRQ, "xxQi"),
	L(ZYDIS_MNEMONIC_VMOVD, "xG"), L(ZYDIS_MNEMONIC_VMOVD, "Gx"),
	L(ZYDIS_MNEMONIC_VMOVQ, "xQ"), L(ZYDIS_MNEMONIC_VMOVQ, "Qx"),
	L(ZYDIS_MNEMONIC_VMOVQ, "xS"), L(ZYDIS_MNEMONIC_VMOVQ, "Sx"),
	B(ZYDIS_MNEMONIC_VMOVDQA, "VR"), B(ZYDIS_MNEMONIC_VMOVDQA, "RV"),
	B(ZYDIS_MNEMONIC_VMOVDQU, "VR"), B(ZYDIS_MNEMONIC_VMOVDQU, "RV"),
	B(ZYDIS_MNEMONIC_VMOVNTDQ, "MV"), B(ZYDIS_MNEMONIC_VMOVNTDQA, "VM"),
	B(ZYDIS_MNEMONIC_VLDDQU, "VM"),
	L(ZYDIS_MNEMONIC_VMASKMOVDQU, "xx"),
	L(ZYDIS_MNEMONIC_VPCMPESTRI, "xRi"), L(ZYDIS_MNEMONIC_VPCMPESTRM, "xRi"),
	L(ZYDIS_MNEMONIC_VPCMPISTRI, "xRi"), L(ZYDIS_MNEMONIC_VPCMPISTRM, "xRi"),

	/* AVX2's own. */
	B(ZYDIS_MNEMONIC_VPBROADCASTB, "VS"), B(ZYDIS_MNEMONIC_VPBROADCASTW, "VS"),
	B(ZYDIS_MNEMONIC_VPBROADCASTD, "VS"), B(ZYDIS_MNEMONIC_VPBROADCASTQ, "VS"),
	H(ZYDIS_MNEMONIC_VBROADCASTI128, "yM"), H(ZYDIS_MNEMONIC_VINSERTI128, "yySi"),
	H(ZYDIS_MNEMONIC_VEXTRACTI128, "Syi"), H(ZYDIS_MNEMONIC_VPERM2I128, "yyRi"),
	H(ZYDIS_MNEMONIC_VPERMD, "yyR"), H(ZYDIS_MNEMONIC_VPERMQ, "yRi"),
	B(ZYDIS_MNEMONIC_VPBLENDD, "VVRi"),
	B(ZYDIS_MNEMONIC_VPSLLVD, "VVR"), B(ZYDIS_MNEMONIC_VPSLLVQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPSRLVD, "VVR"), B(ZYDIS_MNEMONIC_VPSRLVQ, "VVR"),
	B(ZYDIS_MNEMONIC_VPSRAVD, "VVR"),
	B(ZYDIS_MNEMONIC_VPMASKMOVD, "VVM"), B(ZYDIS_MNEMONIC_VPMASKMOVD, "MVV"),
	B(ZYDIS_MNEMONIC_VPMASKMOVQ, "VVM"), B(ZYDIS_MNEMONIC_VPMASKMOVQ, "MVV"),
	B(ZYDIS_MNEMONIC_VPGATHERDD, "VWV"), B(ZYDIS_MNEMONIC_VGATHERDPS, "VWV"),
	B(ZYDIS_MNEMONIC_VPGATHERQQ, "VWV"), B(ZYDIS_MNEMONIC_VGATHERQPD, "VWV"),
	B(ZYDIS_MNEMONIC_VPGATHERDQ, "VwV"), B(ZYDIS_MNEMONIC_VGATHERDPD, "VwV"),
	B(ZYDIS_MNEMONIC_VPGATHERQD, "xWx"), B(ZYDIS_MNEMONIC_VGATHERQPS, "xWx"),

	/* AES and PCLMULQDQ, VEX.128 (the 256-bit forms are VAES/VPCLMULQDQ: #UD). */
	L(ZYDIS_MNEMONIC_VAESENC, "xxR"), L(ZYDIS_MNEMONIC_VAESENCLAST, "xxR"),
	L(ZYDIS_MNEMONIC_VAESDEC, "xxR"), L(ZYDIS_MNEMONIC_VAESDECLAST, "xxR"),
	L(ZYDIS_MNEMONIC_VAESIMC, "xR"), L(ZYDIS_MNEMONIC_VAESKEYGENASSIST, "xRi"),
	L(ZYDIS_MNEMONIC_VPCLMULQDQ, "xxRi"),
};

/* General registers a case may name: not rsp, r14 (memory base), r15 (context). */
static const unsigned gprs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };

static ZydisRegister pick_gpr(unsigned size)
{
	unsigned idx = gprs[rnd() % (sizeof(gprs) / sizeof(gprs[0]))];

	return (size == 8 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX) + idx;
}

static ZydisRegister pick_vreg(unsigned len, bool *used)
{
	unsigned r = (unsigned)(rnd() % 16);

	/* Distinct registers (gathers) most of the time, the same one now and then. */
	if (used) {
		if ((rnd() & 7) && used[r])
			for (unsigned k = 0; k < 16 && used[r]; k++)
				r = (r + 1) & 15;
		used[r] = true;
	}
	return (len == 32 ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + r;
}

/* Mostly 32-byte aligned displacements (the aligned forms), sometimes anything (#GP). */
static int64_t pick_disp(void)
{
	uint64_t r = rnd();

	if (r & 7)
		return (int64_t)((r >> 8) % 7) * 32 - 96;
	return (int64_t)((r >> 8) % 193) - 96;
}

/* Try the memory sizes the form may have: the encoder refuses the wrong ones. */
static bool enc_try(ZydisEncoderRequest *q, int mem_op, uint8_t *buf, ZyanUSize *len)
{
	static const unsigned sizes[] = { 32, 16, 8, 4, 2, 1 };

	for (unsigned i = 0; i < 6; i++) {
		if (mem_op >= 0)
			q->operands[mem_op].mem.size = (ZyanU16)sizes[i];
		*len = SLOT_LEN;
		if (ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(q, buf, len)))
			return true;
		if (mem_op < 0)
			break;
	}
	return false;
}

static bool aencode(const struct aspec *s, bool mem, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest q;
	ZydisEncoderOperand *o = q.operands;
	bool used[16] = { false };
	bool *u = strchr(s->shape, 'W') || strchr(s->shape, 'w') ? used : NULL;
	int mem_op = -1;
	unsigned n = 0;

	memset(&q, 0, sizeof(q));
	q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	q.mnemonic = s->mn;
	for (const char *c = s->shape; *c; c++, n++) {
		switch (*c) {
		case 'V':
			o_reg(&o[n], pick_vreg(s->vl, u));
			break;
		case 'x':
			o_reg(&o[n], pick_vreg(16, u));
			break;
		case 'y':
			o_reg(&o[n], pick_vreg(32, u));
			break;
		case 'R':
		case 'S':
		case 'G':
		case 'Q':
			if (!mem) {
				if (*c == 'R')
					o_reg(&o[n], pick_vreg(s->vl, NULL));
				else if (*c == 'S')
					o_reg(&o[n], pick_vreg(16, NULL));
				else
					o_reg(&o[n], pick_gpr(*c == 'Q' ? 8 : 4));
				break;
			}
			/* fall through */
		case 'M':
			o_mem(&o[n], ZYDIS_REGISTER_R14, pick_disp(), 16);
			mem_op = (int)n;
			break;
		case 'g':
			o_reg(&o[n], pick_gpr(4));
			break;
		case 'i':
			o_imm(&o[n], rnd() & 0xff);
			break;
		case 'W':
		case 'w':
			o_mem(&o[n], ZYDIS_REGISTER_R14, (int64_t)(rnd() % 97) - 48, 4);
			o[n].mem.index = pick_vreg(*c == 'W' ? s->vl : 16, u);
			o[n].mem.scale = (ZyanU8)(1u << (rnd() % 4));
			mem_op = (int)n;
			break;
		}
	}
	q.operand_count = n;
	/* A register as fourth operand is encoded in imm8[7:4] (VPBLENDVB). */
	if (n == 4 && o[3].type == ZYDIS_OPERAND_TYPE_REGISTER)
		o[3].reg.is4 = true;
	/* VPCMPESTRx with VEX.W1: RAX/RDX lengths. */
	if ((s->mn == ZYDIS_MNEMONIC_VPCMPESTRI || s->mn == ZYDIS_MNEMONIC_VPCMPESTRM) &&
	    (rnd() & 1))
		q.operand_size_hint = ZYDIS_OPERAND_SIZE_HINT_64;
	return enc_try(&q, mem_op, buf, len);
}

/*
 * Now and then a variant the encoder would not produce: VEX.L, VEX.W or
 * VEX.vvvv changed in the encoded prefix. Forms that ignore the bit run
 * as before, the others must be #UD (VEX.L = 1 on a 128-bit-only form,
 * vvvv != 1111b where it names no register, the wrong VEX.W): the host
 * says which.
 */
static void vex_variant(uint8_t *insn, unsigned len)
{
	uint64_t r = rnd();
	unsigned p = 0;

	if (len < 3 || (r & 3))
		return;
	r >>= 2;
	/* vvvv and L sit in the last prefix byte: C5's byte 1, C4's byte 2. */
	if (insn[0] == 0xc5)
		p = 1;
	else if (insn[0] == 0xc4)
		p = 2;
	else
		return;
	switch (r % 3) {
	case 0:
		insn[p] ^= 0x04;				/* L */
		break;
	case 1:
		insn[p] ^= (uint8_t)((((r >> 2) % 15) + 1) << 3);	/* vvvv */
		break;
	default:
		if (p == 2)
			insn[2] ^= 0x80;			/* W */
		else
			insn[1] ^= 0x04;
		break;
	}
}

/* ---- one case ---- */

static struct swh *ah;
enum { A_AVX, A_AVX2, A_CRYPTO, A_NR };
static const char *const a_names[A_NR] = {
	"AVX (integer)", "AVX2 (integer, gathers)", "AVX AES, PCLMULQDQ (VEX.128)",
};
static struct oracle_counts a_counts[A_NR];
static unsigned long a_faults[A_NR];
static bool host_avx2, host_crypto;

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

static void print_ymm(const char *what, const uint8_t *v)
{
	printf(" %s=", what);
	for (int b = 31; b >= 0; b--)
		printf("%02x%s", v[b], b == 16 ? "_" : "");
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
	printf("MISMATCH %s: %-44s flags_in=%03" PRIx64 " native(vec %d) flags=%03" PRIx64
	       " | interp(vec %d) flags=%03" PRIx64 "\n", what, text, in->flags_in & 0xfff, nvec,
	       nat->flags_out & 0xfff, ivec, cpu->st.rflags & 0xfff);
	for (unsigned r = 0; r < 14; r++)
		if (r != R_SP && (nat->gpr[r] != cpu->st.gpr[r] || in->gpr[r] != nat->gpr[r]))
			printf("   r%-2u in=%016" PRIx64 " native=%016" PRIx64 " interp=%016" PRIx64
			       "\n", r, in->gpr[r], nat->gpr[r], cpu->st.gpr[r]);
	for (unsigned x = 0; x < 16; x++) {
		uint8_t iv[32];

		memcpy(iv, cpu->st.fx.xmm[x], 16);
		memcpy(iv + 16, cpu->st.ymmh[x], 16);
		if (!memcmp(nat->ymm[x], iv, 32) && !memcmp(in->ymm[x], nat->ymm[x], 32))
			continue;
		printf("   ymm%-2u", x);
		print_ymm("in", in->ymm[x]);
		print_ymm("native", nat->ymm[x]);
		print_ymm("interp", iv);
		printf("\n");
	}
}

/* Gathers: index elements that keep base + index * scale + disp inside the memory block. */
static void gather_indices(const uint8_t *insn, unsigned len, struct actx *in)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisRegister ir;
	unsigned isize, x, lim;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, insn, len, &zi, ops)) ||
	    ops[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return;
	ir = ops[1].mem.index;
	if (ir >= ZYDIS_REGISTER_YMM0 && ir <= ZYDIS_REGISTER_YMM15)
		x = ir - ZYDIS_REGISTER_YMM0;
	else if (ir >= ZYDIS_REGISTER_XMM0 && ir <= ZYDIS_REGISTER_XMM15)
		x = ir - ZYDIS_REGISTER_XMM0;
	else
		return;
	switch (zi.mnemonic) {
	case ZYDIS_MNEMONIC_VPGATHERQD: case ZYDIS_MNEMONIC_VPGATHERQQ:
	case ZYDIS_MNEMONIC_VGATHERQPS: case ZYDIS_MNEMONIC_VGATHERQPD:
		isize = 8;
		break;
	default:
		isize = 4;
		break;
	}
	lim = 128 / (ops[1].mem.scale ? ops[1].mem.scale : 1);
	for (unsigned i = 0; i < 32 / isize; i++) {
		int64_t v = (int64_t)(rnd() % (2 * lim + 1)) - (int64_t)lim;

		memcpy(in->ymm[x] + i * isize, &v, isize);
	}
}

static bool is_crypto(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_VPCLMULQDQ: case ZYDIS_MNEMONIC_VAESENC:
	case ZYDIS_MNEMONIC_VAESENCLAST: case ZYDIS_MNEMONIC_VAESDEC:
	case ZYDIS_MNEMONIC_VAESDECLAST: case ZYDIS_MNEMONIC_VAESIMC:
	case ZYDIS_MNEMONIC_VAESKEYGENASSIST:
		return true;
	default:
		return false;
	}
}

/*
 * Is @insn a @m? And the extension it counts for (*@ext): the decoded
 * form's; for a variant that does not decode (#UD), the spec's.
 */
static bool is_mnemonic(const struct aspec *s, const uint8_t *insn, unsigned len, ZydisMnemonic m,
			unsigned *ext)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction zi;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, insn, len, &zi))) {
		*ext = is_crypto(s->mn) ? A_CRYPTO : s->vl == 32 ? A_AVX2 : A_AVX;
		return false;
	}
	*ext = zi.meta.isa_ext == ZYDIS_ISA_EXT_AVX ? A_AVX : A_AVX2;
	/*
	 * The VEX.256 forms of AES/PCLMULQDQ are the VAES/VPCLMULQDQ extensions,
	 * which the model leaves out (#UD) whether the host has them or not.
	 */
	if (is_crypto(zi.mnemonic))
		*ext = zi.avx.vector_length == 256 ? A_NR : A_CRYPTO;
	return zi.mnemonic == m;
}

static void arun_case(const struct aspec *s, const uint8_t *insn, unsigned len)
{
	struct sw_cpu *cpu = &ah->cpu;
	struct actx in, nat;
	uint8_t imem[MEM_SIZE], init_mem[MEM_SIZE];
	unsigned ext = A_AVX;
	bool maskmov = is_mnemonic(s, insn, len, ZYDIS_MNEMONIC_VMASKMOVDQU, &ext);
	struct oracle_counts *c;
	int nvec, ivec;
	bool same = true;

	if ((ext == A_AVX2 && !host_avx2) || (ext == A_CRYPTO && !host_crypto) || ext == A_NR)
		return;
	c = &a_counts[ext];
	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = rnd_gpr();
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;
	/* VMASKMOVDQU stores at rDI: an offset into the block (the base is added per side). */
	if (maskmov)
		in.gpr[R_DI] = (uint64_t)((int64_t)(rnd() % 29) * 8 - 112);
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	in.mxcsr_in = MXCSR_INIT;
	for (unsigned i = 0; i < 16; i++)
		rnd_vec(in.ymm[i], 32);
	if (strchr(s->shape, 'W') || strchr(s->shape, 'w'))
		gather_indices(insn, len, &in);
	for (unsigned i = 0; i < MEM_SIZE; i += 32)
		rnd_vec(init_mem + i, 32);

	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(amem + MEM_SIZE / 2);
	if (maskmov)
		nat.gpr[R_DI] += (uint64_t)(uintptr_t)(amem + MEM_SIZE / 2);
	memcpy(amem, init_mem, MEM_SIZE);
	nvec = asignal_vector(run_anative(insn, len, &nat));
	if (maskmov)
		nat.gpr[R_DI] -= (uint64_t)(uintptr_t)(amem + MEM_SIZE / 2);

	swh_poke(ah, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(ah, CODE_GPA, insn, len);
	memcpy(cpu->st.gpr, in.gpr, sizeof(in.gpr));
	cpu->st.gpr[R_R14] = MEM_GPA + MEM_SIZE / 2;
	if (maskmov)
		cpu->st.gpr[R_DI] += MEM_GPA + MEM_SIZE / 2;
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
	if (maskmov)
		cpu->st.gpr[R_DI] -= MEM_GPA + MEM_SIZE / 2;
	cpu->st.gpr[R_R14] = nat.gpr[R_R14];

	c->cases++;
	if (nvec != SWH_OK)
		a_faults[ext]++;
	if (nvec != ivec) {
		c->mismatches++;
		areport("fault", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK) {
		/* Precise: nothing changed. */
		uint64_t r14 = nat.gpr[R_R14];

		nat = in;
		nat.gpr[R_R14] = r14;
		nat.mxcsr_out = in.mxcsr_in;
		nat.flags_out = in.flags_in;
		memcpy(amem, init_mem, MEM_SIZE);
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
	for (unsigned i = 0; i < 16; i++) {
		if (memcmp(nat.ymm[i], cpu->st.fx.xmm[i], 16) ||
		    memcmp(nat.ymm[i] + 16, cpu->st.ymmh[i], 16)) {
			c->mismatches++;
			areport("ymm", insn, len, &in, &nat, nvec, ivec);
			return;
		}
	}
	if (nat.mxcsr_out != cpu->st.fx.mxcsr) {
		c->mismatches++;
		areport("mxcsr", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(imem, amem, MEM_SIZE)) {
		c->mismatches++;
		areport("memory", insn, len, &in, &nat, nvec, ivec);
	}
}

/* ---- the availability rules (interpreter only) ---- */

static void set_model_bit(uint32_t fn, unsigned reg, uint32_t bit, bool on)
{
	for (unsigned i = 0; i < cpuid_global.nr; i++) {
		struct cpuid_leaf *l = &cpuid_global.leaf[i];
		uint32_t *r = reg == 1 ? &l->ebx : &l->ecx;

		if (l->function != fn || l->index)
			continue;
		*r = on ? *r | bit : *r & ~bit;
	}
}

/*
 * #UD without the model's AVX/AVX2 bit, with CR4.OSXSAVE clear, or with
 * XCR0 lacking the AVX state; #NM with CR0.TS; the VEX.256 integer forms
 * need AVX2 where VMOVDQU ymm needs only AVX.
 */
static unsigned long arules(unsigned *nchecks)
{
	/* vpaddb xmm0, xmm1, xmm2; vpaddb ymm0, ymm1, ymm2; vmovdqu ymm0, ymm1 */
	static const uint8_t paddb128[] = { 0xc5, 0xf1, 0xfc, 0xc2 };
	static const uint8_t paddb256[] = { 0xc5, 0xf5, 0xfc, 0xc2 };
	static const uint8_t movdqu256[] = { 0xc5, 0xfe, 0x6f, 0xc1 };
	/* vaesenc xmm1, xmm2, xmm3; vpclmulqdq xmm1, xmm2, xmm3, 1 */
	static const uint8_t aesenc[] = { 0xc4, 0xe2, 0x69, 0xdc, 0xcb };
	static const uint8_t pclmul[] = { 0xc4, 0xe3, 0x69, 0x44, 0xcb, 0x01 };
	struct sw_cpu *cpu = &ah->cpu;
	unsigned long bad = 0;
	unsigned n = 0;

#define STEP(code, want)							\
	do {									\
		swh_load_code(ah, CODE_GPA, code, sizeof(code));		\
		n++;								\
		if (swh_step(ah) != (want)) {					\
			printf("MISMATCH: rule %u (%s) does not give %d\n", n, #code, (want)); \
			bad++;							\
		}								\
	} while (0)

	cpu->st.cr4 |= X86_CR4_OSXSAVE;
	cpu->st.xcr0 = 7;
	STEP(paddb128, SWH_OK);
	STEP(paddb256, host_avx2 ? SWH_OK : X86_UD);
	cpu->st.cr4 &= ~X86_CR4_OSXSAVE;
	STEP(paddb128, X86_UD);
	cpu->st.cr4 |= X86_CR4_OSXSAVE;
	cpu->st.xcr0 = 3;
	STEP(paddb128, X86_UD);
	cpu->st.xcr0 = 7;
	cpu->st.cr0 |= X86_CR0_TS;
	STEP(paddb256, host_avx2 ? X86_NM : X86_UD);
	cpu->st.cr0 &= ~X86_CR0_TS;
	/* CR0.EM and CR4.OSFXSR are not looked at by VEX forms. */
	cpu->st.cr0 |= X86_CR0_EM;
	cpu->st.cr4 &= ~X86_CR4_OSFXSR;
	STEP(paddb128, SWH_OK);
	cpu->st.cr0 &= ~X86_CR0_EM;
	cpu->st.cr4 |= X86_CR4_OSFXSR;
	/* AES and PCLMULQDQ need their own bits as well as AVX. */
	if (host_crypto) {
		STEP(aesenc, SWH_OK);
		STEP(pclmul, SWH_OK);
		set_model_bit(1, 2, SW_FEAT_AES.bit | SW_FEAT_PCLMUL.bit, false);
		STEP(aesenc, X86_UD);
		STEP(pclmul, X86_UD);
		set_model_bit(1, 2, SW_FEAT_AES.bit | SW_FEAT_PCLMUL.bit, true);
	}
	/* Without AVX2: the 256-bit integer form is #UD, the 128-bit one and the move run. */
	set_model_bit(7, 1, SW_FEAT_AVX2.bit, false);
	STEP(paddb256, X86_UD);
	STEP(paddb128, SWH_OK);
	STEP(movdqu256, SWH_OK);
	/* Without AVX: #UD even with CR0.TS set (the opcode does not exist). */
	set_model_bit(1, 2, SW_FEAT_AVX.bit, false);
	cpu->st.cr0 |= X86_CR0_TS;
	STEP(paddb128, X86_UD);
	cpu->st.cr0 &= ~X86_CR0_TS;
	set_model_bit(1, 2, SW_FEAT_AVX.bit, true);
	set_model_bit(7, 1, SW_FEAT_AVX2.bit, host_avx2);
#undef STEP
	*nchecks = n;
	if (bad)
		printf("MISMATCH: %lu of the availability rules\n", bad);
	return bad;
}

void oracle_avx_int(unsigned per, struct oracle_counts *total)
{
	struct sigaction sa;
	unsigned a, b, c, d, nchecks = 0;
	unsigned long bad;
	bool host_avx;

	host_avx = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 28)) && (c & (1u << 27));
	host_avx2 = host_avx && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 5));
	if (host_avx) {
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		host_avx = (lo & 6) == 6;
	}
	if (!host_avx) {
		printf("oracle: the host has no usable AVX: the AVX/AVX2 integer cases skipped\n");
		return;
	}
	if (!host_avx2)
		printf("oracle: the host has no AVX2: only the AVX integer cases run\n");
	host_crypto = __get_cpuid(1, &a, &b, &c, &d) && (c & SW_FEAT_AES.bit) &&
		      (c & SW_FEAT_PCLMUL.bit);
	if (!host_crypto)
		printf("oracle: the host has no AES or PCLMULQDQ: their VEX forms not tested\n");
	build_astub();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = aon_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	ah = swh_new(4 << 20, SWH_LONG64);
	if (!ah) {
		printf("oracle_avx_int: cannot create the harness VM\n");
		total->mismatches++;
		return;
	}
	/* The model as a CPU with AVX and AVX2 (whatever the default model says). */
	set_model_bit(1, 2, SW_FEAT_AVX.bit, true);
	set_model_bit(7, 1, SW_FEAT_AVX2.bit, host_avx2);
	set_model_bit(1, 2, SW_FEAT_AES.bit | SW_FEAT_PCLMUL.bit, host_crypto);
	for (size_t i = 0; i < sizeof(aspecs) / sizeof(aspecs[0]); i++) {
		const struct aspec *s = &aspecs[i];
		bool has_mem = strpbrk(s->shape, "RSGQ") != NULL;
		unsigned reps = per;

		if (s->mn == ZYDIS_MNEMONIC_VPCMPESTRI || s->mn == ZYDIS_MNEMONIC_VPCMPESTRM ||
		    s->mn == ZYDIS_MNEMONIC_VPCMPISTRI || s->mn == ZYDIS_MNEMONIC_VPCMPISTRM)
			reps = per * 4;
		for (unsigned form = 0; form < (has_mem ? 2u : 1u); form++) {
			for (unsigned k = 0; k < reps; k++) {
				uint8_t insn[SLOT_LEN];
				ZyanUSize len;
				int tries = 0;

				while (!aencode(s, form == 1, insn, &len))
					if (++tries > 50)
						break;
				if (tries > 50) {
					printf("cannot encode %s %s (vl %u, %s form)\n",
					       ZydisMnemonicGetString(s->mn), s->shape, s->vl * 8,
					       form ? "memory" : "register");
					a_counts[A_AVX].mismatches++;
					break;
				}
				vex_variant(insn, (unsigned)len);
				arun_case(s, insn, (unsigned)len);
			}
		}
	}
	bad = arules(&nchecks);
	for (unsigned e = 0; e < A_NR; e++) {
		printf("oracle: %-28s %7lu cases, %lu mismatches (%lu faulted on both sides)\n",
		       a_names[e], a_counts[e].cases, a_counts[e].mismatches, a_faults[e]);
		total->cases += a_counts[e].cases;
		total->mismatches += a_counts[e].mismatches;
		total->faults += a_faults[e];
	}
	printf("oracle: CPUID, CR0/CR4 and XCR0 rules of the VEX integer forms: %u checks, "
	       "%lu failed\n", nchecks, bad);
	total->cases += nchecks;
	total->mismatches += bad;
	swh_free(ah);
}
