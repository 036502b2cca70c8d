/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_DEVICE_H
#define TANDEM_MACHINE_DEVICE_H
/*
 * One shape for every device. A device embeds struct device (first member
 * by convention, reached back with container_of()), its typed constructor
 * fills it and calls device_add(): from then on the VM owns it, resets it
 * with the others (creation order) and destroys it (reverse order). The
 * board keeps no per-chip adapters.
 *
 * State for snapshots: save() appends the device's state to a buffer and
 * load() takes back what save() wrote (same version), both with vm->lock
 * held and every vCPU stopped. A device without them (NULL) refuses to be
 * snapshotted, with its name in the message.
 *
 * All ops run with vm->lock held except destroy(), which runs once no vCPU,
 * timer or bus access can reach the device any more.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vm;
struct device;

/*
 * A growing byte buffer for save(); dev_buf_put() returns 0 or -ENOMEM and
 * remembers a failure in @oom, so a save() may put field after field and
 * look once at the end (dev_buf_status()).
 */
struct dev_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};
int dev_buf_put(struct dev_buf *b, const void *p, size_t len);
static inline int dev_buf_status(const struct dev_buf *b)
{
	return b->oom ? -ENOMEM : 0;
}
void dev_buf_free(struct dev_buf *b);

/*
 * Reading back what save() wrote: dev_get() copies the next @len bytes or
 * marks the reader bad when there are fewer; dev_reader_ok() says whether
 * every get succeeded and nothing is left over. A snapshot file is user
 * input: load() checks every index and size it reads before use.
 */
struct dev_reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};
static inline struct dev_reader dev_reader(const uint8_t *data, size_t len)
{
	return (struct dev_reader){ .p = data, .left = len };
}
static inline void dev_get(struct dev_reader *r, void *dst, size_t len)
{
	if (r->bad || len > r->left) {
		r->bad = true;
		return;
	}
	memcpy(dst, r->p, len);
	r->p += len;
	r->left -= len;
}
static inline bool dev_reader_ok(const struct dev_reader *r)
{
	return !r->bad && !r->left;
}
/* One field (an lvalue) each way. */
#define DEV_SAVE(b, f)	dev_buf_put((b), &(f), sizeof(f))
#define DEV_LOAD(r, f)	dev_get((r), &(f), sizeof(f))
/* A load() that found @cond false: say so (@dev's name) and fail. */
int dev_load_error(struct device *dev, char *why, size_t whylen, const char *what);

struct device_ops {
	const char *type;		/* "uart8250", "virtio-blk-pci": what -device names */
	void (*reset)(struct device *dev);
	int (*save)(struct device *dev, struct dev_buf *out);
	/* 0, or -EINVAL with one line in @why (wrong size, impossible value). */
	int (*load)(struct device *dev, const uint8_t *data, size_t len, char *why,
		    size_t whylen);
	void (*destroy)(struct device *dev);
	/*
	 * Snapshots, for a device with threads of its own (an I/O thread):
	 * quiesce() waits until they hold no request and keeps them from
	 * taking another; resume() lets them go on and look for work. Both
	 * run without vm->lock, the vCPUs paused: quiesce() before save() or
	 * load() and before guest RAM is read or written, resume() after.
	 * May be NULL.
	 */
	void (*quiesce)(struct device *dev);
	void (*resume)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	struct vm *vm;
	char name[32];			/* instance: "com1", "virtio-blk0" */
	struct device *next;		/* vm's list, in creation order */
};

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* Hand @dev to @vm (named @name, truncated to fit). Never fails. */
void device_add(struct vm *vm, struct device *dev, const struct device_ops *ops,
		const char *name);
/*
 * Take @dev off its VM's list (not there: nothing happens). For a typed
 * destroy called directly (unit tests, a failed creation) so the list
 * never holds a freed device; device_destroy_all() unlinks by itself.
 */
void device_remove(struct device *dev);
/* Every device's reset, in creation order (vm->lock held). */
void device_reset_all(struct vm *vm);
/* Every device's destroy, in reverse creation order; the list is empty after. */
void device_destroy_all(struct vm *vm);
struct device *device_find(struct vm *vm, const char *name);

#endif
