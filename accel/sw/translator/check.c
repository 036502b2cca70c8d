// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * jit=check: every block runs translated, then again on the interpreter
 * from the same state, and the two results are compared -- registers,
 * RIP, the flags the SDM defines, the XMM registers and every byte the
 * translated code wrote. A translator bug shows at the block that made it.
 *
 * What makes the replay possible: in this mode translated code writes
 * guest memory only through pointers the slow path hands out (no inline
 * write entries), and the slow path journals the old bytes first; helper
 * instructions end the block (the run loop interprets them), and where C
 * would run an instruction inside the block (MMIO, a page-crossing access,
 * a write to code or page tables, a jump-cache miss) it leaves the block
 * before it instead ("cut"), so the replay never repeats a device access.
 * Blocks do not chain and the jump cache stays empty: one block per check.
 *
 * Not compared: writes the interpreter makes where the translated code
 * made none (they are in memory, unjournaled), and the upper halves of
 * registers in 32-bit code, which x86 leaves undefined there.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"
#include "accel/sw/translator/tb_int.h"

#define JOURNAL_MAX	256
#define REPORT_MAX	20

struct jentry {
	uint64_t rip;			/* of the instruction that wrote */
	uint8_t *host;
	unsigned size;
	uint8_t old[16], now[16];
};

/* A fault a run ended in (vector -1: none). */
struct run_result {
	int vector;
	uint32_t err;
	uint64_t cr2;
};

/* In memory rather than in tb_check_block()'s frame: they change between sigsetjmp and siglongjmp. */
struct tb_check {
	struct jentry j[JOURNAL_MAX];
	unsigned n;
	bool overflow;
	unsigned reported;
	struct run_result r1, r2;
	bool second;
	unsigned steps, want;
	uint64_t icount0;		/* -icount: the translated run's count is replayed too */
	struct x86_state s0, s1;
};

struct tb_check *tb_check_new(void)
{
	return calloc(1, sizeof(struct tb_check));
}

void tb_check_free(struct tb_check *c)
{
	free(c);
}

void tb_check_journal(struct tb_vcpu *tv, uint8_t *host, unsigned size)
{
	struct tb_check *c = tv->check;
	struct jentry *e;

	if (c->n == JOURNAL_MAX || size > sizeof(e->old)) {
		c->overflow = true;
		return;
	}
	e = &c->j[c->n++];
	e->rip = tv->cpu->st.rip;	/* the slow path set it to the site's */
	e->host = host;
	e->size = size;
	memcpy(e->old, host, size);
}


static void report(struct tb_vcpu *tv, const struct tb *tb, const char *what, uint64_t got,
		   uint64_t want)
{
	struct tb_check *c = tv->check;

	if (c->reported++ >= REPORT_MAX)
		return;
	fprintf(stderr, "tandem: sw: jit=check: block at %#" PRIx64 " (gpa %#" PRIx64
		", %u insns): %s translated %#" PRIx64 ", interpreter %#" PRIx64 "\n",
		tb->pc, tb->gpa, tb->ninsn, what, got, want);
}

static const char *const gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/*
 * @stopped: the block stopped before instruction @at (a cut, a fault, an
 * exit request) rather than leaving by its exit.
 */
static bool compare(struct tb_vcpu *tv, const struct tb *tb, const struct x86_state *a,
		    const struct run_result *ra, const struct x86_state *b,
		    const struct run_result *rb, bool stopped, unsigned at)
{
	struct tb_check *c = tv->check;
	uint64_t gmask = (tb->mode & 4) ? ~0ull : 0xffffffffull;
	uint64_t fmask = TB_OSZAPC & ~(uint64_t)tb->undef;
	bool ok = true;

	/*
	 * Stopped where the flags are dead: the inline TLB probe may have
	 * changed them, which nothing reads before they are written again.
	 * (A fault's frame shows them: the one place this is visible.)
	 */
	if (stopped && at < 64 && !((tb->live_bits >> at) & 1))
		fmask = 0;

	if (ra->vector != rb->vector) {
		report(tv, tb, "fault vector (-1: none)", (uint64_t)ra->vector,
		       (uint64_t)rb->vector);
		return false;
	}
	if (ra->vector >= 0 && ra->err != rb->err) {
		report(tv, tb, "fault error code", ra->err, rb->err);
		ok = false;
	}
	if (a->rip != b->rip) {
		report(tv, tb, "rip", a->rip, b->rip);
		ok = false;
	}
	for (unsigned i = 0; i < 16; i++) {
		if ((a->gpr[i] & gmask) != (b->gpr[i] & gmask)) {
			report(tv, tb, gpr_name[i], a->gpr[i], b->gpr[i]);
			ok = false;
		}
	}
	if ((a->rflags & fmask) != (b->rflags & fmask)) {
		report(tv, tb, "rflags (defined OSZAPC)", a->rflags & fmask, b->rflags & fmask);
		ok = false;
	}
	if (memcmp(a->fx.xmm, b->fx.xmm, sizeof(a->fx.xmm))) {
		report(tv, tb, "xmm registers (first differing byte)", 0, 0);
		ok = false;
	}
	for (unsigned i = 0; i < c->n; i++) {
		struct jentry *e = &c->j[i];

		/* The instruction stopped at wrote before it was cut: it runs next. */
		if (stopped && e->rip == a->rip)
			continue;
		if (memcmp(e->now, e->host, e->size)) {
			uint64_t x = 0, y = 0;

			memcpy(&x, e->now, e->size < 8 ? e->size : 8);
			memcpy(&y, e->host, e->size < 8 ? e->size : 8);
			report(tv, tb, "memory write", x, y);
			ok = false;
		}
	}
	return ok;
}

static uint64_t walks_now(struct sw_cpu *cpu)
{
	uint64_t s[4];

	sw_mmu_stats(cpu, s);
	return s[0];
}

static void caught(struct sw_cpu *cpu, struct run_result *r)
{
	r->vector = cpu->exc.vector;
	r->err = cpu->exc.err;
	r->cr2 = cpu->exc.cr2;
}

void tb_check_block(struct tb_vcpu *tv, struct tb *tb)
{
	struct sw_cpu *cpu = tv->cpu;
	struct tb_check *c = tv->check;
	struct x86_state *s0 = &c->s0, *s1 = &c->s1;
	sigjmp_buf outer;
	bool has_err;
	uint64_t walks_before = walks_now(cpu);

	*s0 = cpu->st;
	c->n = 0;
	c->overflow = false;
	c->r1 = c->r2 = (struct run_result){ -1, 0, 0 };
	c->second = false;
	c->steps = 0;
	c->icount0 = cpu->icount;
	memcpy(outer, cpu->jmp, sizeof(outer));

	/* 1. Translated. */
	if (sigsetjmp(cpu->jmp, 0)) {
		if (!c->second) {
			caught(cpu, &c->r1);
			goto replay;
		}
		caught(cpu, &c->r2);
		goto compare;
	}
	tb_flags_to_code(cpu);
	cpu->tb.exit = NULL;
	tv->enter(tb->code);
	tb_flags_from_code(cpu);
replay:
	*s1 = cpu->st;
	for (unsigned i = 0; i < c->n; i++)
		memcpy(c->j[i].now, c->j[i].host, c->j[i].size);
	for (unsigned i = c->n; i-- > 0;)
		memcpy(c->j[i].host, c->j[i].old, c->j[i].size);

	/*
	 * 2. The interpreter, from the same state, as many instructions: all
	 * of them if the block left by its exit, else those before the one it
	 * stopped at (a cut, a fault, an exit request). Where the block's
	 * branch goes back into it, RIP alone would not tell.
	 */
	/*
	 * A page walk of the translated run may have set accessed/dirty bits
	 * in a location the undo just restored: walk again (x86 lets a TLB
	 * drop entries at any time).
	 */
	if (c->n && walks_before != walks_now(cpu))
		sw_mmu_flush_all(cpu);
	c->want = tb->ninsn;
	if (!cpu->tb.exit) {
		for (c->want = 0; c->want < tb->ninsn; c->want++)
			if (tb->pc + tb->insn_off[c->want] == s1->rip)
				break;
	}
	c->second = true;
	cpu->st = *s0;
	cpu->icount = c->icount0;
	cpu->insn = NULL;
	for (c->steps = 0; c->steps < c->want; c->steps++)
		sw_step(cpu);
	if (c->r1.vector >= 0)
		sw_step(cpu);	/* the instruction that faulted translated must fault here too */
compare:
	cpu->insn = NULL;
	has_err = cpu->exc.has_err;
	memcpy(cpu->jmp, outer, sizeof(outer));
	tv->stats.checked++;
	/* Past the journal's size the writes could not be compared (nor undone: see above). */
	if (!c->overflow && !compare(tv, tb, s1, &c->r1, &cpu->st, &c->r2, c->want < tb->ninsn,
				     c->want))
		tv->stats.check_mismatches++;
	/* The interpreter's outcome stands, a fault included. */
	if (c->r2.vector >= 0) {
		cpu->exc.vector = (uint8_t)c->r2.vector;
		cpu->exc.has_err = has_err;
		cpu->exc.err = c->r2.err;
		cpu->exc.cr2 = c->r2.cr2;
		siglongjmp(cpu->jmp, 1);
	}
}
