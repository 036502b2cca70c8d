// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tandem: command line. GNU long options that mirror QEMU's names; QEMU's
 * single-dash spellings (-kernel, -accel kvm, -nographic, ...) are
 * rewritten to their long forms before parsing. Bad input gets one line
 * on stderr and exit status 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/vm.h"

static char *opt_accel, *opt_kernel, *opt_initrd, *opt_append, *opt_mem, *opt_serial;
static char *opt_trace, *opt_trace_file, *opt_cpu, *opt_machine;
static int opt_smp = 1;
static gboolean opt_no_reboot, opt_nographic, opt_enable_kvm, opt_stats, opt_version;

static GOptionEntry entries[] = {
	{ "accel", 0, 0, G_OPTION_ARG_STRING, &opt_accel,
	  "Engine: auto (default), kvm (alias hw), sw (alias tcg); sw,jit=off", "ENGINE" },
	{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &opt_kernel,
	  "Kernel: multiboot or ELF64 image (default: the built-in demo guest)", "FILE" },
	{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_initrd, "Initial ramdisk / module", "FILE" },
	{ "append", 0, 0, G_OPTION_ARG_STRING, &opt_append, "Kernel command line", "CMDLINE" },
	{ "memory", 'm', 0, G_OPTION_ARG_STRING, &opt_mem,
	  "Guest RAM, e.g. 256M or 2G (default 128M; plain numbers are MiB)", "SIZE" },
	{ "smp", 0, 0, G_OPTION_ARG_INT, &opt_smp, "Number of CPUs (default 1)", "N" },
	{ "serial", 0, 0, G_OPTION_ARG_STRING, &opt_serial,
	  "COM1 back end: stdio (default), file:PATH, none", "DEV" },
	{ "no-reboot", 0, 0, G_OPTION_ARG_NONE, &opt_no_reboot,
	  "Exit instead of rebooting when the guest resets or triple-faults", NULL },
	{ "trace", 'd', 0, G_OPTION_ARG_STRING, &opt_trace,
	  "Trace classes: in_asm,int,cpu,io,exit,out_asm (sw engine: in_asm, cpu, out_asm)", "LIST" },
	{ "trace-file", 'D', 0, G_OPTION_ARG_FILENAME, &opt_trace_file,
	  "Write the trace to FILE (default stderr)", "FILE" },
	{ "stats", 0, 0, G_OPTION_ARG_NONE, &opt_stats, "Print engine statistics at exit", NULL },
	{ "nographic", 0, 0, G_OPTION_ARG_NONE, &opt_nographic,
	  "Accepted for QEMU compatibility (tandem has no display)", NULL },
	{ "enable-kvm", 0, 0, G_OPTION_ARG_NONE, &opt_enable_kvm, "Same as --accel=kvm", NULL },
	{ "cpu", 0, 0, G_OPTION_ARG_STRING, &opt_cpu, "Accepted for QEMU compatibility: host/max/qemu64 all give the tandem CPU model", "MODEL" },
	{ "machine", 'M', 0, G_OPTION_ARG_STRING, &opt_machine, "Board (only 'pc')", "TYPE" },
	{ "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version", NULL },
	{ NULL }
};

/* QEMU spellings: "-kernel" -> "--kernel"; single-letter options stay. */
static void rewrite_qemu_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-' || a[1] == '-' || a[1] == 0 || a[2] == 0)
			continue;
		for (const GOptionEntry *e = entries; e->long_name; e++) {
			size_t n = strlen(e->long_name);

			if (!strncmp(a + 1, e->long_name, n) && (a[n + 1] == 0 || a[n + 1] == '=')) {
				argv[i] = g_strdup_printf("-%s", a);
				break;
			}
		}
	}
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mul = 1ull << 20;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v <= 0)
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
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

static int parse_trace(const char *s, unsigned *mask)
{
	static const struct {
		const char *name;
		unsigned bit;
	} classes[] = {
		{ "in_asm", TRACE_IN_ASM }, { "int", TRACE_INT }, { "cpu", TRACE_CPU },
		{ "io", TRACE_IO }, { "exit", TRACE_EXIT }, { "out_asm", TRACE_OUT_ASM },
	};
	char **parts = g_strsplit(s, ",", -1);
	int ret = 0;

	for (char **p = parts; *p; p++) {
		unsigned i;

		for (i = 0; i < G_N_ELEMENTS(classes); i++)
			if (!strcmp(*p, classes[i].name))
				break;
		if (i == G_N_ELEMENTS(classes)) {
			fprintf(stderr, "tandem: unknown trace class '%s' (classes: in_asm, int, out_asm, "
				"cpu, io, exit)\n", *p);
			ret = -EINVAL;
			break;
		}
		*mask |= classes[i].bit;
	}
	g_strfreev(parts);
	return ret;
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

int main(int argc, char **argv)
{
	struct vm_config cfg = { .ram_size = 128ull << 20, .smp = 1, .accel = "auto",
				 .serial = "stdio" };
	const struct accel_ops *accel;
	GOptionContext *ctx;
	GError *gerr = NULL;
	char why[512], err[512];
	struct vm vm;
	int status;

	if (argc >= 2 && !strcmp(argv[1], "info"))
		return cmd_info();

	rewrite_qemu_args(argc, argv);
	ctx = g_option_context_new("[info] - run an x86 guest on KVM or the software CPU");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"With no kernel, tandem boots its built-in demo guest.\n"
		"Exit status: 0 guest powered off (or reset with --no-reboot), (v<<1)|1 after the\n"
		"guest writes v to the isa-debug-exit port 0xf4, 1 bad usage, 2 triple fault\n"
		"with --no-reboot, 3 engine error, 4 guest halted with interrupts disabled.\n"
		"Console: Ctrl-A x quits, Ctrl-A h helps.\n");
	if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
		fprintf(stderr, "tandem: %s (try --help)\n", gerr->message);
		g_error_free(gerr);
		g_option_context_free(ctx);
		return 1;
	}
	g_option_context_free(ctx);
	if (opt_version) {
		printf("tandem %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "tandem: unexpected argument '%s' (try --help)\n", argv[1]);
		return 1;
	}
	if (opt_machine && strcmp(opt_machine, "pc") && strncmp(opt_machine, "pc,", 3)) {
		fprintf(stderr, "tandem: unknown machine '%s' (only 'pc')\n", opt_machine);
		return 1;
	}
	if (opt_mem && (parse_size(opt_mem, &cfg.ram_size) || cfg.ram_size < (2ull << 20) ||
			cfg.ram_size > (1ull << 40))) {
		fprintf(stderr, "tandem: invalid memory size '%s' (use e.g. 256M or 2G, "
			"2 MiB to 1 TiB)\n", opt_mem);
		return 1;
	}
	cfg.ram_size = (cfg.ram_size + 0xfff) & ~0xfffull;
	if (opt_smp < 1 || opt_smp > VM_MAX_VCPUS) {
		fprintf(stderr, "tandem: invalid --smp %d (1 to %d)\n", opt_smp, VM_MAX_VCPUS);
		return 1;
	}
	cfg.smp = (unsigned)opt_smp;
	if (opt_trace && parse_trace(opt_trace, &cfg.trace))
		return 1;
	cfg.trace_file = opt_trace_file;
	cfg.kernel = opt_kernel;
	cfg.initrd = opt_initrd;
	cfg.append = opt_append;
	cfg.no_reboot = opt_no_reboot;
	if (opt_serial)
		cfg.serial = opt_serial;
	if (opt_enable_kvm)
		cfg.accel = "kvm";
	if (opt_accel) {
		char *comma = strchr(opt_accel, ',');

		/* QEMU writes "-accel kvm" and "-accel tcg,thread=single": options after a comma. */
		if (comma) {
			*comma = 0;
			cfg.accel_opts = comma + 1;
		}
		cfg.accel = opt_accel;
	}
	if (cfg.initrd && !cfg.kernel) {
		fprintf(stderr, "tandem: --initrd needs --kernel\n");
		return 1;
	}

	accel = accel_select(cfg.accel, why, sizeof(why));
	if (!accel) {
		fprintf(stderr, "tandem: %s\n", why);
		return 1;
	}
	if (accel_check_opts(accel, cfg.accel_opts, err, sizeof(err))) {
		fprintf(stderr, "tandem: %s\n", err);
		return 1;
	}
	fprintf(stderr, "tandem: %s\n", why);
	if (vm_create(&vm, &cfg, accel, err, sizeof(err))) {
		fprintf(stderr, "tandem: %s\n", err);
		return 1;
	}
	status = vm_run(&vm);
	if (opt_stats)
		vm_print_stats(&vm, stderr);
	vm_destroy(&vm);
	return status;
}
