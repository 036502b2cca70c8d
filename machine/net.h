/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_MACHINE_NET_H
#define TANDEM_MACHINE_NET_H
/*
 * Network back ends: Ethernet frames between one guest NIC and the host,
 * with no knowledge of the NIC model.
 *
 *   -netdev user,id=ID[,hostfwd=...]...   user-mode networking (libslirp):
 *        the guest gets 10.0.2.15 by DHCP, the host is 10.0.2.2, DNS 10.0.2.3
 *   -netdev tap,id=ID,ifname=TAP[,script=no,downscript=no]
 *        an existing (or creatable) tap interface on the host
 *
 * Life cycle: main.c hands each -netdev string to netdev_add_option()
 * (syntax checked there, nothing opened); a NIC's constructor calls
 * netdev_open() with the id, which creates the back end (binds hostfwd
 * ports, opens the tap) and ties it to that NIC, once.
 *
 * Threads and locking: everything a back end does runs on the GLib main
 * loop thread. Whenever it calls the client (receive) it holds vm->lock,
 * like a device callback; netdev_send() and netdev_rx_resume() are called
 * by the NIC from the main loop thread with vm->lock held too (the NIC
 * defers its transmit work from the vCPU thread to the main loop, so a
 * vCPU never waits on the host network).
 *
 * Frames the NIC cannot take now (no guest buffers) wait in a short queue
 * (NETDEV_QUEUE_MAX frames) until netdev_rx_resume(); past that they are
 * dropped and counted, as a full NIC would.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct vm;
struct netdev;

#define NETDEV_MAX_HOSTFWD	16
#define NETDEV_QUEUE_MAX	256
#define NETDEV_MAX_FRAME	65536	/* largest frame either way (no GSO: 1514 in practice) */

enum netdev_kind {
	NETDEV_USER,
	NETDEV_TAP,
};

struct netdev_hostfwd {
	bool udp;
	struct in_addr host_addr;	/* 127.0.0.1 unless given */
	uint16_t host_port;
	struct in_addr guest_addr;	/* the DHCP start address unless given */
	bool guest_addr_set;
	uint16_t guest_port;
};

/* A parsed -netdev (netdev_parse()). Addresses in network byte order. */
struct netdev_config {
	enum netdev_kind kind;
	char id[32];
	/* user */
	struct in_addr net, mask, host, dhcp_start, dns;
	bool restricted;		/* restrict=on: no connections out of the guest */
	bool ipv6;
	char hostname[64];
	struct netdev_hostfwd fwd[NETDEV_MAX_HOSTFWD];
	unsigned nr_fwd;
	/* tap */
	char ifname[16];
};

struct netdev_client {
	/*
	 * A frame for the guest (main loop thread, vm->lock held): true if the
	 * NIC took it, false if it has no room now (the back end keeps it
	 * until netdev_rx_resume()).
	 */
	bool (*receive)(void *opaque, const uint8_t *frame, size_t len);
};

struct netdev_stats {
	uint64_t tx_frames, tx_errors;		/* guest -> host */
	uint64_t rx_frames, rx_queued, rx_dropped;	/* host -> guest */
};

/*
 * Parse a -netdev value ("user,id=n0,hostfwd=tcp::2222-:22") into @cfg.
 * 0, or -EINVAL with one line in @err. Knows nothing of the host: the
 * same parse works with or without libslirp.
 */
int netdev_parse(const char *spec, struct netdev_config *cfg, char *err, size_t errlen);
/* Format @cfg's forwards the way --help documents them (for messages, tests). */
void netdev_hostfwd_str(const struct netdev_hostfwd *f, char *buf, size_t len);

/*
 * Remember a -netdev for a later netdev_open(); 0, or -errno with one
 * line in @err (bad syntax, duplicate id, back end not built in).
 */
int netdev_add_option(const char *spec, char *err, size_t errlen);
/* -nic user,...: a -netdev with a generated id; that id in @id (size 32). */
int netdev_add_nic_option(const char *spec, char *id, char *err, size_t errlen);
/* Forget every remembered -netdev (closing none). */
void netdev_options_free(void);
/* Ids of -netdev options that no NIC opened: NULL when all are in use. */
const char *netdev_unused(void);

/*
 * Create the back end named @id for @vm and connect it to @client; NULL
 * with one line in @err (no such id, already taken, host refused).
 */
struct netdev *netdev_open(struct vm *vm, const char *id, const struct netdev_client *client,
			   void *opaque, char *err, size_t errlen);
/* Undo netdev_open(): stop watching, free queued frames, close the host side. */
void netdev_close(struct netdev *nd);

/* A frame from the guest; 0 or -errno (dropped and counted). */
int netdev_send(struct netdev *nd, const uint8_t *frame, size_t len);
/* The NIC has room again: hand it the queued frames (vm->lock held). */
void netdev_rx_resume(struct netdev *nd);
const struct netdev_stats *netdev_get_stats(const struct netdev *nd);
/* "user" or "tap" and the id, for messages. */
const char *netdev_name(const struct netdev *nd);

#endif
