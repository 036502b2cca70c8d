// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Human monitor commands (machine/monitor.h). The spellings are QEMU's,
 * so a user's muscle memory and scripts (`info registers`, `stop`, `cont`,
 * `system_reset`, `q`) work; output formats are tandem's own where QEMU's
 * describe state tandem does not have.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/monitor.h"
#include "machine/snapshot.h"
#include "machine/vmswitch.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/x86_walk.h"

const char *monitor_run_state(struct vm *vm)
{
	if (vm_should_stop(vm))
		return "shutdown";
	return vm_paused(vm) ? "paused" : "running";
}

int monitor_registers(struct vm *vm, unsigned idx, GString *out)
{
	struct x86_state st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	ret = vcpu_state_access(vm->vcpus[idx], &st, false);
	if (ret)
		return ret;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	x86_state_dump(&st, f);
	fclose(f);
	g_string_append_len(out, buf, (gssize)len);
	free(buf);
	return 0;
}

static void info_registers(struct vm *vm, char **argv, GString *out)
{
	bool all = argv[0] && !strcmp(argv[0], "-a");

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int ret;

		if (!all && i)
			break;
		if (all)
			g_string_append_printf(out, "CPU#%u\n", i);
		ret = monitor_registers(vm, i, out);
		if (ret)
			g_string_append_printf(out, "vCPU %u: registers unavailable: %s\n", i,
					       ret == -ETIMEDOUT ? "the vCPU did not stop in 5 s"
								 : strerror(-ret));
	}
}

static void info_mtree_bus(GString *out, const char *name, const struct bus *b, unsigned w)
{
	g_string_append_printf(out, "%s\n", name);
	for (unsigned i = 0; i < b->nr; i++)
		g_string_append_printf(out, "  %0*llx-%0*llx %s\n", w,
				       (unsigned long long)b->r[i].base, w,
				       (unsigned long long)(b->r[i].base + b->r[i].len - 1),
				       b->r[i].name ? b->r[i].name : "?");
}

static void info_mtree(struct vm *vm, GString *out)
{
	g_string_append(out, "memory (RAM)\n");
	for (unsigned i = 0; i < vm->nr_ram; i++)
		g_string_append_printf(out, "  %016llx-%016llx ram\n",
				       (unsigned long long)vm->ram[i].gpa,
				       (unsigned long long)(vm->ram[i].gpa + vm->ram[i].size - 1));
	pthread_mutex_lock(&vm->lock);
	info_mtree_bus(out, "memory (MMIO)", &vm->mmio, 16);
	info_mtree_bus(out, "I/O", &vm->pio, 4);
	pthread_mutex_unlock(&vm->lock);
}

static void info_cpus(struct vm *vm, GString *out)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct x86_state st;

		if (!vcpu_state_access(vm->vcpus[i], &st, false))
			g_string_append_printf(out, "%c CPU #%u: pc=0x%016llx thread_id=%d\n",
					       i ? ' ' : '*', i,
					       (unsigned long long)(st.seg[S_CS].base + st.rip),
					       vm->vcpus[i]->tid);
		else
			g_string_append_printf(out, "%c CPU #%u: (not responding) thread_id=%d\n",
					       i ? ' ' : '*', i, vm->vcpus[i]->tid);
	}
}

/* `info tlb`: one line per mapping, as QEMU prints it: linear, physical, XGPDACTUW. */
#define INFO_TLB_MAX	100000	/* a guest may map one table everywhere: 512^4 leaves */

static int tlb_line(void *opaque, uint64_t la, uint64_t e, uint64_t size)
{
	GString *out = opaque;
	uint64_t frame = e & 0x000ffffffffff000ull & ~(size - 1);

	/* 32-bit 4 MiB pages: bits 13-20 are physical address bits 32-39 (PSE-36). */
	if (size == (1ull << 22))
		frame = (e & 0xffc00000ull) | ((e & 0x1fe000ull) << 19);
	g_string_append_printf(out, "%016llx: %016llx %c%c%c%c%c%c%c%c%c\n",
			       (unsigned long long)la, (unsigned long long)frame,
			       e >> 63 ? 'X' : '-', e & (1u << 8) ? 'G' : '-',
			       e & (1u << 7) && size > 4096 ? 'P' : '-', e & (1u << 6) ? 'D' : '-',
			       e & (1u << 5) ? 'A' : '-', e & (1u << 4) ? 'C' : '-',
			       e & (1u << 3) ? 'T' : '-', e & (1u << 2) ? 'U' : '-',
			       e & (1u << 1) ? 'W' : '-');
	return 0;
}

static int info_tlb(struct vm *vm, char **argv, GString *out)
{
	unsigned long idx = 0;
	struct x86_state st;
	char *end;
	long n;
	int ret;

	if (argv[0]) {
		idx = strtoul(argv[0], &end, 10);
		if (*end || end == argv[0] || idx >= vm->nr_vcpus) {
			g_string_append_printf(out, "info tlb: no vCPU '%s' (0-%u)\n", argv[0],
					       vm->nr_vcpus - 1);
			return -EINVAL;
		}
	}
	ret = vcpu_state_access(vm->vcpus[idx], &st, false);
	if (ret) {
		g_string_append_printf(out, "info tlb: vCPU %lu: %s\n", idx, strerror(-ret));
		return ret;
	}
	/* The walk reads the tables as they are now: the vCPUs may run on meanwhile. */
	n = x86_walk_each(vm, &st, tlb_line, out, INFO_TLB_MAX);
	if (n == -ENOENT)
		g_string_append(out, "PG disabled\n");
	else if (n >= INFO_TLB_MAX)
		g_string_append_printf(out, "(stopped after %d mappings)\n", INFO_TLB_MAX);
	return 0;
}

static int info(struct vm *vm, char **argv, GString *out);
static int help(struct vm *vm, char **argv, GString *out);

static int cmd_stop(struct vm *vm, char **argv, GString *out)
{
	vm_pause(vm);
	return 0;
}

static int cmd_cont(struct vm *vm, char **argv, GString *out)
{
	vm_resume(vm);
	return 0;
}

static int cmd_reset(struct vm *vm, char **argv, GString *out)
{
	/* Taken by vCPU 0 at its next stop; while paused, at `cont`. */
	vm_request_reset(vm);
	return 0;
}

static int cmd_powerdown(struct vm *vm, char **argv, GString *out)
{
	if (!vm_powerdown(vm))
		return 0;
	g_string_append(out, "system_powerdown: this board has no power button\n");
	return -ENODEV;
}

int monitor_snapshot(struct vm *vm, const char *path, bool load, bool stay_paused, char *why,
		     size_t len)
{
	bool was_running = vm_pause(vm);
	int ret;

	why[0] = 0;
	ret = load ? vm_snapshot_load(vm, path, why, len) : vm_snapshot_save(vm, path, why, len);
	if (was_running && !stay_paused)
		vm_resume(vm);
	return ret;
}

static int snapshot_cmd(struct vm *vm, char **argv, GString *out, bool load, bool migrate)
{
	const char *path = argv[0];
	char why[512];
	int ret;

	if (migrate && path && !strncmp(path, "file:", 5))
		path += 5;
	else if (migrate)
		path = NULL;
	if (!path || !*path) {
		g_string_append(out, migrate ? "migrate: give file:PATH\n" : "give a file name\n");
		return -EINVAL;
	}
	ret = monitor_snapshot(vm, path, load, migrate, why, sizeof(why));
	if (ret)
		g_string_append_printf(out, "%s\n", why);
	return ret;
}

static int cmd_migrate(struct vm *vm, char **argv, GString *out)
{
	return snapshot_cmd(vm, argv, out, false, true);
}

static int cmd_snap_save(struct vm *vm, char **argv, GString *out)
{
	return snapshot_cmd(vm, argv, out, false, false);
}

static int cmd_snap_load(struct vm *vm, char **argv, GString *out)
{
	return snapshot_cmd(vm, argv, out, true, false);
}

static int cmd_switch(struct vm *vm, char **argv, GString *out)
{
	char why[512];
	int ret = vm_switch_accel(vm, argv[0] ? argv[0] : "other", argv[0] ? argv[1] : NULL, why,
				  sizeof(why));

	if (ret)
		g_string_append_printf(out, "switch_accel: %s\n", why);
	else
		g_string_append_printf(out, "now on %s\n", vm->accel->name);
	return ret;
}

static int cmd_quit(struct vm *vm, char **argv, GString *out)
{
	vm_request_exit(vm, VM_EXIT_QMP, 0);
	return 0;
}

static const struct {
	const char *name, *alias, *args, *help;
	int (*fn)(struct vm *vm, char **argv, GString *out);
} commands[] = {
	{ "help", "?", "", "list the commands", help },
	{ "info", "i", "status|registers [-a]|cpus|tlb [CPU]|mtree|kvm|version",
	  "show machine state", info },
	{ "stop", "s", "", "pause every vCPU", cmd_stop },
	{ "cont", "c", "", "resume", cmd_cont },
	{ "system_reset", NULL, "", "reset the machine", cmd_reset },
	{ "system_powerdown", NULL, "", "press the ACPI power button", cmd_powerdown },
	{ "migrate", NULL, "file:PATH", "save the machine to PATH and stay paused", cmd_migrate },
	{ "snapshot_save", NULL, "PATH", "save the machine to PATH and go on", cmd_snap_save },
	{ "snapshot_load", NULL, "PATH", "restore the machine from PATH", cmd_snap_load },
	{ "switch_accel", NULL, "[sw|kvm|other [OPTS]]",
	  "move the running guest to another engine", cmd_switch },
	{ "quit", "q", "", "stop the VM and exit tandem", cmd_quit },
};

static int help(struct vm *vm, char **argv, GString *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		g_string_append_printf(out, "%s%s%s %s -- %s\n", commands[i].name,
				       commands[i].alias ? "|" : "",
				       commands[i].alias ? commands[i].alias : "",
				       commands[i].args, commands[i].help);
	return 0;
}

static int info(struct vm *vm, char **argv, GString *out)
{
	const char *what = argv[0];

	if (!what) {
		g_string_append(out, "info: say what (status, registers, cpus, tlb, mtree, kvm, "
			       "version)\n");
		return -EINVAL;
	}
	if (!strcmp(what, "status")) {
		g_string_append_printf(out, "VM status: %s\n", monitor_run_state(vm));
	} else if (!strcmp(what, "registers")) {
		info_registers(vm, argv + 1, out);
	} else if (!strcmp(what, "cpus")) {
		info_cpus(vm, out);
	} else if (!strcmp(what, "tlb")) {
		return info_tlb(vm, argv + 1, out);
	} else if (!strcmp(what, "mtree")) {
		info_mtree(vm, out);
	} else if (!strcmp(what, "kvm")) {
		g_string_append_printf(out, "kvm support: %s\n",
				       vm->accel->hw ? "enabled" : "disabled");
	} else if (!strcmp(what, "version")) {
		g_string_append_printf(out, "%s (tandem, engine %s)\n", PACKAGE_VERSION,
				       vm->accel->name);
	} else {
		g_string_append_printf(out, "info: unknown item '%s' (status, registers, cpus, "
				       "tlb, mtree, kvm, version)\n", what);
		return -EINVAL;
	}
	return 0;
}

static bool is(const char *cmd, size_t i)
{
	return !strcmp(cmd, commands[i].name) ||
	       (commands[i].alias && !strcmp(cmd, commands[i].alias));
}

int monitor_command(struct vm *vm, const char *line, GString *out)
{
	char **argv = g_strsplit_set(line ? line : "", " \t\r\n", -1);
	char **a = argv;
	int ret = 0;
	size_t i;

	/* g_strsplit_set leaves empty strings between repeated separators: squeeze them. */
	for (char **r = argv, **w = argv;; r++) {
		if (!*r) {
			*w = NULL;
			break;
		}
		if (**r)
			*w++ = *r;
		else
			g_free(*r);
	}
	if (!a[0])
		goto out;
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (is(a[0], i))
			break;
	if (i < G_N_ELEMENTS(commands)) {
		ret = commands[i].fn(vm, a + 1, out);
	} else {
		g_string_append_printf(out, "unknown command: '%s' (help lists them)\n", a[0]);
		ret = -EINVAL;
	}
out:
	g_strfreev(argv);
	return ret;
}
