
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_origin.h"


static ngx_int_t ngx_http_trtc_origin_valid(ngx_str_t *origin);
static ngx_uint_t ngx_http_trtc_origin_same(ngx_http_request_t *r,
    ngx_str_t *origin);
static ngx_table_elt_t *ngx_http_trtc_origin_find(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t *n);
static ngx_int_t ngx_http_trtc_origin_add(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);


char *
ngx_http_trtc_allow_origin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_array_t            **a;
    ngx_http_trtc_origin_t  *o;
#if (NGX_PCRE)
    ngx_regex_compile_t      rc;
    u_char                   errstr[NGX_MAX_CONF_ERRSTR];
#endif

    a = (ngx_array_t **) (p + cmd->offset);

    /* several directives on one level add up */

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_http_trtc_origin_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        o = ngx_array_push(*a);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(o, sizeof(ngx_http_trtc_origin_t));

        if (value[i].len > 1 && value[i].data[0] == '~') {
#if (NGX_PCRE)
            ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

            rc.pattern = value[i];
            rc.pattern.len--;
            rc.pattern.data++;

            if (rc.pattern.len > 1 && rc.pattern.data[0] == '*') {
                rc.pattern.len--;
                rc.pattern.data++;
                rc.options = NGX_REGEX_CASELESS;
            }

            rc.err.len = NGX_MAX_CONF_ERRSTR;
            rc.err.data = errstr;

            /* logs its own error */
            o->regex = ngx_http_regex_compile(cf, &rc);
            if (o->regex == NULL) {
                return NGX_CONF_ERROR;
            }

            o->origin = value[i];
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "using regex \"%V\" requires PCRE library",
                               &value[i]);
            return NGX_CONF_ERROR;
#endif
        }

        if (ngx_http_trtc_origin_valid(&value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": an origin is "
                               "scheme://host[:port] without a path or a "
                               "trailing \"/\" (or a regex after \"~\")",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        o->origin = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * What a browser sends in Origin: "null" or scheme://host[:port].  A
 * path or a trailing slash would never match, so it is refused early.
 */

static ngx_int_t
ngx_http_trtc_origin_valid(ngx_str_t *origin)
{
    u_char  *p, *last;

    if (origin->len == 4 && ngx_strncmp(origin->data, "null", 4) == 0) {
        return NGX_OK;
    }

    p = origin->data;
    last = p + origin->len;

    if (p == last) {
        return NGX_DECLINED;
    }

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        return NGX_DECLINED;
    }

    while (p < last && *p != ':') {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || *p == '+' || *p == '-' || *p == '.'))
        {
            return NGX_DECLINED;
        }

        p++;
    }

    if (last - p < 4 || p[1] != '/' || p[2] != '/') {
        return NGX_DECLINED;
    }

    for (p += 3; p < last; p++) {
        if (*p == '/' || *p == '?' || *p == '#' || *p == '*' || *p <= ' ') {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_trtc_origin_check(ngx_http_request_t *r, ngx_array_t *allow,
    ngx_str_t *origin)
{
    ngx_uint_t               i, n;
    ngx_table_elt_t         *h;
    ngx_http_trtc_origin_t  *o;
#if (NGX_PCRE)
    ngx_int_t                rc;
#endif
    static ngx_str_t         name = ngx_string("Origin");

    h = ngx_http_trtc_origin_find(r, &name, &n);

    if (n == 0) {
        return NGX_DECLINED;
    }

    if (n > 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "trtc: several \"Origin\" headers, refused");
        return NGX_HTTP_FORBIDDEN;
    }

    *origin = h->value;

    if (ngx_http_trtc_origin_same(r, origin)) {
        return NGX_DECLINED;
    }

    if (allow != NULL) {
        o = allow->elts;

        for (i = 0; i < allow->nelts; i++) {

#if (NGX_PCRE)
            if (o[i].regex) {
                rc = ngx_http_regex_exec(r, o[i].regex, origin);

                if (rc == NGX_OK) {
                    return NGX_OK;
                }

                if (rc == NGX_ERROR) {
                    return NGX_ERROR;
                }

                continue;
            }
#endif

            if (o[i].origin.len == origin->len
                && ngx_strncasecmp(o[i].origin.data, origin->data,
                                   origin->len)
                   == 0)
            {
                return NGX_OK;
            }
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "trtc: origin \"%V\" is not allowed by trtc_allow_origin",
                  origin);

    return NGX_HTTP_FORBIDDEN;
}


/* the request's own origin: a same-origin request is no CORS request */

static ngx_uint_t
ngx_http_trtc_origin_same(ngx_http_request_t *r, ngx_str_t *origin)
{
    size_t      n;
    ngx_str_t  *host;

    if (r->headers_in.host == NULL) {
        return 0;
    }

    host = &r->headers_in.host->value;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        n = sizeof("https://") - 1;

        if (origin->len <= n
            || ngx_strncasecmp(origin->data, (u_char *) "https://", n) != 0)
        {
            return 0;
        }

    } else
#endif
    {
        n = sizeof("http://") - 1;

        if (origin->len <= n
            || ngx_strncasecmp(origin->data, (u_char *) "http://", n) != 0)
        {
            return 0;
        }
    }

    return origin->len - n == host->len
           && ngx_strncasecmp(origin->data + n, host->data, host->len) == 0;
}


ngx_int_t
ngx_http_trtc_origin_headers(ngx_http_request_t *r, ngx_str_t *origin)
{
    static ngx_str_t  vary = ngx_string("Vary");
    static ngx_str_t  vary_value = ngx_string("Origin");
    static ngx_str_t  acao = ngx_string("Access-Control-Allow-Origin");
    static ngx_str_t  acac = ngx_string("Access-Control-Allow-Credentials");
    static ngx_str_t  acac_value = ngx_string("true");

    /* the answer depends on Origin even when there is none */

    if (ngx_http_trtc_origin_add(r, &vary, &vary_value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (origin == NULL) {
        return NGX_OK;
    }

    if (ngx_http_trtc_origin_add(r, &acao, origin) != NGX_OK
        || ngx_http_trtc_origin_add(r, &acac, &acac_value) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_trtc_origin_is_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        n;
    static ngx_str_t  name = ngx_string("Access-Control-Request-Method");

    if (r->method != NGX_HTTP_OPTIONS) {
        return 0;
    }

    (void) ngx_http_trtc_origin_find(r, &name, &n);

    return n > 0;
}


ngx_int_t
ngx_http_trtc_origin_preflight(ngx_http_request_t *r, ngx_str_t *methods)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_trtc_origin_preflight_headers(r, methods) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


ngx_int_t
ngx_http_trtc_origin_preflight_headers(ngx_http_request_t *r,
    ngx_str_t *methods)
{
    ngx_uint_t        n;
    ngx_table_elt_t  *h;
    static ngx_str_t  acam = ngx_string("Access-Control-Allow-Methods");
    static ngx_str_t  acah = ngx_string("Access-Control-Allow-Headers");
    static ngx_str_t  acrh = ngx_string("Access-Control-Request-Headers");

    if (ngx_http_trtc_origin_add(r, &acam, methods) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * The origin is allowed already; the headers it wants to send (say,
     * Authorization for auth_basic in front of us) are for nginx to judge.
     */

    h = ngx_http_trtc_origin_find(r, &acrh, &n);

    if (n == 1 && h->value.len) {
        if (ngx_http_trtc_origin_add(r, &acah, &h->value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the first request header called name, and how many there are */

static ngx_table_elt_t *
ngx_http_trtc_origin_find(ngx_http_request_t *r, ngx_str_t *name,
    ngx_uint_t *n)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    *n = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            if (found == NULL) {
                found = &h[i];
            }

            (*n)++;
        }
    }

    return found;
}


static ngx_int_t
ngx_http_trtc_origin_add(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}
