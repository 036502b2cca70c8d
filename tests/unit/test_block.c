// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the block backend (devices/block.c) on image files made
 * here: plain writes, snapshot=on's overlay (the file never changes),
 * readonly=on, cache=none through the bounce buffer at unaligned offsets
 * (where the file system takes O_DIRECT), write-zeroes, and the lock that
 * refuses a second writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "devices/block.h"

#define IMG_SIZE	(1u << 20)

static char img[64];
static uint8_t pattern[IMG_SIZE];

/* A fresh image with a known pattern. */
static void make_image(void)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, pattern, IMG_SIZE) == IMG_SIZE);
	close(fd);
}

static void read_file(uint8_t *buf)
{
	int fd = open(img, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pread(fd, buf, IMG_SIZE, 0) == IMG_SIZE);
	close(fd);
}

static struct block *open_img(bool ro, bool snap, enum block_cache cache, char *err)
{
	struct block_opts o = { .file = img, .readonly = ro, .snapshot = snap, .cache = cache };

	return block_open(&o, err, 256);
}

/* Read [off, off + len) through a 3-piece iovec with odd splits. */
static int rd(struct block *b, uint64_t off, uint8_t *buf, size_t len)
{
	size_t a = len / 3, c = len / 5;
	struct iovec v[3] = { { buf, a }, { buf + a, len - a - c }, { buf + len - c, c } };

	return block_preadv(b, v, 3, off, len);
}

static int wr(struct block *b, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t a = len / 2;
	struct iovec v[2] = { { (void *)buf, a }, { (void *)(buf + a), len - a } };

	return block_pwritev(b, v, 2, off, len);
}

static void test_writeback(void)
{
	static uint8_t buf[IMG_SIZE], back[IMG_SIZE];
	char err[256];
	struct block *b;

	make_image();
	b = open_img(false, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(block_size(b), IMG_SIZE);
	CU_ASSERT(!block_readonly(b));
	CU_ASSERT(block_write_cache(b));
	memset(buf, 0xab, 5000);
	CU_ASSERT_EQUAL(wr(b, 1000, buf, 5000), 0);
	CU_ASSERT_EQUAL(block_flush(b), 0);
	CU_ASSERT_EQUAL(rd(b, 0, back, 8192), 0);
	CU_ASSERT_EQUAL(memcmp(back, pattern, 1000), 0);
	CU_ASSERT_EQUAL(memcmp(back + 1000, buf, 5000), 0);
	CU_ASSERT_EQUAL(memcmp(back + 6000, pattern + 6000, 2192), 0);
	/* Past the end, or wrapping: refused, nothing done. */
	CU_ASSERT_EQUAL(rd(b, IMG_SIZE - 10, back, 20), -EINVAL);
	CU_ASSERT_EQUAL(wr(b, ~0ull - 5, buf, 20), -EINVAL);
	CU_ASSERT_EQUAL(block_write_zeroes(b, 4096, 8192, true), 0);
	CU_ASSERT_EQUAL(block_write_zeroes(b, 100, 10, false), 0);
	block_close(b);
	read_file(back);
	memcpy(pattern + 1000, buf, 5000);
	memset(pattern + 4096, 0, 8192);
	memset(pattern + 100, 0, 10);
	CU_ASSERT_EQUAL(memcmp(back, pattern, IMG_SIZE), 0);
}

static void test_snapshot(void)
{
	static uint8_t before[IMG_SIZE], after[IMG_SIZE], buf[20000], back[20000];
	struct block_stats st;
	char err[256];
	struct block *b;

	make_image();
	read_file(before);
	b = open_img(false, true, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(!block_readonly(b));	/* the guest may write; the file does not change */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* Unaligned at both ends, spanning clusters: partial clusters filled from the file. */
	CU_ASSERT_EQUAL(wr(b, 4000, buf, 9000), 0);
	CU_ASSERT_EQUAL(wr(b, 100, buf + 9000, 10), 0);
	CU_ASSERT_EQUAL(block_write_zeroes(b, 65536, 8192, true), 0);
	CU_ASSERT_EQUAL(block_write_zeroes(b, 65536 + 8192 + 5, 10, false), 0);
	CU_ASSERT_EQUAL(block_flush(b), 0);
	CU_ASSERT_EQUAL(rd(b, 0, back, 20000), 0);
	CU_ASSERT_EQUAL(memcmp(back, pattern, 100), 0);
	CU_ASSERT_EQUAL(memcmp(back + 100, buf + 9000, 10), 0);
	CU_ASSERT_EQUAL(memcmp(back + 110, pattern + 110, 3890), 0);
	CU_ASSERT_EQUAL(memcmp(back + 4000, buf, 9000), 0);
	CU_ASSERT_EQUAL(memcmp(back + 13000, pattern + 13000, 7000), 0);
	CU_ASSERT_EQUAL(rd(b, 65536 - 3, back, 8192 + 20), 0);
	CU_ASSERT_EQUAL(memcmp(back, pattern + 65533, 3), 0);
	for (unsigned i = 3; i < 3 + 8192; i++)
		CU_ASSERT_FATAL(back[i] == 0);
	CU_ASSERT_EQUAL(memcmp(back + 3 + 8192, pattern + 65536 + 8192, 5), 0);
	CU_ASSERT_EQUAL(back[3 + 8192 + 5], 0);
	/* A write into a zeroed cluster sees zeroes around it. */
	CU_ASSERT_EQUAL(wr(b, 65536 + 10, buf, 4), 0);
	CU_ASSERT_EQUAL(rd(b, 65536, back, 20), 0);
	CU_ASSERT(back[0] == 0 && back[9] == 0 && back[14] == 0);
	CU_ASSERT_EQUAL(memcmp(back + 10, buf, 4), 0);
	block_get_stats(b, &st);
	/* Clusters 0-3 (writes), 16-17 (zeroes), 18 (partial zeroes): sparse. */
	CU_ASSERT_EQUAL(st.overlay_clusters, 7);
	block_close(b);
	read_file(after);
	CU_ASSERT_EQUAL(memcmp(before, after, IMG_SIZE), 0);
}

static void test_readonly(void)
{
	static uint8_t buf[4096], back[IMG_SIZE];
	char err[256];
	struct block *b;

	make_image();
	chmod(img, 0400);	/* O_RDONLY needs no write permission */
	b = open_img(true, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(block_readonly(b));
	CU_ASSERT_EQUAL(wr(b, 0, buf, 4096), -EROFS);
	CU_ASSERT_EQUAL(block_write_zeroes(b, 0, 4096, true), -EROFS);
	CU_ASSERT_EQUAL(rd(b, 0, back, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(back, pattern, 4096), 0);
	CU_ASSERT_EQUAL(block_flush(b), 0);
	block_close(b);
	chmod(img, 0600);
	read_file(back);
	CU_ASSERT_EQUAL(memcmp(back, pattern, IMG_SIZE), 0);
}

static void test_lock(void)
{
	char err[256];
	struct block *w, *r1, *r2, *x;

	make_image();
	w = open_img(false, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	/* A second writer, and a reader beside the writer: refused, with the reason. */
	err[0] = 0;
	x = open_img(false, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
	x = open_img(true, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NULL(x);
	x = open_img(false, true, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NULL(x);
	block_close(w);
	/* Readers share; a writer is refused while they are there. */
	r1 = open_img(true, false, BLOCK_CACHE_WRITEBACK, err);
	r2 = open_img(false, true, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL(r1);
	CU_ASSERT_PTR_NOT_NULL(r2);
	x = open_img(false, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NULL(x);
	block_close(r1);
	block_close(r2);
	/* All gone: a writer again. */
	w = open_img(false, false, BLOCK_CACHE_WRITEBACK, err);
	CU_ASSERT_PTR_NOT_NULL(w);
	block_close(w);
	/* Missing file: one line naming it. */
	snprintf(err, sizeof(err), "%s", img);
	{
		struct block_opts o = { .file = "/nonexistent/x.img" };

		CU_ASSERT_PTR_NULL(block_open(&o, err, sizeof(err)));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.img"));
	}
}

static void test_cache_none(void)
{
	static uint8_t buf[300000], back[IMG_SIZE];
	char err[256];
	struct block *b;

	make_image();
	b = open_img(false, false, BLOCK_CACHE_NONE, err);
	if (!b) {
		/* tmpfs has no O_DIRECT: the message says so. */
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "O_DIRECT"));
		printf("(skipped: %s) ", err);
		return;
	}
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	/* Unaligned start and end: edge blocks read, merged, written. */
	CU_ASSERT_EQUAL(wr(b, 777, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(wr(b, 5, buf, 3), 0);
	CU_ASSERT_EQUAL(rd(b, 3, back, 400000), 0);
	CU_ASSERT_EQUAL(memcmp(back, pattern + 3, 2), 0);
	CU_ASSERT_EQUAL(memcmp(back + 2, buf, 3), 0);
	CU_ASSERT_EQUAL(memcmp(back + 5, pattern + 8, 769), 0);
	CU_ASSERT_EQUAL(memcmp(back + 774, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(block_flush(b), 0);
	block_close(b);
	read_file(back);
	memcpy(pattern + 777, buf, sizeof(buf));
	memcpy(pattern + 5, buf, 3);
	CU_ASSERT_EQUAL(memcmp(back, pattern, IMG_SIZE), 0);
}

static void test_cache_names(void)
{
	enum block_cache c;

	CU_ASSERT_EQUAL(block_cache_parse("none", &c), 0);
	CU_ASSERT_EQUAL(c, BLOCK_CACHE_NONE);
	CU_ASSERT_EQUAL(block_cache_parse("unsafe", &c), 0);
	CU_ASSERT_EQUAL(c, BLOCK_CACHE_UNSAFE);
	CU_ASSERT_EQUAL(block_cache_parse("writeback", &c), 0);
	CU_ASSERT_EQUAL(block_cache_parse("bogus", &c), -EINVAL);
	CU_ASSERT_STRING_EQUAL(block_cache_name(BLOCK_CACHE_DIRECTSYNC), "directsync");
}

int main(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	CU_pSuite s;
	unsigned failed;
	int fd;

	/* In the build tree when it can (a disk file system takes O_DIRECT; tmpfs does not). */
	snprintf(img, sizeof(img), "test_block.XXXXXX");
	fd = mkstemp(img);
	if (fd < 0) {
		snprintf(img, sizeof(img), "%s/test_block.XXXXXX", dir);
		fd = mkstemp(img);
	}
	if (fd < 0)
		return 99;
	close(fd);
	srand(7);
	for (unsigned i = 0; i < IMG_SIZE; i++)
		pattern[i] = (uint8_t)rand();
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("block", NULL, NULL);
	CU_add_test(s, "cache names", test_cache_names);
	CU_add_test(s, "writeback", test_writeback);
	CU_add_test(s, "snapshot overlay", test_snapshot);
	CU_add_test(s, "readonly", test_readonly);
	CU_add_test(s, "lock", test_lock);
	CU_add_test(s, "cache=none", test_cache_none);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	unlink(img);
	return failed ? 1 : 0;
}
