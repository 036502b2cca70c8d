// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * String instructions: MOVS CMPS SCAS LODS STOS INS OUTS, with REP, REPE
 * and REPNE.
 *
 * The address size picks SI/ESI/RSI, DI/EDI/RDI and CX/ECX/RCX (only that
 * part of each register changes; a 32-bit update zero-extends, like any
 * 32-bit register write). The source segment may be overridden, ES:DI
 * may not. DF picks the direction.
 *
 * Repeated forms are restartable: the registers are updated after each
 * iteration (or each block of the RAM fast path), so a fault part-way
 * leaves the state of the iterations done, with RIP on the instruction.
 * One call does a bounded amount of work; if the count is not exhausted
 * it leaves next_rip = rip so the instruction runs again after the loop
 * had a chance to take interrupts or return to a kick. With TF set every
 * call does one iteration (the single-step trap follows each one).
 *
 * Fast path: REP MOVS and REP STOS on RAM move whole page-bounded blocks
 * through host pointers, with the same fault points as the element loop
 * (the first element of each block is checked exactly as the slow path
 * would) and element order kept when source and destination overlap.
 */
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"

/* Work per call: slow iterations, or fast-path blocks weighted by bytes. */
#define STR_BUDGET	4096
#define STR_FAST_UNIT	256	/* fast-path bytes that cost one iteration of budget */

struct str_op {
	unsigned size;		/* element size in bytes */
	uint64_t amask;		/* address-size mask */
	bool down;		/* DF = 1 */
	enum x86_sreg sseg;	/* source segment, overrides applied */
};

static uint64_t areg(const struct sw_cpu *cpu, unsigned r, const struct str_op *s)
{
	return cpu->st.gpr[r] & s->amask;
}

static void set_areg(struct sw_cpu *cpu, unsigned r, uint64_t v, const struct str_op *s)
{
	uint64_t *p = &cpu->st.gpr[r];

	*p = s->amask == 0xffffffffull ? (uint32_t)v : (*p & ~s->amask) | (v & s->amask);
}

/* Move index register @r by @n elements in the direction of DF. */
static void advance(struct sw_cpu *cpu, unsigned r, uint64_t n, const struct str_op *s)
{
	uint64_t d = n * s->size;

	set_areg(cpu, r, s->down ? cpu->st.gpr[r] - d : cpu->st.gpr[r] + d, s);
}

/* The segment of the DS:SI operand (the one an override applies to). */
static enum x86_sreg source_seg(const struct sw_insn *in)
{
	for (unsigned i = 0; i < in->zi.operand_count; i++) {
		const struct sw_op *op = &in->op[i];

		if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (op->mem.base == ZYDIS_REGISTER_SI || op->mem.base == ZYDIS_REGISTER_ESI ||
		     op->mem.base == ZYDIS_REGISTER_RSI))
			return sw_op_seg(in, i);
	}
	return S_DS;
}

static void str_init(struct sw_cpu *cpu, const struct sw_insn *in, struct str_op *s)
{
	s->size = in->zi.operand_width / 8;
	if (!s->size)
		s->size = 1;
	s->amask = sw_mask(in->zi.address_width / 8);
	s->down = cpu->st.rflags & X86_RFLAGS_DF;
	s->sseg = source_seg(in);
}

static ZydisRegister acc_reg(unsigned size)
{
	switch (size) {
	case 1:
		return ZYDIS_REGISTER_AL;
	case 2:
		return ZYDIS_REGISTER_AX;
	case 4:
		return ZYDIS_REGISTER_EAX;
	default:
		return ZYDIS_REGISTER_RAX;
	}
}

/* ---- RAM fast path ---- */

/*
 * A block of up to @max elements starting with the element at @seg:@off
 * and going in the direction of DF, that stays inside the segment, the
 * address-size space and one page of RAM. The first element is checked
 * (and faults) exactly as a single access would. Returns the element
 * count (0: use the element loop) and the host pointer / gpa of the
 * first element.
 */
static uint64_t fast_block(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off,
			   const struct str_op *s, unsigned acc, uint64_t max, uint8_t **host,
			   uint64_t *gpa)
{
	const struct x86_seg *sg = &cpu->st.seg[seg];
	unsigned size = s->size;
	uint64_t la = sw_seg_linear(cpu, seg, off, size, acc);
	unsigned pofs = (unsigned)(la & 0xfff);
	uint64_t n = max, room;

	/* Alignment checking is per element: leave it to the slow path. */
	if ((cpu->st.rflags & X86_RFLAGS_AC) && (cpu->st.cr0 & X86_CR0_AM))
		return 0;
	if (pofs + size > 4096)
		return 0;	/* the first element straddles two pages */
	if (!s->down) {
		room = (4096 - pofs) / size;
		if (room < n)
			n = room;
		room = (s->amask - off) / size + 1;	/* up to the address-size wrap */
		if (room && room < n)
			n = room;
	} else {
		room = pofs / size + 1;
		if (room < n)
			n = room;
		room = off / size + 1;			/* down to offset 0 */
		if (room < n)
			n = room;
	}
	if (!sw_64bit(cpu)) {
		unsigned type = SEG_ATTR_TYPE(sg->attr);

		/* Expand-down data segments: the element loop does their checks. */
		if (sw_protected(cpu) && !sw_vm86(cpu) && !(type & 8) && (type & 4))
			return 0;
		if (!s->down) {
			room = ((uint64_t)sg->limit - off) / size + 1;
			if (room < n)
				n = room;
		}
	}
	if (n < 2)
		return 0;
	*host = sw_mmu_translate(cpu, la, acc, gpa);
	return *host ? n : 0;
}

/* REP MOVS over RAM: one block; returns the elements moved (0: none, use the slow path). */
static uint64_t movs_fast(struct sw_cpu *cpu, const struct str_op *s, uint64_t cnt)
{
	uint64_t si = areg(cpu, R_SI, s), di = areg(cpu, R_DI, s), gs, gd, n, nd, len;
	uint8_t *hs, *hd, *ls, *ld;
	unsigned size = s->size;

	n = fast_block(cpu, s->sseg, si, s, SW_ACC_READ, cnt, &hs, &gs);
	if (!n)
		return 0;
	nd = fast_block(cpu, S_ES, di, s, SW_ACC_WRITE, n, &hd, &gd);
	if (!nd)
		return 0;
	if (nd < n)
		n = nd;
	len = n * size;
	/* The lowest byte of each block. */
	ls = s->down ? hs - (len - size) : hs;
	ld = s->down ? hd - (len - size) : hd;
	if (ls + len <= ld || ld + len <= ls) {
		memcpy(ld, ls, len);
	} else {
		/* Overlap: element by element in architectural order. */
		ptrdiff_t step = s->down ? -(ptrdiff_t)size : (ptrdiff_t)size;

		for (uint64_t i = 0; i < n; i++)
			memmove(hd + (ptrdiff_t)i * step, hs + (ptrdiff_t)i * step, size);
	}
	if (s->down)
		gd -= len - size;
	if ((gd >> 12) < cpu->svm->nr_pages && cpu->svm->page_flags[gd >> 12])
		sw_page_written(cpu, gd, (unsigned)len);
	advance(cpu, R_SI, n, s);
	advance(cpu, R_DI, n, s);
	return n;
}

static uint64_t stos_fast(struct sw_cpu *cpu, const struct str_op *s, uint64_t cnt)
{
	uint64_t di = areg(cpu, R_DI, s), gd, n, len, v = cpu->st.gpr[R_AX];
	unsigned size = s->size;
	uint8_t *hd, *ld;

	n = fast_block(cpu, S_ES, di, s, SW_ACC_WRITE, cnt, &hd, &gd);
	if (!n)
		return 0;
	len = n * size;
	ld = s->down ? hd - (len - size) : hd;
	if (size == 1) {
		memset(ld, (uint8_t)v, len);
	} else {
		for (uint64_t i = 0; i < len; i += size)
			memcpy(ld + i, &v, size);	/* little-endian host: the low bytes */
	}
	if (s->down)
		gd -= len - size;
	if ((gd >> 12) < cpu->svm->nr_pages && cpu->svm->page_flags[gd >> 12])
		sw_page_written(cpu, gd, (unsigned)len);
	advance(cpu, R_DI, n, s);
	return n;
}

/* ---- one iteration of each ---- */

/* Each returns false when a REPE/REPNE condition ends the repetition. */
typedef bool (*str_one_fn)(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s);
typedef uint64_t (*str_fast_fn)(struct sw_cpu *cpu, const struct str_op *s, uint64_t cnt);

static bool movs_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	uint64_t v = sw_read(cpu, s->sseg, areg(cpu, R_SI, s), s->size);

	sw_write(cpu, S_ES, areg(cpu, R_DI, s), v, s->size);
	advance(cpu, R_SI, 1, s);
	advance(cpu, R_DI, 1, s);
	return true;
}

static bool stos_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	sw_write(cpu, S_ES, areg(cpu, R_DI, s), cpu->st.gpr[R_AX] & sw_mask(s->size), s->size);
	advance(cpu, R_DI, 1, s);
	return true;
}

static bool lods_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	uint64_t v = sw_read(cpu, s->sseg, areg(cpu, R_SI, s), s->size);

	sw_reg_write(cpu, acc_reg(s->size), v);
	advance(cpu, R_SI, 1, s);
	return true;
}

/* REPE continues while equal (ZF = 1), REPNE while not equal. */
static bool rep_cond(const struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool zf = cpu->st.rflags & X86_RFLAGS_ZF;

	if (in->zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)
		return !zf;
	return zf;
}

/* CMPS: flags of [src] - ES:[DI]. */
static bool cmps_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	uint64_t a = sw_read(cpu, s->sseg, areg(cpu, R_SI, s), s->size);
	uint64_t b = sw_read(cpu, S_ES, areg(cpu, R_DI, s), s->size);

	sw_alu_sub(cpu, a, b, 0, s->size);
	advance(cpu, R_SI, 1, s);
	advance(cpu, R_DI, 1, s);
	return rep_cond(cpu, in);
}

/* SCAS: flags of accumulator - ES:[DI]. */
static bool scas_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	uint64_t b = sw_read(cpu, S_ES, areg(cpu, R_DI, s), s->size);

	sw_alu_sub(cpu, cpu->st.gpr[R_AX], b, 0, s->size);
	advance(cpu, R_DI, 1, s);
	return rep_cond(cpu, in);
}

/*
 * INS: the destination is checked for writing before the port is read,
 * so a fault never loses a value taken from a device; sw_io_in() does
 * the IOPL / I/O bitmap checks.
 */
static bool ins_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	struct sw_memref m;
	uint64_t v;

	sw_mem_prepare(cpu, S_ES, areg(cpu, R_DI, s), s->size, SW_ACC_WRITE, &m);
	v = sw_io_in(cpu, (uint16_t)cpu->st.gpr[R_DX], s->size);
	sw_mem_store(cpu, &m, v);
	advance(cpu, R_DI, 1, s);
	return true;
}

static bool outs_one(struct sw_cpu *cpu, const struct sw_insn *in, const struct str_op *s)
{
	uint64_t v = sw_read(cpu, s->sseg, areg(cpu, R_SI, s), s->size);

	sw_io_out(cpu, (uint16_t)cpu->st.gpr[R_DX], (uint32_t)v, s->size);
	advance(cpu, R_SI, 1, s);
	return true;
}

/* ---- the repeat loop ---- */

static void run_string(struct sw_cpu *cpu, const struct sw_insn *in, str_one_fn one,
		       str_fast_fn fast)
{
	uint64_t attr = in->zi.attributes, budget, cnt;
	unsigned skip_fast = 0;
	struct str_op s;

	str_init(cpu, in, &s);
	if (!(attr & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE))) {
		one(cpu, in, &s);
		return;
	}
	if (cpu->st.rflags & X86_RFLAGS_TF) {
		budget = 1;
		fast = NULL;
	} else {
		budget = STR_BUDGET;
	}
	for (;;) {
		bool go_on;

		cnt = areg(cpu, R_CX, &s);
		if (!cnt)
			return;
		if (!budget) {
			cpu->next_rip = cpu->st.rip;	/* run again: more to do */
			return;
		}
		if (fast && !skip_fast) {
			uint64_t n = fast(cpu, &s, cnt), cost;

			if (n) {
				set_areg(cpu, R_CX, cnt - n, &s);
				cost = 1 + n * s.size / STR_FAST_UNIT;
				budget = cost < budget ? budget - cost : 0;
				continue;
			}
			/* MMIO or a page-straddling element: a few slow steps before trying again. */
			skip_fast = 8;
		}
		if (skip_fast)
			skip_fast--;
		go_on = one(cpu, in, &s);
		set_areg(cpu, R_CX, cnt - 1, &s);
		budget--;
		if (!go_on)
			return;
	}
}

static void h_movs(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, movs_one, movs_fast);
}

/*
 * MOVSD and CMPSD are also the SSE2 scalar mnemonics. Whichever family
 * registers second keeps the other's handler: the string forms run here,
 * the rest goes to what was registered before (or #UD).
 */
static sw_handler other_movsd, other_cmpsd;

static bool is_string(const struct sw_insn *in)
{
	return in->zi.meta.category == ZYDIS_CATEGORY_STRINGOP;
}

static void h_cmps(struct sw_cpu *cpu, const struct sw_insn *in);

static void h_movsd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (is_string(in))
		h_movs(cpu, in);
	else if (other_movsd)
		other_movsd(cpu, in);
	else
		sw_ud(cpu);
}

static void h_cmpsd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (is_string(in))
		h_cmps(cpu, in);
	else if (other_cmpsd)
		other_cmpsd(cpu, in);
	else
		sw_ud(cpu);
}

static void h_stos(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, stos_one, stos_fast);
}

static void h_lods(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, lods_one, NULL);
}

static void h_cmps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, cmps_one, NULL);
}

static void h_scas(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, scas_one, NULL);
}

static void h_ins(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, ins_one, NULL);
}

static void h_outs(struct sw_cpu *cpu, const struct sw_insn *in)
{
	run_string(cpu, in, outs_one, NULL);
}

void sw_register_string(void)
{
	static const struct {
		ZydisMnemonic m;
		sw_handler fn;
	} tab[] = {
		{ ZYDIS_MNEMONIC_MOVSB, h_movs }, { ZYDIS_MNEMONIC_MOVSW, h_movs },
		{ ZYDIS_MNEMONIC_MOVSQ, h_movs },
		{ ZYDIS_MNEMONIC_STOSB, h_stos }, { ZYDIS_MNEMONIC_STOSW, h_stos },
		{ ZYDIS_MNEMONIC_STOSD, h_stos }, { ZYDIS_MNEMONIC_STOSQ, h_stos },
		{ ZYDIS_MNEMONIC_LODSB, h_lods }, { ZYDIS_MNEMONIC_LODSW, h_lods },
		{ ZYDIS_MNEMONIC_LODSD, h_lods }, { ZYDIS_MNEMONIC_LODSQ, h_lods },
		{ ZYDIS_MNEMONIC_CMPSB, h_cmps }, { ZYDIS_MNEMONIC_CMPSW, h_cmps },
		{ ZYDIS_MNEMONIC_CMPSQ, h_cmps },
		{ ZYDIS_MNEMONIC_SCASB, h_scas }, { ZYDIS_MNEMONIC_SCASW, h_scas },
		{ ZYDIS_MNEMONIC_SCASD, h_scas }, { ZYDIS_MNEMONIC_SCASQ, h_scas },
		{ ZYDIS_MNEMONIC_INSB, h_ins }, { ZYDIS_MNEMONIC_INSW, h_ins },
		{ ZYDIS_MNEMONIC_INSD, h_ins },
		{ ZYDIS_MNEMONIC_OUTSB, h_outs }, { ZYDIS_MNEMONIC_OUTSW, h_outs },
		{ ZYDIS_MNEMONIC_OUTSD, h_outs },
	};

	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		sw_handlers[tab[i].m] = tab[i].fn;
	if (sw_handlers[ZYDIS_MNEMONIC_MOVSD] != h_movsd) {
		other_movsd = sw_handlers[ZYDIS_MNEMONIC_MOVSD];
		sw_handlers[ZYDIS_MNEMONIC_MOVSD] = h_movsd;
	}
	if (sw_handlers[ZYDIS_MNEMONIC_CMPSD] != h_cmpsd) {
		other_cmpsd = sw_handlers[ZYDIS_MNEMONIC_CMPSD];
		sw_handlers[ZYDIS_MNEMONIC_CMPSD] = h_cmpsd;
	}
}
