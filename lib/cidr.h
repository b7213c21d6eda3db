/* cidr: IPv4 and IPv6 address ranges and the allow-list match. */
#ifndef HOOKPIPE_CIDR_H
#define HOOKPIPE_CIDR_H

#include <stddef.h>

struct cidr {
	unsigned char	addr[16];	/* IPv4 is stored as ::ffff:a.b.c.d */
	int		bits;		/* prefix length over the 128 bits */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/* Parse "a.b.c.d", "a.b.c.d/n", "v6", "v6/n"; host bits must be zero. */
int	cidr_parse(const char *, struct cidr *);
/* Parse an address (no prefix) into the 16-byte form. */
int	cidr_addr(const char *, unsigned char[16]);
/* Parse a comma list; on error *bad names the first bad item's index. */
int	cidr_list_parse(const char *, struct cidr_list *, size_t *);
/* 1 when the textual address lies in one of the ranges, else 0. */
int	cidr_list_match(const struct cidr_list *, const char *);
void	cidr_list_free(struct cidr_list *);
/* A copy of a list (the endpoints inherit the default's). */
int	cidr_list_copy(const struct cidr_list *, struct cidr_list *);
/* The client's address: REMOTE_ADDR, unless it is a trusted proxy; then
 * the right-most address of X-Forwarded-For that is not a trusted proxy
 * (what a client writes further left is not believed), without a port.
 * Sets *client to remote (NULL when it is) or to out (INET6_ADDRSTRLEN
 * + 8 bytes hold any address with a port) and returns 0; -1 when an entry it reads is not an address: *client
 * is then remote, the proxy. */
int	cidr_client(const struct cidr_list *, const char *, const char *,
	    char *, size_t, const char **);

#endif
