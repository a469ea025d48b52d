/* dhcpworld.h — what the DHCP suites share (test_dhcp.c,
 * test_dhcp_proto.c): a LAN 10.0.0.0/24 with a server "srv" at 10.0.0.1,
 * clients added with client(), a timeline of a client's state changes,
 * and expectations on error text and output files.
 *
 * LANs run at 1 Gbit/s with 1 ms port delays: every DHCP message is a
 * 342-byte frame (14 + 20 + 8 + 300), 2,736 ns on the wire, so one
 * host-to-host hop across the switch takes 2 x (2,736 + 1,000,000) ns.
 * Helpers are static inline: each suite uses a different subset. */
#ifndef NETSIM_DHCPWORLD_H
#define NETSIM_DHCPWORLD_H

#include <stdio.h>
#include <string.h>

#include "netsim/dhcp.h"
#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/luabind.h"
#include "tests.h"

#define HOP ((ns_time_t)2 * (2736 + 1000000))

struct world {
    ns_sim *sim;
    ns_lan *lan;
    ns_host *srv;
    ns_dhcp_server *ds;
    char *dir;
};

static inline uint32_t ip(const char *s)
{
    uint32_t a = 0;
    CU_ASSERT_TRUE(ns_addr_parse(s, &a, NULL));
    return a;
}

static inline ns_host *host(ns_sim *sim, const char *name)
{
    ns_host *h = ns_host_new(sim, name, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    return h;
}

/* A LAN 10.0.0.0/24 with server "srv" at 10.0.0.1 serving [first, last]. */
static inline void world_init(struct world *w, const char *first, const char *last, uint32_t lease_s)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(7);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.rate_bps = 1e9;
    o.delay = NS_MSEC;
    o.subnet = ip("10.0.0.0");
    o.prefix = 24;
    GError *err = NULL;
    w->lan = ns_lan_new(w->sim, "lan", &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lan);
    w->srv = host(w->sim, "srv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(w->lan, w->srv, ip("10.0.0.1"), &err));
    struct ns_dhcp_server_opts so;
    ns_dhcp_server_opts_defaults(&so);
    so.lease_s = lease_s;
    w->ds = ns_dhcp_server_new(w->srv, &so, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->ds);
    struct ns_dhcp_pool_cfg pc = { .first = ip(first), .last = ip(last), .router = ip("10.0.0.1") };
    CU_ASSERT_TRUE(ns_dhcp_server_add_pool(w->ds, &pc, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static inline void world_free(struct world *w)
{
    ns_sim_free(w->sim);
    g_free(w->dir);
}

static inline ns_dhcp_client *client(struct world *w, ns_lan *lan, const char *name,
                              ns_time_t start, ns_time_t probe)
{
    ns_host *h = host(w->sim, name);
    GError *err = NULL;
    ns_iface *ifc = ns_lan_attach(lan, h, NS_LAN_NO_ADDR, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ifc);
    struct ns_dhcp_client_opts o;
    ns_dhcp_client_opts_defaults(&o);
    o.start_min = o.start_max = start;
    o.probe_wait = probe;
    ns_dhcp_client *c = ns_dhcp_client_new(ifc, &o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* State changes of a client, with their times. */
struct timeline {
    int n;
    enum ns_dhcp_state to[64];
    ns_time_t at[64];
};

static inline void on_state(ns_dhcp_client *c, enum ns_dhcp_state from, enum ns_dhcp_state to, void *ud)
{
    (void)from;
    struct timeline *tl = ud;
    if (tl->n < 64) {
        tl->to[tl->n] = to;
        tl->at[tl->n++] = ns_sim_now(ns_host_sim(ns_dhcp_client_host(c)));
    }
}

static inline ns_time_t first_entry(const struct timeline *tl, enum ns_dhcp_state s)
{
    for (int i = 0; i < tl->n; i++)
        if (tl->to[i] == s)
            return tl->at[i];
    return -1;
}

static inline void expect_error(GError **err, const char *needle)
{
    CU_ASSERT_PTR_NOT_NULL(*err);
    if (*err) {
        CU_ASSERT_PTR_NOT_NULL(strstr((*err)->message, needle));
        if (!strstr((*err)->message, needle))
            fprintf(stderr, "\nmessage: %s (expected '%s')\n", (*err)->message, needle);
    }
    g_clear_error(err);
}

static inline char *read_output(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(path);
    return text;
}

static inline void expect_text(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:\n%s  want:\n%s", got, want);
}

static inline void expect_lua(const char *code, const char *want)
{
    char *dir = g_build_filename(ns_test_tmpdir(), "dhcp", "lua", NULL);
    lua_State *L = ns_test_lua_state(NULL, 1, dir);
    char *got = ns_test_lua_chunk(L, code);
    lua_close(L);
    expect_text(got, want);
    g_free(got);
    g_free(dir);
}

/* A Lua prelude: sim s, LAN "office" 10.0.0.0/24, host srv at 10.0.0.1. */
#define OFFICE "local s = netsim.new{ out = OUT }\n" \
               "local lan = s:lan('office', { subnet = '10.0.0.0/24' })\n" \
               "local srv = s:host 'srv'; lan:attach(srv, '10.0.0.1')\n"

#endif
