// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host CPU as oracle for the scalar and cryptographic extensions:
 * BMI1 (ANDN BEXTR BLSI BLSMSK BLSR TZCNT), BMI2 (BZHI MULX PDEP PEXT
 * RORX SARX SHLX SHRX), ADX, MOVBE, RDRAND/RDSEED, AES-NI, PCLMULQDQ and
 * SHA (accel/sw/bmi.c, crypto.c; TZCNT logic.c, MOVBE datamov.c).
 *
 * As in oracle_simd.c: each case is one instruction from the Zydis
 * encoder, run natively (a stub loads the general registers, RFLAGS and
 * XMM0-15 from a context, executes it, saves them back) and in the
 * interpreter from the same state and memory; registers, arithmetic
 * flags, XMM registers and memory must match, and so must faults (#GP
 * for a misaligned 16-byte operand: SIGSEGV natively). Flags the SDM
 * leaves undefined are compared on Intel hosts (the interpreter models
 * them), masked elsewhere or with TANDEM_ORACLE_LAX=1.
 *
 * RDRAND/RDSEED results are random on both sides: what is compared is
 * the flags (CF = 1, the rest 0, when both sides got a number), the
 * destination's bits above the operand size, and every other register.
 *
 * Only the extensions the host has are run (the model has only those);
 * the others are reported as skipped. Then the rules that need no host:
 * #UD with the CPUID bit cleared, VEX in real mode, CR0.TS for the SSE
 * forms but not the general-purpose ones.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/sw/fpu.h"
#include "machine/cpuid.h"
#include "tests/unit/oracle_bitops.h"

#define MEM_SIZE	512
#define MEM_GPA		0x20000ull
#define CODE_GPA	0x10000ull
#define SLOT_LEN	16
#define ARITH_FLAGS	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

struct bctx {
	uint64_t gpr[16];		/* 0: R_AX.. order; rsp and r15 unused */
	uint64_t flags_in, flags_out;	/* 128, 136 */
	uint8_t xmm[16][16];		/* 144 */
} __attribute__((aligned(16)));

#define OFF_FLAGS_IN	128
#define OFF_FLAGS_OUT	136
#define OFF_XMM		144

_Static_assert(__builtin_offsetof(struct bctx, xmm) == OFF_XMM, "layout");

static uint8_t *bstub;
static size_t bslot;
static uint8_t bmem[MEM_SIZE] __attribute__((aligned(64)));
static sigjmp_buf bjmp;
static volatile int bsig;

/* ---- the native stub ---- */

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

/* One stub instruction: mnemonic and up to two operands already filled in. */
static size_t sput(size_t n, ZydisMnemonic m, unsigned nops, const ZydisEncoderOperand *a,
		   const ZydisEncoderOperand *b)
{
	ZydisEncoderRequest q;
	ZyanUSize len = 16;

	memset(&q, 0, sizeof(q));
	q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	q.mnemonic = m;
	q.operand_count = nops;
	if (a)
		q.operands[0] = *a;
	if (b)
		q.operands[1] = *b;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, bstub + n, &len))) {
		printf("oracle_bitops: cannot assemble the stub (%s)\n", ZydisMnemonicGetString(m));
		exit(1);
	}
	return n + len;
}

/* mov/movdqu between register @r and [r15 + @disp]. */
static size_t sctx(size_t n, ZydisMnemonic m, ZydisRegister r, int64_t disp, unsigned size,
		   bool store)
{
	ZydisEncoderOperand a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	o_reg(&a, r);
	o_mem(&b, ZYDIS_REGISTER_R15, disp, size);
	return store ? sput(n, m, 2, &b, &a) : sput(n, m, 2, &a, &b);
}

static size_t sreg(size_t n, ZydisMnemonic m, ZydisRegister r)
{
	ZydisEncoderOperand a;

	memset(&a, 0, sizeof(a));
	o_reg(&a, r);
	return sput(n, m, 1, &a, NULL);
}

static size_t smem(size_t n, ZydisMnemonic m, int64_t disp)
{
	ZydisEncoderOperand a;

	memset(&a, 0, sizeof(a));
	o_mem(&a, ZYDIS_REGISTER_R15, disp, 8);
	return sput(n, m, 1, &a, NULL);
}

static void build_bstub(void)
{
	static const ZydisRegister saved[] = {
		ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_R12,
		ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15,
	};
	ZydisEncoderOperand a, b;
	size_t n = 0;

	bstub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (bstub == MAP_FAILED) {
		perror("mmap");
		exit(77);
	}
	for (unsigned i = 0; i < 6; i++)
		n = sreg(n, ZYDIS_MNEMONIC_PUSH, saved[i]);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	o_reg(&a, ZYDIS_REGISTER_R15);
	o_reg(&b, ZYDIS_REGISTER_RDI);
	n = sput(n, ZYDIS_MNEMONIC_MOV, 2, &a, &b);
	for (unsigned i = 0; i < 16; i++)
		n = sctx(n, ZYDIS_MNEMONIC_MOVDQU, ZYDIS_REGISTER_XMM0 + i, OFF_XMM + 16 * i, 16,
			 false);
	n = smem(n, ZYDIS_MNEMONIC_PUSH, OFF_FLAGS_IN);
	n = sput(n, ZYDIS_MNEMONIC_POPFQ, 0, NULL, NULL);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = sctx(n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8, false);
	bslot = n;
	memset(bstub + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	n = sput(n, ZYDIS_MNEMONIC_PUSHFQ, 0, NULL, NULL);
	n = smem(n, ZYDIS_MNEMONIC_POP, OFF_FLAGS_OUT);
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = sctx(n, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX + r, 8 * r, 8, true);
	for (unsigned i = 0; i < 16; i++)
		n = sctx(n, ZYDIS_MNEMONIC_MOVDQU, ZYDIS_REGISTER_XMM0 + i, OFF_XMM + 16 * i, 16,
			 true);
	for (int i = 5; i >= 0; i--)
		n = sreg(n, ZYDIS_MNEMONIC_POP, saved[i]);
	sput(n, ZYDIS_MNEMONIC_RET, 0, NULL, NULL);
}

static void bon_signal(int sig)
{
	bsig = sig;
	siglongjmp(bjmp, 1);
}

static int run_bnative(const uint8_t *insn, unsigned len, struct bctx *ctx)
{
	uint32_t host_mxcsr;

	/* XRSTOR cases load x87 state and MXCSR: the host's are put back after. */
	__asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
	memset(bstub + bslot, 0x90, SLOT_LEN);
	memcpy(bstub + bslot, insn, len);
	bsig = 0;
	if (sigsetjmp(bjmp, 1)) {
		__asm__ volatile("fninit; ldmxcsr %0" : : "m"(host_mxcsr));
		return bsig;
	}
	((void (*)(struct bctx *))(void *)bstub)(ctx);
	__asm__ volatile("fninit; ldmxcsr %0" : : "m"(host_mxcsr));
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

/* Edges, runs of ones, and BEXTR/BZHI controls near the operand sizes. */
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
		return ((1ull << ((r >> 8) & 63)) - 1) << ((r >> 16) & 31);
	case 3:
		/* start and length (BEXTR), index (BZHI): around 0, 32 and 64 */
		return ((r >> 8) % 70) | ((r >> 16) % 70) << 8 | (r & 0xffff000000000000ull);
	default:
		return rnd();
	}
}

/* ---- the cases ---- */

enum bform {
	B_RR, B_RM, B_MR,	/* r, r/m (or m, r: MOVBE stores) */
	B_RRR, B_RRM,		/* r, r, r/m (ANDN MULX PDEP PEXT) */
	B_RMR,			/* r, m, r (BEXTR BZHI SHLX...: vvvv last) */
	B_RRI, B_RMI,		/* r, r/m, imm8 (RORX) */
	B_R,			/* r (RDRAND RDSEED) */
	B_XX, B_XM, B_XXI, B_XMI,	/* xmm, xmm/m128 [, imm8] */
};

enum { X_BMI1, X_BMI2, X_ADX, X_MOVBE, X_RDRAND, X_RDSEED, X_AES, X_PCLMUL, X_SHA, X_NR,
       X_XSAVE = X_NR };	/* only for host_ext() */

static const char *const ext_names[X_NR] = {
	"BMI1", "BMI2", "ADX", "MOVBE", "RDRAND", "RDSEED", "AES-NI", "PCLMULQDQ", "SHA",
};

struct bspec {
	ZydisMnemonic mn;
	enum bform form;
	unsigned ext;
	unsigned sizes;		/* bit n: n bytes; 0: XMM */
};

#define S_W	(1u << 2 | 1u << 4 | 1u << 8)
#define S_DQ	(1u << 4 | 1u << 8)
#define GPR2(m, e, s)	{ m, B_RR, e, s }, { m, B_RM, e, s }
#define GPR3(m, e)	{ m, B_RRR, e, S_DQ }, { m, B_RRM, e, S_DQ }
#define GPRV(m, e)	{ m, B_RRR, e, S_DQ }, { m, B_RMR, e, S_DQ }
#define XMM2(m, e)	{ m, B_XX, e, 0 }, { m, B_XM, e, 0 }
#define XMM3(m, e)	{ m, B_XXI, e, 0 }, { m, B_XMI, e, 0 }

static const struct bspec bspecs[] = {
	GPR3(ZYDIS_MNEMONIC_ANDN, X_BMI1), GPRV(ZYDIS_MNEMONIC_BEXTR, X_BMI1),
	GPR2(ZYDIS_MNEMONIC_BLSI, X_BMI1, S_DQ), GPR2(ZYDIS_MNEMONIC_BLSMSK, X_BMI1, S_DQ),
	GPR2(ZYDIS_MNEMONIC_BLSR, X_BMI1, S_DQ), GPR2(ZYDIS_MNEMONIC_TZCNT, X_BMI1, S_W),

	GPRV(ZYDIS_MNEMONIC_BZHI, X_BMI2), GPR3(ZYDIS_MNEMONIC_MULX, X_BMI2),
	GPR3(ZYDIS_MNEMONIC_PDEP, X_BMI2), GPR3(ZYDIS_MNEMONIC_PEXT, X_BMI2),
	{ ZYDIS_MNEMONIC_RORX, B_RRI, X_BMI2, S_DQ }, { ZYDIS_MNEMONIC_RORX, B_RMI, X_BMI2, S_DQ },
	GPRV(ZYDIS_MNEMONIC_SARX, X_BMI2), GPRV(ZYDIS_MNEMONIC_SHLX, X_BMI2),
	GPRV(ZYDIS_MNEMONIC_SHRX, X_BMI2),

	GPR2(ZYDIS_MNEMONIC_ADCX, X_ADX, S_DQ), GPR2(ZYDIS_MNEMONIC_ADOX, X_ADX, S_DQ),
	{ ZYDIS_MNEMONIC_MOVBE, B_RM, X_MOVBE, S_W }, { ZYDIS_MNEMONIC_MOVBE, B_MR, X_MOVBE, S_W },
	{ ZYDIS_MNEMONIC_RDRAND, B_R, X_RDRAND, S_W }, { ZYDIS_MNEMONIC_RDSEED, B_R, X_RDSEED, S_W },

	XMM2(ZYDIS_MNEMONIC_AESENC, X_AES), XMM2(ZYDIS_MNEMONIC_AESENCLAST, X_AES),
	XMM2(ZYDIS_MNEMONIC_AESDEC, X_AES), XMM2(ZYDIS_MNEMONIC_AESDECLAST, X_AES),
	XMM2(ZYDIS_MNEMONIC_AESIMC, X_AES), XMM3(ZYDIS_MNEMONIC_AESKEYGENASSIST, X_AES),
	XMM3(ZYDIS_MNEMONIC_PCLMULQDQ, X_PCLMUL),
	XMM3(ZYDIS_MNEMONIC_SHA1RNDS4, X_SHA), XMM2(ZYDIS_MNEMONIC_SHA1NEXTE, X_SHA),
	XMM2(ZYDIS_MNEMONIC_SHA1MSG1, X_SHA), XMM2(ZYDIS_MNEMONIC_SHA1MSG2, X_SHA),
	XMM2(ZYDIS_MNEMONIC_SHA256RNDS2, X_SHA), XMM2(ZYDIS_MNEMONIC_SHA256MSG1, X_SHA),
	XMM2(ZYDIS_MNEMONIC_SHA256MSG2, X_SHA),
};

/* General registers a case may name: not rsp, r14 (memory base), r15 (context). */
static const unsigned gprs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };

static ZydisRegister pick_gpr(unsigned size)
{
	unsigned idx = gprs[rnd() % (sizeof(gprs) / sizeof(gprs[0]))];

	return (size == 2 ? ZYDIS_REGISTER_AX : size == 4 ? ZYDIS_REGISTER_EAX :
		ZYDIS_REGISTER_RAX) + idx;
}

static ZydisRegister pick_xmm(void)
{
	return ZYDIS_REGISTER_XMM0 + (unsigned)(rnd() % 16);
}

/* Mostly aligned displacements, sometimes anything (#GP for the 16-byte forms). */
static int64_t pick_disp(void)
{
	uint64_t r = rnd();

	if (r & 7)
		return (int64_t)((r >> 8) % 13) * 16 - 96;
	return (int64_t)((r >> 8) % 193) - 96;
}

static bool bencode(const struct bspec *s, unsigned size, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest q;
	ZydisEncoderOperand *o = q.operands;
	unsigned msize = size ? size : 16;

	memset(&q, 0, sizeof(q));
	q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	q.mnemonic = s->mn;
	switch (s->form) {
	case B_RR:
		o_reg(&o[0], pick_gpr(size));
		o_reg(&o[1], pick_gpr(size));
		q.operand_count = 2;
		break;
	case B_RM:
		o_reg(&o[0], pick_gpr(size));
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), msize);
		q.operand_count = 2;
		break;
	case B_MR:
		o_mem(&o[0], ZYDIS_REGISTER_R14, pick_disp(), msize);
		o_reg(&o[1], pick_gpr(size));
		q.operand_count = 2;
		break;
	case B_RRR:
		o_reg(&o[0], pick_gpr(size));
		o_reg(&o[1], pick_gpr(size));
		o_reg(&o[2], pick_gpr(size));
		q.operand_count = 3;
		break;
	case B_RRM:
		o_reg(&o[0], pick_gpr(size));
		o_reg(&o[1], pick_gpr(size));
		o_mem(&o[2], ZYDIS_REGISTER_R14, pick_disp(), msize);
		q.operand_count = 3;
		break;
	case B_RMR:
		o_reg(&o[0], pick_gpr(size));
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), msize);
		o_reg(&o[2], pick_gpr(size));
		q.operand_count = 3;
		break;
	case B_RRI:
		o_reg(&o[0], pick_gpr(size));
		o_reg(&o[1], pick_gpr(size));
		o_imm(&o[2], rnd() & 0xff);
		q.operand_count = 3;
		break;
	case B_RMI:
		o_reg(&o[0], pick_gpr(size));
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), msize);
		o_imm(&o[2], rnd() & 0xff);
		q.operand_count = 3;
		break;
	case B_R:
		o_reg(&o[0], pick_gpr(size));
		q.operand_count = 1;
		break;
	case B_XX:
	case B_XXI:
		o_reg(&o[0], pick_xmm());
		o_reg(&o[1], pick_xmm());
		q.operand_count = 2;
		break;
	case B_XM:
	case B_XMI:
		o_reg(&o[0], pick_xmm());
		o_mem(&o[1], ZYDIS_REGISTER_R14, pick_disp(), 16);
		q.operand_count = 2;
		break;
	}
	if (s->form == B_XXI || s->form == B_XMI)
		o_imm(&o[q.operand_count++], rnd() & 0xff);
	*len = SLOT_LEN;
	return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, buf, len));
}

/* ---- one case ---- */

static struct swh *bh;
static bool undef_compared;
static struct oracle_counts counts[X_NR];
static unsigned long rand_empty;	/* RDRAND/RDSEED cases where a side had no number */

static int bsignal_vector(int sig)
{
	switch (sig) {
	case 0:
		return SWH_OK;
	case SIGILL:
		return X86_UD;
	case SIGFPE:
		return X86_DE;
	default:
		return X86_GP;
	}
}

static void breport(const char *what, const uint8_t *insn, unsigned len,
		    const struct bctx *in, const struct bctx *nat, int nvec, int ivec)
{
	static unsigned per_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];
	ZydisDisassembledInstruction di;
	struct sw_cpu *cpu = &bh->cpu;
	char text[96] = "";

	if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, insn, len, &di))) {
		snprintf(text, sizeof(text), "%s", di.text);
		if (++per_mnemonic[di.info.mnemonic] > 3)
			return;
	}
	printf("MISMATCH %s: %-40s flags_in=%03" PRIx64 " native(vec %d) flags=%03" PRIx64
	       " | interp(vec %d) flags=%03" PRIx64 "\n", what, text, in->flags_in & 0xfff, nvec,
	       nat->flags_out & 0xfff, ivec, cpu->st.rflags & 0xfff);
	for (unsigned r = 0; r < 14; r++)
		if (r != R_SP && (nat->gpr[r] != cpu->st.gpr[r] || in->gpr[r] != nat->gpr[r]))
			printf("   r%-2u in=%016" PRIx64 " native=%016" PRIx64 " interp=%016" PRIx64
			       "\n", r, in->gpr[r], nat->gpr[r], cpu->st.gpr[r]);
	for (unsigned x = 0; x < 16; x++) {
		if (!memcmp(nat->xmm[x], cpu->st.fx.xmm[x], 16))
			continue;
		printf("   xmm%-2u native=", x);
		for (int b = 15; b >= 0; b--)
			printf("%02x", nat->xmm[x][b]);
		printf(" interp=");
		for (int b = 15; b >= 0; b--)
			printf("%02x", cpu->st.fx.xmm[x][b]);
		printf("\n");
	}
}

/*
 * RDRAND/RDSEED: the interpreter's destination takes the native one's
 * value where both got a number (or both none), so the rest compares as
 * usual; false when only one side had a number (not compared).
 */
static bool rand_fixup(const uint8_t *insn, unsigned len, struct bctx *nat)
{
	struct sw_cpu *cpu = &bh->cpu;
	ZydisDecoder dec;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	unsigned r, size;
	uint64_t m;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, insn, len, &zi, ops)))
		return true;
	if ((nat->flags_out ^ cpu->st.rflags) & X86_RFLAGS_CF) {
		rand_empty++;
		return false;
	}
	r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[0].reg.value) -
	    ZYDIS_REGISTER_RAX;
	size = ops[0].size / 8;
	m = sw_mask(size);
	/* Only the operand's bits are random: the others are compared. */
	cpu->st.gpr[r] = (cpu->st.gpr[r] & ~m) | (nat->gpr[r] & m);
	return true;
}

static void brun_case(const struct bspec *s, const uint8_t *insn, unsigned len)
{
	struct sw_cpu *cpu = &bh->cpu;
	struct bctx in, nat;
	uint8_t imem[MEM_SIZE], init_mem[MEM_SIZE];
	struct oracle_counts *c = &counts[s->ext];
	uint64_t fmask = ARITH_FLAGS;
	int nvec, ivec;

	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = rnd_gpr();
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < 16; i++)
		for (unsigned b = 0; b < 16; b += 8) {
			uint64_t v = rnd_gpr();

			memcpy(&in.xmm[i][b], &v, 8);
		}
	for (unsigned i = 0; i < MEM_SIZE; i += 8) {
		uint64_t v = rnd_gpr();

		memcpy(init_mem + i, &v, 8);
	}

	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(bmem + MEM_SIZE / 2);
	memcpy(bmem, init_mem, MEM_SIZE);
	nvec = bsignal_vector(run_bnative(insn, len, &nat));

	swh_poke(bh, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(bh, CODE_GPA, insn, len);
	memcpy(cpu->st.gpr, in.gpr, sizeof(in.gpr));
	cpu->st.gpr[R_R14] = MEM_GPA + MEM_SIZE / 2;
	cpu->st.gpr[R_SP] = 0x8000;
	cpu->st.rflags = in.flags_in;
	cpu->st.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	memcpy(cpu->st.fx.xmm, in.xmm, sizeof(in.xmm));
	ivec = swh_step(bh);
	swh_peek(bh, MEM_GPA, imem, MEM_SIZE);

	c->cases++;
	if (nvec != SWH_OK)
		c->faults++;
	if (nvec != ivec) {
		c->mismatches++;
		breport("fault", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK) {
		/* Precise: nothing changed. */
		nat = in;
		memcpy(bmem, init_mem, MEM_SIZE);
		nat.gpr[R_R14] = cpu->st.gpr[R_R14];
		nat.flags_out = in.flags_in;
	}
	if ((s->ext == X_RDRAND || s->ext == X_RDSEED) && nvec == SWH_OK &&
	    !rand_fixup(insn, len, &nat))
		return;
	for (unsigned i = 0; i < 14; i++) {
		if (i != R_SP && nat.gpr[i] != cpu->st.gpr[i]) {
			c->mismatches++;
			breport("register", insn, len, &in, &nat, nvec, ivec);
			return;
		}
	}
	if (!undef_compared) {
		ZydisDecoder dec;
		ZydisDecodedInstruction zi;

		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, insn, len, &zi)) &&
		    zi.cpu_flags)
			fmask &= ~(uint64_t)zi.cpu_flags->undefined;
	}
	if ((nat.flags_out ^ cpu->st.rflags) & fmask) {
		c->mismatches++;
		breport("flags", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(nat.xmm, cpu->st.fx.xmm, sizeof(nat.xmm))) {
		c->mismatches++;
		breport("xmm", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(imem, bmem, MEM_SIZE)) {
		c->mismatches++;
		breport("memory", insn, len, &in, &nat, nvec, ivec);
	}
}

/* ---- what the host has ---- */

static bool host_ext(unsigned e)
{
	uint32_t a, b, c, d, b7 = 0;

	__cpuid_count(0, 0, a, b, c, d);
	if (a >= 7) {
		__cpuid_count(7, 0, a, b7, c, d);
	}
	__cpuid_count(1, 0, a, b, c, d);
	switch (e) {
	case X_BMI1: return b7 & CPUID_7_EBX_BMI1;
	case X_BMI2: return b7 & CPUID_7_EBX_BMI2;
	case X_ADX: return b7 & CPUID_7_EBX_ADX;
	case X_RDSEED: return b7 & CPUID_7_EBX_RDSEED;
	case X_SHA: return b7 & CPUID_7_EBX_SHA;
	case X_MOVBE: return c & CPUID_1_ECX_MOVBE;
	case X_RDRAND: return c & CPUID_1_ECX_RDRAND;
	case X_AES: return c & CPUID_1_ECX_AES;
	case X_XSAVE: return c & CPUID_1_ECX_XSAVE;
	default: return c & CPUID_1_ECX_PCLMULQDQ;
	}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- XSAVE: XRSTOR of a random area, then XSAVE/XSAVEOPT/XSAVEC of it elsewhere ---- */

#define XMEM_SIZE	4096
#define XMEM_GPA	0x30000ull
#define XA		0x100	/* the area XRSTOR reads, from the start of the block */
#define XB		0x800	/* the area the save writes */

static uint8_t xmem[XMEM_SIZE] __attribute__((aligned(64)));
static unsigned long xs_cases, xs_mismatches, xs_faults, xs_fip_top, xs_inuse;

/*
 * [r14 + disp32] forms of 0F AE /@reg (0F C7 /@reg for @c7), REX.W
 * with @w: 8 bytes.
 */
static unsigned enc_xmem(uint8_t *p, bool w, bool c7, unsigned reg, int32_t disp)
{
	p[0] = w ? 0x49 : 0x41;
	p[1] = 0x0f;
	p[2] = c7 ? 0xc7 : 0xae;
	p[3] = (uint8_t)(0x80 | reg << 3 | 6);
	memcpy(p + 4, &disp, 4);
	return 8;
}

/* A random XSAVE area at @a: legacy region, header (standard or compacted), AVX. */
static void rnd_area(uint8_t *a, bool compact)
{
	uint64_t bv = rnd() & 7, r = rnd();
	uint32_t mxcsr = (uint32_t)(rnd() & 0xffbf);

	for (unsigned i = 0; i < 832; i += 8) {
		uint64_t v = rnd_gpr();

		memcpy(a + i, &v, 8);
	}
	if (r & 1)
		mxcsr &= 0xffff;		/* mostly valid */
	if ((r & 0x30) != 0x30)
		mxcsr = (mxcsr & 0x7f) | 0x1f80;	/* and mostly masked */
	memcpy(a + 24, &mxcsr, 4);
	memset(a + 512, 0, 64);
	memcpy(a + 512, &bv, 8);
	if (compact) {
		uint64_t comp = (1ull << 63) | bv | (rnd() & 7);

		memcpy(a + 520, &comp, 8);
	}
	/* Now and then a header XRSTOR must refuse. */
	switch ((r >> 8) & 31) {
	case 0:
		/*
		 * Reserved header bytes (not XCOMP_BV: the host's XCR0 has
		 * components the interpreter's lacks, AVX-512 say).
		 */
		a[512 + 16 + (r >> 16) % 48] |= (uint8_t)(1u << ((r >> 24) & 7));
		break;
	case 1:
		a[512] |= 8;	/* a component XCR0 lacks */
		break;
	default:
		break;
	}
}

static void xrun_case(void)
{
	struct sw_cpu *cpu = &bh->cpu;
	struct bctx in, nat;
	uint8_t init_mem[XMEM_SIZE], imem[XMEM_SIZE], insn[SLOT_LEN];
	uint64_t r = rnd(), mask = rnd() & 7;
	bool w = r & 1, compact = (r >> 1 & 3) == 0;
	int32_t da = XA - XMEM_SIZE / 2, db = XB - XMEM_SIZE / 2;
	unsigned n = 0, which = (r >> 3) % 3;
	int nvec, ivec;

	if (((r >> 8) & 15) == 0)
		da += 16;	/* misaligned: #GP */
	if (((r >> 12) & 15) == 0)
		db += 8;
	for (unsigned i = 0; i < XMEM_SIZE; i += 8) {
		uint64_t v = rnd_gpr();

		memcpy(init_mem + i, &v, 8);
	}
	rnd_area(init_mem + XA, compact);
	n += enc_xmem(insn + n, w, false, 5, da);			/* xrstor */
	if (which == 0)
		n += enc_xmem(insn + n, w, false, 4, db);		/* xsave */
	else if (which == 1)
		n += enc_xmem(insn + n, w, false, 6, db);		/* xsaveopt */
	else
		n += enc_xmem(insn + n, w, true, 4, db);		/* xsavec */

	memset(&in, 0, sizeof(in));
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = rnd_gpr();
	in.gpr[R_AX] = mask | (rnd() & ~7ull & 0xffffffff00000000ull);
	in.gpr[R_DX] = 0;
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < 16; i++)
		for (unsigned b = 0; b < 16; b += 8) {
			uint64_t v = rnd_gpr();

			memcpy(&in.xmm[i][b], &v, 8);
		}

	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(xmem + XMEM_SIZE / 2);
	memcpy(xmem, init_mem, XMEM_SIZE);
	nvec = bsignal_vector(run_bnative(insn, n, &nat));

	swh_poke(bh, XMEM_GPA, init_mem, XMEM_SIZE);
	swh_load_code(bh, CODE_GPA, insn, n);
	memcpy(cpu->st.gpr, in.gpr, sizeof(in.gpr));
	cpu->st.gpr[R_R14] = XMEM_GPA + XMEM_SIZE / 2;
	cpu->st.gpr[R_SP] = 0x8000;
	cpu->st.rflags = in.flags_in;
	memcpy(cpu->st.fx.xmm, in.xmm, sizeof(in.xmm));
	/* What the stub runs under: components outside the mask keep these. */
	cpu->st.fx.mxcsr = MXCSR_INIT;
	ivec = swh_run(bh, CODE_GPA + n, 2);
	swh_peek(bh, XMEM_GPA, imem, XMEM_SIZE);

	xs_cases++;
	if (nvec != SWH_OK)
		xs_faults++;
	/* A fault in either instruction: compare the vector; the memory must be as it was. */
	if (nvec != ivec || (nvec != SWH_OK && memcmp(imem, init_mem, XMEM_SIZE) &&
			     cpu->st.rip == CODE_GPA)) {
		xs_mismatches++;
		breport("xsave fault", insn, n, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK)
		return;
	for (unsigned i = 0; i < 14; i++) {
		if (i != R_SP && nat.gpr[i] != cpu->st.gpr[i]) {
			xs_mismatches++;
			breport("xsave register", insn, n, &in, &nat, nvec, ivec);
			return;
		}
	}
	if ((mask & 2) ? memcmp(nat.xmm, cpu->st.fx.xmm, sizeof(nat.xmm)) != 0 : false) {
		xs_mismatches++;
		breport("xsave xmm", insn, n, &in, &nat, nvec, ivec);
		return;
	}
	/*
	 * The top byte of a 64-bit FIP: the host keeps bits 55:0 of what
	 * XRSTOR64 loaded and fills 63:56 from earlier state of its own (00
	 * or ff, whatever was loaded); the interpreter keeps all 64 bits as
	 * FXRSTOR64 does. Counted, not compared.
	 */
	/*
	 * XINUSE: the host may count a component in its initial state as in
	 * use (it did after an interrupt between the two instructions, its
	 * kernel having restored the whole state), which the SDM allows; it
	 * then also writes it where XSAVEOPT/XSAVEC skip it on sw. Only that
	 * direction: counted, not compared.
	 */
	{
		uint64_t nbv = get64(xmem + XB + 512), ibv = get64(imem + XB + 512);

		if (nbv != ibv && !(ibv & ~nbv)) {
			xs_inuse++;
			return;
		}
	}
	if (imem[XB + 15] != xmem[XB + 15]) {
		xs_fip_top++;
		imem[XB + 15] = xmem[XB + 15];
	}
	if (memcmp(imem, xmem, XMEM_SIZE)) {
		static unsigned shown;

		xs_mismatches++;
		if (shown++ < 6) {
			printf("MISMATCH xsave memory: mask %" PRIx64 " w %d compact %d kind %u:",
			       mask, w, compact, which);
			for (unsigned i = 0; i < XMEM_SIZE; i++)
				if (imem[i] != xmem[i])
					printf(" +%#x:%02x/%02x", i, xmem[i], imem[i]);
			printf(" (native/interp)\n");
		}
	}
}

/* With the host's XSAVE: the model's AVX bit on for the duration (the components need it). */
static void xsave_oracle(unsigned per)
{
	struct cpuid_model saved = cpuid_global;
	struct sw_cpu *cpu = &bh->cpu;
	uint32_t a, b, c, d, xcr0_lo, xcr0_hi;

	__cpuid_count(1, 0, a, b, c, d);
	if (!(c & CPUID_1_ECX_OSXSAVE) || !(c & CPUID_1_ECX_AVX)) {
		printf("oracle: XSAVE                        skipped: the host lacks XSAVE or AVX\n");
		return;
	}
	__cpuid_count(0xd, 1, a, b, c, d);
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 7) != 7 || (a & 3) != 3) {
		printf("oracle: XSAVE                        skipped: the host's XCR0 or XSAVEC\n");
		return;
	}
	for (unsigned l = 0; l < cpuid_global.nr; l++)
		if (cpuid_global.leaf[l].function == 1)
			cpuid_global.leaf[l].ecx |= CPUID_1_ECX_AVX;
	cpu->st.cr4 |= X86_CR4_OSXSAVE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	cpu->st.xcr0 = 7;
	for (unsigned k = 0; k < per * 20; k++)
		xrun_case();
	cpu->st.xcr0 = 1;
	cpu->st.cr4 &= ~X86_CR4_OSXSAVE;
	cpuid_global = saved;
	printf("oracle: %-28s %7lu cases, %lu mismatches (%lu faulted on both sides; FIP "
	       "bits 63:56 not compared in %lu; %lu with a component the host called in use "
	       "in its initial state, not compared)\n", "XSAVE/XSAVEOPT/XSAVEC/XRSTOR", xs_cases,
	       xs_mismatches, xs_faults, xs_fip_top, xs_inuse);
}

/*
 * These extensions are not in the default model, which every swh_new()
 * installs: -cpu max instead (what the software CPU has on this host),
 * and @h's decoders told about TZCNT as sw_cpu_init() would have been.
 */
static int use_max_model(struct swh *h, char *why, size_t len)
{
	struct cpuid_feats can;
	uint32_t r[4];
	int ret;

	cpuid_sw_provides(&can);
	ret = cpuid_model_build(&cpuid_global, 1, "max", &can, "sw", false, NULL, why, len);
	if (ret < 0)
		return ret;
	cpuid_model_lookup(&cpuid_global, 0, 7, 0, r);
	ZydisDecoderEnableMode(&h->cpu.dec16, ZYDIS_DECODER_MODE_TZCNT, !!(r[1] & CPUID_7_EBX_BMI1));
	ZydisDecoderEnableMode(&h->cpu.dec32, ZYDIS_DECODER_MODE_TZCNT, !!(r[1] & CPUID_7_EBX_BMI1));
	ZydisDecoderEnableMode(&h->cpu.dec64, ZYDIS_DECODER_MODE_TZCNT, !!(r[1] & CPUID_7_EBX_BMI1));
	return 0;
}

/* ---- rules that need no host ---- */

static int step_bytes(struct swh *h, const uint8_t *code, unsigned len)
{
	/* Below 64 KiB: inside the real-mode code segment's limit too. */
	swh_load_code(h, h->mode == SWH_REAL ? 0x6000 : CODE_GPA, code, len);
	return swh_step(h);
}

/*
 * #UD with each CPUID bit cleared; VEX in real mode is #UD; CR0.TS is #NM
 * for the SSE forms only; VEX.W is ignored outside 64-bit mode.
 */
static unsigned long btest_rules(unsigned *nchecks)
{
	static const struct {
		uint8_t len, b[7];
		uint32_t leaf, bit;
	} absent[] = {
		{ 5, { 0xc4, 0xe2, 0x78, 0xf2, 0xc1 }, 7, CPUID_7_EBX_BMI1 },	/* andn */
		{ 5, { 0xc4, 0xe2, 0x70, 0xf3, 0xda }, 7, CPUID_7_EBX_BMI1 },	/* blsi */
		{ 5, { 0xc4, 0xe2, 0xf3, 0xf6, 0xc2 }, 7, CPUID_7_EBX_BMI2 },	/* mulx */
		{ 5, { 0xc4, 0xe2, 0x73, 0xf5, 0xc2 }, 7, CPUID_7_EBX_BMI2 },	/* pdep */
		{ 5, { 0x66, 0x0f, 0x38, 0xf6, 0xc1 }, 7, CPUID_7_EBX_ADX },	/* adcx */
		{ 3, { 0x0f, 0xc7, 0xf8 }, 7, CPUID_7_EBX_RDSEED },		/* rdseed */
		{ 3, { 0x0f, 0xc7, 0xf0 }, 1, CPUID_1_ECX_RDRAND },		/* rdrand */
		{ 4, { 0x0f, 0x38, 0xf0, 0x00 }, 1, CPUID_1_ECX_MOVBE },	/* movbe */
		{ 5, { 0x66, 0x0f, 0x38, 0xdc, 0xc1 }, 1, CPUID_1_ECX_AES },	/* aesenc */
		{ 6, { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x11 }, 1, CPUID_1_ECX_PCLMULQDQ },
		{ 4, { 0x0f, 0x38, 0xcb, 0xc1 }, 7, CPUID_7_EBX_SHA },	/* sha256rnds2 */
	};
	static const uint8_t andn[] = { 0xc4, 0xe2, 0xf8, 0xf2, 0xc1 };	/* andn rax, rax, rcx (W1) */
	static const uint8_t aesenc[] = { 0x66, 0x0f, 0x38, 0xdc, 0xc1 };
	struct cpuid_model saved = cpuid_global;
	struct sw_cpu *cpu = &bh->cpu;
	unsigned long bad = 0;
	struct swh *h;
	char why[256];

	for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		for (unsigned l = 0; l < cpuid_global.nr; l++) {
			struct cpuid_leaf *lf = &cpuid_global.leaf[l];

			if (lf->function == absent[i].leaf && absent[i].leaf == 7)
				lf->ebx &= ~absent[i].bit;
			if (lf->function == absent[i].leaf && absent[i].leaf == 1)
				lf->ecx &= ~absent[i].bit;
		}
		cpu->st.gpr[R_AX] = MEM_GPA;
		cpu->st.cr0 |= X86_CR0_TS;	/* an opcode that does not exist: #UD, not #NM */
		if (step_bytes(bh, absent[i].b, absent[i].len) != X86_UD) {
			printf("MISMATCH: absent case %u runs without its CPUID bit\n", i);
			bad++;
		}
		cpu->st.cr0 &= ~X86_CR0_TS;
		cpuid_global = saved;
		(*nchecks)++;
	}
	/* CR0.TS: #NM for AESENC, nothing for ANDN; CR4.OSFXSR clear: #UD for AESENC. */
	cpu->st.cr0 |= X86_CR0_TS;
	bad += step_bytes(bh, aesenc, sizeof(aesenc)) != (host_ext(X_AES) ? X86_NM : X86_UD);
	bad += step_bytes(bh, andn, sizeof(andn)) != (host_ext(X_BMI1) ? SWH_OK : X86_UD);
	cpu->st.cr0 &= ~X86_CR0_TS;
	cpu->st.cr4 &= ~X86_CR4_OSFXSR;
	bad += step_bytes(bh, aesenc, sizeof(aesenc)) != X86_UD;
	cpu->st.cr4 |= X86_CR4_OSFXSR;
	*nchecks += 3;

	/* XSETBV / XGETBV / XSAVE: CR4.OSXSAVE, the XCR0 rules, CR0.TS. */
	if (host_ext(X_XSAVE)) {
		static const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1 }, xgetbv[] = { 0x0f, 0x01, 0xd0 };
		static const uint8_t xsave[] = { 0x0f, 0xae, 0x20 };	/* xsave [rax] */
		static const struct {
			uint64_t v;
			uint32_t ecx;
			int want;
		} sets[] = {
			{ 0, 0, X86_GP }, { 2, 0, X86_GP }, { 5, 0, X86_GP }, { 8 | 3, 0, X86_GP },
			{ 3, 1, X86_GP }, { 1ull << 40 | 3, 0, X86_GP }, { 3, 0, SWH_OK },
		};

		cpu->st.cr4 &= ~X86_CR4_OSXSAVE;
		bad += step_bytes(bh, xgetbv, sizeof(xgetbv)) != X86_UD;
		bad += step_bytes(bh, xsetbv, sizeof(xsetbv)) != X86_UD;
		cpu->st.cr4 |= X86_CR4_OSXSAVE;
		*nchecks += 2;
		for (unsigned i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
			cpu->st.gpr[R_AX] = (uint32_t)sets[i].v;
			cpu->st.gpr[R_DX] = sets[i].v >> 32;
			cpu->st.gpr[R_CX] = sets[i].ecx;
			bad += step_bytes(bh, xsetbv, sizeof(xsetbv)) != sets[i].want;
			(*nchecks)++;
		}
		cpu->st.gpr[R_CX] = 0;
		bad += step_bytes(bh, xgetbv, sizeof(xgetbv)) != SWH_OK || cpu->st.gpr[R_AX] != 3 ||
		       cpu->st.gpr[R_DX] != 0;
		cpu->st.gpr[R_CX] = 1;		/* XINUSE: not in the model */
		bad += step_bytes(bh, xgetbv, sizeof(xgetbv)) != X86_GP;
		cpu->st.gpr[R_AX] = MEM_GPA;
		cpu->st.cr0 |= X86_CR0_TS;
		bad += step_bytes(bh, xsave, sizeof(xsave)) != X86_NM;
		cpu->st.cr0 &= ~X86_CR0_TS;
		cpu->st.gpr[R_AX] = MEM_GPA + 32;
		bad += step_bytes(bh, xsave, sizeof(xsave)) != X86_GP;	/* not 64-byte aligned */
		*nchecks += 4;
		cpu->st.xcr0 = 1;
		cpu->st.cr4 &= ~X86_CR4_OSXSAVE;
	}

	/* VEX in real mode: #UD; in 32-bit protected mode VEX.W1 still means 32 bits. */
	h = swh_new(4 << 20, SWH_REAL);
	if (h && use_max_model(h, why, sizeof(why)) == 0) {
		bad += step_bytes(h, andn, sizeof(andn)) != X86_UD;
		(*nchecks)++;
	}
	if (h)
		swh_free(h);
	h = swh_new(4 << 20, SWH_PROT32);
	if (h && use_max_model(h, why, sizeof(why)) == 0 && host_ext(X_BMI1)) {
		h->cpu.st.gpr[R_AX] = 0xf0f0f0f0;
		h->cpu.st.gpr[R_CX] = 0xffff0000;
		if (step_bytes(h, andn, sizeof(andn)) != SWH_OK ||
		    h->cpu.st.gpr[R_AX] != 0x0f0f0000)
			bad++;
		(*nchecks)++;
	}
	if (h)
		swh_free(h);
	if (bad)
		printf("MISMATCH: %lu of the CPUID/CR0/CR4/mode rules\n", bad);
	return bad;
}

void oracle_bitops(unsigned per, bool compare_undef, struct oracle_counts *total)
{
	struct cpuid_model saved_model = cpuid_global;
	struct sigaction sa;
	unsigned long bad;
	unsigned nchecks = 0;
	char why[256];

	undef_compared = compare_undef;
	build_bstub();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bon_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	bh = swh_new(4 << 20, SWH_LONG64);
	if (!bh) {
		printf("oracle_bitops: cannot create the harness VM\n");
		total->mismatches++;
		return;
	}
	if (use_max_model(bh, why, sizeof(why)) < 0) {
		printf("oracle_bitops: cannot build the max model: %s\n", why);
		total->mismatches++;
		swh_free(bh);
		cpuid_global = saved_model;
		return;
	}
	for (size_t i = 0; i < sizeof(bspecs) / sizeof(bspecs[0]); i++) {
		const struct bspec *s = &bspecs[i];
		unsigned sizes = s->sizes ? s->sizes : 1u << 16;

		if (!host_ext(s->ext))
			continue;
		for (unsigned size = 2; size <= 16; size <<= 1) {
			if (!(sizes & (1u << size)))
				continue;
			for (unsigned k = 0; k < per; k++) {
				uint8_t insn[SLOT_LEN];
				ZyanUSize len;
				int tries = 0;

				while (!bencode(s, size == 16 ? 0 : size, insn, &len))
					if (++tries > 50)
						break;
				if (tries > 50) {
					printf("cannot encode %s size %u form %d\n",
					       ZydisMnemonicGetString(s->mn), size, s->form);
					counts[s->ext].mismatches++;
					break;
				}
				brun_case(s, insn, (unsigned)len);
			}
		}
	}
	xsave_oracle(per);
	bad = btest_rules(&nchecks);
	for (unsigned e = 0; e < X_NR; e++) {
		if (!host_ext(e)) {
			printf("oracle: %-28s skipped: the host lacks it (the model too)\n",
			       ext_names[e]);
			continue;
		}
		printf("oracle: %-28s %7lu cases, %lu mismatches (%lu faulted on both sides)\n",
		       ext_names[e], counts[e].cases, counts[e].mismatches, counts[e].faults);
		total->cases += counts[e].cases;
		total->mismatches += counts[e].mismatches;
		total->faults += counts[e].faults;
	}
	if (rand_empty)
		printf("oracle: %lu RDRAND/RDSEED cases with no number on one side (not compared)\n",
		       rand_empty);
	printf("oracle: CPUID, CR0/CR4 and mode rules of these extensions: %u checks, %lu failed\n",
	       nchecks, bad);
	total->cases += nchecks + xs_cases;
	total->mismatches += bad + xs_mismatches;
	total->faults += xs_faults;
	swh_free(bh);
	cpuid_global = saved_model;
}
