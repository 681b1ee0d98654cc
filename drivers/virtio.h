/*
 * drivers/virtio.h — virtio 1.x devices over PCI (modern) or the legacy
 * transitional interface, and split virtqueues.
 *
 * A transport fills struct virtio_ops; device drivers (virtio-net) use only
 * the ops and the virtqueue functions. Transports: PCI (modern and legacy)
 * and virtio-mmio (version 2 and legacy version 1), for microVMs. Spec:
 * Virtual I/O Device (VIRTIO) Version 1.1, sections 2.1 (status), 2.2
 * (features), 2.6 (split virtqueues), 4.1 (PCI transport), 4.1.5 (legacy
 * interface), 4.2 (MMIO transport).
 */
#ifndef ZEBU_DRIVERS_VIRTIO_H
#define ZEBU_DRIVERS_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/pci.h"

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED      128

#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1      32

#define VRING_DESC_F_NEXT  1
#define VRING_DESC_F_WRITE 2

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtio_device;

struct virtq {
    struct virtio_device *dev;
    uint16_t index, size;
    struct vring_desc *desc;
    volatile uint16_t *avail;  /* flags, idx, ring[size], used_event */
    volatile uint16_t *used;   /* flags, idx, then elems; avail_event after */
    volatile struct vring_used_elem *used_ring;
    uint16_t free_head, num_free, last_used, avail_idx, last_kick_idx;
    void **cookies;            /* per descriptor head: what the driver queued */
    volatile uint16_t *notify; /* modern: this queue's notify register */
    int event_idx;
    uint64_t kicks, kicks_saved;
    uint16_t stall_used;       /* used idx at the last virtq_notify_if_stalled */
    uint64_t stall_kicks;      /* notifications it forced */
};

struct virtio_ops {
    uint64_t (*get_features)(struct virtio_device *d);
    void (*set_features)(struct virtio_device *d, uint64_t f);
    uint8_t (*get_status)(struct virtio_device *d);
    void (*set_status)(struct virtio_device *d, uint8_t s);
    uint16_t (*queue_max)(struct virtio_device *d, uint16_t index);
    int (*queue_enable)(struct virtio_device *d, struct virtq *q, uint16_t msix_entry);
    void (*notify)(struct virtio_device *d, struct virtq *q);
    void (*read_config)(struct virtio_device *d, uint32_t off, void *buf, uint32_t len);
    uint8_t (*read_isr)(struct virtio_device *d);
};

struct virtio_device {
    const struct virtio_ops *ops;
    struct pci_device *pci;
    const char *transport; /* "pci-modern", "pci-legacy" */
    uint64_t features;     /* negotiated */
    int msix;              /* MSI-X vectors in use */
    /* PCI modern */
    volatile uint8_t *common, *isr, *devcfg, *notify_base;
    uint32_t notify_mul;
    /* PCI legacy */
    uint16_t io;
    /* virtio-mmio */
    volatile uint8_t *mmio;
    uint32_t mmio_version, mmio_irq;
};

/* Sets up d for PCI function p: modern when it has the capabilities, else
 * legacy. Returns 0 or -ENODEV. */
int virtio_pci_attach(struct virtio_device *d, struct pci_device *p);

/* Sets up d for the virtio-mmio device at `base` whose interrupt is GSI
 * `irq`, if it is a device of type `device_id` (1: network). Returns 0 or
 * -ENODEV. */
int virtio_mmio_attach(struct virtio_device *d, uint64_t base, uint32_t irq, uint32_t device_id);

/* Like virtio_mmio_attach, without mapping the registers: for a caller that
 * runs before the page-table allocator exists, on a base the boot stub's
 * identity map of the first 4 GiB already covers. */
int virtio_mmio_attach_mapped(struct virtio_device *d, uint64_t base, uint32_t irq,
                              uint32_t device_id);

/* A virtio 1.x device (features past bit 31, FEATURES_OK)? */
int virtio_is_modern(const struct virtio_device *d);

/*
 * Reset, ACKNOWLEDGE, DRIVER, feature negotiation (device's & wanted),
 * FEATURES_OK. Returns the negotiated set in d->features, or -EIO when the
 * device refuses (FEATURES_OK does not stick).
 */
int virtio_negotiate(struct virtio_device *d, uint64_t wanted);
void virtio_driver_ok(struct virtio_device *d);

/* Allocates and enables queue `index` (at most max_size entries). */
int virtq_init(struct virtq *q, struct virtio_device *d, uint16_t index, uint16_t max_size,
               uint16_t msix_entry);

/* Like virtq_init, in caller-provided memory: `ring` (page-aligned, zeroed,
 * at least virtq_ring_bytes(max_size) bytes) and `cookies` (max_size). */
size_t virtq_ring_bytes(uint16_t size);
int virtq_init_mem(struct virtq *q, struct virtio_device *d, uint16_t index, uint16_t max_size,
                   void *ring, void **cookies);

/*
 * Queues a chain of n buffers (addr, len; the first `out` device-readable,
 * the rest device-writable) with `cookie`. Returns the head index or
 * -ENOSPC. virtq_kick notifies the device unless event-idx says it need not.
 */
int virtq_add(struct virtq *q, const uint64_t *addr, const uint32_t *len, int n, int out,
              void *cookie);
void virtq_kick(struct virtq *q);
/*
 * A watchdog for lost notifications: when the device holds buffers of ours
 * and has used none of them since the last call, notify it whatever
 * event-idx says. Under QEMU 7.2 (TCG, user networking, a saturated
 * transmit ring) a device was seen to sit on 69 transmit buffers with its
 * avail_event already passed: without a further notification nothing would
 * ever move again. Call it periodically (the network thread does, at least
 * every 10 ms while transmits are in flight); it costs one doorbell write
 * per call only while the queue is stalled.
 */
void virtq_notify_if_stalled(struct virtq *q);

/* Next used chain: its cookie and written length; NULL when none. */
void *virtq_get_used(struct virtq *q, uint32_t *len);

/* Asks for an interrupt when the used index passes the last seen one
 * (event-idx) or turns them on (flags); returns 1 if work arrived meanwhile. */
int virtq_enable_interrupts(struct virtq *q);
void virtq_disable_interrupts(struct virtq *q);

#endif
