/*
 * drivers/virtio_console.c — virtio console output (VIRTIO 1.1, 5.3).
 *
 * Without VIRTIO_CONSOLE_F_MULTIPORT the device has one port: receiveq0 is
 * queue 0, transmitq0 queue 1 (5.3.2). Only VERSION_1 is asked for: the
 * console's own features (SIZE, MULTIPORT, EMERG_WRITE) buy nothing for
 * output and cost register accesses.
 *
 * Everything is static (rings, buffers): the console comes up before the
 * physical-page allocator, so that a boot's first line already goes through
 * it. Each transmit descriptor owns one buffer slot, the one with its own
 * index, so a write needs no allocator: it fills the slots of the free
 * descriptors it is about to use, queues them as one chain and notifies the
 * device once. Used buffers are reaped from the used ring in memory; the
 * device's registers are never polled. The device's interrupt is not used
 * (the available ring asks for none, 2.6.7).
 */
#include <errno.h>
#include <string.h>

#include "drivers/env.h"
#include "drivers/virtio.h"
#include "drivers/virtio_console.h"

#define VCON_PAGE        4096
#define VCON_QUEUE_SIZE  16
#define VCON_TRANSMITQ0  1
/* The buffer slots live in the ring's first page, after the descriptor
 * table (16 bytes each) and the available ring (6 + 2 per entry), which the
 * legacy layout pads to a page: 8 KiB of memory in all, which matters to a
 * guest of 2 MiB. */
#define VCON_SLOTS_OFFSET 512
#define VCON_SLOT_SIZE    ((VCON_PAGE - VCON_SLOTS_OFFSET) / VCON_QUEUE_SIZE)
_Static_assert(16 * VCON_QUEUE_SIZE + 6 + 2 * VCON_QUEUE_SIZE <= VCON_SLOTS_OFFSET,
               "console slots overlap the available ring");
/* How long a full ring may stay full: 2^32 TSC cycles, one to four
 * seconds on anything that runs this (no calibrated clock is needed). */
#define VCON_WAIT_CYCLES (1ull << 32)

static struct {
    struct virtio_device dev;
    struct virtq tx;
    uint64_t mmio_base; /* 0 for PCI */
    int attached, broken;
} vcon;

/* virtq_ring_bytes(16): descriptors and available ring, used ring. */
static uint8_t vcon_ring[2 * VCON_PAGE] __attribute__((aligned(VCON_PAGE)));
static void *vcon_cookies[VCON_QUEUE_SIZE];

static char *slot_of(uint16_t desc)
{
    return (char *)vcon_ring + VCON_SLOTS_OFFSET + (size_t)desc * VCON_SLOT_SIZE;
}

static void reap(void)
{
    while (virtq_get_used(&vcon.tx, NULL) != NULL)
        ;
}

/* Waits until n descriptors are free. -EIO (and the device is given up)
 * when the device uses nothing for VCON_WAIT_CYCLES. */
static int wait_free(uint16_t n)
{
    reap();
    uint64_t start = cpu_rdtsc();
    uint16_t last_free = vcon.tx.num_free;
    while (vcon.tx.num_free < n) {
        cpu_relax();
        reap();
        if (vcon.tx.num_free != last_free) {
            last_free = vcon.tx.num_free;
            start = cpu_rdtsc();
        } else if (cpu_rdtsc() - start > VCON_WAIT_CYCLES) {
            vcon.broken = 1;
            return -EIO;
        }
    }
    return 0;
}

static int start_device(void)
{
    int err = virtio_negotiate(&vcon.dev, 1ull << VIRTIO_F_VERSION_1);
    if (err != 0)
        return err;
    if (virtq_ring_bytes(VCON_QUEUE_SIZE) > sizeof(vcon_ring) ||
        virtq_init_mem(&vcon.tx, &vcon.dev, VCON_TRANSMITQ0, VCON_QUEUE_SIZE, vcon_ring,
                       vcon_cookies) != 0) {
        vcon.dev.ops->set_status(&vcon.dev, VIRTIO_STATUS_FAILED);
        return -EIO;
    }
    virtq_disable_interrupts(&vcon.tx);
    virtio_driver_ok(&vcon.dev);
    vcon.attached = 1;
    return 0;
}

int vcon_attach_mmio(uint64_t base, uint32_t irq)
{
    if (vcon.attached)
        return -EBUSY;
    int err = virtio_mmio_attach_mapped(&vcon.dev, base, irq, VIRTIO_ID_CONSOLE);
    if (err != 0)
        return err;
    vcon.mmio_base = base;
    return start_device();
}

int vcon_attach_pci(struct pci_device *p)
{
    if (vcon.attached)
        return -EBUSY;
    if (p->vendor != 0x1af4 || (p->device != 0x1003 && p->device != 0x1043))
        return -ENODEV;
    int err = virtio_pci_attach(&vcon.dev, p);
    return err != 0 ? err : start_device();
}

void vcon_map_registers(void)
{
    if (vcon.attached && vcon.mmio_base != 0)
        env_mmio_map(vcon.mmio_base, VCON_PAGE);
}

/* Copies from buf into the slots of the next `slots` free descriptors,
 * "\n" as "\r\n" (never split across slots); returns the descriptors used
 * and sets *consumed to the input bytes taken. */
static int fill_chain(const char *buf, size_t len, int slots, uint64_t *addr, uint32_t *lens,
                      size_t *consumed)
{
    uint16_t d = vcon.tx.free_head;
    size_t in = 0;
    int k;
    for (k = 0; k < slots && in < len; k++) {
        char *slot = slot_of(d);
        uint32_t n = 0;
        while (in < len) {
            uint32_t need = buf[in] == '\n' ? 2 : 1;
            if (n + need > VCON_SLOT_SIZE)
                break;
            if (need == 2)
                slot[n++] = '\r';
            slot[n++] = buf[in++];
        }
        addr[k] = env_dma_addr(slot);
        lens[k] = n;
        d = vcon.tx.desc[d].next;
    }
    *consumed = in;
    return k;
}

/* Descriptors that len bytes of buf take, at most a whole ring. */
static uint16_t slots_for(const char *buf, size_t len)
{
    size_t bytes = len;
    for (size_t i = 0; i < len; i++)
        bytes += buf[i] == '\n';
    if (bytes <= VCON_SLOT_SIZE)
        return 1;
    size_t n = bytes / (VCON_SLOT_SIZE - 1) + 1; /* a slot may end a byte short */
    return n < VCON_QUEUE_SIZE ? (uint16_t)n : VCON_QUEUE_SIZE;
}

int vcon_write(const char *buf, size_t len)
{
    uint64_t addr[VCON_QUEUE_SIZE];
    uint32_t lens[VCON_QUEUE_SIZE];
    if (!vcon.attached || vcon.broken)
        return -EIO;
    for (size_t done = 0; done < len;) {
        uint16_t want = slots_for(buf + done, len - done);
        size_t took;
        if (wait_free(want) != 0)
            return -EIO;
        int n = fill_chain(buf + done, len - done, want, addr, lens, &took);
        if (virtq_add(&vcon.tx, addr, lens, n, n, (void *)1) < 0)
            return -EIO; /* cannot happen: wait_free made room */
        virtq_kick(&vcon.tx);
        done += took;
    }
    return (int)len;
}

int vcon_flush(void)
{
    if (!vcon.attached || vcon.broken)
        return vcon.attached ? -EIO : 0;
    return wait_free(vcon.tx.size);
}
