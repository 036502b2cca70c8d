// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests: bus, guest RAM, IRQ routing, timers, CPU model. */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "machine/bus.h"
#include "machine/cpuid.h"
#include "machine/disasm.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/timer.h"
#include "machine/vm.h"
#include "machine/x86_state.h"

struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1122334455667788ull;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_val = val;
	d->last_size = size;
}

static const struct io_ops fake_ops = { fake_read, fake_write };

static void init_vm(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->halt_lock, NULL);
	pthread_cond_init(&vm->halt_cond, NULL);
}

static void test_bus_register_and_overlap(void)
{
	struct vm vm;
	struct fake_dev a = { 0 }, b = { 0 };

	init_vm(&vm);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x3f8, 8, &fake_ops, &a, "a"), 0);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x3f0, 9, &fake_ops, &b, "b"), -EEXIST);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x3ff, 1, &fake_ops, &b, "b"), -EEXIST);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x400, 1, &fake_ops, &b, "b"), 0);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x3f0, 8, &fake_ops, &b, "c"), 0);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x10, 0, &fake_ops, &b, "empty"), -EINVAL);
	CU_ASSERT_EQUAL(pio_register(&vm, 0xfff0, 0x20, &fake_ops, &b, "wraps"), -EINVAL);
	CU_ASSERT_EQUAL(vm.pio.nr, 3);
	/* Devices see offsets from their base. */
	pio_write(&vm, 0x3fb, 0x80, 1);
	CU_ASSERT_EQUAL(a.writes, 1);
	CU_ASSERT_EQUAL(a.last_off, 3);
	CU_ASSERT_EQUAL(a.last_val, 0x80);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x3f9, 2), 0x7788);
	CU_ASSERT_EQUAL(a.last_off, 1);
	CU_ASSERT_EQUAL(a.last_size, 2);
	bus_free(&vm.pio);
}

static void test_bus_unmapped(void)
{
	struct vm vm;

	init_vm(&vm);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x2f0, 1), 0xff);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x2f0, 2), 0xffff);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x2f0, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xfec00000, 8), ~0ull);
	pio_write(&vm, 0x2f0, 1, 1);
	mmio_write(&vm, 0xfee00000, 1, 4);
	CU_ASSERT_EQUAL(vm.pio.unmapped_reads, 3);
	CU_ASSERT_EQUAL(vm.pio.unmapped_writes, 1);
	CU_ASSERT_EQUAL(vm.mmio.unmapped_reads, 1);
	CU_ASSERT_EQUAL(vm.mmio.unmapped_writes, 1);
}

/*
 * An access a device claims only in part reaches no device (bus.h): not
 * the device, not its neighbour, not split into bytes.
 */
static void test_bus_partial_claim(void)
{
	struct vm vm;
	struct fake_dev a = { 0 }, rcr = { 0 };

	init_vm(&vm);
	CU_ASSERT_EQUAL(pio_register(&vm, 0x100, 2, &fake_ops, &a, "a"), 0);
	/* A dword at 0xff: byte 0xff is a hole, bytes 0x100-0x101 the device, 0x102 a hole. */
	CU_ASSERT_EQUAL(pio_read(&vm, 0xff, 4), 0xffffffffu);
	pio_write(&vm, 0xff, 0xaabbccdd, 4);
	/* Starts inside, runs past the end. */
	CU_ASSERT_EQUAL(pio_read(&vm, 0x101, 2), 0xffff);
	pio_write(&vm, 0x100, 0x11223344, 4);
	CU_ASSERT_EQUAL(a.reads, 0);
	CU_ASSERT_EQUAL(a.writes, 0);
	CU_ASSERT_EQUAL(vm.pio.partial_reads, 2);
	CU_ASSERT_EQUAL(vm.pio.partial_writes, 2);
	CU_ASSERT_EQUAL(vm.pio.unmapped_reads, 2);
	CU_ASSERT_EQUAL(vm.pio.unmapped_writes, 2);
	/* Whole accesses inside the range still reach it, unsplit. */
	CU_ASSERT_EQUAL(pio_read(&vm, 0x100, 2), 0x7788);
	CU_ASSERT_EQUAL(a.last_size, 2);
	CU_ASSERT_EQUAL(a.last_off, 0);

	/*
	 * The reset control register at 0xcf9 and no host bridge at 0xcf8: a
	 * PCI probe's dword OUT to 0xcf8 must not put byte 1 (here 0x06, the
	 * reset value) into it, and the dword IN must not read it.
	 */
	CU_ASSERT_EQUAL(pio_register(&vm, 0xcf9, 1, &fake_ops, &rcr, "rcr"), 0);
	pio_write(&vm, 0xcf8, 0x80000600u, 4);
	pio_write(&vm, 0xcf8, 0x80000600u, 2);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xcf8, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(rcr.writes, 0);
	CU_ASSERT_EQUAL(rcr.reads, 0);
	CU_ASSERT_EQUAL(vm.pio.partial_writes, 4);
	/* Its own byte still works. */
	pio_write(&vm, 0xcf9, 0x06, 1);
	CU_ASSERT_EQUAL(rcr.writes, 1);
	CU_ASSERT_EQUAL(rcr.last_val, 0x06);
	/* An untouched hole is unmapped but not partial. */
	pio_write(&vm, 0xcfc, 0, 4);
	CU_ASSERT_EQUAL(vm.pio.partial_writes, 4);
	CU_ASSERT_EQUAL(vm.pio.unmapped_writes, 5);

	/* The top of port space: a word at 0xffff belongs to no range. */
	CU_ASSERT_EQUAL(pio_register(&vm, 0xffff, 1, &fake_ops, &rcr, "top"), 0);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xffff, 2), 0xffff);
	CU_ASSERT_EQUAL(rcr.reads, 0);

	/* MMIO follows the same rule, also for two adjacent devices. */
	CU_ASSERT_EQUAL(mmio_register(&vm, 0xfed00000, 0x10, &fake_ops, &a, "m1"), 0);
	CU_ASSERT_EQUAL(mmio_register(&vm, 0xfed00010, 0x10, &fake_ops, &rcr, "m2"), 0);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xfed0000c, 8), ~0ull);
	mmio_write(&vm, 0xfed0000c, 0, 8);
	CU_ASSERT_EQUAL(a.writes, 0);
	CU_ASSERT_EQUAL(vm.mmio.partial_reads, 1);
	CU_ASSERT_EQUAL(vm.mmio.partial_writes, 1);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xfed00008, 8), 0x1122334455667788ull);
	CU_ASSERT_EQUAL(a.last_off, 8);
	bus_free(&vm.pio);
	bus_free(&vm.mmio);
}

static void test_ram_layout_and_bounds(void)
{
	struct vm vm;
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];

	init_vm(&vm);
	CU_ASSERT_EQUAL(vm_mem_init(&vm, 64ull << 20), 0);
	CU_ASSERT_EQUAL(vm.nr_ram, 1);
	CU_ASSERT_PTR_NOT_NULL(gpa_to_hva(&vm, 0, 64ull << 20));
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, 0, (64ull << 20) + 1));
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, (64ull << 20) - 4, 8));
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, ~0ull - 2, 8));	/* wraps */
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, 0x1000, ~0ull));
	CU_ASSERT_EQUAL(vm_mem_write(&vm, 0x1000, buf, 8), 0);
	CU_ASSERT_EQUAL(vm_mem_read(&vm, 0x1000, back, 8), 0);
	CU_ASSERT_EQUAL(memcmp(buf, back, 8), 0);
	CU_ASSERT_EQUAL(vm_mem_write(&vm, (64ull << 20) - 4, buf, 8), -EFAULT);
	vm_mem_exit(&vm);
	CU_ASSERT_EQUAL(vm_mem_init(&vm, 1000), -EINVAL);
}

static void test_ram_above_hole(void)
{
	struct vm vm;

	init_vm(&vm);
	/* MAP_NORESERVE: 4 GiB of address space, nothing touched. */
	CU_ASSERT_EQUAL(vm_mem_init(&vm, 4ull << 30), 0);
	CU_ASSERT_EQUAL(vm.nr_ram, 2);
	CU_ASSERT_EQUAL(vm.ram[0].size, VM_LOWMEM_END);
	CU_ASSERT_EQUAL(vm.ram[1].gpa, VM_HIGHMEM_BASE);
	CU_ASSERT_EQUAL(vm.ram[1].size, (4ull << 30) - VM_LOWMEM_END);
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, VM_LOWMEM_END, 1));	/* the hole */
	CU_ASSERT_PTR_NOT_NULL(gpa_to_hva(&vm, VM_HIGHMEM_BASE, 4096));
	CU_ASSERT_PTR_NULL(gpa_to_hva(&vm, VM_LOWMEM_END - 2, 4));	/* straddles */
	vm_mem_exit(&vm);
}

static int line_levels[VM_NR_IRQ_LINES];

static void record_line(void *opaque, unsigned line, int level)
{
	(void)opaque;
	line_levels[line] = level;
}

static void test_irq_routing(void)
{
	struct vm vm;

	init_vm(&vm);
	memset(line_levels, 0, sizeof(line_levels));
	CU_ASSERT_EQUAL(irq_connect(&vm, 4, record_line, NULL), 0);
	CU_ASSERT_EQUAL(irq_connect(&vm, VM_NR_IRQ_LINES, record_line, NULL), -EINVAL);
	irq_set(&vm, 4, 1);
	CU_ASSERT_EQUAL(line_levels[4], 1);
	irq_set(&vm, 4, 0);
	CU_ASSERT_EQUAL(line_levels[4], 0);
	irq_set(&vm, 3, 1);	/* nobody listens: nothing happens */
	CU_ASSERT_EQUAL(line_levels[3], 0);
	irq_set(&vm, 1000, 1);	/* out of range: ignored, no crash */
	irq_free(&vm);
}

static int fired;

static void on_timer(void *opaque)
{
	(void)opaque;
	fired++;
}

static void test_timers_manual_clock(void)
{
	struct vm vm;
	struct vm_timer *t;

	init_vm(&vm);
	fired = 0;
	vm_clock_set_manual(&vm, 1000);
	CU_ASSERT_EQUAL(vm_clock_ns(&vm), 1000);
	t = vm_timer_new(&vm, on_timer, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	vm_timer_mod(t, 5000);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 0);
	vm_clock_set_manual(&vm, 5000);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 1);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 1);	/* one-shot */
	vm_timer_mod(t, 6000);
	vm_timer_del(t);
	vm_clock_set_manual(&vm, 10000);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 1);
	vm_timers_free(&vm);
}

static struct vm_timer *eager;

/* A callback that always wants to run again now (a guest asking too much). */
static void on_eager(void *opaque)
{
	(void)opaque;
	fired++;
	vm_timer_mod(eager, 0);
}

/*
 * A timer re-armed at or before "now" runs once per pass, not in a loop
 * under vm->lock (which starved the vCPU threads: 64 rounds per wakeup).
 */
static void test_timers_once_per_pass(void)
{
	struct vm vm;

	init_vm(&vm);
	fired = 0;
	vm_clock_set_manual(&vm, 1000);
	eager = vm_timer_new(&vm, on_eager, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eager);
	vm_timer_mod(eager, 500);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 1);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 2);
	vm_timer_del(eager);
	vm_timers_run(&vm);
	CU_ASSERT_EQUAL(fired, 2);
	vm_timers_free(&vm);
}

static void test_cpuid_model(void)
{
	uint32_t r[4];

	cpuid_model_init(&cpuid_global, 2);
	cpuid_model_lookup(&cpuid_global, 1, 0, 0, r);
	CU_ASSERT(r[0] >= 1);
	cpuid_model_lookup(&cpuid_global, 1, 1, 0, r);
	CU_ASSERT_EQUAL(r[1] >> 24, 1);			/* APIC id */
	CU_ASSERT_EQUAL((r[1] >> 16) & 0xff, 2);	/* logical CPUs */
	CU_ASSERT(r[2] & CPUID_1_ECX_HYPERVISOR);
	CU_ASSERT(r[3] & CPUID_1_EDX_SSE2);
	/* XSAVE where the host has it, then leaf 0xD describes x87+SSE (+AVX with AVX). */
	if (r[2] & CPUID_1_ECX_XSAVE) {
		bool avx = r[2] & CPUID_1_ECX_AVX;

		cpuid_model_lookup(&cpuid_global, 0, 0, 0, r);
		CU_ASSERT(r[0] >= 0xd);
		cpuid_model_lookup(&cpuid_global, 0, 0xd, 0, r);
		CU_ASSERT_EQUAL(r[0] & 3, 3);
		CU_ASSERT_EQUAL(!!(r[0] & CPUID_XCR0_AVX), avx);
		CU_ASSERT_EQUAL(r[1], 576);		/* XCR0 at reset: x87 */
		CU_ASSERT_EQUAL(r[2], avx ? 832u : 576u);
		cpuid_model_lookup(&cpuid_global, 0, 0xd, 2, r);
		CU_ASSERT_EQUAL(r[0], avx ? 256u : 0u);
		cpuid_model_lookup(&cpuid_global, 0, 0xd, 3, r);
		CU_ASSERT_EQUAL(r[0], 0);
	}
	cpuid_model_lookup(&cpuid_global, 0, 0x80000001, 0, r);
	CU_ASSERT(r[3] & CPUID_81_EDX_LM);
	cpuid_model_lookup(&cpuid_global, 0, 0x80000002, 0, r);
	CU_ASSERT_EQUAL(memcmp(r, "tandem virtual C", 16), 0);
	cpuid_model_lookup(&cpuid_global, 0, 0x40000000, 0, r);
	CU_ASSERT_EQUAL(memcmp(&r[1], "TandemTandem", 12), 0);
}

/* -cpu: named models, +feat/-feat, and the errors, against a software CPU that has everything. */
static void test_cpuid_models(void)
{
	struct cpuid_feats all;
	struct cpuid_model m;
	uint32_t r[4];
	char why[256];

	memset(&all, 0xff, sizeof(all));
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "Nehalem", &all, "sw", false, NULL, why,
					  sizeof(why)), 0);
	cpuid_model_lookup(&m, 0, 0, 0, r);
	CU_ASSERT_EQUAL(memcmp(&r[1], "Genu", 4), 0);
	cpuid_model_lookup(&m, 0, 1, 0, r);
	CU_ASSERT_EQUAL(r[0], 0x106a3);				/* family 6, model 26, stepping 3 */
	CU_ASSERT(r[2] & CPUID_1_ECX_SSE4_2);
	CU_ASSERT(!(r[2] & CPUID_1_ECX_AVX));
	CU_ASSERT(cpuid_model_has(&m, "sse4.2") && cpuid_model_has(&m, "sse4_2"));
	CU_ASSERT(!cpuid_model_has(&m, "avx2"));

	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "EPYC,-avx2,+pku,smap=off", &all, "sw", false,
					  NULL, why, sizeof(why)), 0);
	cpuid_model_lookup(&m, 0, 0, 0, r);
	CU_ASSERT_EQUAL(memcmp(&r[1], "Auth", 4), 0);
	CU_ASSERT(!cpuid_model_has(&m, "avx2") && cpuid_model_has(&m, "avx"));
	CU_ASSERT(cpuid_model_has(&m, "pku") && !cpuid_model_has(&m, "smap"));
	CU_ASSERT(cpuid_model_has(&m, "xsave"));
	cpuid_model_lookup(&m, 0, 0xd, 2, r);			/* the YMM component */
	CU_ASSERT_EQUAL(r[0], 256);
	CU_ASSERT_EQUAL(r[1], 576);

	/* Errors: one line each, naming what is wrong. */
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "Pentium9", &all, "sw", false, NULL, why,
					  sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "unknown CPU model 'Pentium9'") != NULL);
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "max,+frob", &all, "sw", false, NULL, why,
					  sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "unknown CPU feature 'frob'") != NULL);
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "max,frob", &all, "sw", false, NULL, why,
					  sizeof(why)), -EINVAL);
	/* A model's feature the engine lacks: left out, or an error with enforce / +feat. */
	all.w[CPUID_W_7_EBX] &= ~CPUID_7_EBX_SMEP;
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "Haswell-noTSX", &all, "sw", false, NULL, why,
					  sizeof(why)), 0);
	CU_ASSERT(!cpuid_model_has(&m, "smep"));
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "Haswell-noTSX,enforce", &all, "sw", false, NULL,
					  why, sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "smep") != NULL);
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "qemu64,+smep", &all, "sw", false, NULL, why,
					  sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "feature smep") != NULL);
	/* max: exactly what the engine has; the PMU's leaf 0xa on an Intel model. */
	all.w[CPUID_W_7_EBX] |= CPUID_7_EBX_SMEP;
	CU_ASSERT_EQUAL(cpuid_model_build(&m, 1, "Nehalem,+pmu", &all, "sw", false, NULL, why,
					  sizeof(why)), 0);
	cpuid_model_lookup(&m, 0, 0xa, 0, r);
	CU_ASSERT_EQUAL(r[0] & 0xff, 2);
	CU_ASSERT_EQUAL(r[1] & 2, 0);				/* instructions retired */
	cpuid_model_init(&cpuid_global, 1);
}

/*
 * The emulation-failure message decodes in the vCPU's mode: the same
 * bytes are different instructions at 16, 32 and 64 bits.
 */
static void test_describe_insn_modes(void)
{
	static const uint8_t b16[] = { 0xcd, 0x21, 0x90 };		/* int 0x21 */
	static const uint8_t mov[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0x90, 0x90, 0x90, 0x90 };
	static const uint8_t rex[] = { 0x48, 0x89, 0xd8, 0x90 };	/* 64: mov rax, rbx */
	char t[128];

	CU_ASSERT_EQUAL(x86_describe_insn(b16, sizeof(b16), 0x601f, 16, t, sizeof(t)), 2);
	CU_ASSERT_STRING_EQUAL(t, "int 0x21");
	/* b8 imm: 3 bytes at 16 bits, 5 at 32 and 64. */
	CU_ASSERT_EQUAL(x86_describe_insn(mov, sizeof(mov), 0x9010, 16, t, sizeof(t)), 3);
	CU_ASSERT_STRING_EQUAL(t, "mov ax, 0x5678");
	CU_ASSERT_EQUAL(x86_describe_insn(mov, sizeof(mov), 0x9010, 32, t, sizeof(t)), 5);
	CU_ASSERT_STRING_EQUAL(t, "mov eax, 0x12345678");
	/* 48 is REX.W at 64 bits, DEC EAX at 32. */
	CU_ASSERT_EQUAL(x86_describe_insn(rex, sizeof(rex), 0x100000, 64, t, sizeof(t)), 3);
	CU_ASSERT_STRING_EQUAL(t, "mov rax, rbx");
	CU_ASSERT_EQUAL(x86_describe_insn(rex, sizeof(rex), 0x100000, 32, t, sizeof(t)), 1);
	CU_ASSERT_STRING_EQUAL(t, "dec eax");
	/* 0f 0b is ud2 in every mode; no trailing blank. */
	CU_ASSERT_EQUAL(x86_describe_insn((const uint8_t *)"\x0f\x0b", 2, 0, 64, t, sizeof(t)), 2);
	CU_ASSERT_STRING_EQUAL(t, "ud2");
	/* Cut short: nothing decodes. */
	CU_ASSERT_EQUAL(x86_describe_insn(mov, 2, 0, 32, t, sizeof(t)), 0);
	CU_ASSERT_STRING_EQUAL(t, "?");
}

/* The mode the describer is told, from CR0.PE, RFLAGS.VM, EFER.LMA, CS.L and CS.D. */
static void test_code_bits(void)
{
	struct x86_state st;

	x86_state_reset(&st);
	CU_ASSERT_EQUAL(x86_code_bits(&st), 16);		/* real mode */
	st.seg[S_CS].attr |= SEG_ATTR_DB;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 16);		/* still real mode */
	x86_state_flat32(&st);
	CU_ASSERT_EQUAL(x86_code_bits(&st), 32);
	st.rflags |= X86_RFLAGS_VM;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 16);		/* virtual-8086 */
	st.rflags &= ~X86_RFLAGS_VM;
	st.seg[S_CS].attr &= ~SEG_ATTR_DB;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 16);		/* 16-bit protected mode */
	st.seg[S_CS].attr |= SEG_ATTR_L;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 16);		/* L without LMA counts for nothing */
	st.efer |= X86_EFER_LME | X86_EFER_LMA;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 64);
	st.seg[S_CS].attr = (st.seg[S_CS].attr & ~SEG_ATTR_L) | SEG_ATTR_DB;
	CU_ASSERT_EQUAL(x86_code_bits(&st), 32);		/* compatibility mode */
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("machine", NULL, NULL);
	CU_add_test(s, "bus register/overlap/offsets", test_bus_register_and_overlap);
	CU_add_test(s, "bus unmapped all-ones, counted", test_bus_unmapped);
	CU_add_test(s, "bus partial claim: never split, never a neighbour", test_bus_partial_claim);
	CU_add_test(s, "RAM layout and bounds", test_ram_layout_and_bounds);
	CU_add_test(s, "RAM above the 32-bit hole", test_ram_above_hole);
	CU_add_test(s, "IRQ routing", test_irq_routing);
	CU_add_test(s, "timers on a manual clock", test_timers_manual_clock);
	CU_add_test(s, "timers run once per pass", test_timers_once_per_pass);
	CU_add_test(s, "CPUID model", test_cpuid_model);
	CU_add_test(s, "CPUID models and -cpu options", test_cpuid_models);
	CU_add_test(s, "instruction described in 16/32/64-bit mode", test_describe_insn_modes);
	CU_add_test(s, "code width from CR0, RFLAGS, EFER, CS", test_code_bits);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
