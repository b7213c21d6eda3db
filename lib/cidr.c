/* cidr: parse IPv4/IPv6 ranges and match a client address against them.
 * IPv4 is mapped into ::ffff:0:0/96 so one comparison serves both. */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "util.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
cidr_addr(const char *s, unsigned char out[16])
{
	struct in_addr	a4;
	char		tmp[INET6_ADDRSTRLEN + 8];
	size_t		n = strlen(s);

	/* Brackets appear in some server variables for IPv6. */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return -1;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	return -1;
}

int
cidr_parse(const char *s, struct cidr *c)
{
	char		 host[INET6_ADDRSTRLEN + 8];
	const char	*slash;
	char		*end;
	long		 bits;
	size_t		 n;
	int		 v4, i;

	memset(c, 0, sizeof(*c));
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	v4 = strchr(host, ':') == NULL;
	if (cidr_addr(host, c->addr) == -1)
		return -1;
	if (slash == NULL) {
		c->bits = 128;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || bits < 0 || bits > (v4 ? 32 : 128))
		return -1;
	c->bits = (int)(v4 ? bits + 96 : bits);
	/* Host bits set usually means a typo ("10.0.0.1/8"): refuse it. */
	for (i = c->bits; i < 128; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

static int
cidr_match(const struct cidr *c, const unsigned char a[16])
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
cidr_list_parse(const char *s, struct cidr_list *l, size_t *bad)
{
	struct strlist	items;
	size_t		i;

	l->v = NULL;
	l->n = 0;
	if (strlist_split(&items, s) == -1)
		return -1;
	if (items.n == 0)
		return 0;
	if ((l->v = calloc(items.n, sizeof(*l->v))) == NULL) {
		strlist_free(&items);
		return -1;
	}
	for (i = 0; i < items.n; i++) {
		if (cidr_parse(items.v[i], &l->v[i]) == -1) {
			if (bad != NULL)
				*bad = i;
			strlist_free(&items);
			cidr_list_free(l);
			errno = EINVAL;
			return -1;
		}
	}
	l->n = items.n;
	strlist_free(&items);
	return 0;
}

int
cidr_list_match(const struct cidr_list *l, const char *addr)
{
	unsigned char	a[16];
	size_t		i;

	if (addr == NULL || cidr_addr(addr, a) == -1)
		return 0;
	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return 1;
	return 0;
}

/* One X-Forwarded-For entry (n bytes at b) into out as an address, or
 * -1. A port, as some proxies append it (a.b.c.d:port, [v6]:port), is
 * dropped: the address is what the rules and the log need. */
static int
forwarded_addr(const char *b, size_t n, char *out, size_t len)
{
	unsigned char	 a[16];
	const char	*port;
	size_t		 k;

	if (n == 0 || n >= len)
		return -1;
	memcpy(out, b, n);
	out[n] = '\0';
	if (cidr_addr(out, a) == 0)
		return 0;
	if ((port = strrchr(out, ':')) == NULL || port[1] == '\0' ||
	    strlen(port + 1) > 5 ||
	    strspn(port + 1, "0123456789") != strlen(port + 1))
		return -1;
	k = (size_t)(port - out);
	if (out[0] == '[') {
		if (k < 3 || out[k - 1] != ']')
			return -1;
		memmove(out, out + 1, k - 2);
		out[k - 2] = '\0';
	} else if (memchr(out, ':', k) != NULL)
		return -1;	/* a bare IPv6 address has no port */
	else
		out[k] = '\0';
	return cidr_addr(out, a);
}

int
cidr_client(const struct cidr_list *trusted, const char *remote,
    const char *xff, char *out, size_t len, const char **client)
{
	const char	*end, *p, *b;
	size_t		 n;

	*client = remote;
	if (remote == NULL || trusted->n == 0 || xff == NULL ||
	    !cidr_list_match(trusted, remote))
		return 0;
	/* From the right: each hop appended the address it saw. */
	for (end = xff + strlen(xff); end > xff; end = p) {
		p = end;
		while (p > xff && p[-1] != ',')
			p--;
		for (b = p; b < end && (*b == ' ' || *b == '\t'); b++)
			;
		n = (size_t)(end - b);
		while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
			n--;
		/* A trusted hop writes the address it saw; anything else
		 * there (empty, a name, text) means the header is not what
		 * trusted_proxies promised: no client can be named. */
		if (forwarded_addr(b, n, out, len) == -1) {
			*client = remote;
			return -1;
		}
		*client = out;
		if (!cidr_list_match(trusted, out))
			return 0;
		if (p > xff)
			p--;		/* the comma */
	}
	return 0;	/* every hop trusted: the left-most */
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
cidr_list_copy(const struct cidr_list *from, struct cidr_list *to)
{
	to->v = NULL;
	to->n = 0;
	if (from->n == 0)
		return 0;
	if ((to->v = calloc(from->n, sizeof(*to->v))) == NULL)
		return -1;
	memcpy(to->v, from->v, from->n * sizeof(*to->v));
	to->n = from->n;
	return 0;
}
