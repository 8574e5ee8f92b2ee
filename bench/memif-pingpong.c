// The device floor under catnip's memif round trip (issue 13): a 64-byte Ethernet frame bounced between two processes
// over DPDK's net_memif, in C, both spinning on rte_eth_rx_burst. Each side sets up its EAL and port as catnip does
// (--no-pci --no-huge --no-shconf --no-telemetry, one rx and one tx queue, a pktmbuf pool of 2048), so the figure is
// what memif itself costs per round trip: the two PMDs' copies through the shared region and the ring and descriptor
// lines moving between the cores. No IP, no TCP, no application: our round trip minus this is our own software.
//   gcc -O2 -o /tmp/memif-pingpong bench/memif-pingpong.c $(pkg-config --cflags --libs libdpdk)
//   taskset -c 0 /tmp/memif-pingpong echo /tmp/m.sock &
//   taskset -c 1 /tmp/memif-pingpong ping /tmp/m.sock 100000     (prints p50/p99 of the round trip)
// The echo side (memif's server role) answers every frame unchanged and exits after 5 s without one, or on SIGTERM.
// Neither side tears DPDK down on the way out: in DPDK 22.11 a memif port's close or its peer's going away crashed the
// EAL's interrupt thread (rte_intr_fd_get) in about one run in eight here. Each side instead removes what it leaves on
// disk (its runtime directory, the echo side its socket) and ends the process; a crash still leaves the echo side's
// directory, /var/run/dpdk/memifppPID, which bench/latency.sh removes.
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static volatile sig_atomic_t stopping; // SIGTERM ends the echo side's loop, so it still cleans up

static void on_term(int sig) {
    (void)sig;
    stopping = 1;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char rundir[PATH_MAX]; // the EAL's runtime directory once it is up (/var/run/dpdk/PREFIX, empty under --no-shconf)

static const char *socket_to_remove; // the echo side's (memif's server role creates it)

static void leave(int code) { // see the header: no DPDK teardown
    fflush(stdout);
    if (rundir[0] && rmdir(rundir) != 0) perror(rundir);
    if (socket_to_remove) unlink(socket_to_remove);
    _exit(code);
}

static void die(const char *what) {
    fprintf(stderr, "memif-pingpong: %s failed\n", what);
    leave(1);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: memif-pingpong echo|ping SOCKET [ROUND TRIPS]\n"); return 2; }
    int echo = strcmp(argv[1], "echo") == 0;
    long iters = argc > 3 ? atol(argv[3]) : 100000;
    if (iters < 100) iters = 100;
    char vdev[512], prefix[64];
    snprintf(vdev, sizeof vdev, "net_memif0,role=%s,socket=%s", echo ? "server" : "client", argv[2]);
    snprintf(prefix, sizeof prefix, "memifpp%d", (int)getpid());
    char *eal[] = { argv[0], "--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry", "--log-level", "error",
                    "--file-prefix", prefix, "--vdev", vdev };
    if (rte_eal_init(sizeof eal / sizeof eal[0], eal) < 0) die("rte_eal_init");
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    if (echo) socket_to_remove = argv[2];
    struct rte_mempool *pool = rte_pktmbuf_pool_create("pp", 2048, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) die("rte_pktmbuf_pool_create");
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    if (rte_eth_dev_configure(0, 1, 1, &conf) < 0) die("rte_eth_dev_configure");
    if (rte_eth_rx_queue_setup(0, 0, 1024, SOCKET_ID_ANY, NULL, pool) < 0) die("rte_eth_rx_queue_setup");
    if (rte_eth_tx_queue_setup(0, 0, 1024, SOCKET_ID_ANY, NULL) < 0) die("rte_eth_tx_queue_setup");
    if (rte_eth_dev_start(0) < 0) die("rte_eth_dev_start");
    struct rte_eth_link link;
    for (int i = 0; i < 1000; i++) { // the peer connects through the socket
        rte_eth_link_get_nowait(0, &link);
        if (link.link_status) break;
        usleep(10000);
    }
    if (!link.link_status) die("waiting 10 s for the memif link");
    struct rte_mbuf *burst[32];
    if (echo) {
        signal(SIGTERM, on_term);
        double idle = now_ns();
        while (!stopping && now_ns() - idle < 5e9) {
            uint16_t n = rte_eth_rx_burst(0, 0, burst, 32);
            if (n == 0) continue;
            uint16_t sent = rte_eth_tx_burst(0, 0, burst, n);
            for (uint16_t i = sent; i < n; i++) rte_pktmbuf_free(burst[i]);
            idle = now_ns();
        }
        leave(0);
    }
    double *lat = malloc(sizeof(double) * iters);
    if (!lat) die("malloc");
    long warm = iters / 10;
    for (long i = -warm; i < iters; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (!m) die("rte_pktmbuf_alloc");
        uint8_t *frame = (uint8_t *)rte_pktmbuf_append(m, 64);
        if (!frame) die("rte_pktmbuf_append");
        memset(frame, 0, 64);
        memset(frame, 0xff, 6);      // broadcast destination
        frame[12] = 0x88; frame[13] = 0xb5; // the local experimental EtherType
        double t = now_ns();
        while (rte_eth_tx_burst(0, 0, &m, 1) == 0) { }
        uint16_t n;
        while ((n = rte_eth_rx_burst(0, 0, burst, 32)) == 0) {
            if (now_ns() - t > 1e9) die("waiting 1 s for the echo");
        }
        double rtt = now_ns() - t;
        for (uint16_t k = 0; k < n; k++) rte_pktmbuf_free(burst[k]);
        if (i >= 0) lat[i] = rtt;
    }
    qsort(lat, iters, sizeof(double), cmp);
    printf("memif raw frame round trip p50 %.2f us p99 %.2f us\n", lat[iters / 2] / 1000, lat[iters * 99 / 100] / 1000);
    leave(0);
}
