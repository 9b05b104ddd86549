
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd: a TURN server (RFC 8656, RFC 8489).  The main thread parses the
 * configuration, sets up sockets and starts the relay threads, then only
 * waits for signals: SIGHUP re-reads the credentials (and reopens the
 * log file) without touching allocations; SIGTERM and SIGINT stop every
 * thread, close every socket and exit 0.
 */


#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <trtc_crypto.h>
#include "td_auth.h"
#include "td_conf.h"
#include "td_log.h"
#include "td_server.h"


static int td_main_pidfile(const char *path);
static void td_main_nofile(void);


int
main(int argc, char **argv)
{
    int        rc, sig, status;
    sigset_t   set;
    td_conf_t  conf;

    td_conf_init(&conf);

    rc = td_conf_parse_args(&conf, argc, argv);
    if (rc != 0) {
        td_conf_free(&conf);
        return (rc == 1) ? 0 : 1;
    }

    td_log_level = (conf.verbose >= 2) ? TD_LOG_DEBUG
                   : (conf.verbose == 1) ? TD_LOG_INFO : TD_LOG_NOTICE;

    if (td_log_open(conf.log_file, !conf.no_stdout_log) != 0) {
        fprintf(stderr, "turnd: cannot open log file %s: %s\n",
                conf.log_file, strerror(errno));
        td_conf_free(&conf);
        return 1;
    }

    /* a client gone mid-write is an error code, not a signal */
    signal(SIGPIPE, SIG_IGN);

    /* only this thread takes the signals, with sigwait() */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    td_main_nofile();

    td_log(TD_LOG_NOTICE, "turnd starting%s%s", conf.conf_file ? " with " : "",
           conf.conf_file ? conf.conf_file : "");

    status = 1;

    if (td_auth_init(&conf) != 0) {
        goto done;
    }

    if (td_server_init(&conf) != 0) {
        td_auth_cleanup();
        goto done;
    }

    if (td_server_start() != 0) {
        td_server_stop();
        td_server_cleanup();
        td_auth_cleanup();
        goto done;
    }

    if (conf.pidfile != NULL && td_main_pidfile(conf.pidfile) != 0) {
        td_server_stop();
        td_server_cleanup();
        td_auth_cleanup();
        goto done;
    }

    td_log(TD_LOG_NOTICE, "turnd ready");

    for ( ;; ) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }

        if (sig == SIGHUP) {
            td_log(TD_LOG_NOTICE, "SIGHUP: reopening the log, re-reading "
                   "credentials (%zu allocations kept)",
                   td_server_allocations());

            if (td_log_open(conf.log_file, !conf.no_stdout_log) != 0) {
                td_log(TD_LOG_ERR, "cannot reopen %s: %s", conf.log_file,
                       strerror(errno));
            }

            (void) td_auth_reload(&conf);
            continue;
        }

        td_log(TD_LOG_NOTICE, "%s: stopping (%zu allocations)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT",
               td_server_allocations());
        break;
    }

    td_server_stop();
    td_server_cleanup();
    td_auth_cleanup();
    trtc_crypto_thread_cleanup();

    if (conf.pidfile != NULL) {
        unlink(conf.pidfile);
    }

    td_log(TD_LOG_NOTICE, "turnd stopped");
    status = 0;

done:

    td_log_close();
    td_conf_free(&conf);

    return status;
}


static int
td_main_pidfile(const char *path)
{
    int      fd;
    char     buf[32];
    size_t   len;
    ssize_t  n;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        td_log(TD_LOG_ERR, "cannot open pidfile %s: %s", path,
               strerror(errno));
        return -1;
    }

    len = (size_t) snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
    n = write(fd, buf, len);
    close(fd);

    if (n != (ssize_t) len) {
        td_log(TD_LOG_ERR, "cannot write pidfile %s", path);
        return -1;
    }

    return 0;
}


/* every allocation holds a descriptor: take all the kernel allows */

static void
td_main_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}
