
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_SPOOL_H_INCLUDED_
#define _NGX_HTTP_TRTC_SPOOL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_client.h"
#include "ngx_http_trtc_proxy.h"


/*
 * What the spool's writer (ngx_http_trtc_spool.c: the directive and the
 * request side) and its replayer (ngx_http_trtc_replay.c: one worker
 * sending the files upstream again) share.
 */


#define NGX_HTTP_TRTC_SPOOL_NAME_LEN   64
#define NGX_HTTP_TRTC_SPOOL_TICK       1000
#define NGX_HTTP_TRTC_SPOOL_BACKOFF    30000


/* a file waiting in the spool, as the replayer knows it */
typedef struct {
    u_char                      name[NGX_HTTP_TRTC_SPOOL_NAME_LEN];
    off_t                       size;
    ngx_uint_t                  attempts;      /* answered failures */
    ngx_msec_t                  next;          /* no try before */
    unsigned                    gone:1;        /* delivered or set aside */
    unsigned                    tried:1;       /* out of spool_fresh */
} ngx_http_trtc_spool_file_t;


struct ngx_http_trtc_spool_s {
    ngx_str_t                   dir;             /* NUL-terminated */
    off_t                       max_size;
    time_t                      max_age;         /* seconds, 0: none */
    ngx_uint_t                  max_attempts;    /* 0: no limit */
    ngx_uint_t                  index;
    ngx_ssl_t                  *ssl;
    ngx_str_t                   server_name;     /* host without port */
    ngx_http_trtc_proxy_loc_t  *plcf;
    ngx_str_t                   file;            /* of the directive */
    ngx_uint_t                  line;
    ngx_http_trtc_counters_t        *counters;   /* this cycle's zone */
#if (NGX_THREADS)
    ngx_thread_pool_t          *thread_pool;     /* NULL: on the loop */
#endif

    /* the replayer, in one worker */
    ngx_event_t                 tick;
    ngx_http_trtc_client_t      client;
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_msec_t                  backoff;         /* the upstream's */
    ngx_msec_t                  retry;           /* no try before, or 0 */
    ngx_atomic_int_t            fresh;           /* spool_fresh, then */
    ngx_uint_t                  failures;        /* first tries, in a row */
    ngx_uint_t                  next_peer;
    ngx_http_trtc_spool_file_t *files;           /* sorted by name */
    ngx_uint_t                  nfiles;
    ngx_http_trtc_spool_file_t *current;
    ngx_msec_t                  scanned;         /* when, last */
    void                       *read;            /* the file being read */
#if (NGX_THREADS)
    ngx_thread_task_t          *task;            /* that read, threaded */
#endif
    unsigned                    reading:1;
    struct sockaddr_storage     sockaddr;
    ngx_str_t                   peer_name;
    u_char                      peer_text[NGX_SOCKADDR_STRLEN];
};


/*
 * Reads the directory: recounts the shared spool_bytes/spool_files and,
 * when list is set, refreshes sp->files (keeping what it knew of each
 * file).  NGX_OK, NGX_DECLINED (no file waits) or NGX_ERROR.
 */
ngx_int_t ngx_http_trtc_spool_scan(ngx_http_trtc_spool_t *sp,
    ngx_uint_t list);


#endif /* _NGX_HTTP_TRTC_SPOOL_H_INCLUDED_ */
