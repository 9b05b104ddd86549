
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_STUN_H_INCLUDED_
#define _TRTC_STUN_H_INCLUDED_


/*
 * STUN (RFC 8489) and TURN (RFC 8656) message codec, shared by turnd and
 * ngx_http_trtc_module (the stun health check).  No allocation, no nginx
 * and no turnd headers: a parsed message points into the caller's buffer.
 * Every length is checked before it is read, and multi-byte fields are
 * read byte by byte, so input of any alignment is safe.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>


#define TRTC_STUN_HEADER_LEN          20
#define TRTC_STUN_MAGIC_COOKIE        0x2112a442
#define TRTC_STUN_TID_LEN             12
#define TRTC_STUN_MAX_ATTRS           40
#define TRTC_STUN_MAX_UNKNOWN         8
#define TRTC_STUN_CHANNEL_HEADER_LEN  4

/*
 * A buffer for the largest message we ever build or accept over a stream
 * (the length field is a multiple of 4, so messages end at 20 + 65532)
 */
#define TRTC_STUN_MAX_MSG             (65535 + TRTC_STUN_HEADER_LEN)


/* methods */
#define TRTC_STUN_BINDING             0x001
#define TRTC_STUN_ALLOCATE            0x003
#define TRTC_STUN_REFRESH             0x004
#define TRTC_STUN_SEND                0x006
#define TRTC_STUN_DATA                0x007
#define TRTC_STUN_CREATE_PERMISSION   0x008
#define TRTC_STUN_CHANNEL_BIND        0x009

/* classes, in their position within the message type */
#define TRTC_STUN_REQUEST             0x000
#define TRTC_STUN_INDICATION          0x010
#define TRTC_STUN_SUCCESS             0x100
#define TRTC_STUN_ERROR               0x110

#define trtc_stun_type(method, cls)                                           \
    ((uint16_t) ((((method) & 0xf80) << 2) | (((method) & 0x070) << 1)        \
                 | ((method) & 0x00f) | (cls)))

/* attributes, comprehension-required (< 0x8000) */
#define TRTC_STUN_ATTR_MAPPED_ADDRESS           0x0001
#define TRTC_STUN_ATTR_USERNAME                 0x0006
#define TRTC_STUN_ATTR_MESSAGE_INTEGRITY        0x0008
#define TRTC_STUN_ATTR_ERROR_CODE               0x0009
#define TRTC_STUN_ATTR_UNKNOWN_ATTRIBUTES       0x000a
#define TRTC_STUN_ATTR_CHANNEL_NUMBER           0x000c
#define TRTC_STUN_ATTR_LIFETIME                 0x000d
#define TRTC_STUN_ATTR_XOR_PEER_ADDRESS         0x0012
#define TRTC_STUN_ATTR_DATA                     0x0013
#define TRTC_STUN_ATTR_REALM                    0x0014
#define TRTC_STUN_ATTR_NONCE                    0x0015
#define TRTC_STUN_ATTR_XOR_RELAYED_ADDRESS      0x0016
#define TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY 0x0017
#define TRTC_STUN_ATTR_EVEN_PORT                0x0018
#define TRTC_STUN_ATTR_REQUESTED_TRANSPORT      0x0019
#define TRTC_STUN_ATTR_DONT_FRAGMENT            0x001a
#define TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001c
#define TRTC_STUN_ATTR_PASSWORD_ALGORITHM       0x001d
#define TRTC_STUN_ATTR_USERHASH                 0x001e
#define TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS       0x0020
#define TRTC_STUN_ATTR_RESERVATION_TOKEN        0x0022
#define TRTC_STUN_ATTR_PRIORITY                 0x0024
#define TRTC_STUN_ATTR_USE_CANDIDATE            0x0025
#define TRTC_STUN_ATTR_PADDING                  0x0026
#define TRTC_STUN_ATTR_RESPONSE_PORT            0x0027
#define TRTC_STUN_ATTR_CONNECTION_ID            0x002a

/* attributes, comprehension-optional (>= 0x8000) */
#define TRTC_STUN_ATTR_PASSWORD_ALGORITHMS      0x8002
#define TRTC_STUN_ATTR_ALTERNATE_DOMAIN         0x8003
#define TRTC_STUN_ATTR_SOFTWARE                 0x8022
#define TRTC_STUN_ATTR_ALTERNATE_SERVER         0x8023
#define TRTC_STUN_ATTR_FINGERPRINT              0x8028
#define TRTC_STUN_ATTR_ICE_CONTROLLED           0x8029
#define TRTC_STUN_ATTR_ICE_CONTROLLING          0x802a
#define TRTC_STUN_ATTR_RESPONSE_ORIGIN          0x802b
#define TRTC_STUN_ATTR_OTHER_ADDRESS            0x802c

/* PASSWORD-ALGORITHM values (RFC 8489 section 18.5) */
#define TRTC_STUN_PASSWORD_MD5        0x0001
#define TRTC_STUN_PASSWORD_SHA256     0x0002

/* REQUESTED-TRANSPORT protocol numbers */
#define TRTC_STUN_TRANSPORT_UDP       17
#define TRTC_STUN_TRANSPORT_TCP       6

/* REQUESTED-ADDRESS-FAMILY values */
#define TRTC_STUN_FAMILY_IPV4         0x01
#define TRTC_STUN_FAMILY_IPV6         0x02


/* results of trtc_stun_parse() and the other functions returning int */
#define TRTC_STUN_OK                  0
#define TRTC_STUN_NOT_STUN           -1   /* wrong top bits or cookie */
#define TRTC_STUN_MALFORMED          -2   /* a length or layout error */
#define TRTC_STUN_NO_SPACE           -3   /* a builder ran out of room */
#define TRTC_STUN_MISMATCH           -4   /* integrity or fingerprint */


typedef struct {
    const uint8_t  *value;       /* points into the message */
    uint16_t        type;
    uint16_t        len;         /* value length, without padding */
    uint16_t        offset;      /* of the attribute header, from buf */
} trtc_stun_attr_t;


typedef struct {
    const uint8_t     *buf;
    size_t             len;             /* 20 + the header's length */

    uint16_t           type;
    uint16_t           method;
    uint16_t           cls;
    uint8_t            tid[TRTC_STUN_TID_LEN];

    /*
     * Attributes in order.  Only the first occurrence of each type is
     * used by trtc_stun_find(); attributes after MESSAGE-INTEGRITY other
     * than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and after
     * MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are dropped as
     * RFC 8489 sections 14.5 and 14.6 say (and not counted as unknown).
     */
    trtc_stun_attr_t   attrs[TRTC_STUN_MAX_ATTRS];
    unsigned           nattrs;

    /* comprehension-required attributes this codec does not know */
    uint16_t           unknown[TRTC_STUN_MAX_UNKNOWN];
    unsigned           nunknown;

    /* indexes into attrs[], or -1 */
    int                integrity;
    int                integrity_sha256;
    int                fingerprint;
} trtc_stun_msg_t;


typedef struct {
    uint8_t           *buf;
    size_t             cap;
    size_t             len;
    int                error;           /* sticky TRTC_STUN_NO_SPACE, or
                                           MALFORMED for a bad argument */
} trtc_stun_builder_t;


/*
 * Checks the header and walks every attribute.  len may be larger than the
 * message (a datagram with trailing junk is rejected by the caller by
 * comparing msg->len).  Returns TRTC_STUN_OK, TRTC_STUN_NOT_STUN or
 * TRTC_STUN_MALFORMED.  Too many attributes is MALFORMED, so is a
 * FINGERPRINT that is not last or not 4 bytes, a MESSAGE-INTEGRITY that is
 * not 20 bytes, a MESSAGE-INTEGRITY-SHA256 that is not 16..32 bytes in
 * steps of 4, and (offset being 16 bits) a kept attribute starting past
 * byte 65535, which only a message over 64K can have.  A MALFORMED message
 * whose header was whole keeps type, method, cls and tid (to answer 400)
 * and has no attributes.
 */
int trtc_stun_parse(trtc_stun_msg_t *msg, const uint8_t *buf, size_t len);

/* quick test: could buf be a STUN message? (top bits, cookie, length) */
int trtc_stun_is_stun(const uint8_t *buf, size_t len);

/*
 * Framing of a byte stream (TURN over TCP/TLS): the total length of the
 * next frame at buf, a STUN message or a ChannelData message padded to a
 * multiple of 4 (RFC 8656 section 12.5), 0 when more bytes are needed to
 * tell, or -1 when the stream is not STUN/ChannelData.
 */
long trtc_stun_frame_len(const uint8_t *buf, size_t len);

const trtc_stun_attr_t *trtc_stun_find(const trtc_stun_msg_t *msg,
    uint16_t type);

/* 1 if the type is one this codec knows (so not a 420 unknown) */
int trtc_stun_attr_known(uint16_t type);

/*
 * Attribute value accessors; each checks the attribute's length.  u8 reads
 * the first byte of EVEN-PORT (1 byte) or of a 4-byte value
 * (REQUESTED-TRANSPORT, REQUESTED-ADDRESS-FAMILY).  channel also checks
 * the range 0x4000..0x4fff.  error checks class 3..6, number 0..99 and a
 * reason of at most 763 bytes (not that it is valid UTF-8).
 */
int trtc_stun_attr_u32(const trtc_stun_attr_t *attr, uint32_t *value);
int trtc_stun_attr_u8(const trtc_stun_attr_t *attr, uint8_t *value);
int trtc_stun_attr_channel(const trtc_stun_attr_t *attr, uint16_t *channel);
int trtc_stun_attr_error(const trtc_stun_attr_t *attr, unsigned *code,
    const uint8_t **reason, size_t *reason_len);

/*
 * MAPPED-ADDRESS, or the XOR forms (tid is the message's transaction id;
 * pass NULL for a plain address).  Fills a sockaddr_in or sockaddr_in6.
 */
int trtc_stun_attr_addr(const trtc_stun_attr_t *attr, const uint8_t *tid,
    struct sockaddr_storage *sa, socklen_t *salen);


/*
 * Integrity.  key is the long-term key (MD5 or SHA-256 of
 * "user:realm:password", 16 or 32 bytes) or the short-term password.
 * The comparison is constant time.  Returns TRTC_STUN_OK,
 * TRTC_STUN_MISMATCH, or TRTC_STUN_MALFORMED when the attribute is absent.
 */
int trtc_stun_check_integrity(const trtc_stun_msg_t *msg,
    const uint8_t *key, size_t key_len);
int trtc_stun_check_integrity_sha256(const trtc_stun_msg_t *msg,
    const uint8_t *key, size_t key_len);
int trtc_stun_check_fingerprint(const trtc_stun_msg_t *msg);

/* long-term keys: MD5 (16 bytes) or SHA-256 (32 bytes) of user:realm:pass */
void trtc_stun_key_md5(const char *user, size_t user_len, const char *realm,
    size_t realm_len, const char *pass, size_t pass_len, uint8_t *key);
void trtc_stun_key_sha256(const char *user, size_t user_len,
    const char *realm, size_t realm_len, const char *pass, size_t pass_len,
    uint8_t *key);


/*
 * Building.  trtc_stun_build_init() writes the header (tid NULL: a random
 * one); each add keeps the header's length current, pads values to 4 bytes
 * with zeros, and sets b->error on overflow (later calls then do nothing),
 * so a caller may check once at the end.  Each returns TRTC_STUN_OK or
 * TRTC_STUN_NO_SPACE (TRTC_STUN_MALFORMED, also sticky, for a bad
 * argument: an address family, an error code outside 300..699).  A reason
 * NULL is trtc_stun_reason(code); a longer one is cut at 763 bytes on a
 * UTF-8 boundary.  The integrity and fingerprint adds sign what is in the
 * buffer so far: add them last, in the order MI, MI-SHA256, FINGERPRINT.
 */
void trtc_stun_build_init(trtc_stun_builder_t *b, uint8_t *buf, size_t cap,
    uint16_t type, const uint8_t *tid);
int trtc_stun_add_attr(trtc_stun_builder_t *b, uint16_t type,
    const void *value, size_t len);
int trtc_stun_add_u32(trtc_stun_builder_t *b, uint16_t type, uint32_t value);
int trtc_stun_add_addr(trtc_stun_builder_t *b, uint16_t type,
    const struct sockaddr *sa, const uint8_t *tid);  /* tid NULL: plain */
int trtc_stun_add_error(trtc_stun_builder_t *b, unsigned code,
    const char *reason);
int trtc_stun_add_unknown(trtc_stun_builder_t *b, const uint16_t *types,
    unsigned n);
int trtc_stun_add_integrity(trtc_stun_builder_t *b, const uint8_t *key,
    size_t key_len);
int trtc_stun_add_integrity_sha256(trtc_stun_builder_t *b,
    const uint8_t *key, size_t key_len);
int trtc_stun_add_fingerprint(trtc_stun_builder_t *b);

/* the standard reason phrase for an error code, "" when unknown */
const char *trtc_stun_reason(unsigned code);


/* ChannelData: first two bits 01, channel 0x4000..0x4fff (RFC 8656 12) */
#define trtc_stun_is_channel_data(p)  (((p)[0] & 0xc0) == 0x40)

#define TRTC_STUN_CHANNEL_MIN         0x4000
#define TRTC_STUN_CHANNEL_MAX         0x4fff


#endif /* _TRTC_STUN_H_INCLUDED_ */
