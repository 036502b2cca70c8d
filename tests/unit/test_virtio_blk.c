// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk over the PCI transport, driven as Linux's virtio_pci and
 * virtio_blk drivers drive it but from here: find the capabilities, negotiate,
 * set up a queue in guest RAM, and run real requests (write, read, flush,
 * get-id, unsupported, out of range) through the device's I/O thread
 * against an image file; INTx with the ISR byte; a request with no room
 * for its status breaks the device (NEEDS_RESET, config interrupt) and a
 * reset brings it back; then random register accesses and ring contents,
 * after which the device still works; and a readonly=on drive.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "devices/pci.h"
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define RAM_SIZE	(16u << 20)
#define IMG_SIZE	(1u << 20)
#define QSIZE		16
#define DESC_GPA	0x10000ull
#define AVAIL_GPA	0x11000ull
#define USED_GPA	0x12000ull
#define HDR_GPA		0x20000ull
#define DATA_GPA	0x30000ull
#define STATUS_GPA	0x40000ull

static struct vm vm;
static char img[64], img_ro[64];
static uint64_t bar;		/* BAR 4's address */
static struct pci_device *pd;
static uint16_t avail_idx, used_seen;
static unsigned msis;

static void msi_spy(void *opaque, uint64_t addr, uint32_t data)
{
	msis++;
}

static uint8_t *ram(uint64_t gpa)
{
	return gpa_to_hva(&vm, gpa, 1);
}

static uint64_t rd(unsigned off, unsigned size)
{
	return mmio_read(&vm, bar + off, size);
}

static void wr(unsigned off, uint64_t v, unsigned size)
{
	mmio_write(&vm, bar + off, v, size);
}

static void cfg_write16(unsigned slot, unsigned reg, uint16_t v)
{
	pio_write(&vm, 0xcf8, 0x80000000u | (slot << 11) | (reg & 0xfc), 4);
	pio_write(&vm, 0xcfc + (reg & 3), v, 2);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = ram(DESC_GPA + 16 * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static uint16_t used_idx(void)
{
	return le16toh(__atomic_load_n((uint16_t *)ram(USED_GPA + 2), __ATOMIC_ACQUIRE));
}

/* Publish head 0 and kick queue 0. */
static void kick(void)
{
	uint16_t v;

	v = htole16(0);
	memcpy(ram(AVAIL_GPA + 4 + 2 * (avail_idx % QSIZE)), &v, 2);
	avail_idx++;
	__atomic_store_n((uint16_t *)ram(AVAIL_GPA + 2), htole16(avail_idx), __ATOMIC_RELEASE);
	wr(VIRTIO_PCI_NOTIFY, 0, 2);
}

/* kick(), then wait for the device to use it: 0, or -ETIMEDOUT. */
static int submit(void)
{
	kick();
	for (int i = 0; i < 5000; i++) {
		if (used_idx() != used_seen) {
			used_seen = used_idx();
			return 0;
		}
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* A request: header, optional data of @len (device-writable for reads), status. */
static int request(uint32_t type, uint64_t sector, uint32_t len, bool data_in, uint8_t *status)
{
	uint8_t hdr[16] = { 0 };
	uint32_t t = htole32(type);
	uint64_t s = htole64(sector);

	memcpy(hdr, &t, 4);
	memcpy(hdr + 8, &s, 8);
	memcpy(ram(HDR_GPA), hdr, 16);
	*ram(STATUS_GPA) = 0xee;
	put_desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
	put_desc(1, DATA_GPA, len, VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0), 2);
	put_desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	if (submit())
		return -ETIMEDOUT;
	*status = *ram(STATUS_GPA);
	return 0;
}

static uint32_t used_len(void)
{
	uint32_t l;

	memcpy(&l, ram(USED_GPA + 4 + 8 * ((used_seen - 1) % QSIZE) + 4), 4);
	return le32toh(l);
}

/* The driver's init sequence (virtio 1.x 3.1.1), features @want. */
static void driver_init(uint64_t want)
{
	wr(0x14, 0, 1);				/* reset */
	CU_ASSERT_EQUAL(rd(0x14, 1), 0);
	/* Empty rings before the device may look at them (DRIVER_OK). */
	memset(ram(AVAIL_GPA), 0, 0x2000);
	avail_idx = used_seen = 0;
	wr(0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(0x08, 0, 4);
	wr(0x0c, (uint32_t)want, 4);
	wr(0x08, 1, 4);
	wr(0x0c, (uint32_t)(want >> 32), 4);
	wr(0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	CU_ASSERT(rd(0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	wr(0x16, 0, 2);				/* queue_select 0 */
	CU_ASSERT_EQUAL(rd(0x18, 2), 256);
	wr(0x18, QSIZE, 2);
	wr(0x20, (uint32_t)DESC_GPA, 4);
	wr(0x24, 0, 4);
	wr(0x28, (uint32_t)AVAIL_GPA, 4);
	wr(0x2c, 0, 4);
	wr(0x30, USED_GPA, 8);			/* whole, as some drivers do */
	CU_ASSERT_EQUAL(rd(0x30, 4), USED_GPA);
	CU_ASSERT_EQUAL(rd(0x1e, 2), 0);	/* notify_off */
	wr(0x1c, 1, 2);
	CU_ASSERT_EQUAL(rd(0x1c, 2), 1);
	wr(0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		 VIRTIO_STATUS_DRIVER_OK, 1);
}

static int suite_init(void)
{
	char dev[128], err[256], spec[256];
	uint8_t buf[4096];
	int fd;

	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	pthread_mutex_init(&vm.halt_lock, NULL);
	pthread_cond_init(&vm.halt_cond, NULL);
	if (vm_mem_init(&vm, RAM_SIZE) || !pci_bus_create(&vm, 0))
		return 1;
	vm_set_msi_handler(&vm, msi_spy, NULL);
	snprintf(img, sizeof(img), "test_virtio_blk.XXXXXX");
	snprintf(img_ro, sizeof(img_ro), "test_virtio_blk_ro.XXXXXX");
	fd = mkstemp(img);
	if (fd < 0)
		return 1;
	for (unsigned i = 0; i < IMG_SIZE / sizeof(buf); i++) {
		memset(buf, (int)i, sizeof(buf));
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return 1;
	}
	close(fd);
	fd = mkstemp(img_ro);
	if (fd < 0 || ftruncate(fd, IMG_SIZE))
		return 1;
	close(fd);
	snprintf(spec, sizeof(spec), "file=%s,if=virtio", img);
	if (virtio_blk_drive_opt(spec, dev, sizeof(dev), err, sizeof(err)) ||
	    strcmp(dev, "virtio-blk-pci,drive=virtio0")) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	snprintf(spec, sizeof(spec), "file=%s,if=none,id=ro,readonly=on", img_ro);
	if (virtio_blk_drive_opt(spec, dev, sizeof(dev), err, sizeof(err)) || dev[0])
		return 1;
	if (virtio_blk_pci_create(&vm, "drive=virtio0,serial=SER-1", err, sizeof(err)) ||
	    virtio_blk_pci_create(&vm, "drive=ro", err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	device_destroy_all(&vm);
	virtio_blk_opts_free();
	unlink(img);
	unlink(img_ro);
	vm_mem_exit(&vm);
	return 0;
}

/* Slot @n's virtio-blk (the host bridge is slot 0). */
static void pick(unsigned slot)
{
	pd = pci_bus_device(vm_pci_bus(&vm), slot);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pd);
	cfg_write16(slot, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	bar = pd->bar[VIRTIO_PCI_BAR].addr;
	CU_ASSERT(pd->bar[VIRTIO_PCI_BAR].mapped);
}

static void test_identity(void)
{
	unsigned seen = 0, at;

	pick(1);
	CU_ASSERT_EQUAL(pd->config[0] | pd->config[1] << 8, 0x1af4);
	CU_ASSERT_EQUAL(pd->config[2] | pd->config[3] << 8, 0x1042);
	CU_ASSERT_EQUAL(pd->config[PCI_REVISION_ID], 1);
	CU_ASSERT_EQUAL(pd->config[PCI_SUBSYSTEM_VENDOR_ID], 0xf4);
	CU_ASSERT_EQUAL(pd->config[0x0b], 0x01);	/* mass storage */
	/* The vendor capabilities: common, notify, ISR, device, each in BAR 4. */
	for (at = pd->config[PCI_CAPABILITY_LIST]; at; at = pd->config[at + 1]) {
		if (pd->config[at] == PCI_CAP_ID_MSIX) {
			seen |= 1u << 8;
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(pd->config[at], PCI_CAP_ID_VNDR);
		CU_ASSERT_EQUAL(pd->config[at + 4], VIRTIO_PCI_BAR);
		seen |= 1u << pd->config[at + 3];
		if (pd->config[at + 3] == 2)
			CU_ASSERT_EQUAL(pd->config[at + 16], VIRTIO_PCI_NOTIFY_MULT);
	}
	CU_ASSERT_EQUAL(seen, (1u << 8) | 0x1e);
}

static void test_requests(void)
{
	uint64_t f;
	uint8_t st, back[1024];
	int fd;

	pick(1);
	wr(0x00, 0, 4);
	f = rd(0x04, 4);
	wr(0x00, 1, 4);
	f |= rd(0x04, 4) << 32;
	CU_ASSERT(!!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	CU_ASSERT(!!(f & VIRTIO_BIT(9)));		/* FLUSH */
	CU_ASSERT(!(f & VIRTIO_BIT(5)));	/* not RO */
	CU_ASSERT_EQUAL(rd(0x12, 2), 1);	/* one queue */
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(9));
	/* Config: capacity, seg_max, blk_size. */
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_DEVCFG + 0, 8), IMG_SIZE / 512);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_DEVCFG + 12, 4), 254);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_DEVCFG + 20, 4), 512);

	/* Write 1 KiB at sector 3, read it back, find it in the file. */
	for (unsigned i = 0; i < 1024; i++)
		ram(DATA_GPA)[i] = (uint8_t)(i * 3 + 1);
	CU_ASSERT_EQUAL_FATAL(request(1, 3, 1024, false, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(used_len(), 1);
	memset(ram(DATA_GPA), 0, 1024);
	CU_ASSERT_EQUAL_FATAL(request(0, 3, 1024, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(used_len(), 1025);
	for (unsigned i = 0; i < 1024; i++)
		CU_ASSERT_FATAL(ram(DATA_GPA)[i] == (uint8_t)(i * 3 + 1));
	CU_ASSERT_EQUAL_FATAL(request(4, 0, 0, false, &st), 0);	/* flush */
	CU_ASSERT_EQUAL(st, 0);
	fd = open(img, O_RDONLY);
	CU_ASSERT(pread(fd, back, 1024, 3 * 512) == 1024);
	close(fd);
	CU_ASSERT_EQUAL(memcmp(back, ram(DATA_GPA), 1024), 0);
	/* Sector 0 untouched: the pattern of the first 4 KiB. */
	CU_ASSERT_EQUAL_FATAL(request(0, 0, 512, true, &st), 0);
	CU_ASSERT_EQUAL(ram(DATA_GPA)[0], 0);
	CU_ASSERT_EQUAL_FATAL(request(0, 8, 512, true, &st), 0);
	CU_ASSERT_EQUAL(ram(DATA_GPA)[0], 1);

	/* get-id, an unknown type, out of range, not a whole sector. */
	CU_ASSERT_EQUAL_FATAL(request(8, 0, 20, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(memcmp(ram(DATA_GPA), "SER-1\0", 6), 0);
	CU_ASSERT_EQUAL_FATAL(request(99, 0, 0, false, &st), 0);
	CU_ASSERT_EQUAL(st, 2);		/* UNSUPP */
	CU_ASSERT_EQUAL_FATAL(request(0, IMG_SIZE / 512 - 1, 1024, true, &st), 0);
	CU_ASSERT_EQUAL(st, 1);		/* IOERR: past the end */
	CU_ASSERT_EQUAL_FATAL(request(0, ~0ull, 512, true, &st), 0);
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_EQUAL_FATAL(request(1, 0, 100, false, &st), 0);
	CU_ASSERT_EQUAL(st, 1);

	/* No MSI-X enabled: INTx, and the ISR byte says "queue". Reading clears it. */
	CU_ASSERT_EQUAL(msis, 0);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_ISR, 1), 1);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_ISR, 1), 0);
	CU_ASSERT(!(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET));
}

static void test_broken_request(void)
{
	uint8_t st;

	pick(1);
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* A read with nowhere to put its status: the device breaks, and says so. */
	put_desc(0, HDR_GPA, 16, 0, 0);
	memset(ram(HDR_GPA), 0, 16);
	kick();			/* never used: watch the status instead */
	for (int i = 0; i < 5000 && !(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	CU_ASSERT(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_ISR, 1), 2);	/* config change */
	/* Reset and go again: it works. */
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CU_ASSERT(!(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET));
	CU_ASSERT_EQUAL_FATAL(request(0, 8, 512, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(ram(DATA_GPA)[0], 1);
	/* A bad ring too: a descriptor loop. */
	put_desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	kick();
	for (int i = 0; i < 5000 && !(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	CU_ASSERT(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	(void)rd(VIRTIO_PCI_ISR, 1);
}

static void test_msix(void)
{
	unsigned before;
	uint8_t st;
	unsigned at;

	pick(1);
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* Vectors: config 0, queue 0 -> 1; out of range reads back NO_VECTOR. */
	wr(0x10, 0, 2);
	CU_ASSERT_EQUAL(rd(0x10, 2), 0);
	wr(0x1a, 1, 2);
	CU_ASSERT_EQUAL(rd(0x1a, 2), 1);
	wr(0x1a, 7, 2);
	CU_ASSERT_EQUAL(rd(0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	wr(0x1a, 1, 2);
	/* Enable MSI-X (message control bit 15), unmask the table entries. */
	for (at = pd->config[PCI_CAPABILITY_LIST]; at && pd->config[at] != PCI_CAP_ID_MSIX;
	     at = pd->config[at + 1])
		;
	CU_ASSERT_FATAL(at != 0);
	cfg_write16(1, at + 2, 0x8000);
	CU_ASSERT(pci_msix_enabled(pd));
	{
		uint64_t tbar = pd->bar[VIRTIO_PCI_MSIX_BAR].addr;

		for (unsigned v = 0; v < 2; v++) {
			mmio_write(&vm, tbar + 16 * v, 0xfee00000u, 4);
			mmio_write(&vm, tbar + 16 * v + 8, 0x40 + v, 4);
			mmio_write(&vm, tbar + 16 * v + 12, 0, 4);	/* unmasked */
		}
	}
	before = msis;
	CU_ASSERT_EQUAL_FATAL(request(0, 8, 512, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(msis, before + 1);
	CU_ASSERT_EQUAL(rd(VIRTIO_PCI_ISR, 1), 0);	/* MSI-X: no ISR bits */
	cfg_write16(1, at + 2, 0);
}

/* Random register accesses and rings; then a reset, and the device works. */
static void test_fuzz(void)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint8_t st;

	pick(1);
	srand(99);
	for (unsigned i = 0; i < 20000; i++) {
		unsigned off = (unsigned)rand() % 0x4100, size = sizes[rand() % 4];
		uint64_t v = ((uint64_t)rand() << 32) | (unsigned)rand();

		switch (rand() % 8) {
		case 0:
			/* Plausible ring addresses, sometimes. */
			v = (uint64_t)(rand() % (RAM_SIZE / 4096 + 4)) * 4096;
			off = 0x20 + 8 * (unsigned)(rand() % 3);
			break;
		case 1:
			v = 1;
			off = 0x1c;
			size = 2;
			break;
		case 2:
			off = VIRTIO_PCI_NOTIFY + 4 * (unsigned)(rand() % 3);
			break;
		case 3:
			/* Scribble on the rings' RAM. */
			for (unsigned k = 0; k < 64; k++)
				ram((uint64_t)rand() % 0x20000)[0] = (uint8_t)rand();
			continue;
		case 4:
			v = rand() % 16;
			off = 0x14;
			size = 1;
			break;
		default:
			break;
		}
		if (rand() % 2)
			wr(off, v, size);
		else
			(void)rd(off, size);
	}
	usleep(100000);
	memset(ram(0), 0, 0x50000);
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CU_ASSERT_EQUAL_FATAL(request(0, 8, 512, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(ram(DATA_GPA)[0], 1);
	printf("(%llu bad accesses, %llu bad rings counted) ",
	       (unsigned long long)((struct virtio_pci *)pd)->vdev->bad_accesses,
	       (unsigned long long)((struct virtio_pci *)pd)->vdev->bad_rings);
}

static void test_readonly(void)
{
	uint64_t f;
	uint8_t st;

	pick(2);
	wr(0x00, 0, 4);
	f = rd(0x04, 4);
	CU_ASSERT(!!(f & VIRTIO_BIT(5)));		/* RO */
	driver_init(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	CU_ASSERT_EQUAL_FATAL(request(1, 0, 512, false, &st), 0);
	CU_ASSERT_EQUAL(st, 1);			/* IOERR */
	CU_ASSERT_EQUAL_FATAL(request(0, 0, 512, true, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio-blk-pci", suite_init, suite_clean);
	CU_add_test(s, "identity and capabilities", test_identity);
	CU_add_test(s, "requests", test_requests);
	CU_add_test(s, "broken request and ring", test_broken_request);
	CU_add_test(s, "MSI-X", test_msix);
	CU_add_test(s, "random accesses", test_fuzz);
	CU_add_test(s, "readonly", test_readonly);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
