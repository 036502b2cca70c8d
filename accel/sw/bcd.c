// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decimal adjust: DAA DAS AAA AAS AAM AAD (invalid in 64-bit mode: the
 * decoder already rejects them there, which raises #UD).
 *
 * Undefined flags as the model's vendor produces them (checked natively
 * in compatibility mode by the oracle test), so a guest sees the same
 * flags here as under KVM on the same host:
 *  - Intel: DAA/DAS clear OF; AAA/AAS set SF ZF PF from AL and clear OF;
 *  - AMD: DAA/DAS set OF as the 8-bit addition/subtraction of the
 *    correction (0, 6, 0x60 or 0x66) to AL would; AAA/AAS set SF ZF PF
 *    and OF as the 16-bit AX +/- 0x106 would (AX itself when there is no
 *    adjustment), before AL's high nibble is cleared;
 *  - both: AAM sets SF ZF PF from AL and clears OF AF CF; AAD's flags are
 *    those of its final 8-bit addition.
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"

static uint64_t al(struct sw_cpu *cpu)
{
	return cpu->st.gpr[R_AX] & 0xff;
}

static void set_al(struct sw_cpu *cpu, uint64_t v)
{
	cpu->st.gpr[R_AX] = (cpu->st.gpr[R_AX] & ~0xffull) | (v & 0xff);
}

static void set_ax(struct sw_cpu *cpu, uint64_t v)
{
	cpu->st.gpr[R_AX] = (cpu->st.gpr[R_AX] & ~0xffffull) | (v & 0xffff);
}

static bool flag(struct sw_cpu *cpu, uint64_t f)
{
	return cpu->st.rflags & f;
}

/* OF of the 8-bit AL + adj (DAA) or AL - adj (DAS): AMD's undefined OF. */
static uint64_t amd_adjust_of(uint64_t old, uint64_t adj, uint64_t res, bool sub)
{
	uint64_t ovf = sub ? (old ^ adj) & (old ^ res) : (old ^ res) & (adj ^ res);

	return sw_vendor_amd() && (ovf & 0x80) ? X86_RFLAGS_OF : 0;
}

/*
 * AAA/AAS: SF ZF PF (and OF) of the ASCII adjustment. @ax is the input,
 * @res the 16-bit AX +/- 0x106 (= @ax without adjustment), @al the final AL.
 */
static uint64_t ascii_adjust_flags(uint64_t ax, uint64_t res, uint64_t al, bool sub)
{
	uint64_t ovf;

	if (!sw_vendor_amd())
		return sw_flags_szp(al, 1);
	/* Without an adjustment res == ax: no overflow either way. */
	ovf = sub ? (ax ^ 0x106) & (ax ^ res) : (ax ^ res) & (0x106 ^ res);
	return sw_flags_szp(res, 2) | ((ovf & 0x8000) ? X86_RFLAGS_OF : 0);
}

static void h_daa(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t old = al(cpu), a = old, adj = 0, f = 0;
	bool old_cf = flag(cpu, X86_RFLAGS_CF);

	if ((a & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		adj = 6;
		f |= X86_RFLAGS_AF;
		if (old_cf || a + 6 > 0xff)
			f |= X86_RFLAGS_CF;
	}
	if (old > 0x99 || old_cf) {
		adj += 0x60;
		f |= X86_RFLAGS_CF;
	} else {
		f &= ~X86_RFLAGS_CF;
	}
	a = (old + adj) & 0xff;
	set_al(cpu, a);
	/* OF is undefined: Intel clears it, AMD sets it as AL + adj would. */
	f |= sw_flags_szp(a, 1) | amd_adjust_of(old, adj, a, false);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_das(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t old = al(cpu), a = old, adj = 0, f = 0;
	bool old_cf = flag(cpu, X86_RFLAGS_CF);

	if ((a & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		f |= X86_RFLAGS_AF;
		if (old_cf || a < 6)
			f |= X86_RFLAGS_CF;
		adj = 6;
	}
	if (old > 0x99 || old_cf) {
		adj += 0x60;
		f |= X86_RFLAGS_CF;
	}
	a = (old - adj) & 0xff;
	set_al(cpu, a);
	f |= sw_flags_szp(a, 1) | amd_adjust_of(old, adj, a, true);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_aaa(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t ax = cpu->st.gpr[R_AX] & 0xffff, res = ax, f = 0;

	if ((ax & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		res = (ax + 0x106) & 0xffff;
		f = X86_RFLAGS_AF | X86_RFLAGS_CF;
	}
	set_ax(cpu, res & 0xff0f);
	f |= ascii_adjust_flags(ax, res, res & 0x0f, false);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_aas(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t ax = cpu->st.gpr[R_AX] & 0xffff, res = ax, f = 0;

	if ((ax & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		res = (ax - 0x106) & 0xffff;
		f = X86_RFLAGS_AF | X86_RFLAGS_CF;
	}
	set_ax(cpu, res & 0xff0f);
	f |= ascii_adjust_flags(ax, res, res & 0x0f, true);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_aam(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t base = sw_op_read(cpu, in, 0) & 0xff, a = al(cpu);

	if (!base)
		sw_raise(cpu, X86_DE);
	set_ax(cpu, ((a / base) << 8) | (a % base));
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, sw_flags_szp(a % base, 1));
}

/* AL = AL + AH * imm8, AH = 0; the flags are those of that final 8-bit addition. */
static void h_aad(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t base = sw_op_read(cpu, in, 0) & 0xff;
	uint64_t ax = cpu->st.gpr[R_AX];
	uint64_t a = sw_alu_add(cpu, ax & 0xff, (((ax >> 8) & 0xff) * base) & 0xff, 0, 1);

	set_ax(cpu, a);
}

void sw_register_bcd(void)
{
	sw_handlers[ZYDIS_MNEMONIC_DAA] = h_daa;
	sw_handlers[ZYDIS_MNEMONIC_DAS] = h_das;
	sw_handlers[ZYDIS_MNEMONIC_AAA] = h_aaa;
	sw_handlers[ZYDIS_MNEMONIC_AAS] = h_aas;
	sw_handlers[ZYDIS_MNEMONIC_AAM] = h_aam;
	sw_handlers[ZYDIS_MNEMONIC_AAD] = h_aad;
}
