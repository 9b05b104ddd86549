/*
 * wsload: the WebSocket load generator of bench/proxy/run.sh.
 *
 *   wsload -m hs|msg -a ADDR:PORT -u PATH [-H HOST] [-c CONC] [-d SECS]
 *          [-w WARM] [-s SIZE] [-T MS] [-P NAME=PID ...]
 *
 * One thread, epoll, non-blocking, plain TCP to the proxy.
 *
 *   -m hs    CONC clients each loop: connect, Upgrade request, read the
 *            101 (its Sec-WebSocket-Accept is checked), close.  Counts
 *            handshakes and their latency (connect to 101).
 *   -m msg   CONC sessions are opened, then each sends one masked binary
 *            frame of SIZE bytes (default 64), waits for its echo (checked
 *            byte for byte), and sends the next.  Counts echoes and their
 *            round trip.
 *
 * Only what completes inside the window is counted: WARM seconds (default
 * 0.5) after the start (msg: after every session is open) for SECS
 * seconds.  A client that waits longer than -T ms (default 5000) counts
 * as a timeout and starts over.  -P NAME=PID (repeatable) reports the CPU
 * that process used over the window, as cpu_NAME= in % of one core, next
 * to the generator's own cpu_gen=.  The whole run is bounded by alarm().
 *
 * Prints one line of name=value pairs on stdout; exits 1 when nothing
 * completed or the sessions could not be opened.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define WL_MAX_CLIENTS   10000
#define WL_MAX_SIZE      4096
#define WL_BUF           8192
#define WL_MAX_PROCS     4
#define WL_SETUP_SECS    10
#define WL_BUCKETS       (1024 + 21 * 512)
#define WL_MAX_CPUS      8

/* RFC 6455's sample key and the answer it must get */
#define WL_KEY           "dGhlIHNhbXBsZSBub25jZQ=="
#define WL_ACCEPT        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

enum {
    WL_IDLE = 0,
    WL_CONNECTING,
    WL_HANDSHAKE,
    WL_OPEN
};


typedef struct {
    int             fd;
    int             state;
    uint64_t        t0;         /* ns: this handshake's or frame's start */
    size_t          sent;
    size_t          got;
    size_t          flen;       /* the frame being sent, with its header */
    unsigned char   buf[WL_BUF];
    unsigned char   frame[WL_MAX_SIZE + 8];
    unsigned char   payload[WL_MAX_SIZE];
} wl_client_t;


typedef struct {
    const char     *name;
    int             pid;
    long            ticks;
} wl_proc_t;


static void wl_usage(void);
static uint64_t wl_now(void);
static void wl_start(wl_client_t *c);
static void wl_event(wl_client_t *c);
static int wl_write(wl_client_t *c, const unsigned char *p, size_t len);
static int wl_read(wl_client_t *c, size_t need);
static int wl_response(wl_client_t *c);
static int wl_echo(wl_client_t *c);
static void wl_frame(wl_client_t *c);
static void wl_fail(wl_client_t *c, const char *why, int err);
static void wl_done(wl_client_t *c, uint64_t now);
static void wl_close(wl_client_t *c);
static long wl_ticks(int pid);
static double wl_cpu_self(void);
static int wl_cores(unsigned long long *busy, unsigned long long *sirq,
    unsigned long long *total);
static int wl_bucket(uint64_t us);
static uint64_t wl_bucket_value(int b);
static uint64_t wl_percentile(double q);
static void wl_on_alarm(int signo);


static int                  wl_ep;
static int                  wl_mode_msg;
static int                  wl_stopping;
static int                  wl_in_window;
static size_t               wl_size = 64;
static size_t               wl_req_len;
static uint32_t             wl_rand = 2463534242u;
static uint64_t             wl_timeout = 5000000000ull;
static unsigned long        wl_count;
static unsigned long        wl_errors;
static unsigned long        wl_timeouts;
static unsigned long        wl_opened;
static unsigned long        wl_nopen;
static unsigned long        wl_hist[WL_BUCKETS];
static char                 wl_req[1024];
static struct sockaddr_in   wl_addr;


int
main(int argc, char **argv)
{
    int                  i, n, opt, conc, nprocs, ncores;
    char                *p, *colon;
    const char          *mode, *target, *path, *host;
    double               secs, warm, span, cpu0, cpu1, ticks;
    uint64_t             now, start, t0, t1, deadline, last_scan;
    wl_proc_t            procs[WL_MAX_PROCS];
    unsigned long long   busy0[WL_MAX_CPUS], sirq0[WL_MAX_CPUS];
    unsigned long long   busy1[WL_MAX_CPUS], sirq1[WL_MAX_CPUS];
    unsigned long long   total0[WL_MAX_CPUS], total1[WL_MAX_CPUS];
    wl_client_t         *clients, *c;
    struct epoll_event   evs[512];

    mode = "hs";
    target = NULL;
    path = "/";
    host = "bench.test";
    conc = 50;
    secs = 3;
    warm = 0.5;
    nprocs = 0;

    while ((opt = getopt(argc, argv, "m:a:u:H:c:d:w:s:T:P:")) != -1) {
        switch (opt) {
        case 'm':
            mode = optarg;
            break;
        case 'a':
            target = optarg;
            break;
        case 'u':
            path = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'c':
            conc = atoi(optarg);
            break;
        case 'd':
            secs = atof(optarg);
            break;
        case 'w':
            warm = atof(optarg);
            break;
        case 's':
            wl_size = (size_t) atol(optarg);
            break;
        case 'T':
            wl_timeout = (uint64_t) atol(optarg) * 1000000;
            break;
        case 'P':
            p = strchr(optarg, '=');
            if (p == NULL || nprocs == WL_MAX_PROCS) {
                wl_usage();
            }

            *p = '\0';
            procs[nprocs].name = optarg;
            procs[nprocs].pid = atoi(p + 1);
            nprocs++;
            break;
        default:
            wl_usage();
        }
    }

    if (strcmp(mode, "msg") == 0) {
        wl_mode_msg = 1;

    } else if (strcmp(mode, "hs") != 0) {
        wl_usage();
    }

    if (target == NULL || conc < 1 || conc > WL_MAX_CLIENTS
        || secs <= 0 || secs > 600 || warm < 0 || warm > 60
        || wl_size < 1 || wl_size > WL_MAX_SIZE || wl_timeout == 0)
    {
        wl_usage();
    }

    colon = strrchr(target, ':');
    if (colon == NULL) {
        wl_usage();
    }

    *colon = '\0';
    memset(&wl_addr, 0, sizeof(wl_addr));
    wl_addr.sin_family = AF_INET;
    wl_addr.sin_port = htons((uint16_t) atoi(colon + 1));

    if (inet_pton(AF_INET, target, &wl_addr.sin_addr) != 1
        || wl_addr.sin_port == 0)
    {
        wl_usage();
    }

    n = snprintf(wl_req, sizeof(wl_req),
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " WL_KEY "\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n", path, host);
    if (n < 0 || (size_t) n >= sizeof(wl_req)) {
        wl_usage();
    }

    wl_req_len = (size_t) n;

    /* a hard bound on the whole run, whatever the peers do */
    signal(SIGALRM, wl_on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned) (WL_SETUP_SECS + warm + secs + 10));

    wl_ep = epoll_create1(EPOLL_CLOEXEC);
    if (wl_ep == -1) {
        perror("wsload: epoll_create1");
        return 1;
    }

    clients = calloc(conc, sizeof(wl_client_t));
    if (clients == NULL) {
        perror("wsload: calloc");
        return 1;
    }

    start = wl_now();
    now = start;

    for (i = 0; i < conc; i++) {
        clients[i].fd = -1;
        wl_start(&clients[i]);
    }

    t0 = 0;
    t1 = 0;
    cpu0 = 0;
    ncores = 0;
    last_scan = start;
    deadline = start + (uint64_t) ((warm + WL_SETUP_SECS) * 1e9);

    if (!wl_mode_msg) {
        deadline = start + (uint64_t) (warm * 1e9);
    }

    for ( ;; ) {
        n = epoll_wait(wl_ep, evs, 512, 10);
        if (n == -1 && errno != EINTR) {
            perror("wsload: epoll_wait");
            wl_count = 0;
            break;
        }

        for (i = 0; i < n; i++) {
            wl_event(evs[i].data.ptr);
        }

        now = wl_now();

        if (!wl_in_window) {
            if (wl_mode_msg && t0 == 0) {
                if (wl_nopen == (unsigned long) conc) {
                    /* all open: the warm-up starts now */
                    t0 = now + (uint64_t) (warm * 1e9);

                } else if (now >= deadline) {
                    fprintf(stderr, "wsload: only %lu of %d sessions open "
                            "after %d s\n", wl_nopen, conc, WL_SETUP_SECS);
                    wl_count = 0;
                    break;
                }

            } else if (now >= (wl_mode_msg ? t0 : deadline)) {
                for (i = 0; i < nprocs; i++) {
                    procs[i].ticks = wl_ticks(procs[i].pid);
                }

                cpu0 = wl_cpu_self();
                ncores = wl_cores(busy0, sirq0, total0);
                t0 = now;
                t1 = now + (uint64_t) (secs * 1e9);
                wl_in_window = 1;
            }

        } else if (now >= t1) {
            break;
        }

        /*
         * clients stuck longer than the timeout start over, and so do
         * failed ones, 100 ms after their failure
         */
        if (now - last_scan > 100000000) {
            last_scan = now;

            for (i = 0; i < conc; i++) {
                c = &clients[i];

                if (c->state == WL_IDLE) {
                    if (now - c->t0 > 100000000) {
                        wl_start(c);
                    }

                } else if (now - c->t0 > wl_timeout) {
                    wl_timeouts++;

                    if (wl_mode_msg && c->state == WL_OPEN) {
                        wl_nopen--;
                    }

                    wl_close(c);
                    wl_start(c);
                }
            }
        }
    }

    if (!wl_in_window) {
        /* setup failed: said why above */
        wl_stopping = 1;

        for (i = 0; i < conc; i++) {
            wl_close(&clients[i]);
        }

        free(clients);
        return 1;
    }

    cpu1 = wl_cpu_self();
    span = (now - t0) / 1e9;

    printf("mode=%s path=%s conc=%d size=%zu secs=%.3f done=%lu rate=%.1f "
           "errors=%lu timeouts=%lu p50_us=%llu p99_us=%llu cpu_gen=%.1f",
           mode, path, conc, wl_mode_msg ? wl_size : 0, span, wl_count,
           wl_count / span, wl_errors, wl_timeouts,
           (unsigned long long) wl_percentile(0.50),
           (unsigned long long) wl_percentile(0.99),
           100.0 * (cpu1 - cpu0) / span);

    for (i = 0; i < nprocs; i++) {
        printf(" cpu_%s=%.1f", procs[i].name,
               100.0 * (wl_ticks(procs[i].pid) - procs[i].ticks)
               / sysconf(_SC_CLK_TCK) / span);
    }

    /*
     * the cores' busy time, whoever used it (the machine may be shared),
     * and the part of it in softirq (loopback TCP, mostly ours)
     */
    if (wl_cores(busy1, sirq1, total1) == ncores) {
        for (i = 0; i < ncores; i++) {
            ticks = total1[i] == total0[i] ? 1 : total1[i] - total0[i];
            printf(" busy_cpu%d=%.1f sirq_cpu%d=%.1f",
                   i, 100.0 * (busy1[i] - busy0[i]) / ticks,
                   i, 100.0 * (sirq1[i] - sirq0[i]) / ticks);
        }
    }

    printf(" opened=%lu\n", wl_opened);

    wl_stopping = 1;

    for (i = 0; i < conc; i++) {
        wl_close(&clients[i]);
    }

    free(clients);

    return wl_count == 0;
}


static void
wl_usage(void)
{
    fprintf(stderr, "usage: wsload -m hs|msg -a ADDR:PORT -u PATH [-H HOST] "
            "[-c CONC] [-d SECS] [-w WARM] [-s SIZE] [-T MS] "
            "[-P NAME=PID ...]\n");
    exit(2);
}


static uint64_t
wl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000ull + ts.tv_nsec;
}


static void
wl_start(wl_client_t *c)
{
    int                  fd, on;
    struct epoll_event   ev;

    c->t0 = wl_now();
    c->sent = 0;
    c->got = 0;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        c->state = WL_IDLE;
        wl_fail(c, "socket", errno);
        return;
    }

    /* one small frame at a time: no Nagle delay */
    on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

    c->fd = fd;
    c->state = WL_CONNECTING;
    wl_opened++;

    if (connect(fd, (struct sockaddr *) &wl_addr, sizeof(wl_addr)) == -1
        && errno != EINPROGRESS)
    {
        wl_fail(c, "connect", errno);
        return;
    }

    /* added after connect(): an unconnected socket polls as writable */
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;

    if (epoll_ctl(wl_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        wl_fail(c, "epoll_ctl", errno);
    }
}


static void
wl_event(wl_client_t *c)
{
    int        err;
    socklen_t  len;

    if (c->state == WL_CONNECTING) {
        err = 0;
        len = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }

        if (err == EINPROGRESS) {
            return;
        }

        if (err != 0) {
            wl_fail(c, "connect", err);
            return;
        }

        c->state = WL_HANDSHAKE;
    }

    if (c->state == WL_HANDSHAKE) {
        if (c->sent < wl_req_len) {
            if (wl_write(c, (unsigned char *) wl_req, wl_req_len) == -1) {
                return;
            }
        }

        if (wl_response(c) != 1) {
            return;
        }

        if (!wl_mode_msg) {
            wl_done(c, wl_now());
            wl_close(c);
            wl_start(c);
            return;
        }

        wl_nopen++;
        c->state = WL_OPEN;
        wl_frame(c);
    }

    /* one frame in flight: write it, read its echo, send the next */

    while (c->state == WL_OPEN) {
        if (c->sent < c->flen
            && wl_write(c, c->frame, c->flen) == -1)
        {
            return;
        }

        if (wl_echo(c) != 1) {
            return;
        }

        wl_done(c, wl_now());
        wl_frame(c);
    }
}


/* 0: written or would block, -1: failed (and the client started over) */

static int
wl_write(wl_client_t *c, const unsigned char *p, size_t len)
{
    ssize_t  n;

    while (c->sent < len) {
        n = write(c->fd, p + c->sent, len - c->sent);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }

            wl_fail(c, "write", errno);
            return -1;
        }

        c->sent += n;
    }

    return 0;
}


/* reads until EAGAIN: 1 when buf holds N bytes, 0 to wait, -1 failed */

static int
wl_read(wl_client_t *c, size_t need)
{
    ssize_t  n;

    while (c->got < need) {
        n = read(c->fd, c->buf + c->got, need - c->got);
        if (n > 0) {
            c->got += n;
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        }

        wl_fail(c, n == 0 ? "closed by the proxy" : "read",
                n == 0 ? 0 : errno);
        return -1;
    }

    return 1;
}


/* the 101: 1 when it is complete and right, 0 to wait, -1 failed */

static int
wl_response(wl_client_t *c)
{
    ssize_t         n;
    unsigned char  *end;

    for ( ;; ) {
        end = memmem(c->buf, c->got, "\r\n\r\n", 4);
        if (end != NULL) {
            break;
        }

        if (c->got == WL_BUF) {
            wl_fail(c, "response head too long", 0);
            return -1;
        }

        n = read(c->fd, c->buf + c->got, WL_BUF - c->got);
        if (n > 0) {
            c->got += n;
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        }

        wl_fail(c, n == 0 ? "closed before the response" : "read",
                n == 0 ? 0 : errno);
        return -1;
    }

    if (c->got < 13 || memcmp(c->buf, "HTTP/1.1 101 ", 13) != 0) {
        wl_fail(c, "not a 101", 0);
        return -1;
    }

    if (memmem(c->buf, end + 2 - c->buf, WL_ACCEPT "\r\n",
               sizeof(WL_ACCEPT) + 1)
        == NULL)
    {
        wl_fail(c, "wrong Sec-WebSocket-Accept", 0);
        return -1;
    }

    /* the echo server speaks only when spoken to */
    if ((size_t) (end + 4 - c->buf) != c->got) {
        wl_fail(c, "data after the 101", 0);
        return -1;
    }

    return 1;
}


/* the echo of the frame in flight: 1 when complete and right */

static int
wl_echo(wl_client_t *c)
{
    int     rc;
    size_t  hlen;

    hlen = wl_size < 126 ? 2 : 4;

    rc = wl_read(c, hlen + wl_size);
    if (rc != 1) {
        return rc;
    }

    if (c->buf[0] != 0x82
        || (wl_size < 126 && c->buf[1] != wl_size)
        || (wl_size >= 126
            && (c->buf[1] != 126
                || (((size_t) c->buf[2] << 8) | c->buf[3]) != wl_size)))
    {
        wl_fail(c, "wrong echo frame header", 0);
        return -1;
    }

    if (memcmp(c->buf + hlen, c->payload, wl_size) != 0) {
        wl_fail(c, "wrong echo payload", 0);
        return -1;
    }

    return 1;
}


/* the next masked binary frame: fresh payload, fresh mask */

static void
wl_frame(wl_client_t *c)
{
    size_t          i, h;
    unsigned char   mask[4];

    for (i = 0; i < wl_size; i++) {
        if ((i & 3) == 0) {
            wl_rand ^= wl_rand << 13;
            wl_rand ^= wl_rand >> 17;
            wl_rand ^= wl_rand << 5;
        }

        c->payload[i] = (unsigned char) (wl_rand >> ((i & 3) * 8));
    }

    wl_rand ^= wl_rand << 13;
    wl_rand ^= wl_rand >> 17;
    wl_rand ^= wl_rand << 5;
    memcpy(mask, &wl_rand, 4);

    c->frame[0] = 0x82;

    if (wl_size < 126) {
        c->frame[1] = 0x80 | (unsigned char) wl_size;
        h = 2;

    } else {
        c->frame[1] = 0x80 | 126;
        c->frame[2] = (unsigned char) (wl_size >> 8);
        c->frame[3] = (unsigned char) wl_size;
        h = 4;
    }

    memcpy(c->frame + h, mask, 4);
    h += 4;

    for (i = 0; i < wl_size; i++) {
        c->frame[h + i] = c->payload[i] ^ mask[i & 3];
    }

    c->flen = h + wl_size;
    c->sent = 0;
    c->got = 0;
    c->t0 = wl_now();
}


/* ERR: the errno of a failed call, 0 for a protocol error */

static void
wl_fail(wl_client_t *c, const char *why, int err)
{
    if (wl_stopping) {
        return;
    }

    wl_errors++;

    /* the first few say why; the count says how often */
    if (wl_errors <= 5) {
        fprintf(stderr, "wsload: %s%s%s\n", why, err ? ": " : "",
                err ? strerror(err) : "");
    }

    if (wl_mode_msg && c->state == WL_OPEN && wl_nopen > 0) {
        wl_nopen--;
    }

    wl_close(c);

    /* started again by the main loop's next scan, not here: no spinning */
    c->t0 = wl_now();

    if (wl_errors > 100000) {
        fprintf(stderr, "wsload: too many errors\n");
        exit(1);
    }
}


static void
wl_done(wl_client_t *c, uint64_t now)
{
    if (!wl_in_window) {
        return;
    }

    wl_count++;
    wl_hist[wl_bucket((now - c->t0) / 1000)]++;
}


static void
wl_close(wl_client_t *c)
{
    if (c->fd != -1) {
        /* epoll forgets a descriptor when it is closed */
        close(c->fd);
        c->fd = -1;
    }

    c->state = WL_IDLE;
}


/* utime + stime of PID in clock ticks, -1 when it is gone */

static long
wl_ticks(int pid)
{
    int     n;
    char    path[64], buf[1024], *p;
    FILE   *f;
    long    ut, st;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    n = (int) fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);

    if (n <= 0) {
        return -1;
    }

    buf[n] = '\0';

    /* the command may hold spaces and parentheses: skip to the last ) */
    p = strrchr(buf, ')');
    if (p == NULL
        || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                  "%ld %ld", &ut, &st) != 2)
    {
        return -1;
    }

    return ut + st;
}


/* per core, from /proc/stat: the number of cores read */

static int
wl_cores(unsigned long long *busy, unsigned long long *sirq,
    unsigned long long *total)
{
    int                  n, cpu;
    char                 line[512];
    FILE                *f;
    unsigned long long   v[8];

    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return 0;
    }

    n = 0;

    while (n < WL_MAX_CPUS && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') {
            continue;
        }

        /* user nice system idle iowait irq softirq steal */
        if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu",
                   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7])
            != 9 || cpu != n)
        {
            break;
        }

        total[n] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        busy[n] = total[n] - v[3] - v[4];
        sirq[n] = v[6];
        n++;
    }

    fclose(f);

    return n;
}


static double
wl_cpu_self(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


/*
 * A log-linear histogram of microseconds: exact below 1024 us, then 512
 * steps per power of two (0.2% apart), up to about 2^31 us.
 */

static int
wl_bucket(uint64_t us)
{
    int  e;

    if (us < 1024) {
        return (int) us;
    }

    e = 63 - __builtin_clzll(us);

    if (e > 30) {
        return WL_BUCKETS - 1;
    }

    return 1024 + (e - 10) * 512 + (int) ((us >> (e - 9)) - 512);
}


static uint64_t
wl_bucket_value(int b)
{
    int  e;

    if (b < 1024) {
        return (uint64_t) b;
    }

    e = (b - 1024) / 512 + 10;

    return (uint64_t) ((b - 1024) % 512 + 512) << (e - 9);
}


static uint64_t
wl_percentile(double q)
{
    int            b;
    unsigned long  seen, want;

    if (wl_count == 0) {
        return 0;
    }

    want = (unsigned long) (q * wl_count);
    if (want == 0) {
        want = 1;
    }

    seen = 0;

    for (b = 0; b < WL_BUCKETS; b++) {
        seen += wl_hist[b];

        if (seen >= want) {
            return wl_bucket_value(b);
        }
    }

    return wl_bucket_value(WL_BUCKETS - 1);
}


static void
wl_on_alarm(int signo)
{
    static const char  msg[] = "wsload: hard time limit reached\n";

    (void) signo;

    (void) !write(2, msg, sizeof(msg) - 1);
    _exit(3);
}
