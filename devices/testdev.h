/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_TESTDEV_H
#define TANDEM_DEVICES_TESTDEV_H
/*
 * QEMU's test devices, with QEMU's names, ports and behaviour, for test
 * kernels (kvm-unit-tests and the like) that use them:
 *
 *  - isa-debugcon (Bochs' port 0xe9 hack): a byte written to the port goes
 *    to a character back end; a read returns the readback value (0xe9), so
 *    a guest can tell the port is there. One port; only byte accesses reach
 *    it (a wider access is partly unclaimed, see machine/bus.h).
 *    Options: iobase= (default 0xe9), chardev=ID (required, as in QEMU:
 *    a -chardev file/stdio/null), readback= (default 0xe9).
 *
 *  - pc-testdev (no options):
 *      0xe0-0xe3  a 32-bit scratch register, any access size at any offset
 *                 inside it reads or writes those bytes of it;
 *      0xe4-0xe7  "flush page": a dword write of a guest-physical address
 *                 drops whatever the engines cached about that page (the
 *                 sw translator's code); reads as all-ones;
 *      0xe8-0xeb  the same scratch register again (QEMU's byte-wise view;
 *                 the result of any access is the same);
 *      0x2000-0x2017  a byte write of v to 0x2000 + n sets interrupt line
 *                 n (ISA IRQ n / I/O APIC pin n) to !!v; reads all-ones;
 *      0xff000000-0xff00ffff  64 KiB of MMIO scratch memory (kvm-unit-tests'
 *                 "ioram", for the emulator tests), any access size.
 *    Left out: QEMU's flush port mprotect()s the host page so that KVM's
 *    shadow/EPT entries for it go too; tandem only drops its own caches
 *    (no host page is ever unmapped under a running vCPU).
 *
 * The two overlap (0xe8-0xeb and a debugcon at 0xe9): tandem's bus ranges
 * cannot, so that combination is refused with a message.
 */
#include <stddef.h>

struct vm;

#define TESTDEV_DEBUGCON_PORT		0xe9
#define TESTDEV_DEBUGCON_READBACK	0xe9
#define TESTDEV_PORT			0xe0	/* scratch 0xe0, flush 0xe4, byte view 0xe8 */
#define TESTDEV_IRQ_PORT		0x2000
#define TESTDEV_IRQ_LINES		24
#define TESTDEV_IOMEM_BASE		0xff000000ull
#define TESTDEV_IOMEM_SIZE		0x10000u

/* Resolves a chardev=ID to its back-end spelling ("stdio", "file:PATH", "none"). */
typedef const char *(*testdev_chardev_fn)(const char *id);

/* Is @name ("isa-debugcon", "pc-testdev") one of the devices made here? */
int testdev_handles(const char *name);

/*
 * Create device @name on @vm from QEMU's -device options @opts (what
 * follows "NAME,"; NULL or "" for none). The device joins the VM's list
 * (machine/device.h): reset, save/load and destroy go through it. 0, or
 * -errno with one line in @why (unknown option, bad value, port taken,
 * unknown chardev id, output file not writable).
 */
int testdev_create_from_opts(struct vm *vm, const char *name, const char *opts,
			     testdev_chardev_fn chardev, char *why, size_t len);

#endif
