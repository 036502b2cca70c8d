// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tandem bench: race the engines on one guest.
 *
 *	tandem bench [--nano] [--accel=LIST] [--kernel FILE] [--size SIZE]
 *		     [--repeat N] [--json FILE] [--timeout SECONDS]
 *
 * Workloads (default): each workload of the bench guest (tests/bench/,
 * linked into this binary) runs once per boot on each target, a child
 * process each: this tandem itself (/proc/self/exe) with the engine's
 * --accel, or QEMU TCG, so a crash in one engine cannot take the bench
 * down. The host stamps the guest's `bench: start NAME` and `bench: end
 * NAME checksum 0x...` lines as they arrive on the serial console (a
 * pipe); the time between them is the workload's. The native baseline is
 * the same workloads.c, compiled with the guest's code generation flags
 * and linked into this binary, run in this process. Checksums must agree
 * with native's (with the first target's for a --kernel guest).
 *
 * --nano: the nano guest (tests/bench/nano.c) on each target; it prints
 * `nano: op NAME CYCLES` lines, cycles per operation by the guest's TSC.
 *
 * The protocols and the JSON schema are in tests/bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/bench.h"
#include "tests/bench/workloads.h"

/* machine/bench_blob.S */
extern const unsigned char bench_guest[], bench_guest_end[];
extern const unsigned char nano_guest[], nano_guest_end[];

#define BENCH_MAX_REPEAT	1000
#define BENCH_MAX_ITEMS		64	/* workloads or nano ops */
#define BENCH_ERR_LEN		512

enum target_kind { TARGET_NATIVE, TARGET_TANDEM, TARGET_QEMU };

struct target {
	const char *name;
	const char *accel;		/* TARGET_TANDEM: --accel= value */
	enum target_kind kind;
	bool in_default;		/* run when --accel is not given */
	bool selected;
	char why[256];			/* non-empty: cannot run here */
	char desc[256];
};

static struct target targets[] = {
	{ "native", NULL, TARGET_NATIVE, true },
	{ "sw", "sw", TARGET_TANDEM, true },
	{ "sw-nojit", "sw,jit=off", TARGET_TANDEM, true },
	{ "kvm", "kvm", TARGET_TANDEM, true },
	{ "kvm-r0", "kvm,ring0=kvm", TARGET_TANDEM, true },
	{ "qemu", NULL, TARGET_QEMU, true },
};
#define NR_TARGETS	(sizeof(targets) / sizeof(targets[0]))

/* One workload or nano op. */
struct item {
	char *name;
	char *desc;
	char checksum[24];		/* workloads: the reference, "" until known */
};

/* One (target, item) cell. */
struct cell {
	bool ran, failed;
	char error[BENCH_ERR_LEN];
	char na[BENCH_ERR_LEN];		/* nano: cannot be measured there, and why */
	char checksum[24];
	unsigned nr;
	double v[BENCH_MAX_REPEAT];	/* seconds or cycles, one per run */
	double startup;			/* workloads: spawn to the start line, min */
	double min, median, max;
};

struct bench {
	bool nano;
	const char *kernel;		/* NULL: built in */
	const char *size;
	unsigned repeat;
	unsigned timeout_s;
	const char *json;
	char *qemu;
	char kernel_path[64];		/* what the children open */
	int kernel_fd;
	struct item items[BENCH_MAX_ITEMS];
	unsigned nr_items;
	struct cell cells[NR_TARGETS][BENCH_MAX_ITEMS];
	bool progress;
	unsigned step, steps;
	bool failed;
};

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void cell_stats(struct cell *c)
{
	double s[BENCH_MAX_REPEAT];

	if (!c->nr)
		return;
	memcpy(s, c->v, c->nr * sizeof(s[0]));
	qsort(s, c->nr, sizeof(s[0]), cmp_double);
	c->min = s[0];
	c->max = s[c->nr - 1];
	c->median = c->nr & 1 ? s[c->nr / 2] : (s[c->nr / 2 - 1] + s[c->nr / 2]) / 2;
}

static void cell_fail(struct bench *b, struct cell *c, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
static void cell_fail(struct bench *b, struct cell *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->failed = true;
	b->failed = true;
}

/* Printable, single-line, at most @max bytes of the end of @s. */
static void tail_line(char *out, size_t len, const char *s, size_t max)
{
	size_t n = strlen(s), j = 0;

	if (n > max)
		s += n - max;
	for (; *s && j + 1 < len; s++)
		out[j++] = (*s == '\n' || *s == '\r') ? '|' : (*s < ' ' || *s > '~') ? '?' : *s;
	out[j] = 0;
}

static struct target *target_find(const char *name)
{
	if (!strcmp(name, "hw"))
		name = "kvm";
	for (unsigned i = 0; i < NR_TARGETS; i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

static unsigned target_index(const struct target *t)
{
	return (unsigned)(t - targets);
}

static char *find_qemu(void)
{
	const char *env = getenv("QEMU_SYSTEM");
	const char *path = getenv("PATH");
	char **dirs;
	char *found = NULL;

	if (env && *env)
		return access(env, X_OK) ? NULL : g_strdup(env);
	dirs = g_strsplit(path ? path : "/usr/local/bin:/usr/bin:/bin", ":", -1);
	for (unsigned i = 0; dirs[i] && !found; i++) {
		char *p = g_build_filename(*dirs[i] ? dirs[i] : ".", "qemu-system-x86_64", NULL);

		if (!access(p, X_OK))
			found = p;
		else
			g_free(p);
	}
	g_strfreev(dirs);
	return found;
}

/* ---- which targets can run here ------------------------------------------ */

static void probe_tandem(struct target *t)
{
	char engine[16], *comma;
	const struct accel_ops *a;

	snprintf(engine, sizeof(engine), "%s", t->accel);
	comma = strchr(engine, ',');
	if (comma)
		*comma = 0;
	snprintf(t->desc, sizeof(t->desc), "tandem --accel=%s", t->accel);
	a = accel_find(engine);
	if (!a) {
		snprintf(t->why, sizeof(t->why), "this tandem has no %s engine", engine);
		return;
	}
	if (a->probe(t->why, sizeof(t->why))) {
		if (!t->why[0])
			snprintf(t->why, sizeof(t->why), "%s not usable", engine);
		return;
	}
	t->why[0] = 0;
	if (comma && accel_check_opts(a, comma + 1, t->why, sizeof(t->why)))
		return;
	t->why[0] = 0;
	/* The development hosts' nested KVM, where the kvm engine splits the guest. */
	if (!strcmp(engine, "kvm") && !access("/sys/module/kvm_pvm", F_OK))
		snprintf(t->desc + strlen(t->desc), sizeof(t->desc) - strlen(t->desc), "%s",
			 comma ? " (kvm_pvm: everything in KVM)" :
				 " (kvm_pvm: guest ring 0 on sw, 64-bit ring 3 in KVM)");
}

/* "QEMU 7.2.19" from `qemu-system-x86_64 --version`, or NULL. */
static char *qemu_version(const char *qemu)
{
	char *argv[] = { (char *)qemu, (char *)"--version", NULL };
	char *out = NULL, *v = NULL, *p;
	int status;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			  &status, NULL))
		return NULL;
	p = out ? strstr(out, "version ") : NULL;
	if (p) {
		p += 8;
		v = g_strndup(p, strcspn(p, " \n("));
	}
	g_free(out);
	return v;
}

static void probe_targets(struct bench *b)
{
	for (unsigned i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];

		t->why[0] = 0;
		switch (t->kind) {
		case TARGET_NATIVE:
			snprintf(t->desc, sizeof(t->desc),
				 "the host CPU: the same workloads.c, linked into tandem");
			if (b->nano)
				snprintf(t->why, sizeof(t->why),
					 "the nano guest needs ring 0 (see the paper's column)");
			else if (b->kernel)
				snprintf(t->why, sizeof(t->why),
					 "no native build of a --kernel guest");
			break;
		case TARGET_TANDEM:
			probe_tandem(t);
			break;
		case TARGET_QEMU:
			b->qemu = find_qemu();
			if (!b->qemu) {
				const char *env = getenv("QEMU_SYSTEM");

				snprintf(t->desc, sizeof(t->desc), "qemu-system-x86_64 -accel tcg");
				if (env && *env)
					snprintf(t->why, sizeof(t->why),
						 "QEMU_SYSTEM=%s is not executable", env);
				else
					snprintf(t->why, sizeof(t->why),
						 "qemu-system-x86_64 not in PATH (Debian: "
						 "qemu-system-x86)");
			} else {
				char *v = qemu_version(b->qemu);

				snprintf(t->desc, sizeof(t->desc), "%s -accel tcg%s%s%s", b->qemu,
					 v ? " (QEMU " : "", v ? v : "", v ? ")" : "");
				g_free(v);
			}
			break;
		}
	}
}

/* ---- one guest run --------------------------------------------------------- */

struct run {
	GString *out;			/* the serial console */
	GString *err;			/* the child's stderr */
	double t_spawn, t_start, t_end;	/* host stamps; 0: line not seen */
	int status;			/* exit status, -1 killed */
	bool timed_out;
};

/* The child's argument vector for guest command line @append on @t. */
static char **guest_argv(struct bench *b, const struct target *t, const char *append)
{
	GPtrArray *a = g_ptr_array_new();

	if (t->kind == TARGET_QEMU) {
		const char *qemu_args[] = {
			"-accel", "tcg", "-M", "pc", "-m", "128", "-display", "none",
			"-no-reboot", "-serial", "stdio", "-monitor", "none",
			"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL
		};

		g_ptr_array_add(a, g_strdup(b->qemu));
		for (unsigned i = 0; qemu_args[i]; i++)
			g_ptr_array_add(a, g_strdup(qemu_args[i]));
		g_ptr_array_add(a, g_strdup("-kernel"));
	} else {
		g_ptr_array_add(a, g_strdup("tandem"));
		g_ptr_array_add(a, g_strdup_printf("--accel=%s", t->accel));
		g_ptr_array_add(a, g_strdup("--no-reboot"));
		g_ptr_array_add(a, g_strdup("--serial=stdio"));
		g_ptr_array_add(a, g_strdup("--kernel"));
	}
	g_ptr_array_add(a, g_strdup(b->kernel_path));
	g_ptr_array_add(a, g_strdup(t->kind == TARGET_QEMU ? "-append" : "--append"));
	g_ptr_array_add(a, g_strdup(append));
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

/* Stamp the marker lines of the bench protocol in the new output from @from. */
static void stamp_lines(struct run *r, size_t from, double t)
{
	const char *s = r->out->str, *nl;

	/* Back to the start of the line @from is in. */
	while (from > 0 && s[from - 1] != '\n')
		from--;
	for (const char *l = s + from; (nl = strchr(l, '\n')); l = nl + 1) {
		if (!r->t_start && !strncmp(l, "bench: start ", 13))
			r->t_start = t;
		else if (!r->t_end && !strncmp(l, "bench: end ", 11))
			r->t_end = t;
	}
}

/* Drain @fd into @s; false at EOF or error. */
static bool drain(int fd, GString *s, size_t cap)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (s->len < cap)
		g_string_append_len(s, buf, n);
	return true;
}

static int run_guest(struct bench *b, const struct target *t, const char *append,
		     struct run *r, char *err, size_t errlen)
{
	int out[2], errp[2], null_fd, wst = 0;
	char **argv = guest_argv(b, t, append);
	const char *exe = t->kind == TARGET_QEMU ? b->qemu : "/proc/self/exe";
	bool out_open = true, err_open = true;
	double deadline;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->out = g_string_new(NULL);
	r->err = g_string_new(NULL);
	r->status = -1;
	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		g_strfreev(argv);
		return -errno;
	}
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	r->t_spawn = now_s();
	pid = fork();
	if (pid == 0) {
		if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(errp[1], 2) < 0)
			_exit(127);
		/* The bench may run with SIGPIPE or SIGINT ignored; the guest not. */
		signal(SIGPIPE, SIG_DFL);
		execv(exe, argv);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	if (null_fd >= 0)
		close(null_fd);
	g_strfreev(argv);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(out[0]);
		close(errp[0]);
		return -EAGAIN;
	}

	deadline = r->t_spawn + b->timeout_s;
	while (out_open || err_open) {
		struct pollfd p[2] = { { out_open ? out[0] : -1, POLLIN, 0 },
				       { err_open ? errp[0] : -1, POLLIN, 0 } };
		double left = deadline - now_s();
		int n;

		if (left <= 0) {
			r->timed_out = true;
			break;
		}
		n = poll(p, 2, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[0].revents) {
			size_t from = r->out->len;

			out_open = drain(out[0], r->out, 1 << 20);
			stamp_lines(r, from, now_s());
		}
		if (p[1].revents)
			err_open = drain(errp[0], r->err, 1 << 16);
	}
	close(out[0]);
	close(errp[0]);
	/*
	 * Reap it, also when it closed its output and went on: by the
	 * deadline, TERM (the engines dump and stop), 5 s later KILL.
	 */
	for (double kill_at = 0;;) {
		pid_t w = waitpid(pid, &wst, WNOHANG);
		double t = now_s();

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -ECHILD;
		}
		if (!kill_at && (r->timed_out || t >= deadline)) {
			r->timed_out = true;
			kill(pid, SIGTERM);
			kill_at = t + 5;
		} else if (kill_at && t >= kill_at) {
			kill(pid, SIGKILL);
			kill_at = t + 3600;
		}
		usleep(10000);
	}
	if (!r->timed_out && WIFEXITED(wst))
		r->status = WEXITSTATUS(wst);
	return 0;
}

static void run_free(struct run *r)
{
	if (r->out)
		g_string_free(r->out, TRUE);
	if (r->err)
		g_string_free(r->err, TRUE);
	r->out = r->err = NULL;
}

/* Why @r is not a clean run, into @why; false when it is one. */
static bool run_bad(const struct run *r, const char *need, char *why, size_t len)
{
	char out[160], err[200], **lines;
	GString *e;

	/* The guest's own exit: debug-exit 0 ((0 << 1) | 1) or power-off. */
	if (!r->timed_out && (r->status == 0 || r->status == 1) && strstr(r->out->str, need))
		return false;
	tail_line(out, sizeof(out), r->out->str, 150);
	/* The child tandem's own lines ("tandem: engine ...") say nothing here. */
	e = g_string_new(NULL);
	lines = g_strsplit(r->err->str, "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l && strncmp(*l, "tandem: engine ", 15))
			g_string_append_printf(e, "%s\n", *l);
	g_strfreev(lines);
	tail_line(err, sizeof(err), e->str, 190);
	g_string_free(e, TRUE);
	if (r->timed_out)
		snprintf(why, len, "timed out (--timeout); serial: %s; stderr: %s", out, err);
	else
		snprintf(why, len, "exit status %d; serial: %s; stderr: %s", r->status, out, err);
	return true;
}

/* ---- the progress line ----------------------------------------------------- */

static void progress(struct bench *b, const char *target, const char *item, unsigned run)
{
	if (!b->progress)
		return;
	if (!target) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	fprintf(stderr, "\r\033[Ktandem bench: [%u/%u] %s %s", ++b->step, b->steps, target, item);
	if (b->repeat > 1)
		fprintf(stderr, " (run %u/%u)", run + 1, b->repeat);
	fprintf(stderr, " ...");
	fflush(stderr);
}

/* ---- workloads ------------------------------------------------------------ */

/* Names from a --kernel guest go into command lines and onto the terminal. */
static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 31)
		return false;
	for (; *name; name++)
		if (!g_ascii_isalnum(*name) && !strchr("_.-", *name))
			return false;
	return true;
}

static void add_item(struct bench *b, const char *name, const char *desc)
{
	if (b->nr_items >= BENCH_MAX_ITEMS || !valid_name(name))
		return;
	for (unsigned i = 0; i < b->nr_items; i++)
		if (!strcmp(b->items[i].name, name))
			return;
	b->items[b->nr_items].name = g_strdup(name);
	b->items[b->nr_items].desc = g_strdup(desc ? desc : "");
	b->nr_items++;
}

/* A --kernel guest's workloads, by `bench=list` on the first target that runs. */
static int list_workloads(struct bench *b, char *err, size_t errlen)
{
	char why[BENCH_ERR_LEN] = "no engine to ask";

	for (unsigned i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];
		struct run r;

		if (!t->selected || t->why[0] || t->kind == TARGET_NATIVE)
			continue;
		if (run_guest(b, t, "bench=list", &r, why, sizeof(why))) {
			run_free(&r);
			continue;
		}
		if (!run_bad(&r, "bench: workload ", why, sizeof(why))) {
			char **lines = g_strsplit(r.out->str, "\n", -1);

			for (char **l = lines; *l; l++) {
				char *name, *sp;

				g_strchomp(*l);
				if (strncmp(*l, "bench: workload ", 16))
					continue;
				name = *l + 16;
				sp = strchr(name, ' ');
				if (sp)
					*sp++ = 0;
				if (*name)
					add_item(b, name, sp);
			}
			g_strfreev(lines);
			run_free(&r);
			return 0;
		}
		run_free(&r);
	}
	snprintf(err, errlen, "%s lists no workloads (bench=list): %s", b->kernel, why);
	return -EINVAL;
}

static void run_native(struct bench *b)
{
	unsigned idx = target_index(target_find("native"));
	int shift = bench_size_shift(b->size);
	size_t huge = 2ul << 20;
	uint8_t *map;
	void *arena;

	map = mmap(NULL, BENCH_ARENA_SIZE + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		for (unsigned i = 0; i < b->nr_items; i++)
			cell_fail(b, &b->cells[idx][i], "mmap: %s", strerror(errno));
		return;
	}
	/* 2 MiB aligned and backed by huge pages where the host allows it,
	 * like the guest's identity map; touched once so that host page
	 * faults are not timed. */
	arena = map + (-(uintptr_t)map & (huge - 1));
	madvise(arena, BENCH_ARENA_SIZE, MADV_HUGEPAGE);
	memset(arena, 0, BENCH_ARENA_SIZE);
	for (unsigned i = 0; i < b->nr_items; i++) {
		const struct bench_workload *w = bench_find(b->items[i].name);
		struct cell *c = &b->cells[idx][i];

		c->ran = true;
		for (unsigned k = 0; k < b->repeat && w; k++) {
			double t0;
			uint64_t sum;
			char s[24];

			progress(b, "native", w->name, k);
			t0 = now_s();
			sum = w->run(arena, (unsigned)shift);
			c->v[c->nr++] = now_s() - t0;
			snprintf(s, sizeof(s), "0x%016" PRIx64, sum);
			if (k && strcmp(s, c->checksum)) {
				cell_fail(b, c, "checksum changed between runs: %s, then %s",
					  c->checksum, s);
				break;
			}
			snprintf(c->checksum, sizeof(c->checksum), "%s", s);
		}
		cell_stats(c);
		if (!c->failed)
			snprintf(b->items[i].checksum, sizeof(b->items[i].checksum), "%s",
				 c->checksum);
	}
	munmap(map, BENCH_ARENA_SIZE + huge);
}

/* The checksum on `bench: end NAME checksum 0x...`, into @sum. */
static bool parse_end(const char *out, const char *name, char *sum, size_t len)
{
	char *want = g_strdup_printf("bench: end %s checksum 0x", name);
	const char *p = strstr(out, want);
	size_t n = 2;

	if (p) {
		p += strlen(want);
		memcpy(sum, "0x", 2);
		while (n + 1 < len && g_ascii_isxdigit(*p))
			sum[n++] = *p++;
		sum[n] = 0;
	}
	g_free(want);
	return p && n > 2;
}

static void run_workloads_on(struct bench *b, struct target *t)
{
	unsigned idx = target_index(t);

	for (unsigned i = 0; i < b->nr_items; i++) {
		struct item *it = &b->items[i];
		struct cell *c = &b->cells[idx][i];
		char *append = g_strdup_printf("bench=%s size=%s", it->name, b->size);

		c->ran = true;
		for (unsigned k = 0; k < b->repeat && !c->failed; k++) {
			char why[BENCH_ERR_LEN], *need = g_strdup_printf("bench: end %s ", it->name);
			char sum[24];
			struct run r;

			progress(b, t->name, it->name, k);
			if (run_guest(b, t, append, &r, why, sizeof(why))) {
				cell_fail(b, c, "%s", why);
			} else if (run_bad(&r, need, why, sizeof(why))) {
				cell_fail(b, c, "%s", why);
			} else if (!parse_end(r.out->str, it->name, sum, sizeof(sum)) ||
				   !r.t_start || r.t_end < r.t_start) {
				tail_line(why, sizeof(why), r.out->str, 200);
				cell_fail(b, c, "no start and end lines for %s: %s", it->name, why);
			} else if (k && strcmp(sum, c->checksum)) {
				cell_fail(b, c, "checksum changed between runs: %s, then %s",
					  c->checksum, sum);
			} else {
				double st = r.t_start - r.t_spawn;

				snprintf(c->checksum, sizeof(c->checksum), "%s", sum);
				c->v[c->nr++] = r.t_end - r.t_start;
				if (!k || st < c->startup)
					c->startup = st;
			}
			g_free(need);
			run_free(&r);
		}
		g_free(append);
		cell_stats(c);
		if (c->failed)
			continue;
		/* The first checksum seen is the reference (native's, when it ran). */
		if (!it->checksum[0])
			snprintf(it->checksum, sizeof(it->checksum), "%s", c->checksum);
		else if (strcmp(it->checksum, c->checksum))
			cell_fail(b, c, "checksum %s, want %s", c->checksum, it->checksum);
	}
}

/* ---- nano ----------------------------------------------------------------- */

/* The nano guest's ops, in its order, with what each one does. */
static const struct {
	const char *name, *desc;
} nano_ops[] = {
	{ "syscall", "SYSCALL + SYSRETQ round trip from CPL 3" },
	{ "in_dev", "IN from port 0x61 (PIT/port B), CPL 0" },
	{ "in_none", "IN from unmapped port 0x2e0, CPL 0" },
	{ "cr8wr", "MOV to CR8 (TPR), CPL 0" },
	{ "callret", "CALL + RET, CPL 0" },
	{ "pgfault", "#PF on a not-present page, handler maps it; CPL 0" },
	{ "divzero", "#DE from DIV by 0, handler skips it; CPL 0" },
	{ "ptemod", "PTE write + INVLPG, CPL 0" },
	{ "cpuid", "CPUID leaf 0, CPL 0" },
	{ "cpuid_u", "CPUID leaf 0, CPL 3" },
	{ "out_post_u", "OUT to port 0x80 (POST), CPL 3 with IOPL 3" },
	{ "loop", "one iteration of the empty loop (the overhead taken off)" },
};

/*
 * What an engine cannot run, by design rather than by a bug of ours: the
 * cell says n/a with the reason instead of failing the run. On kvm_pvm,
 * kvm,ring0=kvm leaves the guest's ring 0 to KVM, and a PVM guest is not
 * an x86 guest there (the PVM specification, Linux's
 * Documentation/virt/kvm/x86/pvm-spec.rst): user mode always runs with
 * IOPL 0, and supervisor mode returns to user mode through the PVM ABI
 * (ERETU), so the nano guest's SYSRETQ and its OUT at CPL 3 with IOPL 3
 * take #GP. tandem's default kvm (ring0=sw) runs that ring 0 on sw.
 */
static const char *nano_limit(const struct target *t, const char *op, unsigned vector)
{
	if (strcmp(t->name, "kvm-r0") || access("/sys/module/kvm_pvm", F_OK) || vector != 13)
		return NULL;
	if (!strcmp(op, "syscall"))
		return "kvm_pvm: a PVM guest kernel returns to user mode by ERETU, its SYSRETQ takes #GP";
	if (!strcmp(op, "out_post_u"))
		return "kvm_pvm: user mode always runs with IOPL 0, OUT at CPL 3 takes #GP";
	return NULL;
}

static void nano_args(const struct bench *b, char *buf, size_t len)
{
	if (!strcmp(b->size, "tiny"))
		snprintf(buf, len, "iters=200 rounds=2");
	else if (!strcmp(b->size, "small"))
		snprintf(buf, len, "iters=2000 rounds=3");
	else
		snprintf(buf, len, "iters=10000 rounds=5");
}

static void run_nano_on(struct bench *b, struct target *t)
{
	unsigned idx = target_index(t);
	char append[64];

	nano_args(b, append, sizeof(append));
	for (unsigned k = 0; k < b->repeat; k++) {
		char why[BENCH_ERR_LEN];
		struct run r;
		char **lines;
		bool seen[BENCH_MAX_ITEMS] = { false };

		progress(b, t->name, "nano", k);
		if (run_guest(b, t, append, &r, why, sizeof(why)) ||
		    run_bad(&r, "nano: done", why, sizeof(why))) {
			for (unsigned i = 0; i < b->nr_items; i++)
				if (!b->cells[idx][i].failed)
					cell_fail(b, &b->cells[idx][i], "%s", why);
			if (!b->nr_items)
				b->failed = true;
			run_free(&r);
			return;
		}
		lines = g_strsplit(r.out->str, "\n", -1);
		for (char **l = lines; *l; l++) {
			char name[32], *end;
			double v;
			unsigned i;

			g_strchomp(*l);
			if (strncmp(*l, "nano: op ", 9) || sscanf(*l + 9, "%31s", name) != 1)
				continue;
			end = *l + 9 + strlen(name);
			v = g_ascii_strtod(end, &end);
			add_item(b, name, NULL);
			for (i = 0; i < b->nr_items && strcmp(b->items[i].name, name); i++)
				;
			if (i == b->nr_items || seen[i])
				continue;
			seen[i] = true;
			b->cells[idx][i].ran = true;
			{
				unsigned vec;
				const char *why_na;

				if (sscanf(*l + 9 + strlen(name), " FAIL vector %u", &vec) == 1 &&
				    (why_na = nano_limit(t, name, vec))) {
					snprintf(b->cells[idx][i].na, sizeof(b->cells[idx][i].na),
						 "%s", why_na);
					continue;
				}
			}
			if (end == *l + 9 + strlen(name) || (*end && *end != ' ') || !isfinite(v) ||
			    v < 0)
				cell_fail(b, &b->cells[idx][i], "the guest says '%s'", *l);
			else if (!b->cells[idx][i].failed)
				b->cells[idx][i].v[b->cells[idx][i].nr++] = v;
		}
		g_strfreev(lines);
		run_free(&r);
		for (unsigned i = 0; i < b->nr_items; i++)
			if (!seen[i] && !b->cells[idx][i].failed) {
				b->cells[idx][i].ran = true;
				cell_fail(b, &b->cells[idx][i], "no 'nano: op %s' line",
					  b->items[i].name);
			}
	}
	for (unsigned i = 0; i < b->nr_items; i++)
		cell_stats(&b->cells[idx][i]);
}

/*
 * The paper's columns: K. Adams and O. Agesen, "A Comparison of Software
 * and Hardware Techniques for x86 Virtualization", ASPLOS 2006, Figure 4
 * (native, software VMM = binary translation, hardware VMM = VT-x, on a
 * Pentium 4). The published values could not be found to copy here
 * (tests/bench/README.md says where we looked), and none is made up: the
 * columns are printed, their cells say n/a, for the paper's seven ops.
 */
#define NR_PAPER	3
static const char *const paper_cols[NR_PAPER] = { "paper-native", "paper-BT", "paper-VT-x" };
static const char *const paper_ops[] = { "syscall", "in_dev", "cr8wr", "callret", "pgfault",
					 "divzero", "ptemod" };

static bool paper_op(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(paper_ops); i++)
		if (!strcmp(paper_ops[i], name))
			return true;
	return false;
}

/* ---- output --------------------------------------------------------------- */

static bool cell_ok(const struct cell *c)
{
	return c->ran && !c->failed && c->nr;
}

static char *fmt_ratio(double r)
{
	return g_strdup_printf(r >= 100 ? "%.0fx" : r >= 10 ? "%.1fx" : "%.2fx", r);
}

static char *fmt_value(const struct bench *b, double v)
{
	if (b->nano)
		return g_strdup_printf(v >= 100 ? "%.0f" : "%.1f", v);
	/* Tiny sizes run for microseconds natively: keep three digits. */
	return g_strdup_printf(v >= 0.001 || v <= 0 ? "%.3f" : "%.6f", v);
}

/*
 * Print a table: rows x columns of strings, the first column left
 * aligned and the rest right aligned, each as wide as its widest cell.
 */
static void print_table(char ***cells, unsigned rows, unsigned cols)
{
	unsigned w[NR_TARGETS + 2 + NR_PAPER] = { 0 };

	for (unsigned r = 0; r < rows; r++)
		for (unsigned c = 0; c < cols; c++)
			if (strlen(cells[r][c]) > w[c])
				w[c] = (unsigned)strlen(cells[r][c]);
	for (unsigned r = 0; r < rows; r++) {
		printf("%-*s", (int)w[0], cells[r][0]);
		for (unsigned c = 1; c < cols; c++)
			printf("  %*s", (int)w[c], cells[r][c]);
		printf("\n");
	}
}

static char ***table_new(unsigned rows, unsigned cols)
{
	char ***t = g_new0(char **, rows);

	for (unsigned r = 0; r < rows; r++)
		t[r] = g_new0(char *, cols);
	return t;
}

static void table_free(char ***t, unsigned rows, unsigned cols)
{
	for (unsigned r = 0; r < rows; r++) {
		for (unsigned c = 0; c < cols; c++)
			g_free(t[r][c]);
		g_free(t[r]);
	}
	g_free(t);
}

/* The columns: selected targets (n/a ones too, so that the shape is fixed). */
static unsigned columns(const struct bench *b, const struct target **col, bool ratio_only)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NR_TARGETS; i++) {
		if (!targets[i].selected)
			continue;
		if (b->nano && targets[i].kind == TARGET_NATIVE)
			continue;
		if (ratio_only && targets[i].kind == TARGET_NATIVE)
			continue;
		col[n++] = &targets[i];
	}
	return n;
}

static const char *cell_word(const struct target *t, const struct cell *c)
{
	if (t->why[0] || c->na[0])
		return "n/a";
	if (c->failed)
		return "FAIL";
	return "-";
}

static void print_values(const struct bench *b, bool spread)
{
	const struct target *col[NR_TARGETS];
	unsigned nc = columns(b, col, false), rows = b->nr_items + 1 + (!b->nano && !spread);
	unsigned np = b->nano && !spread ? NR_PAPER : 0;
	char ***t = table_new(rows, nc + 1 + np);

	t[0][0] = g_strdup(b->nano ? "op" : "workload");
	for (unsigned c = 0; c < nc; c++)
		t[0][c + 1] = g_strdup(col[c]->name);
	for (unsigned c = 0; c < np; c++) {
		t[0][nc + 1 + c] = g_strdup(paper_cols[c]);
		for (unsigned i = 0; i < b->nr_items; i++)
			t[i + 1][nc + 1 + c] = g_strdup(paper_op(b->items[i].name) ? "n/a" : "-");
	}
	for (unsigned i = 0; i < b->nr_items; i++) {
		t[i + 1][0] = g_strdup(b->items[i].name);
		for (unsigned c = 0; c < nc; c++) {
			const struct cell *ce = &b->cells[target_index(col[c])][i];

			if (!cell_ok(ce))
				t[i + 1][c + 1] = g_strdup(cell_word(col[c], ce));
			else if (spread) {
				char *lo = fmt_value(b, ce->min), *hi = fmt_value(b, ce->max);

				t[i + 1][c + 1] = g_strdup_printf("%s-%s", lo, hi);
				g_free(lo);
				g_free(hi);
			} else {
				t[i + 1][c + 1] = fmt_value(b, ce->median);
			}
		}
	}
	if (rows > b->nr_items + 1) {
		unsigned r = b->nr_items + 1;

		t[r][0] = g_strdup("(start-up)");
		for (unsigned c = 0; c < nc; c++) {
			double best = 0;

			for (unsigned i = 0; i < b->nr_items; i++) {
				const struct cell *ce = &b->cells[target_index(col[c])][i];

				if (cell_ok(ce) && (!best || ce->startup < best))
					best = ce->startup;
			}
			t[r][c + 1] = col[c]->kind == TARGET_NATIVE || !best ?
					      g_strdup("-") : g_strdup_printf("%.3f", best);
		}
	}
	print_table(t, rows, nc + 1 + np);
	table_free(t, rows, nc + 1 + np);
	if (np)
		printf("\npaper-*: Adams & Agesen, \"A Comparison of Software and Hardware "
		       "Techniques for x86\nVirtualization\", ASPLOS 2006, Fig. 4 (Pentium 4: "
		       "native, BT, VT-x): n/a, the published\nvalues were not available to "
		       "copy (tests/bench/README.md); none is made up.\n");
}

/* Median of @t over median of @ref for item @i; 0 when either is missing. */
static double ratio(const struct bench *b, const struct target *t, const struct target *ref,
		    unsigned i)
{
	const struct cell *a = &b->cells[target_index(t)][i];
	const struct cell *r = &b->cells[target_index(ref)][i];

	if (!cell_ok(a) || !cell_ok(r) || r->median <= 0)
		return 0;
	return a->median / r->median;
}

static double geomean(const struct bench *b, const struct target *t, const struct target *ref)
{
	double sum = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < b->nr_items; i++) {
		double r = ratio(b, t, ref, i);

		if (r > 0) {
			sum += log(r);
			n++;
		}
	}
	return n ? exp(sum / n) : 0;
}

static void print_ratios(const struct bench *b, const struct target *ref)
{
	const struct target *col[NR_TARGETS];
	unsigned nc = 0, rows = b->nr_items + 2;
	char ***t;

	for (unsigned i = 0; i < NR_TARGETS; i++)
		if (targets[i].selected && &targets[i] != ref &&
		    targets[i].kind != TARGET_NATIVE)
			col[nc++] = &targets[i];
	if (!nc)
		return;
	printf("\ntime / %s time (how many times slower)\n", ref->name);
	t = table_new(rows, nc + 1);
	t[0][0] = g_strdup("workload");
	for (unsigned c = 0; c < nc; c++)
		t[0][c + 1] = g_strdup(col[c]->name);
	for (unsigned i = 0; i < b->nr_items; i++) {
		t[i + 1][0] = g_strdup(b->items[i].name);
		for (unsigned c = 0; c < nc; c++) {
			double r = ratio(b, col[c], ref, i);

			t[i + 1][c + 1] = r > 0 ? fmt_ratio(r) : g_strdup("n/a");
		}
	}
	t[rows - 1][0] = g_strdup("geomean");
	for (unsigned c = 0; c < nc; c++) {
		double g = geomean(b, col[c], ref);

		t[rows - 1][c + 1] = g > 0 ? fmt_ratio(g) : g_strdup("n/a");
	}
	print_table(t, rows, nc + 1);
	table_free(t, rows, nc + 1);
}

static void print_report(struct bench *b)
{
	const struct target *native = target_find("native"), *qemu = target_find("qemu");

	if (b->nano)
		printf("tandem bench --nano: %u ops, size %s, %s; cycles per operation by "
		       "the guest's TSC\n", b->nr_items, b->size,
		       b->repeat > 1 ? "median of the runs" : "1 run");
	else
		printf("tandem bench: %u workloads, size %s, %s; seconds between the guest's "
		       "start and end lines\n", b->nr_items, b->size,
		       b->repeat > 1 ? "median of the runs" : "1 run");
	if (b->kernel)
		printf("  kernel %s\n", b->kernel);
	for (unsigned i = 0; i < NR_TARGETS; i++) {
		const struct target *t = &targets[i];

		if (!t->selected || (b->nano && t->kind == TARGET_NATIVE))
			continue;
		if (t->why[0])
			printf("  %-8s n/a (%s)\n", t->name, t->why);
		else
			printf("  %-8s %s\n", t->name, t->desc);
	}
	printf("\n%s (%s)\n", b->nano ? "cycles per operation" : "seconds",
	       b->repeat > 1 ? "median" : "lower is better");
	print_values(b, false);
	if (b->repeat > 1) {
		printf("\nmin-max of %u runs\n", b->repeat);
		print_values(b, true);
	}
	if (!b->nano) {
		if (native->selected && !native->why[0])
			print_ratios(b, native);
		if (qemu->selected && !qemu->why[0])
			print_ratios(b, qemu);
	}
	for (unsigned i = 0; i < NR_TARGETS; i++)
		for (unsigned j = 0; j < b->nr_items; j++)
			if (b->cells[i][j].na[0] && !b->cells[i][j].failed)
				printf("n/a %s %s: %s\n", targets[i].name, b->items[j].name,
				       b->cells[i][j].na);
	for (unsigned i = 0; i < NR_TARGETS; i++)
		for (unsigned j = 0; j < b->nr_items; j++)
			if (b->cells[i][j].failed)
				printf("FAIL %s %s: %s\n", targets[i].name, b->items[j].name,
				       b->cells[i][j].error);
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (v > 0 && isfinite(v))
		fprintf(f, "%.9g", v);
	else
		fputs("null", f);
}

static int write_json(const struct bench *b, FILE *f)
{
	const struct target *native = target_find("native"), *qemu = target_find("qemu");
	bool have_native = native->selected && !native->why[0] && !b->nano;
	bool have_qemu = qemu->selected && !qemu->why[0];
	bool first = true;

	fprintf(f, "{\n  \"schema\": \"tandem-bench-1\",\n  \"tandem\": \"%s\",\n",
		PACKAGE_VERSION);
	fprintf(f, "  \"mode\": \"%s\",\n  \"unit\": \"%s\",\n  \"kernel\": ",
		b->nano ? "nano" : "workloads", b->nano ? "cycles" : "seconds");
	json_str(f, b->kernel ? b->kernel : "built-in");
	fprintf(f, ",\n  \"size\": \"%s\",\n  \"repeat\": %u,\n  \"ok\": %s,\n", b->size,
		b->repeat, b->failed ? "false" : "true");
	fputs("  \"targets\": [", f);
	for (unsigned i = 0; i < NR_TARGETS; i++) {
		const struct target *t = &targets[i];

		if (!t->selected || (b->nano && t->kind == TARGET_NATIVE))
			continue;
		fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
		json_str(f, t->name);
		fputs(", \"description\": ", f);
		json_str(f, t->desc);
		fprintf(f, ", \"available\": %s, \"why\": ", t->why[0] ? "false" : "true");
		json_str(f, t->why[0] ? t->why : NULL);
		fputs("}", f);
		first = false;
	}
	fprintf(f, "\n  ],\n  \"%s\": [", b->nano ? "ops" : "workloads");
	for (unsigned i = 0; i < b->nr_items; i++) {
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, b->items[i].name);
		fputs(", \"description\": ", f);
		json_str(f, b->items[i].desc);
		if (!b->nano) {
			fputs(", \"checksum\": ", f);
			json_str(f, b->items[i].checksum[0] ? b->items[i].checksum : NULL);
		}
		fputs("}", f);
	}
	fputs("\n  ],\n  \"results\": [", f);
	first = true;
	for (unsigned i = 0; i < NR_TARGETS; i++) {
		const struct target *t = &targets[i];

		if (!t->selected || t->why[0] || (b->nano && t->kind == TARGET_NATIVE))
			continue;
		for (unsigned j = 0; j < b->nr_items; j++) {
			const struct cell *c = &b->cells[i][j];

			fprintf(f, "%s\n    {\"target\": ", first ? "" : ",");
			first = false;
			json_str(f, t->name);
			fprintf(f, ", \"%s\": ", b->nano ? "op" : "workload");
			json_str(f, b->items[j].name);
			fprintf(f, ", \"ok\": %s, \"error\": ", cell_ok(c) ? "true" : "false");
			json_str(f, c->failed ? c->error : !c->ran ? "not run" : NULL);
			if (b->nano) {
				fputs(", \"na\": ", f);
				json_str(f, c->na[0] ? c->na : NULL);
			}
			if (!b->nano) {
				fputs(", \"checksum\": ", f);
				json_str(f, c->checksum[0] ? c->checksum : NULL);
			}
			fputs(", \"runs\": [", f);
			for (unsigned k = 0; k < c->nr; k++) {
				fputs(k ? ", " : "", f);
				fprintf(f, "%.9g", c->v[k]);
			}
			fputs("], \"min\": ", f);
			json_num(f, cell_ok(c) ? c->min : 0);
			fputs(", \"median\": ", f);
			json_num(f, cell_ok(c) ? c->median : 0);
			fputs(", \"max\": ", f);
			json_num(f, cell_ok(c) ? c->max : 0);
			if (!b->nano) {
				fputs(", \"startup\": ", f);
				json_num(f, cell_ok(c) && t->kind != TARGET_NATIVE ? c->startup : 0);
				fputs(", \"vs_native\": ", f);
				json_num(f, have_native ? ratio(b, t, native, j) : 0);
				fputs(", \"vs_qemu\": ", f);
				json_num(f, have_qemu ? ratio(b, t, qemu, j) : 0);
			}
			fputs("}", f);
		}
	}
	fputs("\n  ]", f);
	if (!b->nano) {
		fputs(",\n  \"geomean\": [", f);
		first = true;
		for (unsigned i = 0; i < NR_TARGETS; i++) {
			const struct target *t = &targets[i];

			if (!t->selected || t->why[0])
				continue;
			fprintf(f, "%s\n    {\"target\": ", first ? "" : ",");
			first = false;
			json_str(f, t->name);
			fputs(", \"vs_native\": ", f);
			json_num(f, have_native ? geomean(b, t, native) : 0);
			fputs(", \"vs_qemu\": ", f);
			json_num(f, have_qemu ? geomean(b, t, qemu) : 0);
			fputs("}", f);
		}
		fputs("\n  ]", f);
	}
	fputs("\n}\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- set-up --------------------------------------------------------------- */

static int bench_usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int bench_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tandem: bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 1;
}

static int select_targets(const char *list)
{
	char **names;
	int ret = 0;

	if (!list) {
		for (unsigned i = 0; i < NR_TARGETS; i++)
			targets[i].selected = targets[i].in_default;
		return 0;
	}
	if (!*list)
		return bench_usage("--accel needs a list of engines, e.g. --accel=sw,kvm");
	/* native is the baseline: always there when it can be. */
	target_find("native")->selected = true;
	names = g_strsplit(list, ",", -1);
	for (char **n = names; *n && !ret; n++) {
		struct target *t = target_find(*n);

		if (!t) {
			ret = bench_usage("unknown engine '%s' in --accel (native, sw, sw-nojit, "
					  "kvm, kvm-r0, qemu)", *n);
			break;
		}
		t->selected = true;
	}
	g_strfreev(names);
	return ret;
}

/*
 * The guest image the children boot, as /proc/self/fd/N of a descriptor
 * they inherit: a memfd holding the built-in guest, or --kernel's file
 * (so that relative and long paths need no care).
 */
static int setup_kernel(struct bench *b)
{
	const unsigned char *img = b->nano ? nano_guest : bench_guest;
	size_t len = (size_t)((b->nano ? nano_guest_end : bench_guest_end) - img);
	struct stat st;

	if (b->kernel) {
		b->kernel_fd = open(b->kernel, O_RDONLY);
		if (b->kernel_fd < 0)
			return bench_usage("cannot read --kernel %s: %s", b->kernel,
					   strerror(errno));
		if (fstat(b->kernel_fd, &st) || !S_ISREG(st.st_mode))
			return bench_usage("--kernel %s is not a regular file", b->kernel);
	} else {
		b->kernel_fd = memfd_create(b->nano ? "nano.elf" : "bench.elf", 0);
		if (b->kernel_fd < 0)
			return bench_usage("memfd_create: %s", strerror(errno));
		for (size_t off = 0; off < len;) {
			ssize_t n = write(b->kernel_fd, img + off, len - off);

			if (n <= 0)
				return bench_usage("writing the built-in guest: %s",
						   strerror(errno));
			off += (size_t)n;
		}
	}
	snprintf(b->kernel_path, sizeof(b->kernel_path), "/proc/self/fd/%d", b->kernel_fd);
	return 0;
}

static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!s || !g_ascii_isdigit(*s))
		return false;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int bench_main(int argc, char **argv)
{
	static char *opt_accel, *opt_kernel, *opt_size, *opt_repeat, *opt_json, *opt_timeout;
	static gboolean opt_nano;
	GOptionEntry entries[] = {
		{ "nano", 0, 0, G_OPTION_ARG_NONE, &opt_nano,
		  "Microbenchmarks (cycles per operation) instead of the workloads", NULL },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &opt_accel,
		  "Engines: native,sw,sw-nojit,kvm,kvm-r0,qemu (default: all that run here)",
		  "LIST" },
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &opt_kernel,
		  "Another guest that speaks the bench (or nano) protocol", "FILE" },
		{ "size", 0, 0, G_OPTION_ARG_STRING, &opt_size,
		  "Work per run: tiny, small or full (default)", "SIZE" },
		{ "repeat", 0, 0, G_OPTION_ARG_STRING, &opt_repeat,
		  "Runs per workload and engine (default 1); min/median/max", "N" },
		{ "json", 0, 0, G_OPTION_ARG_FILENAME, &opt_json,
		  "Also write the results as JSON to FILE ('-': stdout)", "FILE" },
		{ "timeout", 0, 0, G_OPTION_ARG_STRING, &opt_timeout,
		  "Seconds one guest run may take (default 600)", "SECONDS" },
		{ NULL }
	};
	GOptionContext *ctx = g_option_context_new("- race the engines on one guest");
	struct bench *b = g_new0(struct bench, 1);
	GError *gerr = NULL;
	FILE *json = NULL;
	int ret = 1;

	b->kernel_fd = -1;
	argv[0] = (char *)"tandem bench";	/* for --help's usage line */
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"Runs the built-in workloads (or --nano microbenchmarks) natively, on each\n"
		"tandem engine and on QEMU TCG, one child process per run, and prints a table.\n"
		"Exit status: 0 every run agreed, 1 bad usage or a run failed.\n");
	if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
		bench_usage("%s (try tandem bench --help)", gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if (argc > 1) {
		bench_usage("unexpected argument '%s' (try tandem bench --help)", argv[1]);
		goto out;
	}
	b->nano = opt_nano;
	b->kernel = opt_kernel;
	b->size = opt_size ? opt_size : "full";
	b->repeat = 1;
	b->timeout_s = 600;
	b->json = opt_json;
	if (bench_size_shift(b->size) < 0) {
		bench_usage("unknown --size '%s' (tiny, small or full)", b->size);
		goto out;
	}
	if (opt_repeat && !parse_uint(opt_repeat, 1, BENCH_MAX_REPEAT, &b->repeat)) {
		bench_usage("invalid --repeat '%s' (1 to %u)", opt_repeat, BENCH_MAX_REPEAT);
		goto out;
	}
	if (opt_timeout && !parse_uint(opt_timeout, 1, 86400, &b->timeout_s)) {
		bench_usage("invalid --timeout '%s' (seconds, 1 to 86400)", opt_timeout);
		goto out;
	}
	if (select_targets(opt_accel))
		goto out;
	if (b->json) {
		json = strcmp(b->json, "-") ? fopen(b->json, "w") : stdout;
		if (!json) {
			bench_usage("cannot write --json %s: %s", b->json, strerror(errno));
			goto out;
		}
	}
	if (setup_kernel(b))
		goto out;
	probe_targets(b);
	/* An engine asked for by name runs even where it is redundant. */
	if (!opt_accel) {
		struct target *r0 = target_find("kvm-r0");

		if (!r0->why[0] && access("/sys/module/kvm_pvm", F_OK))
			r0->selected = false;	/* ring0=auto is ring0=kvm off kvm_pvm */
	}
	b->progress = isatty(2) && !(json == stdout);

	if (b->nano) {
		for (unsigned i = 0; i < G_N_ELEMENTS(nano_ops) && !b->kernel; i++)
			add_item(b, nano_ops[i].name, nano_ops[i].desc);
	} else if (b->kernel) {
		char err[BENCH_ERR_LEN];

		if (list_workloads(b, err, sizeof(err))) {
			bench_usage("%s", err);
			goto out;
		}
	} else {
		for (unsigned i = 0; i < bench_nr_workloads; i++)
			add_item(b, bench_workloads[i].name, bench_workloads[i].what);
	}

	for (unsigned i = 0; i < NR_TARGETS; i++)
		if (targets[i].selected && !targets[i].why[0])
			b->steps += b->repeat * (b->nano ? 1 : b->nr_items);
	for (unsigned i = 0; i < NR_TARGETS; i++) {
		struct target *t = &targets[i];

		if (!t->selected || t->why[0])
			continue;
		if (t->kind == TARGET_NATIVE)
			run_native(b);
		else if (b->nano)
			run_nano_on(b, t);
		else
			run_workloads_on(b, t);
	}
	progress(b, NULL, NULL, 0);

	if (json != stdout)
		print_report(b);
	if (json) {
		int e = write_json(b, json);

		if (json != stdout && fclose(json))
			e = -errno;
		json = NULL;
		if (e) {
			bench_usage("writing --json %s: %s", b->json, strerror(-e));
			b->failed = true;
		}
	}
	ret = b->failed ? 1 : 0;
out:
	if (json && json != stdout)
		fclose(json);
	g_option_context_free(ctx);
	if (b->kernel_fd >= 0)
		close(b->kernel_fd);
	for (unsigned i = 0; i < b->nr_items; i++) {
		g_free(b->items[i].name);
		g_free(b->items[i].desc);
	}
	g_free(b->qemu);
	g_free(b);
	return ret;
}
