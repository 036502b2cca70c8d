/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_ACCEL_H
#define TANDEM_ACCEL_H
/*
 * An execution engine. One const table per engine; common code only ever
 * goes through this table and never names an engine.
 *
 * Contract for vcpu_run(): runs the vCPU until something the common loop
 * must see (HLT, shutdown, reset, a kick, an error). Port and MMIO
 * accesses are dispatched by the engine itself through pio_read() etc.
 * External interrupts are taken by the engine itself at instruction
 * boundaries (vm_intr_pending()/vm_intr_ack()); a HLT with an interrupt
 * deliverable does not return.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "machine/cpuid.h"
#include "machine/vm.h"

/* An engine option: "name=value" after the engine (--accel=kvm,ring0=sw). */
struct accel_opt {
	const char *name;
	const char *values;	/* the accepted values, '|'-separated */
	const char *help;
};

/* What emulate() is asked to do (see struct accel_ops). */
struct accel_emulate {
	uint64_t max;		/* instructions at most; 0: no limit */
	bool until_user;	/* also return once the guest runs 64-bit code at CPL 3 */
	/* Set from any thread by the caller's vcpu_kick(): look at interrupts, stops. */
	atomic_int *kick;
	/* Guest TSC minus host TSC in the caller's engine, so time runs on seamlessly. */
	bool has_tsc_offset;
	int64_t tsc_offset;
	uint64_t insns;		/* out: instructions executed */
	/*
	 * out: the guest flushed its TLB (MOV CR3, INVLPG, paging changes):
	 * page tables may have changed where the caller's engine cached them.
	 */
	bool tlb_flushed;
};

/*
 * What an engine has done so far, for the progress line (machine/progress.c):
 * each field it does not count stays 0.
 */
struct accel_progress {
	uint64_t insns;		/* instructions retired (sw interpreter, helpers included) */
	uint64_t blocks;	/* translated blocks entered from the run loop (sw translator) */
	uint64_t exits;		/* engine exits (kvm) */
};

struct accel_ops {
	const char *name;
	const char *desc;
	const char *coverage;		/* what it runs how, for `tandem info` (may be NULL) */
	bool hw;			/* hardware-assisted (QMP query-kvm says enabled) */
	/* 0 when usable on this host; else -errno and why in @why. */
	int (*probe)(char *why, size_t len);
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);
	int (*vcpu_init)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	enum vcpu_stop (*vcpu_run)(struct vcpu *vcpu);
	/* Make vcpu_run() return VCPU_STOP_KICK soon; any thread. */
	void (*vcpu_kick)(struct vcpu *vcpu);
	int (*get_state)(struct vcpu *vcpu, struct x86_state *st);
	int (*set_state)(struct vcpu *vcpu, const struct x86_state *st);
	/* Guest RAM layout changed (regions added). */
	int (*mem_changed)(struct vm *vm, const struct mem_region *r);
	/* The VMM wrote guest RAM (vm_mem_written()); may be NULL. */
	void (*mem_written)(struct vm *vm, uint64_t gpa, uint64_t len);
	/*
	 * Execute instructions from @st in this engine, as @req says, and
	 * update @st: how an engine runs what another cannot (KVM's emulation
	 * failures) or runs slowly (ring 0 on kvm_pvm). Returns VCPU_STOP_KICK
	 * when the caller may resume, or HALT / SHUTDOWN / RESET / ERROR
	 * (reason in @why). @st's TSC snapshot is cleared on return: the
	 * caller's TSC kept running. May be NULL.
	 */
	enum vcpu_stop (*emulate)(struct vcpu *vcpu, struct x86_state *st,
				  struct accel_emulate *req, char *why, size_t len);
	/*
	 * The privilege level @vcpu runs guest code at right now, read from
	 * another thread without stopping it (a hint, possibly a moment
	 * stale): 0-3, or -1 when it runs no guest code (halted, between
	 * runs) or when the engine has nothing to say. The auto engine switch
	 * samples it (machine/vmswitch.h). May be NULL.
	 */
	int (*cpl_hint)(struct vcpu *vcpu);
	/* Free what emulate() kept in vm->fallback. */
	void (*emulate_cleanup)(struct vm *vm);
	/* The VMM wrote guest RAM: what the emulating engine cached of it goes. */
	void (*emulate_mem_written)(struct vm *vm, uint64_t gpa, uint64_t len);
	/*
	 * Clear the model's feature bits this engine cannot give a guest on
	 * this host with options @opts (NULL: the defaults) (may be NULL).
	 * The default CPU model is limited by every usable engine, not just
	 * the one that runs, so the guest sees one CPU on both; a -cpu model
	 * by the engine that runs it.
	 */
	void (*cpuid_limit)(struct cpuid_model *m, const char *opts);
	/* The options this engine takes, ending with a NULL name (may be NULL). */
	const struct accel_opt *opts;
	/* Print engine statistics at exit (may be NULL). */
	void (*print_stats)(struct vm *vm, FILE *out);
	/*
	 * How long @vcpu has now been running inside the engine without an
	 * exit or any other sign of progress, in ns; any thread. The stuck-
	 * vCPU watchdog's measure (--watchdog). NULL: the engine always comes
	 * back on a kick (the sw CPU checks at block boundaries), so a hang
	 * is visible by other means.
	 */
	uint64_t (*no_exit_ns)(struct vcpu *vcpu);
	/*
	 * A debugger changed @vcpu->debug (machine/debug.h); on the vCPU's
	 * thread, between runs. The engine stops with VCPU_STOP_DEBUG and
	 * vcpu->debug_hit at what it asks for, also where another engine
	 * emulates for this one (emulate() reads vcpu->debug too). 0, or
	 * -errno (-ENOSPC: more than the engine can watch). NULL: no debugging.
	 */
	int (*set_debug)(struct vcpu *vcpu);
	/*
	 * Fill @p with the whole VM's counts (all vCPUs); any thread: the
	 * counters are read as they are, without stopping anything. May be NULL.
	 */
	void (*progress)(struct vm *vm, struct accel_progress *p);
};

/* All engines compiled in, in `auto` preference order, NULL-terminated. */
extern const struct accel_ops *const accel_list[];

const struct accel_ops *accel_find(const char *name);
/* The engine that can emulate for @self (one with an emulate op), or NULL. */
const struct accel_ops *accel_fallback(const struct accel_ops *self);
/*
 * Check @opts ("name=value,...", may be NULL) against @a's options: 0, or
 * -EINVAL with one line saying what is wrong in @why.
 */
int accel_check_opts(const struct accel_ops *a, const char *opts, char *why, size_t len);
/* Option @name's value in @opts (checked already), copied to @buf; NULL if absent. */
const char *accel_opt_value(const char *opts, const char *name, char *buf, size_t len);
/*
 * Build cpuid_global for @nr_vcpus from -cpu @spec (NULL: the default
 * model, limited by every usable engine) for engine @a with options @opts.
 * 0, or -EINVAL with one line in @why.
 */
int accel_cpuid_init(unsigned nr_vcpus, const char *spec, const struct accel_ops *a,
		     const char *opts, char *why, size_t len);
/* Can engine @a with @opts run the guest's CPU model (a live switch)? 0, or -EINVAL + @why. */
int accel_cpuid_check(const struct accel_ops *a, const char *opts, char *why, size_t len);
/*
 * Pick the engine for @name ("auto", "kvm"/"hw", "sw"/"tcg"). For auto,
 * @why says which engine was picked and why; for a named engine that is
 * not usable, returns NULL with the reason in @why.
 */
const struct accel_ops *accel_select(const char *name, char *why, size_t len);

#endif
