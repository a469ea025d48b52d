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

#define KS_GAMMA 0x9e3779b97f4a7c15ull   /* the keystream counter's step */

/* XORs keystream words s+GAMMA, s+2*GAMMA, ... into buf from byte i on,
 * whole words through memcpy (which compilers turn into plain loads and
 * stores), the tail byte by byte.  Words are little-endian, so the bytes
 * on the wire are the same on any host. */
static void xor_words(uint64_t s, uint8_t *buf, size_t i, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= len; i += 8) {
        s += KS_GAMMA;
        uint64_t w = mix(s), v;
        memcpy(&v, buf + i, 8);
        v ^= w;
        memcpy(buf + i, &v, 8);
    }
#endif
    for (; i < len; i += 8) {
        s += KS_GAMMA;
        uint64_t w = mix(s);
        for (size_t k = 0; k < 8 && i + k < len; k++)
            buf[i + k] ^= (uint8_t)(w >> (8 * k));
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Four keystream words at a time with AVX2, where the CPU has it: every
 * record's bytes pass through here twice (sealed, then opened), and the
 * scalar loop was the model's largest cost after the event queue.  AVX2
 * has no 64-bit multiply, so x * c (mod 2^64) is built from 32x32->64
 * products: lo(x)lo(c) + ((hi(x)lo(c) + lo(x)hi(c)) << 32).  Integer
 * arithmetic only: the words are exactly those of mix(). */
__attribute__((target("avx2")))
static inline __m256i mul64(__m256i x, __m256i c, __m256i c_hi)
{
    __m256i lo = _mm256_mul_epu32(x, c);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(x, 32), c),
                                     _mm256_mul_epu32(x, c_hi));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

/* fill: buf holds zeros to be (its bytes are not read), so the keystream
 * is stored rather than XORed in. */
__attribute__((target("avx2")))
static void xor_avx2(uint64_t s, uint8_t *buf, size_t len, bool fill)
{
    const __m256i c1 = _mm256_set1_epi64x((long long)0xbf58476d1ce4e5b9ull);
    const __m256i c1h = _mm256_srli_epi64(c1, 32);
    const __m256i c2 = _mm256_set1_epi64x((long long)0x94d049bb133111ebull);
    const __m256i c2h = _mm256_srli_epi64(c2, 32);
    const __m256i step = _mm256_set1_epi64x((long long)(4 * KS_GAMMA));
    __m256i ctr = _mm256_set_epi64x((long long)(s + 4 * KS_GAMMA), (long long)(s + 3 * KS_GAMMA),
                                    (long long)(s + 2 * KS_GAMMA), (long long)(s + KS_GAMMA));
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m256i z = ctr;
        z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), c1, c1h);
        z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), c2, c2h);
        z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
        if (!fill)
            z = _mm256_xor_si256(z, _mm256_loadu_si256((const __m256i *)(const void *)(buf + i)));
        _mm256_storeu_si256((__m256i *)(void *)(buf + i), z);
        ctr = _mm256_add_epi64(ctr, step);
    }
    if (fill)
        memset(buf + i, 0, len - i);
    xor_words(s + (i / 8) * KS_GAMMA, buf, i, len);
}

#endif

static void keystream(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len, bool fill)
{
    uint64_t s = ks_seed(key, dir, seq);
#if defined(__x86_64__) && defined(__GNUC__)
    if (len >= 64 && __builtin_cpu_supports("avx2")) {
        xor_avx2(s, buf, len, fill);
        return;
    }
#endif
    if (fill)
        memset(buf, 0, len);
    xor_words(s, buf, 0, len);
}

/* XORs the keystream of (key, dir, seq) into buf, in place. */
void ns__tls_keystream_xor(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len)
{
    keystream(key, dir, seq, buf, len, false);
}

/* Writes the keystream of (key, dir, seq) to buf: what XORing it into
 * zeros gives, without zeroing buf first. */
void ns__tls_keystream_fill(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len)
{
    keystream(key, dir, seq, buf, len, true);
}

uint32_t ns__tls_overhead(enum ns_tls_version v, enum ns_tls_cipher c)
{
    if (v == NS_TLS_13)
        return 1 + 16;                    /* inner content type + tag */
    return c == NS_TLS_CHACHA20 ? 16 : 8 + 16;
}
