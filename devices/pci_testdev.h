/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_PCI_TESTDEV_H
#define TANDEM_DEVICES_PCI_TESTDEV_H
/*
 * QEMU's pci-testdev (1b36:0005, class 0x00ff00), for guests that test
 * low-level I/O: BAR0 is 4 KiB of memory, BAR1 256 ports, each starting
 * with the header of the selected test (little endian):
 *
 *   +0  test     write: select test N (N past the last: ignored)
 *   +1  width    access width the test wants (1)
 *   +4  offset   where in this BAR to write (u32)
 *   +8  data     the value a data-matching test wants (u8, 3 bytes pad)
 *   +12 count    writes at offset so far (u32)
 *   +16 name     0-terminated: "mmio-no-eventfd", "portio-wildcard-eventfd", ...
 *
 * Tests 0-2 on each BAR: no-eventfd, wildcard-eventfd, datamatch-eventfd.
 * tandem has no ioeventfd, so all three count in the device: any value
 * for the first two, only the data value for the third. Offsets point
 * into the BAR's second half, past the header area. No INTx, no BAR2.
 */
struct vm;
struct pci_bus;
struct pci_testdev;

#define PCI_TESTDEV_VENDOR	0x1b36
#define PCI_TESTDEV_DEVICE	0x0005
#define PCI_TESTDEV_MEM_SIZE	4096u
#define PCI_TESTDEV_IO_SIZE	256u

/* On @bus at @slot (-1: first free). NULL with errno on failure. */
struct pci_testdev *pci_testdev_create(struct vm *vm, struct pci_bus *bus, int slot);
/* Writes counted by test @test of BAR @bar (0 memory, 1 I/O); for tests. */
unsigned pci_testdev_count(const struct pci_testdev *t, unsigned bar, unsigned test);

#endif
