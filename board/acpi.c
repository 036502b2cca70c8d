// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ACPI tables for the pc board: RSDP, XSDT/RSDT, FADT, FACS, a minimal
 * DSDT and the MADT. Layouts and the platform they describe are in
 * board/acpi.h; field offsets below follow the ACPI 6.x specification
 * (sections 5.2.5 - 5.2.12), which keeps every older revision's layout as
 * a prefix. All multi-byte fields are little-endian.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "devices/misc.h"
#include "devices/pci.h"
#include "board/acpi.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define OEM_ID		"TANDEM"	/* 6 bytes */
#define OEM_TABLE_ID	"TANDEMPC"	/* 8 bytes */
#define CREATOR_ID	"TNDM"
#define OEM_REVISION	1u
#define CREATOR_REV	1u

/* System description table header (5.2.6). */
#define SDT_HDR_LEN	36u
#define SDT_LENGTH	4
#define SDT_REVISION	8
#define SDT_CHECKSUM	9

/* RSDP (5.2.5.3). */
#define RSDP_V1_LEN	20u
#define RSDP_LEN	36u

/* FADT (5.2.9), revision 6: 276 bytes. */
#define FADT_LEN		276u
#define FADT_REVISION		6
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM_TMR_BLK		76
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_PM_TMR_LEN		91
#define FADT_P_LVL2_LAT		96
#define FADT_P_LVL3_LAT		98
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_MINOR_VERSION	131
#define FADT_X_FIRMWARE_CTRL	132	/* left 0, see build_fadt() */
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM_TMR_BLK	208

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* set: no fixed-feature power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* set: no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)

#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_NO_VGA	(1u << 2)

/* Generic address structure (5.2.3.2): 12 bytes. */
#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2
#define GAS_ACCESS_DWORD	3

/* FACS (5.2.10): no checksum, 64-byte aligned. */
#define FACS_LEN		64u
#define FACS_VERSION		32

/* MADT (5.2.12). */
#define MADT_REVISION		3
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_PCAT_COMPAT	(1u << 0)
#define MADT_LAPIC		0
#define MADT_LAPIC_LEN		8u
#define MADT_IOAPIC		1
#define MADT_IOAPIC_LEN		12u
#define MADT_ISO		2
#define MADT_ISO_LEN		10u
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_NMI_LEN	6u
#define MADT_LAPIC_ENABLED	(1u << 0)
/* MPS INTI flags: polarity in bits 1:0, trigger mode in bits 3:2. */
#define INTI_ACTIVE_HIGH	0x1u
#define INTI_EDGE		(0x1u << 2)
#define INTI_LEVEL		(0x3u << 2)

/* MCFG (PCI Firmware spec 3.x): header, 8 reserved bytes, one 16-byte allocation. */
#define MCFG_LEN		(SDT_HDR_LEN + 8 + 16)

/*
 * The DSDT ends with: Name (_S5, Package () { 0, 0, 0, 0 }).
 * NameOp, the NameSeg "_S5_", PackageOp, PkgLength (one-byte form: it
 * counts itself, NumElements and the four ZeroOps = 6), NumElements 4,
 * then ZeroOp x 4. _S5 package element 0/1 are SLP_TYP for PM1a/PM1b:
 * the OS writes SLP_EN | SLP_TYP(0) = 0x2000 to PM1a_CNT to power off.
 */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',
	0x12, 0x06, 0x04,
	0x00, 0x00, 0x00, 0x00,
};

_Static_assert(sizeof(dsdt_aml) == 5 + 1 + 0x06, "_S5 PkgLength must cover the package");

/* The FADT must describe the PM block devices/misc.c implements. */
_Static_assert(ACPI_PM_BASE == MISC_ACPI_PM_BASE, "PM block base");
_Static_assert(ACPI_PM1A_EVT == MISC_ACPI_PM_BASE + MISC_ACPI_PM1_EVT_OFF &&
	       MISC_ACPI_PM1_EVT_LEN == 4, "PM1a_EVT_BLK");
_Static_assert(ACPI_PM1A_CNT == MISC_ACPI_PM_BASE + MISC_ACPI_PM1_CNT_OFF &&
	       MISC_ACPI_PM1_CNT_LEN == 2, "PM1a_CNT_BLK");
_Static_assert(ACPI_PM_TMR == MISC_ACPI_PM_BASE + MISC_ACPI_PM_TMR_OFF &&
	       MISC_ACPI_PM_TMR_LEN == 4, "PM_TMR_BLK");
_Static_assert(MISC_ACPI_PM_TMR_BITS == 24, "a 32-bit timer needs FADT flag TMR_VAL_EXT");
_Static_assert(MISC_ACPI_SLP_TYP_S5 == 0, "the DSDT's _S5 says SLP_TYP 0");

struct acpi_area {
	uint8_t *host;		/* [ACPI_AREA_START, ACPI_AREA_END) */
	uint64_t next;		/* first free gpa for a table */
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);	/* x86-64 host: already little-endian */
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Host pointer for a table at @gpa inside the area. */
static uint8_t *at(struct acpi_area *a, uint64_t gpa)
{
	return a->host + (gpa - ACPI_AREA_START);
}

/* Reserve @len bytes aligned to @align below the RSDP; 0 when they do not fit. */
static uint64_t area_alloc(struct acpi_area *a, uint64_t len, uint64_t align)
{
	uint64_t gpa = (a->next + align - 1) & ~(align - 1);

	if (gpa + len > ACPI_RSDP_ADDR)
		return 0;
	a->next = gpa + len;
	return gpa;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* Make the bytes [p, p + len) sum to zero through the byte at @off. */
static void fix_checksum(uint8_t *p, size_t len, size_t off)
{
	p[off] = 0;
	p[off] = (uint8_t)-sum8(p, len);
}

static void sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + SDT_LENGTH, len);
	t[SDT_REVISION] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, CREATOR_REV);
}

static void gas_io(uint8_t *p, uint8_t bit_width, uint8_t access, uint64_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bit_width;
	p[2] = 0;		/* bit offset */
	p[3] = access;
	put64(p + 4, port);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t + 4, FACS_LEN);
	/* Hardware signature, waking vectors, global lock, flags: all 0. */
	t[FACS_VERSION] = 2;
}

/*
 * A little AML writer for the PCI part of the DSDT. Each object is built
 * into its own buffer, then wrapped with its opcode and PkgLength, so
 * lengths are always exact. Overflow sets .bad and the caller gives up.
 */
#define AML_MAX		8192

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	bool bad;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->bad || a->len + n > AML_MAX) {
		a->bad = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void aml_word(struct aml *a, uint16_t v)
{
	aml_bytes(a, &v, 2);
}

static void aml_dword(struct aml *a, uint32_t v)
{
	aml_bytes(a, &v, 4);
}

/* An integer in its shortest encoding (ZeroOp, OneOp, Byte/Word/DWordConst). */
static void aml_int(struct aml *a, uint32_t v)
{
	if (v <= 1) {
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_word(a, (uint16_t)v);
	} else {
		aml_byte(a, 0x0c);
		aml_dword(a, v);
	}
}

/* @op (one or two bytes), PkgLength covering itself and @body, then @body. */
static void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	size_t n = body->len;
	uint8_t pl[4];
	size_t pll;

	if (body->bad) {
		a->bad = true;
		return;
	}
	if (n + 1 <= 0x3f) {
		pl[0] = (uint8_t)(n + 1);
		pll = 1;
	} else if (n + 2 <= 0xfff) {
		n += 2;
		pl[0] = (uint8_t)(0x40 | (n & 0xf));
		pl[1] = (uint8_t)(n >> 4);
		pll = 2;
	} else {
		n += 3;
		pl[0] = (uint8_t)(0x80 | (n & 0xf));
		pl[1] = (uint8_t)(n >> 4);
		pl[2] = (uint8_t)(n >> 12);
		pll = 3;
	}
	aml_bytes(a, op, oplen);
	aml_bytes(a, pl, pll);
	aml_bytes(a, body->b, body->len);
}

/* Name (@seg, ...): the caller appends the value. */
static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
}

/* EISAID ("PNP0A03"): three 5-bit letters and four hex digits, big-endian in a dword. */
static uint32_t eisa_id(const char *id)
{
	uint32_t v = ((uint32_t)(id[0] & 0x1f) << 26) | ((uint32_t)(id[1] & 0x1f) << 21) |
		     ((uint32_t)(id[2] & 0x1f) << 16) | (uint32_t)strtoul(id + 3, NULL, 16);

	return __builtin_bswap32(v);
}

/* Name (@seg, Buffer () { @res, EndTag }). */
static void aml_name_resources(struct aml *a, const char seg[4], const struct aml *res)
{
	static const uint8_t buffer_op = 0x11;
	struct aml body = { .len = 0 };

	aml_int(&body, (uint32_t)res->len + 2);
	aml_bytes(&body, res->b, res->len);
	aml_byte(&body, 0x79);	/* End tag, checksum 0: "treat as correct" */
	aml_byte(&body, 0);
	if (res->bad)
		body.bad = true;
	aml_name(a, seg);
	aml_pkg(a, &buffer_op, 1, &body);
}

/* Word address space descriptor (6.4.3.5.3): bus numbers (type 2) or I/O (type 1). */
static void res_word(struct aml *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	aml_byte(r, 0x88);
	aml_word(r, 13);
	aml_byte(r, type);
	aml_byte(r, 0x0c);	/* producer, min and max fixed */
	aml_byte(r, tflags);
	aml_word(r, 0);		/* granularity */
	aml_word(r, min);
	aml_word(r, max);
	aml_word(r, 0);		/* translation */
	aml_word(r, (uint16_t)(max - min + 1));
}

/* DWord memory descriptor (6.4.3.5.2), read-write, non-cacheable. */
static void res_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
	aml_byte(r, 0x87);
	aml_word(r, 23);
	aml_byte(r, 0);		/* memory range */
	aml_byte(r, 0x0c);	/* producer, min and max fixed */
	aml_byte(r, 0x01);	/* read-write, non-cacheable */
	aml_dword(r, 0);
	aml_dword(r, min);
	aml_dword(r, max);
	aml_dword(r, 0);
	aml_dword(r, max - min + 1);
}

/*
 * Scope (\_SB) {
 *   Device (PCI0) {            the host bridge, PCIe (PNP0A08) and PCI (PNP0A03)
 *     _HID, _CID, _SEG 0, _BBN 0, _UID 0
 *     _CRS: buses 0-255, the 0xcf8 ports, I/O 0-0xcf7 and 0xd00-0xffff,
 *           the VGA window, the 32-bit memory window
 *     _PRT: slot S pin P -> GSI 16 + (S + P) % 4 (P 0-3 = INTA-INTD;
 *           a GSI source: level, active low)
 *   }
 *   Device (RES0) {            PNP0C02: the ECAM window is the board's
 *     _CRS: Memory32Fixed (ECAM)
 *   }
 * }
 */
static void aml_pci(struct aml *out, uint64_t ecam)
{
	static const uint8_t scope_op = 0x10, device_op[] = { 0x5b, 0x82 }, package_op = 0x12;
	static struct aml scope, dev, res, prt, entry, res0;

	memset(&scope, 0, sizeof(scope));
	memset(&dev, 0, sizeof(dev));
	memset(&res, 0, sizeof(res));
	memset(&prt, 0, sizeof(prt));
	memset(&res0, 0, sizeof(res0));

	aml_bytes(&scope, "\\_SB_", 5);

	aml_bytes(&dev, "PCI0", 4);
	aml_name(&dev, "_HID");
	aml_int(&dev, eisa_id("PNP0A08"));
	aml_name(&dev, "_CID");
	aml_int(&dev, eisa_id("PNP0A03"));
	aml_name(&dev, "_SEG");
	aml_int(&dev, 0);
	aml_name(&dev, "_BBN");
	aml_int(&dev, 0);
	aml_name(&dev, "_UID");
	aml_int(&dev, 0);

	res_word(&res, 2, 0, 0, 0xff);
	/* IO (Decode16, 0xcf8, 0xcf8, 1, 8): the bridge's own ports, consumed. */
	aml_bytes(&res, (const uint8_t[]){ 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 }, 8);
	res_word(&res, 1, 0x03, 0x0000, 0x0cf7);
	res_word(&res, 1, 0x03, 0x0d00, 0xffff);
	res_dword_mem(&res, 0x000a0000, 0x000bffff);
	res_dword_mem(&res, (uint32_t)PCI_MEM_WINDOW_BASE, (uint32_t)(PCI_MEM_WINDOW_END - 1));
	aml_name_resources(&dev, "_CRS", &res);

	aml_byte(&prt, PCI_MAX_DEVICES * 4);	/* NumElements */
	for (unsigned slot = 0; slot < PCI_MAX_DEVICES; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			memset(&entry, 0, sizeof(entry));
			aml_byte(&entry, 4);
			aml_int(&entry, slot << 16 | 0xffff);
			aml_int(&entry, pin);
			aml_int(&entry, 0);	/* source: none, the next field is a GSI */
			aml_int(&entry, pci_intx_gsi(slot, pin + 1));
			aml_pkg(&prt, &package_op, 1, &entry);
		}
	}
	aml_name(&dev, "_PRT");
	aml_pkg(&dev, &package_op, 1, &prt);
	aml_pkg(&scope, device_op, 2, &dev);

	aml_bytes(&res0, "RES0", 4);
	aml_name(&res0, "_HID");
	aml_int(&res0, eisa_id("PNP0C02"));
	aml_name(&res0, "_UID");
	aml_int(&res0, 1);
	memset(&res, 0, sizeof(res));
	aml_byte(&res, 0x86);	/* Memory32Fixed, read-write */
	aml_word(&res, 9);
	aml_byte(&res, 1);
	aml_dword(&res, (uint32_t)ecam);
	aml_dword(&res, (uint32_t)PCI_ECAM_SIZE);
	aml_name_resources(&res0, "_CRS", &res);
	aml_pkg(&scope, device_op, 2, &res0);

	aml_pkg(out, &scope_op, 1, &scope);
}

/* The DSDT body: the PCI devices when there is a bus, then \_S5 (last, see the tests). */
static void dsdt_body(struct vm *vm, struct aml *a)
{
	struct pci_bus *bus = vm_pci_bus(vm);

	a->len = 0;
	a->bad = false;
	if (bus && pci_bus_ecam_base(bus))
		aml_pci(a, pci_bus_ecam_base(bus));
	aml_bytes(a, dsdt_aml, sizeof(dsdt_aml));
}

static void build_dsdt(uint8_t *t, uint32_t len, const struct aml *body)
{
	sdt_header(t, "DSDT", len, 2);	/* revision 2: 64-bit AML integers */
	memcpy(t + SDT_HDR_LEN, body->b, body->len);
	fix_checksum(t, len, SDT_CHECKSUM);
}

static void build_mcfg(uint8_t *t, uint64_t ecam)
{
	uint8_t *e = t + SDT_HDR_LEN + 8;

	sdt_header(t, "MCFG", MCFG_LEN, 1);
	put64(e, ecam);
	put16(e + 8, 0);	/* segment group */
	e[10] = 0;		/* first bus */
	e[11] = (uint8_t)(PCI_ECAM_SIZE / (1u << 20) - 1);	/* last bus: 255 */
	fix_checksum(t, MCFG_LEN, SDT_CHECKSUM);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	sdt_header(t, "FACP", FADT_LEN, FADT_REVISION);
	/*
	 * The FACS through the 32-bit pointer only: the spec has the OS
	 * ignore one of the two when both are set, and ACPICA (Linux 6.1)
	 * then maps and lists the FACS twice. The DSDT pointers agree;
	 * ACPICA prefers X_DSDT and warns only if the two differ.
	 */
	put32(t + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	put32(t + FADT_DSDT, (uint32_t)dsdt);
	put64(t + FADT_X_DSDT, dsdt);
	put16(t + FADT_SCI_INT, ACPI_SCI_IRQ);
	/* SMI_CMD stays 0: the platform is always in ACPI mode (SCI_EN fixed). */
	put32(t + FADT_PM1A_EVT_BLK, ACPI_PM1A_EVT);
	put32(t + FADT_PM1A_CNT_BLK, ACPI_PM1A_CNT);
	put32(t + FADT_PM_TMR_BLK, ACPI_PM_TMR);
	t[FADT_PM1_EVT_LEN] = 4;
	t[FADT_PM1_CNT_LEN] = 2;
	t[FADT_PM_TMR_LEN] = 4;
	gas_io(t + FADT_X_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD, ACPI_PM1A_EVT);
	gas_io(t + FADT_X_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD, ACPI_PM1A_CNT);
	gas_io(t + FADT_X_PM_TMR_BLK, 32, GAS_ACCESS_DWORD, ACPI_PM_TMR);
	/* No GPE blocks. Latencies above 100/1000 us say C2/C3 are not supported. */
	put16(t + FADT_P_LVL2_LAT, 101);
	put16(t + FADT_P_LVL3_LAT, 1001);
	/*
	 * ISA devices (COM1, RTC) present, no VGA. The 8042 flag stays clear:
	 * the board's i8042 only implements the reset line, and a clear flag
	 * keeps Linux from probing it as a keyboard controller.
	 */
	put16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_NO_VGA);
	put32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
			      FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	gas_io(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = 0;
	fix_checksum(t, FADT_LEN, SDT_CHECKSUM);
}

static uint32_t madt_len(unsigned nr_cpus)
{
	return SDT_HDR_LEN + 8 + nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN +
	       MADT_LAPIC_NMI_LEN;
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = 0;		/* bus: ISA */
	p[3] = irq;
	put32(p + 4, gsi);
	put16(p + 8, flags);
	return p + MADT_ISO_LEN;
}

static void build_madt(uint8_t *t, unsigned nr_cpus)
{
	uint32_t len = madt_len(nr_cpus);
	uint8_t *p = t + SDT_HDR_LEN + 8;

	sdt_header(t, "APIC", len, MADT_REVISION);
	put32(t + MADT_LAPIC_ADDR, ACPI_LAPIC_ADDR);
	put32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	/* Processor UID = APIC id = vCPU index: what the engines give each vCPU. */
	for (unsigned i = 0; i < nr_cpus; i++, p += MADT_LAPIC_LEN) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = (uint8_t)i;
		p[3] = (uint8_t)i;
		put32(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = (uint8_t)nr_cpus;	/* first id after the CPUs' */
	p[3] = 0;
	put32(p + 4, ACPI_IOAPIC_ADDR);
	put32(p + 8, 0);		/* GSI base: pins 0-23 are GSIs 0-23 */
	p += MADT_IOAPIC_LEN;
	/* The PIT's IRQ 0 is wired to I/O APIC pin 2, as on every PC since the MPS days. */
	p = madt_iso(p, 0, 2, INTI_EDGE | INTI_ACTIVE_HIGH);
	/* The SCI is level-triggered; active high, as the PM block drives it. */
	p = madt_iso(p, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_LEVEL | INTI_ACTIVE_HIGH);
	/* NMI on LINT1 of every processor (UID 0xff = all). */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = 0xff;
	put16(p + 3, 0);	/* flags: conforms to the bus */
	p[5] = 1;
	fix_checksum(t, len, SDT_CHECKSUM);
}

static void build_rsdp(uint8_t *r, uint64_t rsdt, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;		/* revision: ACPI 2.0+, has the XSDT */
	put32(r + 16, (uint32_t)rsdt);
	put32(r + 20, RSDP_LEN);
	put64(r + 24, xsdt);
	fix_checksum(r, RSDP_V1_LEN, 8);
	fix_checksum(r, RSDP_LEN, 32);
}

static int acpi_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int acpi_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int acpi_build(struct vm *vm, unsigned nr_cpus, char *err, size_t errlen)
{
	static struct aml body;	/* 8 KiB: off the stack; callers hold no lock, one at a time */
	struct acpi_area a = { .next = ACPI_AREA_START };
	struct pci_bus *bus = vm_pci_bus(vm);
	uint64_t ecam = bus ? pci_bus_ecam_base(bus) : 0;
	uint64_t facs, dsdt, fadt, madt, mcfg = 0, xsdt, rsdt, tables[3];
	unsigned nr_tables = 0;
	uint32_t dsdt_len;
	uint8_t *t;

	if (nr_cpus < 1 || nr_cpus > VM_MAX_VCPUS) {
		return acpi_err(err, errlen, -EINVAL, "ACPI tables: %u CPUs (1 to %u supported)",
				nr_cpus, VM_MAX_VCPUS);
	}
	a.host = gpa_to_hva(vm, ACPI_AREA_START, ACPI_AREA_END - ACPI_AREA_START);
	if (!a.host) {
		return acpi_err(err, errlen, -ERANGE, "ACPI tables: no guest RAM at 0x%llx-0x%llx",
				ACPI_AREA_START, ACPI_AREA_END - 1);
	}
	dsdt_body(vm, &body);
	if (body.bad)
		return acpi_err(err, errlen, -ENOSPC, "ACPI: the DSDT is over %u bytes", AML_MAX);
	dsdt_len = SDT_HDR_LEN + (uint32_t)body.len;

	facs = area_alloc(&a, FACS_LEN, 64);
	dsdt = area_alloc(&a, dsdt_len, 16);
	fadt = area_alloc(&a, FADT_LEN, 16);
	madt = area_alloc(&a, madt_len(nr_cpus), 16);
	tables[nr_tables++] = fadt;
	tables[nr_tables++] = madt;
	if (ecam) {
		mcfg = area_alloc(&a, MCFG_LEN, 16);
		tables[nr_tables++] = mcfg;
	}
	xsdt = area_alloc(&a, SDT_HDR_LEN + 8 * nr_tables, 16);
	rsdt = area_alloc(&a, SDT_HDR_LEN + 4 * nr_tables, 16);
	/* A few KiB in a 64 KiB window: failing here is a bug, not the guest. */
	if (!facs || !dsdt || !fadt || !madt || (ecam && !mcfg) || !xsdt || !rsdt) {
		return acpi_err(err, errlen, -ENOSPC, "ACPI tables do not fit below 0x%llx",
				ACPI_RSDP_ADDR);
	}

	memset(a.host, 0, ACPI_AREA_END - ACPI_AREA_START);
	build_facs(at(&a, facs));
	build_dsdt(at(&a, dsdt), dsdt_len, &body);
	build_fadt(at(&a, fadt), facs, dsdt);
	build_madt(at(&a, madt), nr_cpus);
	if (ecam)
		build_mcfg(at(&a, mcfg), ecam);

	t = at(&a, xsdt);
	sdt_header(t, "XSDT", SDT_HDR_LEN + 8 * nr_tables, 1);
	for (unsigned i = 0; i < nr_tables; i++)
		put64(t + SDT_HDR_LEN + 8 * i, tables[i]);
	fix_checksum(t, SDT_HDR_LEN + 8 * nr_tables, SDT_CHECKSUM);

	t = at(&a, rsdt);
	sdt_header(t, "RSDT", SDT_HDR_LEN + 4 * nr_tables, 1);
	for (unsigned i = 0; i < nr_tables; i++)
		put32(t + SDT_HDR_LEN + 4 * i, (uint32_t)tables[i]);
	fix_checksum(t, SDT_HDR_LEN + 4 * nr_tables, SDT_CHECKSUM);

	build_rsdp(at(&a, ACPI_RSDP_ADDR), rsdt, xsdt);
	return 0;
}
