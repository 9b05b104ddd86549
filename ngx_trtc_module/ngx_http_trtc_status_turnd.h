
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_STATUS_TURND_H_INCLUDED_
#define _NGX_HTTP_TRTC_STATUS_TURND_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check.h"


/*
 * turnd's scraped metrics of a peer (trtc_check metrics=) in trtc_status:
 * each adds nothing when the peer's upstream has no metrics=.
 */

size_t ngx_http_trtc_status_turnd_size(ngx_http_trtc_check_conf_t *ccf);

/* ,"turnd":{...} inside the peer's object */
u_char *ngx_http_trtc_status_turnd_json(u_char *p,
    ngx_http_trtc_check_target_t *t, ngx_http_trtc_check_peer_t *rec);

/* its last values and an inline SVG of its last hour, in the peer's row */
u_char *ngx_http_trtc_status_turnd_html(u_char *p,
    ngx_http_trtc_check_target_t *t, ngx_http_trtc_check_peer_t *rec,
    time_t now);


#endif /* _NGX_HTTP_TRTC_STATUS_TURND_H_INCLUDED_ */
