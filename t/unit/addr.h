
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TRTC_TEST_ADDR_H_INCLUDED_
#define _TRTC_TEST_ADDR_H_INCLUDED_


/* "192.0.2.1" or "2001:db8::1" and a port as a sockaddr (static) */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>


static struct sockaddr_storage *
addr(const char *s, unsigned port)
{
    static struct sockaddr_storage  ss;
    struct sockaddr_in             *sin;
    struct sockaddr_in6            *sin6;

    memset(&ss, 0, sizeof(ss));

    sin = (struct sockaddr_in *) &ss;
    sin6 = (struct sockaddr_in6 *) &ss;

    if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        return &ss;
    }

    memset(&ss, 0, sizeof(ss));

    if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        return &ss;
    }

    printf("# test bug: bad address %s\n", s);
    exit(2);
}


#endif /* _TRTC_TEST_ADDR_H_INCLUDED_ */
