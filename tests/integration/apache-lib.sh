# shellcheck shell=bash disable=SC2034
# (the variables set here are read by the scripts that source this file)
# apache-lib.sh: what the Apache tests share: finding apache2 and its
# modules, the unprivileged user it runs as, a generated base config in
# the test's folder, and starting/stopping exactly the server started.
# Sourced after lib.sh.

: "${APACHE2:=$(command -v apache2 || echo /usr/sbin/apache2)}"
: "${APACHE_MODULES:=/usr/lib/apache2/modules}"

# apache_require MODULE...: the whole test is skipped (TAP plan 1..0)
# when apache2 or one of the modules is not installed.
apache_require() {
	local m
	if [ ! -x "$APACHE2" ]; then
		echo "1..0 # SKIP apache2 is not installed (apt-get install apache2)"
		exit 0
	fi
	for m in "$@"; do
		if [ ! -f "$APACHE_MODULES/mod_$m.so" ]; then
			echo "1..0 # SKIP $APACHE_MODULES/mod_$m.so is missing"
			exit 0
		fi
	done
}

# The user Apache's children (and so hookpipe) run as: as root an
# unprivileged account, otherwise the user running the test.
if [ "$(id -u)" = 0 ]; then
	AP_USER=www-data
	id -u "$AP_USER" >/dev/null 2>&1 || AP_USER=nobody
	AP_GROUP=$(id -gn "$AP_USER")
else
	AP_USER=$(id -un)
	AP_GROUP=$(id -gn)
fi

# apache_share: let the Apache user into the test folder and write the
# sanitizer reports there ($T/san.*, read by finish).
apache_share() {
	if [ "$(id -u)" = 0 ]; then
		chgrp "$AP_GROUP" "$T" && chmod 0775 "$T"
	fi
}

# apache_own PATH...: hand files and folders to the Apache user.
apache_own() {
	if [ "$(id -u)" = 0 ]; then
		chown -R "$AP_USER:$AP_GROUP" "$@"
	fi
}

# apache_conf FILE PORT MODULE...: the base of a config: a server on
# 127.0.0.1:PORT, everything it writes under $T/apache, the modules
# named (plus what every config needs). The test appends the rest.
apache_conf() {
	local conf=$1 port=$2 m
	shift 2
	mkdir -p "$T/apache/run" "$T/apache/www"
	{
		echo "ServerRoot \"$T/apache\""
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$port"
		echo "PidFile \"$T/apache/httpd.pid\""
		echo "DefaultRuntimeDir \"$T/apache/run\""
		echo "ErrorLog \"$T/apache/error.log\""
		echo "LogLevel warn"
		echo "LogFormat \"%h %>s %U %{Content-Length}i %Dus\" short"
		echo "CustomLog \"$T/apache/access.log\" short"
		if [ "$(id -u)" = 0 ]; then
			echo "User $AP_USER"
			echo "Group $AP_GROUP"
		fi
		echo "TypesConfig /etc/mime.types"
		echo "DocumentRoot \"$T/apache/www\""
		echo "Timeout 30"
		for m in mpm_event authz_core authz_host mime alias env "$@"; do
			echo "LoadModule ${m}_module \"$APACHE_MODULES/mod_$m.so\""
		done
		echo "<Directory />"
		echo "  AllowOverride None"
		echo "  Require all denied"
		echo "</Directory>"
		echo "# As Debian's apache2.conf: .htaccess files are not served."
		echo "<FilesMatch \"^\\.ht\">"
		echo "  Require all denied"
		echo "</FilesMatch>"
	} > "$conf"
}

# start_apache CONF PORT: apache2 in the foreground (its own process
# group of children), until it listens on PORT.
start_apache() {
	local conf=$1 port=$2 pid
	if ! "$APACHE2" -t -f "$conf" > "$T/apache/configtest.out" 2>&1; then
		echo "# apache2 -t refused $conf:" >&2
		sed 's/^/#   /' "$T/apache/configtest.out" >&2
		return 1
	fi
	"$APACHE2" -f "$conf" -DFOREGROUND 2>>"$T/apache/stderr" &
	pid=$!
	STARTED_PIDS+=("$pid")
	SERVER_PIDS+=("$pid")
	if ! wait_port "$port"; then
		echo "# apache2 did not listen on $port" >&2
		sed 's/^/#   /' "$T/apache/error.log" "$T/apache/stderr" >&2
		return 1
	fi
}

# stop_apache: stop the server this test started (SIGTERM to the
# parent, which stops its children and the FastCGI processes) and wait.
stop_apache() {
	stop_servers
}

apache_log() { cat "$T/apache/error.log" "$T/apache/stderr" 2>/dev/null; }
# apache_log_when REGEX: the log once a line matching REGEX is in it
# (Apache writes some after it listens), or as it is after 10 s.
apache_log_when() { text_when "$1" "$T/apache/error.log" "$T/apache/stderr"; }
