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
#include "tls_priv.h"

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void ns__tls_keystream(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len)
{
    uint64_t s = mix(key ^ mix((uint64_t)dir + 1) ^ mix(seq * 0x9e3779b97f4a7c15ull + 7));
    for (size_t i = 0; i < len; i += 8) {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t w = mix(s);
        for (size_t k = 0; k < 8 && i + k < len; k++)
            buf[i + k] = (uint8_t)(w >> (8 * k));
    }
}

uint32_t ns__tls_overhead(enum ns_tls_version v, enum ns_tls_cipher c)
{
    if (v == NS_TLS_13)
        return 1 + 16;                    /* inner content type + tag */
    return c == NS_TLS_CHACHA20 ? 16 : 8 + 16;
}
