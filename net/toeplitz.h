/*
 * net/toeplitz.h - the Toeplitz hash of receive-side scaling (RSS), as a
 * device computes it to pick a receive queue: the Microsoft RSS
 * specification's hash, which virtio-net's VIRTIO_NET_F_RSS uses (VIRTIO
 * 1.2, 5.1.6.5.7.1). Pure functions, no state.
 *
 * The hash input is the bytes of the received packet's fields in network
 * order: for TCP/IPv4, source address, destination address, source port,
 * destination port (12 bytes). The device takes the hash's low bits as an
 * index into its indirection table. A stack that wants a connection's
 * replies on a given queue picks its own port so that
 * toeplitz_ipv4_tcp(key, peer, us, peer_port, our_port) lands there: the
 * received packet's source is the peer.
 */
#ifndef ZEBU_NET_TOEPLITZ_H
#define ZEBU_NET_TOEPLITZ_H

#include <stddef.h>
#include <stdint.h>

/* The key length virtio-net and most NICs use. */
#define TOEPLITZ_KEY_LEN 40

/* A default key: the one of the Microsoft RSS verification suite, which
 * Linux drivers and QEMU's tests also use. */
extern const uint8_t toeplitz_default_key[TOEPLITZ_KEY_LEN];

/* The hash of len bytes of input under key (key_len bytes; it must be at
 * least len + 4 bytes long: each input bit uses the 32 key bits from its
 * position on). Returns 0 for a key too short. */
uint32_t toeplitz_hash(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len);

/* The hash of a TCP/IPv4 (or UDP/IPv4) packet from src:sport to dst:dport,
 * addresses and ports in host order. key: TOEPLITZ_KEY_LEN bytes. */
uint32_t toeplitz_ipv4_ports(const uint8_t *key, uint32_t src, uint32_t dst, uint16_t sport,
                             uint16_t dport);

/* The hash of an IPv4 packet by its addresses alone (what a device uses
 * for a packet without a port it hashes, such as ICMP or a fragment). */
uint32_t toeplitz_ipv4(const uint8_t *key, uint32_t src, uint32_t dst);

/* The queue a hash selects through an indirection table of table_len
 * entries (a power of two) whose entry e is queue e % queues: the table
 * drivers/virtio_net.c programs. The device indexes the table with the
 * hash's low bits. */
unsigned toeplitz_queue(uint32_t hash, unsigned table_len, unsigned queues);

#endif
