
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_APPLY_H_INCLUDED_
#define _NGX_HTTP_TRTC_APPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* a default: the user's own earlier directive of that name wins */
#define NGX_HTTP_TRTC_APPLY_DEFAULT  0x01


/*
 * Applies the location directive "name arg1 arg2 ... NULL" in the
 * current location.  Returns NGX_CONF_OK or NGX_CONF_ERROR (logged).
 */
char *ngx_http_trtc_apply(ngx_conf_t *cf, ngx_uint_t flags,
    const char *name, ...);


#endif /* _NGX_HTTP_TRTC_APPLY_H_INCLUDED_ */
