/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-dpdk-escape: the negative test of tests/vm/check-dpdk. A DPDK
 * application linked with librte_uviommu.so, so isolation is set up inside
 * rte_eal_init() exactly as for testpmd with -d. Ports 0 and 1 are two NICs
 * on one QEMU hub: what port 0 sends, port 1 receives.
 *
 *   positive  port 0 sends normal frames; port 1 must receive them (the
 *             path works, so "nothing arrived" below means blocked).
 *   tx        port 0 sends mbufs whose buf_iova was rewritten to the
 *             physical address of a page outside DPDK's memory that holds a
 *             frame with a secret marker. If the NIC could read it, port 1
 *             would receive the secret. Port 0 must fault at that page.
 *   rx        port 1's receive ring is filled with mbufs whose buf_iova
 *             points at a canary page outside DPDK's memory; port 0 sends.
 *             The canary must stay intact and port 1 must fault there.
 *
 * Prints "CHECK ok|FAIL ..." lines and one "ESCAPE key=value ..." line;
 * exit status 0 only if every check passed.
 *
 *   UVIOMMU=... uviommu-dpdk-escape EAL_ARGS...
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <uviommu/dpdk.h>

#define PAGE 4096u
#define RING 256
#define BURST 32
#define FRAME 128
#define SECRET "UVIOMMU-SECRET-BYTES"
#define PUBLIC "UVIOMMU-PUBLIC-BYTES"
#define CANARY 0xa5

static unsigned passed, failed;

static bool check(bool ok, const char *what)
{
	printf("CHECK %s %s\n", ok ? "ok" : "FAIL", what);
	ok ? passed++ : failed++;
	return ok;
}

static uint64_t phys_of(const void *va)
{
	uint64_t entry = 0, vpn = (uintptr_t)va / PAGE;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || pread(fd, &entry, 8, (off_t)(vpn * 8)) != 8)
		entry = 0;
	if (fd >= 0)
		close(fd);
	if (!(entry >> 63) || !(entry & ((1ull << 55) - 1)))
		return 0; /* not present, or hidden (not root) */
	return (entry & ((1ull << 55) - 1)) * PAGE + (uintptr_t)va % PAGE;
}

static void write_frame(uint8_t *p, const char *marker)
{
	static const uint8_t hdr[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1,
					 0x88, 0xb5 };
	unsigned off;

	memcpy(p, hdr, sizeof(hdr));
	for (off = sizeof(hdr); off + strlen(marker) <= FRAME; off += strlen(marker))
		memcpy(p + off, marker, strlen(marker));
}

static bool holds(const struct rte_mbuf *m, const char *marker)
{
	const char *d = rte_pktmbuf_mtod(m, const char *);

	return m->data_len >= 14 + strlen(marker) && memmem(d, m->data_len, marker,
							    strlen(marker)) != NULL;
}

static int setup_port(uint16_t port, struct rte_mempool *rx_pool)
{
	struct rte_eth_conf conf = { 0 };
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);

	if (!rc)
		rc = rte_eth_rx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL,
					    rx_pool);
	if (!rc)
		rc = rte_eth_tx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL);
	if (!rc)
		rc = rte_eth_promiscuous_enable(port);
	return rc ? rc : rte_eth_dev_start(port);
}

/* Receive on port for ms; count frames holding marker, and all frames. */
static unsigned receive(uint16_t port, unsigned ms, const char *marker, unsigned *all)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * ms / 1000;
	struct rte_mbuf *m[BURST];
	unsigned hits = 0;

	*all = 0;
	while (rte_get_timer_cycles() < end) {
		uint16_t i, n = rte_eth_rx_burst(port, 0, m, BURST);

		for (i = 0; i < n; i++) {
			hits += marker && holds(m[i], marker);
			rte_pktmbuf_free(m[i]);
		}
		*all += n;
		if (!n)
			rte_delay_us(1000);
	}
	return hits;
}

static unsigned transmit(uint16_t port, struct rte_mempool *pool, const char *marker,
		     uint64_t bad_data_iova)
{
	struct rte_mbuf *m[BURST];
	unsigned i, sent = 0;

	if (rte_pktmbuf_alloc_bulk(pool, m, BURST))
		return 0;
	for (i = 0; i < BURST; i++) {
		write_frame(rte_pktmbuf_mtod(m[i], uint8_t *), marker);
		m[i]->data_len = m[i]->pkt_len = FRAME;
		if (bad_data_iova)
			m[i]->buf_iova = bad_data_iova - m[i]->data_off;
	}
	while (sent < BURST)
		sent += rte_eth_tx_burst(port, 0, m + sent, (uint16_t)(BURST - sent));
	return sent;
}

/* Faults of port since before, waiting up to 3 s for the poller to report them. */
static uint64_t faults_since(uint16_t port, uint64_t before, struct viommu_dpdk_port_stats *st)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (viommu_dpdk_get_port_stats(port, st) == 0 && st->faults > before)
			break;
		rte_delay_us(10000);
	}
	return st->faults - before;
}

/* Every mbuf of pool, its buffer moved to the canary page. */
static int poison_pool(struct rte_mempool *pool, uint64_t canary_pa)
{
	unsigned n = rte_mempool_avail_count(pool), i;
	struct rte_mbuf **m = calloc(n, sizeof(*m));

	if (!m || rte_pktmbuf_alloc_bulk(pool, m, n)) {
		free(m);
		return -1;
	}
	for (i = 0; i < n; i++)
		m[i]->buf_iova = canary_pa - RTE_PKTMBUF_HEADROOM;
	rte_pktmbuf_free_bulk(m, n);
	free(m);
	return 0;
}

/*
 * The app API for external memory: the secret page, once mapped with
 * viommu_dpdk_map_extmem(), is reachable (port 0 sends it, no fault); once
 * unmapped, it is blocked again (nothing leaves, port 0 faults).
 */
static void extmem(uint64_t secret_pa, struct rte_mempool *txbad_pool)
{
	struct viommu_dpdk_port_stats st;
	uint64_t before;
	unsigned all;

	rte_delay_us(300000); /* the faults of the test before have all been reported */
	if (!check(viommu_dpdk_map_extmem(secret_pa, PAGE) == 0, "extmem: map the secret page") ||
	    !check(viommu_dpdk_get_port_stats(0, &st) == 0, "extmem: port 0 stats"))
		return;
	before = st.faults;
	transmit(0, txbad_pool, SECRET, secret_pa);
	check(receive(1, 1000, SECRET, &all) > 0, "extmem: mapped, port 1 receives the page");
	rte_delay_us(200000); /* give the fault poller a chance to report what it should not */
	check(viommu_dpdk_get_port_stats(0, &st) == 0 && st.faults == before,
	      "extmem: mapped, port 0 does not fault");
	if (!check(viommu_dpdk_unmap_extmem(secret_pa, PAGE) == 0, "extmem: unmap it"))
		return;
	transmit(0, txbad_pool, SECRET, secret_pa);
	check(receive(1, 1000, SECRET, &all) == 0, "extmem: unmapped, nothing leaves again");
	check(faults_since(0, before, &st) > 0, "extmem: unmapped, port 0 faults again");
}

/*
 * Ask this process's own telemetry socket (what dpdk-telemetry.py talks
 * to) for cmd; the reply in buf. 0 on success.
 */
static int telemetry(const char *cmd, char *buf, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0), rc = -1;
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2",
		 rte_eal_get_runtime_dir());
	if (fd < 0)
		return -1;
	/* The server greets each client with a message of its own first. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    read(fd, buf, size) > 0 && write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd)) {
		n = read(fd, buf, size - 1);
		if (n > 0) {
			buf[n] = 0;
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

/* The number after "key": in a telemetry reply, or -1. */
static long long telemetry_value(const char *reply, const char *key)
{
	char pattern[64];
	const char *at;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	at = strstr(reply, pattern);
	return at ? strtoll(at + strlen(pattern), NULL, 10) : -1;
}

/* Telemetry reports what the API reports: the plugin's fault counter and both NICs. */
static void check_telemetry(void)
{
	struct viommu_dpdk_stats st;
	char reply[16384];

	if (!check(telemetry("/uviommu/stats", reply, sizeof(reply)) == 0,
		   "telemetry: /uviommu/stats answers") ||
	    !check(viommu_dpdk_get_stats(&st) == 0, "telemetry: viommu_dpdk_get_stats"))
		return;
	check(telemetry_value(reply, "faults") == (long long)st.faults && st.faults > 0,
	      "telemetry: the fault count is the API's");
	check(telemetry_value(reply, "isolated") == 1, "telemetry: isolated");
	if (!check(telemetry("/uviommu/nics", reply, sizeof(reply)) == 0,
		   "telemetry: /uviommu/nics answers"))
		return;
	if (!check(strstr(reply, "\"port\":0") && strstr(reply, "\"port\":1"),
		   "telemetry: both ports are listed"))
		printf("telemetry reply: %s\n", reply);
}

/*
 * The app API: tests/vm/check-dpdk runs this program with UVIOMMU listing
 * port 0 only (mode=permissive), so the program isolates port 1 itself,
 * before it starts. Everything after depends on it: port 1 receives only
 * if it is attached to a domain that maps DPDK's memory.
 */
static bool isolate_port1(void)
{
	struct viommu_dpdk_stats st;
	uint32_t before;

	if (!check(viommu_dpdk_get_stats(&st) == 0, "isolate_port: stats"))
		return false;
	before = st.nics;
	check(before == 1, "isolate_port: one NIC isolated by UVIOMMU=devices=[port 0]");
	if (!check(viommu_dpdk_isolate_port(1) == 0, "isolate_port: port 1"))
		return false;
	check(viommu_dpdk_get_stats(&st) == 0 && st.nics == before + 1,
	      "isolate_port: one more NIC isolated");
	check(viommu_dpdk_isolate_port(1) == 0 && viommu_dpdk_get_stats(&st) == 0 &&
	      st.nics == before + 1, "isolate_port: again, a no-op");
	check(viommu_dpdk_isolate_device("not-an-address") == -EINVAL,
	      "isolate_device: a malformed address is refused");
	return true;
}

int main(int argc, char **argv)
{
	struct rte_mempool *ok_pool, *txbad_pool, *rxbad_pool;
	struct viommu_dpdk_port_stats st0, st1;
	uint8_t *pages;
	uint64_t secret_pa, canary_pa, tx_faults, rx_faults;
	unsigned positive, all, tx_escapes, rx_count, i, rx_escapes = 0;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "escape: rte_eal_init failed\n");
		return 2;
	}
	if (!check(rte_eth_dev_count_avail() >= 2, "two ports") || !isolate_port1())
		return 1;
	/* Two pages the NICs must never reach: plain anonymous memory, not DPDK's. */
	pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (!check(pages != MAP_FAILED, "two locked pages outside DPDK's memory"))
		return 1;
	memset(pages, 0, PAGE);
	write_frame(pages, SECRET);
	memset(pages + PAGE, CANARY, PAGE);
	secret_pa = phys_of(pages);
	canary_pa = phys_of(pages + PAGE);
	check(secret_pa && canary_pa, "their physical addresses (pagemap, root)");
	check(rte_mem_iova2virt(secret_pa) == NULL && rte_mem_iova2virt(canary_pa) == NULL,
	      "they are not DPDK memory (rte_mem_iova2virt finds nothing)");

	ok_pool = rte_pktmbuf_pool_create("ok", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	txbad_pool = rte_pktmbuf_pool_create("txbad", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	rxbad_pool = rte_pktmbuf_pool_create("rxbad", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!check(ok_pool && txbad_pool && rxbad_pool, "mbuf pools") ||
	    !check(setup_port(0, ok_pool) == 0 && setup_port(1, ok_pool) == 0, "ports started"))
		return 1;
	rte_delay_us(500000); /* link up on the hub */
	receive(1, 200, NULL, &all);

	transmit(0, ok_pool, PUBLIC, 0);
	positive = receive(1, 1000, PUBLIC, &all);
	check(positive > 0, "positive control: port 1 receives what port 0 sends");

	viommu_dpdk_get_port_stats(0, &st0);
	transmit(0, txbad_pool, SECRET, secret_pa);
	tx_escapes = receive(1, 1000, SECRET, &all);
	tx_faults = faults_since(0, st0.faults, &st0);
	check(tx_escapes == 0, "tx: the secret page never left through the NIC");
	check(tx_faults > 0, "tx: port 0 faulted");
	check(st0.last_fault_iova >= secret_pa && st0.last_fault_iova < secret_pa + PAGE,
	      "tx: the fault is at the secret page's address");
	extmem(secret_pa, txbad_pool);

	viommu_dpdk_get_port_stats(1, &st1);
	rte_eth_dev_stop(1);
	if (!check(poison_pool(rxbad_pool, canary_pa) == 0 &&
		   rte_eth_rx_queue_setup(1, 0, RING, rte_eth_dev_socket_id(1), NULL,
					  rxbad_pool) == 0 && rte_eth_dev_start(1) == 0,
		   "rx: port 1 restarted with its ring pointing at the canary page"))
		return 1;
	rte_delay_us(500000);
	transmit(0, ok_pool, PUBLIC, 0);
	receive(1, 1000, NULL, &all);
	rx_count = all;
	rx_faults = faults_since(1, st1.faults, &st1);
	for (i = 0; i < PAGE; i++)
		rx_escapes += pages[PAGE + i] != CANARY;
	check(rx_escapes == 0, "rx: the canary page is intact");
	check(rx_faults > 0, "rx: port 1 faulted");
	check(st1.last_fault_iova >= canary_pa && st1.last_fault_iova < canary_pa + PAGE,
	      "rx: the fault is at the canary page's address");
	check_telemetry();

	printf("ESCAPE positive_rx=%u tx_sent=%u tx_faults=%" PRIu64 " tx_escapes=%u "
	       "tx_fault_iova=%#" PRIx64 " secret_pa=%#" PRIx64 " rx_frames=%u rx_faults=%"
	       PRIu64 " rx_escapes=%u rx_fault_iova=%#" PRIx64 " canary_pa=%#" PRIx64
	       " faults=%" PRIu64 " escapes=%u\n", positive, BURST, tx_faults, tx_escapes,
	       st0.last_fault_iova, secret_pa, rx_count, rx_faults, rx_escapes,
	       st1.last_fault_iova, canary_pa, tx_faults + rx_faults, tx_escapes + rx_escapes);
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eth_dev_close(0);
	rte_eth_dev_close(1);
	rte_eal_cleanup();
	printf("escape: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
