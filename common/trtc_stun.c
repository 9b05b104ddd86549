
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


/* CRC-32 (ISO-HDLC, reflected 0xedb88320), the one FINGERPRINT uses */
static const uint32_t  trtc_stun_crc_table[256] = {
    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
    0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
    0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
    0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
    0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
    0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
    0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
    0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
    0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
    0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
    0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
    0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
    0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
    0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
    0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
    0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
    0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
    0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
    0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
    0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
    0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
    0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
    0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
    0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
    0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
    0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
    0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
    0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
    0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
    0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
    0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
    0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
    0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
    0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
    0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
    0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
    0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
    0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
    0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
    0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
    0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
    0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
    0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
    0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
    0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
    0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
    0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
    0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
    0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
    0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
    0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
    0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
    0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
    0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
    0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
    0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
    0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
    0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
    0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
    0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
    0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
    0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
    0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
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


static uint32_t
trtc_stun_crc32(const uint8_t *p, size_t len)
{
    uint32_t  crc;

    crc = 0xffffffff;

    while (len--) {
        crc = trtc_stun_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return crc ^ 0xffffffff;
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
