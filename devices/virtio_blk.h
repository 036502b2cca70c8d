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
 * The options: -drive and -hda are parsed here (virtio_blk_drive_opt()),
 * and a drive with if=virtio becomes a "-device virtio-blk-pci,drive=ID"
 * the caller queues in the board's -device table, so every disk is made
 * by virtio_blk_pci_create(), in command-line order. Each returns 0 or
 * -errno with one line in @err (no "tandem: " prefix).
 */
#include <stddef.h>

struct vm;

/*
 * -drive SPEC. For if=virtio, @device gets the -device spec to queue
 * ("virtio-blk-pci,drive=virtio0"); for if=none it is left empty.
 */
int virtio_blk_drive_opt(const char *spec, char *device, size_t devlen, char *err,
			 size_t errlen);
/* -hda FILE: a virtio disk (tandem has no IDE), as -drive file=FILE,if=virtio. */
int virtio_blk_hda_opt(const char *file, char *device, size_t devlen, char *err,
		       size_t errlen);
/*
 * -device virtio-blk-pci,OPTS (OPTS: drive=ID[,num-queues=N][,serial=S][,id=NAME]):
 * the board's -device table calls this once the PCI bus exists; it opens
 * the drive's image and plugs the disk in.
 */
int virtio_blk_pci_create(struct vm *vm, const char *opts, char *err, size_t errlen);
/* Forget the parsed -drive options (the end of main, tests). */
void virtio_blk_opts_free(void);

#endif
