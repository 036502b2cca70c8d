// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Block backend over a raw image (devices/block.h).
 *
 * O_DIRECT wants the buffer address, the file offset and the length
 * aligned to the device's logical block; guest buffers are not, so every
 * direct access goes through an aligned bounce buffer, with the edge
 * blocks of an unaligned write read first. 4 KiB alignment satisfies
 * both 512-byte and 4 KiB devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "devices/block.h"
#include "machine/device.h"

#define DIRECT_ALIGN	4096u
#define BOUNCE_MAX	(1u << 20)	/* direct I/O in pieces of at most this */
#define CLUSTER		4096u		/* snapshot overlay granule */

/* An overlay cluster that reads as zeroes (write-zeroes/discard under snapshot=on). */
static uint8_t zero_cluster_mark;
#define ZERO_CLUSTER	((void *)&zero_cluster_mark)

struct block {
	int fd;
	char *file;
	uint64_t size;
	bool readonly, snapshot, direct, no_flush;
	enum block_cache cache;
	uint8_t *bounce;		/* DIRECT_ALIGN-aligned, BOUNCE_MAX bytes */
	GHashTable *overlay;		/* cluster index -> CLUSTER bytes or ZERO_CLUSTER */
	struct block_stats st;
};

static const char *const cache_names[] = {
	[BLOCK_CACHE_WRITEBACK] = "writeback",
	[BLOCK_CACHE_NONE] = "none",
	[BLOCK_CACHE_WRITETHROUGH] = "writethrough",
	[BLOCK_CACHE_DIRECTSYNC] = "directsync",
	[BLOCK_CACHE_UNSAFE] = "unsafe",
};

int block_cache_parse(const char *s, enum block_cache *out)
{
	for (unsigned i = 0; i < sizeof(cache_names) / sizeof(cache_names[0]); i++) {
		if (!strcmp(s, cache_names[i])) {
			*out = (enum block_cache)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *block_cache_name(enum block_cache c)
{
	return (unsigned)c < sizeof(cache_names) / sizeof(cache_names[0]) ? cache_names[c] : "?";
}

static void overlay_free_value(gpointer p)
{
	if (p != ZERO_CLUSTER)
		free(p);
}

struct block *block_open(const struct block_opts *o, char *err, size_t errlen)
{
	struct block *b = calloc(1, sizeof(*b));
	bool ro = o->readonly || o->snapshot;
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct flock fl = { .l_whence = SEEK_SET };
	struct stat st;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->fd = -1;
	b->cache = o->cache;
	b->readonly = o->readonly;
	b->snapshot = o->snapshot;
	b->direct = o->cache == BLOCK_CACHE_NONE || o->cache == BLOCK_CACHE_DIRECTSYNC;
	b->no_flush = o->cache == BLOCK_CACHE_UNSAFE;
	if (b->direct)
		flags |= O_DIRECT;
	if (o->cache == BLOCK_CACHE_WRITETHROUGH || o->cache == BLOCK_CACHE_DIRECTSYNC)
		flags |= O_DSYNC;
	b->file = strdup(o->file);
	if (!b->file) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	b->fd = open(o->file, flags);
	if (b->fd < 0 && errno == EINVAL && b->direct) {
		snprintf(err, errlen, "cannot open '%s' with cache=%s: its file system has no "
			 "O_DIRECT (use cache=writeback)", o->file, block_cache_name(o->cache));
		goto fail;
	}
	if (b->fd < 0) {
		snprintf(err, errlen, "cannot open '%s'%s: %s", o->file,
			 ro ? " read-only" : " for writing", strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st)) {
		snprintf(err, errlen, "cannot stat '%s': %s", o->file, strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size)) {
			snprintf(err, errlen, "cannot size '%s': %s", o->file, strerror(errno));
			goto fail;
		}
	} else {
		snprintf(err, errlen, "'%s' is neither a file nor a block device", o->file);
		goto fail;
	}
	/*
	 * As QEMU: writers exclusive, readers shared. An OFD lock belongs to
	 * this open file, so even a second -drive of this same process on the
	 * same image is refused, and it goes away with the file (or the process).
	 */
	fl.l_type = ro ? F_RDLCK : F_WRLCK;
	if (fcntl(b->fd, F_OFD_SETLK, &fl)) {
		if (errno == EAGAIN || errno == EACCES)
			snprintf(err, errlen, "'%s' is in use: another process (or -drive) has it "
				 "open for %s; one writer at a time (readonly=on or snapshot=on "
				 "share it with readers)", o->file,
				 ro ? "writing" : "reading or writing");
		else
			snprintf(err, errlen, "cannot lock '%s': %s", o->file, strerror(errno));
		goto fail;
	}
	if (b->direct && posix_memalign((void **)&b->bounce, DIRECT_ALIGN, BOUNCE_MAX)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (b->snapshot)
		b->overlay = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
						   overlay_free_value);
	return b;
fail:
	block_close(b);
	return NULL;
}

void block_close(struct block *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->overlay)
		g_hash_table_destroy(b->overlay);
	free(b->bounce);
	free(b->file);
	free(b);
}

uint64_t block_size(const struct block *b)
{
	return b->size;
}

bool block_readonly(const struct block *b)
{
	return b->readonly;
}

bool block_write_cache(const struct block *b)
{
	return b->cache == BLOCK_CACHE_WRITEBACK || b->cache == BLOCK_CACHE_NONE ||
	       b->cache == BLOCK_CACHE_UNSAFE;
}

void block_get_stats(const struct block *b, struct block_stats *st)
{
	*st = b->st;
	st->overlay_clusters = b->overlay ? g_hash_table_size(b->overlay) : 0;
}

static bool range_ok(const struct block *b, uint64_t off, uint64_t len)
{
	return off <= b->size && len <= b->size - off;
}

/* Copy @len bytes at @off of the iovecs into @cut (at most IOV_MAX); returns the count. */
static unsigned iov_cut(const struct iovec *iov, unsigned n, size_t off, size_t len,
			struct iovec *cut)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len && k < IOV_MAX; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		cut[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		cut[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}

static size_t copy_iov(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len,
		       bool to_buf)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		if (to_buf)
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, l);
		else
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, l);
		done += l;
		off = 0;
	}
	return done;
}

/* Buffered read or write of the iovecs, retrying short transfers; reads past EOF zero. */
static int buffered_io(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
		       size_t len, bool write)
{
	struct iovec cut[IOV_MAX];
	size_t done = 0;

	while (done < len) {
		unsigned k = iov_cut(iov, n, done, len - done, cut);
		ssize_t r = write ? pwritev(b->fd, cut, (int)k, (off_t)(off + done))
				  : preadv(b->fd, cut, (int)k, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			/* The file shrank under us: the rest reads as zeroes. */
			for (unsigned i = 0; i < k; i++)
				memset(cut[i].iov_base, 0, cut[i].iov_len);
			return 0;
		}
		done += (size_t)r;
	}
	return 0;
}

/* pread/pwrite of an aligned bounce range, retrying short transfers. */
static int bounce_io(struct block *b, uint8_t *buf, size_t len, uint64_t off, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = write ? pwrite(b->fd, buf + done, len - done, (off_t)(off + done))
				  : pread(b->fd, buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			memset(buf + done, 0, len - done);	/* past EOF */
			return 0;
		}
		done += (size_t)r;
	}
	return 0;
}

/*
 * O_DIRECT: [off, off + len) in pieces through the bounce buffer. Past
 * the end of an image whose size is not block-aligned the kernel returns
 * a short read, which bounce_io() zero-fills; a write there extends the
 * file by less than a block, which is what the guest could see anyway.
 */
static int direct_io(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
		     size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		uint64_t pos = off + done;
		uint64_t start = pos & ~(uint64_t)(DIRECT_ALIGN - 1);
		size_t head = (size_t)(pos - start);
		size_t chunk = len - done;
		size_t span;
		int ret;

		if (chunk > BOUNCE_MAX - head)
			chunk = BOUNCE_MAX - head;
		span = (head + chunk + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1);
		if (write) {
			/* Edge blocks the write covers only in part: read them first. */
			if (head) {
				ret = bounce_io(b, b->bounce, DIRECT_ALIGN, start, false);
				if (ret)
					return ret;
			}
			if ((head + chunk) % DIRECT_ALIGN) {
				ret = bounce_io(b, b->bounce + span - DIRECT_ALIGN, DIRECT_ALIGN,
						start + span - DIRECT_ALIGN, false);
				if (ret)
					return ret;
			}
			copy_iov(iov, n, done, b->bounce + head, chunk, true);
			/* Never write past the image's end (a partial last block). */
			if (start + span > b->size && b->size > start)
				span = (size_t)(b->size - start);
			ret = bounce_io(b, b->bounce, span, start, true);
			if (ret == -EINVAL && span % DIRECT_ALIGN) {
				/* A tail shorter than a block: O_DIRECT cannot; say so. */
				return -EIO;
			}
		} else {
			ret = bounce_io(b, b->bounce, span, start, false);
			if (!ret)
				copy_iov(iov, n, done, b->bounce + head, chunk, false);
		}
		if (ret)
			return ret;
		done += chunk;
	}
	return 0;
}

static int file_io(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
		   size_t len, bool write)
{
	return b->direct ? direct_io(b, iov, n, off, len, write)
			 : buffered_io(b, iov, n, off, len, write);
}

int block_preadv(struct block *b, const struct iovec *iov, unsigned n, uint64_t off, size_t len)
{
	int ret;

	if (!range_ok(b, off, len))
		return -EINVAL;
	b->st.reads++;
	ret = file_io(b, iov, n, off, len, false);
	if (!ret && b->overlay && g_hash_table_size(b->overlay)) {
		/* Clusters written under snapshot=on replace what the file says. */
		for (uint64_t c = off / CLUSTER; len && c <= (off + len - 1) / CLUSTER; c++) {
			uint8_t *data = g_hash_table_lookup(b->overlay, GSIZE_TO_POINTER(c));
			uint64_t cs = c * CLUSTER, s = cs > off ? cs : off;
			uint64_t e = cs + CLUSTER < off + len ? cs + CLUSTER : off + len;
			static const uint8_t zeroes[CLUSTER];

			if (!data)
				continue;
			copy_iov(iov, n, (size_t)(s - off),
				 data == ZERO_CLUSTER ? (uint8_t *)zeroes : data + (s - cs),
				 (size_t)(e - s), false);
		}
	}
	if (ret)
		b->st.errors++;
	return ret;
}

/* The overlay's copy of cluster @c, filled from the file the first time. */
static uint8_t *overlay_cluster(struct block *b, uint64_t c, bool whole)
{
	uint8_t *data = g_hash_table_lookup(b->overlay, GSIZE_TO_POINTER(c));
	struct iovec v;

	if (data && data != ZERO_CLUSTER)
		return data;
	if (posix_memalign((void **)&v.iov_base, 64, CLUSTER))
		return NULL;
	v.iov_len = CLUSTER;
	if (data == ZERO_CLUSTER || whole) {
		memset(v.iov_base, 0, CLUSTER);
	} else {
		uint64_t cs = c * CLUSTER;
		size_t l = b->size - cs < CLUSTER ? (size_t)(b->size - cs) : CLUSTER;

		memset(v.iov_base, 0, CLUSTER);
		v.iov_len = l;
		if (file_io(b, &v, 1, cs, l, false)) {
			free(v.iov_base);
			return NULL;
		}
	}
	g_hash_table_replace(b->overlay, GSIZE_TO_POINTER(c), v.iov_base);
	return v.iov_base;
}

static int overlay_write(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
			 uint64_t len, bool zero)
{
	for (uint64_t c = off / CLUSTER; len && c <= (off + len - 1) / CLUSTER; c++) {
		uint64_t cs = c * CLUSTER, s = cs > off ? cs : off;
		uint64_t e = cs + CLUSTER < off + len ? cs + CLUSTER : off + len;
		bool whole = s == cs && e == cs + CLUSTER;
		uint8_t *data;

		if (zero && whole) {
			g_hash_table_replace(b->overlay, GSIZE_TO_POINTER(c), ZERO_CLUSTER);
			continue;
		}
		data = overlay_cluster(b, c, whole);
		if (!data)
			return -ENOMEM;
		if (zero)
			memset(data + (s - cs), 0, (size_t)(e - s));
		else
			copy_iov(iov, n, (size_t)(s - off), data + (s - cs), (size_t)(e - s), true);
	}
	return 0;
}

int block_pwritev(struct block *b, const struct iovec *iov, unsigned n, uint64_t off, size_t len)
{
	int ret;

	if (b->readonly)
		return -EROFS;
	if (!range_ok(b, off, len))
		return -EINVAL;
	b->st.writes++;
	ret = b->overlay ? overlay_write(b, iov, n, off, len, false)
			 : file_io(b, iov, n, off, len, true);
	if (ret)
		b->st.errors++;
	return ret;
}

int block_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zeroes[65536];
	uint64_t done = 0;

	if (b->readonly)
		return -EROFS;
	if (!range_ok(b, off, len))
		return -EINVAL;
	b->st.writes++;
	if (b->overlay)
		return overlay_write(b, NULL, 0, off, len, true);
	/* Punching keeps the size and reads back zeroes; ZERO_RANGE allocates. */
	if (!fallocate(b->fd, unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
				    : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		       (off_t)off, (off_t)len))
		return 0;
	if (!fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	while (done < len) {
		struct iovec v = { (void *)zeroes, len - done < sizeof(zeroes) ? len - done
									 : sizeof(zeroes) };
		int ret = file_io(b, &v, 1, off + done, v.iov_len, true);

		if (ret) {
			b->st.errors++;
			return ret;
		}
		done += v.iov_len;
	}
	return 0;
}

int block_flush(struct block *b)
{
	b->st.flushes++;
	/* Nothing of ours reaches the file (readonly, snapshot) or it is not wanted (unsafe). */
	if (b->readonly || b->snapshot || b->no_flush)
		return 0;
	if (fdatasync(b->fd)) {
		b->st.errors++;
		return -errno;
	}
	return 0;
}

/* ---- snapshots ------------------------------------------------------------ */

#define BLOCK_SAVE_VERSION	1
#define PATH_MAX_SAVED		4096u

/* The image's name as the snapshot keeps it: absolute, links resolved. */
static char *real_name(const struct block *b)
{
	char *p = realpath(b->file, NULL);

	return p ? p : strdup(b->file);
}

int block_save(struct block *b, struct dev_buf *buf)
{
	uint8_t version = BLOCK_SAVE_VERSION, ro = b->readonly, snap = b->snapshot;
	char *path = real_name(b);
	uint32_t plen;
	uint64_t n = b->overlay ? g_hash_table_size(b->overlay) : 0;

	if (!path)
		return -ENOMEM;
	plen = (uint32_t)strnlen(path, PATH_MAX_SAVED);
	DEV_SAVE(buf, version);
	DEV_SAVE(buf, plen);
	dev_buf_put(buf, path, plen);
	DEV_SAVE(buf, b->size);
	DEV_SAVE(buf, ro);
	DEV_SAVE(buf, snap);
	DEV_SAVE(buf, n);
	if (n) {
		GHashTableIter it;
		gpointer key, value;

		g_hash_table_iter_init(&it, b->overlay);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			uint64_t c = GPOINTER_TO_SIZE(key);
			uint8_t zero = value == ZERO_CLUSTER;

			DEV_SAVE(buf, c);
			DEV_SAVE(buf, zero);
			if (!zero)
				dev_buf_put(buf, value, CLUSTER);
		}
	}
	free(path);
	return dev_buf_status(buf);
}

static int bload_error(char *why, size_t whylen, const char *dev, const char *what)
{
	snprintf(why, whylen, "snapshot: device '%s': %s", dev, what);
	return -EINVAL;
}

int block_load(struct block *b, struct dev_reader *r, const char *dev, char *why,
	       size_t whylen)
{
	uint8_t version = 0, ro, snap;
	uint32_t plen = 0;
	uint64_t size, n, clusters = (b->size + CLUSTER - 1) / CLUSTER;
	char saved[PATH_MAX_SAVED + 1], *mine, msg[2 * PATH_MAX_SAVED + 128];
	GHashTable *ov = NULL;
	int ret = 0;

	DEV_LOAD(r, version);
	DEV_LOAD(r, plen);
	if (r->bad || version != BLOCK_SAVE_VERSION || plen > PATH_MAX_SAVED)
		return bload_error(why, whylen, dev, "block state of another shape");
	dev_get(r, saved, plen);
	saved[plen] = 0;
	DEV_LOAD(r, size);
	DEV_LOAD(r, ro);
	DEV_LOAD(r, snap);
	DEV_LOAD(r, n);
	if (r->bad)
		return bload_error(why, whylen, dev, "truncated block state");
	mine = real_name(b);
	if (!mine)
		return -ENOMEM;
	if (strcmp(saved, mine)) {
		snprintf(msg, sizeof(msg), "the snapshot's disk is %s, this VM's is %s", saved,
			 mine);
		ret = bload_error(why, whylen, dev, msg);
	} else if (size != b->size) {
		snprintf(msg, sizeof(msg), "%s was %llu bytes, it is %llu now", mine,
			 (unsigned long long)size, (unsigned long long)b->size);
		ret = bload_error(why, whylen, dev, msg);
	} else if (ro != b->readonly || snap != b->snapshot) {
		snprintf(msg, sizeof(msg), "%s was opened with readonly=%s,snapshot=%s there "
			 "(with %s,%s here)", mine, ro ? "on" : "off", snap ? "on" : "off",
			 b->readonly ? "on" : "off", b->snapshot ? "on" : "off");
		ret = bload_error(why, whylen, dev, msg);
	} else if (n && !b->overlay) {
		ret = bload_error(why, whylen, dev, "an overlay for a disk without snapshot=on");
	}
	free(mine);
	if (ret)
		return ret;
	if (b->overlay)
		ov = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, overlay_free_value);
	for (uint64_t i = 0; i < n && !ret; i++) {
		uint64_t c = UINT64_MAX;
		uint8_t zero = 2;
		void *data = ZERO_CLUSTER;

		DEV_LOAD(r, c);
		DEV_LOAD(r, zero);
		if (r->bad || c >= clusters || zero > 1 ||
		    g_hash_table_contains(ov, GSIZE_TO_POINTER(c))) {
			ret = bload_error(why, whylen, dev, "bad overlay cluster");
			break;
		}
		if (!zero) {
			if (posix_memalign(&data, 64, CLUSTER)) {
				ret = -ENOMEM;
				break;
			}
			dev_get(r, data, CLUSTER);
			if (r->bad) {
				free(data);
				ret = bload_error(why, whylen, dev, "truncated overlay");
				break;
			}
		}
		g_hash_table_replace(ov, GSIZE_TO_POINTER((gsize)c), data);
	}
	if (ret) {
		if (ov)
			g_hash_table_destroy(ov);
		return ret;
	}
	if (ov) {
		g_hash_table_destroy(b->overlay);
		b->overlay = ov;
	}
	return 0;
}
