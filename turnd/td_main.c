
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd: a TURN server (RFC 8656, RFC 8489).  The main thread parses the
 * configuration, sets up sockets and starts the relay threads, then only
 * waits for signals: SIGHUP re-reads the credentials (and reopens the
 * log file) without touching allocations; SIGTERM and SIGINT stop every
 * thread, close every socket and exit 0.  Exit codes: td_daemon.h.
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
#include "td_daemon.h"
#include "td_log.h"
#include "td_metrics.h"
#include "td_offload.h"
#include "td_server.h"
#include "td_tls.h"


static void td_main_nofile(void);


int
main(int argc, char **argv)
{
    int        rc, sig, status;
    sigset_t   set;
    td_conf_t  conf;

    td_conf_init(&conf);

    rc = td_conf_parse_args(&conf, argc, argv);
    if (rc != 0 || conf.check_config) {
        status = (rc == 1) ? TD_EXIT_OK
                 : (rc != 0) ? TD_EXIT_CONFIG : td_daemon_check(&conf);
        td_conf_free(&conf);
        return status;
    }

    td_log_journald(td_daemon_journald());

    td_log_level = (conf.verbose >= 2) ? TD_LOG_DEBUG
                   : (conf.verbose == 1) ? TD_LOG_INFO : TD_LOG_NOTICE;

    if (td_log_open(conf.log_file, !conf.no_stdout_log) != 0) {
        fprintf(stderr, "turnd: cannot open log file %s: %s\n",
                conf.log_file, strerror(errno));
        td_conf_free(&conf);
        return TD_EXIT_FAILURE;
    }

    if (conf.syslog) {
        td_log_syslog_open(conf.syslog_facility);
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

    status = TD_EXIT_FAILURE;

    /* first: a second turnd on the same pidfile binds nothing */
    if (conf.pidfile != NULL && td_daemon_pidfile(conf.pidfile) != 0) {
        goto done;
    }

    if (td_auth_init(&conf) != 0) {
        status = TD_EXIT_CONFIG;
        goto done;
    }

    /* the sockets are bound as root, then root is dropped */
    if (td_server_init(&conf) != 0) {
        td_auth_cleanup();
        goto done;
    }

    /* loaded with the privilege the sockets were bound with */
    td_offload_init(&conf);

    if (td_metrics_init(&conf) != 0 || td_daemon_drop(&conf) != 0
        || td_server_start() != 0 || td_metrics_start() != 0)
    {
        td_metrics_stop();
        td_server_stop();
        td_server_cleanup();
        td_offload_cleanup();
        td_auth_cleanup();
        goto done;
    }

    td_log(TD_LOG_NOTICE, "turnd ready");
    td_daemon_notify("READY=1\nSTATUS=relaying");

    for ( ;; ) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }

        if (sig == SIGHUP) {
            td_daemon_notify("RELOADING=1");
            td_log(TD_LOG_NOTICE, "SIGHUP: reopening the log, re-reading "
                   "credentials (%zu allocations kept)",
                   td_server_allocations());

            if (td_log_open(conf.log_file, !conf.no_stdout_log) != 0) {
                td_log(TD_LOG_ERR, "cannot reopen %s: %s", conf.log_file,
                       strerror(errno));
            }

            (void) td_auth_reload(&conf);
            (void) td_tls_reload(&conf);
            td_daemon_notify("READY=1\nSTATUS=relaying, reloaded");
            continue;
        }

        td_log(TD_LOG_NOTICE, "%s: stopping (%zu allocations)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT",
               td_server_allocations());
        break;
    }

    td_daemon_notify("STOPPING=1");

    td_metrics_stop();
    td_server_stop();
    td_server_cleanup();
    td_offload_cleanup();
    td_auth_cleanup();
    trtc_crypto_thread_cleanup();

    td_log(TD_LOG_NOTICE, "turnd stopped");
    status = TD_EXIT_OK;

done:

    td_daemon_pidfile_remove();
    td_log_close();
    td_conf_free(&conf);

    return status;
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
