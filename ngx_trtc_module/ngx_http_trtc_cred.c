
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_cred.h"


static void ngx_http_trtc_cred_stamp(ngx_file_info_t *fi,
    ngx_http_trtc_cred_stamp_t *st);
static void ngx_http_trtc_cred_cleanup(void *data);


char *
ngx_http_trtc_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    int                          others;
    char                         err[TRTC_CRED_ERRLEN];
    ngx_str_t                   *value;
    ngx_file_info_t              fi;
    ngx_pool_cleanup_t          *cln;
    ngx_http_trtc_cred_file_t  **credp, *cred;

    credp = (ngx_http_trtc_cred_file_t **) (p + cmd->offset);

    if (*credp != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cred = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_cred_file_t));
    if (cred == NULL) {
        return NGX_CONF_ERROR;
    }

    cred->path = value[1];

    /* relative to the configuration prefix, as ssl_certificate is */

    if (ngx_conf_full_name(cf->cycle, &cred->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(cred->path.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_file_info_n " \"%s\" failed", cred->path.data);
        return NGX_CONF_ERROR;
    }

    ngx_http_trtc_cred_stamp(&fi, &cred->seen);
    cred->checked = ngx_time();

    others = 0;

    if (trtc_cred_load(&cred->cred, (char *) cred->path.data, NULL, &others,
                       err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        trtc_cred_free(&cred->cred);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_trtc_cred_cleanup;
    cln->data = cred;

    if (others) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "credentials file \"%s\" is accessible by "
                           "others; its secrets should not be "
                           "(chmod o-rwx)", cred->path.data);
    }

    *credp = cred;

    return NGX_CONF_OK;
}


void
ngx_http_trtc_cred_refresh(ngx_http_trtc_cred_file_t *cred, ngx_log_t *log)
{
    int                         others;
    char                        err[TRTC_CRED_ERRLEN];
    time_t                      now;
    trtc_cred_t                 fresh;
    ngx_file_info_t             fi;
    ngx_http_trtc_cred_stamp_t  st;

    now = ngx_time();

    if (cred->checked == now) {
        return;
    }

    cred->checked = now;

    if (ngx_file_info(cred->path.data, &fi) == NGX_FILE_ERROR) {

        /* say it once, not once a second */

        if (!cred->stat_failed) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "trtc: " ngx_file_info_n " \"%s\" failed, the "
                          "credentials loaded before stay in use",
                          cred->path.data);
            cred->stat_failed = 1;
        }

        return;
    }

    cred->stat_failed = 0;

    ngx_http_trtc_cred_stamp(&fi, &st);

    if (ngx_memcmp(&st, &cred->seen, sizeof(st)) == 0) {
        return;
    }

    /* tried once per change, whatever the outcome */

    cred->seen = st;

    others = 0;
    ngx_memzero(&fresh, sizeof(trtc_cred_t));

    if (trtc_cred_load(&fresh, (char *) cred->path.data, NULL, &others,
                       err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "trtc: credentials file not re-read: %s; the "
                      "credentials loaded before stay in use", err);
        return;
    }

    if (cred->need_secret && fresh.nsecrets == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "trtc: credentials file \"%s\" not re-read: it has "
                      "no \"secret\" line; the credentials loaded before "
                      "stay in use", cred->path.data);
        trtc_cred_free(&fresh);
        return;
    }

    if (others) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "trtc: credentials file \"%s\" is accessible by "
                      "others; its secrets should not be (chmod o-rwx)",
                      cred->path.data);
    }

    trtc_cred_free(&cred->cred);
    cred->cred = fresh;

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "trtc: credentials file \"%s\" re-read: %uz secret(s), "
                  "%uz user(s)", cred->path.data, fresh.nsecrets,
                  fresh.nusers);
}


ngx_int_t
ngx_http_trtc_cred_sign(ngx_http_trtc_cred_file_t *cred, ngx_str_t *user,
    u_char *password)
{
    trtc_cred_secret_t  *secret;

    if (cred->cred.nsecrets == 0) {
        return NGX_DECLINED;
    }

    /* the first secret signs; turnd accepts all of them */

    secret = &cred->cred.secrets[0];

    trtc_cred_rest_password(secret->data, secret->len,
                            (const char *) user->data, user->len,
                            (char *) password);

    return NGX_OK;
}


void
ngx_http_trtc_cred_init_process(ngx_http_trtc_cred_file_t *cred,
    ngx_log_t *log)
{
    /* the worker has dropped its privileges by now, the master had not */

    if (access((char *) cred->path.data, R_OK) == 0) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                  "trtc: worker processes cannot read credentials file "
                  "\"%s\", so its changes take effect only on reload "
                  "(make it readable by the group of the \"user\" "
                  "directive, chmod 640)", cred->path.data);
}


static void
ngx_http_trtc_cred_stamp(ngx_file_info_t *fi, ngx_http_trtc_cred_stamp_t *st)
{
    /* zeroed: the stamps are compared with memcmp() */

    ngx_memzero(st, sizeof(ngx_http_trtc_cred_stamp_t));

    st->mtime = ngx_file_mtime(fi);
#if (NGX_LINUX)
    /* a rewrite within the same second is a change too */
    st->nsec = fi->st_mtim.tv_nsec;
#endif
    st->size = ngx_file_size(fi);
    st->uniq = ngx_file_uniq(fi);
}


static void
ngx_http_trtc_cred_cleanup(void *data)
{
    ngx_http_trtc_cred_file_t  *cred = data;

    trtc_cred_free(&cred->cred);
}
