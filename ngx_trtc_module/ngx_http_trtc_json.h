
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_JSON_H_INCLUDED_
#define _NGX_HTTP_TRTC_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* the most bytes ngx_http_trtc_json_str() writes for len bytes of input */
#define ngx_http_trtc_json_str_size(len)  (2 + 6 * (len))


/*
 * Writes s as a JSON string, quotes included: '"', '\\' and control
 * characters are escaped, valid UTF-8 is copied, and a byte that is not
 * part of valid UTF-8 becomes U+FFFD, so the output is always valid JSON.
 */
u_char *ngx_http_trtc_json_str(u_char *dst, ngx_str_t *s);

/*
 * NGX_OK when s is valid UTF-8 without control characters, i.e. when
 * ngx_http_trtc_json_str() writes it without changing its meaning.
 */
ngx_int_t ngx_http_trtc_json_plain(ngx_str_t *s);

/* what ngx_http_trtc_json_check() accepts, and what it finds */
typedef struct {
    ngx_uint_t    max_depth;     /* nesting of objects and arrays */
    size_t        max_string;    /* bytes of a string as written */
    ngx_uint_t    max_members;   /* of one object or array */
    ngx_str_t     key;           /* a top-level member wanted ... */
    ngx_str_t     value;         /* ... its string value, as written */
} ngx_http_trtc_json_check_t;


/*
 * NGX_OK when [p, last) is one JSON object (RFC 8259: strict UTF-8, no
 * trailing garbage) within the limits; every length is checked before a
 * byte past it is read.  Sets jc->value to the string value of the
 * top-level member jc->key, if any.
 */
ngx_int_t ngx_http_trtc_json_check(u_char *p, u_char *last,
    ngx_http_trtc_json_check_t *jc);


#endif /* _NGX_HTTP_TRTC_JSON_H_INCLUDED_ */
