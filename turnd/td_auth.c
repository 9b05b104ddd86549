
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * Long-term credentials, RFC 8489 9.2.4, in the RFC's order:
 *
 *   1. no MESSAGE-INTEGRITY(-SHA256)               401
 *   2. integrity but no USERNAME, REALM or NONCE   400
 *   3. PASSWORD-ALGORITHM(S) present but not both,
 *      not our list, or not an algorithm of it     400
 *   4. unknown user, expired REST credential,
 *      wrong realm                                 401
 *   5. integrity does not match                    401
 *   6. the NONCE is not valid                      438
 *
 * On step 6 the RFC has one rule: "If the NONCE is no longer valid, the
 * server MUST generate an error response with an error code of 438 (Stale
 * Nonce)", after the integrity check passed, and the 438 carries a valid
 * new nonce.  A nonce is "not valid" here when it has expired, when its
 * HMAC does not match (issued to another client address or port, made up,
 * from a restarted server) or when it is not one of ours at all: every
 * case is 438.  A 401 would be wrong for a nonce from another address:
 * 9.2.5 forbids a client to retry a 401 with unchanged credentials, so a
 * client whose NAT mapping or TCP connection changed would give up, while
 * on 438 it retries with the new nonce.  Nothing leaks: only a request
 * that proved the key gets this far, and the new nonce is bound to the
 * address it is sent to.
 *
 * The nonce is stateless:
 *
 *     "obMatJos2" "AAAB" EXPIRY MAC
 *
 * "obMatJos2" and four base64 characters of the 24 security feature bits
 * are the RFC 8489 9.2 nonce cookie.  Only "Password algorithms" (bit 0)
 * is set.  RFC 8489 9.2 numbers bit 0 as the most significant, but the
 * verified Errata 6290 to 18.1 makes bit 0 the least significant, the
 * corrected Appendix B.1 vector (Errata 6268, "AAAC" for "Username
 * anonymity") agrees, and so do the clients that implement it (libjuice):
 * hence 0x000001, "AAAB".  EXPIRY is 16 hex digits of Unix seconds, MAC
 * the first 16 bytes of HMAC-SHA256(key, cookie EXPIRY family addr port),
 * base64url without padding.  The key is 32 random bytes made at start
 * and never changed, so nonces survive a reload but not a restart.
 */


#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <trtc_cred.h>
#include <trtc_crypto.h>
#include "td_auth.h"
#include "td_log.h"


#define TD_NONCE_PREFIX         "obMatJos2AAAB"
#define TD_NONCE_PREFIX_LEN     13
#define TD_NONCE_EXPIRY_LEN     16
#define TD_NONCE_MAC_BYTES      16
#define TD_NONCE_MAC_LEN        22            /* base64url of 16 bytes */
#define TD_NONCE_LEN            (TD_NONCE_PREFIX_LEN + TD_NONCE_EXPIRY_LEN  \
                                 + TD_NONCE_MAC_LEN)

#define TD_AUTH_MAX_USER        512           /* RFC 8489 14.3 */
#define TD_AUTH_MAX_TEXT        763           /* 14.9, 14.10 */
#define TD_AUTH_MAX_KEYS        64            /* REST secrets tried */

#define TD_NONCE_OK             0
#define TD_NONCE_EXPIRED        1
#define TD_NONCE_INVALID        2


typedef struct {
    trtc_cred_t          conf;        /* user= and static-auth-secret= */
    trtc_cred_t          file;        /* credentials-file */
    unsigned             has_file:1;
    const char          *realm;       /* interned: lives until cleanup */
    size_t               realm_len;
} td_auth_store_t;


/* realms handed out by td_auth_realm(): a reload never frees one */
typedef struct td_auth_realm_s  td_auth_realm_t;

struct td_auth_realm_s {
    td_auth_realm_t     *next;
    size_t               len;
    char                 name[];
};


const uint8_t  td_auth_password_algorithms[TD_AUTH_PASSWORD_ALGORITHMS_LEN]
    = { 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00 };


static pthread_rwlock_t   td_auth_lock = PTHREAD_RWLOCK_INITIALIZER;
static td_auth_store_t   *td_auth_store;
static td_auth_realm_t   *td_auth_realms;
static const char        *td_auth_cur_realm;
static uint8_t            td_auth_key[32];
static int                td_auth_ready;
static unsigned           td_auth_stale = 600;
static int                td_auth_no_auth;


static td_auth_store_t *td_auth_build(const td_conf_t *conf, char *err,
    size_t err_len);
static void td_auth_store_free(td_auth_store_t *st);
static char *td_auth_conf_text(const td_conf_t *conf, const char *realm,
    size_t realm_len, size_t *len);
static const char *td_auth_intern(const char *realm, size_t len);
static int td_auth_verify(const td_auth_store_t *st,
    const trtc_stun_msg_t *msg, const trtc_stun_attr_t *user,
    unsigned alg, time_t now, td_auth_result_t *res);
static int td_auth_try(const trtc_stun_msg_t *msg, const uint8_t *key,
    size_t key_len, td_auth_result_t *res);
static int td_auth_nonce_check(const uint8_t *nonce, size_t len,
    const struct sockaddr *client, time_t now);
static void td_auth_nonce_mac(const char *text, const struct sockaddr *client,
    char *out);


int
td_auth_init(const td_conf_t *conf)
{
    char              err[TRTC_CRED_ERRLEN + 128];
    size_t            n;
    ssize_t           r;
    td_auth_store_t  *st;

    if (td_auth_ready) {
        td_log(TD_LOG_ERR, "auth: initialized twice");
        return -1;
    }

    for (n = 0; n < sizeof(td_auth_key); n += (size_t) r) {
        r = getrandom(td_auth_key + n, sizeof(td_auth_key) - n, 0);

        if (r == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            td_log(TD_LOG_ERR, "auth: getrandom() failed: %s",
                   strerror(errno));
            return -1;
        }
    }

    st = td_auth_build(conf, err, sizeof(err));
    if (st == NULL) {
        td_log(TD_LOG_ERR, "credentials not loaded: %s", err);
        OPENSSL_cleanse(td_auth_key, sizeof(td_auth_key));
        return -1;
    }

    __atomic_store_n(&td_auth_stale, conf->stale_nonce, __ATOMIC_RELAXED);
    __atomic_store_n(&td_auth_no_auth, conf->no_auth ? 1 : 0,
                     __ATOMIC_RELAXED);

    pthread_rwlock_wrlock(&td_auth_lock);
    td_auth_store = st;
    __atomic_store_n(&td_auth_cur_realm, st->realm, __ATOMIC_RELEASE);
    td_auth_ready = 1;
    pthread_rwlock_unlock(&td_auth_lock);

    td_log(TD_LOG_NOTICE, "credentials: realm \"%s\", %zu users and %zu "
           "secrets from the configuration, %zu users and %zu secrets "
           "from %s%s", st->realm, st->conf.nusers, st->conf.nsecrets,
           st->file.nusers, st->file.nsecrets,
           st->has_file ? conf->credentials_file : "no credentials-file",
           conf->no_auth ? " (no-auth: not checked)" : "");

    return 0;
}


int
td_auth_reload(const td_conf_t *conf)
{
    char              err[TRTC_CRED_ERRLEN + 128];
    td_auth_store_t  *st, *old;

    if (!td_auth_ready) {
        return td_auth_init(conf);
    }

    st = td_auth_build(conf, err, sizeof(err));
    if (st == NULL) {
        td_log(TD_LOG_ERR, "credentials not reloaded: %s", err);
        return -1;
    }

    /*
     * A file caught while it is rewritten (truncated, not yet filled)
     * would lock every client out: refused, as nginx's side refuses it.
     */
    if (st->has_file && st->file.nusers == 0 && st->file.nsecrets == 0) {
        td_log(TD_LOG_ERR, "credentials not reloaded: %s has no users and "
               "no secrets; the credentials loaded before stay in use",
               conf->credentials_file);
        td_auth_store_free(st);
        return -1;
    }

    pthread_rwlock_wrlock(&td_auth_lock);
    old = td_auth_store;
    td_auth_store = st;
    __atomic_store_n(&td_auth_cur_realm, st->realm, __ATOMIC_RELEASE);
    __atomic_store_n(&td_auth_stale, conf->stale_nonce, __ATOMIC_RELAXED);
    __atomic_store_n(&td_auth_no_auth, conf->no_auth ? 1 : 0,
                     __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&td_auth_lock);

    td_auth_store_free(old);

    td_log(TD_LOG_NOTICE, "credentials reloaded: realm \"%s\", %zu users "
           "and %zu secrets from the configuration, %zu users and %zu "
           "secrets from %s", st->realm, st->conf.nusers, st->conf.nsecrets,
           st->file.nusers, st->file.nsecrets,
           st->has_file ? conf->credentials_file : "no credentials-file");

    return 0;
}


void
td_auth_cleanup(void)
{
    td_auth_realm_t  *r, *next;
    td_auth_store_t  *st;

    pthread_rwlock_wrlock(&td_auth_lock);
    st = td_auth_store;
    td_auth_store = NULL;
    td_auth_ready = 0;
    __atomic_store_n(&td_auth_cur_realm, NULL, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&td_auth_lock);

    td_auth_store_free(st);

    for (r = td_auth_realms; r != NULL; r = next) {
        next = r->next;
        free(r);
    }

    td_auth_realms = NULL;

    OPENSSL_cleanse(td_auth_key, sizeof(td_auth_key));
}


const char *
td_auth_realm(void)
{
    const char  *realm;

    realm = __atomic_load_n(&td_auth_cur_realm, __ATOMIC_ACQUIRE);

    return (realm != NULL) ? realm : "trtc";
}


size_t
td_auth_nonce(const struct sockaddr *client, time_t now, char *buf,
    size_t len)
{
    unsigned long long  expiry;

    if (!td_auth_ready || len < TD_NONCE_LEN) {
        return 0;
    }

    expiry = (unsigned long long) (now > 0 ? now : 0)
             + __atomic_load_n(&td_auth_stale, __ATOMIC_RELAXED);

    memcpy(buf, TD_NONCE_PREFIX, TD_NONCE_PREFIX_LEN);
    snprintf(buf + TD_NONCE_PREFIX_LEN, TD_NONCE_EXPIRY_LEN + 1, "%016llx",
             expiry);

    td_auth_nonce_mac(buf, client, buf + TD_NONCE_PREFIX_LEN
                                   + TD_NONCE_EXPIRY_LEN);

    if (len > TD_NONCE_LEN) {
        buf[TD_NONCE_LEN] = '\0';
    }

    return TD_NONCE_LEN;
}


int
td_auth_check(const trtc_stun_msg_t *msg, const struct sockaddr *client,
    time_t now, td_auth_result_t *res)
{
    int                      rc, nonce_rc;
    unsigned                 alg;
    const trtc_stun_attr_t  *user, *realm, *nonce, *pa, *pas;

    memset(res, 0, sizeof(td_auth_result_t));

    if (__atomic_load_n(&td_auth_no_auth, __ATOMIC_RELAXED)) {
        /* nothing to check and no key to sign the response with */
        res->reason = "no-auth";
        return TD_AUTH_OK;
    }

    if (msg->integrity < 0 && msg->integrity_sha256 < 0) {
        res->reason = "no MESSAGE-INTEGRITY";
        return TD_AUTH_CHALLENGE;
    }

    user = trtc_stun_find(msg, TRTC_STUN_ATTR_USERNAME);
    realm = trtc_stun_find(msg, TRTC_STUN_ATTR_REALM);
    nonce = trtc_stun_find(msg, TRTC_STUN_ATTR_NONCE);

    if (realm == NULL || nonce == NULL
        || (user == NULL
            && trtc_stun_find(msg, TRTC_STUN_ATTR_USERHASH) == NULL))
    {
        res->reason = "USERNAME, REALM or NONCE missing";
        return TD_AUTH_BAD_REQUEST;
    }

    if (user == NULL) {
        /* the nonce cookie does not offer username anonymity */
        res->reason = "USERHASH is not supported";
        return TD_AUTH_CHALLENGE;
    }

    if (user->len == 0 || user->len > TD_AUTH_MAX_USER
        || realm->len > TD_AUTH_MAX_TEXT || nonce->len > TD_AUTH_MAX_TEXT)
    {
        res->reason = "USERNAME, REALM or NONCE too long or empty";
        return TD_AUTH_BAD_REQUEST;
    }

    res->user = (const char *) user->value;
    res->user_len = user->len;
    res->quota = res->user;
    res->quota_len = res->user_len;

    /* RFC 8489 9.2.4: our nonces always set the password algorithms bit */
    pa = trtc_stun_find(msg, TRTC_STUN_ATTR_PASSWORD_ALGORITHM);
    pas = trtc_stun_find(msg, TRTC_STUN_ATTR_PASSWORD_ALGORITHMS);
    alg = TRTC_STUN_PASSWORD_MD5;

    if (pa != NULL || pas != NULL) {
        if (pa == NULL || pas == NULL
            || pas->len != TD_AUTH_PASSWORD_ALGORITHMS_LEN
            || memcmp(pas->value, td_auth_password_algorithms,
                      TD_AUTH_PASSWORD_ALGORITHMS_LEN) != 0
            || pa->len != 4 || pa->value[2] != 0 || pa->value[3] != 0)
        {
            res->reason = "PASSWORD-ALGORITHM(S) do not match the offer";
            return TD_AUTH_BAD_REQUEST;
        }

        alg = ((unsigned) pa->value[0] << 8) | pa->value[1];

        if (alg != TRTC_STUN_PASSWORD_MD5 && alg != TRTC_STUN_PASSWORD_SHA256)
        {
            res->reason = "PASSWORD-ALGORITHM is not one offered";
            return TD_AUTH_BAD_REQUEST;
        }
    }

    /* cheap, and needs no lock: the key never changes once made */
    nonce_rc = td_auth_nonce_check(nonce->value, nonce->len, client, now);

    pthread_rwlock_rdlock(&td_auth_lock);

    if (td_auth_store == NULL) {
        res->reason = "no credentials loaded";
        rc = TD_AUTH_CHALLENGE;

    } else if (realm->len != td_auth_store->realm_len
               || memcmp(realm->value, td_auth_store->realm, realm->len)
                  != 0)
    {
        res->reason = "wrong realm";
        rc = TD_AUTH_CHALLENGE;

    } else {
        rc = td_auth_verify(td_auth_store, msg, user, alg, now, res);
    }

    pthread_rwlock_unlock(&td_auth_lock);

    if (rc != TD_AUTH_OK) {
        OPENSSL_cleanse(res->key, sizeof(res->key));
        res->key_len = 0;
        return rc;
    }

    if (nonce_rc != TD_NONCE_OK) {
        res->reason = (nonce_rc == TD_NONCE_EXPIRED)
                      ? "stale nonce" : "nonce not issued to this client";
        OPENSSL_cleanse(res->key, sizeof(res->key));
        res->key_len = 0;
        return TD_AUTH_STALE;
    }

    res->reason = NULL;

    return TD_AUTH_OK;
}


/*
 * The user's key, then the integrity.  A REST username (a timestamp in
 * it) is tried with every secret, the credentials file's first; a name
 * that no secret matches may still be a static user.  With SHA-256 the
 * key is SHA-256(user:realm:password): REST passwords are known, static
 * users only when they were given with a password rather than a key.
 */

static int
td_auth_verify(const td_auth_store_t *st, const trtc_stun_msg_t *msg,
    const trtc_stun_attr_t *user, unsigned alg, time_t now,
    td_auth_result_t *res)
{
    int                      rc, expired, found;
    char                     pass[TRTC_CRED_REST_PASS_LEN + 1];
    size_t                   i, s, nkeys;
    time_t                   expiry;
    uint8_t                  keys[TD_AUTH_MAX_KEYS][16], key[32];
    const char              *name;
    const trtc_cred_t       *set[2];
    const trtc_cred_user_t  *u;

    name = (const char *) user->value;
    set[0] = st->has_file ? &st->file : NULL;
    set[1] = &st->conf;
    expired = 0;
    found = 0;

    if (trtc_cred_rest_expiry(name, user->len, &expiry) == 0) {

        for (s = 0; s < 2; s++) {
            if (set[s] == NULL || set[s]->nsecrets == 0) {
                continue;
            }

            rc = trtc_cred_rest_keys(set[s], name, user->len, now, keys,
                                     TD_AUTH_MAX_KEYS, &nkeys);

            if (rc == -2) {
                expired = 1;
                continue;
            }

            if (rc != 0) {
                continue;
            }

            found = 1;

            if (alg == TRTC_STUN_PASSWORD_SHA256) {
                /* the same secrets, the SHA-256 key of the same password */
                nkeys = set[s]->nsecrets < TD_AUTH_MAX_KEYS
                        ? set[s]->nsecrets : TD_AUTH_MAX_KEYS;
            }

            for (i = 0; i < nkeys; i++) {
                if (alg == TRTC_STUN_PASSWORD_SHA256) {
                    trtc_cred_rest_password(set[s]->secrets[i].data,
                                            set[s]->secrets[i].len,
                                            name, user->len, pass);
                    if (pass[0] == '\0') {
                        continue;
                    }

                    trtc_stun_key_sha256(name, user->len, st->realm,
                                         st->realm_len, pass,
                                         TRTC_CRED_REST_PASS_LEN, key);
                    OPENSSL_cleanse(pass, sizeof(pass));
                    rc = td_auth_try(msg, key, 32, res);
                    OPENSSL_cleanse(key, sizeof(key));

                } else {
                    rc = td_auth_try(msg, keys[i], 16, res);
                }

                if (rc == TD_AUTH_OK) {
                    OPENSSL_cleanse(keys, sizeof(keys));

                    /* a new username every expiry: count by its name */
                    res->quota = trtc_cred_rest_name(name, user->len,
                                                     &res->quota_len);
                    return TD_AUTH_OK;
                }
            }
        }

        OPENSSL_cleanse(keys, sizeof(keys));
    }

    u = NULL;

    for (s = 0; s < 2 && u == NULL; s++) {
        if (set[s] != NULL) {
            u = trtc_cred_find_user(set[s], name, user->len);
        }
    }

    if (u != NULL) {
        if (alg == TRTC_STUN_PASSWORD_SHA256) {
            if (!u->has_password) {
                res->reason = "SHA-256 asked for a user with only an MD5 key";
                return TD_AUTH_CHALLENGE;
            }

            rc = td_auth_try(msg, u->key_sha256, 32, res);

        } else {
            rc = td_auth_try(msg, u->key, 16, res);
        }

        if (rc == TD_AUTH_OK) {
            return TD_AUTH_OK;
        }

        res->reason = "wrong password";
        return TD_AUTH_CHALLENGE;
    }

    if (found) {
        res->reason = "wrong password";

    } else if (expired) {
        /* as coturn: a 401, the client asks its backend for a new one */
        res->reason = "expired credential";

    } else {
        res->reason = "unknown user";
    }

    return TD_AUTH_CHALLENGE;
}


/* RFC 8489 9.2.4: MESSAGE-INTEGRITY-SHA256 when present, else SHA-1 */

static int
td_auth_try(const trtc_stun_msg_t *msg, const uint8_t *key, size_t key_len,
    td_auth_result_t *res)
{
    int  rc;

    if (msg->integrity_sha256 >= 0) {
        rc = trtc_stun_check_integrity_sha256(msg, key, key_len);

    } else {
        rc = trtc_stun_check_integrity(msg, key, key_len);
    }

    if (rc != TRTC_STUN_OK) {
        return TD_AUTH_CHALLENGE;
    }

    memcpy(res->key, key, key_len);
    res->key_len = key_len;
    res->sha256 = (msg->integrity_sha256 >= 0);

    return TD_AUTH_OK;
}


static int
td_auth_nonce_check(const uint8_t *nonce, size_t len,
    const struct sockaddr *client, time_t now)
{
    char                 text[TD_NONCE_LEN + 1];
    char                 mac[TD_NONCE_MAC_LEN + 1];
    size_t               i;
    unsigned             d;
    unsigned long long   expiry;

    if (len != TD_NONCE_LEN
        || memcmp(nonce, TD_NONCE_PREFIX, TD_NONCE_PREFIX_LEN) != 0)
    {
        return TD_NONCE_INVALID;
    }

    memcpy(text, nonce, TD_NONCE_LEN);
    text[TD_NONCE_LEN] = '\0';

    expiry = 0;

    for (i = TD_NONCE_PREFIX_LEN;
         i < TD_NONCE_PREFIX_LEN + TD_NONCE_EXPIRY_LEN;
         i++)
    {
        if (text[i] >= '0' && text[i] <= '9') {
            d = (unsigned) (text[i] - '0');

        } else if (text[i] >= 'a' && text[i] <= 'f') {
            d = (unsigned) (text[i] - 'a' + 10);

        } else {
            return TD_NONCE_INVALID;
        }

        expiry = (expiry << 4) | d;
    }

    td_auth_nonce_mac(text, client, mac);

    if (CRYPTO_memcmp(mac, text + TD_NONCE_PREFIX_LEN + TD_NONCE_EXPIRY_LEN,
                      TD_NONCE_MAC_LEN)
        != 0)
    {
        return TD_NONCE_INVALID;
    }

    if (now < 0 || (unsigned long long) now > expiry) {
        return TD_NONCE_EXPIRED;
    }

    return TD_NONCE_OK;
}


/*
 * out = base64url(HMAC-SHA256(key, cookie and expiry, client address))
 * cut to 16 bytes: 22 characters, not NUL-terminated.  An IPv4-mapped
 * IPv6 address counts as the IPv4 address, so both forms of one client
 * get one nonce.
 */

static void
td_auth_nonce_mac(const char *text, const struct sockaddr *client,
    char *out)
{
    size_t                      n;
    uint8_t                     data[TD_NONCE_PREFIX_LEN
                                     + TD_NONCE_EXPIRY_LEN + 1 + 16 + 2];
    uint8_t                     mac[32];
    trtc_piece_t                piece;
    unsigned char               b64[32];
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    n = TD_NONCE_PREFIX_LEN + TD_NONCE_EXPIRY_LEN;
    memcpy(data, text, n);

    if (client != NULL && client->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) client;
        data[n++] = 4;
        memcpy(data + n, &sin->sin_addr, 4);
        n += 4;
        memcpy(data + n, &sin->sin_port, 2);
        n += 2;

    } else if (client != NULL && client->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) client;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            data[n++] = 4;
            memcpy(data + n, &sin6->sin6_addr.s6_addr[12], 4);
            n += 4;

        } else {
            data[n++] = 6;
            memcpy(data + n, &sin6->sin6_addr, 16);
            n += 16;
        }

        memcpy(data + n, &sin6->sin6_port, 2);
        n += 2;

    } else {
        data[n++] = 0;
    }

    piece.data = data;
    piece.len = n;

    if (trtc_hmac(TRTC_MD_SHA256, td_auth_key, sizeof(td_auth_key), &piece,
                  1, mac, sizeof(mac))
        != 0)
    {
        /* fail closed: a MAC nobody can produce */
        if (RAND_bytes(mac, TD_NONCE_MAC_BYTES) != 1) {
            abort();
        }
    }

    EVP_EncodeBlock(b64, mac, TD_NONCE_MAC_BYTES);

    for (n = 0; n < TD_NONCE_MAC_LEN; n++) {
        out[n] = (b64[n] == '+') ? '-' : (b64[n] == '/') ? '_' : (char) b64[n];
    }

    OPENSSL_cleanse(mac, sizeof(mac));
}


/*
 * Builds a store: the credentials file (when set) and the configuration's
 * users and secrets, each parsed on its own so that an error names its
 * real file and line.  Both kinds of credential may be used at once.
 */

static td_auth_store_t *
td_auth_build(const td_conf_t *conf, char *err, size_t err_len)
{
    int               warn;
    char             *text;
    size_t            len, i, realm_len;
    const char       *realm, *name;
    td_auth_store_t  *st;
    char              cerr[TRTC_CRED_ERRLEN];

    st = calloc(1, sizeof(td_auth_store_t));
    if (st == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    realm = (conf->realm != NULL) ? conf->realm : "trtc";
    realm_len = strlen(realm);

    if (conf->credentials_file != NULL) {
        warn = 0;
        cerr[0] = '\0';

        if (trtc_cred_load(&st->file, conf->credentials_file, realm, &warn,
                           cerr, sizeof(cerr))
            != 0)
        {
            snprintf(err, err_len, "%s", cerr);
            free(st);
            return NULL;
        }

        st->has_file = 1;

        if (warn) {
            td_log(TD_LOG_WARN, "%s is readable or writable by other users; "
                   "\"chmod 600\" it", conf->credentials_file);
        }

        if (st->file.realm != NULL
            && (st->file.realm_len != realm_len
                || memcmp(st->file.realm, realm, realm_len) != 0))
        {
            if (!conf->realm_default) {
                snprintf(err, err_len, "%s: realm \"%.*s\" differs from "
                         "realm \"%s\" of the configuration",
                         conf->credentials_file,
                         (int) (st->file.realm_len > 128
                                ? 128 : st->file.realm_len),
                         st->file.realm, realm);
                td_auth_store_free(st);
                return NULL;
            }

            /* no realm= in the configuration: the file says which */
            realm = st->file.realm;
            realm_len = st->file.realm_len;
        }
    }

    text = td_auth_conf_text(conf, realm, realm_len, &len);
    if (text == NULL) {
        snprintf(err, err_len, "out of memory");
        td_auth_store_free(st);
        return NULL;
    }

    name = (conf->conf_file != NULL) ? conf->conf_file : "configuration";
    cerr[0] = '\0';

    if (trtc_cred_parse(&st->conf, text, len, name, realm, cerr,
                        sizeof(cerr))
        != 0)
    {
        /* the generated lines are not the file's: name no line */
        snprintf(err, err_len, "%s (user, static-auth-secret): %s", name,
                 cerr);
        OPENSSL_cleanse(text, len);
        free(text);
        td_auth_store_free(st);
        return NULL;
    }

    OPENSSL_cleanse(text, len);
    free(text);

    st->realm = td_auth_intern(realm, realm_len);
    if (st->realm == NULL) {
        snprintf(err, err_len, "out of memory");
        td_auth_store_free(st);
        return NULL;
    }

    st->realm_len = realm_len;

    if (st->has_file) {
        for (i = 0; i < st->conf.nusers; i++) {
            if (trtc_cred_find_user(&st->file, st->conf.users[i].name,
                                    st->conf.users[i].name_len)
                != NULL)
            {
                td_log(TD_LOG_WARN, "user \"%s\" is in %s and in the "
                       "configuration; the credentials file's entry is used",
                       st->conf.users[i].name, conf->credentials_file);
            }
        }
    }

    if (st->conf.nsecrets + st->file.nsecrets > TD_AUTH_MAX_KEYS) {
        td_log(TD_LOG_WARN, "more than %d secrets: only the first %d of "
               "each source are tried", TD_AUTH_MAX_KEYS, TD_AUTH_MAX_KEYS);
    }

    return st;
}


/*
 * The configuration in the credentials file format:
 *
 *     realm  REALM
 *     secret SECRET             static-auth-secret=SECRET
 *     user   NAME PASSWORD      user=NAME:PASSWORD
 *     user   NAME 0xKEY         user=NAME:0xKEY
 *
 * td_conf refused what the format cannot carry (blanks, "#").  When a
 * name is given twice the last one wins, as on a command line.
 */

static char *
td_auth_conf_text(const td_conf_t *conf, const char *realm, size_t realm_len,
    size_t *len)
{
    char        *text, *p;
    size_t       i, j, cap, nlen;
    const char  *colon, *other;

    cap = realm_len + 16;

    for (i = 0; i < conf->nsecrets; i++) {
        cap += strlen(conf->secrets[i]) + 16;
    }

    for (i = 0; i < conf->nusers; i++) {
        cap += strlen(conf->users[i]) + 16;
    }

    text = malloc(cap);
    if (text == NULL) {
        return NULL;
    }

    p = text;
    p += sprintf(p, "realm %.*s\n", (int) realm_len, realm);

    for (i = 0; i < conf->nsecrets; i++) {
        p += sprintf(p, "secret %s\n", conf->secrets[i]);
    }

    for (i = 0; i < conf->nusers; i++) {
        colon = strchr(conf->users[i], ':');
        if (colon == NULL) {
            continue;
        }

        nlen = (size_t) (colon - conf->users[i]);

        for (j = i + 1; j < conf->nusers; j++) {
            other = conf->users[j];

            if (strncmp(other, conf->users[i], nlen) == 0
                && other[nlen] == ':')
            {
                break;
            }
        }

        if (j < conf->nusers) {
            continue;
        }

        p += sprintf(p, "user %.*s %s\n", (int) nlen, conf->users[i],
                     colon + 1);
    }

    *len = (size_t) (p - text);

    return text;
}


static const char *
td_auth_intern(const char *realm, size_t len)
{
    td_auth_realm_t  *r;

    for (r = td_auth_realms; r != NULL; r = r->next) {
        if (r->len == len && memcmp(r->name, realm, len) == 0) {
            return r->name;
        }
    }

    r = malloc(sizeof(td_auth_realm_t) + len + 1);
    if (r == NULL) {
        return NULL;
    }

    r->len = len;
    memcpy(r->name, realm, len);
    r->name[len] = '\0';
    r->next = td_auth_realms;
    td_auth_realms = r;

    return r->name;
}


static void
td_auth_store_free(td_auth_store_t *st)
{
    if (st == NULL) {
        return;
    }

    trtc_cred_free(&st->conf);

    if (st->has_file) {
        trtc_cred_free(&st->file);
    }

    free(st);
}
