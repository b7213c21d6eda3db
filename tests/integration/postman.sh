#!/usr/bin/env bash
# postman.sh: conf/hookpipe.postman_collection.json, run by newman
# against hookpipe under lighttpd with one endpoint per scheme it
# signs: every newman assertion is one TAP line; then the handlers ran
# once for each valid event and got the bytes newman sent. newman comes
# from scripts/deps (npm, into /opt/hookpipe-newman) or PATH.
. "$(dirname "$0")/lib.sh"

PY3=/usr/bin/python3
COLL=$SRC/conf/hookpipe.postman_collection.json
NEWMAN=${NEWMAN:-/opt/hookpipe-newman/node_modules/.bin/newman}
[ -x "$NEWMAN" ] || NEWMAN=$(command -v newman)
if [ -z "$NEWMAN" ] || ! "$NEWMAN" --version > /dev/null 2>&1; then
	skip "the Postman collection under newman" \
	    "newman not found: run scripts/deps as root (npm install --prefix /opt/hookpipe-newman newman)"
	echo "1..$TAP_N"
	exit 0
fi
diag "newman $("$NEWMAN" --version)"

# The endpoints of the collection, each under its scheme's name, and the
# secrets newman gets as --env-var NAME_secret.
SCHEMES="standard-webhooks svix github stripe shopify slack twilio gitlab paddle zoom meta mailgun"
TW_URL=https://hooks.example.com/hooks/twilio
mkdir -p "$T/h" "$T/rec" "$T/secret"
printf 'tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" > "$T/token"
chmod 600 "$T/token"
vars=(--env-var "token=$(cat "$T/token")")
for s in $SCHEMES; do
	case $s in
	standard-webhooks | svix)	# whsec_ and 24 random bytes in base64
		sec=whsec_$(head -c 24 /dev/urandom | base64) ;;
	*)	sec=$s-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') ;;
	esac
	printf '%s\n' "$sec" > "$T/secret/$s"
	vars+=(--env-var "${s//-/_}_secret=$sec")
done
printf 'meta-verify-%s\n' "$RANDOM$RANDOM" > "$T/secret/meta-verify"
vars+=(--env-var "meta_verify_token=$(cat "$T/secret/meta-verify")")
chmod 600 "$T"/secret/*
{
	printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = h\nrequire_https = no\n'
	printf '[env]\nREC = %s\n' "$T/rec"
	printf '[auth]\ntoken_file = token\n'
	for s in $SCHEMES; do
		printf '[endpoint %s]\nverify = %s\nsecret_file = secret/%s\nhandlers_dir = h\n' \
		    "$s" "$s" "$s"
		case $s in
		standard-webhooks | svix | stripe) printf 'event_field = type\n' ;;
		twilio) printf 'public_url = %s\n' "$TW_URL" ;;
		meta) printf 'verify_token_file = secret/meta-verify\n' ;;
		esac
	done
} > "$T/hookpipe.ini"
# One handler for every event of the collection: the body, by endpoint
# and id, and one line per run.
printf '#!/bin/sh\ncat > "$REC/${HOOKPIPE_ENDPOINT:-default}.$HOOKPIPE_ID"\necho "${HOOKPIPE_ENDPOINT:-default} $HOOKPIPE_ID" >> "$REC/runs"\n' \
    > "$T/h/booking.updated"
chmod 755 "$T/h/booking.updated"
for e in invoice.paid push payment_intent.succeeded orders.create app_mention \
    com.twilio.messaging.inbound-message.received transaction.completed \
    meeting.started page.feed delivered; do
	cp "$T/h/booking.updated" "$T/h/$e"
done
out=$("$BUILD/hookpipe" -c "$T/hookpipe.ini" check 2>&1)
like "$out" 'configuration OK' "an endpoint per scheme: hookpipe check passes"

PORT=$(free_port)
lighttpd_conf "$T/lighttpd.conf" "$PORT" "$T/hookpipe.ini"
start_lighttpd "$T/lighttpd.conf" "$PORT" || fail "lighttpd starts"

# newman's own exit status says whether every assertion passed; each
# assertion is also a TAP line of its own below.
HOME=$T timeout 300 "$NEWMAN" run "$COLL" --env-var "base_url=http://127.0.0.1:$PORT/hooks" \
    "${vars[@]}" --env-var "twilio_public_url=$TW_URL" \
    -r json --reporter-json-export "$T/newman.json" --timeout-request 30000 \
    > "$T/newman.out" 2>&1
rc=$?
spool_settled "$T/spool"

# report.py REPORT REC COLLECTION: one line per newman assertion,
# "0|1<TAB>description"; per valid event "check<TAB>FILE<TAB>SENT<TAB>what":
# the handler's FILE should hold the bytes SENT (written here: the body
# newman reports it sent, and for the default endpoint also the
# collection's own body with the id hookpipe answered).
cat > "$T/report.py" <<'PY'
import json, os, sys
run = json.load(open(sys.argv[1]))["run"]
rec = sys.argv[2]
# Each request of the collection: its folder and endpoint, by item id.
where = {}
raw = {}
for f in json.load(open(sys.argv[3]))["item"]:
    for r in f["item"]:
        p = r["request"]["url"]["path"]
        where[r["id"]] = (f["name"], p[0] if p else "default")
        raw[r["id"]] = r["request"].get("body", {}).get("raw")
n = 0
for x in run["executions"]:
    folder, ep = where.get(x["item"]["id"], ("?", "?"))
    name = folder + ": " + x["item"]["name"]
    for a in x.get("assertions", []):
        err = a.get("error")
        print("%d\t%s: %s%s" % (1 if err else 0, name, a["assertion"],
              (" (" + err["message"] + ")") if err else ""))
        n += 1
    if x.get("requestError"):
        print("1\t%s: request: %s" % (name, x["requestError"].get("message")))
    if x["item"]["name"].startswith("valid event"):
        try:
            resp = json.loads(bytes(x["response"]["stream"]["data"]))
        except Exception:
            resp = {}
        got = os.path.join(rec, "%s.%s" % (ep, resp.get("id")))
        out = os.path.join(rec, "sent.%s" % ep)
        open(out, "wb").write(x["request"]["body"]["raw"].encode())
        print("check\t%s\t%s\t%s: the handler got the body newman sent, byte for byte" % (got, out, ep))
        if ep == "default":
            out += ".collection"
            body = raw[x["item"]["id"]].replace("{{default_id}}", str(resp.get("id")))
            open(out, "wb").write(body.encode())
            print("check\t%s\t%s\tdefault: that is the collection's body, with the id answered" % (got, out))
errs = [f for f in run["failures"] if f["error"].get("name") != "AssertionError"]
print("%d\tno script or request errors%s" % (1 if errs else 0,
      "".join(" / %s: %s" % (f["source"].get("name"), f["error"].get("message")) for f in errs)))
want = len(where)
got = len(run["executions"])
print("%d\tevery request of the collection ran (%d of %d)" % (got != want, got, want))
PY
nvalid=0
while IFS=$'\t' read -r what a b c; do
	case $what in
	check)
		case $c in *"newman sent"*) nvalid=$((nvalid + 1)) ;; esac
		cmp -s "$a" "$b"
		ok $? "$c" ;;
	*)	ok "$what" "newman: $a" ;;
	esac
done < <("$PY3" "$T/report.py" "$T/newman.json" "$T/rec" "$COLL" 2> "$T/report.err" ||
    printf '1\tthe newman report is readable\n')
[ -s "$T/report.err" ] && diag "$(cat "$T/report.err")"
is "$nvalid" 13 "a valid event for the default endpoint and each of the 12 schemes"
is "$(sort -u "$T/rec/runs" 2>/dev/null | wc -l)/$(cat "$T/rec/runs" 2>/dev/null | wc -l)" \
    13/13 "the handlers ran once per valid event, never for a duplicate or a handshake"
is "$rc" 0 "newman exits 0"
[ "$rc" = 0 ] || diag "$(tail -n 40 "$T/newman.out")"

# The collection makes new ids (and Mailgun tokens) each run: run
# again against the same spool, it passes again.
HOME=$T timeout 300 "$NEWMAN" run "$COLL" --env-var "base_url=http://127.0.0.1:$PORT/hooks" \
    "${vars[@]}" --env-var "twilio_public_url=$TW_URL" --timeout-request 30000 \
    > "$T/newman2.out" 2>&1
rc=$?
is "$rc" 0 "a second run against the same spool passes too"
[ "$rc" = 0 ] || diag "$(grep -A3 -E '^ +[0-9]+\. ' "$T/newman2.out" | head -n 40)"
spool_settled "$T/spool"

finish
