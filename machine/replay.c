// SPDX-License-Identifier: GPL-2.0-or-later
/* Record/replay of serial input in deterministic runs (machine/replay.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/chardev.h"
#include "machine/replay.h"
#include "machine/vm.h"

/*
 * Record: how many instructions between two tries at releasing held input
 * to a device that had no room (any choice works: the log says when).
 */
#define RECORD_RETRY	4096u
#define MAX_CHUNK	64u

struct replay {
	enum replay_mode mode;
	FILE *f;
	char *path;
	uint64_t next_ckpt;
	uint64_t last_try;		/* record: count of the last release attempt */
	/* Replay: the next logged event, read ahead. */
	bool have_next, at_end;
	char kind;
	uint64_t count, rip;
	uint8_t bytes[MAX_CHUNK];
	size_t len;
	uint64_t lineno;
};

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Read the next event; false at the end or on a line that does not parse. */
static bool read_next(struct replay *r)
{
	char line[2 * MAX_CHUNK + 64], hex[2 * MAX_CHUNK + 2];

	r->have_next = false;
	while (fgets(line, sizeof(line), r->f)) {
		r->lineno++;
		r->len = 0;
		if (sscanf(line, "C %" SCNu64 " %" SCNx64, &r->count, &r->rip) == 2) {
			r->kind = 'C';
		} else if (sscanf(line, "E %" SCNu64, &r->count) == 1) {
			r->kind = 'E';
		} else if (sscanf(line, "I %" SCNu64 " %130s", &r->count, hex) == 2) {
			size_t n = strlen(hex);

			if (n % 2 || n / 2 > MAX_CHUNK)
				return false;
			for (size_t i = 0; i < n / 2; i++) {
				int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);

				if (a < 0 || b < 0)
					return false;
				r->bytes[i] = (uint8_t)(a << 4 | b);
			}
			r->len = n / 2;
			r->kind = 'I';
		} else {
			return false;
		}
		r->have_next = true;
		return true;
	}
	return false;
}

int replay_open(struct vm *vm, enum replay_mode mode, const char *path, unsigned shift,
		char *err, size_t errlen)
{
	struct replay *r;
	unsigned v, s;

	if (mode == REPLAY_NONE)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->mode = mode;
	r->path = strdup(path);
	r->next_ckpt = REPLAY_CHECKPOINT;
	r->f = fopen(path, mode == REPLAY_RECORD ? "w" : "r");
	if (!r->f || !r->path) {
		snprintf(err, errlen, "-icount rr: cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (mode == REPLAY_RECORD) {
		fprintf(r->f, "tandem-rr 1 shift=%u\n", shift);
	} else {
		if (fscanf(r->f, "tandem-rr %u shift=%u\n", &v, &s) != 2 || v != 1) {
			snprintf(err, errlen, "-icount rr=replay: %s is not a tandem recording", path);
			goto fail;
		}
		if (s != shift) {
			snprintf(err, errlen, "-icount rr=replay: %s was recorded with shift=%u, "
				 "not %u", path, s, shift);
			goto fail;
		}
		r->lineno = 1;
		if (!read_next(r) && !feof(r->f)) {
			snprintf(err, errlen, "-icount rr=replay: %s: bad line %" PRIu64, path,
				 r->lineno);
			goto fail;
		}
	}
	vm->replay = r;
	chardev_set_gated(vm->serial, true);
	return 0;
fail:
	if (r->f)
		fclose(r->f);
	free(r->path);
	free(r);
	return -EINVAL;
}

void replay_close(struct vm *vm)
{
	struct replay *r = vm->replay;

	if (!r)
		return;
	if (r->mode == REPLAY_RECORD)
		fprintf(r->f, "E %" PRIu64 "\n", vm->replay_count);
	fclose(r->f);
	free(r->path);
	free(r);
	vm->replay = NULL;
}

static void diverged(struct vm *vm, struct replay *r, const char *what, uint64_t count,
		     uint64_t rip)
{
	fprintf(stderr, "tandem: replay diverged from %s at instruction %" PRIu64 ": %s "
		"(recorded RIP %#" PRIx64 ", now %#" PRIx64 "); stopping\n", r->path, count,
		what, r->rip, rip);
	r->at_end = true;
	vm_request_exit(vm, VM_EXIT_ERROR, 0);
}

static bool play(struct vm *vm, struct replay *r, uint64_t count, uint64_t rip)
{
	bool delivered = false;

	while (r->have_next && !r->at_end && count >= r->count) {
		switch (r->kind) {
		case 'I':
			if (count != r->count) {
				diverged(vm, r, "input was due earlier", count, rip);
				return delivered;
			}
			pthread_mutex_lock(&vm->lock);
			chardev_inject(vm->serial, r->bytes, r->len);
			pthread_mutex_unlock(&vm->lock);
			delivered = true;
			break;
		case 'C':
			if (count != r->count || rip != r->rip) {
				diverged(vm, r, count != r->count ? "checkpoint missed"
								  : "checkpoint RIP differs",
					 count, rip);
				return delivered;
			}
			break;
		case 'E':
			fprintf(stderr, "tandem: replay: the recording ends at instruction %" PRIu64
				"; the guest goes on live\n", r->count);
			r->at_end = true;
			chardev_set_gated(vm->serial, false);
			return delivered;
		}
		if (!read_next(r) && !feof(r->f)) {
			fprintf(stderr, "tandem: replay: %s: bad line %" PRIu64 "; stopping\n",
				r->path, r->lineno);
			r->at_end = true;
			vm_request_exit(vm, VM_EXIT_ERROR, 0);
		}
	}
	return delivered;
}

static bool record(struct vm *vm, struct replay *r, uint64_t count, uint64_t rip)
{
	uint8_t buf[MAX_CHUNK];
	size_t n;

	if (count >= r->next_ckpt) {
		fprintf(r->f, "C %" PRIu64 " %" PRIx64 "\n", count, rip);
		r->next_ckpt = count + REPLAY_CHECKPOINT;
	}
	if (!chardev_gated_pending(vm->serial) ||
	    (r->last_try && count - r->last_try < RECORD_RETRY && count != r->last_try))
		return false;
	r->last_try = count;
	pthread_mutex_lock(&vm->lock);
	n = chardev_gated_release(vm->serial, buf, sizeof(buf));
	pthread_mutex_unlock(&vm->lock);
	if (!n)
		return false;
	r->last_try = 0;	/* delivered: the next bytes may follow at once */
	fprintf(r->f, "I %" PRIu64 " ", count);
	for (size_t i = 0; i < n; i++)
		fprintf(r->f, "%02x", buf[i]);
	fputc('\n', r->f);
	fflush(r->f);
	return true;
}

bool replay_point(struct vm *vm, uint64_t count, uint64_t rip)
{
	struct replay *r = vm->replay;

	vm->replay_count = count;
	if (!r || r->at_end)
		return false;
	return r->mode == REPLAY_RECORD ? record(vm, r, count, rip) : play(vm, r, count, rip);
}

uint64_t replay_next(struct vm *vm, uint64_t count)
{
	struct replay *r = vm->replay;
	uint64_t next;

	if (!r || r->at_end)
		return UINT64_MAX;
	if (r->mode == REPLAY_PLAY)
		return r->have_next ? (r->count > count ? r->count : count) : UINT64_MAX;
	next = r->next_ckpt > count ? r->next_ckpt : count;
	/* Held input: tried at the next point, or once the retry interval has passed. */
	if (chardev_gated_pending(vm->serial)) {
		uint64_t again = r->last_try ? r->last_try + RECORD_RETRY : count;

		if (again < count)
			again = count;
		if (again < next)
			next = again;
	}
	return next;
}

void replay_note(struct vm *vm, uint64_t count)
{
	vm->replay_count = count;
}
