/*
 * drivers/virtio.c — virtio PCI transports (modern and legacy) and split
 * virtqueues (VIRTIO 1.1: 2.6 split virtqueues, 2.6.7-2.6.8 event index
 * suppression, 4.1.4 PCI capabilities, 4.1.5.1.3 queue set-up, 4.1.4.4
 * notification address = notify base + queue_notify_off * multiplier).
 *
 * One allocation per queue in the legacy layout (descriptors, available
 * ring, then the used ring at the next 4 KiB boundary), which modern
 * devices accept as well, so both transports share it.
 * Ordering: the device reads what we write in memory it shares with us; the
 * avail index is published with a release fence after the ring entry, and a
 * full fence separates that store from reading the device's event index.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/env.h"
#include "drivers/virtio.h"

/* The legacy interfaces' page: queue PFNs count it, the used ring is aligned
 * to it (4.1.5.1.2, 4.2.4: GuestPageSize and QueueAlign are what we say,
 * and we say this). Also the size of a virtio-mmio register window. */
#define VIRTIO_PAGE 4096u

/* ---- modern PCI transport (4.1.4) ---- */

#define CAP_VENDOR          0x09
#define CFG_COMMON          1
#define CFG_NOTIFY          2
#define CFG_ISR             3
#define CFG_DEVICE          4

#define COMMON_DFSELECT     0x00
#define COMMON_DF           0x04
#define COMMON_GFSELECT     0x08
#define COMMON_GF           0x0C
#define COMMON_MSIX_CONFIG  0x10
#define COMMON_STATUS       0x14
#define COMMON_Q_SELECT     0x16
#define COMMON_Q_SIZE       0x18
#define COMMON_Q_MSIX       0x1A
#define COMMON_Q_ENABLE     0x1C
#define COMMON_Q_NOTIFY_OFF 0x1E
#define COMMON_Q_DESC       0x20
#define COMMON_Q_DRIVER     0x28
#define COMMON_Q_DEVICE     0x30
#define NO_VECTOR           0xFFFF

#define R8(p, o)  (*(volatile uint8_t *)((p) + (o)))
#define R16(p, o) (*(volatile uint16_t *)((p) + (o)))
#define R32(p, o) (*(volatile uint32_t *)((p) + (o)))

static void write64(volatile uint8_t *p, uint32_t off, uint64_t v)
{
    R32(p, off) = (uint32_t)v;
    R32(p, off + 4) = (uint32_t)(v >> 32);
}

/* Both modern transports show 64 feature bits through a select register
 * and a 32-bit window. */
static uint64_t features_read(volatile uint8_t *regs, uint32_t sel, uint32_t window)
{
    R32(regs, sel) = 0;
    uint64_t lo = R32(regs, window);
    R32(regs, sel) = 1;
    return lo | ((uint64_t)R32(regs, window) << 32);
}

static void features_write(volatile uint8_t *regs, uint32_t sel, uint32_t window, uint64_t f)
{
    R32(regs, sel) = 0;
    R32(regs, window) = (uint32_t)f;
    R32(regs, sel) = 1;
    R32(regs, window) = (uint32_t)(f >> 32);
}

static uint64_t modern_get_features(struct virtio_device *d)
{
    return features_read(d->common, COMMON_DFSELECT, COMMON_DF);
}

static void modern_set_features(struct virtio_device *d, uint64_t f)
{
    features_write(d->common, COMMON_GFSELECT, COMMON_GF, f);
}

static uint8_t modern_get_status(struct virtio_device *d)
{
    return R8(d->common, COMMON_STATUS);
}

static void modern_set_status(struct virtio_device *d, uint8_t s)
{
    R8(d->common, COMMON_STATUS) = s;
}

static uint16_t modern_queue_max(struct virtio_device *d, uint16_t index)
{
    R16(d->common, COMMON_Q_SELECT) = index;
    return R16(d->common, COMMON_Q_SIZE);
}

static int modern_queue_enable(struct virtio_device *d, struct virtq *q, uint16_t msix_entry)
{
    R16(d->common, COMMON_Q_SELECT) = q->index;
    R16(d->common, COMMON_Q_SIZE) = q->size;
    write64(d->common, COMMON_Q_DESC, env_dma_addr(q->desc));
    write64(d->common, COMMON_Q_DRIVER, env_dma_addr(q->avail));
    write64(d->common, COMMON_Q_DEVICE, env_dma_addr(q->used));
    if (d->msix) {
        R16(d->common, COMMON_Q_MSIX) = msix_entry;
        if (R16(d->common, COMMON_Q_MSIX) != msix_entry)
            return -EIO;
    }
    uint16_t off = R16(d->common, COMMON_Q_NOTIFY_OFF);
    q->notify = (volatile uint16_t *)(d->notify_base + (uint32_t)off * d->notify_mul);
    R16(d->common, COMMON_Q_ENABLE) = 1;
    return 0;
}

static void modern_notify(struct virtio_device *d, struct virtq *q)
{
    (void)d;
    *q->notify = q->index;
}

static void modern_read_config(struct virtio_device *d, uint32_t off, void *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = R8(d->devcfg, off + i);
}

static uint8_t modern_read_isr(struct virtio_device *d)
{
    return R8(d->isr, 0);
}

static const struct virtio_ops modern_ops = {
    .get_features = modern_get_features,
    .set_features = modern_set_features,
    .get_status = modern_get_status,
    .set_status = modern_set_status,
    .queue_max = modern_queue_max,
    .queue_enable = modern_queue_enable,
    .notify = modern_notify,
    .read_config = modern_read_config,
    .read_isr = modern_read_isr,
};

/* ---- legacy PCI transport (4.1.5.1): I/O BAR 0 ---- */

#define LEG_HOST_FEATURES  0x00
#define LEG_GUEST_FEATURES 0x04
#define LEG_QUEUE_PFN      0x08
#define LEG_QUEUE_SIZE     0x0C
#define LEG_QUEUE_SELECT   0x0E
#define LEG_QUEUE_NOTIFY   0x10
#define LEG_STATUS         0x12
#define LEG_ISR            0x13
#define LEG_CONFIG_VECTOR  0x14
#define LEG_QUEUE_VECTOR   0x16

static uint64_t legacy_get_features(struct virtio_device *d)
{
    return cpu_inl(d->io + LEG_HOST_FEATURES);
}

static void legacy_set_features(struct virtio_device *d, uint64_t f)
{
    cpu_outl(d->io + LEG_GUEST_FEATURES, (uint32_t)f);
}

static uint8_t legacy_get_status(struct virtio_device *d)
{
    return cpu_inb(d->io + LEG_STATUS);
}

static void legacy_set_status(struct virtio_device *d, uint8_t s)
{
    cpu_outb(d->io + LEG_STATUS, s);
}

static uint16_t legacy_queue_max(struct virtio_device *d, uint16_t index)
{
    cpu_outw(d->io + LEG_QUEUE_SELECT, index);
    return cpu_inw(d->io + LEG_QUEUE_SIZE);
}

static int legacy_queue_enable(struct virtio_device *d, struct virtq *q, uint16_t msix_entry)
{
    cpu_outw(d->io + LEG_QUEUE_SELECT, q->index);
    if (d->msix) {
        cpu_outw(d->io + LEG_QUEUE_VECTOR, msix_entry);
        if (cpu_inw(d->io + LEG_QUEUE_VECTOR) != msix_entry)
            return -EIO;
    }
    cpu_outl(d->io + LEG_QUEUE_PFN, (uint32_t)(env_dma_addr(q->desc) >> 12));
    return 0;
}

static void legacy_notify(struct virtio_device *d, struct virtq *q)
{
    cpu_outw(d->io + LEG_QUEUE_NOTIFY, q->index);
}

static void legacy_read_config(struct virtio_device *d, uint32_t off, void *buf, uint32_t len)
{
    uint16_t base = (uint16_t)(d->io + (d->msix ? 0x18 : 0x14) + off);
    for (uint32_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = cpu_inb((uint16_t)(base + i));
}

static uint8_t legacy_read_isr(struct virtio_device *d)
{
    return cpu_inb(d->io + LEG_ISR);
}

static const struct virtio_ops legacy_ops = {
    .get_features = legacy_get_features,
    .set_features = legacy_set_features,
    .get_status = legacy_get_status,
    .set_status = legacy_set_status,
    .queue_max = legacy_queue_max,
    .queue_enable = legacy_queue_enable,
    .notify = legacy_notify,
    .read_config = legacy_read_config,
    .read_isr = legacy_read_isr,
};

/* ---- virtio-mmio transport (4.2), version 2 and legacy version 1 ---- */

#define MMIO_MAGIC          0x000
#define MMIO_VERSION        0x004
#define MMIO_DEVICE_ID      0x008
#define MMIO_DEV_FEATURES   0x010
#define MMIO_DEV_FEAT_SEL   0x014
#define MMIO_DRV_FEATURES   0x020
#define MMIO_DRV_FEAT_SEL   0x024
#define MMIO_GUEST_PAGE     0x028
#define MMIO_QUEUE_SEL      0x030
#define MMIO_QUEUE_NUM_MAX  0x034
#define MMIO_QUEUE_NUM      0x038
#define MMIO_QUEUE_ALIGN    0x03C
#define MMIO_QUEUE_PFN      0x040
#define MMIO_QUEUE_READY    0x044
#define MMIO_QUEUE_NOTIFY   0x050
#define MMIO_INT_STATUS     0x060
#define MMIO_INT_ACK        0x064
#define MMIO_STATUS         0x070
#define MMIO_QUEUE_DESC     0x080
#define MMIO_QUEUE_DRIVER   0x090
#define MMIO_QUEUE_DEVICE   0x0A0
#define MMIO_CONFIG         0x100

static uint64_t mmio_get_features(struct virtio_device *d)
{
    return features_read(d->mmio, MMIO_DEV_FEAT_SEL, MMIO_DEV_FEATURES);
}

static void mmio_set_features(struct virtio_device *d, uint64_t f)
{
    features_write(d->mmio, MMIO_DRV_FEAT_SEL, MMIO_DRV_FEATURES, f);
}

static uint8_t mmio_get_status(struct virtio_device *d)
{
    return (uint8_t)R32(d->mmio, MMIO_STATUS);
}

static void mmio_set_status(struct virtio_device *d, uint8_t s)
{
    R32(d->mmio, MMIO_STATUS) = s;
}

static uint16_t mmio_queue_max(struct virtio_device *d, uint16_t index)
{
    R32(d->mmio, MMIO_QUEUE_SEL) = index;
    return (uint16_t)R32(d->mmio, MMIO_QUEUE_NUM_MAX);
}

static int mmio_queue_enable(struct virtio_device *d, struct virtq *q, uint16_t msix_entry)
{
    (void)msix_entry;
    R32(d->mmio, MMIO_QUEUE_SEL) = q->index;
    R32(d->mmio, MMIO_QUEUE_NUM) = q->size;
    if (d->mmio_version == 1) {
        R32(d->mmio, MMIO_QUEUE_ALIGN) = VIRTIO_PAGE;
        R32(d->mmio, MMIO_QUEUE_PFN) = (uint32_t)(env_dma_addr(q->desc) >> 12);
        return 0;
    }
    write64(d->mmio, MMIO_QUEUE_DESC, env_dma_addr(q->desc));
    write64(d->mmio, MMIO_QUEUE_DRIVER, env_dma_addr(q->avail));
    write64(d->mmio, MMIO_QUEUE_DEVICE, env_dma_addr(q->used));
    R32(d->mmio, MMIO_QUEUE_READY) = 1;
    return 0;
}

static void mmio_notify(struct virtio_device *d, struct virtq *q)
{
    R32(d->mmio, MMIO_QUEUE_NOTIFY) = q->index;
}

static void mmio_read_config(struct virtio_device *d, uint32_t off, void *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = R8(d->mmio, MMIO_CONFIG + off + i);
}

/* Reading the status and writing it back acknowledges the interrupt. */
static uint8_t mmio_read_isr(struct virtio_device *d)
{
    uint32_t st = R32(d->mmio, MMIO_INT_STATUS);
    R32(d->mmio, MMIO_INT_ACK) = st;
    return (uint8_t)st;
}

static const struct virtio_ops mmio_ops = {
    .get_features = mmio_get_features,
    .set_features = mmio_set_features,
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .queue_max = mmio_queue_max,
    .queue_enable = mmio_queue_enable,
    .notify = mmio_notify,
    .read_config = mmio_read_config,
    .read_isr = mmio_read_isr,
};

int virtio_mmio_attach(struct virtio_device *d, uint64_t base, uint32_t irq, uint32_t device_id)
{
    if (env_mmio_map(base, VIRTIO_PAGE) != 0)
        return -ENOMEM;
    return virtio_mmio_attach_mapped(d, base, irq, device_id);
}

int virtio_mmio_attach_mapped(struct virtio_device *d, uint64_t base, uint32_t irq,
                              uint32_t device_id)
{
    memset(d, 0, sizeof(*d));
    d->mmio = (volatile uint8_t *)(uintptr_t)base;
    if (R32(d->mmio, MMIO_MAGIC) != 0x74726976) /* "virt" */
        return -ENODEV;
    d->mmio_version = R32(d->mmio, MMIO_VERSION);
    if (d->mmio_version != 1 && d->mmio_version != 2)
        return -ENODEV;
    if (R32(d->mmio, MMIO_DEVICE_ID) != device_id)
        return -ENODEV;
    if (d->mmio_version == 1)
        R32(d->mmio, MMIO_GUEST_PAGE) = VIRTIO_PAGE;
    d->mmio_irq = irq;
    d->ops = &mmio_ops;
    d->transport = d->mmio_version == 2 ? "mmio" : "mmio-legacy";
    return 0;
}

/* ---- attach ---- */

static volatile uint8_t *cap_region(struct pci_device *p, uint8_t cap)
{
    uint8_t bar = pci_read8(p, cap + 4);
    uint32_t off = pci_read32(p, cap + 8);
    if (bar > 5 || p->bars[bar].size == 0 || p->bars[bar].is_io)
        return NULL;
    return (volatile uint8_t *)(uintptr_t)(p->bars[bar].addr + off);
}

int virtio_pci_attach(struct virtio_device *d, struct pci_device *p)
{
    memset(d, 0, sizeof(*d));
    d->pci = p;
    pci_enable(p);
    for (uint8_t cap = pci_find_cap(p, CAP_VENDOR, 0); cap != 0;
         cap = pci_find_cap(p, CAP_VENDOR, cap)) {
        switch (pci_read8(p, cap + 3)) {
        case CFG_COMMON:
            if (d->common == NULL)
                d->common = cap_region(p, cap);
            break;
        case CFG_NOTIFY:
            if (d->notify_base == NULL) {
                d->notify_base = cap_region(p, cap);
                d->notify_mul = pci_read32(p, cap + 16);
            }
            break;
        case CFG_ISR:
            if (d->isr == NULL)
                d->isr = cap_region(p, cap);
            break;
        case CFG_DEVICE:
            if (d->devcfg == NULL)
                d->devcfg = cap_region(p, cap);
            break;
        }
    }
    if (d->common != NULL && d->notify_base != NULL && d->isr != NULL && d->devcfg != NULL) {
        d->ops = &modern_ops;
        d->transport = "pci-modern";
        return 0;
    }
    if (p->bars[0].is_io && p->bars[0].size != 0 && p->device < 0x1040) {
        d->io = (uint16_t)p->bars[0].addr;
        d->ops = &legacy_ops;
        d->transport = "pci-legacy";
        return 0;
    }
    return -ENODEV;
}

int virtio_is_modern(const struct virtio_device *d)
{
    return d->ops == &modern_ops || (d->ops == &mmio_ops && d->mmio_version == 2);
}

int virtio_negotiate(struct virtio_device *d, uint64_t wanted)
{
    d->ops->set_status(d, 0); /* reset */
    d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = d->ops->get_features(d);
    if (d->ops == &legacy_ops || (d->ops == &mmio_ops && d->mmio_version == 1))
        wanted &= 0xFFFFFFFFull; /* legacy has 32 feature bits, no VERSION_1 */
    d->features = offered & wanted;
    d->ops->set_features(d, d->features);
    if (virtio_is_modern(d)) {
        d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                  VIRTIO_STATUS_FEATURES_OK);
        if (!(d->ops->get_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
            d->ops->set_status(d, VIRTIO_STATUS_FAILED);
            return -EIO;
        }
    }
    return 0;
}

void virtio_driver_ok(struct virtio_device *d)
{
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK;
    if (virtio_is_modern(d))
        s |= VIRTIO_STATUS_FEATURES_OK;
    d->ops->set_status(d, s);
}

/* ---- split virtqueue ---- */

#define AVAIL_FLAGS 0
#define AVAIL_IDX   1
#define AVAIL_RING  2
#define USED_FLAGS  0
#define USED_IDX    1
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

static size_t used_offset(uint16_t size)
{
    return (16u * size + 6 + 2u * size + VIRTIO_PAGE - 1) & ~(VIRTIO_PAGE - 1);
}

size_t virtq_ring_bytes(uint16_t size)
{
    return used_offset(size) + ((6 + 8u * size + VIRTIO_PAGE - 1) & ~(VIRTIO_PAGE - 1));
}

/* The size queue `index` gets: the device's maximum, or less where the
 * transport lets the driver choose (legacy PCI queues have a fixed size). */
static uint16_t queue_size(struct virtio_device *d, uint16_t index, uint16_t max_size)
{
    uint16_t size = d->ops->queue_max(d, index);
    if (d->ops != &legacy_ops && size > max_size)
        size = max_size;
    return size;
}

/* Lays the rings out in mem (zeroed, virtq_ring_bytes(size)) and enables
 * the queue. */
static int virtq_setup(struct virtq *q, struct virtio_device *d, uint16_t index, uint16_t size,
                       uint8_t *mem, void **cookies, uint16_t msix_entry)
{
    size_t used_off = used_offset(size);
    q->cookies = cookies;
    q->dev = d;
    q->index = index;
    q->size = size;
    q->desc = (struct vring_desc *)mem;
    q->avail = (volatile uint16_t *)(mem + 16u * size);
    q->used = (volatile uint16_t *)(mem + used_off);
    q->used_ring = (volatile struct vring_used_elem *)(mem + used_off + 4);
    for (uint16_t i = 0; i < size; i++)
        q->desc[i].next = (uint16_t)(i + 1);
    q->num_free = size;
    q->event_idx = (d->features >> VIRTIO_F_RING_EVENT_IDX) & 1;
    return d->ops->queue_enable(d, q, msix_entry);
}

int virtq_init(struct virtq *q, struct virtio_device *d, uint16_t index, uint16_t max_size,
               uint16_t msix_entry)
{
    memset(q, 0, sizeof(*q));
    uint16_t size = queue_size(d, index, max_size);
    if (size == 0)
        return -ENODEV;
    size_t total = virtq_ring_bytes(size);
    uint8_t *mem = env_dma_alloc(total);
    void **cookies = calloc(size, sizeof(void *));
    if (mem == NULL || cookies == NULL) {
        env_dma_free(mem, total);
        free(cookies);
        return -ENOMEM;
    }
    memset(mem, 0, total);
    return virtq_setup(q, d, index, size, mem, cookies, msix_entry);
}

int virtq_init_mem(struct virtq *q, struct virtio_device *d, uint16_t index, uint16_t max_size,
                   void *ring, void **cookies)
{
    memset(q, 0, sizeof(*q));
    uint16_t size = queue_size(d, index, max_size);
    if (size == 0 || size > max_size) /* a fixed legacy size too big for the memory */
        return -ENODEV;
    return virtq_setup(q, d, index, size, ring, cookies, 0);
}

int virtq_add(struct virtq *q, const uint64_t *addr, const uint32_t *len, int n, int out,
              void *cookie)
{
    if (n <= 0 || q->num_free < n)
        return -ENOSPC;
    uint16_t head = q->free_head, i = head, last = head;
    for (int k = 0; k < n; k++) {
        struct vring_desc *dd = &q->desc[i];
        dd->addr = addr[k];
        dd->len = len[k];
        dd->flags = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
                               (k >= out ? VRING_DESC_F_WRITE : 0));
        last = i;
        i = dd->next;
    }
    q->free_head = q->desc[last].next;
    q->num_free = (uint16_t)(q->num_free - n);
    q->cookies[head] = cookie;
    q->avail[AVAIL_RING + (q->avail_idx % q->size)] = head;
    q->avail_idx++;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail[AVAIL_IDX] = q->avail_idx;
    return head;
}

void virtq_kick(struct virtq *q)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = q->last_kick_idx, now = q->avail_idx;
    q->last_kick_idx = now;
    int need;
    if (q->event_idx) {
        uint16_t event = q->used[2 + 4u * q->size]; /* avail_event */
        need = (uint16_t)(now - event - 1) < (uint16_t)(now - old);
    } else {
        need = !(q->used[USED_FLAGS] & VRING_USED_F_NO_NOTIFY);
    }
    if (need) {
        q->kicks++;
        q->dev->ops->notify(q->dev, q);
    } else {
        q->kicks_saved++;
    }
}

void virtq_notify_if_stalled(struct virtq *q)
{
    uint16_t used = __atomic_load_n(&q->used[USED_IDX], __ATOMIC_ACQUIRE);
    if (used != q->avail_idx && used == q->stall_used) {
        q->stall_kicks++;
        q->dev->ops->notify(q->dev, q);
    }
    q->stall_used = used;
}

void *virtq_get_used(struct virtq *q, uint32_t *len)
{
    uint16_t used_idx = __atomic_load_n(&q->used[USED_IDX], __ATOMIC_ACQUIRE);
    if (q->last_used == used_idx)
        return NULL;
    volatile struct vring_used_elem *e = &q->used_ring[q->last_used % q->size];
    uint16_t head = (uint16_t)e->id;
    if (len != NULL)
        *len = e->len;
    q->last_used++;
    void *cookie = q->cookies[head];
    uint16_t i = head, count = 1;
    while (q->desc[i].flags & VRING_DESC_F_NEXT) {
        i = q->desc[i].next;
        count++;
    }
    q->desc[i].next = q->free_head;
    q->free_head = head;
    q->num_free = (uint16_t)(q->num_free + count);
    return cookie;
}

int virtq_enable_interrupts(struct virtq *q)
{
    if (q->event_idx)
        q->avail[AVAIL_RING + q->size] = q->last_used; /* used_event */
    else
        q->avail[AVAIL_FLAGS] = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return q->last_used != __atomic_load_n(&q->used[USED_IDX], __ATOMIC_ACQUIRE);
}

void virtq_disable_interrupts(struct virtq *q)
{
    if (!q->event_idx)
        q->avail[AVAIL_FLAGS] = VRING_AVAIL_F_NO_INTERRUPT;
}
