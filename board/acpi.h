/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BOARD_ACPI_H
#define TANDEM_BOARD_ACPI_H
/*
 * ACPI tables of the pc board (ACPI 2.0+ layouts, FADT revision 6),
 * written into guest RAM inside the BIOS area that e820 reports reserved:
 *
 *   0xe0000  FACS (64-byte aligned, 64 bytes)
 *   then     DSDT (AML: with a PCI bus, \_SB.PCI0 -- PNP0A08/PNP0A03,
 *            _CRS windows, _PRT -- and \_SB.RES0 (PNP0C02) claiming
 *            ECAM; always Name (_S5, Package () { 0, 0, 0, 0 }), last)
 *            FADT, MADT, [MCFG with a PCI bus], XSDT, RSDT, 16-byte aligned
 *   0xf0000  RSDP (revision 2), where an OS scanning 0xe0000-0xfffff on
 *            16-byte boundaries finds it; Linux also gets the address in
 *            boot_params.acpi_rsdp_addr.
 *
 * The platform described: the ACPI PM block at 0x600 (PM1a_EVT 0x600/4,
 * PM1a_CNT 0x604/2, PM_TMR 0x608/4, 24-bit), SCI on ISA IRQ 9, no SMI
 * command port (always in ACPI mode), reset register = port 0xcf9 value
 * 6; local APIC at 0xfee00000 with ids 0..n-1 for the n CPUs; one I/O
 * APIC (id n) at 0xfec00000 with GSI base 0; ISA IRQ 0 routed to GSI 2;
 * the 8259 pair present (PCAT_COMPAT). PCI (devices/pci.h): ECAM for
 * buses 0-255 in MCFG; INTx on GSIs 16-19 (level, active low: _PRT
 * entries with a GSI and no link device mean exactly that).
 */
#include <stddef.h>
#include <stdint.h>

struct vm;

#define ACPI_AREA_START		0xe0000ull
#define ACPI_AREA_END		0x100000ull
#define ACPI_RSDP_ADDR		0xf0000ull

/* The hardware the tables describe; devices must answer at these ports. */
#define ACPI_PM_BASE		0x600u
#define ACPI_PM1A_EVT		(ACPI_PM_BASE + 0)
#define ACPI_PM1A_CNT		(ACPI_PM_BASE + 4)
#define ACPI_PM_TMR		(ACPI_PM_BASE + 8)
#define ACPI_SCI_IRQ		9u
#define ACPI_RESET_PORT		0xcf9u
#define ACPI_RESET_VALUE	0x06u
#define ACPI_LAPIC_ADDR		0xfee00000u
#define ACPI_IOAPIC_ADDR	0xfec00000u

/*
 * Write all tables for @nr_cpus CPUs (1..VM_MAX_VCPUS) into guest RAM,
 * clearing the rest of [ACPI_AREA_START, ACPI_AREA_END) so that no stale
 * table survives a reload. 0, or -errno with one line in @err.
 */
int acpi_build(struct vm *vm, unsigned nr_cpus, char *err, size_t errlen);

#endif
