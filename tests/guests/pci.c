// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pci: bus 0 the way firmware and an OS see it. Scans every slot through
 * configuration mechanism #1 (0xcf8/0xcfc) and through ECAM and compares
 * the two; checks that a dword at 0xcf8 is CONFIG_ADDRESS (it must not
 * reach the reset control register at 0xcf9); then finds pci-testdev
 * (-device pci-testdev, see the args line in pci.expected), sizes its two
 * BARs, moves them and runs its tests through the new addresses.
 *
 * The ECAM base comes from the ACPI MCFG table when the loader wrote one,
 * else it is tandem's documented 0xe0000000. Output has no addresses
 * (the board places BARs itself), only what any correct placement gives.
 * QEMU's pc machine is an i440FX without ECAM, so it is skipped there.
 */
#include "guest.h"

const char guest_name[] = "pci";

#define CONFIG_ADDRESS	0xcf8
#define CONFIG_DATA	0xcfc
#define ECAM_DEFAULT	0xe0000000ull
#define TESTDEV_ID	0x00051b36u	/* device 0005, vendor 1b36 */

static uint64_t ecam_base = ECAM_DEFAULT;

static uint32_t cf8_read32(unsigned slot, unsigned off)
{
	outl(CONFIG_ADDRESS, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(CONFIG_DATA);
}

static uint16_t cf8_read16(unsigned slot, unsigned off)
{
	outl(CONFIG_ADDRESS, 0x80000000u | slot << 11 | (off & 0xfc));
	return inw(CONFIG_DATA + (off & 2));
}

static uint8_t cf8_read8(unsigned slot, unsigned off)
{
	outl(CONFIG_ADDRESS, 0x80000000u | slot << 11 | (off & 0xfc));
	return inb(CONFIG_DATA + (off & 3));
}

static void cf8_write32(unsigned slot, unsigned off, uint32_t v)
{
	outl(CONFIG_ADDRESS, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(CONFIG_DATA, v);
}

static void cf8_write16(unsigned slot, unsigned off, uint16_t v)
{
	outl(CONFIG_ADDRESS, 0x80000000u | slot << 11 | (off & 0xfc));
	outw(CONFIG_DATA + (off & 2), v);
}

static volatile uint32_t *ecam32(unsigned bus, unsigned slot, unsigned fn, unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(ecam_base + ((uint64_t)bus << 20 | slot << 15 |
							     fn << 12 | off));
}

static volatile uint8_t *ecam8(unsigned bus, unsigned slot, unsigned off)
{
	return (volatile uint8_t *)ecam32(bus, slot, 0, off);
}

/* The RSDP in 0xe0000-0xfffff, then the XSDT's MCFG: its first allocation's base. */
static void find_ecam(void)
{
	for (uintptr_t p = 0xe0000; p < 0x100000; p += 16) {
		const uint8_t *r = (const uint8_t *)p;
		const uint8_t *x;
		uint32_t len;

		if (memcmp(r, "RSD PTR ", 8) || r[15] < 2)
			continue;
		x = (const uint8_t *)(uintptr_t)*(const uint64_t *)(r + 24);
		len = *(const uint32_t *)(x + 4);
		for (uint32_t o = 36; o + 8 <= len && len < 4096; o += 8) {
			const uint8_t *t = (const uint8_t *)(uintptr_t)*(const uint64_t *)(x + o);

			if (!memcmp(t, "MCFG", 4))
				ecam_base = *(const uint64_t *)(t + 44);
		}
		return;
	}
}

static unsigned testdev_slot = 32;

static void scan(void)
{
	unsigned found = 0, agree = 0, other_bus = 0, other_fn = 0;

	for (unsigned s = 0; s < 32; s++) {
		uint32_t id = cf8_read32(s, 0), eid = *ecam32(0, s, 0, 0);

		agree += id == eid;
		if (id == 0xffffffffu)
			continue;
		found++;
		guest_printf("00:%02x.0 %04x:%04x class %06x header %02x\n", s, id & 0xffff,
			     id >> 16, cf8_read32(s, 8) >> 8, cf8_read8(s, 0x0e));
		if (id == TESTDEV_ID && testdev_slot == 32)
			testdev_slot = s;
		/* Narrow reads at every offset of the first dword agree with the dword. */
		check(cf8_read16(s, 2) == id >> 16 && cf8_read8(s, 1) == ((id >> 8) & 0xff) &&
		      *ecam8(0, s, 3) == id >> 24, "00:%02x.0: byte and word reads match", s);
		other_fn += *ecam32(0, s, 1, 0) == 0xffffffffu;
	}
	for (unsigned b = 1; b < 256; b += 17)
		other_bus += *ecam32(b, 0, 0, 0) == 0xffffffffu;
	check(found >= 2, "bus 0 has the host bridge and pci-testdev");
	check(agree == 32, "mechanism #1 and ECAM read the same id in all 32 slots");
	check(other_fn == found, "function 1 of every device reads all-ones");
	check(other_bus == 15, "buses 1-255 read all-ones through ECAM");
	check((cf8_read32(0, 8) >> 16) == 0x0600, "00:00.0 is a host bridge");
}

static void config_address(void)
{
	/* Byte 1 has bit 2 set: split into bytes, this would reset the machine at 0xcf9. */
	outl(CONFIG_ADDRESS, 0x8000fe07u);
	check(inl(CONFIG_ADDRESS) == 0x8000fe04u,
	      "CONFIG_ADDRESS keeps a dword (bits 1:0 read 0), 0xcf9 untouched");
	outl(CONFIG_ADDRESS, 0);
	check(inl(CONFIG_DATA) == 0xffffffffu, "CONFIG_DATA with the enable bit clear: all-ones");
}

static uint32_t bar_size(unsigned slot, unsigned bar, uint32_t *raw)
{
	unsigned off = 0x10 + 4 * bar;
	uint32_t old = cf8_read32(slot, off), mask;

	cf8_write32(slot, off, 0xffffffffu);
	*raw = cf8_read32(slot, off);
	cf8_write32(slot, off, old);
	mask = *raw & ((*raw & 1) ? ~3u : ~15u);
	if ((*raw & 1))
		mask |= 0xffff0000u;	/* I/O BARs may leave the upper half 0 */
	return ~mask + 1;
}

static void testdev(void)
{
	unsigned s = testdev_slot;
	uint32_t raw0, raw1, size0, size1, bar0, bar1, new0, new1, off, count;
	volatile uint8_t *mem;
	uint16_t cmd;
	char name[32];

	if (!check(s < 32, "pci-testdev found (1b36:0005)"))
		return;
	cmd = cf8_read16(s, 4);
	check((cmd & 3) == 3, "pci-testdev: I/O and memory decode on at boot");
	bar0 = cf8_read32(s, 0x10);
	bar1 = cf8_read32(s, 0x14);
	check(!(bar0 & 1) && (bar0 & 6) == 0, "BAR0 is 32-bit memory");
	check(bar1 & 1, "BAR1 is I/O");
	check(*(volatile uint8_t *)(uintptr_t)((bar0 & ~15u) + 1) == 1,
	      "BAR0 answers where the board put it");

	/* Sizing with decode off, as an OS does. */
	cf8_write16(s, 4, cmd & ~3);
	size0 = bar_size(s, 0, &raw0);
	size1 = bar_size(s, 1, &raw1);
	guest_printf("BAR0: memory, %u bytes (type bits %x); BAR1: I/O, %u ports\n", size0,
		     raw0 & 15, size1);
	check(size0 == 4096 && size1 == 256, "sizes 4 KiB and 256 ports");
	check(cf8_read32(s, 0x10) == bar0 && cf8_read32(s, 0x14) == bar1,
	      "sizing restores both BARs");
	check(bar_size(s, 2, &raw0) == 0 && raw0 == 0, "BAR2 not implemented (reads 0)");

	/* Move: 64 KiB higher in memory, to the end of the I/O window. */
	new0 = (bar0 & ~15u) + 0x10000;
	new1 = 0xff00;
	cf8_write32(s, 0x10, new0);
	cf8_write32(s, 0x14, new1);
	cf8_write16(s, 4, cmd | 3);
	check(*(volatile uint8_t *)(uintptr_t)((bar0 & ~15u) + 1) == 0xff,
	      "the old memory address reads all-ones");
	check(inb((uint16_t)((bar1 & ~3u) + 1)) == 0xff, "the old I/O address reads all-ones");
	mem = (volatile uint8_t *)(uintptr_t)new0;

	for (unsigned i = 0; i < sizeof(name) - 1; i++)
		name[i] = (char)mem[16 + i];
	name[sizeof(name) - 1] = 0;
	guest_printf("BAR0 test 0: width %u, offset %u, name %s\n", mem[1],
		     *(volatile uint32_t *)(mem + 4), name);
	off = *(volatile uint32_t *)(mem + 4);
	check(mem[1] == 1 && off == 2048, "memory test 0 at offset 2048, byte wide");
	mem[off] = 0x11;
	mem[off] = 0x22;
	count = *(volatile uint32_t *)(mem + 12);
	check(count == 2, "memory test 0 counted 2 writes (got %u)", count);

	/* I/O: test 2 (datamatch) counts only the data value. */
	outb((uint16_t)new1, 2);
	for (unsigned i = 0; i < sizeof(name) - 1; i++)
		name[i] = (char)inb((uint16_t)(new1 + 16 + i));
	guest_printf("BAR1 test 2: width %u, offset %u, data %u, name %s\n", inb((uint16_t)(new1 + 1)),
		     inl((uint16_t)(new1 + 4)), inb((uint16_t)(new1 + 8)), name);
	off = inl((uint16_t)(new1 + 4));
	outb((uint16_t)(new1 + off), 0x7);
	outb((uint16_t)(new1 + off), inb((uint16_t)(new1 + 8)));
	check(inl((uint16_t)(new1 + 12)) == 1, "I/O datamatch test counted only the match");
	outb((uint16_t)new1, 9);	/* no such test: still test 2 */
	check(inb((uint16_t)(new1 + 1)) == 1 && inl((uint16_t)(new1 + 4)) == off,
	      "selecting a test past the last is ignored");

	/* ECAM sees the same registers, and its writes move BARs too. */
	check(*ecam32(0, s, 0, 0x10) == new0 && *ecam32(0, s, 0, 0x14) == (new1 | 1),
	      "ECAM reads the moved BARs");
	*ecam32(0, s, 0, 0x10) = bar0;
	check(*(volatile uint8_t *)(uintptr_t)((bar0 & ~15u) + 1) == 1 && mem[1] == 0xff,
	      "a BAR write through ECAM moves it back");
	/* Memory decode off: the BAR goes dark, I/O stays. */
	*(volatile uint16_t *)ecam32(0, s, 0, 4) = 1;	/* I/O decode only */
	check(*(volatile uint8_t *)(uintptr_t)((bar0 & ~15u) + 1) == 0xff &&
	      inb((uint16_t)(new1 + 1)) == 1, "COMMAND memory off unmaps only BAR0");
	cf8_write32(s, 0x14, bar1);
	cf8_write16(s, 4, cmd);
}

void guest_main(void)
{
	find_ecam();
	scan();
	config_address();
	testdev();
}
