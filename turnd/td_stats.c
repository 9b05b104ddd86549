
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <string.h>

#include "td_auth.h"
#include "td_stats.h"


/* label values of turnd_auth_failures_total{reason=...} */
const char  *td_stats_auth_names[TD_STATS_AUTH_N] = {
    "no_credentials", "wrong_password", "unknown_user", "expired",
    "stale_nonce", "wrong_realm", "bad_request", "other"
};


/*
 * td_auth_check() says why in words for the log; the counters need a
 * small fixed set, so the words are sorted here, not in td_auth.c.
 */

unsigned
td_stats_auth_reason(int rc, const char *reason)
{
    static const struct {
        const char  *prefix;
        unsigned     index;
    } map[] = {
        { "no MESSAGE-INTEGRITY", TD_STATS_AUTH_NO_CREDENTIALS },
        { "wrong password", TD_STATS_AUTH_WRONG_PASSWORD },
        { "SHA-256 asked", TD_STATS_AUTH_WRONG_PASSWORD },
        { "unknown user", TD_STATS_AUTH_UNKNOWN_USER },
        { "expired", TD_STATS_AUTH_EXPIRED },
        { "stale nonce", TD_STATS_AUTH_STALE_NONCE },
        { "nonce not issued", TD_STATS_AUTH_STALE_NONCE },
        { "wrong realm", TD_STATS_AUTH_WRONG_REALM },
    };
    size_t  i;

    if (rc == TD_AUTH_BAD_REQUEST) {
        return TD_STATS_AUTH_BAD_REQUEST;
    }

    if (reason == NULL) {
        return (rc == TD_AUTH_STALE) ? TD_STATS_AUTH_STALE_NONCE
                                     : TD_STATS_AUTH_OTHER;
    }

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strncmp(reason, map[i].prefix, strlen(map[i].prefix)) == 0) {
            return map[i].index;
        }
    }

    return TD_STATS_AUTH_OTHER;
}
