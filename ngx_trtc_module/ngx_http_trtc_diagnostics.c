
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_trtc_module.h"
#include "ngx_http_trtc_diagnostics.h"

/* made from ngx_http_trtc_diagnostics.html by "config" at configure time */
#include "ngx_http_trtc_diagnostics_page.h"


/*
 * trtc_diagnostics [proxy=URI] [report=on|off] [reports=N];
 *
 * GET: the page (ngx_http_trtc_diagnostics.html), with a JSON block of
 * what the module knows (the proxy object's location, this server's name
 * and port, every configured TURN server and whether it is handed out),
 * under a Content-Security-Policy that allows its one script and one
 * style by their SHA-256 and nothing else.  "?show=last|SEQ" embeds a
 * stored report instead of running the tests.
 *
 * POST (report=on): the page's result.  Length, type and origin are
 * checked before the body is read; the body must be one JSON object of
 * bounded depth, strings and members, with "verdict" "done" or
 * "blocked".  The last N reports live in one shared zone, a ring, with
 * the time, client address and User-Agent; it survives reloads.
 */


#define NGX_HTTP_TRTC_DIAG_BODY_MAX      4096
#define NGX_HTTP_TRTC_DIAG_UA_MAX        200
#define NGX_HTTP_TRTC_DIAG_ADDR_MAX      64
#define NGX_HTTP_TRTC_DIAG_REPORTS       32
#define NGX_HTTP_TRTC_DIAG_REPORTS_MAX   1024

#define NGX_HTTP_TRTC_DIAG_DONE          0
#define NGX_HTTP_TRTC_DIAG_BLOCKED       1


typedef struct {
    time_t                       time;
    ngx_uint_t                   seq;
    ngx_uint_t                   verdict;
    size_t                       addr_len;
    size_t                       ua_len;
    size_t                       json_len;
    u_char                       addr[NGX_HTTP_TRTC_DIAG_ADDR_MAX];
    u_char                       ua[NGX_HTTP_TRTC_DIAG_UA_MAX];
    u_char                       json[NGX_HTTP_TRTC_DIAG_BODY_MAX];
} ngx_http_trtc_diag_report_t;


typedef struct {
    ngx_uint_t                   capacity;
    ngx_uint_t                   stored;       /* ever: the next seq */
    ngx_atomic_t                 verdicts[2];
    ngx_atomic_t                 refused;
    ngx_http_trtc_diag_report_t  reports[1];
} ngx_http_trtc_diag_shm_t;


typedef struct {
    ngx_str_t                    proxy;        /* proxy= */
    ngx_flag_t                   report;
    ngx_uint_t                   reports;
    ngx_http_trtc_issuer_t      *issuer;
    ngx_str_t                    location;
    u_char                      *file;
    ngx_uint_t                   line;
} ngx_http_trtc_diag_loc_conf_t;


typedef struct {
    ngx_array_t                  locs;   /* ngx_http_trtc_diag_loc_conf_t * */
    ngx_uint_t                   reports;
    ngx_shm_zone_t              *zone;
    ngx_slab_pool_t             *shpool;
    ngx_http_trtc_diag_shm_t    *sh;
    ngx_str_t                    view;   /* a location keeping reports */
} ngx_http_trtc_diag_main_conf_t;


static ngx_int_t ngx_http_trtc_diag_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_diag_page(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf);
static ngx_int_t ngx_http_trtc_diag_config(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf, ngx_str_t *out);
static u_char *ngx_http_trtc_diag_turn(u_char *p, u_char *end,
    ngx_http_trtc_issuer_t *issuer);
static ngx_int_t ngx_http_trtc_diag_show(ngx_http_request_t *r,
    ngx_str_t *json);
static ngx_int_t ngx_http_trtc_diag_csp(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_diag_post(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf);
static void ngx_http_trtc_diag_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_diag_store(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_trtc_diag_refuse(ngx_http_request_t *r,
    const char *why);
static ngx_int_t ngx_http_trtc_diag_origin(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_diag_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
static ngx_http_trtc_diag_shm_t *ngx_http_trtc_diag_shm(
    ngx_http_request_t *r, ngx_slab_pool_t **shpool);
static ngx_int_t ngx_http_trtc_diag_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_trtc_diag_hashes(ngx_conf_t *cf);
static ngx_int_t ngx_http_trtc_diag_hash(ngx_conf_t *cf, const char *open,
    const char *close, ngx_str_t *hash);
static char *ngx_http_trtc_diagnostics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_trtc_diag_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_trtc_diag_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_trtc_diag_create_loc_conf(ngx_conf_t *cf);


static ngx_command_t  ngx_http_trtc_diag_commands[] = {

    { ngx_string("trtc_diagnostics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_trtc_diagnostics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_diag_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_trtc_diag_postconfiguration,  /* postconfiguration */

    ngx_http_trtc_diag_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_trtc_diag_create_loc_conf,    /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_trtc_diagnostics_module = {
    NGX_MODULE_V1,
    &ngx_http_trtc_diag_module_ctx,        /* module context */
    ngx_http_trtc_diag_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_trtc_diag_zone_name =
    ngx_string("trtc_diagnostics");

static ngx_str_t  ngx_http_trtc_diag_page_text = {
    sizeof(ngx_http_trtc_diagnostics_page) - 1,
    (u_char *) ngx_http_trtc_diagnostics_page
};

#define NGX_HTTP_TRTC_DIAG_MARK  "@@CONFIG@@"

/* the page around its configuration block, and its CSP hashes */
static ngx_str_t  ngx_http_trtc_diag_head;
static ngx_str_t  ngx_http_trtc_diag_tail;
static ngx_str_t  ngx_http_trtc_diag_script_hash;
static ngx_str_t  ngx_http_trtc_diag_style_hash;


static ngx_int_t
ngx_http_trtc_diag_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_table_elt_t                *h;
    ngx_http_trtc_diag_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_trtc_diagnostics_module);

    if (r->method == NGX_HTTP_POST && dlcf->report) {
        return ngx_http_trtc_diag_post(r, dlcf);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");

        if (dlcf->report) {
            ngx_str_set(&h->value, "GET, HEAD, POST");

        } else {
            ngx_str_set(&h->value, "GET, HEAD");
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_trtc_diag_page(r, dlcf);
}


static ngx_int_t
ngx_http_trtc_diag_page(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf)
{
    ngx_int_t     rc;
    ngx_str_t     config;
    ngx_buf_t    *b[3];
    ngx_uint_t    i;
    ngx_chain_t   out[3];

    rc = ngx_http_trtc_diag_config(r, dlcf, &config);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_trtc_diag_csp(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;
    r->headers_out.content_type_lowcase = NULL;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = ngx_http_trtc_diag_head.len
                                      + config.len
                                      + ngx_http_trtc_diag_tail.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (i = 0; i < 3; i++) {
        b[i] = ngx_calloc_buf(r->pool);
        if (b[i] == NULL) {
            return NGX_ERROR;
        }

        b[i]->memory = 1;
        out[i].buf = b[i];
        out[i].next = (i < 2) ? &out[i + 1] : NULL;
    }

    b[0]->pos = ngx_http_trtc_diag_head.data;
    b[0]->last = b[0]->pos + ngx_http_trtc_diag_head.len;
    b[1]->pos = config.data;
    b[1]->last = config.data + config.len;
    b[2]->pos = ngx_http_trtc_diag_tail.data;
    b[2]->last = b[2]->pos + ngx_http_trtc_diag_tail.len;

    b[2]->last_buf = (r == r->main) ? 1 : 0;
    b[2]->last_in_chain = 1;

    return ngx_http_output_filter(r, &out[0]);
}


/*
 * {"proxy":"/trtc/proxy","host":"proxy.example.com",
 *  "websocketProxy":"wss://...","loggerProxy":"https://...","port":443,
 *  "report":true,"turn":[{"addr":"14.3.3.3:3478","transport":"udp tcp",
 *  "usable":true}],
 *  "show":null}, with "<", ">" and "&" written as \u escapes: it sits in
 * a <script> element.
 */

static ngx_int_t
ngx_http_trtc_diag_config(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf, ngx_str_t *out)
{
    u_char                    *p, *q, *end, *start, c;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  host, show, ws, logger;
    in_port_t                  port;
    ngx_http_core_srv_conf_t  *cscf;

    ngx_str_null(&show);

    rc = ngx_http_trtc_diag_show(r, &show);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the name the firewall must allow: the server's own, if it has one */

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    host = cscf->server_name;

    if (host.len == 0 || host.data[0] == '*' || host.data[0] == '.'
        || host.data[0] == '~' || host.data[host.len - 1] == '*')
    {
        host = r->headers_in.server;
    }

    /*
     * the port the user dialled: behind nginx's stream module on 443
     * (README, "Deploying: one port 443") the PROXY header's, not ours
     */

    if (r->connection->proxy_protocol
        && r->connection->proxy_protocol->dst_port)
    {
        port = r->connection->proxy_protocol->dst_port;

    } else {
        if (ngx_connection_local_sockaddr(r->connection, NULL, 0) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        port = ngx_inet_get_port(r->connection->local_sockaddr);
    }

    /* what the proxy object says, also when it cannot be had (503) */

    if (ngx_http_trtc_issue_proxy_urls(r, dlcf->issuer, &ws, &logger)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 256 + ngx_http_trtc_json_str_size(dlcf->proxy.len)
          + ngx_http_trtc_json_str_size(host.len)
          + ngx_http_trtc_json_str_size(ws.len)
          + ngx_http_trtc_json_str_size(logger.len) + show.len
          + 64 * 1024;                          /* the TURN servers */

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = p + len;
    out->data = p;

    p = ngx_cpymem(p, "{\"proxy\":", sizeof("{\"proxy\":") - 1);
    p = ngx_http_trtc_json_str(p, &dlcf->proxy);
    p = ngx_cpymem(p, ",\"host\":", sizeof(",\"host\":") - 1);
    p = ngx_http_trtc_json_str(p, &host);
    p = ngx_cpymem(p, ",\"websocketProxy\":",
                   sizeof(",\"websocketProxy\":") - 1);
    p = ngx_http_trtc_json_str(p, &ws);
    p = ngx_cpymem(p, ",\"loggerProxy\":",
                   sizeof(",\"loggerProxy\":") - 1);
    p = ngx_http_trtc_json_str(p, &logger);
    p = ngx_sprintf(p, ",\"port\":%ui,\"report\":%s,\"turn\":[",
                    (ngx_uint_t) port, dlcf->report ? "true" : "false");

    p = ngx_http_trtc_diag_turn(p, end - 128 - show.len, dlcf->issuer);

    p = ngx_cpymem(p, "],\"show\":", sizeof("],\"show\":") - 1);

    if (show.len) {
        p = ngx_cpymem(p, show.data, show.len);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    *p++ = '}';

    /*
     * In valid JSON these can only be inside strings, where \u escapes
     * mean the same: 6 bytes for 1, into a new buffer when there are any.
     */

    len = p - out->data;

    for (q = out->data; q < p; q++) {
        if (*q == '<' || *q == '>' || *q == '&') {
            len += 5;
        }
    }

    if (len != (size_t) (p - out->data)) {
        start = ngx_pnalloc(r->pool, len);
        if (start == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (q = start, end = out->data; end < p; end++) {
            c = *end;

            if (c == '<' || c == '>' || c == '&') {
                q = ngx_sprintf(q, "\\u%04xd", (ngx_uint_t) c);

            } else {
                *q++ = c;
            }
        }

        out->data = start;
        p = q;
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* by NGX_HTTP_TRTC_TURN_*: which of a server's paths the page tests */
static char  *ngx_http_trtc_diag_transport[] = {
    "udp", "tcp", "tls", "udp tcp"
};


/*
 * every configured TURN server with the transports it is configured for,
 * and whether /trtc/proxy hands it out
 */

static u_char *
ngx_http_trtc_diag_turn(u_char *p, u_char *end, ngx_http_trtc_issuer_t *issuer)
{
    u_char                        *start;
    ngx_uint_t                     i, usable;
    ngx_http_trtc_turn_t          *turn;
    ngx_http_upstream_rr_peer_t   *peer;
    ngx_http_upstream_rr_peers_t  *peers, *set;
    ngx_http_upstream_srv_conf_t  *us;

    start = p;
    turn = issuer->turn.elts;

    for (i = 0; i < issuer->turn.nelts; i++) {

        us = turn[i].upstream;

        if (us == NULL) {
            if ((size_t) (end - p)
                < 64 + ngx_http_trtc_json_str_size(turn[i].addr.len))
            {
                break;
            }

            p = ngx_cpymem(p, p == start ? "{\"addr\":" : ",{\"addr\":",
                           p == start ? 8 : 9);
            p = ngx_http_trtc_json_str(p, &turn[i].addr);
            p = ngx_sprintf(p, ",\"transport\":\"%s\",\"usable\":true}",
                            ngx_http_trtc_diag_transport[turn[i].transport]);
            continue;
        }

        peers = us->peer.data;
        if (peers == NULL) {
            continue;
        }

        ngx_http_upstream_rr_peers_rlock(peers);

        for (set = peers; set; set = set->next) {
            for (peer = set->peer; peer; peer = peer->next) {

                if ((size_t) (end - p)
                    < 64 + ngx_http_trtc_json_str_size(peer->name.len))
                {
                    break;
                }

                usable = ngx_http_trtc_turn_peer_usable(us, peer);

                p = ngx_cpymem(p, p == start ? "{\"addr\":" : ",{\"addr\":",
                               p == start ? 8 : 9);
                p = ngx_http_trtc_json_str(p, &peer->name);
                p = ngx_sprintf(p, ",\"transport\":\"%s\",\"usable\":%s}",
                           ngx_http_trtc_diag_transport[turn[i].transport],
                           usable ? "true" : "false");
            }
        }

        ngx_http_upstream_rr_peers_unlock(peers);
    }

    return p;
}


/* "?show=last" or "?show=SEQ": that stored report's JSON, copied */

static ngx_int_t
ngx_http_trtc_diag_show(ngx_http_request_t *r, ngx_str_t *json)
{
    ngx_int_t                     seq;
    ngx_str_t                     arg;
    ngx_slab_pool_t              *shpool;
    ngx_http_trtc_diag_shm_t     *sh;
    ngx_http_trtc_diag_report_t  *rep;

    if (ngx_http_arg(r, (u_char *) "show", 4, &arg) != NGX_OK) {
        return NGX_OK;
    }

    sh = ngx_http_trtc_diag_shm(r, &shpool);
    if (sh == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    json->data = ngx_pnalloc(r->pool, NGX_HTTP_TRTC_DIAG_BODY_MAX);
    if (json->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&shpool->mutex);

    if (arg.len == 4 && ngx_strncmp(arg.data, "last", 4) == 0) {
        seq = sh->stored ? (ngx_int_t) sh->stored - 1 : NGX_ERROR;

    } else {
        seq = ngx_atoi(arg.data, arg.len);
    }

    if (seq == NGX_ERROR || (ngx_uint_t) seq >= sh->stored
        || sh->stored - (ngx_uint_t) seq > sh->capacity)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_HTTP_NOT_FOUND;
    }

    rep = &sh->reports[seq % sh->capacity];

    json->len = rep->json_len;
    ngx_memcpy(json->data, rep->json, rep->json_len);

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/*
 * Only the page's own script and style run (by their SHA-256); it talks
 * to this origin and its WebSocket form only.  WebRTC is not governed by
 * CSP.  A Host that could break out of the header is left out ('self'
 * still covers same-origin WebSockets in current browsers).
 */

static ngx_int_t
ngx_http_trtc_diag_csp(ngx_http_request_t *r)
{
    u_char     *p, c;
    size_t      len;
    ngx_str_t   value, host;
    ngx_uint_t  i, safe;

    ngx_str_null(&host);

    if (r->headers_in.host) {
        host = r->headers_in.host->value;
    }

    safe = (host.len > 0 && host.len <= 255);

    for (i = 0; safe && i < host.len; i++) {
        c = host.data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '-'
              || c == ':' || c == '[' || c == ']'))
        {
            safe = 0;
        }
    }

    len = sizeof("default-src 'none'; script-src ''; style-src ''; "
                 "connect-src 'self' wss://; img-src data:; "
                 "base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'") - 1
          + ngx_http_trtc_diag_script_hash.len
          + ngx_http_trtc_diag_style_hash.len + host.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;

    p = ngx_sprintf(p, "default-src 'none'; script-src '%V'; "
                    "style-src '%V'; connect-src 'self'",
                    &ngx_http_trtc_diag_script_hash,
                    &ngx_http_trtc_diag_style_hash);

    if (safe) {
        p = ngx_sprintf(p, " wss://%V", &host);
    }

    p = ngx_cpymem(p, "; img-src data:; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'",
                   sizeof("; img-src data:; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'")
                   - 1);

    value.len = p - value.data;

    if (ngx_http_trtc_diag_header(r, "Content-Security-Policy", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "no-store");

    if (ngx_http_trtc_diag_header(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "nosniff");

    if (ngx_http_trtc_diag_header(r, "X-Content-Type-Options", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "no-referrer");

    return ngx_http_trtc_diag_header(r, "Referrer-Policy", &value);
}


static ngx_int_t
ngx_http_trtc_diag_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


/* everything that can be checked is checked before the body is read */

static ngx_int_t
ngx_http_trtc_diag_post(ngx_http_request_t *r,
    ngx_http_trtc_diag_loc_conf_t *dlcf)
{
    ngx_int_t   rc;
    ngx_str_t  *type;

    if (r->headers_in.chunked || r->headers_in.content_length_n <= 0) {
        return ngx_http_trtc_diag_refuse(r, "no Content-Length, or none");
    }

    if (r->headers_in.content_length_n > NGX_HTTP_TRTC_DIAG_BODY_MAX) {
        /* not read: the connection closes after the answer */
        r->keepalive = 0;
        r->lingering_close = 0;
        return ngx_http_trtc_diag_refuse(r, "body too large");
    }

    if (r->headers_in.content_type == NULL) {
        return ngx_http_trtc_diag_refuse(r, "no Content-Type");
    }

    type = &r->headers_in.content_type->value;

    if (type->len < sizeof("application/json") - 1
        || ngx_strncasecmp(type->data, (u_char *) "application/json",
                           sizeof("application/json") - 1) != 0)
    {
        return ngx_http_trtc_diag_refuse(r, "not application/json");
    }

    if (ngx_http_trtc_diag_origin(r) != NGX_OK) {
        return ngx_http_trtc_diag_refuse(r, "from another origin");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_trtc_diag_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* a browser's POST says where its page came from: it must be here */

static ngx_int_t
ngx_http_trtc_diag_origin(ngx_http_request_t *r)
{
    u_char           *p;
    ngx_str_t         origin, host;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    ngx_uint_t        i;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;                  /* not a browser */
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "origin", 6) == 0)
        {
            break;
        }
    }

    origin = h[i].value;

    if (r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    host = r->headers_in.host->value;

    p = ngx_strlchr(origin.data, origin.data + origin.len, ':');

    if (p == NULL || origin.data + origin.len - p < 3
        || ngx_strncmp(p, "://", 3) != 0)
    {
        return NGX_DECLINED;
    }

    p += 3;

    if ((size_t) (origin.data + origin.len - p) != host.len
        || ngx_strncasecmp(p, host.data, host.len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_trtc_diag_body(ngx_http_request_t *r)
{
    u_char       *body, *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        ngx_http_finalize_request(r,
            ngx_http_trtc_diag_refuse(r, "no body"));
        return;
    }

    body = ngx_pnalloc(r->pool, NGX_HTTP_TRTC_DIAG_BODY_MAX);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            len = (size_t) (b->file_last - b->file_pos);

            if (len > (size_t) (body + NGX_HTTP_TRTC_DIAG_BODY_MAX - p)) {
                break;
            }

            n = ngx_read_file(b->file, p, len, b->file_pos);
            if (n != (ssize_t) len) {
                ngx_http_finalize_request(r,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            p += n;
            continue;
        }

        len = b->last - b->pos;

        if (len > (size_t) (body + NGX_HTTP_TRTC_DIAG_BODY_MAX - p)) {
            break;
        }

        p = ngx_cpymem(p, b->pos, len);
    }

    if (cl != NULL || p - body != r->headers_in.content_length_n) {
        ngx_http_finalize_request(r,
            ngx_http_trtc_diag_refuse(r, "body of another length"));
        return;
    }

    ngx_http_finalize_request(r, ngx_http_trtc_diag_store(r, body,
                                                          p - body));
}


static ngx_int_t
ngx_http_trtc_diag_store(ngx_http_request_t *r, u_char *body, size_t len)
{
    size_t                        ua_len;
    ngx_int_t                     rc;
    ngx_uint_t                    verdict;
    ngx_slab_pool_t              *shpool;
    ngx_http_trtc_diag_shm_t     *sh;
    ngx_http_trtc_diag_report_t  *rep;
    ngx_http_trtc_json_check_t    jc;

    sh = ngx_http_trtc_diag_shm(r, &shpool);
    if (sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&jc, sizeof(ngx_http_trtc_json_check_t));

    jc.max_depth = 6;
    jc.max_string = 512;
    jc.max_members = 64;
    ngx_str_set(&jc.key, "verdict");

    if (ngx_http_trtc_json_check(body, body + len, &jc) != NGX_OK) {
        return ngx_http_trtc_diag_refuse(r, "not a JSON object within the "
                                         "limits");
    }

    if (jc.value.len == 4 && ngx_strncmp(jc.value.data, "done", 4) == 0) {
        verdict = NGX_HTTP_TRTC_DIAG_DONE;

    } else if (jc.value.len == 7
               && ngx_strncmp(jc.value.data, "blocked", 7) == 0)
    {
        verdict = NGX_HTTP_TRTC_DIAG_BLOCKED;

    } else {
        return ngx_http_trtc_diag_refuse(r, "no \"verdict\" of \"done\" or "
                                         "\"blocked\"");
    }

    ua_len = 0;

    if (r->headers_in.user_agent) {
        ua_len = ngx_min(r->headers_in.user_agent->value.len,
                         NGX_HTTP_TRTC_DIAG_UA_MAX);
    }

    ngx_shmtx_lock(&shpool->mutex);

    rep = &sh->reports[sh->stored % sh->capacity];

    rep->seq = sh->stored++;
    rep->time = ngx_time();
    rep->verdict = verdict;
    rep->addr_len = ngx_min(r->connection->addr_text.len,
                            NGX_HTTP_TRTC_DIAG_ADDR_MAX);
    ngx_memcpy(rep->addr, r->connection->addr_text.data, rep->addr_len);
    rep->ua_len = ua_len;

    if (ua_len) {
        ngx_memcpy(rep->ua, r->headers_in.user_agent->value.data, ua_len);
    }

    rep->json_len = len;
    ngx_memcpy(rep->json, body, len);

    sh->verdicts[verdict]++;

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "trtc diagnostics: report %s stored",
                  verdict == NGX_HTTP_TRTC_DIAG_DONE ? "done" : "blocked");

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


static ngx_int_t
ngx_http_trtc_diag_refuse(ngx_http_request_t *r, const char *why)
{
    ngx_http_trtc_diag_shm_t  *sh;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "trtc diagnostics: report refused: %s", why);

    sh = ngx_http_trtc_diag_shm(r, NULL);

    if (sh) {
        (void) ngx_atomic_fetch_add(&sh->refused, 1);
    }

    return NGX_HTTP_BAD_REQUEST;
}


static ngx_http_trtc_diag_shm_t *
ngx_http_trtc_diag_shm(ngx_http_request_t *r, ngx_slab_pool_t **shpool)
{
    ngx_http_trtc_diag_main_conf_t  *dmcf;

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_diagnostics_module);

    if (dmcf == NULL || dmcf->sh == NULL) {
        return NULL;
    }

    if (shpool) {
        *shpool = dmcf->shpool;
    }

    return dmcf->sh;
}


static ngx_int_t
ngx_http_trtc_diag_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_trtc_diag_main_conf_t  *odmcf = data;

    ngx_slab_pool_t                 *shpool;
    ngx_http_trtc_diag_main_conf_t  *dmcf;

    dmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    dmcf->shpool = shpool;

    /* a reload of the same size keeps the zone, and its reports */

    if (odmcf) {
        dmcf->sh = odmcf->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        dmcf->sh = shpool->data;
        return NGX_OK;
    }

    dmcf->sh = ngx_slab_calloc(shpool,
                               offsetof(ngx_http_trtc_diag_shm_t, reports)
                               + dmcf->reports
                                 * sizeof(ngx_http_trtc_diag_report_t));
    if (dmcf->sh == NULL) {
        return NGX_ERROR;
    }

    dmcf->sh->capacity = dmcf->reports;
    shpool->data = dmcf->sh;

    return NGX_OK;
}


/* the page's only script and style, allowed by their SHA-256 */

static ngx_int_t
ngx_http_trtc_diag_hashes(ngx_conf_t *cf)
{
    u_char  *p;

    if (ngx_http_trtc_diag_head.len) {
        return NGX_OK;                          /* the page is static */
    }

    p = ngx_strnstr(ngx_http_trtc_diag_page_text.data,
                    NGX_HTTP_TRTC_DIAG_MARK,
                    ngx_http_trtc_diag_page_text.len);
    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trtc_diagnostics: the page has no "
                           NGX_HTTP_TRTC_DIAG_MARK);
        return NGX_ERROR;
    }

    if (ngx_http_trtc_diag_hash(cf, "<script>", "</script>",
                                &ngx_http_trtc_diag_script_hash)
        != NGX_OK
        || ngx_http_trtc_diag_hash(cf, "<style>", "</style>",
                                   &ngx_http_trtc_diag_style_hash)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_trtc_diag_head.data = ngx_http_trtc_diag_page_text.data;
    ngx_http_trtc_diag_head.len = p - ngx_http_trtc_diag_page_text.data;

    p += sizeof(NGX_HTTP_TRTC_DIAG_MARK) - 1;

    ngx_http_trtc_diag_tail.data = p;
    ngx_http_trtc_diag_tail.len = ngx_http_trtc_diag_page_text.data
                                  + ngx_http_trtc_diag_page_text.len - p;

    return NGX_OK;
}


/* hash = "sha256-BASE64" of what is between open and close */

static ngx_int_t
ngx_http_trtc_diag_hash(ngx_conf_t *cf, const char *open, const char *close,
    ngx_str_t *hash)
{
    u_char        *p, *q, *last, md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen;
    ngx_str_t      src, dst;

    last = ngx_http_trtc_diag_page_text.data
           + ngx_http_trtc_diag_page_text.len;

    p = ngx_strnstr(ngx_http_trtc_diag_page_text.data, (char *) open,
                    ngx_http_trtc_diag_page_text.len);
    if (p == NULL) {
        goto failed;
    }

    p += ngx_strlen(open);

    q = ngx_strnstr(p, (char *) close, last - p);
    if (q == NULL) {
        goto failed;
    }

    if (EVP_Digest(p, q - p, md, &mdlen, EVP_sha256(), NULL) != 1) {
        goto failed;
    }

    src.data = md;
    src.len = mdlen;

    dst.data = ngx_pnalloc(cf->cycle->pool,
                           sizeof("sha256-") - 1
                           + ngx_base64_encoded_length(mdlen));
    if (dst.data == NULL) {
        return NGX_ERROR;
    }

    hash->data = dst.data;
    dst.data = ngx_cpymem(dst.data, "sha256-", sizeof("sha256-") - 1);

    ngx_encode_base64(&dst, &src);

    hash->len = sizeof("sha256-") - 1 + dst.len;

    return NGX_OK;

failed:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "trtc_diagnostics: cannot hash the page's %s", open);

    return NGX_ERROR;
}


static char *
ngx_http_trtc_diagnostics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_diag_loc_conf_t *dlcf = conf;

    ngx_int_t                         n;
    ngx_str_t                        *value;
    ngx_uint_t                        i, reports;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_trtc_diag_loc_conf_t   **dlcfp;
    ngx_http_trtc_diag_main_conf_t   *dmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (dlcf->file != NULL || clcf->handler != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    reports = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "proxy=", 6) == 0) {
            dlcf->proxy.data = value[i].data + 6;
            dlcf->proxy.len = value[i].len - 6;

            if (dlcf->proxy.len == 0 || dlcf->proxy.data[0] != '/') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"proxy=\" takes the URI of a "
                                   "\"trtc_proxy_config\" location on "
                                   "this server, such as /trtc/proxy, "
                                   "not \"%V\"", &dlcf->proxy);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "report=on") == 0) {
            dlcf->report = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "report=off") == 0) {
            dlcf->report = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "reports=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);

            if (n == NGX_ERROR || n < 1 || n > NGX_HTTP_TRTC_DIAG_REPORTS_MAX)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": the number of reports kept "
                                   "must be 1 to %d", &value[i],
                                   NGX_HTTP_TRTC_DIAG_REPORTS_MAX);
                return NGX_CONF_ERROR;
            }

            reports = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (reports && !dlcf->report) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"reports=\" needs \"report=on\"");
        return NGX_CONF_ERROR;
    }

    dlcf->reports = reports ? reports : NGX_HTTP_TRTC_DIAG_REPORTS;
    dlcf->location = clcf->name;
    dlcf->file = cf->conf_file->file.name.data;
    dlcf->line = cf->conf_file->line;

    if (ngx_http_trtc_diag_hashes(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    dmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_trtc_diagnostics_module);

    dlcfp = ngx_array_push(&dmcf->locs);
    if (dlcfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *dlcfp = dlcf;

    clcf->handler = ngx_http_trtc_diag_handler;

    return NGX_CONF_OK;
}


/*
 * Every page names the trtc_proxy_config location it tests (proxy=, or
 * the only one there is), so that its TURN servers are known; one zone
 * holds the reports, as many as the location that asks for most.
 */

static ngx_int_t
ngx_http_trtc_diag_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                        i, j, found;
    ngx_http_trtc_issuer_t          **issuers;
    ngx_http_trtc_main_conf_t        *tmcf;
    ngx_http_trtc_diag_loc_conf_t   **locs, *dlcf;
    ngx_http_trtc_diag_main_conf_t   *dmcf;

    dmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_trtc_diagnostics_module);
    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_module);

    locs = dmcf->locs.elts;
    issuers = tmcf->issuers.elts;

    for (i = 0; i < dmcf->locs.nelts; i++) {
        dlcf = locs[i];
        found = 0;

        for (j = 0; j < tmcf->issuers.nelts; j++) {

            if (issuers[j]->type != NGX_HTTP_TRTC_PROXY) {
                continue;
            }

            if (dlcf->proxy.len == 0
                || (issuers[j]->location.len == dlcf->proxy.len
                    && ngx_strncmp(issuers[j]->location.data,
                                   dlcf->proxy.data, dlcf->proxy.len)
                       == 0))
            {
                found++;
                dlcf->issuer = issuers[j];
            }
        }

        if (found == 1 && dlcf->proxy.len == 0) {
            dlcf->proxy = dlcf->issuer->location;
        }

        if (found == 0 && dlcf->proxy.len) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"trtc_diagnostics\": no \"trtc_proxy_config\" "
                          "location \"%V\" in %s:%ui",
                          &dlcf->proxy, dlcf->file, dlcf->line);
            return NGX_ERROR;
        }

        if (found == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"trtc_diagnostics\" needs a location with "
                          "\"trtc_proxy_config\" to test in %s:%ui",
                          dlcf->file, dlcf->line);
            return NGX_ERROR;
        }

        if (found > 1) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"trtc_diagnostics\": %ui locations have "
                          "\"trtc_proxy_config\"; say which with "
                          "\"proxy=\" in %s:%ui",
                          found, dlcf->file, dlcf->line);
            return NGX_ERROR;
        }

        if (dlcf->report) {
            dmcf->reports = ngx_max(dmcf->reports, dlcf->reports);

            if (dmcf->view.len == 0) {
                dmcf->view = dlcf->location;
            }
        }
    }

    if (dmcf->reports == 0) {
        return NGX_OK;
    }

    dmcf->zone = ngx_shared_memory_add(cf, &ngx_http_trtc_diag_zone_name,
                     ngx_align(offsetof(ngx_http_trtc_diag_shm_t, reports)
                               + dmcf->reports
                                 * sizeof(ngx_http_trtc_diag_report_t),
                               ngx_pagesize)
                     + 8 * ngx_pagesize,
                     &ngx_http_trtc_diagnostics_module);
    if (dmcf->zone == NULL) {
        return NGX_ERROR;
    }

    dmcf->zone->init = ngx_http_trtc_diag_init_zone;
    dmcf->zone->data = dmcf;

    return NGX_OK;
}


static void *
ngx_http_trtc_diag_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_diag_main_conf_t  *dmcf;

    dmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_diag_main_conf_t));
    if (dmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&dmcf->locs, cf->pool, 2,
                       sizeof(ngx_http_trtc_diag_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return dmcf;
}


static void *
ngx_http_trtc_diag_create_loc_conf(ngx_conf_t *cf)
{
    /* a content handler's settings: its location's own, never merged */

    return ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_diag_loc_conf_t));
}


size_t
ngx_http_trtc_diagnostics_status_size(ngx_http_request_t *r,
    ngx_uint_t format)
{
    ngx_http_trtc_diag_shm_t        *sh;
    ngx_http_trtc_diag_main_conf_t  *dmcf;

    sh = ngx_http_trtc_diag_shm(r, NULL);
    if (sh == NULL) {
        return 0;
    }

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_diagnostics_module);

    /* every report: its JSON, its address and agent escaped, the frame */

    if (format == NGX_HTTP_TRTC_DIAG_PROMETHEUS) {
        return 2048;
    }

    return 2048 + sh->capacity
                  * (NGX_HTTP_TRTC_DIAG_BODY_MAX
                     + 6 * (NGX_HTTP_TRTC_DIAG_UA_MAX
                            + NGX_HTTP_TRTC_DIAG_ADDR_MAX)
                     + 6 * dmcf->view.len + 512);
}


u_char *
ngx_http_trtc_diagnostics_status(ngx_http_request_t *r, u_char *p,
    ngx_uint_t format)
{
    ngx_str_t                        s;
    ngx_uint_t                       seq, first;
    ngx_slab_pool_t                 *shpool;
    ngx_http_trtc_diag_shm_t        *sh;
    ngx_http_trtc_diag_report_t     *rep;
    ngx_http_trtc_diag_main_conf_t  *dmcf;
    static const char               *verdicts[] = { "done", "blocked" };

    sh = ngx_http_trtc_diag_shm(r, &shpool);
    if (sh == NULL) {
        return p;
    }

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_diagnostics_module);

    ngx_shmtx_lock(&shpool->mutex);

    first = (sh->stored > sh->capacity) ? sh->stored - sh->capacity : 0;

    switch (format) {

    case NGX_HTTP_TRTC_DIAG_PROMETHEUS:
        p = ngx_sprintf(p,
            "# HELP trtc_diagnostics_reports_total Results reported by "
            "the diagnostics page, by verdict\n"
            "# TYPE trtc_diagnostics_reports_total counter\n"
            "trtc_diagnostics_reports_total{verdict=\"done\"} %uA\n"
            "trtc_diagnostics_reports_total{verdict=\"blocked\"} %uA\n"
            "# HELP trtc_diagnostics_reports_refused_total Report bodies "
            "refused (400)\n"
            "# TYPE trtc_diagnostics_reports_refused_total counter\n"
            "trtc_diagnostics_reports_refused_total %uA\n",
            sh->verdicts[0], sh->verdicts[1], sh->refused);
        break;

    case NGX_HTTP_TRTC_DIAG_HTML:
        p = ngx_sprintf(p, "<h2>Diagnostics reports</h2>\n<p>done: %uA, "
                        "blocked: %uA, refused: %uA; the last %ui kept, "
                        "newest first.</p>\n<table><tr><th>time</th>"
                        "<th>client</th><th>user agent</th>"
                        "<th>verdict</th><th>result</th></tr>\n",
                        sh->verdicts[0], sh->verdicts[1], sh->refused,
                        sh->capacity);

        for (seq = sh->stored; seq-- > first; /* void */) {
            rep = &sh->reports[seq % sh->capacity];

            p = ngx_http_time(ngx_cpymem(p, "<tr><td>", 8), rep->time);
            p = ngx_cpymem(p, "</td><td>", 9);
            p = (u_char *) ngx_escape_html(p, rep->addr, rep->addr_len);
            p = ngx_cpymem(p, "</td><td>", 9);
            p = (u_char *) ngx_escape_html(p, rep->ua, rep->ua_len);
            p = ngx_sprintf(p, "</td><td class=\"%s\">%s</td><td>"
                            "<a href=\"",
                            rep->verdict ? "down" : "up",
                            verdicts[rep->verdict]);
            p = (u_char *) ngx_escape_html(p, dmcf->view.data,
                                           dmcf->view.len);
            p = ngx_sprintf(p, "?show=%ui\">as the user saw it</a>"
                            "</td></tr>\n", rep->seq);
        }

        p = ngx_cpymem(p, "</table>\n", 9);
        break;

    default: /* NGX_HTTP_TRTC_DIAG_JSON */
        p = ngx_sprintf(p, ",\"diagnostics\":{\"reports_total\":"
                        "{\"done\":%uA,\"blocked\":%uA},\"refused\":%uA,"
                        "\"kept\":%ui,\"reports\":[",
                        sh->verdicts[0], sh->verdicts[1], sh->refused,
                        sh->capacity);

        for (seq = sh->stored; seq-- > first; /* void */) {
            rep = &sh->reports[seq % sh->capacity];

            p = ngx_sprintf(p, "%s{\"seq\":%ui,\"time\":%T,\"client\":",
                            seq == sh->stored - 1 ? "" : ",", rep->seq,
                            rep->time);
            s.data = rep->addr;
            s.len = rep->addr_len;
            p = ngx_http_trtc_json_str(p, &s);
            p = ngx_cpymem(p, ",\"user_agent\":", 14);
            s.data = rep->ua;
            s.len = rep->ua_len;
            p = ngx_http_trtc_json_str(p, &s);
            p = ngx_sprintf(p, ",\"verdict\":\"%s\",\"result\":",
                            verdicts[rep->verdict]);
            p = ngx_cpymem(p, rep->json, rep->json_len);
            *p++ = '}';
        }

        p = ngx_cpymem(p, "]}", 2);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return p;
}
