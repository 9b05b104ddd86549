
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnload: the load generator of the relay benchmark.  One thread, one
 * epoll loop.  Each allocation has its own client socket (UDP connected to
 * the server, or a TCP connection): the 5-tuple is the allocation.  The
 * peer is an echo socket inside this process, so one clock times the whole
 * round trip client -> server -> peer -> server -> client, and every
 * datagram carries [magic, allocation, step, sequence, send time]: loss,
 * reorder, misrouting and latency are counted per packet.
 *
 * Modes:
 *   relay      set up N allocations (Allocate, 401, Allocate with
 *              MESSAGE-INTEGRITY, CreatePermission, ChannelBind), then a
 *              fixed-rate step (-r) and/or a search for the highest rate
 *              that passes (-S; see tl_step_once()), then Refresh 0.
 *   allocrate  K clients in parallel, each doing full cycles (Allocate,
 *              401, Allocate with integrity, Refresh 0), each cycle from
 *              a new 5-tuple.  Over UDP a client keeps one socket, bound
 *              to the wildcard address, and sends each cycle from the
 *              next address of -C's /16 (IP_PKTINFO; local addresses,
 *              so -C must be in 127.0.0.0/8): a new 5-tuple for
 *              the server without a socket(), bind() and close() for the
 *              generator, and no 5-tuple again for tens of seconds
 *              (coturn 4.6.1 answers 437 to an Allocate from a 5-tuple
 *              it deleted less than a second before).
 *   hold       the server's RSS idle, with N live allocations, and after
 *              they are all deleted.
 *   handshake  with --tls: K clients in parallel, each connecting, doing
 *              a full TLS handshake (no session resumption) and one
 *              Binding request inside it (so the server has finished its
 *              side too), then closing; handshakes per second and the
 *              server's CPU per handshake.
 *   --tls      TLS over TCP (OpenSSL; TURN's TCP framing inside, RFC 8656
 *              3.1), --tls-version 1.2 or 1.3 (default: the highest).
 *   --raw      no TURN: the server is a plain forwarder (udpfwd), the
 *              payload goes bare; setup is one echoed datagram.
 *
 * Rates are round trips per second; one round trip is two datagrams
 * relayed by the server (client to peer, peer to client), and the relayed
 * packets counted are those delivered: received by the peer plus received
 * back by the client.  Each step also reports how busy the server (all
 * its threads), the generator and each of their cores were, so a reader
 * can tell which side ran out, and "noise": core time neither side used
 * (another process, the hypervisor).  Every line of output is
 * "KIND KEY=VALUE ..." for the runner to parse.
 */


#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "trtc_stun.h"


#define TL_BATCH         64
#define TL_EVENTS        512
#define TL_MAX_SIZE      1400
#define TL_MIN_SIZE      32
#define TL_PKT           (TL_MAX_SIZE + 8)
#define TL_REQ_SIZE      512
#define TL_RBUF          16384
#define TL_OBUF          16384
#define TL_MAGIC         0x544c4f44
#define TL_CHANNEL       0x4000
#define TL_HIST          2400
#define TL_MAX_CPUS      64
#define TL_RTO           250000000ULL     /* first UDP retransmission */
#define TL_TRIES         5
#define TL_TCP_TIMEOUT   5000000000ULL
#define TL_NS            1000000000ULL

#define TL_MODE_RELAY      1
#define TL_MODE_ALLOCRATE  2
#define TL_MODE_HOLD       3
#define TL_MODE_HANDSHAKE  4

/* what an allocation is doing */
#define TL_S_IDLE        0
#define TL_S_CONNECT     1      /* TCP connect in progress */
#define TL_S_ALLOC1      2      /* Allocate without credentials */
#define TL_S_ALLOC2      3      /* Allocate with MESSAGE-INTEGRITY */
#define TL_S_PERM        4
#define TL_S_BIND        5
#define TL_S_PING        6      /* raw mode: first datagram echoed */
#define TL_S_READY       7
#define TL_S_REFRESH     8      /* Refresh with LIFETIME 0 */
#define TL_S_DONE        9
#define TL_S_FAILED      10
#define TL_S_TLS         11     /* TLS handshake in progress */
#define TL_S_BINDING     12     /* handshake mode: Binding request */

#define TL_OBJ_ALLOC     1
#define TL_OBJ_ECHO      2

#define TL_MAX_PIDS      4


typedef struct {
    int                  type;
    int                  fd;
} tl_obj_t;


typedef struct {
    tl_obj_t             obj;           /* first: epoll's data.ptr */
    uint32_t             idx;
    int                  state;
    int                  tries;
    uint32_t             events;        /* registered with epoll */
    uint64_t             deadline;      /* of the pending transaction */
    uint64_t             started;       /* of the allocrate cycle */
    uint8_t              tid[TRTC_STUN_TID_LEN];
    uint16_t             req_len;
    uint16_t             nonce_len;
    uint8_t             *req;           /* for retransmission */
    uint8_t              nonce[128];
    uint32_t             seq;           /* next to send in this step */
    uint32_t             max_seq;       /* highest received + 1 */
    uint8_t             *rbuf;          /* TCP input */
    size_t               rlen;
    uint8_t             *obuf;          /* TCP output the kernel refused */
    SSL                 *ssl;           /* --tls */
    size_t               olen;
    size_t               ooff;
    struct in_addr       src;           /* allocrate over UDP: this cycle's */
    unsigned             pktinfo:1;     /* ... sent from src */
} tl_alloc_t;


typedef struct {
    uint64_t             sent;
    uint64_t             peer_rx;
    uint64_t             rx;
    uint64_t             reorder;
    uint64_t             bad;
    uint64_t             stale;
    uint64_t             skipped;       /* due, not sent: generator lag */
    uint64_t             blocked;       /* TCP send buffer full */
    uint64_t             send_errors;
    uint64_t             hist[TL_HIST];
} tl_count_t;


typedef struct {
    uint64_t             t;
    uint64_t             gen_cpu;       /* ns */
    uint64_t             srv_cpu;       /* ns */
    uint64_t             srv_rss;       /* kB */
    uint64_t             rcvbuf_errors;
    uint64_t             gen_drops;
    uint64_t             ksoft_srv;     /* ksoftirqd of each core, ns */
    uint64_t             ksoft_gen;
    unsigned             ncpus;
    uint64_t             cpu_busy[TL_MAX_CPUS];
    uint64_t             cpu_total[TL_MAX_CPUS];
} tl_snap_t;


static uint64_t tl_now(void);
static void tl_fatal(const char *what);
static int tl_parse_addr(const char *s, struct sockaddr_in *sin);
static void tl_on_alarm(int signo);

static void tl_hist_add(uint64_t *hist, uint64_t v);
static double tl_hist_value(unsigned idx);
static double tl_hist_pct(const uint64_t *hist, double pct);
static uint64_t tl_hist_max(const uint64_t *hist);

static void tl_snap(tl_snap_t *s);
static uint64_t tl_srv_cpu(void);
static uint64_t tl_proc_cpu(pid_t pid);
static uint64_t tl_srv_sum(uint64_t (*of)(pid_t pid));
static void tl_find_ksoftirqd(void);
static uint64_t tl_task_cpu(pid_t pid);
static uint64_t tl_srv_rss(void);
static uint64_t tl_proc_rss(pid_t pid);
static uint64_t tl_rcvbuf_errors(void);
static uint64_t tl_gen_drops(void);
static void tl_cpu_stat(tl_snap_t *s);

static int tl_bind_client(int fd);
static int tl_bind_any(int fd);
static void tl_next_src(tl_alloc_t *a);
static ssize_t tl_send_from(tl_alloc_t *a, const uint8_t *p, size_t len);
static int tl_alloc_open(tl_alloc_t *a);
static void tl_alloc_close(tl_alloc_t *a);
static void tl_alloc_start(tl_alloc_t *a);
static void tl_alloc_again(tl_alloc_t *a);
static void tl_alloc_fail(tl_alloc_t *a, unsigned code);
static void tl_alloc_ready(tl_alloc_t *a);
static void tl_set_events(tl_alloc_t *a, uint32_t events);
static void tl_request(tl_alloc_t *a, uint16_t method, int auth);
static int tl_send_bytes(tl_alloc_t *a, const uint8_t *p, size_t len);
static ssize_t tl_io_recv(tl_alloc_t *a, uint8_t *buf, size_t len);
static ssize_t tl_io_send(tl_alloc_t *a, const uint8_t *buf, size_t len);
static ssize_t tl_tls_result(tl_alloc_t *a, int r);
static void tl_tls_init(void);
static void tl_tls_step(tl_alloc_t *a);
static int tl_stream_read(tl_alloc_t *a);
static void tl_on_stun(tl_alloc_t *a, const uint8_t *p, size_t len);
static void tl_on_data(tl_alloc_t *a, const uint8_t *p, size_t len);
static void tl_alloc_read(tl_alloc_t *a);
static void tl_alloc_write(tl_alloc_t *a);
static void tl_echo_read(void);
static void tl_poll(uint64_t timeout);
static void tl_timers(uint64_t now);

static void tl_send_ping(tl_alloc_t *a);
static void tl_send_data(tl_alloc_t *a, unsigned count, uint64_t now);
static int tl_send_batch(tl_alloc_t *a, unsigned count, uint64_t now);
static void tl_fill(uint8_t *p, tl_alloc_t *a, uint32_t seq, uint64_t now);
static void tl_pace(double rate, uint64_t t0, uint64_t *scheduled);

static int tl_setup(unsigned n);
static void tl_release(unsigned n);
static int tl_step(const char *phase, double rate, double duration);
static int tl_step_once(const char *phase, const char *noisy_phase,
    double rate, double duration, int may_retry, double *noise);
static void tl_search(void);
static void tl_window_close(void);
static double tl_window_median(void);
static void tl_allocrate(void);
static double tl_allocrate_once(const char *phase);
static void tl_hold(void);
static void tl_print_errors(void);


/* configuration */
static int                  tl_mode = TL_MODE_RELAY;
static int                  tl_tcp;
static int                  tl_tls;
static int                  tl_tls_version;
static SSL_CTX             *tl_ssl_ctx;
static int                  tl_tls_said;
static int                  tl_raw;
static unsigned             tl_n = 1;
static unsigned             tl_size = 200;
static double               tl_rate;
static double               tl_duration = 2.0;
static double               tl_step_secs = 1.0;
static double               tl_warmup = 0.5;
static uint64_t             tl_tick = 50000;     /* ns between sends */
static int                  tl_do_search;
static double               tl_start_rate = 20000;
static double               tl_rate_cap = 2000000;
static double               tl_factor = 1.5;
static double               tl_precision = 0.06;
static unsigned             tl_conc = 32;
static unsigned             tl_window = 256;
static int                  tl_bare;         /* hold: no permission */
static pid_t                tl_srv_pid;      /* the first of tl_srv_pids */
static pid_t                tl_srv_pids[TL_MAX_PIDS];
static unsigned             tl_nsrv_pids;
static pid_t                tl_ksoft_srv;
static pid_t                tl_ksoft_gen;
static double               tl_noise_max = 0.15;
static int                  tl_retries = 6;     /* noisy steps rerun */
static double               tl_max_p50 = 2000000;    /* ns */
static int                  tl_srv_core = -1;
static int                  tl_gen_core = -1;
static const char          *tl_user = "bench";
static const char          *tl_pass = "benchpw";
static const char          *tl_label = "-";
static struct sockaddr_in   tl_server;
static struct sockaddr_in   tl_peer;
static struct sockaddr_in   tl_client;
static uint64_t             tl_tuple;        /* next client 5-tuple */

/* state */
static int                  tl_epfd;
static tl_obj_t             tl_echo;
static tl_alloc_t          *tl_allocs;
static unsigned             tl_nallocs;
static unsigned             tl_nready;
static unsigned             tl_nfailed;
static unsigned             tl_ndone;
static unsigned             tl_inflight;
static int                  tl_collect_cycles;
static uint64_t             tl_cycles;
static uint64_t             tl_cycle_hist[TL_HIST];
static uint64_t             tl_errors[700];
static uint64_t             tl_timeouts;
static uint64_t             tl_sock_errors;
static uint8_t              tl_realm[256];
static size_t               tl_realm_len;
static uint8_t              tl_key[16];
static int                  tl_have_key;
static uint32_t             tl_step_id;
static tl_count_t           tl_c;

/*
 * The tail latency of each 100 ms window, to report the median window's
 * p99: what a server does to the tail, without the rare stall of the
 * whole machine (another process, the hypervisor) that a single p99 over
 * seconds is made of on a shared host.
 */
#define TL_WINDOW        100000000ULL
#define TL_MAX_WINDOWS   512
static uint64_t             tl_win_hist[TL_HIST];
static uint64_t             tl_win_count;
static double               tl_win_p99[TL_MAX_WINDOWS];
static double               tl_win_p99_time[TL_MAX_WINDOWS];  /* unsorted */
static unsigned             tl_nwin;

/* the last step, for the search's summary */
static const char          *tl_last_limit = "none";
static double               tl_last_srv_busy;
static double               tl_last_gen_busy;
static double               tl_last_core_srv;
static double               tl_last_core_gen;
static uint64_t             tl_page;

/* batches */
static struct mmsghdr       tl_msgs[TL_BATCH];
static struct iovec         tl_iov[TL_BATCH];
static struct sockaddr_in   tl_addrs[TL_BATCH];
static uint8_t              tl_bufs[TL_BATCH][TL_PKT];
static uint8_t              tl_stream[TL_BATCH * TL_PKT];


static const struct option  tl_options[] = {
    { "mode", required_argument, NULL, 'm' },
    { "server", required_argument, NULL, 's' },
    { "peer", required_argument, NULL, 'P' },
    { "client", required_argument, NULL, 'C' },
    { "tcp", no_argument, NULL, 't' },
    { "tls", no_argument, NULL, 'L' },
    { "tls-version", required_argument, NULL, 'V' },
    { "raw", no_argument, NULL, 'x' },
    { "allocs", required_argument, NULL, 'n' },
    { "size", required_argument, NULL, 'z' },
    { "rate", required_argument, NULL, 'r' },
    { "duration", required_argument, NULL, 'd' },
    { "warmup", required_argument, NULL, 'W' },
    { "search", no_argument, NULL, 'S' },
    { "start-rate", required_argument, NULL, 'a' },
    { "rate-cap", required_argument, NULL, 'A' },
    { "concurrency", required_argument, NULL, 'k' },
    { "window", required_argument, NULL, 'w' },
    { "bare", no_argument, NULL, 'b' },
    { "server-pid", required_argument, NULL, 'p' },
    { "server-core", required_argument, NULL, 'c' },
    { "gen-core", required_argument, NULL, 'g' },
    { "user", required_argument, NULL, 'u' },
    { "password", required_argument, NULL, 'U' },
    { "label", required_argument, NULL, 'l' },
    { "timeout", required_argument, NULL, 'T' },
    { "tick", required_argument, NULL, 'K' },
    { "step-duration", required_argument, NULL, 'D' },
    { "noise", required_argument, NULL, 'N' },
    { "max-p50", required_argument, NULL, 'Q' },
    { NULL, 0, NULL, 0 }
};


int
main(int argc, char **argv)
{
    int                  ch, one, timeout, size;
    char                *p;
    unsigned             i;
    struct epoll_event   ev;

    timeout = 300;

    while ((ch = getopt_long(argc, argv, "m:s:P:C:tLV:xn:z:r:d:W:Sa:A:k:w:b"
                             "p:c:g:u:U:l:T:K:D:N:Q:", tl_options, NULL))
           != -1)
    {
        switch (ch) {
        case 'm':
            if (strcmp(optarg, "relay") == 0) {
                tl_mode = TL_MODE_RELAY;

            } else if (strcmp(optarg, "allocrate") == 0) {
                tl_mode = TL_MODE_ALLOCRATE;

            } else if (strcmp(optarg, "hold") == 0) {
                tl_mode = TL_MODE_HOLD;

            } else if (strcmp(optarg, "handshake") == 0) {
                tl_mode = TL_MODE_HANDSHAKE;

            } else {
                fprintf(stderr, "turnload: unknown mode \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 's':
        case 'P':
        case 'C':
            if (tl_parse_addr(optarg, ch == 's' ? &tl_server
                              : ch == 'P' ? &tl_peer : &tl_client) != 0)
            {
                return 2;
            }
            break;
        case 't':
            tl_tcp = 1;
            break;
        case 'L':
            tl_tcp = 1;
            tl_tls = 1;
            break;
        case 'V':
            tl_tls_version = (strcmp(optarg, "1.2") == 0) ? TLS1_2_VERSION
                             : (strcmp(optarg, "1.3") == 0) ? TLS1_3_VERSION
                             : -1;
            if (tl_tls_version == -1) {
                fprintf(stderr, "turnload: --tls-version 1.2 or 1.3\n");
                return 2;
            }
            break;
        case 'x':
            tl_raw = 1;
            break;
        case 'n':
            tl_n = (unsigned) atoi(optarg);
            break;
        case 'z':
            tl_size = (unsigned) atoi(optarg);
            break;
        case 'r':
            tl_rate = atof(optarg);
            break;
        case 'd':
            tl_duration = atof(optarg);
            break;
        case 'W':
            tl_warmup = atof(optarg);
            break;
        case 'S':
            tl_do_search = 1;
            break;
        case 'a':
            tl_start_rate = atof(optarg);
            break;
        case 'A':
            tl_rate_cap = atof(optarg);
            break;
        case 'k':
            tl_conc = (unsigned) atoi(optarg);
            break;
        case 'w':
            tl_window = (unsigned) atoi(optarg);
            break;
        case 'b':
            tl_bare = 1;
            break;
        case 'p':
            /* PID[,PID...]: the server's CPU and RSS are their sum */
            for (p = optarg; *p != '\0' && tl_nsrv_pids < TL_MAX_PIDS; ) {
                tl_srv_pids[tl_nsrv_pids++] = (pid_t) atoi(p);
                p += strcspn(p, ",");
                p += (*p == ',');
            }
            tl_srv_pid = tl_srv_pids[0];
            break;
        case 'c':
            tl_srv_core = atoi(optarg);
            break;
        case 'g':
            tl_gen_core = atoi(optarg);
            break;
        case 'u':
            tl_user = optarg;
            break;
        case 'U':
            tl_pass = optarg;
            break;
        case 'l':
            tl_label = optarg;
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        case 'N':
            tl_noise_max = atof(optarg);
            break;
        case 'Q':
            tl_max_p50 = atof(optarg) * 1e6;
            break;
        case 'D':
            tl_step_secs = atof(optarg);
            break;
        case 'K':
            tl_tick = (uint64_t) (atof(optarg) * 1000);
            break;
        default:
            fprintf(stderr,
                    "usage: turnload -m relay|allocrate|hold|handshake "
                    "-s IP:PORT -P IP:PORT -C IP\n"
                    "  [--tcp] [--tls [--tls-version 1.2|1.3]] [--raw] "
                    "[-n allocs] [-z size] [-r rate] "
                    "[-d sec] [-W sec] [-S]\n"
                    "  [-a start-rate] [-A rate-cap] [-k concurrency] "
                    "[-w window] [--bare]\n"
                    "  [-p server-pid[,pid...]] [-c server-core] [-g gen-core] "
                    "[-u user] [-U pass] [-l label] [-T sec]\n");
            return 2;
        }
    }

    if (tl_server.sin_family == 0 || tl_peer.sin_family == 0
        || tl_client.sin_family == 0)
    {
        fprintf(stderr, "turnload: --server, --peer and --client needed\n");
        return 2;
    }

    if (tl_size < TL_MIN_SIZE || tl_size > TL_MAX_SIZE || tl_n == 0
        || tl_conc == 0 || tl_window == 0 || tl_duration <= 0)
    {
        fprintf(stderr, "turnload: size %u..%u, counts > 0\n",
                TL_MIN_SIZE, TL_MAX_SIZE);
        return 2;
    }

    if (tl_raw && tl_mode != TL_MODE_RELAY) {
        fprintf(stderr, "turnload: --raw is relay mode only\n");
        return 2;
    }

    if (tl_mode == TL_MODE_HANDSHAKE && !tl_tls) {
        fprintf(stderr, "turnload: handshake mode needs --tls\n");
        return 2;
    }

    if (tl_tls) {
        tl_tls_init();
    }

    /* the hard bound of the run, whatever the server does */
    signal(SIGALRM, tl_on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned) timeout);

    tl_page = (uint64_t) sysconf(_SC_PAGESIZE);
    tl_find_ksoftirqd();

    /* runs one after another start far apart in the client tuple space */
    tl_tuple = ((uint64_t) time(NULL) * 7919 + (uint64_t) getpid() * 104729)
               % (4096ULL * 50000);

    tl_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (tl_epfd == -1) {
        tl_fatal("epoll_create1");
    }

    /* the peer: one socket echoing whatever the relays send it */
    tl_echo.type = TL_OBJ_ECHO;
    tl_echo.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
    if (tl_echo.fd == -1) {
        tl_fatal("socket");
    }

    one = 1;
    size = 16 * 1024 * 1024;
    (void) setsockopt(tl_echo.fd, SOL_SOCKET, SO_REUSEADDR, &one,
                      sizeof(one));
    (void) setsockopt(tl_echo.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                      sizeof(size));
    (void) setsockopt(tl_echo.fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
                      sizeof(size));

    if (bind(tl_echo.fd, (struct sockaddr *) &tl_peer, sizeof(tl_peer))
        == -1)
    {
        tl_fatal("bind (peer)");
    }

    ev.events = EPOLLIN;
    ev.data.ptr = &tl_echo;
    if (epoll_ctl(tl_epfd, EPOLL_CTL_ADD, tl_echo.fd, &ev) == -1) {
        tl_fatal("epoll_ctl");
    }

    tl_nallocs = (tl_mode == TL_MODE_ALLOCRATE
                  || tl_mode == TL_MODE_HANDSHAKE) ? tl_conc : tl_n;
    tl_allocs = calloc(tl_nallocs, sizeof(tl_alloc_t));
    if (tl_allocs == NULL) {
        tl_fatal("calloc");
    }

    for (i = 0; i < tl_nallocs; i++) {
        tl_allocs[i].obj.type = TL_OBJ_ALLOC;
        tl_allocs[i].obj.fd = -1;
        tl_allocs[i].idx = i;
    }

    for (i = 0; i < TL_BATCH; i++) {
        tl_iov[i].iov_base = tl_bufs[i];
        tl_msgs[i].msg_hdr.msg_iov = &tl_iov[i];
        tl_msgs[i].msg_hdr.msg_iovlen = 1;
    }

    /* the payload's filler; each datagram only rewrites its header */
    memset(tl_bufs, 0xa5, sizeof(tl_bufs));
    memset(tl_stream, 0xa5, sizeof(tl_stream));

    switch (tl_mode) {

    case TL_MODE_RELAY:
        if (tl_setup(tl_n) != 0) {
            tl_print_errors();
            return 1;
        }

        if (tl_warmup > 0) {
            (void) tl_step("warmup", tl_rate > 0 ? tl_rate : tl_start_rate,
                           tl_warmup);
        }

        if (tl_rate > 0) {
            (void) tl_step("fixed", tl_rate, tl_duration);
        }

        if (tl_do_search) {
            tl_search();
        }

        tl_release(tl_n);
        break;

    case TL_MODE_ALLOCRATE:
    case TL_MODE_HANDSHAKE:
        tl_allocrate();
        break;

    case TL_MODE_HOLD:
        tl_hold();
        break;
    }

    tl_print_errors();

    return 0;
}


static uint64_t
tl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * TL_NS + (uint64_t) ts.tv_nsec;
}


static void
tl_fatal(const char *what)
{
    fprintf(stderr, "turnload: %s: %s\n", what, strerror(errno));
    printf("ERROR label=%s what=%s errno=%d\n", tl_label, what, errno);
    exit(1);
}


static int
tl_parse_addr(const char *s, struct sockaddr_in *sin)
{
    char         ip[64];
    const char  *colon;
    size_t       len;

    colon = strrchr(s, ':');
    len = (colon != NULL) ? (size_t) (colon - s) : strlen(s);

    if (len >= sizeof(ip)) {
        fprintf(stderr, "turnload: bad address \"%s\"\n", s);
        return -1;
    }

    memcpy(ip, s, len);
    ip[len] = '\0';

    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t) (colon != NULL ? atoi(colon + 1) : 0));

    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
        fprintf(stderr, "turnload: bad address \"%s\"\n", s);
        return -1;
    }

    return 0;
}


static void
tl_on_alarm(int signo)
{
    static const char  msg[] = "ERROR what=timeout\n";

    (void) signo;
    (void) write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    _exit(3);
}


/*
 * Latency histogram: exact below 128 ns, then 64 buckets per power of two
 * (1.6% resolution), up to about 2^40 ns.
 */

static void
tl_hist_add(uint64_t *hist, uint64_t v)
{
    unsigned  msb, shift, idx;

    if (v < 128) {
        hist[v]++;
        return;
    }

    msb = 63 - (unsigned) __builtin_clzll(v);
    shift = msb - 6;
    idx = 128 + (shift - 1) * 64 + (unsigned) ((v >> shift) - 64);

    hist[idx < TL_HIST ? idx : TL_HIST - 1]++;
}


static double
tl_hist_value(unsigned idx)
{
    unsigned  shift, mant;

    if (idx < 128) {
        return idx;
    }

    shift = (idx - 128) / 64 + 1;
    mant = (idx - 128) % 64 + 64;

    return (double) ((uint64_t) mant << shift)
           + (double) (1ULL << shift) / 2;
}


static double
tl_hist_pct(const uint64_t *hist, double pct)
{
    unsigned  i;
    uint64_t  total, want, seen;

    total = 0;
    for (i = 0; i < TL_HIST; i++) {
        total += hist[i];
    }

    if (total == 0) {
        return 0;
    }

    want = (uint64_t) ((double) total * pct / 100.0);
    if (want >= total) {
        want = total - 1;
    }

    seen = 0;
    for (i = 0; i < TL_HIST; i++) {
        seen += hist[i];
        if (seen > want) {
            return tl_hist_value(i);
        }
    }

    return tl_hist_value(TL_HIST - 1);
}


static uint64_t
tl_hist_max(const uint64_t *hist)
{
    unsigned  i;

    for (i = TL_HIST; i > 0; i--) {
        if (hist[i - 1] != 0) {
            return (uint64_t) tl_hist_value(i - 1);
        }
    }

    return 0;
}


/* counters read before and after a step */

static void
tl_snap(tl_snap_t *s)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    s->gen_cpu = (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * TL_NS
                 + (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)
                   * 1000;
    s->srv_cpu = tl_srv_cpu();
    s->ksoft_srv = tl_task_cpu(tl_ksoft_srv);
    s->ksoft_gen = tl_task_cpu(tl_ksoft_gen);
    s->srv_rss = tl_srv_rss();
    s->rcvbuf_errors = tl_rcvbuf_errors();
    s->gen_drops = tl_gen_drops();
    tl_cpu_stat(s);
    s->t = tl_now();
}


/*
 * The server's CPU time in ns: sum_exec_runtime of every thread (the
 * first field of schedstat), exact where utime and stime are sampled at
 * the tick.  On loopback this includes the softirq work of delivering
 * what the server sends, the same for every server.  Several pids (a
 * proxy in front of the server): their sum.
 */

static uint64_t
tl_srv_cpu(void)
{
    return tl_srv_sum(tl_proc_cpu);
}


static uint64_t
tl_srv_sum(uint64_t (*of)(pid_t pid))
{
    unsigned  i;
    uint64_t  total;

    total = 0;

    for (i = 0; i < tl_nsrv_pids; i++) {
        total += of(tl_srv_pids[i]);
    }

    return total;
}


static uint64_t
tl_proc_cpu(pid_t pid)
{
    DIR                 *dir;
    FILE                *f;
    char                 path[128];
    uint64_t             total;
    unsigned long long   v;
    struct dirent       *de;

    if (pid <= 0) {
        return 0;
    }

    snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);

    dir = opendir(path);
    if (dir == NULL) {
        return 0;
    }

    total = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%d/task/%.32s/schedstat",
                 (int) pid, de->d_name);

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        if (fscanf(f, "%llu", &v) == 1) {
            total += v;
        }

        fclose(f);
    }

    closedir(dir);

    return total;
}


/*
 * Softirq work a core could not finish inline (the loopback receive path
 * of what was sent from it) runs in its ksoftirqd thread: part of the cost
 * of the process pinned to that core.
 */

static void
tl_find_ksoftirqd(void)
{
    DIR            *dir;
    FILE           *f;
    char            path[64], comm[64], want_srv[32], want_gen[32];
    struct dirent  *de;

    snprintf(want_srv, sizeof(want_srv), "ksoftirqd/%d", tl_srv_core);
    snprintf(want_gen, sizeof(want_gen), "ksoftirqd/%d", tl_gen_core);

    dir = opendir("/proc");
    if (dir == NULL) {
        return;
    }

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%.16s/comm", de->d_name);

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        if (fgets(comm, sizeof(comm), f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';

            if (tl_srv_core >= 0 && strcmp(comm, want_srv) == 0) {
                tl_ksoft_srv = (pid_t) atoi(de->d_name);
            }

            if (tl_gen_core >= 0 && strcmp(comm, want_gen) == 0) {
                tl_ksoft_gen = (pid_t) atoi(de->d_name);
            }
        }

        fclose(f);
    }

    closedir(dir);
}


static uint64_t
tl_task_cpu(pid_t pid)
{
    FILE                *f;
    char                 path[64];
    unsigned long long   v;

    if (pid <= 0) {
        return 0;
    }

    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    if (fscanf(f, "%llu", &v) != 1) {
        v = 0;
    }

    fclose(f);

    return v;
}


static uint64_t
tl_srv_rss(void)
{
    return tl_srv_sum(tl_proc_rss);
}


static uint64_t
tl_proc_rss(pid_t pid)
{
    FILE                *f;
    char                 path[64];
    unsigned long long   pages, rss;

    if (pid <= 0) {
        return 0;
    }

    snprintf(path, sizeof(path), "/proc/%d/statm", (int) pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    rss = 0;
    if (fscanf(f, "%llu %llu", &pages, &rss) != 2) {
        rss = 0;
    }

    fclose(f);

    return rss * tl_page / 1024;
}


/* Udp: RcvbufErrors, the whole machine's UDP receive-queue overflows */

static uint64_t
tl_rcvbuf_errors(void)
{
    int                  col, want;
    FILE                *f;
    char                 line[1024], *p, *tok;
    unsigned long long   v;

    f = fopen("/proc/net/snmp", "r");
    if (f == NULL) {
        return 0;
    }

    want = -1;
    v = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Udp: ", 5) != 0) {
            continue;
        }

        col = 0;
        p = line + 5;

        if (want < 0) {
            while ((tok = strsep(&p, " \n")) != NULL) {
                if (strcmp(tok, "RcvbufErrors") == 0) {
                    want = col;
                    break;
                }

                col++;
            }

            continue;
        }

        while ((tok = strsep(&p, " \n")) != NULL) {
            if (col++ == want) {
                v = strtoull(tok, NULL, 10);
                break;
            }
        }

        break;
    }

    fclose(f);

    return v;
}


/* datagrams our own sockets dropped (their receive queue was full) */

static uint64_t
tl_gen_drops(void)
{
    unsigned   i;
    uint32_t   mem[SK_MEMINFO_VARS];
    uint64_t   total;
    socklen_t  len;

    total = 0;

    len = sizeof(mem);
    if (getsockopt(tl_echo.fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0
        && len > SK_MEMINFO_DROPS * sizeof(uint32_t))
    {
        total += mem[SK_MEMINFO_DROPS];
    }

    if (tl_tcp) {
        return total;
    }

    for (i = 0; i < tl_nallocs; i++) {
        if (tl_allocs[i].obj.fd == -1) {
            continue;
        }

        len = sizeof(mem);
        if (getsockopt(tl_allocs[i].obj.fd, SOL_SOCKET, SO_MEMINFO, mem,
                       &len)
            == 0 && len > SK_MEMINFO_DROPS * sizeof(uint32_t))
        {
            total += mem[SK_MEMINFO_DROPS];
        }
    }

    return total;
}


static void
tl_cpu_stat(tl_snap_t *s)
{
    int                  i, n, cpu;
    FILE                *f;
    char                 line[512];
    unsigned long long   v[8];

    s->ncpus = 0;

    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return;
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
        {
            continue;
        }

        memset(v, 0, sizeof(v));
        n = sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu",
                   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]);
        if (n < 5 || cpu < 0 || cpu >= TL_MAX_CPUS) {
            continue;
        }

        s->cpu_total[cpu] = 0;
        for (i = 0; i < 8; i++) {
            s->cpu_total[cpu] += v[i];
        }

        /* idle and iowait are the only columns that are not busy */
        s->cpu_busy[cpu] = s->cpu_total[cpu] - v[3] - v[4];

        if ((unsigned) cpu + 1 > s->ncpus) {
            s->ncpus = (unsigned) cpu + 1;
        }
    }

    fclose(f);
}


static double
tl_core_busy(const tl_snap_t *a, const tl_snap_t *b, int cpu)
{
    uint64_t  total;

    if (cpu < 0 || (unsigned) cpu >= a->ncpus || (unsigned) cpu >= b->ncpus)
    {
        return -1;
    }

    total = b->cpu_total[cpu] - a->cpu_total[cpu];
    if (total == 0) {
        return -1;
    }

    return (double) (b->cpu_busy[cpu] - a->cpu_busy[cpu]) / (double) total;
}


/* allocations */

/*
 * Every socket gets a client address never used before in this run (and
 * unlikely in the last ones): 4096 addresses from --client up, ports
 * 10000..59999.  A server may keep a deleted allocation's 5-tuple for a
 * while (coturn answers 437 to a new Allocate from it), and real new
 * clients come from new addresses.
 */

static int
tl_bind_client(int fd)
{
    int                  tries;
    uint64_t             k;
    struct sockaddr_in   sin;

    for (tries = 0; tries < 64; tries++) {
        k = tl_tuple++;

        sin = tl_client;
        sin.sin_addr.s_addr = htonl(ntohl(tl_client.sin_addr.s_addr)
                                    + (uint32_t) (k % 4096));
        sin.sin_port = htons((uint16_t) (10000 + (k / 4096) % 50000));

        if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0) {
            return 0;
        }

        if (errno != EADDRINUSE) {
            return -1;
        }
    }

    return -1;
}


/* allocrate over UDP: one port on every local address */

static int
tl_bind_any(int fd)
{
    struct sockaddr_in  sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    sin.sin_port = 0;

    return bind(fd, (struct sockaddr *) &sin, sizeof(sin));
}


/* the next address of -C's /16, never its .0 or .255 */

static void
tl_next_src(tl_alloc_t *a)
{
    uint32_t  base, k;

    base = ntohl(tl_client.sin_addr.s_addr) & 0xffff0000u;

    do {
        k = (uint32_t) (tl_tuple++ % 65536);
    } while ((k & 0xff) == 0 || (k & 0xff) == 0xff);

    a->src.s_addr = htonl(base + k);
}


/* a datagram to the server from this cycle's source address */

static ssize_t
tl_send_from(tl_alloc_t *a, const uint8_t *p, size_t len)
{
    struct iovec        iov;
    struct msghdr       mh;
    struct cmsghdr     *cm;
    struct in_pktinfo   pi;
    uint8_t             ctrl[CMSG_SPACE(sizeof(struct in_pktinfo))];

    iov.iov_base = (void *) p;
    iov.iov_len = len;

    memset(&mh, 0, sizeof(mh));
    memset(ctrl, 0, sizeof(ctrl));
    mh.msg_name = &tl_server;
    mh.msg_namelen = sizeof(tl_server);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof(ctrl);

    memset(&pi, 0, sizeof(pi));
    pi.ipi_spec_dst = a->src;

    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));

    return sendmsg(a->obj.fd, &mh, MSG_DONTWAIT);
}


static int
tl_alloc_open(tl_alloc_t *a)
{
    int  fd, one, size;

    fd = socket(AF_INET, (tl_tcp ? SOCK_STREAM : SOCK_DGRAM)
                         | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        tl_sock_errors++;
        return -1;
    }

    /*
     * Few allocations carry the whole rate each: room for a scheduling
     * hiccup of a few ms, so drops are the server's and not ours.
     */
    size = (tl_n <= 64) ? 4 * 1024 * 1024 : (tl_n <= 1000) ? 1024 * 1024 : 0;
    if (size != 0 && tl_mode == TL_MODE_RELAY) {
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                          sizeof(size));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
                          sizeof(size));
    }

    if (tl_tcp) {
        one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    a->pktinfo = (tl_mode == TL_MODE_ALLOCRATE && !tl_tcp);

    if (a->pktinfo) {
        if (tl_bind_any(fd) != 0) {
            tl_sock_errors++;
            close(fd);
            return -1;
        }

        tl_next_src(a);

    } else if (tl_bind_client(fd) != 0) {
        tl_sock_errors++;
        close(fd);
        return -1;
    }

    if (!a->pktinfo
        && connect(fd, (struct sockaddr *) &tl_server, sizeof(tl_server))
           == -1
        && errno != EINPROGRESS)
    {
        tl_sock_errors++;
        close(fd);
        return -1;
    }

    if (tl_tls) {
        a->ssl = SSL_new(tl_ssl_ctx);
        if (a->ssl == NULL || SSL_set_fd(a->ssl, fd) != 1) {
            tl_fatal("SSL_new");
        }

        SSL_set_connect_state(a->ssl);
        (void) SSL_set_tlsext_host_name(a->ssl, "turn.bench");
    }

    a->obj.fd = fd;
    a->events = 0;
    a->rlen = 0;
    a->olen = 0;
    a->ooff = 0;
    a->nonce_len = 0;
    a->tries = 0;
    a->seq = 0;
    a->max_seq = 0;

    if (a->req == NULL) {
        a->req = malloc(TL_REQ_SIZE);
        if (a->req == NULL) {
            tl_fatal("malloc");
        }
    }

    if (tl_tcp && a->rbuf == NULL) {
        a->rbuf = malloc(TL_RBUF);
        a->obuf = malloc(TL_OBUF);
        if (a->rbuf == NULL || a->obuf == NULL) {
            tl_fatal("malloc");
        }
    }

    tl_set_events(a, tl_tcp ? EPOLLIN | EPOLLOUT : EPOLLIN);

    return 0;
}


static void
tl_alloc_close(tl_alloc_t *a)
{
    /* no close_notify: a client that goes away, as browsers do */
    if (a->ssl != NULL) {
        SSL_free(a->ssl);
        a->ssl = NULL;
    }

    if (a->obj.fd != -1) {
        close(a->obj.fd);
        a->obj.fd = -1;
    }

    a->events = 0;
}


static void
tl_set_events(tl_alloc_t *a, uint32_t events)
{
    struct epoll_event  ev;

    if (a->events == events) {
        return;
    }

    ev.events = events;
    ev.data.ptr = a;

    if (epoll_ctl(tl_epfd, a->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
                  a->obj.fd, &ev)
        == -1)
    {
        tl_fatal("epoll_ctl");
    }

    a->events = events;
}


/* a new allocation on a new socket */

static void
tl_alloc_start(tl_alloc_t *a)
{
    a->started = tl_now();

    if (tl_alloc_open(a) != 0) {
        a->state = TL_S_FAILED;
        tl_nfailed++;
        return;
    }

    tl_inflight++;

    if (tl_tcp) {
        a->state = TL_S_CONNECT;
        a->deadline = a->started + TL_TCP_TIMEOUT;
        return;
    }

    if (tl_raw) {
        tl_send_ping(a);
        return;
    }

    tl_request(a, TRTC_STUN_ALLOCATE, 0);
}


/* the next cycle on the same UDP socket, from a new address */

static void
tl_alloc_again(tl_alloc_t *a)
{
    tl_next_src(a);
    a->started = tl_now();
    a->nonce_len = 0;
    a->tries = 0;
    tl_inflight++;

    tl_request(a, TRTC_STUN_ALLOCATE, 0);
}


static void
tl_alloc_fail(tl_alloc_t *a, unsigned code)
{
    if (code < sizeof(tl_errors) / sizeof(tl_errors[0])) {
        tl_errors[code]++;
    }

    if (a->state != TL_S_DONE && a->state != TL_S_FAILED) {
        tl_inflight--;
        tl_nfailed++;
    }

    a->state = TL_S_FAILED;
    tl_alloc_close(a);
}


static void
tl_alloc_ready(tl_alloc_t *a)
{
    a->state = TL_S_READY;
    tl_inflight--;
    tl_nready++;
}


/*
 * Builds and sends a request; kept for retransmission.  auth adds
 * USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (long-term credentials).
 */

static void
tl_request(tl_alloc_t *a, uint16_t method, int auth)
{
    int                   state;
    uint8_t               proto[4];
    trtc_stun_builder_t   b;

    trtc_stun_build_init(&b, a->req, TL_REQ_SIZE,
                         trtc_stun_type(method, TRTC_STUN_REQUEST), NULL);
    memcpy(a->tid, a->req + 8, TRTC_STUN_TID_LEN);

    switch (method) {

    case TRTC_STUN_ALLOCATE:
        memset(proto, 0, sizeof(proto));
        proto[0] = TRTC_STUN_TRANSPORT_UDP;
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REQUESTED_TRANSPORT, proto, 4);
        state = auth ? TL_S_ALLOC2 : TL_S_ALLOC1;
        break;

    case TRTC_STUN_CREATE_PERMISSION:
        trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                           (struct sockaddr *) &tl_peer, a->tid);
        state = TL_S_PERM;
        break;

    case TRTC_STUN_CHANNEL_BIND:
        trtc_stun_add_u32(&b, TRTC_STUN_ATTR_CHANNEL_NUMBER,
                          (uint32_t) TL_CHANNEL << 16);
        trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS,
                           (struct sockaddr *) &tl_peer, a->tid);
        state = TL_S_BIND;
        break;

    case TRTC_STUN_BINDING:
        state = TL_S_BINDING;
        break;

    default: /* TRTC_STUN_REFRESH */
        trtc_stun_add_u32(&b, TRTC_STUN_ATTR_LIFETIME, 0);
        state = TL_S_REFRESH;
        break;
    }

    if (auth) {
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_USERNAME, tl_user,
                           strlen(tl_user));
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_REALM, tl_realm,
                           tl_realm_len);
        trtc_stun_add_attr(&b, TRTC_STUN_ATTR_NONCE, a->nonce,
                           a->nonce_len);
        trtc_stun_add_integrity(&b, tl_key, sizeof(tl_key));
    }

    if (b.error != TRTC_STUN_OK) {
        tl_alloc_fail(a, 1);
        return;
    }

    if (state != a->state) {
        a->tries = 0;
    }

    a->state = state;
    a->req_len = (uint16_t) b.len;
    a->tries++;
    a->deadline = tl_now() + (tl_tcp ? TL_TCP_TIMEOUT : TL_RTO);

    if (tl_send_bytes(a, a->req, a->req_len) != 0) {
        tl_alloc_fail(a, 2);
    }
}


static int
tl_send_bytes(tl_alloc_t *a, const uint8_t *p, size_t len)
{
    ssize_t  n;

    if (tl_tls && a->olen > 0) {
        n = 0;      /* behind a TLS write to retry: queued after it */

    } else if (tl_tcp) {
        n = tl_io_send(a, p, len);

    } else {
        n = a->pktinfo ? tl_send_from(a, p, len)
                       : send(a->obj.fd, p, len, MSG_DONTWAIT);
    }

    if (n == (ssize_t) len) {
        return 0;
    }

    if (!tl_tcp) {
        /* a lost request: the retransmission timer will resend it */
        return (n == -1 && (errno == EAGAIN || errno == ENOBUFS
                            || errno == ECONNREFUSED)) ? 0 : -1;
    }

    if (n == -1) {
        if (errno != EAGAIN) {
            return -1;
        }

        n = 0;
    }

    if (a->olen + len - (size_t) n > TL_OBUF) {
        return -1;
    }

    memcpy(a->obuf + a->olen, p + n, len - (size_t) n);
    a->olen += len - (size_t) n;
    tl_set_events(a, EPOLLIN | EPOLLOUT);

    return 0;
}


/* a stream's reads and writes, in TLS or not: -1 with errno EAGAIN */

static ssize_t
tl_io_recv(tl_alloc_t *a, uint8_t *buf, size_t len)
{
    if (a->ssl == NULL) {
        return recv(a->obj.fd, buf, len, MSG_DONTWAIT);
    }

    ERR_clear_error();

    return tl_tls_result(a, SSL_read(a->ssl, buf, (int) len));
}


/*
 * A TLS write the kernel did not take whole stays in OpenSSL; the caller
 * keeps the bytes (obuf) and retries with them (partial writes and a
 * moving buffer are allowed by the context's modes).
 */

static ssize_t
tl_io_send(tl_alloc_t *a, const uint8_t *buf, size_t len)
{
    if (a->ssl == NULL) {
        return send(a->obj.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    ERR_clear_error();

    return tl_tls_result(a, SSL_write(a->ssl, buf, (int) len));
}


/* SSL_read()'s or SSL_write()'s result as recv()'s or send()'s */

static ssize_t
tl_tls_result(tl_alloc_t *a, int r)
{
    if (r > 0) {
        return r;
    }

    switch (SSL_get_error(a->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        errno = EIO;
        return -1;
    }
}


/*
 * The client's context: no verification (the benchmark's own cert), no
 * session cache (every handshake is a full one), ALPN "stun.turn" as
 * coturn's clients send it, read-ahead (fewer reads for the generator).
 */

static void
tl_tls_init(void)
{
    static const unsigned char  alpn[] = "\x09stun.turn";

    tl_ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (tl_ssl_ctx == NULL) {
        tl_fatal("SSL_CTX_new");
    }

    SSL_CTX_set_verify(tl_ssl_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(tl_ssl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(tl_ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                                 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(tl_ssl_ctx, 1);

    if (tl_tls_version != 0) {
        (void) SSL_CTX_set_min_proto_version(tl_ssl_ctx, tl_tls_version);
        (void) SSL_CTX_set_max_proto_version(tl_ssl_ctx, tl_tls_version);
    }

    if (SSL_CTX_set_alpn_protos(tl_ssl_ctx, alpn, sizeof(alpn) - 1) != 0) {
        tl_fatal("SSL_CTX_set_alpn_protos");
    }
}


/* the handshake goes on; done, the first request goes out */

static void
tl_tls_step(tl_alloc_t *a)
{
    int  rc;

    ERR_clear_error();
    rc = SSL_do_handshake(a->ssl);

    if (rc == 1) {
        /* what was negotiated, once a run */
        if (!tl_tls_said) {
            tl_tls_said = 1;
            printf("TLS label=%s version=%s cipher=%s\n", tl_label,
                   SSL_get_version(a->ssl), SSL_get_cipher_name(a->ssl));
        }

        tl_set_events(a, EPOLLIN);
        tl_request(a, tl_mode == TL_MODE_HANDSHAKE ? TRTC_STUN_BINDING
                                                   : TRTC_STUN_ALLOCATE, 0);
        return;
    }

    switch (SSL_get_error(a->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        tl_set_events(a, EPOLLIN);
        return;
    case SSL_ERROR_WANT_WRITE:
        tl_set_events(a, EPOLLIN | EPOLLOUT);
        return;
    default:
        tl_alloc_fail(a, 12);
        return;
    }
}


static void
tl_on_stun(tl_alloc_t *a, const uint8_t *p, size_t len)
{
    unsigned                 code;
    size_t                   rlen;
    const uint8_t           *reason;
    trtc_stun_msg_t          msg;
    const trtc_stun_attr_t  *attr;

    if (trtc_stun_parse(&msg, p, len) != TRTC_STUN_OK
        || memcmp(msg.tid, a->tid, TRTC_STUN_TID_LEN) != 0)
    {
        return;   /* a late retransmission's answer, or junk */
    }

    if (msg.cls == TRTC_STUN_ERROR) {
        code = 0;
        attr = trtc_stun_find(&msg, TRTC_STUN_ATTR_ERROR_CODE);
        if (attr != NULL) {
            (void) trtc_stun_attr_error(attr, &code, &reason, &rlen);
        }

        if (code == 401 || code == 438) {
            attr = trtc_stun_find(&msg, TRTC_STUN_ATTR_NONCE);
            if (attr == NULL || attr->len > sizeof(a->nonce)) {
                tl_alloc_fail(a, 3);
                return;
            }

            memcpy(a->nonce, attr->value, attr->len);
            a->nonce_len = attr->len;

            if (!tl_have_key) {
                attr = trtc_stun_find(&msg, TRTC_STUN_ATTR_REALM);
                if (attr == NULL || attr->len > sizeof(tl_realm)) {
                    tl_alloc_fail(a, 4);
                    return;
                }

                memcpy(tl_realm, attr->value, attr->len);
                tl_realm_len = attr->len;
                trtc_stun_key_md5(tl_user, strlen(tl_user),
                                  (char *) tl_realm, tl_realm_len, tl_pass,
                                  strlen(tl_pass), tl_key);
                tl_have_key = 1;
            }

            /* 401 to a first Allocate is the normal path */
            if (code == 401 && a->state != TL_S_ALLOC1) {
                tl_alloc_fail(a, code);
                return;
            }

            if (a->tries >= TL_TRIES) {
                tl_alloc_fail(a, code);
                return;
            }

            tl_errors[code]++;
            tl_request(a, msg.method, 1);
            return;
        }

        tl_alloc_fail(a, code);
        return;
    }

    if (msg.cls != TRTC_STUN_SUCCESS) {
        return;
    }

    switch (a->state) {

    case TL_S_ALLOC2:
        if (tl_mode == TL_MODE_ALLOCRATE) {
            tl_request(a, TRTC_STUN_REFRESH, 1);

        } else if (tl_mode == TL_MODE_HOLD && tl_bare) {
            tl_alloc_ready(a);

        } else {
            tl_request(a, TRTC_STUN_CREATE_PERMISSION, 1);
        }

        break;

    case TL_S_PERM:
        tl_request(a, TRTC_STUN_CHANNEL_BIND, 1);
        break;

    case TL_S_BIND:
        tl_alloc_ready(a);
        break;

    case TL_S_BINDING:
    case TL_S_REFRESH:
        a->state = TL_S_DONE;
        tl_ndone++;
        tl_inflight--;

        if (tl_collect_cycles) {
            tl_cycles++;
            tl_hist_add(tl_cycle_hist, tl_now() - a->started);
        }

        break;

    default:
        break;
    }
}


/* a datagram back from the peer through the server */

static void
tl_on_data(tl_alloc_t *a, const uint8_t *p, size_t len)
{
    uint32_t  h[4];
    uint64_t  ts, now;

    if (!tl_raw || tl_tcp) {
        if (len < 4 || ((uint16_t) (p[0] << 8 | p[1])) != TL_CHANNEL
            || ((size_t) (p[2] << 8 | p[3])) + 4 > len)
        {
            tl_c.bad++;
            return;
        }

        len = (size_t) (p[2] << 8 | p[3]);
        p += 4;
    }

    if (len < TL_MIN_SIZE) {
        tl_c.bad++;
        return;
    }

    memcpy(h, p, sizeof(h));
    memcpy(&ts, p + 16, sizeof(ts));

    if (h[0] != TL_MAGIC || h[1] != a->idx || len != tl_size
        || p[len - 1] != (uint8_t) (h[3] * 7 + h[1]))
    {
        tl_c.bad++;
        return;
    }

    if (a->state == TL_S_PING) {
        if (h[2] == 0) {
            tl_alloc_ready(a);
        }

        return;
    }

    if (h[2] != tl_step_id) {
        tl_c.stale++;
        return;
    }

    now = tl_now();
    tl_c.rx++;
    tl_hist_add(tl_c.hist, now - ts);
    tl_hist_add(tl_win_hist, now - ts);
    tl_win_count++;

    if (h[3] + 1 > a->max_seq) {
        a->max_seq = h[3] + 1;

    } else {
        tl_c.reorder++;
    }
}


static void
tl_alloc_read(tl_alloc_t *a)
{
    int        i, n;
    uint8_t   *p;

    if (!tl_tcp) {
        for (i = 0; i < TL_BATCH; i++) {
            tl_iov[i].iov_len = TL_PKT;
            tl_msgs[i].msg_hdr.msg_name = NULL;
            tl_msgs[i].msg_hdr.msg_namelen = 0;
            tl_msgs[i].msg_hdr.msg_control = NULL;
            tl_msgs[i].msg_hdr.msg_controllen = 0;
            tl_msgs[i].msg_hdr.msg_flags = 0;
        }

        n = recvmmsg(a->obj.fd, tl_msgs, TL_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n == -1 && errno == ECONNREFUSED) {
                tl_sock_errors++;
            }

            return;
        }

        for (i = 0; i < n; i++) {
            p = tl_bufs[i];

            if (tl_raw || (p[0] & 0xc0) == 0x40) {
                tl_on_data(a, p, tl_msgs[i].msg_len);

            } else {
                tl_on_stun(a, p, tl_msgs[i].msg_len);
            }

            if (a->obj.fd == -1) {
                return;
            }
        }

        /* the payload filler must survive for the next sends */
        for (i = 0; i < n; i++) {
            memset(tl_bufs[i], 0xa5, tl_msgs[i].msg_len);
        }

        return;
    }

    if (a->state == TL_S_TLS) {
        tl_tls_step(a);
        return;
    }

    /*
     * TLS: records already read into OpenSSL's buffer (read-ahead) raise
     * no epoll event, so read until the socket is drained.
     */
    while (tl_stream_read(a) && tl_tls) {
        /* void */
    }
}


/* one read of a stream and the frames it completes; 1: read something */

static int
tl_stream_read(tl_alloc_t *a)
{
    long       flen;
    size_t     off;
    ssize_t    r;
    uint8_t   *p;

    r = tl_io_recv(a, a->rbuf + a->rlen, TL_RBUF - a->rlen);

    if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
        if (a->state != TL_S_DONE && a->state != TL_S_FAILED) {
            tl_alloc_fail(a, 5);

        } else {
            tl_alloc_close(a);
        }

        return 0;
    }

    if (r == -1) {
        return 0;
    }

    a->rlen += (size_t) r;
    off = 0;

    while (off < a->rlen) {
        p = a->rbuf + off;

        if ((p[0] & 0xc0) == 0x40) {
            if (a->rlen - off < 4) {
                break;
            }

            /* ChannelData over a stream is padded to 4 (RFC 8656 12.5) */
            flen = 4 + (long) (((size_t) (p[2] << 8 | p[3]) + 3) & ~3u);

        } else {
            flen = trtc_stun_frame_len(p, a->rlen - off);
            if (flen < 0) {
                tl_alloc_fail(a, 6);
                return 0;
            }

            if (flen == 0) {
                break;
            }
        }

        if ((size_t) flen > a->rlen - off) {
            break;
        }

        if ((p[0] & 0xc0) == 0x40) {
            tl_on_data(a, p, (size_t) flen);

        } else {
            tl_on_stun(a, p, (size_t) flen);
        }

        if (a->obj.fd == -1) {
            return 0;
        }

        off += (size_t) flen;
    }

    if (off > 0) {
        memmove(a->rbuf, a->rbuf + off, a->rlen - off);
        a->rlen -= off;
    }

    if (a->rlen == TL_RBUF) {
        tl_alloc_fail(a, 7);
        return 0;
    }

    return 1;
}


static void
tl_alloc_write(tl_alloc_t *a)
{
    int        err;
    ssize_t    n;
    socklen_t  len;

    if (a->state == TL_S_CONNECT) {
        err = 0;
        len = sizeof(err);
        (void) getsockopt(a->obj.fd, SOL_SOCKET, SO_ERROR, &err, &len);

        if (err != 0) {
            errno = err;
            tl_alloc_fail(a, 8);
            return;
        }

        tl_set_events(a, EPOLLIN);

        if (tl_tls) {
            a->state = TL_S_TLS;
            tl_tls_step(a);

        } else if (tl_raw) {
            tl_send_ping(a);

        } else {
            tl_request(a, TRTC_STUN_ALLOCATE, 0);
        }

        return;
    }

    if (a->state == TL_S_TLS) {
        tl_tls_step(a);
        return;
    }

    while (a->ooff < a->olen) {
        n = tl_io_send(a, a->obuf + a->ooff, a->olen - a->ooff);
        if (n <= 0) {
            if (n == -1 && errno == EAGAIN) {
                return;
            }

            tl_alloc_fail(a, 9);
            return;
        }

        a->ooff += (size_t) n;
    }

    a->olen = 0;
    a->ooff = 0;
    tl_set_events(a, EPOLLIN);
}


/* the peer: every datagram goes back where it came from */

static void
tl_echo_read(void)
{
    int             i, n, k, sent;
    uint32_t        h[3];
    struct msghdr  *m;

    for ( ;; ) {
        for (i = 0; i < TL_BATCH; i++) {
            tl_iov[i].iov_len = TL_PKT;
            m = &tl_msgs[i].msg_hdr;
            m->msg_name = &tl_addrs[i];
            m->msg_namelen = sizeof(struct sockaddr_in);
            m->msg_control = NULL;
            m->msg_controllen = 0;
            m->msg_flags = 0;
        }

        n = recvmmsg(tl_echo.fd, tl_msgs, TL_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return;
        }

        for (i = 0; i < n; i++) {
            tl_iov[i].iov_len = tl_msgs[i].msg_len;

            if (tl_msgs[i].msg_len >= TL_MIN_SIZE) {
                memcpy(h, tl_bufs[i], sizeof(h));
                if (h[0] == TL_MAGIC && h[2] == tl_step_id && h[2] != 0) {
                    tl_c.peer_rx++;
                }
            }
        }

        for (k = 0; k < n; k += sent) {
            sent = sendmmsg(tl_echo.fd, &tl_msgs[k], n - k, 0);
            if (sent <= 0) {
                tl_c.send_errors++;
                break;
            }
        }

        for (i = 0; i < n; i++) {
            memset(tl_bufs[i], 0xa5, tl_msgs[i].msg_len);
        }

        if (n < TL_BATCH) {
            return;
        }
    }
}


static void
tl_poll(uint64_t timeout)
{
    int                  i, n;
    tl_obj_t            *obj;
    struct timespec      ts;
    struct epoll_event   events[TL_EVENTS];

    ts.tv_sec = (time_t) (timeout / TL_NS);
    ts.tv_nsec = (long) (timeout % TL_NS);

    n = epoll_pwait2(tl_epfd, events, TL_EVENTS, &ts, NULL);
    if (n == -1) {
        if (errno == EINTR) {
            return;
        }

        tl_fatal("epoll_pwait2");
    }

    for (i = 0; i < n; i++) {
        obj = events[i].data.ptr;

        if (obj->type == TL_OBJ_ECHO) {
            tl_echo_read();
            continue;
        }

        if (obj->fd == -1) {
            continue;   /* closed by an earlier event of this round */
        }

        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            tl_alloc_read((tl_alloc_t *) obj);
        }

        if (obj->fd != -1 && (events[i].events & EPOLLOUT)) {
            tl_alloc_write((tl_alloc_t *) obj);
        }
    }
}


/* retransmissions over UDP, timeouts over TCP */

static void
tl_timers(uint64_t now)
{
    unsigned     i;
    tl_alloc_t  *a;

    for (i = 0; i < tl_nallocs; i++) {
        a = &tl_allocs[i];

        if (a->state == TL_S_IDLE || a->state == TL_S_READY
            || a->state == TL_S_DONE || a->state == TL_S_FAILED
            || a->deadline > now)
        {
            continue;
        }

        if (tl_tcp || a->tries >= TL_TRIES) {
            tl_timeouts++;
            tl_alloc_fail(a, 10);
            continue;
        }

        a->tries++;
        a->deadline = now + (TL_RTO << (a->tries - 1));

        if (a->state == TL_S_PING) {
            tl_fill(tl_bufs[0], a, 0, now);
            (void) send(a->obj.fd, tl_bufs[0], tl_size, MSG_DONTWAIT);
            memset(tl_bufs[0], 0xa5, tl_size);
            continue;
        }

        (void) tl_send_bytes(a, a->req, a->req_len);
    }
}


/* raw mode: the forwarder learns the client from its first datagram */

static void
tl_send_ping(tl_alloc_t *a)
{
    a->state = TL_S_PING;
    a->tries = 1;
    a->deadline = tl_now() + TL_RTO;

    if (!tl_tcp) {
        tl_fill(tl_bufs[0], a, 0, a->deadline);
        (void) send(a->obj.fd, tl_bufs[0], tl_size, MSG_DONTWAIT);
        memset(tl_bufs[0], 0xa5, tl_size);
        return;
    }

    /* over TCP the floor frames the stream as ChannelData, as TURN does */
    tl_bufs[0][0] = TL_CHANNEL >> 8;
    tl_bufs[0][1] = TL_CHANNEL & 0xff;
    tl_bufs[0][2] = (uint8_t) (tl_size >> 8);
    tl_bufs[0][3] = (uint8_t) tl_size;
    tl_fill(tl_bufs[0] + 4, a, 0, a->deadline);
    (void) send(a->obj.fd, tl_bufs[0], 4 + ((tl_size + 3) & ~3u),
                MSG_DONTWAIT | MSG_NOSIGNAL);
    memset(tl_bufs[0], 0xa5, 4 + ((tl_size + 3) & ~3u));
}


/* the payload header: magic, allocation, step, sequence, send time */

static void
tl_fill(uint8_t *p, tl_alloc_t *a, uint32_t seq, uint64_t now)
{
    uint32_t  h[4];

    h[0] = TL_MAGIC;
    h[1] = a->idx;
    h[2] = (a->state == TL_S_PING) ? 0 : tl_step_id;
    h[3] = seq;

    memcpy(p, h, sizeof(h));
    memcpy(p + 16, &now, sizeof(now));
    p[tl_size - 1] = (uint8_t) (seq * 7 + a->idx);
}


static void
tl_send_data(tl_alloc_t *a, unsigned count, uint64_t now)
{
    unsigned  chunk, max;

    if (a->state != TL_S_READY) {
        tl_c.skipped += count;
        return;
    }

    /* over TCP, whatever the kernel refuses must fit in obuf */
    max = tl_tcp ? TL_OBUF / (4 + ((tl_size + 3) & ~3u)) : TL_BATCH;
    if (max > TL_BATCH) {
        max = TL_BATCH;
    }

    while (count > 0 && a->state == TL_S_READY) {
        chunk = (count > max) ? max : count;

        if (tl_send_batch(a, chunk, now) != 0) {
            count -= chunk;
            tl_c.blocked += count;
            return;
        }

        count -= chunk;
    }
}


/* up to TL_BATCH datagrams or frames; -1 if TCP had to stop */

static int
tl_send_batch(tl_alloc_t *a, unsigned count, uint64_t now)
{
    int       n;
    size_t    flen, len;
    ssize_t   w;
    uint8_t  *p;
    unsigned  i, hdr;

    hdr = tl_raw ? 0 : 4;

    if (!tl_tcp) {
        for (i = 0; i < count; i++) {
            p = tl_bufs[i];

            if (hdr) {
                p[0] = TL_CHANNEL >> 8;
                p[1] = TL_CHANNEL & 0xff;
                p[2] = (uint8_t) (tl_size >> 8);
                p[3] = (uint8_t) tl_size;
            }

            tl_fill(p + hdr, a, a->seq + i, now);
            tl_iov[i].iov_len = hdr + tl_size;
            tl_msgs[i].msg_hdr.msg_name = NULL;
            tl_msgs[i].msg_hdr.msg_namelen = 0;
            tl_msgs[i].msg_hdr.msg_control = NULL;
            tl_msgs[i].msg_hdr.msg_controllen = 0;
        }

        n = sendmmsg(a->obj.fd, tl_msgs, count, 0);
        if (n < 0) {
            n = 0;
        }

        if ((unsigned) n < count) {
            tl_c.send_errors += count - (unsigned) n;
        }

        a->seq += (unsigned) n;
        tl_c.sent += (unsigned) n;

        for (i = 0; i < count; i++) {
            memset(tl_bufs[i], 0xa5, hdr + tl_size);
        }

        return 0;
    }

    /* TCP: frames back to back in one send(); a backlog blocks new ones */
    if (a->olen > 0) {
        tl_c.blocked += count;
        return -1;
    }

    flen = 4 + ((tl_size + 3) & ~3u);
    len = 0;

    for (i = 0; i < count; i++) {
        p = tl_stream + len;
        p[0] = TL_CHANNEL >> 8;
        p[1] = TL_CHANNEL & 0xff;
        p[2] = (uint8_t) (tl_size >> 8);
        p[3] = (uint8_t) tl_size;
        tl_fill(p + 4, a, a->seq + i, now);
        len += flen;
    }

    a->seq += count;
    tl_c.sent += count;

    w = tl_io_send(a, tl_stream, len);
    if (w == -1) {
        if (errno != EAGAIN) {
            memset(tl_stream, 0xa5, len);
            tl_c.send_errors += count;
            tl_alloc_fail(a, 11);
            return -1;
        }

        w = 0;
    }

    if ((size_t) w < len) {
        memcpy(a->obuf, tl_stream + w, len - (size_t) w);
        a->olen = len - (size_t) w;
        a->ooff = 0;
        tl_set_events(a, EPOLLIN | EPOLLOUT);
    }

    memset(tl_stream, 0xa5, len);

    return 0;
}


/*
 * Sends what is due at rate (round trips/s) since t0, spread evenly over
 * the ready allocations.  More than 5 ms behind, the generator cannot keep
 * up: the excess is counted as skipped, not sent in a burst.
 */

static void
tl_pace(double rate, uint64_t t0, uint64_t *scheduled)
{
    static unsigned  cursor;

    unsigned  i, k, q, r, n;
    uint64_t  now, due, cap;

    now = tl_now();
    due = (uint64_t) ((double) (now - t0) * rate / 1e9);

    if (due <= *scheduled) {
        return;
    }

    due -= *scheduled;
    *scheduled += due;

    cap = (uint64_t) (rate * 0.005) + TL_BATCH;
    if (due > cap) {
        tl_c.skipped += due - cap;
        due = cap;
    }

    n = tl_n;
    q = (unsigned) (due / n);
    r = (unsigned) (due % n);

    if (q > 0) {
        for (i = 0; i < n; i++) {
            k = q + (((i + n - cursor % n) % n) < r ? 1 : 0);
            tl_send_data(&tl_allocs[i], k, now);
        }

    } else {
        for (i = 0; i < r; i++) {
            tl_send_data(&tl_allocs[(cursor + i) % n], 1, now);
        }
    }

    cursor = (cursor + r) % n;
}


/* phases */

static int
tl_setup(unsigned n)
{
    unsigned   next;
    uint64_t   now, last, t0;

    next = 0;
    last = 0;
    t0 = tl_now();

    while (tl_nready + tl_nfailed < n) {
        while (next < n && tl_inflight < tl_window) {
            tl_alloc_start(&tl_allocs[next++]);
        }

        tl_poll(2000000);

        now = tl_now();
        if (now - last > 10000000) {
            tl_timers(now);
            last = now;
        }
    }

    printf("SETUP label=%s allocs=%u ready=%u failed=%u secs=%.3f\n",
           tl_label, n, tl_nready, tl_nfailed,
           (double) (tl_now() - t0) / 1e9);
    fflush(stdout);

    return (tl_nready == n) ? 0 : -1;
}


/* Refresh 0 for every live allocation, a window at a time */

static void
tl_release(unsigned n)
{
    unsigned     next, want;
    uint64_t     now, last, t0;
    tl_alloc_t  *a;

    if (tl_raw) {
        return;
    }

    t0 = tl_now();
    last = 0;
    next = 0;
    want = 0;
    tl_ndone = 0;
    tl_inflight = 0;

    for ( ;; ) {
        while (next < n && tl_inflight < tl_window) {
            a = &tl_allocs[next++];
            if (a->state != TL_S_READY) {
                continue;
            }

            want++;
            tl_inflight++;
            tl_request(a, TRTC_STUN_REFRESH, 1);
        }

        if (next == n && tl_inflight == 0) {
            break;
        }

        tl_poll(2000000);

        now = tl_now();
        if (now - last > 10000000) {
            tl_timers(now);
            last = now;
        }
    }

    printf("RELEASE label=%s allocs=%u deleted=%u secs=%.3f\n", tl_label,
           want, tl_ndone, (double) (tl_now() - t0) / 1e9);
    fflush(stdout);

    for (next = 0; next < n; next++) {
        tl_alloc_close(&tl_allocs[next]);
    }
}


static void
tl_window_close(void)
{
    if (tl_win_count >= 100 && tl_nwin < TL_MAX_WINDOWS) {
        tl_win_p99[tl_nwin] = tl_hist_pct(tl_win_hist, 99);
        tl_win_p99_time[tl_nwin] = tl_win_p99[tl_nwin];
        tl_nwin++;
    }

    memset(tl_win_hist, 0, sizeof(tl_win_hist));
    tl_win_count = 0;
}


static double
tl_window_median(void)
{
    double    v;
    unsigned  i, j;

    if (tl_nwin == 0) {
        return tl_hist_pct(tl_c.hist, 99);
    }

    for (i = 1; i < tl_nwin; i++) {
        v = tl_win_p99[i];

        for (j = i; j > 0 && tl_win_p99[j - 1] > v; j--) {
            tl_win_p99[j] = tl_win_p99[j - 1];
        }

        tl_win_p99[j] = v;
    }

    return tl_win_p99[tl_nwin / 2];
}


/*
 * One measured step: send at rate for duration, drain, print.  Returns 1
 * if the step passed: loss at most 0.1%, nothing misrouted, at least 98%
 * of the offered rate actually sent, and a median round trip under
 * --max-p50 (2 ms): a relay that keeps up has no standing queue, and over
 * TCP a queue is how overload shows (nothing is lost).  A step during
 * which something else used more than tl_noise_max of a core (another
 * process, or time the hypervisor stole) is printed as "<phase>-noisy"
 * and run again, at most twice, and 6 times in all in one run.
 */

static int
tl_step(const char *phase, double rate, double duration)
{
    int     attempt, pass;
    double  noise;
    char    name[64];

    pass = 0;

    for (attempt = 0; attempt < 3; attempt++) {
        snprintf(name, sizeof(name), "%s-noisy", phase);

        pass = tl_step_once(phase, name, rate, duration,
                            attempt < 2 && tl_retries > 0, &noise);

        if (noise <= tl_noise_max) {
            break;
        }

        /* a bounded run: the noise may last longer than we may wait */
        tl_retries--;

        /* let whatever it was pass */
        tl_poll(1000000000);
    }

    return pass;
}


static int
tl_step_once(const char *phase, const char *noisy_phase, double rate,
    double duration, int may_retry, double *noise)
{
    int          pass, srv_drops, gen_lag, srv_full, gen_full, queue;
    double       p50;
    unsigned     i;
    double       secs, send_secs, loss, pps, cpu_mpkt, gen_busy, srv_busy;
    double       core_srv, core_gen, achieved, gen_mpkt, srv_s, ksoft;
    uint64_t     t0, t_end, deadline, scheduled, relayed, win_end, now;
    tl_snap_t    s0, s1, s2;
    const char  *limit;

    memset(&tl_c, 0, sizeof(tl_c));
    memset(tl_win_hist, 0, sizeof(tl_win_hist));
    tl_win_count = 0;
    tl_nwin = 0;
    tl_step_id++;

    tl_snap(&s0);
    t0 = tl_now();
    t_end = t0 + (uint64_t) (duration * 1e9);
    win_end = t0 + TL_WINDOW;
    scheduled = 0;

    for ( ;; ) {
        tl_pace(rate, t0, &scheduled);

        now = tl_now();
        if (now >= t_end) {
            break;
        }

        if (now >= win_end) {
            tl_window_close();
            win_end += TL_WINDOW;
        }

        /* the next packet is due in 1/rate, but send every tick at most */
        tl_poll((uint64_t) (1e9 / rate) > tl_tick
                ? (uint64_t) (1e9 / rate) : tl_tick);
    }

    tl_snap(&s1);

    /* drain: wait for what is in flight, at most 300 ms */
    deadline = tl_now() + 300000000;
    while (tl_c.rx < tl_c.sent && tl_now() < deadline) {
        tl_poll(1000000);
    }

    tl_snap(&s2);

    send_secs = (double) (s1.t - s0.t) / 1e9;
    secs = (double) (s2.t - s0.t) / 1e9;
    relayed = tl_c.peer_rx + tl_c.rx;
    loss = (tl_c.sent > 0)
           ? (double) (tl_c.sent - (tl_c.rx < tl_c.sent ? tl_c.rx
                                                        : tl_c.sent))
             / (double) tl_c.sent
           : 1;
    pps = (double) relayed / send_secs;
    achieved = (double) tl_c.sent / send_secs;

    /* each side's CPU includes its core's ksoftirqd */
    srv_s = (double) (s2.srv_cpu - s0.srv_cpu + s2.ksoft_srv - s0.ksoft_srv)
            / 1e9;
    cpu_mpkt = relayed ? srv_s / ((double) relayed / 1e6) : 0;
    gen_mpkt = relayed ? (double) (s2.gen_cpu - s0.gen_cpu + s2.ksoft_gen
                                   - s0.ksoft_gen) / 1e9
                         / ((double) relayed / 1e6) : 0;
    srv_busy = (double) (s1.srv_cpu - s0.srv_cpu + s1.ksoft_srv
                         - s0.ksoft_srv) / 1e9 / send_secs;
    gen_busy = (double) (s1.gen_cpu - s0.gen_cpu + s1.ksoft_gen
                         - s0.ksoft_gen) / 1e9 / send_secs;
    ksoft = (double) (s1.ksoft_srv - s0.ksoft_srv + s1.ksoft_gen
                      - s0.ksoft_gen) / 1e9 / send_secs;
    core_srv = tl_core_busy(&s0, &s1, tl_srv_core);
    core_gen = tl_core_busy(&s0, &s1, tl_gen_core);

    /* what the two cores did that was neither side's */
    *noise = 0;
    if (core_srv >= 0 && tl_srv_pid > 0) {
        *noise += (core_srv - srv_busy > 0) ? core_srv - srv_busy : 0;
    }

    if (core_gen >= 0) {
        *noise += (core_gen - gen_busy > 0) ? core_gen - gen_busy : 0;
    }

    p50 = tl_hist_pct(tl_c.hist, 50);
    queue = (p50 > tl_max_p50);
    pass = (loss <= 0.001 && tl_c.bad == 0 && achieved >= 0.98 * rate
            && !queue);

    /*
     * Which side ran out.  The server: it was busy and datagrams were
     * dropped at sockets that are not ours (its receive queues).  The
     * generator: it was busy and could not send on time, or our own
     * sockets overflowed.
     */
    srv_drops = (s2.rcvbuf_errors - s0.rcvbuf_errors
                 > s2.gen_drops - s0.gen_drops);
    gen_lag = (achieved < 0.98 * rate || s2.gen_drops > s0.gen_drops);
    srv_full = (srv_busy >= 0.95 || core_srv >= 0.97);
    gen_full = (gen_busy >= 0.95 || core_gen >= 0.97);

    if (pass) {
        limit = "none";

    } else if (srv_full && (srv_drops || queue || tl_c.blocked > 0)) {
        limit = (gen_full && gen_lag) ? "both" : "server";

    } else if (gen_lag && gen_full) {
        limit = "generator";

    } else if (tl_c.blocked > 0) {
        limit = "server-backpressure";

    } else if (srv_drops || gen_lag || queue) {
        limit = "drops";

    } else {
        limit = "other";
    }

    tl_last_limit = limit;
    tl_last_srv_busy = srv_busy;
    tl_last_gen_busy = gen_busy;
    tl_last_core_srv = core_srv;
    tl_last_core_gen = core_gen;

    printf("STEP label=%s phase=%s rate=%.0f secs=%.3f sent=%llu "
           "offered_rtps=%.0f peer_rx=%llu rx=%llu loss=%.6f reorder=%llu "
           "bad=%llu stale=%llu skipped=%llu blocked=%llu send_errors=%llu "
           "relayed_pps=%.0f srv_cpu_s=%.4f cpu_s_per_mpkt=%.4f "
           "gen_cpu_s_per_mpkt=%.4f srv_busy=%.3f gen_busy=%.3f "
           "ksoftirqd=%.3f core_srv=%.3f core_gen=%.3f noise=%.3f "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
           "p99w_us=%.1f windows=%u "
           "gen_drops=%llu sys_drops=%llu pass=%d limit=%s\n",
           tl_label,
           (may_retry && *noise > tl_noise_max) ? noisy_phase : phase,
           rate, secs, (unsigned long long) tl_c.sent, achieved,
           (unsigned long long) tl_c.peer_rx, (unsigned long long) tl_c.rx,
           loss, (unsigned long long) tl_c.reorder,
           (unsigned long long) tl_c.bad, (unsigned long long) tl_c.stale,
           (unsigned long long) tl_c.skipped,
           (unsigned long long) tl_c.blocked,
           (unsigned long long) tl_c.send_errors, pps, srv_s, cpu_mpkt,
           gen_mpkt, srv_busy, gen_busy, ksoft, core_srv, core_gen, *noise,
           tl_hist_pct(tl_c.hist, 50) / 1e3,
           tl_hist_pct(tl_c.hist, 90) / 1e3,
           tl_hist_pct(tl_c.hist, 99) / 1e3,
           tl_hist_pct(tl_c.hist, 99.9) / 1e3,
           (double) tl_hist_max(tl_c.hist) / 1e3,
           tl_window_median() / 1e3, tl_nwin,
           (unsigned long long) (s2.gen_drops - s0.gen_drops),
           (unsigned long long) (s2.rcvbuf_errors - s0.rcvbuf_errors),
           pass, limit);

    /* the fixed step: every window's p99, to see what the median hides */
    if (strcmp(phase, "fixed") == 0 && tl_nwin > 0) {
        printf("WINDOWS label=%s p99_us=", tl_label);

        for (i = 0; i < tl_nwin; i++) {
            printf("%s%.0f", i ? "," : "", tl_win_p99_time[i] / 1e3);
        }

        printf("\n");
    }

    fflush(stdout);

    /* let the queues empty before the next step */
    deadline = tl_now() + 100000000;
    while (tl_now() < deadline) {
        tl_poll(10000000);
    }

    if (!may_retry) {
        *noise = 0;
    }

    return pass;
}


/*
 * The highest rate under 0.1% loss: up by tl_factor until a step fails,
 * then bisect until the bracket is within tl_precision.
 */

static void
tl_search(void)
{
    int          pass, steps;
    double       rate, lo, hi, best[4], fail[4];
    const char  *limit;

    rate = tl_start_rate;
    lo = 0;
    hi = 0;
    limit = "cap";
    memset(best, 0, sizeof(best));
    memset(fail, 0, sizeof(fail));

    for (steps = 0; steps < 16; steps++) {
        pass = tl_step("search", rate, tl_step_secs);

        /* a loss burst with neither side saturated: a hiccup, once more */
        if (!pass && tl_retries > 0
            && (strcmp(tl_last_limit, "drops") == 0
                || strcmp(tl_last_limit, "other") == 0))
        {
            tl_retries--;
            pass = tl_step("search", rate, tl_step_secs);
            steps++;
        }

        if (pass) {
            lo = rate;
            best[0] = tl_last_srv_busy;
            best[1] = tl_last_gen_busy;
            best[2] = tl_last_core_srv;
            best[3] = tl_last_core_gen;

        } else {
            hi = rate;
            limit = tl_last_limit;
            fail[0] = tl_last_srv_busy;
            fail[1] = tl_last_gen_busy;
            fail[2] = tl_last_core_srv;
            fail[3] = tl_last_core_gen;
        }

        if (hi == 0) {
            if (rate >= tl_rate_cap) {
                break;
            }

            rate *= tl_factor;
            if (rate > tl_rate_cap) {
                rate = tl_rate_cap;
            }

            continue;
        }

        if (hi - lo <= hi * tl_precision) {
            break;
        }

        rate = (lo > 0) ? (lo + hi) / 2 : hi / 2;

        if (rate < 100) {
            break;
        }
    }

    /* limit: what ran out at the lowest failing rate */
    printf("SEARCH label=%s best_rtps=%.0f best_relayed_pps=%.0f "
           "fail_rtps=%.0f steps=%d limit=%s best_srv_busy=%.3f "
           "best_gen_busy=%.3f best_core_srv=%.3f best_core_gen=%.3f "
           "fail_srv_busy=%.3f fail_gen_busy=%.3f fail_core_srv=%.3f "
           "fail_core_gen=%.3f\n", tl_label, lo, lo * 2, hi, steps + 1,
           limit, best[0], best[1], best[2], best[3], fail[0], fail[1],
           fail[2], fail[3]);
    fflush(stdout);
}


/*
 * Full cycles per second, tl_conc clients in parallel; run again (twice
 * at most) when something else used the machine meanwhile.
 */

static void
tl_allocrate(void)
{
    int     attempt;
    double  noise;

    for (attempt = 0; attempt < 3; attempt++) {
        noise = tl_allocrate_once(attempt < 2 ? "allocrate"
                                              : "allocrate-last");
        if (noise <= tl_noise_max) {
            break;
        }

        tl_poll(1000000000);
    }
}


static double
tl_allocrate_once(const char *phase)
{
    double       noise, srv_busy, gen_busy, core_srv, core_gen, secs;
    unsigned     i;
    uint64_t     t0, end, now, last, srv_ns;
    tl_snap_t    s0, s1;
    tl_alloc_t  *a;

    tl_collect_cycles = 1;
    tl_cycles = 0;
    tl_nfailed = 0;
    tl_timeouts = 0;
    tl_inflight = 0;
    memset(tl_cycle_hist, 0, sizeof(tl_cycle_hist));

    tl_snap(&s0);
    t0 = tl_now();
    end = t0 + (uint64_t) (tl_duration * 1e9);
    last = t0;

    for (i = 0; i < tl_conc; i++) {
        tl_alloc_start(&tl_allocs[i]);
    }

    for ( ;; ) {
        tl_poll(2000000);

        now = tl_now();

        for (i = 0; i < tl_conc; i++) {
            a = &tl_allocs[i];

            if (a->state == TL_S_DONE && !tl_tcp && a->obj.fd != -1
                && now < end)
            {
                tl_alloc_again(a);
                continue;
            }

            if (a->state == TL_S_DONE || a->state == TL_S_FAILED) {
                tl_alloc_close(a);

                if (now < end) {
                    tl_alloc_start(a);

                } else {
                    a->state = TL_S_IDLE;
                }
            }
        }

        if (now - last > 10000000) {
            tl_timers(now);
            last = now;
        }

        if (now >= end && tl_inflight == 0) {
            break;
        }

        if (now >= end + 10 * TL_NS) {
            break;
        }
    }

    tl_snap(&s1);

    /* whatever is still pending is abandoned */
    for (i = 0; i < tl_conc; i++) {
        tl_alloc_close(&tl_allocs[i]);
        tl_allocs[i].state = TL_S_IDLE;
    }

    secs = (double) (s1.t - s0.t) / 1e9;
    srv_ns = s1.srv_cpu - s0.srv_cpu + s1.ksoft_srv - s0.ksoft_srv;
    srv_busy = (double) srv_ns / 1e9 / secs;
    gen_busy = (double) (s1.gen_cpu - s0.gen_cpu + s1.ksoft_gen
                         - s0.ksoft_gen) / 1e9 / secs;
    core_srv = tl_core_busy(&s0, &s1, tl_srv_core);
    core_gen = tl_core_busy(&s0, &s1, tl_gen_core);

    noise = 0;
    if (core_srv >= 0 && tl_srv_pid > 0 && core_srv > srv_busy) {
        noise += core_srv - srv_busy;
    }

    if (core_gen >= 0 && core_gen > gen_busy) {
        noise += core_gen - gen_busy;
    }

    printf("%s label=%s phase=%s concurrency=%u secs=%.3f "
           "cycles=%llu cycles_per_s=%.1f failed=%u timeouts=%llu "
           "srv_cpu_s=%.4f srv_cpu_us_per_cycle=%.1f srv_busy=%.3f "
           "gen_busy=%.3f core_srv=%.3f core_gen=%.3f noise=%.3f "
           "cycle_p50_us=%.1f cycle_p99_us=%.1f rss_kb=%llu\n",
           tl_mode == TL_MODE_HANDSHAKE ? "HANDSHAKE" : "ALLOCRATE",
           tl_label,
           (noise > tl_noise_max && strcmp(phase, "allocrate") == 0)
           ? "allocrate-noisy" : "allocrate",
           tl_conc, secs, (unsigned long long) tl_cycles,
           (double) tl_cycles / secs, tl_nfailed,
           (unsigned long long) tl_timeouts, (double) srv_ns / 1e9,
           tl_cycles ? (double) srv_ns / 1e3 / (double) tl_cycles : 0,
           srv_busy, gen_busy, core_srv, core_gen, noise,
           tl_hist_pct(tl_cycle_hist, 50) / 1e3,
           tl_hist_pct(tl_cycle_hist, 99) / 1e3,
           (unsigned long long) s1.srv_rss);
    fflush(stdout);

    return noise;
}


/* the server's RSS: idle, with tl_n live allocations, after deleting them */

static void
tl_hold(void)
{
    uint64_t  idle, live, after;

    idle = tl_srv_rss();

    (void) tl_setup(tl_n);

    /* let the server settle (lazy frees, timers) before reading RSS */
    tl_poll(500000000);
    live = tl_srv_rss();

    tl_release(tl_n);

    tl_poll(1000000000);
    after = tl_srv_rss();

    printf("HOLD label=%s allocs=%u ready=%u idle_rss_kb=%llu "
           "live_rss_kb=%llu after_rss_kb=%llu bytes_per_alloc=%.0f\n",
           tl_label, tl_n, tl_nready, (unsigned long long) idle,
           (unsigned long long) live, (unsigned long long) after,
           tl_nready ? (double) (live - idle) * 1024 / tl_nready : 0);
    fflush(stdout);
}


static void
tl_print_errors(void)
{
    unsigned  i;

    printf("ERRORS label=%s timeouts=%llu sock_errors=%llu",
           tl_label, (unsigned long long) tl_timeouts,
           (unsigned long long) tl_sock_errors);

    for (i = 0; i < sizeof(tl_errors) / sizeof(tl_errors[0]); i++) {
        if (tl_errors[i] != 0) {
            printf(" e%u=%llu", i, (unsigned long long) tl_errors[i]);
        }
    }

    printf("\n");
    fflush(stdout);
}
