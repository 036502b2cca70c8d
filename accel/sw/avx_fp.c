// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * AVX floating point, FMA and F16C: the VEX forms of the SSE..SSE4.1
 * float instructions and FP-domain shuffles, VPERMPS/VPERMPD (AVX2),
 * the FMA family and the half-precision conversions.
 *
 * Two kinds of handler:
 *
 *  - Computations (arithmetic, compares, conversions, shuffles, blends,
 *    permutes, FMA, F16C) run as the same host instruction with its
 *    operands moved into fixed registers: operand i in YMMi (XMMi for a
 *    128-bit one), a general register operand in RAX/EAX. A memory
 *    operand is read first (avx.h: segment, paging, no alignment rule)
 *    and handed to the register form, zero-extended; every instruction
 *    here reads exactly the low bits of that register its memory form
 *    would read, so results, rounding, DAZ/FTZ, NaN selection, the
 *    exception flags and the RCP/RSQRT approximations are the host's.
 *    The host runs it under the guest's MXCSR (sw_sse_host), an unmasked
 *    exception raises #XM with nothing written. The register form is
 *    assembled once with the Zydis encoder into a small per-thread code
 *    cache (the operand roles and the immediate select the entry).
 *    The VEX.128 forms zero bits 255:128 of their destination on the
 *    host too, so the whole YMM0 goes back to the guest register.
 *
 *  - Moves whose memory form is not a register form in disguise (loads
 *    and stores of VMOVAPS/UPS/SS/LPS/..., broadcasts from memory,
 *    VMASKMOV, VINSERTPS m32, VLDMXCSR/VSTMXCSR) are written in C.
 *
 * The guest only chooses the mnemonic (from the table below), its
 * registers' values and the immediate: the host code is always one of
 * these instructions on YMM0-3/RAX, assembled by the encoder.
 * The feature checked (sw_avx_enter) is Zydis' ISA extension of the
 * form: AVX, AVX2 (VPERMPS/PD, the register broadcasts), FMA or F16C.
 * The host must have what the model advertises (the model is
 * intersected with the host's CPUID).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/sw/avx.h"

/* ---- feature of a form ---- */

static struct sw_feat avx_fp_feature(const struct sw_insn *in)
{
	switch (in->zi.meta.isa_ext) {
	case ZYDIS_ISA_EXT_AVX2:
		return SW_FEAT_AVX2;
	case ZYDIS_ISA_EXT_FMA:
		return SW_FEAT_FMA;
	case ZYDIS_ISA_EXT_F16C:
		return SW_FEAT_F16C;
	default:
		return SW_FEAT_AVX;
	}
}

static void avx_fp_enter(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_avx_enter(cpu, in, avx_fp_feature(in));
}

/* ---- host execution ---- */

/* What the host code reads and writes: YMM0-3 at 0, RAX at 128, RFLAGS out at 136. */
struct avx_hctx {
	union sw_yvec y[4];
	uint64_t rax;
	uint64_t rflags;
} __attribute__((aligned(32)));

#define HC_SLOT		128	/* bytes of code per cache entry */
#define HC_ENTRIES	512
#define HC_MASK		(HC_ENTRIES - 1)	/* direct-mapped */

/* One cached register form: its key, and code at slot * HC_SLOT. */
struct avx_hkey {
	uint16_t mnemonic;
	uint8_t nops;
	uint8_t imm;
	uint16_t reg[4];	/* substituted register, or 0 for the immediate */
};

struct avx_hcache {
	uint8_t *code;			/* HC_ENTRIES * HC_SLOT bytes, RWX */
	struct avx_hkey key[HC_ENTRIES];
	bool valid[HC_ENTRIES];
};

static __thread struct avx_hcache *hcache;
static pthread_key_t hcache_key;
static pthread_once_t hcache_once = PTHREAD_ONCE_INIT;
static __thread struct avx_hctx *hjob;
static __thread void (*hfn)(struct avx_hctx *c);

/*
 * Around the instruction: vmovdqu ymm0..3, [rdi + 32 * i]; mov rax, [rdi + 128];
 * then vmovdqu [rdi], ymm0; mov [rdi + 128], rax; pushfq; pop qword [rdi + 136];
 * vzeroupper (no SSE/AVX transition cost in the C code after); ret.
 * Only YMM0-3 and RAX (caller-saved) are touched.
 */
static const uint8_t hc_head[] = {
	0xc5, 0xfe, 0x6f, 0x07,
	0xc5, 0xfe, 0x6f, 0x4f, 0x20,
	0xc5, 0xfe, 0x6f, 0x57, 0x40,
	0xc5, 0xfe, 0x6f, 0x5f, 0x60,
	0x48, 0x8b, 0x87, 0x80, 0x00, 0x00, 0x00,
};

static const uint8_t hc_tail[] = {
	0xc5, 0xfe, 0x7f, 0x07,
	0x48, 0x89, 0x87, 0x80, 0x00, 0x00, 0x00,
	0x9c,
	0x8f, 0x87, 0x88, 0x00, 0x00, 0x00,
	0xc5, 0xf8, 0x77,
	0xc3,
};

_Static_assert(sizeof(hc_head) + 15 + sizeof(hc_tail) <= HC_SLOT, "slot size");

static unsigned hkey_hash(const struct avx_hkey *k)
{
	uint32_t h = k->mnemonic * 0x9e3779b1u;

	h ^= k->imm * 0x85ebca6bu;
	for (unsigned i = 0; i < 4; i++)
		h = (h ^ k->reg[i]) * 0x01000193u;
	return (h ^ (h >> 15)) & HC_MASK;
}

static bool hkey_eq(const struct avx_hkey *a, const struct avx_hkey *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* A vCPU thread's cache goes with the thread. */
static void hcache_free(void *p)
{
	struct avx_hcache *c = p;

	munmap(c->code, HC_ENTRIES * HC_SLOT);
	free(c);
}

static void hcache_key_init(void)
{
	pthread_key_create(&hcache_key, hcache_free);
}

static struct avx_hcache *hcache_new(void)
{
	struct avx_hcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->code = mmap(NULL, HC_ENTRIES * HC_SLOT, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->code == MAP_FAILED) {
		free(c);
		return NULL;
	}
	pthread_once(&hcache_once, hcache_key_init);
	pthread_setspecific(hcache_key, c);
	return c;
}

/* The SSE host function sw_sse_host runs: the prepared job on the cached code. */
static void avx_hrun(union sw_vec *d, const union sw_vec *s)
{
	(void)d;
	(void)s;
	hfn(hjob);
}

/* Operand @i of the register form is a GPR (the others' memory forms become vector registers). */
static bool avx_gpr_form(const struct sw_insn *in, unsigned i)
{
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VCVTSI2SS: case ZYDIS_MNEMONIC_VCVTSI2SD:
		return i == 2;
	case ZYDIS_MNEMONIC_VEXTRACTPS:
		return i == 0;
	default:
		return false;
	}
}

static ZydisRegister avx_gpr(unsigned bits)
{
	return bits == 64 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX;
}

/* The register operand @i stands for in the host form. */
static ZydisRegister avx_subst(const struct sw_insn *in, unsigned i)
{
	const struct sw_op *o = &in->op[i];

	if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		if (avx_gpr_form(in, i))
			return avx_gpr(o->size);
		return (o->size == 256 ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + i;
	}
	if (sw_fpu_is_ymm(o->reg.value))
		return ZYDIS_REGISTER_YMM0 + i;
	if (sw_fpu_is_xmm(o->reg.value))
		return ZYDIS_REGISTER_XMM0 + i;
	return avx_gpr(o->size);
}

typedef void (*avx_hcode_fn)(struct avx_hctx *c);

/* The cached host code for @in's register form; NULL if it cannot be had. */
static avx_hcode_fn avx_hcode(const struct sw_insn *in)
{
	struct avx_hkey k;
	ZydisEncoderRequest q;
	unsigned nops = in->zi.operand_count_visible, slot;
	uint8_t *p;
	ZyanUSize len = 15;

	if (nops > 4)
		return NULL;
	memset(&k, 0, sizeof(k));
	memset(&q, 0, sizeof(q));
	k.mnemonic = in->zi.mnemonic;
	k.nops = (uint8_t)nops;
	q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	q.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_VEX;
	q.mnemonic = in->zi.mnemonic;
	q.operand_count = nops;
	for (unsigned i = 0; i < nops; i++) {
		if (in->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			k.imm = (uint8_t)in->op[i].imm.value.u;
			q.operands[i].type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
			q.operands[i].imm.u = k.imm;
		} else {
			k.reg[i] = (uint16_t)avx_subst(in, i);
			q.operands[i].type = ZYDIS_OPERAND_TYPE_REGISTER;
			q.operands[i].reg.value = k.reg[i];
			/* The 4th register of VBLENDVPS/PD sits in imm8[7:4]. */
			q.operands[i].reg.is4 = i == 3;
		}
	}
	if (!hcache)
		hcache = hcache_new();
	if (!hcache)
		return NULL;
	slot = hkey_hash(&k);
	p = hcache->code + slot * HC_SLOT;
	if (hcache->valid[slot] && hkey_eq(&hcache->key[slot], &k))
		return (avx_hcode_fn)(void *)p;
	hcache->valid[slot] = false;
	memcpy(p, hc_head, sizeof(hc_head));
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&q, p + sizeof(hc_head), &len)))
		return NULL;
	memcpy(p + sizeof(hc_head) + len, hc_tail, sizeof(hc_tail));
	hcache->key[slot] = k;
	hcache->valid[slot] = true;
	return (avx_hcode_fn)(void *)p;
}

/* Instructions whose result is RFLAGS (ZF PF CF; OF SF AF cleared). */
static bool avx_sets_flags(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_VCOMISS: case ZYDIS_MNEMONIC_VCOMISD:
	case ZYDIS_MNEMONIC_VUCOMISS: case ZYDIS_MNEMONIC_VUCOMISD:
	case ZYDIS_MNEMONIC_VTESTPS: case ZYDIS_MNEMONIC_VTESTPD:
		return true;
	default:
		return false;
	}
}

static void avx_fp_host(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned nops = in->zi.operand_count_visible;
	struct avx_hctx c;
	union sw_vec dummy = { 0 };
	bool unmasked;
	uint32_t fl;

	avx_fp_enter(cpu, in);
	memset(&c, 0, sizeof(c));
	/* Every source (and a register destination, harmlessly) before anything is written. */
	for (unsigned i = 0; i < nops && i < 4; i++) {
		const struct sw_op *o = &in->op[i];
		union sw_yvec v;

		if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			continue;
		/* A memory destination is not read (VEXTRACTF128 m128, VCVTPS2PH m64...). */
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    !(o->actions & ZYDIS_OPERAND_ACTION_MASK_READ))
			continue;
		sw_avx_read(cpu, in, i, &v);
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && !sw_fpu_is_xmm(o->reg.value) &&
		    !sw_fpu_is_ymm(o->reg.value))
			c.rax = v.q[0];
		else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && avx_gpr_form(in, i))
			c.rax = v.q[0];
		else
			c.y[i] = v;
	}
	hfn = avx_hcode(in);
	if (!hfn)
		sw_ud(cpu);
	hjob = &c;
	fl = sw_sse_host(cpu, avx_hrun, &dummy, &dummy, &unmasked);
	hjob = NULL;
	/* #XM (or #UD) for an unmasked exception, the destination unwritten. */
	sw_sse_flags(cpu, fl);
	if (avx_sets_flags(in->zi.mnemonic)) {
		sw_set_flags(cpu, SW_FLAGS_OSZAPC, c.rflags);
		return;
	}
	if (in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    (sw_fpu_is_xmm(in->op[0].reg.value) || sw_fpu_is_ymm(in->op[0].reg.value))) {
		/* A VEX.128 form left bits 255:128 of YMM0 zero: the whole register goes back. */
		sw_ymm_set(cpu, sw_vreg_index(in, 0), &c.y[0]);
	} else if (in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER ||
		   avx_gpr_form(in, 0)) {
		union sw_yvec r = { .q = { c.rax } };

		sw_avx_write(cpu, in, 0, &r);
	} else {
		sw_avx_write(cpu, in, 0, &c.y[0]);
	}
}

/* ---- moves, in C ---- */

/* VMOVAPS/UPS/APD/UPD, VMOVNTPS/PD: the aligned forms' #GP is avx.c's. */
static void avx_mov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec v;

	avx_fp_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &v);
	sw_avx_write(cpu, in, 0, &v);
}

/*
 * VMOVSS/VMOVSD: the load zeroes the rest of the register, the store
 * writes the element, the register form merges xmm2's upper elements
 * (operand 1) with xmm3's low one (operand 2).
 */
static void avx_movs(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned esz = in->zi.mnemonic == ZYDIS_MNEMONIC_VMOVSS ? 4 : 8;
	union sw_yvec v, s;

	avx_fp_enter(cpu, in);
	if (in->zi.operand_count_visible == 3) {
		sw_avx_read(cpu, in, 1, &v);
		sw_avx_read(cpu, in, 2, &s);
		memcpy(v.b, s.b, esz);
		memset(v.b + 16, 0, 16);
		sw_avx_write(cpu, in, 0, &v);
		return;
	}
	/* The load zero-extends (avx.h); the store writes the operand's size. */
	sw_avx_read(cpu, in, 1, &v);
	sw_avx_write(cpu, in, 0, &v);
}

/*
 * VMOVLPS/LPD (low quadword) and VMOVHPS/HPD (high): the load form
 * xmm1, xmm2, m64 takes the other quadword from xmm2; the store form
 * m64, xmm1 writes the quadword.
 */
static void avx_movlh(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool high = in->zi.mnemonic == ZYDIS_MNEMONIC_VMOVHPS ||
		    in->zi.mnemonic == ZYDIS_MNEMONIC_VMOVHPD;
	union sw_yvec v, m;

	avx_fp_enter(cpu, in);
	if (sw_op_is_mem(in, 0)) {
		sw_avx_read(cpu, in, 1, &v);
		memset(&m, 0, sizeof(m));
		m.q[0] = v.q[high];
		sw_avx_write(cpu, in, 0, &m);
		return;
	}
	sw_avx_read(cpu, in, 1, &v);
	sw_avx_read(cpu, in, 2, &m);
	v.q[high] = m.q[0];
	sw_avx_write(cpu, in, 0, &v);
}

/*
 * VBROADCASTSS/SD (m32/m64, or the low element of an XMM register with
 * AVX2) and VBROADCASTF128 (m128): the element repeated over the
 * destination.
 */
static void avx_broadcast(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in), esz;
	union sw_yvec s, r;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VBROADCASTSS:
		esz = 4;
		break;
	case ZYDIS_MNEMONIC_VBROADCASTSD:
		esz = 8;
		break;
	default:
		esz = 16;
		break;
	}
	avx_fp_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	memset(&r, 0, sizeof(r));
	for (unsigned o = 0; o < len; o += esz)
		memcpy(r.b + o, s.b, esz);
	sw_avx_write(cpu, in, 0, &r);
}

/*
 * VINSERTPS: a single (imm8[7:6] of a register, or the m32) to
 * imm8[5:4] of operand 1's value, the dwords of imm8[3:0] zeroed.
 */
static void avx_insertps(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = (unsigned)in->op[3].imm.value.u & 0xff;
	union sw_yvec d, s;

	avx_fp_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &d);
	sw_avx_read(cpu, in, 2, &s);
	d.d[(imm >> 4) & 3] = sw_op_is_reg(in, 2) ? s.d[(imm >> 6) & 3] : s.d[0];
	for (unsigned i = 0; i < 4; i++)
		if (imm & (1u << i))
			d.d[i] = 0;
	memset(d.b + 16, 0, 16);
	sw_avx_write(cpu, in, 0, &d);
}

/*
 * VMASKMOVPS/PD. Load: xmm/ymm1 = the elements of m whose mask element
 * (operand 1) has its sign set, zero elsewhere. Store: m = operand 2's
 * elements where operand 1's mask is set; memory elsewhere untouched.
 * SDM: only the elements the mask selects are accessed, so masked-off
 * elements never fault (no fault at all with an all-zero mask). Every
 * selected element is checked before the first one is stored.
 */
static void avx_maskmov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned esz = in->zi.mnemonic == ZYDIS_MNEMONIC_VMASKMOVPS ? 4 : 8;
	bool store = sw_op_is_mem(in, 0);
	unsigned mi = store ? 0 : 2, len = in->op[mi].size / 8;
	union sw_yvec mask, data, r;
	uint64_t ea, la[8];

	avx_fp_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &mask);
	if (store)
		sw_avx_read(cpu, in, 2, &data);
	ea = sw_op_ea(cpu, in, mi);
	memset(&r, 0, sizeof(r));
	for (unsigned e = 0; e < len / esz && e < 8; e++) {
		bool on = (mask.b[e * esz + esz - 1] & 0x80) != 0;
		uint64_t off = ea + e * esz;

		if (!on)
			continue;
		/* The effective address wraps at the address size, as the whole operand's. */
		if (in->zi.address_width < 64)
			off &= in->zi.address_width == 32 ? 0xffffffffull : 0xffffull;
		la[e] = sw_seg_linear(cpu, sw_op_seg(in, mi), off, esz,
				      store ? SW_ACC_WRITE : SW_ACC_READ);
		if (store)
			sw_probe_write_lin(cpu, la[e], esz, SW_ACC_WRITE);
		else
			sw_read_lin_buf(cpu, la[e], r.b + e * esz, esz, SW_ACC_READ);
	}
	if (!store) {
		sw_avx_write(cpu, in, 0, &r);
		return;
	}
	for (unsigned e = 0; e < len / esz && e < 8; e++)
		if (mask.b[e * esz + esz - 1] & 0x80)
			sw_write_lin_buf(cpu, la[e], data.b + e * esz, esz, SW_ACC_WRITE);
}

/* VLDMXCSR / VSTMXCSR: as LDMXCSR/STMXCSR, with the VEX checks. */
static void avx_ldmxcsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t v;

	avx_fp_enter(cpu, in);
	v = (uint32_t)sw_op_read(cpu, in, 0);
	if (v & ~sw_mxcsr_mask)
		sw_gp0(cpu);
	cpu->st.fx.mxcsr = v;
}

static void avx_stmxcsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	avx_fp_enter(cpu, in);
	sw_op_write(cpu, in, 0, cpu->st.fx.mxcsr);
}

/* ---- registration ---- */

static const ZydisMnemonic host_forms[] = {
	ZYDIS_MNEMONIC_VADDPS, ZYDIS_MNEMONIC_VADDPD, ZYDIS_MNEMONIC_VADDSS, ZYDIS_MNEMONIC_VADDSD,
	ZYDIS_MNEMONIC_VSUBPS, ZYDIS_MNEMONIC_VSUBPD, ZYDIS_MNEMONIC_VSUBSS, ZYDIS_MNEMONIC_VSUBSD,
	ZYDIS_MNEMONIC_VMULPS, ZYDIS_MNEMONIC_VMULPD, ZYDIS_MNEMONIC_VMULSS, ZYDIS_MNEMONIC_VMULSD,
	ZYDIS_MNEMONIC_VDIVPS, ZYDIS_MNEMONIC_VDIVPD, ZYDIS_MNEMONIC_VDIVSS, ZYDIS_MNEMONIC_VDIVSD,
	ZYDIS_MNEMONIC_VMINPS, ZYDIS_MNEMONIC_VMINPD, ZYDIS_MNEMONIC_VMINSS, ZYDIS_MNEMONIC_VMINSD,
	ZYDIS_MNEMONIC_VMAXPS, ZYDIS_MNEMONIC_VMAXPD, ZYDIS_MNEMONIC_VMAXSS, ZYDIS_MNEMONIC_VMAXSD,
	ZYDIS_MNEMONIC_VSQRTPS, ZYDIS_MNEMONIC_VSQRTPD, ZYDIS_MNEMONIC_VSQRTSS,
	ZYDIS_MNEMONIC_VSQRTSD,
	ZYDIS_MNEMONIC_VRCPPS, ZYDIS_MNEMONIC_VRCPSS, ZYDIS_MNEMONIC_VRSQRTPS,
	ZYDIS_MNEMONIC_VRSQRTSS,
	ZYDIS_MNEMONIC_VCMPPS, ZYDIS_MNEMONIC_VCMPPD, ZYDIS_MNEMONIC_VCMPSS, ZYDIS_MNEMONIC_VCMPSD,
	ZYDIS_MNEMONIC_VCOMISS, ZYDIS_MNEMONIC_VCOMISD, ZYDIS_MNEMONIC_VUCOMISS,
	ZYDIS_MNEMONIC_VUCOMISD,
	ZYDIS_MNEMONIC_VANDPS, ZYDIS_MNEMONIC_VANDPD, ZYDIS_MNEMONIC_VANDNPS,
	ZYDIS_MNEMONIC_VANDNPD, ZYDIS_MNEMONIC_VORPS, ZYDIS_MNEMONIC_VORPD,
	ZYDIS_MNEMONIC_VXORPS, ZYDIS_MNEMONIC_VXORPD,
	ZYDIS_MNEMONIC_VHADDPS, ZYDIS_MNEMONIC_VHADDPD, ZYDIS_MNEMONIC_VHSUBPS,
	ZYDIS_MNEMONIC_VHSUBPD, ZYDIS_MNEMONIC_VADDSUBPS, ZYDIS_MNEMONIC_VADDSUBPD,
	ZYDIS_MNEMONIC_VDPPS, ZYDIS_MNEMONIC_VDPPD,
	ZYDIS_MNEMONIC_VROUNDPS, ZYDIS_MNEMONIC_VROUNDPD, ZYDIS_MNEMONIC_VROUNDSS,
	ZYDIS_MNEMONIC_VROUNDSD,
	ZYDIS_MNEMONIC_VBLENDPS, ZYDIS_MNEMONIC_VBLENDPD, ZYDIS_MNEMONIC_VBLENDVPS,
	ZYDIS_MNEMONIC_VBLENDVPD,
	ZYDIS_MNEMONIC_VCVTSS2SD, ZYDIS_MNEMONIC_VCVTSD2SS, ZYDIS_MNEMONIC_VCVTPS2PD,
	ZYDIS_MNEMONIC_VCVTPD2PS, ZYDIS_MNEMONIC_VCVTDQ2PS, ZYDIS_MNEMONIC_VCVTPS2DQ,
	ZYDIS_MNEMONIC_VCVTTPS2DQ, ZYDIS_MNEMONIC_VCVTDQ2PD, ZYDIS_MNEMONIC_VCVTPD2DQ,
	ZYDIS_MNEMONIC_VCVTTPD2DQ, ZYDIS_MNEMONIC_VCVTSI2SS, ZYDIS_MNEMONIC_VCVTSI2SD,
	ZYDIS_MNEMONIC_VCVTSS2SI, ZYDIS_MNEMONIC_VCVTTSS2SI, ZYDIS_MNEMONIC_VCVTSD2SI,
	ZYDIS_MNEMONIC_VCVTTSD2SI,
	ZYDIS_MNEMONIC_VMOVSLDUP, ZYDIS_MNEMONIC_VMOVSHDUP, ZYDIS_MNEMONIC_VMOVDDUP,
	ZYDIS_MNEMONIC_VMOVLHPS, ZYDIS_MNEMONIC_VMOVHLPS,
	ZYDIS_MNEMONIC_VMOVMSKPS, ZYDIS_MNEMONIC_VMOVMSKPD,
	ZYDIS_MNEMONIC_VSHUFPS, ZYDIS_MNEMONIC_VSHUFPD,
	ZYDIS_MNEMONIC_VUNPCKLPS, ZYDIS_MNEMONIC_VUNPCKLPD, ZYDIS_MNEMONIC_VUNPCKHPS,
	ZYDIS_MNEMONIC_VUNPCKHPD,
	ZYDIS_MNEMONIC_VEXTRACTPS, ZYDIS_MNEMONIC_VINSERTF128, ZYDIS_MNEMONIC_VEXTRACTF128,
	ZYDIS_MNEMONIC_VPERM2F128, ZYDIS_MNEMONIC_VPERMILPS, ZYDIS_MNEMONIC_VPERMILPD,
	ZYDIS_MNEMONIC_VTESTPS, ZYDIS_MNEMONIC_VTESTPD,
	ZYDIS_MNEMONIC_VPERMPS, ZYDIS_MNEMONIC_VPERMPD,
	/* FMA */
	ZYDIS_MNEMONIC_VFMADD132PS, ZYDIS_MNEMONIC_VFMADD213PS, ZYDIS_MNEMONIC_VFMADD231PS,
	ZYDIS_MNEMONIC_VFMADD132PD, ZYDIS_MNEMONIC_VFMADD213PD, ZYDIS_MNEMONIC_VFMADD231PD,
	ZYDIS_MNEMONIC_VFMADD132SS, ZYDIS_MNEMONIC_VFMADD213SS, ZYDIS_MNEMONIC_VFMADD231SS,
	ZYDIS_MNEMONIC_VFMADD132SD, ZYDIS_MNEMONIC_VFMADD213SD, ZYDIS_MNEMONIC_VFMADD231SD,
	ZYDIS_MNEMONIC_VFMSUB132PS, ZYDIS_MNEMONIC_VFMSUB213PS, ZYDIS_MNEMONIC_VFMSUB231PS,
	ZYDIS_MNEMONIC_VFMSUB132PD, ZYDIS_MNEMONIC_VFMSUB213PD, ZYDIS_MNEMONIC_VFMSUB231PD,
	ZYDIS_MNEMONIC_VFMSUB132SS, ZYDIS_MNEMONIC_VFMSUB213SS, ZYDIS_MNEMONIC_VFMSUB231SS,
	ZYDIS_MNEMONIC_VFMSUB132SD, ZYDIS_MNEMONIC_VFMSUB213SD, ZYDIS_MNEMONIC_VFMSUB231SD,
	ZYDIS_MNEMONIC_VFNMADD132PS, ZYDIS_MNEMONIC_VFNMADD213PS, ZYDIS_MNEMONIC_VFNMADD231PS,
	ZYDIS_MNEMONIC_VFNMADD132PD, ZYDIS_MNEMONIC_VFNMADD213PD, ZYDIS_MNEMONIC_VFNMADD231PD,
	ZYDIS_MNEMONIC_VFNMADD132SS, ZYDIS_MNEMONIC_VFNMADD213SS, ZYDIS_MNEMONIC_VFNMADD231SS,
	ZYDIS_MNEMONIC_VFNMADD132SD, ZYDIS_MNEMONIC_VFNMADD213SD, ZYDIS_MNEMONIC_VFNMADD231SD,
	ZYDIS_MNEMONIC_VFNMSUB132PS, ZYDIS_MNEMONIC_VFNMSUB213PS, ZYDIS_MNEMONIC_VFNMSUB231PS,
	ZYDIS_MNEMONIC_VFNMSUB132PD, ZYDIS_MNEMONIC_VFNMSUB213PD, ZYDIS_MNEMONIC_VFNMSUB231PD,
	ZYDIS_MNEMONIC_VFNMSUB132SS, ZYDIS_MNEMONIC_VFNMSUB213SS, ZYDIS_MNEMONIC_VFNMSUB231SS,
	ZYDIS_MNEMONIC_VFNMSUB132SD, ZYDIS_MNEMONIC_VFNMSUB213SD, ZYDIS_MNEMONIC_VFNMSUB231SD,
	ZYDIS_MNEMONIC_VFMADDSUB132PS, ZYDIS_MNEMONIC_VFMADDSUB213PS,
	ZYDIS_MNEMONIC_VFMADDSUB231PS, ZYDIS_MNEMONIC_VFMADDSUB132PD,
	ZYDIS_MNEMONIC_VFMADDSUB213PD, ZYDIS_MNEMONIC_VFMADDSUB231PD,
	ZYDIS_MNEMONIC_VFMSUBADD132PS, ZYDIS_MNEMONIC_VFMSUBADD213PS,
	ZYDIS_MNEMONIC_VFMSUBADD231PS, ZYDIS_MNEMONIC_VFMSUBADD132PD,
	ZYDIS_MNEMONIC_VFMSUBADD213PD, ZYDIS_MNEMONIC_VFMSUBADD231PD,
	/* F16C */
	ZYDIS_MNEMONIC_VCVTPH2PS, ZYDIS_MNEMONIC_VCVTPS2PH,
};

void sw_register_avx_fp(void)
{
	for (unsigned i = 0; i < sizeof(host_forms) / sizeof(host_forms[0]); i++)
		sw_handlers[host_forms[i]] = avx_fp_host;
	sw_handlers[ZYDIS_MNEMONIC_VMOVAPS] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVAPD] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVUPS] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVUPD] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVNTPS] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVNTPD] = avx_mov;
	sw_handlers[ZYDIS_MNEMONIC_VMOVSS] = avx_movs;
	sw_handlers[ZYDIS_MNEMONIC_VMOVSD] = avx_movs;
	sw_handlers[ZYDIS_MNEMONIC_VMOVLPS] = avx_movlh;
	sw_handlers[ZYDIS_MNEMONIC_VMOVLPD] = avx_movlh;
	sw_handlers[ZYDIS_MNEMONIC_VMOVHPS] = avx_movlh;
	sw_handlers[ZYDIS_MNEMONIC_VMOVHPD] = avx_movlh;
	sw_handlers[ZYDIS_MNEMONIC_VBROADCASTSS] = avx_broadcast;
	sw_handlers[ZYDIS_MNEMONIC_VBROADCASTSD] = avx_broadcast;
	sw_handlers[ZYDIS_MNEMONIC_VBROADCASTF128] = avx_broadcast;
	sw_handlers[ZYDIS_MNEMONIC_VINSERTPS] = avx_insertps;
	sw_handlers[ZYDIS_MNEMONIC_VMASKMOVPS] = avx_maskmov;
	sw_handlers[ZYDIS_MNEMONIC_VMASKMOVPD] = avx_maskmov;
	sw_handlers[ZYDIS_MNEMONIC_VLDMXCSR] = avx_ldmxcsr;
	sw_handlers[ZYDIS_MNEMONIC_VSTMXCSR] = avx_stmxcsr;
}
