
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_TAP_H_INCLUDED_
#define _TRTC_TAP_H_INCLUDED_


/*
 * A minimal TAP producer for the C unit tests, so that prove runs them
 * next to the Test::Nginx files and reports one closing line.
 */

#include <stdio.h>
#include <string.h>


static int  tap_count;
static int  tap_failed;


#define tap_ok(cond, ...)                                                     \
    tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define tap_is_int(got, want, ...)                                            \
    do {                                                                      \
        long long  g_ = (long long) (got), w_ = (long long) (want);          \
        if (!tap_result(g_ == w_, __FILE__, __LINE__, __VA_ARGS__)) {         \
            printf("#          got: %lld\n#     expected: %lld\n", g_, w_); \
        }                                                                     \
    } while (0)

#define tap_is_mem(got, want, n, ...)                                         \
    tap_result(memcmp((got), (want), (n)) == 0, __FILE__, __LINE__,           \
               __VA_ARGS__)


static int
tap_result(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));


#include <stdarg.h>


static int
tap_result(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    tap_count++;

    printf("%s %d - ", pass ? "ok" : "not ok", tap_count);

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);

    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    fflush(stdout);

    return pass;
}


static int
tap_done(void)
{
    printf("1..%d\n", tap_count);

    return tap_failed ? 1 : 0;
}


#endif /* _TRTC_TAP_H_INCLUDED_ */
