/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MISC_H
#define TANDEM_MISC_H
/*
 * Small fixed-function PC ports:
 *  - isa-debug-exit (QEMU compatible): a write of v ends the VM with exit
 *    status (v << 1) | 1;
 *  - the POST code port 0x80 (writes ignored, reads return the last code);
 *  - an ACPI PM1a event/control block and PM timer laid out like QEMU's
 *    q35 (PM1a_EVT at +0, PM1a_CNT at +4, PM_TMR at +8); SLP_EN with
 *    SLP_TYP 0 powers off (so the DSDT's \_S5 must use type 0);
 *  - System Control Port A (0x92): fast A20 and fast reset;
 *  - the PIIX reset control register (0xcf9, the FADT's reset register):
 *    a write with bit 2 (reset CPU) set resets the machine; bit 1 (hard
 *    vs soft reset) makes no difference here; reads return the last value.
 *    With PCI, the host bridge owns 0xcf8-0xcff and passes byte accesses
 *    at 0xcf9 on (misc_rcr_io_ops(), created with port 0).
 */
#include <stdint.h>

struct vm;
struct io_ops;

#define MISC_DEBUG_EXIT_BASE	0xf4
#define MISC_DEBUG_EXIT_SIZE	4
#define MISC_POST_PORT		0x80
#define MISC_ACPI_PM_BASE	0x600
#define MISC_ACPI_PM_LEN	16
#define MISC_PORT92		0x92
#define MISC_RESET_CONTROL_PORT	0xcf9

/* For the FADT: block offsets and lengths, and the timer's width. */
#define MISC_ACPI_PM1_EVT_OFF	0
#define MISC_ACPI_PM1_EVT_LEN	4
#define MISC_ACPI_PM1_CNT_OFF	4
#define MISC_ACPI_PM1_CNT_LEN	2
#define MISC_ACPI_PM_TMR_OFF	8
#define MISC_ACPI_PM_TMR_LEN	4
#define MISC_ACPI_PM_TMR_BITS	24	/* FADT flag TMR_VAL_EXT must be clear */
#define MISC_ACPI_PM_TMR_HZ	3579545u
#define MISC_ACPI_SLP_TYP_S5	0

struct misc_debug_exit;
struct misc_post;
struct misc_acpi_pm;
struct misc_port92;
struct misc_rcr;

/* All return NULL with errno set on failure. */
struct misc_debug_exit *misc_debug_exit_create(struct vm *vm, uint16_t base, uint16_t iosize);
struct misc_post *misc_post_create(struct vm *vm, uint16_t port);
struct misc_acpi_pm *misc_acpi_pm_create(struct vm *vm, uint16_t base);
struct misc_port92 *misc_port92_create(struct vm *vm, uint16_t port);
/* Port 0: not on the bus; whoever owns 0xcf9 calls misc_rcr_io_ops() at offset 0. */
struct misc_rcr *misc_rcr_create(struct vm *vm, uint16_t port);
const struct io_ops *misc_rcr_io_ops(void);

void misc_post_reset(struct misc_post *p);
void misc_acpi_pm_reset(struct misc_acpi_pm *pm);
void misc_port92_reset(struct misc_port92 *p);
void misc_rcr_reset(struct misc_rcr *r);

/* Teardown only, after the bus no longer dispatches to the device. */
void misc_debug_exit_destroy(struct misc_debug_exit *d);
void misc_post_destroy(struct misc_post *p);
void misc_acpi_pm_destroy(struct misc_acpi_pm *pm);
void misc_port92_destroy(struct misc_port92 *p);
void misc_rcr_destroy(struct misc_rcr *r);

#endif
