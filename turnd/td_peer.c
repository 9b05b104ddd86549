
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "td_peer.h"


/*
 * A closed range [lo, hi] of one family, in network byte order; IPv4 uses
 * the first 4 bytes.  Ranges given as IPv4-mapped IPv6 are stored as IPv4,
 * so they also match the IPv4 form of an address and vice versa.
 */
struct td_peer_range_s {
    uint8_t         lo[16];
    uint8_t         hi[16];
    int             family;
};


typedef struct {
    uint8_t         net[16];
    unsigned        bits;
} td_peer_net_t;


/* what an IPv6 address embeds */
#define TD_PEER_NATIVE    0         /* nothing, or it is IPv4 itself */
#define TD_PEER_MAPPED    1         /* ::ffff:0:0/96: the same host */
#define TD_PEER_COMPAT    2         /* ::/96 except :: and ::1 */
#define TD_PEER_6TO4      3         /* 2002::/16 */
#define TD_PEER_NAT64     4         /* 64:ff9b::/96 */


/* an address being checked: its own form and its IPv4 form, if any */
typedef struct {
    uint8_t         a6[16];
    uint8_t         a4[4];
    unsigned        has6:1;
    unsigned        has4:1;
    unsigned        embed:3;
} td_peer_addr_t;


#define TD_PEER_SPEC_MAX  128       /* longer specs are not addresses */
#define TD_PEER_SELF_MAX  256
#define TD_PEER_RANGES_MAX  65536


typedef struct {
    td_peer_range_t  range;
    unsigned         port_lo;
    unsigned         port_hi;
    unsigned         relay;
} td_peer_self_t;


static unsigned td_peer_port(const struct sockaddr *sa);
static int td_peer_embedded(const uint8_t *a6, uint8_t *a4);
static int td_peer_addr(const struct sockaddr *sa, td_peer_addr_t *a);
static int td_peer_self_match(const td_peer_addr_t *a, unsigned port,
    int any_port, int relays);
static int td_peer_prefix_match(const uint8_t *addr, const uint8_t *net,
    unsigned bits);
static int td_peer_in_list(const td_peer_net_t *list, size_t n,
    const uint8_t *addr);
static int td_peer_in_ranges(const td_peer_range_t *r, size_t n,
    int family, const uint8_t *addr);
static int td_peer_match(const td_peer_range_t *r, size_t n,
    const td_peer_addr_t *a, int any_embedding);
static int td_peer_parse_addr(const char *s, size_t len, int *family,
    uint8_t *addr);
static int td_peer_error(char *err, size_t err_len, const char *what,
    const char *spec);


#define TD_V4(a, b, c, d)  { a, b, c, d }

#define TD_V6(a, b, c, d, e, f, g, h)                                         \
    { (a) >> 8, (a) & 0xff, (b) >> 8, (b) & 0xff, (c) >> 8, (c) & 0xff,       \
      (d) >> 8, (d) & 0xff, (e) >> 8, (e) & 0xff, (f) >> 8, (f) & 0xff,       \
      (g) >> 8, (g) & 0xff, (h) >> 8, (h) & 0xff }


/*
 * reference/turn-anchors.md 3.3: IANA special-purpose ranges (Enable
 * Security's profile, eturnal's "recommended", coturn 4.13.1's always-deny
 * set).  0.0.0.0/8 and :: are handled before these (never allowed).
 */
static const td_peer_net_t  td_peer_deny4[] = {
    { TD_V4(0, 0, 0, 0), 8 },
    { TD_V4(10, 0, 0, 0), 8 },
    { TD_V4(100, 64, 0, 0), 10 },          /* CGNAT, Alibaba metadata */
    { TD_V4(127, 0, 0, 0), 8 },
    { TD_V4(169, 254, 0, 0), 16 },         /* cloud metadata services */
    { TD_V4(172, 16, 0, 0), 12 },
    { TD_V4(192, 0, 0, 0), 24 },
    { TD_V4(192, 0, 2, 0), 24 },
    { TD_V4(192, 31, 196, 0), 24 },
    { TD_V4(192, 52, 193, 0), 24 },
    { TD_V4(192, 88, 99, 0), 24 },
    { TD_V4(192, 168, 0, 0), 16 },
    { TD_V4(192, 175, 48, 0), 24 },
    { TD_V4(198, 18, 0, 0), 15 },
    { TD_V4(198, 51, 100, 0), 24 },
    { TD_V4(203, 0, 113, 0), 24 },
    { TD_V4(224, 0, 0, 0), 4 },
    { TD_V4(240, 0, 0, 0), 4 }             /* with 255.255.255.255 */
};


static const td_peer_net_t  td_peer_deny6[] = {
    { TD_V6(0, 0, 0, 0, 0, 0, 0, 0), 128 },
    { TD_V6(0, 0, 0, 0, 0, 0, 0, 1), 128 },
    { TD_V6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96 },
    { TD_V6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48 },
    { TD_V6(0x100, 0, 0, 0, 0, 0, 0, 0), 64 },
    { TD_V6(0x100, 0, 0, 1, 0, 0, 0, 0), 64 },
    { TD_V6(0x2001, 0, 0, 0, 0, 0, 0, 0), 23 },       /* Teredo too */
    { TD_V6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32 },
    { TD_V6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16 },
    { TD_V6(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48 },
    { TD_V6(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20 },
    { TD_V6(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16 },
    { TD_V6(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7 },        /* ULA, fd00:ec2::254 */
    { TD_V6(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10 },
    { TD_V6(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10 },
    { TD_V6(0xff00, 0, 0, 0, 0, 0, 0, 0), 8 }
};


static const uint8_t  td_peer_mapped_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static const uint8_t  td_peer_loopback6[16] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
};

static const uint8_t  td_peer_nat64_prefix[12] = {
    0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
};


static td_peer_self_t  td_peer_selfs[TD_PEER_SELF_MAX];
static size_t          td_peer_nself;


int
td_peer_filter_add(td_peer_filter_t *f, const char *spec, int allow,
    char *err, size_t err_len)
{
    int               fam1, fam2;
    size_t            len, n, i, *np;
    unsigned          bits, plen;
    const char       *s, *e, *sep, *a2, *p;
    td_peer_range_t   r, *list, **listp;

    if (spec == NULL) {
        return td_peer_error(err, err_len, "invalid address", "");
    }

    /* blanks around the spec are what a config line leaves, not errors */
    s = spec;
    while (*s == ' ' || *s == '\t') {
        s++;
    }

    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }

    len = (size_t) (e - s);

    if (len == 0 || len > TD_PEER_SPEC_MAX) {
        return td_peer_error(err, err_len, "invalid address", spec);
    }

    memset(&r, 0, sizeof(td_peer_range_t));

    sep = memchr(s, '/', len);

    if (sep != NULL) {

        if (memchr(s, '-', len) != NULL) {
            return td_peer_error(err, err_len,
                                 "invalid address range (both \"/\" and "
                                 "\"-\")", spec);
        }

        if (td_peer_parse_addr(s, (size_t) (sep - s), &fam1, r.lo) != 0) {
            return td_peer_error(err, err_len, "invalid address", spec);
        }

        /* 1 to 3 decimal digits, nothing else */
        p = sep + 1;
        plen = (unsigned) (e - p);
        bits = 0;

        if (plen == 0 || plen > 3) {
            return td_peer_error(err, err_len, "invalid prefix length in",
                                 spec);
        }

        for (i = 0; i < plen; i++) {
            if (p[i] < '0' || p[i] > '9') {
                return td_peer_error(err, err_len,
                                     "invalid prefix length in", spec);
            }

            bits = bits * 10 + (unsigned) (p[i] - '0');
        }

        if (bits > (fam1 == AF_INET ? 32u : 128u)) {
            return td_peer_error(err, err_len, "invalid prefix length in",
                                 spec);
        }

        /* host bits are cleared: "10.1.2.3/8" means 10.0.0.0/8 */
        n = (fam1 == AF_INET) ? 4 : 16;

        for (i = 0; i < n; i++) {
            if (bits >= (i + 1) * 8) {
                r.hi[i] = r.lo[i];

            } else if (bits <= i * 8) {
                r.lo[i] = 0;
                r.hi[i] = 0xff;

            } else {
                r.lo[i] &= (uint8_t) (0xff << (8 - (bits - i * 8)));
                r.hi[i] = r.lo[i] | (uint8_t) (0xff >> (bits - i * 8));
            }
        }

    } else {
        sep = memchr(s, '-', len);

        if (sep == NULL) {
            if (td_peer_parse_addr(s, len, &fam1, r.lo) != 0) {
                return td_peer_error(err, err_len, "invalid address", spec);
            }

            memcpy(r.hi, r.lo, 16);

        } else {
            /* "A-B", blanks allowed around "-" */
            p = sep;
            while (p > s && (p[-1] == ' ' || p[-1] == '\t')) {
                p--;
            }

            a2 = sep + 1;
            while (a2 < e && (*a2 == ' ' || *a2 == '\t')) {
                a2++;
            }

            if (td_peer_parse_addr(s, (size_t) (p - s), &fam1, r.lo) != 0
                || td_peer_parse_addr(a2, (size_t) (e - a2), &fam2, r.hi)
                   != 0)
            {
                return td_peer_error(err, err_len, "invalid address range",
                                     spec);
            }

            if (fam1 != fam2) {
                return td_peer_error(err, err_len,
                                     "invalid address range (IPv4 and "
                                     "IPv6 mixed)", spec);
            }

            if (memcmp(r.lo, r.hi, fam1 == AF_INET ? 4 : 16) > 0) {
                return td_peer_error(err, err_len,
                                     "invalid address range (it ends "
                                     "before it starts)", spec);
            }
        }
    }

    r.family = fam1;

    /* a range of mapped addresses is an IPv4 range */
    if (r.family == AF_INET6
        && memcmp(r.lo, td_peer_mapped_prefix, 12) == 0
        && memcmp(r.hi, td_peer_mapped_prefix, 12) == 0)
    {
        memmove(r.lo, r.lo + 12, 4);
        memmove(r.hi, r.hi + 12, 4);
        memset(r.lo + 4, 0, 12);
        memset(r.hi + 4, 0, 12);
        r.family = AF_INET;
    }

    listp = allow ? &f->allowed : &f->denied;
    np = allow ? &f->nallowed : &f->ndenied;

    if (*np >= TD_PEER_RANGES_MAX) {
        return td_peer_error(err, err_len, "too many address ranges at",
                             spec);
    }

    /* grow by doubling: n is a power of two whenever the array is full */
    n = *np;

    if (n == 0 || (n & (n - 1)) == 0) {
        list = realloc(*listp, (n == 0 ? 1 : n * 2)
                               * sizeof(td_peer_range_t));
        if (list == NULL) {
            return td_peer_error(err, err_len, "out of memory adding", spec);
        }

        *listp = list;
    }

    (*listp)[n] = r;
    *np = n + 1;

    return 0;
}


void
td_peer_filter_free(td_peer_filter_t *f)
{
    free(f->allowed);
    free(f->denied);

    f->allowed = NULL;
    f->nallowed = 0;
    f->denied = NULL;
    f->ndenied = 0;
}


int
td_peer_check(const td_peer_filter_t *f, const struct sockaddr *sa)
{
    size_t                      i;
    td_peer_addr_t              a;

    if (td_peer_addr(sa, &a) != 0) {
        return TD_PEER_DENIED_ALWAYS;
    }

    /* 1. "this network" and the unspecified address, in any form */
    if (a.has4 && a.a4[0] == 0) {
        return TD_PEER_DENIED_ALWAYS;
    }

    if (a.has6) {
        for (i = 0; i < 16 && a.a6[i] == 0; i++) {
            /* void */
        }

        if (i == 16) {
            return TD_PEER_DENIED_ALWAYS;
        }
    }

    if (f != NULL) {

        /*
         * 2. allowed-peer-ip.  An IPv4 range covers the mapped form of its
         * addresses (the same host), but not 6to4, NAT64 or compatible
         * forms: those reach other hosts, so they must be allowed as IPv6.
         */
        if (td_peer_match(f->allowed, f->nallowed, &a, 0)) {
            return TD_PEER_ALLOWED;
        }

        /* 2b. ours: whatever reaches a listener or a relay socket */
        if (td_peer_nself > 0
            && td_peer_self_match(&a, td_peer_port(sa), 0,
                                  !f->allow_relays))
        {
            return TD_PEER_DENIED_SELF;
        }

        /* 3. denied-peer-ip: the IPv6 form or any embedded IPv4 */
        if (td_peer_match(f->denied, f->ndenied, &a, 1)) {
            return TD_PEER_DENIED_CONFIG;
        }

        /* 4. loopback: 127/8 itself or mapped, and ::1 */
        if (f->allow_loopback) {
            if (a.has4 && a.a4[0] == 127
                && (!a.has6 || a.embed == TD_PEER_MAPPED))
            {
                return TD_PEER_ALLOWED;
            }

            if (a.has6 && memcmp(a.a6, td_peer_loopback6, 16) == 0) {
                return TD_PEER_ALLOWED;
            }
        }

        if (f->allow_only) {
            return TD_PEER_DENIED_CONFIG;
        }
    }

    /* 5. the default list, for both forms */
    if (a.has6
        && td_peer_in_list(td_peer_deny6,
                           sizeof(td_peer_deny6) / sizeof(td_peer_net_t),
                           a.a6))
    {
        return TD_PEER_DENIED;
    }

    if (a.has4
        && td_peer_in_list(td_peer_deny4,
                           sizeof(td_peer_deny4) / sizeof(td_peer_net_t),
                           a.a4))
    {
        return TD_PEER_DENIED;
    }

    return TD_PEER_ALLOWED;
}


int
td_peer_self_add(const struct sockaddr *lo, const struct sockaddr *hi,
    unsigned port_lo, unsigned port_hi, int relay)
{
    size_t           len;
    td_peer_self_t  *e;

    if (td_peer_nself == TD_PEER_SELF_MAX) {
        return -1;
    }

    e = &td_peer_selfs[td_peer_nself];
    memset(e, 0, sizeof(td_peer_self_t));

    if (hi == NULL) {
        hi = lo;
    }

    if (lo->sa_family != hi->sa_family) {
        return -1;
    }

    if (lo->sa_family == AF_INET) {
        len = 4;
        memcpy(e->range.lo, &((struct sockaddr_in *) lo)->sin_addr, len);
        memcpy(e->range.hi, &((struct sockaddr_in *) hi)->sin_addr, len);

    } else if (lo->sa_family == AF_INET6) {
        len = 16;
        memcpy(e->range.lo, &((struct sockaddr_in6 *) lo)->sin6_addr, len);
        memcpy(e->range.hi, &((struct sockaddr_in6 *) hi)->sin6_addr, len);

    } else {
        return -1;
    }

    e->range.family = lo->sa_family;
    e->port_lo = port_lo;
    e->port_hi = port_hi;
    e->relay = relay ? 1 : 0;
    td_peer_nself++;

    return 0;
}


void
td_peer_self_clear(void)
{
    td_peer_nself = 0;
}


int
td_peer_self_ip(const struct sockaddr *sa)
{
    td_peer_addr_t  a;

    if (td_peer_nself == 0 || td_peer_addr(sa, &a) != 0) {
        return 0;
    }

    return td_peer_self_match(&a, 0, 1, 1);
}


/* any form that reaches the address: IPv6, or the IPv4 it embeds */

static int
td_peer_self_match(const td_peer_addr_t *a, unsigned port, int any_port,
    int relays)
{
    size_t           i;
    const uint8_t   *addr;
    td_peer_self_t  *e;

    for (i = 0; i < td_peer_nself; i++) {
        e = &td_peer_selfs[i];

        if ((!any_port && (port < e->port_lo || port > e->port_hi))
            || (e->relay && !relays))
        {
            continue;
        }

        if (e->range.family == AF_INET) {
            if (!a->has4) {
                continue;
            }

            addr = a->a4;

        } else {
            if (!a->has6) {
                continue;
            }

            addr = a->a6;
        }

        if (td_peer_in_ranges(&e->range, 1, e->range.family, addr)) {
            return 1;
        }
    }

    return 0;
}


static unsigned
td_peer_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *) sa)->sin_port);
    }

    return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
}


/* the address and the IPv4 it embeds; -1 when not IPv4 or IPv6 */

static int
td_peer_addr(const struct sockaddr *sa, td_peer_addr_t *a)
{
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    memset(a, 0, sizeof(td_peer_addr_t));

    if (sa == NULL) {
        return -1;
    }

    if (sa->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) sa;
        memcpy(a->a4, &sin->sin_addr, 4);
        a->has4 = 1;

    } else if (sa->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) sa;
        memcpy(a->a6, &sin6->sin6_addr, 16);
        a->has6 = 1;
        a->embed = td_peer_embedded(a->a6, a->a4);
        a->has4 = (a->embed != TD_PEER_NATIVE);

    } else {
        return -1;
    }

    return 0;
}


const char *
td_peer_reason(int rc)
{
    switch (rc) {

    case TD_PEER_ALLOWED:
        return "allowed";

    case TD_PEER_DENIED:
        return "special-purpose range";

    case TD_PEER_DENIED_CONFIG:
        return "denied by configuration";

    case TD_PEER_DENIED_ALWAYS:
        return "unspecified address";

    case TD_PEER_DENIED_SELF:
        return "turnd's own address";

    default:
        return "unknown";
    }
}


void
td_peer_canonicalize(const struct sockaddr *sa,
    struct sockaddr_storage *out)
{
    uint8_t                     a4[4];
    struct sockaddr_in         *sin;
    const struct sockaddr_in6  *sin6;

    memset(out, 0, sizeof(struct sockaddr_storage));

    if (sa == NULL) {
        return;
    }

    if (sa->sa_family == AF_INET) {
        memcpy(out, sa, sizeof(struct sockaddr_in));
        return;
    }

    if (sa->sa_family != AF_INET6) {
        out->ss_family = sa->sa_family;
        return;
    }

    sin6 = (const struct sockaddr_in6 *) sa;

    if (td_peer_embedded(sin6->sin6_addr.s6_addr, a4) == TD_PEER_NATIVE) {
        memcpy(out, sa, sizeof(struct sockaddr_in6));
        return;
    }

    sin = (struct sockaddr_in *) out;
    sin->sin_family = AF_INET;
    sin->sin_port = sin6->sin6_port;
    memcpy(&sin->sin_addr, a4, 4);
}


/* which IPv4 an IPv6 address embeds, into a4; TD_PEER_NATIVE: none */

static int
td_peer_embedded(const uint8_t *a6, uint8_t *a4)
{
    if (memcmp(a6, td_peer_mapped_prefix, 12) == 0) {
        memcpy(a4, a6 + 12, 4);
        return TD_PEER_MAPPED;
    }

    if (memcmp(a6, td_peer_nat64_prefix, 12) == 0) {
        memcpy(a4, a6 + 12, 4);
        return TD_PEER_NAT64;
    }

    if (a6[0] == 0x20 && a6[1] == 0x02) {
        memcpy(a4, a6 + 2, 4);
        return TD_PEER_6TO4;
    }

    /* ::/96 but not :: (unspecified) and not ::1 (loopback) */
    if (memcmp(a6, td_peer_mapped_prefix, 10) == 0
        && a6[10] == 0 && a6[11] == 0
        && !(a6[12] == 0 && a6[13] == 0 && a6[14] == 0 && a6[15] <= 1))
    {
        memcpy(a4, a6 + 12, 4);
        return TD_PEER_COMPAT;
    }

    return TD_PEER_NATIVE;
}


static int
td_peer_prefix_match(const uint8_t *addr, const uint8_t *net, unsigned bits)
{
    unsigned  full, rest;
    uint8_t   mask;

    full = bits / 8;
    rest = bits % 8;

    if (memcmp(addr, net, full) != 0) {
        return 0;
    }

    if (rest == 0) {
        return 1;
    }

    mask = (uint8_t) (0xff << (8 - rest));

    return (addr[full] & mask) == (net[full] & mask);
}


static int
td_peer_in_list(const td_peer_net_t *list, size_t n, const uint8_t *addr)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (td_peer_prefix_match(addr, list[i].net, list[i].bits)) {
            return 1;
        }
    }

    return 0;
}


static int
td_peer_in_ranges(const td_peer_range_t *r, size_t n, int family,
    const uint8_t *addr)
{
    size_t  i, len;

    len = (family == AF_INET) ? 4 : 16;

    for (i = 0; i < n; i++) {
        if (r[i].family == family
            && memcmp(addr, r[i].lo, len) >= 0
            && memcmp(addr, r[i].hi, len) <= 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Does a range contain the address?  Its IPv6 form always counts; its
 * IPv4 form counts when it is IPv4, or mapped, or any_embedding is set.
 */

static int
td_peer_match(const td_peer_range_t *r, size_t n, const td_peer_addr_t *a,
    int any_embedding)
{
    if (n == 0) {
        return 0;
    }

    if (a->has6 && td_peer_in_ranges(r, n, AF_INET6, a->a6)) {
        return 1;
    }

    if (a->has4
        && (!a->has6 || a->embed == TD_PEER_MAPPED || any_embedding)
        && td_peer_in_ranges(r, n, AF_INET, a->a4))
    {
        return 1;
    }

    return 0;
}


static int
td_peer_parse_addr(const char *s, size_t len, int *family, uint8_t *addr)
{
    char  buf[INET6_ADDRSTRLEN + 1];

    memset(addr, 0, 16);

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    /* inet_pton() takes only dotted quads and plain IPv6, no zone ids */
    if (memchr(buf, ':', len) != NULL) {
        *family = AF_INET6;
        return inet_pton(AF_INET6, buf, addr) == 1 ? 0 : -1;
    }

    *family = AF_INET;

    return inet_pton(AF_INET, buf, addr) == 1 ? 0 : -1;
}


/* "what "SPEC"", the spec cut short and its odd bytes escaped */

static int
td_peer_error(char *err, size_t err_len, const char *what, const char *spec)
{
    char     buf[4 * 64 + 4];
    size_t   i, j;
    uint8_t  c;

    if (err == NULL || err_len == 0) {
        return -1;
    }

    j = 0;

    for (i = 0; spec[i] != '\0' && i < 64; i++) {
        c = (uint8_t) spec[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            j += (size_t) snprintf(buf + j, sizeof(buf) - j, "\\x%02x", c);

        } else {
            buf[j++] = (char) c;
        }
    }

    if (spec[i] != '\0') {
        memcpy(buf + j, "...", 3);
        j += 3;
    }

    buf[j] = '\0';

    snprintf(err, err_len, "%s \"%s\"", what, buf);

    return -1;
}
