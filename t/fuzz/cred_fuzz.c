
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * libFuzzer target for the credentials file parser shared by the module
 * and turnd (common/trtc_cred.c): any text parses or fails with a
 * message, and what parsed can be looked up and signed with.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trtc_cred.h"


#define check(cond)  do { if (!(cond)) { abort(); } } while (0)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      rc;
    char                     err[TRTC_CRED_ERRLEN];
    char                     pass[TRTC_CRED_REST_PASS_LEN + 1];
    size_t                   i, nkeys, nlen;
    time_t                   expiry;
    uint8_t                  keys[4][16];
    trtc_cred_t              cred;
    const char              *name, *text;
    const trtc_cred_user_t  *u;

    memset(&cred, 0, sizeof(cred));
    err[0] = '\0';
    text = (const char *) data;

    rc = trtc_cred_parse(&cred, text, size, "fuzz", "trtc", err,
                         sizeof(err));

    if (rc != 0) {
        /* an error says where, and leaves nothing behind */
        check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        check(cred.nusers == 0 && cred.nsecrets == 0);
        trtc_cred_free(&cred);
        return 0;
    }

    for (i = 0; i < cred.nusers; i++) {
        u = trtc_cred_find_user(&cred, cred.users[i].name,
                                cred.users[i].name_len);
        check(u != NULL && u->name_len == cred.users[i].name_len);
    }

    /* the input's lines as usernames: lookups and REST keys */
    for (i = 0; i < size && i < 256; i += 17) {
        name = text + i;
        nlen = (size - i < 40) ? size - i : 40;

        (void) trtc_cred_find_user(&cred, name, nlen);

        if (trtc_cred_rest_expiry(name, nlen, &expiry) == 0) {
            (void) trtc_cred_rest_name(name, nlen, &nlen);
            (void) trtc_cred_rest_keys(&cred, text + i, size - i < 40
                                       ? size - i : 40, 0, keys, 4, &nkeys);
        }
    }

    if (cred.nsecrets > 0) {
        trtc_cred_rest_password(cred.secrets[0].data, cred.secrets[0].len,
                                text, size < 64 ? size : 64, pass);
        check(strlen(pass) == TRTC_CRED_REST_PASS_LEN || pass[0] == '\0');
    }

    trtc_cred_free(&cred);

    return 0;
}
