// SPDX-License-Identifier: GPL-2.0-or-later
/* The engine registry and the `auto` choice. */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accel/accel.h"
#include "machine/cpuid.h"
#include "config.h"

#ifdef CONFIG_KVM
extern const struct accel_ops kvm_accel_ops;
#endif
extern const struct accel_ops sw_accel_ops;

const struct accel_ops *const accel_list[] = {
#ifdef CONFIG_KVM
	&kvm_accel_ops,
#endif
	&sw_accel_ops,
	NULL,
};

/* QEMU's spellings are accepted: "tcg" is the software engine, "hw" is KVM. */
const struct accel_ops *accel_find(const char *name)
{
	if (!strcmp(name, "tcg"))
		name = "sw";
	if (!strcmp(name, "hw"))
		name = "kvm";
	for (int i = 0; accel_list[i]; i++)
		if (!strcmp(accel_list[i]->name, name))
			return accel_list[i];
	return NULL;
}

const struct accel_ops *accel_select(const char *name, char *why, size_t len)
{
	const struct accel_ops *a;
	char reason[256];

	if (strcmp(name, "auto")) {
		a = accel_find(name);
		if (!a) {
			snprintf(why, len, "unknown engine '%s' (engines: auto, kvm, sw)", name);
			return NULL;
		}
		if (a->probe(reason, sizeof(reason))) {
			snprintf(why, len, "engine '%s' is not usable here: %s", a->name, reason);
			return NULL;
		}
		snprintf(why, len, "engine %s (requested)", a->name);
		return a;
	}
	/*
	 * auto: the first usable engine in preference order. The line says
	 * why: what made it usable, or why each engine before it was not.
	 */
	char skipped[256] = "";

	for (int i = 0; (a = accel_list[i]); i++) {
		size_t n = strlen(skipped);

		reason[0] = 0;
		if (!a->probe(reason, sizeof(reason))) {
			if (n)
				snprintf(why, len, "engine %s (auto: %s)", a->name, skipped);
			else
				snprintf(why, len, "engine %s (auto: %s)", a->name,
					 reason[0] ? reason : "usable");
			return a;
		}
		snprintf(skipped + n, sizeof(skipped) - n, "%s%s unusable: %s", n ? "; " : "",
			 a->name, reason);
	}
	snprintf(why, len, "no usable engine: %s", skipped);
	return NULL;
}

/* What engine @a (NULL: every usable one) provides with @opts: into @can. */
static void engine_provides(const struct accel_ops *a, const char *opts, struct cpuid_feats *can,
			    char *engines, size_t elen)
{
	struct cpuid_model tmp;
	char reason[256];

	engines[0] = 0;
	cpuid_sw_provides(can);
	cpuid_model_from_feats(&tmp, can);
	for (int i = 0; accel_list[i]; i++) {
		const struct accel_ops *e = accel_list[i];
		size_t n = strlen(engines);

		if (!a ? e->probe(reason, sizeof(reason)) != 0 : e != a)
			continue;
		snprintf(engines + n, elen - n, "%s%s", n ? "+" : "", e->name);
		if (e->cpuid_limit)
			e->cpuid_limit(&tmp, a ? opts : NULL);
	}
	cpuid_model_feats(&tmp, can);
}

int accel_cpuid_check(const struct accel_ops *a, const char *opts, char *why, size_t len)
{
	struct cpuid_feats can, have;
	char engines[64];

	engine_provides(a, opts, &can, engines, sizeof(engines));
	if (a->hw) {
		uint32_t r[4], m[4];

		__cpuid(0, r[0], r[1], r[2], r[3]);
		cpuid_model_lookup(&cpuid_global, 0, 0, 0, m);
		if (r[1] != m[1] || r[2] != m[2] || r[3] != m[3]) {
			snprintf(why, len, "the guest's CPU model is of another vendor than the host "
				 "CPU the %s engine runs it on", a->name);
			return -EINVAL;
		}
	}
	cpuid_model_feats(&cpuid_global, &have);
	have.w[CPUID_W_1_ECX] &= ~CPUID_1_ECX_HYPERVISOR;
	for (int w = 0; w < CPUID_NR_WORDS; w++) {
		if (have.w[w] & ~can.w[w]) {
			snprintf(why, len, "the guest's CPU model has features the %s engine cannot "
				 "provide here (CPUID word %d: %#x); start it with a model both "
				 "have", a->name, w, have.w[w] & ~can.w[w]);
			return -EINVAL;
		}
	}
	return 0;
}

int accel_cpuid_init(unsigned nr_vcpus, const char *spec, const struct accel_ops *a,
		     const char *opts, char *why, size_t len)
{
	bool all = cpuid_spec_is_default(spec);
	struct cpuid_feats can;
	char engines[64];

	/* What the engine(s) provide: the software CPU's table, then each engine's limits. */
	engine_provides(all ? NULL : a, opts, &can, engines, sizeof(engines));
	return cpuid_model_build(&cpuid_global, nr_vcpus, spec, &can,
				 engines[0] ? engines : "sw", !all && a && a->hw, stderr, why, len);
}

const struct accel_ops *accel_fallback(const struct accel_ops *self)
{
	for (int i = 0; accel_list[i]; i++)
		if (accel_list[i] != self && accel_list[i]->emulate)
			return accel_list[i];
	return NULL;
}

/* Is @val one of the '|'-separated @values? */
static bool value_ok(const char *values, const char *val, size_t n)
{
	const char *p = values;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, val, n))
			return true;
		if (!bar)
			return false;
		p = bar + 1;
	}
}

/*
 * Step through "name=value,..." in @*p: the next item's start (its length
 * in @n), advancing @*p past it; NULL at the end.
 */
static const char *next_opt(const char **p, size_t *n)
{
	const char *item = *p, *end;

	if (!item || !*item)
		return NULL;
	end = strchr(item, ',');
	*n = end ? (size_t)(end - item) : strlen(item);
	*p = end ? end + 1 : NULL;
	return item;
}

int accel_check_opts(const struct accel_ops *a, const char *opts, char *why, size_t len)
{
	const char *p;
	size_t n;

	while ((p = next_opt(&opts, &n))) {
		const struct accel_opt *o = NULL;
		const char *eq;

		eq = memchr(p, '=', n);
		for (const struct accel_opt *i = a->opts; eq && i && i->name; i++)
			if (strlen(i->name) == (size_t)(eq - p) && !strncmp(i->name, p, eq - p))
				o = i;
		if (!o) {
			snprintf(why, len, "engine %s: unknown option '%.*s'%s", a->name, (int)n, p,
				 a->opts ? " (see tandem info)" : " (it takes none)");
			return -EINVAL;
		}
		if (!value_ok(o->values, eq + 1, n - (size_t)(eq + 1 - p))) {
			snprintf(why, len, "engine %s: option %s takes %s, not '%.*s'", a->name,
				 o->name, o->values, (int)(n - (size_t)(eq + 1 - p)), eq + 1);
			return -EINVAL;
		}
	}
	return 0;
}

const char *accel_opt_value(const char *opts, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name), n;
	const char *p;

	while ((p = next_opt(&opts, &n))) {
		if (n > nl && p[nl] == '=' && !strncmp(p, name, nl)) {
			snprintf(buf, len, "%.*s", (int)(n - nl - 1), p + nl + 1);
			return buf;
		}
	}
	return NULL;
}
