
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * libFuzzer target for the STUN codec (common/trtc_stun.c):
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *         t/fuzz/stun_fuzz.c common/trtc_stun.c common/trtc_crypto.c \
 *         -lcrypto -lz -o build/fuzz/stun_fuzz
 *     build/fuzz/stun_fuzz -max_total_time=60 build/fuzz/corpus
 *
 * Besides "no crash", it checks what must hold for any input: a defined
 * result, attributes inside the message, parse agreeing with is_stun and
 * frame_len, and the kept attributes rebuilding into a message that
 * parses the same way.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trtc_stun.h"


#define check(cond)  do { if (!(cond)) { abort(); } } while (0)


static void stun_fuzz_attrs(const trtc_stun_msg_t *msg);
static void stun_fuzz_rebuild(const trtc_stun_msg_t *msg);


static const uint8_t  stun_fuzz_key[16] = "0123456789abcdef";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc;
    long             fl;
    trtc_stun_msg_t  msg;

    rc = trtc_stun_parse(&msg, data, size);

    check(rc == TRTC_STUN_OK || rc == TRTC_STUN_NOT_STUN
          || rc == TRTC_STUN_MALFORMED);

    fl = trtc_stun_frame_len(data, size);

    check(fl >= -1 && fl <= TRTC_STUN_HEADER_LEN + 65532);

    if (rc != TRTC_STUN_OK) {
        check(msg.nattrs == 0 && msg.nunknown == 0 && msg.integrity == -1
              && msg.integrity_sha256 == -1 && msg.fingerprint == -1);
        check(!trtc_stun_is_stun(data, size) || rc == TRTC_STUN_MALFORMED);
        return 0;
    }

    check(trtc_stun_is_stun(data, size));
    check(fl == (long) msg.len);
    check(msg.len >= TRTC_STUN_HEADER_LEN && msg.len <= size);
    check(msg.len % 4 == 0);
    check(msg.nattrs <= TRTC_STUN_MAX_ATTRS);
    check(msg.nunknown <= TRTC_STUN_MAX_UNKNOWN);
    check(msg.fingerprint < 0
          || (unsigned) msg.fingerprint == msg.nattrs - 1);

    stun_fuzz_attrs(&msg);
    stun_fuzz_rebuild(&msg);

    return 0;
}


static void
stun_fuzz_attrs(const trtc_stun_msg_t *msg)
{
    int                       rc;
    size_t                    rlen;
    uint8_t                   u8;
    uint16_t                  ch;
    uint32_t                  u;
    unsigned                  i, code;
    socklen_t                 salen;
    const uint8_t            *reason;
    const trtc_stun_attr_t   *a;
    struct sockaddr_storage   ss;

    for (i = 0; i < msg->nattrs; i++) {
        a = &msg->attrs[i];

        check(a->value == msg->buf + a->offset + 4);
        check((size_t) a->offset + 4 + a->len <= msg->len);
        check(trtc_stun_find(msg, a->type) != NULL);

        (void) trtc_stun_attr_u32(a, &u);
        (void) trtc_stun_attr_u8(a, &u8);

        if (trtc_stun_attr_channel(a, &ch) == TRTC_STUN_OK) {
            check(ch >= TRTC_STUN_CHANNEL_MIN && ch <= TRTC_STUN_CHANNEL_MAX);
        }

        if (trtc_stun_attr_error(a, &code, &reason, &rlen) == TRTC_STUN_OK) {
            check(code >= 300 && code <= 699 && rlen <= 763);
            check(reason + rlen <= msg->buf + msg->len);
        }

        rc = trtc_stun_attr_addr(a, msg->tid, &ss, &salen);
        if (rc == TRTC_STUN_OK) {
            check(salen <= sizeof(struct sockaddr_storage));
        }

        (void) trtc_stun_attr_addr(a, NULL, &ss, &salen);
    }

    rc = trtc_stun_check_integrity(msg, stun_fuzz_key, sizeof(stun_fuzz_key));
    check(rc == TRTC_STUN_OK || rc == TRTC_STUN_MISMATCH
          || rc == TRTC_STUN_MALFORMED);

    rc = trtc_stun_check_integrity_sha256(msg, stun_fuzz_key,
                                          sizeof(stun_fuzz_key));
    check(rc == TRTC_STUN_OK || rc == TRTC_STUN_MISMATCH
          || rc == TRTC_STUN_MALFORMED);

    rc = trtc_stun_check_fingerprint(msg);
    check(rc == TRTC_STUN_OK || rc == TRTC_STUN_MISMATCH
          || rc == TRTC_STUN_MALFORMED);
}


/* the kept attributes, rebuilt and signed, parse to the same list */

static void
stun_fuzz_rebuild(const trtc_stun_msg_t *msg)
{
    int                  rc;
    unsigned             i, n;
    uint8_t             *buf;
    trtc_stun_msg_t      out;
    trtc_stun_builder_t  b;

    buf = malloc(TRTC_STUN_MAX_MSG);
    if (buf == NULL) {
        return;
    }

    trtc_stun_build_init(&b, buf, TRTC_STUN_MAX_MSG, msg->type, msg->tid);

    n = 0;

    for (i = 0; i < msg->nattrs; i++) {
        if ((int) i == msg->integrity || (int) i == msg->integrity_sha256
            || (int) i == msg->fingerprint)
        {
            continue;
        }

        trtc_stun_add_attr(&b, msg->attrs[i].type, msg->attrs[i].value,
                           msg->attrs[i].len);
        n++;
    }

    trtc_stun_add_integrity(&b, stun_fuzz_key, sizeof(stun_fuzz_key));
    trtc_stun_add_integrity_sha256(&b, stun_fuzz_key, sizeof(stun_fuzz_key));
    rc = trtc_stun_add_fingerprint(&b);

    /* the input fits in 64K, so the copy without its trailers does too */
    if (msg->len + 72 <= TRTC_STUN_MAX_MSG - 3) {
        check(rc == TRTC_STUN_OK);
    }

    if (rc == TRTC_STUN_OK && n + 3 <= TRTC_STUN_MAX_ATTRS) {
        rc = trtc_stun_parse(&out, buf, b.len);

        /* an attribute past offset 65535 is the one legal refusal */
        check(rc == TRTC_STUN_OK || b.len > 0xffff);

        if (rc == TRTC_STUN_OK) {
            check(out.len == b.len && out.nattrs == n + 3);
            check(out.type == msg->type && out.method == msg->method
                  && out.cls == msg->cls);
            check(trtc_stun_check_integrity(&out, stun_fuzz_key,
                                            sizeof(stun_fuzz_key))
                  == TRTC_STUN_OK);
            check(trtc_stun_check_integrity_sha256(&out, stun_fuzz_key,
                                                   sizeof(stun_fuzz_key))
                  == TRTC_STUN_OK);
            check(trtc_stun_check_fingerprint(&out) == TRTC_STUN_OK);
            check(out.nunknown == msg->nunknown);
        }
    }

    free(buf);
}
