
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "td_auth.h"
#include "td_daemon.h"
#include "td_log.h"


static int    td_daemon_pid_fd = -1;
static char  *td_daemon_pid_path;


int
td_daemon_journald(void)
{
    const char         *env;
    struct stat         st;
    unsigned long long  dev, ino;

    env = getenv("JOURNAL_STREAM");

    if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2
        || fstat(STDERR_FILENO, &st) != 0)
    {
        return 0;
    }

    /* inherited by a child whose stderr went elsewhere: not ours */
    return (unsigned long long) st.st_dev == dev
           && (unsigned long long) st.st_ino == ino;
}


int
td_daemon_pidfile(const char *path)
{
    int           fd;
    char          buf[32];
    size_t        len;
    ssize_t       n;
    struct flock  fl;

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        td_log(TD_LOG_ERR, "cannot open pidfile %s: %s", path,
               strerror(errno));
        return -1;
    }

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;

    if (fcntl(fd, F_SETLK, &fl) == -1) {
        if (errno == EAGAIN || errno == EACCES) {
            memset(&fl, 0, sizeof(fl));
            fl.l_type = F_WRLCK;
            fl.l_whence = SEEK_SET;
            (void) fcntl(fd, F_GETLK, &fl);

            td_log(TD_LOG_ERR, "pidfile %s is locked: turnd is already "
                   "running (pid %ld)", path, (long) fl.l_pid);

        } else {
            td_log(TD_LOG_ERR, "cannot lock pidfile %s: %s", path,
                   strerror(errno));
        }

        close(fd);
        return -1;
    }

    len = (size_t) snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());

    if (ftruncate(fd, 0) != 0
        || (n = pwrite(fd, buf, len, 0)) != (ssize_t) len)
    {
        td_log(TD_LOG_ERR, "cannot write pidfile %s", path);
        close(fd);
        return -1;
    }

    td_daemon_pid_path = strdup(path);
    td_daemon_pid_fd = fd;

    return 0;
}


void
td_daemon_pidfile_remove(void)
{
    if (td_daemon_pid_fd == -1) {
        return;
    }

    /* unlink while still locked: a new turnd never sees a stale file */
    if (td_daemon_pid_path != NULL) {
        (void) unlink(td_daemon_pid_path);
        free(td_daemon_pid_path);
        td_daemon_pid_path = NULL;
    }

    close(td_daemon_pid_fd);
    td_daemon_pid_fd = -1;
}


int
td_daemon_drop(const td_conf_t *conf)
{
    gid_t           gid;
    struct group   *gr;
    struct passwd  *pw;

    if (conf->proc_user == NULL && conf->proc_group == NULL) {
        return 0;
    }

    pw = (conf->proc_user != NULL) ? getpwnam(conf->proc_user) : NULL;
    gr = (conf->proc_group != NULL) ? getgrnam(conf->proc_group) : NULL;

    if ((conf->proc_user != NULL && pw == NULL)
        || (conf->proc_group != NULL && gr == NULL))
    {
        /* td_conf checked both: gone since */
        td_log(TD_LOG_ERR, "proc-user \"%s\" or proc-group \"%s\" no longer "
               "exists", conf->proc_user ? conf->proc_user : "",
               conf->proc_group ? conf->proc_group : "");
        return -1;
    }

    if (geteuid() != 0) {
        /* a service manager started us as the user already */
        if ((pw != NULL && pw->pw_uid != geteuid())
            || (gr != NULL && gr->gr_gid != getegid()))
        {
            td_log(TD_LOG_WARN, "not root: running as uid %ld gid %ld, "
                   "proc-user/proc-group not applied", (long) geteuid(),
                   (long) getegid());
        }

        return 0;
    }

    gid = (gr != NULL) ? gr->gr_gid : (pw != NULL) ? pw->pw_gid : getgid();

    /* supplementary groups: the credentials file's group among them */
    if ((pw != NULL && initgroups(pw->pw_name, gid) != 0)
        || (pw == NULL && setgroups(1, &gid) != 0))
    {
        td_log(TD_LOG_ERR, "cannot set the groups of %s: %s",
               pw ? pw->pw_name : "the process", strerror(errno));
        return -1;
    }

    if (setgid(gid) != 0) {
        td_log(TD_LOG_ERR, "setgid(%ld) failed: %s", (long) gid,
               strerror(errno));
        return -1;
    }

    if (pw != NULL && setuid(pw->pw_uid) != 0) {
        td_log(TD_LOG_ERR, "setuid(%ld) failed: %s", (long) pw->pw_uid,
               strerror(errno));
        return -1;
    }

    /* no way back: setuid(0) must fail now */
    if (pw != NULL && pw->pw_uid != 0 && setuid(0) == 0) {
        td_log(TD_LOG_ERR, "root privileges could not be dropped");
        return -1;
    }

    td_log(TD_LOG_NOTICE, "running as user %s, group %ld",
           pw ? pw->pw_name : "root", (long) gid);

    return 0;
}


int
td_daemon_check(const td_conf_t *conf)
{
    const char  *name;

    name = conf->conf_file ? conf->conf_file : "(command line)";

    /* reads and parses credentials-file like a start would */
    if (td_auth_init(conf) != 0) {
        fprintf(stderr, "turnd: configuration file %s test failed\n", name);
        return TD_EXIT_CONFIG;
    }

    td_auth_cleanup();

    fprintf(stderr, "turnd: the configuration file %s syntax is ok\n"
            "turnd: configuration file %s test is successful\n",
            name, name);

    return TD_EXIT_OK;
}


void
td_daemon_notify(const char *fmt, ...)
{
    char     buf[256];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    /* not under systemd (NOTIFY_SOCKET unset): nothing happens */
    (void) sd_notify(0, buf);
}
