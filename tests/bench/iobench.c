// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The disk and network phases of the Linux I/O benchmark
 * (tests/bench/linux-io.sh), one static program for both sides: the guest
 * runs the phases, the host makes the disk image and the data, serves the
 * network phases and checks what the guest wrote.
 *
 *   iobench gen FILE BYTES SEED          FILE := BYTES of pattern SEED
 *   iobench disk DEV BYTES OPS           the four disk phases on DEV (guest)
 *   iobench verify-disk FILE BYTES OPS   FILE is what `disk` leaves (host)
 *   iobench serve BYTES OUT              listen on two free ports of
 *                                        127.0.0.1, print "listening PORT_RX
 *                                        PORT_TX"; send BYTES of pattern
 *                                        SEED_NETRX to the first client of
 *                                        PORT_RX; write what the client of
 *                                        PORT_TX sends to OUT (host)
 *   iobench net HOST PORT_RX PORT_TX BYTES  the two network phases (guest)
 *   iobench verify FILE BYTES SEED       FILE is BYTES of pattern SEED
 *
 * Guest output, one line per phase (the host parses it):
 *   PHASE NAME SECONDS BYTES check=ok|bad:WHY
 * Disk phases (O_DIRECT, so the guest's page cache is out of the way):
 * seq-read (the whole disk in 1 MiB requests, must hold pattern
 * SEED_DISK0), seq-write (pattern SEED_DISK1 over it, then fdatasync),
 * rand-read (OPS 4 KiB reads at pseudo-random blocks, checked against
 * SEED_DISK1), rand-write (OPS 4 KiB writes of SEED_DISK2 at other
 * pseudo-random blocks, then fdatasync). Each phase's time is the I/O
 * alone: buffers are filled before and checked after the clock runs.
 * Network phases: net-rx (BYTES from the host, read to EOF, checked),
 * net-tx (BYTES to the host, then shutdown(SHUT_WR), timed up to the
 * host's one-line reply, which it sends once it has them all).
 *
 * The pattern: 64-bit words, word i of pattern s is splitmix64(s * 2^32 +
 * i) -- a file position's content depends on its offset only, so any
 * block can be checked alone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEED_DISK0	1
#define SEED_DISK1	2
#define SEED_DISK2	3
#define SEED_NETRX	4
#define SEED_NETTX	5
#define SEED_RAND_READ	0x5eedu
#define SEED_RAND_WRITE	0xbeefu
#define SEQ_CHUNK	(1u << 20)
#define BLK		4096u

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Fill @len bytes (a multiple of 8) at file offset @off with pattern @seed. */
static void pattern_fill(void *buf, uint64_t off, size_t len, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = splitmix64((seed << 32) + off / 8 + i);
}

/* Does @buf hold pattern @seed for file offset @off? */
static int pattern_ok(const void *buf, uint64_t off, size_t len, uint64_t seed)
{
	const uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != splitmix64((seed << 32) + off / 8 + i))
			return 0;
	return 1;
}

/* The block of random operation @i among @nblocks: xorshift over @seed. */
static uint64_t rand_block(uint64_t seed, uint64_t i, uint64_t nblocks)
{
	return splitmix64(seed * 1000003u + i) % nblocks;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xalloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, BLK, len ? len : BLK)) {
		fprintf(stderr, "iobench: out of memory (%zu bytes)\n", len);
		exit(2);
	}
	return p;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "iobench: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* Full-length pread/pwrite: 0, or -1 with errno (0: end of file). */
static int io_all(int fd, void *buf, size_t len, uint64_t off, int wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void phase(const char *name, double t, uint64_t bytes, const char *bad)
{
	printf("PHASE %s %.6f %" PRIu64 " check=%s%s\n", name, t, bytes, bad ? "bad:" : "ok",
	       bad ? bad : "");
	fflush(stdout);
}

static int cmd_gen(const char *file, uint64_t bytes, uint64_t seed)
{
	char *buf = xalloc(SEQ_CHUNK);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (uint64_t off = 0; off < bytes; off += SEQ_CHUNK) {
		size_t n = bytes - off < SEQ_CHUNK ? (size_t)(bytes - off) : SEQ_CHUNK;

		pattern_fill(buf, off, n, seed);
		if (io_all(fd, buf, n, off, 1)) {
			perror(file);
			return 1;
		}
	}
	return close(fd) ? 1 : 0;
}

static int cmd_disk(const char *dev, uint64_t bytes, uint64_t ops)
{
	uint64_t nblocks = bytes / BLK;
	char *big, *blk;
	double t;
	int fd, bad;

	if (bytes % SEQ_CHUNK || !nblocks) {
		fprintf(stderr, "iobench: the disk size must be a multiple of 1 MiB\n");
		return 2;
	}
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 1;
	}
	big = xalloc(bytes);
	blk = xalloc(ops * BLK);

	t = now();
	for (uint64_t off = 0; off < bytes; off += SEQ_CHUNK)
		if (io_all(fd, big + off, SEQ_CHUNK, off, 0))
			goto io_err;
	t = now() - t;
	phase("seq-read", t, bytes, pattern_ok(big, 0, bytes, SEED_DISK0) ? NULL : "content");

	pattern_fill(big, 0, bytes, SEED_DISK1);
	t = now();
	for (uint64_t off = 0; off < bytes; off += SEQ_CHUNK)
		if (io_all(fd, big + off, SEQ_CHUNK, off, 1))
			goto io_err;
	if (fdatasync(fd))
		goto io_err;
	t = now() - t;
	phase("seq-write", t, bytes, NULL);

	t = now();
	for (uint64_t i = 0; i < ops; i++)
		if (io_all(fd, blk + i * BLK, BLK, rand_block(SEED_RAND_READ, i, nblocks) * BLK, 0))
			goto io_err;
	t = now() - t;
	bad = 0;
	for (uint64_t i = 0; i < ops; i++)
		bad += !pattern_ok(blk + i * BLK, rand_block(SEED_RAND_READ, i, nblocks) * BLK, BLK,
				   SEED_DISK1);
	phase("rand-read", t, ops * BLK, bad ? "content" : NULL);

	for (uint64_t i = 0; i < ops; i++)
		pattern_fill(blk + i * BLK, rand_block(SEED_RAND_WRITE, i, nblocks) * BLK, BLK,
			     SEED_DISK2);
	t = now();
	for (uint64_t i = 0; i < ops; i++)
		if (io_all(fd, blk + i * BLK, BLK, rand_block(SEED_RAND_WRITE, i, nblocks) * BLK, 1))
			goto io_err;
	if (fdatasync(fd))
		goto io_err;
	t = now() - t;
	phase("rand-write", t, ops * BLK, NULL);
	close(fd);
	return 0;
io_err:
	printf("PHASE FAIL %s: %s\n", dev, errno ? strerror(errno) : "short read");
	return 1;
}

/* What `disk` leaves: SEED_DISK1, and SEED_DISK2 in the blocks rand-write hit. */
static int cmd_verify_disk(const char *file, uint64_t bytes, uint64_t ops)
{
	uint64_t nblocks = bytes / BLK;
	unsigned char *hit = calloc(nblocks ? nblocks : 1, 1);
	char *buf = xalloc(BLK);
	struct stat sb;
	uint64_t bad = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || !hit || fstat(fd, &sb)) {
		perror(file);
		return 1;
	}
	if ((uint64_t)sb.st_size != bytes) {
		printf("%s: %lld bytes, want %" PRIu64 "\n", file, (long long)sb.st_size, bytes);
		return 1;
	}
	for (uint64_t i = 0; i < ops; i++)
		hit[rand_block(SEED_RAND_WRITE, i, nblocks)] = 1;
	for (uint64_t b = 0; b < nblocks; b++) {
		if (io_all(fd, buf, BLK, b * BLK, 0)) {
			perror(file);
			return 1;
		}
		bad += !pattern_ok(buf, b * BLK, BLK, hit[b] ? SEED_DISK2 : SEED_DISK1);
	}
	printf("%s: %" PRIu64 " of %" PRIu64 " blocks wrong (%" PRIu64 " written at random)\n",
	       file, bad, nblocks, ops);
	return bad ? 1 : 0;
}

static int cmd_verify(const char *file, uint64_t bytes, uint64_t seed)
{
	char *buf = xalloc(SEQ_CHUNK);
	struct stat sb;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb)) {
		perror(file);
		return 1;
	}
	if ((uint64_t)sb.st_size != bytes) {
		printf("%s: %lld bytes, want %" PRIu64 "\n", file, (long long)sb.st_size, bytes);
		return 1;
	}
	for (uint64_t off = 0; off < bytes; off += SEQ_CHUNK) {
		size_t n = bytes - off < SEQ_CHUNK ? (size_t)(bytes - off) : SEQ_CHUNK;

		if (io_all(fd, buf, n, off, 0) || !pattern_ok(buf, off, n & ~(size_t)7, seed)) {
			printf("%s: wrong content in the MiB at %" PRIu64 "\n", file, off);
			return 1;
		}
	}
	printf("%s: %" PRIu64 " bytes as sent\n", file, bytes);
	return 0;
}

/* A listening socket on a free port of 127.0.0.1 (the kernel picks it): its port into @port. */
static int listen_on(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1) ||
	    getsockname(s, (struct sockaddr *)&a, &alen)) {
		perror("iobench: listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return s;
}

/*
 * The host's side: bound before it says "listening" (the bench waits for
 * that line), one client per port, in order: rx, then tx. SIGPIPE kills
 * it if the guest goes away mid-transfer: the bench then sees no output.
 */
static int cmd_serve(uint64_t bytes, const char *out)
{
	uint16_t port_rx, port_tx;
	int lrx = listen_on(&port_rx), ltx = listen_on(&port_tx);
	char *buf = xalloc(SEQ_CHUNK);
	uint64_t got = 0;
	int c, fd;

	printf("listening %u %u\n", port_rx, port_tx);
	fflush(stdout);
	c = accept(lrx, NULL, NULL);
	if (c < 0)
		return 1;
	for (uint64_t off = 0; off < bytes; off += SEQ_CHUNK) {
		size_t n = bytes - off < SEQ_CHUNK ? (size_t)(bytes - off) : SEQ_CHUNK;
		char *p = buf;

		pattern_fill(buf, off, (n + 7) & ~(size_t)7, SEED_NETRX);
		while (n) {
			ssize_t w = write(c, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				perror("iobench: send");
				return 1;
			}
			p += w;
			n -= (size_t)w;
		}
	}
	close(c);
	c = accept(ltx, NULL, NULL);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (c < 0 || fd < 0) {
		perror(out);
		return 1;
	}
	for (;;) {
		ssize_t n = read(c, buf, SEQ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(fd, buf, (size_t)n) != n) {
			perror(out);
			return 1;
		}
		got += (uint64_t)n;
	}
	dprintf(c, "got %" PRIu64 "\n", got);
	close(c);
	close(fd);
	printf("received %" PRIu64 " bytes\n", got);
	return got == bytes ? 0 : 1;
}

static int connect_to(const char *host, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a))) {
		printf("PHASE FAIL connect %s:%u: %s\n", host, port, strerror(errno));
		exit(1);
	}
	return s;
}

static int cmd_net(const char *host, uint16_t port_rx, uint16_t port_tx, uint64_t bytes)
{
	size_t alloc = (size_t)((bytes + 8) & ~7ull);	/* room for the byte past the end */
	char *buf = xalloc(alloc), reply[64];
	uint64_t got = 0;
	double t;
	ssize_t n;
	int s;

	t = now();
	s = connect_to(host, port_rx);
	while (got < bytes + 1) {
		n = read(s, buf + got, got < bytes ? (size_t)(bytes - got) : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	t = now() - t;
	close(s);
	phase("net-rx", t, bytes, got != bytes ? "length" :
	      pattern_ok(buf, 0, (size_t)(bytes & ~7ull), SEED_NETRX) ? NULL : "content");

	pattern_fill(buf, 0, alloc, SEED_NETTX);
	t = now();
	s = connect_to(host, port_tx);
	for (uint64_t off = 0; off < bytes;) {
		n = write(s, buf + off, (size_t)(bytes - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("PHASE FAIL send: %s\n", strerror(errno));
			return 1;
		}
		off += (uint64_t)n;
	}
	shutdown(s, SHUT_WR);
	got = 0;
	while (got < sizeof(reply) - 1 && (n = read(s, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (uint64_t)n;
	t = now() - t;
	reply[got] = 0;
	close(s);
	phase("net-tx", t, bytes, strtoull(reply + (got > 4 ? 4 : got), NULL, 10) == bytes &&
	      !strncmp(reply, "got ", 4) ? NULL : "length");
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "gen") && argc == 5)
		return cmd_gen(argv[2], parse_u64(argv[3], "size"), parse_u64(argv[4], "seed"));
	if (!strcmp(c, "disk") && argc == 5)
		return cmd_disk(argv[2], parse_u64(argv[3], "size"), parse_u64(argv[4], "ops"));
	if (!strcmp(c, "verify-disk") && argc == 5)
		return cmd_verify_disk(argv[2], parse_u64(argv[3], "size"),
				       parse_u64(argv[4], "ops"));
	if (!strcmp(c, "verify") && argc == 5)
		return cmd_verify(argv[2], parse_u64(argv[3], "size"), parse_u64(argv[4], "seed"));
	if (!strcmp(c, "serve") && argc == 4)
		return cmd_serve(parse_u64(argv[2], "size"), argv[3]);
	if (!strcmp(c, "net") && argc == 6)
		return cmd_net(argv[2], (uint16_t)parse_u64(argv[3], "port"),
			       (uint16_t)parse_u64(argv[4], "port"), parse_u64(argv[5], "size"));
	fprintf(stderr, "usage: iobench gen|disk|verify-disk|verify|serve|net ... "
		"(see tests/bench/iobench.c)\n");
	return 2;
}
