/* status: the HTML status page under MOUNT/_status, for operators with
 * no shell on their host: counts, the dead and retry lists, recent
 * events, each event's history and payload, replay; a password login
 * with a signed session cookie. Off unless [status] is configured. */
#ifndef HOOKPIPE_STATUS_H
#define HOOKPIPE_STATUS_H

#include "receive.h"

/* Answer one request whose PATH_INFO starts with /_status, with the
 * receiver's loaded configuration and spool. Always fills the answer;
 * returns its HTTP status. */
int	status_serve(struct receiver *, const struct request *,
	    struct answer *);

#endif
