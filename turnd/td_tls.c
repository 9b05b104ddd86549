
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "td_log.h"
#include "td_tls.h"


#define TD_TLS_ALPN         "stun.turn"
#define TD_TLS_RECORD       16384     /* a record's plaintext, at most */
#define TD_TLS_WBUF         TD_TCP_OUT_SIZE  /* records for one send() */


/* the write side of a connection's SSL: records kept for one send() */

typedef struct {
    int                 fd;
    size_t              len;
    uint8_t            *buf;         /* TD_TLS_WBUF while len > 0 */
} td_tls_out_t;


static SSL_CTX *td_tls_ctx_new(const td_conf_t *conf);
static int td_tls_alpn(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
static int td_tls_handshake(td_thread_t *thr, td_conn_t *c,
    const char **why);
static ssize_t td_tls_recv(td_conn_t *c, uint8_t *buf, size_t len);
static ssize_t td_tls_send(td_conn_t *c, const uint8_t *buf, size_t len);
static int td_tls_flush(td_conn_t *c);
static BIO *td_tls_out_new(int fd);
static int td_tls_out_write(BIO *b, const char *data, int len);
static long td_tls_out_ctrl(BIO *b, int cmd, long num, void *ptr);
static int td_tls_out_free(BIO *b);
static int td_tls_out_send(td_tls_out_t *o);
static size_t td_tls_first_frame(const uint8_t *buf, size_t len);
static const char *td_tls_error(const char *what);


static SSL_CTX          *td_tls_ctx;
static BIO_METHOD       *td_tls_out_method;
static pthread_mutex_t   td_tls_mutex = PTHREAD_MUTEX_INITIALIZER;
static __thread char     td_tls_why[256];


int
td_tls_init(const td_conf_t *conf)
{
    if (conf->no_tls || conf->cert == NULL || conf->pkey == NULL) {
        return 0;
    }

    td_tls_out_method = BIO_meth_new(BIO_get_new_index()
                                     | BIO_TYPE_SOURCE_SINK, "td_tls_out");

    if (td_tls_out_method == NULL
        || BIO_meth_set_write(td_tls_out_method, td_tls_out_write) != 1
        || BIO_meth_set_ctrl(td_tls_out_method, td_tls_out_ctrl) != 1
        || BIO_meth_set_destroy(td_tls_out_method, td_tls_out_free) != 1)
    {
        td_log(TD_LOG_ERR, "%s", td_tls_error("BIO_meth_new() failed"));
        return -1;
    }

    td_tls_ctx = td_tls_ctx_new(conf);

    return (td_tls_ctx != NULL) ? 0 : -1;
}


int
td_tls_enabled(void)
{
    return td_tls_ctx != NULL;
}


int
td_tls_reload(const td_conf_t *conf)
{
    SSL_CTX  *ctx, *old;

    if (td_tls_ctx == NULL) {
        return 0;
    }

    ctx = td_tls_ctx_new(conf);

    if (ctx == NULL) {
        td_log(TD_LOG_ERR, "SIGHUP: keeping the previous certificate and "
               "key");
        return -1;
    }

    pthread_mutex_lock(&td_tls_mutex);
    old = td_tls_ctx;
    td_tls_ctx = ctx;
    pthread_mutex_unlock(&td_tls_mutex);

    /* connections hold references of their own */
    SSL_CTX_free(old);

    td_log(TD_LOG_NOTICE, "SIGHUP: certificate %s and key %s reloaded",
           conf->cert, conf->pkey);

    return 0;
}


void
td_tls_cleanup(void)
{
    SSL_CTX_free(td_tls_ctx);
    td_tls_ctx = NULL;

    BIO_meth_free(td_tls_out_method);
    td_tls_out_method = NULL;
}


static SSL_CTX *
td_tls_ctx_new(const td_conf_t *conf)
{
    int        expired;
    char       what[512];
    X509      *x;
    SSL_CTX   *ctx;

    ERR_clear_error();

    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        td_log(TD_LOG_ERR, "%s", td_tls_error("SSL_CTX_new() failed"));
        return NULL;
    }

    (void) SSL_CTX_set_min_proto_version(ctx, conf->no_tlsv1_2
                                              ? TLS1_3_VERSION
                                              : TLS1_2_VERSION);

    /*
     * No renegotiation (a client-driven CPU sink), no session cache
     * shared between threads (tickets still resume), buffers given
     * back while a connection is idle (an idle TLS client costs little),
     * and a close without close_notify is a close (browsers do that).
     */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

    if (conf->cipher_list != NULL
        && SSL_CTX_set_cipher_list(ctx, conf->cipher_list) != 1)
    {
        td_log(TD_LOG_ERR, "%s", td_tls_error("cipher-list not usable"));
        goto failed;
    }

    if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert) != 1) {
        snprintf(what, sizeof(what), "cert %s", conf->cert);
        td_log(TD_LOG_ERR, "%s", td_tls_error(what));
        goto failed;
    }

    if (SSL_CTX_use_PrivateKey_file(ctx, conf->pkey, SSL_FILETYPE_PEM)
        != 1)
    {
        snprintf(what, sizeof(what), "pkey %s", conf->pkey);
        td_log(TD_LOG_ERR, "%s", td_tls_error(what));
        goto failed;
    }

    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof(what), "pkey %s does not match cert %s",
                 conf->pkey, conf->cert);
        td_log(TD_LOG_ERR, "%s", td_tls_error(what));
        goto failed;
    }

    /* served anyway (a test may want it), but said loudly */
    x = SSL_CTX_get0_certificate(ctx);
    expired = (x != NULL
               && X509_cmp_current_time(X509_get0_notAfter(x)) < 0);

    if (expired) {
        td_log(TD_LOG_WARN, "cert %s has expired: clients will refuse it",
               conf->cert);
    }

    SSL_CTX_set_alpn_select_cb(ctx, td_tls_alpn, NULL);

    td_log(TD_LOG_NOTICE, "tls: cert %s, TLS %s, handshake timeout %u s",
           conf->cert, conf->no_tlsv1_2 ? "1.3" : "1.2 and 1.3",
           conf->handshake_timeout);

    return ctx;

failed:

    SSL_CTX_free(ctx);

    return NULL;
}


/* "stun.turn" when the client offers it; any other list: no ALPN */

static int
td_tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned int  i, n;

    (void) ssl;
    (void) arg;

    for (i = 0; i < inlen; i += n + 1) {
        n = in[i];

        if (n > inlen - i - 1) {
            break;
        }

        if (n == sizeof(TD_TLS_ALPN) - 1
            && memcmp(&in[i + 1], TD_TLS_ALPN, n) == 0)
        {
            *out = &in[i + 1];
            *outlen = (unsigned char) n;
            return SSL_TLSEXT_ERR_OK;
        }
    }

    return SSL_TLSEXT_ERR_NOACK;
}


/*
 * Records go to a BIO of ours (td_tls_out_*) that keeps them, and sends
 * them when full and at td_tls_flush(): a batch of messages, a record
 * each, goes out in one send().  OpenSSL flushes it itself after
 * handshake messages and alerts (close_notify included).
 */

int
td_tls_conn_init(td_conn_t *c)
{
    SSL  *ssl;
    BIO  *rbio, *wbio;

    pthread_mutex_lock(&td_tls_mutex);
    ssl = SSL_new(td_tls_ctx);
    pthread_mutex_unlock(&td_tls_mutex);

    rbio = BIO_new_socket(c->ev.fd, BIO_NOCLOSE);
    wbio = td_tls_out_new(c->ev.fd);

    if (ssl == NULL || rbio == NULL || wbio == NULL) {
        td_log(TD_LOG_ERR, "%s", td_tls_error("SSL_new() failed"));
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        return -1;
    }

    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_accept_state(ssl);

    c->tls = ssl;
    c->recv = td_tls_recv;
    c->send = td_tls_send;
    c->flush = td_tls_flush;

    /* after a PROXY header, if any */
    if (c->pre == NULL) {
        c->pre = td_tls_handshake;

    } else {
        c->pre_next = td_tls_handshake;
    }

    return 0;
}


void
td_tls_conn_free(td_conn_t *c)
{
    if (c->tls == NULL) {
        return;
    }

    /* a close_notify if the socket takes it at once; no waiting */
    if (c->pre == NULL) {
        (void) SSL_shutdown(c->tls);
    }

    SSL_free(c->tls);
    c->tls = NULL;
}


static int
td_tls_handshake(td_thread_t *thr, td_conn_t *c, const char **why)
{
    int                   rc, err;
    unsigned int          alen;
    const unsigned char  *alpn;

    ERR_clear_error();

    rc = SSL_do_handshake(c->tls);

    if (rc == 1) {
        thr->stats.tls_handshakes++;
        c->pre = NULL;

        if (td_log_enabled(TD_LOG_DEBUG)) {
            SSL_get0_alpn_selected(c->tls, &alpn, &alen);
            td_log(TD_LOG_DEBUG, "tls handshake done: %s %s, alpn %.*s",
                   SSL_get_version(c->tls), SSL_get_cipher_name(c->tls),
                   alen ? (int) alen : 4, alen ? (const char *) alpn
                                               : "none");
        }

        return TD_CONN_OK;
    }

    err = SSL_get_error(c->tls, rc);

    switch (err) {

    case SSL_ERROR_WANT_READ:
        return TD_CONN_AGAIN;

    case SSL_ERROR_WANT_WRITE:
        return TD_CONN_WRITE;

    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            *why = "tls handshake: closed by the client";

            if (rc != 0 && errno != 0) {
                snprintf(td_tls_why, sizeof(td_tls_why), "tls handshake: "
                         "%s", strerror(errno));
                *why = td_tls_why;
            }

            break;
        }

        /* fall through */

    default:
        *why = td_tls_error("tls handshake failed");
        break;
    }

    thr->stats.tls_failed++;

    return TD_CONN_ERROR;
}


/*
 * As recv(): whole records while a whole one fits, until OpenSSL wants
 * the socket again, EAGAIN when there was nothing.  Never a part of a
 * record: decrypted bytes left inside OpenSSL would wait for the next
 * readiness of a socket that may have nothing more (epoll sees the
 * socket, not OpenSSL); what is left in the socket wakes epoll again.
 * The error reason is logged, and the close says errno EPROTO.
 */

static ssize_t
td_tls_recv(td_conn_t *c, uint8_t *buf, size_t len)
{
    int     n, err;
    size_t  got;

    got = 0;

    while (len - got >= TD_TLS_RECORD || (got == 0 && len > 0)) {
        ERR_clear_error();

        n = SSL_read(c->tls, buf + got,
                     (len - got > 0x40000000) ? 0x40000000
                                              : (int) (len - got));
        if (n > 0) {
            got += (size_t) n;
            continue;
        }

        err = SSL_get_error(c->tls, n);

        if (got > 0) {
            /* the condition comes back on the next call */
            return (ssize_t) got;
        }

        switch (err) {

        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            errno = EAGAIN;
            return -1;

        case SSL_ERROR_ZERO_RETURN:
            return 0;

        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                if (n == 0 || errno == 0) {
                    return 0;
                }

                return -1;
            }

            /* fall through */

        default:
            td_log(TD_LOG_INFO, "%s", td_tls_error("tls read"));
            errno = EPROTO;
            return -1;
        }
    }

    return (ssize_t) got;
}


/*
 * As send().  After EAGAIN the TCP layer keeps the bytes and offers the
 * same ones again (and maybe more), which is what OpenSSL asks of a
 * repeated SSL_write().
 */

static ssize_t
td_tls_send(td_conn_t *c, const uint8_t *buf, size_t len)
{
    int  n, err;

    if (len == 0) {
        return 0;
    }

    /*
     * A record a message, as coturn writes them: some clients (coturn's
     * own turnutils_uclient) read a record as one message and lose the
     * rest of a record holding several.  td_tcp_send() gives whole
     * frames, so the buffer starts with one.
     */
    len = td_tls_first_frame(buf, len);

    ERR_clear_error();

    n = SSL_write(c->tls, buf, (len > 0x40000000) ? 0x40000000 : (int) len);

    if (n > 0) {
        return n;
    }

    err = SSL_get_error(c->tls, n);

    switch (err) {

    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;

    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && errno != 0) {
            return -1;
        }

        /* fall through */

    default:
        td_log(TD_LOG_INFO, "%s", td_tls_error("tls write"));
        errno = EPROTO;
        return -1;
    }
}


/*
 * The records td_tls_send() left in td_tls_out, in one send(): on EAGAIN
 * they stay there, in order, for the next flush (EPOLLOUT).
 */

static int
td_tls_flush(td_conn_t *c)
{
    BIO  *wbio;

    wbio = SSL_get_wbio(c->tls);

    if (BIO_wpending(wbio) == 0) {
        return 0;
    }

    ERR_clear_error();
    errno = 0;

    if (BIO_flush(wbio) == 1) {
        return 0;
    }

    if (BIO_should_retry(wbio)) {
        errno = EAGAIN;
        return -1;
    }

    if (errno == 0 || errno == EAGAIN || errno == EINTR) {
        errno = EPIPE;
    }

    return -1;
}


static BIO *
td_tls_out_new(int fd)
{
    BIO           *b;
    td_tls_out_t  *o;

    b = BIO_new(td_tls_out_method);
    o = calloc(1, sizeof(td_tls_out_t));

    if (b == NULL || o == NULL) {
        BIO_free(b);
        free(o);
        return NULL;
    }

    o->fd = fd;
    BIO_set_data(b, o);
    BIO_set_init(b, 1);

    return b;
}


/*
 * Keeps a record (or part of one: OpenSSL writes the rest again); a full
 * buffer is sent first.  A retry (the socket is full) takes nothing.
 */

static int
td_tls_out_write(BIO *b, const char *data, int len)
{
    ssize_t        n;
    td_tls_out_t  *o;

    o = BIO_get_data(b);

    BIO_clear_retry_flags(b);

    if (len <= 0) {
        return 0;
    }

    if ((size_t) len > TD_TLS_WBUF - o->len && td_tls_out_send(o) == -1) {
        goto failed;
    }

    if ((size_t) len > TD_TLS_WBUF) {
        /* larger than the buffer, which is empty now */
        n = send(o->fd, data, (size_t) len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n == -1) {
            goto failed;
        }

        return (int) n;
    }

    if (o->buf == NULL) {
        o->buf = malloc(TD_TLS_WBUF);

        if (o->buf == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }

    memcpy(o->buf + o->len, data, (size_t) len);
    o->len += (size_t) len;

    return len;

failed:

    if (errno == EAGAIN || errno == EINTR) {
        BIO_set_retry_write(b);
    }

    return -1;
}


static long
td_tls_out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    td_tls_out_t  *o;

    (void) num;
    (void) ptr;

    o = BIO_get_data(b);

    switch (cmd) {

    case BIO_CTRL_FLUSH:
        BIO_clear_retry_flags(b);

        if (td_tls_out_send(o) == 0) {
            return 1;
        }

        if (errno == EAGAIN || errno == EINTR) {
            BIO_set_retry_write(b);
        }

        return -1;

    case BIO_CTRL_WPENDING:
        return (long) o->len;

    default:
        return 0;
    }
}


static int
td_tls_out_free(BIO *b)
{
    td_tls_out_t  *o;

    o = BIO_get_data(b);

    if (o != NULL) {
        free(o->buf);
        free(o);
        BIO_set_data(b, NULL);
    }

    return 1;
}


/* the kept records in one send(): 0, or -1 with errno; empty, freed */

static int
td_tls_out_send(td_tls_out_t *o)
{
    ssize_t  n;

    while (o->len > 0) {
        n = send(o->fd, o->buf, o->len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        o->len -= (size_t) n;
        memmove(o->buf, o->buf + n, o->len);
    }

    free(o->buf);
    o->buf = NULL;

    return 0;
}


/* the length of the frame buf starts with, or len when not whole */

static size_t
td_tls_first_frame(const uint8_t *buf, size_t len)
{
    size_t  n;

    if (len < 4) {
        return len;
    }

    if ((buf[0] & 0xc0) == 0x40) {
        n = ((size_t) buf[2] << 8) | buf[3];
        n = 4 + ((n + 3) & ~(size_t) 3);

    } else {
        n = 20 + (((size_t) buf[2] << 8) | buf[3]);
    }

    return (n < len) ? n : len;
}


/* what, and OpenSSL's reasons, in the thread's buffer */

static const char *
td_tls_error(const char *what)
{
    char           reason[160];
    size_t         n;
    unsigned long  e;

    n = (size_t) snprintf(td_tls_why, sizeof(td_tls_why), "%s", what);

    while ((e = ERR_get_error()) != 0 && n < sizeof(td_tls_why) - 3) {
        ERR_error_string_n(e, reason, sizeof(reason));
        n += (size_t) snprintf(td_tls_why + n, sizeof(td_tls_why) - n,
                               ": %s", reason);
    }

    return td_tls_why;
}
