// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cpuid: the CPU model as the guest sees it. Checks what x86-64 requires
 * and prints the model's feature words masked to the bits tandem's model
 * defines (machine/cpuid.h) that QEMU's default qemu64 model also has, so
 * the lines are identical on KVM, the software CPU and QEMU TCG. Bits a
 * model may legitimately differ in (host-dependent extras, pdpe1gb, vendor
 * specifics like MCE/MTRR) are left out of the masks.
 */
#include "guest.h"

const char guest_name[] = "cpuid";

/* Leaf 1 EDX: fpu de pse tsc msr pae cx8 apic sep pge cmov pat clflush mmx
 * fxsr sse sse2. */
#define MASK_1_EDX	0x0789ab7du
/* Leaf 1 ECX: cx16 hypervisor (not sse3: some KVM hosts lack it). */
#define MASK_1_ECX	0x80002000u
/* Leaf 0x80000001 EDX: syscall nx lm. */
#define MASK_81_EDX	0x20100800u
/* Leaf 0x80000001 ECX: lahf_lm. */
#define MASK_81_ECX	0x00000001u

static const struct {
	unsigned bit;
	const char *name;
} required_1_edx[] = {
	{ 0, "fpu" }, { 2, "de" }, { 3, "pse" }, { 4, "tsc" }, { 5, "msr" }, { 6, "pae" }, { 8, "cx8" },
	{ 9, "apic" }, { 11, "sep" }, { 15, "cmov" }, { 16, "pat" }, { 24, "fxsr" },
	{ 25, "sse" }, { 26, "sse2" },
};

static bool known_vendor(const char *v)
{
	return memcmp(v, "GenuineIntel", 12) == 0 || memcmp(v, "AuthenticAMD", 12) == 0;
}

void guest_main(void)
{
	uint32_t r[4], edx1, ecx1, max_ext, phys, lin;
	char vendor[13] = { 0 };
	unsigned i;

	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);	/* EBX, EDX, ECX */
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	check(r[0] >= 1, "leaf 0: max basic leaf >= 1");
	check(known_vendor(vendor), "leaf 0: vendor is GenuineIntel or AuthenticAMD");

	cpuid(1, 0, r);
	edx1 = r[3];
	ecx1 = r[2];
	for (i = 0; i < sizeof(required_1_edx) / sizeof(required_1_edx[0]); i++)
		check(edx1 & (1u << required_1_edx[i].bit), "leaf 1 edx: %s",
		      required_1_edx[i].name);
	check((r[1] >> 24) == 0, "leaf 1 ebx: initial APIC ID of the boot CPU is 0");
	check(((r[1] >> 8) & 0xff) == 8, "leaf 1 ebx: CLFLUSH line size is 64 bytes");
	guest_printf("leaf 1 edx & 0x%08x = 0x%08x\n", MASK_1_EDX, edx1 & MASK_1_EDX);
	guest_printf("leaf 1 ecx & 0x%08x = 0x%08x\n", MASK_1_ECX, ecx1 & MASK_1_ECX);

	cpuid(0x80000000, 0, r);
	max_ext = r[0];
	if (!check(max_ext >= 0x80000008 && max_ext < 0x80000100,
		   "leaf 0x80000000: max extended leaf in 0x80000008..0x800000ff"))
		return;

	cpuid(0x80000001, 0, r);
	check(r[3] & (1u << 29), "leaf 0x80000001 edx: lm");
	check(r[3] & (1u << 20), "leaf 0x80000001 edx: nx");
	check(r[3] & (1u << 11), "leaf 0x80000001 edx: syscall");
	check(r[2] & (1u << 0), "leaf 0x80000001 ecx: lahf_lm");
	guest_printf("leaf 0x80000001 edx & 0x%08x = 0x%08x\n", MASK_81_EDX, r[3] & MASK_81_EDX);
	guest_printf("leaf 0x80000001 ecx & 0x%08x = 0x%08x\n", MASK_81_ECX, r[2] & MASK_81_ECX);

	cpuid(0x80000008, 0, r);
	phys = r[0] & 0xff;
	lin = (r[0] >> 8) & 0xff;
	check(phys >= 36 && phys <= 52, "leaf 0x80000008: physical address bits in 36..52");
	check(lin == 48 || lin == 57, "leaf 0x80000008: linear address bits are 48 or 57");
}
