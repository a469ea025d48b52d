/* test_pcap.c — capture files, byte for byte, and as Wireshark reads them.
 *
 * The byte tests compare the file with the pcap layout spelt out field by
 * field (little-endian, as the magic announces); the tshark test checks the
 * same bytes against an independent reader: a hand-built Ethernet/IPv4/UDP
 * frame with correct checksums must decode cleanly, with its nanosecond
 * timestamp intact. */
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/output.h"
#include "netsim/pcap.h"
#include "tests.h"

static ns_sim *sim_in(const char *test, char **dir)
{
    *dir = g_build_filename(ns_test_tmpdir(), "pcap", test, NULL);
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, *dir, NULL));
    return sim;
}

/* Commits, frees the sim and returns the file's bytes. */
static GBytes *finish(ns_sim *sim, const char *dir, const char *name)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(sim, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    ns_sim_free(sim);
    char *p = g_build_filename(dir, name, NULL);
    char *data = NULL;
    gsize len = 0;
    CU_ASSERT_TRUE(g_file_get_contents(p, &data, &len, NULL));
    g_free(p);
    return g_bytes_new_take(data, len);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static const uint8_t file_header[24] = {
    0x4d, 0x3c, 0xb2, 0xa1,             /* magic 0xa1b23c4d: nanoseconds */
    0x02, 0x00, 0x04, 0x00,             /* version 2.4 */
    0x00, 0x00, 0x00, 0x00,             /* thiszone */
    0x00, 0x00, 0x00, 0x00,             /* sigfigs */
    0x00, 0x00, 0x04, 0x00,             /* snaplen 262144 */
    0x01, 0x00, 0x00, 0x00,             /* LINKTYPE_ETHERNET */
};

static void test_file_header(void)
{
    char *dir;
    ns_sim *sim = sim_in("header", &dir);
    ns_pcap *pc = ns_pcap_open(sim, "empty.pcap", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    CU_ASSERT_STRING_EQUAL(ns_pcap_name(pc), "empty.pcap");
    CU_ASSERT_EQUAL(ns_pcap_frames(pc), 0);
    GBytes *b = finish(sim, dir, "empty.pcap");
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    CU_ASSERT_EQUAL_FATAL(len, sizeof file_header);
    CU_ASSERT_EQUAL(memcmp(p, file_header, sizeof file_header), 0);
    g_bytes_unref(b);
    g_free(dir);
}

/* t = 1.5 s gives sec 1, nsec 500000000; a NULL chunk is written as zeros
 * and an empty chunk adds nothing. */
static void test_record(void)
{
    char *dir;
    ns_sim *sim = sim_in("record", &dir);
    ns_pcap *pc = ns_pcap_open(sim, "r.pcap", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    static const uint8_t head[] = { 0xaa, 0xbb, 0xcc };
    const struct ns_pcap_chunk chunks[] = {
        { head, sizeof head }, { NULL, 5 }, { head, 0 }, { head + 1, 2 },
    };
    ns_pcap_write(pc, 1500 * NS_MSEC, chunks, G_N_ELEMENTS(chunks));
    ns_pcap_write(pc, 2 * NS_SEC + 7, NULL, 0);        /* an empty frame */
    CU_ASSERT_EQUAL(ns_pcap_frames(pc), 2);

    GBytes *b = finish(sim, dir, "r.pcap");
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    CU_ASSERT_EQUAL_FATAL(len, 24 + 16 + 10 + 16);
    CU_ASSERT_EQUAL(memcmp(p, file_header, 24), 0);
    const uint8_t *r = p + 24;
    CU_ASSERT_EQUAL(le32(r), 1);
    CU_ASSERT_EQUAL(le32(r + 4), 500000000);
    CU_ASSERT_EQUAL(le32(r + 8), 10);
    CU_ASSERT_EQUAL(le32(r + 12), 10);
    static const uint8_t frame[10] = { 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0, 0xbb, 0xcc };
    CU_ASSERT_EQUAL(memcmp(r + 16, frame, sizeof frame), 0);
    r += 16 + 10;
    CU_ASSERT_EQUAL(le32(r), 2);
    CU_ASSERT_EQUAL(le32(r + 4), 7);
    CU_ASSERT_EQUAL(le32(r + 8), 0);
    CU_ASSERT_EQUAL(le32(r + 12), 0);
    g_bytes_unref(b);
    g_free(dir);
}

/* A frame beyond the snaplen is cut there; orig_len keeps its length. */
static void test_snaplen(void)
{
    char *dir;
    ns_sim *sim = sim_in("snaplen", &dir);
    ns_pcap *pc = ns_pcap_open(sim, "big.pcap", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    static const uint8_t tail[] = { 1, 2, 3, 4 };
    const struct ns_pcap_chunk chunks[] = {
        { NULL, NS_PCAP_SNAPLEN - 2 }, { tail, sizeof tail },
    };
    ns_pcap_write(pc, 0, chunks, 2);
    GBytes *b = finish(sim, dir, "big.pcap");
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    CU_ASSERT_EQUAL_FATAL(len, 24 + 16 + NS_PCAP_SNAPLEN);
    CU_ASSERT_EQUAL(le32(p + 24 + 8), NS_PCAP_SNAPLEN);
    CU_ASSERT_EQUAL(le32(p + 24 + 12), NS_PCAP_SNAPLEN + 2);
    CU_ASSERT_EQUAL(p[len - 3], 0);
    CU_ASSERT_EQUAL(p[len - 2], 1);
    CU_ASSERT_EQUAL(p[len - 1], 2);
    g_bytes_unref(b);
    g_free(dir);
}

/* Two interfaces capturing into one file share one writer; a bad name is
 * refused as ns_output_open refuses it. */
static void test_shared_writer(void)
{
    char *dir;
    ns_sim *sim = sim_in("shared", &dir);
    ns_pcap *a = ns_pcap_open(sim, "lan.pcap", NULL);
    ns_pcap *b = ns_pcap_open(sim, "lan.pcap", NULL);
    ns_pcap *c = ns_pcap_open(sim, "other.pcap", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_PTR_NOT_EQUAL(a, c);
    static const uint8_t x[] = { 7 };
    const struct ns_pcap_chunk ch = { x, 1 };
    ns_pcap_write(a, NS_SEC, &ch, 1);
    ns_pcap_write(b, 2 * NS_SEC, &ch, 1);
    CU_ASSERT_EQUAL(ns_pcap_frames(a), 2);
    CU_ASSERT_EQUAL(ns_pcap_frames(c), 0);

    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_pcap_open(sim, "../escape.pcap", &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    g_clear_error(&err);

    GBytes *bytes = finish(sim, dir, "lan.pcap");
    CU_ASSERT_EQUAL(g_bytes_get_size(bytes), 24 + 2 * (16 + 1));
    g_bytes_unref(bytes);
    g_free(dir);
}

/* --- tshark --- */

/* The Internet checksum (RFC 1071) of the concatenation of two buffers. */
static uint16_t inet_sum(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint32_t sum = 0;
    uint8_t *all = g_malloc(alen + blen + 1);
    memcpy(all, a, alen);
    if (blen)
        memcpy(all + alen, b, blen);
    all[alen + blen] = 0;               /* odd length: pad with a zero byte */
    for (size_t i = 0; i < alen + blen; i += 2)
        sum += (uint32_t)all[i] << 8 | all[i + 1];
    g_free(all);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void test_tshark_decodes(void)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark) {
        printf("\n  note: tshark not found, pcap decoding check skipped\n");
        return;
    }
    /* Payload: 12 bytes of text, then 4 length-only bytes (zeros). */
    static const char text[] = "hello netsim";
    const size_t text_len = sizeof text - 1, zeros = 4;
    const size_t udp_len = 8 + text_len + zeros;
    uint8_t hdr[14 + 20 + 8] = {
        0x02, 0, 0, 0, 0, 0x02,         /* destination MAC */
        0x02, 0, 0, 0, 0, 0x01,         /* source MAC */
        0x08, 0x00,                     /* IPv4 */
        0x45, 0x00, 0, 0,               /* version 4, IHL 5, total length */
        0x00, 0x01, 0x40, 0x00,         /* id 1, DF */
        64, 17, 0, 0,                   /* TTL, UDP, checksum */
        10, 0, 0, 1,                    /* source 10.0.0.1 */
        10, 0, 0, 2,                    /* destination 10.0.0.2 */
        0x13, 0x88, 0x17, 0x70,         /* ports 5000 -> 6000 */
        0, 0, 0, 0,                     /* length, checksum */
    };
    uint8_t *ip = hdr + 14, *udp = hdr + 34;
    put16(ip + 2, (uint16_t)(20 + udp_len));
    put16(ip + 10, inet_sum(ip, 20, NULL, 0));
    put16(udp + 4, (uint16_t)udp_len);
    /* RFC 768: the UDP checksum covers a pseudo-header, the UDP header and
     * the data; the trailing zeros add nothing to the sum. */
    uint8_t pseudo[12 + 8 + sizeof text - 1];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 17;
    put16(pseudo + 10, (uint16_t)udp_len);
    memcpy(pseudo + 12, udp, 8);
    memcpy(pseudo + 20, text, text_len);
    uint8_t pad[4] = { 0 };
    uint16_t csum = inet_sum(pseudo, sizeof pseudo, pad, zeros);
    put16(udp + 6, csum ? csum : 0xffff);

    char *dir;
    ns_sim *sim = sim_in("tshark", &dir);
    ns_pcap *pc = ns_pcap_open(sim, "udp.pcap", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    const struct ns_pcap_chunk chunks[] = {
        { hdr, sizeof hdr }, { (const uint8_t *)text, text_len }, { NULL, zeros },
    };
    ns_pcap_write(pc, 1500 * NS_MSEC + 123, chunks, G_N_ELEMENTS(chunks));
    g_bytes_unref(finish(sim, dir, "udp.pcap"));

    char *file = g_build_filename(dir, "udp.pcap", NULL);
    char *argv[] = {
        tshark, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        "-r", file, "-V", NULL,
    };
    char *out = NULL, *errout = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                &out, &errout, &status, &err));
    CU_ASSERT_PTR_NULL(err);
    if (out) {
        CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "1.500000123"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Src: 10.0.0.1, Dst: 10.0.0.2"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Src Port: 5000, Dst Port: 6000"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Header checksum status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Checksum Status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Data (16 bytes)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Frame Length: 58 bytes"));
        CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
        CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
        if (!strstr(out, "1.500000123") || strstr(out, "Malformed") || strstr(out, "Bad"))
            fprintf(stderr, "\ntshark said:\n%s\n%s\n", out, errout ? errout : "");
    }
    g_clear_error(&err);
    g_free(out);
    g_free(errout);
    g_free(file);
    g_free(dir);
    g_free(tshark);
}

void test_pcap_register(void)
{
    CU_pSuite s = ns_test_suite("pcap", NULL, NULL);
    ns_test_add(s, "file header: nanosecond magic, 2.4, snaplen, Ethernet", test_file_header);
    ns_test_add(s, "record: time split, zero chunks, empty frame", test_record);
    ns_test_add(s, "frames beyond the snaplen are cut", test_snaplen);
    ns_test_add(s, "one writer per name", test_shared_writer);
    ns_test_add(s, "tshark decodes a UDP frame, checksums good", test_tshark_decodes);
}
