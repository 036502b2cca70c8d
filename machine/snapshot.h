/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_SNAPSHOT_H
#define TANDEM_MACHINE_SNAPSHOT_H
/*
 * Whole-machine snapshots: every vCPU's struct x86_state, every device's
 * state (struct device_ops save/load), guest RAM (sparse: all-zero pages
 * are not written) and the guest clock, in one versioned file. The state
 * is engine-neutral, so a snapshot taken on one engine restores on the
 * other.
 *
 * File layout (little-endian):
 *   "TANDEMSS" u32 format-version u32 0
 *   sections: char name[16] u32 version u32 0 u64 length data[length]
 *     "config"   text, key=value lines: what must match to restore
 *                (ram, vcpus, board, cpuid, devices) and what is only
 *                said (engine, tandem version, clock)
 *     "cpu"      u32 index, u32 sizeof(struct x86_state), the struct, then
 *                u8 1 when the vCPU waits for a STARTUP IPI (an AP not started)
 *     "device"   u8 name length, name, the device's save() bytes
 *     "ram"      u64 gpa, u64 size, a bitmap of the pages that follow
 *                (one bit per 4 KiB, set: page present), the pages
 *   "end" holds the SHA-256 of everything before it.
 * Restore checks the hash first, then the configuration, and refuses with
 * one line (never a crash) a corrupt, truncated, mismatched or newer file.
 * struct x86_state is stored raw, so a file from a tandem whose struct
 * differs in size is refused too.
 */
#include <stddef.h>

struct vm;

#define SNAPSHOT_FORMAT_VERSION	1

/*
 * Write @vm's state to @path. The vCPUs must be paused (vm_pause()) and
 * the caller is the main thread. 0, or -errno with one line in @err.
 */
int vm_snapshot_save(struct vm *vm, const char *path, char *err, size_t errlen);
/*
 * Restore @path into @vm, which has the same configuration: before the
 * vCPU threads start (-incoming) or with them paused. 0, or -errno with
 * one line in @err; on error @vm may be half-restored only if the file
 * passed every check and then failed to load into a device.
 */
int vm_snapshot_load(struct vm *vm, const char *path, char *err, size_t errlen);

#endif
