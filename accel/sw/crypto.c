// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cryptographic extensions of the software CPU, legacy SSE
 * encodings: AES-NI (AESENC AESENCLAST AESDEC AESDECLAST AESIMC
 * AESKEYGENASSIST), PCLMULQDQ and SHA (SHA1RNDS4 SHA1NEXTE SHA1MSG1
 * SHA1MSG2 SHA256RNDS2 SHA256MSG1 SHA256MSG2).
 *
 * AES and SHA run as the host's instruction (the oracle compares with
 * the host anyway): the CPU model advertises them only where the host has
 * them (machine/cpuid.c), and the host's CPUID is looked at once more
 * here, so that a model claiming them on a host without them gets #UD,
 * never SIGILL. PCLMULQDQ is written out in C.
 *
 * The checks, in order: the model's CPUID bit (#UD), the SSE rules of
 * sw_simd_enter() (CR0.EM, CR4.OSFXSR -> #UD, CR0.TS -> #NM), the
 * memory operand (16 bytes, aligned: #GP(0)), then the result. None of
 * them reads or writes MXCSR.
 */
#include <cpuid.h>

#include "accel/sw/simd_ext.h"

#define F1_ECX_PCLMULQDQ	(1u << 1)
#define F1_ECX_AES		(1u << 25)
#define F7_EBX_SHA		(1u << 29)

enum crypto_ext { EXT_AES, EXT_PCLMUL, EXT_SHA };

static bool model_has(enum crypto_ext e)
{
	uint32_t r[4];

	if (e == EXT_SHA) {
		cpuid_model_lookup(&cpuid_global, 0, 7, 0, r);
		return r[1] & F7_EBX_SHA;
	}
	cpuid_model_lookup(&cpuid_global, 0, 1, 0, r);
	return r[2] & (e == EXT_AES ? F1_ECX_AES : F1_ECX_PCLMULQDQ);
}

/* The host runs AES and SHA instructions for us: does it have them? Asked once. */
static bool host_has(enum crypto_ext e)
{
	static int aes = -1, sha = -1;
	uint32_t a, b, c, d;

	if (e == EXT_PCLMUL)
		return true;
	if (aes < 0) {
		__cpuid_count(1, 0, a, b, c, d);
		aes = !!(c & F1_ECX_AES);
		__cpuid_count(0, 0, a, b, c, d);
		if (a >= 7) {
			__cpuid_count(7, 0, a, b, c, d);
			sha = !!(b & F7_EBX_SHA);
		} else {
			sha = 0;
		}
	}
	return e == EXT_AES ? aes : sha;
}

static void crypto_enter(struct sw_cpu *cpu, const struct sw_insn *in, enum crypto_ext e)
{
	if (!model_has(e) || !host_has(e))
		sw_ud(cpu);
	sw_simd_enter(cpu, in, true);
}

typedef void (*crypto_fn)(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,
			  unsigned imm);

#define HOST2(name, insn)							\
static void name(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,	\
		 unsigned imm)							\
{										\
	(void)x0;								\
	(void)imm;								\
	__asm__(insn " %1, %0" : "+x"(d->v) : "x"(s->v));			\
}

HOST2(c_aesenc, "aesenc") HOST2(c_aesenclast, "aesenclast")
HOST2(c_aesdec, "aesdec") HOST2(c_aesdeclast, "aesdeclast")
HOST2(c_aesimc, "aesimc")
HOST2(c_sha1nexte, "sha1nexte") HOST2(c_sha1msg1, "sha1msg1") HOST2(c_sha1msg2, "sha1msg2")
HOST2(c_sha256msg1, "sha256msg1") HOST2(c_sha256msg2, "sha256msg2")

/*
 * AESKEYGENASSIST: the imm8 is only XORed into dwords 1 and 3
 * (RotWord(SubWord(X)) ^ RCON), so the host's form with RCON 0 does the rest.
 */
static void c_aeskeygenassist(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,
			      unsigned imm)
{
	(void)x0;
	__asm__("aeskeygenassist $0, %1, %0" : "=x"(d->v) : "x"(s->v));
	d->d[1] ^= imm;
	d->d[3] ^= imm;
}

/* SHA1RNDS4: imm8[1:0] picks the round function and constant, 4 host forms. */
static void c_sha1rnds4(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,
			unsigned imm)
{
	(void)x0;
	switch (imm & 3) {
	case 0:
		__asm__("sha1rnds4 $0, %1, %0" : "+x"(d->v) : "x"(s->v));
		break;
	case 1:
		__asm__("sha1rnds4 $1, %1, %0" : "+x"(d->v) : "x"(s->v));
		break;
	case 2:
		__asm__("sha1rnds4 $2, %1, %0" : "+x"(d->v) : "x"(s->v));
		break;
	default:
		__asm__("sha1rnds4 $3, %1, %0" : "+x"(d->v) : "x"(s->v));
		break;
	}
}

/* SHA256RNDS2: the implicit third operand is XMM0. */
static void c_sha256rnds2(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,
			  unsigned imm)
{
	(void)imm;
	__asm__("movdqa %2, %%xmm0; sha256rnds2 %1, %0"
		: "+x"(d->v) : "x"(s->v), "x"(x0->v) : "xmm0");
}

/* PCLMULQDQ: imm8 bit 0 picks the destination's quadword, bit 4 the source's. */
static void c_pclmulqdq(union sw_vec *d, const union sw_vec *s, const union sw_vec *x0,
			unsigned imm)
{
	uint64_t a = d->q[imm & 1], b = s->q[(imm >> 4) & 1], lo = 0, hi = 0;

	(void)x0;
	for (unsigned i = 0; i < 64; i++) {
		if (!(b >> i & 1))
			continue;
		lo ^= a << i;
		if (i)
			hi ^= a >> (64 - i);
	}
	d->q[0] = lo;
	d->q[1] = hi;
}

static const struct {
	ZydisMnemonic m;
	crypto_fn fn;
	enum crypto_ext ext;
} table[] = {
	{ ZYDIS_MNEMONIC_AESENC, c_aesenc, EXT_AES },
	{ ZYDIS_MNEMONIC_AESENCLAST, c_aesenclast, EXT_AES },
	{ ZYDIS_MNEMONIC_AESDEC, c_aesdec, EXT_AES },
	{ ZYDIS_MNEMONIC_AESDECLAST, c_aesdeclast, EXT_AES },
	{ ZYDIS_MNEMONIC_AESIMC, c_aesimc, EXT_AES },
	{ ZYDIS_MNEMONIC_AESKEYGENASSIST, c_aeskeygenassist, EXT_AES },
	{ ZYDIS_MNEMONIC_PCLMULQDQ, c_pclmulqdq, EXT_PCLMUL },
	{ ZYDIS_MNEMONIC_SHA1RNDS4, c_sha1rnds4, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA1NEXTE, c_sha1nexte, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA1MSG1, c_sha1msg1, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA1MSG2, c_sha1msg2, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA256RNDS2, c_sha256rnds2, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA256MSG1, c_sha256msg1, EXT_SHA },
	{ ZYDIS_MNEMONIC_SHA256MSG2, c_sha256msg2, EXT_SHA },
};

static crypto_fn fns[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static uint8_t exts[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/* Every form is xmm, xmm/m128 [, imm8]: the destination is an XMM register. */
static void h_crypto(struct sw_cpu *cpu, const struct sw_insn *in)
{
	ZydisMnemonic m = in->zi.mnemonic;
	unsigned imm = 0;
	union sw_vec d, s, x0;

	crypto_enter(cpu, in, exts[m]);
	sw_simd_read(cpu, in, 1, &s);
	if (in->zi.operand_count_visible > 2 && in->op[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		imm = sw_ext_imm8(in, 2);
	d = *sw_xmm(cpu, in, 0);
	memcpy(&x0, cpu->st.fx.xmm[0], sizeof(x0));
	fns[m](&d, &s, &x0, imm);
	*sw_xmm(cpu, in, 0) = d;
}

void sw_register_crypto(void)
{
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		fns[table[i].m] = table[i].fn;
		exts[table[i].m] = (uint8_t)table[i].ext;
		sw_handlers[table[i].m] = h_crypto;
	}
}
