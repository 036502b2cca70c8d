// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Network back ends (machine/net.h): user-mode networking through libslirp
 * and tap devices, both driven by the GLib main loop.
 *
 * slirp is not thread-safe; every call into it happens on the main loop
 * thread with vm->lock held (a GSource polls its sockets, its timers are
 * vm_timers, and the NIC's transmit work runs from the main loop), so the
 * frames it hands back reach the NIC under the lock as net.h promises.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include <glib.h>
#include <glib-unix.h>

#include "config.h"
#include "machine/net.h"
#include "machine/timer.h"
#include "machine/vm.h"

#ifdef CONFIG_SLIRP
#include <slirp/libslirp.h>
#endif

struct netdev_frame {
	struct netdev_frame *next;
	size_t len;
	uint8_t data[];
};

struct netdev {
	struct vm *vm;
	struct netdev_config cfg;
	char name[48];
	const struct netdev_client *client;
	void *opaque;
	struct netdev_stats stats;

	/* Frames the NIC could not take yet, oldest first. */
	struct netdev_frame *q_head, **q_tail;
	unsigned q_len;

	/* tap */
	int tap_fd;
	unsigned tap_watch;		/* GSource id; 0 while the queue is not empty */
	uint8_t *tap_buf;

#ifdef CONFIG_SLIRP
	Slirp *slirp;
	GSource *slirp_src;
#endif
};

/* --- parsing ----------------------------------------------------------- */

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int parse_addr(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* "ADDR:PORT" with ADDR possibly empty (@addr_set false then). */
static int parse_endpoint(char *s, struct in_addr *addr, bool *addr_set, uint16_t *port)
{
	char *colon = strrchr(s, ':');

	if (!colon)
		return -EINVAL;
	*colon = 0;
	*addr_set = *s != 0;
	if (*addr_set && parse_addr(s, addr))
		return -EINVAL;
	return parse_port(colon + 1, port);
}

/* [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_hostfwd(const char *v, struct netdev_hostfwd *f)
{
	char buf[128], *colon, *dash, *rest;
	bool host_set;
	int ret = -EINVAL;

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (!strcmp(buf, "udp"))
		f->udp = true;
	else if (*buf && strcmp(buf, "tcp"))
		return -EINVAL;
	rest = colon + 1;
	dash = strchr(rest, '-');
	if (!dash)
		return -EINVAL;
	*dash = 0;
	if (parse_endpoint(rest, &f->host_addr, &host_set, &f->host_port))
		return ret;
	/* QEMU binds to every address here; tandem to loopback unless told. */
	if (!host_set)
		f->host_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (parse_endpoint(dash + 1, &f->guest_addr, &f->guest_addr_set, &f->guest_port))
		return ret;
	return 0;
}

void netdev_hostfwd_str(const struct netdev_hostfwd *f, char *buf, size_t len)
{
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &f->host_addr, h, sizeof(h));
	inet_ntop(AF_INET, &f->guest_addr, g, sizeof(g));
	snprintf(buf, len, "%s:%s:%u-%s:%u", f->udp ? "udp" : "tcp", h, f->host_port, g,
		 f->guest_port);
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/* net=ADDR[/BITS|/MASK] */
static int parse_net(const char *v, struct in_addr *net, struct in_addr *mask)
{
	char buf[64], *slash, *end;
	unsigned long bits;

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return -EINVAL;
	mask->s_addr = htonl(0xffffff00u);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = 0;
		if (strchr(slash, '.')) {
			uint32_t m;

			if (parse_addr(slash, mask))
				return -EINVAL;
			m = ntohl(mask->s_addr);
			/* Contiguous ones, then zeros. */
			if (m & (~m >> 1))
				return -EINVAL;
		} else {
			errno = 0;
			bits = strtoul(slash, &end, 10);
			if (errno || end == slash || *end || bits < 8 || bits > 30)
				return -EINVAL;
			mask->s_addr = htonl(~0u << (32 - bits));
		}
	}
	if (parse_addr(buf, net))
		return -EINVAL;
	if (ntohl(mask->s_addr) > 0xfffffffcu || ntohl(mask->s_addr) < 0xff000000u)
		return -EINVAL;
	net->s_addr &= mask->s_addr;
	return 0;
}

static bool in_net(struct in_addr a, const struct netdev_config *c)
{
	return (a.s_addr & c->mask.s_addr) == c->net.s_addr && a.s_addr != c->net.s_addr &&
	       (a.s_addr | c->mask.s_addr) != 0xffffffffu;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (!n || n >= sizeof(((struct netdev_config *)0)->id) ||
	    !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/*
 * Parse one -netdev: the kind, then KEY=VALUE pairs. Every error names the
 * word at fault.
 */
int netdev_parse(const char *spec, struct netdev_config *cfg, char *err, size_t errlen)
{
	char **parts = g_strsplit(spec, ",", -1);
	bool have_host = false, have_dhcp = false, have_dns = false, have_net = false;
	const char *kind = parts[0] ? parts[0] : "";
	int ret = -EINVAL;

	memset(cfg, 0, sizeof(*cfg));
	if (!strcmp(kind, "user")) {
		cfg->kind = NETDEV_USER;
	} else if (!strcmp(kind, "tap")) {
		cfg->kind = NETDEV_TAP;
	} else {
		snprintf(err, errlen, "-netdev %s: unknown back end (tandem has user and tap)",
			 kind);
		goto out;
	}
	cfg->ipv6 = true;
	for (char **p = parts + 1; *p; p++) {
		char *eq = strchr(*p, '=');
		const char *k = *p, *v;

		if (!eq) {
			snprintf(err, errlen, "-netdev %s: '%s' is not KEY=VALUE", kind, *p);
			goto out;
		}
		*eq = 0;
		v = eq + 1;
		if (!strcmp(k, "id")) {
			if (!valid_id(v)) {
				snprintf(err, errlen, "-netdev %s: bad id '%s' (a letter, then "
					 "letters, digits, '-', '.', '_'; at most 31)", kind, v);
				goto out;
			}
			snprintf(cfg->id, sizeof(cfg->id), "%s", v);
			continue;
		}
		if (cfg->kind == NETDEV_TAP) {
			if (!strcmp(k, "ifname")) {
				if (!*v || strlen(v) >= sizeof(cfg->ifname) || strchr(v, '/')) {
					snprintf(err, errlen, "-netdev tap: bad ifname '%s' (1 to "
						 "%zu characters)", v, sizeof(cfg->ifname) - 1);
					goto out;
				}
				snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", v);
			} else if ((!strcmp(k, "script") || !strcmp(k, "downscript")) &&
				   strcmp(v, "no")) {
				snprintf(err, errlen, "-netdev tap: %s=%s: tandem runs no scripts "
					 "(configure the tap beforehand; %s=no)", k, v, k);
				goto out;
			} else if (!strcmp(k, "vhost") && strcmp(v, "off")) {
				snprintf(err, errlen, "-netdev tap: vhost=%s not supported (off)", v);
				goto out;
			} else if (strcmp(k, "script") && strcmp(k, "downscript") &&
				   strcmp(k, "vhost")) {
				snprintf(err, errlen, "-netdev tap: unknown option '%s' (id, ifname, "
					 "script=no, downscript=no)", k);
				goto out;
			}
			continue;
		}
		/* user */
		if (!strcmp(k, "hostfwd")) {
			if (cfg->nr_fwd == NETDEV_MAX_HOSTFWD) {
				snprintf(err, errlen, "-netdev user: at most %d hostfwd=",
					 NETDEV_MAX_HOSTFWD);
				goto out;
			}
			if (parse_hostfwd(v, &cfg->fwd[cfg->nr_fwd])) {
				snprintf(err, errlen, "-netdev user: bad hostfwd=%s (want [tcp|udp]:"
					 "[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, ports 1-65535)",
					 v);
				goto out;
			}
			cfg->nr_fwd++;
		} else if (!strcmp(k, "net")) {
			if (parse_net(v, &cfg->net, &cfg->mask)) {
				snprintf(err, errlen, "-netdev user: bad net=%s (ADDR[/BITS], BITS "
					 "8 to 30, or ADDR/MASK)", v);
				goto out;
			}
			have_net = true;
		} else if (!strcmp(k, "host") || !strcmp(k, "dhcpstart") || !strcmp(k, "dns")) {
			struct in_addr *a = !strcmp(k, "host") ? &cfg->host :
					    !strcmp(k, "dns") ? &cfg->dns : &cfg->dhcp_start;

			if (parse_addr(v, a)) {
				snprintf(err, errlen, "-netdev user: bad %s=%s (an IPv4 address)", k,
					 v);
				goto out;
			}
			have_host |= a == &cfg->host;
			have_dns |= a == &cfg->dns;
			have_dhcp |= a == &cfg->dhcp_start;
		} else if (!strcmp(k, "restrict") || !strcmp(k, "ipv6") || !strcmp(k, "ipv4")) {
			bool b;

			if (!parse_bool(v, &b)) {
				snprintf(err, errlen, "-netdev user: %s=%s: on or off", k, v);
				goto out;
			}
			if (!strcmp(k, "ipv4") && !b) {
				snprintf(err, errlen, "-netdev user: ipv4=off not supported");
				goto out;
			}
			if (!strcmp(k, "restrict"))
				cfg->restricted = b;
			else if (!strcmp(k, "ipv6"))
				cfg->ipv6 = b;
		} else if (!strcmp(k, "hostname")) {
			if (strlen(v) >= sizeof(cfg->hostname)) {
				snprintf(err, errlen, "-netdev user: hostname too long");
				goto out;
			}
			snprintf(cfg->hostname, sizeof(cfg->hostname), "%s", v);
		} else {
			snprintf(err, errlen, "-netdev user: unknown option '%s' (id, hostfwd, net, "
				 "host, dhcpstart, dns, restrict, ipv6, hostname)", k);
			goto out;
		}
	}
	if (!cfg->id[0]) {
		snprintf(err, errlen, "-netdev %s: needs id=", kind);
		goto out;
	}
	if (cfg->kind == NETDEV_TAP) {
		if (!cfg->ifname[0]) {
			snprintf(err, errlen, "-netdev tap: needs ifname= (tandem does not create "
				 "tap names itself)");
			goto out;
		}
		ret = 0;
		goto out;
	}
	/* QEMU's defaults: 10.0.2.0/24, host .2, DNS .3, first DHCP lease .15. */
	if (!have_net) {
		cfg->net.s_addr = htonl(0x0a000200u);
		cfg->mask.s_addr = htonl(0xffffff00u);
	}
	if (!have_host)
		cfg->host.s_addr = htonl(ntohl(cfg->net.s_addr) | 2);
	if (!have_dns)
		cfg->dns.s_addr = htonl(ntohl(cfg->net.s_addr) | 3);
	if (!have_dhcp)
		cfg->dhcp_start.s_addr = htonl(ntohl(cfg->net.s_addr) | 15);
	if (!in_net(cfg->host, cfg) || !in_net(cfg->dns, cfg) || !in_net(cfg->dhcp_start, cfg)) {
		snprintf(err, errlen, "-netdev user: host=, dns= and dhcpstart= must lie inside "
			 "net=");
		goto out;
	}
	for (unsigned i = 0; i < cfg->nr_fwd; i++)
		if (!cfg->fwd[i].guest_addr_set)
			cfg->fwd[i].guest_addr = cfg->dhcp_start;
	ret = 0;
out:
	g_strfreev(parts);
	return ret;
}

/* --- remembered options ------------------------------------------------- */

#define NETDEV_MAX_OPTIONS	8

static struct netdev_option {
	struct netdev_config cfg;
	bool used;
} options[NETDEV_MAX_OPTIONS];
static unsigned nr_options, nr_nics;

int netdev_add_option(const char *spec, char *err, size_t errlen)
{
	struct netdev_config cfg;
	int ret;

	ret = netdev_parse(spec, &cfg, err, errlen);
	if (ret)
		return ret;
#ifndef CONFIG_SLIRP
	if (cfg.kind == NETDEV_USER) {
		snprintf(err, errlen, "-netdev user: this tandem was built without libslirp "
			 "(Debian: libslirp-dev, then configure again)");
		return -ENOTSUP;
	}
#endif
	for (unsigned i = 0; i < nr_options; i++) {
		if (!strcmp(options[i].cfg.id, cfg.id)) {
			snprintf(err, errlen, "-netdev: duplicate id '%s'", cfg.id);
			return -EEXIST;
		}
	}
	if (nr_options == NETDEV_MAX_OPTIONS) {
		snprintf(err, errlen, "-netdev: at most %d", NETDEV_MAX_OPTIONS);
		return -ENOSPC;
	}
	options[nr_options].cfg = cfg;
	options[nr_options++].used = false;
	return 0;
}

/* -nic user,hostfwd=...[,model=virtio-net-pci]: the back end part of it. */
int netdev_add_nic_option(const char *spec, char *id, char *err, size_t errlen)
{
	char **parts = g_strsplit(spec, ",", -1);
	GString *s = g_string_new(parts[0] ? parts[0] : "");
	int ret = -EINVAL;

	for (char **p = parts[0] ? parts + 1 : parts; *p; p++) {
		if (!strncmp(*p, "model=", 6)) {
			if (strcmp(*p + 6, "virtio-net-pci") && strcmp(*p + 6, "virtio")) {
				snprintf(err, errlen, "-nic: model=%s not supported (tandem's NIC is "
					 "virtio-net-pci)", *p + 6);
				goto out;
			}
			continue;
		}
		if (!strncmp(*p, "id=", 3) || !strncmp(*p, "mac=", 4)) {
			snprintf(err, errlen, "-nic: '%s' not supported here (use -netdev and "
				 "-device virtio-net-pci for that)", *p);
			goto out;
		}
		g_string_append_printf(s, ",%s", *p);
	}
	snprintf(id, 32, "nic%u", nr_nics++);
	g_string_append_printf(s, ",id=%s", id);
	ret = netdev_add_option(s->str, err, errlen);
out:
	g_string_free(s, TRUE);
	g_strfreev(parts);
	return ret;
}

void netdev_options_free(void)
{
	nr_options = 0;
	nr_nics = 0;
}

const char *netdev_unused(void)
{
	for (unsigned i = 0; i < nr_options; i++)
		if (!options[i].used)
			return options[i].cfg.id;
	return NULL;
}

/* --- the receive queue -------------------------------------------------- */

/* Offer a frame to the NIC; keep it if it has no room. vm->lock held. */
static void netdev_deliver(struct netdev *nd, const uint8_t *buf, size_t len)
{
	struct netdev_frame *f;

	if (!nd->q_len && nd->client && nd->client->receive(nd->opaque, buf, len)) {
		nd->stats.rx_frames++;
		return;
	}
	if (nd->q_len >= NETDEV_QUEUE_MAX || !nd->client) {
		nd->stats.rx_dropped++;
		return;
	}
	f = malloc(sizeof(*f) + len);
	if (!f) {
		nd->stats.rx_dropped++;
		return;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, buf, len);
	*nd->q_tail = f;
	nd->q_tail = &f->next;
	nd->q_len++;
	nd->stats.rx_queued++;
}

static void tap_watch(struct netdev *nd);

void netdev_rx_resume(struct netdev *nd)
{
	struct netdev_frame *f;

	if (!nd)
		return;
	while ((f = nd->q_head) && nd->client) {
		if (!nd->client->receive(nd->opaque, f->data, f->len))
			break;
		nd->stats.rx_frames++;
		nd->q_head = f->next;
		if (!nd->q_head)
			nd->q_tail = &nd->q_head;
		nd->q_len--;
		free(f);
	}
	if (nd->cfg.kind == NETDEV_TAP && !nd->q_len)
		tap_watch(nd);
}

static void queue_free(struct netdev *nd)
{
	while (nd->q_head) {
		struct netdev_frame *f = nd->q_head;

		nd->q_head = f->next;
		free(f);
	}
	nd->q_tail = &nd->q_head;
	nd->q_len = 0;
}

/* --- tap ---------------------------------------------------------------- */

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
	struct netdev *nd = opaque;
	gboolean keep = G_SOURCE_CONTINUE;

	pthread_mutex_lock(&nd->vm->lock);
	/* A burst at a time, so the loop's other sources get their turn. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, nd->tap_buf, NETDEV_MAX_FRAME);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* The interface went away: no more input. */
			keep = G_SOURCE_REMOVE;
			break;
		}
		netdev_deliver(nd, nd->tap_buf, (size_t)n);
		if (nd->q_len) {
			/* The NIC is full: leave the rest in the kernel until it has room. */
			keep = G_SOURCE_REMOVE;
			break;
		}
	}
	if (keep == G_SOURCE_REMOVE)
		nd->tap_watch = 0;
	pthread_mutex_unlock(&nd->vm->lock);
	return keep;
}

static void tap_watch(struct netdev *nd)
{
	if (nd->tap_fd >= 0 && !nd->tap_watch)
		nd->tap_watch = g_unix_fd_add(nd->tap_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					      tap_readable, nd);
}

static int tap_open(struct netdev *nd, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "-netdev tap,ifname=%s: cannot open /dev/net/tun: %s",
			 nd->cfg.ifname, strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* No IFF_VNET_HDR: the NIC offers no offloads, so frames are plain. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", nd->cfg.ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		snprintf(err, errlen, "-netdev tap,ifname=%s: TUNSETIFF: %s%s", nd->cfg.ifname,
			 strerror(-ret), ret == -EPERM ? " (needs CAP_NET_ADMIN, or a tap "
			 "created for this user: ip tuntap add NAME mode tap user $USER)" : "");
		close(fd);
		return ret;
	}
	nd->tap_buf = malloc(NETDEV_MAX_FRAME);
	if (!nd->tap_buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nd->tap_fd = fd;
	return 0;
}

/* --- slirp -------------------------------------------------------------- */

#ifdef CONFIG_SLIRP
static ssize_t slirp_send_cb(const void *buf, size_t len, void *opaque)
{
	struct netdev *nd = opaque;

	/* Called from slirp_input()/slirp_pollfds_poll()/a timer: vm->lock held. */
	if (len > NETDEV_MAX_FRAME) {
		nd->stats.rx_dropped++;
		return (ssize_t)len;
	}
	netdev_deliver(nd, buf, len);
	return (ssize_t)len;
}

static void slirp_guest_error_cb(const char *msg, void *opaque)
{
	/* A guest can say this as often as it likes: only with --trace=io. */
	struct netdev *nd = opaque;

	vm_trace(nd->vm, TRACE_GUEST_ERRORS, "guest_errors: netdev %s: %s\n", nd->cfg.id, msg);
}

static int64_t slirp_clock_cb(void *opaque)
{
	struct netdev *nd = opaque;

	return (int64_t)vm_clock_ns(nd->vm);
}

struct slirp_timer {
	struct netdev *nd;
	struct vm_timer *t;
	SlirpTimerId id;
	void *cb_opaque;
};

/* A vm_timer callback: main loop thread, vm->lock held. */
static void slirp_timer_fire(void *opaque)
{
	struct slirp_timer *st = opaque;

	slirp_handle_timer(st->nd->slirp, st->id, st->cb_opaque);
}

static void *slirp_timer_new_cb(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_timer *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->nd = opaque;
	st->id = id;
	st->cb_opaque = cb_opaque;
	st->t = vm_timer_new(st->nd->vm, slirp_timer_fire, st);
	if (!st->t) {
		free(st);
		return NULL;
	}
	return st;
}

static void slirp_timer_free_cb(void *timer, void *opaque)
{
	struct slirp_timer *st = timer;

	if (!st)
		return;
	vm_timer_free(st->t);
	free(st);
}

static void slirp_timer_mod_cb(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *st = timer;

	if (st)
		vm_timer_mod(st->t, expire_ms < 0 ? 0 : (uint64_t)expire_ms * 1000000u);
}

static void slirp_register_poll_cb(int fd, void *opaque)
{
}

static void slirp_unregister_poll_cb(int fd, void *opaque)
{
}

/*
 * slirp calls this from within its own calls, all on the main loop thread:
 * the next prepare() sees what changed, so there is nobody to wake.
 */
static void slirp_notify_cb(void *opaque)
{
}

static const SlirpCb slirp_cbs = {
	.send_packet = slirp_send_cb,
	.guest_error = slirp_guest_error_cb,
	.clock_get_ns = slirp_clock_cb,
	.timer_free = slirp_timer_free_cb,
	.timer_mod = slirp_timer_mod_cb,
	.register_poll_fd = slirp_register_poll_cb,
	.unregister_poll_fd = slirp_unregister_poll_cb,
	.notify = slirp_notify_cb,
	.timer_new_opaque = slirp_timer_new_cb,
};

/*
 * The GSource that polls slirp's sockets: prepare() asks slirp which fds
 * it wants (they change with every connection) and how soon its TCP
 * timers are due; check() says ready only when an fd has events or that
 * time has come. (Always ready would starve every source of lower
 * priority: GLib dispatches only the most urgent ready ones.)
 *
 * GLib wakes its loop whenever a poll fd is added or removed, so handing
 * it slirp's fds afresh at every prepare() would spin the loop. A socket's
 * GPollFD stays registered while slirp keeps asking for it (its events
 * rewritten in place, which GLib allows; the fd itself may not change, as
 * GLib keeps its records sorted by fd); only new and closed sockets make
 * GLib calls.
 */
struct slirp_want {
	int fd;
	unsigned short events;
	GPollFD *pfd;			/* its registered record */
};

struct slirp_source {
	GSource src;
	struct netdev *nd;
	struct slirp_want *want;	/* this round's fds, as add_poll numbered them */
	unsigned nr, cap;
	GPollFD **reg;			/* registered with GLib, each allocated alone */
	bool *seen;
	unsigned nr_reg, cap_reg;
	gint64 deadline_us;		/* g_source_get_time() of slirp's next timer */
};

static int slirp_add_poll_cb(int fd, int events, void *opaque)
{
	struct slirp_source *s = opaque;

	if (s->nr == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->want = g_renew(struct slirp_want, s->want, s->cap);
	}
	s->want[s->nr].fd = fd;
	s->want[s->nr].events = (events & SLIRP_POLL_IN ? G_IO_IN : 0) |
				(events & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
				(events & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
				(events & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
				(events & SLIRP_POLL_HUP ? G_IO_HUP : 0);
	s->want[s->nr].pfd = NULL;
	return (int)s->nr++;
}

static int slirp_get_revents_cb(int idx, void *opaque)
{
	struct slirp_source *s = opaque;
	unsigned r;

	if (idx < 0 || (unsigned)idx >= s->nr || !s->want[idx].pfd)
		return 0;
	r = s->want[idx].pfd->revents & (s->want[idx].events | G_IO_ERR | G_IO_HUP);
	return (r & G_IO_IN ? SLIRP_POLL_IN : 0) | (r & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
	       (r & G_IO_PRI ? SLIRP_POLL_PRI : 0) | (r & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
	       (r & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

/* Match this round's fds with the registered records; add and drop the difference. */
static void slirp_src_sync(struct slirp_source *s)
{
	unsigned i, j;

	for (j = 0; j < s->nr_reg; j++) {
		s->seen[j] = false;
		s->reg[j]->events = 0;
	}
	for (i = 0; i < s->nr; i++) {
		for (j = 0; j < s->nr_reg && s->reg[j]->fd != s->want[i].fd; j++)
			;
		if (j == s->nr_reg) {
			if (s->nr_reg == s->cap_reg) {
				s->cap_reg = s->cap_reg ? s->cap_reg * 2 : 16;
				s->reg = g_renew(GPollFD *, s->reg, s->cap_reg);
				s->seen = g_renew(bool, s->seen, s->cap_reg);
			}
			s->reg[j] = g_new0(GPollFD, 1);
			s->reg[j]->fd = s->want[i].fd;
			g_source_add_poll(&s->src, s->reg[j]);
			s->nr_reg++;
		}
		s->seen[j] = true;
		s->reg[j]->events |= s->want[i].events;
		s->reg[j]->revents = 0;
		s->want[i].pfd = s->reg[j];
	}
	for (j = 0; j < s->nr_reg;) {
		if (s->seen[j]) {
			j++;
			continue;
		}
		g_source_remove_poll(&s->src, s->reg[j]);
		g_free(s->reg[j]);
		s->reg[j] = s->reg[s->nr_reg - 1];
		s->seen[j] = s->seen[s->nr_reg - 1];
		s->nr_reg--;
	}
}

static gboolean slirp_src_prepare(GSource *src, gint *timeout)
{
	struct slirp_source *s = (struct slirp_source *)src;
	uint32_t t = UINT32_MAX;

	s->nr = 0;
	pthread_mutex_lock(&s->nd->vm->lock);
	slirp_pollfds_fill(s->nd->slirp, &t, slirp_add_poll_cb, s);
	pthread_mutex_unlock(&s->nd->vm->lock);
	slirp_src_sync(s);
	if (t > 1000)
		t = 1000;	/* look again at least every second */
	*timeout = (gint)t;
	s->deadline_us = g_source_get_time(src) + (gint64)t * 1000;
	return t == 0;
}

static gboolean slirp_src_check(GSource *src)
{
	struct slirp_source *s = (struct slirp_source *)src;

	for (unsigned i = 0; i < s->nr_reg; i++)
		if (s->reg[i]->revents & (s->reg[i]->events | G_IO_ERR | G_IO_HUP))
			return TRUE;
	return g_source_get_time(src) >= s->deadline_us;
}

static gboolean slirp_src_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	struct slirp_source *s = (struct slirp_source *)src;

	pthread_mutex_lock(&s->nd->vm->lock);
	slirp_pollfds_poll(s->nd->slirp, 0, slirp_get_revents_cb, s);
	pthread_mutex_unlock(&s->nd->vm->lock);
	return G_SOURCE_CONTINUE;
}

static void slirp_src_finalize(GSource *src)
{
	struct slirp_source *s = (struct slirp_source *)src;

	/* The source is being destroyed: GLib forgets its polls itself. */
	for (unsigned i = 0; i < s->nr_reg; i++)
		g_free(s->reg[i]);
	g_free(s->reg);
	g_free(s->seen);
	g_free(s->want);
	s->reg = NULL;
	s->want = NULL;
}

static GSourceFuncs slirp_src_funcs = {
	.prepare = slirp_src_prepare,
	.check = slirp_src_check,
	.dispatch = slirp_src_dispatch,
	.finalize = slirp_src_finalize,
};

static void user_close(struct netdev *nd);

static int user_open(struct netdev *nd, char *err, size_t errlen)
{
	const struct netdev_config *c = &nd->cfg;
	struct slirp_source *s;
	SlirpConfig sc;
	int ret;

	memset(&sc, 0, sizeof(sc));
	sc.version = 4;
	sc.restricted = c->restricted;
	sc.in_enabled = true;
	sc.vnetwork = c->net;
	sc.vnetmask = c->mask;
	sc.vhost = c->host;
	sc.in6_enabled = c->ipv6;
	/* fec0::/64 with the host at ::2, as QEMU. */
	inet_pton(AF_INET6, "fec0::", &sc.vprefix_addr6);
	sc.vprefix_len = 64;
	inet_pton(AF_INET6, "fec0::2", &sc.vhost6);
	inet_pton(AF_INET6, "fec0::3", &sc.vnameserver6);
	sc.vhostname = c->hostname[0] ? c->hostname : NULL;
	sc.vdhcp_start = c->dhcp_start;
	sc.vnameserver = c->dns;
	sc.if_mtu = 1500;
	sc.if_mru = 1500;

	/* slirp_new() creates its timers: the timer list is under vm->lock. */
	pthread_mutex_lock(&nd->vm->lock);
	nd->slirp = slirp_new(&sc, &slirp_cbs, nd);
	pthread_mutex_unlock(&nd->vm->lock);
	if (!nd->slirp) {
		snprintf(err, errlen, "-netdev user,id=%s: libslirp refused the configuration",
			 c->id);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nr_fwd; i++) {
		const struct netdev_hostfwd *f = &c->fwd[i];

		if (slirp_add_hostfwd(nd->slirp, f->udp, f->host_addr, f->host_port,
				      f->guest_addr, f->guest_port) < 0) {
			char what[96];

			ret = errno ? -errno : -EADDRINUSE;
			netdev_hostfwd_str(f, what, sizeof(what));
			snprintf(err, errlen, "-netdev user,id=%s: hostfwd=%s: cannot listen on "
				 "the host port: %s", c->id, what, strerror(-ret));
			user_close(nd);
			return ret;
		}
	}
	s = (struct slirp_source *)g_source_new(&slirp_src_funcs, sizeof(*s));
	s->nd = nd;
	g_source_attach(&s->src, NULL);
	nd->slirp_src = &s->src;
	return 0;
}

static void user_close(struct netdev *nd)
{
	if (nd->slirp_src) {
		g_source_destroy(nd->slirp_src);
		g_source_unref(nd->slirp_src);
		nd->slirp_src = NULL;
	}
	if (nd->slirp) {
		pthread_mutex_lock(&nd->vm->lock);
		slirp_cleanup(nd->slirp);
		pthread_mutex_unlock(&nd->vm->lock);
	}
	nd->slirp = NULL;
}
#endif /* CONFIG_SLIRP */

/* --- open, send, close -------------------------------------------------- */

struct netdev *netdev_open(struct vm *vm, const char *id, const struct netdev_client *client,
			   void *opaque, char *err, size_t errlen)
{
	struct netdev_option *o = NULL;
	struct netdev *nd;
	int ret = -ENOTSUP;

	for (unsigned i = 0; i < nr_options; i++)
		if (!strcmp(options[i].cfg.id, id))
			o = &options[i];
	if (!o) {
		snprintf(err, errlen, "netdev=%s: no -netdev with id=%s", id, id);
		return NULL;
	}
	if (o->used) {
		snprintf(err, errlen, "netdev=%s: already used by another NIC", id);
		return NULL;
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nd->vm = vm;
	nd->cfg = o->cfg;
	nd->client = client;
	nd->opaque = opaque;
	nd->q_tail = &nd->q_head;
	nd->tap_fd = -1;
	snprintf(nd->name, sizeof(nd->name), "%s %s",
		 nd->cfg.kind == NETDEV_TAP ? "tap" : "user", nd->cfg.id);

	if (nd->cfg.kind == NETDEV_TAP) {
		ret = tap_open(nd, err, errlen);
		if (!ret) {
			pthread_mutex_lock(&vm->lock);
			tap_watch(nd);
			pthread_mutex_unlock(&vm->lock);
		}
	} else {
#ifdef CONFIG_SLIRP
		ret = user_open(nd, err, errlen);
#else
		snprintf(err, errlen, "-netdev user: this tandem was built without libslirp");
#endif
	}
	if (ret) {
		free(nd->tap_buf);
		free(nd);
		return NULL;
	}
	o->used = true;
	return nd;
}

int netdev_send(struct netdev *nd, const uint8_t *frame, size_t len)
{
	if (!nd || len < 14 || len > NETDEV_MAX_FRAME) {
		if (nd)
			nd->stats.tx_errors++;
		return -EINVAL;
	}
	if (nd->cfg.kind == NETDEV_TAP) {
		ssize_t n;

		do {
			n = write(nd->tap_fd, frame, len);
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)len) {
			/* Full or gone: a NIC on a congested wire loses the frame too. */
			nd->stats.tx_errors++;
			return n < 0 ? -errno : -EIO;
		}
	} else {
#ifdef CONFIG_SLIRP
		slirp_input(nd->slirp, frame, (int)len);
#endif
	}
	nd->stats.tx_frames++;
	return 0;
}

const struct netdev_stats *netdev_get_stats(const struct netdev *nd)
{
	return &nd->stats;
}

const char *netdev_name(const struct netdev *nd)
{
	return nd->name;
}

void netdev_close(struct netdev *nd)
{
	if (!nd)
		return;
	if (nd->tap_watch)
		g_source_remove(nd->tap_watch);
	nd->tap_watch = 0;
	if (nd->tap_fd >= 0)
		close(nd->tap_fd);
#ifdef CONFIG_SLIRP
	user_close(nd);
#endif
	queue_free(nd);
	for (unsigned i = 0; i < nr_options; i++)
		if (!strcmp(options[i].cfg.id, nd->cfg.id))
			options[i].used = false;
	free(nd->tap_buf);
	free(nd);
}
