
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_json.h"
#include "ngx_http_trtc_status_turnd.h"


/* the text and an SVG of 60 minutes: two bars and a path step each */
#define NGX_HTTP_TRTC_STATUS_TURND_SIZE                                       \
    (2048 + NGX_HTTP_TRTC_CHECK_HISTORY * (2 * 96 + 24))


static ngx_uint_t ngx_http_trtc_status_turnd_height(uint64_t v,
    uint64_t max);


size_t
ngx_http_trtc_status_turnd_size(ngx_http_trtc_check_conf_t *ccf)
{
    if (ccf->metrics_port == 0) {
        return 0;
    }

    return ccf->targets.nelts * NGX_HTTP_TRTC_STATUS_TURND_SIZE;
}


u_char *
ngx_http_trtc_status_turnd_json(u_char *p, ngx_http_trtc_check_target_t *t,
    ngx_http_trtc_check_peer_t *rec)
{
    ngx_str_t                     s;
    ngx_http_trtc_check_turnd_t  *m;

    if (t->conf->metrics_port == 0 || rec == NULL) {
        return p;
    }

    m = &rec->turnd;

    p = ngx_cpymem(p, ",\"turnd\":{\"metrics\":",
                   sizeof(",\"turnd\":{\"metrics\":") - 1);

    s = t->metrics_addr.name;
    p = ngx_http_trtc_json_str(p, &s);

    s.data = m->last_error;
    s.len = ngx_strlen(m->last_error);

    p = ngx_sprintf(p, ",\"scrapes\":%ui,\"failures\":%ui,"
                    "\"last_scrape\":%T,\"last_ok\":%s,\"last_error\":",
                    m->scrapes, m->failures, m->last,
                    m->last_ok ? "true" : "false");
    p = ngx_http_trtc_json_str(p, &s);

    return ngx_sprintf(p, ",\"allocations\":%uL,"
                       "\"relayed_packets_to_peer\":%uL,"
                       "\"relayed_packets_from_peer\":%uL,"
                       "\"relayed_bytes_to_peer\":%uL,"
                       "\"relayed_bytes_from_peer\":%uL}",
                       m->allocations, m->packets_to_peer,
                       m->packets_from_peer, m->bytes_to_peer,
                       m->bytes_from_peer);
}


/*
 * Under the peer's chart: turnd's last values, then its hour as an SVG,
 * oldest minute on the left, 3 px a minute: bytes relayed to peers (blue)
 * and from peers (green) stacked and scaled to the hour's busiest minute,
 * the most allocations of each minute as a line scaled to the hour's
 * most.  Read under no lock, like the peer's chart.
 */

u_char *
ngx_http_trtc_status_turnd_html(u_char *p, ngx_http_trtc_check_target_t *t,
    ngx_http_trtc_check_peer_t *rec, time_t now)
{
    uint32_t                             minute, amax;
    uint64_t                             bmax, sum;
    ngx_str_t                            s;
    ngx_uint_t                           i, h1, h2, pen, y;
    ngx_http_trtc_check_turnd_t         *m;
    ngx_http_trtc_check_turnd_minute_t  *h;

    if (t->conf->metrics_port == 0 || rec == NULL) {
        return p;
    }

    m = &rec->turnd;

    p = ngx_cpymem(p, "<div class=\"turnd\">turnd ",
                   sizeof("<div class=\"turnd\">turnd ") - 1);
    p = (u_char *) ngx_escape_html(p, t->metrics_addr.name.data,
                                   t->metrics_addr.name.len);
    p = ngx_cpymem(p, ": ", 2);

    if (m->scrapes == 0) {
        p = ngx_cpymem(p, "no scrape yet", sizeof("no scrape yet") - 1);

    } else if (!m->last_ok) {
        s.data = m->last_error;
        s.len = ngx_strlen(m->last_error);

        p = ngx_cpymem(p, "<span class=\"down\">metrics failed: ",
                       sizeof("<span class=\"down\">metrics failed: ") - 1);
        p = (u_char *) ngx_escape_html(p, s.data, s.len);
        p = ngx_sprintf(p, "</span> (%ui of %ui scrapes)", m->failures,
                        m->scrapes);

    } else {
        p = ngx_sprintf(p, "%uL allocations, %uL bytes to peers, "
                        "%uL bytes from peers", m->allocations,
                        m->bytes_to_peer, m->bytes_from_peer);

        if (m->failures) {
            p = ngx_sprintf(p, " (%ui of %ui scrapes failed)", m->failures,
                            m->scrapes);
        }
    }

    p = ngx_cpymem(p, "<br>", 4);

    minute = (uint32_t) (now / 60);
    bmax = 1;
    amax = 1;

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        h = &m->history[i];

        if (h->minute + NGX_HTTP_TRTC_CHECK_HISTORY <= minute) {
            continue;
        }

        sum = h->to_peer + h->from_peer;

        if (sum < h->to_peer) {
            sum = (uint64_t) -1;
        }

        bmax = ngx_max(bmax, sum);
        amax = ngx_max(amax, h->allocations);
    }

    p = ngx_sprintf(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                    "width=\"180\" height=\"32\" viewBox=\"0 0 180 32\" "
                    "role=\"img\"><title>turnd, last hour: bytes relayed a "
                    "minute (top: %uL; to peers blue, from peers green), "
                    "most allocations a minute (top: %uD, the line)"
                    "</title><rect width=\"180\" height=\"32\" "
                    "fill=\"#f4f4f4\"/>", bmax, amax);

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        h = &m->history[(minute + 1 + i) % NGX_HTTP_TRTC_CHECK_HISTORY];

        if (h->minute != minute + 1 + i - NGX_HTTP_TRTC_CHECK_HISTORY) {
            continue;
        }

        h1 = ngx_http_trtc_status_turnd_height(h->to_peer, bmax);
        h2 = ngx_http_trtc_status_turnd_height(h->from_peer, bmax);

        if (h1 + h2 > 30) {
            h2 = 30 - h1;
        }

        if (h1) {
            p = ngx_sprintf(p, "<rect class=\"to\" x=\"%ui\" y=\"%ui\" "
                            "width=\"3\" height=\"%ui\" fill=\"#69c\"/>",
                            i * 3, 32 - h1, h1);
        }

        if (h2) {
            p = ngx_sprintf(p, "<rect class=\"from\" x=\"%ui\" y=\"%ui\" "
                            "width=\"3\" height=\"%ui\" fill=\"#6b6\"/>",
                            i * 3, 32 - h1 - h2, h2);
        }
    }

    p = ngx_cpymem(p, "<path class=\"alloc\" fill=\"none\" stroke=\"#c60\" "
                   "d=\"", sizeof("<path class=\"alloc\" fill=\"none\" "
                                  "stroke=\"#c60\" d=\"") - 1);

    pen = 0;

    for (i = 0; i < NGX_HTTP_TRTC_CHECK_HISTORY; i++) {
        h = &m->history[(minute + 1 + i) % NGX_HTTP_TRTC_CHECK_HISTORY];

        if (h->minute != minute + 1 + i - NGX_HTTP_TRTC_CHECK_HISTORY) {
            pen = 0;
            continue;
        }

        y = 30 - (ngx_uint_t) ((uint64_t) h->allocations * 28 / amax);

        p = ngx_sprintf(p, "%c%ui %ui", pen ? 'L' : 'M', i * 3 + 1, y);

        if (!pen) {
            /* a lone minute is a dot: a short stroke to the right */
            p = ngx_sprintf(p, "h1");
        }

        pen = 1;
    }

    return ngx_cpymem(p, "\"/></svg></div>", sizeof("\"/></svg></div>") - 1);
}


/* a bar of 1 to 30 px for anything above zero */

static ngx_uint_t
ngx_http_trtc_status_turnd_height(uint64_t v, uint64_t max)
{
    ngx_uint_t  h;

    if (v == 0) {
        return 0;
    }

    h = (ngx_uint_t) ((double) v * 30 / (double) max);

    return ngx_max(ngx_min(h, 30), 1);
}
