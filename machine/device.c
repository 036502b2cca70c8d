// SPDX-License-Identifier: GPL-2.0-or-later
/* The VM's device list (machine/device.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/device.h"
#include "machine/vm.h"

int dev_buf_put(struct dev_buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

void dev_buf_free(struct dev_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void device_add(struct vm *vm, struct device *dev, const struct device_ops *ops,
		const char *name)
{
	struct device **p = &vm->devices;

	dev->ops = ops;
	dev->vm = vm;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->next = NULL;
	while (*p)
		p = &(*p)->next;
	*p = dev;
}

void device_remove(struct device *dev)
{
	struct device **p;

	if (!dev->vm)
		return;
	for (p = &dev->vm->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	dev->next = NULL;
}

void device_reset_all(struct vm *vm)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (d->ops->reset)
			d->ops->reset(d);
}

void device_destroy_all(struct vm *vm)
{
	/* Reverse creation order: later devices may refer to earlier ones. */
	while (vm->devices) {
		struct device **p = &vm->devices;
		struct device *d;

		while ((*p)->next)
			p = &(*p)->next;
		d = *p;
		*p = NULL;
		if (d->ops->destroy)
			d->ops->destroy(d);
	}
}

struct device *device_find(struct vm *vm, const char *name)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}
