
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"
#include "ngx_http_trtc_apply.h"
#include "ngx_http_trtc_client.h"
#include "ngx_http_trtc_proxy.h"


/*
 * trtc_signaling_pass and trtc_logger_pass: each configures the stock
 * proxy module for its location (proxy_pass plus the settings the
 * tutorial's hand-written blocks get wrong: HTTP/1.1 Upgrade, SNI and Host
 * of the real upstream host, certificate verification, timeouts fit for
 * signaling, X-Forwarded-For).  This module only adds what the proxy
 * module has no setting for: the real host of an upstream{} block,
 * counters, and a log line when an upgrade is refused.
 */


#define NGX_HTTP_TRTC_SIGNALING_TIMEOUT  "3600s"
#define NGX_HTTP_TRTC_LOGGER_MAX_BODY    "1m"
#define NGX_HTTP_TRTC_CA_BUNDLE          "/etc/ssl/certs/ca-certificates.crt"
#define NGX_HTTP_TRTC_VERIFY_DEPTH       "4"


typedef struct {
    ngx_array_t                 passes;     /* ngx_http_trtc_proxy_loc_t * */
    ngx_array_t                 spools;     /* ngx_http_trtc_proxy_loc_t * */
    ngx_shm_zone_t             *shm_zone;
    ngx_cycle_t                *cycle;

    /* in this cycle's zone: never a global, which a reload would leave
       pointing into an unmapped zone */
    ngx_http_trtc_counters_t        *counters;
} ngx_http_trtc_proxy_main_conf_t;


static ngx_int_t ngx_http_trtc_proxy_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_trtc_proxy_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_trtc_proxy_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_trtc_proxy_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_trtc_proxy_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_trtc_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_trtc_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_trtc_proxy_wrap_peer_init(
    ngx_http_trtc_proxy_main_conf_t *pmcf);
static ngx_int_t ngx_http_trtc_proxy_peer_init(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_trtc_proxy_init_process(ngx_cycle_t *cycle);
static void ngx_http_trtc_proxy_exit_process(ngx_cycle_t *cycle);
static void ngx_http_trtc_proxy_session_done(void *data);
static char *ngx_http_trtc_pass_apply(ngx_conf_t *cf,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_str_t *url, ngx_str_t *ca,
    ngx_flag_t verify, ngx_str_t *timeout, ngx_str_t *max_body);
static ngx_int_t ngx_http_trtc_resolve_host(ngx_conf_t *cf,
    ngx_http_trtc_proxy_loc_t *plcf);
static ngx_int_t ngx_http_trtc_check_headers(ngx_conf_t *cf,
    ngx_http_trtc_proxy_loc_t *plcf);
static ngx_int_t ngx_http_trtc_proxy_ready(ngx_http_trtc_counters_t *counters,
    ngx_log_t *log, void *data);
static ngx_int_t ngx_http_trtc_connection_upgrade_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_trtc_upstream_host_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_trtc_proxy_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_proxy_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_trtc_proxy_access_handler(ngx_http_request_t *r);


static ngx_command_t  ngx_http_trtc_proxy_commands[] = {

    { ngx_string("trtc_signaling_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_trtc_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) NGX_HTTP_TRTC_SIGNALING },

    { ngx_string("trtc_logger_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_trtc_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) NGX_HTTP_TRTC_LOGGER },

    { ngx_string("trtc_logger_spool"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_trtc_spool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_proxy_module_ctx = {
    ngx_http_trtc_proxy_preconfiguration,  /* preconfiguration */
    ngx_http_trtc_proxy_postconfiguration, /* postconfiguration */

    ngx_http_trtc_proxy_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_trtc_proxy_create_loc_conf,   /* create location configuration */
    ngx_http_trtc_proxy_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_trtc_proxy_module = {
    NGX_MODULE_V1,
    &ngx_http_trtc_proxy_module_ctx,       /* module context */
    ngx_http_trtc_proxy_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_trtc_proxy_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_trtc_proxy_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_trtc_proxy_vars[] = {

    { ngx_string("trtc_connection_upgrade"), NULL,
      ngx_http_trtc_connection_upgrade_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("trtc_upstream_host"), NULL,
      ngx_http_trtc_upstream_host_variable, 0, 0, 0 },

      ngx_http_null_variable
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static char *
ngx_http_trtc_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_proxy_loc_t *plcf = conf;

    ngx_str_t                        *value, url, ca, timeout, max_body;
    ngx_uint_t                        i, kind;
    ngx_flag_t                        verify;
    ngx_http_trtc_proxy_loc_t       **pass;
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    if (plcf->kind != NGX_HTTP_TRTC_NONE) {
        return "is duplicate";
    }

    value = cf->args->elts;
    kind = (ngx_uint_t) (uintptr_t) cmd->post;

    url = value[1];
    verify = 1;
    ngx_str_set(&ca, NGX_HTTP_TRTC_CA_BUNDLE);
    ngx_str_set(&timeout, NGX_HTTP_TRTC_SIGNALING_TIMEOUT);
    ngx_str_set(&max_body, NGX_HTTP_TRTC_LOGGER_MAX_BODY);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "host=", 5) == 0
            && value[i].len > 5)
        {
            plcf->host.data = value[i].data + 5;
            plcf->host.len = value[i].len - 5;
            continue;
        }

        if (ngx_strcmp(value[i].data, "verify=on") == 0) {
            verify = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "verify=off") == 0) {
            verify = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ca=", 3) == 0 && value[i].len > 3) {
            ca.data = value[i].data + 3;
            ca.len = value[i].len - 3;
            continue;
        }

        if (kind == NGX_HTTP_TRTC_SIGNALING
            && ngx_strncmp(value[i].data, "timeout=", 8) == 0)
        {
            timeout.data = value[i].data + 8;
            timeout.len = value[i].len - 8;

            if (ngx_parse_time(&timeout, 0) == NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (kind == NGX_HTTP_TRTC_LOGGER
            && ngx_strncmp(value[i].data, "max_body=", 9) == 0)
        {
            max_body.data = value[i].data + 9;
            max_body.len = value[i].len - 9;

            if (ngx_parse_offset(&max_body) == NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (ngx_strncasecmp(url.data, (u_char *) "https://", 8) != 0
        && ngx_strncasecmp(url.data, (u_char *) "http://", 7) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"%V\": "
                           "http:// or https:// expected", &url, &value[0]);
        return NGX_CONF_ERROR;
    }

    if (verify && ngx_strncasecmp(url.data, (u_char *) "https://", 8) == 0
        && ngx_http_trtc_client_check_ca(cf, &ca) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_script_variables_count(&url) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "variables are not supported in the URL of "
                           "\"%V\": name an upstream{} block instead",
                           &value[0]);
        return NGX_CONF_ERROR;
    }

    plcf->kind = kind;
    plcf->url = url;
    plcf->file = cf->conf_file->file.name;
    plcf->line = cf->conf_file->line;
    plcf->ca = ca;
    plcf->verify = verify;
    plcf->https = (ngx_strncasecmp(url.data, (u_char *) "https://", 8) == 0);

    if (ngx_http_trtc_pass_apply(cf, plcf, &url, &ca, verify, &timeout,
                                 &max_body)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    plcf->headers = ngx_http_trtc_apply_keyvals(cf, "proxy_set_header");

    /* the real host of an upstream{} is known once every block is read */

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_proxy_module);

    pass = ngx_array_push(&pmcf->passes);
    if (pass == NULL) {
        return NGX_CONF_ERROR;
    }

    *pass = plcf;

    if (pmcf->shm_zone == NULL) {
        pmcf->shm_zone = ngx_http_trtc_counters_zone(cf,
                                                   ngx_http_trtc_proxy_ready,
                                                   pmcf);
        if (pmcf->shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        pmcf->cycle = cf->cycle;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"%V\"",
                       &value[i], &value[0]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_trtc_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                              *rv;
    ngx_http_trtc_proxy_loc_t        **spool;
    ngx_http_trtc_proxy_main_conf_t   *pmcf;

    rv = ngx_http_trtc_logger_spool(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_proxy_module);

    spool = ngx_array_push(&pmcf->spools);
    if (spool == NULL) {
        return NGX_CONF_ERROR;
    }

    *spool = conf;

    return NGX_CONF_OK;
}


static char *
ngx_http_trtc_pass_apply(ngx_conf_t *cf, ngx_http_trtc_proxy_loc_t *plcf,
    ngx_str_t *url, ngx_str_t *ca, ngx_flag_t verify, ngx_str_t *timeout,
    ngx_str_t *max_body)
{
    u_char      *p;
    ngx_uint_t   d, ssl;

    d = NGX_HTTP_TRTC_APPLY_DEFAULT;
    ssl = plcf->https;

#define apply(flags, ...)                                                     \
    if (ngx_http_trtc_apply(cf, flags, __VA_ARGS__, NULL) != NGX_CONF_OK) { \
        return NGX_CONF_ERROR;                                                \
    }

    apply(0, "proxy_pass", (char *) url->data);
    apply(d, "proxy_http_version", "1.1");

    apply(d, "proxy_set_header", "Host", "$trtc_upstream_host");
    apply(d, "proxy_set_header", "X-Real-IP", "$remote_addr");
    apply(d, "proxy_set_header", "X-Forwarded-For",
          "$proxy_add_x_forwarded_for");
    apply(d, "proxy_set_header", "X-Forwarded-Proto", "$scheme");

    if (plcf->kind == NGX_HTTP_TRTC_LOGGER) {
        /* in the spool file too: a replay carries the same id */
        apply(d, "proxy_set_header", "X-Trtc-Upload-Id", "$request_id");
    }

    if (plcf->kind == NGX_HTTP_TRTC_SIGNALING) {
        apply(d, "proxy_set_header", "Upgrade", "$http_upgrade");
        apply(d, "proxy_set_header", "Connection",
              "$trtc_connection_upgrade");

        /* frames must not wait in a buffer */
        apply(d, "proxy_buffering", "off");

        p = ngx_pnalloc(cf->pool, timeout->len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        *ngx_cpymem(p, timeout->data, timeout->len) = '\0';

        /* signaling is quiet for long stretches; keepalive finds the dead */
        apply(d, "proxy_read_timeout", (char *) p);
        apply(d, "proxy_send_timeout", (char *) p);
        apply(d, "proxy_socket_keepalive", "on");

    } else {
        p = ngx_pnalloc(cf->pool, max_body->len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        *ngx_cpymem(p, max_body->data, max_body->len) = '\0';

        apply(d, "client_max_body_size", (char *) p);
        apply(d, "proxy_connect_timeout", "10s");
    }

    if (ssl) {
        apply(d, "proxy_ssl_server_name", "on");
        apply(d, "proxy_ssl_name", "$trtc_upstream_host");

        if (verify) {
            p = ngx_pnalloc(cf->pool, ca->len + 1);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }

            *ngx_cpymem(p, ca->data, ca->len) = '\0';

            apply(d, "proxy_ssl_verify", "on");
            apply(d, "proxy_ssl_verify_depth", NGX_HTTP_TRTC_VERIFY_DEPTH);
            apply(d, "proxy_ssl_trusted_certificate", (char *) p);
        }
    }

#undef apply

    return NGX_CONF_OK;
}


/*
 * A header the directive sets, set again by proxy_set_header after it,
 * would go upstream twice: say so instead.  (Written before it, the
 * user's own was kept and the directive's default was not added.)
 */

static ngx_int_t
ngx_http_trtc_check_headers(ngx_conf_t *cf, ngx_http_trtc_proxy_loc_t *plcf)
{
    ngx_uint_t  i;

    static ngx_str_t  names[] = {
        ngx_string("Host"),
        ngx_string("X-Real-IP"),
        ngx_string("X-Forwarded-For"),
        ngx_string("X-Forwarded-Proto"),
        ngx_string("X-Trtc-Upload-Id"),
        ngx_string("Upgrade"),
        ngx_string("Connection")
    };

    if (plcf->headers == NULL) {
        return NGX_OK;
    }

    for (i = 0; i < sizeof(names) / sizeof(ngx_str_t); i++) {
        if (ngx_http_trtc_apply_has_key(*plcf->headers, &names[i]) > 1) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"proxy_set_header %V\" after \"%s\" sends the "
                          "header twice: write it before the directive, or "
                          "use its parameters, in %V:%ui", &names[i],
                          plcf->kind == NGX_HTTP_TRTC_SIGNALING
                          ? "trtc_signaling_pass" : "trtc_logger_pass",
                          &plcf->file, plcf->line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_resolve_host(ngx_conf_t *cf, ngx_http_trtc_proxy_loc_t *plcf)
{
    ngx_url_t                       u, su;
    ngx_uint_t                      i, https;
    ngx_http_upstream_server_t     *server;
    ngx_http_upstream_srv_conf_t  **uscfp, *uscf;
    ngx_http_upstream_main_conf_t  *umcf;

    https = plcf->https;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.len = plcf->url.len - (https ? 8 : 7);
    u.url.data = plcf->url.data + (https ? 8 : 7);
    u.default_port = https ? 443 : 80;
    u.uri_part = 1;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * The upstream the proxy module made for the URL: an upstream{} block
     * of that name, or the implicit one of the URL's host and port.
     */

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        uscf = uscfp[i];

        if (uscf->host.len != u.host.len
            || ngx_strncasecmp(uscf->host.data, u.host.data, u.host.len) != 0)
        {
            continue;
        }

        if (!(uscf->flags & NGX_HTTP_UPSTREAM_CREATE)) {
            if (uscf->port == u.port) {
                plcf->upstream = uscf;
                break;
            }

            continue;
        }

        plcf->upstream = uscf;

        if (uscf->servers == NULL || uscf->servers->nelts == 0) {
            break;
        }

        /* the real host is that of the block's first server */

        server = uscf->servers->elts;

        ngx_memzero(&su, sizeof(ngx_url_t));
        su.url = server[0].name;
        su.default_port = u.default_port;
        su.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &su) != NGX_OK) {
            return NGX_ERROR;
        }

        u.host = su.host;
        u.port = su.port;
        u.no_port = su.no_port;
        break;
    }

    if (plcf->host.len) {
        return NGX_OK;
    }

    if (u.no_port || u.port == u.default_port) {
        plcf->host = u.host;
        return NGX_OK;
    }

    plcf->host.data = ngx_pnalloc(cf->pool, u.host.len + sizeof(":65535"));
    if (plcf->host.data == NULL) {
        return NGX_ERROR;
    }

    plcf->host.len = ngx_sprintf(plcf->host.data, "%V:%d", &u.host, u.port)
                     - plcf->host.data;

    return NGX_OK;
}


/* the counters are there: the spools count what earlier runs left */

static ngx_int_t
ngx_http_trtc_proxy_ready(ngx_http_trtc_counters_t *counters, ngx_log_t *log,
    void *data)
{
    ngx_http_trtc_proxy_main_conf_t  *pmcf = data;

    pmcf->counters = counters;

    /* the whole configuration is read now, the workers' user included */

    return ngx_http_trtc_spool_init_zone(pmcf->cycle, log, &pmcf->spools,
                                         counters);
}


static ngx_int_t
ngx_http_trtc_connection_upgrade_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (r->headers_in.upgrade != NULL) {
        v->data = (u_char *) "upgrade";
        v->len = sizeof("upgrade") - 1;

    } else {
        v->data = (u_char *) "close";
        v->len = sizeof("close") - 1;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_upstream_host_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_trtc_proxy_loc_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_proxy_module);

    if (plcf->host.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = plcf->host.data;
    v->len = plcf->host.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_proxy_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_pool_cleanup_t              *cln;
    ngx_http_trtc_proxy_ctx_t       *ctx;
    ngx_http_trtc_proxy_loc_t       *plcf;
    ngx_http_trtc_counters_t        *pc;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_proxy_module);
    pc = ngx_http_trtc_proxy_get_counters(r);

    if (plcf->kind == NGX_HTTP_TRTC_NONE || r != r->main || pc == NULL) {
        return ngx_http_next_header_filter(r);
    }

    if (plcf->kind == NGX_HTTP_TRTC_LOGGER) {
        if (plcf->spool == NULL) {
            return ngx_http_next_header_filter(r);
        }

        rc = ngx_http_trtc_spool_response(r, plcf, pc,
                                          ngx_http_next_header_filter);

        if (rc == NGX_DECLINED) {
            return ngx_http_next_header_filter(r);
        }

        /* our own answer: not counted as proxied */

        ctx = ngx_http_get_module_ctx(r, ngx_http_trtc_proxy_module);

        if (ctx == NULL) {
            ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_trtc_proxy_ctx_t));
            if (ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_http_set_ctx(r, ctx, ngx_http_trtc_proxy_module);
        }

        ctx->spooled = 1;

        return rc;
    }

    if (r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS
        && ngx_http_trtc_proxy_is_test(r))
    {
        (void) ngx_atomic_fetch_add(&pc->signaling_test, 1);

    } else if (r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS) {
        (void) ngx_atomic_fetch_add(&pc->signaling_open, 1);
        (void) ngx_atomic_fetch_add(&pc->signaling_total, 1);

        /* the session ends with the request, whatever ends it */

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_trtc_proxy_session_done;
        cln->data = pc;

    } else if (r->headers_in.upgrade != NULL && r->upstream != NULL
               && r->upstream->headers_in.status_n != 0)
    {
        /* the upstream itself answered, not with 101 */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "trtc signaling: upstream \"%V\" answered %ui "
                      "to a WebSocket upgrade", &plcf->url,
                      r->headers_out.status);
    }

    return ngx_http_next_header_filter(r);
}


static void
ngx_http_trtc_proxy_session_done(void *data)
{
    ngx_http_trtc_counters_t        *pc = data;

    (void) ngx_atomic_fetch_add(&pc->signaling_open, -1);
}


ngx_uint_t
ngx_http_trtc_proxy_is_test(ngx_http_request_t *r)
{
    ngx_str_t         arg;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_http_arg(r, (u_char *) "trtc_diagnostics", 16, &arg) == NGX_OK) {
        return 1;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("X-Trtc-Diagnostics") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Trtc-Diagnostics",
                               sizeof("X-Trtc-Diagnostics") - 1)
               == 0)
        {
            return 1;
        }
    }
}


ngx_http_trtc_counters_t *
ngx_http_trtc_proxy_get_counters(ngx_http_request_t *r)
{
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_proxy_module);

    return pmcf->counters;
}


static ngx_int_t
ngx_http_trtc_proxy_log_handler(ngx_http_request_t *r)
{
    ngx_http_upstream_t             *u;
    ngx_http_trtc_proxy_loc_t       *plcf;
    ngx_http_trtc_counters_t        *pc;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_proxy_module);
    pc = ngx_http_trtc_proxy_get_counters(r);

    if (plcf->kind == NGX_HTTP_TRTC_NONE || pc == NULL) {
        return NGX_OK;
    }

    u = r->upstream;

    if (plcf->kind == NGX_HTTP_TRTC_LOGGER) {
        if (u != NULL && r->headers_out.status < 500
            && ngx_http_get_module_ctx(r, ngx_http_trtc_proxy_module) == NULL)
        {
            (void) ngx_atomic_fetch_add(ngx_http_trtc_proxy_is_test(r)
                                        ? &pc->uploads_test
                                        : &pc->uploads_proxied, 1);
        }

        return NGX_OK;
    }

    if (u != NULL && u->state != NULL && !ngx_http_trtc_proxy_is_test(r)) {
        (void) ngx_atomic_fetch_add(&pc->signaling_bytes_up,
                                    (ngx_atomic_int_t) u->state->bytes_sent);
        (void) ngx_atomic_fetch_add(&pc->signaling_bytes_down,
                                    (ngx_atomic_int_t)
                                    u->state->bytes_received);
    }

    return NGX_OK;
}


/*
 * trtc_allow_origin on a proxied location: an Origin not allowed gets
 * 403.  Only when the directive is there: the SDK's pages connect from
 * the application's own origin, so refusing all cross-origin requests by
 * default would break the tutorial's setup.  CORS headers of log uploads
 * stay the upstream's business.
 */

static ngx_int_t
ngx_http_trtc_proxy_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   origin;
    ngx_http_trtc_loc_conf_t   *tlcf;
    ngx_http_trtc_proxy_loc_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_proxy_module);

    if (plcf->kind == NGX_HTTP_TRTC_NONE || r != r->main) {
        return NGX_DECLINED;
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_module);

    if (tlcf->allow_origin == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_trtc_origin_check(r, tlcf->allow_origin, &origin);

    if (rc == NGX_OK) {
        return NGX_DECLINED;
    }

    return rc;
}


static ngx_int_t
ngx_http_trtc_proxy_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_trtc_proxy_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_proxy_postconfiguration(ngx_conf_t *cf)
{
    ngx_str_t                        *file;
    ngx_uint_t                        i, line;
    ngx_http_handler_pt              *h;
    ngx_http_trtc_proxy_loc_t       **pass;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_proxy_module);

    pass = pmcf->spools.elts;

    for (i = 0; i < pmcf->spools.nelts; i++) {
        if (pass[i]->kind != NGX_HTTP_TRTC_LOGGER) {
            file = ngx_http_trtc_spool_where(pass[i], &line);
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"trtc_logger_spool\" needs \"trtc_logger_pass\" "
                          "in the same location in %V:%ui", file, line);
            return NGX_ERROR;
        }
    }

    if (pmcf->passes.nelts == 0) {
        return NGX_OK;
    }

    pass = pmcf->passes.elts;

    for (i = 0; i < pmcf->passes.nelts; i++) {
        if (ngx_http_trtc_check_headers(cf, pass[i]) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_trtc_resolve_host(cf, pass[i]) != NGX_OK) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "trtc: cannot tell the host of \"%V\"",
                          &pass[i]->url);
            return NGX_ERROR;
        }
    }

    pass = pmcf->spools.elts;

    for (i = 0; i < pmcf->spools.nelts; i++) {
        if (ngx_http_trtc_spool_init_conf(cf, pass[i], i) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ngx_http_trtc_proxy_wrap_peer_init(pmcf);

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_trtc_proxy_header_filter;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_trtc_proxy_log_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_trtc_proxy_access_handler;

    return NGX_OK;
}


/*
 * The spool's locations get a say between the proxy module building the
 * request and connecting upstream (the balancer's per-request init runs
 * there): an upload to queue behind the spool's backlog goes no further,
 * and the header filter spools it as if the upstream had failed.
 */

static void
ngx_http_trtc_proxy_wrap_peer_init(ngx_http_trtc_proxy_main_conf_t *pmcf)
{
    ngx_uint_t                     i, j;
    ngx_http_trtc_proxy_loc_t    **pass;
    ngx_http_upstream_srv_conf_t  *us;

    pass = pmcf->spools.elts;

    for (i = 0; i < pmcf->spools.nelts; i++) {
        us = pass[i]->upstream;

        if (us == NULL || us->peer.init == NULL) {
            continue;
        }

        if (us->peer.init != ngx_http_trtc_proxy_peer_init) {
            pass[i]->peer_init = us->peer.init;
            us->peer.init = ngx_http_trtc_proxy_peer_init;
            continue;
        }

        /* an upstream{} two spools share: wrapped once */

        for (j = 0; j < i; j++) {
            if (pass[j]->upstream == us) {
                pass[i]->peer_init = pass[j]->peer_init;
                break;
            }
        }
    }
}


static ngx_int_t
ngx_http_trtc_proxy_peer_init(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_uint_t                        i;
    ngx_http_trtc_proxy_ctx_t        *ctx;
    ngx_http_trtc_proxy_loc_t        *plcf, **pass;
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_proxy_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_proxy_module);

    if (plcf->upstream != us || plcf->peer_init == NULL) {

        /* another location's request to the same upstream */

        pass = pmcf->spools.elts;

        for (i = 0; i < pmcf->spools.nelts; i++) {
            if (pass[i]->upstream == us) {
                return pass[i]->peer_init(r, us);
            }
        }

        return NGX_ERROR;
    }

    if (!ngx_http_trtc_spool_behind(r, plcf, pmcf->counters)) {
        return plcf->peer_init(r, us);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_trtc_proxy_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->behind = 1;
    ngx_http_set_ctx(r, ctx, ngx_http_trtc_proxy_module);

    /* the upstream module answers 500, which the header filter spools */

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_trtc_proxy_init_process(ngx_cycle_t *cycle)
{
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_trtc_proxy_module);

    if (pmcf == NULL || pmcf->spools.nelts == 0) {
        return NGX_OK;
    }

    return ngx_http_trtc_spool_init_process(cycle, &pmcf->spools);
}


static void
ngx_http_trtc_proxy_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_trtc_proxy_module);

    if (pmcf != NULL) {
        ngx_http_trtc_spool_exit_process(&pmcf->spools);
    }
}


static void *
ngx_http_trtc_proxy_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_proxy_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_proxy_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->passes, cf->pool, 4,
                       sizeof(ngx_http_trtc_proxy_loc_t *))
        != NGX_OK
        || ngx_array_init(&pmcf->spools, cf->pool, 1,
                          sizeof(ngx_http_trtc_proxy_loc_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return pmcf;
}


static void *
ngx_http_trtc_proxy_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_proxy_loc_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_proxy_loc_t));
    if (plcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     plcf->kind = NGX_HTTP_TRTC_NONE;
     *     plcf->url = { 0, NULL };
     *     plcf->host = { 0, NULL };
     */

    return plcf;
}


static char *
ngx_http_trtc_proxy_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /*
     * Nothing is inherited: like proxy_pass, a pass belongs to the
     * location that names it.
     */

    return NGX_CONF_OK;
}
