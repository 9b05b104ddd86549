
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * The kernel half of kernel-offload: a TC ingress program on the
 * server's interfaces that relays UDP ChannelData without waking turnd.
 *
 *   client -> turnd:  ChannelData of a mapped channel becomes a datagram
 *                     from the relay address to the peer (the 4-byte
 *                     header removed);
 *   peer -> relay:    a datagram of a mapped peer becomes ChannelData to
 *                     the client (the header added; no padding over UDP).
 *
 * Addresses and ports are rewritten, checksums fixed incrementally (the
 * kernel's helpers know whether the UDP checksum is complete or still
 * partial, as on veth), and the packet leaves through the interface the
 * other side's packets come in by, its MAC addresses from the neighbour
 * table (bpf_redirect_neigh).  Everything else goes on to the stack
 * unchanged: STUN, indications, unknown channels, fragments, IP options
 * and extension headers, padded ChannelData, GSO packets, a direction
 * whose other side has not sent yet.  turnd adds and removes the
 * mappings (td_offload.c) and reads the counters.
 */


#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "td_offload_map.h"


#define TD_CHUNK        256          /* payload moved this much at a time */
#define TD_CHUNKS       6            /* so payloads up to 1536 bytes */
#define TD_TTL          64           /* as turnd's own sockets send */

/*
 * Not ours: the next program on the interface (another turnd's, say),
 * then the stack.  TC_ACT_OK would be tcx's "pass", skipping the rest.
 */
#define TD_NEXT         TC_ACT_UNSPEC


struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TD_OFFLOAD_MAX_MAPPINGS);
    __type(key, struct td_offload_key);
    __type(value, struct td_offload_value);
} td_offload_map SEC(".maps");


/* where td_move() puts a chunk: larger than the stack allows */

struct td_chunk {
    __u8    buf[2 * TD_CHUNK];       /* the verifier's bound: see below */
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct td_chunk);
} td_offload_buf SEC(".maps");


/* what a packet looks like once parsed */

struct td_pkt {
    __u32   l4;                      /* offset of the UDP header */
    __u32   ulen;                    /* UDP length */
    __u8    family;
};


static __always_inline void
td_learn(struct td_offload_value *v, __u32 ifindex)
{
    struct td_offload_value  *o;

    /* the first packet (or a new route): tell the other direction */
    if (v->in_ifindex != ifindex) {
        v->in_ifindex = ifindex;
        o = bpf_map_lookup_elem(&td_offload_map, &v->out);
        if (o != NULL) {
            o->out_ifindex = ifindex;
        }
    }
}


/*
 * Moves n payload bytes at from to to (|from - to| == 4), a chunk at a
 * time; backwards when moving up, so nothing is read after it was
 * overwritten.
 */

static __always_inline int
td_move(struct __sk_buff *skb, __u32 from, __u32 to, __u32 n)
{
    __u32             i, off, len;
    struct td_chunk  *c;

    i = 0;
    c = bpf_map_lookup_elem(&td_offload_buf, &i);
    if (c == NULL) {
        return -1;
    }

    for (i = 0; i < TD_CHUNKS; i++) {
        if (i * TD_CHUNK >= n) {
            break;
        }

        len = n - i * TD_CHUNK;
        if (len > TD_CHUNK) {
            len = TD_CHUNK;
        }

        off = (to > from) ? n - i * TD_CHUNK - len : i * TD_CHUNK;

        /*
         * A mask the verifier can follow (len <= 2 * TD_CHUNK - 1); the
         * empty asm keeps the compiler from dropping it as redundant.
         */
        asm volatile("" : "+r" (len));
        len &= 2 * TD_CHUNK - 1;

        if (len == 0
            || bpf_skb_load_bytes(skb, from + off, c->buf, len) != 0
            || bpf_skb_store_bytes(skb, to + off, c->buf, len, 0) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * Rewrites the IP and UDP headers for a datagram of ulen UDP bytes from
 * src:sport to dst:dport; hdr_old/hdr_new: the 4 bytes after the UDP
 * header before and after (the channel header, or zeros), summed into
 * the checksum.  The UDP header stays where it is, so a partial
 * checksum's start still points at it.
 */

static __always_inline int
td_rewrite(struct __sk_buff *skb, struct td_pkt *p, struct td_offload_key *o,
    __u32 ulen, __u32 hdr_old, __u32 hdr_new)
{
    __s64           d;
    __u32           csum_off, i, k;
    struct udphdr   u;
    struct iphdr    ip4;
    struct ipv6hdr  ip6;
    __be32          po[10], pn[10], ho[3], hn[3];

    if (bpf_skb_load_bytes(skb, p->l4, &u, sizeof(u)) != 0) {
        return -1;
    }

    /* the pseudo header: addresses and length */
    k = (p->family == 4) ? 1 : 4;

    if (p->family == 4) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip4, sizeof(ip4)) != 0) {
            return -1;
        }

        po[0] = ip4.saddr;
        po[1] = ip4.daddr;
        __builtin_memcpy(&ip4.saddr, o->dst, 4);
        __builtin_memcpy(&ip4.daddr, o->src, 4);
        pn[0] = ip4.saddr;
        pn[1] = ip4.daddr;

        ip4.tot_len = bpf_htons(sizeof(ip4) + ulen);
        ip4.ttl = TD_TTL;
        ip4.check = 0;
        d = bpf_csum_diff(NULL, 0, (__be32 *) &ip4, sizeof(ip4), 0);
        d = (d & 0xffff) + (d >> 16);
        d = (d & 0xffff) + (d >> 16);
        ip4.check = (__u16) ~d;

        if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip4, sizeof(ip4), 0) != 0) {
            return -1;
        }

    } else {
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) != 0) {
            return -1;
        }

        __builtin_memcpy(po, &ip6.saddr, 16);
        __builtin_memcpy(&po[4], &ip6.daddr, 16);
        __builtin_memcpy(&ip6.saddr, o->dst, 16);
        __builtin_memcpy(&ip6.daddr, o->src, 16);
        __builtin_memcpy(pn, &ip6.saddr, 16);
        __builtin_memcpy(&pn[4], &ip6.daddr, 16);

        ip6.payload_len = bpf_htons(ulen);
        ip6.hop_limit = TD_TTL;

        if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0) != 0) {
            return -1;
        }
    }

    /* 2k words of addresses, then the length as a 32-bit word */
    i = 2 * k;
    if (i > 8) {
        return -1;
    }

    po[i] = bpf_htonl(bpf_ntohs(u.len));
    pn[i] = bpf_htonl(ulen);

    /* the UDP header (checksum field left out) and the 4 bytes after it */
    ho[0] = ((__be32 *) &u)[0];
    ho[1] = bpf_htonl((__u32) bpf_ntohs(u.len) << 16);
    ho[2] = hdr_old;

    u.source = o->dport;
    u.dest = o->sport;
    u.len = bpf_htons(ulen);

    hn[0] = ((__be32 *) &u)[0];
    hn[1] = bpf_htonl(ulen << 16);
    hn[2] = hdr_new;

    csum_off = p->l4 + __builtin_offsetof(struct udphdr, check);

    if (bpf_skb_store_bytes(skb, p->l4, &u, 6, 0) != 0) {
        return -1;
    }

    d = bpf_csum_diff(po, (i + 1) * 4, pn, (i + 1) * 4, 0);
    if (d < 0
        || bpf_l4_csum_replace(skb, csum_off, 0, d,
                               BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0)
           != 0)
    {
        return -1;
    }

    d = bpf_csum_diff(ho, sizeof(ho), hn, sizeof(hn), 0);
    if (d < 0
        || bpf_l4_csum_replace(skb, csum_off, 0, d, BPF_F_MARK_MANGLED_0)
           != 0)
    {
        return -1;
    }

    return 0;
}


/* a client's ChannelData to the peer: 4 bytes shorter */

static __always_inline int
td_to_peer(struct __sk_buff *skb, struct td_pkt *p,
    struct td_offload_value *v, __u32 chan_hdr)
{
    __u32  n;

    td_learn(v, skb->ifindex);

    n = p->ulen - sizeof(struct udphdr) - 4;

    if (v->out_ifindex == 0 || n > TD_CHUNK * TD_CHUNKS) {
        return TD_NEXT;
    }

    /* from here on the packet is ours: a failure drops it */
    if (td_rewrite(skb, p, &v->out, p->ulen - 4, chan_hdr, 0) != 0
        || td_move(skb, p->l4 + sizeof(struct udphdr) + 4,
                   p->l4 + sizeof(struct udphdr), n) != 0
        || bpf_skb_change_tail(skb, skb->len - 4, 0) != 0)
    {
        return TC_ACT_SHOT;
    }

    __sync_fetch_and_add(&v->packets, 1);
    __sync_fetch_and_add(&v->bytes, n);

    return bpf_redirect_neigh(v->out_ifindex, NULL, 0, 0);
}


/* a peer's datagram to the client: ChannelData, 4 bytes longer */

static __always_inline int
td_to_client(struct __sk_buff *skb, struct td_pkt *p,
    struct td_offload_value *v)
{
    __u32  n, mtu, chan_hdr;

    td_learn(v, skb->ifindex);

    n = p->ulen - sizeof(struct udphdr);

    if (v->out_ifindex == 0 || n > TD_CHUNK * TD_CHUNKS) {
        return TD_NEXT;
    }

    /* too large once framed: turnd sends it (and the stack fragments) */
    mtu = 0;
    if (bpf_check_mtu(skb, v->out_ifindex, &mtu, 4, 0) != 0) {
        return TD_NEXT;
    }

    chan_hdr = bpf_htonl(((__u32) bpf_ntohs(v->out.channel) << 16) | n);

    if (bpf_skb_change_tail(skb, skb->len + 4, 0) != 0) {
        return TC_ACT_SHOT;
    }

    if (td_move(skb, p->l4 + sizeof(struct udphdr),
                p->l4 + sizeof(struct udphdr) + 4, n) != 0
        || bpf_skb_store_bytes(skb, p->l4 + sizeof(struct udphdr),
                               &chan_hdr, 4, 0) != 0
        || td_rewrite(skb, p, &v->out, p->ulen + 4, 0, chan_hdr) != 0)
    {
        return TC_ACT_SHOT;
    }

    __sync_fetch_and_add(&v->packets, 1);
    __sync_fetch_and_add(&v->bytes, n);

    return bpf_redirect_neigh(v->out_ifindex, NULL, 0, 0);
}


SEC("tc")
int
td_offload_tc(struct __sk_buff *skb)
{
    void                     *data, *end;
    __u32                     hdr;
    __u16                     clen;
    struct td_pkt             p;
    struct udphdr            *u;
    struct iphdr             *ip4;
    struct ethhdr            *eth;
    struct ipv6hdr           *ip6;
    struct td_offload_key     key;
    struct td_offload_value  *v;

    /* GSO: several datagrams in one; turnd takes them apart */
    if (skb->gso_segs > 1) {
        return TD_NEXT;
    }

    data = (void *) (long) skb->data;
    end = (void *) (long) skb->data_end;
    eth = data;

    if ((void *) (eth + 1) > end) {
        return TD_NEXT;
    }

    __builtin_memset(&key, 0, sizeof(key));

    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        ip4 = (void *) (eth + 1);
        u = (void *) (ip4 + 1);

        if ((void *) (u + 1) > end
            || ip4->ihl != 5 || ip4->protocol != IPPROTO_UDP
            || (ip4->frag_off & bpf_htons(0x3fff))
            || bpf_ntohs(ip4->tot_len) != sizeof(*ip4) + bpf_ntohs(u->len)
            || skb->len != ETH_HLEN + bpf_ntohs(ip4->tot_len))
        {
            return TD_NEXT;
        }

        __builtin_memcpy(key.src, &ip4->saddr, 4);
        __builtin_memcpy(key.dst, &ip4->daddr, 4);
        key.family = 4;

    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        ip6 = (void *) (eth + 1);
        u = (void *) (ip6 + 1);

        if ((void *) (u + 1) > end
            || ip6->nexthdr != IPPROTO_UDP
            || ip6->payload_len != u->len
            || skb->len != ETH_HLEN + sizeof(*ip6) + bpf_ntohs(u->len))
        {
            return TD_NEXT;
        }

        __builtin_memcpy(key.src, &ip6->saddr, 16);
        __builtin_memcpy(key.dst, &ip6->daddr, 16);
        key.family = 6;

    } else {
        return TD_NEXT;
    }

    p.l4 = (__u32) ((void *) u - data);
    p.ulen = bpf_ntohs(u->len);
    p.family = key.family;

    if (p.ulen < sizeof(struct udphdr)) {
        return TD_NEXT;
    }

    key.sport = u->source;
    key.dport = u->dest;

    /* ChannelData (RFC 8656 12.4): 0x4000-0x7fff, unpadded over UDP */
    if (p.ulen >= sizeof(struct udphdr) + 4
        && bpf_skb_load_bytes(skb, p.l4 + sizeof(struct udphdr), &hdr, 4)
           == 0)
    {
        clen = bpf_ntohl(hdr) & 0xffff;

        if ((bpf_ntohl(hdr) >> 30) == 1
            && clen + 4 + sizeof(struct udphdr) == p.ulen)
        {
            key.channel = bpf_htons(bpf_ntohl(hdr) >> 16);

            v = bpf_map_lookup_elem(&td_offload_map, &key);
            if (v != NULL) {
                return td_to_peer(skb, &p, v, hdr);
            }

            key.channel = 0;
        }
    }

    v = bpf_map_lookup_elem(&td_offload_map, &key);
    if (v != NULL) {
        return td_to_client(skb, &p, v);
    }

    return TD_NEXT;
}


char _license[] SEC("license") = "GPL";
