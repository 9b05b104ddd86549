
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "trtc_crypto.h"


#define TRTC_MD_N       3
#define TRTC_KEY_CACHE  64           /* longer keys are set every time */


static EVP_MAC_CTX *trtc_crypto_mac(unsigned md);
static EVP_MD *trtc_crypto_md(unsigned md);


static const char    *trtc_md_names[TRTC_MD_N] = { "SHA1", "SHA256", "MD5" };
static const size_t   trtc_md_sizes[TRTC_MD_N] = { 20, 32, 16 };


/*
 * A context keeps its digest between calls, and its key too when the
 * next call has the same one (a request is checked and its response
 * signed with one key; the nonce key never changes): OpenSSL then skips
 * hashing the key into the inner and outer pads.
 */
static __thread EVP_MAC_CTX  *trtc_mac_ctx[TRTC_MD_N];
static __thread uint8_t       trtc_mac_key[TRTC_MD_N][TRTC_KEY_CACHE];
static __thread size_t        trtc_mac_key_len[TRTC_MD_N];
static __thread uint8_t       trtc_mac_keyed[TRTC_MD_N];
static __thread EVP_MD       *trtc_md[TRTC_MD_N];
static __thread EVP_MD_CTX   *trtc_md_ctx;


int
trtc_hmac(unsigned md, const void *key, size_t key_len,
    const trtc_piece_t *pieces, size_t npieces, uint8_t *out,
    size_t out_len)
{
    int                    same;
    size_t                 i, n;
    EVP_MAC_CTX           *ctx;
    static const uint8_t   empty[1];

    if (md >= TRTC_MD_N || out_len != trtc_md_sizes[md]) {
        return -1;
    }

    ctx = trtc_crypto_mac(md);
    if (ctx == NULL) {
        return -1;
    }

    if (key == NULL || key_len == 0) {
        key = empty;
        key_len = 0;
    }

    same = trtc_mac_keyed[md] && trtc_mac_key_len[md] == key_len
           && CRYPTO_memcmp(trtc_mac_key[md], key, key_len) == 0;

    /* until it succeeds, the context's key is unknown */
    trtc_mac_keyed[md] = 0;

    /* a NULL key means "the previous key" to EVP_MAC_init() */
    if (EVP_MAC_init(ctx, same ? NULL : key, same ? 0 : key_len, NULL) != 1) {
        return -1;
    }

    /* no copy of an older key stays behind this one, or instead of it */
    if (!same) {
        OPENSSL_cleanse(trtc_mac_key[md], TRTC_KEY_CACHE);
    }

    if (key_len <= TRTC_KEY_CACHE) {
        memcpy(trtc_mac_key[md], key, key_len);
        trtc_mac_key_len[md] = key_len;
        trtc_mac_keyed[md] = 1;
    }

    for (i = 0; i < npieces; i++) {
        if (pieces[i].len > 0
            && EVP_MAC_update(ctx, pieces[i].data, pieces[i].len) != 1)
        {
            return -1;
        }
    }

    if (EVP_MAC_final(ctx, out, &n, out_len) != 1 || n != out_len) {
        return -1;
    }

    return 0;
}


int
trtc_digest(unsigned md, const trtc_piece_t *pieces, size_t npieces,
    uint8_t *out, size_t out_len)
{
    size_t         i;
    EVP_MD        *alg;
    unsigned int   n;

    if (md >= TRTC_MD_N || out_len != trtc_md_sizes[md]) {
        return -1;
    }

    alg = trtc_crypto_md(md);
    if (alg == NULL) {
        return -1;
    }

    if (trtc_md_ctx == NULL) {
        trtc_md_ctx = EVP_MD_CTX_new();
        if (trtc_md_ctx == NULL) {
            return -1;
        }
    }

    if (EVP_DigestInit_ex2(trtc_md_ctx, alg, NULL) != 1) {
        return -1;
    }

    for (i = 0; i < npieces; i++) {
        if (pieces[i].len > 0
            && EVP_DigestUpdate(trtc_md_ctx, pieces[i].data, pieces[i].len)
               != 1)
        {
            return -1;
        }
    }

    if (EVP_DigestFinal_ex(trtc_md_ctx, out, &n) != 1 || n != out_len) {
        return -1;
    }

    return 0;
}


void
trtc_crypto_thread_cleanup(void)
{
    unsigned  i;

    for (i = 0; i < TRTC_MD_N; i++) {
        EVP_MAC_CTX_free(trtc_mac_ctx[i]);
        trtc_mac_ctx[i] = NULL;
        OPENSSL_cleanse(trtc_mac_key[i], TRTC_KEY_CACHE);
        trtc_mac_keyed[i] = 0;
        EVP_MD_free(trtc_md[i]);
        trtc_md[i] = NULL;
    }

    EVP_MD_CTX_free(trtc_md_ctx);
    trtc_md_ctx = NULL;
}


static EVP_MAC_CTX *
trtc_crypto_mac(unsigned md)
{
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    if (trtc_mac_ctx[md] != NULL) {
        return trtc_mac_ctx[md];
    }

    mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (mac == NULL) {
        return NULL;
    }

    ctx = EVP_MAC_CTX_new(mac);

    /* the context holds its own reference */
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return NULL;
    }

    /* OSSL_PARAM takes a writable string; OpenSSL copies the name */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) trtc_md_names[md],
                                                 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }

    trtc_mac_ctx[md] = ctx;

    return ctx;
}


static EVP_MD *
trtc_crypto_md(unsigned md)
{
    if (trtc_md[md] == NULL) {
        trtc_md[md] = EVP_MD_fetch(NULL, trtc_md_names[md], NULL);
    }

    return trtc_md[md];
}
