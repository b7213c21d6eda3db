/* test-alert: the state machine of one alert condition (alert_step,
 * alert_done): fire once, no repeat while it holds, a reminder after
 * repeat, resolve once, the batching window, a failed run tried again,
 * a clock set back. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "alert.h"
#include "tap.h"

#define S	1000000LL	/* µs */

/* One evaluation whose program run succeeds (ran = 1) or fails. */
static enum alert_action
eval(struct alert_cond *c, int holds, int64_t now, int64_t window,
    int64_t repeat, int ran)
{
	enum alert_action a = alert_step(c, holds, now, window, repeat);

	if (ran && a != ALERT_NONE)
		alert_done(c, a, now);
	return a;
}

static void
test_once(void)
{
	struct alert_cond c;

	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 0, 1000 * S, 0, 0, 1), ALERT_NONE,
	    "nothing holds: nothing");
	is_int(eval(&c, 1, 1001 * S, 0, 0, 1), ALERT_FIRE,
	    "it starts to hold: fire");
	ok(c.active && c.since == 1001 * S && c.notified == 1001 * S,
	    "fired: active since now");
	is_int(eval(&c, 1, 1002 * S, 0, 0, 1), ALERT_NONE,
	    "it still holds: no second firing");
	is_int(eval(&c, 1, 900000 * S, 0, 0, 1), ALERT_NONE,
	    "repeat 0: never a reminder");
	is_int(eval(&c, 0, 900001 * S, 0, 0, 1), ALERT_RESOLVE,
	    "it clears: resolve");
	ok(!c.active && c.since == 900001 * S, "resolved: inactive since now");
	is_int(eval(&c, 0, 900002 * S, 0, 0, 1), ALERT_NONE,
	    "still clear: no second resolve");
	is_int(eval(&c, 1, 900003 * S, 0, 0, 1), ALERT_FIRE,
	    "it holds again: a new firing");
}

static void
test_repeat(void)
{
	struct alert_cond c;

	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 1, 100 * S, 0, 3600 * S, 1), ALERT_FIRE, "fire");
	is_int(eval(&c, 1, 3699 * S, 0, 3600 * S, 1), ALERT_NONE,
	    "before repeat: quiet");
	is_int(eval(&c, 1, 3700 * S, 0, 3600 * S, 1), ALERT_REMIND,
	    "repeat after the firing: a reminder");
	ok(c.active && c.since == 100 * S && c.notified == 3700 * S,
	    "a reminder keeps since, moves notified");
	is_int(eval(&c, 1, 3701 * S, 0, 3600 * S, 1), ALERT_NONE,
	    "the next reminder counts from the last");
	is_int(eval(&c, 1, 7300 * S, 0, 3600 * S, 1), ALERT_REMIND,
	    "and comes repeat later");
}

static void
test_window(void)
{
	struct alert_cond c;

	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 1, 10 * S, 60 * S, 0, 1), ALERT_NONE,
	    "window: the first sight waits");
	is_int((int)(c.pending / S), 10, "pending since the first sight");
	is_int(eval(&c, 1, 69 * S, 60 * S, 0, 1), ALERT_NONE,
	    "window still open: waits");
	is_int(eval(&c, 1, 70 * S, 60 * S, 0, 1), ALERT_FIRE,
	    "window closed: fires");
	ok(c.pending == 0, "fired: nothing pending");
	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 1, 10 * S, 60 * S, 0, 1), ALERT_NONE, "pending again");
	is_int(eval(&c, 0, 20 * S, 60 * S, 0, 1), ALERT_NONE,
	    "cleared inside the window: no firing, no resolve");
	ok(c.pending == 0 && !c.active, "and nothing pending");
	is_int(eval(&c, 1, 5 * S, 60 * S, 0, 1), ALERT_NONE, "seen again");
	is_int(eval(&c, 1, 1 * S, 60 * S, 0, 1), ALERT_NONE,
	    "a clock set back: the window starts again, from now");
	is_int((int)(c.pending / S), 1, "pending from the time set back to");
}

static void
test_failed_run(void)
{
	struct alert_cond c;

	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 1, 10 * S, 0, 0, 0), ALERT_FIRE, "fire, program fails");
	ok(!c.active, "a failed firing changes no state");
	is_int(eval(&c, 1, 11 * S, 0, 0, 1), ALERT_FIRE,
	    "so the next evaluation fires again");
	is_int(eval(&c, 0, 12 * S, 0, 0, 0), ALERT_RESOLVE,
	    "resolve, program fails");
	ok(c.active, "still active");
	is_int(eval(&c, 0, 13 * S, 0, 0, 1), ALERT_RESOLVE,
	    "the next evaluation resolves again");
	memset(&c, 0, sizeof(c));
	is_int(eval(&c, 1, 10 * S, 0, 0, 0), ALERT_FIRE, "a failed firing");
	is_int(eval(&c, 0, 11 * S, 0, 0, 1), ALERT_NONE,
	    "that cleared before its retry: nothing to say");
	is_str(alert_name(AL_DEAD), "dead", "names: dead");
	is_str(alert_name(AL_REFUSALS), "refusals", "names: refusals");
}

int
main(void)
{
	test_once();
	test_repeat();
	test_window();
	test_failed_run();
	return tap_done();
}
