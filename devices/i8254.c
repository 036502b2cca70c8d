// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 8254 programmable interval timer.
 *
 * Counters are never ticked: each running channel remembers when it
 * started (start_ns) and how many input clocks it had already counted
 * before that (base_ticks, non-zero after a gate pause), and the count and
 * OUT level are computed from vm_clock_ns() on demand. Channel 0 arms one
 * vm timer for its next OUT rising edge and pulses the IRQ line there.
 *
 * Channel states: IDLE (no count loaded since the control word),
 * WAIT_TRIGGER (modes 1 and 5 before a gate edge), RUNNING, FROZEN (gate
 * low in modes 0, 2, 3, 4: the count holds at frozen_ticks).
 *
 * Timer storms: a periodic channel 0 faster than PIT_STORM_NS (divisor 1
 * is ~600 kHz) outruns what can be delivered -- under KVM every interrupt
 * costs exits -- and the guest would do nothing but take ticks. So at such
 * rates an edge is raised only once the CPU is done with the previous one
 * (irq_line_busy(): neither requested nor in service); until then the
 * tick is held back and looked at again after a gap that doubles up to
 * PIT_BACKOFF_MAX_NS, and all the periods missed meanwhile coalesce into
 * that one edge (QEMU's lost-tick policy "discard"; KVM's PIT waits for the
 * ack the same way). At ordinary rates the 8254/8259 behave exactly:
 * a tick during service latches in IRR.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/i8254.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/timer.h"
#include "machine/vm.h"

#define NS_PER_SEC		1000000000ull
/* Port 0x61 bit 4 toggles with each DRAM refresh request (~15 us). */
#define REFRESH_NS		15085ull
/*
 * A guest can program a period shorter than we can deliver interrupts;
 * never arm the IRQ timer closer than this so the event loop keeps up
 * (100 kHz is far above what any OS asks for).
 */
#define PIT_MIN_IRQ_NS		10000ull
/* Periods below this are a storm (an OS tick is 1 ms or more); see the top. */
#define PIT_STORM_NS		100000ull
#define PIT_BACKOFF_MAX_NS	1000000ull

enum pit_state {
	PIT_IDLE,
	PIT_WAIT_TRIGGER,
	PIT_RUNNING,
	PIT_FROZEN,
};

struct pit_channel {
	struct i8254 *pit;
	unsigned id;

	uint8_t mode;		/* effective mode, 0-5 */
	uint8_t mode_bits;	/* as written (6/7 alias 2/3), for status reads */
	uint8_t rw;		/* 1: LSB only, 2: MSB only, 3: LSB then MSB */
	bool bcd;
	bool gate;
	uint32_t reload;	/* input clocks per cycle: 1..65536 (10000 in BCD) */

	bool write_msb_next;
	uint8_t write_lsb;
	bool read_msb_next;

	bool count_latched, latch_msb_next;
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	bool null_count;

	enum pit_state state;
	uint64_t start_ns;	/* RUNNING: clock time of base_ticks */
	uint64_t base_ticks;
	uint64_t frozen_ticks;	/* FROZEN: elapsed clocks when stopped */
	bool idle_out;		/* OUT while IDLE */

	uint64_t next_edge;	/* channel 0: tick of the armed rising edge */
};

struct i8254 {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	unsigned irq;
	struct pit_channel ch[3];
	uint8_t port61;		/* bits 0-3 as written */
	struct vm_timer *timer;	/* channel 0 output edges */
	uint64_t backoff_ns;	/* storm: the gap before looking again, 0 when not held */
	uint64_t held;		/* storm: ticks held back (coalesced) */
};

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * I8254_HZ / NS_PER_SEC);
}

/* The first clock time at which ns_to_ticks() reaches @ticks. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + I8254_HZ - 1) / I8254_HZ);
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint16_t bin_to_bcd16(uint32_t v)
{
	v %= 10000;
	return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10);
}

static uint32_t bcd16_to_bin(uint16_t v)
{
	return (v >> 12) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

/* Input clocks counted so far; only meaningful when RUNNING or FROZEN. */
static uint64_t pit_ticks(const struct pit_channel *c, uint64_t now)
{
	if (c->state == PIT_FROZEN)
		return c->frozen_ticks;
	if (c->state != PIT_RUNNING)
		return 0;
	return c->base_ticks + ns_to_ticks(now > c->start_ns ? now - c->start_ns : 0);
}

static void pit_start(struct pit_channel *c, uint64_t now, uint64_t ticks)
{
	c->state = PIT_RUNNING;
	c->start_ns = now;
	c->base_ticks = ticks;
}

static void pit_freeze(struct pit_channel *c, uint64_t ticks)
{
	c->state = PIT_FROZEN;
	c->frozen_ticks = ticks;
}

static uint32_t pit_count(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);
	uint32_t n = c->reload, m = pit_modulus(c), half;
	uint64_t p;

	if (c->state == PIT_IDLE || c->state == PIT_WAIT_TRIGGER)
		return n % m;
	switch (c->mode) {
	case 2:
		return (n - d % n) % m;
	case 3:
		/* Decrements by two; the high half is the longer one for odd counts. */
		half = (n + 1) / 2;
		p = d % n;
		if (p >= half)
			p -= half;
		return ((n - 2 * p) & ~1u) % m;
	default:
		/* Modes 0, 1, 4, 5 keep counting down past zero, wrapping. */
		return (n + m - d % m) % m;
	}
}

static bool pit_out(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);
	uint32_t n = c->reload;

	switch (c->state) {
	case PIT_IDLE:
		return c->idle_out;
	case PIT_WAIT_TRIGGER:
		return true;
	case PIT_FROZEN:
		/* A low gate forces OUT high in modes 2 and 3. */
		if (c->mode == 2 || c->mode == 3)
			return true;
		break;
	case PIT_RUNNING:
		break;
	}
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default:
		/* Modes 4 and 5: one clock low when the count reaches zero. */
		return d != n;
	}
}

/* The tick of OUT's next rising edge after @d, or UINT64_MAX. */
static uint64_t pit_next_edge(const struct pit_channel *c, uint64_t d)
{
	uint64_t n = c->reload;

	if (c->state != PIT_RUNNING)
		return UINT64_MAX;
	switch (c->mode) {
	case 0:
	case 1:
		return d < n ? n : UINT64_MAX;
	case 2:
	case 3:
		return (d / n + 1) * n;
	default:
		return d < n + 1 ? n + 1 : UINT64_MAX;
	}
}

static void pit_arm(struct i8254 *pit, uint64_t now)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t edge, deadline;

	edge = pit_next_edge(c, pit_ticks(c, now));
	c->next_edge = edge;
	if (edge == UINT64_MAX) {
		vm_timer_del(pit->timer);
		return;
	}
	deadline = c->start_ns + ticks_to_ns(edge - c->base_ticks);
	if (deadline < now + PIT_MIN_IRQ_NS)
		deadline = now + PIT_MIN_IRQ_NS;
	vm_timer_mod(pit->timer, deadline);
}

/* A periodic channel faster than interrupts can be taken: see the top. */
static bool pit_storm(const struct pit_channel *c)
{
	return (c->mode == 2 || c->mode == 3) && ticks_to_ns(c->reload) < PIT_STORM_NS;
}

static void pit_timer_cb(void *opaque)
{
	struct i8254 *pit = opaque;
	struct pit_channel *c = &pit->ch[0];
	uint64_t now = vm_clock_ns(pit->vm);

	if (c->state == PIT_RUNNING && c->next_edge != UINT64_MAX &&
	    pit_ticks(c, now) >= c->next_edge) {
		if (pit_storm(c) && irq_line_busy(pit->vm, pit->irq)) {
			/* Hold the tick; next_edge stays due, so it fires once taken. */
			pit->held++;
			pit->backoff_ns = pit->backoff_ns ? pit->backoff_ns * 2 : PIT_MIN_IRQ_NS;
			if (pit->backoff_ns > PIT_BACKOFF_MAX_NS)
				pit->backoff_ns = PIT_BACKOFF_MAX_NS;
			vm_timer_mod(pit->timer, now + pit->backoff_ns);
			return;
		}
		pit->backoff_ns = 0;
		irq_set(pit->vm, pit->irq, 1);
		irq_set(pit->vm, pit->irq, 0);
	}
	pit_arm(pit, now);
}

/* Channel state changed: channel 0 must re-aim its timer. */
static void pit_changed(struct pit_channel *c, uint64_t now)
{
	if (c->id == 0)
		pit_arm(c->pit, now);
}

static void pit_set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (c->state == PIT_IDLE)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		/* The gate pauses and resumes counting. */
		if (!gate && c->state == PIT_RUNNING)
			pit_freeze(c, pit_ticks(c, now));
		else if (gate && c->state == PIT_FROZEN)
			pit_start(c, now, c->frozen_ticks);
		break;
	case 2:
	case 3:
		/* Low stops the count; the rising edge reloads it. */
		if (!gate)
			pit_freeze(c, pit_ticks(c, now));
		else
			pit_start(c, now, 0);
		break;
	default:
		/* Modes 1 and 5: a rising edge (re)triggers. */
		if (gate)
			pit_start(c, now, 0);
		break;
	}
	pit_changed(c, now);
}

static void pit_load(struct pit_channel *c, uint16_t raw, uint64_t now)
{
	uint32_t n = c->bcd ? bcd16_to_bin(raw) : raw;

	if (!n || n > pit_modulus(c))
		n = pit_modulus(c);
	/* Counts of 1 are illegal in modes 2 and 3; treat them as 2. */
	if (n == 1 && (c->mode == 2 || c->mode == 3))
		n = 2;
	c->reload = n;
	c->null_count = false;
	switch (c->mode) {
	case 1:
	case 5:
		c->state = PIT_WAIT_TRIGGER;
		break;
	default:
		if (c->gate)
			pit_start(c, now, 0);
		else
			pit_freeze(c, 0);
		break;
	}
	pit_changed(c, now);
}

static void pit_write_count(struct pit_channel *c, uint8_t val, uint64_t now)
{
	switch (c->rw) {
	case 1:
		pit_load(c, val, now);
		break;
	case 2:
		pit_load(c, (uint16_t)val << 8, now);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
			/* Mode 0 stops counting (OUT low) when the first byte arrives. */
			if (c->mode == 0) {
				c->state = PIT_IDLE;
				c->idle_out = false;
				pit_changed(c, now);
			}
		} else {
			c->write_msb_next = false;
			pit_load(c, (uint16_t)val << 8 | c->write_lsb, now);
		}
		break;
	}
}

static uint16_t pit_encoded_count(const struct pit_channel *c, uint64_t now)
{
	uint32_t v = pit_count(c, now);

	return c->bcd ? bin_to_bcd16(v) : (uint16_t)v;
}

static void pit_latch_count(struct pit_channel *c, uint64_t now)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->count_latched = true;
	c->latch = pit_encoded_count(c, now);
	c->latch_msb_next = false;
}

static void pit_latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status_latched = true;
	c->status = (pit_out(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | c->rw << 4 |
		    c->mode_bits << 1 | (c->bcd ? 1 : 0);
}

static uint8_t pit_read_count(struct pit_channel *c, uint64_t now)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latch;
		if (c->rw == 3 && !c->latch_msb_next) {
			c->latch_msb_next = true;
			return v & 0xff;
		}
		c->count_latched = false;
		return c->rw == 1 ? v & 0xff : v >> 8;
	}
	v = pit_encoded_count(c, now);
	switch (c->rw) {
	case 1:
		return v & 0xff;
	case 2:
		return v >> 8;
	default:
		msb = c->read_msb_next;
		c->read_msb_next = !msb;
		return msb ? v >> 8 : v & 0xff;
	}
}

static void pit_control(struct i8254 *pit, uint8_t val, uint64_t now)
{
	struct pit_channel *c;
	unsigned sc = val >> 6, rw = (val >> 4) & 3;

	if (sc == 3) {
		/* Read-back: bits 1-3 select channels; 0 in bit 5/4 latches count/status. */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x10))
				pit_latch_status(&pit->ch[i], now);
			if (!(val & 0x20))
				pit_latch_count(&pit->ch[i], now);
		}
		return;
	}
	c = &pit->ch[sc];
	if (rw == 0) {
		pit_latch_count(c, now);
		return;
	}
	c->rw = rw;
	c->mode_bits = (val >> 1) & 7;
	c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;
	c->bcd = val & 1;
	c->write_msb_next = false;
	c->read_msb_next = false;
	c->count_latched = false;
	c->status_latched = false;
	c->null_count = true;
	/* A control word stops the channel; OUT goes low in mode 0, high otherwise. */
	c->state = PIT_IDLE;
	c->idle_out = c->mode != 0;
	pit_changed(c, now);
}

static uint64_t pit_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);

	if (off >= 3)
		return 0xff;	/* the control register is write-only */
	return pit_read_count(&pit->ch[off], now);
}

static void pit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);

	if (off == 3)
		pit_control(pit, val, now);
	else if (off < 3)
		pit_write_count(&pit->ch[off], val, now);
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);
	uint8_t v = pit->port61 & 0x0f;

	if ((now / REFRESH_NS) & 1)
		v |= 0x10;
	if (pit_out(&pit->ch[2], now))
		v |= 0x20;
	return v;
}

static void port61_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8254 *pit = opaque;

	pit->port61 = val & 0x0f;
	pit_set_gate(&pit->ch[2], val & 1, vm_clock_ns(pit->vm));
}

static const struct io_ops pit_ops = {
	.read = pit_read,
	.write = pit_write,
};

static const struct io_ops port61_ops = {
	.read = port61_read,
	.write = port61_write,
};

bool i8254_out(struct i8254 *pit, unsigned ch)
{
	return ch < 3 && pit_out(&pit->ch[ch], vm_clock_ns(pit->vm));
}

void i8254_reset(struct i8254 *pit)
{
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &pit->ch[i];

		*c = (struct pit_channel){
			.pit = pit,
			.id = i,
			.mode = 3,
			.mode_bits = 3,
			.rw = 3,
			.reload = 65536,
			/* Channels 0 and 1 have their gates tied high on a PC. */
			.gate = i != 2,
			.state = PIT_IDLE,
			.idle_out = true,
			.null_count = true,
			.next_edge = UINT64_MAX,
		};
	}
	pit->port61 = 0;
	pit->backoff_ns = 0;
	vm_timer_del(pit->timer);
}

uint64_t i8254_held_ticks(const struct i8254 *pit)
{
	return pit->held;
}

static void i8254_dev_reset(struct device *dev)
{
	i8254_reset(container_of(dev, struct i8254, dev));
}

static void i8254_dev_destroy(struct device *dev)
{
	i8254_destroy(container_of(dev, struct i8254, dev));
}

static const struct device_ops i8254_dev_ops = {
	.type = "i8254",
	.reset = i8254_dev_reset,
	.destroy = i8254_dev_destroy,
};

struct i8254 *i8254_create(struct vm *vm, uint16_t base, unsigned irq)
{
	struct i8254 *pit;
	int ret;

	pit = calloc(1, sizeof(*pit));
	if (!pit) {
		errno = ENOMEM;
		return NULL;
	}
	pit->vm = vm;
	pit->irq = irq;
	pit->timer = vm_timer_new(vm, pit_timer_cb, pit);
	if (!pit->timer) {
		ret = -ENOMEM;
		goto err_free;
	}
	i8254_reset(pit);
	ret = pio_register(vm, base, 4, &pit_ops, pit, "i8254");
	if (ret < 0)
		goto err_timer;
	ret = pio_register(vm, I8254_PORT61, 1, &port61_ops, pit, "port61");
	if (ret < 0) {
		/* The PIT range stays registered; keep @pit alive for it. */
		errno = -ret;
		return NULL;
	}
	device_add(vm, &pit->dev, &i8254_dev_ops, "pit");
	return pit;

err_timer:
	vm_timer_free(pit->timer);
err_free:
	free(pit);
	errno = -ret;
	return NULL;
}

void i8254_destroy(struct i8254 *pit)
{
	if (!pit)
		return;
	device_remove(&pit->dev);
	vm_timer_free(pit->timer);
	free(pit);
}
