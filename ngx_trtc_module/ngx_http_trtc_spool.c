
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_client.h"
#include "ngx_http_trtc_proxy.h"


/*
 * trtc_logger_spool: no log upload is silently lost.  When the upstream
 * cannot take an upload (connect error, timeout, 5xx), the header filter
 * writes the exact request the proxy module built (its header and the
 * body, as nginx itself re-sends them to a next upstream) to DIR, under a
 * temporary name then renamed, so a half-written file is never replayed,
 * and answers the client 200.  A full spool answers 503 so the SDK
 * retries.  One worker replays the files in name (= arrival) order and
 * deletes each only when the upstream has answered it.  Delivery is at
 * least once: a reload during a replay may send that upload twice.
 */


#define NGX_HTTP_TRTC_SPOOL_MAX_SIZE   (64 * 1024 * 1024)
#define NGX_HTTP_TRTC_SPOOL_TICK       1000
#define NGX_HTTP_TRTC_SPOOL_BACKOFF    5000
#define NGX_HTTP_TRTC_SPOOL_TIMEOUT    30000
#define NGX_HTTP_TRTC_SPOOL_NAME_LEN   64


struct ngx_http_trtc_spool_s {
    ngx_str_t                   dir;             /* NUL-terminated */
    off_t                       max_size;
    ngx_uint_t                  index;
    ngx_ssl_t                  *ssl;
    ngx_str_t                   server_name;     /* host without port */
    ngx_http_trtc_proxy_loc_t  *plcf;
    ngx_str_t                   file;            /* of the directive */
    ngx_uint_t                  line;
    ngx_http_trtc_proxy_counters_t  *counters;   /* this cycle's zone */

    /* the replayer, in one worker */
    ngx_event_t                 tick;
    ngx_http_trtc_client_t      client;
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_msec_t                  backoff;
    ngx_uint_t                  next_peer;
    off_t                       file_size;
    struct sockaddr_storage     sockaddr;
    ngx_str_t                   peer_name;
    u_char                      peer_text[NGX_SOCKADDR_STRLEN];
    u_char                      name[NGX_HTTP_TRTC_SPOOL_NAME_LEN];
};


static ngx_int_t ngx_http_trtc_spool_check_dir(ngx_conf_t *cf,
    ngx_str_t *dir);
static ngx_uint_t ngx_http_trtc_spool_writable(ngx_cycle_t *cycle,
    ngx_str_t *dir);
static ngx_int_t ngx_http_trtc_spool_write(ngx_http_request_t *r,
    ngx_http_trtc_spool_t *sp, off_t size, u_char *name);
static void ngx_http_trtc_spool_rewrite(ngx_http_request_t *r,
    ngx_uint_t status, char *header, char *value);
static void ngx_http_trtc_spool_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_trtc_spool_scan(ngx_http_trtc_spool_t *sp);
static ngx_int_t ngx_http_trtc_spool_peer(ngx_http_trtc_spool_t *sp);
static void ngx_http_trtc_spool_replayed(ngx_http_trtc_client_t *cl);
static void ngx_http_trtc_spool_schedule(ngx_http_trtc_spool_t *sp,
    ngx_msec_t delay);
static void ngx_http_trtc_spool_quarantine(ngx_http_trtc_spool_t *sp,
    const char *why);


static ngx_uint_t  ngx_http_trtc_spool_seq;


char *
ngx_http_trtc_logger_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_proxy_loc_t *plcf = conf;

    ngx_str_t              *value, s;
    ngx_uint_t              i;
    ngx_http_trtc_spool_t  *sp;

    if (plcf->spool != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    sp = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_spool_t));
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    sp->dir = value[1];
    sp->max_size = NGX_HTTP_TRTC_SPOOL_MAX_SIZE;
    sp->file = cf->conf_file->file.name;
    sp->line = cf->conf_file->line;

    while (sp->dir.len > 1 && sp->dir.data[sp->dir.len - 1] == '/') {
        sp->dir.data[--sp->dir.len] = '\0';
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_size=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            sp->max_size = ngx_parse_offset(&s);
            if (sp->max_size <= 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (ngx_conf_full_name(cf->cycle, &sp->dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* room for "/.bad-" and a file name in every path built from it */

    if (sp->dir.len + sizeof("/.bad-") + NGX_HTTP_TRTC_SPOOL_NAME_LEN
        > NGX_MAX_PATH)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trtc_logger_spool directory \"%V\" is too long",
                           &sp->dir);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_trtc_spool_check_dir(cf, &sp->dir) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    sp->plcf = plcf;
    plcf->spool = sp;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"%V\"",
                       &value[i], &value[0]);

    return NGX_CONF_ERROR;
}


/* the directory must be there; whether the workers can write is known later */

static ngx_int_t
ngx_http_trtc_spool_check_dir(ngx_conf_t *cf, ngx_str_t *dir)
{
    ngx_file_info_t  fi;

    if (ngx_file_info(dir->data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "trtc_logger_spool directory \"%V\" is missing",
                           dir);
        return NGX_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trtc_logger_spool \"%V\" is not a directory", dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Whether the workers can write to the directory: they run as the "user"
 * of the configuration (nobody by default) when nginx starts as root,
 * else as nginx's own user.  Called once the whole configuration is read,
 * as "user" may come after http{}.
 */

static ngx_uint_t
ngx_http_trtc_spool_writable(ngx_cycle_t *cycle, ngx_str_t *dir)
{
    ngx_file_info_t   fi;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* without a master process nothing switches users */

    if (geteuid() != 0 || !ccf->master) {
        return access((char *) dir->data, W_OK|X_OK) == 0;
    }

    if (ngx_file_info(dir->data, &fi) == NGX_FILE_ERROR) {
        return 0;
    }

    if (ccf->user == 0) {
        return 1;
    }

    if (fi.st_uid == ccf->user) {
        return (fi.st_mode & (S_IWUSR|S_IXUSR)) == (S_IWUSR|S_IXUSR);
    }

    if (fi.st_gid == ccf->group) {
        return (fi.st_mode & (S_IWGRP|S_IXGRP)) == (S_IWGRP|S_IXGRP);
    }

    return (fi.st_mode & (S_IWOTH|S_IXOTH)) == (S_IWOTH|S_IXOTH);
}


ngx_int_t
ngx_http_trtc_spool_init_zone(ngx_cycle_t *cycle, ngx_log_t *log,
    ngx_array_t *spools, ngx_http_trtc_proxy_counters_t *counters)
{
    ngx_uint_t                   i, j;
    ngx_http_trtc_spool_t       *sp, *other;
    ngx_http_trtc_proxy_loc_t  **plcf;

    plcf = spools->elts;

    for (i = 0; i < spools->nelts; i++) {
        sp = plcf[i]->spool;

        if (!ngx_http_trtc_spool_writable(cycle, &sp->dir)) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "trtc_logger_spool directory \"%V\" is not "
                          "writable by the worker processes in %V:%ui",
                          &sp->dir, &sp->file, sp->line);
            return NGX_ERROR;
        }

        /* one replayer per directory, or uploads would go twice */

        for (j = 0; j < i; j++) {
            other = plcf[j]->spool;

            if (other->dir.len == sp->dir.len
                && ngx_strncmp(other->dir.data, sp->dir.data, sp->dir.len)
                   == 0)
            {
                ngx_log_error(NGX_LOG_EMERG, log, 0,
                              "trtc_logger_spool directory \"%V\" is "
                              "already used at %V:%ui in %V:%ui",
                              &sp->dir, &other->file, other->line,
                              &sp->file, sp->line);
                return NGX_ERROR;
            }
        }

        /* what earlier runs left counts against max_size at once */

        sp->log = log;
        sp->counters = counters;
        (void) ngx_http_trtc_spool_scan(sp);
    }

    return NGX_OK;
}


ngx_str_t *
ngx_http_trtc_spool_where(ngx_http_trtc_proxy_loc_t *plcf, ngx_uint_t *line)
{
    *line = plcf->spool->line;
    return &plcf->spool->file;
}


ngx_int_t
ngx_http_trtc_spool_init_conf(ngx_conf_t *cf, ngx_http_trtc_proxy_loc_t *plcf,
    ngx_uint_t index)
{
    u_char                 *p;
    ngx_http_trtc_spool_t  *sp;

    sp = plcf->spool;

    if (index >= NGX_HTTP_TRTC_MAX_SPOOLS) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "too many trtc_logger_spool directives (at most %d)",
                      NGX_HTTP_TRTC_MAX_SPOOLS);
        return NGX_ERROR;
    }

    sp->index = index;

    /* SNI and certificate name: the host, without a port */

    p = ngx_strlchr(plcf->host.data, plcf->host.data + plcf->host.len, ':');

    sp->server_name.len = (p ? p : plcf->host.data + plcf->host.len)
                          - plcf->host.data;
    sp->server_name.data = ngx_pnalloc(cf->pool, sp->server_name.len + 1);
    if (sp->server_name.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(sp->server_name.data, plcf->host.data, sp->server_name.len)
        = '\0';

    if (plcf->https) {
        sp->ssl = ngx_http_trtc_client_ssl(cf, &plcf->ca, plcf->verify);
        if (sp->ssl == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_trtc_spool_response(ngx_http_request_t *r,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_http_trtc_proxy_counters_t *pc)
{
    off_t                   size, file_pos;
    ngx_buf_t              *b;
    ngx_uint_t              status;
    ngx_chain_t            *cl;
    ngx_atomic_t           *bytes;
    ngx_http_upstream_t    *u;
    ngx_http_trtc_spool_t  *sp;
    u_char                  name[NGX_HTTP_TRTC_SPOOL_NAME_LEN];

    sp = plcf->spool;
    u = r->upstream;
    status = r->headers_out.status;

    if (u == NULL || u->request_bufs == NULL || status < 500
        || !(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT)))
    {
        return NGX_DECLINED;
    }

    /* only a whole body can be replayed (proxy_request_buffering off) */

    if (r->request_body_no_buffering || r->request_body == NULL
        || r->request_body->rest)
    {
        return NGX_DECLINED;
    }

    /* the bytes nginx would send to a next upstream (see its reinit) */

    size = 0;
    file_pos = 0;

    for (cl = u->request_bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            size += b->file_last - file_pos;
            file_pos = b->file_last;

        } else if (ngx_buf_in_memory(b)) {
            size += b->last - b->start;
        }
    }

    bytes = &pc->spool_bytes[sp->index];

    if ((off_t) *bytes + size > sp->max_size) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "trtc logger: upstream failed (%ui) and the spool "
                      "\"%V\" is full, upload refused with 503",
                      status, &sp->dir);
        goto refuse;
    }

    if (ngx_http_trtc_spool_write(r, sp, size, name) != NGX_OK) {
        goto refuse;
    }

    (void) ngx_atomic_fetch_add(bytes, size);
    (void) ngx_atomic_fetch_add(&pc->spool_files[sp->index], 1);
    (void) ngx_atomic_fetch_add(&pc->uploads_spooled, 1);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "trtc logger: upstream failed (%ui), upload of %O bytes "
                  "spooled as \"%s\"", status, size, name);

    ngx_http_trtc_spool_rewrite(r, NGX_HTTP_OK, "X-Trtc-Spooled", "1");

    return NGX_OK;

refuse:

    (void) ngx_atomic_fetch_add(&pc->uploads_refused, 1);

    ngx_http_trtc_spool_rewrite(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "Retry-After", "30");

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_spool_write(ngx_http_request_t *r, ngx_http_trtc_spool_t *sp,
    off_t size, u_char *name)
{
    u_char       *buf, *p;
    off_t         file_pos;
    ssize_t       n;
    ngx_fd_t      fd;
    ngx_buf_t    *b;
    ngx_err_t     err;
    ngx_time_t   *tp;
    ngx_chain_t  *cl;
    u_char        tmp[NGX_MAX_PATH], path[NGX_MAX_PATH];

    tp = ngx_timeofday();

    /* names sort in arrival order; pid and sequence keep them unique */

    ngx_sprintf(name, "%010T%03M-%P-%06ui.req%Z",
                tp->sec, tp->msec, ngx_pid, ngx_http_trtc_spool_seq++);

    ngx_sprintf(path, "%V/%s%Z", &sp->dir, name);
    ngx_sprintf(tmp, "%V/.tmp-%s%Z", &sp->dir, name);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = buf;
    file_pos = 0;

    for (cl = r->upstream->request_bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - file_pos, file_pos);
            if (n != b->file_last - file_pos) {
                return NGX_ERROR;
            }

            p += n;
            file_pos = b->file_last;

        } else if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->start, b->last - b->start);
        }
    }

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_CREATE_OR_OPEN,
                       NGX_FILE_OWNER_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", tmp);
        return NGX_ERROR;
    }

    n = ngx_write_fd(fd, buf, size);
    err = ngx_errno;

    /* on disk before it has a name the replayer takes */

    if (n == size && fsync(fd) == -1) {
        err = ngx_errno;
        n = -1;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", tmp);
    }

    if (n != size) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, err,
                      "trtc logger: writing \"%s\" failed", tmp);
        (void) ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    if (ngx_rename_file(tmp, path) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      tmp, path);
        (void) ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the client gets a short answer of ours instead of the failure */

static void
ngx_http_trtc_spool_rewrite(ngx_http_request_t *r, ngx_uint_t status,
    char *header, char *value)
{
    ngx_table_elt_t  *h;

    ngx_memzero(&r->headers_out, sizeof(ngx_http_headers_out_t));

    if (ngx_list_init(&r->headers_out.headers, r->pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.trailers, r->pool, 1,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;
    r->headers_out.last_modified_time = -1;
    r->err_status = 0;
    r->header_only = 1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return;
    }

    h->hash = 1;
    h->key.data = (u_char *) header;
    h->key.len = ngx_strlen(header);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);
}


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

        sp->log = cycle->log;
        sp->tick.handler = ngx_http_trtc_spool_tick;
        sp->tick.data = sp;
        sp->tick.log = cycle->log;
        sp->tick.cancelable = 1;

        ngx_add_timer(&sp->tick, NGX_HTTP_TRTC_SPOOL_TICK);
    }

    return NGX_OK;
}


static void
ngx_http_trtc_spool_tick(ngx_event_t *ev)
{
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_str_t                path;
    ngx_file_info_t          fi;
    ngx_http_trtc_spool_t   *sp;
    ngx_http_trtc_client_t  *cl;

    sp = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate || sp->client.active) {
        return;
    }

    if (ngx_http_trtc_spool_scan(sp) != NGX_OK) {
        ngx_http_trtc_spool_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
        return;
    }

    if (ngx_http_trtc_spool_peer(sp) != NGX_OK) {
        ngx_http_trtc_spool_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
        return;
    }

    sp->pool = ngx_create_pool(4096, sp->log);
    if (sp->pool == NULL) {
        ngx_http_trtc_spool_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
        return;
    }

    path.len = sp->dir.len + 1 + ngx_strlen(sp->name);
    path.data = ngx_pnalloc(sp->pool, path.len + 1);
    if (path.data == NULL) {
        goto failed;
    }

    ngx_sprintf(path.data, "%V/%s%Z", &sp->dir, sp->name);

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, sp->log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &path);
        ngx_http_trtc_spool_quarantine(sp, "cannot be opened");
        goto failed;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || (sp->file_size = ngx_file_size(&fi)) > sp->max_size
        || sp->file_size == 0)
    {
        (void) ngx_close_file(fd);
        ngx_http_trtc_spool_quarantine(sp, "is empty or larger than "
                                           "max_size");
        goto failed;
    }

    cl = &sp->client;

    cl->request.data = ngx_pnalloc(sp->pool, (size_t) sp->file_size + 1);
    if (cl->request.data == NULL) {
        (void) ngx_close_file(fd);
        goto failed;
    }

    n = ngx_read_fd(fd, cl->request.data, (size_t) sp->file_size);
    (void) ngx_close_file(fd);

    if (n != sp->file_size) {
        ngx_http_trtc_spool_quarantine(sp, "cannot be read");
        goto failed;
    }

    cl->request.len = n;
    cl->sockaddr = (struct sockaddr *) &sp->sockaddr;
    cl->name = &sp->peer_name;
    cl->ssl = sp->ssl;
    cl->server_name = sp->server_name;
    cl->verify = sp->plcf->verify;
    cl->timeout = NGX_HTTP_TRTC_SPOOL_TIMEOUT;
    cl->pool = sp->pool;
    cl->log = sp->log;
    cl->handler = ngx_http_trtc_spool_replayed;
    cl->data = sp;
    cl->log_error = NGX_ERROR_INFO;

    ngx_http_trtc_client_start(cl);

    return;

failed:

    ngx_destroy_pool(sp->pool);
    sp->pool = NULL;
    ngx_http_trtc_spool_schedule(sp, NGX_HTTP_TRTC_SPOOL_TICK);
}


/*
 * Finds the oldest upload and recounts the spool (other workers add to
 * it; the recount keeps the shared figures honest).
 */

static ngx_int_t
ngx_http_trtc_spool_scan(ngx_http_trtc_spool_t *sp)
{
    off_t       bytes;
    size_t      len;
    u_char     *name;
    ngx_dir_t   dir;
    ngx_uint_t  files;
    u_char      path[NGX_MAX_PATH];

    if (ngx_open_dir(&sp->dir, &dir) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sp->log, ngx_errno,
                      ngx_open_dir_n " \"%V\" failed", &sp->dir);
        return NGX_ERROR;
    }

    bytes = 0;
    files = 0;
    sp->name[0] = '\0';

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (name[0] == '.' || len < 4 || len >= NGX_HTTP_TRTC_SPOOL_NAME_LEN
            || ngx_strcmp(name + len - 4, ".req") != 0)
        {
            continue;
        }

        if (!dir.valid_info) {
            ngx_sprintf(path, "%V/%s%Z", &sp->dir, name);

            if (ngx_de_info(path, &dir) == NGX_FILE_ERROR) {
                continue;
            }
        }

        files++;
        bytes += ngx_de_size(&dir);

        if (sp->name[0] == '\0' || ngx_strcmp(name, sp->name) < 0) {
            ngx_memcpy(sp->name, name, len + 1);
        }
    }

    (void) ngx_close_dir(&dir);

    if (sp->counters != NULL) {
        sp->counters->spool_bytes[sp->index] = bytes;
        sp->counters->spool_files[sp->index] = files;
    }

    return files ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_trtc_spool_peer(ngx_http_trtc_spool_t *sp)
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
ngx_http_trtc_spool_replayed(ngx_http_trtc_client_t *cl)
{
    u_char                  path[NGX_MAX_PATH];
    ngx_uint_t              status;
    ngx_http_trtc_spool_t  *sp;

    sp = cl->data;
    status = cl->status;

    if (sp->pool) {
        ngx_destroy_pool(sp->pool);
        sp->pool = NULL;
    }

    if (!cl->ok || status >= 500 || status == 408 || status == 429) {
        sp->backoff = sp->backoff ? ngx_min(sp->backoff * 2,
                                            NGX_HTTP_TRTC_SPOOL_BACKOFF)
                                  : NGX_HTTP_TRTC_SPOOL_TICK;

        if (cl->error) {
            ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                          "trtc logger: replay of \"%s\" to %V failed (%s), "
                          "next try in %M ms", sp->name, &sp->peer_name,
                          cl->error, sp->backoff);

        } else {
            ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                          "trtc logger: replay of \"%s\" to %V failed "
                          "(status %ui), next try in %M ms", sp->name,
                          &sp->peer_name, status, sp->backoff);
        }

        ngx_http_trtc_spool_schedule(sp, sp->backoff);
        return;
    }

    /* answered: 2xx accepted; anything else will never be, so it goes */

    if (status >= 300) {
        ngx_log_error(NGX_LOG_WARN, sp->log, 0,
                      "trtc logger: upstream %V answered %ui to spooled "
                      "\"%s\", removed", &sp->peer_name, status, sp->name);

    } else {
        (void) ngx_atomic_fetch_add(&sp->counters->uploads_replayed, 1);

        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "trtc logger: spooled \"%s\" replayed to %V (%ui)",
                      sp->name, &sp->peer_name, status);
    }

    ngx_sprintf(path, "%V/%s%Z", &sp->dir, sp->name);

    /* ENOENT: a previous generation's replayer already removed it */

    if (ngx_delete_file(path) == NGX_FILE_ERROR && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_CRIT, sp->log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed", path);
        ngx_http_trtc_spool_schedule(sp, NGX_HTTP_TRTC_SPOOL_BACKOFF);
        return;
    }

    sp->backoff = 0;

    /* the next one at once */
    ngx_http_trtc_spool_schedule(sp, 1);
}


/*
 * A file that can never be replayed is set aside as ".bad-NAME" (the scan
 * skips dot files) instead of holding up every upload behind it.
 */

static void
ngx_http_trtc_spool_quarantine(ngx_http_trtc_spool_t *sp, const char *why)
{
    u_char  from[NGX_MAX_PATH], to[NGX_MAX_PATH];

    ngx_sprintf(from, "%V/%s%Z", &sp->dir, sp->name);
    ngx_sprintf(to, "%V/.bad-%s%Z", &sp->dir, sp->name);

    ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                  "trtc logger: spooled \"%s\" %s, set aside as \".bad-%s\"",
                  sp->name, why, sp->name);

    if (ngx_rename_file(from, to) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, sp->log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed", from, to);
    }
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
    }
}


static void
ngx_http_trtc_spool_schedule(ngx_http_trtc_spool_t *sp, ngx_msec_t delay)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(&sp->tick, delay);
}
