# shellcheck shell=bash disable=SC2034
# (the variables set here are read by the scripts that source this file)
# rabbitmq-lib.sh: a real RabbitMQ broker for a test, sourced after
# lib.sh. start_rabbitmq runs rabbitmq-server (Debian's rabbitmq-server
# 3.10) as a plain process of the test, on free loopback ports, with
# every file of its own under $T/rmq: node name, mnesia, logs, config,
# enabled plugins (none), a private Erlang cookie (HOME=$T/rmqhome)
# and a private epmd on a free port (ERL_EPMD_PORT), so that no broker
# or epmd of the machine is touched. stop_rabbitmq stops exactly what
# start_rabbitmq started, by pid. The test's cleanup does it too.
#
#   rabbitmq_available || { skip ...; finish; }
#   start_rabbitmq               # sets RMQ_PORT, RMQ_NODE, RMQ_USER, RMQ_PASS
#   rmqctl list_queues name messages
#   kill_rabbitmq                # kill -9 the broker (its data stays)
#   start_rabbitmq               # the same node again, on the same ports
#   stop_rabbitmq                # broker, then epmd

RMQ_LIBDIR=${RMQ_LIBDIR:-/usr/lib/rabbitmq/bin}
RMQ_DIR=$T/rmq
RMQ_NODE=hp-$$@localhost
RMQ_USER=hookpipe
RMQ_PASS=hp-secret-$$
RMQ_PORT=
RMQ_DIST_PORT=
RMQ_EPMD_PORT=
RMQ_PID=
RMQ_EPMD_PID=

rabbitmq_available() {
	[ -x "$RMQ_LIBDIR/rabbitmq-server" ] && [ -x "$RMQ_LIBDIR/rabbitmqctl" ] &&
	    command -v epmd >/dev/null 2>&1
}

# The environment every rabbitmq command of the test runs with: the
# broker's files, its ports, its cookie; nothing from /etc/rabbitmq. An
# array for `env`, so that `env "${RMQ_ENV[@]}" PROG &` makes $! the
# program's own pid (a function run in the background would be a
# subshell around it).
RMQ_ENV=()
rmq_envset() {
	RMQ_ENV=(HOME="$T/rmqhome"
	    ERL_EPMD_PORT="$RMQ_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
	    RABBITMQ_NODENAME="$RMQ_NODE"
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	    RABBITMQ_NODE_PORT="$RMQ_PORT"
	    RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
	    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
	    RABBITMQ_LOG_BASE="$RMQ_DIR/log"
	    RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
	    RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
	    RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
	    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
	    RABBITMQ_PID_FILE="$RMQ_DIR/pid"
	    ERL_CRASH_DUMP="$RMQ_DIR/erl_crash.dump"
	    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
}
rmq_env() { env "${RMQ_ENV[@]}" "$@"; }

rmqctl() {	# rmqctl ARGS...: rabbitmqctl against the test's node
	rmq_env timeout 60 "$RMQ_LIBDIR/rabbitmqctl" -n "$RMQ_NODE" -q "$@"
}

# start_rabbitmq: start the broker (the same node, ports and data again
# after kill_rabbitmq or stop_rabbitmq_only) and wait until it accepts
# AMQP connections, at most 60 s; on the first start, create the test's
# user with a password. 0, or 1 with the broker's log in diag.
start_rabbitmq() {
	local first=0
	if [ -z "$RMQ_PORT" ]; then
		first=1
		RMQ_PORT=$(free_port)
		RMQ_DIST_PORT=$(free_port)
		RMQ_EPMD_PORT=$(free_port)
		mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log" "$T/rmqhome"
		# A private cookie: the CLI tools and the node read it from HOME.
		printf 'hookpipe-test-%s-%s' "$$" "$RANDOM$RANDOM" > "$T/rmqhome/.erlang.cookie"
		chmod 400 "$T/rmqhome/.erlang.cookie"
		cat > "$RMQ_DIR/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$RMQ_PORT
		loopback_users = none
		log.file.level = info
		log.console = false
		EOF
		echo '[].' > "$RMQ_DIR/advanced.config"
		: > "$RMQ_DIR/rabbitmq-env.conf"
		echo '[].' > "$RMQ_DIR/enabled_plugins"
		rmq_envset
	fi
	if [ -z "$RMQ_EPMD_PID" ] || ! kill -0 "$RMQ_EPMD_PID" 2>/dev/null; then
		env "${RMQ_ENV[@]}" epmd -port "$RMQ_EPMD_PORT" -address 127.0.0.1 \
		    > "$RMQ_DIR/log/epmd.out" 2>&1 &
		RMQ_EPMD_PID=$!
		STARTED_PIDS+=("$RMQ_EPMD_PID")
		wait_port "$RMQ_EPMD_PORT" || { diag "epmd did not listen"; return 1; }
	fi
	# RUNNING_UNDER_SYSTEMD: the script execs erl without a shell
	# around it, so $! is the broker's beam.smp itself.
	env "${RMQ_ENV[@]}" RUNNING_UNDER_SYSTEMD=1 "$RMQ_LIBDIR/rabbitmq-server" \
	    < /dev/null > "$RMQ_DIR/log/server.out" 2>&1 &
	RMQ_PID=$!
	STARTED_PIDS+=("$RMQ_PID")
	local i
	for i in $(seq 120); do
		if ! kill -0 "$RMQ_PID" 2>/dev/null; then
			diag "rabbitmq-server exited:" "$(tail -20 "$RMQ_DIR/log/server.out")"
			return 1
		fi
		if rmq_env timeout 20 "$RMQ_LIBDIR/rabbitmq-diagnostics" -n "$RMQ_NODE" \
		    -q check_port_connectivity > /dev/null 2>&1; then
			break
		fi
		sleep 0.5
	done
	[ "$i" -lt 120 ] || { diag "rabbitmq-server did not start in time"; return 1; }
	if [ "$first" = 1 ]; then
		rmqctl add_user "$RMQ_USER" "$RMQ_PASS" > /dev/null &&
		    rmqctl set_permissions -p / "$RMQ_USER" '.*' '.*' '.*' > /dev/null ||
		    { diag "rabbitmqctl could not create the user"; return 1; }
	fi
	return 0
}

# kill_rabbitmq: kill -9 the broker (a crash: its data stays on disk),
# and wait until it is gone, at most 10 s. epmd stays.
kill_rabbitmq() {
	[ -n "$RMQ_PID" ] || return 0
	kill -KILL "$RMQ_PID" 2>/dev/null
	wait "$RMQ_PID" 2>/dev/null
	RMQ_PID=
}

# stop_rabbitmq_only: stop the broker cleanly (SIGTERM), at most 60 s,
# then SIGKILL. epmd stays, for a later start_rabbitmq.
stop_rabbitmq_only() {
	local i
	[ -n "$RMQ_PID" ] || return 0
	kill -TERM "$RMQ_PID" 2>/dev/null
	for i in $(seq 600); do
		kill -0 "$RMQ_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ "$i" -lt 600 ] || kill -KILL "$RMQ_PID" 2>/dev/null
	wait "$RMQ_PID" 2>/dev/null
	RMQ_PID=
}

# stop_rabbitmq: the broker, then the epmd start_rabbitmq started, and
# wait (at most 10 s) until the broker's helpers (erl_child_setup,
# inet_gethost) have followed it.
stop_rabbitmq() {
	stop_rabbitmq_only
	if [ -n "$RMQ_EPMD_PID" ]; then
		kill -TERM "$RMQ_EPMD_PID" 2>/dev/null
		wait "$RMQ_EPMD_PID" 2>/dev/null
		RMQ_EPMD_PID=
	fi
	for _ in $(seq 100); do
		[ -z "$(rmq_procs)" ] && return 0
		sleep 0.1
	done
	return 1
}

# rmq_procs: the pids of processes still running for this broker (beam,
# erl_child_setup, inet_gethost, epmd: found by the broker's folder in
# their environment): none once stop_rabbitmq is done.
rmq_procs() {
	local p comm
	for p in /proc/[0-9]*; do
		comm=$(cat "$p/comm" 2>/dev/null) || continue
		case $comm in
		beam.smp|epmd|erl_child_setup|inet_gethost|erlexec) ;;
		*) continue ;;
		esac
		{ tr '\0' '\n' < "$p/environ"; } 2>/dev/null |
		    grep -qxF "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia" && echo "${p#/proc/}"
	done
	return 0
}
