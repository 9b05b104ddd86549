
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_LOG_H_INCLUDED_
#define _TD_LOG_H_INCLUDED_


/*
 * One line per event: "2026-11-24T08:30:00.123Z turnd[pid]: LEVEL: text".
 * To stderr unless no-stdout-log, and to log-file when set.  Safe from
 * several threads (one write(2) per line).  Never log a password, key or
 * secret.
 */


#include <sys/socket.h>


#define TD_LOG_ERR      0
#define TD_LOG_WARN     1
#define TD_LOG_NOTICE   2    /* the default: start, stop, allocations */
#define TD_LOG_INFO     3    /* verbose: every request and refusal */
#define TD_LOG_DEBUG    4    /* Verbose */


extern int  td_log_level;
extern int  td_log_sink;


int td_log_open(const char *file, int to_stderr);
void td_log_close(void);
/* stderr lines as "<N>text" (sd-daemon(3)) for journald */
void td_log_journald(int on);
/* also to syslog(3), once at start */
void td_log_syslog_open(int facility);
void td_log(int level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* "1.2.3.4:5" or "[::1]:5" into buf (at least 64 bytes); returns buf */
char *td_log_addr(const struct sockaddr *sa, char *buf, size_t len);

/* callers that format arguments of their own check this first */
#define td_log_enabled(level)                                                 \
    ((level) <= td_log_level                                                  \
     && __atomic_load_n(&td_log_sink, __ATOMIC_RELAXED))


#endif /* _TD_LOG_H_INCLUDED_ */
