/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_REPLAY_H
#define TANDEM_MACHINE_REPLAY_H
/*
 * Record and replay of a deterministic (-icount) run: the one input that
 * timing cannot reproduce, serial input, is held back from the UART and
 * released by the vCPU at an instruction count; recording logs each
 * release with its count, replaying releases the logged bytes at the same
 * counts. Checkpoints (instruction count and RIP) are logged every
 * REPLAY_CHECKPOINT instructions; a replay that reaches a checkpoint with
 * another RIP has diverged and stops with a message saying where.
 *
 * The log is text, one event per line:
 *   tandem-rr 1 shift=N           header
 *   I COUNT HEXBYTES              input released before instruction COUNT
 *   C COUNT RIP                   checkpoint
 *   E COUNT                       the end of the recorded run
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define REPLAY_CHECKPOINT	(1ull << 20)

enum replay_mode { REPLAY_NONE, REPLAY_RECORD, REPLAY_PLAY };

/* 0, or -errno with one line in @err. */
int replay_open(struct vm *vm, enum replay_mode mode, const char *path, unsigned shift,
		char *err, size_t errlen);
void replay_close(struct vm *vm);

/*
 * The vCPU thread before instruction @count (RIP @rip): release or replay
 * input, write or check a checkpoint. True when input was delivered (an
 * interrupt may now be pending). Cheap when there is nothing to do.
 */
bool replay_point(struct vm *vm, uint64_t count, uint64_t rip);
/*
 * The smallest instruction count >= @count at which replay_point() has
 * something to do (an input event or checkpoint due, a held byte to try
 * again); UINT64_MAX: none. Translated code runs up to it without points.
 */
uint64_t replay_next(struct vm *vm, uint64_t count);
/* Translated code at instruction @count without a point: what replay_point() last saw. */
void replay_note(struct vm *vm, uint64_t count);

#endif
