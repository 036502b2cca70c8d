// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the network back ends (machine/net.c): the -netdev
 * parser (hostfwd spellings, defaults, errors), and with libslirp an ARP
 * exchange with the user-mode network, the receive queue when the NIC
 * has no room, and hostfwd listening on loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "config.h"
#include "machine/net.h"
#include "machine/timer.h"
#include "machine/vm.h"

static struct vm vm;

static void vm_setup(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	vm_clock_set_manual(&vm, 0);
}

static void vm_teardown(void)
{
	vm_timers_free(&vm);
	pthread_mutex_destroy(&vm.lock);
}

static const char *addr(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static unsigned i;

	i = (i + 1) % 4;
	inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
	return buf[i];
}

static void test_parse_defaults(void)
{
	struct netdev_config c;
	char err[256] = "", f[96];

	CU_ASSERT_EQUAL_FATAL(netdev_parse("user,id=n0", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.kind, NETDEV_USER);
	CU_ASSERT_STRING_EQUAL(c.id, "n0");
	CU_ASSERT_STRING_EQUAL(addr(c.net), "10.0.2.0");
	CU_ASSERT_STRING_EQUAL(addr(c.mask), "255.255.255.0");
	CU_ASSERT_STRING_EQUAL(addr(c.host), "10.0.2.2");
	CU_ASSERT_STRING_EQUAL(addr(c.dns), "10.0.2.3");
	CU_ASSERT_STRING_EQUAL(addr(c.dhcp_start), "10.0.2.15");
	CU_ASSERT_EQUAL(c.nr_fwd, 0);

	/* No host address: loopback (QEMU would bind every address). */
	CU_ASSERT_EQUAL_FATAL(netdev_parse("user,id=a,hostfwd=tcp::2222-:22,"
					   "hostfwd=udp:0.0.0.0:5353-10.0.2.20:53,"
					   "hostfwd=:127.0.0.2:8080-:80", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(c.nr_fwd, 3);
	netdev_hostfwd_str(&c.fwd[0], f, sizeof(f));
	CU_ASSERT_STRING_EQUAL(f, "tcp:127.0.0.1:2222-10.0.2.15:22");
	netdev_hostfwd_str(&c.fwd[1], f, sizeof(f));
	CU_ASSERT_STRING_EQUAL(f, "udp:0.0.0.0:5353-10.0.2.20:53");
	netdev_hostfwd_str(&c.fwd[2], f, sizeof(f));
	CU_ASSERT_STRING_EQUAL(f, "tcp:127.0.0.2:8080-10.0.2.15:80");

	/* Another network: the host, DNS and first lease follow it. */
	CU_ASSERT_EQUAL_FATAL(netdev_parse("user,id=b,net=192.168.76.0/22,hostfwd=tcp::1-:2",
					   &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(addr(c.mask), "255.255.252.0");
	CU_ASSERT_STRING_EQUAL(addr(c.host), "192.168.76.2");
	CU_ASSERT_STRING_EQUAL(addr(c.dhcp_start), "192.168.76.15");
	CU_ASSERT_STRING_EQUAL(addr(c.fwd[0].guest_addr), "192.168.76.15");
	CU_ASSERT_EQUAL_FATAL(netdev_parse("user,id=b,net=172.16.0.0/255.255.0.0,host=172.16.9.9,"
					   "dns=172.16.0.53,dhcpstart=172.16.1.1,restrict=on,"
					   "ipv6=off", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(addr(c.host), "172.16.9.9");
	CU_ASSERT_STRING_EQUAL(addr(c.dns), "172.16.0.53");
	CU_ASSERT_TRUE(c.restricted);
	CU_ASSERT_FALSE(c.ipv6);

	CU_ASSERT_EQUAL_FATAL(netdev_parse("tap,id=t0,ifname=tap3,script=no,downscript=no", &c,
					   err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.kind, NETDEV_TAP);
	CU_ASSERT_STRING_EQUAL(c.ifname, "tap3");
}

static void test_parse_errors(void)
{
	static const struct {
		const char *spec, *want;	/* @want: a word the message must contain */
	} bad[] = {
		{ "socket,id=s", "unknown back end" },
		{ "", "unknown back end" },
		{ "user", "needs id=" },
		{ "user,id=", "bad id" },
		{ "user,id=9x", "bad id" },
		{ "user,id=a,hostfwd=tcp::2222", "bad hostfwd" },
		{ "user,id=a,hostfwd=tcp::0-:22", "bad hostfwd" },
		{ "user,id=a,hostfwd=tcp::65536-:22", "bad hostfwd" },
		{ "user,id=a,hostfwd=sctp::1-:2", "bad hostfwd" },
		{ "user,id=a,hostfwd=tcp:1.2.3:1-:2", "bad hostfwd" },
		{ "user,id=a,hostfwd=tcp::1-:x", "bad hostfwd" },
		{ "user,id=a,hostfwd=tcp::1-:-2", "bad hostfwd" },
		{ "user,id=a,net=10.0.0.0/31", "bad net" },
		{ "user,id=a,net=10.0.0.0/255.0.255.0", "bad net" },
		{ "user,id=a,host=10.0.3.2", "inside net" },
		{ "user,id=a,dhcpstart=10.0.2.255", "inside net" },
		{ "user,id=a,restrict=maybe", "on or off" },
		{ "user,id=a,smb=/tmp", "unknown option 'smb'" },
		{ "user,id=a,ipv4=off", "ipv4=off" },
		{ "user,id=a,novalue", "not KEY=VALUE" },
		{ "tap,id=t", "needs ifname" },
		{ "tap,id=t,ifname=tap0,script=/etc/qemu-ifup", "runs no scripts" },
		{ "tap,id=t,ifname=a/b", "bad ifname" },
		{ "tap,id=t,ifname=tap0,fd=3", "unknown option 'fd'" },
	};
	struct netdev_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CU_ASSERT_EQUAL(netdev_parse(bad[i].spec, &c, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].want)) {
			printf("\n  '%s': got '%s', want '%s'\n", bad[i].spec, err, bad[i].want);
			CU_FAIL("error message");
		}
	}
}

static void test_options(void)
{
	char err[256], id[32];

	vm_setup();
	netdev_options_free();
	CU_ASSERT_EQUAL(netdev_add_option("tap,id=t0,ifname=tapx", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(netdev_add_option("tap,id=t0,ifname=tapy", err, sizeof(err)), -EEXIST);
	CU_ASSERT_STRING_EQUAL(netdev_unused(), "t0");
	CU_ASSERT_PTR_NULL(netdev_open(&vm, "nope", NULL, NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no -netdev with id=nope"));
	CU_ASSERT_EQUAL(netdev_add_nic_option("tap,ifname=tapz,model=e1000", id, err,
					      sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "model=e1000"));
	CU_ASSERT_EQUAL(netdev_add_nic_option("tap,ifname=tapz,model=virtio-net-pci", id, err,
					      sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(id, "nic0");
#ifndef CONFIG_SLIRP
	CU_ASSERT_EQUAL(netdev_add_option("user,id=u", err, sizeof(err)), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "without libslirp"));
#endif
	netdev_options_free();
	vm_teardown();
}

#ifdef CONFIG_SLIRP
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static uint8_t last_frame[2048];
static size_t last_len;
static unsigned nr_received;
static bool nic_full;

static bool spy_receive(void *opaque, const uint8_t *frame, size_t len)
{
	if (nic_full)
		return false;
	CU_ASSERT_EQUAL(pthread_mutex_trylock(&vm.lock), EBUSY);	/* held, as promised */
	if (len <= sizeof(last_frame)) {
		memcpy(last_frame, frame, len);
		last_len = len;
	}
	nr_received++;
	return true;
}

static const struct netdev_client spy = { .receive = spy_receive };

/* ARP who-has @target_ip, from the guest's 10.0.2.15. */
static size_t arp_request(uint8_t *f, uint32_t target_ip)
{
	uint32_t spa = htonl(0x0a00020f), tpa = htonl(target_ip);

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1;		/* Ethernet */
	f[16] = 0x08, f[17] = 0;	/* IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = 0, f[21] = 1;		/* request */
	memcpy(f + 22, guest_mac, 6);
	memcpy(f + 28, &spa, 4);
	memcpy(f + 38, &tpa, 4);
	return 60;
}

static bool tcp_listening(uint32_t ip, uint16_t port)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/net/tcp", "r");
	bool found = false;

	if (!f)
		return false;
	/* /proc/net/tcp prints the address as the host-order dump of the __be32. */
	snprintf(want, sizeof(want), "%08X:%04X", (unsigned)ip, port);
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned st;

		if (sscanf(line, " %*d: %63s %63s %x", local, remote, &st) == 3 &&
		    !strcmp(local, want) && st == 0x0a)
			found = true;
	}
	fclose(f);
	return found;
}

/* A free TCP port on 127.0.0.1 (the kernel's pick, closed again). */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &sl))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static gboolean stop_loop(gpointer p)
{
	*(gboolean *)p = TRUE;
	return G_SOURCE_REMOVE;
}

static void test_slirp_arp_and_queue(void)
{
	char err[256], spec[128];
	uint8_t f[64];
	struct netdev *nd;
	uint16_t port = free_port();
	const struct netdev_stats *st;

	CU_ASSERT_NOT_EQUAL_FATAL(port, 0);
	vm_setup();
	netdev_options_free();
	snprintf(spec, sizeof(spec), "user,id=u0,ipv6=off,hostfwd=tcp::%u-:22", port);
	CU_ASSERT_EQUAL_FATAL(netdev_add_option(spec, err, sizeof(err)), 0);
	nd = netdev_open(&vm, "u0", &spy, NULL, err, sizeof(err));
	if (!nd)
		printf("\n  netdev_open: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	CU_ASSERT_PTR_NULL(netdev_unused());
	CU_ASSERT_PTR_NULL(netdev_open(&vm, "u0", &spy, NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "already used"));

	/* hostfwd listens on loopback, not on every address. */
	CU_ASSERT_TRUE(tcp_listening(htonl(INADDR_LOOPBACK), port));
	CU_ASSERT_FALSE(tcp_listening(0, port));

	/* The guest asks who has 10.0.2.2: slirp answers at once, under the lock. */
	nr_received = 0;
	pthread_mutex_lock(&vm.lock);
	CU_ASSERT_EQUAL(netdev_send(nd, f, arp_request(f, 0x0a000202)), 0);
	pthread_mutex_unlock(&vm.lock);
	CU_ASSERT_EQUAL_FATAL(nr_received, 1);
	CU_ASSERT_TRUE(last_len >= 42);
	CU_ASSERT_EQUAL(memcmp(last_frame, guest_mac, 6), 0);
	CU_ASSERT_EQUAL(last_frame[12], 0x08);
	CU_ASSERT_EQUAL(last_frame[13], 0x06);
	CU_ASSERT_EQUAL(last_frame[21], 2);	/* reply */
	CU_ASSERT_EQUAL(memcmp(last_frame + 28, "\x0a\x00\x02\x02", 4), 0);

	/* The NIC has no buffers: the answers wait, then arrive in order. */
	nic_full = true;
	pthread_mutex_lock(&vm.lock);
	netdev_send(nd, f, arp_request(f, 0x0a000202));
	netdev_send(nd, f, arp_request(f, 0x0a000203));
	pthread_mutex_unlock(&vm.lock);
	st = netdev_get_stats(nd);
	CU_ASSERT_EQUAL(nr_received, 1);
	CU_ASSERT_EQUAL(st->rx_queued, 2);
	nic_full = false;
	pthread_mutex_lock(&vm.lock);
	netdev_rx_resume(nd);
	pthread_mutex_unlock(&vm.lock);
	CU_ASSERT_EQUAL(nr_received, 3);
	CU_ASSERT_EQUAL(memcmp(last_frame + 28, "\x0a\x00\x02\x03", 4), 0);	/* the DNS one last */
	CU_ASSERT_EQUAL(st->rx_frames, 3);
	CU_ASSERT_EQUAL(st->tx_frames, 3);

	/* Past the queue's length frames are dropped and counted. */
	nic_full = true;
	pthread_mutex_lock(&vm.lock);
	for (int i = 0; i < NETDEV_QUEUE_MAX + 5; i++)
		netdev_send(nd, f, arp_request(f, 0x0a000202));
	CU_ASSERT_EQUAL(netdev_send(nd, f, 10), -EINVAL);	/* runt */
	pthread_mutex_unlock(&vm.lock);
	CU_ASSERT_EQUAL(st->rx_dropped, 5);
	CU_ASSERT_EQUAL(st->tx_errors, 1);
	nic_full = false;

	/*
	 * With a socket to watch (the hostfwd listener) the main loop must
	 * sleep: re-registering poll fds on every turn used to wake it at
	 * once, spinning a host CPU and starving the guest of vm->lock.
	 */
	{
		unsigned iters = 0;
		gboolean done = FALSE;

		g_timeout_add(200, stop_loop, &done);
		while (!done && iters < 100000) {
			g_main_context_iteration(NULL, TRUE);
			iters++;
		}
		CU_ASSERT_TRUE(iters < 50);
		if (iters >= 50)
			printf("\n  main loop: %u iterations in 200 ms\n", iters);
	}

	netdev_close(nd);
	CU_ASSERT_FALSE(tcp_listening(htonl(INADDR_LOOPBACK), port));
	netdev_options_free();
	vm_teardown();
}
#endif

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "netdev parse: defaults and hostfwd", test_parse_defaults },
		{ "netdev parse: errors", test_parse_errors },
		{ "netdev options", test_options },
#ifdef CONFIG_SLIRP
		{ "slirp: arp, receive queue, hostfwd on loopback", test_slirp_arp_and_queue },
#endif
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("net", NULL, NULL);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
