/* lua_link.c — netsim.Link: failures and changes at a time, loss models
 * (Bernoulli, Gilbert-Elliott, scripted drops), counters. */
#include <stdio.h>
#include <string.h>

#include "lua_net_priv.h"

/* ==== Link ============================================================ */

struct link_change {
    ns_link  *l;
    int       kind;              /* 0 down, 1 up */
};

static void do_link_state(ns_sim *sim, void *arg)
{
    struct link_change *c = arg;
    ns_link_set_up(c->l, c->kind == 1);
    g_free(c);
}

static int link_state(lua_State *L, int kind)
{
    ns_link *l = check_link(L, 1);
    ns_lua_push_handle_sim(L, 1);
    ns_sim *sim = ns_lua_check_sim(L, -1);
    lua_pop(L, 1);
    bool now = lua_isnoneornil(L, 2);
    /* the time is checked before the change is allocated: a bad one
     * raises a Lua error (a longjmp) that would leak it */
    ns_time_t at = now ? 0 : ns_lua_check_time(L, 2);
    struct link_change *c = g_new(struct link_change, 1);
    c->l = l;
    c->kind = kind;
    if (now) {
        do_link_state(sim, c);
        return 0;
    }
    GError *err = NULL;
    if (!ns_event_at(sim, at, do_link_state, c, 0, &err).slot) {
        g_free(c);
        return raise_err(L, err);
    }
    return 0;
}

/* link:down([at]) / link:up([at]) */
static int link_down(lua_State *L) { return link_state(L, 0); }
static int link_up(lua_State *L) { return link_state(L, 1); }

static int check_dir(lua_State *L, int idx, ns_link *l)
{
    if (lua_isnoneornil(L, idx))
        return -1;
    if (lua_type(L, idx) == LUA_TNUMBER)
        return (int)luaL_checkinteger(L, idx) & 1;
    const char *s = luaL_checkstring(L, idx);
    char *fwd = g_strdup_printf("%s>%s", ns_host_name(ns_link_host(l, 0)), ns_host_name(ns_link_host(l, 1)));
    char *rev = g_strdup_printf("%s>%s", ns_host_name(ns_link_host(l, 1)), ns_host_name(ns_link_host(l, 0)));
    int d = strcmp(s, fwd) == 0 ? 0 : strcmp(s, rev) == 0 ? 1 : -2;
    lua_pushfstring(L, "direction '%s' is neither '%s' nor '%s'", s, fwd, rev);
    g_free(fwd);
    g_free(rev);
    if (d == -2)
        luaL_argerror(L, idx, lua_tostring(L, -1));
    lua_pop(L, 1);
    return d;
}

/* link:set_rate(rate [, dir]), link:set_delay(t [, dir]),
 * link:set_loss(p [, dir]); dir: "a>b", "b>a" (default both) */
static int link_set_rate(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_rate(l, check_dir(L, 3, l), ns_lua_check_rate(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

static int link_set_delay(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_delay(l, check_dir(L, 3, l), ns_lua_check_time(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

static int link_set_loss(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    GError *err = NULL;
    if (!ns_link_set_loss(l, check_dir(L, 3, l), luaL_checknumber(L, 2), &err))
        return raise_err(L, err);
    return 0;
}

/* Built-in packet matchers for scripted drops. */
static bool match_kind(const ns_pkt *p, void *ud)
{
    const char *k = ud;
    if (strcmp(k, "any") == 0)
        return true;
    if (p->ethertype == NS_ETHERTYPE_ARP)
        return strcmp(k, "arp") == 0;
    uint8_t proto = ns_ip_proto(p);
    if (strcmp(k, "udp") == 0)
        return proto == NS_IPPROTO_UDP;
    if (strcmp(k, "icmp") == 0)
        return proto == NS_IPPROTO_ICMP;
    if (proto != NS_IPPROTO_TCP)
        return false;
    uint8_t f = ns_pkt_cl4(p)[13];              /* TCP flags */
    bool syn = f & 0x02, ack = f & 0x10, fin = f & 0x01, rst = f & 0x04;
    if (strcmp(k, "tcp") == 0) return true;
    if (strcmp(k, "syn") == 0) return syn && !ack;
    if (strcmp(k, "synack") == 0) return syn && ack;
    if (strcmp(k, "fin") == 0) return fin;
    if (strcmp(k, "rst") == 0) return rst;
    if (strcmp(k, "data") == 0) return p->payload_len > 0;
    if (strcmp(k, "ack") == 0) return ack && !syn && !fin && p->payload_len == 0;
    return false;
}

static const char *const match_names[] = {
    "any", "arp", "udp", "icmp", "tcp", "syn", "synack", "fin", "rst", "data", "ack", NULL
};

static const char *const gilbert_options[] = { "p_gb", "p_bg", "good", "bad", "dir", NULL };

/* link:gilbert{ p_gb = 0.01, p_bg = 0.3, good = 0, bad = 1, dir = "a>b" }:
 * bursty loss (Gilbert-Elliott): the chain moves good->bad with p_gb and
 * bad->good with p_bg per packet, losing with `good` / `bad` in each. */
static int link_gilbert(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    ns_lua_check_options(L, 2, "gilbert", gilbert_options);
    double p_gb = ns_lua_opt_number(L, 2, 2, "p_gb", -1);
    double p_bg = ns_lua_opt_number(L, 2, 2, "p_bg", -1);
    if (p_gb < 0 || p_bg < 0)
        return ns_lua_opt_error(L, 2, p_gb < 0 ? "p_gb" : "p_bg", "is required");
    double good = ns_lua_opt_number(L, 2, 2, "good", 0);
    double bad = ns_lua_opt_number(L, 2, 2, "bad", 1);
    lua_getfield(L, 2, "dir");
    int dir = check_dir(L, lua_gettop(L), l);
    for (int d = 0; d < 2; d++) {
        if (dir >= 0 && dir != d)
            continue;
        GError *err = NULL;
        ns_loss *loss = ns_loss_gilbert(p_gb, p_bg, good, bad, &err);
        if (!loss) {
            g_prefix_error(&err, "link '%s': ", ns_link_name(l));
            return raise_err(L, err);
        }
        ns_link_add_loss(l, d, loss);
    }
    return 0;
}

static const char *const drop_options[] = { "match", "nth", "count", "every", "dir", NULL };

/* link:drop{ match = "synack", nth = 1, count = 1, every = false,
 *            dir = "a>b" }: drops exactly the chosen packets. */
static int link_drop(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    ns_lua_check_options(L, 2, "drop", drop_options);
    const char *match = ns_lua_opt_string(L, 2, 2, "match", "any");
    int mi = -1;
    for (int i = 0; match_names[i]; i++)
        if (strcmp(match, match_names[i]) == 0)
            mi = i;
    if (mi < 0)
        return ns_lua_opt_error(L, 2, "match", lua_pushfstring(L,
            "unknown packet kind '%s' (any, arp, udp, icmp, tcp, syn, synack, fin, rst, data, ack)",
            match));
    lua_Integer nth = ns_lua_opt_integer(L, 2, 2, "nth", 1);
    lua_Integer count = ns_lua_opt_integer(L, 2, 2, "count", 1);
    bool every = ns_lua_opt_bool(L, 2, 2, "every", false);
    if (nth < 1 || count < 1)
        return ns_lua_opt_error(L, 2, nth < 1 ? "nth" : "count", "must be >= 1");
    lua_getfield(L, 2, "dir");
    int dir = check_dir(L, lua_gettop(L), l);
    for (int d = 0; d < 2; d++)
        if (dir < 0 || dir == d)
            ns_link_add_loss(l, d, ns_loss_script(match_kind, (void *)match_names[mi], NULL,
                                                  (uint64_t)nth, (uint64_t)count, every));
    return 0;
}

static void push_link_stats(lua_State *L, const struct ns_link_stats *st)
{
    lua_newtable(L);
    lua_pushinteger(L, (lua_Integer)st->tx_pkts);
    lua_setfield(L, -2, "tx_pkts");
    lua_pushinteger(L, (lua_Integer)st->tx_bytes);
    lua_setfield(L, -2, "tx_bytes");
    lua_pushinteger(L, (lua_Integer)st->rx_pkts);
    lua_setfield(L, -2, "rx_pkts");
    lua_pushinteger(L, (lua_Integer)st->rx_bytes);
    lua_setfield(L, -2, "rx_bytes");
    push_drops(L, st->drops);
    lua_setfield(L, -2, "drops");
}

/* link:stats([dir]) -> counters of a direction ("a>b"; default a>b) */
static int link_stats(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    int d = check_dir(L, 2, l);
    push_link_stats(L, ns_link_stats(l, d < 0 ? 0 : d));
    return 1;
}

static int link_queue_len(lua_State *L)
{
    ns_link *l = check_link(L, 1);
    int d = check_dir(L, 2, l);
    lua_pushinteger(L, (lua_Integer)ns_queue_len_pkts(ns_link_queue(l, d < 0 ? 0 : d)));
    return 1;
}

static int link_name(lua_State *L)
{
    lua_pushstring(L, ns_link_name(check_link(L, 1)));
    return 1;
}

static int link_tostring(lua_State *L)
{
    struct lhandle *hd = luaL_checkudata(L, 1, T_LINK);
    lua_pushfstring(L, "netsim.Link(%s)", ns_link_name(hd->obj));
    return 1;
}

static const luaL_Reg link_methods[] = {
    { "name", link_name }, { "down", link_down }, { "up", link_up },
    { "set_rate", link_set_rate }, { "set_delay", link_set_delay },
    { "set_loss", link_set_loss }, { "drop", link_drop }, { "gilbert", link_gilbert },
    { "stats", link_stats }, { "queue_len", link_queue_len },
    { "__tostring", link_tostring }, { NULL, NULL }
};

void ns__lua_link_open(lua_State *L)
{
    ns_lua_new_type(L, T_LINK, link_methods);
}
