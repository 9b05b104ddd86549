
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


#endif /* _NGX_HTTP_TRTC_JSON_H_INCLUDED_ */
