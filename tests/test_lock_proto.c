/* test_lock_proto.c — the lock protocol's plumbing driven from C: message
 * bytes and diagram labels (in any layout of packet spans), replies told
 * apart by source address after servers are renumbered, each resource
 * name keeping its own record at servers and storage, the strategy name
 * table, and the network path check a new client makes.
 *
 * The world (lockworld.h): a cluster on a 1 Gbit/s LAN with 1 ms port
 * delays, about 2 ms host to host. */
#include <string.h>

#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/link.h"
#include "netsim/lock.h"
#include "netsim/pkt.h"
#include "netsim/udp.h"
#include "tests.h"
#include "lockworld.h"

/* ---- messages ---- */

static void keep(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)s; (void)src; (void)sport;
    char *out = ud;
    size_t n = p->payload_len < 63 ? p->payload_len : 63;
    ns_pkt_copy_payload(p, 0, (uint32_t)n, (uint8_t *)out);
    out[63] = (char)n;
}

/* The diagram label of a request to a server reads its bytes. */
static void test_msg_label(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_client(&w, 0, "a", "wait", r1, 0, NULL);
    /* a second socket on ls1 cannot take port 7000: the server holds it */
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_udp_bind(ns_lock_cluster_server(w.cl, 0), NS_LOCK_PORT, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    /* a raw datagram that is not a lock message is ignored by a server */
    ns_host *x = lan_host(&w, "x");
    ns_udp *u = ns_udp_bind(x, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    char got[64] = { 0 };
    ns_udp_on_receive(u, keep, got);
    CU_ASSERT_TRUE(ns_udp_send(u, ns_host_addr(ns_lock_cluster_server(w.cl, 0)), NS_LOCK_PORT,
                               "garbage", 7));
    ns_sim_run(w.sim, NS_SEC, 0);
    CU_ASSERT_EQUAL(got[63], 0);                       /* no answer to garbage */
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    CU_ASSERT_STRING_EQUAL(ns_lock_state_name(ns_lock_client_state(w.c[0])), "done");
    world_free(&w);
}

/* The diagram label of p, as UDP hands it to the lock describer. */
static const char *label_of(struct world *w, const ns_pkt *p, char *buf, size_t len)
{
    ns_net_proto(w->sim, NS_IPPROTO_UDP)->describe(ns_lock_cluster_server(w->cl, 0), p, buf,
                                                    len);
    return buf;
}

/* Sets p's payload to the spans given (p keeps its own references). */
static void set_spans(ns_pkt *p, const struct ns_span *sp, uint32_t n)
{
    struct ns_payload *pl = ns_payload_new(sp, n);
    ns_payload_unref(p->payload);
    p->payload = pl;
    p->payload_len = pl->len;
}

/* The decoder reads a message in place when it is one span of real bytes
 * and copies it otherwise: every layout of the same bytes reads the same,
 * a span starting inside its buffer, a split inside the name, and
 * length-only bytes (zeros) in the name. */
static void test_msg_spans(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    uint8_t b[5 + 31] = { 'x', 'x', 'x', 'x', 'x', 'L', 1, 0 /* ACQ */, 1 /* LF_WAIT */ };
    b[5 + 11] = 2;                                     /* attempt 2 */
    b[5 + 28] = 2;                                     /* name length */
    memcpy(b + 5 + 29, "R1", 2);
    ns_pkt *p = ns_pkt_new(w.sim);
    ns_put16(ns_pkt_l4(p), 40000);
    ns_put16(ns_pkt_l4(p) + 2, NS_LOCK_PORT);
    p->l4_len = 8;
    char got[64];
    ns_pkt_set_bytes(p, b + 5, 31);
    CU_ASSERT_STRING_EQUAL(label_of(&w, p, got, sizeof got), "ACQ R1 #2 wait");
    struct ns_buf *buf = ns_buf_new(b, sizeof b);
    const struct ns_span inside[] = { { buf, 5, 31 } };
    set_spans(p, inside, 1);
    CU_ASSERT_STRING_EQUAL(label_of(&w, p, got, sizeof got), "ACQ R1 #2 wait");
    /* split inside the name, the first part in a buffer going on with
     * other bytes: only the second span's byte is the message's */
    b[5 + 30] = '9';
    struct ns_buf *head = ns_buf_new(b, sizeof b), *tail = ns_buf_new("1", 1);
    const struct ns_span split[] = { { head, 5, 30 }, { tail, 0, 1 } };
    set_spans(p, split, 2);
    ns_buf_unref(head);
    ns_buf_unref(tail);
    CU_ASSERT_STRING_EQUAL(label_of(&w, p, got, sizeof got), "ACQ R1 #2 wait");
    const struct ns_span zeros[] = { { buf, 5, 29 }, { NULL, 0, 2 } };
    set_spans(p, zeros, 2);
    CU_ASSERT_STRING_EQUAL(label_of(&w, p, got, sizeof got), "ACQ  #2 wait");
    /* length-only bytes over the name length read as 0: 29 bytes claimed,
     * 31 sent, so not a lock message (UDP's own label) */
    const struct ns_span short_hdr[] = { { buf, 5, 20 }, { NULL, 0, 11 } };
    set_spans(p, short_hdr, 2);
    CU_ASSERT_STRING_EQUAL(label_of(&w, p, got, sizeof got), "UDP 40000>7000 len=31");
    ns_buf_unref(buf);
    ns_pkt_free(w.sim, p);
    world_free(&w);
}

/* Replies are told apart by their source address.  Between two
 * transactions ls1 moves to a new address and ls2 takes ls1's old one:
 * with every server needed (quorum 3), the client finishes its second
 * transaction only if it counts ls2's grants from that address as ls2's,
 * not as ls1's (an answer remembered from the first transaction; ls1's
 * new address is one that does not evict that answer from the cache of
 * lock_sender.c, which would hide a stale one). */
static void test_servers_renumbered(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.quorum = 3;
    struct world w;
    world_init(&w, 1, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.transactions = 2;
    o.think = NS_SEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    ns_sim_run(w.sim, 500 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    ns_iface *i1 = ns_host_iface(ns_lock_cluster_server(w.cl, 0), 0);
    ns_iface *i2 = ns_host_iface(ns_lock_cluster_server(w.cl, 1), 0);
    uint32_t a1 = ns_iface_addr(i1);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_iface_set_addr(i1, ns_lan_subnet(w.lan) + 100, 24, &err));
    CU_ASSERT_TRUE(ns_iface_set_addr(i2, a1, 24, &err));
    CU_ASSERT_PTR_NULL(err);
    ns_sim_run(w.sim, 3 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 2);
    CU_ASSERT_STRING_EQUAL(ns_lock_state_name(ns_lock_client_state(w.c[0])), "done");
    world_free(&w);
}

/* ---- names and paths ---- */

/* Servers and storage file each resource under its name (lock_names.c):
 * one client draws 200 transactions from 50 names on one server, so
 * each name's quorum token counts its own acquisitions (1, 2, 3, ...),
 * the server's register and the storage's newest token agree per name,
 * and the tokens add up to the 200 acquisitions.  Records shared or
 * mixed up between names would break one of the three. */
static void test_many_resources(void)
{
    enum { NAMES = 50, TX = 200 };
    char *pool[NAMES + 1];
    for (unsigned i = 0; i < NAMES; i++)
        pool[i] = g_strdup_printf("resource-%u", i);
    pool[NAMES] = NULL;
    struct world w;
    world_init(&w, 3, 1, NULL);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.pick = 1;
    o.hold = NS_MSEC;
    o.transactions = TX;
    add_client(&w, 0, "a", "wait", (const char *const *)pool, 0, &o);
    ns_sim_run(w.sim, 100 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, TX);
    uint64_t sum = 0;
    unsigned used = 0;
    for (unsigned i = 0; i < NAMES; i++) {
        uint64_t t = ns_lock_storage_token(w.cl, pool[i]);
        CU_ASSERT_EQUAL(ns_lock_server_token(w.cl, 0, pool[i]), t);
        sum += t;
        used += t > 0;
    }
    CU_ASSERT_EQUAL(sum, TX);
    CU_ASSERT_TRUE(used > 16);                  /* more names than the first table */
    CU_ASSERT_EQUAL(ns_lock_storage_token(w.cl, "resource-50"), 0);   /* never locked */
    CU_ASSERT_EQUAL(ns_lock_server_token(w.cl, 0, "resource-50"), 0);
    world_free(&w);
    for (unsigned i = 0; i < NAMES; i++)
        g_free(pool[i]);
}

/* The name list and the ops table agree, in registration order. */
static void test_strategy_names(void)
{
    const char *const want[] = { "wait", "release_all", "ordered", "wait_die", "wound_wait",
                                 "detect" };
    const char *const *names = ns_lock_strategy_names();
    size_t n = 0;
    while (names[n])
        n++;
    CU_ASSERT_EQUAL(n, G_N_ELEMENTS(want));
    for (size_t i = 0; i < n && i < G_N_ELEMENTS(want); i++) {
        CU_ASSERT_STRING_EQUAL(names[i], want[i]);
        CU_ASSERT_TRUE(ns_lock_strategy_exists(names[i]));
    }
    CU_ASSERT_FALSE(ns_lock_strategy_exists("wait-die"));
}

/* Paths to the servers and the storage: a LAN joins only the hosts on
 * it, and a host one hop away by LAN or link (either end) is reached.
 * lan1 holds s1 and a, lan2 st and b, nothing joins the LANs. */
static void test_paths_by_lan(void)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    struct ns_lan_opts lo;
    ns_lan_opts_defaults(&lo);
    ns_lan *lan1 = ns_lan_new(sim, "lan1", &lo, &err), *lan2 = ns_lan_new(sim, "lan2", &lo, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lan1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lan2);
    ns_host *s1 = ns_host_new(sim, "s1", &err), *st = ns_host_new(sim, "st", &err);
    ns_host *a = ns_host_new(sim, "a", &err), *b = ns_host_new(sim, "b", &err);
    ns_host *c = ns_host_new(sim, "c", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(lan1, s1, 0, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(lan1, a, 0, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(lan2, st, 0, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(lan2, b, 0, &err));
    ns_host *srv[] = { s1 };
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    ns_lock_cluster *cl = ns_lock_cluster_new(sim, srv, 1, st, &co, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.resources = r1;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "lock client 'a': no network path to st "
                           "(link the hosts, or attach them to a LAN, before creating the "
                           "client)");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, b, &o, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "lock client 'b': no network path to s1 "
                           "(link the hosts, or attach them to a LAN, before creating the "
                           "client)");
    g_clear_error(&err);
    /* a link from a to st: s1 on a's LAN, st one link away */
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, a, st, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(ns_lock_client_new(cl, a, &o, &err));
    /* c on no LAN, at the far end of links to both */
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, s1, c, NULL, &err));
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, c, &o, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "lock client 'c': no network path to st "
                           "(link the hosts, or attach them to a LAN, before creating the "
                           "client)");
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, st, c, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(ns_lock_client_new(cl, c, &o, &err));
    CU_ASSERT_PTR_NULL(err);
    ns_sim_free(sim);
}

void test_lock_proto_register(void)
{
    CU_pSuite s = ns_test_suite("lock-proto", NULL, NULL);
    ns_test_add(s, "messages and labels", test_msg_label);
    ns_test_add(s, "a message reads the same in any layout of spans", test_msg_spans);
    ns_test_add(s, "each of many resources keeps its own record", test_many_resources);
    ns_test_add(s, "paths: a LAN joins its own hosts, links either end", test_paths_by_lan);
    ns_test_add(s, "replies counted by address after servers are renumbered",
                test_servers_renumbered);
    ns_test_add(s, "strategy names match the table", test_strategy_names);
}
