
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_AUTH_H_INCLUDED_
#define _TD_AUTH_H_INCLUDED_


/*
 * Long-term credentials (RFC 8489 9.2): stateless nonces and the user
 * store.  A nonce is an HMAC over its expiry and the client's address,
 * keyed by a random per-process key, so nothing is stored per source
 * before a request proves itself.  Nonces carry the RFC 8489 "nonce
 * cookie" with the password-algorithms bit, so SHA-256 capable clients
 * can use MESSAGE-INTEGRITY-SHA256.
 *
 * The user store is one trtc_cred_t built from turnd's config (realm,
 * user=, static-auth-secret=) merged with credentials-file; REST
 * usernames are checked against every secret, static users by name.
 * td_auth_reload() builds a new store and swaps it in atomically; a
 * store that fails to build leaves the old one in place.
 */


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include <trtc_stun.h>
#include "td_conf.h"


#define TD_NONCE_MAX_LEN        128


/*
 * The PASSWORD-ALGORITHMS value (SHA-256, then MD5, no parameters) that
 * every 401 and 438 must carry: the nonce cookie sets the "Password
 * algorithms" bit, and RFC 8489 9.2.5 tells a client that sees the bit
 * without the attribute not to retry.  A request that echoes the
 * attribute must echo exactly these bytes (9.2.4).
 */
#define TD_AUTH_PASSWORD_ALGORITHMS_LEN  8

extern const uint8_t  td_auth_password_algorithms[
    TD_AUTH_PASSWORD_ALGORITHMS_LEN];


#define TD_AUTH_OK              0
#define TD_AUTH_CHALLENGE       401   /* no or unusable credentials */
#define TD_AUTH_STALE           438
#define TD_AUTH_BAD_REQUEST     400


typedef struct {
    const char         *user;          /* points into the request */
    size_t              user_len;
    const char         *quota;         /* the name quotas count: in user */
    size_t              quota_len;
    int                 sha256;        /* integrity was SHA-256 */
    uint8_t             key[32];       /* to sign the response */
    size_t              key_len;
    const char         *reason;        /* why it failed, for logs */
} td_auth_result_t;


/* once at start: random nonce key, first store; -1 and a log on error */
int td_auth_init(const td_conf_t *conf);

/* SIGHUP: rebuild the store; on error keeps the old one and logs why */
int td_auth_reload(const td_conf_t *conf);

void td_auth_cleanup(void);

/* writes a fresh nonce for client into buf; returns its length */
size_t td_auth_nonce(const struct sockaddr *client, time_t now,
    char *buf, size_t len);

const char *td_auth_realm(void);

/*
 * Checks USERNAME, REALM, NONCE and MESSAGE-INTEGRITY(-SHA256) of a
 * request.  Returns TD_AUTH_OK (res filled), TD_AUTH_CHALLENGE (send 401
 * with a new nonce), TD_AUTH_STALE (send 438 with a new nonce) or
 * TD_AUTH_BAD_REQUEST (malformed credentials attributes: 400).
 */
int td_auth_check(const trtc_stun_msg_t *msg, const struct sockaddr *client,
    time_t now, td_auth_result_t *res);


#endif /* _TD_AUTH_H_INCLUDED_ */
