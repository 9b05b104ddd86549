
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_PROXY_H_INCLUDED_
#define _TD_PROXY_H_INCLUDED_


/*
 * The PROXY protocol (HAProxy's, versions 1 and 2) on the TCP and TLS
 * listeners, from proxy-protocol-from sources only.  From such a source
 * the header is the connection's first pre step, read with exact
 * lengths (nothing of the stream behind it is consumed, so TLS can
 * follow), within handshake-timeout; without a valid header the
 * connection is closed and counted (proxy_bad).  The header's source
 * becomes the client's address (allocations, logs, quotas, the
 * unauthenticated caps, XOR-MAPPED-ADDRESS), its destination the local
 * address (what the client dialled, for the relay choice).  LOCAL (v2)
 * and UNKNOWN (v1) keep the proxy's addresses.  From other sources a
 * header is not a protocol: the bytes are refused as not STUN, counted
 * as proxy_refused.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "td_conf.h"
#include "td_conn.h"


#define TD_PROXY_V1_MAX     107       /* with CRLF, as the spec says */
#define TD_PROXY_V2_MAX     1024      /* 16 + addresses + TLVs we skip */


/* 1 when sa is in proxy-protocol-from */
int td_proxy_listed(const td_conf_t *conf, const struct sockaddr *sa);

/* the connection's pre step: reads and applies the header */
int td_proxy_read(td_thread_t *thr, td_conn_t *c, const char **why);

/* 1 when buf starts as a PROXY header does, -1 when it may, else 0 */
int td_proxy_signature(const uint8_t *buf, size_t len);


#endif /* _TD_PROXY_H_INCLUDED_ */
