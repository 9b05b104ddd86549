
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * The user-space half of kernel-offload: loads td_offload.bpf.c (built
 * into turnd as a bpftool skeleton), attaches it with tcx links, keeps
 * the map in step with channels and folds the program's counters into
 * the thread's.  Links and map are file descriptors of this process,
 * never pinned: after a crash or kill -9 the kernel drops them, so a
 * restart finds nothing stale.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "td_log.h"
#include "td_server.h"
#include "td_offload.h"
#include "td_offload_map.h"
#include "td_offload.skel.h"


/* tcx (Linux 6.6): links that go with their file descriptor */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS        46
#endif

#define TD_OFFLOAD_MAX_IFS     32


/* a mapped channel: its two keys and what was folded of each */

typedef struct {
    struct td_offload_key     key[2];        /* client's, peer's */
    uint64_t                  packets[2];
    uint64_t                  bytes[2];
} td_offload_chan_t;


static struct td_offload_bpf  *td_skel;
static int                     td_map_fd = -1;
static int                     td_links[TD_OFFLOAD_MAX_IFS];
static unsigned                td_nlinks;


static int td_offload_attach(char *names, size_t len);
static void td_offload_fold(td_chan_t *c, td_offload_chan_t *m,
    int del);
static void td_offload_key(struct td_offload_key *k,
    const struct sockaddr *src, const struct sockaddr *dst,
    uint16_t channel);


/* libbpf's own lines (the verifier's log) only with -V */

static int
td_offload_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    char  line[512];

    if (level == LIBBPF_DEBUG || !td_log_enabled(TD_LOG_DEBUG)) {
        return 0;
    }

    vsnprintf(line, sizeof(line), fmt, ap);
    td_log(TD_LOG_DEBUG, "libbpf: %.*s", (int) strcspn(line, "\n"), line);

    return 0;
}


void
td_offload_init(const td_conf_t *conf)
{
    int          err;
    char         names[256];
    const char  *why;

    if (!conf->kernel_offload) {
        return;
    }

    libbpf_set_print(td_offload_print);

    td_skel = td_offload_bpf__open();
    if (td_skel == NULL) {
        err = errno;
        why = "cannot open the program";
        goto failed;
    }

    err = -td_offload_bpf__load(td_skel);
    if (err != 0) {
        why = "the kernel refused the program or its map";
        goto failed;
    }

    td_map_fd = bpf_map__fd(td_skel->maps.td_offload_map);

    err = td_offload_attach(names, sizeof(names));
    if (err != 0) {
        why = "cannot attach the program to the interfaces (tcx needs "
              "Linux 6.6)";
        goto failed;
    }

    td_log(TD_LOG_NOTICE, "kernel offload on: UDP ChannelData relayed by "
           "a TC program on %s", names);

    return;

failed:

    if (err == EPERM) {
        why = "no privilege (CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON "
              "needed)";

    } else if (err == EACCES) {
        why = "the verifier refused the program (without CAP_PERFMON, or "
              "an older kernel)";
    }

    td_log(TD_LOG_NOTICE, "kernel offload off: %s: %s; relaying in user "
           "space", why, strerror(err));

    td_offload_cleanup();
}


/* every interface that is up, loopback excepted */

static int
td_offload_attach(char *names, size_t len)
{
    int                    fd, lfd, err, prog;
    size_t                 n;
    struct ifreq           ifr;
    struct if_nameindex   *ifs, *i;

    ifs = if_nameindex();
    if (ifs == NULL) {
        return errno;
    }

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    prog = bpf_program__fd(td_skel->progs.td_offload_tc);
    err = ENODEV;
    n = 0;
    names[0] = '\0';

    for (i = ifs; fd != -1 && i->if_index != 0; i++) {
        memset(&ifr, 0, sizeof(ifr));
        strncpy(ifr.ifr_name, i->if_name, IFNAMSIZ - 1);

        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1
            || !(ifr.ifr_flags & IFF_UP) || (ifr.ifr_flags & IFF_LOOPBACK)
            || td_nlinks == TD_OFFLOAD_MAX_IFS)
        {
            continue;
        }

        lfd = bpf_link_create(prog, (int) i->if_index, BPF_TCX_INGRESS,
                              NULL);
        if (lfd < 0) {
            err = -lfd;
            break;
        }

        td_links[td_nlinks++] = lfd;
        err = 0;
        n += snprintf(names + n, len - n, "%s%s", n ? ", " : "",
                      i->if_name);
        n = (n < len) ? n : len - 1;
    }

    if (fd != -1) {
        close(fd);
    }

    if_freenameindex(ifs);

    return err;
}


void
td_offload_cleanup(void)
{
    while (td_nlinks > 0) {
        close(td_links[--td_nlinks]);
    }

    if (td_skel != NULL) {
        td_offload_bpf__destroy(td_skel);
        td_skel = NULL;
    }

    td_map_fd = -1;
}


void
td_offload_channel_add(td_chan_t *c)
{
    struct td_offload_value   v[2];
    td_offload_chan_t        *m;
    td_alloc_t               *a;

    a = c->alloc;

    /* UDP client and relay of one family, the client's address known */
    if (td_map_fd == -1 || c->offload != NULL || c->perm == NULL
        || a->client.tcp
        || a->client.addr.ss_family != a->relay.ss_family
        || a->client.local.ss_family != a->relay.ss_family)
    {
        return;
    }

    m = calloc(1, sizeof(td_offload_chan_t));
    if (m == NULL) {
        return;
    }

    td_offload_key(&m->key[0], (struct sockaddr *) &a->client.addr,
                   (struct sockaddr *) &a->client.local, c->number);
    td_offload_key(&m->key[1], (struct sockaddr *) &c->peer,
                   (struct sockaddr *) &a->relay, 0);

    memset(v, 0, sizeof(v));
    v[0].out = m->key[1];
    v[1].out = m->key[0];

    if (bpf_map_update_elem(td_map_fd, &m->key[0], &v[0], BPF_NOEXIST) != 0)
    {
        goto failed;
    }

    if (bpf_map_update_elem(td_map_fd, &m->key[1], &v[1], BPF_NOEXIST) != 0)
    {
        (void) bpf_map_delete_elem(td_map_fd, &m->key[0]);
        goto failed;
    }

    c->offload = m;

    return;

failed:

    /* the map is full (or the key taken): user space relays it */
    td_log(TD_LOG_INFO, "kernel offload: channel 0x%04x not mapped: %s",
           c->number, strerror(errno));
    free(m);
}


void
td_offload_channel_del(td_chan_t *c)
{
    td_offload_chan_t  *m;

    m = c->offload;
    if (m == NULL) {
        return;
    }

    /* the last counts go with the entries, atomically */
    td_offload_fold(c, m, 1);

    c->offload = NULL;
    free(m);
}


void
td_offload_poll(td_thread_t *thr)
{
    td_chan_t   *c;
    td_link_t   *l;
    td_alloc_t  *a;

    if (td_map_fd == -1) {
        return;
    }

    for (l = thr->alloc_list; l != NULL; l = l->next) {
        a = td_container(l, td_alloc_t, link);

        for (c = a->chans; c != NULL; c = c->next) {
            if (c->offload != NULL) {
                td_offload_fold(c, c->offload, 0);
            }
        }
    }
}


/*
 * What the program forwarded since the last fold, counted as user space
 * counts it: ChannelData from and to clients (4 bytes of header more),
 * datagrams to and from peers.  del: the entries go too.
 */

static void
td_offload_fold(td_chan_t *c, td_offload_chan_t *m, int del)
{
    int                       i, rc;
    uint64_t                  dp, db;
    td_stats_t               *s;
    struct td_offload_value   v;

    s = &c->alloc->thr->stats;

    for (i = 0; i < 2; i++) {
        if (!del) {
            rc = bpf_map_lookup_elem(td_map_fd, &m->key[i], &v);

        } else {
            rc = bpf_map_lookup_and_delete_elem(td_map_fd, &m->key[i], &v);

            /* a kernel without it for hash maps (before 5.14) */
            if (rc != 0 && errno != ENOENT) {
                (void) bpf_map_delete_elem(td_map_fd, &m->key[i]);
            }
        }

        if (rc != 0 || v.packets == m->packets[i]) {
            continue;
        }

        dp = v.packets - m->packets[i];
        db = v.bytes - m->bytes[i];
        m->packets[i] = v.packets;
        m->bytes[i] = v.bytes;

        if (i == 0) {
            s->rx_packets += dp;
            s->rx_bytes += db + 4 * dp;
            s->peer_tx_packets += dp;
            s->peer_tx_bytes += db;
            s->offload_to_peer_packets += dp;
            s->offload_to_peer_bytes += db;

        } else {
            s->peer_rx_packets += dp;
            s->peer_rx_bytes += db;
            s->tx_packets += dp;
            s->tx_bytes += db + 4 * dp;
            s->offload_from_peer_packets += dp;
            s->offload_from_peer_bytes += db;
        }
    }
}


static void
td_offload_key(struct td_offload_key *k, const struct sockaddr *src,
    const struct sockaddr *dst, uint16_t channel)
{
    const struct sockaddr_in   *s4, *d4;
    const struct sockaddr_in6  *s6, *d6;

    memset(k, 0, sizeof(struct td_offload_key));

    if (src->sa_family == AF_INET) {
        s4 = (const struct sockaddr_in *) src;
        d4 = (const struct sockaddr_in *) dst;
        memcpy(k->src, &s4->sin_addr, 4);
        memcpy(k->dst, &d4->sin_addr, 4);
        k->sport = s4->sin_port;
        k->dport = d4->sin_port;
        k->family = 4;

    } else {
        s6 = (const struct sockaddr_in6 *) src;
        d6 = (const struct sockaddr_in6 *) dst;
        memcpy(k->src, &s6->sin6_addr, 16);
        memcpy(k->dst, &d6->sin6_addr, 16);
        k->sport = s6->sin6_port;
        k->dport = d6->sin6_port;
        k->family = 6;
    }

    k->channel = htons(channel);
}
