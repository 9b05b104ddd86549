
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
    ngx_array_t                  servers;     /* ngx_str_t: URIs or addrs */
} ngx_http_trtc_answer_t;


static char *ngx_http_trtc_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf, ngx_uint_t type);
static char *ngx_http_trtc_issuer_turn(ngx_conf_t *cf,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *value);
static char *ngx_http_trtc_issuer_cv(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t **cvp);
static ngx_int_t ngx_http_trtc_issue_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_issue_user(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *user);
static ngx_int_t ngx_http_trtc_issue_servers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_issue_upstream(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_upstream_srv_conf_t *us,
    ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_issue_peers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_upstream_srv_conf_t *us,
    ngx_http_upstream_rr_peers_t *peers, ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_issue_add(ngx_http_request_t *r,
    ngx_array_t *servers, const char *prefix, ngx_str_t *s,
    const char *suffix);
static ngx_int_t ngx_http_trtc_issue_proxy_url(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, const char *tls, const char *plain,
    const char *path, ngx_str_t *url);
static ngx_buf_t *ngx_http_trtc_issue_rest(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_trtc_answer_t *a);
static ngx_buf_t *ngx_http_trtc_issue_proxy(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_trtc_answer_t *a);
static u_char *ngx_http_trtc_issue_turn_server(u_char *p,
    ngx_http_trtc_answer_t *a, ngx_str_t *addr);


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

            rv = ngx_http_trtc_issuer_turn(cf, issuer, &s);
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


/*
 * turn=URL (turn: or turns:, as given to browsers) or turn=NAME, an
 * upstream{} of TURN servers, looked up once the http block is parsed.
 */

static char *
ngx_http_trtc_issuer_turn(ngx_conf_t *cf, ngx_http_trtc_issuer_t *issuer,
    ngx_str_t *value)
{
    u_char                *p, *last;
    ngx_url_t              u;
    ngx_http_trtc_turn_t  *turn;

    turn = ngx_array_push(&issuer->turn);
    if (turn == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(turn, sizeof(ngx_http_trtc_turn_t));

    turn->value = *value;

    if (value->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty \"turn=\" parameter");
        return NGX_CONF_ERROR;
    }

    if (ngx_strlchr(value->data, value->data + value->len, ':') == NULL) {
        /* an upstream name: upstream names have no port */
        return NGX_CONF_OK;
    }

    if (value->len > 5 && ngx_strncasecmp(value->data, (u_char *) "turn:", 5)
                          == 0)
    {
        p = value->data + 5;

    } else if (value->len > 6
               && ngx_strncasecmp(value->data, (u_char *) "turns:", 6) == 0)
    {
        if (issuer->type == NGX_HTTP_TRTC_PROXY) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": the SDK's turnServer url has no "
                               "scheme, so it cannot say \"turns:\"",
                               value);
            return NGX_CONF_ERROR;
        }

        p = value->data + 6;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\": expected "
                           "turn:HOST[:PORT][?transport=udp|tcp], "
                           "turns:... or an upstream name", value);
        return NGX_CONF_ERROR;
    }

    last = ngx_strlchr(p, value->data + value->len, '?');
    if (last == NULL) {
        last = value->data + value->len;
    }

    turn->addr.data = p;
    turn->addr.len = last - p;

    /* host[:port], checked the way "listen" or "server" check theirs */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = turn->addr;
    u.default_port = 3478;
    u.no_resolve = 1;

    if (turn->addr.len == 0
        || ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.uri.len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\"%s%s", value,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (last < value->data + value->len
        && ngx_strcmp(last, "?transport=udp") != 0
        && ngx_strcmp(last, "?transport=tcp") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\": the query may only be "
                           "?transport=udp or ?transport=tcp", value);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
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
    ngx_str_t                      *name;
    ngx_uint_t                      i, j, k;
    ngx_http_trtc_turn_t           *turn;
    ngx_http_trtc_issuer_t        **issuers, *issuer;
    ngx_http_trtc_main_conf_t      *tmcf;
    ngx_http_upstream_srv_conf_t  **uscfp;
    ngx_http_upstream_main_conf_t  *umcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_module);
    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);

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

        turn = issuer->turn.elts;

        for (j = 0; j < issuer->turn.nelts; j++) {

            if (turn[j].addr.len) {
                continue;
            }

            name = &turn[j].value;
            uscfp = umcf->upstreams.elts;

            for (k = 0; k < umcf->upstreams.nelts; k++) {

                /* an upstream{} block, not a proxy_pass host name */

                if ((uscfp[k]->flags & NGX_HTTP_UPSTREAM_CREATE)
                    && uscfp[k]->host.len == name->len
                    && ngx_strncasecmp(uscfp[k]->host.data, name->data,
                                       name->len)
                       == 0)
                {
                    turn[j].upstream = uscfp[k];
                    break;
                }
            }

            if (turn[j].upstream == NULL) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "no upstream \"%V\" for \"turn=%V\" of \"%V\" "
                              "in %s:%ui", name, name, &issuer->directive,
                              issuer->file, issuer->line);
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_trtc_turn_peer_usable(ngx_http_upstream_srv_conf_t *us,
    ngx_http_upstream_rr_peer_t *peer)
{
    /* "down" in the upstream{} block, or trtc_check's verdict */

    return !peer->down && ngx_http_trtc_check_peer_usable(us, &peer->name);
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

    if (ngx_array_init(&a.servers, r->pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
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
 * trtc_turn_credentials lists URIs: turn= URLs as written, and for each
 * upstream peer turn:ADDR?transport=udp and ?transport=tcp.
 * trtc_proxy_config lists the SDK's scheme-less "host:port" urls.
 */

static ngx_int_t
ngx_http_trtc_issue_servers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_array_t *servers)
{
    ngx_int_t              rc;
    ngx_uint_t             i;
    ngx_http_trtc_turn_t  *turn;

    turn = issuer->turn.elts;

    for (i = 0; i < issuer->turn.nelts; i++) {

        if (turn[i].upstream) {
            rc = ngx_http_trtc_issue_upstream(r, issuer, turn[i].upstream,
                                              servers);

        } else if (issuer->type == NGX_HTTP_TRTC_REST) {
            rc = ngx_http_trtc_issue_add(r, servers, "", &turn[i].value, "");

        } else {
            rc = ngx_http_trtc_issue_add(r, servers, "", &turn[i].addr, "");
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (servers->nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "trtc: no usable TURN server for \"%V\"",
                      &issuer->directive);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_issue_upstream(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_upstream_srv_conf_t *us,
    ngx_array_t *servers)
{
    ngx_int_t                      rc;
    ngx_uint_t                     n;
    ngx_http_upstream_rr_peers_t  *peers;

    /*
     * Every stock balancer keeps round-robin peers here (with "zone", in
     * shared memory, hence the lock); backup peers only stand in when no
     * primary one is usable, as for proxying.
     */

    peers = us->peer.data;

    if (peers == NULL) {
        return NGX_OK;
    }

    ngx_http_upstream_rr_peers_rlock(peers);

    n = servers->nelts;

    rc = ngx_http_trtc_issue_peers(r, issuer, us, peers, servers);

    if (rc == NGX_OK && servers->nelts == n && peers->next) {
        rc = ngx_http_trtc_issue_peers(r, issuer, us, peers->next, servers);
    }

    ngx_http_upstream_rr_peers_unlock(peers);

    return rc;
}


static ngx_int_t
ngx_http_trtc_issue_peers(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_http_upstream_srv_conf_t *us,
    ngx_http_upstream_rr_peers_t *peers, ngx_array_t *servers)
{
    ngx_http_upstream_rr_peer_t  *peer;

    for (peer = peers->peer; peer; peer = peer->next) {

        if (!ngx_http_trtc_turn_peer_usable(us, peer)) {
            continue;
        }

        if (issuer->type == NGX_HTTP_TRTC_PROXY) {
            if (ngx_http_trtc_issue_add(r, servers, "", &peer->name, "")
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_trtc_issue_add(r, servers, "turn:", &peer->name,
                                    "?transport=udp")
            != NGX_OK
            || ngx_http_trtc_issue_add(r, servers, "turn:", &peer->name,
                                       "?transport=tcp")
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* appends prefix + s + suffix (copied: peer names may be in a zone) */

static ngx_int_t
ngx_http_trtc_issue_add(ngx_http_request_t *r, ngx_array_t *servers,
    const char *prefix, ngx_str_t *s, const char *suffix)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *v;
    ngx_uint_t   i;

    len = ngx_strlen(prefix) + s->len + ngx_strlen(suffix);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "%s%V%s", prefix, s, suffix);

    /* "turn:a?transport=udp" and "...=tcp" give one url to the SDK */

    v = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        if (v[i].len == len && ngx_strncmp(v[i].data, p, len) == 0) {
            return NGX_OK;
        }
    }

    v = ngx_array_push(servers);
    if (v == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = len;

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
    u_char      *p;
    size_t       len;
    ngx_buf_t   *b;
    ngx_str_t   *uri;
    ngx_uint_t   i;

    uri = a->servers.elts;

    len = sizeof("{\"username\":,\"password\":,\"ttl\":,\"uris\":[]}\n") - 1
          + ngx_http_trtc_json_str_size(a->user.len)
          + ngx_http_trtc_json_str_size(a->password.len)
          + NGX_TIME_T_LEN;

    for (i = 0; i < a->servers.nelts; i++) {
        len += 1 + ngx_http_trtc_json_str_size(uri[i].len);
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

    for (i = 0; i < a->servers.nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_http_trtc_json_str(p, &uri[i]);
    }

    p = ngx_cpymem(p, "]}\n", 3);

    b->last = p;

    return b;
}


/*
 * The SDK's proxy object:
 * {"websocketProxy":"...","turnServer":T,"iceTransportPolicy":"all",
 *  "loggerProxy":"..."}, T one object or an array of them.
 */

static ngx_buf_t *
ngx_http_trtc_issue_proxy(ngx_http_request_t *r, ngx_http_trtc_issuer_t *issuer,
    ngx_http_trtc_answer_t *a)
{
    u_char      *p;
    size_t       len, one;
    ngx_buf_t   *b;
    ngx_str_t   *addr;
    ngx_uint_t   i, n, array;

    addr = a->servers.elts;
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

    one = sizeof("{\"url\":,\"username\":,\"credential\":,"
                 "\"credentialType\":\"password\"},") - 1
          + ngx_http_trtc_json_str_size(a->user.len)
          + ngx_http_trtc_json_str_size(a->password.len);

    len = sizeof("{\"websocketProxy\":,\"turnServer\":[],"
                 "\"iceTransportPolicy\":\"relay\",\"loggerProxy\":}\n") - 1
          + ngx_http_trtc_json_str_size(a->websocket.len)
          + ngx_http_trtc_json_str_size(a->logger.len);

    for (i = 0; i < n; i++) {
        len += one + ngx_http_trtc_json_str_size(addr[i].len);
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

        p = ngx_http_trtc_issue_turn_server(p, a, &addr[i]);
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
    ngx_str_t *addr)
{
    p = ngx_cpymem(p, "{\"url\":", sizeof("{\"url\":") - 1);
    p = ngx_http_trtc_json_str(p, addr);
    p = ngx_cpymem(p, ",\"username\":", sizeof(",\"username\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->user);
    p = ngx_cpymem(p, ",\"credential\":", sizeof(",\"credential\":") - 1);
    p = ngx_http_trtc_json_str(p, &a->password);
    p = ngx_cpymem(p, ",\"credentialType\":\"password\"}",
                   sizeof(",\"credentialType\":\"password\"}") - 1);

    return p;
}
