
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CHECK_TARGET_H_INCLUDED_
#define _NGX_HTTP_TRTC_CHECK_TARGET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check.h"


/*
 * The lookups every part of trtc_check shares, beneath them all: a
 * checked peer's target by the balancer's peer name, and its record in
 * the shared zone.
 */


#define NGX_HTTP_TRTC_CHECK_ANY  ((ngx_uint_t) -1)   /* backup or not */


/* the target of the peer "name" (backup: 0, 1 or ..._ANY), or NULL */
ngx_http_trtc_check_target_t *ngx_http_trtc_check_target_find(
    ngx_http_trtc_check_conf_t *ccf, ngx_str_t *name, ngx_uint_t backup);

/* the target's record, if it still is (under the zone's lock) */
ngx_http_trtc_check_peer_t *ngx_http_trtc_check_record(
    ngx_http_trtc_check_target_t *t);


#endif /* _NGX_HTTP_TRTC_CHECK_TARGET_H_INCLUDED_ */
