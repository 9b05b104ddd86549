
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * libFuzzer target for turnd's whole packet path, in process: one turnd
 * thread (td_server_init() with relay-threads=1 on 127.0.0.1) whose loop
 * is turned by hand (td_server_poll()), and fake clients and peers on
 * real loopback sockets.  An input is a list of operations:
 *
 *     UDP datagram or TCP bytes from one of the clients, raw;
 *     a STUN request or indication built from the input but signed the
 *     way a real client would (USERNAME, REALM, a valid NONCE for that
 *     client, MESSAGE-INTEGRITY or -SHA256 with the right or a wrong
 *     key), over UDP or TCP, with XOR-PEER-ADDRESSes naming the fake
 *     peers, turnd's own listener or relays, or any address;
 *     ChannelData; a datagram from a peer to an allocation's relay;
 *     opening and closing TCP connections; time passing (timers,
 *     nonces going stale); SIGHUP (the credentials reloaded).
 *
 * So allocations, permissions, channels, quotas, nonces and auth are
 * fuzzed as the state machine they are; after every input the thread
 * drops everything, as at shutdown.  Built by "make fuzz" with ASan and
 * UBSan; crashes and leaks are the findings.
 */


#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <trtc_cred.h>
#include <trtc_stun.h>
#include "td_alloc.h"
#include "td_auth.h"
#include "td_conf.h"
#include "td_log.h"
#include "td_ports.h"
#include "td_server.h"


#define NCLIENTS     4
#define NPEERS       3
#define NTCP         2
#define MAX_OPS      64
#define PUMP_MAX     16


typedef struct {
    const uint8_t  *p;
    size_t          n;
} in_t;


static int fz_setup(void);
static void fz_reset(void);
static void fz_pump(void);
static void fz_drain(void);
static unsigned fz_u8(in_t *in);
static unsigned fz_u16(in_t *in);
static size_t fz_bytes(in_t *in, size_t max, const uint8_t **p);
static void fz_udp(in_t *in);
static void fz_stun(in_t *in);
static void fz_channel(in_t *in);
static void fz_peer(in_t *in);
static void fz_tcp_raw(in_t *in);
static void fz_tcp_open(in_t *in);
static void fz_tcp_close(in_t *in);
static void fz_time(in_t *in);
static void fz_target(in_t *in, struct sockaddr_in *sa);
static void fz_deliver(unsigned who, int tcp, const uint8_t *buf,
    size_t len);


static td_conf_t            fz_conf;
static td_thread_t         *fz_thr;
static struct sockaddr_in   fz_listen;
static int                  fz_cl[NCLIENTS];
static struct sockaddr_in   fz_cl_addr[NCLIENTS];
static int                  fz_peer_fd[NPEERS];
static struct sockaddr_in   fz_peer_addr[NPEERS];
static int                  fz_tcp[NTCP];
static uint8_t              fz_buf[70000];


static const char  *fz_users[] = { "alice", "bob", "carol" };
static const char  *fz_secret = "fuzz-secret";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in_t      in;
    unsigned  op, nops;

    if (fz_thr == NULL && fz_setup() != 0) {
        abort();
    }

    in.p = data;
    in.n = size;

    for (nops = 0; in.n > 0 && nops < MAX_OPS; nops++) {
        op = fz_u8(&in) % 10;

        switch (op) {
        case 0: fz_udp(&in); break;
        case 1: case 2: fz_stun(&in); break;
        case 3: fz_channel(&in); break;
        case 4: fz_peer(&in); break;
        case 5: fz_tcp_raw(&in); break;
        case 6: fz_tcp_open(&in); break;
        case 7: fz_tcp_close(&in); break;
        case 8: fz_time(&in); break;
        default: (void) td_auth_reload(&fz_conf); break;
        }

        fz_pump();
    }

    if (getenv("TURND_FUZZ_STATS") != NULL) {
        /* to see that inputs get far: allocations, relayed packets */
        fprintf(stdout, "allocations %llu challenges %llu refusals %llu "
                "peer in %llu out %llu denied %llu tcp %llu\n",
                (unsigned long long) fz_thr->stats.allocations,
                (unsigned long long) fz_thr->stats.challenges,
                (unsigned long long) fz_thr->stats.refusals,
                (unsigned long long) fz_thr->stats.peer_rx_packets,
                (unsigned long long) fz_thr->stats.peer_tx_packets,
                (unsigned long long) fz_thr->stats.peer_denied,
                (unsigned long long) fz_thr->stats.tcp_accepted);
    }

    fz_reset();

    return 0;
}


static int
fz_bind(int type, struct sockaddr_in *sa)
{
    int        fd;
    socklen_t  len;

    fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*sa);

    if (bind(fd, (struct sockaddr *) sa, len) == -1
        || getsockname(fd, (struct sockaddr *) sa, &len) == -1)
    {
        close(fd);
        return -1;
    }

    return fd;
}


static int
fz_setup(void)
{
    int                  fd, i, base;
    char                 text[1024];
    struct sockaddr_in   sa;

    /* a port free for both protocols: a TCP one probed, then UDP tried */
    fd = fz_bind(SOCK_STREAM, &sa);
    if (fd == -1) {
        return -1;
    }

    close(fd);
    base = 20000 + (int) (getpid() % 20000);

    snprintf(text, sizeof(text),
             "listening-ip=127.0.0.1\n"
             "listening-port=%u\n"
             "relay-ip=127.0.0.1\n"
             "min-port=%d\nmax-port=%d\n"
             "relay-threads=1\n"
             "realm=fuzz\n"
             "lt-cred-mech\n"
             "user=alice:apass\n"
             "user=bob:0x0123456789abcdef0123456789abcdef\n"
             "use-auth-secret\n"
             "static-auth-secret=%s\n"
             "allow-loopback-peers\n"
             "denied-peer-ip=127.0.0.99\n"
             "user-quota=2\ntotal-quota=6\nunauth-rate=2000\n"
             "stale-nonce=30\n"
             "max-allocate-lifetime=120\n"
             "permission-lifetime=60\nchannel-lifetime=90\n"
             "no-stdout-log\n",
             ntohs(sa.sin_port), base, base + 63, fz_secret);

    td_log_level = TD_LOG_ERR;
    (void) td_log_open(NULL, 0);

    td_conf_init(&fz_conf);

    if (td_conf_parse_text(&fz_conf, text, strlen(text), "fuzz.conf") != 0
        || td_conf_check(&fz_conf) != 0
        || td_auth_init(&fz_conf) != 0
        || td_server_init(&fz_conf) != 0)
    {
        return -1;
    }

    fz_listen = sa;

    for (i = 0; i < NCLIENTS; i++) {
        fz_cl[i] = fz_bind(SOCK_DGRAM, &fz_cl_addr[i]);
    }

    for (i = 0; i < NPEERS; i++) {
        fz_peer_fd[i] = fz_bind(SOCK_DGRAM, &fz_peer_addr[i]);
    }

    for (i = 0; i < NTCP; i++) {
        fz_tcp[i] = -1;
    }

    fz_thr = td_server_thread(0);
    fz_thr->wheel.last = fz_thr->now;

    return (fz_thr != NULL) ? 0 : -1;
}


/* everything back as it was: no allocation, no connection, no port held */

static void
fz_reset(void)
{
    int  i;

    for (i = 0; i < NTCP; i++) {
        if (fz_tcp[i] != -1) {
            close(fz_tcp[i]);
            fz_tcp[i] = -1;
        }
    }

    fz_pump();
    td_server_drop_all(fz_thr);

    /* reservations (EVEN-PORT R) live 30 real seconds: start afresh */
    td_ports_cleanup();

    if (td_ports_init(&fz_conf) != 0) {
        abort();
    }

    fz_drain();
}


static void
fz_pump(void)
{
    int  i;

    for (i = 0; i < PUMP_MAX; i++) {
        if (td_server_poll(fz_thr, 0) <= 0) {
            break;
        }
    }

    fz_drain();
}


static void
fz_drain(void)
{
    int  i;

    for (i = 0; i < NCLIENTS; i++) {
        while (recv(fz_cl[i], fz_buf, sizeof(fz_buf), MSG_DONTWAIT) > 0) {
            /* void */
        }
    }

    for (i = 0; i < NPEERS; i++) {
        while (recv(fz_peer_fd[i], fz_buf, sizeof(fz_buf), MSG_DONTWAIT)
               > 0)
        {
            /* void */
        }
    }

    for (i = 0; i < NTCP; i++) {
        while (fz_tcp[i] != -1
               && recv(fz_tcp[i], fz_buf, sizeof(fz_buf), MSG_DONTWAIT) > 0)
        {
            /* void */
        }
    }
}


static unsigned
fz_u8(in_t *in)
{
    unsigned  v;

    if (in->n == 0) {
        return 0;
    }

    v = in->p[0];
    in->p++;
    in->n--;

    return v;
}


static unsigned
fz_u16(in_t *in)
{
    unsigned  hi;

    hi = fz_u8(in);

    return (hi << 8) | fz_u8(in);
}


static size_t
fz_bytes(in_t *in, size_t max, const uint8_t **p)
{
    size_t  n;

    n = fz_u16(in);
    if (n > max) {
        n = max;
    }

    if (n > in->n) {
        n = in->n;
    }

    *p = in->p;
    in->p += n;
    in->n -= n;

    return n;
}


/* from client who (UDP), or over TCP connection who */

static void
fz_deliver(unsigned who, int tcp, const uint8_t *buf, size_t len)
{
    if (tcp) {
        who %= NTCP;

        if (fz_tcp[who] != -1) {
            (void) send(fz_tcp[who], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        }

        return;
    }

    (void) sendto(fz_cl[who % NCLIENTS], buf, len, 0,
                  (struct sockaddr *) &fz_listen, sizeof(fz_listen));
}


static void
fz_udp(in_t *in)
{
    unsigned        who;
    size_t          n;
    const uint8_t  *p;

    who = fz_u8(in);
    n = fz_bytes(in, 1500, &p);

    fz_deliver(who, 0, p, n);
}


static void
fz_tcp_raw(in_t *in)
{
    unsigned        who;
    size_t          n;
    const uint8_t  *p;

    who = fz_u8(in);
    n = fz_bytes(in, 6000, &p);

    fz_deliver(who, 1, p, n);
}


static void
fz_tcp_open(in_t *in)
{
    unsigned  who;

    who = fz_u8(in) % NTCP;

    if (fz_tcp[who] != -1) {
        return;
    }

    fz_tcp[who] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    /* loopback: the handshake is done when connect() returns */
    if (fz_tcp[who] != -1
        && connect(fz_tcp[who], (struct sockaddr *) &fz_listen,
                   sizeof(fz_listen)) == -1)
    {
        close(fz_tcp[who]);
        fz_tcp[who] = -1;
    }
}


static void
fz_tcp_close(in_t *in)
{
    unsigned  who;

    who = fz_u8(in) % NTCP;

    if (fz_tcp[who] != -1) {
        close(fz_tcp[who]);
        fz_tcp[who] = -1;
    }
}


static void
fz_time(in_t *in)
{
    /* up to 4 minutes: permissions, channels, nonces and reservations */
    fz_thr->skew += 1 + fz_u8(in);
}


/* a peer address: a fake peer, turnd itself, a relay of ours, any */

static void
fz_target(in_t *in, struct sockaddr_in *sa)
{
    unsigned     k, i;
    td_alloc_t  *a;
    td_link_t   *l;

    k = fz_u8(in);

    switch (k % 5) {

    case 0:
    case 1:
        *sa = fz_peer_addr[(k / 5) % NPEERS];
        return;

    case 2:
        *sa = fz_listen;
        return;

    case 3:
        memset(sa, 0, sizeof(*sa));
        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa->sin_port = htons((uint16_t) (fz_conf.min_port + k / 5 % 64));

        for (l = fz_thr->alloc_list, i = k / 5; l != NULL && i > 0;
             l = l->next, i--)
        {
            /* void */
        }

        a = (l != NULL) ? td_container(l, td_alloc_t, link) : NULL;

        if (a != NULL && a->relay.ss_family == AF_INET) {
            memcpy(sa, &a->relay, sizeof(*sa));
        }

        return;

    default:
        memset(sa, 0, sizeof(*sa));
        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl((uint32_t) fz_u16(in) << 16
                                    | fz_u16(in));
        sa->sin_port = htons((uint16_t) fz_u16(in));
        return;
    }
}


static const uint16_t  fz_methods[] = {
    TRTC_STUN_BINDING, TRTC_STUN_ALLOCATE, TRTC_STUN_REFRESH,
    TRTC_STUN_SEND, TRTC_STUN_DATA, TRTC_STUN_CREATE_PERMISSION,
    TRTC_STUN_CHANNEL_BIND, 0x00b
};


/*
 * method, class and flags, attributes, then what a client adds:
 * flags 1 credentials, 2 SHA-256, 4 FINGERPRINT, 8 a stale or foreign
 * nonce, 16 a wrong key, 32 TCP, 64 a REST user.
 */

static void
fz_stun(in_t *in)
{
    char                 nonce[TD_NONCE_MAX_LEN], name[64];
    char                 pass[TRTC_CRED_REST_PASS_LEN + 1];
    size_t               n, nlen, ulen;
    uint8_t              key[32], v[8];
    unsigned             who, m, flags, nattrs, i, kind;
    uint16_t             cls, type;
    const char          *user, *pw, *realm;
    const uint8_t       *p;
    socklen_t            slen;
    trtc_stun_builder_t  b;
    struct sockaddr_in   sa, src;
    static uint8_t       out[4096];

    who = fz_u8(in);
    m = fz_u8(in);
    flags = fz_u8(in);

    cls = (m & 0x80) ? TRTC_STUN_INDICATION : TRTC_STUN_REQUEST;
    type = trtc_stun_type(fz_methods[m % 8], cls);

    trtc_stun_build_init(&b, out, sizeof(out), type, NULL);

    nattrs = fz_u8(in) % 9;

    for (i = 0; i < nattrs; i++) {
        kind = fz_u8(in) % 10;

        switch (kind) {

        case 0:
            type = (uint16_t) fz_u16(in);
            n = fz_bytes(in, 64, &p);
            trtc_stun_add_attr(&b, type, p, n);
            break;

        case 1:
        case 2:
            fz_target(in, &sa);
            trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                               (struct sockaddr *) &sa, b.buf + 8);
            break;

        case 3:
            v[0] = 0x40 | (fz_u8(in) & 0x3f);
            v[1] = (uint8_t) fz_u8(in);
            v[2] = 0;
            v[3] = 0;
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_CHANNEL_NUMBER, v, 4);
            break;

        case 4:
            trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME,
                              fz_u8(in) < 32 ? 0 : fz_u16(in));
            break;

        case 5:
            v[0] = (fz_u8(in) < 240) ? 17 : 6;
            v[1] = v[2] = v[3] = 0;
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT, v, 4);
            break;

        case 6:
            n = fz_bytes(in, 1200, &p);
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_DATA, p, n);
            break;

        case 7:
            v[0] = (uint8_t) (fz_u8(in) & 0x80);
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_EVEN_PORT, v, 1);
            break;

        case 8:
            v[0] = (fz_u8(in) & 1) ? 0x02 : 0x01;
            v[1] = v[2] = v[3] = 0;
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
                               v, 4);
            break;

        default:
            for (n = 0; n < 8; n++) {
                v[n] = (uint8_t) fz_u8(in);
            }

            trtc_stun_add_attr(&b, (fz_u8(in) & 1)
                                   ? TRTC_STUN_ATTR_RESERVATION_TOKEN
                                   : TRTC_STUN_ATTR_DONT_FRAGMENT,
                               v, (v[0] & 1) ? 8 : 0);
            break;
        }
    }

    if (flags & 1) {
        if (flags & 64) {
            /* EXPIRY:NAME, some of them expired */
            ulen = (size_t) snprintf(name, sizeof(name), "%lld:%s",
                                     (long long) fz_thr->wall
                                     + (long long) (fz_u8(in)) - 16,
                                     fz_users[who % 3]);
            user = name;
            trtc_cred_rest_password((const uint8_t *) fz_secret,
                                    strlen(fz_secret), user, ulen, pass);
            pw = pass;

        } else {
            user = fz_users[who % 3];
            ulen = strlen(user);
            pw = (who % 3 == 0) ? "apass" : "nope";
        }

        if (flags & 16) {
            pw = "wrong";
        }

        realm = td_auth_realm();

        /* the nonce of the address turnd sees */
        src = fz_cl_addr[who % NCLIENTS];
        slen = sizeof(src);

        if ((flags & 32) && fz_tcp[who % NTCP] != -1) {
            (void) getsockname(fz_tcp[who % NTCP], (struct sockaddr *) &src,
                               &slen);
        }

        nlen = td_auth_nonce((struct sockaddr *) &src,
                             fz_thr->wall - ((flags & 8) ? 100 : 0),
                             nonce, sizeof(nonce));

        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, user, ulen);
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REALM, realm, strlen(realm));
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_NONCE, nonce, nlen);

        if (flags & 2) {
            v[0] = 0;
            v[1] = TRTC_STUN_PASSWORD_SHA256;
            v[2] = v[3] = 0;
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_PASSWORD_ALGORITHMS,
                               td_auth_password_algorithms,
                               TD_AUTH_PASSWORD_ALGORITHMS_LEN);
            trtc_stun_add_attr(&b, TRTC_STUN_ATTR_PASSWORD_ALGORITHM, v, 4);
            trtc_stun_key_sha256(user, ulen, realm, strlen(realm), pw,
                                 strlen(pw), key);
            trtc_stun_add_integrity_sha256(&b, key, 32);

        } else {
            trtc_stun_key_md5(user, ulen, realm, strlen(realm), pw,
                              strlen(pw), key);
            trtc_stun_add_integrity(&b, key, 16);
        }
    }

    if (flags & 4) {
        trtc_stun_add_fingerprint(&b);
    }

    if (b.error == TRTC_STUN_OK) {
        fz_deliver(who, (flags & 32) != 0, b.buf, b.len);
    }
}


static void
fz_channel(in_t *in)
{
    size_t          n;
    unsigned        who, num, tcp;
    const uint8_t  *p;
    static uint8_t  out[1600];

    who = fz_u8(in);
    tcp = who & 0x80;
    num = 0x4000 | (fz_u8(in) & 0x3f) << 8 | fz_u8(in);
    n = fz_bytes(in, 1500, &p);

    out[0] = (uint8_t) (num >> 8);
    out[1] = (uint8_t) num;
    out[2] = (uint8_t) (n >> 8);
    out[3] = (uint8_t) n;
    memcpy(out + 4, p, n);

    /* over TCP padded to 4, sometimes not: a bad stream too */
    while (tcp && (n & 3) && !(num & 1)) {
        out[4 + n++] = 0;
    }

    fz_deliver(who, tcp != 0, out, 4 + n);
}


static void
fz_peer(in_t *in)
{
    size_t               n;
    unsigned             who;
    const uint8_t       *p;
    struct sockaddr_in   sa;

    who = fz_u8(in) % NPEERS;
    fz_target(in, &sa);
    n = fz_bytes(in, 1500, &p);

    (void) sendto(fz_peer_fd[who], p, n, 0, (struct sockaddr *) &sa,
                  sizeof(sa));
}
