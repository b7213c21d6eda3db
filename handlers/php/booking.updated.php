#!/usr/bin/env php
<?php
// booking.updated.php - example hookpipe handler (PHP CLI), wired up in the INI with
// [event booking.updated] handler = /path/to/handlers/php/booking.updated.php
// Raw body on stdin, HOOKPIPE_* in the environment; appends one line (time, event, id, bytes,
// sha256, data.booking_id) to $EXAMPLE_LOG (stderr if unset). Exit 0 ok, 100 bad body, 75 retry.

declare(strict_types=1);

const EX_PERMANENT = 100; // bad payload: hookpipe will not retry
const EX_TEMPFAIL = 75;   // try again later

// One token per field: spaces and control characters become '?'.
function clean($value): string
{
    return preg_replace('/[\x00-\x20\x7f]/', '?', (string) $value);
}

function env(string $name): string
{
    $value = getenv($name);
    return $value === false ? '' : $value;
}

$body = file_get_contents('php://stdin');
if ($body === false) {
    fwrite(STDERR, "booking.updated.php: cannot read stdin\n");
    exit(EX_TEMPFAIL);
}

try {
    $event = json_decode($body, false, 512, JSON_THROW_ON_ERROR);
} catch (JsonException $e) {
    fwrite(STDERR, "booking.updated.php: body is not valid JSON: {$e->getMessage()}\n");
    exit(EX_PERMANENT);
}
if (!is_object($event)) {
    fwrite(STDERR, "booking.updated.php: body is not a JSON object\n");
    exit(EX_PERMANENT);
}

// The payload shape is not guaranteed: anything but a scalar data.booking_id gives '?'.
$booking = '?';
if (isset($event->data) && is_object($event->data)
    && isset($event->data->booking_id) && is_scalar($event->data->booking_id)) {
    $booking = clean($event->data->booking_id);
}

$line = sprintf(
    "%s %s id=%s bytes=%d sha256=%s booking=%s\n",
    clean(env('HOOKPIPE_RECEIVED_AT')),
    clean(env('HOOKPIPE_EVENT')),
    clean(env('HOOKPIPE_ID')),
    strlen($body),
    hash('sha256', $body),
    $booking
);

$log = env('EXAMPLE_LOG');
if ($log === '') {
    fwrite(STDERR, $line);
    exit(0);
}

// '@' keeps PHP's warning off stdout; the reason is reported on stderr instead.
$written = @file_put_contents($log, $line, FILE_APPEND);
if ($written !== strlen($line)) {
    $why = error_get_last()['message'] ?? 'short write';
    fwrite(STDERR, "booking.updated.php: cannot append to $log: $why\n");
    exit(EX_TEMPFAIL);
}
exit(0);
