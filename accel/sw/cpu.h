/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_CPU_H
#define TANDEM_SW_CPU_H
/*
 * The software x86 CPU: internal interfaces shared by its files.
 *
 * Files and who provides what:
 *   cpu.c     engine ops table, the run loop, state get/set, tracing
 *   decode.c  Zydis decoding, per-page decode cache, SMC invalidation
 *   operand.c register/operand access, effective addresses
 *   mem.c     segmented and linear memory access (calls the MMU), RAM/MMIO
 *   mmu.c     page walks, TLB / shadow translations per address space
 *   seg.c     descriptor loads, far transfers, privilege checks
 *   excp.c    exception/interrupt delivery, double and triple fault
 *   system.c  control/debug registers, MSRs, tables, CPUID, TSC,
 *             SYSCALL/SYSENTER, port I/O, HLT, ...
 *   arith.c logic.c shift.c bcd.c   ALU families and flag helpers
 *   datamov.c stack.c control.c string.c   data movement, stack, near
 *             control transfer, INT n, string instructions
 *
 * Rules every instruction handler follows:
 *  - On entry cpu->st.rip is the address of the instruction and
 *    cpu->next_rip the address after it. A handler that transfers
 *    control sets cpu->next_rip; the loop commits rip = next_rip after
 *    the handler returns.
 *  - Faults are raised with sw_raise*() from anywhere (siglongjmp back to
 *    the loop). x86 faults are precise, so a handler does every memory
 *    access that can fault before it changes any register or flag
 *    (memory writes that complete before a later fault are architectural
 *    only for string instructions, whose iterations restart).
 *  - Flags: the interpreter keeps RFLAGS materialised in cpu->st.rflags
 *    (no lazy flags: it is the reference, the translator is the fast path).
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "accel/sw/debug.h"
#include "accel/sw/translator/tb_state.h"
#include "machine/vm.h"
#include "machine/x86_state.h"

struct sw_cpu;
struct sw_insn;

typedef void (*sw_handler)(struct sw_cpu *cpu, const struct sw_insn *in);

/*
 * What the handlers read of a ZydisDecodedInstruction, under the same
 * names, so that "in->zi.mnemonic" reads the same as with Zydis' type.
 * The full one is ~330 bytes and its operands ~80 bytes each: a guest
 * keeps several hundred thousand instructions cached, and the lookups are
 * dominated by cache misses, so decode.c copies out only these fields.
 * A handler that needs another field fails to compile: add it here and in
 * decode.c's sw_insn_compact().
 */
struct sw_zi {
	uint16_t mnemonic;		/* ZydisMnemonic */
	uint8_t length;
	uint8_t opcode;
	uint8_t operand_width;
	uint8_t address_width;
	uint8_t operand_count;		/* visible + hidden */
	uint8_t operand_count_visible;
	struct {
		struct {
			uint8_t mod, reg, rm;
		} modrm;
	} raw;
	struct {
		uint8_t category;	/* ZydisInstructionCategory */
		uint8_t isa_ext;	/* ZydisISAExt */
		uint8_t branch_type;	/* ZydisBranchType */
	} meta;
	uint8_t encoding;		/* ZydisInstructionEncoding (legacy, VEX, ...) */
	uint8_t vector_length;		/* bytes: 16 or 32 for VEX, 0 for none */
	ZydisInstructionAttributes attributes;
	const ZydisAccessedFlags *cpu_flags;	/* Zydis' static tables */
};

/*
 * Likewise for a ZydisDecodedOperand: 24 bytes instead of 80. The union
 * members start as Zydis' do, so that reg.value of any operand reads the
 * same value as it would there (mem.type, imm.is_signed/is_relative or
 * ptr.segment).
 */
struct sw_op {
	uint8_t type;			/* ZydisOperandType */
	ZydisOperandActions actions;
	uint16_t size;			/* bits */
	union {
		struct {
			uint16_t value;	/* ZydisRegister */
		} reg;
		struct sw_op_mem {
			/* First, as in Zydis: reg.value of a memory operand reads it. */
			uint16_t type;	/* ZydisMemoryOperandType */
			uint16_t segment, base, index;	/* ZydisRegister */
			uint8_t scale;
			struct {
				int64_t value;
			} __attribute__((packed, aligned(4))) disp;	/* keeps sw_op at 24 bytes */
		} mem;
		struct {
			uint16_t segment;
			uint32_t offset;
		} ptr;
		struct {
			bool is_signed;
			bool is_relative;
			union {
				uint64_t u;
				int64_t s;
			} __attribute__((packed, aligned(4))) value;
		} imm;
	};
};

/*
 * One decoded instruction, cached per guest page (decode.c). @fn, @len
 * and @zi share the cache line that the decode cache's lookup reads anyway.
 * All ZYDIS_MAX_OPERAND_COUNT slots are kept (those past zi.operand_count
 * zeroed, as Zydis leaves them), so any index below that stays in bounds.
 */
struct sw_insn {
	sw_handler fn;
	uint8_t len;
	struct sw_zi zi;
	struct sw_op op[ZYDIS_MAX_OPERAND_COUNT];	/* visible first, then hidden */
};

/* Exception vectors. */
enum {
	X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OF = 4, X86_BR = 5,
	X86_UD = 6, X86_NM = 7, X86_DF = 8, X86_TS = 10, X86_NP = 11, X86_SS = 12,
	X86_GP = 13, X86_PF = 14, X86_MF = 16, X86_AC = 17, X86_MC = 18, X86_XM = 19,
};

/* #PF error code bits. */
#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_RSVD	(1u << 3)
#define PF_I	(1u << 4)
#define PF_PK	(1u << 5)

/* Access kinds for mem.c / mmu.c, may be or'ed with SW_ACC_SYS. */
enum {
	SW_ACC_READ = 0,
	SW_ACC_WRITE = 1,
	SW_ACC_EXEC = 2,
	SW_ACC_SYS = 4,		/* implicit supervisor access (GDT, IDT, TSS) */
};

/* Kinds of event for sw_deliver_event(). */
enum sw_event_type {
	SW_EV_EXT_INT,		/* external interrupt (PIC) */
	SW_EV_NMI,
	SW_EV_EXCEPTION,	/* fault or trap raised by the CPU */
	SW_EV_SOFT_INT,		/* INT n: DPL checked, rip = next insn */
	SW_EV_SOFT_EXC,		/* INT3, INTO: DPL checked, rip = next insn */
	SW_EV_PRIV_SOFT,	/* INT1 (ICEBP) */
};

/* Per-page flags (struct sw_vm.page_flags, indexed by gpa >> 12). */
#define SW_PAGE_CODE	0x01	/* decoded instructions cached from this page */
#define SW_PAGE_PT	0x02	/* a guest paging structure lives here */
#define SW_PAGE_TB	0x04	/* translated code comes from here */

/* Engine-wide data (vm->accel_data). */
struct sw_vm {
	struct vm *vm;
	uint8_t *page_flags;		/* one byte per 4 KiB of guest-physical space */
	uint64_t nr_pages;		/* covers [0, highest RAM end) */
	struct sw_decode_cache *dc;	/* decode.c, shared by all vCPUs */
	struct tb_vm *tb;		/* the translator (NULL: jit=off) */
	/*
	 * Another engine (KVM) also writes guest memory, unseen by the
	 * SMC tracking: every decode-cache hit is checked against the
	 * bytes in RAM, and translations are flushed on each hand-over.
	 */
	bool external_writers;
	/*
	 * jit=check with several vCPUs: its replay undoes and redoes memory
	 * writes, which another vCPU must not see or race with, so the vCPUs
	 * take turns (a ticket lock, held for SW_SERIAL_SLICE loop steps).
	 */
	bool serialize;
	atomic_uint serial_next, serial_owner;
	/* Guest TSC minus host TSC at VM creation: every vCPU's TSC starts in step. */
	uint64_t tsc_offset0;
};

struct sw_mmu;

struct sw_cpu {
	/*
	 * Architectural state first, then what translated code reaches
	 * relative to it through the host's GS base (translator/tb_state.h).
	 */
	struct x86_state st;
	struct tb_cpu_state tb;
	struct vcpu *vcpu;
	struct vm *vm;
	struct sw_vm *svm;

	uint64_t next_rip;		/* see the rules above */
	const struct sw_insn *insn;	/* the instruction executing */

	/* Exception being raised (sw_raise -> siglongjmp -> the loop). */
	sigjmp_buf jmp;
	struct {
		uint8_t vector;
		bool has_err;
		uint32_t err;
		uint64_t cr2;		/* for #PF: written to CR2 at delivery */
	} exc;
	int delivering;			/* nesting of event delivery (#DF logic) */

	struct sw_mmu *mmu;		/* mmu.c */
	ZydisDecoder dec16, dec32, dec64;

	uint64_t tsc_offset;		/* guest TSC = host TSC + offset */
	uint64_t icount;		/* instructions retired */
	/* A performance counter counts retired instructions: interpret, count each (system.c). */
	bool pmu_on;
	uint64_t icount_bias;		/* -icount: ns skipped while halted (icount.c) */
	/* Guest TLB flushes (MOV CR3, INVLPG, INVPCID, paging changes), for the fallback. */
	uint64_t nr_tlb_flushes;
	uint64_t nr_exceptions, nr_interrupts;

	enum vcpu_stop stop;		/* set with stop_req by a handler */
	bool stop_req;
	/* A single-step trap held over one instruction by a MOV SS / POP SS / STI shadow. */
	bool pending_db_trap;
	/* sw_run() returns at the first boundary in 64-bit code at CPL 3 (fallback.c). */
	bool stop_at_user;
	/* Holds svm->serial_owner's turn, and for how many more steps (svm->serialize). */
	bool serial_held;
	unsigned serial_left;
	struct sw_debug dbg;		/* the debugger's settings for this run (debug.c) */
};

/* ---- mode helpers ---- */
static inline bool sw_protected(const struct sw_cpu *cpu)
{
	return cpu->st.cr0 & X86_CR0_PE;
}

static inline bool sw_long_mode(const struct sw_cpu *cpu)
{
	return cpu->st.efer & X86_EFER_LMA;
}

/* 64-bit sub-mode of long mode (CS.L = 1). */
static inline bool sw_64bit(const struct sw_cpu *cpu)
{
	return sw_long_mode(cpu) && (cpu->st.seg[S_CS].attr & SEG_ATTR_L);
}

static inline bool sw_vm86(const struct sw_cpu *cpu)
{
	return sw_protected(cpu) && (cpu->st.rflags & X86_RFLAGS_VM);
}

/* CPL is SS.DPL (as in VMX), 0 in real mode, 3 in virtual-8086 mode. */
static inline unsigned sw_cpl(const struct sw_cpu *cpu)
{
	if (!sw_protected(cpu))
		return 0;
	if (cpu->st.rflags & X86_RFLAGS_VM)
		return 3;
	return SEG_ATTR_DPL(cpu->st.seg[S_SS].attr);
}

/* Default code size: 16, 32 or 64. */
static inline unsigned sw_code_bits(const struct sw_cpu *cpu)
{
	if (sw_64bit(cpu))
		return 64;
	if (sw_protected(cpu) && !sw_vm86(cpu) && (cpu->st.seg[S_CS].attr & SEG_ATTR_DB))
		return 32;
	return 16;
}

/* Stack address size: 64 in 64-bit mode, else SS.B. */
static inline unsigned sw_stack_bits(const struct sw_cpu *cpu)
{
	if (sw_64bit(cpu))
		return 64;
	if (sw_protected(cpu) && !sw_vm86(cpu) && (cpu->st.seg[S_SS].attr & SEG_ATTR_DB))
		return 32;
	return 16;
}

/* ---- exceptions (excp.c) ---- */
_Noreturn void sw_raise(struct sw_cpu *cpu, unsigned vector);
_Noreturn void sw_raise_err(struct sw_cpu *cpu, unsigned vector, uint32_t err);
_Noreturn void sw_raise_pf(struct sw_cpu *cpu, uint64_t la, uint32_t err);
#define sw_ud(cpu)	sw_raise((cpu), X86_UD)
#define sw_gp0(cpu)	sw_raise_err((cpu), X86_GP, 0)
/*
 * Deliver an event now: push the frame, load CS:RIP from the IVT/IDT.
 * For faults cpu->st.rip must be the faulting insn; for soft interrupts
 * and traps the return address is cpu->next_rip. May itself raise (a
 * fault during delivery becomes #DF, then shutdown).
 */
void sw_deliver_event(struct sw_cpu *cpu, unsigned vector, enum sw_event_type type,
		      bool has_err, uint32_t err);
/* Called by the loop after siglongjmp: deliver cpu->exc, handling #DF/triple fault. */
void sw_handle_exception(struct sw_cpu *cpu);

/* ---- memory (mem.c) ---- */
/* Linear address of seg:off for an access of @size, with limit/type/canonical checks. */
uint64_t sw_seg_linear(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size,
		       unsigned acc);
uint64_t sw_read(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, unsigned size);
void sw_write(struct sw_cpu *cpu, enum x86_sreg seg, uint64_t off, uint64_t val, unsigned size);
/* Linear-address accesses (paging applied); @acc may include SW_ACC_SYS. */
uint64_t sw_read_lin(struct sw_cpu *cpu, uint64_t la, unsigned size, unsigned acc);
void sw_write_lin(struct sw_cpu *cpu, uint64_t la, uint64_t val, unsigned size, unsigned acc);
void sw_read_lin_buf(struct sw_cpu *cpu, uint64_t la, void *buf, unsigned len, unsigned acc);
void sw_write_lin_buf(struct sw_cpu *cpu, uint64_t la, const void *buf, unsigned len,
		      unsigned acc);
/* Check that @len bytes at @la are writable (faults now, writes nothing). */
void sw_probe_write_lin(struct sw_cpu *cpu, uint64_t la, unsigned len, unsigned acc);
/* Physical accesses (page walker, descriptor A bits): RAM or MMIO, no faults. */
uint64_t sw_phys_read(struct sw_cpu *cpu, uint64_t gpa, unsigned size);
void sw_phys_write(struct sw_cpu *cpu, uint64_t gpa, uint64_t val, unsigned size);
/* A guest write landed in a page with flags: invalidate decode cache / shadow entries. */
void sw_page_written(struct sw_cpu *cpu, uint64_t gpa, unsigned len);

/* ---- MMU (mmu.c) ---- */
int sw_mmu_init(struct sw_cpu *cpu);
void sw_mmu_destroy(struct sw_cpu *cpu);
/*
 * Translate one linear address (never crossing a page: callers split).
 * Raises #PF. Returns the host pointer to the byte for RAM, or NULL for
 * MMIO / unbacked memory; *gpa is set either way. Sets A/D bits.
 */
uint8_t *sw_mmu_translate(struct sw_cpu *cpu, uint64_t la, unsigned acc, uint64_t *gpa);
/* x86 TLB maintenance points. */
void sw_mmu_cr3_written(struct sw_cpu *cpu);	/* MOV CR3 */
void sw_mmu_paging_changed(struct sw_cpu *cpu);	/* CR0.PG/WP, CR4.PAE/PSE/PGE/PCIDE/SMEP, EFER.NXE/LMA */
void sw_mmu_invlpg(struct sw_cpu *cpu, uint64_t la);
void sw_mmu_flush_all(struct sw_cpu *cpu);
/* A paging structure at @gpa was written (SW_PAGE_PT page). */
void sw_mmu_pt_written(struct sw_cpu *cpu, uint64_t gpa);

/* ---- decoding (decode.c) ---- */
int sw_decode_init(struct sw_vm *svm);
void sw_decode_destroy(struct sw_vm *svm);
/* Decode (or find cached) the instruction at cpu->st.rip; raises #PF/#GP/#UD. */
const struct sw_insn *sw_decode(struct sw_cpu *cpu);
/*
 * Decode one instruction from @n bytes at @bytes for @bits-bit code on a
 * @sbits-bit stack into caller-owned storage: Zydis' full output (@zi,
 * @ops; both may be NULL) and the compact form handlers run (@in). Never
 * faults: 0, or -EAGAIN when the bytes end first, -EINVAL when invalid.
 */
int sw_decode_at(struct sw_cpu *cpu, const uint8_t *bytes, unsigned n, unsigned bits,
		 unsigned sbits, ZydisDecodedInstruction *zi, ZydisDecodedOperand *ops,
		 struct sw_insn *in);
void sw_decode_invalidate_page(struct sw_vm *svm, uint64_t gpa);

/* ---- operands (operand.c) ---- */
/* Size in bytes of operand @i (register, memory or immediate). */
unsigned sw_op_size(const struct sw_insn *in, unsigned i);
/* Value of operand @i, zero-extended (immediates sign-extended to the operand size). */
uint64_t sw_op_read(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i);
/* Write operand @i (32-bit GPR writes zero the upper half in 64-bit mode). */
void sw_op_write(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i, uint64_t v);
/* Effective address (offset within the segment) of memory operand @i. */
uint64_t sw_op_ea(struct sw_cpu *cpu, const struct sw_insn *in, unsigned i);
/* Segment of memory operand @i, with overrides applied. */
enum x86_sreg sw_op_seg(const struct sw_insn *in, unsigned i);
uint64_t sw_reg_read(struct sw_cpu *cpu, ZydisRegister reg);
void sw_reg_write(struct sw_cpu *cpu, ZydisRegister reg, uint64_t v);
/* Stack (stack.c): push/pop @size bytes using SS and the stack size. */
void sw_push(struct sw_cpu *cpu, uint64_t val, unsigned size);
uint64_t sw_pop(struct sw_cpu *cpu, unsigned size);
/* Operand-size in bytes of the instruction (2, 4 or 8). */
static inline unsigned sw_opsize(const struct sw_insn *in)
{
	return in->zi.operand_width / 8;
}
/* Address-size mask helpers */
static inline uint64_t sw_mask(unsigned bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

/* ---- flags and conditions (arith.c) ---- */
/* Jcc/SETcc/CMOVcc condition 0..15 (the low nibble of the opcode). */
bool sw_cond(const struct sw_cpu *cpu, unsigned cc);
/* Condition code of a Jcc/SETcc/CMOVcc mnemonic, or -1. */
int sw_mnemonic_cc(ZydisMnemonic m);

/* ---- segments (seg.c) ---- */
/* MOV/POP to a segment register in the current mode, with all checks. */
void sw_load_seg(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel);
/* Real-mode / vm86 style load: base = sel << 4. */
void sw_load_seg_real(struct sw_cpu *cpu, enum x86_sreg seg, uint16_t sel);
/* Far JMP/CALL (call gates included) and RETF/IRET. */
void sw_far_jump(struct sw_cpu *cpu, uint16_t sel, uint64_t off, bool is_call, unsigned opsize);
void sw_far_return(struct sw_cpu *cpu, unsigned opsize, uint16_t pop_bytes);
void sw_iret(struct sw_cpu *cpu, unsigned opsize);

/* ---- port I/O (system.c): IOPL / TSS bitmap checks, then the bus ---- */
uint32_t sw_io_in(struct sw_cpu *cpu, uint16_t port, unsigned size);
void sw_io_out(struct sw_cpu *cpu, uint16_t port, uint32_t val, unsigned size);
/* Guest TSC now. */
uint64_t sw_rdtsc(struct sw_cpu *cpu);

/* ---- handler registration: each family file fills the table ---- */
extern sw_handler sw_handlers[ZYDIS_MNEMONIC_MAX_VALUE + 1];
void sw_register_arith(void);
void sw_register_logic(void);
void sw_register_shift(void);
void sw_register_bcd(void);
void sw_register_datamov(void);
void sw_register_stack(void);
void sw_register_control(void);
void sw_register_string(void);
void sw_register_system(void);
void sw_register_seg(void);
void sw_register_bmi(void);		/* bmi.c: BMI1, BMI2, ADX, RDRAND, RDSEED */
void sw_register_crypto(void);		/* crypto.c: AES-NI, PCLMULQDQ, SHA */
void sw_register_xsave(void);		/* xsave.c: XSETBV XGETBV XSAVE* XRSTOR */
/* Bytes of the XSAVE area (standard or compacted: the same here) for @xcr0 (xsave.c). */
unsigned sw_xsave_area_size(uint64_t xcr0);

/* ---- the run loop (cpu.c) ---- */
/* Execute one instruction (the unit the KVM fallback and tests use). */
void sw_step(struct sw_cpu *cpu);
/*
 * Execute decoded instruction @in at cpu->st.rip, no event checks: the
 * handler, then RIP committed. The translator's helpers call this.
 */
ZydisMnemonic sw_exec_insn(struct sw_cpu *cpu, const struct sw_insn *in);
/* Set up a CPU for unit tests (no vCPU thread): state reset, decoders. */
int sw_cpu_init(struct sw_cpu *cpu, struct vm *vm, struct sw_vm *svm);
void sw_cpu_destroy(struct sw_cpu *cpu);
int sw_vm_init_data(struct sw_vm *svm, struct vm *vm);
/* The VMM wrote guest RAM at [gpa, gpa + len): drop decoded and translated code there. */
void sw_svm_mem_written(struct sw_vm *svm, uint64_t gpa, uint64_t len);
void sw_vm_destroy_data(struct sw_vm *svm);

extern const struct accel_ops sw_accel_ops;

#endif
