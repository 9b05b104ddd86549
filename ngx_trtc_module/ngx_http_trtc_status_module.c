
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"
#include "ngx_http_trtc_check.h"
#include "ngx_http_trtc_proxy.h"
#include "ngx_http_trtc_diagnostics.h"
#include "ngx_http_trtc_status_turnd.h"


/*
 * trtc_status [json|prometheus|html]: every checked upstream and peer and
 * the module's counters, as JSON (schema in README), Prometheus text
 * (labels only from the configuration, so their number is bounded) or a
 * small HTML page.  "?format=" overrides the directive's format.  Like
 * stub_status: GET and HEAD only, the body built in one buffer from the
 * request's pool.
 */


#define NGX_HTTP_TRTC_STATUS_JSON        0
#define NGX_HTTP_TRTC_STATUS_PROMETHEUS  1
#define NGX_HTTP_TRTC_STATUS_HTML        2


typedef struct {
    ngx_uint_t                  format;
} ngx_http_trtc_status_loc_conf_t;


/* a snapshot of the counters, taken once per request */
typedef struct {
    ngx_atomic_uint_t           values[14];
    off_t                       spool_bytes;
    ngx_uint_t                  spool_files;
    ngx_atomic_uint_t           issued;
} ngx_http_trtc_status_counters_t;


static ngx_int_t ngx_http_trtc_status_handler(ngx_http_request_t *r);
static void ngx_http_trtc_status_snapshot(ngx_http_request_t *r,
    ngx_http_trtc_status_counters_t *sc);
static size_t ngx_http_trtc_status_size(ngx_array_t *confs,
    ngx_uint_t format);
static u_char *ngx_http_trtc_status_chart(u_char *p,
    ngx_http_trtc_check_peer_t *rec, time_t now);
static u_char *ngx_http_trtc_status_json(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc);
static u_char *ngx_http_trtc_status_prometheus(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc);
static u_char *ngx_http_trtc_status_html(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc);
static u_char *ngx_http_trtc_status_label(u_char *p, ngx_str_t *s);
static const char *ngx_http_trtc_status_state(
    ngx_http_trtc_check_target_t *t, ngx_http_trtc_check_peer_t *rec);
static char *ngx_http_trtc_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_trtc_status_create_loc_conf(ngx_conf_t *cf);


static ngx_command_t  ngx_http_trtc_status_commands[] = {

    { ngx_string("trtc_status"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_trtc_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_status_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_trtc_status_create_loc_conf,  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_trtc_status_module = {
    NGX_MODULE_V1,
    &ngx_http_trtc_status_module_ctx,      /* module context */
    ngx_http_trtc_status_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_trtc_status_formats[] = {
    ngx_string("json"),
    ngx_string("prometheus"),
    ngx_string("html")
};


static ngx_str_t  ngx_http_trtc_status_html_head = ngx_string(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<meta http-equiv=\"refresh\" content=\"5\">"
    "<title>trtc status</title><style>"
    "body{font:14px sans-serif;margin:2em}"
    "table{border-collapse:collapse;margin-bottom:2em}"
    "td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
    ".up{background:#cfc}.down{background:#fcc}"
    ".disabled,.checking{background:#eee}"
    "</style></head><body><h1>trtc status</h1>\n");


static ngx_str_t  ngx_http_trtc_status_types[] = {
    ngx_string("application/json"),
    ngx_string("text/plain; version=0.0.4; charset=utf-8"),
    ngx_string("text/html; charset=utf-8")
};


static ngx_int_t
ngx_http_trtc_status_handler(ngx_http_request_t *r)
{
    size_t                            size;
    ngx_int_t                         rc;
    ngx_str_t                         arg;
    ngx_buf_t                        *b;
    ngx_uint_t                        format, i;
    ngx_array_t                      *confs;
    ngx_chain_t                       out;
    ngx_table_elt_t                  *cc;
    ngx_http_trtc_check_shm_t        *sh;
    ngx_http_trtc_status_loc_conf_t  *slcf;
    ngx_http_trtc_status_counters_t   sc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_trtc_status_module);
    format = slcf->format;

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK) {
        for (i = 0; i < 3; i++) {
            if (arg.len == ngx_http_trtc_status_formats[i].len
                && ngx_strncmp(arg.data, ngx_http_trtc_status_formats[i].data,
                               arg.len) == 0)
            {
                break;
            }
        }

        if (i == 3) {
            return NGX_HTTP_BAD_REQUEST;
        }

        format = i;
    }

    confs = ngx_http_trtc_check_confs(r);
    sh = ngx_http_trtc_check_shm(r);

    ngx_http_trtc_status_snapshot(r, &sc);

    r->headers_out.content_type = ngx_http_trtc_status_types[format];
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;

    cc = ngx_list_push(&r->headers_out.headers);
    if (cc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cc->hash = 1;
    ngx_str_set(&cc->key, "Cache-Control");
    ngx_str_set(&cc->value, "no-store");

    size = ngx_http_trtc_status_size(confs, format)
           + ngx_http_trtc_diagnostics_status_size(r, format);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (format) {

    case NGX_HTTP_TRTC_STATUS_PROMETHEUS:
        b->last = ngx_http_trtc_status_prometheus(b->last, confs, sh, &sc);
        b->last = ngx_http_trtc_diagnostics_status(r, b->last,
                                              NGX_HTTP_TRTC_DIAG_PROMETHEUS);
        break;

    case NGX_HTTP_TRTC_STATUS_HTML:
        b->last = ngx_http_trtc_status_html(b->last, confs, sh, &sc);
        b->last = ngx_http_trtc_diagnostics_status(r, b->last,
                                                   NGX_HTTP_TRTC_DIAG_HTML);
        b->last = ngx_cpymem(b->last, "</body></html>\n",
                             sizeof("</body></html>\n") - 1);
        break;

    default:
        b->last = ngx_http_trtc_status_json(b->last, confs, sh, &sc);
        b->last = ngx_http_trtc_diagnostics_status(r, b->last,
                                                   NGX_HTTP_TRTC_DIAG_JSON);
        b->last = ngx_cpymem(b->last, "}\n", 2);
    }

    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_trtc_status_snapshot(ngx_http_request_t *r,
    ngx_http_trtc_status_counters_t *sc)
{
    ngx_uint_t                       i;
    ngx_http_trtc_counters_t        *counters;
    ngx_http_trtc_main_conf_t       *tmcf;
    ngx_http_trtc_counters_t        *pc;

    ngx_memzero(sc, sizeof(ngx_http_trtc_status_counters_t));

    pc = ngx_http_trtc_proxy_get_counters(r);

    if (pc != NULL) {
        sc->values[0] = pc->signaling_open;
        sc->values[1] = pc->signaling_total;
        sc->values[2] = pc->signaling_bytes_up;
        sc->values[3] = pc->signaling_bytes_down;
        sc->values[4] = pc->uploads_proxied;
        sc->values[5] = pc->uploads_spooled;
        sc->values[6] = pc->uploads_replayed;
        sc->values[7] = pc->uploads_refused;
        sc->values[8] = pc->uploads_rejected;
        sc->values[9] = pc->uploads_expired;
        sc->values[10] = pc->uploads_damaged;
        sc->values[11] = pc->signaling_test;
        sc->values[12] = pc->uploads_test;
        sc->values[13] = pc->uploads_test_spooled;

        /* a moment below zero: the replayer took one off before a rescan */

        for (i = 0; i < NGX_HTTP_TRTC_MAX_SPOOLS; i++) {
            sc->spool_bytes += ngx_max((ngx_atomic_int_t)
                                       pc->spool_bytes[i], 0);
            sc->spool_files += ngx_max((ngx_atomic_int_t)
                                       pc->spool_files[i], 0);
        }
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_trtc_module);

    if (tmcf->counters != NULL && tmcf->counters->data != NULL) {
        counters = tmcf->counters->data;
        sc->issued = counters->credentials_issued;
    }
}


/* an SVG chart of a peer's hour: its frame, 60 bars and a path */
#define NGX_HTTP_TRTC_STATUS_CHART_SIZE                                       \
    (512 + NGX_HTTP_TRTC_CHECK_HISTORY * (64 + 16))


static size_t
ngx_http_trtc_status_size(ngx_array_t *confs, ngx_uint_t format)
{
    size_t                          size;
    ngx_uint_t                      i, j;
    ngx_http_trtc_check_conf_t    **cp;
    ngx_http_trtc_check_target_t   *t;

    /* the counters, the page's frame, then every upstream and peer */

    size = 8192;

    cp = confs->elts;

    for (i = 0; i < confs->nelts; i++) {
        size += 1024
                + 8 * ngx_http_trtc_json_str_size(cp[i]->upstream->host.len);

        t = cp[i]->targets.elts;

        for (j = 0; j < cp[i]->targets.nelts; j++) {
            size += 2048
                    + 12 * (ngx_http_trtc_json_str_size(t[j].name.len)
                            + ngx_http_trtc_json_str_size(
                                  cp[i]->upstream->host.len));

            if (format == NGX_HTTP_TRTC_STATUS_HTML) {
                size += NGX_HTTP_TRTC_STATUS_CHART_SIZE;
            }
        }

        size += ngx_http_trtc_status_turnd_size(cp[i]);
    }

    return size;
}


static const char *
ngx_http_trtc_status_state(ngx_http_trtc_check_target_t *t,
    ngx_http_trtc_check_peer_t *rec)
{
    if (t->admin_down) {
        return "disabled";
    }

    if (rec == NULL) {
        return "unknown";
    }

    if (rec->checks == 0) {
        return rec->down ? "down" : "checking";
    }

    return rec->down ? "down" : "up";
}


static u_char *
ngx_http_trtc_status_json(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc)
{
    ngx_str_t                      err;
    ngx_uint_t                     i, j;
    ngx_http_trtc_check_peer_t    *rec;
    ngx_http_trtc_check_conf_t   **cp;
    ngx_http_trtc_check_target_t  *t;

    p = ngx_sprintf(p, "{\"version\":\"%s\",\"nginx_version\":\"%s\","
                    "\"time\":%T,\"upstreams\":{",
                    NGX_HTTP_TRTC_VERSION, NGINX_VERSION, ngx_time());

    cp = confs->elts;

    for (i = 0; i < confs->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_http_trtc_json_str(p, &cp[i]->upstream->host);

        p = ngx_sprintf(p, ":{\"check\":{\"type\":\"%s\",\"interval_ms\":%M,"
                        "\"timeout_ms\":%M,\"fails\":%ui,\"passes\":%ui},"
                        "\"peers\":[",
                        ngx_http_trtc_check_type_name(cp[i]->type),
                        cp[i]->interval, cp[i]->timeout, cp[i]->fails,
                        cp[i]->passes);

        t = cp[i]->targets.elts;

        for (j = 0; j < cp[i]->targets.nelts; j++) {
            rec = sh ? &sh->peers[t[j].index] : NULL;

            if (j) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, "{\"name\":", sizeof("{\"name\":") - 1);
            p = ngx_http_trtc_json_str(p, &t[j].name);

            p = ngx_sprintf(p, ",\"backup\":%s,\"state\":\"%s\"",
                            t[j].backup ? "true" : "false",
                            ngx_http_trtc_status_state(&t[j], rec));

            if (rec == NULL) {
                *p++ = '}';
                continue;
            }

            err.data = rec->last_error;
            err.len = ngx_strlen(rec->last_error);

            p = ngx_sprintf(p, ",\"since\":%T,\"last_check\":%T,"
                            "\"last_ok\":%s,\"last_status\":%ui,"
                            "\"last_error\":",
                            rec->since, rec->last,
                            rec->last_ok ? "true" : "false",
                            rec->last_status);
            p = ngx_http_trtc_json_str(p, &err);

            p = ngx_sprintf(p, ",\"latency_ms\":%M,\"consecutive_passes\":%ui,"
                            "\"consecutive_fails\":%ui,\"checks\":%ui,"
                            "\"failures\":%ui",
                            rec->latency, rec->passes, rec->fails,
                            rec->checks, rec->failures);
            p = ngx_http_trtc_status_turnd_json(p, &t[j], rec);
            *p++ = '}';
        }

        p = ngx_cpymem(p, "]}", 2);
    }

    p = ngx_sprintf(p, "},\"signaling\":{\"sessions_open\":%uA,"
                    "\"sessions_total\":%uA,\"bytes_to_upstream\":%uA,"
                    "\"bytes_to_clients\":%uA},"
                    "\"logger\":{\"uploads_proxied\":%uA,"
                    "\"uploads_spooled\":%uA,\"uploads_replayed\":%uA,"
                    "\"uploads_refused\":%uA,\"uploads_rejected\":%uA,"
                    "\"uploads_expired\":%uA,\"uploads_damaged\":%uA,"
                    "\"spool_bytes\":%O,\"spool_files\":%ui},"
                    "\"credentials\":{\"issued\":%uA},"
                    "\"tests\":{\"signaling_sessions\":%uA,"
                    "\"uploads_proxied\":%uA,\"uploads_spooled\":%uA}",
                    sc->values[0], sc->values[1], sc->values[2],
                    sc->values[3], sc->values[4], sc->values[5],
                    sc->values[6], sc->values[7], sc->values[8],
                    sc->values[9], sc->values[10], sc->spool_bytes,
                    sc->spool_files, sc->issued, sc->values[11],
                    sc->values[12], sc->values[13]);

    return p;
}


/* a label value: backslash, double quote and newline escaped */

static u_char *
ngx_http_trtc_status_label(u_char *p, ngx_str_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < s->len; i++) {
        switch (s->data[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = s->data[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = s->data[i];
        }
    }

    return p;
}


static u_char *
ngx_http_trtc_status_prometheus(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc)
{
    ngx_uint_t                     i, j, m;
    ngx_http_trtc_check_peer_t    *rec;
    ngx_http_trtc_check_conf_t   **cp;
    ngx_http_trtc_check_target_t  *t;

    static const char  *metrics[][3] = {
        { "trtc_upstream_peer_up", "gauge",
          "1 when the peer passes its health check and is not disabled" },
        { "trtc_upstream_peer_check_latency_seconds", "gauge",
          "Duration of the last health check" },
        { "trtc_upstream_peer_checks_total", "counter",
          "Health checks run" },
        { "trtc_upstream_peer_check_failures_total", "counter",
          "Health checks failed" },
        { "trtc_upstream_peer_state_since_timestamp_seconds", "gauge",
          "Unix time of the last change of state" }
    };

    cp = confs->elts;

    p = ngx_sprintf(p,
        "# HELP trtc_build_info The module's and nginx's versions, always 1\n"
        "# TYPE trtc_build_info gauge\n"
        "trtc_build_info{version=\"" NGX_HTTP_TRTC_VERSION "\","
        "nginx_version=\"" NGINX_VERSION "\"} 1\n");

    for (m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {

        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n", metrics[m][0],
                        metrics[m][2], metrics[m][0], metrics[m][1]);

        for (i = 0; i < confs->nelts; i++) {
            t = cp[i]->targets.elts;

            for (j = 0; j < cp[i]->targets.nelts; j++) {
                if (sh == NULL) {
                    continue;
                }

                rec = &sh->peers[t[j].index];

                p = ngx_sprintf(p, "%s{upstream=\"", metrics[m][0]);
                p = ngx_http_trtc_status_label(p, &cp[i]->upstream->host);
                p = ngx_cpymem(p, "\",peer=\"", sizeof("\",peer=\"") - 1);
                p = ngx_http_trtc_status_label(p, &t[j].name);
                p = ngx_sprintf(p, "\",backup=\"%s\"} ",
                                t[j].backup ? "true" : "false");

                switch (m) {

                case 0:
                    p = ngx_sprintf(p, "%d\n",
                                    (!t[j].admin_down && !rec->down) ? 1 : 0);
                    break;

                case 1:
                    p = ngx_sprintf(p, "%M.%03M\n", rec->latency / 1000,
                                    rec->latency % 1000);
                    break;

                case 2:
                    p = ngx_sprintf(p, "%ui\n", rec->checks);
                    break;

                case 3:
                    p = ngx_sprintf(p, "%ui\n", rec->failures);
                    break;

                default:
                    p = ngx_sprintf(p, "%T\n", rec->since);
                }
            }
        }
    }

    p = ngx_sprintf(p,
        "# HELP trtc_signaling_sessions_open WebSocket signaling sessions "
        "open\n"
        "# TYPE trtc_signaling_sessions_open gauge\n"
        "trtc_signaling_sessions_open %uA\n"
        "# HELP trtc_signaling_sessions_total WebSocket signaling sessions "
        "opened\n"
        "# TYPE trtc_signaling_sessions_total counter\n"
        "trtc_signaling_sessions_total %uA\n"
        "# HELP trtc_signaling_bytes_total Signaling bytes relayed\n"
        "# TYPE trtc_signaling_bytes_total counter\n"
        "trtc_signaling_bytes_total{direction=\"upstream\"} %uA\n"
        "trtc_signaling_bytes_total{direction=\"client\"} %uA\n"
        "# HELP trtc_logger_uploads_total Log uploads, by what became of "
        "them\n"
        "# TYPE trtc_logger_uploads_total counter\n"
        "trtc_logger_uploads_total{result=\"proxied\"} %uA\n"
        "trtc_logger_uploads_total{result=\"spooled\"} %uA\n"
        "trtc_logger_uploads_total{result=\"replayed\"} %uA\n"
        "trtc_logger_uploads_total{result=\"refused\"} %uA\n"
        "trtc_logger_uploads_total{result=\"rejected\"} %uA\n"
        "trtc_logger_uploads_total{result=\"expired\"} %uA\n"
        "trtc_logger_uploads_total{result=\"damaged\"} %uA\n"
        "# HELP trtc_logger_spool_bytes Bytes in the spools (set-aside "
        "files too)\n"
        "# TYPE trtc_logger_spool_bytes gauge\n"
        "trtc_logger_spool_bytes %O\n"
        "# HELP trtc_logger_spool_files Uploads waiting in the spools\n"
        "# TYPE trtc_logger_spool_files gauge\n"
        "trtc_logger_spool_files %ui\n"
        "# HELP trtc_credentials_issued_total TURN credentials issued\n"
        "# TYPE trtc_credentials_issued_total counter\n"
        "trtc_credentials_issued_total %uA\n"
        "# HELP trtc_diagnostics_test_sessions_total Signaling sessions "
        "of the diagnostics page (not in trtc_signaling_*)\n"
        "# TYPE trtc_diagnostics_test_sessions_total counter\n"
        "trtc_diagnostics_test_sessions_total %uA\n"
        "# HELP trtc_diagnostics_test_uploads_total Log uploads of the "
        "diagnostics page (not in trtc_logger_uploads_total)\n"
        "# TYPE trtc_diagnostics_test_uploads_total counter\n"
        "trtc_diagnostics_test_uploads_total{result=\"proxied\"} %uA\n"
        "trtc_diagnostics_test_uploads_total{result=\"spooled\"} %uA\n",
        sc->values[0], sc->values[1], sc->values[2], sc->values[3],
        sc->values[4], sc->values[5], sc->values[6], sc->values[7],
        sc->values[8], sc->values[9], sc->values[10],
        sc->spool_bytes, sc->spool_files, sc->issued, sc->values[11],
        sc->values[12], sc->values[13]);

    return p;
}


static u_char *
ngx_http_trtc_status_html(u_char *p, ngx_array_t *confs,
    ngx_http_trtc_check_shm_t *sh, ngx_http_trtc_status_counters_t *sc)
{
    ngx_str_t                      s;
    ngx_uint_t                     i, j;
    const char                    *state;
    ngx_http_trtc_check_peer_t    *rec;
    ngx_http_trtc_check_conf_t   **cp;
    ngx_http_trtc_check_target_t  *t;

    p = ngx_cpymem(p, ngx_http_trtc_status_html_head.data,
                   ngx_http_trtc_status_html_head.len);

    cp = confs->elts;

    for (i = 0; i < confs->nelts; i++) {
        p = ngx_cpymem(p, "<h2>upstream ", sizeof("<h2>upstream ") - 1);
        p = (u_char *) ngx_escape_html(p, cp[i]->upstream->host.data,
                                       cp[i]->upstream->host.len);

        p = ngx_sprintf(p, " <small>(%s check every %M ms)</small></h2>\n"
                        "<table><tr><th>peer</th><th>state</th>"
                        "<th>since</th><th>last check</th><th>latency</th>"
                        "<th>passes</th><th>fails</th><th>checks</th>"
                        "<th>failures</th><th>last hour</th></tr>\n",
                        ngx_http_trtc_check_type_name(cp[i]->type),
                        cp[i]->interval);

        t = cp[i]->targets.elts;

        for (j = 0; j < cp[i]->targets.nelts; j++) {
            rec = sh ? &sh->peers[t[j].index] : NULL;
            state = ngx_http_trtc_status_state(&t[j], rec);

            p = ngx_cpymem(p, "<tr><td>", sizeof("<tr><td>") - 1);
            p = (u_char *) ngx_escape_html(p, t[j].name.data, t[j].name.len);
            p = ngx_sprintf(p, "%s</td><td class=\"%s\">%s</td>",
                            t[j].backup ? " (backup)" : "", state, state);

            if (rec == NULL) {
                p = ngx_cpymem(p, "</tr>\n", sizeof("</tr>\n") - 1);
                continue;
            }

            p = ngx_cpymem(p, "<td>", 4);
            p = ngx_http_time(p, rec->since);
            p = ngx_cpymem(p, "</td><td>", 9);

            s.data = rec->last_error;
            s.len = ngx_strlen(rec->last_error);

            if (rec->checks == 0) {
                p = ngx_cpymem(p, "none yet", 8);

            } else if (rec->last_ok) {
                p = ngx_sprintf(p, "ok %ui", rec->last_status);

            } else {
                p = ngx_cpymem(p, "failed: ", 8);
                p = (u_char *) ngx_escape_html(p, s.data, s.len);
            }

            p = ngx_sprintf(p, "</td><td>%M ms</td><td>%ui</td><td>%ui</td>"
                            "<td>%ui</td><td>%ui</td><td>",
                            rec->latency, rec->passes, rec->fails,
                            rec->checks, rec->failures);
            p = ngx_http_trtc_status_chart(p, rec, ngx_time());
            p = ngx_http_trtc_status_turnd_html(p, &t[j], rec, ngx_time());
            p = ngx_cpymem(p, "</td></tr>\n", sizeof("</td></tr>\n") - 1);
        }

        p = ngx_cpymem(p, "</table>\n", sizeof("</table>\n") - 1);
    }

    p = ngx_sprintf(p, "<h2>counters</h2><table>"
                    "<tr><td>signaling sessions open</td><td>%uA</td></tr>"
                    "<tr><td>signaling sessions total</td><td>%uA</td></tr>"
                    "<tr><td>signaling bytes to upstream</td><td>%uA</td></tr>"
                    "<tr><td>signaling bytes to clients</td><td>%uA</td></tr>"
                    "<tr><td>log uploads proxied</td><td>%uA</td></tr>"
                    "<tr><td>log uploads spooled</td><td>%uA</td></tr>"
                    "<tr><td>log uploads replayed</td><td>%uA</td></tr>"
                    "<tr><td>log uploads refused</td><td>%uA</td></tr>"
                    "<tr><td>log uploads set aside: rejected</td>"
                    "<td>%uA</td></tr>"
                    "<tr><td>log uploads set aside: expired</td>"
                    "<td>%uA</td></tr>"
                    "<tr><td>log uploads set aside: damaged</td>"
                    "<td>%uA</td></tr>"
                    "<tr><td>spool</td><td>%ui files, %O bytes</td></tr>"
                    "<tr><td>TURN credentials issued</td><td>%uA</td></tr>"
                    "<tr><td>diagnostics page: signaling sessions</td>"
                    "<td>%uA</td></tr>"
                    "<tr><td>diagnostics page: log uploads proxied</td>"
                    "<td>%uA</td></tr>"
                    "<tr><td>diagnostics page: log uploads spooled</td>"
                    "<td>%uA</td></tr>"
                    "</table>\n",
                    sc->values[0], sc->values[1], sc->values[2],
                    sc->values[3], sc->values[4], sc->values[5],
                    sc->values[6], sc->values[7], sc->values[8],
                    sc->values[9], sc->values[10], sc->spool_files,
                    sc->spool_bytes, sc->issued, sc->values[11],
                    sc->values[12], sc->values[13]);

    return p;
}


/*
 * A peer's last hour as an inline SVG, oldest minute on the left, 3 px a
 * minute: a red bar for a minute whose probes all failed, orange for one
 * with some failures, and the slowest passed probe of each minute as a
 * line scaled to the hour's slowest.  Read under no lock: a probe ending
 * meanwhile changes one minute, which the next refresh shows.
 */

static u_char *
ngx_http_trtc_status_chart(u_char *p, ngx_http_trtc_check_peer_t *rec,
    time_t now)
{
    uint32_t                       max, minute;
    ngx_int_t                      y;
    ngx_uint_t                     i, pen;
    ngx_http_trtc_check_minute_t  *m;

    minute = (uint32_t) (now / 60);
    max = 1;

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        m = &rec->history[i];

        if (m->minute + NGX_HTTP_TRTC_CHECK_HISTORY > minute
            && m->latency > max)
        {
            max = m->latency;
        }
    }

    p = ngx_sprintf(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                    "width=\"180\" height=\"32\" viewBox=\"0 0 180 32\" "
                    "role=\"img\"><title>last hour: slowest passed check "
                    "a minute (top: %uD ms), failed minutes in red"
                    "</title><rect width=\"180\" height=\"32\" "
                    "fill=\"#f4f4f4\"/>", max);

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        m = &rec->history[(minute + 1 + i) % NGX_HTTP_TRTC_CHECK_HISTORY];

        if (m->minute != minute + 1 + i - NGX_HTTP_TRTC_CHECK_HISTORY
            || m->failures == 0)
        {
            continue;
        }

        p = ngx_sprintf(p, "<rect class=\"fail\" x=\"%ui\" width=\"3\" "
                        "height=\"32\" fill=\"%s\"/>", i * 3,
                        (m->failures == m->checks) ? "#e55" : "#fa3");
    }

    p = ngx_cpymem(p, "<path fill=\"none\" stroke=\"#36c\" d=\"",
                   sizeof("<path fill=\"none\" stroke=\"#36c\" d=\"") - 1);

    pen = 0;

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        m = &rec->history[(minute + 1 + i) % NGX_HTTP_TRTC_CHECK_HISTORY];

        if (m->minute != minute + 1 + i - NGX_HTTP_TRTC_CHECK_HISTORY
            || m->checks == m->failures)
        {
            pen = 0;
            continue;
        }

        y = 30 - (ngx_int_t) ((uint64_t) m->latency * 28 / max);

        p = ngx_sprintf(p, "%c%ui %i", pen ? 'L' : 'M', i * 3 + 1, y);

        if (!pen) {
            /* a lone minute is a dot: a short stroke to the right */
            p = ngx_sprintf(p, "h1");
        }

        pen = 1;
    }

    return ngx_cpymem(p, "\"/></svg>", sizeof("\"/></svg>") - 1);
}


static char *
ngx_http_trtc_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_trtc_status_loc_conf_t *slcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->format != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    slcf->format = NGX_HTTP_TRTC_STATUS_JSON;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        for (i = 0; i < 3; i++) {
            if (value[1].len == ngx_http_trtc_status_formats[i].len
                && ngx_strncmp(value[1].data,
                               ngx_http_trtc_status_formats[i].data,
                               value[1].len) == 0)
            {
                break;
            }
        }

        if (i == 3) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid format \"%V\" in \"trtc_status\": "
                               "json, prometheus or html expected",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        slcf->format = i;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_trtc_status_handler;

    return NGX_CONF_OK;
}


static void *
ngx_http_trtc_status_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_status_loc_conf_t  *slcf;

    slcf = ngx_palloc(cf->pool, sizeof(ngx_http_trtc_status_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->format = NGX_CONF_UNSET_UINT;

    return slcf;
}
