
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_CRYPTO_H_INCLUDED_
#define _TRTC_CRYPTO_H_INCLUDED_


/*
 * HMACs and digests over a few pieces, with OpenSSL's algorithm objects
 * fetched once per thread.  OpenSSL 3 looks an algorithm up by name (under
 * a lock) for every one-shot HMAC() or EVP_MAC_fetch(); on 100-byte STUN
 * messages that lookup costs more than the MAC itself.  Compiled into both
 * nginx's module and turnd; contexts are per thread, so nothing is shared.
 */


#include <stddef.h>
#include <stdint.h>


#define TRTC_MD_SHA1     0
#define TRTC_MD_SHA256   1
#define TRTC_MD_MD5      2

typedef struct {
    const void  *data;
    size_t       len;
} trtc_piece_t;


/*
 * out = HMAC(md, key, pieces), out_len bytes exactly (the digest's size).
 * Returns 0, or -1 (unknown digest, wrong out_len, OpenSSL failure).
 */
int trtc_hmac(unsigned md, const void *key, size_t key_len,
    const trtc_piece_t *pieces, size_t npieces, uint8_t *out,
    size_t out_len);

/* out = md(pieces), as trtc_hmac() */
int trtc_digest(unsigned md, const trtc_piece_t *pieces, size_t npieces,
    uint8_t *out, size_t out_len);

/* frees this thread's contexts (a thread that used them and ends) */
void trtc_crypto_thread_cleanup(void);


#endif /* _TRTC_CRYPTO_H_INCLUDED_ */
