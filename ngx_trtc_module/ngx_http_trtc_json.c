
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_trtc_json.h"


static size_t ngx_http_trtc_json_utf8(u_char *p, u_char *last);


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
