/* cc_newreno.c — NewReno (RFC 6582): Reno's windows (RFC 5681, see
 * cc_reno.c) with NewReno's fast recovery, which the TCP core runs when a
 * table lacks NS_CC_RENO_RECOVERY: a partial ACK retransmits the next hole
 * and stays in recovery instead of ending it.  The recovery difference lives
 * in the core because it decides retransmissions, which an algorithm never
 * sees; so this table is Reno's hooks under another name and flags.
 */
#include "cc_priv.h"

const struct ns_cc_ops ns_cc_newreno = {
    .name      = "newreno",
    .priv_size = sizeof(struct ns__cc_reno),
    .flags     = 0,
    .on_ack    = ns__cc_reno_on_ack,
    .ssthresh  = ns__cc_reno_ssthresh,
    .on_loss   = ns__cc_reno_on_loss,
};
