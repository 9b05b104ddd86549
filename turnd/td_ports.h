
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_PORTS_H_INCLUDED_
#define _TD_PORTS_H_INCLUDED_


/*
 * Relay addresses and their UDP ports.
 *
 * The relay addresses are relay-ip; without it, the listening addresses;
 * with a wildcard listening address, every address of the machine's
 * interfaces (IPv6 link-local excepted), and an allocation then relays
 * from the address its Allocate came to when that has the requested
 * family.  Each relay address has an advertised form: external-ip
 * PUBLIC/PRIVATE maps PRIVATE, a bare external-ip PUBLIC maps every relay
 * address of its family.
 *
 * Ports come from min-port..max-port, one bitmap per relay address under
 * one mutex (taken on allocate and free, never on the relay path); a
 * port the kernel refuses (another process has it) is skipped.
 * EVEN-PORT with the R bit binds the next port too and keeps it under a
 * RESERVATION-TOKEN for 30 seconds.
 */


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "td_conf.h"


#define TD_PORTS_TOKEN_LEN       8
#define TD_PORTS_RESERVE_TIME    30


typedef struct {
    struct sockaddr_storage   addr;          /* port 0 */
    struct sockaddr_storage   adv;           /* advertised, port 0 */
    socklen_t                 addrlen;
    unsigned                  loopback:1;
    unsigned                  mapped:1;      /* adv differs from addr */
} td_ports_addr_t;


typedef struct {
    int                       fd;
    unsigned                  index;         /* relay address */
    unsigned                  port;
    uint8_t                   token[TD_PORTS_TOKEN_LEN];
    unsigned                  has_token:1;
} td_port_t;


/* builds the address list and logs it; -1 on error (logged) */
int td_ports_init(const td_conf_t *conf);
void td_ports_cleanup(void);

size_t td_ports_count(void);
/* relay ports taken (or reserved) and in all, over every relay address */
void td_ports_usage(size_t *used, size_t *total);
const td_ports_addr_t *td_ports_get(unsigned index);

/*
 * The relay address for a request that arrived at local asking for
 * family: local itself when it is a relay address, else a loopback one
 * for a loopback local, else the first of that family.  -1 when there
 * is no relay address of that family.
 */
int td_ports_pick(int family, const struct sockaddr *local);

/*
 * Binds a relay socket on relay address index.  even: an even port;
 * reserve: also bind port + 1 and keep it under out->token.  dont_frag:
 * set DF on the socket.  Returns 0, -1 when no port is free, or -2 when
 * the process is out of descriptors (or the kernel of sockets).
 */
int td_ports_open(unsigned index, int even, int reserve, int dont_frag,
    td_port_t *out);

/* takes the reserved socket of a RESERVATION-TOKEN; -1 when unknown */
int td_ports_take(const uint8_t *token, td_port_t *out);

/* closes a relay socket and frees its port */
void td_ports_close(unsigned index, unsigned port, int fd);

/* drops reservations older than TD_PORTS_RESERVE_TIME */
void td_ports_sweep(void);

/* the advertised address of a relay socket (with its port) */
void td_ports_advertised(unsigned index, unsigned port,
    struct sockaddr_storage *out, socklen_t *outlen);


#endif /* _TD_PORTS_H_INCLUDED_ */
