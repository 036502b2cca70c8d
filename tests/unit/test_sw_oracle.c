// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host CPU as oracle for the interpreter's ALU families.
 *
 * Every case is one instruction, encoded with the Zydis encoder, run
 * natively in this process (a small executable stub loads the registers
 * and RFLAGS, executes it, saves them back) and in the interpreter through
 * the test harness, from the same random registers, flags and memory.
 * Results, memory and the arithmetic flags must match; faults must match
 * too (#DE natively arrives as SIGFPE).
 *
 * Flags the SDM calls undefined are compared where the interpreter models
 * the host's vendor: every instruction on Intel hosts; on AMD hosts
 * SHLD/SHRD and the decimal adjusts (the other families keep Intel's
 * undefined flags). Elsewhere, or with TANDEM_ORACLE_LAX=1 in the
 * environment, the instruction's undefined flags (per Zydis) are masked.
 *
 * Results the SDM and the APM call undefined (a 16-bit SHLD/SHRD shifted
 * past its source) follow the vendor too and are compared; with
 * TANDEM_ORACLE_LAX=1 they are counted and skipped instead. Either way
 * the number of such cases is printed.
 *
 * Prints "oracle: N cases, M mismatches"; exit status 1 on any mismatch.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/unit/oracle_bitops.h"
#include "tests/unit/oracle_avx_fp.h"
#include "tests/unit/oracle_avx_int.h"
#include "tests/unit/oracle_simd.h"
#include "tests/unit/sw_harness.h"

#define MEM_SIZE	512
#define MEM_GPA		0x20000ull
#define CODE_GPA	0x10000ull
#define ARITH_FLAGS	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

/* ---- the native side ---- */

struct native_ctx {
	uint64_t gpr[16];	/* R_AX.. order; rsp and r15 unused */
	uint64_t flags_in, flags_out;
};

typedef void (*native_fn)(struct native_ctx *ctx);

static uint8_t *stub;		/* RWX */
static size_t slot_off;		/* where the instruction under test goes */
#define SLOT_LEN	16
static uint8_t native_mem[MEM_SIZE] __attribute__((aligned(64)));
static sigjmp_buf native_jmp;
static volatile int native_sig;

static size_t emit(uint8_t *p, size_t n, const uint8_t *b, size_t len)
{
	memcpy(p + n, b, len);
	return n + len;
}

/* mov reg, [r15 + 8 * reg]  (load = 1)  or  mov [r15 + 8 * reg], reg */
static size_t emit_ctx_mov(uint8_t *p, size_t n, unsigned reg, bool load)
{
	uint8_t b[4] = { (uint8_t)(0x49 | (reg >= 8 ? 4 : 0)), load ? 0x8b : 0x89,
			 (uint8_t)(0x47 | ((reg & 7) << 3)), (uint8_t)(8 * reg) };

	return emit(p, n, b, 4);
}

static void build_stub(void)
{
	static const uint8_t prologue[] = {
		/* push rbx..r15; mov r15, rdi; push [r15 + 128]; popfq */
		0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,
		0x49, 0x89, 0xff,
		0x41, 0xff, 0xb7, 0x80, 0x00, 0x00, 0x00,
		0x9d,
	};
	static const uint8_t save_flags[] = {
		/* pushfq; pop [r15 + 136] */
		0x9c,
		0x41, 0x8f, 0x87, 0x88, 0x00, 0x00, 0x00,
	};
	static const uint8_t epilogue[] = {
		0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
	};
	size_t n = 0;

	stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (stub == MAP_FAILED) {
		perror("mmap");
		exit(77);
	}
	n = emit(stub, n, prologue, sizeof(prologue));
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = emit_ctx_mov(stub, n, r, true);
	slot_off = n;
	memset(stub + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	n = emit(stub, n, save_flags, sizeof(save_flags));
	for (unsigned r = 0; r < 15; r++)
		if (r != R_SP)
			n = emit_ctx_mov(stub, n, r, false);
	emit(stub, n, epilogue, sizeof(epilogue));
}

static void on_signal(int sig)
{
	native_sig = sig;
	siglongjmp(native_jmp, 1);
}

/* Run @len bytes natively; returns 0 or the signal that stopped it. */
static int run_native(const uint8_t *insn, unsigned len, struct native_ctx *ctx)
{
	memset(stub + slot_off, 0x90, SLOT_LEN);
	memcpy(stub + slot_off, insn, len);
	native_sig = 0;
	if (sigsetjmp(native_jmp, 1))
		return native_sig;
	((native_fn)(void *)stub)(ctx);
	return 0;
}

/* ---- case generation ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random value with the edges of every operand size mixed in. */
static uint64_t rnd_val(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, ~0ull, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, 0x100, 0x10000,
		0x100000000ull, 9, 10, 0x99, 0x0f, 0xf0,
	};
	uint64_t r = rnd();

	switch (r & 7) {
	case 0:
	case 1:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 2:
		return (r >> 8) & 0xff;	/* small */
	case 3:
		return (uint64_t)-(int64_t)((r >> 8) & 0xff);
	default:
		return rnd();
	}
}

enum form {
	F_RR, F_RM, F_MR, F_RI, F_MI, F_R, F_M,
	F_R1, F_M1, F_RCL, F_MCL,		/* shift by 1 / CL (and imm via F_RI/F_MI) */
	F_RRI, F_RMI, F_MRI, F_RRCL, F_MRCL,	/* three operands */
};

struct spec {
	ZydisMnemonic mn;
	enum form form;
	unsigned sizes;		/* bit n: 1 << n bytes */
	unsigned imm_kind;	/* 0: ALU imm, 1: count (0..255), 2: imm8 */
};

#define S8	(1u << 1)
#define S16	(1u << 2)
#define S32	(1u << 4)
#define S64	(1u << 8)
#define SALL	(S8 | S16 | S32 | S64)
#define SWIDE	(S16 | S32 | S64)

static const struct spec specs[] = {
#define ALU2(m) \
	{ m, F_RR, SALL, 0 }, { m, F_RM, SALL, 0 }, { m, F_MR, SALL, 0 }, \
	{ m, F_RI, SALL, 0 }, { m, F_MI, SALL, 0 }
	ALU2(ZYDIS_MNEMONIC_ADD), ALU2(ZYDIS_MNEMONIC_ADC), ALU2(ZYDIS_MNEMONIC_SUB),
	ALU2(ZYDIS_MNEMONIC_SBB), ALU2(ZYDIS_MNEMONIC_CMP), ALU2(ZYDIS_MNEMONIC_AND),
	ALU2(ZYDIS_MNEMONIC_OR), ALU2(ZYDIS_MNEMONIC_XOR),
	{ ZYDIS_MNEMONIC_TEST, F_RR, SALL, 0 }, { ZYDIS_MNEMONIC_TEST, F_MR, SALL, 0 },
	{ ZYDIS_MNEMONIC_TEST, F_RI, SALL, 0 }, { ZYDIS_MNEMONIC_TEST, F_MI, SALL, 0 },
#define ALU1(m) { m, F_R, SALL, 0 }, { m, F_M, SALL, 0 }
	ALU1(ZYDIS_MNEMONIC_INC), ALU1(ZYDIS_MNEMONIC_DEC), ALU1(ZYDIS_MNEMONIC_NEG),
	ALU1(ZYDIS_MNEMONIC_NOT), ALU1(ZYDIS_MNEMONIC_MUL), ALU1(ZYDIS_MNEMONIC_IMUL),
	ALU1(ZYDIS_MNEMONIC_DIV), ALU1(ZYDIS_MNEMONIC_IDIV),
	{ ZYDIS_MNEMONIC_IMUL, F_RR, SWIDE, 0 }, { ZYDIS_MNEMONIC_IMUL, F_RM, SWIDE, 0 },
	{ ZYDIS_MNEMONIC_IMUL, F_RRI, SWIDE, 0 }, { ZYDIS_MNEMONIC_IMUL, F_RMI, SWIDE, 0 },
#define SHIFT(m) \
	{ m, F_R1, SALL, 1 }, { m, F_M1, SALL, 1 }, { m, F_RI, SALL, 1 }, \
	{ m, F_MI, SALL, 1 }, { m, F_RCL, SALL, 1 }, { m, F_MCL, SALL, 1 }
	SHIFT(ZYDIS_MNEMONIC_SHL), SHIFT(ZYDIS_MNEMONIC_SHR), SHIFT(ZYDIS_MNEMONIC_SAR),
	SHIFT(ZYDIS_MNEMONIC_ROL), SHIFT(ZYDIS_MNEMONIC_ROR), SHIFT(ZYDIS_MNEMONIC_RCL),
	SHIFT(ZYDIS_MNEMONIC_RCR),
#define SHD(m) \
	{ m, F_RRI, SWIDE, 1 }, { m, F_MRI, SWIDE, 1 }, { m, F_RRCL, SWIDE, 1 }, \
	{ m, F_MRCL, SWIDE, 1 }
	SHD(ZYDIS_MNEMONIC_SHLD), SHD(ZYDIS_MNEMONIC_SHRD),
#define BT(m) \
	{ m, F_RR, SWIDE, 0 }, { m, F_MR, SWIDE, 0 }, { m, F_RI, SWIDE, 2 }, \
	{ m, F_MI, SWIDE, 2 }
	BT(ZYDIS_MNEMONIC_BT), BT(ZYDIS_MNEMONIC_BTS), BT(ZYDIS_MNEMONIC_BTR),
	BT(ZYDIS_MNEMONIC_BTC),
	{ ZYDIS_MNEMONIC_BSF, F_RR, SWIDE, 0 }, { ZYDIS_MNEMONIC_BSF, F_RM, SWIDE, 0 },
	{ ZYDIS_MNEMONIC_BSR, F_RR, SWIDE, 0 }, { ZYDIS_MNEMONIC_BSR, F_RM, SWIDE, 0 },
};

/* Registers an instruction under test may name: not rsp, r14 (memory base), r15 (ctx). */
static const ZydisRegister gpr64[] = {
	ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
	ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_R8,
	ZYDIS_REGISTER_R9, ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11, ZYDIS_REGISTER_R12,
	ZYDIS_REGISTER_R13,
};

static ZydisRegister pick_reg(unsigned size)
{
	unsigned n = sizeof(gpr64) / sizeof(gpr64[0]);
	ZydisRegister r64 = gpr64[rnd() % n];
	unsigned idx = r64 - ZYDIS_REGISTER_RAX;

	switch (size) {
	case 1:
		/* AH..BH a quarter of the time (the encoder refuses them next to REX). */
		if (idx < 4 && (rnd() & 3) == 0)
			return ZYDIS_REGISTER_AH + idx;
		return idx < 4 ? ZYDIS_REGISTER_AL + idx : ZYDIS_REGISTER_SPL + (idx - 4);
	case 2:
		return ZYDIS_REGISTER_AX + idx;
	case 4:
		return ZYDIS_REGISTER_EAX + idx;
	default:
		return r64;
	}
}

static void op_reg(ZydisEncoderOperand *o, ZydisRegister r)
{
	o->type = ZYDIS_OPERAND_TYPE_REGISTER;
	o->reg.value = r;
}

static void op_mem(ZydisEncoderOperand *o, unsigned size, int64_t disp)
{
	o->type = ZYDIS_OPERAND_TYPE_MEMORY;
	o->mem.base = ZYDIS_REGISTER_R14;
	o->mem.displacement = disp;
	o->mem.size = (ZyanU16)size;
}

static void op_imm(ZydisEncoderOperand *o, uint64_t v)
{
	o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	o->imm.u = v;
}

static uint64_t gen_imm(const struct spec *s, unsigned size)
{
	uint64_t r = rnd();

	switch (s->imm_kind) {
	case 1:		/* shift count: mostly in range, sometimes anything */
		return (r & 3) ? (r >> 8) % (size * 8 + 3) : (r >> 8) & 0xff;
	case 2:
		return (r >> 8) & 0xff;
	default:
		if (r & 1)
			return (uint64_t)(int64_t)(int8_t)(r >> 8);
		if (size == 1)
			return (r >> 8) & 0xff;
		if (size == 2)
			return (r >> 8) & 0xffff;
		/* imm32, sign-extended for 64-bit operands */
		return (uint64_t)(int64_t)(int32_t)(r >> 8);
	}
}

/* Encode one case; false if the encoder refuses the combination. */
static bool encode(const struct spec *s, unsigned size, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest req;
	int64_t disp = (int64_t)(rnd() % 97) - 48;
	ZydisEncoderOperand *o = req.operands;

	memset(&req, 0, sizeof(req));
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.mnemonic = s->mn;
	switch (s->form) {
	case F_RR:
		op_reg(&o[0], pick_reg(size));
		op_reg(&o[1], pick_reg(size));
		req.operand_count = 2;
		break;
	case F_RM:
		op_reg(&o[0], pick_reg(size));
		op_mem(&o[1], size, disp);
		req.operand_count = 2;
		break;
	case F_MR:
		op_mem(&o[0], size, disp);
		op_reg(&o[1], pick_reg(size));
		req.operand_count = 2;
		break;
	case F_RI:
		op_reg(&o[0], pick_reg(size));
		op_imm(&o[1], gen_imm(s, size));
		req.operand_count = 2;
		break;
	case F_MI:
		op_mem(&o[0], size, disp);
		op_imm(&o[1], gen_imm(s, size));
		req.operand_count = 2;
		break;
	case F_R:
		op_reg(&o[0], pick_reg(size));
		req.operand_count = 1;
		break;
	case F_M:
		op_mem(&o[0], size, disp);
		req.operand_count = 1;
		break;
	case F_R1:
		op_reg(&o[0], pick_reg(size));
		op_imm(&o[1], 1);
		req.operand_count = 2;
		break;
	case F_M1:
		op_mem(&o[0], size, disp);
		op_imm(&o[1], 1);
		req.operand_count = 2;
		break;
	case F_RCL:
		op_reg(&o[0], pick_reg(size));
		op_reg(&o[1], ZYDIS_REGISTER_CL);
		req.operand_count = 2;
		break;
	case F_MCL:
		op_mem(&o[0], size, disp);
		op_reg(&o[1], ZYDIS_REGISTER_CL);
		req.operand_count = 2;
		break;
	case F_RRI:
		op_reg(&o[0], pick_reg(size));
		op_reg(&o[1], pick_reg(size));
		op_imm(&o[2], gen_imm(s, size));
		req.operand_count = 3;
		break;
	case F_RMI:
		op_reg(&o[0], pick_reg(size));
		op_mem(&o[1], size, disp);
		op_imm(&o[2], gen_imm(s, size));
		req.operand_count = 3;
		break;
	case F_MRI:
		op_mem(&o[0], size, disp);
		op_reg(&o[1], pick_reg(size));
		op_imm(&o[2], gen_imm(s, size));
		req.operand_count = 3;
		break;
	case F_RRCL:
		op_reg(&o[0], pick_reg(size));
		op_reg(&o[1], pick_reg(size));
		op_reg(&o[2], ZYDIS_REGISTER_CL);
		req.operand_count = 3;
		break;
	case F_MRCL:
		op_mem(&o[0], size, disp);
		op_reg(&o[1], pick_reg(size));
		op_reg(&o[2], ZYDIS_REGISTER_CL);
		req.operand_count = 3;
		break;
	}
	*len = SLOT_LEN;
	return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, len));
}

/* ---- running and comparing ---- */

static struct swh *h;
static bool lax;		/* TANDEM_ORACLE_LAX: another microarchitecture */
static bool host_intel, host_amd;
static unsigned long nr_undef_mismatch;	/* only in flags the SDM leaves undefined */
static unsigned long nr_undef_result;	/* cases whose result is undefined */
static unsigned long nr_cases, nr_mismatch, nr_faults;

/* Does the interpreter model @m's undefined flags as this host produces them? */
static bool undef_flags_modelled(ZydisMnemonic m)
{
	if (lax)
		return false;
	if (host_intel)
		return true;
	return host_amd && (m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD ||
			    m == ZYDIS_MNEMONIC_DAA || m == ZYDIS_MNEMONIC_DAS ||
			    m == ZYDIS_MNEMONIC_AAA || m == ZYDIS_MNEMONIC_AAS ||
			    m == ZYDIS_MNEMONIC_AAM || m == ZYDIS_MNEMONIC_AAD);
}

/*
 * A 16-bit SHLD/SHRD by more than 16 (the count is masked to 5 bits):
 * result and flags undefined, and Intel and AMD give different ones.
 */
static bool undef_result(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *ops,
			 const struct native_ctx *in)
{
	uint64_t count;

	if ((zi->mnemonic != ZYDIS_MNEMONIC_SHLD && zi->mnemonic != ZYDIS_MNEMONIC_SHRD) ||
	    ops[0].size != 16)
		return false;
	if (ops[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		count = ops[2].imm.value.u;
	else
		count = in->gpr[R_CX];
	return (count & 0x1f) > 16;
}

static int signal_vector(int sig)
{
	switch (sig) {
	case 0:
		return SWH_OK;
	case SIGFPE:
		return X86_DE;
	case SIGILL:
		return X86_UD;
	default:
		return X86_GP;
	}
}

static void report(const char *what, const uint8_t *insn, unsigned len,
		   const struct native_ctx *in, const struct native_ctx *nat, int nvec, int ivec)
{
	char text[96] = "";
	ZydisDisassembledInstruction di;

	static unsigned per_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];

	if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, insn, len, &di))) {
		snprintf(text, sizeof(text), "%s", di.text);
		/* A few examples per mnemonic are enough to see the pattern. */
		if (++per_mnemonic[di.info.mnemonic] > 4)
			return;
	}
	printf("MISMATCH %s: %-32s flags_in=%03" PRIx64 " native(sig vec %d) flags=%03" PRIx64
	       " | interp(vec %d) flags=%03" PRIx64 "\n", what, text, in->flags_in & 0xfff, nvec,
	       nat->flags_out & 0xfff, ivec, h->cpu.st.rflags & 0xfff);
	for (unsigned r = 0; r < 14; r++) {
		if (r == R_SP)
			continue;
		if (nat->gpr[r] != h->cpu.st.gpr[r] || in->gpr[r] != nat->gpr[r])
			printf("   r%-2u in=%016" PRIx64 " native=%016" PRIx64 " interp=%016" PRIx64
			       "\n", r, in->gpr[r], nat->gpr[r], h->cpu.st.gpr[r]);
	}
}

/* One case: same registers, flags and memory on both sides, then compare. */
static void run_case(const uint8_t *insn, unsigned len)
{
	struct native_ctx in, nat;
	uint8_t imem[MEM_SIZE], init_mem[MEM_SIZE];
	uint64_t undef = 0, fmask;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction zi;
	ZydisDecoder dec;
	bool decoded, undef_res;
	int nvec, ivec;

	for (unsigned r = 0; r < 16; r++)
		in.gpr[r] = rnd_val();
	/* Divides: make quotients that fit most of the time. */
	if (rnd() & 1)
		in.gpr[R_DX] = (rnd() & 1) ? 0 : ~0ull;
	in.flags_in = X86_RFLAGS_FIXED | (rnd() & ARITH_FLAGS);
	for (unsigned i = 0; i < MEM_SIZE; i += 8) {
		uint64_t v = rnd_val();

		memcpy(init_mem + i, &v, 8);
	}
	in.gpr[R_SP] = 0;
	in.gpr[R_R15] = 0;

	/*
	 * BTx with a register bit offset on memory: keep the offset within
	 * the memory block (it is signed and can reach far outside the operand).
	 */
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	decoded = ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, insn, len, &zi, ops));
	if (decoded &&
	    (zi.mnemonic == ZYDIS_MNEMONIC_BT || zi.mnemonic == ZYDIS_MNEMONIC_BTS ||
	     zi.mnemonic == ZYDIS_MNEMONIC_BTR || zi.mnemonic == ZYDIS_MNEMONIC_BTC) &&
	    ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY &&
	    ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		ZydisRegister r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
								   ops[1].reg.value);

		in.gpr[r - ZYDIS_REGISTER_RAX] = (uint64_t)((int64_t)(rnd() % 1400) - 700);
	}
	undef_res = decoded && undef_result(&zi, ops, &in);

	/* native */
	nat = in;
	nat.gpr[R_R14] = (uint64_t)(uintptr_t)(native_mem + MEM_SIZE / 2);
	memcpy(native_mem, init_mem, MEM_SIZE);
	nvec = signal_vector(run_native(insn, len, &nat));

	/* interpreter */
	swh_poke(h, MEM_GPA, init_mem, MEM_SIZE);
	swh_load_code(h, CODE_GPA, insn, len);
	memcpy(h->cpu.st.gpr, in.gpr, sizeof(in.gpr));
	h->cpu.st.gpr[R_R14] = MEM_GPA + MEM_SIZE / 2;
	h->cpu.st.gpr[R_SP] = 0x8000;
	h->cpu.st.rflags = in.flags_in;
	ivec = swh_step(h);
	swh_peek(h, MEM_GPA, imem, MEM_SIZE);

	nr_cases++;
	nr_undef_result += undef_res;
	if (nvec != SWH_OK)
		nr_faults++;
	if (nvec != ivec) {
		nr_mismatch++;
		report("fault", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (nvec != SWH_OK) {
		/* Faults are precise: nothing may have changed. */
		bool same = !memcmp(imem, init_mem, MEM_SIZE) &&
			    (h->cpu.st.rflags & ARITH_FLAGS) == (in.flags_in & ARITH_FLAGS);

		for (unsigned r = 0; r < 14; r++)
			if (r != R_SP && h->cpu.st.gpr[r] != in.gpr[r])
				same = false;
		if (!same) {
			nr_mismatch++;
			report("state after fault", insn, len, &in, &nat, nvec, ivec);
		}
		return;
	}
	/* Another microarchitecture: what the SDM leaves undefined is not compared. */
	if (undef_res && lax)
		return;
	if (decoded && zi.cpu_flags)
		undef = zi.cpu_flags->undefined;
	fmask = decoded && undef_flags_modelled(zi.mnemonic) ? ARITH_FLAGS : ARITH_FLAGS & ~undef;
	for (unsigned r = 0; r < 14; r++) {
		if (r == R_SP)
			continue;
		if (nat.gpr[r] != h->cpu.st.gpr[r]) {
			nr_mismatch++;
			report("register", insn, len, &in, &nat, nvec, ivec);
			return;
		}
	}
	if ((nat.flags_out ^ h->cpu.st.rflags) & fmask) {
		nr_mismatch++;
		if (!((nat.flags_out ^ h->cpu.st.rflags) & fmask & ~undef))
			nr_undef_mismatch++;
		report("flags", insn, len, &in, &nat, nvec, ivec);
		return;
	}
	if (memcmp(imem, native_mem, MEM_SIZE)) {
		nr_mismatch++;
		report("memory", insn, len, &in, &nat, nvec, ivec);
	}
}

/* Jcc/SETcc/CMOVcc conditions: sw_cond against native SETcc for every flag combination. */
static void test_conditions(void)
{
	for (unsigned cc = 0; cc < 16; cc++) {
		for (unsigned f = 0; f < 64; f++) {
			static const uint64_t bits[6] = { X86_RFLAGS_CF, X86_RFLAGS_PF,
				X86_RFLAGS_AF, X86_RFLAGS_ZF, X86_RFLAGS_SF, X86_RFLAGS_OF };
			/* setcc al */
			uint8_t insn[3] = { 0x0f, (uint8_t)(0x90 + cc), 0xc0 };
			struct native_ctx c = { 0 };
			uint64_t fl = X86_RFLAGS_FIXED;

			for (unsigned b = 0; b < 6; b++)
				if (f & (1u << b))
					fl |= bits[b];
			c.flags_in = fl;
			run_native(insn, sizeof(insn), &c);
			h->cpu.st.rflags = fl;
			nr_cases++;
			if ((c.gpr[R_AX] & 0xff) != (uint64_t)sw_cond(&h->cpu, cc)) {
				nr_mismatch++;
				printf("MISMATCH cond %u flags %03" PRIx64
				       ": native %u interp %u\n", cc, fl,
				       (unsigned)(c.gpr[R_AX] & 1), sw_cond(&h->cpu, cc));
			}
		}
	}
}

/*
 * 32-bit only instructions (decimal adjust, one-byte INC/DEC): run them
 * natively in compatibility mode. The process far-calls a 32-bit code
 * segment (the kernel's user CS 0x23) with a stack below 4 GiB, and the
 * 32-bit code far-returns. Kernels without IA-32 emulation fault the far
 * call: those cases are then skipped.
 */
#define LOW_SAVED_RSP	0x000
#define LOW_FARPTR	0x008
#define LOW_CTX		0x010	/* eax ecx edx ebx, flags in, flags out */
#define LOW_STUB64	0x100
#define LOW_STUB32	0x200
#define LOW_STACK_TOP	0x2000

static uint8_t *low;
static size_t low_slot;

static size_t put32(uint8_t *p, size_t n, uint32_t v)
{
	memcpy(p + n, &v, 4);
	return n + 4;
}

static bool build_compat_stub(void)
{
	static const uint8_t push_regs[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56,
					     0x41, 0x57 };
	static const uint8_t pop_regs[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d,
					    0x5b, 0xc3 };
	/* mov reg, [abs] / mov [abs], reg for ecx edx ebx (eax has its own forms) */
	static const uint8_t modrm[3] = { 0x0d, 0x15, 0x1d };
	uint32_t base;
	size_t n;

	low = mmap(NULL, LOW_STACK_TOP, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return false;
	base = (uint32_t)(uintptr_t)low;

	/* 64-bit side: save rsp; esp = low stack; call far [farptr]; restore rsp */
	n = emit(low, LOW_STUB64, push_regs, sizeof(push_regs));
	n = emit(low, n, (const uint8_t[]){ 0x48, 0x89, 0x24, 0x25 }, 4);
	n = put32(low, n, base + LOW_SAVED_RSP);
	low[n++] = 0xbc;
	n = put32(low, n, base + LOW_STACK_TOP);
	n = emit(low, n, (const uint8_t[]){ 0xff, 0x1c, 0x25 }, 3);
	n = put32(low, n, base + LOW_FARPTR);
	n = emit(low, n, (const uint8_t[]){ 0x48, 0x8b, 0x24, 0x25 }, 4);
	n = put32(low, n, base + LOW_SAVED_RSP);
	emit(low, n, pop_regs, sizeof(pop_regs));

	/*
	 * 32-bit side. DS is null in a 64-bit process: borrow SS for the data
	 * accesses (push ss; pop ds), then push [flags]; popfd; load eax..ebx.
	 */
	n = emit(low, LOW_STUB32, (const uint8_t[]){ 0x16, 0x1f }, 2);
	n = emit(low, n, (const uint8_t[]){ 0xff, 0x35 }, 2);
	n = put32(low, n, base + LOW_CTX + 16);
	low[n++] = 0x9d;
	low[n++] = 0xa1;
	n = put32(low, n, base + LOW_CTX);
	for (unsigned r = 0; r < 3; r++) {
		n = emit(low, n, (const uint8_t[]){ 0x8b, modrm[r] }, 2);
		n = put32(low, n, base + LOW_CTX + 4 + 4 * r);
	}
	low_slot = n;
	memset(low + n, 0x90, SLOT_LEN);
	n += SLOT_LEN;
	/* pushfd; pop [flags out]; store eax..ebx; push 0; pop ds; retf */
	low[n++] = 0x9c;
	n = emit(low, n, (const uint8_t[]){ 0x8f, 0x05 }, 2);
	n = put32(low, n, base + LOW_CTX + 20);
	low[n++] = 0xa3;
	n = put32(low, n, base + LOW_CTX);
	for (unsigned r = 0; r < 3; r++) {
		n = emit(low, n, (const uint8_t[]){ 0x89, modrm[r] }, 2);
		n = put32(low, n, base + LOW_CTX + 4 + 4 * r);
	}
	emit(low, n, (const uint8_t[]){ 0x6a, 0x00, 0x1f, 0xcb }, 4);

	put32(low, LOW_FARPTR, base + LOW_STUB32);
	low[LOW_FARPTR + 4] = 0x23;	/* __USER32_CS */
	low[LOW_FARPTR + 5] = 0x00;
	return true;
}

/* Run natively in compatibility mode: regs[0..3] = eax ecx edx ebx. 0 or a signal. */
static int run_compat(const uint8_t *insn, unsigned len, uint32_t regs[4], uint32_t *flags)
{
	memset(low + low_slot, 0x90, SLOT_LEN);
	memcpy(low + low_slot, insn, len);
	memcpy(low + LOW_CTX, regs, 16);
	memcpy(low + LOW_CTX + 16, flags, 4);
	native_sig = 0;
	if (sigsetjmp(native_jmp, 1))
		return native_sig;
	((void (*)(void))(void *)(low + LOW_STUB64))();
	memcpy(regs, low + LOW_CTX, 16);
	memcpy(flags, low + LOW_CTX + 20, 4);
	return 0;
}

static void test_compat32(unsigned per)
{
	static const uint8_t ops[][3] = {
		{ 1, 0x27 }, { 1, 0x2f }, { 1, 0x37 }, { 1, 0x3f },	/* daa das aaa aas */
		{ 2, 0xd4, 0 }, { 2, 0xd5, 0 },				/* aam ib, aad ib */
		{ 1, 0x40 }, { 1, 0x49 }, { 1, 0x42 }, { 1, 0x4b },	/* inc eax, dec ecx.. */
		{ 2, 0x66, 0x40 }, { 2, 0x66, 0x4a },			/* inc ax, dec dx */
	};
	struct swh *h32 = swh_new(4 << 20, SWH_PROT32);
	unsigned long before = nr_cases, bad_here = 0;
	ZydisDecoder dec;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);

	if (!h32)
		return;
	if (!build_compat_stub()) {
		printf("oracle: no memory below 4 GiB: 32-bit cases skipped\n");
		swh_free(h32);
		return;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (unsigned k = 0; k < per; k++) {
			uint8_t insn[3];
			unsigned len = ops[i][0];
			uint32_t regs[4], nregs[4], fin, fout;
			uint64_t fmask = ARITH_FLAGS;
			ZydisDecodedInstruction zi;
			int sig, ivec;
			bool bad;

			memcpy(insn, &ops[i][1], 2);
			/* AAM/AAD base: never 0 (AAM 0 is #DE, see test_sw_core) */
			if (insn[0] == 0xd4 || insn[0] == 0xd5)
				insn[1] = (uint8_t)(1 + rnd() % 255);
			for (unsigned r = 0; r < 4; r++)
				regs[r] = (uint32_t)rnd_val();
			fin = X86_RFLAGS_FIXED | (uint32_t)(rnd() & ARITH_FLAGS);
			memcpy(nregs, regs, sizeof(regs));
			fout = fin;
			sig = run_compat(insn, len, nregs, &fout);
			if (sig) {
				printf("oracle: compatibility mode not available here (signal %d): "
				       "32-bit cases skipped\n", sig);
				goto out;
			}
			swh_load_code(h32, CODE_GPA, insn, len);
			for (unsigned r = 0; r < 4; r++)
				h32->cpu.st.gpr[r == 3 ? R_BX : r] = regs[r];
			h32->cpu.st.rflags = fin;
			ivec = swh_step(h32);
			nr_cases++;
			if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, insn, len,
								       &zi)) &&
			    zi.cpu_flags && !undef_flags_modelled(zi.mnemonic))
				fmask &= ~(uint64_t)zi.cpu_flags->undefined;
			bad = ivec != SWH_OK || ((fout ^ h32->cpu.st.rflags) & fmask);

			for (unsigned r = 0; r < 4; r++)
				if ((uint32_t)h32->cpu.st.gpr[r == 3 ? R_BX : r] != nregs[r])
					bad = true;
			if (bad) {
				nr_mismatch++;
				/* A few of these, however many the 64-bit cases had. */
				if (++bad_here <= 20)
					printf("MISMATCH 32-bit %02x %02x: eax=%08x flags_in=%03x "
					       "native eax=%08x flags=%03x | interp vec %d "
					       "eax=%08x flags=%03x\n", insn[0],
					       len > 1 ? insn[1] : 0, regs[0], fin, nregs[0],
					       fout & 0xfff, ivec,
					       (uint32_t)h32->cpu.st.gpr[R_AX],
					       (unsigned)(h32->cpu.st.rflags & 0xfff));
			}
		}
	}
out:
	printf("oracle: %lu cases in compatibility mode\n", nr_cases - before);
	swh_free(h32);
}

/* The host's CPUID vendor string (the model the interpreter sees has the same). */
static void host_vendor(char v[13])
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = 0;
}

int main(int argc, char **argv)
{
	unsigned per = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	struct sigaction sa;
	struct timespec t0, t1;
	const char *lax_env = getenv("TANDEM_ORACLE_LAX");
	char vendor[13];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	host_vendor(vendor);
	host_intel = !strcmp(vendor, "GenuineIntel");
	host_amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
	lax = lax_env && *lax_env && *lax_env != '0';
	build_stub();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	h = swh_new(4 << 20, SWH_LONG64);
	if (!h) {
		printf("cannot create the harness VM\n");
		return 1;
	}
	test_conditions();
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct spec *s = &specs[i];

		if (getenv("ORACLE_TRACE"))
			fprintf(stderr, "spec %zu %s form %d\n", i, ZydisMnemonicGetString(s->mn),
				s->form);

		for (unsigned size = 1; size <= 8; size <<= 1) {
			if (!(s->sizes & (1u << size)))
				continue;
			for (unsigned k = 0; k < per; k++) {
				uint8_t insn[SLOT_LEN];
				ZyanUSize len;
				int tries = 0;

				while (!encode(s, size, insn, &len))
					if (++tries > 50)
						break;
				if (tries > 50) {
					printf("cannot encode %s size %u form %d\n",
					       ZydisMnemonicGetString(s->mn), size, s->form);
					nr_mismatch++;
					break;
				}
				run_case(insn, (unsigned)len);
			}
		}
	}
	swh_free(h);
	test_compat32(per);
	{
		struct oracle_counts v = { 0 };

		/* The x86-64-v2 extensions, each counted apart (oracle_simd.c). */
		oracle_simd(per, !lax && host_intel, &v);
		/* BMI, ADX, MOVBE, RDRAND/RDSEED, AES, PCLMULQDQ, SHA (oracle_bitops.c). */
		oracle_bitops(per, !lax && host_intel, &v);
		oracle_avx_fp(per, &v);
		/* The integer AVX and AVX2 instructions (oracle_avx_int.c). */
		oracle_avx_int(per, &v);
		nr_cases += v.cases;
		nr_mismatch += v.mismatches;
		nr_faults += v.faults;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("oracle: %lu cases, %lu mismatches (%lu faulted on both sides; undefined flags %s; "
	       "%.1f s)\n", nr_cases, nr_mismatch, nr_faults,
	       lax ? "masked" : host_intel ? "compared" :
	       host_amd ? "compared where modelled for AMD" : "masked",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("oracle: %lu undefined-result cases %s (16-bit SHLD/SHRD shifted past the "
	       "source)\n", nr_undef_result, lax ? "not compared" : "compared");
	if (nr_undef_mismatch)
		printf("oracle: %lu mismatches are only in flags the SDM leaves undefined: the "
		       "interpreter models the %s cores it was tuned on; TANDEM_ORACLE_LAX=1 "
		       "masks them on other microarchitectures\n", nr_undef_mismatch,
		       host_amd ? "AMD" : "Intel");
	return nr_mismatch ? 1 : 0;
}
