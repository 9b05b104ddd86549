
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd/td_limit.c: the unauthenticated-response buckets per source
 * network and the caps on unauthenticated TCP connections.
 */


#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tap.h"
#include "addr.h"
#include "td_conf.h"
#include "td_limit.h"
#include "td_log.h"
#include "td_table.h"


#define SA(s)  ((struct sockaddr *) addr(s, 0))




static unsigned
burst(td_rate_t *r, unsigned rate, const char *s, uint64_t ms, unsigned n)
{
    unsigned  i, ok;

    for (i = 0, ok = 0; i < n; i++) {
        ok += (unsigned) td_rate_take(r, rate, SA(s), ms);
    }

    return ok;
}


static void
test_rate(void)
{
    td_rate_t  *r;

    r = calloc(1, sizeof(td_rate_t));

    tap_is_int(burst(r, 10, "192.0.2.1", 5000, 100), 10,
               "a second's burst: 10 of 100");
    tap_is_int(burst(r, 10, "192.0.2.200", 5000, 5), 0,
               "the same /24 shares the bucket");
    tap_is_int(burst(r, 10, "192.0.3.1", 5000, 5), 5,
               "another /24 has its own");
    tap_is_int(burst(r, 10, "192.0.2.1", 5500, 100), 5,
               "half a second later: 5 more");
    tap_is_int(burst(r, 10, "192.0.2.1", 60000, 100), 10,
               "a minute later: a full burst, no more");
    tap_is_int(burst(r, 10, "2001:db8:1:ff::1", 5000, 20), 10,
               "IPv6: a /56");
    tap_is_int(burst(r, 10, "2001:db8:1:0::2", 5000, 20), 0,
               "IPv6: the same /56 shares it");
    tap_is_int(burst(r, 0, "192.0.2.1", 5000, 1000), 1000,
               "rate 0: no limit");

    free(r);
}


static void
test_tcp(void)
{
    int        i, ok;
    td_conf_t  conf;

    td_log_level = TD_LOG_ERR;      /* no "before authentication" line */
    td_conf_init(&conf);
    conf.max_unauth_tcp_per_ip = 3;
    conf.max_unauth_tcp = 5;
    td_limit_init(&conf);

    for (i = 0, ok = 0; i < 10; i++) {
        ok += td_limit_tcp_take(SA("192.0.2.1")) == 0;
    }

    tap_is_int(ok, 3, "3 connections a source");
    tap_is_int(td_limit_tcp_take(SA("192.0.2.2")), 0, "another source");
    tap_is_int(td_limit_tcp_take(SA("192.0.2.3")), 0, "a third");
    tap_is_int(td_limit_tcp_take(SA("192.0.2.4")), -2,
               "max-unauth-tcp: 5 in all");

    td_limit_tcp_release(SA("192.0.2.1"));
    tap_is_int(td_limit_tcp_take(SA("192.0.2.1")), 0,
               "a released one is taken again");

    td_conf_free(&conf);
}


int
main(void)
{
    if (td_hash_init() != 0) {
        return 2;
    }

    test_rate();
    test_tcp();

    return tap_done();
}
