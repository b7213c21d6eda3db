/* conf: hookpipe.ini. One table (keys[] below) holds every key: its
 * section, type, bounds, default and a line of doc. Loading walks it
 * (typed values, defaults, what an endpoint inherits), and so do the
 * unknown-key errors, `hookpipe check` (conf_load) and the docs test
 * (conf_key_doc); only rules between keys are code. The file is read
 * once: iniparser parses those bytes, and a line lookup over the same
 * bytes says where each section and key stands, as written, since
 * iniparser keeps neither line numbers nor case. iniparser is asked
 * only for "section:key" of a key the lookup saw, and every answer is
 * checked for NULL (CVE-2023-33461). Tokens and secrets are read by
 * auth, libcrypto is loaded by verify. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef HAVE_INIPARSER_SUBDIR
#include <iniparser/iniparser.h>
#else
#include <iniparser.h>
#endif

#include "conf.h"
#include "dest.h"
#include "dlog.h"
#include "payload.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CONF_FILE_MAX	(1024 * 1024)
#define LINE_MAX_LEN	1000	/* iniparser refuses lines over 1024 */
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Where a key may stand: [hookpipe] takes GLOBAL and FIELDS keys, [auth]
 * AUTH, [endpoint NAME] FIELDS and AUTH (see kinds[]). */
enum kscope {
	SC_GLOBAL, SC_FIELDS, SC_AUTH, SC_DELIVERY, SC_EVENT, SC_STATUS,
	SC_HEALTH, SC_METRICS, SC_ALERT, SC_WORKER
};

enum ktype {
	K_PATH,		/* char *, made absolute against the INI's folder */
	K_STRING,	/* char *; empty means the default */
	K_BOOL,		/* int */
	K_INT,		/* int or long, from min to max */
	K_DURATION,	/* long seconds, from min to max */
	K_SIZE,		/* size_t bytes, from min to max */
	K_ENUM,		/* an enum or int: the value's place in names */
	K_FIELD,	/* char *: a dotted JSON path or header:NAME; aux: the
			   header's CGI name */
	K_FIELDS,	/* struct strlist of dotted JSON paths */
	K_HEADER,	/* a header name: aux its CGI name; off, when size is
			   not 0, the name itself (char *) */
	K_CIDRS,	/* struct cidr_list */
	K_BACKOFF,	/* long * of durations, each from min to max; aux: how
			   many (size_t) */
	K_RATE		/* N/s, N/m or N/h (load_rate) */
};

static const char *const type_names[] = {
	"path", "string", "boolean", "number", "duration", "size", "choice",
	"field", "list", "name", "list", "list", "rate"
};

#define F_INHERIT	0x1	/* an [endpoint] starts from the default
				   endpoint's value, not from def */
#define F_OWN		0x2	/* read by its section's loader, as it depends
				   on other keys; the row types and documents */

struct conf_key {
	enum kscope	 scope;
	const char	*name;		/* lowercase */
	enum ktype	 type;
	long		 min, max;
	const char	*def;		/* as an INI writes it; NULL: none, or
					   computed (the doc says) */
	const char	*doc;		/* one line */
	size_t		 off, size;	/* the field in struct conf, endpoint or
					   event_conf that takes the value */
	size_t		 aux, auxsize;	/* a second field: see enum ktype */
	const char *const *names;	/* K_ENUM: its values, NULL-ended */
	const char	*fix;		/* the error's remedy */
	int		 flags;
	const char	*doctype;	/* the type hookpipe.ini(5) says, when
					   not type_names[type] */
};

#define KEY(sc, n, t)	.scope = (sc), .name = (n), .type = (t)
#define RANGE(a, b)	.min = (a), .max = (b)
#define AT(type, f)	.off = offsetof(type, f), \
			.size = sizeof(((type *)NULL)->f)
#define AUX(type, f)	.aux = offsetof(type, f), \
			.auxsize = sizeof(((type *)NULL)->f)
#define CF(f)		AT(struct conf, f)
#define EP(f)		AT(struct endpoint, f)
#define EV(f)		AT(struct event_conf, f)

static const char *const durabilities[] = { "full", "process", NULL };
static const char *const unknown_events[] = { "accept", "reject", NULL };
static const char *const algorithms[] = { "sha256", "sha512", NULL };
static const char *const encodings[] = { "hex", "base64", NULL };
static const char *const modes[] = { "queue", "sync", NULL };
static const char *const exchange_types[] = { "topic", "shard", NULL };

/* Stored as an int through memcpy (store_num). */
_Static_assert(sizeof(enum durability) == sizeof(int), "enum size");
_Static_assert(sizeof(enum verify_scheme) == sizeof(int), "enum size");
_Static_assert(sizeof(enum verify_alg) == sizeof(int), "enum size");
_Static_assert(sizeof(enum verify_enc) == sizeof(int), "enum size");
_Static_assert(sizeof(enum ev_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum worker_exchange) == sizeof(int), "enum size");

/*
 * preset = NAME: the keys a sender needs, as one row of data. A row's
 * keys count as written in the section that names the preset (and, from
 * [auth], in [hookpipe] for the default endpoint's fields), on the
 * preset's line, unless the section writes them itself: get() and
 * line_of() read them, so every rule and message applies as to written
 * keys. What the verify row already says (GitHub's event header...) is
 * not repeated. hookpipe.ini(5) lists the rows. Where the senders
 * document them:
 *   harmonics     res:harmonics: the user's secret in x-auth-token
 *   standard-webhooks, svix  the payload's "type" names the event
 *   stripe        the event object's "type"
 *   woocommerce   "Webhooks": X-WC-Webhook-Signature, base64 HMAC-SHA256
 *                 of the body; X-WC-Webhook-Topic, -Delivery-ID (the
 *                 body's id is the resource's, the same for every event
 *                 about one order)
 *   typeform      "Secure your webhooks": Typeform-Signature, sha256= and
 *                 base64 HMAC-SHA256 of the body; event_type, event_id
 *   gitea         "Webhooks": X-Gitea-Signature, hex HMAC-SHA256 of the
 *                 body; X-Gitea-Event, X-Gitea-Delivery
 */
#define PRESET_KEYS	8

struct preset {
	const char	*name;
	const char	*kv[PRESET_KEYS][2];	/* key, value; NULL-ended */
};

static const char *const preset_names[] = {
	"harmonics", "standard-webhooks", "svix", "github", "stripe",
	"shopify", "slack", "twilio", "gitlab", "paddle", "zoom", "meta",
	"mailgun", "woocommerce", "typeform", "gitea", NULL
};

static const struct preset presets[] = {
	{ "harmonics", { { "verify", "token" }, { "header", "x-auth-token" } } },
	{ "standard-webhooks", { { "verify", "standard-webhooks" },
	    { "event_field", "type" } } },
	{ "svix", { { "verify", "svix" }, { "event_field", "type" } } },
	{ "github", { { "verify", "github" } } },
	{ "stripe", { { "verify", "stripe" }, { "event_field", "type" } } },
	{ "shopify", { { "verify", "shopify" } } },
	{ "slack", { { "verify", "slack" } } },
	{ "twilio", { { "verify", "twilio" } } },
	{ "gitlab", { { "verify", "gitlab" } } },
	{ "paddle", { { "verify", "paddle" } } },
	{ "zoom", { { "verify", "zoom" } } },
	{ "meta", { { "verify", "meta" } } },
	{ "mailgun", { { "verify", "mailgun" } } },
	{ "woocommerce", { { "verify", "hmac" },
	    { "signature_header", "X-WC-Webhook-Signature" },
	    { "algorithm", "sha256" }, { "encoding", "base64" },
	    { "event_field", "header:X-WC-Webhook-Topic" },
	    { "id_field", "header:X-WC-Webhook-Delivery-ID" } } },
	{ "typeform", { { "verify", "hmac" },
	    { "signature_header", "Typeform-Signature" },
	    { "algorithm", "sha256" }, { "encoding", "base64" },
	    { "prefix", "sha256=" }, { "event_field", "event_type" },
	    { "id_field", "event_id" } } },
	{ "gitea", { { "verify", "hmac" },
	    { "signature_header", "X-Gitea-Signature" },
	    { "algorithm", "sha256" }, { "encoding", "hex" },
	    { "event_field", "header:X-Gitea-Event" },
	    { "id_field", "header:X-Gitea-Delivery" } } },
};
_Static_assert(NITEMS(preset_names) == NITEMS(presets) + 1,
    "one name per preset");

/* Every key, in the order of hookpipe.ini(5). */
static const struct conf_key keys[] = {
	/* [hookpipe] */
	{ KEY(SC_GLOBAL, "spool_dir", K_PATH), CF(spool_dir),
	  .doc = "where accepted events are stored; required" },
	{ KEY(SC_FIELDS, "handlers_dir", K_PATH), EP(handlers_dir),
	  .doc = "the folder of handler programs; required in [hookpipe], "
	  "an endpoint's is handlers_dir/NAME unless set" },
	{ KEY(SC_GLOBAL, "log_file", K_PATH), CF(log_file),
	  .doc = "the delivery log, JSON lines; default SPOOL/delivery.log" },
	{ KEY(SC_FIELDS, "max_body", K_SIZE), RANGE(1, 1L << 30), .def = "1M",
	  EP(max_body), .flags = F_INHERIT,
	  .fix = "from 1 byte to 1G (write 65536, 512K or 1M)",
	  .doc = "largest CONTENT_LENGTH accepted; larger gets 413 unread" },
	{ KEY(SC_FIELDS, "max_depth", K_INT), RANGE(1, PAYLOAD_MAX_DEPTH),
	  .def = "32", EP(max_depth), .flags = F_INHERIT,
	  .doc = "deepest nesting of JSON objects and arrays; deeper gets "
	  "400" },
	{ KEY(SC_FIELDS, "max_headers", K_INT), RANGE(8, 1000), .def = "100",
	  EP(max_headers), .flags = F_INHERIT,
	  .doc = "most HTTP_* parameters a request may carry; more get 431" },
	{ KEY(SC_GLOBAL, "durability", K_ENUM), .def = "full",
	  CF(durability), .names = durabilities,
	  .fix = "write full (fsync before answering: survives power loss) "
	  "or process (no fsync: survives crashes only)",
	  .doc = "full: flushed before each 200; process: survives a crash, "
	  "not a power loss" },
	{ KEY(SC_GLOBAL, "journal_max", K_SIZE), RANGE(0, LONG_MAX),
	  .def = "64M", CF(journal_max),
	  .fix = "from 0 up (write 64M or 1G; 0: no journal, each commit "
	  "flushes its own entry)",
	  .doc = "with full durability, the most the journal holds before "
	  "commits flush their own entry instead" },
	{ KEY(SC_FIELDS, "require_https", K_BOOL), .def = "yes",
	  EP(require_https), .flags = F_INHERIT,
	  .doc = "answer 403 unless the request came over HTTPS" },
	{ KEY(SC_FIELDS, "event_field", K_FIELD), .def = "event",
	  EP(event_field), AUX(struct endpoint, event_param),
	  .doc = "where the event name is: a JSON field or header:NAME" },
	{ KEY(SC_FIELDS, "id_field", K_FIELD), .def = "id", EP(id_field),
	  AUX(struct endpoint, id_param),
	  .doc = "where the sender's event id is, to deduplicate: a JSON "
	  "field or header:NAME" },
	{ KEY(SC_FIELDS, "required", K_FIELDS), EP(required),
	  .doc = "fields every payload must have, else 422" },
	{ KEY(SC_FIELDS, "unknown_events", K_ENUM), .def = "accept",
	  EP(unknown_reject), .names = unknown_events, .flags = F_INHERIT,
	  .fix = "write accept (store and log) or reject (answer 422)",
	  .doc = "an event without section or handler: accept (store it) or "
	  "reject (422)" },

	/* [auth] */
	{ KEY(SC_AUTH, "preset", K_ENUM), .names = preset_names, .flags = F_OWN,
	  .doc = "a sender's keys at once (verify and what it needs); keys "
	  "the section writes win" },
	{ KEY(SC_AUTH, "verify", K_ENUM), .def = "token", EP(verify.scheme),
	  .names = verify_schemes,
	  .fix = "write token, standard-webhooks, github, stripe, hmac, shopify, "
	  "slack, twilio, gitlab, paddle, zoom, meta, mailgun or svix",
	  .doc = "how a request proves its sender: a token or a signature "
	  "scheme" },
	{ KEY(SC_AUTH, "header", K_HEADER), .def = "x-auth-token",
	  EP(auth_header), AUX(struct endpoint, auth_param),
	  .fix = " (letters, digits and -)",
	  .doc = "the request header holding the token" },
	{ KEY(SC_AUTH, "token", K_STRING), .flags = F_OWN,
	  .doc = "the shared token, in a private INI, or env:NAME" },
	{ KEY(SC_AUTH, "token_file", K_PATH), .flags = F_OWN,
	  .doc = "a private file of tokens, one per line (rotation)" },
	{ KEY(SC_AUTH, "secret", K_STRING), .flags = F_OWN,
	  .doc = "the signing secret, in a private INI, or env:NAME" },
	{ KEY(SC_AUTH, "secret_file", K_PATH), .flags = F_OWN,
	  .doc = "a private file of signing secrets, one per line "
	  "(rotation)" },
	{ KEY(SC_AUTH, "verify_token_file", K_PATH), EP(verify_token_file),
	  .doc = "with verify = meta, a file of the tokens a subscription "
	  "GET may show, one per line" },
	{ KEY(SC_AUTH, "tolerance", K_DURATION), RANGE(1, 86400), .def = "5m",
	  EP(verify.tolerance),
	  .doc = "how far a signed timestamp may lie from the clock, with a "
	  "scheme that signs one" },
	{ KEY(SC_AUTH, "signature_header", K_HEADER),
	  AUX(struct endpoint, verify.param), .fix = "",
	  .doc = "the header carrying the signature; required with hmac, "
	  "github's is X-Hub-Signature-256" },
	{ KEY(SC_AUTH, "algorithm", K_ENUM), .def = "sha256", EP(verify.alg),
	  .names = algorithms, .fix = "write sha256 or sha512",
	  .doc = "the hash of the HMAC, with verify = hmac only" },
	{ KEY(SC_AUTH, "encoding", K_ENUM), .def = "hex", EP(verify.enc),
	  .names = encodings, .fix = "write hex or base64",
	  .doc = "how the signature is written, with verify = hmac only" },
	{ KEY(SC_AUTH, "prefix", K_STRING), EP(verify.prefix),
	  .doc = "text before the encoded signature (hmac; github's is "
	  "sha256=)" },
	{ KEY(SC_AUTH, "public_url", K_STRING), EP(verify.public_url),
	  .doc = "the URL the sender posts to, as the sender writes it; "
	  "required with twilio" },
	{ KEY(SC_AUTH, "allow_from", K_CIDRS), EP(allow_from),
	  .flags = F_INHERIT, .fix = " (like 192.0.2.0/24 or 2001:db8::/32)",
	  .doc = "addresses and CIDR ranges allowed; others get 403" },
	{ KEY(SC_AUTH, "trusted_proxies", K_CIDRS), EP(trusted_proxies),
	  .flags = F_INHERIT, .fix = "",
	  .doc = "proxies whose X-Forwarded-For is believed" },
	{ KEY(SC_AUTH, "insecure_permissions", K_BOOL), .def = "no",
	  EP(insecure_permissions), .flags = F_INHERIT,
	  .doc = "accept a token or secret in a file others may read" },
	{ KEY(SC_AUTH, "rate_limit", K_RATE), RANGE(0, 1000000),
	  .flags = F_INHERIT | F_OWN,
	  .doc = "requests per source address, N/s, N/m or N/h, then 429; "
	  "default off" },
	{ KEY(SC_AUTH, "rate_burst", K_INT), RANGE(1, 1000000),
	  .flags = F_OWN,
	  .doc = "the bucket of rate_limit; default one second's worth" },

	/* [delivery] */
	{ KEY(SC_DELIVERY, "timeout", K_DURATION), RANGE(1, 86400),
	  .def = "30", CF(timeout),
	  .doc = "run time allowed to each handler" },
	{ KEY(SC_DELIVERY, "kill_grace", K_DURATION), RANGE(0, 3600),
	  .def = "5", CF(kill_grace),
	  .doc = "time between SIGTERM and SIGKILL after a timeout" },
	{ KEY(SC_DELIVERY, "runner", K_PATH), CF(runner),
	  .doc = "the hookpipe-run the responder starts; default the one "
	  "beside it" },
	{ KEY(SC_DELIVERY, "linger", K_DURATION), RANGE(0, 600), .def = "2",
	  CF(linger),
	  .doc = "how long a runner the responder started waits for new "
	  "events once the spool is drained; 0: it exits at once" },
	{ KEY(SC_DELIVERY, "path", K_STRING), .def = CONF_DEFAULT_PATH,
	  CF(handler_path), .doc = "PATH given to handlers" },
	{ KEY(SC_DELIVERY, "retries", K_INT), RANGE(0, 1000), .def = "8",
	  CF(retries),
	  .doc = "how often an event that failed for now is tried again" },
	{ KEY(SC_DELIVERY, "backoff", K_BACKOFF), RANGE(1, 30 * 86400),
	  .def = "10s, 1m, 5m, 30m, 2h, 6h, 12h, 24h", CF(backoff),
	  AUX(struct conf, nbackoff),
	  .doc = "the wait before each retry, the last one repeated" },
	{ KEY(SC_DELIVERY, "concurrency", K_INT), RANGE(1, 64), .def = "2",
	  CF(concurrency), .doc = "events with handlers (or an https:// "
	  "forward) run at once in the whole spool; amqp:// and sqs:// "
	  "forwards take none: up to 64 in flight" },
	{ KEY(SC_DELIVERY, "keep", K_DURATION), RANGE(3600, 3650L * 86400),
	  .def = "7d", CF(keep),
	  .doc = "how long done/ entries and dedupe records are kept" },
	{ KEY(SC_DELIVERY, "rlimit_as", K_SIZE), RANGE(1048576, LONG_MAX),
	  CF(rlimit_as),
	  .fix = "of at least 1M (write 512M or 2G; leave it out for no "
	  "limit)",
	  .doc = "address-space limit of each handler; default inherited" },
	{ KEY(SC_DELIVERY, "rlimit_cpu", K_DURATION), RANGE(1, 86400),
	  CF(rlimit_cpu),
	  .doc = "processor-time limit of each handler; default inherited" },
	{ KEY(SC_DELIVERY, "rlimit_nofile", K_INT), RANGE(16, 1048576),
	  CF(rlimit_nofile),
	  .doc = "open-files limit of each handler; default inherited" },

	/* [event NAME] */
	{ KEY(SC_EVENT, "handler", K_STRING), EV(handler),
	  .doctype = "path",	/* kept as written: under handlers_dir */
	  .doc = "the program to run, instead of looking in handlers_dir" },
	{ KEY(SC_EVENT, "required", K_FIELDS), EV(required),
	  .doc = "replaces the [hookpipe] list for this event" },
	{ KEY(SC_EVENT, "mode", K_ENUM), .def = "queue", EV(mode),
	  .names = modes,
	  .fix = "write queue (answer, then run) or sync (run, then answer "
	  "with its result)",
	  .doc = "queue: answer, then run; sync: run, then answer with the "
	  "result" },
	{ KEY(SC_EVENT, "timeout", K_DURATION), RANGE(1, 86400),
	  EV(timeout),
	  .doc = "replaces [delivery] timeout; at most 15m in sync mode" },
	{ KEY(SC_EVENT, "sync_output", K_BOOL), .def = "no",
	  EV(sync_output),
	  .doc = "in sync mode, answer with the handler's output" },
	{ KEY(SC_EVENT, "retries", K_INT), RANGE(0, 1000), EV(retries),
	  .doc = "replaces [delivery] retries" },
	{ KEY(SC_EVENT, "backoff", K_BACKOFF), RANGE(1, 30 * 86400),
	  EV(backoff), AUX(struct event_conf, nbackoff),
	  .doc = "replaces [delivery] backoff" },
	{ KEY(SC_EVENT, "serialize", K_BOOL), .def = "no", EV(serialize),
	  .doc = "run one event of this name at a time, in arrival order" },

	/* [status] */
	{ KEY(SC_STATUS, "password_file", K_PATH), CF(status_password_file),
	  .doc = "the file with the crypt(3) hash of the status page's "
	  "password (hookpipe passwd FILE); required" },
	{ KEY(SC_STATUS, "session_max_age", K_DURATION), RANGE(60, 30 * 86400),
	  .def = "8h", CF(status_max_age),
	  .doc = "how long a login to the status page lasts" },
	{ KEY(SC_STATUS, "login_attempts", K_INT), RANGE(1, 1000),
	  .def = "5", CF(status_login_attempts),
	  .doc = "logins (right or wrong) allowed per address in 15 "
	  "minutes, then 429" },
	{ KEY(SC_STATUS, "allow_from", K_CIDRS), CF(status_allow_from),
	  .doc = "addresses and ranges that may see the status page; default "
	  "any" },
	/* [health]: /hooks/_health */
	{ KEY(SC_HEALTH, "allow_from", K_CIDRS), CF(health.allow_from),
	  .def = "127.0.0.0/8, ::1",
	  .fix = " (write 0.0.0.0/0, ::/0 to allow any address)",
	  .doc = "addresses that may ask" },
	{ KEY(SC_HEALTH, "min_free", K_SIZE), RANGE(0, LONG_MAX),
	  .def = "64M", CF(health.min_free),
	  .doc = "free space the spool's file system must have" },
	{ KEY(SC_HEALTH, "min_inodes", K_INT), RANGE(0, LONG_MAX),
	  .def = "1000", CF(health.min_inodes),
	  .doc = "free inodes the spool's file system must have" },
	{ KEY(SC_HEALTH, "runner_max_age", K_DURATION), RANGE(0, 30 * 86400),
	  .def = "0", CF(health.runner_max_age),
	  .doc = "longest time since a runner was last at work (cron "
	  "mode); 0: not checked" },

	/* [metrics]: /hooks/_metrics, the counters file */
	{ KEY(SC_METRICS, "allow_from", K_CIDRS), CF(metrics.allow_from),
	  .def = "127.0.0.0/8, ::1",
	  .fix = " (write 0.0.0.0/0, ::/0 to allow any address)",
	  .doc = "addresses that may scrape" },
	{ KEY(SC_METRICS, "token_file", K_PATH), CF(metrics.token_file),
	  .doc = "bearer tokens a scrape must send, one a line; default "
	  "none" },
	/* [alert]: lib/alert.c */
	{ KEY(SC_ALERT, "program", K_PATH), CF(alert.program),
	  .doc = "the program run when a condition starts and when it "
	  "clears; required" },
	{ KEY(SC_ALERT, "timeout", K_DURATION), RANGE(1, 3600), .def = "10",
	  CF(alert.timeout),
	  .doc = "run time allowed to the alert program" },
	{ KEY(SC_ALERT, "repeat", K_DURATION), RANGE(0, 365L * 86400),
	  .def = "24h", CF(alert.repeat),
	  .doc = "a reminder while a condition holds this long after the "
	  "last; 0: none" },
	{ KEY(SC_ALERT, "interval", K_DURATION), RANGE(0, 86400),
	  .def = "1m", CF(alert.interval),
	  .doc = "least time between two evaluations by a runner" },
	{ KEY(SC_ALERT, "dead_window", K_DURATION), RANGE(0, 86400),
	  .def = "1m", CF(alert.dead_window),
	  .doc = "how long dead events gather into one alert; 0: fire at "
	  "the first evaluation" },
	{ KEY(SC_ALERT, "backlog_age", K_DURATION), RANGE(0, 365L * 86400),
	  .def = "15m", CF(alert.backlog_age),
	  .doc = "age of the oldest pending event that fires backlog; 0: "
	  "off" },
	{ KEY(SC_ALERT, "refusals_per_minute", K_INT), RANGE(0, 1000000000),
	  .def = "10", CF(alert.refusals_per_minute),
	  .doc = "refused requests a minute on one endpoint that fire "
	  "refusals; 0: off" },
	/* [worker]: hookpipe-worker */
	{ KEY(SC_WORKER, "broker", K_STRING), CF(worker.broker),
	  .doctype = "URL",
	  .doc = "the RabbitMQ to consume from, amqp://USER@HOST[:PORT][/VHOST]; "
	  "required" },
	{ KEY(SC_WORKER, "secret_file", K_PATH), CF(worker.secret_file),
	  .doc = "a private file holding USER's password; default the "
	  "password guest" },
	{ KEY(SC_WORKER, "exchange", K_STRING), .def = "hookpipe",
	  CF(worker.exchange),
	  .doc = "the exchange the runners publish to, declared durable" },
	{ KEY(SC_WORKER, "exchange_type", K_ENUM), .def = "topic",
	  CF(worker.exchange_type), .names = exchange_types,
	  .fix = "write topic (routing key = event name) or shard (one id, "
	  "one queue, for dedupe across receivers)",
	  .doc = "topic: bindings are event name patterns; shard: a headers "
	  "exchange on the hookpipe-shard header, bindings are the shards "
	  "(0-63) this worker owns" },
	{ KEY(SC_WORKER, "queue", K_STRING), CF(worker.queue),
	  .doc = "this worker's queue, declared durable (quorum where the "
	  "broker has it); required" },
	{ KEY(SC_WORKER, "bindings", K_STRING), CF(worker.bindings),
	  .doctype = "list",
	  .doc = "what the queue is bound to the exchange with, comma-"
	  "separated: event name patterns (* one word, # any); with shard, "
	  "shard numbers and ranges such as 0-31; default # or 0-63" },
	{ KEY(SC_WORKER, "prefetch", K_INT), RANGE(1, 65535),
	  CF(worker.prefetch),
	  .doc = "unacknowledged messages the broker sends ahead; default "
	  "[delivery] concurrency" },
	{ KEY(SC_EVENT, "forward", K_STRING), EV(forward),
	  .doc = "also send the event to https://... (Standard Webhooks "
	  "signed), sqs://REGION/ACCOUNT/QUEUE or amqp://USER@HOST/VHOST "
	  "(RabbitMQ, publisher confirms), after its handlers" },
	{ KEY(SC_EVENT, "secret_file", K_PATH), EV(secret_file),
	  .doc = "with forward = https://, a private file holding the "
	  "whsec_ secret it signs with; with amqp://, the password" },
	{ KEY(SC_EVENT, "credentials_file", K_PATH), EV(credentials_file),
	  .doc = "with forward = sqs://, a private file with "
	  "aws_access_key_id and aws_secret_access_key" },
	{ KEY(SC_EVENT, "ca_file", K_PATH), EV(ca_file),
	  .doc = "with forward, the CA certificates (PEM) to trust instead "
	  "of the system's" },
	{ KEY(SC_EVENT, "tls_verify", K_BOOL), .def = "yes", EV(tls_verify),
	  .doc = "with forward, verify the server's certificate and name; "
	  "no is for tests only" },
	{ KEY(SC_EVENT, "endpoint_url", K_STRING), EV(endpoint_url),
	  .doc = "with forward = sqs://, where to post instead of "
	  "https://sqs.REGION.amazonaws.com" },
	{ KEY(SC_EVENT, "exchange", K_STRING), EV(exchange),
	  .doc = "with forward = amqp://, the exchange to publish to; "
	  "default hookpipe, the one hookpipe-worker declares" },
	{ KEY(SC_EVENT, "routing_key", K_STRING), EV(routing_key),
	  .doc = "with forward = amqp://, the routing key; default the "
	  "event's name" },
};

enum skind {
	SK_UNKNOWN, SK_HOOKPIPE, SK_AUTH, SK_DELIVERY, SK_ENV, SK_EVENT,
	SK_ENDPOINT, SK_STATUS, SK_HEALTH, SK_METRICS, SK_ALERT, SK_WORKER
};

static const struct {
	const char	*word;
	enum skind	 kind;
	unsigned	 scopes;	/* the keys it takes: 1 << kscope */
} kinds[] = {
	{ "hookpipe", SK_HOOKPIPE, 1 << SC_GLOBAL | 1 << SC_FIELDS },
	{ "auth", SK_AUTH, 1 << SC_AUTH },
	{ "delivery", SK_DELIVERY, 1 << SC_DELIVERY },
	{ "env", SK_ENV, 0 },
	{ "event", SK_EVENT, 1 << SC_EVENT },
	{ "endpoint", SK_ENDPOINT, 1 << SC_FIELDS | 1 << SC_AUTH },
	{ "status", SK_STATUS, 1 << SC_STATUS },
	{ "health", SK_HEALTH, 1 << SC_HEALTH },
	{ "metrics", SK_METRICS, 1 << SC_METRICS },
	{ "alert", SK_ALERT, 1 << SC_ALERT },
	{ "worker", SK_WORKER, 1 << SC_WORKER },
};

/* A section as the file writes it. */
struct section {
	enum skind	 kind;
	unsigned	 scopes;
	int		 line;
	char		*orig;		/* the name as written, trimmed */
	char		*label;		/* for messages: "hookpipe", "event
					   Booking.Created", else orig */
	const char	*arg;		/* in label: NAME of [event NAME] and
					   [endpoint NAME], else "" */
	size_t		 key0, nkeys;	/* its keys: lookup.key[key0...] */
	size_t		 ndistinct;	/* of them, not set again */
	size_t		 hb, he;	/* the header line's bytes */
	const struct preset *preset;	/* its keys, where it lacks them */
	int		 pline;		/* the preset's line */
	int		 badpreset;	/* names none: its verification is
					   not checked further */
};

/* A key line of a section. */
struct keyline {
	int	 line;
	char	*name;			/* as written */
};

/* The line lookup: each section and key, in the order of the file. */
struct lookup {
	struct section	*sect;
	size_t		 nsect;
	struct keyline	*key;
	size_t		 nkey;
};

struct loader {
	const char	*path;
	mode_t		 mode;		/* the INI's */
	dictionary	*ini;
	struct lookup	 lk;
	struct diag	*diag;
	char		 dir[PATH_MAX];	/* the INI's folder */
};

/* Which section a loader reads: its place in the file (-1: absent) and
 * its label, which an absent one has too ("auth"). */
struct where {
	int		 sec;
	const char	*label;
};

static void
diag_add(struct diag *d, int warn, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
diag_add(struct diag *d, int warn, const char *file, int line,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		buf_printf(&d->text, "%s:%d: %s%s\n", file, line,
		    warn ? "warning: " : "", msg);
	else
		buf_printf(&d->text, "%s: %s%s\n", file,
		    warn ? "warning: " : "", msg);
	if (warn)
		d->nwarn++;
	else
		d->nerr++;
}

void
diag_free(struct diag *d)
{
	buf_free(&d->text);
	d->nerr = d->nwarn = 0;
}

int
conf_key_doc(size_t n, struct conf_keydoc *doc)
{
	static const char *const sections[] = {
		"hookpipe", "hookpipe", "auth", "delivery", "event NAME",
		"status", "health", "metrics", "alert", "worker"
	};
	const struct conf_key *k;

	if (n >= NITEMS(keys))
		return -1;
	k = &keys[n];
	doc->section = sections[k->scope];
	doc->key = k->name;
	doc->type = k->doctype ? k->doctype : type_names[k->type];
	doc->values = k->names;
	doc->def = k->def;
	doc->doc = k->doc;
	return 0;
}

/* The row of a key a section of these scopes takes, or NULL. */
static const struct conf_key *
find_key(unsigned scopes, const char *name)
{
	size_t i;

	for (i = 0; i < NITEMS(keys); i++)
		if ((scopes & 1U << keys[i].scope) &&
		    strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * What a path is when a regular file was expected. Every file the
 * configuration names (the INI, token_file, secret_file, log_file) must
 * be one (log_file may also be /dev/null): a FIFO would hang whoever
 * opens it, a device is no place for secrets or a log. Symbolic links
 * are followed, on purpose (no O_NOFOLLOW): operators link their
 * configuration into place, and Kubernetes mounts secrets as links into
 * a folder of the current version.
 */
static const char *
file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a file";
}

static int
env_name_ok(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* 1 when NAME can be the last part of a URL path: A-Z a-z 0-9 . _ -,
 * starting with a letter or digit, at most CONF_ENDPOINT_MAX. */
static int
endpoint_name_ok(const char *s)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return i <= CONF_ENDPOINT_MAX;
}

static void
lookup_free(struct lookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nsect; i++) {
		free(lk->sect[i].orig);
		free(lk->sect[i].label);
	}
	for (i = 0; i < lk->nkey; i++)
		free(lk->key[i].name);
	free(lk->sect);
	free(lk->key);
	memset(lk, 0, sizeof(*lk));
}

/* What a section is, from its first word, any case: [event NAME] and
 * [endpoint NAME] need the NAME, the others take none. */
static int
classify(struct section *s)
{
	const char	*arg;
	size_t		 n, i;

	for (n = 0; s->orig[n] != '\0' && !isspace((unsigned char)s->orig[n]);
	    n++)
		;
	for (arg = s->orig + n; isspace((unsigned char)*arg); arg++)
		;
	for (i = 0; i < NITEMS(kinds); i++)
		if (strlen(kinds[i].word) == n &&
		    strncasecmp(s->orig, kinds[i].word, n) == 0)
			break;
	if (i == NITEMS(kinds) || (*arg != '\0') != (kinds[i].kind ==
	    SK_EVENT || kinds[i].kind == SK_ENDPOINT)) {
		s->arg = "";
		return (s->label = strdup(s->orig)) == NULL ? -1 : 0;
	}
	s->kind = kinds[i].kind;
	s->scopes = kinds[i].scopes;
	if (asprintf(&s->label, "%s%s%s", kinds[i].word, *arg ? " " : "",
	    arg) == -1) {
		s->label = NULL;
		return -1;
	}
	s->arg = s->label + n + (*arg != '\0');
	return 0;
}

/* A section header, its name between b and e; hb, he: the line's
 * bytes. */
static int
push_section(struct lookup *lk, const char *b, const char *e, int line,
    size_t hb, size_t he)
{
	struct section *nv, *s;

	if ((nv = reallocarray(lk->sect, lk->nsect + 1, sizeof(*nv))) == NULL)
		return -1;
	lk->sect = nv;
	s = &nv[lk->nsect];
	memset(s, 0, sizeof(*s));
	s->line = line;
	s->key0 = lk->nkey;
	s->hb = hb;
	s->he = he;
	if ((s->orig = strndup(b, (size_t)(e - b))) == NULL)
		return -1;
	lk->nsect++;
	return classify(s);
}

static int
push_key(struct lookup *lk, const char *b, const char *e, int line)
{
	struct keyline *nv;

	if ((nv = reallocarray(lk->key, lk->nkey + 1, sizeof(*nv))) == NULL)
		return -1;
	lk->key = nv;
	nv[lk->nkey].line = line;
	if ((nv[lk->nkey].name = strndup(b, (size_t)(e - b))) == NULL)
		return -1;
	lk->nkey++;
	lk->sect[lk->nsect - 1].nkeys++;
	return 0;
}

/*
 * Note one line, trimmed to [b, e): a section header, a key or nothing.
 * The line's kind is iniparser's rule (a comment starts with ; or #, a
 * header is [...], a key line holds =), so the lookup and iniparser see
 * the same sections and keys; what iniparser would take silently or
 * mangle is refused here, with its line. Returns 1 on a syntax error,
 * -1 out of memory.
 */
static int
lookup_line(struct loader *l, const char *text, const char *b,
    const char *e, int line)
{
	const char	*eq, *k;
	size_t		 hb = (size_t)(b - text), he = (size_t)(e - text);

	if (b == e)
		return 0;
	if (*b == ';' || *b == '#') {
		/* iniparser would join the next line into the comment
		 * and the key there would vanish without a word. */
		if (e[-1] != '\\')
			return 0;
		diag_add(l->diag, 0, l->path, line, "a comment ends in '\\': "
		    "the next line would be swallowed; remove the backslash");
		return 1;
	}
	if (*b == '[') {
		if (e[-1] != ']' || e - b < 3) {
			diag_add(l->diag, 0, l->path, line, "malformed "
			    "section header: write [name]");
			return 1;
		}
		for (b++, e--; b < e && isspace((unsigned char)*b); b++)
			;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		return push_section(&l->lk, b, e, line, hb, he);
	}
	if ((eq = memchr(b, '=', (size_t)(e - b))) == NULL) {
		diag_add(l->diag, 0, l->path, line, "expected 'key = value'");
		return 1;
	}
	for (k = eq; k > b && isspace((unsigned char)k[-1]); k--)
		;
	if (k == b) {
		diag_add(l->diag, 0, l->path, line, "missing key before '='");
		return 1;
	}
	if (l->lk.nsect == 0) {
		diag_add(l->diag, 0, l->path, line, "key '%.*s' outside a "
		    "section: put it under [hookpipe], [auth], [delivery], "
		    "[env], [event NAME] or [endpoint NAME]", (int)(k - b), b);
		return 1;
	}
	return push_key(&l->lk, b, k, line);
}

/* The line lookup of the whole text; -1 when it has a syntax error. */
static int
lookup_build(struct loader *l, const char *text)
{
	const char	*p, *nl, *next, *b, *e;
	int		 line = 0, cont = 0, bad = 0, rc;

	for (p = text; *p != '\0'; p = next) {
		line++;
		nl = strchr(p, '\n');
		next = nl ? nl + 1 : p + strlen(p);
		b = p;
		e = nl ? nl : next;
		if ((size_t)(e - b) > LINE_MAX_LEN) {
			diag_add(l->diag, 0, l->path, line, "line longer than "
			    "%d bytes", LINE_MAX_LEN);
			bad = 1;
			continue;
		}
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (cont) {	/* the previous value goes on here */
			cont = e > b && e[-1] == '\\';
			continue;
		}
		if ((rc = lookup_line(l, text, b, e, line)) == -1) {
			diag_add(l->diag, 0, l->path, 0, "out of memory");
			return -1;
		}
		bad |= rc;
		cont = b < e && *b != '[' && *b != ';' && *b != '#' &&
		    e[-1] == '\\';
	}
	if (cont) {	/* iniparser would drop the whole value */
		diag_add(l->diag, 0, l->path, line, "the last line ends in "
		    "'\\' and its value would be lost: remove the backslash");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The line where section sec writes a key itself (the section's when
 * key is NULL); 0 when it does not. */
static int
own_line(const struct loader *l, int sec, const char *key)
{
	const struct section	*s;
	size_t			 i;

	if (sec < 0)
		return 0;
	s = &l->lk.sect[sec];
	if (key == NULL)
		return s->line;
	for (i = s->key0; i < s->key0 + s->nkeys; i++)
		if (strcasecmp(l->lk.key[i].name, key) == 0)
			return l->lk.key[i].line;
	return 0;
}

/* The value a section's preset gives a key the section takes; NULL when
 * none (the section's own key, if written, wins: see get()). */
static const char *
preset_value(const struct loader *l, int sec, const char *key)
{
	const struct section	*s;
	size_t			 i;

	if (sec < 0 || (s = &l->lk.sect[sec])->preset == NULL ||
	    find_key(s->scopes, key) == NULL)
		return NULL;
	for (i = 0; i < PRESET_KEYS && s->preset->kv[i][0] != NULL; i++)
		if (strcmp(s->preset->kv[i][0], key) == 0)
			return s->preset->kv[i][1];
	return NULL;
}

/* The line of a key of section sec (of the section when key is NULL):
 * its own, else its preset's when that sets it; 0 when absent. */
static int
line_of(const struct loader *l, int sec, const char *key)
{
	int n = own_line(l, sec, key);

	if (n == 0 && key != NULL && preset_value(l, sec, key) != NULL)
		n = l->lk.sect[sec].pline;
	return n;
}

/* Sections: known, named right, each once. Event names keep their case,
 * so [event a] and [event A] are two events; other names are
 * case-insensitive. */
static void
check_sections(struct loader *l)
{
	const struct section	*s, *t;
	size_t			 i, j;

	for (i = 0; i < l->lk.nsect; i++) {
		s = &l->lk.sect[i];
		for (j = 0; j < i; j++) {
			t = &l->lk.sect[j];
			if (s->kind != t->kind || (s->kind == SK_EVENT ?
			    strcmp(s->label, t->label) : strcasecmp(s->label,
			    t->label)) != 0)
				continue;
			diag_add(l->diag, 0, l->path, s->line, "section [%s] "
			    "appears again (first on line %d%s): merge them",
			    s->orig, t->line, strcmp(s->orig, t->orig) != 0 ?
			    "; names are case-insensitive" : "");
			break;
		}
		if (s->kind == SK_UNKNOWN && strcasecmp(s->orig, "event") == 0)
			diag_add(l->diag, 0, l->path, s->line, "[event] needs "
			    "a name: [event booking.updated]");
		else if (s->kind == SK_UNKNOWN && strcasecmp(s->orig,
		    "endpoint") == 0)
			diag_add(l->diag, 0, l->path, s->line, "[endpoint] "
			    "needs a name, the last part of its URL: [endpoint "
			    "github] for /hooks/github");
		else if (s->kind == SK_UNKNOWN)
			diag_add(l->diag, 0, l->path, s->line, "unknown "
			    "section [%s]: known are [hookpipe], [auth], "
			    "[delivery], [env], [event NAME], [endpoint "
			    "NAME], [status], [health], [metrics], [alert] and "
			    "[worker]", s->orig);
		else if (s->kind == SK_EVENT && !event_name_ok(s->arg))
			diag_add(l->diag, 0, l->path, s->line, "[%s]: an event "
			    "name is 1-128 of A-Z a-z 0-9 . _ - and starts "
			    "with a letter or digit", s->label);
		else if (s->kind == SK_ENDPOINT && !endpoint_name_ok(s->arg))
			diag_add(l->diag, 0, l->path, s->line, "[%s]: an "
			    "endpoint name is 1-%d of A-Z a-z 0-9 . _ - and "
			    "starts with a letter or digit", s->label,
			    CONF_ENDPOINT_MAX);
	}
}

/* Keys: each once in its section, and one the section takes. */
static void
check_keys(struct loader *l)
{
	struct section		*s;
	const struct keyline	*k;
	size_t			 i, j, n;

	for (i = 0; i < l->lk.nsect; i++) {
		s = &l->lk.sect[i];
		for (n = s->key0; n < s->key0 + s->nkeys; n++) {
			k = &l->lk.key[n];
			for (j = s->key0; j < n; j++)
				if (strcasecmp(l->lk.key[j].name, k->name) == 0)
					break;
			if (j == n)
				s->ndistinct++;
			else
				diag_add(l->diag, 0, l->path, k->line, "[%s] "
				    "%s is set again (first on line %d): keep "
				    "one", s->label, k->name,
				    l->lk.key[j].line);
			if (s->kind == SK_ENV && (!env_name_ok(k->name) ||
			    strncmp(k->name, "HOOKPIPE_", 9) == 0 ||
			    strcmp(k->name, "PATH") == 0))
				diag_add(l->diag, 0, l->path, k->line, "[env] "
				    "%s: not a usable variable name (letters, "
				    "digits, _; not PATH, which is [delivery] "
				    "path, nor HOOKPIPE_*)", k->name);
			else if (s->kind != SK_ENV && s->kind != SK_UNKNOWN &&
			    find_key(s->scopes, k->name) == NULL)
				diag_add(l->diag, 0, l->path, k->line,
				    "unknown key '%s' in [%s]: see "
				    "hookpipe.ini(5) for the keys of this "
				    "section", k->name, s->label);
		}
	}
}

/* The lookup's scan (the scanner reports syntax errors with lines). */
static int
ini_silent(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/*
 * The text iniparser reads: the same bytes, but each section header is
 * [sN], N its place in the file. iniparser lowercases section names, so
 * [event Booking.Created] and [event booking.created] would be one
 * section to it, their keys merged, although event names are
 * case-sensitive everywhere else: numbered, each section stays its own,
 * and the lookup keeps its name as written. A name iniparser cannot
 * take safely, like [hookpipe:spool_dir] (CVE-2023-33461), never
 * reaches it either. Every line stays on its line.
 */
static char *
ini_text(const struct lookup *lk, const char *text, size_t len,
    size_t *outlen)
{
	struct buf	b = { NULL, 0, 0, 0 };
	size_t		i, at = 0;

	for (i = 0; i < lk->nsect; i++) {
		buf_add(&b, text + at, lk->sect[i].hb - at);
		buf_printf(&b, "[s%zu]", i);
		at = lk->sect[i].he;
	}
	buf_add(&b, text + at, len - at);
	if (b.oom || buf_reserve(&b, 1) == -1) {
		buf_free(&b);
		return NULL;
	}
	*outlen = b.len;
	return b.p;
}

/*
 * iniparser 4.1 reads only a path, with a plain fopen (iniparser_load_file
 * on a FILE * came with 4.2): it gets the text in a memfd, under its
 * /proc/self/fd name, so that it parses the bytes the lookup saw, not
 * the file again (rewritten since, or a FIFO swapped in). Without
 * memfd_create or /proc, the text goes to a private temporary file.
 */
static dictionary *
ini_load_text(const char *text, size_t len)
{
	dictionary	*ini = NULL;
	const char	*tmp;
	char		 name[PATH_MAX];
	int		 fd = -1, probe, unl = 0;

#ifdef MFD_CLOEXEC
	if ((fd = memfd_create("hookpipe.ini", MFD_CLOEXEC)) != -1) {
		(void)snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		if ((probe = open(name, O_RDONLY | O_CLOEXEC)) != -1)
			(void)close(probe);
		else {
			(void)close(fd);
			fd = -1;
		}
	}
#endif
	if (fd == -1) {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
			tmp = "/tmp";
		if (snprintf(name, sizeof(name), "%s/hookpipe-ini.XXXXXX",
		    tmp) >= (int)sizeof(name) || (fd = mkostemp(name,
		    O_CLOEXEC)) == -1)
			return NULL;
		unl = 1;
	}
	if (write_all(fd, text, len) == 0)
		ini = iniparser_load(name);
	if (unl)
		(void)unlink(name);
	(void)close(fd);
	return ini;
}

/*
 * iniparser parses the text; its own list of sections and of the keys
 * in each must be the lookup's (the same count, as every key the lookup
 * saw is distinct), or a value asked for by the lookup's name could be
 * another's, or none.
 */
static dictionary *
ini_load(struct loader *l, const char *text, size_t len)
{
	dictionary	*ini;
	char		*itext, name[32];
	size_t		 ilen, i;

	iniparser_set_error_callback(ini_silent);
	if ((itext = ini_text(&l->lk, text, len, &ilen)) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return NULL;
	}
	ini = ini_load_text(itext, ilen);
	free(itext);
	if (ini == NULL) {
		diag_add(l->diag, 0, l->path, 0, "iniparser could not read "
		    "the file");
		return NULL;
	}
	if (iniparser_getnsec(ini) == (int)l->lk.nsect) {
		for (i = 0; i < l->lk.nsect; i++) {
			(void)snprintf(name, sizeof(name), "s%zu", i);
			if (iniparser_getsecnkeys(ini, name) !=
			    (int)l->lk.sect[i].ndistinct)
				break;
		}
		if (i == l->lk.nsect)
			return ini;
	}
	diag_add(l->diag, 0, l->path, 0, "iniparser read other sections or "
	    "keys than hookpipe's line lookup: please report this file as a "
	    "hookpipe bug");
	iniparser_freedict(ini);
	return NULL;
}

/* The value of a key of section sec, or NULL when absent. */
static const char *
get(const struct loader *l, int sec, const char *key)
{
	char	full[LINE_MAX_LEN + 32];
	int	n;

	if (own_line(l, sec, key) == 0)	/* never ask iniparser for what
					   is not a key */
		return preset_value(l, sec, key);
	n = snprintf(full, sizeof(full), "s%d:%s", sec, key);
	if (n < 0 || (size_t)n >= sizeof(full))
		return NULL;
	return iniparser_getstring(l->ini, full, NULL);
}

static int
has(const struct loader *l, const struct where *w, const char *key)
{
	return line_of(l, w->sec, key) != 0;
}

static int
find_section(const struct loader *l, enum skind kind)
{
	size_t i;

	for (i = 0; i < l->lk.nsect; i++)
		if (l->lk.sect[i].kind == kind)
			return (int)i;
	return -1;
}

/* An error about a key: "FILE:LINE: [section] key: message". */
static void
bad(struct loader *l, const struct where *w, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
bad(struct loader *l, const struct where *w, const char *key,
    const char *fmt, ...)
{
	char	msg[900];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (own_line(l, w->sec, key) == 0 && preset_value(l, w->sec, key) !=
	    NULL)
		diag_add(l->diag, 0, l->path, line_of(l, w->sec, key), "[%s] "
		    "%s (set by preset = %s): %s", w->label, key,
		    l->lk.sect[w->sec].preset->name, msg);
	else
		diag_add(l->diag, 0, l->path, line_of(l, w->sec, key),
		    "[%s] %s: %s", w->label, key, msg);
}

/* preset = NAME in [auth] and each [endpoint]: the row whose keys the
 * section takes where it does not write them. [auth]'s is the default
 * endpoint's, whose fields are [hookpipe]'s: there it gives those. */
static void
load_presets(struct loader *l)
{
	struct section	*s;
	struct where	 w;
	struct buf	 names = { NULL, 0, 0, 0 };
	const char	*v;
	size_t		 i, j;
	int		 h = find_section(l, SK_HOOKPIPE);

	for (i = 0; i < l->lk.nsect; i++) {
		s = &l->lk.sect[i];
		if ((s->kind != SK_AUTH && s->kind != SK_ENDPOINT) ||
		    (v = get(l, (int)i, "preset")) == NULL)
			continue;
		for (j = 0; j < NITEMS(presets); j++)
			if (strcmp(presets[j].name, v) == 0)
				break;
		w.sec = (int)i;
		w.label = s->label;
		if (j == NITEMS(presets)) {
			buf_reset(&names);
			for (j = 0; j < NITEMS(presets); j++)
				buf_printf(&names, "%s%s", j == 0 ? "" : j ==
				    NITEMS(presets) - 1 ? " or " : ", ",
				    presets[j].name);
			bad(l, &w, "preset", "'%s' is no preset: write %s (or "
			    "leave preset out and set verify and its keys)",
			    v, names.oom ? "one of hookpipe.ini(5)" :
			    buf_cstr(&names));
			s->badpreset = 1;
			continue;
		}
		s->preset = &presets[j];
		s->pline = own_line(l, (int)i, "preset");
		if (s->kind == SK_AUTH && h >= 0) {
			l->lk.sect[h].preset = s->preset;
			l->lk.sect[h].pline = s->pline;
		}
	}
	buf_free(&names);
}

/* An error about a section, at its header (the message names it). */
static void
sect_err(struct loader *l, const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sect_err(struct loader *l, const struct where *w, const char *fmt, ...)
{
	char	msg[900];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(l->diag, 0, l->path, line_of(l, w->sec, NULL), "%s", msg);
}

/* A path value, made absolute against the config file's folder. */
static char *
get_path(struct loader *l, int sec, const char *key)
{
	const char	*v = get(l, sec, key);
	char		*p;

	if (v == NULL || *v == '\0')
		return NULL;
	if (v[0] == '/')
		return strdup(v);
	if (asprintf(&p, "%s/%s", l->dir, v) == -1)
		return NULL;
	return p;
}

/* A boolean, number, duration, size or choice into n; -1 when it is
 * none within the row's bounds. */
static int
parse_num(const struct conf_key *k, const char *v, long *n)
{
	char	*end;
	size_t	 z, i;
	long	 t;
	int	 b;

	switch (k->type) {
	case K_BOOL:
		if ((b = parse_bool(v)) == -1)
			return -1;
		*n = b;
		return 0;
	case K_INT:
		errno = 0;
		t = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0)
			return -1;
		break;
	case K_DURATION:
		if (parse_duration(v, &t) == -1)
			return -1;
		break;
	case K_SIZE:
		if (parse_size(v, &z) == -1 || z > (size_t)k->max)
			return -1;
		t = (long)z;
		break;
	default:	/* K_ENUM */
		for (i = 0; k->names[i] != NULL; i++)
			if (strcmp(k->names[i], v) == 0) {
				*n = (long)i;
				return 0;
			}
		return -1;
	}
	if (t < k->min || t > k->max)
		return -1;
	*n = t;
	return 0;
}

static void
bad_value(struct loader *l, const struct where *w, const struct conf_key *k,
    const char *v)
{
	switch (k->type) {
	case K_BOOL:
		bad(l, w, k->name, "'%s' is not a boolean: write yes or no", v);
		break;
	case K_INT:
		bad(l, w, k->name, "'%s' is not a whole number from %ld to %ld",
		    v, k->min, k->max);
		break;
	case K_DURATION:
		bad(l, w, k->name, "'%s' is not a duration from %lds to %lds "
		    "(write 30, 30s, 5m or 2h)", v, k->min, k->max);
		break;
	case K_SIZE:
		bad(l, w, k->name, "'%s' is not a size %s", v, k->fix);
		break;
	default:
		bad(l, w, k->name, "'%s': %s", v, k->fix);
	}
}

/* Into the row's field, as wide as it is: size_t, int (enums too) or
 * long. */
static void
store_num(void *obj, const struct conf_key *k, long n)
{
	char	*p = (char *)obj + k->off;
	size_t	 z = (size_t)n;
	int	 i = (int)n;

	if (k->type == K_SIZE)
		memcpy(p, &z, sizeof(z));
	else if (k->size == sizeof(int))
		memcpy(p, &i, sizeof(i));
	else
		memcpy(p, &n, sizeof(n));
}

/* A wrong value is reported and the default taken, so that one mistake
 * is not reported again through the keys that depend on it. */
static void
set_num(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	long n = 0;

	if (v != NULL && parse_num(k, v, &n) == -1) {
		bad_value(l, w, k, v);
		v = NULL;
	}
	if (v == NULL && (k->def == NULL || parse_num(k, k->def, &n) == -1))
		return;		/* unset: the field keeps its value */
	store_num(obj, k, n);
}

static void
set_string(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	char **p = (char **)(void *)((char *)obj + k->off);

	if (k->type == K_PATH)
		*p = get_path(l, w->sec, k->name);
	else if (v != NULL && *v != '\0')
		*p = strdup(v);
	else if (k->def != NULL)
		*p = strdup(k->def);
}

/* A header as a source of the event name or id: "header:X-GitHub-Event". */
static void
header_field(struct loader *l, const struct where *w, const char *key,
    const char *v, char *param, size_t len)
{
	if (auth_header_param(v + 7, param, len) == -1)
		bad(l, w, key, "'%s' does not name a header (letters, digits "
		    "and -)", v);
}

/* event_field or id_field: a dotted JSON path or header:NAME. */
static void
set_field(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	char **p = (char **)(void *)((char *)obj + k->off);

	if ((*p = strdup(v != NULL ? v : k->def)) == NULL)
		return;
	if (strncmp(*p, "header:", 7) == 0)
		header_field(l, w, k->name, *p, (char *)obj + k->aux,
		    k->auxsize);
	else if (!payload_path_ok(*p))
		bad(l, w, k->name, "'%s' is not a dotted JSON path like %s or "
		    "meta.%s, nor header:NAME", *p, k->def, k->def);
}

static void
set_fields(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	struct strlist	*out = (struct strlist *)(void *)((char *)obj + k->off);
	size_t		 i;

	if (v == NULL)
		return;
	if (strlist_split(out, v) == -1) {
		bad(l, w, k->name, "out of memory");
		return;
	}
	for (i = 0; i < out->n; i++)
		if (!payload_path_ok(out->v[i]))
			bad(l, w, k->name, "'%s' is not a dotted JSON path "
			    "like data.booking_id", out->v[i]);
}

static void
set_header(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	char **name = (char **)(void *)((char *)obj + k->off);

	if (v == NULL && (v = k->def) == NULL)
		return;
	if (k->size != 0 && (*name = strdup(v)) == NULL)
		return;
	if (auth_header_param(v, (char *)obj + k->aux, k->auxsize) == -1)
		bad(l, w, k->name, "'%s' is not a header name%s", v, k->fix);
}

static void
set_cidrs(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const char *v)
{
	size_t badi = 0;

	if (v == NULL)
		v = k->def;
	if (v != NULL && cidr_list_parse(v, (struct cidr_list *)(void *)
	    ((char *)obj + k->off), &badi) == -1)
		bad(l, w, k->name, "item %zu is not an IPv4/IPv6 address or "
		    "CIDR range with zero host bits%s", badi + 1, k->fix);
}

/* A backoff list, "10s, 1m, 5m"; NULL when it is not one. */
static long *
parse_backoff(struct loader *l, const struct where *w,
    const struct conf_key *k, const char *v, size_t *n)
{
	struct strlist	 items;
	long		*out;
	size_t		 i;

	if (strlist_split(&items, v) == -1)
		return NULL;
	if (items.n == 0 || (out = calloc(items.n, sizeof(*out))) == NULL) {
		bad(l, w, k->name, "write a list of durations like 10s, 1m, "
		    "5m, 30m, 2h");
		strlist_free(&items);
		return NULL;
	}
	for (i = 0; i < items.n; i++) {
		if (parse_duration(items.v[i], &out[i]) == -1 ||
		    out[i] < k->min || out[i] > k->max) {
			bad(l, w, k->name, "item %zu '%s' is not a duration "
			    "from 1s to 30d", i + 1, items.v[i]);
			free(out);
			strlist_free(&items);
			return NULL;
		}
	}
	*n = items.n;
	strlist_free(&items);
	return out;
}

static void
set_backoff(struct loader *l, const struct where *w,
    const struct conf_key *k, void *obj, const char *v)
{
	long	**p = (long **)(void *)((char *)obj + k->off);
	size_t	  n = 0;

	if (v != NULL)
		*p = parse_backoff(l, w, k, v, &n);
	if (*p == NULL && k->def != NULL)
		*p = parse_backoff(l, w, k, k->def, &n);
	memcpy((char *)obj + k->aux, &n, sizeof(n));
}

/* What an [endpoint] takes from the default endpoint when it does not
 * set the key: a number or a list of addresses. */
static void
inherit(struct loader *l, const struct where *w, const struct conf_key *k,
    void *obj, const void *from)
{
	if (k->type != K_CIDRS)
		memcpy((char *)obj + k->off, (const char *)from + k->off,
		    k->size);
	else if (cidr_list_copy((const struct cidr_list *)(const void *)
	    ((const char *)from + k->off), (struct cidr_list *)(void *)
	    ((char *)obj + k->off)) == -1)
		bad(l, w, k->name, "out of memory");
}

/* Every row of a scope, from section w into obj (a struct conf,
 * endpoint or event_conf); from: the default endpoint an [endpoint]
 * inherits from, else NULL. */
static void
load_scope(struct loader *l, const struct where *w, enum kscope sc,
    void *obj, const void *from)
{
	const struct conf_key	*k;
	const char		*v;
	size_t			 i;

	for (i = 0; i < NITEMS(keys); i++) {
		k = &keys[i];
		if (k->scope != sc || (k->flags & F_OWN))
			continue;
		v = get(l, w->sec, k->name);
		if (v == NULL && from != NULL && (k->flags & F_INHERIT))
			inherit(l, w, k, obj, from);
		else if (k->type == K_PATH || k->type == K_STRING)
			set_string(l, w, k, obj, v);
		else if (k->type == K_FIELD)
			set_field(l, w, k, obj, v);
		else if (k->type == K_FIELDS)
			set_fields(l, w, k, obj, v);
		else if (k->type == K_HEADER)
			set_header(l, w, k, obj, v);
		else if (k->type == K_CIDRS)
			set_cidrs(l, w, k, obj, v);
		else if (k->type == K_BACKOFF)
			set_backoff(l, w, k, obj, v);
		else
			set_num(l, w, k, obj, v);
	}
}

static void
load_global(struct loader *l, struct conf *c, const struct where *w)
{
	struct stat st;

	load_scope(l, w, SC_GLOBAL, c, NULL);
	if (c->spool_dir == NULL)
		sect_err(l, w, "[hookpipe] spool_dir is not set: name the "
		    "folder where accepted events are stored");
	if (c->log_file == NULL && c->spool_dir != NULL &&
	    asprintf(&c->log_file, "%s/delivery.log", c->spool_dir) == -1)
		c->log_file = NULL;
	/* Missing is fine (it is created); dlog_open checks again. */
	if (c->log_file != NULL && stat(c->log_file, &st) == 0 &&
	    !dlog_target_ok(&st))
		bad(l, w, "log_file", "%s is not a regular file (%s): name a "
		    "file to append to (or /dev/null for no log)", c->log_file,
		    file_kind(st.st_mode));
}

/* The request side of an endpoint: where its handlers are, its limits
 * and fields. An [endpoint] starts from the default's limits (dflt). */
static void
load_fields(struct loader *l, struct endpoint *ep, const struct where *w,
    const struct endpoint *dflt)
{
	load_scope(l, w, SC_FIELDS, ep, dflt);
	if (ep->handlers_dir == NULL && dflt != NULL &&
	    dflt->handlers_dir != NULL && asprintf(&ep->handlers_dir, "%s/%s",
	    dflt->handlers_dir, ep->name) == -1)
		ep->handlers_dir = NULL;
	if (ep->handlers_dir == NULL && dflt == NULL)
		sect_err(l, w, "[%s] handlers_dir is not set: name the folder "
		    "of handler programs", w->label);
}

/* rate_limit = N/s, N/m or N/h: per source address, a token bucket of
 * rate_burst requests, one second's worth unless set. */
static void
load_rate(struct loader *l, struct endpoint *ep, const struct where *w,
    const struct endpoint *dflt)
{
	const struct conf_key	*kr = find_key(1U << SC_AUTH, "rate_limit");
	const struct conf_key	*kb = find_key(1U << SC_AUTH, "rate_burst");
	const char		*v = get(l, w->sec, kr->name);
	char			*end;
	double			 n, per = 0;
	long			 burst;

	ep->rate = dflt ? dflt->rate : 0;
	ep->burst = dflt ? dflt->burst : 0;
	if (v != NULL) {
		errno = 0;
		n = strtod(v, &end);
		if (strcmp(end, "/s") == 0)
			per = 1;
		else if (strcmp(end, "/m") == 0)
			per = 60;
		else if (strcmp(end, "/h") == 0)
			per = 3600;
		if (end == v || errno != 0 || per == 0 || !(n >= kr->min) ||
		    n > kr->max || (*v < '0' || *v > '9')) {
			bad(l, w, kr->name, "'%s' is not a rate: write "
			    "requests per source address as 10/s, 600/m or "
			    "1000/h (0/s: off)", v);
			return;
		}
		ep->rate = n / per;
		ep->burst = ep->rate > 1 ? ep->rate : 1;
	}
	v = get(l, w->sec, kb->name);
	if (ep->rate > 0) {
		burst = (long)ep->burst;
		if (v != NULL && parse_num(kb, v, &burst) == -1)
			bad_value(l, w, kb, v);
		ep->burst = (double)burst;
	} else if (v != NULL)
		bad(l, w, kb->name, "needs rate_limit");
}

/* The schemes whose row takes a key, "a, b or c", into buf. */
static const char *
scheme_users(unsigned bit, char *buf, size_t size)
{
	size_t	i, n = 0, k = 0;
	int	w;

	for (i = 0; i < VERIFY_NSCHEMES; i++)
		n += (verify_row((enum verify_scheme)i)->keys & bit) != 0;
	buf[0] = '\0';
	for (i = 0; i < VERIFY_NSCHEMES; i++) {
		if (!(verify_row((enum verify_scheme)i)->keys & bit))
			continue;
		k++;
		w = snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
		    k == 1 ? "" : k == n ? " or " : ", ",
		    verify_scheme_name((enum verify_scheme)i));
		if (w < 0 || (size_t)w >= size - strlen(buf))
			break;
	}
	return buf;
}

/* Keys of another scheme would be ignored: say so instead. Which scheme
 * takes and needs which key is its row's to say (lib/verify.c). */
static void
scheme_rules(struct loader *l, const struct endpoint *ep,
    const struct where *w)
{
	enum verify_scheme	 s = ep->verify.scheme;
	const struct verify_row	*r = verify_row(s);
	const struct verify_key	*k;
	struct err		 e;
	char			 users[300];

	for (k = verify_keys; k->name != NULL; k++) {
		if (!(r->keys & k->bit) && has(l, w, k->name))
			bad(l, w, k->name, "applies to verify = %s only "
			    "(verify = %s does not use it)", scheme_users(
			    k->bit, users, sizeof(users)),
			    verify_scheme_name(s));
		else if ((r->needs & k->bit) && !has(l, w, k->name))
			sect_err(l, w, "[%s] verify = %s needs %s: %s",
			    w->label, verify_scheme_name(s), k->name, k->what);
	}
	if ((r->keys & VERIFY_K_PUBLIC_URL) && ep->verify.public_url != NULL &&
	    !verify_url_ok(ep->verify.public_url, &e))
		bad(l, w, "public_url", "%s", e.msg);
	if (s == VERIFY_TOKEN && (has(l, w, "secret_file") ||
	    has(l, w, "secret")))
		bad(l, w, has(l, w, "secret") ? "secret" : "secret_file",
		    "signing secrets need a signature scheme (verify = "
		    "standard-webhooks, github, stripe...); a shared token "
		    "goes in token_file");
	if (s != VERIFY_TOKEN && (has(l, w, "token_file") ||
	    has(l, w, "token")))
		bad(l, w, has(l, w, "token") ? "token" : "token_file", "verify "
		    "= %s %s with secret_file (or secret), not a token",
		    verify_scheme_name(s), r->recipe == VERIFY_R_TOKEN ?
		    "checks its secret" : "signs");
}

/* Before auth reads the tokens or secrets: the file must be a regular
 * file (its time is kept, for conf_stale), env:NAME a variable's name.
 * 0 when auth may read them. */
static int
check_source(struct loader *l, const struct where *w, struct endpoint *ep,
    const char *filekey, struct secret_src *src)
{
	struct stat st;

	if (ep->token_file == NULL) {
		if (strncmp(src->value, "env:", 4) != 0 ||
		    env_name_ok(src->value + 4))
			return 0;
		bad(l, w, src->key, "'%s' does not name an environment "
		    "variable", src->value);
		return -1;
	}
	if (stat(ep->token_file, &st) == -1) {
		bad(l, w, filekey, "%s: %s", ep->token_file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		bad(l, w, filekey, "%s is not a regular file (%s): name a file "
		    "holding the %s(s), one per line", ep->token_file,
		    file_kind(st.st_mode), src->key);
		return -1;
	}
	ep->token_mtime = st.st_mtim;
	src->file = ep->token_file;
	src->file_mode = st.st_mode;
	return 0;
}

/* The token(s) or the signing secret(s): from token_file or secret_file,
 * or inline (token, secret), one of them; auth reads them. */
static void
load_secrets(struct loader *l, struct endpoint *ep, const struct where *w)
{
	struct secret_src	 src;
	struct tokens		*out;
	struct err		 e;
	const char		*filekey;
	int			 tok = ep->verify.scheme == VERIFY_TOKEN;
	size_t			 i;

	memset(&src, 0, sizeof(src));
	src.key = tok ? "token" : "secret";
	src.ini = l->path;
	src.ini_mode = l->mode;
	src.insecure = ep->insecure_permissions;
	filekey = tok ? "token_file" : "secret_file";
	out = tok ? &ep->tokens : &ep->verify.secrets;
	ep->token_file = get_path(l, w->sec, filekey);
	src.value = get(l, w->sec, src.key);
	if (ep->token_file != NULL && src.value != NULL) {
		bad(l, w, src.key, "set either %s or %s, not both", src.key,
		    filekey);
		return;
	}
	if (ep->token_file == NULL && src.value == NULL) {
		sect_err(l, w, "[%s] %s is not set: name a file holding the "
		    "%s(s), one per line (or %s = env:NAME)", w->label, filekey,
		    tok ? "shared token" : "signing secret", src.key);
		return;
	}
	if (check_source(l, w, ep, filekey, &src) == 0 &&
	    auth_load_secrets(&src, out, &e) == -1)
		bad(l, w, src.file != NULL ? filekey : src.key, "%s", e.msg);
	for (i = 0; i < out->n; i++)
		if (out->v[i].n < 16)
			diag_add(l->diag, 1, l->path, line_of(l, w->sec,
			    ep->token_file ? filekey : src.key), "%s %zu is "
			    "shorter than 16 characters: easy to guess",
			    src.key, i + 1);
}

/* Verification and source rules: [auth], or an [endpoint]'s own. */
static void
load_auth(struct loader *l, struct endpoint *ep, const struct where *w,
    const struct endpoint *dflt)
{
	struct err	e;
	int		rc;

	load_scope(l, w, SC_AUTH, ep, dflt);
	load_rate(l, ep, w, dflt);
	if (!ep->enabled)
		return;		/* only what the endpoints inherit */
	if (w->sec >= 0 && l->lk.sect[w->sec].badpreset)
		return;		/* its keys would be judged by the wrong
				   scheme: one error is enough */
	scheme_rules(l, ep, w);
	load_secrets(l, ep, w);
	if (ep->verify.scheme != VERIFY_TOKEN &&
	    (rc = verify_load(&ep->verify, &e)) != 0)
		bad(l, w, rc == -1 ? "verify" : ep->token_file ? "secret_file" :
		    "secret", "%s", e.msg);
}

/* One default source of the event name or id, from the scheme's row,
 * unless the INI sets the key: a header or a JSON path (the row's other
 * kinds, a hash or a fixed name, are not sources this loader knows). */
static void
default_field(struct loader *l, const struct where *fw, const char *key,
    const char *src, char **field, char *param, size_t plen)
{
	if (src == NULL || has(l, fw, key) || src[0] == '=' ||
	    strncmp(src, "hash:", 5) == 0)
		return;
	if (strncmp(src, "header:", 7) != 0 && !payload_path_ok(src))
		return;
	free(*field);
	if ((*field = strdup(src)) != NULL && strncmp(src, "header:", 7) == 0)
		header_field(l, fw, key, src, param, plen);
}

/* What the scheme's row says where the INI does not: where its senders
 * put the event name and id (GitHub's headers, Slack's event_id...) and
 * its tolerance. fw holds the fields, aw the verification. */
static void
scheme_defaults(struct loader *l, struct endpoint *ep,
    const struct where *fw, const struct where *aw)
{
	const struct verify_row *r = verify_row(ep->verify.scheme);

	if (r->tolerance > 0 && !has(l, aw, "tolerance"))
		ep->verify.tolerance = r->tolerance;
	default_field(l, fw, "event_field", r->event[0], &ep->event_field,
	    ep->event_param, sizeof(ep->event_param));
	default_field(l, fw, "id_field", r->id[0], &ep->id_field,
	    ep->id_param, sizeof(ep->id_param));
}

/* The default endpoint from [hookpipe] + [auth], then one per
 * [endpoint NAME] section. Without [auth], the default endpoint is off
 * when there are others (each sender its own path). */
static void
load_endpoints(struct loader *l, struct conf *c)
{
	struct where	 hw = { find_section(l, SK_HOOKPIPE), "hookpipe" };
	struct where	 aw = { find_section(l, SK_AUTH), "auth" };
	struct where	 w;
	struct endpoint	*ep;
	size_t		 i, n = 1;

	for (i = 0; i < l->lk.nsect; i++)
		n += l->lk.sect[i].kind == SK_ENDPOINT;
	if ((c->ep = calloc(n, sizeof(*c->ep))) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return;
	}
	ep = &c->ep[0];
	c->nep = 1;
	ep->enabled = n == 1 || aw.sec >= 0;
	load_fields(l, ep, &hw, NULL);
	load_auth(l, ep, &aw, NULL);
	if (ep->enabled)
		scheme_defaults(l, ep, &hw, &aw);
	for (i = 0; i < l->lk.nsect; i++) {
		if (l->lk.sect[i].kind != SK_ENDPOINT)
			continue;
		w.sec = (int)i;
		w.label = l->lk.sect[i].label;
		ep = &c->ep[c->nep++];
		ep->enabled = 1;
		if ((ep->name = strdup(l->lk.sect[i].arg)) == NULL)
			continue;
		load_fields(l, ep, &w, &c->ep[0]);
		load_auth(l, ep, &w, &c->ep[0]);
		scheme_defaults(l, ep, &w, &w);
	}
}

static void
load_env(struct loader *l, struct conf *c)
{
	const struct section	*s;
	const char		*v;
	size_t			 i, j, n = 0;

	for (i = 0; i < l->lk.nsect; i++)
		if (l->lk.sect[i].kind == SK_ENV)
			n += l->lk.sect[i].nkeys;
	if ((c->env = calloc(n + 1, sizeof(*c->env))) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return;
	}
	for (i = 0; i < l->lk.nsect; i++) {
		s = &l->lk.sect[i];
		for (j = s->key0; s->kind == SK_ENV && j < s->key0 + s->nkeys;
		    j++) {
			v = get(l, (int)i, l->lk.key[j].name);
			c->env[c->nenv].name = strdup(l->lk.key[j].name);
			c->env[c->nenv].value = strdup(v ? v : "");
			c->nenv++;
		}
	}
}

/* forward = and its options (lib/dest.c has the schemes): the URL
 * parses, the options fit its scheme. Files are read at each attempt
 * (and by hookpipe check): a missing secret must not stop the responder
 * from receiving. */
static void
load_forward(struct loader *l, struct where *w, struct event_conf *ev)
{
	struct dest_url	 u;
	struct err	 e;
	const char	*key;

	if (ev->forward != NULL && dest_parse(ev->forward, &u, &e) == -1)
		bad(l, w, "forward", "%s", e.msg);
	else if (ev->forward != NULL && ev->mode == MODE_SYNC)
		bad(l, w, "forward", "a sync event answers with its handler's "
		    "result: forward only from mode = queue");
	else if (ev->endpoint_url != NULL && dest_parse(ev->endpoint_url, &u,
	    &e) == -1)
		bad(l, w, "endpoint_url", "%s", e.msg);
	else if (ev->endpoint_url != NULL && strcmp(u.scheme, "https") != 0 &&
	    strcmp(u.scheme, "http") != 0)
		bad(l, w, "endpoint_url", "write https://HOST[:PORT]");
	else if (dest_options(ev, &key, &e) == -1)
		bad(l, w, key, "%s", e.msg);
}

/* One [event NAME] per name as written: [event a] and [event A] are two
 * events (iniparser sees two sections, see ini_text). */
static void
load_events(struct loader *l, struct conf *c)
{
	struct event_conf	*ev;
	struct where		 w;
	size_t			 i, n = 0;

	for (i = 0; i < l->lk.nsect; i++)
		n += l->lk.sect[i].kind == SK_EVENT;
	if ((c->events = calloc(n + 1, sizeof(*c->events))) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return;
	}
	for (i = 0; i < l->lk.nsect; i++) {
		if (l->lk.sect[i].kind != SK_EVENT)
			continue;
		w.sec = (int)i;
		w.label = l->lk.sect[i].label;
		ev = &c->events[c->nevents++];
		ev->name = strdup(l->lk.sect[i].arg);
		ev->retries = -1;	/* [delivery] retries */
		load_scope(l, &w, SC_EVENT, ev, NULL);
		ev->has_required = has(l, &w, "required");
		if (ev->mode == MODE_SYNC &&
		    conf_timeout(c, ev) > CONF_SYNC_TIMEOUT_MAX)
			bad(l, &w, "timeout", "a sync event answers only after "
			    "its handler: %lds is longer than the %ds allowed "
			    "(senders give up much sooner)",
			    conf_timeout(c, ev), CONF_SYNC_TIMEOUT_MAX);
		load_forward(l, &w, ev);
	}
}

static void
endpoint_free(struct endpoint *ep)
{
	free(ep->name);
	free(ep->handlers_dir);
	free(ep->event_field);
	free(ep->id_field);
	strlist_free(&ep->required);
	free(ep->auth_header);
	free(ep->token_file);
	free(ep->verify_token_file);
	tokens_free(&ep->tokens);
	verify_free(&ep->verify);
	cidr_list_free(&ep->allow_from);
	cidr_list_free(&ep->trusted_proxies);
}

/* Read the file once, refusing anything but a regular text file. */
static int
read_conf(struct loader *l, struct stat *st, char **text, size_t *len)
{
	struct err e;

	if (stat(l->path, st) == -1) {
		diag_add(l->diag, 0, l->path, 0, "cannot read the "
		    "configuration: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		diag_add(l->diag, 0, l->path, 0, "not a regular file (%s): "
		    "name the INI file itself (or a symbolic link to it)",
		    file_kind(st->st_mode));
		return -1;
	}
	l->mode = st->st_mode;
	/* Without waiting on a FIFO swapped in since the stat. */
	if (read_file(l->path, CONF_FILE_MAX, text, len, &e) == -1) {
		diag_add(l->diag, 0, l->path, 0, "%s", e.msg);
		return -1;
	}
	if (memchr(*text, '\0', *len) != NULL) {
		diag_add(l->diag, 0, l->path, 0, "holds a NUL byte: is it a "
		    "text file?");
		return -1;
	}
	return 0;
}

/* The folder relative paths of the INI start from, made absolute. */
static int
conf_dir(struct loader *l)
{
	char	cwd[PATH_MAX], rel[PATH_MAX], *tmp;

	if ((tmp = strdup(l->path)) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return -1;
	}
	(void)snprintf(rel, sizeof(rel), "%s", dirname(tmp));
	free(tmp);
	if (rel[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		(void)snprintf(l->dir, sizeof(l->dir), "%s", rel);
	else if (strcmp(rel, ".") == 0)
		(void)snprintf(l->dir, sizeof(l->dir), "%s", cwd);
	else if (snprintf(l->dir, sizeof(l->dir), "%s/%s", cwd, rel) >=
	    (int)sizeof(l->dir)) {
		diag_add(l->diag, 0, l->path, 0, "the path of its folder is "
		    "too long: name the file by a shorter path");
		return -1;
	}
	return 0;
}

/* [status]: present, it turns the status page on, which then needs its
 * password. */
static void
load_status(struct loader *l, struct conf *c)
{
	struct where w;

	w.sec = find_section(l, SK_STATUS);
	w.label = "status";
	load_scope(l, &w, SC_STATUS, c, NULL);
	if (w.sec == -1)
		return;
	c->status_on = 1;
	if (c->status_password_file == NULL)
		sect_err(l, &w, "[status] password_file is not set: make one "
		    "with 'hookpipe passwd FILE' and name it here");
}

/* The broker URL: amqp://USER@HOST[:PORT][/VHOST], the vhost percent-
 * decoded ("/" is %2F; none: "/"). A password in it is refused: it
 * would sit in a file others may read, and in ps output of tools. */
static int
worker_url(struct worker_conf *w, const char **why)
{
	const char	*p = w->broker, *at, *hend, *slash;
	char		*end;
	size_t		 n, i;
	long		 port;

	*why = "write amqp://USER@HOST[:PORT][/VHOST]";
	if (strncasecmp(p, "amqp://", 7) != 0) {
		if (strncasecmp(p, "amqps://", 8) == 0)
			*why = "amqps:// (TLS) is not supported yet: reach the "
			    "broker over a trusted network or a tunnel, with "
			    "amqp://";
		return -1;
	}
	p += 7;
	slash = p + strcspn(p, "/?#");
	if (*slash == '?' || *slash == '#')
		return -1;
	if ((at = memchr(p, '@', (size_t)(slash - p))) == NULL)
		return -1;
	n = (size_t)(at - p);
	if (memchr(p, ':', n) != NULL) {
		*why = "no password in the URL: put it in secret_file";
		return -1;
	}
	if (n == 0 || n >= sizeof(w->user))
		return -1;
	memcpy(w->user, p, n);
	w->user[n] = '\0';
	p = at + 1;
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(slash - p))) == NULL)
			return -1;
		n = (size_t)(hend - p - 1);
		if (n == 0 || n >= sizeof(w->host))
			return -1;
		memcpy(w->host, p + 1, n);
		hend++;
	} else {
		hend = p + strcspn(p, ":/");
		if (hend > slash)
			hend = slash;
		n = (size_t)(hend - p);
		if (n == 0 || n >= sizeof(w->host))
			return -1;
		memcpy(w->host, p, n);
	}
	w->host[n] = '\0';
	w->port = 5672;
	if (*hend == ':') {
		errno = 0;
		port = strtol(hend + 1, &end, 10);
		if (end != slash || end == hend + 1 || errno != 0 || port < 1 ||
		    port > 65535)
			return -1;
		w->port = (int)port;
	} else if (hend != slash)
		return -1;
	/* The vhost: percent-decoded, "/" when none is written. */
	if (*slash == '\0' || slash[1] == '\0') {
		(void)snprintf(w->vhost, sizeof(w->vhost), "/");
		return 0;
	}
	for (p = slash + 1, i = 0; *p != '\0'; p++) {
		if (i + 1 >= sizeof(w->vhost) || *p == '/')
			return -1;
		if (*p == '%') {
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]))
				return -1;
			w->vhost[i++] = (char)((isdigit((unsigned char)p[1]) ?
			    p[1] - '0' : (tolower((unsigned char)p[1]) - 'a' +
			    10)) * 16 + (isdigit((unsigned char)p[2]) ? p[2] -
			    '0' : (tolower((unsigned char)p[2]) - 'a' + 10)));
			p += 2;
		} else
			w->vhost[i++] = *p;
	}
	w->vhost[i] = '\0';
	return 0;
}

/* A topic binding: a pattern of event name words (letters, digits, _
 * and -, or * and #, between dots). */
static int
binding_ok(const char *b)
{
	const char	*p;
	size_t		 n;

	if (*b == '\0' || strlen(b) > 255)
		return 0;
	for (p = b;; p += n + 1) {
		n = strcspn(p, ".");
		if (n == 0)
			return 0;
		if ((n != 1 || (*p != '*' && *p != '#')) &&
		    strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789_-") < n)
			return 0;
		if (p[n] == '\0')
			return 1;
	}
}

/* A shard binding: N or N-M, 0 <= N <= M < SHARDS, added to *mask. */
static int
shard_ok(const char *b, uint64_t *mask)
{
	char		*end;
	unsigned long	 lo, hi;

	if (*b < '0' || *b > '9')
		return 0;
	lo = hi = strtoul(b, &end, 10);
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return 0;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end != '\0' || lo > hi || hi >= SHARDS)
		return 0;
	for (; lo <= hi; lo++)
		*mask |= (uint64_t)1 << lo;
	return 1;
}

/* A queue or exchange name: what AMQP takes, without the amq. prefix the
 * broker reserves. */
static int
amqp_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 255 && strncmp(s, "amq.", 4) != 0 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-.:") == n;
}

/* [worker]: present, it must name a broker and a queue. */
static void
load_worker(struct loader *l, struct conf *c)
{
	struct worker_conf	*w = &c->worker;
	struct where		 wh;
	const char		*why;
	size_t			 i;

	wh.sec = find_section(l, SK_WORKER);
	wh.label = "worker";
	if (wh.sec == -1)
		return;
	w->on = 1;
	load_scope(l, &wh, SC_WORKER, c, NULL);
	if (w->broker == NULL)
		sect_err(l, &wh, "[worker] broker is not set: name the RabbitMQ "
		    "to consume from, amqp://USER@HOST[:PORT][/VHOST]");
	else if (worker_url(w, &why) == -1)
		bad(l, &wh, "broker", "'%s' is not a broker URL: %s", w->broker,
		    why);
	if (w->queue == NULL)
		sect_err(l, &wh, "[worker] queue is not set: name this worker's "
		    "queue (one per worker host)");
	else if (!amqp_name_ok(w->queue))
		bad(l, &wh, "queue", "'%s': a queue name is 1-255 of A-Z a-z "
		    "0-9 _ - . : and does not start with amq.", w->queue);
	if (w->exchange != NULL && !amqp_name_ok(w->exchange))
		bad(l, &wh, "exchange", "'%s': an exchange name is 1-255 of "
		    "A-Z a-z 0-9 _ - . : and does not start with amq.",
		    w->exchange);
	else if (w->exchange != NULL && w->exchange_type == WX_SHARD &&
	    strlen(w->exchange) > 240)
		bad(l, &wh, "exchange", "'%.20s...' is longer than 240: the "
		    "shard claims are named EXCHANGE.shard.N", w->exchange);
	if (strlist_split(&w->binding, w->bindings != NULL ? w->bindings :
	    w->exchange_type == WX_SHARD ? "0-63" : "#") == -1) {
		bad(l, &wh, "bindings", "out of memory");
		return;
	}
	for (i = 0; i < w->binding.n; i++)
		if (w->exchange_type == WX_SHARD ?
		    !shard_ok(w->binding.v[i], &w->shards) :
		    !binding_ok(w->binding.v[i]))
			bad(l, &wh, "bindings", w->exchange_type == WX_SHARD ?
			    "'%s' is not a shard: write a number from 0 to 63 "
			    "or a range such as 0-31 (each shard belongs to "
			    "one worker)" : "'%s' is not an "
			    "event name pattern: words of A-Z a-z 0-9 _ - "
			    "between dots, or * (one word) or # (any words)",
			    w->binding.v[i]);
	if (w->binding.n == 0)
		bad(l, &wh, "bindings", "empty: write # for every event");
}

struct conf *
conf_load_say(const char *path)
{
	struct diag	 d = { { 0 }, 0, 0 };
	struct conf	*c;

	if ((c = conf_load(path, &d)) == NULL) {
		say_lines(buf_cstr(&d.text));
		say(SAY_FATAL, "unable to load %s: %d error%s: fix %s "
		    "(hookpipe check -c %s)", path, d.nerr, d.nerr == 1 ? "" :
		    "s", d.nerr == 1 ? "it" : "them", path);
	}
	diag_free(&d);
	return c;
}

struct conf *
conf_load(const char *path, struct diag *d)
{
	struct loader	 l;
	struct conf	*c = NULL;
	struct stat	 st;
	struct where	 w;
	char		*text = NULL;
	size_t		 len;
	int		 nerr0 = d->nerr;

	memset(&l, 0, sizeof(l));
	l.path = path;
	l.diag = d;
	if (read_conf(&l, &st, &text, &len) == -1 ||
	    lookup_build(&l, text) == -1 || conf_dir(&l) == -1)
		goto out;
	check_sections(&l);
	check_keys(&l);
	if ((l.ini = ini_load(&l, text, len)) == NULL)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) ==
	    NULL) {
		diag_add(d, 0, path, 0, "out of memory");
		goto out;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->mtime = st.st_mtim;
	c->size = st.st_size;
	load_presets(&l);
	w.sec = find_section(&l, SK_HOOKPIPE);
	w.label = "hookpipe";
	load_global(&l, c, &w);
	load_endpoints(&l, c);
	w.sec = find_section(&l, SK_DELIVERY);
	w.label = "delivery";
	load_scope(&l, &w, SC_DELIVERY, c, NULL);
	/* The operator paths are off unless their section is there. */
	w.sec = find_section(&l, SK_HEALTH);
	w.label = "health";
	if ((c->health.on = w.sec != -1))
		load_scope(&l, &w, SC_HEALTH, c, NULL);
	w.sec = find_section(&l, SK_METRICS);
	w.label = "metrics";
	if ((c->metrics.on = w.sec != -1))
		load_scope(&l, &w, SC_METRICS, c, NULL);
	w.sec = find_section(&l, SK_ALERT);
	w.label = "alert";
	if ((c->alert.on = w.sec != -1)) {
		load_scope(&l, &w, SC_ALERT, c, NULL);
		if (c->alert.program == NULL)
			sect_err(&l, &w, "[alert] program is not set: name the "
			    "program to run (examples: handlers/alert-mail, "
			    "handlers/alert-webhook)");
	}
	load_env(&l, c);
	load_events(&l, c);
	load_status(&l, c);
	load_worker(&l, c);
out:
	if (l.ini != NULL)
		iniparser_freedict(l.ini);
	lookup_free(&l.lk);
	free(text);
	if (c != NULL && d->nerr > nerr0) {
		conf_free(c);
		c = NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->spool_dir);
	free(c->log_file);
	for (i = 0; i < c->nep; i++)
		endpoint_free(&c->ep[i]);
	free(c->ep);
	free(c->runner);
	free(c->handler_path);
	free(c->backoff);
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	for (i = 0; i < c->nevents; i++) {
		free(c->events[i].name);
		free(c->events[i].handler);
		free(c->events[i].backoff);
		free(c->events[i].forward);
		free(c->events[i].secret_file);
		free(c->events[i].credentials_file);
		free(c->events[i].ca_file);
		free(c->events[i].endpoint_url);
		free(c->events[i].exchange);
		free(c->events[i].routing_key);
		strlist_free(&c->events[i].required);
	}
	free(c->events);
	free(c->status_password_file);
	cidr_list_free(&c->status_allow_from);
	cidr_list_free(&c->health.allow_from);
	cidr_list_free(&c->metrics.allow_from);
	free(c->metrics.token_file);
	free(c->alert.program);
	free(c->worker.broker);
	free(c->worker.secret_file);
	free(c->worker.exchange);
	free(c->worker.queue);
	free(c->worker.bindings);
	strlist_free(&c->worker.binding);
	free(c);
}

static int
ts_differ(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec;
}

int
conf_stale(const struct conf *c)
{
	struct stat	st;
	size_t		i;

	if (stat(c->path, &st) == -1 || st.st_dev != c->dev ||
	    st.st_ino != c->ino || st.st_size != c->size ||
	    ts_differ(&st.st_mtim, &c->mtime))
		return 1;
	for (i = 0; i < c->nep; i++)
		if (c->ep[i].token_file != NULL && (stat(c->ep[i].token_file,
		    &st) == -1 || ts_differ(&st.st_mtim, &c->ep[i].token_mtime)))
			return 1;
	return 0;
}

const struct endpoint *
conf_endpoint(const struct conf *c, const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return c->ep[0].enabled ? &c->ep[0] : NULL;
	for (i = 1; i < c->nep; i++)
		if (strcmp(c->ep[i].name, name) == 0)
			return &c->ep[i];
	return NULL;
}

const struct endpoint *
conf_endpoint_path(const struct conf *c, const char *pathinfo)
{
	char	name[CONF_ENDPOINT_MAX + 1];
	size_t	n;

	if (pathinfo == NULL || *pathinfo == '\0' ||
	    strcmp(pathinfo, "/") == 0)
		return conf_endpoint(c, NULL);
	if (*pathinfo != '/')
		return NULL;
	pathinfo++;
	n = strlen(pathinfo);
	if (n > 0 && pathinfo[n - 1] == '/')
		n--;
	if (n == 0 || n > CONF_ENDPOINT_MAX)
		return NULL;
	memcpy(name, pathinfo, n);
	name[n] = '\0';
	if (!endpoint_name_ok(name))
		return NULL;
	return conf_endpoint(c, name);
}

const struct event_conf *
conf_event(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nevents; i++)
		if (strcmp(c->events[i].name, name) == 0)
			return &c->events[i];
	return NULL;
}

int
conf_retries(const struct conf *c, const struct event_conf *ev)
{
	return ev != NULL && ev->retries >= 0 ? ev->retries : c->retries;
}

long
conf_backoff(const struct conf *c, const struct event_conf *ev, int attempt)
{
	const long	*v = c->backoff;
	size_t		 n = c->nbackoff;

	if (ev != NULL && ev->backoff != NULL) {
		v = ev->backoff;
		n = ev->nbackoff;
	}
	if (n == 0)
		return 60;
	if (attempt < 1)
		attempt = 1;
	return v[(size_t)attempt - 1 < n ? (size_t)attempt - 1 : n - 1];
}

long
conf_timeout(const struct conf *c, const struct event_conf *ev)
{
	if (ev != NULL && ev->timeout > 0)
		return ev->timeout;
	return c->timeout;
}

const char *
conf_locate(const char *flag)
{
	const char *env;

	if (flag != NULL)
		return flag;
	if ((env = getenv("HOOKPIPE_CONFIG")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/hookpipe.ini";
}

/* How far ahead a retry/ entry's due time may be, in seconds: the
 * longest backoff of the configuration with its +10% jitter, and at
 * least a day, for entries set by hand or under an earlier backoff. */
long
conf_due_bound(const struct conf *c)
{
	long	max = 0;
	size_t	i, j;

	for (i = 0; i < c->nbackoff; i++)
		if (c->backoff[i] > max)
			max = c->backoff[i];
	for (i = 0; i < c->nevents; i++)
		for (j = 0; j < c->events[i].nbackoff; j++)
			if (c->events[i].backoff[j] > max)
				max = c->events[i].backoff[j];
	max += max / 10 + 1;
	return max > 86400 ? max : 86400;
}
