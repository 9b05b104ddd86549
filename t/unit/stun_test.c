
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * Unit tests of the STUN/TURN codec (common/trtc_stun.c): the RFC 5769
 * and RFC 8489 B.1 vectors, round trips of every attribute the header
 * names, hostile input, and a bounded random-mutation loop.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/evp.h>

#include "trtc_stun.h"
#include "tap.h"


#define MUTATIONS  200000


static size_t unhex(const char *s, uint8_t *out, size_t cap);
static void test_rfc5769_request(void);
static void test_rfc5769_ipv4(void);
static void test_rfc5769_ipv6(void);
static void test_rfc5769_long_term(void);
static void test_rfc8489_b1(void);
static void test_types(void);
static void test_known(void);
static void test_round_trip_simple(void);
static void test_round_trip_addr(void);
static void test_round_trip_error(void);
static void test_round_trip_macs(void);
static void test_builder_limits(void);
static void test_hostile(void);
static void test_integrity_place(void);
static void test_unknown(void);
static void test_frame(void);
static void test_mutations(void);
static int sa_eq(const struct sockaddr_storage *a, const char *ip,
    uint16_t port);
static uint32_t rnd(void);


/* RFC 5769 section 2.1, "Sample Request" (short-term credentials) */
static const char  rfc5769_req[] =
    "00010058 2112a442 b7e7a701 bc34d686 fa87dfae"
    "80220010 5354554e 20746573 7420636c 69656e74"
    "00240004 6e0001ff"
    "80290008 932ff9b1 51263b36"
    "00060009 6576746a 3a683676 59202020"
    "00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2"
    "80280004 e57a3bcf";

/* 2.2, "Sample IPv4 Response" */
static const char  rfc5769_resp4[] =
    "0101003c 2112a442 b7e7a701 bc34d686 fa87dfae"
    "8022000b 74657374 20766563 746f7220"
    "00200008 0001a147 e112a643"
    "00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7"
    "80280004 c07d4c96";

/* 2.3, "Sample IPv6 Response" */
static const char  rfc5769_resp6[] =
    "01010048 2112a442 b7e7a701 bc34d686 fa87dfae"
    "8022000b 74657374 20766563 746f7220"
    "00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9"
    "00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41"
    "80280004 c8fb0b4c";

/* 2.4, "Sample Request with Long-Term Authentication" */
static const char  rfc5769_ltc[] =
    "00010060 2112a442 78ad3433 c6ad72c0 29da412e"
    "00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000"
    "0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679"
    "36347341"
    "0014000b 6578616d 706c652e 6f726700"
    "00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666";

/*
 * RFC 8489 Appendix B.1 as corrected by erratum 6268 (the bytes of
 * /work/shared/reference/turn-anchors.md section 5.1): USERHASH, NONCE,
 * REALM, PASSWORD-ALGORITHM (SHA-256), MESSAGE-INTEGRITY-SHA256.
 */
static const char  rfc8489_b1[] =
    "00010090 2112a442 78ad3433 c6ad72c0 29da412e"
    "001e0020 4a3cf38f ef6992bd a952c678 0417da0f 24819415 569e60b2"
    "05c46e41 407f1704"
    "00150029 6f624d61 744a6f73 32414141 43662f2f 3439396b 39353464"
    "364f4c33 346f4c39 46535476 79363473 41000000"
    "0014000b 6578616d 706c652e 6f726700"
    "001d0004 00020000"
    "001c0020 b5c7bf00 5b6c52a2 1c51c5e8 92f81924 136296cb 927c4314"
    "9309278c c6518e65";

/* B.1 as printed in the RFC: length 0x9c, no PASSWORD-ALGORITHM */
static const char  rfc8489_b1_printed[] =
    "0001009c 2112a442 78ad3433 c6ad72c0 29da412e"
    "001e0020 4a3cf38f ef6992bd a952c678 0417da0f 24819415 569e60b2"
    "05c46e41 407f1704"
    "00150029 6f624d61 744a6f73 32414141 43662f2f 3439396b 39353464"
    "364f4c33 346f4c39 46535476 79363473 41000000"
    "0014000b 6578616d 706c652e 6f726700"
    "001c0020 e4686c8f 0edeb590 13e07090 010a93ef ccbccc54 4c0a45d9"
    "f830aa6d 6f735a01";

/* "マトリックス" in UTF-8 */
static const char  ltc_user[] =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char  ltc_realm[] = "example.org";
static const char  ltc_pass[] = "TheMatrIX";

static const char  short_pass[] = "VOkJxbRl1RmTxUk/WvJxBt";

static const uint8_t  junk[64];

static const uint8_t  tid0[TRTC_STUN_TID_LEN] = {
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};


int
main(void)
{
    test_rfc5769_request();
    test_rfc5769_ipv4();
    test_rfc5769_ipv6();
    test_rfc5769_long_term();
    test_rfc8489_b1();
    test_types();
    test_known();
    test_round_trip_simple();
    test_round_trip_addr();
    test_round_trip_error();
    test_round_trip_macs();
    test_builder_limits();
    test_hostile();
    test_integrity_place();
    test_unknown();
    test_frame();
    test_mutations();

    return tap_done();
}


static void
test_rfc5769_request(void)
{
    int                      rc;
    size_t                   n, i, bad;
    uint8_t                  buf[256];
    uint32_t                 u;
    trtc_stun_msg_t          msg;
    const trtc_stun_attr_t  *a;

    n = unhex(rfc5769_req, buf, sizeof(buf));
    tap_is_int(n, 108, "5769 2.1: vector is 108 bytes");

    rc = trtc_stun_parse(&msg, buf, n);
    tap_is_int(rc, TRTC_STUN_OK, "5769 2.1: parses");
    tap_is_int(msg.len, 108, "5769 2.1: length");
    tap_is_int(msg.method, TRTC_STUN_BINDING, "5769 2.1: Binding");
    tap_is_int(msg.cls, TRTC_STUN_REQUEST, "5769 2.1: request");
    tap_is_mem(msg.tid, tid0, TRTC_STUN_TID_LEN, "5769 2.1: tid");
    tap_is_int(msg.nattrs, 6, "5769 2.1: 6 attributes");
    tap_is_int(msg.nunknown, 0, "5769 2.1: no unknown attribute");
    tap_is_int(msg.integrity, 4, "5769 2.1: MESSAGE-INTEGRITY index");
    tap_is_int(msg.fingerprint, 5, "5769 2.1: FINGERPRINT index");
    tap_is_int(msg.integrity_sha256, -1, "5769 2.1: no SHA-256 integrity");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_SOFTWARE);
    tap_ok(a != NULL && a->len == 16
           && memcmp(a->value, "STUN test client", 16) == 0,
           "5769 2.1: SOFTWARE");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_PRIORITY);
    tap_ok(trtc_stun_attr_u32(a, &u) == TRTC_STUN_OK && u == 0x6e0001ff,
           "5769 2.1: PRIORITY");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_ICE_CONTROLLED);
    tap_ok(a != NULL && a->len == 8, "5769 2.1: ICE-CONTROLLED");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_USERNAME);
    tap_ok(a != NULL && a->len == 9 && memcmp(a->value, "evtj:h6vY", 9) == 0
           && a->offset == 60, "5769 2.1: USERNAME, 9 bytes at 60");

    tap_is_int(trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                         strlen(short_pass)),
               TRTC_STUN_OK, "5769 2.1: MESSAGE-INTEGRITY verifies");
    tap_is_int(trtc_stun_check_fingerprint(&msg), TRTC_STUN_OK,
               "5769 2.1: FINGERPRINT verifies");
    tap_is_int(trtc_stun_check_integrity(&msg, (const uint8_t *) "VOkJxbRl",
                                         8),
               TRTC_STUN_MISMATCH, "5769 2.1: wrong password fails");
    tap_is_int(trtc_stun_check_integrity_sha256(&msg,
                                          (const uint8_t *) short_pass,
                                          strlen(short_pass)),
               TRTC_STUN_MALFORMED, "5769 2.1: absent SHA-256 integrity");

    /* every single flipped byte before the MAC breaks it */
    bad = 0;

    for (i = 0; i < 100; i++) {
        buf[i] ^= 0x01;

        rc = trtc_stun_parse(&msg, buf, n);
        if (rc == TRTC_STUN_OK
            && trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                         strlen(short_pass))
               == TRTC_STUN_OK)
        {
            bad++;
        }

        if (rc == TRTC_STUN_OK
            && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_OK)
        {
            bad++;
        }

        buf[i] ^= 0x01;
    }

    tap_is_int(bad, 0, "5769 2.1: no flipped byte passes integrity or CRC");

    /* the MAC itself */
    buf[90] ^= 0x80;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                        strlen(short_pass))
              == TRTC_STUN_MISMATCH,
           "5769 2.1: a flipped MAC byte fails integrity");
    buf[90] ^= 0x80;

    /* the fingerprint itself */
    buf[107] ^= 0x01;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_MISMATCH
           && trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                        strlen(short_pass))
              == TRTC_STUN_OK,
           "5769 2.1: a corrupted fingerprint fails, integrity still holds");
    buf[107] ^= 0x01;

    /* padding bytes are covered by the MAC too (RFC 8489 14.5) */
    buf[75] = 0;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                        strlen(short_pass))
              == TRTC_STUN_MISMATCH,
           "5769 2.1: changed padding fails integrity");
}


static void
test_rfc5769_ipv4(void)
{
    int                       rc;
    size_t                    n;
    uint8_t                   buf[256], out[256];
    socklen_t                 salen;
    trtc_stun_msg_t           msg;
    struct sockaddr_in        sin;
    trtc_stun_builder_t       b;
    const trtc_stun_attr_t   *a;
    struct sockaddr_storage   ss;

    n = unhex(rfc5769_resp4, buf, sizeof(buf));
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK && msg.len == 80 && n == 80,
           "5769 2.2: parses, 80 bytes");
    tap_ok(msg.method == TRTC_STUN_BINDING && msg.cls == TRTC_STUN_SUCCESS
           && msg.type == 0x0101, "5769 2.2: Binding success");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_SOFTWARE);
    tap_ok(a != NULL && a->len == 11 && memcmp(a->value, "test vector", 11)
           == 0, "5769 2.2: SOFTWARE, 11 bytes");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    rc = trtc_stun_attr_addr(a, msg.tid, &ss, &salen);
    tap_ok(rc == TRTC_STUN_OK && salen == sizeof(struct sockaddr_in)
           && sa_eq(&ss, "192.0.2.1", 32853),
           "5769 2.2: XOR-MAPPED-ADDRESS is 192.0.2.1:32853");

    rc = trtc_stun_attr_addr(a, NULL, &ss, &salen);
    tap_ok(rc == TRTC_STUN_OK && !sa_eq(&ss, "192.0.2.1", 32853),
           "5769 2.2: read as a plain address it is not");

    tap_is_int(trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                         strlen(short_pass)),
               TRTC_STUN_OK, "5769 2.2: MESSAGE-INTEGRITY verifies");
    tap_is_int(trtc_stun_check_fingerprint(&msg), TRTC_STUN_OK,
               "5769 2.2: FINGERPRINT verifies");

    /* the same address encoded by the builder gives the vector's bytes */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(32853);
    inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);

    trtc_stun_build_init(&b, out, sizeof(out),
                         trtc_stun_type(TRTC_STUN_BINDING, TRTC_STUN_SUCCESS),
                         msg.tid);
    rc = trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS,
                            (struct sockaddr *) &sin, msg.tid);
    tap_ok(rc == TRTC_STUN_OK && b.len == 32
           && memcmp(out + 20, buf + 36, 12) == 0
           && memcmp(out, "\x01\x01\x00\x0c", 4) == 0,
           "5769 2.2: built XOR-MAPPED-ADDRESS matches the vector");

    buf[27] = 23;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_MISMATCH
           && trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                        strlen(short_pass))
              == TRTC_STUN_MISMATCH,
           "5769 2.2: a changed SOFTWARE byte fails both");
}


static void
test_rfc5769_ipv6(void)
{
    int                       rc;
    size_t                    n;
    uint8_t                   buf[256], out[256];
    socklen_t                 salen;
    trtc_stun_msg_t           msg;
    struct sockaddr_in6       sin6;
    trtc_stun_builder_t       b;
    const trtc_stun_attr_t   *a;
    struct sockaddr_storage   ss;

    n = unhex(rfc5769_resp6, buf, sizeof(buf));
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK && msg.len == 92 && n == 92,
           "5769 2.3: parses, 92 bytes");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    rc = trtc_stun_attr_addr(a, msg.tid, &ss, &salen);
    tap_ok(rc == TRTC_STUN_OK && salen == sizeof(struct sockaddr_in6)
           && sa_eq(&ss, "2001:db8:1234:5678:11:2233:4455:6677", 32853),
           "5769 2.3: XOR-MAPPED-ADDRESS is "
           "[2001:db8:1234:5678:11:2233:4455:6677]:32853");

    tap_is_int(trtc_stun_check_integrity(&msg, (const uint8_t *) short_pass,
                                         strlen(short_pass)),
               TRTC_STUN_OK, "5769 2.3: MESSAGE-INTEGRITY verifies");
    tap_is_int(trtc_stun_check_fingerprint(&msg), TRTC_STUN_OK,
               "5769 2.3: FINGERPRINT verifies");

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(32853);
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677",
              &sin6.sin6_addr);

    trtc_stun_build_init(&b, out, sizeof(out), 0x0101, msg.tid);
    rc = trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS,
                            (struct sockaddr *) &sin6, msg.tid);
    tap_ok(rc == TRTC_STUN_OK && b.len == 44
           && memcmp(out + 20, buf + 36, 24) == 0,
           "5769 2.3: built XOR-MAPPED-ADDRESS matches the vector");

    /* the IPv6 XOR uses the tid: another tid gives another address */
    buf[19] ^= 0xff;
    rc = trtc_stun_parse(&msg, buf, n);
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_attr_addr(a, msg.tid, &ss, &salen) == TRTC_STUN_OK
           && !sa_eq(&ss, "2001:db8:1234:5678:11:2233:4455:6677", 32853)
           && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_MISMATCH,
           "5769 2.3: a changed tid changes the address and the CRC");
}


static void
test_rfc5769_long_term(void)
{
    int                      rc;
    size_t                   n;
    uint8_t                  buf[256], out[256], key[16];
    trtc_stun_msg_t          msg;
    trtc_stun_builder_t      b;
    const trtc_stun_attr_t  *user, *nonce, *realm;

    n = unhex(rfc5769_ltc, buf, sizeof(buf));
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK && msg.len == 116 && n == 116,
           "5769 2.4: parses, 116 bytes");
    tap_ok(msg.fingerprint == -1 && msg.integrity == 3,
           "5769 2.4: integrity, no fingerprint");

    user = trtc_stun_find(&msg, TRTC_STUN_ATTR_USERNAME);
    nonce = trtc_stun_find(&msg, TRTC_STUN_ATTR_NONCE);
    realm = trtc_stun_find(&msg, TRTC_STUN_ATTR_REALM);

    tap_ok(user != NULL && user->len == 18
           && memcmp(user->value, ltc_user, 18) == 0,
           "5769 2.4: USERNAME in UTF-8");
    tap_ok(nonce != NULL && nonce->len == 28
           && memcmp(nonce->value, "f//499k954d6OL34oL9FSTvy64sA", 28) == 0,
           "5769 2.4: NONCE");
    tap_ok(realm != NULL && realm->len == 11
           && memcmp(realm->value, ltc_realm, 11) == 0, "5769 2.4: REALM");

    trtc_stun_key_md5(ltc_user, strlen(ltc_user), ltc_realm,
                      strlen(ltc_realm), ltc_pass, strlen(ltc_pass), key);

    tap_is_int(trtc_stun_check_integrity(&msg, key, sizeof(key)),
               TRTC_STUN_OK, "5769 2.4: long-term MESSAGE-INTEGRITY verifies");

    key[0] ^= 1;
    tap_is_int(trtc_stun_check_integrity(&msg, key, sizeof(key)),
               TRTC_STUN_MISMATCH, "5769 2.4: a wrong key fails");
    key[0] ^= 1;

    buf[32] = 10;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_integrity(&msg, key, sizeof(key))
              == TRTC_STUN_MISMATCH,
           "5769 2.4: a changed USERNAME byte fails");

    /* the builder reproduces the vector byte for byte */
    unhex(rfc5769_ltc, buf, sizeof(buf));

    trtc_stun_build_init(&b, out, sizeof(out),
                         trtc_stun_type(TRTC_STUN_BINDING, TRTC_STUN_REQUEST),
                         buf + 8);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, ltc_user,
                       strlen(ltc_user));
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_NONCE,
                       "f//499k954d6OL34oL9FSTvy64sA", 28);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REALM, ltc_realm,
                       strlen(ltc_realm));
    rc = trtc_stun_add_integrity(&b, key, sizeof(key));

    tap_ok(rc == TRTC_STUN_OK && b.error == TRTC_STUN_OK && b.len == n
           && memcmp(out, buf, n) == 0,
           "5769 2.4: the builder reproduces the vector exactly");
}


static void
test_rfc8489_b1(void)
{
    int                      rc;
    size_t                   n;
    uint8_t                  buf[256], key[32], uh[32];
    unsigned int             uh_len;
    trtc_stun_msg_t          msg;
    const trtc_stun_attr_t  *a;
    char                     name[64];

    n = unhex(rfc8489_b1, buf, sizeof(buf));
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK && msg.len == 164 && n == 164,
           "8489 B.1 (erratum 6268): parses, 164 bytes");
    tap_ok(msg.integrity == -1 && msg.integrity_sha256 == 4
           && msg.nattrs == 5, "8489 B.1: MESSAGE-INTEGRITY-SHA256 only");

    /* USERHASH = SHA-256(user ":" realm), RFC 8489 section 14.4 */
    snprintf(name, sizeof(name), "%s:%s", ltc_user, ltc_realm);
    EVP_Digest(name, strlen(name), uh, &uh_len, EVP_sha256(), NULL);

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_USERHASH);
    tap_ok(a != NULL && a->len == 32 && memcmp(a->value, uh, 32) == 0,
           "8489 B.1: USERHASH is SHA-256(user:realm)");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_PASSWORD_ALGORITHM);
    tap_ok(a != NULL && a->len == 4 && a->value[0] == 0
           && a->value[1] == TRTC_STUN_PASSWORD_SHA256,
           "8489 B.1: PASSWORD-ALGORITHM SHA-256");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_NONCE);
    tap_ok(a != NULL && a->len == 41
           && memcmp(a->value, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA",
                     41) == 0, "8489 B.1: NONCE, 41 bytes");

    trtc_stun_key_sha256(ltc_user, strlen(ltc_user), ltc_realm,
                         strlen(ltc_realm), ltc_pass, strlen(ltc_pass), key);

    tap_is_int(trtc_stun_check_integrity_sha256(&msg, key, sizeof(key)),
               TRTC_STUN_OK, "8489 B.1: MESSAGE-INTEGRITY-SHA256 verifies");
    tap_is_int(trtc_stun_check_integrity(&msg, key, 16),
               TRTC_STUN_MALFORMED, "8489 B.1: no SHA-1 integrity to check");

    buf[60] ^= 0x20;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_integrity_sha256(&msg, key, sizeof(key))
              == TRTC_STUN_MISMATCH,
           "8489 B.1: a changed NONCE byte fails");

    /*
     * The appendix as printed: its length counts the header, so it is
     * 20 bytes short and must not parse.  Whether its MAC matches with
     * the length put right is only reported (erratum 6268 replaced it).
     */
    n = unhex(rfc8489_b1_printed, buf, sizeof(buf));
    rc = trtc_stun_parse(&msg, buf, n);
    tap_ok(n == 156 && rc == TRTC_STUN_MALFORMED,
           "8489 B.1 as printed: length past the end is MALFORMED");

    buf[3] = 0x88;
    rc = trtc_stun_parse(&msg, buf, n);
    tap_is_int(rc, TRTC_STUN_OK, "8489 B.1 as printed, length fixed: parses");
    printf("# 8489 B.1 as printed, length fixed: its MAC %s\n",
           trtc_stun_check_integrity_sha256(&msg, key, sizeof(key))
           == TRTC_STUN_OK ? "verifies" : "does not verify (as erratum 6268 "
                                          "says)");
}


static void
test_types(void)
{
    int                       rc;
    size_t                    i, j, bad;
    uint8_t                   buf[64];
    uint16_t                  type;
    trtc_stun_msg_t           msg;
    trtc_stun_builder_t       b;
    static const uint16_t     classes[] = {
        TRTC_STUN_REQUEST, TRTC_STUN_INDICATION, TRTC_STUN_SUCCESS,
        TRTC_STUN_ERROR
    };

    tap_is_int(trtc_stun_type(TRTC_STUN_ALLOCATE, TRTC_STUN_SUCCESS), 0x0103,
               "type: Allocate success is 0x0103");
    tap_is_int(trtc_stun_type(TRTC_STUN_ALLOCATE, TRTC_STUN_ERROR), 0x0113,
               "type: Allocate error is 0x0113");
    tap_is_int(trtc_stun_type(TRTC_STUN_SEND, TRTC_STUN_INDICATION), 0x0016,
               "type: Send indication is 0x0016");
    tap_is_int(trtc_stun_type(TRTC_STUN_DATA, TRTC_STUN_INDICATION), 0x0017,
               "type: Data indication is 0x0017");
    tap_is_int(trtc_stun_type(TRTC_STUN_CHANNEL_BIND, TRTC_STUN_SUCCESS),
               0x0109, "type: ChannelBind success is 0x0109");
    tap_is_int(trtc_stun_type(0xfff, TRTC_STUN_ERROR), 0x3fff,
               "type: all method bits and class bits give 0x3fff");

    bad = 0;

    for (i = 0; i < 0x1000; i++) {
        for (j = 0; j < 4; j++) {
            type = trtc_stun_type(i, classes[j]);
            trtc_stun_build_init(&b, buf, sizeof(buf), type, tid0);
            rc = trtc_stun_parse(&msg, buf, b.len);

            if (rc != TRTC_STUN_OK || msg.method != i
                || msg.cls != classes[j] || msg.type != type)
            {
                bad++;
            }
        }
    }

    tap_is_int(bad, 0, "type: every method and class survive a round trip");
}


static void
test_known(void)
{
    size_t                 i, bad;
    static const uint16_t  known[] = {
        0x0001, 0x0006, 0x0008, 0x0009, 0x000a, 0x000c, 0x000d, 0x0012,
        0x0013, 0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001a,
        0x001c, 0x001d, 0x001e, 0x0020, 0x0022, 0x0024, 0x0025, 0x0026,
        0x0027, 0x002a, 0x8002, 0x8003, 0x8022, 0x8023, 0x8028, 0x8029,
        0x802a, 0x802b, 0x802c
    };

    bad = 0;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!trtc_stun_attr_known(known[i])) {
            printf("# 0x%04x not known\n", known[i]);
            bad++;
        }
    }

    tap_is_int(bad, 0, "known: every attribute of the header");

    /* the RFC 3489 leftovers and anything else are not */
    tap_ok(!trtc_stun_attr_known(0x0000) && !trtc_stun_attr_known(0x0002)
           && !trtc_stun_attr_known(0x0003) && !trtc_stun_attr_known(0x0004)
           && !trtc_stun_attr_known(0x0007) && !trtc_stun_attr_known(0x000b)
           && !trtc_stun_attr_known(0x7fff) && !trtc_stun_attr_known(0x8000)
           && !trtc_stun_attr_known(0xffff),
           "known: reserved and unassigned ones are not");

    tap_ok(strcmp(trtc_stun_reason(401), "Unauthenticated") == 0
           && strcmp(trtc_stun_reason(438), "Stale Nonce") == 0
           && strcmp(trtc_stun_reason(508), "Insufficient Capacity") == 0
           && strcmp(trtc_stun_reason(499), "") == 0,
           "reason: standard phrases, \"\" when unknown");
}


static void
test_round_trip_simple(void)
{
    int                      rc;
    size_t                   i, bad;
    uint8_t                  buf[2048], u8;
    uint8_t                  data[64];
    uint16_t                 ch;
    uint32_t                 u;
    trtc_stun_msg_t          msg;
    trtc_stun_builder_t      b;
    const trtc_stun_attr_t  *a;
    static const uint16_t    opaque[] = {
        TRTC_STUN_ATTR_USERNAME, TRTC_STUN_ATTR_DATA, TRTC_STUN_ATTR_REALM,
        TRTC_STUN_ATTR_NONCE, TRTC_STUN_ATTR_RESERVATION_TOKEN,
        TRTC_STUN_ATTR_PASSWORD_ALGORITHM, TRTC_STUN_ATTR_USERHASH,
        TRTC_STUN_ATTR_PADDING, TRTC_STUN_ATTR_RESPONSE_PORT,
        TRTC_STUN_ATTR_PASSWORD_ALGORITHMS, TRTC_STUN_ATTR_ALTERNATE_DOMAIN,
        TRTC_STUN_ATTR_SOFTWARE, TRTC_STUN_ATTR_ICE_CONTROLLED,
        TRTC_STUN_ATTR_ICE_CONTROLLING
    };

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t) (0xa0 + i);
    }

    /* opaque values of every length 0..13: value, padding and offsets */
    bad = 0;

    for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
        trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
        trtc_stun_add_attr(&b, opaque[i], data, i);
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DONT_FRAGMENT, NULL, 0);

        rc = trtc_stun_parse(&msg, buf, b.len);
        a = trtc_stun_find(&msg, opaque[i]);

        if (rc != TRTC_STUN_OK || b.error != TRTC_STUN_OK || a == NULL
            || a->len != i || memcmp(a->value, data, i) != 0
            || a->offset != 20 || msg.nattrs != 2
            || msg.attrs[1].offset != 24 + ((i + 3) & ~3u)
            || msg.len != b.len || b.len != 28 + ((i + 3) & ~3u)
            || (i % 4 != 0 && buf[24 + i] != 0))
        {
            printf("# opaque 0x%04x len %zu failed\n", opaque[i], i);
            bad++;
        }
    }

    tap_is_int(bad, 0, "round trip: opaque attributes, lengths 0..13, "
               "zero padding");

    trtc_stun_build_init(&b, buf, sizeof(buf),
                         trtc_stun_type(TRTC_STUN_ALLOCATE, TRTC_STUN_REQUEST),
                         tid0);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME, 600);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_PRIORITY, 0xfedcba98);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_CONNECTION_ID, 0x01020304);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_CHANNEL_NUMBER,
                      (uint32_t) 0x4abc << 16);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT,
                      (uint32_t) TRTC_STUN_TRANSPORT_UDP << 24);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
                      (uint32_t) TRTC_STUN_FAMILY_IPV6 << 24);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_EVEN_PORT, "\x80", 1);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DONT_FRAGMENT, NULL, 0);
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USE_CANDIDATE, NULL, 0);

    tap_is_int(rc, TRTC_STUN_OK, "round trip: TURN attributes built");
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_OK,
               "round trip: TURN attributes parse");
    tap_ok(msg.method == TRTC_STUN_ALLOCATE && msg.nattrs == 9,
           "round trip: Allocate with 9 attributes");

    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_LIFETIME);
    tap_ok(trtc_stun_attr_u32(a, &u) == TRTC_STUN_OK && u == 600,
           "round trip: LIFETIME");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_PRIORITY);
    tap_ok(trtc_stun_attr_u32(a, &u) == TRTC_STUN_OK && u == 0xfedcba98,
           "round trip: PRIORITY");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_CONNECTION_ID);
    tap_ok(trtc_stun_attr_u32(a, &u) == TRTC_STUN_OK && u == 0x01020304,
           "round trip: CONNECTION-ID");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_CHANNEL_NUMBER);
    tap_ok(trtc_stun_attr_channel(a, &ch) == TRTC_STUN_OK && ch == 0x4abc,
           "round trip: CHANNEL-NUMBER");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_REQUESTED_TRANSPORT);
    tap_ok(trtc_stun_attr_u8(a, &u8) == TRTC_STUN_OK
           && u8 == TRTC_STUN_TRANSPORT_UDP, "round trip: REQUESTED-TRANSPORT");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
    tap_ok(trtc_stun_attr_u8(a, &u8) == TRTC_STUN_OK
           && u8 == TRTC_STUN_FAMILY_IPV6,
           "round trip: REQUESTED-ADDRESS-FAMILY");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_EVEN_PORT);
    tap_ok(trtc_stun_attr_u8(a, &u8) == TRTC_STUN_OK && u8 == 0x80,
           "round trip: EVEN-PORT (1 byte)");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_DONT_FRAGMENT);
    tap_ok(a != NULL && a->len == 0, "round trip: DONT-FRAGMENT (empty)");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_USE_CANDIDATE);
    tap_ok(a != NULL && a->len == 0, "round trip: USE-CANDIDATE (empty)");

    /* accessors check lengths */
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_EVEN_PORT);
    tap_is_int(trtc_stun_attr_u32(a, &u), TRTC_STUN_MALFORMED,
               "accessor: a 1-byte value is no u32");
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_DONT_FRAGMENT);
    tap_is_int(trtc_stun_attr_u8(a, &u8), TRTC_STUN_MALFORMED,
               "accessor: an empty value is no u8");
    tap_is_int(trtc_stun_attr_u32(NULL, &u), TRTC_STUN_MALFORMED,
               "accessor: NULL attribute");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0009, tid0);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_CHANNEL_NUMBER,
                      (uint32_t) 0x3fff << 16);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME, (uint32_t) 0x5000 << 16);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_EVEN_PORT, "\x80\0\0\0", 4);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT, "\x11", 1);
    trtc_stun_parse(&msg, buf, b.len);

    tap_ok(trtc_stun_attr_channel(&msg.attrs[0], &ch) == TRTC_STUN_MALFORMED
           && trtc_stun_attr_channel(&msg.attrs[1], &ch)
              == TRTC_STUN_MALFORMED,
           "accessor: channels 0x3fff and 0x5000 are out of range");
    tap_ok(trtc_stun_attr_u8(&msg.attrs[2], &u8) == TRTC_STUN_MALFORMED
           && trtc_stun_attr_u8(&msg.attrs[3], &u8) == TRTC_STUN_MALFORMED,
           "accessor: 4-byte EVEN-PORT, 1-byte REQUESTED-TRANSPORT rejected");
}


static void
test_round_trip_addr(void)
{
    int                       rc;
    size_t                    i, j, bad;
    uint8_t                   buf[512];
    socklen_t                 salen;
    trtc_stun_msg_t           msg;
    struct sockaddr_in        sin;
    struct sockaddr_in6       sin6;
    trtc_stun_builder_t       b;
    const trtc_stun_attr_t   *a;
    struct sockaddr_storage   ss;
    static const uint16_t     xor[] = {
        TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
        TRTC_STUN_ATTR_XOR_RELAYED_ADDRESS
    };
    static const uint16_t     plain[] = {
        TRTC_STUN_ATTR_MAPPED_ADDRESS, TRTC_STUN_ATTR_ALTERNATE_SERVER,
        TRTC_STUN_ATTR_RESPONSE_ORIGIN, TRTC_STUN_ATTR_OTHER_ADDRESS
    };
    static const struct {
        const char  *ip;
        uint16_t     port;
    } addrs[] = {
        { "192.0.2.1", 32853 }, { "0.0.0.0", 0 },
        { "255.255.255.255", 65535 }, { "127.0.0.1", 3478 },
        { "::1", 3478 }, { "2001:db8::1", 1 },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
        { "::ffff:10.0.0.1", 20000 }
    };

    bad = 0;

    for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        struct sockaddr  *sa;

        if (strchr(addrs[i].ip, ':') == NULL) {
            memset(&sin, 0, sizeof(sin));
            sin.sin_family = AF_INET;
            sin.sin_port = htons(addrs[i].port);
            inet_pton(AF_INET, addrs[i].ip, &sin.sin_addr);
            sa = (struct sockaddr *) &sin;

        } else {
            memset(&sin6, 0, sizeof(sin6));
            sin6.sin6_family = AF_INET6;
            sin6.sin6_port = htons(addrs[i].port);
            inet_pton(AF_INET6, addrs[i].ip, &sin6.sin6_addr);
            sa = (struct sockaddr *) &sin6;
        }

        trtc_stun_build_init(&b, buf, sizeof(buf), 0x0101, tid0);

        for (j = 0; j < 3; j++) {
            trtc_stun_add_addr(&b, xor[j], sa, tid0);
        }

        for (j = 0; j < 4; j++) {
            trtc_stun_add_addr(&b, plain[j], sa, NULL);
        }

        rc = trtc_stun_parse(&msg, buf, b.len);

        if (rc != TRTC_STUN_OK || b.error != TRTC_STUN_OK
            || msg.nattrs != 7)
        {
            bad++;
            continue;
        }

        for (j = 0; j < 7; j++) {
            a = trtc_stun_find(&msg, j < 3 ? xor[j] : plain[j - 3]);

            if (a == NULL
                || trtc_stun_attr_addr(a, j < 3 ? msg.tid : NULL, &ss,
                                       &salen)
                   != TRTC_STUN_OK
                || !sa_eq(&ss, addrs[i].ip, addrs[i].port)
                || salen != (sa->sa_family == AF_INET
                             ? sizeof(struct sockaddr_in)
                             : sizeof(struct sockaddr_in6)))
            {
                printf("# %s attr %zu failed\n", addrs[i].ip, j);
                bad++;
            }
        }
    }

    tap_is_int(bad, 0, "round trip: XOR and plain addresses, IPv4 and IPv6");

    /* a plain address really is plain: 127.0.0.1 is 7f000001 */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0101, tid0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(3478);
    sin.sin_addr.s_addr = htonl(0x7f000001);
    trtc_stun_add_addr(&b, TRTC_STUN_ATTR_MAPPED_ADDRESS,
                       (struct sockaddr *) &sin, NULL);
    trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                       (struct sockaddr *) &sin, tid0);
    tap_ok(memcmp(buf + 20, "\x00\x01\x00\x08\x00\x01\x0d\x96\x7f\x00\x00\x01",
                  12) == 0
           && memcmp(buf + 32, "\x00\x12\x00\x08\x00\x01\x2c\x84\x5e\x12\xa4"
                     "\x43", 12) == 0,
           "address: plain and XOR bytes of 127.0.0.1:3478");

    /* a bad family is a sticky builder error */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_UNIX;
    rc = trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                            (struct sockaddr *) &sin, tid0);
    tap_ok(rc != TRTC_STUN_OK && b.error != TRTC_STUN_OK
           && trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME, 1) != TRTC_STUN_OK
           && b.len == 44, "address: a bad family is a sticky error");

    /* decoding: family and exact lengths */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0101, tid0);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x03\x00\x01\x01\x02\x03\x04", 8);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x01\x00\x01\x01\x02\x03\x04\0\0\0\0",
                       12);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x02\x00\x01\x01\x02\x03\x04", 8);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x01\x00\x01\x01\x02\x03", 7);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x01\x00\x01\x01\x02\x03\x04\x05\x06"
                       "\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 20);
    trtc_stun_add_attr(&b, 0x0020, "\x00\x01", 2);
    trtc_stun_add_attr(&b, 0x0020, "\xff\x01\x00\x01\x01\x02\x03\x04", 8);
    rc = trtc_stun_parse(&msg, buf, b.len);

    bad = 0;

    for (i = 0; i < 6; i++) {
        if (trtc_stun_attr_addr(&msg.attrs[i], msg.tid, &ss, &salen)
            != TRTC_STUN_MALFORMED)
        {
            printf("# bad address %zu accepted\n", i);
            bad++;
        }
    }

    tap_ok(rc == TRTC_STUN_OK && bad == 0,
           "address: family 3, v4 of 12/7/2 bytes, v6 of 8 bytes, "
           "v4 of 20 bytes are MALFORMED");
    tap_ok(trtc_stun_attr_addr(&msg.attrs[6], NULL, &ss, &salen)
           == TRTC_STUN_OK && sa_eq(&ss, "1.2.3.4", 1),
           "address: the reserved first byte is ignored");
}


static void
test_round_trip_error(void)
{
    int                      rc;
    size_t                   i, bad, rlen;
    uint8_t                  buf[2048];
    unsigned                 code;
    trtc_stun_msg_t          msg;
    trtc_stun_builder_t      b;
    const uint8_t           *reason;
    const trtc_stun_attr_t  *a;
    char                     longr[1024];
    static const unsigned    codes[] = {
        300, 400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 446, 447,
        486, 500, 508
    };
    static const uint16_t    unk[] = { 0x7777, 0x0002, 0x0031 };

    bad = 0;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        trtc_stun_build_init(&b, buf, sizeof(buf),
                             trtc_stun_type(TRTC_STUN_ALLOCATE,
                                            TRTC_STUN_ERROR), tid0);
        trtc_stun_add_error(&b, codes[i], NULL);
        rc = trtc_stun_parse(&msg, buf, b.len);
        a = trtc_stun_find(&msg, TRTC_STUN_ATTR_ERROR_CODE);

        if (rc != TRTC_STUN_OK || b.error != TRTC_STUN_OK
            || trtc_stun_attr_error(a, &code, &reason, &rlen) != TRTC_STUN_OK
            || code != codes[i] || rlen == 0
            || rlen != strlen(trtc_stun_reason(codes[i]))
            || memcmp(reason, trtc_stun_reason(codes[i]), rlen) != 0)
        {
            printf("# error %u failed\n", codes[i]);
            bad++;
        }
    }

    tap_is_int(bad, 0, "round trip: ERROR-CODE of every standard code, "
               "default reasons");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    trtc_stun_add_error(&b, 699, "x");
    trtc_stun_add_error(&b, 300, "");
    trtc_stun_parse(&msg, buf, b.len);
    tap_ok(trtc_stun_attr_error(&msg.attrs[0], &code, &reason, &rlen)
           == TRTC_STUN_OK && code == 699 && rlen == 1 && reason[0] == 'x'
           && trtc_stun_attr_error(&msg.attrs[1], &code, &reason, &rlen)
              == TRTC_STUN_OK && code == 300 && rlen == 0,
           "round trip: ERROR-CODE 699 and 300 with own reasons");
    tap_ok(buf[20 + 6] == 6 && buf[20 + 7] == 99,
           "error: class and number bytes");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    tap_ok(trtc_stun_add_error(&b, 299, NULL) != TRTC_STUN_OK
           && b.error != TRTC_STUN_OK, "error: 299 refused, sticky");
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    tap_ok(trtc_stun_add_error(&b, 700, NULL) != TRTC_STUN_OK,
           "error: 700 refused");

    /* a long reason is cut at 763 bytes, not inside a UTF-8 sequence */
    memset(longr, 'a', 762);
    strcpy(longr + 762, "\xc3\xa9tail");
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    trtc_stun_add_error(&b, 400, longr);
    trtc_stun_parse(&msg, buf, b.len);
    tap_ok(trtc_stun_attr_error(&msg.attrs[0], &code, &reason, &rlen)
           == TRTC_STUN_OK && rlen == 762,
           "error: a 768-byte reason is cut to 762 at a UTF-8 boundary");

    /* decoding checks */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    trtc_stun_add_attr(&b, 0x0009, "\0\0\x02\x00", 4);
    trtc_stun_add_attr(&b, 0x0009, "\0\0\x07\x00", 4);
    trtc_stun_add_attr(&b, 0x0009, "\0\0\x04\x64", 4);
    trtc_stun_add_attr(&b, 0x0009, "\0\0\x04", 3);
    memset(longr, 'b', 764);
    longr[0] = 0;
    longr[1] = 0;
    longr[2] = 4;
    longr[3] = 0;
    trtc_stun_add_attr(&b, 0x0009, longr, 4 + 764);
    trtc_stun_add_attr(&b, 0x0009, longr, 4 + 763);
    trtc_stun_add_attr(&b, 0x0009, "\xff\xff\xfc\x01", 4);
    rc = trtc_stun_parse(&msg, buf, b.len);

    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_attr_error(&msg.attrs[0], &code, &reason, &rlen)
              == TRTC_STUN_MALFORMED
           && trtc_stun_attr_error(&msg.attrs[1], &code, &reason, &rlen)
              == TRTC_STUN_MALFORMED
           && trtc_stun_attr_error(&msg.attrs[2], &code, &reason, &rlen)
              == TRTC_STUN_MALFORMED
           && trtc_stun_attr_error(&msg.attrs[3], &code, &reason, &rlen)
              == TRTC_STUN_MALFORMED
           && trtc_stun_attr_error(&msg.attrs[4], &code, &reason, &rlen)
              == TRTC_STUN_MALFORMED,
           "error: class 2, class 7, number 100, 3 bytes, "
           "764-byte reason are MALFORMED");
    tap_ok(trtc_stun_attr_error(&msg.attrs[5], &code, &reason, &rlen)
           == TRTC_STUN_OK && code == 400 && rlen == 763
           && trtc_stun_attr_error(&msg.attrs[6], &code, &reason, &rlen)
              == TRTC_STUN_OK && code == 401,
           "error: a 763-byte reason is fine; reserved bits are ignored");

    /* UNKNOWN-ATTRIBUTES */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0111, tid0);
    trtc_stun_add_error(&b, 420, NULL);
    rc = trtc_stun_add_unknown(&b, unk, 3);
    trtc_stun_parse(&msg, buf, b.len);
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_UNKNOWN_ATTRIBUTES);
    tap_ok(rc == TRTC_STUN_OK && a != NULL && a->len == 6
           && memcmp(a->value, "\x77\x77\x00\x02\x00\x31", 6) == 0
           && buf[b.len - 1] == 0 && buf[b.len - 2] == 0,
           "round trip: UNKNOWN-ATTRIBUTES, 3 types, zero padding");
}


static void
test_round_trip_macs(void)
{
    int                  rc;
    size_t               i, bad;
    uint8_t              buf[4096], key[16], key256[32];
    trtc_stun_msg_t      msg;
    trtc_stun_builder_t  b;

    trtc_stun_key_md5("turn", 4, "tencent", 7, "turn", 4, key);
    trtc_stun_key_sha256("turn", 4, "tencent", 7, "turn", 4, key256);

    /* every known type, then the three trailers */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0003, tid0);

    for (i = 1; i < 0x30; i++) {
        if (trtc_stun_attr_known((uint16_t) i)
            && i != TRTC_STUN_ATTR_MESSAGE_INTEGRITY
            && i != TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
        {
            trtc_stun_add_attr(&b, (uint16_t) i, "abcdefgh", i % 9);
        }
    }

    trtc_stun_add_integrity(&b, key, sizeof(key));
    trtc_stun_add_integrity_sha256(&b, key256, sizeof(key256));
    rc = trtc_stun_add_fingerprint(&b);

    tap_is_int(rc, TRTC_STUN_OK, "macs: built");

    rc = trtc_stun_parse(&msg, buf, b.len);
    tap_is_int(rc, TRTC_STUN_OK, "macs: parses");
    tap_ok(msg.integrity >= 0 && msg.integrity_sha256 == msg.integrity + 1
           && msg.fingerprint == msg.integrity + 2
           && msg.attrs[msg.integrity_sha256].len == 32,
           "macs: MI, MI-SHA256 (32 bytes), FINGERPRINT in order");
    tap_is_int(trtc_stun_check_integrity(&msg, key, sizeof(key)),
               TRTC_STUN_OK, "macs: MESSAGE-INTEGRITY verifies");
    tap_is_int(trtc_stun_check_integrity_sha256(&msg, key256, sizeof(key256)),
               TRTC_STUN_OK, "macs: MESSAGE-INTEGRITY-SHA256 verifies");
    tap_is_int(trtc_stun_check_fingerprint(&msg), TRTC_STUN_OK,
               "macs: FINGERPRINT verifies");
    tap_is_int(trtc_stun_check_integrity_sha256(&msg, key, sizeof(key)),
               TRTC_STUN_MISMATCH, "macs: SHA-256 with the MD5 key fails");

    /*
     * A truncated SHA-256 MAC (16..28 bytes): the leftmost bytes of the
     * HMAC over the message with the length for that size.  The builder's
     * 32-byte MAC cut short must fail, since the length is covered.
     */
    bad = 0;

    for (i = 16; i <= 32; i += 4) {
        size_t   off, mac_len;
        uint8_t  mac[32];

        trtc_stun_build_init(&b, buf, sizeof(buf), 0x0003, tid0);
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "user", 4);
        off = b.len;
        trtc_stun_add_integrity_sha256(&b, key256, sizeof(key256));

        buf[off + 3] = (uint8_t) i;
        buf[3] = (uint8_t) (off - 20 + 4 + i);

        rc = trtc_stun_parse(&msg, buf, off + 4 + i);
        if (rc != TRTC_STUN_OK
            || trtc_stun_check_integrity_sha256(&msg, key256, sizeof(key256))
               != (i == 32 ? TRTC_STUN_OK : TRTC_STUN_MISMATCH))
        {
            printf("# cut %zu failed\n", i);
            bad++;
        }

        if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key256,
                      sizeof(key256), buf, off, mac, sizeof(mac), &mac_len)
            == NULL)
        {
            bad++;
            continue;
        }

        memcpy(buf + off + 4, mac, i);

        if (trtc_stun_check_integrity_sha256(&msg, key256, sizeof(key256))
            != TRTC_STUN_OK)
        {
            printf("# %zu-byte MAC failed\n", i);
            bad++;
        }

        buf[off + 4 + i - 1] ^= 1;

        if (trtc_stun_check_integrity_sha256(&msg, key256, sizeof(key256))
            != TRTC_STUN_MISMATCH)
        {
            printf("# %zu-byte MAC with a changed last byte passed\n", i);
            bad++;
        }
    }

    tap_is_int(bad, 0, "macs: SHA-256 MACs of 16..32 bytes; a cut MAC and "
               "a changed byte fail");

    /* an empty short-term password still gives an HMAC */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    rc = trtc_stun_add_integrity(&b, (const uint8_t *) "", 0);
    tap_ok(rc == TRTC_STUN_OK && trtc_stun_parse(&msg, buf, b.len) == 0
           && trtc_stun_check_integrity(&msg, (const uint8_t *) "", 0)
              == TRTC_STUN_OK
           && trtc_stun_check_integrity(&msg, (const uint8_t *) "x", 1)
              == TRTC_STUN_MISMATCH,
           "macs: empty key, MI as the first attribute");

    /* a random transaction id when none is given */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, NULL);
    trtc_stun_build_init(&b, buf + 100, sizeof(buf) - 100, 0x0001, NULL);
    tap_ok(b.error == TRTC_STUN_OK && memcmp(buf + 8, buf + 108, 12) != 0,
           "builder: tid NULL gives a random transaction id");
}


static void
test_builder_limits(void)
{
    int                  rc;
    size_t               n;
    uint8_t             *big, *src;
    trtc_stun_msg_t      msg;
    trtc_stun_builder_t  b;
    uint8_t              buf[64];

    trtc_stun_build_init(&b, buf, 19, 0x0001, tid0);
    tap_ok(b.error == TRTC_STUN_NO_SPACE
           && trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME, 1)
              == TRTC_STUN_NO_SPACE, "builder: 19 bytes of room is too few");

    trtc_stun_build_init(&b, buf, 40, 0x0001, tid0);
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "0123456789ab", 12);
    tap_ok(rc == TRTC_STUN_OK && b.len == 36, "builder: 36 of 40 used");
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "x", 1);
    tap_ok(rc == TRTC_STUN_NO_SPACE && b.error == TRTC_STUN_NO_SPACE
           && b.len == 36 && buf[3] == 16,
           "builder: overflow leaves length and header as they were");
    tap_ok(trtc_stun_add_fingerprint(&b) == TRTC_STUN_NO_SPACE
           && trtc_stun_add_integrity(&b, buf, 1) == TRTC_STUN_NO_SPACE
           && b.len == 36, "builder: the error is sticky");

    trtc_stun_build_init(&b, buf, 40, 0x0001, tid0);
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "0123456789abcdef",
                            16);
    tap_ok(rc == TRTC_STUN_OK && b.len == 40 && buf[3] == 20,
           "builder: exactly full");
    tap_is_int(trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DONT_FRAGMENT, NULL, 0),
               TRTC_STUN_NO_SPACE, "builder: not even an empty attribute");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    tap_ok(trtc_stun_add_attr(&b, 1, NULL, 1) != TRTC_STUN_OK
           && b.error != TRTC_STUN_OK, "builder: NULL value with a length");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    tap_ok(trtc_stun_add_attr(&b, 1, buf, (size_t) -1) == TRTC_STUN_NO_SPACE
           && trtc_stun_add_attr(&b, 1, buf, 65536) == TRTC_STUN_NO_SPACE
           && b.len == 20, "builder: huge lengths do not wrap");

    /* the largest message: length 65532 (a multiple of 4), one DATA */
    big = malloc(TRTC_STUN_MAX_MSG + 8);
    src = malloc(65536);
    if (big == NULL || src == NULL) {
        tap_ok(0, "malloc");
        return;
    }

    memset(big, 0x55, TRTC_STUN_MAX_MSG + 8);
    memset(src, 0x66, 65536);

    trtc_stun_build_init(&b, big, TRTC_STUN_MAX_MSG + 8, 0x0016, tid0);
    tap_is_int(trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DATA, src, 65529),
               TRTC_STUN_NO_SPACE, "builder: a 65529-byte DATA does not fit");
    trtc_stun_build_init(&b, big, TRTC_STUN_MAX_MSG + 8, 0x0016, tid0);
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DATA, src, 65528);
    tap_ok(rc == TRTC_STUN_OK && b.len == TRTC_STUN_MAX_MSG - 3
           && big[2] == 0xff && big[3] == 0xfc,
           "builder: a 65528-byte DATA fills the largest message");
    tap_is_int(trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DONT_FRAGMENT, NULL, 0),
               TRTC_STUN_NO_SPACE, "builder: nothing past 64K, room or not");

    rc = trtc_stun_parse(&msg, big, TRTC_STUN_MAX_MSG + 8);
    tap_ok(rc == TRTC_STUN_OK && msg.len == TRTC_STUN_MAX_MSG - 3
           && msg.nattrs == 1 && msg.attrs[0].len == 65528,
           "parse: the largest message built (length 65532)");

    trtc_stun_build_init(&b, big, TRTC_STUN_MAX_MSG + 8, 0x0016, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DATA, src, 65520);
    n = b.len;
    rc = trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, src, 4);
    tap_ok(rc == TRTC_STUN_OK, "builder: an attribute past offset 65535");
    rc = trtc_stun_parse(&msg, big, b.len);
    tap_ok(n > 0xffff && rc == TRTC_STUN_MALFORMED,
           "parse: an attribute starting past offset 65535 is MALFORMED "
           "(attrs[].offset is 16 bits)");

    free(big);
    free(src);
}


static void
test_hostile(void)
{
    int                  rc;
    size_t               n, i, bad;
    uint8_t              buf[4096], *p;
    trtc_stun_msg_t      msg;
    trtc_stun_builder_t  b;

    tap_is_int(trtc_stun_parse(&msg, NULL, 0), TRTC_STUN_MALFORMED,
               "hostile: NULL buffer");
    tap_is_int(trtc_stun_parse(&msg, buf, 0), TRTC_STUN_MALFORMED,
               "hostile: zero bytes");

    n = unhex(rfc5769_req, buf, sizeof(buf));

    /* every truncation of a valid message, in a buffer of exactly n */
    bad = 0;

    for (i = 0; i < n; i++) {
        p = malloc(i + 1);
        memcpy(p, buf, i);
        rc = trtc_stun_parse(&msg, p, i);
        free(p);

        if (rc != TRTC_STUN_MALFORMED || trtc_stun_is_stun(buf, i)) {
            printf("# truncated to %zu: %d\n", i, rc);
            bad++;
        }
    }

    tap_is_int(bad, 0, "hostile: every truncation is MALFORMED");

    tap_ok(trtc_stun_parse(&msg, buf, n) == TRTC_STUN_OK
           && trtc_stun_is_stun(buf, n), "hostile: the whole one parses");

    /* trailing junk is left to the caller, msg.len says where it ends */
    memset(buf + n, 0xee, 16);
    tap_ok(trtc_stun_parse(&msg, buf, n + 16) == TRTC_STUN_OK
           && msg.len == n, "hostile: trailing bytes are not part of it");

    buf[0] |= 0x80;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_NOT_STUN,
               "hostile: top bit set");
    buf[0] &= 0x3f;
    buf[0] |= 0x40;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_NOT_STUN,
               "hostile: second bit set (ChannelData)");
    tap_is_int(trtc_stun_parse(&msg, buf, 1), TRTC_STUN_NOT_STUN,
               "hostile: top bits seen in one byte");
    buf[0] &= 0x3f;

    buf[7] ^= 1;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_NOT_STUN,
               "hostile: bad cookie");
    tap_ok(!trtc_stun_is_stun(buf, n), "hostile: is_stun on a bad cookie");
    buf[7] ^= 1;

    buf[3] = 0x5c;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: length past the end");
    tap_ok(msg.method == TRTC_STUN_BINDING && msg.cls == TRTC_STUN_REQUEST
           && memcmp(msg.tid, tid0, TRTC_STUN_TID_LEN) == 0
           && msg.nattrs == 0, "hostile: MALFORMED keeps the header fields");
    buf[3] = 0x57;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: length not a multiple of 4");
    buf[3] = 0x54;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: length ending inside an attribute");
    buf[2] = 0xff;
    buf[3] = 0xfc;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: length 65532 on 108 bytes");
    buf[2] = 0;
    buf[3] = 0x58;

    /* USERNAME length 0x0100, past the end of the message */
    buf[62] = 0x01;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: attribute length past the end");
    buf[62] = 0;
    buf[63] = 0x0d;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: odd attribute length that runs into the next one");
    buf[63] = 0xff;
    buf[62] = 0xff;
    tap_is_int(trtc_stun_parse(&msg, buf, n), TRTC_STUN_MALFORMED,
               "hostile: attribute length 0xffff");
    buf[62] = 0;
    buf[63] = 0x09;

    /* an odd length whose padding is missing at the end of the message */
    memcpy(buf, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
    memcpy(buf + 20, "\x80\x22\x00\x05" "abcd", 8);
    tap_is_int(trtc_stun_parse(&msg, buf, 28), TRTC_STUN_MALFORMED,
               "hostile: a 5-byte value without its padding");
    buf[3] = 0x0c;
    memcpy(buf + 28, "e\0\0\0", 4);
    tap_is_int(trtc_stun_parse(&msg, buf, 32), TRTC_STUN_OK,
               "hostile: the same with its padding");

    /* zero-length message: just a header */
    memcpy(buf, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
    tap_ok(trtc_stun_parse(&msg, buf, 20) == TRTC_STUN_OK && msg.nattrs == 0
           && msg.len == 20 && trtc_stun_find(&msg, 1) == NULL
           && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_MALFORMED
           && trtc_stun_check_integrity(&msg, buf, 1) == TRTC_STUN_MALFORMED,
           "hostile: zero-length message parses, has nothing");

    /* an attribute header cut in half cannot happen with length % 4 */
    memcpy(buf, "\x00\x01\x00\x04\x21\x12\xa4\x42", 8);
    memcpy(buf + 20, "\x00\x06\x00\x00", 4);
    tap_is_int(trtc_stun_parse(&msg, buf, 24), TRTC_STUN_OK,
               "hostile: an empty USERNAME is well formed");

    /* too many attributes: 40 is the most */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);

    for (i = 0; i < TRTC_STUN_MAX_ATTRS; i++) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "s", 1);
    }

    tap_ok(trtc_stun_parse(&msg, buf, b.len) == TRTC_STUN_OK
           && msg.nattrs == TRTC_STUN_MAX_ATTRS, "hostile: 40 attributes");

    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "s", 1);
    tap_ok(trtc_stun_parse(&msg, buf, b.len) == TRTC_STUN_MALFORMED
           && msg.nattrs == 0 && msg.nunknown == 0,
           "hostile: 41 attributes are too many, none kept");

    /* FINGERPRINT must be last and 4 bytes */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_fingerprint(&b);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "s", 1);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "hostile: an attribute after FINGERPRINT");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_fingerprint(&b);
    trtc_stun_add_fingerprint(&b);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "hostile: two FINGERPRINTs");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_FINGERPRINT, "12345678", 8);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "hostile: an 8-byte FINGERPRINT");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "s", 1);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_FINGERPRINT, "\0\0\0\0", 4);
    tap_ok(trtc_stun_parse(&msg, buf, b.len) == TRTC_STUN_OK
           && trtc_stun_check_fingerprint(&msg) == TRTC_STUN_MISMATCH,
           "hostile: a zero FINGERPRINT is a mismatch");
}


static void
test_integrity_place(void)
{
    int                      rc;
    size_t                   mi_end;
    uint8_t                  buf[1024], key[16];
    trtc_stun_msg_t          msg;
    trtc_stun_builder_t      b;
    const trtc_stun_attr_t  *a;

    trtc_stun_key_md5("u", 1, "r", 1, "p", 1, key);

    /* MESSAGE-INTEGRITY of the wrong sizes */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY, junk, 16);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "place: a 16-byte MESSAGE-INTEGRITY");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, junk, 12);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "place: a 12-byte MESSAGE-INTEGRITY-SHA256");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, junk, 18);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "place: an 18-byte MESSAGE-INTEGRITY-SHA256");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, junk, 36);
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "place: a 36-byte MESSAGE-INTEGRITY-SHA256");

    /* attributes after MESSAGE-INTEGRITY are ignored, FINGERPRINT is not */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "good", 4);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    mi_end = b.len;
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REALM, "evil", 4);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "evil", 4);
    trtc_stun_add_attr(&b, 0x7777, "evil", 4);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    trtc_stun_add_fingerprint(&b);

    rc = trtc_stun_parse(&msg, buf, b.len);
    a = trtc_stun_find(&msg, TRTC_STUN_ATTR_USERNAME);
    tap_ok(rc == TRTC_STUN_OK && msg.nattrs == 3 && a != NULL
           && memcmp(a->value, "good", 4) == 0
           && trtc_stun_find(&msg, TRTC_STUN_ATTR_REALM) == NULL
           && msg.nunknown == 0 && msg.integrity == 1
           && msg.attrs[msg.integrity].offset == mi_end - 24
           && msg.fingerprint == 2,
           "place: after MESSAGE-INTEGRITY only FINGERPRINT counts");
    tap_is_int(trtc_stun_check_integrity(&msg, key, sizeof(key)),
               TRTC_STUN_OK, "place: the first MESSAGE-INTEGRITY verifies");
    tap_is_int(trtc_stun_check_fingerprint(&msg), TRTC_STUN_OK,
               "place: the FINGERPRINT over everything verifies");

    /* MI-SHA256 may follow MI; after MI-SHA256 nothing but FINGERPRINT */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_integrity_sha256(&b, key, sizeof(key));
    trtc_stun_add_integrity(&b, key, sizeof(key));
    trtc_stun_add_integrity_sha256(&b, key, sizeof(key));
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "late", 4);

    rc = trtc_stun_parse(&msg, buf, b.len);
    tap_ok(rc == TRTC_STUN_OK && msg.nattrs == 1 && msg.integrity == -1
           && msg.integrity_sha256 == 0,
           "place: MI after MI-SHA256 is ignored");
    tap_is_int(trtc_stun_check_integrity(&msg, key, sizeof(key)),
               TRTC_STUN_MALFORMED, "place: so there is no MI to check");
    tap_is_int(trtc_stun_check_integrity_sha256(&msg, key, sizeof(key)),
               TRTC_STUN_OK, "place: the MI-SHA256 verifies");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_SOFTWARE, "x", 1);
    trtc_stun_add_integrity_sha256(&b, key, sizeof(key));
    rc = trtc_stun_parse(&msg, buf, b.len);
    tap_ok(rc == TRTC_STUN_OK && msg.nattrs == 2 && msg.integrity == 0
           && msg.integrity_sha256 == 1
           && trtc_stun_check_integrity(&msg, key, sizeof(key))
              == TRTC_STUN_OK
           && trtc_stun_check_integrity_sha256(&msg, key, sizeof(key))
              == TRTC_STUN_OK,
           "place: MI, ignored SOFTWARE, MI-SHA256 both verify");

    /* FINGERPRINT first, then MI: FINGERPRINT not last */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_fingerprint(&b);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    tap_is_int(trtc_stun_parse(&msg, buf, b.len), TRTC_STUN_MALFORMED,
               "place: MI after FINGERPRINT");

    /* a MAC computed before more attributes were added does not verify */
    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0001, tid0);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "u", 1);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    memmove(buf + 28, buf + 20, 32);
    memcpy(buf + 20, "\x80\x22\x00\x04" "evil", 8);
    buf[3] += 8;
    rc = trtc_stun_parse(&msg, buf, b.len + 8);
    tap_ok(rc == TRTC_STUN_OK
           && trtc_stun_check_integrity(&msg, key, sizeof(key))
              == TRTC_STUN_MISMATCH,
           "place: an attribute inserted before MI breaks it");
}


static void
test_unknown(void)
{
    int                  rc;
    size_t               i;
    uint8_t              buf[1024];
    trtc_stun_msg_t      msg;
    trtc_stun_builder_t  b;

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0003, tid0);
    trtc_stun_add_attr(&b, 0x7777, "x", 1);
    trtc_stun_add_attr(&b, 0xc001, "x", 1);
    trtc_stun_add_attr(&b, 0x0003, "x", 1);
    trtc_stun_add_attr(&b, 0x7777, "y", 1);
    trtc_stun_add_attr(&b, 0x8000, "x", 1);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, "x", 1);

    rc = trtc_stun_parse(&msg, buf, b.len);
    tap_ok(rc == TRTC_STUN_OK && msg.nattrs == 6 && msg.nunknown == 2
           && msg.unknown[0] == 0x7777 && msg.unknown[1] == 0x0003,
           "unknown: required ones collected once, optional ones ignored");
    tap_ok(trtc_stun_find(&msg, 0xc001) != NULL,
           "unknown: optional ones are still in attrs[]");

    trtc_stun_build_init(&b, buf, sizeof(buf), 0x0003, tid0);

    for (i = 0; i < 20; i++) {
        trtc_stun_add_attr(&b, (uint16_t) (0x7000 + i), NULL, 0);
    }

    rc = trtc_stun_parse(&msg, buf, b.len);
    tap_ok(rc == TRTC_STUN_OK && msg.nunknown == TRTC_STUN_MAX_UNKNOWN
           && msg.unknown[7] == 0x7007,
           "unknown: at most 8 collected, in order");
}


static void
test_frame(void)
{
    uint8_t  buf[64];

    memset(buf, 0, sizeof(buf));

    tap_is_int(trtc_stun_frame_len(buf, 0), 0, "frame: nothing yet");
    memcpy(buf, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
    tap_is_int(trtc_stun_frame_len(buf, 3), 0, "frame: 3 bytes, need more");
    tap_is_int(trtc_stun_frame_len(buf, 7), 0, "frame: STUN, cookie unseen");
    tap_is_int(trtc_stun_frame_len(buf, 8), 28, "frame: STUN 20+8");
    buf[3] = 0x09;
    tap_is_int(trtc_stun_frame_len(buf, 8), -1, "frame: STUN odd length");
    buf[3] = 0x08;
    buf[4] = 0x22;
    tap_is_int(trtc_stun_frame_len(buf, 8), -1, "frame: STUN bad cookie");
    tap_is_int(trtc_stun_frame_len(buf, 4), 0, "frame: cookie not yet seen");

    memcpy(buf, "\x40\x00\x00\x05", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), 12,
               "frame: ChannelData of 5 is padded to 12");
    memcpy(buf, "\x4f\xff\x00\x00", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), 4, "frame: empty ChannelData");
    memcpy(buf, "\x4a\xbc\xff\xff", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), 4 + 65536,
               "frame: ChannelData of 65535 is padded to 65536");
    memcpy(buf, "\x50\x00\x00\x04", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), -1,
               "frame: channel 0x5000 is reserved");
    memcpy(buf, "\x80\x00\x00\x04", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), -1, "frame: top bits 10");
    memcpy(buf, "\xc0\x00\x00\x04", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), -1, "frame: top bits 11");
    memcpy(buf, "POST", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), -1, "frame: POST is not STUN");

    /* but "GET " is ChannelData 0x4745 of 0x5420 bytes: callers beware */
    memcpy(buf, "GET ", 4);
    tap_is_int(trtc_stun_frame_len(buf, 4), 4 + 0x5420,
               "frame: \"GET \" reads as a ChannelData header");

    tap_ok(trtc_stun_is_channel_data((const uint8_t *) "\x40\x00")
           && !trtc_stun_is_channel_data((const uint8_t *) "\x00\x01"),
           "frame: is_channel_data");
}


/*
 * Mutations of valid messages in exactly-sized heap buffers (so ASan sees
 * any read past the end).  The only claims: no crash, a defined code, and
 * attributes inside the message.
 */

static void
test_mutations(void)
{
    int                      rc;
    long                     fl;
    size_t                   i, j, k, n, rlen, base_len[6], bad, ok;
    uint8_t                 *p, u8;
    uint8_t                  bases[6][512], key[16];
    uint16_t                 ch;
    uint32_t                 u;
    unsigned                 code, nmut;
    socklen_t                salen;
    trtc_stun_msg_t          msg;
    trtc_stun_builder_t      b;
    const uint8_t           *reason;
    struct sockaddr_in6      sin6;
    const trtc_stun_attr_t  *a;
    struct sockaddr_storage  ss;
    static const uint16_t    unk[] = { 0x7777, 0x0002 };

    base_len[0] = unhex(rfc5769_req, bases[0], 512);
    base_len[1] = unhex(rfc5769_resp4, bases[1], 512);
    base_len[2] = unhex(rfc5769_resp6, bases[2], 512);
    base_len[3] = unhex(rfc5769_ltc, bases[3], 512);
    base_len[4] = unhex(rfc8489_b1, bases[4], 512);

    trtc_stun_key_md5("u", 1, "r", 1, "p", 1, key);
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(5000);
    inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);

    trtc_stun_build_init(&b, bases[5], 512, 0x0113, tid0);
    trtc_stun_add_error(&b, 420, NULL);
    trtc_stun_add_unknown(&b, unk, 2);
    trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                       (struct sockaddr *) &sin6, tid0);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_CHANNEL_NUMBER, 0x40010000);
    trtc_stun_add_attr(&b, TRTC_STUN_ATTR_EVEN_PORT, "\x80", 1);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT, 17 << 24);
    trtc_stun_add_integrity(&b, key, sizeof(key));
    trtc_stun_add_integrity_sha256(&b, key, sizeof(key));
    trtc_stun_add_fingerprint(&b);
    base_len[5] = b.len;

    bad = 0;
    ok = 0;

    for (i = 0; i < MUTATIONS; i++) {
        k = rnd() % 6;
        n = base_len[k];

        /* sometimes longer, sometimes shorter than the original */
        switch (rnd() % 8) {
        case 0:
            n = rnd() % (n + 1);
            break;
        case 1:
            n += rnd() % 64;
            break;
        default:
            break;
        }

        p = malloc(n ? n : 1);
        if (p == NULL) {
            bad++;
            break;
        }

        for (j = 0; j < n; j++) {
            p[j] = (j < base_len[k]) ? bases[k][j] : (uint8_t) rnd();
        }

        nmut = 1 + rnd() % 6;

        while (n > 0 && nmut--) {
            j = rnd() % n;

            switch (rnd() % 6) {
            case 0:
                p[j] ^= (uint8_t) (1 << (rnd() % 8));
                break;
            case 1:
                p[j] = (uint8_t) rnd();
                break;
            case 2:
                /* a length field: message or attribute */
                j &= ~(size_t) 3;
                if (j + 3 < n) {
                    p[j + 2] = (uint8_t) rnd();
                    p[j + 3] = (uint8_t) rnd();
                }
                break;
            case 3:
                j &= ~(size_t) 3;
                if (j + 3 < n) {
                    p[j + 3] = (uint8_t) (p[j + 3] + 4 * (rnd() % 3) - 4);
                }
                break;
            case 4:
                if (n > 3) {
                    p[2] = (uint8_t) ((n - 20) >> 8);
                    p[3] = (uint8_t) (n - 20 + rnd() % 3 * 4 - 4);
                }
                break;
            default:
                p[j] = 0;
                break;
            }
        }

        rc = trtc_stun_parse(&msg, p, n);
        fl = trtc_stun_frame_len(p, n);
        (void) trtc_stun_is_stun(p, n);

        if (fl < -1 || fl > TRTC_STUN_MAX_MSG + 1) {
            bad++;
        }

        if (rc != TRTC_STUN_OK && rc != TRTC_STUN_NOT_STUN
            && rc != TRTC_STUN_MALFORMED)
        {
            bad++;
        }

        if (rc == TRTC_STUN_OK) {
            ok++;

            if (msg.len > n || msg.nattrs > TRTC_STUN_MAX_ATTRS
                || msg.nunknown > TRTC_STUN_MAX_UNKNOWN)
            {
                bad++;
            }

            for (j = 0; j < msg.nattrs; j++) {
                a = &msg.attrs[j];

                if (a->value < p + 20 || a->value + a->len > p + msg.len
                    || a->offset + 4 + (size_t) a->len > msg.len)
                {
                    bad++;
                }

                (void) trtc_stun_attr_u32(a, &u);
                (void) trtc_stun_attr_u8(a, &u8);
                (void) trtc_stun_attr_channel(a, &ch);
                (void) trtc_stun_attr_error(a, &code, &reason, &rlen);
                (void) trtc_stun_attr_addr(a, msg.tid, &ss, &salen);
                (void) trtc_stun_attr_addr(a, NULL, &ss, &salen);
            }

            rc = trtc_stun_check_integrity(&msg, key, sizeof(key));
            if (rc != TRTC_STUN_OK && rc != TRTC_STUN_MISMATCH
                && rc != TRTC_STUN_MALFORMED)
            {
                bad++;
            }

            rc = trtc_stun_check_integrity_sha256(&msg, key, sizeof(key));
            if (rc != TRTC_STUN_OK && rc != TRTC_STUN_MISMATCH
                && rc != TRTC_STUN_MALFORMED)
            {
                bad++;
            }

            rc = trtc_stun_check_fingerprint(&msg);
            if (rc != TRTC_STUN_OK && rc != TRTC_STUN_MISMATCH
                && rc != TRTC_STUN_MALFORMED)
            {
                bad++;
            }
        }

        free(p);
    }

    tap_is_int(bad, 0, "mutations: %d mutated messages, no bad result",
               MUTATIONS);
    printf("# mutations: %zu of them still parsed\n", ok);
    tap_ok(ok > 1000 && ok < MUTATIONS,
           "mutations: some parse, some do not (the loop is exercising)");
}


static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
    int     hi, v;
    size_t  n;

    n = 0;
    hi = -1;

    for ( /* void */ ; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9') {
            v = *s - '0';

        } else if (*s >= 'a' && *s <= 'f') {
            v = *s - 'a' + 10;

        } else {
            continue;
        }

        if (hi < 0) {
            hi = v;
            continue;
        }

        if (n < cap) {
            out[n++] = (uint8_t) (hi << 4 | v);
        }

        hi = -1;
    }

    return n;
}


static int
sa_eq(const struct sockaddr_storage *a, const char *ip, uint16_t port)
{
    struct in_addr              in;
    struct in6_addr             in6;
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (inet_pton(AF_INET, ip, &in) == 1) {
        sin = (const struct sockaddr_in *) a;
        return sin->sin_family == AF_INET && ntohs(sin->sin_port) == port
               && sin->sin_addr.s_addr == in.s_addr;
    }

    if (inet_pton(AF_INET6, ip, &in6) == 1) {
        sin6 = (const struct sockaddr_in6 *) a;
        return sin6->sin6_family == AF_INET6
               && ntohs(sin6->sin6_port) == port
               && memcmp(&sin6->sin6_addr, &in6, 16) == 0;
    }

    return 0;
}


/* xorshift32 with a fixed seed: the same mutations every run */

static uint32_t
rnd(void)
{
    static uint32_t  x = 2463534242u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;

    return x;
}
