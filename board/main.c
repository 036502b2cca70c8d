// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tandem: command line. GNU long options that mirror QEMU's names; QEMU's
 * single-dash spellings (-kernel, -accel kvm, -nographic, ...) are
 * rewritten to their long forms before parsing. Bad input gets one line
 * on stderr and exit status 1.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "accel/accel.h"
#include "board/board.h"
#include "config.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "machine/bench.h"
#include "machine/cpuid.h"
#include "machine/gdbstub.h"
#include "machine/net.h"
#include "machine/qmp.h"
#include "machine/replay.h"
#include "machine/vm.h"
#include "machine/vmswitch.h"

static char *opt_accel, *opt_kernel, *opt_initrd, *opt_append, *opt_mem, *opt_serial;
static char *opt_trace, *opt_trace_file, *opt_cpu, *opt_machine;
static char *opt_smp;
static unsigned opt_watchdog = 10;

static gboolean opt_watchdog_cb(const char *name, const char *value, gpointer data,
				GError **error);
static gboolean opt_no_reboot, opt_nographic, opt_enable_kvm, opt_stats, opt_version;
static gboolean opt_start_paused, opt_gdb_default, opt_quiet;
static char *opt_qmp, *opt_monitor, *opt_incoming, *opt_symbols, *opt_icount, *opt_gdb;

static GOptionEntry entries[] = {
	{ "accel", 0, 0, G_OPTION_ARG_STRING, &opt_accel,
	  "Engine: auto (default; auto,switch=off: never switch by itself), kvm (alias hw), "
	  "sw (alias tcg); sw,jit=off", "ENGINE" },
	{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &opt_kernel,
	  "Kernel: bzImage, multiboot or ELF64 image (default: the built-in demo guest)",
	  "FILE" },
	{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_initrd, "Initial ramdisk / module", "FILE" },
	{ "append", 0, 0, G_OPTION_ARG_STRING, &opt_append, "Kernel command line", "CMDLINE" },
	{ "memory", 'm', 0, G_OPTION_ARG_STRING, &opt_mem,
	  "Guest RAM, e.g. 256M or 2G (default 128M; plain numbers are MiB)", "SIZE" },
	{ "smp", 0, 0, G_OPTION_ARG_STRING, &opt_smp,
	  "Number of CPUs, 1 to 8 (default 1); QEMU's cpus=N spelling too", "N" },
	{ "serial", 0, 0, G_OPTION_ARG_STRING, &opt_serial,
	  "COM1 back end: stdio (default), file:PATH, none (alias null), chardev:ID", "DEV" },
	{ "no-reboot", 0, 0, G_OPTION_ARG_NONE, &opt_no_reboot,
	  "Exit instead of rebooting when the guest resets or triple-faults", NULL },
	{ "trace", 'd', 0, G_OPTION_ARG_STRING, &opt_trace,
	  "Trace classes: in_asm,int,cpu,exec,mmu,io,exit,out_asm,guest_errors,cpu_reset; "
	  "'help' says "
	  "what each prints on which engine",
	  "LIST" },
	{ "trace-file", 'D', 0, G_OPTION_ARG_FILENAME, &opt_trace_file,
	  "Write the trace to FILE (default stderr)", "FILE" },
	{ "stats", 0, 0, G_OPTION_ARG_NONE, &opt_stats, "Print engine statistics at exit", NULL },
	{ "qmp", 0, 0, G_OPTION_ARG_STRING, &opt_qmp,
	  "QMP control socket: unix:PATH,server[,wait=off] or tcp:HOST:PORT,server[,wait=off]",
	  "ADDR" },
	{ "monitor", 0, 0, G_OPTION_ARG_STRING, &opt_monitor,
	  "Human monitor: stdio (shares stdio with the serial console; C-a c switches) or none",
	  "DEV" },
	{ "icount", 0, 0, G_OPTION_ARG_STRING, &opt_icount,
	  "Deterministic clock (sw, on the interpreter: the translator does not count "
	  "instructions yet; one vCPU): shift=N (2^N ns per instruction)[,rr=record|replay,"
	  "rrfile=FILE]", "OPTS" },
	{ "symbols", 0, 0, G_OPTION_ARG_FILENAME, &opt_symbols,
	  "Guest symbols for traces: an ELF file (vmlinux) or a System.map "
	  "(default: the -kernel ELF's own)", "FILE" },
	{ "incoming", 0, 0, G_OPTION_ARG_STRING, &opt_incoming,
	  "Start from a snapshot: file:PATH (taken with QMP migrate or snapshot_save)", "URI" },
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
	  "No informational lines from tandem (engine choice, hand-overs, switches); errors still", NULL },
	{ "start-paused", 'S', 0, G_OPTION_ARG_NONE, &opt_start_paused,
	  "Start with the vCPUs paused (QMP/monitor `cont` starts them)", NULL },
	{ "gdb", 0, 0, G_OPTION_ARG_STRING, &opt_gdb,
	  "GDB stub: tcp:[HOST]:PORT or unix:PATH[,server]; ,arch=x86-64|i386 fixes the "
	  "register set (default: from the CPU mode at connect)", "ADDR" },
	{ "gdb-default", 's', 0, G_OPTION_ARG_NONE, &opt_gdb_default,
	  "Shorthand for -gdb tcp::1234", NULL },
	{ "watchdog", 0, 0, G_OPTION_ARG_CALLBACK, opt_watchdog_cb,
	  "Report a vCPU that makes no exit for SECONDS in KVM, with its registers "
	  "(default 10; 0 off)", "SECONDS" },
	{ "nographic", 0, 0, G_OPTION_ARG_NONE, &opt_nographic,
	  "Accepted for QEMU compatibility (tandem has no display)", NULL },
	{ "enable-kvm", 0, 0, G_OPTION_ARG_NONE, &opt_enable_kvm, "Same as --accel=kvm", NULL },
	{ "cpu", 0, 0, G_OPTION_ARG_STRING, &opt_cpu,
	  "CPU model and features: NAME[,+FEAT,-FEAT,FEAT=on|off,enforce]; 'help' lists them "
	  "(default: tandem)", "MODEL" },
	{ "machine", 'M', 0, G_OPTION_ARG_STRING, &opt_machine,
	  "Board: pc (the only one), with QEMU's accel= property", "pc[,accel=ENGINE]" },
	{ "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version", NULL },
	{ NULL }
};

/*
 * -serial chardev:ID refers to a -chardev BACKEND,id=ID; we keep each as
 * the --serial spelling it stands for.
 */
#define MAX_CHARDEVS	4
static struct {
	char *id;
	char *spec;
} chardevs[MAX_CHARDEVS];
static unsigned nr_chardevs;

static gboolean bad_value(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean bad_value(GError **error, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, msg);
	g_free(msg);
	return FALSE;
}

/* -display, -vga: tandem has neither, so only "none" means what it does. */
static gboolean opt_only_none(const char *name, const char *value, gpointer data,
			      GError **error)
{
	if (!strcmp(value, "none"))
		return TRUE;
	return bad_value(error, "%s %s: tandem has no %s; only '%s none' is accepted",
			 name + 1, value, name + 2, name + 1);
}

/* --watchdog=SECONDS; the same word was QEMU's guest watchdog device (-watchdog MODEL). */
static gboolean opt_watchdog_cb(const char *name, const char *value, gpointer data,
				GError **error)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!*value || *end || errno || v > 86400 || value[0] == '-')
		return bad_value(error, "invalid --watchdog '%s': seconds, 0 to 86400, 0 turns it "
				 "off (QEMU's -watchdog MODEL, a guest watchdog device, is not "
				 "supported)", value);
	opt_watchdog = (unsigned)v;
	return TRUE;
}

/* -nodefaults, -no-user-config: tandem has no default devices and no config files. */
static gboolean opt_ignore(const char *name, const char *value, gpointer data,
			   GError **error)
{
	return TRUE;
}

/* -device NAME[,opts]: the board's table (board/devices.c) checks the name now, the options at creation. */
static gboolean opt_device_help;

static gboolean opt_device(const char *name, const char *value, gpointer data,
			   GError **error)
{
	char why[512];
	int ret = board_device_queue(value, why, sizeof(why));

	if (ret < 0)
		return bad_value(error, "%s", why);
	if (ret > 0)
		opt_device_help = TRUE;
	return TRUE;
}

/*
 * ---- virtio-blk hook: -drive and -hda (devices/virtio_blk.c parses them;
 * an if=virtio drive becomes a queued "-device virtio-blk-pci,drive=ID").
 */
static gboolean opt_drive(const char *name, const char *value, gpointer data,
			  GError **error)
{
	char dev[128], why[512];
	int ret = !strcmp(name, "--hda") ? virtio_blk_hda_opt(value, dev, sizeof(dev), why, sizeof(why))
					 : virtio_blk_drive_opt(value, dev, sizeof(dev), why, sizeof(why));

	if (!ret && dev[0])
		ret = board_device_queue(dev, why, sizeof(why));
	if (ret < 0)
		return bad_value(error, "%s", why);
	return TRUE;
}
/* ---- end of the virtio-blk hook */

/* -chardev file,id=ID,path=PATH | stdio,id=ID | null,id=ID */
static gboolean opt_chardev(const char *name, const char *value, gpointer data,
			    GError **error)
{
	char **parts = g_strsplit(value, ",", -1);
	const char *id = NULL, *path = NULL;
	gboolean ok = TRUE;

	if (strcmp(parts[0], "file") && strcmp(parts[0], "stdio") && strcmp(parts[0], "null")) {
		ok = bad_value(error, "-chardev %s: tandem has file (with path=), stdio and null",
			       parts[0]);
		goto out;
	}
	for (char **p = parts + 1; *p && ok; p++) {
		if (!strncmp(*p, "id=", 3))
			id = *p + 3;
		else if (!strncmp(*p, "path=", 5))
			path = *p + 5;
		else if (strncmp(*p, "signal=", 7) && strncmp(*p, "mux=off", 7))
			ok = bad_value(error, "-chardev %s: '%s' not supported", parts[0], *p);
	}
	if (!ok)
		goto out;
	if (!id || !*id) {
		ok = bad_value(error, "-chardev %s: needs id=", value);
		goto out;
	}
	if (nr_chardevs == MAX_CHARDEVS) {
		ok = bad_value(error, "-chardev: at most %d", MAX_CHARDEVS);
		goto out;
	}
	if (!strcmp(parts[0], "file") && path && *path) {
		chardevs[nr_chardevs].spec = g_strdup_printf("file:%s", path);
	} else if (!strcmp(parts[0], "stdio") && !path) {
		chardevs[nr_chardevs].spec = g_strdup("stdio");
	} else if (!strcmp(parts[0], "null") && !path) {
		chardevs[nr_chardevs].spec = g_strdup("none");
	} else {
		ok = bad_value(error, "-chardev %s: tandem has file (with path=), stdio and null",
			       value);
		goto out;
	}
	/* net hook: virtconsole,chardev=ID finds the -chardev here. */
	virtio_console_chardev_register(id, chardevs[nr_chardevs].spec);
	chardevs[nr_chardevs++].id = g_strdup(id);
out:
	g_strfreev(parts);
	return ok;
}

/* -chardev id -> its --serial spelling, for the test devices' chardev=ID. */
const char *board_chardev_spec(const char *id)
{
	for (unsigned i = 0; i < nr_chardevs; i++)
		if (!strcmp(chardevs[i].id, id))
			return chardevs[i].spec;
	return NULL;
}

static void chardevs_free(void)
{
	for (unsigned i = 0; i < nr_chardevs; i++) {
		g_free(chardevs[i].id);
		g_free(chardevs[i].spec);
	}
	nr_chardevs = 0;
}

/* ---- net hook: -netdev and -nic (machine/net.h; the NIC is virtio-net-pci) ---- */
static gboolean opt_netdev(const char *name, const char *value, gpointer data,
			   GError **error)
{
	char why[512];

	if (netdev_add_option(value, why, sizeof(why)))
		return bad_value(error, "%s", why);
	return TRUE;
}

/* -nic user,...: QEMU's shortcut for a -netdev and its NIC in one. */
static gboolean opt_nic(const char *name, const char *value, gpointer data, GError **error)
{
	char why[512], id[32], dev[64];

	if (netdev_add_nic_option(value, id, why, sizeof(why)))
		return bad_value(error, "%s", why);
	snprintf(dev, sizeof(dev), "virtio-net-pci,netdev=%s", id);
	if (board_device_queue(dev, why, sizeof(why)) < 0)
		return bad_value(error, "-nic: %s", why);
	return TRUE;
}
/* ---- end of the net hook ---- */

/* What QEMU command lines for test kernels pass; each means what tandem does anyway. */
static GOptionEntry qemu_entries[] = {
	{ "display", 0, 0, G_OPTION_ARG_CALLBACK, opt_only_none, "Only 'none'", "none" },
	{ "vga", 0, 0, G_OPTION_ARG_CALLBACK, opt_only_none, "Only 'none'", "none" },
	{ "nodefaults", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, opt_ignore,
	  "Accepted (no default devices to drop)", NULL },
	{ "no-user-config", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, opt_ignore,
	  "Accepted (no configuration files)", NULL },
	{ "device", 0, 0, G_OPTION_ARG_CALLBACK, opt_device,
	  "Add a device: pci-testdev, isa-debugcon, pc-testdev, isa-debug-exit (always there); "
	  "'-device help' lists them", "NAME[,OPTS]" },
	/* virtio-blk hook */
	{ "drive", 0, 0, G_OPTION_ARG_CALLBACK, opt_drive,
	  "A disk: file=IMG[,format=raw][,if=virtio|none][,id=ID][,readonly=on][,snapshot=on]"
	  "[,cache=writeback|none|writethrough|directsync|unsafe]; if=none for -device "
	  "virtio-blk-pci,drive=ID", "SPEC" },
	{ "hda", 0, 0, G_OPTION_ARG_CALLBACK, opt_drive,
	  "A virtio-blk disk (tandem has no IDE): -drive file=IMG,if=virtio", "IMG" },
	{ "chardev", 0, 0, G_OPTION_ARG_CALLBACK, opt_chardev,
	  "file,id=ID,path=PATH, stdio,id=ID or null,id=ID, for --serial chardev:ID", "SPEC" },
	/* net hook */
	{ "netdev", 0, 0, G_OPTION_ARG_CALLBACK, opt_netdev,
	  "Network back end for -device virtio-net-pci,netdev=ID: user,id=ID[,hostfwd="
	  "[tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT]... (slirp: guest 10.0.2.15 by DHCP, "
	  "host 10.0.2.2, DNS 10.0.2.3; hostfwd listens on 127.0.0.1 when HOSTADDR is "
	  "empty, where QEMU listens on every address) or tap,id=ID,ifname=TAP[,script=no]",
	  "SPEC" },
	{ "nic", 0, 0, G_OPTION_ARG_CALLBACK, opt_nic,
	  "A -netdev and its virtio-net-pci in one: user[,hostfwd=...] or tap,ifname=TAP",
	  "SPEC" },
	{ NULL }
};

/* GOption's own: --help, -h, -?, --help-all, --help-qemu (our group). */
static const char *const help_names[] = { "help", "help-all", "help-qemu", NULL };

static const GOptionEntry *find_long(const char *name, size_t n)
{
	static const GOptionEntry *const tables[] = { entries, qemu_entries };

	for (size_t t = 0; t < G_N_ELEMENTS(tables); t++)
		for (const GOptionEntry *e = tables[t]; e->long_name; e++)
			if (strlen(e->long_name) == n && !strncmp(name, e->long_name, n))
				return e;
	return NULL;
}

static bool takes_value(const GOptionEntry *e)
{
	return e && e->arg != G_OPTION_ARG_NONE && !(e->flags & G_OPTION_FLAG_NO_ARG);
}

/*
 * QEMU spellings: "-kernel" -> "--kernel". GOption would read an unknown
 * "-hda" as the short options -h -d -a (and print the help), so any other
 * single-dash word longer than one letter is an error here. Option values
 * ("-append -x") are left alone. Returns a new vector (g_strfreev it), or
 * NULL with the reason in @err.
 */
/*
 * --smp N, or QEMU's -smp cpus=N / -smp N,cpus=N: the number of CPUs. The
 * topology keys (sockets, cores, threads, maxcpus) are not modelled: one
 * clear error instead of a silently different guest.
 */
static int parse_smp(const char *arg, unsigned *out)
{
	char *copy = g_strdup(arg), *save = NULL, *tok, *end;
	long n = -1;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		const char *v = tok;

		if (!strncmp(tok, "cpus=", 5))
			v = tok + 5;
		else if (strchr(tok, '=') || tok != copy)
			ret = 1;
		if (ret)
			break;
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end)
			ret = 1;
	}
	if (!ret && (n < 1 || n > VM_MAX_VCPUS))
		ret = 1;
	if (ret)
		fprintf(stderr, "tandem: invalid --smp '%s' (N or cpus=N, N from 1 to %d)\n",
			arg, VM_MAX_VCPUS);
	else
		*out = (unsigned)n;
	g_free(copy);
	return ret;
}

static char **rewrite_qemu_args(int argc, char **argv, char *err, size_t errlen)
{
	char **out = g_new0(char *, argc + 1);
	bool value_next = false, rest = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *name = a + 1, *eq;
		const GOptionEntry *e = NULL;
		size_t n;

		if (i == 0 || rest || value_next || a[0] != '-' || a[1] == 0) {
			value_next = false;
			out[i] = g_strdup(a);
			continue;
		}
		if (!strcmp(a, "--")) {
			rest = true;
			out[i] = g_strdup(a);
			continue;
		}
		if (a[1] == '-')
			name = a + 2;
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		if (a[1] != '-' && n == 1) {
			/* A short option (-m 128); GOption knows which. */
			for (e = entries; e->long_name && e->short_name != name[0]; e++)
				;
			value_next = takes_value(e) && !name[1];
			out[i] = g_strdup(a);
			continue;
		}
		e = find_long(name, n);
		if (!e && a[1] != '-') {
			bool help = false;

			for (const char *const *h = help_names; *h; h++)
				help |= strlen(*h) == n && !strncmp(name, *h, n);
			if (!help) {
				snprintf(err, errlen, "unknown option '%s'", a);
				g_strfreev(out);
				return NULL;
			}
		}
		value_next = takes_value(e) && !eq;
		out[i] = a[1] == '-' ? g_strdup(a) : g_strdup_printf("-%s", a);
	}
	return out;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mul = 1ull << 20;

	errno = 0;
	v = strtod(s, &end);
	/* strtod takes "inf" and "nan"; casting those (or >= 2^64) is undefined. */
	if (errno || end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	case 0: break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (v * (double)mul >= 0x1p64)
		return -ERANGE;
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
	const char *help;
} trace_classes[] = {
	{ "in_asm", TRACE_IN_ASM, "each instruction run: vCPU, address, symbol, bytes, Zydis' "
	  "disassembly (sw, interpreter)" },
	{ "int", TRACE_INT, "interrupts and exceptions in QEMU's layout: v= e= i= cpl= IP= pc= "
	  "SP= CR2=/EAX= (sw: every event; kvm: the interrupts it injects)" },
	{ "cpu", TRACE_CPU, "the registers before each instruction (sw, interpreter)" },
	{ "exec", TRACE_EXEC, "one line per block run (a new one wherever control does not "
	  "fall through): vCPU, address, symbol (sw, interpreter)" },
	{ "mmu", TRACE_MMU, "page walks with the TLB fill (address, size, permissions) or "
	  "fault, flushes, INVLPG, CR3 loads (sw)" },
	{ "io", TRACE_IO, "port and MMIO accesses, once each, with the value (every engine)" },
	{ "exit", TRACE_EXIT, "engine exits by name; I/O exits with port or address when io "
	  "is off (kvm)" },
	{ "out_asm", TRACE_OUT_ASM, "each block translated: guest and host code (sw translator)" },
	{ "guest_errors", TRACE_GUEST_ERRORS, "what the guest got wrong: I/O to unmapped ports "
	  "and addresses (reads all-ones, writes dropped), the user-mode network's complaints "
	  "(every engine)" },
	{ "cpu_reset", TRACE_CPU_RESET, "a vCPU's reset, INIT or STARTUP IPI, with the registers "
	  "it starts from (every engine)" },
};

/* 0, -EINVAL with one line said, or 1 after "help" listed the classes. */
static int parse_trace(const char *s, unsigned *mask)
{
	char **parts = g_strsplit(s, ",", -1);
	int ret = 0;

	for (char **p = parts; *p; p++) {
		unsigned i;

		if (!strcmp(*p, "help")) {
			printf("Trace classes (-d LIST, comma-separated; -D FILE writes them "
			       "there):\n");
			for (i = 0; i < G_N_ELEMENTS(trace_classes); i++)
				printf("  %-12s %s\n", trace_classes[i].name,
				       trace_classes[i].help);
			printf("Lines about one vCPU start with it (CPUn). in_asm, cpu and exec "
			       "run the sw engine on its interpreter: the "
			       "translator does not trace per instruction.\n");
			ret = 1;
			break;
		}
		for (i = 0; i < G_N_ELEMENTS(trace_classes); i++)
			if (!strcmp(*p, trace_classes[i].name))
				break;
		if (i == G_N_ELEMENTS(trace_classes)) {
			GString *names = g_string_new(NULL);

			for (unsigned j = 0; j < G_N_ELEMENTS(trace_classes); j++)
				g_string_append_printf(names, "%s%s", j ? ", " : "",
						       trace_classes[j].name);
			fprintf(stderr, "tandem: unknown trace class '%s' (classes: %s; -d help "
				"lists them)\n", *p, names->str);
			g_string_free(names, TRUE);
			ret = -EINVAL;
			break;
		}
		*mask |= trace_classes[i].bit;
	}
	g_strfreev(parts);
	return ret;
}

/* Say which asked-for classes the chosen engine does not print (one line, -q silences it). */
static void trace_engine_note(unsigned mask, const struct accel_ops *a)
{
	const unsigned sw_only = TRACE_IN_ASM | TRACE_CPU | TRACE_EXEC | TRACE_MMU | TRACE_OUT_ASM;
	GString *names = g_string_new(NULL);

	for (unsigned i = 0; i < G_N_ELEMENTS(trace_classes); i++) {
		unsigned bit = trace_classes[i].bit;

		if ((mask & bit) && ((a->hw && (bit & sw_only)) || (!a->hw && bit == TRACE_EXIT)))
			g_string_append_printf(names, "%s%s", names->len ? "," : "",
					       trace_classes[i].name);
	}
	if (names->len && a->hw)
		vm_info("-d %s: on %s only the code the software CPU runs for it is traced\n",
			names->str, a->name);
	else if (names->len)
		vm_info("-d %s: kvm only, nothing to trace on %s\n", names->str, a->name);
	g_string_free(names, TRUE);
}

/* -icount N | shift=N[,rr=record|replay,rrfile=FILE]: 0, or -EINVAL with one line said. */
static int parse_icount(const char *s, struct vm_config *cfg)
{
	char **parts = g_strsplit(s, ",", -1);
	static char rrfile[4096];
	int ret = 0;

	cfg->icount = true;
	cfg->icount_shift = 0;
	for (char **p = parts; *p && !ret; p++) {
		const char *v = *p;
		char *end;
		long n;

		if (!strncmp(v, "shift=", 6) || (p == parts && *v >= '0' && *v <= '9')) {
			v += *v == 's' ? 6 : 0;
			n = strtol(v, &end, 10);
			if (!strcmp(v, "auto")) {
				fprintf(stderr, "tandem: -icount shift=auto follows the host's speed, "
					"which is not deterministic: give a number (0-10)\n");
				ret = -EINVAL;
			} else if (*end || end == v || n < 0 || n > 10) {
				fprintf(stderr, "tandem: -icount: bad shift '%s' (0-10)\n", v);
				ret = -EINVAL;
			} else {
				cfg->icount_shift = (unsigned)n;
			}
		} else if (!strcmp(v, "rr=record")) {
			cfg->rr_mode = REPLAY_RECORD;
		} else if (!strcmp(v, "rr=replay")) {
			cfg->rr_mode = REPLAY_PLAY;
		} else if (!strncmp(v, "rrfile=", 7) && v[7]) {
			snprintf(rrfile, sizeof(rrfile), "%s", v + 7);
			cfg->rr_file = rrfile;
		} else if (!strcmp(v, "sleep=off") || !strcmp(v, "align=off")) {
			/* QEMU's defaults here anyway: time never waits for the host. */
		} else {
			fprintf(stderr, "tandem: -icount: unknown option '%s' (shift=N, rr=record|"
				"replay, rrfile=FILE)\n", v);
			ret = -EINVAL;
		}
	}
	if (!ret && cfg->rr_mode != REPLAY_NONE && !cfg->rr_file) {
		fprintf(stderr, "tandem: -icount rr=%s needs rrfile=FILE\n",
			cfg->rr_mode == REPLAY_RECORD ? "record" : "replay");
		ret = -EINVAL;
	}
	if (!ret && cfg->smp > 1) {
		fprintf(stderr, "tandem: -icount needs one vCPU (one instruction clock)\n");
		ret = -EINVAL;
	}
	g_strfreev(parts);
	return ret;
}

/*
 * -machine pc[,accel=A][,type=pc]: QEMU's accel= is a ':'-separated list
 * tried in order; "kvm:tcg" is what tandem's auto does.
 */
static int parse_machine(char *s, const char **accel)
{
	char **parts = g_strsplit(s, ",", -1);
	static char accel_buf[64];
	int ret = 0;

	*accel = NULL;
	for (char **p = parts; *p && !ret; p++) {
		const char *v = *p;

		if (!strncmp(v, "type=", 5))
			v += 5;
		else if (!strncmp(v, "accel=", 6)) {
			v += 6;
			if (!strcmp(v, "kvm:tcg") || !strcmp(v, "hw:sw"))
				v = "auto";
			else if (strchr(v, ':'))
				*strchr(*p, ':') = 0;	/* the first one; it must exist */
			snprintf(accel_buf, sizeof(accel_buf), "%s", v);
			*accel = accel_buf;
			continue;
		} else if (strchr(v, '=') || p != parts) {
			fprintf(stderr, "tandem: -machine: unknown property '%s' (tandem takes "
				"type= and accel=)\n", v);
			ret = -EINVAL;
			break;
		}
		if (strcmp(v, "pc")) {
			fprintf(stderr, "tandem: unknown machine '%s' (only 'pc')\n", v);
			ret = -EINVAL;
		}
	}
	g_strfreev(parts);
	return ret;
}

/*
 * tandem info [--cpu [-cpu MODEL] [--accel ENGINE[,opts]]]: the engines,
 * or the CPUID leaves of the model a run with those options would get.
 */
static int cmd_info_cpu(int argc, char **argv)
{
	const char *cpu = NULL, *engine = "auto";
	const struct accel_ops *a;
	char why[512], *eng, *opts;
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = NULL;

		if (!strcmp(o, "--cpu"))
			continue;
		if (!strncmp(o, "--", 2))
			o++;
		if (!strcmp(o, "-cpu") || !strcmp(o, "-accel")) {
			v = i + 1 < argc ? argv[++i] : NULL;
		} else if (!strncmp(o, "-cpu=", 5) || !strncmp(o, "-accel=", 7)) {
			v = strchr(o, '=') + 1;
		} else {
			fprintf(stderr, "tandem: info --cpu: unexpected argument '%s' (takes -cpu "
				"MODEL and --accel ENGINE)\n", argv[i]);
			return 1;
		}
		if (!v) {
			fprintf(stderr, "tandem: info --cpu: %s needs a value\n", argv[i]);
			return 1;
		}
		if (!strncmp(o, "-cpu", 4))
			cpu = v;
		else
			engine = v;
	}
	if (cpu && !strcmp(cpu, "help")) {
		cpuid_print_help(stdout);
		return 0;
	}
	eng = g_strdup(engine);
	opts = strchr(eng, ',');
	if (opts)
		*opts++ = 0;
	a = accel_select(eng, why, sizeof(why));
	if (!a) {
		fprintf(stderr, "tandem: %s\n", why);
		g_free(eng);
		return 1;
	}
	ret = accel_cpuid_init(1, cpu, a, opts, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "tandem: %s\n", why);
		g_free(eng);
		return 1;
	}
	printf("CPU model %s on the %s engine (vCPU 0 of 1):\n", cpu ? cpu : "tandem", a->name);
	cpuid_model_print(&cpuid_global, stdout);
	g_free(eng);
	return 0;
}

/* -serial chardev:ID -> the -chardev's spelling; others as given ("null" is "none"). */
static const char *serial_spec(const char *s)
{
	if (!strcmp(s, "null"))
		return "none";
	if (strncmp(s, "chardev:", 8))
		return s;
	for (unsigned i = 0; i < nr_chardevs; i++)
		if (!strcmp(chardevs[i].id, s + 8))
			return chardevs[i].spec;
	fprintf(stderr, "tandem: -serial %s: no -chardev with id=%s\n", s, s + 8);
	return NULL;
}

static int cmd_info(void)
{
	char why[256];

	printf("tandem %s: engines, in `auto` order:\n", PACKAGE_VERSION);
	for (int i = 0; accel_list[i]; i++) {
		int ret;

		why[0] = 0;
		ret = accel_list[i]->probe(why, sizeof(why));

		printf("  %-4s %-8s %s: %s\n", accel_list[i]->name, ret ? "unusable" : "usable",
		       accel_list[i]->desc, why[0] ? why : "always available");
		if (accel_list[i]->coverage)
			printf("       %s\n", accel_list[i]->coverage);
		for (const struct accel_opt *o = accel_list[i]->opts; o && o->name; o++)
			printf("       option %s=%s: %s\n", o->name, o->values, o->help);
	}
	if (accel_select("auto", why, sizeof(why)))
		printf("auto picks: %s\n", why);
	return 0;
}

/* Everything but the run itself; 0 to go on, else the exit status (-1: 0). */
static int parse_args(int *argc, char ***args, struct vm_config *cfg)
{
	GOptionContext *ctx;
	GOptionGroup *qemu;
	GError *gerr = NULL;
	const char *machine_accel = NULL;
	gboolean ok;
	int ret;

	ctx = g_option_context_new("[info|bench] - run an x86 guest on KVM or the software CPU");
	g_option_context_add_main_entries(ctx, entries, NULL);
	qemu = g_option_group_new("qemu", "QEMU spellings accepted (single dash works too):",
				  "Show the QEMU options tandem accepts", NULL, NULL);
	g_option_group_add_entries(qemu, qemu_entries);
	g_option_context_add_group(ctx, qemu);
	g_option_context_set_description(ctx,
		"Kernels: Linux bzImage, multiboot v1 (ELF32/ELF64/a.out kludge) or plain ELF64.\n"
		"With no kernel, tandem boots its built-in demo guest.\n"
		"Exit status: 0 guest powered off (or reset with --no-reboot), (v<<1)|1 after the\n"
		"guest writes v to the isa-debug-exit port 0xf4, 1 bad usage, 2 triple fault\n"
		"with --no-reboot, 3 engine error, 4 guest halted with interrupts disabled.\n"
		"Signals: SIGUSR1 dumps the vCPUs' registers; SIGTERM dumps them and stops.\n"
		"Console: Ctrl-A x quits, Ctrl-A h helps.\n");
	ok = g_option_context_parse_strv(ctx, args, &gerr);
	*argc = (int)g_strv_length(*args);
	g_option_context_free(ctx);
	if (!ok) {
		fprintf(stderr, "tandem: %s (try --help)\n", gerr->message);
		g_error_free(gerr);
		return 1;
	}
	if (opt_version) {
		printf("tandem %s\n", PACKAGE_VERSION);
		return -1;
	}
	if (opt_device_help)
		return -1;
	if (*argc > 1) {
		fprintf(stderr, "tandem: unexpected argument '%s' (try --help)\n", (*args)[1]);
		return 1;
	}
	if (opt_machine && parse_machine(opt_machine, &machine_accel))
		return 1;
	if (opt_cpu && !strcmp(opt_cpu, "help")) {
		cpuid_print_help(stdout);
		return -1;
	}
	cfg->cpu = opt_cpu;
	if (opt_mem && (parse_size(opt_mem, &cfg->ram_size) || cfg->ram_size < (2ull << 20) ||
			cfg->ram_size > (1ull << 40))) {
		fprintf(stderr, "tandem: invalid memory size '%s' (use e.g. 256M or 2G, "
			"2 MiB to 1 TiB)\n", opt_mem);
		return 1;
	}
	cfg->ram_size = (cfg->ram_size + 0xfff) & ~0xfffull;
	if (opt_smp) {
		ret = parse_smp(opt_smp, &cfg->smp);
		if (ret)
			return ret;
	}
	cfg->watchdog_s = opt_watchdog;
	cfg->qmp = opt_qmp;
	if (opt_qmp) {
		char why[256], *path, *host;
		unsigned port;
		int wait;

		if (qmp_parse_spec(opt_qmp, &path, &host, &port, &wait, why, sizeof(why))) {
			fprintf(stderr, "tandem: %s\n", why);
			return 1;
		}
		g_free(path);
		g_free(host);
	}
	cfg->start_paused = opt_start_paused;
	tandem_quiet = opt_quiet;
	cfg->symbols = opt_symbols;
	if (opt_icount && parse_icount(opt_icount, cfg))
		return 1;
	if (opt_incoming) {
		if (strncmp(opt_incoming, "file:", 5) || !opt_incoming[5]) {
			fprintf(stderr, "tandem: -incoming %s: only file:PATH (a snapshot file)\n",
				opt_incoming);
			return 1;
		}
		cfg->incoming = opt_incoming + 5;
	}
	if (opt_gdb && opt_gdb_default) {
		fprintf(stderr, "tandem: -s is -gdb tcp::1234: give one of -s and -gdb\n");
		return 1;
	}
	cfg->gdb = opt_gdb_default ? "tcp::1234" : opt_gdb;
	if (cfg->gdb) {
		char why[256];

		if (gdb_parse_spec(cfg->gdb, why, sizeof(why))) {
			fprintf(stderr, "tandem: %s\n", why);
			return 1;
		}
	}
	if (opt_trace) {
		ret = parse_trace(opt_trace, &cfg->trace);
		if (ret)
			return ret > 0 ? -1 : 1;
	}
	cfg->trace_file = opt_trace_file;
	cfg->kernel = opt_kernel;
	cfg->initrd = opt_initrd;
	cfg->append = opt_append;
	cfg->no_reboot = opt_no_reboot;
	if (opt_monitor && strcmp(opt_monitor, "none")) {
		if (strcmp(opt_monitor, "stdio")) {
			fprintf(stderr, "tandem: -monitor %s: only stdio and none (QMP: -qmp)\n",
				opt_monitor);
			return 1;
		}
		if (opt_serial && strcmp(opt_serial, "stdio") && strcmp(opt_serial, "mon:stdio")) {
			fprintf(stderr, "tandem: -monitor stdio shares stdio with the serial console: "
				"drop -serial %s or use -serial mon:stdio\n", opt_serial);
			return 1;
		}
		g_free(opt_serial);
		opt_serial = g_strdup("monitor:stdio");
	}
	if (opt_serial) {
		cfg->serial = serial_spec(opt_serial);
		if (!cfg->serial)
			return 1;
	}
	if (machine_accel && (opt_accel || opt_enable_kvm)) {
		fprintf(stderr, "tandem: -machine accel= and %s are two engine choices; give one\n",
			opt_accel ? "-accel" : "-enable-kvm");
		return 1;
	}
	if (machine_accel)
		cfg->accel = machine_accel;
	if (opt_enable_kvm)
		cfg->accel = "kvm";
	if (opt_accel) {
		char *comma = strchr(opt_accel, ',');

		/* QEMU writes "-accel kvm" and "-accel tcg,thread=single": options after a comma. */
		if (comma) {
			*comma = 0;
			cfg->accel_opts = comma + 1;
		}
		cfg->accel = opt_accel;
	}
	if (cfg->initrd && !cfg->kernel) {
		fprintf(stderr, "tandem: --initrd needs --kernel\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg = { .ram_size = 128ull << 20, .smp = 1, .accel = "auto",
				 .serial = "stdio" };
	const struct accel_ops *accel;
	char why[512], err[512];
	char **args;
	struct vm vm;
	int status;

	/*
	 * SIGUSR1 asks for a register dump once the vCPUs run (machine/vm.c);
	 * one that comes while the VM is still being built must not end the
	 * run, as the signal's default action would.
	 */
	signal(SIGUSR1, SIG_IGN);
	if (argc >= 3 && !strcmp(argv[1], "info") && !strcmp(argv[2], "--cpu"))
		return cmd_info_cpu(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return cmd_info();
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);

	args = rewrite_qemu_args(argc, argv, err, sizeof(err));
	if (!args) {
		fprintf(stderr, "tandem: %s (try --help)\n", err);
		return 1;
	}
	status = parse_args(&argc, &args, &cfg);
	if (status) {
		status = status < 0 ? 0 : status;
		goto out;
	}

	status = 1;
	/* Deterministic mode counts instructions: only the software CPU can. */
	if (cfg.icount && !strcmp(cfg.accel, "auto"))
		cfg.accel = "sw";
	accel = accel_select(cfg.accel, why, sizeof(why));
	if (!accel) {
		fprintf(stderr, "tandem: %s\n", why);
		goto out;
	}
	if (cfg.icount && accel->hw) {
		fprintf(stderr, "tandem: -icount needs --accel=sw: %s runs guest code on the host "
			"CPU, which cannot stop at an exact instruction count\n", accel->name);
		goto out;
	}
	/* auto,switch=on|off is auto's, not the engine's (machine/vmswitch.h). */
	if (vm_autoswitch_opts(cfg.accel, &cfg.accel_opts, err, sizeof(err)) ||
	    accel_check_opts(accel, cfg.accel_opts, err, sizeof(err))) {
		fprintf(stderr, "tandem: %s\n", err);
		goto out;
	}
	vm_info("%s\n", why);
	trace_engine_note(cfg.trace, accel);
	if (vm_create(&vm, &cfg, accel, &pc_board, err, sizeof(err))) {
		fprintf(stderr, "tandem: %s\n", err);
		goto out;
	}
	if (netdev_unused())	/* net hook */
		fprintf(stderr, "tandem: warning: -netdev %s is used by no NIC\n", netdev_unused());
	vm_autoswitch_start(&vm);
	status = vm_run(&vm);
	if (opt_stats) {
		vm_print_stats(&vm, stderr);
		vm_autoswitch_print_stats(&vm, stderr);
	}
	vm_destroy(&vm);
out:
	board_devices_clear();
	virtio_blk_opts_free();	/* virtio-blk hook */
	netdev_options_free();	/* net hook */
	chardevs_free();
	g_strfreev(args);
	return status;
}
