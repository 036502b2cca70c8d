/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_FW_CFG_H
#define TANDEM_FW_CFG_H
/*
 * QEMU's firmware configuration interface (docs/specs/fw_cfg in QEMU):
 * a 16-bit selector at 0x510, a byte-wide data port at 0x511 and the DMA
 * address register at 0x514 (big-endian, the low half triggers). Items
 * are read-only blobs; reads past an item's end return 0.
 */
#include <stddef.h>
#include <stdint.h>

struct vm;
struct fw_cfg;

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define FW_CFG_PORT_DMA		0x514

/* Well-known selectors. */
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_UUID		0x02
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NOGRAPHIC	0x04
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MACHINE_ID	0x06
#define FW_CFG_KERNEL_ADDR	0x07
#define FW_CFG_KERNEL_SIZE	0x08
#define FW_CFG_KERNEL_CMDLINE	0x09
#define FW_CFG_INITRD_ADDR	0x0a
#define FW_CFG_INITRD_SIZE	0x0b
#define FW_CFG_BOOT_DEVICE	0x0c
#define FW_CFG_NUMA		0x0d
#define FW_CFG_BOOT_MENU	0x0e
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_KERNEL_ENTRY	0x10
#define FW_CFG_KERNEL_DATA	0x11
#define FW_CFG_INITRD_DATA	0x12
#define FW_CFG_CMDLINE_ADDR	0x13
#define FW_CFG_CMDLINE_SIZE	0x14
#define FW_CFG_CMDLINE_DATA	0x15
#define FW_CFG_SETUP_ADDR	0x16
#define FW_CFG_SETUP_SIZE	0x17
#define FW_CFG_SETUP_DATA	0x18
#define FW_CFG_FILE_DIR		0x19
#define FW_CFG_FILE_FIRST	0x20
#define FW_CFG_WRITE_CHANNEL	0x4000
#define FW_CFG_ARCH_LOCAL	0x8000

#define FW_CFG_MAX_FILE_PATH	56
#define FW_CFG_MAX_FILES	256

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION		0x01
#define FW_CFG_VERSION_DMA	0x02

/*
 * @cmdline may be NULL (no CMDLINE items). Registers the ports. NULL with
 * errno set on failure.
 */
struct fw_cfg *fw_cfg_create(struct vm *vm, const char *cmdline, uint64_t ram_size,
			     unsigned nr_cpus);
/* Back to "nothing selected" (the items are kept). */
void fw_cfg_reset(struct fw_cfg *fw);
/* Teardown only, after the bus no longer dispatches to @fw. */
void fw_cfg_destroy(struct fw_cfg *fw);

/*
 * Add or replace the item at @key with a copy of @data. 0, -EINVAL for a
 * key in the file range or with the write bit, -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v);	/* little-endian */
int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v);
/*
 * Add a named file (a copy of @data) and list it in FILE_DIR, which stays
 * sorted by name; selectors are FW_CFG_FILE_FIRST + position, so add all
 * files before the guest starts. 0, -EEXIST, -ENAMETOOLONG, -ENOSPC,
 * -ENOMEM, -EINVAL.
 */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len);

#endif
