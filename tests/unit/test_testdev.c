// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of QEMU's test devices (devices/testdev.c), driven through
 * the buses as a guest would: option parsing, the pc-testdev registers,
 * interrupt lines, MMIO scratch, isa-debugcon output, and teardown
 * through the VM's device list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "devices/testdev.h"
#include "machine/bus.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/vm.h"

static struct vm vm;
static char dbg_spec[128], dbg_path[64];
static int line_level[VM_NR_IRQ_LINES];

static void line_spy(void *opaque, unsigned line, int level)
{
	line_level[line] = level;
}

static const char *lookup(const char *id)
{
	if (!strcmp(id, "dbg"))
		return dbg_spec;
	if (!strcmp(id, "null"))
		return "none";
	return NULL;
}

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	memset(line_level, 0, sizeof(line_level));
	for (unsigned i = 0; i < VM_NR_IRQ_LINES; i++)
		CU_ASSERT_EQUAL(irq_connect(&vm, i, line_spy, NULL), 0);
	CU_ASSERT_FATAL(vm_mem_init(&vm, 16 << 20) == 0);
}

static void teardown(void)
{
	device_destroy_all(&vm);
	CU_ASSERT_PTR_NULL(vm.devices);
	bus_free(&vm.pio);
	bus_free(&vm.mmio);
	irq_free(&vm);
	vm_mem_exit(&vm);
	pthread_mutex_destroy(&vm.lock);
}

static int create(const char *name, const char *opts, char *why)
{
	why[0] = 0;
	return testdev_create_from_opts(&vm, name, opts, lookup, why, 256);
}

static void test_pc_testdev(void)
{
	char why[256];
	struct dev_buf b = { 0 };

	setup();
	CU_ASSERT_EQUAL_FATAL(create("pc-testdev", NULL, why), 0);
	CU_ASSERT_PTR_NOT_NULL(device_find(&vm, "pc-testdev"));
	/* Scratch: any size at any offset inside the four bytes; 0xe8 is the same. */
	pio_write(&vm, 0xe0, 0x12345678, 4);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe0, 4), 0x12345678);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe1, 1), 0x56);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe1, 2), 0x3456);
	pio_write(&vm, 0xe2, 0xabcd, 2);
	pio_write(&vm, 0xeb, 0x99, 1);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe8, 4), 0x99cd5678);
	/* A dword at 0xe2 runs into the flush port: nobody takes it (bus.h). */
	pio_write(&vm, 0xe2, 0, 4);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe0, 4), 0x99cd5678);
	CU_ASSERT_EQUAL(vm.pio.partial_writes, 1);
	/* The flush port: dword writes of any address are harmless; reads all-ones. */
	pio_write(&vm, 0xe4, 0x1000, 4);
	pio_write(&vm, 0xe4, 0xfffff000, 4);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe4, 4), 0xffffffffu);
	/* IRQ lines: a byte sets line n to !!v; wider writes are ignored, as in QEMU. */
	pio_write(&vm, 0x2005, 7, 1);
	CU_ASSERT_EQUAL(line_level[5], 1);
	pio_write(&vm, 0x2005, 0, 1);
	CU_ASSERT_EQUAL(line_level[5], 0);
	pio_write(&vm, 0x2017, 1, 1);
	CU_ASSERT_EQUAL(line_level[23], 1);
	pio_write(&vm, 0x2004, 0x0101, 2);
	CU_ASSERT_EQUAL(line_level[4], 0);
	pio_write(&vm, 0x2018, 1, 1);	/* past the 24 lines: a hole */
	CU_ASSERT_EQUAL(pio_read(&vm, 0x2000, 1), 0xff);
	/* MMIO scratch: sizes, and nothing past its 64 KiB. */
	mmio_write(&vm, 0xff000010, 0x0123456789abcdefull, 8);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xff000014, 4), 0x01234567);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xff000010, 1), 0xef);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xff00fffc, 8), ~0ull);
	mmio_write(&vm, 0xff00fff8, 0x55, 8);
	CU_ASSERT_EQUAL(mmio_read(&vm, 0xff00fff8, 8), 0x55);
	/* State: scratch and iomem; reset clears them. */
	CU_ASSERT_EQUAL(vm.devices->ops->save(vm.devices, &b), 0);
	CU_ASSERT_EQUAL(b.len, 4 + 0x10000);
	vm.devices->ops->reset(vm.devices);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe0, 4), 0);
	CU_ASSERT_EQUAL(vm.devices->ops->load(vm.devices, b.data, b.len, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe0, 4), 0x99cd5678);
	CU_ASSERT_EQUAL(vm.devices->ops->load(vm.devices, b.data, 3, why, sizeof(why)), -EINVAL);
	dev_buf_free(&b);
	/* A second one cannot have the same ports. */
	CU_ASSERT_EQUAL(create("pc-testdev", "", why), -EEXIST);
	CU_ASSERT_STRING_EQUAL(why, "ports 0xe0-0xe3 overlap pc-testdev ioport");
	teardown();
}

static void test_debugcon(void)
{
	char why[256], got[64] = "";
	FILE *f;

	setup();
	snprintf(dbg_path, sizeof(dbg_path), "/tmp/tandem-testdev-%d", (int)getpid());
	snprintf(dbg_spec, sizeof(dbg_spec), "file:%s", dbg_path);
	CU_ASSERT_EQUAL_FATAL(create("isa-debugcon", "chardev=dbg", why), 0);
	CU_ASSERT_EQUAL(pio_read(&vm, 0xe9, 1), 0xe9);
	for (const char *c = "hi\n"; *c; c++)
		pio_write(&vm, 0xe9, (uint8_t)*c, 1);
	/* Wider than its one port: partly unclaimed, so nothing is written. */
	pio_write(&vm, 0xe9, 0x4141, 2);
	CU_ASSERT_EQUAL(create("isa-debugcon", "iobase=0x3e9,readback=0x42,chardev=null,id=x",
			       why), 0);
	CU_ASSERT_EQUAL(pio_read(&vm, 0x3e9, 1), 0x42);
	teardown();		/* closes the file */
	f = fopen(dbg_path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fread(got, 1, sizeof(got) - 1, f), 3);
	CU_ASSERT_STRING_EQUAL(got, "hi\n");
	fclose(f);
	unlink(dbg_path);
}

static void test_errors(void)
{
	static const struct {
		const char *name, *opts;
		int ret;
		const char *why;
	} cases[] = {
		{ "isa-debugcon", NULL, -EINVAL, "needs chardev=ID (with -chardev "
		  "file,id=ID,path=PATH or stdio,id=ID), as in QEMU" },
		{ "isa-debugcon", "chardev=nope", -ENOENT, "no -chardev with id=nope" },
		{ "isa-debugcon", "iobase=0x10000,chardev=null", -EINVAL,
		  "iobase '0x10000': a port, 0 to 0xffff" },
		{ "isa-debugcon", "iobase=-1,chardev=null", -EINVAL,
		  "iobase '-1': a port, 0 to 0xffff" },
		{ "isa-debugcon", "readback=256,chardev=null", -EINVAL,
		  "readback '256': a byte, 0 to 0xff" },
		{ "isa-debugcon", "chardev=null,size=2", -EINVAL,
		  "option 'size=2' not supported (iobase=, chardev=, readback=)" },
		{ "pc-testdev", "iobase=0xe0", -EINVAL,
		  "option 'iobase=0xe0' not supported (it takes none)" },
		{ "pci-testdev", "", -ENOENT, "not a test device" },
	};
	char why[256];

	setup();
	CU_ASSERT(testdev_handles("isa-debugcon") && testdev_handles("pc-testdev"));
	CU_ASSERT(!testdev_handles("isa-debug-exit") && !testdev_handles(NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(create(cases[i].name, cases[i].opts, why), cases[i].ret);
		CU_ASSERT_STRING_EQUAL(why, cases[i].why);
	}
	/* Nothing half-made: no device, no port taken. */
	CU_ASSERT_PTR_NULL(vm.devices);
	CU_ASSERT_EQUAL(vm.pio.nr, 0);
	/* A debugcon inside pc-testdev's ports. */
	CU_ASSERT_EQUAL(create("pc-testdev", NULL, why), 0);
	CU_ASSERT_EQUAL(create("isa-debugcon", "iobase=0xe9,chardev=null", why), -EEXIST);
	CU_ASSERT_STRING_EQUAL(why, "port 0xe9 is taken by pc-testdev ioport-byte");
	teardown();
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	s = CU_add_suite("testdev", NULL, NULL);
	CU_add_test(s, "pc-testdev registers, lines, iomem, state", test_pc_testdev);
	CU_add_test(s, "isa-debugcon output and readback", test_debugcon);
	CU_add_test(s, "option errors, overlaps", test_errors);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
