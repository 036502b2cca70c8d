// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest symbol tables from ELF files (machine/symbols.h), read with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine/symbols.h"

struct sym {
	uint64_t addr, size;
	char *name;
};

struct symbols {
	struct sym *v;
	size_t n;
};

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add_sym(struct symbols *s, uint64_t addr, uint64_t size, const char *name)
{
	struct sym *v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n].addr = addr;
	v[s->n].size = size;
	v[s->n].name = strdup(name);
	if (!v[s->n].name)
		return -ENOMEM;
	s->n++;
	return 0;
}

static int add_table(struct symbols *s, Elf *e, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t count;

	if (!d || !sh->sh_entsize)
		return 0;
	count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name || !*name || name[0] == '$')
			continue;
		if (add_sym(s, sym.st_value, sym.st_size, name))
			return -ENOMEM;
	}
	return 0;
}

/* A System.map (nm output: "ADDR TYPE NAME"), as Debian installs in /boot. */
static int load_map(struct symbols *s, FILE *f)
{
	char line[512], name[256], type;
	unsigned long long addr;

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			return -EINVAL;
		if (!strchr("tTwWdDbBrR", type) || !addr)
			continue;
		if (add_sym(s, addr, 0, name))
			return -ENOMEM;
	}
	return 0;
}

/* Symbols without a size end where the next one starts (at most 1 MiB on). */
static void fill_sizes(struct symbols *s)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t j = i + 1;

		if (s->v[i].size)
			continue;
		while (j < s->n && s->v[j].addr == s->v[i].addr)
			j++;
		if (j < s->n && s->v[j].addr - s->v[i].addr <= (1u << 20))
			s->v[i].size = s->v[j].addr - s->v[i].addr;
	}
}

struct symbols *symbols_load(const char *path, char *err, size_t errlen)
{
	struct symbols *s = calloc(1, sizeof(*s));
	Elf_Scn *scn = NULL;
	Elf *e = NULL;
	int fd = -1, ret = 0;

	if (!s || elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "symbols: out of memory or no libelf");
		goto fail;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "symbols: cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		FILE *f = fdopen(dup(fd), "r");

		ret = f ? load_map(s, f) : -ENOMEM;
		if (f)
			fclose(f);
		if (ret || !s->n) {
			snprintf(err, errlen, "symbols: %s is neither an ELF file with symbols nor a "
				 "System.map", path);
			goto fail;
		}
		goto sort;
	}
	/* .symtab if there is one (unstripped), else .dynsym. */
	for (int want = SHT_SYMTAB; want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0) {
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_type == (unsigned)want)
				ret = add_table(s, e, scn, &sh);
			if (ret)
				break;
		}
		if (ret || s->n)
			break;
	}
	if (ret) {
		snprintf(err, errlen, "symbols: %s: out of memory", path);
		goto fail;
	}
	if (!s->n) {
		snprintf(err, errlen, "symbols: %s has no symbol table", path);
		goto fail;
	}
sort:
	qsort(s->v, s->n, sizeof(*s->v), by_addr);
	fill_sizes(s);
	if (e)
		elf_end(e);
	close(fd);
	return s;
fail:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	symbols_free(s);
	return NULL;
}

void symbols_free(struct symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	free(s);
}

size_t symbols_count(const struct symbols *s)
{
	return s ? s->n : 0;
}

const char *symbols_lookup(const struct symbols *s, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi;

	if (!s || !s->n || addr < s->v[0].addr)
		return NULL;
	/* The last symbol at or below @addr. */
	hi = s->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Prefer a sized symbol that contains @addr among equal addresses. */
	for (size_t i = lo + 1; i-- > 0 && s->v[i].addr == s->v[lo].addr;)
		if (s->v[i].size && addr - s->v[i].addr < s->v[i].size) {
			lo = i;
			break;
		}
	if (s->v[lo].size ? addr - s->v[lo].addr >= s->v[lo].size
			  : addr - s->v[lo].addr >= 0x10000)
		return NULL;	/* past the end of the last symbol below */
	*off = addr - s->v[lo].addr;
	return s->v[lo].name;
}

const char *symbols_describe(const struct symbols *s, uint64_t addr, char *buf, size_t len)
{
	uint64_t off;
	const char *name = symbols_lookup(s, addr, &off);

	if (!name)
		snprintf(buf, len, "%s", "");
	else if (off)
		snprintf(buf, len, " <%s+%#llx>", name, (unsigned long long)off);
	else
		snprintf(buf, len, " <%s>", name);
	return buf;
}
