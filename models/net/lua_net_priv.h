/* lua_net_priv.h — what the network layer's Lua binding files share
 * (models/net/lua_*.c only): the handle layout, the handle cache, and a
 * few helpers.  One file per type: lua_net.c (Sim methods, Lan),
 * lua_host.c (Host), lua_link.c (Link), lua_udp.c (Udp, host:udp). */
#ifndef NETSIM_LUA_NET_PRIV_H
#define NETSIM_LUA_NET_PRIV_H

#include "net_priv.h"
#include "netsim/luabind.h"

#define T_HOST "netsim.Host"
#define T_LINK "netsim.Link"
#define T_LAN  "netsim.Lan"
#define T_UDP  "netsim.Udp"

struct lhandle {                 /* Host, Link, Lan */
    void *obj;
};

/* Pushes the one handle of obj, creating it (tied to the Sim at sim_idx)
 * when none is alive: handles compare equal and serve as table keys. */
void ns__lua_net_push_handle(lua_State *L, int sim_idx, void *obj, const char *tname);
ns_link *ns__lua_check_link(lua_State *L, int idx);
int  ns__lua_net_raise(lua_State *L, GError *err);
void ns__lua_push_addr(lua_State *L, uint32_t a);
void ns__lua_push_drops(lua_State *L, const uint64_t *drops);
/* Runs fn(sim, arg) at the time at stack index idx, or now when it is nil. */
void ns__lua_at_or_now(lua_State *L, ns_sim *sim, int idx, ns_event_fn fn, void *arg);

/* Each file's methods, added by ns_lua_open_net. */
void ns__lua_host_open(lua_State *L);
void ns__lua_link_open(lua_State *L);
void ns__lua_udp_open(lua_State *L);

#define check_host ns_lua_check_host
#define check_dst  ns_lua_check_addr
#define check_link ns__lua_check_link
#define raise_err  ns__lua_net_raise
#define push_addr  ns__lua_push_addr
#define push_handle ns__lua_net_push_handle
#define push_drops ns__lua_push_drops
#define at_or_now  ns__lua_at_or_now

#endif
