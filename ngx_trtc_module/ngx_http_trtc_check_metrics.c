
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check_metrics.h"
#include "ngx_http_trtc_check_target.h"


/*
 * trtc_check ... metrics=[address:]port[/uri]: beside each probe of a
 * turnd peer, the process that probes it scrapes turnd's Prometheus
 * metrics (the peer's address, or the one given, on that port; uri
 * /metrics by default) with the checks' own client, into one fixed
 * buffer per peer and process.  It keeps the last values and, per
 * minute of the last hour, the most allocations seen and the bytes
 * relayed each way, in the peer's record of the checks' zone.  A failed
 * or malformed scrape is counted and shown; it never touches the peer's
 * health, which is the probe's alone.
 */


/* turnd's answer is a few kB; a bigger one is refused, not cut */
#define NGX_HTTP_TRTC_CHECK_METRICS_MAX  32768

#define NGX_HTTP_TRTC_CHECK_M_ALLOC      0
#define NGX_HTTP_TRTC_CHECK_M_PKT_TO     1
#define NGX_HTTP_TRTC_CHECK_M_PKT_FROM   2
#define NGX_HTTP_TRTC_CHECK_M_BYTES_TO   3
#define NGX_HTTP_TRTC_CHECK_M_BYTES_FROM 4
#define NGX_HTTP_TRTC_CHECK_M_N          5


static void ngx_http_trtc_check_scrape_done(ngx_http_trtc_client_t *cl);
static void ngx_http_trtc_check_scrape_record(
    ngx_http_trtc_check_target_t *t, uint64_t *v, const char *error);
static ngx_int_t ngx_http_trtc_check_metrics_value(u_char *p, u_char *last,
    uint64_t *v);


char *
ngx_http_trtc_check_metrics_conf(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf, ngx_str_t *value)
{
    u_char     *p, *last, *slash;
    ngx_int_t   n;
    ngx_url_t   u;

    p = value->data + sizeof("metrics=") - 1;
    last = value->data + value->len;

    if (p == last || ccf->metrics_port) {
        return NGX_CONF_ERROR;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash == NULL) {
        ngx_str_set(&ccf->metrics_uri, "/metrics");
        slash = last;

    } else {
        ccf->metrics_uri.data = slash;
        ccf->metrics_uri.len = last - slash;
    }

    /* it goes into a request line as it is */

    for (p = slash; p < last; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return NGX_CONF_ERROR;
        }
    }

    p = value->data + sizeof("metrics=") - 1;

    n = ngx_atoi(p, slash - p);

    if (n != NGX_ERROR) {
        /* a port on the peer's own address */

        if (n < 1 || n > 65535) {
            return NGX_CONF_ERROR;
        }

        ccf->metrics_port = (in_port_t) n;
        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = slash - p;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.no_port
        || u.naddrs == 0)
    {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" of \"trtc_check\"",
                               u.err, value);
        }

        return NGX_CONF_ERROR;
    }

    ccf->metrics_addr = &u.addrs[0];
    ccf->metrics_port = u.port;

    return NGX_CONF_OK;
}


/* where and what to ask, made once per configuration */

ngx_int_t
ngx_http_trtc_check_metrics_target(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf, ngx_http_trtc_check_target_t *t,
    ngx_http_upstream_rr_peer_t *peer)
{
    u_char     *p;
    size_t      len;
    ngx_addr_t  *a;

    if (ccf->metrics_addr) {
        a = ccf->metrics_addr;

    } else {
        if (peer->sockaddr->sa_family == AF_UNIX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"metrics=\" of \"trtc_check\" needs an "
                               "address for the unix peer %V", &peer->name);
            return NGX_ERROR;
        }

        a = &t->addr;
    }

    t->metrics_addr.socklen = a->socklen;
    t->metrics_addr.sockaddr = ngx_pcalloc(cf->pool, a->socklen);
    if (t->metrics_addr.sockaddr == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(t->metrics_addr.sockaddr, a->sockaddr, a->socklen);
    ngx_inet_set_port(t->metrics_addr.sockaddr, ccf->metrics_port);

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    t->metrics_addr.name.data = p;
    t->metrics_addr.name.len = ngx_sock_ntop(t->metrics_addr.sockaddr,
                                             t->metrics_addr.socklen, p,
                                             NGX_SOCKADDR_STRLEN, 1);

    /* HTTP/1.0: turnd (or anyone) answers with a plain body and closes */

    len = sizeof("GET  HTTP/1.0\r\nHost: \r\nUser-Agent: ngx_trtc_check\r\n"
                 "Accept: text/plain\r\n\r\n")
          + ccf->metrics_uri.len + t->metrics_addr.name.len;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    t->metrics_request.data = p;

    p = ngx_sprintf(p, "GET %V HTTP/1.0\r\nHost: %V\r\n"
                    "User-Agent: ngx_trtc_check\r\nAccept: text/plain\r\n\r\n",
                    &ccf->metrics_uri, &t->metrics_addr.name);

    t->metrics_request.len = p - t->metrics_request.data;

    return NGX_OK;
}


void
ngx_http_trtc_check_scrape(ngx_http_trtc_check_target_t *t)
{
    ngx_http_trtc_client_t  *cl;

    if (t->metrics_buf == NULL) {
        /* the one buffer of this peer in this process, for good */
        t->metrics_buf = ngx_palloc(ngx_cycle->pool,
                                    NGX_HTTP_TRTC_CHECK_METRICS_MAX);
        if (t->metrics_buf == NULL) {
            ngx_http_trtc_check_scrape_record(t, NULL, "out of memory");
            return;
        }
    }

    cl = &t->scrape;

    cl->sockaddr = t->metrics_addr.sockaddr;
    cl->socklen = t->metrics_addr.socklen;
    cl->name = &t->metrics_addr.name;
    cl->ssl = NULL;
    cl->request = t->metrics_request;
    cl->timeout = t->conf->timeout;
    cl->log = ngx_cycle->log;
    cl->handler = ngx_http_trtc_check_scrape_done;
    cl->data = t;
    cl->log_error = NGX_ERROR_INFO;
    cl->buf = t->metrics_buf;
    cl->buf_size = NGX_HTTP_TRTC_CHECK_METRICS_MAX;

    ngx_http_trtc_client_start(cl);
}


static void
ngx_http_trtc_check_scrape_done(ngx_http_trtc_client_t *cl)
{
    uint64_t                       v[NGX_HTTP_TRTC_CHECK_M_N];
    const char                    *error;
    ngx_http_trtc_check_target_t  *t;

    t = cl->data;
    error = NULL;

    if (!cl->ok) {
        error = cl->error;

    } else if (cl->status != 200) {
        error = "metrics answer not 200";

    } else if (ngx_http_trtc_check_metrics_parse(cl->body.data,
                                                 cl->body.data + cl->body.len,
                                                 v)
               != NGX_OK)
    {
        error = "malformed metrics";
    }

    if (error) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "trtc check: metrics of peer %V from %V: %s",
                      &t->name, &t->metrics_addr.name, error);
    }

    ngx_http_trtc_check_scrape_record(t, error ? NULL : v, error);
}


static void
ngx_http_trtc_check_scrape_record(ngx_http_trtc_check_target_t *t,
    uint64_t *v, const char *error)
{
    time_t                               now;
    uint32_t                             minute;
    uint64_t                             to, from;
    ngx_http_trtc_check_peer_t          *rec;
    ngx_http_trtc_check_turnd_t         *m;
    ngx_http_trtc_check_turnd_minute_t  *h;

    now = ngx_time();

    ngx_shmtx_lock(&t->conf->shpool->mutex);

    rec = ngx_http_trtc_check_record(t);

    if (rec == NULL) {
        ngx_shmtx_unlock(&t->conf->shpool->mutex);
        return;
    }

    m = &rec->turnd;

    m->scrapes++;
    m->last = now;

    ngx_memzero(m->last_error, NGX_HTTP_TRTC_CHECK_ERR_LEN);

    if (error) {
        m->failures++;
        m->last_ok = 0;
        ngx_cpystrn(m->last_error, (u_char *) error,
                    NGX_HTTP_TRTC_CHECK_ERR_LEN);
        ngx_shmtx_unlock(&t->conf->shpool->mutex);
        return;
    }

    /* counters since the last scrape; lower ones: turnd restarted */

    to = 0;
    from = 0;

    if (m->counted) {
        to = v[NGX_HTTP_TRTC_CHECK_M_BYTES_TO];
        if (to >= m->bytes_to_peer) {
            to -= m->bytes_to_peer;
        }

        from = v[NGX_HTTP_TRTC_CHECK_M_BYTES_FROM];
        if (from >= m->bytes_from_peer) {
            from -= m->bytes_from_peer;
        }
    }

    minute = (uint32_t) (now / 60);
    h = &m->history[minute % NGX_HTTP_TRTC_CHECK_HISTORY];

    if (h->minute != minute) {
        ngx_memzero(h, sizeof(ngx_http_trtc_check_turnd_minute_t));
        h->minute = minute;
    }

    h->allocations = (uint32_t) ngx_max(h->allocations,
                                        ngx_min(v[NGX_HTTP_TRTC_CHECK_M_ALLOC],
                                                0xffffffff));
    h->to_peer += to;
    h->from_peer += from;

    m->last_ok = 1;
    m->counted = 1;
    m->allocations = v[NGX_HTTP_TRTC_CHECK_M_ALLOC];
    m->packets_to_peer = v[NGX_HTTP_TRTC_CHECK_M_PKT_TO];
    m->packets_from_peer = v[NGX_HTTP_TRTC_CHECK_M_PKT_FROM];
    m->bytes_to_peer = v[NGX_HTTP_TRTC_CHECK_M_BYTES_TO];
    m->bytes_from_peer = v[NGX_HTTP_TRTC_CHECK_M_BYTES_FROM];

    ngx_shmtx_unlock(&t->conf->shpool->mutex);
}


/*
 * The samples it needs out of the text format, every length checked:
 * turnd_allocations (summed over its transports) and each direction of
 * turnd_relayed_packets_total and turnd_relayed_bytes_total, once each.
 * Other samples are skipped, but a line that is not a comment or a
 * sample, a missing or repeated series, or a value that is no unsigned
 * integer makes the whole body malformed.
 */

ngx_int_t
ngx_http_trtc_check_metrics_parse(u_char *p, u_char *last, uint64_t *v)
{
    u_char      *eol, *name, *q, *labels, *rb;
    size_t       len, llen;
    uint64_t     n;
    ngx_uint_t   i, k, found;

    static ngx_str_t  series[] = {
        ngx_string("turnd_relayed_packets_total{direction=\"to_peer\"}"),
        ngx_string("turnd_relayed_packets_total{direction=\"from_peer\"}"),
        ngx_string("turnd_relayed_bytes_total{direction=\"to_peer\"}"),
        ngx_string("turnd_relayed_bytes_total{direction=\"from_peer\"}")
    };

    ngx_memzero(v, NGX_HTTP_TRTC_CHECK_M_N * sizeof(uint64_t));
    found = 0;

    for ( /* void */ ; p < last; p = eol + 1) {
        eol = ngx_strlchr(p, last, LF);
        if (eol == NULL) {
            eol = last;
        }

        q = eol;

        if (q > p && q[-1] == CR) {
            q--;
        }

        if (q == p || *p == '#') {
            continue;
        }

        /* a metric name, labels in braces, a space, the value */

        name = p;

        while (p < q && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                         || (*p >= '0' && *p <= '9') || *p == '_'
                         || *p == ':'))
        {
            p++;
        }

        if (p == name) {
            return NGX_ERROR;
        }

        labels = p;

        if (p < q && *p == '{') {
            rb = ngx_strlchr(p, q, '}');
            if (rb == NULL) {
                return NGX_ERROR;
            }

            p = rb + 1;
        }

        if (p == q || *p != ' ') {
            return NGX_ERROR;
        }

        len = labels - name;
        llen = p - name;
        p++;

        if (len == sizeof("turnd_allocations") - 1
            && ngx_strncmp(name, "turnd_allocations", len) == 0)
        {
            if (ngx_http_trtc_check_metrics_value(p, q, &n) != NGX_OK
                || n > (uint64_t) -1 - v[NGX_HTTP_TRTC_CHECK_M_ALLOC])
            {
                return NGX_ERROR;
            }

            v[NGX_HTTP_TRTC_CHECK_M_ALLOC] += n;
            found |= 1;
            continue;
        }

        for (i = 0; i < sizeof(series) / sizeof(ngx_str_t); i++) {
            if (llen == series[i].len
                && ngx_strncmp(name, series[i].data, llen) == 0)
            {
                break;
            }
        }

        if (i == sizeof(series) / sizeof(ngx_str_t)) {
            continue;
        }

        k = (ngx_uint_t) 2 << i;

        if ((found & k)
            || ngx_http_trtc_check_metrics_value(p, q, &v[i + 1]) != NGX_OK)
        {
            return NGX_ERROR;
        }

        found |= k;
    }

    return (found == 0x1f) ? NGX_OK : NGX_ERROR;
}


/* digits, and maybe ".0" or a timestamp after a space: turnd's counters */

static ngx_int_t
ngx_http_trtc_check_metrics_value(u_char *p, u_char *last, uint64_t *v)
{
    u_char    *start;
    uint64_t   n, d;

    n = 0;
    start = p;

    while (p < last && *p >= '0' && *p <= '9') {
        d = *p++ - '0';

        if (n > ((uint64_t) -1 - d) / 10) {
            return NGX_ERROR;
        }

        n = n * 10 + d;
    }

    if (p == start) {
        return NGX_ERROR;
    }

    if (p < last && *p == '.') {
        for (p++; p < last && *p == '0'; p++) { /* void */ }
    }

    if (p < last && *p != ' ') {
        return NGX_ERROR;
    }

    *v = n;

    return NGX_OK;
}
