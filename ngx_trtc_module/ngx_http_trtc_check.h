
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CHECK_H_INCLUDED_
#define _NGX_HTTP_TRTC_CHECK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_client.h"


#define NGX_HTTP_TRTC_CHECK_TCP      1
#define NGX_HTTP_TRTC_CHECK_TLS      2
#define NGX_HTTP_TRTC_CHECK_HTTP     3
#define NGX_HTTP_TRTC_CHECK_HTTPS    4
#define NGX_HTTP_TRTC_CHECK_WSS      5
#define NGX_HTTP_TRTC_CHECK_STUN     6
#define NGX_HTTP_TRTC_CHECK_STUN_TCP 7
#define NGX_HTTP_TRTC_CHECK_STUN_TLS 8

#define NGX_HTTP_TRTC_CHECK_KEY_LEN  160
#define NGX_HTTP_TRTC_CHECK_ERR_LEN  48


/*
 * A peer's state in the shared zone, the same for every worker and kept
 * across reloads: records are found by key ("upstream/peer name"), never
 * by index.  Times in msec are ngx_current_msec (monotonic, one clock for
 * all processes); "since" and "last" are wall-clock seconds for people.
 */

/* a minute of a peer's last hour, for the status page's charts */
#define NGX_HTTP_TRTC_CHECK_HISTORY  60

typedef struct {
    uint32_t                    minute;        /* wall time / 60 */
    uint32_t                    latency;       /* ms, slowest passed probe */
    uint16_t                    checks;
    uint16_t                    failures;
} ngx_http_trtc_check_minute_t;


/* turnd's metrics in a minute: the most allocations, bytes relayed */
typedef struct {
    uint32_t                    minute;        /* wall time / 60 */
    uint32_t                    allocations;
    uint64_t                    to_peer;
    uint64_t                    from_peer;
} ngx_http_trtc_check_turnd_minute_t;


/* the last scrape of turnd's metrics (trtc_check metrics=) */
typedef struct {
    time_t                      last;          /* last scrape ended */
    ngx_uint_t                  last_ok;
    u_char                      last_error[NGX_HTTP_TRTC_CHECK_ERR_LEN];
    ngx_uint_t                  scrapes;       /* all time */
    ngx_uint_t                  failures;      /* all time */
    ngx_uint_t                  counted;       /* the counters below are */

    /* as last scraped: allocations now, counters since turnd started */
    uint64_t                    allocations;
    uint64_t                    packets_to_peer;
    uint64_t                    packets_from_peer;
    uint64_t                    bytes_to_peer;
    uint64_t                    bytes_from_peer;

    ngx_http_trtc_check_turnd_minute_t  history[NGX_HTTP_TRTC_CHECK_HISTORY];
} ngx_http_trtc_check_turnd_t;


typedef struct {
    u_char                      key[NGX_HTTP_TRTC_CHECK_KEY_LEN];
    ngx_uint_t                  used;

    ngx_pid_t                   owner;         /* who probes it now */
    ngx_msec_t                  lease;         /* until when */
    ngx_msec_t                  next;          /* next probe is due */

    ngx_uint_t                  down;
    time_t                      since;         /* state since */
    time_t                      last;          /* last probe ended */
    ngx_msec_t                  latency;       /* of the last probe */
    ngx_uint_t                  last_ok;
    ngx_uint_t                  last_status;   /* HTTP status, if any */
    u_char                      last_error[NGX_HTTP_TRTC_CHECK_ERR_LEN];

    ngx_uint_t                  passes;        /* consecutive */
    ngx_uint_t                  fails;         /* consecutive */
    ngx_uint_t                  checks;        /* all time */
    ngx_uint_t                  failures;      /* all time */

    /* slot (minute % NGX_HTTP_TRTC_CHECK_HISTORY) */
    ngx_http_trtc_check_minute_t  history[NGX_HTTP_TRTC_CHECK_HISTORY];

    ngx_http_trtc_check_turnd_t   turnd;
} ngx_http_trtc_check_peer_t;


typedef struct {
    ngx_atomic_t                generation;    /* bumped on every change */
    ngx_uint_t                  npeers;
    ngx_http_trtc_check_peer_t  peers[1];
} ngx_http_trtc_check_shm_t;


typedef struct ngx_http_trtc_check_conf_s  ngx_http_trtc_check_conf_t;
typedef struct ngx_http_trtc_check_target_s  ngx_http_trtc_check_target_t;

/* how a probe reports: set by whoever starts it */
typedef void (*ngx_http_trtc_check_done_pt)(ngx_http_trtc_check_target_t *t,
    ngx_uint_t ok, ngx_uint_t status, const char *error);


/* a peer to check, in this process */
struct ngx_http_trtc_check_target_s {
    ngx_http_trtc_check_conf_t *conf;
    u_char                      key[NGX_HTTP_TRTC_CHECK_KEY_LEN];
    ngx_str_t                   name;          /* the peer's address */
    ngx_str_t                   host;          /* Host and SNI */
    ngx_addr_t                  addr;          /* where probes go */
    ngx_uint_t                  backup;
    ngx_uint_t                  admin_down;    /* "down" in the config */
    ngx_uint_t                  index;         /* into the zone */

    ngx_event_t                 timer;
    ngx_http_trtc_client_t      client;
    ngx_connection_t           *udp;
    ngx_event_t                 udp_timer;
    u_char                      tid[12];
    ngx_msec_t                  start;
    ngx_str_t                   request;

    /* turnd's metrics: a scrape beside each probe, its own client */
    ngx_http_trtc_client_t      scrape;
    ngx_addr_t                  metrics_addr;
    ngx_str_t                   metrics_request;
    u_char                     *metrics_buf;

    ngx_http_trtc_check_done_pt done;          /* the probe's report */
};


/* trtc_check, per upstream{} */
struct ngx_http_trtc_check_conf_s {
    ngx_uint_t                      type;
    ngx_msec_t                      interval;
    ngx_msec_t                      timeout;
    ngx_uint_t                      fails;
    ngx_uint_t                      passes;
    ngx_uint_t                      jitter;        /* percent */
    ngx_str_t                       uri;
    ngx_str_t                       host;
    ngx_uint_t                      expect[8];     /* codes; 2 = 2xx */
    ngx_uint_t                      nexpect;
    in_port_t                       port;
    ngx_uint_t                      verify;
    ngx_str_t                       ca;
    ngx_ssl_t                      *ssl;

    /* metrics=[address:]port[/uri]: turnd's Prometheus metrics */
    in_port_t                       metrics_port;  /* 0: none */
    ngx_addr_t                     *metrics_addr;  /* NULL: the peer's */
    ngx_str_t                       metrics_uri;

    ngx_http_upstream_srv_conf_t   *upstream;
    ngx_http_upstream_init_peer_pt  original_init;
    ngx_http_trtc_check_shm_t      *sh;        /* this cycle's zone */
    ngx_slab_pool_t                *shpool;
    ngx_array_t                     targets;
    ngx_uint_t                      generation;    /* as applied here */
};


/*
 * For trtc_proxy_config and others: 0 when the zone says the peer named
 * "name" of upstream "uscf" is down, 1 otherwise (also when unchecked).
 */
ngx_uint_t ngx_http_trtc_check_peer_usable(ngx_http_upstream_srv_conf_t *uscf,
    ngx_str_t *name);

/*
 * The name a checked peer's certificate is verified against (host=, or
 * the host of its server line), or NULL when the upstream is unchecked.
 */
ngx_str_t *ngx_http_trtc_check_peer_host(ngx_http_upstream_srv_conf_t *uscf,
    ngx_str_t *name);

/* the zone and the checked upstreams, for trtc_status */
ngx_http_trtc_check_shm_t *ngx_http_trtc_check_shm(ngx_http_request_t *r);
ngx_array_t *ngx_http_trtc_check_confs(ngx_http_request_t *r);
const char *ngx_http_trtc_check_type_name(ngx_uint_t type);


extern ngx_module_t  ngx_http_trtc_check_module;


#endif /* _NGX_HTTP_TRTC_CHECK_H_INCLUDED_ */
