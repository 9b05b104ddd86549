
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "trtc_crypto.h"
#include "trtc_stun.h"


#define TRTC_STUN_FINGERPRINT_XOR     0x5354554e
#define TRTC_STUN_SHA1_LEN            20
#define TRTC_STUN_SHA256_LEN          32
#define TRTC_STUN_REASON_MAX          763
#define TRTC_STUN_MAX_LEN             65535

#define trtc_stun_pad(n)              (((n) + 3) & ~((size_t) 3))


static uint16_t trtc_stun_get16(const uint8_t *p);
static uint32_t trtc_stun_get32(const uint8_t *p);
static void trtc_stun_put16(uint8_t *p, uint16_t v);
static void trtc_stun_put32(uint8_t *p, uint32_t v);
static void trtc_stun_key(unsigned md, size_t md_len, const char *user,
    size_t user_len, const char *realm, size_t realm_len, const char *pass,
    size_t pass_len, uint8_t *key);
static int trtc_stun_hmac(unsigned md, const uint8_t *key, size_t key_len,
    const uint8_t *hdr, const uint8_t *data, size_t len, uint8_t *out,
    size_t out_size);
static uint32_t trtc_stun_crc32(const uint8_t *p, size_t len);
static int trtc_stun_check_mac(const trtc_stun_msg_t *msg, int index,
    unsigned md, size_t mac_len, const uint8_t *key, size_t key_len);
static uint8_t *trtc_stun_reserve(trtc_stun_builder_t *b, uint16_t type,
    size_t len);
static int trtc_stun_add_mac(trtc_stun_builder_t *b, uint16_t type,
    unsigned md, size_t mac_len, const uint8_t *key, size_t key_len);


/* RFC 8489 section 18.3, RFC 8656 section 18.4, RFC 6062 section 6.3 */
static const struct {
    unsigned     code;
    const char  *text;
} trtc_stun_reasons[] = {
    { 300, "Try Alternate" },
    { 400, "Bad Request" },
    { 401, "Unauthenticated" },
    { 403, "Forbidden" },
    { 420, "Unknown Attribute" },
    { 437, "Allocation Mismatch" },
    { 438, "Stale Nonce" },
    { 440, "Address Family not Supported" },
    { 441, "Wrong Credentials" },
    { 442, "Unsupported Transport Protocol" },
    { 443, "Peer Address Family Mismatch" },
    { 446, "Connection Already Exists" },
    { 447, "Connection Timeout or Failure" },
    { 486, "Allocation Quota Reached" },
    { 500, "Server Error" },
    { 508, "Insufficient Capacity" }
};


int
trtc_stun_parse(trtc_stun_msg_t *msg, const uint8_t *buf, size_t len)
{
    int                after;
    size_t             pos, end, plen;
    uint16_t           type, alen, mlen;
    unsigned           i;
    trtc_stun_attr_t  *a;

    msg->buf = buf;
    msg->len = 0;
    msg->type = 0;
    msg->method = 0;
    msg->cls = 0;
    memset(msg->tid, 0, TRTC_STUN_TID_LEN);
    msg->nattrs = 0;
    msg->nunknown = 0;
    msg->integrity = -1;
    msg->integrity_sha256 = -1;
    msg->fingerprint = -1;

    if (buf == NULL) {
        return TRTC_STUN_MALFORMED;
    }

    /* say NOT_STUN as early as the bytes allow: callers demultiplex on it */

    if (len >= 1 && (buf[0] & 0xc0) != 0) {
        return TRTC_STUN_NOT_STUN;
    }

    if (len >= 8 && trtc_stun_get32(buf + 4) != TRTC_STUN_MAGIC_COOKIE) {
        return TRTC_STUN_NOT_STUN;
    }

    if (len < TRTC_STUN_HEADER_LEN) {
        return TRTC_STUN_MALFORMED;
    }

    msg->type = trtc_stun_get16(buf);
    msg->cls = msg->type & 0x0110;
    msg->method = (msg->type & 0x000f) | ((msg->type >> 1) & 0x0070)
                  | ((msg->type >> 2) & 0x0f80);
    memcpy(msg->tid, buf + 8, TRTC_STUN_TID_LEN);

    mlen = trtc_stun_get16(buf + 2);

    if (mlen % 4 != 0 || len - TRTC_STUN_HEADER_LEN < mlen) {
        return TRTC_STUN_MALFORMED;
    }

    end = TRTC_STUN_HEADER_LEN + (size_t) mlen;

    /* 0: before MESSAGE-INTEGRITY, 1: after it, 2: after the SHA-256 one */
    after = 0;

    for (pos = TRTC_STUN_HEADER_LEN; pos < end; pos += 4 + plen) {
        /* FINGERPRINT must be the last attribute */
        if (msg->fingerprint >= 0 || end - pos < 4) {
            goto malformed;
        }

        type = trtc_stun_get16(buf + pos);
        alen = trtc_stun_get16(buf + pos + 2);
        plen = trtc_stun_pad((size_t) alen);

        if (end - pos - 4 < plen) {
            goto malformed;
        }

        switch (type) {

        case TRTC_STUN_ATTR_FINGERPRINT:
            if (alen != 4) {
                goto malformed;
            }

            break;

        case TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
            if (after == 2) {
                continue;
            }

            if (alen < 16 || alen > TRTC_STUN_SHA256_LEN || alen % 4 != 0) {
                goto malformed;
            }

            break;

        case TRTC_STUN_ATTR_MESSAGE_INTEGRITY:
            if (after != 0) {
                continue;
            }

            if (alen != TRTC_STUN_SHA1_LEN) {
                goto malformed;
            }

            break;

        default:
            /* RFC 8489 14.5, 14.6: ignored after an integrity attribute */
            if (after != 0) {
                continue;
            }
        }

        /*
         * attrs[].offset is 16 bits; only a message longer than 64K with
         * an attribute in its last bytes (TCP only) hits this.
         */
        if (pos > 0xffff || msg->nattrs == TRTC_STUN_MAX_ATTRS) {
            goto malformed;
        }

        a = &msg->attrs[msg->nattrs];
        a->value = buf + pos + 4;
        a->type = type;
        a->len = alen;
        a->offset = (uint16_t) pos;

        switch (type) {

        case TRTC_STUN_ATTR_FINGERPRINT:
            msg->fingerprint = (int) msg->nattrs;
            break;

        case TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
            msg->integrity_sha256 = (int) msg->nattrs;
            after = 2;
            break;

        case TRTC_STUN_ATTR_MESSAGE_INTEGRITY:
            msg->integrity = (int) msg->nattrs;
            after = 1;
            break;

        default:
            if (type >= 0x8000 || trtc_stun_attr_known(type)) {
                break;
            }

            for (i = 0; i < msg->nunknown; i++) {
                if (msg->unknown[i] == type) {
                    break;
                }
            }

            if (i == msg->nunknown && msg->nunknown < TRTC_STUN_MAX_UNKNOWN) {
                msg->unknown[msg->nunknown++] = type;
            }
        }

        msg->nattrs++;
    }

    msg->len = end;

    return TRTC_STUN_OK;

malformed:

    /* the header fields stay, so that a caller can answer 400 */
    msg->nattrs = 0;
    msg->nunknown = 0;
    msg->integrity = -1;
    msg->integrity_sha256 = -1;
    msg->fingerprint = -1;

    return TRTC_STUN_MALFORMED;
}


int
trtc_stun_is_stun(const uint8_t *buf, size_t len)
{
    uint16_t  mlen;

    if (buf == NULL || len < TRTC_STUN_HEADER_LEN || (buf[0] & 0xc0) != 0
        || trtc_stun_get32(buf + 4) != TRTC_STUN_MAGIC_COOKIE)
    {
        return 0;
    }

    mlen = trtc_stun_get16(buf + 2);

    return mlen % 4 == 0 && len - TRTC_STUN_HEADER_LEN >= mlen;
}


long
trtc_stun_frame_len(const uint8_t *buf, size_t len)
{
    uint16_t  n;

    if (len < 4) {
        return 0;
    }

    n = trtc_stun_get16(buf + 2);

    switch (buf[0] & 0xc0) {

    case 0x00:
        if (n % 4 != 0) {
            return -1;
        }

        /* the cookie keeps a desynchronized stream from passing as STUN */
        if (len < 8) {
            return 0;
        }

        if (trtc_stun_get32(buf + 4) != TRTC_STUN_MAGIC_COOKIE) {
            return -1;
        }

        return TRTC_STUN_HEADER_LEN + (long) n;

    case 0x40:
        if (trtc_stun_get16(buf) > TRTC_STUN_CHANNEL_MAX) {
            return -1;
        }

        /* padded to 4 over streams, RFC 8656 section 12.5 */
        return TRTC_STUN_CHANNEL_HEADER_LEN + (long) trtc_stun_pad(n);

    default:
        return -1;
    }
}


const trtc_stun_attr_t *
trtc_stun_find(const trtc_stun_msg_t *msg, uint16_t type)
{
    unsigned  i;

    for (i = 0; i < msg->nattrs; i++) {
        if (msg->attrs[i].type == type) {
            return &msg->attrs[i];
        }
    }

    return NULL;
}


int
trtc_stun_attr_known(uint16_t type)
{
    switch (type) {

    case TRTC_STUN_ATTR_MAPPED_ADDRESS:
    case TRTC_STUN_ATTR_USERNAME:
    case TRTC_STUN_ATTR_MESSAGE_INTEGRITY:
    case TRTC_STUN_ATTR_ERROR_CODE:
    case TRTC_STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case TRTC_STUN_ATTR_CHANNEL_NUMBER:
    case TRTC_STUN_ATTR_LIFETIME:
    case TRTC_STUN_ATTR_XOR_PEER_ADDRESS:
    case TRTC_STUN_ATTR_DATA:
    case TRTC_STUN_ATTR_REALM:
    case TRTC_STUN_ATTR_NONCE:
    case TRTC_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case TRTC_STUN_ATTR_EVEN_PORT:
    case TRTC_STUN_ATTR_REQUESTED_TRANSPORT:
    case TRTC_STUN_ATTR_DONT_FRAGMENT:
    case TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case TRTC_STUN_ATTR_PASSWORD_ALGORITHM:
    case TRTC_STUN_ATTR_USERHASH:
    case TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case TRTC_STUN_ATTR_RESERVATION_TOKEN:
    case TRTC_STUN_ATTR_PRIORITY:
    case TRTC_STUN_ATTR_USE_CANDIDATE:
    case TRTC_STUN_ATTR_PADDING:
    case TRTC_STUN_ATTR_RESPONSE_PORT:
    case TRTC_STUN_ATTR_CONNECTION_ID:
    case TRTC_STUN_ATTR_PASSWORD_ALGORITHMS:
    case TRTC_STUN_ATTR_ALTERNATE_DOMAIN:
    case TRTC_STUN_ATTR_SOFTWARE:
    case TRTC_STUN_ATTR_ALTERNATE_SERVER:
    case TRTC_STUN_ATTR_FINGERPRINT:
    case TRTC_STUN_ATTR_ICE_CONTROLLED:
    case TRTC_STUN_ATTR_ICE_CONTROLLING:
    case TRTC_STUN_ATTR_RESPONSE_ORIGIN:
    case TRTC_STUN_ATTR_OTHER_ADDRESS:
        return 1;

    default:
        return 0;
    }
}


int
trtc_stun_attr_u32(const trtc_stun_attr_t *attr, uint32_t *value)
{
    if (attr == NULL || attr->len != 4) {
        return TRTC_STUN_MALFORMED;
    }

    *value = trtc_stun_get32(attr->value);

    return TRTC_STUN_OK;
}


int
trtc_stun_attr_u8(const trtc_stun_attr_t *attr, uint8_t *value)
{
    size_t  want;

    if (attr == NULL) {
        return TRTC_STUN_MALFORMED;
    }

    /* EVEN-PORT is one byte; the others are a byte and 3 reserved ones */
    want = (attr->type == TRTC_STUN_ATTR_EVEN_PORT) ? 1 : 4;

    if (attr->len != want) {
        return TRTC_STUN_MALFORMED;
    }

    *value = attr->value[0];

    return TRTC_STUN_OK;
}


int
trtc_stun_attr_channel(const trtc_stun_attr_t *attr, uint16_t *channel)
{
    uint16_t  n;

    if (attr == NULL || attr->len != 4) {
        return TRTC_STUN_MALFORMED;
    }

    n = trtc_stun_get16(attr->value);

    if (n < TRTC_STUN_CHANNEL_MIN || n > TRTC_STUN_CHANNEL_MAX) {
        return TRTC_STUN_MALFORMED;
    }

    *channel = n;

    return TRTC_STUN_OK;
}


int
trtc_stun_attr_error(const trtc_stun_attr_t *attr, unsigned *code,
    const uint8_t **reason, size_t *reason_len)
{
    unsigned  cls, number;

    if (attr == NULL || attr->len < 4
        || attr->len - 4 > TRTC_STUN_REASON_MAX)
    {
        return TRTC_STUN_MALFORMED;
    }

    /* the 21 bits before the class are reserved: ignored on receipt */
    cls = attr->value[2] & 0x07;
    number = attr->value[3];

    if (cls < 3 || cls > 6 || number > 99) {
        return TRTC_STUN_MALFORMED;
    }

    *code = cls * 100 + number;
    *reason = attr->value + 4;
    *reason_len = attr->len - 4;

    return TRTC_STUN_OK;
}


int
trtc_stun_attr_addr(const trtc_stun_attr_t *attr, const uint8_t *tid,
    struct sockaddr_storage *sa, socklen_t *salen)
{
    size_t                i, alen;
    uint8_t               mask[16];
    uint16_t              port;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;

    if (attr == NULL || attr->len < 4) {
        return TRTC_STUN_MALFORMED;
    }

    switch (attr->value[1]) {

    case TRTC_STUN_FAMILY_IPV4:
        alen = 4;
        break;

    case TRTC_STUN_FAMILY_IPV6:
        alen = 16;
        break;

    default:
        return TRTC_STUN_MALFORMED;
    }

    if (attr->len != 4 + alen) {
        return TRTC_STUN_MALFORMED;
    }

    /* the XOR forms: the cookie, then (IPv6) the transaction id */
    memset(mask, 0, sizeof(mask));

    if (tid != NULL) {
        trtc_stun_put32(mask, TRTC_STUN_MAGIC_COOKIE);
        memcpy(mask + 4, tid, TRTC_STUN_TID_LEN);
    }

    port = trtc_stun_get16(attr->value + 2)
           ^ (uint16_t) (trtc_stun_get16(mask));

    memset(sa, 0, sizeof(struct sockaddr_storage));

    if (alen == 4) {
        memset(&sin, 0, sizeof(struct sockaddr_in));
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);

        for (i = 0; i < 4; i++) {
            ((uint8_t *) &sin.sin_addr)[i] = attr->value[4 + i] ^ mask[i];
        }

        memcpy(sa, &sin, sizeof(struct sockaddr_in));
        *salen = sizeof(struct sockaddr_in);

    } else {
        memset(&sin6, 0, sizeof(struct sockaddr_in6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);

        for (i = 0; i < 16; i++) {
            sin6.sin6_addr.s6_addr[i] = attr->value[4 + i] ^ mask[i];
        }

        memcpy(sa, &sin6, sizeof(struct sockaddr_in6));
        *salen = sizeof(struct sockaddr_in6);
    }

    return TRTC_STUN_OK;
}


int
trtc_stun_check_integrity(const trtc_stun_msg_t *msg, const uint8_t *key,
    size_t key_len)
{
    return trtc_stun_check_mac(msg, msg->integrity, TRTC_MD_SHA1,
                               TRTC_STUN_SHA1_LEN, key, key_len);
}


int
trtc_stun_check_integrity_sha256(const trtc_stun_msg_t *msg,
    const uint8_t *key, size_t key_len)
{
    return trtc_stun_check_mac(msg, msg->integrity_sha256, TRTC_MD_SHA256,
                               TRTC_STUN_SHA256_LEN, key, key_len);
}


static int
trtc_stun_check_mac(const trtc_stun_msg_t *msg, int index, unsigned md,
    size_t mac_len, const uint8_t *key, size_t key_len)
{
    int                      rc;
    size_t                   off;
    uint8_t                  hdr[TRTC_STUN_HEADER_LEN];
    uint8_t                  mac[TRTC_STUN_SHA256_LEN];
    const trtc_stun_attr_t  *a;

    if (index < 0 || (unsigned) index >= msg->nattrs || msg->buf == NULL) {
        return TRTC_STUN_MALFORMED;
    }

    a = &msg->attrs[index];
    off = a->offset;

    if (off < TRTC_STUN_HEADER_LEN || a->len > mac_len) {
        return TRTC_STUN_MALFORMED;
    }

    /* the length as if the message ended with this attribute */
    memcpy(hdr, msg->buf, TRTC_STUN_HEADER_LEN);
    trtc_stun_put16(hdr + 2,
                    (uint16_t) (off - TRTC_STUN_HEADER_LEN + 4 + a->len));

    if (trtc_stun_hmac(md, key, key_len, hdr, msg->buf + TRTC_STUN_HEADER_LEN,
                       off - TRTC_STUN_HEADER_LEN, mac, mac_len)
        != 0)
    {
        /* fail closed */
        return TRTC_STUN_MISMATCH;
    }

    /* a truncated SHA-256 MAC compares its leftmost bytes (RFC 8489 14.6) */
    rc = CRYPTO_memcmp(mac, a->value, a->len);

    OPENSSL_cleanse(mac, sizeof(mac));

    return rc == 0 ? TRTC_STUN_OK : TRTC_STUN_MISMATCH;
}


int
trtc_stun_check_fingerprint(const trtc_stun_msg_t *msg)
{
    uint8_t                  v[4];
    const trtc_stun_attr_t  *a;

    if (msg->fingerprint < 0 || (unsigned) msg->fingerprint >= msg->nattrs
        || msg->buf == NULL)
    {
        return TRTC_STUN_MALFORMED;
    }

    a = &msg->attrs[msg->fingerprint];

    if (a->len != 4) {
        return TRTC_STUN_MALFORMED;
    }

    /* parse() made it the last attribute, so the header length is right */
    trtc_stun_put32(v, trtc_stun_crc32(msg->buf, a->offset)
                       ^ TRTC_STUN_FINGERPRINT_XOR);

    return CRYPTO_memcmp(v, a->value, 4) == 0 ? TRTC_STUN_OK
                                               : TRTC_STUN_MISMATCH;
}


void
trtc_stun_key_md5(const char *user, size_t user_len, const char *realm,
    size_t realm_len, const char *pass, size_t pass_len, uint8_t *key)
{
    trtc_stun_key(TRTC_MD_MD5, 16, user, user_len, realm, realm_len, pass,
                  pass_len, key);
}


void
trtc_stun_key_sha256(const char *user, size_t user_len,
    const char *realm, size_t realm_len, const char *pass, size_t pass_len,
    uint8_t *key)
{
    trtc_stun_key(TRTC_MD_SHA256, TRTC_STUN_SHA256_LEN, user, user_len, realm,
                  realm_len, pass, pass_len, key);
}


static void
trtc_stun_key(unsigned md, size_t md_len, const char *user,
    size_t user_len, const char *realm, size_t realm_len, const char *pass,
    size_t pass_len, uint8_t *key)
{
    trtc_piece_t  p[5];

    p[0].data = user;
    p[0].len = user_len;
    p[1].data = ":";
    p[1].len = 1;
    p[2].data = realm;
    p[2].len = realm_len;
    p[3].data = ":";
    p[3].len = 1;
    p[4].data = pass;
    p[4].len = pass_len;

    if (trtc_digest(md, p, 5, key, md_len) == 0) {
        return;
    }

    /*
     * No digest (e.g. MD5 in a FIPS-only setup): a random key makes every
     * check fail, where a zero key would let anyone forge the integrity.
     */
    if (RAND_bytes(key, (int) md_len) != 1) {
        abort();
    }
}


static int
trtc_stun_hmac(unsigned md, const uint8_t *key, size_t key_len,
    const uint8_t *hdr, const uint8_t *data, size_t len, uint8_t *out,
    size_t out_size)
{
    trtc_piece_t  p[2];

    p[0].data = hdr;
    p[0].len = TRTC_STUN_HEADER_LEN;
    p[1].data = data;
    p[1].len = len;

    return trtc_hmac(md, key, key_len, p, 2, out, out_size);
}


void
trtc_stun_build_init(trtc_stun_builder_t *b, uint8_t *buf, size_t cap,
    uint16_t type, const uint8_t *tid)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->error = TRTC_STUN_OK;

    if (buf == NULL || cap < TRTC_STUN_HEADER_LEN) {
        b->error = TRTC_STUN_NO_SPACE;
        return;
    }

    trtc_stun_put16(buf, type & 0x3fff);
    trtc_stun_put16(buf + 2, 0);
    trtc_stun_put32(buf + 4, TRTC_STUN_MAGIC_COOKIE);

    if (tid != NULL) {
        memcpy(buf + 8, tid, TRTC_STUN_TID_LEN);

    } else if (RAND_bytes(buf + 8, TRTC_STUN_TID_LEN) != 1) {
        b->error = TRTC_STUN_MALFORMED;
        return;
    }

    b->len = TRTC_STUN_HEADER_LEN;
}


int
trtc_stun_add_attr(trtc_stun_builder_t *b, uint16_t type, const void *value,
    size_t len)
{
    uint8_t  *p;

    if (value == NULL && len > 0) {
        if (b->error == TRTC_STUN_OK) {
            b->error = TRTC_STUN_MALFORMED;
        }

        return b->error;
    }

    p = trtc_stun_reserve(b, type, len);
    if (p == NULL) {
        return b->error;
    }

    if (len > 0) {
        memcpy(p, value, len);
    }

    return TRTC_STUN_OK;
}


int
trtc_stun_add_u32(trtc_stun_builder_t *b, uint16_t type, uint32_t value)
{
    uint8_t  *p;

    p = trtc_stun_reserve(b, type, 4);
    if (p == NULL) {
        return b->error;
    }

    trtc_stun_put32(p, value);

    return TRTC_STUN_OK;
}


int
trtc_stun_add_addr(trtc_stun_builder_t *b, uint16_t type,
    const struct sockaddr *sa, const uint8_t *tid)
{
    size_t                i, alen;
    uint8_t               v[20], mask[16];
    const uint8_t        *addr;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;

    if (b->error != TRTC_STUN_OK) {
        return b->error;
    }

    /* copies: sa may point into a buffer of any alignment */

    if (sa != NULL && sa->sa_family == AF_INET) {
        memcpy(&sin, sa, sizeof(struct sockaddr_in));
        v[1] = TRTC_STUN_FAMILY_IPV4;
        memcpy(v + 2, &sin.sin_port, 2);
        addr = (const uint8_t *) &sin.sin_addr;
        alen = 4;

    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        memcpy(&sin6, sa, sizeof(struct sockaddr_in6));
        v[1] = TRTC_STUN_FAMILY_IPV6;
        memcpy(v + 2, &sin6.sin6_port, 2);
        addr = sin6.sin6_addr.s6_addr;
        alen = 16;

    } else {
        b->error = TRTC_STUN_MALFORMED;
        return b->error;
    }

    memset(mask, 0, sizeof(mask));

    if (tid != NULL) {
        trtc_stun_put32(mask, TRTC_STUN_MAGIC_COOKIE);
        memcpy(mask + 4, tid, TRTC_STUN_TID_LEN);
    }

    v[0] = 0;
    v[2] ^= mask[0];
    v[3] ^= mask[1];

    for (i = 0; i < alen; i++) {
        v[4 + i] = addr[i] ^ mask[i];
    }

    return trtc_stun_add_attr(b, type, v, 4 + alen);
}


int
trtc_stun_add_error(trtc_stun_builder_t *b, unsigned code,
    const char *reason)
{
    size_t    len;
    uint8_t  *p;

    if (b->error != TRTC_STUN_OK) {
        return b->error;
    }

    if (code < 300 || code > 699) {
        b->error = TRTC_STUN_MALFORMED;
        return b->error;
    }

    if (reason == NULL) {
        reason = trtc_stun_reason(code);
    }

    len = strlen(reason);

    /* cut at 763 bytes, but not inside a UTF-8 sequence */
    if (len > TRTC_STUN_REASON_MAX) {
        len = TRTC_STUN_REASON_MAX;

        while (len > 0 && ((uint8_t) reason[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    p = trtc_stun_reserve(b, TRTC_STUN_ATTR_ERROR_CODE, 4 + len);
    if (p == NULL) {
        return b->error;
    }

    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t) (code / 100);
    p[3] = (uint8_t) (code % 100);
    memcpy(p + 4, reason, len);

    return TRTC_STUN_OK;
}


int
trtc_stun_add_unknown(trtc_stun_builder_t *b, const uint16_t *types,
    unsigned n)
{
    unsigned  i;
    uint8_t  *p;

    if (types == NULL && n > 0) {
        if (b->error == TRTC_STUN_OK) {
            b->error = TRTC_STUN_MALFORMED;
        }

        return b->error;
    }

    p = trtc_stun_reserve(b, TRTC_STUN_ATTR_UNKNOWN_ATTRIBUTES,
                          (size_t) n * 2);
    if (p == NULL) {
        return b->error;
    }

    for (i = 0; i < n; i++) {
        trtc_stun_put16(p + 2 * i, types[i]);
    }

    return TRTC_STUN_OK;
}


int
trtc_stun_add_integrity(trtc_stun_builder_t *b, const uint8_t *key,
    size_t key_len)
{
    return trtc_stun_add_mac(b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY, TRTC_MD_SHA1,
                             TRTC_STUN_SHA1_LEN, key, key_len);
}


int
trtc_stun_add_integrity_sha256(trtc_stun_builder_t *b, const uint8_t *key,
    size_t key_len)
{
    return trtc_stun_add_mac(b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256,
                             TRTC_MD_SHA256, TRTC_STUN_SHA256_LEN, key,
                             key_len);
}


static int
trtc_stun_add_mac(trtc_stun_builder_t *b, uint16_t type, unsigned md,
    size_t mac_len, const uint8_t *key, size_t key_len)
{
    size_t    off;
    uint8_t  *p;

    /* reserve first: the header length must already cover the MAC */
    p = trtc_stun_reserve(b, type, mac_len);
    if (p == NULL) {
        return b->error;
    }

    off = (size_t) (p - 4 - b->buf);

    if (trtc_stun_hmac(md, key, key_len, b->buf,
                       b->buf + TRTC_STUN_HEADER_LEN,
                       off - TRTC_STUN_HEADER_LEN, p, mac_len)
        != 0)
    {
        b->error = TRTC_STUN_MALFORMED;
        return b->error;
    }

    return TRTC_STUN_OK;
}


int
trtc_stun_add_fingerprint(trtc_stun_builder_t *b)
{
    size_t    off;
    uint8_t  *p;

    p = trtc_stun_reserve(b, TRTC_STUN_ATTR_FINGERPRINT, 4);
    if (p == NULL) {
        return b->error;
    }

    off = (size_t) (p - 4 - b->buf);

    trtc_stun_put32(p, trtc_stun_crc32(b->buf, off)
                       ^ TRTC_STUN_FINGERPRINT_XOR);

    return TRTC_STUN_OK;
}


/*
 * Room for an attribute of len value bytes plus padding: writes its header
 * and the zero padding, updates the message length, and returns where the
 * value goes, or NULL with b->error set.
 */

static uint8_t *
trtc_stun_reserve(trtc_stun_builder_t *b, uint16_t type, size_t len)
{
    size_t    need;
    uint8_t  *p;

    if (b->error != TRTC_STUN_OK) {
        return NULL;
    }

    /* len is checked first, so that the sums below cannot wrap */
    if (len > TRTC_STUN_MAX_LEN) {
        b->error = TRTC_STUN_NO_SPACE;
        return NULL;
    }

    need = 4 + trtc_stun_pad(len);

    if (b->buf == NULL || b->len < TRTC_STUN_HEADER_LEN || b->len > b->cap
        || b->cap - b->len < need
        || b->len - TRTC_STUN_HEADER_LEN + need > TRTC_STUN_MAX_LEN)
    {
        b->error = TRTC_STUN_NO_SPACE;
        return NULL;
    }

    p = b->buf + b->len;

    trtc_stun_put16(p, type);
    trtc_stun_put16(p + 2, (uint16_t) len);
    memset(p + 4 + len, 0, trtc_stun_pad(len) - len);

    b->len += need;
    trtc_stun_put16(b->buf + 2, (uint16_t) (b->len - TRTC_STUN_HEADER_LEN));

    return p + 4;
}


const char *
trtc_stun_reason(unsigned code)
{
    size_t  i;

    for (i = 0; i < sizeof(trtc_stun_reasons) / sizeof(trtc_stun_reasons[0]);
         i++)
    {
        if (trtc_stun_reasons[i].code == code) {
            return trtc_stun_reasons[i].text;
        }
    }

    return "";
}


/*
 * CRC-32 (ISO-HDLC), the one FINGERPRINT uses: zlib's, which works on
 * several bytes at a time where a table walk does one.
 */

static uint32_t
trtc_stun_crc32(const uint8_t *p, size_t len)
{
    uLong  crc;

    crc = crc32(0L, Z_NULL, 0);

    /* zlib takes at most 4 GiB a call; STUN messages are 64 KiB */
    crc = crc32(crc, p, (uInt) len);

    return (uint32_t) crc;
}


static uint16_t
trtc_stun_get16(const uint8_t *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}


static uint32_t
trtc_stun_get32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static void
trtc_stun_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}


static void
trtc_stun_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}
