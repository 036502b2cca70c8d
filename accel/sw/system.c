// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * System instructions of the software CPU: control and debug registers,
 * descriptor-table registers, MSRs, CPUID, the TSC, fast system calls,
 * port I/O with its protection checks, CLI/STI/HLT, cache and TLB
 * maintenance.
 *
 * The CPU model (machine/cpuid.c) decides what exists: CR4 bits, EFER
 * bits, RDTSCP, RDPID, INVPCID, CLFLUSHOPT, STAC/CLAC, RDPKRU/WRPKRU and
 * IA32_PKRS are accepted only when the model advertises them, so the
 * guest sees the same CPU as under KVM.
 * Where AMD and Intel differ (SYSCALL/SYSRET outside 64-bit mode,
 * SYSENTER in long mode) the model's vendor (the host's) decides.
 *
 * Simplifications (documented, guest-visible only to a debugger or a
 * cache-aware test): DR0-DR3/DR7 are stored but breakpoints never fire;
 * MTRRs read as zero and writes are dropped (the model has no MTRR bit);
 * caches do not exist, so WBINVD/INVD/CLFLUSH only check their operand.
 */
#include <inttypes.h>
#include <x86intrin.h>

#include "accel/sw/core.h"
#include "accel/sw/icount.h"
#include "accel/sw/sys.h"
#include "machine/bus.h"
#include "machine/cpuid.h"
#include "machine/irq.h"

/* ---- the CPU model ---- */

uint32_t sw_cpuid_reg(uint32_t leaf, uint32_t subleaf, unsigned reg)
{
	uint32_t out[4];

	cpuid_model_lookup(&cpuid_global, 0, leaf, subleaf, out);
	return out[reg & 3];
}

enum { EAX, EBX, ECX, EDX };

static bool has(uint32_t leaf, unsigned reg, unsigned bit)
{
	if (leaf >= 0x80000000u && sw_cpuid_reg(0x80000000u, 0, EAX) < leaf)
		return false;
	if (leaf < 0x80000000u && sw_cpuid_reg(0, 0, EAX) < leaf)
		return false;
	return sw_cpuid_reg(leaf, 0, reg) & (1u << bit);
}

/* Feature bits not named in machine/cpuid.h. */
#define F1_EDX_MCE	7
#define F1_ECX_PCID	17
#define F1_ECX_X2APIC	21
#define F1_ECX_TSC_DEADLINE 24
#define F1_ECX_XSAVE	26
#define F1_ECX_OSXSAVE	27
#define F7_EBX_FSGSBASE	0
#define F7_EBX_SMEP	7
#define F7_EBX_INVPCID	10
#define F7_EBX_SMAP	20
#define F7_EBX_CLFLUSHOPT 23
#define F7_ECX_UMIP	2
#define F7_ECX_PKU	3
#define F7_ECX_OSPKE	4
#define F7_ECX_PKS	31
#define F7_ECX_RDPID	22
#define F81_EDX_RDTSCP	27

static bool has_bit(uint32_t leaf, unsigned reg, uint32_t mask)
{
	return has(leaf, reg, __builtin_ctz(mask));
}

uint64_t sw_cr4_valid_bits(void)
{
	uint64_t v = X86_CR4_PCE;

	if (has_bit(1, EDX, CPUID_1_EDX_VME))
		v |= X86_CR4_VME | X86_CR4_PVI;
	if (has_bit(1, EDX, CPUID_1_EDX_DE))
		v |= X86_CR4_DE;
	if (has_bit(1, EDX, CPUID_1_EDX_TSC))
		v |= X86_CR4_TSD;
	if (has_bit(1, EDX, CPUID_1_EDX_PSE))
		v |= X86_CR4_PSE;
	if (has_bit(1, EDX, CPUID_1_EDX_PAE))
		v |= X86_CR4_PAE;
	if (has(1, EDX, F1_EDX_MCE))
		v |= X86_CR4_MCE;
	if (has_bit(1, EDX, CPUID_1_EDX_PGE))
		v |= X86_CR4_PGE;
	if (has_bit(1, EDX, CPUID_1_EDX_FXSR))
		v |= X86_CR4_OSFXSR;
	if (has_bit(1, EDX, CPUID_1_EDX_SSE))
		v |= X86_CR4_OSXMMEXCPT;
	if (has(1, ECX, F1_ECX_PCID))
		v |= X86_CR4_PCIDE;
	if (has(1, ECX, F1_ECX_XSAVE))
		v |= X86_CR4_OSXSAVE;
	if (has(7, EBX, F7_EBX_FSGSBASE))
		v |= X86_CR4_FSGSBASE;
	if (has(7, EBX, F7_EBX_SMEP))
		v |= X86_CR4_SMEP;
	if (has(7, EBX, F7_EBX_SMAP))
		v |= X86_CR4_SMAP;
	if (has(7, ECX, F7_ECX_UMIP))
		v |= X86_CR4_UMIP;
	if (has(7, ECX, F7_ECX_PKU))
		v |= X86_CR4_PKE;
	if (has(7, ECX, F7_ECX_PKS))
		v |= X86_CR4_PKS;
	return v;
}

/* "AuthenticAMD" (and Hygon, an AMD design). */
bool sw_vendor_amd(void)
{
	uint32_t b = sw_cpuid_reg(0, 0, EBX);

	return b == 0x68747541u || b == 0x6f677948u;
}

static unsigned maxphyaddr(void)
{
	unsigned m = 36;

	if (sw_cpuid_reg(0x80000000u, 0, EAX) >= 0x80000008u)
		m = sw_cpuid_reg(0x80000008u, 0, EAX) & 0xff;
	return m >= 32 && m <= 52 ? m : 36;
}

/* ---- helpers ---- */

static void need_cpl0(struct sw_cpu *cpu)
{
	if (sw_cpl(cpu) != 0)
		sw_gp0(cpu);
}

static void need_protected(struct sw_cpu *cpu)
{
	if (!sw_protected(cpu) || sw_vm86(cpu))
		sw_ud(cpu);
}

/* SGDT, SIDT, SLDT, STR, SMSW at CPL > 0 with CR4.UMIP. */
static void umip_check(struct sw_cpu *cpu)
{
	if ((cpu->st.cr4 & X86_CR4_UMIP) && sw_cpl(cpu) > 0)
		sw_gp0(cpu);
}

static unsigned iopl(const struct sw_cpu *cpu)
{
	return (cpu->st.rflags >> 12) & 3;
}

static void set_flat(struct x86_seg *s, uint16_t sel, uint32_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attr = attr;
}

/* Flat segment attributes of SYSCALL/SYSENTER and their returns (G, P, S, accessed). */
#define ATTR_CODE64(dpl)	(0xa09bu | ((dpl) << 5))	/* L=1 */
#define ATTR_CODE32(dpl)	(0xc09bu | ((dpl) << 5))	/* D=1 */
#define ATTR_DATA(dpl)		(0xc093u | ((dpl) << 5))	/* B=1 */

static bool is_memory(const struct sw_insn *in, unsigned i)
{
	return in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

/* ---- interrupts flag, HLT ---- */

static void if_check(struct sw_cpu *cpu)
{
	/* No VME/PVI in the model: IOPL alone decides. */
	if (sw_protected(cpu) && iopl(cpu) < (sw_vm86(cpu) ? 3u : sw_cpl(cpu)))
		sw_gp0(cpu);
}

static void h_cli(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if_check(cpu);
	cpu->st.rflags &= ~X86_RFLAGS_IF;
}

static void h_sti(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if_check(cpu);
	/* Interrupts stay blocked until after the next instruction (STI; HLT / STI; RET). */
	if (!(cpu->st.rflags & X86_RFLAGS_IF))
		cpu->st.int_shadow = true;
	cpu->st.rflags |= X86_RFLAGS_IF;
}

/* STAC/CLAC: EFLAGS.AC, the SMAP override; ring 0 only, and only with SMAP in the model. */
static void h_stac_clac(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!has(7, EBX, F7_EBX_SMAP))
		sw_ud(cpu);
	if (sw_cpl(cpu) != 0)
		sw_ud(cpu);
	if (in->zi.mnemonic == ZYDIS_MNEMONIC_STAC)
		cpu->st.rflags |= X86_RFLAGS_AC;
	else
		cpu->st.rflags &= ~X86_RFLAGS_AC;
}

/*
 * HLT: the loop (cpu.c) sees st.halted at the next boundary, delivers an
 * interrupt if one is deliverable (IF=1, no shadow) and otherwise returns
 * VCPU_STOP_HALT, so the halt never misses an interrupt already pending.
 */
static void h_hlt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	need_cpl0(cpu);
	cpu->st.halted = true;
}

/* ---- control registers ---- */

#define CR0_BITS (X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | \
		  X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)

static bool pae_legacy_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & X86_EFER_LME);
}

static void write_cr0(struct sw_cpu *cpu, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	uint64_t old = st->cr0, old_efer = st->efer, efer = st->efer;

	if (v >> 32)
		sw_gp0(cpu);
	/* Reserved bits of CR0[31:0] are ignored; ET is hardwired to 1. */
	v = (v & CR0_BITS) | X86_CR0_ET;
	if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
		sw_gp0(cpu);
	if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
		sw_gp0(cpu);
	if (!(old & X86_CR0_PG) && (v & X86_CR0_PG) && (efer & X86_EFER_LME)) {
		/* Long mode activation needs PAE paging. */
		if (!(st->cr4 & X86_CR4_PAE))
			sw_gp0(cpu);
		efer |= X86_EFER_LMA;
	}
	if ((old & X86_CR0_PG) && !(v & X86_CR0_PG) && (efer & X86_EFER_LMA)) {
		/* Leaving long mode is only possible from compatibility mode. */
		if (sw_64bit(cpu))
			sw_gp0(cpu);
		efer &= ~X86_EFER_LMA;
	}
	/* PAE paging loads the PDPTEs when PG, CD or NW changes. */
	if (pae_legacy_paging(v, st->cr4, efer) &&
	    ((old ^ v) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW)) &&
	    !sw_mmu_pdptes_valid(cpu, st->cr3))
		sw_gp0(cpu);
	st->cr0 = v;
	st->efer = efer;
	if (((old ^ v) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE | X86_CR0_CD | X86_CR0_NW)) ||
	    efer != old_efer)
		sw_mmu_paging_changed(cpu);
}

static void write_cr3(struct sw_cpu *cpu, uint64_t v)
{
	struct x86_state *st = &cpu->st;

	if (sw_long_mode(cpu)) {
		/* With PCIDE, bit 63 asks not to flush: never stored. */
		if (st->cr4 & X86_CR4_PCIDE)
			v &= ~(1ull << 63);
		if (v >> maxphyaddr())
			sw_gp0(cpu);
	} else {
		v &= 0xffffffffu;
		if (pae_legacy_paging(st->cr0, st->cr4, st->efer) && !sw_mmu_pdptes_valid(cpu, v))
			sw_gp0(cpu);
	}
	st->cr3 = v;
	sw_mmu_cr3_written(cpu);
}

static void write_cr4(struct sw_cpu *cpu, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	uint64_t old = st->cr4;

	if (v & ~sw_cr4_valid_bits())
		sw_gp0(cpu);
	if (sw_long_mode(cpu) && !(v & X86_CR4_PAE))
		sw_gp0(cpu);
	if ((v & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    (!sw_long_mode(cpu) || (st->cr3 & 0xfff)))
		sw_gp0(cpu);
	if (pae_legacy_paging(st->cr0, v, st->efer) &&
	    ((old ^ v) & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP)) &&
	    !sw_mmu_pdptes_valid(cpu, st->cr3))
		sw_gp0(cpu);
	st->cr4 = v;
	if ((old ^ v) & (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE |
			 X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS))
		sw_mmu_paging_changed(cpu);
}

static bool is_cr(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15;
}

void sw_mov_cr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool to_cr = in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER && is_cr(in->op[0].reg.value);
	ZydisRegister cr = in->op[to_cr ? 0 : 1].reg.value;
	ZydisRegister gpr = in->op[to_cr ? 1 : 0].reg.value;
	unsigned n = cr - ZYDIS_REGISTER_CR0;
	uint64_t v;

	if (n != 0 && n != 2 && n != 3 && n != 4 && !(n == 8 && sw_64bit(cpu)))
		sw_ud(cpu);
	need_cpl0(cpu);
	if (!to_cr) {
		switch (n) {
		case 0: v = cpu->st.cr0; break;
		case 2: v = cpu->st.cr2; break;
		case 3: v = cpu->st.cr3; break;
		case 4: v = cpu->st.cr4; break;
		default: v = cpu->st.cr8; break;
		}
		sw_reg_write(cpu, gpr, v);
		return;
	}
	v = sw_reg_read(cpu, gpr);
	switch (n) {
	case 0:
		write_cr0(cpu, v);
		break;
	case 2:
		cpu->st.cr2 = v;
		break;
	case 3:
		write_cr3(cpu, v);
		break;
	case 4:
		write_cr4(cpu, v);
		break;
	default:
		if (v & ~0xfull)
			sw_gp0(cpu);
		cpu->st.cr8 = v;
		break;
	}
}

/* DR0-3 and DR7 are stored; no breakpoint ever fires (documented limitation). */
void sw_mov_dr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	bool to_dr = in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		     in->op[0].reg.value >= ZYDIS_REGISTER_DR0 &&
		     in->op[0].reg.value <= ZYDIS_REGISTER_DR7;
	unsigned n = in->op[to_dr ? 0 : 1].reg.value - ZYDIS_REGISTER_DR0;
	ZydisRegister gpr = in->op[to_dr ? 1 : 0].reg.value;
	uint64_t v;

	need_cpl0(cpu);
	if (n == 4 || n == 5) {
		/* DR4/DR5 alias DR6/DR7 unless CR4.DE. */
		if (cpu->st.cr4 & X86_CR4_DE)
			sw_ud(cpu);
		n += 2;
	}
	n &= 7;
	if (!to_dr) {
		v = cpu->st.dr[n];
		if (n == 6)
			v |= 0xffff0ff0u;
		else if (n == 7)
			v |= 0x400;
		sw_reg_write(cpu, gpr, v);
		return;
	}
	v = sw_reg_read(cpu, gpr);
	if ((n == 6 || n == 7) && (v >> 32))
		sw_gp0(cpu);
	if (n == 6)
		v = (v & 0xe00f) | 0xffff0ff0u;
	else if (n == 7)
		v = (v & 0xffff23ffu) | 0x400;
	else if (!sw_64bit(cpu))
		v &= 0xffffffffu;
	cpu->st.dr[n] = v;
}

static void h_clts(struct sw_cpu *cpu, const struct sw_insn *in)
{
	need_cpl0(cpu);
	cpu->st.cr0 &= ~X86_CR0_TS;
}

/* LMSW loads PE MP EM TS; it can set PE but never clear it. */
static void h_lmsw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t v;

	need_cpl0(cpu);
	v = sw_op_read(cpu, in, 0) & 0xf;
	cpu->st.cr0 = (cpu->st.cr0 & ~(uint64_t)0xe) | v;
}

static void h_smsw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	umip_check(cpu);
	sw_op_write(cpu, in, 0, cpu->st.cr0 & sw_mask(sw_op_size(in, 0)));
}

/* ---- descriptor-table registers ---- */

static void h_lgdt_lidt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_dtable *t = in->zi.mnemonic == ZYDIS_MNEMONIC_LGDT ? &cpu->st.gdt : &cpu->st.idt;
	uint64_t ea, amask, base;
	enum x86_sreg seg;
	uint16_t limit;

	if (!is_memory(in, 0))
		sw_ud(cpu);
	need_cpl0(cpu);
	ea = sw_op_ea(cpu, in, 0);
	seg = sw_op_seg(in, 0);
	amask = sw_mask(in->zi.address_width / 8);
	limit = sw_read(cpu, seg, ea, 2);
	if (sw_64bit(cpu)) {
		base = sw_read(cpu, seg, (ea + 2) & amask, 8);
		if (!sw_canonical(base))
			sw_gp0(cpu);
	} else {
		base = sw_read(cpu, seg, (ea + 2) & amask, 4);
		/* A 16-bit operand size loads 24 bits of base. */
		if (in->zi.operand_width == 16)
			base &= 0xffffff;
	}
	t->base = base;
	t->limit = limit;
}

static void h_sgdt_sidt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	const struct x86_dtable *t = in->zi.mnemonic == ZYDIS_MNEMONIC_SGDT ? &cpu->st.gdt :
					&cpu->st.idt;
	uint64_t ea, amask;
	enum x86_sreg seg;

	if (!is_memory(in, 0))
		sw_ud(cpu);
	umip_check(cpu);
	ea = sw_op_ea(cpu, in, 0);
	seg = sw_op_seg(in, 0);
	amask = sw_mask(in->zi.address_width / 8);
	/* Check the base's bytes first so the limit is not written alone. */
	sw_seg_linear(cpu, seg, (ea + 2) & amask, sw_64bit(cpu) ? 8 : 4, SW_ACC_WRITE);
	sw_write(cpu, seg, ea, t->limit, 2);
	sw_write(cpu, seg, (ea + 2) & amask, t->base, sw_64bit(cpu) ? 8 : 4);
}

/* LLDT / LTR: a system descriptor from the GDT (16 bytes in long mode). */
static void fetch_sys_desc(struct sw_cpu *cpu, uint16_t sel, struct sw_desc *d,
			   struct x86_seg *s)
{
	bool lm = sw_long_mode(cpu);

	if (sel & 4)
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!sw_desc_fetch(cpu, sel, d, lm))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	s->sel = sel;
	s->base = sw_desc_base(d);
	s->limit = sw_desc_limit(d);
	s->attr = (d->hi >> 8) & 0xf0ff;
	if (lm) {
		/* The upper half's type field must be zero; the base must be canonical. */
		s->base |= (uint64_t)d->hi2 << 32;
		if (((d->hi3 >> 8) & 0x1f) || !sw_canonical(s->base))
			sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	}
}

static void h_lldt(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct sw_desc d;
	struct x86_seg s;
	uint16_t sel;

	need_protected(cpu);
	need_cpl0(cpu);
	sel = sw_op_read(cpu, in, 0) & 0xffff;
	if (!(sel & ~3u)) {
		sw_seg_set_null(&cpu->st.ldt, sel, 0);
		return;
	}
	fetch_sys_desc(cpu, sel, &d, &s);
	if (SW_DESC_S(&d) || SW_DESC_TYPE(&d) != SW_SYS_LDT)
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	cpu->st.ldt = s;
}

static void h_ltr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct sw_desc d;
	struct x86_seg s;
	uint16_t sel;
	unsigned type;

	need_protected(cpu);
	need_cpl0(cpu);
	sel = sw_op_read(cpu, in, 0) & 0xffff;
	if (!(sel & ~3u))
		sw_gp0(cpu);
	fetch_sys_desc(cpu, sel, &d, &s);
	type = SW_DESC_TYPE(&d);
	/* An available TSS: 32/64-bit, or 16-bit outside long mode. */
	if (SW_DESC_S(&d) ||
	    !(type == SW_SYS_TSS32 || (type == SW_SYS_TSS16 && !sw_long_mode(cpu))))
		sw_raise_err(cpu, X86_GP, sw_sel_err(sel, 0));
	if (!SW_DESC_P(&d))
		sw_raise_err(cpu, X86_NP, sw_sel_err(sel, 0));
	/* Mark it busy in the GDT (type bit 1). */
	d.hi |= 0x200;
	sw_write_lin(cpu, d.la + 5, (d.hi >> 8) & 0xff, 1, SW_ACC_WRITE | SW_ACC_SYS);
	s.attr |= 0x2;
	cpu->st.tr = s;
}

static void h_sldt_str(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint16_t sel = in->zi.mnemonic == ZYDIS_MNEMONIC_SLDT ? cpu->st.ldt.sel : cpu->st.tr.sel;

	need_protected(cpu);
	umip_check(cpu);
	/* A register destination gets the selector zero-extended. */
	sw_op_write(cpu, in, 0, sel);
}

/* ---- TLB and caches ---- */

static void h_invlpg(struct sw_cpu *cpu, const struct sw_insn *in)
{
	enum x86_sreg seg;
	uint64_t la;

	if (!is_memory(in, 0))
		sw_ud(cpu);
	need_cpl0(cpu);
	seg = sw_op_seg(in, 0);
	la = sw_op_ea(cpu, in, 0);
	/* No segment checks, and a non-canonical address is simply a no-op. */
	if (!sw_64bit(cpu) || seg == S_FS || seg == S_GS)
		la += cpu->st.seg[seg].base;
	if (!sw_64bit(cpu))
		la &= 0xffffffffu;
	sw_mmu_invlpg(cpu, la);
}

static void h_invpcid(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t type, desc[2], ea, amask;
	enum x86_sreg seg;

	if (!has(7, EBX, F7_EBX_INVPCID) || !is_memory(in, 1))
		sw_ud(cpu);
	need_cpl0(cpu);
	type = sw_op_read(cpu, in, 0);
	ea = sw_op_ea(cpu, in, 1);
	seg = sw_op_seg(in, 1);
	amask = sw_mask(in->zi.address_width / 8);
	desc[0] = sw_read(cpu, seg, ea, 8);
	desc[1] = sw_read(cpu, seg, (ea + 8) & amask, 8);
	if (type > 3 || (desc[0] >> 12))
		sw_gp0(cpu);
	if (type == 0 && !sw_canonical(desc[1]))
		sw_gp0(cpu);
	/* Individual address: that page; any other type: everything (a superset). */
	if (type == 0)
		sw_mmu_invlpg(cpu, desc[1]);
	else
		sw_mmu_flush_all(cpu);
}

static void h_wbinvd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	need_cpl0(cpu);
}

/* CLFLUSH/CLFLUSHOPT fault like a byte read of their operand, and nothing else. */
static void h_clflush(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t la, gpa;

	if (in->zi.mnemonic == ZYDIS_MNEMONIC_CLFLUSHOPT && !has(7, EBX, F7_EBX_CLFLUSHOPT))
		sw_ud(cpu);
	if (!is_memory(in, 0))
		sw_ud(cpu);
	la = sw_seg_linear(cpu, sw_op_seg(in, 0), sw_op_ea(cpu, in, 0), 1, SW_ACC_READ);
	sw_mmu_translate(cpu, la, SW_ACC_READ, &gpa);
}

static void h_mfence(struct sw_cpu *cpu, const struct sw_insn *in)
{
	/* Other vCPUs are host threads: give them the host's full barrier. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void h_nop(struct sw_cpu *cpu, const struct sw_insn *in)
{
}

/* ---- CPUID, TSC ---- */

static void h_cpuid(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t out[4];
	unsigned apic_id = cpu->vcpu ? cpu->vcpu->id : 0;

	cpuid_model_lookup(&cpuid_global, apic_id, (uint32_t)cpu->st.gpr[R_AX],
			   (uint32_t)cpu->st.gpr[R_CX], out);
	if ((uint32_t)cpu->st.gpr[R_AX] == 1) {
		out[ECX] &= ~(1u << F1_ECX_OSXSAVE);
		if (cpu->st.cr4 & X86_CR4_OSXSAVE)
			out[ECX] |= 1u << F1_ECX_OSXSAVE;
	}
	/*
	 * The XSAVE area's size for the vCPU's XCR0, standard (subleaf 0) and
	 * compacted (1, with XSAVEC), as KVM gives it too (accel/sw/xsave.c).
	 */
	if ((uint32_t)cpu->st.gpr[R_AX] == 0xd && sw_cpuid_reg(0, 0, EAX) >= 0xd &&
	    (((uint32_t)cpu->st.gpr[R_CX] == 0 && out[EAX]) ||
	     ((uint32_t)cpu->st.gpr[R_CX] == 1 && (out[EAX] & CPUID_D1_EAX_XSAVEC))))
		out[EBX] = sw_xsave_area_size(cpu->st.xcr0);
	/* OSPKE mirrors CR4.PKE, as OSXSAVE mirrors CR4.OSXSAVE. */
	if ((uint32_t)cpu->st.gpr[R_AX] == 7 && (uint32_t)cpu->st.gpr[R_CX] == 0 &&
	    sw_cpuid_reg(0, 0, EAX) >= 7) {
		out[ECX] &= ~(1u << F7_ECX_OSPKE);
		if (cpu->st.cr4 & X86_CR4_PKE)
			out[ECX] |= 1u << F7_ECX_OSPKE;
	}
	cpu->st.gpr[R_AX] = out[EAX];
	cpu->st.gpr[R_BX] = out[EBX];
	cpu->st.gpr[R_CX] = out[ECX];
	cpu->st.gpr[R_DX] = out[EDX];
}

uint64_t sw_rdtsc(struct sw_cpu *cpu)
{
	return sw_tsc_base(cpu) + cpu->tsc_offset;
}

static void h_rdtsc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t t;

	if (in->zi.mnemonic == ZYDIS_MNEMONIC_RDTSCP && !has(0x80000001u, EDX, F81_EDX_RDTSCP))
		sw_ud(cpu);
	if ((cpu->st.cr4 & X86_CR4_TSD) && sw_cpl(cpu) > 0)
		sw_gp0(cpu);
	t = sw_rdtsc(cpu);
	cpu->st.gpr[R_AX] = (uint32_t)t;
	cpu->st.gpr[R_DX] = t >> 32;
	if (in->zi.mnemonic == ZYDIS_MNEMONIC_RDTSCP)
		cpu->st.gpr[R_CX] = (uint32_t)cpu->st.msr.tsc_aux;
}

static void h_rdpid(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!has(7, ECX, F7_ECX_RDPID))
		sw_ud(cpu);
	sw_op_write(cpu, in, 0, (uint32_t)cpu->st.msr.tsc_aux);
}

/*
 * RDPKRU/WRPKRU (any CPL): #UD without CR4.PKE, #GP unless ECX (and for
 * WRPKRU EDX) is 0. PKRU is folded into the MMU's cached permissions, so
 * a change flushes them (mmu.c).
 */
static void h_rdpkru(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if (!has(7, ECX, F7_ECX_PKU) || !(cpu->st.cr4 & X86_CR4_PKE))
		sw_ud(cpu);
	if ((uint32_t)cpu->st.gpr[R_CX])
		sw_gp0(cpu);
	cpu->st.gpr[R_AX] = cpu->st.pkru;
	cpu->st.gpr[R_DX] = 0;
}

static void h_wrpkru(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t v = (uint32_t)cpu->st.gpr[R_AX];

	if (!has(7, ECX, F7_ECX_PKU) || !(cpu->st.cr4 & X86_CR4_PKE))
		sw_ud(cpu);
	if ((uint32_t)cpu->st.gpr[R_CX] || (uint32_t)cpu->st.gpr[R_DX])
		sw_gp0(cpu);
	if (v != cpu->st.pkru) {
		cpu->st.pkru = v;
		sw_mmu_paging_changed(cpu);
	}
}

/* ---- performance counters ---- */

/*
 * What the model advertises, the software CPU implements: on Intel
 * models with leaf 0xa, the architectural PMU version 2 with two general
 * counters (IA32_PMC0/1, IA32_PERFEVTSEL0/1) and fixed counter 0; on AMD
 * models the four legacy counters (PERF_CTL0-3/PERF_CTR0-3 at
 * 0xc0010000), which every AMD CPU has. All 48 bits wide. The one event
 * counted is "instructions retired" (event 0xc0, unit mask 0, the fixed
 * counter's), with the USR/OS filters; other events are accepted and
 * never count (leaf 0xa's EBX says they are unavailable). Counting
 * interprets every instruction (cpu->pmu_on keeps the translator off),
 * so counts are exact. Limits: no overflow interrupt (LVT PMC); an
 * overflow sets the status bit only; no counter-mask/edge/invert logic.
 */
#define PMU_WIDTH_MASK		((1ull << 48) - 1)
#define EVTSEL_USR		(1ull << 16)
#define EVTSEL_OS		(1ull << 17)
#define EVTSEL_EN		(1ull << 22)
#define EVENT_INSNS		0xc0u
#define MSR_PMC0		0xc1u
#define MSR_PERFEVTSEL0		0x186u
#define MSR_FIXED_CTR0		0x309u
#define MSR_FIXED_CTR_CTRL	0x38du
#define MSR_PERF_GLOBAL_STATUS	0x38eu
#define MSR_PERF_GLOBAL_CTRL	0x38fu
#define MSR_PERF_GLOBAL_OVF_CTRL 0x390u
#define MSR_AMD_PERF_CTL0	0xc0010000u
#define MSR_AMD_PERF_CTR0	0xc0010004u
#define GLOBAL_FIXED0		(1ull << 32)

/* General counters of the model: 2 (Intel, leaf 0xa), 4 (AMD), or 0. */
static unsigned pmu_gp(void)
{
	if (sw_vendor_amd())
		return 4;
	if (sw_cpuid_reg(0, 0, EAX) < 0xa || !(sw_cpuid_reg(0xa, 0, EAX) & 0xff))
		return 0;
	return (sw_cpuid_reg(0xa, 0, EAX) >> 8) & 0xff;
}

static bool pmu_fixed(void)
{
	return !sw_vendor_amd() && pmu_gp() && (sw_cpuid_reg(0xa, 0, EDX) & 0x1f) >= 1;
}

static bool sel_counts(uint64_t sel)
{
	/* Event select 0xc0 (AMD: bits 35:32 of the event too), unit mask 0, enabled. */
	return (sel & EVTSEL_EN) && (sel & 0xffff) == EVENT_INSNS && !((sel >> 32) & 0xf);
}

void sw_pmu_update(struct sw_cpu *cpu)
{
	const struct x86_pmu *p = &cpu->st.pmu;
	unsigned n = pmu_gp();
	bool amd = sw_vendor_amd(), on = false;

	for (unsigned i = 0; i < n && i < 4; i++)
		if (sel_counts(p->sel[i]) && (amd || (p->global_ctrl & (1ull << i))))
			on = true;
	if (pmu_fixed() && (p->fixed_ctrl & 3) && (p->global_ctrl & GLOBAL_FIXED0))
		on = true;
	cpu->pmu_on = on;
}

static void count(uint64_t *ctr, uint64_t *status, uint64_t bit)
{
	*ctr = (*ctr + 1) & PMU_WIDTH_MASK;
	if (!*ctr)
		*status |= bit;
}

void sw_pmu_retire(struct sw_cpu *cpu)
{
	struct x86_pmu *p = &cpu->st.pmu;
	bool user = sw_cpl(cpu) == 3, amd = sw_vendor_amd();
	uint64_t cpl_bit = user ? EVTSEL_USR : EVTSEL_OS;
	unsigned n = pmu_gp();

	for (unsigned i = 0; i < n && i < 4; i++)
		if (sel_counts(p->sel[i]) && (p->sel[i] & cpl_bit) &&
		    (amd || (p->global_ctrl & (1ull << i))))
			count(&p->ctr[i], &p->global_status, 1ull << i);
	if (!amd && (p->fixed_ctrl & (user ? 2 : 1)) && (p->global_ctrl & GLOBAL_FIXED0) &&
	    pmu_fixed())
		count(&p->fixed_ctr0, &p->global_status, GLOBAL_FIXED0);
}

/* The counter MSRs: true if @idx is one (then *@v read, or @v written; *@ok false: #GP). */
static bool pmu_msr(struct sw_cpu *cpu, uint32_t idx, bool write, uint64_t *v, bool *ok)
{
	struct x86_pmu *p = &cpu->st.pmu;
	unsigned n = pmu_gp();
	uint64_t *reg = NULL, rsvd = 0;

	*ok = true;
	if (sw_vendor_amd()) {
		if (idx >= MSR_AMD_PERF_CTL0 && idx < MSR_AMD_PERF_CTL0 + 4)
			reg = &p->sel[idx - MSR_AMD_PERF_CTL0];
		else if (idx >= MSR_AMD_PERF_CTR0 && idx < MSR_AMD_PERF_CTR0 + 4)
			reg = &p->ctr[idx - MSR_AMD_PERF_CTR0], rsvd = ~PMU_WIDTH_MASK;
		else
			return false;
	} else if (!n) {
		return false;
	} else if (idx >= MSR_PMC0 && idx < MSR_PMC0 + n) {
		reg = &p->ctr[idx - MSR_PMC0];
		/* Legacy writes: the low 32 bits, sign-extended to the width. */
		if (write)
			*v = (uint64_t)(int64_t)(int32_t)*v & PMU_WIDTH_MASK;
	} else if (idx >= MSR_PERFEVTSEL0 && idx < MSR_PERFEVTSEL0 + n) {
		reg = &p->sel[idx - MSR_PERFEVTSEL0];
		rsvd = ~0xffffffffull;
	} else if (idx == MSR_FIXED_CTR0 && pmu_fixed()) {
		reg = &p->fixed_ctr0;
		rsvd = ~PMU_WIDTH_MASK;
	} else if (idx == MSR_FIXED_CTR_CTRL && pmu_fixed()) {
		reg = &p->fixed_ctrl;
		rsvd = ~0xfull;
	} else if (idx == MSR_PERF_GLOBAL_CTRL) {
		reg = &p->global_ctrl;
		rsvd = ~(((1ull << n) - 1) | (pmu_fixed() ? GLOBAL_FIXED0 : 0));
	} else if (idx == MSR_PERF_GLOBAL_STATUS) {
		if (write) {
			*ok = false;		/* read-only */
			return true;
		}
		reg = &p->global_status;
	} else if (idx == MSR_PERF_GLOBAL_OVF_CTRL) {
		if (write) {
			if (*v & ~(((1ull << n) - 1) | GLOBAL_FIXED0))
				*ok = false;
			else
				p->global_status &= ~*v;
		} else {
			*v = 0;
		}
		return true;
	} else {
		return false;
	}
	if (!write) {
		*v = *reg;
		return true;
	}
	if (*v & rsvd) {
		*ok = false;
		return true;
	}
	*reg = *v;
	sw_pmu_update(cpu);
	return true;
}

/*
 * RDPMC: ECX selects a general counter, or with bit 30 (Intel) a fixed
 * one; outside ring 0 only with CR4.PCE. An index the model lacks: #GP.
 */
static void h_rdpmc(struct sw_cpu *cpu, const struct sw_insn *in)
{
	const struct x86_pmu *p = &cpu->st.pmu;
	uint32_t ecx = (uint32_t)cpu->st.gpr[R_CX];
	uint64_t v;

	if (sw_cpl(cpu) > 0 && !(cpu->st.cr4 & X86_CR4_PCE) && sw_protected(cpu))
		sw_gp0(cpu);
	if (!sw_vendor_amd() && (ecx & (1u << 30))) {
		if ((ecx & ~(1u << 30)) != 0 || !pmu_fixed())
			sw_gp0(cpu);
		v = p->fixed_ctr0;
	} else {
		if (ecx >= pmu_gp())
			sw_gp0(cpu);
		v = p->ctr[ecx];
	}
	cpu->st.gpr[R_AX] = (uint32_t)v;
	cpu->st.gpr[R_DX] = (v >> 32) & 0xffff;
}

/* ---- MSRs ---- */

static bool mtrr_msr(uint32_t idx)
{
	return idx == 0xfe || idx == 0x2ff || (idx >= 0x200 && idx <= 0x20f) || idx == 0x250 ||
	       idx == 0x258 || idx == 0x259 || (idx >= 0x268 && idx <= 0x26f);
}

static bool tsc_aux_exists(void)
{
	return has(0x80000001u, EDX, F81_EDX_RDTSCP) || has(7, ECX, F7_ECX_RDPID);
}

/*
 * IA32_BIOS_SIGN_ID (microcode revision; AMD's patch level): Linux writes
 * and reads it with accessors that do not catch #GP on Intel CPUs of
 * family 6 and up. Reads give revision 1 in EDX, KVM's default; writes
 * are dropped.
 */
#define MSR_UCODE_REV		0x8b
#define UCODE_REV_VALUE		0x100000000ull

/*
 * Machine check: IA32_MCG_CAP reads 0 (no banks, no MCG_CTL), as under
 * KVM without KVM_X86_SETUP_MCE; IA32_MCG_STATUS reads 0 and writes are
 * dropped (nothing ever signals a machine check). The MCi bank MSRs do
 * not exist, so they #GP, as do MCG_CTL and the extended registers.
 */
#define MSR_IA32_MCG_CAP	0x179
#define MSR_IA32_MCG_STATUS	0x17a


/*
 * The local APIC's MSRs: the x2APIC registers (0x800-0x8ff) and
 * IA32_TSC_DEADLINE live in devices/lapic.c (through vm_intr_msr()).
 */
#define MSR_X2APIC_FIRST	0x800u
#define MSR_X2APIC_LAST		0x8ffu
#define APIC_BASE_EN		(1ull << 11)
#define APIC_BASE_EXTD		(1ull << 10)

static bool apic_msr(uint32_t idx)
{
	return (idx >= MSR_X2APIC_FIRST && idx <= MSR_X2APIC_LAST) ||
	       idx == MSR_IA32_TSC_DEADLINE;
}

static bool lapic_msr(struct sw_cpu *cpu, bool write, uint32_t idx, uint64_t *v)
{
	if (!cpu->vm || !cpu->vcpu)
		return false;
	if (idx == MSR_IA32_TSC_DEADLINE ? !has(1, ECX, F1_ECX_TSC_DEADLINE) :
	    !has(1, ECX, F1_ECX_X2APIC) && idx != MSR_IA32_APIC_BASE)
		return false;
	return vm_intr_msr(cpu->vm, cpu->vcpu->id, write, idx, v, sw_rdtsc(cpu)) == 0;
}

/*
 * IA32_APIC_BASE: reserved bits 0-7, 9 and above MAXPHYADDR; EXTD (10)
 * only with x2APIC in the model. The modes go disabled <-> xAPIC ->
 * x2APIC -> disabled (the SDM's transitions; x2APIC -> xAPIC and EXTD
 * without EN are refused).
 */
static bool write_apic_base(struct sw_cpu *cpu, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	uint64_t old = st->msr.apic_base, rsvd = 0x2ffull;
	bool x2 = has(1, ECX, F1_ECX_X2APIC);

	if (!x2)
		rsvd |= APIC_BASE_EXTD;
	if ((v & rsvd) || (v >> maxphyaddr()))
		return false;
	if ((v & APIC_BASE_EXTD) && !(v & APIC_BASE_EN))
		return false;
	if ((old & APIC_BASE_EXTD) && (v & APIC_BASE_EN) && !(v & APIC_BASE_EXTD))
		return false;
	if (!(old & APIC_BASE_EN) && (v & APIC_BASE_EXTD))
		return false;
	st->msr.apic_base = v;
	if (x2 && ((old ^ v) & APIC_BASE_EXTD))
		lapic_msr(cpu, true, MSR_IA32_APIC_BASE, &v);
	return true;
}

static bool msr_read(struct sw_cpu *cpu, uint32_t idx, uint64_t *v)
{
	const struct x86_state *st = &cpu->st;
	bool ok;

	if (apic_msr(idx))
		return lapic_msr(cpu, false, idx, v);
	if (pmu_msr(cpu, idx, false, v, &ok))
		return ok;
	switch (idx) {
	case MSR_IA32_MCG_CAP: *v = 0; break;
	case MSR_IA32_MCG_STATUS: *v = 0; break;
	case MSR_UCODE_REV: *v = UCODE_REV_VALUE; break;
	case MSR_IA32_TSC: *v = sw_rdtsc(cpu); break;
	case MSR_IA32_APIC_BASE: *v = st->msr.apic_base; break;
	case MSR_IA32_MISC_ENABLE: *v = st->msr.misc_enable; break;
	case MSR_IA32_SYSENTER_CS: *v = st->msr.sysenter_cs; break;
	case MSR_IA32_SYSENTER_ESP: *v = st->msr.sysenter_esp; break;
	case MSR_IA32_SYSENTER_EIP: *v = st->msr.sysenter_eip; break;
	case MSR_IA32_PAT: *v = st->msr.pat; break;
	case MSR_EFER: *v = st->efer; break;
	case MSR_STAR: *v = st->msr.star; break;
	case MSR_LSTAR: *v = st->msr.lstar; break;
	case MSR_CSTAR: *v = st->msr.cstar; break;
	case MSR_SFMASK: *v = st->msr.sfmask; break;
	case MSR_FS_BASE: *v = st->seg[S_FS].base; break;
	case MSR_GS_BASE: *v = st->seg[S_GS].base; break;
	case MSR_KERNEL_GS_BASE: *v = st->msr.kernel_gs_base; break;
	case MSR_TSC_AUX:
		if (!tsc_aux_exists())
			return false;
		*v = st->msr.tsc_aux;
		break;
	case MSR_IA32_PKRS:
		if (!has(7, ECX, F7_ECX_PKS))
			return false;
		*v = st->msr.pkrs;
		break;
	default:
		if (!mtrr_msr(idx))
			return false;
		*v = 0;
		break;
	}
	return true;
}

static bool pat_valid(uint64_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (v >> (8 * i)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool write_efer(struct sw_cpu *cpu, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	uint64_t ok = 0, old = st->efer;

	if (has_bit(0x80000001u, EDX, CPUID_81_EDX_SYSCALL))
		ok |= X86_EFER_SCE;
	if (has_bit(0x80000001u, EDX, CPUID_81_EDX_LM))
		ok |= X86_EFER_LME | X86_EFER_LMA;
	if (has_bit(0x80000001u, EDX, CPUID_81_EDX_NX))
		ok |= X86_EFER_NXE;
	if (v & ~ok)
		return false;
	/* LME may not change while paging is on; LMA is read-only. */
	if (((v ^ old) & X86_EFER_LME) && (st->cr0 & X86_CR0_PG))
		return false;
	st->efer = (v & ~X86_EFER_LMA) | (old & X86_EFER_LMA);
	if ((old ^ st->efer) & X86_EFER_NXE)
		sw_mmu_paging_changed(cpu);
	return true;
}

static bool msr_write(struct sw_cpu *cpu, uint32_t idx, uint64_t v)
{
	struct x86_state *st = &cpu->st;
	bool ok;

	if (apic_msr(idx))
		return lapic_msr(cpu, true, idx, &v);
	if (pmu_msr(cpu, idx, true, &v, &ok))
		return ok;
	switch (idx) {
	case MSR_UCODE_REV:
	case MSR_IA32_MCG_STATUS:
		return true;
	case MSR_IA32_TSC:
		cpu->tsc_offset = v - sw_tsc_base(cpu);
		return true;
	case MSR_IA32_APIC_BASE:
		return write_apic_base(cpu, v);
	case MSR_IA32_MISC_ENABLE: st->msr.misc_enable = v; return true;
	case MSR_IA32_SYSENTER_CS: st->msr.sysenter_cs = v; return true;
	case MSR_IA32_PAT:
		if (!pat_valid(v))
			return false;
		st->msr.pat = v;
		return true;
	case MSR_EFER:
		return write_efer(cpu, v);
	case MSR_STAR: st->msr.star = v; return true;
	case MSR_SFMASK: st->msr.sfmask = v & 0xffffffffu; return true;
	case MSR_TSC_AUX:
		if (!tsc_aux_exists() || (v >> 32))
			return false;
		st->msr.tsc_aux = v;
		return true;
	case MSR_IA32_PKRS:
		/* The keys' rights are folded into cached permissions (mmu.c). */
		if (!has(7, ECX, F7_ECX_PKS) || (v >> 32))
			return false;
		if (v != st->msr.pkrs) {
			st->msr.pkrs = v;
			sw_mmu_paging_changed(cpu);
		}
		return true;
	default:
		break;
	}
	/* Addresses: a non-canonical value is refused. */
	if (!sw_canonical(v) && (idx == MSR_IA32_SYSENTER_ESP || idx == MSR_IA32_SYSENTER_EIP ||
				  idx == MSR_LSTAR || idx == MSR_CSTAR || idx == MSR_FS_BASE ||
				  idx == MSR_GS_BASE || idx == MSR_KERNEL_GS_BASE))
		return false;
	switch (idx) {
	case MSR_IA32_SYSENTER_ESP: st->msr.sysenter_esp = v; return true;
	case MSR_IA32_SYSENTER_EIP: st->msr.sysenter_eip = v; return true;
	case MSR_LSTAR: st->msr.lstar = v; return true;
	case MSR_CSTAR: st->msr.cstar = v; return true;
	case MSR_FS_BASE: st->seg[S_FS].base = v; return true;
	case MSR_GS_BASE: st->seg[S_GS].base = v; return true;
	case MSR_KERNEL_GS_BASE: st->msr.kernel_gs_base = v; return true;
	}
	/* MTRRs: accepted and dropped; MTRRcap is read-only. */
	return mtrr_msr(idx) && idx != 0xfe;
}

static void h_rdmsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t idx = (uint32_t)cpu->st.gpr[R_CX];
	uint64_t v;

	need_cpl0(cpu);
	if (!msr_read(cpu, idx, &v))
		sw_gp0(cpu);
	cpu->st.gpr[R_AX] = (uint32_t)v;
	cpu->st.gpr[R_DX] = v >> 32;
}

static void h_wrmsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t idx = (uint32_t)cpu->st.gpr[R_CX];
	uint64_t v = (cpu->st.gpr[R_DX] << 32) | (uint32_t)cpu->st.gpr[R_AX];

	need_cpl0(cpu);
	if (!msr_write(cpu, idx, v))
		sw_gp0(cpu);
}

/* ---- fast system calls ---- */

static void h_swapgs(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t t;

	if (!sw_64bit(cpu))
		sw_ud(cpu);
	need_cpl0(cpu);
	t = cpu->st.seg[S_GS].base;
	cpu->st.seg[S_GS].base = cpu->st.msr.kernel_gs_base;
	cpu->st.msr.kernel_gs_base = t;
}

static void h_syscall(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint16_t sel = (st->msr.star >> 32) & 0xffff;
	bool from64 = sw_64bit(cpu);

	if (!(st->efer & X86_EFER_SCE))
		sw_ud(cpu);
	/* Intel: 64-bit mode only. AMD also has compatibility and legacy mode forms. */
	if (!sw_64bit(cpu) && (!sw_vendor_amd() || !sw_protected(cpu) || sw_vm86(cpu)))
		sw_ud(cpu);
	if (!sw_long_mode(cpu)) {
		st->gpr[R_CX] = (uint32_t)cpu->next_rip;
		st->rflags &= ~(X86_RFLAGS_VM | X86_RFLAGS_IF | X86_RFLAGS_RF);
		set_flat(&st->seg[S_CS], sel & 0xfffc, ATTR_CODE32(0));
		set_flat(&st->seg[S_SS], sel + 8, ATTR_DATA(0));
		cpu->next_rip = (uint32_t)st->msr.star;
		return;
	}
	st->gpr[R_CX] = cpu->next_rip;
	st->gpr[R_R11] = st->rflags & ~X86_RFLAGS_RF;
	st->rflags = (st->rflags & ~(st->msr.sfmask | X86_RFLAGS_RF)) | X86_RFLAGS_FIXED;
	set_flat(&st->seg[S_CS], sel & 0xfffc, ATTR_CODE64(0));
	set_flat(&st->seg[S_SS], sel + 8, ATTR_DATA(0));
	cpu->next_rip = from64 ? st->msr.lstar : st->msr.cstar;
}

static void h_sysret(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint16_t sel = (st->msr.star >> 48) & 0xffff;
	bool to64 = sw_opsize(in) == 8;

	if (!(st->efer & X86_EFER_SCE))
		sw_ud(cpu);
	if (!sw_64bit(cpu) && (!sw_vendor_amd() || !sw_protected(cpu) || sw_vm86(cpu)))
		sw_ud(cpu);
	need_cpl0(cpu);
	if (!sw_long_mode(cpu)) {
		/* AMD legacy mode: back to 32-bit code with IF set. */
		set_flat(&st->seg[S_CS], sel | 3, ATTR_CODE32(3));
		set_flat(&st->seg[S_SS], (sel + 8) | 3, ATTR_DATA(3));
		st->rflags |= X86_RFLAGS_IF;
		cpu->next_rip = (uint32_t)st->gpr[R_CX];
		return;
	}
	/* Intel faults on a non-canonical RCX here, in ring 0. */
	if (to64 && !sw_canonical(st->gpr[R_CX]))
		sw_gp0(cpu);
	if (to64) {
		set_flat(&st->seg[S_CS], (sel + 16) | 3, ATTR_CODE64(3));
		cpu->next_rip = st->gpr[R_CX];
	} else {
		set_flat(&st->seg[S_CS], sel | 3, ATTR_CODE32(3));
		cpu->next_rip = (uint32_t)st->gpr[R_CX];
	}
	set_flat(&st->seg[S_SS], (sel + 8) | 3, ATTR_DATA(3));
	st->rflags = (st->gpr[R_R11] & 0x3c7fd7) | X86_RFLAGS_FIXED;
}

static void h_sysenter(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint16_t sel = st->msr.sysenter_cs & 0xfffc;
	bool lm = sw_long_mode(cpu);

	if (lm && sw_vendor_amd())
		sw_ud(cpu);
	if (!sw_protected(cpu) || !sel)
		sw_gp0(cpu);
	st->rflags &= ~(X86_RFLAGS_VM | X86_RFLAGS_IF | X86_RFLAGS_RF);
	set_flat(&st->seg[S_CS], sel, lm ? ATTR_CODE64(0) : ATTR_CODE32(0));
	set_flat(&st->seg[S_SS], sel + 8, ATTR_DATA(0));
	st->gpr[R_SP] = lm ? st->msr.sysenter_esp : (uint32_t)st->msr.sysenter_esp;
	cpu->next_rip = lm ? st->msr.sysenter_eip : (uint32_t)st->msr.sysenter_eip;
}

static void h_sysexit(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_state *st = &cpu->st;
	uint16_t cs = st->msr.sysenter_cs & 0xffff;
	bool to64 = sw_opsize(in) == 8;

	if (sw_long_mode(cpu) && sw_vendor_amd())
		sw_ud(cpu);
	if (!sw_protected(cpu) || !(cs & 0xfffc) || sw_cpl(cpu) != 0)
		sw_gp0(cpu);
	if (to64) {
		if (!sw_canonical(st->gpr[R_CX]) || !sw_canonical(st->gpr[R_DX]))
			sw_gp0(cpu);
		set_flat(&st->seg[S_CS], (cs + 32) | 3, ATTR_CODE64(3));
		set_flat(&st->seg[S_SS], (cs + 40) | 3, ATTR_DATA(3));
		st->gpr[R_SP] = st->gpr[R_CX];
		cpu->next_rip = st->gpr[R_DX];
	} else {
		set_flat(&st->seg[S_CS], (cs + 16) | 3, ATTR_CODE32(3));
		set_flat(&st->seg[S_SS], (cs + 24) | 3, ATTR_DATA(3));
		st->gpr[R_SP] = (uint32_t)st->gpr[R_CX];
		cpu->next_rip = (uint32_t)st->gpr[R_DX];
	}
}

/* ---- port I/O ---- */

/*
 * Protected mode with CPL > IOPL, and virtual-8086 mode always, consult
 * the I/O permission bitmap of the 32/64-bit TSS: every bit of the
 * accessed ports must be clear and lie within the TSS limit.
 */
static void io_check(struct sw_cpu *cpu, uint16_t port, unsigned size)
{
	const struct x86_seg *tr = &cpu->st.tr;
	unsigned type = SEG_ATTR_TYPE(tr->attr);
	uint64_t base, mask = sw_long_mode(cpu) ? ~0ull : 0xffffffffull;
	uint32_t off, bits;

	if (!sw_protected(cpu) || (!sw_vm86(cpu) && sw_cpl(cpu) <= iopl(cpu)))
		return;
	if ((tr->attr & SEG_ATTR_UNUSABLE) || (type != SW_SYS_TSS32 && type != SW_SYS_TSS32_BUSY) ||
	    tr->limit < 0x67)
		sw_gp0(cpu);
	base = sw_read_lin(cpu, (tr->base + 0x66) & mask, 2, SW_ACC_READ | SW_ACC_SYS);
	off = (uint32_t)base + port / 8;
	if (off + 1 > tr->limit)
		sw_gp0(cpu);
	bits = sw_read_lin(cpu, (tr->base + off) & mask, 2, SW_ACC_READ | SW_ACC_SYS);
	if (bits & (((1u << size) - 1) << (port & 7)))
		sw_gp0(cpu);
}

/* Traced once, by pio_read()/pio_write() (machine/bus.c), as on every engine. */
uint32_t sw_io_in(struct sw_cpu *cpu, uint16_t port, unsigned size)
{
	uint32_t v;

	io_check(cpu, port, size);
	v = (uint32_t)pio_read(cpu->vm, port, size) & (uint32_t)sw_mask(size);
	return v;
}

void sw_io_out(struct sw_cpu *cpu, uint16_t port, uint32_t val, unsigned size)
{
	io_check(cpu, port, size);
	val &= (uint32_t)sw_mask(size);
	pio_write(cpu->vm, port, val, size);
}

/* The port operand: an 8-bit immediate (never sign-extended) or DX. */
static uint16_t port_of(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i)
{
	if (in->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return in->op[i].imm.value.u & 0xff;
	return cpu->st.gpr[R_DX] & 0xffff;
}

static void h_in(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 0);

	sw_op_write(cpu, in, 0, sw_io_in(cpu, port_of(cpu, in, 1), size));
}

static void h_out(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned size = sw_op_size(in, 1);

	sw_io_out(cpu, port_of(cpu, in, 0), (uint32_t)sw_op_read(cpu, in, 1), size);
}

/* ---- x87 / MMX / SSE: availability only (x87.c / sse.c implement them) ---- */

void sw_fpu_absent(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint64_t cr0 = cpu->st.cr0;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_FXSAVE:
	case ZYDIS_MNEMONIC_FXSAVE64:
	case ZYDIS_MNEMONIC_FXRSTOR:
	case ZYDIS_MNEMONIC_FXRSTOR64:
		/* FXSAVE/FXRSTOR: EM or TS -> #NM, whatever CR4.OSFXSR says. */
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			sw_raise(cpu, X86_NM);
		sw_ud(cpu);
	default:
		break;
	}
	switch (in->zi.meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87:
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			sw_raise(cpu, X86_NM);
		break;
	case ZYDIS_ISA_EXT_MMX:
		if (cr0 & X86_CR0_EM)
			sw_ud(cpu);
		if (cr0 & X86_CR0_TS)
			sw_raise(cpu, X86_NM);
		break;
	case ZYDIS_ISA_EXT_SSE:
	case ZYDIS_ISA_EXT_SSE2:
	case ZYDIS_ISA_EXT_SSE3:
	case ZYDIS_ISA_EXT_SSSE3:
	case ZYDIS_ISA_EXT_SSE4:
	case ZYDIS_ISA_EXT_SSE4A:
		if ((cr0 & X86_CR0_EM) || !(cpu->st.cr4 & X86_CR4_OSFXSR))
			sw_ud(cpu);
		if (cr0 & X86_CR0_TS)
			sw_raise(cpu, X86_NM);
		break;
	default:
		break;	/* AVX and later: no XSAVE in the model, so #UD */
	}
	sw_ud(cpu);
}

/* WAIT/FWAIT: #NM when MP and TS are both set; no x87 exception can be pending yet. */
static void h_fwait(struct sw_cpu *cpu, const struct sw_insn *in)
{
	if ((cpu->st.cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		sw_raise(cpu, X86_NM);
}

static void set_if_empty(ZydisMnemonic m, sw_handler fn)
{
	if (!sw_handlers[m])
		sw_handlers[m] = fn;
}

void sw_register_system(void)
{
	static const ZydisMnemonic prefetches[] = {
		ZYDIS_MNEMONIC_PREFETCH, ZYDIS_MNEMONIC_PREFETCHNTA, ZYDIS_MNEMONIC_PREFETCHT0,
		ZYDIS_MNEMONIC_PREFETCHT1, ZYDIS_MNEMONIC_PREFETCHT2, ZYDIS_MNEMONIC_PREFETCHW,
		ZYDIS_MNEMONIC_PREFETCHWT1,
	};

	sw_handlers[ZYDIS_MNEMONIC_CLI] = h_cli;
	sw_handlers[ZYDIS_MNEMONIC_STI] = h_sti;
	sw_handlers[ZYDIS_MNEMONIC_HLT] = h_hlt;
	sw_handlers[ZYDIS_MNEMONIC_STAC] = h_stac_clac;
	sw_handlers[ZYDIS_MNEMONIC_CLAC] = h_stac_clac;
	sw_handlers[ZYDIS_MNEMONIC_CLTS] = h_clts;
	sw_handlers[ZYDIS_MNEMONIC_LMSW] = h_lmsw;
	sw_handlers[ZYDIS_MNEMONIC_SMSW] = h_smsw;
	sw_handlers[ZYDIS_MNEMONIC_LGDT] = h_lgdt_lidt;
	sw_handlers[ZYDIS_MNEMONIC_LIDT] = h_lgdt_lidt;
	sw_handlers[ZYDIS_MNEMONIC_SGDT] = h_sgdt_sidt;
	sw_handlers[ZYDIS_MNEMONIC_SIDT] = h_sgdt_sidt;
	sw_handlers[ZYDIS_MNEMONIC_LLDT] = h_lldt;
	sw_handlers[ZYDIS_MNEMONIC_SLDT] = h_sldt_str;
	sw_handlers[ZYDIS_MNEMONIC_LTR] = h_ltr;
	sw_handlers[ZYDIS_MNEMONIC_STR] = h_sldt_str;
	sw_handlers[ZYDIS_MNEMONIC_INVLPG] = h_invlpg;
	sw_handlers[ZYDIS_MNEMONIC_INVPCID] = h_invpcid;
	sw_handlers[ZYDIS_MNEMONIC_WBINVD] = h_wbinvd;
	sw_handlers[ZYDIS_MNEMONIC_INVD] = h_wbinvd;
	sw_handlers[ZYDIS_MNEMONIC_CLFLUSH] = h_clflush;
	sw_handlers[ZYDIS_MNEMONIC_CLFLUSHOPT] = h_clflush;
	sw_handlers[ZYDIS_MNEMONIC_LFENCE] = h_nop;
	sw_handlers[ZYDIS_MNEMONIC_SFENCE] = h_nop;
	sw_handlers[ZYDIS_MNEMONIC_MFENCE] = h_mfence;
	for (unsigned i = 0; i < sizeof(prefetches) / sizeof(prefetches[0]); i++)
		sw_handlers[prefetches[i]] = h_nop;
	sw_handlers[ZYDIS_MNEMONIC_CPUID] = h_cpuid;
	sw_handlers[ZYDIS_MNEMONIC_RDTSC] = h_rdtsc;
	sw_handlers[ZYDIS_MNEMONIC_RDTSCP] = h_rdtsc;
	sw_handlers[ZYDIS_MNEMONIC_RDPID] = h_rdpid;
	sw_handlers[ZYDIS_MNEMONIC_RDPMC] = h_rdpmc;
	sw_handlers[ZYDIS_MNEMONIC_RDPKRU] = h_rdpkru;
	sw_handlers[ZYDIS_MNEMONIC_WRPKRU] = h_wrpkru;
	sw_handlers[ZYDIS_MNEMONIC_RDMSR] = h_rdmsr;
	sw_handlers[ZYDIS_MNEMONIC_WRMSR] = h_wrmsr;
	sw_handlers[ZYDIS_MNEMONIC_SWAPGS] = h_swapgs;
	sw_handlers[ZYDIS_MNEMONIC_SYSCALL] = h_syscall;
	sw_handlers[ZYDIS_MNEMONIC_SYSRET] = h_sysret;
	sw_handlers[ZYDIS_MNEMONIC_SYSENTER] = h_sysenter;
	sw_handlers[ZYDIS_MNEMONIC_SYSEXIT] = h_sysexit;
	sw_handlers[ZYDIS_MNEMONIC_IN] = h_in;
	sw_handlers[ZYDIS_MNEMONIC_OUT] = h_out;
	/* x87.c / sse.c own these once they exist; keep theirs if registered first. */
	set_if_empty(ZYDIS_MNEMONIC_FWAIT, h_fwait);
	set_if_empty(ZYDIS_MNEMONIC_PAUSE, h_nop);
}
