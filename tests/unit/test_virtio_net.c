// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of virtio-net (devices/virtio_net.c) without a transport or
 * a back end: the test plays the driver, posting receive buffers and
 * transmit chains in guest RAM by hand, and checks the used rings, the
 * virtio_net_hdr, the frame bytes and the counters: a frame with no
 * buffer posted is refused and counted, one spanning buffers with
 * MRG_RXBUF says so in num_buffers, a half-found set of buffers is kept
 * for the next frame, a too-small buffer without MRG_RXBUF is not wasted.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "devices/virtio.h"
#include "devices/virtio_net.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define RAM_SIZE	(1u << 20)
#define QSIZE		16
/* Queue i's rings at RING_GPA(i) + DESC/AVAIL/USED. */
#define RING_GPA(i)	(0x1000ull + 0x2000ull * (i))
#define DESC		0x0
#define AVAIL		0x800
#define USED		0x1000
#define BUF_GPA		0x40000ull

static struct vm vm;
static struct virtio_net *net;
static struct virtio_dev *vdev;
static unsigned irqs[2];
static uint16_t avail_idx[2], used_seen[2];

static void t_interrupt(struct virtio_dev *d, struct virtq *vq)
{
	if (vq && vq->index < 2)
		irqs[vq->index]++;
}

static const struct virtio_transport_ops t_tops = { .interrupt = t_interrupt };

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

static void put_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *p = ram(RING_GPA(q) + DESC + 16ull * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static void avail_add(unsigned q, uint16_t head)
{
	w16(RING_GPA(q) + AVAIL + 4 + 2u * (avail_idx[q] % QSIZE), head);
	avail_idx[q]++;
	w16(RING_GPA(q) + AVAIL + 2, avail_idx[q]);
}

/* Post receive buffer @i: one device-writable descriptor of @len bytes. */
static void post_rx(unsigned i, uint32_t len)
{
	put_desc(0, i, BUF_GPA + 0x1000ull * i, len, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0, (uint16_t)i);
}

/* The next used entry of queue @q: its id and length; false if none. */
static bool used_next(unsigned q, uint32_t *id, uint32_t *len)
{
	uint64_t u = RING_GPA(q) + USED;

	if (r16(u + 2) == used_seen[q])
		return false;
	*id = r32(u + 4 + 8u * (used_seen[q] % QSIZE));
	*len = r32(u + 8 + 8u * (used_seen[q] % QSIZE));
	used_seen[q]++;
	return true;
}

/* A fresh device, driven to DRIVER_OK with @features, both queues enabled. */
static void setup(uint64_t features)
{
	char err[256];
	struct virtio_net_opts o;

	virtio_net_free(net);
	CU_ASSERT_EQUAL_FATAL(virtio_net_parse("", &o, err, sizeof(err)), 0);
	net = virtio_net_new(&vm, "virtio-net-test", &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(net);
	vdev = virtio_net_vdev(net);
	vdev->tops = &t_tops;
	memset(ram(0), 0, RAM_SIZE);
	memset(irqs, 0, sizeof(irqs));
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_guest_features(vdev, 0, (uint32_t)features);
	virtio_set_guest_features(vdev, 1, (uint32_t)(features >> 32));
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	CU_ASSERT_FATAL(vdev->status & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &vdev->vq[q];

		virtq_set_size(vq, QSIZE);
		vq->desc_gpa = RING_GPA(q) + DESC;
		vq->avail_gpa = RING_GPA(q) + AVAIL;
		vq->used_gpa = RING_GPA(q) + USED;
		virtq_enable(vq);
		CU_ASSERT_FATAL(vq->enabled);
	}
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CU_ASSERT_FATAL(virtq_ready(&vdev->vq[0]));
}

static void frame_fill(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static void test_config(void)
{
	char err[256];
	struct virtio_net_opts o;

	setup(0);
	CU_ASSERT_EQUAL(virtio_config_read(vdev, 0, 4), 0x12005452u);	/* 52:54:00:12 */
	CU_ASSERT_EQUAL(virtio_config_read(vdev, 4, 2), 0x5634u);
	CU_ASSERT_EQUAL(virtio_config_read(vdev, 6, 2), VIRTIO_NET_S_LINK_UP);
	CU_ASSERT(virtio_host_features(vdev, 0) & (1u << VIRTIO_NET_F_MAC));
	CU_ASSERT(virtio_host_features(vdev, 0) & (1u << VIRTIO_NET_F_MRG_RXBUF));
	/* No offloads: CSUM (0), GUEST_CSUM (1), the GSO bits (6-14) are not offered. */
	CU_ASSERT_EQUAL(virtio_host_features(vdev, 0) & 0x7fc3u, 0);

	CU_ASSERT_EQUAL(virtio_net_parse("netdev=n0,mac=02:00:00:00:00:01,mrg_rxbuf=off", &o,
					 err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(o.netdev, "n0");
	CU_ASSERT(o.mac_set && o.mac[0] == 2 && o.mac[5] == 1 && !o.mrg_rxbuf);
	CU_ASSERT_EQUAL(virtio_net_parse("mac=01:00:00:00:00:01", &o, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(virtio_net_parse("mac=52:54:00:12:34", &o, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(virtio_net_parse("vectors=3", &o, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'vectors' not supported"));
}

static void test_rx_no_buffers(void)
{
	const struct virtio_net_stats *st;
	uint8_t f[1500], got[1500];
	uint32_t id, len;

	setup(0);
	st = virtio_net_stats(net);
	frame_fill(f, sizeof(f), 1);
	/* Nothing posted: refused (the back end keeps it), counted, no interrupt. */
	CU_ASSERT_FALSE(virtio_net_receive(net, f, 60));
	CU_ASSERT_EQUAL(st->rx_no_buffers, 1);
	CU_ASSERT_EQUAL(st->rx_frames, 0);
	CU_ASSERT_EQUAL(irqs[0], 0);

	post_rx(0, 2048);
	CU_ASSERT_TRUE(virtio_net_receive(net, f, sizeof(f)));
	CU_ASSERT_EQUAL(st->rx_frames, 1);
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(id, 0);
	CU_ASSERT_EQUAL(len, VIRTIO_NET_HDR_LEN + sizeof(f));
	CU_ASSERT_EQUAL(r16(BUF_GPA + 10), 1);		/* num_buffers */
	CU_ASSERT_EQUAL(ram(BUF_GPA)[0], 0);		/* flags: no checksum to do */
	memcpy(got, ram(BUF_GPA + VIRTIO_NET_HDR_LEN), sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, f, sizeof(f)), 0);
	CU_ASSERT_EQUAL(irqs[0], 1);

	/* A driver that is gone (reset): frames are dropped, not queued. */
	virtio_set_status(vdev, 0);
	CU_ASSERT_TRUE(virtio_net_receive(net, f, 60));
	CU_ASSERT_EQUAL(st->rx_dropped, 1);
}

static void test_rx_mergeable(void)
{
	const struct virtio_net_stats *st;
	uint8_t f[1500], got[1500];
	uint32_t id, len;

	setup(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	st = virtio_net_stats(net);
	frame_fill(f, sizeof(f), 9);

	/* One 1024-byte buffer is not enough: it is kept, the frame refused. */
	post_rx(0, 1024);
	CU_ASSERT_FALSE(virtio_net_receive(net, f, sizeof(f)));
	CU_ASSERT_EQUAL(st->rx_no_buffers, 1);
	CU_ASSERT_FALSE(used_next(0, &id, &len));
	/* The second arrives: the frame spans both, in ring order. */
	post_rx(1, 1024);
	CU_ASSERT_TRUE(virtio_net_receive(net, f, sizeof(f)));
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(id, 0);
	CU_ASSERT_EQUAL(len, 1024);
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(id, 1);
	CU_ASSERT_EQUAL(len, VIRTIO_NET_HDR_LEN + sizeof(f) - 1024);
	CU_ASSERT_EQUAL(r16(BUF_GPA + 10), 2);		/* num_buffers */
	memcpy(got, ram(BUF_GPA + VIRTIO_NET_HDR_LEN), 1024 - VIRTIO_NET_HDR_LEN);
	memcpy(got + 1024 - VIRTIO_NET_HDR_LEN, ram(BUF_GPA + 0x1000),
	       sizeof(f) - (1024 - VIRTIO_NET_HDR_LEN));
	CU_ASSERT_EQUAL(memcmp(got, f, sizeof(f)), 0);
	CU_ASSERT_EQUAL(st->rx_frames, 1);
	CU_ASSERT_EQUAL(irqs[0], 1);

	/* A buffer smaller than the header is no receive buffer: returned empty. */
	post_rx(2, 8);
	post_rx(3, 2048);
	CU_ASSERT_TRUE(virtio_net_receive(net, f, 100));
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(id, 2);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(id, 3);
	CU_ASSERT_EQUAL(len, VIRTIO_NET_HDR_LEN + 100);
}

static void test_rx_small_buffer(void)
{
	const struct virtio_net_stats *st;
	uint8_t f[1000];
	uint32_t id, len;

	setup(0);	/* no MRG_RXBUF: one buffer per frame */
	st = virtio_net_stats(net);
	frame_fill(f, sizeof(f), 3);
	post_rx(0, 200);
	/* Too big for the buffer: dropped, counted; the buffer waits for a smaller frame. */
	CU_ASSERT_TRUE(virtio_net_receive(net, f, sizeof(f)));
	CU_ASSERT_EQUAL(st->rx_too_big, 1);
	CU_ASSERT_FALSE(used_next(0, &id, &len));
	CU_ASSERT_TRUE(virtio_net_receive(net, f, 150));
	CU_ASSERT_TRUE_FATAL(used_next(0, &id, &len));
	CU_ASSERT_EQUAL(len, VIRTIO_NET_HDR_LEN + 150);
	CU_ASSERT_EQUAL(memcmp(ram(BUF_GPA + VIRTIO_NET_HDR_LEN), f, 150), 0);
}

static void test_tx(void)
{
	const struct virtio_net_stats *st;
	uint32_t id, len;

	setup(0);
	st = virtio_net_stats(net);
	/* A header and a 60-byte frame in two descriptors; then a runt. */
	put_desc(1, 0, BUF_GPA, VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, 1, BUF_GPA + 0x100, 60, 0, 0);
	avail_add(1, 0);
	put_desc(1, 2, BUF_GPA + 0x200, VIRTIO_NET_HDR_LEN + 4, 0, 0);
	avail_add(1, 2);
	/* The kick only schedules; the main loop's work sends. */
	virtio_queue_notify(vdev, VIRTIO_NET_TXQ);
	CU_ASSERT_FALSE(used_next(1, &id, &len));
	virtio_net_poll(net);
	CU_ASSERT_EQUAL(st->tx_frames, 1);
	CU_ASSERT_EQUAL(st->tx_bad, 1);
	CU_ASSERT_TRUE_FATAL(used_next(1, &id, &len));
	CU_ASSERT_EQUAL(id, 0);
	CU_ASSERT_TRUE_FATAL(used_next(1, &id, &len));
	CU_ASSERT_EQUAL(id, 2);
	CU_ASSERT_EQUAL(irqs[1], 1);
}

static int suite_init(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	return vm_mem_init(&vm, RAM_SIZE) ? 1 : 0;
}

static int suite_clean(void)
{
	virtio_net_free(net);
	net = NULL;
	vm_mem_exit(&vm);
	return 0;
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio-net", suite_init, suite_clean);
	CU_add_test(s, "config, features, options", test_config);
	CU_add_test(s, "rx with no buffers: refused and counted", test_rx_no_buffers);
	CU_add_test(s, "rx across buffers (MRG_RXBUF)", test_rx_mergeable);
	CU_add_test(s, "rx into a small buffer", test_rx_small_buffer);
	CU_add_test(s, "tx batch, runt", test_tx);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
