/* tls_record.c — what stands in for AEAD record protection.
 *
 * Invariant: a protected record has exactly the length a real one has
 * (RFC 8446 5.2: inner plaintext + content type + 16-byte tag; RFC 5246
 * 6.2.3.3 with RFC 5288: 8-byte explicit nonce + 16-byte tag for AES-GCM,
 * RFC 7905: 16-byte tag for ChaCha20-Poly1305), and its bytes are the
 * plaintext XORed with a keystream that depends only on (key, direction,
 * record number).  The key is derived from the ClientHello random, which
 * both sides read, so the receiver recovers the plaintext and parses real
 * messages; no simulation random stream is consumed, so capturing or not
 * never changes a run.  This is not cryptography and does not try to be.
 */
#include <string.h>

#include "tls_priv.h"

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Where the keystream of one record starts: it depends on nothing but
 * (key, direction, record number). */
static uint64_t ks_seed(uint64_t key, int dir, uint64_t seq)
{
    return mix(key ^ mix((uint64_t)dir + 1) ^ mix(seq * 0x9e3779b97f4a7c15ull + 7));
}

/* XORs the keystream of (key, dir, seq) into buf, in place: whole words
 * through memcpy (which compilers turn into plain loads and stores), the
 * tail byte by byte.  The byte order is fixed (little-endian words), so
 * the bytes on the wire are the same on any host. */
void ns__tls_keystream_xor(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len)
{
    uint64_t s = ks_seed(key, dir, seq);
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= len; i += 8) {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t w = mix(s), v;
        memcpy(&v, buf + i, 8);
        v ^= w;
        memcpy(buf + i, &v, 8);
    }
#endif
    for (; i < len; i += 8) {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t w = mix(s);
        for (size_t k = 0; k < 8 && i + k < len; k++)
            buf[i + k] ^= (uint8_t)(w >> (8 * k));
    }
}

uint32_t ns__tls_overhead(enum ns_tls_version v, enum ns_tls_cipher c)
{
    if (v == NS_TLS_13)
        return 1 + 16;                    /* inner content type + tag */
    return c == NS_TLS_CHACHA20 ? 16 : 8 + 16;
}
