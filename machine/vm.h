/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_VM_H
#define TANDEM_VM_H
/*
 * The virtual machine: configuration, guest RAM, buses, interrupt routing,
 * vCPUs and the engine that runs them. Nothing here names an engine.
 *
 * Lock order: vm->lock (the device lock, taken by the bus, timers and the
 * console) is the only lock devices see. Engines may have their own
 * per-vCPU locks but never hold them while calling into the bus.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machine/bus.h"
#include "machine/debug.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/x86_state.h"

struct accel_ops;
struct device;
struct symbols;
struct replay;
struct qmp_server;
struct gdb_server;
struct vm_ctl;
struct pci_bus;
struct chardev;
struct vm_timer;

#define VM_MAX_VCPUS	8

/* Trace classes (-d LIST; board/main.c lists them with what each prints). */
enum {
	TRACE_IN_ASM	= 1u << 0,	/* disassembly of each executed insn */
	TRACE_INT	= 1u << 1,	/* exceptions and interrupts */
	TRACE_CPU	= 1u << 2,	/* registers before each insn */
	TRACE_IO	= 1u << 3,	/* port and MMIO accesses */
	TRACE_EXIT	= 1u << 4,	/* engine exits (KVM) */
	TRACE_OUT_ASM	= 1u << 5,	/* each translated block: guest and host code */
	TRACE_EXEC	= 1u << 6,	/* each block executed: vCPU, address, symbol */
	TRACE_MMU	= 1u << 7,	/* page walks, TLB fills and flushes, CR3 loads */
	TRACE_GUEST_ERRORS = 1u << 8,	/* what the guest got wrong: unmapped I/O, ... */
	TRACE_CPU_RESET	= 1u << 9,	/* a vCPU's reset, INIT, STARTUP: the state it starts from */
};

struct vm_config {
	uint64_t ram_size;
	unsigned smp;
	const char *accel;		/* "auto", "kvm", "sw" */
	const char *accel_opts;		/* after the comma: "jit=off" */
	const char *kernel;		/* NULL: the built-in demo guest */
	const char *initrd;
	const char *append;
	const char *serial;		/* "stdio", "file:PATH", "none" */
	bool no_reboot;
	unsigned trace;			/* TRACE_* mask */
	const char *trace_file;
	unsigned watchdog_s;		/* report a vCPU with no exit for this long; 0: off */
	const char *qmp;		/* -qmp unix:PATH,server,wait=off (NULL: none) */
	bool start_paused;		/* -S: vCPUs wait for `cont` */
	const char *incoming;		/* -incoming file:PATH: restore this snapshot at start */
	const char *symbols;		/* --symbols FILE (ELF or System.map) */
	bool icount;			/* -icount: the clock counts instructions (sw) */
	unsigned icount_shift;		/* 2^shift ns per instruction */
	int rr_mode;			/* enum replay_mode (machine/replay.h) */
	const char *rr_file;
	const char *gdb;		/* -gdb tcp::1234 / unix:PATH,server (NULL: none) */
	const char *cpu;		/* -cpu MODEL[,+feat,-feat] (NULL: the default model) */
};

/* Why a vCPU's run returned to the common loop. */
enum vcpu_stop {
	VCPU_STOP_HALT,		/* HLT: wait for an interrupt */
	VCPU_STOP_SHUTDOWN,	/* triple fault */
	VCPU_STOP_RESET,	/* the guest asked for a reset */
	VCPU_STOP_KICK,		/* interrupted from outside; look at vm state */
	VCPU_STOP_DEBUG,	/* breakpoint / single step */
	VCPU_STOP_ERROR,	/* the engine cannot continue */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	pthread_t thread;
	int tid;		/* the thread's Linux id (QMP query-cpus-fast), 0 before it runs */
	void *accel_data;
	atomic_bool kick;	/* set by vcpu_kick(), cleared by the loop */
	atomic_bool dump;	/* print the registers at the next stop (SIGUSR1, SIGTERM) */
	/*
	 * The NMI input (vm_cpu_nmi()): latched here from any thread; the
	 * engine moves it into its own pending NMI on the vCPU's thread
	 * (the software CPU: x86_state.nmi_pending; KVM: KVM_NMI).
	 */
	atomic_bool nmi_req;
	/* The watchdog saw no exit for this long (ns): report at the next stop; 0: none. */
	atomic_uint_least64_t stuck_report;
	bool stuck_reported;	/* main loop only: said once, until the vCPU moves again */
	char error[512];	/* why, for VCPU_STOP_ERROR */
	/*
	 * Multiprocessor start-up (vm_cpu_init()/vm_cpu_sipi()), under
	 * vm->halt_lock: an AP waits for a STARTUP IPI (wait_sipi) from
	 * creation, INIT and reset on; the vCPU's own thread applies the
	 * requests between runs (set_state is only safe there).
	 */
	bool wait_sipi;		/* in wait-for-SIPI: the thread sleeps */
	bool init_req;		/* INIT received, not yet applied */
	int sipi_req;		/* STARTUP vector received, or -1 */
	bool parked;		/* the thread sleeps in wait-for-SIPI (vm_reset() waits for it) */
	uint64_t nr_init, nr_sipi;
	/* The debugger's settings and the last VCPU_STOP_DEBUG's reason (machine/debug.h). */
	struct vcpu_debug debug;
	struct vcpu_debug_hit debug_hit;
};

/*
 * The board: what composes a machine around this core (board/, e.g. the
 * PC's). vm_create() calls create() once guest RAM and the engine's VM
 * exist, then load(); a guest reset runs device_reset_all() and load()
 * again; vm_destroy() calls destroy() after device_destroy_all(). The
 * core never names a device: the board creates them (machine/device.h).
 */
struct vm_board {
	const char *name;
	/* Devices and back ends. 0, or -errno with one line in @err. */
	int (*create)(struct vm *vm, char *err, size_t errlen);
	/* (Re)load the boot image into RAM and fill vm->boot. */
	int (*load)(struct vm *vm, char *err, size_t errlen);
	/* What the board holds besides its devices (they are gone already). */
	void (*destroy)(struct vm *vm);
	/*
	 * Write the firmware tables (ACPI) into guest RAM; the loaders call
	 * it through vm_firmware_tables() as their last step that may fail.
	 * 0 with the RSDP's address in *rsdp, or -errno with one line.
	 * NULL: the board has none (*rsdp = 0).
	 */
	int (*firmware_tables)(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen);
};

/* How the VM ended; the process exit status comes from here. */
enum vm_exit_kind {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF,	/* status 0 */
	VM_EXIT_DEBUG_PORT,	/* isa-debug-exit: (v << 1) | 1 */
	VM_EXIT_RESET,		/* reset with --no-reboot: 0 */
	VM_EXIT_SHUTDOWN,	/* triple fault with --no-reboot: 2 */
	VM_EXIT_ERROR,		/* engine error: 3 */
	VM_EXIT_HALTED,		/* cli; hlt: nothing can wake it: 4 */
	VM_EXIT_USER,		/* Ctrl-A x, signal: 0 */
	VM_EXIT_QMP,		/* quit from the monitor or QMP: 0 */
};

struct vm {
	struct vm_config cfg;
	const struct accel_ops *accel;
	void *accel_data;

	struct mem_region ram[VM_MAX_RAM_REGIONS];
	unsigned nr_ram;
	struct { uint64_t gpa, size; } mem_reserved[VM_MAX_MEM_RESERVED];	/* vm_mem_reserve() */
	unsigned nr_mem_reserved;

	pthread_mutex_t lock;		/* device lock, see above */
	struct bus pio, mmio;

	struct irq_listener {
		irq_line_fn fn;
		irq_busy_fn busy;
		void *opaque;
		struct irq_listener *next;
	} *irq_lines[VM_NR_IRQ_LINES];
	const struct intr_ops *intr;
	void *intr_opaque;
	msi_fn msi;			/* vm_set_msi_handler() */
	void *msi_opaque;
	uint64_t msi_dropped;		/* no handler, or not an APIC address */

	struct device *devices;		/* machine/device.h, in creation order */
	struct pci_bus *pci;		/* devices/pci.h; NULL: no PCI */

	struct vcpu *vcpus[VM_MAX_VCPUS];
	unsigned nr_vcpus;
	pthread_mutex_t halt_lock;	/* with halt_cond: HLT waits */
	pthread_cond_t halt_cond;
	uint64_t intr_gen;		/* bumped on INTR changes, under halt_lock */

	atomic_int exit_kind;		/* enum vm_exit_kind, first one wins */
	int exit_code;
	atomic_bool reset_request;
	struct vm_ctl *ctl;		/* machine/vmctl.c: pause, calls, events */
	bool threads_started;		/* vm_run() started the vCPU threads */
	unsigned nr_switches;		/* live engine switches (machine/vmswitch.c) */
	bool switching;			/* an engine is being taken down for a switch */
	bool accel_switched_by_hand;	/* the last switch was not --accel=auto's own */
	struct qmp_server *qmp;		/* machine/qmp.c; NULL without -qmp */
	struct gdb_server *gdb;		/* machine/gdbstub.c; NULL without -gdb */

	struct x86_state boot;		/* what reset goes back to */
	struct chardev *serial;
	struct vm_timers *timers;
	struct _GMainLoop *mainloop;
	uint64_t clock_base_ns;

	FILE *trace;			/* NULL when no --trace */
	struct symbols *symbols;	/* machine/symbols.h; NULL: none */
	struct replay *replay;		/* machine/replay.c; NULL: not recording or replaying */
	uint64_t replay_count;		/* the instruction count replay_point() last saw */
	const struct vm_board *board_ops;	/* what vm_create() was given */
	void *board;			/* board private data */
	void *fallback;			/* the emulating engine's data, see accel_ops.emulate */
};

/* Build the VM on @accel, composed by @board; on failure one line in @err and -errno. */
int vm_create(struct vm *vm, const struct vm_config *cfg, const struct accel_ops *accel,
	      const struct vm_board *board, char *err, size_t errlen);
/* The board's firmware_tables(), or 0 with *rsdp = 0 when it has none. */
int vm_firmware_tables(struct vm *vm, uint64_t *rsdp, char *err, size_t errlen);
void vm_destroy(struct vm *vm);
/* Run until the guest ends; returns the process exit status. */
int vm_run(struct vm *vm);
void vm_print_stats(struct vm *vm, FILE *out);

/* Ask the VM to stop; the first request's kind and code win. */
void vm_request_exit(struct vm *vm, enum vm_exit_kind kind, int code);
void vm_request_reset(struct vm *vm);
bool vm_should_stop(struct vm *vm);
/* QMP's SHUTDOWN reason for @kind ("guest-shutdown", "host-qmp-quit", ...). */
const char *vm_exit_reason(enum vm_exit_kind kind);
/* Wake @vcpu from HLT or make its engine return VCPU_STOP_KICK soon. */
void vcpu_kick(struct vcpu *vcpu);
void vm_kick_all(struct vm *vm);

/*
 * tandem's own informational lines on stderr ("tandem: engine sw ...",
 * hand-over and switch notices), silenced by -q. Errors never go here:
 * they are printed whatever -q says.
 */
extern bool tandem_quiet;
void vm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formatted trace line (no-op without --trace); thread-safe. */
void vm_trace(struct vm *vm, unsigned cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline bool vm_tracing(const struct vm *vm, unsigned cls)
{
	return vm->trace && (vm->cfg.trace & cls);
}

#endif
