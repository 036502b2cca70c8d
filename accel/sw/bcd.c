// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decimal adjust: DAA DAS AAA AAS AAM AAD (invalid in 64-bit mode: the
 * decoder already rejects them there, which raises #UD).
 *
 * Undefined flags as Intel produces them (checked natively in
 * compatibility mode by the oracle test): DAA/DAS clear OF; AAA/AAS set
 * SF ZF PF from AL and clear OF; AAM sets SF ZF PF from AL and clears
 * OF AF CF; AAD's flags are those of its final 8-bit addition.
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

static void h_daa(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t old = al(cpu), a = old, f = 0;
	bool old_cf = flag(cpu, X86_RFLAGS_CF);

	if ((a & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		a += 6;
		f |= X86_RFLAGS_AF;
		if (old_cf || a > 0xff)
			f |= X86_RFLAGS_CF;
	}
	if (old > 0x99 || old_cf) {
		a += 0x60;
		f |= X86_RFLAGS_CF;
	} else {
		f &= ~X86_RFLAGS_CF;
	}
	a &= 0xff;
	set_al(cpu, a);
	/* OF is undefined: Intel clears it. */
	f |= sw_flags_szp(a, 1);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_das(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t old = al(cpu), a = old, f = 0;
	bool old_cf = flag(cpu, X86_RFLAGS_CF);

	if ((a & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		f |= X86_RFLAGS_AF;
		if (old_cf || a < 6)
			f |= X86_RFLAGS_CF;
		a -= 6;
	}
	if (old > 0x99 || old_cf) {
		a -= 0x60;
		f |= X86_RFLAGS_CF;
	}
	a &= 0xff;
	set_al(cpu, a);
	f |= sw_flags_szp(a, 1);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_aaa(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t ax = cpu->st.gpr[R_AX] & 0xffff, f;

	if ((ax & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		ax += 0x106;
		f = X86_RFLAGS_AF | X86_RFLAGS_CF;
	} else {
		f = 0;
	}
	ax &= 0xff0f;
	set_ax(cpu, ax);
	f |= sw_flags_szp(ax & 0xff, 1);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
}

static void h_aas(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t ax = cpu->st.gpr[R_AX] & 0xffff, f;

	if ((ax & 0xf) > 9 || flag(cpu, X86_RFLAGS_AF)) {
		ax -= 6;
		ax -= 0x100;
		f = X86_RFLAGS_AF | X86_RFLAGS_CF;
	} else {
		f = 0;
	}
	ax &= 0xff0f;
	set_ax(cpu, ax);
	f |= sw_flags_szp(ax & 0xff, 1);
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
