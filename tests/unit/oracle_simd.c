// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host CPU as oracle for the x86-64-v2 extensions: SSE3, SSSE3,
 * SSE4.1, SSE4.2 (PCMPxSTRx and CRC32 included), POPCNT, LZCNT and
 * CMPXCHG16B.
 *
 * As in test_sw_oracle.c, each case is one instruction encoded with the
 * Zydis encoder, run natively (a stub loads the general registers, RFLAGS,
 * XMM0-15, MM0-7 and MXCSR from a context, executes it and saves them
 * back) and in the interpreter from the same state and memory. Registers,
 * the arithmetic flags, every XMM and MMX register, MXCSR and memory must
 * match, and so must faults (#GP for a misaligned aligned form, #XM for an
 * unmasked SIMD exception: SIGSEGV and SIGFPE natively). Of these only
 * LZCNT leaves flags undefined (OF SF AF PF): compared on Intel hosts,
 * whose behaviour the interpreter models, masked elsewhere or with
 * TANDEM_ORACLE_LAX=1, as test_sw_oracle.c does.
 *
 * Inputs mix random bits with what finds the edges: float specials
 * (zeros, infinities, NaNs, denormals, halfway values for rounding),
 * saturation edges, and strings over a small alphabet with zeros in them
 * (PCMPxSTRx). MXCSR takes every rounding mode with DAZ/FTZ at random,
 * and sometimes unmasked exceptions.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/sw/fpu.h"
#include "machine/cpuid.h"
#include "tests/unit/oracle_simd.h"

#define MEM_SIZE	512
#define MEM_GPA		0x20000ull
#define CODE_GPA	0x10000ull
#define SLOT_LEN	16
#define ARITH_FLAGS	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

struct vctx {
	uint64_t gpr[16];		/* 0: R_AX.. order; rsp and r15 unused */
	uint64_t flags_in, flags_out;	/* 128, 136 */
	uint32_t mxcsr_in, mxcsr_out;	/* 144, 148 */
	uint64_t pad;			/* 152 */
	uint8_t xmm[16][16];		/* 160 */
	uint64_t mm[8];			/* 416 */
} __attribute__((aligned(16)));

#define OFF_FLAGS_IN	128
#define OFF_FLAGS_OUT	136
#define OFF_MXCSR_IN	144
#define OFF_MXCSR_OUT	148
#define OFF_XMM		160
#define OFF_MM		416

_Static_assert(__builtin_offsetof(struct vctx, xmm) == OFF_XMM, "layout");
_Static_assert(__builtin_offsetof(struct vctx, mm) == OFF_MM, "layout");

typedef void (*vnative_fn)(struct vctx *ctx);

static uint8_t *vstub;
static size_t vslot;
static uint8_t vmem[MEM_SIZE] __attribute__((aligned(64)));
static sigjmp_buf vjmp;
static volatile int vsig;

/* ---- the native stub, assembled with the Zydis encoder ---- */

static size_t enc(uint8_t *p, size_t n, ZydisEncoderRequest *req)
{
	ZyanUSize len = 16;

	req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, p + n, &len))) {
		printf("oracle_simd: cannot assemble the stub (%s)\n",
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

static void build_vstub(void)
{
	static const ZydisRegister saved[] = {
		ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_R12,
		ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15,
	};
	ZydisEncoderRequest q;
	size_t n = 0;

	vstub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (vstub == MAP_FAILED) {
		perror("mmap");
		exit(77);
	}
	for (unsigned i = 0; i < 6; i++)
		n = e_r(vstub, n, ZYDIS_MNEMONIC_PUSH, saved[i]);
	/* The host's MXCSR, restored at the end: push rax; stmxcsr [rsp]. */
	n = e_r(vstub, n, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_RAX);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_RSP, 0, 4);
	req_init(&q, ZYDIS_MNEMONIC_MOV, 2);
	o_reg(&q.operands[0], ZYDIS_REGISTER_R15);
	o_reg(&q.operands[1], ZYDIS_REGISTER_RDI);
	n = enc(vstub, n, &q);
	for (unsigned i = 0; i < 16; i++)
		n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOVDQU, ZYDIS_REGISTER_XMM0 + i,
			  OFF_XMM + 16 * i, 16, false);
	for (unsigned i = 0; i < 8; i++)
		n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOVQ, ZYDIS_REGISTER_MM0 + i, OFF_MM + 8 * i, 8,
			  false);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_R15, OFF_MXCSR_IN, 4);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_R15, OFF_FLAGS_IN, 8);
	n = e_0(vstub, n, ZYDIS_MNEMONIC_POPFQ);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8,
				  false);
	vslot = n;
	memset(vstub + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	n = e_0(vstub, n, ZYDIS_MNEMONIC_PUSHFQ);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_R15, OFF_FLAGS_OUT, 8);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8,
				  true);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_R15, OFF_MXCSR_OUT, 4);
	for (unsigned i = 0; i < 16; i++)
		n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOVDQU, ZYDIS_REGISTER_XMM0 + i,
			  OFF_XMM + 16 * i, 16, true);
	for (unsigned i = 0; i < 8; i++)
		n = e_r_m(vstub, n, ZYDIS_MNEMONIC_MOVQ, ZYDIS_REGISTER_MM0 + i, OFF_MM + 8 * i, 8,
			  true);
	n = e_0(vstub, n, ZYDIS_MNEMONIC_EMMS);
	n = e_m(vstub, n, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_RSP, 0, 4);
	n = e_r(vstub, n, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_RAX);
	for (int i = 5; i >= 0; i--)
		n = e_r(vstub, n, ZYDIS_MNEMONIC_POP, saved[i]);
	n = e_0(vstub, n, ZYDIS_MNEMONIC_RET);
	if (n > 4096) {
		printf("oracle_simd: stub too long\n");
		exit(1);
	}
}

static void von_signal(int sig)
{
	vsig = sig;
	siglongjmp(vjmp, 1);
}

static int run_vnative(const uint8_t *insn, unsigned len, struct vctx *ctx)
{
	uint32_t host_mxcsr;

	__asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
	memset(vstub + vslot, 0x90, SLOT_LEN);
	memcpy(vstub + vslot, insn, len);
	vsig = 0;
	if (sigsetjmp(vjmp, 1)) {
		/* The stub did not get to restore the host's MXCSR and x87 state. */
		__asm__ volatile("emms; ldmxcsr %0" : : "m"(host_mxcsr));
		return vsig;
	}
	((vnative_fn)(void *)vstub)(ctx);
	return 0;
}

/* ---- inputs ---- */

static uint64_t rs = 0x243f6a8885a308d3ull;

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
		/* Bit counts: one run of ones somewhere. */
		return ((1ull << ((r >> 8) & 63)) - 1) << ((r >> 16) & 31);
	case 3:
		/* Explicit string lengths, negative ones included. */
		return (uint64_t)((int64_t)((r >> 8) % 41) - 20);
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
		0x4effffff, 0xcf000000, 0x3effffff, 0x40000000,
	};
	uint32_t x = v[r % (sizeof(v) / sizeof(v[0]))];

	/* Sometimes a nearby value: halfway cases and the last bit. */
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
	};
	uint64_t x = v[r % (sizeof(v) / sizeof(v[0]))];

	if ((r >> 8) & 1)
		x += (r >> 9) & 3;
	return x;
}

static void rnd_vec(uint8_t *v, unsigned len)
{
	unsigned kind = rnd() % 6;

	for (unsigned i = 0; i < len; i += 8) {
		uint64_t r = rnd(), x;

		switch (kind) {
		case 0:		/* float32 specials and small numbers */
			x = f32_special(r) | (uint64_t)f32_special(r >> 20) << 32;
			if ((r >> 40) & 1)
				x = (uint64_t)(uint32_t)(int32_t)(float)(int)((r >> 41) % 17 - 8) |
				    ((uint64_t)0x3f800000 << 32);
			break;
		case 1:
			x = f64_special(r);
			break;
		case 2:		/* strings over a small alphabet, zeros included */
			x = 0;
			for (unsigned b = 0; b < 8; b++)
				x |= (uint64_t)("\0abcab\x80\xff"[(r >> (3 * b)) & 7]) << (8 * b);
			break;
		case 3:		/* saturation edges per word */
			x = 0;
			for (unsigned w = 0; w < 4; w++) {
				static const uint16_t e[] = { 0, 1, 0x7fff, 0x8000, 0xffff, 0x80,
							      0x7f, 0xff };

				x |= (uint64_t)e[(r >> (3 * w)) & 7] << (16 * w);
			}
			break;
		default:
			x = r;
			break;
		}
		memcpy(v + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* ---- the cases ---- */

enum vform {
	V_XX, V_XM,		/* xmm, xmm/m */
	V_XXI, V_XMI,		/* xmm, xmm/m, imm8 */
	V_MM, V_MMEM,		/* mm, mm/m64 */
	V_MMI, V_MMEMI,		/* mm, mm/m64, imm8 */
	V_RXI, V_MXI,		/* r/m, xmm, imm8 (extracts) */
	V_XRI, V_XMGI,		/* xmm, r/m, imm8 (inserts) */
	V_CRC_RR, V_CRC_RM,	/* crc32 r, r/m */
	V_GRR, V_GRM,		/* popcnt, lzcnt: r, r/m */
	V_M128,			/* cmpxchg16b m128 (with and without LOCK) */
};

struct vspec {
	ZydisMnemonic mn;
	enum vform form;
	unsigned ext;		/* index into ext_names */
};

enum { E_SSE3, E_SSSE3, E_SSE41, E_SSE42, E_CRC32, E_POPCNT, E_LZCNT, E_CX16, E_NR };

static const char *const ext_names[E_NR] = {
	"SSE3", "SSSE3", "SSE4.1", "SSE4.2 (PCMPxSTRx, PCMPGTQ)", "SSE4.2 CRC32", "POPCNT",
	"LZCNT", "CX16 (CMPXCHG16B)",
};

#define XX(m, e)	{ m, V_XX, e }, { m, V_XM, e }
#define XXI(m, e)	{ m, V_XXI, e }, { m, V_XMI, e }
#define MMX(m)		{ m, V_MM, E_SSSE3 }, { m, V_MMEM, E_SSSE3 }, XX(m, E_SSSE3)

static const struct vspec vspecs[] = {
	XX(ZYDIS_MNEMONIC_ADDSUBPS, E_SSE3), XX(ZYDIS_MNEMONIC_ADDSUBPD, E_SSE3),
	XX(ZYDIS_MNEMONIC_HADDPS, E_SSE3), XX(ZYDIS_MNEMONIC_HADDPD, E_SSE3),
	XX(ZYDIS_MNEMONIC_HSUBPS, E_SSE3), XX(ZYDIS_MNEMONIC_HSUBPD, E_SSE3),
	XX(ZYDIS_MNEMONIC_MOVSLDUP, E_SSE3), XX(ZYDIS_MNEMONIC_MOVSHDUP, E_SSE3),
	XX(ZYDIS_MNEMONIC_MOVDDUP, E_SSE3), { ZYDIS_MNEMONIC_LDDQU, V_XM, E_SSE3 },

	MMX(ZYDIS_MNEMONIC_PSHUFB), MMX(ZYDIS_MNEMONIC_PHADDW), MMX(ZYDIS_MNEMONIC_PHADDD),
	MMX(ZYDIS_MNEMONIC_PHADDSW), MMX(ZYDIS_MNEMONIC_PHSUBW), MMX(ZYDIS_MNEMONIC_PHSUBD),
	MMX(ZYDIS_MNEMONIC_PHSUBSW), MMX(ZYDIS_MNEMONIC_PMADDUBSW),
	MMX(ZYDIS_MNEMONIC_PMULHRSW), MMX(ZYDIS_MNEMONIC_PSIGNB), MMX(ZYDIS_MNEMONIC_PSIGNW),
	MMX(ZYDIS_MNEMONIC_PSIGND), MMX(ZYDIS_MNEMONIC_PABSB), MMX(ZYDIS_MNEMONIC_PABSW),
	MMX(ZYDIS_MNEMONIC_PABSD),
	{ ZYDIS_MNEMONIC_PALIGNR, V_MMI, E_SSSE3 }, { ZYDIS_MNEMONIC_PALIGNR, V_MMEMI, E_SSSE3 },
	XXI(ZYDIS_MNEMONIC_PALIGNR, E_SSSE3),

	XX(ZYDIS_MNEMONIC_PMINSB, E_SSE41), XX(ZYDIS_MNEMONIC_PMAXSB, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMINUW, E_SSE41), XX(ZYDIS_MNEMONIC_PMAXUW, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMINUD, E_SSE41), XX(ZYDIS_MNEMONIC_PMAXUD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMINSD, E_SSE41), XX(ZYDIS_MNEMONIC_PMAXSD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMULLD, E_SSE41), XX(ZYDIS_MNEMONIC_PMULDQ, E_SSE41),
	XX(ZYDIS_MNEMONIC_PCMPEQQ, E_SSE41), XX(ZYDIS_MNEMONIC_PACKUSDW, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVSXBW, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVSXBD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVSXBQ, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVSXWD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVSXWQ, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVSXDQ, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVZXBW, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVZXBD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVZXBQ, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVZXWD, E_SSE41),
	XX(ZYDIS_MNEMONIC_PMOVZXWQ, E_SSE41), XX(ZYDIS_MNEMONIC_PMOVZXDQ, E_SSE41),
	XXI(ZYDIS_MNEMONIC_BLENDPS, E_SSE41), XXI(ZYDIS_MNEMONIC_BLENDPD, E_SSE41),
	XXI(ZYDIS_MNEMONIC_PBLENDW, E_SSE41), XX(ZYDIS_MNEMONIC_BLENDVPS, E_SSE41),
	XX(ZYDIS_MNEMONIC_BLENDVPD, E_SSE41), XX(ZYDIS_MNEMONIC_PBLENDVB, E_SSE41),
	XXI(ZYDIS_MNEMONIC_MPSADBW, E_SSE41), XX(ZYDIS_MNEMONIC_PHMINPOSUW, E_SSE41),
	XX(ZYDIS_MNEMONIC_PTEST, E_SSE41), { ZYDIS_MNEMONIC_MOVNTDQA, V_XM, E_SSE41 },
	XXI(ZYDIS_MNEMONIC_ROUNDPS, E_SSE41), XXI(ZYDIS_MNEMONIC_ROUNDPD, E_SSE41),
	XXI(ZYDIS_MNEMONIC_ROUNDSS, E_SSE41), XXI(ZYDIS_MNEMONIC_ROUNDSD, E_SSE41),
	XXI(ZYDIS_MNEMONIC_DPPS, E_SSE41), XXI(ZYDIS_MNEMONIC_DPPD, E_SSE41),
	XXI(ZYDIS_MNEMONIC_INSERTPS, E_SSE41),
	{ ZYDIS_MNEMONIC_PINSRB, V_XRI, E_SSE41 }, { ZYDIS_MNEMONIC_PINSRB, V_XMGI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PINSRD, V_XRI, E_SSE41 }, { ZYDIS_MNEMONIC_PINSRD, V_XMGI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PINSRQ, V_XRI, E_SSE41 }, { ZYDIS_MNEMONIC_PINSRQ, V_XMGI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PEXTRB, V_RXI, E_SSE41 }, { ZYDIS_MNEMONIC_PEXTRB, V_MXI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PEXTRW, V_RXI, E_SSE41 }, { ZYDIS_MNEMONIC_PEXTRW, V_MXI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PEXTRD, V_RXI, E_SSE41 }, { ZYDIS_MNEMONIC_PEXTRD, V_MXI, E_SSE41 },
	{ ZYDIS_MNEMONIC_PEXTRQ, V_RXI, E_SSE41 }, { ZYDIS_MNEMONIC_PEXTRQ, V_MXI, E_SSE41 },
	{ ZYDIS_MNEMONIC_EXTRACTPS, V_RXI, E_SSE41 },
	{ ZYDIS_MNEMONIC_EXTRACTPS, V_MXI, E_SSE41 },

	XX(ZYDIS_MNEMONIC_PCMPGTQ, E_SSE42),
	XXI(ZYDIS_MNEMONIC_PCMPESTRI, E_SSE42), XXI(ZYDIS_MNEMONIC_PCMPESTRM, E_SSE42),
	XXI(ZYDIS_MNEMONIC_PCMPISTRI, E_SSE42), XXI(ZYDIS_MNEMONIC_PCMPISTRM, E_SSE42),
	{ ZYDIS_MNEMONIC_CRC32, V_CRC_RR, E_CRC32 }, { ZYDIS_MNEMONIC_CRC32, V_CRC_RM, E_CRC32 },

	{ ZYDIS_MNEMONIC_POPCNT, V_GRR, E_POPCNT }, { ZYDIS_MNEMONIC_POPCNT, V_GRM, E_POPCNT },
	{ ZYDIS_MNEMONIC_LZCNT, V_GRR, E_LZCNT }, { ZYDIS_MNEMONIC_LZCNT, V_GRM, E_LZCNT },
	{ ZYDIS_MNEMONIC_CMPXCHG16B, V_M128, E_CX16 },
};

/* General registers a case may name: not rsp, r14 (memory base), r15 (context). */
static const unsigned gprs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };

static ZydisRegister gpr_of(unsigned idx, unsigned size)
{
	switch (size) {
	case 1:
		return idx < 4 ? ZYDIS_REGISTER_AL + idx : ZYDIS_REGISTER_SPL + (idx - 4);
	case 2:
		return ZYDIS_REGISTER_AX + idx;
	case 4:
		return ZYDIS_REGISTER_EAX + idx;
	default:
		return ZYDIS_REGISTER_RAX + idx;
	}
}

static ZydisRegister pick_gpr(unsigned size)
{
	return gpr_of(gprs[rnd() % (sizeof(gprs) / sizeof(gprs[0]))], size);
}

static ZydisRegister pick_xmm(void)
{
	return ZYDIS_REGISTER_XMM0 + (unsigned)(rnd() % 16);
}

static ZydisRegister pick_mm(void)
{
	return ZYDIS_REGISTER_MM0 + (unsigned)(rnd() % 8);
}

/* Mostly aligned displacements (aligned forms), sometimes anything (#GP). */
static int64_t pick_disp(void)
{
	uint64_t r = rnd();

	if (r & 7)
		return (int64_t)((r >> 8) % 13) * 16 - 96;
	return (int64_t)((r >> 8) % 193) - 96;
}

/* Try the memory sizes the instruction may have: the encoder refuses the wrong ones. */
static bool enc_try(ZydisEncoderRequest *q, unsigned mem_op, uint8_t *buf, ZyanUSize *len)
{
	static const unsigned sizes[] = { 16, 8, 4, 2, 1 };

	for (unsigned i = 0; i < 5; i++) {
		if (mem_op < q->operand_count)
			q->operands[mem_op].mem.size = (ZyanU16)sizes[i];
		*len = SLOT_LEN;
		if (ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(q, buf, len)))
			return true;
		if (mem_op >= q->operand_count)
			break;
	}
	return false;
}

static void o_imm(ZydisEncoderOperand *o, uint64_t v)
{
	o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	o->imm.u = v;
}

static bool vencode(const struct vspec *s, unsigned size, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest q;
	ZydisEncoderOperand *o = q.operands;
	unsigned mem_op = 99;
	uint64_t imm = rnd() & 0xff;

	memset(&q, 0, sizeof(q));
	q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	q.mnemonic = s->mn;
	switch (s->form) {
	case V_XX:
	case V_XXI:
		o_reg(&o[0], pick_xmm());
		o_reg(&o[1], pick_xmm());
		q.operand_count = 2;
		break;
	case V_XM:
	case V_XMI:
		o_reg(&o[0], pick_xmm());
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), 16);
		mem_op = 1;
		q.operand_count = 2;
		break;
	case V_MM:
	case V_MMI:
		o_reg(&o[0], pick_mm());
		o_reg(&o[1], pick_mm());
		q.operand_count = 2;
		break;
	case V_MMEM:
	case V_MMEMI:
		o_reg(&o[0], pick_mm());
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), 8);
		q.operand_count = 2;
		break;
	case V_RXI:
		o_reg(&o[0], pick_gpr(s->mn == ZYDIS_MNEMONIC_PEXTRQ ? 8 : 4));
		o_reg(&o[1], pick_xmm());
		q.operand_count = 2;
		break;
	case V_MXI:
		o_mem(&o[0], ZYDIS_REGISTER_R14, pick_disp(), 16);
		o_reg(&o[1], pick_xmm());
		mem_op = 0;
		q.operand_count = 2;
		break;
	case V_XRI:
		o_reg(&o[0], pick_xmm());
		o_reg(&o[1], pick_gpr(s->mn == ZYDIS_MNEMONIC_PINSRQ ? 8 : 4));
		q.operand_count = 2;
		break;
	case V_XMGI:
		o_reg(&o[0], pick_xmm());
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), 16);
		mem_op = 1;
		q.operand_count = 2;
		break;
	case V_CRC_RR:
	case V_CRC_RM:
		/* @size: the source's; the destination is r64 for 8-byte sources, else r32 or r64. */
		o_reg(&o[0], pick_gpr(size == 8 || (size == 1 && (rnd() & 1)) ? 8 : 4));
		if (s->form == V_CRC_RR)
			o_reg(&o[1], pick_gpr(size));
		else
			o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), size);
		q.operand_count = 2;
		break;
	case V_GRR:
		o_reg(&o[0], pick_gpr(size));
		o_reg(&o[1], pick_gpr(size));
		q.operand_count = 2;
		break;
	case V_GRM:
		o_reg(&o[0], pick_gpr(size));
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), size);
		q.operand_count = 2;
		break;
	case V_M128:
		o_mem(&o[0], ZYDIS_REGISTER_R14, pick_disp(), 16);
		q.operand_count = 1;
		if (rnd() & 1)
			q.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
		break;
	}
	switch (s->form) {
	case V_XXI: case V_XMI: case V_MMI: case V_MMEMI: case V_RXI: case V_MXI: case V_XRI:
	case V_XMGI:
		/* PALIGNR: counts past the register too. */
		o_imm(&o[q.operand_count++], imm);
		break;
	default:
		break;
	}
	/* PCMPESTRx with REX.W: RAX/RDX lengths. */
	if ((s->mn == ZYDIS_MNEMONIC_PCMPESTRI || s->mn == ZYDIS_MNEMONIC_PCMPESTRM) &&
	    (rnd() & 1))
		q.operand_size_hint = ZYDIS_OPERAND_SIZE_HINT_64;
	if ((s->mn == ZYDIS_MNEMONIC_BLENDVPS || s->mn == ZYDIS_MNEMONIC_BLENDVPD ||
	     s->mn == ZYDIS_MNEMONIC_PBLENDVB) && (rnd() & 1))
		o_reg(&o[q.operand_count++], ZYDIS_REGISTER_XMM0);	/* the explicit form */
	if (enc_try(&q, mem_op, buf, len))
		return true;
	/* The implicit-XMM0 spelling, if the explicit one was refused (or vice versa). */
	if (s->mn == ZYDIS_MNEMONIC_BLENDVPS || s->mn == ZYDIS_MNEMONIC_BLENDVPD ||
	    s->mn == ZYDIS_MNEMONIC_PBLENDVB) {
		if (q.operands[q.operand_count - 1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    q.operands[q.operand_count - 1].reg.value == ZYDIS_REGISTER_XMM0 &&
		    q.operand_count == 3)
			q.operand_count = 2;
		else
			o_reg(&o[q.operand_count++], ZYDIS_REGISTER_XMM0);
		return enc_try(&q, mem_op, buf, len);
	}
	return false;
}

/* ---- one case ---- */

static struct swh *vh;
static bool undef_compared;	/* Intel host, not TANDEM_ORACLE_LAX */
static struct oracle_counts ext_counts[E_NR];
static unsigned long ext_faults[E_NR];

static int vsignal_vector(int sig)
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

static void vreport(const char *what, const uint8_t *insn, unsigned len,
		    const struct vctx *in, const struct vctx *nat, int nvec, int ivec)
{
	static unsigned per_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];
	ZydisDisassembledInstruction di;
	char text[96] = "";
	struct sw_cpu *cpu = &vh->cpu;

	if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, insn, len, &di))) {
		snprintf(text, sizeof(text), "%s", di.text);
		if (++per_mnemonic[di.info.mnemonic] > 3)
			return;
	}
	printf("MISMATCH %s: %-40s mxcsr_in=%04x flags_in=%03" PRIx64 " native(vec %d) "
	       "mxcsr=%04x flags=%03" PRIx64 " | interp(vec %d) mxcsr=%04x flags=%03" PRIx64 "\n",
	       what, text, in->mxcsr_in, in->flags_in & 0xfff, nvec, nat->mxcsr_out,
	       nat->flags_out & 0xfff, ivec, cpu->st.fx.mxcsr, cpu->st.rflags & 0xfff);
	for (unsigned r = 0; r < 14; r++)
		if (r != R_SP && (nat->gpr[r] != cpu->st.gpr[r] || in->gpr[r] != nat->gpr[r]))
			printf("   r%-2u in=%016" PRIx64 " native=%016" PRIx64 " interp=%016" PRIx64
			       "\n", r, in->gpr[r], nat->gpr[r], cpu->st.gpr[r]);
	for (unsigned x = 0; x < 16; x++) {
		if (!memcmp(nat->xmm[x], cpu->st.fx.xmm[x], 16) &&
		    !memcmp(in->xmm[x], nat->xmm[x], 16))
			continue;
		printf("   xmm%-2u in=", x);
		for (int b = 15; b >= 0; b--)
			printf("%02x", in->xmm[x][b]);
		printf(" native=");
		for (int b = 15; b >= 0; b--)
			printf("%02x", nat->xmm[x][b]);
		printf(" interp=");
		for (int b = 15; b >= 0; b--)
			printf("%02x", cpu->st.fx.xmm[x][b]);
		printf("\n");
	}
}

static void vrun_case(const struct vspec *s, const uint8_t *insn, unsigned len)
{
	struct sw_cpu *cpu = &vh->cpu;
	struct vctx in, nat;
	uint8_t imem[MEM_SIZE], init_mem[MEM_SIZE];
	struct oracle_counts *c = &ext_counts[s->ext];
	bool same = true;
	int nvec, ivec;
	uint64_t r = rnd(), fmask = ARITH_FLAGS;

	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = rnd_gpr();
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < 16; i++)
		rnd_vec(in.xmm[i], 16);
	for (unsigned i = 0; i < 8; i++)
		rnd_vec((uint8_t *)&in.mm[i], 8);
	/* Every rounding mode, DAZ/FTZ, sticky flags; unmasked exceptions one time in 8. */
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
	for (unsigned i = 0; i < MEM_SIZE; i += 16)
		rnd_vec(init_mem + i, 16);

	/* CMPXCHG16B: the expected value in memory half of the time. */
	if (s->form == V_M128 && (rnd() & 1)) {
		ZydisDecoder dec;
		ZydisDecodedInstruction zi;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, insn, len, &zi, ops))) {
			int64_t off = MEM_SIZE / 2 + ops[0].mem.disp.value;

			if (off >= 0 && off + 16 <= MEM_SIZE) {
				memcpy(init_mem + off, &in.gpr[R_AX], 8);
				memcpy(init_mem + off + 8, &in.gpr[R_DX], 8);
			}
		}
	}

	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(vmem + MEM_SIZE / 2);
	memcpy(vmem, init_mem, MEM_SIZE);
	nvec = vsignal_vector(run_vnative(insn, len, &nat));

	swh_poke(vh, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(vh, CODE_GPA, insn, len);
	memcpy(cpu->st.gpr, in.gpr, sizeof(in.gpr));
	cpu->st.gpr[R_R14] = MEM_GPA + MEM_SIZE / 2;
	cpu->st.gpr[R_SP] = 0x8000;
	cpu->st.rflags = in.flags_in;
	cpu->st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	cpu->st.fx.mxcsr = in.mxcsr_in;
	memcpy(cpu->st.fx.xmm, in.xmm, sizeof(in.xmm));
	cpu->st.fx.fsw = 0;
	cpu->st.fx.fcw = FCW_INIT;
	cpu->st.fx.ftw = 0;
	for (unsigned i = 0; i < 8; i++)
		sw_mmx_set(cpu, i, in.mm[i]);
	ivec = swh_step(vh);
	swh_peek(vh, MEM_GPA, imem, MEM_SIZE);

	c->cases++;
	if (nvec != SWH_OK)
		ext_faults[s->ext]++;
	if (nvec != ivec) {
		c->mismatches++;
		vreport("fault", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK) {
		/* Precise: nothing changed but (for #XM) the MXCSR flags. */
		nat = in;
		if (nvec == X86_XM)
			nat.mxcsr_out = cpu->st.fx.mxcsr;
		else
			nat.mxcsr_out = in.mxcsr_in;
		nat.flags_out = in.flags_in;
		memcpy(nat.xmm, in.xmm, sizeof(in.xmm));
		memcpy(vmem, init_mem, MEM_SIZE);
		nat.gpr[R_R14] = cpu->st.gpr[R_R14];
	}
	for (unsigned i = 0; i < 14; i++)
		if (i != R_SP && nat.gpr[i] != cpu->st.gpr[i])
			same = false;
	if (!same) {
		c->mismatches++;
		vreport("register", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (!undef_compared && s->mn == ZYDIS_MNEMONIC_LZCNT)
		fmask &= ~(uint64_t)(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | X86_RFLAGS_PF);
	if ((nat.flags_out ^ cpu->st.rflags) & fmask) {
		c->mismatches++;
		vreport("flags", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(nat.xmm, cpu->st.fx.xmm, sizeof(nat.xmm))) {
		c->mismatches++;
		vreport("xmm", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	for (unsigned i = 0; i < 8; i++) {
		if (nvec == SWH_OK && sw_mmx_get(cpu, i) != nat.mm[i]) {
			c->mismatches++;
			vreport("mmx", insn, len, &in, &nat, nvec, ivec);
			return;
		}
	}
	if (nvec != X86_XM && nat.mxcsr_out != cpu->st.fx.mxcsr) {
		c->mismatches++;
		vreport("mxcsr", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(imem, vmem, MEM_SIZE)) {
		c->mismatches++;
		vreport("memory", insn, len, &in, &nat, nvec, ivec);
	}
}

/* #UD when the model lacks the extension, checked with CPUID cleared for one case each. */
static unsigned long vtest_absent(void)
{
	/* Length + 1, then: pshufb, ptest, pcmpgtq xmm0, xmm1; crc32 eax, ecx; haddps; popcnt. */
	static const uint8_t cases[][6] = {
		{ 6, 0x66, 0x0f, 0x38, 0x00, 0xc1 }, { 6, 0x66, 0x0f, 0x38, 0x17, 0xc1 },
		{ 6, 0x66, 0x0f, 0x38, 0x37, 0xc1 }, { 6, 0xf2, 0x0f, 0x38, 0xf1, 0xc1 },
		{ 5, 0xf2, 0x0f, 0x7c, 0xc1, 0 }, { 5, 0xf3, 0x0f, 0xb8, 0xc1, 0 },
	};
	struct cpuid_model saved = cpuid_global;
	unsigned long bad = 0;

	for (unsigned i = 0; i < cpuid_global.nr; i++)
		if (cpuid_global.leaf[i].function == 1)
			cpuid_global.leaf[i].ecx &= CPUID_1_ECX_HYPERVISOR;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		swh_load_code(vh, CODE_GPA, cases[i] + 1, cases[i][0] - 1);
		vh->cpu.st.cr4 |= X86_CR4_OSFXSR;
		/* #UD even with CR0.TS set: the opcode does not exist. */
		vh->cpu.st.cr0 |= X86_CR0_TS;
		if (swh_step(vh) != X86_UD) {
			printf("MISMATCH: case %u runs without its CPUID bit\n", i);
			bad++;
		}
		vh->cpu.st.cr0 &= ~X86_CR0_TS;
	}
	cpuid_global = saved;
	return bad;
}

/* #NM with CR0.TS, #UD with CR4.OSFXSR clear or CR0.EM set (the XMM forms). */
static unsigned long vtest_cr_rules(void)
{
	static const uint8_t pshufb[] = { 0x66, 0x0f, 0x38, 0x00, 0xc1 };
	static const uint8_t pshufb_mm[] = { 0x0f, 0x38, 0x00, 0xc1 };
	static const uint8_t crc32[] = { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 };
	unsigned long bad = 0;
	struct sw_cpu *cpu = &vh->cpu;

	swh_load_code(vh, CODE_GPA, pshufb, sizeof(pshufb));
	cpu->st.cr4 |= X86_CR4_OSFXSR;
	cpu->st.cr0 |= X86_CR0_TS;
	bad += swh_step(vh) != X86_NM;
	cpu->st.cr0 &= ~X86_CR0_TS;
	cpu->st.cr4 &= ~X86_CR4_OSFXSR;
	bad += swh_step(vh) != X86_UD;
	cpu->st.cr4 |= X86_CR4_OSFXSR;
	cpu->st.cr0 |= X86_CR0_EM;
	bad += swh_step(vh) != X86_UD;
	cpu->st.cr0 &= ~X86_CR0_EM;
	/* The MMX form does not look at CR4.OSFXSR. */
	swh_load_code(vh, CODE_GPA, pshufb_mm, sizeof(pshufb_mm));
	cpu->st.cr4 &= ~X86_CR4_OSFXSR;
	cpu->st.fx.fsw = 0;
	bad += swh_step(vh) != SWH_OK;
	/* CRC32 is a general-purpose instruction: TS and EM do not matter. */
	swh_load_code(vh, CODE_GPA, crc32, sizeof(crc32));
	cpu->st.cr0 |= X86_CR0_TS | X86_CR0_EM;
	bad += swh_step(vh) != SWH_OK;
	cpu->st.cr0 &= ~(X86_CR0_TS | X86_CR0_EM);
	cpu->st.cr4 |= X86_CR4_OSFXSR;
	if (bad)
		printf("MISMATCH: %lu of the CR0/CR4 rules\n", bad);
	return bad;
}

void oracle_simd(unsigned per, bool compare_undef, struct oracle_counts *total)
{
	struct sigaction sa;
	unsigned long checks;

	undef_compared = compare_undef;
	build_vstub();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = von_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	vh = swh_new(4 << 20, SWH_LONG64);
	if (!vh) {
		printf("oracle_simd: cannot create the harness VM\n");
		total->mismatches++;
		return;
	}
	for (size_t i = 0; i < sizeof(vspecs) / sizeof(vspecs[0]); i++) {
		const struct vspec *s = &vspecs[i];
		unsigned sizes, reps;

		switch (s->form) {
		case V_CRC_RR: case V_CRC_RM:
			sizes = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8;
			break;
		case V_GRR: case V_GRM:
			sizes = 1u << 2 | 1u << 4 | 1u << 8;
			break;
		default:
			sizes = 1u << 16;
			break;
		}
		/* The string compares and dot products have 128 or 256 imm8 variants: more cases. */
		reps = per;
		if (s->mn == ZYDIS_MNEMONIC_PCMPESTRI || s->mn == ZYDIS_MNEMONIC_PCMPESTRM ||
		    s->mn == ZYDIS_MNEMONIC_PCMPISTRI || s->mn == ZYDIS_MNEMONIC_PCMPISTRM ||
		    s->mn == ZYDIS_MNEMONIC_DPPS || s->mn == ZYDIS_MNEMONIC_DPPD)
			reps = per * 8;
		for (unsigned size = 1; size <= 16; size <<= 1) {
			if (!(sizes & (1u << size)))
				continue;
			for (unsigned k = 0; k < reps; k++) {
				uint8_t insn[SLOT_LEN];
				ZyanUSize len;
				int tries = 0;

				while (!vencode(s, size, insn, &len))
					if (++tries > 50)
						break;
				if (tries > 50) {
					printf("cannot encode %s size %u form %d\n",
					       ZydisMnemonicGetString(s->mn), size, s->form);
					ext_counts[s->ext].mismatches++;
					break;
				}
				vrun_case(s, insn, (unsigned)len);
			}
		}
	}
	checks = vtest_absent() + vtest_cr_rules();
	for (unsigned e = 0; e < E_NR; e++) {
		printf("oracle: %-28s %7lu cases, %lu mismatches (%lu faulted on both sides)\n",
		       ext_names[e], ext_counts[e].cases, ext_counts[e].mismatches, ext_faults[e]);
		total->cases += ext_counts[e].cases;
		total->mismatches += ext_counts[e].mismatches;
		total->faults += ext_faults[e];
	}
	printf("oracle: CPUID and CR0/CR4 rules of the extensions: 11 checks, %lu failed\n",
	       checks);
	total->cases += 11;
	total->mismatches += checks;
	swh_free(vh);
}
