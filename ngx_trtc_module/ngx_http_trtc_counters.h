
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_COUNTERS_H_INCLUDED_
#define _NGX_HTTP_TRTC_COUNTERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_TRTC_MAX_SPOOLS  8


/*
 * The module's counters, in one shared zone "trtc_counters": every worker
 * adds to the same ones, and they survive a reload.
 */
typedef struct {
    ngx_atomic_t                signaling_open;
    ngx_atomic_t                signaling_total;
    ngx_atomic_t                signaling_bytes_up;     /* to upstream */
    ngx_atomic_t                signaling_bytes_down;   /* to clients */
    ngx_atomic_t                uploads_proxied;
    ngx_atomic_t                uploads_spooled;
    ngx_atomic_t                uploads_replayed;
    ngx_atomic_t                uploads_refused;
    ngx_atomic_t                uploads_rejected;   /* set aside: 4xx */
    ngx_atomic_t                uploads_expired;    /* max_age, attempts */
    ngx_atomic_t                uploads_damaged;    /* unreadable file */
    ngx_atomic_t                spool_bytes[NGX_HTTP_TRTC_MAX_SPOOLS];
    ngx_atomic_t                spool_files[NGX_HTTP_TRTC_MAX_SPOOLS];
    /* spooled, not yet tried once by the replayer: the outage's backlog */
    ngx_atomic_t                spool_fresh[NGX_HTTP_TRTC_MAX_SPOOLS];

    /* the diagnostics page's own tries, kept out of the counts above */
    ngx_atomic_t                signaling_test;
    ngx_atomic_t                uploads_test;
    ngx_atomic_t                uploads_test_spooled;

    ngx_atomic_t                credentials_issued;
} ngx_http_trtc_counters_t;


/* run once the zone holds the counters (in the master, at each cycle) */
typedef ngx_int_t (*ngx_http_trtc_counters_ready_pt)(
    ngx_http_trtc_counters_t *counters, ngx_log_t *log, void *data);


/*
 * The zone, added by every part that counts (the same zone each time);
 * at most one of them passes a ready handler.  Once the cycle's zones
 * are initialized, zone->data is the ngx_http_trtc_counters_t.
 */
ngx_shm_zone_t *ngx_http_trtc_counters_zone(ngx_conf_t *cf,
    ngx_http_trtc_counters_ready_pt ready, void *data);


#endif /* _NGX_HTTP_TRTC_COUNTERS_H_INCLUDED_ */
