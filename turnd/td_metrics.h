
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_METRICS_H_INCLUDED_
#define _TD_METRICS_H_INCLUDED_


/*
 * coturn's "prometheus" and "prometheus-port" keys: GET /metrics on
 * prometheus-address (127.0.0.1 by default, port 9641) answers in the
 * Prometheus text format.  One thread of its own answers one scrape at
 * a time; it only reads the relay threads' counters (td_server_stats()),
 * so a scrape never slows the relay path.
 */


#include <stddef.h>

#include "td_conf.h"


/* binds the port (before root is dropped); -1 and a log on error */
int td_metrics_init(const td_conf_t *conf);
int td_metrics_start(void);
/* stops the thread and closes the socket; before td_server_stop() */
void td_metrics_stop(void);

/*
 * The text of a scrape into a malloc()ed buffer (*len bytes); NULL when
 * out of memory.
 */
char *td_metrics_render(size_t *len);


#endif /* _TD_METRICS_H_INCLUDED_ */
