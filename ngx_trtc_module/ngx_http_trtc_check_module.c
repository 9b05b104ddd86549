
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check.h"
#include "ngx_http_trtc_check_probe.h"
#include "ngx_http_trtc_check_metrics.h"
#include "ngx_http_trtc_check_target.h"


/*
 * trtc_check: active health checks of the peers of an upstream{}, with no
 * patch to nginx.  Every stock balancer (round robin, least_conn, hash,
 * ip_hash, random) skips a peer whose "down" is set, so that is all this
 * module does to them: a wrapper of the upstream's peer.init copies the
 * shared state into the peers whenever it changed (one atomic read per
 * request otherwise), under the peers' lock when they live in a zone.
 *
 * The state lives in a shared zone, found by "upstream/peer name", so it
 * survives a reload.  Each worker arms a timer per peer; whoever finds the
 * probe due takes a lease on it, so one process probes a peer at a time.
 * Timers are cancelable: a graceful shutdown does not wait for them.
 */


#define NGX_HTTP_TRTC_CHECK_ZONE_SIZE  (4 * 1024 * 1024)


typedef struct {
    ngx_array_t                 confs;    /* ngx_http_trtc_check_conf_t * */
    ngx_shm_zone_t             *shm_zone;
    ngx_http_trtc_check_shm_t  *sh;       /* this cycle's zone */
} ngx_http_trtc_check_main_conf_t;


static ngx_int_t ngx_http_trtc_check_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_trtc_check_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_trtc_check_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_trtc_check(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_trtc_check_expect(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf, ngx_str_t *value);
static ngx_int_t ngx_http_trtc_check_targets(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf);
static ngx_int_t ngx_http_trtc_check_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_trtc_check_init_process(ngx_cycle_t *cycle);
static void ngx_http_trtc_check_exit_process(ngx_cycle_t *cycle);
static void ngx_http_trtc_check_timer(ngx_event_t *ev);
static void ngx_http_trtc_check_schedule(ngx_http_trtc_check_target_t *t,
    ngx_msec_t delay);
static ngx_msec_t ngx_http_trtc_check_jitter(ngx_http_trtc_check_conf_t *ccf);
static ngx_int_t ngx_http_trtc_check_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static void ngx_http_trtc_check_apply(ngx_http_trtc_check_conf_t *ccf);
static void ngx_http_trtc_check_done(ngx_http_trtc_check_target_t *t,
    ngx_uint_t ok, ngx_uint_t status, const char *error);


static ngx_command_t  ngx_http_trtc_check_commands[] = {

    { ngx_string("trtc_check"),
      NGX_HTTP_UPS_CONF|NGX_CONF_ANY,
      ngx_http_trtc_check,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_check_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_trtc_check_postconfiguration, /* postconfiguration */

    ngx_http_trtc_check_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_trtc_check_create_srv_conf,   /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_trtc_check_module = {
    NGX_MODULE_V1,
    &ngx_http_trtc_check_module_ctx,       /* module context */
    ngx_http_trtc_check_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_trtc_check_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_trtc_check_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_trtc_check_types[] = {
    ngx_null_string,
    ngx_string("tcp"),
    ngx_string("tls"),
    ngx_string("http"),
    ngx_string("https"),
    ngx_string("wss"),
    ngx_string("stun"),
    ngx_string("stun-tcp"),
    ngx_string("stun-tls")
};


static char *
ngx_http_trtc_check(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_check_conf_t *ccf = conf;

    ngx_int_t                   n;
    ngx_str_t                  *value, s;
    ngx_uint_t                  i, t;

    if (ccf->type != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ccf->type = NGX_HTTP_TRTC_CHECK_TCP;
    ccf->interval = 5000;
    ccf->timeout = 3000;
    ccf->fails = 2;
    ccf->passes = 1;
    ccf->jitter = 20;
    ccf->verify = 1;
    ngx_str_set(&ccf->uri, "/");
    ngx_str_set(&ccf->ca, "/etc/ssl/certs/ca-certificates.crt");

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "type=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            for (t = 1; t < sizeof(ngx_http_trtc_check_types)
                            / sizeof(ngx_str_t); t++)
            {
                if (s.len == ngx_http_trtc_check_types[t].len
                    && ngx_strncmp(s.data, ngx_http_trtc_check_types[t].data,
                                   s.len) == 0)
                {
                    ccf->type = t;
                    break;
                }
            }

            if (t == sizeof(ngx_http_trtc_check_types) / sizeof(ngx_str_t)) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0
            || ngx_strncmp(value[i].data, "timeout=", 8) == 0)
        {
            s.data = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.len = value[i].data + value[i].len - s.data;

            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            if (value[i].data[0] == 'i') {
                ccf->interval = (ngx_msec_t) n;

            } else {
                ccf->timeout = (ngx_msec_t) n;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "fails=", 6) == 0
            || ngx_strncmp(value[i].data, "passes=", 7) == 0
            || ngx_strncmp(value[i].data, "jitter=", 7) == 0
            || ngx_strncmp(value[i].data, "port=", 5) == 0)
        {
            s.data = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.len = value[i].data + value[i].len - s.data;

            n = ngx_atoi(s.data, s.len);
            if (n == NGX_ERROR) {
                goto invalid;
            }

            switch (value[i].data[0]) {

            case 'f':
                if (n < 1 || n > 1000) {
                    goto invalid;
                }

                ccf->fails = n;
                break;

            case 'j':
                if (n > 50) {
                    goto invalid;
                }

                ccf->jitter = n;
                break;

            case 'p':
                if (value[i].data[1] == 'o') {
                    if (n < 1 || n > 65535) {
                        goto invalid;
                    }

                    ccf->port = (in_port_t) n;
                    break;
                }

                if (n < 1 || n > 1000) {
                    goto invalid;
                }

                ccf->passes = n;
                break;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "uri=", 4) == 0
            && value[i].len > 4 && value[i].data[4] == '/')
        {
            ccf->uri.data = value[i].data + 4;
            ccf->uri.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "host=", 5) == 0
            && value[i].len > 5)
        {
            ccf->host.data = value[i].data + 5;
            ccf->host.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ca=", 3) == 0 && value[i].len > 3) {
            ccf->ca.data = value[i].data + 3;
            ccf->ca.len = value[i].len - 3;
            continue;
        }

        if (ngx_strcmp(value[i].data, "verify=on") == 0
            || ngx_strcmp(value[i].data, "verify=off") == 0)
        {
            ccf->verify = (value[i].data[8] == 'n');
            continue;
        }

        if (ngx_strncmp(value[i].data, "metrics=", 8) == 0) {
            if (ngx_http_trtc_check_metrics_conf(cf, ccf, &value[i])
                != NGX_CONF_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "expect=", 7) == 0) {
            if (ngx_http_trtc_check_expect(cf, ccf, &value[i])
                != NGX_CONF_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (ccf->timeout >= ccf->interval) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"timeout\" must be shorter than \"interval\" "
                           "in \"trtc_check\"");
        return NGX_CONF_ERROR;
    }

    if (ccf->nexpect == 0) {
        if (ccf->type == NGX_HTTP_TRTC_CHECK_WSS) {
            ccf->expect[ccf->nexpect++] = 101;

        } else {
            ccf->expect[ccf->nexpect++] = 2;
            ccf->expect[ccf->nexpect++] = 3;
        }
    }

    if (ccf->type == NGX_HTTP_TRTC_CHECK_TLS
        || ccf->type == NGX_HTTP_TRTC_CHECK_HTTPS
        || ccf->type == NGX_HTTP_TRTC_CHECK_WSS
        || ccf->type == NGX_HTTP_TRTC_CHECK_STUN_TLS)
    {
        if (ccf->verify && ngx_http_trtc_client_check_ca(cf, &ccf->ca)
                           != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        ccf->ssl = ngx_http_trtc_client_ssl(cf, &ccf->ca, ccf->verify);
        if (ccf->ssl == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"trtc_check\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* expect=101,200,2xx: exact codes, or a class written as Nxx */

static char *
ngx_http_trtc_check_expect(ngx_conf_t *cf, ngx_http_trtc_check_conf_t *ccf,
    ngx_str_t *value)
{
    u_char     *p, *last, *comma;
    ngx_int_t   n;

    p = value->data + 7;
    last = value->data + value->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (ccf->nexpect == sizeof(ccf->expect) / sizeof(ngx_uint_t)) {
            return NGX_CONF_ERROR;
        }

        if (comma - p == 3 && p[1] == 'x' && p[2] == 'x'
            && p[0] >= '1' && p[0] <= '5')
        {
            ccf->expect[ccf->nexpect++] = p[0] - '0';

        } else {
            n = ngx_atoi(p, comma - p);
            if (n < 100 || n > 599) {
                return NGX_CONF_ERROR;
            }

            ccf->expect[ccf->nexpect++] = n;
        }

        p = comma + 1;
    }

    return ccf->nexpect ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_trtc_check_postconfiguration(ngx_conf_t *cf)
{
    ngx_str_t                         name = ngx_string("trtc_check");
    ngx_uint_t                        i;
    ngx_http_trtc_check_conf_t       *ccf, **cp;
    ngx_http_upstream_srv_conf_t    **uscfp;
    ngx_http_upstream_main_conf_t    *umcf;
    ngx_http_trtc_check_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_check_module);
    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);

    uscfp = umcf->upstreams.elts;

    /*
     * Every upstream's peer.init is final here: the upstream module's
     * init_main_conf ran before any postconfiguration.
     */

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->srv_conf == NULL) {
            continue;
        }

        ccf = ngx_http_conf_upstream_srv_conf(uscfp[i],
                                              ngx_http_trtc_check_module);

        if (ccf == NULL || ccf->type == 0) {
            continue;
        }

        ccf->upstream = uscfp[i];

        if (ngx_http_trtc_check_targets(cf, ccf) != NGX_OK) {
            return NGX_ERROR;
        }

        ccf->original_init = uscfp[i]->peer.init;
        uscfp[i]->peer.init = ngx_http_trtc_check_init_peer;

        cp = ngx_array_push(&cmcf->confs);
        if (cp == NULL) {
            return NGX_ERROR;
        }

        *cp = ccf;
    }

    if (cmcf->confs.nelts == 0) {
        return NGX_OK;
    }

    cmcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                           NGX_HTTP_TRTC_CHECK_ZONE_SIZE,
                                           &ngx_http_trtc_check_module);
    if (cmcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    /* until the zone is initialized, its data is the new configuration */

    cmcf->shm_zone->init = ngx_http_trtc_check_init_zone;
    cmcf->shm_zone->data = cmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_check_targets(ngx_conf_t *cf, ngx_http_trtc_check_conf_t *ccf)
{
    u_char                        *p;
    ngx_uint_t                     backup;
    ngx_url_t                      u;
    ngx_http_upstream_rr_peer_t   *peer;
    ngx_http_upstream_rr_peers_t  *peers;
    ngx_http_trtc_check_target_t  *t;

    if (ngx_array_init(&ccf->targets, cf->pool, 4,
                       sizeof(ngx_http_trtc_check_target_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    peers = ccf->upstream->peer.data;

    for (backup = 0; peers != NULL && backup < 2; backup++) {

        for (peer = peers->peer; peer; peer = peer->next) {

            /* one address listed twice is one peer to check */

            if (ngx_http_trtc_check_target_find(ccf, &peer->name, backup)
                != NULL)
            {
                continue;
            }

            t = ngx_array_push(&ccf->targets);
            if (t == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(t, sizeof(ngx_http_trtc_check_target_t));

            t->conf = ccf;
            t->name = peer->name;
            t->backup = backup;
            t->admin_down = peer->down;

            t->addr.name = peer->name;
            t->addr.socklen = peer->socklen;
            t->addr.sockaddr = ngx_pcalloc(cf->pool, peer->socklen);
            if (t->addr.sockaddr == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(t->addr.sockaddr, peer->sockaddr, peer->socklen);

            if (ccf->port) {
                ngx_inet_set_port(t->addr.sockaddr, ccf->port);
            }

            /* Host and SNI: host=, else the host the server line names */

            if (ccf->host.len) {
                t->host = ccf->host;

            } else if (peer->sockaddr->sa_family == AF_UNIX) {
                /* as proxy_pass does for unix: */
                ngx_str_set(&t->host, "localhost");

            } else {
                ngx_memzero(&u, sizeof(ngx_url_t));
                u.url = peer->server.len ? peer->server : peer->name;
                u.no_resolve = 1;

                if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
                    return NGX_ERROR;
                }

                t->host = u.host;
            }

            p = ngx_pnalloc(cf->pool, t->host.len + 1);
            if (p == NULL) {
                return NGX_ERROR;
            }

            *ngx_cpymem(p, t->host.data, t->host.len) = '\0';
            t->host.data = p;

            if (ccf->metrics_port
                && ngx_http_trtc_check_metrics_target(cf, ccf, t, peer)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        peers = peers->next;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_check_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                            size;
    u_char                           *claimed;
    ngx_uint_t                        i, j, k, n, slot;
    ngx_slab_pool_t                  *shpool;
    ngx_http_trtc_check_shm_t        *sh;
    ngx_http_trtc_check_peer_t       *rec;
    ngx_http_trtc_check_conf_t      **cp;
    ngx_http_trtc_check_target_t     *t;
    ngx_http_trtc_check_main_conf_t  *cmcf;
    u_char                            key[NGX_HTTP_TRTC_CHECK_KEY_LEN];

    cmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data) {
        /* a reload: the zone and every peer's state go on */
        sh = data;

    } else {
        /* half the zone: the slab allocator keeps the rest for itself */
        size = shm_zone->shm.size / 2 / sizeof(ngx_http_trtc_check_peer_t);

        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_trtc_check_shm_t)
                             + size * sizeof(ngx_http_trtc_check_peer_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->npeers = size;
        shpool->data = sh;
    }

    claimed = ngx_calloc(sh->npeers, shm_zone->shm.log);
    if (claimed == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&shpool->mutex);

    cp = cmcf->confs.elts;

    /* first the peers the zone knows, then new ones in free records */

    for (k = 0; k < 2; k++) {
        for (i = 0; i < cmcf->confs.nelts; i++) {
            t = cp[i]->targets.elts;

            for (j = 0; j < cp[i]->targets.nelts; j++) {

                ngx_memzero(key, sizeof(key));
                ngx_snprintf(key, sizeof(key) - 1, "%V/%V%s",
                             &cp[i]->upstream->host, &t[j].name,
                             t[j].backup ? " backup" : "");

                if (k == 1 && t[j].index != (ngx_uint_t) -1
                    && t[j].index < sh->npeers && claimed[t[j].index])
                {
                    continue;
                }

                slot = (ngx_uint_t) -1;

                for (n = 0; n < sh->npeers; n++) {
                    rec = &sh->peers[n];

                    if (k == 0) {
                        if (rec->used && !claimed[n]
                            && ngx_strcmp(rec->key, key) == 0)
                        {
                            break;
                        }

                    } else if (!claimed[n]
                               && (!rec->used || slot == (ngx_uint_t) -1))
                    {
                        slot = n;

                        if (!rec->used) {
                            break;
                        }
                    }
                }

                if (k == 0) {
                    ngx_memcpy(t[j].key, key, sizeof(key));
                    t[j].index = (n < sh->npeers) ? n : (ngx_uint_t) -1;

                    if (n < sh->npeers) {
                        claimed[n] = 1;
                    }

                    continue;
                }

                if (slot == (ngx_uint_t) -1) {
                    ngx_shmtx_unlock(&shpool->mutex);
                    ngx_free(claimed);
                    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                                  "trtc_check zone is too small for %V",
                                  &t[j].name);
                    return NGX_ERROR;
                }

                /* a new peer starts healthy: nothing says otherwise yet */

                rec = &sh->peers[slot];
                ngx_memzero(rec, sizeof(ngx_http_trtc_check_peer_t));
                ngx_memcpy(rec->key, key, sizeof(key));
                rec->used = 1;
                rec->since = ngx_time();

                claimed[slot] = 1;
                t[j].index = slot;
            }
        }
    }

    /*
     * Records of peers gone from the configuration stay: the old workers
     * may still use them, and this configuration may yet fail.  A new
     * peer takes a free record, or else one no peer of it claims; a
     * process writes to a record only while it carries its key.
     */

    sh->generation++;

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_free(claimed);

    shm_zone->data = sh;
    cmcf->sh = sh;

    for (i = 0; i < cmcf->confs.nelts; i++) {
        cp[i]->sh = sh;
        cp[i]->shpool = shpool;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_check_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i, j;
    ngx_http_trtc_check_conf_t      **cp;
    ngx_http_trtc_check_target_t     *t;
    ngx_http_trtc_check_main_conf_t  *cmcf;

    if (ngx_process != NGX_PROCESS_SINGLE
        && ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_trtc_check_module);

    if (cmcf == NULL || cmcf->confs.nelts == 0 || cmcf->sh == NULL) {
        return NGX_OK;
    }

    cp = cmcf->confs.elts;

    for (i = 0; i < cmcf->confs.nelts; i++) {
        t = cp[i]->targets.elts;

        for (j = 0; j < cp[i]->targets.nelts; j++) {
            t[j].timer.handler = ngx_http_trtc_check_timer;
            t[j].timer.data = &t[j];
            t[j].timer.log = cycle->log;
            t[j].timer.cancelable = 1;

            /* spread the first probes over one interval */
            ngx_http_trtc_check_schedule(&t[j],
                                         ngx_random() % cp[i]->interval + 1);
        }
    }

    return NGX_OK;
}


static void
ngx_http_trtc_check_timer(ngx_event_t *ev)
{
    ngx_msec_t                     now, delay;
    ngx_http_trtc_check_peer_t    *rec;
    ngx_http_trtc_check_target_t  *t;

    t = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    now = ngx_current_msec;

    ngx_shmtx_lock(&t->conf->shpool->mutex);

    rec = ngx_http_trtc_check_record(t);

    if (rec == NULL) {
        /* a newer configuration took the record: this one is over */
        ngx_shmtx_unlock(&t->conf->shpool->mutex);
        return;
    }

    if (rec->owner != 0 && (ngx_msec_int_t) (now - rec->lease) < 0) {
        /* another process is probing it */
        delay = t->conf->interval;

    } else if ((ngx_msec_int_t) (now - rec->next) < 0) {
        delay = rec->next - now;

    } else {
        rec->owner = ngx_pid;
        rec->lease = now + t->conf->timeout + 1000;
        rec->next = now + ngx_http_trtc_check_jitter(t->conf);
        delay = 0;
    }

    ngx_shmtx_unlock(&t->conf->shpool->mutex);

    if (delay) {
        /* a little later than due, so the prober usually finishes first */
        ngx_http_trtc_check_schedule(t, delay + ngx_random() % 50 + 1);
        return;
    }

    t->start = now;
    t->done = ngx_http_trtc_check_done;
    ngx_http_trtc_check_probe(t);

    /*
     * Beside the probe, never part of it: the health is the probe's.  Not
     * while the last scrape's report is still posted: it would be taken
     * for this one's timeout.
     */

    if (t->conf->metrics_port && !t->scrape.active
        && !t->scrape.timer.posted)
    {
        ngx_http_trtc_check_scrape(t);
    }
}


static void
ngx_http_trtc_check_done(ngx_http_trtc_check_target_t *t, ngx_uint_t ok,
    ngx_uint_t status, const char *error)
{
    ngx_uint_t                     changed;
    ngx_http_trtc_check_conf_t    *ccf;
    ngx_http_trtc_check_peer_t    *rec;
    ngx_http_trtc_check_minute_t  *m;

    ccf = t->conf;
    changed = 0;

    ngx_shmtx_lock(&ccf->shpool->mutex);

    rec = ngx_http_trtc_check_record(t);

    if (rec == NULL) {
        ngx_shmtx_unlock(&ccf->shpool->mutex);
        return;
    }

    rec->owner = 0;
    rec->checks++;
    rec->last = ngx_time();
    rec->latency = ngx_current_msec - t->start;
    rec->last_ok = ok;
    rec->last_status = status;

    /* this minute of the last hour: a new minute overwrites its slot */
    m = &rec->history[(rec->last / 60) % NGX_HTTP_TRTC_CHECK_HISTORY];

    if (m->minute != (uint32_t) (rec->last / 60)) {
        ngx_memzero(m, sizeof(ngx_http_trtc_check_minute_t));
        m->minute = (uint32_t) (rec->last / 60);
    }

    m->checks += (m->checks < 0xffff) ? 1 : 0;

    if (!ok) {
        m->failures += (m->failures < 0xffff) ? 1 : 0;

    } else if (rec->latency > m->latency) {
        m->latency = (uint32_t) ngx_min(rec->latency, 0xffffffff);
    }

    ngx_memzero(rec->last_error, NGX_HTTP_TRTC_CHECK_ERR_LEN);

    if (error) {
        ngx_cpystrn(rec->last_error, (u_char *) error,
                    NGX_HTTP_TRTC_CHECK_ERR_LEN);
    }

    if (ok) {
        rec->passes++;
        rec->fails = 0;

        if (rec->down && rec->passes >= ccf->passes) {
            rec->down = 0;
            rec->since = rec->last;
            changed = 1;
        }

    } else {
        rec->fails++;
        rec->failures++;
        rec->passes = 0;

        if (!rec->down && rec->fails >= ccf->fails) {
            rec->down = 1;
            rec->since = rec->last;
            changed = 1;
        }
    }

    if (changed) {
        (void) ngx_atomic_fetch_add(&ccf->sh->generation, 1);
    }

    ngx_shmtx_unlock(&ccf->shpool->mutex);

    if (changed) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "trtc check: peer %V of upstream \"%V\" is %s "
                      "(%s check: %s)", &t->name, &ccf->upstream->host,
                      ok ? "up" : "down",
                      ngx_http_trtc_check_type_name(ccf->type),
                      ok ? "passed" : (error ? error : "unexpected status"));
    }

    ngx_http_trtc_check_schedule(t, ccf->interval);
}


/* a probe in flight is closed, not left for nginx to find at exit */

static void
ngx_http_trtc_check_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i, j;
    ngx_http_trtc_check_peer_t       *rec;
    ngx_http_trtc_check_conf_t      **cp;
    ngx_http_trtc_check_target_t     *t;
    ngx_http_trtc_check_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_trtc_check_module);

    if (cmcf == NULL || cmcf->sh == NULL) {
        return;
    }

    cp = cmcf->confs.elts;

    for (i = 0; i < cmcf->confs.nelts; i++) {
        t = cp[i]->targets.elts;

        for (j = 0; j < cp[i]->targets.nelts; j++) {

            if (t[j].client.active) {
                ngx_http_trtc_client_cancel(&t[j].client);
            }

            if (t[j].scrape.active) {
                ngx_http_trtc_client_cancel(&t[j].scrape);
            }

            if (t[j].udp != NULL) {
                ngx_close_connection(t[j].udp);
                t[j].udp = NULL;
            }

            if (t[j].udp_timer.timer_set) {
                ngx_del_timer(&t[j].udp_timer);
            }

            ngx_shmtx_lock(&cp[i]->shpool->mutex);

            rec = ngx_http_trtc_check_record(&t[j]);

            if (rec != NULL && rec->owner == ngx_pid) {
                rec->owner = 0;
            }

            ngx_shmtx_unlock(&cp[i]->shpool->mutex);
        }
    }
}


static void
ngx_http_trtc_check_schedule(ngx_http_trtc_check_target_t *t,
    ngx_msec_t delay)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(&t->timer, delay);
}


static ngx_msec_t
ngx_http_trtc_check_jitter(ngx_http_trtc_check_conf_t *ccf)
{
    ngx_msec_t  spread;

    spread = ccf->interval * ccf->jitter / 100;

    if (spread == 0) {
        return ccf->interval;
    }

    /* interval - spread/2 .. interval + spread/2 */
    return ccf->interval - spread / 2 + ngx_random() % (spread + 1);
}


static ngx_int_t
ngx_http_trtc_check_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_trtc_check_conf_t  *ccf;

    ccf = ngx_http_conf_upstream_srv_conf(us, ngx_http_trtc_check_module);

    if (ccf->sh != NULL && ccf->generation != ccf->sh->generation) {
        ngx_http_trtc_check_apply(ccf);
    }

    return ccf->original_init(r, us);
}


/* copies the shared state into the balancer's peers */

static void
ngx_http_trtc_check_apply(ngx_http_trtc_check_conf_t *ccf)
{
    ngx_uint_t                     backup, down, generation;
    ngx_http_upstream_rr_peer_t   *peer;
    ngx_http_upstream_rr_peers_t  *peers, *list;
    ngx_http_trtc_check_target_t  *t;

    generation = ccf->sh->generation;
    peers = ccf->upstream->peer.data;

    ngx_http_upstream_rr_peers_wlock(peers);

    for (list = peers, backup = 0; list && backup < 2; backup++) {

        for (peer = list->peer; peer; peer = peer->next) {

            t = ngx_http_trtc_check_target_find(ccf, &peer->name, backup);

            if (t == NULL) {
                continue;
            }

            down = t->admin_down || ccf->sh->peers[t->index].down;

            if (peer->down && !down) {
                /* a revived peer starts with a clean slate */
                peer->fails = 0;
            }

            peer->down = down;
        }

        list = list->next;
    }

    ngx_http_upstream_rr_peers_unlock(peers);

    ccf->generation = generation;
}


ngx_uint_t
ngx_http_trtc_check_peer_usable(ngx_http_upstream_srv_conf_t *uscf,
    ngx_str_t *name)
{
    ngx_http_trtc_check_conf_t    *ccf;
    ngx_http_trtc_check_target_t  *t;

    if (uscf->srv_conf == NULL) {
        return 1;
    }

    ccf = ngx_http_conf_upstream_srv_conf(uscf, ngx_http_trtc_check_module);

    if (ccf == NULL || ccf->type == 0 || ccf->sh == NULL) {
        return 1;
    }

    t = ngx_http_trtc_check_target_find(ccf, name, NGX_HTTP_TRTC_CHECK_ANY);

    if (t == NULL) {
        return 1;
    }

    return !t->admin_down && !ccf->sh->peers[t->index].down;
}


ngx_str_t *
ngx_http_trtc_check_peer_host(ngx_http_upstream_srv_conf_t *uscf,
    ngx_str_t *name)
{
    ngx_http_trtc_check_conf_t    *ccf;
    ngx_http_trtc_check_target_t  *t;

    if (uscf->srv_conf == NULL) {
        return NULL;
    }

    ccf = ngx_http_conf_upstream_srv_conf(uscf, ngx_http_trtc_check_module);

    if (ccf == NULL || ccf->type == 0) {
        return NULL;
    }

    t = ngx_http_trtc_check_target_find(ccf, name, NGX_HTTP_TRTC_CHECK_ANY);

    return t ? &t->host : NULL;
}


ngx_http_trtc_check_shm_t *
ngx_http_trtc_check_shm(ngx_http_request_t *r)
{
    ngx_http_trtc_check_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_check_module);

    return cmcf->sh;
}


ngx_array_t *
ngx_http_trtc_check_confs(ngx_http_request_t *r)
{
    ngx_http_trtc_check_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_check_module);

    return &cmcf->confs;
}


const char *
ngx_http_trtc_check_type_name(ngx_uint_t type)
{
    return (const char *) ngx_http_trtc_check_types[type].data;
}


static void *
ngx_http_trtc_check_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_check_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_check_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&cmcf->confs, cf->pool, 4,
                       sizeof(ngx_http_trtc_check_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return cmcf;
}


static void *
ngx_http_trtc_check_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_check_conf_t  *ccf;

    ccf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_check_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ccf->type = 0;    (no trtc_check in this block)
     */

    return ccf;
}
