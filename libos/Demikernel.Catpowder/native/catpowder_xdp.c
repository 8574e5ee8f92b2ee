// catpowder's AF_XDP shim: libxdp's xsk helpers (static inline ring operations, socket and UMEM setup, the default
// XDP program that redirects one queue into the socket's XSKMAP) behind a few plain functions for P/Invoke.
//
// UMEM: one mmap'd area of `frames` frames of `frame_size` bytes. The first half feeds the fill ring (receive), the
// second half is the transmit pool (a free stack here, refilled from the completion ring). Receive hands the frames
// themselves to the caller, who gives them back in batches (cp_xsk_rx_take, cp_xsk_fill), having lent or copied them.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>
#include <xdp/libxdp.h>
#include <bpf/libbpf.h>
#include <stdarg.h>

struct cp_xsk {
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    void *area;
    size_t area_size;
    uint32_t frame_size;
    uint32_t frames;
    uint64_t *free_tx;     // stack of free transmit frames (UMEM offsets)
    uint32_t free_count;
    uint32_t tx_pending;   // descriptors reserved and written, not yet submitted
    uint32_t tx_outstanding; // submitted, not yet completed
    uint64_t reserved;     // the frame cp_xsk_tx_reserve handed out, or UINT64_MAX
    int fd;
    int wake_fd;
    uint32_t bind_flags;
};

// mode: 0 = let the kernel choose (zero copy if the driver can, else copy), 1 = copy, 2 = zero copy.
// attach: 0 = let the kernel choose (native if the driver has XDP, else generic), 1 = generic (skb), 2 = native (drv).
// Returns 0 or -errno; err gets a sentence naming the step.
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args) { (void)level; (void)fmt; (void)args; return 0; }
static int quiet_libxdp(enum libxdp_print_level level, const char *fmt, va_list args) { (void)level; (void)fmt; (void)args; return 0; }

int cp_xsk_open(const char *ifname, uint32_t queue, int mode, int attach, uint32_t frames, uint32_t frame_size,
                uint32_t ring_size, struct cp_xsk **out, char *err, int errlen)
{
    *out = NULL;
    // libbpf/libxdp narrate on stderr (no bpffs, so no dispatcher: one program per interface); errors come back here.
    libbpf_set_print(quiet_libbpf);
    libxdp_set_print(quiet_libxdp);
    struct cp_xsk *x = calloc(1, sizeof *x);
    if (!x) return -ENOMEM;
    x->frame_size = frame_size;
    x->frames = frames;
    x->reserved = UINT64_MAX;
    x->fd = -1;
    x->wake_fd = -1;
    x->area_size = (size_t)frames * frame_size;
    x->area = mmap(NULL, x->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int rc;
    if (x->area == MAP_FAILED) {
        rc = -errno;
        snprintf(err, errlen, "mmap of the UMEM (%zu bytes) failed: %s", x->area_size, strerror(-rc));
        x->area = NULL;
        goto fail;
    }
    struct xsk_umem_config ucfg = {
        .fill_size = ring_size, .comp_size = ring_size, .frame_size = frame_size,
        .frame_headroom = 0, .flags = 0,
    };
    rc = xsk_umem__create(&x->umem, x->area, x->area_size, &x->fill, &x->comp, &ucfg);
    if (rc) {
        snprintf(err, errlen, "xsk_umem__create failed: %s", strerror(-rc));
        goto fail;
    }
    struct xsk_socket_config scfg = { .rx_size = ring_size, .tx_size = ring_size, .libxdp_flags = 0 };
    scfg.xdp_flags = attach == 1 ? XDP_FLAGS_SKB_MODE : attach == 2 ? XDP_FLAGS_DRV_MODE : 0;
    scfg.bind_flags = XDP_USE_NEED_WAKEUP | (mode == 1 ? XDP_COPY : mode == 2 ? XDP_ZEROCOPY : 0);
    rc = xsk_socket__create(&x->xsk, ifname, queue, x->umem, &x->rx, &x->tx, &scfg);
    if (rc) {
        const char *why = "";
        if (mode == 2)
            why = " (zero copy was asked for: the driver may not support zero-copy AF_XDP; use raw_socket.xdp_bind: copy or auto)";
        else if (attach == 2 && (rc == -EOPNOTSUPP || rc == -EINVAL))
            why = " (native XDP was asked for: the driver may have none; use raw_socket.xdp_attach: generic or auto)";
        else if (rc == -EOPNOTSUPP || rc == -EPROTONOSUPPORT)
            why = " (the driver refuses this XDP mode)";
        else if (rc == -EBUSY) why = " (another XDP program or AF_XDP socket holds the interface or queue)";
        else if (rc == -EINVAL) why = " (no such queue, or an XDP mode the interface does not support)";
        else if (rc == -EPERM) why = " (needs root: CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)";
        snprintf(err, errlen, "cannot create an AF_XDP socket on '%s' queue %u: %s%s", ifname, queue, strerror(-rc), why);
        goto fail;
    }
    x->fd = xsk_socket__fd(x->xsk);
    x->bind_flags = scfg.bind_flags;
    x->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (x->wake_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "eventfd failed: %s", strerror(-rc));
        goto fail;
    }
    // Receive half: every frame on the fill ring.
    uint32_t rx_frames = frames / 2, idx = 0;
    if (rx_frames > ring_size) rx_frames = ring_size;
    if (xsk_ring_prod__reserve(&x->fill, rx_frames, &idx) != rx_frames) {
        rc = -ENOSPC;
        snprintf(err, errlen, "the fill ring has no room for %u frames", rx_frames);
        goto fail;
    }
    for (uint32_t i = 0; i < rx_frames; i++) *xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * frame_size;
    xsk_ring_prod__submit(&x->fill, rx_frames);
    // Transmit half.
    x->free_tx = malloc(sizeof(uint64_t) * frames);
    if (!x->free_tx) { rc = -ENOMEM; goto fail; }
    for (uint32_t i = frames / 2; i < frames; i++) x->free_tx[x->free_count++] = (uint64_t)i * frame_size;
    *out = x;
    return 0;
fail:
    if (x->wake_fd >= 0) close(x->wake_fd);
    if (x->xsk) xsk_socket__delete(x->xsk);
    if (x->umem) xsk_umem__delete(x->umem);
    if (x->area) munmap(x->area, x->area_size);
    free(x->free_tx);
    free(x);
    return rc;
}

// 1 if the socket was bound in zero-copy mode (XDP_OPTIONS_ZEROCOPY), 0 if copy, -errno on error.
int cp_xsk_zero_copy(struct cp_xsk *x)
{
    struct xdp_options opts;
    socklen_t len = sizeof opts;
    if (getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &opts, &len)) return -errno;
    return (opts.flags & XDP_OPTIONS_ZEROCOPY) ? 1 : 0;
}

// Zero-copy receive: takes up to max received frames off the rx ring. addr[i] is the UMEM offset of frame i's data
// (the frame starts at addr[i] rounded down to the frame size; the bytes before the data are XDP headroom), len[i]
// its length. The rx entries are released at once; the frames are the caller's until cp_xsk_fill gives them back.
int cp_xsk_rx_take(struct cp_xsk *x, uint64_t *addr, uint32_t *len, int max)
{
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&x->rx, (uint32_t)max, &idx);
    if (n == 0) {
        if (xsk_ring_prod__needs_wakeup(&x->fill)) recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
        addr[i] = xsk_umem__add_offset_to_addr(d->addr);
        len[i] = d->len;
    }
    xsk_ring_cons__release(&x->rx, n);
    return (int)n;
}

// Gives n received frames back to the fill ring in one submission (any address inside a frame will do). Returns how
// many went back: fewer only if the fill ring is full, which cannot happen while the caller holds at most the receive
// half of the UMEM.
int cp_xsk_fill(struct cp_xsk *x, const uint64_t *addr, int n)
{
    uint32_t idx = 0;
    uint32_t got = xsk_ring_prod__reserve(&x->fill, (uint32_t)n, &idx);
    for (uint32_t i = 0; i < got; i++)
        *xsk_ring_prod__fill_addr(&x->fill, idx + i) = addr[i] - addr[i] % x->frame_size;
    if (got) xsk_ring_prod__submit(&x->fill, got);
    return (int)got;
}

// The UMEM area (frames lent by cp_xsk_rx_take live in it).
void *cp_xsk_area(struct cp_xsk *x) { return x->area; }

// Leaves the UMEM mapped when cp_xsk_close runs (frames are still lent out); cp_xsk_unmap frees it later.
void cp_xsk_keep_area(struct cp_xsk *x) { x->area = NULL; }

void cp_xsk_unmap(void *area, uint64_t size) { munmap(area, (size_t)size); }

static void reap(struct cp_xsk *x)
{
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&x->comp, x->frames, &idx);
    for (uint32_t i = 0; i < n; i++) x->free_tx[x->free_count++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
    if (n) {
        xsk_ring_cons__release(&x->comp, n);
        x->tx_outstanding -= n;
    }
}

// Submits the written transmit descriptors and wakes the kernel to send them (one sendto per call, only when it
// needs one). Returns 0 or -errno (EAGAIN/ENOBUFS/EBUSY: try again at the next flush).
int cp_xsk_tx_flush(struct cp_xsk *x)
{
    int rc = 0;
    if (x->tx_pending) {
        xsk_ring_prod__submit(&x->tx, x->tx_pending);
        x->tx_outstanding += x->tx_pending;
        x->tx_pending = 0;
    }
    if (x->tx_outstanding && xsk_ring_prod__needs_wakeup(&x->tx)) {
        if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) rc = -errno;
    }
    reap(x);
    return rc;
}

// A free transmit frame (its address), or NULL if none is free even after reaping completions and a kick.
void *cp_xsk_tx_reserve(struct cp_xsk *x)
{
    if (x->free_count == 0) {
        reap(x);
        if (x->free_count == 0) {
            cp_xsk_tx_flush(x);
            if (x->free_count == 0) return NULL;
        }
    }
    x->reserved = x->free_tx[x->free_count - 1];
    return (char *)x->area + x->reserved;
}

// Queues the reserved frame (len bytes) for transmit. Returns 0, or -ENOSPC if the transmit ring is full.
int cp_xsk_tx_commit(struct cp_xsk *x, uint32_t len)
{
    if (x->reserved == UINT64_MAX) return -EINVAL;
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&x->tx, 1, &idx) != 1) {
        cp_xsk_tx_flush(x);
        if (xsk_ring_prod__reserve(&x->tx, 1, &idx) != 1) return -ENOSPC;
    }
    struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx);
    d->addr = x->reserved;
    d->len = len;
    x->free_count--;
    x->reserved = UINT64_MAX;
    x->tx_pending++;
    return 0;
}

uint32_t cp_xsk_tx_pending(struct cp_xsk *x) { return x->tx_pending; }

// 1 if a received frame is waiting (the caller polls without a system call).
int cp_xsk_rx_ready(struct cp_xsk *x)
{
    // Not xsk_ring_cons__peek: that advances the cached consumer, so the next cp_xsk_rx_take would skip the entry (its UMEM
    // frame lost to the fill ring) and the kernel, seeing the consumer lag, would report POLLIN forever.
    return xsk_cons_nb_avail(&x->rx, 1) > 0 ? 1 : 0;
}

// Sleeps until a frame arrives, the eventfd is written or timeout_ns passes (< 0: no limit).
int cp_xsk_wait(struct cp_xsk *x, int64_t timeout_ns)
{
    struct pollfd p[2] = { { .fd = x->fd, .events = POLLIN }, { .fd = x->wake_fd, .events = POLLIN } };
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
    }
    int n = ppoll(p, 2, tp, NULL);
    if (n > 0 && (p[1].revents & POLLIN)) {
        uint64_t v;
        if (read(x->wake_fd, &v, sizeof v) < 0) { }
    }
    return n < 0 ? -errno : n;
}

void cp_xsk_wake(struct cp_xsk *x)
{
    uint64_t one = 1;
    if (write(x->wake_fd, &one, sizeof one) < 0) { }
}

// Detaches the XDP program libxdp attached (xsk_socket__delete does when the last socket on the interface goes),
// frees the rings, the UMEM and the eventfd.
void cp_xsk_close(struct cp_xsk *x)
{
    if (!x) return;
    xsk_socket__delete(x->xsk);
    xsk_umem__delete(x->umem);
    if (x->area) munmap(x->area, x->area_size);
    close(x->wake_fd);
    free(x->free_tx);
    free(x);
}
