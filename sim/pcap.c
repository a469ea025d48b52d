/* pcap.c — capture files in the classic pcap format with nanosecond stamps.
 *
 * Invariant: every file holds exactly one 24-byte file header, written at
 * open, followed by whole records; a record's incl_len equals the bytes that
 * follow it (min(frame length, snaplen)) and its orig_len the frame length.
 *
 * Every multi-byte field is assembled byte by byte in little-endian order,
 * the order the magic 0xa1b23c4d announces when read back, so a file is the
 * same bytes whatever the host's endianness or struct padding.
 *
 * The writers of one sim sit in a registry attached to it under
 * PCAP_REGISTRY, in opening order; lookup by name is a linear scan, which
 * is fine for the handful of captures a run opens.
 */
#include <string.h>

#include "netsim/output.h"
#include "netsim/pcap.h"

#define PCAP_REGISTRY   "netsim.pcap"
#define PCAP_MAGIC_NS   0xa1b23c4du     /* classic pcap, nanosecond stamps */
#define PCAP_VERSION_MAJOR 2u
#define PCAP_VERSION_MINOR 4u
#define PCAP_FILE_HDR   24
#define PCAP_REC_HDR    16

struct ns_pcap {
    char      *name;                    /* output name, owned */
    ns_output *out;                     /* owned by the sim's outputs */
    uint64_t   frames;                  /* records written */
};

struct pcap_registry {
    GPtrArray *writers;                 /* ns_pcap*, owned, opening order */
};

static void pcap_free(gpointer p)
{
    ns_pcap *pc = p;
    g_free(pc->name);
    g_free(pc);
}

static void registry_free(gpointer p)
{
    struct pcap_registry *r = p;
    g_ptr_array_free(r->writers, TRUE);
    g_free(r);
}

static struct pcap_registry *registry_get(ns_sim *sim)
{
    struct pcap_registry *r = ns_sim_attached(sim, PCAP_REGISTRY);
    if (!r) {
        r = g_new0(struct pcap_registry, 1);
        r->writers = g_ptr_array_new_with_free_func(pcap_free);
        ns_sim_attach(sim, PCAP_REGISTRY, r, registry_free);
    }
    return r;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)((v >> 8) & 0xff);
    p[2] = (uint8_t)((v >> 16) & 0xff);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

ns_pcap *ns_pcap_open(ns_sim *sim, const char *name, GError **error)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    struct pcap_registry *r = registry_get(sim);
    for (guint i = 0; i < r->writers->len; i++) {
        ns_pcap *pc = g_ptr_array_index(r->writers, i);
        if (strcmp(pc->name, name) == 0)
            return pc;
    }

    ns_output *out = ns_output_open(sim, name, error);
    if (!out)
        return NULL;
    uint8_t hdr[PCAP_FILE_HDR];
    uint8_t *p = hdr;
    p = put_u32(p, PCAP_MAGIC_NS);
    p = put_u16(p, PCAP_VERSION_MAJOR);
    p = put_u16(p, PCAP_VERSION_MINOR);
    p = put_u32(p, 0);                  /* thiszone: stamps are simulated UTC */
    p = put_u32(p, 0);                  /* sigfigs: always 0 in practice */
    p = put_u32(p, NS_PCAP_SNAPLEN);
    p = put_u32(p, NS_PCAP_LINKTYPE);
    g_assert(p == hdr + sizeof hdr);
    fwrite(hdr, 1, sizeof hdr, ns_output_file(out));

    ns_pcap *pc = g_new0(ns_pcap, 1);
    pc->name = g_strdup(name);
    pc->out = out;
    g_ptr_array_add(r->writers, pc);
    return pc;
}

/* Writes len zero bytes: the stand-in for payload the model never built. */
static void write_zeros(FILE *fp, size_t len)
{
    static const uint8_t zeros[4096];   /* read-only: shared state is fine */
    while (len > 0) {
        size_t k = len < sizeof zeros ? len : sizeof zeros;
        fwrite(zeros, 1, k, fp);
        len -= k;
    }
}

void ns_pcap_write(ns_pcap *pc, ns_time_t t,
                   const struct ns_pcap_chunk *chunks, size_t n)
{
    g_return_if_fail(pc != NULL && (chunks != NULL || n == 0));
    /* ts_sec is 32 bits unsigned: a run may last 136 years, not more. */
    g_return_if_fail(t >= 0 && t / NS_SEC <= UINT32_MAX);
    FILE *fp = ns_output_file(pc->out);
    if (!fp)
        return;

    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += chunks[i].len;
    uint32_t orig_len = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    uint32_t incl_len = orig_len > NS_PCAP_SNAPLEN ? NS_PCAP_SNAPLEN : orig_len;

    uint8_t rec[PCAP_REC_HDR];
    uint8_t *p = rec;
    p = put_u32(p, (uint32_t)(t / NS_SEC));
    p = put_u32(p, (uint32_t)(t % NS_SEC));
    p = put_u32(p, incl_len);
    p = put_u32(p, orig_len);
    fwrite(rec, 1, sizeof rec, fp);

    size_t left = incl_len;
    for (size_t i = 0; i < n && left > 0; i++) {
        size_t k = chunks[i].len < left ? chunks[i].len : left;
        if (chunks[i].bytes)
            fwrite(chunks[i].bytes, 1, k, fp);
        else
            write_zeros(fp, k);
        left -= k;
    }
    pc->frames++;
}

uint64_t ns_pcap_frames(const ns_pcap *pc)
{
    g_return_val_if_fail(pc != NULL, 0);
    return pc->frames;
}

const char *ns_pcap_name(const ns_pcap *pc)
{
    g_return_val_if_fail(pc != NULL, NULL);
    return pc->name;
}
