
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd's configuration parser: the tutorial's coturn file unchanged,
 * every key in both syntaxes, the command line on top of a file, and
 * each error and warning with its file and line (stderr is captured).
 * Also td_log, which the parser's program links anyway, and the keys
 * of td_daemon and td_metrics with td_stats' sorting of auth failures.
 */


#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tap.h"
#include "capture.h"
#include "td_auth.h"
#include "td_conf.h"
#include "td_log.h"
#include "td_stats.h"


/* copied from the tutorial's turn.sh, with $1 = 14.3.3.3 */
static const char  tutorial[] =
    "external-ip=14.3.3.3\n"
    "listening-port=3478\n"
    "lt-cred-mech\n"
    "max-port=65535\n"
    "min-port=20000\n"
    "no-dtls\n"
    "no-tls\n"
    "realm=tencent\n"
    "user=turn:turn\n"
    "verbose\n";


/* returns what went to stderr since cap_start() */


static int
parse(td_conf_t *conf, const char *text, const char *name, const char **err)
{
    int  rc;

    td_conf_init(conf);

    cap_start();
    rc = td_conf_parse_text(conf, text, strlen(text), name);
    if (rc == 0) {
        rc = td_conf_check(conf);
    }
    *err = cap_end();

    return rc;
}


static int
args(td_conf_t *conf, char **argv, const char **err)
{
    int  rc, argc;

    for (argc = 0; argv[argc] != NULL; argc++) {
        /* void */
    }

    td_conf_init(conf);

    cap_start();
    rc = td_conf_parse_args(conf, argc, argv);
    *err = cap_end();

    return rc;
}


static char *
write_file(const char *text)
{
    int          fd;
    static char  path[64];

    snprintf(path, sizeof(path), "/tmp/conf_test.XXXXXX");
    fd = mkstemp(path);
    if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
        perror("mkstemp");
        exit(2);
    }

    close(fd);

    return path;
}


static int
is_ip(const td_addr_t *a, const char *text)
{
    char  buf[INET6_ADDRSTRLEN];

    if (a->sa.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *) &a->sa)->sin_addr, buf,
                  sizeof(buf));
        return a->salen == sizeof(struct sockaddr_in)
               && strcmp(buf, text) == 0;
    }

    if (a->sa.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &a->sa)->sin6_addr,
                  buf, sizeof(buf));
        return a->salen == sizeof(struct sockaddr_in6)
               && strcmp(buf, text) == 0;
    }

    return 0;
}


static void
test_tutorial(void)
{
    td_conf_t    c;
    const char  *err;

    tap_is_int(parse(&c, tutorial, "turnserver.conf", &err), 0,
               "tutorial: parses");
    tap_ok(err[0] == '\0', "tutorial: no warning at all (got \"%s\")", err);
    tap_is_int(c.nexternal_ip, 1, "tutorial: one external-ip");
    tap_ok(is_ip(&c.external_ip[0].pub, "14.3.3.3")
           && !c.external_ip[0].has_priv, "tutorial: external-ip 14.3.3.3");
    tap_is_int(c.listening_port, 3478, "tutorial: listening-port");
    tap_ok(c.lt_cred_mech, "tutorial: lt-cred-mech");
    tap_is_int(c.min_port, 20000, "tutorial: min-port");
    tap_is_int(c.max_port, 65535, "tutorial: max-port");
    tap_ok(c.realm != NULL && strcmp(c.realm, "tencent") == 0
           && !c.realm_default, "tutorial: realm tencent");
    tap_is_int(c.nusers, 1, "tutorial: one user");
    tap_ok(c.nusers == 1 && strcmp(c.users[0], "turn:turn") == 0,
           "tutorial: user turn:turn");
    tap_is_int(c.verbose, 1, "tutorial: verbose");
    tap_ok(!c.no_auth && !c.no_udp && !c.no_tcp, "tutorial: udp, tcp, auth");
    tap_is_int(c.nlistening_ip, 0, "tutorial: listens on all addresses");
    td_conf_free(&c);

    /* the file as turn.sh writes it, read by td_conf_parse_args */
    {
        char  *argv[] = { "turnd", "-c", NULL, NULL };

        argv[2] = write_file(tutorial);
        tap_is_int(args(&c, argv, &err), 0, "tutorial: turnd -c FILE");
        tap_ok(err[0] == '\0', "tutorial: -c: quiet (got \"%s\")", err);
        tap_ok(c.conf_file != NULL && strcmp(c.conf_file, argv[2]) == 0,
               "tutorial: conf_file remembered");
        tap_is_int(c.min_port, 20000, "tutorial: -c: min-port");
        unlink(argv[2]);
        td_conf_free(&c);
    }
}


static void
test_defaults(void)
{
    td_conf_t    c;
    const char  *err;

    tap_is_int(parse(&c, "", "empty.conf", &err), 0, "defaults: parse");
    tap_is_int(c.listening_port, 3478, "defaults: listening-port");
    tap_is_int(c.min_port, 49152, "defaults: min-port");
    tap_is_int(c.max_port, 65535, "defaults: max-port");
    tap_ok(strcmp(c.realm, "trtc") == 0 && c.realm_default,
           "defaults: realm trtc");
    tap_is_int(c.stale_nonce, 600, "defaults: stale-nonce");
    tap_is_int(c.max_allocate_lifetime, 3600, "defaults: max lifetime");
    tap_is_int(c.default_lifetime, 600, "defaults: lifetime");
    tap_is_int(c.permission_lifetime, 300, "defaults: permission");
    tap_is_int(c.channel_lifetime, 600, "defaults: channel");
    tap_is_int(c.threads, 0, "defaults: threads");
    tap_ok(strstr(err, "every request will be refused") != NULL,
           "defaults: no credentials at all is warned about");
    td_conf_free(&c);

    tap_is_int(parse(&c, "lt-cred-mech\nuser=a:b\n", "x.conf", &err), 0,
               "realm missing: parses");
    tap_ok(strstr(err, "turnd: warning: \"lt-cred-mech\" is set but "
                  "no \"realm\": using \"trtc\"") != NULL,
           "realm missing: warning says which realm (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "use-auth-secret\ncredentials-file=/x\n", "x.conf",
                     &err), 0, "realm missing, credentials-file: parses");
    tap_ok(strstr(err, "using the realm of /x") != NULL,
           "realm missing, credentials-file: says the file's realm is used");
    td_conf_free(&c);
}


static void
test_every_key(int eq)
{
    int          i;
    char         text[4096], *p;
    td_conf_t    c;
    const char  *err;
    static const char  *lines[] = {
        "listening-port", "3479",
        "listening-ip", "127.0.0.1",
        "listening-ip", "::1",
        "relay-ip", "10.0.0.4",
        "relay-ip", "[2001:db8::4]",
        "external-ip", "14.3.3.3/10.0.0.4",
        "external-ip", "2001:db8::1",
        "min-port", "40000",
        "max-port", "40100",
        "realm", "example.org",
        "lt-cred-mech", NULL,
        "use-auth-secret", NULL,
        "static-auth-secret", "s3cret",
        "static-auth-secret", "0ld-s3cret",
        "user", "alice:wonder#land",
        "user", "bob:0x0123456789abcdef0123456789ABCDEF",
        "credentials-file", "/etc/trtc/credentials",
        "stale-nonce", "300",
        "max-allocate-lifetime", "7200",
        "channel-lifetime", "500",
        "permission-lifetime", "200",
        "allowed-peer-ip", "10.0.0.0/8",
        "denied-peer-ip", "203.0.113.0-203.0.113.255",
        "denied-peer-ip", "2001:db8::/32",
        "allow-loopback-peers", NULL,
        "user-quota", "10",
        "total-quota", "1000",
        "relay-threads", "4",
        "Verbose", NULL,
        "fingerprint", NULL,
        "no-udp", "false",
        "no-tcp", "off",
        "log-file", "/var/log/turnd.log",
        "no-stdout-log", NULL,
        "pidfile", "/run/turnd.pid",
        "no-tls", NULL,
        "no-dtls", NULL,
        "no-cli", NULL,
        "no-tcp-relay", NULL,
        "no-multicast-peers", NULL,
        NULL
    };

    p = text;
    p += sprintf(p, "# every key, %s\r\n\n", eq ? "key=value" : "key value");

    for (i = 0; lines[i] != NULL; i += 2) {
        if (lines[i + 1] == NULL) {
            p += sprintf(p, "%s%s\n", (i % 4 == 0) ? "--" : "", lines[i]);

        } else if (eq) {
            p += sprintf(p, "%s=%s   # a comment\n", lines[i], lines[i + 1]);

        } else {
            p += sprintf(p, "  %s \t%s\r\n", lines[i], lines[i + 1]);
        }
    }

    tap_is_int(parse(&c, text, "all.conf", &err), 0, "%s: parses",
               eq ? "key=value" : "key value");
    tap_ok(err[0] == '\0', "%s: no warning (got \"%s\")",
           eq ? "key=value" : "key value", err);

    tap_is_int(c.listening_port, 3479, "listening-port");
    tap_ok(c.nlistening_ip == 2 && is_ip(&c.listening_ip[0], "127.0.0.1")
           && is_ip(&c.listening_ip[1], "::1"), "listening-ip x2, IPv6");
    tap_ok(c.nrelay_ip == 2 && is_ip(&c.relay_ip[0], "10.0.0.4")
           && is_ip(&c.relay_ip[1], "2001:db8::4"), "relay-ip, [IPv6]");
    tap_ok(c.nexternal_ip == 2
           && is_ip(&c.external_ip[0].pub, "14.3.3.3")
           && c.external_ip[0].has_priv
           && is_ip(&c.external_ip[0].priv, "10.0.0.4")
           && is_ip(&c.external_ip[1].pub, "2001:db8::1")
           && !c.external_ip[1].has_priv,
           "external-ip with and without /private");
    tap_ok(c.min_port == 40000 && c.max_port == 40100, "min/max-port");
    tap_ok(strcmp(c.realm, "example.org") == 0, "realm");
    tap_ok(c.lt_cred_mech && c.use_auth_secret, "lt-cred-mech, "
           "use-auth-secret");
    tap_ok(c.nsecrets == 2 && strcmp(c.secrets[0], "s3cret") == 0
           && strcmp(c.secrets[1], "0ld-s3cret") == 0,
           "static-auth-secret x2");
    tap_ok(c.nusers == 2 && strcmp(c.users[0], "alice:wonder#land") == 0
           && strcmp(c.users[1],
                     "bob:0x0123456789abcdef0123456789ABCDEF") == 0,
           "user x2: a '#' inside a password, a key");
    tap_ok(c.credentials_file != NULL
           && strcmp(c.credentials_file, "/etc/trtc/credentials") == 0,
           "credentials-file");
    tap_is_int(c.stale_nonce, 300, "stale-nonce");
    tap_is_int(c.max_allocate_lifetime, 7200, "max-allocate-lifetime");
    tap_is_int(c.channel_lifetime, 500, "channel-lifetime");
    tap_is_int(c.permission_lifetime, 200, "permission-lifetime");
    tap_is_int(c.peers.nallowed, 1, "allowed-peer-ip");
    tap_is_int(c.peers.ndenied, 2, "denied-peer-ip x2");
    tap_ok(c.peers.allow_loopback, "allow-loopback-peers");
    tap_ok(c.user_quota == 10 && c.total_quota == 1000, "quotas");
    tap_is_int(c.threads, 4, "relay-threads");
    tap_is_int(c.verbose, 2, "Verbose");
    tap_ok(c.fingerprint, "fingerprint");
    tap_ok(!c.no_udp && !c.no_tcp, "no-udp=false, no-tcp=off");
    tap_ok(c.log_file != NULL && strcmp(c.log_file, "/var/log/turnd.log")
           == 0 && c.no_stdout_log, "log-file, no-stdout-log");
    tap_ok(c.pidfile != NULL && strcmp(c.pidfile, "/run/turnd.pid") == 0,
           "pidfile");

    td_conf_free(&c);
}


static void
test_flags(void)
{
    td_conf_t    c;
    const char  *err;

    tap_is_int(parse(&c, "stale-nonce\nno-udp\nverbose=yes\n", "f.conf",
                     &err), 0, "bare stale-nonce parses");
    tap_ok(c.stale_nonce == 600 && c.no_udp && c.verbose == 1,
           "bare stale-nonce = 600, no-udp, verbose=yes");
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\nno-auth\n", "na.conf", &err), 0,
               "no-auth parses");
    tap_ok(c.no_auth, "no-auth set");
    tap_ok(strstr(err, "turnd: na.conf:2: warning: \"no-auth\"") != NULL
           && strstr(err, "open relay") != NULL,
           "no-auth: warned about, with line (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "no-auth\nlt-cred-mech\n", "na.conf", &err), -1,
               "no-auth with lt-cred-mech: refused");
    td_conf_free(&c);

    tap_is_int(parse(&c, "no-udp\nno-tcp\n", "n.conf", &err), -1,
               "no-udp and no-tcp: refused");
    tap_ok(strstr(err, "nothing to listen on") != NULL, "... says why");
    td_conf_free(&c);

    tap_is_int(parse(&c, "allowed-peers-only\nallowed-peer-ip=1.2.3.4\n"
                     "user=a:b\n", "o.conf", &err), 0, "allowed-peers-only");
    tap_ok(c.peers.allow_only, "allowed-peers-only sets allow_only");
    td_conf_free(&c);

    tap_is_int(parse(&c, "max-allocate-lifetime=300\nuser=a:b\n", "l.conf",
                     &err), 0, "short max lifetime");
    tap_is_int(c.default_lifetime, 300, "default lifetime capped by max");
    td_conf_free(&c);

    tap_is_int(parse(&c, "\xef\xbb\xbfuser=a:b\nlog-file=stdout\n", "b.conf",
                     &err), 0, "a BOM, log-file=stdout");
    tap_ok(c.nusers == 1 && c.log_file == NULL, "... read as such");
    td_conf_free(&c);
}


static void
test_errors(void)
{
    size_t       i;
    td_conf_t    c;
    const char  *err;
    static const struct {
        const char  *text;
        const char  *want;
    } bad[] = {
        { "listening-port=70000\n",
          "turnd: e.conf:1: invalid value \"70000\" for \"listening-port\"" },
        { "# c\nlistening-port=0\n",
          "turnd: e.conf:2: invalid value \"0\" for \"listening-port\"" },
        { "\n\nlistening-port=34x\n",
          "turnd: e.conf:3: invalid value \"34x\" for \"listening-port\"" },
        { "listening-port = -1\n",
          "turnd: e.conf:1: invalid value \"-1\" for \"listening-port\"" },
        { "min-port=99999999999999999999\n",
          "turnd: e.conf:1: invalid value \"99999999999999999999\" for "
          "\"min-port\"" },
        { "listening-ip=1.2.3\n",
          "turnd: e.conf:1: invalid value \"1.2.3\" for \"listening-ip\"" },
        { "relay-ip=example.com\n",
          "turnd: e.conf:1: invalid value \"example.com\" for \"relay-ip\"" },
        { "external-ip=1.2.3.4/::1\n",
          "turnd: e.conf:1: invalid value \"1.2.3.4/::1\" for "
          "\"external-ip\"" },
        { "external-ip=1.2.3.4/\n",
          "turnd: e.conf:1: invalid value \"1.2.3.4/\" for "
          "\"external-ip\"" },
        { "user=turn\n",
          "turnd: e.conf:1: invalid value \"turn\" for \"user\"" },
        { "user=bob:0x1234\n",
          "turnd: e.conf:1: invalid value \"bob:***\" for \"user\"" },
        { "user=bob:#pw\n",
          "turnd: e.conf:1: invalid value \"bob:***\" for \"user\"" },
        { "user=:pass\n",
          "turnd: e.conf:1: invalid value \":***\" for \"user\"" },
        { "stale-nonce=10s\n",
          "turnd: e.conf:1: invalid value \"10s\" for \"stale-nonce\"" },
        { "relay-threads=1e3\n",
          "turnd: e.conf:1: invalid value \"1e3\" for \"relay-threads\"" },
        { "user-quota=ten\n",
          "turnd: e.conf:1: invalid value \"ten\" for \"user-quota\"" },
        { "channel-lifetime=0\n",
          "turnd: e.conf:1: invalid value \"0\" for \"channel-lifetime\"" },
        { "allowed-peer-ip=10.0.0.0/33\n",
          "turnd: e.conf:1: invalid value \"10.0.0.0/33\" for "
          "\"allowed-peer-ip\"" },
        { "denied-peer-ip=nonsense\n",
          "turnd: e.conf:1: invalid value \"nonsense\" for "
          "\"denied-peer-ip\"" },
        { "fingerprint=maybe\n",
          "turnd: e.conf:1: invalid value \"maybe\" for \"fingerprint\"" },
        { "realm=two words\n",
          "turnd: e.conf:1: invalid value \"two words\" for \"realm\"" },
        { "listening-port\n",
          "turnd: e.conf:1: missing value for \"listening-port\"" },
        { "min-port=50000\nmax-port=40000\n",
          "turnd: e.conf:1: invalid value \"50000\" for \"min-port\"" },
        { "max-port=1000\n",
          "turnd: e.conf:1: invalid value \"1000\" for \"max-port\"" },
        { NULL, NULL }
    };

    for (i = 0; bad[i].text != NULL; i++) {
        tap_is_int(parse(&c, bad[i].text, "e.conf", &err), -1,
                   "error %zu refused", i);
        tap_ok(strstr(err, bad[i].want) != NULL,
               "error %zu: \"%s\" (got \"%s\")", i, bad[i].want, err);
        td_conf_free(&c);
    }

    /* a wrong password or secret is never printed */
    tap_is_int(parse(&c, "user=bob:0xdeadbeefSECRET\n", "e.conf", &err), -1,
               "bad key refused");
    tap_ok(strstr(err, "SECRET") == NULL && strstr(err, "dead") == NULL,
           "bad key: the password is not shown (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "static-auth-secret=top SECRET\n", "e.conf", &err),
               -1, "a secret with a blank refused");
    tap_ok(strstr(err, "SECRET") == NULL && strstr(err, "top") == NULL
           && strstr(err, "e.conf:1: invalid value \"***\" for "
                     "\"static-auth-secret\"") != NULL,
           "... and not shown (got \"%s\")", err);
    td_conf_free(&c);

    /* every bad line is reported, not only the first */
    tap_is_int(parse(&c, "min-port=x\nuser=a:b\nmax-port=y\n", "e.conf",
                     &err), -1, "two errors refused");
    tap_ok(strstr(err, "e.conf:1:") != NULL && strstr(err, "e.conf:3:")
           != NULL, "both lines reported");
    td_conf_free(&c);
}


static void
test_warnings(void)
{
    td_conf_t    c;
    const char  *err;

    tap_is_int(parse(&c, "user=a:b\n\nfrobnicate=1\n", "w.conf", &err), 0,
               "unknown key: still parses");
    tap_ok(strstr(err, "turnd: w.conf:3: warning: unknown option "
                  "\"frobnicate\", ignored") != NULL,
           "unknown key: warning with key, file, line (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\ndh-file=/etc/ssl/x.pem\n"
                     "alt-listening-port 3479\nmobility\n", "w.conf", &err),
               0, "coturn-only keys: still parse");
    tap_ok(strstr(err, "turnd: w.conf:2: warning: \"dh-file\" is not "
                  "implemented by turnd, ignored") != NULL
           && strstr(err, "w.conf:3: warning: \"alt-listening-port\"")
              != NULL
           && strstr(err, "w.conf:4: warning: \"mobility\"") != NULL,
           "coturn-only keys: warnings name key, file, line (got \"%s\")",
           err);
    td_conf_free(&c);

    /* TLS and PROXY protocol keys */
    tap_is_int(parse(&c, "user=a:b\ncert=/c.pem\npkey=/k.pem\n"
                     "tls-listening-port 443\ncipher-list=HIGH\n"
                     "no-tlsv1\nno-tlsv1_1\nhandshake-timeout=3\n"
                     "proxy-protocol-from=10.1.2.3/8\n"
                     "proxy-protocol-from=::1\n", "t.conf", &err),
               0, "tls and proxy keys parse");
    tap_ok(c.tls_listening_port == 443 && c.handshake_timeout == 3
           && strcmp(c.cert, "/c.pem") == 0 && strcmp(c.pkey, "/k.pem") == 0
           && strcmp(c.cipher_list, "HIGH") == 0 && c.nproxy_from == 2
           && c.proxy_from[0].prefix == 8 && c.proxy_from[1].prefix == 128
           && ((struct sockaddr_in *) &c.proxy_from[0].sa)->sin_addr.s_addr
              == htonl(0x0a000000) && err[0] == '\0',
           "... with their values, the prefix masked (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\ncert=/c.pem\n", "t.conf", &err), -1,
               "cert without pkey: an error");
    tap_ok(strstr(err, "\"cert\" without \"pkey\"") != NULL,
           "... that says so (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\nproxy-protocol-from=10.0.0.0/33\n",
                     "t.conf", &err), -1, "proxy-protocol-from /33: error");
    tap_ok(strstr(err, "t.conf:2") != NULL
           && strstr(err, "proxy-protocol-from") != NULL,
           "... naming file, line and key (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\nconfig=/x\n", "w.conf", &err), 0,
               "command-line-only key in a file: a warning");
    tap_ok(strstr(err, "w.conf:2: warning: unknown option \"config\"")
           != NULL, "... names it");
    td_conf_free(&c);
}


static void
test_cmdline(void)
{
    char        *path;
    td_conf_t    c;
    const char  *err;

    path = write_file("listening-port=3478\nrealm=tencent\nuser=turn:turn\n"
                      "min-port=20000\nlt-cred-mech\n");

    {
        char  *argv[] = { "turnd", "-c", path, "-p", "3479",
                          "--realm=example.com", "--user", "alice:pw",
                          "-u", "bob:pw2", "--max-port", "30000", "-v",
                          "--stale-nonce", "120", "-X", "1.2.3.4/10.0.0.1",
                          "-L", "::1", "-E", "127.0.0.1", "-af",
                          "-m2", "--no-tcp", "--Verbose=off", NULL };

        tap_is_int(args(&c, argv, &err), 0, "command line: parses");
        tap_ok(err[0] == '\0', "command line: quiet (got \"%s\")", err);
        tap_is_int(c.listening_port, 3479, "-p overrides the file");
        tap_ok(strcmp(c.realm, "example.com") == 0, "--realm= overrides");
        tap_ok(c.nusers == 3 && strcmp(c.users[0], "turn:turn") == 0
               && strcmp(c.users[1], "alice:pw") == 0
               && strcmp(c.users[2], "bob:pw2") == 0,
               "--user and -u add to the file's users");
        tap_ok(c.min_port == 20000 && c.max_port == 30000,
               "file min-port, command line max-port");
        tap_is_int(c.stale_nonce, 120, "--stale-nonce 120");
        tap_ok(c.nexternal_ip == 1 && c.external_ip[0].has_priv
               && is_ip(&c.external_ip[0].priv, "10.0.0.1"), "-X");
        tap_ok(c.nlistening_ip == 1 && is_ip(&c.listening_ip[0], "::1"),
               "-L ::1");
        tap_ok(c.nrelay_ip == 1 && is_ip(&c.relay_ip[0], "127.0.0.1"),
               "-E");
        tap_ok(c.lt_cred_mech && c.fingerprint, "-af bundled");
        tap_is_int(c.threads, 2, "-m2 attached value");
        tap_ok(c.no_tcp, "--no-tcp");
        tap_is_int(c.verbose, 0, "-v then --Verbose=off");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-n", "--stale-nonce", "-V", NULL };

        tap_is_int(args(&c, argv, &err), 0, "-n, bare --stale-nonce");
        tap_ok(c.conf_file == NULL && c.stale_nonce == 600
               && c.verbose == 2, "... no file, 600, -V");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "--stale-nonce=30", "--user=x:y", NULL };

        tap_is_int(args(&c, argv, &err), 0, "--stale-nonce=30");
        tap_is_int(c.stale_nonce, 30, "... 30");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-c", path, "--listening-port", "http",
                          NULL };

        tap_is_int(args(&c, argv, &err), -1, "command line: bad port");
        tap_ok(strstr(err, "turnd: command line: invalid value \"http\" for "
                      "\"listening-port\"") != NULL,
               "command line: error names the command line (got \"%s\")",
               err);
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-c", path, "--min-port=40000",
                          "--max-port", "30000", NULL };

        tap_is_int(args(&c, argv, &err), -1,
                   "command line min-port above max-port");
        tap_ok(strstr(err, "turnd: command line: invalid value \"40000\" "
                      "for \"min-port\"") != NULL,
               "... on the command line (got \"%s\")", err);
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-c", path, "--max-port=10000", NULL };
        char   want[256];

        tap_is_int(args(&c, argv, &err), -1, "min-port > max-port refused");
        snprintf(want, sizeof(want), "turnd: %s:4: invalid value \"20000\" "
                 "for \"min-port\"", path);
        tap_ok(strstr(err, want) != NULL && strstr(err, "command line")
               != NULL, "... names the file's min-port line and the "
               "command line (got \"%s\")", err);
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "--frobnicate", NULL };

        tap_is_int(args(&c, argv, &err), -1, "unknown command line option");
        tap_ok(strstr(err, "turnd: command line: unknown option "
                      "\"--frobnicate\"") != NULL, "... named");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-p", NULL };

        tap_is_int(args(&c, argv, &err), -1, "-p without a value");
        tap_ok(strstr(err, "missing value") != NULL, "... says so");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "stray", NULL };

        tap_is_int(args(&c, argv, &err), -1, "a stray argument");
        td_conf_free(&c);
    }

    {
        char  *argv[] = { "turnd", "-c", "/nonexistent/turnd.conf", NULL };

        tap_is_int(args(&c, argv, &err), -1, "a missing file");
        tap_ok(strstr(err, "/nonexistent/turnd.conf") != NULL,
               "... named");
        td_conf_free(&c);
    }

    unlink(path);

    /* a bad file stops before the command line, with its line */
    path = write_file("user=a:b\nmin-port=abc\n");

    {
        char  *argv[] = { "turnd", "-c", path, NULL };
        char   want[256];

        tap_is_int(args(&c, argv, &err), -1, "bad file refused");
        snprintf(want, sizeof(want), "turnd: %s:2: invalid value \"abc\" "
                 "for \"min-port\"", path);
        tap_ok(strstr(err, want) != NULL, "... with file:line (got \"%s\")",
               err);
        td_conf_free(&c);
    }

    unlink(path);
}


static void
test_help(void)
{
    int        rc, fd, saved;
    FILE      *f;
    char       out[8192];
    size_t     n;
    td_conf_t  c;
    char      *help[] = { "turnd", "--help", NULL };
    char      *version[] = { "turnd", "--version", NULL };

    fflush(stdout);
    f = tmpfile();
    fd = fileno(f);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);

    td_conf_init(&c);
    rc = td_conf_parse_args(&c, 2, help);
    td_conf_free(&c);

    td_conf_init(&c);
    rc = rc * 10 + td_conf_parse_args(&c, 2, version);
    td_conf_free(&c);

    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    rewind(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    fclose(f);

    tap_is_int(rc, 11, "--help and --version return 1");
    tap_ok(strstr(out, "usage: turnd") != NULL, "--help prints usage");
    tap_ok(strstr(out, "turnd 0.") != NULL || strstr(out, "turnd 1.") != NULL,
           "--version prints the version");
}


/*
 * td_log (linked in here too): the line format, one line per event even
 * with a newline in the text, no interleaving between threads, and a
 * reopen (log rotation) while threads write.
 */

static void *
log_writer(void *arg)
{
    int  i;

    for (i = 0; i < 500; i++) {
        td_log(TD_LOG_NOTICE, "thread %ld line %d %s", (long) arg, i,
               "padding padding padding padding padding padding padding");
    }

    return NULL;
}


static size_t
log_check(const char *path, size_t *bad)
{
    FILE    *f;
    char     line[4096];
    size_t   n;
    int      y, mo, d, h, mi, s, ms, pid, len;

    n = 0;
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
        len = 0;

        if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ turnd[%d]: %n", &y,
                   &mo, &d, &h, &mi, &s, &ms, &pid, &len) != 8
            || len == 0 || pid != (int) getpid()
            || line[strlen(line) - 1] != '\n')
        {
            (*bad)++;
        }
    }

    fclose(f);

    return n;
}


static void
test_log(void)
{
    int          fd, saved, found;
    long         i;
    FILE        *f;
    char         path[64], rotated[80], buf[512];
    size_t       n, bad;
    ssize_t      r;
    pthread_t    t[4];
    struct stat  st;

    snprintf(path, sizeof(path), "/tmp/log_test.XXXXXX");
    fd = mkstemp(path);
    close(fd);
    snprintf(rotated, sizeof(rotated), "%s.1", path);

    tap_is_int(td_log_open(path, 0), 0, "log: open a file");

    td_log_level = TD_LOG_NOTICE;
    td_log(TD_LOG_INFO, "not shown at notice level");
    td_log(TD_LOG_WARN, "user \"a\nb\" from %s",
           "a place\r\nwith a newline");

    fd = open(path, O_RDONLY);
    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[r > 0 ? r : 0] = '\0';

    tap_ok(strstr(buf, "not shown") == NULL, "log: levels filter");
    tap_ok(strstr(buf, "Z turnd[") != NULL
           && strstr(buf, "]: warn: user \"a\\x0ab\" from a place\\x0d\\x0a"
                     "with a newline\n") != NULL
           && strchr(buf, '\n') == buf + strlen(buf) - 1,
           "log: one line, control characters escaped (%.*s)",
           (int) strcspn(buf, "\n"), buf);

    /* threads write while the file is rotated and reopened */
    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, log_writer, (void *) i);
    }

    usleep(1000);
    rename(path, rotated);
    tap_is_int(td_log_open(path, 0), 0, "log: reopen after rotation");

    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }

    /* the threads may all finish before the rename: one line after it */
    td_log(TD_LOG_WARN, "after the rotation");

    bad = 0;
    n = log_check(path, &bad) + log_check(rotated, &bad);
    tap_is_int(n, 4 * 500 + 2, "log: every line in one of the two files");
    tap_is_int(bad, 0, "log: every line well-formed, none interleaved");

    f = fopen(path, "r");
    found = 0;

    while (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
        found |= (strstr(buf, "after the rotation") != NULL);
    }

    if (f != NULL) {
        fclose(f);
    }

    tap_ok(stat(path, &st) == 0 && st.st_size > 0 && found,
           "log: the new file is written to");

    /* a long line is cut, still one line */
    unlink(path);
    td_log_open(path, 0);
    td_log(TD_LOG_ERR, "%0*d", 5000, 7);

    bad = 0;
    tap_is_int(log_check(path, &bad), 1, "log: a 5000-byte text stays one "
               "line");
    tap_is_int(bad, 0, "log: ... well-formed");

    fd = open(path, O_RDONLY);
    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    tap_ok(stat(path, &st) == 0 && st.st_size < 4096
           && st.st_size > 2000, "log: ... cut (%ld bytes)",
           (long) st.st_size);

    /* stderr too */
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    fd = open(rotated, O_WRONLY | O_TRUNC);
    dup2(fd, STDERR_FILENO);
    close(fd);
    td_log_close();
    td_log(TD_LOG_NOTICE, "to stderr after close");
    dup2(saved, STDERR_FILENO);
    close(saved);

    bad = 0;
    tap_is_int(log_check(rotated, &bad), 1, "log: stderr after close");
    tap_is_int(bad, 0, "log: ... well-formed");

    {
        char                 a[64];
        struct sockaddr_in   sin;
        struct sockaddr_in6  sin6;

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons(3478);
        inet_pton(AF_INET, "14.3.3.3", &sin.sin_addr);
        tap_ok(strcmp(td_log_addr((struct sockaddr *) &sin, a, sizeof(a)),
                      "14.3.3.3:3478") == 0, "log: IPv4 address");

        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(5);
        inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
        tap_ok(strcmp(td_log_addr((struct sockaddr *) &sin6, a, sizeof(a)),
                      "[2001:db8::1]:5") == 0, "log: IPv6 address");
    }

    unlink(path);
    unlink(rotated);
}


static void
test_daemon_keys(void)
{
    td_conf_t    c;
    const char  *err;
    char        *check[] = { "turnd", "-n", "--check-config", NULL };
    char        *check_t[] = { "turnd", "-t", NULL };

    tap_is_int(parse(&c, "user=a:b\n", "d.conf", &err), 0,
               "daemon defaults: parse");
    tap_ok(!c.prometheus && c.prometheus_port == 9641
           && is_ip(&c.prometheus_ip, "127.0.0.1"),
           "daemon defaults: no metrics; 127.0.0.1:9641 when on");
    tap_ok(c.proc_user == NULL && c.proc_group == NULL && !c.syslog
           && !c.check_config, "daemon defaults: no user, no syslog");
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\nprometheus\nprometheus-port=9100\n"
                     "prometheus-address=::1\nproc-user=root\n"
                     "proc-group=root\nsyslog\nsyslog-facility=local3\n",
                     "d.conf", &err), 0, "daemon keys: parse");
    tap_ok(c.prometheus && c.prometheus_port == 9100
           && is_ip(&c.prometheus_ip, "::1"), "prometheus keys");
    tap_ok(c.proc_user && strcmp(c.proc_user, "root") == 0
           && c.proc_group && strcmp(c.proc_group, "root") == 0,
           "proc-user, proc-group");
    tap_ok(c.syslog && c.syslog_facility == LOG_LOCAL3,
           "syslog, syslog-facility local3");
    tap_ok(strstr(err, "not implemented") == NULL,
           "daemon keys: no \"not implemented\" warning (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(parse(&c, "user=a:b\nlog-file=syslog\n", "d.conf", &err), 0,
               "log-file=syslog: parse");
    tap_ok(c.syslog && c.log_file == NULL, "log-file=syslog is syslog");
    td_conf_free(&c);

    tap_is_int(parse(&c, "proc-user=no-such-user-trtc\n", "d.conf", &err),
               -1, "proc-user of no user: an error");
    tap_ok(strstr(err, "d.conf:1: invalid value \"no-such-user-trtc\" "
                  "for \"proc-user\": no such user") != NULL,
           "proc-user of no user: file, line, why (got \"%s\")", err);
    td_conf_free(&c);

    tap_is_int(args(&c, check, &err), 0, "--check-config: parses");
    tap_ok(c.check_config, "--check-config is set");
    td_conf_free(&c);

    tap_is_int(args(&c, check_t, &err), 0, "-t: parses");
    tap_ok(c.check_config, "-t is --check-config");
    td_conf_free(&c);

    tap_is_int(td_stats_auth_reason(TD_AUTH_CHALLENGE, "no MESSAGE-INTEGRITY"),
               TD_STATS_AUTH_NO_CREDENTIALS, "auth reason: no credentials");
    tap_is_int(td_stats_auth_reason(TD_AUTH_CHALLENGE, "wrong password"),
               TD_STATS_AUTH_WRONG_PASSWORD, "auth reason: wrong password");
    tap_is_int(td_stats_auth_reason(TD_AUTH_CHALLENGE, "unknown user"),
               TD_STATS_AUTH_UNKNOWN_USER, "auth reason: unknown user");
    tap_is_int(td_stats_auth_reason(TD_AUTH_CHALLENGE, "expired credential"),
               TD_STATS_AUTH_EXPIRED, "auth reason: expired");
    tap_is_int(td_stats_auth_reason(TD_AUTH_STALE, "stale nonce"),
               TD_STATS_AUTH_STALE_NONCE, "auth reason: stale nonce");
    tap_is_int(td_stats_auth_reason(TD_AUTH_BAD_REQUEST, "whatever"),
               TD_STATS_AUTH_BAD_REQUEST, "auth reason: 400");
    tap_is_int(td_stats_auth_reason(TD_AUTH_CHALLENGE, "something new"),
               TD_STATS_AUTH_OTHER, "auth reason: anything else");
}


int
main(void)
{
    test_tutorial();
    test_defaults();
    test_every_key(1);
    test_every_key(0);
    test_flags();
    test_errors();
    test_warnings();
    test_cmdline();
    test_help();
    test_log();
    test_daemon_keys();

    return tap_done();
}
