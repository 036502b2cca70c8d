// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the virtio core (devices/virtio.c): the test plays the
 * driver, writing descriptor tables and rings into guest RAM by hand, well
 * formed and malformed: loops, buffers past RAM or wrapping, indices out of
 * range, indirect tables inside indirect tables, misaligned or empty
 * tables, zero-length buffers, queue sizes past the limit; and random ring
 * contents, where every buffer handed out must lie inside RAM.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "devices/virtio.h"
#include "machine/device.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define RAM_SIZE	(1u << 20)
#define DESC_GPA	0x1000ull	/* up to 1024 entries: 16 KiB */
#define AVAIL_GPA	0x8000ull
#define USED_GPA	0x9000ull
#define TABLE_GPA	0x10000ull	/* indirect tables */
#define BUF_GPA		0x40000ull

static struct vm vm;
static struct virtio_dev vdev;
static uint8_t config[8];
static unsigned queue_irqs, config_irqs, notifies, resets;
static uint16_t qsize, avail_idx;

static void t_interrupt(struct virtio_dev *d, struct virtq *vq)
{
	if (vq)
		queue_irqs++;
	else
		config_irqs++;
}

static void t_notify(struct virtio_dev *d, struct virtq *vq)
{
	notifies++;
}

static void t_reset(struct virtio_dev *d)
{
	resets++;
}

static const struct virtio_transport_ops t_tops = { .interrupt = t_interrupt };
static const struct virtio_dev_ops t_ops = { .queue_notify = t_notify, .reset = t_reset };

static uint8_t *ram(uint64_t gpa)
{
	return gpa_to_hva(&vm, gpa, 1);
}

static void w16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(ram(gpa), &v, 2);
}

static uint16_t r16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram(gpa), 2);
	return le16toh(v);
}

static uint32_t r32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram(gpa), 4);
	return le32toh(v);
}

static void put_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	uint8_t *p = ram(table + 16ull * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc_at(DESC_GPA, i, addr, len, flags, next);
}

/* Publish @head in the avail ring, as a driver does. */
static void avail_add(uint16_t head)
{
	w16(AVAIL_GPA + 4 + 2u * (avail_idx % qsize), head);
	avail_idx++;
	w16(AVAIL_GPA + 2, avail_idx);
}

/* A device with one queue of @size, negotiated with @features, DRIVER_OK. */
static void setup_features(uint16_t size, uint64_t features)
{
	struct virtq *vq = &vdev.vq[0];

	memset(ram(0), 0, RAM_SIZE);
	queue_irqs = config_irqs = notifies = 0;
	qsize = size;
	avail_idx = 0;
	virtio_set_status(&vdev, 0);
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_guest_features(&vdev, 0, (uint32_t)features);
	virtio_set_guest_features(&vdev, 1, (uint32_t)(features >> 32));
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	CU_ASSERT(vdev.status & VIRTIO_STATUS_FEATURES_OK);
	virtq_set_size(vq, size);
	CU_ASSERT_EQUAL(vq->size, size);
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	virtq_enable(vq);
	CU_ASSERT(vq->enabled);
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CU_ASSERT(virtq_ready(vq));
}

static void setup(uint16_t size)
{
	setup_features(size, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
}

static int suite_init(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	if (vm_mem_init(&vm, RAM_SIZE))
		return 1;
	if (virtio_dev_init(&vdev, &vm, "virtio-test", VIRTIO_ID_BLOCK, &t_ops, 0, config,
			    sizeof(config), 2, VIRTQ_MAX_SIZE))
		return 1;
	vdev.tops = &t_tops;
	return 0;
}

static int suite_clean(void)
{
	virtio_dev_free(&vdev);
	vm_mem_exit(&vm);
	return 0;
}

static struct virtq_elem elem;

/* The ring is bad: device broken, NEEDS_RESET, one config interrupt, counted. */
static void expect_broken(uint64_t bad_before)
{
	CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), -EIO);
	CU_ASSERT(vdev.broken);
	CU_ASSERT(vdev.status & VIRTIO_STATUS_NEEDS_RESET);
	CU_ASSERT_EQUAL(config_irqs, 1);
	CU_ASSERT_EQUAL(vdev.bad_rings, bad_before + 1);
	/* Stays broken: no more requests, no more messages. */
	CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), -EIO);
	CU_ASSERT_EQUAL(vdev.bad_rings, bad_before + 1);
}

static void test_simple_chain(void)
{
	struct virtq *vq = &vdev.vq[0];

	setup(256);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(5, BUF_GPA + 0x1000, 512, VIRTQ_DESC_F_NEXT, 7);
	put_desc(7, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 0);	/* empty */
	avail_add(0);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.head, 0);
	CU_ASSERT_EQUAL(elem.out_num, 2);
	CU_ASSERT_EQUAL(elem.in_num, 1);
	CU_ASSERT_EQUAL(elem.out_len, 528);
	CU_ASSERT_EQUAL(elem.in_len, 1);
	CU_ASSERT_PTR_EQUAL(elem.iov[1].iov_base, ram(BUF_GPA + 0x1000));
	CU_ASSERT_EQUAL(elem.iov[2].iov_len, 1);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 0);
	*(uint8_t *)elem.iov[2].iov_base = 0x5a;
	virtq_push(vq, &elem, 100);	/* clamped to the writable part */
	CU_ASSERT_EQUAL(r16(USED_GPA + 2), 1);
	CU_ASSERT_EQUAL(r32(USED_GPA + 4), 0);
	CU_ASSERT_EQUAL(r32(USED_GPA + 8), 1);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 1);
	CU_ASSERT_EQUAL(config_irqs, 0);
	CU_ASSERT(!vdev.broken);

	/* The driver asks for no interrupts (no event index): none. */
	w16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	avail_add(5);	/* a chain can start anywhere */
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.out_num, 1);
	virtq_push(vq, &elem, 0);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 1);
	CU_ASSERT_EQUAL(r16(USED_GPA + 2), 2);

	/* Kicks reach the device only while the queue runs. */
	virtio_queue_notify(&vdev, 0);
	virtio_queue_notify(&vdev, 1);	/* not enabled */
	virtio_queue_notify(&vdev, 99);	/* no such queue */
	CU_ASSERT_EQUAL(notifies, 1);
}

static void test_loop(void)
{
	uint64_t bad = vdev.bad_rings;

	setup(8);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	avail_add(0);
	expect_broken(bad);

	/* A self-loop, after the driver resets: the device works again first. */
	setup(8);
	CU_ASSERT(!vdev.broken);
	CU_ASSERT(!(vdev.status & VIRTIO_STATUS_NEEDS_RESET));
	put_desc(3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	avail_add(3);
	expect_broken(bad + 1);
}

static void test_past_ram(void)
{
	uint64_t bad = vdev.bad_rings;

	setup(16);
	put_desc(0, RAM_SIZE - 8, 16, 0, 0);	/* straddles the end */
	avail_add(0);
	expect_broken(bad++);

	setup(16);
	put_desc(0, ~0ull - 4, 16, 0, 0);	/* wraps around */
	avail_add(0);
	expect_broken(bad++);

	setup(16);
	put_desc(0, BUF_GPA, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);	/* 4 GiB in 1 MiB */
	avail_add(0);
	expect_broken(bad++);

	setup(16);
	put_desc(0, RAM_SIZE, 1, 0, 0);	/* just past it */
	avail_add(0);
	expect_broken(bad++);

	/* The last byte of RAM is fine. */
	setup(16);
	put_desc(0, RAM_SIZE - 1, 1, 0, 0);
	avail_add(0);
	CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), 1);
	CU_ASSERT(!vdev.broken);
}

static void test_indices(void)
{
	uint64_t bad = vdev.bad_rings;

	/* The avail ring names a descriptor past the table. */
	setup(16);
	avail_add(16);
	expect_broken(bad++);

	setup(16);
	avail_add(0xffff);
	expect_broken(bad++);

	/* A chain's next past the table. */
	setup(16);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 16);
	avail_add(0);
	expect_broken(bad++);

	/* The avail index runs more than a ring ahead. */
	setup(16);
	put_desc(0, BUF_GPA, 16, 0, 0);
	w16(AVAIL_GPA + 2, 17);
	expect_broken(bad++);

	/* Exactly one ring ahead is a full ring: fine. */
	setup(16);
	put_desc(0, BUF_GPA, 16, 0, 0);
	for (unsigned i = 0; i < 16; i++)
		avail_add(0);
	for (unsigned i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), 1);
	CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), 0);
	CU_ASSERT(!vdev.broken);

	/* Readable after writable is not a request. */
	setup(16);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF_GPA, 16, 0, 0);
	avail_add(0);
	expect_broken(bad++);
}

static void test_indirect(void)
{
	struct virtq *vq = &vdev.vq[0];
	uint64_t bad = vdev.bad_rings;

	setup(16);
	put_desc_at(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc_at(TABLE_GPA, 2, BUF_GPA + 0x100, 4096, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(TABLE_GPA, 1, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	put_desc(4, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(4);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.head, 4);
	CU_ASSERT_EQUAL(elem.out_num, 2);
	CU_ASSERT_EQUAL(elem.in_num, 1);
	CU_ASSERT_EQUAL(elem.out_len, 16 + 4096);
	virtq_push(vq, &elem, 1);
	CU_ASSERT_EQUAL(r32(USED_GPA + 4), 4);

	/* Indirect inside indirect. */
	setup(16);
	put_desc_at(TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* A loop inside the table. */
	setup(16);
	put_desc_at(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	put_desc(0, TABLE_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* next past the end of the table (inside the queue's size). */
	setup(16);
	put_desc_at(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(0, TABLE_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Not a whole number of descriptors. */
	setup(16);
	put_desc(0, TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Empty table. */
	setup(16);
	put_desc(0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Misaligned table. */
	setup(16);
	put_desc(0, TABLE_GPA + 4, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Table past RAM. */
	setup(16);
	put_desc(0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Bigger than any request may be. */
	setup(16);
	put_desc(0, TABLE_GPA, 16 * (VIRTQ_MAX_IOV + 1), VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);

	/* Chained to other descriptors. */
	setup(16);
	put_desc_at(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	put_desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	avail_add(0);
	expect_broken(bad++);

	/* Not negotiated. */
	setup_features(16, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	put_desc_at(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	put_desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(bad++);
}

static void test_zero_length(void)
{
	setup(16);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, ~0ull, 0, VIRTQ_DESC_F_NEXT, 2);	/* no bytes: no address to check */
	put_desc(2, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	CU_ASSERT_EQUAL(virtq_pop(&vdev.vq[0], &elem), 1);
	CU_ASSERT_EQUAL(elem.out_num, 1);
	CU_ASSERT_EQUAL(elem.in_num, 1);
	CU_ASSERT(!vdev.broken);
}

static void test_sizes(void)
{
	struct virtio_dev d;
	struct virtq *vq = &vdev.vq[0];
	uint64_t bad = vdev.bad_rings;

	CU_ASSERT_EQUAL(virtio_dev_init(&d, &vm, "x", 1, &t_ops, 0, NULL, 0, 1, 2048), -EINVAL);
	CU_ASSERT_EQUAL(virtio_dev_init(&d, &vm, "x", 1, &t_ops, 0, NULL, 0, 1, 100), -EINVAL);
	CU_ASSERT_EQUAL(virtio_dev_init(&d, &vm, "x", 1, &t_ops, 0, NULL, 0, 0, 256), -EINVAL);

	/* Sizes the device cannot take are refused; the last good one stays. */
	virtio_set_status(&vdev, 0);
	virtq_set_size(vq, 2048);
	virtq_set_size(vq, 0);
	virtq_set_size(vq, 100);
	CU_ASSERT_EQUAL(vq->size, VIRTQ_MAX_SIZE);

	/* The longest chain a full-size queue can hold: every descriptor once. */
	setup(VIRTQ_MAX_SIZE);
	for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
		put_desc(i, BUF_GPA + i, 1, i + 1 < VIRTQ_MAX_SIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.out_num, VIRTQ_MAX_SIZE);
	/* One more link (back to the start) is a loop. */
	put_desc(VIRTQ_MAX_SIZE - 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	avail_add(0);
	expect_broken(bad);

	/* Rings outside RAM or misaligned break the device when enabled. */
	setup(16);
	virtio_set_status(&vdev, 0);
	config_irqs = 0;
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vq->desc_gpa = RAM_SIZE - 16;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	virtq_enable(vq);
	CU_ASSERT(!vq->enabled);
	CU_ASSERT(vdev.broken);
	CU_ASSERT_EQUAL(vdev.bad_rings, bad + 2);
	virtio_set_status(&vdev, 0);
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA + 2;
	virtq_enable(vq);
	CU_ASSERT(!vq->enabled);
	CU_ASSERT_EQUAL(vdev.bad_rings, bad + 3);
}

static void test_features(void)
{
	uint8_t base = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	CU_ASSERT(virtio_host_features(&vdev, 1) & 1);	/* VERSION_1 */
	CU_ASSERT(virtio_host_features(&vdev, 0) & (1u << VIRTIO_F_EVENT_IDX));
	/* Without VERSION_1: FEATURES_OK does not stick. */
	virtio_set_status(&vdev, 0);
	virtio_set_status(&vdev, base);
	virtio_set_guest_features(&vdev, 0, 0);
	virtio_set_status(&vdev, base | VIRTIO_STATUS_FEATURES_OK);
	CU_ASSERT(!(vdev.status & VIRTIO_STATUS_FEATURES_OK));
	/* A bit the device did not offer. */
	virtio_set_status(&vdev, 0);
	virtio_set_status(&vdev, base);
	virtio_set_guest_features(&vdev, 0, 1u << 3);
	virtio_set_guest_features(&vdev, 1, 1);
	virtio_set_status(&vdev, base | VIRTIO_STATUS_FEATURES_OK);
	CU_ASSERT(!(vdev.status & VIRTIO_STATUS_FEATURES_OK));
	/* Accepted, then frozen. */
	virtio_set_status(&vdev, 0);
	virtio_set_status(&vdev, base);
	virtio_set_guest_features(&vdev, 1, 1);
	virtio_set_status(&vdev, base | VIRTIO_STATUS_FEATURES_OK);
	CU_ASSERT(vdev.status & VIRTIO_STATUS_FEATURES_OK);
	virtio_set_guest_features(&vdev, 0, 1u << VIRTIO_F_EVENT_IDX);
	CU_ASSERT(!virtio_has_feature(&vdev, VIRTIO_F_EVENT_IDX));
	CU_ASSERT(virtio_has_feature(&vdev, VIRTIO_F_VERSION_1));
	/* Reset clears everything and tells the device. */
	resets = 0;
	virtio_set_status(&vdev, 0);
	CU_ASSERT_EQUAL(resets, 1);
	CU_ASSERT_EQUAL(vdev.guest_features, 0);
	/* Config reads: in range little-endian, out of range 0. */
	memcpy(config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	CU_ASSERT_EQUAL(virtio_config_read(&vdev, 0, 4), 0x04030201);
	CU_ASSERT_EQUAL(virtio_config_read(&vdev, 6, 2), 0x0807);
	CU_ASSERT_EQUAL(virtio_config_read(&vdev, 7, 2), 0);
	CU_ASSERT_EQUAL(virtio_config_read(&vdev, 0xfffffff0u, 4), 0);
}

static void test_event_idx(void)
{
	struct virtq *vq = &vdev.vq[0];

	setup_features(16, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 3; i++)
		avail_add(0);
	w16(AVAIL_GPA + 4 + 2 * 16, 0);	/* used_event: interrupt after the first */
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(r16(USED_GPA + 4 + 8 * 16), 1);	/* avail_event: kick me at 1 */
	virtq_push(vq, &elem, 16);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 1);
	w16(AVAIL_GPA + 4 + 2 * 16, 2);	/* used_event 2: after the third */
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	virtq_push(vq, &elem, 16);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 1);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	virtq_push(vq, &elem, 16);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 2);
	/* Empty: the device asks for a kick at the next index. */
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 0);
	CU_ASSERT_EQUAL(r16(USED_GPA + 4 + 8 * 16), 3);
	/* Nothing pushed since: no interrupt. */
	virtq_notify(vq);
	CU_ASSERT_EQUAL(queue_irqs, 2);
}

static void test_stale_after_reset(void)
{
	struct virtq *vq = &vdev.vq[0];

	setup(16);
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	/* The driver resets while the request is in flight, and sets up again. */
	setup(16);
	virtq_push(vq, &elem, 16);
	CU_ASSERT_EQUAL(r16(USED_GPA + 2), 0);
	CU_ASSERT_EQUAL(vq->used_idx, 0);
}

/* virtio_dev_save() layout: the header, then 37 bytes per queue. */
#define SAVE_HDR	24
#define SAVE_Q		37
#define SQ_DESC		0
#define SQ_SIZE		24

/* Load @data (@len bytes): 0, or -EINVAL with a line that contains @want. */
static int load_buf(const uint8_t *data, size_t len, const char *want)
{
	struct dev_reader r = dev_reader(data, len);
	char why[256] = "";
	int ret = virtio_dev_load(&vdev, &r, why, sizeof(why));

	if (want) {
		CU_ASSERT_EQUAL(ret, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "virtio-test"));
	}
	return ret;
}

/*
 * Snapshots: save, reset, load gives back the queues (indices, event
 * index, addresses, host views), an element given back by virtq_unpop()
 * pops again; files with impossible values are refused with one line.
 */
static void test_snapshot(void)
{
	struct virtq *vq = &vdev.vq[0];
	struct dev_buf b = { 0 };
	uint8_t *bad;
	uint64_t epoch;

	setup_features(64, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	put_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	put_desc(1, BUF_GPA + 0x100, 16, VIRTQ_DESC_F_WRITE, 0);
	put_desc(2, BUF_GPA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	avail_add(1);
	avail_add(2);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	virtq_push(vq, &elem, 16);
	virtq_notify(vq);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.head, 1);
	/* Held, not pushed: given back before the save, as a device with a stash does. */
	virtq_unpop(vq, 1);
	CU_ASSERT_EQUAL(vq->last_avail, 1);
	CU_ASSERT_EQUAL(virtio_dev_save(&vdev, &b), 0);
	CU_ASSERT_EQUAL(b.len, SAVE_HDR + 2 * SAVE_Q);

	epoch = vdev.epoch;
	virtio_set_status(&vdev, 0);
	CU_ASSERT(!vq->enabled);
	CU_ASSERT_EQUAL(load_buf(b.data, b.len, NULL), 0);
	CU_ASSERT(vdev.epoch > epoch + 1);
	CU_ASSERT(virtq_ready(vq));
	CU_ASSERT_EQUAL(vq->size, 64);
	CU_ASSERT_EQUAL(vq->last_avail, 1);
	CU_ASSERT_EQUAL(vq->used_idx, 1);
	CU_ASSERT(vq->signalled_valid);
	CU_ASSERT(virtio_has_feature(&vdev, VIRTIO_F_EVENT_IDX));
	CU_ASSERT_PTR_EQUAL(vq->used, ram(USED_GPA));
	CU_ASSERT(!vdev.vq[1].enabled);
	/* The element given back comes again, then the next; then the ring is empty. */
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.head, 1);
	virtq_push(vq, &elem, 16);
	CU_ASSERT_EQUAL(r16(USED_GPA + 2), 2);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.head, 2);
	CU_ASSERT_EQUAL(virtq_pop(vq, &elem), 0);

	/* Refusals; the device is left as it was. */
	bad = malloc(b.len);
	CU_ASSERT_EQUAL(load_buf(b.data, 10, "truncated"), -EINVAL);
	CU_ASSERT_EQUAL(load_buf(b.data, SAVE_HDR + SAVE_Q - 1, "truncated"), -EINVAL);
	memcpy(bad, b.data, b.len);
	bad[0] = 9;
	load_buf(bad, b.len, "version");
	memcpy(bad, b.data, b.len);
	bad[SAVE_HDR - 4] = 3;			/* number of queues */
	load_buf(bad, b.len, "3 queues there, 2 here");
	memcpy(bad, b.data, b.len);
	bad[12] |= 0x80;			/* a driver feature bit (39) never offered */
	load_buf(bad, b.len, "never offered");
	memcpy(bad, b.data, b.len);
	bad[1] ^= 1;				/* offered features */
	load_buf(bad, b.len, "offered features");
	memcpy(bad, b.data, b.len);
	bad[SAVE_HDR + SQ_SIZE] = 48;		/* size 48 */
	load_buf(bad, b.len, "power of two");
	memcpy(bad, b.data, b.len);
	bad[SAVE_HDR + SQ_DESC + 3] = 0x7f;	/* descriptor table far past RAM */
	load_buf(bad, b.len, "outside RAM");
	memcpy(bad, b.data, b.len);
	bad[SAVE_HDR + SQ_DESC] |= 8;		/* misaligned */
	load_buf(bad, b.len, "misaligned");
	memcpy(bad, b.data, b.len);
	bad[SAVE_HDR + 28] = 200;		/* last_avail 200 ahead of used_idx 1 */
	load_buf(bad, b.len, "in flight");
	CU_ASSERT(virtq_ready(vq));
	CU_ASSERT_EQUAL(vq->last_avail, 3);
	free(bad);
	dev_buf_free(&b);
}

/* Random tables and rings: whatever comes out lies inside RAM, nothing hangs. */
static void test_random_rings(void)
{
	struct virtq *vq = &vdev.vq[0];
	uint8_t *lo = ram(0), *hi = lo + RAM_SIZE;
	unsigned good = 0, bad = 0;

	srand(12345);
	for (unsigned iter = 0; iter < 3000; iter++) {
		uint16_t size = (uint16_t)(1u << (rand() % 11));
		unsigned n = size < 64 ? size : 64;

		setup_features(size, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
				     VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
		for (unsigned i = 0; i < size; i++) {
			/* Mostly plausible: addresses near RAM, small lengths, few flags. */
			uint64_t addr = rand() % 8 ? (uint64_t)rand() % (RAM_SIZE + 0x1000)
						   : ((uint64_t)rand() << 33) | (unsigned)rand();
			uint32_t len = rand() % 4 ? (uint32_t)rand() % 0x3000 : (uint32_t)rand();
			uint16_t flags = (uint16_t)(rand() % 8);
			uint16_t next = (uint16_t)(rand() % 3 ? rand() % (size + 2) : rand());

			if (rand() % 3 == 0)
				addr = TABLE_GPA + 16 * (uint64_t)(rand() % 64);
			put_desc(i, addr, len, flags, next);
		}
		for (unsigned i = 0; i < 64 * 4; i++)
			put_desc_at(TABLE_GPA, i, (uint64_t)rand() % RAM_SIZE,
				    (uint32_t)rand() % 0x2000, (uint16_t)(rand() % 8),
				    (uint16_t)(rand() % 70));
		for (unsigned i = 0; i < n; i++)
			avail_add((uint16_t)(rand() % 8 ? rand() % size : rand()));
		for (unsigned i = 0; i <= n; i++) {
			int r = virtq_pop(vq, &elem);

			if (r <= 0) {
				bad += r < 0;
				break;
			}
			good++;
			for (unsigned k = 0; k < elem.out_num + elem.in_num; k++) {
				uint8_t *b = elem.iov[k].iov_base;

				CU_ASSERT_FATAL(b >= lo && b + elem.iov[k].iov_len <= hi);
			}
			virtq_push(vq, &elem, (uint32_t)rand());
			virtq_notify(vq);
		}
	}
	/* Both kinds happened, so the test exercised something. */
	CU_ASSERT(good > 100);
	CU_ASSERT(bad > 100);
	printf("(%u requests, %u broken rings) ", good, bad);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio", suite_init, suite_clean);
	CU_add_test(s, "simple chain", test_simple_chain);
	CU_add_test(s, "descriptor loops", test_loop);
	CU_add_test(s, "buffers past RAM", test_past_ram);
	CU_add_test(s, "indices out of range", test_indices);
	CU_add_test(s, "indirect tables", test_indirect);
	CU_add_test(s, "zero-length buffers", test_zero_length);
	CU_add_test(s, "queue sizes", test_sizes);
	CU_add_test(s, "features and config", test_features);
	CU_add_test(s, "event index", test_event_idx);
	CU_add_test(s, "stale element after reset", test_stale_after_reset);
	CU_add_test(s, "random rings", test_random_rings);
	CU_add_test(s, "snapshots", test_snapshot);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	{
		unsigned failed = CU_get_number_of_failures();

		CU_cleanup_registry();
		return failed ? 1 : 0;
	}
}
