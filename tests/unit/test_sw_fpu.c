// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU's x87, MMX and SSE/SSE2 units against the host CPU.
 *
 * Oracle cases: one instruction (Zydis-encoded, random registers and
 * operand forms) runs natively in this process and in the interpreter
 * from the same random state: XMM/MMX/x87 registers (NaN, infinities,
 * denormals, zeros, integers, unnormals...), MXCSR (rounding, DAZ, FTZ,
 * some unmasked exceptions), x87 control/status/tags (some pending
 * exceptions), GPRs, flags and memory. Registers, MXCSR, x87 status,
 * tags, flags, memory and the fault (#XM, #MF, #GP) must all match.
 * A native fault is caught as a signal, its FPU state read from the
 * signal frame.
 *
 * Then the architectural rules the host cannot be asked about: #NM/#UD
 * with CR0.EM/TS/MP and CR4.OSFXSR, #XM vs #UD, alignment, reserved
 * MXCSR bits, x87 stack faults, the MMX mode switch, and the FXSAVE /
 * FSAVE / FSTENV layouts (against the host's, pointer fields aside).
 */
#include <CUnit/Basic.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "accel/sw/fpu.h"
#include "machine/cpuid.h"
#include "tests/unit/sw_harness.h"

#define CODE_GPA	0x10000ull
#define MEM_GPA		0x20000ull
#define MEM_SIZE	1024

static struct swh *h;
static uint64_t nr_cases, nr_mismatches;
static uint64_t nr_xm, nr_mf, nr_gp;	/* cases where both sides faulted */

/* ---- random numbers (xorshift64*, fixed seed: failures reproduce) ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned rndn(unsigned n)
{
	return rnd() % n;
}

/* ---- the native side ---- */

struct native_ctx {
	struct x86_fxsave fx;	/* 0 */
	uint64_t gpr[16];	/* 512 */
	uint64_t flags_in;	/* 640 */
	uint64_t flags_out;	/* 648 */
	uint32_t host_mxcsr;	/* 656 */
	uint16_t host_fcw;	/* 660 */
	uint16_t pad;
	uint64_t slot;		/* 664: the instruction, followed by ret */
} __attribute__((aligned(16)));

_Static_assert(offsetof(struct native_ctx, gpr) == 512, "ctx layout");
_Static_assert(offsetof(struct native_ctx, flags_in) == 640, "ctx layout");
_Static_assert(offsetof(struct native_ctx, host_mxcsr) == 656, "ctx layout");
_Static_assert(offsetof(struct native_ctx, slot) == 664, "ctx layout");

void fpu_native_run(struct native_ctx *ctx);

/*
 * Load the FPU state, the GPRs (not rsp, r15) and the arithmetic flags
 * from @ctx, call the instruction, save everything back; restore the
 * host's control word and MXCSR. Only non-waiting x87 instructions
 * follow the call, so a pending x87 exception cannot fire here.
 */
__asm__(
	"	.text\n"
	"	.globl fpu_native_run\n"
	"	.type fpu_native_run, @function\n"
	"fpu_native_run:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	mov %rdi, %r15\n"
	"	stmxcsr 656(%r15)\n"
	"	fnstcw 660(%r15)\n"
	"	fxrstor64 (%r15)\n"
	"	mov 512(%r15), %rax\n mov 520(%r15), %rcx\n mov 528(%r15), %rdx\n"
	"	mov 536(%r15), %rbx\n mov 552(%r15), %rbp\n mov 560(%r15), %rsi\n"
	"	mov 568(%r15), %rdi\n mov 576(%r15), %r8\n mov 584(%r15), %r9\n"
	"	mov 592(%r15), %r10\n mov 600(%r15), %r11\n mov 608(%r15), %r12\n"
	"	mov 616(%r15), %r13\n mov 624(%r15), %r14\n"
	"	pushq 640(%r15)\n"
	"	popfq\n"
	"	call *664(%r15)\n"
	"	pushfq\n"
	"	popq 648(%r15)\n"
	"	mov %rax, 512(%r15)\n mov %rcx, 520(%r15)\n mov %rdx, 528(%r15)\n"
	"	mov %rbx, 536(%r15)\n mov %rbp, 552(%r15)\n mov %rsi, 560(%r15)\n"
	"	mov %rdi, 568(%r15)\n mov %r8, 576(%r15)\n mov %r9, 584(%r15)\n"
	"	mov %r10, 592(%r15)\n mov %r11, 600(%r15)\n mov %r12, 608(%r15)\n"
	"	mov %r13, 616(%r15)\n mov %r14, 624(%r15)\n"
	"	fxsave64 (%r15)\n"
	"	fninit\n"
	"	fldcw 660(%r15)\n"
	"	ldmxcsr 656(%r15)\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n"
	"	.size fpu_native_run, . - fpu_native_run\n");

static uint8_t *slot;		/* RWX page */
static uint8_t native_mem[MEM_SIZE] __attribute__((aligned(64)));
static sigjmp_buf native_jmp;
static volatile sig_atomic_t native_armed;
static volatile int native_signo;
static struct x86_fxsave native_trap_fx;

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	if (!native_armed) {
		/* Not a test fault: die the ordinary way. */
		signal(sig, SIG_DFL);
		return;
	}
	native_armed = 0;
	native_signo = sig;
	if (uc->uc_mcontext.fpregs)
		memcpy(&native_trap_fx, uc->uc_mcontext.fpregs, sizeof(native_trap_fx));
	siglongjmp(native_jmp, 1);
}

/*
 * Run the instruction natively on @ctx (rbx points at native_mem).
 * Returns 0 or the signal; after a signal @ctx holds the state of the
 * faulting instruction (registers unchanged, FPU from the signal frame).
 */
static int native_exec(const uint8_t *code, size_t len, struct native_ctx *ctx)
{
	struct native_ctx in = *ctx;
	uint32_t mx;
	uint16_t cw;

	memcpy(slot, code, len);
	slot[len] = 0xc3;
	ctx->slot = (uint64_t)slot;
	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mx), "=m"(cw));
	native_signo = 0;
	if (sigsetjmp(native_jmp, 1)) {
		/* The kernel reset the FPU for the handler: back to the host's. */
		__asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(cw), "m"(mx));
		*ctx = in;
		ctx->fx = native_trap_fx;
		ctx->flags_out = ctx->flags_in;
		return native_signo;
	}
	native_armed = 1;
	fpu_native_run(ctx);
	native_armed = 0;
	return 0;
}

/* ---- the interpreter side ---- */

#define CR0_BASE	(X86_CR0_MP | X86_CR0_NE)
#define CR4_SSE		(X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

static void guest_prepare(const struct native_ctx *ctx, const uint8_t *mem)
{
	struct x86_state *st = &h->cpu.st;
	uint64_t cr0 = (st->cr0 & ~(X86_CR0_EM | X86_CR0_TS)) | CR0_BASE;

	st->cr0 = cr0;
	st->cr4 |= CR4_SSE;
	st->fx = ctx->fx;
	for (unsigned i = 0; i < 16; i++)
		if (i != R_SP)
			st->gpr[i] = ctx->gpr[i];
	st->gpr[R_BX] = MEM_GPA;
	st->rflags = ctx->flags_in | X86_RFLAGS_FIXED;
	swh_poke(h, MEM_GPA, mem, MEM_SIZE);
}

static int guest_exec(const uint8_t *code, size_t len)
{
	swh_load_code(h, CODE_GPA, code, len);
	return swh_step(h);
}

/* ---- comparison ---- */

enum {
	CMP_X87 = 1,		/* an x87 instruction: a native SIGFPE is #MF */
	CMP_RDI = 2,		/* rDI points into memory (MASKMOVDQU) */
	CMP_BADMEM = 4,		/* the memory operand's base is non-canonical: #GP */
};

/* Memory bytes not compared (pointer fields the host may not record). */
static unsigned ign_lo, ign_hi;

static void hexdump(const char *what, const void *p, size_t n)
{
	const uint8_t *b = p;

	fprintf(stderr, "    %s:", what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i && !(i % 16) ? "\n      " : " ", b[i]);
	fprintf(stderr, "\n");
}

static bool report(const char *name, const uint8_t *code, size_t len, const char *field)
{
	if (nr_mismatches++ < 20) {
		fprintf(stderr, "  mismatch in %s (%s):", name, field);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", code[i]);
		fprintf(stderr, "\n");
	}
	return false;
}

/*
 * One case: the same instruction from the same state natively and in
 * the interpreter. Returns true when everything matched.
 */
static bool run_case(const char *name, const uint8_t *code, size_t len,
		     const struct native_ctx *start, const uint8_t *mem, unsigned how)
{
	struct native_ctx n = *start;
	const struct x86_state *st = &h->cpu.st;
	const struct x86_fxsave *a, *b;
	uint8_t gmem[MEM_SIZE];
	int sig, vec, want;

	nr_cases++;
	memcpy(native_mem, mem, MEM_SIZE);
	n.gpr[R_BX] = (uint64_t)native_mem;
	if (how & CMP_RDI)
		n.gpr[R_DI] = (uint64_t)native_mem + (start->gpr[R_DI] & 0x1f0);
	if (how & CMP_BADMEM)
		n.gpr[R_BX] = n.gpr[R_DI] = 1ull << 63;
	sig = native_exec(code, len, &n);
	guest_prepare(start, mem);
	if (how & CMP_RDI)
		h->cpu.st.gpr[R_DI] = MEM_GPA + (start->gpr[R_DI] & 0x1f0);
	if (how & CMP_BADMEM)
		h->cpu.st.gpr[R_BX] = h->cpu.st.gpr[R_DI] = 1ull << 63;
	vec = guest_exec(code, len);

	want = sig == 0 ? SWH_OK : sig == SIGFPE ? ((how & CMP_X87) ? X86_MF : X86_XM) :
	       X86_GP;
	if (vec != want) {
		if (nr_mismatches < 20)
			fprintf(stderr, "  %s: interpreter %d, native signal %d\n", name, vec, sig);
		return report(name, code, len, "fault");
	}
	nr_xm += vec == X86_XM;
	nr_mf += vec == X86_MF;
	nr_gp += vec == X86_GP;
	a = &n.fx;
	b = &st->fx;
	if (a->fcw != b->fcw || a->fsw != b->fsw || a->ftw != b->ftw) {
		if (nr_mismatches < 20)
			fprintf(stderr, "  fcw %04x/%04x fsw %04x/%04x ftw %02x/%02x (native/sw)\n",
				a->fcw, b->fcw, a->fsw, b->fsw, a->ftw, b->ftw);
		return report(name, code, len, "x87 control/status/tags");
	}
	if (a->mxcsr != b->mxcsr) {
		if (nr_mismatches < 20)
			fprintf(stderr, "  mxcsr %08x/%08x (native/sw)\n", a->mxcsr, b->mxcsr);
		return report(name, code, len, "mxcsr");
	}
	for (unsigned i = 0; i < 8; i++) {
		if (memcmp(a->st[i], b->st[i], 10)) {
			if (nr_mismatches < 20) {
				hexdump("native st", a->st[i], 10);
				hexdump("sw     st", b->st[i], 10);
			}
			return report(name, code, len, "x87/MMX register");
		}
	}
	if (memcmp(a->xmm, b->xmm, sizeof(a->xmm))) {
		for (unsigned i = 0; i < 16 && nr_mismatches < 20; i++) {
			if (memcmp(a->xmm[i], b->xmm[i], 16)) {
				fprintf(stderr, "  xmm%u\n", i);
				hexdump("start ", start->fx.xmm[i], 16);
				hexdump("native", a->xmm[i], 16);
				hexdump("sw    ", b->xmm[i], 16);
			}
		}
		return report(name, code, len, "xmm");
	}
	for (unsigned i = 0; i < 15; i++) {
		if (i == R_SP || i == R_BX || (i == R_DI && (how & (CMP_RDI | CMP_BADMEM))))
			continue;
		if (n.gpr[i] != st->gpr[i]) {
			if (nr_mismatches < 20)
				fprintf(stderr, "  gpr %u %" PRIx64 "/%" PRIx64 "\n", i, n.gpr[i],
					st->gpr[i]);
			return report(name, code, len, "gpr");
		}
	}
	if ((n.flags_out ^ st->rflags) & 0x8d5)
		return report(name, code, len, "rflags");
	swh_peek(h, MEM_GPA, gmem, MEM_SIZE);
	if (ign_hi > ign_lo)
		memcpy(gmem + ign_lo, native_mem + ign_lo, ign_hi - ign_lo);
	if (memcmp(gmem, native_mem, MEM_SIZE)) {
		for (unsigned i = 0; i < MEM_SIZE && nr_mismatches < 20; i += 16) {
			if (memcmp(gmem + i, native_mem + i, 16)) {
				fprintf(stderr, "  memory +%u\n", i);
				hexdump("native", native_mem + i, 16);
				hexdump("sw    ", gmem + i, 16);
			}
		}
		return report(name, code, len, "memory");
	}
	return true;
}

/* ---- random values ---- */

enum vk {
	VK_F32,		/* single-precision lanes */
	VK_F64,		/* double-precision lanes */
	VK_INT,		/* integers, biased to edge cases */
	VK_SHIFT,	/* integers, low quadword a likely shift count */
	VK_X87,		/* 80-bit values */
	VK_BCD,		/* packed BCD (sometimes invalid) */
};

static uint32_t rnd_f32(void)
{
	uint32_t sign = (uint32_t)(rnd() & 1) << 31, m = rnd() & 0x7fffff, e;
	float f;

	switch (rndn(12)) {
	case 0:
		return sign;
	case 1:
		return sign | 0x7f800000;
	case 2:
		return sign | 0x7fc00000 | (m & 0x3fffff);			/* QNaN */
	case 3:
		return sign | 0x7f800000 | ((m & 0x3fffff) ? m & 0x3fffff : 1);	/* SNaN */
	case 4:
		return sign | (m ? m : 1);					/* denormal */
	case 5:
		return sign | ((1 + rndn(2)) << 23) | m;			/* tiny normal */
	case 6:
		return sign | ((0xfd + rndn(2)) << 23) | m;			/* huge */
	case 7:
		e = 33 + rndn(31);
		f = (float)(int32_t)(rnd() >> e);
		memcpy(&m, &f, 4);
		return m ^ sign;
	case 8:
		f = (float)(int32_t)(rnd() >> 40) + 0.5f;
		memcpy(&m, &f, 4);
		return m;
	case 9:
		return (uint32_t)rnd();
	default:
		return sign | ((0x78 + rndn(16)) << 23) | m;			/* around 1 */
	}
}

static uint64_t rnd_f64(void)
{
	uint64_t sign = (rnd() & 1) << 63, m = rnd() & 0xfffffffffffffull, e;
	double f;

	switch (rndn(12)) {
	case 0:
		return sign;
	case 1:
		return sign | 0x7ff0000000000000ull;
	case 2:
		return sign | 0x7ff8000000000000ull | (m >> 1);
	case 3:
		return sign | 0x7ff0000000000000ull | ((m >> 1) ? m >> 1 : 1);
	case 4:
		return sign | (m ? m : 1);
	case 5:
		return sign | ((uint64_t)(1 + rndn(2)) << 52) | m;
	case 6:
		return sign | ((uint64_t)(0x7fd + rndn(2)) << 52) | m;
	case 7:
		e = rndn(63);
		f = (double)(int64_t)(rnd() >> e);
		memcpy(&m, &f, 8);
		return m ^ sign;
	case 8:
		f = (double)(int64_t)(rnd() >> 20) + 0.5;
		memcpy(&m, &f, 8);
		return m;
	case 9:
		return rnd();
	case 10:
		/* singles' edges in double form, for the narrowing conversions */
		return sign | ((uint64_t)(0x380 - 30 + rndn(60)) << 52) | m;
	default:
		return sign | ((uint64_t)(0x3f0 + rndn(32)) << 52) | m;
	}
}

static uint64_t rnd_int(void)
{
	static const uint64_t edges[] = {
		0, 1, ~0ull, 0x80, 0x7f, 0xff, 0x8000, 0x7fff, 0xffff, 0x80000000, 0x7fffffff,
		0xffffffff, 0x8000000000000000ull, 0x7fffffffffffffffull,
	};
	static const uint8_t bytes[] = { 0, 0x7f, 0x80, 0xff, 1 };
	uint64_t v = 0;
	unsigned sh;

	switch (rndn(6)) {
	case 0:
		return edges[rndn(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		sh = rndn(64);
		return rnd() >> sh;
	case 2:
		sh = rndn(64);
		return -(rnd() >> sh);
	case 3:
		/* every byte an edge: saturation and compares per element */
		for (unsigned i = 0; i < 8; i++)
			v |= (uint64_t)bytes[rndn(sizeof(bytes))] << (8 * i);
		return v;
	default:
		return rnd();
	}
}

/* An 80-bit value: every class x87 code can meet. */
static void rnd_x87(uint8_t *p)
{
	uint64_t m = rnd(), sign = rnd() & 1;
	unsigned e;

	switch (rndn(14)) {
	case 0:
		m = 0, e = 0;					/* zero */
		break;
	case 1:
		m &= ~(1ull << 63), e = 0;			/* denormal */
		break;
	case 2:
		m |= 1ull << 63, e = 0;				/* pseudo-denormal */
		break;
	case 3:
		m &= ~(1ull << 63), e = 1 + rndn(0x7ffe);	/* unnormal */
		break;
	case 4:
		m = 1ull << 63, e = 0x7fff;			/* infinity */
		break;
	case 5:
		m |= 3ull << 62, e = 0x7fff;			/* QNaN */
		break;
	case 6:
		m = (m | (1ull << 63)) & ~(1ull << 62), e = 0x7fff;
		if (!(m << 2))
			m |= 1;					/* SNaN */
		break;
	case 7:
		m = 0xc000000000000000ull, e = 0x7fff, sign = 1;	/* indefinite */
		break;
	case 8:
		m |= 1ull << 63, e = 0x3fff + 64 + rndn(32);	/* too big for integers */
		break;
	case 9: {
		unsigned k = rndn(64), sh = 63 - k;		/* integers, halves */

		m |= 1ull << 63, e = 0x3fff + k;
		if (rndn(2) && sh)
			sh--;
		if (rndn(3))
			m &= ~0ull << sh;
		break;
	}
	case 10:
		m |= 1ull << 63, e = rndn(2) ? 1 + rndn(8) : 0x7ffe - rndn(8);	/* edges */
		break;
	case 11:
		m &= ~(1ull << 63), e = 0x7fff;			/* pseudo-NaN/-infinity */
		break;
	default:
		m |= 1ull << 63, e = 0x3fff - 8 + rndn(16);	/* around 1 */
		break;
	}
	memcpy(p, &m, 8);
	p[8] = e;
	p[9] = (e >> 8) | (sign << 7);
}

static void rnd_bcd(uint8_t *p)
{
	for (unsigned i = 0; i < 9; i++) {
		p[i] = rndn(10);
		p[i] |= rndn(10) << 4;
	}
	if (!rndn(8))
		p[rndn(9)] |= 0xa0;	/* an invalid digit */
	p[9] = rndn(2) ? 0x80 : 0;
}

/* Fill @n bytes with values of kind @vk. */
static void fill(uint8_t *p, unsigned n, enum vk vk)
{
	for (unsigned i = 0; i < n;) {
		uint64_t v;

		switch (vk) {
		case VK_F32:
			v = rnd_f32();
			v |= (uint64_t)rnd_f32() << 32;
			break;
		case VK_F64:
			v = rnd_f64();
			break;
		case VK_SHIFT:
			v = (i % 16 == 0 && rndn(5)) ? rndn(70) : rnd_int();
			break;
		case VK_X87:
			if (n - i >= 10) {
				rnd_x87(p + i);
				i += 10;
				continue;
			}
			v = rnd();
			break;
		case VK_BCD:
			if (n - i >= 10) {
				rnd_bcd(p + i);
				i += 10;
				continue;
			}
			v = rnd();
			break;
		default:
			v = rnd_int();
			break;
		}
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
		i += 8;
	}
}

static uint32_t rnd_mxcsr(void)
{
	uint32_t mx = rndn(4) << 13;

	mx |= rnd() & MXCSR_FLAGS;

	if (rndn(3) == 0)
		mx |= MXCSR_DAZ;
	if (rndn(3) == 0)
		mx |= MXCSR_FTZ;
	/* Mostly all masked (the usual case), sometimes some exceptions unmasked. */
	mx |= rndn(4) ? MXCSR_MASKS : (uint32_t)(rnd() & MXCSR_MASKS);
	return mx & sw_mxcsr_mask;
}

/* A random x87 control/status/tags; @pending allows an unmasked exception to be waiting. */
static void rnd_x87_ctl(struct x86_fxsave *fx, bool pending)
{
	fx->fcw = rndn(4) << 8;
	fx->fcw |= rndn(4) << 10;
	fx->fcw |= rndn(4) ? 0x3f : (unsigned)(rnd() & 0x3f);
	fx->fcw = (fx->fcw & FCW_VALID) | FCW_ONE;
	fx->fsw = rnd() & 0x7f00;
	fx->fsw |= rnd() & FSW_EXC;
	if (!pending)
		fx->fsw &= ~FSW_EXC | fx->fcw;
	if (fx->fsw & ~fx->fcw & FSW_EXC)
		fx->fsw |= FSW_ES | FSW_B;
	fx->ftw = rndn(3) ? rnd() : rndn(2) ? 0xff : 0;
}

/* A complete random starting state. @vk: the kind of the XMM contents and memory. */
static void rnd_state(struct native_ctx *c, uint8_t *mem, enum vk vk)
{
	memset(c, 0, sizeof(*c));
	rnd_x87_ctl(&c->fx, false);
	c->fx.mxcsr = rnd_mxcsr();
	c->fx.mxcsr_mask = sw_mxcsr_mask;
	for (unsigned i = 0; i < 8; i++) {
		if (vk == VK_X87 || rndn(2)) {
			rnd_x87(c->fx.st[i]);
		} else {
			fill(c->fx.st[i], 8, vk == VK_F32 || vk == VK_F64 ? VK_INT : vk);
			c->fx.st[i][8] = c->fx.st[i][9] = 0xff;
		}
	}
	for (unsigned i = 0; i < 16; i++)
		fill(c->fx.xmm[i], 16, vk == VK_X87 || vk == VK_BCD ? VK_F64 : vk);
	for (unsigned i = 0; i < 16; i++)
		c->gpr[i] = rnd_int();
	c->flags_in = rnd() & 0x8d5;
	fill(mem, MEM_SIZE, vk);
}

/* ---- encoding ---- */

enum kind {
	K_NONE,
	K_X,		/* an XMM register */
	K_XM,		/* XMM register or memory */
	K_M,		/* an MMX register */
	K_MM,		/* MMX register or memory */
	K_G,		/* a GPR (gsz bytes) */
	K_GM,		/* GPR or memory */
	K_MEM,		/* memory */
	K_I,		/* imm8 */
	K_ST0,
	K_STI,		/* ST(0)..ST(7) */
	K_AX,
};

struct form {
	ZydisMnemonic m;
	uint8_t k[3];
	uint8_t msz;	/* memory operand bytes */
	uint8_t gsz;	/* GPR operand bytes */
	uint8_t vk;
};

static const ZydisRegister gprs64[] = {
	ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RSI,
	ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_R8, ZYDIS_REGISTER_R9,
	ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11, ZYDIS_REGISTER_R12, ZYDIS_REGISTER_R13,
	ZYDIS_REGISTER_R14,
};
static const ZydisRegister gprs32[] = {
	ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_ESI,
	ZYDIS_REGISTER_EDI, ZYDIS_REGISTER_EBP, ZYDIS_REGISTER_R8D, ZYDIS_REGISTER_R9D,
	ZYDIS_REGISTER_R10D, ZYDIS_REGISTER_R11D, ZYDIS_REGISTER_R12D, ZYDIS_REGISTER_R13D,
	ZYDIS_REGISTER_R14D,
};

/*
 * Encode one random instance of @f (memory operands at [rbx + disp],
 * aligned to 16 unless @misalign). Returns the length, 0 if Zydis has no
 * such encoding.
 */
static size_t encode(const struct form *f, uint8_t *buf, bool misalign)
{
	ZydisEncoderRequest req;
	ZyanUSize len = ZYDIS_MAX_INSTRUCTION_LENGTH;
	bool mem = false;

	memset(&req, 0, sizeof(req));
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.mnemonic = f->m;
	for (unsigned i = 0; i < 3 && f->k[i] != K_NONE; i++) {
		ZydisEncoderOperand *o = &req.operands[i];
		unsigned k = f->k[i];
		unsigned g = rndn(sizeof(gprs64) / sizeof(gprs64[0]));

		req.operand_count++;
		if ((k == K_XM || k == K_MM || k == K_GM) && !mem && rndn(2))
			k = K_MEM;
		switch (k) {
		case K_X:
		case K_XM:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_XMM0 + rndn(16);
			break;
		case K_M:
		case K_MM:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_MM0 + rndn(8);
			break;
		case K_G:
		case K_GM:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = f->gsz == 8 ? gprs64[g] : gprs32[g];
			break;
		case K_MEM:
			mem = true;
			o->type = ZYDIS_OPERAND_TYPE_MEMORY;
			o->mem.base = ZYDIS_REGISTER_RBX;
			o->mem.displacement = 16 * rndn(24) + (misalign ? 1 + rndn(15) : 0);
			o->mem.size = f->msz;
			break;
		case K_I:
			o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
			o->imm.u = rndn(4) ? rnd() & 0xff : rndn(20);
			break;
		case K_ST0:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_ST0;
			break;
		case K_STI:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_ST0 + rndn(8);
			break;
		case K_AX:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_AX;
			break;
		}
	}
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &len)))
		return 0;
	return len;
}

/* Run @iters random instances of each form; returns the number of failed cases. */
static unsigned run_forms(const struct form *forms, size_t nr, unsigned iters, unsigned how)
{
	struct native_ctx c;
	static uint8_t mem[MEM_SIZE];
	unsigned bad = 0;

	for (size_t i = 0; i < nr; i++) {
		const char *name = ZydisMnemonicGetString(forms[i].m);

		for (unsigned it = 0; it < iters; it++) {
			uint8_t code[16];
			size_t len = encode(&forms[i], code, false);

			if (!len) {
				fprintf(stderr, "  cannot encode %s (form %zu)\n", name, i);
				bad++;
				break;
			}
			rnd_state(&c, mem, forms[i].vk);
			if (how & CMP_X87) {
				/* Some cases start with an exception pending: #MF or not. */
				rnd_x87_ctl(&c.fx, rndn(10) == 0);
				for (unsigned r = 0; r < 8; r++)
					rnd_x87(c.fx.st[r]);
			}
			if (!run_case(name, code, len, &c, mem, how))
				bad++;
		}
	}
	return bad;
}

#define NR(a) (sizeof(a) / sizeof((a)[0]))
#define F(mn, a, b, c, msz, gsz, vk) { ZYDIS_MNEMONIC_##mn, { a, b, c }, msz, gsz, vk }

/* ---- SSE/SSE2 floating point ---- */

#define FP4(mn, vk32, vk64)							\
	F(mn##PS, K_X, K_XM, 0, 16, 0, vk32), F(mn##SS, K_X, K_XM, 0, 4, 0, vk32),	\
	F(mn##PD, K_X, K_XM, 0, 16, 0, vk64), F(mn##SD, K_X, K_XM, 0, 8, 0, vk64)

static const struct form sse_fp_forms[] = {
	FP4(ADD, VK_F32, VK_F64), FP4(SUB, VK_F32, VK_F64), FP4(MUL, VK_F32, VK_F64),
	FP4(DIV, VK_F32, VK_F64), FP4(MIN, VK_F32, VK_F64), FP4(MAX, VK_F32, VK_F64),
	FP4(SQRT, VK_F32, VK_F64),
	F(RCPPS, K_X, K_XM, 0, 16, 0, VK_F32), F(RCPSS, K_X, K_XM, 0, 4, 0, VK_F32),
	F(RSQRTPS, K_X, K_XM, 0, 16, 0, VK_F32), F(RSQRTSS, K_X, K_XM, 0, 4, 0, VK_F32),
	F(CMPPS, K_X, K_XM, K_I, 16, 0, VK_F32), F(CMPSS, K_X, K_XM, K_I, 4, 0, VK_F32),
	F(CMPPD, K_X, K_XM, K_I, 16, 0, VK_F64), F(CMPSD, K_X, K_XM, K_I, 8, 0, VK_F64),
	F(COMISS, K_X, K_XM, 0, 4, 0, VK_F32), F(UCOMISS, K_X, K_XM, 0, 4, 0, VK_F32),
	F(COMISD, K_X, K_XM, 0, 8, 0, VK_F64), F(UCOMISD, K_X, K_XM, 0, 8, 0, VK_F64),
	F(CVTSS2SD, K_X, K_XM, 0, 4, 0, VK_F32), F(CVTSD2SS, K_X, K_XM, 0, 8, 0, VK_F64),
	F(CVTPS2PD, K_X, K_XM, 0, 8, 0, VK_F32), F(CVTPD2PS, K_X, K_XM, 0, 16, 0, VK_F64),
	F(CVTDQ2PS, K_X, K_XM, 0, 16, 0, VK_INT), F(CVTPS2DQ, K_X, K_XM, 0, 16, 0, VK_F32),
	F(CVTTPS2DQ, K_X, K_XM, 0, 16, 0, VK_F32), F(CVTDQ2PD, K_X, K_XM, 0, 8, 0, VK_INT),
	F(CVTPD2DQ, K_X, K_XM, 0, 16, 0, VK_F64), F(CVTTPD2DQ, K_X, K_XM, 0, 16, 0, VK_F64),
	F(CVTSI2SS, K_X, K_GM, 0, 4, 4, VK_INT), F(CVTSI2SS, K_X, K_GM, 0, 8, 8, VK_INT),
	F(CVTSI2SD, K_X, K_GM, 0, 4, 4, VK_INT), F(CVTSI2SD, K_X, K_GM, 0, 8, 8, VK_INT),
	F(CVTSS2SI, K_G, K_XM, 0, 4, 4, VK_F32), F(CVTSS2SI, K_G, K_XM, 0, 4, 8, VK_F32),
	F(CVTTSS2SI, K_G, K_XM, 0, 4, 4, VK_F32), F(CVTTSS2SI, K_G, K_XM, 0, 4, 8, VK_F32),
	F(CVTSD2SI, K_G, K_XM, 0, 8, 4, VK_F64), F(CVTSD2SI, K_G, K_XM, 0, 8, 8, VK_F64),
	F(CVTTSD2SI, K_G, K_XM, 0, 8, 4, VK_F64), F(CVTTSD2SI, K_G, K_XM, 0, 8, 8, VK_F64),
	F(CVTPI2PS, K_X, K_MM, 0, 8, 0, VK_INT), F(CVTPI2PD, K_X, K_MM, 0, 8, 0, VK_INT),
	F(CVTPS2PI, K_M, K_XM, 0, 8, 0, VK_F32), F(CVTTPS2PI, K_M, K_XM, 0, 8, 0, VK_F32),
	F(CVTPD2PI, K_M, K_XM, 0, 16, 0, VK_F64), F(CVTTPD2PI, K_M, K_XM, 0, 16, 0, VK_F64),
	F(ANDPS, K_X, K_XM, 0, 16, 0, VK_F32), F(ANDNPS, K_X, K_XM, 0, 16, 0, VK_F32),
	F(ORPS, K_X, K_XM, 0, 16, 0, VK_F32), F(XORPS, K_X, K_XM, 0, 16, 0, VK_F32),
	F(ANDPD, K_X, K_XM, 0, 16, 0, VK_F64), F(ANDNPD, K_X, K_XM, 0, 16, 0, VK_F64),
	F(ORPD, K_X, K_XM, 0, 16, 0, VK_F64), F(XORPD, K_X, K_XM, 0, 16, 0, VK_F64),
};

static void test_sse_fp_oracle(void)
{
	CU_ASSERT_EQUAL(run_forms(sse_fp_forms, NR(sse_fp_forms), 300, 0), 0);
}

/* ---- integer SIMD, both register files ---- */

#define INT2(mn)								\
	F(mn, K_X, K_XM, 0, 16, 0, VK_INT), F(mn, K_M, K_MM, 0, 8, 0, VK_INT)
#define SHIFT4(mn)								\
	F(mn, K_X, K_XM, 0, 16, 0, VK_SHIFT), F(mn, K_X, K_I, 0, 0, 0, VK_INT),	\
	F(mn, K_M, K_MM, 0, 8, 0, VK_SHIFT), F(mn, K_M, K_I, 0, 0, 0, VK_INT)

static const struct form int_forms[] = {
	INT2(PADDB), INT2(PADDW), INT2(PADDD), INT2(PADDQ),
	INT2(PSUBB), INT2(PSUBW), INT2(PSUBD), INT2(PSUBQ),
	INT2(PADDSB), INT2(PADDSW), INT2(PSUBSB), INT2(PSUBSW),
	INT2(PADDUSB), INT2(PADDUSW), INT2(PSUBUSB), INT2(PSUBUSW),
	INT2(PCMPEQB), INT2(PCMPEQW), INT2(PCMPEQD),
	INT2(PCMPGTB), INT2(PCMPGTW), INT2(PCMPGTD),
	INT2(PAND), INT2(PANDN), INT2(POR), INT2(PXOR),
	INT2(PMULLW), INT2(PMULHW), INT2(PMULHUW), INT2(PMADDWD), INT2(PMULUDQ),
	INT2(PSADBW), INT2(PAVGB), INT2(PAVGW),
	INT2(PMAXUB), INT2(PMINUB), INT2(PMAXSW), INT2(PMINSW),
	INT2(PACKSSWB), INT2(PACKUSWB), INT2(PACKSSDW),
	SHIFT4(PSLLW), SHIFT4(PSLLD), SHIFT4(PSLLQ),
	SHIFT4(PSRLW), SHIFT4(PSRLD), SHIFT4(PSRLQ),
	SHIFT4(PSRAW), SHIFT4(PSRAD),
	F(PSLLDQ, K_X, K_I, 0, 0, 0, VK_INT), F(PSRLDQ, K_X, K_I, 0, 0, 0, VK_INT),
	F(EMMS, 0, 0, 0, 0, 0, VK_INT),
};

static void test_int_oracle(void)
{
	CU_ASSERT_EQUAL(run_forms(int_forms, NR(int_forms), 150, 0), 0);
}

/* ---- moves, shuffles, unpacks, insert/extract, masks ---- */

#define MOV2(mn, vk)								\
	F(mn, K_X, K_XM, 0, 16, 0, vk), F(mn, K_MEM, K_X, 0, 16, 0, vk)

static const struct form move_forms[] = {
	MOV2(MOVAPS, VK_F32), MOV2(MOVUPS, VK_F32), MOV2(MOVAPD, VK_F64),
	MOV2(MOVUPD, VK_F64), MOV2(MOVDQA, VK_INT), MOV2(MOVDQU, VK_INT),
	F(MOVNTPS, K_MEM, K_X, 0, 16, 0, VK_F32), F(MOVNTPD, K_MEM, K_X, 0, 16, 0, VK_F64),
	F(MOVNTDQ, K_MEM, K_X, 0, 16, 0, VK_INT),
	F(MOVSS, K_X, K_XM, 0, 4, 0, VK_F32), F(MOVSS, K_MEM, K_X, 0, 4, 0, VK_F32),
	F(MOVSD, K_X, K_XM, 0, 8, 0, VK_F64), F(MOVSD, K_MEM, K_X, 0, 8, 0, VK_F64),
	F(MOVLPS, K_X, K_MEM, 0, 8, 0, VK_F32), F(MOVLPS, K_MEM, K_X, 0, 8, 0, VK_F32),
	F(MOVHPS, K_X, K_MEM, 0, 8, 0, VK_F32), F(MOVHPS, K_MEM, K_X, 0, 8, 0, VK_F32),
	F(MOVLPD, K_X, K_MEM, 0, 8, 0, VK_F64), F(MOVLPD, K_MEM, K_X, 0, 8, 0, VK_F64),
	F(MOVHPD, K_X, K_MEM, 0, 8, 0, VK_F64), F(MOVHPD, K_MEM, K_X, 0, 8, 0, VK_F64),
	F(MOVHLPS, K_X, K_X, 0, 0, 0, VK_F32), F(MOVLHPS, K_X, K_X, 0, 0, 0, VK_F32),
	F(MOVD, K_X, K_GM, 0, 4, 4, VK_INT), F(MOVD, K_GM, K_X, 0, 4, 4, VK_INT),
	F(MOVD, K_M, K_GM, 0, 4, 4, VK_INT), F(MOVD, K_GM, K_M, 0, 4, 4, VK_INT),
	F(MOVQ, K_X, K_GM, 0, 8, 8, VK_INT), F(MOVQ, K_GM, K_X, 0, 8, 8, VK_INT),
	F(MOVQ, K_X, K_XM, 0, 8, 0, VK_INT), F(MOVQ, K_MEM, K_X, 0, 8, 0, VK_INT),
	F(MOVQ, K_M, K_MM, 0, 8, 0, VK_INT), F(MOVQ, K_MEM, K_M, 0, 8, 0, VK_INT),
	F(MOVQ, K_M, K_G, 0, 0, 8, VK_INT), F(MOVQ, K_G, K_M, 0, 0, 8, VK_INT),
	F(MOVQ2DQ, K_X, K_M, 0, 0, 0, VK_INT), F(MOVDQ2Q, K_M, K_X, 0, 0, 0, VK_INT),
	F(MOVNTQ, K_MEM, K_M, 0, 8, 0, VK_INT),
	F(MOVNTI, K_MEM, K_G, 0, 4, 4, VK_INT), F(MOVNTI, K_MEM, K_G, 0, 8, 8, VK_INT),
	F(MOVMSKPS, K_G, K_X, 0, 0, 4, VK_F32), F(MOVMSKPD, K_G, K_X, 0, 0, 4, VK_F64),
	F(PMOVMSKB, K_G, K_X, 0, 0, 4, VK_INT), F(PMOVMSKB, K_G, K_M, 0, 0, 4, VK_INT),
	F(SHUFPS, K_X, K_XM, K_I, 16, 0, VK_F32), F(SHUFPD, K_X, K_XM, K_I, 16, 0, VK_F64),
	F(PSHUFD, K_X, K_XM, K_I, 16, 0, VK_INT), F(PSHUFHW, K_X, K_XM, K_I, 16, 0, VK_INT),
	F(PSHUFLW, K_X, K_XM, K_I, 16, 0, VK_INT), F(PSHUFW, K_M, K_MM, K_I, 8, 0, VK_INT),
	F(UNPCKLPS, K_X, K_XM, 0, 16, 0, VK_F32), F(UNPCKHPS, K_X, K_XM, 0, 16, 0, VK_F32),
	F(UNPCKLPD, K_X, K_XM, 0, 16, 0, VK_F64), F(UNPCKHPD, K_X, K_XM, 0, 16, 0, VK_F64),
	INT2(PUNPCKHBW), INT2(PUNPCKHWD), INT2(PUNPCKHDQ),
	F(PUNPCKLBW, K_X, K_XM, 0, 16, 0, VK_INT), F(PUNPCKLBW, K_M, K_MM, 0, 4, 0, VK_INT),
	F(PUNPCKLWD, K_X, K_XM, 0, 16, 0, VK_INT), F(PUNPCKLWD, K_M, K_MM, 0, 4, 0, VK_INT),
	F(PUNPCKLDQ, K_X, K_XM, 0, 16, 0, VK_INT), F(PUNPCKLDQ, K_M, K_MM, 0, 4, 0, VK_INT),
	F(PUNPCKLQDQ, K_X, K_XM, 0, 16, 0, VK_INT), F(PUNPCKHQDQ, K_X, K_XM, 0, 16, 0, VK_INT),
	F(PINSRW, K_X, K_GM, K_I, 2, 4, VK_INT), F(PINSRW, K_M, K_GM, K_I, 2, 4, VK_INT),
	F(PEXTRW, K_G, K_X, K_I, 0, 4, VK_INT), F(PEXTRW, K_G, K_M, K_I, 0, 4, VK_INT),
	F(STMXCSR, K_MEM, 0, 0, 4, 0, VK_INT),
};

static const struct form maskmov_forms[] = {
	F(MASKMOVDQU, K_X, K_X, 0, 0, 0, VK_INT), F(MASKMOVQ, K_M, K_M, 0, 0, 0, VK_INT),
};

/* Faulting memory operands of MMX instructions: what happens to TOP and the tags. */
static const struct form mmx_fault_forms[] = {
	F(MOVQ, K_M, K_MEM, 0, 8, 0, VK_INT), F(MOVQ, K_MEM, K_M, 0, 8, 0, VK_INT),
	F(MOVD, K_M, K_MEM, 0, 4, 0, VK_INT), F(MOVD, K_MEM, K_M, 0, 4, 0, VK_INT),
	F(MOVNTQ, K_MEM, K_M, 0, 8, 0, VK_INT), F(PADDB, K_M, K_MEM, 0, 8, 0, VK_INT),
	F(PSHUFW, K_M, K_MEM, K_I, 8, 0, VK_INT), F(CVTPS2PI, K_M, K_MEM, 0, 8, 0, VK_F32),
	F(CVTPI2PS, K_X, K_MEM, 0, 8, 0, VK_INT), F(MASKMOVQ, K_M, K_M, 0, 0, 0, VK_INT),
};

static void test_move_oracle(void)
{
	CU_ASSERT_EQUAL(run_forms(mmx_fault_forms, NR(mmx_fault_forms), 20, CMP_BADMEM), 0);
	CU_ASSERT_EQUAL(run_forms(move_forms, NR(move_forms), 150, 0), 0);
	CU_ASSERT_EQUAL(run_forms(maskmov_forms, NR(maskmov_forms), 150, CMP_RDI), 0);
}

/* ---- x87 ---- */

#define NOARG(mn)	F(mn, 0, 0, 0, 0, 0, VK_X87)

static const struct form x87_forms[] = {
	F(FADD, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FADD, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FADD, K_MEM, 0, 0, 4, 0, VK_F32), F(FADD, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FADDP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FIADD, K_MEM, 0, 0, 2, 0, VK_INT), F(FIADD, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FSUB, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FSUB, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FSUB, K_MEM, 0, 0, 4, 0, VK_F32), F(FSUB, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FSUBP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FISUB, K_MEM, 0, 0, 2, 0, VK_INT), F(FISUB, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FSUBR, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FSUBR, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FSUBR, K_MEM, 0, 0, 4, 0, VK_F32), F(FSUBR, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FSUBRP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FISUBR, K_MEM, 0, 0, 2, 0, VK_INT), F(FISUBR, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FMUL, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FMUL, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FMUL, K_MEM, 0, 0, 4, 0, VK_F32), F(FMUL, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FMULP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FIMUL, K_MEM, 0, 0, 2, 0, VK_INT), F(FIMUL, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FDIV, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FDIV, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FDIV, K_MEM, 0, 0, 4, 0, VK_F32), F(FDIV, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FDIVP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FIDIV, K_MEM, 0, 0, 2, 0, VK_INT), F(FIDIV, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FDIVR, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FDIVR, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FDIVR, K_MEM, 0, 0, 4, 0, VK_F32), F(FDIVR, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FDIVRP, K_STI, K_ST0, 0, 0, 0, VK_X87),
	F(FIDIVR, K_MEM, 0, 0, 2, 0, VK_INT), F(FIDIVR, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FCOM, K_STI, 0, 0, 0, 0, VK_X87), F(FCOM, K_MEM, 0, 0, 4, 0, VK_F32),
	F(FCOM, K_MEM, 0, 0, 8, 0, VK_F64), F(FCOMP, K_STI, 0, 0, 0, 0, VK_X87),
	F(FCOMP, K_MEM, 0, 0, 4, 0, VK_F32), F(FCOMP, K_MEM, 0, 0, 8, 0, VK_F64),
	F(FUCOM, K_STI, 0, 0, 0, 0, VK_X87), F(FUCOMP, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FICOM, K_MEM, 0, 0, 2, 0, VK_INT), F(FICOM, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FICOMP, K_MEM, 0, 0, 2, 0, VK_INT), F(FICOMP, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FCOMI, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FCOMIP, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FUCOMI, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FUCOMIP, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FCMOVB, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FCMOVE, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FCMOVBE, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FCMOVU, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FCMOVNB, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FCMOVNE, K_ST0, K_STI, 0, 0, 0, VK_X87),
	F(FCMOVNBE, K_ST0, K_STI, 0, 0, 0, VK_X87), F(FCMOVNU, K_ST0, K_STI, 0, 0, 0, VK_X87),
	NOARG(FCOMPP), NOARG(FUCOMPP), NOARG(FTST), NOARG(FXAM), NOARG(FCHS), NOARG(FABS),
	NOARG(FSQRT), NOARG(FRNDINT), NOARG(FSCALE), NOARG(FXTRACT), NOARG(FPREM),
	NOARG(FPREM1), NOARG(F2XM1), NOARG(FYL2X), NOARG(FYL2XP1), NOARG(FPTAN),
	NOARG(FPATAN), NOARG(FSIN), NOARG(FCOS), NOARG(FSINCOS), NOARG(FINCSTP),
	NOARG(FDECSTP), NOARG(FLD1), NOARG(FLDL2T), NOARG(FLDL2E), NOARG(FLDPI),
	NOARG(FLDLG2), NOARG(FLDLN2), NOARG(FLDZ), NOARG(FNOP), NOARG(FNINIT),
	NOARG(FNCLEX), NOARG(FWAIT),
	F(FLD, K_STI, 0, 0, 0, 0, VK_X87), F(FLD, K_MEM, 0, 0, 4, 0, VK_F32),
	F(FLD, K_MEM, 0, 0, 8, 0, VK_F64), F(FLD, K_MEM, 0, 0, 10, 0, VK_X87),
	F(FILD, K_MEM, 0, 0, 2, 0, VK_INT), F(FILD, K_MEM, 0, 0, 4, 0, VK_INT),
	F(FILD, K_MEM, 0, 0, 8, 0, VK_INT), F(FBLD, K_MEM, 0, 0, 10, 0, VK_BCD),
	F(FST, K_STI, 0, 0, 0, 0, VK_X87), F(FST, K_MEM, 0, 0, 4, 0, VK_X87),
	F(FST, K_MEM, 0, 0, 8, 0, VK_X87), F(FSTP, K_STI, 0, 0, 0, 0, VK_X87),
	F(FSTP, K_MEM, 0, 0, 4, 0, VK_X87), F(FSTP, K_MEM, 0, 0, 8, 0, VK_X87),
	F(FSTP, K_MEM, 0, 0, 10, 0, VK_X87),
	F(FIST, K_MEM, 0, 0, 2, 0, VK_X87), F(FIST, K_MEM, 0, 0, 4, 0, VK_X87),
	F(FISTP, K_MEM, 0, 0, 2, 0, VK_X87), F(FISTP, K_MEM, 0, 0, 4, 0, VK_X87),
	F(FISTP, K_MEM, 0, 0, 8, 0, VK_X87),
	F(FISTTP, K_MEM, 0, 0, 2, 0, VK_X87), F(FISTTP, K_MEM, 0, 0, 4, 0, VK_X87),
	F(FISTTP, K_MEM, 0, 0, 8, 0, VK_X87), F(FBSTP, K_MEM, 0, 0, 10, 0, VK_X87),
	F(FXCH, K_STI, 0, 0, 0, 0, VK_X87), F(FFREE, K_STI, 0, 0, 0, 0, VK_X87),
	F(FLDCW, K_MEM, 0, 0, 2, 0, VK_INT), F(FNSTCW, K_MEM, 0, 0, 2, 0, VK_INT),
	F(FNSTSW, K_MEM, 0, 0, 2, 0, VK_INT), F(FNSTSW, K_AX, 0, 0, 0, 0, VK_INT),
};

/* Faulting memory operands: nothing changes (x87 state, registers). */
static const struct form x87_fault_forms[] = {
	F(FLD, K_MEM, 0, 0, 8, 0, VK_F64), F(FLD, K_MEM, 0, 0, 10, 0, VK_X87),
	F(FSTP, K_MEM, 0, 0, 8, 0, VK_X87), F(FSTP, K_MEM, 0, 0, 10, 0, VK_X87),
	F(FISTP, K_MEM, 0, 0, 4, 0, VK_X87), F(FADD, K_MEM, 0, 0, 4, 0, VK_F32),
	F(FLDCW, K_MEM, 0, 0, 2, 0, VK_INT), F(FNSTSW, K_MEM, 0, 0, 2, 0, VK_INT),
	F(FBSTP, K_MEM, 0, 0, 10, 0, VK_X87),
};

static const struct form sse_fault_forms[] = {
	F(MOVAPS, K_MEM, K_X, 0, 16, 0, VK_F32), F(ADDPS, K_X, K_MEM, 0, 16, 0, VK_F32),
	F(MOVUPS, K_MEM, K_X, 0, 16, 0, VK_F32), F(ADDSD, K_X, K_MEM, 0, 8, 0, VK_F64),
	F(CVTSI2SD, K_X, K_MEM, 0, 8, 8, VK_INT), F(MOVHPS, K_MEM, K_X, 0, 8, 0, VK_F32),
	F(STMXCSR, K_MEM, 0, 0, 4, 0, VK_INT), F(LDMXCSR, K_MEM, 0, 0, 4, 0, VK_INT),
	F(MASKMOVDQU, K_X, K_X, 0, 0, 0, VK_INT),
};

static void test_x87_oracle(void)
{
	CU_ASSERT_EQUAL(run_forms(x87_forms, NR(x87_forms), 250, CMP_X87), 0);
	CU_ASSERT_EQUAL(run_forms(x87_fault_forms, NR(x87_fault_forms), 20,
				  CMP_X87 | CMP_BADMEM), 0);
	CU_ASSERT_EQUAL(run_forms(sse_fault_forms, NR(sse_fault_forms), 20, CMP_BADMEM), 0);
}

/* ---- FXSAVE / FXRSTOR / FSAVE / FSTENV against the host ---- */

static void run_fixed(const char *name, const uint8_t *code, size_t len, unsigned iters,
		      bool image, unsigned lo, unsigned hi, unsigned how)
{
	static uint8_t mem[MEM_SIZE];
	struct native_ctx c;
	unsigned bad = 0;

	ign_lo = lo;
	ign_hi = hi;
	for (unsigned it = 0; it < iters; it++) {
		rnd_state(&c, mem, VK_F64);
		rnd_x87_ctl(&c.fx, rndn(4) == 0);
		for (unsigned r = 0; r < 8; r++)
			rnd_x87(c.fx.st[r]);
		if (image) {
			/* A plausible image at [rbx]: x87 values, valid MXCSR (mostly). */
			uint32_t mx = rnd_mxcsr();

			if (!rndn(8))
				mx |= 1u << (16 + rndn(16));	/* reserved: #GP */

			for (unsigned r = 0; r < 8; r++) {
				rnd_x87(mem + 32 + 16 * r);
				rnd_x87(mem + 28 + 10 * r);	/* FRSTOR's 32-bit layout */
			}
			memcpy(mem + 24, &mx, 4);
			mem[0] = rnd() & 0x3f;		/* FCW: mostly masked */
			if (rndn(4))
				mem[0] = 0x7f;
		}
		if (!run_case(name, code, len, &c, mem, how))
			bad++;
	}
	ign_lo = ign_hi = 0;
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_fxsave_oracle(void)
{
	static const uint8_t fxsave64[] = { 0x48, 0x0f, 0xae, 0x03 };
	static const uint8_t fxsave[] = { 0x0f, 0xae, 0x03 };
	static const uint8_t fxsave_mis[] = { 0x0f, 0xae, 0x43, 0x08 };

	/* FOP, FIP and FDP (bytes 6..23) are the host's own business. */
	run_fixed("fxsave64", fxsave64, sizeof(fxsave64), 100, false, 6, 24, 0);
	run_fixed("fxsave", fxsave, sizeof(fxsave), 100, false, 6, 24, 0);
	run_fixed("fxsave misaligned", fxsave_mis, sizeof(fxsave_mis), 10, false, 0, 0, 0);
}

static void test_fxrstor_oracle(void)
{
	static const uint8_t fxrstor64[] = { 0x48, 0x0f, 0xae, 0x0b };
	static const uint8_t fxrstor[] = { 0x0f, 0xae, 0x0b };

	run_fixed("fxrstor64", fxrstor64, sizeof(fxrstor64), 150, true, 0, 0, 0);
	run_fixed("fxrstor", fxrstor, sizeof(fxrstor), 150, true, 0, 0, 0);
}

static void test_fsave_oracle(void)
{
	static const uint8_t fnsave[] = { 0xdd, 0x33 };
	static const uint8_t fnsave16[] = { 0x66, 0xdd, 0x33 };
	static const uint8_t fnstenv[] = { 0xd9, 0x33 };
	static const uint8_t fnstenv16[] = { 0x66, 0xd9, 0x33 };
	static const uint8_t frstor[] = { 0xdd, 0x23 };
	static const uint8_t frstor16[] = { 0x66, 0xdd, 0x23 };
	static const uint8_t fldenv[] = { 0xd9, 0x23 };
	static const uint8_t fldenv16[] = { 0x66, 0xd9, 0x23 };

	/* Pointer fields aside: FIP, FCS|FOP, FDP (32-bit) or FIP, FCS, FDP (16-bit). */
	run_fixed("fnsave", fnsave, sizeof(fnsave), 100, false, 12, 24, CMP_X87);
	run_fixed("fnsave o16", fnsave16, sizeof(fnsave16), 100, false, 6, 12, CMP_X87);
	run_fixed("fnstenv", fnstenv, sizeof(fnstenv), 100, false, 12, 24, CMP_X87);
	run_fixed("fnstenv o16", fnstenv16, sizeof(fnstenv16), 100, false, 6, 12, CMP_X87);
	run_fixed("frstor", frstor, sizeof(frstor), 100, true, 0, 0, CMP_X87);
	run_fixed("frstor o16", frstor16, sizeof(frstor16), 100, true, 0, 0, CMP_X87);
	run_fixed("fldenv", fldenv, sizeof(fldenv), 100, true, 0, 0, CMP_X87);
	run_fixed("fldenv o16", fldenv16, sizeof(fldenv16), 100, true, 0, 0, CMP_X87);
}

static void test_ldmxcsr_oracle(void)
{
	static const uint8_t ldmxcsr[] = { 0x0f, 0xae, 0x13 };
	static uint8_t mem[MEM_SIZE];
	struct native_ctx c;
	unsigned bad = 0;

	for (unsigned it = 0; it < 200; it++) {
		uint32_t mx = rnd_mxcsr();

		if (!rndn(4))
			mx |= 1u << (6 + rndn(26));	/* sometimes a reserved bit: #GP */
		rnd_state(&c, mem, VK_INT);
		memcpy(mem, &mx, 4);
		if (!run_case("ldmxcsr", ldmxcsr, sizeof(ldmxcsr), &c, mem, 0))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---- architectural rules, checked directly ---- */

static void reset_guest(void)
{
	swh_set_mode(h, SWH_LONG64);
	h->cpu.st.cr0 |= CR0_BASE;
	h->cpu.st.cr4 |= CR4_SSE;
	h->cpu.st.gpr[R_BX] = MEM_GPA;
}

static int exec_bytes(const uint8_t *code, size_t len)
{
	nr_cases++;
	return guest_exec(code, len);
}

#define EXEC(...) ({ static const uint8_t c_[] = { __VA_ARGS__ }; exec_bytes(c_, sizeof(c_)); })

static void test_cr0_cr4_rules(void)
{
	/* CR0.TS: #NM for x87, MMX, SSE, FXSAVE; WAIT only with MP. */
	reset_guest();
	h->cpu.st.cr0 |= X86_CR0_TS;
	CU_ASSERT_EQUAL(EXEC(0xd8, 0xc1), X86_NM);			/* fadd st0, st1 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xc1), X86_NM);		/* addps */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xfc, 0xc1), X86_NM);		/* paddb mm0, mm1 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x03), X86_NM);		/* fxsave [rbx] */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x13), X86_NM);		/* ldmxcsr [rbx] */
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe3), X86_NM);			/* fninit */
	CU_ASSERT_EQUAL(EXEC(0x9b), X86_NM);				/* fwait, MP = 1 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xc3, 0x03), SWH_OK);		/* movnti: a GPR store */
	h->cpu.st.cr0 &= ~X86_CR0_MP;
	CU_ASSERT_EQUAL(EXEC(0x9b), SWH_OK);				/* fwait, MP = 0 */

	/* CR0.EM: #NM for x87 and FXSAVE, #UD for MMX and SSE; WAIT unaffected. */
	reset_guest();
	h->cpu.st.cr0 |= X86_CR0_EM;
	CU_ASSERT_EQUAL(EXEC(0xd8, 0xc1), X86_NM);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xc1), X86_UD);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xfc, 0xc1), X86_UD);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x77), X86_UD);			/* emms */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x03), X86_NM);
	CU_ASSERT_EQUAL(EXEC(0x9b), SWH_OK);
	/* EM wins over TS for SSE: #UD. */
	h->cpu.st.cr0 |= X86_CR0_TS;
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xc1), X86_UD);

	/* CR4.OSFXSR = 0: SSE is #UD, MMX and FXSAVE still work. */
	reset_guest();
	h->cpu.st.cr4 &= ~X86_CR4_OSFXSR;
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xc1), X86_UD);
	CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0x6e, 0xc0), X86_UD);	/* movd xmm0, eax */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x13), X86_UD);		/* ldmxcsr */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xfc, 0xc1), SWH_OK);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x03), SWH_OK);

	/*
	 * Beyond SSE2: what the model has runs (tests/unit/oracle_simd.c checks
	 * the results); without its CPUID bit, #UD even with everything
	 * enabled. AVX is not implemented: #UD.
	 */
	{
		struct cpuid_model saved = cpuid_global;
		uint32_t l1[4];

		cpuid_model_lookup(&cpuid_global, 0, 1, 0, l1);
		reset_guest();
		CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0x38, 0x00, 0xc1),	/* pshufb */
				(l1[2] & CPUID_1_ECX_SSSE3) ? SWH_OK : X86_UD);
		CU_ASSERT_EQUAL(EXEC(0xf2, 0x0f, 0x12, 0xc1),		/* movddup */
				(l1[2] & CPUID_1_ECX_SSE3) ? SWH_OK : X86_UD);
		for (unsigned i = 0; i < cpuid_global.nr; i++)
			if (cpuid_global.leaf[i].function == 1)
				cpuid_global.leaf[i].ecx &= CPUID_1_ECX_HYPERVISOR;
		CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0x38, 0x00, 0xc1), X86_UD);	/* pshufb */
		CU_ASSERT_EQUAL(EXEC(0xf2, 0x0f, 0x12, 0xc1), X86_UD);		/* movddup */
		CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0x3a, 0x15, 0x03, 0x01), X86_UD); /* pextrw m16 */
		CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0x3a, 0x14, 0xc0, 0x01), X86_UD); /* pextrb */
		cpuid_global = saved;
		/* The SSE2 register form of PEXTRW is there either way. */
		CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0xc5, 0xc1, 0x01), SWH_OK);
	}
	CU_ASSERT_EQUAL(EXEC(0xc5, 0xf0, 0x58, 0xc2), X86_UD);		/* vaddps */
}

static void test_simd_exceptions(void)
{
	static const float one[4] = { 1, 1, 1, 1 };
	uint8_t before[16];

	/* 1/0 with ZE unmasked: #XM with OSXMMEXCPT, #UD without; flag set, dest kept. */
	for (int xmm = 1; xmm >= 0; xmm--) {
		reset_guest();
		if (!xmm)
			h->cpu.st.cr4 &= ~X86_CR4_OSXMMEXCPT;
		h->cpu.st.fx.mxcsr = MXCSR_INIT & ~(0x4 << MXCSR_MASK_SHIFT);
		memcpy(h->cpu.st.fx.xmm[0], one, 16);
		memset(h->cpu.st.fx.xmm[1], 0, 16);
		memcpy(before, h->cpu.st.fx.xmm[0], 16);
		CU_ASSERT_EQUAL(EXEC(0x0f, 0x5e, 0xc1), xmm ? X86_XM : X86_UD);	/* divps */
		CU_ASSERT(h->cpu.st.fx.mxcsr & 0x4);
		CU_ASSERT_EQUAL(memcmp(before, h->cpu.st.fx.xmm[0], 16), 0);
	}
	/* The same masked: infinities and ZE. */
	reset_guest();
	memcpy(h->cpu.st.fx.xmm[0], one, 16);
	memset(h->cpu.st.fx.xmm[1], 0, 16);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x5e, 0xc1), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.fx.mxcsr, MXCSR_INIT | 0x4);
	CU_ASSERT_EQUAL(h->cpu.st.fx.xmm[0][3], 0x7f);

	/* Alignment of 16-byte operands. */
	reset_guest();
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x28, 0x43, 0x08), X86_GP);		/* movaps xmm0, [rbx+8] */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x29, 0x43, 0x08), X86_GP);		/* movaps [rbx+8], xmm0 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0x43, 0x08), X86_GP);		/* addps xmm0, [rbx+8] */
	CU_ASSERT_EQUAL(EXEC(0x66, 0x0f, 0xfc, 0x43, 0x08), X86_GP);	/* paddb xmm0, [rbx+8] */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x43, 0x08), X86_GP);		/* fxsave [rbx+8] */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x10, 0x43, 0x08), SWH_OK);		/* movups */
	CU_ASSERT_EQUAL(EXEC(0xf3, 0x0f, 0x58, 0x43, 0x01), SWH_OK);	/* addss [rbx+1] */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xfc, 0x43, 0x01), SWH_OK);		/* paddb mm0, [rbx+1] */

	/* Reserved MXCSR bits: LDMXCSR and FXRSTOR #GP, nothing loaded. */
	reset_guest();
	swh_poke_val(h, MEM_GPA, 0x10000 | MXCSR_INIT, 4);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x13), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.st.fx.mxcsr, MXCSR_INIT);
	swh_poke_val(h, MEM_GPA, 0x1f80 | MXCSR_RC, 4);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x13), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.fx.mxcsr, 0x1f80 | MXCSR_RC);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x03), SWH_OK);		/* fxsave [rbx] */
	swh_poke_val(h, MEM_GPA + 24, 0xffffffff, 4);
	h->cpu.st.fx.fcw = 0x123;
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x0b), X86_GP);		/* fxrstor [rbx] */
	CU_ASSERT_EQUAL(h->cpu.st.fx.fcw, 0x123);
}

static const uint8_t x87_indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
static const uint8_t x87_one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };

static void test_x87_stack_faults(void)
{
	/* Ninth push: IE + SF + C1 (overflow), ST0 = indefinite, TOP decremented. */
	reset_guest();
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe3), SWH_OK);			/* fninit */
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(EXEC(0xd9, 0xe8), SWH_OK);		/* fld1 */
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0xff);
	CU_ASSERT_EQUAL(h->cpu.st.fx.fsw, 0);
	CU_ASSERT_EQUAL(EXEC(0xd9, 0xe8), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.fx.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
	CU_ASSERT_EQUAL(sw_fpu_top(&h->cpu), 7);
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.st[0], x87_indefinite, 10), 0);

	/* Pop from an empty register: IE + SF, C1 = 0 (underflow). */
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe3), SWH_OK);
	CU_ASSERT_EQUAL(EXEC(0xdd, 0xd8), SWH_OK);			/* fstp st0 */
	CU_ASSERT_EQUAL(h->cpu.st.fx.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF);

	/* Unmasked: nothing at the faulting insn, #MF at the next waiting one. */
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe3), SWH_OK);
	swh_poke_val(h, MEM_GPA, 0x37e, 2);
	CU_ASSERT_EQUAL(EXEC(0xd9, 0x2b), SWH_OK);			/* fldcw [rbx] */
	CU_ASSERT_EQUAL(EXEC(0xdd, 0xd8), SWH_OK);			/* fstp st0: IE */
	CU_ASSERT(h->cpu.st.fx.fsw & FSW_ES);
	CU_ASSERT_EQUAL(EXEC(0xdf, 0xe0), SWH_OK);			/* fnstsw ax: no wait */
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_AX] & 0xffff, h->cpu.st.fx.fsw);
	CU_ASSERT_EQUAL(EXEC(0x9b), X86_MF);				/* fwait */
	CU_ASSERT_EQUAL(EXEC(0xd9, 0xe8), X86_MF);			/* fld1 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xfc, 0xc1), X86_MF);		/* paddb mm0, mm1 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xc1), SWH_OK);		/* addps: no x87 check */
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe2), SWH_OK);			/* fnclex */
	CU_ASSERT_EQUAL(EXEC(0x9b), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.fx.fsw & (FSW_ES | FSW_EXC), 0);
}

static void test_mmx_mode_switch(void)
{
	reset_guest();
	CU_ASSERT_EQUAL(EXEC(0xdb, 0xe3), SWH_OK);			/* fninit */
	CU_ASSERT_EQUAL(EXEC(0xd9, 0xe8), SWH_OK);			/* fld1: R7 */
	CU_ASSERT_EQUAL(sw_fpu_top(&h->cpu), 7);
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0x80);
	/* A faulting MMX load leaves the x87 unit as it was. */
	h->cpu.st.gpr[R_BX] = 0x8000000000000000ull;
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x6f, 0x03), X86_GP);		/* movq mm0, [rbx] */
	CU_ASSERT_EQUAL(sw_fpu_top(&h->cpu), 7);
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0x80);
	/*
	 * A faulting store, as the model's vendor (the host's) does it: Intel
	 * has read the register, so TOP = 0, the tags not yet valid; AMD
	 * leaves TOP alone too. R7 keeps its value either way.
	 */
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x7f, 0x03), X86_GP);		/* movq [rbx], mm0 */
	CU_ASSERT_EQUAL(sw_fpu_top(&h->cpu), sw_vendor_amd() ? 7 : 0);
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0x80);
	CU_ASSERT_EQUAL(memcmp(sw_mmx_slot(&h->cpu, 7), x87_one, 10), 0);
	h->cpu.st.gpr[R_BX] = MEM_GPA;
	h->cpu.st.gpr[R_AX] = 0x1122334455667788ull;
	CU_ASSERT_EQUAL(EXEC(0x48, 0x0f, 0x6e, 0xc8), SWH_OK);		/* movq mm1, rax */
	/* TOP = 0, every tag valid, R7 kept in place, MM1 = R1 with exponent ones. */
	CU_ASSERT_EQUAL(sw_fpu_top(&h->cpu), 0);
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0xff);
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.st[7], x87_one, 10), 0);
	CU_ASSERT_EQUAL(sw_mmx_get(&h->cpu, 1), 0x1122334455667788ull);
	CU_ASSERT_EQUAL(h->cpu.st.fx.st[1][8], 0xff);
	CU_ASSERT_EQUAL(h->cpu.st.fx.st[1][9], 0xff);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x77), SWH_OK);			/* emms */
	CU_ASSERT_EQUAL(h->cpu.st.fx.ftw, 0);
}

static void test_fxsave_roundtrip(void)
{
	static uint8_t mem[MEM_SIZE];
	struct native_ctx c;

	for (unsigned it = 0; it < 50; it++) {
		struct x86_fxsave saved;

		reset_guest();
		rnd_state(&c, mem, VK_F64);
		c.fx.fop = rnd() & 0x7ff;
		c.fx.fip = rnd();
		c.fx.fdp = rnd();
		h->cpu.st.fx = c.fx;
		saved = c.fx;
		CU_ASSERT_EQUAL(EXEC(0x48, 0x0f, 0xae, 0x03), SWH_OK);	/* fxsave64 [rbx] */
		memset(&h->cpu.st.fx, 0x5a, sizeof(h->cpu.st.fx));
		h->cpu.st.fx.mxcsr = 0;
		h->cpu.st.fx.mxcsr_mask = sw_mxcsr_mask;	/* not part of the image loaded */
		CU_ASSERT_EQUAL(EXEC(0x48, 0x0f, 0xae, 0x0b), SWH_OK);	/* fxrstor64 [rbx] */
		/* Everything but the reserved tail comes back. */
		CU_ASSERT_EQUAL(memcmp(&h->cpu.st.fx, &saved, offsetof(struct x86_fxsave, rsvd1)),
				0);
	}
}

/* The real-mode environment layout keeps 20-bit linear pointers. */
static void test_fstenv_real_mode(void)
{
	static const uint8_t fnstenv[] = { 0xd9, 0x37 };		/* fnstenv [bx] */
	static const uint8_t fldenv[] = { 0xd9, 0x27 };			/* fldenv [bx] */
	struct x86_fxsave *fx = &h->cpu.st.fx;
	uint8_t env[14];

	swh_set_mode(h, SWH_REAL);
	h->cpu.st.seg[S_CS].base = 0x20000;
	h->cpu.st.seg[S_CS].sel = 0x2000;
	h->cpu.st.gpr[R_BX] = 0x3000;
	fx->fcw = 0x37f;
	fx->fsw = 0x3800;
	fx->ftw = 0x80;
	fx->fip = 0x1234;
	fx->fdp = 0xabcd;
	fx->fop = 0x5ab;
	memcpy(fx->st[0], x87_one, 10);
	swh_load_code(h, 0x20000, fnstenv, sizeof(fnstenv));
	nr_cases++;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	swh_peek(h, 0x3000, env, sizeof(env));
	CU_ASSERT_EQUAL(env[0] | env[1] << 8, 0x37f);
	CU_ASSERT_EQUAL(env[2] | env[3] << 8, 0x3800);
	CU_ASSERT_EQUAL(env[4] | env[5] << 8, 0x3fff);			/* R7 valid, rest empty */
	CU_ASSERT_EQUAL(env[6] | env[7] << 8, 0x1234);			/* 0x21234 & 0xffff */
	CU_ASSERT_EQUAL(env[8] | env[9] << 8, 0x2000 | 0x5ab);		/* IP[19:16], opcode */
	CU_ASSERT_EQUAL(env[10] | env[11] << 8, 0xabcd);
	CU_ASSERT_EQUAL(env[12] | env[13] << 8, 0);

	/* And back. */
	fx->fip = fx->fdp = fx->fop = 0;
	fx->ftw = 0;
	swh_load_code(h, 0x20000, fldenv, sizeof(fldenv));
	nr_cases++;
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(fx->fip, 0x1234);
	CU_ASSERT_EQUAL(fx->fdp, 0xabcd);
	CU_ASSERT_EQUAL(fx->fop, 0x5ab);
	CU_ASSERT_EQUAL(fx->ftw, 0x80);
	CU_ASSERT_EQUAL(fx->fsw, 0x3800);
}

/* MOVSD and CMPSD name both a string instruction and an SSE2 one. */
static void test_shared_mnemonics(void)
{
	static const double a[2] = { 1.5, 2.5 }, b[2] = { 1.5, -4 };
	uint8_t buf[16];

	reset_guest();
	for (unsigned i = 0; i < 16; i++)
		swh_poke_val(h, MEM_GPA + i, 0x30 + i, 1);
	h->cpu.st.gpr[R_SI] = MEM_GPA;
	h->cpu.st.gpr[R_DI] = MEM_GPA + 0x100;
	h->cpu.st.gpr[R_CX] = 4;
	CU_ASSERT_EQUAL(EXEC(0xf3, 0xa5), SWH_OK);			/* rep movsd */
	swh_peek(h, MEM_GPA + 0x100, buf, 16);
	CU_ASSERT_EQUAL(buf[0], 0x30);
	CU_ASSERT_EQUAL(buf[15], 0x3f);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_CX], 0);
	h->cpu.st.gpr[R_SI] = MEM_GPA;
	h->cpu.st.gpr[R_DI] = MEM_GPA + 0x100;
	CU_ASSERT_EQUAL(EXEC(0xa7), SWH_OK);				/* cmpsd */
	CU_ASSERT(h->cpu.st.rflags & X86_RFLAGS_ZF);
	CU_ASSERT_EQUAL(h->cpu.st.gpr[R_SI], MEM_GPA + 4);

	memcpy(h->cpu.st.fx.xmm[0], a, 16);
	memcpy(h->cpu.st.fx.xmm[1], b, 16);
	CU_ASSERT_EQUAL(EXEC(0xf2, 0x0f, 0xc2, 0xc1, 0x00), SWH_OK);	/* cmpeqsd xmm0, xmm1 */
	CU_ASSERT_EQUAL(*(uint64_t *)h->cpu.st.fx.xmm[0], ~0ull);
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.xmm[0] + 8, &a[1], 8), 0);
	CU_ASSERT_EQUAL(EXEC(0xf2, 0x0f, 0x10, 0xc1), SWH_OK);		/* movsd xmm0, xmm1 */
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.xmm[0], &b[0], 8), 0);
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.xmm[0] + 8, &a[1], 8), 0);
}

/* Outside 64-bit mode: XMM0-7 only, FXSAVE's 32-bit layout. */
static void test_legacy_modes(void)
{
	static const float one[4] = { 1, 1, 1, 1 };
	uint8_t img[512];

	swh_set_mode(h, SWH_PROT32);
	h->cpu.st.cr0 |= CR0_BASE;
	h->cpu.st.cr4 |= CR4_SSE;
	h->cpu.st.gpr[R_BX] = MEM_GPA;
	for (unsigned i = 0; i < 16; i++)
		memcpy(h->cpu.st.fx.xmm[i], one, 16);
	h->cpu.st.fx.fip = 0x12345678;
	h->cpu.st.fx.fdp = 0x9abcdef0;
	CU_ASSERT_EQUAL(EXEC(0x0f, 0x58, 0xff), SWH_OK);		/* addps xmm7, xmm7 */
	CU_ASSERT_EQUAL(((float *)h->cpu.st.fx.xmm[7])[3], 2.0f);
	memset(img, 0xcc, sizeof(img));
	swh_poke(h, MEM_GPA, img, sizeof(img));
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x03), SWH_OK);		/* fxsave [ebx] */
	swh_peek(h, MEM_GPA, img, sizeof(img));
	CU_ASSERT_EQUAL(memcmp(img + 160 + 7 * 16, h->cpu.st.fx.xmm[7], 16), 0);
	CU_ASSERT_EQUAL(img[288], 0xcc);				/* XMM8-15 not stored */
	CU_ASSERT_EQUAL(img[511], 0xcc);
	CU_ASSERT_EQUAL(img[8] | img[9] << 8 | img[10] << 16 | (uint32_t)img[11] << 24,
			0x12345678u);
	CU_ASSERT_EQUAL(img[12] | img[13] << 8, 0);			/* FCS */
	CU_ASSERT_EQUAL(img[16] | img[17] << 8 | img[18] << 16 | (uint32_t)img[19] << 24,
			0x9abcdef0u);
	/* FXRSTOR there leaves XMM8-15 alone. */
	memset(h->cpu.st.fx.xmm[9], 0x77, 16);
	CU_ASSERT_EQUAL(EXEC(0x0f, 0xae, 0x0b), SWH_OK);		/* fxrstor [ebx] */
	CU_ASSERT_EQUAL(h->cpu.st.fx.xmm[9][0], 0x77);
	CU_ASSERT_EQUAL(memcmp(h->cpu.st.fx.xmm[7], img + 160 + 7 * 16, 16), 0);
}

static void test_report(void)
{
	printf("\n  sw-fpu: %" PRIu64 " cases (%" PRIu64 " #XM, %" PRIu64 " #MF, %" PRIu64
	       " #GP against the host), %" PRIu64 " mismatches\n", nr_cases, nr_xm, nr_mf, nr_gp,
	       nr_mismatches);
	CU_ASSERT_EQUAL(nr_mismatches, 0);
}

static int suite_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	/* Installed before the interpreter's own SIGFPE catcher, which chains to it. */
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (slot == MAP_FAILED)
		return -1;
	h = swh_new(4 << 20, SWH_LONG64);
	if (!h)
		return -1;
	/* Until cpu.c's registration list has them. */
	if (!sw_handlers[ZYDIS_MNEMONIC_FADD] || !sw_handlers[ZYDIS_MNEMONIC_ADDPS]) {
		sw_register_x87();
		sw_register_sse();
	}
	return 0;
}

static int suite_clean(void)
{
	swh_free(h);
	munmap(slot, 4096);
	return 0;
}

int main(void)
{
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sw fpu", suite_init, suite_clean);
	CU_add_test(s, "SSE/SSE2 floating point vs host", test_sse_fp_oracle);
	CU_add_test(s, "MMX/SSE2 integer vs host", test_int_oracle);
	CU_add_test(s, "moves, shuffles, unpacks vs host", test_move_oracle);
	CU_add_test(s, "x87 vs host", test_x87_oracle);
	CU_add_test(s, "LDMXCSR vs host", test_ldmxcsr_oracle);
	CU_add_test(s, "FXSAVE layouts vs host", test_fxsave_oracle);
	CU_add_test(s, "FXRSTOR vs host", test_fxrstor_oracle);
	CU_add_test(s, "FSAVE/FSTENV/FRSTOR/FLDENV vs host", test_fsave_oracle);
	CU_add_test(s, "FXSAVE/FXRSTOR round trip", test_fxsave_roundtrip);
	CU_add_test(s, "CR0.EM/TS/MP, CR4.OSFXSR, beyond SSE2", test_cr0_cr4_rules);
	CU_add_test(s, "#XM/#UD, alignment, reserved MXCSR", test_simd_exceptions);
	CU_add_test(s, "x87 stack faults and #MF", test_x87_stack_faults);
	CU_add_test(s, "MMX mode switch and EMMS", test_mmx_mode_switch);
	CU_add_test(s, "FSTENV/FLDENV real-mode layout", test_fstenv_real_mode);
	CU_add_test(s, "string and SSE2 MOVSD/CMPSD", test_shared_mnemonics);
	CU_add_test(s, "32-bit mode: XMM0-7, FXSAVE layout", test_legacy_modes);
	CU_add_test(s, "case count", test_report);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
