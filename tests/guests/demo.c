// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * demo: the guest tandem boots when given no kernel. A short banner, a
 * few checks that exercise CPU, firmware interface and timer interrupts,
 * then an ACPI power-off. Kept tiny: a few thousand instructions.
 */
#include "guest.h"

const char guest_name[] = "demo";

#define DEMO_TICKS	5

static volatile unsigned ticks;

static void irq0(struct trap_frame *f)
{
	ticks++;
	pic_eoi(0);
}

/* Bitwise CRC-32 (IEEE 802.3, reflected, poly 0xedb88320). */
static uint32_t crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static void banner(void)
{
	const struct mb_info *mbi = guest_mbi();
	uint64_t mib;
	unsigned cpus = 1;

	if (fw_cfg_present()) {
		mib = fw_cfg_ram_size() >> 20;
		cpus = fw_cfg_nb_cpus();
	} else {
		mib = ((uint64_t)mbi->mem_upper + 1024) >> 10;
	}
	guest_printf("tandem demo guest: 64-bit long mode, %lu MiB RAM, %u CPU(s)\n", mib, cpus);
}

void guest_main(void)
{
	char vendor[13] = { 0 };
	unsigned halts = 0;
	uint32_t r[4];

	banner();

	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	check(!memcmp(vendor, "GenuineIntel", 12) || !memcmp(vendor, "AuthenticAMD", 12),
	      "CPUID vendor string is GenuineIntel or AuthenticAMD");
	check(fw_cfg_present(), "fw_cfg signature is \"QEMU\"");
	check(crc32("123456789", 9) == 0xcbf43926u, "CRC-32 of \"123456789\" is 0xcbf43926");

	trap_set_handler(0x20, irq0);
	pic_init(0x20);
	pit_start(1193);			/* ~1 kHz */
	pic_set_mask(0xfffe);
	while (ticks < DEMO_TICKS && halts++ < 10 * DEMO_TICKS)
		sti_hlt_cli();
	pic_set_mask(0xffff);
	check(ticks >= DEMO_TICKS, "PIT timer: %u ticks on IRQ0", DEMO_TICKS);

	guest_printf("demo: %u checks, %u failed\n", guest_checks, guest_failures);
	guest_printf("tandem demo guest: powering off\n");
	guest_poweroff(guest_failures);
}
