#!/usr/bin/env bash
# scripts/torture.sh - Switchboard's standing robustness suite (run by `make torture`;
# not part of `make test`). Everything runs on loopback, on this machine.
#
# Checks, each one or more rows of the table:
#   fuzz     every `go test` fuzz target of the repository (third_party aside) for
#            TORTURE_FUZZTIME each: no failure; the figure is its executions
#   restart  the built switch with SQLite state: a queue made through the API,
#            kill -9, restart: the queue is still there and the switch answers OPTIONS
#   sigterm  the SIGTERM drain: cmd/switchboard's TestSIGTERMDrain and
#            TestSecondSignalEndsCalls (the real binary, a call through it, 503 to new
#            calls while draining, BYE to both legs at shutdown_timeout, exit 0)
#   flood    the rows of scripts/torture-flood.sh, when the file exists
#   slow     the rows of scripts/torture-slow.sh: slow HTTP bodies and idle or half-sent
#            SIP TCP connections against the switch with short timeouts; none left open
# Prints a Markdown table (check, target, figure, met) on stdout, also written to
# $TORTURE_OUT/results.md; logs go to stderr and $TORTURE_OUT.
#
# Environment (defaults):
#   TORTURE_FUZZTIME=5m      how long each fuzz target runs (go test -fuzztime)
#   TORTURE_FUZZ=""          "PKG:FuzzName ..." to run only these (default: all found)
#   TORTURE_FUZZPARALLEL=""  fuzz workers per target (go test -parallel; default GOMAXPROCS)
#   TORTURE_FUZZMIN=1000     a target that ran fewer execs than this is not met (a
#                            target that barely ran proves nothing)
#   TORTURE_FUZZMINIMIZE=5s  go test -fuzzminimizetime (Go's default, 60 s per new input,
#                            can eat a short run)
#   TORTURE_CHECKS=fuzz,restart,sigterm,flood,slow   which checks to run
#   TORTURE_SIP=15060 TORTURE_HTTP=18080   the switch's ports (loopback)
#   TORTURE_STRICT=0         1 = exit 1 when a target is not met
#   TORTURE_OUT=$(mktemp -d /tmp/switchboard-torture.XXXXXX)   logs, configs, results
# torture-flood.sh and torture-slow.sh get TORTURE_OUT (a directory of their own in it),
# TORTURE_BIN (the built switch), TORTURE_SIP and TORTURE_HTTP, and print their rows
# on stdout (see scripts/torture-lib.sh).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export PATH=$PATH:/usr/local/go/bin
GO=${GO:-go}
# shellcheck source=scripts/torture-lib.sh
. scripts/torture-lib.sh

FUZZTIME=${TORTURE_FUZZTIME:-5m}
CHECKS=${TORTURE_CHECKS:-fuzz,restart,sigterm,flood,slow}
SIP=${TORTURE_SIP:-15060}
HTTP=${TORTURE_HTTP:-18080}
STRICT=${TORTURE_STRICT:-0}
OUT=${TORTURE_OUT:-$(mktemp -d /tmp/switchboard-torture.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$ROOT/bin/switchboard
ROWS=$OUT/rows.md
: >"$ROWS"
has_check() { [[ ",$CHECKS," == *",$1,"* ]]; }

NODE_PID=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	node_stop 5
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
# fuzz: one row per target

fuzz_targets() {
	if [ -n "${TORTURE_FUZZ:-}" ]; then
		tr ' ' '\n' <<<"$TORTURE_FUZZ" | grep .
		return
	fi
	grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | grep -v '^./third_party/' |
		sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz.*)$|./\1:\2|' | sort -u
}

run_fuzz() {
	local spec pkg name logf rc last execs secs crasher
	for spec in $(fuzz_targets); do
		pkg=${spec%%:*} name=${spec#*:}
		logf=$OUT/fuzz-${pkg//\//_}-$name.log
		log "fuzz $pkg $name for $FUZZTIME"
		# -fuzzminimizetime: Go minimizes every new interesting input for up
		# to 60 s by default, with no progress line meanwhile; a target
		# seeded with whole configuration files spent its five minutes
		# minimizing a handful of inputs.
		"$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${TORTURE_FUZZMINIMIZE:-5s}" \
			${TORTURE_FUZZPARALLEL:+-parallel "$TORTURE_FUZZPARALLEL"} "$pkg" >"$logf" 2>&1
		rc=$?
		# The last progress line: "elapsed: 4m59s, execs: 123456 (...)".
		last=$(grep -Eo 'elapsed: ([0-9]+h)?([0-9]+m)?[0-9]+s, execs: [0-9]+' "$logf" | tail -1)
		secs=$(sed -E 's/elapsed: (([0-9]+)h)?(([0-9]+)m)?([0-9]+)s.*/\2 \4 \5/' <<<"$last" |
			awk '{ if (NF == 3) print $1*3600 + $2*60 + $3; else if (NF == 2) print $1*60 + $2; else print $1 }')
		execs=$(sed -E 's/.*execs: ([0-9]+)/\1/' <<<"$last")
		if [ "$rc" = 0 ] && [ "${execs:-0}" -lt "${TORTURE_FUZZMIN:-1000}" ]; then
			row "fuzz $name ($pkg)" "no failure in $FUZZTIME, >= ${TORTURE_FUZZMIN:-1000} execs" "only ${execs:-0} execs in ${secs:-?} s" no
		elif [ "$rc" = 0 ]; then
			row "fuzz $name ($pkg)" "no failure in $FUZZTIME" "${execs:-?} execs in ${secs:-?} s, 0 failures" yes
		else
			crasher=$(grep -Eo 'Failing input written to [^ ]+' "$logf" | head -1 | sed 's/Failing input written to //')
			row "fuzz $name ($pkg)" "no failure in $FUZZTIME" \
				"failed after ${execs:-?} execs: ${crasher:-see $(basename "$logf")}" no
		fi
	done
}

# ---------------------------------------------------------------------------------------
# restart: kill -9 with SQLite state

run_restart() {
	local dir=$OUT/restart cfg queue kept=no options=no figure
	mkdir -p "$dir"
	cfg=$dir/node.yaml
	node_config "$cfg" "$SIP" "$HTTP" "$dir/switchboard.db"
	queue=torture-$$
	if ! node_start "$BIN" "$cfg" "$dir/node.log" "$HTTP"; then
		row "kill -9 restart" "queue kept, OPTIONS answered" "the switch did not start (see $dir/node.log)" no
		return
	fi
	if ! curl -fsS -m 5 -X POST -H 'Authorization: Bearer torture-key' -H 'Content-Type: application/json' \
		-d "{\"name\":\"$queue\"}" "http://127.0.0.1:$HTTP/api/v1/queues" >"$dir/create.json" 2>&1; then
		row "kill -9 restart" "queue kept, OPTIONS answered" "creating the queue failed: $(head -c 200 "$dir/create.json")" no
		node_stop
		return
	fi
	kill -KILL "$NODE_PID"
	wait "$NODE_PID" 2>/dev/null
	log "killed the switch (pid $NODE_PID) with SIGKILL; restarting"
	NODE_PID=
	local t0=$SECONDS
	if ! node_start "$BIN" "$cfg" "$dir/node.log" "$HTTP"; then
		row "kill -9 restart" "queue kept, OPTIONS answered" "the switch did not restart after kill -9 (see $dir/node.log)" no
		return
	fi
	local up=$((SECONDS - t0))
	curl -fsS -m 5 -H 'Authorization: Bearer torture-key' "http://127.0.0.1:$HTTP/api/v1/queues/$queue" \
		>"$dir/after.json" 2>&1 && grep -q "\"id\":\"$queue\"" "$dir/after.json" && kept=yes
	sip_options "$dir" "$SIP" && options=yes
	node_stop
	figure="queue kept: $kept; OPTIONS 200: $options; up again in ${up} s"
	if [ "$kept" = yes ] && [ "$options" = yes ]; then
		row "kill -9 restart" "queue kept, OPTIONS answered" "$figure" yes
	else
		row "kill -9 restart" "queue kept, OPTIONS answered" "$figure" no
	fi
}

# ---------------------------------------------------------------------------------------
# sigterm: the drain tests of cmd/switchboard (the real binary)

run_sigterm() {
	local logf=$OUT/sigterm.log t0=$SECONDS
	log "SIGTERM drain tests"
	if "$GO" test -count=1 -timeout 5m -run '^(TestSIGTERMDrain|TestSecondSignalEndsCalls)$' -v ./cmd/switchboard >"$logf" 2>&1; then
		row "SIGTERM drain" "503 while draining, call kept to shutdown_timeout, BYE both legs, exit 0" \
			"TestSIGTERMDrain, TestSecondSignalEndsCalls pass ($((SECONDS - t0)) s)" yes
	else
		row "SIGTERM drain" "503 while draining, call kept to shutdown_timeout, BYE both legs, exit 0" \
			"failed: $(grep -E -- '--- FAIL|_test.go:[0-9]+:' "$logf" | head -3 | tr '\n' ' ' | tr '|' '/')" no
	fi
}

# ---------------------------------------------------------------------------------------
# flood and slow: other scripts' rows

# table_rows NAME FILE: the table rows of FILE as rows of this table. A table of
# its own (a header line followed by |---|) with other columns than check, target,
# figure, met is folded in: check is NAME and its first column, the figure lists the
# middle columns with their headers, the target is the last header (what is inside
# its parentheses, if any) and met the last column.
table_rows() {
	awk -v name="$1" '
	function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
	/^\|/ { line[++n] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			if (line[i] ~ /^\|[ :|-]+\|$/) continue
			if (i < n && line[i + 1] ~ /^\|[ :|-]+\|$/) { hn = split(line[i], h, "|"); continue }
			k = split(line[i], c, "|")
			if (!hn || tolower(trim(h[2])) == "check") { print line[i]; continue }
			tgt = trim(h[hn - 1])
			if (match(tgt, /\(.*\)/)) tgt = substr(tgt, RSTART + 1, RLENGTH - 2)
			fig = ""
			for (j = 3; j < k - 1; j++) fig = fig (fig == "" ? "" : "; ") trim(h[j]) ": " trim(c[j])
			printf "| %s: %s | %s | %s | %s |\n", name, trim(c[2]), tgt, fig, trim(c[k - 1])
		}
	}' "$2"
}

run_script() { # NAME: runs scripts/torture-NAME.sh and keeps its rows
	local name=$1 script=scripts/torture-$1.sh rc
	if [ ! -f "$script" ]; then
		log "$script is not there: no $name rows"
		return
	fi
	log "running $script"
	mkdir -p "$OUT/$name"
	TORTURE_OUT=$OUT/$name TORTURE_BIN=$BIN TORTURE_SIP=$SIP TORTURE_HTTP=$HTTP \
		bash "$script" >"$OUT/$name/stdout.md" 2> >(tee "$OUT/$name/stderr.log" >&2)
	rc=$?
	table_rows "$name" "$OUT/$name/stdout.md"
	if [ "$rc" != 0 ] && ! grep -qE '^\|' "$OUT/$name/stdout.md"; then
		row "$name" "$script prints its rows" "exit $rc without rows (see $OUT/$name/stderr.log)" no
	fi
}

# ---------------------------------------------------------------------------------------

if has_check restart || has_check flood || has_check slow; then
	log "building bin/switchboard"
	make -s build >&2 || {
		log "build failed"
		exit 1
	}
fi
has_check fuzz && run_fuzz >>"$ROWS"
has_check restart && run_restart >>"$ROWS"
has_check sigterm && run_sigterm >>"$ROWS"
has_check flood && run_script flood >>"$ROWS"
has_check slow && run_script slow >>"$ROWS"

{
	echo "| check | target | figure | met |"
	echo "|---|---|---|---|"
	cat "$ROWS"
} >"$OUT/results.md"
echo
cat "$OUT/results.md"
log "artefacts: $OUT"
if [ "$STRICT" = 1 ] && grep -q '| no |$' "$ROWS"; then
	exit 1
fi
exit 0
