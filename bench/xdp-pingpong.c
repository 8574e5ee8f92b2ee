// The raw-frame floor under catpowder's af_xdp round trip (issue 13): a 64-byte Ethernet frame bounced between two
// AF_XDP sockets in C, one on each end of a veth pair, both spinning on their receive rings. Each side binds as
// catpowder does (libxdp's default program attached natively, copy mode, XDP_USE_NEED_WAKEUP, one sendto kick per
// transmit), so the figure is what the device path itself costs per round trip: the kicks, veth, the XDP redirect and
// the copies into UMEM. No IP, no TCP, no application: our round trip minus this is our own software.
//   gcc -O2 -o /tmp/xdp-pingpong bench/xdp-pingpong.c $(pkg-config --cflags --libs libxdp libbpf)
//   ip netns exec A taskset -c 0 /tmp/xdp-pingpong echo vethA &
//   ip netns exec B taskset -c 1 /tmp/xdp-pingpong ping vethB 100000     (prints p50/p99 of the round trip)
// The echo side answers every frame with its MAC addresses swapped and exits after 5 s without one.
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <linux/if_link.h>
#include <xdp/xsk.h>
#include <xdp/libxdp.h>
#include <bpf/libbpf.h>

#define FRAMES 256
#define FRAME_SIZE 4096
#define RING 128

static struct xsk_ring_prod fill, tx;
static struct xsk_ring_cons comp, rx;
static struct xsk_socket *xsk;
static char *area;

static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { (void)l; (void)f; (void)a; return 0; }
static int quiet_xdp(enum libxdp_print_level l, const char *f, va_list a) { (void)l; (void)f; (void)a; return 0; }
static int cmp(const void *x, const void *y) { double d = *(const double *)x - *(const double *)y; return d < 0 ? -1 : d > 0; }

static void open_xsk(const char *ifname)
{
    libbpf_set_print(quiet);
    libxdp_set_print(quiet_xdp); // no bpffs here: libxdp says so on every open, then loads its program without a dispatcher
    area = mmap(NULL, (size_t)FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) { perror("mmap"); exit(1); }
    struct xsk_umem *umem;
    struct xsk_umem_config ucfg = { .fill_size = RING, .comp_size = RING, .frame_size = FRAME_SIZE };
    int rc = xsk_umem__create(&umem, area, (size_t)FRAMES * FRAME_SIZE, &fill, &comp, &ucfg);
    if (rc) { fprintf(stderr, "xsk_umem__create: %s\n", strerror(-rc)); exit(1); }
    struct xsk_socket_config scfg = { .rx_size = RING, .tx_size = RING, .xdp_flags = XDP_FLAGS_DRV_MODE,
                                      .bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY };
    rc = xsk_socket__create(&xsk, ifname, 0, umem, &rx, &tx, &scfg);
    if (rc) { fprintf(stderr, "xsk_socket__create on %s: %s\n", ifname, strerror(-rc)); exit(1); }
    uint32_t idx;
    if (xsk_ring_prod__reserve(&fill, RING, &idx) != RING) { fprintf(stderr, "fill ring\n"); exit(1); }
    for (uint32_t i = 0; i < RING; i++) *xsk_ring_prod__fill_addr(&fill, idx + i) = (uint64_t)i * FRAME_SIZE;
    xsk_ring_prod__submit(&fill, RING);
}

// Spins until a frame arrives (or deadline_ns passes: returns 0); copies it into buf and recycles its UMEM frame.
static uint32_t receive(char *buf, double deadline_ns)
{
    uint32_t idx;
    while (xsk_ring_cons__peek(&rx, 1, &idx) == 0) {
        if (xsk_ring_prod__needs_wakeup(&fill)) recvfrom(xsk_socket__fd(xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
        if (deadline_ns > 0 && now_ns() > deadline_ns) return 0;
    }
    const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, idx);
    uint32_t len = d->len;
    memcpy(buf, area + xsk_umem__add_offset_to_addr(d->addr), len);
    uint64_t frame = xsk_umem__extract_addr(d->addr);
    xsk_ring_cons__release(&rx, 1);
    uint32_t fidx;
    while (xsk_ring_prod__reserve(&fill, 1, &fidx) != 1) { }
    *xsk_ring_prod__fill_addr(&fill, fidx) = frame;
    xsk_ring_prod__submit(&fill, 1);
    return len;
}

// Sends one frame from the transmit half of the UMEM and kicks the kernel, as catpowder's flush does.
static void transmit(const char *buf, uint32_t len)
{
    static uint32_t next;
    uint32_t cidx, n = xsk_ring_cons__peek(&comp, RING, &cidx);
    if (n) xsk_ring_cons__release(&comp, n);
    uint64_t addr = (uint64_t)(RING + next++ % (FRAMES - RING)) * FRAME_SIZE;
    memcpy(area + addr, buf, len);
    uint32_t idx;
    while (xsk_ring_prod__reserve(&tx, 1, &idx) != 1) { }
    struct xdp_desc *d = xsk_ring_prod__tx_desc(&tx, idx);
    d->addr = addr;
    d->len = len;
    xsk_ring_prod__submit(&tx, 1);
    if (xsk_ring_prod__needs_wakeup(&tx)) sendto(xsk_socket__fd(xsk), NULL, 0, MSG_DONTWAIT, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: xdp-pingpong echo|ping IFNAME [ROUND TRIPS]\n"); return 2; }
    open_xsk(argv[2]);
    char buf[2048];
    if (strcmp(argv[1], "echo") == 0) {
        for (;;) {
            uint32_t len = receive(buf, now_ns() + 5e9);
            if (len == 0) return 0;
            char mac[6];
            memcpy(mac, buf, 6); memcpy(buf, buf + 6, 6); memcpy(buf + 6, mac, 6);
            transmit(buf, len);
        }
    }
    int iters = argc > 3 ? atoi(argv[3]) : 100000, warm = 10000;
    double *lat = malloc(sizeof(double) * iters);
    memset(buf, 0, 64);
    memset(buf, 0xff, 6);                           // broadcast: the echo side's MAC is not needed
    buf[12] = (char)0x88; buf[13] = (char)0xb5;     // local experimental EtherType: no stack takes it
    for (int i = -warm; i < iters; i++) {
        double t = now_ns();
        transmit(buf, 64);
        if (receive(buf, t + 1e9) == 0) { fprintf(stderr, "no echo within 1 s (is the echo side running?)\n"); return 1; }
        memset(buf, 0xff, 6);
        if (i >= 0) lat[i] = now_ns() - t;
    }
    qsort(lat, iters, sizeof(double), cmp);
    printf("af_xdp raw frame round trip p50 %.2f us p99 %.2f us\n", lat[iters / 2] / 1000, lat[iters * 99 / 100] / 1000);
    return 0;
}
