#!/usr/bin/env bash
# docs.sh: the man pages pass the mandoc linter, the scripts pass the
# shell linter, and the sample configuration passes `hookpipe check`.
. "$(dirname "$0")/lib.sh"

for page in "$SRC"/man/*.[1-8]; do
	name=$(basename "$page")
	if command -v mandoc >/dev/null; then
		out=$(mandoc -Tlint -W warning "$page" 2>&1)
		is "$out" "" "man page $name passes mandoc -Tlint"
	else
		skip "man page $name passes mandoc -Tlint" "mandoc not installed"
	fi
done

for s in "$SRC"/scripts/* "$SRC"/handlers/booking.updated "$SRC"/tests/integration/*.sh; do
	name=${s#"$SRC"/}
	if command -v shellcheck >/dev/null; then
		out=$(shellcheck -S warning "$s" 2>&1)
		is "$out" "" "shellcheck $name"
	else
		skip "shellcheck $name" "shellcheck not installed"
	fi
done

# The loader's key table (printed by tests/unit/conf-keys, which make
# check builds) and hookpipe.ini(5) name the same keys, section by
# section: each ".It Cm KEY No =" under ".Ss [SECTION]" is one row.
if [ -x "$BUILD/tests/unit/conf-keys" ]; then
	table=$("$BUILD/tests/unit/conf-keys" | cut -f1,2 | sort -u)
else
	table=
	fail "tests/unit/conf-keys is built" "run make check (or make tests/unit/conf-keys) first"
fi
man=$(awk '/^\.Ss / { s = substr($0, 5); gsub(/^\[|\]$/, "", s) }
	/^\.It Cm [a-z_]+ No =/ { print s "\t" $3 }' "$SRC/man/hookpipe.ini.5" | sort -u)
ntable=$(printf '%s' "$table" | grep -c .)
nman=$(printf '%s' "$man" | grep -c .)
[ "$nman" -gt 0 ] && [ "$ntable" -ge "$nman" ]
ok $? "the key table has as many keys as hookpipe.ini(5) documents ($ntable, $nman)"
missing=$(comm -23 <(printf '%s\n' "$table") <(printf '%s\n' "$man") | tr '\t' ' ')
is "$missing" "" "every key of the table is documented in hookpipe.ini(5)"
extra=$(comm -13 <(printf '%s\n' "$table") <(printf '%s\n' "$man") | tr '\t' ' ')
is "$extra" "" "hookpipe.ini(5) documents no key the loader lacks"

# The README opens with its two commands, in this order, before any other
# command, and both are the scripts that exist.
first=$(awk '/^```/ { if (inside) exit; inside = 1; next } inside && NF' "$SRC/README.md")
like "$(printf '%s\n' "$first" | sed -n 1p)" '^\./scripts/serve( |$)' \
    "the README's first command is ./scripts/serve"
like "$(printf '%s\n' "$first" | sed -n 2p)" '^\./scripts/test( |$)' \
    "the README's second command is ./scripts/test"
is "$(printf '%s\n' "$first" | wc -l | tr -d ' ')" 2 \
    "the README's first code block holds only those two"
[ -x "$SRC/scripts/serve" ] && [ -x "$SRC/scripts/test" ]
ok $? "scripts/serve and scripts/test are executable"

# The README's and HACKING.md's relative links lead to files of the tree
# (bench/ is not in the release tarball: its links are checked in a git
# work tree only).
for doc in README.md HACKING.md; do
	missing=""
	for l in $(grep -o '](\([^)#:]*\))' "$SRC/$doc" | sed 's/^](//; s/)$//'); do
		case $l in bench/*) [ -d "$SRC/.git" ] || [ -f "$SRC/.git" ] || continue ;; esac
		[ -e "$SRC/$l" ] || missing="$missing $l"
	done
	is "$missing" "" "every relative link of $doc leads to a file"
done
# Every conf/ file the README names exists, and the README names every
# file in conf/ (a new recipe gets its row in the deploy table).
named=$(grep -o 'conf/[A-Za-z0-9._-]*' "$SRC/README.md" | sort -u)
missing=""
for f in $named; do
	[ -e "$SRC/$f" ] || missing="$missing $f"
done
is "$missing" "" "every conf/ file the README names exists"
unnamed=""
for f in "$SRC"/conf/*; do
	printf '%s\n' "$named" | grep -qx "conf/$(basename "$f")" ||
	    unnamed="$unnamed $(basename "$f")"
done
is "$unnamed" "" "the README names every file in conf/"

# The commented sample INI is valid as shipped.
mkdir -p "$T/conf/handlers"
cp "$SRC/conf/hookpipe.ini" "$T/conf/"
cp "$SRC/handlers/payment.processed" "$T/conf/handlers/"
printf 'sample-token-0123456789abcdef\n' > "$T/conf/token"
chmod 600 "$T/conf/token"
out=$("$BUILD/hookpipe" -c "$T/conf/hookpipe.ini" check 2>&1)
like "$out" 'configuration OK' "conf/hookpipe.ini passes hookpipe check"
if command -v "$LIGHTTPD" >/dev/null; then
	out=$("$LIGHTTPD" -tt -f <(printf 'server.document-root = "/tmp"\nserver.port = 1\n'; cat "$SRC/conf/lighttpd.conf") 2>&1)
	unlike "$out" 'error|WARNING: unknown' "conf/lighttpd.conf is valid lighttpd syntax"
fi

finish
