
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd's long-term authentication: real STUN requests built with the
 * codec, keys and REST passwords computed here with OpenSSL directly (not
 * with the code under test), the RFC 5769 2.4 vector, stateless nonces
 * (other client, expiry through `now`, forgery), SHA-256 integrity, and
 * reloads of the credentials file, also under concurrent checks.
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "capture.h"
#include "td_auth.h"
#include "td_log.h"


#define NOW          1700000000


static td_conf_t            conf;
static char                 cred_path[64];
static struct sockaddr_in   client4, other4;
static struct sockaddr_in6  client6;


static void
digest(const char *md, const char *s, uint8_t *out)
{
    unsigned int  n;

    EVP_Digest(s, strlen(s), out, &n, EVP_get_digestbyname(md), NULL);
}


/* the long-term key, MD5 or SHA-256 of "user:realm:password" */

static void
lt_key(const char *md, const char *user, const char *realm,
    const char *pass, uint8_t *out)
{
    char  buf[1024];

    snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pass);
    digest(md, buf, out);
}


/* TURN REST API: base64(HMAC-SHA1(secret, username)) */

static void
rest_pass(const char *secret, const char *user, char *out)
{
    uint8_t       mac[20];
    unsigned int  n;

    HMAC(EVP_sha1(), secret, (int) strlen(secret), (const uint8_t *) user,
         strlen(user), mac, &n);
    EVP_EncodeBlock((unsigned char *) out, mac, 20);
}


static void
write_cred(const char *text)
{
    FILE  *f;

    f = fopen(cred_path, "w");
    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        perror(cred_path);
        exit(2);
    }

    chmod(cred_path, 0600);
}


/* integrity: 0 none, 1 MI, 2 MI-SHA256, 3 both (MI with bad_key) */

typedef struct {
    const char     *user;
    const char     *realm;
    const char     *nonce;
    const uint8_t  *key;
    size_t          key_len;
    int             integrity;
    int             pa;            /* PASSWORD-ALGORITHM, 0: none */
    int             pas;           /* 1: echo PASSWORD-ALGORITHMS */
    int             userhash;
} req_t;


static int
check(const req_t *r, const struct sockaddr *client, time_t now,
    td_auth_result_t *res)
{
    int                  rc;
    uint8_t              buf[1024], pa[4], bad[16];
    uint8_t              tid[12] = "abcdefghijkl";
    trtc_stun_msg_t      msg;
    trtc_stun_builder_t  b;

    trtc_stun_build_init(&b, buf, sizeof(buf),
                         trtc_stun_type(TRTC_STUN_ALLOCATE,
                                        TRTC_STUN_REQUEST), tid);
    trtc_stun_add_u32(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);

    if (r->user != NULL) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, r->user,
                           strlen(r->user));
    }

    if (r->userhash) {
        memset(buf + 900, 0x5a, 32);
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERHASH, buf + 900, 32);
    }

    if (r->realm != NULL) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REALM, r->realm,
                           strlen(r->realm));
    }

    if (r->nonce != NULL) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_NONCE, r->nonce,
                           strlen(r->nonce));
    }

    if (r->pas) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_PASSWORD_ALGORITHMS,
                           td_auth_password_algorithms,
                           TD_AUTH_PASSWORD_ALGORITHMS_LEN);
    }

    if (r->pa) {
        pa[0] = 0;
        pa[1] = (uint8_t) r->pa;
        pa[2] = 0;
        pa[3] = 0;
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_PASSWORD_ALGORITHM, pa, 4);
    }

    if (r->integrity == 1) {
        trtc_stun_add_integrity(&b, r->key, r->key_len);

    } else if (r->integrity == 2) {
        trtc_stun_add_integrity_sha256(&b, r->key, r->key_len);

    } else if (r->integrity == 3) {
        memset(bad, 0x11, sizeof(bad));
        trtc_stun_add_integrity(&b, bad, sizeof(bad));
        trtc_stun_add_integrity_sha256(&b, r->key, r->key_len);
    }

    trtc_stun_add_fingerprint(&b);

    if (b.error) {
        printf("# builder error\n");
        return -1;
    }

    if (trtc_stun_parse(&msg, buf, b.len) != TRTC_STUN_OK) {
        printf("# parse error\n");
        return -1;
    }

    rc = td_auth_check(&msg, client, now, res);

    return rc;
}


static void
set_up(void)
{
    client4.sin_family = AF_INET;
    client4.sin_port = htons(5000);
    inet_pton(AF_INET, "192.0.2.10", &client4.sin_addr);

    other4 = client4;
    other4.sin_port = htons(5001);

    client6.sin6_family = AF_INET6;
    client6.sin6_port = htons(5000);
    inet_pton(AF_INET6, "2001:db8::10", &client6.sin6_addr);

    snprintf(cred_path, sizeof(cred_path), "/tmp/auth_test.XXXXXX");
    close(mkstemp(cred_path));

    write_cred("# the shared file\n"
               "realm example.org\n"
               "secret filesecret\n"
               "user carol carolpw\n");

    td_conf_init(&conf);
    conf.realm = strdup("example.org");
    conf.realm_default = 0;
    conf.lt_cred_mech = 1;
    conf.users[conf.nusers++] = strdup("alice:wonderland");
    conf.users[conf.nusers++] =
        strdup("bob:0x00000000000000000000000000000000");
    conf.users[conf.nusers++] = strdup("\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa"
                                       "\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9"
                                       ":TheMatrIX");
    conf.secrets[conf.nsecrets++] = strdup("s3cret");
    conf.secrets[conf.nsecrets++] = strdup("0ld-s3cret");
    conf.credentials_file = strdup(cred_path);
    conf.stale_nonce = 600;
}


static void
test_nonce(void)
{
    char    n1[TD_NONCE_MAX_LEN], n2[TD_NONCE_MAX_LEN];
    size_t  l1, l2;

    l1 = td_auth_nonce((struct sockaddr *) &client4, NOW, n1, sizeof(n1));
    l2 = td_auth_nonce((struct sockaddr *) &other4, NOW, n2, sizeof(n2));

    tap_ok(l1 > 13 && l1 < TD_NONCE_MAX_LEN && strlen(n1) == l1,
           "nonce: bounded, NUL-terminated (%zu: %s)", l1, n1);
    tap_ok(memcmp(n1, "obMatJos2", 9) == 0, "nonce: the RFC 8489 cookie");
    tap_ok(memcmp(n1 + 9, "AAAB", 4) == 0,
           "nonce: \"Password algorithms\" feature bit set");
    tap_ok(l1 == l2 && strcmp(n1, n2) != 0,
           "nonce: another port, another nonce");
    tap_is_int(td_auth_nonce((struct sockaddr *) &client4, NOW, n2, 20), 0,
               "nonce: a small buffer gets nothing");

    l2 = td_auth_nonce((struct sockaddr *) &client4, NOW, n2, sizeof(n2));
    tap_ok(l1 == l2 && strcmp(n1, n2) == 0,
           "nonce: same client, same second, same nonce");

    tap_ok(strspn(n1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789-_") == l1, "nonce: printable, no quotes");
}


static void
test_static(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN], nonce6[TD_NONCE_MAX_LEN];
    req_t             r;
    uint8_t           key[16], key2[16], zero[16];
    td_auth_result_t  res;

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));
    td_auth_nonce((struct sockaddr *) &client6, NOW, nonce6, sizeof(nonce6));
    lt_key("MD5", "alice", "example.org", "wonderland", key);
    lt_key("MD5", "alice", "example.org", "wrong", key2);

    memset(&r, 0, sizeof(r));
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "no integrity: 401");

    r.user = "alice";
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "alice, good password: OK (%s)",
               res.reason ? res.reason : "");
    tap_ok(res.key_len == 16 && memcmp(res.key, key, 16) == 0
           && !res.sha256, "alice: the MD5 key to sign the response");
    tap_ok(res.user_len == 5 && memcmp(res.user, "alice", 5) == 0,
           "alice: the user name");

    r.nonce = nonce6;
    rc = check(&r, (struct sockaddr *) &client6, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "alice over IPv6: OK");

    r.nonce = nonce;
    r.key = key2;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "wrong password: 401");
    tap_ok(res.key_len == 0, "wrong password: no key handed out");

    r.user = "mallory";
    r.key = key;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "unknown user: 401");
    tap_ok(res.reason != NULL && strstr(res.reason, "unknown") != NULL,
           "unknown user: says so (%s)", res.reason ? res.reason : "");

    r.user = "alice";
    r.realm = "example.com";
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "wrong realm: 401");

    r.realm = "example.org";
    r.nonce = NULL;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_BAD_REQUEST, "integrity without NONCE: 400");

    r.nonce = nonce;
    r.realm = NULL;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_BAD_REQUEST, "integrity without REALM: 400");

    r.realm = "example.org";
    r.user = NULL;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_BAD_REQUEST, "integrity without USERNAME: 400");

    r.userhash = 1;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "USERHASH instead: 401");
    r.userhash = 0;

    /* bob is configured by key (all zero), not password */
    memset(zero, 0, sizeof(zero));
    r.user = "bob";
    r.key = zero;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "user=NAME:0xKEY: OK");

    /* carol is in the credentials file */
    lt_key("MD5", "carol", "example.org", "carolpw", key2);
    r.user = "carol";
    r.key = key2;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "credentials-file user: OK");
}


static void
test_nonce_validity(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN], forged[TD_NONCE_MAX_LEN];
    req_t             r;
    size_t            len;
    uint8_t           key[16];
    td_auth_result_t  res;

    len = td_auth_nonce((struct sockaddr *) &client4, NOW, nonce,
                        sizeof(nonce));
    lt_key("MD5", "alice", "example.org", "wonderland", key);

    memset(&r, 0, sizeof(r));
    r.user = "alice";
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;

    rc = check(&r, (struct sockaddr *) &other4, NOW, &res);
    tap_ok(rc != TD_AUTH_OK, "nonce of another client port: not OK");
    tap_is_int(rc, TD_AUTH_STALE, "... 438, a new nonce (RFC 8489 9.2.4)");
    tap_ok(res.key_len == 0, "... no key handed out");

    rc = check(&r, (struct sockaddr *) &client6, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "nonce of an IPv4 client from IPv6: 438");

    rc = check(&r, (struct sockaddr *) &client4, NOW + 599, &res);
    tap_is_int(rc, TD_AUTH_OK, "nonce at 599 s: OK");

    rc = check(&r, (struct sockaddr *) &client4, NOW + 600, &res);
    tap_is_int(rc, TD_AUTH_OK, "nonce at 600 s: OK");

    rc = check(&r, (struct sockaddr *) &client4, NOW + 601, &res);
    tap_is_int(rc, TD_AUTH_STALE, "nonce at 601 s: 438 stale");
    tap_ok(res.reason != NULL && strstr(res.reason, "stale") != NULL,
           "... reason says stale (%s)", res.reason ? res.reason : "");

    /* a stale nonce with a wrong key is a 401 first */
    lt_key("MD5", "alice", "example.org", "nope", key);
    rc = check(&r, (struct sockaddr *) &client4, NOW + 601, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "stale nonce, wrong key: 401");
    lt_key("MD5", "alice", "example.org", "wonderland", key);

    /* one flipped character in the MAC, then in the expiry */
    memcpy(forged, nonce, len + 1);
    forged[len - 1] = (forged[len - 1] == 'A') ? 'B' : 'A';
    r.nonce = forged;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "forged MAC: 438, not OK");

    memcpy(forged, nonce, len + 1);
    forged[13 + 8] = (forged[13 + 8] == 'f') ? 'e' : 'f';
    r.nonce = forged;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "extended expiry: 438, not OK");

    r.nonce = "f//499k954d6OL34oL9FSTvy64sA";
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "somebody else's nonce: 438");

    r.nonce = "";
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "empty nonce: 438");
}


static void
test_rest(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN], pass[64], user[64];
    req_t             r;
    uint8_t           key[16];
    td_auth_result_t  res;

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));

    memset(&r, 0, sizeof(r));
    r.user = user;
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;

    snprintf(user, sizeof(user), "%d:carl", NOW + 3600);
    rest_pass("s3cret", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "REST credential, first secret: OK (%s)",
               res.reason ? res.reason : "");
    tap_ok(res.key_len == 16 && memcmp(res.key, key, 16) == 0,
           "REST: the key to sign with");

    rest_pass("0ld-s3cret", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "REST credential, second (rotated) secret: "
               "OK");

    rest_pass("filesecret", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "REST credential, credentials-file secret: "
               "OK");

    rest_pass("guess", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "REST credential, unknown secret: "
               "401");

    snprintf(user, sizeof(user), "%d:carl", NOW - 1);
    rest_pass("s3cret", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "expired REST credential: 401");
    tap_ok(res.reason != NULL
           && strcmp(res.reason, "expired credential") == 0,
           "... reason \"expired credential\" (%s)",
           res.reason ? res.reason : "");

    /* coturn's order too: NAME:EXPIRY */
    snprintf(user, sizeof(user), "carl:%d", NOW + 60);
    rest_pass("s3cret", user, pass);
    lt_key("MD5", user, "example.org", pass, key);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "REST credential NAME:EXPIRY: OK");
}


static void
test_sha256(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN], pass[64], user[64];
    req_t             r;
    uint8_t           key[32], md5[16];
    td_auth_result_t  res;

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));
    lt_key("SHA256", "alice", "example.org", "wonderland", key);

    memset(&r, 0, sizeof(r));
    r.user = "alice";
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 32;
    r.integrity = 2;
    r.pa = TRTC_STUN_PASSWORD_SHA256;
    r.pas = 1;

    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "SHA-256: MI-SHA256 with PASSWORD-ALGORITHM "
               "SHA-256: OK (%s)", res.reason ? res.reason : "");
    tap_ok(res.key_len == 32 && memcmp(res.key, key, 32) == 0 && res.sha256,
           "SHA-256: key_len 32, the SHA-256 key, sha256 set");

    r.integrity = 3;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "MI (bad) and MI-SHA256 (good): the "
               "SHA-256 one is checked");
    r.integrity = 2;

    r.pas = 0;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_BAD_REQUEST, "PASSWORD-ALGORITHM without "
               "PASSWORD-ALGORITHMS: 400");
    r.pas = 1;

    r.pa = 3;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_BAD_REQUEST, "an algorithm not offered: 400");
    r.pa = TRTC_STUN_PASSWORD_SHA256;

    /* MI-SHA256 without PASSWORD-ALGORITHM: processed as MD5 (9.2.4) */
    lt_key("MD5", "alice", "example.org", "wonderland", md5);
    r.pa = 0;
    r.pas = 0;
    r.key = md5;
    r.key_len = 16;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "MI-SHA256 with the MD5 key, no algorithm: "
               "OK");
    tap_ok(res.key_len == 16 && res.sha256, "... key_len 16, sha256");

    /* PASSWORD-ALGORITHM MD5 with MI */
    r.pa = TRTC_STUN_PASSWORD_MD5;
    r.pas = 1;
    r.integrity = 1;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "PASSWORD-ALGORITHM MD5 and MI: OK");

    /* the MD5 key where SHA-256 was announced fails */
    r.pa = TRTC_STUN_PASSWORD_SHA256;
    r.integrity = 2;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "SHA-256 announced, MD5 key used: 401");

    /* REST passwords are known, so SHA-256 works for them */
    snprintf(user, sizeof(user), "%d:carl", NOW + 3600);
    rest_pass("0ld-s3cret", user, pass);
    lt_key("SHA256", user, "example.org", pass, key);
    r.user = user;
    r.key = key;
    r.key_len = 32;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "SHA-256 REST credential: OK");
    tap_is_int(res.key_len, 32, "... key_len 32");

    /* bob has only an MD5 key */
    r.user = "bob";
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "SHA-256 for a key-only user: 401");
}


/*
 * RFC 5769 2.4: a request with long-term authentication, user
 * U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9, password "TheMatrIX" (after
 * SASLprep), realm example.org.  Its nonce is not ours, so a correct
 * integrity yields 438 and a wrong password 401.
 */

static const uint8_t  rfc5769_24[] = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
    0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
    0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
    0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
    0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
    0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
    0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66
};


static void
test_rfc5769(void)
{
    int               rc;
    uint8_t           buf[sizeof(rfc5769_24)];
    trtc_stun_msg_t   msg;
    td_auth_result_t  res;

    rc = trtc_stun_parse(&msg, rfc5769_24, sizeof(rfc5769_24));
    tap_is_int(rc, TRTC_STUN_OK, "RFC 5769 2.4: parses");

    rc = td_auth_check(&msg, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_STALE, "RFC 5769 2.4: integrity verified, "
               "foreign nonce: 438 (%s)", res.reason ? res.reason : "");

    memcpy(buf, rfc5769_24, sizeof(buf));
    buf[sizeof(buf) - 1] ^= 1;
    trtc_stun_parse(&msg, buf, sizeof(buf));
    rc = td_auth_check(&msg, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "RFC 5769 2.4, one bit flipped: 401");
}


static void
test_reload(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN], want[256];
    req_t             r;
    uint8_t           key[16], akey[16];
    const char       *err;
    td_auth_result_t  res;

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));
    lt_key("MD5", "carol", "example.org", "carolpw", key);
    lt_key("MD5", "alice", "example.org", "wonderland", akey);

    memset(&r, 0, sizeof(r));
    r.user = "carol";
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;

    /* a broken file: the old users stay */
    write_cred("realm example.org\nuser carol\n");

    cap_start();
    rc = td_auth_reload(&conf);
    err = cap_end();

    tap_is_int(rc, -1, "reload, broken file: fails");
    snprintf(want, sizeof(want), "credentials not reloaded: %s:2:",
             cred_path);
    tap_ok(strstr(err, want) != NULL, "... logs \"%s\" (got \"%s\")", want,
           err);
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "... carol still OK");

    /* a file with another realm than the configuration's */
    write_cred("realm elsewhere\nuser carol carolpw\n");
    cap_start();
    rc = td_auth_reload(&conf);
    err = cap_end();
    tap_is_int(rc, -1, "reload, another realm: fails");
    tap_ok(strstr(err, "elsewhere") != NULL, "... says which realm");

    /* a missing file */
    unlink(cred_path);
    cap_start();
    rc = td_auth_reload(&conf);
    err = cap_end();
    tap_is_int(rc, -1, "reload, missing file: fails");
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "... carol still OK");

    /* carol removed, dave added; the file readable by others */
    write_cred("realm example.org\nsecret filesecret\nuser dave davepw\n");
    chmod(cred_path, 0644);

    cap_start();
    rc = td_auth_reload(&conf);
    err = cap_end();

    tap_is_int(rc, 0, "reload, carol removed: OK");
    tap_ok(strstr(err, "readable") != NULL,
           "... a file readable by others is warned about (got \"%s\")",
           err);
    tap_ok(strstr(err, "filesecret") == NULL && strstr(err, "davepw")
           == NULL && strstr(err, "s3cret") == NULL,
           "... no secret in the log");

    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_CHALLENGE, "carol after removal: 401");

    lt_key("MD5", "dave", "example.org", "davepw", key);
    r.user = "dave";
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "dave after reload: OK, with the old nonce");

    r.user = "alice";
    r.key = akey;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "alice (configuration) after reload: OK");

    chmod(cred_path, 0600);
}


/* checks on several threads while the main thread reloads */

static int           stop_threads;
static int           thread_fail;


static void *
checker(void *arg)
{
    int               i, rc;
    char              nonce[TD_NONCE_MAX_LEN];
    req_t             r;
    uint8_t           key[16];
    td_auth_result_t  res;

    (void) arg;

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));
    lt_key("MD5", "alice", "example.org", "wonderland", key);

    memset(&r, 0, sizeof(r));
    r.user = "alice";
    r.realm = "example.org";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;

    for (i = 0;
         i < 20000 && !__atomic_load_n(&stop_threads, __ATOMIC_RELAXED);
         i++)
    {
        rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
        if (rc != TD_AUTH_OK
            || strcmp(td_auth_realm(), "example.org") != 0)
        {
            __atomic_add_fetch(&thread_fail, 1, __ATOMIC_RELAXED);
        }
    }

    return NULL;
}


static void
test_threads(void)
{
    int        i, n;
    pthread_t  t[4];

    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, checker, NULL);
    }

    cap_start();

    for (n = 0, i = 0; i < 200; i++) {
        n += (td_auth_reload(&conf) == 0);
    }

    __atomic_store_n(&stop_threads, 1, __ATOMIC_RELAXED);

    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }

    cap_end();

    tap_is_int(n, 200, "200 reloads under 4 checking threads");
    tap_is_int(thread_fail, 0, "no failed check during the reloads");
}


static void
test_realm_from_file(void)
{
    int               rc;
    char              nonce[TD_NONCE_MAX_LEN];
    req_t             r;
    uint8_t           key[16];
    td_conf_t         c;
    const char       *err;
    td_auth_result_t  res;

    /* no realm= in the configuration: the file's realm is used */
    write_cred("realm tencent\nuser turn turn\n");

    td_conf_init(&c);
    c.credentials_file = strdup(cred_path);
    c.users[c.nusers++] = strdup("alice:wonderland");

    cap_start();
    rc = td_auth_reload(&c);
    err = cap_end();
    (void) err;

    tap_is_int(rc, 0, "no realm in the configuration: the file's is used");
    tap_ok(strcmp(td_auth_realm(), "tencent") == 0, "... realm tencent");

    td_auth_nonce((struct sockaddr *) &client4, NOW, nonce, sizeof(nonce));
    lt_key("MD5", "alice", "tencent", "wonderland", key);

    memset(&r, 0, sizeof(r));
    r.user = "alice";
    r.realm = "tencent";
    r.nonce = nonce;
    r.key = key;
    r.key_len = 16;
    r.integrity = 1;
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "... the configuration's user keyed with it");

    td_conf_free(&c);
}


static void
test_no_auth(void)
{
    int               rc;
    req_t             r;
    td_conf_t         c;
    td_auth_result_t  res;

    td_conf_init(&c);
    c.no_auth = 1;

    cap_start();
    rc = td_auth_reload(&c);
    cap_end();

    tap_is_int(rc, 0, "no-auth: loads");

    memset(&r, 0, sizeof(r));
    rc = check(&r, (struct sockaddr *) &client4, NOW, &res);
    tap_is_int(rc, TD_AUTH_OK, "no-auth: a request without integrity is OK");
    tap_is_int(res.key_len, 0, "... with no key to sign");

    td_conf_free(&c);
}


int
main(void)
{
    int          rc;
    const char  *err;

    set_up();

    cap_start();
    rc = td_auth_init(&conf);
    err = cap_end();

    tap_is_int(rc, 0, "init");
    tap_ok(strstr(err, "s3cret") == NULL && strstr(err, "filesecret") == NULL
           && strstr(err, "wonderland") == NULL, "init: no secret logged");
    tap_ok(strcmp(td_auth_realm(), "example.org") == 0, "realm");

    test_nonce();
    test_static();
    test_nonce_validity();
    test_rest();
    test_sha256();
    test_rfc5769();
    test_reload();
    test_threads();
    test_realm_from_file();
    test_no_auth();

    td_auth_cleanup();
    td_conf_free(&conf);
    unlink(cred_path);

    return tap_done();
}
