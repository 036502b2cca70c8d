// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU fw_cfg over I/O ports, with the DMA interface.
 *
 * Plain items live in a small list keyed by selector; named files live in
 * an array kept sorted by name, file i answering selector
 * FW_CFG_FILE_FIRST + i, and FILE_DIR is rebuilt whenever one is added.
 * The current selection caches its item's data and length (cur_data,
 * cur_len, re-resolved after every change to the item set); the data
 * offset never exceeds cur_len.
 *
 * DMA descriptors and buffers are guest-physical: every access goes
 * through vm_mem_read/vm_mem_write or gpa_to_hva, which refuse anything
 * outside RAM, and a refused transfer reports the error bit.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/memory.h"
#include "machine/vm.h"

#define FW_CFG_DMA_CTL_ERROR	0x01
#define FW_CFG_DMA_CTL_READ	0x02
#define FW_CFG_DMA_CTL_SKIP	0x04
#define FW_CFG_DMA_CTL_SELECT	0x08
#define FW_CFG_DMA_CTL_WRITE	0x10

/* What a read of the DMA address register returns (big-endian). */
static const char fw_dma_signature[8] = "QEMU CFG";

struct fw_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
};

struct fw_file {
	char name[FW_CFG_MAX_FILE_PATH];
	uint32_t len;
	uint8_t *data;
};

/* FILE_DIR entry, as the guest sees it. */
struct fw_dir_entry {
	uint32_t size;		/* big-endian */
	uint16_t select;	/* big-endian */
	uint16_t reserved;
	char name[FW_CFG_MAX_FILE_PATH];
} __attribute__((packed));

struct fw_dma_access {
	uint32_t control;	/* all big-endian */
	uint32_t length;
	uint64_t address;
} __attribute__((packed));

struct fw_cfg {
	struct device dev;	/* first: the VM's device list */
	struct vm *vm;
	struct fw_item *items;
	unsigned nr_items;
	struct fw_file *files;
	unsigned nr_files;

	uint16_t cur_key;
	const uint8_t *cur_data;
	uint32_t cur_len;
	uint32_t offset;

	uint32_t dma_high;	/* upper half of the DMA address, as written */
};

static bool fw_is_file_key(uint16_t key)
{
	return !(key & FW_CFG_ARCH_LOCAL) && key >= FW_CFG_FILE_FIRST;
}

static struct fw_item *fw_find_item(struct fw_cfg *fw, uint16_t key)
{
	for (unsigned i = 0; i < fw->nr_items; i++)
		if (fw->items[i].key == key)
			return &fw->items[i];
	return NULL;
}

/* Point cur_data/cur_len at the selected item (or at nothing). */
static void fw_resolve(struct fw_cfg *fw)
{
	uint16_t key = fw->cur_key & ~FW_CFG_WRITE_CHANNEL;
	struct fw_item *it;

	fw->cur_data = NULL;
	fw->cur_len = 0;
	if (fw_is_file_key(key)) {
		unsigned i = key - FW_CFG_FILE_FIRST;

		if (i < fw->nr_files) {
			fw->cur_data = fw->files[i].data;
			fw->cur_len = fw->files[i].len;
		}
	} else if ((it = fw_find_item(fw, key))) {
		fw->cur_data = it->data;
		fw->cur_len = it->len;
	}
	if (fw->offset > fw->cur_len)
		fw->offset = fw->cur_len;
}

static void fw_select(struct fw_cfg *fw, uint16_t key)
{
	fw->cur_key = key;
	fw->offset = 0;
	fw_resolve(fw);
}

static uint8_t fw_read_byte(struct fw_cfg *fw)
{
	if (fw->offset >= fw->cur_len)
		return 0;
	return fw->cur_data[fw->offset++];
}

static int fw_set(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	struct fw_item *it, *items;
	uint8_t *copy = NULL;

	if (len > UINT32_MAX)
		return -EINVAL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	it = fw_find_item(fw, key);
	if (!it) {
		items = realloc(fw->items, (fw->nr_items + 1) * sizeof(*items));
		if (!items) {
			free(copy);
			return -ENOMEM;
		}
		fw->items = items;
		it = &fw->items[fw->nr_items++];
		it->key = key;
		it->data = NULL;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	fw_resolve(fw);
	return 0;
}

int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	if ((key & FW_CFG_WRITE_CHANNEL) || fw_is_file_key(key) || (len && !data))
		return -EINVAL;
	return fw_set(fw, key, data, len);
}

int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
	uint16_t le = htole16(v);

	return fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
	uint32_t le = htole32(v);

	return fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
	uint64_t le = htole64(v);

	return fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

static int fw_rebuild_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nr_files * sizeof(struct fw_dir_entry);
	uint8_t *dir = calloc(1, len);
	uint32_t count = htobe32(fw->nr_files);
	int ret;

	if (!dir)
		return -ENOMEM;
	memcpy(dir, &count, 4);
	for (unsigned i = 0; i < fw->nr_files; i++) {
		struct fw_dir_entry e = {
			.size = htobe32(fw->files[i].len),
			.select = htobe16(FW_CFG_FILE_FIRST + i),
		};

		memcpy(e.name, fw->files[i].name, sizeof(e.name));
		memcpy(dir + 4 + i * sizeof(e), &e, sizeof(e));
	}
	ret = fw_set(fw, FW_CFG_FILE_DIR, dir, len);
	free(dir);
	return ret;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len)
{
	struct fw_file *files, f = { 0 };
	unsigned pos;
	size_t nlen;
	int ret;

	if (!name || !name[0] || len > UINT32_MAX || (len && !data))
		return -EINVAL;
	nlen = strlen(name);
	if (nlen >= FW_CFG_MAX_FILE_PATH)
		return -ENAMETOOLONG;
	if (fw->nr_files >= FW_CFG_MAX_FILES)
		return -ENOSPC;
	for (pos = 0; pos < fw->nr_files; pos++) {
		int c = strcmp(name, fw->files[pos].name);

		if (!c)
			return -EEXIST;
		if (c < 0)
			break;
	}
	memcpy(f.name, name, nlen + 1);
	f.len = len;
	if (len) {
		f.data = malloc(len);
		if (!f.data)
			return -ENOMEM;
		memcpy(f.data, data, len);
	}
	files = realloc(fw->files, (fw->nr_files + 1) * sizeof(*files));
	if (!files) {
		free(f.data);
		return -ENOMEM;
	}
	fw->files = files;
	memmove(&files[pos + 1], &files[pos], (fw->nr_files - pos) * sizeof(*files));
	files[pos] = f;
	fw->nr_files++;

	ret = fw_rebuild_dir(fw);
	if (ret < 0) {
		free(f.data);
		memmove(&files[pos], &files[pos + 1], (fw->nr_files - pos - 1) * sizeof(*files));
		fw->nr_files--;
	}
	fw_resolve(fw);
	return ret;
}

/* Run the DMA request whose descriptor is at guest-physical @desc. */
static void fw_dma(struct fw_cfg *fw, uint64_t desc)
{
	struct fw_dma_access a;
	uint32_t control, len, avail, n;
	uint64_t addr;
	uint8_t *dst;
	bool err = false;

	if (vm_mem_read(fw->vm, desc, &a, sizeof(a)) < 0)
		return;		/* nowhere to report an error to */
	control = be32toh(a.control);
	len = be32toh(a.length);
	addr = be64toh(a.address);

	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_select(fw, control >> 16);
	avail = fw->cur_len - fw->offset;
	if (control & FW_CFG_DMA_CTL_READ) {
		if (len) {
			dst = addr + len > addr ? gpa_to_hva(fw->vm, addr, len) : NULL;
			if (!dst) {
				err = true;
			} else {
				/* Past the end of the item the guest reads zeroes. */
				n = len < avail ? len : avail;
				if (n)
					memcpy(dst, fw->cur_data + fw->offset, n);
				memset(dst + n, 0, len - n);
				vm_mem_written(fw->vm, addr, len);
				fw->offset += n;
			}
		}
	} else if (control & FW_CFG_DMA_CTL_WRITE) {
		err = true;	/* every item is read-only */
	} else if (control & FW_CFG_DMA_CTL_SKIP) {
		fw->offset += len < avail ? len : avail;
	}

	a.control = htobe32(err ? FW_CFG_DMA_CTL_ERROR : 0);
	vm_mem_write(fw->vm, desc, &a.control, sizeof(a.control));
}

static uint64_t fw_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct fw_cfg *fw = opaque;
	uint64_t v = 0;

	if (off != 1)
		return 0;	/* the selector is write-only */
	/* Wider reads return consecutive bytes in memory order. */
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (uint64_t)fw_read_byte(fw) << (8 * i);
	return v;
}

static void fw_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fw_cfg *fw = opaque;

	/* Data port writes are ignored, as in QEMU since 2.4. */
	if (off == 0)
		fw_select(fw, val & 0xffff);
}

static uint64_t fw_dma_read(void *opaque, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && off + i < sizeof(fw_dma_signature); i++)
		v |= (uint64_t)(uint8_t)fw_dma_signature[off + i] << (8 * i);
	return v;
}

static void fw_dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fw_cfg *fw = opaque;
	uint64_t addr;

	/* The register is big-endian; writing the low half starts the transfer. */
	if (off == 0 && size == 8) {
		addr = be64toh(htole64(val));
	} else if (off == 0 && size == 4) {
		fw->dma_high = be32toh(htole32(val));
		return;
	} else if (off == 4 && size == 4) {
		addr = (uint64_t)fw->dma_high << 32 | be32toh(htole32(val));
	} else {
		return;
	}
	fw->dma_high = 0;
	fw_dma(fw, addr);
}

static const struct io_ops fw_io_ops = {
	.read = fw_io_read,
	.write = fw_io_write,
};

static const struct io_ops fw_dma_ops = {
	.read = fw_dma_read,
	.write = fw_dma_write,
};

void fw_cfg_reset(struct fw_cfg *fw)
{
	fw->dma_high = 0;
	fw_select(fw, FW_CFG_SIGNATURE);
}

static int fw_add_defaults(struct fw_cfg *fw, const char *cmdline, uint64_t ram_size,
			   unsigned nr_cpus)
{
	int ret;

	ret = fw_cfg_add_bytes(fw, FW_CFG_SIGNATURE, "QEMU", 4);
	ret = ret ?: fw_cfg_add_i32(fw, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	ret = ret ?: fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, ram_size);
	ret = ret ?: fw_cfg_add_i16(fw, FW_CFG_NOGRAPHIC, 1);
	ret = ret ?: fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, nr_cpus);
	ret = ret ?: fw_cfg_add_i16(fw, FW_CFG_MAX_CPUS, nr_cpus);
	ret = ret ?: fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, 0);
	ret = ret ?: fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, 0);
	ret = ret ?: fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, 0);
	ret = ret ?: fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, 0);
	if (!ret && cmdline) {
		size_t len = strlen(cmdline) + 1;

		ret = fw_cfg_add_i32(fw, FW_CFG_CMDLINE_SIZE, len);
		ret = ret ?: fw_cfg_add_bytes(fw, FW_CFG_CMDLINE_DATA, cmdline, len);
	}
	return ret ?: fw_rebuild_dir(fw);
}

static void fw_cfg_dev_reset(struct device *dev)
{
	fw_cfg_reset(container_of(dev, struct fw_cfg, dev));
}

static void fw_cfg_dev_destroy(struct device *dev)
{
	fw_cfg_destroy(container_of(dev, struct fw_cfg, dev));
}

static const struct device_ops fw_cfg_dev_ops = {
	.type = "fw_cfg",
	.reset = fw_cfg_dev_reset,
	.destroy = fw_cfg_dev_destroy,
};

struct fw_cfg *fw_cfg_create(struct vm *vm, const char *cmdline, uint64_t ram_size,
			     unsigned nr_cpus)
{
	struct fw_cfg *fw;
	int ret;

	fw = calloc(1, sizeof(*fw));
	if (!fw) {
		errno = ENOMEM;
		return NULL;
	}
	fw->vm = vm;
	ret = fw_add_defaults(fw, cmdline, ram_size, nr_cpus);
	if (ret < 0)
		goto err;
	fw_cfg_reset(fw);
	ret = pio_register(vm, FW_CFG_PORT_SEL, 2, &fw_io_ops, fw, "fw_cfg");
	if (ret < 0)
		goto err;
	ret = pio_register(vm, FW_CFG_PORT_DMA, 8, &fw_dma_ops, fw, "fw_cfg-dma");
	if (ret < 0) {
		/* The selector/data range stays registered; keep @fw for it. */
		errno = -ret;
		return NULL;
	}
	device_add(vm, &fw->dev, &fw_cfg_dev_ops, "fw_cfg");
	return fw;

err:
	fw_cfg_destroy(fw);
	errno = -ret;
	return NULL;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
	if (!fw)
		return;
	device_remove(&fw->dev);
	for (unsigned i = 0; i < fw->nr_items; i++)
		free(fw->items[i].data);
	for (unsigned i = 0; i < fw->nr_files; i++)
		free(fw->files[i].data);
	free(fw->items);
	free(fw->files);
	free(fw);
}
