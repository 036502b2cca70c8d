// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software CPU's data movement, stack, control transfer and string
 * instructions (datamov.c stack.c control.c string.c).
 *
 * Each case runs a few instructions through the harness in real mode,
 * 16/32-bit protected mode or 64-bit mode and checks registers, memory
 * and flags against values worked out by hand from the SDM. A last
 * group runs register-only instructions (MOVSX/MOVZX/BSWAP/XADD/CMPXCHG/
 * SETcc/CMOVcc) natively on the host as well, from the same random
 * registers and flags, and compares.
 */
#include <CUnit/Basic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "machine/bus.h"
#include "machine/cpuid.h"
#include "tests/unit/sw_harness.h"

#define RAM_SIZE	(8ull << 20)
#define CODE16		0x6000ull	/* code in the 16-bit modes (segment bases 0) */
#define CODE32		0x10000ull	/* code in the 32/64-bit modes */
#define DATA		0x20000ull

#define OSZAPC	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
		 X86_RFLAGS_PF | X86_RFLAGS_CF)
#define CF	X86_RFLAGS_CF
#define PF	X86_RFLAGS_PF
#define AF	X86_RFLAGS_AF
#define ZF	X86_RFLAGS_ZF
#define SF	X86_RFLAGS_SF
#define OF	X86_RFLAGS_OF
#define DF	X86_RFLAGS_DF
#define IF	X86_RFLAGS_IF

static struct swh *h;

#define REG(r)	(h->cpu.st.gpr[R_##r])
#define FL	(h->cpu.st.rflags)
#define RIP	(h->cpu.st.rip)

/* Reset the CPU to @mode (memory keeps its contents). */
static void mode(enum swh_mode m)
{
	swh_set_mode(h, m);
}

/* Where RUN()/LOAD() put code: below 64K (segment bases 0) for 16-bit code. */
static uint64_t code_base(void)
{
	return sw_code_bits(&h->cpu) == 16 ? CODE16 : CODE32;
}

/* Load @code at the mode's code address; run it to its end (SWH_OK) or the first fault. */
static int run_bytes(const uint8_t *code, size_t len)
{
	uint64_t end = swh_load_code(h, code_base(), code, len);

	return swh_run(h, end, 1000000);
}

/* Load without running: returns the rip past the code. */
static uint64_t load_bytes(const uint8_t *code, size_t len)
{
	return swh_load_code(h, code_base(), code, len);
}

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })
#define RUN(...)	run_bytes(BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))
#define LOAD(...)	load_bytes(BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))
#define RUN_OK(...)	CU_ASSERT_EQUAL(RUN(__VA_ARGS__), SWH_OK)
/* Load and execute one instruction; STEP_TO also checks where it went. */
#define STEP(...)	(LOAD(__VA_ARGS__), swh_step(h))
#define STEP_TO(rip, ...)							\
	do {									\
		CU_ASSERT_EQUAL(STEP(__VA_ARGS__), SWH_OK);			\
		CU_ASSERT_EQUAL(RIP, (rip));					\
	} while (0)

/* Register values: SETR({ R_AX, 1 }, { R_BX, 2 }) and CHECKR(...) the same way. */
struct rv {
	unsigned r;
	uint64_t v;
};

#define RVS(...)	((const struct rv[]){ __VA_ARGS__ })
#define NRV(...)	(sizeof(RVS(__VA_ARGS__)) / sizeof(struct rv))
#define SETR(...)	set_regs(RVS(__VA_ARGS__), NRV(__VA_ARGS__))
#define CHECKR(...)	check_regs(RVS(__VA_ARGS__), NRV(__VA_ARGS__), __LINE__)

static void set_regs(const struct rv *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h->cpu.st.gpr[e[i].r] = e[i].v;
}

static const char *const gpr_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* One CUnit assertion per register, reported at the caller's line with both values. */
static void check_regs(const struct rv *e, size_t n, unsigned line)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = h->cpu.st.gpr[e[i].r];
		char msg[96];

		snprintf(msg, sizeof(msg), "%s = %#" PRIx64 ", want %#" PRIx64,
			 gpr_names[e[i].r & 15], got, e[i].v);
		CU_assertImplementation(got == e[i].v, line, msg, __FILE__, "", CU_FALSE);
	}
}

/* Guest-physical memory values: CHECKM({ gpa, size, value }, ...). */
struct mv {
	uint64_t gpa;
	unsigned size;
	uint64_t v;
};

#define MVS(...)	((const struct mv[]){ __VA_ARGS__ })
#define NMV(...)	(sizeof(MVS(__VA_ARGS__)) / sizeof(struct mv))
#define CHECKM(...)	check_mem(MVS(__VA_ARGS__), NMV(__VA_ARGS__), __LINE__)

static void check_mem(const struct mv *e, size_t n, unsigned line)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = swh_peek_val(h, e[i].gpa, e[i].size);
		char msg[96];

		snprintf(msg, sizeof(msg), "[%#" PRIx64 "]/%u = %#" PRIx64 ", want %#" PRIx64,
			 e[i].gpa, e[i].size, got, e[i].v);
		CU_assertImplementation(got == e[i].v, line, msg, __FILE__, "", CU_FALSE);
	}
}

/* RSI, RDI, RCX for a string instruction. */
static void str_regs(uint64_t si, uint64_t di, uint64_t cx)
{
	SETR({ R_SI, si }, { R_DI, di }, { R_CX, cx });
}

static uint64_t peek(uint64_t gpa, unsigned size)
{
	return swh_peek_val(h, gpa, size);
}

static void poke(uint64_t gpa, uint64_t v, unsigned size)
{
	swh_poke_val(h, gpa, v, size);
}

/* Code poked outside swh_load_code(): drop what the decode cache holds for its page. */
static void poke_code(uint64_t gpa, uint64_t v, unsigned size)
{
	swh_poke_val(h, gpa, v, size);
	sw_decode_invalidate_page(&h->svm, gpa & ~0xfffull);
}

static void zero(uint64_t gpa, size_t len)
{
	static const uint8_t z[4096];

	while (len) {
		size_t n = len < sizeof(z) ? len : sizeof(z);

		swh_poke(h, gpa, z, n);
		gpa += n;
		len -= n;
	}
}

/* xorshift64*, fixed seed: failures reproduce. */
static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static bool model_has(uint32_t leaf, unsigned reg, uint32_t bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, leaf, 0, r);
	return r[reg] & bit;
}

/* ================= data movement ================= */

static void test_mov(void)
{
	mode(SWH_LONG64);
	zero(DATA, 64);
	SETR({ R_CX, ~0ull }, { R_DX, 0xffffffffffffff00ull });
	RUN_OK(0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	       0x48, 0xbb, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	       0x89, 0x03, 0x8b, 0x0b,			/* mov [rbx], eax; mov ecx, [rbx] */
	       0x88, 0xe2,					/* mov dl, ah */
	       0xa2, 0x10, 0x00, 0x02, 0, 0, 0, 0, 0,		/* mov [0x20010], al */
	       0xc7, 0x43, 0x08, 0xff, 0xff, 0xff, 0xff,	/* mov dword [rbx+8], -1 */
	       0x48, 0xc7, 0x43, 0x18, 0xfe, 0xff, 0xff, 0xff,	/* qword [rbx+24], -2 */
	       0x48, 0xa1, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0);	/* mov rax, [0x20000] */
	CHECKR({ R_CX, 0x55667788 }, { R_DX, 0xffffffffffffff77ull });
	CHECKM({ DATA + 0x10, 1, 0x88 }, { DATA + 8, 8, 0xffffffffull },
		{ DATA + 0x18, 8, 0xfffffffffffffffeull });
	CU_ASSERT_EQUAL(REG(AX), 0x55667788);
}

static void test_mov_sreg(void)
{
	mode(SWH_REAL);
	poke(0x7000, 0xbbbbaaaa, 4);
	REG(CX) = ~0ull;
	RUN_OK(0xb8, 0x34, 0x12, 0x8e, 0xc0,	/* mov ax, 0x1234; mov es, ax */
	       0x8c, 0xc3, 0x66, 0x8c, 0xc1,	/* mov bx, es; mov ecx, es */
	       0x8c, 0x06, 0x00, 0x70);		/* mov [0x7000], es */
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_ES].sel, 0x1234);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_ES].base, 0x12340);
	CU_ASSERT_EQUAL(REG(BX) & 0xffff, 0x1234);
	CU_ASSERT_EQUAL((uint32_t)REG(CX), 0x1234);
	/* A selector store is 16 bits whatever the operand size. */
	CU_ASSERT_EQUAL(peek(0x7000, 4), 0xbbbb1234);
	/* MOV CS is #UD; nothing changes. */
	CU_ASSERT_EQUAL(RUN(0x8e, 0xc8), X86_UD);
	CU_ASSERT_EQUAL(RIP, CODE16);
}

static void test_movzx_movsx(void)
{
	mode(SWH_LONG64);
	SETR({ R_AX, ~0ull }, { R_BX, 0x80000080 }, { R_CX, ~0ull },
		{ R_SI, 0x1111111111111111ull }, { R_DI, ~0ull });
	RUN_OK(0x0f, 0xbe, 0xc3, 0x0f, 0xb6, 0xcb,		/* movsx eax, bl; movzx ecx, bl */
	       0x48, 0x63, 0xd3, 0x66, 0x0f, 0xbe, 0xf3,	/* movsxd rdx, ebx; movsx si, bl */
	       0x0f, 0xb7, 0xfb, 0x48, 0x0f, 0xbf, 0xeb);	/* movzx edi, bx; movsx rbp, bx */
	CHECKR({ R_AX, 0xffffff80ull }, { R_CX, 0x80 }, { R_DX, 0xffffffff80000080ull },
		{ R_SI, 0x111111111111ff80ull }, { R_DI, 0x80 }, { R_BP, 0x80 });
}

static void test_xchg(void)
{
	mode(SWH_LONG64);
	SETR({ R_AX, 1 }, { R_BX, 2 }, { R_CX, 0xffffffff00000005ull }, { R_DX, DATA },
		{ R_SI, 0x55 }, { R_R8, 0xffffffff00000009ull });
	poke(DATA, 0x1111222233334444ull, 8);
	RUN_OK(0x48, 0x93, 0x87, 0xc9,	/* xchg rax, rbx; xchg ecx, ecx (zero-extends) */
	       0x48, 0x87, 0x32, 0x86, 0xe0,	/* xchg [rdx], rsi; xchg al, ah */
	       0x90);				/* nop: no zero-extension */
	CHECKR({ R_AX, 0x200 }, { R_BX, 1 }, { R_CX, 5 }, { R_SI, 0x1111222233334444ull });
	CU_ASSERT_EQUAL(peek(DATA, 8), 0x55);
	CU_ASSERT_EQUAL(REG(R8), 0xffffffff00000009ull);
	/* 41 90 is xchg r8d, eax, not a NOP. */
	REG(AX) = 0x7;
	RUN_OK(0x41, 0x90);
	CHECKR({ R_R8, 7 }, { R_AX, 9 });
}

static void test_cmpxchg(void)
{
	mode(SWH_LONG64);
	/* Memory, LOCK, success: flags of 5 - 5. */
	poke(DATA, 5, 4);
	SETR({ R_BX, DATA }, { R_AX, 5 }, { R_CX, 7 });
	FL = X86_RFLAGS_FIXED | CF | SF;
	RUN_OK(0xf0, 0x0f, 0xb1, 0x0b);	/* lock cmpxchg [rbx], ecx */
	CU_ASSERT_EQUAL(peek(DATA, 4), 7);
	CU_ASSERT_EQUAL(REG(AX), 5);
	CU_ASSERT_EQUAL(FL & OSZAPC, ZF | PF);

	/* Memory, failure: eax = 5, flags of 4 - 5 (0xffffffff). */
	poke(DATA, 5, 4);
	REG(AX) = 4;
	RUN_OK(0x0f, 0xb1, 0x0b);
	CU_ASSERT_EQUAL(peek(DATA, 4), 5);
	CU_ASSERT_EQUAL(REG(AX), 5);
	CU_ASSERT_EQUAL(FL & OSZAPC, CF | SF | AF | PF);

	/* Register success: dest written (zero-extended), RAX untouched (as on hardware). */
	SETR({ R_AX, 0xaaaaaaaa00000005ull }, { R_BX, 0xbbbbbbbb00000005ull },
		{ R_CX, 0xcccccccc00000007ull });
	RUN_OK(0x0f, 0xb1, 0xcb);		/* cmpxchg ebx, ecx */
	CHECKR({ R_AX, 0xaaaaaaaa00000005ull }, { R_BX, 7 });
	CU_ASSERT(FL & ZF);

	/* Register failure: EAX loaded (zero-extended), dest keeps its upper half. */
	SETR({ R_AX, 0xaaaaaaaa00000005ull }, { R_BX, 0xbbbbbbbb00000006ull });
	RUN_OK(0x0f, 0xb1, 0xcb);
	CHECKR({ R_AX, 6 }, { R_BX, 0xbbbbbbbb00000006ull });
	CU_ASSERT_FALSE(FL & ZF);

	/* Byte form: cmpxchg cl, dl with al == cl. */
	SETR({ R_AX, 0x10 }, { R_CX, 0x10 }, { R_DX, 0x20 });
	RUN_OK(0x0f, 0xb0, 0xd1);
	CU_ASSERT_EQUAL(REG(CX), 0x20);
	CU_ASSERT(FL & ZF);

	/* LOCK on a register destination: #UD. */
	CU_ASSERT_EQUAL(RUN(0xf0, 0x0f, 0xb1, 0xcb), X86_UD);
}

static void test_cmpxchg8b_16b(void)
{
	mode(SWH_LONG64);
	REG(SI) = DATA;
	poke(DATA, 0x1111111122222222ull, 8);
	SETR({ R_AX, 0xaaaaaaaa22222222ull }, { R_DX, 0xdddddddd11111111ull }, { R_BX, 0x33 },
		{ R_CX, 0x44 });
	RUN_OK(0x0f, 0xc7, 0x0e);		/* cmpxchg8b [rsi] */
	CU_ASSERT_EQUAL(peek(DATA, 8), 0x0000004400000033ull);
	CU_ASSERT(FL & ZF);
	CHECKR({ R_AX, 0xaaaaaaaa22222222ull }, { R_DX, 0xdddddddd11111111ull });
	/* Failure: EDX:EAX loaded, zero-extended in 64-bit mode; memory unchanged. */
	RUN_OK(0xf0, 0x0f, 0xc7, 0x0e);
	CU_ASSERT_FALSE(FL & ZF);
	CHECKR({ R_AX, 0x33 }, { R_DX, 0x44 });
	CU_ASSERT_EQUAL(peek(DATA, 8), 0x0000004400000033ull);

	poke(DATA + 0x10, 1, 8);
	poke(DATA + 0x18, 2, 8);
	SETR({ R_SI, DATA + 0x10 }, { R_AX, 1 }, { R_DX, 2 }, { R_BX, 3 }, { R_CX, 4 });
	if (!model_has(1, 2, CPUID_1_ECX_CX16)) {
		CU_ASSERT_EQUAL(RUN(0x48, 0x0f, 0xc7, 0x0e), X86_UD);
		return;
	}
	RUN_OK(0x48, 0x0f, 0xc7, 0x0e);	/* cmpxchg16b [rsi] */
	CU_ASSERT(FL & ZF);
	CHECKM({ DATA + 0x10, 8, 3 }, { DATA + 0x18, 8, 4 });
	REG(AX) = 9;
	RUN_OK(0xf0, 0x48, 0x0f, 0xc7, 0x0e);
	CU_ASSERT_FALSE(FL & ZF);
	CHECKR({ R_AX, 3 }, { R_DX, 4 });
	/* Not 16-byte aligned: #GP(0), nothing written. */
	SETR({ R_SI, DATA + 0x18 }, { R_AX, 4 }, { R_DX, 0 });
	CU_ASSERT_EQUAL(RUN(0x48, 0x0f, 0xc7, 0x0e), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.exc.err, 0);
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(peek(DATA + 0x18, 8), 4);
	CU_ASSERT_EQUAL(REG(AX), 4);
}

static void test_xadd(void)
{
	mode(SWH_LONG64);
	poke(DATA, 0x7fffffff, 4);
	SETR({ R_BX, DATA }, { R_AX, 1 });
	RUN_OK(0xf0, 0x0f, 0xc1, 0x03);	/* lock xadd [rbx], eax */
	CU_ASSERT_EQUAL(peek(DATA, 4), 0x80000000);
	CU_ASSERT_EQUAL(REG(AX), 0x7fffffff);
	CU_ASSERT_EQUAL(FL & OSZAPC, OF | SF | AF | PF);

	SETR({ R_AX, 0xff }, { R_BX, 0x01 });
	RUN_OK(0x0f, 0xc0, 0xd8);		/* xadd al, bl */
	CHECKR({ R_AX, 0 }, { R_BX, 0xff });
	CU_ASSERT_EQUAL(FL & OSZAPC, CF | ZF | AF | PF);

	/* Same register both ways: the sum wins (written last). */
	REG(AX) = 0xffffffff00000003ull;
	RUN_OK(0x0f, 0xc1, 0xc0);		/* xadd eax, eax */
	CU_ASSERT_EQUAL(REG(AX), 6);
}

static void test_bswap(void)
{
	mode(SWH_LONG64);
	SETR({ R_AX, 0x1122334455667788ull }, { R_CX, 0x0102030405060708ull },
		{ R_DX, 0x123456789abcdef0ull });
	RUN_OK(0x0f, 0xc8, 0x48, 0x0f, 0xc9,	/* bswap eax; bswap rcx */
	       0x66, 0x0f, 0xca);		/* bswap dx: low 16 bits cleared */
	CHECKR({ R_AX, 0x88776655 }, { R_CX, 0x0807060504030201ull },
		{ R_DX, 0x123456789abc0000ull });

	mode(SWH_PROT32);
	REG(BX) = 0xa1b2c3d4;
	RUN_OK(0x0f, 0xcb);
	CU_ASSERT_EQUAL(REG(BX), 0xd4c3b2a1);
}

static void test_cmov_setcc(void)
{
	mode(SWH_LONG64);
	FL = X86_RFLAGS_FIXED | ZF;
	SETR({ R_AX, 0xffffffff00000001ull }, { R_BX, 0x22 }, { R_CX, 0xffffffff00000001ull },
		{ R_DX, 0xffffffff00000001ull }, { R_R8, ~0ull });
	RUN_OK(0x0f, 0x44, 0xc3,	/* cmovz eax, ebx: taken */
	       0x0f, 0x45, 0xcb,	/* cmovnz ecx, ebx: not taken */
	       0x48, 0x0f, 0x45, 0xd3,	/* cmovnz rdx, rbx: not taken */
	       0x41, 0x0f, 0x94, 0xc0);	/* setz r8b */
	CU_ASSERT_EQUAL(REG(AX), 0x22);
	CU_ASSERT_EQUAL(REG(CX), 1);	/* a 32-bit CMOV zero-extends even when not taken */
	CHECKR({ R_DX, 0xffffffff00000001ull }, { R_R8, 0xffffffffffffff01ull });

	poke(DATA, 0xaaaa, 2);
	REG(DI) = DATA;
	FL = X86_RFLAGS_FIXED | SF;	/* SF != OF: less */
	RUN_OK(0x0f, 0x9c, 0x07, 0x0f, 0x9f, 0x47, 0x01);	/* setl [rdi]; setg [rdi+1] */
	CU_ASSERT_EQUAL(peek(DATA, 2), 0x0001);

	/* The source is read even when the condition is false: it faults. */
	FL = X86_RFLAGS_FIXED;
	SETR({ R_SI, 0x0000800000000000ull }, { R_AX, 5 });
	CU_ASSERT_EQUAL(RUN(0x0f, 0x44, 0x06), X86_GP);	/* cmovz eax, [rsi] */
	CU_ASSERT_EQUAL(REG(AX), 5);
}

static void test_lea(void)
{
	mode(SWH_REAL);
	SETR({ R_BX, 0xfff0 }, { R_SI, 0x0008 }, { R_CX, 0xffffffffull });
	RUN_OK(0x8d, 0x40, 0x10,	/* lea ax, [bx+si+0x10]: wraps at 64K */
	       0x66, 0x8d, 0x48, 0x10);	/* lea ecx, [bx+si+0x10] */
	CU_ASSERT_EQUAL(REG(AX) & 0xffff, 0x0008);
	CU_ASSERT_EQUAL((uint32_t)REG(CX), 0x0008);

	mode(SWH_LONG64);
	SETR({ R_AX, 0x12345678fffffff0ull }, { R_BX, 0x20 }, { R_DX, 0x1111 });
	RUN_OK(0x67, 0x48, 0x8d, 0x0c, 0x18, /* lea rcx, [eax+ebx]: 32-bit wrap */
	       0x66, 0x8d, 0x14, 0x18,				/* lea dx, [rax+rbx] */
	       0x48, 0x8d, 0x35, 0x00, 0x01, 0x00, 0x00);	/* lea rsi, [rip+0x100] */
	CHECKR({ R_CX, 0x10 }, { R_DX, 0x0010 }, { R_SI, CODE32 + 16 + 0x100 });
}

static void test_widen(void)
{
	mode(SWH_REAL);
	REG(AX) = 0x0080;
	RUN_OK(0x98, 0x99);	/* cbw; cwd */
	CU_ASSERT_EQUAL(REG(AX) & 0xffff, 0xff80);
	CU_ASSERT_EQUAL(REG(DX) & 0xffff, 0xffff);
	SETR({ R_AX, 0x8000 }, { R_DX, 0 });
	RUN_OK(0x66, 0x98, 0x66, 0x99);	/* cwde; cdq */
	CU_ASSERT_EQUAL((uint32_t)REG(AX), 0xffff8000u);
	CU_ASSERT_EQUAL((uint32_t)REG(DX), 0xffffffffu);

	mode(SWH_LONG64);
	REG(AX) = 0x80000000;
	RUN_OK(0x48, 0x98, 0x48, 0x99);	/* cdqe; cqo */
	CHECKR({ R_AX, 0xffffffff80000000ull }, { R_DX, ~0ull });
	REG(AX) = 0x7fffffff;
	RUN_OK(0x99);		/* cdq: EDX = 0, zero-extended */
	CU_ASSERT_EQUAL(REG(DX), 0);
}

static void test_flag_insns(void)
{
	mode(SWH_PROT32);
	FL = X86_RFLAGS_FIXED | CF | ZF | SF;
	RUN_OK(0x9f, 0x88, 0xe3,	/* lahf; mov bl, ah */
	       0xb4, 0x15, 0x9e,	/* mov ah, 0x15; sahf */
	       0xf8, 0xf5,		/* clc; cmc */
	       0xd6, 0xfd);		/* salc; std */
	CU_ASSERT_EQUAL(REG(BX) & 0xff, 0xc3);
	CU_ASSERT_EQUAL(FL & OSZAPC, CF | PF | AF);
	CU_ASSERT(FL & DF);
	CU_ASSERT_EQUAL(REG(AX) & 0xffff, 0x15ff);
	RUN_OK(0xfc, 0xf9);	/* cld; stc */
	CU_ASSERT_FALSE(FL & DF);
	CU_ASSERT(FL & CF);

	/* LAHF in 64-bit mode exists only with CPUID 80000001h:ECX.LAHF. */
	mode(SWH_LONG64);
	FL = X86_RFLAGS_FIXED | ZF;
	if (model_has(0x80000001, 2, CPUID_81_ECX_LAHF)) {
		RUN_OK(0x9f);
		CU_ASSERT_EQUAL((REG(AX) >> 8) & 0xff, 0x42);
	} else {
		CU_ASSERT_EQUAL(RUN(0x9f), X86_UD);
	}
}

static void test_nop(void)
{
	mode(SWH_LONG64);
	REG(AX) = 0x0000800000000000ull;	/* non-canonical: a real access would fault */
	FL = X86_RFLAGS_FIXED | CF;
	RUN_OK(0x90,
	       0x0f, 0x1f, 0x00,				/* nop [rax] */
	       0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,		/* nop [rax+rax] */
	       0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,	/* nop [rax+0] */
	       0xf3, 0x90, 0x48, 0x90,				/* pause; rex.w nop */
	       0xf3, 0x0f, 0x1e, 0xfa,				/* endbr64 */
	       0xf3, 0x48, 0x0f, 0x1e, 0xc8,			/* rdsspq rax (no CET) */
	       0x0f, 0x1a, 0x00);				/* bndldx bnd0, [rax] */
	CU_ASSERT_EQUAL(REG(AX), 0x0000800000000000ull);
	CU_ASSERT_EQUAL(FL, X86_RFLAGS_FIXED | CF);
}

static void test_xlat(void)
{
	mode(SWH_REAL);
	for (unsigned i = 0; i < 256; i++) {
		poke(0x7000 + i, i ^ 0x5a, 1);
		poke(0x17000 + i, i ^ 0xa5, 1);
	}
	SETR({ R_BX, 0x7000 }, { R_AX, 0x1210 });
	RUN_OK(0xd7);
	CU_ASSERT_EQUAL(REG(AX), 0x124a);
	/* With a segment override. */
	h->cpu.st.seg[S_ES].sel = 0x1000;
	h->cpu.st.seg[S_ES].base = 0x10000;
	REG(AX) = 0x10;
	RUN_OK(0x26, 0xd7);
	CU_ASSERT_EQUAL(REG(AX), 0x10 ^ 0xa5);
}

static void test_ud_movbe(void)
{
	mode(SWH_LONG64);
	CU_ASSERT_EQUAL(RUN(0x0f, 0x0b), X86_UD);		/* ud2 */
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(RUN(0x0f, 0xb9, 0x00), X86_UD);		/* ud1 eax, [rax] */
	CU_ASSERT_EQUAL(RUN(0x0f, 0xff, 0x00), X86_UD);		/* ud0 eax, [rax] */
	poke(DATA, 0x11223344, 4);
	REG(SI) = DATA;
	if (model_has(1, 2, 1u << 22)) {
		RUN_OK(0x0f, 0x38, 0xf0, 0x06);	/* movbe eax, [rsi] */
		CU_ASSERT_EQUAL(REG(AX), 0x44332211);
	} else {
		CU_ASSERT_EQUAL(RUN(0x0f, 0x38, 0xf0, 0x06), X86_UD);
	}
}

/* ================= stack ================= */

static void test_push_pop64(void)
{
	mode(SWH_LONG64);
	REG(AX) = 0x1122334455667788ull;
	RUN_OK(0x50, 0x6a, 0x80,		/* push rax; push -128 */
	       0x66, 0x6a, 0x7f, 0x66, 0x58,	/* push word 0x7f; pop ax */
	       0xff, 0x34, 0x24,		/* push qword [rsp] */
	       0x8f, 0x44, 0x24, 0x08, 0x5b,	/* pop qword [rsp+8] (EA after); pop rbx */
	       0x59);				/* pop rcx */
	CHECKR({ R_AX, 0x112233445566007full }, { R_BX, 0xffffffffffffff80ull },
		{ R_CX, 0xffffffffffffff80ull }, { R_SP, 0x8000 });
	CU_ASSERT_EQUAL(peek(0x7ff8, 8), 0xffffffffffffff80ull);

	/* POP RSP: the popped value wins. */
	REG(SP) = 0x7ff8;
	poke(0x7ff8, 0x5000, 8);
	RUN_OK(0x5c);
	CU_ASSERT_EQUAL(REG(SP), 0x5000);

	/* PUSH FS with a 64-bit operand size stores the zero-extended selector. */
	REG(SP) = 0x8000;
	poke(0x7ff8, ~0ull, 8);
	h->cpu.st.seg[S_FS].sel = 0x2b;
	RUN_OK(0x0f, 0xa0);
	CU_ASSERT_EQUAL(REG(SP), 0x7ff8);
	CU_ASSERT_EQUAL(peek(0x7ff8, 8), 0x2b);
	/* POP FS loads a null selector in 64-bit mode. */
	poke(0x7ff8, 0, 8);
	RUN_OK(0x0f, 0xa1);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_FS].sel, 0);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);

	/* A faulting POP to memory leaves RSP alone. */
	SETR({ R_SP, 0x7ff8 }, { R_AX, 0x0000800000000000ull });
	CU_ASSERT_EQUAL(RUN(0x8f, 0x00), X86_GP);	/* pop qword [rax] */
	CU_ASSERT_EQUAL(REG(SP), 0x7ff8);

	/* A push to a non-canonical stack is #SS and changes nothing. */
	REG(SP) = 0x0000800000000008ull;
	CU_ASSERT_EQUAL(RUN(0x6a, 0x01, 0x6a, 0x01), X86_SS);
	CU_ASSERT_EQUAL(REG(SP), 0x0000800000000008ull);
}

static void test_push_pop32(void)
{
	mode(SWH_PROT32);
	poke(0x7ffc, 0xdeadbeef, 4);
	RUN_OK(0x1e);		/* push ds: a 16-bit store */
	CU_ASSERT_EQUAL(REG(SP), 0x7ffc);
	CU_ASSERT_EQUAL(peek(0x7ffc, 4), 0xdead0000u | h->cpu.st.seg[S_DS].sel);

	/* POP [ESP]: the address uses ESP after the increment. */
	REG(SP) = 0x8000;
	poke(0x8000, 0x1234, 4);
	poke(0x8004, 0, 4);
	RUN_OK(0x8f, 0x04, 0x24);
	CU_ASSERT_EQUAL(REG(SP), 0x8004);
	CU_ASSERT_EQUAL(peek(0x8004, 4), 0x1234);

	/* PUSHAD / POPAD. */
	REG(SP) = 0x8000;
	for (unsigned r = R_AX; r <= R_DI; r++)
		if (r != R_SP)
			h->cpu.st.gpr[r] = 0x100 + r;
	RUN_OK(0x60);
	CU_ASSERT_EQUAL(REG(SP), 0x7fe0);
	CHECKM({ 0x7ffc, 4, 0x100 + R_AX }, { 0x7ff0, 4, 0x100 + R_BX });
	CU_ASSERT_EQUAL(peek(0x7fec, 4), 0x8000);	/* ESP before the instruction */
	CU_ASSERT_EQUAL(peek(0x7fe0, 4), 0x100 + R_DI);
	for (unsigned r = R_AX; r <= R_DI; r++)
		if (r != R_SP)
			h->cpu.st.gpr[r] = 0;
	poke(0x7fec, 0x1111, 4);			/* the ESP slot is skipped */
	RUN_OK(0x61);
	CHECKR({ R_SP, 0x8000 }, { R_AX, 0x100 + R_AX }, { R_BP, 0x100 + R_BP },
		{ R_DI, 0x100 + R_DI });

	/* 16-bit PUSHA in 32-bit code. */
	SETR({ R_SP, 0x8000 }, { R_AX, 0xaaaa1234 });
	RUN_OK(0x66, 0x60);
	CU_ASSERT_EQUAL(REG(SP), 0x8000 - 16);
	CU_ASSERT_EQUAL(peek(0x7ffe, 2), 0x1234);

	mode(SWH_LONG64);
	CU_ASSERT_EQUAL(RUN(0x60), X86_UD);
	CU_ASSERT_EQUAL(RUN(0x61), X86_UD);
}

static void test_push_pop16(void)
{
	mode(SWH_REAL);
	RUN_OK(0x68, 0x34, 0x12, 0x66, 0x6a, 0xff,	/* push 0x1234; push dword -1 */
	       0x07, 0x5b,				/* pop es; pop bx */
	       0x5a);					/* pop dx */
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_ES].sel, 0xffff);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_ES].base, 0xffff0);
	CU_ASSERT_EQUAL(REG(BX) & 0xffff, 0xffff);
	CU_ASSERT_EQUAL(REG(DX) & 0xffff, 0x1234);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);

	/* SP wraps at 64K and the upper half of ESP stays. */
	SETR({ R_SP, 0x12340000 }, { R_AX, 0xbeef });
	RUN_OK(0x50);
	CU_ASSERT_EQUAL(REG(SP), 0x1234fffe);
	CU_ASSERT_EQUAL(peek(0xfffe, 2), 0xbeef);
}

/* Protected mode, 32-bit, CPL 3 (CS and SS DPL 3). */
static void enter_cpl3(void)
{
	mode(SWH_PROT32);
	h->cpu.st.seg[S_CS].attr = 0xc0fb;
	h->cpu.st.seg[S_CS].sel = 0x1b;
	h->cpu.st.seg[S_SS].attr = 0xc0f3;
	h->cpu.st.seg[S_SS].sel = 0x23;
}

static void test_pushf_popf(void)
{
	/* CPL 0: PUSHFD clears VM and RF in the image; POPFD loads IF and IOPL. */
	mode(SWH_PROT32);
	FL = X86_RFLAGS_FIXED | IF | CF | X86_RFLAGS_RF;
	RUN_OK(0x9c);
	CU_ASSERT_EQUAL(peek(0x7ffc, 4), X86_RFLAGS_FIXED | IF | CF);
	REG(SP) = 0x8000;
	RUN_OK(0x68, 0xd5, 0x38, 0x00, 0x00, 0x9d);	/* push 0x38d5; popfd */
	CU_ASSERT_EQUAL(FL, 0x38d7);

	/* CPL 3, IOPL 0: IF and IOPL silently keep their values. */
	enter_cpl3();
	FL = X86_RFLAGS_FIXED | IF;
	RUN_OK(0x68, 0xd5, 0x38, 0x00, 0x00, 0x9d);
	CU_ASSERT_EQUAL(FL, 0x0ad7);

	/* CPL 3, IOPL 3: IF changes, IOPL still does not (it is 3 here already). */
	enter_cpl3();
	FL = X86_RFLAGS_FIXED | IF | X86_RFLAGS_IOPL;
	RUN_OK(0x68, 0xd5, 0x08, 0x00, 0x00, 0x9d);
	CU_ASSERT_EQUAL(FL, 0x38d7);

	/* VM, VIF and VIP never change through POPF; reserved bits stay fixed. */
	mode(SWH_PROT32);
	FL = X86_RFLAGS_FIXED | X86_RFLAGS_VIF;
	RUN_OK(0x68, 0x28, 0x00, 0x32, 0x00,	/* push VM|VIP|ID|0x28 */
	       0x9d);
	CU_ASSERT_EQUAL(FL, X86_RFLAGS_FIXED | X86_RFLAGS_VIF | X86_RFLAGS_ID);

	/* 16-bit POPF leaves bits 16+ alone. */
	FL = X86_RFLAGS_FIXED | X86_RFLAGS_AC;
	RUN_OK(0x66, 0x68, 0x01, 0x00, 0x66, 0x9d);
	CU_ASSERT_EQUAL(FL, X86_RFLAGS_FIXED | X86_RFLAGS_AC | CF);

	/* Virtual-8086 mode with IOPL < 3: #GP(0) for both. */
	mode(SWH_PROT32);
	for (unsigned s = 0; s < S_NR; s++) {
		h->cpu.st.seg[s].sel = 0;
		h->cpu.st.seg[s].base = 0;
		h->cpu.st.seg[s].limit = 0xffff;
		h->cpu.st.seg[s].attr = 0xf3;
	}
	FL = X86_RFLAGS_FIXED | X86_RFLAGS_VM | IF;
	CU_ASSERT_EQUAL(RUN(0x9c), X86_GP);
	CU_ASSERT_EQUAL(RUN(0x9d), X86_GP);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);
	/* IOPL 3: POPF changes IF, never IOPL. */
	FL = X86_RFLAGS_FIXED | X86_RFLAGS_VM | IF | X86_RFLAGS_IOPL;
	RUN_OK(0x6a, 0x01, 0x9d);
	CU_ASSERT_EQUAL(FL, X86_RFLAGS_FIXED | X86_RFLAGS_VM | X86_RFLAGS_IOPL | CF);
}

static void test_enter_leave(void)
{
	mode(SWH_PROT32);
	REG(BP) = 0x9000;
	poke(0x8ffc, 0xaaaa5555, 4);
	RUN_OK(0xc8, 0x08, 0x00, 0x02);	/* enter 8, 2 */
	CHECKM({ 0x7ffc, 4, 0x9000 }, { 0x7ff8, 4, 0xaaaa5555 }, { 0x7ff4, 4, 0x7ffc });
	CHECKR({ R_BP, 0x7ffc }, { R_SP, 0x7fec });
	RUN_OK(0xc9);			/* leave */
	CHECKR({ R_BP, 0x9000 }, { R_SP, 0x8000 });
	RUN_OK(0xc8, 0x10, 0x00, 0x00);	/* enter 16, 0 */
	CHECKR({ R_BP, 0x7ffc }, { R_SP, 0x7fec });

	mode(SWH_REAL);
	REG(BP) = 0x9000;
	poke(0x8ffe, 0x1111, 2);
	poke(0x8ffc, 0x2222, 2);
	RUN_OK(0xc8, 0x04, 0x00, 0x03);	/* enter 4, 3 */
	CHECKM({ 0x7ffe, 2, 0x9000 }, { 0x7ffc, 2, 0x1111 }, { 0x7ffa, 2, 0x2222 },
		{ 0x7ff8, 2, 0x7ffe });
	CHECKR({ R_BP, 0x7ffe }, { R_SP, 0x7ff4 });
	RUN_OK(0xc9);
	CHECKR({ R_BP, 0x9000 }, { R_SP, 0x8000 });

	mode(SWH_LONG64);
	REG(BP) = 0x123456789ull;
	RUN_OK(0xc8, 0x00, 0x00, 0x01);	/* enter 0, 1 */
	CHECKM({ 0x7ff8, 8, 0x123456789ull }, { 0x7ff0, 8, 0x7ff8 });
	CHECKR({ R_BP, 0x7ff8 }, { R_SP, 0x7ff0 });
}

/* ================= control transfer ================= */

static void test_jmp_jcc(void)
{
	mode(SWH_LONG64);
	FL = X86_RFLAGS_FIXED;
	RUN_OK(0xeb, 0x02, 0x0f, 0x0b,				/* jmp +2; (skipped) */
	       0x74, 0x02, 0xb0, 0x01,				/* jz: not taken; mov al, 1 */
	       0x75, 0x02, 0xb0, 0x02,				/* jnz: taken; (skipped) */
	       0x0f, 0x85, 0x02, 0x00, 0x00, 0x00,		/* jnz rel32: taken */
	       0x0f, 0x0b,
	       0x48, 0x8d, 0x0d, 0x07, 0x00, 0x00, 0x00,	/* lea rcx, [rip+7] */
	       0xff, 0xe1,					/* jmp rcx */
	       0x0f, 0x0b, 0x0f, 0x0b, 0x90,
	       0xb3, 0x07);					/* mov bl, 7 */
	CU_ASSERT_EQUAL(REG(AX) & 0xff, 1);
	CU_ASSERT_EQUAL(REG(BX) & 0xff, 7);

	/* Indirect through memory. */
	poke(DATA, CODE32 + 0x40, 8);
	REG(SI) = DATA;
	STEP_TO(CODE32 + 0x40, 0xff, 0x26);	/* jmp [rsi] */

	/* A non-canonical target is #GP(0) at the branch; nothing is pushed. */
	REG(AX) = 0x0000800000000000ull;
	CU_ASSERT_EQUAL(RUN(0xff, 0xd0), X86_GP);		/* call rax */
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);

	/* 32-bit code: outside the CS limit is #GP(0). */
	mode(SWH_PROT32);
	h->cpu.st.seg[S_CS].limit = 0xfffff;
	CU_ASSERT_EQUAL(RUN(0xe9, 0x00, 0x00, 0x10, 0x00), X86_GP);	/* jmp +0x100000 */
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(RUN(0xe8, 0x00, 0x00, 0x10, 0x00), X86_GP);	/* call +0x100000 */
	CU_ASSERT_EQUAL(REG(SP), 0x8000);
	/* A 16-bit operand size cuts the target to 16 bits. */
	h->cpu.st.seg[S_CS].limit = 0xffffffff;
	STEP_TO((CODE32 + 4) & 0xffff, 0x66, 0xe9, 0x00, 0x00);	/* jmp rel16 */
}

static void test_loop_jcxz(void)
{
	mode(SWH_LONG64);
	/* The address-size prefix makes LOOP use ECX (zero-extended on write). */
	REG(CX) = 0xffffffff00000001ull;
	RUN_OK(0x67, 0xe2, 0xfd);		/* loop self (ecx) */
	CU_ASSERT_EQUAL(REG(CX), 0);
	REG(CX) = 3;
	RUN_OK(0xe2, 0xfe);		/* loop self: 3 times */
	CU_ASSERT_EQUAL(REG(CX), 0);
	REG(CX) = 0x100000000ull;
	STEP_TO(CODE32 + 2 + 0x10, 0xe2, 0x10);
	CU_ASSERT_EQUAL(REG(CX), 0xffffffffull);

	/* LOOPE / LOOPNE. */
	REG(CX) = 2;
	FL = X86_RFLAGS_FIXED | ZF;
	STEP_TO(CODE32 + 0x12, 0xe1, 0x10);	/* loope */
	CU_ASSERT_EQUAL(REG(CX), 1);
	REG(CX) = 5;
	STEP_TO(CODE32 + 2, 0xe0, 0x10);	/* loopne: ZF=1 ends it */
	CU_ASSERT_EQUAL(REG(CX), 4);

	/* JRCXZ / JECXZ. */
	REG(CX) = 0x100000000ull;
	STEP_TO(CODE32 + 2, 0xe3, 0x10);
	STEP_TO(CODE32 + 3 + 0x10, 0x67, 0xe3, 0x10);

	/* 16-bit code: CX, or ECX with 67h; the rest of RCX stays. */
	mode(SWH_REAL);
	REG(CX) = 0x00010001;
	RUN_OK(0xe2, 0xfe);
	CU_ASSERT_EQUAL(REG(CX), 0x00010000);
	REG(CX) = 0x00010000;
	STEP_TO(CODE16 + 3 + 0x10, 0x67, 0xe2, 0x10);
	CU_ASSERT_EQUAL(REG(CX), 0xffff);
	REG(CX) = 0;
	STEP_TO(CODE16 + 2 + 0x10, 0xe3, 0x10);	/* jcxz */
}

static void test_call_ret16(void)
{
	mode(SWH_REAL);
	h->cpu.st.seg[S_CS].sel = 0x1000;
	h->cpu.st.seg[S_CS].base = 0x10000;
	poke_code(0x10003, 0xc3, 1);					/* ret at 1000:0003 */
	poke(0x7ffe, 0xaaaa, 2);
	/* call +3 at IP 0xfffd: the return IP wraps to 0. */
	swh_load_code(h, 0x1fffd, BYTES(0xe8, 0x03, 0x00), 3);
	CU_ASSERT_EQUAL(RIP, 0xfffd);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(RIP, 0x0003);
	CU_ASSERT_EQUAL(REG(SP), 0x7ffe);
	CU_ASSERT_EQUAL(peek(0x7ffe, 2), 0x0000);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(RIP, 0x0000);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);
	/* jmp short across the top of the segment. */
	swh_load_code(h, 0x1fffe, BYTES(0xeb, 0x10), 2);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(RIP, 0x0010);

	/* RET imm16. */
	mode(SWH_REAL);
	REG(SP) = 0x7ffe;
	poke(0x7ffe, 0x6010, 2);
	STEP_TO(0x6010, 0xc2, 0x04, 0x00);
	CU_ASSERT_EQUAL(REG(SP), 0x8004);

	/* 64-bit CALL/RET pair. */
	mode(SWH_LONG64);
	STEP_TO(CODE32 + 7, 0xe8, 0x02, 0x00, 0x00, 0x00, 0xb0, 0x05, 0xc3);	/* call */
	CU_ASSERT_EQUAL(peek(0x7ff8, 8), CODE32 + 5);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);			/* ret */
	CU_ASSERT_EQUAL(RIP, CODE32 + 5);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);
	/* A non-canonical return address: #GP(0), RSP unchanged. */
	REG(SP) = 0x7ff8;
	poke(0x7ff8, 0x0000800000000000ull, 8);
	CU_ASSERT_EQUAL(RUN(0xc3), X86_GP);
	CU_ASSERT_EQUAL(REG(SP), 0x7ff8);
}

/* A flat GDT at 0x30000: 0x08 code32, 0x10 data32, 0x18 code32 based at 0x40000. */
static void setup_gdt(void)
{
	poke(0x30000, 0, 8);
	poke(0x30008, 0x00cf9b000000ffffull, 8);
	poke(0x30010, 0x00cf93000000ffffull, 8);
	poke(0x30018, 0x00409b040000ffffull, 8);
	h->cpu.st.gdt.base = 0x30000;
	h->cpu.st.gdt.limit = 0x1f;
}

static void test_far(void)
{
	mode(SWH_PROT32);
	setup_gdt();
	poke_code(0x40010, 0xcb, 1);					/* retf at 0x18:0x10 */
	/* call far 0x18:0x10 */
	CU_ASSERT_EQUAL(STEP(0x9a, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x18);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].base, 0x40000);
	CU_ASSERT_EQUAL(RIP, 0x10);
	CHECKM({ 0x7ffc, 4, 0x08 }, { 0x7ff8, 4, CODE32 + 7 });
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);			/* retf */
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x08);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].base, 0);
	CU_ASSERT_EQUAL(RIP, CODE32 + 7);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);

	/* jmp far [mem] (m16:32). */
	poke(DATA, 0x20, 4);
	poke(DATA + 4, 0x18, 2);
	CU_ASSERT_EQUAL(STEP(0xff, 0x2d, 0x00, 0x00, 0x02, 0x00), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x18);
	CU_ASSERT_EQUAL(RIP, 0x20);

	/* A null selector is #GP(0); nothing changes. */
	mode(SWH_PROT32);
	setup_gdt();
	CU_ASSERT_EQUAL(RUN(0xea, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), X86_GP);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x08);

	/* Real mode: jmp far ptr16:16, call far m16:16 and retf imm. */
	mode(SWH_REAL);
	CU_ASSERT_EQUAL(STEP(0xea, 0x00, 0x01, 0x00, 0x20), SWH_OK);	/* jmp 0x2000:0x0100 */
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x2000);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].base, 0x20000);
	CU_ASSERT_EQUAL(RIP, 0x100);
	mode(SWH_REAL);
	poke(0x7000, 0x0050, 2);
	poke(0x7002, 0x0600, 2);
	poke_code(0x6050, 0x0002ca, 3);				/* retf 2 at 0600:0050 */
	CU_ASSERT_EQUAL(STEP(0xff, 0x1e, 0x00, 0x70), SWH_OK);	/* call far [0x7000] */
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0x0600);
	CU_ASSERT_EQUAL(RIP, 0x50);
	CHECKM({ 0x7ffc, 2, CODE16 + 4 }, { 0x7ffe, 2, 0 });
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(h->cpu.st.seg[S_CS].sel, 0);
	CU_ASSERT_EQUAL(RIP, CODE16 + 4);
	CU_ASSERT_EQUAL(REG(SP), 0x8002);
}

static void set_ivt(unsigned vec, uint16_t seg, uint16_t off)
{
	poke(vec * 4, off, 2);
	poke(vec * 4 + 2, seg, 2);
}

static void test_int(void)
{
	mode(SWH_REAL);
	set_ivt(0x21, 0, 0x6100);
	set_ivt(X86_BP, 0, 0x6200);
	set_ivt(X86_OF, 0, 0x6300);
	set_ivt(X86_DB, 0, 0x6400);
	poke_code(0x6100, 0xcf, 1);					/* iret */
	FL = X86_RFLAGS_FIXED | IF | CF;
	STEP_TO(0x6100, 0xcd, 0x21);
	CU_ASSERT_EQUAL(REG(SP), 0x7ffa);
	CHECKM({ 0x7ffe, 2, X86_RFLAGS_FIXED | IF | CF }, { 0x7ffc, 2, 0 },
		{ 0x7ffa, 2, CODE16 + 2 });
	CU_ASSERT_FALSE(FL & IF);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);			/* iret */
	CU_ASSERT_EQUAL(RIP, CODE16 + 2);
	CU_ASSERT_EQUAL(REG(SP), 0x8000);
	CU_ASSERT(FL & IF);

	STEP_TO(0x6200, 0xcc);	/* int3 */
	CU_ASSERT_EQUAL(peek(0x7ffa, 2), CODE16 + 1);

	mode(SWH_REAL);
	FL = X86_RFLAGS_FIXED;
	STEP_TO(CODE16 + 1, 0xce);	/* into, OF = 0 */
	FL = X86_RFLAGS_FIXED | OF;
	STEP_TO(0x6300, 0xce);

	mode(SWH_REAL);
	STEP_TO(0x6400, 0xf1);	/* int1 */
	CU_ASSERT_EQUAL(peek(0x7ffa, 2), CODE16 + 1);

	mode(SWH_LONG64);
	CU_ASSERT_EQUAL(RUN(0xce), X86_UD);			/* no INTO in 64-bit mode */
}

/* ================= strings ================= */

static void poke_str(uint64_t gpa, const char *s)
{
	swh_poke(h, gpa, s, strlen(s));
}

static bool mem_is(uint64_t gpa, const char *s)
{
	char buf[64];
	size_t n = strlen(s);

	swh_peek(h, gpa, buf, n);
	return memcmp(buf, s, n) == 0;
}

static void test_movs(void)
{
	mode(SWH_LONG64);
	poke_str(DATA, "0123456789abcdef");
	zero(DATA + 0x100, 32);
	str_regs(DATA, DATA + 0x100, 16);
	RUN_OK(0xf3, 0xa4);		/* rep movsb */
	CU_ASSERT(mem_is(DATA + 0x100, "0123456789abcdef"));
	CU_ASSERT_EQUAL(peek(DATA + 0x110, 1), 0);
	CHECKR({ R_SI, DATA + 16 }, { R_DI, DATA + 0x110 }, { R_CX, 0 });

	/* Forward, destination one above the source: the first byte repeats. */
	poke_str(DATA + 0x200, "ABCDEFGH");
	str_regs(DATA + 0x200, DATA + 0x201, 7);
	RUN_OK(0xf3, 0xa4);
	CU_ASSERT(mem_is(DATA + 0x200, "AAAAAAAA"));

	/* Backward (DF=1), destination above the source: a correct memmove. */
	poke_str(DATA + 0x300, "ABCDEFGH");
	FL |= DF;
	str_regs(DATA + 0x306, DATA + 0x307, 7);
	RUN_OK(0xf3, 0xa4);
	CU_ASSERT(mem_is(DATA + 0x300, "AABCDEFG"));
	CHECKR({ R_SI, DATA + 0x2ff }, { R_DI, DATA + 0x300 });

	/* Backward, destination below the source: the last byte repeats. */
	poke_str(DATA + 0x400, "ABCDEFGH");
	str_regs(DATA + 0x407, DATA + 0x406, 7);
	RUN_OK(0xf3, 0xa4);
	CU_ASSERT(mem_is(DATA + 0x400, "HHHHHHHH"));
	FL &= ~DF;

	/* MOVSQ, MOVSW, and a single MOVSD (no REP: RCX untouched). */
	zero(DATA + 0x600, 32);
	poke(DATA + 0x500, 0x1111111111111111ull, 8);
	poke(DATA + 0x508, 0x2222222222222222ull, 8);
	str_regs(DATA + 0x500, DATA + 0x600, 2);
	RUN_OK(0xf3, 0x48, 0xa5);
	CU_ASSERT_EQUAL(peek(DATA + 0x608, 8), 0x2222222222222222ull);
	CU_ASSERT_EQUAL(REG(DI), DATA + 0x610);
	SETR({ R_SI, DATA + 0x500 }, { R_CX, 99 });
	RUN_OK(0xa5, 0x66, 0xa5);
	CHECKR({ R_SI, DATA + 0x506 }, { R_DI, DATA + 0x616 }, { R_CX, 99 });
	CU_ASSERT_EQUAL(peek(DATA + 0x610, 8), 0x0000111111111111ull);
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

/* A copy bigger than one call's budget: RIP stays until the count runs out. */
static void test_movs_large(void)
{
	const uint64_t src = 0x100000, dst = 0x300000, len = 0x180000;
	static uint8_t buf[0x180000];

	for (uint64_t i = 0; i < len; i++)
		buf[i] = pattern(i);
	swh_poke(h, src, buf, len);
	/* Forward bytes to a destination aligned differently; backward dwords. */
	for (unsigned down = 0; down < 2; down++) {
		unsigned steps;
		uint64_t end;

		mode(SWH_LONG64);
		zero(dst, len + 16);
		if (down) {
			FL |= DF;
			str_regs(src + len - 4, dst + 1 + len - 4, len / 4);
			end = LOAD(0xf3, 0xa5);
		} else {
			str_regs(src, dst + 1, len);
			end = LOAD(0xf3, 0xa4);
		}
		for (steps = 0; RIP != end && steps < 1000; steps++)
			CU_ASSERT_EQUAL_FATAL(swh_step(h), SWH_OK);
		/* Bounded (not all in one call), yet whole pages at a time (the fast path). */
		CU_ASSERT(steps >= 2 && steps <= 4);
		if (down)
			CHECKR({ R_CX, 0 }, { R_SI, src - 4 }, { R_DI, dst + 1 - 4 });
		else
			CHECKR({ R_CX, 0 }, { R_SI, src + len }, { R_DI, dst + 1 + len });
		memset(buf, 0, sizeof(buf));
		swh_peek(h, dst + 1, buf, len);
		for (uint64_t i = 0; i < len; i += 997)
			if (buf[i] != pattern(i)) {
				CU_FAIL("copied byte differs");
				break;
			}
		CU_ASSERT_EQUAL(buf[len - 1], pattern(len - 1));
		CHECKM({ dst, 1, 0 }, { dst + 1 + len, 1, 0 });
	}
}

/*
 * 64-bit mode with the 2 MiB at linear 2 MiB mapped by 4 KiB pages to
 * scrambled physical pages (page i -> 6 MiB + ((7 * i) % 512) * 4 KiB),
 * so that neighbouring linear pages are not neighbours in host memory.
 */
#define SCRAMBLE_PT	0x5000ull

static uint64_t scrambled(uint64_t la)
{
	if (la < 0x200000 || la >= 0x400000)
		return la;
	return 0x600000 + (((la - 0x200000) >> 12) * 7 % 512) * 4096 + (la & 0xfff);
}

static void mode_scrambled(void)
{
	mode(SWH_LONG64);
	for (uint64_t i = 0; i < 512; i++)
		poke(SCRAMBLE_PT + 8 * i, scrambled(0x200000 + i * 4096) | 0x7, 8);
	poke(SWH_PT_BASE + 0x2000 + 8, SCRAMBLE_PT | 0x7, 8);
	sw_mmu_flush_all(&h->cpu);
}

/* Copy to (@write) or from guest-linear memory through that mapping. */
static void lin_copy(uint64_t la, uint8_t *buf, size_t len, bool write)
{
	while (len) {
		size_t n = 4096 - (la & 0xfff);

		if (n > len)
			n = len;
		if (write)
			swh_poke(h, scrambled(la), buf, n);
		else
			swh_peek(h, scrambled(la), buf, n);
		la += n;
		buf += n;
		len -= n;
	}
}

/*
 * REP MOVS / REP STOS at random: element sizes, directions, counts and
 * (mostly overlapping) source and destination within three pages that
 * are scattered in host memory, against the SDM's element-by-element
 * definition run on a copy of the memory.
 */
static void test_movs_stos_random(void)
{
	enum { W = 3 * 4096 };
	const uint64_t win = 0x200000 - 4096 + 100;	/* not page-aligned */
	static uint8_t ref[W], got[W];
	unsigned bad = 0;

	for (unsigned iter = 0; iter < 400; iter++) {
		unsigned size = 1u << (rnd() % 4);
		bool down = rnd() & 1, stos = (rnd() % 4) == 0;
		uint64_t cnt = rnd() % 1200, span = cnt * size, s, d, lo, hi;
		int64_t delta = down ? -(int64_t)size : (int64_t)size;
		uint64_t val = rnd();
		uint8_t code[3];
		size_t len = 0;

		if (span + size > W)
			continue;
		/* First-element offsets [lo, hi] keep every element in the window. */
		lo = down && cnt ? span - size : 0;
		hi = down || !cnt ? W - size : W - span;
		s = lo + rnd() % (hi - lo + 1);
		d = lo + rnd() % (hi - lo + 1);
		if (rnd() & 1) {
			/* Mostly: overlapping, a few bytes apart either way. */
			d = s + (uint64_t)((int64_t)(rnd() % 64) - 32);
			if ((int64_t)d < (int64_t)lo || d > hi)
				d = s;
		}
		for (unsigned i = 0; i < W; i++)
			ref[i] = (uint8_t)rnd();
		mode_scrambled();
		lin_copy(win, ref, W, true);
		for (uint64_t i = 0; i < cnt; i++) {
			uint64_t so = s + (uint64_t)((int64_t)i * delta);
			uint64_t dof = d + (uint64_t)((int64_t)i * delta);

			if (stos)
				memcpy(ref + dof, &val, size);
			else
				memmove(ref + dof, ref + so, size);
		}

		if (down)
			FL |= DF;
		SETR({ R_SI, win + s }, { R_DI, win + d }, { R_CX, cnt }, { R_AX, val });
		code[len++] = 0xf3;
		if (size == 8)
			code[len++] = 0x48;
		else if (size == 2)
			code[len++] = 0x66;
		code[len++] = (uint8_t)((stos ? 0xaa : 0xa4) + (size > 1));
		load_bytes(code, len);
		if (swh_run(h, code_base() + len, 100) != SWH_OK) {
			bad++;
			continue;
		}
		lin_copy(win, got, W, false);
		if (memcmp(got, ref, W) || REG(CX) != 0 ||
		    REG(DI) != win + d + (uint64_t)((int64_t)cnt * delta) ||
		    (!stos && REG(SI) != win + s + (uint64_t)((int64_t)cnt * delta))) {
			if (bad++ < 5)
				fprintf(stderr, "\n  %s size %u %s cnt %" PRIu64 " s %" PRIu64
					" d %" PRIu64 ": differs\n", stos ? "stos" : "movs", size,
					down ? "down" : "up", cnt, s, d);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* REP MOVSB over an instruction already decoded: the new bytes run. */
static void test_movs_smc(void)
{
	mode(SWH_LONG64);
	REG(CX) = 0;
	RUN_OK(0xf3, 0xa4, 0xb0, 0x01);	/* rep movsb; mov al, 1 */
	CU_ASSERT_EQUAL(REG(AX) & 0xff, 1);
	poke(DATA, 0x02b0, 2);					/* "mov al, 2" */
	str_regs(DATA, CODE32 + 2, 2);
	RIP = CODE32;
	CU_ASSERT_EQUAL(swh_run(h, CODE32 + 4, 10), SWH_OK);
	CU_ASSERT_EQUAL(REG(AX) & 0xff, 2);

	/* Backward over a cached "mov al, 1" and six NOPs (the lowest block byte is the insn). */
	REG(CX) = 0;
	RUN_OK(0xf3, 0xa4, 0xb0, 0x01, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90);
	CU_ASSERT_EQUAL(REG(AX) & 0xff, 1);
	poke(DATA, 0x90909090909003b0ull, 8);
	FL |= DF;
	str_regs(DATA + 7, CODE32 + 9, 8);
	RIP = CODE32;
	CU_ASSERT_EQUAL(swh_run(h, CODE32 + 10, 20), SWH_OK);
	CU_ASSERT_EQUAL(REG(AX) & 0xff, 3);
}

static void test_stos_lods(void)
{
	mode(SWH_LONG64);
	zero(DATA, 64);
	SETR({ R_AX, 0x11223344deadbeefull }, { R_DI, DATA }, { R_CX, 5 });
	RUN_OK(0xf3, 0xab);		/* rep stosd */
	CHECKM({ DATA, 4, 0xdeadbeef }, { DATA + 16, 4, 0xdeadbeef }, { DATA + 20, 4, 0 });
	CU_ASSERT_EQUAL(REG(DI), DATA + 20);
	FL |= DF;
	SETR({ R_DI, DATA + 0x30 }, { R_CX, 3 });
	RUN_OK(0xf3, 0x66, 0xab);		/* rep stosw, backward */
	CHECKM({ DATA + 0x2c, 6, 0xbeefbeefbeefull }, { DATA + 0x2a, 2, 0 });
	CU_ASSERT_EQUAL(REG(DI), DATA + 0x2a);
	FL &= ~DF;

	/* LODSD zero-extends RAX; LODSB with REP just reloads AL. */
	poke(DATA, 0x8899aabbccddeeffull, 8);
	SETR({ R_SI, DATA }, { R_AX, ~0ull });
	RUN_OK(0xad);
	CHECKR({ R_AX, 0xccddeeff }, { R_SI, DATA + 4 });
	REG(CX) = 3;
	RUN_OK(0xf3, 0xac);
	CHECKR({ R_AX, 0xccddee99 }, { R_SI, DATA + 7 }, { R_CX, 0 });
	REG(SI) = DATA;
	RUN_OK(0x48, 0xad);		/* lodsq */
	CU_ASSERT_EQUAL(REG(AX), 0x8899aabbccddeeffull);
}

static void test_cmps_scas(void)
{
	mode(SWH_LONG64);
	poke_str(DATA, "abcXefghij");
	poke_str(DATA + 0x100, "abcYefghij");
	str_regs(DATA, DATA + 0x100, 10);
	RUN_OK(0xf3, 0xa6);		/* repe cmpsb */
	CHECKR({ R_CX, 6 }, { R_SI, DATA + 4 }, { R_DI, DATA + 0x104 });
	CU_ASSERT_EQUAL(FL & OSZAPC, CF | SF | AF | PF);	/* 'X' - 'Y' */

	str_regs(DATA, DATA + 0x100, 3);
	RUN_OK(0xf3, 0xa6);		/* all equal: count runs out */
	CU_ASSERT_EQUAL(REG(CX), 0);
	CU_ASSERT_EQUAL(FL & OSZAPC, ZF | PF);

	/* REPNE CMPSB stops at the first equal pair. */
	poke_str(DATA + 0x200, "xyzW");
	poke_str(DATA + 0x300, "abcW");
	str_regs(DATA + 0x200, DATA + 0x300, 100);
	RUN_OK(0xf2, 0xa6);
	CU_ASSERT_EQUAL(REG(CX), 96);
	CU_ASSERT(FL & ZF);

	/* REPNE SCASB: strlen. */
	poke_str(DATA + 0x400, "hello");
	poke(DATA + 0x405, 0, 1);
	SETR({ R_AX, 0 }, { R_DI, DATA + 0x400 }, { R_CX, ~0ull });
	RUN_OK(0xf2, 0xae);
	CHECKR({ R_DI, DATA + 0x406 }, { R_CX, ~0ull - 6 });
	CU_ASSERT(FL & ZF);

	/* REPE SCASW stops at the first different word. */
	poke_str(DATA + 0x500, "AAAAABAA");
	SETR({ R_AX, 0x4141 }, { R_DI, DATA + 0x500 }, { R_CX, 10 });
	RUN_OK(0xf3, 0x66, 0xaf);
	CHECKR({ R_CX, 7 }, { R_DI, DATA + 0x506 });
	CU_ASSERT_FALSE(FL & ZF);
	/* 0x4141 - 0x4241: borrow, negative. */
	CU_ASSERT_EQUAL(FL & (CF | SF | ZF | OF), CF | SF);

	/* REP with a zero count does nothing at all (not even flags). */
	FL = X86_RFLAGS_FIXED;
	SETR({ R_CX, 0 }, { R_DI, 0x0000800000000000ull });
	RUN_OK(0xf3, 0xae);
	CU_ASSERT_EQUAL(FL, X86_RFLAGS_FIXED);
	CU_ASSERT_EQUAL(REG(DI), 0x0000800000000000ull);
}

static void test_string16(void)
{
	mode(SWH_REAL);
	poke(0xffff, 0x5a, 1);
	zero(0x7000, 16);
	SETR({ R_SI, 0x5555ffff }, { R_DI, 0x7000 });
	RUN_OK(0xa4);			/* movsb: SI wraps to 0 */
	CU_ASSERT_EQUAL(peek(0x7000, 1), 0x5a);
	CHECKR({ R_SI, 0x55550000 }, { R_DI, 0x7001 });

	/* 67h: ESI, and an offset past the 64K limit is #GP. */
	REG(SI) = 0x10000;
	CU_ASSERT_EQUAL(RUN(0x67, 0xa4), X86_GP);
	CU_ASSERT_EQUAL(REG(SI), 0x10000);
	poke(0x7100, 0x77, 1);
	SETR({ R_SI, 0x7100 }, { R_DI, 0x7008 });
	RUN_OK(0x67, 0xa4);
	CU_ASSERT_EQUAL(REG(SI), 0x7101);
	CU_ASSERT_EQUAL(peek(0x7008, 1), 0x77);

	/* Segment override on the source; the destination stays ES. */
	h->cpu.st.seg[S_FS].sel = 0x2000;
	h->cpu.st.seg[S_FS].base = 0x20000;
	h->cpu.st.seg[S_ES].sel = 0x0100;
	h->cpu.st.seg[S_ES].base = 0x1000;
	poke(0x20010, 0xabcd, 2);
	str_regs(0x10, 0x6100, 0x30001);
	RUN_OK(0xf3, 0x64, 0xa5);		/* rep movsw fs: */
	CU_ASSERT_EQUAL(peek(0x7100, 2), 0xabcd);
	CHECKR({ R_CX, 0x30000 }, { R_DI, 0x6102 });

	/* CMPSB with an override compares FS:SI against ES:DI. */
	poke(0x20020, 0x10, 1);
	poke(0x1000 + 0x6200, 0x20, 1);
	SETR({ R_SI, 0x20 }, { R_DI, 0x6200 });
	RUN_OK(0x64, 0xa6);
	CU_ASSERT_EQUAL(FL & OSZAPC, CF | SF | PF);		/* 0x10 - 0x20 = 0xf0 */
}

/* A fault part-way: the registers show the iterations done; RIP stays. */
static void test_string_fault(void)
{
	mode(SWH_PROT32);
	poke_str(0x21000, "0123456789abcdef");
	zero(0x20000, 16);
	h->cpu.st.seg[S_ES].limit = 0x20007;
	str_regs(0x21000, 0x20000, 16);
	CU_ASSERT_EQUAL(RUN(0xf3, 0xa4), X86_GP);
	CU_ASSERT_EQUAL(RIP, CODE32);
	CHECKR({ R_CX, 8 }, { R_SI, 0x21008 }, { R_DI, 0x20008 });
	CU_ASSERT(mem_is(0x20000, "01234567"));
	CU_ASSERT_EQUAL(peek(0x20008, 1), 0);

	/* Page fault in 64-bit mode: the 2 MiB page at 4 MiB made not present. */
	mode(SWH_LONG64);
	poke(SWH_PT_BASE + 0x2000 + 2 * 8, (2ull << 21) | 0x86, 8);
	sw_mmu_flush_all(&h->cpu);
	str_regs(DATA, 0x3ffff8, 16);
	CU_ASSERT_EQUAL(RUN(0xf3, 0xa4), X86_PF);
	CU_ASSERT_EQUAL(h->cpu.exc.cr2, 0x400000);
	CHECKR({ R_CX, 8 }, { R_DI, 0x400000 });
	CU_ASSERT_EQUAL(peek(0x3ffff8, 8), peek(DATA, 8));
	poke(SWH_PT_BASE + 0x2000 + 2 * 8, (2ull << 21) | 0x87, 8);
	sw_mmu_flush_all(&h->cpu);
	/* Restarting completes it. */
	CU_ASSERT_EQUAL(swh_run(h, CODE32 + 2, 10), SWH_OK);
	CU_ASSERT_EQUAL(REG(CX), 0);
	CU_ASSERT_EQUAL(peek(0x400000, 8), peek(DATA + 8, 8));
}

/* A test port: reads return 1, 2, 3...; writes are logged. */
static struct {
	uint64_t next;
	uint8_t log[64];
	unsigned nlog;
} port;

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
	return ++port.next;
}

static void port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	if (port.nlog < sizeof(port.log))
		port.log[port.nlog++] = (uint8_t)val;
}

static const struct io_ops port_ops = { .read = port_read, .write = port_write };

static void test_ins_outs(void)
{
	static bool registered;

	if (!registered) {
		CU_ASSERT_EQUAL_FATAL(pio_register(&h->vm, 0x100, 4, &port_ops, NULL, "test"), 0);
		registered = true;
	}
	mode(SWH_PROT32);
	port.next = 0;
	port.nlog = 0;
	zero(DATA, 16);
	SETR({ R_DX, 0x100 }, { R_DI, DATA }, { R_CX, 4 });
	RUN_OK(0xf3, 0x6c);		/* rep insb */
	CU_ASSERT_EQUAL(peek(DATA, 4), 0x04030201);
	CU_ASSERT_EQUAL(REG(DI), DATA + 4);
	REG(CX) = 2;
	RUN_OK(0xf3, 0x66, 0x6d);		/* rep insw */
	CU_ASSERT_EQUAL(peek(DATA + 4, 4), 0x00060005);
	SETR({ R_SI, DATA }, { R_CX, 4 });
	RUN_OK(0xf3, 0x6e);		/* rep outsb */
	CU_ASSERT_EQUAL(port.nlog, 4);
	CU_ASSERT_EQUAL(port.log[0], 1);
	CU_ASSERT_EQUAL(port.log[3], 4);
	CU_ASSERT_EQUAL(REG(SI), DATA + 4);

	/* The destination is checked before the port is read: no value is lost. */
	h->cpu.st.seg[S_ES].limit = DATA + 9;
	SETR({ R_DI, DATA + 8 }, { R_CX, 4 });
	CU_ASSERT_EQUAL(RUN(0xf3, 0x6c), X86_GP);
	CU_ASSERT_EQUAL(port.next, 8);
	CHECKR({ R_CX, 2 }, { R_DI, DATA + 10 });

	/* CPL 3 with IOPL 0 and the TSS bitmap past its limit: #GP before any port access. */
	enter_cpl3();
	h->cpu.st.tr.limit = 0x67;
	poke(0x66, 0xffff, 2);
	SETR({ R_DX, 0x100 }, { R_DI, DATA }, { R_CX, 1 });
	CU_ASSERT_EQUAL(RUN(0xf3, 0x6c), X86_GP);
	CU_ASSERT_EQUAL(port.next, 8);
	CU_ASSERT_EQUAL(REG(CX), 1);
}

/*
 * Locked read-modify-writes and string reads on MMIO (the same test
 * device at 0xd0000000): each reads the device exactly once.
 */
static void test_mmio_rmw(void)
{
	const uint64_t mmio = 0xd0000000ull;
	static bool registered;

	if (!registered) {
		CU_ASSERT_EQUAL_FATAL(mmio_register(&h->vm, mmio, 0x1000, &port_ops, NULL,
						    "test"), 0);
		registered = true;
	}
	mode(SWH_PROT32);
	port.next = 0;
	port.nlog = 0;
	SETR({ R_BX, mmio }, { R_AX, 0x55 });
	RUN_OK(0x87, 0x03);				/* xchg [ebx], eax */
	CU_ASSERT_EQUAL(REG(AX), 1);
	REG(AX) = 5;
	RUN_OK(0xf0, 0x0f, 0xc1, 0x03);			/* lock xadd [ebx], eax */
	CU_ASSERT_EQUAL(REG(AX), 2);
	SETR({ R_AX, 3 }, { R_CX, 0x99 });
	RUN_OK(0xf0, 0x0f, 0xb1, 0x0b);			/* lock cmpxchg [ebx], ecx */
	CU_ASSERT(FL & ZF);
	CU_ASSERT_EQUAL(port.next, 3);
	CU_ASSERT_EQUAL(port.nlog, 3);
	CU_ASSERT_EQUAL(port.log[0], 0x55);
	CU_ASSERT_EQUAL(port.log[1], 7);
	CU_ASSERT_EQUAL(port.log[2], 0x99);
	/* REP MOVSD from the device: the element loop, one read per element. */
	str_regs(mmio, DATA, 3);
	RUN_OK(0xf3, 0xa5);
	CHECKM({ DATA, 4, 4 }, { DATA + 4, 4, 5 }, { DATA + 8, 4, 6 });
	CU_ASSERT_EQUAL(port.next, 6);
}

/* With TF set every step does one iteration, so the trap follows each. */
static void test_string_tf(void)
{
	uint64_t end;

	mode(SWH_LONG64);
	poke_str(DATA, "xyz");
	str_regs(DATA, DATA + 0x100, 3);
	FL |= X86_RFLAGS_TF;
	end = LOAD(0xf3, 0xa4);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(REG(CX), 2);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(REG(CX), 1);
	CU_ASSERT_EQUAL(RIP, CODE32);
	CU_ASSERT_EQUAL(swh_step(h), SWH_OK);
	CU_ASSERT_EQUAL(REG(CX), 0);
	CU_ASSERT_EQUAL(RIP, end);
	CU_ASSERT(mem_is(DATA + 0x100, "xyz"));
}

/* ================= the host as oracle ================= */

#if defined(__x86_64__)
/* ctx: rax rbx rcx rdx rsi, flags in, flags out. */
struct nctx {
	uint64_t r[5];
	uint64_t fin, fout;
};

static uint8_t *stub;
static size_t stub_slot;

static void build_stub(void)
{
	static const uint8_t pro[] = {
		0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,	/* push rbx.. */
		0x49, 0x89, 0xff,				/* mov r15, rdi */
		0x49, 0x8b, 0x07, 0x49, 0x8b, 0x5f, 0x08,	/* rax, rbx */
		0x49, 0x8b, 0x4f, 0x10, 0x49, 0x8b, 0x57, 0x18,	/* rcx, rdx */
		0x49, 0x8b, 0x77, 0x20,				/* rsi */
		0x41, 0xff, 0x77, 0x28, 0x9d,			/* push [r15+40]; popfq */
	};

	stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (stub == MAP_FAILED) {
		stub = NULL;
		return;
	}
	memcpy(stub, pro, sizeof(pro));
	stub_slot = sizeof(pro);
}

static void run_native(const uint8_t *insn, size_t len, struct nctx *c)
{
	static const uint8_t epi[] = {
		0x9c, 0x41, 0x8f, 0x47, 0x30,			/* pushfq; pop [r15+48] */
		0x49, 0x89, 0x07, 0x49, 0x89, 0x5f, 0x08, 0x49, 0x89, 0x4f, 0x10, /* rax-rcx */
		0x49, 0x89, 0x57, 0x18, 0x49, 0x89, 0x77, 0x20,	/* rdx, rsi */
		0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
	};
	void (*fn)(struct nctx *);

	memcpy(stub + stub_slot, insn, len);
	memcpy(stub + stub_slot + len, epi, sizeof(epi));
	__builtin___clear_cache((char *)stub, (char *)stub + 4096);
	fn = (void (*)(struct nctx *))(void *)stub;
	fn(c);
}

/* Random values with the edges (sign bits, all ones, zero) well represented. */
static uint64_t rnd_val(void)
{
	static const uint64_t edge[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull,
	};
	uint64_t r = rnd();

	switch (r & 3) {
	case 0:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (r >> 8) & 0xff;
	default:
		return rnd();
	}
}

static void test_oracle(void)
{
	/*
	 * Register-only encodings: rax rbx rcx rdx rsi are the only registers
	 * used. With @cc_at, a random condition is added to that byte.
	 */
	static const struct {
		uint8_t b[4];
		uint8_t len, cc_at;
	} base[] = {
		{ { 0x0f, 0xbe, 0xc3 }, 3 },		/* movsx eax, bl */
		{ { 0x0f, 0xb7, 0xcb }, 3 },		/* movzx ecx, bx */
		{ { 0x48, 0x0f, 0xbf, 0xd3 }, 4 },	/* movsx rdx, bx */
		{ { 0x48, 0x63, 0xf3 }, 3 },		/* movsxd rsi, ebx */
		{ { 0x66, 0x0f, 0xbe, 0xc3 }, 4 },	/* movsx ax, bl */
		{ { 0x0f, 0xc8 }, 2 },			/* bswap eax */
		{ { 0x48, 0x0f, 0xcb }, 3 },		/* bswap rbx */
		{ { 0x0f, 0xc1, 0xd8 }, 3 },		/* xadd eax, ebx */
		{ { 0x0f, 0xc0, 0xd1 }, 3 },		/* xadd cl, dl */
		{ { 0x66, 0x0f, 0xc1, 0xd1 }, 4 },	/* xadd cx, dx */
		{ { 0x48, 0x0f, 0xc1, 0xc8 }, 4 },	/* xadd rax, rcx */
		{ { 0x0f, 0xb1, 0xcb }, 3 },		/* cmpxchg ebx, ecx */
		{ { 0x0f, 0xb0, 0xcb }, 3 },		/* cmpxchg bl, cl */
		{ { 0x66, 0x0f, 0xb1, 0xcb }, 4 },	/* cmpxchg bx, cx */
		{ { 0x48, 0x0f, 0xb1, 0xda }, 4 },	/* cmpxchg rdx, rbx */
		{ { 0x0f, 0xb1, 0xc1 }, 3 },		/* cmpxchg ecx, eax */
		{ { 0x48, 0x87, 0xd6 }, 3 },		/* xchg rsi, rdx */
		{ { 0x86, 0xe3 }, 2 },			/* xchg bl, ah */
		{ { 0x0f, 0x90, 0xc0 }, 3, 1 },		/* setcc al */
		{ { 0x0f, 0x40, 0xca }, 3, 1 },		/* cmovcc ecx, edx */
		{ { 0x48, 0x0f, 0x40, 0xc3 }, 4, 2 },	/* cmovcc rax, rbx */
	};
	const unsigned nbase = sizeof(base) / sizeof(base[0]);
	unsigned cases = 0, bad = 0;

	if (!stub) {
		CU_PASS("no executable memory for the native side");
		return;
	}
	for (unsigned iter = 0; iter < 6000; iter++) {
		unsigned k = iter % nbase;
		uint8_t insn[4];
		size_t len = base[k].len;
		struct nctx n;
		uint64_t cmpflags = OSZAPC;

		memcpy(insn, base[k].b, len);
		if (base[k].cc_at)
			insn[base[k].cc_at] += (uint8_t)(rnd() % 16);
		for (unsigned i = 0; i < 5; i++)
			n.r[i] = rnd_val();
		if (rnd() & 1)
			n.r[0] = n.r[1 + (rnd() % 3)];	/* CMPXCHG: equal half the time */
		n.fin = (rnd() & OSZAPC) | X86_RFLAGS_FIXED;
		n.fout = 0;

		mode(SWH_LONG64);
		SETR({ R_AX, n.r[0] }, { R_BX, n.r[1] }, { R_CX, n.r[2] }, { R_DX, n.r[3] },
			{ R_SI, n.r[4] });
		FL = n.fin;
		load_bytes(insn, len);
		run_native(insn, len, &n);
		cases++;
		if (swh_step(h) != SWH_OK || REG(AX) != n.r[0] || REG(BX) != n.r[1] ||
		    REG(CX) != n.r[2] || REG(DX) != n.r[3] || REG(SI) != n.r[4] ||
		    (FL & cmpflags) != (n.fout & cmpflags)) {
			if (bad++ < 10) {
				fprintf(stderr, "\n  oracle: %02x %02x %02x %02x: native %"
					PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64
					" fl %" PRIx64 "\n", insn[0], insn[1],
					len > 2 ? insn[2] : 0, len > 3 ? insn[3] : 0, n.r[0],
					n.r[1], n.r[2], n.r[3], n.r[4], n.fout & cmpflags);
			}
		}
	}
	printf("\n  oracle: %u cases, %u mismatches\n", cases, bad);
	CU_ASSERT_EQUAL(bad, 0);
}
#endif

/* BOUND: in range runs on; below or above is #BR with nothing changed; #UD on a register. */
static void test_bound(void)
{
	static const struct {
		enum swh_mode m;
		bool op16;		/* 16-bit bounds and index */
	} modes[] = {
		{ SWH_REAL, true }, { SWH_PROT16, true }, { SWH_PROT32, false },
		{ SWH_PROT32, true }, { SWH_COMPAT32, false },
	};

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		bool code16 = modes[i].m == SWH_REAL || modes[i].m == SWH_PROT16;
		uint64_t data = code16 ? 0x7000 : DATA;
		/* bound ax/eax, [bx]/[ebx], with a 66 prefix where the sizes differ from the code's */
		uint8_t insn[3], n = 0;
		unsigned size = modes[i].op16 ? 2 : 4;
		int64_t idx[] = { -1, -5, 0, 7, 8, -6, 9 };
		int want[] = { SWH_OK, SWH_OK, SWH_OK, SWH_OK, X86_BR, X86_BR, X86_BR };

		if (modes[i].op16 != code16)
			insn[n++] = 0x66;
		insn[n++] = 0x62;
		insn[n++] = code16 ? 0x07 : 0x03;
		for (unsigned k = 0; k < 7; k++) {
			uint64_t start;
			int r;

			mode(modes[i].m);
			swh_poke_val(h, data, (uint64_t)-5, size);
			swh_poke_val(h, data + size, 7, size);
			REG(BX) = data;
			/* The bits above the operand size do not count. */
			REG(AX) = ((uint64_t)idx[k] & (size == 2 ? 0xffff : 0xffffffff)) | 0xabcd0000ull << 32;
			start = code_base();
			swh_load_code(h, start, insn, n);
			r = swh_step(h);
			CU_ASSERT_EQUAL(r, want[k]);
			if (r == X86_BR)
				CU_ASSERT_EQUAL(RIP, start - h->cpu.st.seg[S_CS].base);
		}
	}
	/* 64-bit mode: 62 is EVEX; a register operand in 32-bit code too. */
	mode(SWH_LONG64);
	CU_ASSERT_EQUAL(STEP(0x62, 0x03), X86_UD);
}

/* 3E on an indirect JMP/CALL is a DS override (not only NOTRACK): [ebp] through DS. */
static void test_ds_notrack(void)
{
	mode(SWH_PROT32);
	h->cpu.st.seg[S_DS].base = 0x1000;
	REG(BP) = DATA;
	swh_poke_val(h, DATA + 0x1000, 0x12340, 4);	/* through DS */
	swh_poke_val(h, DATA, 0x56780, 4);		/* through SS */
	STEP_TO(0x12340, 0x3e, 0xff, 0x65, 0x00);	/* jmp ds:[ebp] */
	mode(SWH_PROT32);
	h->cpu.st.seg[S_DS].base = 0x1000;
	REG(BP) = DATA;
	STEP_TO(0x56780, 0xff, 0x65, 0x00);		/* jmp [ebp]: SS */
	mode(SWH_PROT32);
	h->cpu.st.seg[S_DS].base = 0x1000;
	REG(BP) = DATA;
	REG(SP) = 0x8000;
	STEP_TO(0x12340, 0x3e, 0xff, 0x55, 0x00);	/* call ds:[ebp] */
	/* The return address still goes to SS:ESP. */
	CU_ASSERT_EQUAL(swh_peek_val(h, 0x8000 - 4, 4), CODE32 + 4);
	/* 26 3E: the last segment prefix wins. */
	mode(SWH_PROT32);
	h->cpu.st.seg[S_DS].base = 0x1000;
	REG(BP) = DATA;
	STEP_TO(0x12340, 0x26, 0x3e, 0xff, 0x65, 0x00);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "mov", test_mov }, { "mov sreg", test_mov_sreg },
		{ "movzx movsx movsxd", test_movzx_movsx }, { "xchg", test_xchg },
		{ "cmpxchg", test_cmpxchg }, { "cmpxchg8b cmpxchg16b", test_cmpxchg8b_16b },
		{ "xadd", test_xadd }, { "bswap", test_bswap }, { "cmovcc setcc", test_cmov_setcc },
		{ "lea", test_lea }, { "cbw cwd and friends", test_widen },
		{ "lahf sahf clc stc cmc cld std salc", test_flag_insns },
		{ "nop forms", test_nop }, { "xlat", test_xlat },
		{ "ud0 ud1 ud2 movbe", test_ud_movbe }, { "push pop 64-bit", test_push_pop64 },
		{ "push pop pusha popa 32-bit", test_push_pop32 },
		{ "push pop 16-bit", test_push_pop16 },
		{ "pushf popf privilege rules", test_pushf_popf },
		{ "enter leave", test_enter_leave }, { "jmp jcc", test_jmp_jcc },
		{ "loop jcxz", test_loop_jcxz }, { "call ret (16-bit wrap)", test_call_ret16 },
		{ "far jmp call ret", test_far }, { "int int3 into int1 iret", test_int },
		{ "movs", test_movs }, { "movs large (bounded per step)", test_movs_large },
		{ "movs over decoded code", test_movs_smc },
		{ "rep movs/stos random vs the SDM definition", test_movs_stos_random },
		{ "stos lods", test_stos_lods }, { "cmps scas", test_cmps_scas },
		{ "strings in 16-bit code", test_string16 },
		{ "string fault part-way", test_string_fault }, { "ins outs", test_ins_outs },
		{ "mmio read-modify-write", test_mmio_rmw },
		{ "string single-step", test_string_tf },
		{ "bound", test_bound }, { "3e on indirect jmp/call", test_ds_notrack },
#if defined(__x86_64__)
		{ "host oracle", test_oracle },
#endif
	};
	CU_pSuite suite;
	unsigned failures;

	h = swh_new(RAM_SIZE, SWH_LONG64);
	if (!h) {
		fprintf(stderr, "test_sw_ctl: cannot create the test VM\n");
		return 1;
	}
#if defined(__x86_64__)
	build_stub();
#endif
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("sw data movement, stack, control, strings", NULL, NULL);
	if (!suite)
		return 1;
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return 1;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	swh_free(h);
	return failures ? 1 : 0;
}
