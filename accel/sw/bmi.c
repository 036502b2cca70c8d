// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The scalar x86-64-v3 and later general-purpose extensions of the
 * software CPU: BMI1 (ANDN BEXTR BLSI BLSMSK BLSR; TZCNT is logic.c's),
 * BMI2 (BZHI MULX PDEP PEXT RORX SARX SHLX SHRX), ADX (ADCX ADOX) and
 * RDRAND/RDSEED. MOVBE is datamov.c's, RDPID system.c's.
 *
 * Each exists only when the CPU model advertises its CPUID bit, else
 * #UD. The BMI ones are VEX-encoded: Zydis refuses VEX.L = 1, a VEX.vvvv
 * other than 1111b where the instruction has no vvvv operand, and LOCK,
 * 66, F2, F3 or REX before the VEX prefix (all #UD); VEX in real and
 * virtual-8086 mode is #UD, checked here whatever the decoder made of the
 * bytes. They are general-purpose instructions: CR0.TS/EM do not matter.
 *
 * Flags the SDM leaves undefined (AF and PF of ANDN, BLS*, BZHI; AF SF
 * PF of BEXTR) are cleared, as the Intel cores the oracle runs on do.
 */
#include <cpuid.h>

#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "machine/cpuid.h"

#define F7_EBX_BMI1	(1u << 3)
#define F7_EBX_BMI2	(1u << 8)
#define F7_EBX_RDSEED	(1u << 18)
#define F7_EBX_ADX	(1u << 19)
#define F1_ECX_RDRAND	(1u << 30)

static bool model_7ebx(uint32_t bit)
{
	uint32_t r[4];

	cpuid_model_lookup(&cpuid_global, 0, 7, 0, r);
	return r[1] & bit;
}

/* The checks every VEX-encoded GPR instruction starts with. */
static void vex_enter(struct sw_cpu *cpu, const struct sw_insn *in, uint32_t bit)
{
	if (!model_7ebx(bit))
		sw_ud(cpu);
	if ((in->zi.attributes & ZYDIS_ATTRIB_HAS_VEX) && (!sw_protected(cpu) || sw_vm86(cpu)))
		sw_ud(cpu);
}

/* OF = CF = 0 (CF as given), SF ZF from @r, AF PF cleared. */
static void bmi_flags(struct sw_cpu *cpu, uint64_t r, unsigned size, bool cf)
{
	uint64_t f = sw_flags_szp(r, size) & (X86_RFLAGS_SF | X86_RFLAGS_ZF);

	if (cf)
		f |= X86_RFLAGS_CF;
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

/* ---- BMI1 ---- */

/* ANDN r, vvvv, r/m: ~vvvv & r/m. */
static void h_andn(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t r;

	vex_enter(cpu, in, F7_EBX_BMI1);
	r = ~sw_op_read(cpu, in, 1) & sw_op_read(cpu, in, 2) & sw_mask(size);
	sw_op_write(cpu, in, 0, r);
	bmi_flags(cpu, r, size, false);
}

/* Bits [start + len - 1 : start] of @v (@bits wide), either bound past the end allowed. */
static uint64_t bit_field(uint64_t v, unsigned start, unsigned len, unsigned bits)
{
	if (start >= bits)
		return 0;
	v >>= start;
	if (len < 64)
		v &= (1ull << len) - 1;
	return v;
}

/* BEXTR r, r/m, vvvv: start in vvvv[7:0], length in vvvv[15:8]. ZF from the result. */
static void h_bextr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t src, ctl, r;

	vex_enter(cpu, in, F7_EBX_BMI1);
	src = sw_op_read(cpu, in, 1) & sw_mask(size);
	ctl = sw_op_read(cpu, in, 2);
	r = bit_field(src, ctl & 0xff, (ctl >> 8) & 0xff, size * 8);
	sw_op_write(cpu, in, 0, r);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, r ? 0 : X86_RFLAGS_ZF);
}

enum bls_op { BLSI, BLSMSK, BLSR };

/* BLSI / BLSMSK / BLSR vvvv, r/m. */
static void h_bls(struct sw_cpu *cpu, const struct sw_insn *in, enum bls_op op)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t src, r;
	bool cf;

	vex_enter(cpu, in, F7_EBX_BMI1);
	src = sw_op_read(cpu, in, 1) & sw_mask(size);
	switch (op) {
	case BLSI:		/* lowest set bit; CF = source non-zero */
		r = src & -src;
		cf = src != 0;
		break;
	case BLSMSK:		/* up to the lowest set bit; CF = source zero */
		r = src ^ (src - 1);
		cf = src == 0;
		break;
	default:		/* lowest set bit cleared; CF = source zero */
		r = src & (src - 1);
		cf = src == 0;
		break;
	}
	r &= sw_mask(size);
	sw_op_write(cpu, in, 0, r);
	bmi_flags(cpu, r, size, cf);
}

static void h_blsi(struct sw_cpu *cpu, const struct sw_insn *in) { h_bls(cpu, in, BLSI); }
static void h_blsmsk(struct sw_cpu *cpu, const struct sw_insn *in) { h_bls(cpu, in, BLSMSK); }
static void h_blsr(struct sw_cpu *cpu, const struct sw_insn *in) { h_bls(cpu, in, BLSR); }

/* ---- BMI2 ---- */

/* BZHI r, r/m, vvvv: bits from vvvv[7:0] up cleared; CF = that index past the operand. */
static void h_bzhi(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0), n;
	uint64_t r;

	vex_enter(cpu, in, F7_EBX_BMI2);
	r = sw_op_read(cpu, in, 1) & sw_mask(size);
	n = (unsigned)(sw_op_read(cpu, in, 2) & 0xff);
	if (n < size * 8)
		r &= (1ull << n) - 1;
	sw_op_write(cpu, in, 0, r);
	bmi_flags(cpu, r, size, n > size * 8 - 1);
}

/*
 * MULX hi, lo, r/m: EDX/RDX times r/m, unsigned, no flags. The low half
 * goes to vvvv first, so that with both the same register it holds the
 * high half, as the SDM says.
 */
static void h_mulx(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t a, b, hi, lo;

	vex_enter(cpu, in, F7_EBX_BMI2);
	b = sw_op_read(cpu, in, 2) & sw_mask(size);
	a = cpu->st.gpr[R_DX] & sw_mask(size);
	if (size == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * b;

		lo = (uint32_t)p;
		hi = p >> 32;
	}
	sw_op_write(cpu, in, 1, lo);
	sw_op_write(cpu, in, 0, hi);
}

/* PDEP r, vvvv, r/m: the low bits of vvvv scattered to where the mask r/m has ones. */
static void h_pdep(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t src, mask, r = 0;

	vex_enter(cpu, in, F7_EBX_BMI2);
	src = sw_op_read(cpu, in, 1);
	mask = sw_op_read(cpu, in, 2) & sw_mask(size);
	for (uint64_t k = 1; mask; k <<= 1) {
		uint64_t low = mask & -mask;

		if (src & k)
			r |= low;
		mask ^= low;
	}
	sw_op_write(cpu, in, 0, r);
}

/* PEXT r, vvvv, r/m: the bits of vvvv where the mask has ones, gathered at the bottom. */
static void h_pext(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t src, mask, r = 0;

	vex_enter(cpu, in, F7_EBX_BMI2);
	src = sw_op_read(cpu, in, 1);
	mask = sw_op_read(cpu, in, 2) & sw_mask(size);
	for (uint64_t k = 1; mask; k <<= 1) {
		uint64_t low = mask & -mask;

		if (src & low)
			r |= k;
		mask ^= low;
	}
	sw_op_write(cpu, in, 0, r);
}

/* RORX r, r/m, imm8: rotate right, the count masked to the operand size; no flags. */
static void h_rorx(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0), bits = size * 8, n;
	uint64_t v, r;

	vex_enter(cpu, in, F7_EBX_BMI2);
	v = sw_op_read(cpu, in, 1) & sw_mask(size);
	n = (unsigned)(in->op[2].imm.value.u & (bits - 1));
	r = n ? (v >> n | v << (bits - n)) & sw_mask(size) : v;
	sw_op_write(cpu, in, 0, r);
}

enum shx_op { SHLX, SHRX, SARX };

/* SHLX / SHRX / SARX r, r/m, vvvv: the count masked to 5 or 6 bits; no flags. */
static void h_shx(struct sw_cpu *cpu, const struct sw_insn *in, enum shx_op op)
{
	unsigned size = sw_op_size(in, 0), bits = size * 8, n;
	uint64_t v, r;

	vex_enter(cpu, in, F7_EBX_BMI2);
	v = sw_op_read(cpu, in, 1) & sw_mask(size);
	n = (unsigned)(sw_op_read(cpu, in, 2) & (bits - 1));
	switch (op) {
	case SHLX:
		r = v << n;
		break;
	case SHRX:
		r = v >> n;
		break;
	default:
		/* Sign-extend to 64 bits first so that the arithmetic shift brings in the sign. */
		r = (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
		r = (uint64_t)((int64_t)r >> n);
		break;
	}
	sw_op_write(cpu, in, 0, r & sw_mask(size));
}

static void h_shlx(struct sw_cpu *cpu, const struct sw_insn *in) { h_shx(cpu, in, SHLX); }
static void h_shrx(struct sw_cpu *cpu, const struct sw_insn *in) { h_shx(cpu, in, SHRX); }
static void h_sarx(struct sw_cpu *cpu, const struct sw_insn *in) { h_shx(cpu, in, SARX); }

/* ---- ADX ---- */

/* ADCX / ADOX r, r/m: unsigned add with carry in and out through CF (OF); nothing else. */
static void h_adx(struct sw_cpu *cpu, const struct sw_insn *in, uint64_t flag)
{
	unsigned size = sw_op_size(in, 0);
	uint64_t a, b, c, r;
	bool carry;

	vex_enter(cpu, in, F7_EBX_ADX);
	b = sw_op_read(cpu, in, 1) & sw_mask(size);
	a = sw_op_read(cpu, in, 0) & sw_mask(size);
	c = (cpu->st.rflags & flag) ? 1 : 0;
	if (size == 8) {
		r = a + b + c;
		carry = r < a || (c && r == a);
	} else {
		uint64_t s = a + b + c;

		r = (uint32_t)s;
		carry = s >> 32;
	}
	sw_op_write(cpu, in, 0, r);
	sw_set_flags(cpu, flag, carry ? flag : 0);
}

static void h_adcx(struct sw_cpu *cpu, const struct sw_insn *in) { h_adx(cpu, in, X86_RFLAGS_CF); }
static void h_adox(struct sw_cpu *cpu, const struct sw_insn *in) { h_adx(cpu, in, X86_RFLAGS_OF); }

/* ---- RDRAND / RDSEED ---- */

/*
 * The host's generator: the model advertises these only where the host
 * has them (machine/cpuid.c), and the host's CPUID is checked once more
 * here so that a model that claims them anyway gets #UD, not SIGILL.
 * CF = 1 with a value; CF = 0 and the destination zeroed when the
 * generator had none (a guest is expected to retry). OF SF ZF AF PF are
 * cleared either way.
 */
static bool host_has(unsigned leaf, unsigned reg, uint32_t bit)
{
	uint32_t r[4];

	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg] & bit;
}

static void h_rdrand_rdseed(struct sw_cpu *cpu, const struct sw_insn *in, bool seed)
{
	static int host_rdrand = -1, host_rdseed = -1;
	unsigned size = sw_op_size(in, 0);
	unsigned long long v = 0;
	int ok;

	if (seed) {
		if (!model_7ebx(F7_EBX_RDSEED))
			sw_ud(cpu);
		if (host_rdseed < 0)
			host_rdseed = host_has(7, 1, F7_EBX_RDSEED);
		if (!host_rdseed)
			sw_ud(cpu);
		ok = 0;
		__asm__ volatile("rdseed %0; setc %b1" : "=r"(v), "=q"(ok) : : "cc");
	} else {
		uint32_t r[4];

		cpuid_model_lookup(&cpuid_global, 0, 1, 0, r);
		if (!(r[2] & F1_ECX_RDRAND))
			sw_ud(cpu);
		if (host_rdrand < 0)
			host_rdrand = host_has(1, 2, F1_ECX_RDRAND);
		if (!host_rdrand)
			sw_ud(cpu);
		ok = 0;
		__asm__ volatile("rdrand %0; setc %b1" : "=r"(v), "=q"(ok) : : "cc");
	}
	ok &= 1;
	sw_op_write(cpu, in, 0, ok ? v & sw_mask(size) : 0);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, ok ? X86_RFLAGS_CF : 0);
}

static void h_rdrand(struct sw_cpu *cpu, const struct sw_insn *in) { h_rdrand_rdseed(cpu, in, false); }
static void h_rdseed(struct sw_cpu *cpu, const struct sw_insn *in) { h_rdrand_rdseed(cpu, in, true); }

void sw_register_bmi(void)
{
	sw_handlers[ZYDIS_MNEMONIC_ANDN] = h_andn;
	sw_handlers[ZYDIS_MNEMONIC_BEXTR] = h_bextr;
	sw_handlers[ZYDIS_MNEMONIC_BLSI] = h_blsi;
	sw_handlers[ZYDIS_MNEMONIC_BLSMSK] = h_blsmsk;
	sw_handlers[ZYDIS_MNEMONIC_BLSR] = h_blsr;
	sw_handlers[ZYDIS_MNEMONIC_BZHI] = h_bzhi;
	sw_handlers[ZYDIS_MNEMONIC_MULX] = h_mulx;
	sw_handlers[ZYDIS_MNEMONIC_PDEP] = h_pdep;
	sw_handlers[ZYDIS_MNEMONIC_PEXT] = h_pext;
	sw_handlers[ZYDIS_MNEMONIC_RORX] = h_rorx;
	sw_handlers[ZYDIS_MNEMONIC_SHLX] = h_shlx;
	sw_handlers[ZYDIS_MNEMONIC_SHRX] = h_shrx;
	sw_handlers[ZYDIS_MNEMONIC_SARX] = h_sarx;
	sw_handlers[ZYDIS_MNEMONIC_ADCX] = h_adcx;
	sw_handlers[ZYDIS_MNEMONIC_ADOX] = h_adox;
	sw_handlers[ZYDIS_MNEMONIC_RDRAND] = h_rdrand;
	sw_handlers[ZYDIS_MNEMONIC_RDSEED] = h_rdseed;
}
