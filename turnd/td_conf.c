
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <syslog.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "td_conf.h"


#define TD_CONF_MAX_FILE        (1024 * 1024)
#define TD_CONF_MAX_KEY         64
#define TD_CONF_MAX_SHOWN       200      /* of a value, in messages */
#define TD_CONF_MAX_LIFETIME    (86400 * 365)
#define TD_CONF_MAX_REALM       763      /* RFC 8489 14.9 */
#define TD_CONF_MAX_USER        512      /* RFC 8489 14.3 */
#define TD_CONF_MAX_SECRET      1024     /* a password or a secret */


/* what a key takes: nothing (a flag), a value, or an optional value */
#define TD_ARG_NONE   0
#define TD_ARG_REQ    1
#define TD_ARG_OPT    2


typedef enum {
    TD_KEY_LISTENING_PORT,
    TD_KEY_LISTENING_IP,
    TD_KEY_RELAY_IP,
    TD_KEY_EXTERNAL_IP,
    TD_KEY_MIN_PORT,
    TD_KEY_MAX_PORT,
    TD_KEY_REALM,
    TD_KEY_LT_CRED_MECH,
    TD_KEY_USE_AUTH_SECRET,
    TD_KEY_STATIC_AUTH_SECRET,
    TD_KEY_USER,
    TD_KEY_CREDENTIALS_FILE,
    TD_KEY_STALE_NONCE,
    TD_KEY_MAX_ALLOCATE_LIFETIME,
    TD_KEY_CHANNEL_LIFETIME,
    TD_KEY_PERMISSION_LIFETIME,
    TD_KEY_ALLOWED_PEER_IP,
    TD_KEY_DENIED_PEER_IP,
    TD_KEY_ALLOW_LOOPBACK_PEERS,
    TD_KEY_ALLOWED_PEERS_ONLY,
    TD_KEY_ALLOW_RELAY_PEERS,
    TD_KEY_USER_QUOTA,
    TD_KEY_TOTAL_QUOTA,
    TD_KEY_MAX_ALLOCATE_TIMEOUT,
    TD_KEY_MAX_UNAUTH_TCP,
    TD_KEY_MAX_UNAUTH_TCP_PER_IP,
    TD_KEY_UNAUTH_RATE,
    TD_KEY_RELAY_THREADS,
    TD_KEY_VERBOSE,
    TD_KEY_VERBOSE2,
    TD_KEY_FINGERPRINT,
    TD_KEY_NO_UDP,
    TD_KEY_NO_TCP,
    TD_KEY_LOG_FILE,
    TD_KEY_NO_STDOUT_LOG,
    TD_KEY_PIDFILE,
    TD_KEY_NO_AUTH,
    TD_KEY_PROC_USER,
    TD_KEY_PROC_GROUP,
    TD_KEY_SYSLOG,
    TD_KEY_SYSLOG_FACILITY,
    TD_KEY_PROMETHEUS,
    TD_KEY_PROMETHEUS_PORT,
    TD_KEY_PROMETHEUS_ADDRESS,
    TD_KEY_CHECK_CONFIG,
    TD_KEY_TLS_LISTENING_PORT,
    TD_KEY_CERT,
    TD_KEY_PKEY,
    TD_KEY_CIPHER_LIST,
    TD_KEY_NO_TLS,
    TD_KEY_NO_TLSV1_2,
    TD_KEY_KERNEL_OFFLOAD,
    TD_KEY_HANDSHAKE_TIMEOUT,
    TD_KEY_PROXY_PROTOCOL_FROM,
    TD_KEY_ACCEPTED,          /* already turnd's behaviour: nothing to do */
    TD_KEY_UNSUPPORTED,       /* coturn has it, turnd does not: a warning */
    TD_KEY_CONFIG,            /* -c: command line only */
    TD_KEY_NO_CONFIG,         /* -n */
    TD_KEY_HELP,
    TD_KEY_VERSION
} td_conf_key_e;


typedef struct {
    const char     *name;
    char            opt;           /* coturn's short option, or 0 */
    unsigned char   arg;           /* TD_ARG_* */
    unsigned char   cmdline_only;
    td_conf_key_e   key;
} td_conf_key_t;


/* where a key came from: a file and line, or the command line */
typedef struct {
    const char     *name;          /* NULL: the command line */
    unsigned        line;
} td_conf_ctx_t;


static const td_conf_key_t  td_conf_keys[] = {
    { "listening-port", 'p', TD_ARG_REQ, 0, TD_KEY_LISTENING_PORT },
    { "listening-ip", 'L', TD_ARG_REQ, 0, TD_KEY_LISTENING_IP },
    { "relay-ip", 'E', TD_ARG_REQ, 0, TD_KEY_RELAY_IP },
    { "external-ip", 'X', TD_ARG_REQ, 0, TD_KEY_EXTERNAL_IP },
    { "min-port", 0, TD_ARG_REQ, 0, TD_KEY_MIN_PORT },
    { "max-port", 0, TD_ARG_REQ, 0, TD_KEY_MAX_PORT },
    { "realm", 'r', TD_ARG_REQ, 0, TD_KEY_REALM },
    { "lt-cred-mech", 'a', TD_ARG_NONE, 0, TD_KEY_LT_CRED_MECH },
    { "use-auth-secret", 0, TD_ARG_NONE, 0, TD_KEY_USE_AUTH_SECRET },
    { "static-auth-secret", 0, TD_ARG_REQ, 0, TD_KEY_STATIC_AUTH_SECRET },
    { "user", 'u', TD_ARG_REQ, 0, TD_KEY_USER },
    { "credentials-file", 0, TD_ARG_REQ, 0, TD_KEY_CREDENTIALS_FILE },
    { "stale-nonce", 0, TD_ARG_OPT, 0, TD_KEY_STALE_NONCE },
    { "max-allocate-lifetime", 0, TD_ARG_REQ, 0,
      TD_KEY_MAX_ALLOCATE_LIFETIME },
    { "channel-lifetime", 0, TD_ARG_REQ, 0, TD_KEY_CHANNEL_LIFETIME },
    { "permission-lifetime", 0, TD_ARG_REQ, 0, TD_KEY_PERMISSION_LIFETIME },
    { "allowed-peer-ip", 0, TD_ARG_REQ, 0, TD_KEY_ALLOWED_PEER_IP },
    { "denied-peer-ip", 0, TD_ARG_REQ, 0, TD_KEY_DENIED_PEER_IP },
    { "allow-loopback-peers", 0, TD_ARG_NONE, 0,
      TD_KEY_ALLOW_LOOPBACK_PEERS },
    { "allowed-peers-only", 0, TD_ARG_NONE, 0, TD_KEY_ALLOWED_PEERS_ONLY },
    { "allow-relay-peers", 0, TD_ARG_NONE, 0, TD_KEY_ALLOW_RELAY_PEERS },
    { "user-quota", 'q', TD_ARG_REQ, 0, TD_KEY_USER_QUOTA },
    { "total-quota", 'Q', TD_ARG_REQ, 0, TD_KEY_TOTAL_QUOTA },
    { "max-allocate-timeout", 0, TD_ARG_REQ, 0,
      TD_KEY_MAX_ALLOCATE_TIMEOUT },
    { "max-unauth-tcp", 0, TD_ARG_REQ, 0, TD_KEY_MAX_UNAUTH_TCP },
    { "max-unauth-tcp-per-ip", 0, TD_ARG_REQ, 0,
      TD_KEY_MAX_UNAUTH_TCP_PER_IP },
    { "unauth-rate", 0, TD_ARG_REQ, 0, TD_KEY_UNAUTH_RATE },
    { "relay-threads", 'm', TD_ARG_REQ, 0, TD_KEY_RELAY_THREADS },
    { "kernel-offload", 0, TD_ARG_REQ, 0, TD_KEY_KERNEL_OFFLOAD },
    { "verbose", 'v', TD_ARG_NONE, 0, TD_KEY_VERBOSE },
    { "Verbose", 'V', TD_ARG_NONE, 0, TD_KEY_VERBOSE2 },
    { "fingerprint", 'f', TD_ARG_NONE, 0, TD_KEY_FINGERPRINT },
    { "no-udp", 0, TD_ARG_NONE, 0, TD_KEY_NO_UDP },
    { "no-tcp", 0, TD_ARG_NONE, 0, TD_KEY_NO_TCP },
    { "tls-listening-port", 0, TD_ARG_REQ, 0, TD_KEY_TLS_LISTENING_PORT },
    { "cert", 0, TD_ARG_REQ, 0, TD_KEY_CERT },
    { "pkey", 0, TD_ARG_REQ, 0, TD_KEY_PKEY },
    { "cipher-list", 0, TD_ARG_REQ, 0, TD_KEY_CIPHER_LIST },
    { "no-tls", 0, TD_ARG_NONE, 0, TD_KEY_NO_TLS },
    { "no-tlsv1_2", 0, TD_ARG_NONE, 0, TD_KEY_NO_TLSV1_2 },
    { "handshake-timeout", 0, TD_ARG_REQ, 0, TD_KEY_HANDSHAKE_TIMEOUT },
    { "proxy-protocol-from", 0, TD_ARG_REQ, 0,
      TD_KEY_PROXY_PROTOCOL_FROM },
    { "log-file", 'l', TD_ARG_REQ, 0, TD_KEY_LOG_FILE },
    { "no-stdout-log", 0, TD_ARG_NONE, 0, TD_KEY_NO_STDOUT_LOG },
    { "pidfile", 0, TD_ARG_REQ, 0, TD_KEY_PIDFILE },
    { "no-auth", 'z', TD_ARG_NONE, 0, TD_KEY_NO_AUTH },
    { "proc-user", 0, TD_ARG_REQ, 0, TD_KEY_PROC_USER },
    { "proc-group", 0, TD_ARG_REQ, 0, TD_KEY_PROC_GROUP },
    { "syslog", 0, TD_ARG_NONE, 0, TD_KEY_SYSLOG },
    { "syslog-facility", 0, TD_ARG_REQ, 0, TD_KEY_SYSLOG_FACILITY },
    { "prometheus", 0, TD_ARG_NONE, 0, TD_KEY_PROMETHEUS },
    { "prometheus-port", 0, TD_ARG_REQ, 0, TD_KEY_PROMETHEUS_PORT },
    { "prometheus-address", 0, TD_ARG_REQ, 0, TD_KEY_PROMETHEUS_ADDRESS },

    /* turnd never does these: TLS/DTLS are not configured this way, no
     * CLI, no TCP relays, multicast peers are denied, no SOFTWARE */
    { "no-dtls", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no_dtls", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-cli", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-tcp-relay", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-multicast-peers", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-software-attribute", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-tlsv1", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },
    { "no-tlsv1_1", 0, TD_ARG_NONE, 0, TD_KEY_ACCEPTED },

    /* coturn options turnd does not implement: warned about, ignored */
    { "pkey-pwd", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "CA-file", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "dh-file", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "dh566", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "dh1066", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "ec-curve-name", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "alt-listening-port", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "alt-tls-listening-port", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "tcp-proxy-port", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "listening-device", 'd', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "relay-device", 'i', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "aux-server", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "udp-self-balance", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "alternate-server", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "tls-alternate-server", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "cli-ip", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "cli-port", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "cli-password", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "cli-max-output-sessions", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "web-admin", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "web-admin-ip", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "web-admin-port", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "web-admin-listen-on-workers", 0, TD_ARG_NONE, 0,
      TD_KEY_UNSUPPORTED },
    { "prometheus-username-labels", 0, TD_ARG_NONE, 0,
      TD_KEY_UNSUPPORTED },
    { "oauth", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "server-name", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "userdb", 'b', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "db", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "psql-userdb", 'e', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "sql-userdb", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "mysql-userdb", 'M', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "mongo-userdb", 'J', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "redis-userdb", 'N', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "redis-statsdb", 'O', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "secret-key-file", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "rest-api-separator", 'C', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "max-bps", 's', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "bps-capacity", 'B', TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "allocation-default-address-family", 0, TD_ARG_REQ, 0,
      TD_KEY_UNSUPPORTED },
    { "keep-address-family", 'K', TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "dual-allocation", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "mobility", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "secure-stun", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-stun", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "stun-only", 'S', TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-udp-relay", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-rfc5780", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-stun-backward-compatibility", 0, TD_ARG_NONE, 0,
      TD_KEY_UNSUPPORTED },
    { "response-origin-only-with-rfc5780", 0, TD_ARG_NONE, 0,
      TD_KEY_UNSUPPORTED },
    { "check-origin-consistency", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "server-relay", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-auth-pings", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-dynamic-ip-list", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "no-dynamic-realms", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "log-binding", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "simple-log", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "new-log-timestamp", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "new-log-timestamp-format", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "daemon", 'o', TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "prod", 0, TD_ARG_NONE, 0, TD_KEY_UNSUPPORTED },
    { "acme-redirect", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "ne", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },
    { "cpus", 0, TD_ARG_REQ, 0, TD_KEY_UNSUPPORTED },

    /* the command line only */
    { "config", 'c', TD_ARG_REQ, 1, TD_KEY_CONFIG },
    { "no-config", 'n', TD_ARG_NONE, 1, TD_KEY_NO_CONFIG },
    { "help", 'h', TD_ARG_NONE, 1, TD_KEY_HELP },
    { "version", 0, TD_ARG_NONE, 1, TD_KEY_VERSION },
    { "check-config", 't', TD_ARG_NONE, 1, TD_KEY_CHECK_CONFIG },

    { NULL, 0, 0, 0, 0 }
};


static char  td_conf_default_realm[] = "trtc";


static const td_conf_key_t *td_conf_find(const char *name, size_t len);
static const td_conf_key_t *td_conf_find_short(char opt);
static int td_conf_set(td_conf_t *conf, const td_conf_key_t *k,
    const char *value, td_conf_ctx_t *ctx);
static int td_conf_invalid(td_conf_ctx_t *ctx, const td_conf_key_t *k,
    const char *value, const char *why);
static void td_conf_msg(td_conf_ctx_t *ctx, const char *level,
    const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static int td_conf_number(const char *s, unsigned min, unsigned max,
    unsigned *out);
static int td_conf_bool(const char *s, int *out);
static int td_conf_addr(const char *s, size_t len, td_addr_t *addr);
static int td_conf_token(const char *s, size_t max);
static int td_conf_cidr(const char *s, td_cidr_t *out);
static int td_conf_user(const char *s, const char **why);
static int td_conf_strdup(char **dst, const char *s);
static int td_conf_push(td_conf_ctx_t *ctx, const td_conf_key_t *k,
    char **list, size_t *n, const char *value);
static char *td_conf_where(td_conf_ctx_t *ctx);
static int td_conf_line(td_conf_t *conf, char *line, td_conf_ctx_t *ctx);
static int td_conf_args(td_conf_t *conf, int argc, char **argv, int phase,
    const char **file, int *exit_now);
static void td_conf_usage(void);
static int td_conf_facility(const char *s);


void
td_conf_init(td_conf_t *conf)
{
    memset(conf, 0, sizeof(td_conf_t));

    conf->listening_port = 3478;
    conf->tls_listening_port = 5349;
    conf->handshake_timeout = 5;
    conf->min_port = 49152;
    conf->max_port = 65535;

    conf->realm = td_conf_default_realm;
    conf->realm_default = 1;
    conf->stale_nonce = 600;
    conf->max_allocate_timeout = 10;
    conf->max_unauth_tcp = 0;
    conf->max_unauth_tcp_per_ip = 16;
    conf->unauth_rate = 50;

    conf->max_allocate_lifetime = 3600;
    conf->default_lifetime = 600;
    conf->permission_lifetime = 300;
    conf->channel_lifetime = 600;

    conf->syslog_facility = LOG_DAEMON;
    conf->prometheus_port = 9641;
    (void) td_conf_addr("127.0.0.1", 9, &conf->prometheus_ip);
}


void
td_conf_free(td_conf_t *conf)
{
    size_t  i;

    if (!conf->realm_default) {
        free(conf->realm);
    }

    for (i = 0; i < conf->nusers; i++) {
        free(conf->users[i]);
    }

    for (i = 0; i < conf->nsecrets; i++) {
        /* secrets do not linger in freed memory */
        explicit_bzero(conf->secrets[i], strlen(conf->secrets[i]));
        free(conf->secrets[i]);
    }

    free(conf->credentials_file);
    free(conf->cert);
    free(conf->pkey);
    free(conf->cipher_list);
    free(conf->log_file);
    free(conf->pidfile);
    free(conf->proc_user);
    free(conf->proc_group);
    free(conf->software);
    free(conf->conf_file);
    free(conf->min_port_at);
    free(conf->max_port_at);

    td_peer_filter_free(&conf->peers);

    memset(conf, 0, sizeof(td_conf_t));
}


int
td_conf_parse_args(td_conf_t *conf, int argc, char **argv)
{
    int          exit_now;
    const char  *file;

    file = NULL;
    exit_now = 0;

    /* first -c, -n, --help and --version: the file goes under the rest */
    if (td_conf_args(conf, argc, argv, 1, &file, &exit_now) != 0) {
        return -1;
    }

    if (exit_now) {
        return 1;
    }

    if (file != NULL) {
        if (td_conf_strdup(&conf->conf_file, file) != 0) {
            return -1;
        }

        if (td_conf_parse_file(conf, file) != 0) {
            return -1;
        }
    }

    if (td_conf_args(conf, argc, argv, 2, &file, &exit_now) != 0) {
        return -1;
    }

    return td_conf_check(conf);
}


int
td_conf_parse_file(td_conf_t *conf, const char *path)
{
    int          fd, rc;
    char        *text;
    size_t       len;
    ssize_t      n;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "turnd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "turnd: %s: not a regular file\n", path);
        close(fd);
        return -1;
    }

    if (st.st_size > TD_CONF_MAX_FILE) {
        fprintf(stderr, "turnd: %s: larger than %d bytes\n", path,
                TD_CONF_MAX_FILE);
        close(fd);
        return -1;
    }

    text = malloc((size_t) st.st_size + 1);
    if (text == NULL) {
        fprintf(stderr, "turnd: %s: out of memory\n", path);
        close(fd);
        return -1;
    }

    len = 0;

    /* the file may change size under us: read what fits, to EOF */
    while (len < (size_t) st.st_size) {
        n = read(fd, text + len, (size_t) st.st_size - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            fprintf(stderr, "turnd: cannot read %s: %s\n", path,
                    strerror(errno));
            free(text);
            close(fd);
            return -1;
        }

        if (n == 0) {
            break;
        }

        len += (size_t) n;
    }

    close(fd);

    rc = td_conf_parse_text(conf, text, len, path);

    free(text);

    return rc;
}


int
td_conf_parse_text(td_conf_t *conf, const char *text, size_t len,
    const char *name)
{
    int             rc;
    char           *line;
    size_t          llen;
    const char     *p, *end, *eol;
    td_conf_ctx_t   ctx;

    rc = 0;
    ctx.name = name;
    ctx.line = 0;

    p = text;
    end = text + len;

    /* a UTF-8 byte order mark some editors write */
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
    }

    while (p < end) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        ctx.line++;
        llen = (size_t) (eol - p);

        if (memchr(p, '\0', llen) != NULL) {
            td_conf_msg(&ctx, NULL, "a NUL byte in the line");
            rc = -1;
            p = eol + 1;
            continue;
        }

        line = malloc(llen + 1);
        if (line == NULL) {
            td_conf_msg(&ctx, NULL, "out of memory");
            return -1;
        }

        memcpy(line, p, llen);
        line[llen] = '\0';

        /* go on after an error: the operator sees every bad line at once */
        if (td_conf_line(conf, line, &ctx) != 0) {
            rc = -1;
        }

        free(line);
        p = eol + 1;
    }

    return rc;
}


/*
 * One line of a file: "key=value", "key value", "key", "--key=value",
 * "# comment"; a "#" after a blank starts a comment ("#" inside a value,
 * as in a password, does not).
 */

static int
td_conf_line(td_conf_t *conf, char *line, td_conf_ctx_t *ctx)
{
    char                 *p, *key, *value, *e;
    size_t                klen, n;
    const td_conf_key_t  *k;

    n = strlen(line);

    if (n > 0 && line[n - 1] == '\r') {
        line[--n] = '\0';
    }

    p = line;
    while (*p == ' ' || *p == '\t') {
        p++;
    }

    if (*p == '\0' || *p == '#') {
        return 0;
    }

    for (e = p + 1; *e != '\0'; e++) {
        if (*e == '#' && (e[-1] == ' ' || e[-1] == '\t')) {
            *e = '\0';
            break;
        }
    }

    e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
        *--e = '\0';
    }

    if (p[0] == '-' && p[1] == '-') {
        p += 2;
    }

    key = p;
    while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t') {
        p++;
    }

    klen = (size_t) (p - key);

    while (*p == ' ' || *p == '\t') {
        p++;
    }

    if (*p == '=') {
        p++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
    }

    value = (*p != '\0') ? p : NULL;
    key[klen] = '\0';

    if (klen == 0) {
        td_conf_msg(ctx, NULL, "a value without a key");
        return -1;
    }

    k = td_conf_find(key, klen);

    if (k == NULL || k->cmdline_only) {
        td_conf_msg(ctx, "warning", "unknown option \"%s\", ignored", key);
        return 0;
    }

    return td_conf_set(conf, k, value, ctx);
}


static int
td_conf_args(td_conf_t *conf, int argc, char **argv, int phase,
    const char **file, int *exit_now)
{
    int                   i, rc;
    char                  name[TD_CONF_MAX_KEY + 1];
    size_t                len;
    const char           *a, *eq, *value, *s;
    td_conf_ctx_t         ctx;
    const td_conf_key_t  *k;

    rc = 0;
    ctx.name = NULL;
    ctx.line = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            a += 2;
            eq = strchr(a, '=');
            len = (eq != NULL) ? (size_t) (eq - a) : strlen(a);

            k = td_conf_find(a, len);

            if (k == NULL) {
                if (phase == 2) {
                    len = (len > TD_CONF_MAX_KEY) ? TD_CONF_MAX_KEY : len;
                    memcpy(name, a, len);
                    name[len] = '\0';
                    td_conf_msg(&ctx, NULL, "unknown option \"--%s\" "
                                "(turnd --help lists them)", name);
                    rc = -1;
                }

                continue;
            }

            value = (eq != NULL) ? eq + 1 : NULL;

            if (eq == NULL && k->arg == TD_ARG_REQ) {
                if (i + 1 >= argc) {
                    td_conf_msg(&ctx, NULL, "missing value for \"--%s\"",
                                k->name);
                    return -1;
                }

                value = argv[++i];

            } else if (eq == NULL && k->arg == TD_ARG_OPT && i + 1 < argc) {
                /* "--stale-nonce 300": take the number that follows */
                s = argv[i + 1];
                if (s[0] >= '0' && s[0] <= '9'
                    && strspn(s, "0123456789") == strlen(s))
                {
                    value = argv[++i];
                }
            }

        } else if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {

            /* bundled short options: "-av", "-p3478", "-p 3478" */
            for (s = a + 1; *s != '\0'; s++) {
                k = td_conf_find_short(*s);

                if (k == NULL) {
                    if (phase == 2) {
                        td_conf_msg(&ctx, NULL, "unknown option \"-%c\" "
                                    "(turnd --help lists them)", *s);
                        rc = -1;
                    }

                    continue;
                }

                value = NULL;

                if (k->arg == TD_ARG_REQ) {
                    if (s[1] != '\0') {
                        value = s + 1;

                    } else if (i + 1 < argc) {
                        value = argv[++i];

                    } else {
                        td_conf_msg(&ctx, NULL, "missing value for \"-%c\"",
                                    *s);
                        return -1;
                    }
                }

                if (phase == 1) {
                    if (k->key == TD_KEY_CONFIG) {
                        *file = value;

                    } else if (k->key == TD_KEY_NO_CONFIG) {
                        *file = NULL;

                    } else if (k->key == TD_KEY_HELP) {
                        td_conf_usage();
                        *exit_now = 1;

                    } else if (k->key == TD_KEY_CHECK_CONFIG) {
                        conf->check_config = 1;
                    }

                } else if (!k->cmdline_only) {
                    if (td_conf_set(conf, k, value, &ctx) != 0) {
                        rc = -1;
                    }
                }

                if (value != NULL) {
                    break;
                }
            }

            continue;

        } else {
            if (phase == 2) {
                td_conf_msg(&ctx, NULL, "unexpected argument \"%.*s\"",
                            TD_CONF_MAX_SHOWN, argv[i]);
                rc = -1;
            }

            continue;
        }

        if (phase == 1) {
            switch (k->key) {

            case TD_KEY_CONFIG:
                *file = value;
                break;

            case TD_KEY_NO_CONFIG:
                *file = NULL;
                break;

            case TD_KEY_HELP:
                td_conf_usage();
                *exit_now = 1;
                break;

            case TD_KEY_VERSION:
                printf("turnd %s\n", TD_VERSION);
                *exit_now = 1;
                break;

            case TD_KEY_CHECK_CONFIG:
                conf->check_config = 1;
                break;

            default:
                break;
            }

            continue;
        }

        if (!k->cmdline_only && td_conf_set(conf, k, value, &ctx) != 0) {
            rc = -1;
        }
    }

    return rc;
}


static const td_conf_key_t *
td_conf_find(const char *name, size_t len)
{
    const td_conf_key_t  *k;

    for (k = td_conf_keys; k->name != NULL; k++) {
        if (strlen(k->name) == len && memcmp(k->name, name, len) == 0) {
            return k;
        }
    }

    return NULL;
}


static const td_conf_key_t *
td_conf_find_short(char opt)
{
    const td_conf_key_t  *k;

    for (k = td_conf_keys; k->name != NULL; k++) {
        if (k->opt == opt) {
            return k;
        }
    }

    return NULL;
}


static int
td_conf_set(td_conf_t *conf, const td_conf_key_t *k, const char *value,
    td_conf_ctx_t *ctx)
{
    int            flag;
    char          *at, err[256];
    size_t         n;
    unsigned       num;
    const char    *why, *slash;
    td_addr_t     *addr;
    td_external_t  ext;

    if (k->arg == TD_ARG_REQ && value == NULL) {
        td_conf_msg(ctx, NULL, "missing value for \"%s\"", k->name);
        return -1;
    }

    flag = 1;

    if (k->arg == TD_ARG_NONE && td_conf_bool(value, &flag) != 0) {
        return td_conf_invalid(ctx, k, value,
                               "use on/off, yes/no, true/false or 1/0");
    }

    switch (k->key) {

    case TD_KEY_LISTENING_PORT:
        if (td_conf_number(value, 1, 65535, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a port is 1..65535");
        }

        conf->listening_port = num;
        return 0;

    case TD_KEY_MIN_PORT:
    case TD_KEY_MAX_PORT:
        if (td_conf_number(value, 1, 65535, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a port is 1..65535");
        }

        at = td_conf_where(ctx);
        if (at == NULL) {
            return -1;
        }

        if (k->key == TD_KEY_MIN_PORT) {
            conf->min_port = num;
            free(conf->min_port_at);
            conf->min_port_at = at;

        } else {
            conf->max_port = num;
            free(conf->max_port_at);
            conf->max_port_at = at;
        }

        return 0;

    case TD_KEY_LISTENING_IP:
    case TD_KEY_RELAY_IP:
        n = (k->key == TD_KEY_LISTENING_IP) ? conf->nlistening_ip
                                            : conf->nrelay_ip;

        if (n >= TD_CONF_MAX_ADDRS) {
            td_conf_msg(ctx, NULL, "too many \"%s\" (at most %d)", k->name,
                        TD_CONF_MAX_ADDRS);
            return -1;
        }

        addr = (k->key == TD_KEY_LISTENING_IP) ? &conf->listening_ip[n]
                                               : &conf->relay_ip[n];

        if (td_conf_addr(value, strlen(value), addr) != 0) {
            return td_conf_invalid(ctx, k, value, "not an IP address");
        }

        if (k->key == TD_KEY_LISTENING_IP) {
            conf->nlistening_ip++;

        } else {
            conf->nrelay_ip++;
        }

        return 0;

    case TD_KEY_EXTERNAL_IP:
        if (conf->nexternal_ip >= TD_CONF_MAX_ADDRS) {
            td_conf_msg(ctx, NULL, "too many \"%s\" (at most %d)", k->name,
                        TD_CONF_MAX_ADDRS);
            return -1;
        }

        memset(&ext, 0, sizeof(td_external_t));
        slash = strchr(value, '/');
        n = (slash != NULL) ? (size_t) (slash - value) : strlen(value);

        if (td_conf_addr(value, n, &ext.pub) != 0) {
            return td_conf_invalid(ctx, k, value,
                                   "not PUBLIC-IP or PUBLIC-IP/PRIVATE-IP");
        }

        if (slash != NULL) {
            if (td_conf_addr(slash + 1, strlen(slash + 1), &ext.priv) != 0) {
                return td_conf_invalid(ctx, k, value,
                                    "not PUBLIC-IP or PUBLIC-IP/PRIVATE-IP");
            }

            if (ext.priv.sa.ss_family != ext.pub.sa.ss_family) {
                return td_conf_invalid(ctx, k, value,
                                       "both addresses of one family");
            }

            ext.has_priv = 1;
        }

        conf->external_ip[conf->nexternal_ip++] = ext;
        return 0;

    case TD_KEY_REALM:
        if (td_conf_token(value, TD_CONF_MAX_REALM) != 0) {
            return td_conf_invalid(ctx, k, value,
                                   "no blanks, not \"#\" first");
        }

        if (!conf->realm_default) {
            free(conf->realm);
        }

        conf->realm = NULL;
        conf->realm_default = 0;
        return td_conf_strdup(&conf->realm, value);

    case TD_KEY_LT_CRED_MECH:
        conf->lt_cred_mech = flag;
        return 0;

    case TD_KEY_USE_AUTH_SECRET:
        conf->use_auth_secret = flag;
        return 0;

    case TD_KEY_NO_AUTH:
        conf->no_auth = flag;

        if (flag) {
            td_conf_msg(ctx, "warning", "\"no-auth\": anyone may relay "
                        "through this server (an open relay)");
        }

        return 0;

    case TD_KEY_STATIC_AUTH_SECRET:
        if (td_conf_token(value, TD_CONF_MAX_SECRET) != 0) {
            /* never print a secret, even a malformed one */
            td_conf_msg(ctx, NULL, "invalid value \"***\" for \"%s\": "
                        "no blanks, not \"#\" first, at most %d "
                        "bytes", k->name,
                        TD_CONF_MAX_SECRET);
            return -1;
        }

        return td_conf_push(ctx, k, conf->secrets, &conf->nsecrets, value);

    case TD_KEY_USER:
        if (td_conf_user(value, &why) != 0) {
            slash = strchr(value, ':');
            n = (slash != NULL) ? (size_t) (slash - value) : strlen(value);
            n = (n > TD_CONF_MAX_SHOWN) ? TD_CONF_MAX_SHOWN : n;

            /* the name, never the password */
            td_conf_msg(ctx, NULL, "invalid value \"%.*s%s\" for \"%s\": %s",
                        (int) n, value, (slash != NULL) ? ":***" : "",
                        k->name, why);
            return -1;
        }

        return td_conf_push(ctx, k, conf->users, &conf->nusers, value);

    case TD_KEY_CREDENTIALS_FILE:
        return td_conf_strdup(&conf->credentials_file, value);

    case TD_KEY_STALE_NONCE:
        if (value == NULL) {
            conf->stale_nonce = 600;
            return 0;
        }

        if (td_conf_number(value, 1, TD_CONF_MAX_LIFETIME, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "seconds, 1..31536000");
        }

        conf->stale_nonce = num;
        return 0;

    case TD_KEY_MAX_ALLOCATE_LIFETIME:
    case TD_KEY_CHANNEL_LIFETIME:
    case TD_KEY_PERMISSION_LIFETIME:
        if (td_conf_number(value, 1, TD_CONF_MAX_LIFETIME, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "seconds, 1..31536000");
        }

        if (k->key == TD_KEY_MAX_ALLOCATE_LIFETIME) {
            conf->max_allocate_lifetime = num;

        } else if (k->key == TD_KEY_CHANNEL_LIFETIME) {
            conf->channel_lifetime = num;

        } else {
            conf->permission_lifetime = num;
        }

        return 0;

    case TD_KEY_ALLOWED_PEER_IP:
    case TD_KEY_DENIED_PEER_IP:
        err[0] = '\0';

        if (td_peer_filter_add(&conf->peers, value,
                               k->key == TD_KEY_ALLOWED_PEER_IP,
                               err, sizeof(err))
            != 0)
        {
            return td_conf_invalid(ctx, k, value,
                                   err[0] ? err : "not an address range");
        }

        return 0;

    case TD_KEY_ALLOW_LOOPBACK_PEERS:
        conf->peers.allow_loopback = flag;
        return 0;

    case TD_KEY_ALLOWED_PEERS_ONLY:
        conf->peers.allow_only = flag;
        return 0;

    case TD_KEY_ALLOW_RELAY_PEERS:
        conf->peers.allow_relays = flag;
        return 0;

    case TD_KEY_USER_QUOTA:
    case TD_KEY_TOTAL_QUOTA:
        if (td_conf_number(value, 0, 100000000, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a number, 0: no quota");
        }

        if (k->key == TD_KEY_USER_QUOTA) {
            conf->user_quota = num;

        } else {
            conf->total_quota = num;
        }

        return 0;

    case TD_KEY_MAX_ALLOCATE_TIMEOUT:
        if (td_conf_number(value, 1, 3600, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "1..3600 seconds");
        }

        conf->max_allocate_timeout = num;
        return 0;

    case TD_KEY_MAX_UNAUTH_TCP:
    case TD_KEY_MAX_UNAUTH_TCP_PER_IP:
    case TD_KEY_UNAUTH_RATE:
        if (td_conf_number(value, 0, 10000000, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a number, 0: no limit");
        }

        if (k->key == TD_KEY_MAX_UNAUTH_TCP) {
            conf->max_unauth_tcp = num;

        } else if (k->key == TD_KEY_MAX_UNAUTH_TCP_PER_IP) {
            conf->max_unauth_tcp_per_ip = num;

        } else {
            conf->unauth_rate = num;
        }

        return 0;

    case TD_KEY_RELAY_THREADS:
        if (td_conf_number(value, 0, 1024, &num) != 0) {
            return td_conf_invalid(ctx, k, value,
                                   "0..1024, 0: one per CPU");
        }

        conf->threads = num;
        return 0;

    case TD_KEY_VERBOSE:
        if (!flag) {
            conf->verbose = 0;

        } else if (conf->verbose < 1) {
            conf->verbose = 1;
        }

        return 0;

    case TD_KEY_VERBOSE2:
        conf->verbose = flag ? 2 : 0;
        return 0;

    case TD_KEY_FINGERPRINT:
        conf->fingerprint = flag;
        return 0;

    case TD_KEY_NO_UDP:
        conf->no_udp = flag;
        return 0;

    case TD_KEY_NO_TCP:
        conf->no_tcp = flag;
        return 0;

    case TD_KEY_NO_STDOUT_LOG:
        conf->no_stdout_log = flag;
        return 0;

    case TD_KEY_LOG_FILE:
        /* coturn's special names */
        if (strcmp(value, "stdout") == 0 || strcmp(value, "-") == 0) {
            free(conf->log_file);
            conf->log_file = NULL;
            return 0;
        }

        if (strcmp(value, "syslog") == 0) {
            conf->syslog = 1;
            return 0;
        }

        return td_conf_strdup(&conf->log_file, value);

    case TD_KEY_PIDFILE:
        return td_conf_strdup(&conf->pidfile, value);

    case TD_KEY_PROC_USER:
        /* checked here, so the error names the line */
        if (getpwnam(value) == NULL) {
            return td_conf_invalid(ctx, k, value, "no such user");
        }

        return td_conf_strdup(&conf->proc_user, value);

    case TD_KEY_PROC_GROUP:
        if (getgrnam(value) == NULL) {
            return td_conf_invalid(ctx, k, value, "no such group");
        }

        return td_conf_strdup(&conf->proc_group, value);

    case TD_KEY_SYSLOG:
        conf->syslog = flag;
        return 0;

    case TD_KEY_SYSLOG_FACILITY:
        conf->syslog_facility = td_conf_facility(value);
        if (conf->syslog_facility == -1) {
            conf->syslog_facility = LOG_DAEMON;
            return td_conf_invalid(ctx, k, value,
                                   "daemon, user, local0 .. local7");
        }

        return 0;

    case TD_KEY_PROMETHEUS:
        conf->prometheus = flag;
        return 0;

    case TD_KEY_PROMETHEUS_PORT:
        if (td_conf_number(value, 1, 65535, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a port is 1..65535");
        }

        conf->prometheus_port = num;
        return 0;

    case TD_KEY_PROMETHEUS_ADDRESS:
        if (td_conf_addr(value, strlen(value), &conf->prometheus_ip) != 0) {
            return td_conf_invalid(ctx, k, value,
                                   "an IPv4 or IPv6 address");
        }

        return 0;

    case TD_KEY_TLS_LISTENING_PORT:
        if (td_conf_number(value, 1, 65535, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "a port is 1..65535");
        }

        conf->tls_listening_port = num;
        return 0;

    case TD_KEY_CERT:
        return td_conf_strdup(&conf->cert, value);

    case TD_KEY_PKEY:
        return td_conf_strdup(&conf->pkey, value);

    case TD_KEY_CIPHER_LIST:
        return td_conf_strdup(&conf->cipher_list, value);

    case TD_KEY_NO_TLS:
        conf->no_tls = flag;
        return 0;

    case TD_KEY_NO_TLSV1_2:
        conf->no_tlsv1_2 = flag;
        return 0;

    case TD_KEY_KERNEL_OFFLOAD:
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
            return td_conf_invalid(ctx, k, value, "on or off");
        }

        conf->kernel_offload = (value[0] == 'o' && value[1] == 'n');
        return 0;

    case TD_KEY_HANDSHAKE_TIMEOUT:
        if (td_conf_number(value, 1, 60, &num) != 0) {
            return td_conf_invalid(ctx, k, value, "1..60 seconds");
        }

        conf->handshake_timeout = num;
        return 0;

    case TD_KEY_PROXY_PROTOCOL_FROM:
        if (conf->nproxy_from >= TD_CONF_MAX_ADDRS) {
            td_conf_msg(ctx, NULL, "too many \"%s\" (at most %d)", k->name,
                        TD_CONF_MAX_ADDRS);
            return -1;
        }

        if (td_conf_cidr(value, &conf->proxy_from[conf->nproxy_from])
            != 0)
        {
            return td_conf_invalid(ctx, k, value,
                                   "not ADDRESS or ADDRESS/PREFIX");
        }

        conf->nproxy_from++;
        return 0;

    case TD_KEY_ACCEPTED:
        return 0;

    case TD_KEY_UNSUPPORTED:
        td_conf_msg(ctx, "warning", "\"%s\" is not implemented by turnd, "
                    "ignored", k->name);
        return 0;

    default:
        return 0;
    }
}


int
td_conf_check(td_conf_t *conf)
{
    int            rc;
    td_conf_ctx_t  ctx;

    rc = 0;
    /* cross-key rules belong to no single line */
    ctx.name = (conf->conf_file != NULL) ? conf->conf_file : "";
    ctx.line = 0;

    if (conf->min_port > conf->max_port) {
        fprintf(stderr, "turnd: %s: invalid value \"%u\" for \"%s\": "
                "min-port %u is above max-port %u%s%s\n",
                (conf->min_port_at != NULL) ? conf->min_port_at
                                            : conf->max_port_at,
                (conf->min_port_at != NULL) ? conf->min_port
                                            : conf->max_port,
                (conf->min_port_at != NULL) ? "min-port" : "max-port",
                conf->min_port, conf->max_port,
                (conf->min_port_at != NULL && conf->max_port_at != NULL)
                    ? " set at " : "",
                (conf->min_port_at != NULL && conf->max_port_at != NULL)
                    ? conf->max_port_at : "");
        rc = -1;
    }

    if (conf->no_udp && conf->no_tcp) {
        td_conf_msg(&ctx, NULL, "\"no-udp\" and \"no-tcp\" together leave "
                    "nothing to listen on");
        rc = -1;
    }

    if (!conf->no_tls && (conf->cert == NULL) != (conf->pkey == NULL)) {
        td_conf_msg(&ctx, NULL, "\"%s\" without \"%s\": TLS needs both",
                    conf->cert ? "cert" : "pkey", conf->cert ? "pkey" : "cert");
        rc = -1;
    }

    if (conf->no_auth && (conf->lt_cred_mech || conf->use_auth_secret)) {
        td_conf_msg(&ctx, NULL, "\"no-auth\" contradicts \"%s\"",
                    conf->lt_cred_mech ? "lt-cred-mech" : "use-auth-secret");
        rc = -1;
    }

    if (rc != 0 || conf->checked) {
        return rc;
    }

    conf->checked = 1;

    if (conf->default_lifetime > conf->max_allocate_lifetime) {
        conf->default_lifetime = conf->max_allocate_lifetime;
    }

    if (conf->no_auth) {
        return 0;
    }

    if (conf->realm_default && (conf->lt_cred_mech || conf->use_auth_secret)
        && conf->credentials_file == NULL)
    {
        td_conf_msg(&ctx, "warning", "\"%s\" is set but no \"realm\": "
                    "using \"%s\"",
                    conf->lt_cred_mech ? "lt-cred-mech" : "use-auth-secret",
                    conf->realm);

    } else if (conf->realm_default
               && (conf->lt_cred_mech || conf->use_auth_secret))
    {
        td_conf_msg(&ctx, "warning", "\"%s\" is set but no \"realm\": "
                    "using the realm of %s, or \"%s\" if it has none",
                    conf->lt_cred_mech ? "lt-cred-mech" : "use-auth-secret",
                    conf->credentials_file, conf->realm);
    }

    if (conf->nusers == 0 && conf->nsecrets == 0
        && conf->credentials_file == NULL)
    {
        td_conf_msg(&ctx, "warning", "no \"user\", \"static-auth-secret\" "
                    "or \"credentials-file\": every request will be refused "
                    "(401)");

    } else if (conf->use_auth_secret && conf->nsecrets == 0
               && conf->credentials_file == NULL)
    {
        td_conf_msg(&ctx, "warning", "\"use-auth-secret\" without "
                    "\"static-auth-secret\" or \"credentials-file\": no "
                    "time-limited credential will be accepted");
    }

    return 0;
}


static int
td_conf_invalid(td_conf_ctx_t *ctx, const td_conf_key_t *k,
    const char *value, const char *why)
{
    char    shown[TD_CONF_MAX_SHOWN + 1];
    size_t  i;

    for (i = 0; value != NULL && value[i] != '\0' && i < TD_CONF_MAX_SHOWN;
         i++)
    {
        shown[i] = ((unsigned char) value[i] < 0x20 || value[i] == 0x7f)
                   ? '?' : value[i];
    }

    shown[i] = '\0';

    if (why != NULL) {
        td_conf_msg(ctx, NULL, "invalid value \"%s\" for \"%s\": %s", shown,
                    k->name, why);

    } else {
        td_conf_msg(ctx, NULL, "invalid value \"%s\" for \"%s\"", shown,
                    k->name);
    }

    return -1;
}


/* "turnd: FILE:LINE: [warning: ]text" or "turnd: command line: ..." */

static void
td_conf_msg(td_conf_ctx_t *ctx, const char *level, const char *fmt, ...)
{
    char     buf[1024];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (ctx->name == NULL) {
        fprintf(stderr, "turnd: command line: %s%s%s\n",
                level ? level : "", level ? ": " : "", buf);

    } else if (ctx->name[0] == '\0') {
        fprintf(stderr, "turnd: %s%s%s\n",
                level ? level : "", level ? ": " : "", buf);

    } else if (ctx->line == 0) {
        fprintf(stderr, "turnd: %s: %s%s%s\n", ctx->name,
                level ? level : "", level ? ": " : "", buf);

    } else {
        fprintf(stderr, "turnd: %s:%u: %s%s%s\n", ctx->name, ctx->line,
                level ? level : "", level ? ": " : "", buf);
    }
}


static char *
td_conf_where(td_conf_ctx_t *ctx)
{
    char  *s;
    int    n;

    if (ctx->name == NULL) {
        n = asprintf(&s, "command line");

    } else {
        n = asprintf(&s, "%s:%u", ctx->name, ctx->line);
    }

    if (n < 0) {
        fprintf(stderr, "turnd: out of memory\n");
        return NULL;
    }

    return s;
}


/* decimal digits only, no sign, no junk, no overflow */

static int
td_conf_number(const char *s, unsigned min, unsigned max, unsigned *out)
{
    unsigned long long  n;

    if (s == NULL || *s == '\0') {
        return -1;
    }

    n = 0;

    for ( /* void */ ; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        n = n * 10 + (unsigned) (*s - '0');

        if (n > max) {
            return -1;
        }
    }

    if (n < min) {
        return -1;
    }

    *out = (unsigned) n;

    return 0;
}


/* coturn's boolean values; no value at all means "on" */

static int
td_conf_bool(const char *s, int *out)
{
    static const char  *yes[] = { "1", "yes", "true", "on", NULL };
    static const char  *no[] = { "0", "no", "false", "off", NULL };
    size_t              i;

    if (s == NULL) {
        *out = 1;
        return 0;
    }

    for (i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }

        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }

    return -1;
}


/* a numeric IPv4 or IPv6 address, IPv6 optionally in brackets; port 0 */

static int
td_conf_addr(const char *s, size_t len, td_addr_t *addr)
{
    char                  buf[INET6_ADDRSTRLEN + 2];
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    memset(addr, 0, sizeof(td_addr_t));

    sin = (struct sockaddr_in *) &addr->sa;

    if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        addr->salen = sizeof(struct sockaddr_in);
        return 0;
    }

    sin6 = (struct sockaddr_in6 *) &addr->sa;

    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        addr->salen = sizeof(struct sockaddr_in6);
        return 0;
    }

    memset(addr, 0, sizeof(td_addr_t));

    return -1;
}


/*
 * A word the credentials file format can carry (td_auth writes realm,
 * users and secrets into that format): 1..max bytes, no blanks, no
 * control characters, and no "#" first (that starts a comment there).
 */

static int
td_conf_token(const char *s, size_t max)
{
    size_t  i;

    if (s[0] == '#') {
        return -1;
    }

    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f) {
            return -1;
        }
    }

    return (i == 0 || i > max) ? -1 : 0;
}


/* "name:password" or "name:0x" and the 32 hex digits of MD5(n:realm:p) */

static int
td_conf_user(const char *s, const char **why)
{
    char        *tmp, *colon, *pass;
    size_t       i;
    const char  *w;

    w = NULL;

    tmp = strdup(s);
    if (tmp == NULL) {
        *why = "out of memory";
        return -1;
    }

    colon = strchr(tmp, ':');

    if (colon == NULL) {
        w = "not NAME:PASSWORD or NAME:0xKEY";
        goto done;
    }

    *colon = '\0';
    pass = colon + 1;

    if (td_conf_token(tmp, TD_CONF_MAX_USER) != 0) {
        w = "the name is 1..512 bytes, no blanks, not \"#\" "
            "first";
        goto done;
    }

    if (td_conf_token(pass, TD_CONF_MAX_SECRET) != 0) {
        w = "the password is not empty, no blanks, not "
            "\"#\" first";
        goto done;
    }

    /* as coturn and the credentials file: "0x" makes it a key */
    if (pass[0] == '0' && pass[1] == 'x') {
        for (i = 2; isxdigit((unsigned char) pass[i]); i++) {
            /* void */
        }

        if (i != 34 || pass[i] != '\0') {
            w = "a key is 0x and 32 hex digits";
            goto done;
        }
    }

done:

    explicit_bzero(tmp, strlen(s));
    free(tmp);

    *why = w;

    return (w == NULL) ? 0 : -1;
}


/* ADDRESS or ADDRESS/PREFIX: the address's bits past PREFIX are cleared */

static int
td_conf_cidr(const char *s, td_cidr_t *out)
{
    size_t          n, i;
    unsigned        bits, max;
    uint8_t        *a;
    td_addr_t       addr;
    const char     *slash;

    slash = strchr(s, '/');
    n = (slash != NULL) ? (size_t) (slash - s) : strlen(s);

    if (td_conf_addr(s, n, &addr) != 0) {
        return -1;
    }

    max = (addr.sa.ss_family == AF_INET) ? 32 : 128;
    bits = max;

    if (slash != NULL && td_conf_number(slash + 1, 0, max, &bits) != 0) {
        return -1;
    }

    if (addr.sa.ss_family == AF_INET) {
        a = (uint8_t *) &((struct sockaddr_in *) &addr.sa)->sin_addr;

    } else {
        a = ((struct sockaddr_in6 *) &addr.sa)->sin6_addr.s6_addr;
    }

    for (i = 0; i < max / 8; i++) {
        if (i * 8 >= bits) {
            a[i] = 0;

        } else if (i * 8 + 8 > bits) {
            a[i] &= (uint8_t) (0xff << (8 - bits % 8));
        }
    }

    out->sa = addr.sa;
    out->prefix = bits;

    return 0;
}


static int
td_conf_strdup(char **dst, const char *s)
{
    char  *p;

    p = strdup(s);
    if (p == NULL) {
        fprintf(stderr, "turnd: out of memory\n");
        return -1;
    }

    free(*dst);
    *dst = p;

    return 0;
}


/* appends a copy of value to one of the repeatable string lists */

static int
td_conf_push(td_conf_ctx_t *ctx, const td_conf_key_t *k, char **list,
    size_t *n, const char *value)
{
    if (*n >= TD_CONF_MAX_LIST) {
        td_conf_msg(ctx, NULL, "too many \"%s\" (at most %d)", k->name,
                    TD_CONF_MAX_LIST);
        return -1;
    }

    if (td_conf_strdup(&list[*n], value) != 0) {
        return -1;
    }

    (*n)++;

    return 0;
}


static int
td_conf_facility(const char *s)
{
    static const struct {
        const char  *name;
        int          facility;
    } names[] = {
        { "daemon", LOG_DAEMON }, { "user", LOG_USER },
        { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
        { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
        { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
        { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    };
    size_t  i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            return names[i].facility;
        }
    }

    return -1;
}


static void
td_conf_usage(void)
{
    printf(
"usage: turnd [-c FILE | -n] [options]\n"
"\n"
"A TURN server (RFC 8656).  It reads coturn's turnserver.conf syntax:\n"
"\"key=value\", \"key value\" or \"key\" lines, \"#\" comments.  Every key\n"
"is also an option: --key VALUE, --key=VALUE, --flag.  The command line\n"
"applies after the file.\n"
"\n"
"  -c FILE                     read FILE first\n"
"  -n                          no configuration file (the default)\n"
"  -p, --listening-port PORT   3478\n"
"  -L, --listening-ip IP       repeatable; default all addresses\n"
"  -E, --relay-ip IP           repeatable; default the listening ip\n"
"  -X, --external-ip PUB[/PRIV] the address advertised for relays\n"
"      --min-port, --max-port  relay ports, 49152..65535\n"
"  -r, --realm REALM           \"trtc\"\n"
"  -a, --lt-cred-mech          long-term credentials (always on)\n"
"      --use-auth-secret       TURN REST API credentials\n"
"      --static-auth-secret S  repeatable: all are accepted\n"
"  -u, --user NAME:PASS        or NAME:0xKEY; repeatable\n"
"      --credentials-file F    the file shared with ngx_trtc_module\n"
"      --stale-nonce[=SEC]     nonce lifetime, 600\n"
"      --max-allocate-lifetime SEC  3600\n"
"      --permission-lifetime SEC    300\n"
"      --channel-lifetime SEC       600\n"
"      --allowed-peer-ip R, --denied-peer-ip R  IP, IP/PREFIX, IP1-IP2\n"
"      --allow-loopback-peers  --allowed-peers-only\n"
"  -q, --user-quota N  -Q, --total-quota N  allocations, 0: none\n"
"  -m, --relay-threads N       0: one per CPU\n"
"  -f, --fingerprint           --no-udp  --no-tcp  --no-auth\n"
"  -v, --verbose  -V, --Verbose\n"
"  -l, --log-file FILE         --no-stdout-log  --pidfile FILE\n"
"      --proc-user USER --proc-group GROUP  bind, then drop root\n"
"      --syslog  --syslog-facility F        also log to syslog\n"
"      --prometheus  --prometheus-port 9641  --prometheus-address\n"
"                              metrics on http://127.0.0.1:9641/metrics\n"
"  -t, --check-config          check the configuration and exit\n"
"  -h, --help                  --version\n"
"\n"
"Exit status: 0 success, 1 runtime failure, 78 configuration error.\n");
}
