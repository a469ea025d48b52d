/* pcap.h — packet captures in the classic pcap format, nanosecond flavour.
 *
 * A capture is one output file (output.h: written as "<name>.part" and
 * renamed at commit) that Wireshark and tshark read directly: magic
 * 0xa1b23c4d (nanosecond timestamps), version 2.4, snaplen 262144, link
 * type 1 (Ethernet).  Record timestamps are simulated time, so a capture
 * depends only on the run, never on the wall clock.
 *
 * The writer knows no protocol: a frame is handed over as a list of byte
 * chunks (headers built by the network layer, then the payload), and a chunk
 * without bytes stands for that many zero bytes, so length-only payloads
 * cost nothing to model and still give the right frame length on the wire.
 *
 * Invariant: one writer per file name per sim.  Opening a name a second time
 * returns the writer already open, so several interfaces can share a file;
 * the sim owns every writer and frees it in ns_sim_free.
 */
#ifndef NETSIM_PCAP_H
#define NETSIM_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"
#include "netsim/time.h"

#define NS_PCAP_SNAPLEN  262144u    /* bytes kept per frame (Wireshark's default) */
#define NS_PCAP_LINKTYPE 1u         /* LINKTYPE_ETHERNET */

typedef struct ns_pcap ns_pcap;

/* A piece of a frame.  bytes == NULL means `len` zero bytes. */
struct ns_pcap_chunk {
    const uint8_t *bytes;           /* borrowed for the call, or NULL */
    size_t         len;             /* bytes */
};

/* Opens the capture `name` (used verbatim as the output name, e.g.
 * "a-eth0.pcap") and writes its file header, or returns the writer already
 * open under that name.  Fails (NULL, error set) as ns_output_open does:
 * invalid name, name taken by another kind of output, unwritable folder. */
ns_pcap    *ns_pcap_open(ns_sim *sim, const char *name, GError **error);

/* Appends one frame made of chunks[0..n) at simulated time t (t >= 0).
 * Frames longer than the snaplen are cut there, their record keeping the
 * full length as orig_len.  Write errors surface at ns_output_commit_all;
 * frames written after the capture was committed or aborted are dropped. */
void        ns_pcap_write(ns_pcap *pc, ns_time_t t,
                          const struct ns_pcap_chunk *chunks, size_t n);

uint64_t    ns_pcap_frames(const ns_pcap *pc);     /* frames written so far */
const char *ns_pcap_name(const ns_pcap *pc);

#endif
