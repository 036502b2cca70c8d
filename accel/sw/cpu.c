// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software x86 CPU: the engine ops table and the run loop.
 *
 * One instruction at a time: decode (cached per guest-physical page),
 * call the family handler, commit rip. Faults unwind here by siglongjmp
 * (cpu->jmp) and are delivered by excp.c. External interrupts are taken
 * between instructions when IF=1 and no STI/MOV SS shadow is in effect.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>


#include "accel/accel.h"
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"
#include "accel/sw/fallback.h"
#include "accel/sw/fpu.h"
#include "accel/sw/icount.h"
#include "accel/sw/sys.h"
#include "accel/sw/translator/tb.h"
#include "machine/cpuid.h"
#include "machine/disasm.h"
#include "machine/symbols.h"
#include "machine/timer.h"

sw_handler sw_handlers[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/* A vCPU of the engine: the CPU plus the flag vcpu_kick() sets from any thread. */
struct sw_vcpu {
	struct sw_cpu cpu;
	atomic_int kick;
	atomic_bool running;	/* in sw_run(), for sw_cpl_hint() */
};

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void register_handlers(void)
{
	sw_register_arith();
	sw_register_logic();
	sw_register_shift();
	sw_register_bcd();
	sw_register_datamov();
	sw_register_stack();
	sw_register_control();
	sw_register_string();
	sw_register_system();
	sw_register_seg();
	/* x87/MMX/SSE last: they own their mnemonics outright. */
	sw_register_x87();
	sw_register_sse();
	sw_register_bmi();
	sw_register_crypto();
	sw_register_xsave();
}

/* ---- tracing ---- */

/*
 * One line per instruction: vCPU, linear address, symbol, bytes, and the
 * instruction as Zydis (the decoder this CPU used) formats it.
 */
static void trace_insn(struct sw_cpu *cpu, const struct sw_insn *in)
{
	struct vm *vm = cpu->vm;
	uint64_t la = cpu->st.seg[S_CS].base + cpu->st.rip;
	unsigned bits = sw_code_bits(cpu);

	if (!sw_64bit(cpu))
		la &= 0xffffffff;
	if (vm_tracing(vm, TRACE_CPU)) {
		const uint64_t *r = cpu->st.gpr;

		vm_trace(vm, TRACE_CPU,
			 "CPU%u rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " rdx=%" PRIx64
			 " rsi=%" PRIx64 " rdi=%" PRIx64 " rbp=%" PRIx64 " rsp=%" PRIx64
			 " r8=%" PRIx64 " r9=%" PRIx64 " r10=%" PRIx64 " r11=%" PRIx64
			 " r12=%" PRIx64 " r13=%" PRIx64 " r14=%" PRIx64 " r15=%" PRIx64
			 " rip=%04x:%" PRIx64 " rfl=%" PRIx64 " cpl=%u\n", cpu->vcpu ? cpu->vcpu->id : 0,
			 r[R_AX], r[R_BX], r[R_CX], r[R_DX], r[R_SI], r[R_DI], r[R_BP], r[R_SP],
			 r[R_R8], r[R_R9], r[R_R10], r[R_R11], r[R_R12], r[R_R13], r[R_R14],
			 r[R_R15], cpu->st.seg[S_CS].sel, cpu->st.rip, cpu->st.rflags,
			 sw_cpl(cpu));
	}
	/*
	 * exec: one line per block run -- a straight run of instructions,
	 * a new one wherever control did not fall through (a branch taken,
	 * an event delivered, a new run). Per thread: one vCPU each.
	 */
	if (vm_tracing(vm, TRACE_EXEC)) {
		static __thread uint64_t fall_through = ~0ull;
		char sym[160];

		if (la != fall_through)
			vm_trace(vm, TRACE_EXEC, "CPU%u exec 0x%016" PRIx64 "%s\n",
				 cpu->vcpu ? cpu->vcpu->id : 0, la,
				 symbols_describe(vm->symbols, la, sym, sizeof(sym)));
		fall_through = la + in->len;
	}
	if (vm_tracing(vm, TRACE_IN_ASM)) {
		const uint8_t *b = sw_insn_bytes(in);
		char text[160], sym[160], hex[3 * 15 + 1];
		size_t h = 0;

		for (unsigned i = 0; i < in->len && i < 15; i++)
			h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x ", b[i]);
		hex[h ? h - 1 : 0] = 0;
		if (!x86_describe_insn(b, in->len, la, bits, text, sizeof(text)))
			snprintf(text, sizeof(text), "(%s)", ZydisMnemonicGetString(in->zi.mnemonic));
		vm_trace(vm, TRACE_IN_ASM, "CPU%u 0x%016" PRIx64 "%s: %-30s %s\n",
			 cpu->vcpu ? cpu->vcpu->id : 0, la,
			 symbols_describe(vm->symbols, la, sym, sizeof(sym)), hex, text);
	}
}

/* ---- instructions without a handler ---- */

/*
 * The decoder knows the instruction but no family implements it. x87,
 * MMX, SSE and AVX go to system.c's sw_fpu_absent() for the architectural
 * #NM/#UD checks (CR0.EM/TS/MP, CR4.OSFXSR): the place x87.c / sse.c
 * will plug in. Anything else is #UD.
 */
static void no_handler(struct sw_cpu *cpu, const struct sw_insn *in)
{
	switch (in->zi.meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87:
	case ZYDIS_ISA_EXT_MMX:
	case ZYDIS_ISA_EXT_SSE:
	case ZYDIS_ISA_EXT_SSE2:
	case ZYDIS_ISA_EXT_SSE3:
	case ZYDIS_ISA_EXT_SSSE3:
	case ZYDIS_ISA_EXT_SSE4:
	case ZYDIS_ISA_EXT_SSE4A:
	case ZYDIS_ISA_EXT_AVX:
	case ZYDIS_ISA_EXT_AVX2:
	case ZYDIS_ISA_EXT_AVX512EVEX:
	case ZYDIS_ISA_EXT_AVX512VEX:
	case ZYDIS_ISA_EXT_FMA:
	case ZYDIS_ISA_EXT_F16C:
		sw_fpu_absent(cpu, in);
		break;
	default:
		break;
	}
	sw_ud(cpu);
}

/* ---- one instruction ---- */

ZydisMnemonic sw_exec_insn(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned bits = sw_code_bits(cpu);
	uint64_t next = cpu->st.rip + in->len;
	ZydisMnemonic mn = in->zi.mnemonic;
	sw_handler fn = in->fn;

	if (bits == 16)
		next &= 0xffff;
	else if (bits == 32)
		next &= 0xffffffff;
	cpu->next_rip = next;
	cpu->insn = in;
	if (__builtin_expect(cpu->vm->trace != NULL, 0) &&
	    (cpu->vm->cfg.trace & (TRACE_IN_ASM | TRACE_CPU | TRACE_EXEC)))
		trace_insn(cpu, in);
	/*
	 * The handler may write to the page holding this instruction: the
	 * decode cache then unlinks the entry but keeps its memory until the
	 * next decode, so @in stays readable until the handler returns; after
	 * it only @mn and cpu->next_rip are used.
	 */
	if (fn)
		fn(cpu, in);
	else
		no_handler(cpu, in);
	cpu->insn = NULL;
	cpu->st.rip = sw_64bit(cpu) ? cpu->next_rip : cpu->next_rip & 0xffffffff;
	cpu->icount++;
	if (__builtin_expect(cpu->pmu_on, 0))
		sw_pmu_retire(cpu);
	return mn;
}

static ZydisMnemonic step(struct sw_cpu *cpu)
{
	return sw_exec_insn(cpu, sw_decode(cpu));
}

void sw_step(struct sw_cpu *cpu)
{
	step(cpu);
}

/* ---- the loop ---- */

struct run_ctx {
	uint64_t steps, max;
	atomic_int *kick;
	bool intr_hint;		/* the INTR pin may be asserted: ask the PIC */
};

static bool must_return(struct sw_cpu *cpu)
{
	struct vm *vm = cpu->vm;

	return (cpu->vcpu && atomic_load(&cpu->vcpu->kick)) || vm_should_stop(vm) ||
	       atomic_load(&vm->reset_request);
}

static bool is_soft_int(ZydisMnemonic mn)
{
	return mn == ZYDIS_MNEMONIC_INT || mn == ZYDIS_MNEMONIC_INT3 ||
	       mn == ZYDIS_MNEMONIC_INTO || mn == ZYDIS_MNEMONIC_INT1;
}

static bool is_iret(ZydisMnemonic mn)
{
	return mn == ZYDIS_MNEMONIC_IRET || mn == ZYDIS_MNEMONIC_IRETD ||
	       mn == ZYDIS_MNEMONIC_IRETQ;
}

/* Events handed over in the state (from KVM or a snapshot), delivered first. */
static bool deliver_pending_state_events(struct sw_cpu *cpu)
{
	struct x86_state *st = &cpu->st;

	if (st->exception.pending || st->exception.injected) {
		struct x86_event e = st->exception;

		st->exception.pending = st->exception.injected = false;
		cpu->next_rip = st->rip;
		sw_deliver_event(cpu, e.vector, SW_EV_EXCEPTION, e.has_error, e.error);
		return true;
	}
	if (st->interrupt.pending || st->interrupt.injected) {
		uint8_t v = st->interrupt.vector;

		st->interrupt.pending = st->interrupt.injected = false;
		cpu->next_rip = st->rip;
		st->halted = false;
		sw_deliver_event(cpu, v, SW_EV_EXT_INT, false, 0);
		return true;
	}
	return false;
}

/* The APIC's NMI message (machine/vm.c latches it in the vCPU) becomes the CPU's pending NMI. */
static void latch_nmi(struct sw_cpu *cpu)
{
	if (cpu->vcpu && atomic_load_explicit(&cpu->vcpu->nmi_req, memory_order_relaxed) &&
	    atomic_exchange(&cpu->vcpu->nmi_req, false))
		cpu->st.nmi_pending = true;
}

/*
 * A pending NMI is taken at an instruction boundary unless an NMI handler
 * runs (blocked until the next IRET, excp.c / seg.c) or a MOV SS / STI
 * shadow covers this boundary; IF does not matter.
 */
static bool take_nmi(struct sw_cpu *cpu)
{
	struct x86_state *st = &cpu->st;

	if (!st->nmi_pending || st->nmi_blocked || st->int_shadow || cpu->dbg.step)
		return false;
	st->nmi_pending = false;
	st->nmi_blocked = true;
	st->halted = false;
	cpu->nr_interrupts++;
	cpu->next_rip = st->rip;
	sw_deliver_event(cpu, X86_NMI, SW_EV_NMI, false, 0);
	return true;
}

/*
 * SYSCALL, SYSRET, SYSENTER and SYSEXIT single-step on the TF they leave:
 * SYSCALL masked by SFMASK first (no trap when it clears TF), SYSRET with
 * R11's TF traps at the user RIP before any user instruction runs (the
 * reason Linux returns with IRET when TF is set).
 */
static bool tf_after(ZydisMnemonic mn)
{
	return mn == ZYDIS_MNEMONIC_SYSCALL || mn == ZYDIS_MNEMONIC_SYSRET ||
	       mn == ZYDIS_MNEMONIC_SYSENTER || mn == ZYDIS_MNEMONIC_SYSEXIT;
}

static bool take_interrupt(struct sw_cpu *cpu, struct run_ctx *c)
{
	struct vm *vm = cpu->vm;
	int v;
	unsigned id = cpu->vcpu ? cpu->vcpu->id : 0;

	c->intr_hint = false;
	if (!vm_intr_pending(vm, id))
		return false;
	v = vm_intr_ack(vm, id);
	if (v < 0)
		return false;
	cpu->st.halted = false;
	cpu->nr_interrupts++;
	cpu->next_rip = cpu->st.rip;
	sw_deliver_event(cpu, (unsigned)v, SW_EV_EXT_INT, false, 0);
	c->intr_hint = true;	/* another one may be waiting */
	return true;
}

/* Poll the PIC at least this often even without a kick (a safety net). */
#define INTR_POLL_MASK	4095

/* ---- jit=check with several vCPUs: one runs at a time (struct sw_vm) ---- */

#define SW_SERIAL_SLICE	64

static void serial_leave(struct sw_cpu *cpu)
{
	if (!cpu->serial_held)
		return;
	cpu->serial_held = false;
	atomic_fetch_add(&cpu->svm->serial_owner, 1);
}

/* At a loop step: keep the turn for a slice, then queue again behind the others. */
static void serial_step(struct sw_cpu *cpu)
{
	struct sw_vm *svm = cpu->svm;
	unsigned ticket;

	if (!svm->serialize)
		return;
	if (cpu->serial_held && cpu->serial_left--)
		return;
	serial_leave(cpu);
	ticket = atomic_fetch_add(&svm->serial_next, 1);
	while (atomic_load(&svm->serial_owner) != ticket)
		sched_yield();
	cpu->serial_held = true;
	cpu->serial_left = SW_SERIAL_SLICE;
}

static enum vcpu_stop run_inner(struct sw_cpu *cpu, struct run_ctx *c)
{
	struct x86_state *st = &cpu->st;

	for (;;) {
		ZydisMnemonic mn;
		bool tf, shadow, held;

		serial_step(cpu);

		if (cpu->stop_req) {
			cpu->stop_req = false;
			return cpu->stop;
		}
		/*
		 * Handing ring 0 back to its owner: 64-bit user code runs faster
		 * there. Not before the first instruction or event: a caller
		 * that hands over user code wants that step replayed here.
		 */
		if (__builtin_expect(cpu->stop_at_user, 0) && c->steps &&
		    (st->seg[S_CS].sel & 3) == 3 && sw_64bit(cpu))
			return VCPU_STOP_KICK;
		if (c->max && c->steps >= c->max)
			return VCPU_STOP_KICK;
		if (c->kick && atomic_load_explicit(c->kick, memory_order_relaxed)) {
			atomic_store(c->kick, 0);
			latch_nmi(cpu);
			if (must_return(cpu))
				return VCPU_STOP_KICK;
			c->intr_hint = true;
		}
		if (__builtin_expect(cpu->vm && cpu->vm->cfg.icount, 0) &&
		    sw_icount_point(cpu))
			c->intr_hint = true;
		if (__builtin_expect(cpu->dbg.on, 0) && sw_debug_check(cpu))
			return VCPU_STOP_DEBUG;
		if (__builtin_expect(st->exception.pending || st->exception.injected ||
				     st->interrupt.pending || st->interrupt.injected, 0)) {
			c->steps++;
			deliver_pending_state_events(cpu);
			continue;
		}
		if (__builtin_expect(st->nmi_pending, 0) && take_nmi(cpu)) {
			c->steps++;
			continue;
		}
		/*
		 * A debugger's single step masks interrupts (QEMU's sstep NOIRQ).
		 * -icount polls at counts, not steps (sw_icount_point()).
		 */
		if ((st->rflags & X86_RFLAGS_IF) && !st->int_shadow && !cpu->dbg.step &&
		    (c->intr_hint || st->halted ||
		     (!(c->steps & INTR_POLL_MASK) && !(cpu->vm && cpu->vm->cfg.icount)))) {
			if (take_interrupt(cpu, c)) {
				c->steps++;
				continue;
			}
		}
		if (st->halted) {
			/* -icount: time jumps to the next deadline instead of passing. */
			if (cpu->vm && cpu->vm->cfg.icount && sw_icount_warp(cpu)) {
				c->intr_hint = true;
				continue;
			}
			return VCPU_STOP_HALT;
		}

		tf = st->rflags & X86_RFLAGS_TF;
		shadow = st->int_shadow;
		held = cpu->pending_db_trap;
		/* Translated code, where it can run; it returns for anything above. */
		if (!c->max && cpu->tb.tv && !tf && !shadow && !held && !cpu->dbg.on &&
		    !cpu->pmu_on) {
			uint64_t n = tb_exec(cpu);

			if (n) {
				c->steps += n;
				continue;
			}
		}
		c->steps++;
		mn = step(cpu);
		/* The shadow covers exactly one instruction after STI / MOV SS. */
		if (shadow)
			st->int_shadow = false;
		if ((st->rflags & X86_RFLAGS_RF) && !is_iret(mn))
			st->rflags &= ~X86_RFLAGS_RF;
		if (tf_after(mn))
			tf = st->rflags & X86_RFLAGS_TF;
		/*
		 * Single-step trap: TF was set when the instruction began. An
		 * instruction that starts a shadow (MOV SS, POP SS, STI with
		 * IF=0) holds it until after the next instruction, as the host
		 * CPU does for MOV SS and QEMU for both.
		 */
		if (((tf && !is_soft_int(mn)) || held) && !cpu->stop_req) {
			if (!held && st->int_shadow) {
				cpu->pending_db_trap = true;
				continue;
			}
			cpu->pending_db_trap = false;
			st->dr[6] |= 1u << 14;	/* BS */
			cpu->next_rip = st->rip;
			sw_deliver_event(cpu, X86_DB, SW_EV_EXCEPTION, false, 0);
		}
	}
}

enum vcpu_stop sw_run(struct sw_cpu *cpu, uint64_t max_insns, atomic_int *kick)
{
	/*
	 * Kept in memory and only changed through a pointer by run_inner(), so
	 * its contents are well defined after a siglongjmp back here.
	 */
	struct run_ctx ctx = { .max = max_insns, .kick = kick, .intr_hint = true };
	struct run_ctx *volatile c = &ctx;
	enum vcpu_stop stop;

	tb_set_kick(cpu, (const volatile int *)kick);
	sw_debug_begin(cpu);
	latch_nmi(cpu);
	/* savemask 0: no signal mask syscall per exception. */
	if (sigsetjmp(cpu->jmp, 0)) {
		cpu->insn = NULL;
		cpu->nr_exceptions++;
		/* A fault in a MOV SS shadow: the trap held for the next instruction goes. */
		cpu->pending_db_trap = false;
		/*
		 * excp.c traces the delivery; a fault during it comes back
		 * through its own sigsetjmp (it counts the nesting).
		 */
		sw_handle_exception(cpu);
	}
	stop = run_inner(cpu, c);
	serial_leave(cpu);
	/* -icount: whoever reads the clock now (a snapshot) reads this count's. */
	if (cpu->vm && cpu->vm->cfg.icount)
		sw_icount_leave(cpu);
	return stop;
}

/* ---- engine data ---- */

static uint64_t ram_pages(const struct vm *vm)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < vm->nr_ram; i++)
		if (vm->ram[i].gpa + vm->ram[i].size > end)
			end = vm->ram[i].gpa + vm->ram[i].size;
	return (end + 4095) >> 12;
}

/*
 * jit=on (the default), off or check. Per-instruction traces (in_asm,
 * cpu) and exec come from the interpreter, so they turn the translator off.
 */
static enum tb_mode jit_mode(struct vm *vm)
{
	char v[8];

	if (!vm)
		return TB_ON;
	if (vm->trace && (vm->cfg.trace & (TRACE_IN_ASM | TRACE_CPU | TRACE_EXEC)))
		return TB_OFF;
	if (!accel_opt_value(vm->cfg.accel_opts, "jit", v, sizeof(v)))
		return TB_ON;
	if (!strcmp(v, "off"))
		return TB_OFF;
	if (!strcmp(v, "check"))
		return TB_CHECK;
	return TB_ON;
}

static bool jit_perfmap(struct vm *vm)
{
	char v[8];

	return vm && accel_opt_value(vm->cfg.accel_opts, "perfmap", v, sizeof(v)) &&
	       strcmp(v, "off");
}

int sw_vm_init_data(struct sw_vm *svm, struct vm *vm)
{
	int ret;

	pthread_once(&handlers_once, register_handlers);
	memset(svm, 0, sizeof(*svm));
	svm->vm = vm;
	/* The guest TSC starts at 0; -icount: on the instruction clock, which starts at 0 too. */
	svm->tsc_offset0 = vm && vm->cfg.icount ? 0 : 0 - __rdtsc();
	svm->serialize = vm && vm->cfg.smp > 1 && jit_mode(vm) == TB_CHECK;
	svm->nr_pages = ram_pages(vm);
	svm->page_flags = calloc(svm->nr_pages ? svm->nr_pages : 1, 1);
	if (!svm->page_flags)
		return -ENOMEM;
	ret = sw_decode_init(svm);
	if (ret) {
		free(svm->page_flags);
		svm->page_flags = NULL;
		return ret;
	}
	ret = tb_vm_init(svm, jit_mode(vm), jit_perfmap(vm));
	if (ret) {
		sw_decode_destroy(svm);
		free(svm->page_flags);
		svm->page_flags = NULL;
		return ret;
	}
	return 0;
}

void sw_vm_destroy_data(struct sw_vm *svm)
{
	tb_vm_destroy(svm);
	sw_decode_destroy(svm);
	free(svm->page_flags);
	svm->page_flags = NULL;
	svm->nr_pages = 0;
}

/*
 * Decoders: 16/32/64-bit. Without LZCNT/TZCNT in the CPU model, F3 0F BD/BC
 * execute as BSR/BSF, as on processors that lack them.
 */
static void init_decoder(ZydisDecoder *d, ZydisMachineMode mode, ZydisStackWidth sw)
{
	uint32_t l7[4], l81[4];

	ZydisDecoderInit(d, mode, sw);
	cpuid_model_lookup(&cpuid_global, 0, 7, 0, l7);
	cpuid_model_lookup(&cpuid_global, 0, 0x80000001, 0, l81);
	ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_LZCNT, !!(l81[2] & (1u << 5)));
	ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_TZCNT, !!(l7[1] & (1u << 3)));
}

int sw_cpu_init(struct sw_cpu *cpu, struct vm *vm, struct sw_vm *svm)
{
	int ret;

	pthread_once(&handlers_once, register_handlers);
	memset(cpu, 0, sizeof(*cpu));
	cpu->vm = vm;
	cpu->svm = svm;
	x86_state_reset(&cpu->st);
	if (svm)
		cpu->tsc_offset = svm->tsc_offset0;
	init_decoder(&cpu->dec16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
	init_decoder(&cpu->dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	init_decoder(&cpu->dec64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ret = sw_mmu_init(cpu);
	if (ret)
		return ret;
	ret = tb_cpu_init(cpu);
	if (ret) {
		sw_mmu_destroy(cpu);
		return ret;
	}
	return 0;
}

void sw_cpu_destroy(struct sw_cpu *cpu)
{
	tb_cpu_destroy(cpu);
	sw_mmu_destroy(cpu);
}

/* ---- the ops table ---- */

static int sw_probe(char *why, size_t len)
{
	return 0;	/* runs anywhere */
}

static int sw_vm_init(struct vm *vm)
{
	struct sw_vm *svm = calloc(1, sizeof(*svm));
	int ret;

	if (!svm)
		return -ENOMEM;
	ret = sw_vm_init_data(svm, vm);
	if (ret) {
		free(svm);
		return ret;
	}
	vm->accel_data = svm;
	return 0;
}

static void sw_vm_destroy(struct vm *vm)
{
	struct sw_vm *svm = vm->accel_data;

	if (!svm)
		return;
	sw_vm_destroy_data(svm);
	free(svm);
	vm->accel_data = NULL;
}

static struct sw_vcpu *to_sw_vcpu(struct vcpu *vcpu)
{
	return (struct sw_vcpu *)vcpu->accel_data;	/* cpu is the first member */
}

static int sw_vcpu_init(struct vcpu *vcpu)
{
	struct sw_vcpu *sv = aligned_alloc(64, (sizeof(*sv) + 63) & ~(size_t)63);
	int ret;

	if (!sv)
		return -ENOMEM;
	ret = sw_cpu_init(&sv->cpu, vcpu->vm, vcpu->vm->accel_data);
	if (ret) {
		free(sv);
		return ret;
	}
	atomic_init(&sv->kick, 0);
	sv->cpu.vcpu = vcpu;
	vcpu->accel_data = sv;
	return 0;
}

static void sw_vcpu_destroy(struct vcpu *vcpu)
{
	struct sw_vcpu *sv = to_sw_vcpu(vcpu);

	if (!sv)
		return;
	sw_cpu_destroy(&sv->cpu);
	free(sv);
	vcpu->accel_data = NULL;
}

static enum vcpu_stop sw_vcpu_run(struct vcpu *vcpu)
{
	struct sw_vcpu *sv = to_sw_vcpu(vcpu);
	enum vcpu_stop stop;

	atomic_store_explicit(&sv->running, true, memory_order_relaxed);
	stop = sw_run(&sv->cpu, 0, &sv->kick);
	atomic_store_explicit(&sv->running, false, memory_order_relaxed);
	return stop;
}

/*
 * Another thread's look at the CPL while sw_run() goes on: the fields are
 * read without a lock (the values may be torn or a moment old; a sample
 * for statistics, never acted on as the guest's state).
 */
static int sw_cpl_hint(struct vcpu *vcpu)
{
	struct sw_vcpu *sv = to_sw_vcpu(vcpu);
	uint64_t cr0, rflags;
	uint32_t ss_attr;

	if (!sv || !atomic_load_explicit(&sv->running, memory_order_relaxed))
		return -1;
	cr0 = __atomic_load_n(&sv->cpu.st.cr0, __ATOMIC_RELAXED);
	rflags = __atomic_load_n(&sv->cpu.st.rflags, __ATOMIC_RELAXED);
	ss_attr = __atomic_load_n(&sv->cpu.st.seg[S_SS].attr, __ATOMIC_RELAXED);
	if (!(cr0 & X86_CR0_PE))
		return 0;
	if (rflags & X86_RFLAGS_VM)
		return 3;
	return (int)SEG_ATTR_DPL(ss_attr);
}

static void sw_vcpu_kick(struct vcpu *vcpu)
{
	struct sw_vcpu *sv = to_sw_vcpu(vcpu);

	if (sv) {
		atomic_store(&sv->kick, 1);
	}
}

static int sw_get_state(struct vcpu *vcpu, struct x86_state *st)
{
	struct sw_cpu *cpu = &to_sw_vcpu(vcpu)->cpu;

	*st = cpu->st;
	st->msr.tsc = sw_rdtsc(cpu);
	return 0;
}

static int sw_set_state(struct vcpu *vcpu, const struct x86_state *st)
{
	struct sw_cpu *cpu = &to_sw_vcpu(vcpu)->cpu;

	cpu->st = *st;
	cpu->st.rflags |= X86_RFLAGS_FIXED;
	sw_pmu_update(cpu);
	/* No TSC in the state (boot, INIT, STARTUP): it runs on, in step with the others. */
	/* -icount: the instruction clock goes on from the VM clock (a restored snapshot's). */
	if (cpu->vm && cpu->vm->cfg.icount)
		cpu->icount_bias = vm_clock_ns(cpu->vm) - (cpu->icount << cpu->vm->cfg.icount_shift);
	if (st->msr.tsc)
		cpu->tsc_offset = st->msr.tsc - sw_tsc_base(cpu);
	cpu->stop_req = false;
	cpu->delivering = 0;
	cpu->pending_db_trap = false;
	sw_mmu_flush_all(cpu);
	/*
	 * New state for the BSP comes with reset (the boot image reloaded into
	 * RAM without going through the CPU, the APs parked in wait-for-SIPI,
	 * see machine/vm.c) or from another engine: cached decodes of that
	 * memory cannot be trusted. An AP's new state (INIT, STARTUP) comes
	 * while the others run on: the shared caches stay, only its own
	 * translations go (RAM did not change behind the CPUs' backs).
	 */
	if (!vcpu->id) {
		sw_decode_flush(cpu->svm);
		tb_flush(cpu->svm);
	} else {
		tb_flush_cpu(cpu);
	}
	return 0;
}

static int sw_mem_changed(struct vm *vm, const struct mem_region *r)
{
	struct sw_vm *svm = vm->accel_data;
	uint64_t n = ram_pages(vm);
	uint8_t *p;

	if (!svm || n <= svm->nr_pages)
		return 0;
	p = realloc(svm->page_flags, n);
	if (!p)
		return -ENOMEM;
	memset(p + svm->nr_pages, 0, n - svm->nr_pages);
	svm->page_flags = p;
	svm->nr_pages = n;
	return 0;
}

/* A device wrote RAM: decoded and translated code from there goes (page by page). */
void sw_svm_mem_written(struct sw_vm *svm, uint64_t gpa, uint64_t len)
{
	while (len) {
		uint64_t n = 4096 - (gpa & 0xfff);

		if (n > len)
			n = len;
		if ((gpa >> 12) < svm->nr_pages && svm->page_flags[gpa >> 12]) {
			sw_decode_invalidate_range(svm, gpa, (unsigned)n);
			tb_invalidate_range(svm, gpa, (unsigned)n);
		}
		gpa += n;
		len -= n;
	}
}

static void sw_mem_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm->accel_data)
		sw_svm_mem_written(vm->accel_data, gpa, len);
}

static void sw_print_stats(struct vm *vm, FILE *out)
{
	struct sw_decode_stats ds = { 0 };

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct sw_vcpu *sv = to_sw_vcpu(vm->vcpus[i]);

		if (!sv)
			continue;
		fprintf(out, "sw: vCPU %u: %" PRIu64 " instructions, %" PRIu64 " exceptions, %"
			PRIu64 " interrupts\n", i, sv->cpu.icount, sv->cpu.nr_exceptions,
			sv->cpu.nr_interrupts);
	}
	if (vm->accel_data)
		sw_decode_get_stats(vm->accel_data, &ds);
	fprintf(out, "sw: decode cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
		" uncached, %" PRIu64 " invalidations, %" PRIu64 " flushes\n", ds.hits,
		ds.misses, ds.uncached, ds.invalidations, ds.flushes);
	if (vm->accel_data)
		tb_print_stats(vm->accel_data, out);
}

static void sw_progress(struct vm *vm, struct accel_progress *p)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct sw_vcpu *sv = to_sw_vcpu(vm->vcpus[i]);

		if (!sv)
			continue;
		p->insns += *(const volatile uint64_t *)&sv->cpu.icount;
		p->blocks += tb_dispatches(&sv->cpu);
	}
}

static const struct accel_opt sw_opts[] = {
	{ "jit", "on|off|check", "the binary translator (on by default); off runs the "
	  "interpreter alone; check replays every block on the interpreter and compares "
	  "(slow; mismatches on stderr, counts in --stats)" },
	{ "perfmap", "on|off", "write /tmp/perf-PID.map so that perf names translated blocks" },
	{ NULL, NULL, NULL },
};

const struct accel_ops sw_accel_ops = {
	.name = "sw",
	.desc = "software x86 CPU (binary translator over a reference interpreter)",
	.coverage = "translator: 32-bit flat protected-mode and 64-bit code at any CPL; integer "
		    "and SSE2 integer/move instructions copied, memory through an inline TLB; "
		    "system instructions, far transfers, x87, SSE floating point, string "
		    "instructions run in the interpreter (the last three called from "
		    "translated code); real, 16-bit and vm86 code interpreted",
	.probe = sw_probe,
	.vm_init = sw_vm_init,
	.vm_destroy = sw_vm_destroy,
	.vcpu_init = sw_vcpu_init,
	.vcpu_destroy = sw_vcpu_destroy,
	.vcpu_run = sw_vcpu_run,
	.cpl_hint = sw_cpl_hint,
	.vcpu_kick = sw_vcpu_kick,
	.get_state = sw_get_state,
	.set_state = sw_set_state,
	.mem_changed = sw_mem_changed,
	.mem_written = sw_mem_written,
	.emulate = sw_emulate,			/* fallback.c */
	.emulate_cleanup = sw_emulate_cleanup,
	.emulate_mem_written = sw_emulate_mem_written,
	.opts = sw_opts,
	.print_stats = sw_print_stats,
	.set_debug = sw_set_debug,		/* debug.c */
	.progress = sw_progress,
};
