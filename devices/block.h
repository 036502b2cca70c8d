/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_BLOCK_H
#define TANDEM_DEVICES_BLOCK_H
/*
 * Block backend: a raw image file, knowing nothing of the guest.
 *
 * Cache modes mean what QEMU's do:
 *   writeback (default)  host page cache; flush = fdatasync
 *   none                 O_DIRECT (bounce buffers aligned as the file needs);
 *                        flush = fdatasync
 *   writethrough         page cache, every write O_DSYNC
 *   directsync           O_DIRECT and O_DSYNC
 *   unsafe               page cache; flush does nothing
 * A flush returns only after fdatasync() did, so what was flushed survives
 * the death of tandem (and of the host, as far as the disk keeps promises).
 *
 * readonly: the file is opened O_RDONLY and writes fail with -EROFS.
 * snapshot: the file is opened O_RDONLY too; writes go to a sparse overlay
 * in memory (4 KiB clusters), reads see the overlay first; the file is
 * never written.
 *
 * Locking: an open file description lock (F_OFD_SETLK) on the whole file,
 * shared for readonly and snapshot, exclusive for writers, so a second
 * writer (or a reader beside a writer) is refused, as QEMU refuses it.
 *
 * A struct block is used from one thread at a time (the device's I/O thread).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_cache {
	BLOCK_CACHE_WRITEBACK,
	BLOCK_CACHE_NONE,
	BLOCK_CACHE_WRITETHROUGH,
	BLOCK_CACHE_DIRECTSYNC,
	BLOCK_CACHE_UNSAFE,
};

struct block_opts {
	const char *file;
	bool readonly;
	bool snapshot;
	enum block_cache cache;
};

struct block;

/* Parse a cache= value; 0 or -EINVAL. */
int block_cache_parse(const char *s, enum block_cache *out);
const char *block_cache_name(enum block_cache c);

/* Open the image; NULL with one line in @err (no "tandem: " prefix) on failure. */
struct block *block_open(const struct block_opts *opts, char *err, size_t errlen);
void block_close(struct block *b);

uint64_t block_size(const struct block *b);		/* bytes */
bool block_readonly(const struct block *b);		/* the device must say so */
/* Is a write cache in front of the disk (the guest should flush)? */
bool block_write_cache(const struct block *b);

/* Whole-range I/O at byte offset @off; 0 or -errno (-EINVAL past the end). */
int block_preadv(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
		 size_t len);
int block_pwritev(struct block *b, const struct iovec *iov, unsigned n, uint64_t off,
		  size_t len);
/* Zeroes over [off, off + len); the file may be punched (discard) or written. */
int block_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap);
int block_flush(struct block *b);

/*
 * Snapshots: what the image is (its real path, size, readonly and
 * snapshot flags) and, under snapshot=on, the overlay, which is disk
 * contents that only memory holds. The image file's contents are not
 * saved: a restore needs the same file as it was when the snapshot was
 * taken (as QEMU's migration to a file with a shared disk), so a snapshot
 * of a VM that goes on writing its disk afterwards is only good until it
 * does. block_load() refuses another path, size or mode with one line in
 * @why (prefixed "snapshot: device '@dev': "). 0 or -errno.
 */
struct dev_buf;
struct dev_reader;
int block_save(struct block *b, struct dev_buf *buf);
int block_load(struct block *b, struct dev_reader *r, const char *dev, char *why,
	       size_t whylen);

/* Counters for statistics and tests. */
struct block_stats {
	uint64_t reads, writes, flushes, errors;
	uint64_t overlay_clusters;	/* snapshot=on: clusters held in memory */
};
void block_get_stats(const struct block *b, struct block_stats *st);

#endif
