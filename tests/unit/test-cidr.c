/* test-cidr: IPv4/IPv6 range parsing and allow-list matching. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"

/* 1 when addr lies in the single range r; -1 when r does not parse. */
static int
in_range(const char *r, const char *addr)
{
	struct cidr_list	l;
	size_t			bad = 999;
	int			m;

	if (cidr_list_parse(r, &l, &bad) == -1)
		return -1;
	m = cidr_list_match(&l, addr);
	cidr_list_free(&l);
	return m;
}

static void
test_v4(void)
{
	struct cidr	c;
	unsigned char	want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 192, 0, 2, 1 };

	is_int(cidr_parse("192.0.2.1", &c), 0, "parse 192.0.2.1");
	is_int(c.bits, 128, "single v4 address: 128 bits");
	ok(memcmp(c.addr, want, 16) == 0, "v4 stored as ::ffff:192.0.2.1");
	is_int(cidr_parse("192.0.2.0/24", &c), 0, "parse 192.0.2.0/24");
	is_int(c.bits, 96 + 24, "v4 /24: 120 bits over 128");

	is_int(in_range("192.0.2.1", "192.0.2.1"), 1, "v4 exact: same matches");
	is_int(in_range("192.0.2.1", "192.0.2.2"), 0, "v4 exact: other misses");
	is_int(in_range("192.0.2.0/24", "192.0.2.0"), 1, "/24: first in");
	is_int(in_range("192.0.2.0/24", "192.0.2.255"), 1, "/24: last in");
	is_int(in_range("192.0.2.0/24", "192.0.3.0"), 0, "/24: next out");
	is_int(in_range("192.0.2.0/24", "192.0.1.255"), 0, "/24: previous out");
	is_int(in_range("10.0.0.0/8", "10.255.1.2"), 1, "/8 in");
	is_int(in_range("10.0.0.0/8", "11.0.0.0"), 0, "/8 out");
	is_int(in_range("172.16.0.0/12", "172.31.255.255"), 1, "/12 in");
	is_int(in_range("172.16.0.0/12", "172.32.0.0"), 0, "/12 out");
	is_int(in_range("0.0.0.0/0", "1.2.3.4"), 1, "/0 matches 1.2.3.4");
	is_int(in_range("0.0.0.0/0", "255.255.255.255"), 1,
	    "/0 matches 255.255.255.255");
	is_int(in_range("0.0.0.0/0", "0.0.0.0"), 1, "/0 matches 0.0.0.0");
	is_int(in_range("0.0.0.0/0", "2001:db8::1"), 0,
	    "v4 /0 does not match an IPv6 address");
	is_int(in_range("203.0.113.7/32", "203.0.113.7"), 1, "/32 same in");
	is_int(in_range("203.0.113.7/32", "203.0.113.6"), 0, "/32 other out");
}

static void
test_v6(void)
{
	struct cidr c;

	is_int(cidr_parse("2001:db8::/64", &c), 0, "parse 2001:db8::/64");
	is_int(c.bits, 64, "v6 /64: 64 bits");
	is_int(in_range("2001:db8::1", "2001:db8::1"), 1, "v6 exact matches");
	is_int(in_range("2001:db8::1", "2001:db8:0:0:0:0:0:1"), 1,
	    "v6 exact matches another spelling");
	is_int(in_range("2001:db8::1", "2001:db8::2"), 0,
	    "v6 exact: other out");
	is_int(in_range("2001:db8::/64", "2001:db8::ffff:1"), 1, "/64 in");
	is_int(in_range("2001:db8::/64", "2001:db8:0:0:ffff:ffff:ffff:ffff"), 1,
	    "/64 last in");
	is_int(in_range("2001:db8::/64", "2001:db8:0:1::"), 0, "/64 next out");
	is_int(in_range("2001:db8::/33", "2001:db8:7fff::1"), 1, "/33 in");
	is_int(in_range("2001:db8::/33", "2001:db8:8000::1"), 0, "/33 out");
	is_int(in_range("::1", "::1"), 1, "::1 matches ::1");
	is_int(in_range("::1", "::2"), 0, "::1 does not match ::2");
	is_int(in_range("::1", "127.0.0.1"), 0, "::1 does not match 127.0.0.1");
	is_int(in_range("::/0", "2001:db8::1"), 1, "::/0 matches v6");
	is_int(in_range("::1/128", "::1"), 1, "::1/128 matches ::1");
	is_int(in_range("[::1]", "::1"), 1, "bracketed range [::1] parses");
	is_int(in_range("::1", "[::1]"), 1, "bracketed address [::1] matches");
	is_int(in_range("2001:db8::/32", "[2001:db8::5]"), 1,
	    "bracketed address in /32");
}

static void
test_mixed(void)
{
	is_int(in_range("2001:db8::/32", "192.0.2.1"), 0,
	    "v4 address vs v6 range: no match");
	is_int(in_range("fe80::/10", "10.0.0.1"), 0,
	    "v4 address vs fe80::/10: no match");
	is_int(in_range("192.0.2.0/24", "::ffff:192.0.2.1"), 1,
	    "IPv4-mapped ::ffff:192.0.2.1 matches 192.0.2.0/24");
	is_int(in_range("192.0.2.0/24", "::ffff:192.0.3.1"), 0,
	    "IPv4-mapped ::ffff:192.0.3.1 does not match 192.0.2.0/24");
	is_int(in_range("::ffff:0:0/96", "198.51.100.9"), 1,
	    "v4 address matches ::ffff:0:0/96");
}

static void
test_invalid(void)
{
	static const char *const bad[] = { "300.1.1.1", "1.2.3.4/33",
	    "::/129", "10.0.0.1/8", "2001:db8::1/32", "", "1.2.3.4/", "abc",
	    "1.2.3.4/-1", "1.2.3.4/8x", "1.2.3.4/ 8", "1.2.3", "1.2.3.4.5",
	    "/8", "::1/", "[::1", "::g", NULL };
	struct cidr	c;
	unsigned char	a[16];
	size_t		i;

	for (i = 0; bad[i] != NULL; i++)
		is_int(cidr_parse(bad[i], &c), -1,
		    "cidr_parse(\"%s\") rejected", bad[i]);
	is_int(cidr_parse("10.0.0.0/8", &c), 0, "10.0.0.0/8 accepted");
	is_int(cidr_parse("1.2.3.4/32", &c), 0, "1.2.3.4/32 accepted");
	is_int(cidr_parse("::/0", &c), 0, "::/0 accepted");
	is_int(cidr_parse("::1/128", &c), 0, "::1/128 accepted");
	is_int(cidr_addr("10.0.0.0/8", a), -1, "cidr_addr refuses a prefix");
	is_int(cidr_addr("abc", a), -1, "cidr_addr refuses abc");
	is_int(cidr_addr("", a), -1, "cidr_addr refuses \"\"");
	is_int(cidr_addr("[]", a), -1, "cidr_addr refuses []");
}

static void
test_list(void)
{
	struct cidr_list	l;
	size_t			bad = 999;

	is_int(cidr_list_parse("127.0.0.1, ::1, 10.0.0.0/8", &l, &bad), 0,
	    "list of three parses");
	is_int(l.n, 3, "list: 3 items");
	is_int(cidr_list_match(&l, "127.0.0.1"), 1, "list matches 127.0.0.1");
	is_int(cidr_list_match(&l, "::1"), 1, "list matches ::1");
	is_int(cidr_list_match(&l, "10.9.8.7"), 1, "list matches 10.9.8.7");
	is_int(cidr_list_match(&l, "127.0.0.2"), 0, "list misses 127.0.0.2");
	is_int(cidr_list_match(&l, "::2"), 0, "list misses ::2");
	is_int(cidr_list_match(&l, NULL), 0, "NULL address: no match");
	is_int(cidr_list_match(&l, ""), 0, "empty address: no match");
	is_int(cidr_list_match(&l, "garbage"), 0, "garbage address: no match");
	cidr_list_free(&l);
	is_int(l.n, 0, "cidr_list_free empties");

	bad = 999;
	is_int(cidr_list_parse("1.2.3.4, nope", &l, &bad), -1,
	    "\"1.2.3.4, nope\" rejected");
	is_int(bad, 1, "bad index is 1 (the second item)");
	is_int(l.n, 0, "failed list is empty");
	ok(l.v == NULL, "failed list holds no memory");

	bad = 999;
	is_int(cidr_list_parse("x, 1.2.3.4", &l, &bad), -1,
	    "\"x, 1.2.3.4\" rejected");
	is_int(bad, 0, "bad index is 0");

	is_int(cidr_list_parse("", &l, &bad), 0, "empty list parses");
	is_int(l.n, 0, "empty list: 0 items");
	is_int(cidr_list_match(&l, "127.0.0.1"), 0,
	    "empty list matches nothing");
	cidr_list_free(&l);
}

/* cidr_client's answer: the client, or "!" when it refused the
 * header, or "(null)". */
static const char *
client(const struct cidr_list *t, const char *remote, const char *xff)
{
	static char	 res[80];
	char		 b[54];		/* INET6_ADDRSTRLEN + 8, as receive.c */
	const char	*c = "unset";

	memset(b, 'x', sizeof(b));
	if (cidr_client(t, remote, xff, b, sizeof(b), &c) == -1)
		(void)snprintf(res, sizeof(res), "!%s", c ? c : "(null)");
	else
		(void)snprintf(res, sizeof(res), "%s", c ? c : "(null)");
	return res;
}

/* X-Forwarded-For counts only behind a trusted proxy, and then only its
 * right-most untrusted entry, which must be an address. */
static void
test_client(void)
{
	struct cidr_list	 none = { NULL, 0 }, t;

	ok(cidr_list_parse("127.0.0.1, 10.0.0.0/8, ::1", &t, NULL) == 0,
	    "trusted proxies parse");
	is_str(client(&none, "127.0.0.1", "192.0.2.7"), "127.0.0.1",
	    "no trusted proxies: X-Forwarded-For ignored");
	is_str(client(&none, "127.0.0.1", "<script>"), "127.0.0.1",
	    "no trusted proxies: even garbage is ignored");
	is_str(client(&t, "198.51.100.1", "192.0.2.7"), "198.51.100.1",
	    "an untrusted peer's X-Forwarded-For is ignored");
	is_str(client(&t, "198.51.100.1", "not-an-address"), "198.51.100.1",
	    "an untrusted peer's garbage is ignored, not refused");
	is_str(client(&t, "127.0.0.1", NULL), "127.0.0.1",
	    "trusted peer without the header: the peer");
	is_str(client(&t, "127.0.0.1", ""), "127.0.0.1",
	    "trusted peer with an empty header: the peer");
	is_str(client(&t, "127.0.0.1", "192.0.2.7"), "192.0.2.7",
	    "trusted peer: the forwarded client");
	is_str(client(&t, "127.0.0.1", "192.0.2.7, 198.51.100.9"),
	    "198.51.100.9", "a client-written entry further left is not "
	    "believed");
	is_str(client(&t, "127.0.0.1", "<script>, 198.51.100.9"),
	    "198.51.100.9", "garbage further left is never read");
	is_str(client(&t, "127.0.0.1", "192.0.2.7,10.1.2.3"), "192.0.2.7",
	    "trusted hops on the right are skipped");
	is_str(client(&t, "127.0.0.1", "10.9.9.9, 10.1.2.3"), "10.9.9.9",
	    "every hop trusted: the left-most");
	is_str(client(&t, "::1", " 2001:db8::7 "), "2001:db8::7",
	    "IPv6 client, blanks trimmed");
	is_str(client(&t, "127.0.0.1", "not-an-address"), "!127.0.0.1",
	    "a name is refused; the answer is the proxy");
	is_str(client(&t, "127.0.0.1", "1.2.3.4, <script>"), "!127.0.0.1",
	    "text right of an address is refused");
	is_str(client(&t, "127.0.0.1", "\033]0;pwned\007"), "!127.0.0.1",
	    "terminal escapes are refused");
	is_str(client(&t, "127.0.0.1", "<script>, 10.1.2.3"), "!127.0.0.1",
	    "garbage behind a trusted hop is refused");
	is_str(client(&t, "127.0.0.1", "192.0.2.7, "), "!127.0.0.1",
	    "an empty entry is refused");
	is_str(client(&t, "127.0.0.1", "192.0.2.7,,10.1.2.3"), "!127.0.0.1",
	    "an empty entry between hops is refused");
	is_str(client(&t, "127.0.0.1", "1.2.3.4.5"), "!127.0.0.1",
	    "a near-address is refused");
	is_str(client(&t, "127.0.0.1",
	    "2001:0db8:0000:0000:0000:0000:0000:0000:0001:0002:0003"),
	    "!127.0.0.1", "an entry longer than the buffer is refused");
	is_str(client(&t, "127.0.0.1", "192.0.2.7:4711"), "192.0.2.7",
	    "a port after an IPv4 address is dropped");
	is_str(client(&t, "127.0.0.1", "[2001:db8::7]:443"), "2001:db8::7",
	    "a port after a bracketed IPv6 address is dropped");
	is_str(client(&t, "127.0.0.1", "[2001:db8::7]"), "[2001:db8::7]",
	    "a bracketed IPv6 address is an address");
	is_str(client(&t, "127.0.0.1", "192.0.2.7:http"), "!127.0.0.1",
	    "a port must be digits");
	is_str(client(&t, "127.0.0.1", "192.0.2.7:123456"), "!127.0.0.1",
	    "a port has at most 5 digits");
	is_str(client(&t, "127.0.0.1", "2001:db8::zz:80"), "!127.0.0.1",
	    "a bare IPv6 address takes no port");
	is_str(client(&t, "127.0.0.1", "[]:80"), "!127.0.0.1",
	    "empty brackets are refused");
	is_str(client(&t, NULL, "192.0.2.7"), "(null)",
	    "no peer address: NULL");
	cidr_list_free(&t);
}

int
main(void)
{
	test_v4();
	test_v6();
	test_mixed();
	test_invalid();
	test_list();
	test_client();
	return tap_done();
}
