
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "td_limit.h"
#include "td_log.h"
#include "td_proxy.h"


#define TD_PROXY_V1_MIN     15        /* "PROXY UNKNOWN\r\n" */
#define TD_PROXY_V2_HDR     16


static int td_proxy_v1(td_conn_t *c, const char **why);
static int td_proxy_v2(td_conn_t *c, const char **why);
static int td_proxy_v1_addr(int family, char *addr, char *port,
    struct sockaddr_storage *out, socklen_t *outlen);
static int td_proxy_match(const td_cidr_t *r, const struct sockaddr *sa);


static const uint8_t  td_proxy_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};


int
td_proxy_listed(const td_conf_t *conf, const struct sockaddr *sa)
{
    size_t  i;

    for (i = 0; i < conf->nproxy_from; i++) {
        if (td_proxy_match(&conf->proxy_from[i], sa)) {
            return 1;
        }
    }

    return 0;
}


static int
td_proxy_match(const td_cidr_t *r, const struct sockaddr *sa)
{
    unsigned        bits, n;
    const uint8_t  *a, *b;

    if (r->sa.ss_family != sa->sa_family) {
        return 0;
    }

    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *) &((const struct sockaddr_in *) &r->sa)->sin_addr;
        b = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;

    } else {
        a = ((const struct sockaddr_in6 *) &r->sa)->sin6_addr.s6_addr;
        b = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
    }

    bits = r->prefix;
    n = bits / 8;

    if (memcmp(a, b, n) != 0) {
        return 0;
    }

    return (bits % 8 == 0)
           || ((a[n] ^ b[n]) & (uint8_t) (0xff << (8 - bits % 8))) == 0;
}


int
td_proxy_signature(const uint8_t *buf, size_t len)
{
    size_t  n1, n2;

    n1 = (len < 6) ? len : 6;
    n2 = (len < sizeof(td_proxy_v2_sig)) ? len : sizeof(td_proxy_v2_sig);

    if (memcmp(buf, "PROXY ", n1) == 0) {
        return (n1 == 6) ? 1 : -1;
    }

    if (memcmp(buf, td_proxy_v2_sig, n2) == 0) {
        return (n2 == sizeof(td_proxy_v2_sig)) ? 1 : -1;
    }

    return 0;
}


/*
 * Reads into c->in only what is surely header: the shortest header
 * first, then v2's announced length, or v1 up to its LF (found with
 * MSG_PEEK).  A prefix of neither kind ends it at once.
 */

int
td_proxy_read(td_thread_t *thr, td_conn_t *c, const char **why)
{
    int        rc, v2;
    size_t     have, want, k, n2;
    ssize_t    n;
    uint8_t   *lf, peek[TD_PROXY_V1_MAX];

    for ( ;; ) {
        have = c->in_len;

        k = (have < 12) ? have : 12;
        v2 = (memcmp(c->in, td_proxy_v2_sig, k) == 0);

        if (!v2 && memcmp(c->in, "PROXY ", (have < 6) ? have : 6) != 0) {
            *why = "no PROXY protocol header";
            goto bad;
        }

        if (have < TD_PROXY_V1_MIN) {
            want = TD_PROXY_V1_MIN - have;

        } else if (v2) {
            if (have < TD_PROXY_V2_HDR) {
                want = TD_PROXY_V2_HDR - have;

            } else {
                n2 = ((size_t) c->in[14] << 8) | c->in[15];

                if (TD_PROXY_V2_HDR + n2 > TD_PROXY_V2_MAX) {
                    *why = "PROXY v2 header too long";
                    goto bad;
                }

                want = TD_PROXY_V2_HDR + n2 - have;

                if (want == 0) {
                    rc = td_proxy_v2(c, why);
                    goto done;
                }
            }

        } else {
            if (c->in[have - 1] == '\n') {
                rc = td_proxy_v1(c, why);
                goto done;
            }

            if (have >= TD_PROXY_V1_MAX) {
                *why = "PROXY v1 header too long";
                goto bad;
            }

            n = recv(c->ev.fd, peek, TD_PROXY_V1_MAX - have, MSG_PEEK);

            if (n <= 0) {
                goto io;
            }

            lf = memchr(peek, '\n', (size_t) n);
            want = (lf != NULL) ? (size_t) (lf - peek) + 1 : (size_t) n;
        }

        n = recv(c->ev.fd, c->in + have, want, 0);

        if (n <= 0) {
            goto io;
        }

        c->in_len += (size_t) n;
    }

io:

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return TD_CONN_AGAIN;
    }

    *why = (n == 0) ? "closed before a whole PROXY header"
                    : "PROXY header: read error";

bad:

    thr->stats.proxy_bad++;

    return TD_CONN_ERROR;

done:

    c->in_len = 0;

    if (rc != 0) {
        goto bad;
    }

    /* the caps apply to the client, not to the proxy */
    rc = td_limit_tcp_take((struct sockaddr *) &c->cl.addr);

    if (rc != 0) {
        thr->stats.tcp_refused++;
        *why = (rc == -1) ? "max-unauth-tcp-per-ip reached"
                          : "max-unauth-tcp reached";
        return TD_CONN_ERROR;
    }

    c->unauth = 1;
    c->pre = c->pre_next;
    c->pre_next = NULL;

    return TD_CONN_OK;
}


/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", or "PROXY UNKNOWN ...\r\n" */

static int
td_proxy_v1(td_conn_t *c, const char **why)
{
    int                      family;
    char                     line[TD_PROXY_V1_MAX + 1], *f[6], *save;
    size_t                   len, i;
    socklen_t                slen, dlen;
    struct sockaddr_storage  src, dst;

    len = c->in_len;

    if (len < 2 || c->in[len - 2] != '\r' || memchr(c->in, 0, len) != NULL)
    {
        *why = "PROXY v1 header without CRLF";
        return -1;
    }

    memcpy(line, c->in, len - 2);
    line[len - 2] = '\0';

    f[0] = strtok_r(line, " ", &save);

    for (i = 1; i < 6; i++) {
        f[i] = strtok_r(NULL, " ", &save);
    }

    if (f[1] != NULL && strcmp(f[1], "UNKNOWN") == 0) {
        return 0;
    }

    if (f[5] == NULL || strtok_r(NULL, " ", &save) != NULL) {
        *why = "PROXY v1 header: not 6 fields";
        return -1;
    }

    if (strcmp(f[1], "TCP4") == 0) {
        family = AF_INET;

    } else if (strcmp(f[1], "TCP6") == 0) {
        family = AF_INET6;

    } else {
        *why = "PROXY v1 header: neither TCP4 nor TCP6";
        return -1;
    }

    if (td_proxy_v1_addr(family, f[2], f[4], &src, &slen) != 0
        || td_proxy_v1_addr(family, f[3], f[5], &dst, &dlen) != 0)
    {
        *why = "PROXY v1 header: bad address or port";
        return -1;
    }

    c->cl.addr = src;
    c->cl.addrlen = slen;
    c->cl.local = dst;
    c->cl.locallen = dlen;
    c->proxied = 1;

    return 0;
}


static int
td_proxy_v1_addr(int family, char *addr, char *port,
    struct sockaddr_storage *out, socklen_t *outlen)
{
    char                 *end;
    unsigned long         p;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    if (port[0] < '0' || port[0] > '9' || strlen(port) > 5) {
        return -1;
    }

    p = strtoul(port, &end, 10);

    if (*end != '\0' || p > 65535) {
        return -1;
    }

    memset(out, 0, sizeof(*out));

    if (family == AF_INET) {
        sin = (struct sockaddr_in *) out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) p);
        *outlen = sizeof(struct sockaddr_in);

        return (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) ? 0 : -1;
    }

    sin6 = (struct sockaddr_in6 *) out;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t) p);
    *outlen = sizeof(struct sockaddr_in6);

    return (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) ? 0 : -1;
}


/* the signature, version 2, PROXY or LOCAL, TCP over IPv4 or IPv6 */

static int
td_proxy_v2(td_conn_t *c, const char **why)
{
    size_t                len;
    const uint8_t        *p;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    p = c->in;
    len = ((size_t) p[14] << 8) | p[15];

    if ((p[12] & 0xf0) != 0x20) {
        *why = "PROXY v2 header: not version 2";
        return -1;
    }

    if ((p[12] & 0x0f) == 0x00) {
        /* LOCAL: the proxy's own connection (a health check) */
        return 0;
    }

    if ((p[12] & 0x0f) != 0x01) {
        *why = "PROXY v2 header: unknown command";
        return -1;
    }

    p += TD_PROXY_V2_HDR;

    switch (c->in[13]) {

    case 0x11:     /* TCP over IPv4 */
        if (len < 12) {
            break;
        }

        memset(&c->cl.addr, 0, sizeof(c->cl.addr));
        memset(&c->cl.local, 0, sizeof(c->cl.local));

        sin = (struct sockaddr_in *) &c->cl.addr;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, p, 4);
        memcpy(&sin->sin_port, p + 8, 2);
        c->cl.addrlen = sizeof(struct sockaddr_in);

        sin = (struct sockaddr_in *) &c->cl.local;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, p + 4, 4);
        memcpy(&sin->sin_port, p + 10, 2);
        c->cl.locallen = sizeof(struct sockaddr_in);

        c->proxied = 1;
        return 0;

    case 0x21:     /* TCP over IPv6 */
        if (len < 36) {
            break;
        }

        memset(&c->cl.addr, 0, sizeof(c->cl.addr));
        memset(&c->cl.local, 0, sizeof(c->cl.local));

        sin6 = (struct sockaddr_in6 *) &c->cl.addr;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, p, 16);
        memcpy(&sin6->sin6_port, p + 32, 2);
        c->cl.addrlen = sizeof(struct sockaddr_in6);

        sin6 = (struct sockaddr_in6 *) &c->cl.local;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, p + 16, 16);
        memcpy(&sin6->sin6_port, p + 34, 2);
        c->cl.locallen = sizeof(struct sockaddr_in6);

        c->proxied = 1;
        return 0;

    default:
        *why = "PROXY v2 header: not TCP over IPv4 or IPv6";
        return -1;
    }

    *why = "PROXY v2 header: addresses longer than the header";

    return -1;
}
