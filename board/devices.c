// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -device: the table of device types a user may add, their option
 * parsing, and the queue the command line fills (see board/board.h for
 * how to add a type).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/board.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "devices/testdev.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "machine/vm.h"

/* ---- the types ------------------------------------------------------------ */

/* QEMU's isa-debug-exit: always on the pc board, at its one place. */
static int create_isa_debug_exit(struct vm *vm, const char *opts, char *why, size_t len)
{
	static const char *const keys[] = { "iobase", "iosize", NULL };
	struct board_opts o;
	uint64_t base, size;
	int ret;

	ret = board_opts_parse(&o, "isa-debug-exit", opts, keys, why, len);
	ret = ret ?: board_opt_u64(&o, "isa-debug-exit", "iobase", 0xf4, &base, why, len);
	ret = ret ?: board_opt_u64(&o, "isa-debug-exit", "iosize", 4, &size, why, len);
	if (ret)
		return ret;
	if (base != 0xf4 || size != 4) {
		snprintf(why, len, "iobase=%#llx,iosize=%#llx not supported (tandem's is fixed at "
			 "iobase=0xf4,iosize=0x04, always present)", (unsigned long long)base,
			 (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

/* QEMU's test devices (devices/testdev.c parses their options itself). */
static int create_debugcon(struct vm *vm, const char *opts, char *why, size_t len)
{
	return testdev_create_from_opts(vm, "isa-debugcon", opts, board_chardev_spec, why, len);
}

static int create_pc_testdev(struct vm *vm, const char *opts, char *why, size_t len)
{
	return testdev_create_from_opts(vm, "pc-testdev", opts, board_chardev_spec, why, len);
}

static int create_pci_testdev(struct vm *vm, const char *opts, char *why, size_t len)
{
	static const char *const keys[] = { "addr", NULL };
	struct board_opts o;
	int ret, slot;

	ret = board_opts_parse(&o, "pci-testdev", opts, keys, why, len);
	ret = ret ?: board_opt_pci_slot(&o, "pci-testdev", &slot, why, len);
	if (ret)
		return ret;
	if (!vm_pci_bus(vm)) {
		snprintf(why, len, "this board has no PCI bus");
		return -ENODEV;
	}
	if (!pci_testdev_create(vm, vm_pci_bus(vm), slot)) {
		ret = -errno;
		snprintf(why, len, "cannot add it%s: %s", slot >= 0 ? " at that addr=" : "",
			 ret == -EEXIST ? "slot taken" : ret == -ENOSPC ? "no room" : strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * One row per type, sorted by name (-device help lists them in this order);
 * board/board.h says what create() gets and must do.
 */
static const struct board_device_type board_device_types[] = {
	{ "isa-debug-exit", "QEMU's exit port (always there): iobase=0xf4,iosize=0x04",
	  create_isa_debug_exit },
	{ "pci-testdev", "QEMU's PCI test device 1b36:0005 (BAR0 memory, BAR1 I/O): addr=SLOT",
	  create_pci_testdev },
	{ "isa-debugcon", "QEMU's debug console port: iobase=0xe9,chardev=ID[,readback=0xe9]",
	  create_debugcon },
	{ "pc-testdev", "QEMU's pc-testdev (kvm-unit-tests): ports 0xe0-0xeb, 0x2000+IRQ, "
	  "MMIO scratch at 0xff000000", create_pc_testdev },
	/* virtio devices (devices/virtio_*.c) */
	{ "virtconsole", "the console port of the last virtio-serial-pci: chardev=ID",
	  virtconsole_create },
	{ "virtio-blk-pci", "virtio disk on a -drive: drive=ID[,num-queues=N][,serial=S]",
	  virtio_blk_pci_create },
	{ "virtio-net-pci", "virtio NIC: netdev=ID[,mac=52:54:00:12:34:56][,mrg_rxbuf=off]",
	  virtio_net_pci_create },
	{ "virtio-rng-pci", "virtio entropy source (/dev/hwrng), from the host's getrandom()",
	  virtio_rng_pci_create },
	{ "virtio-serial-pci", "virtio console, one port: the guest's /dev/hvc0",
	  virtio_serial_pci_create },
};
#define NR_TYPES (sizeof(board_device_types) / sizeof(board_device_types[0]))

/* ---- options -------------------------------------------------------------- */

static void list_keys(char *out, size_t len, const char *const keys[])
{
	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; keys[i] && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "", keys[i]);
	if (!keys[0])
		snprintf(out, len, "none");
}

int board_opts_parse(struct board_opts *o, const char *dev, const char *opts,
		     const char *const keys[], char *why, size_t len)
{
	char *p, *save = NULL;

	memset(o, 0, sizeof(*o));
	if (strlen(opts) >= sizeof(o->buf)) {
		snprintf(why, len, "options too long");
		return -EINVAL;
	}
	strcpy(o->buf, opts);
	for (p = strtok_r(o->buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		unsigned k;

		if (eq)
			*eq = 0;
		for (k = 0; keys[k] && strcmp(keys[k], p); k++)
			;
		if (!keys[k] || o->n == BOARD_MAX_OPTS) {
			char known[128];

			list_keys(known, sizeof(known), keys);
			snprintf(why, len, "'%s' not supported (%s takes: %s)", p, dev, known);
			return -EINVAL;
		}
		o->key[o->n] = p;
		o->val[o->n++] = eq ? eq + 1 : "";
	}
	return 0;
}

const char *board_opt(const struct board_opts *o, const char *key)
{
	const char *v = NULL;

	/* The last one wins, as in QEMU. */
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			v = o->val[i];
	return v;
}

int board_opt_u64(const struct board_opts *o, const char *dev, const char *key, uint64_t def,
		  uint64_t *out, char *why, size_t len)
{
	const char *v = board_opt(o, key);
	char *end;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (!*v || *end || errno || *v == '-') {
		snprintf(why, len, "%s=%s: not a number", key, v);
		return -EINVAL;
	}
	(void)dev;
	return 0;
}

int board_opt_pci_slot(const struct board_opts *o, const char *dev, int *slot, char *why,
		       size_t len)
{
	const char *v = board_opt(o, "addr");
	unsigned long s, fn = 0;
	char *end;

	*slot = -1;
	if (!v)
		return 0;
	errno = 0;
	s = strtoul(v, &end, 16);	/* QEMU reads addr= in hex: addr=0a.0 */
	if (!errno && *end == '.')
		fn = strtoul(end + 1, &end, 16);
	if (!*v || *end || errno || s >= PCI_MAX_DEVICES || s == 0 || fn != 0) {
		snprintf(why, len, "addr=%s: a slot 1-0x1f (function 0 only) on bus 0", v);
		return -EINVAL;
	}
	(void)dev;
	*slot = (int)s;
	return 0;
}

/* ---- the queue ------------------------------------------------------------ */

#define MAX_QUEUED	32
static char *queued[MAX_QUEUED];
static unsigned nr_queued;

static const struct board_device_type *find_type(const char *spec)
{
	size_t n = strcspn(spec, ",");

	for (size_t i = 0; i < NR_TYPES; i++)
		if (strlen(board_device_types[i].name) == n &&
		    !strncmp(board_device_types[i].name, spec, n))
			return &board_device_types[i];
	return NULL;
}

int board_device_queue(const char *spec, char *why, size_t len)
{
	size_t n = 0;

	if (!strcmp(spec, "help") || !strcmp(spec, "?")) {
		printf("Devices (-device NAME[,KEY=VALUE...]):\n");
		for (size_t i = 0; i < NR_TYPES; i++)
			printf("  %-20s %s\n", board_device_types[i].name, board_device_types[i].help);
		return 1;
	}
	if (!find_type(spec)) {
		n = (size_t)snprintf(why, len, "-device %.*s: no such device in tandem (it has: ",
				     (int)strcspn(spec, ","), spec);
		for (size_t i = 0; i < NR_TYPES && n < len; i++)
			n += (size_t)snprintf(why + n, len - n, "%s%s", i ? ", " : "",
					      board_device_types[i].name);
		if (n < len)
			snprintf(why + n, len - n, "; -device help lists them)");
		return -EINVAL;
	}
	if (nr_queued == MAX_QUEUED) {
		snprintf(why, len, "-device: at most %d", MAX_QUEUED);
		return -EINVAL;
	}
	queued[nr_queued] = strdup(spec);
	if (!queued[nr_queued]) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	nr_queued++;
	return 0;
}

int board_devices_create(struct vm *vm, char *why, size_t len)
{
	for (unsigned i = 0; i < nr_queued; i++) {
		const struct board_device_type *t = find_type(queued[i]);
		const char *opts = queued[i] + strlen(t->name);
		char line[256] = "";
		int ret;

		ret = t->create(vm, *opts == ',' ? opts + 1 : opts, line, sizeof(line));
		if (ret) {
			snprintf(why, len, "-device %s: %s", queued[i], line[0] ? line : strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void board_devices_clear(void)
{
	for (unsigned i = 0; i < nr_queued; i++)
		free(queued[i]);
	nr_queued = 0;
}
