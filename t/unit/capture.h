
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_CAPTURE_H_INCLUDED_
#define _TRTC_CAPTURE_H_INCLUDED_


/*
 * Captures what the code under test writes to stderr (warnings, errors),
 * so a test can check a message: cap_start(), run, cap_end().
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


static char   err_buf[16384];
static int    saved_fd = -1;
static FILE  *cap_file;


static void
cap_start(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    if (cap_file == NULL) {
        perror("tmpfile");
        exit(2);
    }

    saved_fd = dup(STDERR_FILENO);
    dup2(fileno(cap_file), STDERR_FILENO);
}


/* returns what went to stderr since cap_start(), one line: "\n" -> "|" */

static const char *
cap_end(void)
{
    char   *p;
    size_t  n;

    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);

    rewind(cap_file);
    n = fread(err_buf, 1, sizeof(err_buf) - 1, cap_file);
    err_buf[n] = '\0';
    fclose(cap_file);

    /* one TAP line per message: newlines become "|" */
    for (p = err_buf; *p != '\0'; p++) {
        if (*p == '\n') {
            *p = '|';
        }
    }

    return err_buf;
}


#endif /* _TRTC_CAPTURE_H_INCLUDED_ */
