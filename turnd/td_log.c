
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "td_log.h"


/* longer lines are cut and end in "..." */
#define TD_LOG_LINE_MAX  2048


int  td_log_level = TD_LOG_NOTICE;

/*
 * Read by every thread on each line.  A reopen (log rotation) dup2()s the
 * new file onto the same descriptor number, which is atomic, so a thread
 * never writes to a descriptor that is closed under it.
 */
static int  td_log_fd = -1;
static int  td_log_stderr = 1;

/* 0 when no line can go anywhere: callers then format nothing */
int  td_log_sink = 1;
static int  td_log_null;      /* td_log_fd is the null device */

/* stderr is journald's stream: "<N>text", journald adds time and pid */
static int  td_log_journal;
static int  td_log_syslog;

/* sd-daemon(3) priorities of TD_LOG_* */
static const int  td_log_prio[] = {
    LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG
};


static size_t td_log_escape(char *dst, size_t cap, const char *src,
    size_t len);
static int td_log_is_null(int fd);
static void td_log_update_sink(void);
static void td_log_journal_write(int level, const char *text, size_t len);


static const char  *td_log_levels[] = {
    "error", "warn", "notice", "info", "debug"
};


int
td_log_open(const char *file, int to_stderr)
{
    int  fd, cur, null;

    __atomic_store_n(&td_log_stderr, to_stderr ? 1 : 0, __ATOMIC_RELAXED);

    if (file == NULL || file[0] == '\0') {
        cur = __atomic_exchange_n(&td_log_fd, -1, __ATOMIC_ACQ_REL);
        if (cur != -1) {
            close(cur);
        }

        td_log_update_sink();
        return 0;
    }

    fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1) {
        return -1;
    }

    null = td_log_is_null(fd);
    __atomic_store_n(&td_log_null, null, __ATOMIC_RELAXED);

    cur = __atomic_load_n(&td_log_fd, __ATOMIC_ACQUIRE);

    /* log-file=/dev/null is "no log": lines are not even formatted */
    if (null && cur == -1) {
        close(fd);
        td_log_update_sink();
        return 0;
    }

    if (cur == -1) {
        __atomic_store_n(&td_log_fd, fd, __ATOMIC_RELEASE);
        td_log_update_sink();
        return 0;
    }

    /*
     * Replace the file behind the descriptor other threads use (also by
     * /dev/null: closing it could hand its number to a socket that a
     * thread about to write a line would then write to).
     */
    if (dup3(fd, cur, O_CLOEXEC) == -1) {
        close(fd);
        return -1;
    }

    close(fd);
    td_log_update_sink();

    return 0;
}


void
td_log_journald(int on)
{
    td_log_journal = on;
}


void
td_log_syslog_open(int facility)
{
    openlog("turnd", LOG_PID | LOG_NDELAY, facility);
    td_log_syslog = 1;
    __atomic_store_n(&td_log_sink, 1, __ATOMIC_RELAXED);
}


void
td_log_close(void)
{
    int  fd;

    fd = __atomic_exchange_n(&td_log_fd, -1, __ATOMIC_ACQ_REL);
    if (fd != -1) {
        close(fd);
    }

    __atomic_store_n(&td_log_stderr, 1, __ATOMIC_RELAXED);
    td_log_update_sink();
}


/* the null device, whatever its name (a link to it, a bind mount) */

static int
td_log_is_null(int fd)
{
    struct stat  st, null;

    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)
           && stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode)
           && st.st_rdev == null.st_rdev;
}


static void
td_log_update_sink(void)
{
    int  on;

    on = __atomic_load_n(&td_log_stderr, __ATOMIC_RELAXED)
         || td_log_syslog
         || (__atomic_load_n(&td_log_fd, __ATOMIC_RELAXED) != -1
             && !__atomic_load_n(&td_log_null, __ATOMIC_RELAXED));

    __atomic_store_n(&td_log_sink, on, __ATOMIC_RELAXED);
}


static void
td_log_write(int fd, const char *buf, size_t len)
{
    ssize_t  n;

    /* one write(2): lines of several threads never interleave */
    do {
        n = write(fd, buf, len);
    } while (n == -1 && errno == EINTR);
}


/* "<3>text\n": journald reads the priority, and has time and pid */

static void
td_log_journal_write(int level, const char *text, size_t len)
{
    char  buf[TD_LOG_LINE_MAX + 128];

    buf[0] = '<';
    buf[1] = (char) ('0' + td_log_prio[level]);
    buf[2] = '>';

    if (len > sizeof(buf) - 3) {
        len = sizeof(buf) - 3;
    }

    memcpy(buf + 3, text, len);
    td_log_write(STDERR_FILENO, buf, len + 3);
}


void
td_log(int level, const char *fmt, ...)
{
    int              fd, saved, rc;
    char             msg[TD_LOG_LINE_MAX], line[TD_LOG_LINE_MAX + 128];
    size_t           n, mlen, head;
    va_list          ap;
    struct tm        tm;
    struct timespec  ts;

    if (!td_log_enabled(level)) {
        return;
    }

    saved = errno;

    if (level < TD_LOG_ERR) {
        level = TD_LOG_ERR;

    } else if (level > TD_LOG_DEBUG) {
        level = TD_LOG_DEBUG;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    va_start(ap, fmt);
    rc = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (rc < 0) {
        rc = 0;
    }

    mlen = ((size_t) rc < sizeof(msg)) ? (size_t) rc : sizeof(msg) - 1;

    n = (size_t) snprintf(line, sizeof(line),
                          "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ turnd[%ld]: "
                          "%s: ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                          tm.tm_hour, tm.tm_min, tm.tm_sec,
                          ts.tv_nsec / 1000000, (long) getpid(),
                          td_log_levels[level]);

    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
    }

    head = n;

    /* a username from a request may hold a newline: one event, one line */
    n += td_log_escape(line + n, sizeof(line) - n - 1, msg, mlen);
    line[n++] = '\n';

    if (td_log_syslog) {
        syslog(td_log_prio[level], "%s: %.*s", td_log_levels[level],
               (int) (n - head - 1), line + head);
    }

    if (__atomic_load_n(&td_log_stderr, __ATOMIC_RELAXED)) {
        if (td_log_journal) {
            td_log_journal_write(level, line + head, n - head);

        } else {
            td_log_write(STDERR_FILENO, line, n);
        }
    }

    fd = __atomic_load_n(&td_log_fd, __ATOMIC_ACQUIRE);
    if (fd != -1) {
        td_log_write(fd, line, n);
    }

    errno = saved;
}


/*
 * Copies src into dst, control characters as "\xNN", and ends in "..."
 * when it does not fit.  Returns the bytes written (no NUL).
 */

static size_t
td_log_escape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t          i, n;
    unsigned char   c;
    static const char  hex[] = "0123456789abcdef";

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c >= 0x20 && c != 0x7f) {
            if (n + 1 > cap) {
                goto cut;
            }

            dst[n++] = (char) c;
            continue;
        }

        if (n + 4 > cap) {
            goto cut;
        }

        dst[n++] = '\\';
        dst[n++] = 'x';
        dst[n++] = hex[c >> 4];
        dst[n++] = hex[c & 0xf];
    }

    return n;

cut:

    if (cap >= 3) {
        n = (n > cap - 3) ? cap - 3 : n;
        memcpy(dst + n, "...", 3);
        n += 3;
    }

    return n;
}


char *
td_log_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char                       ip[INET6_ADDRSTRLEN];
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (buf == NULL || len == 0) {
        return buf;
    }

    if (sa == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }

    switch (sa->sa_family) {

    case AF_INET:
        sin = (const struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%u", ip, (unsigned) ntohs(sin->sin_port));
        break;

    case AF_INET6:
        sin6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "[%s]:%u", ip, (unsigned) ntohs(sin6->sin6_port));
        break;

    default:
        snprintf(buf, len, "(family %d)", (int) sa->sa_family);
        break;
    }

    return buf;
}
