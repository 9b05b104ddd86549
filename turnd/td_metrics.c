
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_metrics.h"
#include "td_ports.h"
#include "td_server.h"
#include "td_stats.h"


#define TD_METRICS_REQ_MAX     4096
#define TD_METRICS_TIMEOUT     2000       /* ms, to read or write a scrape */
#define TD_METRICS_MAX_THREADS 256        /* busy ratios kept */


typedef struct {
    char     *buf;
    size_t    len;
    size_t    cap;
    int       failed;
} td_metrics_out_t;


static void *td_metrics_main(void *arg);
static void td_metrics_serve(int fd);
static void td_metrics_put(td_metrics_out_t *o, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void td_metrics_head(td_metrics_out_t *o, const char *name,
    const char *type, const char *help);
static void td_metrics_pair(td_metrics_out_t *o, const char *name,
    const char *type, const char *help, const char *label, const char *v1,
    uint64_t n1, const char *v2, uint64_t n2);
static void td_metrics_write(int fd, const char *buf, size_t len);


static int              td_metrics_fd = -1;
static int              td_metrics_stop_fd = -1;
static pthread_t        td_metrics_tid;
static int              td_metrics_running;
static time_t           td_metrics_started;

/* the busy ratio is CPU time over wall time since the previous scrape */
static pthread_mutex_t  td_metrics_mutex = PTHREAD_MUTEX_INITIALIZER;
static double           td_metrics_cpu[TD_METRICS_MAX_THREADS];
static double           td_metrics_at;


int
td_metrics_init(const td_conf_t *conf)
{
    int                      fd, on;
    char                     addr[80];
    socklen_t                len;
    struct sockaddr_storage  sa;

    td_metrics_started = time(NULL);

    if (!conf->prometheus) {
        return 0;
    }

    memcpy(&sa, &conf->prometheus_ip.sa, sizeof(sa));
    len = conf->prometheus_ip.salen;

    if (sa.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) &sa)->sin6_port =
                                     htons((uint16_t) conf->prometheus_port);

    } else {
        ((struct sockaddr_in *) &sa)->sin_port =
                                     htons((uint16_t) conf->prometheus_port);
    }

    td_log_addr((struct sockaddr *) &sa, addr, sizeof(addr));

    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        td_log(TD_LOG_ERR, "metrics: socket() failed: %s", strerror(errno));
        return -1;
    }

    on = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));

    if (bind(fd, (struct sockaddr *) &sa, len) != 0 || listen(fd, 16) != 0) {
        td_log(TD_LOG_ERR, "metrics: cannot listen on %s: %s (set "
               "\"prometheus-port\" to a free port, or remove "
               "\"prometheus\")", addr, strerror(errno));
        close(fd);
        return -1;
    }

    td_metrics_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (td_metrics_stop_fd == -1) {
        td_log(TD_LOG_ERR, "metrics: eventfd() failed: %s", strerror(errno));
        close(fd);
        return -1;
    }

    td_metrics_fd = fd;

    td_log(TD_LOG_NOTICE, "metrics on http://%s/metrics", addr);

    return 0;
}


int
td_metrics_start(void)
{
    int  rc;

    if (td_metrics_fd == -1) {
        return 0;
    }

    rc = pthread_create(&td_metrics_tid, NULL, td_metrics_main, NULL);
    if (rc != 0) {
        td_log(TD_LOG_ERR, "metrics: pthread_create() failed: %s",
               strerror(rc));
        return -1;
    }

    td_metrics_running = 1;

    return 0;
}


void
td_metrics_stop(void)
{
    uint64_t  one;

    if (td_metrics_running) {
        one = 1;

        if (write(td_metrics_stop_fd, &one, sizeof(one)) == -1) {
            td_log(TD_LOG_ERR, "metrics: eventfd write failed: %s",
                   strerror(errno));
        }

        pthread_join(td_metrics_tid, NULL);
        td_metrics_running = 0;
    }

    if (td_metrics_fd != -1) {
        close(td_metrics_fd);
        td_metrics_fd = -1;
    }

    if (td_metrics_stop_fd != -1) {
        close(td_metrics_stop_fd);
        td_metrics_stop_fd = -1;
    }
}


static void *
td_metrics_main(void *arg)
{
    int            fd;
    struct pollfd  pfd[2];

    (void) arg;

    pfd[0].fd = td_metrics_fd;
    pfd[0].events = POLLIN;
    pfd[1].fd = td_metrics_stop_fd;
    pfd[1].events = POLLIN;

    for ( ;; ) {
        if (poll(pfd, 2, -1) == -1) {
            if (errno == EINTR) {
                continue;
            }

            td_log(TD_LOG_ERR, "metrics: poll() failed: %s",
                   strerror(errno));
            break;
        }

        if (pfd[1].revents) {
            break;
        }

        if (!(pfd[0].revents & POLLIN)) {
            continue;
        }

        fd = accept4(td_metrics_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1) {
            /* EMFILE and the like: the next scrape tries again */
            continue;
        }

        td_metrics_serve(fd);
        close(fd);
    }

    return NULL;
}


/*
 * One request per connection, answered and closed: a scraper, curl or
 * promtool.  Only "GET /metrics" (and "GET /"): nothing else to serve.
 */

static void
td_metrics_serve(int fd)
{
    int            n;
    char           req[TD_METRICS_REQ_MAX + 1], head[256], *body;
    size_t         len, hlen;
    ssize_t        r;
    struct pollfd  pfd;

    len = 0;
    pfd.fd = fd;
    pfd.events = POLLIN;

    while (len < TD_METRICS_REQ_MAX) {
        n = poll(&pfd, 1, TD_METRICS_TIMEOUT);
        if (n <= 0) {
            return;
        }

        r = read(fd, req + len, TD_METRICS_REQ_MAX - len);
        if (r <= 0) {
            return;
        }

        len += (size_t) r;
        req[len] = '\0';

        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL) {
            break;
        }
    }

    req[len] = '\0';

    if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0) {
        hlen = (size_t) snprintf(head, sizeof(head),
                                 "HTTP/1.0 405 Method Not Allowed\r\n"
                                 "Allow: GET, HEAD\r\n"
                                 "Content-Length: 0\r\n"
                                 "Connection: close\r\n\r\n");
        td_metrics_write(fd, head, hlen);
        return;
    }

    body = strchr(req, ' ') + 1;

    if (strncmp(body, "/metrics ", 9) != 0 && strncmp(body, "/ ", 2) != 0
        && strncmp(body, "/metrics\r", 9) != 0)
    {
        hlen = (size_t) snprintf(head, sizeof(head),
                                 "HTTP/1.0 404 Not Found\r\n"
                                 "Content-Type: text/plain\r\n"
                                 "Content-Length: 18\r\n"
                                 "Connection: close\r\n\r\n"
                                 "try GET /metrics\r\n");
        td_metrics_write(fd, head, hlen);
        return;
    }

    body = td_metrics_render(&len);
    if (body == NULL) {
        hlen = (size_t) snprintf(head, sizeof(head),
                                 "HTTP/1.0 500 Internal Server Error\r\n"
                                 "Content-Length: 0\r\n"
                                 "Connection: close\r\n\r\n");
        td_metrics_write(fd, head, hlen);
        return;
    }

    hlen = (size_t) snprintf(head, sizeof(head),
                             "HTTP/1.0 200 OK\r\n"
                             "Content-Type: text/plain; version=0.0.4; "
                             "charset=utf-8\r\n"
                             "Content-Length: %zu\r\n"
                             "Connection: close\r\n\r\n", len);

    td_metrics_write(fd, head, hlen);

    if (req[0] == 'G') {
        td_metrics_write(fd, body, len);
    }

    free(body);
}


static void
td_metrics_write(int fd, const char *buf, size_t len)
{
    ssize_t        n;
    struct pollfd  pfd;

    pfd.fd = fd;
    pfd.events = POLLOUT;

    while (len > 0) {
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n > 0) {
            buf += n;
            len -= (size_t) n;
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EINTR)
            && poll(&pfd, 1, TD_METRICS_TIMEOUT) > 0)
        {
            continue;
        }

        return;
    }
}


char *
td_metrics_render(size_t *len)
{
    double            cpu, now_s, busy;
    size_t            used, total;
    unsigned          i, nthr;
    uint64_t          udp, tcp;
    td_stats_t        s;
    struct timespec   ts;
    td_metrics_out_t  o;

    memset(&o, 0, sizeof(o));

    td_server_stats(&s);

    td_metrics_head(&o, "turnd_build_info", "gauge",
                    "turnd's version, always 1");
    td_metrics_put(&o, "turnd_build_info{version=\"%s\"} 1\n", TD_VERSION);

    td_metrics_head(&o, "turnd_start_time_seconds", "gauge",
                    "When turnd started, in seconds since the epoch");
    td_metrics_put(&o, "turnd_start_time_seconds %lld\n",
                   (long long) td_metrics_started);

    tcp = s.allocations_tcp;
    udp = s.allocations - tcp;

    td_metrics_pair(&o, "turnd_allocations", "gauge",
                    "Allocations now, by the client's transport",
                    "transport", "udp",
                    udp - (s.allocations_freed - s.allocations_tcp_freed),
                    "tcp", tcp - s.allocations_tcp_freed);

    td_metrics_pair(&o, "turnd_allocations_created_total", "counter",
                    "Allocations created, by the client's transport",
                    "transport", "udp", udp, "tcp", tcp);

    td_metrics_head(&o, "turnd_requests_total", "counter",
                    "STUN requests handled, Binding included");
    td_metrics_put(&o, "turnd_requests_total %llu\n",
                   (unsigned long long) s.requests);

    td_metrics_head(&o, "turnd_error_responses_total", "counter",
                    "Error responses other than 401 and 438");
    td_metrics_put(&o, "turnd_error_responses_total %llu\n",
                   (unsigned long long) s.refusals);

    td_metrics_head(&o, "turnd_auth_failures_total", "counter",
                    "Requests that failed authentication, by reason "
                    "(no_credentials: the routine first 401)");

    for (i = 0; i < TD_STATS_AUTH_N; i++) {
        td_metrics_put(&o, "turnd_auth_failures_total{reason=\"%s\"} %llu\n",
                       td_stats_auth_names[i],
                       (unsigned long long) s.auth_failures[i]);
    }

    td_metrics_pair(&o, "turnd_client_packets_total", "counter",
                    "Datagrams and TCP frames from and to clients",
                    "direction", "in", s.rx_packets, "out", s.tx_packets);

    td_metrics_pair(&o, "turnd_client_bytes_total", "counter",
                    "Bytes from and to clients",
                    "direction", "in", s.rx_bytes, "out", s.tx_bytes);

    td_metrics_pair(&o, "turnd_relayed_packets_total", "counter",
                    "Datagrams relayed to peers and received from peers",
                    "direction", "to_peer", s.peer_tx_packets,
                    "from_peer", s.peer_rx_packets);

    td_metrics_pair(&o, "turnd_relayed_bytes_total", "counter",
                    "Payload bytes relayed to peers and received from peers",
                    "direction", "to_peer", s.peer_tx_bytes,
                    "from_peer", s.peer_rx_bytes);

    td_metrics_pair(&o, "turnd_offload_packets_total", "counter",
                    "Of the relayed datagrams, those the kernel-offload "
                    "program relayed without turnd",
                    "direction", "to_peer", s.offload_to_peer_packets,
                    "from_peer", s.offload_from_peer_packets);

    td_metrics_pair(&o, "turnd_offload_bytes_total", "counter",
                    "Of the relayed payload bytes, those the kernel-offload "
                    "program relayed",
                    "direction", "to_peer", s.offload_to_peer_bytes,
                    "from_peer", s.offload_from_peer_bytes);

    td_metrics_head(&o, "turnd_dropped_packets_total", "counter",
                    "Packets dropped, by reason");
    td_metrics_put(&o,
        "turnd_dropped_packets_total{reason=\"malformed\"} %llu\n"
        "turnd_dropped_packets_total{reason=\"no_route\"} %llu\n"
        "turnd_dropped_packets_total{reason=\"peer_denied\"} %llu\n"
        "turnd_dropped_packets_total{reason=\"send_error\"} %llu\n"
        "turnd_dropped_packets_total{reason=\"truncated\"} %llu\n"
        "turnd_dropped_packets_total{reason=\"tcp_buffer_full\"} %llu\n",
        (unsigned long long) s.malformed, (unsigned long long) s.dropped,
        (unsigned long long) s.peer_denied,
        (unsigned long long) s.send_errors,
        (unsigned long long) s.truncated,
        (unsigned long long) s.tcp_overflow);

    td_metrics_head(&o, "turnd_tcp_connections", "gauge",
                    "Client TCP connections open now");
    td_metrics_put(&o, "turnd_tcp_connections %llu\n",
                   (unsigned long long) (s.tcp_accepted - s.tcp_closed));

    td_metrics_head(&o, "turnd_tcp_connections_accepted_total", "counter",
                    "Client TCP connections accepted");
    td_metrics_put(&o, "turnd_tcp_connections_accepted_total %llu\n",
                   (unsigned long long) s.tcp_accepted);

    td_metrics_pair(&o, "turnd_tls_handshakes_total", "counter",
                    "TLS handshakes on tls-listening-port, by result "
                    "(failed: an error, or not done within "
                    "handshake-timeout)",
                    "result", "done", s.tls_handshakes,
                    "failed", s.tls_failed);

    td_metrics_pair(&o, "turnd_proxy_refused_total", "counter",
                    "Connections closed over the PROXY protocol, by reason "
                    "(invalid: from a proxy-protocol-from source without a "
                    "valid header in time; unlisted: a header from another "
                    "source)",
                    "reason", "invalid", s.proxy_bad,
                    "unlisted", s.proxy_refused);

    td_ports_usage(&used, &total);

    td_metrics_pair(&o, "turnd_relay_ports", "gauge",
                    "Relay ports in use (or reserved) and free, over every "
                    "relay address",
                    "state", "in_use", used, "free", total - used);

    /* CPU time per thread; the ratio over the time since the last scrape */

    nthr = td_server_threads();
    if (nthr > TD_METRICS_MAX_THREADS) {
        nthr = TD_METRICS_MAX_THREADS;
    }

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now_s = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;

    td_metrics_head(&o, "turnd_thread_cpu_seconds_total", "counter",
                    "CPU time each relay thread used");

    for (i = 0; i < nthr; i++) {
        if (td_server_thread_cpu(i, &cpu) == 0) {
            td_metrics_put(&o, "turnd_thread_cpu_seconds_total{thread=\"%u\"} "
                           "%.6f\n", i, cpu);
        }
    }

    td_metrics_head(&o, "turnd_thread_busy_ratio", "gauge",
                    "Share of the time since the previous scrape each relay "
                    "thread was on a CPU (0..1)");

    pthread_mutex_lock(&td_metrics_mutex);

    for (i = 0; i < nthr; i++) {
        if (td_server_thread_cpu(i, &cpu) != 0) {
            continue;
        }

        busy = (td_metrics_at > 0 && now_s > td_metrics_at)
               ? (cpu - td_metrics_cpu[i]) / (now_s - td_metrics_at) : 0;
        busy = (busy < 0) ? 0 : (busy > 1) ? 1 : busy;
        td_metrics_cpu[i] = cpu;

        td_metrics_put(&o, "turnd_thread_busy_ratio{thread=\"%u\"} %.4f\n",
                       i, busy);
    }

    td_metrics_at = now_s;

    pthread_mutex_unlock(&td_metrics_mutex);

    if (o.failed) {
        free(o.buf);
        return NULL;
    }

    *len = o.len;

    return o.buf;
}


static void
td_metrics_head(td_metrics_out_t *o, const char *name, const char *type,
    const char *help)
{
    td_metrics_put(o, "# HELP %s %s.\n# TYPE %s %s\n", name, help, name,
                   type);
}


/* a metric of two series: name{label="v1"} n1, name{label="v2"} n2 */

static void
td_metrics_pair(td_metrics_out_t *o, const char *name, const char *type,
    const char *help, const char *label, const char *v1, uint64_t n1,
    const char *v2, uint64_t n2)
{
    td_metrics_head(o, name, type, help);
    td_metrics_put(o, "%s{%s=\"%s\"} %llu\n%s{%s=\"%s\"} %llu\n",
                   name, label, v1, (unsigned long long) n1,
                   name, label, v2, (unsigned long long) n2);
}


static void
td_metrics_put(td_metrics_out_t *o, const char *fmt, ...)
{
    int      n;
    char    *p;
    size_t   cap;
    va_list  ap;

    if (o->failed) {
        return;
    }

    for ( ;; ) {
        va_start(ap, fmt);
        /* no buffer yet: only measure (NULL + 0 is undefined) */
        n = vsnprintf(o->cap ? o->buf + o->len : NULL, o->cap - o->len,
                      fmt, ap);
        va_end(ap);

        if (n < 0) {
            o->failed = 1;
            return;
        }

        if (o->len + (size_t) n < o->cap) {
            o->len += (size_t) n;
            return;
        }

        cap = (o->cap == 0) ? 4096 : o->cap * 2;
        while (cap <= o->len + (size_t) n) {
            cap *= 2;
        }

        p = realloc(o->buf, cap);
        if (p == NULL) {
            o->failed = 1;
            return;
        }

        o->buf = p;
        o->cap = cap;
    }
}
