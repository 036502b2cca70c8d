/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DEVICES_VIRTIO_H
#define TANDEM_DEVICES_VIRTIO_H
/*
 * virtio 1.x, transport-independent: device status, feature negotiation,
 * config generation, and split virtqueues.
 *
 * A device (virtio-blk, -net, ...) embeds struct virtio_dev, fills it with
 * virtio_dev_init() and hands it to a transport (devices/virtio_pci.h),
 * which turns guest register accesses into the virtio_* calls below and
 * delivers interrupts through its struct virtio_transport_ops.
 *
 * Rings live in guest RAM and are the guest's to scribble on: every
 * address, length and index read from them is checked. A ring the device
 * cannot make sense of (a descriptor loop, a buffer outside RAM, an index
 * past the queue) breaks the device: status gets NEEDS_RESET, the driver
 * gets a config-change interrupt, vdev->bad_rings counts it, and every
 * queue of the device stays silent until the driver resets it. Nothing
 * outside guest RAM is ever touched.
 *
 * Locking: everything here runs with vm->lock held. A device may hand
 * the iovecs of a popped element to another thread and fill them without
 * the lock (guest RAM never moves), then push it back with the lock held.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct vm;
struct virtio_dev;
struct virtq;

/* Device status (virtio 1.x 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* Transport-independent feature bits. */
#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32
#define VIRTIO_BIT(b)			(1ull << (b))

/* Virtio device ids (virtio-pci device id is 0x1040 + id). */
#define VIRTIO_ID_NET			1
#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_CONSOLE		3
#define VIRTIO_ID_RNG			4

/* Split-ring layout. */
#define VIRTQ_DESC_F_NEXT		1
#define VIRTQ_DESC_F_WRITE		2
#define VIRTQ_DESC_F_INDIRECT		4
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

#define VIRTQ_MAX_SIZE			1024	/* queue sizes: powers of two up to this */
/* Buffers in one element (direct chain or indirect table), as QEMU's limit. */
#define VIRTQ_MAX_IOV			1024

/* One popped request: driver-readable buffers first, then device-writable. */
struct virtq_elem {
	uint16_t head;			/* descriptor index the used ring names */
	unsigned out_num;		/* iov[0 .. out_num): device reads */
	unsigned in_num;		/* iov[out_num .. out_num + in_num): device writes */
	uint64_t out_len, in_len;	/* bytes in each part */
	uint64_t epoch;			/* vdev->epoch at pop: a reset since drops the push */
	struct iovec iov[VIRTQ_MAX_IOV];
	uint64_t gpa[VIRTQ_MAX_IOV];	/* guest address of each iov */
};

struct virtq {
	struct virtio_dev *vdev;
	unsigned index;
	uint16_t max_size;		/* what the device offers */
	uint16_t size;			/* what the driver chose (power of two) */
	bool enabled;			/* driver wrote queue_enable = 1 */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;		/* transport's, VIRTIO_MSI_NO_VECTOR = 0xffff */

	/* Device side of the ring; valid while enabled. */
	uint8_t *desc, *avail, *used;	/* host views, checked when enabled */
	uint16_t last_avail;		/* next avail slot to pop */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last interrupt (event idx) */
	bool signalled_valid;
	bool notify_off;		/* virtq_set_notification(false) */
	uint64_t popped, pushed, interrupts;
};

struct virtio_dev_ops {
	/* Driver notified queue @vq (the vCPU's thread: do little, wake a worker). */
	void (*queue_notify)(struct virtio_dev *vdev, struct virtq *vq);
	/* Driver wrote @size bytes of @val at @off in the device config (may be NULL). */
	void (*config_write)(struct virtio_dev *vdev, unsigned off, uint64_t val, unsigned size);
	/* Status changed (DRIVER_OK set, ...); after a reset, reset() instead. May be NULL. */
	void (*status_changed)(struct virtio_dev *vdev, uint8_t old);
	/* Back to the power-on state; vdev's own state is reset already. May be NULL. */
	void (*reset)(struct virtio_dev *vdev);
};

struct virtio_transport_ops {
	/* Interrupt for @vq, or for a config change when @vq is NULL. */
	void (*interrupt)(struct virtio_dev *vdev, struct virtq *vq);
};

struct virtio_dev {
	struct vm *vm;
	const char *name;		/* for messages: "virtio-blk0" */
	uint16_t device_id;		/* VIRTIO_ID_* */
	const struct virtio_dev_ops *ops;
	const struct virtio_transport_ops *tops;
	void *transport;

	uint64_t host_features;		/* offered; VERSION_1 always */
	uint64_t guest_features;	/* what the driver wrote */
	uint8_t status;
	uint8_t config_generation;
	uint8_t *config;		/* device config, little-endian, device-owned */
	unsigned config_len;

	struct virtq *vq;
	unsigned nr_vq;

	uint64_t epoch;			/* bumped at every reset */
	uint64_t bad_rings;		/* rings found broken (NEEDS_RESET set) */
	uint64_t bad_accesses;		/* register accesses dropped (transport counts) */
	bool broken;			/* NEEDS_RESET until the driver resets */
};

/*
 * Set up @vdev with @nr_vq queues of up to @max_size entries (power of two,
 * at most VIRTQ_MAX_SIZE) each. @features are the device's own bits;
 * VERSION_1, INDIRECT_DESC and EVENT_IDX are added. @config (@config_len
 * bytes) stays the device's. 0 or -EINVAL / -ENOMEM.
 */
int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, const char *name,
		    uint16_t device_id, const struct virtio_dev_ops *ops, uint64_t features,
		    uint8_t *config, unsigned config_len, unsigned nr_vq, uint16_t max_size);
void virtio_dev_free(struct virtio_dev *vdev);

/* Power-on state: status 0, features and queues cleared; calls ops->reset. */
void virtio_reset(struct virtio_dev *vdev);
/*
 * The driver writes the status byte. 0 resets. FEATURES_OK sticks only if
 * the driver's features are a subset of the offer and include VERSION_1.
 */
void virtio_set_status(struct virtio_dev *vdev, uint8_t status);
/* Driver feature word @sel (0: bits 0-31, 1: 32-63); ignored after FEATURES_OK. */
void virtio_set_guest_features(struct virtio_dev *vdev, unsigned sel, uint32_t val);
uint32_t virtio_host_features(const struct virtio_dev *vdev, unsigned sel);
static inline bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
	return vdev->guest_features & VIRTIO_BIT(bit);
}
/* Device config read by the driver (little-endian, out of range reads 0). */
uint64_t virtio_config_read(struct virtio_dev *vdev, unsigned off, unsigned size);
void virtio_config_write(struct virtio_dev *vdev, unsigned off, uint64_t val, unsigned size);
/* The device changed its config: new generation, config interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);
/*
 * Mark the device broken (NEEDS_RESET) because of @why; counted, said on
 * stderr once per reset, config interrupt. Queues stop until reset.
 */
void virtio_dev_broken(struct virtio_dev *vdev, const char *why);

/* Queue setup by the transport (before enable; ignored once enabled). */
void virtq_set_size(struct virtq *vq, uint16_t size);
/* Enable @vq: its rings are checked now (RAM, alignment); bad ones break the device. */
void virtq_enable(struct virtq *vq);
/* Driver kicked @vq: calls ops->queue_notify if the queue can run. */
void virtio_queue_notify(struct virtio_dev *vdev, unsigned index);

/* The queue is enabled, the driver is ready, the device not broken. */
bool virtq_ready(const struct virtq *vq);
/*
 * Take the next available request: 1 with @elem filled, 0 when the ring
 * is empty, -EIO when the ring is bad (the device is broken now) or the
 * queue is not ready.
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);
/*
 * Give @elem back with @len bytes written into its device-writable part
 * (clamped to it). No interrupt yet: see virtq_notify(). An element from
 * before a reset is dropped.
 */
void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);
/* Interrupt the driver for @vq if it wants one (event index / NO_INTERRUPT). */
void virtq_notify(struct virtq *vq);
/* Ask the driver to (not) kick us for new buffers (a polling device turns them off). */
void virtq_set_notification(struct virtq *vq, bool enable);

/*
 * Snapshots (machine/device.h's save/load, through the transport).
 * virtio_dev_save() appends the transport-independent state: features,
 * status, config generation, NEEDS_RESET, and every queue's size, enable,
 * ring addresses, MSI-X vector, ring indices and event-index state.
 * Elements the device holds popped and not pushed are not in it: the
 * device drains them first, or gives them back with virtq_unpop().
 * virtio_dev_load() checks what a file could get wrong (another number of
 * queues, features never offered, a size that is no power of two, rings
 * outside RAM or misaligned) and refuses with one line in @why; it bumps
 * the epoch, so nothing popped before the load is ever pushed. It calls
 * no device callback: the device looks at its queues itself afterwards.
 */
struct dev_buf;
struct dev_reader;
int virtio_dev_save(const struct virtio_dev *vdev, struct dev_buf *b);
int virtio_dev_load(struct virtio_dev *vdev, struct dev_reader *r, char *why, size_t whylen);
/*
 * Give back the @n elements popped last from @vq and not pushed: the next
 * pops return them again (the driver still owns the avail entries until
 * they are used). Only for elements popped in a row, the newest last.
 */
void virtq_unpop(struct virtq *vq, unsigned n);

/* Copy helpers over an element's iovecs; return the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf,
		    size_t len);

#endif
