// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * acpi: the platform a multiboot test kernel finds without a BIOS call.
 * A dword OUT to 0xcf8 (a PCI probe) must not reset the machine. Then the
 * ACPI tables, found as an OS finds them on a PC: the RSDP by its
 * signature on a 16-byte boundary in 0xe0000-0xfffff, every checksum,
 * the RSDT (and XSDT with a revision 2 RSDP), the FADT with its FACS and
 * DSDT, the PM timer port from the FADT seen counting, and the MADT's
 * enabled CPUs and I/O APICs.
 *
 * Only what every PC board with one CPU agrees on is printed: no
 * addresses, OEM ids or revisions (SeaBIOS on QEMU gives a revision 0
 * RSDP, tandem a revision 2 one).
 */
#include "guest.h"

const char guest_name[] = "acpi";

struct sdt {
	char sig[4];
	uint32_t len;
	uint8_t rev, csum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static uint8_t sum(const volatile uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static bool sig_is(const volatile void *p, const char *sig, unsigned n)
{
	const volatile char *c = p;

	for (unsigned i = 0; i < n; i++)
		if (c[i] != sig[i])
			return false;
	return true;
}

static uint32_t rd32(const volatile uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A table at @addr (below 4 GiB: all of it identity-mapped) whose bytes sum to 0. */
static const struct sdt *table_at(uint64_t addr, const char *sig)
{
	const struct sdt *t = (const void *)(uintptr_t)addr;

	if (!addr || addr >= (1ull << 32) || !sig_is(t->sig, sig, 4))
		return NULL;
	if (t->len < sizeof(*t) || t->len > 0x10000 || sum((const void *)t, t->len))
		return NULL;
	return t;
}

static void test_pci_probe_no_reset(void)
{
	/* Byte 1 of this value is 0x06: the reset control register's reset value. */
	outl(0xcf8, 0x80000600);
	outl(0xcf8, 0);
	check(true, "outl 0xcf8 (PCI probe): the machine did not reset");
}

static const volatile uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const volatile uint8_t *p = (const void *)(uintptr_t)a;

		if (sig_is(p, "RSD PTR ", 8) && !sum(p, 20))
			return p;
	}
	return NULL;
}

static void test_pm_timer(const volatile uint8_t *fadt)
{
	uint32_t port = rd32(fadt + 76), now, changes = 0;

	check(port == 0x608, "FADT: PM timer block at port 0x%x", port);
	if (!port || port > 0xfffc)
		return;
	now = inl((uint16_t)port) & 0xffffff;
	/* 3.58 MHz: a few thousand port reads take well over one tick. */
	for (unsigned i = 0; i < 100000 && changes < 3; i++) {
		uint32_t v = inl((uint16_t)port) & 0xffffff;

		if (v != now)
			changes++;
		now = v;
	}
	check(changes >= 3, "PM timer counts");
}

static void test_madt(const struct sdt *madt)
{
	const volatile uint8_t *p = (const void *)madt;
	uint32_t off = sizeof(*madt) + 8, cpus = 0, ioapics = 0;
	bool sane = true;

	check(rd32(p + sizeof(*madt)) == 0xfee00000, "MADT: local APIC at 0xfee00000");
	while (off + 2 <= madt->len) {
		uint8_t type = p[off], len = p[off + 1];

		if (len < 2 || off + len > madt->len) {
			sane = false;
			break;
		}
		if (type == 0 && len >= 8 && (rd32(p + off + 4) & 1))
			cpus++;
		if (type == 1 && len >= 12)
			ioapics++;
		off += len;
	}
	check(sane, "MADT: entries well formed");
	guest_printf("MADT: %u CPU(s), %u I/O APIC(s)\n", cpus, ioapics);
	check(cpus == fw_cfg_nb_cpus(), "MADT: as many CPUs as fw_cfg says");
}

void guest_main(void)
{
	const volatile uint8_t *rsdp, *fadt;
	const struct sdt *rsdt, *madt = NULL, *facp = NULL;
	uint64_t xsdt = 0;
	uint32_t n;

	test_pci_probe_no_reset();

	rsdp = find_rsdp();
	if (!check(rsdp != NULL, "RSDP found in 0xe0000-0xfffff, checksum ok"))
		return;
	if (rsdp[15] >= 2)
		xsdt = rd32(rsdp + 24) | (uint64_t)rd32(rsdp + 28) << 32;
	check(rsdp[15] < 2 || (rd32(rsdp + 20) >= 36 && !sum(rsdp, rd32(rsdp + 20)) &&
			       table_at(xsdt, "XSDT")),
	      "RSDP: extended checksum and XSDT ok (revision 2 RSDPs)");
	rsdt = table_at(rd32(rsdp + 16), "RSDT");
	if (!check(rsdt != NULL, "RSDT: signature and checksum"))
		return;
	n = (rsdt->len - sizeof(*rsdt)) / 4;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = rd32((const volatile uint8_t *)rsdt + sizeof(*rsdt) + 4 * i);

		if (!facp)
			facp = table_at(a, "FACP");
		if (!madt)
			madt = table_at(a, "APIC");
	}
	if (!check(facp != NULL, "RSDT lists a FADT with a good checksum"))
		return;
	fadt = (const void *)facp;
	check(table_at(rd32(fadt + 40), "DSDT") != NULL, "FADT: DSDT signature and checksum");
	check(sig_is((const void *)(uintptr_t)rd32(fadt + 36), "FACS", 4) &&
	      rd32((const volatile uint8_t *)(uintptr_t)rd32(fadt + 36) + 4) >= 64,
	      "FADT: FACS signature and length");
	test_pm_timer(fadt);
	if (check(madt != NULL, "RSDT lists a MADT with a good checksum"))
		test_madt(madt);
}
