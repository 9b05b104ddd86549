
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_TLS_H_INCLUDED_
#define _TD_TLS_H_INCLUDED_


/*
 * TURN over TLS (RFC 8656 section 3.1, turns:): the TCP connection path
 * with OpenSSL under it.  A connection accepted on tls-listening-port
 * gets an SSL object, its handshake as the connection's pre step (no
 * blocking: it goes on whenever epoll says the socket is ready, until
 * handshake-timeout), then recv/send handlers over SSL_read/SSL_write;
 * the framing above is the TCP one.  One SSL_CTX for all threads,
 * replaced whole on SIGHUP when the new certificate and key load and
 * match (connections keep the context they started with).  TLS 1.2 and
 * 1.3 (no-tlsv1_2: 1.3 only), any SNI, ALPN "stun.turn" (RFC 7443)
 * chosen when offered, no ALPN otherwise.
 */


#include "td_conf.h"
#include "td_conn.h"


/* builds the context when cert and pkey are set: -1 on error (logged) */
int td_tls_init(const td_conf_t *conf);
/* 1 when TLS listeners are wanted */
int td_tls_enabled(void);
/* SIGHUP: reloads cert and pkey; a bad pair keeps the old, logged */
int td_tls_reload(const td_conf_t *conf);
void td_tls_cleanup(void);

/* an accepted connection gets TLS: 0, or -1 (out of memory, logged) */
int td_tls_conn_init(td_conn_t *c);
void td_tls_conn_free(td_conn_t *c);


#endif /* _TD_TLS_H_INCLUDED_ */
