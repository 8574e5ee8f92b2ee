/*
 * catnip's shim over DPDK 22.11: what C# cannot P/Invoke directly (DPDK's hot path is static inline in its headers:
 * rte_eth_rx_burst, rte_eth_tx_burst, rte_pktmbuf_alloc/free, rte_pktmbuf_mtod, ...) plus the port setup, so that
 * the managed side sees a handful of blittable calls. One burst is one call in each direction.
 * Built by build.sh (gcc -O2 -fPIC -shared $(pkg-config --cflags --libs libdpdk)) into libcatnip_shim.so.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lcore.h>

/* rte_eal_init; returns the number of arguments it consumed, or -rte_errno. */
int catnip_eal_init(int argc, char **argv)
{
    int rc = rte_eal_init(argc, argv);
    return rc < 0 ? -rte_errno : rc;
}

int catnip_eal_cleanup(void) { return rte_eal_cleanup(); }

const char *catnip_strerror(int errnum) { return rte_strerror(errnum); }

uint16_t catnip_port_count(void) { return rte_eth_dev_count_avail(); }

/* The port's driver name ("net_memif", ...), or NULL. */
const char *catnip_port_driver(uint16_t port)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0) return NULL;
    return info.driver_name;
}

/* A packet mempool in the caller's NUMA socket; NULL and -rte_errno in *err on failure. */
struct rte_mempool *catnip_pool_create(const char *name, unsigned n, unsigned cache, uint16_t data_room, int *err)
{
    struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache, 0, data_room, rte_socket_id());
    *err = mp == NULL ? -rte_errno : 0;
    return mp;
}

void catnip_pool_free(struct rte_mempool *mp) { rte_mempool_free(mp); }

unsigned catnip_pool_in_use(struct rte_mempool *mp) { return rte_mempool_in_use_count(mp); }

/* Checksum offloads a port runs with (catnip_port_start): CATNIP_TX_CSUM, CATNIP_RX_CSUM. */
#define CATNIP_TX_CSUM 1
#define CATNIP_RX_CSUM 2
static uint8_t port_csum[RTE_MAX_ETHPORTS];

#define TX_CSUM_CAPA (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
#define RX_CSUM_CAPA (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

/*
 * One receive and one transmit queue, started, promiscuous where the driver allows it (the stack filters by MAC
 * itself). mtu 0 keeps the driver's. With checksum_offload, the IPv4, TCP and UDP checksum offloads the driver offers
 * in each direction (all three, or none in that direction) are turned on; catnip_port_checksums says which.
 * Returns 0 or a negative errno.
 */
int catnip_port_start(uint16_t port, struct rte_mempool *mp, uint16_t rx_desc, uint16_t tx_desc, uint16_t mtu,
                      int checksum_offload)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    int rc;
    uint8_t csum = 0;
    memset(&conf, 0, sizeof conf);
    if (port >= RTE_MAX_ETHPORTS) return -EINVAL;
    port_csum[port] = 0;
    if ((rc = rte_eth_dev_info_get(port, &info)) != 0) return rc;
    /* Chained frames (a header mbuf in front of the payload's mbuf) where the driver sends them. */
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    if (checksum_offload && (info.tx_offload_capa & TX_CSUM_CAPA) == TX_CSUM_CAPA) {
        conf.txmode.offloads |= TX_CSUM_CAPA;
        csum |= CATNIP_TX_CSUM;
    }
    if (checksum_offload && (info.rx_offload_capa & RX_CSUM_CAPA) == RX_CSUM_CAPA) {
        conf.rxmode.offloads |= RX_CSUM_CAPA;
        csum |= CATNIP_RX_CSUM;
    }
    if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) != 0) return rc;
    if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc)) != 0) return rc;
    if ((rc = rte_eth_rx_queue_setup(port, 0, rx_desc, rte_eth_dev_socket_id(port), NULL, mp)) != 0) return rc;
    if ((rc = rte_eth_tx_queue_setup(port, 0, tx_desc, rte_eth_dev_socket_id(port), NULL)) != 0) return rc;
    if (mtu != 0 && (rc = rte_eth_dev_set_mtu(port, mtu)) != 0 && rc != -ENOTSUP) return rc;
    if ((rc = rte_eth_dev_start(port)) != 0) return rc;
    rte_eth_promiscuous_enable(port); /* not every virtual device has it; ours filters anyway */
    port_csum[port] = csum;
    return 0;
}

/* The checksum offloads catnip_port_start turned on: CATNIP_TX_CSUM | CATNIP_RX_CSUM. */
int catnip_port_checksums(uint16_t port) { return port < RTE_MAX_ETHPORTS ? port_csum[port] : 0; }

/* 1 if the port sends multi-segment (chained) mbufs, else 0. */
int catnip_port_multiseg(uint16_t port)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0) return 0;
    return (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
}

int catnip_port_stop(uint16_t port)
{
    int rc = rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    return rc;
}

int catnip_port_mac(uint16_t port, uint8_t *mac)
{
    struct rte_ether_addr a;
    int rc = rte_eth_macaddr_get(port, &a);
    if (rc == 0) memcpy(mac, a.addr_bytes, 6);
    return rc;
}

int catnip_port_mtu(uint16_t port, uint16_t *mtu) { return rte_eth_dev_get_mtu(port, mtu); }

/* 1 up, 0 down, negative errno. */
int catnip_port_link_up(uint16_t port)
{
    struct rte_eth_link link;
    int rc = rte_eth_link_get_nowait(port, &link);
    return rc < 0 ? rc : link.link_status == RTE_ETH_LINK_UP;
}

/*
 * One receive burst: up to n mbufs into mbufs[], with each one's first data byte in data[], its packet length in
 * len[], the headroom in front of the data in headroom[] and the whole data buffer's size in room[] (so the managed
 * side can lend the mbuf's memory, headroom included, as a buffer). A chained (multi-segment) mbuf gets data[i] = NULL:
 * read it with catnip_read.
 */
uint16_t catnip_rx(uint16_t port, struct rte_mbuf **mbufs, uint8_t **data, uint32_t *len, uint16_t *headroom,
                   uint16_t *room, uint8_t *csum, uint16_t n)
{
    uint16_t got = rte_eth_rx_burst(port, 0, mbufs, n);
    int verdicts = port_csum[port] & CATNIP_RX_CSUM; /* csum[] is read only when the device checks */
    for (uint16_t i = 0; i < got; i++) {
        struct rte_mbuf *m = mbufs[i];
        data[i] = m->nb_segs == 1 ? rte_pktmbuf_mtod(m, uint8_t *) : NULL;
        len[i] = m->pkt_len;
        headroom[i] = m->data_off;
        room[i] = m->buf_len;
        if (!verdicts) continue;
        /* What the device found: 0 both checksums good, 1 one of them bad, 2 not checked (software must). */
        uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
        csum[i] = ip == RTE_MBUF_F_RX_IP_CKSUM_BAD || l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD ? 1
                : ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD && l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? 0 : 2;
    }
    return got;
}

/* Gives one mbuf (a received frame the application or the stack held) back to its pool. */
void catnip_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

/* Copies a (chained) packet out; returns the bytes copied. */
uint32_t catnip_read(struct rte_mbuf *m, uint8_t *dst, uint32_t cap)
{
    uint32_t n = m->pkt_len < cap ? m->pkt_len : cap;
    const void *p = rte_pktmbuf_read(m, 0, n, dst);
    if (p != NULL && p != dst) memcpy(dst, p, n);
    return p == NULL ? 0 : n;
}

void catnip_free_bulk(struct rte_mbuf **mbufs, unsigned n) { rte_pktmbuf_free_bulk(mbufs, n); }

/*
 * n fresh mbufs, each's data pointer in data[] and room (tailroom) in room[]. Returns 0, or -ENOBUFS when the pool
 * cannot give n.
 */
int catnip_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, uint8_t **data, uint32_t *room, unsigned n)
{
    if (rte_pktmbuf_alloc_bulk(mp, mbufs, n) != 0) return -ENOBUFS;
    for (unsigned i = 0; i < n; i++) {
        data[i] = rte_pktmbuf_mtod(mbufs[i], uint8_t *);
        room[i] = rte_pktmbuf_tailroom(mbufs[i]);
    }
    return 0;
}

/*
 * One mbuf for the application to fill (an SGA segment): its buffer's start, size and headroom, or NULL when the pool
 * is empty.
 */
struct rte_mbuf *catnip_alloc_one(struct rte_mempool *mp, uint8_t **buf, uint32_t *buf_len, uint32_t *headroom)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    if (m == NULL) return NULL;
    *buf = (uint8_t *)m->buf_addr;
    *buf_len = m->buf_len;
    *headroom = m->data_off;
    return m;
}

/*
 * A frame of hlen header bytes (copied into a fresh mbuf from hp) followed by len payload bytes at data, which lie in
 * payload's buffer, sent from there: an indirect mbuf attached to payload (its reference count goes up, so the
 * payload lives until the device is done, whoever frees it first). Returns the chain's head, or NULL when hp is empty
 * or the payload is not inside payload's buffer.
 */
struct rte_mbuf *catnip_chain(struct rte_mempool *hp, struct rte_mbuf *payload, const uint8_t *data, uint32_t len,
                              const uint8_t *hdr, uint32_t hlen)
{
    uint8_t *base = (uint8_t *)payload->buf_addr;
    if (data < base || data + len > base + payload->buf_len) return NULL;
    struct rte_mbuf *h = rte_pktmbuf_alloc(hp);
    if (h == NULL) return NULL;
    struct rte_mbuf *i = rte_pktmbuf_alloc(hp);
    if (i == NULL || hlen > rte_pktmbuf_tailroom(h)) {
        rte_pktmbuf_free(h);
        if (i != NULL) rte_pktmbuf_free(i);
        return NULL;
    }
    rte_pktmbuf_attach(i, payload);
    i->data_off = (uint16_t)(data - base);
    i->data_len = (uint16_t)len;
    i->pkt_len = len;
    memcpy(rte_pktmbuf_mtod(h, uint8_t *), hdr, hlen);
    h->data_len = (uint16_t)hlen;
    h->pkt_len = hlen + len;
    h->next = i;
    h->nb_segs = 2;
    return h;
}

/*
 * Asks the device for the checksums of an IPv4 frame (the stack left them to it): the IPv4 header's, and TCP's or
 * UDP's unless the packet is a fragment. The headers are all in the first segment (the stack builds them there).
 */
static void request_checksums(struct rte_mbuf *m)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    if (m->data_len < 34 || p[12] != 0x08 || p[13] != 0x00) return; /* not IPv4 (ARP) */
    const uint8_t *ip = p + 14;
    uint32_t ihl = (ip[0] & 0x0fu) * 4u;
    uint64_t flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    uint32_t l4 = 0;
    int fragment = ((ip[6] & 0x3fu) | ip[7]) != 0;
    if (!fragment && ip[9] == 6 && m->data_len >= 14 + ihl + 20) {
        l4 = (p[14 + ihl + 12] >> 4) * 4u;
        flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    } else if (!fragment && ip[9] == 17 && m->data_len >= 14 + ihl + 8) {
        l4 = 8;
        flags |= RTE_MBUF_F_TX_UDP_CKSUM;
    }
    m->l2_len = 14;
    m->l3_len = ihl;
    m->l4_len = l4;
    m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_OFFLOAD_MASK) | flags;
}

/*
 * Sends n filled mbufs (len[i] bytes each, written at the data pointer catnip_alloc_bulk gave): sets their lengths,
 * one tx burst, and frees what the device would not take. Returns the number sent.
 */
uint16_t catnip_tx(uint16_t port, struct rte_mbuf **mbufs, const uint32_t *len, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (len[i] == 0) continue; /* a chain from catnip_chain: its lengths are set */
        mbufs[i]->data_len = (uint16_t)len[i];
        mbufs[i]->pkt_len = len[i];
    }
    uint16_t ready = n;
    if (port_csum[port] & CATNIP_TX_CSUM) {
        for (uint16_t i = 0; i < n; i++) request_checksums(mbufs[i]);
        /* What the driver needs in the packet first (the pseudo-header sum in the TCP/UDP field, for most NICs). */
        ready = rte_eth_tx_prepare(port, 0, mbufs, n);
    }
    uint16_t sent = rte_eth_tx_burst(port, 0, mbufs, ready);
    if (sent < n) rte_pktmbuf_free_bulk(mbufs + sent, n - sent);
    return sent;
}
