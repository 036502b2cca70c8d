// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The KVM engine. Interrupt controllers and timers are the common
 * userspace models (no in-kernel irqchip): both engines then run the very
 * same PIC/PIT code, so a guest cannot tell them apart. Interrupts are
 * injected with KVM_INTERRUPT when the guest can take one, else an
 * interrupt-window exit is requested.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/hw/kvm.h"
#include "machine/disasm.h"

extern const struct accel_ops kvm_accel_ops;
static enum vcpu_stop emulate_elsewhere(struct vcpu *vcpu, struct kvm_vm *k);
static enum vcpu_stop run_ring0_elsewhere(struct vcpu *vcpu, struct kvm_vm *k, bool replay);
static bool in_ring0(struct kvm_vcpu *kv);
static void kvm_debug_exit(struct vcpu *vcpu, struct kvm_run *run);

/* Below the 4 GiB boundary, inside the MMIO hole: never guest RAM. */
#define KVM_TSS_ADDR		0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ull

/* TANDEM_KVM_DEVICE overrides /dev/kvm (tests use it to play a host without KVM). */
static const char *kvm_device(void)
{
	const char *dev = getenv("TANDEM_KVM_DEVICE");

	return dev && *dev ? dev : "/dev/kvm";
}

static int kvm_probe(char *why, size_t len)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	};
	int fd = open(kvm_device(), O_RDWR | O_CLOEXEC);
	int ver, vm;

	if (fd < 0) {
		snprintf(why, len, "%s: %s", kvm_device(), strerror(errno));
		return -errno;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm: API version %d, need %d", ver, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			snprintf(why, len, "/dev/kvm lacks KVM_CAP_%s", need[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	/* A VM must actually be creatable (no VT-x/AMD-V: this fails). */
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, len, "/dev/kvm: cannot create a VM: %s", strerror(errno));
		close(fd);
		return -errno;
	}
	close(vm);
	close(fd);
	snprintf(why, len, "/dev/kvm usable, API %d", ver);
	return 0;
}

/*
 * kvm_pvm (a nested KVM in software) runs guest user code natively but
 * emulates guest ring-0 code instruction by instruction, ~1 us each: the
 * software CPU is tens of times faster there, and its 32-bit user mode
 * does not work (a call gate or INT from it ends in #UD). So by default on
 * kvm_pvm, 64-bit ring 3 runs in KVM and the rest of protected mode on sw;
 * ring0=kvm|sw forces either.
 */
/* Would options @opts (NULL: none) run guest ring 0 on the software CPU? Says nothing. */
static bool ring0_sw_opts(const char *opts)
{
	char v[8];

	if (!accel_fallback(&kvm_accel_ops))
		return false;
	if (accel_opt_value(opts, "ring0", v, sizeof(v)) && strcmp(v, "auto"))
		return !strcmp(v, "sw");
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static bool ring0_on_sw(struct vm *vm)
{
	const char *why = NULL;
	char v[8];

	if (!accel_fallback(&kvm_accel_ops))
		return false;
	if (accel_opt_value(vm->cfg.accel_opts, "ring0", v, sizeof(v)) && strcmp(v, "auto")) {
		if (strcmp(v, "sw"))
			return false;
		why = "requested";
	} else if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		why = "this KVM is kvm_pvm, which emulates guest ring-0 code; ring0=kvm keeps it "
		      "there";
	}
	static bool said;	/* once per process: live switches build the engine again */

	if (why && !said)
		vm_info("kvm: guest ring 0 (and 32-bit ring 3) runs on the %s engine, "
			"64-bit ring 3 in KVM (%s)\n",
			accel_fallback(&kvm_accel_ops)->name, why);
	said |= why != NULL;
	return why != NULL;
}

/* Map RAM region @i of @vm into KVM with @size bytes (0 deletes the slot). */
static int set_ram_slot(struct kvm_vm *k, const struct vm *vm, unsigned i, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = vm->ram[i].slot,
		.guest_phys_addr = vm->ram[i].gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->ram[i].host,
	};

	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static void kick_signal(int sig)
{
	(void)sig;	/* only interrupts KVM_RUN */
}

static int kvm_vm_init(struct vm *vm)
{
	struct kvm_vm *k = calloc(1, sizeof(*k));
	/* SA_RESTART: the software CPU may be in a write() when a kick lands. */
	struct sigaction sa = { .sa_handler = kick_signal, .sa_flags = SA_RESTART };
	pthread_rwlockattr_t rwa;
	int ret;

	if (!k)
		return -ENOMEM;
	k->vm_fd = -1;
	k->sys_fd = open(kvm_device(), O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0)
		goto err;
	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		goto err;
	k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size <= 0)
		goto err;
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		goto err;
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

	ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);	/* optional on some hosts */
	for (unsigned i = 0; i < vm->nr_ram; i++)
		if (set_ram_slot(k, vm, i, vm->ram[i].size))
			goto err;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	k->ring0_sw = ring0_on_sw(vm);
	pthread_rwlockattr_init(&rwa);
	/* Writers first: a zap must not wait for every vCPU to stop entering. */
	pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&k->run_lock, &rwa);
	pthread_rwlockattr_destroy(&rwa);
#if defined(KVM_CAP_SET_GUEST_DEBUG2) && defined(KVM_GUESTDBG_BLOCKIRQ)
	{
		int m = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);

		k->guest_debug_blockirq = m > 0 && (m & KVM_GUESTDBG_BLOCKIRQ);
	}
#endif
	vm->accel_data = k;
	return 0;
err:
	ret = -errno;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k);
	return ret;
}

/* KVM sees RAM as it is; the software CPU that runs for it caches code. */
static void kvm_mem_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	const struct accel_ops *fb = accel_fallback(&kvm_accel_ops);

	if (fb && fb->emulate_mem_written)
		fb->emulate_mem_written(vm, gpa, len);
}

static void kvm_vm_destroy(struct vm *vm)
{
	static struct {
		uint64_t fallbacks, ring0_runs, ring0_insns, replays, zaps;
	} total;
	struct kvm_vm *k = vm->accel_data;
	const struct accel_ops *fb = accel_fallback(&kvm_accel_ops);

	if (fb && fb->emulate_cleanup)
		fb->emulate_cleanup(vm);
	/*
	 * Always said at exit: the hybrid mode is something users must be able
	 * to see. A live switch takes the engine down mid-run: the counts add
	 * up across its lives and are said once, when the VM goes.
	 */
	total.fallbacks += k->nr_fallbacks;
	total.ring0_runs += k->nr_ring0_runs;
	total.ring0_insns += k->nr_ring0_insns;
	total.replays += k->nr_replays;
	total.zaps += k->nr_zaps;
	if (!vm->switching && total.fallbacks)
		vm_info("kvm: %llu instruction(s) KVM could not emulate ran on the "
			"%s engine\n", (unsigned long long)total.fallbacks, fb ? fb->name : "?");
	if (!vm->switching && total.ring0_runs)
		vm_info("kvm: ring 0 ran on the %s engine %llu times, %llu "
			"instructions (%llu events from user code replayed there; KVM's shadow "
			"page tables reset %llu times)\n",
			fb ? fb->name : "?", (unsigned long long)total.ring0_runs,
			(unsigned long long)total.ring0_insns, (unsigned long long)total.replays,
			(unsigned long long)total.zaps);

	close(k->vm_fd);
	close(k->sys_fd);
	pthread_rwlock_destroy(&k->run_lock);
	free(k);
	vm->accel_data = NULL;
}

/*
 * ring0=sw: CPUID at CPL 3 raises #GP (KVM's CPUID faulting, bit 0 of
 * MSR_MISC_FEATURES_ENABLES), which the hidden IDT turns into a replay on
 * the software CPU, which answers from the model. kvm_pvm runs user code
 * natively, where CPUID does not exit otherwise: the guest's programs saw
 * the host CPU, not the model, and glibc picked SSSE3/AVX2 string
 * functions that the sw engine (rightly) refuses after a switch or a
 * restore (#UD on PSHUFB). The guest's own kernel never sees the MSR: its
 * RDMSR/WRMSR run on the software CPU.
 */
#define MSR_MISC_FEATURES_ENABLES	0x140	/* bit 0: CPUID faulting */

static void kvm_user_cpuid_faults(struct vcpu *vcpu, struct kvm_vcpu *kv)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = MSR_MISC_FEATURES_ENABLES, .data = 1 } };

	if (ioctl(kv->fd, KVM_SET_MSRS, &m) != 1 && !vcpu->id)
		vm_info("kvm: no CPUID faulting here: guest user code sees the host's CPUID\n");
}

static int kvm_vcpu_init(struct vcpu *vcpu)
{
	struct kvm_vm *k = vcpu->vm->accel_data;
	struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
	int ret;

	if (!kv)
		return -ENOMEM;
	atomic_init(&kv->cpl_hint, -1);
	kv->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, vcpu->id);
	if (kv->fd < 0)
		goto err;
	kv->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED)
		goto err_fd;
	vcpu->accel_data = kv;
	atomic_init(&kv->sw_kick, 0);
	/* The CPL after each exit without a KVM_GET_SREGS (6 us on kvm_pvm). */
	if (k->ring0_sw && ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) > 0)
		kv->run->kvm_valid_regs = KVM_SYNC_X86_SREGS;
	kv->tsc_offset = kvm_tsc_offset(vcpu);
	ret = kvm_set_cpuid(vcpu);
	if (!ret && k->ring0_sw)
		kvm_user_cpuid_faults(vcpu, kv);
	if (ret) {
		munmap(kv->run, k->run_size);
		close(kv->fd);
		free(kv);
		vcpu->accel_data = NULL;
		return ret;
	}
	return 0;
err_fd:
	ret = -errno;
	close(kv->fd);
	free(kv);
	return ret;
err:
	ret = -errno;
	free(kv);
	return ret;
}

static void kvm_vcpu_destroy(struct vcpu *vcpu)
{
	struct kvm_vm *k = vcpu->vm->accel_data;
	struct kvm_vcpu *kv = vcpu->accel_data;

	if (!kv)
		return;
	munmap(kv->run, k->run_size);
	close(kv->fd);
	free(kv);
	vcpu->accel_data = NULL;
}

static void kvm_vcpu_kick(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;

	if (!kv)
		return;
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	kv->run->immediate_exit = 1;
	atomic_store(&kv->sw_kick, 1);
	if (atomic_load(&kv->running))
		pthread_kill(kv->thread, SIGUSR1);
}

static void handle_io(struct vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	/* String I/O (rep ins/outs) arrives as @count items in the shared page. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			uint32_t v = 0;

			memcpy(&v, data, size);
			pio_write(vm, run->io.port, v, size);
		} else {
			uint32_t v = (uint32_t)pio_read(vm, run->io.port, size);

			memcpy(data, &v, size);
		}
	}
}

static void handle_mmio(struct vm *vm, struct kvm_run *run)
{
	unsigned len = run->mmio.len;
	uint64_t v = 0;

	if (len > 8)
		len = 8;
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		mmio_write(vm, run->mmio.phys_addr, v, len);
	} else {
		v = mmio_read(vm, run->mmio.phys_addr, len);
		memcpy(run->mmio.data, &v, len);
	}
}

/*
 * KVM finishes an I/O or MMIO exit (an IN's value into RAX, RIP past the
 * instruction) only when KVM_RUN is entered again. Enter it with
 * immediate_exit set, so that the state read next is the state after the
 * instruction, as another engine must see it. A string instruction may
 * exit again for its next items: serve those too.
 */
void kvm_finish_io(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_vm *k = vcpu->vm->accel_data;
	struct kvm_run *run = kv->run;
	int ret;

	while (kv->io_pending) {
		kv->io_pending = false;
		run->immediate_exit = 1;
		/* Completing a string IN writes guest RAM: not during a zap. */
		pthread_rwlock_rdlock(&k->run_lock);
		ret = ioctl(kv->fd, KVM_RUN, 0);
		pthread_rwlock_unlock(&k->run_lock);
		if (ret < 0)	/* EINTR: the instruction is done */
			break;
		if (run->exit_reason == KVM_EXIT_IO) {
			handle_io(vcpu->vm, run);
			kv->io_pending = true;
		} else if (run->exit_reason == KVM_EXIT_MMIO) {
			handle_mmio(vcpu->vm, run);
			kv->io_pending = true;
		}
	}
	run->immediate_exit = 0;
}

/*
 * KVM_TRANSLATE walks the guest's page tables through KVM's memory slots:
 * under run_lock, or another vCPU's kvm_zap_shadow() may have them deleted
 * for the moment and the walk finds no memory (an invalid translation of
 * an address the guest has just run code at).
 */
static int kvm_translate(struct vcpu *vcpu, struct kvm_translation *tr)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_vm *k = vcpu->vm->accel_data;
	int ret;

	pthread_rwlock_rdlock(&k->run_lock);
	ret = ioctl(kv->fd, KVM_TRANSLATE, tr) < 0 ? -errno : 0;
	pthread_rwlock_unlock(&k->run_lock);
	return ret;
}

/*
 * Describe an emulation failure: where, and the instruction KVM gave up
 * on, decoded in the mode the vCPU is in (a 16-bit INT is not a 64-bit
 * FIST).
 */
static void describe_emulation_failure(struct vcpu *vcpu)
{
	struct x86_state st;
	struct kvm_translation tr = { 0 };
	char text[200] = "?";
	size_t n = 0;
	const uint8_t *p;

	if (kvm_get_state(vcpu, &st)) {
		snprintf(vcpu->error, sizeof(vcpu->error), "KVM emulation failure");
		return;
	}
	tr.linear_address = st.seg[S_CS].base + st.rip;
	if (kvm_translate(vcpu, &tr) == 0 && tr.valid &&
	    (p = gpa_to_hva(vcpu->vm, tr.physical_address, X86_MAX_INSN_LEN)))
		n = x86_describe_insn(p, X86_MAX_INSN_LEN, tr.linear_address, x86_code_bits(&st),
				      text, sizeof(text));
	snprintf(vcpu->error, sizeof(vcpu->error),
		 "KVM cannot emulate the instruction at %#llx (%u-bit): %s (%zu bytes)",
		 (unsigned long long)tr.linear_address, x86_code_bits(&st), text, n);
}

/* Host time for the watchdog: not the guest clock, which tests may drive by hand. */
static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* KVM_RUN, timed for the watchdog (struct kvm_vcpu); returns ioctl()'s result. */
static int kvm_run_timed(struct kvm_vm *k, struct kvm_vcpu *kv)
{
	uint64_t start = host_ns();
	int ret, err;

	atomic_store(&kv->run_start_ns, start);
	pthread_rwlock_rdlock(&k->run_lock);
	ret = ioctl(kv->fd, KVM_RUN, 0);
	err = errno;
	pthread_rwlock_unlock(&k->run_lock);
	atomic_store(&kv->run_start_ns, 0);
	if (ret < 0 && (err == EINTR || err == EAGAIN))
		atomic_fetch_add(&kv->stuck_ns, host_ns() - start);
	else
		atomic_store(&kv->stuck_ns, 0);
	errno = err;
	return ret;
}

/* How long the vCPU has been in KVM without progress; any thread. */
static uint64_t kvm_no_exit_ns(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	uint64_t start, ns;

	if (!kv)
		return 0;
	start = atomic_load(&kv->run_start_ns);
	ns = atomic_load(&kv->stuck_ns);
	if (start) {
		uint64_t now = host_ns();

		ns += now > start ? now - start : 0;
	}
	return ns;
}

/* KVM's exit reasons by name, for traces and --stats (linux/kvm.h's KVM_EXIT_*). */
static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL", [KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT", [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV", [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR", [KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD", [KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "XEN",
#ifdef KVM_EXIT_NOTIFY
	[KVM_EXIT_NOTIFY] = "NOTIFY",
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
	[KVM_EXIT_MEMORY_FAULT] = "MEMORY_FAULT",
#endif
};

static const char *exit_name(uint32_t reason, char *buf, size_t len)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	snprintf(buf, len, "reason %u", reason);	/* newer than this table */
	return buf;
}

/*
 * -d exit: one line per exit, by name. An I/O exit is traced once: as the
 * io line (machine/bus.c, with the value) when io is traced too, here
 * (port or address, direction, size) otherwise.
 */
static void trace_exit(struct vcpu *vcpu, const struct kvm_run *run)
{
	struct vm *vm = vcpu->vm;
	char buf[24];

	if ((run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_MMIO) &&
	    vm_tracing(vm, TRACE_IO))
		return;
	if (run->exit_reason == KVM_EXIT_IO)
		vm_trace(vm, TRACE_EXIT, "CPU%u kvm: exit IO %s port %#06x size %u count %u\n",
			 vcpu->id, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		vm_trace(vm, TRACE_EXIT, "CPU%u kvm: exit MMIO %s %#llx size %u\n", vcpu->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
	else
		vm_trace(vm, TRACE_EXIT, "CPU%u kvm: exit %s\n", vcpu->id,
			 exit_name(run->exit_reason, buf, sizeof(buf)));
}

enum { INJECT_NONE, INJECT_DONE, INJECT_ON_SW };

/*
 * Inject a pending interrupt the guest can take. Under the hidden IDT it
 * cannot be delivered in KVM: INJECT_ON_SW says the software CPU takes it.
 */
static int inject_interrupts(struct vcpu *vcpu, struct kvm_vm *k, struct kvm_run *run)
{
	struct kvm_vcpu *kv = vcpu->accel_data;

	run->request_interrupt_window = 0;
	if (!vm_intr_pending(vcpu->vm, vcpu->id))
		return INJECT_NONE;
	if (run->ready_for_interrupt_injection && run->if_flag) {
		int vec;
		struct kvm_interrupt irq;

		if (kv->idt_hidden)
			return INJECT_ON_SW;
		vec = vm_intr_ack(vcpu->vm, vcpu->id);
		irq.irq = (uint32_t)vec;
		if (vec >= 0 && ioctl(kv->fd, KVM_INTERRUPT, &irq) == 0) {
			k->nr_irqs++;
			/* KVM delivers exceptions itself: only what we inject is seen here. */
			vm_trace(vcpu->vm, TRACE_INT,
				 "CPU%u kvm: v=%02x injected (external interrupt)\n", vcpu->id,
				 vec);
			return INJECT_DONE;
		}
		return INJECT_NONE;
	}
	run->request_interrupt_window = 1;
	return INJECT_NONE;
}

static enum vcpu_stop kvm_vcpu_run_loop(struct vcpu *vcpu);

static enum vcpu_stop kvm_vcpu_run(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	enum vcpu_stop stop = kvm_vcpu_run_loop(vcpu);

	atomic_store_explicit(&kv->cpl_hint, -1, memory_order_relaxed);
	return stop;
}

/* Sampled by the auto engine switch: only ring0=sw splits the guest by ring. */
static int kvm_cpl_hint(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;

	return kv ? atomic_load_explicit(&kv->cpl_hint, memory_order_relaxed) : -1;
}

static enum vcpu_stop kvm_vcpu_run_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_vm *k = vm->accel_data;
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_run *run = kv->run;
	enum vcpu_stop stop;

	kv->thread = pthread_self();
	atomic_store(&kv->running, true);
	for (;;) {
		run->immediate_exit = 0;
		if (atomic_load(&vcpu->kick) || vm_should_stop(vm))
			return VCPU_STOP_KICK;
		if (k->ring0_sw && !kv->halted && in_ring0(kv)) {
			stop = run_ring0_elsewhere(vcpu, k, false);
			if (stop != VCPU_STOP_KICK)
				return stop;
			continue;
		}
		/*
		 * The NMI input: KVM queues it (and holds it while the guest
		 * blocks NMIs, exiting for nothing). Under the hidden IDT it
		 * cannot be delivered there: the software CPU takes it.
		 */
		if (atomic_load(&vcpu->nmi_req) && !vcpu->debug.single_step) {
			if (kv->idt_hidden) {
				stop = run_ring0_elsewhere(vcpu, k, false);
				if (stop != VCPU_STOP_KICK)
					return stop;
				continue;
			}
			atomic_store(&vcpu->nmi_req, false);
			if (ioctl(kv->fd, KVM_NMI, 0) == 0) {
				kv->halted = false;
				k->nr_nmis++;
			}
		}
		/* A debugger's single step masks interrupts (QEMU's sstep NOIRQ). */
		switch (vcpu->debug.single_step ? INJECT_NONE : inject_interrupts(vcpu, k, run)) {
		case INJECT_ON_SW:
			stop = run_ring0_elsewhere(vcpu, k, false);
			if (stop != VCPU_STOP_KICK)
				return stop;
			continue;
		case INJECT_DONE:
			kv->halted = false;
			atomic_store(&kv->stuck_ns, 0);	/* the guest took an interrupt */
			break;
		default:
			if (kv->halted)
				return VCPU_STOP_HALT;
		}
		if (k->ring0_sw)
			atomic_store_explicit(&kv->cpl_hint, 3, memory_order_relaxed);
		if (kvm_run_timed(k, kv) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;	/* the kick flag is checked above */
			snprintf(vcpu->error, sizeof(vcpu->error), "KVM_RUN: %s", strerror(errno));
			return VCPU_STOP_ERROR;
		}
		k->nr_exits++;
		kv->sregs_synced = run->kvm_valid_regs & KVM_SYNC_X86_SREGS;
		kv->io_pending = false;
		if (run->exit_reason < KVM_NR_EXIT_COUNTS)
			k->nr_exit_reason[run->exit_reason]++;
		if (vm_tracing(vm, TRACE_EXIT))
			trace_exit(vcpu, run);
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			k->nr_io++;
			kv->io_pending = true;
			handle_io(vm, run);
			break;
		case KVM_EXIT_MMIO:
			k->nr_mmio++;
			kv->io_pending = true;
			handle_mmio(vm, run);
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
			/* Halted until an interrupt is injected (see struct kvm_vcpu). */
			kv->halted = true;
			break;
		case KVM_EXIT_SHUTDOWN:
			/* An event in user code under the hidden IDT: replay it on sw. */
			if (!kv->idt_hidden)
				return VCPU_STOP_SHUTDOWN;
			stop = run_ring0_elsewhere(vcpu, k, true);
			if (stop != VCPU_STOP_KICK)
				return stop;
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				return VCPU_STOP_RESET;
			vm_request_exit(vm, VM_EXIT_POWEROFF, 0);
			return VCPU_STOP_KICK;
		case KVM_EXIT_DEBUG:
			kvm_debug_exit(vcpu, run);
			return VCPU_STOP_DEBUG;
		case KVM_EXIT_INTERNAL_ERROR:
			if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
				k->nr_emulation_failures++;
				stop = emulate_elsewhere(vcpu, k);
				if (stop != VCPU_STOP_KICK)
					return stop;
				break;
			}
			snprintf(vcpu->error, sizeof(vcpu->error), "KVM internal error, suberror %u",
				 run->internal.suberror);
			return VCPU_STOP_ERROR;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(vcpu->error, sizeof(vcpu->error),
				 "KVM entry failed, hardware reason %#llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return VCPU_STOP_ERROR;
		default:
			snprintf(vcpu->error, sizeof(vcpu->error), "unexpected KVM exit %u",
				 run->exit_reason);
			return VCPU_STOP_ERROR;
		}
	}
}

/*
 * The debugger's settings (machine/debug.h) in KVM_SET_GUEST_DEBUG: the
 * hardware breakpoints and watchpoints, and the software breakpoints
 * too, in the four debug registers -- so guest memory is never written
 * (no INT3 patched in, nothing for the guest or the ring-0 fallback to
 * see) at the price of four breakpoints in all. Ring 0 on the software
 * CPU (ring0=sw) reads the same vcpu->debug and has no such limit.
 */
static int kvm_set_debug(struct vcpu *vcpu)
{
	static const uint8_t rw[] = { [DEBUG_HW_EXEC] = 0, [DEBUG_HW_WRITE] = 1,
				      [DEBUG_HW_ACCESS] = 3 };
	const struct vcpu_debug *d = &vcpu->debug;
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_vm *k = vcpu->vm->accel_data;
	struct kvm_guest_debug g;
	unsigned n = 0;

	memset(&g, 0, sizeof(g));
	kv->debug_slots = 0;
	for (unsigned i = 0; i < d->nr_hw + d->nr_bp; i++) {
		uint64_t addr = i < d->nr_hw ? d->hw[i].addr : d->bp[i - d->nr_hw];
		enum vcpu_hw_type t = i < d->nr_hw ? d->hw[i].type : DEBUG_HW_EXEC;
		uint64_t len = i < d->nr_hw ? d->hw[i].len : 1;
		unsigned lenbits = len == 8 ? 2 : len == 4 ? 3 : len == 2 ? 1 : 0;

		if (t == DEBUG_HW_READ)
			return -ENOSYS;	/* x86 debug registers watch writes or all accesses */
		if (n == 4)
			return -ENOSPC;
		g.arch.debugreg[n] = addr;
		/* Gn enable, R/Wn, LENn (exec: length 0). */
		g.arch.debugreg[7] |= (2ull << (2 * n)) |
				      ((uint64_t)rw[t] << (16 + 4 * n)) |
				      ((uint64_t)(t == DEBUG_HW_EXEC ? 0 : lenbits) << (18 + 4 * n));
		kv->debug_slot[n] = (uint8_t)i;
		n++;
	}
	kv->debug_slots = n;
	if (vcpu_debug_active(d)) {
		g.control = KVM_GUESTDBG_ENABLE;
		if (n)
			g.control |= KVM_GUESTDBG_USE_HW_BP;
		if (d->single_step)
			g.control |= KVM_GUESTDBG_SINGLESTEP;
#ifdef KVM_GUESTDBG_BLOCKIRQ
		if (d->single_step && k->guest_debug_blockirq)
			g.control |= KVM_GUESTDBG_BLOCKIRQ;
#endif
	}
	if (ioctl(kv->fd, KVM_SET_GUEST_DEBUG, &g) < 0) {
		int ret = -errno;

		/* Where ring 0 runs on sw, the software CPU still honours them there. */
		if (!k->ring0_sw)
			return ret;
		if (!k->guest_debug_warned)
			fprintf(stderr, "tandem: kvm: KVM_SET_GUEST_DEBUG: %s: breakpoints hit only "
				"in code the software CPU runs (ring 0)\n", strerror(-ret));
		k->guest_debug_warned = true;
	}
	return 0;
}

/* KVM_EXIT_DEBUG: which of ours it was, into vcpu->debug_hit. */
static void kvm_debug_exit(struct vcpu *vcpu, struct kvm_run *run)
{
	const struct vcpu_debug *d = &vcpu->debug;
	struct kvm_vcpu *kv = vcpu->accel_data;
	uint64_t dr6 = run->debug.arch.dr6;
	struct vcpu_debug_hit *h = &vcpu->debug_hit;

	memset(h, 0, sizeof(*h));
	h->reason = DEBUG_STOP_STEP;
	for (unsigned n = 0; n < kv->debug_slots; n++) {
		unsigned i = kv->debug_slot[n];

		if (!(dr6 & (1ull << n)))
			continue;
		if (i >= d->nr_hw) {
			h->reason = DEBUG_STOP_SWBP;
			h->addr = d->bp[i - d->nr_hw];
		} else if (d->hw[i].type == DEBUG_HW_EXEC) {
			h->reason = DEBUG_STOP_HWBP;
			h->addr = d->hw[i].addr;
		} else {
			h->reason = DEBUG_STOP_WATCH;
			h->type = d->hw[i].type;
			h->addr = d->hw[i].addr;
		}
		return;
	}
}

/*
 * Mask the feature words of the model with KVM_GET_SUPPORTED_CPUID. The
 * model's interrupt controllers are tandem's own (no in-kernel irqchip),
 * so what KVM would emulate in its local APIC (x2APIC MSRs, TSC deadline)
 * is offered only where the software CPU runs ring 0 and so does every
 * WRMSR (ring0=sw; @opts NULL: the defaults).
 */
static void kvm_cpuid_limit(struct cpuid_model *m, const char *opts)
{
	struct kvm_cpuid2 *c;
	int fd = open(kvm_device(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	if (!c)
		goto out;
	c->nent = 256;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		goto out;
	for (unsigned i = 0; i < m->nr; i++) {
		struct cpuid_leaf *l = &m->leaf[i];
		const struct kvm_cpuid_entry2 *e = NULL;

		/*
		 * The PMU's counters live in the software CPU, which does not see
		 * the user code KVM runs: no PMU under KVM.
		 */
		if (l->function == 0xa)
			l->eax = l->ebx = l->ecx = l->edx = 0;
		if (l->function != 1 && l->function != 7 && l->function != 0x80000001 &&
		    !(l->function == 0xd && l->index <= 1))
			continue;
		for (unsigned j = 0; j < c->nent; j++)
			if (c->entries[j].function == l->function && c->entries[j].index == l->index)
				e = &c->entries[j];
		/* XSAVE: the XCR0 components (subleaf 0) and XSAVEOPT/XSAVEC (1) KVM has. */
		if (l->function == 0xd) {
			l->eax &= e ? e->eax : 0;
			continue;
		}
		if (!e) {
			l->ecx &= CPUID_1_ECX_HYPERVISOR;
			l->edx = 0;
			continue;
		}
		/* Leaf 1 EBX/EAX are identification, not features. */
		if (l->function != 1)
			l->ebx &= e->ebx;
		l->ecx &= e->ecx | (l->function == 1 ? CPUID_1_ECX_HYPERVISOR : 0);
		l->edx &= e->edx;
		if (l->function == 1 && !ring0_sw_opts(opts))
			l->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
		/* PKRU and IA32_PKRS are not handed over between KVM and the software CPU. */
		if (l->function == 7)
			l->ecx &= ~(CPUID_7_ECX_PKU | CPUID_7_ECX_OSPKE | CPUID_7_ECX_PKS);
	}
out:
	free(c);
	close(fd);
}

/*
 * The software CPU's part under ring0=sw, after an exit: protected-mode
 * code at CPL 0-2, and CPL 3 outside 64-bit mode (kvm_pvm runs only
 * 64-bit user code; call gates or INT from 32-bit ring 3 end in #UD there).
 */
static bool in_ring0(struct kvm_vcpu *kv)
{
	const struct kvm_sregs *s = &kv->run->s.regs.sregs;
	struct kvm_sregs buf;

	if (!kv->sregs_synced) {
		if (ioctl(kv->fd, KVM_GET_SREGS, &buf) < 0)
			return false;
		s = &buf;
	}
	kv->sregs_synced = false;
	/* Real mode stays in KVM (it is not the kernel of a protected-mode OS). */
	if (!(s->cr0 & X86_CR0_PE))
		return false;
	return (s->cs.selector & 3) != 3 || !(s->efer & X86_EFER_LMA) || !s->cs.l;
}

/*
 * Drop every shadow page KVM built from the guest's page tables: the
 * software CPU wrote them behind KVM's back. Deleting a memory slot
 * makes KVM invalidate all its shadow pages; re-adding it restores the
 * memory.
 */
static int kvm_zap_shadow(struct vm *vm, struct vcpu *self)
{
	struct kvm_vm *k = vm->accel_data;
	int ret = 0;

	/* The other vCPUs out of KVM_RUN (the caller is not in it), and kept out. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != self)
			kvm_vcpu_kick(vm->vcpus[i]);
	pthread_rwlock_wrlock(&k->run_lock);
	for (unsigned i = 0; i < vm->nr_ram && !ret; i++) {
		ret = set_ram_slot(k, vm, i, 0);
		if (!ret)
			ret = set_ram_slot(k, vm, i, vm->ram[i].size);
	}
	pthread_rwlock_unlock(&k->run_lock);
	if (!ret)
		k->nr_zaps++;
	return ret;
}

static bool user64(const struct x86_state *st)
{
	return (st->cr0 & X86_CR0_PE) && (st->seg[S_CS].sel & 3) == 3 &&
	       (st->efer & X86_EFER_LMA) && (st->seg[S_CS].attr & SEG_ATTR_L);
}

/*
 * A triple fault under the hidden IDT left the state at the user
 * instruction that raised the event, except for SYSCALL: kvm_pvm jumps to
 * LSTAR without leaving ring 3 and faults fetching there. Then RCX and R11
 * hold the return RIP and RFLAGS, as SYSCALL sets them: step back onto the
 * SYSCALL (checked: 0f 05 at RCX - 2) so the software CPU executes it.
 */
static void replay_fixup(struct vcpu *vcpu, struct x86_state *st)
{
	struct kvm_translation tr = { .linear_address = st->gpr[R_CX] - 2 };
	const uint8_t *p;

	if (!user64(st) || st->rip != st->msr.lstar)
		return;
	if (kvm_translate(vcpu, &tr) || !tr.valid ||
	    !(p = gpa_to_hva(vcpu->vm, tr.physical_address, 2)) || p[0] != 0x0f || p[1] != 0x05)
		return;
	st->rip = st->gpr[R_CX] - 2;
	st->rflags = st->gpr[R_R11] | 2;
}

/*
 * Put @st into KVM as the guest is to go on from it. Under ring0=sw,
 * 64-bit user code goes in with an empty IDT (struct kvm_vcpu) -- from
 * the software CPU's ring-0 runs, and just as much from a state set from
 * outside (an engine switch, a snapshot restore, gdb): with the guest's
 * own IDT there, kvm_pvm would run a SYSCALL to LSTAR still at CPL 3 and
 * deliver the page fault of fetching there, or an interrupt, through the
 * guest's IDT (busybox then dies of SIGSEGV or SIGILL).
 */
static int kvm_put_state(struct vcpu *vcpu, const struct x86_state *st)
{
	struct kvm_vm *k = vcpu->vm->accel_data;
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct x86_state tmp;
	bool hide = k->ring0_sw && user64(st);
	int ret;

	if (hide) {
		tmp = *st;
		tmp.idt.limit = 0;
	}
	ret = kvm_set_state(vcpu, hide ? &tmp : st);	/* clears kv->idt_hidden */
	if (ret)
		return ret;
	kv->idt_hidden = hide;
	kv->idt = st->idt;
	kv->iopl = st->rflags & X86_RFLAGS_IOPL;
	return 0;
}

/*
 * The state as another engine (switch, snapshot) is to go on from it.
 * Under the hidden IDT a kick can catch KVM half-way into an event of
 * user code that would end in the triple fault run_elsewhere() replays:
 * seen, a SYSCALL at LSTAR still with CS 0x33 and the fetch #PF pending.
 * Delivered by the next engine, the guest kernel would take that #PF as
 * its user's (SIGSEGV). Step back as the replay does, and drop a pending
 * fault: executing the instruction again raises it again, right.
 */
static int kvm_take_state(struct vcpu *vcpu, struct x86_state *st)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	bool hidden = kv->idt_hidden;
	int ret = kvm_get_state(vcpu, st);
	unsigned v = st->exception.vector;

	if (ret || !hidden || !user64(st) || !(st->exception.pending || st->exception.injected))
		return ret;
	replay_fixup(vcpu, st);
	/* Faults, not traps: #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM. */
	if (v < 32 && ((1u << v) & 0xb7ce1u))
		memset(&st->exception, 0, sizeof(st->exception));
	return 0;
}

/*
 * Run the vCPU on the engine that can (the software CPU) from its current
 * KVM state, as @req says, and put the result back into KVM. KICK means
 * resume in KVM.
 */
static enum vcpu_stop run_elsewhere(struct vcpu *vcpu, struct accel_emulate *req, bool replay)
{
	const struct accel_ops *fb = accel_fallback(&kvm_accel_ops);
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct x86_state st;
	enum vcpu_stop stop;
	uint64_t rip;

	if (!fb || kvm_get_state(vcpu, &st)) {
		describe_emulation_failure(vcpu);
		return VCPU_STOP_ERROR;
	}
	if (replay)
		replay_fixup(vcpu, &st);
	atomic_store(&kv->stuck_ns, 0);	/* time on sw is not time stuck in KVM */
	rip = st.seg[S_CS].base + st.rip;
	req->kick = &kv->sw_kick;
	req->has_tsc_offset = true;
	req->tsc_offset = kv->tsc_offset;
	stop = fb->emulate(vcpu, &st, req, vcpu->error, sizeof(vcpu->error));
	if (vm_tracing(vcpu->vm, TRACE_EXIT))
		vm_trace(vcpu->vm, TRACE_EXIT,
			 "CPU%u kvm: %s ran %llu instruction(s) from %#llx to %#llx (stop %d)\n",
			 vcpu->id, fb->name, (unsigned long long)req->insns,
			 (unsigned long long)rip, (unsigned long long)(st.seg[S_CS].base + st.rip),
			 stop);
	/* A debugger's stop: the state goes back to KVM, where gdb reads it. */
	if (stop != VCPU_STOP_KICK && stop != VCPU_STOP_HALT && stop != VCPU_STOP_DEBUG)
		return stop;
	/*
	 * KVM's shadow pages saw none of the software CPU's page-table writes.
	 * A guest must flush its TLB after changing a present translation,
	 * so that is when KVM's copies go; new translations KVM finds itself.
	 */
	if (req->tlb_flushed) {
		int ret = kvm_zap_shadow(vcpu->vm, vcpu);

		if (ret) {
			snprintf(vcpu->error, sizeof(vcpu->error),
				 "cannot reset KVM's shadow page tables: %s", strerror(-ret));
			return VCPU_STOP_ERROR;
		}
	}
	if (kvm_put_state(vcpu, &st)) {
		snprintf(vcpu->error, sizeof(vcpu->error),
			 "cannot hand the vCPU back to KVM after running from %#llx on %s",
			 (unsigned long long)rip, fb->name);
		return VCPU_STOP_ERROR;
	}
	return stop;
}

/* KVM gave up on an instruction: run it on the software CPU and come back. */
static enum vcpu_stop emulate_elsewhere(struct vcpu *vcpu, struct kvm_vm *k)
{
	struct accel_emulate req = { .max = 1 };
	enum vcpu_stop stop;

	if (vm_tracing(vcpu->vm, TRACE_INT | TRACE_EXIT)) {
		describe_emulation_failure(vcpu);
		vm_trace(vcpu->vm, TRACE_INT | TRACE_EXIT, "CPU%u kvm: %s: running it on %s\n",
			 vcpu->id, vcpu->error, accel_fallback(&kvm_accel_ops)->name);
	}
	stop = run_elsewhere(vcpu, &req, false);
	if (stop == VCPU_STOP_KICK || stop == VCPU_STOP_HALT)
		k->nr_fallbacks++;
	return stop;
}

/*
 * ring0=sw: the guest is in its kernel, or has an interrupt to take in user
 * mode, or (@replay) its user code raised an event under the hidden IDT:
 * run it on sw until it returns to user mode.
 */
static enum vcpu_stop run_ring0_elsewhere(struct vcpu *vcpu, struct kvm_vm *k, bool replay)
{
	struct accel_emulate req = { .until_user = true };
	enum vcpu_stop stop;

	struct kvm_vcpu *kv = vcpu->accel_data;

	atomic_store_explicit(&kv->cpl_hint, 0, memory_order_relaxed);
	stop = run_elsewhere(vcpu, &req, replay);
	atomic_store_explicit(&kv->cpl_hint, -1, memory_order_relaxed);
	k->nr_ring0_runs++;
	k->nr_replays += replay;
	k->nr_ring0_insns += req.insns;
	return stop;
}

static void kvm_print_stats(struct vm *vm, FILE *out)
{
	struct kvm_vm *k = vm->accel_data;

	fprintf(out, "tandem: kvm: %llu exits (%llu port I/O, %llu MMIO), %llu interrupts "
		"injected, %llu NMIs, %llu emulation failures (%llu run on the software CPU)\n",
		(unsigned long long)k->nr_exits, (unsigned long long)k->nr_io,
		(unsigned long long)k->nr_mmio, (unsigned long long)k->nr_irqs,
		(unsigned long long)k->nr_nmis,
		(unsigned long long)k->nr_emulation_failures,
		(unsigned long long)k->nr_fallbacks);
	/* The exits by reason, by name, most frequent first (a few kinds only: a simple sort). */
	{
		bool done[KVM_NR_EXIT_COUNTS] = { false };
		char buf[24];
		unsigned shown = 0;

		for (;;) {
			int best = -1;

			for (unsigned r = 0; r < KVM_NR_EXIT_COUNTS; r++)
				if (!done[r] && k->nr_exit_reason[r] &&
				    (best < 0 || k->nr_exit_reason[r] > k->nr_exit_reason[best]))
					best = (int)r;
			if (best < 0)
				break;
			done[best] = true;
			fprintf(out, "%s%s %llu", shown++ ? ", " : "tandem: kvm: exits by reason: ",
				exit_name((uint32_t)best, buf, sizeof(buf)),
				(unsigned long long)k->nr_exit_reason[best]);
		}
		if (shown)
			fputc('\n', out);
	}
}

static void kvm_progress(struct vm *vm, struct accel_progress *p)
{
	const struct kvm_vm *k = vm->accel_data;

	p->exits = *(const volatile uint64_t *)&k->nr_exits;
	p->insns = *(const volatile uint64_t *)&k->nr_ring0_insns;
}

static const struct accel_opt kvm_opts[] = {
	{ "ring0", "auto|kvm|sw", "where guest ring-0 code runs; sw: on the software CPU, "
	  "with 32-bit user code, leaving KVM 64-bit user code; auto: sw when KVM is "
	  "kvm_pvm (which emulates ring 0 slowly), else kvm" },
	{ NULL, NULL, NULL },
};

const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.hw = true,
	.desc = "Linux KVM (hardware virtualization)",
	.probe = kvm_probe,
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.mem_written = kvm_mem_written,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.cpl_hint = kvm_cpl_hint,
	.vcpu_kick = kvm_vcpu_kick,
	.get_state = kvm_take_state,
	.set_state = kvm_put_state,
	.cpuid_limit = kvm_cpuid_limit,
	.opts = kvm_opts,
	.print_stats = kvm_print_stats,
	.no_exit_ns = kvm_no_exit_ns,
	.set_debug = kvm_set_debug,
	.progress = kvm_progress,
};
