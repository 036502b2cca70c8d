// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole-machine snapshots (machine/snapshot.h).
 *
 * Saving streams sections to a temporary file next to the target and
 * renames it into place at the end, so a failed or interrupted save never
 * leaves a half-written snapshot under the name. Loading reads the file
 * twice: once to check the hash, the framing and the configuration
 * without touching the VM, once to apply it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/cpuid.h"
#include "machine/device.h"
#include "machine/snapshot.h"
#include "machine/timer.h"
#include "machine/vm.h"
#include "machine/vmctl.h"

#define MAGIC		"TANDEMSS"
#define NAME_LEN	16
#define PAGE		4096u
#define HASH_LEN	32
/* No section but RAM is anywhere near this; a bigger length is corruption. */
#define MAX_META	(16u << 20)

struct sec_hdr {
	char name[NAME_LEN];
	uint32_t version, rsvd;
	uint64_t len;
};
_Static_assert(sizeof(struct sec_hdr) == 32, "section header layout");

/* Device threads stopped (and drained) while guest RAM and device state move. */
static void quiesce_all(struct vm *vm)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (d->ops->quiesce)
			d->ops->quiesce(d);
}

static void resume_all(struct vm *vm)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (d->ops->resume)
			d->ops->resume(d);
}

/* ---- writing ----------------------------------------------------------- */

struct writer {
	FILE *f;
	GChecksum *sum;
	int err;		/* first errno */
};

static void w_put(struct writer *w, const void *p, size_t n)
{
	if (w->err || !n)
		return;
	if (fwrite(p, 1, n, w->f) != n) {
		w->err = errno ? errno : EIO;
		return;
	}
	g_checksum_update(w->sum, p, (gssize)n);
}

static void w_section(struct writer *w, const char *name, uint64_t len)
{
	struct sec_hdr h = { .version = 1, .len = len };

	snprintf(h.name, sizeof(h.name), "%s", name);
	w_put(w, &h, sizeof(h));
}

static void cpuid_hash(char out[65])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(c, (const guchar *)&cpuid_global, sizeof(cpuid_global));
	snprintf(out, 65, "%s", g_checksum_get_string(c));
	g_checksum_free(c);
}

/* The "config" text: the first block of keys must match at restore. */
static char *config_text(struct vm *vm, bool with_info)
{
	GString *s = g_string_new(NULL);
	char hash[65];

	cpuid_hash(hash);
	g_string_append_printf(s, "board=pc\nram=%llu\nvcpus=%u\ncpuid=%s\ndevices=",
			       (unsigned long long)vm->cfg.ram_size, vm->nr_vcpus, hash);
	for (struct device *d = vm->devices; d; d = d->next)
		g_string_append_printf(s, "%s%s:%s", d == vm->devices ? "" : ",", d->name,
				       d->ops->type ? d->ops->type : "?");
	g_string_append_c(s, '\n');
	if (with_info)
		g_string_append_printf(s, "engine=%s\ntandem=%s\n", vm->accel->name,
				       PACKAGE_VERSION);
	return g_string_free(s, FALSE);
}

static bool page_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

static void w_ram(struct writer *w, const struct mem_region *r)
{
	uint64_t pages = r->size / PAGE, nbytes = (pages + 7) / 8, present = 0;
	uint8_t *bitmap = calloc(1, nbytes ? nbytes : 1);
	const uint8_t *base = r->host;

	if (!bitmap) {
		w->err = ENOMEM;
		return;
	}
	for (uint64_t i = 0; i < pages; i++)
		if (!page_zero(base + i * PAGE)) {
			bitmap[i / 8] |= 1u << (i % 8);
			present++;
		}
	w_section(w, "ram", 16 + nbytes + present * PAGE);
	w_put(w, &r->gpa, 8);
	w_put(w, &r->size, 8);
	w_put(w, bitmap, nbytes);
	for (uint64_t i = 0; i < pages; i++)
		if (bitmap[i / 8] & (1u << (i % 8)))
			w_put(w, base + i * PAGE, PAGE);
	free(bitmap);
}

int vm_snapshot_save(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct writer w = { .sum = g_checksum_new(G_CHECKSUM_SHA256) };
	char *tmp = g_strdup_printf("%s.tmp%d", path, (int)getpid());
	struct dev_buf db = { 0 };
	uint8_t digest[HASH_LEN];
	gsize dlen = sizeof(digest);
	uint32_t hdr[2] = { SNAPSHOT_FORMAT_VERSION, 0 };
	bool quiesced = false;
	char *conf;
	int ret = 0;

	for (struct device *d = vm->devices; d; d = d->next)
		if (!d->ops->save) {
			snprintf(err, errlen, "snapshot: device '%s' (%s) cannot be saved", d->name,
				 d->ops->type ? d->ops->type : "?");
			ret = -EOPNOTSUPP;
			goto out;
		}
	w.f = fopen(tmp, "wb");
	if (!w.f) {
		ret = -errno;
		snprintf(err, errlen, "snapshot: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* No request in flight: each is either done (in RAM and the used ring) or not begun. */
	quiesce_all(vm);
	quiesced = true;
	w_put(&w, MAGIC, 8);
	w_put(&w, hdr, sizeof(hdr));

	conf = config_text(vm, true);
	{
		char clock[64];

		snprintf(clock, sizeof(clock), "clock_ns=%llu\n",
			 (unsigned long long)vm_clock_ns(vm));
		w_section(&w, "config", strlen(conf) + strlen(clock));
		w_put(&w, conf, strlen(conf));
		w_put(&w, clock, strlen(clock));
	}
	g_free(conf);

	for (unsigned i = 0; i < vm->nr_vcpus && !w.err; i++) {
		struct x86_state st;
		uint32_t h[2] = { i, sizeof(st) };
		uint8_t mp;

		ret = vcpu_state_access(vm->vcpus[i], &st, false);
		if (ret) {
			snprintf(err, errlen, "snapshot: cannot read vCPU %u's state: %s", i,
				 strerror(-ret));
			goto out_close;
		}
		/* An AP the guest has not started (or sent INIT) waits for a STARTUP IPI. */
		pthread_mutex_lock(&vm->halt_lock);
		mp = vm->vcpus[i]->wait_sipi;
		pthread_mutex_unlock(&vm->halt_lock);
		w_section(&w, "cpu", sizeof(h) + sizeof(st) + 1);
		w_put(&w, h, sizeof(h));
		w_put(&w, &st, sizeof(st));
		w_put(&w, &mp, 1);
	}

	pthread_mutex_lock(&vm->lock);
	for (struct device *d = vm->devices; d && !w.err; d = d->next) {
		uint8_t n = (uint8_t)strlen(d->name);

		db.len = 0;
		ret = d->ops->save(d, &db);
		if (ret) {
			pthread_mutex_unlock(&vm->lock);
			snprintf(err, errlen, "snapshot: device '%s': %s", d->name, strerror(-ret));
			goto out_close;
		}
		w_section(&w, "device", 1 + n + db.len);
		w_put(&w, &n, 1);
		w_put(&w, d->name, n);
		w_put(&w, db.data, db.len);
	}
	pthread_mutex_unlock(&vm->lock);

	for (unsigned i = 0; i < vm->nr_ram && !w.err; i++)
		w_ram(&w, &vm->ram[i]);

	w_section(&w, "end", HASH_LEN);
	g_checksum_get_digest(w.sum, digest, &dlen);
	if (!w.err && fwrite(digest, 1, HASH_LEN, w.f) != HASH_LEN)
		w.err = errno ? errno : EIO;
	if (!w.err && (fflush(w.f) || fdatasync(fileno(w.f))))
		w.err = errno;
	if (w.err) {
		ret = -w.err;
		snprintf(err, errlen, "snapshot: writing %s: %s", tmp, strerror(w.err));
	}
out_close:
	if (fclose(w.f) && !ret) {
		ret = -errno;
		snprintf(err, errlen, "snapshot: writing %s: %s", tmp, strerror(errno));
	}
	if (!ret && rename(tmp, path)) {
		ret = -errno;
		snprintf(err, errlen, "snapshot: cannot rename %s to %s: %s", tmp, path,
			 strerror(errno));
	}
	if (ret)
		unlink(tmp);
	if (quiesced)
		resume_all(vm);
out:
	dev_buf_free(&db);
	g_checksum_free(w.sum);
	g_free(tmp);
	return ret;
}

/* ---- reading ----------------------------------------------------------- */

struct reader {
	FILE *f;
	uint64_t size, pos;
	GChecksum *sum;		/* NULL: not hashing */
};

static bool r_get(struct reader *r, void *p, size_t n)
{
	if (n > r->size - r->pos || fread(p, 1, n, r->f) != n)
		return false;
	r->pos += n;
	if (r->sum)
		g_checksum_update(r->sum, p, (gssize)n);
	return true;
}

/* Skip @n bytes (hashing them). */
static bool r_skip(struct reader *r, uint64_t n)
{
	uint8_t buf[65536];

	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);

		if (!r_get(r, buf, k))
			return false;
		n -= k;
	}
	return true;
}

static bool r_section(struct reader *r, struct sec_hdr *h)
{
	if (!r_get(r, h, sizeof(*h)))
		return false;
	h->name[NAME_LEN - 1] = 0;
	return h->len <= r->size - r->pos;
}

/* The value of @key in config text @conf, copied to @buf; NULL if absent. */
static const char *conf_get(const char *conf, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	for (const char *l = conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);

		if (n > k && !strncmp(l, key, k) && l[k] == '=') {
			snprintf(buf, len, "%.*s", (int)(n - k - 1), l + k + 1);
			return buf;
		}
	}
	return NULL;
}

/* The keys that must match, and what to call them in the refusal. */
static const struct {
	const char *key, *what;
} must_match[] = {
	{ "board", "board" },
	{ "ram", "RAM size (bytes)" },
	{ "vcpus", "number of vCPUs" },
	{ "cpuid", "CPU model (CPUID hash)" },
	{ "devices", "device list" },
};

static int check_config(struct vm *vm, const char *conf, char *err, size_t errlen)
{
	char *mine = config_text(vm, false);
	char a[2048], b[2048];
	int ret = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(must_match) && !ret; i++) {
		const char *theirs = conf_get(conf, must_match[i].key, a, sizeof(a));
		const char *ours = conf_get(mine, must_match[i].key, b, sizeof(b));

		if (!theirs || strcmp(theirs, ours)) {
			snprintf(err, errlen, "snapshot: taken on another machine configuration: "
				 "%s is %s there, %s here", must_match[i].what,
				 theirs ? theirs : "missing", ours);
			ret = -EINVAL;
		}
	}
	g_free(mine);
	return ret;
}

static int open_reader(struct reader *r, const char *path, char *err, size_t errlen)
{
	char magic[8];
	uint32_t hdr[2];

	r->f = fopen(path, "rb");
	if (!r->f) {
		snprintf(err, errlen, "snapshot: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fseeko(r->f, 0, SEEK_END) || (r->size = (uint64_t)ftello(r->f)) == (uint64_t)-1 ||
	    fseeko(r->f, 0, SEEK_SET)) {
		snprintf(err, errlen, "snapshot: cannot read %s", path);
		return -EIO;
	}
	r->pos = 0;
	if (!r_get(r, magic, 8) || memcmp(magic, MAGIC, 8) || !r_get(r, hdr, sizeof(hdr))) {
		snprintf(err, errlen, "snapshot: %s is not a tandem snapshot", path);
		return -EINVAL;
	}
	if (hdr[0] > SNAPSHOT_FORMAT_VERSION || hdr[0] == 0) {
		snprintf(err, errlen, "snapshot: %s has format %u; this tandem reads format %u",
			 path, hdr[0], SNAPSHOT_FORMAT_VERSION);
		return -EINVAL;
	}
	return 0;
}

/* Pass 1: hash, framing, configuration; nothing is applied. */
static int check_file(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct reader r = { .sum = g_checksum_new(G_CHECKSUM_SHA256) };
	bool have_conf = false, ended = false;
	unsigned cpus = 0;
	int ret;

	ret = open_reader(&r, path, err, errlen);
	while (!ret && !ended) {
		struct sec_hdr h;

		if (!r_section(&r, &h)) {
			snprintf(err, errlen, "snapshot: %s is truncated or corrupt (at byte %llu)",
				 path, (unsigned long long)r.pos);
			ret = -EINVAL;
			break;
		}
		if (!strcmp(h.name, "end")) {
			uint8_t want[HASH_LEN], got[HASH_LEN];
			gsize glen = sizeof(got);

			g_checksum_get_digest(r.sum, got, &glen);
			g_checksum_free(r.sum);
			r.sum = NULL;
			if (h.len != HASH_LEN || !r_get(&r, want, HASH_LEN) || memcmp(want, got, HASH_LEN)) {
				snprintf(err, errlen, "snapshot: %s is corrupt (checksum mismatch)", path);
				ret = -EINVAL;
			}
			ended = true;
		} else if (!strcmp(h.name, "config")) {
			char *conf;

			if (h.len > MAX_META || !(conf = g_malloc0(h.len + 1)) ||
			    !r_get(&r, conf, h.len)) {
				snprintf(err, errlen, "snapshot: %s: bad config section", path);
				ret = -EINVAL;
				break;
			}
			ret = check_config(vm, conf, err, errlen);
			g_free(conf);
			have_conf = true;
		} else if (!have_conf) {
			snprintf(err, errlen, "snapshot: %s: no config section first", path);
			ret = -EINVAL;
		} else if (!strcmp(h.name, "cpu")) {
			uint32_t hh[2];

			if (h.len != 8 + sizeof(struct x86_state) + 1 || !r_get(&r, hh, 8) ||
			    hh[1] != sizeof(struct x86_state) || hh[0] != cpus) {
				snprintf(err, errlen, "snapshot: %s: vCPU state from an incompatible "
					 "tandem build or out of order", path);
				ret = -EINVAL;
				break;
			}
			cpus++;
			if (!r_skip(&r, h.len - 8))
				ret = -EINVAL;
		} else if (!strcmp(h.name, "device") || !strcmp(h.name, "ram")) {
			if (!r_skip(&r, h.len))
				ret = -EINVAL;
		} else {
			snprintf(err, errlen, "snapshot: %s: unknown section '%s'", path, h.name);
			ret = -EINVAL;
		}
		if (ret == -EINVAL && !err[0])
			snprintf(err, errlen, "snapshot: %s is truncated", path);
	}
	if (!ret && cpus != vm->nr_vcpus) {
		snprintf(err, errlen, "snapshot: %s holds %u vCPUs, this VM has %u", path, cpus,
			 vm->nr_vcpus);
		ret = -EINVAL;
	}
	if (!ret && r.pos != r.size) {
		snprintf(err, errlen, "snapshot: %s has %llu bytes after its end", path,
			 (unsigned long long)(r.size - r.pos));
		ret = -EINVAL;
	}
	if (r.sum)
		g_checksum_free(r.sum);
	if (r.f)
		fclose(r.f);
	return ret;
}

static int load_ram(struct vm *vm, struct reader *r, uint64_t len, char *err, size_t errlen)
{
	uint64_t gpa, size, pages, nbytes;
	struct mem_region *reg = NULL;
	uint8_t *bitmap;
	int ret = 0;

	if (len < 16 || !r_get(r, &gpa, 8) || !r_get(r, &size, 8))
		return -EINVAL;
	for (unsigned i = 0; i < vm->nr_ram; i++)
		if (vm->ram[i].gpa == gpa && vm->ram[i].size == size)
			reg = &vm->ram[i];
	if (!reg) {
		snprintf(err, errlen, "snapshot: RAM region %#llx+%#llx is not in this VM",
			 (unsigned long long)gpa, (unsigned long long)size);
		return -EINVAL;
	}
	pages = size / PAGE;
	nbytes = (pages + 7) / 8;
	bitmap = malloc(nbytes ? nbytes : 1);
	if (!bitmap)
		return -ENOMEM;
	if (!r_get(r, bitmap, nbytes)) {
		ret = -EINVAL;
		goto out;
	}
	for (uint64_t i = 0; i < pages; i++) {
		uint8_t *p = (uint8_t *)reg->host + i * PAGE;

		if (bitmap[i / 8] & (1u << (i % 8))) {
			if (!r_get(r, p, PAGE)) {
				ret = -EINVAL;
				break;
			}
		} else if (!page_zero(p)) {
			memset(p, 0, PAGE);
		}
	}
	/* Whatever an engine cached from RAM (translations, decodes) is stale. */
	vm_mem_written(vm, gpa, size);
out:
	free(bitmap);
	return ret;
}

int vm_snapshot_load(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct reader r = { 0 };
	bool quiesced = false;
	unsigned cpu = 0;
	int ret;

	err[0] = 0;
	ret = check_file(vm, path, err, errlen);
	if (ret)
		return ret;
	ret = open_reader(&r, path, err, errlen);
	if (!ret) {
		quiesce_all(vm);
		quiesced = true;
	}
	while (!ret) {
		struct sec_hdr h;

		if (!r_section(&r, &h)) {
			ret = -EINVAL;
			break;
		}
		if (!strcmp(h.name, "end")) {
			break;
		} else if (!strcmp(h.name, "config")) {
			char *conf = g_malloc0(h.len + 1), buf[64];

			if (!r_get(&r, conf, h.len))
				ret = -EINVAL;
			else if (conf_get(conf, "clock_ns", buf, sizeof(buf)))
				vm_clock_restore(vm, strtoull(buf, NULL, 10));
			g_free(conf);
		} else if (!strcmp(h.name, "cpu")) {
			struct x86_state st;
			uint32_t hh[2];
			uint8_t mp;

			if (!r_get(&r, hh, 8) || !r_get(&r, &st, sizeof(st)) || !r_get(&r, &mp, 1)) {
				ret = -EINVAL;
				break;
			}
			ret = vcpu_state_access(vm->vcpus[cpu], &st, true);
			pthread_mutex_lock(&vm->halt_lock);
			vm->vcpus[cpu]->wait_sipi = cpu && mp;
			vm->vcpus[cpu]->init_req = false;
			vm->vcpus[cpu]->sipi_req = -1;
			pthread_mutex_unlock(&vm->halt_lock);
			if (ret)
				snprintf(err, errlen, "snapshot: vCPU %u refused its state: %s", cpu,
					 strerror(-ret));
			cpu++;
		} else if (!strcmp(h.name, "device")) {
			uint8_t n;
			char name[256];
			uint8_t *data;
			struct device *d;

			if (!r_get(&r, &n, 1) || 1 + (uint64_t)n > h.len || !r_get(&r, name, n)) {
				ret = -EINVAL;
				break;
			}
			name[n] = 0;
			d = device_find(vm, name);
			data = malloc(h.len - 1 - n + 1);
			if (!d || !d->ops->load || !data || !r_get(&r, data, h.len - 1 - n)) {
				if (!err[0])
					snprintf(err, errlen, "snapshot: device '%s' cannot be restored "
						 "here", name);
				free(data);
				ret = -EINVAL;
				break;
			}
			pthread_mutex_lock(&vm->lock);
			ret = d->ops->load(d, data, h.len - 1 - n, err, errlen);
			pthread_mutex_unlock(&vm->lock);
			free(data);
		} else if (!strcmp(h.name, "ram")) {
			ret = load_ram(vm, &r, h.len, err, errlen);
		} else {
			ret = -EINVAL;
		}
	}
	if (ret && !err[0])
		snprintf(err, errlen, "snapshot: %s changed while it was read", path);
	if (r.f)
		fclose(r.f);
	if (quiesced)
		resume_all(vm);
	return ret;
}
