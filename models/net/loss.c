/* loss.c — loss models for a link direction: independent (Bernoulli)
 * losses, bursty Gilbert–Elliott losses, and scripted losses that pick out
 * exact packets.
 *
 * Invariant: a model's decision depends only on its own state, the packet
 * and the stream it is handed, so a run is reproducible from the seed;
 * scripted models draw nothing at all.
 */
#include <math.h>

#include "netsim/loss.h"
#include "netsim/trace.h"

enum loss_kind { LOSS_BERNOULLI, LOSS_GILBERT, LOSS_SCRIPT };

struct ns_loss {
    enum loss_kind kind;
    char          *desc;            /* ns_loss_describe(), owned */
    union {
        struct {
            double p;
        } bern;
        struct {
            double p_gb, p_bg;      /* transition probabilities per packet */
            double loss_good, loss_bad;
            bool   bad;             /* current state; starts good */
        } ge;
        struct {
            ns_pkt_match_fn match;  /* NULL: every packet matches */
            void          *ud;
            GDestroyNotify ud_free;
            uint64_t       nth;     /* 1-based index of the first victim */
            uint64_t       count;   /* victims in a row from nth */
            bool           every;
            uint64_t       seen;    /* matching packets so far */
        } script;
    } u;
};

/* A probability parameter: rejects NaN and values outside [0, 1]. */
static bool check_prob(const char *what, double v, GError **error)
{
    if (v >= 0 && v <= 1)
        return true;
    g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                "%s %g is outside [0, 1]", what, v);
    return false;
}

/* Doubles in descriptions are written the way traces write them, so
 * "0.1" reads "0.1" on every machine and locale. */
static const char *fmt_d(double v, char buf[NS_DOUBLE_STRLEN])
{
    return ns_trace_format_double(v, buf);
}

ns_loss *ns_loss_bernoulli(double p, GError **error)
{
    if (!check_prob("loss", p, error))
        return NULL;
    ns_loss *l = g_new0(ns_loss, 1);
    l->kind = LOSS_BERNOULLI;
    l->u.bern.p = p;
    char b[NS_DOUBLE_STRLEN];
    l->desc = g_strdup_printf("bernoulli(%s)", fmt_d(p, b));
    return l;
}

ns_loss *ns_loss_gilbert(double p_gb, double p_bg, double loss_good,
                         double loss_bad, GError **error)
{
    if (!check_prob("p_gb", p_gb, error) || !check_prob("p_bg", p_bg, error) ||
        !check_prob("loss_good", loss_good, error) ||
        !check_prob("loss_bad", loss_bad, error))
        return NULL;
    ns_loss *l = g_new0(ns_loss, 1);
    l->kind = LOSS_GILBERT;
    l->u.ge.p_gb = p_gb;
    l->u.ge.p_bg = p_bg;
    l->u.ge.loss_good = loss_good;
    l->u.ge.loss_bad = loss_bad;
    l->u.ge.bad = false;
    char b1[NS_DOUBLE_STRLEN], b2[NS_DOUBLE_STRLEN], b3[NS_DOUBLE_STRLEN],
         b4[NS_DOUBLE_STRLEN];
    l->desc = g_strdup_printf("gilbert(p_gb=%s,p_bg=%s,good=%s,bad=%s)",
                              fmt_d(p_gb, b1), fmt_d(p_bg, b2),
                              fmt_d(loss_good, b3), fmt_d(loss_bad, b4));
    return l;
}

ns_loss *ns_loss_script(ns_pkt_match_fn match, void *ud, GDestroyNotify ud_free,
                        uint64_t nth, uint64_t count, bool every)
{
    g_return_val_if_fail(every || (nth >= 1 && count >= 1), NULL);
    ns_loss *l = g_new0(ns_loss, 1);
    l->kind = LOSS_SCRIPT;
    l->u.script.match = match;
    l->u.script.ud = ud;
    l->u.script.ud_free = ud_free;
    l->u.script.nth = nth;
    l->u.script.count = count;
    l->u.script.every = every;
    if (every)
        l->desc = g_strdup("script(every)");
    else if (count == 1)
        l->desc = g_strdup_printf("script(nth=%" G_GUINT64_FORMAT ")", nth);
    else
        l->desc = g_strdup_printf("script(nth=%" G_GUINT64_FORMAT ",count=%"
                                  G_GUINT64_FORMAT ")", nth, count);
    return l;
}

void ns_loss_free(ns_loss *l)
{
    if (!l)
        return;
    if (l->kind == LOSS_SCRIPT && l->u.script.ud_free)
        l->u.script.ud_free(l->u.script.ud);
    g_free(l->desc);
    g_free(l);
}

/* Gilbert–Elliott: the loss is decided in the current state, then the
 * chain moves, so with loss_bad = 1 and loss_good = 0 a burst lasts as
 * long as a stay in the bad state: geometric with mean 1/p_bg packets.
 * Each packet takes exactly two draws, whatever the outcome, so the
 * stream's position depends only on the number of packets seen. */
static bool gilbert_drops(ns_loss *l, ns_rng *r)
{
    double p = l->u.ge.bad ? l->u.ge.loss_bad : l->u.ge.loss_good;
    bool lost = ns_rng_bernoulli(r, p);
    double move = l->u.ge.bad ? l->u.ge.p_bg : l->u.ge.p_gb;
    if (ns_rng_bernoulli(r, move))
        l->u.ge.bad = !l->u.ge.bad;
    return lost;
}

static bool script_drops(ns_loss *l, const ns_pkt *p)
{
    if (l->u.script.match && !l->u.script.match(p, l->u.script.ud))
        return false;
    uint64_t i = ++l->u.script.seen;           /* 1-based */
    if (l->u.script.every)
        return true;
    return i >= l->u.script.nth && i - l->u.script.nth < l->u.script.count;
}

bool ns_loss_drops(ns_loss *l, const ns_pkt *p, ns_rng *r)
{
    g_return_val_if_fail(l != NULL, false);
    switch (l->kind) {
    case LOSS_BERNOULLI:
        g_return_val_if_fail(r != NULL, false);
        return ns_rng_bernoulli(r, l->u.bern.p);
    case LOSS_GILBERT:
        g_return_val_if_fail(r != NULL, false);
        return gilbert_drops(l, r);
    case LOSS_SCRIPT:
        return script_drops(l, p);
    }
    return false;
}

const char *ns_loss_describe(const ns_loss *l)
{
    g_return_val_if_fail(l != NULL, "?");
    return l->desc;
}
