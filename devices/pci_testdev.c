// SPDX-License-Identifier: GPL-2.0-or-later
/* QEMU's pci-testdev, without ioeventfd (layout in pci_testdev.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "machine/vm.h"

#define NR_TESTS	3
#define HDR_TEST	0
#define HDR_WIDTH	1
#define HDR_OFFSET	4
#define HDR_DATA	8
#define HDR_COUNT	12
#define HDR_NAME	16
#define HDR_LEN		64	/* header with the longest name, rounded up */
#define TEST_WIDTH	1
#define TEST_DATA	0x5

struct testdev_bar {
	struct pci_testdev *t;
	unsigned size;		/* the BAR's */
	unsigned current;	/* selected test */
	uint8_t hdr[NR_TESTS][HDR_LEN];
};

struct pci_testdev {
	struct pci_device pci;	/* first: struct device inside */
	struct testdev_bar bar[2];	/* 0: memory, 1: I/O */
};

static const char *const test_names[NR_TESTS] = { "no-eventfd", "wildcard-eventfd",
						  "datamatch-eventfd" };

static uint32_t hdr32(const uint8_t *h, unsigned off)
{
	uint32_t v;

	memcpy(&v, h + off, 4);
	return v;
}

static uint64_t testdev_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev_bar *b = opaque;
	const uint8_t *h = b->hdr[b->current];
	uint64_t v = 0;

	/* The selected test's header; the rest of the BAR reads as 0. */
	for (unsigned i = 0; i < size; i++)
		if (off + i < HDR_LEN)
			v |= (uint64_t)h[off + i] << (8 * i);
	return v;
}

static void testdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct testdev_bar *b = opaque;
	uint8_t *h = b->hdr[b->current];
	uint32_t count;

	if (off == HDR_TEST) {
		if ((val & 0xff) < NR_TESTS)
			b->current = (unsigned)(val & 0xff);
		return;
	}
	if (off != hdr32(h, HDR_OFFSET) || size != h[HDR_WIDTH])
		return;
	/* datamatch counts only its value; the other two count any write. */
	if (b->current == 2 && (val & 0xff) != h[HDR_DATA])
		return;
	count = hdr32(h, HDR_COUNT) + 1;
	memcpy(h + HDR_COUNT, &count, 4);
}

static const struct io_ops testdev_ops = {
	.read = testdev_read,
	.write = testdev_write,
};

static void testdev_bar_init(struct testdev_bar *b, struct pci_testdev *t, unsigned size,
			     const char *type)
{
	b->t = t;
	b->size = size;
	b->current = 0;
	memset(b->hdr, 0, sizeof(b->hdr));
	for (unsigned i = 0; i < NR_TESTS; i++) {
		uint8_t *h = b->hdr[i];
		uint32_t off = size / 2 + i * TEST_WIDTH;

		h[HDR_WIDTH] = TEST_WIDTH;
		memcpy(h + HDR_OFFSET, &off, 4);
		h[HDR_DATA] = TEST_DATA;
		snprintf((char *)h + HDR_NAME, HDR_LEN - HDR_NAME, "%s-%s", type, test_names[i]);
	}
}

static void testdev_reset(struct device *dev)
{
	struct pci_testdev *t = container_of(dev, struct pci_testdev, pci.dev);

	testdev_bar_init(&t->bar[0], t, PCI_TESTDEV_MEM_SIZE, "mmio");
	testdev_bar_init(&t->bar[1], t, PCI_TESTDEV_IO_SIZE, "portio");
}

static void testdev_destroy(struct device *dev)
{
	free(container_of(dev, struct pci_testdev, pci.dev));
}

static const struct device_ops testdev_dev_ops = {
	.type = "pci-testdev",
	.reset = testdev_reset,
	.destroy = testdev_destroy,
};

struct pci_testdev *pci_testdev_create(struct vm *vm, struct pci_bus *bus, int slot)
{
	struct pci_testdev *t = calloc(1, sizeof(*t));
	char name[32];
	int ret;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	pci_device_init(&t->pci, PCI_TESTDEV_VENDOR, PCI_TESTDEV_DEVICE, 0x00ff00, 0, 0, 0, 0);
	testdev_reset(&t->pci.dev);
	pci_set_bar(&t->pci, 0, PCI_BAR_MEM32, false, PCI_TESTDEV_MEM_SIZE, &testdev_ops,
		    &t->bar[0]);
	pci_set_bar(&t->pci, 1, PCI_BAR_IO, false, PCI_TESTDEV_IO_SIZE, &testdev_ops,
		    &t->bar[1]);
	snprintf(name, sizeof(name), "pci-testdev%d", slot);
	ret = pci_device_add(bus, &t->pci, slot, &testdev_dev_ops, slot < 0 ? "pci-testdev" : name);
	if (ret) {
		free(t);
		errno = -ret;
		return NULL;
	}
	return t;
}

unsigned pci_testdev_count(const struct pci_testdev *t, unsigned bar, unsigned test)
{
	if (bar > 1 || test >= NR_TESTS)
		return 0;
	return hdr32(t->bar[bar].hdr[test], HDR_COUNT);
}
