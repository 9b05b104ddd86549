
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * The shared credentials file.  Syntax, one entry per line:
 *
 *     realm  NAME
 *     secret VALUE                 raw bytes, as coturn's static-auth-secret
 *     user   NAME PASSWORD
 *     user   NAME 0x<32 hex>       MD5(NAME:REALM:PASSWORD), as coturn's
 *                                  user=NAME:0x...
 *
 * Fields are separated by blanks (spaces, tabs); a field cannot contain
 * one.  "#" starts a comment at the start of a line or of a field, so
 * "secret ab#cd" is the secret "ab#cd" while "secret abcd # old" is
 * "abcd".  Lines may end in "\n" or "\r\n", the last one needs neither; a
 * UTF-8 byte order mark at the start is skipped.  NUL bytes and other
 * control characters in a field are errors, as are lines longer than
 * TRTC_CRED_MAX_LINE bytes.
 *
 * Keys are tied to the realm: a user's long-term key is MD5 of
 * "name:realm:password", so a 0x key is only valid for the realm it was
 * computed with.  A file that holds 0x keys must therefore name that realm
 * in a "realm" line (in any position); the caller's default realm is not
 * enough, because changing it would silently invalidate the keys.  Users
 * with a password get their keys computed with the file's realm, else
 * default_realm, else "" (a set without a realm cannot authenticate; the
 * caller that does authenticate passes its default realm).
 *
 * Messages name the file and line and may quote a keyword (only when it
 * looks like one), a user name or a realm, never a secret, a password or a
 * key.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "trtc_crypto.h"
#include "trtc_cred.h"
#include "trtc_stun.h"


#define TRTC_CRED_MAX_FILE    (1024 * 1024)
#define TRTC_CRED_MAX_NAME    512      /* STUN USERNAME < 513 bytes */
#define TRTC_CRED_MAX_REALM   763      /* REALM < 763 bytes, RFC 8489 */
#define TRTC_CRED_MAX_FIELDS  4        /* keyword + 2, one to see extras */
#define TRTC_CRED_QUOTE_MAX   64       /* bytes of a name in a message */
#define TRTC_CRED_HEADER      16       /* block size, for cleansing */

#define TRTC_CRED_TIME_MAX                                                    \
    ((time_t) (((uintmax_t) 1 << (sizeof(time_t) * 8 - 1)) - 1))


typedef struct {
    const char           *data;
    size_t                len;
} trtc_cred_str_t;


/* a user while parsing: the line it came from, to report duplicates */
typedef struct {
    trtc_cred_user_t      user;
    size_t                line;
} trtc_cred_tmp_t;


typedef struct {
    const char           *name;
    char                 *err;
    size_t                err_len;

    /* pass 1: counts and sizes */
    size_t                nsecrets;
    size_t                nusers;
    size_t                nbytes;
    trtc_cred_str_t       realm;
    size_t                realm_line;
    trtc_cred_str_t       key_user;     /* first user with a 0x key */
    size_t                key_user_line;

    /* pass 2: filling in */
    unsigned              fill:1;
    const char           *eff_realm;
    size_t                eff_realm_len;
    trtc_cred_secret_t   *secrets;
    trtc_cred_tmp_t      *tmp;
    char                 *strings;
    size_t                isecret;
    size_t                iuser;
} trtc_cred_ctx_t;


static int trtc_cred_scan(trtc_cred_ctx_t *ctx, const char *text,
    size_t len);
static int trtc_cred_line(trtc_cred_ctx_t *ctx, const char *p, size_t n,
    size_t line);
static int trtc_cred_user(trtc_cred_ctx_t *ctx, trtc_cred_str_t *f,
    size_t line);
static char *trtc_cred_copy(trtc_cred_ctx_t *ctx, const char *s,
    size_t len);
static int trtc_cred_hex_key(const char *s, size_t len, uint8_t *key);
static int trtc_cred_is(const trtc_cred_str_t *f, const char *word);
static int trtc_cred_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int trtc_cred_cmp_tmp(const void *a, const void *b);
static void trtc_cred_quote(char *buf, size_t size, const char *s,
    size_t len);
static int trtc_cred_error(trtc_cred_ctx_t *ctx, size_t line,
    const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static void trtc_cred_set_err(char *err, size_t err_len, const char *fmt,
    ...) __attribute__ ((format (printf, 3, 4)));
static int trtc_cred_hmac_b64(const uint8_t *secret, size_t secret_len,
    const char *user, size_t user_len, char *out);
static int trtc_cred_digits(const char *p, size_t n, time_t *t);


int
trtc_cred_parse(trtc_cred_t *cred, const char *text, size_t len,
    const char *name, const char *default_realm, char *err, size_t err_len)
{
    char               q[4 * TRTC_CRED_QUOTE_MAX + 8];
    u_char            *mem;
    size_t             size, i, dup, first, start, realm_len;
    const char        *realm;
    trtc_cred_ctx_t    ctx;
    trtc_cred_user_t  *users;

    memset(cred, 0, sizeof(trtc_cred_t));

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    memset(&ctx, 0, sizeof(trtc_cred_ctx_t));
    ctx.name = (name != NULL) ? name : "credentials";
    ctx.err = err;
    ctx.err_len = err_len;

    if (text == NULL) {
        len = 0;
    }

    /* keeps every size computed below far from overflowing */
    if (len > TRTC_CRED_MAX_FILE * (size_t) 64) {
        return trtc_cred_error(&ctx, 0, "too big (%zu bytes)", len);
    }

    if (trtc_cred_scan(&ctx, text, len) != 0) {
        return -1;
    }

    if (ctx.key_user_line != 0 && ctx.realm_line == 0) {
        trtc_cred_quote(q, sizeof(q), ctx.key_user.data, ctx.key_user.len);
        return trtc_cred_error(&ctx, ctx.key_user_line,
                               "user %s has a 0x key but the file has no "
                               "\"realm\" line (the key is "
                               "MD5(name:realm:password), so its realm "
                               "must be named)", q);
    }

    if (ctx.realm_line != 0) {
        realm = ctx.realm.data;
        realm_len = ctx.realm.len;

    } else if (default_realm != NULL) {
        realm = default_realm;
        realm_len = strlen(default_realm);
        ctx.nbytes += realm_len + 1;

    } else {
        realm = NULL;
        realm_len = 0;
    }

    size = TRTC_CRED_HEADER
           + ctx.nsecrets * sizeof(trtc_cred_secret_t)
           + ctx.nusers * sizeof(trtc_cred_user_t)
           + ctx.nbytes + 1;

    mem = malloc(size);
    if (mem == NULL) {
        return trtc_cred_error(&ctx, 0, "out of memory");
    }

    memset(mem, 0, size);
    memcpy(mem, &size, sizeof(size_t));

    if (ctx.nusers > 0) {
        ctx.tmp = calloc(ctx.nusers, sizeof(trtc_cred_tmp_t));
        if (ctx.tmp == NULL) {
            free(mem);
            return trtc_cred_error(&ctx, 0, "out of memory");
        }
    }

    ctx.secrets = (trtc_cred_secret_t *) (mem + TRTC_CRED_HEADER);
    users = (trtc_cred_user_t *) (ctx.secrets + ctx.nsecrets);
    ctx.strings = (char *) (users + ctx.nusers);

    if (realm != NULL) {
        ctx.eff_realm = trtc_cred_copy(&ctx, realm, realm_len);

    } else {
        ctx.eff_realm = "";
    }

    ctx.eff_realm_len = realm_len;

    /* pass 2 meets the same text, so it cannot fail where pass 1 did not */
    ctx.fill = 1;

    if (trtc_cred_scan(&ctx, text, len) != 0) {
        goto failed;
    }

    /* sorted by name, then by line, so a duplicate follows its first */
    if (ctx.nusers > 1) {
        qsort(ctx.tmp, ctx.nusers, sizeof(trtc_cred_tmp_t),
              trtc_cred_cmp_tmp);
    }

    dup = 0;
    first = 0;
    start = 0;

    for (i = 1; i < ctx.nusers; i++) {
        if (trtc_cred_cmp(ctx.tmp[i].user.name, ctx.tmp[i].user.name_len,
                          ctx.tmp[start].user.name,
                          ctx.tmp[start].user.name_len)
            != 0)
        {
            start = i;
            continue;
        }

        /* report the earliest line that repeats a name */
        if (dup == 0 || ctx.tmp[i].line < ctx.tmp[dup].line) {
            dup = i;
            first = start;
        }
    }

    if (dup != 0) {
        trtc_cred_quote(q, sizeof(q), ctx.tmp[dup].user.name,
                        ctx.tmp[dup].user.name_len);
        trtc_cred_error(&ctx, ctx.tmp[dup].line,
                        "duplicate user %s (first at line %zu)", q,
                        ctx.tmp[first].line);
        goto failed;
    }

    for (i = 0; i < ctx.nusers; i++) {
        users[i] = ctx.tmp[i].user;
    }

    if (ctx.tmp != NULL) {
        OPENSSL_cleanse(ctx.tmp, ctx.nusers * sizeof(trtc_cred_tmp_t));
        free(ctx.tmp);
    }

    cred->realm = (realm != NULL) ? ctx.eff_realm : NULL;
    cred->realm_len = realm_len;
    cred->secrets = ctx.secrets;
    cred->nsecrets = ctx.nsecrets;
    cred->users = users;
    cred->nusers = ctx.nusers;
    cred->mem = mem;

    return 0;

failed:

    if (ctx.tmp != NULL) {
        OPENSSL_cleanse(ctx.tmp, ctx.nusers * sizeof(trtc_cred_tmp_t));
        free(ctx.tmp);
    }

    OPENSSL_cleanse(mem, size);
    free(mem);

    return -1;
}


int
trtc_cred_load(trtc_cred_t *cred, const char *path,
    const char *default_realm, int *mode_warning, char *err,
    size_t err_len)
{
    int           fd, rc;
    char         *buf, *nbuf;
    size_t        n, cap;
    ssize_t       r;
    struct stat   st;

    memset(cred, 0, sizeof(trtc_cred_t));

    if (mode_warning != NULL) {
        *mode_warning = 0;
    }

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    if (path == NULL) {
        trtc_cred_set_err(err, err_len, "no credentials file");
        return -1;
    }

    /* O_NONBLOCK: a FIFO must not hang the caller; it is refused below */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd == -1) {
        trtc_cred_set_err(err, err_len, "%s: cannot open: %s", path,
                          strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        trtc_cred_set_err(err, err_len, "%s: fstat() failed: %s", path,
                          strerror(errno));
        close(fd);
        return -1;
    }

    if (!S_ISREG(st.st_mode)) {
        trtc_cred_set_err(err, err_len, "%s: not a regular file", path);
        close(fd);
        return -1;
    }

    if (st.st_size > TRTC_CRED_MAX_FILE) {
        trtc_cred_set_err(err, err_len, "%s: larger than %d bytes", path,
                          TRTC_CRED_MAX_FILE);
        close(fd);
        return -1;
    }

    if (mode_warning != NULL) {
        *mode_warning = (st.st_mode & 007) != 0;
    }

    /* the file may still grow while it is read: read to EOF, bounded */
    cap = (size_t) st.st_size + 1;
    n = 0;

    buf = malloc(cap);
    if (buf == NULL) {
        trtc_cred_set_err(err, err_len, "%s: out of memory", path);
        close(fd);
        return -1;
    }

    for ( ;; ) {
        if (n == cap) {
            if (cap > TRTC_CRED_MAX_FILE) {
                trtc_cred_set_err(err, err_len, "%s: larger than %d bytes",
                                  path, TRTC_CRED_MAX_FILE);
                goto failed;
            }

            cap = (cap * 2 > TRTC_CRED_MAX_FILE + 1)
                  ? TRTC_CRED_MAX_FILE + 1 : cap * 2;

            nbuf = malloc(cap);
            if (nbuf == NULL) {
                trtc_cred_set_err(err, err_len, "%s: out of memory", path);
                goto failed;
            }

            /* not realloc(): the old copy must be cleansed */
            memcpy(nbuf, buf, n);
            OPENSSL_cleanse(buf, n);
            free(buf);
            buf = nbuf;
        }

        r = read(fd, buf + n, cap - n);

        if (r == 0) {
            break;
        }

        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }

            trtc_cred_set_err(err, err_len, "%s: read() failed: %s", path,
                              strerror(errno));
            goto failed;
        }

        n += (size_t) r;
    }

    close(fd);

    rc = trtc_cred_parse(cred, buf, n, path, default_realm, err, err_len);

    OPENSSL_cleanse(buf, cap);
    free(buf);

    return rc;

failed:

    close(fd);
    OPENSSL_cleanse(buf, cap);
    free(buf);

    return -1;
}


void
trtc_cred_free(trtc_cred_t *cred)
{
    size_t  size;

    if (cred == NULL) {
        return;
    }

    if (cred->mem != NULL) {
        memcpy(&size, cred->mem, sizeof(size_t));
        OPENSSL_cleanse(cred->mem, size);
        free(cred->mem);
    }

    memset(cred, 0, sizeof(trtc_cred_t));
}


const trtc_cred_user_t *
trtc_cred_find_user(const trtc_cred_t *cred, const char *name, size_t len)
{
    int                      c;
    size_t                   lo, hi, mid;
    const trtc_cred_user_t  *u;

    if (cred == NULL || name == NULL || cred->nusers == 0) {
        return NULL;
    }

    lo = 0;
    hi = cred->nusers;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        u = &cred->users[mid];

        c = trtc_cred_cmp(name, len, u->name, u->name_len);

        if (c == 0) {
            return u;
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


void
trtc_cred_rest_password(const uint8_t *secret, size_t secret_len,
    const char *user, size_t user_len, char *out)
{
    if (trtc_cred_hmac_b64(secret, secret_len, user, user_len, out) != 0) {
        /* no password rather than a guessable one */
        out[0] = '\0';
    }
}


int
trtc_cred_rest_expiry(const char *user, size_t len, time_t *expiry)
{
    size_t       i;
    const char  *colon;

    if (user == NULL || len == 0) {
        return -1;
    }

    /* "EXPIRY" */
    if (trtc_cred_digits(user, len, expiry) == 0) {
        return 0;
    }

    colon = memchr(user, ':', len);
    if (colon == NULL) {
        return -1;
    }

    /* "EXPIRY:NAME" */
    if (trtc_cred_digits(user, (size_t) (colon - user), expiry) == 0) {
        return 0;
    }

    /* "NAME:EXPIRY" */
    for (i = len; i > 0 && user[i - 1] != ':'; i--) {
        /* void */
    }

    return trtc_cred_digits(user + i, len - i, expiry);
}


const char *
trtc_cred_rest_name(const char *user, size_t len, size_t *name_len)
{
    size_t       i;
    const char  *colon;

    colon = memchr(user, ':', len);

    if (colon == NULL) {
        *name_len = len;
        return user;
    }

    for (i = 0; user + i < colon; i++) {
        if (user[i] < '0' || user[i] > '9') {
            /* "NAME:EXPIRY" */
            *name_len = (size_t) (colon - user);
            return user;
        }
    }

    /* "EXPIRY:NAME" (and ":NAME") */
    *name_len = len - (size_t) (colon + 1 - user);

    return colon + 1;
}


int
trtc_cred_rest_keys(const trtc_cred_t *cred, const char *user,
    size_t user_len, time_t now, uint8_t (*keys)[16], size_t max_keys,
    size_t *nkeys)
{
    char         pass[TRTC_CRED_REST_PASS_LEN + 1];
    size_t       i, n;
    time_t       expiry;
    const char  *realm;

    *nkeys = 0;

    if (trtc_cred_rest_expiry(user, user_len, &expiry) != 0) {
        return -1;
    }

    /* valid through its expiry second, as coturn does */
    if (expiry < now) {
        return -2;
    }

    if (cred == NULL || cred->nsecrets == 0) {
        return -3;
    }

    realm = (cred->realm != NULL) ? cred->realm : "";
    n = 0;

    for (i = 0; i < cred->nsecrets && n < max_keys; i++) {
        if (trtc_cred_hmac_b64(cred->secrets[i].data, cred->secrets[i].len,
                               user, user_len, pass)
            != 0)
        {
            continue;
        }

        trtc_stun_key_md5(user, user_len, realm, cred->realm_len, pass,
                          TRTC_CRED_REST_PASS_LEN, keys[n]);
        n++;
    }

    OPENSSL_cleanse(pass, sizeof(pass));

    *nkeys = n;

    return 0;
}


/* one pass over the text: line splitting and the limits on every line */

static int
trtc_cred_scan(trtc_cred_ctx_t *ctx, const char *text, size_t len)
{
    size_t       line, n;
    const char  *p, *end, *nl, *e;

    if (len == 0) {
        return 0;
    }

    p = text;
    end = text + len;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
    }

    for (line = 1; p < end; line++) {
        nl = memchr(p, '\n', (size_t) (end - p));
        e = (nl != NULL) ? nl : end;

        n = (size_t) (e - p);

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        if (n > TRTC_CRED_MAX_LINE) {
            return trtc_cred_error(ctx, line, "line longer than %d bytes",
                                   TRTC_CRED_MAX_LINE);
        }

        if (memchr(p, '\0', n) != NULL) {
            return trtc_cred_error(ctx, line, "NUL byte");
        }

        if (trtc_cred_line(ctx, p, n, line) != 0) {
            return -1;
        }

        p = (nl != NULL) ? nl + 1 : end;
    }

    return 0;
}


static int
trtc_cred_line(trtc_cred_ctx_t *ctx, const char *p, size_t n, size_t line)
{
    char             q[4 * TRTC_CRED_QUOTE_MAX + 8];
    u_char           c;
    size_t           i, start, nf, k;
    trtc_cred_str_t  f[TRTC_CRED_MAX_FIELDS];

    nf = 0;
    i = 0;

    while (i < n) {
        if (p[i] == ' ' || p[i] == '\t') {
            i++;
            continue;
        }

        if (p[i] == '#') {
            break;
        }

        start = i;

        while (i < n && p[i] != ' ' && p[i] != '\t') {
            c = (u_char) p[i];

            /* not shown: the byte may belong to a secret */
            if (c < 0x20 || c == 0x7f) {
                return trtc_cred_error(ctx, line, "control character in "
                                       "field %zu", nf + 1);
            }

            i++;
        }

        if (nf < TRTC_CRED_MAX_FIELDS) {
            f[nf].data = p + start;
            f[nf].len = i - start;
        }

        nf++;
    }

    if (nf == 0) {
        return 0;
    }

    if (trtc_cred_is(&f[0], "realm")) {
        if (nf < 2) {
            return trtc_cred_error(ctx, line, "\"realm\" without a name");
        }

        if (nf > 2) {
            return trtc_cred_error(ctx, line, "\"realm\": unexpected field "
                                   "after the name");
        }

        if (ctx->fill) {
            return 0;
        }

        if (ctx->realm_line != 0) {
            return trtc_cred_error(ctx, line, "duplicate \"realm\" (first "
                                   "at line %zu)", ctx->realm_line);
        }

        if (f[1].len > TRTC_CRED_MAX_REALM) {
            return trtc_cred_error(ctx, line, "realm longer than %d bytes",
                                   TRTC_CRED_MAX_REALM);
        }

        ctx->realm = f[1];
        ctx->realm_line = line;
        ctx->nbytes += f[1].len + 1;

        return 0;
    }

    if (trtc_cred_is(&f[0], "secret")) {
        if (nf < 2) {
            return trtc_cred_error(ctx, line, "\"secret\" without a value");
        }

        if (nf > 2) {
            return trtc_cred_error(ctx, line, "\"secret\": unexpected field "
                                   "after the value (a secret cannot "
                                   "contain blanks)");
        }

        if (!ctx->fill) {
            ctx->nsecrets++;
            ctx->nbytes += f[1].len + 1;
            return 0;
        }

        k = ctx->isecret++;
        ctx->secrets[k].data = (uint8_t *) trtc_cred_copy(ctx, f[1].data,
                                                          f[1].len);
        ctx->secrets[k].len = f[1].len;

        return 0;
    }

    if (trtc_cred_is(&f[0], "user")) {
        if (nf < 2) {
            return trtc_cred_error(ctx, line, "\"user\" without a name and "
                                   "a password");
        }

        trtc_cred_quote(q, sizeof(q), f[1].data, f[1].len);

        if (nf < 3) {
            return trtc_cred_error(ctx, line, "user %s without a password "
                                   "or key", q);
        }

        if (nf > 3) {
            return trtc_cred_error(ctx, line, "user %s: unexpected field "
                                   "after the password (a password cannot "
                                   "contain blanks)", q);
        }

        return trtc_cred_user(ctx, f, line);
    }

    /*
     * A line may be a secret that lost its keyword: quote the keyword only
     * when it is a plain short word.
     */
    for (i = 0; i < f[0].len && i < 32; i++) {
        c = (u_char) f[0].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || c == '_' || c == '-'))
        {
            break;
        }
    }

    if (i == f[0].len) {
        return trtc_cred_error(ctx, line, "unknown keyword \"%.*s\"",
                               (int) f[0].len, f[0].data);
    }

    return trtc_cred_error(ctx, line, "unknown keyword (not shown: it does "
                           "not look like one)");
}


static int
trtc_cred_user(trtc_cred_ctx_t *ctx, trtc_cred_str_t *f, size_t line)
{
    char               q[4 * TRTC_CRED_QUOTE_MAX + 8];
    int                is_key;
    uint8_t            key[16];
    trtc_cred_tmp_t   *t;
    trtc_cred_user_t  *u;

    /* as coturn's user=NAME:0x...: a leading "0x" means a key */
    is_key = f[2].len >= 2 && f[2].data[0] == '0' && f[2].data[1] == 'x';

    if (!ctx->fill) {
        trtc_cred_quote(q, sizeof(q), f[1].data, f[1].len);

        if (f[1].len > TRTC_CRED_MAX_NAME) {
            return trtc_cred_error(ctx, line, "user name longer than %d "
                                   "bytes", TRTC_CRED_MAX_NAME);
        }

        if (is_key) {
            if (trtc_cred_hex_key(f[2].data + 2, f[2].len - 2, key) != 0) {
                return trtc_cred_error(ctx, line, "user %s: bad key (\"0x\" "
                                       "must be followed by exactly 32 hex "
                                       "digits)", q);
            }

            OPENSSL_cleanse(key, sizeof(key));

            if (ctx->key_user_line == 0) {
                ctx->key_user = f[1];
                ctx->key_user_line = line;
            }
        }

        ctx->nusers++;
        ctx->nbytes += f[1].len + 1;

        return 0;
    }

    t = &ctx->tmp[ctx->iuser++];
    t->line = line;

    u = &t->user;
    u->name = trtc_cred_copy(ctx, f[1].data, f[1].len);
    u->name_len = f[1].len;

    if (is_key) {
        (void) trtc_cred_hex_key(f[2].data + 2, f[2].len - 2, u->key);
        return 0;
    }

    trtc_stun_key_md5(f[1].data, f[1].len, ctx->eff_realm,
                      ctx->eff_realm_len, f[2].data, f[2].len, u->key);
    trtc_stun_key_sha256(f[1].data, f[1].len, ctx->eff_realm,
                         ctx->eff_realm_len, f[2].data, f[2].len,
                         u->key_sha256);
    u->has_password = 1;

    return 0;
}


/* into the block's string area, NUL-terminated (pass 1 counted it) */

static char *
trtc_cred_copy(trtc_cred_ctx_t *ctx, const char *s, size_t len)
{
    char  *p;

    p = ctx->strings;

    memcpy(p, s, len);
    p[len] = '\0';

    ctx->strings += len + 1;

    return p;
}


static int
trtc_cred_hex_key(const char *s, size_t len, uint8_t *key)
{
    int     h, c;
    size_t  i;

    if (len != 32) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        c = (u_char) s[i];

        if (c >= '0' && c <= '9') {
            h = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            h = c - 'a' + 10;

        } else if (c >= 'A' && c <= 'F') {
            h = c - 'A' + 10;

        } else {
            return -1;
        }

        if (i % 2 == 0) {
            key[i / 2] = (uint8_t) (h << 4);

        } else {
            key[i / 2] |= (uint8_t) h;
        }
    }

    return 0;
}


static int
trtc_cred_is(const trtc_cred_str_t *f, const char *word)
{
    size_t  n;

    n = strlen(word);

    return f->len == n && memcmp(f->data, word, n) == 0;
}


static int
trtc_cred_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  rc;

    rc = memcmp(a, b, alen < blen ? alen : blen);

    if (rc != 0) {
        return rc;
    }

    return (alen > blen) - (alen < blen);
}


static int
trtc_cred_cmp_tmp(const void *a, const void *b)
{
    int                     rc;
    const trtc_cred_tmp_t  *x, *y;

    x = a;
    y = b;

    rc = trtc_cred_cmp(x->user.name, x->user.name_len, y->user.name,
                       y->user.name_len);

    if (rc != 0) {
        return rc;
    }

    return (x->line > y->line) - (x->line < y->line);
}


/* "name" for a message: odd bytes escaped, long names cut */

static void
trtc_cred_quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t  i, j;
    u_char  c;

    j = 0;
    buf[j++] = '"';

    for (i = 0; i < len && i < TRTC_CRED_QUOTE_MAX && j + 8 < size; i++) {
        c = (u_char) s[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            j += (size_t) snprintf(buf + j, size - j, "\\x%02x", c);

        } else {
            buf[j++] = (char) c;
        }
    }

    if (i < len) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }

    buf[j++] = '"';
    buf[j] = '\0';
}


static int
trtc_cred_error(trtc_cred_ctx_t *ctx, size_t line, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (ctx->err == NULL || ctx->err_len == 0) {
        return -1;
    }

    if (line != 0) {
        n = snprintf(ctx->err, ctx->err_len, "%s:%zu: ", ctx->name, line);

    } else {
        n = snprintf(ctx->err, ctx->err_len, "%s: ", ctx->name);
    }

    if (n < 0 || (size_t) n >= ctx->err_len) {
        return -1;
    }

    va_start(args, fmt);
    vsnprintf(ctx->err + n, ctx->err_len - (size_t) n, fmt, args);
    va_end(args);

    return -1;
}


static void
trtc_cred_set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || err_len == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, err_len, fmt, args);
    va_end(args);
}


static int
trtc_cred_hmac_b64(const uint8_t *secret, size_t secret_len,
    const char *user, size_t user_len, char *out)
{
    uint8_t       md[20];
    trtc_piece_t  p;

    if (secret_len > 65536 || (secret == NULL && secret_len != 0)) {
        return -1;
    }

    p.data = user;
    p.len = user_len;

    if (trtc_hmac(TRTC_MD_SHA1, secret, secret_len, &p, 1, md, sizeof(md))
        != 0)
    {
        OPENSSL_cleanse(md, sizeof(md));
        return -1;
    }

    EVP_EncodeBlock((u_char *) out, md, 20);
    OPENSSL_cleanse(md, sizeof(md));

    return 0;
}


/* digits only, no sign, no blanks; fails rather than wraps */

static int
trtc_cred_digits(const char *p, size_t n, time_t *t)
{
    int     d;
    size_t  i;
    time_t  v;

    if (n == 0) {
        return -1;
    }

    v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        d = p[i] - '0';

        if (v > (TRTC_CRED_TIME_MAX - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
    }

    *t = v;

    return 0;
}
