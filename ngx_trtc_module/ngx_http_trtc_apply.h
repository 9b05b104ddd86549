
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_APPLY_H_INCLUDED_
#define _NGX_HTTP_TRTC_APPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * A default: the user's own earlier directive of that name wins (for a
 * key-value directive such as proxy_set_header, of that name and key).
 */
#define NGX_HTTP_TRTC_APPLY_DEFAULT  0x01


/*
 * Applies the location directive "name arg1 arg2 ... NULL" in the
 * current location.  Returns NGX_CONF_OK or NGX_CONF_ERROR (logged).
 */
char *ngx_http_trtc_apply(ngx_conf_t *cf, ngx_uint_t flags,
    const char *name, ...) __attribute__ ((sentinel));

/* how many times key is in a key-value list (proxy_set_header's) */
ngx_uint_t ngx_http_trtc_apply_has_key(ngx_array_t *kv, ngx_str_t *key);

/* the list of the key-value directive "name" in the current location */
ngx_array_t **ngx_http_trtc_apply_keyvals(ngx_conf_t *cf, const char *name);


#endif /* _NGX_HTTP_TRTC_APPLY_H_INCLUDED_ */
