/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_BOARD_H
#define TANDEM_BOARD_H
/*
 * The pc board: a table of devices with their ports and IRQ lines, walked
 * by board_create(); and the boot image (kernel/initrd or the built-in
 * demo guest) that board_load() puts in RAM, filling vm->boot.
 */
#include <stddef.h>

struct vm;

int board_create(struct vm *vm, char *err, size_t errlen);
/* (Re)load the boot image and set vm->boot. */
int board_load(struct vm *vm, char *err, size_t errlen);
/* After device_destroy_all(): what the board itself holds (the serial back end). */
void board_destroy(struct vm *vm);

/* The built-in demo guest (tests/guests/demo.elf, linked into the binary). */
extern const unsigned char demo_guest[];
extern const unsigned char demo_guest_end[];

#endif
