
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"
#include "ngx_http_trtc_check.h"


/* what one answer is made of */
typedef struct {
    ngx_str_t                    user;
    ngx_str_t                    password;
    ngx_str_t                    websocket;
    ngx_str_t                    logger;
    ngx_array_t                  servers;     /* turn_server_t */
} ngx_http_trtc_answer_t;


static char *ngx_http_trtc_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf, ngx_uint_t type);
static char *ngx_http_trtc_issuer_cv(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t **cvp);
static ngx_int_t ngx_http_trtc_issue_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_issue_user(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *user);
static ngx_int_t ngx_http_trtc_issue_servers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_issue_proxy_url(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, const char *tls, const char *plain,
    const char *path, ngx_str_t *url);
static ngx_buf_t *ngx_http_trtc_issue_rest(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_trtc_answer_t *a);
static ngx_buf_t *ngx_http_trtc_issue_proxy(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_trtc_answer_t *a);
static u_char *ngx_http_trtc_issue_turn_server(u_char *p,
    ngx_http_trtc_answer_t *a, ngx_http_trtc_turn_server_t *s);


static ngx_str_t  ngx_http_trtc_methods = ngx_string("GET, HEAD");


char *
ngx_http_trtc_turn_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_trtc_issuer(cf, cmd, conf, NGX_HTTP_TRTC_REST);
}


char *
ngx_http_trtc_proxy_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_trtc_issuer(cf, cmd, conf, NGX_HTTP_TRTC_PROXY);
}


static char *
ngx_http_trtc_issuer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf,
    ngx_uint_t type)
{
    ngx_http_trtc_loc_conf_t *tlcf = conf;

    char                       *rv;
    time_t                      ttl;
    ngx_str_t                  *value, s;
    ngx_uint_t                  i;
    ngx_http_trtc_issuer_t     *issuer, **issuerp;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_trtc_main_conf_t  *tmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (tlcf->issuer != NULL || clcf->handler != NULL) {
        return "is duplicate";
    }

    issuer = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_issuer_t));
    if (issuer == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&issuer->turn, cf->pool, 2,
                       sizeof(ngx_http_trtc_turn_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    issuer->type = type;
    issuer->ttl = NGX_HTTP_TRTC_DEFAULT_TTL;
    issuer->location = clcf->name;
    issuer->directive = value[0];
    issuer->file = cf->conf_file->file.name.data;
    issuer->line = cf->conf_file->line;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.len = value[i].len - 4;
            s.data = value[i].data + 4;

            ttl = ngx_parse_time(&s, 1);
            if (ttl == (time_t) NGX_ERROR || ttl == 0) {
                goto invalid;
            }

            issuer->ttl = ttl;
            continue;
        }

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            rv = ngx_http_trtc_issuer_cv(cf, &s, &issuer->name);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "turn=", 5) == 0) {
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            rv = ngx_http_trtc_turn_parse(cf, &issuer->turn, &s);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (type != NGX_HTTP_TRTC_PROXY) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "websocket=", 10) == 0) {
            s.len = value[i].len - 10;
            s.data = value[i].data + 10;

            rv = ngx_http_trtc_issuer_cv(cf, &s, &issuer->websocket);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "logger=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            rv = ngx_http_trtc_issuer_cv(cf, &s, &issuer->logger);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "policy=all") == 0) {
            issuer->relay = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "policy=relay") == 0) {
            issuer->relay = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "turn_server=auto") == 0) {
            issuer->turn_server = NGX_HTTP_TRTC_TURN_AUTO;
            continue;
        }

        if (ngx_strcmp(value[i].data, "turn_server=object") == 0) {
            issuer->turn_server = NGX_HTTP_TRTC_TURN_OBJECT;
            continue;
        }

        if (ngx_strcmp(value[i].data, "turn_server=array") == 0) {
            issuer->turn_server = NGX_HTTP_TRTC_TURN_ARRAY;
            continue;
        }

        goto invalid;
    }

    if (issuer->turn.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs at least one TURN server: "
                           "turn=turn:HOST:PORT?transport=udp or "
                           "turn=UPSTREAM", &value[0]);
        return NGX_CONF_ERROR;
    }

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_module);

    issuerp = ngx_array_push(&tmcf->issuers);
    if (issuerp == NULL) {
        return NGX_CONF_ERROR;
    }

    *issuerp = issuer;

    tlcf->issuer = issuer;
    clcf->handler = ngx_http_trtc_issue_handler;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_trtc_issuer_cv(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t **cvp)
{
    ngx_http_compile_complex_value_t   ccv;

    *cvp = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (*cvp == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = *cvp;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_trtc_issue_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                      i;
    ngx_http_trtc_issuer_t        **issuers, *issuer;
    ngx_http_trtc_main_conf_t      *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_module);

    issuers = tmcf->issuers.elts;

    for (i = 0; i < tmcf->issuers.nelts; i++) {
        issuer = issuers[i];

        /* misconfigurations fail nginx -t, not a request at run time */

        if (tmcf->cred == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%V\" needs \"trtc_credentials\" at http level "
                          "in %s:%ui",
                          &issuer->directive, issuer->file, issuer->line);
            return NGX_ERROR;
        }

        if (tmcf->cred->cred.nsecrets == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%V\" needs a \"secret\" line in credentials "
                          "file \"%s\" in %s:%ui",
                          &issuer->directive, tmcf->cred->path.data,
                          issuer->file, issuer->line);
            return NGX_ERROR;
        }

        tmcf->cred->need_secret = 1;

        if (ngx_http_trtc_turn_resolve(cf, &issuer->turn, &issuer->directive,
                                       issuer->file, issuer->line)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_issue_handler(ngx_http_request_t *r)
{
    u_char                      password[TRTC_CRED_REST_PASS_LEN + 1];
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_str_t                   origin, *cors;
    ngx_chain_t                 out;
    ngx_table_elt_t            *h;
    ngx_http_trtc_answer_t      a;
    ngx_http_trtc_issuer_t     *issuer;
    ngx_http_trtc_counters_t   *counters;
    ngx_http_trtc_loc_conf_t   *tlcf;
    ngx_http_trtc_main_conf_t  *tmcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_module);
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_module);

    issuer = tlcf->issuer;

    rc = ngx_http_trtc_origin_check(r, tlcf->allow_origin, &origin);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cors = (rc == NGX_OK) ? &origin : NULL;

    if (ngx_http_trtc_origin_headers(r, cors) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_HTTP_FORBIDDEN) {
        return NGX_HTTP_FORBIDDEN;
    }

    if (cors && ngx_http_trtc_origin_is_preflight(r)) {
        return ngx_http_trtc_origin_preflight(r, &ngx_http_trtc_methods);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        h->value = ngx_http_trtc_methods;

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&a, sizeof(ngx_http_trtc_answer_t));

    if (ngx_array_init(&a.servers, r->pool, 4,
                       sizeof(ngx_http_trtc_turn_server_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_trtc_issue_servers(r, issuer, &a.servers);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_trtc_issue_user(r, issuer, &a.user);
    if (rc != NGX_OK) {
        return rc;
    }

    /* a rotated secret signs from the next second on, without a reload */

    ngx_http_trtc_cred_refresh(tmcf->cred, r->connection->log);

    if (ngx_http_trtc_cred_sign(tmcf->cred, &a.user, password) != NGX_OK) {
        /* refresh keeps a set with a secret; this is a bug if reached */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "trtc: no secret to sign TURN credentials with");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.password.data = password;
    a.password.len = TRTC_CRED_REST_PASS_LEN;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "trtc: issuing TURN credentials for \"%V\"", &a.user);

    if (issuer->type == NGX_HTTP_TRTC_REST) {
        b = ngx_http_trtc_issue_rest(r, issuer, &a);

    } else {
        if (ngx_http_trtc_issue_proxy_urls(r, issuer, &a.websocket,
                                           &a.logger)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b = ngx_http_trtc_issue_proxy(r, issuer, &a);
    }

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    /* HEAD hands nothing out */

    if (tmcf->counters) {
        counters = tmcf->counters->data;
        (void) ngx_atomic_fetch_add(&counters->credentials_issued, 1);
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* "EXPIRY:NAME", or "EXPIRY" when the name evaluates to "" */

static ngx_int_t
ngx_http_trtc_issue_user(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *user)
{
    u_char     *p;
    ngx_str_t   name;

    if (issuer->name == NULL) {
        ngx_str_set(&name, NGX_HTTP_TRTC_DEFAULT_NAME);

    } else if (ngx_http_complex_value(r, issuer->name, &name) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The name goes into JSON and into a STUN USERNAME as it is, and is
     * signed as it is: anything an escape would change is refused.
     */

    if (name.len > NGX_HTTP_TRTC_NAME_MAX
        || ngx_http_trtc_json_plain(&name) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "trtc: TURN user name from \"name=\" is not "
                      "printable UTF-8 of at most %d bytes",
                      NGX_HTTP_TRTC_NAME_MAX);
        return NGX_HTTP_BAD_REQUEST;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1 + name.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    user->data = p;

    p = ngx_sprintf(p, "%T", ngx_time() + issuer->ttl);

    if (name.len) {
        *p++ = ':';
        p = ngx_cpymem(p, name.data, name.len);
    }

    user->len = p - user->data;

    return NGX_OK;
}


/*
 * The usable TURN servers, each with its URLs in the order to try them:
 * trtc_turn_credentials lists them all, trtc_proxy_config one object per
 * server.
 */

static ngx_int_t
ngx_http_trtc_issue_servers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_array_t *servers)
{
    if (ngx_http_trtc_turn_servers(r, &issuer->turn, servers) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (servers->nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "trtc: no usable TURN server for \"%V\"",
                      &issuer->directive);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_trtc_issue_proxy_urls(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *websocket, ngx_str_t *logger)
{
    if (ngx_http_trtc_issue_proxy_url(r, issuer->websocket, "wss://",
                                      "ws://", "/ws/", websocket)
        != NGX_OK
        || ngx_http_trtc_issue_proxy_url(r, issuer->logger, "https://",
                                         "http://", "/logger/", logger)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * websocket= or logger= if set, else this server's /ws/ or /logger/
 * under the request's scheme and Host (the server name without one).
 */

static ngx_int_t
ngx_http_trtc_issue_proxy_url(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, const char *tls, const char *plain,
    const char *path, ngx_str_t *url)
{
    u_char                    *p, addr[NGX_SOCKADDR_STRLEN];
    ngx_str_t                  host, local;
    const char                *scheme;
    ngx_http_core_srv_conf_t  *cscf;

    if (cv) {
        return ngx_http_complex_value(r, cv, url);
    }

    scheme = plain;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        scheme = tls;
    }
#endif

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        host = cscf->server_name;

        if (host.len == 0) {
            local.len = NGX_SOCKADDR_STRLEN;
            local.data = addr;

            if (ngx_connection_local_sockaddr(r->connection, &local, 1)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            host = local;
        }
    }

    p = ngx_pnalloc(r->pool, ngx_strlen(scheme) + host.len
                             + ngx_strlen(path));
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;

    p = ngx_sprintf(p, "%s%V%s", scheme, &host, path);

    url->len = p - url->data;

    return NGX_OK;
}


/* {"username":"...","password":"...","ttl":N,"uris":["...",...]} */

static ngx_buf_t *
ngx_http_trtc_issue_rest(ngx_http_request_t *r, ngx_http_trtc_issuer_t *issuer,
    ngx_http_trtc_answer_t *a)
{
    u_char                       *p;
    size_t                        len;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, j, n;
    ngx_http_trtc_turn_url_t     *u;
    ngx_http_trtc_turn_server_t  *s;

    s = a->servers.elts;

    len = sizeof("{\"username\":,\"password\":,\"ttl\":,\"uris\":[]}\n") - 1
          + ngx_http_trtc_json_str_size(a->user.len)
          + ngx_http_trtc_json_str_size(a->password.len)
          + NGX_TIME_T_LEN;

    for (i = 0; i < a->servers.nelts; i++) {
        u = s[i].urls.elts;

        for (j = 0; j < s[i].urls.nelts; j++) {
            len += 1 + ngx_http_trtc_json_str_size(u[j].url.len);
        }
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_cpymem(b->last, "{\"username\":", sizeof("{\"username\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->user);
    p = ngx_cpymem(p, ",\"password\":", sizeof(",\"password\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->password);
    p = ngx_sprintf(p, ",\"ttl\":%T,\"uris\":[", issuer->ttl);

    n = 0;

    for (i = 0; i < a->servers.nelts; i++) {
        u = s[i].urls.elts;

        for (j = 0; j < s[i].urls.nelts; j++) {
            if (n++) {
                *p++ = ',';
            }

            p = ngx_http_trtc_json_str(p, &u[j].url);
        }
    }

    p = ngx_cpymem(p, "]}\n", 3);

    b->last = p;

    return b;
}


/*
 * The SDK's proxy object:
 * {"websocketProxy":"...","turnServer":T,"iceTransportPolicy":"all",
 *  "loggerProxy":"..."}, T one object or an array of them, one per server:
 * {"url":"HOST:PORT","username":"...","credential":"...",
 *  "credentialType":"password","urls":["turn:...",...]}.  "url" is the
 * SDK's scheme-less address of the server's first URL; "urls" are all,
 * in order, as an RTCIceServer has them.
 */

static ngx_buf_t *
ngx_http_trtc_issue_proxy(ngx_http_request_t *r, ngx_http_trtc_issuer_t *issuer,
    ngx_http_trtc_answer_t *a)
{
    u_char                       *p;
    size_t                        len, one;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, j, n, array;
    ngx_http_trtc_turn_url_t     *u;
    ngx_http_trtc_turn_server_t  *s;

    s = a->servers.elts;
    n = a->servers.nelts;

    switch (issuer->turn_server) {

    case NGX_HTTP_TRTC_TURN_OBJECT:
        n = 1;
        array = 0;
        break;

    case NGX_HTTP_TRTC_TURN_ARRAY:
        array = 1;
        break;

    default: /* NGX_HTTP_TRTC_TURN_AUTO */
        array = (n > 1);
    }

    one = sizeof("{\"url\":,\"urls\":[],\"username\":,\"credential\":,"
                 "\"credentialType\":\"password\"},") - 1
          + ngx_http_trtc_json_str_size(a->user.len)
          + ngx_http_trtc_json_str_size(a->password.len);

    len = sizeof("{\"websocketProxy\":,\"turnServer\":[],"
                 "\"iceTransportPolicy\":\"relay\",\"loggerProxy\":}\n") - 1
          + ngx_http_trtc_json_str_size(a->websocket.len)
          + ngx_http_trtc_json_str_size(a->logger.len);

    for (i = 0; i < n; i++) {
        u = s[i].urls.elts;
        len += one + ngx_http_trtc_json_str_size(u[0].addr.len);

        for (j = 0; j < s[i].urls.nelts; j++) {
            len += 1 + ngx_http_trtc_json_str_size(u[j].url.len);
        }
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_cpymem(b->last, "{\"websocketProxy\":",
                   sizeof("{\"websocketProxy\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->websocket);
    p = ngx_cpymem(p, ",\"turnServer\":", sizeof(",\"turnServer\":") - 1);

    if (array) {
        *p++ = '[';
    }

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_http_trtc_issue_turn_server(p, a, &s[i]);
    }

    if (array) {
        *p++ = ']';
    }

    p = ngx_sprintf(p, ",\"iceTransportPolicy\":\"%s\",\"loggerProxy\":",
                    issuer->relay ? "relay" : "all");
    p = ngx_http_trtc_json_str(p, &a->logger);
    p = ngx_cpymem(p, "}\n", 2);

    b->last = p;

    return b;
}


static u_char *
ngx_http_trtc_issue_turn_server(u_char *p, ngx_http_trtc_answer_t *a,
    ngx_http_trtc_turn_server_t *s)
{
    ngx_uint_t                 i;
    ngx_http_trtc_turn_url_t  *u;

    u = s->urls.elts;

    /* "urls" last: the seed's four keys keep their order */

    p = ngx_cpymem(p, "{\"url\":", sizeof("{\"url\":") - 1);
    p = ngx_http_trtc_json_str(p, &u[0].addr);
    p = ngx_cpymem(p, ",\"username\":", sizeof(",\"username\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->user);
    p = ngx_cpymem(p, ",\"credential\":", sizeof(",\"credential\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->password);
    p = ngx_cpymem(p, ",\"credentialType\":\"password\"",
                   sizeof(",\"credentialType\":\"password\"") - 1);
    p = ngx_cpymem(p, ",\"urls\":[", sizeof(",\"urls\":[") - 1);

    for (i = 0; i < s->urls.nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_http_trtc_json_str(p, &u[i].url);
    }

    *p++ = ']';
    *p++ = '}';

    return p;
}
