/*
 * drivers/virtio_console.h — virtio console (VIRTIO 1.1, 5.3), output only.
 *
 * The point is the cost per byte under a hypervisor: a 16550 takes one
 * device access (a VM exit) per byte, this device a whole buffer per
 * notification. One console, port 0 only (no MULTIPORT): transmitq0 is
 * queue 1; receiveq0 (queue 0) is never set up, so there is no input.
 * Callers serialise: every function here expects the caller's console lock
 * (or a stopped machine).
 */
#ifndef ZEBU_DRIVERS_VIRTIO_CONSOLE_H
#define ZEBU_DRIVERS_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/pci.h"

#define VIRTIO_ID_CONSOLE 3

/*
 * Takes the virtio-mmio transport at `base` (below 4 GiB, already mapped:
 * this runs before the page-table allocator) if it is a console. About 25
 * register accesses: identification 3, status and features 11, the queue 9,
 * DRIVER_OK 1. Returns 0, -ENODEV (not a console), -EBUSY (one is already
 * attached) or -EIO (the device refused the features or the queue).
 */
int vcon_attach_mmio(uint64_t base, uint32_t irq);

/* The same for a virtio-serial PCI function (1af4:1003 or 1af4:1043). */
int vcon_attach_pci(struct pci_device *p);

/* Marks the registers uncached once page tables can be edited (paging_init). */
void vcon_map_registers(void);

/*
 * Queues len bytes as one descriptor chain (copied: buf is free on return)
 * and notifies the device once, turning "\n" into "\r\n" the way a terminal
 * on the serial port sees it. Waits, polling the used ring in memory, while
 * the ring is full. Returns len, or -EIO when the device has not used a
 * buffer for about a second (it is then considered gone: nothing more is
 * queued and every later call fails at once).
 */
int vcon_write(const char *buf, size_t len);

/* Waits (about a second at most) until the device has used everything
 * queued: then the bytes have reached the VMM. 0, or -EIO. */
int vcon_flush(void);

#endif
