
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_apply.h"


/*
 * Runs another module's directive in the current context, as if the
 * user had written it here: the directive is found the way
 * ngx_conf_handler() finds it, and its own handler does the work, so the
 * trtc_* directives configure the stock proxy module instead of being a
 * second proxy, and errors keep the user's file and line.
 */

char *
ngx_http_trtc_apply(ngx_conf_t *cf, ngx_uint_t flags, const char *name, ...)
{
    char           *rv;
    void           *conf, **confp;
    va_list         ap;
    ngx_str_t      *arg;
    ngx_uint_t      i;
    ngx_array_t    *saved, *args;
    ngx_module_t   *module;
    ngx_command_t  *cmd;
    const char     *s;

    args = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (args == NULL) {
        return NGX_CONF_ERROR;
    }

    va_start(ap, name);

    for (s = name; s != NULL; s = va_arg(ap, const char *)) {
        arg = ngx_array_push(args);
        if (arg == NULL) {
            va_end(ap);
            return NGX_CONF_ERROR;
        }

        /* handlers keep pointers to their arguments and expect a NUL */

        arg->len = ngx_strlen(s);
        arg->data = ngx_pnalloc(cf->pool, arg->len + 1);
        if (arg->data == NULL) {
            va_end(ap);
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(arg->data, s, arg->len + 1);
    }

    va_end(ap);

    arg = args->elts;

    for (i = 0; cf->cycle->modules[i]; i++) {
        module = cf->cycle->modules[i];

        if (module->type != NGX_HTTP_MODULE || module->commands == NULL) {
            continue;
        }

        for (cmd = module->commands; cmd->name.len; cmd++) {

            if (cmd->name.len != arg[0].len
                || ngx_strcmp(cmd->name.data, arg[0].data) != 0)
            {
                continue;
            }

            if (!(cmd->type & NGX_HTTP_LOC_CONF)) {
                continue;
            }

            confp = *(void **) ((char *) cf->ctx + cmd->conf);
            conf = confp[module->ctx_index];

            if ((flags & NGX_HTTP_TRTC_APPLY_DEFAULT)
                && cmd->set == ngx_conf_set_keyval_slot
                && args->nelts > 1
                && ngx_http_trtc_apply_has_key(
                       *(ngx_array_t **) ((char *) conf + cmd->offset),
                       &arg[1]))
            {
                /* e.g. the user's own proxy_set_header Host, written before */
                return NGX_CONF_OK;
            }

            saved = cf->args;
            cf->args = args;
            rv = cmd->set(cf, cmd, conf);
            cf->args = saved;

            if (rv == NGX_CONF_OK || rv == NGX_CONF_ERROR) {
                return rv;
            }

            if ((flags & NGX_HTTP_TRTC_APPLY_DEFAULT)
                && ngx_strcmp(rv, "is duplicate") == 0)
            {
                /* the user set it earlier in this location: theirs wins */
                return NGX_CONF_OK;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" (as set by \"%V\") %s",
                               &arg[0], &((ngx_str_t *) cf->args->elts)[0],
                               rv);

            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" needs the \"%s\" directive, which this nginx "
                       "does not have", &((ngx_str_t *) cf->args->elts)[0],
                       name);

    return NGX_CONF_ERROR;
}


ngx_uint_t
ngx_http_trtc_apply_has_key(ngx_array_t *kv, ngx_str_t *key)
{
    ngx_uint_t    i, n;
    ngx_keyval_t  *p;

    if (kv == NULL || kv == NGX_CONF_UNSET_PTR) {
        return 0;
    }

    p = kv->elts;

    for (i = 0, n = 0; i < kv->nelts; i++) {
        if (p[i].key.len == key->len
            && ngx_strncasecmp(p[i].key.data, key->data, key->len) == 0)
        {
            n++;
        }
    }

    return n;
}


/*
 * Where the list of a key-value directive (ngx_conf_set_keyval_slot, such
 * as proxy_set_header) lives in the current location: its command says.
 */

ngx_array_t **
ngx_http_trtc_apply_keyvals(ngx_conf_t *cf, const char *name)
{
    void           *conf, **confp;
    size_t          len;
    ngx_uint_t      i;
    ngx_module_t   *module;
    ngx_command_t  *cmd;

    len = ngx_strlen(name);

    for (i = 0; cf->cycle->modules[i]; i++) {
        module = cf->cycle->modules[i];

        if (module->type != NGX_HTTP_MODULE || module->commands == NULL) {
            continue;
        }

        for (cmd = module->commands; cmd->name.len; cmd++) {
            if (cmd->name.len == len
                && ngx_strncmp(cmd->name.data, name, len) == 0
                && cmd->set == ngx_conf_set_keyval_slot
                && (cmd->type & NGX_HTTP_LOC_CONF))
            {
                confp = *(void **) ((char *) cf->ctx + cmd->conf);
                conf = confp[module->ctx_index];

                return (ngx_array_t **) ((char *) conf + cmd->offset);
            }
        }
    }

    return NULL;
}
