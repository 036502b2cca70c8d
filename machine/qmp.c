// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QMP, the QEMU Machine Protocol, on a Unix or TCP socket (machine/qmp.h).
 *
 * Framing: QMP is a stream of JSON objects. A small scanner finds where
 * each top-level value ends (braces and brackets outside strings) before
 * json-glib parses it, so a value split over reads, several values in one
 * read, and garbage between them are all handled. A value over
 * QMP_MAX_MSG bytes or nested deeper than QMP_MAX_DEPTH is answered with
 * an error and skipped to its end, without being buffered: a client
 * cannot make tandem allocate without bound.
 *
 * Threads: everything runs on the main thread's GLib loop except
 * on_event(), which vCPU threads call; it queues the event under
 * srv->lock and wakes the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "accel/accel.h"
#include "config.h"
#include "machine/monitor.h"
#include "machine/qmp.h"
#include "machine/sockets.h"
#include "machine/vm.h"
#include "machine/vmctl.h"
#include "machine/vmswitch.h"

#define QMP_MAX_MSG	(64u << 10)
#define QMP_MAX_DEPTH	64u
#define QMP_MAX_CLIENTS	8u
#define QMP_MAX_OUT	(4u << 20)	/* a client that reads nothing is dropped */

struct qmp_client {
	struct qmp_server *srv;
	int fd;
	unsigned in_watch, out_watch;
	bool negotiated;
	/* The scanner's state (see the comment at the top). */
	GString *msg;
	unsigned depth;
	bool in_string, escape, oversize;
	bool garbage;			/* said once per run of stray bytes */
	GString *out;
	struct qmp_client *next;
};

struct qmp_server {
	struct vm *vm;
	int listen_fd;
	unsigned listen_watch;
	char *path;			/* unix socket to unlink at close */
	struct qmp_client *clients;
	unsigned nr_clients;
	pthread_mutex_t lock;		/* events from vCPU threads */
	GPtrArray *pending;		/* char *: serialized events */
	unsigned idle_id;		/* the queued on_idle_events, 0: none */
};

/* ---- the spec: unix:PATH,server,wait=off / tcp:HOST:PORT,... ----------- */

static int bad(char *err, size_t errlen, const char *msg, const char *what)
{
	snprintf(err, errlen, "-qmp: %s%s%s", msg, what ? ": " : "", what ? what : "");
	return -EINVAL;
}

static int on_off(const char *v, int *out)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

int qmp_parse_spec(const char *spec, char **path, char **host, unsigned *port, int *wait,
		   char *err, size_t errlen)
{
	char **parts = g_strsplit(spec, ",", -1);
	int server = 0, ret = 0;

	*path = *host = NULL;
	*port = 0;
	*wait = 1;		/* QEMU's default for a server */
	if (!parts[0] || !*parts[0]) {
		ret = bad(err, errlen, "empty address (unix:PATH or tcp:HOST:PORT)", NULL);
		goto out;
	}
	if (!strncmp(parts[0], "unix:", 5) && parts[0][5]) {
		if (strlen(parts[0] + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			ret = bad(err, errlen, "socket path too long", parts[0] + 5);
			goto out;
		}
		*path = g_strdup(parts[0] + 5);
	} else if (!strncmp(parts[0], "tcp:", 4)) {
		char *colon = strrchr(parts[0] + 4, ':');
		char *end;
		unsigned long p;

		if (!colon) {
			ret = bad(err, errlen, "tcp: needs HOST:PORT", parts[0]);
			goto out;
		}
		p = strtoul(colon + 1, &end, 10);
		if (*end || colon[1] == 0 || p == 0 || p > 65535) {
			ret = bad(err, errlen, "bad TCP port", colon + 1);
			goto out;
		}
		*host = g_strndup(parts[0] + 4, (gsize)(colon - parts[0] - 4));
		*port = (unsigned)p;
	} else {
		ret = bad(err, errlen, "unknown address (unix:PATH or tcp:HOST:PORT)", parts[0]);
		goto out;
	}
	for (char **p = parts + 1; *p; p++) {
		char *eq = strchr(*p, '=');
		const char *v = eq ? eq + 1 : NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(*p, "server")) {
			if (on_off(v, &server))
				ret = bad(err, errlen, "server= takes on or off", v);
		} else if (!strcmp(*p, "wait")) {
			if (on_off(v, wait))
				ret = bad(err, errlen, "wait= takes on or off", v);
		} else if (!strcmp(*p, "nowait") && !v) {
			*wait = 0;
		} else {
			ret = bad(err, errlen, "unknown option (server, wait)", *p);
		}
		if (ret)
			goto out;
	}
	if (!server)
		ret = bad(err, errlen, "only server mode is supported: add ',server'", NULL);
out:
	if (ret) {
		g_free(*path);
		g_free(*host);
		*path = *host = NULL;
	}
	g_strfreev(parts);
	return ret;
}

/* ---- output ------------------------------------------------------------ */

static void client_free(struct qmp_client *c);

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

/* Write what we can now; the rest when the socket is writable. */
static void client_send_pending(struct qmp_client *c)
{
	while (c->out->len) {
		ssize_t n = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			g_string_truncate(c->out, 0);	/* gone: on_readable reaps it */
			return;
		}
		g_string_erase(c->out, 0, n);
	}
	if (c->out->len && !c->out_watch)
		c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, on_writable, c);
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct qmp_client *c = data;

	c->out_watch = 0;
	client_send_pending(c);
	return G_SOURCE_REMOVE;
}

static void client_send_line(struct qmp_client *c, const char *json)
{
	if (c->out->len > QMP_MAX_OUT)
		return;		/* not reading: drop until it catches up */
	g_string_append(c->out, json);
	g_string_append(c->out, "\r\n");
	client_send_pending(c);
}

static void client_send_node(struct qmp_client *c, JsonNode *node)
{
	JsonGenerator *g = json_generator_new();
	char *s;

	json_generator_set_root(g, node);
	s = json_generator_to_data(g, NULL);
	client_send_line(c, s);
	g_free(s);
	g_object_unref(g);
}

static void reply(struct qmp_client *c, JsonNode *ret, JsonNode *id)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *root;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "return");
	if (ret)
		json_builder_add_value(b, ret);
	else {
		json_builder_begin_object(b);
		json_builder_end_object(b);
	}
	if (id) {
		json_builder_set_member_name(b, "id");
		json_builder_add_value(b, json_node_copy(id));
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	client_send_node(c, root);
	json_node_unref(root);
	g_object_unref(b);
}

static void reply_error(struct qmp_client *c, const char *cls, JsonNode *id, const char *fmt,
			...) G_GNUC_PRINTF(4, 5);
static void reply_error(struct qmp_client *c, const char *cls, JsonNode *id, const char *fmt,
			...)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *root;
	va_list ap;
	char *desc;

	va_start(ap, fmt);
	desc = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "class");
	json_builder_add_string_value(b, cls);
	json_builder_set_member_name(b, "desc");
	json_builder_add_string_value(b, desc);
	json_builder_end_object(b);
	if (id) {
		json_builder_set_member_name(b, "id");
		json_builder_add_value(b, json_node_copy(id));
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	client_send_node(c, root);
	json_node_unref(root);
	g_object_unref(b);
	g_free(desc);
}

/* ---- events ------------------------------------------------------------ */

static const char *const event_names[] = {
	[VM_EVENT_STOP] = "STOP",
	[VM_EVENT_RESUME] = "RESUME",
	[VM_EVENT_RESET] = "RESET",
	[VM_EVENT_SHUTDOWN] = "SHUTDOWN",
	[VM_EVENT_POWERDOWN] = "POWERDOWN",
};

static char *event_json(enum vm_event ev, const char *reason)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	gint64 us = g_get_real_time();
	JsonNode *root;
	char *s;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "timestamp");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "seconds");
	json_builder_add_int_value(b, us / 1000000);
	json_builder_set_member_name(b, "microseconds");
	json_builder_add_int_value(b, us % 1000000);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, event_names[ev]);
	if (reason) {
		json_builder_set_member_name(b, "data");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "guest");
		json_builder_add_boolean_value(b, !strncmp(reason, "guest-", 6));
		json_builder_set_member_name(b, "reason");
		json_builder_add_string_value(b, reason);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

/* Main thread: hand queued events to every negotiated client. */
static void deliver_events(struct qmp_server *srv)
{
	GPtrArray *ev;

	pthread_mutex_lock(&srv->lock);
	ev = srv->pending;
	srv->pending = g_ptr_array_new_with_free_func(g_free);
	srv->idle_id = 0;
	pthread_mutex_unlock(&srv->lock);
	for (guint i = 0; i < ev->len; i++)
		for (struct qmp_client *c = srv->clients; c; c = c->next)
			if (c->negotiated)
				client_send_line(c, g_ptr_array_index(ev, i));
	g_ptr_array_unref(ev);
}

static gboolean on_idle_events(gpointer data)
{
	deliver_events(data);
	return G_SOURCE_REMOVE;
}

static void on_event(void *opaque, enum vm_event ev, const char *reason)
{
	struct qmp_server *srv = opaque;
	char *s = event_json(ev, reason);

	/*
	 * On the main thread (a command's own STOP, RESUME): deliver after
	 * whatever is queued, before the command's reply, as QEMU orders them.
	 */
	if (g_main_context_is_owner(g_main_context_default())) {
		pthread_mutex_lock(&srv->lock);
		g_ptr_array_add(srv->pending, s);
		pthread_mutex_unlock(&srv->lock);
		deliver_events(srv);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	g_ptr_array_add(srv->pending, s);
	if (!srv->idle_id)
		srv->idle_id = g_idle_add(on_idle_events, srv);	/* thread-safe */
	pthread_mutex_unlock(&srv->lock);
}

/* ---- commands ---------------------------------------------------------- */

/* Arguments a command takes: NULL-terminated names, '*' prefix = optional. */
static bool check_args(struct qmp_client *c, JsonObject *args, JsonNode *id,
		       const char *const *names)
{
	GList *members = args ? json_object_get_members(args) : NULL;
	bool ok = true;

	for (GList *m = members; m && ok; m = m->next) {
		const char *const *n;

		for (n = names; *n; n++)
			if (!strcmp(**n == '*' ? *n + 1 : *n, m->data))
				break;
		if (!*n) {
			reply_error(c, "GenericError", id, "Parameter '%s' is unexpected",
				    (const char *)m->data);
			ok = false;
		}
	}
	g_list_free(members);
	for (const char *const *n = names; *n && ok; n++)
		if (**n != '*' && !(args && json_object_has_member(args, *n))) {
			reply_error(c, "GenericError", id, "Parameter '%s' is missing", *n);
			ok = false;
		}
	return ok;
}

static const char *const no_args[] = { NULL };

static JsonNode *status_node(struct vm *vm)
{
	JsonBuilder *b = json_builder_new();
	const char *st = monitor_run_state(vm);
	JsonNode *n;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, st);
	json_builder_set_member_name(b, "singlestep");
	json_builder_add_boolean_value(b, false);
	json_builder_set_member_name(b, "running");
	json_builder_add_boolean_value(b, !strcmp(st, "running"));
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static JsonNode *cpus_node(struct vm *vm)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *n;

	json_builder_begin_array(b);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "cpu-index");
		json_builder_add_int_value(b, i);
		json_builder_set_member_name(b, "qom-path");
		json_builder_add_string_value(b, path);
		json_builder_set_member_name(b, "thread-id");
		json_builder_add_int_value(b, vm->vcpus[i]->tid);
		json_builder_set_member_name(b, "target");
		json_builder_add_string_value(b, "x86_64");
		json_builder_set_member_name(b, "props");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "core-id");
		json_builder_add_int_value(b, 0);
		json_builder_set_member_name(b, "thread-id");
		json_builder_add_int_value(b, 0);
		json_builder_set_member_name(b, "socket-id");
		json_builder_add_int_value(b, i);
		json_builder_end_object(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static JsonNode *kvm_node(struct vm *vm)
{
	JsonBuilder *b = json_builder_new();
	bool present = false;
	char why[256];
	JsonNode *n;

	for (const struct accel_ops *const *a = accel_list; *a; a++)
		if ((*a)->hw && !(*a)->probe(why, sizeof(why)))
			present = true;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enabled");
	json_builder_add_boolean_value(b, vm->accel->hw);
	json_builder_set_member_name(b, "present");
	json_builder_add_boolean_value(b, present);
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static JsonNode *version_node(void)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *n;

	/* The QEMU release whose QMP this follows; the package says who speaks. */
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "qemu");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "major");
	json_builder_add_int_value(b, 7);
	json_builder_set_member_name(b, "minor");
	json_builder_add_int_value(b, 2);
	json_builder_set_member_name(b, "micro");
	json_builder_add_int_value(b, 0);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "package");
	json_builder_add_string_value(b, "tandem " PACKAGE_VERSION);
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static const char *const command_names[] = {
	"qmp_capabilities", "query-status", "stop", "cont", "system_reset",
	"system_powerdown", "quit", "query-cpus-fast", "query-kvm", "query-version",
	"query-commands", "human-monitor-command", "migrate", "x-snapshot-save",
	"x-snapshot-load", "x-switch-accel",
};

static JsonNode *commands_node(void)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *n;

	json_builder_begin_array(b);
	for (size_t i = 0; i < G_N_ELEMENTS(command_names); i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, command_names[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static void execute(struct qmp_client *c, const char *cmd, JsonObject *args, JsonNode *id)
{
	struct vm *vm = c->srv->vm;

	if (!strcmp(cmd, "qmp_capabilities")) {
		static const char *const caps_args[] = { "*enable", NULL };

		if (c->negotiated) {
			reply_error(c, "CommandNotFound", id,
				    "Capabilities negotiation is already complete, command ignored");
			return;
		}
		if (!check_args(c, args, id, caps_args))
			return;
		c->negotiated = true;
		reply(c, NULL, id);
		return;
	}
	if (!c->negotiated) {
		reply_error(c, "CommandNotFound", id,
			    "Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	}
	if (!strcmp(cmd, "human-monitor-command")) {
		static const char *const hmc_args[] = { "command-line", "*cpu-index", NULL };
		JsonNode *line;
		GString *out;

		if (!check_args(c, args, id, hmc_args))
			return;
		line = json_object_get_member(args, "command-line");
		if (JSON_NODE_TYPE(line) != JSON_NODE_VALUE ||
		    json_node_get_value_type(line) != G_TYPE_STRING) {
			reply_error(c, "GenericError", id,
				    "Invalid parameter type for 'command-line', expected: string");
			return;
		}
		out = g_string_new(NULL);
		monitor_command(vm, json_node_get_string(line), out);
		reply(c, json_node_init_string(json_node_alloc(), out->str), id);
		g_string_free(out, TRUE);
		return;
	}
	if (!strcmp(cmd, "migrate") || !strcmp(cmd, "x-snapshot-save") ||
	    !strcmp(cmd, "x-snapshot-load")) {
		static const char *const mig_args[] = { "uri", "*detach", "*blk", "*inc",
							"*resume", NULL };
		static const char *const file_args[] = { "file", NULL };
		bool mig = !strcmp(cmd, "migrate");
		const char *key = mig ? "uri" : "file", *path;
		char why[512];
		JsonNode *v;

		if (!check_args(c, args, id, mig ? mig_args : file_args))
			return;
		v = json_object_get_member(args, key);
		if (JSON_NODE_TYPE(v) != JSON_NODE_VALUE ||
		    json_node_get_value_type(v) != G_TYPE_STRING) {
			reply_error(c, "GenericError", id,
				    "Invalid parameter type for '%s', expected: string", key);
			return;
		}
		path = json_node_get_string(v);
		if (mig && strncmp(path, "file:", 5)) {
			reply_error(c, "GenericError", id,
				    "migrate: only file: URIs (tandem migrates to a snapshot file)");
			return;
		}
		if (monitor_snapshot(vm, mig ? path + 5 : path, !strcmp(cmd, "x-snapshot-load"),
				     mig, why, sizeof(why)))
			reply_error(c, "GenericError", id, "%s", why);
		else
			reply(c, NULL, id);
		return;
	}
	if (!strcmp(cmd, "x-switch-accel")) {
		static const char *const sw_args[] = { "accel", "*opts", NULL };
		JsonNode *a, *o;
		char why[512];

		if (!check_args(c, args, id, sw_args))
			return;
		a = json_object_get_member(args, "accel");
		o = json_object_get_member(args, "opts");
		if (JSON_NODE_TYPE(a) != JSON_NODE_VALUE ||
		    json_node_get_value_type(a) != G_TYPE_STRING ||
		    (o && (JSON_NODE_TYPE(o) != JSON_NODE_VALUE ||
			   json_node_get_value_type(o) != G_TYPE_STRING))) {
			reply_error(c, "GenericError", id, "x-switch-accel: accel and opts are strings");
			return;
		}
		if (vm_switch_accel(vm, json_node_get_string(a), o ? json_node_get_string(o) : NULL,
				    why, sizeof(why)))
			reply_error(c, "GenericError", id, "%s", why);
		else
			reply(c, NULL, id);
		return;
	}
	/* The rest take no arguments. */
	for (size_t i = 0; i < G_N_ELEMENTS(command_names); i++) {
		if (strcmp(cmd, command_names[i]))
			continue;
		if (!check_args(c, args, id, no_args))
			return;
		if (!strcmp(cmd, "query-status")) {
			reply(c, status_node(vm), id);
		} else if (!strcmp(cmd, "stop")) {
			vm_pause(vm);
			reply(c, NULL, id);
		} else if (!strcmp(cmd, "cont")) {
			vm_resume(vm);
			reply(c, NULL, id);
		} else if (!strcmp(cmd, "system_reset")) {
			vm_request_reset(vm);
			reply(c, NULL, id);
		} else if (!strcmp(cmd, "system_powerdown")) {
			if (vm_powerdown(vm))
				reply_error(c, "GenericError", id, "this board has no power button");
			else
				reply(c, NULL, id);
		} else if (!strcmp(cmd, "quit")) {
			reply(c, NULL, id);
			vm_request_exit(vm, VM_EXIT_QMP, 0);
		} else if (!strcmp(cmd, "query-cpus-fast")) {
			reply(c, cpus_node(vm), id);
		} else if (!strcmp(cmd, "query-kvm")) {
			reply(c, kvm_node(vm), id);
		} else if (!strcmp(cmd, "query-version")) {
			reply(c, version_node(), id);
		} else if (!strcmp(cmd, "query-commands")) {
			reply(c, commands_node(), id);
		}
		return;
	}
	reply_error(c, "CommandNotFound", id, "The command %s has not been found", cmd);
}

/* One complete top-level JSON value from the client. */
static void handle_message(struct qmp_client *c, const char *text, size_t len)
{
	JsonParser *p = json_parser_new();
	GError *e = NULL;
	JsonObject *o, *args = NULL;
	JsonNode *root, *id, *exec;
	GList *members;
	bool ok = true;

	if (!json_parser_load_from_data(p, text, (gssize)len, &e)) {
		reply_error(c, "GenericError", NULL, "JSON parse error, %s", e->message);
		g_error_free(e);
		goto out;
	}
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		reply_error(c, "GenericError", NULL, "QMP input must be a JSON object");
		goto out;
	}
	o = json_node_get_object(root);
	id = json_object_get_member(o, "id");
	members = json_object_get_members(o);
	for (GList *m = members; m && ok; m = m->next)
		if (strcmp(m->data, "execute") && strcmp(m->data, "arguments") &&
		    strcmp(m->data, "id")) {
			reply_error(c, "GenericError", id, "QMP input member '%s' is unexpected",
				    (const char *)m->data);
			ok = false;
		}
	g_list_free(members);
	if (!ok)
		goto out;
	exec = json_object_get_member(o, "execute");
	if (!exec || JSON_NODE_TYPE(exec) != JSON_NODE_VALUE ||
	    json_node_get_value_type(exec) != G_TYPE_STRING) {
		reply_error(c, "GenericError", id,
			    "QMP input member 'execute' must be a string");
		goto out;
	}
	if (json_object_has_member(o, "arguments")) {
		JsonNode *a = json_object_get_member(o, "arguments");

		if (!JSON_NODE_HOLDS_OBJECT(a)) {
			reply_error(c, "GenericError", id,
				    "QMP input member 'arguments' must be an object");
			goto out;
		}
		args = json_node_get_object(a);
	}
	execute(c, json_node_get_string(exec), args, id);
out:
	g_object_unref(p);
}

/* The scanner: feed bytes, handle each complete top-level value. */
static void client_feed(struct qmp_client *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];

		if (c->depth == 0) {
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
				continue;
			if (ch != '{' && ch != '[') {
				/* Stray bytes between values: one error per run of them. */
				if (!c->garbage)
					reply_error(c, "GenericError", NULL,
						    "JSON parse error, expecting an object, got "
						    "byte %#x", (unsigned char)ch);
				c->garbage = true;
				continue;
			}
			c->garbage = false;
			g_string_truncate(c->msg, 0);
			c->oversize = false;
			c->in_string = c->escape = false;
		}
		if (!c->oversize) {
			if (c->msg->len >= QMP_MAX_MSG || c->depth > QMP_MAX_DEPTH) {
				c->oversize = true;
				g_string_truncate(c->msg, 0);
			} else {
				g_string_append_c(c->msg, ch);
			}
		}
		if (c->in_string) {
			if (c->escape)
				c->escape = false;
			else if (ch == '\\')
				c->escape = true;
			else if (ch == '"')
				c->in_string = false;
			continue;
		}
		if (ch == '"') {
			c->in_string = true;
		} else if (ch == '{' || ch == '[') {
			c->depth++;
		} else if (ch == '}' || ch == ']') {
			if (--c->depth == 0) {
				if (c->oversize)
					reply_error(c, "GenericError", NULL,
						    "JSON parse error, message too large or too "
						    "deeply nested (limits: %u bytes, depth %u)",
						    QMP_MAX_MSG, QMP_MAX_DEPTH);
				else
					handle_message(c, c->msg->str, c->msg->len);
				g_string_truncate(c->msg, 0);
			}
		}
	}
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct qmp_client *c = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->in_watch = 0;
		client_free(c);
		return G_SOURCE_REMOVE;
	}
	client_feed(c, buf, (size_t)n);
	return G_SOURCE_CONTINUE;
}

/* ---- clients ----------------------------------------------------------- */

static void client_free(struct qmp_client *c)
{
	struct qmp_server *srv = c->srv;

	for (struct qmp_client **p = &srv->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	srv->nr_clients--;
	if (c->in_watch)
		g_source_remove(c->in_watch);
	if (c->out_watch)
		g_source_remove(c->out_watch);
	close(c->fd);
	g_string_free(c->msg, TRUE);
	g_string_free(c->out, TRUE);
	g_free(c);
}

static void client_add(struct qmp_server *srv, int fd)
{
	struct qmp_client *c;
	char *greeting;

	if (srv->nr_clients >= QMP_MAX_CLIENTS) {
		close(fd);
		return;
	}
	c = g_new0(struct qmp_client, 1);
	c->srv = srv;
	c->fd = fd;
	c->msg = g_string_new(NULL);
	c->out = g_string_new(NULL);
	c->next = srv->clients;
	srv->clients = c;
	srv->nr_clients++;
	greeting = g_strdup_printf("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
				   "\"minor\": 2, \"major\": 7}, \"package\": \"tandem %s\"}, "
				   "\"capabilities\": []}}", PACKAGE_VERSION);
	client_send_line(c, greeting);
	g_free(greeting);
	c->in_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, c);
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd >= 0)
		client_add(data, cfd);
	return G_SOURCE_CONTINUE;
}

/* ---- the server -------------------------------------------------------- */

int qmp_open(struct vm *vm, const char *spec, char *err, size_t errlen)
{
	struct qmp_server *srv;
	char *path, *host;
	unsigned port;
	int wait, fd, ret;

	ret = qmp_parse_spec(spec, &path, &host, &port, &wait, err, errlen);
	if (ret)
		return ret;
	fd = path ? sock_listen_unix("-qmp", path, 4, err, errlen)
		  : sock_listen_tcp("-qmp", host, port, 4, err, errlen);
	g_free(host);
	if (fd < 0) {
		g_free(path);
		return fd;
	}
	srv = g_new0(struct qmp_server, 1);
	srv->vm = vm;
	srv->listen_fd = fd;
	srv->path = path;
	pthread_mutex_init(&srv->lock, NULL);
	srv->pending = g_ptr_array_new_with_free_func(g_free);
	vm->qmp = srv;
	vm_set_event_listener(vm, on_event, srv);
	if (wait) {
		/* wait=on: the guest starts once one client is there (QEMU's default). */
		int cfd;

		vm_info("QMP: waiting for a connection on %s\n", spec);
		do
			cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		while (cfd < 0 && errno == EINTR);
		if (cfd >= 0)
			client_add(srv, cfd);
	}
	srv->listen_watch = g_unix_fd_add(fd, G_IO_IN, on_accept, srv);
	return 0;
}

void qmp_flush(struct vm *vm)
{
	struct qmp_server *srv = vm->qmp;

	if (!srv)
		return;
	deliver_events(srv);
	/* The last words (SHUTDOWN) go out even to a slow reader: up to 1 s each. */
	for (struct qmp_client *c = srv->clients; c; c = c->next) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		while (c->out->len && poll(&pfd, 1, 1000) == 1) {
			ssize_t n = send(c->fd, c->out->str, c->out->len,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n <= 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (n > 0)
				g_string_erase(c->out, 0, n);
		}
	}
}

void qmp_close(struct vm *vm)
{
	struct qmp_server *srv = vm->qmp;

	if (!srv)
		return;
	vm_set_event_listener(vm, NULL, NULL);
	if (srv->idle_id)
		g_source_remove(srv->idle_id);
	while (srv->clients)
		client_free(srv->clients);
	if (srv->listen_watch)
		g_source_remove(srv->listen_watch);
	close(srv->listen_fd);
	if (srv->path)
		unlink(srv->path);
	g_free(srv->path);
	g_ptr_array_unref(srv->pending);
	pthread_mutex_destroy(&srv->lock);
	g_free(srv);
	vm->qmp = NULL;
}
