// SPDX-License-Identifier: GPL-2.0-or-later
/* Reset and boot states, and the register dump both engines print. */
#include <string.h>

#include "machine/x86_state.h"

static void seg_set(struct x86_seg *s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
	s->sel = sel;
	s->base = base;
	s->limit = limit;
	s->attr = attr;
}

void x86_state_reset(struct x86_state *st)
{
	memset(st, 0, sizeof(*st));
	st->rip = 0xfff0;
	st->rflags = X86_RFLAGS_FIXED;
	st->gpr[R_DX] = 0x600;	/* family 6 reset signature */
	/* Real mode: data segments read/write accessed (3), code exec/read accessed (0xb). */
	for (int i = 0; i < S_NR; i++)
		seg_set(&st->seg[i], 0, 0, 0xffff, 0x93);
	seg_set(&st->seg[S_CS], 0xf000, 0xffff0000, 0xffff, 0x9b);
	seg_set(&st->ldt, 0, 0, 0xffff, 0x82);
	seg_set(&st->tr, 0, 0, 0xffff, 0x8b);
	st->gdt.limit = 0xffff;
	st->idt.limit = 0xffff;
	st->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	st->dr[6] = 0xffff0ff0;
	st->dr[7] = 0x400;
	st->xcr0 = 1;
	st->pmu.global_ctrl = 3;	/* both general counters enabled globally, as at power-up */
	st->msr.pat = 0x0007040600070406ull;
	st->msr.apic_base = 0xfee00000 | (1u << 11) | (1u << 8);	/* enabled, BSP */
	st->fx.fcw = 0x37f;
	st->fx.mxcsr = 0x1f80;
	st->fx.mxcsr_mask = 0xffff;
}

void x86_state_flat32(struct x86_state *st)
{
	x86_state_reset(st);
	st->rip = 0;
	st->gpr[R_DX] = 0;
	st->cr0 = X86_CR0_PE | X86_CR0_ET;
	/* G=1 D/B=1 P=1 S=1: code exec/read accessed 0xb, data read/write accessed 3. */
	for (int i = 0; i < S_NR; i++)
		seg_set(&st->seg[i], 0x10, 0, 0xffffffff, 0xc093);
	seg_set(&st->seg[S_CS], 0x08, 0, 0xffffffff, 0xc09b);
	seg_set(&st->tr, 0, 0, 0xffff, 0x8b);
	st->gdt.limit = 0;
	st->idt.limit = 0;
}

static const char *const seg_names[S_NR] = { "ES", "CS", "SS", "DS", "FS", "GS" };

static void dump_seg(FILE *out, const char *name, const struct x86_seg *s)
{
	fprintf(out, "%-3s=%04x %016llx %08x %05x\n", name, s->sel, (unsigned long long)s->base,
		s->limit, s->attr);
}

void x86_state_dump(const struct x86_state *st, FILE *out)
{
	static const char *const names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI",
		"RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15" };
	uint64_t f = st->rflags;

	for (int i = 0; i < 16; i++)
		fprintf(out, "%-3s=%016llx%s", names[i], (unsigned long long)st->gpr[i],
			i % 4 == 3 ? "\n" : " ");
	fprintf(out, "RIP=%016llx RFL=%08llx [%c%c%c%c%c%c%c%c] IOPL=%llu%s%s\n",
		(unsigned long long)st->rip, (unsigned long long)f,
		f & X86_RFLAGS_DF ? 'D' : '-', f & X86_RFLAGS_IF ? 'I' : '-',
		f & X86_RFLAGS_OF ? 'O' : '-', f & X86_RFLAGS_SF ? 'S' : '-',
		f & X86_RFLAGS_ZF ? 'Z' : '-', f & X86_RFLAGS_AF ? 'A' : '-',
		f & X86_RFLAGS_PF ? 'P' : '-', f & X86_RFLAGS_CF ? 'C' : '-',
		(unsigned long long)((f >> 12) & 3), st->halted ? " HLT" : "",
		st->int_shadow ? " SHADOW" : "");
	for (int i = 0; i < S_NR; i++)
		dump_seg(out, seg_names[i], &st->seg[i]);
	dump_seg(out, "LDT", &st->ldt);
	dump_seg(out, "TR", &st->tr);
	fprintf(out, "GDT=     %016llx %08x\nIDT=     %016llx %08x\n",
		(unsigned long long)st->gdt.base, st->gdt.limit,
		(unsigned long long)st->idt.base, st->idt.limit);
	fprintf(out, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n",
		(unsigned long long)st->cr0, (unsigned long long)st->cr2,
		(unsigned long long)st->cr3, (unsigned long long)st->cr4);
	fprintf(out, "EFER=%016llx CR8=%llx DR6=%llx DR7=%llx\n", (unsigned long long)st->efer,
		(unsigned long long)st->cr8, (unsigned long long)st->dr[6],
		(unsigned long long)st->dr[7]);
}

unsigned x86_code_bits(const struct x86_state *st)
{
	uint32_t cs = st->seg[S_CS].attr;

	if (!(st->cr0 & X86_CR0_PE) || (st->rflags & X86_RFLAGS_VM))
		return 16;
	if ((st->efer & X86_EFER_LMA) && (cs & SEG_ATTR_L))
		return 64;
	return cs & SEG_ATTR_DB ? 32 : 16;
}
