
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * turnd's peer filter (turnd/td_peer.c): the default deny list, IPv4
 * embedded in IPv6, allowed-peer-ip / denied-peer-ip / allow-loopback /
 * allow-only, and the parsing of coturn's range syntax.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tap.h"
#include "addr.h"
#include "td_peer.h"


typedef struct {
    const char  *cidr;
    const char  *first;
    const char  *last;
    const char  *below;    /* NULL: none, or in another denied range */
    const char  *above;
} range_case_t;


/*
 * reference/turn-anchors.md 3.3.  First, last and neighbour addresses
 * were computed with Python's ipaddress module (network_address,
 * broadcast_address, +/-1), not with the code under test; a neighbour
 * that falls in another listed range (directly or through an embedded
 * IPv4, e.g. ::2 = ::0.0.0.2) is NULL.
 */
static const range_case_t  ranges[] = {
    { "0.0.0.0/8", "0.0.0.0", "0.255.255.255", NULL, "1.0.0.0" },
    { "10.0.0.0/8", "10.0.0.0", "10.255.255.255", "9.255.255.255",
      "11.0.0.0" },
    { "100.64.0.0/10", "100.64.0.0", "100.127.255.255", "100.63.255.255",
      "100.128.0.0" },
    { "127.0.0.0/8", "127.0.0.0", "127.255.255.255", "126.255.255.255",
      "128.0.0.0" },
    { "169.254.0.0/16", "169.254.0.0", "169.254.255.255", "169.253.255.255",
      "169.255.0.0" },
    { "172.16.0.0/12", "172.16.0.0", "172.31.255.255", "172.15.255.255",
      "172.32.0.0" },
    { "192.0.0.0/24", "192.0.0.0", "192.0.0.255", "191.255.255.255",
      "192.0.1.0" },
    { "192.0.2.0/24", "192.0.2.0", "192.0.2.255", "192.0.1.255",
      "192.0.3.0" },
    { "192.31.196.0/24", "192.31.196.0", "192.31.196.255", "192.31.195.255",
      "192.31.197.0" },
    { "192.52.193.0/24", "192.52.193.0", "192.52.193.255", "192.52.192.255",
      "192.52.194.0" },
    { "192.88.99.0/24", "192.88.99.0", "192.88.99.255", "192.88.98.255",
      "192.88.100.0" },
    { "192.168.0.0/16", "192.168.0.0", "192.168.255.255", "192.167.255.255",
      "192.169.0.0" },
    { "192.175.48.0/24", "192.175.48.0", "192.175.48.255", "192.175.47.255",
      "192.175.49.0" },
    { "198.18.0.0/15", "198.18.0.0", "198.19.255.255", "198.17.255.255",
      "198.20.0.0" },
    { "198.51.100.0/24", "198.51.100.0", "198.51.100.255", "198.51.99.255",
      "198.51.101.0" },
    { "203.0.113.0/24", "203.0.113.0", "203.0.113.255", "203.0.112.255",
      "203.0.114.0" },
    { "224.0.0.0/4", "224.0.0.0", "239.255.255.255", "223.255.255.255",
      NULL },
    { "240.0.0.0/4", "240.0.0.0", "255.255.255.255", NULL, NULL },

    { "::/128", "::", "::", NULL, NULL },
    { "::1/128", "::1", "::1", NULL, NULL },
    { "64:ff9b::/96", "64:ff9b::", "64:ff9b::ffff:ffff",
      "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::1:0:0" },
    { "64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
      "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "64:ff9b:2::" },
    { "100::/64", "100::", "100::ffff:ffff:ffff:ffff",
      "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
    { "100:0:0:1::/64", "100:0:0:1::", "100::1:ffff:ffff:ffff:ffff", NULL,
      "100:0:0:2::" },
    { "2001::/23", "2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
      "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::" },
    { "2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
      "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::" },
    { "2002::/16", "2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::" },
    { "2620:4f:8000::/48", "2620:4f:8000::",
      "2620:4f:8000:ffff:ffff:ffff:ffff:ffff",
      "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", "2620:4f:8001::" },
    { "3fff::/20", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
      "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::" },
    { "5f00::/16", "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f01::" },
    { "fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::" },
    { "fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
    { "fec0::/10", "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      NULL, NULL },
    { "ff00::/8", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      NULL, NULL }
};


/* addresses that are denied by default, in every form an attacker tries */
static const char  *denied_by_default[] = {
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "10.255.0.1", "172.16.5.4",
    "192.168.1.1", "169.254.169.254", "169.254.0.23", "100.100.100.200",
    "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1",
    "fd00:ec2::254", "ff02::1", "2001::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
    "::ffff:192.168.0.1", "::ffff:255.255.255.255",
    "::127.0.0.1", "::10.1.2.3",                       /* compatible */
    "2002:7f00:1::", "2002:a9fe:a9fe::1",              /* 6to4 */
    "2002:808:808::",                    /* 6to4 of a public address */
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808",
    "64:ff9b:1::1"
};


static const char  *always_denied[] = {
    "0.0.0.0", "0.1.2.3", "0.255.255.255", "::", "::ffff:0.0.0.0",
    "::ffff:0.1.2.3", "::0.0.0.2", "2002::", "2002:0:1::",
    "64:ff9b::", "64:ff9b::1"
};


static const char  *public_addrs[] = {
    "8.8.8.8", "1.1.1.1", "14.3.3.3", "9.9.9.9", "223.5.5.5",
    "2606:4700::1111", "2001:4860:4860::8888", "2400:3200::1",
    "::ffff:8.8.8.8", "::ffff:1.1.1.1"
};


static const char  *bad_specs[] = {
    "", "   ", "foo", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
    "1.2.3.4/33", "::/129", "1.2.3.4/", "/8", "1.2.3.4/-1", "1.2.3.4/+8",
    "1.2.3.4/8x", "1.2.3.4/0008", "1.2.3.4 /8", "1.2.3.4-", "-1.2.3.4",
    "1.2.3.10-1.2.3.4", "1.2.3.4-::1", "::1-1.2.3.4", "fe80::1%eth0",
    "1.2.3.4/8-1.2.3.5", "1.2.3.4 5", "[::1]", "::1::2", "1.2.3.4\n",
    "localhost", "1.2.3.4--1.2.3.5", "1.2.3.4-1.2.3.5-1.2.3.6"
};




static int
check(const td_peer_filter_t *f, const char *s)
{
    return td_peer_check(f, (struct sockaddr *) addr(s, 3478));
}


static void
test_defaults(void)
{
    size_t            i;
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));

    for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        tap_ok(check(&f, ranges[i].first) != TD_PEER_ALLOWED,
               "default %s: first %s denied", ranges[i].cidr,
               ranges[i].first);
        tap_ok(check(&f, ranges[i].last) != TD_PEER_ALLOWED,
               "default %s: last %s denied", ranges[i].cidr,
               ranges[i].last);

        if (ranges[i].below != NULL) {
            tap_is_int(check(&f, ranges[i].below), TD_PEER_ALLOWED,
                       "default %s: %s below it allowed", ranges[i].cidr,
                       ranges[i].below);
        }

        if (ranges[i].above != NULL) {
            tap_is_int(check(&f, ranges[i].above), TD_PEER_ALLOWED,
                       "default %s: %s above it allowed", ranges[i].cidr,
                       ranges[i].above);
        }
    }

    for (i = 0; i < sizeof(denied_by_default) / sizeof(char *); i++) {
        tap_is_int(check(&f, denied_by_default[i]), TD_PEER_DENIED,
                   "default: %s denied (special-purpose)",
                   denied_by_default[i]);
    }

    for (i = 0; i < sizeof(always_denied) / sizeof(char *); i++) {
        tap_is_int(check(&f, always_denied[i]), TD_PEER_DENIED_ALWAYS,
                   "default: %s denied always", always_denied[i]);
    }

    for (i = 0; i < sizeof(public_addrs) / sizeof(char *); i++) {
        tap_is_int(check(&f, public_addrs[i]), TD_PEER_ALLOWED,
                   "default: public %s allowed", public_addrs[i]);
        tap_is_int(td_peer_check(NULL, (struct sockaddr *)
                                 addr(public_addrs[i], 0)),
                   TD_PEER_ALLOWED, "no filter: public %s allowed",
                   public_addrs[i]);
    }

    tap_is_int(td_peer_check(NULL, (struct sockaddr *) addr("127.0.0.1", 0)),
               TD_PEER_DENIED, "no filter: loopback denied");
    tap_is_int(td_peer_check(&f, NULL), TD_PEER_DENIED_ALWAYS,
               "NULL address denied");
}


static void
test_odd_family(void)
{
    td_peer_filter_t    f;
    struct sockaddr_un  sun;

    memset(&f, 0, sizeof(f));
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;

    tap_is_int(td_peer_check(&f, (struct sockaddr *) &sun),
               TD_PEER_DENIED_ALWAYS, "AF_UNIX denied");

    f.allow_loopback = 1;
    tap_ok(td_peer_filter_add(&f, "0.0.0.0/0", 1, NULL, 0) == 0,
           "allow 0.0.0.0/0");
    tap_ok(td_peer_filter_add(&f, "::/0", 1, NULL, 0) == 0, "allow ::/0");
    tap_is_int(td_peer_check(&f, (struct sockaddr *) &sun),
               TD_PEER_DENIED_ALWAYS, "AF_UNIX denied with everything "
               "allowed");
    td_peer_filter_free(&f);
}


static void
test_loopback(void)
{
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));
    f.allow_loopback = 1;

    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_ALLOWED,
               "allow-loopback: 127.0.0.1");
    tap_is_int(check(&f, "127.255.255.254"), TD_PEER_ALLOWED,
               "allow-loopback: 127.255.255.254");
    tap_is_int(check(&f, "::1"), TD_PEER_ALLOWED, "allow-loopback: ::1");
    tap_is_int(check(&f, "::ffff:127.0.0.1"), TD_PEER_ALLOWED,
               "allow-loopback: ::ffff:127.0.0.1 (the same host)");

    /* these reach other hosts' loopback, or nothing: still special */
    tap_is_int(check(&f, "2002:7f00:1::"), TD_PEER_DENIED,
               "allow-loopback: 6to4 of 127.0.0.1 still denied");
    tap_is_int(check(&f, "64:ff9b::7f00:1"), TD_PEER_DENIED,
               "allow-loopback: NAT64 of 127.0.0.1 still denied");
    tap_is_int(check(&f, "::127.0.0.1"), TD_PEER_DENIED,
               "allow-loopback: compatible 127.0.0.1 still denied");

    tap_is_int(check(&f, "10.0.0.1"), TD_PEER_DENIED,
               "allow-loopback: 10.0.0.1 still denied");
    tap_is_int(check(&f, "0.0.0.0"), TD_PEER_DENIED_ALWAYS,
               "allow-loopback: 0.0.0.0 still denied");
    tap_is_int(check(&f, "::"), TD_PEER_DENIED_ALWAYS,
               "allow-loopback: :: still denied");
    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_ALLOWED,
               "allow-loopback: public allowed");

    /* denied-peer-ip comes before allow-loopback (coturn does the same) */
    tap_ok(td_peer_filter_add(&f, "127.0.0.2", 0, NULL, 0) == 0,
           "deny 127.0.0.2");
    tap_is_int(check(&f, "127.0.0.2"), TD_PEER_DENIED_CONFIG,
               "allow-loopback: denied 127.0.0.2 is denied");
    tap_is_int(check(&f, "::ffff:127.0.0.2"), TD_PEER_DENIED_CONFIG,
               "allow-loopback: denied ::ffff:127.0.0.2 is denied");
    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_ALLOWED,
               "allow-loopback: 127.0.0.1 next to it allowed");
    td_peer_filter_free(&f);
}


static void
test_allowed(void)
{
    char              err[256];
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));

    tap_is_int(td_peer_filter_add(&f, "10.1.0.0/16", 1, err, sizeof(err)),
               0, "allow 10.1.0.0/16");
    tap_is_int(td_peer_filter_add(&f, "10.1.2.0/24", 0, err, sizeof(err)),
               0, "deny 10.1.2.0/24");
    tap_is_int(td_peer_filter_add(&f, "8.8.8.8", 0, err, sizeof(err)),
               0, "deny 8.8.8.8");
    tap_is_int(td_peer_filter_add(&f, "8.8.8.8", 1, err, sizeof(err)),
               0, "allow 8.8.8.8 too");
    tap_is_int((long long) f.nallowed, 2, "two allowed ranges");
    tap_is_int((long long) f.ndenied, 2, "two denied ranges");

    tap_is_int(check(&f, "10.1.2.3"), TD_PEER_ALLOWED,
               "allowed beats denied-peer-ip and the default list");
    tap_is_int(check(&f, "10.1.255.255"), TD_PEER_ALLOWED,
               "allowed: last address of 10.1.0.0/16");
    tap_is_int(check(&f, "10.2.0.0"), TD_PEER_DENIED,
               "allowed: first address after it is the default's again");
    tap_is_int(check(&f, "10.0.255.255"), TD_PEER_DENIED,
               "allowed: last address before it is the default's again");
    tap_is_int(check(&f, "::ffff:10.1.2.3"), TD_PEER_ALLOWED,
               "allowed: mapped form of an allowed address");
    tap_is_int(check(&f, "10.1.5.6"), TD_PEER_ALLOWED, "allowed: 10.1.5.6");
    tap_is_int(check(&f, "2002:a01:506::"), TD_PEER_DENIED,
               "allowed: 6to4 form of an allowed IPv4 is not allowed");
    tap_is_int(check(&f, "64:ff9b::a01:506"), TD_PEER_DENIED,
               "allowed: NAT64 form of an allowed IPv4 is not allowed");
    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_ALLOWED,
               "allowed and denied: allowed wins");
    td_peer_filter_free(&f);

    tap_ok(f.allowed == NULL && f.nallowed == 0 && f.denied == NULL
           && f.ndenied == 0, "free empties the filter");

    /* an explicit IPv6 allow covers embedded forms */
    tap_is_int(td_peer_filter_add(&f, "64:ff9b::/96", 1, err, sizeof(err)),
               0, "allow 64:ff9b::/96");
    tap_is_int(td_peer_filter_add(&f, "2002:a00::/24", 1, err, sizeof(err)),
               0, "allow 2002:a00::/24");
    tap_is_int(check(&f, "64:ff9b::a01:203"), TD_PEER_ALLOWED,
               "allowed NAT64 range allows its members");
    tap_is_int(check(&f, "2002:a01:203::1"), TD_PEER_ALLOWED,
               "allowed 6to4 range allows its members");
    tap_is_int(check(&f, "2002:b01:203::1"), TD_PEER_DENIED,
               "6to4 outside the allowed part still denied");
    tap_is_int(check(&f, "64:ff9b::"), TD_PEER_DENIED_ALWAYS,
               "NAT64 of 0.0.0.0 is never allowed");
    td_peer_filter_free(&f);

    /* nothing allows the unspecified address */
    tap_is_int(td_peer_filter_add(&f, "0.0.0.0-255.255.255.255", 1, err,
                                  sizeof(err)),
               0, "allow 0.0.0.0-255.255.255.255");
    tap_is_int(td_peer_filter_add(&f, "::/0", 1, err, sizeof(err)),
               0, "allow ::/0");
    tap_is_int(td_peer_filter_add(&f, "0.0.0.0", 1, err, sizeof(err)),
               0, "allow 0.0.0.0");
    tap_is_int(td_peer_filter_add(&f, "::", 1, err, sizeof(err)),
               0, "allow ::");
    tap_is_int(check(&f, "0.0.0.0"), TD_PEER_DENIED_ALWAYS,
               "0.0.0.0 never allowed");
    tap_is_int(check(&f, "0.0.0.1"), TD_PEER_DENIED_ALWAYS,
               "0.0.0.1 never allowed");
    tap_is_int(check(&f, "::"), TD_PEER_DENIED_ALWAYS, ":: never allowed");
    tap_is_int(check(&f, "::ffff:0.0.0.0"), TD_PEER_DENIED_ALWAYS,
               "::ffff:0.0.0.0 never allowed");
    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_ALLOWED,
               "everything allowed: loopback allowed");
    tap_is_int(check(&f, "fe80::1"), TD_PEER_ALLOWED,
               "everything allowed: fe80::1 allowed");
    td_peer_filter_free(&f);
}


static void
test_denied(void)
{
    char              err[256];
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));

    tap_is_int(td_peer_filter_add(&f, "8.8.8.0/24", 0, err, sizeof(err)),
               0, "deny 8.8.8.0/24");
    tap_is_int(td_peer_filter_add(&f, "::ffff:1.1.1.0/120", 0, err,
                                  sizeof(err)),
               0, "deny ::ffff:1.1.1.0/120");
    tap_is_int(td_peer_filter_add(&f, "2606:4700::/32", 0, err, sizeof(err)),
               0, "deny 2606:4700::/32");
    tap_is_int(td_peer_filter_add(&f, "9.9.9.4 - 9.9.9.10", 0, err,
                                  sizeof(err)),
               0, "deny 9.9.9.4 - 9.9.9.10");

    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_DENIED_CONFIG,
               "denied: 8.8.8.8");
    tap_is_int(check(&f, "8.8.9.8"), TD_PEER_ALLOWED, "denied: 8.8.9.8 not");
    tap_is_int(check(&f, "::ffff:8.8.8.8"), TD_PEER_DENIED_CONFIG,
               "denied: ::ffff:8.8.8.8");
    tap_is_int(check(&f, "2002:808:808::"), TD_PEER_DENIED_CONFIG,
               "denied: 6to4 of 8.8.8.8");
    tap_is_int(check(&f, "64:ff9b::808:808"), TD_PEER_DENIED_CONFIG,
               "denied: NAT64 of 8.8.8.8");
    tap_is_int(check(&f, "::8.8.8.8"), TD_PEER_DENIED_CONFIG,
               "denied: compatible 8.8.8.8");
    tap_is_int(check(&f, "1.1.1.1"), TD_PEER_DENIED_CONFIG,
               "denied as mapped range: native 1.1.1.1");
    tap_is_int(check(&f, "::ffff:1.1.1.1"), TD_PEER_DENIED_CONFIG,
               "denied as mapped range: ::ffff:1.1.1.1");
    tap_is_int(check(&f, "1.1.2.1"), TD_PEER_ALLOWED,
               "denied as mapped range: 1.1.2.1 not");
    tap_is_int(check(&f, "2606:4700::1111"), TD_PEER_DENIED_CONFIG,
               "denied: 2606:4700::1111");
    tap_is_int(check(&f, "2606:4701::1111"), TD_PEER_ALLOWED,
               "denied: 2606:4701::1111 not");
    tap_is_int(check(&f, "9.9.9.3"), TD_PEER_ALLOWED, "range: 9.9.9.3 not");
    tap_is_int(check(&f, "9.9.9.4"), TD_PEER_DENIED_CONFIG,
               "range: 9.9.9.4 first");
    tap_is_int(check(&f, "9.9.9.10"), TD_PEER_DENIED_CONFIG,
               "range: 9.9.9.10 last");
    tap_is_int(check(&f, "9.9.9.11"), TD_PEER_ALLOWED,
               "range: 9.9.9.11 not");
    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_DENIED,
               "denied: defaults still apply");
    td_peer_filter_free(&f);

    /* host bits in a CIDR are cleared, like the kernel's route does */
    tap_is_int(td_peer_filter_add(&f, "11.1.2.3/8", 0, err, sizeof(err)),
               0, "deny 11.1.2.3/8");
    tap_is_int(check(&f, "11.200.0.1"), TD_PEER_DENIED_CONFIG,
               "11.1.2.3/8 covers 11.200.0.1");
    tap_is_int(check(&f, "11.0.0.1"), TD_PEER_DENIED_CONFIG,
               "11.1.2.3/8 covers 11.0.0.1");
    tap_is_int(check(&f, "12.0.0.0"), TD_PEER_ALLOWED,
               "11.1.2.3/8 stops before 12.0.0.0");
    tap_is_int(td_peer_filter_add(&f, "12.17.1.1/12", 0, err, sizeof(err)),
               0, "deny 12.17.1.1/12");
    tap_is_int(check(&f, "12.16.0.0"), TD_PEER_DENIED_CONFIG,
               "12.17.1.1/12 covers 12.16.0.0");
    tap_is_int(check(&f, "12.31.255.255"), TD_PEER_DENIED_CONFIG,
               "12.17.1.1/12 covers 12.31.255.255");
    tap_is_int(check(&f, "12.15.255.255"), TD_PEER_ALLOWED,
               "12.17.1.1/12 starts after 12.15.255.255");
    tap_is_int(check(&f, "12.32.0.0"), TD_PEER_ALLOWED,
               "12.17.1.1/12 stops before 12.32.0.0");
    tap_is_int(td_peer_filter_add(&f, "2a00:1:2:3:4:5:6:7/17", 0, err,
                                  sizeof(err)),
               0, "deny 2a00:1:2:3:4:5:6:7/17");
    tap_is_int(check(&f, "2a00::"), TD_PEER_DENIED_CONFIG,
               "/17: first address");
    tap_is_int(check(&f, "2a00:7fff:ffff:ffff:ffff:ffff:ffff:ffff"),
               TD_PEER_DENIED_CONFIG, "/17: last address");
    tap_is_int(check(&f, "2a00:8000::"), TD_PEER_ALLOWED,
               "/17: next address");
    tap_is_int(check(&f, "29ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
               TD_PEER_ALLOWED, "/17: previous address");
    td_peer_filter_free(&f);
}


static void
test_allow_only(void)
{
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));
    f.allow_only = 1;

    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_DENIED_CONFIG,
               "allow-only, empty list: public denied");

    tap_ok(td_peer_filter_add(&f, "8.8.8.0/24", 1, NULL, 0) == 0,
           "allow 8.8.8.0/24");
    tap_ok(td_peer_filter_add(&f, "10.0.0.5", 1, NULL, 0) == 0,
           "allow 10.0.0.5");
    tap_ok(td_peer_filter_add(&f, "2606:4700::/48", 1, NULL, 0) == 0,
           "allow 2606:4700::/48");

    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_ALLOWED, "allow-only: 8.8.8.8");
    tap_is_int(check(&f, "10.0.0.5"), TD_PEER_ALLOWED,
               "allow-only: intranet 10.0.0.5");
    tap_is_int(check(&f, "10.0.0.6"), TD_PEER_DENIED_CONFIG,
               "allow-only: 10.0.0.6 not");
    tap_is_int(check(&f, "2606:4700::1111"), TD_PEER_ALLOWED,
               "allow-only: 2606:4700::1111");
    tap_is_int(check(&f, "1.1.1.1"), TD_PEER_DENIED_CONFIG,
               "allow-only: 1.1.1.1 denied");
    tap_is_int(check(&f, "2606:4701::1"), TD_PEER_DENIED_CONFIG,
               "allow-only: 2606:4701::1 denied");
    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_DENIED_CONFIG,
               "allow-only: loopback denied");

    f.allow_loopback = 1;
    tap_is_int(check(&f, "127.0.0.1"), TD_PEER_ALLOWED,
               "allow-only + allow-loopback: loopback allowed");
    tap_is_int(check(&f, "::1"), TD_PEER_ALLOWED,
               "allow-only + allow-loopback: ::1 allowed");
    tap_is_int(check(&f, "1.1.1.1"), TD_PEER_DENIED_CONFIG,
               "allow-only + allow-loopback: 1.1.1.1 denied");
    tap_is_int(check(&f, "0.0.0.0"), TD_PEER_DENIED_ALWAYS,
               "allow-only: 0.0.0.0 always");
    td_peer_filter_free(&f);
}


static void
test_specs(void)
{
    char              err[256], spec[1100];
    size_t            i;
    td_peer_filter_t  f;

    memset(&f, 0, sizeof(f));

    for (i = 0; i < sizeof(bad_specs) / sizeof(char *); i++) {
        err[0] = '\0';
        tap_ok(td_peer_filter_add(&f, bad_specs[i], i % 2, err, sizeof(err))
               == -1 && strncmp(err, "invalid ", 8) == 0
               && f.nallowed == 0 && f.ndenied == 0,
               "bad spec \"%s\" rejected: %s", bad_specs[i], err);
    }

    tap_ok(td_peer_filter_add(&f, "foo", 1, err, sizeof(err)) == -1
           && strcmp(err, "invalid address \"foo\"") == 0,
           "message names the spec: %s", err);

    tap_ok(td_peer_filter_add(&f, "1.2.3.10-1.2.3.4", 0, err, sizeof(err))
           == -1 && strstr(err, "ends before it starts") != NULL
           && strstr(err, "\"1.2.3.10-1.2.3.4\"") != NULL,
           "reversed range message: %s", err);

    tap_ok(td_peer_filter_add(&f, "1.2.3.4-::1", 0, err, sizeof(err))
           == -1 && strstr(err, "mixed") != NULL,
           "mixed families message: %s", err);

    tap_ok(td_peer_filter_add(&f, "1.2.3.4/33", 0, err, sizeof(err))
           == -1 && strstr(err, "prefix length") != NULL,
           "prefix message: %s", err);

    tap_ok(td_peer_filter_add(&f, "a\"b\x01", 0, err, sizeof(err)) == -1
           && strcmp(err, "invalid address \"a\\x22b\\x01\"") == 0,
           "odd bytes escaped in the message: %s", err);

    memset(spec, '1', sizeof(spec) - 1);
    spec[sizeof(spec) - 1] = '\0';
    tap_ok(td_peer_filter_add(&f, spec, 0, err, sizeof(err)) == -1
           && strlen(err) < 100 && strstr(err, "...\"") != NULL,
           "a long spec is cut short in the message");

    tap_ok(td_peer_filter_add(&f, "foo", 0, err, 8) == -1
           && strlen(err) == 7, "message cut to err_len");
    tap_ok(td_peer_filter_add(&f, NULL, 0, err, sizeof(err)) == -1,
           "NULL spec rejected");
    tap_ok(f.nallowed == 0 && f.ndenied == 0, "nothing was added");

    tap_ok(td_peer_filter_add(&f, "  1.2.3.4\t", 0, err, sizeof(err)) == 0,
           "blanks around a spec are trimmed");
    tap_ok(td_peer_filter_add(&f, "0.0.0.0/0", 0, err, sizeof(err)) == 0,
           "0.0.0.0/0");
    tap_ok(td_peer_filter_add(&f, "1.2.3.4/32", 0, err, sizeof(err)) == 0,
           "1.2.3.4/32");
    tap_ok(td_peer_filter_add(&f, "::/0", 0, err, sizeof(err)) == 0,
           "::/0");
    tap_ok(td_peer_filter_add(&f, "fe80::1-fe80::ff", 0, err, sizeof(err))
           == 0, "fe80::1-fe80::ff");
    tap_ok(td_peer_filter_add(&f, "2001:db8::/128", 0, err, sizeof(err))
           == 0, "2001:db8::/128");
    tap_is_int((long long) f.ndenied, 6, "six ranges");
    tap_is_int(check(&f, "8.8.8.8"), TD_PEER_DENIED_CONFIG,
               "0.0.0.0/0 denies everything IPv4");
    tap_is_int(check(&f, "2606:4700::1111"), TD_PEER_DENIED_CONFIG,
               "::/0 denies everything IPv6");
    td_peer_filter_free(&f);

    /* many ranges: the array grows; the last one added still counts */
    for (i = 0; i < 1000; i++) {
        snprintf(spec, sizeof(spec), "20.%zu.%zu.0/24", i / 256, i % 256);
        if (td_peer_filter_add(&f, spec, 0, err, sizeof(err)) != 0) {
            break;
        }
    }

    tap_is_int((long long) f.ndenied, 1000, "1000 ranges added");
    tap_is_int(check(&f, "20.3.231.7"), TD_PEER_DENIED_CONFIG,
               "range 999 denies");
    tap_is_int(check(&f, "20.0.0.9"), TD_PEER_DENIED_CONFIG,
               "range 0 denies");
    tap_is_int(check(&f, "20.3.232.7"), TD_PEER_ALLOWED,
               "after range 999 allowed");
    td_peer_filter_free(&f);
}


static void
test_canonicalize(void)
{
    struct sockaddr_in       *sin;
    struct sockaddr_in6      *sin6;
    struct sockaddr_storage   in, out;
    char                      buf[INET6_ADDRSTRLEN];
    size_t                    i;

    static const struct {
        const char  *from;
        const char  *to;      /* IPv4, or NULL: left as it is */
    } cases[] = {
        { "::ffff:127.0.0.1", "127.0.0.1" },
        { "::ffff:8.8.8.8", "8.8.8.8" },
        { "::10.1.2.3", "10.1.2.3" },
        { "::0.0.0.2", "0.0.0.2" },
        { "2002:7f00:1::", "127.0.0.1" },
        { "2002:c0a8:101:1234:5678::9", "192.168.1.1" },
        { "64:ff9b::a9fe:a9fe", "169.254.169.254" },
        { "::", NULL },
        { "::1", NULL },
        { "fe80::1", NULL },
        { "2606:4700::1111", NULL },
        { "64:ff9b:1::a9fe:a9fe", NULL },
        { "::ffff:0:7f00:1", NULL },                  /* SIIT, not mapped */
        { "2003:7f00:1::", NULL }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(&in, addr(cases[i].from, 4242), sizeof(in));
        memset(&out, 0xa5, sizeof(out));
        td_peer_canonicalize((struct sockaddr *) &in, &out);

        sin = (struct sockaddr_in *) &out;
        sin6 = (struct sockaddr_in6 *) &out;

        if (cases[i].to != NULL) {
            tap_ok(sin->sin_family == AF_INET
                   && ntohs(sin->sin_port) == 4242
                   && inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf))
                   && strcmp(buf, cases[i].to) == 0,
                   "canonical %s = %s port 4242", cases[i].from,
                   cases[i].to);

        } else {
            tap_ok(memcmp(&in, &out, sizeof(struct sockaddr_in6)) == 0
                   && sin6->sin6_family == AF_INET6,
                   "canonical %s unchanged", cases[i].from);
        }
    }

    /*
     * Why callers must check the address as sent: the canonical form of a
     * 6to4 address loses its 2002::/16, which is denied by default.
     */
    memcpy(&in, addr("2002:808:808::", 1), sizeof(in));
    td_peer_canonicalize((struct sockaddr *) &in, &out);
    tap_ok(td_peer_check(NULL, (struct sockaddr *) &in) == TD_PEER_DENIED
           && td_peer_check(NULL, (struct sockaddr *) &out)
              == TD_PEER_ALLOWED,
           "check as sent, not canonicalized (6to4 of 8.8.8.8)");

    memcpy(&in, addr("8.8.4.4", 53), sizeof(in));
    td_peer_canonicalize((struct sockaddr *) &in, &out);
    tap_ok(memcmp(&in, &out, sizeof(struct sockaddr_in)) == 0,
           "canonical IPv4 is a copy");
}


static void
test_reasons(void)
{
    tap_ok(strcmp(td_peer_reason(TD_PEER_ALLOWED), "allowed") == 0,
           "reason: allowed");
    tap_ok(strcmp(td_peer_reason(TD_PEER_DENIED), "special-purpose range")
           == 0, "reason: special-purpose range");
    tap_ok(strlen(td_peer_reason(TD_PEER_DENIED_CONFIG)) > 0
           && strlen(td_peer_reason(TD_PEER_DENIED_ALWAYS)) > 0
           && strcmp(td_peer_reason(TD_PEER_DENIED_CONFIG),
                     td_peer_reason(TD_PEER_DENIED_ALWAYS)) != 0,
           "reasons: config and always differ");
    tap_ok(td_peer_reason(12345) != NULL, "reason: unknown code");
}


static void
test_self(void)
{
    td_peer_filter_t          f;
    struct sockaddr_storage   lo, hi;

    memset(&f, 0, sizeof(f));
    f.allow_loopback = 1;

    td_peer_self_clear();

    /* a listener on 127.0.0.1:3478, relays 49152-49200 on 93.184.216.0/24 */
    lo = *addr("127.0.0.1", 0);
    tap_is_int(td_peer_self_add((struct sockaddr *) &lo, NULL, 3478, 3478,
                                0),
               0, "self: listener added");
    lo = *addr("93.184.216.0", 0);
    hi = *addr("93.184.216.255", 0);
    tap_is_int(td_peer_self_add((struct sockaddr *) &lo,
                                (struct sockaddr *) &hi, 49152, 49200,
                                1),
               0, "self: relay range added");

    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("127.0.0.1",
                                                             3478)),
               TD_PEER_DENIED_SELF, "self: the listener is denied");
    tap_is_int(td_peer_check(&f, (struct sockaddr *)
                                 addr("::ffff:127.0.0.1", 3478)),
               TD_PEER_DENIED_SELF, "self: its mapped form too");
    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("127.0.0.1",
                                                             3479)),
               TD_PEER_ALLOWED, "self: another port of it is not ours");
    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("93.184.216.9",
                                                             49200)),
               TD_PEER_DENIED_SELF, "self: the relay range's last port");
    f.allow_relays = 1;
    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("93.184.216.9",
                                                             49200)),
               TD_PEER_ALLOWED, "self: allow-relay-peers: relays allowed");
    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("127.0.0.1",
                                                             3478)),
               TD_PEER_DENIED_SELF, "self: allow-relay-peers: not the "
               "listener");
    f.allow_relays = 0;
    tap_is_int(td_peer_self_ip((struct sockaddr *) addr("93.184.216.9",
                                                         1)),
               1, "self: the relay IP, any port");
    tap_is_int(td_peer_self_ip((struct sockaddr *) addr("192.0.2.1", 1)),
               0, "self: another IP");

    /* allowed-peer-ip beats it */
    tap_is_int(td_peer_filter_add(&f, "127.0.0.1", 1, NULL, 0), 0,
               "self: allowed-peer-ip=127.0.0.1");
    tap_is_int(td_peer_check(&f, (struct sockaddr *) addr("127.0.0.1",
                                                             3478)),
               TD_PEER_ALLOWED, "self: allowed explicitly");
    tap_ok(strcmp(td_peer_reason(TD_PEER_DENIED_SELF), "turnd's own address")
           == 0, "self: its reason");

    td_peer_filter_free(&f);
    td_peer_self_clear();
}


int
main(void)
{
    test_defaults();
    test_odd_family();
    test_loopback();
    test_allowed();
    test_denied();
    test_allow_only();
    test_specs();
    test_canonicalize();
    test_reasons();
    test_self();

    return tap_done();
}
