/* oracle.c — the violations a simulation's oracles reported (oracle.h).
 * The state hangs off the sim as an attachment, made on the first report
 * or setting: simulations without oracles pay nothing. */
#include <stdarg.h>

#include "netsim/oracle.h"

#define ORACLE_KEY "netsim.oracle"

struct oracle_state {
    uint64_t count;
    char    *first;                /* owned */
    bool     allowed;
};

static void state_free(void *p)
{
    struct oracle_state *s = p;
    g_free(s->first);
    g_free(s);
}

static struct oracle_state *state(ns_sim *sim)
{
    struct oracle_state *s = ns_sim_attached(sim, ORACLE_KEY);
    if (!s) {
        s = g_new0(struct oracle_state, 1);
        ns_sim_attach(sim, ORACLE_KEY, s, state_free);
    }
    return s;
}

void ns_oracle_violation(ns_sim *sim, const char *oracle, const char *fmt, ...)
{
    struct oracle_state *s = state(sim);
    if (!s->count++) {
        va_list ap;
        va_start(ap, fmt);
        char *text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        s->first = g_strdup_printf("%s violated: %s", oracle, text);
        g_free(text);
    }
}

uint64_t ns_oracle_violations(const ns_sim *sim)
{
    const struct oracle_state *s = ns_sim_attached(sim, ORACLE_KEY);
    return s ? s->count : 0;
}

const char *ns_oracle_first(const ns_sim *sim)
{
    const struct oracle_state *s = ns_sim_attached(sim, ORACLE_KEY);
    return s ? s->first : NULL;
}

void ns_oracle_allow(ns_sim *sim, bool allow)
{
    state(sim)->allowed = allow;
}

bool ns_oracle_failed(const ns_sim *sim)
{
    const struct oracle_state *s = ns_sim_attached(sim, ORACLE_KEY);
    return s && s->count && !s->allowed;
}
