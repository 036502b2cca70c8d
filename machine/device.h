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
#include <stddef.h>
#include <stdint.h>

struct vm;
struct device;

/* A growing byte buffer for save(); dev_buf_put() returns 0 or -ENOMEM. */
struct dev_buf {
	uint8_t *data;
	size_t len, cap;
};
int dev_buf_put(struct dev_buf *b, const void *p, size_t len);
void dev_buf_free(struct dev_buf *b);

struct device_ops {
	const char *type;		/* "uart8250", "virtio-blk-pci": what -device names */
	void (*reset)(struct device *dev);
	int (*save)(struct device *dev, struct dev_buf *out);
	/* 0, or -EINVAL with one line in @why (wrong size, impossible value). */
	int (*load)(struct device *dev, const uint8_t *data, size_t len, char *why,
		    size_t whylen);
	void (*destroy)(struct device *dev);
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
