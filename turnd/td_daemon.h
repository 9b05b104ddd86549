
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_DAEMON_H_INCLUDED_
#define _TD_DAEMON_H_INCLUDED_


/*
 * What a service manager needs of turnd: exit codes that tell a broken
 * configuration (do not restart) from a failure at run time, a locked
 * pidfile, root dropped after the sockets are bound (coturn's proc-user
 * and proc-group), sd_notify(3) states, and --check-config.
 */


#include "td_conf.h"


#define TD_EXIT_OK         0
#define TD_EXIT_FAILURE    1     /* could not bind, out of memory, ... */
#define TD_EXIT_CONFIG     78    /* EX_CONFIG: fix the file, then start */


/* stderr is journald's (JOURNAL_STREAM): lines get "<N>" priorities */
int td_daemon_journald(void);

/*
 * Creates and locks path, writes our pid.  Another turnd holding it is
 * an error naming its pid.  The lock lives as long as the process.
 */
int td_daemon_pidfile(const char *path);
void td_daemon_pidfile_remove(void);

/* root: initgroups(), setgid(), setuid() to proc-user/proc-group */
int td_daemon_drop(const td_conf_t *conf);

/*
 * --check-config after the parse succeeded: what only the system can
 * tell (credentials file readable and valid, proc-user).  Prints
 * nginx -t's two lines and returns an exit code.
 */
int td_daemon_check(const td_conf_t *conf);

/* sd_notify(3): "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." */
void td_daemon_notify(const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));


#endif /* _TD_DAEMON_H_INCLUDED_ */
