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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8259.h"
#include "devices/lapic.h"
#include "machine/bus.h"
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

struct lapic {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	struct i8259 *pic;
	uint8_t id;

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

	lapic_eoi_fn eoi_fn;
	void *eoi_opaque;
	uint64_t dropped;		/* NMI/SMI/INIT/SIPI messages, ignored */
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

static bool sw_enabled(const struct lapic *l)
{
	return l->svr & SVR_ENABLE;
}

static unsigned ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

static unsigned apr(const struct lapic *l)
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
static int best_vector(const struct lapic *l)
{
	int v = vec_highest(l->irr);

	if (v < 0 || ((unsigned)v & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return v;
}

/* Does the 8259's INTR reach the CPU (if it is asserted)? */
static bool pic_routed(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];

	if (!l->pic)
		return false;
	if (!sw_enabled(l))
		return true;
	return !(lint0 & LVT_MASKED) && ((lint0 >> LVT_DM_SHIFT) & 7) == APIC_DM_EXTINT;
}

static bool lapic_pending(void *opaque)
{
	struct lapic *l = opaque;

	if (l->extint_req)
		return true;
	if (pic_routed(l) && i8259_intr_pending(l->pic))
		return true;
	return best_vector(l) >= 0;
}

static int lapic_ack(void *opaque)
{
	struct lapic *l = opaque;
	int v;

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

static const struct intr_ops lapic_intr_ops = {
	.pending = lapic_pending,
	.ack = lapic_ack,
};

/*
 * Call after any change of IRR, ISR, TPR, SVR or LINT0. vm_intr_changed()
 * wakes halted vCPUs and kicks running ones, which costs an exit under
 * KVM, so it is signalled only when an input rises: a vector became
 * deliverable, or the PIC became routed while asserting. The PIC signals
 * its own output changes itself.
 */
static void lapic_update(struct lapic *l)
{
	bool vec = l->extint_req || best_vector(l) >= 0;
	bool routed = pic_routed(l);
	bool rise = (vec && !l->out_vector) ||
		    (routed && !l->out_routed && i8259_intr_pending(l->pic));

	l->out_vector = vec;
	l->out_routed = routed;
	if (rise)
		vm_intr_changed(l->vm);
}

/* ---- acceptance --------------------------------------------------------- */

/*
 * Record an error. The error LVT is delivered straight into IRR (not
 * through accept_fixed) so that an illegal error vector cannot recurse.
 */
static void lapic_error(struct lapic *l, uint32_t bits)
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
static bool accept_fixed(struct lapic *l, unsigned v, bool level)
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

static bool deliver(struct lapic *l, unsigned mode, uint8_t vector, bool level)
{
	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:	/* one CPU: the lowest-priority one is this one */
		return accept_fixed(l, vector, level);
	case APIC_DM_EXTINT:
		if (!sw_enabled(l) || !l->pic)
			return false;
		l->extint_req = true;
		return true;
	default:
		/* NMI/SMI/INIT/SIPI: see lapic.h. */
		l->dropped++;
		return false;
	}
}

bool lapic_deliver(struct lapic *l, unsigned mode, uint8_t vector, bool level)
{
	bool ok = deliver(l, mode & 7, vector, level);

	lapic_update(l);
	return ok;
}

bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical)
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

/* An LVT entry fires (timer, error...): fixed delivery unless masked. */
static void lvt_fire(struct lapic *l, unsigned i)
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

static void lapic_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	if (vec_test(l->tmr, (unsigned)v) && l->eoi_fn)
		l->eoi_fn(l->eoi_opaque, (uint8_t)v);
	lapic_update(l);
}

static void lapic_send_ipi(struct lapic *l)
{
	unsigned mode = (l->icr_lo >> ICR_DM_SHIFT) & 7;
	unsigned shorthand = (l->icr_lo >> ICR_SHORTHAND_SHIFT) & 3;
	unsigned v = l->icr_lo & ICR_VECTOR;
	bool self;

	switch (shorthand) {
	case SH_SELF:
	case SH_ALL:
		self = true;
		break;
	case SH_OTHERS:
		self = false;	/* there are no others */
		break;
	default:
		self = lapic_match_dest(l, l->icr_hi >> 24, l->icr_lo & ICR_LOGICAL);
		break;
	}
	if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && v < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		lapic_update(l);
		return;
	}
	if (!self)
		return;
	/*
	 * IPIs are edge messages. INIT/SIPI to self would only reset this
	 * CPU, which no OS asks for; ExtINT is not a valid IPI mode.
	 */
	if (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST)
		deliver(l, mode, (uint8_t)v, false);
	else
		l->dropped++;
	lapic_update(l);
}

/* ---- timer -------------------------------------------------------------- */

static unsigned timer_divisor(uint32_t tdcr)
{
	unsigned n = (tdcr & 3) | ((tdcr & 8) >> 1);

	return n == 7 ? 1 : 2u << n;
}

static bool timer_periodic(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC;
}

/* ns per count: the divider, stretched in periodic mode to LAPIC_MIN_PERIOD_NS. */
static uint64_t timer_tick_ns(const struct lapic *l)
{
	uint64_t t = timer_divisor(l->tdcr) * (1000000000ull / LAPIC_BUS_HZ);

	if (timer_periodic(l) && l->tmict && t * l->tmict < LAPIC_MIN_PERIOD_NS)
		t = (LAPIC_MIN_PERIOD_NS + l->tmict - 1) / l->tmict;
	return t;
}

static uint32_t timer_count(const struct lapic *l, uint64_t now)
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
static void timer_arm(struct lapic *l, uint64_t now)
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

static void timer_start(struct lapic *l, uint64_t now)
{
	l->start_ns = now;
	l->tick_ns = timer_tick_ns(l);
	timer_arm(l, now);
}

/* Periodic and asked for a period under the clamp: see the top. */
static bool timer_storm(const struct lapic *l)
{
	uint64_t asked = timer_divisor(l->tdcr) * (1000000000ull / LAPIC_BUS_HZ) * l->tmict;

	return timer_periodic(l) && asked < LAPIC_MIN_PERIOD_NS;
}

/* The CPU is not done with the timer's last interrupt. */
static bool timer_busy(const struct lapic *l)
{
	unsigned v = l->lvt[LVT_TIMER] & LVT_VECTOR;

	return vec_test(l->irr, v) || vec_test(l->isr, v);
}

static void timer_cb(void *opaque)
{
	struct lapic *l = opaque;
	uint64_t now = vm_clock_ns(l->vm);

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
static void timer_set_tdcr(struct lapic *l, uint32_t tdcr)
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

static uint32_t reg_read(struct lapic *l, unsigned reg)
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

static void svr_write(struct lapic *l, uint32_t val)
{
	bool was = sw_enabled(l);

	l->svr = val & SVR_WRITABLE;
	/* Software disable masks every LVT entry (SDM 10.4.7.2). */
	if (was && !sw_enabled(l))
		for (unsigned i = 0; i < NR_LVT; i++)
			l->lvt[i] |= LVT_MASKED;
	lapic_update(l);
}

static void lvt_write(struct lapic *l, unsigned i, uint32_t val)
{
	uint32_t old = l->lvt[i];

	val &= lvt_writable[i];
	/* While software-disabled the mask bits cannot be cleared. */
	if (!sw_enabled(l))
		val |= LVT_MASKED;
	l->lvt[i] = val;
	/*
	 * A timer mode change stops the timer (the count is meaningless across
	 * modes; Linux always writes the initial count after the LVT).
	 */
	if (i == LVT_TIMER && ((old ^ val) & LVT_TIMER_PERIODIC)) {
		l->tmict = 0;
		vm_timer_del(l->timer);
	}
	lapic_update(l);
}

static void reg_write(struct lapic *l, unsigned reg, uint32_t val)
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
static uint64_t lapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct lapic *l = opaque;
	unsigned byte = off & 0xf;
	uint32_t v;

	if (off >= LAPIC_MMIO_SIZE || byte >= 4)
		return 0;
	v = reg_read(l, (unsigned)off & 0xff0) >> (byte * 8);
	return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void lapic_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct lapic *l = opaque;

	if (off >= LAPIC_MMIO_SIZE || (off & 0xf) || size < 4)
		return;
	reg_write(l, (unsigned)off, (uint32_t)val);
}

static const struct io_ops lapic_mmio_ops = {
	.read = lapic_mmio_read,
	.write = lapic_mmio_write,
};

/* ---- life cycle --------------------------------------------------------- */

void lapic_reset(struct lapic *l)
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
	l->start_ns = 0;
	l->tick_ns = timer_tick_ns(l);
	l->backoff_ns = 0;
	l->out_vector = false;
	l->out_routed = false;
	lapic_update(l);
}

void lapic_set_eoi_handler(struct lapic *l, lapic_eoi_fn fn, void *opaque)
{
	l->eoi_fn = fn;
	l->eoi_opaque = opaque;
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
	.destroy = lapic_dev_destroy,
};

struct lapic *lapic_create(struct vm *vm, uint8_t apic_id, struct i8259 *pic)
{
	struct lapic *l = calloc(1, sizeof(*l));
	char name[32];
	int ret;

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->vm = vm;
	l->pic = pic;
	l->id = apic_id;
	l->timer = vm_timer_new(vm, timer_cb, l);
	if (!l->timer) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	lapic_reset(l);
	ret = mmio_register(vm, LAPIC_DEFAULT_BASE, LAPIC_MMIO_SIZE, &lapic_mmio_ops, l,
			    "lapic");
	if (ret < 0) {
		vm_timer_free(l->timer);
		free(l);
		errno = -ret;
		return NULL;
	}
	vm_set_intr_controller(vm, &lapic_intr_ops, l);
	snprintf(name, sizeof(name), "lapic%u", apic_id);
	device_add(vm, &l->dev, &lapic_dev_ops, name);
	return l;
}

void lapic_destroy(struct lapic *l)
{
	if (!l)
		return;
	device_remove(&l->dev);
	vm_timer_free(l->timer);
	free(l);
}

bool lapic_irr_test(const struct lapic *l, uint8_t vector)
{
	return vec_test(l->irr, vector);
}

bool lapic_isr_test(const struct lapic *l, uint8_t vector)
{
	return vec_test(l->isr, vector);
}

bool lapic_tmr_test(const struct lapic *l, uint8_t vector)
{
	return vec_test(l->tmr, vector);
}

uint64_t lapic_dropped_messages(const struct lapic *l)
{
	return l->dropped;
}

uint64_t lapic_held_ticks(const struct lapic *l)
{
	return l->held;
}
