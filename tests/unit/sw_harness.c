// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit-test harness for the software CPU: see sw_harness.h. */
#include <stdlib.h>
#include <string.h>

#include "machine/cpuid.h"
#include "machine/memory.h"
#include "tests/unit/sw_harness.h"
#include "accel/sw/translator/tb.h"

static void seg(struct x86_seg *s, uint16_t sel, uint32_t limit, uint32_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = limit;
	s->attr = attr;
}

/* Identity map of the first 1 GiB with 2 MiB pages, for the long modes. */
static void build_page_tables(struct swh *h)
{
	uint64_t pml4 = SWH_PT_BASE, pdpt = SWH_PT_BASE + 0x1000, pd = SWH_PT_BASE + 0x2000;

	swh_poke_val(h, pml4, pdpt | 0x7, 8);	/* P RW US */
	swh_poke_val(h, pdpt, pd | 0x7, 8);
	for (uint64_t i = 0; i < 512; i++)
		swh_poke_val(h, pd + 8 * i, (i << 21) | 0x87, 8);	/* P RW US PS */
}

void swh_set_mode(struct swh *h, enum swh_mode mode)
{
	struct x86_state *st = &h->cpu.st;
	int i;

	h->mode = mode;
	x86_state_reset(st);
	st->rip = 0;
	st->gpr[R_DX] = 0;
	st->gpr[R_SP] = 0x8000;
	switch (mode) {
	case SWH_REAL:
		for (i = 0; i < S_NR; i++)
			seg(&st->seg[i], 0, 0xffff, 0x93);
		seg(&st->seg[S_CS], 0, 0xffff, 0x9b);
		st->idt.base = 0;
		st->idt.limit = 0x3ff;
		break;
	case SWH_PROT16:
		st->cr0 = X86_CR0_PE | X86_CR0_ET;
		for (i = 0; i < S_NR; i++)
			seg(&st->seg[i], 0x10, 0xffff, 0x93);
		seg(&st->seg[S_CS], 0x08, 0xffff, 0x9b);
		break;
	case SWH_PROT32:
		x86_state_flat32(st);
		st->gpr[R_SP] = 0x8000;
		break;
	case SWH_COMPAT32:
	case SWH_LONG64:
		x86_state_flat32(st);
		st->gpr[R_SP] = 0x8000;
		build_page_tables(h);
		st->cr3 = SWH_PT_BASE;
		st->cr4 = X86_CR4_PAE;
		st->efer = X86_EFER_LME | X86_EFER_LMA;
		st->cr0 |= X86_CR0_PG;
		if (mode == SWH_LONG64)
			seg(&st->seg[S_CS], 0x08, 0xffffffff, 0xa09b);	/* L=1 G=1 */
		break;
	}
	h->cpu.stop_req = false;
	h->cpu.delivering = 0;
	sw_mmu_paging_changed(&h->cpu);
	sw_mmu_flush_all(&h->cpu);
}

struct swh *swh_new(uint64_t ram_size, enum swh_mode mode)
{
	struct swh *h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);

	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->vm.cfg.ram_size = ram_size;
	h->vm.cfg.smp = 1;
	h->vm.cfg.accel = "sw";
	pthread_mutex_init(&h->vm.lock, NULL);
	pthread_mutex_init(&h->vm.halt_lock, NULL);
	pthread_cond_init(&h->vm.halt_cond, NULL);
	cpuid_model_init(&cpuid_global, 1);
	if (vm_mem_init(&h->vm, ram_size))
		goto err;
	if (sw_vm_init_data(&h->svm, &h->vm))
		goto err_mem;
	h->vm.accel_data = &h->svm;
	if (sw_cpu_init(&h->cpu, &h->vm, &h->svm))
		goto err_svm;
	swh_set_mode(h, mode);
	return h;

err_svm:
	sw_vm_destroy_data(&h->svm);
err_mem:
	vm_mem_exit(&h->vm);
err:
	free(h);
	return NULL;
}

void swh_free(struct swh *h)
{
	if (!h)
		return;
	sw_cpu_destroy(&h->cpu);
	sw_vm_destroy_data(&h->svm);
	bus_free(&h->vm.pio);
	bus_free(&h->vm.mmio);
	vm_mem_exit(&h->vm);
	free(h);
}

void swh_poke(struct swh *h, uint64_t gpa, const void *src, size_t len)
{
	if (vm_mem_write(&h->vm, gpa, src, len))
		abort();	/* a test bug, not guest input */
	/* Like a DMA write: drop decoded instructions of the pages touched. */
	for (uint64_t p = gpa & ~0xfffull; p < gpa + len; p += 4096) {
		sw_decode_invalidate_page(&h->svm, p);
		tb_invalidate_range(&h->svm, p, 4096);
	}
}

void swh_peek(struct swh *h, uint64_t gpa, void *dst, size_t len)
{
	if (vm_mem_read(&h->vm, gpa, dst, len))
		abort();
}

uint64_t swh_peek_val(struct swh *h, uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	swh_peek(h, gpa, &v, size > 8 ? 8 : size);
	return v;
}

void swh_poke_val(struct swh *h, uint64_t gpa, uint64_t val, unsigned size)
{
	swh_poke(h, gpa, &val, size > 8 ? 8 : size);
}

uint64_t swh_load_code(struct swh *h, uint64_t gpa, const void *code, size_t len)
{
	swh_poke(h, gpa, code, len);
	h->cpu.st.rip = gpa - h->cpu.st.seg[S_CS].base;
	h->cpu.st.halted = false;
	return h->cpu.st.rip + len;
}

int swh_step(struct swh *h)
{
	struct sw_cpu *cpu = &h->cpu;

	if (cpu->st.halted)
		return SWH_HALT;
	if (sigsetjmp(cpu->jmp, 0)) {
		cpu->insn = NULL;
		return cpu->exc.vector;
	}
	sw_step(cpu);
	if (cpu->stop_req) {
		cpu->stop_req = false;
		return SWH_STOP;
	}
	return cpu->st.halted ? SWH_HALT : SWH_OK;
}

int swh_run(struct swh *h, uint64_t end_rip, uint64_t max)
{
	for (uint64_t i = 0; i < max; i++) {
		int r;

		if (h->cpu.st.rip == end_rip)
			return SWH_OK;
		r = swh_step(h);
		if (r != SWH_OK)
			return r;
	}
	return h->cpu.st.rip == end_rip ? SWH_OK : SWH_LIMIT;
}

enum vcpu_stop swh_run_events(struct swh *h, uint64_t max)
{
	return sw_run(&h->cpu, max, NULL);
}
