
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * libFuzzer target for turnd's configuration parser (turnd/td_conf.c):
 * coturn's syntax, every key, any bytes.  A text parses and passes or
 * fails the cross-key checks, or is refused; nothing crashes or leaks.
 * The parser's warnings go to stderr: run with -close_fd_mask=2.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "td_conf.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_conf_t  conf;

    td_conf_init(&conf);

    if (td_conf_parse_text(&conf, (const char *) data, size, "fuzz.conf")
        == 0)
    {
        (void) td_conf_check(&conf);
    }

    td_conf_free(&conf);

    return 0;
}
