
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_spool.h"


/*
 * trtc_logger_spool, the replayer: one worker sends the spooled files
 * upstream again and deletes each only when the upstream has answered it
 * with a final 2xx.  Each file is read (and checked) in the spool's
 * thread pool, like the writes.  It never waits on one file:
 *
 *   - the upstream cannot be reached (or TLS fails): that is the
 *     upstream's outage, not the file's; the whole spool waits (1 s,
 *     doubling up to 30 s) and no file's attempt is counted;
 *   - a 5xx, 408, 429, 101, a timeout or a reply that is no HTTP answer:
 *     that file waits (1 s after its first failure, doubling up to 30 s)
 *     while the next ones go; after max_attempts such failures, or once
 *     older than max_age, it is set aside as ".expired-NAME";
 *   - any other 3xx or 4xx: the upstream will never take it; set aside as
 *     ".rejected-NAME";
 *   - a file that is not a whole request (truncated, tampered with):
 *     set aside as ".bad-NAME" before it is sent.
 *
 * Set-aside files keep their dot names (the scan skips them), count
 * against max_size, and each is counted on the status page.  The next
 * file is always the oldest whose time has come, so files are first
 * tried in arrival order; one that failed goes again when its wait is
 * over and may arrive after later ones.  More than 16 files failing in a
 * row on their first try (the upstream answers 5xx to everything) make
 * the replayer pause a second between tries until one goes through.
 *
 * The files not yet tried once are the backlog (spool_fresh, shared): new
 * uploads queue behind it instead of going upstream, so the replayer
 * takes one off when a file's first try is over (or it leaves untried).
 */


#define NGX_HTTP_TRTC_REPLAY_TIMEOUT   30000
#define NGX_HTTP_TRTC_REPLAY_RESCAN    100
#define NGX_HTTP_TRTC_REPLAY_FAILURES  16


/* a spooled file read for a replay: in the thread pool, or on the loop */
typedef struct {
    ngx_http_trtc_spool_t      *spool;
    off_t                       max_size;
    off_t                       size;
    u_char                     *data;          /* ngx_alloc()ed */
    ngx_err_t                   err;
    const char                 *failed;        /* why it is set aside */
    unsigned                    gone:1;        /* ENOENT */
    unsigned                    again:1;       /* try later */
    u_char                      path[NGX_MAX_PATH];
} ngx_http_trtc_replay_read_t;


static void ngx_http_trtc_replay_tick(ngx_event_t *ev);
static ngx_http_trtc_spool_file_t *ngx_http_trtc_replay_pick(
    ngx_http_trtc_spool_t *sp, ngx_msec_t *wait);
static ngx_int_t ngx_http_trtc_replay_age(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f);
static void ngx_http_trtc_replay_read(void *data, ngx_log_t *log);
#if (NGX_THREADS)
static void ngx_http_trtc_replay_read_done(ngx_event_t *ev);
#endif
static void ngx_http_trtc_replay_loaded(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_replay_read_t *rd);
static void ngx_http_trtc_replay_free(void *data);
static ngx_int_t ngx_http_trtc_replay_valid(u_char *p, size_t len);
static ngx_int_t ngx_http_trtc_replay_peer(ngx_http_trtc_spool_t *sp);
static void ngx_http_trtc_replay_done(ngx_http_trtc_client_t *cl);
static void ngx_http_trtc_replay_set_aside(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f, const char *prefix, ngx_atomic_t *counter);
static void ngx_http_trtc_replay_forget(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f, ngx_uint_t still_on_disk);
static void ngx_http_trtc_replay_tried(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f);
static ngx_msec_t ngx_http_trtc_replay_delay(ngx_uint_t failures);
static void ngx_http_trtc_replay_schedule(ngx_http_trtc_spool_t *sp,
    ngx_msec_t delay);
static int ngx_libc_cdecl ngx_http_trtc_replay_cmp(const void *one,
    const void *two);


ngx_int_t
ngx_http_trtc_spool_init_process(ngx_cycle_t *cycle, ngx_array_t *passes)
{
    ngx_uint_t                   i;
    ngx_http_trtc_spool_t       *sp;
    ngx_http_trtc_proxy_loc_t  **pass;

    /* one replayer: worker 0, or the only process without a master */

    if (ngx_process != NGX_PROCESS_SINGLE
        && (ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0))
    {
        return NGX_OK;
    }

    pass = passes->elts;

    for (i = 0; i < passes->nelts; i++) {
        sp = pass[i]->spool;

        if (sp == NULL || pass[i]->kind != NGX_HTTP_TRTC_LOGGER) {
            continue;
        }

#if (NGX_THREADS)
        if (sp->thread_pool != NULL) {
            sp->task = ngx_thread_task_alloc(cycle->pool,
                                         sizeof(ngx_http_trtc_replay_read_t));
            if (sp->task == NULL) {
                return NGX_ERROR;
            }

            sp->task->handler = ngx_http_trtc_replay_read;
            sp->task->event.handler = ngx_http_trtc_replay_read_done;
            sp->task->event.data = sp->task->ctx;
            sp->read = sp->task->ctx;

        } else
#endif
        {
            sp->read = ngx_pcalloc(cycle->pool,
                                   sizeof(ngx_http_trtc_replay_read_t));
            if (sp->read == NULL) {
                return NGX_ERROR;
            }
        }

        sp->log = cycle->log;
        sp->tick.handler = ngx_http_trtc_replay_tick;
        sp->tick.data = sp;
        sp->tick.log = cycle->log;
        sp->tick.cancelable = 1;

        ngx_add_timer(&sp->tick, NGX_HTTP_TRTC_SPOOL_TICK);
    }

    return NGX_OK;
}


static void
ngx_http_trtc_replay_tick(ngx_event_t *ev)
{
    ngx_msec_t                    wait;
    ngx_msec_int_t                left;
    ngx_http_trtc_spool_t        *sp;
    ngx_http_trtc_spool_file_t   *f;
    ngx_http_trtc_replay_read_t  *rd;

    sp = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate || sp->client.active
        || sp->reading)
    {
        return;
    }

    /*
     * The upstream was down: wait out its backoff, unless uploads were
     * spooled since (they queue behind the backlog instead of trying the
     * upstream themselves, so the replayer tries for them, once a tick).
     */

    if (sp->retry) {
        left = (ngx_msec_int_t) (sp->retry - ngx_current_msec);

        if (left > 0 && (ngx_atomic_int_t)
                        sp->counters->spool_fresh[sp->index] <= sp->fresh)
        {
            ngx_http_trtc_replay_schedule(sp, ngx_min((ngx_msec_t) left,
                                          NGX_HTTP_TRTC_SPOOL_TICK));
            return;
        }

        sp->retry = 0;
    }

    f = ngx_http_trtc_replay_pick(sp, &wait);

    /* the list is used up: read the directory again, at most so often */

    if (f == NULL) {
        if (ngx_current_msec - sp->scanned < NGX_HTTP_TRTC_REPLAY_RESCAN) {
            ngx_http_trtc_replay_schedule(sp, ngx_min(wait,
                                          NGX_HTTP_TRTC_REPLAY_RESCAN));
            return;
        }

        sp->scanned = ngx_current_msec;

        if (ngx_http_trtc_spool_scan(sp, 1) == NGX_ERROR) {
            ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
            return;
        }

        f = ngx_http_trtc_replay_pick(sp, &wait);

        if (f == NULL) {

            /* soon, when uploads queue behind a backlog being written */

            if ((ngx_atomic_int_t) sp->counters->spool_fresh[sp->index] > 0)
            {
                wait = ngx_min(wait, NGX_HTTP_TRTC_REPLAY_RESCAN);
            }

            ngx_http_trtc_replay_schedule(sp, ngx_min(wait,
                                          NGX_HTTP_TRTC_SPOOL_TICK));
            return;
        }
    }

    if (ngx_http_trtc_replay_peer(sp) != NGX_OK) {
        ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
        return;
    }

    if (ngx_http_trtc_replay_age(sp, f) != NGX_OK) {
        /* set aside unread: the next one at once */
        ngx_http_trtc_replay_schedule(sp, 1);
        return;
    }

    rd = sp->read;
    rd->spool = sp;
    rd->max_size = sp->max_size;
    ngx_sprintf(rd->path, "%V/%s%Z", &sp->dir, f->name);

    sp->current = f;
    sp->reading = 1;

#if (NGX_THREADS)

    if (sp->task != NULL) {
        if (ngx_thread_task_post(sp->thread_pool, sp->task) != NGX_OK) {
            sp->current = NULL;
            sp->reading = 0;
            ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
        }

        return;
    }

#endif

    ngx_http_trtc_replay_read(rd, sp->log);
    ngx_http_trtc_replay_loaded(sp, rd);
}


/* the oldest file whose time has come; else how long until one's has */

static ngx_http_trtc_spool_file_t *
ngx_http_trtc_replay_pick(ngx_http_trtc_spool_t *sp, ngx_msec_t *wait)
{
    ngx_uint_t                   i;
    ngx_msec_int_t               left;
    ngx_http_trtc_spool_file_t  *f;

    *wait = NGX_HTTP_TRTC_SPOOL_BACKOFF;

    for (i = 0; i < sp->nfiles; i++) {
        f = &sp->files[i];

        if (f->gone) {
            continue;
        }

        left = (ngx_msec_int_t) (f->next - ngx_current_msec);

        if (f->attempts == 0 || left <= 0) {
            return f;
        }

        *wait = ngx_min(*wait, (ngx_msec_t) left);
    }

    return NULL;
}


/* NGX_DECLINED: older than max_age, or not named as the writer names */

static ngx_int_t
ngx_http_trtc_replay_age(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f)
{
    time_t  arrived;

    /* the name starts with the arrival time, in milliseconds */

    arrived = ngx_atotm(f->name, 10);

    if (arrived == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                      "trtc logger: spooled \"%s\" has no arrival time in "
                      "its name, set aside as \".bad-%s\"", f->name, f->name);
        ngx_http_trtc_replay_set_aside(sp, f, ".bad-",
                                       &sp->counters->uploads_damaged);
        return NGX_DECLINED;
    }

    if (sp->max_age && ngx_time() - arrived > sp->max_age) {
        ngx_log_error(NGX_LOG_WARN, sp->log, 0,
                      "trtc logger: spooled \"%s\" is older than max_age "
                      "(%T s) after %ui failed attempts, set aside as "
                      "\".expired-%s\"", f->name, sp->max_age, f->attempts,
                      f->name);
        ngx_http_trtc_replay_set_aside(sp, f, ".expired-",
                                       &sp->counters->uploads_expired);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Reads the file whole and checks it is a request: in a thread of the
 * pool (it touches nothing but rd), or on the loop without threads.
 */

static void
ngx_http_trtc_replay_read(void *data, ngx_log_t *log)
{
    ngx_http_trtc_replay_read_t  *rd = data;

    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    rd->data = NULL;
    rd->size = 0;
    rd->err = 0;
    rd->failed = NULL;
    rd->gone = 0;
    rd->again = 0;

    fd = ngx_open_file(rd->path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        rd->err = ngx_errno;

        if (rd->err == NGX_ENOENT) {
            rd->gone = 1;

        } else {
            rd->failed = "cannot be opened";
        }

        return;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        rd->err = ngx_errno;
        rd->again = 1;
        goto done;
    }

    rd->size = ngx_file_size(&fi);

    if (rd->size == 0 || rd->size > rd->max_size) {
        rd->failed = "is empty or larger than max_size";
        goto done;
    }

    rd->data = malloc((size_t) rd->size);
    if (rd->data == NULL) {
        rd->err = ngx_errno;
        rd->again = 1;
        goto done;
    }

    n = ngx_read_fd(fd, rd->data, (size_t) rd->size);

    if (n != rd->size) {
        rd->err = (n == -1) ? ngx_errno : 0;
        rd->failed = "cannot be read";
        goto done;
    }

    /* a cut or altered request would hang or mislead the upstream */

    if (ngx_http_trtc_replay_valid(rd->data, n) != NGX_OK) {
        rd->failed = "is not a whole HTTP request (truncated or altered)";
    }

done:

    (void) ngx_close_file(fd);
}


#if (NGX_THREADS)

static void
ngx_http_trtc_replay_read_done(ngx_event_t *ev)
{
    ngx_http_trtc_replay_read_t  *rd = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        free(rd->data);
        rd->data = NULL;
        rd->spool->reading = 0;
        return;
    }

    ngx_http_trtc_replay_loaded(rd->spool, rd);
}

#endif


/* on the loop: the file goes upstream, or aside */

static void
ngx_http_trtc_replay_loaded(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_replay_read_t *rd)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_trtc_client_t      *cl;
    ngx_http_trtc_spool_file_t  *f;

    f = sp->current;
    sp->reading = 0;

    if (rd->size) {
        f->size = rd->size;
    }

    if (rd->gone || rd->again || rd->failed) {
        free(rd->data);
        rd->data = NULL;
        sp->current = NULL;

        if (rd->gone) {
            /* a previous generation's replayer took it */
            ngx_http_trtc_replay_forget(sp, f, 0);
            ngx_http_trtc_replay_schedule(sp, 1);

        } else if (rd->again) {
            ngx_log_error(NGX_LOG_ERR, sp->log, rd->err,
                          "trtc logger: reading spooled \"%s\" failed",
                          f->name);
            ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);

        } else {
            ngx_log_error(NGX_LOG_ERR, sp->log, rd->err,
                          "trtc logger: spooled \"%s\" %s, set aside as "
                          "\".bad-%s\"", f->name, rd->failed, f->name);
            ngx_http_trtc_replay_set_aside(sp, f, ".bad-",
                                           &sp->counters->uploads_damaged);
            ngx_http_trtc_replay_schedule(sp, 1);
        }

        return;
    }

    sp->pool = ngx_create_pool(4096, sp->log);
    if (sp->pool == NULL) {
        goto failed;
    }

    cln = ngx_pool_cleanup_add(sp->pool, 0);
    if (cln == NULL) {
        ngx_destroy_pool(sp->pool);
        sp->pool = NULL;
        goto failed;
    }

    /* the client sends the bytes as read, no copy */

    cln->handler = ngx_http_trtc_replay_free;
    cln->data = rd->data;
    rd->data = NULL;

    cl = &sp->client;
    cl->request.data = cln->data;
    cl->request.len = (size_t) f->size;
    cl->sockaddr = (struct sockaddr *) &sp->sockaddr;
    cl->name = &sp->peer_name;
    cl->ssl = sp->ssl;
    cl->server_name = sp->server_name;
    cl->verify = sp->plcf->verify;
    cl->timeout = NGX_HTTP_TRTC_REPLAY_TIMEOUT;
    cl->pool = sp->pool;
    cl->log = sp->log;
    cl->handler = ngx_http_trtc_replay_done;
    cl->data = sp;
    cl->log_error = NGX_ERROR_INFO;

    ngx_http_trtc_client_start(cl);

    return;

failed:

    free(rd->data);
    rd->data = NULL;
    sp->current = NULL;
    ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
}


static void
ngx_http_trtc_replay_free(void *data)
{
    free(data);
}


/*
 * What the writer wrote: "METHOD /target HTTP/1.x", header lines, an
 * empty line, and exactly Content-Length bytes of body (the proxy module
 * sends a buffered body with Content-Length, never chunked).
 */

static ngx_int_t
ngx_http_trtc_replay_valid(u_char *p, size_t len)
{
    off_t    length;
    u_char  *last, *end, *line, *eol, *v;

    last = p + len;

    end = ngx_strlcasestrn(p, last, (u_char *) "\r\n\r\n", 4 - 1);
    if (end == NULL) {
        return NGX_ERROR;
    }

    /* the request line */

    for (line = p; line < end && *line >= 'A' && *line <= 'Z'; line++) {
        /* void */
    }

    if (line == p || line == end || *line != ' ' || line[1] != '/') {
        return NGX_ERROR;
    }

    eol = ngx_strlcasestrn(line, end + 2, (u_char *) "\r\n", 2 - 1);

    if (eol - line < (ssize_t) sizeof(" / HTTP/1.x") - 1
        || ngx_strncmp(eol - 9, " HTTP/1.", 8) != 0)
    {
        return NGX_ERROR;
    }

    /* the header lines: Content-Length once, no Transfer-Encoding */

    length = -1;

    for (line = eol + 2; line < end + 2; line = eol + 2) {
        eol = ngx_strlcasestrn(line, end + 2, (u_char *) "\r\n", 2 - 1);

        v = ngx_strlchr(line, eol, ':');
        if (v == NULL || v == line) {
            return NGX_ERROR;
        }

        if (v - line == sizeof("Transfer-Encoding") - 1
            && ngx_strncasecmp(line, (u_char *) "Transfer-Encoding",
                               v - line) == 0)
        {
            return NGX_ERROR;
        }

        if (v - line != sizeof("Content-Length") - 1
            || ngx_strncasecmp(line, (u_char *) "Content-Length", v - line)
               != 0)
        {
            continue;
        }

        if (length != -1) {
            return NGX_ERROR;
        }

        for (v++; v < eol && *v == ' '; v++) { /* void */ }

        length = ngx_atoof(v, eol - v);
        if (length == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    if (length == -1) {
        length = 0;
    }

    return (off_t) (last - (end + 4)) == length ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_trtc_replay_peer(ngx_http_trtc_spool_t *sp)
{
    ngx_uint_t                     i, k, n;
    ngx_http_upstream_rr_peer_t   *peer;
    ngx_http_upstream_rr_peers_t  *peers;

    if (sp->plcf->upstream == NULL) {
        return NGX_ERROR;
    }

    peers = sp->plcf->upstream->peer.data;
    if (peers == NULL) {
        return NGX_ERROR;
    }

    ngx_http_upstream_rr_peers_rlock(peers);

    n = peers->number;
    peer = NULL;

    /* round robin over the primary peers that are not down */

    for (i = 0; i < n; i++) {
        k = (sp->next_peer + i) % n;

        for (peer = peers->peer; k && peer; k--) {
            peer = peer->next;
        }

        if (peer != NULL && !peer->down) {
            sp->next_peer = (sp->next_peer + i + 1) % n;
            break;
        }

        peer = NULL;
    }

    if (peer != NULL) {
        ngx_memcpy(&sp->sockaddr, peer->sockaddr, peer->socklen);
        sp->client.socklen = peer->socklen;
        sp->peer_name.data = sp->peer_text;
        sp->peer_name.len = ngx_min(peer->name.len, NGX_SOCKADDR_STRLEN);
        ngx_memcpy(sp->peer_text, peer->name.data, sp->peer_name.len);
    }

    ngx_http_upstream_rr_peers_unlock(peers);

    return peer ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_trtc_replay_done(ngx_http_trtc_client_t *cl)
{
    u_char                       path[NGX_MAX_PATH];
    u_char                       why[64];
    ngx_msec_t                   delay;
    ngx_uint_t                   status;
    ngx_http_trtc_spool_t       *sp;
    ngx_http_trtc_spool_file_t  *f;

    sp = cl->data;
    status = cl->status;
    f = sp->current;
    sp->current = NULL;

    if (sp->pool) {
        ngx_destroy_pool(sp->pool);
        sp->pool = NULL;
    }

    /* nothing sent: the upstream is down, whichever file it was */

    if (!cl->ok && cl->sent == 0) {
        sp->backoff = sp->backoff ? ngx_min(sp->backoff * 2,
                                            NGX_HTTP_TRTC_SPOOL_BACKOFF)
                                  : NGX_HTTP_TRTC_SPOOL_TICK;

        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "trtc logger: replay of \"%s\" to %V failed (%s), "
                      "next try in %M ms", f->name, &sp->peer_name,
                      cl->error, sp->backoff);

        sp->retry = ngx_current_msec + sp->backoff;
        sp->fresh = sp->counters->spool_fresh[sp->index];

        ngx_http_trtc_replay_schedule(sp, ngx_min(sp->backoff,
                                                  NGX_HTTP_TRTC_SPOOL_TICK));
        return;
    }

    sp->backoff = 0;
    ngx_http_trtc_replay_tried(sp, f);

    /* a final 2xx: delivered */

    if (cl->ok && status >= 200 && status < 300) {
        sp->failures = 0;

        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "trtc logger: spooled \"%s\" replayed to %V (%ui)",
                      f->name, &sp->peer_name, status);

        ngx_sprintf(path, "%V/%s%Z", &sp->dir, f->name);

        /* ENOENT: a previous generation's replayer already removed it */

        if (ngx_delete_file(path) == NGX_FILE_ERROR
            && ngx_errno != NGX_ENOENT)
        {
            ngx_log_error(NGX_LOG_CRIT, sp->log, ngx_errno,
                          ngx_delete_file_n " \"%s\" failed", path);
            ngx_http_trtc_replay_schedule(sp, NGX_HTTP_TRTC_SPOOL_BACKOFF);
            return;
        }

        (void) ngx_atomic_fetch_add(&sp->counters->uploads_replayed, 1);
        ngx_http_trtc_replay_forget(sp, f, 0);
        ngx_http_trtc_replay_schedule(sp, 1);
        return;
    }

    /* refused for good: 3xx, and 4xx but 408 and 429 */

    if (cl->ok && status >= 300 && status < 500
        && status != 408 && status != 429)
    {
        sp->failures = 0;

        ngx_log_error(NGX_LOG_WARN, sp->log, 0,
                      "trtc logger: upstream %V answered %ui to spooled "
                      "\"%s\", set aside as \".rejected-%s\"",
                      &sp->peer_name, status, f->name, f->name);

        ngx_http_trtc_replay_set_aside(sp, f, ".rejected-",
                                       &sp->counters->uploads_rejected);
        ngx_http_trtc_replay_schedule(sp, 1);
        return;
    }

    /* this file failed: it waits, the others go on */

    if (cl->ok) {
        ngx_sprintf(why, "status %ui%Z", status);

    } else {
        ngx_sprintf(why, "%s%Z", cl->error ? cl->error : "failed");
    }

    /*
     * Only first tries tell of the upstream: a file failing again says
     * nothing new, and must not slow down the files behind it.
     */

    if (f->attempts == 0) {
        sp->failures++;
    }

    f->attempts++;

    if (sp->max_attempts && f->attempts >= sp->max_attempts) {
        ngx_log_error(NGX_LOG_WARN, sp->log, 0,
                      "trtc logger: replay of \"%s\" to %V failed (%s), "
                      "%ui attempts, set aside as \".expired-%s\"",
                      f->name, &sp->peer_name, why, f->attempts, f->name);

        ngx_http_trtc_replay_set_aside(sp, f, ".expired-",
                                       &sp->counters->uploads_expired);

    } else {
        delay = ngx_http_trtc_replay_delay(f->attempts);
        f->next = ngx_current_msec + delay;

        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "trtc logger: replay of \"%s\" to %V failed (%s), "
                      "attempt %ui, next try in %M ms",
                      f->name, &sp->peer_name, why, f->attempts, delay);
    }

    /* the upstream fails everything: an outage, a pause between tries */

    ngx_http_trtc_replay_schedule(sp,
                                  sp->failures > NGX_HTTP_TRTC_REPLAY_FAILURES
                                  ? NGX_HTTP_TRTC_SPOOL_TICK : 1);
}


/* 1 s after the first failure, doubling up to 30 s */

static ngx_msec_t
ngx_http_trtc_replay_delay(ngx_uint_t failures)
{
    if (failures > 5) {
        return NGX_HTTP_TRTC_SPOOL_BACKOFF;
    }

    return ngx_min((ngx_msec_t) NGX_HTTP_TRTC_SPOOL_TICK << (failures - 1),
                   NGX_HTTP_TRTC_SPOOL_BACKOFF);
}


/*
 * A file that is not to be replayed is renamed PREFIX-NAME (the scan
 * skips dot files): kept for the operator, counted, logged by the caller.
 */

static void
ngx_http_trtc_replay_set_aside(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f, const char *prefix, ngx_atomic_t *counter)
{
    u_char  from[NGX_MAX_PATH], to[NGX_MAX_PATH];

    ngx_sprintf(from, "%V/%s%Z", &sp->dir, f->name);
    ngx_sprintf(to, "%V/%s%s%Z", &sp->dir, prefix, f->name);

    if (ngx_rename_file(from, to) == NGX_FILE_ERROR) {
        if (ngx_errno == NGX_ENOENT) {
            ngx_http_trtc_replay_forget(sp, f, 0);
            return;
        }

        ngx_log_error(NGX_LOG_CRIT, sp->log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed", from, to);

        /* not counted: it stays, and is tried again at most so often */
        ngx_http_trtc_replay_tried(sp, f);
        f->next = ngx_current_msec + NGX_HTTP_TRTC_SPOOL_BACKOFF;
        f->attempts = ngx_max(f->attempts, 1);
        return;
    }

    (void) ngx_atomic_fetch_add(counter, 1);
    ngx_http_trtc_replay_forget(sp, f, 1);
}


/* the file no longer waits: out of the list and of spool_files */

static void
ngx_http_trtc_replay_forget(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f, ngx_uint_t still_on_disk)
{
    ngx_http_trtc_replay_tried(sp, f);
    f->gone = 1;

    (void) ngx_atomic_fetch_add(&sp->counters->spool_files[sp->index], -1);

    if (!still_on_disk) {
        (void) ngx_atomic_fetch_add(&sp->counters->spool_bytes[sp->index],
                                    -f->size);
    }
}


/*
 * The file had its first try (or left before one): no longer part of the
 * backlog new uploads queue behind.  Never below 0: a file put there by
 * hand was never counted.
 */

static void
ngx_http_trtc_replay_tried(ngx_http_trtc_spool_t *sp,
    ngx_http_trtc_spool_file_t *f)
{
    ngx_atomic_t      *fresh;
    ngx_atomic_uint_t  n;

    if (f->tried) {
        return;
    }

    f->tried = 1;
    fresh = &sp->counters->spool_fresh[sp->index];

    do {
        n = *fresh;

        if ((ngx_atomic_int_t) n <= 0) {
            return;
        }

    } while (!ngx_atomic_cmp_set(fresh, n, n - 1));
}


/*
 * Reads the directory: the files waiting ("*.req"), and the size of the
 * set-aside ones (they count against max_size).  The shared counters are
 * recounted from it (other workers add to them).
 */

ngx_int_t
ngx_http_trtc_spool_scan(ngx_http_trtc_spool_t *sp, ngx_uint_t list)
{
    off_t                        bytes;
    size_t                       len;
    u_char                      *name;
    ngx_dir_t                    dir;
    ngx_uint_t                   files, i, j, n, cap;
    ngx_http_trtc_spool_file_t  *f, *all;
    u_char                       path[NGX_MAX_PATH];

    if (ngx_open_dir(&sp->dir, &dir) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sp->log, ngx_errno,
                      ngx_open_dir_n " \"%V\" failed", &sp->dir);
        return NGX_ERROR;
    }

    bytes = 0;
    files = 0;
    all = NULL;
    cap = 0;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        /* ".tmp-" files count too: their bytes are taken already */

        if (len >= NGX_HTTP_TRTC_SPOOL_NAME_LEN + sizeof(".rejected-")
            || (name[0] == '.' && len <= 2))
        {
            continue;
        }

        if (!dir.valid_info) {
            ngx_sprintf(path, "%V/%s%Z", &sp->dir, name);

            if (ngx_de_info(path, &dir) == NGX_FILE_ERROR) {
                continue;
            }
        }

        if (!ngx_de_is_file(&dir)) {
            continue;
        }

        bytes += ngx_de_size(&dir);

        if (name[0] == '.' || len < 4 || len >= NGX_HTTP_TRTC_SPOOL_NAME_LEN
            || ngx_strcmp(name + len - 4, ".req") != 0)
        {
            continue;
        }

        files++;

        if (!list) {
            continue;
        }

        if (files > cap) {
            cap = cap ? cap * 2 : 64;

            f = ngx_alloc(cap * sizeof(ngx_http_trtc_spool_file_t), sp->log);
            if (f == NULL) {
                ngx_free(all);
                (void) ngx_close_dir(&dir);
                return NGX_ERROR;
            }

            if (all) {
                ngx_memcpy(f, all,
                           (files - 1) * sizeof(ngx_http_trtc_spool_file_t));
                ngx_free(all);
            }

            all = f;
        }

        f = &all[files - 1];
        ngx_memzero(f, sizeof(ngx_http_trtc_spool_file_t));
        ngx_memcpy(f->name, name, len + 1);
        f->size = ngx_de_size(&dir);
    }

    (void) ngx_close_dir(&dir);

    if (sp->counters != NULL) {
        sp->counters->spool_bytes[sp->index] = bytes;
        sp->counters->spool_files[sp->index] = files;

        /* at start and reload: no replayer has tried them yet */

        if (!list) {
            sp->counters->spool_fresh[sp->index] = files;
        }
    }

    if (!list) {
        return files ? NGX_OK : NGX_DECLINED;
    }

    n = files;

    if (n) {
        ngx_qsort(all, n, sizeof(ngx_http_trtc_spool_file_t),
                  ngx_http_trtc_replay_cmp);
    }

    /* what was known of a file (its attempts, its wait) stays */

    for (i = 0, j = 0; i < n && j < sp->nfiles; /* void */) {
        int  rc;

        rc = ngx_strcmp(all[i].name, sp->files[j].name);

        if (rc == 0) {
            all[i].attempts = sp->files[j].attempts;
            all[i].next = sp->files[j].next;
            all[i].tried = sp->files[j].tried;
            i++;
            j++;

        } else if (rc < 0) {
            i++;

        } else {
            j++;
        }
    }

    ngx_free(sp->files);
    sp->files = all;
    sp->nfiles = n;

    return n ? NGX_OK : NGX_DECLINED;
}


static int ngx_libc_cdecl
ngx_http_trtc_replay_cmp(const void *one, const void *two)
{
    const ngx_http_trtc_spool_file_t  *a = one;
    const ngx_http_trtc_spool_file_t  *b = two;

    return ngx_strcmp(a->name, b->name);
}


void
ngx_http_trtc_spool_exit_process(ngx_array_t *spools)
{
    ngx_uint_t                   i;
    ngx_http_trtc_spool_t       *sp;
    ngx_http_trtc_proxy_loc_t  **plcf;

    plcf = spools->elts;

    for (i = 0; i < spools->nelts; i++) {
        sp = plcf[i]->spool;

        if (sp == NULL) {
            continue;
        }

        /* a replay in flight is closed; its file stays for the next */

        if (sp->client.active) {
            ngx_http_trtc_client_cancel(&sp->client);
        }

        if (sp->pool != NULL) {
            ngx_destroy_pool(sp->pool);
            sp->pool = NULL;
        }

        ngx_free(sp->files);
        sp->files = NULL;
        sp->nfiles = 0;
    }
}


static void
ngx_http_trtc_replay_schedule(ngx_http_trtc_spool_t *sp, ngx_msec_t delay)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(&sp->tick, delay);
}
