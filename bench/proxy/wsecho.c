/*
 * wsecho: the WebSocket echo upstream of bench/proxy/run.sh.
 *
 *   wsecho [-a ADDR] -l PORT [-l PORT ...] [-c CHAIN -k KEY] [-n NAME]
 *          [-t SECS]
 *
 * One thread, epoll, non-blocking; TLS through OpenSSL when -c/-k are
 * given (the real signaling upstream is a wss: URL), plain TCP otherwise.
 * Answers an HTTP/1.1 Upgrade with 101 and echoes every data frame (text,
 * binary) unmasked with the same opcode; a ping gets a pong, a close gets
 * a close.  With -n, a Host header or TLS SNI that is not NAME is refused
 * (400, or the connection closed), so a proxy that forwards the wrong name
 * is seen in the counts instead of measured.  -t bounds its life (default
 * 600 s).  On SIGTERM, SIGINT or -t it prints its counts on stderr and
 * exits.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>


#define WE_MAX_LISTEN   8
#define WE_IN_SIZE      8192
#define WE_OUT_SIZE     16384
#define WE_MAX_HEADER   14
#define WE_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
    WE_TLS = 0,
    WE_HTTP,
    WE_WS
};


typedef struct {
    int             listener;   /* first: tells a listener from a conn */
    int             fd;
} we_listen_t;


typedef struct {
    int             listener;
    int             fd;
    SSL            *ssl;
    int             state;
    int             closing;    /* close once the output is written */
    int             rblocked;
    int             wblocked;
    size_t          in_len;
    size_t          out_pos;
    size_t          out_len;
    unsigned char   in[WE_IN_SIZE];
    unsigned char   out[WE_OUT_SIZE];
} we_conn_t;


static void we_usage(void);
static int we_listen(const char *addr, int port);
static void we_accept(int ep, int lfd);
static void we_handle(int ep, we_conn_t *c, uint32_t events);
static int we_handshake(we_conn_t *c);
static int we_read(we_conn_t *c);
static int we_flush(we_conn_t *c);
static int we_process(we_conn_t *c);
static int we_http(we_conn_t *c);
static int we_frames(we_conn_t *c);
static int we_header(const unsigned char *p, size_t len, const char *name,
    const unsigned char **value, size_t *vlen);
static int we_name_is(const unsigned char *v, size_t len);
static void we_error(const char *what, int err);
static void we_close(we_conn_t *c);
static int we_sni(SSL *ssl, int *al, void *arg);


static SSL_CTX                *we_ctx;
static const char             *we_name;
static volatile sig_atomic_t   we_stop;
static int                     we_sni_refused;

static unsigned long   we_handshakes;
static unsigned long   we_messages;
static unsigned long   we_refused;
static unsigned long   we_errors;
static unsigned long   we_open;
static unsigned long   we_eofs;
static unsigned long   we_resumed;


static void
we_on_signal(int signo)
{
    (void) signo;
    we_stop = 1;
}


int
main(int argc, char **argv)
{
    int                  ep, i, n, opt, nlisten;
    const char          *addr, *chain, *key;
    time_t               deadline;
    long                 secs;
    we_conn_t           *c;
    we_listen_t          ls[WE_MAX_LISTEN];
    struct sigaction     sa;
    struct epoll_event   ev, evs[256];

    addr = "127.0.0.1";
    chain = NULL;
    key = NULL;
    secs = 600;
    nlisten = 0;

    while ((opt = getopt(argc, argv, "a:l:c:k:n:t:")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'l':
            if (nlisten == WE_MAX_LISTEN) {
                we_usage();
            }

            ls[nlisten].listener = 1;
            ls[nlisten].fd = atoi(optarg);
            nlisten++;
            break;
        case 'c':
            chain = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'n':
            we_name = optarg;
            break;
        case 't':
            secs = atol(optarg);
            break;
        default:
            we_usage();
        }
    }

    if (nlisten == 0 || (chain == NULL) != (key == NULL) || secs <= 0) {
        we_usage();
    }

    if (chain != NULL) {
        we_ctx = SSL_CTX_new(TLS_server_method());
        if (we_ctx == NULL
            || SSL_CTX_use_certificate_chain_file(we_ctx, chain) != 1
            || SSL_CTX_use_PrivateKey_file(we_ctx, key, SSL_FILETYPE_PEM)
               != 1
            || SSL_CTX_check_private_key(we_ctx) != 1)
        {
            ERR_print_errors_fp(stderr);
            fprintf(stderr, "wsecho: cannot load %s / %s\n", chain, key);
            return 1;
        }

        /* a peer closing without close_notify is an EOF, not an error */
        SSL_CTX_set_options(we_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

        /* the buffer may move between retries of a partial SSL_write */
        SSL_CTX_set_mode(we_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                                 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

        if (we_name != NULL) {
            SSL_CTX_set_tlsext_servername_callback(we_ctx, we_sni);
        }
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        perror("wsecho: epoll_create1");
        return 1;
    }

    for (i = 0; i < nlisten; i++) {
        n = ls[i].fd;
        ls[i].fd = we_listen(addr, n);
        if (ls[i].fd == -1) {
            return 1;
        }

        ev.events = EPOLLIN;
        ev.data.ptr = &ls[i];

        if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[i].fd, &ev) == -1) {
            perror("wsecho: epoll_ctl");
            return 1;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = we_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    deadline = time(NULL) + secs;

    while (!we_stop && time(NULL) < deadline) {
        n = epoll_wait(ep, evs, 256, 500);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("wsecho: epoll_wait");
            return 1;
        }

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;

            if (c->listener) {
                we_accept(ep, c->fd);

            } else {
                we_handle(ep, c, evs[i].events);
            }
        }
    }

    fprintf(stderr, "wsecho: handshakes=%lu tls_resumed=%lu messages=%lu "
            "refused=%lu errors=%lu eofs=%lu open=%lu\n", we_handshakes,
            we_resumed, we_messages, we_refused, we_errors, we_eofs,
            we_open);

    return 0;
}


static void
we_usage(void)
{
    fprintf(stderr, "usage: wsecho [-a ADDR] -l PORT [-l PORT ...] "
            "[-c CHAIN -k KEY] [-n NAME] [-t SECS]\n");
    exit(2);
}


static int
we_listen(const char *addr, int port)
{
    int                 fd, on;
    struct sockaddr_in  sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);

    if (port <= 0 || port > 65535 || inet_pton(AF_INET, addr, &sin.sin_addr)
                                     != 1)
    {
        fprintf(stderr, "wsecho: bad address %s:%d\n", addr, port);
        return -1;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        perror("wsecho: socket");
        return -1;
    }

    on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));

    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || listen(fd, 4096) == -1)
    {
        fprintf(stderr, "wsecho: cannot listen on %s:%d: %s\n", addr, port,
                strerror(errno));
        close(fd);
        return -1;
    }

    return fd;
}


static void
we_accept(int ep, int lfd)
{
    int                  fd, on;
    we_conn_t           *c;
    struct epoll_event   ev;

    for ( ;; ) {
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                we_errors++;
            }

            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }

            return;
        }

        /* frames are small and answered one by one */
        on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

        c = malloc(sizeof(we_conn_t));
        if (c == NULL) {
            we_errors++;
            close(fd);
            continue;
        }

        we_open++;

        c->listener = 0;
        c->fd = fd;
        c->ssl = NULL;
        c->state = WE_HTTP;
        c->closing = 0;
        c->rblocked = 0;
        c->wblocked = 0;
        c->in_len = 0;
        c->out_pos = 0;
        c->out_len = 0;

        if (we_ctx != NULL) {
            c->ssl = SSL_new(we_ctx);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                we_errors++;
                we_close(c);
                continue;
            }

            SSL_set_accept_state(c->ssl);
            c->state = WE_TLS;
        }

        /* edge-triggered both ways: each side is driven until EAGAIN */
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c;

        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
            we_errors++;
            we_close(c);
            continue;
        }
    }
}


static void
we_handle(int ep, we_conn_t *c, uint32_t events)
{
    int  rc;

    (void) ep;

    /* TLS may need either direction for either operation */
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)
        || c->ssl != NULL)
    {
        c->rblocked = 0;
    }

    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP) || c->ssl != NULL) {
        c->wblocked = 0;
    }

    if (c->state == WE_TLS) {
        rc = we_handshake(c);
        if (rc != 1) {
            if (rc == -1) {
                we_close(c);
            }

            return;
        }
    }

    for ( ;; ) {
        if (!c->rblocked && !c->closing && c->in_len < WE_IN_SIZE) {
            rc = we_read(c);
            if (rc == -1) {
                we_close(c);
                return;
            }

            if (rc > 0 && we_process(c) == -1) {
                we_close(c);
                return;
            }
        }

        if (!c->wblocked && c->out_pos < c->out_len) {
            if (we_flush(c) == -1) {
                we_close(c);
                return;
            }

            /* room again: frames held back may go now */
            if (c->in_len > 0 && we_process(c) == -1) {
                we_close(c);
                return;
            }
        }

        if (c->closing && c->out_pos == c->out_len) {
            we_close(c);
            return;
        }

        if ((c->rblocked || c->closing || c->in_len == WE_IN_SIZE)
            && (c->wblocked || c->out_pos == c->out_len))
        {
            return;
        }
    }
}


/* 1: done, 0: wait for the socket, -1: failed */

static int
we_handshake(we_conn_t *c)
{
    int  rc, err;

    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        /* nginx reuses TLS sessions per upstream peer (by default) */
        if (SSL_session_reused(c->ssl)) {
            we_resumed++;
        }

        c->state = WE_HTTP;
        return 1;
    }

    err = SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return 0;
    }

    /* the SNI callback counts its refusals itself */
    if (we_sni_refused) {
        we_sni_refused = 0;

    } else if ((err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
               || err == SSL_ERROR_ZERO_RETURN)
    {
        /*
         * the peer went away mid-handshake: nginx does when its client
         * closes first, as the generator's clients do at the end of a run
         */
        we_eofs++;

    } else {
        we_error("SSL_do_handshake", err);
    }

    ERR_clear_error();

    return -1;
}


/* bytes read, 0 when the socket would block, -1 on EOF or error */

static int
we_read(we_conn_t *c)
{
    int      err;
    ssize_t  n;

    if (c->ssl != NULL) {
        n = SSL_read(c->ssl, c->in + c->in_len, WE_IN_SIZE - c->in_len);
        if (n > 0) {
            c->in_len += n;
            return (int) n;
        }

        err = SSL_get_error(c->ssl, (int) n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            c->rblocked = 1;
            return 0;
        }

        if (err != SSL_ERROR_ZERO_RETURN && err != SSL_ERROR_SYSCALL) {
            we_error("SSL_read", err);
        }

        ERR_clear_error();
        return -1;
    }

    n = read(c->fd, c->in + c->in_len, WE_IN_SIZE - c->in_len);
    if (n > 0) {
        c->in_len += n;
        return (int) n;
    }

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        c->rblocked = 1;
        return 0;
    }

    return -1;
}


static int
we_flush(we_conn_t *c)
{
    int      err;
    ssize_t  n;

    while (c->out_pos < c->out_len) {
        if (c->ssl != NULL) {
            n = SSL_write(c->ssl, c->out + c->out_pos,
                          (int) (c->out_len - c->out_pos));
            if (n <= 0) {
                err = SSL_get_error(c->ssl, (int) n);
                if (err == SSL_ERROR_WANT_READ
                    || err == SSL_ERROR_WANT_WRITE)
                {
                    c->wblocked = 1;
                    return 0;
                }

                ERR_clear_error();
                return -1;
            }

        } else {
            n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);
            if (n == -1) {
                if (errno == EAGAIN || errno == EINTR) {
                    c->wblocked = 1;
                    return 0;
                }

                return -1;
            }
        }

        c->out_pos += n;
    }

    c->out_pos = 0;
    c->out_len = 0;

    return 0;
}


static int
we_process(we_conn_t *c)
{
    if (c->state == WE_HTTP) {
        if (we_http(c) == -1) {
            return -1;
        }

        if (c->state != WE_WS) {
            return 0;
        }
    }

    return we_frames(c);
}


/* the Upgrade request: 101 with Sec-WebSocket-Accept, or 400 */

static int
we_http(we_conn_t *c)
{
    int                   len;
    size_t                klen, hlen, rest;
    unsigned int          mdlen;
    unsigned char        *end;
    unsigned char         md[EVP_MAX_MD_SIZE], buf[128], accept[64];
    const unsigned char  *k, *h;
    EVP_MD_CTX           *ctx;

    end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->in_len == WE_IN_SIZE) {
            we_errors++;
            return -1;
        }

        return 0;
    }

    end += 4;

    if (we_header(c->in, end - c->in, "Sec-WebSocket-Key", &k, &klen) != 0
        || klen == 0 || klen + sizeof(WE_GUID) > sizeof(buf))
    {
        we_errors++;
        return -1;
    }

    if (we_name != NULL
        && (we_header(c->in, end - c->in, "Host", &h, &hlen) != 0
            || !we_name_is(h, hlen)))
    {
        we_refused++;

        len = snprintf((char *) c->out, WE_OUT_SIZE,
                       "HTTP/1.1 400 Bad Request\r\n"
                       "Content-Length: 0\r\nConnection: close\r\n\r\n");
        c->out_len = len;
        c->closing = 1;
        c->in_len = 0;

        return 0;
    }

    memcpy(buf, k, klen);
    memcpy(buf + klen, WE_GUID, sizeof(WE_GUID) - 1);

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1
        || EVP_DigestUpdate(ctx, buf, klen + sizeof(WE_GUID) - 1) != 1
        || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
    {
        EVP_MD_CTX_free(ctx);
        we_errors++;
        return -1;
    }

    EVP_MD_CTX_free(ctx);

    EVP_EncodeBlock(accept, md, (int) mdlen);

    len = snprintf((char *) c->out + c->out_len, WE_OUT_SIZE - c->out_len,
                   "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    c->out_len += len;

    rest = c->in_len - (end - c->in);
    memmove(c->in, end, rest);
    c->in_len = rest;
    c->state = WE_WS;

    we_handshakes++;

    return 0;
}


/* echo every complete frame that fits the output buffer */

static int
we_frames(we_conn_t *c)
{
    size_t          pos, hlen, plen, i;
    unsigned char   op, *p, *o, *mask;

    pos = 0;

    while (c->in_len - pos >= 2) {
        p = c->in + pos;
        op = p[0] & 0x0f;

        /* clients mask; fragments are not used by the bench */
        if ((p[1] & 0x80) == 0 || (p[0] & 0x80) == 0) {
            we_errors++;
            return -1;
        }

        plen = p[1] & 0x7f;
        hlen = 2;

        if (plen == 126) {
            if (c->in_len - pos < 4) {
                break;
            }

            plen = ((size_t) p[2] << 8) | p[3];
            hlen = 4;

        } else if (plen == 127) {
            /* larger than the input buffer in any case */
            we_errors++;
            return -1;
        }

        if (hlen + 4 + plen > WE_IN_SIZE) {
            we_errors++;
            return -1;
        }

        if (c->in_len - pos < hlen + 4 + plen) {
            break;
        }

        if (WE_OUT_SIZE - c->out_len < 4 + plen) {
            /* the output is full: wait for it to drain */
            break;
        }

        mask = p + hlen;
        o = c->out + c->out_len;

        switch (op) {
        case 0x1:
        case 0x2:
            *o++ = 0x80 | op;
            we_messages++;
            break;
        case 0x9:
            *o++ = 0x8a;
            break;
        case 0x8:
            *o++ = 0x88;
            c->closing = 1;
            break;
        default:
            /* pong and the rest: nothing to answer */
            pos += hlen + 4 + plen;
            continue;
        }

        if (plen < 126) {
            *o++ = (unsigned char) plen;

        } else {
            *o++ = 126;
            *o++ = (unsigned char) (plen >> 8);
            *o++ = (unsigned char) plen;
        }

        for (i = 0; i < plen; i++) {
            o[i] = mask[4 + i] ^ mask[i & 3];
        }

        c->out_len = (o + plen) - c->out;
        pos += hlen + 4 + plen;

        if (c->closing) {
            break;
        }
    }

    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;

    return 0;
}


/* the value of header NAME in the request head P, without spaces */

static int
we_header(const unsigned char *p, size_t len, const char *name,
    const unsigned char **value, size_t *vlen)
{
    size_t                nlen;
    const unsigned char  *end, *line, *eol, *v;

    nlen = strlen(name);
    end = p + len;

    line = memmem(p, len, "\r\n", 2);

    while (line != NULL && line + 2 < end) {
        line += 2;

        eol = memmem(line, end - line, "\r\n", 2);
        if (eol == NULL) {
            return -1;
        }

        if ((size_t) (eol - line) > nlen && line[nlen] == ':'
            && strncasecmp((const char *) line, name, nlen) == 0)
        {
            v = line + nlen + 1;

            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }

            *value = v;

            while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t')) {
                eol--;
            }

            *vlen = eol - v;

            return 0;
        }

        line = eol;
    }

    return -1;
}


/* Host is NAME, or NAME:port */

static int
we_name_is(const unsigned char *v, size_t len)
{
    size_t  n;

    n = strlen(we_name);

    if (len < n || strncasecmp((const char *) v, we_name, n) != 0) {
        return 0;
    }

    return len == n || v[n] == ':';
}


static int
we_sni(SSL *ssl, int *al, void *arg)
{
    const char  *sni;

    (void) arg;

    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    if (sni == NULL || strcasecmp(sni, we_name) != 0) {
        we_refused++;
        we_sni_refused = 1;
        *al = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }

    return SSL_TLSEXT_ERR_OK;
}


/* counted; the first few also say what */

static void
we_error(const char *what, int err)
{
    unsigned long  e;

    we_errors++;

    if (we_errors <= 5) {
        e = ERR_peek_error();
        fprintf(stderr, "wsecho: %s failed: SSL error %d: %s (%s)\n", what,
                err, e ? ERR_reason_error_string(e) : "-", strerror(errno));
    }
}


static void
we_close(we_conn_t *c)
{
    if (c->ssl != NULL) {
        /* one close_notify, no waiting: the peer is closing too */
        if (c->state != WE_TLS) {
            SSL_shutdown(c->ssl);
        }

        SSL_free(c->ssl);
    }

    /* epoll forgets a descriptor when it is closed */
    close(c->fd);

    we_open--;

    free(c);
}
