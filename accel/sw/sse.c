/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSE/SSE2 and MMX: what the families share. Availability rules (CR0.EM,
 * CR0.TS, CR4.OSFXSR, the MMX mode switch), vector operand access with
 * the 16-byte alignment rule, running SSE arithmetic on the host's unit
 * with the guest's MXCSR, LDMXCSR/STMXCSR and FXSAVE/FXRSTOR.
 *
 * Host execution: an SSE operation runs with the guest's MXCSR loaded
 * into the host's, so rounding, DAZ/FTZ, NaN results and the exception
 * flags are the host's own. When the guest has every SIMD exception
 * masked (the usual case) nothing can trap. When it has unmasked some,
 * the operation may raise #XM on the host: the kernel turns that into a
 * SIGFPE, whose handler reads the flags the hardware set from the signal
 * frame and jumps back; the guest then gets its #XM with the same flags
 * and an unwritten destination, exactly what the hardware does.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

#include "accel/sw/fpu.h"
#include "accel/sw/simd_ext.h"
#include "accel/sw/avx.h"

uint32_t sw_mxcsr_mask = 0xffbf;

/* ---- availability ---- */

void sw_sse_enter(struct sw_cpu *cpu)
{
	if (cpu->st.cr0 & X86_CR0_EM)
		sw_ud(cpu);
	if (!(cpu->st.cr4 & X86_CR4_OSFXSR))
		sw_ud(cpu);
	if (cpu->st.cr0 & X86_CR0_TS)
		sw_raise(cpu, X86_NM);
}

void sw_fpu_set_top(struct sw_cpu *cpu, unsigned top)
{
	struct x86_fxsave *fx = &cpu->st.fx;
	unsigned old = sw_fpu_top(cpu);

	top &= 7;
	if (top != old) {
		uint8_t st[8][16];

		/* Slot j must hold R[(top + j) & 7], which slot (top + j - old) & 7 has now. */
		memcpy(st, fx->st, sizeof(st));
		for (unsigned j = 0; j < 8; j++)
			memcpy(fx->st[j], st[(top + j - old) & 7], 16);
	}
	fx->fsw = (fx->fsw & ~FSW_TOP) | (top << FSW_TOP_SHIFT);
}

void sw_mmx_enter(struct sw_cpu *cpu)
{
	if (cpu->st.cr0 & X86_CR0_EM)
		sw_ud(cpu);
	if (cpu->st.cr0 & X86_CR0_TS)
		sw_raise(cpu, X86_NM);
	if (sw_x87_pending(cpu))
		sw_raise(cpu, X86_MF);
}

void sw_mmx_commit(struct sw_cpu *cpu)
{
	sw_fpu_set_top(cpu, 0);
	cpu->st.fx.ftw = 0xff;
}

bool sw_insn_has_mmx(const struct sw_insn *in)
{
	for (unsigned i = 0; i < in->zi.operand_count_visible; i++)
		if (sw_op_is_mmx(in, i))
			return true;
	return false;
}

void sw_simd_enter(struct sw_cpu *cpu, const struct sw_insn *in, bool sse)
{
	bool mmx = false;

	for (unsigned i = 0; i < in->zi.operand_count_visible; i++) {
		if (!sw_op_is_reg(in, i))
			continue;
		if (sw_fpu_is_xmm(in->op[i].reg.value))
			sse = true;
		else if (sw_fpu_is_mmx(in->op[i].reg.value))
			mmx = true;
	}
	if (sse)
		sw_sse_enter(cpu);
	if (mmx)
		sw_mmx_enter(cpu);
}

/* ---- memory operands ---- */

/* Legacy SSE 16-byte memory operands must be aligned, except for these. */
static bool unaligned_ok(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_MASKMOVDQU: case ZYDIS_MNEMONIC_LDDQU:
	case ZYDIS_MNEMONIC_PCMPESTRI: case ZYDIS_MNEMONIC_PCMPESTRM:
	case ZYDIS_MNEMONIC_PCMPISTRI: case ZYDIS_MNEMONIC_PCMPISTRM:
		return true;
	default:
		return false;
	}
}

uint64_t sw_simd_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, unsigned len,
		    unsigned acc)
{
	uint64_t la = sw_seg_linear(cpu, sw_op_seg(in, i), sw_op_ea(cpu, in, i), len, acc);

	if (len == 16 && (la & 15) && !unaligned_ok(in->zi.mnemonic))
		sw_gp0(cpu);
	return la;
}

void sw_fpu_read_buf(struct sw_cpu *cpu, uint64_t la, void *buf, unsigned len)
{
	sw_read_lin_buf(cpu, la, buf, len, SW_ACC_READ);
}

void sw_fpu_write_buf(struct sw_cpu *cpu, uint64_t la, const void *buf, unsigned len)
{
	/* Both pages must be writable before the first byte lands. */
	if ((la & 0xfff) + len > 0x1000)
		sw_probe_write_lin(cpu, la, len, SW_ACC_WRITE);
	sw_write_lin_buf(cpu, la, buf, len, SW_ACC_WRITE);
}

void sw_simd_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, union sw_vec *v)
{
	const struct sw_op *o = &in->op[i];
	unsigned len = o->size / 8;

	memset(v, 0, sizeof(*v));
	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		if (sw_fpu_is_xmm(o->reg.value))
			*v = *sw_xmm(cpu, in, i);
		else if (sw_fpu_is_mmx(o->reg.value))
			v->q[0] = sw_mmx_get(cpu, o->reg.value - ZYDIS_REGISTER_MM0);
		else
			v->q[0] = sw_op_read(cpu, in, i);
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		if (len == 1 || len == 2 || len == 4 || len == 8) {
			/* The ordinary path: segment checks, #AC, MMIO. */
			v->q[0] = sw_op_read(cpu, in, i);
		} else if (len <= 16) {
			uint64_t la = sw_simd_la(cpu, in, i, len, SW_ACC_READ);

			sw_fpu_read_buf(cpu, la, v->b, len);
		} else {
			sw_ud(cpu);
		}
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		v->q[0] = o->imm.value.u;
		break;
	default:
		sw_ud(cpu);
	}
}

void sw_simd_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i,
		   const union sw_vec *v)
{
	const struct sw_op *o = &in->op[i];
	unsigned len = o->size / 8;
	bool mmx = sw_insn_has_mmx(in);

	/*
	 * Storing an MMX register to memory, where the vendors differ (and
	 * the guest sees the host's): on Intel the register read has set
	 * TOP = 0 by the time the store can fault, the tags follow at
	 * completion (a faulting MOVQ m64, mm leaves TOP = 0, tags as they
	 * were); on AMD a faulting store leaves TOP and the tags alone.
	 */
	if (mmx && o->type == ZYDIS_OPERAND_TYPE_MEMORY && !sw_vendor_amd())
		sw_fpu_set_top(cpu, 0);
	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		if (sw_fpu_is_xmm(o->reg.value))
			*sw_xmm(cpu, in, i) = *v;
		else if (sw_fpu_is_mmx(o->reg.value))
			sw_mmx_set(cpu, o->reg.value - ZYDIS_REGISTER_MM0, v->q[0]);
		else
			sw_op_write(cpu, in, i, v->q[0]);
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		if (len == 1 || len == 2 || len == 4 || len == 8) {
			sw_op_write(cpu, in, i, v->q[0]);
		} else if (len <= 16) {
			uint64_t la = sw_simd_la(cpu, in, i, len, SW_ACC_WRITE);

			sw_fpu_write_buf(cpu, la, v->b, len);
		} else {
			sw_ud(cpu);
		}
		break;
	default:
		sw_ud(cpu);
	}
	if (mmx)
		sw_mmx_commit(cpu);
}

/* ---- host execution ---- */

static inline uint32_t host_stmxcsr(void)
{
	uint32_t v;

	__asm__ volatile("stmxcsr %0" : "=m"(v) : : "memory");
	return v;
}

static inline void host_ldmxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory");
}

/* The SIGFPE catcher of guarded runs (one per thread, armed while running). */
static __thread sigjmp_buf *trap_jb;
static __thread uint32_t trap_mxcsr;
static __thread bool trap_unblocked;
static struct sigaction trap_old;
static pthread_once_t trap_once = PTHREAD_ONCE_INIT;

static void trap_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	sigjmp_buf *jb = trap_jb;

	if (!jb) {
		/* Not a guest operation: act as if this handler were not there. */
		if ((trap_old.sa_flags & SA_SIGINFO) && trap_old.sa_sigaction) {
			trap_old.sa_sigaction(sig, si, ucv);
		} else if (!(trap_old.sa_flags & SA_SIGINFO) && trap_old.sa_handler != SIG_DFL &&
			   trap_old.sa_handler != SIG_IGN) {
			trap_old.sa_handler(sig);
		} else {
			/* Returning re-executes the insn, which then takes the default action. */
			signal(SIGFPE, SIG_DFL);
		}
		return;
	}
	trap_jb = NULL;
	/* No saved FPU state would be a kernel bug; still report an exception. */
	trap_mxcsr = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0x1;
	siglongjmp(*jb, 1);
}

static void trap_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_handler;
	/* NODEFER: the mask is left as it was, so jumping out needs no restore. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, &trap_old);
}

/*
 * A run with some exception unmasked: a synchronous SIGFPE while it is
 * blocked would kill the process, so unblock it in this thread (once).
 */
static uint32_t run_guarded(sw_sse_host_fn fn, union sw_vec *d, const union sw_vec *s,
			    uint32_t mxcsr, bool *trapped)
{
	sigjmp_buf jb;
	union sw_vec tmp = *d;
	uint32_t host = host_stmxcsr(), out;

	pthread_once(&trap_once, trap_install);
	if (!trap_unblocked) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGFPE);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		trap_unblocked = true;
	}
	if (sigsetjmp(jb, 0)) {
		/* The kernel gave the handler a fresh FPU state: put the host's back. */
		host_ldmxcsr(host);
		*trapped = true;
		return trap_mxcsr;
	}
	trap_jb = &jb;
	host_ldmxcsr(mxcsr);
	fn(&tmp, s);
	out = host_stmxcsr();
	host_ldmxcsr(host);
	trap_jb = NULL;
	*d = tmp;
	*trapped = false;
	return out;
}

uint32_t sw_sse_host(struct sw_cpu *cpu, sw_sse_host_fn fn, union sw_vec *d,
		     const union sw_vec *s, bool *unmasked)
{
	/* Start with clear flags so the result says what this operation raised. */
	uint32_t mx = cpu->st.fx.mxcsr & sw_mxcsr_mask & ~MXCSR_FLAGS;
	uint32_t host, out;

	if ((mx & MXCSR_MASKS) != MXCSR_MASKS) {
		out = run_guarded(fn, d, s, mx, unmasked);
		return out & MXCSR_FLAGS;
	}
	host = host_stmxcsr();
	host_ldmxcsr(mx);
	fn(d, s);
	out = host_stmxcsr();
	host_ldmxcsr(host);
	*unmasked = false;
	return out & MXCSR_FLAGS;
}

void sw_sse_flags(struct sw_cpu *cpu, uint32_t flags)
{
	uint32_t *mx = &cpu->st.fx.mxcsr;

	flags &= MXCSR_FLAGS;
	*mx |= flags;
	if (flags & ~(*mx >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS) {
		if (cpu->st.cr4 & X86_CR4_OSXMMEXCPT)
			sw_raise(cpu, X86_XM);
		sw_ud(cpu);
	}
}

/* ---- MXCSR ---- */

static void sse_ldmxcsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	uint32_t v;

	sw_sse_enter(cpu);
	v = sw_op_read(cpu, in, 0);
	if (v & ~sw_mxcsr_mask)
		sw_gp0(cpu);
	cpu->st.fx.mxcsr = v;
}

static void sse_stmxcsr(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_sse_enter(cpu);
	sw_op_write(cpu, in, 0, cpu->st.fx.mxcsr);
}

/* ---- FXSAVE / FXRSTOR ---- */

/*
 * Bytes of the image the instruction touches: the header, the x87
 * registers and XMM0-7, or XMM0-15 in 64-bit mode. The reserved and
 * software-available tail (from byte 288 or 416) is left alone.
 */
static unsigned fx_len(struct sw_cpu *cpu)
{
	return 160 + 16 * (sw_64bit(cpu) ? 16 : 8);
}

static uint64_t fx_la(struct sw_cpu *cpu, const struct sw_insn *in, unsigned acc)
{
	uint64_t la;

	/* EM or TS: #NM (not #UD: FXSAVE is how a kernel saves lazily). */
	if (cpu->st.cr0 & (X86_CR0_EM | X86_CR0_TS))
		sw_raise(cpu, X86_NM);
	la = sw_seg_linear(cpu, sw_op_seg(in, 0), sw_op_ea(cpu, in, 0), 512, acc);
	if (la & 15)
		sw_gp0(cpu);
	return la;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
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

static void sse_fxsave(struct sw_cpu *cpu, const struct sw_insn *in)
{
	const struct x86_fxsave *fx = &cpu->st.fx;
	bool rex_w = in->zi.mnemonic == ZYDIS_MNEMONIC_FXSAVE64;
	uint8_t img[512];
	unsigned len = fx_len(cpu);
	uint64_t la = fx_la(cpu, in, SW_ACC_WRITE);

	memset(img, 0, sizeof(img));
	put16(img + 0, fx->fcw);
	put16(img + 2, fx->fsw);
	img[4] = fx->ftw;
	put16(img + 6, fx->fop & 0x7ff);
	if (rex_w) {
		put64(img + 8, fx->fip);
		put64(img + 16, fx->fdp);
	} else {
		/* 32-bit layout: offsets, FCS and FDS (deprecated, zero). */
		put32(img + 8, fx->fip);
		put32(img + 16, fx->fdp);
	}
	put32(img + 24, fx->mxcsr);
	put32(img + 28, sw_mxcsr_mask);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, fx->st[i], 10);
	memcpy(img + 160, fx->xmm, len - 160);
	sw_fpu_write_buf(cpu, la, img, len);
}

static void sse_fxrstor(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct x86_fxsave *fx = &cpu->st.fx;
	bool rex_w = in->zi.mnemonic == ZYDIS_MNEMONIC_FXRSTOR64;
	uint8_t img[512];
	unsigned len = fx_len(cpu);
	uint64_t la = fx_la(cpu, in, SW_ACC_READ);
	uint32_t mxcsr;

	sw_fpu_read_buf(cpu, la, img, len);
	mxcsr = get32(img + 24);
	if (mxcsr & ~sw_mxcsr_mask)
		sw_gp0(cpu);

	fx->fcw = (get16(img + 0) & FCW_VALID) | FCW_ONE;
	fx->fsw = get16(img + 2);
	fx->ftw = img[4];
	fx->rsvd0 = 0;
	fx->fop = get16(img + 6) & 0x7ff;
	if (rex_w) {
		fx->fip = get64(img + 8);
		fx->fdp = get64(img + 16);
	} else {
		fx->fip = get32(img + 8);
		fx->fdp = get32(img + 16);
	}
	fx->mxcsr = mxcsr;
	for (unsigned i = 0; i < 8; i++) {
		memcpy(fx->st[i], img + 32 + 16 * i, 10);
		memset(fx->st[i] + 10, 0, 6);
	}
	memcpy(fx->xmm, img + 160, len - 160);
	/* Unmasked flags loaded here raise #MF at the next waiting insn. */
	sw_x87_update_es(cpu);
}

/* The host's MXCSR_MASK (zero in the image means the original 0xffbf). */
static void probe_mxcsr_mask(void)
{
	struct x86_fxsave img;

	memset(&img, 0, sizeof(img));
	__asm__ volatile("fxsave64 %0" : "=m"(img));
	sw_mxcsr_mask = img.mxcsr_mask ? img.mxcsr_mask : 0xffbf;
}

void sw_register_sse(void)
{
	probe_mxcsr_mask();
	sw_handlers[ZYDIS_MNEMONIC_LDMXCSR] = sse_ldmxcsr;
	sw_handlers[ZYDIS_MNEMONIC_STMXCSR] = sse_stmxcsr;
	sw_handlers[ZYDIS_MNEMONIC_FXSAVE] = sse_fxsave;
	sw_handlers[ZYDIS_MNEMONIC_FXSAVE64] = sse_fxsave;
	sw_handlers[ZYDIS_MNEMONIC_FXRSTOR] = sse_fxrstor;
	sw_handlers[ZYDIS_MNEMONIC_FXRSTOR64] = sse_fxrstor;
	sw_register_sse_move();
	sw_register_sse_int();
	sw_register_sse_fp();
	/* The x86-64-v2 extensions, each gated by the CPU model. */
	sw_register_sse3();
	sw_register_ssse3();
	sw_register_sse4();
	sw_register_avx();
}
