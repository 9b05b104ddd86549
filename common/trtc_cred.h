
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_CRED_H_INCLUDED_
#define _TRTC_CRED_H_INCLUDED_


/*
 * The credentials file that nginx (trtc_credentials) and turnd
 * (credentials-file=) share, and the TURN REST API credentials
 * (username "EXPIRY:NAME", password base64(HMAC-SHA1(secret, username))).
 *
 * The file is line based, "#" starts a comment, fields are separated by
 * blanks:
 *
 *     realm  tencent
 *     secret 9f2c...           several lines: the first signs, all verify
 *     user   turn turn         a static user with its password
 *     user   alice 0x5f3c...   or with its long-term key MD5(u:realm:p)
 *
 * One parser for both programs.  It uses malloc(); the owner frees a
 * set with trtc_cred_free().  Messages never contain a secret.
 */


#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define TRTC_CRED_ERRLEN          256
#define TRTC_CRED_REST_PASS_LEN   28       /* base64 of a SHA-1 HMAC */
#define TRTC_CRED_MAX_LINE        4096


typedef struct {
    const uint8_t  *data;
    size_t          len;
} trtc_cred_secret_t;


typedef struct {
    const char     *name;                  /* NUL-terminated */
    size_t          name_len;
    uint8_t         key[16];               /* MD5(name:realm:password) */
    uint8_t         key_sha256[32];        /* only with has_password */
    unsigned        has_password:1;
} trtc_cred_user_t;


typedef struct {
    const char           *realm;           /* NULL when the file has none */
    size_t                realm_len;

    trtc_cred_secret_t   *secrets;         /* secrets[0] signs */
    size_t                nsecrets;

    trtc_cred_user_t     *users;           /* sorted by name */
    size_t                nusers;

    void                 *mem;             /* everything above lives here */
} trtc_cred_t;


/*
 * Parses text (not NUL-terminated) into cred.  name is used in messages.
 * On error returns -1 and writes "NAME:LINE: what" into err; cred is then
 * left empty, so a caller keeps its previous set.  default_realm applies
 * when the file has no "realm" line (it may be NULL).
 */
int trtc_cred_parse(trtc_cred_t *cred, const char *text, size_t len,
    const char *name, const char *default_realm, char *err, size_t err_len);

/*
 * Reads and parses a file.  *mode_warning is set to 1 when the file is
 * readable or writable by others (the caller logs a warning).  Returns 0,
 * or -1 with err set (an open or read error, or a syntax error).
 */
int trtc_cred_load(trtc_cred_t *cred, const char *path,
    const char *default_realm, int *mode_warning, char *err,
    size_t err_len);

void trtc_cred_free(trtc_cred_t *cred);

const trtc_cred_user_t *trtc_cred_find_user(const trtc_cred_t *cred,
    const char *name, size_t len);


/* password = base64(HMAC-SHA1(secret, username)); out gets 28 bytes + NUL */
void trtc_cred_rest_password(const uint8_t *secret, size_t secret_len,
    const char *user, size_t user_len, char *out);

/*
 * The expiry of a REST username: "EXPIRY" or "EXPIRY:NAME" (coturn also
 * accepts "NAME:EXPIRY"; so do we).  Returns 0 and sets *expiry, or -1
 * when the username carries no timestamp.
 */
int trtc_cred_rest_expiry(const char *user, size_t len, time_t *expiry);

/*
 * The name of a REST username, as coturn counts quotas: "EXPIRY:NAME"
 * gives NAME, "NAME:EXPIRY" gives NAME, a name without ':' itself.
 * Returns where it starts in user, its length in *name_len.
 */
const char *trtc_cred_rest_name(const char *user, size_t len,
    size_t *name_len);

/*
 * The candidate long-term keys of a REST username: for every secret,
 * MD5(user:realm:base64(HMAC-SHA1(secret, user))), at most max_keys of
 * them, in secret order; the caller verifies MESSAGE-INTEGRITY with each.
 * Returns 0, -1 when the username has no timestamp, -2 when it has
 * expired at now, -3 when no secret is configured.
 */
int trtc_cred_rest_keys(const trtc_cred_t *cred, const char *user,
    size_t user_len, time_t now, uint8_t (*keys)[16], size_t max_keys,
    size_t *nkeys);


#endif /* _TRTC_CRED_H_INCLUDED_ */
