// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The GDB remote stub (machine/gdbstub.h), hand-written after gdb's
 * "Remote Serial Protocol" documentation.
 *
 * Threads: everything runs on the main thread's GLib loop except
 * gdb_vcpu_stopped(), which a vCPU thread calls when its engine stopped
 * for the debugger. It records the stop under srv->lock, asks every vCPU
 * to park (vm_pause_request()) and wakes the loop through an eventfd;
 * the loop waits until all are parked and sends the stop reply. Register
 * and memory access happen only while the VM is paused: registers through
 * vcpu_call() on the vCPU's own thread (get_state()/set_state() are safe
 * only there), memory through the guest's page tables (machine/x86_walk.h)
 * and the checked gpa->host helper, so nothing outside guest RAM is ever
 * touched; MMIO is refused.
 *
 * Breakpoints never write guest memory: they are addresses handed to the
 * engine (accel_ops.set_debug), which compares them itself -- the
 * software CPU before each instruction, KVM in its debug registers.
 *
 * Lock order: srv->lock before the VM's control lock (vm_pause_request()
 * is called with it held); the main thread never holds srv->lock across
 * vcpu_call() or vm_pause().
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "accel/accel.h"
#include "machine/gdbstub.h"
#include "machine/sockets.h"
#include "machine/memory.h"
#include "machine/monitor.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/x86_walk.h"

/* The largest packet we take or send (data bytes), advertised as PacketSize. */
#define GDB_MAX_PKT	4096u

enum parse_state { P_IDLE, P_DATA, P_ESC, P_CSUM1, P_CSUM2 };

struct gdb_server {
	struct vm *vm;
	int listen_fd;
	unsigned listen_watch;
	char *path;			/* unix socket to unlink at close */
	int arch_opt;			/* arch=: 0 auto, 32 or 64 */

	int fd;				/* the client; -1: none */
	unsigned in_watch;
	enum parse_state ps;
	char pkt[GDB_MAX_PKT + 1];
	size_t plen;
	bool overlong;
	uint8_t sum;
	char csum[2];
	bool noack;
	unsigned bits;			/* the target description chosen at connect: 32/64 */
	char *tdesc;
	int g_cpu, c_cpu;		/* Hg / Hc: vCPU index; c_cpu -1: all */
	struct x86_state regs[VM_MAX_VCPUS];
	bool regs_valid[VM_MAX_VCPUS];
	struct vcpu_debug dbg;		/* breakpoints and watchpoints, all vCPUs */
	unsigned sstep_flags;		/* qqemu.sstep: recorded; stepping always masks IRQs */

	int wake_fd;			/* eventfd: a vCPU stopped */
	unsigned wake_watch;
	pthread_mutex_t lock;		/* the fields below */
	bool running;			/* resumed by gdb: the next stop is reported */
	bool stop_pending;
	unsigned stop_cpu;
	struct vcpu_debug_hit stop_hit;
};

/* ---- the spec: tcp:[HOST]:PORT / unix:PATH[,server] [,arch=] ---------- */

struct gdb_spec {
	char *path, *host;
	unsigned port;
	int arch;
};

static int bad(char *err, size_t errlen, const char *msg, const char *what)
{
	snprintf(err, errlen, "-gdb: %s%s%s", msg, what ? ": " : "", what ? what : "");
	return -EINVAL;
}

static int parse_spec(const char *spec, struct gdb_spec *s, char *err, size_t errlen)
{
	char **parts = g_strsplit(spec, ",", -1);
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (!parts[0] || !*parts[0]) {
		ret = bad(err, errlen, "empty address (tcp:[HOST]:PORT or unix:PATH)", NULL);
		goto out;
	}
	if (!strncmp(parts[0], "unix:", 5) && parts[0][5]) {
		if (strlen(parts[0] + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			ret = bad(err, errlen, "socket path too long", parts[0] + 5);
			goto out;
		}
		s->path = g_strdup(parts[0] + 5);
	} else if (!strncmp(parts[0], "tcp:", 4)) {
		char *colon = strrchr(parts[0] + 4, ':');
		char *end;
		unsigned long p;

		if (!colon) {
			ret = bad(err, errlen, "tcp: needs [HOST]:PORT", parts[0]);
			goto out;
		}
		p = strtoul(colon + 1, &end, 10);
		if (*end || colon[1] == 0 || p == 0 || p > 65535) {
			ret = bad(err, errlen, "bad TCP port", colon + 1);
			goto out;
		}
		s->host = g_strndup(parts[0] + 4, (gsize)(colon - parts[0] - 4));
		s->port = (unsigned)p;
	} else {
		ret = bad(err, errlen, "unknown address (tcp:[HOST]:PORT or unix:PATH)", parts[0]);
		goto out;
	}
	for (char **p = parts + 1; *p; p++) {
		if (!strcmp(*p, "server") || !strcmp(*p, "server=on") || !strcmp(*p, "nowait") ||
		    !strcmp(*p, "wait=off")) {
			continue;	/* we are always a server and never wait */
		} else if (!strcmp(*p, "arch=auto")) {
			s->arch = 0;
		} else if (!strcmp(*p, "arch=x86-64")) {
			s->arch = 64;
		} else if (!strcmp(*p, "arch=i386")) {
			s->arch = 32;
		} else {
			ret = bad(err, errlen, "unknown option (server, arch=auto|x86-64|i386)", *p);
			goto out;
		}
	}
out:
	if (ret) {
		g_free(s->path);
		g_free(s->host);
		s->path = s->host = NULL;
	}
	g_strfreev(parts);
	return ret;
}

int gdb_parse_spec(const char *spec, char *err, size_t errlen)
{
	struct gdb_spec s;
	int ret = parse_spec(spec, &s, err, errlen);

	if (!ret) {
		g_free(s.path);
		g_free(s.host);
	}
	return ret;
}

/* ---- registers ---------------------------------------------------------- */

enum reg_kind { RK_GPR, RK_RIP, RK_FLAGS, RK_SEG, RK_ST, RK_FPU, RK_XMM, RK_MXCSR,
		RK_FSBASE, RK_GSBASE, RK_CR, RK_EFER };

struct gdb_reg {
	const char *name;
	uint8_t size;		/* bytes in the g packet */
	uint8_t kind, idx;
	const char *type;
	uint8_t feature;	/* index into features[] */
};

static const char *const features[] = {
	"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments",
	"org.tandem.x86.sys",
};

#define FPU_REGS(f) \
	{ "st0", 10, RK_ST, 0, "i387_ext", f }, { "st1", 10, RK_ST, 1, "i387_ext", f }, \
	{ "st2", 10, RK_ST, 2, "i387_ext", f }, { "st3", 10, RK_ST, 3, "i387_ext", f }, \
	{ "st4", 10, RK_ST, 4, "i387_ext", f }, { "st5", 10, RK_ST, 5, "i387_ext", f }, \
	{ "st6", 10, RK_ST, 6, "i387_ext", f }, { "st7", 10, RK_ST, 7, "i387_ext", f }, \
	{ "fctrl", 4, RK_FPU, 0, "int", f }, { "fstat", 4, RK_FPU, 1, "int", f }, \
	{ "ftag", 4, RK_FPU, 2, "int", f }, { "fiseg", 4, RK_FPU, 3, "int", f }, \
	{ "fioff", 4, RK_FPU, 4, "int", f }, { "foseg", 4, RK_FPU, 5, "int", f }, \
	{ "fooff", 4, RK_FPU, 6, "int", f }, { "fop", 4, RK_FPU, 7, "int", f }
#define SEG_REGS(f) \
	{ "cs", 4, RK_SEG, S_CS, "int32", f }, { "ss", 4, RK_SEG, S_SS, "int32", f }, \
	{ "ds", 4, RK_SEG, S_DS, "int32", f }, { "es", 4, RK_SEG, S_ES, "int32", f }, \
	{ "fs", 4, RK_SEG, S_FS, "int32", f }, { "gs", 4, RK_SEG, S_GS, "int32", f }
#define XMM(n) { "xmm" #n, 16, RK_XMM, n, "vec128", 1 }

/* gdb's amd64 layout (its register names and order), then ours. */
static const struct gdb_reg regs64[] = {
	{ "rax", 8, RK_GPR, R_AX, "int64", 0 }, { "rbx", 8, RK_GPR, R_BX, "int64", 0 },
	{ "rcx", 8, RK_GPR, R_CX, "int64", 0 }, { "rdx", 8, RK_GPR, R_DX, "int64", 0 },
	{ "rsi", 8, RK_GPR, R_SI, "int64", 0 }, { "rdi", 8, RK_GPR, R_DI, "int64", 0 },
	{ "rbp", 8, RK_GPR, R_BP, "data_ptr", 0 }, { "rsp", 8, RK_GPR, R_SP, "data_ptr", 0 },
	{ "r8", 8, RK_GPR, R_R8, "int64", 0 }, { "r9", 8, RK_GPR, R_R9, "int64", 0 },
	{ "r10", 8, RK_GPR, R_R10, "int64", 0 }, { "r11", 8, RK_GPR, R_R11, "int64", 0 },
	{ "r12", 8, RK_GPR, R_R12, "int64", 0 }, { "r13", 8, RK_GPR, R_R13, "int64", 0 },
	{ "r14", 8, RK_GPR, R_R14, "int64", 0 }, { "r15", 8, RK_GPR, R_R15, "int64", 0 },
	{ "rip", 8, RK_RIP, 0, "code_ptr", 0 }, { "eflags", 4, RK_FLAGS, 0, "i386_eflags", 0 },
	SEG_REGS(0), FPU_REGS(0),
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
	{ "mxcsr", 4, RK_MXCSR, 0, "int", 1 },
	{ "fs_base", 8, RK_FSBASE, 0, "int64", 2 }, { "gs_base", 8, RK_GSBASE, 0, "int64", 2 },
	{ "cr0", 8, RK_CR, 0, "int64", 3 }, { "cr2", 8, RK_CR, 2, "int64", 3 },
	{ "cr3", 8, RK_CR, 3, "int64", 3 }, { "cr4", 8, RK_CR, 4, "int64", 3 },
	{ "cr8", 8, RK_CR, 8, "int64", 3 }, { "efer", 8, RK_EFER, 0, "int64", 3 },
};

/* gdb's i386 layout. */
static const struct gdb_reg regs32[] = {
	{ "eax", 4, RK_GPR, R_AX, "int32", 0 }, { "ecx", 4, RK_GPR, R_CX, "int32", 0 },
	{ "edx", 4, RK_GPR, R_DX, "int32", 0 }, { "ebx", 4, RK_GPR, R_BX, "int32", 0 },
	{ "esp", 4, RK_GPR, R_SP, "data_ptr", 0 }, { "ebp", 4, RK_GPR, R_BP, "data_ptr", 0 },
	{ "esi", 4, RK_GPR, R_SI, "int32", 0 }, { "edi", 4, RK_GPR, R_DI, "int32", 0 },
	{ "eip", 4, RK_RIP, 0, "code_ptr", 0 }, { "eflags", 4, RK_FLAGS, 0, "i386_eflags", 0 },
	SEG_REGS(0), FPU_REGS(0),
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	{ "mxcsr", 4, RK_MXCSR, 0, "int", 1 },
	/*
	 * gdb 13's i386 (not amd64) asserts on the segments feature without
	 * the AVX ones: the bases go with the control registers there.
	 */
	{ "fs_base", 4, RK_FSBASE, 0, "int32", 3 }, { "gs_base", 4, RK_GSBASE, 0, "int32", 3 },
	{ "cr0", 4, RK_CR, 0, "int32", 3 }, { "cr2", 4, RK_CR, 2, "int32", 3 },
	{ "cr3", 4, RK_CR, 3, "int32", 3 }, { "cr4", 4, RK_CR, 4, "int32", 3 },
	{ "efer", 8, RK_EFER, 0, "int64", 3 },
};

static const struct gdb_reg *reg_table(const struct gdb_server *srv, size_t *n)
{
	if (srv->bits == 64) {
		*n = sizeof(regs64) / sizeof(regs64[0]);
		return regs64;
	}
	*n = sizeof(regs32) / sizeof(regs32[0]);
	return regs32;
}

/* FXSAVE keeps an abridged tag (1 bit: valid); gdb wants the x87's 2 bits (11: empty). */
static uint32_t full_ftw(uint8_t abridged)
{
	uint32_t t = 0;

	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			t |= 3u << (2 * i);
	return t;
}

static uint8_t abridged_ftw(uint32_t full)
{
	uint8_t t = 0;

	for (int i = 0; i < 8; i++)
		if (((full >> (2 * i)) & 3) != 3)
			t |= (uint8_t)(1u << i);
	return t;
}

static uint64_t *cr_field(struct x86_state *st, unsigned idx)
{
	switch (idx) {
	case 0: return &st->cr0;
	case 2: return &st->cr2;
	case 3: return &st->cr3;
	case 4: return &st->cr4;
	default: return &st->cr8;
	}
}

static uint64_t cr_value(const struct x86_state *st, unsigned idx)
{
	switch (idx) {
	case 0: return st->cr0;
	case 2: return st->cr2;
	case 3: return st->cr3;
	case 4: return st->cr4;
	default: return st->cr8;
	}
}

/* Register @r of @st as little-endian bytes (r->size of them). */
static void reg_get(const struct gdb_reg *r, const struct x86_state *st, uint8_t *out)
{
	uint64_t v = 0;

	memset(out, 0, r->size);
	switch (r->kind) {
	case RK_GPR: v = st->gpr[r->idx]; break;
	case RK_RIP: v = st->rip; break;
	case RK_FLAGS: v = st->rflags; break;
	case RK_SEG: v = st->seg[r->idx].sel; break;
	case RK_ST: memcpy(out, st->fx.st[r->idx], 10); return;
	case RK_XMM: memcpy(out, st->fx.xmm[r->idx], 16); return;
	case RK_MXCSR: v = st->fx.mxcsr; break;
	case RK_FSBASE: v = st->seg[S_FS].base; break;
	case RK_GSBASE: v = st->seg[S_GS].base; break;
	case RK_CR: v = cr_value(st, r->idx); break;
	case RK_EFER: v = st->efer; break;
	case RK_FPU:
		switch (r->idx) {
		case 0: v = st->fx.fcw; break;
		case 1: v = st->fx.fsw; break;
		case 2: v = full_ftw(st->fx.ftw); break;
		case 4: v = (uint32_t)st->fx.fip; break;
		case 6: v = (uint32_t)st->fx.fdp; break;
		case 7: v = st->fx.fop; break;
		default: v = 0; break;	/* fiseg, foseg: FXSAVE's 64-bit form has none */
		}
		break;
	}
	memcpy(out, &v, r->size < 8 ? r->size : 8);
}

static void reg_set(const struct gdb_reg *r, struct x86_state *st, const uint8_t *in)
{
	uint64_t v = 0;

	memcpy(&v, in, r->size < 8 ? r->size : 8);
	switch (r->kind) {
	case RK_GPR:
		/* A 32-bit description writes the low half; the upper one is zeroed as a mov would. */
		st->gpr[r->idx] = v;
		break;
	case RK_RIP: st->rip = v; break;
	case RK_FLAGS: st->rflags = (st->rflags & ~0xffffffffull) | (v & 0xffffffff); break;
	case RK_SEG:
		/*
		 * Only the selector: its hidden part (base, limit, attributes) is
		 * what the CPU loaded and stays, as with QEMU's stub in long mode.
		 */
		st->seg[r->idx].sel = (uint16_t)v;
		break;
	case RK_ST: memcpy(st->fx.st[r->idx], in, 10); break;
	case RK_XMM: memcpy(st->fx.xmm[r->idx], in, 16); break;
	case RK_MXCSR: st->fx.mxcsr = (uint32_t)v; break;
	case RK_FSBASE: st->seg[S_FS].base = v; break;
	case RK_GSBASE: st->seg[S_GS].base = v; break;
	case RK_CR: *cr_field(st, r->idx) = v; break;
	case RK_EFER: st->efer = v; break;
	case RK_FPU:
		switch (r->idx) {
		case 0: st->fx.fcw = (uint16_t)v; break;
		case 1: st->fx.fsw = (uint16_t)v; break;
		case 2: st->fx.ftw = abridged_ftw((uint32_t)v); break;
		case 4: st->fx.fip = v; break;
		case 6: st->fx.fdp = v; break;
		case 7: st->fx.fop = (uint16_t)v; break;
		default: break;
		}
		break;
	}
}

/*
 * The target description. Chosen once, at connect time: gdb reads it
 * once per connection and keeps that register layout. A guest that then
 * switches mode (a 64-bit kernel starting in 32-bit code, a real-mode
 * trampoline) keeps being served the same layout: a 64-bit description
 * shows 32-bit code's registers zero-extended (gdb's `set architecture
 * i386` disassembles it right), a 32-bit one the low halves of 64-bit
 * registers; reconnecting picks again. Auto: x86-64 when the vCPU is in
 * long mode or has not run yet (-S: a 64-bit kernel starts in 32-bit or
 * 16-bit code, and gdb is given its 64-bit ELF), else i386.
 */
static char *build_tdesc(unsigned bits)
{
	const struct gdb_reg *t = bits == 64 ? regs64 : regs32;
	size_t n = bits == 64 ? sizeof(regs64) / sizeof(regs64[0]) :
				sizeof(regs32) / sizeof(regs32[0]);
	GString *x = g_string_new(NULL);
	int feat = -1;

	g_string_append_printf(x, "<?xml version=\"1.0\"?>\n"
			       "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
			       "<target version=\"1.0\">\n<architecture>%s</architecture>\n",
			       bits == 64 ? "i386:x86-64" : "i386");
	for (size_t i = 0; i < n; i++) {
		if (t[i].feature != feat) {
			if (feat >= 0)
				g_string_append(x, "</feature>\n");
			feat = t[i].feature;
			g_string_append_printf(x, "<feature name=\"%s\">\n", features[feat]);
			if (feat == 0)
				g_string_append(x,
					"<flags id=\"i386_eflags\" size=\"4\">"
					"<field name=\"CF\" start=\"0\" end=\"0\"/>"
					"<field name=\"\" start=\"1\" end=\"1\"/>"
					"<field name=\"PF\" start=\"2\" end=\"2\"/>"
					"<field name=\"AF\" start=\"4\" end=\"4\"/>"
					"<field name=\"ZF\" start=\"6\" end=\"6\"/>"
					"<field name=\"SF\" start=\"7\" end=\"7\"/>"
					"<field name=\"TF\" start=\"8\" end=\"8\"/>"
					"<field name=\"IF\" start=\"9\" end=\"9\"/>"
					"<field name=\"DF\" start=\"10\" end=\"10\"/>"
					"<field name=\"OF\" start=\"11\" end=\"11\"/>"
					"<field name=\"NT\" start=\"14\" end=\"14\"/>"
					"<field name=\"RF\" start=\"16\" end=\"16\"/>"
					"<field name=\"VM\" start=\"17\" end=\"17\"/>"
					"<field name=\"AC\" start=\"18\" end=\"18\"/>"
					"<field name=\"VIF\" start=\"19\" end=\"19\"/>"
					"<field name=\"VIP\" start=\"20\" end=\"20\"/>"
					"<field name=\"ID\" start=\"21\" end=\"21\"/>"
					"</flags>\n");
			if (feat == 1)
				g_string_append(x,
					"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
					"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
					"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
					"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
					"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
					"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
					"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
					"<field name=\"v2_double\" type=\"v2d\"/>"
					"<field name=\"v16_int8\" type=\"v16i8\"/>"
					"<field name=\"v8_int16\" type=\"v8i16\"/>"
					"<field name=\"v4_int32\" type=\"v4i32\"/>"
					"<field name=\"v2_int64\" type=\"v2i64\"/>"
					"<field name=\"uint128\" type=\"uint128\"/></union>\n");
		}
		g_string_append_printf(x, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" "
				       "regnum=\"%zu\"%s/>\n", t[i].name, t[i].size * 8u,
				       t[i].type, i,
				       t[i].kind == RK_XMM || t[i].kind == RK_MXCSR ?
				       " group=\"vector\"" : "");
	}
	g_string_append(x, "</feature>\n</target>\n");
	return g_string_free(x, FALSE);
}

/* ---- talking to the vCPUs ----------------------------------------------- */

static struct x86_state *cpu_state(struct gdb_server *srv, unsigned i)
{
	if (i >= srv->vm->nr_vcpus)
		return NULL;
	if (srv->regs_valid[i])
		return &srv->regs[i];
	if (vcpu_state_access(srv->vm->vcpus[i], &srv->regs[i], false))
		return NULL;
	srv->regs_valid[i] = true;
	return &srv->regs[i];
}

static int cpu_state_write(struct gdb_server *srv, unsigned i)
{
	int ret = vcpu_state_access(srv->vm->vcpus[i], &srv->regs[i], true);

	if (ret)
		srv->regs_valid[i] = false;	/* read back what it has */
	return ret;
}

struct debug_call {
	const struct vcpu_debug *dbg;
	int ret;
};

static void call_set_debug(struct vcpu *vcpu, void *arg)
{
	struct debug_call *c = arg;
	struct vcpu_debug old = vcpu->debug;

	vcpu->debug = *c->dbg;
	c->ret = vcpu->vm->accel->set_debug ? vcpu->vm->accel->set_debug(vcpu) : -ENOSYS;
	if (c->ret) {
		vcpu->debug = old;
		if (vcpu->vm->accel->set_debug)
			vcpu->vm->accel->set_debug(vcpu);
	}
}

/* Hand srv->dbg to every vCPU, @step_cpu (or -1) single-stepping: 0 or -errno. */
static int apply_debug(struct gdb_server *srv, int step_cpu)
{
	int ret = 0;

	for (unsigned i = 0; i < srv->vm->nr_vcpus; i++) {
		struct vcpu_debug d = srv->dbg;
		struct debug_call c = { .dbg = &d, .ret = 0 };
		int r;

		d.single_step = (int)i == step_cpu;
		r = vcpu_call(srv->vm->vcpus[i], call_set_debug, &c, 2000);
		if (!r)
			r = c.ret;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

/* ---- output --------------------------------------------------------------- */

static void client_close(struct gdb_server *srv, bool resume);

static bool send_raw(struct gdb_server *srv, const char *buf, size_t len)
{
	while (len && srv->fd >= 0) {
		struct pollfd pfd = { .fd = srv->fd, .events = POLLOUT };
		ssize_t n = send(srv->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* A debugger that reads nothing for 2 s is gone. */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && poll(&pfd, 1, 2000) == 1)
			continue;
		return false;
	}
	return srv->fd >= 0;
}

/* Send one packet; @data is sent as is (callers escape binary data). */
static void put_packet_len(struct gdb_server *srv, const char *data, size_t len)
{
	GString *p = g_string_sized_new(len + 4);
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (uint8_t)data[i];
	g_string_append_c(p, '$');
	g_string_append_len(p, data, (gssize)len);
	g_string_append_printf(p, "#%02x", sum);
	/*
	 * We do not wait for the '+': gdb sends acks, and a '-' asks for a
	 * retransmission we do not keep; over a reliable stream a corrupt
	 * packet does not happen, and gdb times out and asks again.
	 */
	send_raw(srv, p->str, p->len);
	g_string_free(p, TRUE);
}

static void put_packet(struct gdb_server *srv, const char *s)
{
	put_packet_len(srv, s, strlen(s));
}

static void put_hex(GString *s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", b[i]);
}

/* Binary data in a reply: '#', '$', '}' and '*' go as '}' then the byte ^ 0x20. */
static void put_binary(GString *s, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (c == '#' || c == '$' || c == '}' || c == '*') {
			g_string_append_c(s, '}');
			c ^= 0x20;
		}
		g_string_append_c(s, c);
	}
}

/* ---- parsing helpers ------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *@p (at most 16 digits); advances *@p. false: none there. */
static bool parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	int d, n = 0;

	*v = 0;
	while ((d = hexval(*s)) >= 0) {
		if (++n > 16)
			return false;
		*v = (*v << 4) | (uint64_t)d;
		s++;
	}
	if (!n)
		return false;
	*p = s;
	return true;
}

/* @n bytes from 2n hex digits at @s: false on a bad digit or short input. */
static bool unhex(const char *s, size_t avail, uint8_t *out, size_t n)
{
	if (avail < 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/*
 * A thread id: "-1" (all), "0" (any) or a hex vCPU index + 1. Multiprocess
 * "pP.T" is accepted as well. Returns the index, -1 for all/any, -2 bad.
 */
static int parse_thread(struct gdb_server *srv, const char *s)
{
	uint64_t v;

	if (*s == 'p') {
		s = strchr(s, '.');
		if (!s)
			return -1;
		s++;
	}
	if (!strcmp(s, "-1") || !strcmp(s, "0"))
		return -1;
	if (!parse_hex(&s, &v) || *s || v == 0 || v > srv->vm->nr_vcpus)
		return -2;
	return (int)v - 1;
}

/* ---- memory --------------------------------------------------------------- */

/*
 * Guest-virtual (linear) memory as vCPU @cpu maps it. Reads stop at the
 * first byte that is unmapped or not RAM; returns the bytes done.
 * Outside long mode linear addresses wrap at 4 GiB (x86_walk() does).
 */
static size_t mem_access(struct gdb_server *srv, unsigned cpu, uint64_t la, uint8_t *buf,
			 size_t len, bool write)
{
	const struct x86_state *st = cpu_state(srv, cpu);
	size_t done = 0;

	if (!st)
		return 0;
	/* A write goes in whole or not at all: every page is checked first. */
	for (size_t off = 0; write && off < len;) {
		uint64_t gpa, room, n;

		if (x86_walk(srv->vm, st, la + off, &gpa, &room))
			return 0;
		n = len - off < room ? len - off : room;
		if (!gpa_to_hva(srv->vm, gpa, n))
			return 0;
		off += n;
	}
	while (done < len) {
		uint64_t gpa, room, n;
		uint8_t *p;

		if (x86_walk(srv->vm, st, la + done, &gpa, &room))
			break;
		n = len - done < room ? len - done : room;
		p = gpa_to_hva(srv->vm, gpa, n);	/* RAM only: MMIO is refused */
		if (!p)
			break;
		if (write) {
			memcpy(p, buf + done, n);
			vm_mem_written(srv->vm, gpa, n);
		} else {
			memcpy(buf + done, p, n);
		}
		done += n;
	}
	return done;
}

/* ---- stops and resumes ---------------------------------------------------- */

static void send_stop(struct gdb_server *srv, unsigned cpu, int sig,
		      const struct vcpu_debug_hit *hit)
{
	GString *s = g_string_new(NULL);

	const struct x86_state *st = hit ? cpu_state(srv, cpu) : NULL;
	/*
	 * gdb's pc is RIP, our breakpoints are linear: where CS has a base
	 * (real mode, vm86, a 16-bit trampoline) the two differ and gdb,
	 * told "swbreak" at a pc where it has no breakpoint, would resume
	 * silently into the same breakpoint forever. A plain SIGTRAP there
	 * stops and shows the user where the guest is.
	 */
	bool flat = st && hit && st->rip == hit->addr;

	g_string_append_printf(s, "T%02xthread:%x;", sig, cpu + 1);
	if (hit) {
		switch (hit->reason) {
		case DEBUG_STOP_SWBP:
			if (flat)
				g_string_append(s, "swbreak:;");
			break;
		case DEBUG_STOP_HWBP:
			if (flat)
				g_string_append(s, "hwbreak:;");
			break;
		case DEBUG_STOP_WATCH:
			g_string_append_printf(s, "%swatch:%llx;",
					       hit->type == DEBUG_HW_READ ? "r" :
					       hit->type == DEBUG_HW_ACCESS ? "a" : "",
					       (unsigned long long)hit->addr);
			break;
		case DEBUG_STOP_STEP:
			break;
		}
	}
	srv->g_cpu = (int)cpu;
	srv->c_cpu = (int)cpu;
	put_packet(srv, s->str);
	g_string_free(s, TRUE);
}

static void invalidate_regs(struct gdb_server *srv)
{
	memset(srv->regs_valid, 0, sizeof(srv->regs_valid));
}

/*
 * Resume: @step_cpu (or -1) single-steps; of the others those with @run[i]
 * continue (@run NULL: all), the rest stay stopped.
 */
static void resume_only(struct gdb_server *srv, int step_cpu, const bool *run)
{
	int ret = apply_debug(srv, step_cpu);

	if (ret) {
		/* The engine took the breakpoints at Z time; a step it refuses is an error. */
		put_packet(srv, "E16");
		return;
	}
	invalidate_regs(srv);
	pthread_mutex_lock(&srv->lock);
	srv->running = true;
	srv->stop_pending = false;
	pthread_mutex_unlock(&srv->lock);
	vm_resume_only(srv->vm, run);
}

static void resume(struct gdb_server *srv, int step_cpu)
{
	resume_only(srv, step_cpu, NULL);
}

void gdb_vcpu_stopped(struct vcpu *vcpu)
{
	struct gdb_server *srv = vcpu->vm->gdb;
	uint64_t one = 1;

	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	if (srv->running && !srv->stop_pending) {
		srv->running = false;
		srv->stop_pending = true;
		srv->stop_cpu = vcpu->id;
		srv->stop_hit = vcpu->debug_hit;
		vm_pause_request(vcpu->vm);
		if (write(srv->wake_fd, &one, sizeof(one)) < 0) {
			/* The counter is full: a wake-up is pending anyway. */
		}
	} else {
		/*
		 * Not ours to report: another vCPU's stop is being reported, or
		 * the VM was resumed behind gdb's back (QMP cont). Park anyway:
		 * a breakpoint is checked before its instruction, so running on
		 * would only stop here again and again.
		 */
		vm_pause_request(vcpu->vm);
	}
	pthread_mutex_unlock(&srv->lock);
}

static gboolean on_wake(gint fd, GIOCondition cond, gpointer data)
{
	struct gdb_server *srv = data;
	struct vcpu_debug_hit hit;
	uint64_t v;
	unsigned cpu;
	bool pending;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* Nothing to read: a spurious wake-up. */
	}
	pthread_mutex_lock(&srv->lock);
	pending = srv->stop_pending;
	srv->stop_pending = false;
	cpu = srv->stop_cpu;
	hit = srv->stop_hit;
	pthread_mutex_unlock(&srv->lock);
	if (!pending)
		return G_SOURCE_CONTINUE;
	vm_wait_parked(srv->vm);
	vm_event(srv->vm, VM_EVENT_STOP, NULL);
	if (srv->fd >= 0)
		send_stop(srv, cpu, 5, &hit);
	return G_SOURCE_CONTINUE;
}

/* Ctrl-C: stop everything and say SIGINT (or the stop that raced with it). */
static void interrupt(struct gdb_server *srv)
{
	struct vcpu_debug_hit hit;
	bool was_running, pending;
	unsigned cpu;

	pthread_mutex_lock(&srv->lock);
	was_running = srv->running;
	srv->running = false;
	pthread_mutex_unlock(&srv->lock);
	if (!was_running)
		return;
	if (!vm_pause(srv->vm))
		vm_wait_parked(srv->vm);
	pthread_mutex_lock(&srv->lock);
	pending = srv->stop_pending;
	srv->stop_pending = false;
	cpu = srv->stop_cpu;
	hit = srv->stop_hit;
	pthread_mutex_unlock(&srv->lock);
	if (pending)
		send_stop(srv, cpu, 5, &hit);
	else
		send_stop(srv, srv->g_cpu >= 0 ? (unsigned)srv->g_cpu : 0, 2, NULL);
}

/* ---- breakpoints ---------------------------------------------------------- */

static int bp_insert(struct gdb_server *srv, unsigned type, uint64_t addr, uint64_t len)
{
	struct vcpu_debug *d = &srv->dbg;
	struct vcpu_debug old = *d;
	int ret;

	if (type == 0) {
		for (unsigned i = 0; i < d->nr_bp; i++)
			if (d->bp[i] == addr)
				return 0;
		if (d->nr_bp >= VCPU_DEBUG_MAX_BP)
			return -ENOSPC;
		d->bp[d->nr_bp++] = addr;
	} else {
		enum vcpu_hw_type t = type == 1 ? DEBUG_HW_EXEC : type == 2 ? DEBUG_HW_WRITE :
				      type == 3 ? DEBUG_HW_READ : DEBUG_HW_ACCESS;

		if (type == 1)
			len = 1;
		else if (len != 1 && len != 2 && len != 4 && len != 8)
			return -EINVAL;
		if (d->nr_hw >= VCPU_DEBUG_MAX_HW)
			return -ENOSPC;
		d->hw[d->nr_hw++] = (struct vcpu_hw_bp){ .addr = addr, .len = len, .type = t };
	}
	ret = apply_debug(srv, -1);
	if (ret) {
		*d = old;
		apply_debug(srv, -1);
	}
	return ret;
}

static int bp_remove(struct gdb_server *srv, unsigned type, uint64_t addr, uint64_t len)
{
	struct vcpu_debug *d = &srv->dbg;

	if (type == 0) {
		for (unsigned i = 0; i < d->nr_bp; i++)
			if (d->bp[i] == addr) {
				d->bp[i] = d->bp[--d->nr_bp];
				return apply_debug(srv, -1);
			}
		return 0;
	}
	for (unsigned i = 0; i < d->nr_hw; i++) {
		enum vcpu_hw_type t = type == 1 ? DEBUG_HW_EXEC : type == 2 ? DEBUG_HW_WRITE :
				      type == 3 ? DEBUG_HW_READ : DEBUG_HW_ACCESS;

		if (d->hw[i].addr == addr && d->hw[i].type == t &&
		    (type == 1 || d->hw[i].len == len)) {
			d->hw[i] = d->hw[--d->nr_hw];
			return apply_debug(srv, -1);
		}
	}
	return 0;
}

/* ---- packets -------------------------------------------------------------- */

static void reply_error(struct gdb_server *srv, int err)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "E%02x", (err < 0 ? -err : err) & 0xff);
	put_packet(srv, buf);
}

static unsigned cur_cpu(struct gdb_server *srv)
{
	return srv->g_cpu >= 0 && (unsigned)srv->g_cpu < srv->vm->nr_vcpus ?
	       (unsigned)srv->g_cpu : 0;
}

static void cmd_read_regs(struct gdb_server *srv)
{
	const struct x86_state *st = cpu_state(srv, cur_cpu(srv));
	const struct gdb_reg *t;
	GString *s;
	size_t n;

	if (!st) {
		reply_error(srv, EIO);
		return;
	}
	t = reg_table(srv, &n);
	s = g_string_new(NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t b[16];

		reg_get(&t[i], st, b);
		put_hex(s, b, t[i].size);
	}
	put_packet(srv, s->str);
	g_string_free(s, TRUE);
}

static void cmd_write_regs(struct gdb_server *srv, const char *hex, size_t len)
{
	unsigned cpu = cur_cpu(srv);
	struct x86_state *st = cpu_state(srv, cpu);
	const struct gdb_reg *t;
	size_t n, off = 0;

	if (!st) {
		reply_error(srv, EIO);
		return;
	}
	t = reg_table(srv, &n);
	/* gdb may send fewer registers than it reads: the rest stay. */
	for (size_t i = 0; i < n && off < len; i++) {
		uint8_t b[16];

		if (!unhex(hex + off, len - off, b, t[i].size)) {
			reply_error(srv, EINVAL);
			srv->regs_valid[cpu] = false;
			return;
		}
		reg_set(&t[i], st, b);
		off += 2u * t[i].size;
	}
	if (cpu_state_write(srv, cpu))
		reply_error(srv, EIO);
	else
		put_packet(srv, "OK");
}

static void cmd_read_reg(struct gdb_server *srv, const char *args)
{
	const struct x86_state *st = cpu_state(srv, cur_cpu(srv));
	const struct gdb_reg *t;
	uint64_t r;
	uint8_t b[16];
	GString *s;
	size_t n;

	t = reg_table(srv, &n);
	if (!parse_hex(&args, &r) || *args) {
		reply_error(srv, EINVAL);
		return;
	}
	if (r >= n) {
		put_packet(srv, "");	/* gdb: unknown register */
		return;
	}
	if (!st) {
		reply_error(srv, EIO);
		return;
	}
	reg_get(&t[r], st, b);
	s = g_string_new(NULL);
	put_hex(s, b, t[r].size);
	put_packet(srv, s->str);
	g_string_free(s, TRUE);
}

static void cmd_write_reg(struct gdb_server *srv, const char *args, size_t len)
{
	unsigned cpu = cur_cpu(srv);
	struct x86_state *st = cpu_state(srv, cpu);
	const char *p = args;
	const struct gdb_reg *t;
	uint64_t r;
	uint8_t b[16];
	size_t n;

	t = reg_table(srv, &n);
	if (!parse_hex(&p, &r) || *p != '=' || r >= n ||
	    !unhex(p + 1, len - (size_t)(p + 1 - args), b, t[r].size)) {
		reply_error(srv, EINVAL);
		return;
	}
	if (!st) {
		reply_error(srv, EIO);
		return;
	}
	reg_set(&t[r], st, b);
	if (cpu_state_write(srv, cpu))
		reply_error(srv, EIO);
	else
		put_packet(srv, "OK");
}

/* "ADDR,LEN" then @sep; false if malformed. */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char sep)
{
	if (!parse_hex(p, addr) || **p != ',')
		return false;
	(*p)++;
	if (!parse_hex(p, len) || **p != sep)
		return false;
	if (sep)
		(*p)++;
	return true;
}

static void cmd_read_mem(struct gdb_server *srv, const char *args)
{
	uint64_t addr, len;
	uint8_t *buf;
	size_t done;
	GString *s;

	if (!parse_addr_len(&args, &addr, &len, 0)) {
		reply_error(srv, EINVAL);
		return;
	}
	if (len > GDB_MAX_PKT / 2)
		len = GDB_MAX_PKT / 2;		/* gdb asks again for the rest */
	buf = g_malloc(len ? len : 1);
	done = mem_access(srv, cur_cpu(srv), addr, buf, len, false);
	if (!done && len) {
		reply_error(srv, EFAULT);
	} else {
		s = g_string_new(NULL);
		put_hex(s, buf, done);
		put_packet(srv, s->str);
		g_string_free(s, TRUE);
	}
	g_free(buf);
}

/* M (hex) and X (binary, already unescaped by the reader). */
static void cmd_write_mem(struct gdb_server *srv, const char *args, size_t plen, bool binary)
{
	const char *p = args;
	uint64_t addr, len;
	uint8_t *buf;
	size_t avail;

	if (!parse_addr_len(&p, &addr, &len, ':') || len > GDB_MAX_PKT) {
		reply_error(srv, EINVAL);
		return;
	}
	avail = plen - (size_t)(p - args);
	buf = g_malloc(len ? len : 1);
	if (binary ? avail != len : !unhex(p, avail, buf, len)) {
		reply_error(srv, EINVAL);
		g_free(buf);
		return;
	}
	if (binary)
		memcpy(buf, p, len);
	if (mem_access(srv, cur_cpu(srv), addr, buf, len, true) != len)
		reply_error(srv, EFAULT);
	else
		put_packet(srv, "OK");
	g_free(buf);
}

static void cmd_breakpoint(struct gdb_server *srv, const char *args, bool insert)
{
	uint64_t type, addr, len;
	const char *p = args;
	int ret;

	/* "TYPE,ADDR,KIND" and maybe ";cond..." that we do not evaluate. */
	if (!parse_hex(&p, &type) || *p != ',' || type > 4) {
		put_packet(srv, "");
		return;
	}
	p++;
	if (!parse_hex(&p, &addr) || *p != ',') {
		reply_error(srv, EINVAL);
		return;
	}
	p++;
	if (!parse_hex(&p, &len) || (*p && *p != ';')) {
		reply_error(srv, EINVAL);
		return;
	}
	ret = insert ? bp_insert(srv, (unsigned)type, addr, len) :
		       bp_remove(srv, (unsigned)type, addr, len);
	if (ret == -ENOSYS)
		put_packet(srv, "");	/* this engine cannot: gdb falls back or says so */
	else if (ret)
		reply_error(srv, ret);
	else
		put_packet(srv, "OK");
}

/*
 * vCont;ACTION[:TID];...: each vCPU takes the leftmost action that names
 * it or no thread; a vCPU no action matches stays stopped (gdb's `set
 * scheduler-locking step` sends "vCont;s:2" alone). One vCPU may step.
 */
static void cmd_vcont(struct gdb_server *srv, const char *args)
{
	char **acts = g_strsplit(args, ";", -1);
	bool run[VM_MAX_VCPUS] = { false }, taken[VM_MAX_VCPUS] = { false };
	int step_cpu = -1;
	bool ok = true, any = false;

	for (char **a = acts; *a; a++) {
		char *colon = strchr(*a, ':');
		int cpu = -1;
		char op;

		if (!**a)
			continue;
		op = **a;
		if (colon) {
			cpu = parse_thread(srv, colon + 1);
			if (cpu == -2) {
				ok = false;
				break;
			}
		}
		if (op != 's' && op != 'S' && op != 'c' && op != 'C') {
			/* t (stop) and r (range step) are not offered in our vCont? reply. */
			ok = false;
			break;
		}
		any = true;
		for (unsigned i = 0; i < srv->vm->nr_vcpus; i++) {
			if (taken[i] || (cpu >= 0 && (unsigned)cpu != i))
				continue;
			taken[i] = true;
			run[i] = true;
			/* "s" for every thread: the current one steps, as before. */
			if ((op == 's' || op == 'S') && step_cpu < 0 &&
			    (cpu >= 0 || i == cur_cpu(srv)))
				step_cpu = (int)i;
		}
	}
	g_strfreev(acts);
	if (!ok || !any) {
		reply_error(srv, EINVAL);
		return;
	}
	resume_only(srv, step_cpu, run);
}

/* "c [ADDR]" / "s [ADDR]": resume there if given. */
static void cmd_continue(struct gdb_server *srv, const char *args, bool step)
{
	unsigned cpu = srv->c_cpu >= 0 ? (unsigned)srv->c_cpu : cur_cpu(srv);
	uint64_t addr;

	if (*args) {
		struct x86_state *st = cpu_state(srv, cpu);

		if (!parse_hex(&args, &addr) || !st) {
			reply_error(srv, EINVAL);
			return;
		}
		st->rip = addr;
		if (cpu_state_write(srv, cpu)) {
			reply_error(srv, EIO);
			return;
		}
	}
	resume(srv, step ? (int)cpu : -1);
}

static void cmd_query(struct gdb_server *srv, const char *p, size_t len)
{
	if (!strncmp(p, "qSupported", 10)) {
		char buf[160];

		snprintf(buf, sizeof(buf), "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
			 "vContSupported+;QStartNoAckMode+", GDB_MAX_PKT);
		put_packet(srv, buf);
	} else if (!strncmp(p, "qXfer:features:read:", 20)) {
		const char *a = p + 20;
		uint64_t off, n, total = strlen(srv->tdesc);
		GString *s;

		if (strncmp(a, "target.xml:", 11)) {
			put_packet(srv, "E00");
			return;
		}
		a += 11;
		if (!parse_addr_len(&a, &off, &n, 0)) {
			reply_error(srv, EINVAL);
			return;
		}
		if (n > GDB_MAX_PKT / 2)
			n = GDB_MAX_PKT / 2;	/* escaping may double it */
		s = g_string_new(NULL);
		if (off >= total) {
			g_string_append_c(s, 'l');
		} else {
			if (n > total - off)
				n = total - off;
			g_string_append_c(s, off + n >= total ? 'l' : 'm');
			put_binary(s, srv->tdesc + off, n);
		}
		put_packet_len(srv, s->str, s->len);
		g_string_free(s, TRUE);
	} else if (!strcmp(p, "qAttached")) {
		put_packet(srv, "1");
	} else if (!strcmp(p, "qC")) {
		char buf[16];

		snprintf(buf, sizeof(buf), "QC%x", cur_cpu(srv) + 1);
		put_packet(srv, buf);
	} else if (!strcmp(p, "qfThreadInfo")) {
		GString *s = g_string_new("m");

		for (unsigned i = 0; i < srv->vm->nr_vcpus; i++)
			g_string_append_printf(s, "%s%x", i ? "," : "", i + 1);
		put_packet(srv, s->str);
		g_string_free(s, TRUE);
	} else if (!strcmp(p, "qsThreadInfo")) {
		put_packet(srv, "l");
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		int cpu = parse_thread(srv, p + 17);
		GString *s = g_string_new(NULL);
		char name[32];

		snprintf(name, sizeof(name), "vCPU %d", cpu < 0 ? 0 : cpu);
		put_hex(s, (const uint8_t *)name, strlen(name));
		put_packet(srv, s->str);
		g_string_free(s, TRUE);
	} else if (!strncmp(p, "qRcmd,", 6)) {
		size_t hl = len - 6, n = hl / 2;
		char *line = g_malloc0(n + 1);
		GString *out, *hex;

		if (hl % 2 || !unhex(p + 6, hl, (uint8_t *)line, n)) {
			g_free(line);
			reply_error(srv, EINVAL);
			return;
		}
		out = g_string_new(NULL);
		monitor_command(srv->vm, line, out);
		if (!out->len) {
			put_packet(srv, "OK");
		} else {
			/* In pieces that fit a packet, as console output, then OK. */
			for (size_t off = 0; off < out->len; off += GDB_MAX_PKT / 2 - 2) {
				size_t k = out->len - off;

				if (k > GDB_MAX_PKT / 2 - 2)
					k = GDB_MAX_PKT / 2 - 2;
				hex = g_string_new("O");
				put_hex(hex, (const uint8_t *)out->str + off, k);
				put_packet(srv, hex->str);
				g_string_free(hex, TRUE);
			}
			put_packet(srv, "OK");
		}
		g_string_free(out, TRUE);
		g_free(line);
	} else if (!strcmp(p, "qqemu.sstepbits")) {
		put_packet(srv, "ENABLE=1,NOIRQ=2,NOTIMER=4");
	} else if (!strcmp(p, "qqemu.sstep")) {
		char buf[16];

		snprintf(buf, sizeof(buf), "0x%x", srv->sstep_flags);
		put_packet(srv, buf);
	} else if (!strncmp(p, "Qqemu.sstep=", 12)) {
		const char *a = p + 12;
		uint64_t v;

		if (a[0] == '0' && (a[1] == 'x' || a[1] == 'X'))
			a += 2;
		if (!parse_hex(&a, &v) || *a) {
			reply_error(srv, EINVAL);
			return;
		}
		srv->sstep_flags = (unsigned)v & 7;
		put_packet(srv, "OK");
	} else if (!strcmp(p, "QStartNoAckMode")) {
		put_packet(srv, "OK");
		srv->noack = true;
	} else if (!strcmp(p, "qSymbol::")) {
		put_packet(srv, "OK");
	} else {
		put_packet(srv, "");	/* not supported */
	}
}

static void detach(struct gdb_server *srv)
{
	memset(&srv->dbg, 0, sizeof(srv->dbg));
	apply_debug(srv, -1);
}

/* One complete, checksummed packet: @p (NUL-terminated), @len bytes. */
static void handle_packet(struct gdb_server *srv, const char *p, size_t len)
{
	const char *args = p + 1;

	if (!len) {
		put_packet(srv, "");
		return;
	}
	switch (p[0]) {
	case '?':
		send_stop(srv, cur_cpu(srv), 5, NULL);
		break;
	case 'g':
		cmd_read_regs(srv);
		break;
	case 'G':
		cmd_write_regs(srv, args, len - 1);
		break;
	case 'p':
		cmd_read_reg(srv, args);
		break;
	case 'P':
		cmd_write_reg(srv, args, len - 1);
		break;
	case 'm':
		cmd_read_mem(srv, args);
		break;
	case 'M':
		cmd_write_mem(srv, args, len - 1, false);
		break;
	case 'X':
		cmd_write_mem(srv, args, len - 1, true);
		break;
	case 'Z':
	case 'z':
		cmd_breakpoint(srv, args, p[0] == 'Z');
		break;
	case 'c':
		cmd_continue(srv, args, false);
		break;
	case 's':
		cmd_continue(srv, args, true);
		break;
	case 'C':
	case 'S': {
		/* "Csig[;addr]": the signal means nothing to a VM. */
		const char *semi = strchr(args, ';');

		cmd_continue(srv, semi ? semi + 1 : "", p[0] == 'S');
		break;
	}
	case 'H': {
		int cpu;

		if (len < 3 || (p[1] != 'g' && p[1] != 'c')) {
			reply_error(srv, EINVAL);
			break;
		}
		cpu = parse_thread(srv, p + 2);
		if (cpu == -2) {
			reply_error(srv, EINVAL);
			break;
		}
		if (p[1] == 'g')
			srv->g_cpu = cpu < 0 ? (int)cur_cpu(srv) : cpu;
		else
			srv->c_cpu = cpu;
		put_packet(srv, "OK");
		break;
	}
	case 'T':
		if (parse_thread(srv, args) == -2)
			reply_error(srv, ENOENT);
		else
			put_packet(srv, "OK");
		break;
	case 'v':
		if (!strcmp(p, "vCont?"))
			put_packet(srv, "vCont;c;C;s;S");
		else if (!strncmp(p, "vCont;", 6))
			cmd_vcont(srv, p + 6);
		else if (!strncmp(p, "vKill", 5)) {
			put_packet(srv, "OK");
			fprintf(stderr, "tandem: gdb: kill\n");
			vm_request_exit(srv->vm, VM_EXIT_USER, 0);
		} else
			put_packet(srv, "");
		break;
	case 'q':
	case 'Q':
		cmd_query(srv, p, len);
		break;
	case 'D':
		detach(srv);
		put_packet(srv, "OK");
		client_close(srv, true);
		break;
	case 'k':
		fprintf(stderr, "tandem: gdb: kill\n");
		vm_request_exit(srv->vm, VM_EXIT_USER, 0);
		client_close(srv, false);
		break;
	default:
		put_packet(srv, "");
		break;
	}
}

/*
 * The reader: '$' data '#' two hex digits. Bytes outside a packet are
 * acks (ignored), Ctrl-C (0x03) or noise (ignored). A packet longer
 * than GDB_MAX_PKT is read to its end and answered with an error, never
 * buffered; a bad checksum gets a '-' (gdb sends it again).
 */
static void feed(struct gdb_server *srv, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && srv->fd >= 0; i++) {
		char c = buf[i];

		switch (srv->ps) {
		case P_IDLE:
			if (c == '$') {
				srv->ps = P_DATA;
				srv->plen = 0;
				srv->sum = 0;
				srv->overlong = false;
			} else if (c == 0x03) {
				interrupt(srv);
			}
			break;
		case P_DATA:
		case P_ESC:
			if (c == '#' && srv->ps == P_DATA) {
				srv->ps = P_CSUM1;
				break;
			}
			srv->sum += (uint8_t)c;
			if (srv->ps == P_DATA && c == '}') {
				srv->ps = P_ESC;
				break;
			}
			if (srv->ps == P_ESC) {
				c ^= 0x20;
				srv->ps = P_DATA;
			}
			if (srv->plen < GDB_MAX_PKT)
				srv->pkt[srv->plen++] = c;
			else
				srv->overlong = true;
			break;
		case P_CSUM1:
			srv->csum[0] = c;
			srv->ps = P_CSUM2;
			break;
		case P_CSUM2: {
			int hi = hexval(srv->csum[0]), lo = hexval(c);

			srv->ps = P_IDLE;
			if (hi < 0 || lo < 0 || (uint8_t)(hi << 4 | lo) != srv->sum) {
				if (!srv->noack)
					send_raw(srv, "-", 1);
				break;
			}
			if (!srv->noack)
				send_raw(srv, "+", 1);
			if (srv->overlong) {
				reply_error(srv, E2BIG);
				break;
			}
			srv->pkt[srv->plen] = 0;
			handle_packet(srv, srv->pkt, srv->plen);
			break;
		}
		}
	}
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct gdb_server *srv = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		srv->in_watch = 0;
		detach(srv);
		client_close(srv, true);
		return G_SOURCE_REMOVE;
	}
	feed(srv, buf, (size_t)n);
	return srv->fd >= 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- clients -------------------------------------------------------------- */

/* Drop the client; @resume: let the guest go on, as after a detach. */
static void client_close(struct gdb_server *srv, bool resume_vm)
{
	if (srv->fd < 0)
		return;
	if (srv->in_watch)
		g_source_remove(srv->in_watch);
	srv->in_watch = 0;
	close(srv->fd);
	srv->fd = -1;
	g_free(srv->tdesc);
	srv->tdesc = NULL;
	pthread_mutex_lock(&srv->lock);
	srv->running = false;
	srv->stop_pending = false;
	pthread_mutex_unlock(&srv->lock);
	invalidate_regs(srv);
	if (resume_vm && !vm_should_stop(srv->vm))
		vm_resume(srv->vm);
}

static void refuse(int fd)
{
	static const char msg[] = "tandem: another debugger is attached\n";
	GString *s = g_string_new("O");
	uint8_t sum = 0;
	char *pkt;

	put_hex(s, (const uint8_t *)msg, sizeof(msg) - 1);
	for (size_t i = 0; i < s->len; i++)
		sum += (uint8_t)s->str[i];
	pkt = g_strdup_printf("$%s#%02x$E10#a6", s->str, sum);
	if (send(fd, pkt, strlen(pkt), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* It went away already. */
	}
	g_free(pkt);
	g_string_free(s, TRUE);
	close(fd);
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct gdb_server *srv = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct x86_state *st;
	int one = 1;

	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	if (srv->fd >= 0) {
		fprintf(stderr, "tandem: gdb: refused a second debugger (one at a time)\n");
		refuse(cfd);
		return G_SOURCE_CONTINUE;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srv->fd = cfd;
	srv->ps = P_IDLE;
	srv->noack = false;
	srv->g_cpu = 0;
	srv->c_cpu = -1;
	invalidate_regs(srv);
	/* All-stop from the start: gdb expects a stopped target when it attaches. */
	if (!vm_pause(srv->vm))
		vm_wait_parked(srv->vm);
	pthread_mutex_lock(&srv->lock);
	srv->running = false;
	srv->stop_pending = false;
	pthread_mutex_unlock(&srv->lock);
	st = cpu_state(srv, 0);
	srv->bits = srv->arch_opt;
	if (!srv->bits) {
		bool fresh = st && st->rip == srv->vm->boot.rip &&
			     st->seg[S_CS].sel == srv->vm->boot.seg[S_CS].sel &&
			     st->gpr[R_SP] == srv->vm->boot.gpr[R_SP];

		srv->bits = !st || (st->efer & X86_EFER_LMA) || fresh ? 64 : 32;
	}
	srv->tdesc = build_tdesc(srv->bits);
	fprintf(stderr, "tandem: gdb: debugger attached (%s registers)\n",
		srv->bits == 64 ? "x86-64" : "i386");
	srv->in_watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, srv);
	return G_SOURCE_CONTINUE;
}

/* ---- the server ----------------------------------------------------------- */

int gdb_open(struct vm *vm, const char *spec, char *err, size_t errlen)
{
	struct gdb_server *srv;
	struct gdb_spec s;
	int fd, ret;

	if (!vm->accel->set_debug) {
		snprintf(err, errlen, "-gdb: the %s engine has no debug support", vm->accel->name);
		return -ENOTSUP;
	}
	ret = parse_spec(spec, &s, err, errlen);
	if (ret)
		return ret;
	fd = s.path ? sock_listen_unix("-gdb", s.path, 2, err, errlen)
		    : sock_listen_tcp("-gdb", s.host, s.port, 2, err, errlen);
	g_free(s.host);
	if (fd < 0) {
		g_free(s.path);
		return fd;
	}
	srv = g_new0(struct gdb_server, 1);
	srv->vm = vm;
	srv->listen_fd = fd;
	srv->path = s.path;
	srv->arch_opt = s.arch;
	srv->fd = -1;
	srv->sstep_flags = 5;	/* QEMU's default: enable, no IRQs; what we do anyway */
	pthread_mutex_init(&srv->lock, NULL);
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "-gdb: eventfd: %s", strerror(errno));
		close(fd);
		g_free(srv->path);
		g_free(srv);
		return ret;
	}
	srv->wake_watch = g_unix_fd_add(srv->wake_fd, G_IO_IN, on_wake, srv);
	srv->listen_watch = g_unix_fd_add(fd, G_IO_IN, on_accept, srv);
	vm->gdb = srv;
	fprintf(stderr, "tandem: gdb: listening on %s\n", spec);
	return 0;
}

void gdb_close(struct vm *vm)
{
	struct gdb_server *srv = vm->gdb;

	if (!srv)
		return;
	if (srv->fd >= 0) {
		if (srv->in_watch)
			g_source_remove(srv->in_watch);
		/* The guest ended while gdb waited: say so (W: exited). */
		pthread_mutex_lock(&srv->lock);
		if (srv->running) {
			char buf[8];

			snprintf(buf, sizeof(buf), "W%02x", vm->exit_code & 0xff);
			put_packet(srv, buf);
		}
		pthread_mutex_unlock(&srv->lock);
		close(srv->fd);
	}
	if (srv->listen_watch)
		g_source_remove(srv->listen_watch);
	if (srv->wake_watch)
		g_source_remove(srv->wake_watch);
	close(srv->listen_fd);
	close(srv->wake_fd);
	if (srv->path)
		unlink(srv->path);
	g_free(srv->path);
	g_free(srv->tdesc);
	pthread_mutex_destroy(&srv->lock);
	g_free(srv);
	vm->gdb = NULL;
}
