/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_CHARDEV_H
#define TANDEM_CHARDEV_H
/*
 * Character back ends for serial ports: stdio, file:PATH, none.
 * With stdio on a terminal, the terminal is put in raw mode and QEMU's
 * escape keys work: Ctrl-A x quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends ^A.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct chardev;

struct chardev_receiver {
	/* How many bytes the device can take now (FIFO space). */
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
};

/*
 * Parse "stdio", "file:PATH", "none"; NULL + message in @err on error.
 * A file is not touched until chardev_start(): outputs are opened (and
 * truncated) only after the loaders have read the inputs.
 */
struct chardev *chardev_open(struct vm *vm, const char *spec, char *err, size_t errlen);
/* Open the output file, if any; 0, or -errno with one line in @err. */
int chardev_start(struct chardev *cd, char *err, size_t errlen);
void chardev_close(struct chardev *cd);
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
void chardev_set_receiver(struct chardev *cd, const struct chardev_receiver *rx, void *opaque);
/* The device has room again: deliver buffered input (runs under vm->lock). */
void chardev_accept_input(struct chardev *cd);

/*
 * Gated input (record/replay, machine/replay.c): host input is kept in the
 * chardev's buffer instead of reaching the device, and the vCPU thread
 * releases it at an instruction count of its choosing. All under vm->lock.
 */
void chardev_set_gated(struct chardev *cd, bool gated);
/* Bytes waiting (a hint: may be read without the lock). */
size_t chardev_gated_pending(const struct chardev *cd);
/* Deliver what the device takes now, copying it to @out (@max bytes at most). */
size_t chardev_gated_release(struct chardev *cd, uint8_t *out, size_t max);
/* Hand @buf to the device as if typed (replay); live input is dropped. */
void chardev_inject(struct chardev *cd, const uint8_t *buf, size_t len);

#endif
