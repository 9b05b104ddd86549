
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CHECK_PROBE_H_INCLUDED_
#define _NGX_HTTP_TRTC_CHECK_PROBE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check.h"


/* one probe of the target; it ends, always later, in t->done */
void ngx_http_trtc_check_probe(ngx_http_trtc_check_target_t *t);


#endif /* _NGX_HTTP_TRTC_CHECK_PROBE_H_INCLUDED_ */
