// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The binary translator against the interpreter: a differential test.
 *
 * Each case is a random sequence of integer instructions (8-40 of them,
 * encoded with the Zydis encoder, plus some random raw bytes) followed by
 * HLT, run from the same registers, flags and memory on two harness VMs:
 * once through the translator (tb_exec() where it takes the code, the
 * interpreter for what it leaves, as sw_run() does) and once on the
 * interpreter alone (sw_step() only). The interpreter is the reference of
 * every instruction's semantics, so whatever differs is a translator bug:
 * the GPRs, RIP, RFLAGS (less the arithmetic flags the SDM leaves
 * undefined on the path the interpreter took), segment and control
 * registers, the data area the memory operands point into, the code pages
 * (the sequence may patch itself), the page table's A/D bits, and how each
 * run ended: HLT, or the fault with its vector, error code, CR2 and the
 * state at the fault. Cases that cannot write outside the compared areas
 * run a second time on the translator, on warm blocks, chains, jump
 * caches and inline TLB.
 *
 * Memory operands point into a scratch data area through "pointer"
 * registers that no generated instruction writes (rsp among them, and
 * often r14/r15, which the translator keeps in memory rather than in
 * host registers), "far" pointers whose displacement wraps the address
 * around, RIP-relative and absolute displacements, small index
 * registers, FS/GS overrides with nonzero bases, 32-bit addressing in
 * 64-bit code; now and then a "wild" base register with a random value,
 * so that faults are compared too. Control flow: forward Jcc/JMP skips,
 * CALL/RET pairs, indirect calls and jumps through registers and memory,
 * short counted loops (chains, back edges), and stores into instructions
 * ahead (self-modifying code, in the block or in one it chains to). A
 * kick asking translated code to leave comes from a 1 ms CPU-time timer
 * and, now and then, is already pending when tb_exec() is called.
 *
 * Flags an instruction leaves undefined are tracked along the way; the
 * generator never emits an instruction that reads one (its result would be
 * undefined too), and the interpreter's run re-derives them per executed
 * instruction, so only what the SDM defines is compared.
 *
 * Modes: 64-bit (CPL 0 and 3) and 32-bit flat protected mode (CPL 0 and
 * 3; a fifth of those in compatibility mode), with the harness's 2 MiB
 * pages (long mode), no paging (32-bit), or 4 KiB pages with random
 * permissions and CR0.WP.
 *
 * Reproducible: a fixed seed unless TANDEM_TB_DIFF_SEED is set;
 * TANDEM_TB_DIFF_CASES sets the number of cases, TANDEM_TB_DIFF_VERBOSE=1
 * prints more, TANDEM_TB_DIFF_ALL=1 counts the cases known bugs explain
 * too. Plain C (no CUnit). Prints "tb-diff: N cases, M mismatches (K
 * faulted on both)" and exits 1 on any mismatch (each one disassembled,
 * minimized, and as a known_bugs[] entry), or while a bug of the
 * known_bugs[] list still reproduces.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "accel/sw/translator/tb.h"
#include "tests/unit/sw_harness.h"

#define RAM_SIZE	(4u << 20)
#define CODE_GPA	0x10000ull	/* three pages of HLT with the sequence in them */
#define CODE_SIZE	0x3000u
#define DATA_GPA	0x20000ull	/* what memory operands reach */
#define DATA_SIZE	0x10000u
#define PTR_LO		(DATA_GPA + 0x2000)	/* pointer registers: PTR_LO + [0, PTR_SPAN) */
#define PTR_SPAN	0x8000u
#define STACK_TOP	(DATA_GPA + 0xd000)	/* above everything a pointer but rsp reaches */
#define SEG_BASE_MAX	0x1000u		/* FS/GS bases */
#define PT4K_GPA	0x5000ull	/* 64-bit, 4 KiB pages: the page table of 0..2 MiB */
#define PD32_GPA	0x6000ull	/* 32-bit paging: the page directory */
#define PT32_GPA	0x7000ull	/* ... and the page table of 0..4 MiB */
#define NDATA_PAGES	(DATA_SIZE / 4096)
#define MAX_CODE	1400		/* bytes of one sequence */
#define RUN_LIMIT	4000		/* interpreter steps, or loop turns, per run */
#define KICK_LIMIT	3000		/* 1 ms kicks before a translated run counts as a hang */
#define ALARM_SECONDS	600

#define OSZAPC		(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF | X86_RFLAGS_CF)

/* ---- random numbers ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, and the same sequence on every host. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static bool chance(unsigned percent)
{
	return rn(100) < percent;
}

/* ---- a case: everything needed to run it again ---- */

struct tcase {
	const char *name;		/* known bugs only */
	bool m64;
	bool compat;			/* 32-bit code in long mode (compatibility mode) */
	unsigned cpl;
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint64_t code_addr;		/* linear = physical */
	uint64_t data_seed;		/* the data area's bytes */
	/*
	 * Run it a second time on the translator, on warm blocks, chains and
	 * jump caches: only where nothing can write outside the compared
	 * areas (such writes would happen twice).
	 */
	bool warm;
	/*
	 * 4 KiB pages (64-bit: instead of the harness's 2 MiB ones; 32-bit:
	 * paging on), each data page with the PTE flags in pte[] (P RW US A
	 * D), and CR0.WP.
	 */
	bool paging, wp;
	uint8_t pte[NDATA_PAGES];
	/* CR4.OSFXSR (SSE code then runs, natively where the translator can), CR0.TS. */
	bool sse, ts;
	unsigned len;
	uint8_t code[MAX_CODE + 16];
};

/* ---- the generator ---- */

enum {
	U_BODY = 1,			/* in a skipped or called body: no control flow, stack, raw */
};

struct gen {
	struct tcase *c;
	bool m64;
	unsigned nregs;
	unsigned ninsn;
	uint32_t undef;			/* OSZAPC undefined here (on some path) */
	uint16_t prot;			/* GPRs no instruction may write: rsp and the pointers */
	uint8_t base[4], nbase;		/* pointer registers (rsp is one) */
	uint8_t idx[2], nidx;		/* small index registers */
	uint64_t rip_target;		/* of the memory operand being encoded, if RIP-relative */
	/*
	 * In a called body: the return address is on the stack, so no store
	 * may reach it (no rsp base, no wild pointer).
	 */
	bool in_call;
	bool stray;			/* something may write outside the data area */
	/*
	 * A "far" base: its value is a data-area address minus far_disp, so
	 * [far + far_disp + small] wraps around (2^64, or 2^32 in 32-bit
	 * code and with 0x67) into the data area. -1: none.
	 */
	int far;
	int64_t far_disp;
	bool sse;			/* CR4.OSFXSR set for this case: SSE units */
	ZydisDecoder dec;
};

struct mark {
	unsigned len, ninsn;
	uint32_t undef;
};

static struct mark mark(const struct gen *g)
{
	return (struct mark){ g->c->len, g->ninsn, g->undef };
}

static void rollback(struct gen *g, const struct mark *m)
{
	g->c->len = m->len;
	g->ninsn = m->ninsn;
	g->undef = m->undef;
}

static bool is_shift(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		return true;
	default:
		return false;
	}
}

/*
 * Flags an instruction reads must be defined; what it leaves undefined
 * is undefined after it. A shift or rotate may leave the flags alone
 * (count 0), so it never makes an undefined flag defined.
 */
static bool flags_step(uint32_t *undef, const ZydisDecodedInstruction *zi)
{
	const ZydisAccessedFlags *f = zi->cpu_flags;
	uint32_t written;

	if (!f)
		return true;
	if (f->tested & *undef & OSZAPC)
		return false;
	written = is_shift(zi->mnemonic) ? 0 : (f->modified | f->set_0 | f->set_1);
	*undef = ((*undef & ~written) | f->undefined) & OSZAPC;
	return true;
}

/* Append one instruction's bytes (they must decode to exactly @n bytes). */
static bool put(struct gen *g, const uint8_t *b, unsigned n)
{
	ZydisDecodedInstruction zi;
	struct tcase *c = g->c;

	if (c->len + n > MAX_CODE)
		return false;
	if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&g->dec, NULL, b, n, &zi)) ||
	    zi.length != n)
		return false;
	if (!flags_step(&g->undef, &zi))
		return false;
	memcpy(c->code + c->len, b, n);
	c->len += n;
	g->ninsn++;
	return true;
}

static bool put1(struct gen *g, uint8_t b0)
{
	return put(g, &b0, 1);
}

static uint64_t here(const struct gen *g)
{
	return g->c->code_addr + g->c->len;
}

static bool put_req(struct gen *g, ZydisEncoderRequest *q)
{
	uint8_t b[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize n = sizeof(b), n2 = sizeof(b);
	ZydisEncoderOperand *rip = NULL;

	q->machine_mode = g->m64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32;
	for (unsigned i = 0; i < q->operand_count; i++)
		if (q->operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (q->operands[i].mem.base == ZYDIS_REGISTER_RIP ||
		     q->operands[i].mem.base == ZYDIS_REGISTER_EIP))
			rip = &q->operands[i];
	if (rip)
		rip->mem.displacement = 0;
	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(q, b, &n)))
		return false;
	if (rip) {
		/* RIP-relative: disp32 always, so the length does not depend on it. */
		rip->mem.displacement = (int64_t)(g->rip_target - (here(g) + n));
		if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(q, b, &n2)) || n2 != n)
			return false;
	}
	return put(g, b, (unsigned)n);
}

static void req_init(ZydisEncoderRequest *q, ZydisMnemonic mn)
{
	memset(q, 0, sizeof(*q));
	q->mnemonic = mn;
}

/* Register @r (0-15) in @size bytes; @high8: AH..BH (r < 4). */
static ZydisRegister zreg(unsigned r, unsigned size, bool high8)
{
	switch (size) {
	case 1:
		if (high8)
			return (ZydisRegister)(ZYDIS_REGISTER_AH + r);
		if (r < 4)
			return (ZydisRegister)(ZYDIS_REGISTER_AL + r);
		if (r < 8)
			return (ZydisRegister)(ZYDIS_REGISTER_SPL + r - 4);
		return (ZydisRegister)(ZYDIS_REGISTER_R8B + r - 8);
	case 2:
		return (ZydisRegister)(ZYDIS_REGISTER_AX + r);
	case 4:
		return (ZydisRegister)(ZYDIS_REGISTER_EAX + r);
	default:
		return (ZydisRegister)(ZYDIS_REGISTER_RAX + r);
	}
}

static bool writable(const struct gen *g, unsigned r)
{
	return !(g->prot & (1u << r));
}

/* A register to write (@w) or read, as a Zydis register of @size bytes; NONE if none fits. */
static ZydisRegister pick_reg(struct gen *g, unsigned size, bool w)
{
	for (unsigned tries = 0; tries < 32; tries++) {
		unsigned r = rn(g->nregs);
		bool high8 = false;

		if (size == 1) {
			/* 32-bit code has no SPL..DIL: byte registers 4-7 are AH..BH. */
			if (chance(25) || (!g->m64 && r >= 4)) {
				r &= 3;
				high8 = true;
			}
		}
		if (w && !writable(g, r))
			continue;
		return zreg(r, size, high8);
	}
	return ZYDIS_REGISTER_NONE;
}

static unsigned pick_size(const struct gen *g)
{
	unsigned r = rn(100);

	if (g->m64)
		return r < 20 ? 1 : r < 35 ? 2 : r < 70 ? 4 : 8;
	return r < 25 ? 1 : r < 45 ? 2 : 4;
}

static unsigned pick_size_wide(const struct gen *g)
{
	unsigned s;

	while ((s = pick_size(g)) == 1)
		;
	return s;
}

static uint64_t gen_imm(unsigned size)
{
	uint64_t r = rnd();

	if (r & 1)
		return (uint64_t)(int64_t)(int8_t)(r >> 8);
	if (size == 1)
		return (r >> 8) & 0xff;
	if (size == 2)
		return (r >> 8) & 0xffff;
	return (uint64_t)(int64_t)(int32_t)(r >> 8);
}

struct memop {
	ZydisRegister base, index;
	uint8_t scale;
	int64_t disp;
	uint64_t rip_target;
	ZydisInstructionAttributes seg;
};

static int64_t gen_disp(void)
{
	unsigned r = rn(100);

	if (r < 30)
		return 0;
	if (r < 70)
		return (int64_t)rn(256) - 128;
	return (int64_t)rn(0x2000) - 0x1000;
}

/*
 * A memory operand into the data area (or, unless @safe, now and then
 * anywhere: a base register with a random value).
 */
static void gen_mem(struct gen *g, struct memop *m, bool safe)
{
	unsigned r = rn(100);
	bool a32 = false;

	memset(m, 0, sizeof(*m));
	if (g->in_call) {
		safe = true;
		if (r >= 32 && g->nbase < 2)
			r = 25;
	}
	if (!safe && rn(1000) < 15) {
		g->stray = true;
		m->base = zreg(rn(g->nregs), g->m64 ? 8 : 4, false);
		m->disp = gen_disp();
	} else if (g->m64 && r < 22) {
		m->base = chance(5) ? ZYDIS_REGISTER_EIP : ZYDIS_REGISTER_RIP;
		m->rip_target = PTR_LO + rn(PTR_SPAN);
	} else if (r < 32) {
		/* Absolute, or index only. */
		m->disp = (int64_t)(PTR_LO + rn(PTR_SPAN));
		if (g->nidx && chance(40)) {
			m->index = zreg(g->idx[rn(g->nidx)], g->m64 ? 8 : 4, false);
			m->scale = (uint8_t)(1u << rn(4));
		}
	} else {
		unsigned b = g->in_call ? 1 + rn(g->nbase - 1u) : rn(g->nbase);

		a32 = g->m64 && chance(8);
		m->base = zreg(g->base[b], g->m64 && !a32 ? 8 : 4, false);
		m->disp = gen_disp();
		if (g->base[b] == g->far)
			m->disp = (int64_t)(int32_t)(uint32_t)(g->far_disp + m->disp);
		if (g->nidx && chance(40)) {
			m->index = zreg(g->idx[rn(g->nidx)], g->m64 && !a32 ? 8 : 4, false);
			m->scale = (uint8_t)(1u << rn(4));
		}
	}
	r = rn(100);
	if (r < 12)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_FS;
	else if (r < 24)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_GS;
	else if (r < 27)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_DS;
	else if (r < 29)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_ES;
	else if (r < 31)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_SS;
	else if (r < 32)
		m->seg = ZYDIS_ATTRIB_HAS_SEGMENT_CS;	/* a write through it is #GP in 32-bit code */
}

static void o_reg(ZydisEncoderRequest *q, ZydisRegister r)
{
	ZydisEncoderOperand *o = &q->operands[q->operand_count++];

	o->type = ZYDIS_OPERAND_TYPE_REGISTER;
	o->reg.value = r;
}

static void o_imm(ZydisEncoderRequest *q, uint64_t v)
{
	ZydisEncoderOperand *o = &q->operands[q->operand_count++];

	o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	o->imm.u = v;
}

static void o_mem(struct gen *g, ZydisEncoderRequest *q, const struct memop *m, unsigned size)
{
	ZydisEncoderOperand *o = &q->operands[q->operand_count++];

	o->type = ZYDIS_OPERAND_TYPE_MEMORY;
	o->mem.base = m->base;
	o->mem.index = m->index;
	o->mem.scale = m->index ? m->scale : 0;
	o->mem.displacement = m->disp;
	o->mem.size = (ZyanU16)size;
	q->prefixes |= m->seg;
	g->rip_target = m->rip_target;
}

/* mov r32, imm32 (B8+r): the offset of the imm32 in the code, or -1. */
static int put_mov_imm32(struct gen *g, unsigned r, uint32_t imm)
{
	uint8_t b[6];
	unsigned n = 0;
	int at;

	if (r >= 8)
		b[n++] = 0x41;
	b[n++] = (uint8_t)(0xb8 + (r & 7));
	at = (int)(g->c->len + n);
	memcpy(b + n, &imm, 4);
	n += 4;
	return put(g, b, n) ? at : -1;
}

static void patch32(struct gen *g, int at, uint32_t v)
{
	memcpy(g->c->code + at, &v, 4);
}

static bool gen_unit(struct gen *g, unsigned flags);

/* ---- instruction families ---- */

static const ZydisMnemonic alu_mn[] = {
	ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
	ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP,
	ZYDIS_MNEMONIC_TEST,
};

/* Two-operand forms: r,r  r,imm  r,m  m,r  m,imm. */
static bool gen_binop(struct gen *g, ZydisMnemonic mn, unsigned size, bool dst_w, bool lockable,
		      bool imm_ok)
{
	ZydisEncoderRequest q;
	struct memop m;
	unsigned form = rn(5);

	req_init(&q, mn);
	if (!imm_ok && (form == 1 || form == 4))
		form = 0;
	switch (form) {
	case 0:
		o_reg(&q, pick_reg(g, size, dst_w));
		o_reg(&q, pick_reg(g, size, false));
		break;
	case 1:
		o_reg(&q, pick_reg(g, size, dst_w));
		o_imm(&q, gen_imm(size));
		break;
	case 2:
		o_reg(&q, pick_reg(g, size, dst_w));
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		break;
	case 3:
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		o_reg(&q, pick_reg(g, size, false));
		break;
	default:
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		o_imm(&q, gen_imm(size));
		break;
	}
	if (q.operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    q.operands[0].reg.value == ZYDIS_REGISTER_NONE)
		return false;
	if (lockable && q.operands[0].type == ZYDIS_OPERAND_TYPE_MEMORY && chance(30))
		q.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	return put_req(g, &q);
}

static bool gen_alu(struct gen *g, unsigned flags)
{
	ZydisMnemonic mn = alu_mn[rn(sizeof(alu_mn) / sizeof(alu_mn[0]))];
	bool w = mn != ZYDIS_MNEMONIC_CMP && mn != ZYDIS_MNEMONIC_TEST;

	return gen_binop(g, mn, pick_size(g), w, w, true);
}

static bool gen_unary(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC,
					     ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_NOT };
	ZydisEncoderRequest q;
	unsigned size = pick_size(g);
	struct memop m;

	req_init(&q, mns[rn(4)]);
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, true));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		if (chance(30))
			q.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	}
	return put_req(g, &q);
}

static bool gen_mov(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned size = pick_size(g);

	if (g->m64 && size == 8 && chance(15)) {
		req_init(&q, ZYDIS_MNEMONIC_MOV);
		o_reg(&q, pick_reg(g, 8, true));
		o_imm(&q, rnd());
		return put_req(g, &q);
	}
	return gen_binop(g, ZYDIS_MNEMONIC_MOV, size, true, false, true);
}

static const uint8_t cl_counts[] = {
	0, 0, 1, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255,
};

/* mov cl, n: a chosen shift count. */
static bool put_cl(struct gen *g, unsigned max)
{
	uint8_t n = cl_counts[rn(sizeof(cl_counts))];
	uint8_t b[2] = { 0xb1, 0 };

	if (!writable(g, R_CX))
		return false;
	if (n > max)
		n = (uint8_t)rn(max + 1);
	b[1] = n;
	return put(g, b, 2);
}

static bool gen_shift(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic mns[] = {
		ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR,
		ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR,
		ZYDIS_MNEMONIC_SHLD, ZYDIS_MNEMONIC_SHRD,
	};
	ZydisMnemonic mn = mns[rn(sizeof(mns) / sizeof(mns[0]))];
	bool dbl = mn == ZYDIS_MNEMONIC_SHLD || mn == ZYDIS_MNEMONIC_SHRD;
	unsigned size = dbl ? pick_size_wide(g) : pick_size(g), count = rn(3);
	/* A 16-bit SHLD/SHRD past 16 has an undefined result: stay at or below. */
	unsigned max = dbl && size == 2 ? 16 : 255;
	ZydisEncoderRequest q;
	struct memop m;

	if (count == 2 && (chance(70) || max < 255) && !put_cl(g, max))
		return false;
	req_init(&q, mn);
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, true));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
	}
	if (dbl)
		o_reg(&q, pick_reg(g, size, false));
	if (count == 0 && !dbl)
		o_imm(&q, 1);
	else if (count == 2)
		o_reg(&q, ZYDIS_REGISTER_CL);
	else
		o_imm(&q, chance(70) ? rn(max < 255 ? max + 1 : size * 8 + 2) : rn(256) % (max + 1));
	return put_req(g, &q);
}

static bool gen_mul(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	struct memop m;
	unsigned size, form = rn(3);

	if (form == 0) {
		if (!writable(g, R_AX) || !writable(g, R_DX))
			return false;
		size = pick_size(g);
		req_init(&q, chance(50) ? ZYDIS_MNEMONIC_MUL : ZYDIS_MNEMONIC_IMUL);
		if (chance(50)) {
			o_reg(&q, pick_reg(g, size, false));
		} else {
			gen_mem(g, &m, false);
			o_mem(g, &q, &m, size);
		}
		return put_req(g, &q);
	}
	size = pick_size_wide(g);
	req_init(&q, ZYDIS_MNEMONIC_IMUL);
	o_reg(&q, pick_reg(g, size, true));
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, false));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
	}
	if (form == 2)
		o_imm(&q, gen_imm(size));
	return put_req(g, &q);
}

static bool gen_div(struct gen *g, unsigned flags)
{
	bool sgn = chance(50);
	unsigned size = pick_size(g);
	ZydisEncoderRequest q;
	struct memop m;

	if (!writable(g, R_AX) || !writable(g, R_DX))
		return false;
	if (chance(85)) {
		/* Make the dividend small enough for most divisors. */
		if (size == 1) {
			if (!put(g, (const uint8_t[]){ 0x0f, 0xb6, 0xc0 }, 3))	/* movzx eax, al */
				return false;
		} else if (!sgn) {
			if (!put(g, (const uint8_t[]){ 0x31, 0xd2 }, 2))	/* xor edx, edx */
				return false;
		} else {
			req_init(&q, size == 2 ? ZYDIS_MNEMONIC_CWD : size == 4 ? ZYDIS_MNEMONIC_CDQ :
				 ZYDIS_MNEMONIC_CQO);
			if (!put_req(g, &q))
				return false;
		}
	}
	req_init(&q, sgn ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV);
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, false));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
	}
	return put_req(g, &q);
}

static const ZydisMnemonic setcc_mn[16] = {
	ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
	ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
	ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
	ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
};

static const ZydisMnemonic cmov_mn[16] = {
	ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
	ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE,
	ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS,
	ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP, ZYDIS_MNEMONIC_CMOVL,
	ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
};

static bool gen_setcc(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	struct memop m;

	req_init(&q, setcc_mn[rn(16)]);
	if (chance(60)) {
		o_reg(&q, pick_reg(g, 1, true));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, 1);
	}
	return put_req(g, &q);
}

static bool gen_cmov(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned size = pick_size_wide(g);
	struct memop m;

	req_init(&q, cmov_mn[rn(16)]);
	o_reg(&q, pick_reg(g, size, true));
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, false));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
	}
	return put_req(g, &q);
}

/* Jcc or JMP forward over a few units: both paths' undefined flags join after. */
static bool gen_skip(struct gen *g, unsigned flags)
{
	bool uncond = chance(20), rel32 = chance(25);
	unsigned cc = rn(16), at, n = rn(5);
	uint8_t b[6];
	unsigned bl;
	uint32_t undef_at;
	int64_t rel;

	if (uncond) {
		b[0] = rel32 ? 0xe9 : 0xeb;
		bl = rel32 ? 5 : 2;
	} else if (rel32) {
		b[0] = 0x0f;
		b[1] = (uint8_t)(0x80 + cc);
		bl = 6;
	} else {
		b[0] = (uint8_t)(0x70 + cc);
		bl = 2;
	}
	memset(b + (bl == 6 ? 2 : 1), 0, bl - (bl == 6 ? 2 : 1));
	at = g->c->len;
	if (!put(g, b, bl))
		return false;
	undef_at = g->undef;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	rel = (int64_t)(g->c->len - (at + bl));
	if (!rel32 && rel > 127)
		return false;
	if (rel32)
		patch32(g, (int)(at + bl - 4), (uint32_t)rel);
	else
		g->c->code[at + 1] = (uint8_t)rel;
	if (!uncond)
		g->undef |= undef_at;
	else
		g->undef = undef_at;
	return true;
}

static bool gen_push_pop(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned size = g->m64 ? 8 : 4, r = rn(100);
	struct memop m;

	if (chance(12))
		size = 2;
	if (r < 55) {
		req_init(&q, ZYDIS_MNEMONIC_PUSH);
		r = rn(100);
		if (r < 60) {
			o_reg(&q, zreg(rn(g->nregs), size, false));
		} else if (r < 80) {
			o_imm(&q, gen_imm(size == 2 ? 2 : 4));
			q.operand_size_hint = size == 2 ? ZYDIS_OPERAND_SIZE_HINT_16 :
				size == 4 ? ZYDIS_OPERAND_SIZE_HINT_32 : ZYDIS_OPERAND_SIZE_HINT_64;
		} else {
			gen_mem(g, &m, false);
			o_mem(g, &q, &m, size);
		}
	} else {
		req_init(&q, ZYDIS_MNEMONIC_POP);
		if (chance(75)) {
			o_reg(&q, pick_reg(g, size, true));
		} else {
			/* Its address is computed with rsp already incremented. */
			gen_mem(g, &m, false);
			o_mem(g, &q, &m, size);
		}
	}
	if (q.operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    q.operands[0].reg.value == ZYDIS_REGISTER_NONE)
		return false;
	return put_req(g, &q);
}

static bool gen_stack_adj(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned n = 8 * (1 + rn(4)), sp = g->m64 ? 8 : 4;
	struct memop m = { .base = zreg(R_SP, sp, false) };

	if (chance(50)) {
		req_init(&q, chance(50) ? ZYDIS_MNEMONIC_ADD : ZYDIS_MNEMONIC_SUB);
		o_reg(&q, zreg(R_SP, sp, false));
		o_imm(&q, n);
	} else {
		req_init(&q, ZYDIS_MNEMONIC_LEA);
		o_reg(&q, zreg(R_SP, sp, false));
		m.disp = chance(50) ? -(int64_t)n : (int64_t)n;
		o_mem(g, &q, &m, sp);	/* the encoder wants an LEA operand its size */
	}
	return put_req(g, &q);
}

/*
 * rsp as a register operand, which the translator keeps in memory:
 * swapped out and back, copied out and back, or moved through lea.
 */
static bool gen_rsp_pair(struct gen *g, unsigned flags)
{
	unsigned r = rn(g->nregs), sp = g->m64 ? 8 : 4, k = rn(3);
	ZydisRegister rs = zreg(R_SP, sp, false), rr = zreg(r, sp, false);
	ZydisEncoderRequest q;
	struct memop m = { .base = rs };

	if (!writable(g, r))
		return false;
	req_init(&q, k == 2 ? ZYDIS_MNEMONIC_LEA : k ? ZYDIS_MNEMONIC_MOV : ZYDIS_MNEMONIC_XCHG);
	o_reg(&q, k ? rr : rs);
	if (k == 2) {
		m.disp = 8 * (int)rn(5);
		o_mem(g, &q, &m, sp);
	} else {
		o_reg(&q, k ? rs : rr);
	}
	if (!put_req(g, &q))
		return false;
	req_init(&q, k == 2 ? ZYDIS_MNEMONIC_LEA : k ? ZYDIS_MNEMONIC_MOV : ZYDIS_MNEMONIC_XCHG);
	o_reg(&q, k ? rs : rr);
	if (k == 2) {
		m.base = rr;
		m.disp = -m.disp;
		o_mem(g, &q, &m, sp);
	} else {
		o_reg(&q, k ? rr : rs);
	}
	return put_req(g, &q);
}

static bool gen_lea(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned size = pick_size_wide(g);
	struct memop m;

	req_init(&q, ZYDIS_MNEMONIC_LEA);
	o_reg(&q, pick_reg(g, size, true));
	gen_mem(g, &m, false);
	m.seg = 0;
	o_mem(g, &q, &m, size);
	return put_req(g, &q);
}

static bool gen_xchg(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_XCHG, ZYDIS_MNEMONIC_CMPXCHG,
					     ZYDIS_MNEMONIC_XADD };
	ZydisMnemonic mn = mns[rn(3)];
	unsigned size = pick_size(g);
	ZydisEncoderRequest q;
	struct memop m;

	if (mn == ZYDIS_MNEMONIC_CMPXCHG && !writable(g, R_AX))
		return false;
	if (chance(10)) {
		/* CMPXCHG8B/16B: edx:eax against memory (16B: #GP unless aligned). */
		bool wide = g->m64 && chance(20);

		if (!writable(g, R_AX) || !writable(g, R_DX))
			return false;
		req_init(&q, wide ? ZYDIS_MNEMONIC_CMPXCHG16B : ZYDIS_MNEMONIC_CMPXCHG8B);
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, wide ? 16 : 8);
		if (chance(50))
			q.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
		return put_req(g, &q);
	}
	req_init(&q, mn);
	if (chance(40)) {
		o_reg(&q, pick_reg(g, size, true));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		if (chance(50))
			q.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	}
	/* XCHG and XADD write their source too; CMPXCHG only reads it. */
	o_reg(&q, pick_reg(g, size, mn != ZYDIS_MNEMONIC_CMPXCHG));
	if (q.operands[0].reg.value == ZYDIS_REGISTER_NONE &&
	    q.operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER)
		return false;
	if (q.operands[1].reg.value == ZYDIS_REGISTER_NONE)
		return false;
	return put_req(g, &q);
}

static bool gen_bt(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS,
					     ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC };
	ZydisMnemonic mn = mns[rn(4)];
	bool w = mn != ZYDIS_MNEMONIC_BT;
	unsigned size = pick_size_wide(g);
	ZydisEncoderRequest q;
	struct memop m;

	req_init(&q, mn);
	if (chance(45)) {
		o_reg(&q, pick_reg(g, size, w));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
		if (w && chance(30))
			q.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	}
	if (chance(50)) {
		o_imm(&q, rn(256));
	} else if (q.operands[0].type == ZYDIS_OPERAND_TYPE_MEMORY && g->nidx &&
		   (chance(80) || g->in_call)) {
		/* A register bit offset reaches beyond the operand: keep it small. */
		o_reg(&q, zreg(g->idx[rn(g->nidx)], size, false));
	} else if (q.operands[0].type == ZYDIS_OPERAND_TYPE_MEMORY && g->in_call) {
		o_imm(&q, rn(256));
	} else {
		o_reg(&q, pick_reg(g, size, false));
		g->stray |= q.operands[0].type == ZYDIS_OPERAND_TYPE_MEMORY;
	}
	if (q.operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    q.operands[0].reg.value == ZYDIS_REGISTER_NONE)
		return false;
	return put_req(g, &q);
}

static bool gen_bitscan(struct gen *g, unsigned flags)
{
	/* No POPCNT: #UD on the CPU model, which ends a case early. */
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_BSF, ZYDIS_MNEMONIC_BSR,
					     ZYDIS_MNEMONIC_BSWAP, ZYDIS_MNEMONIC_LZCNT,
					     ZYDIS_MNEMONIC_TZCNT };
	ZydisMnemonic mn = mns[rn(5)];
	ZydisEncoderRequest q;
	unsigned size;
	struct memop m;

	req_init(&q, mn);
	if (mn == ZYDIS_MNEMONIC_BSWAP) {
		/* 16-bit BSWAP is undefined. */
		size = g->m64 && chance(50) ? 8 : 4;
		o_reg(&q, pick_reg(g, size, true));
		return put_req(g, &q);
	}
	size = pick_size_wide(g);
	o_reg(&q, pick_reg(g, size, true));
	if (chance(50)) {
		o_reg(&q, pick_reg(g, size, false));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, size);
	}
	return put_req(g, &q);
}

static bool gen_movx(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	unsigned dsize = pick_size_wide(g), ssize;
	struct memop m;
	ZydisMnemonic mn = chance(50) ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOVSX;

	if (g->m64 && chance(15)) {
		mn = ZYDIS_MNEMONIC_MOVSXD;
		dsize = 8;
		ssize = 4;
	} else {
		ssize = dsize == 2 || chance(50) ? 1 : 2;
	}
	req_init(&q, mn);
	o_reg(&q, pick_reg(g, dsize, true));
	if (chance(50)) {
		o_reg(&q, pick_reg(g, ssize, false));
	} else {
		gen_mem(g, &m, false);
		o_mem(g, &q, &m, ssize);
	}
	return put_req(g, &q);
}

static bool gen_convert(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_CBW, ZYDIS_MNEMONIC_CWDE,
					     ZYDIS_MNEMONIC_CWD, ZYDIS_MNEMONIC_CDQ,
					     ZYDIS_MNEMONIC_CDQE, ZYDIS_MNEMONIC_CQO };
	ZydisEncoderRequest q;

	if (!writable(g, R_AX) || !writable(g, R_DX))
		return false;
	req_init(&q, mns[rn(g->m64 ? 6 : 4)]);
	return put_req(g, &q);
}

static bool gen_flagop(struct gen *g, unsigned flags)
{
	static const uint8_t ops[] = { 0xf8, 0xf9, 0xf5, 0x9f, 0x9e, 0xfc, 0xfd, 0x90 };
	unsigned r = rn(10);

	if (r == 3 && !writable(g, R_AX))
		return false;		/* lahf */
	if (r < 8)
		return put1(g, ops[r]);
	if (flags & U_BODY)
		return false;
	/* pushf; pop r: the whole of RFLAGS in a register (it reads every flag). */
	{
		unsigned reg = rn(g->nregs);
		uint8_t b[2] = { 0x41, (uint8_t)(0x58 + (reg & 7)) };

		if (!writable(g, reg) || !put1(g, 0x9c))
			return false;
		return reg >= 8 ? put(g, b, 2) : put1(g, b[1]);
	}
}

/*
 * push imm; popf: RFLAGS from a constant (no flag is read): the
 * arithmetic ones, DF, and IF, IOPL, NT, AC, ID (what POPF may change
 * depends on CPL and IOPL; TF is left out).
 */
static bool gen_popf(struct gen *g, unsigned flags)
{
	uint32_t v = 0x2 | ((uint32_t)rnd() & (0xcd5 | 0x200 | 0x3000 | 0x4000 | 0x40000 | 0x200000));
	uint8_t b[6] = { 0x68 };

	if (flags & U_BODY)
		return false;
	if (chance(15)) {
		/* 16-bit: pushw imm16; popfw */
		uint8_t w[4] = { 0x66, 0x68, (uint8_t)v, (uint8_t)(v >> 8) };

		return put(g, w, 4) && put(g, (const uint8_t[]){ 0x66, 0x9d }, 2);
	}
	memcpy(b + 1, &v, 4);
	return put(g, b, 5) && put1(g, 0x9d);
}

/*
 * What the translator runs in the block besides plain integer code: CLI,
 * STI, SWAPGS, port I/O (nothing is on the bus), control register and
 * selector reads, SMSW/STR/SLDT. At CPL 3 most of them are #GP.
 */
static bool gen_sys(struct gen *g, unsigned flags)
{
	static const unsigned crs[] = { 0, 2, 3, 4, 8 };
	unsigned r = rn(g->nregs), k = rn(9);
	uint8_t b[4], n = 0;

	if (!writable(g, r))
		return false;
	switch (k) {
	case 0:
		return put1(g, chance(50) ? 0xfa : 0xfb);		/* cli / sti */
	case 1:
		if (!g->m64)
			return false;
		return put(g, (const uint8_t[]){ 0x0f, 0x01, 0xf8 }, 3);	/* swapgs */
	case 2:
		/* in al/ax/eax, imm8 or dx */
		if (!writable(g, R_AX))
			return false;
		if (chance(30))
			b[n++] = 0x66;
		b[n++] = (uint8_t)(chance(50) ? 0xe4 + rn(2) : 0xec + rn(2));
		if (b[n - 1] < 0xec)
			b[n++] = (uint8_t)rnd();
		return put(g, b, n);
	case 3:
		/* out imm8 or dx, al/ax/eax */
		b[n++] = (uint8_t)(chance(50) ? 0xe6 + rn(2) : 0xee + rn(2));
		if (b[n - 1] < 0xee)
			b[n++] = (uint8_t)rnd();
		return put(g, b, n);
	case 4: {
		/* mov r, crN (CR8 through REX.R) */
		unsigned cr = crs[rn(g->m64 ? 5 : 4)];
		uint8_t rex = (uint8_t)(0x40 | (cr >= 8 ? 4 : 0) | (r >= 8 ? 1 : 0));

		if (rex != 0x40)
			b[n++] = rex;
		b[n++] = 0x0f;
		b[n++] = 0x20;
		b[n++] = (uint8_t)(0xc0 | (cr & 7) << 3 | (r & 7));
		return put(g, b, n);
	}
	case 5:
		/* mov r32, sreg */
		if (g->m64 && r >= 8)
			b[n++] = 0x41;
		b[n++] = 0x8c;
		b[n++] = (uint8_t)(0xc0 | rn(6) << 3 | (r & 7));
		return put(g, b, n);
	default: {
		/* smsw / str / sldt r32 */
		static const uint8_t op[3][2] = { { 0x01, 4 }, { 0x00, 1 }, { 0x00, 0 } };
		unsigned which = k - 6;

		if (g->m64 && r >= 8)
			b[n++] = 0x41;
		b[n++] = 0x0f;
		b[n++] = op[which][0];
		b[n++] = (uint8_t)(0xc0 | op[which][1] << 3 | (r & 7));
		return put(g, b, n);
	}
	}
}

/* A 16-byte operand: mostly aligned (most forms #GP otherwise), now and then anywhere. */
static void gen_mem16(struct gen *g, struct memop *m)
{
	gen_mem(g, m, false);
	if (chance(25))
		return;
	m->seg = 0;
	if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
		m->rip_target &= ~15ull;
	} else {
		m->base = m->index = ZYDIS_REGISTER_NONE;
		m->disp = (int64_t)((PTR_LO + rn(PTR_SPAN)) & ~15ull);
	}
}

/*
 * SSE integer, logical and move instructions (the translator runs them
 * natively) and a few others: xmm/xmm, xmm/m128 (aligned or not: #GP
 * where the form wants alignment), xmm<->GPR and m32/m64 forms.
 */
static bool gen_sse(struct gen *g, unsigned flags)
{
	static const ZydisMnemonic rr[] = {
		ZYDIS_MNEMONIC_MOVAPS, ZYDIS_MNEMONIC_MOVUPS, ZYDIS_MNEMONIC_MOVDQA,
		ZYDIS_MNEMONIC_MOVDQU, ZYDIS_MNEMONIC_PXOR, ZYDIS_MNEMONIC_POR, ZYDIS_MNEMONIC_PAND,
		ZYDIS_MNEMONIC_PANDN, ZYDIS_MNEMONIC_XORPS, ZYDIS_MNEMONIC_ANDNPD,
		ZYDIS_MNEMONIC_PCMPEQB, ZYDIS_MNEMONIC_PCMPGTD, ZYDIS_MNEMONIC_PADDB,
		ZYDIS_MNEMONIC_PADDQ, ZYDIS_MNEMONIC_PSUBW, ZYDIS_MNEMONIC_PADDUSB,
		ZYDIS_MNEMONIC_PSUBSW, ZYDIS_MNEMONIC_PMINUB, ZYDIS_MNEMONIC_PMAXSW,
		ZYDIS_MNEMONIC_PAVGW, ZYDIS_MNEMONIC_PSADBW, ZYDIS_MNEMONIC_PMULLW,
		ZYDIS_MNEMONIC_PMULHUW, ZYDIS_MNEMONIC_PMULUDQ, ZYDIS_MNEMONIC_PMADDWD,
		ZYDIS_MNEMONIC_PUNPCKLBW, ZYDIS_MNEMONIC_PUNPCKHQDQ, ZYDIS_MNEMONIC_UNPCKLPS,
		ZYDIS_MNEMONIC_PACKSSWB, ZYDIS_MNEMONIC_PACKUSWB, ZYDIS_MNEMONIC_PSLLW,
		ZYDIS_MNEMONIC_PSRAD, ZYDIS_MNEMONIC_PSRLQ, ZYDIS_MNEMONIC_ADDPS,
		ZYDIS_MNEMONIC_MULPD, ZYDIS_MNEMONIC_MINPS,
	};
	static const ZydisMnemonic ri[] = {
		ZYDIS_MNEMONIC_PSHUFD, ZYDIS_MNEMONIC_PSHUFLW, ZYDIS_MNEMONIC_PSHUFHW,
		ZYDIS_MNEMONIC_SHUFPS, ZYDIS_MNEMONIC_SHUFPD,
	};
	static const ZydisMnemonic sh[] = {
		ZYDIS_MNEMONIC_PSLLW, ZYDIS_MNEMONIC_PSLLD, ZYDIS_MNEMONIC_PSLLQ,
		ZYDIS_MNEMONIC_PSRLW, ZYDIS_MNEMONIC_PSRAD, ZYDIS_MNEMONIC_PSLLDQ,
		ZYDIS_MNEMONIC_PSRLDQ,
	};
	unsigned nx = g->m64 ? 16 : 8, form = rn(8);
	ZydisRegister x0 = (ZydisRegister)(ZYDIS_REGISTER_XMM0 + rn(nx));
	ZydisRegister x1 = (ZydisRegister)(ZYDIS_REGISTER_XMM0 + rn(nx));
	ZydisEncoderRequest q;
	struct memop m;

	if (!g->sse)
		return false;
	switch (form) {
	case 0: case 1:		/* xmm, xmm / xmm, m128 */
		req_init(&q, rr[rn(sizeof(rr) / sizeof(rr[0]))]);
		o_reg(&q, x0);
		if (form == 0) {
			o_reg(&q, x1);
		} else {
			gen_mem16(g, &m);
			o_mem(g, &q, &m, 16);
		}
		break;
	case 2:			/* m128, xmm */
		req_init(&q, chance(50) ? ZYDIS_MNEMONIC_MOVUPS : chance(50) ?
			 ZYDIS_MNEMONIC_MOVDQA : ZYDIS_MNEMONIC_MOVNTDQ);
		gen_mem16(g, &m);
		o_mem(g, &q, &m, 16);
		o_reg(&q, x0);
		break;
	case 3:			/* xmm, xmm/m128, imm8 */
		req_init(&q, ri[rn(sizeof(ri) / sizeof(ri[0]))]);
		o_reg(&q, x0);
		if (chance(50)) {
			o_reg(&q, x1);
		} else {
			gen_mem16(g, &m);
			o_mem(g, &q, &m, 16);
		}
		o_imm(&q, rn(256));
		break;
	case 4:			/* shift by imm8 */
		req_init(&q, sh[rn(sizeof(sh) / sizeof(sh[0]))]);
		o_reg(&q, x0);
		o_imm(&q, rn(70));
		break;
	case 5: {		/* movd/movq between xmm and a GPR or memory */
		unsigned size = g->m64 && chance(50) ? 8 : 4;

		req_init(&q, size == 8 ? ZYDIS_MNEMONIC_MOVQ : ZYDIS_MNEMONIC_MOVD);
		if (chance(50)) {
			o_reg(&q, x0);
			if (chance(50)) {
				o_reg(&q, pick_reg(g, size, false));
			} else {
				gen_mem(g, &m, false);
				o_mem(g, &q, &m, size);
			}
		} else if (chance(50)) {
			o_reg(&q, pick_reg(g, size, true));
			o_reg(&q, x0);
		} else {
			gen_mem(g, &m, false);
			o_mem(g, &q, &m, size);
			o_reg(&q, x0);
		}
		break;
	}
	case 6:			/* pmovmskb/movmskps r32, xmm; pextrw r32, xmm, imm */
		req_init(&q, chance(40) ? ZYDIS_MNEMONIC_PMOVMSKB : chance(50) ?
			 ZYDIS_MNEMONIC_MOVMSKPS : ZYDIS_MNEMONIC_PEXTRW);
		o_reg(&q, pick_reg(g, 4, true));
		o_reg(&q, x0);
		if (q.mnemonic == ZYDIS_MNEMONIC_PEXTRW)
			o_imm(&q, rn(8));
		break;
	default:		/* pinsrw xmm, r32/m16, imm; movlps/movhps xmm, m64 */
		if (chance(50)) {
			req_init(&q, ZYDIS_MNEMONIC_PINSRW);
			o_reg(&q, x0);
			if (chance(50)) {
				o_reg(&q, pick_reg(g, 4, false));
			} else {
				gen_mem(g, &m, false);
				o_mem(g, &q, &m, 2);
			}
			o_imm(&q, rn(8));
		} else {
			req_init(&q, chance(50) ? ZYDIS_MNEMONIC_MOVLPS : ZYDIS_MNEMONIC_MOVHPS);
			if (chance(50)) {
				o_reg(&q, x0);
				gen_mem(g, &m, false);
				o_mem(g, &q, &m, 8);
			} else {
				gen_mem(g, &m, false);
				o_mem(g, &q, &m, 8);
				o_reg(&q, x0);
			}
		}
		break;
	}
	for (unsigned i = 0; i < q.operand_count; i++)
		if (q.operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    q.operands[i].reg.value == ZYDIS_REGISTER_NONE)
			return false;
	return put_req(g, &q);
}

static bool gen_nop(struct gen *g, unsigned flags)
{
	ZydisEncoderRequest q;
	struct memop m;

	if (chance(40))
		return put1(g, 0x90);
	req_init(&q, ZYDIS_MNEMONIC_NOP);
	gen_mem(g, &m, false);
	o_mem(g, &q, &m, chance(50) ? 4 : 2);
	return put_req(g, &q);
}

/*
 * CALL to a body that returns: direct (E8), through a register or through
 * memory; the body runs between the call and the JMP that skips it.
 */
static bool gen_call(struct gen *g, unsigned flags)
{
	unsigned kind = rn(3), n = rn(4), reg = 0, sp = g->m64 ? 8 : 4;
	int imm_at = -1;
	unsigned call_at = 0, jmp_at;
	ZydisEncoderRequest q;
	struct memop m;
	uint64_t body;

	if (kind) {
		for (unsigned t = 0; t < 16 && (reg = rn(g->nregs), !writable(g, reg)); t++)
			;
		if (!writable(g, reg))
			return false;
		imm_at = put_mov_imm32(g, reg, 0);
		if (imm_at < 0)
			return false;
	}
	if (kind == 0) {
		call_at = g->c->len;
		if (!put(g, (const uint8_t[]){ 0xe8, 0, 0, 0, 0 }, 5))
			return false;
	} else if (kind == 1) {
		uint8_t b[3] = { 0x41, 0xff, (uint8_t)(0xd0 + (reg & 7)) };

		if (!put(g, reg >= 8 ? b : b + 1, reg >= 8 ? 3 : 2))
			return false;
	} else {
		gen_mem(g, &m, true);
		req_init(&q, ZYDIS_MNEMONIC_MOV);
		o_mem(g, &q, &m, sp);
		o_reg(&q, zreg(reg, sp, false));
		if (!put_req(g, &q))
			return false;
		req_init(&q, ZYDIS_MNEMONIC_CALL);
		q.branch_type = ZYDIS_BRANCH_TYPE_NEAR;
		o_mem(g, &q, &m, sp);
		if (!put_req(g, &q))
			return false;
	}
	jmp_at = g->c->len;
	if (!put(g, (const uint8_t[]){ 0xeb, 0 }, 2))
		return false;
	body = here(g);
	g->in_call = true;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	g->in_call = false;
	if (chance(80)) {
		if (!put1(g, 0xc3))
			return false;
	} else {
		/* ret imm16 leaves the stack lower by imm16: harmless here. */
		uint8_t b[3] = { 0xc2, (uint8_t)(chance(50) ? 0 : 8), 0 };

		if (!put(g, b, 3))
			return false;
	}
	if (g->c->len - (jmp_at + 2) > 127)
		return false;
	g->c->code[jmp_at + 1] = (uint8_t)(g->c->len - (jmp_at + 2));
	if (kind == 0)
		patch32(g, (int)call_at + 1, (uint32_t)(body - (g->c->code_addr + call_at + 5)));
	else
		patch32(g, imm_at, (uint32_t)body);
	return true;
}

/* JMP through a register or through memory over a few units. */
static bool gen_jmp_ind(struct gen *g, unsigned flags)
{
	unsigned reg = rn(g->nregs), n = rn(3), sp = g->m64 ? 8 : 4;
	uint8_t b[3] = { 0x41, 0xff, (uint8_t)(0xe0 + (reg & 7)) };
	ZydisEncoderRequest q;
	struct memop m;
	int imm_at;
	uint32_t undef;

	if (!writable(g, reg))
		return false;
	imm_at = put_mov_imm32(g, reg, 0);
	if (imm_at < 0)
		return false;
	if (chance(50)) {
		if (!put(g, reg >= 8 ? b : b + 1, reg >= 8 ? 3 : 2))
			return false;
	} else {
		gen_mem(g, &m, true);
		req_init(&q, ZYDIS_MNEMONIC_MOV);
		o_mem(g, &q, &m, sp);
		o_reg(&q, zreg(reg, sp, false));
		if (!put_req(g, &q))
			return false;
		req_init(&q, ZYDIS_MNEMONIC_JMP);
		q.branch_type = ZYDIS_BRANCH_TYPE_NEAR;
		o_mem(g, &q, &m, sp);
		if (!put_req(g, &q))
			return false;
	}
	undef = g->undef;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	g->undef = undef;
	patch32(g, imm_at, (uint32_t)here(g));
	return true;
}

/*
 * Self-modifying code: a store to the imm8 of an "add r32, imm8" a few
 * units ahead (the interpreter sees the new byte; so must the
 * translator, in this block or in the one a jump chained to). The byte
 * stored is an immediate or a register's low byte, which in a loop
 * changes from one trip to the next.
 */
static bool gen_smc(struct gen *g, unsigned flags)
{
	unsigned reg = rn(g->nregs), src = rn(g->nregs), n = rn(4), at, sl;
	uint8_t b[8] = { 0xc6, 0x05, 0, 0, 0, 0, (uint8_t)rnd() };
	uint8_t add[4] = { 0x41, 0x83, (uint8_t)(0xc0 + (reg & 7)), (uint8_t)rnd() };
	uint64_t target;

	if (!writable(g, reg))
		return false;
	sl = 7;
	if (chance(60)) {
		/* mov [target], r8: 64-bit code gets SPL..R15B through a REX prefix. */
		unsigned k = 0;

		if (g->m64)
			b[k++] = (uint8_t)(0x40 | (src >= 8 ? 4 : 0));
		b[k++] = 0x88;
		b[k++] = (uint8_t)(0x05 | (src & 7) << 3);
		memset(b + k, 0, 4);
		sl = k + 4;
	}
	at = g->c->len;
	if (!put(g, b, sl))
		return false;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	/* jmp +0: the add starts another block, which the store's block chains to. */
	if (chance(50) && !put(g, (const uint8_t[]){ 0xeb, 0x00 }, 2))
		return false;
	if (!put(g, reg >= 8 ? add : add + 1, reg >= 8 ? 4 : 3))
		return false;
	target = here(g) - 1;
	/* 64-bit: [rip + disp32] from the end of the store; 32-bit: [disp32]. */
	patch32(g, (int)(at + sl - (b[0] == 0xc6 ? 5 : 4)),
		(uint32_t)(g->m64 ? target - (g->c->code_addr + at + sl) : target));
	return true;
}

/* ENTER n, 0 ... LEAVE around a few units (rbp is the frame pointer in between). */
static bool gen_enter(struct gen *g, unsigned flags)
{
	uint8_t b[4] = { 0xc8, (uint8_t)(8 * rn(8)), 0, 0 };
	unsigned n = rn(3);
	uint16_t prot = g->prot;

	if (!writable(g, R_BP) || !put(g, b, 4))
		return false;
	g->prot |= 1u << R_BP;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	g->prot = prot;
	return put1(g, 0xc9);
}

/* A string instruction, with its pointers and count set up first. */
static bool gen_string(struct gen *g, unsigned flags)
{
	static const uint8_t ops[] = { 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0xa6, 0xa7, 0xae, 0xaf };
	uint8_t op = ops[rn(10)], b[6];
	bool cmp = (op & 0xf6) == 0xa6 || (op & 0xfe) == 0xae;
	unsigned n = 0;

	if (!writable(g, R_SI) || !writable(g, R_DI) || !writable(g, R_CX) ||
	    !writable(g, R_AX))
		return false;
	if (put_mov_imm32(g, R_SI, (uint32_t)(PTR_LO + rn(PTR_SPAN))) < 0 ||
	    put_mov_imm32(g, R_DI, (uint32_t)(PTR_LO + rn(PTR_SPAN))) < 0 ||
	    put_mov_imm32(g, R_CX, rn(25)) < 0)
		return false;
	if (chance(30) && !put1(g, chance(50) ? 0xfd : 0xfc))	/* std / cld */
		return false;
	if (chance(70))
		b[n++] = cmp && chance(50) ? 0xf2 : 0xf3;
	if (chance(15) && (op <= 0xa7 || op == 0xac || op == 0xad))
		b[n++] = chance(50) ? 0x64 : 0x65;	/* source segment override */
	if (g->m64 && chance(10))
		b[n++] = 0x67;		/* esi/edi/ecx: all below 4 GiB */
	if (op & 1) {
		/* Word, quadword (REX.W, the last prefix) or doubleword. */
		unsigned r = rn(3);

		if (r == 0)
			b[n++] = 0x66;
		else if (r == 1 && g->m64)
			b[n++] = 0x48;
	}
	b[n++] = op;
	return put(g, b, n);
}

static bool raw_excluded(const ZydisDecodedInstruction *zi)
{
	switch (zi->meta.category) {
	case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_COND_BR: case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_RET: case ZYDIS_CATEGORY_INTERRUPT: case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET: case ZYDIS_CATEGORY_STRINGOP: case ZYDIS_CATEGORY_IOSTRINGOP:
	case ZYDIS_CATEGORY_RDRAND: case ZYDIS_CATEGORY_RDSEED: case ZYDIS_CATEGORY_RDPRU:
	case ZYDIS_CATEGORY_WAITPKG: case ZYDIS_CATEGORY_UINTR:
		return true;
	default:
		break;
	}
	switch (zi->mnemonic) {
	/* Not deterministic, or leaves the straight line, or sets TF/AC/... */
	case ZYDIS_MNEMONIC_RDTSC: case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_RDPMC:
	case ZYDIS_MNEMONIC_RDMSR:	/* MSR 0x10 is the TSC */
	case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRETQ:
	case ZYDIS_MNEMONIC_SYSENTER: case ZYDIS_MNEMONIC_SYSEXIT: case ZYDIS_MNEMONIC_RSM:
	case ZYDIS_MNEMONIC_MONITOR: case ZYDIS_MNEMONIC_MWAIT: case ZYDIS_MNEMONIC_MONITORX:
	case ZYDIS_MNEMONIC_MWAITX: case ZYDIS_MNEMONIC_XBEGIN: case ZYDIS_MNEMONIC_XEND:
	case ZYDIS_MNEMONIC_XABORT:
		return true;
	default:
		return false;
	}
}

static int gpr_index(ZydisRegister r)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);

	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return -1;
	return (int)(big - ZYDIS_REGISTER_RAX);
}

/* Random bytes that decode to something straight-line that leaves the pointers alone. */
static bool gen_raw(struct gen *g, unsigned flags)
{
	static const uint8_t prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26,
					    0x64, 0x65, 0xf0 };
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t b[16];
	unsigned n = 0;

	if (flags & U_BODY)
		return false;
	while (n < 3 && chance(25))
		b[n++] = prefixes[rn(sizeof(prefixes))];
	if (g->m64 && chance(30))
		b[n++] = (uint8_t)(0x40 | rn(16));
	if (chance(30))
		b[n++] = 0x0f;
	while (n < 15) {
		uint64_t v = rnd();

		for (unsigned i = 0; i < 8 && n < 15; i++)
			b[n++] = (uint8_t)(v >> (8 * i));
	}
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&g->dec, b, 15, &zi, ops)) || raw_excluded(&zi))
		return false;
	for (unsigned i = 0; i < zi.operand_count; i++) {
		int r;

		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    !(ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		r = gpr_index(ops[i].reg.value);
		if (r >= 0 && !writable(g, (unsigned)r))
			return false;
		/* A segment load (mov ss also shadows interrupts): rare, keep them rarer. */
		if (ZydisRegisterGetClass(ops[i].reg.value) == ZYDIS_REGCLASS_SEGMENT && chance(70))
			return false;
	}
	g->stray = true;
	return put(g, b, zi.length);
}

/*
 * A counted loop around a few units (dec r; jnz back): chained blocks
 * and back edges. The flags the body may find undefined are those of the
 * first entry plus whatever one trip leaves undefined, to a fixpoint.
 */
static bool gen_loop(struct gen *g, unsigned flags)
{
	unsigned r = rn(g->nregs), n = 1 + rn(4), head;
	uint32_t undef_in = g->undef, u_head, u = 0;
	uint16_t prot = g->prot;
	uint8_t b[6];
	int64_t rel;

	if (!writable(g, r) || put_mov_imm32(g, r, 1 + rn(5)) < 0)
		return false;
	g->prot |= 1u << r;
	head = g->c->len;
	for (unsigned i = 0; i < n; i++)
		gen_unit(g, flags | U_BODY);
	g->prot = prot;
	b[0] = 0x41;
	b[1] = 0xff;
	b[2] = (uint8_t)(0xc8 + (r & 7));	/* dec r32 */
	if (!put(g, r >= 8 ? b : b + 1, r >= 8 ? 3 : 2))
		return false;
	rel = (int64_t)head - (int64_t)(g->c->len + 2);
	if (rel >= -128 && chance(75)) {
		b[0] = 0x75;
		b[1] = (uint8_t)rel;
		if (!put(g, b, 2))
			return false;
	} else {
		uint32_t r32 = (uint32_t)(head - (g->c->len + 6));

		b[0] = 0x0f;
		b[1] = 0x85;
		memcpy(b + 2, &r32, 4);
		if (!put(g, b, 6))
			return false;
	}
	u_head = undef_in | g->undef;
	for (unsigned pass = 0; pass < 8; pass++) {
		ZydisDecodedInstruction zi;

		u = u_head;
		for (unsigned o = head; o < g->c->len; o += zi.length)
			if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&g->dec, NULL, g->c->code + o,
								     g->c->len - o, &zi)) ||
			    !flags_step(&u, &zi))
				return false;
		if ((undef_in | u) == u_head)
			break;
		u_head = undef_in | u;
	}
	g->undef = u;
	return true;
}

struct family {
	bool (*fn)(struct gen *g, unsigned flags);
	unsigned weight;
	bool body_ok;
	const char *name;
};

static const struct family families[] = {
	{ gen_alu, 16, true, "alu" }, { gen_unary, 5, true, "unary" },
	{ gen_mov, 10, true, "mov" }, { gen_shift, 9, true, "shift" },
	{ gen_mul, 4, true, "mul" }, { gen_div, 1, true, "div" },
	{ gen_setcc, 3, true, "setcc" }, { gen_cmov, 4, true, "cmov" },
	{ gen_skip, 6, false, "skip" }, { gen_push_pop, 7, false, "push_pop" },
	{ gen_stack_adj, 1, false, "stack_adj" }, { gen_lea, 5, true, "lea" },
	{ gen_xchg, 6, true, "xchg" }, { gen_bt, 4, true, "bt" },
	{ gen_bitscan, 3, true, "bitscan" }, { gen_movx, 4, true, "movx" },
	{ gen_convert, 2, true, "convert" }, { gen_flagop, 3, true, "flagop" },
	{ gen_nop, 1, true, "nop" }, { gen_call, 4, false, "call" },
	{ gen_jmp_ind, 1, false, "jmp_ind" }, { gen_string, 3, true, "string" },
	{ gen_raw, 3, false, "raw" }, { gen_loop, 3, false, "loop" },
	{ gen_smc, 2, true, "smc" }, { gen_enter, 1, false, "enter" },
	{ gen_rsp_pair, 2, false, "rsp_pair" }, { gen_popf, 2, false, "popf" },
	{ gen_sys, 2, true, "sys" }, { gen_sse, 8, true, "sse" },
};

static unsigned total_weight;
static unsigned long family_used[sizeof(families) / sizeof(families[0])];

static bool gen_unit(struct gen *g, unsigned flags)
{
	for (unsigned tries = 0; tries < 20; tries++) {
		unsigned w = rn(total_weight), i = 0;
		struct mark mk = mark(g);

		while (w >= families[i].weight) {
			w -= families[i].weight;
			i++;
		}
		if ((flags & U_BODY) && !families[i].body_ok)
			continue;
		if (g->c->len + 96 > MAX_CODE)
			return false;
		if (families[i].fn(g, flags)) {
			family_used[i]++;
			return true;
		}
		rollback(g, &mk);
	}
	return false;
}

static uint64_t value_reg(bool m64)
{
	unsigned r = rn(100);
	uint64_t v;

	if (r < 40)
		v = rnd();
	else if (r < 60)
		v = (uint64_t)(int64_t)(int8_t)rnd();
	else if (r < 75)
		v = (uint32_t)rnd();
	else if (r < 88) {
		static const uint64_t special[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
						    0x7fffffff, 0x80000000, 0xffffffff,
						    0x8000000000000000ull, ~0ull, 0x100000000ull };
		v = special[rn(sizeof(special) / sizeof(special[0]))];
	} else {
		v = PTR_LO + rn(PTR_SPAN);	/* a wild base that happens to hit the data area */
	}
	return m64 ? v : (uint32_t)v;
}

/* A random case in @m64 mode at @cpl. */
static void gen_case(struct tcase *c, ZydisDecoder *dec, bool m64, unsigned cpl)
{
	static const uint8_t base64[] = { R_BX, R_BP, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13,
					  R_R14, R_R15, R_R14, R_R15 };
	static const uint8_t base32[] = { R_BX, R_BP, R_SI, R_DI };
	struct gen g = { .c = c, .m64 = m64, .nregs = m64 ? 16 : 8, .dec = *dec };
	unsigned target = 8 + rn(33), nb, ni;

	memset(c, 0, sizeof(*c));
	g.sse = chance(35);
	c->m64 = m64;
	c->cpl = cpl;
	c->data_seed = rnd() | 1;
	c->code_addr = CODE_GPA + (chance(20) ? 0x1000 - 16 - rn(400) : rn(0x800));
	c->fs_base = chance(85) ? rn(SEG_BASE_MAX) : 0;
	c->gs_base = chance(85) ? rn(SEG_BASE_MAX) : 0;
	c->kernel_gs_base = rn(SEG_BASE_MAX);
	c->rflags = (rnd() & OSZAPC) | (chance(10) ? X86_RFLAGS_DF : 0);

	/* Pointers: rsp, one to three bases, up to two small index registers. */
	g.prot = 1u << R_SP;
	g.base[g.nbase++] = R_SP;
	nb = 1 + rn(3);
	ni = rn(3);
	for (unsigned t = 0; t < 40 && (g.nbase < nb + 1 || g.nidx < ni); t++) {
		unsigned r = m64 ? base64[rn(sizeof(base64))] : base32[rn(sizeof(base32))];

		if (g.prot & (1u << r))
			continue;
		g.prot |= 1u << r;
		if (g.nbase < nb + 1)
			g.base[g.nbase++] = (uint8_t)r;
		else
			g.idx[g.nidx++] = (uint8_t)r;
	}
	for (unsigned r = 0; r < 16; r++)
		c->gpr[r] = r < g.nregs ? value_reg(m64) : 0;
	for (unsigned i = 1; i < g.nbase; i++)
		c->gpr[g.base[i]] = PTR_LO + rn(PTR_SPAN);
	g.far = -1;
	if (g.nbase > 1 && chance(30)) {
		/* 64-bit: a disp32 of either sign; 32-bit: any 32-bit displacement. */
		g.far = g.base[g.nbase - 1];
		g.far_disp = (int64_t)(int32_t)((uint32_t)rnd() & (m64 ? 0xfff00000u : ~0u));
		if (m64 && g.far_disp == INT32_MIN)
			g.far_disp = 0x10000000;
		c->gpr[g.far] -= (uint64_t)g.far_disp;
	}
	for (unsigned i = 0; i < g.nidx; i++)
		c->gpr[g.idx[i]] = (uint64_t)(int64_t)((int)rn(384) - 128);
	if (!m64)
		for (unsigned r = 0; r < 8; r++)
			c->gpr[r] = (uint32_t)c->gpr[r];
	c->gpr[R_SP] = STACK_TOP - 8 * rn(8);

	while (g.ninsn < target && gen_unit(&g, 0))
		;
	c->warm = !g.stray;
	c->sse = g.sse;
	c->ts = g.sse && chance(5);
	if (chance(40)) {
		c->paging = true;
		c->wp = chance(50);
		for (unsigned k = 0; k < NDATA_PAGES; k++) {
			uint64_t page = DATA_GPA + 4096ull * k;
			unsigned r = rn(100);

			c->pte[k] = 0x07 | (chance(30) ? 0x20 : 0) | (chance(20) ? 0x40 : 0);
			/* The stack's pages stay writable: a return address must land. */
			if (page + 0x2000 > STACK_TOP && page < STACK_TOP + 0x1000)
				continue;
			if (r < 5)
				c->pte[k] &= ~0x02;	/* read-only */
			else if (r < 9)
				c->pte[k] &= ~0x04;	/* supervisor */
			else if (r < 11)
				c->pte[k] = 0;		/* not present */
		}
	}
	c->code[c->len++] = 0xf4;	/* hlt (at CPL 3: #GP, which ends the run as well) */
}

/* ---- running ---- */

enum end { END_HALT, END_FAULT, END_STOP, END_LIMIT };
static const char *const end_names[] = { "HLT", "fault", "stop", "limit" };

struct outcome {
	struct x86_state st;
	enum end end;
	uint8_t vector;
	bool has_err;
	uint32_t err;
	uint64_t cr2;
	uint32_t undef;			/* the interpreter's run: flags undefined at the end */
	bool tainted;			/* ... it read an undefined flag */
	uint64_t blocks;		/* the translator's run: blocks it ran */
	uint8_t data[DATA_SIZE];
	uint8_t code[CODE_SIZE];
	uint8_t pt[4096];		/* with 4 KiB pages: the page table (A/D bits) */
};

static volatile int kick;
static uint64_t kick_rng;		/* per case, so that a rerun kicks the same way */

static void on_tick(int sig)
{
	(void)sig;
	kick = 1;
}

static void on_alarm(int sig)
{
	static const char msg[] = "tb-diff: FAIL: still running after the alarm (a hang?)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void fill_data(uint8_t *buf, uint64_t seed)
{
	uint64_t s = rng_state;

	rng_state = seed;
	for (unsigned i = 0; i < DATA_SIZE; i += 8) {
		uint64_t v = rnd();

		memcpy(buf + i, &v, 8);
	}
	rng_state = s;
}

static unsigned pte_of(const struct tcase *c, uint64_t page)
{
	if (page >= DATA_GPA && page < DATA_GPA + DATA_SIZE)
		return c->pte[(page - DATA_GPA) >> 12];
	return 0x07;
}

/* 4 KiB pages over the first 2 MiB (64-bit) or 4 MiB (32-bit, which turns paging on). */
static void setup_paging(struct swh *h, const struct tcase *c)
{
	struct x86_state *st = &h->cpu.st;

	if (c->m64 || c->compat) {
		static uint64_t pt[512];

		for (unsigned i = 0; i < 512; i++)
			pt[i] = (uint64_t)i << 12 | pte_of(c, (uint64_t)i << 12);
		swh_poke(h, PT4K_GPA, pt, sizeof(pt));
		swh_poke_val(h, SWH_PT_BASE + 0x2000, PT4K_GPA | 0x07, 8);
	} else {
		static uint32_t pd[1024], pt[1024];

		pd[0] = (uint32_t)PT32_GPA | 0x07;
		for (unsigned i = 0; i < 1024; i++)
			pt[i] = i << 12 | pte_of(c, (uint64_t)i << 12);
		swh_poke(h, PD32_GPA, pd, sizeof(pd));
		swh_poke(h, PT32_GPA, pt, sizeof(pt));
		st->cr3 = PD32_GPA;
		st->cr0 |= X86_CR0_PG;
	}
	if (c->wp)
		st->cr0 |= X86_CR0_WP;
	sw_mmu_paging_changed(&h->cpu);
	sw_mmu_flush_all(&h->cpu);
}

static void setup(struct swh *h, const struct tcase *c, const uint8_t *data)
{
	struct x86_state *st = &h->cpu.st;
	uint8_t code[CODE_SIZE];

	swh_set_mode(h, c->m64 ? SWH_LONG64 : c->compat ? SWH_COMPAT32 : SWH_PROT32);
	if (c->cpl == 3) {
		for (int i = 0; i < S_NR; i++) {
			st->seg[i].sel = 0x23;
			st->seg[i].attr = 0xc0f3;
		}
		st->seg[S_CS].sel = 0x1b;
		st->seg[S_CS].attr = c->m64 ? 0xa0fb : 0xc0fb;
	}
	st->seg[S_FS].base = c->fs_base;
	st->seg[S_GS].base = c->gs_base;
	st->msr.kernel_gs_base = c->kernel_gs_base;
	memcpy(st->gpr, c->gpr, sizeof(st->gpr));
	st->rflags = X86_RFLAGS_FIXED | (c->rflags & (OSZAPC | X86_RFLAGS_DF));
	st->rip = c->code_addr;
	if (c->sse) {
		uint64_t r = c->data_seed * 0x9e3779b97f4a7c15ull;

		st->cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
		if (c->ts)
			st->cr0 |= X86_CR0_TS;
		for (unsigned i = 0; i < sizeof(st->fx.xmm); i += 8) {
			r ^= r >> 12;
			r ^= r << 25;
			r ^= r >> 27;
			memcpy((uint8_t *)st->fx.xmm + i, &r, 8);
		}
	}
	st->halted = false;
	h->cpu.stop_req = false;
	memset(code, 0xf4, sizeof(code));
	memcpy(code + (c->code_addr - CODE_GPA), c->code, c->len);
	swh_poke(h, CODE_GPA, code, sizeof(code));
	swh_poke(h, DATA_GPA, data, DATA_SIZE);
	if (c->paging)
		setup_paging(h, c);
}

static const struct tcase *cur;		/* the case running */

static void finish(struct swh *h, struct outcome *o)
{
	memset(o->pt, 0, sizeof(o->pt));
	if (cur && cur->paging)
		swh_peek(h, cur->m64 || cur->compat ? PT4K_GPA : PT32_GPA, o->pt, sizeof(o->pt));
	o->st = h->cpu.st;
	swh_peek(h, DATA_GPA, o->data, DATA_SIZE);
	swh_peek(h, CODE_GPA, o->code, CODE_SIZE);
}

static void take_fault(struct sw_cpu *cpu, struct outcome *o)
{
	cpu->insn = NULL;
	o->end = END_FAULT;
	o->vector = cpu->exc.vector;
	o->has_err = cpu->exc.has_err;
	o->err = o->has_err ? cpu->exc.err : 0;
	o->cr2 = cpu->exc.vector == 14 ? cpu->exc.cr2 : 0;
}

/* One interpreted instruction, with what the run loop does around it. */
static void step(struct sw_cpu *cpu)
{
	bool shadow = cpu->st.int_shadow;

	sw_step(cpu);
	if (shadow)
		cpu->st.int_shadow = false;
	cpu->st.rflags &= ~X86_RFLAGS_RF;
}

/* The interpreter alone, following which flags are undefined. */
static void run_interp(struct swh *h, struct outcome *o, ZydisDecoder *dec)
{
	struct sw_cpu *cpu = &h->cpu;
	volatile unsigned long steps = 0;
	volatile uint32_t undef = 0;
	volatile bool tainted = false;

	o->end = END_HALT;
	if (sigsetjmp(cpu->jmp, 0)) {
		take_fault(cpu, o);
		goto out;
	}
	for (;;) {
		ZydisDecodedInstruction zi;
		uint8_t b[15];
		bool decoded = false;
		uint32_t u;

		if (cpu->st.halted)
			break;
		if (cpu->stop_req) {
			cpu->stop_req = false;
			o->end = END_STOP;
			break;
		}
		if (steps >= RUN_LIMIT) {
			o->end = END_LIMIT;
			break;
		}
		steps++;
		if (cpu->st.rip < RAM_SIZE - sizeof(b)) {
			swh_peek(h, cpu->st.rip, b, sizeof(b));
			decoded = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL, b, sizeof(b),
									    &zi));
		}
		step(cpu);
		u = undef;
		if (!decoded)
			u = OSZAPC;	/* whatever it was, nothing is known of the flags */
		else if (!flags_step(&u, &zi))
			tainted = true;
		undef = u;
	}
out:
	o->undef = undef;
	o->tainted = tainted;
	finish(h, o);
}

/* The translator where it runs, the interpreter for the rest, as sw_run() does. */
static void run_tb(struct swh *h, struct outcome *o)
{
	struct sw_cpu *cpu = &h->cpu;
	volatile unsigned long turns = 0, kicks = 0;
	volatile uint64_t blocks = 0;

	o->end = END_HALT;
	kick_rng = cpu->st.rip ^ cpu->st.gpr[R_AX];
	if (sigsetjmp(cpu->jmp, 0)) {
		take_fault(cpu, o);
		goto out;
	}
	for (;;) {
		uint64_t n;

		if (cpu->st.halted)
			break;
		if (cpu->stop_req) {
			cpu->stop_req = false;
			o->end = END_STOP;
			break;
		}
		if (turns >= RUN_LIMIT || kicks >= KICK_LIMIT) {
			o->end = END_LIMIT;
			break;
		}
		turns++;
		/* Now and then a kick already pending: the block leaves at its check. */
		kick_rng = kick_rng * 6364136223846793005ull + 1442695040888963407ull;
		if ((kick_rng >> 60) < 3)
			kick = 1;
		n = tb_exec(cpu);
		if (kick) {
			kick = 0;
			kicks++;
		}
		if (n) {
			blocks += n;
			continue;
		}
		step(cpu);
	}
out:
	o->blocks = blocks;
	finish(h, o);
}

/* ---- comparing and reporting ---- */

static const char *const gpr_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* What differs, coarsely: a minimized case must keep the same signature. */
enum {
	SIG_END = 1, SIG_RIP = 2, SIG_GPR = 4, SIG_FLAGS = 8, SIG_SYS = 16, SIG_DATA = 32,
	SIG_CODE = 64, SIG_PT = 128,
};

/* Differences, one per line, into @out (NULL: just count them); their signature in *@sig. */
static unsigned compare(const struct outcome *t, const struct outcome *i, FILE *out,
			unsigned *sig)
{
	uint64_t fmask = ~(uint64_t)i->undef;
	unsigned n = 0, shown = 0, dummy;

	if (!sig)
		sig = &dummy;
	*sig = 0;
#define DIFF(bit, ...) \
	do { n++; *sig |= (bit); if (out) fprintf(out, "    " __VA_ARGS__); } while (0)
	if (t->end != i->end)
		DIFF(SIG_END, "end: translator %s, interpreter %s\n", end_names[t->end],
		     end_names[i->end]);
	if (t->end == END_FAULT && i->end == END_FAULT &&
	    (t->vector != i->vector || t->has_err != i->has_err || t->err != i->err ||
	     t->cr2 != i->cr2))
		DIFF(SIG_END, "fault: translator #%u err %#x cr2 %#" PRIx64 ", interpreter #%u err %#x cr2 %#"
		     PRIx64 "\n", t->vector, t->err, t->cr2, i->vector, i->err, i->cr2);
	for (unsigned r = 0; r < 16; r++)
		if (t->st.gpr[r] != i->st.gpr[r])
			DIFF(SIG_GPR, "%s: translator %#" PRIx64 ", interpreter %#" PRIx64 "\n", gpr_names[r],
			     t->st.gpr[r], i->st.gpr[r]);
	if (t->st.rip != i->st.rip)
		DIFF(SIG_RIP, "rip: translator %#" PRIx64 ", interpreter %#" PRIx64 "\n", t->st.rip,
		     i->st.rip);
	for (unsigned x = 0; x < 16; x++)
		if (memcmp(t->st.fx.xmm[x], i->st.fx.xmm[x], 16))
			DIFF(SIG_GPR, "xmm%u differs\n", x);
	if (t->st.fx.mxcsr != i->st.fx.mxcsr)
		DIFF(SIG_SYS, "mxcsr: translator %#x, interpreter %#x\n", t->st.fx.mxcsr,
		     i->st.fx.mxcsr);
	if ((t->st.rflags ^ i->st.rflags) & fmask)
		DIFF(SIG_FLAGS, "rflags: translator %#" PRIx64 ", interpreter %#" PRIx64 " (undefined %#x)\n",
		     t->st.rflags, i->st.rflags, i->undef);
	for (int s = 0; s < S_NR; s++)
		if (t->st.seg[s].sel != i->st.seg[s].sel || t->st.seg[s].base != i->st.seg[s].base ||
		    t->st.seg[s].limit != i->st.seg[s].limit || t->st.seg[s].attr != i->st.seg[s].attr)
			DIFF(SIG_SYS, "segment %d differs\n", s);
	if (t->st.cr0 != i->st.cr0 || t->st.cr3 != i->st.cr3 || t->st.cr4 != i->st.cr4 ||
	    t->st.efer != i->st.efer || t->st.halted != i->st.halted ||
	    t->st.msr.kernel_gs_base != i->st.msr.kernel_gs_base || t->st.int_shadow != i->st.int_shadow)
		DIFF(SIG_SYS, "cr0/cr3/cr4/efer/halted/kernel_gs_base/int_shadow differ\n");
	for (unsigned k = 0; k < DATA_SIZE; k++)
		if (t->data[k] != i->data[k]) {
			n++;
			*sig |= SIG_DATA;
			if (out && shown++ < 8)
				fprintf(out, "    data %#" PRIx64 ": translator %02x, interpreter %02x\n",
					(uint64_t)(DATA_GPA + k), t->data[k], i->data[k]);
		}
	for (unsigned k = 0; k < sizeof(t->pt); k++)
		if (t->pt[k] != i->pt[k]) {
			n++;
			*sig |= SIG_PT;
			if (out && shown++ < 16)
				fprintf(out, "    page table byte %#x: translator %02x, interpreter %02x\n",
					k, t->pt[k], i->pt[k]);
		}
	for (unsigned k = 0; k < CODE_SIZE; k++)
		if (t->code[k] != i->code[k]) {
			n++;
			*sig |= SIG_CODE;
			if (out && shown++ < 16)
				fprintf(out, "    code %#" PRIx64 ": translator %02x, interpreter %02x\n",
					(uint64_t)(CODE_GPA + k), t->code[k], i->code[k]);
		}
#undef DIFF
	return n;
}

static void disassemble(FILE *out, const struct tcase *c)
{
	ZydisMachineMode mm = c->m64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32;
	unsigned off = 0;

	while (off < c->len) {
		ZydisDisassembledInstruction di;
		bool ok = ZYAN_SUCCESS(ZydisDisassembleIntel(mm, c->code_addr + off, c->code + off,
							     c->len - off, &di));
		unsigned n = ok ? di.info.length : 1;

		fprintf(out, "    %08" PRIx64 ":  ", c->code_addr + off);
		for (unsigned k = 0; k < 12; k++)
			fprintf(out, k < n ? "%02x " : "   ", c->code[off + k]);
		fprintf(out, "%s%s\n", n > 12 ? "... " : "", ok ? di.text : "(bad)");
		off += n;
	}
}

/* The case as a C initializer, for the known_bugs[] list. */
static void print_initializer(FILE *out, const struct tcase *c)
{
	fprintf(out, "\t\t.repro = {\n\t\t\t.name = \"NAME\", .m64 = %s,%s .cpl = %u,\n"
		"\t\t\t.gpr = {", c->m64 ? "true" : "false", c->compat ? " .compat = true," : "",
		c->cpl);
	for (unsigned r = 0; r < 16; r++)
		if (c->gpr[r])
			fprintf(out, "%s[%u] = %#" PRIx64 ",", r % 3 ? " " : "\n\t\t\t\t", r, c->gpr[r]);
	fprintf(out, " },\n\t\t\t.rflags = %#" PRIx64 ", .fs_base = %#" PRIx64 ", .gs_base = %#"
		PRIx64 ",\n\t\t\t.code_addr = %#" PRIx64 ", .data_seed = %#" PRIx64 ",\n",
		c->rflags, c->fs_base, c->gs_base, c->code_addr, c->data_seed);
	if (c->paging) {
		fprintf(out, "\t\t\t.paging = true, .wp = %s, .pte = {", c->wp ? "true" : "false");
		for (unsigned k = 0; k < NDATA_PAGES; k++)
			fprintf(out, "%s%#x", k ? ", " : " ", c->pte[k]);
		fprintf(out, " },\n");
	}
	if (c->sse)
		fprintf(out, "\t\t\t.sse = true, .ts = %s,\n", c->ts ? "true" : "false");
	fprintf(out, "\t\t\t.len = %u,\n\t\t\t.code = \"", c->len);
	for (unsigned k = 0; k < c->len; k++)
		fprintf(out, "\\x%02x", c->code[k]);
	fprintf(out, "\",\n\t\t},\n");
}

static struct outcome out_tb2;		/* the translator's second run */

static void describe_end(FILE *out, const struct outcome *o)
{
	fprintf(out, "%s", end_names[o->end]);
	if (o->end == END_FAULT)
		fprintf(out, " #%u err %#x cr2 %#" PRIx64, o->vector, o->err, o->cr2);
	fprintf(out, " at rip %#" PRIx64 ", rflags %#" PRIx64 "\n", o->st.rip, o->st.rflags);
}

static void report(FILE *out, const struct tcase *c, const struct outcome *t,
		   const struct outcome *i)
{
	const char *mode = c->m64 ? "64-bit" : c->compat ? "compatibility (32-bit)" : "32-bit";

	fprintf(out, "  %s mode, CPL %u, code at %#" PRIx64 ", fs.base %#" PRIx64 ", gs.base %#"
		PRIx64 ", rflags %#" PRIx64 ", data seed %#" PRIx64 "\n", mode, c->cpl,
		c->code_addr, c->fs_base, c->gs_base, c->rflags, c->data_seed);
	if (c->paging) {
		fprintf(out, "  4 KiB pages, CR0.WP=%u, data page PTE flags:", c->wp);
		for (unsigned k = 0; k < NDATA_PAGES; k++)
			fprintf(out, " %02x", c->pte[k]);
		fprintf(out, "\n");
	}
	if (c->sse)
		fprintf(out, "  CR4.OSFXSR=1%s, xmm from the data seed\n", c->ts ? ", CR0.TS=1" : "");
	fprintf(out, "  initial:");
	for (unsigned r = 0; r < (c->m64 ? 16u : 8u); r++)
		fprintf(out, "%s %s=%#" PRIx64, r % 4 ? "" : "\n   ", gpr_names[r], c->gpr[r]);
	fprintf(out, "\n  translator%s (%" PRIu64 " blocks): ", t == &out_tb2 ? ", second run" : "",
		t->blocks);
	describe_end(out, t);
	fprintf(out, "  interpreter: ");
	describe_end(out, i);
	compare(t, i, out, NULL);
	fprintf(out, "  code:\n");
	disassemble(out, c);
	fprintf(out, "  as a known_bugs[] entry:\n");
	print_initializer(out, c);
}

/* ---- the two VMs ---- */

static struct swh *h_tb, *h_int;
static ZydisDecoder dec64, dec32;
static struct outcome out_tb, out_int;
static uint8_t data_buf[DATA_SIZE];

static const struct outcome *out_bad = &out_tb;	/* the translator's run that differed */

/* Run @c on both; the number of differences (0: same), their signature in *@sig. */
static unsigned run_case(const struct tcase *c, unsigned *sig)
{
	static uint8_t image[CODE_SIZE];
	struct x86_state st0;
	unsigned d, sig2 = 0;

	cur = c;
	fill_data(data_buf, c->data_seed);
	setup(h_tb, c, data_buf);
	setup(h_int, c, data_buf);
	st0 = h_tb->cpu.st;
	run_tb(h_tb, &out_tb);
	run_interp(h_int, &out_int, c->m64 ? &dec64 : &dec32);
	out_bad = &out_tb;
	if (sig)
		*sig = 0;
	if (out_int.tainted || out_int.end == END_LIMIT)
		return 0;
	d = compare(&out_tb, &out_int, NULL, sig);
	if (d || !c->warm)
		return d;
	/* Again, on what the first run left translated, chained and cached. */
	h_tb->cpu.st = st0;
	h_tb->cpu.stop_req = false;
	swh_poke(h_tb, DATA_GPA, data_buf, DATA_SIZE);
	memset(image, 0xf4, sizeof(image));
	memcpy(image + (c->code_addr - CODE_GPA), c->code, c->len);
	if (memcmp(out_tb.code, image, CODE_SIZE))
		swh_poke(h_tb, CODE_GPA, image, CODE_SIZE);
	run_tb(h_tb, &out_tb2);
	d = compare(&out_tb2, &out_int, NULL, &sig2);
	if (d) {
		out_bad = &out_tb2;
		if (sig)
			*sig = sig2;
	}
	return d;
}

/* Bring the translator's RAM back in line with the interpreter's (after a mismatch). */
static void resync_ram(void)
{
	static uint8_t ram[RAM_SIZE];

	swh_peek(h_int, 0, ram, RAM_SIZE);
	swh_poke(h_tb, 0, ram, RAM_SIZE);
}

/* Writes outside the compared areas (raw instructions with wild pointers) must agree too. */
static bool ram_equal(void)
{
	static uint8_t a[RAM_SIZE], b[RAM_SIZE];

	swh_peek(h_tb, 0, a, RAM_SIZE);
	swh_peek(h_int, 0, b, RAM_SIZE);
	for (unsigned k = 0; k < RAM_SIZE; k++)
		if (a[k] != b[k]) {
			printf("tb-diff: first difference at %#x: translator %02x, interpreter %02x\n",
			       k, a[k], b[k]);
			return false;
		}
	return true;
}

/* Does @c still differ the same way (@want)? The VMs are brought back in line after. */
static bool differs_as(const struct tcase *c, unsigned want)
{
	unsigned sig, d = run_case(c, &sig);

	if (d)
		resync_ram();
	return d && sig == want;
}

/*
 * Shrink a differing case: replace each instruction with NOPs of its
 * length while it still differs the same way (jump offsets stay valid),
 * then drop the NOP runs where that keeps it differing too.
 */
static void minimize(struct tcase *c, unsigned want)
{
	ZydisDecoder *dec = c->m64 ? &dec64 : &dec32;
	unsigned off[MAX_CODE + 16], len[MAX_CODE + 16], n = 0, o = 0;
	uint8_t save[16];

	while (o + 1 < c->len) {
		ZydisDecodedInstruction zi;

		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(dec, NULL, c->code + o, c->len - o, &zi)))
			return;
		off[n] = o;
		len[n++] = zi.length;
		o += zi.length;
	}
	for (unsigned k = n; k-- > 0;) {
		memcpy(save, c->code + off[k], len[k]);
		memset(c->code + off[k], 0x90, len[k]);
		if (!differs_as(c, want))
			memcpy(c->code + off[k], save, len[k]);
	}
	for (unsigned k = n; k-- > 0;) {
		struct tcase t = *c;
		bool nop = true;

		for (unsigned b = 0; b < len[k]; b++)
			nop &= c->code[off[k] + b] == 0x90;
		if (!nop)
			continue;
		memmove(t.code + off[k], t.code + off[k] + len[k], t.len - off[k] - len[k]);
		t.len -= len[k];
		if (differs_as(&t, want))
			*c = t;
	}
	run_case(c, NULL);
}

/*
 * Translator bugs this test found, still open. Each has a reproducer,
 * run first and printed while it still differs (the test fails until it
 * passes), and a rule that recognises the bug in a random case's
 * difference: such cases are counted apart, so that a new bug still
 * shows as a mismatch. Remove an entry once the bug is fixed.
 */
struct known_bug {
	const char *what;
	bool (*matches)(const struct tcase *c, const struct outcome *t, const struct outcome *i,
			unsigned sig);
	struct tcase repro;
};

/*
 * Translator bugs this test has found and that are not fixed yet, each
 * with its reproducer (none now: flags at a fault, CALL [mem] overlapping
 * its own push and XCHG EAX, EAX were fixed in accel/sw/translator/).
 */
static const struct known_bug known_bugs[] = {};

#define NR_KNOWN_BUGS (sizeof(known_bugs) / sizeof(known_bugs[0]))

/* A function, not the constant: with the list empty, loops over it would warn. */
static unsigned nr_known_bugs(void)
{
	return (unsigned)NR_KNOWN_BUGS;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(void)
{
	const char *s = getenv("TANDEM_TB_DIFF_SEED"), *n = getenv("TANDEM_TB_DIFF_CASES");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x74622d64696666ull;
	unsigned long cases = n ? strtoul(n, NULL, 0) : 24000;
	unsigned long done = 0, mismatches = 0, both_faulted = 0, tainted = 0, limited = 0;
	unsigned long known_open = 0, with_blocks = 0, known_hits[NR_KNOWN_BUGS + 1] = { 0 };
	unsigned long by_mode[4] = { 0 }, vectors[32] = { 0 }, compat = 0;
	static unsigned long fault_mn[ZYDIS_MNEMONIC_MAX_VALUE + 1];
	bool verbose = getenv("TANDEM_TB_DIFF_VERBOSE");
	/* TANDEM_TB_DIFF_ALL=1: no difference is put down to a known bug. */
	bool all = getenv("TANDEM_TB_DIFF_ALL");
	uint64_t blocks = 0, t0 = now_ns();
	struct itimerval tick;
	static struct tcase c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(ALARM_SECONDS);
	for (unsigned i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		total_weight += families[i].weight;
	ZydisDecoderInit(&dec64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisDecoderInit(&dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	h_tb = swh_new(RAM_SIZE, SWH_LONG64);
	h_int = swh_new(RAM_SIZE, SWH_LONG64);
	if (!h_tb || !h_int) {
		printf("tb-diff: FAIL: cannot create the harness VMs\n");
		return 1;
	}
	if (!h_tb->svm.tb) {
		printf("tb-diff: SKIP: the harness VM has no translator\n");
		return 77;
	}
	tb_set_kick(&h_tb->cpu, &kick);
	/* The kick every millisecond: translated code must leave and come back unharmed. */
	signal(SIGVTALRM, on_tick);
	tick = (struct itimerval){ { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_VIRTUAL, &tick, NULL);

	for (unsigned k = 0; k < nr_known_bugs(); k++) {
		const struct tcase *kc = &known_bugs[k].repro;
		unsigned d = run_case(kc, NULL);

		printf("tb-diff: known bug %s: %s\n", kc->name,
		       d ? "still reproduces" : "passes now: remove it from known_bugs[]");
		if (d || verbose) {
			known_open += d != 0;
			printf("  (%s)\n", known_bugs[k].what);
			report(stdout, kc, out_bad, &out_int);
			resync_ram();
		}
	}

	rng_state = seed ? seed : 1;
	for (unsigned long k = 0; k < cases; k++) {
		unsigned m = rn(100), d, sig;
		bool m64 = m < 60;
		unsigned cpl = (m64 ? m >= 45 : m >= 88) ? 3 : 0;

		gen_case(&c, m64 ? &dec64 : &dec32, m64, cpl);
		/* A fifth of the 32-bit cases run in compatibility mode. */
		c.compat = !m64 && (k % 5) == 2;
		d = run_case(&c, &sig);
		done++;
		by_mode[(m64 ? 0 : 2) + (cpl ? 1 : 0)]++;
		compat += c.compat;
		blocks += out_tb.blocks;
		with_blocks += out_tb.blocks != 0;
		if (out_int.tainted)
			tainted++;
		if (out_int.end == END_LIMIT || out_tb.end == END_LIMIT)
			limited++;
		/* At CPL 3 the final HLT is a #GP: the normal end, not a fault. */
		if (!d && out_tb.end == END_FAULT && out_int.end == END_FAULT &&
		    !(cpl == 3 && out_int.vector == 13 &&
		      out_int.st.rip == c.code_addr + c.len - 1)) {
			uint64_t at = out_int.st.rip - CODE_GPA;
			ZydisDecodedInstruction zi;

			both_faulted++;
			vectors[out_int.vector & 31]++;
			if (at < CODE_SIZE && ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(
				    m64 ? &dec64 : &dec32, NULL, out_int.code + at, CODE_SIZE - at, &zi)))
				fault_mn[zi.mnemonic]++;
		}
		if (d) {
			unsigned kb;

			for (kb = 0; kb < nr_known_bugs() && !all; kb++)
				if (known_bugs[kb].matches(&c, out_bad, &out_int, sig))
					break;
			if (kb < nr_known_bugs() && !all) {
				known_hits[kb]++;
				resync_ram();
				continue;
			}
			if (mismatches < 10) {
				uint64_t st = rng_state;

				printf("tb-diff: MISMATCH in case %lu (seed %#" PRIx64 "):\n", k, seed);
				report(stdout, &c, out_bad, &out_int);
				resync_ram();
				minimize(&c, sig);
				printf("tb-diff: ... minimized:\n");
				report(stdout, &c, out_bad, &out_int);
				rng_state = st;
			}
			mismatches++;
			resync_ram();
		} else if (!(k % 256) && !ram_equal()) {
			printf("tb-diff: MISMATCH: RAM outside the compared areas differs after case "
			       "%lu (seed %#" PRIx64 ")\n", k, seed);
			mismatches++;
			resync_ram();
		}
	}
	tick = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_VIRTUAL, &tick, NULL);

	printf("tb-diff: seed %#" PRIx64 ": 64-bit CPL0 %lu, CPL3 %lu; 32-bit CPL0 %lu, CPL3 %lu "
	       "(%lu of them in compatibility mode); "
	       "%" PRIu64 " translated blocks run (%lu cases ran some), %lu ran to the limit, "
	       "%lu read an undefined flag (not compared), %.1f s\n",
	       seed, by_mode[0], by_mode[1], by_mode[2], by_mode[3], compat, blocks, with_blocks,
	       limited,
	       tainted, (double)(now_ns() - t0) / 1e9);
	printf("tb-diff: faults by vector:");
	for (unsigned v = 0; v < 32; v++)
		if (vectors[v])
			printf(" #%u=%lu", v, vectors[v]);
	printf("\n");
	if (verbose) {
		printf("tb-diff: faulting instructions:");
		for (unsigned m = 0; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++)
			if (fault_mn[m] >= both_faulted / 100)
				printf(" %s=%lu", ZydisMnemonicGetString((ZydisMnemonic)m), fault_mn[m]);
		printf("\n");
	}
	for (unsigned k = 0; k < nr_known_bugs(); k++)
		if (known_hits[k])
			printf("tb-diff: %lu more cases differ as known bug %s does (not counted "
			       "below)\n", known_hits[k], known_bugs[k].repro.name);
	printf("tb-diff: %lu cases, %lu mismatches (%lu faulted on both)\n", done, mismatches,
	       both_faulted);
	if (known_open)
		printf("tb-diff: %lu known translator bug%s still reproduce%s (known_bugs[])\n",
		       known_open, known_open == 1 ? "" : "s", known_open == 1 ? "s" : "");
	if (verbose) {
		printf("tb-diff: units generated:");
		for (unsigned i = 0; i < sizeof(families) / sizeof(families[0]); i++)
			printf(" %s=%lu", families[i].name, family_used[i]);
		printf("\n");
		tb_print_stats(&h_tb->svm, stdout);
	}
	swh_free(h_tb);
	swh_free(h_int);
	if (done && with_blocks < done / 2) {
		printf("tb-diff: FAIL: the translator ran in only %lu of %lu cases\n", with_blocks,
		       done);
		return 1;
	}
	return mismatches || known_open ? 1 : 0;
}
