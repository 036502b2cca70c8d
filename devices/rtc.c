// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MC146818 RTC + CMOS RAM.
 *
 * The clock is kept as a base (whole seconds of UTC, sec_base) plus the
 * guest time elapsed since the base was set (clock_ref) and a sub-second
 * phase: elapsed = vm_clock_ns() - clock_ref + phase_ns; the current time
 * is sec_base + elapsed / 1e9, and the update cycle ends at each whole
 * second of elapsed. While the clock is stopped (register B's SET bit, or
 * the divider held in reset through register A) the time registers in
 * cmos[] are the time; when it restarts, the base is rebuilt from them.
 *
 * Flags in register C are computed lazily (on reads of C) and by a timer
 * that only runs while an enabled interrupt can still raise IRQF.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/rtc.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/timer.h"
#include "machine/vm.h"

#define NS_PER_SEC	1000000000ull
#define RTC_OSC_HZ	32768ull
/* UIP rises this long before the end of each update cycle. */
#define RTC_UIP_NS	244000ull

enum {
	RTC_SEC = 0x00,
	RTC_SEC_ALARM = 0x01,
	RTC_MIN = 0x02,
	RTC_MIN_ALARM = 0x03,
	RTC_HOUR = 0x04,
	RTC_HOUR_ALARM = 0x05,
	RTC_WDAY = 0x06,
	RTC_MDAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define REG_A_UIP	0x80
#define REG_A_DV	0x70
#define REG_A_DV_NORMAL	0x20	/* 32.768 kHz time base, divider running */
#define REG_A_RS	0x0f

#define REG_B_SET	0x80
#define REG_B_PIE	0x40
#define REG_B_AIE	0x20
#define REG_B_UIE	0x10
#define REG_B_DM	0x04	/* binary (1) or BCD (0) */
#define REG_B_24H	0x02

#define REG_C_IRQF	0x80
#define REG_C_PF	0x40
#define REG_C_AF	0x20
#define REG_C_UF	0x10

#define REG_D_VRT	0x80

struct rtc {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	unsigned irq;
	uint8_t index;
	uint8_t cmos[128];

	bool stopped;
	int64_t sec_base;
	uint64_t clock_ref;
	uint64_t phase_ns;	/* < 1e9 */
	uint64_t last_update;	/* update cycles (whole seconds of elapsed) seen */
	uint64_t last_period;	/* periodic ticks seen */

	bool irq_level;
	struct vm_timer *timer;
};

static bool is_time_reg(unsigned idx)
{
	switch (idx) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static uint8_t rtc_enc(const struct rtc *r, unsigned v)
{
	v %= 100;
	return (r->cmos[RTC_REG_B] & REG_B_DM) ? v : (v / 10) << 4 | (v % 10);
}

static unsigned rtc_dec(const struct rtc *r, uint8_t v)
{
	return (r->cmos[RTC_REG_B] & REG_B_DM) ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t rtc_enc_hour(const struct rtc *r, unsigned h)
{
	unsigned h12;

	if (r->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_enc(r, h);
	h12 = h % 12 ? h % 12 : 12;
	return rtc_enc(r, h12) | (h >= 12 ? 0x80 : 0);
}

static unsigned rtc_dec_hour(const struct rtc *r, uint8_t v)
{
	unsigned h;

	if (r->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_dec(r, v);
	h = rtc_dec(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

static uint64_t rtc_elapsed(const struct rtc *r, uint64_t now)
{
	return (now > r->clock_ref ? now - r->clock_ref : 0) + r->phase_ns;
}

static int64_t rtc_seconds(const struct rtc *r, uint64_t now)
{
	return r->sec_base + (int64_t)(rtc_elapsed(r, now) / NS_PER_SEC);
}

/* Write the broken-down form of @t into the time registers. */
static void rtc_store_time(struct rtc *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	r->cmos[RTC_SEC] = rtc_enc(r, tm.tm_sec);
	r->cmos[RTC_MIN] = rtc_enc(r, tm.tm_min);
	r->cmos[RTC_HOUR] = rtc_enc_hour(r, tm.tm_hour);
	r->cmos[RTC_WDAY] = rtc_enc(r, tm.tm_wday + 1);
	r->cmos[RTC_MDAY] = rtc_enc(r, tm.tm_mday);
	r->cmos[RTC_MONTH] = rtc_enc(r, tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = rtc_enc(r, (unsigned)(tm.tm_year + 1900) % 100);
	r->cmos[RTC_CENTURY] = rtc_enc(r, (unsigned)(tm.tm_year + 1900) / 100);
}

/* The time the registers hold (whatever the guest put there). */
static int64_t rtc_load_time(const struct rtc *r)
{
	unsigned yy = rtc_dec(r, r->cmos[RTC_YEAR]) % 100;
	unsigned cc = rtc_dec(r, r->cmos[RTC_CENTURY]);
	struct tm tm = { 0 };

	/* No usable century register: the usual 1970-2069 window. */
	if (cc < 19 || cc > 99)
		cc = yy < 70 ? 20 : 19;
	tm.tm_sec = rtc_dec(r, r->cmos[RTC_SEC]) % 60;
	tm.tm_min = rtc_dec(r, r->cmos[RTC_MIN]) % 60;
	tm.tm_hour = rtc_dec_hour(r, r->cmos[RTC_HOUR]) % 24;
	tm.tm_mday = rtc_dec(r, r->cmos[RTC_MDAY]);
	if (tm.tm_mday < 1 || tm.tm_mday > 31)
		tm.tm_mday = 1;
	tm.tm_mon = (rtc_dec(r, r->cmos[RTC_MONTH]) + 11) % 12;
	tm.tm_year = (int)(cc * 100 + yy) - 1900;
	return (int64_t)timegm(&tm);
}

static unsigned rtc_rate(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & REG_A_RS;

	/* Rates 1 and 2 repeat rates 8 and 9 (256 and 128 Hz). */
	return rs && rs < 3 ? rs + 7 : rs;
}

/* Periodic ticks in @elapsed ns: the period is 2^(rs-1) oscillator cycles. */
static uint64_t rtc_period_index(const struct rtc *r, uint64_t elapsed)
{
	unsigned rs = rtc_rate(r);

	if (!rs)
		return 0;
	return (uint64_t)((unsigned __int128)elapsed * RTC_OSC_HZ /
			  ((unsigned __int128)NS_PER_SEC << (rs - 1)));
}

/* (Re)start the clock at @t seconds, the next update cycle 1e9 - @phase ns away. */
static void rtc_set_base(struct rtc *r, int64_t t, uint64_t phase, uint64_t now)
{
	r->sec_base = t;
	r->clock_ref = now;
	r->phase_ns = phase;
	/* Only boundaries crossed from here on count. */
	r->last_update = 0;
	r->last_period = rtc_period_index(r, phase);
}

/* The first elapsed ns at which periodic tick @idx has happened. */
static uint64_t rtc_period_start(const struct rtc *r, uint64_t idx)
{
	unsigned rs = rtc_rate(r);
	unsigned __int128 num = (unsigned __int128)idx * (NS_PER_SEC << (rs - 1));

	return (uint64_t)((num + RTC_OSC_HZ - 1) / RTC_OSC_HZ);
}

static bool rtc_alarm_match(const struct rtc *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	uint8_t a;

	if (!gmtime_r(&tt, &tm))
		return false;
	/* An alarm byte with both top bits set matches anything. */
	a = r->cmos[RTC_SEC_ALARM];
	if ((a & 0xc0) != 0xc0 && a != rtc_enc(r, tm.tm_sec))
		return false;
	a = r->cmos[RTC_MIN_ALARM];
	if ((a & 0xc0) != 0xc0 && a != rtc_enc(r, tm.tm_min))
		return false;
	a = r->cmos[RTC_HOUR_ALARM];
	if ((a & 0xc0) != 0xc0 && a != rtc_enc_hour(r, tm.tm_hour))
		return false;
	return true;
}

static void rtc_update_irq(struct rtc *r)
{
	uint8_t *c = &r->cmos[RTC_REG_C];

	/* IRQF latches until register C is read. */
	if (*c & r->cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF))
		*c |= REG_C_IRQF;
	if (!!(*c & REG_C_IRQF) != r->irq_level) {
		r->irq_level = *c & REG_C_IRQF;
		irq_set(r->vm, r->irq, r->irq_level);
	}
}

static bool rtc_divider_running(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & REG_A_DV) == REG_A_DV_NORMAL;
}

/* Bring the flags in register C up to date with the clock. */
static void rtc_check(struct rtc *r, uint64_t now)
{
	uint64_t elapsed, idx;

	if (!rtc_divider_running(r))
		return;
	elapsed = rtc_elapsed(r, now);
	if (!r->stopped) {
		idx = elapsed / NS_PER_SEC;
		if (idx != r->last_update) {
			r->last_update = idx;
			r->cmos[RTC_REG_C] |= REG_C_UF;
			if (rtc_alarm_match(r, rtc_seconds(r, now)))
				r->cmos[RTC_REG_C] |= REG_C_AF;
		}
	}
	if (rtc_rate(r)) {
		idx = rtc_period_index(r, elapsed);
		if (idx != r->last_period) {
			r->last_period = idx;
			r->cmos[RTC_REG_C] |= REG_C_PF;
		}
	}
	rtc_update_irq(r);
}

/* Arm the timer for the next event that can raise IRQF, if any. */
static void rtc_arm(struct rtc *r, uint64_t now)
{
	uint8_t b = r->cmos[RTC_REG_B];
	uint64_t elapsed, next = UINT64_MAX, t;

	if (!rtc_divider_running(r) || (r->cmos[RTC_REG_C] & REG_C_IRQF)) {
		vm_timer_del(r->timer);
		return;
	}
	elapsed = rtc_elapsed(r, now);
	if ((b & (REG_B_UIE | REG_B_AIE)) && !r->stopped)
		next = now + (NS_PER_SEC - elapsed % NS_PER_SEC);
	if ((b & REG_B_PIE) && rtc_rate(r)) {
		t = now + rtc_period_start(r, rtc_period_index(r, elapsed) + 1) - elapsed;
		if (t < next)
			next = t;
	}
	if (next == UINT64_MAX)
		vm_timer_del(r->timer);
	else
		vm_timer_mod(r->timer, next);
}

static void rtc_timer_cb(void *opaque)
{
	struct rtc *r = opaque;
	uint64_t now = vm_clock_ns(r->vm);

	rtc_check(r, now);
	rtc_arm(r, now);
}

/* Stop or restart the clock when SET or the divider changes. */
static void rtc_set_stopped(struct rtc *r, bool stop, uint64_t phase, uint64_t now)
{
	if (stop == r->stopped)
		return;
	if (stop)
		rtc_store_time(r, rtc_seconds(r, now));
	else
		rtc_set_base(r, rtc_load_time(r), phase, now);
	r->stopped = stop;
}

static bool rtc_want_stopped(const struct rtc *r)
{
	return (r->cmos[RTC_REG_B] & REG_B_SET) || !rtc_divider_running(r);
}

static uint8_t rtc_read_reg(struct rtc *r, unsigned idx, uint64_t now)
{
	uint64_t frac;
	uint8_t v;

	if (is_time_reg(idx) && !r->stopped)
		rtc_store_time(r, rtc_seconds(r, now));
	switch (idx) {
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A] & ~REG_A_UIP;
		frac = rtc_elapsed(r, now) % NS_PER_SEC;
		if (!r->stopped && frac >= NS_PER_SEC - RTC_UIP_NS)
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		rtc_check(r, now);
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0;
		rtc_update_irq(r);
		rtc_arm(r, now);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return r->cmos[idx];
	}
}

static void rtc_write_reg(struct rtc *r, unsigned idx, uint8_t val, uint64_t now)
{
	uint8_t old;

	switch (idx) {
	case RTC_REG_A:
		rtc_check(r, now);
		old = r->cmos[RTC_REG_A];
		r->cmos[RTC_REG_A] = val & ~REG_A_UIP;
		/* After the divider leaves reset the first update comes 500 ms later. */
		rtc_set_stopped(r, rtc_want_stopped(r), NS_PER_SEC / 2, now);
		if ((old ^ val) & REG_A_RS)
			r->last_period = rtc_period_index(r, rtc_elapsed(r, now));
		break;
	case RTC_REG_B:
		rtc_check(r, now);
		/* Setting SET also clears UIE. */
		if (val & REG_B_SET)
			val &= ~REG_B_UIE;
		if (!r->stopped)
			rtc_store_time(r, rtc_seconds(r, now));
		r->cmos[RTC_REG_B] = val;
		rtc_set_stopped(r, rtc_want_stopped(r), 0, now);
		rtc_update_irq(r);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	default:
		if (is_time_reg(idx) && !r->stopped) {
			/* A running clock takes the new value at once, keeping its phase. */
			uint64_t frac = rtc_elapsed(r, now) % NS_PER_SEC;

			rtc_check(r, now);
			rtc_store_time(r, rtc_seconds(r, now));
			r->cmos[idx] = val;
			rtc_set_base(r, rtc_load_time(r), frac, now);
		} else {
			r->cmos[idx] = val;
		}
		break;
	}
	rtc_arm(r, now);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc *r = opaque;

	if (off == 0)
		return 0xff;	/* the index register is write-only */
	return rtc_read_reg(r, r->index, vm_clock_ns(r->vm));
}

static void rtc_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rtc *r = opaque;

	if (off == 0)
		r->index = val & 0x7f;	/* bit 7 masks NMI on a PC: ignored */
	else
		rtc_write_reg(r, r->index, val, vm_clock_ns(r->vm));
}

static const struct io_ops rtc_ops = {
	.read = rtc_io_read,
	.write = rtc_io_write,
};

static void cmos_put16(struct rtc *r, unsigned idx, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	r->cmos[idx] = v & 0xff;
	r->cmos[idx + 1] = v >> 8;
}

/* Memory sizes the way a PC BIOS reports them in CMOS. */
static void rtc_fill_memory(struct rtc *r)
{
	uint64_t low_end = 0, high = 0, sum = 0;
	struct vm *vm = r->vm;

	for (unsigned i = 0; i < vm->nr_ram && i < VM_MAX_RAM_REGIONS; i++) {
		const struct mem_region *m = &vm->ram[i];

		if (m->gpa >= VM_HIGHMEM_BASE)
			high += m->size;
		else if (m->gpa + m->size > low_end)
			low_end = m->gpa + m->size > VM_HIGHMEM_BASE ? VM_HIGHMEM_BASE
								   : m->gpa + m->size;
	}
	cmos_put16(r, 0x15, 640);
	if (low_end > (1ull << 20)) {
		cmos_put16(r, 0x17, (low_end - (1ull << 20)) >> 10);
		cmos_put16(r, 0x30, (low_end - (1ull << 20)) >> 10);
	}
	if (low_end > (16ull << 20))
		cmos_put16(r, 0x34, (low_end - (16ull << 20)) >> 16);
	high >>= 16;
	if (high > 0xffffff)
		high = 0xffffff;
	r->cmos[0x5b] = high & 0xff;
	r->cmos[0x5c] = (high >> 8) & 0xff;
	r->cmos[0x5d] = (high >> 16) & 0xff;
	r->cmos[0x14] = 0x02;	/* equipment: FPU present, no floppy, VGA */
	/* CPUs - 1, where QEMU's firmware looks for the count. */
	r->cmos[0x5f] = vm->cfg.smp > 1 ? (uint8_t)(vm->cfg.smp - 1) : 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = sum >> 8;
	r->cmos[0x2f] = sum & 0xff;
}

void rtc_reset(struct rtc *r)
{
	uint64_t now = vm_clock_ns(r->vm);

	/* The RESET pin clears the interrupt enables and flags, not the time. */
	rtc_check(r, now);
	r->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | 0x08);
	r->cmos[RTC_REG_C] = 0;
	rtc_update_irq(r);
	rtc_arm(r, now);
}

void rtc_set_time(struct rtc *r, int64_t t)
{
	uint64_t now = vm_clock_ns(r->vm);

	if (r->stopped)
		rtc_store_time(r, t);
	else
		rtc_set_base(r, t, 0, now);
	rtc_arm(r, now);
}

uint8_t rtc_cmos_get(const struct rtc *r, unsigned idx)
{
	return idx < 128 ? r->cmos[idx] : 0xff;
}

void rtc_cmos_set(struct rtc *r, unsigned idx, uint8_t val)
{
	if (idx < 128)
		r->cmos[idx] = val;
}

static void rtc_dev_reset(struct device *dev)
{
	rtc_reset(container_of(dev, struct rtc, dev));
}

static void rtc_dev_destroy(struct device *dev)
{
	rtc_destroy(container_of(dev, struct rtc, dev));
}

static const struct device_ops rtc_dev_ops = {
	.type = "mc146818rtc",
	.reset = rtc_dev_reset,
	.destroy = rtc_dev_destroy,
};

struct rtc *rtc_create(struct vm *vm, uint16_t base, unsigned irq)
{
	struct timespec ts;
	struct rtc *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->vm = vm;
	r->irq = irq;
	r->timer = vm_timer_new(vm, rtc_timer_cb, r);
	if (!r->timer) {
		ret = -ENOMEM;
		goto err_free;
	}
	r->cmos[RTC_REG_A] = REG_A_DV_NORMAL | 0x06;	/* 1024 Hz periodic rate */
	r->cmos[RTC_REG_B] = REG_B_24H;
	r->cmos[RTC_REG_D] = REG_D_VRT;
	clock_gettime(CLOCK_REALTIME, &ts);
	rtc_set_base(r, ts.tv_sec, ts.tv_nsec, vm_clock_ns(vm));
	rtc_store_time(r, ts.tv_sec);
	rtc_fill_memory(r);

	ret = pio_register(vm, base, 2, &rtc_ops, r, "rtc");
	if (ret < 0)
		goto err_timer;
	device_add(vm, &r->dev, &rtc_dev_ops, "rtc");
	return r;

err_timer:
	vm_timer_free(r->timer);
err_free:
	free(r);
	errno = -ret;
	return NULL;
}

void rtc_destroy(struct rtc *r)
{
	if (!r)
		return;
	device_remove(&r->dev);
	vm_timer_free(r->timer);
	free(r);
}
