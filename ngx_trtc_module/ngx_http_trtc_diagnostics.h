
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_DIAGNOSTICS_H_INCLUDED_
#define _NGX_HTTP_TRTC_DIAGNOSTICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * trtc_diagnostics: the browser self-test page, and the store of the
 * results its users report.  trtc_status shows the store through the two
 * functions below, in its own formats.
 */


#define NGX_HTTP_TRTC_DIAG_JSON        0
#define NGX_HTTP_TRTC_DIAG_PROMETHEUS  1
#define NGX_HTTP_TRTC_DIAG_HTML        2


/* the most bytes ngx_http_trtc_diagnostics_status() writes */
size_t ngx_http_trtc_diagnostics_status_size(ngx_http_request_t *r,
    ngx_uint_t format);

/*
 * The stored reports and their counts: JSON as ',"diagnostics":{...}'
 * (to close the status object with), Prometheus families, or an HTML
 * section; nothing when no location keeps reports.
 */
u_char *ngx_http_trtc_diagnostics_status(ngx_http_request_t *r, u_char *p,
    ngx_uint_t format);


extern ngx_module_t  ngx_http_trtc_diagnostics_module;


#endif /* _NGX_HTTP_TRTC_DIAGNOSTICS_H_INCLUDED_ */
