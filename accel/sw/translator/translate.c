// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Block translation: guest x86 in, host x86-64 out, same instructions
 * where possible ("copy, don't lift", see shared/TRANSLATOR.md).
 *
 * A block is decoded first (up to TB_MAX_INSNS, never past its page, never
 * past an instruction the interpreter must run), each instruction is
 * classified, flag liveness is computed backwards, and only then is code
 * emitted, so that inserted code knows whether it may clobber RFLAGS:
 *
 *   K_NATIVE  re-encoded by Zydis with the guest's own registers; a memory
 *             operand becomes [r15 - (size - 1)] after the inline TLB probe
 *             left the host address (+ size - 1) in r15; guest rsp/r14/r15
 *             are loaded into a free scratch register around it.
 *   K_PUSH/K_POP/K_CALL/K_RET/K_JMP_IND/K_CALL_IND   written out here.
 *   K_RDTSC   at CPL 0: the host's TSC plus the vCPU's offset (sw_rdtsc());
 *             under -icount the helper (the TSC is the instruction clock).
 *   K_JCC/K_JMP  direct exits, chained later by exec.c.
 *   K_HELPER  the interpreter's handler, called through help_tramp; the
 *             block goes on unless the handler changed RIP or stopped.
 *   K_TERM    ends the block before it: the run loop interprets it (system
 *             instructions, far transfers, anything that changes the mode).
 *
 * Precise state at every call into C: guest registers are spilled by the
 * trampolines, RIP is the site's, so a fault raised there (#PF from the TLB
 * fill, #DE from a DIV) is delivered exactly as from the interpreter.
 *
 * -icount: the exit-request check is at the entry, and also compares the
 * block's end count with cpu->tb.icount_limit before adding its length to
 * cpu->icount; C sites know their instruction's index and set the count
 * back to it while they run (exec.c), so the count is exact at a fault.
 */
#include <stdlib.h>
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/translator/emit.h"
#include "accel/sw/translator/tb_int.h"

enum kind {
	K_NATIVE, K_NOP, K_PUSH, K_POP, K_RDTSC, K_HELPER, K_JCC, K_JMP, K_CALL, K_RET,
	K_JMP_IND, K_CALL_IND, K_TERM,
};

struct tinsn {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	struct sw_insn in;
	uint64_t rip, next;
	enum kind kind;
	int mem;			/* accessing memory operand, -1 */
	unsigned msize;			/* its size in bytes */
	bool mwrite;
	bool malign;			/* must be aligned to its size (SSE) */
	bool sys;			/* a system instruction run by a helper */
	uint32_t undef;			/* OSZAPC it leaves undefined */
	uint32_t fl_read, fl_write;
	uint32_t fl_may;		/* flags it may write (fl_write: those it surely writes) */
	bool live_in;			/* guest OSZAPC needed before this insn */
};

struct pending_slow {
	uint32_t jnz;			/* rel32 of the probe's jnz */
	uint32_t jalign;		/* rel32 of the alignment check's jnz, or 0 */
	uint32_t resume, next;
	int32_t tlb;			/* gs: offset of the table probed */
	unsigned size;
	bool popf;			/* the guest flags are saved (flags_save) */
	unsigned site;
};

/* Where the code loads a site's address (mov r14, imm64), patched once sites are final. */
struct site_ref {
	uint32_t imm;
	unsigned site;
};

/* The exit-request check's stub, written after the block. */
struct pending_check {
	uint32_t jne;
	uint32_t jbudget;		/* -icount: the budget's ja, or 0 */
	uint64_t rip;
};

#define TB_MAX_SITES	(TB_MAX_INSNS * 2)

struct scratch {
	struct tinsn t[TB_MAX_INSNS];
	struct pending_slow slow[TB_MAX_SITES];
	struct tb_site sites[TB_MAX_SITES];
	struct site_ref refs[TB_MAX_SITES * 2];
};

struct tctx {
	struct tb_vcpu *tv;
	struct emit e;
	struct tb *tb;
	unsigned bits, sbits, cpl;
	bool sse;			/* SSE instructions may run natively */
	bool lockstep;			/* jit=check: helpers end the block (see check.c) */
	bool icount;			/* -icount: count instructions, clock reads in C */
	unsigned cur;			/* index of the instruction being emitted */
	uint32_t icount_imm;		/* -icount: the block length's imm32 in the entry */
	bool region;			/* in a dead-flags stretch: the exact flags are in the slot */
	struct scratch *s;
	unsigned nslow, nsites, nrefs;
	uint32_t pending_next[TB_MAX_SITES];	/* slow entries whose 'next' is this insn's end */
	unsigned npending_next;
	struct pending_check check;
	bool has_check;
};

void *tb_translate_scratch_new(void)
{
	return calloc(1, sizeof(struct scratch));
}

/* ---- registers ---- */

static int gpr_of(ZydisRegister r)
{
	ZydisRegister big;

	if (r == ZYDIS_REGISTER_NONE)
		return -1;
	big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return -1;
	return (int)(big - ZYDIS_REGISTER_RAX);
}

static bool is_high8(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH;
}

/* The same-sized piece of host register @h (14 or 15) that stands in for @r. */
static ZydisRegister subst_reg(ZydisRegister r, unsigned h)
{
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
		return h == H_R14 ? ZYDIS_REGISTER_R14B : ZYDIS_REGISTER_R15B;
	case ZYDIS_REGCLASS_GPR16:
		return h == H_R14 ? ZYDIS_REGISTER_R14W : ZYDIS_REGISTER_R15W;
	case ZYDIS_REGCLASS_GPR32:
		return h == H_R14 ? ZYDIS_REGISTER_R14D : ZYDIS_REGISTER_R15D;
	default:
		return h == H_R14 ? ZYDIS_REGISTER_R14 : ZYDIS_REGISTER_R15;
	}
}

/* ---- classification ---- */

static bool is_cc_mnemonic(ZydisMnemonic m)
{
	return sw_mnemonic_cc(m) >= 0;
}

static bool native_mnemonic(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_ADC:
	case ZYDIS_MNEMONIC_SBB: case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_SUB:
	case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_CMP: case ZYDIS_MNEMONIC_TEST:
	case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG:
	case ZYDIS_MNEMONIC_NOT: case ZYDIS_MNEMONIC_MOV: case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD: case ZYDIS_MNEMONIC_LEA:
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
	case ZYDIS_MNEMONIC_IMUL: case ZYDIS_MNEMONIC_MUL: case ZYDIS_MNEMONIC_BT:
	case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
	case ZYDIS_MNEMONIC_XCHG: case ZYDIS_MNEMONIC_CMPXCHG: case ZYDIS_MNEMONIC_XADD:
	case ZYDIS_MNEMONIC_BSWAP: case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR:
	case ZYDIS_MNEMONIC_CBW: case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE:
	case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO:
	case ZYDIS_MNEMONIC_CLC: case ZYDIS_MNEMONIC_STC: case ZYDIS_MNEMONIC_CMC:
	case ZYDIS_MNEMONIC_LAHF: case ZYDIS_MNEMONIC_SAHF: case ZYDIS_MNEMONIC_PAUSE:
	case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_MFENCE:
		return true;
	default:
		/* SETcc, CMOVcc (Jcc are branches and never get here). */
		return is_cc_mnemonic(m);
	}
}

/*
 * SSE/SSE2 instructions whose host execution is the guest's: integer,
 * logical and data movement, nothing that reads MXCSR or raises #XM.
 */
static bool sse_native_mnemonic(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_MOVAPS: case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVAPD:
	case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQA: case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_MOVD: case ZYDIS_MNEMONIC_MOVQ: case ZYDIS_MNEMONIC_MOVNTDQ:
	case ZYDIS_MNEMONIC_MOVNTPS: case ZYDIS_MNEMONIC_MOVNTPD: case ZYDIS_MNEMONIC_MOVNTI:
	case ZYDIS_MNEMONIC_MOVHLPS: case ZYDIS_MNEMONIC_MOVLHPS: case ZYDIS_MNEMONIC_MOVLPS:
	case ZYDIS_MNEMONIC_MOVHPS: case ZYDIS_MNEMONIC_MOVLPD: case ZYDIS_MNEMONIC_MOVHPD:
	case ZYDIS_MNEMONIC_PXOR: case ZYDIS_MNEMONIC_POR: case ZYDIS_MNEMONIC_PAND:
	case ZYDIS_MNEMONIC_PANDN: case ZYDIS_MNEMONIC_XORPS: case ZYDIS_MNEMONIC_XORPD:
	case ZYDIS_MNEMONIC_ANDPS: case ZYDIS_MNEMONIC_ANDPD: case ZYDIS_MNEMONIC_ORPS:
	case ZYDIS_MNEMONIC_ORPD: case ZYDIS_MNEMONIC_ANDNPS: case ZYDIS_MNEMONIC_ANDNPD:
	case ZYDIS_MNEMONIC_PCMPEQB: case ZYDIS_MNEMONIC_PCMPEQW: case ZYDIS_MNEMONIC_PCMPEQD:
	case ZYDIS_MNEMONIC_PCMPGTB: case ZYDIS_MNEMONIC_PCMPGTW: case ZYDIS_MNEMONIC_PCMPGTD:
	case ZYDIS_MNEMONIC_PMOVMSKB: case ZYDIS_MNEMONIC_MOVMSKPS: case ZYDIS_MNEMONIC_MOVMSKPD:
	case ZYDIS_MNEMONIC_PADDB: case ZYDIS_MNEMONIC_PADDW: case ZYDIS_MNEMONIC_PADDD:
	case ZYDIS_MNEMONIC_PADDQ: case ZYDIS_MNEMONIC_PSUBB: case ZYDIS_MNEMONIC_PSUBW:
	case ZYDIS_MNEMONIC_PSUBD: case ZYDIS_MNEMONIC_PSUBQ: case ZYDIS_MNEMONIC_PADDUSB:
	case ZYDIS_MNEMONIC_PADDUSW: case ZYDIS_MNEMONIC_PSUBUSB: case ZYDIS_MNEMONIC_PSUBUSW:
	case ZYDIS_MNEMONIC_PADDSB: case ZYDIS_MNEMONIC_PADDSW: case ZYDIS_MNEMONIC_PSUBSB:
	case ZYDIS_MNEMONIC_PSUBSW: case ZYDIS_MNEMONIC_PMINUB: case ZYDIS_MNEMONIC_PMAXUB:
	case ZYDIS_MNEMONIC_PMINSW: case ZYDIS_MNEMONIC_PMAXSW: case ZYDIS_MNEMONIC_PAVGB:
	case ZYDIS_MNEMONIC_PAVGW: case ZYDIS_MNEMONIC_PSADBW: case ZYDIS_MNEMONIC_PMULLW:
	case ZYDIS_MNEMONIC_PMULHW: case ZYDIS_MNEMONIC_PMULHUW: case ZYDIS_MNEMONIC_PMULUDQ:
	case ZYDIS_MNEMONIC_PMADDWD: case ZYDIS_MNEMONIC_PSHUFD: case ZYDIS_MNEMONIC_PSHUFLW:
	case ZYDIS_MNEMONIC_PSHUFHW: case ZYDIS_MNEMONIC_SHUFPS: case ZYDIS_MNEMONIC_SHUFPD:
	case ZYDIS_MNEMONIC_PUNPCKLBW: case ZYDIS_MNEMONIC_PUNPCKLWD: case ZYDIS_MNEMONIC_PUNPCKLDQ:
	case ZYDIS_MNEMONIC_PUNPCKLQDQ: case ZYDIS_MNEMONIC_PUNPCKHBW: case ZYDIS_MNEMONIC_PUNPCKHWD:
	case ZYDIS_MNEMONIC_PUNPCKHDQ: case ZYDIS_MNEMONIC_PUNPCKHQDQ: case ZYDIS_MNEMONIC_UNPCKLPS:
	case ZYDIS_MNEMONIC_UNPCKHPS: case ZYDIS_MNEMONIC_UNPCKLPD: case ZYDIS_MNEMONIC_UNPCKHPD:
	case ZYDIS_MNEMONIC_PACKSSWB: case ZYDIS_MNEMONIC_PACKUSWB: case ZYDIS_MNEMONIC_PACKSSDW:
	case ZYDIS_MNEMONIC_PSLLDQ: case ZYDIS_MNEMONIC_PSRLDQ: case ZYDIS_MNEMONIC_PSLLW:
	case ZYDIS_MNEMONIC_PSLLD: case ZYDIS_MNEMONIC_PSLLQ: case ZYDIS_MNEMONIC_PSRLW:
	case ZYDIS_MNEMONIC_PSRLD: case ZYDIS_MNEMONIC_PSRLQ: case ZYDIS_MNEMONIC_PSRAW:
	case ZYDIS_MNEMONIC_PSRAD: case ZYDIS_MNEMONIC_PEXTRW: case ZYDIS_MNEMONIC_PINSRW:
		return true;
	default:
		return false;
	}
}

/* The 16-byte memory forms that do not require alignment. */
static bool sse_unaligned_ok(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_MOVUPS || m == ZYDIS_MNEMONIC_MOVUPD || m == ZYDIS_MNEMONIC_MOVDQU;
}

static bool is_xmm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15;
}

/*
 * System instructions the interpreter may run in the middle of a block:
 * none of them changes what the block was translated for, or if it does
 * (POPF setting TF, STI enabling interrupts, a segment load making 32-bit
 * code non-flat) the helper sees it afterwards and leaves (exec.c).
 */
static bool sys_helper_ok(const struct tctx *x, const struct tinsn *t)
{
	const ZydisDecodedOperand *d = &t->op[0], *s = &t->op[1];

	switch (t->zi.mnemonic) {
	case ZYDIS_MNEMONIC_CLI: case ZYDIS_MNEMONIC_STI: case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPFQ: case ZYDIS_MNEMONIC_SWAPGS:
	case ZYDIS_MNEMONIC_VERW: case ZYDIS_MNEMONIC_VERR: case ZYDIS_MNEMONIC_RDMSR:
	case ZYDIS_MNEMONIC_IN: case ZYDIS_MNEMONIC_OUT: case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_LAR: case ZYDIS_MNEMONIC_STR: case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_SGDT: case ZYDIS_MNEMONIC_SIDT: case ZYDIS_MNEMONIC_SMSW:
	case ZYDIS_MNEMONIC_RDPMC: case ZYDIS_MNEMONIC_RDPID:
		return true;
	case ZYDIS_MNEMONIC_MOV:
		if (d->type != ZYDIS_OPERAND_TYPE_REGISTER && d->type != ZYDIS_OPERAND_TYPE_MEMORY)
			return false;
		if (s->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(s->reg.value) == ZYDIS_REGCLASS_CONTROL)
			return true;	/* reads of CR0-CR8 */
		if (s->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(s->reg.value) == ZYDIS_REGCLASS_SEGMENT)
			return true;	/* reads of a selector */
		/* Loads of DS, ES, FS, GS in 64-bit code: bases are read at run time. */
		return x->bits == 64 && d->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       (d->reg.value == ZYDIS_REGISTER_DS || d->reg.value == ZYDIS_REGISTER_ES ||
			d->reg.value == ZYDIS_REGISTER_FS || d->reg.value == ZYDIS_REGISTER_GS);
	default:
		return false;
	}
}

/* Instructions the interpreter runs in the middle of a block. */
static bool helper_ok(const struct tinsn *t)
{
	ZydisMnemonic m = t->zi.mnemonic;

	switch (t->zi.meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87: case ZYDIS_ISA_EXT_MMX: case ZYDIS_ISA_EXT_SSE:
	case ZYDIS_ISA_EXT_SSE2: case ZYDIS_ISA_EXT_SSE3: case ZYDIS_ISA_EXT_SSSE3:
	case ZYDIS_ISA_EXT_SSE4: case ZYDIS_ISA_EXT_AVX: case ZYDIS_ISA_EXT_AVX2:
	case ZYDIS_ISA_EXT_AVX2GATHER: case ZYDIS_ISA_EXT_FMA: case ZYDIS_ISA_EXT_F16C:
	case ZYDIS_ISA_EXT_AES: case ZYDIS_ISA_EXT_AVXAES: case ZYDIS_ISA_EXT_PCLMULQDQ:
	case ZYDIS_ISA_EXT_SHA: case ZYDIS_ISA_EXT_BMI1: case ZYDIS_ISA_EXT_BMI2:
		return true;
	default:
		break;
	}
	if (t->zi.meta.category == ZYDIS_CATEGORY_STRINGOP)
		return true;
	switch (m) {
	case ZYDIS_MNEMONIC_DIV: case ZYDIS_MNEMONIC_IDIV: case ZYDIS_MNEMONIC_XLAT:
	case ZYDIS_MNEMONIC_CLD: case ZYDIS_MNEMONIC_STD: case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD: case ZYDIS_MNEMONIC_PUSHFQ: case ZYDIS_MNEMONIC_CPUID:
	case ZYDIS_MNEMONIC_RDTSC: case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_LEAVE:
	case ZYDIS_MNEMONIC_ENTER: case ZYDIS_MNEMONIC_CMPXCHG8B:
	case ZYDIS_MNEMONIC_CMPXCHG16B: case ZYDIS_MNEMONIC_POPCNT: case ZYDIS_MNEMONIC_LZCNT:
	case ZYDIS_MNEMONIC_TZCNT: case ZYDIS_MNEMONIC_MOVBE: case ZYDIS_MNEMONIC_ADCX:
	case ZYDIS_MNEMONIC_ADOX: case ZYDIS_MNEMONIC_MULX: case ZYDIS_MNEMONIC_ANDN:
	case ZYDIS_MNEMONIC_SHLX: case ZYDIS_MNEMONIC_SHRX: case ZYDIS_MNEMONIC_SARX:
	case ZYDIS_MNEMONIC_RORX: case ZYDIS_MNEMONIC_BEXTR: case ZYDIS_MNEMONIC_BLSI:
	case ZYDIS_MNEMONIC_BLSR: case ZYDIS_MNEMONIC_BLSMSK: case ZYDIS_MNEMONIC_BZHI:
	case ZYDIS_MNEMONIC_PDEP: case ZYDIS_MNEMONIC_PEXT:
		return true;
	default:
		break;
	}
	/*
	 * What natively would have been fine but for its form (16-bit
	 * addressing, a segment override, two memory operands): as long as
	 * no segment, control or debug register is involved.
	 */
	if (!native_mnemonic(m) && m != ZYDIS_MNEMONIC_PUSH && m != ZYDIS_MNEMONIC_POP)
		return false;
	for (unsigned i = 0; i < t->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &t->op[i];

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(o->reg.value) < 0 &&
		    o->reg.value != ZYDIS_REGISTER_RFLAGS && o->reg.value != ZYDIS_REGISTER_EFLAGS &&
		    o->reg.value != ZYDIS_REGISTER_FLAGS && o->reg.value != ZYDIS_REGISTER_RSP &&
		    o->reg.value != ZYDIS_REGISTER_ESP && o->reg.value != ZYDIS_REGISTER_SP &&
		    o->reg.value != ZYDIS_REGISTER_RIP && o->reg.value != ZYDIS_REGISTER_EIP &&
		    o->reg.value != ZYDIS_REGISTER_IP)
			return false;
		if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o->imm.is_relative)
			return false;
	}
	return true;
}

static bool is_nop(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_ENDBR32: case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_PREFETCH: case ZYDIS_MNEMONIC_PREFETCHNTA:
	case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_PREFETCHW:
		return true;
	default:
		return false;
	}
}

/* Registers of a segment other than FS/GS in 64-bit code add nothing; 32-bit code is flat. */
static bool seg_ok(const struct tctx *x, ZydisRegister seg)
{
	if (x->bits == 64)
		return true;
	return seg == ZYDIS_REGISTER_DS || seg == ZYDIS_REGISTER_ES || seg == ZYDIS_REGISTER_SS;
}

/* Operand checks for a native copy: GPRs, immediates, at most one memory operand. */
static bool native_form(const struct tctx *x, struct tinsn *t)
{
	unsigned nmem = 0;

	t->mem = -1;
	if (t->zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
				ZYDIS_ATTRIB_HAS_REPNE))
		return false;
	for (unsigned i = 0; i < t->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &t->op[i];

		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			if (o->reg.value == ZYDIS_REGISTER_RFLAGS ||
			    o->reg.value == ZYDIS_REGISTER_EFLAGS ||
			    o->reg.value == ZYDIS_REGISTER_FLAGS)
				break;
			if (is_xmm(o->reg.value) && x->sse && (x->bits == 64 ||
			    o->reg.value <= ZYDIS_REGISTER_XMM7))
				break;
			if (o->reg.value == ZYDIS_REGISTER_MXCSR)
				return false;
			if (gpr_of(o->reg.value) < 0)
				return false;
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			if (o->imm.is_relative)
				return false;
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			if (i >= t->zi.operand_count_visible)
				return false;
			if (t->zi.address_width == 16)
				return false;
			if (o->mem.type == ZYDIS_MEMOP_TYPE_AGEN)
				break;
			if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM || !seg_ok(x, o->mem.segment))
				return false;
			if (o->size != 8 && o->size != 16 && o->size != 32 && o->size != 64 &&
			    !(o->size == 128 && x->sse))
				return false;
			nmem++;
			t->mem = (int)i;
			t->msize = o->size / 8;
			t->mwrite = o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
			break;
		default:
			return false;
		}
	}
	if (nmem > 1)
		return false;
	/* BT* with a register bit offset reaches beyond the operand in memory. */
	if (t->mem >= 0 && (t->zi.mnemonic == ZYDIS_MNEMONIC_BT ||
			    t->zi.mnemonic == ZYDIS_MNEMONIC_BTS ||
			    t->zi.mnemonic == ZYDIS_MNEMONIC_BTR ||
			    t->zi.mnemonic == ZYDIS_MNEMONIC_BTC) &&
	    t->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER)
		return false;
	return true;
}

static uint32_t zflags(uint32_t f)
{
	return f & (uint32_t)TB_OSZAPC;
}

/* A shift or rotate by CL (or by an immediate that masks to 0) may leave the flags alone. */
static bool flags_conditional(const struct tinsn *t)
{
	switch (t->zi.mnemonic) {
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD: {
		unsigned last = t->zi.operand_count_visible - 1;
		const ZydisDecodedOperand *c = &t->op[last];
		unsigned mask = t->zi.operand_width == 64 ? 63 : 31;

		return c->type != ZYDIS_OPERAND_TYPE_IMMEDIATE || (c->imm.value.u & mask) == 0;
	}
	default:
		return false;
	}
}

static int visible_gpr(const struct tinsn *t, unsigned i)
{
	if (i >= t->zi.operand_count_visible || t->op[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	return gpr_of(t->op[i].reg.value);
}

static void classify(const struct tctx *x, struct tinsn *t)
{
	ZydisMnemonic m = t->zi.mnemonic;
	unsigned near_w = x->bits == 64 ? 64 : 32;
	const ZydisAccessedFlags *f = t->zi.cpu_flags;

	t->mem = -1;
	t->sys = false;
	t->undef = 0;
	t->fl_may = 0;
	t->fl_read = (uint32_t)TB_OSZAPC;	/* conservative default */
	t->fl_write = 0;
	t->kind = K_TERM;
	if (is_nop(m)) {
		t->kind = K_NOP;
		t->fl_read = 0;
		return;
	}
	switch (t->zi.meta.branch_type) {
	case ZYDIS_BRANCH_TYPE_NONE:
		break;
	case ZYDIS_BRANCH_TYPE_SHORT:
	case ZYDIS_BRANCH_TYPE_NEAR:
		if (t->zi.operand_width != near_w)
			return;
		if (m == ZYDIS_MNEMONIC_RET) {
			t->kind = K_RET;
			t->fl_read = 0;
			return;
		}
		if (t->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && t->op[0].imm.is_relative) {
			if (m == ZYDIS_MNEMONIC_JMP)
				t->kind = K_JMP;
			else if (m == ZYDIS_MNEMONIC_CALL)
				t->kind = K_CALL;
			else if (sw_mnemonic_cc(m) >= 0)
				t->kind = K_JCC;
			else
				return;		/* LOOP, JRCXZ: the interpreter */
			t->fl_read = t->kind == K_JCC ? zflags(f ? f->tested : TB_OSZAPC) : 0;
			return;
		}
		if (m != ZYDIS_MNEMONIC_JMP && m != ZYDIS_MNEMONIC_CALL)
			return;
		if (t->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			if (gpr_of(t->op[0].reg.value) < 0)
				return;
		} else if (t->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			const ZydisDecodedOperand *o = &t->op[0];

			if (t->zi.address_width == 16 || o->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
			    !seg_ok(x, o->mem.segment))
				return;
			t->mem = 0;
			t->msize = o->size / 8;
			t->mwrite = false;
		} else {
			return;
		}
		t->kind = m == ZYDIS_MNEMONIC_JMP ? K_JMP_IND : K_CALL_IND;
		t->fl_read = 0;
		return;
	default:
		return;		/* far transfers */
	}

	/*
	 * CR4.TSD only restricts CPL > 0; jit=check's replay would read another
	 * TSC; -icount's TSC is the instruction clock, which the helper reads.
	 */
	if (m == ZYDIS_MNEMONIC_RDTSC && x->cpl == 0 && !x->lockstep && !x->icount) {
		t->kind = K_RDTSC;
		t->fl_read = 0;
		return;
	}
	if (m == ZYDIS_MNEMONIC_PUSH && t->zi.operand_width == x->sbits &&
	    t->zi.operand_width == near_w) {
		int g = visible_gpr(t, 0);

		if (g >= 0 || (t->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)) {
			t->kind = K_PUSH;
			t->fl_read = 0;
			return;
		}
	}
	if (m == ZYDIS_MNEMONIC_POP && t->zi.operand_width == x->sbits &&
	    t->zi.operand_width == near_w) {
		int g = visible_gpr(t, 0);

		if (g >= 0 && g != R_SP) {
			t->kind = K_POP;
			t->fl_read = 0;
			return;
		}
	}
	if ((native_mnemonic(m) || (x->sse && sse_native_mnemonic(m))) && native_form(x, t)) {
		t->kind = K_NATIVE;
		t->undef = zflags(f ? f->undefined : 0);
		t->fl_read = zflags(f ? f->tested : TB_OSZAPC);
		t->fl_may = zflags(f ? (f->modified | f->set_0 | f->set_1 | f->undefined) : 0);
		t->fl_write = flags_conditional(t) ? 0 : t->fl_may;
		return;
	}
	t->mem = -1;
	if (helper_ok(t)) {
		t->kind = K_HELPER;
		return;
	}
	if (sys_helper_ok(x, t)) {
		t->kind = K_HELPER;
		t->sys = true;
		return;
	}
}

/* ---- code ---- */

static uint8_t *at(struct tctx *x, uint32_t off)
{
	return x->e.start + off;
}

static unsigned new_site(struct tctx *x, const struct tinsn *t)
{
	struct tb_site *s = &x->s->sites[x->nsites];

	s->tb = x->tb;
	s->rip = t->rip;
	s->next = t->next;
	s->mem = (int8_t)t->mem;
	s->size = (uint8_t)t->msize;
	s->acc = t->mwrite ? SW_ACC_WRITE : SW_ACC_READ;
	s->align = t->malign;
	s->sys = t->sys;
	s->idx = (uint16_t)x->cur;
	s->in = t->in;
	return x->nsites++;
}

/* mov r14, <site>: the address is patched in when the block's sites are allocated. */
static void emit_site_load(struct tctx *x, unsigned site)
{
	struct site_ref *r = &x->s->refs[x->nrefs++];

	e_u8(&x->e, 0x49);
	e_u8(&x->e, 0xbe);
	r->imm = e_off(&x->e);
	r->site = site;
	e_u64(&x->e, 0);
}

static int32_t tlb_off(const struct tctx *x, bool write)
{
	unsigned priv = x->cpl == 3 ? TB_TLB_USER : TB_TLB_SUP;

	return TB_GS(tb.tlb[priv][write ? TB_TLB_WRITE : TB_TLB_READ]);
}

/*
 * Guest OSZAPC to a slot and back, where inserted code must not change
 * them: LAHF/SETO and ADD/SAHF cost a few cycles, where POPF costs
 * twenty. Both keep every register (rax goes through a slot) and the
 * restore may run more than once for one save.
 */
static void flags_save(struct emit *e)
{
	e_store(e, 8, e_gs(TB_GS(tb.slot[2])), H_RAX);
	e_u8(e, 0x9f);					/* lahf */
	e_bytes(e, (const uint8_t[]){ 0x0f, 0x90, 0xc0 }, 3);	/* seto al */
	e_store(e, 2, e_gs(TB_GS(tb.slot[3])), H_RAX);
	e_load(e, 8, H_RAX, e_gs(TB_GS(tb.slot[2])));
}

static void flags_restore(struct emit *e)
{
	e_store(e, 8, e_gs(TB_GS(tb.slot[2])), H_RAX);
	e_load(e, 2, H_RAX, e_gs(TB_GS(tb.slot[3])));
	e_bytes(e, (const uint8_t[]){ 0x04, 0x7f }, 2);	/* add al, 0x7f: OF = al */
	e_u8(e, 0x9e);					/* sahf */
	e_load(e, 8, H_RAX, e_gs(TB_GS(tb.slot[2])));
}

/*
 * The linear address of memory operand @o into r15 (may use r14).
 * Returns false where the form is not one we compute inline.
 */
static bool emit_la(struct tctx *x, const struct tinsn *t, const ZydisDecodedOperand *o)
{
	struct emit *e = &x->e;
	bool a32 = t->zi.address_width == 32;
	int64_t disp = o->mem.disp.value;
	int b = -1, i = -1;

	if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
		uint64_t v = t->next + (uint64_t)disp;

		e_mov_imm(e, H_R15, a32 ? (uint32_t)v : v);
	} else {
		if (o->mem.base != ZYDIS_REGISTER_NONE) {
			int g = gpr_of(o->mem.base);

			if (g < 0)
				return false;
			if (tb_gpr_in_mem(g)) {
				e_load(e, 8, H_R15, e_gs(TB_GS_GPR(g)));
				b = H_R15;
			} else {
				b = g;
			}
		}
		if (o->mem.index != ZYDIS_REGISTER_NONE) {
			int g = gpr_of(o->mem.index);

			if (g < 0)
				return false;
			if (tb_gpr_in_mem(g)) {
				e_load(e, 8, H_R14, e_gs(TB_GS_GPR(g)));
				i = H_R14;
			} else {
				i = g;
			}
		}
		if (a32)
			disp = (int32_t)(uint32_t)disp;
		if (b < 0 && i < 0) {
			e_mov_imm(e, H_R15, a32 ? (uint32_t)disp : (uint64_t)disp);
		} else {
			if (disp != (int32_t)disp)
				return false;
			e_lea(e, a32 ? 4 : 8, H_R15, (struct e_mem){ .base = b, .index = i,
				.scale = o->mem.scale ? o->mem.scale : 1, .disp = (int32_t)disp });
		}
	}
	if (x->bits == 64 && (o->mem.segment == ZYDIS_REGISTER_FS ||
			      o->mem.segment == ZYDIS_REGISTER_GS)) {
		enum x86_sreg s = o->mem.segment == ZYDIS_REGISTER_FS ? S_FS : S_GS;

		e_load(e, 8, H_R14, e_gs(TB_GS(st.seg[s].base)));
		e_lea(e, 8, H_R15, (struct e_mem){ .base = H_R15, .index = H_R14, .scale = 1 });
	} else if (x->bits != 64 && !seg_ok(x, o->mem.segment)) {
		return false;
	}
	return true;
}

/*
 * Inline TLB probe of r15 (linear) for @size bytes; on a hit r15 = host
 * address + size - 1. @save_flags keeps the guest flags around it (they
 * are live); @in_pushf says the caller saved them already (an indirect
 * branch's stretch); neither: a dead-flags stretch (see below). @align:
 * a misaligned address goes to C (aligned SSE forms, #GP).
 */
static void emit_probe(struct tctx *x, const struct tinsn *t, unsigned size, bool write,
		       bool save_flags, bool in_pushf, bool align)
{
	struct emit *e = &x->e;
	int32_t off = tlb_off(x, write);
	struct pending_slow *ps = &x->s->slow[x->nslow++];
	struct tinsn copy = *t;

	copy.msize = size;
	copy.mwrite = write;
	copy.malign = align;
	/*
	 * Dead flags may still show: a fault before they are written again
	 * pushes them. So the first probe of such a stretch saves them and
	 * every slow path in it restores them (the fault is raised in C);
	 * the hit paths leave them changed, and the stretch ends where an
	 * instruction writes all six (emit_block() restores them earlier for
	 * one that writes some or reads any).
	 */
	if (save_flags) {
		flags_save(e);
	} else if (!in_pushf && !x->region) {
		flags_save(e);
		x->region = true;
	}
	e_mov_rr(e, 4, H_R14, H_R15);
	if (align) {
		/* Misaligned: to C with r15 as it is, where the interpreter raises #GP. */
		e_test_imm(e, 4, H_R15, (int32_t)(size - 1));
		ps->jalign = e_jcc(e, CC_NE, e->p);
	} else {
		ps->jalign = 0;
	}
	e_shr_imm(e, 4, H_R14, 12 - 4);
	e_and_imm(e, 4, H_R14, (int32_t)((TB_TLB_SIZE - 1) << 4));
	if (size > 1)
		e_lea(e, 8, H_R15, e_base(H_R15, (int32_t)size - 1));
	e_alu_mem(e, 0x33, H_R15, e_gs_base(H_R14, off));		/* xor r15, tag */
	e_test_imm(e, 8, H_R15, -4096);
	ps->jnz = e_jcc(e, CC_NE, e->p);
	e_alu_mem(e, 0x33, H_R15, e_gs_base(H_R14, off));		/* xor r15, tag */
	e_alu_mem(e, 0x03, H_R15, e_gs_base(H_R14, off + 8));	/* add r15, addend */
	if (save_flags)
		flags_restore(e);
	ps->resume = e_off(e);
	ps->popf = true;		/* saved in every case: the slow path restores them */
	ps->tlb = off;
	ps->size = size;
	ps->site = new_site(x, &copy);
	x->pending_next[x->npending_next++] = x->nslow - 1;
}

/* Called at the end of each instruction: its slow paths continue here. */
static void close_insn(struct tctx *x)
{
	for (unsigned i = 0; i < x->npending_next; i++)
		x->s->slow[x->pending_next[i]].next = e_off(&x->e);
	x->npending_next = 0;
}

static void emit_helper(struct tctx *x, const struct tinsn *t)
{
	struct tinsn copy = *t;

	copy.mem = -1;
	emit_site_load(x, new_site(x, &copy));
	e_call(&x->e, x->tv->help_tramp);
}

/* A direct exit to @target: jmp or jcc rel32 to a stub, patched when chained. */
static void emit_direct_exit(struct tctx *x, int cc, uint64_t target)
{
	struct tb *tb = x->tb;
	struct tb_exit *ex = &tb->exit[tb->nexit++];

	ex->tb = tb;
	ex->target = target;
	ex->patch = cc < 0 ? e_jmp(&x->e, x->e.p) : e_jcc(&x->e, (unsigned)cc, x->e.p);
}

/* Exit to the run loop with RIP = @rip and the registers as they are (no chaining). */
static void emit_exit_here(struct tctx *x, uint64_t rip, bool popf)
{
	struct emit *e = &x->e;

	if (popf)
		flags_restore(e);
	e_mov_imm(e, H_R15, rip);
	e_store(e, 8, e_gs(TB_GS(st.rip)), H_R15);
	e_store_imm(e, 8, e_gs(TB_GS(tb.exit)), 0);
	e_jmp(e, x->tv->exit_common);
}

/*
 * Indirect branch: target in r15, flags already pushed. Probe the jump
 * cache; on a hit finish the instruction (@rsp_delta added to the guest
 * stack pointer, if any) and jump; on a miss exit before the instruction,
 * which the interpreter then runs (and the dispatcher caches the target).
 */
/*
 * Jump-cache probe for guest RIP r15 (flags already saved): on a hit r14 =
 * the block's host code. Returns the rel32 of the jne taken on a miss.
 */
static uint32_t emit_jc_lookup(struct tctx *x)
{
	struct emit *e = &x->e;
	int32_t jc = TB_GS(tb.jc[x->cpl == 3 ? 1 : 0]);
	uint32_t miss;

	/* Slot (rip ^ rip >> 4) & mask, times 16: branch targets are often 16-byte aligned. */
	e_mov_rr(e, 4, H_R14, H_R15);
	e_shr_imm(e, 4, H_R14, 4);
	e_op_reg(e, 4, (const uint8_t[]){ 0x31 }, 1, H_R15, H_R14);	/* xor r14d, r15d */
	e_op_reg(e, 4, (const uint8_t[]){ 0xc1 }, 1, 4, H_R14);	/* shl r14d, 4 */
	e_u8(e, 4);
	e_and_imm(e, 4, H_R14, (int32_t)((TB_JC_SIZE - 1) << 4));
	e_alu_mem(e, 0x3b, H_R15, e_gs_base(H_R14, jc));		/* cmp r15, [jc.rip] */
	miss = e_jcc(e, CC_NE, e->p);
	e_load(e, 8, H_R14, e_gs_base(H_R14, jc + 8));
	return miss;
}

static void emit_indirect(struct tctx *x, const struct tinsn *t, int32_t rsp_delta)
{
	struct emit *e = &x->e;
	uint32_t miss = emit_jc_lookup(x);

	if (rsp_delta) {
		unsigned ss = x->sbits == 64 ? 8 : 4;

		e_load(e, 8, H_R15, e_gs(TB_GS_GPR(R_SP)));
		e_lea(e, ss, H_R15, e_base(H_R15, rsp_delta));
		e_store(e, 8, e_gs(TB_GS_GPR(R_SP)), H_R15);
	}
	flags_restore(e);
	e_jmp_reg(e, H_R14);
	/*
	 * Miss: the interpreter runs the branch (nothing of it was committed)
	 * and the dispatcher finds and caches the target. It comes back only
	 * if the target is the next instruction. Not so an indirect CALL: it
	 * already pushed, and may have overwritten its own pointer, so it is
	 * finished here and leaves for its target -- unless that target is
	 * not canonical, where the interpreter raises the #GP.
	 */
	e_patch_rel32(at(x, miss), e->p);
	if (t->kind == K_CALL_IND && !x->lockstep) {
		uint32_t bad = 0;

		if (x->bits == 64) {
			e_mov_rr(e, 8, H_R14, H_R15);
			e_op_reg(e, 8, (const uint8_t[]){ 0xc1 }, 1, 7, H_R14);	/* sar r14, 47 */
			e_u8(e, 47);
			e_op_reg(e, 8, (const uint8_t[]){ 0x83 }, 1, 0, H_R14);	/* add r14, 1 */
			e_u8(e, 1);
			e_op_reg(e, 8, (const uint8_t[]){ 0x83 }, 1, 7, H_R14);	/* cmp r14, 1 */
			e_u8(e, 1);
			bad = e_jcc(e, CC_A, e->p);
		}
		e_load(e, 8, H_R14, e_gs(TB_GS_GPR(R_SP)));
		e_lea(e, x->sbits == 64 ? 8 : 4, H_R14, e_base(H_R14, rsp_delta));
		e_store(e, 8, e_gs(TB_GS_GPR(R_SP)), H_R14);
		flags_restore(e);
		e_store(e, 8, e_gs(TB_GS(st.rip)), H_R15);
		e_store_imm(e, 8, e_gs(TB_GS(tb.exit)), 0);
		e_jmp(e, x->tv->exit_common);
		if (bad)
			e_patch_rel32(at(x, bad), e->p);
	}
	flags_restore(e);
	{
		struct tinsn copy = *t;

		copy.mem = -1;
		emit_site_load(x, new_site(x, &copy));
	}
	e_call(e, x->tv->help_tramp);
	/* The slow paths of the branch's memory accesses land here too. */
	close_insn(x);
	emit_exit_here(x, t->next, false);
}

/* Guest stack pointer into r15, minus @delta (the new top for a push). */
static void emit_sp(struct tctx *x, int32_t delta)
{
	unsigned ss = x->sbits == 64 ? 8 : 4;

	e_load(&x->e, ss, H_R15, e_gs(TB_GS_GPR(R_SP)));
	if (delta)
		e_lea(&x->e, ss, H_R15, e_base(H_R15, -delta));
}

static void emit_sp_add(struct tctx *x, int32_t delta)
{
	unsigned ss = x->sbits == 64 ? 8 : 4;

	e_load(&x->e, 8, H_R15, e_gs(TB_GS_GPR(R_SP)));
	e_lea(&x->e, ss, H_R15, e_base(H_R15, delta));
	e_store(&x->e, 8, e_gs(TB_GS_GPR(R_SP)), H_R15);
}

static void emit_push_value(struct tctx *x, const struct tinsn *t, unsigned sz, bool save_flags,
			    bool in_pushf, int src_reg, bool is_imm, int64_t imm)
{
	struct emit *e = &x->e;
	struct e_mem dst = e_base(H_R15, -(int32_t)(sz - 1));

	emit_sp(x, (int32_t)sz);
	emit_probe(x, t, sz, true, save_flags, in_pushf, false);
	if (is_imm) {
		if (imm == (int32_t)imm || sz < 8) {
			e_store_imm(e, sz, dst, (int32_t)imm);
		} else {
			e_mov_imm(e, H_R14, (uint64_t)imm);
			e_store(e, sz, dst, H_R14);
		}
	} else {
		int h = src_reg;

		if (tb_gpr_in_mem(src_reg)) {
			e_load(e, 8, H_R14, e_gs(TB_GS_GPR(src_reg)));
			h = H_R14;
		}
		e_store(e, sz, dst, (unsigned)h);
	}
}

/* Writes some flags, or may: the others keep what the instruction found. */
static bool partial_writer(const struct tinsn *t)
{
	return t->fl_may && t->fl_write != (uint32_t)TB_OSZAPC;
}

/* movdqu xmmN, gs:[guest xmmN] (or the store back). */
static void emit_xmm(struct emit *e, unsigned n, bool store)
{
	e_u8(e, 0x65);
	e_u8(e, 0xf3);
	e_op_mem(e, 4, (const uint8_t[]){ 0x0f, store ? 0x7f : 0x6f }, 2, n,
		 e_base(-1, TB_GS(st.fx.xmm[n])));
}

static bool emit_native(struct tctx *x, struct tinsn *t)
{
	struct emit *e = &x->e;
	ZydisEncoderRequest req;
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize len = sizeof(buf);
	int sub_g[2] = { -1, -1 };
	unsigned sub_h[2], nsub = 0, free_h[2], nfree;
	bool sub_w[2] = { false, false }, high8 = false;
	uint8_t *mark = e->p;
	unsigned mark_slow = x->nslow, mark_sites = x->nsites, mark_pn = x->npending_next;

	if (t->zi.mnemonic == ZYDIS_MNEMONIC_LEA &&
	    (t->op[1].mem.base == ZYDIS_REGISTER_RIP || t->op[1].mem.base == ZYDIS_REGISTER_EIP) &&
	    t->zi.operand_width >= 32) {
		/* lea reg, [rip + disp] is a constant. */
		uint64_t v = t->next + (uint64_t)t->op[1].mem.disp.value;
		int g = visible_gpr(t, 0);

		if (t->zi.operand_width == 32 || t->zi.address_width == 32)
			v = (uint32_t)v;
		if (tb_gpr_in_mem(g)) {
			e_mov_imm(e, H_R15, v);
			e_store(e, 8, e_gs(TB_GS_GPR(g)), H_R15);
		} else {
			e_mov_imm(e, (unsigned)g, v);
		}
		return true;
	}
	if (ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
		    &t->zi, t->op, t->zi.operand_count_visible, &req)))
		return false;
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.prefixes &= ZYDIS_ATTRIB_HAS_LOCK;

	/* Which scratch registers can stand in for guest rsp/r14/r15. */
	if (t->mem >= 0) {
		free_h[0] = H_R14;
		nfree = 1;
	} else {
		free_h[0] = H_R15;
		free_h[1] = H_R14;
		nfree = 2;
	}
	for (unsigned i = 0; i < t->zi.operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &t->op[i];
		ZydisRegister regs[2] = { ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE };
		ZydisRegister *dst[2] = { NULL, NULL };
		bool w = false;

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			regs[0] = o->reg.value;
			dst[0] = &req.operands[i].reg.value;
			w = o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
			high8 |= is_high8(o->reg.value);
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.type == ZYDIS_MEMOP_TYPE_AGEN) {
			if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP)
				return false;
			regs[0] = o->mem.base;
			regs[1] = o->mem.index;
			dst[0] = &req.operands[i].mem.base;
			dst[1] = &req.operands[i].mem.index;
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			req.operands[i].mem.base = ZYDIS_REGISTER_R15;
			req.operands[i].mem.index = ZYDIS_REGISTER_NONE;
			req.operands[i].mem.scale = 0;
			req.operands[i].mem.displacement = -(int64_t)(t->msize - 1);
			continue;
		}
		for (unsigned k = 0; k < 2; k++) {
			int g = gpr_of(regs[k]);
			unsigned j;

			if (g < 0 || !tb_gpr_in_mem(g))
				continue;
			for (j = 0; j < nsub && sub_g[j] != g; j++)
				;
			if (j == nsub) {
				if (nsub == nfree)
					return false;
				sub_g[nsub] = g;
				sub_h[nsub] = free_h[nsub];
				nsub++;
			}
			sub_w[j] |= w;
			*dst[k] = subst_reg(regs[k], sub_h[j]);
		}
	}
	if (high8 && (t->mem >= 0 || nsub))
		return false;		/* AH..BH cannot be encoded with REX */
	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(&req, buf, &len)))
		return false;
	/*
	 * XCHG of a 32-bit register with itself zero-extends it in 64-bit
	 * code; the encoder's shortest form of XCHG EAX, EAX is 90, a NOP.
	 */
	if (len == 1 && buf[0] == 0x90 && t->zi.mnemonic == ZYDIS_MNEMONIC_XCHG) {
		struct emit one = { .start = buf, .p = buf, .end = buf + sizeof(buf) };

		e_mov_rr(&one, 4, H_RAX, H_RAX);
		len = (ZyanUSize)(one.p - buf);
	}

	if (t->mem >= 0) {
		if (!emit_la(x, t, &t->op[t->mem]))
			goto undo;
		/*
		 * Aligned SSE forms: a misaligned address is the interpreter's #GP.
		 * Locked forms (and XCHG with memory): misaligned ones go to the
		 * interpreter, whose bus lock keeps them atomic without a host
		 * split lock (slow, or fatal under split_lock_detect).
		 */
		emit_probe(x, t, t->msize, t->mwrite, t->live_in || partial_writer(t), false,
			   (t->msize == 16 && !sse_unaligned_ok(t->zi.mnemonic)) ||
			   (t->msize > 1 && ((t->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
					     t->zi.mnemonic == ZYDIS_MNEMONIC_XCHG)));
	}
	for (unsigned j = 0; j < nsub; j++)
		e_load(e, 8, sub_h[j], e_gs(TB_GS_GPR(sub_g[j])));
	/* Guest XMM registers live in the FXSAVE image: in before, out after. */
	for (unsigned i = 0; i < t->zi.operand_count_visible; i++)
		if (t->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && is_xmm(t->op[i].reg.value))
			emit_xmm(e, t->op[i].reg.value - ZYDIS_REGISTER_XMM0, false);
	e_bytes(e, buf, (unsigned)len);
	for (unsigned i = 0; i < t->zi.operand_count_visible; i++)
		if (t->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && is_xmm(t->op[i].reg.value) &&
		    (t->op[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			emit_xmm(e, t->op[i].reg.value - ZYDIS_REGISTER_XMM0, true);
	for (unsigned j = 0; j < nsub; j++)
		if (sub_w[j])
			e_store(e, 8, e_gs(TB_GS_GPR(sub_g[j])), sub_h[j]);
	return true;
undo:
	e->p = mark;
	x->nslow = mark_slow;
	x->nsites = mark_sites;
	x->npending_next = mark_pn;
	return false;
}

/* Returns false when the block must end before @t (it goes to the interpreter). */
static bool emit_insn(struct tctx *x, struct tinsn *t)
{
	struct emit *e = &x->e;
	unsigned sz = t->zi.operand_width / 8;

	switch (t->kind) {
	case K_NOP:
		return true;
	case K_RDTSC:
		/* Its shifts change the flags: kept like a probe's (see emit_probe). */
		if (t->live_in) {
			flags_save(e);
		} else if (!x->region) {
			flags_save(e);
			x->region = true;
		}
		e_bytes(e, (const uint8_t[]){ 0x0f, 0x31 }, 2);			/* rdtsc */
		e_op_reg(e, 8, (const uint8_t[]){ 0xc1 }, 1, 4, H_RDX);		/* shl rdx, 32 */
		e_u8(e, 32);
		e_op_reg(e, 8, (const uint8_t[]){ 0x09 }, 1, H_RDX, H_RAX);	/* or rax, rdx */
		e_alu_mem(e, 0x03, H_RAX, e_gs(TB_GS(tsc_offset)));		/* add rax, offset */
		e_mov_rr(e, 8, H_RDX, H_RAX);
		e_op_reg(e, 8, (const uint8_t[]){ 0xc1 }, 1, 5, H_RDX);		/* shr rdx, 32 */
		e_u8(e, 32);
		e_mov_rr(e, 4, H_RAX, H_RAX);
		if (t->live_in)
			flags_restore(e);
		return true;
	case K_NATIVE:
		if (emit_native(x, t))
			return true;
		x->tv->stats.encode_fallbacks++;
		t->kind = K_HELPER;
		if (x->region) {
			flags_restore(e);	/* a helper gets the exact flags */
			x->region = false;
		}
		/* fall through */
	case K_HELPER:
		emit_helper(x, t);
		return true;
	case K_PUSH:
		if (t->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			emit_push_value(x, t, sz, t->live_in, false, 0, true, t->op[0].imm.value.s);
		else
			emit_push_value(x, t, sz, t->live_in, false, visible_gpr(t, 0), false, 0);
		emit_sp_add(x, -(int32_t)sz);
		return true;
	case K_POP: {
		int g = visible_gpr(t, 0);
		unsigned h = tb_gpr_in_mem(g) ? H_R14 : (unsigned)g;

		emit_sp(x, 0);
		emit_probe(x, t, sz, false, t->live_in, false, false);
		e_load(e, sz, h, e_base(H_R15, -(int32_t)(sz - 1)));
		emit_sp_add(x, (int32_t)sz);
		if (tb_gpr_in_mem(g))
			e_store(e, 8, e_gs(TB_GS_GPR(g)), H_R14);
		return true;
	}
	case K_CALL: {
		uint64_t target = t->next + (uint64_t)t->op[0].imm.value.s;

		if (x->bits != 64)
			target &= 0xffffffff;
		emit_push_value(x, t, sz, t->live_in, false, 0, true, (int64_t)t->next);
		emit_sp_add(x, -(int32_t)sz);
		close_insn(x);
		emit_direct_exit(x, -1, target);
		return true;
	}
	case K_JMP: {
		uint64_t target = t->next + (uint64_t)t->op[0].imm.value.s;

		if (x->bits != 64)
			target &= 0xffffffff;
		emit_direct_exit(x, -1, target);
		return true;
	}
	case K_JCC: {
		uint64_t target = t->next + (uint64_t)t->op[0].imm.value.s;

		if (x->bits != 64)
			target &= 0xffffffff;
		emit_direct_exit(x, sw_mnemonic_cc(t->zi.mnemonic), target);
		emit_direct_exit(x, -1, t->next);
		return true;
	}
	case K_RET: {
		int32_t extra = t->zi.operand_count_visible &&
				t->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ?
				(int32_t)(t->op[0].imm.value.u & 0xffff) : 0;

		flags_save(e);
		emit_sp(x, 0);
		emit_probe(x, t, sz, false, false, true, false);
		e_load(e, sz, H_R15, e_base(H_R15, -(int32_t)(sz - 1)));
		emit_indirect(x, t, (int32_t)sz + extra);
		close_insn(x);
		return true;
	}
	case K_JMP_IND:
	case K_CALL_IND: {
		uint8_t *mark = e->p;

		flags_save(e);
		if (t->mem >= 0) {
			if (!emit_la(x, t, &t->op[0])) {
				e->p = mark;
				return false;
			}
			emit_probe(x, t, sz, false, false, true, false);
			e_load(e, sz, H_R15, e_base(H_R15, -(int32_t)(sz - 1)));
		} else {
			int g = visible_gpr(t, 0);

			if (tb_gpr_in_mem(g))
				e_load(e, sz, H_R15, e_gs(TB_GS_GPR(g)));
			else
				e_mov_rr(e, sz, H_R15, (unsigned)g);
		}
		if (t->kind == K_JMP_IND) {
			emit_indirect(x, t, 0);
		} else {
			e_store(e, 8, e_gs(TB_GS(tb.slot[1])), H_R15);
			emit_push_value(x, t, sz, false, true, 0, true, (int64_t)t->next);
			e_load(e, 8, H_R15, e_gs(TB_GS(tb.slot[1])));
			emit_indirect(x, t, -(int32_t)sz);
		}
		close_insn(x);
		return true;
	}
	default:
		return false;
	}
}

static void emit_slow_stubs(struct tctx *x)
{
	struct emit *e = &x->e;

	for (unsigned i = 0; i < x->nslow; i++) {
		struct pending_slow *ps = &x->s->slow[i];

		e_patch_rel32(at(x, ps->jnz), e->p);
		/* Back to the linear address: r15 = (la + size - 1) ^ tag. */
		e_alu_mem(e, 0x33, H_R15, e_gs_base(H_R14, ps->tlb));
		if (ps->size > 1)
			e_lea(e, 8, H_R15, e_base(H_R15, -(int32_t)(ps->size - 1)));
		if (ps->jalign)
			e_patch_rel32(at(x, ps->jalign), e->p);
		if (ps->popf)
			flags_restore(e);
		emit_site_load(x, ps->site);
		e_call(e, x->tv->mem_tramp);
		e_jmp(e, at(x, ps->next));	/* interpreted: go on after it */
		e_jmp(e, at(x, ps->resume));	/* filled: r15 = host address + size - 1 */
	}
}

static void emit_exit_stubs(struct tctx *x)
{
	struct tb *tb = x->tb;

	if (x->has_check) {
		e_patch_rel32(at(x, x->check.jne), x->e.p);
		if (x->check.jbudget)
			e_patch_rel32(at(x, x->check.jbudget), x->e.p);
		emit_exit_here(x, x->check.rip, true);	/* the exact flags, from the slot */
	}
	for (unsigned i = 0; i < tb->nexit; i++) {
		struct tb_exit *ex = &tb->exit[i];

		ex->stub = e_off(&x->e);
		e_patch_rel32(at(x, ex->patch), x->e.p);
		/*
		 * Another page: chains never go there (they would outlive the
		 * mapping), but the jump cache, which every TLB invalidation
		 * point empties, may know the block.
		 */
		if ((ex->target >> 12) != (tb->pc >> 12)) {
			uint32_t miss;

			flags_save(&x->e);
			e_mov_imm(&x->e, H_R15, ex->target);
			miss = emit_jc_lookup(x);
			flags_restore(&x->e);
			e_jmp_reg(&x->e, H_R14);
			e_patch_rel32(at(x, miss), x->e.p);
			flags_restore(&x->e);
		}
		e_mov_imm(&x->e, H_R15, (uint64_t)(uintptr_t)ex);
		e_jmp(&x->e, x->tv->exit_direct);
	}
}

/* ---- decoding and analysis ---- */

static unsigned decode_block(struct tctx *x, uint64_t pc, uint64_t gpa, const uint8_t *host,
			     uint64_t *end_rip)
{
	struct scratch *s = x->s;
	unsigned n = 0, off = (unsigned)(gpa & 0xfff);
	uint64_t rip = pc;

	while (n < TB_MAX_INSNS) {
		struct tinsn *t = &s->t[n];
		unsigned avail = 4096 - off;
		int r;

		if (avail > 15)
			avail = 15;
		r = sw_decode_at(x->tv->cpu, host + off, avail, x->bits, x->sbits, &t->zi, t->op,
				 &t->in);
		if (r)
			break;		/* crosses the page, or invalid: the interpreter's */
		t->rip = rip;
		t->next = rip + t->zi.length;
		if (x->bits != 64)
			t->next &= 0xffffffff;
		classify(x, t);
		if (t->kind == K_HELPER && x->lockstep)
			t->kind = K_TERM;
		if (t->kind == K_TERM)
			break;
		n++;
		rip = t->next;
		off += t->zi.length;
		if (t->kind >= K_JCC || off >= 4096)
			break;
	}
	*end_rip = rip;
	return n;
}

static void liveness(struct tinsn *t, unsigned n)
{
	uint32_t live = (uint32_t)TB_OSZAPC;

	for (unsigned i = n; i-- > 0;) {
		live = t[i].fl_read | (live & ~t[i].fl_write);
		if (t[i].kind == K_HELPER)
			live = (uint32_t)TB_OSZAPC;
		t[i].live_in = live != 0;
	}
}

struct tb *tb_translate(struct tb_vcpu *tv, uint64_t pc, uint64_t gpa, const uint8_t *host,
			unsigned mode)
{
	struct tctx x = { .tv = tv, .s = tv->scratch };
	struct tb *tb = calloc(1, sizeof(*tb));
	uint64_t end_rip;
	unsigned n, check_at;
	bool ended = false;

	if (!tb)
		return NULL;
	x.tb = tb;
	x.cpl = mode & 3;
	x.bits = (mode & 4) ? 64 : 32;
	x.sbits = (mode & 8) ? 64 : 32;
	x.sse = mode & TB_MODE_SSE;
	x.lockstep = tv->check != NULL;
	x.icount = tv->tvm->icount;
	tb->pc = pc;
	tb->gpa = gpa;
	tb->mode = (uint8_t)mode;
	tb->key = gpa << 8 | mode;

	n = decode_block(&x, pc, gpa, host - (gpa & 0xfff), &end_rip);
	tb->ninsn = (uint16_t)n;
	tb->glen = (uint16_t)(end_rip - pc);
	if (!n)
		return tb;	/* the interpreter's; cached so that we do not decode it again */
	liveness(x.s->t, n);
	for (unsigned i = 0; i < n; i++)
		tb->undef |= x.s->t[i].undef;

	x.e.start = tv->cache_ptr;
	x.e.p = tv->cache_ptr;
	x.e.end = tv->cache_ptr + TB_BLOCK_MAX;
	tb->code = x.e.start;

	/*
	 * One exit-request check, where the flags are dead if anywhere (else
	 * at the start, with them saved around it). Its compare opens a
	 * dead-flags stretch like a probe's: the slot keeps the exact flags,
	 * which the exit restores, so an interrupt's frame shows them.
	 */
	for (check_at = 0; check_at < n && x.s->t[check_at].live_in && !x.icount; check_at++)
		;
	for (unsigned i = 0; i < n && !ended; i++) {
		struct tinsn *t = &x.s->t[i];

		x.cur = i;
		if (i == check_at || (check_at == n && i == 0)) {
			if (!x.region)
				flags_save(&x.e);
			e_load(&x.e, 8, H_R15, e_gs(TB_GS(tb.kick)));
			e_cmp_mem8_imm(&x.e, e_base(H_R15, 0), 0);
			x.check.jne = e_jcc(&x.e, CC_NE, x.e.p);
			x.check.rip = t->rip;
			x.has_check = true;
			if (x.icount) {
				/*
				 * At the entry (i == 0): the block's end count within
				 * the limit, or leave before anything ran. The length
				 * is patched in once it is final.
				 */
				e_load(&x.e, 8, H_R15, e_gs(TB_GS(icount)));
				e_bytes(&x.e, (const uint8_t[]){ 0x4d, 0x8d, 0xbf }, 3); /* lea r15, [r15 + imm32] */
				x.icount_imm = e_off(&x.e);
				e_u32(&x.e, 0);
				e_alu_mem(&x.e, 0x3b, H_R15, e_gs(TB_GS(tb.icount_limit)));
				x.check.jbudget = e_jcc(&x.e, CC_A, x.e.p);
				e_store(&x.e, 8, e_gs(TB_GS(icount)), H_R15);
			}
			if (t->live_in)
				flags_restore(&x.e);	/* live here */
			else
				x.region = true;
		}

		/* Leave a dead-flags stretch before what may read or keep some flags. */
		if (x.region && (t->fl_read || partial_writer(t) ||
				 (t->kind != K_NATIVE && t->kind != K_NOP && t->kind != K_RDTSC &&
				  t->kind != K_PUSH && t->kind != K_POP))) {
			flags_restore(&x.e);
			x.region = false;
		}
		if (!emit_insn(&x, t)) {
			/* Untranslatable after all: end the block before it. */
			tb->ninsn = (uint16_t)i;
			tb->glen = (uint16_t)(t->rip - pc);
			if (!i)
				break;
			emit_direct_exit(&x, -1, t->rip);
			ended = true;
			break;
		}
		close_insn(&x);
		if (t->kind == K_NATIVE && t->fl_write == (uint32_t)TB_OSZAPC)
			x.region = false;	/* all six written: the slot is stale, and unneeded */
		if (t->kind >= K_JCC && t->kind <= K_CALL_IND)
			ended = true;
	}
	if (x.region) {
		flags_restore(&x.e);
		x.region = false;
	}
	if (!tb->ninsn || x.e.overflow) {
		tb->ninsn = 0;
		tb->nexit = 0;
		tb->code = NULL;
		return tb;
	}
	if (!ended)
		emit_direct_exit(&x, -1, end_rip);
	if (x.icount) {
		uint32_t len = tb->ninsn;

		memcpy(at(&x, x.icount_imm), &len, 4);
	}
	emit_slow_stubs(&x);
	emit_exit_stubs(&x);
	if (x.e.overflow) {
		tb->ninsn = 0;
		tb->nexit = 0;
		tb->code = NULL;
		return tb;
	}
	if (x.nsites) {
		tb->sites = malloc(x.nsites * sizeof(*tb->sites));
		if (!tb->sites) {
			free(tb);
			return NULL;
		}
		memcpy(tb->sites, x.s->sites, x.nsites * sizeof(*tb->sites));
		tb->nsites = x.nsites;
		for (unsigned i = 0; i < x.nrefs; i++) {
			uint64_t v = (uint64_t)(uintptr_t)&tb->sites[x.s->refs[i].site];

			memcpy(at(&x, x.s->refs[i].imm), &v, 8);
		}
	}
	if (x.lockstep) {
		tb->insn_off = malloc(tb->ninsn * sizeof(*tb->insn_off));
		if (!tb->insn_off) {
			free(tb->sites);
			free(tb);
			return NULL;
		}
		for (unsigned i = 0; i < tb->ninsn; i++) {
			tb->insn_off[i] = (uint16_t)(x.s->t[i].rip - pc);
			tb->live_bits |= (uint64_t)x.s->t[i].live_in << i;
		}
	}
	tb->size = (uint32_t)(x.e.p - x.e.start);
	tv->cache_ptr = x.e.p;
	/* Keep blocks 16-byte aligned: better for the host's fetch. */
	tv->cache_ptr = (uint8_t *)(((uintptr_t)tv->cache_ptr + 15) & ~(uintptr_t)15);
	return tb;
}
