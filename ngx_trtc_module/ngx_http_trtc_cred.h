
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CRED_H_INCLUDED_
#define _NGX_HTTP_TRTC_CRED_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <trtc_cred.h>


/* what identifies one version of the file: a change means "re-read" */
typedef struct {
    time_t                       mtime;
    long                         nsec;
    off_t                        size;
    ngx_file_uniq_t              uniq;
} ngx_http_trtc_cred_stamp_t;


/*
 * The credentials file of trtc_credentials.  Each worker keeps its own
 * copy (the parser's memory is malloc()ed) and replaces it when the file
 * changes; the cycle pool's cleanup frees the last one.
 */
typedef struct {
    ngx_str_t                    path;          /* full, NUL-terminated */
    trtc_cred_t                  cred;          /* in use */
    ngx_http_trtc_cred_stamp_t   seen;          /* as last tried */
    time_t                       checked;       /* when last stat()ed */
    ngx_uint_t                   need_secret;   /* someone signs with it */
    unsigned                     stat_failed:1;
} ngx_http_trtc_cred_file_t;


/* trtc_credentials PATH; (NGX_HTTP_MAIN_CONF_OFFSET, cmd->offset) */
char *ngx_http_trtc_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Re-reads the file if it changed since the last look, looking at most
 * once a second.  A file that fails to load leaves the credentials in use
 * untouched (logged at "error" level); the next change is tried again.
 */
void ngx_http_trtc_cred_refresh(ngx_http_trtc_cred_file_t *cred,
    ngx_log_t *log);

/*
 * password = base64(HMAC-SHA1(first secret, user)), NUL-terminated, in
 * TRTC_CRED_REST_PASS_LEN + 1 bytes.  NGX_DECLINED without a secret.
 */
ngx_int_t ngx_http_trtc_cred_sign(ngx_http_trtc_cred_file_t *cred,
    ngx_str_t *user, u_char *password);

/* in a worker: warns when the worker cannot read the file to re-read it */
void ngx_http_trtc_cred_init_process(ngx_http_trtc_cred_file_t *cred,
    ngx_log_t *log);


#endif /* _NGX_HTTP_TRTC_CRED_H_INCLUDED_ */
