// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer driver for the kernel loaders (not part of `make check`).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -I. -o loader-fuzz tests/unit/loader-fuzz.c machine/loader*.c \
 *     machine/memory.c machine/x86_state.c machine/e820.c board/acpi.c -lelf
 *   mkdir -p corpus && TANDEM_LOADER_SEEDS=corpus tests/unit/test_loader
 *   ./loader-fuzz -max_total_time=300 corpus
 *
 * Without -fsanitize=fuzzer, add -DLOADER_FUZZ_MAIN to get a program that
 * replays the files named on its command line (crash reproducers).
 *
 * The seeds are the valid images test_loader mutates: multiboot ELF32 and
 * ELF64, plain ELF64, the multiboot a.out kludge and a minimal bzImage.
 * The first input byte picks the options (command line, initrd), the rest
 * is the kernel image. Every input must either load or fail with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine/loader.h"
#include "machine/memory.h"
#include "machine/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm fuzz_vm;
static char initrd_path[64];

static void fuzz_setup(void)
{
	static const char rd[] = "initrd contents";
	FILE *f;
	int fd;

	if (fuzz_vm.nr_ram)
		return;
	if (vm_mem_init(&fuzz_vm, 64 << 20))
		abort();
	snprintf(initrd_path, sizeof(initrd_path), "/tmp/loader-fuzz-XXXXXX");
	fd = mkstemp(initrd_path);
	if (fd < 0)
		abort();
	f = fdopen(fd, "wb");
	if (!f || fwrite(rd, 1, sizeof(rd), f) != sizeof(rd))
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_state boot;
	char err[256] = "";
	int ret;

	if (size < 2)
		return 0;
	fuzz_setup();
	struct loader_args a = {
		.kernel = "fuzz",
		.image = data + 1,
		.image_size = size - 1,
		.cmdline = data[0] & 1 ? "console=ttyS0" : NULL,
		.initrd = data[0] & 2 ? initrd_path : NULL,
	};

	ret = loader_load(&fuzz_vm, &a, &boot, err, sizeof(err));
	/* A refusal must say why, on one line. */
	if (ret > 0 || (ret < 0 && (!err[0] || strchr(err, '\n'))))
		abort();
	return 0;
}

#ifdef LOADER_FUZZ_MAIN
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[16 << 20];
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		printf("%s: ok\n", argv[i]);
	}
	unlink(initrd_path);
	return 0;
}
#endif
