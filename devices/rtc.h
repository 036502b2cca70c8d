/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_RTC_H
#define TANDEM_RTC_H
/*
 * MC146818 real-time clock and 128 bytes of CMOS RAM behind an index port
 * (@base, bit 7 = NMI mask, ignored) and a data port (@base + 1). Time is
 * the host's UTC at creation, advancing with the guest clock; interrupts
 * (periodic, alarm, update-ended) go to @irq. The memory-size bytes are
 * filled from the VM's RAM regions, so create it after guest RAM.
 */
#include <stdint.h>

struct vm;
struct rtc;

#define RTC_BASE	0x70
#define RTC_IRQ		8

/* NULL with errno set on failure. */
struct rtc *rtc_create(struct vm *vm, uint16_t base, unsigned irq);
void rtc_reset(struct rtc *rtc);
/* Teardown only, after the bus no longer dispatches to @rtc. */
void rtc_destroy(struct rtc *rtc);

/* Raw CMOS byte access for the board (e.g. boot flags); @idx < 128. */
uint8_t rtc_cmos_get(const struct rtc *rtc, unsigned idx);
void rtc_cmos_set(struct rtc *rtc, unsigned idx, uint8_t val);
/* Set the clock (seconds since the Unix epoch, UTC): tests, --rtc options. */
void rtc_set_time(struct rtc *rtc, int64_t unix_seconds);

#endif
