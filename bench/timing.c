/* timing: does the token comparison take the same time whatever the
 * guess has right? A dudect-style check: many calls, in random order,
 * of the comparison of a 32-byte secret against candidates that match
 * 0, 8, 16, 31 or all 32 leading bytes, or have another length; each
 * call timed alone; medians per class and Welch's t between the classes.
 * A byte-by-byte loop that stops at the first difference, and memcmp,
 * are measured the same way as controls: the method must see their
 * leak, or its silence about ours means nothing.
 *   usage: timing [ROUNDS]    (default 1000000 per class) */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "auth.h"

#define SECRET_LEN	32
#define NCLASS		6
#define THRESHOLD	4.5	/* dudect's: above it, a leak is likely */

static const char *const cname[NCLASS] = {
	"0 bytes right", "8 bytes right", "16 bytes right", "31 bytes right",
	"all 32 right", "its first 16 only"
};
static const size_t prefix[NCLASS] = { 0, 8, 16, 31, 32, 16 };

static char		 secret[SECRET_LEN + 1];
static char		 cand[NCLASS][SECRET_LEN + 1];
static char		 given[SECRET_LEN + 1];	/* the one buffer timed */
static struct tokens	 toks;
static volatile int	 sink;

/* The classic leak: return at the first difference. */
static int __attribute__((noinline))
naive_equal(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static int __attribute__((noinline))
f_auth(void)
{
	return auth_token_ok(&toks, given);
}

static int __attribute__((noinline))
f_ct(void)
{
	return ct_equal(given, strlen(given), secret, SECRET_LEN);
}

static int __attribute__((noinline))
f_naive(void)
{
	size_t n = strlen(given);

	return n == SECRET_LEN && naive_equal(given, secret, n);
}

static int __attribute__((noinline))
f_memcmp(void)
{
	size_t n = strlen(given);

	return n == SECRET_LEN && memcmp(given, secret, n) == 0;
}

static const struct {
	const char	*name;
	int		(*fn)(void);
} fns[] = {
	{ "auth_token_ok", f_auth },
	{ "ct_equal", f_ct },
	{ "naive loop", f_naive },
	{ "memcmp", f_memcmp },
};
#define NFN	(sizeof(fns) / sizeof(fns[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static inline uint64_t
ticks(void)
{
#ifdef HAVE_TSC
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
#else
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct stat1 {
	double	median, mean, var;
	size_t	n;
};

/* Median, and mean and variance of the samples at or below the cut
 * (interrupts and migrations make a long tail that says nothing). */
static struct stat1
describe(uint32_t *v, size_t n, uint32_t cut)
{
	struct stat1	s = { 0, 0, 0, 0 };
	double		d, m2 = 0;
	size_t		i;

	qsort(v, n, sizeof(*v), cmp_u32);
	s.median = v[n / 2];
	for (i = 0; i < n && v[i] <= cut; i++) {
		s.n++;
		d = v[i] - s.mean;
		s.mean += d / (double)s.n;
		m2 += d * (v[i] - s.mean);
	}
	s.var = s.n > 1 ? m2 / (double)(s.n - 1) : 0;
	return s;
}

static double
welch(const struct stat1 *a, const struct stat1 *b)
{
	double se = sqrt(a->var / (double)a->n + b->var / (double)b->n);

	return se > 0 ? (a->mean - b->mean) / se : 0;
}

int
main(int argc, char *argv[])
{
	static struct stat1	 st[NFN][NCLASS];
	uint32_t		*all, *samples[NCLASS], cut;
	uint8_t			*order;
	size_t			 rounds = 1000000, total, i, j, c, f;
	size_t			 got[NCLASS];
	uint64_t		 t0, t1;
	struct err		 e;
	double			 t;
	int			 leak[NFN], oom;

	if (argc > 1 && (rounds = strtoul(argv[1], NULL, 10)) < 1000) {
		fprintf(stderr, "usage: timing [ROUNDS >= 1000]\n");
		return 2;
	}
	rng ^= (uint64_t)time(NULL);
	for (i = 0; i < SECRET_LEN; i++)
		secret[i] = (char)('a' + rnd() % 26);
	if (tokens_parse(secret, "timing", &toks, &e) == -1) {
		fprintf(stderr, "timing: %s\n", e.msg);
		return 1;
	}
	/* Each candidate shares `prefix` leading bytes with the secret and
	 * differs in every byte after them. */
	for (c = 0; c < NCLASS; c++) {
		size_t len = c == NCLASS - 1 ? 16 : SECRET_LEN;

		for (i = 0; i < len; i++)
			cand[c][i] = i < prefix[c] ? secret[i] :
			    (char)('A' + rnd() % 26);
		cand[c][len] = '\0';
	}
	total = rounds * NCLASS;
	order = malloc(total);
	all = malloc(total * sizeof(*all));
	oom = order == NULL || all == NULL;
	for (c = 0; c < NCLASS; c++)
		if ((samples[c] = malloc(rounds * sizeof(**samples))) == NULL)
			oom = 1;
	if (oom) {
		fprintf(stderr, "timing: out of memory\n");
		return 1;
	}
	for (f = 0; f < NFN; f++) {
		/* A fresh random order of the classes for each function. */
		for (i = 0; i < total; i++)
			order[i] = (uint8_t)(i % NCLASS);
		for (i = total - 1; i > 0; i--) {
			uint8_t x;

			j = (size_t)(rnd() % (i + 1));
			x = order[i], order[i] = order[j], order[j] = x;
		}
		for (i = 0; i < 10000; i++)	/* warm up */
			sink = fns[f].fn();
		memset(got, 0, sizeof(got));
		for (i = 0; i < total; i++) {
			c = order[i];
			memcpy(given, cand[c], sizeof(given));
			t0 = ticks();
			sink = fns[f].fn();
			t1 = ticks();
			all[i] = samples[c][got[c]++] = (uint32_t)(t1 - t0);
		}
		/* Crop at the 95th percentile of the whole pass. */
		qsort(all, total, sizeof(*all), cmp_u32);
		cut = all[total * 95 / 100];
		for (c = 0; c < NCLASS; c++)
			st[f][c] = describe(samples[c], rounds, cut);
	}

	printf("token comparison timing: %zu calls per class and function, "
	    "random order, %s\n", rounds,
#ifdef HAVE_TSC
	    "rdtsc ticks"
#else
	    "nanoseconds"
#endif
	    );
	printf("\nmedian per call\n%-20s", "candidate");
	for (f = 0; f < NFN; f++)
		printf(" %14s", fns[f].name);
	printf("\n");
	for (c = 0; c < NCLASS; c++) {
		printf("%-20s", cname[c]);
		for (f = 0; f < NFN; f++)
			printf(" %14.0f", st[f][c].median);
		printf("\n");
	}
	printf("\nWelch's t against \"0 bytes right\" (means below the 95th "
	    "percentile; |t| >= %.1f: the time depends on the input)\n%-20s",
	    THRESHOLD, "candidate");
	for (f = 0; f < NFN; f++)
		printf(" %14s", fns[f].name);
	printf("\n");
	for (c = 1; c < NCLASS; c++) {
		printf("%-20s", cname[c]);
		for (f = 0; f < NFN; f++)
			printf(" %14.1f", welch(&st[f][c], &st[f][0]));
		printf("\n");
	}
	printf("\n");
	for (f = 0; f < NFN; f++) {
		t = welch(&st[f][3], &st[f][0]);
		leak[f] = fabs(t) >= THRESHOLD;
		printf("%-14s 31 vs 0 bytes right: t = %8.1f  %s\n",
		    fns[f].name, t, leak[f] ? "LEAKS: time depends on how "
		    "much is right" : "no dependence found");
	}
	tokens_free(&toks);
	for (c = 0; c < NCLASS; c++)
		free(samples[c]);
	free(all);
	free(order);
	/* Ours must show nothing; the naive loop must show its leak, or the
	 * measurement is too coarse to prove anything. */
	if (leak[0] || leak[1])
		return 1;
	if (!leak[2]) {
		printf("warning: the naive loop shows no leak either: the "
		    "measurement is too noisy to conclude\n");
		return 3;
	}
	return 0;
}
