
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * Unit tests of common/trtc_crypto.c: RFC 2202 and RFC 4231 HMAC
 * vectors, digests, pieces, the per-thread key cache (same key again,
 * a key of the same length, a key too long to cache), bad arguments, and
 * two threads at once checked against OpenSSL's one-shot HMAC().
 */


#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "trtc_crypto.h"
#include "tap.h"


#define ROUNDS  3000


static size_t unhex(const char *s, uint8_t *out, size_t cap);
static int mac_is(unsigned md, const void *key, size_t key_len,
    const char *data, const char *want);
static void pieces3(trtc_piece_t *p, const char *a, const char *b,
    const char *c);
static void test_vectors(void);
static void test_digests(void);
static void test_pieces(void);
static void test_cache(void);
static void test_errors(void);
static void test_threads(void);
static void *thread_main(void *arg);


int
main(void)
{
    test_vectors();
    test_digests();
    test_pieces();
    test_cache();
    test_errors();
    test_threads();

    trtc_crypto_thread_cleanup();

    return tap_done();
}


static void
test_vectors(void)
{
    uint8_t  k0b[20], kaa[80];

    memset(k0b, 0x0b, sizeof(k0b));
    memset(kaa, 0xaa, sizeof(kaa));

    /* RFC 2202 2, test cases 1, 2 and 6 */
    tap_ok(mac_is(TRTC_MD_SHA1, k0b, 20, "Hi There",
                  "b617318655057264e28bc0b6fb378c8ef146be00"),
           "HMAC-SHA1 RFC 2202 case 1");
    tap_ok(mac_is(TRTC_MD_SHA1, "Jefe", 4, "what do ya want for nothing?",
                  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
           "HMAC-SHA1 RFC 2202 case 2");
    tap_ok(mac_is(TRTC_MD_SHA1, kaa, 80,
                  "Test Using Larger Than Block-Size Key - Hash Key First",
                  "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
           "HMAC-SHA1 RFC 2202 case 6 (80-byte key)");

    /* RFC 4231 4.2 and 4.3 */
    tap_ok(mac_is(TRTC_MD_SHA256, k0b, 20, "Hi There",
                  "b0344c61d8db38535ca8afceaf0bf12b"
                  "881dc200c9833da726e9376c2e32cff7"),
           "HMAC-SHA256 RFC 4231 case 1");
    tap_ok(mac_is(TRTC_MD_SHA256, "Jefe", 4, "what do ya want for nothing?",
                  "5bdcc146bf60754e6a042426089575c7"
                  "5a003f089d2739839dec58b964ec3843"),
           "HMAC-SHA256 RFC 4231 case 2");

    /* the empty key, also as NULL */
    tap_ok(mac_is(TRTC_MD_SHA1, "", 0, "",
                  "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"),
           "HMAC-SHA1 with an empty key and no data");
    tap_ok(mac_is(TRTC_MD_SHA1, NULL, 0, "",
                  "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"),
           "a NULL key is the empty key");
}


static void
test_digests(void)
{
    uint8_t       out[32], want[32];
    trtc_piece_t  p[3];

    pieces3(p, "a", "", "bc");

    unhex("900150983cd24fb0d6963f7d28e17f72", want, sizeof(want));
    tap_ok(trtc_digest(TRTC_MD_MD5, p, 3, out, 16) == 0
           && memcmp(out, want, 16) == 0, "MD5(\"abc\") in three pieces");

    unhex("a9993e364706816aba3e25717850c26c9cd0d89d", want, sizeof(want));
    tap_ok(trtc_digest(TRTC_MD_SHA1, p, 3, out, 20) == 0
           && memcmp(out, want, 20) == 0, "SHA1(\"abc\")");

    unhex("ba7816bf8f01cfea414140de5dae2223"
          "b00361a396177a9cb410ff61f20015ad", want, sizeof(want));
    tap_ok(trtc_digest(TRTC_MD_SHA256, p, 3, out, 32) == 0
           && memcmp(out, want, 32) == 0, "SHA256(\"abc\")");

    unhex("d41d8cd98f00b204e9800998ecf8427e", want, sizeof(want));
    tap_ok(trtc_digest(TRTC_MD_MD5, NULL, 0, out, 16) == 0
           && memcmp(out, want, 16) == 0, "MD5 of nothing");
}


static void
test_pieces(void)
{
    uint8_t       k0b[20], whole[20], split[20];
    trtc_piece_t  p[3];

    memset(k0b, 0x0b, sizeof(k0b));

    p[0].data = "Hi There";
    p[0].len = 8;
    tap_ok(trtc_hmac(TRTC_MD_SHA1, k0b, 20, p, 1, whole, 20) == 0,
           "one piece");

    pieces3(p, "Hi", "", " There");
    tap_ok(trtc_hmac(TRTC_MD_SHA1, k0b, 20, p, 3, split, 20) == 0
           && memcmp(whole, split, 20) == 0,
           "three pieces, one empty, give the same MAC");
}


/* each call must use its own key, whatever the previous call's was */

static void
test_cache(void)
{
    int       ok;
    uint8_t   k0b[20], k0c[20], kaa[80];
    unsigned  i;

    memset(k0b, 0x0b, sizeof(k0b));
    memset(k0c, 0x0c, sizeof(k0c));
    memset(kaa, 0xaa, sizeof(kaa));

    ok = 1;

    for (i = 0; i < 4; i++) {
        ok &= mac_is(TRTC_MD_SHA1, k0b, 20, "Hi There",
                     "b617318655057264e28bc0b6fb378c8ef146be00");
    }

    tap_ok(ok, "the same key four times");

    /* RFC 2202 case 3 uses 0xaa*20; 0x0c*20 is case 5's key */
    tap_ok(mac_is(TRTC_MD_SHA1, k0c, 20, "Test With Truncation",
                  "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
           "a key of the same length after it (RFC 2202 case 5)");
    tap_ok(mac_is(TRTC_MD_SHA1, k0b, 20, "Hi There",
                  "b617318655057264e28bc0b6fb378c8ef146be00"),
           "the first key again");
    tap_ok(mac_is(TRTC_MD_SHA1, kaa, 80,
                  "Test Using Larger Than Block-Size Key - Hash Key First",
                  "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
           "a key too long to cache");
    tap_ok(mac_is(TRTC_MD_SHA1, kaa, 80,
                  "Test Using Larger Than Block-Size Key - Hash Key First",
                  "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
           "the long key again");
    tap_ok(mac_is(TRTC_MD_SHA1, kaa, 20,
                  "Test Using Larger Than Block-Size Key - Hash Key First",
                  NULL),
           "a prefix of the long key is its own key");
    tap_ok(mac_is(TRTC_MD_SHA1, k0b, 19, "Hi There", NULL),
           "a shorter key with the same bytes is its own key");
    tap_ok(mac_is(TRTC_MD_SHA256, "Jefe", 4, "what do ya want for nothing?",
                  "5bdcc146bf60754e6a042426089575c7"
                  "5a003f089d2739839dec58b964ec3843")
           && mac_is(TRTC_MD_SHA1, "Jefe", 4, "what do ya want for nothing?",
                     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
           "one key in both digests: a cache for each");

    trtc_crypto_thread_cleanup();

    tap_ok(mac_is(TRTC_MD_SHA1, "Jefe", 4, "what do ya want for nothing?",
                  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
           "after cleanup the contexts are made again");
}


static void
test_errors(void)
{
    uint8_t       out[64];
    trtc_piece_t  p;

    p.data = "x";
    p.len = 1;

    tap_ok(trtc_hmac(TRTC_MD_SHA1, "k", 1, &p, 1, out, 19) == -1,
           "HMAC: an output of the wrong size is refused");
    tap_ok(trtc_hmac(TRTC_MD_SHA256, "k", 1, &p, 1, out, 64) == -1,
           "HMAC: a larger output is refused too");
    tap_ok(trtc_hmac(7, "k", 1, &p, 1, out, 20) == -1,
           "HMAC: an unknown digest is refused");
    tap_ok(trtc_digest(TRTC_MD_MD5, &p, 1, out, 20) == -1,
           "digest: an output of the wrong size is refused");
    tap_ok(trtc_digest(3, &p, 1, out, 16) == -1,
           "digest: an unknown digest is refused");
    tap_ok(mac_is(TRTC_MD_SHA1, "Jefe", 4, "what do ya want for nothing?",
                  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
           "and the next call works");
}


/* two threads, each with its own contexts, against OpenSSL's HMAC() */

typedef struct {
    unsigned  seed;
    unsigned  bad;
} worker_t;


static void
test_threads(void)
{
    unsigned   i;
    worker_t   w[2];
    pthread_t  t[2];

    for (i = 0; i < 2; i++) {
        w[i].seed = 12345 + i;
        w[i].bad = 0;
        tap_ok(pthread_create(&t[i], NULL, thread_main, &w[i]) == 0,
               "thread %u started", i);
    }

    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        tap_is_int(w[i].bad, 0, "thread %u: %d random MACs as HMAC() has "
                   "them", i, ROUNDS);
    }
}


static void *
thread_main(void *arg)
{
    size_t         key_len, len, j;
    uint8_t        keys[4][32], data[300], out[32], want[32];
    unsigned       i, k, md, want_len;
    worker_t      *w;
    trtc_piece_t   p[2];
    const EVP_MD  *evp;

    w = arg;

    /* few keys, two of one length and content but for a byte */
    for (k = 0; k < 4; k++) {
        for (i = 0; i < 32; i++) {
            keys[k][i] = (uint8_t) rand_r(&w->seed);
        }
    }

    memcpy(keys[1], keys[0], 32);
    keys[1][31] ^= 1;

    for (i = 0; i < ROUNDS; i++) {
        /* keys 0-2 whole, key 3 cut to a random length */
        k = (unsigned) rand_r(&w->seed) % 4;
        key_len = (k == 3) ? (size_t) rand_r(&w->seed) % 33 : 32;
        md = (unsigned) rand_r(&w->seed) % 2;
        len = (size_t) rand_r(&w->seed) % sizeof(data);

        for (j = 0; j < len; j++) {
            data[j] = (uint8_t) rand_r(&w->seed);
        }

        p[0].data = data;
        p[0].len = len / 2;
        p[1].data = data + len / 2;
        p[1].len = len - len / 2;

        evp = md ? EVP_sha256() : EVP_sha1();
        want_len = 0;

        if (HMAC(evp, keys[k], (int) key_len, data, len, want, &want_len)
            == NULL
            || trtc_hmac(md ? TRTC_MD_SHA256 : TRTC_MD_SHA1, keys[k],
                         key_len, p, 2, out, want_len)
               != 0
            || memcmp(out, want, want_len) != 0)
        {
            w->bad++;
        }
    }

    trtc_crypto_thread_cleanup();

    return NULL;
}


/* want NULL: the MAC that OpenSSL's one-shot HMAC() gives */

static int
mac_is(unsigned md, const void *key, size_t key_len, const char *data,
    const char *want)
{
    size_t        n;
    uint8_t       out[32], w[32], ref[32];
    unsigned int  ref_len;
    trtc_piece_t  p;

    p.data = data;
    p.len = strlen(data);
    n = (md == TRTC_MD_SHA1) ? 20 : 32;

    if (trtc_hmac(md, key, key_len, &p, 1, out, n) != 0) {
        return 0;
    }

    if (want != NULL) {
        return unhex(want, w, sizeof(w)) == n && memcmp(out, w, n) == 0;
    }

    /* the reference, with OpenSSL's own one-shot HMAC() */
    ref_len = 0;

    if (HMAC(md == TRTC_MD_SHA1 ? EVP_sha1() : EVP_sha256(), key,
             (int) key_len, (const uint8_t *) data, p.len, ref, &ref_len)
        == NULL)
    {
        return 0;
    }

    return ref_len == n && memcmp(out, ref, n) == 0;
}


static void
pieces3(trtc_piece_t *p, const char *a, const char *b, const char *c)
{
    p[0].data = a;
    p[0].len = strlen(a);
    p[1].data = b;
    p[1].len = strlen(b);
    p[2].data = c;
    p[2].len = strlen(c);
}


static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t    n;
    unsigned  v;

    n = 0;

    while (s[0] != '\0' && s[1] != '\0' && n < cap) {
        if (sscanf(s, "%2x", &v) != 1) {
            break;
        }

        out[n++] = (uint8_t) v;
        s += 2;
    }

    return n;
}
