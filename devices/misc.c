// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Small fixed-function ports: isa-debug-exit, POST code, ACPI PM block,
 * System Control Port A, reset control register. See misc.h for the layout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/misc.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/timer.h"
#include "machine/vm.h"

/* ---- isa-debug-exit ---------------------------------------------------- */

struct misc_debug_exit {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
};

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct misc_debug_exit *d = opaque;

	/* QEMU's convention: status (v << 1) | 1, so a guest can never exit 0. */
	vm_request_exit(d->vm, VM_EXIT_DEBUG_PORT, (int)(((uint32_t)val << 1) | 1));
}

static const struct io_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static void misc_debug_exit_dev_destroy(struct device *dev)
{
	misc_debug_exit_destroy(container_of(dev, struct misc_debug_exit, dev));
}

static const struct device_ops misc_debug_exit_dev_ops = {
	.type = "isa-debug-exit",
	.destroy = misc_debug_exit_dev_destroy,
};

struct misc_debug_exit *misc_debug_exit_create(struct vm *vm, uint16_t base, uint16_t iosize)
{
	struct misc_debug_exit *d = calloc(1, sizeof(*d));
	int ret;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->vm = vm;
	ret = pio_register(vm, base, iosize, &debug_exit_ops, d, "isa-debug-exit");
	if (ret < 0) {
		free(d);
		errno = -ret;
		return NULL;
	}
	device_add(vm, &d->dev, &misc_debug_exit_dev_ops, "isa-debug-exit");
	return d;
}

void misc_debug_exit_destroy(struct misc_debug_exit *d)
{
	if (!d)
		return;
	device_remove(&d->dev);
	free(d);
}

/* ---- POST code port ---------------------------------------------------- */

struct misc_post {
	struct device dev;	/* first: the VM's device list */
	uint8_t code;
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
	struct misc_post *p = opaque;

	return p->code;
}

static void post_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct misc_post *p = opaque;

	/* Also the classic "slow down I/O" port: a write is all it is for. */
	p->code = val;
}

static const struct io_ops post_ops = {
	.read = post_read,
	.write = post_write,
};

void misc_post_reset(struct misc_post *p)
{
	p->code = 0;
}

static void misc_post_dev_reset(struct device *dev)
{
	misc_post_reset(container_of(dev, struct misc_post, dev));
}

static void misc_post_dev_destroy(struct device *dev)
{
	misc_post_destroy(container_of(dev, struct misc_post, dev));
}

static const struct device_ops misc_post_dev_ops = {
	.type = "post",
	.reset = misc_post_dev_reset,
	.destroy = misc_post_dev_destroy,
};

struct misc_post *misc_post_create(struct vm *vm, uint16_t port)
{
	struct misc_post *p = calloc(1, sizeof(*p));
	int ret;

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	ret = pio_register(vm, port, 1, &post_ops, p, "post");
	if (ret < 0) {
		free(p);
		errno = -ret;
		return NULL;
	}
	device_add(vm, &p->dev, &misc_post_dev_ops, "post");
	return p;
}

void misc_post_destroy(struct misc_post *p)
{
	if (!p)
		return;
	device_remove(&p->dev);
	free(p);
}

/* ---- ACPI PM1a block and PM timer -------------------------------------- */

#define PM1_STS_TMR	0x0001
#define PM1_STS_PWRBTN	0x0100
#define PM1_STS_WAK	0x8000
#define PM1_STS_MASK	(PM1_STS_TMR | PM1_STS_PWRBTN | PM1_STS_WAK)
#define PM1_EN_MASK	0x0521	/* TMR_EN, GBL_EN, PWRBTN_EN, RTC_EN */
#define PM1_CNT_SCI_EN	0x0001
#define PM1_CNT_SLP_TYP	0x1c00
#define PM1_CNT_SLP_EN	0x2000
/* SLP_EN and GBL_RLS are write-only; everything else in CNT reads back. */
#define PM1_CNT_RW	0x1c03

struct misc_acpi_pm {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	uint16_t sts, en, cnt;
	uint64_t tmr_epoch;	/* timer overflows (bit 23 carries) already flagged */
};

static uint64_t pm_ticks(struct misc_acpi_pm *pm)
{
	return (uint64_t)((unsigned __int128)vm_clock_ns(pm->vm) * MISC_ACPI_PM_TMR_HZ /
			  1000000000u);
}

/* TMR_STS is set whenever bit 23 of the counter has carried since the last look. */
static uint32_t pm_timer(struct misc_acpi_pm *pm)
{
	uint64_t t = pm_ticks(pm), epoch = t >> MISC_ACPI_PM_TMR_BITS;

	if (epoch != pm->tmr_epoch) {
		pm->tmr_epoch = epoch;
		pm->sts |= PM1_STS_TMR;
	}
	return t & ((1u << MISC_ACPI_PM_TMR_BITS) - 1);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
	struct misc_acpi_pm *pm = opaque;
	uint32_t tmr = pm_timer(pm);
	uint8_t regs[MISC_ACPI_PM_LEN] = {
		pm->sts & 0xff, pm->sts >> 8,
		pm->en & 0xff, pm->en >> 8,
		pm->cnt & 0xff, pm->cnt >> 8,
		0, 0,
		tmr & 0xff, (tmr >> 8) & 0xff, (tmr >> 16) & 0xff, tmr >> 24,
	};
	uint64_t v = 0;

	/* Byte-wise, so any width at any offset reads one consistent snapshot. */
	for (unsigned i = 0; i < size && off + i < MISC_ACPI_PM_LEN; i++)
		v |= (uint64_t)regs[off + i] << (8 * i);
	return v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct misc_acpi_pm *pm = opaque;
	uint16_t clear = 0, en = pm->en, cnt = pm->cnt;
	bool cnt_written = false;

	pm_timer(pm);
	for (unsigned i = 0; i < size && off + i < MISC_ACPI_PM_LEN; i++) {
		uint16_t b = (val >> (8 * i)) & 0xff;
		unsigned shift = ((off + i) & 1) * 8;

		switch ((off + i) >> 1) {
		case 0:		/* PM1_STS: write 1 to clear */
			clear |= b << shift;
			break;
		case 1:		/* PM1_EN */
			en = (en & ~(0xff << shift)) | b << shift;
			break;
		case 2:		/* PM1_CNT */
			cnt = (cnt & ~(0xff << shift)) | b << shift;
			cnt_written = true;
			break;
		default:	/* PM_TMR and the reserved bytes are read-only */
			break;
		}
	}
	pm->sts &= ~clear;
	pm->en = en & PM1_EN_MASK;
	if (!cnt_written)
		return;
	pm->cnt = cnt & PM1_CNT_RW;
	if ((cnt & PM1_CNT_SLP_EN) &&
	    ((cnt & PM1_CNT_SLP_TYP) >> 10) == MISC_ACPI_SLP_TYP_S5)
		vm_request_exit(pm->vm, VM_EXIT_POWEROFF, 0);
	/* Other sleep states are not implemented: the write just returns. */
}

static const struct io_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

void misc_acpi_pm_reset(struct misc_acpi_pm *pm)
{
	pm->sts = 0;
	pm->en = 0;
	/*
	 * There is no SMI command port to switch to ACPI mode, so the
	 * hardware starts (and stays) in ACPI mode: SCI_EN set.
	 */
	pm->cnt = PM1_CNT_SCI_EN;
	pm->tmr_epoch = pm_ticks(pm) >> MISC_ACPI_PM_TMR_BITS;
}

static void misc_acpi_pm_dev_reset(struct device *dev)
{
	misc_acpi_pm_reset(container_of(dev, struct misc_acpi_pm, dev));
}

static void misc_acpi_pm_dev_destroy(struct device *dev)
{
	misc_acpi_pm_destroy(container_of(dev, struct misc_acpi_pm, dev));
}

static const struct device_ops misc_acpi_pm_dev_ops = {
	.type = "acpi-pm",
	.reset = misc_acpi_pm_dev_reset,
	.destroy = misc_acpi_pm_dev_destroy,
};

struct misc_acpi_pm *misc_acpi_pm_create(struct vm *vm, uint16_t base)
{
	struct misc_acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm) {
		errno = ENOMEM;
		return NULL;
	}
	pm->vm = vm;
	misc_acpi_pm_reset(pm);
	ret = pio_register(vm, base, MISC_ACPI_PM_LEN, &pm_ops, pm, "acpi-pm");
	if (ret < 0) {
		free(pm);
		errno = -ret;
		return NULL;
	}
	device_add(vm, &pm->dev, &misc_acpi_pm_dev_ops, "acpi-pm");
	return pm;
}

void misc_acpi_pm_destroy(struct misc_acpi_pm *pm)
{
	if (!pm)
		return;
	device_remove(&pm->dev);
	free(pm);
}

/* ---- System Control Port A (0x92) -------------------------------------- */

#define PORT92_RESET	0x01
#define PORT92_A20	0x02

struct misc_port92 {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	uint8_t val;		/* bit 0 always reads 0 once the reset is taken */
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
	struct misc_port92 *p = opaque;

	return p->val;
}

static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct misc_port92 *p = opaque;

	/* A20 is never masked here; bit 1 is only remembered. */
	p->val = val & ~PORT92_RESET;
	if (val & PORT92_RESET)
		vm_request_reset(p->vm);
}

static const struct io_ops port92_ops = {
	.read = port92_read,
	.write = port92_write,
};

void misc_port92_reset(struct misc_port92 *p)
{
	p->val = PORT92_A20;
}

static void misc_port92_dev_reset(struct device *dev)
{
	misc_port92_reset(container_of(dev, struct misc_port92, dev));
}

static void misc_port92_dev_destroy(struct device *dev)
{
	misc_port92_destroy(container_of(dev, struct misc_port92, dev));
}

static const struct device_ops misc_port92_dev_ops = {
	.type = "port92",
	.reset = misc_port92_dev_reset,
	.destroy = misc_port92_dev_destroy,
};

struct misc_port92 *misc_port92_create(struct vm *vm, uint16_t port)
{
	struct misc_port92 *p = calloc(1, sizeof(*p));
	int ret;

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->vm = vm;
	misc_port92_reset(p);
	ret = pio_register(vm, port, 1, &port92_ops, p, "port92");
	if (ret < 0) {
		free(p);
		errno = -ret;
		return NULL;
	}
	device_add(vm, &p->dev, &misc_port92_dev_ops, "port92");
	return p;
}

void misc_port92_destroy(struct misc_port92 *p)
{
	if (!p)
		return;
	device_remove(&p->dev);
	free(p);
}

/* ---- Reset control register (0xcf9) ------------------------------------ */

#define RCR_RST_CPU	0x04	/* bit 1 (SYS_RST, hard reset) changes nothing here */

struct misc_rcr {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	uint8_t val;
};

static uint64_t rcr_read(void *opaque, uint64_t off, unsigned size)
{
	struct misc_rcr *r = opaque;

	return r->val;
}

static void rcr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct misc_rcr *r = opaque;

	/* Linux writes 0x02 then 0x06: the write that sets RST_CPU resets. */
	r->val = val;
	if (val & RCR_RST_CPU)
		vm_request_reset(r->vm);
}

static const struct io_ops rcr_ops = {
	.read = rcr_read,
	.write = rcr_write,
};

const struct io_ops *misc_rcr_io_ops(void)
{
	return &rcr_ops;
}

void misc_rcr_reset(struct misc_rcr *r)
{
	r->val = 0;
}

static void misc_rcr_dev_reset(struct device *dev)
{
	misc_rcr_reset(container_of(dev, struct misc_rcr, dev));
}

static void misc_rcr_dev_destroy(struct device *dev)
{
	misc_rcr_destroy(container_of(dev, struct misc_rcr, dev));
}

static const struct device_ops misc_rcr_dev_ops = {
	.type = "reset-control",
	.reset = misc_rcr_dev_reset,
	.destroy = misc_rcr_dev_destroy,
};

struct misc_rcr *misc_rcr_create(struct vm *vm, uint16_t port)
{
	struct misc_rcr *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->vm = vm;
	ret = port ? pio_register(vm, port, 1, &rcr_ops, r, "reset-control") : 0;
	if (ret < 0) {
		free(r);
		errno = -ret;
		return NULL;
	}
	device_add(vm, &r->dev, &misc_rcr_dev_ops, "reset-control");
	return r;
}

void misc_rcr_destroy(struct misc_rcr *r)
{
	if (!r)
		return;
	device_remove(&r->dev);
	free(r);
}
