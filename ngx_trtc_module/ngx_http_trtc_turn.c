
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_turn.h"
#include "ngx_http_trtc_check.h"


static ngx_int_t ngx_http_trtc_turn_upstream(ngx_http_request_t *r,
    ngx_http_trtc_turn_t *turn, ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_turn_peers(ngx_http_request_t *r,
    ngx_http_trtc_turn_t *turn, ngx_http_upstream_rr_peers_t *peers,
    ngx_array_t *servers, ngx_uint_t *usable);
static ngx_int_t ngx_http_trtc_turn_peer(ngx_http_request_t *r,
    ngx_http_trtc_turn_t *turn, ngx_http_upstream_rr_peer_t *peer,
    ngx_array_t *servers);
static ngx_int_t ngx_http_trtc_turn_add(ngx_http_request_t *r,
    ngx_array_t *servers, ngx_str_t *key, ngx_str_t *url, ngx_str_t *addr,
    ngx_uint_t transport);
static ngx_int_t ngx_http_trtc_turn_copy(ngx_http_request_t *r,
    ngx_str_t *dst, ngx_str_t *src);


static ngx_str_t  ngx_http_trtc_turn_query[] = {
    ngx_string("?transport=udp"),
    ngx_string("?transport=tcp")
};


char *
ngx_http_trtc_turn_parse(ngx_conf_t *cf, ngx_array_t *turns,
    ngx_str_t *value)
{
    u_char                *p, *q, *last;
    size_t                 n;
    ngx_url_t              u;
    ngx_str_t              query, *dir;
    ngx_uint_t             tls;
    ngx_http_trtc_turn_t  *turn;

    /* the directive, for messages: nginx adds the file and line */
    dir = &((ngx_str_t *) cf->args->elts)[0];

    if (value->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty \"turn=\" parameter of \"%V\"", dir);
        return NGX_CONF_ERROR;
    }

    turn = ngx_array_push(turns);
    if (turn == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(turn, sizeof(ngx_http_trtc_turn_t));

    turn->value = *value;
    last = value->data + value->len;

    p = ngx_strlchr(value->data, last, ':');

    if (p == NULL) {
        /* an upstream name: upstream names have no port */
        turn->name = *value;
        turn->transport = NGX_HTTP_TRTC_TURN_UDP_TCP;
        return NGX_CONF_OK;
    }

    n = p - value->data;

    if (n == 4 && ngx_strncasecmp(value->data, (u_char *) "turn", 4) == 0) {
        tls = 0;

    } else if (n == 5
               && ngx_strncasecmp(value->data, (u_char *) "turns", 5) == 0)
    {
        tls = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\" of \"%V\": the scheme "
                           "must be \"turn:\" or \"turns:\"", value, dir);
        return NGX_CONF_ERROR;
    }

    p++;

    q = ngx_strlchr(p, last, '?');
    if (q == NULL) {
        q = last;
    }

    query.data = q;
    query.len = last - q;

    if (tls && query.len) {
        /* RFC 7065: a turns: URL is TLS over TCP, nothing else here */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\" of \"%V\": \"turns:\" is "
                           "TLS over TCP and takes no \"?transport=\"",
                           value, dir);
        return NGX_CONF_ERROR;
    }

    if (tls) {
        turn->transport = NGX_HTTP_TRTC_TURN_TLS;

    } else if (query.len == 0) {
        /* a browser's default for turn: (RFC 7065) */
        turn->transport = NGX_HTTP_TRTC_TURN_UDP;

    } else {
        for (n = 0; n < 2; n++) {
            if (query.len == ngx_http_trtc_turn_query[n].len
                && ngx_strncmp(query.data, ngx_http_trtc_turn_query[n].data,
                               query.len)
                   == 0)
            {
                break;
            }
        }

        if (n == 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid TURN URL \"%V\" of \"%V\": the query "
                               "may only be ?transport=udp or ?transport=tcp",
                               value, dir);
            return NGX_CONF_ERROR;
        }

        turn->transport = n ? NGX_HTTP_TRTC_TURN_TCP : NGX_HTTP_TRTC_TURN_UDP;
    }

    /* host[:port], checked the way "listen" or "server" check theirs */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = q - p;
    u.default_port = tls ? 5349 : 3478;
    u.no_resolve = 1;

    if (u.url.len == 0
        || ngx_strncasecmp(p, (u_char *) "unix:", 5) == 0
        || ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.uri.len
        || u.host.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid TURN URL \"%V\" of \"%V\"%s%s", value,
                           dir, u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    /* a name without a port may be an upstream{}: told after the block */

    if (u.no_port && p[0] != '[') {
        turn->name = u.url;
    }

    turn->host = u.host;

    if (u.host.data[0] == '[') {
        turn->host.data++;
        turn->host.len -= 2;
    }

    /* "host:port" for the SDK's scheme-less url, the port always said */

    turn->addr.data = ngx_pnalloc(cf->pool, u.host.len + sizeof(":65535"));
    if (turn->addr.data == NULL) {
        return NGX_CONF_ERROR;
    }

    turn->addr.len = ngx_sprintf(turn->addr.data, "%V:%d", &u.host, u.port)
                     - turn->addr.data;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_trtc_turn_resolve(ngx_conf_t *cf, ngx_array_t *turns,
    ngx_str_t *directive, u_char *file, ngx_uint_t line)
{
    ngx_uint_t                       i, k;
    ngx_http_trtc_turn_t            *turn;
    ngx_http_upstream_srv_conf_t   **uscfp;
    ngx_http_upstream_main_conf_t   *umcf;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;
    turn = turns->elts;

    for (i = 0; i < turns->nelts; i++) {

        if (turn[i].name.len == 0) {
            continue;
        }

        for (k = 0; k < umcf->upstreams.nelts; k++) {

            /* an upstream{} block, not a proxy_pass host name */

            if ((uscfp[k]->flags & NGX_HTTP_UPSTREAM_CREATE)
                && uscfp[k]->host.len == turn[i].name.len
                && ngx_strncasecmp(uscfp[k]->host.data, turn[i].name.data,
                                   turn[i].name.len)
                   == 0)
            {
                turn[i].upstream = uscfp[k];
                break;
            }
        }

        /* turn:NAME without an upstream{} is a host, as proxy_pass has it */

        if (turn[i].upstream == NULL && turn[i].addr.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no upstream \"%V\" for \"turn=%V\" of \"%V\" "
                          "in %s:%ui", &turn[i].name, &turn[i].value,
                          directive, file, line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_trtc_turn_servers(ngx_http_request_t *r, ngx_array_t *turns,
    ngx_array_t *servers)
{
    ngx_uint_t             i;
    ngx_http_trtc_turn_t  *turn;

    turn = turns->elts;

    for (i = 0; i < turns->nelts; i++) {

        if (turn[i].upstream) {
            if (ngx_http_trtc_turn_upstream(r, &turn[i], servers) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_trtc_turn_add(r, servers, &turn[i].host,
                                   &turn[i].value, &turn[i].addr,
                                   turn[i].transport)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_turn_upstream(ngx_http_request_t *r, ngx_http_trtc_turn_t *turn,
    ngx_array_t *servers)
{
    ngx_int_t                      rc;
    ngx_uint_t                     usable;
    ngx_http_upstream_rr_peers_t  *peers;

    /*
     * Every stock balancer keeps round-robin peers here (with "zone", in
     * shared memory, hence the lock); backup peers only stand in when no
     * primary one is usable, as for proxying.
     */

    peers = turn->upstream->peer.data;

    if (peers == NULL) {
        return NGX_OK;
    }

    usable = 0;

    ngx_http_upstream_rr_peers_rlock(peers);

    rc = ngx_http_trtc_turn_peers(r, turn, peers, servers, &usable);

    if (rc == NGX_OK && usable == 0 && peers->next) {
        rc = ngx_http_trtc_turn_peers(r, turn, peers->next, servers,
                                      &usable);
    }

    ngx_http_upstream_rr_peers_unlock(peers);

    return rc;
}


static ngx_int_t
ngx_http_trtc_turn_peers(ngx_http_request_t *r, ngx_http_trtc_turn_t *turn,
    ngx_http_upstream_rr_peers_t *peers, ngx_array_t *servers,
    ngx_uint_t *usable)
{
    ngx_http_upstream_rr_peer_t  *peer;

    for (peer = peers->peer; peer; peer = peer->next) {

        if (!ngx_http_trtc_turn_peer_usable(turn->upstream, peer)) {
            continue;
        }

        (*usable)++;

        if (ngx_http_trtc_turn_peer(r, turn, peer, servers) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A peer's URLs: turn:ADDR?transport=udp|tcp, and turns:HOST:PORT where
 * HOST is the name the browser checks the certificate against: the one
 * trtc_check verifies (its host=, else the host of the "server" line).
 * The peer's address tells which server it is.
 */

static ngx_int_t
ngx_http_trtc_turn_peer(ngx_http_request_t *r, ngx_http_trtc_turn_t *turn,
    ngx_http_upstream_rr_peer_t *peer, ngx_array_t *servers)
{
    u_char      *p;
    ngx_str_t    key, url, addr, *host;
    ngx_url_t    u;
    ngx_uint_t   t;
    u_char       buf[NGX_SOCKADDR_STRLEN];

    key.data = buf;
    key.len = ngx_sock_ntop(peer->sockaddr, peer->socklen, buf,
                            NGX_SOCKADDR_STRLEN, 0);

    for (t = NGX_HTTP_TRTC_TURN_UDP; t <= NGX_HTTP_TRTC_TURN_TLS; t++) {

        if (turn->transport != t
            && !(turn->transport == NGX_HTTP_TRTC_TURN_UDP_TCP
                 && t != NGX_HTTP_TRTC_TURN_TLS))
        {
            continue;
        }

        if (t != NGX_HTTP_TRTC_TURN_TLS) {
            addr = peer->name;

        } else {
            host = ngx_http_trtc_check_peer_host(turn->upstream, &peer->name);

            if (host == NULL) {
                ngx_memzero(&u, sizeof(ngx_url_t));

                u.url = peer->server.len ? peer->server : peer->name;
                u.no_resolve = 1;

                if (ngx_parse_url(r->pool, &u) != NGX_OK) {
                    return NGX_ERROR;
                }

                host = &u.host;
            }

            addr.data = ngx_pnalloc(r->pool, host->len + sizeof(":65535"));
            if (addr.data == NULL) {
                return NGX_ERROR;
            }

            addr.len = ngx_sprintf(addr.data, "%V:%d", host,
                                   (int) ngx_inet_get_port(peer->sockaddr))
                       - addr.data;
        }

        p = ngx_pnalloc(r->pool, sizeof("turns:?transport=udp") + addr.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        url.data = p;

        if (t == NGX_HTTP_TRTC_TURN_TLS) {
            p = ngx_sprintf(p, "turns:%V", &addr);

        } else {
            p = ngx_sprintf(p, "turn:%V%V", &addr,
                            &ngx_http_trtc_turn_query[t]);
        }

        url.len = p - url.data;

        if (ngx_http_trtc_turn_add(r, servers, &key, &url, &addr, t)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The URL into its server's list, after those of the same transport.  A
 * server has one URL of each transport: the URLs of one address go to its
 * servers in turn, so two turnd on one host (peers of the same upstreams,
 * in the same order) stay two servers.
 */

static ngx_int_t
ngx_http_trtc_turn_add(ngx_http_request_t *r, ngx_array_t *servers,
    ngx_str_t *key, ngx_str_t *url, ngx_str_t *addr, ngx_uint_t transport)
{
    ngx_uint_t                    i, j, n;
    ngx_http_trtc_turn_url_t     *u;
    ngx_http_trtc_turn_server_t  *s, *server;

    s = servers->elts;
    server = NULL;

    for (i = 0; i < servers->nelts; i++) {

        if (s[i].key.len != key->len
            || ngx_strncmp(s[i].key.data, key->data, key->len) != 0)
        {
            continue;
        }

        u = s[i].urls.elts;

        for (j = 0; j < s[i].urls.nelts; j++) {

            /* an upstream listed twice, or one URL written twice */

            if (u[j].url.len == url->len
                && ngx_strncmp(u[j].url.data, url->data, url->len) == 0)
            {
                return NGX_OK;
            }

            if (u[j].transport == transport) {
                break;
            }
        }

        if (j == s[i].urls.nelts && server == NULL) {
            server = &s[i];
        }
    }

    if (server == NULL) {
        server = ngx_array_push(servers);
        if (server == NULL) {
            return NGX_ERROR;
        }

        if (ngx_array_init(&server->urls, r->pool, 3,
                           sizeof(ngx_http_trtc_turn_url_t))
            != NGX_OK
            || ngx_http_trtc_turn_copy(r, &server->key, key) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    u = server->urls.elts;

    for (n = server->urls.nelts; n > 0 && u[n - 1].transport > transport; n--)
    {
        /* void */
    }

    if (ngx_array_push(&server->urls) == NULL) {
        return NGX_ERROR;
    }

    u = server->urls.elts;

    ngx_memmove(&u[n + 1], &u[n],
                (server->urls.nelts - 1 - n)
                * sizeof(ngx_http_trtc_turn_url_t));

    u[n].transport = transport;

    /* copied: peer names may live in a zone, and change after the lock */

    if (ngx_http_trtc_turn_copy(r, &u[n].url, url) != NGX_OK
        || ngx_http_trtc_turn_copy(r, &u[n].addr, addr) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_trtc_turn_copy(ngx_http_request_t *r, ngx_str_t *dst,
    ngx_str_t *src)
{
    dst->data = ngx_pstrdup(r->pool, src);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    dst->len = src->len;

    return NGX_OK;
}


ngx_uint_t
ngx_http_trtc_turn_peer_usable(ngx_http_upstream_srv_conf_t *us,
    ngx_http_upstream_rr_peer_t *peer)
{
    /* "down" in the upstream{} block, or trtc_check's verdict */

    return !peer->down && ngx_http_trtc_check_peer_usable(us, &peer->name);
}
