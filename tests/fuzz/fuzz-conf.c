/* fuzz-conf: the configuration loader (our line scanner, then iniparser
 * 4.1 asked only for keys the scanner saw) on arbitrary files. The
 * secret files the seeds name exist, private, next to the config. */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzzutil.h"
#include "payload.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	inipath[PATH_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir;
	char		 path[PATH_MAX];

	(void)argc;
	(void)argv;
	dir = fz_tmpdir("hookpipe-fuzz-conf");
	(void)snprintf(inipath, sizeof(inipath), "%s/hookpipe.ini", dir);
	fz_writeat(dir, "token", "fuzz-token-0123456789abcdef0123\n"
	    "# the old one, during a rotation\nfuzz-token-old-0123456789abcd\n",
	    0600);
	fz_writeat(dir, "token-public", "fuzz-token-0123456789abcdef0123\n",
	    0644);
	fz_writeat(dir, "token-short", "short\n", 0600);
	fz_writeat(dir, "token-empty", "# nothing but a comment\n\n", 0600);
	fz_writeat(dir, "secret", "fuzz-secret-0123456789abcdef\n", 0600);
	/* whsec_ + base64("fuzz-standard-webhooks-key") */
	fz_writeat(dir, "whsec",
	    "whsec_ZnV6ei1zdGFuZGFyZC13ZWJob29rcy1rZXk=\n", 0600);
	(void)snprintf(path, sizeof(path), "%s/handlers", dir);
	if (mkdir(path, 0755) == -1)
		exit(1);
	fz_writeat(path, "payment.processed", "#!/bin/sh\nexit 0\n", 0755);
	return 0;
}

/* Every enabled endpoint is complete: fields, verification, secrets. */
static void
check_endpoint(const struct conf *c, const struct endpoint *ep)
{
	const struct tokens	*t;
	const struct verify_row	*row;
	size_t			 i;

	FZ_CHECK(ep->handlers_dir != NULL && ep->handlers_dir[0] == '/');
	FZ_CHECK(ep->event_field != NULL && ep->id_field != NULL);
	FZ_CHECK(ep->max_body >= 1 && ep->max_body <= 1024UL * 1024 * 1024);
	FZ_CHECK(ep->max_depth >= 1 && ep->max_depth <= 32);
	FZ_CHECK(ep->auth_param[0] != '\0');
	FZ_CHECK(ep->verify.scheme < VERIFY_NSCHEMES);
	FZ_CHECK(ep->rate >= 0 && (ep->rate == 0 || ep->burst >= 1));
	t = ep->verify.scheme == VERIFY_TOKEN ? &ep->tokens :
	    &ep->verify.secrets;
	/* Standard Webhooks keys may all be whpk_ public keys. */
	FZ_CHECK(t->n + (t == &ep->tokens ? 0 : ep->verify.pubkeys.n) >= 1);
	for (i = 0; i < t->n; i++)
		FZ_CHECK(t->v[i].p != NULL && t->v[i].n > 0 &&
		    t->v[i].n <= TOKEN_MAX);
	/* The header a scheme's signature is read from is known: its row's,
	 * or signature_header where the row needs it; twilio's URL too. */
	row = verify_row(ep->verify.scheme);
	if (row->needs & VERIFY_K_SIGHEADER)
		FZ_CHECK(ep->verify.param[0] != '\0');
	if (row->needs & VERIFY_K_PUBLIC_URL)
		FZ_CHECK(ep->verify.public_url != NULL);
	if (ep->name != NULL)
		FZ_CHECK(conf_endpoint(c, ep->name) == ep);
}

static void
check_conf(const struct conf *c)
{
	size_t i;

	FZ_CHECK(c->spool_dir != NULL && c->spool_dir[0] == '/');
	FZ_CHECK(c->log_file != NULL);
	FZ_CHECK(c->nep >= 1 && c->ep != NULL);
	for (i = 0; i < c->nep; i++)
		if (c->ep[i].enabled)
			check_endpoint(c, &c->ep[i]);
	FZ_CHECK(c->nbackoff >= 1 && c->backoff != NULL);
	FZ_CHECK(c->retries >= 0 && c->concurrency >= 1);
	FZ_CHECK(conf_backoff(c, NULL, 1000) >= 1);
	FZ_CHECK(conf_timeout(c, NULL) >= 1);
	for (i = 0; i < c->nevents; i++) {
		FZ_CHECK(c->events[i].name != NULL);
		FZ_CHECK(event_name_ok(c->events[i].name));
		FZ_CHECK(conf_event(c, c->events[i].name) != NULL);
		FZ_CHECK(conf_backoff(c, &c->events[i], 3) >= 1);
		FZ_CHECK(conf_retries(c, &c->events[i]) >= 0);
		if (c->events[i].mode == MODE_SYNC)
			FZ_CHECK(conf_timeout(c, &c->events[i]) <=
			    CONF_SYNC_TIMEOUT_MAX);
	}
	for (i = 0; i < c->nenv; i++)
		FZ_CHECK(c->env[i].name != NULL && c->env[i].value != NULL);
	FZ_CHECK(!conf_stale(c));
}

/* Every diagnostic line names the file first. */
static void
check_diag(struct diag *d)
{
	const char	*p = buf_cstr(&d->text), *nl;
	size_t		 lines = 0;

	for (; *p != '\0'; p = nl + 1) {
		FZ_CHECK(strncmp(p, inipath, strlen(inipath)) == 0);
		FZ_CHECK((nl = strchr(p, '\n')) != NULL);
		lines++;
	}
	FZ_CHECK(lines == (size_t)(d->nerr + d->nwarn));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag	 d;
	struct conf	*c;

	/* Private, so an inline secret is allowed; every seventh input
	 * readable by others, so the refusal of it is reached too. */
	fz_write(inipath, data, size, size % 7 == 3 ? 0644 : 0600);
	memset(&d, 0, sizeof(d));
	c = conf_load(inipath, &d);
	FZ_CHECK((c == NULL) == (d.nerr > 0));
	if (c != NULL)
		check_conf(c);
	check_diag(&d);
	conf_free(c);
	diag_free(&d);
	return 0;
}
