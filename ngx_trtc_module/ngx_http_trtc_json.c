
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_trtc_json.h"


/* the parser's state: where it is, and how deep */
typedef struct {
    u_char                       *p;
    u_char                       *last;
    ngx_uint_t                    depth;
    ngx_http_trtc_json_check_t   *jc;
} ngx_http_trtc_json_parse_t;


static size_t ngx_http_trtc_json_utf8(u_char *p, u_char *last);
static ngx_int_t ngx_http_trtc_json_value(ngx_http_trtc_json_parse_t *jp,
    ngx_str_t *str);
static ngx_int_t ngx_http_trtc_json_string(ngx_http_trtc_json_parse_t *jp,
    ngx_str_t *str);
static ngx_int_t ngx_http_trtc_json_number(ngx_http_trtc_json_parse_t *jp);
static ngx_int_t ngx_http_trtc_json_container(
    ngx_http_trtc_json_parse_t *jp, u_char close);
static void ngx_http_trtc_json_space(ngx_http_trtc_json_parse_t *jp);


u_char *
ngx_http_trtc_json_str(u_char *dst, ngx_str_t *s)
{
    u_char         c, *p, *last;
    size_t         n;
    static u_char  hex[] = "0123456789abcdef";

    *dst++ = '"';

    p = s->data;
    last = s->data + s->len;

    while (p < last) {
        c = *p;

        if (c >= 0x80) {
            n = ngx_http_trtc_json_utf8(p, last);

            if (n == 0) {
                dst = ngx_cpymem(dst, "\\ufffd", 6);
                p++;
                continue;
            }

            dst = ngx_cpymem(dst, p, n);
            p += n;
            continue;
        }

        p++;

        switch (c) {

        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = c;
            break;

        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            break;

        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            break;

        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            break;

        default:
            if (c < 0x20 || c == 0x7f) {
                *dst++ = '\\';
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = hex[c >> 4];
                *dst++ = hex[c & 0x0f];
                break;
            }

            *dst++ = c;
            break;
        }
    }

    *dst++ = '"';

    return dst;
}


ngx_int_t
ngx_http_trtc_json_plain(ngx_str_t *s)
{
    u_char  *p, *last;
    size_t   n;

    p = s->data;
    last = s->data + s->len;

    while (p < last) {

        if (*p >= 0x80) {
            n = ngx_http_trtc_json_utf8(p, last);
            if (n == 0) {
                return NGX_DECLINED;
            }

            p += n;
            continue;
        }

        if (*p < 0x20 || *p == 0x7f) {
            return NGX_DECLINED;
        }

        p++;
    }

    return NGX_OK;
}


/*
 * The length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0.
 * Strict (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF; ngx_utf8_decode() is laxer than JSON parsers are.
 */

static size_t
ngx_http_trtc_json_utf8(u_char *p, u_char *last)
{
    size_t    i, n;
    uint32_t  u, min;

    u = p[0];

    if (u >= 0xc2 && u <= 0xdf) {
        n = 2;
        u &= 0x1f;
        min = 0x80;

    } else if (u >= 0xe0 && u <= 0xef) {
        n = 3;
        u &= 0x0f;
        min = 0x800;

    } else if (u >= 0xf0 && u <= 0xf4) {
        n = 4;
        u &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
        return 0;
    }

    return n;
}


ngx_int_t
ngx_http_trtc_json_check(u_char *p, u_char *last,
    ngx_http_trtc_json_check_t *jc)
{
    ngx_http_trtc_json_parse_t  jp;

    jp.p = p;
    jp.last = last;
    jp.depth = 0;
    jp.jc = jc;

    ngx_str_null(&jc->value);

    ngx_http_trtc_json_space(&jp);

    if (jp.p == jp.last || *jp.p != '{') {
        return NGX_DECLINED;
    }

    if (ngx_http_trtc_json_value(&jp, NULL) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_http_trtc_json_space(&jp);

    return (jp.p == jp.last) ? NGX_OK : NGX_DECLINED;
}


static void
ngx_http_trtc_json_space(ngx_http_trtc_json_parse_t *jp)
{
    while (jp->p < jp->last
           && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n'
               || *jp->p == '\r'))
    {
        jp->p++;
    }
}


/* str: where a string value goes, if the value is one */

static ngx_int_t
ngx_http_trtc_json_value(ngx_http_trtc_json_parse_t *jp, ngx_str_t *str)
{
    size_t   n;
    u_char  *p;

    ngx_http_trtc_json_space(jp);

    if (jp->p == jp->last) {
        return NGX_DECLINED;
    }

    p = jp->p;
    n = jp->last - p;

    switch (*p) {

    case '{':
        return ngx_http_trtc_json_container(jp, '}');

    case '[':
        return ngx_http_trtc_json_container(jp, ']');

    case '"':
        return ngx_http_trtc_json_string(jp, str);

    case 't':
        if (n >= 4 && ngx_strncmp(p, "true", 4) == 0) {
            jp->p += 4;
            return NGX_OK;
        }
        return NGX_DECLINED;

    case 'f':
        if (n >= 5 && ngx_strncmp(p, "false", 5) == 0) {
            jp->p += 5;
            return NGX_OK;
        }
        return NGX_DECLINED;

    case 'n':
        if (n >= 4 && ngx_strncmp(p, "null", 4) == 0) {
            jp->p += 4;
            return NGX_OK;
        }
        return NGX_DECLINED;

    default:
        return ngx_http_trtc_json_number(jp);
    }
}


static ngx_int_t
ngx_http_trtc_json_container(ngx_http_trtc_json_parse_t *jp, u_char close)
{
    ngx_int_t   rc;
    ngx_str_t   key, value, *want;
    ngx_uint_t  n;

    if (++jp->depth > jp->jc->max_depth) {
        return NGX_DECLINED;
    }

    jp->p++;                                  /* '{' or '[' */

    ngx_http_trtc_json_space(jp);

    if (jp->p < jp->last && *jp->p == close) {
        jp->p++;
        jp->depth--;
        return NGX_OK;
    }

    for (n = 0; /* void */; n++) {

        if (n == jp->jc->max_members) {
            return NGX_DECLINED;
        }

        want = NULL;

        if (close == '}') {
            ngx_http_trtc_json_space(jp);

            if (jp->p == jp->last || *jp->p != '"'
                || ngx_http_trtc_json_string(jp, &key) != NGX_OK)
            {
                return NGX_DECLINED;
            }

            ngx_http_trtc_json_space(jp);

            if (jp->p == jp->last || *jp->p != ':') {
                return NGX_DECLINED;
            }

            jp->p++;

            if (jp->depth == 1 && jp->jc->key.len
                && key.len == jp->jc->key.len
                && ngx_strncmp(key.data, jp->jc->key.data, key.len) == 0)
            {
                ngx_str_null(&value);
                want = &value;
            }
        }

        rc = ngx_http_trtc_json_value(jp, want);
        if (rc != NGX_OK) {
            return rc;
        }

        if (want) {
            jp->jc->value = value;
        }

        ngx_http_trtc_json_space(jp);

        if (jp->p == jp->last) {
            return NGX_DECLINED;
        }

        if (*jp->p == ',') {
            jp->p++;
            continue;
        }

        if (*jp->p == close) {
            jp->p++;
            jp->depth--;
            return NGX_OK;
        }

        return NGX_DECLINED;
    }
}


static ngx_int_t
ngx_http_trtc_json_string(ngx_http_trtc_json_parse_t *jp, ngx_str_t *str)
{
    u_char  *p, *start;
    size_t   n;

    start = ++jp->p;                          /* '"' */
    p = start;

    while (p < jp->last) {

        if ((size_t) (p - start) > jp->jc->max_string) {
            return NGX_DECLINED;
        }

        if (*p == '"') {
            if (str) {
                str->data = start;
                str->len = p - start;
            }

            jp->p = p + 1;
            return NGX_OK;
        }

        if (*p >= 0x80) {
            n = ngx_http_trtc_json_utf8(p, jp->last);
            if (n == 0) {
                return NGX_DECLINED;
            }

            p += n;
            continue;
        }

        if (*p < 0x20) {
            return NGX_DECLINED;
        }

        if (*p != '\\') {
            p++;
            continue;
        }

        if (jp->last - p < 2) {
            return NGX_DECLINED;
        }

        switch (p[1]) {

        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            continue;

        case 'u':
            if (jp->last - p < 6) {
                return NGX_DECLINED;
            }

            for (n = 2; n < 6; n++) {
                if (!isxdigit(p[n])) {
                    return NGX_DECLINED;
                }
            }

            p += 6;
            continue;

        default:
            return NGX_DECLINED;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_trtc_json_number(ngx_http_trtc_json_parse_t *jp)
{
    u_char  *p, *last, *digits;

    p = jp->p;
    last = jp->last;

    if (p < last && *p == '-') {
        p++;
    }

    digits = p;

    if (p < last && *p == '0') {
        p++;

    } else {
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p == digits) {
        return NGX_DECLINED;
    }

    if (p < last && *p == '.') {
        digits = ++p;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == digits) {
            return NGX_DECLINED;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        digits = p;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == digits) {
            return NGX_DECLINED;
        }
    }

    /* numbers are short: a long run of digits is no report */

    if (p - jp->p > 32) {
        return NGX_DECLINED;
    }

    jp->p = p;

    return NGX_OK;
}
