/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The x87 FPU.
 *
 * Every x87 computation (arithmetic, comparisons, loads and stores with
 * their conversions, constants, transcendentals, FXCH/FFREE/FCMOVcc...)
 * runs on the host's own x87 unit: the guest's x87 state (the FXSAVE
 * image) is loaded into the host FPU with FXRSTOR, the same opcode runs
 * with its memory operand (if any) redirected to a buffer, and FXSAVE
 * brings the new state back. Results are therefore bit-exact with the
 * hardware, including precision and rounding control, stack faults,
 * unmasked-exception behaviour (destination kept, exponent wrapping),
 * and the transcendental instructions, which no library reproduces.
 *
 * This is safe for the host process: x87 exceptions are delayed (they
 * fire at the next waiting x87 instruction), and the stub reads the
 * status word and clears the exceptions with non-waiting instructions
 * before anything else runs; x87 state is caller-owned scratch in the
 * x86-64 ABI except the control word, which the stub restores, and the
 * host's MXCSR is written into the image so FXRSTOR keeps it.
 *
 * The control instructions (FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW,
 * FNSTENV, FLDENV, FNSAVE, FRSTOR, FWAIT) are written out in C: they
 * depend on the guest's mode (environment layouts) and pointers.
 *
 * Unmasked exceptions raise #MF at the next waiting x87 (or MMX)
 * instruction. With CR0.NE = 0 a PC would signal FERR# to the interrupt
 * controller (IRQ 13) instead; this CPU raises #MF in both cases.
 */
#include "accel/sw/fpu.h"

/*
 * The stub table: for opcode D8+o, first the 8 memory forms (ModRM
 * reg = r, operand at [rsi]), then the 64 register forms (ModRM C0..FF).
 * Each entry is 8 bytes: endbr64 (a NOP without CET), the two opcode
 * bytes, ret, int3.
 */
#define X87_TAB_FORMS	72
#define X87_TAB_STRIDE	8

extern const uint8_t sw_x87_host_tab[];
/*
 * Load @img into the host FPU, set the host's arithmetic flags from
 * *@rflags, run @entry (its memory operand is @mem), store the flags
 * back into *@rflags and the FPU state into @img.
 */
void sw_x87_host_exec(struct x86_fxsave *img, void *mem, const void *entry, uint64_t *rflags);

__asm__(
	"	.pushsection .text\n"
	"	.balign 16\n"
	"	.globl sw_x87_host_tab\n"
	"	.hidden sw_x87_host_tab\n"
	"	.type sw_x87_host_tab, @function\n"
	"sw_x87_host_tab:\n"
	"	.irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	"	.irp reg, 0, 1, 2, 3, 4, 5, 6, 7\n"
	"	endbr64\n"
	"	.byte \\op, (\\reg << 3) | 6\n"
	"	ret\n"
	"	int3\n"
	"	.endr\n"
	"	.set sw_x87_modrm, 0xc0\n"
	"	.rept 64\n"
	"	endbr64\n"
	"	.byte \\op, sw_x87_modrm\n"
	"	ret\n"
	"	int3\n"
	"	.set sw_x87_modrm, sw_x87_modrm + 1\n"
	"	.endr\n"
	"	.endr\n"
	"	.size sw_x87_host_tab, . - sw_x87_host_tab\n"
	"\n"
	"	.balign 16\n"
	"	.globl sw_x87_host_exec\n"
	"	.hidden sw_x87_host_exec\n"
	"	.type sw_x87_host_exec, @function\n"
	/* rdi = image, rsi = memory operand, rdx = entry, rcx = &rflags */
	"sw_x87_host_exec:\n"
	"	endbr64\n"
	"	sub $24, %rsp\n"
	"	fnstcw (%rsp)\n"
	"	stmxcsr 24(%rdi)\n"
	/* Only the arithmetic flags: DF, TF and AC stay clear. */
	"	mov (%rcx), %rax\n"
	"	and $0x8d5, %eax\n"
	"	or $2, %eax\n"
	"	push %rax\n"
	"	popfq\n"
	"	fxrstor64 (%rdi)\n"
	"	call *%rdx\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	mov %rax, (%rcx)\n"
	/* Non-waiting from here on: an unmasked exception may be pending. */
	"	fnstsw 2(%rsp)\n"
	"	fnclex\n"
	"	fxsave64 (%rdi)\n"
	"	movzwl 2(%rsp), %eax\n"
	"	mov %ax, 2(%rdi)\n"
	"	fninit\n"
	"	fldcw (%rsp)\n"
	"	add $24, %rsp\n"
	"	ret\n"
	"	.size sw_x87_host_exec, . - sw_x87_host_exec\n"
	"	.popsection\n");

/* ---- availability ---- */

void sw_x87_enter(struct sw_cpu *cpu, bool waiting)
{
	if (cpu->st.cr0 & (X86_CR0_EM | X86_CR0_TS))
		sw_raise(cpu, X86_NM);
	if (waiting && sw_x87_pending(cpu))
		sw_raise(cpu, X86_MF);
}

/* ---- small helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The visible memory operand of an x87 instruction, or -1. */
static int mem_operand(const struct sw_insn *in)
{
	for (unsigned i = 0; i < in->zi.operand_count_visible; i++)
		if (in->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			return i;
	return -1;
}

static unsigned modrm_byte(const struct sw_insn *in)
{
	return (in->zi.raw.modrm.mod << 6) | (in->zi.raw.modrm.reg << 3) | in->zi.raw.modrm.rm;
}

/* ---- the host-executed instructions ---- */

static bool sets_eflags(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_FCOMI || m == ZYDIS_MNEMONIC_FCOMIP ||
	       m == ZYDIS_MNEMONIC_FUCOMI || m == ZYDIS_MNEMONIC_FUCOMIP;
}

/*
 * The destination of a store an unmasked exception suppressed: Intel does
 * not even check it; AMD does (segment and paging, #GP or #PF with the
 * FPU untouched), though nothing is written.
 */
static void x87_check_suppressed_store(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t ea,
				       unsigned len)
{
	uint64_t la;

	if (!sw_vendor_amd())
		return;
	la = sw_seg_linear(cpu, seg, ea, len, SW_ACC_WRITE);
	sw_probe_write_lin(cpu, la, len, SW_ACC_WRITE);
}

static void x87_host(struct sw_cpu *cpu, const struct sw_insn *in)
{
	const struct sw_zi *zi = &in->zi;
	struct x86_fxsave *fx = &cpu->st.fx;
	struct x86_fxsave img;
	uint8_t mem[16];
	uint64_t la = 0, ea = 0, fl;
	unsigned len = 0, form, modrm = modrm_byte(in);
	int mi = mem_operand(in);
	bool store = false;
	enum x86_sreg seg = S_DS;

	sw_x87_enter(cpu, true);
	memset(mem, 0, sizeof(mem));
	if (mi >= 0) {
		len = in->op[mi].size / 8;
		store = in->op[mi].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
		seg = sw_op_seg(in, mi);
		ea = sw_op_ea(cpu, in, mi);
		if (len == 2 || len == 4 || len == 8) {
			/* The ordinary path for the usual sizes (#AC, MMIO). */
			if (!store) {
				uint64_t v = sw_read(cpu, seg, ea, len);

				memcpy(mem, &v, len);
			}
		} else if (len == 10) {
			if (!store) {
				la = sw_seg_linear(cpu, seg, ea, len, SW_ACC_READ);
				sw_fpu_read_buf(cpu, la, mem, len);
			}
		} else {
			sw_ud(cpu);
		}
		form = zi->raw.modrm.reg;
	} else if (zi->raw.modrm.mod == 3) {
		form = 8 + (modrm & 0x3f);
	} else {
		sw_ud(cpu);
	}

	img = *fx;
	/* Nothing is pending (checked above): ES must not trap on the host. */
	img.fsw &= ~(FSW_ES | FSW_B);
	fl = cpu->st.rflags;
	form += (zi->opcode & 7) * X87_TAB_FORMS;
	sw_x87_host_exec(&img, mem, sw_x87_host_tab + X87_TAB_STRIDE * form, &fl);

	/*
	 * A store is suppressed by an unmasked exception other than
	 * precision (the register stack is then left as it was, too).
	 * Memory is written (or checked) before any register changes, so a
	 * fault here leaves the FPU untouched.
	 */
	if (store && !(img.fsw & ~img.fcw & FSW_EXC & ~FSW_PE)) {
		if (len == 10) {
			la = sw_seg_linear(cpu, seg, ea, len, SW_ACC_WRITE);
			sw_fpu_write_buf(cpu, la, mem, len);
		} else {
			uint64_t v = 0;

			memcpy(&v, mem, len);
			sw_write(cpu, seg, ea, v, len);
		}
	} else if (store) {
		x87_check_suppressed_store(cpu, seg, ea, len);
	}

	fx->fsw = img.fsw;
	fx->ftw = img.ftw;
	for (unsigned i = 0; i < 8; i++)
		memcpy(fx->st[i], img.st[i], 10);
	fx->fop = ((zi->opcode & 7) << 8) | modrm;
	fx->fip = cpu->st.rip;
	if (mi >= 0)
		fx->fdp = ea;
	if (sets_eflags(zi->mnemonic))
		sw_set_flags(cpu, X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF |
			     X86_RFLAGS_AF | X86_RFLAGS_PF | X86_RFLAGS_CF,
			     fl & (X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF));
}

/* ---- control instructions ---- */

static void x87_fninit(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_fxsave *fx = &cpu->st.fx;

	sw_x87_enter(cpu, false);
	sw_fpu_set_top(cpu, 0);
	fx->fcw = FCW_INIT;
	fx->fsw = 0;
	fx->ftw = 0;
	fx->fop = 0;
	fx->fip = 0;
	fx->fdp = 0;
}

static void x87_fnclex(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_x87_enter(cpu, false);
	cpu->st.fx.fsw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
}

/* FENI/FDISI/FSETPM: 8087/80287 leftovers, no-ops since the 387. */
static void x87_fnop_control(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_x87_enter(cpu, false);
}

static void x87_fnstcw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_x87_enter(cpu, false);
	sw_op_write(cpu, in, 0, cpu->st.fx.fcw);
}

static void x87_fldcw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint16_t v;

	sw_x87_enter(cpu, true);
	v = sw_op_read(cpu, in, 0);
	cpu->st.fx.fcw = (v & FCW_VALID) | FCW_ONE;
	/* Unmasking a raised flag makes it pending (ES set), and masking clears it. */
	sw_x87_update_es(cpu);
}

/* FNSTSW m16 and FNSTSW AX. */
static void x87_fnstsw(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_x87_enter(cpu, false);
	sw_op_write(cpu, in, 0, cpu->st.fx.fsw);
}

static void x87_fwait(struct sw_cpu *cpu, const struct sw_insn *in)
{
	/* WAIT ignores EM; it checks TS only when MP says so. */
	if ((cpu->st.cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		sw_raise(cpu, X86_NM);
	if (sw_x87_pending(cpu))
		sw_raise(cpu, X86_MF);
}

/* The full tag word (two bits per physical register) from the abridged one. */
static uint16_t full_tags(const struct sw_cpu *cpu)
{
	const struct x86_fxsave *fx = &cpu->st.fx;
	unsigned top = sw_fpu_top(cpu);
	uint16_t tw = 0;

	for (unsigned r = 0; r < 8; r++) {
		const uint8_t *v = fx->st[(r - top) & 7];
		unsigned exp = get16(v + 8) & 0x7fff, tag;
		uint64_t mant = get64(v);

		if (!(fx->ftw & (1u << r)))
			tag = 3;		/* empty */
		else if (exp == 0x7fff)
			tag = 2;		/* NaN, infinity */
		else if (exp == 0)
			tag = mant ? 2 : 1;	/* denormal : zero */
		else
			tag = (mant >> 63) ? 0 : 2;	/* valid : unnormal */
		tw |= tag << (2 * r);
	}
	return tw;
}

static uint8_t abridged_tags(uint16_t tw)
{
	uint8_t ftw = 0;

	for (unsigned r = 0; r < 8; r++)
		if (((tw >> (2 * r)) & 3) != 3)
			ftw |= 1u << r;
	return ftw;
}

/* Real-address and virtual-8086 modes use the layouts with linear pointers. */
static bool env_real(const struct sw_cpu *cpu)
{
	return !sw_protected(cpu) || sw_vm86(cpu);
}

/*
 * Write the FSTENV environment (14 bytes for 16-bit operand size, else
 * 28) to @p; returns its length. FCS and FDS are not kept (zero); the
 * real-mode layouts want linear pointers, formed from the current CS
 * and DS bases.
 */
static unsigned env_store(struct sw_cpu *cpu, const struct sw_insn *in, uint8_t *p)
{
	const struct x86_fxsave *fx = &cpu->st.fx;
	uint32_t ip = fx->fip, dp = fx->fdp, op = fx->fop & 0x7ff;
	uint16_t tw = full_tags(cpu);
	bool real = env_real(cpu);

	if (real) {
		ip += cpu->st.seg[S_CS].base;
		dp += cpu->st.seg[S_DS].base;
	}
	if (in->zi.operand_width == 16) {
		put16(p + 0, fx->fcw);
		put16(p + 2, fx->fsw);
		put16(p + 4, tw);
		if (real) {
			put16(p + 6, ip);
			put16(p + 8, ((ip >> 4) & 0xf000) | op);
			put16(p + 10, dp);
			put16(p + 12, (dp >> 4) & 0xf000);
		} else {
			put16(p + 6, ip);
			put16(p + 8, 0);
			put16(p + 10, dp);
			put16(p + 12, 0);
		}
		return 14;
	}
	/* The unused upper halves read as ones, as on hardware. */
	put32(p + 0, 0xffff0000u | fx->fcw);
	put32(p + 4, 0xffff0000u | fx->fsw);
	put32(p + 8, 0xffff0000u | tw);
	if (real) {
		put32(p + 12, 0xffff0000u | (ip & 0xffff));
		put32(p + 16, ((ip >> 4) & 0x0ffff000u) | op);
		put32(p + 20, 0xffff0000u | (dp & 0xffff));
		put32(p + 24, (dp >> 4) & 0x0ffff000u);
	} else {
		put32(p + 12, ip);
		put32(p + 16, op << 16);
		put32(p + 20, dp);
		put32(p + 24, 0xffff0000u);
	}
	return 28;
}

/* Load an environment written in the same layout; returns its length. */
static unsigned env_load(struct sw_cpu *cpu, const struct sw_insn *in, const uint8_t *p)
{
	struct x86_fxsave *fx = &cpu->st.fx;
	bool real = env_real(cpu);
	uint32_t ip, dp, op;
	uint16_t fsw, ftw;

	if (in->zi.operand_width == 16) {
		fx->fcw = get16(p + 0);
		fsw = get16(p + 2);
		ftw = get16(p + 4);
		if (real) {
			ip = get16(p + 6) | ((uint32_t)(get16(p + 8) & 0xf000) << 4);
			op = get16(p + 8) & 0x7ff;
			dp = get16(p + 10) | ((uint32_t)(get16(p + 12) & 0xf000) << 4);
		} else {
			ip = get16(p + 6);
			op = fx->fop;	/* not in the 16-bit protected layout */
			dp = get16(p + 10);
		}
	} else {
		fx->fcw = get16(p + 0);
		fsw = get16(p + 4);
		ftw = get16(p + 8);
		if (real) {
			ip = (get32(p + 12) & 0xffff) | ((get32(p + 16) & 0x0ffff000u) << 4);
			op = get32(p + 16) & 0x7ff;
			dp = (get32(p + 20) & 0xffff) | ((get32(p + 24) & 0x0ffff000u) << 4);
		} else {
			ip = get32(p + 12);
			op = (get32(p + 16) >> 16) & 0x7ff;
			dp = get32(p + 20);
		}
	}
	if (real) {
		/* Back to offsets, the form this CPU keeps. */
		ip -= cpu->st.seg[S_CS].base;
		dp -= cpu->st.seg[S_DS].base;
	}
	/* A new TOP renames the registers; their contents stay (FRSTOR then reloads them). */
	sw_fpu_set_top(cpu, (fsw & FSW_TOP) >> FSW_TOP_SHIFT);
	fx->fsw = fsw;
	fx->ftw = abridged_tags(ftw);
	fx->fcw = (fx->fcw & FCW_VALID) | FCW_ONE;
	fx->fip = ip;
	fx->fdp = dp;
	fx->fop = op;
	sw_x87_update_es(cpu);
	return in->zi.operand_width == 16 ? 14 : 28;
}

static uint64_t env_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned len, unsigned acc)
{
	return sw_seg_linear(cpu, sw_op_seg(in, 0), sw_op_ea(cpu, in, 0), len, acc);
}

static unsigned env_len(const struct sw_insn *in)
{
	return in->zi.operand_width == 16 ? 14 : 28;
}

static void x87_fnstenv(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t env[28];
	unsigned len;
	uint64_t la;

	sw_x87_enter(cpu, false);
	la = env_la(cpu, in, env_len(in), SW_ACC_WRITE);
	len = env_store(cpu, in, env);
	sw_fpu_write_buf(cpu, la, env, len);
	/* FSTENV then masks every exception (so a handler can use the FPU). */
	cpu->st.fx.fcw |= FSW_EXC;
	sw_x87_update_es(cpu);
}

static void x87_fldenv(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t env[28];
	unsigned len = env_len(in);

	sw_x87_enter(cpu, true);
	sw_fpu_read_buf(cpu, env_la(cpu, in, len, SW_ACC_READ), env, len);
	env_load(cpu, in, env);
}

static void x87_fnsave(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t img[108];
	unsigned len = env_len(in) + 80;
	uint64_t la;
	unsigned off;

	sw_x87_enter(cpu, false);
	la = env_la(cpu, in, len, SW_ACC_WRITE);
	off = env_store(cpu, in, img);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + off + 10 * i, cpu->st.fx.st[i], 10);
	sw_fpu_write_buf(cpu, la, img, len);
	x87_fninit(cpu, in);
}

static void x87_frstor(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint8_t img[108];
	unsigned len = env_len(in) + 80;
	unsigned off;

	sw_x87_enter(cpu, true);
	sw_fpu_read_buf(cpu, env_la(cpu, in, len, SW_ACC_READ), img, len);
	off = env_load(cpu, in, img);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(cpu->st.fx.st[i], img + off + 10 * i, 10);
		memset(cpu->st.fx.st[i] + 10, 0, 6);
	}
}

/* ---- registration ---- */

static const ZydisMnemonic host_ops[] = {
	ZYDIS_MNEMONIC_FADD, ZYDIS_MNEMONIC_FADDP, ZYDIS_MNEMONIC_FIADD,
	ZYDIS_MNEMONIC_FSUB, ZYDIS_MNEMONIC_FSUBP, ZYDIS_MNEMONIC_FISUB,
	ZYDIS_MNEMONIC_FSUBR, ZYDIS_MNEMONIC_FSUBRP, ZYDIS_MNEMONIC_FISUBR,
	ZYDIS_MNEMONIC_FMUL, ZYDIS_MNEMONIC_FMULP, ZYDIS_MNEMONIC_FIMUL,
	ZYDIS_MNEMONIC_FDIV, ZYDIS_MNEMONIC_FDIVP, ZYDIS_MNEMONIC_FIDIV,
	ZYDIS_MNEMONIC_FDIVR, ZYDIS_MNEMONIC_FDIVRP, ZYDIS_MNEMONIC_FIDIVR,
	ZYDIS_MNEMONIC_FCOM, ZYDIS_MNEMONIC_FCOMP, ZYDIS_MNEMONIC_FCOMPP,
	ZYDIS_MNEMONIC_FICOM, ZYDIS_MNEMONIC_FICOMP,
	ZYDIS_MNEMONIC_FUCOM, ZYDIS_MNEMONIC_FUCOMP, ZYDIS_MNEMONIC_FUCOMPP,
	ZYDIS_MNEMONIC_FCOMI, ZYDIS_MNEMONIC_FCOMIP, ZYDIS_MNEMONIC_FUCOMI,
	ZYDIS_MNEMONIC_FUCOMIP, ZYDIS_MNEMONIC_FTST, ZYDIS_MNEMONIC_FXAM,
	ZYDIS_MNEMONIC_FLD, ZYDIS_MNEMONIC_FILD, ZYDIS_MNEMONIC_FBLD,
	ZYDIS_MNEMONIC_FST, ZYDIS_MNEMONIC_FSTP, ZYDIS_MNEMONIC_FSTPNCE,
	ZYDIS_MNEMONIC_FIST, ZYDIS_MNEMONIC_FISTP, ZYDIS_MNEMONIC_FISTTP,
	ZYDIS_MNEMONIC_FBSTP,
	ZYDIS_MNEMONIC_FLD1, ZYDIS_MNEMONIC_FLDL2T, ZYDIS_MNEMONIC_FLDL2E,
	ZYDIS_MNEMONIC_FLDPI, ZYDIS_MNEMONIC_FLDLG2, ZYDIS_MNEMONIC_FLDLN2,
	ZYDIS_MNEMONIC_FLDZ,
	ZYDIS_MNEMONIC_FCHS, ZYDIS_MNEMONIC_FABS, ZYDIS_MNEMONIC_FSQRT,
	ZYDIS_MNEMONIC_FRNDINT, ZYDIS_MNEMONIC_FSCALE, ZYDIS_MNEMONIC_FXTRACT,
	ZYDIS_MNEMONIC_FPREM, ZYDIS_MNEMONIC_FPREM1,
	ZYDIS_MNEMONIC_F2XM1, ZYDIS_MNEMONIC_FYL2X, ZYDIS_MNEMONIC_FYL2XP1,
	ZYDIS_MNEMONIC_FPTAN, ZYDIS_MNEMONIC_FPATAN, ZYDIS_MNEMONIC_FSIN,
	ZYDIS_MNEMONIC_FCOS, ZYDIS_MNEMONIC_FSINCOS,
	ZYDIS_MNEMONIC_FXCH, ZYDIS_MNEMONIC_FFREE, ZYDIS_MNEMONIC_FFREEP,
	ZYDIS_MNEMONIC_FINCSTP, ZYDIS_MNEMONIC_FDECSTP, ZYDIS_MNEMONIC_FNOP,
	ZYDIS_MNEMONIC_FCMOVB, ZYDIS_MNEMONIC_FCMOVE, ZYDIS_MNEMONIC_FCMOVBE,
	ZYDIS_MNEMONIC_FCMOVU, ZYDIS_MNEMONIC_FCMOVNB, ZYDIS_MNEMONIC_FCMOVNE,
	ZYDIS_MNEMONIC_FCMOVNBE, ZYDIS_MNEMONIC_FCMOVNU,
};

void sw_register_x87(void)
{
	for (unsigned i = 0; i < sizeof(host_ops) / sizeof(host_ops[0]); i++)
		sw_handlers[host_ops[i]] = x87_host;
	sw_handlers[ZYDIS_MNEMONIC_FNINIT] = x87_fninit;
	sw_handlers[ZYDIS_MNEMONIC_FNCLEX] = x87_fnclex;
	sw_handlers[ZYDIS_MNEMONIC_FNSTCW] = x87_fnstcw;
	sw_handlers[ZYDIS_MNEMONIC_FLDCW] = x87_fldcw;
	sw_handlers[ZYDIS_MNEMONIC_FNSTSW] = x87_fnstsw;
	sw_handlers[ZYDIS_MNEMONIC_FWAIT] = x87_fwait;
	sw_handlers[ZYDIS_MNEMONIC_FNSTENV] = x87_fnstenv;
	sw_handlers[ZYDIS_MNEMONIC_FLDENV] = x87_fldenv;
	sw_handlers[ZYDIS_MNEMONIC_FNSAVE] = x87_fnsave;
	sw_handlers[ZYDIS_MNEMONIC_FRSTOR] = x87_frstor;
	sw_handlers[ZYDIS_MNEMONIC_FENI8087_NOP] = x87_fnop_control;
	sw_handlers[ZYDIS_MNEMONIC_FDISI8087_NOP] = x87_fnop_control;
	sw_handlers[ZYDIS_MNEMONIC_FSETPM287_NOP] = x87_fnop_control;
}
