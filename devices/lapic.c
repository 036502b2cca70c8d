// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Local APIC (xAPIC, memory-mapped), one per VM for now; see lapic.h.
 *
 * Interrupt acceptance follows the SDM's model: fixed interrupts land in
 * IRR (TMR records level-triggered ones); the CPU takes the highest IRR
 * vector whose priority class (vector >> 4) is above PPR's class; INTA
 * moves it to ISR; EOI retires the highest ISR vector and, when its TMR
 * bit is set, broadcasts the EOI to the I/O APIC. PPR is never stored:
 * it is computed from TPR and ISR whenever needed, so it cannot go stale.
 *
 * The INTR output combines two sources (ExtINT wins, as the PIC's INTA
 * cycle bypasses IRR and PPR entirely):
 *  - the 8259's INTR, when routed: directly while software-disabled, or
 *    through LINT0 in ExtINT mode, or once per ExtINT message from the
 *    I/O APIC;
 *  - the best deliverable APIC vector.
 *
 * The timer keeps no running counter: "start" is when the count last held
 * the initial value, and the current count is derived from the VM clock,
 * so reads are exact at any time and no callback runs per tick.
 *
 * Timer storms: a periodic timer asked for a period under
 * LAPIC_MIN_PERIOD_NS (count 1, divide 1 is 1 ns) is stretched to that
 * period, and even then can outrun interrupt delivery (under KVM each one
 * costs exits: the guest would only take ticks). At such rates a tick
 * fires only once the CPU is done with the previous one (its vector
 * neither in IRR nor in ISR); until then it is held and looked at again
 * after a gap that doubles up to LAPIC_BACKOFF_MAX_NS, the missed periods
 * coalescing into one interrupt, as in i8254.c (QEMU's lost-tick policy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "devices/i8259.h"
#include "devices/lapic.h"
#include "machine/bus.h"
#include "machine/cpuid.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/timer.h"
#include "machine/vm.h"

/* Register offsets (each register sits at the start of a 16-byte slot). */
#define REG_ID		0x020
#define REG_VERSION	0x030
#define REG_TPR		0x080
#define REG_APR		0x090
#define REG_PPR		0x0a0
#define REG_EOI		0x0b0
#define REG_RRD		0x0c0
#define REG_LDR		0x0d0
#define REG_DFR		0x0e0
#define REG_SVR		0x0f0
#define REG_ISR		0x100	/* 8 registers, 0x100-0x170 */
#define REG_TMR		0x180
#define REG_IRR		0x200
#define REG_ESR		0x280
#define REG_ICR_LO	0x300
#define REG_ICR_HI	0x310
#define REG_LVT_TIMER	0x320
#define REG_LVT_THERMAL	0x330
#define REG_LVT_PMC	0x340
#define REG_LVT_LINT0	0x350
#define REG_LVT_LINT1	0x360
#define REG_LVT_ERROR	0x370
#define REG_TMICT	0x380
#define REG_TMCCT	0x390
#define REG_TDCR	0x3e0

/* LVT indices, in register order from REG_LVT_TIMER. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PMC, LVT_LINT0, LVT_LINT1, LVT_ERROR, NR_LVT };

#define LVT_VECTOR		0x000000ffu
#define LVT_DM_SHIFT		8
#define LVT_MASKED		(1u << 16)
#define LVT_TIMER_PERIODIC	(1u << 17)
#define LVT_TIMER_DEADLINE	(1u << 18)	/* with tsc-deadline in the CPU model */

/* Writable bits per LVT; delivery status and remote IRR stay 0 (delivery is instant). */
static const uint32_t lvt_writable[NR_LVT] = {
	[LVT_TIMER]	= LVT_VECTOR | LVT_MASKED | LVT_TIMER_PERIODIC,
	[LVT_THERMAL]	= LVT_VECTOR | 0x700 | LVT_MASKED,
	[LVT_PMC]	= LVT_VECTOR | 0x700 | LVT_MASKED,
	/* + pin polarity (13) and trigger mode (15) */
	[LVT_LINT0]	= LVT_VECTOR | 0x700 | 0xa000 | LVT_MASKED,
	[LVT_LINT1]	= LVT_VECTOR | 0x700 | 0xa000 | LVT_MASKED,
	[LVT_ERROR]	= LVT_VECTOR | LVT_MASKED,
};

#define SVR_ENABLE		(1u << 8)
/* Vector, enable, focus-processor check; no EOI-broadcast suppression (bit 12). */
#define SVR_WRITABLE		0x3ffu

#define DFR_MODEL_FLAT		0xfu
#define DFR_MODEL_CLUSTER	0x0u

#define ICR_VECTOR		0x000000ffu
#define ICR_DM_SHIFT		8
#define ICR_LOGICAL		(1u << 11)
#define ICR_LEVEL_ASSERT	(1u << 14)
#define ICR_LEVEL_TRIG		(1u << 15)
#define ICR_SHORTHAND_SHIFT	18
/* Delivery status (12) always reads idle: messages are delivered at once. */
#define ICR_LO_WRITABLE		0x000cefffu
enum { SH_NONE, SH_SELF, SH_ALL, SH_OTHERS };

#define ESR_SEND_ILLEGAL	(1u << 5)
#define ESR_RECV_ILLEGAL	(1u << 6)
#define ESR_ILLEGAL_REG		(1u << 7)

struct apic {
	struct vm *vm;
	struct lapic *bus;
	struct i8259 *pic;		/* the BSP's LINT0 only; NULL on APs */
	uint8_t id;			/* = the vCPU index */

	uint32_t tpr, ldr, dfr, svr;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t esr, esr_pending;	/* visible, and latched at the next ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[NR_LVT];
	bool extint_req;		/* an I/O APIC ExtINT message awaits INTA */

	/* Timer: see the comment at the top. */
	uint32_t tmict, tdcr;
	uint64_t start_ns;		/* when the count last equalled tmict; may wrap */
	uint64_t tick_ns;		/* ns per count, divider and period clamp applied */
	struct vm_timer *timer;
	uint64_t backoff_ns;		/* storm: the gap before looking again, 0 when not held */
	uint64_t held;			/* storm: ticks held back (coalesced) */

	/* INTR as last reported, to signal only rising outputs (see lapic_update). */
	bool out_vector, out_routed;

	/* x2APIC mode (IA32_APIC_BASE.EXTD) and the TSC-deadline timer. */
	bool x2apic;
	uint64_t deadline;		/* IA32_TSC_DEADLINE as written; 0: disarmed */
	uint64_t deadline_ns;		/* ...on the VM clock, when it fires */
};

/* The VM's local APICs and the bus between them (the handle lapic_create() returns). */
struct lapic {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	unsigned nr;
	lapic_eoi_fn eoi_fn;
	void *eoi_opaque;
	uint64_t dropped;		/* SMI, INIT/SIPI to no CPU, NMI without a vCPU */
	struct apic cpu[VM_MAX_VCPUS];
};

/* ---- 256-bit vector sets ---------------------------------------------- */

static bool vec_test(const uint32_t *set, unsigned v)
{
	return set[v >> 5] & (1u << (v & 31));
}

static void vec_set(uint32_t *set, unsigned v)
{
	set[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *set, unsigned v)
{
	set[v >> 5] &= ~(1u << (v & 31));
}

/* Highest vector in @set, or -1. */
static int vec_highest(const uint32_t *set)
{
	for (int i = 7; i >= 0; i--)
		if (set[i])
			return i * 32 + 31 - __builtin_clz(set[i]);
	return -1;
}

/* ---- priorities and the INTR output ----------------------------------- */

static bool sw_enabled(const struct apic *l)
{
	return l->svr & SVR_ENABLE;
}

static unsigned ppr(const struct apic *l)
{
	int isrv = vec_highest(l->isr);
	unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

static unsigned apr(const struct apic *l)
{
	int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
	unsigned irr_class = irrv < 0 ? 0 : (unsigned)irrv & 0xf0;
	unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
	unsigned tpr_class = l->tpr & 0xf0, m;

	if (tpr_class >= irr_class && tpr_class > isr_class)
		return l->tpr & 0xff;
	m = tpr_class > isr_class ? tpr_class : isr_class;
	return m > irr_class ? m : irr_class;
}

/* The IRR vector the CPU would take now, or -1. */
static int best_vector(const struct apic *l)
{
	int v = vec_highest(l->irr);

	if (v < 0 || ((unsigned)v & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return v;
}

/* Does the 8259's INTR reach the CPU (if it is asserted)? */
static bool pic_routed(const struct apic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];

	if (!l->pic)
		return false;
	if (!sw_enabled(l))
		return true;
	return !(lint0 & LVT_MASKED) && ((lint0 >> LVT_DM_SHIFT) & 7) == APIC_DM_EXTINT;
}

static bool lapic_pending(void *opaque, unsigned cpu)
{
	struct lapic *bus = opaque;
	struct apic *l;

	if (cpu >= bus->nr)
		return false;
	l = &bus->cpu[cpu];

	if (l->extint_req)
		return true;
	if (pic_routed(l) && i8259_intr_pending(l->pic))
		return true;
	return best_vector(l) >= 0;
}

static int lapic_ack(void *opaque, unsigned cpu)
{
	struct lapic *bus = opaque;
	struct apic *l;
	int v;

	if (cpu >= bus->nr)
		return -1;
	l = &bus->cpu[cpu];

	if (l->extint_req || (pic_routed(l) && i8259_intr_pending(l->pic))) {
		/* The PIC answers INTA itself (its spurious IRQ7 if it has nothing now). */
		l->extint_req = false;
		l->out_vector = best_vector(l) >= 0;
		return i8259_intr_ack(l->pic);
	}
	v = best_vector(l);
	if (v < 0)
		return l->svr & 0xff;	/* spurious: ISR untouched, no EOI expected */
	vec_clear(l->irr, (unsigned)v);
	vec_set(l->isr, (unsigned)v);
	/* Its ISR bit now holds back everything left in IRR: a new arrival must signal. */
	l->out_vector = best_vector(l) >= 0;
	return v;
}

static int lapic_msr(void *opaque, unsigned cpu, bool write, uint32_t idx, uint64_t *val,
		     uint64_t tsc);

static uint64_t host_tsc_hz(void);

static const struct intr_ops lapic_intr_ops = {
	.pending = lapic_pending,
	.ack = lapic_ack,
	.msr = lapic_msr,
};

/*
 * Call after any change of IRR, ISR, TPR, SVR or LINT0. vm_intr_changed()
 * wakes halted vCPUs and kicks running ones, which costs an exit under
 * KVM, so it is signalled only when an input rises: a vector became
 * deliverable, or the PIC became routed while asserting. The PIC signals
 * its own output changes itself.
 */
static void lapic_update(struct apic *l)
{
	bool vec = l->extint_req || best_vector(l) >= 0;
	bool routed = pic_routed(l);
	bool rise = (vec && !l->out_vector) ||
		    (routed && !l->out_routed && i8259_intr_pending(l->pic));

	l->out_vector = vec;
	l->out_routed = routed;
	if (rise)
		vm_intr_changed_cpu(l->vm, l->id);
}

/* ---- acceptance --------------------------------------------------------- */

/*
 * Record an error. The error LVT is delivered straight into IRR (not
 * through accept_fixed) so that an illegal error vector cannot recurse.
 */
static void lapic_error(struct apic *l, uint32_t bits)
{
	uint32_t lvt = l->lvt[LVT_ERROR];
	unsigned v = lvt & LVT_VECTOR;

	l->esr_pending |= bits;
	if (!sw_enabled(l) || (lvt & LVT_MASKED))
		return;
	if (v < 16) {
		l->esr_pending |= ESR_RECV_ILLEGAL;
		return;
	}
	vec_set(l->irr, v);
	vec_clear(l->tmr, v);
}

/* A fixed interrupt arrives: IRR, and TMR for its trigger mode. */
static bool accept_fixed(struct apic *l, unsigned v, bool level)
{
	/* A software-disabled APIC takes no new fixed interrupts (SDM 10.4.7.2). */
	if (!sw_enabled(l))
		return false;
	if (v < 16) {
		lapic_error(l, ESR_RECV_ILLEGAL);
		return false;
	}
	vec_set(l->irr, v);
	if (level)
		vec_set(l->tmr, v);
	else
		vec_clear(l->tmr, v);
	return true;
}

static void apic_reset(struct apic *l);

/*
 * One APIC takes a message. INIT resets the APIC (its id stays) and puts
 * the CPU into wait-for-SIPI; a STARTUP message starts a CPU that waits
 * for one (the vCPU loop ignores it otherwise); NMI goes to the CPU's NMI
 * input. The INIT level de-assert message is filtered out by the sender.
 */
static bool deliver(struct apic *l, unsigned mode, uint8_t vector, bool level)
{
	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:	/* the bus picked this one */
		return accept_fixed(l, vector, level);
	case APIC_DM_EXTINT:
		if (!sw_enabled(l) || !l->pic)
			return false;
		l->extint_req = true;
		return true;
	case APIC_DM_NMI:
		if (vm_cpu_nmi(l->vm, l->id))
			return true;
		break;
	case APIC_DM_INIT:
		/* The BSP never waits for a SIPI: an INIT there is dropped, as an OS never sends it. */
		if (l->id == 0 || !vm_cpu_init(l->vm, l->id))
			break;
		apic_reset(l);
		return true;
	case APIC_DM_STARTUP:
		if (vm_cpu_sipi(l->vm, l->id, vector))
			return true;
		break;
	}
	/* SMI, and the rest with no vCPU to take them. */
	l->bus->dropped++;
	return false;
}

static bool apic_match_dest(const struct apic *l, uint8_t dest, bool logical)
{
	uint8_t ldr = l->ldr >> 24;

	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == l->id;
	switch (l->dfr >> 28) {
	case DFR_MODEL_FLAT:
		return dest & ldr;
	case DFR_MODEL_CLUSTER:
		return ((dest >> 4) == (ldr >> 4) || (dest >> 4) == 0xf) && (dest & ldr & 0xf);
	default:
		return false;	/* reserved model: nothing matches */
	}
}

/* ---- the APIC bus ------------------------------------------------------ */

/* The APICs (a bit per id) that @dest in @logical or physical mode names. */
static uint32_t bus_match(const struct lapic *bus, uint8_t dest, bool logical)
{
	uint32_t set = 0;

	for (unsigned i = 0; i < bus->nr; i++)
		if (apic_match_dest(&bus->cpu[i], dest, logical))
			set |= 1u << i;
	return set;
}

/*
 * Lowest-priority arbitration, made deterministic: of @set, the software-
 * enabled APIC with the lowest TPR class; ties go to the lowest APIC id
 * (no focus processor, no rotation). Real chipsets differ among themselves
 * here; a fixed choice keeps runs reproducible on both engines.
 */
static int bus_lowest(const struct lapic *bus, uint32_t set)
{
	int best = -1;

	for (unsigned i = 0; i < bus->nr; i++) {
		const struct apic *a = &bus->cpu[i];

		if (!(set & (1u << i)) || !sw_enabled(a))
			continue;
		if (best < 0 || (a->tpr & 0xf0) < (bus->cpu[best].tpr & 0xf0))
			best = (int)i;
	}
	return best;
}

/* Deliver to every APIC of @set (one of them for lowest priority). True if one accepted. */
static bool bus_send(struct lapic *bus, uint32_t set, unsigned mode, uint8_t vector, bool level)
{
	bool ok = false;

	mode &= 7;
	if (mode == APIC_DM_LOWEST) {
		int i = bus_lowest(bus, set);

		set = i < 0 ? 0 : 1u << i;
	}
	for (unsigned i = 0; i < bus->nr; i++) {
		if (!(set & (1u << i)))
			continue;
		ok |= deliver(&bus->cpu[i], mode, vector, level);
		lapic_update(&bus->cpu[i]);
	}
	return ok;
}

bool lapic_bus_deliver(struct lapic *bus, uint8_t dest, bool logical, unsigned mode,
		       uint8_t vector, bool level)
{
	return bus_send(bus, bus_match(bus, dest, logical), mode, vector, level);
}

bool lapic_vector_busy(const struct lapic *bus, uint8_t vector)
{
	for (unsigned i = 0; i < bus->nr; i++)
		if (vec_test(bus->cpu[i].irr, vector) || vec_test(bus->cpu[i].isr, vector))
			return true;
	return false;
}

/*
 * An MSI write: address 0xfeeXXXXX names the destination (bits 19:12) and
 * its mode (bit 2: logical); the redirection hint (bit 3) is not modelled
 * (lowest priority is asked for by the data's delivery mode). Data: vector
 * (7:0), delivery mode (10:8), trigger (15). MSIs are edge messages here:
 * a level MSI would owe an EOI no device listens for.
 */
static void lapic_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct lapic *bus = opaque;

	lapic_bus_deliver(bus, (uint8_t)(addr >> 12), addr & 4, (data >> 8) & 7,
			  (uint8_t)data, false);
}

/* An LVT entry fires (timer, error...): fixed delivery unless masked. */
static void lvt_fire(struct apic *l, unsigned i)
{
	uint32_t lvt = l->lvt[i];
	unsigned mode = (lvt >> LVT_DM_SHIFT) & 7;

	if (lvt & LVT_MASKED)
		return;
	/* The timer and error entries have no delivery-mode field: always fixed. */
	if (i == LVT_TIMER || i == LVT_ERROR)
		mode = APIC_DM_FIXED;
	if (mode == APIC_DM_EXTINT)
		return;		/* only meaningful for LINT0, see pic_routed() */
	deliver(l, mode, lvt & LVT_VECTOR, false);
	lapic_update(l);
}

/* ---- EOI and IPIs ----------------------------------------------------- */

static void lapic_eoi(struct apic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	if (vec_test(l->tmr, (unsigned)v) && l->bus->eoi_fn)
		l->bus->eoi_fn(l->bus->eoi_opaque, (uint8_t)v);
	lapic_update(l);
}

static void lapic_send_ipi(struct apic *l)
{
	unsigned mode = (l->icr_lo >> ICR_DM_SHIFT) & 7;
	unsigned shorthand = (l->icr_lo >> ICR_SHORTHAND_SHIFT) & 3;
	unsigned v = l->icr_lo & ICR_VECTOR;
	struct lapic *bus = l->bus;
	uint32_t set = 0;

	if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && v < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		lapic_update(l);
		return;
	}
	/* INIT level de-assert: only synchronises arbitration ids, nothing to deliver. */
	if (mode == APIC_DM_INIT && (l->icr_lo & ICR_LEVEL_TRIG) && !(l->icr_lo & ICR_LEVEL_ASSERT))
		return;
	switch (shorthand) {
	case SH_SELF:
		set = 1u << l->id;
		break;
	case SH_ALL:
		set = (1u << bus->nr) - 1;
		break;
	case SH_OTHERS:
		set = ((1u << bus->nr) - 1) & ~(1u << l->id);
		break;
	default:
		set = bus_match(bus, l->icr_hi >> 24, l->icr_lo & ICR_LOGICAL);
		break;
	}
	/* IPIs are edge messages; ExtINT is not a valid IPI mode. */
	if (mode == APIC_DM_EXTINT) {
		bus->dropped++;
		return;
	}
	bus_send(bus, set, mode, (uint8_t)v, false);
}

/* ---- timer -------------------------------------------------------------- */

static unsigned timer_divisor(uint32_t tdcr)
{
	unsigned n = (tdcr & 3) | ((tdcr & 8) >> 1);

	return n == 7 ? 1 : 2u << n;
}

static bool timer_periodic(const struct apic *l)
{
	return (l->lvt[LVT_TIMER] & (LVT_TIMER_PERIODIC | LVT_TIMER_DEADLINE)) ==
	       LVT_TIMER_PERIODIC;
}

static bool timer_deadline(const struct apic *l)
{
	return (l->lvt[LVT_TIMER] & (LVT_TIMER_PERIODIC | LVT_TIMER_DEADLINE)) ==
	       LVT_TIMER_DEADLINE;
}

/* ns per count: the divider, stretched in periodic mode to LAPIC_MIN_PERIOD_NS. */
static uint64_t timer_tick_ns(const struct apic *l)
{
	uint64_t t = timer_divisor(l->tdcr) * (1000000000ull / LAPIC_BUS_HZ);

	if (timer_periodic(l) && l->tmict && t * l->tmict < LAPIC_MIN_PERIOD_NS)
		t = (LAPIC_MIN_PERIOD_NS + l->tmict - 1) / l->tmict;
	return t;
}

static uint32_t timer_count(const struct apic *l, uint64_t now)
{
	uint64_t ticks;

	if (!l->tmict)
		return 0;
	ticks = (now - l->start_ns) / l->tick_ns;
	if (timer_periodic(l))
		return l->tmict - (uint32_t)(ticks % l->tmict);
	return ticks >= l->tmict ? 0 : l->tmict - (uint32_t)ticks;
}

/*
 * Arm the vm timer for the next expiry after @now, if any. Times are
 * compared as "elapsed since start" because a rebased start_ns may lie
 * before clock 0 (wrapped): unsigned differences stay exact.
 */
static void timer_arm(struct apic *l, uint64_t now)
{
	uint64_t period = l->tick_ns * l->tmict, elapsed = now - l->start_ns;

	if (!l->tmict) {
		vm_timer_del(l->timer);
		return;
	}
	if (elapsed < period)
		vm_timer_mod(l->timer, l->start_ns + period);
	else if (timer_periodic(l))
		vm_timer_mod(l->timer, l->start_ns + (elapsed / period + 1) * period);
	else
		vm_timer_del(l->timer);		/* one-shot, already expired */
}

static void timer_start(struct apic *l, uint64_t now)
{
	l->start_ns = now;
	l->tick_ns = timer_tick_ns(l);
	timer_arm(l, now);
}

/* Periodic and asked for a period under the clamp: see the top. */
static bool timer_storm(const struct apic *l)
{
	uint64_t asked = timer_divisor(l->tdcr) * (1000000000ull / LAPIC_BUS_HZ) * l->tmict;

	return timer_periodic(l) && asked < LAPIC_MIN_PERIOD_NS;
}

/* The CPU is not done with the timer's last interrupt. */
static bool timer_busy(const struct apic *l)
{
	unsigned v = l->lvt[LVT_TIMER] & LVT_VECTOR;

	return vec_test(l->irr, v) || vec_test(l->isr, v);
}

static void timer_cb(void *opaque)
{
	struct apic *l = opaque;
	uint64_t now = vm_clock_ns(l->vm);

	/* TSC deadline: fires once, disarms itself and clears the MSR. */
	if (timer_deadline(l)) {
		if (l->deadline) {
			l->deadline = 0;
			lvt_fire(l, LVT_TIMER);
		}
		return;
	}
	if (!l->tmict)
		return;
	if (timer_storm(l) && timer_busy(l)) {
		l->held++;
		l->backoff_ns = l->backoff_ns ? l->backoff_ns * 2 : LAPIC_MIN_PERIOD_NS / 8;
		if (l->backoff_ns > LAPIC_BACKOFF_MAX_NS)
			l->backoff_ns = LAPIC_BACKOFF_MAX_NS;
		vm_timer_mod(l->timer, now + l->backoff_ns);
		return;
	}
	l->backoff_ns = 0;
	/* Periods missed while the host was busy coalesce into this one (IRR holds one). */
	lvt_fire(l, LVT_TIMER);
	if (timer_periodic(l))
		timer_arm(l, now);
}

/* A new divider: keep the current count and continue at the new rate. */
static void timer_set_tdcr(struct apic *l, uint32_t tdcr)
{
	uint64_t now = vm_clock_ns(l->vm);
	uint32_t count = timer_count(l, now);

	l->tdcr = tdcr & 0xb;
	if (!l->tmict || (!timer_periodic(l) && count == 0))
		return;
	l->tick_ns = timer_tick_ns(l);
	l->start_ns = now - (uint64_t)(l->tmict - count) * l->tick_ns;
	timer_arm(l, now);
}

/* ---- registers -------------------------------------------------------- */

static uint32_t reg_read(struct apic *l, unsigned reg)
{
	switch (reg) {
	case REG_ID:
		return (uint32_t)l->id << 24;
	case REG_VERSION:
		return LAPIC_VERSION;
	case REG_TPR:
		return l->tpr;
	case REG_APR:
		return apr(l);
	case REG_PPR:
		return ppr(l);
	case REG_EOI:
	case REG_RRD:
		return 0;
	case REG_LDR:
		return l->ldr;
	case REG_DFR:
		return l->dfr;
	case REG_SVR:
		return l->svr;
	case REG_ISR ... REG_ISR + 0x70:
		return l->isr[(reg - REG_ISR) >> 4];
	case REG_TMR ... REG_TMR + 0x70:
		return l->tmr[(reg - REG_TMR) >> 4];
	case REG_IRR ... REG_IRR + 0x70:
		return l->irr[(reg - REG_IRR) >> 4];
	case REG_ESR:
		return l->esr;
	case REG_ICR_LO:
		return l->icr_lo;
	case REG_ICR_HI:
		return l->icr_hi;
	case REG_LVT_TIMER ... REG_LVT_ERROR:
		return l->lvt[(reg - REG_LVT_TIMER) >> 4];
	case REG_TMICT:
		return l->tmict;
	case REG_TMCCT:
		return timer_count(l, vm_clock_ns(l->vm));
	case REG_TDCR:
		return l->tdcr;
	default:
		lapic_error(l, ESR_ILLEGAL_REG);
		lapic_update(l);
		return 0;
	}
}

static void svr_write(struct apic *l, uint32_t val)
{
	bool was = sw_enabled(l);

	l->svr = val & SVR_WRITABLE;
	/* Software disable masks every LVT entry (SDM 10.4.7.2). */
	if (was && !sw_enabled(l))
		for (unsigned i = 0; i < NR_LVT; i++)
			l->lvt[i] |= LVT_MASKED;
	lapic_update(l);
}

static void lvt_write(struct apic *l, unsigned i, uint32_t val)
{
	uint32_t old = l->lvt[i];
	uint32_t writable = lvt_writable[i];

	if (i == LVT_TIMER && cpuid_model_has(&cpuid_global, "tsc-deadline"))
		writable |= LVT_TIMER_DEADLINE;
	val &= writable;
	/* While software-disabled the mask bits cannot be cleared. */
	if (!sw_enabled(l))
		val |= LVT_MASKED;
	l->lvt[i] = val;
	/*
	 * A timer mode change stops the timer (the count is meaningless across
	 * modes; Linux always writes the initial count after the LVT).
	 */
	if (i == LVT_TIMER && ((old ^ val) & (LVT_TIMER_PERIODIC | LVT_TIMER_DEADLINE))) {
		l->tmict = 0;
		l->deadline = 0;
		vm_timer_del(l->timer);
	}
	lapic_update(l);
}

static void reg_write(struct apic *l, unsigned reg, uint32_t val)
{
	switch (reg) {
	case REG_TPR:
		l->tpr = val & 0xff;
		lapic_update(l);
		break;
	case REG_EOI:
		lapic_eoi(l);
		break;
	case REG_LDR:
		l->ldr = val & 0xff000000u;
		break;
	case REG_DFR:
		l->dfr = (val & 0xf0000000u) | 0x0fffffffu;
		break;
	case REG_SVR:
		svr_write(l, val);
		break;
	case REG_ESR:
		/* A write latches the errors seen since the previous one. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case REG_ICR_LO:
		l->icr_lo = val & ICR_LO_WRITABLE;
		lapic_send_ipi(l);
		break;
	case REG_ICR_HI:
		l->icr_hi = val & 0xff000000u;
		break;
	case REG_LVT_TIMER ... REG_LVT_ERROR:
		lvt_write(l, (reg - REG_LVT_TIMER) >> 4, val);
		break;
	case REG_TMICT:
		if (timer_deadline(l))
			break;		/* the count registers are unused in TSC-deadline mode */
		l->tmict = val;
		timer_start(l, vm_clock_ns(l->vm));
		break;
	case REG_TDCR:
		timer_set_tdcr(l, val);
		break;
	case REG_ID:		/* read-only here: the MADT and CPUID name this id */
	case REG_VERSION:
	case REG_APR:
	case REG_PPR:
	case REG_RRD:
	case REG_ISR ... REG_ISR + 0x70:
	case REG_TMR ... REG_TMR + 0x70:
	case REG_IRR ... REG_IRR + 0x70:
	case REG_TMCCT:
		break;
	default:
		lapic_error(l, ESR_ILLEGAL_REG);
		lapic_update(l);
		break;
	}
}

/*
 * Registers are 32 bits at the start of 16-byte slots. Narrower reads
 * see the matching bytes; bytes 4-15 of a slot read 0. Only accesses of
 * at least 4 bytes at a slot's start write (the SDM leaves others
 * undefined; dropping them is the safe choice).
 */
/*
 * The page is at the same address for every CPU and shows the accessing
 * CPU's own APIC: the bus calls us on the vCPU thread that made the access
 * (both engines dispatch MMIO synchronously on it), which vm_current_cpu()
 * names. Other threads (tests, the main loop) see vCPU 0's.
 */
static struct apic *current_apic(struct lapic *bus)
{
	unsigned cpu = vm_current_cpu();

	return &bus->cpu[cpu < bus->nr ? cpu : 0];
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct apic *l = current_apic(opaque);
	unsigned byte = off & 0xf;
	uint32_t v;

	/* In x2APIC mode the MMIO interface is off: the page reads 0, writes drop. */
	if (off >= LAPIC_MMIO_SIZE || byte >= 4 || l->x2apic)
		return 0;
	v = reg_read(l, (unsigned)off & 0xff0) >> (byte * 8);
	return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void lapic_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct apic *l = current_apic(opaque);

	if (off >= LAPIC_MMIO_SIZE || (off & 0xf) || size < 4 || l->x2apic)
		return;
	reg_write(l, (unsigned)off, (uint32_t)val);
}

/* ---- x2APIC MSRs and the TSC-deadline timer ------------------------------ */

#define MSR_APIC_BASE		0x1bu
#define MSR_TSC_DEADLINE	0x6e0u
#define MSR_X2APIC_FIRST	0x800u
#define MSR_X2APIC_LAST		0x8ffu
#define APIC_BASE_EXTD		(1ull << 10)
#define X2_REG(reg)		(MSR_X2APIC_FIRST + ((reg) >> 4))
#define X2_SELF_IPI		0x83fu

/* The x2APIC logical id: cluster (id / 16) in bits 31-16, a bit for id % 16. */
static uint32_t x2_ldr(const struct apic *l)
{
	return ((uint32_t)(l->id >> 4) << 16) | (1u << (l->id & 0xf));
}

/* The APICs a 32-bit x2APIC destination names. */
static uint32_t x2_match(const struct lapic *bus, uint32_t dest, bool logical)
{
	uint32_t set = 0;

	for (unsigned i = 0; i < bus->nr; i++) {
		const struct apic *a = &bus->cpu[i];
		uint32_t ldr = x2_ldr(a);

		if (dest == 0xffffffffu ||
		    (!logical && dest == a->id) ||
		    (logical && (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff)))
			set |= 1u << i;
	}
	return set;
}

/* A 64-bit ICR write in x2APIC mode: the destination is bits 63-32. */
static void x2_send_ipi(struct apic *l, uint64_t icr)
{
	unsigned shorthand = (icr >> ICR_SHORTHAND_SHIFT) & 3;
	unsigned mode = (icr >> ICR_DM_SHIFT) & 7, v = icr & ICR_VECTOR;

	l->icr_lo = (uint32_t)icr & ICR_LO_WRITABLE;
	l->icr_hi = icr >> 32;
	if (shorthand != SH_NONE) {
		lapic_send_ipi(l);
		return;
	}
	if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && v < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		lapic_update(l);
		return;
	}
	if (mode == APIC_DM_EXTINT ||
	    (mode == APIC_DM_INIT && (icr & ICR_LEVEL_TRIG) && !(icr & ICR_LEVEL_ASSERT)))
		return;
	bus_send(l->bus, x2_match(l->bus, l->icr_hi, icr & ICR_LOGICAL), mode, (uint8_t)v, false);
}

/* The host TSC's rate, measured once (the engines' TSC is the host's plus an offset). */
static uint64_t host_tsc_hz(void)
{
	static uint64_t hz;
	struct timespec a, b, d = { 0, 2000000 };
	uint64_t t0, t1, ns;

	if (hz)
		return hz;
	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = __rdtsc();
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec -
	     (uint64_t)a.tv_nsec;
	hz = ns ? (t1 - t0) * 1000000000ull / ns : 1000000000ull;
	return hz ? hz : 1000000000ull;
}

/* IA32_TSC_DEADLINE := @v, with the vCPU's TSC at @tsc now. */
static void deadline_write(struct apic *l, uint64_t v, uint64_t tsc)
{
	uint64_t now, hz, delta;

	if (!timer_deadline(l))
		return;		/* ignored outside TSC-deadline mode */
	/* -icount: the TSC is the instruction clock at 1 GHz. */
	hz = l->vm->cfg.icount ? 1000000000ull : host_tsc_hz();
	now = vm_clock_ns(l->vm);
	l->deadline = v;
	if (!v) {
		vm_timer_del(l->timer);
		return;
	}
	if (v <= tsc) {
		l->deadline = 0;
		lvt_fire(l, LVT_TIMER);
		return;
	}
	delta = v - tsc;
	delta = delta > UINT64_MAX / 1000000000ull ? delta / hz * 1000000000ull :
						    delta * 1000000000ull / hz;
	if (delta > (1ull << 62))
		delta = 1ull << 62;	/* centuries: never, without wrapping the clock */
	l->deadline_ns = now + delta;
	vm_timer_mod(l->timer, l->deadline_ns);
}

/* x2APIC register @reg (an xAPIC offset) read: 0, or -EINVAL (#GP). */
static int x2_read(struct apic *l, uint32_t idx, uint64_t *v)
{
	unsigned reg = (idx - MSR_X2APIC_FIRST) << 4;

	switch (reg) {
	case REG_ID:
		*v = l->id;
		return 0;
	case REG_LDR:
		*v = x2_ldr(l);
		return 0;
	case REG_ICR_LO:
		*v = ((uint64_t)l->icr_hi << 32) | l->icr_lo;
		return 0;
	case REG_VERSION: case REG_TPR: case REG_PPR: case REG_SVR: case REG_ESR:
	case REG_ISR ... REG_ISR + 0x70:
	case REG_TMR ... REG_TMR + 0x70:
	case REG_IRR ... REG_IRR + 0x70:
	case REG_LVT_TIMER ... REG_LVT_ERROR:
	case REG_TMICT: case REG_TMCCT: case REG_TDCR:
		*v = reg_read(l, reg);
		return 0;
	default:		/* APR, EOI, RRD, DFR, ICR_HI, self IPI, reserved */
		return -EINVAL;
	}
}

static int x2_write(struct apic *l, uint32_t idx, uint64_t v)
{
	unsigned reg = (idx - MSR_X2APIC_FIRST) << 4;

	if (idx == X2_REG(REG_ICR_LO)) {
		x2_send_ipi(l, v);
		return 0;
	}
	if (v >> 32)
		return -EINVAL;
	if (idx == X2_SELF_IPI) {
		if (v & ~0xffull)
			return -EINVAL;
		bus_send(l->bus, 1u << l->id, APIC_DM_FIXED, (uint8_t)v, false);
		return 0;
	}
	switch (reg) {
	case REG_EOI:
	case REG_ESR:
		if (v)
			return -EINVAL;		/* must write 0 */
		/* fall through */
	case REG_TPR: case REG_SVR:
	case REG_LVT_TIMER ... REG_LVT_ERROR:
	case REG_TMICT: case REG_TDCR:
		reg_write(l, reg, (uint32_t)v);
		return 0;
	default:		/* read-only, DFR, ICR_HI, reserved */
		return -EINVAL;
	}
}

static int lapic_msr(void *opaque, unsigned cpu, bool write, uint32_t idx, uint64_t *val,
		     uint64_t tsc)
{
	struct lapic *bus = opaque;
	struct apic *l;

	if (cpu >= bus->nr)
		return -EINVAL;
	l = &bus->cpu[cpu];
	if (idx == MSR_APIC_BASE) {
		/* The engine checked the transition; only x2APIC mode matters here. */
		if (write && (*val & APIC_BASE_EXTD) != l->x2apic) {
			l->x2apic = *val & APIC_BASE_EXTD;
			l->ldr = l->x2apic ? x2_ldr(l) : 0;
		}
		return write ? 0 : -EINVAL;
	}
	if (idx == MSR_TSC_DEADLINE) {
		if (!cpuid_model_has(&cpuid_global, "tsc-deadline"))
			return -EINVAL;
		if (write)
			deadline_write(l, *val, tsc);
		else
			*val = timer_deadline(l) ? l->deadline : 0;
		return 0;
	}
	if (idx < MSR_X2APIC_FIRST || idx > MSR_X2APIC_LAST || !l->x2apic)
		return -EINVAL;
	return write ? x2_write(l, idx, *val) : x2_read(l, idx, val);
}

static const struct io_ops lapic_mmio_ops = {
	.read = lapic_mmio_read,
	.write = lapic_mmio_write,
};

/* ---- life cycle --------------------------------------------------------- */

/* The state after RESET or INIT: everything but the id. */
static void apic_reset(struct apic *l)
{
	vm_timer_del(l->timer);
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (unsigned i = 0; i < NR_LVT; i++)
		l->lvt[i] = LVT_MASKED;
	l->extint_req = false;
	l->tmict = 0;
	l->tdcr = 0;
	l->x2apic = false;
	l->deadline = l->deadline_ns = 0;
	l->start_ns = 0;
	l->tick_ns = timer_tick_ns(l);
	l->backoff_ns = 0;
	l->out_vector = false;
	l->out_routed = false;
	lapic_update(l);
}

void lapic_reset(struct lapic *bus)
{
	for (unsigned i = 0; i < bus->nr; i++)
		apic_reset(&bus->cpu[i]);
}

void lapic_set_eoi_handler(struct lapic *bus, lapic_eoi_fn fn, void *opaque)
{
	bus->eoi_fn = fn;
	bus->eoi_opaque = opaque;
}

/* Each APIC's registers and timer; ids, wiring and the timer objects are the board's. */
static int lapic_dev_save(struct device *dev, struct dev_buf *b)
{
	struct lapic *bus = container_of(dev, struct lapic, dev);

	DEV_SAVE(b, bus->nr);
	for (unsigned i = 0; i < bus->nr; i++) {
		struct apic *l = &bus->cpu[i];

		DEV_SAVE(b, l->tpr);
		DEV_SAVE(b, l->ldr);
		DEV_SAVE(b, l->dfr);
		DEV_SAVE(b, l->svr);
		DEV_SAVE(b, l->irr);
		DEV_SAVE(b, l->isr);
		DEV_SAVE(b, l->tmr);
		DEV_SAVE(b, l->esr);
		DEV_SAVE(b, l->esr_pending);
		DEV_SAVE(b, l->icr_lo);
		DEV_SAVE(b, l->icr_hi);
		DEV_SAVE(b, l->lvt);
		DEV_SAVE(b, l->extint_req);
		DEV_SAVE(b, l->tmict);
		DEV_SAVE(b, l->tdcr);
		DEV_SAVE(b, l->start_ns);
		DEV_SAVE(b, l->held);
		DEV_SAVE(b, l->x2apic);
		DEV_SAVE(b, l->deadline);
		DEV_SAVE(b, l->deadline_ns);
	}
	return dev_buf_status(b);
}

static int lapic_dev_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			  size_t whylen)
{
	struct lapic *bus = container_of(dev, struct lapic, dev);
	struct dev_reader r = dev_reader(data, len);
	struct apic n[VM_MAX_VCPUS];
	unsigned nr;

	DEV_LOAD(&r, nr);
	if (r.bad || nr != bus->nr)
		return dev_load_error(dev, why, whylen, "another number of local APICs");
	memcpy(n, bus->cpu, sizeof(n));
	for (unsigned i = 0; i < nr; i++) {
		struct apic *l = &n[i];

		DEV_LOAD(&r, l->tpr);
		DEV_LOAD(&r, l->ldr);
		DEV_LOAD(&r, l->dfr);
		DEV_LOAD(&r, l->svr);
		DEV_LOAD(&r, l->irr);
		DEV_LOAD(&r, l->isr);
		DEV_LOAD(&r, l->tmr);
		DEV_LOAD(&r, l->esr);
		DEV_LOAD(&r, l->esr_pending);
		DEV_LOAD(&r, l->icr_lo);
		DEV_LOAD(&r, l->icr_hi);
		DEV_LOAD(&r, l->lvt);
		DEV_LOAD(&r, l->extint_req);
		DEV_LOAD(&r, l->tmict);
		DEV_LOAD(&r, l->tdcr);
		DEV_LOAD(&r, l->start_ns);
		DEV_LOAD(&r, l->held);
		DEV_LOAD(&r, l->x2apic);
		DEV_LOAD(&r, l->deadline);
		DEV_LOAD(&r, l->deadline_ns);
	}
	if (!dev_reader_ok(&r))
		return dev_load_error(dev, why, whylen, "wrong state size");
	for (unsigned i = 0; i < nr; i++) {
		struct apic *l = &bus->cpu[i];

		*l = n[i];
		l->tick_ns = timer_tick_ns(l);
		l->backoff_ns = 0;
		l->out_vector = l->out_routed = false;
		timer_arm(l, vm_clock_ns(l->vm));
		if (timer_deadline(l) && l->deadline)
			vm_timer_mod(l->timer, l->deadline_ns);
		lapic_update(l);
	}
	return 0;
}

static void lapic_dev_reset(struct device *dev)
{
	lapic_reset(container_of(dev, struct lapic, dev));
}

static void lapic_dev_destroy(struct device *dev)
{
	lapic_destroy(container_of(dev, struct lapic, dev));
}

static const struct device_ops lapic_dev_ops = {
	.type = "lapic",
	.reset = lapic_dev_reset,
	.save = lapic_dev_save,
	.load = lapic_dev_load,
	.destroy = lapic_dev_destroy,
};

struct lapic *lapic_create(struct vm *vm, unsigned nr_cpus, struct i8259 *pic)
{
	struct lapic *bus;
	int ret;

	if (!nr_cpus || nr_cpus > VM_MAX_VCPUS) {
		errno = EINVAL;
		return NULL;
	}
	bus = calloc(1, sizeof(*bus));
	if (!bus) {
		errno = ENOMEM;
		return NULL;
	}
	bus->vm = vm;
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct apic *l = &bus->cpu[i];

		l->vm = vm;
		l->bus = bus;
		/* The PIC is wired to the BSP's LINT0 (an AP's LINT0 has nothing behind it). */
		l->pic = i == 0 ? pic : NULL;
		l->id = (uint8_t)i;
		l->timer = vm_timer_new(vm, timer_cb, l);
		if (!l->timer) {
			lapic_destroy(bus);
			errno = ENOMEM;
			return NULL;
		}
		bus->nr = i + 1;
		apic_reset(l);
	}
	ret = mmio_register(vm, LAPIC_DEFAULT_BASE, LAPIC_MMIO_SIZE, &lapic_mmio_ops, bus,
			    "lapic");
	if (ret < 0) {
		lapic_destroy(bus);
		errno = -ret;
		return NULL;
	}
	/* Measured now, not under vm->lock at the guest's first deadline. */
	if (cpuid_model_has(&cpuid_global, "tsc-deadline") && !vm->cfg.icount)
		host_tsc_hz();
	vm_set_intr_controller(vm, &lapic_intr_ops, bus);
	vm_set_msi_handler(vm, lapic_msi, bus);
	device_add(vm, &bus->dev, &lapic_dev_ops, "lapic");
	return bus;
}

void lapic_destroy(struct lapic *bus)
{
	if (!bus)
		return;
	device_remove(&bus->dev);
	for (unsigned i = 0; i < bus->nr; i++)
		vm_timer_free(bus->cpu[i].timer);
	free(bus);
}

static const struct apic *bus_cpu(const struct lapic *bus, unsigned cpu)
{
	return &bus->cpu[cpu < bus->nr ? cpu : 0];
}

bool lapic_irr_test(const struct lapic *bus, unsigned cpu, uint8_t vector)
{
	return vec_test(bus_cpu(bus, cpu)->irr, vector);
}

bool lapic_isr_test(const struct lapic *bus, unsigned cpu, uint8_t vector)
{
	return vec_test(bus_cpu(bus, cpu)->isr, vector);
}

bool lapic_tmr_test(const struct lapic *bus, unsigned cpu, uint8_t vector)
{
	return vec_test(bus_cpu(bus, cpu)->tmr, vector);
}

uint64_t lapic_dropped_messages(const struct lapic *bus)
{
	return bus->dropped;
}

uint64_t lapic_held_ticks(const struct lapic *bus)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < bus->nr; i++)
		n += bus->cpu[i].held;
	return n;
}
