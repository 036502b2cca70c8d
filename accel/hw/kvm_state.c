// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * struct x86_state <-> KVM's register ioctls. Segment attributes use the
 * VMX layout in both, so the conversion is mechanical.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <x86intrin.h>

#include "accel/hw/kvm.h"
#include "machine/cpuid.h"

static void seg_to_kvm(const struct x86_seg *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->sel;
	k->type = SEG_ATTR_TYPE(s->attr);
	k->s = !!(s->attr & SEG_ATTR_S);
	k->dpl = SEG_ATTR_DPL(s->attr);
	k->present = !!(s->attr & SEG_ATTR_P);
	k->avl = !!(s->attr & SEG_ATTR_AVL);
	k->l = !!(s->attr & SEG_ATTR_L);
	k->db = !!(s->attr & SEG_ATTR_DB);
	k->g = !!(s->attr & SEG_ATTR_G);
	k->unusable = !!(s->attr & SEG_ATTR_UNUSABLE);
}

static void seg_from_kvm(const struct kvm_segment *k, struct x86_seg *s)
{
	s->base = k->base;
	s->limit = k->limit;
	s->sel = k->selector;
	s->attr = (k->type & 0xf) | (k->s ? SEG_ATTR_S : 0) | ((k->dpl & 3u) << 5) |
		  (k->present ? SEG_ATTR_P : 0) | (k->avl ? SEG_ATTR_AVL : 0) |
		  (k->l ? SEG_ATTR_L : 0) | (k->db ? SEG_ATTR_DB : 0) | (k->g ? SEG_ATTR_G : 0) |
		  (k->unusable ? SEG_ATTR_UNUSABLE : 0);
}

/* The MSRs carried in struct x86_msrs, by index. */
static const struct {
	uint32_t index;
	size_t off;
} msr_map[] = {
	{ MSR_IA32_SYSENTER_CS, offsetof(struct x86_msrs, sysenter_cs) },
	{ MSR_IA32_SYSENTER_ESP, offsetof(struct x86_msrs, sysenter_esp) },
	{ MSR_IA32_SYSENTER_EIP, offsetof(struct x86_msrs, sysenter_eip) },
	{ MSR_STAR, offsetof(struct x86_msrs, star) },
	{ MSR_LSTAR, offsetof(struct x86_msrs, lstar) },
	{ MSR_CSTAR, offsetof(struct x86_msrs, cstar) },
	{ MSR_SFMASK, offsetof(struct x86_msrs, sfmask) },
	{ MSR_KERNEL_GS_BASE, offsetof(struct x86_msrs, kernel_gs_base) },
	{ MSR_IA32_PAT, offsetof(struct x86_msrs, pat) },
	{ MSR_IA32_MISC_ENABLE, offsetof(struct x86_msrs, misc_enable) },
	{ MSR_IA32_TSC, offsetof(struct x86_msrs, tsc) },
	/* Last: a KVM without RDTSCP/RDPID ends KVM_GET_MSRS/KVM_SET_MSRS here. */
	{ MSR_TSC_AUX, offsetof(struct x86_msrs, tsc_aux) },
};
#define NR_MSRS (sizeof(msr_map) / sizeof(msr_map[0]))

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[NR_MSRS + 2];	/* + FS and GS base, on set */
};

/*
 * The XSAVE state beyond x87 and SSE (get_fx/set_fx below): XCR0 and the AVX
 * upper halves (component 2 of KVM's standard-format XSAVE image, at byte
 * 576). A KVM without the ioctls (no XSAVE on the host) has XCR0 = 1 and
 * no YMM state, which is what the software CPU then has too.
 */
#define XSTATE_BV_OFF	512
#define XSTATE_AVX_OFF	576
#define XSTATE_AVX	(1ull << 2)

static void get_xstate(struct kvm_vcpu *kv, struct x86_state *st)
{
	struct kvm_xcrs xcrs;
	struct kvm_xsave xs;
	uint64_t bv;

	st->xcr0 = 1;
	memset(&xcrs, 0, sizeof(xcrs));
	if (ioctl(kv->fd, KVM_GET_XCRS, &xcrs) == 0) {
		for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				st->xcr0 = xcrs.xcrs[i].value;
	}
	memset(st->ymmh, 0, sizeof(st->ymmh));
	if (ioctl(kv->fd, KVM_GET_XSAVE, &xs) < 0)
		return;
	memcpy(&bv, (const uint8_t *)xs.region + XSTATE_BV_OFF, 8);
	if (bv & XSTATE_AVX)
		memcpy(st->ymmh, (const uint8_t *)xs.region + XSTATE_AVX_OFF, sizeof(st->ymmh));
}

static bool ymmh_zero(const struct x86_state *st)
{
	const uint8_t *p = &st->ymmh[0][0];

	for (size_t i = 0; i < sizeof(st->ymmh); i++)
		if (p[i])
			return false;
	return true;
}

/* After the x87/SSE state (which leaves component 2 alone): XCR0, then the upper halves. */
static int set_xstate(struct kvm_vcpu *kv, const struct x86_state *st)
{
	struct kvm_xcrs xcrs;
	struct kvm_xsave xs;
	bool zero = ymmh_zero(st);
	uint64_t bv;

	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = st->xcr0;
	/* XCR0 = 1 is every vCPU's reset value: only a KVM without XCRs refuses it. */
	if (ioctl(kv->fd, KVM_SET_XCRS, &xcrs) < 0 && st->xcr0 != 1)
		return -errno;
	if (ioctl(kv->fd, KVM_GET_XSAVE, &xs) < 0)
		return zero ? 0 : -errno;
	memcpy(&bv, (const uint8_t *)xs.region + XSTATE_BV_OFF, 8);
	if (zero && !(bv & XSTATE_AVX))
		return 0;	/* nothing to say: KVM has them in their initial state too */
	bv = zero ? bv & ~XSTATE_AVX : bv | XSTATE_AVX;
	memcpy((uint8_t *)xs.region + XSTATE_BV_OFF, &bv, 8);
	memcpy((uint8_t *)xs.region + XSTATE_AVX_OFF, st->ymmh, sizeof(st->ymmh));
	if (ioctl(kv->fd, KVM_SET_XSAVE, &xs) < 0)
		return -errno;
	return 0;
}

/*
 * The x87/SSE state goes through KVM_GET_XSAVE/KVM_SET_XSAVE, whose first
 * 512 bytes are the FXSAVE image: KVM_GET_FPU/KVM_SET_FPU lose MXCSR on
 * hosts whose KVM keeps the guest FPU in XSAVE form (kvm_pvm here: GET
 * gives 0, SET is ignored), so a rounding mode set on one engine was gone
 * on the other (and MXCSR 0 unmasks every SIMD exception). The rest of
 * the XSAVE image (AVX state, ...) is KVM's, untouched. true: no XSAVE
 * in this KVM, use the FPU ioctls.
 */
#define XSAVE_HDR_OFF	512
#define XSTATE_FP_SSE	3ull

static bool get_fx(struct kvm_vcpu *kv, struct x86_fxsave *fx)
{
	struct kvm_xsave *xs = malloc(sizeof(*xs));
	bool fallback = true;

	if (xs && ioctl(kv->fd, KVM_GET_XSAVE, xs) == 0) {
		memcpy(fx, xs->region, sizeof(*fx));
		fx->mxcsr_mask = 0xffff;
		fallback = false;
	}
	free(xs);
	return fallback;
}

static bool set_fx(struct kvm_vcpu *kv, const struct x86_fxsave *fx)
{
	struct kvm_xsave *xs = malloc(sizeof(*xs));
	bool fallback = true;

	if (xs && ioctl(kv->fd, KVM_GET_XSAVE, xs) == 0) {
		uint64_t bv;
		uint32_t mask;

		memcpy(&mask, (char *)xs->region + 28, 4);	/* KVM's MXCSR_MASK */
		memcpy(xs->region, fx, 512);
		memcpy((char *)xs->region + 28, &mask, 4);
		memset((char *)xs->region + 464, 0, 48);	/* reserved/available bytes */
		/* The image holds x87 and SSE state now: XSTATE_BV says so. */
		memcpy(&bv, (char *)xs->region + XSAVE_HDR_OFF, 8);
		bv |= XSTATE_FP_SSE;
		memcpy((char *)xs->region + XSAVE_HDR_OFF, &bv, 8);
		fallback = ioctl(kv->fd, KVM_SET_XSAVE, xs) != 0;
	}
	free(xs);
	return fallback;
}

int kvm_get_state(struct vcpu *vcpu, struct x86_state *st)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events ev;
	struct msr_buf m;
	int n;

	kvm_finish_io(vcpu);
	memset(st, 0, sizeof(*st));
	if (ioctl(kv->fd, KVM_GET_REGS, &r) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	st->gpr[R_AX] = r.rax; st->gpr[R_CX] = r.rcx; st->gpr[R_DX] = r.rdx;
	st->gpr[R_BX] = r.rbx; st->gpr[R_SP] = r.rsp; st->gpr[R_BP] = r.rbp;
	st->gpr[R_SI] = r.rsi; st->gpr[R_DI] = r.rdi; st->gpr[R_R8] = r.r8;
	st->gpr[R_R9] = r.r9; st->gpr[R_R10] = r.r10; st->gpr[R_R11] = r.r11;
	st->gpr[R_R12] = r.r12; st->gpr[R_R13] = r.r13; st->gpr[R_R14] = r.r14;
	st->gpr[R_R15] = r.r15;
	st->rip = r.rip;
	st->rflags = r.rflags;

	seg_from_kvm(&s.es, &st->seg[S_ES]);
	seg_from_kvm(&s.cs, &st->seg[S_CS]);
	seg_from_kvm(&s.ss, &st->seg[S_SS]);
	seg_from_kvm(&s.ds, &st->seg[S_DS]);
	seg_from_kvm(&s.fs, &st->seg[S_FS]);
	seg_from_kvm(&s.gs, &st->seg[S_GS]);
	seg_from_kvm(&s.ldt, &st->ldt);
	seg_from_kvm(&s.tr, &st->tr);
	st->gdt.base = s.gdt.base;
	st->gdt.limit = s.gdt.limit;
	st->idt.base = s.idt.base;
	st->idt.limit = s.idt.limit;
	if (kv->idt_hidden) {
		st->idt = kv->idt;
		st->rflags = (st->rflags & ~X86_RFLAGS_IOPL) | kv->iopl;
	}
	st->cr0 = s.cr0; st->cr2 = s.cr2; st->cr3 = s.cr3; st->cr4 = s.cr4; st->cr8 = s.cr8;
	st->efer = s.efer;
	st->msr.apic_base = s.apic_base;

	if (get_fx(kv, &st->fx) && ioctl(kv->fd, KVM_GET_FPU, &fpu) == 0) {
		st->fx.fcw = fpu.fcw;
		st->fx.fsw = fpu.fsw;
		st->fx.ftw = fpu.ftwx;
		st->fx.fop = fpu.last_opcode;
		st->fx.fip = fpu.last_ip;
		st->fx.fdp = fpu.last_dp;
		st->fx.mxcsr = fpu.mxcsr;
		st->fx.mxcsr_mask = 0xffff;
		memcpy(st->fx.st, fpu.fpr, sizeof(st->fx.st));
		memcpy(st->fx.xmm, fpu.xmm, sizeof(st->fx.xmm));
	}

	get_xstate(kv, st);

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = NR_MSRS;
	for (unsigned i = 0; i < NR_MSRS; i++)
		m.e[i].index = msr_map[i].index;
	n = ioctl(kv->fd, KVM_GET_MSRS, &m);
	for (int i = 0; i < n && i < (int)NR_MSRS; i++)
		*(uint64_t *)((char *)&st->msr + msr_map[i].off) = m.e[i].data;

	if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
		st->exception.pending = ev.exception.pending;
		st->exception.injected = ev.exception.injected;
		st->exception.vector = ev.exception.nr;
		st->exception.has_error = ev.exception.has_error_code;
		st->exception.error = ev.exception.error_code;
		st->interrupt.injected = ev.interrupt.injected;
		st->interrupt.vector = ev.interrupt.nr;
		/* An NMI KVM began to inject is delivered again by whoever runs next. */
		st->nmi_pending = ev.nmi.pending || ev.nmi.injected;
		st->nmi_blocked = ev.nmi.masked && !ev.nmi.injected;
		st->int_shadow = ev.interrupt.shadow != 0;
	}
	st->halted = kv->halted;
	return 0;
}

int kvm_set_state(struct vcpu *vcpu, const struct x86_state *st)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu fpu;
	struct msr_buf m;
	int ret;

	kv->idt_hidden = false;		/* @st has the IDT KVM is to use */
	memset(&r, 0, sizeof(r));
	r.rax = st->gpr[R_AX]; r.rcx = st->gpr[R_CX]; r.rdx = st->gpr[R_DX];
	r.rbx = st->gpr[R_BX]; r.rsp = st->gpr[R_SP]; r.rbp = st->gpr[R_BP];
	r.rsi = st->gpr[R_SI]; r.rdi = st->gpr[R_DI]; r.r8 = st->gpr[R_R8];
	r.r9 = st->gpr[R_R9]; r.r10 = st->gpr[R_R10]; r.r11 = st->gpr[R_R11];
	r.r12 = st->gpr[R_R12]; r.r13 = st->gpr[R_R13]; r.r14 = st->gpr[R_R14];
	r.r15 = st->gpr[R_R15];
	r.rip = st->rip;
	r.rflags = st->rflags | X86_RFLAGS_FIXED;

	/* Start from KVM's sregs so fields we do not model (interrupt bitmap) stay sane. */
	if (ioctl(kv->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	seg_to_kvm(&st->seg[S_ES], &s.es);
	seg_to_kvm(&st->seg[S_CS], &s.cs);
	seg_to_kvm(&st->seg[S_SS], &s.ss);
	seg_to_kvm(&st->seg[S_DS], &s.ds);
	seg_to_kvm(&st->seg[S_FS], &s.fs);
	seg_to_kvm(&st->seg[S_GS], &s.gs);
	seg_to_kvm(&st->ldt, &s.ldt);
	seg_to_kvm(&st->tr, &s.tr);
	s.gdt.base = st->gdt.base;
	s.gdt.limit = st->gdt.limit;
	s.idt.base = st->idt.base;
	s.idt.limit = st->idt.limit;
	s.cr0 = st->cr0; s.cr2 = st->cr2; s.cr3 = st->cr3; s.cr4 = st->cr4; s.cr8 = st->cr8;
	s.efer = st->efer;
	s.apic_base = st->msr.apic_base;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	if (ioctl(kv->fd, KVM_SET_SREGS, &s) < 0 || ioctl(kv->fd, KVM_SET_REGS, &r) < 0)
		return -errno;

	if (set_fx(kv, &st->fx)) {
		memset(&fpu, 0, sizeof(fpu));
		fpu.fcw = st->fx.fcw;
		fpu.fsw = st->fx.fsw;
		fpu.ftwx = st->fx.ftw;
		fpu.last_opcode = st->fx.fop;
		fpu.last_ip = st->fx.fip;
		fpu.last_dp = st->fx.fdp;
		fpu.mxcsr = st->fx.mxcsr;
		memcpy(fpu.fpr, st->fx.st, sizeof(fpu.fpr));
		memcpy(fpu.xmm, st->fx.xmm, sizeof(fpu.xmm));
		if (ioctl(kv->fd, KVM_SET_FPU, &fpu) < 0)
			return -errno;
	}
	ret = set_xstate(kv, st);
	if (ret < 0)
		return ret;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 0;
	for (unsigned i = 0; i < NR_MSRS; i++) {
		/* Leave the TSC running unless a snapshot carries a value. */
		if (msr_map[i].index == MSR_IA32_TSC && !st->msr.tsc)
			continue;
		m.e[m.hdr.nmsrs].index = msr_map[i].index;
		m.e[m.hdr.nmsrs].data = *(const uint64_t *)((const char *)&st->msr + msr_map[i].off);
		m.hdr.nmsrs++;
	}
	/*
	 * The FS and GS bases once more, as MSRs: kvm_pvm runs user code on
	 * host segments and takes the bases only from these (a 64-bit
	 * process's TLS through FS read zeros otherwise).
	 */
	m.e[m.hdr.nmsrs].index = MSR_FS_BASE;
	m.e[m.hdr.nmsrs++].data = st->seg[S_FS].base;
	m.e[m.hdr.nmsrs].index = MSR_GS_BASE;
	m.e[m.hdr.nmsrs++].data = st->seg[S_GS].base;
	ioctl(kv->fd, KVM_SET_MSRS, &m);	/* best effort: not every host has every MSR */

	/*
	 * Events: what the state still owes the guest replaces what KVM had
	 * queued (the software CPU delivers what it was handed).
	 */
	struct kvm_vcpu_events ev;

	if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
		ev.exception.pending = 0;
		ev.exception.injected = st->exception.pending || st->exception.injected;
		ev.exception.nr = st->exception.vector;
		ev.exception.has_error_code = st->exception.has_error;
		ev.exception.error_code = st->exception.error;
		ev.interrupt.injected = st->interrupt.pending || st->interrupt.injected;
		ev.interrupt.nr = st->interrupt.vector;
		ev.interrupt.soft = 0;
		ev.interrupt.shadow = st->int_shadow ? KVM_X86_SHADOW_INT_STI : 0;
		ev.nmi.pending = st->nmi_pending;
		ev.nmi.injected = 0;
		ev.nmi.masked = st->nmi_blocked;
		ev.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
		if (ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return -errno;
	}
	/*
	 * inject_interrupts() reads these from the last exit; the state
	 * just changed under them, so make them true again. KVM_INTERRUPT
	 * on a guest with IF=0 would be taken anyway.
	 */
	kv->run->if_flag = !!(st->rflags & X86_RFLAGS_IF);
	kv->run->ready_for_interrupt_injection = kv->run->if_flag && !st->int_shadow &&
						 !ev.interrupt.injected && !ev.exception.injected;
	kv->sregs_synced = false;
	kv->halted = st->halted;
	return 0;
}

/*
 * Guest TSC minus host TSC. KVM says it exactly where it can
 * (KVM_VCPU_TSC_OFFSET); else the best of a few timed reads of the MSR.
 */
int64_t kvm_tsc_offset(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	uint64_t off, best_window = UINT64_MAX;
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)(uintptr_t)&off,
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	int64_t best = 0;

	if (ioctl(kv->fd, KVM_HAS_DEVICE_ATTR, &a) == 0 &&
	    ioctl(kv->fd, KVM_GET_DEVICE_ATTR, &a) == 0)
		return (int64_t)off;
	for (int i = 0; i < 16; i++) {
		uint64_t t0, t1;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = MSR_IA32_TSC;
		t0 = __rdtsc();
		if (ioctl(kv->fd, KVM_GET_MSRS, &m) != 1)
			break;
		t1 = __rdtsc();
		if (t1 - t0 < best_window) {
			best_window = t1 - t0;
			best = (int64_t)(m.e.data - (t0 + (t1 - t0) / 2));
		}
	}
	return best;
}

int kvm_set_cpuid(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	const struct cpuid_model *m = &cpuid_global;
	struct kvm_cpuid2 *c;
	int ret = 0;

	c = calloc(1, sizeof(*c) + m->nr * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = m->nr;
	for (unsigned i = 0; i < m->nr; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t out[4];

		cpuid_model_lookup(m, vcpu->id, m->leaf[i].function, m->leaf[i].index, out);
		e->function = m->leaf[i].function;
		e->index = m->leaf[i].index;
		e->flags = cpuid_leaf_indexed(e->function) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		e->eax = out[0];
		e->ebx = out[1];
		e->ecx = out[2];
		e->edx = out[3];
	}
	if (ioctl(kv->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
