/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_BLK_H
#define TANDEM_DEVICES_VIRTIO_BLK_H
/*
 * virtio-blk over PCI, on the block backend (devices/block.h), and the
 * QEMU options that make one:
 *
 *   -drive file=X[,format=raw][,if=virtio|none][,id=ID][,readonly=on]
 *          [,snapshot=on][,cache=writeback|none|writethrough|directsync|unsafe]
 *   -hda X                     (a virtio-blk disk here: tandem has no IDE)
 *   -device virtio-blk-pci,drive=ID[,num-queues=N][,serial=S][,id=NAME]
 *
 * Requests: read, write, flush, get-id, discard and write-zeroes, on one
 * or more queues (VIRTIO_BLK_F_MQ with num-queues > 1). They run on an
 * I/O thread per device: the vCPU's kick only wakes it; the thread pops
 * requests and pushes completions with vm->lock held and does the I/O
 * without it. A FLUSH completes after fdatasync() returned.
 *
 * The option functions are the board's -device table's to call; each
 * returns 0 or -EINVAL with one line in @err (no "tandem: " prefix).
 */
#include <stddef.h>

struct vm;

int virtio_blk_drive_opt(const char *spec, char *err, size_t errlen);
int virtio_blk_hda_opt(const char *file, char *err, size_t errlen);
/* -device virtio-blk-pci,...: @spec is what follows the device name's comma. */
int virtio_blk_device_opt(const char *spec, char *err, size_t errlen);
/*
 * Once the board (and its PCI bus) exists: open every drive that a disk
 * uses and plug the disks in, in command-line order. 0 or -errno with
 * one line in @err; nothing to do without -drive/-hda/-device.
 */
int virtio_blk_create_all(struct vm *vm, char *err, size_t errlen);
/* Forget the parsed options (tests, and the end of main). */
void virtio_blk_opts_free(void);

#endif
