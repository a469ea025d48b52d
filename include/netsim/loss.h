/* loss.h — loss models on a link direction: Bernoulli(p), Gilbert–Elliott
 * bursts, and scripted drops ("the 3rd packet", "every SYN-ACK") so a
 * teacher can stage exactly one loss.  Each model draws from its own named
 * stream; several models on one direction are applied in order.
 */
#ifndef NETSIM_LOSS_H
#define NETSIM_LOSS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/pkt.h"
#include "netsim/rng.h"

typedef struct ns_loss ns_loss;

/* Whether a scripted rule matches a packet (e.g. "TCP with SYN and ACK"). */
typedef bool (*ns_pkt_match_fn)(const ns_pkt *p, void *ud);

ns_loss *ns_loss_bernoulli(double p, GError **error);          /* p in [0,1] */
/* Gilbert–Elliott: good->bad with p_gb, bad->good with p_bg, loss
 * probability loss_good / loss_bad in each state. */
ns_loss *ns_loss_gilbert(double p_gb, double p_bg, double loss_good,
                         double loss_bad, GError **error);
/* Drops the nth (1-based) packet that matches (match NULL = every packet),
 * `count` times in a row (1 = just that one); every = true drops every
 * matching packet. */
ns_loss *ns_loss_script(ns_pkt_match_fn match, void *ud, GDestroyNotify ud_free,
                        uint64_t nth, uint64_t count, bool every);
void     ns_loss_free(ns_loss *l);

/* Decides for one packet; r is the direction's loss stream. */
bool     ns_loss_drops(ns_loss *l, const ns_pkt *p, ns_rng *r);
const char *ns_loss_describe(const ns_loss *l);  /* "bernoulli(0.01)" */

#endif
