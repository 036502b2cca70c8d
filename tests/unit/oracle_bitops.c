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
	memset(bstub + bslot, 0x90, SLOT_LEN);
	memcpy(bstub + bslot, insn, len);
	bsig = 0;
	if (sigsetjmp(bjmp, 1))
		return bsig;
	((void (*)(struct bctx *))(void *)bstub)(ctx);
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

enum { X_BMI1, X_BMI2, X_ADX, X_MOVBE, X_RDRAND, X_RDSEED, X_AES, X_PCLMUL, X_SHA, X_NR };

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
	default: return c & CPUID_1_ECX_PCLMULQDQ;
	}
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

	/* VEX in real mode: #UD; in 32-bit protected mode VEX.W1 still means 32 bits. */
	h = swh_new(4 << 20, SWH_REAL);
	if (h) {
		bad += step_bytes(h, andn, sizeof(andn)) != X86_UD;
		swh_free(h);
		(*nchecks)++;
	}
	h = swh_new(4 << 20, SWH_PROT32);
	if (h && host_ext(X_BMI1)) {
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
	struct sigaction sa;
	unsigned long bad;
	unsigned nchecks = 0;

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
	total->cases += nchecks;
	total->mismatches += bad;
	swh_free(bh);
}
