
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_CONF_H_INCLUDED_
#define _TD_CONF_H_INCLUDED_


/*
 * turnd's configuration: coturn's turnserver.conf syntax ("key=value",
 * "key value", bare flags, "#" comments) and the same keys as
 * "--key value" / "--flag" command line options, command line last.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "td_peer.h"


#ifndef TD_VERSION
#define TD_VERSION             "0.1.0"
#endif

#define TD_CONF_MAX_ADDRS      16
#define TD_CONF_MAX_LIST       64


typedef struct {
    struct sockaddr_storage   sa;        /* port 0 */
    socklen_t                 salen;
} td_addr_t;


typedef struct {
    struct sockaddr_storage   sa;
    unsigned                  prefix;    /* bits */
} td_cidr_t;


typedef struct {
    td_addr_t                 pub;       /* advertised in XOR-RELAYED */
    td_addr_t                 priv;      /* the relay address it maps */
    unsigned                  has_priv:1;
} td_external_t;


typedef struct {
    /* listeners */
    unsigned                  listening_port;        /* 3478 */
    td_addr_t                 listening_ip[TD_CONF_MAX_ADDRS];
    size_t                    nlistening_ip;         /* 0: 0.0.0.0, :: */
    unsigned                  no_udp:1;
    unsigned                  no_tcp:1;

    /* TLS (td_tls.c): listeners only with cert and pkey, not no-tls */
    unsigned                  tls_listening_port;    /* 5349 */
    char                     *cert;
    char                     *pkey;
    char                     *cipher_list;           /* NULL: OpenSSL's */
    unsigned                  no_tls:1;
    unsigned                  no_tlsv1_2:1;          /* TLS 1.3 only */
    unsigned                  handshake_timeout;     /* 5 s, PROXY + TLS */

    /* PROXY protocol (td_proxy.c): from these sources only */
    td_cidr_t                 proxy_from[TD_CONF_MAX_ADDRS];
    size_t                    nproxy_from;

    /* relays */
    td_addr_t                 relay_ip[TD_CONF_MAX_ADDRS];
    size_t                    nrelay_ip;       /* 0: the listening ip */
    td_external_t             external_ip[TD_CONF_MAX_ADDRS];
    size_t                    nexternal_ip;
    unsigned                  min_port;              /* 49152 */
    unsigned                  max_port;              /* 65535 */

    /* authentication */
    char                     *realm;                 /* "trtc" */
    unsigned                  lt_cred_mech:1;
    unsigned                  use_auth_secret:1;
    unsigned                  no_auth:1;
    char                     *users[TD_CONF_MAX_LIST];     /* "name:pass" */
    size_t                    nusers;
    char                     *secrets[TD_CONF_MAX_LIST];   /* raw */
    size_t                    nsecrets;
    char                     *credentials_file;
    unsigned                  stale_nonce;           /* 600 s */

    /* lifetimes, seconds */
    unsigned                  max_allocate_lifetime; /* 3600 */
    unsigned                  default_lifetime;      /* 600 */
    unsigned                  permission_lifetime;   /* 300 */
    unsigned                  channel_lifetime;      /* 600 */

    /* peers and quotas */
    td_peer_filter_t          peers;   /* allowed-peers-only: allow_only */
    unsigned                  user_quota;            /* 0: none */
    unsigned                  total_quota;           /* 0: none */

    /* before authentication (td_limit.h) */
    unsigned                  max_allocate_timeout;  /* 10 s, TCP */
    unsigned                  max_unauth_tcp;    /* 0: half of NOFILE */
    unsigned                  max_unauth_tcp_per_ip; /* 16, 0: none */
    unsigned                  unauth_rate;   /* 50/s a prefix, 0: none */

    /* process */
    unsigned                  threads;               /* 0: ncpu */
    unsigned                  kernel_offload:1;      /* td_offload.h */
    unsigned                  verbose;       /* 0, 1 verbose, 2 Verbose */
    unsigned                  fingerprint:1;
    unsigned                  no_stdout_log:1;
    char                     *log_file;
    char                     *pidfile;
    char                     *software;              /* NULL: none */

    /* daemon (td_daemon.c) and metrics (td_metrics.c) */
    char                     *proc_user;     /* NULL: stay who we are */
    char                     *proc_group;    /* NULL: proc-user's group */
    unsigned                  syslog:1;
    unsigned                  check_config:1;        /* --check-config */
    unsigned                  prometheus:1;
    int                       syslog_facility;       /* LOG_DAEMON */
    unsigned                  prometheus_port;       /* 9641 */
    td_addr_t                 prometheus_ip;         /* 127.0.0.1 */

    /* where it came from, for messages and SIGHUP */
    char                     *conf_file;

    /* "FILE:LINE" of the last min-port / max-port, for td_conf_check() */
    char                     *min_port_at;
    char                     *max_port_at;
    unsigned                  realm_default:1;  /* no realm set: "trtc" */
    unsigned                  checked:1;        /* td_conf_check() ran */
} td_conf_t;


/* fills in the defaults */
void td_conf_init(td_conf_t *conf);

/*
 * Parses argv: "-c FILE" reads FILE first, then the other options apply
 * on top of it.  Returns 0, 1 when the program should exit 0 (--help,
 * --version, after printing), or -1 after printing an error to stderr
 * that names file, line and key.  Unknown keys are a warning naming the
 * key (and the file and line).
 */
int td_conf_parse_args(td_conf_t *conf, int argc, char **argv);

/* reads one file into conf (used by the above and by tests) */
int td_conf_parse_file(td_conf_t *conf, const char *path);

/* parses a text as if it were a file called name (tests) */
int td_conf_parse_text(td_conf_t *conf, const char *text, size_t len,
    const char *name);

/* checks cross-key rules (min-port <= max-port, ...) after parsing */
int td_conf_check(td_conf_t *conf);

void td_conf_free(td_conf_t *conf);


#endif /* _TD_CONF_H_INCLUDED_ */
