
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"
#include "ngx_http_trtc_origin.h"
#include "ngx_http_trtc_spool.h"


/*
 * trtc_logger_spool, the writer: no log upload is silently lost.  When
 * the upstream cannot take an upload (connect error, timeout, 5xx), the
 * header filter writes the exact request the proxy module built (its
 * header and the body, as nginx itself re-sends them to a next upstream)
 * to DIR, from nginx's own buffers and client body temp file, under a
 * temporary name, fsync()ed, then renamed, so a half-written file is
 * never replayed; then it answers the client 200.  The disk work runs in
 * nginx's thread pool, as "aio threads" does, while the request waits
 * (blocked); the answer goes out when it is done.  A full spool, or a
 * failed write, answers 503 so the SDK retries.  ngx_http_trtc_replay.c
 * sends the files upstream again.
 */


#define NGX_HTTP_TRTC_SPOOL_MAX_SIZE      (64 * 1024 * 1024)
#define NGX_HTTP_TRTC_SPOOL_MAX_AGE       (7 * 86400)
#define NGX_HTTP_TRTC_SPOOL_MAX_ATTEMPTS  50


/* one upload being written */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_trtc_spool_t      *spool;
    ngx_http_trtc_counters_t        *counters;
    ngx_http_output_header_filter_pt  next;
    ngx_chain_t                *bufs;
    off_t                       size;
    ngx_uint_t                  status;        /* the upstream's failure */
    ngx_uint_t                  behind;        /* queued behind backlog */
    ngx_err_t                   err;
    const char                 *failed;        /* the call that failed */
    u_char                      name[NGX_HTTP_TRTC_SPOOL_NAME_LEN];
    u_char                      tmp[NGX_MAX_PATH];
    u_char                      path[NGX_MAX_PATH];
} ngx_http_trtc_spool_job_t;


static ngx_int_t ngx_http_trtc_spool_check_dir(ngx_conf_t *cf,
    ngx_str_t *dir);
static ngx_uint_t ngx_http_trtc_spool_writable(ngx_cycle_t *cycle,
    ngx_str_t *dir);
static ngx_int_t ngx_http_trtc_spool_preflight(ngx_http_request_t *r,
    ngx_http_output_header_filter_pt next);
static void ngx_http_trtc_spool_save(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_trtc_spool_write_buf(ngx_fd_t fd, ngx_buf_t *b,
    off_t from, off_t to);
#if (NGX_THREADS)
static ngx_int_t ngx_http_trtc_spool_post(ngx_http_request_t *r,
    ngx_http_trtc_spool_job_t *job);
static void ngx_http_trtc_spool_saved(ngx_event_t *ev);
#endif
static void ngx_http_trtc_spool_unsave(ngx_http_trtc_spool_job_t *job);
static ngx_int_t ngx_http_trtc_spool_answer(ngx_http_trtc_spool_job_t *job);
static ngx_int_t ngx_http_trtc_spool_cors(ngx_http_request_t *r,
    ngx_str_t *expose);
static void ngx_http_trtc_spool_rewrite(ngx_http_request_t *r,
    ngx_uint_t status, char *header, char *value);


static ngx_uint_t  ngx_http_trtc_spool_seq;


char *
ngx_http_trtc_logger_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_proxy_loc_t *plcf = conf;

    ngx_str_t              *value, s, *pool;
    ngx_int_t               n;
    ngx_uint_t              i, threads;
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
    pool = NULL;
    threads = 1;
    sp->max_size = NGX_HTTP_TRTC_SPOOL_MAX_SIZE;
    sp->max_age = NGX_HTTP_TRTC_SPOOL_MAX_AGE;
    sp->max_attempts = NGX_HTTP_TRTC_SPOOL_MAX_ATTEMPTS;
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

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            /* "off": kept until delivered or set aside otherwise */

            if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                sp->max_age = 0;
                continue;
            }

            sp->max_age = ngx_parse_time(&s, 1);
            if (sp->max_age == (time_t) NGX_ERROR || sp->max_age == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_attempts=", 13) == 0) {
            s.data = value[i].data + 13;
            s.len = value[i].len - 13;

            if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                sp->max_attempts = 0;
                continue;
            }

            n = ngx_atoi(s.data, s.len);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            sp->max_attempts = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "threads=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            if (s.len == 0) {
                goto invalid;
            }

            pool = &s;
            threads = !(s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0);
            continue;
        }

        goto invalid;
    }

    /*
     * The disk work goes to a thread pool, as with "aio threads": the
     * "default" one unless threads=NAME names a thread_pool{} (nginx
     * creates "default" when none is configured).  threads=off, or an
     * nginx without threads, writes on the event loop.
     */

#if (NGX_THREADS)

    if (threads) {
        sp->thread_pool = ngx_thread_pool_add(cf, pool);
        if (sp->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

#else

    if (threads) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "nginx was built without threads: "
                           "\"trtc_logger_spool\" writes and fsync()s on "
                           "the event loop");
    }

#endif

    if (ngx_conf_full_name(cf->cycle, &sp->dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* room for "/.rejected-" and a file name in every path built from it */

    if (sp->dir.len + sizeof("/.rejected-") + NGX_HTTP_TRTC_SPOOL_NAME_LEN
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
    ngx_array_t *spools, ngx_http_trtc_counters_t *counters)
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
        (void) ngx_http_trtc_spool_scan(sp, 0);
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
    ngx_http_trtc_proxy_loc_t *plcf, ngx_http_trtc_counters_t *pc,
    ngx_http_output_header_filter_pt next)
{
    off_t                       size, file_pos;
    ngx_buf_t                  *b;
    ngx_uint_t                  status;
    ngx_chain_t                *cl;
    ngx_time_t                 *tp;
    ngx_atomic_t               *bytes;
    ngx_http_upstream_t        *u;
    ngx_http_trtc_spool_t      *sp;
    ngx_http_trtc_spool_job_t  *job;
    ngx_http_trtc_proxy_ctx_t  *ctx;

    sp = plcf->spool;
    u = r->upstream;
    status = r->headers_out.status;

    /*
     * nginx 1.22 takes an interim 1xx (103 Early Hints) for the answer
     * and would pass it on, the real answer (maybe a 500) as its body:
     * the upload was not taken.  101 is no answer to a POST either.
     */

    if (u == NULL || (status >= 200 && status < 500) || status < 100) {
        return NGX_DECLINED;
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_trtc_spool_preflight(r, next);
    }

    if (u->request_bufs == NULL
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

    job = ngx_pcalloc(r->pool, sizeof(ngx_http_trtc_spool_job_t));
    if (job == NULL) {
        return NGX_ERROR;
    }

    job->request = r;
    job->spool = sp;
    job->counters = pc;
    job->next = next;
    job->bufs = u->request_bufs;
    job->status = status;

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

    job->size = size;

    ctx = ngx_http_get_module_ctx(r, ngx_http_trtc_proxy_module);
    job->behind = (ctx != NULL && ctx->behind);

    /* taken at once: writes in flight count against max_size too */

    bytes = &pc->spool_bytes[sp->index];

    if ((off_t) ngx_atomic_fetch_add(bytes, size) + size > sp->max_size) {
        (void) ngx_atomic_fetch_add(bytes, -size);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "trtc logger: upstream failed (%ui) and the spool "
                      "\"%V\" is full, upload refused with 503",
                      status, &sp->dir);

        job->failed = "";
        return ngx_http_trtc_spool_answer(job);
    }

    /* and as backlog: later uploads queue behind it, not overtake it */

    (void) ngx_atomic_fetch_add(&pc->spool_fresh[sp->index], 1);

    tp = ngx_timeofday();

    /* names sort in arrival order; pid and sequence keep them unique */

    ngx_sprintf(job->name, "%010T%03M-%P-%06ui.req%Z",
                tp->sec, tp->msec, ngx_pid, ngx_http_trtc_spool_seq++);

    ngx_sprintf(job->path, "%V/%s%Z", &sp->dir, job->name);
    ngx_sprintf(job->tmp, "%V/.tmp-%s%Z", &sp->dir, job->name);

#if (NGX_THREADS)

    if (sp->thread_pool != NULL) {
        return ngx_http_trtc_spool_post(r, job);
    }

#endif

    ngx_http_trtc_spool_save(job, r->connection->log);

    return ngx_http_trtc_spool_answer(job);
}


/*
 * A CORS preflight the upstream could not answer: without an answer the
 * browser never sends the upload the spool would keep.  Answered as the
 * upstream's own preflight would be, for an origin trtc_allow_origin
 * allows; without the directive it stays the upstream's failure.
 */

static ngx_int_t
ngx_http_trtc_spool_preflight(ngx_http_request_t *r,
    ngx_http_output_header_filter_pt next)
{
    ngx_str_t                  origin;
    ngx_http_trtc_loc_conf_t  *tlcf;

    static ngx_str_t  methods = ngx_string("POST, PUT");

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_module);

    if (tlcf->allow_origin == NULL || !ngx_http_trtc_origin_is_preflight(r)
        || ngx_http_trtc_origin_check(r, tlcf->allow_origin, &origin)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_http_trtc_spool_rewrite(r, NGX_HTTP_NO_CONTENT, NULL, NULL);

    if (ngx_http_trtc_origin_headers(r, &origin) != NGX_OK
        || ngx_http_trtc_origin_preflight_headers(r, &methods) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return next(r);
}


/*
 * The disk work: in a thread of the pool, or on the event loop without
 * one.  Touches nothing but the job, the request's buffers (the request
 * is blocked meanwhile) and the files; the event loop logs the outcome.
 */

static void
ngx_http_trtc_spool_save(void *data, ngx_log_t *log)
{
    ngx_http_trtc_spool_job_t  *job = data;

    off_t         file_pos;
    ngx_fd_t      fd;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    fd = ngx_open_file(job->tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_OWNER_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        job->err = ngx_errno;
        job->failed = ngx_open_file_n;
        return;
    }

    file_pos = 0;

    for (cl = job->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            if (ngx_http_trtc_spool_write_buf(fd, b, file_pos, b->file_last)
                != NGX_OK)
            {
                goto failed;
            }

            file_pos = b->file_last;

        } else if (ngx_buf_in_memory(b)) {
            if (ngx_http_trtc_spool_write_buf(fd, b, 0, 0) != NGX_OK) {
                goto failed;
            }
        }
    }

    /* on disk before it has a name the replayer takes */

    if (fsync(fd) == -1) {
        job->err = ngx_errno;
        job->failed = "fsync()";
        goto failed;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        job->err = ngx_errno;
        job->failed = ngx_close_file_n;
        (void) ngx_delete_file(job->tmp);
        return;
    }

    if (ngx_rename_file(job->tmp, job->path) == NGX_FILE_ERROR) {
        job->err = ngx_errno;
        job->failed = ngx_rename_file_n;
        (void) ngx_delete_file(job->tmp);
    }

    return;

failed:

    if (job->failed == NULL) {
        job->err = ngx_errno;
        job->failed = "write()";
    }

    (void) ngx_close_file(fd);
    (void) ngx_delete_file(job->tmp);
}


/*
 * Writes a memory buffer, or bytes from..to of a file buffer's file (the
 * client body temp file) copied in the kernel, without a copy of ours.
 * On an error errno says why: a short write is followed by the write
 * that fails (ENOSPC, EDQUOT, EIO).
 */

static ngx_int_t
ngx_http_trtc_spool_write_buf(ngx_fd_t fd, ngx_buf_t *b, off_t from,
    off_t to)
{
    u_char   *p, *last;
    ssize_t   n;
#if (NGX_LINUX)
    loff_t    off;
#endif
    u_char    buf[8192];

    if (!b->in_file) {
        for (p = b->start, last = b->last; p < last; p += n) {
            n = write(fd, p, last - p);

            if (n == -1) {
                if (ngx_errno == NGX_EINTR) {
                    n = 0;
                    continue;
                }

                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

#if (NGX_LINUX)

    off = from;

    while (off < to) {
        n = copy_file_range(b->file->fd, &off, fd, NULL, to - off, 0);

        if (n > 0) {
            continue;
        }

        if (n == 0) {
            ngx_set_errno(EIO);    /* the temp file is shorter */
            return NGX_ERROR;
        }

        if (ngx_errno == NGX_EINTR) {
            continue;
        }

        /* no kernel copy here (say, across file systems): by hand */

        if (ngx_errno == NGX_EXDEV || ngx_errno == NGX_ENOSYS
            || ngx_errno == EOPNOTSUPP || ngx_errno == EINVAL)
        {
            break;
        }

        return NGX_ERROR;
    }

    from = off;

#endif

    while (from < to) {
        n = pread(b->file->fd, buf, ngx_min((off_t) sizeof(buf), to - from),
                  from);

        if (n == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (n <= 0) {
            if (n == 0) {
                ngx_set_errno(EIO);
            }

            return NGX_ERROR;
        }

        for (p = buf, last = buf + n; p < last; p += n) {
            n = write(fd, p, last - p);

            if (n == -1) {
                if (ngx_errno == NGX_EINTR) {
                    n = 0;
                    continue;
                }

                return NGX_ERROR;
            }
        }

        from += last - buf;
    }

    return NGX_OK;
}


#if (NGX_THREADS)

/*
 * As "aio threads" does: the request is blocked (nginx will not free it)
 * and holds one more reference, the header filter answers NGX_DONE, and
 * the answer goes out from ngx_http_trtc_spool_saved().
 */

static ngx_int_t
ngx_http_trtc_spool_post(ngx_http_request_t *r, ngx_http_trtc_spool_job_t *job)
{
    ngx_thread_task_t          *task;
    ngx_http_trtc_spool_job_t  *ctx;

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_trtc_spool_job_t));
    if (task == NULL) {
        ngx_http_trtc_spool_unsave(job);
        return NGX_ERROR;
    }

    ctx = task->ctx;
    *ctx = *job;

    task->handler = ngx_http_trtc_spool_save;
    task->event.data = ctx;
    task->event.handler = ngx_http_trtc_spool_saved;

    if (ngx_thread_task_post(job->spool->thread_pool, task) != NGX_OK) {
        ngx_http_trtc_spool_unsave(job);
        return NGX_ERROR;
    }

    r->main->blocked++;
    r->main->count++;

    /*
     * Nothing else may run the request until the file is written, and
     * the callers must send no body (the answer is header only).
     */

    r->header_only = 1;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static void
ngx_http_trtc_spool_saved(ngx_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_trtc_spool_job_t  *job;

    job = ev->data;
    r = job->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;

    if (c->error) {
        /* the client left: the upload is kept (or refused) all the same */
        (void) ngx_http_trtc_spool_answer(job);
        ngx_http_finalize_request(r, NGX_ERROR);

    } else {
        rc = ngx_http_trtc_spool_answer(job);
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}

#endif


/* a job that wrote nothing gives back what it took */

static void
ngx_http_trtc_spool_unsave(ngx_http_trtc_spool_job_t *job)
{
    ngx_uint_t  i;

    i = job->spool->index;

    (void) ngx_atomic_fetch_add(&job->counters->spool_bytes[i], -job->size);
    (void) ngx_atomic_fetch_add(&job->counters->spool_fresh[i], -1);
}


/*
 * Whether an upload goes into the spool instead of upstream: while the
 * spool holds uploads not yet tried once (an outage's backlog), a new one
 * queues behind them rather than overtake them.  Files waiting after
 * their own failure do not count, and a full spool lets it through.
 * Called once the proxy module has built the request, before it connects.
 */

ngx_uint_t
ngx_http_trtc_spool_behind(ngx_http_request_t *r,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_http_trtc_counters_t *pc)
{
    ngx_uint_t              i;
    ngx_http_upstream_t    *u;
    ngx_http_trtc_spool_t  *sp;

    sp = plcf->spool;
    u = r->upstream;

    if (sp == NULL || pc == NULL || r != r->main || u == NULL) {
        return 0;
    }

    i = sp->index;

    if ((ngx_atomic_int_t) pc->spool_fresh[i] <= 0) {
        return 0;
    }

    /* the uploads ngx_http_trtc_spool_response() can keep */

    if (u->request_bufs == NULL
        || !(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT))
        || r->request_body_no_buffering || r->request_body == NULL
        || r->request_body->rest)
    {
        return 0;
    }

    return (off_t) pc->spool_bytes[i] + r->request_body->received
           < sp->max_size;
}


/* the counters, the log line and the client's answer of a written job */

static ngx_int_t
ngx_http_trtc_spool_answer(ngx_http_trtc_spool_job_t *job)
{
    ngx_http_request_t              *r;
    ngx_http_trtc_spool_t           *sp;
    ngx_http_trtc_counters_t        *pc;

    static ngx_str_t  spooled = ngx_string("X-Trtc-Spooled");
    static ngx_str_t  retry = ngx_string("Retry-After");

    r = job->request;
    sp = job->spool;
    pc = job->counters;

    if (job->failed == NULL) {
        (void) ngx_atomic_fetch_add(&pc->spool_files[sp->index], 1);
        (void) ngx_atomic_fetch_add(ngx_http_trtc_proxy_is_test(r)
                                    ? &pc->uploads_test_spooled
                                    : &pc->uploads_spooled, 1);

        if (job->behind) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "trtc logger: upload of %O bytes spooled as "
                          "\"%s\" behind the uploads not yet replayed",
                          job->size, job->name);

        } else {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "trtc logger: upstream failed (%ui), upload of %O "
                          "bytes spooled as \"%s\"", job->status, job->size,
                          job->name);
        }

        ngx_http_trtc_spool_rewrite(r, NGX_HTTP_OK, "X-Trtc-Spooled", "1");

        if (ngx_http_trtc_spool_cors(r, &spooled) != NGX_OK) {
            return NGX_ERROR;
        }

        return job->next(r);
    }

    if (job->failed[0] != '\0') {
        ngx_http_trtc_spool_unsave(job);

        ngx_log_error(NGX_LOG_CRIT, r->connection->log, job->err,
                      "trtc logger: spooling to \"%s\": %s failed, "
                      "upload refused with 503", job->tmp, job->failed);
    }

    (void) ngx_atomic_fetch_add(&pc->uploads_refused, 1);

    ngx_http_trtc_spool_rewrite(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "Retry-After", "30");

    if (ngx_http_trtc_spool_cors(r, &retry) != NGX_OK) {
        return NGX_ERROR;
    }

    return job->next(r);
}


/*
 * Our own answers carry what the location's proxied answers are allowed
 * (trtc_allow_origin): without it a cross-origin SDK sees a network
 * error instead of the 200 (or the 503 it should retry after).  The one
 * header of ours the page may want to read is exposed.
 */

static ngx_int_t
ngx_http_trtc_spool_cors(ngx_http_request_t *r, ngx_str_t *expose)
{
    ngx_str_t                  origin;
    ngx_table_elt_t           *h;
    ngx_http_trtc_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_module);

    if (tlcf->allow_origin == NULL) {
        return NGX_OK;
    }

    if (ngx_http_trtc_origin_check(r, tlcf->allow_origin, &origin)
        != NGX_OK)
    {
        /* same origin (the access phase refused the others) */
        return ngx_http_trtc_origin_headers(r, NULL);
    }

    if (ngx_http_trtc_origin_headers(r, &origin) != NGX_OK) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Expose-Headers");
    h->value = *expose;

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

    if (header == NULL) {
        return;
    }

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

