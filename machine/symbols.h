/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_SYMBOLS_H
#define TANDEM_MACHINE_SYMBOLS_H
/*
 * Guest symbols for traces and the monitor: the function and object
 * symbols of an ELF file (the kernel given with -kernel when it is an ELF
 * with a symbol table, such as a vmlinux or a kit guest; or --symbols
 * FILE, which may also be a System.map), sorted by address. Read-only after loading: any thread may look
 * up.
 */
#include <stddef.h>
#include <stdint.h>

struct vm;
struct symbols;

/* Load @path's symbol table: the table, or NULL with one line in @err. */
struct symbols *symbols_load(const char *path, char *err, size_t errlen);
void symbols_free(struct symbols *s);
size_t symbols_count(const struct symbols *s);

/*
 * The symbol that contains @addr (or the nearest one below it, within
 * 64 KiB, for symbols of unknown size), with the offset into it; NULL if
 * none. @s may be NULL.
 */
const char *symbols_lookup(const struct symbols *s, uint64_t addr, uint64_t *off);
/* Format " <name+0xoff>" (or "" when no symbol) into @buf. */
const char *symbols_describe(const struct symbols *s, uint64_t addr, char *buf, size_t len);

#endif
