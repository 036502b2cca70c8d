// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-console, single port (devices/virtio_console.h).
 *
 * Output: each transmit element is written to the back end in the kick,
 * on the vCPU thread, as the UART does with its THR (chardev_write() is
 * synchronous).
 *
 * Input: the back end asks can_receive(); we answer with the room in one
 * receive element, popped then and kept in rx_elem until receive() fills
 * it. When the ring is empty we say 0, and the guest's next kick of the
 * receive queue calls chardev_accept_input() to deliver what waited.
 *
 * Locking: everything runs with vm->lock held (kicks come through the
 * bus, the chardev calls its receiver under the lock).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "devices/virtio.h"
#include "machine/device.h"
#include "devices/virtio_console.h"
#include "machine/chardev.h"
#include "devices/virtio_pci.h"
#include "machine/vm.h"

#define RXQ		0
#define TXQ		1
#define QUEUE_SIZE	128
#define CONFIG_LEN	12	/* cols, rows, max_nr_ports, emerg_wr: none offered */

struct virtio_console {
	struct virtio_dev vdev;
	char name[32];
	uint8_t config[CONFIG_LEN];
	struct chardev *cd;
	bool started;			/* chardev_start() done (or failed, said once) */
	struct virtq_elem *tx_elem, *rx_elem;
	bool rx_held;			/* rx_elem is popped and not pushed yet */
	uint8_t buf[4096];
	unsigned long long tx_bytes, rx_bytes;
};

static void console_tx(struct virtio_console *c, struct virtq *vq)
{
	while (virtq_pop(vq, c->tx_elem) == 1) {
		struct virtq_elem *e = c->tx_elem;
		size_t off = 0, n;

		while ((n = iov_to_buf(e->iov, e->out_num, off, c->buf, sizeof(c->buf)))) {
			chardev_write(c->cd, c->buf, n);
			off += n;
		}
		c->tx_bytes += off;
		virtq_push(vq, e, 0);
	}
	virtq_notify(vq);
}

static size_t console_can_receive(void *opaque)
{
	struct virtio_console *c = opaque;
	struct virtq *vq = &c->vdev.vq[RXQ];

	if (!c->rx_held) {
		if (!virtq_ready(vq) || virtq_pop(vq, c->rx_elem) != 1)
			return 0;
		c->rx_held = true;
	}
	return c->rx_elem->in_len < 65536 ? (size_t)c->rx_elem->in_len : 65536;
}

static void console_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = opaque;
	struct virtq *vq = &c->vdev.vq[RXQ];
	struct virtq_elem *e = c->rx_elem;
	size_t n;

	if (!c->rx_held)
		return;
	n = iov_from_buf(e->iov + e->out_num, e->in_num, 0, buf, len);
	c->rx_held = false;
	c->rx_bytes += n;
	virtq_push(vq, e, (uint32_t)n);
	virtq_notify(vq);
}

static const struct chardev_receiver console_rx = {
	.can_receive = console_can_receive,
	.receive = console_receive,
};

static void virtio_console_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);

	if (vq->index == TXQ)
		console_tx(c, vq);
	else
		chardev_accept_input(c->cd);	/* new receive buffers: input may flow */
}

static void virtio_console_status_changed(struct virtio_dev *vdev, uint8_t old)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);
	char err[256];

	if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK) || c->started)
		return;
	/* The guest runs, so the loaders are done: the output file may be created now. */
	c->started = true;
	if (chardev_start(c->cd, err, sizeof(err)))
		fprintf(stderr, "tandem: %s: %s (its output is lost)\n", c->name, err);
}

static void virtio_console_reset(struct virtio_dev *vdev)
{
	struct virtio_console *c = container_of(vdev, struct virtio_console, vdev);

	c->rx_held = false;	/* that element belonged to the old ring */
}

static const struct virtio_dev_ops virtio_console_ops = {
	.queue_notify = virtio_console_queue_notify,
	.status_changed = virtio_console_status_changed,
	.reset = virtio_console_reset,
};

struct virtio_console *virtio_console_new(struct vm *vm, const char *name, struct chardev *cd,
					  char *err, size_t errlen)
{
	struct virtio_console *c = calloc(1, sizeof(*c));

	if (c) {
		c->tx_elem = malloc(sizeof(*c->tx_elem));
		c->rx_elem = malloc(sizeof(*c->rx_elem));
	}
	if (!c || !c->tx_elem || !c->rx_elem)
		goto nomem;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->cd = cd;
	if (virtio_dev_init(&c->vdev, vm, c->name, VIRTIO_ID_CONSOLE, &virtio_console_ops, 0,
			    c->config, sizeof(c->config), 2, QUEUE_SIZE))
		goto nomem;
	pthread_mutex_lock(&vm->lock);
	chardev_set_receiver(cd, &console_rx, c);
	pthread_mutex_unlock(&vm->lock);
	return c;
nomem:
	if (c) {
		free(c->tx_elem);
		free(c->rx_elem);
	}
	free(c);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void virtio_console_free(struct virtio_console *c)
{
	if (!c)
		return;
	chardev_close(c->cd);
	virtio_dev_free(&c->vdev);
	free(c->tx_elem);
	free(c->rx_elem);
	free(c);
}

struct virtio_dev *virtio_console_vdev(struct virtio_console *c)
{
	return &c->vdev;
}

unsigned long long virtio_console_tx_bytes(const struct virtio_console *c)
{
	return c->tx_bytes;
}

/* --- -chardev ids ------------------------------------------------------- */

#define MAX_IDS	8
static struct {
	char id[32];
	char spec[256];
} ids[MAX_IDS];
static unsigned nr_ids;

int virtio_console_chardev_register(const char *id, const char *spec)
{
	if (nr_ids == MAX_IDS || strlen(id) >= sizeof(ids[0].id) ||
	    strlen(spec) >= sizeof(ids[0].spec))
		return -ENOSPC;
	snprintf(ids[nr_ids].id, sizeof(ids[0].id), "%s", id);
	snprintf(ids[nr_ids].spec, sizeof(ids[0].spec), "%s", spec);
	nr_ids++;
	return 0;
}

static const char *chardev_spec(const char *id)
{
	for (unsigned i = 0; i < nr_ids; i++)
		if (!strcmp(ids[i].id, id))
			return ids[i].spec;
	return NULL;
}

/* --- the PCI face and -device virtconsole ---------------------------------- */

struct vcon_pci {
	struct virtio_pci vp;
	struct virtio_console *c;
};

static unsigned nr_consoles;
/* The last virtio-serial-pci made: the one a following virtconsole names its back end for. */
static struct virtio_console *last_console;

static void vcon_pci_reset(struct device *dev)
{
	virtio_pci_reset(virtio_pci_of(dev));
}

static void vcon_pci_destroy(struct device *dev)
{
	struct vcon_pci *p = container_of(virtio_pci_of(dev), struct vcon_pci, vp);

	if (last_console == p->c)
		last_console = NULL;
	virtio_console_free(p->c);
	free(p);
}

/*
 * Snapshots: the virtio state and whether the back end was started. The
 * receive element held for input (popped, nothing written yet) is given
 * back to the ring first; output is written in the kick, so none is held.
 */
static int vcon_pci_save(struct device *dev, struct dev_buf *b)
{
	struct vcon_pci *p = container_of(virtio_pci_of(dev), struct vcon_pci, vp);
	struct virtio_console *c = p->c;
	uint8_t started = c->started;

	if (c->rx_held) {
		virtq_unpop(&c->vdev.vq[RXQ], 1);
		c->rx_held = false;
	}
	virtio_pci_save(&p->vp, b);
	DEV_SAVE(b, started);
	return dev_buf_status(b);
}

static int vcon_pci_load(struct device *dev, const uint8_t *data, size_t len, char *why,
			 size_t whylen)
{
	struct vcon_pci *p = container_of(virtio_pci_of(dev), struct vcon_pci, vp);
	struct virtio_console *c = p->c;
	struct dev_reader r = dev_reader(data, len);
	uint8_t started = 0;
	int ret = virtio_pci_load(&p->vp, &r, why, whylen);

	if (ret)
		return ret;
	DEV_LOAD(&r, started);
	if (!dev_reader_ok(&r) || started > 1)
		return dev_load_error(dev, why, whylen, "wrong state size");
	c->rx_held = false;
	if (started && !c->started) {
		char err[256];

		/* The guest's driver was running: its output goes where it went before. */
		c->started = true;
		if (c->cd && chardev_start(c->cd, err, sizeof(err)))
			fprintf(stderr, "tandem: %s: %s (its output is lost)\n", c->name, err);
	}
	return 0;
}

static const struct device_ops vcon_pci_ops = {
	.type = "virtio-serial-pci",
	.reset = vcon_pci_reset,
	.save = vcon_pci_save,
	.load = vcon_pci_load,
	.destroy = vcon_pci_destroy,
};

/* Every key in @opts must be one of @keys; 0 or -EINVAL with a line. */
static int check_keys(const char *dev, const char *opts, const char *const keys[],
		      const char *list, char *why, size_t len)
{
	char **parts = g_strsplit(opts, ",", -1);
	int ret = 0;

	for (char **p = parts; *p && !ret; p++) {
		size_t n = strcspn(*p, "=");
		unsigned i;

		if (!**p)
			continue;
		for (i = 0; keys[i]; i++)
			if (strlen(keys[i]) == n && !strncmp(keys[i], *p, n))
				break;
		if (!keys[i]) {
			snprintf(why, len, "'%.*s' not supported (%s takes: %s)", (int)n, *p, dev,
				 list);
			ret = -EINVAL;
		}
	}
	g_strfreev(parts);
	return ret;
}

int virtio_serial_pci_create(struct vm *vm, const char *opts, char *why, size_t len)
{
	static const char *const keys[] = { "id", "max_ports", NULL };
	struct vcon_pci *p;
	char name[32];
	int ret;

	ret = check_keys("virtio-serial-pci", opts, keys, "id, max_ports=1", why, len);
	if (ret)
		return ret;
	if (strstr(opts, "max_ports=") && !strstr(opts, "max_ports=1")) {
		snprintf(why, len, "max_ports: tandem's virtio-serial has one port, the console "
			 "(no MULTIPORT)");
		return -EINVAL;
	}
	if (!vm_pci_bus(vm)) {
		snprintf(why, len, "the board has no PCI bus");
		return -ENODEV;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "virtio-console%u", nr_consoles++);
	p->c = virtio_console_new(vm, name, NULL, why, len);
	if (!p->c) {
		free(p);
		return -ENOMEM;
	}
	ret = virtio_pci_init(&p->vp, &p->c->vdev, VIRTIO_PCI_CLASS_CONSOLE);
	if (!ret) {
		pthread_mutex_lock(&vm->lock);
		ret = virtio_pci_add(&p->vp, vm_pci_bus(vm), &vcon_pci_ops, p->c->name);
		pthread_mutex_unlock(&vm->lock);
	}
	if (ret) {
		snprintf(why, len, "cannot plug it into the PCI bus: %s", strerror(-ret));
		virtio_console_free(p->c);
		free(p);
		return ret;
	}
	last_console = p->c;
	return 0;
}

int virtconsole_create(struct vm *vm, const char *opts, char *why, size_t len)
{
	static const char *const keys[] = { "chardev", "id", "name", "bus", "nr", NULL };
	char **parts;
	const char *id = NULL, *spec;
	struct chardev *cd;
	int ret;

	ret = check_keys("virtconsole", opts, keys, "chardev, id, name, bus, nr=0", why, len);
	if (ret)
		return ret;
	if (!last_console) {
		snprintf(why, len, "needs a -device virtio-serial-pci before it");
		return -EINVAL;
	}
	if (last_console->cd) {
		snprintf(why, len, "tandem's virtio-serial has one port (no MULTIPORT): one "
			 "virtconsole per virtio-serial-pci");
		return -EINVAL;
	}
	parts = g_strsplit(opts, ",", -1);
	for (char **p = parts; *p; p++) {
		if (!strncmp(*p, "chardev=", 8))
			id = *p + 8;
		else if (!strncmp(*p, "nr=", 3) && strcmp(*p, "nr=0"))
			ret = -EINVAL;
	}
	if (ret) {
		snprintf(why, len, "nr: only port 0, the console (no MULTIPORT)");
		g_strfreev(parts);
		return ret;
	}
	spec = id ? chardev_spec(id) : "none";
	if (!spec) {
		snprintf(why, len, "chardev=%s: no -chardev with id=%s", id, id);
		g_strfreev(parts);
		return -EINVAL;
	}
	g_strfreev(parts);
	cd = chardev_open(vm, spec, why, len);
	if (!cd)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	last_console->cd = cd;
	chardev_set_receiver(cd, &console_rx, last_console);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}
