#!/usr/bin/env bash
# scripts/loadtest.sh - SIPp load test of Switchboard, with baselines (run by `make loadtest`).
#
# Measures, all on 127.0.0.1 and on this machine (docs/loadtest.md explains every figure):
#   a. baseline: SIPp UAC -> SIPp UAS directly: highest CPS held for LOADTEST_DURATION s
#      with < 0.1 % failed calls, p99 INVITE->200;
#   b. the same through bin/switchboard (testdata/config/loadtest.yaml);
#   c. LOADTEST_CALLS concurrent calls through the switch, 50 RTP packets/s each way,
#      far end SIPp -rtp_echo: RTP loss, switch CPU, CPU microseconds per relayed packet;
#   d. the same RTP load through the bare Go relay (cmd/udprelay): CPU us/packet baseline;
#   e. transcode: PCMU callers -> switch -> Opus far end (uas_opus_echo.xml -rtp_echo),
#      testdata/config/loadtest-transcode.yaml, a ladder of concurrent transcoded calls
#      per Opus complexity: RTP loss, CPU, CPU us per transcoded packet, RSS per call,
#      against raw libopus encode+decode at the same settings (cmd/opusbaseline);
#   f. queue: PCMU callers -> the switch's queue -> `switchboard agentsim` WebRTC agents
#      (Opus), testdata/config/loadtest-queue.yaml, a ladder of concurrent queued-and-
#      answered calls: losses both ways, CPU, answer-to-audio (scripts/loadtest-queue.sh,
#      which lists its LOADTEST_QUEUE_* settings).
# Prints a Markdown table (also written to $LOADTEST_OUT/results.md).
#
# Environment (defaults; LOADTEST_QUICK=1 switches to the ~2 minute smoke values in []):
#   LOADTEST_QUICK=0         1 = smoke run
#   LOADTEST_DURATION=60     [10] seconds each confirmed CPS run and the RTP window last
#   LOADTEST_PROBE=10        [4]  seconds of each CPS probe of the ramp
#   LOADTEST_RATES="200 500 800 1000 1500 2000 3000 5000 8000 12000 16000"  [100 300 600 1000]
#                            CPS ladder: probes go up it until one is not held
#   LOADTEST_BISECT=2        [1]  bisection probes between the last good and first bad rate
#   LOADTEST_HOLD_MS=1000    call length of the signalling-only CPS calls
#   LOADTEST_P99_MAX_MS=500  a rate is only held if p99 INVITE->200 stays within this (0: no limit)
#   LOADTEST_CALLS=1000      [200] concurrent calls with RTP (c, d)
#   LOADTEST_RTP_CPS=100     call rate while ramping up the RTP calls
#   LOADTEST_UACS=4          SIPp UAC processes sharing the RTP calls (max 8, see docs)
#   LOADTEST_PHASES=baseline,switch,rtp,relay,transcode,queue   which parts to run
#   LOADTEST_TRANSCODE_CALLS="100 200 300 400"  [50 100]  transcoded-call ladder (e)
#   LOADTEST_TRANSCODE_COMPLEXITY="5 1"   Opus complexities, one ladder each
#   LOADTEST_TRANSCODE_WINDOW=30  [8]  seconds of each level's measurement window
#   LOADTEST_TRANSCODE_ALL=0      1 = climb the whole ladder even after a level is not held
#   LOADTEST_TRANSCODE_CONFIG=testdata/config/loadtest-transcode.yaml
#   LOADTEST_OPUS_BASE_SECONDS=10 [4]  raw libopus baseline (cmd/opusbaseline) before each
#                                level: as many paced goroutines as calls, this long
#   LOADTEST_STRICT=0        1 = exit 1 when a target is missed
#   LOADTEST_OUT=$(mktemp -d /tmp/switchboard-loadtest.XXXXXX)   logs, SIPp files, results
#   LOADTEST_CONFIG=testdata/config/loadtest.yaml
#   LOADTEST_SIP=127.0.0.1:5060  LOADTEST_HTTP=127.0.0.1:8080   the switch (as in the config)
#   LOADTEST_UAS_PORT=5080   far-end SIPp (the config's outbound trunk)
#   LOADTEST_UAC_PORT=5070   first UAC SIP port (UAC i uses +i)
#   LOADTEST_UAC_MEDIA=6000  first UAC media port (UAC i uses +4i, and +2 for video)
#   LOADTEST_UAS_MEDIA=6100  far-end media port
#   LOADTEST_RELAY_BASE=44000  first udprelay port (4 ports per call)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SIPP_DIR=$ROOT/testdata/sipp
export PATH=$PATH:/usr/local/go/bin

QUICK=${LOADTEST_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	d_duration=10 d_probe=4 d_rates="100 300 600 1000" d_bisect=1 d_calls=200
	d_tc_calls="50 100" d_tc_window=8 d_ob_secs=4 d_ob_loop=1
else
	d_duration=60 d_probe=10 d_rates="200 500 800 1000 1500 2000 3000 5000 8000 12000 16000" d_bisect=2 d_calls=1000
	d_tc_calls="100 200 300 400" d_tc_window=30 d_ob_secs=10 d_ob_loop=3
fi
DURATION=${LOADTEST_DURATION:-$d_duration}
PROBE=${LOADTEST_PROBE:-$d_probe}
RATES=${LOADTEST_RATES:-$d_rates}
BISECT=${LOADTEST_BISECT:-$d_bisect}
HOLD_MS=${LOADTEST_HOLD_MS:-1000}
P99_MAX=${LOADTEST_P99_MAX_MS:-500}
CALLS=${LOADTEST_CALLS:-$d_calls}
RTP_CPS=${LOADTEST_RTP_CPS:-100}
UACS=${LOADTEST_UACS:-4}
PHASES=${LOADTEST_PHASES:-baseline,switch,rtp,relay,transcode,queue}
TC_CALLS=${LOADTEST_TRANSCODE_CALLS:-$d_tc_calls}
TC_COMPLEXITY=${LOADTEST_TRANSCODE_COMPLEXITY:-5 1}
TC_WINDOW=${LOADTEST_TRANSCODE_WINDOW:-$d_tc_window}
TC_ALL=${LOADTEST_TRANSCODE_ALL:-0}
TC_CONFIG=${LOADTEST_TRANSCODE_CONFIG:-testdata/config/loadtest-transcode.yaml}
OB_SECS=${LOADTEST_OPUS_BASE_SECONDS:-$d_ob_secs}
OB_LOOP=$d_ob_loop
STRICT=${LOADTEST_STRICT:-0}
CONFIG=${LOADTEST_CONFIG:-testdata/config/loadtest.yaml}
SWITCH_SIP=${LOADTEST_SIP:-127.0.0.1:5060}
HTTP=${LOADTEST_HTTP:-127.0.0.1:8080}
UAS_PORT=${LOADTEST_UAS_PORT:-5080}
UAC_PORT=${LOADTEST_UAC_PORT:-5070}
UAC_MEDIA=${LOADTEST_UAC_MEDIA:-6000}
UAS_MEDIA=${LOADTEST_UAS_MEDIA:-6100}
RELAY_BASE=${LOADTEST_RELAY_BASE:-44000}
OUT=${LOADTEST_OUT:-$(mktemp -d /tmp/switchboard-loadtest.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
HOLD_S=$(((HOLD_MS + 999) / 1000))
((UACS > 8)) && UACS=8
((UACS > CALLS)) && UACS=$CALLS
((UACS < 1)) && UACS=1
SIP_BUF=4194304 # SIPp SIP socket buffers (-buff_size); the kernel caps it at net.core.rmem_max

# ---------------------------------------------------------------------------------------
# helpers

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
has_phase() { [[ ",$PHASES," == *",$1,"* ]]; }
# rtp_details DIR REGEX SUMMARY...: appends a run's summary and its metrics
# matching REGEX (from DIR/metrics-B.txt) to rtp-details.md.
rtp_details() {
	local dir=$1 re=$2
	shift 2
	{
		echo "$*"
		echo
		grep -E "$re" "$dir/metrics-B.txt" | sed 's/^/    /' || true
		echo
	} >>"$OUT/rtp-details.md"
}
now() { date +%s.%N; }
# fmt FORMAT VALUE: printf through awk (values may be empty: prints "n/a").
fmt() { awk -v f="$1" -v v="${2:-}" 'BEGIN { if (v == "") print "n/a"; else printf f "\n", v }'; }
calc() { awk "BEGIN { printf \"%.10g\n\", $* }" 2>/dev/null || true; } # empty on error (e.g. / 0)

PIDS=()
track() { PIDS+=("$1"); }
# nap SECONDS: sleep that a trapped signal interrupts at once (bash runs traps only
# after a foreground command ends, but during `wait` right away).
nap() {
	awk -v w="$1" 'BEGIN { exit !(w > 0) }' || return 0
	sleep "$1" &
	track "$!"
	wait "$!" || true
}
# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5).
stop_pid() {
	local pid=$1 limit=$((${2:-5} * 10)) i
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null || true
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "process $pid did not stop on SIGTERM; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

RESULTS_PRINTED=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local i pid
	# newest first: SIPp and helpers before the switch they talk to
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		if kill -0 "$pid" 2>/dev/null; then
			if [ "$pid" = "${SW_PID:-}" ]; then stop_pid "$pid" 10; else stop_pid "$pid" 3; fi
		fi
	done
	if [ "$RESULTS_PRINTED" = 0 ] && [ -n "${ROWS_READY:-}" ]; then
		log "aborted (exit $rc); partial results:"
		print_results || true
	fi
	log "artefacts: $OUT"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# port_busy udp|tcp PORT: true when a socket is bound (udp) or listening (tcp) on PORT.
port_busy() {
	local hex
	hex=$(printf ':%04X' "$2")
	if [ "$1" = udp ]; then
		awk -v h="$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' /proc/net/udp /proc/net/udp6 2>/dev/null
	else
		awk -v h="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
	fi
}
# require_free udp:PORT tcp:PORT ...
require_free() {
	local spec
	for spec in "$@"; do
		if port_busy "${spec%%:*}" "${spec#*:}"; then
			die "port ${spec%%:*}/${spec#*:} is already in use (another switch or SIPp running? see: ss -lunpt); stop it or set LOADTEST_* ports"
		fi
	done
}
# wait_bound udp PORT PID: until PORT is bound (or PID died).
wait_bound() {
	local i
	for ((i = 0; i < 100; i++)); do
		port_busy "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# udp_drops PORT: the kernel's receive-drop counter of the UDP socket bound to PORT.
udp_drops() {
	awk -v h="$(printf ':%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == h { s += $NF; f = 1 } END { print f ? s : 0 }' /proc/net/udp
}
# pid_udp_drops PID [EXCLUDE_PORT]: summed kernel receive-drop counters of the UDP
# sockets PID holds open (by inode), leaving out the one bound to EXCLUDE_PORT.
pid_udp_drops() {
	{
		echo "inodes"
		find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'
		echo
	} | awk -v x="$(printf ':%04X' "${2:-0}")" '
		FNR == NR { ino[$1] = 1; next }
		FNR > 1 && ($10 in ino) && substr($2, length($2) - 4) != x { s += $NF }
		END { print s + 0 }' - /proc/net/udp /proc/net/udp6
}
# cpu_ticks PID: utime+stime of PID (all threads), in clock ticks.
cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || st=
	[ -n "$st" ] || {
		echo 0
		return 0
	}
	awk '{ print $12 + $13 }' <<<"${st##*) }"
}

# rss_kib PID: resident set size of PID in KiB (VmRSS), empty if unknown.
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# metrics FILE: the switch's /metrics into FILE. mval FILE NAME: sum of NAME's series.
metrics() { curl -fsS --max-time 5 "http://$HTTP/metrics" >"$1" 2>/dev/null || : >"$1"; }
mval() {
	awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF; f = 1 } END { if (f) printf "%.0f\n", s }' "$1"
}

# stat_col FILE COLUMN: COLUMN of the last line of a SIPp -trace_stat file.
stat_col() {
	[ -s "$1" ] || {
		echo 0
		return
	}
	awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { v = $k } END { print (k ? v + 0 : 0) }' "$1"
}
# SIPp screen dumps (-trace_screen -screen_file F): SIGUSR2 makes SIPp append its current
# screens to F, but through an unflushed stdio buffer; a dump is surely on disk once the
# header of the next one is. So dump_request/dump_wait signal each SIPp (a signal
# that arrives before the previous dump is done is merged with it) until F holds two new
# dumps, and the readers below take the first new one: DUMP_FROM[F] is its number.
screens() { grep -c 'Scenario Screen' "$1" 2>/dev/null || true; }
declare -A DUMP_FROM=() DUMP_BEFORE=()
# dump_request PID:FILE ...: first SIGUSR2 to every SIPp (the snapshot instant).
dump_request() {
	local spec file
	for spec in "$@"; do
		file=${spec#*:}
		DUMP_BEFORE[$file]=$(screens "$file")
		DUMP_FROM[$file]=$((DUMP_BEFORE[$file] + 1))
	done
	for spec in "$@"; do kill -USR2 "${spec%%:*}" 2>/dev/null || true; done
}
# dump_wait PID:FILE ...: more SIGUSR2 until each first new dump is surely on disk.
dump_wait() {
	local spec pid file round pending
	for ((round = 0; round < 60; round++)); do
		pending=0
		for spec in "$@"; do
			pid=${spec%%:*} file=${spec#*:}
			(($(screens "$file") >= DUMP_BEFORE[$file] + 2)) && continue
			kill -0 "$pid" 2>/dev/null || continue
			pending=1
			((round % 2)) || kill -USR2 "$pid" 2>/dev/null || true
		done
		((pending)) || break
		sleep 0.02
	done
}
# dump_value FILE REGEX: first field of the first line matching REGEX in the dumps of FILE
# from DUMP_FROM[FILE] on.
dump_value() {
	awk -v from="${DUMP_FROM[$1]:-1}" -v re="$2" '/Scenario Screen/ { b++ } b >= from && $0 ~ re { print $1 + 0; f = 1; exit } END { if (!f) print 0 }' "$1"
}
# dump_time FILE: when that dump was taken (SIPp's "Current Time", Unix seconds).
dump_time() {
	awk -v from="${DUMP_FROM[$1]:-1}" '/Scenario Screen/ { b++ } b >= from && /Current Time/ { print $NF; f = 1; exit } END { if (!f) print 0 }' "$1"
}
rtp_sent() { dump_value "$1" 'Total RTP pckts sent .*RTP OUT'; }
rtp_echoed() { dump_value "$1" 'Total echo RTP pckts 1st stream'; }
open_calls() { dump_value "$1" '^ +[0-9]+ calls'; }

# p99 and achieved call rate from SIPp -trace_rtt files (RTD "invite": INVITE sent -> 200 received).
rtt_stats() { # FILES... -> "count p50 p99 max achieved_cps"
	awk -F';' 'FNR > 1 && $3 == "invite" { n++; v[n] = $2; if (n == 1 || $1 < t0) t0 = $1; if ($1 > t1) t1 = $1 }
		END { print n + 0, t0 + 0, t1 + 0; for (i = 1; i <= n; i++) print v[i] }' "$@" |
		{
			read -r n t0 t1
			if [ "${n:-0}" -eq 0 ]; then
				echo "0 - - - 0"
				return
			fi
			sort -n | awk -v n="$n" -v t0="$t0" -v t1="$t1" '
				{ a[NR] = $1 }
				END {
					i50 = int(n * 0.50); if (i50 < n * 0.50) i50++; if (i50 < 1) i50 = 1
					i99 = int(n * 0.99); if (i99 < n * 0.99) i99++; if (i99 < 1) i99 = 1
					cps = (t1 > t0 && n > 1) ? (n - 1) * 1000 / (t1 - t0) : 0
					printf "%d %s %s %s %.1f\n", n, a[i50], a[i99], a[n], cps
				}'
		}
}

# ---------------------------------------------------------------------------------------
# the switch

SW_PID=
start_switch() { # LABEL
	local log="$OUT/switchboard-$1.log" i
	if [ ! -x bin/switchboard ]; then
		log "bin/switchboard missing: make build"
		make build >&2
	fi
	require_free "udp:${SWITCH_SIP##*:}" "tcp:${HTTP##*:}"
	log "starting bin/switchboard serve --config $CONFIG (log: $log)"
	bin/switchboard serve --config "$CONFIG" >"$log" 2>&1 &
	SW_PID=$!
	track "$SW_PID"
	for ((i = 0; i < 300; i++)); do
		curl -fsS --max-time 1 -o /dev/null "http://$HTTP/healthz" 2>/dev/null && break
		if ! kill -0 "$SW_PID" 2>/dev/null; then
			tail -n 30 "$log" >&2 || true
			die "switchboard exited while starting (log: $log)"
		fi
		sleep 0.1
	done
	((i < 300)) || die "switchboard did not answer http://$HTTP/healthz within 30 s (log: $log)"
	wait_bound udp "${SWITCH_SIP##*:}" "$SW_PID" || die "switchboard does not listen on udp $SWITCH_SIP"
	metrics "$OUT/metrics-probe.txt"
	# (switchboard_calls_total{result} has no series before the first call)
	for m in switchboard_rtp_packets_relayed_total switchboard_rtp_packets_received_total switchboard_active_calls; do
		grep -q "^$m" "$OUT/metrics-probe.txt" || log "warning: /metrics has no $m"
	done
}
stop_switch() {
	[ -n "$SW_PID" ] || return 0
	log "stopping switchboard (SIGTERM)"
	stop_pid "$SW_PID" 45
	SW_PID=
}
# wait_switch_idle: until switchboard_active_calls is 0 (at most 30 s).
wait_switch_idle() {
	local i v
	for ((i = 0; i < 60; i++)); do
		metrics "$OUT/metrics-idle.txt"
		v=$(mval "$OUT/metrics-idle.txt" switchboard_active_calls)
		[ -z "$v" ] && {
			sleep 2
			return
		}
		[ "$v" = 0 ] && return
		sleep 0.5
	done
	log "warning: switch still reports $v active calls"
}

# scripts/torture-flood.sh sources this file for the helpers above and stops here.
[ "${LOADTEST_SOURCE_ONLY:-0}" = 1 ] && return 0

# ---------------------------------------------------------------------------------------
# a/b. highest CPS held (signalling only: uac_signalling.xml -> [switch ->] uas_signalling.xml)

# cps_run MODE RATE SECONDS KIND: one run; appends a line to the probe log and sets
# RUN_OK (1 held / 0 not), RUN_FAILPCT, RUN_P99, RUN_ACH.
cps_run() {
	local mode=$1 rate=$2 secs=$3 kind=$4
	RUN_SEQ=$((${RUN_SEQ:-0} + 1))
	local n=$((rate * secs)) dir
	dir=$(printf '%s/cps-%02d-%s-%s-%ss' "$OUT" "$RUN_SEQ" "$mode" "$rate" "$secs")
	local target=127.0.0.1:$UAS_PORT
	[ "$mode" = switch ] && target=$SWITCH_SIP
	mkdir -p "$dir"
	require_free "udp:$UAS_PORT" "udp:$UAC_PORT" "udp:$UAC_MEDIA" "udp:$UAS_MEDIA"
	(cd "$dir" && exec sipp -sf "$SIPP_DIR/uas_signalling.xml" -i 127.0.0.1 -p "$UAS_PORT" \
		-mi 127.0.0.1 -mp "$UAS_MEDIA" -buff_size "$SIP_BUF" -timeout $((secs + HOLD_S + 120)) \
		-nostdin -trace_err -trace_screen -screen_file uas_screen.log >uas.out 2>&1) &
	local uas=$!
	track "$uas"
	wait_bound udp "$UAS_PORT" "$uas" || die "SIPp UAS did not start ($dir/uas.out)"
	log "$mode: $kind $rate CPS x ${secs}s ($n calls)"
	local rc=0 t0 t1
	t0=$(now)
	(cd "$dir" && exec sipp "$target" -sf "$SIPP_DIR/uac_signalling.xml" -s 1000 -i 127.0.0.1 \
		-p "$UAC_PORT" -mi 127.0.0.1 -mp "$UAC_MEDIA" -r "$rate" -m "$n" -l $((rate * (HOLD_S + 10))) \
		-d "$HOLD_MS" -recv_timeout 10000 -buff_size "$SIP_BUF" -timeout $((secs + HOLD_S + 60)) \
		-nostdin -trace_stat -stf uac_stat.csv -fd 1 -trace_rtt -rtt_freq 200 \
		-trace_err -trace_screen -screen_file uac_screen.log >uac.out 2>&1) &
	local uac=$!
	track "$uac"
	wait "$uac" || rc=$?
	t1=$(now)
	stop_pid "$uas" 5
	local created ok failed
	created=$(stat_col "$dir/uac_stat.csv" 'OutgoingCall(C)')
	ok=$(stat_col "$dir/uac_stat.csv" 'SuccessfulCall(C)')
	failed=$((n - ok)) # not created, failed or unfinished: all count as failed
	local st="0 - - - 0" rtts
	rtts=$(compgen -G "$dir/uac_signalling_*_rtt.csv" || true)
	[ -n "$rtts" ] && st=$(rtt_stats $rtts)
	read -r _ _ RUN_P99 _ RUN_ACH <<<"$st"
	RUN_FAILPCT=$(calc "100 * $failed / $n")
	RUN_OK=0
	if [ "$created" -ge "$n" ] && awk -v f="$RUN_FAILPCT" -v a="$RUN_ACH" -v r="$rate" -v p="$RUN_P99" -v m="$P99_MAX" \
		'BEGIN { exit !(f < 0.1 && a >= 0.97 * r && p ~ /^[0-9.]+$/ && (m == 0 || p + 0 <= m + 0)) }'; then
		RUN_OK=1
	fi
	local verdict=held
	[ "$RUN_OK" = 1 ] || verdict="NOT held"
	if [ "$RUN_OK" != 1 ] && [ "$P99_MAX" != 0 ] && awk -v p="$RUN_P99" -v m="$P99_MAX" 'BEGIN { exit !(p ~ /^[0-9.]+$/ && p + 0 > m + 0) }'; then
		verdict="NOT held: p99 > $P99_MAX ms"
	fi
	printf '| %s | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s |\n' "$mode" "$kind" "$rate" "$secs" \
		"$n" "$failed" "$(fmt %.3f "$RUN_FAILPCT")" "$(fmt %.0f "$RUN_ACH")" "${RUN_P99:--}" \
		"$(fmt %.0f "$(calc "$t1 - $t0")")" "$verdict (sipp rc $rc)" >>"$OUT/cps-runs.md"
	log "$mode: $rate CPS: $verdict; failed $failed/$n, achieved $(fmt %.0f "$RUN_ACH") CPS, p99 ${RUN_P99:--} ms"
	[ "$mode" = switch ] && wait_switch_idle
	return 0
}

# cps_search MODE: ramp (probes of PROBE s) + bisection + confirmation run of DURATION s.
# Sets CPS_MAX, CPS_FAILPCT, CPS_P99, CPS_NOTE.
cps_search() {
	local mode=$1 r last_ok=0 first_bad=0 step=50 i mid lowest= held=()
	[ "$QUICK" = 1 ] && step=10
	for r in $RATES; do
		[ -z "$lowest" ] && lowest=$r
		cps_run "$mode" "$r" "$PROBE" probe
		if [ "$RUN_OK" = 1 ]; then
			last_ok=$r
			held+=("$r")
		else
			first_bad=$r
			break
		fi
	done
	if [ "$last_ok" = 0 ]; then
		mid=$(((lowest / 2 + step - 1) / step * step))
		cps_run "$mode" "$mid" "$PROBE" probe
		[ "$RUN_OK" = 1 ] && last_ok=$mid && held+=("$mid")
	fi
	for ((i = 0; i < BISECT; i++)); do
		((last_ok > 0 && first_bad > 0 && first_bad - last_ok > step)) || break
		mid=$(((last_ok + first_bad) / 2 / step * step))
		((mid > last_ok)) || break
		cps_run "$mode" "$mid" "$PROBE" bisect
		if [ "$RUN_OK" = 1 ]; then
			last_ok=$mid
			held+=("$mid")
		else first_bad=$mid; fi
	done
	CPS_MAX=0 CPS_FAILPCT= CPS_P99= CPS_NOTE=
	if [ "$last_ok" = 0 ]; then
		CPS_NOTE="no rate held, not even $mid CPS"
		return 0
	fi
	cps_run "$mode" "$last_ok" "$DURATION" confirm
	local top_ok=$RUN_OK
	if [ "$RUN_OK" != 1 ]; then
		# one more confirmation: the highest probe that held below it, else 80 % of it
		local retry=0
		for r in "${held[@]}"; do ((r < last_ok && r > retry)) && retry=$r; done
		((retry > 0)) || retry=$((last_ok * 8 / 10 / step * step))
		((retry >= step)) || retry=$step
		cps_run "$mode" "$retry" "$DURATION" confirm
		last_ok=$retry
	fi
	CPS_FAILPCT=$RUN_FAILPCT CPS_P99=$RUN_P99
	if [ "$RUN_OK" = 1 ]; then
		CPS_MAX=$last_ok
		if [ "$first_bad" = 0 ] && [ "$top_ok" = 1 ]; then
			CPS_NOTE="every rate of the ladder held: the limit is above $last_ok"
		elif [ "$top_ok" != 1 ]; then
			CPS_NOTE="the best probe was not held for ${DURATION}s; $last_ok was"
		fi
	else
		CPS_NOTE="no rate was held for ${DURATION}s (the last tried: $last_ok CPS)"
	fi
	return 0
}

# ---------------------------------------------------------------------------------------
# c/d. concurrent calls with RTP: LOADTEST_CALLS calls, 50 packets/s each way

# rtp_run switch|relay|transcode [TAG]: sets RTP_<mode>_* variables (see the end of the
# function). transcode: the switch with the Opus far end (uas_opus_echo.xml); artefacts
# in $OUT/rtp-TAG (default: the mode).
rtp_run() {
	local mode=$1
	local dir="$OUT/rtp-${2:-$mode}"
	mkdir -p "$dir"
	ln -sf "$SIPP_DIR/tone_1000hz.pcmu" "$dir/tone_1000hz.pcmu"
	local ramp_s=$(((CALLS + RTP_CPS - 1) / RTP_CPS)) settle=3
	local win_start=$((ramp_s + settle))
	local win_end=$((win_start + DURATION))
	local hold_ms=$(((win_end + 3) * 1000))
	local bound=$((win_end + 120))
	local i ports=("udp:$UAS_PORT" "udp:$UAS_MEDIA")
	for ((i = 0; i < UACS; i++)); do ports+=("udp:$((UAC_PORT + i))" "udp:$((UAC_MEDIA + 4 * i))"); done
	require_free "${ports[@]}"

	local relay_pid= relay_hi=$((RELAY_BASE + 4 * CALLS - 1))
	if [ "$mode" = relay ]; then
		log "relay: building cmd/udprelay into $OUT/udprelay"
		go build -o "$OUT/udprelay" ./cmd/udprelay
		"$OUT/udprelay" -ip 127.0.0.1 -ports "$RELAY_BASE-$relay_hi" >"$dir/udprelay.out" 2>"$dir/udprelay.err" &
		relay_pid=$!
		track "$relay_pid"
		wait_bound udp "$RELAY_BASE" "$relay_pid" || die "udprelay did not start ($dir/udprelay.err)"
		sleep 0.5 # all pairs bound
		kill -0 "$relay_pid" 2>/dev/null || die "udprelay exited ($dir/udprelay.err)"
	fi

	local uas_scn=uas_echo.xml uas_extra=(-rtp_echo) uac_scn=uac.xml target=$SWITCH_SIP
	if [ "$mode" = relay ]; then
		uas_scn=uas_relay.xml uas_extra=() uac_scn=uac_relay.xml target=127.0.0.1:$UAS_PORT
	fi
	[ "$mode" = transcode ] && uas_scn=uas_opus_echo.xml
	(cd "$dir" && exec sipp -sf "$SIPP_DIR/$uas_scn" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 \
		-mp "$UAS_MEDIA" "${uas_extra[@]}" -m "$CALLS" -rtp_threadtasks "$CALLS" -buff_size "$SIP_BUF" \
		-timeout "$bound" -nostdin -trace_err -trace_stat -stf uas_stat.csv -fd 5 \
		-trace_screen -screen_file uas_screen.log >uas.out 2>&1) &
	local uas=$!
	track "$uas"
	wait_bound udp "$UAS_PORT" "$uas" || die "SIPp UAS did not start ($dir/uas.out)"

	log "$mode: $CALLS calls with RTP from $UACS SIPp UACs, ramp ${ramp_s}s at $RTP_CPS CPS, window ${DURATION}s"
	local t0 uacs=() specs=() offset=0 n
	t0=$(now)
	for ((i = 0; i < UACS; i++)); do
		n=$((CALLS / UACS + (i < CALLS % UACS ? 1 : 0)))
		local extra=()
		[ "$mode" = relay ] && extra=(-key relay_base $((RELAY_BASE + 4 * offset)))
		(cd "$dir" && exec sipp "$target" -sf "$SIPP_DIR/$uac_scn" "${extra[@]}" -s 1000 -i 127.0.0.1 \
			-p $((UAC_PORT + i)) -mi 127.0.0.1 -mp $((UAC_MEDIA + 4 * i)) -r "$RTP_CPS" -rp $((1000 * UACS)) \
			-m "$n" -l "$n" -d "$hold_ms" -rtp_threadtasks "$n" -recv_timeout 30000 -buff_size "$SIP_BUF" \
			-timeout "$bound" -nostdin -trace_err -trace_stat -stf "uac${i}_stat.csv" -fd 5 \
			-trace_screen -screen_file "uac${i}_screen.log" >"uac$i.out" 2>&1) &
		uacs+=($!)
		track "$!"
		specs+=("$!:$dir/uac${i}_screen.log")
		offset=$((offset + n))
		sleep 0.003 # different 20 ms phases: SIPp sends every call's packet at the same instant
	done
	specs+=("$uas:$dir/uas_screen.log")
	local watched=$SW_PID
	[ "$mode" = relay ] && watched=$relay_pid

	# snapshot X: SIPp counters (SIGUSR2 screen dumps, each with its own timestamp), the
	# switch's /metrics, CPU ticks and socket drops of the switch (or relay), with times.
	local -A S
	snapshot() {
		local x=$1 j sipp_cpu=0 p
		S[t$x]=$(now)
		dump_request "${specs[@]}"
		if [ "$mode" != relay ]; then
			metrics "$dir/metrics-$x.txt"
			S[tm$x]=$(now) # the switch renders /metrics just before curl returns

		fi
		S[cpu$x]=$(cpu_ticks "$watched")
		S[tc$x]=$(now)
		for p in "${uacs[@]}" "$uas"; do sipp_cpu=$((sipp_cpu + $(cpu_ticks "$p"))); done
		S[sippcpu$x]=$sipp_cpu
		S[fardrops$x]=$(udp_drops "$UAS_MEDIA")
		S[kdrops$x]=$(pid_udp_drops "$watched" "${SWITCH_SIP##*:}")
		dump_wait "${specs[@]}"
		S[calls$x]=0
		for ((j = 0; j < UACS; j++)); do
			S[sent$j$x]=$(rtp_sent "$dir/uac${j}_screen.log")
			S[tau$j$x]=$(dump_time "$dir/uac${j}_screen.log")
			S[calls$x]=$((S[calls$x] + $(open_calls "$dir/uac${j}_screen.log")))
		done
		if [ "$mode" != relay ]; then
			S[far$x]=$(rtp_echoed "$dir/uas_screen.log")
			S[relayed$x]=$(mval "$dir/metrics-$x.txt" switchboard_rtp_packets_relayed_total)
			S[received$x]=$(mval "$dir/metrics-$x.txt" switchboard_rtp_packets_received_total)
			S[active$x]=$(mval "$dir/metrics-$x.txt" switchboard_active_calls)
			S[transcoded$x]=$(mval "$dir/metrics-$x.txt" switchboard_rtp_packets_transcoded_total)
			S[concealed$x]=$(mval "$dir/metrics-$x.txt" switchboard_frames_concealed_total)
			S[rss$x]=$(rss_kib "$watched")
		else
			S[far$x]=$(rtp_sent "$dir/uas_screen.log")
		fi
		S[taufar$x]=$(dump_time "$dir/uas_screen.log")
	}
	# scaled DELTA TAU_A TAU_B T_A T_B: a SIPp count delta over its dump window, scaled to
	# the window [T_A, T_B] of another measurement (the rates are steady in the window).
	scaled() { awk -v d="$1" -v a="$2" -v b="$3" -v A="$4" -v B="$5" 'BEGIN { printf "%.0f\n", (b > a) ? d * (B - A) / (b - a) : d }'; }
	nap "$(calc "$t0 + $win_start - $(now)")"
	for p in "${uacs[@]}"; do kill -0 "$p" 2>/dev/null || die "a SIPp UAC exited during the ramp-up (see $dir/uac*.out, *_errors.log)"; done
	snapshot A
	log "$mode: window start: ${S[callsA]} calls up (SIPp), switch active calls ${S[activeA]:-n/a}"
	nap "$(calc "$t0 + $win_end - $(now)")"
	snapshot B
	log "$mode: window end: ${S[callsB]} calls up; waiting for the calls to end"

	local rc=0 p
	for p in "${uacs[@]}"; do wait "$p" || rc=$?; done
	for ((i = 0; i < 200; i++)); do
		kill -0 "$uas" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$uas" 5

	local created=0 ok=0 j
	for ((j = 0; j < UACS; j++)); do
		created=$((created + $(stat_col "$dir/uac${j}_stat.csv" 'OutgoingCall(C)')))
		ok=$((ok + $(stat_col "$dir/uac${j}_stat.csv" 'SuccessfulCall(C)')))
	done
	local failed=$((CALLS - ok))
	# Window of the CPU (and, for the switch, /metrics) readings; SIPp's counts scaled to it.
	local dt dS=0 dF dCPU ta=tcA tb=tcB
	[ "$mode" != relay ] && ta=tmA tb=tmB
	dt=$(calc "${S[$tb]} - ${S[$ta]}")
	for ((j = 0; j < UACS; j++)); do
		dS=$((dS + $(scaled $((S[sent${j}B] - S[sent${j}A])) "${S[tau${j}A]}" "${S[tau${j}B]}" "${S[$ta]}" "${S[$tb]}")))
	done
	dF=$(scaled $((S[farB] - S[farA])) "${S[taufarA]}" "${S[taufarB]}" "${S[$ta]}" "${S[$tb]}")
	dCPU=$((S[cpuB] - S[cpuA]))
	local p=RTP_${mode}_
	printf -v "${p}CALLS" '%s' "$(((S[callsA] < S[callsB]) ? S[callsA] : S[callsB]))"
	printf -v "${p}FAILED" '%s' "$failed"
	printf -v "${p}FAILPCT" '%s' "$(calc "100 * $failed / $CALLS")"
	printf -v "${p}CPUPCT" '%s' "$(calc "100 * $dCPU / $CLK_TCK / $dt")"
	printf -v "${p}SIPPCPUPCT" '%s' "$(calc "100 * (${S[sippcpuB]} - ${S[sippcpuA]}) / $CLK_TCK / $dt")"
	printf -v "${p}FARDROPS" '%s' "$((S[fardropsB] - S[fardropsA]))"
	{
		echo "### ${2:-$mode}: raw window figures"
		echo
		echo "window ${dt}s; SIPp UACs sent $dS RTP packets; far end $([ "$mode" != relay ] && echo echoed || echo sent) $dF;" \
			"far-end socket kernel drops $((S[fardropsB] - S[fardropsA]))$([ "$mode" = relay ] && echo ' (expected: nobody reads RTP there in this mode)'); CPU ticks $dCPU (CLK_TCK $CLK_TCK);" \
			"calls up $(((S[callsA] < S[callsB]) ? S[callsA] : S[callsB])); sipp rc $rc; created $created, successful $ok"
	} >>"$OUT/rtp-details.md"

	local dK=$((S[kdropsB] - S[kdropsA]))
	if [ "$mode" = switch ]; then
		local dR dRcv
		dR=$((S[relayedB] - S[relayedA]))
		dRcv=$((S[receivedB] - S[receivedA]))
		# The switch's view, exact (one /metrics scrape and one /proc read per end):
		# what reached its media sockets and was not sent on.
		RTP_switch_LOSSPCT=$(calc "100 * (1 - $dR / ($dRcv + $dK))")
		RTP_switch_KDROPS=$dK
		# SIPp's view: what both SIPp ends sent vs. what the switch relayed. Exact but for
		# the few ms between SIPp's dump and the /metrics scrape at each end of the window.
		RTP_switch_SIPPLOSSPCT=$(calc "100 * (1 - $dR / ($dS + $dF))")
		RTP_switch_RESPCT=$(calc "100 * 0.005 / $dt")
		RTP_switch_FWDPCT=$(calc "100 * (1 - $dF / $dS)")
		RTP_switch_USPKT=$(awk -v c="$dCPU" -v k="$CLK_TCK" -v r="$dR" 'BEGIN { if (r > 0) printf "%.3f\n", c * 1e6 / k / r }')
		RTP_switch_ACTIVE=${S[activeB]:-}
		rtp_details "$dir" '^switchboard_(rtp|rtcp)_' \
			"switch: relayed $dR, received $dRcv (switchboard_rtp_packets_* deltas), kernel drops on its media sockets $dK:" \
			"loss $(fmt %.4f "$RTP_switch_LOSSPCT") %. SIPp ends sent $((dS + dF)): loss by SIPp's count $(fmt %.4f "$RTP_switch_SIPPLOSSPCT") %" \
			"(± $(fmt %.3f "$RTP_switch_RESPCT") % for ±5 ms of timing error); caller->far end (SIPp only, same skew) $(fmt %.4f "$RTP_switch_FWDPCT") %;" \
			"CPU us/packet $(fmt %.3f "$RTP_switch_USPKT")"
	elif [ "$mode" = transcode ]; then
		# A transcoder sends one packet per direction every 20 ms once its jitter buffer
		# plays out: from a received packet, or concealed (PLC/FEC) when none is there in
		# time. What came in and did not go out as its own frame is the loss.
		local dT dC dRcv
		dT=$((S[transcodedB] - S[transcodedA]))
		dC=$((S[concealedB] - S[concealedA]))
		dRcv=$((S[receivedB] - S[receivedA]))
		RTP_transcode_TRANSCODED=$dT RTP_transcode_CONCEALED=$dC RTP_transcode_RECEIVED=$dRcv RTP_transcode_KDROPS=$dK
		RTP_transcode_RELAYED=$((S[relayedB] - S[relayedA]))
		RTP_transcode_LOSSPCT=$(calc "100 * (1 - ($dT - $dC) / ($dRcv + $dK))")
		RTP_transcode_CONCPCT=$(calc "100 * $dC / $dT")
		RTP_transcode_SIPPLOSSPCT=$(calc "100 * (1 - ($dT - $dC) / ($dS + $dF))")
		RTP_transcode_FWDPCT=$(calc "100 * (1 - $dF / $dS)")
		# packets out vs. 50/s each way for every call up: < 100 % when transcoders fall behind
		RTP_transcode_PACEPCT=$(calc "100 * $dT / (100 * ${S[callsB]} * $dt)")
		RTP_transcode_USPKT=$(awk -v c="$dCPU" -v k="$CLK_TCK" -v r="$dT" 'BEGIN { if (r > 0) printf "%.3f\n", c * 1e6 / k / r }')
		# one transcoded call-second = 100 transcoded packets (50 each way)
		RTP_transcode_USCALLS=$(awk -v c="$dCPU" -v k="$CLK_TCK" -v r="$dT" 'BEGIN { if (r > 0) printf "%.1f\n", c * 1e6 / k / (r / 100) }')
		RTP_transcode_RSSA=${S[rssA]} RTP_transcode_RSSB=${S[rssB]}
		RTP_transcode_ACTIVE=${S[activeB]:-}
		rtp_details "$dir" '^switchboard_(rtp|rtcp|frames|calls)_' \
			"transcode: transcoded $dT, concealed $dC, received $dRcv, relayed $RTP_transcode_RELAYED (switchboard_* deltas)," \
			"kernel drops on its media sockets $dK: loss 1 - (transcoded - concealed) / (received + drops) = $(fmt %.4f "$RTP_transcode_LOSSPCT") %;" \
			"SIPp ends sent $((dS + dF)): loss by SIPp's count $(fmt %.4f "$RTP_transcode_SIPPLOSSPCT") %; caller->far end (SIPp only)" \
			"$(fmt %.4f "$RTP_transcode_FWDPCT") %; output pace $(fmt %.3f "$RTP_transcode_PACEPCT") % of 100 packets/s per call;" \
			"CPU us/transcoded packet $(fmt %.3f "$RTP_transcode_USPKT"); RSS ${S[rssA]} -> ${S[rssB]} KiB"
	else
		local cpu_end kdrops
		cpu_end=$(cpu_ticks "$relay_pid")
		kdrops=$(pid_udp_drops "$relay_pid")
		stop_pid "$relay_pid" 5
		local relayed dropped
		read -r _ relayed _ dropped <"$dir/udprelay.out" || true
		relayed=${relayed:-0} dropped=${dropped:-0}
		RTP_relay_KDROPS=$kdrops
		# whole run, from the relay's own counters (printed at exit) and its sockets' drops
		RTP_relay_LOSSPCT=$(calc "100 * ($dropped + $kdrops) / ($relayed + $dropped + $kdrops)")
		# window: the relay sends on what both SIPp ends send (its own count only exists at exit)
		RTP_relay_USPKT=$(awk -v c="$dCPU" -v k="$CLK_TCK" -v r="$((dS + dF))" 'BEGIN { if (r > 0) printf "%.3f\n", c * 1e6 / k / r }')
		RTP_relay_RUNUSPKT=$(awk -v c="$cpu_end" -v k="$CLK_TCK" -v r="$relayed" 'BEGIN { if (r > 0) printf "%.3f\n", c * 1e6 / k / r }')
		{
			echo "relay: whole run relayed $relayed, dropped $dropped (a packet that arrives before the other side has latched, about one per call at its start, or a write error)," \
				"kernel drops on its sockets $kdrops (window: $dK); CPU us/packet window $(fmt %.3f "$RTP_relay_USPKT"), whole run $(fmt %.3f "$RTP_relay_RUNUSPKT")"
			echo
		} >>"$OUT/rtp-details.md"
	fi
	log "$mode: done"
}

# ---------------------------------------------------------------------------------------
# e. transcoding: PCMU callers (uac.xml) -> switch -> Opus far end (uas_opus_echo.xml,
#    -rtp_echo), a ladder of concurrent calls per Opus complexity, with raw libopus as
#    the baseline (cmd/opusbaseline)

# kv FILE KIND COMPLEXITY KEY: KEY=value from the opusbaseline line "KIND complexity=C ...".
kv() {
	awk -v k="$2" -v c="complexity=$3" -v key="$4" '$1 == k && $2 == c { for (i = 3; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit } }' "$1" 2>/dev/null || true
}

declare -A TC_BEST=() TC_BEST_LOSS=() TC_BEST_USPKT=() TC_BEST_CPU=() TC_BEST_RATIO=() TC_BEST_FAILPCT=() TC_STOPPED=()
declare -A TC_RAW_FRAME=() TC_RAW_CPU=() TC_RAW_N=() TC_LOOP_CS=()
TC_RAN=
transcode_phase() {
	local ob="$OUT/opusbaseline" c n tag idle errs held ratio raw_cs raw_file kib saved_config=$CONFIG
	log "transcode: building cmd/opusbaseline into $ob"
	go build -o "$ob" ./cmd/opusbaseline
	log "transcode: raw libopus baseline, complexity $(echo $TC_COMPLEXITY | tr ' ' ,): ${OB_LOOP}s encode/decode loop each"
	"$ob" -tone "$SIPP_DIR/tone_1000hz.pcmu" -complexity "$(echo $TC_COMPLEXITY | tr ' ' ,)" -loop "$OB_LOOP" -calls 0 \
		>"$OUT/opusbaseline.txt" 2>&1 || die "cmd/opusbaseline failed ($OUT/opusbaseline.txt)"
	sed 's/^/  /' "$OUT/opusbaseline.txt" >&2
	: >"$OUT/transcode-rows.md"
	CONFIG=$TC_CONFIG
	TC_RAN=1
	for c in $TC_COMPLEXITY; do
		export LOADTEST_OPUS_COMPLEXITY=$c # read by loadtest-transcode.yaml
		TC_BEST[$c]=0
		TC_LOOP_CS[$c]=$(calc "50 * ($(kv "$OUT/opusbaseline.txt" loop "$c" encode_us) + $(kv "$OUT/opusbaseline.txt" loop "$c" decode_us))")
		for n in $TC_CALLS; do
			tag=transcode-c$c-$n
			# baseline for this level: n paced goroutines, each one call's libopus work
			raw_file="$OUT/opusbaseline-c$c-$n.txt"
			"$ob" -tone "$SIPP_DIR/tone_1000hz.pcmu" -complexity "$c" -loop 0 -calls "$n" -seconds "$OB_SECS" \
				>"$raw_file" 2>&1 || die "cmd/opusbaseline failed ($raw_file)"
			sed 's/^/  /' "$raw_file" >&2
			raw_cs=$(kv "$raw_file" paced "$c" us_per_call_second)
			start_switch "$tag"
			nap 1
			idle=$(rss_kib "$SW_PID")
			CALLS=$n DURATION=$TC_WINDOW rtp_run transcode "$tag"
			wait_switch_idle
			stop_switch
			# everything the switch logged (warn level and above in the config), startup included
			errs=$(grep -c . "$OUT/switchboard-$tag.log" 2>/dev/null || true)
			kib=$(calc "(${RTP_transcode_RSSB:-0} - ${idle:-0}) / $n")
			ratio=$(calc "$RTP_transcode_USCALLS / $raw_cs")
			held=$(awk -v l="$RTP_transcode_LOSSPCT" -v f="$RTP_transcode_FAILED" -v up="$RTP_transcode_CALLS" -v n="$n" \
				'BEGIN { print (l != "" && l < 0.1 && f == 0 && up >= n) ? "yes" : "no" }')
			echo "| $c | $n | $RTP_transcode_CALLS | $RTP_transcode_FAILED | $(fmt %.4f "$RTP_transcode_LOSSPCT") | $(fmt %.4f "$RTP_transcode_SIPPLOSSPCT") | $(fmt %.3f "$RTP_transcode_CONCPCT") | $(fmt %.3f "$RTP_transcode_FWDPCT") ($RTP_transcode_FARDROPS) | $(fmt %.2f "$RTP_transcode_PACEPCT") | $(fmt %.0f "$RTP_transcode_CPUPCT") | $(fmt %.0f "$RTP_transcode_SIPPCPUPCT") | $(fmt %.2f "$RTP_transcode_USPKT") | $(fmt %.0f "$RTP_transcode_USCALLS") | $(fmt %.0f "$raw_cs") | $(fmt '%.2f×' "$ratio") | $(fmt %.1f "$(calc "${idle:-0} / 1024")") | $(fmt %.1f "$(calc "${RTP_transcode_RSSB:-0} / 1024")") | $(fmt %.0f "$kib") | $errs | $held |" >>"$OUT/transcode-rows.md"
			log "transcode: complexity $c, $n calls: loss $(fmt %.4f "$RTP_transcode_LOSSPCT") %, CPU $(fmt %.0f "$RTP_transcode_CPUPCT") %, $(fmt %.2f "$RTP_transcode_USPKT") us/transcoded packet, $(fmt %.0f "$kib") KiB/call, held: $held"
			if [ "$errs" != 0 ]; then
				log "transcode: the switch logged $errs lines ($OUT/switchboard-$tag.log), most frequent:"
				sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+Z-]+//g; s/"time":"[^"]*",?//' "$OUT/switchboard-$tag.log" | cut -c1-200 | sort | uniq -c | sort -rn | head -3 >&2 || true
			fi
			if [ "$held" = yes ]; then
				if ((n > TC_BEST[$c])); then
					TC_BEST[$c]=$n TC_BEST_LOSS[$c]=$RTP_transcode_LOSSPCT TC_BEST_USPKT[$c]=$RTP_transcode_USPKT
					TC_BEST_CPU[$c]=$RTP_transcode_CPUPCT TC_BEST_RATIO[$c]=$ratio TC_BEST_FAILPCT[$c]=$RTP_transcode_FAILPCT
					TC_RAW_FRAME[$c]=$(kv "$raw_file" paced "$c" us_per_codec_frame) TC_RAW_CPU[$c]=$(kv "$raw_file" paced "$c" cpu_pct) TC_RAW_N[$c]=$n
				fi
			elif [ "$TC_ALL" != 1 ]; then
				TC_STOPPED[$c]=$n
				log "transcode: complexity $c: $n calls not held; not climbing further (LOADTEST_TRANSCODE_ALL=1 climbs anyway)"
				break
			fi
		done
	done
	unset LOADTEST_OPUS_COMPLEXITY
	CONFIG=$saved_config
}

# ---------------------------------------------------------------------------------------
# f. queue: SIPp callers -> queue -> agentsim WebRTC agents (scripts/loadtest-queue.sh)

# shellcheck source=scripts/loadtest-queue.sh
source "$ROOT/scripts/loadtest-queue.sh"

# ---------------------------------------------------------------------------------------
# results

print_results() {
	local f="$OUT/results.md"
	local ratio_cps= ratio_cpu= t_cps="≥500 CPS" t_rtp="≥1000 calls, <0.1 % loss" t_cpu="≤1.5× bare relay"
	local met_cps=- met_rtp=- met_cpu=-
	if [ -n "${BASE_CPS:-}" ] && [ -n "${SW_CPS:-}" ] && [ "${BASE_CPS:-0}" != 0 ]; then
		ratio_cps=$(calc "$SW_CPS / $BASE_CPS")
	fi
	if [ -n "${RTP_switch_USPKT:-}" ] && [ -n "${RTP_relay_USPKT:-}" ]; then
		ratio_cpu=$(calc "$RTP_switch_USPKT / $RTP_relay_USPKT")
	fi
	[ -n "${SW_CPS:-}" ] && met_cps=$(awk -v v="$SW_CPS" 'BEGIN { print (v >= 500) ? "met" : "NOT met" }')
	if [ -n "${RTP_switch_LOSSPCT:-}" ]; then
		met_rtp=$(awk -v c="${RTP_switch_CALLS:-0}" -v l="$RTP_switch_LOSSPCT" -v f="${RTP_switch_FAILED:-1}" \
			'BEGIN { print (c >= 1000 && l < 0.1 && f == 0) ? "met" : "NOT met" }')
		[ "$CALLS" -lt 1000 ] && met_rtp="$met_rtp (only $CALLS calls run)"
	fi
	[ -n "$ratio_cpu" ] && met_cpu=$(awk -v r="$ratio_cpu" 'BEGIN { print (r <= 1.5) ? "met" : "NOT met" }')
	local t_tc="≥200 transcoded calls at complexity 5, <0.1 % loss" met_tc=-
	if [ -n "$TC_RAN" ] && [ -n "${TC_BEST[5]+x}" ]; then
		met_tc=$( ((TC_BEST[5] >= 200)) && echo met || echo "NOT met")
		local top=0 x
		for x in $TC_CALLS; do ((x > top)) && top=$x; done
		((top < 200)) && met_tc="$met_tc (the ladder stops at $top)"
	fi
	{
		echo "## Switchboard load test — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo
		echo "$NPROC CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), all traffic on 127.0.0.1;" \
			"load average at start: $LOADAVG. Mode: $([ "$QUICK" = 1 ] && echo 'QUICK (smoke figures, not for comparison)' || echo full);" \
			"CPS window ${DURATION}s, probes ${PROBE}s, call length ${HOLD_MS} ms; a rate is held when < 0.1 % of its calls fail" \
			"and p99 INVITE→200 ≤ ${P99_MAX} ms (0 = no limit); RTP: $CALLS calls, 50 packets/s each way, window ${DURATION}s."
		echo
		echo "| measurement | max CPS held | failed % | p99 INVITE→200 ms | concurrent calls | RTP loss % | CPU µs/packet | CPU % (100 = 1 core) | ratio vs baseline | target |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		if [ -n "${BASE_CPS+x}" ]; then
			echo "| baseline: SIPp UAC → SIPp UAS, direct | $BASE_CPS | $(fmt %.3f "$BASE_FAILPCT") | ${BASE_P99:-n/a} | – | – | – | – | 1 (CPS baseline) | – |"
		fi
		if [ -n "${SW_CPS+x}" ]; then
			echo "| switch, signalling only | $SW_CPS | $(fmt %.3f "$SW_FAILPCT") | ${SW_P99:-n/a} | – | – | – | – | $(fmt '%.2f× CPS' "$ratio_cps") | $t_cps: $met_cps |"
		fi
		if [ -n "${RTP_switch_LOSSPCT+x}" ]; then
			echo "| switch with RTP (far end -rtp_echo) | – | $(fmt %.3f "$RTP_switch_FAILPCT") | – | ${RTP_switch_CALLS} | $(fmt %.4f "$RTP_switch_LOSSPCT") | $(fmt %.2f "$RTP_switch_USPKT") | $(fmt %.0f "$RTP_switch_CPUPCT") | $(fmt '%.2f× µs/packet' "$ratio_cpu") | $t_rtp: $met_rtp; $t_cpu: $met_cpu |"
		fi
		if [ -n "${RTP_relay_LOSSPCT+x}" ]; then
			echo "| bare Go UDP relay (cmd/udprelay) | – | $(fmt %.3f "$RTP_relay_FAILPCT") | – | ${RTP_relay_CALLS} | $(fmt %.4f "$RTP_relay_LOSSPCT") | $(fmt %.2f "$RTP_relay_USPKT") | $(fmt %.0f "$RTP_relay_CPUPCT") | 1 (CPU baseline) | – |"
		fi
		if [ -n "$TC_RAN" ]; then
			local c
			for c in $TC_COMPLEXITY; do
				[ -n "${TC_BEST[$c]+x}" ] || continue
				if [ "${TC_BEST[$c]}" -gt 0 ]; then
					echo "| switch transcoding PCMU↔Opus, complexity $c (highest level held) | – | $(fmt %.3f "${TC_BEST_FAILPCT[$c]}") | – | ${TC_BEST[$c]} | $(fmt %.4f "${TC_BEST_LOSS[$c]}") | $(fmt %.2f "${TC_BEST_USPKT[$c]}") | $(fmt %.0f "${TC_BEST_CPU[$c]}") | $(fmt '%.2f× µs/call-second' "${TC_BEST_RATIO[$c]}") | $([ "$c" = 5 ] && echo "$t_tc: $met_tc" || echo –) |"
				else
					echo "| switch transcoding PCMU↔Opus, complexity $c | – | – | – | none held (lowest level ${TC_CALLS%% *}) | – | – | – | – | $([ "$c" = 5 ] && echo "$t_tc: $met_tc" || echo –) |"
				fi
				[ -n "${TC_RAW_N[$c]:-}" ] &&
					echo "| raw libopus encode+decode, complexity $c (cmd/opusbaseline, ${TC_RAW_N[$c]} paced calls) | – | – | – | – | – | $(fmt %.2f "${TC_RAW_FRAME[$c]}") | $(fmt %.0f "${TC_RAW_CPU[$c]}") | 1 (CPU baseline) | – |"
			done
		fi
		[ -n "$Q_RAN" ] && queue_main_row
		echo
		[ -n "${BASE_NOTE:-}" ] && echo "- baseline: $BASE_NOTE"
		[ -n "${SW_NOTE:-}" ] && echo "- switch: $SW_NOTE"
		if [ -n "${RTP_switch_LOSSPCT+x}" ]; then
			echo "- switch with RTP: loss = 1 − relayed ÷ (received + kernel drops on the switch's media sockets), over the window, from" \
				"switchboard_rtp_packets_relayed_total/received_total and /proc/net/udp. Cross-check against what SIPp sent" \
				"(UACs + far-end echo, scaled to the /metrics window by the dumps' timestamps): $(fmt %.4f "$RTP_switch_SIPPLOSSPCT") % (± $(fmt %.3f "$RTP_switch_RESPCT") % for ±5 ms of timing error)." \
				"Caller→far-end loss by SIPp's counters alone: $(fmt %.3f "$RTP_switch_FWDPCT") %, of which ${RTP_switch_FARDROPS} packets are kernel drops" \
				"on the far-end SIPp's single echo socket (a limit of the tool, not the switch)." \
				"SIPp processes used $(fmt %.0f "$RTP_switch_SIPPCPUPCT") % CPU; switchboard_active_calls: ${RTP_switch_ACTIVE:-n/a}."
		fi
		if [ -n "${RTP_relay_LOSSPCT+x}" ]; then
			echo "- bare relay: CPU µs/packet over the window from the packets both SIPp ends sent; whole run from the relay's own count: $(fmt %.2f "$RTP_relay_RUNUSPKT")." \
				"SIPp processes used $(fmt %.0f "$RTP_relay_SIPPCPUPCT") % CPU."
		fi
		if [ -n "$TC_RAN" ]; then
			echo "- transcoding: every call runs two Opus codecs in the switch (encode caller→far end, decode the far end's echo) and two G.711 ones;" \
				"a level is held with < 0.1 % loss, no failed call and every call up. Loss = 1 − (transcoded − concealed) ÷ (received + kernel drops)," \
				"over a ${TC_WINDOW}s window. CPU µs/packet = switch CPU ÷ switchboard_rtp_packets_transcoded_total (one packet = one decode + one encode);" \
				"for the raw libopus row it is µs per codec operation (encode or decode of one 20 ms frame). Ratio = switch CPU per transcoded" \
				"call-second (100 transcoded packets) ÷ raw libopus CPU per call-second (50 encodes + 50 decodes) with as many goroutines as calls," \
				"each paced every 20 ms like the switch's transcoder (cmd/opusbaseline, run just before the level with nothing else running)."
			for c in $TC_COMPLEXITY; do
				[ -n "${TC_LOOP_CS[$c]+x}" ] || continue
				echo "- raw libopus, complexity $c, back to back in one goroutine: encode $(kv "$OUT/opusbaseline.txt" loop "$c" encode_us) µs + decode" \
					"$(kv "$OUT/opusbaseline.txt" loop "$c" decode_us) µs per 20 ms frame = $(fmt %.0f "${TC_LOOP_CS[$c]}") µs per call-second$([ -n "${TC_STOPPED[$c]:-}" ] && echo "; ladder stopped at ${TC_STOPPED[$c]} calls (not held)")."
			done
		fi
		[ -n "$Q_RAN" ] && queue_notes
		echo "- p99 INVITE→200 comes from SIPp's -trace_rtt, whose clock is CLOCK_MONOTONIC_COARSE: values are multiples of the kernel tick (4 ms at HZ=250)."
		echo
		if [ -s "$OUT/cps-runs.md" ]; then
			echo "### CPS runs"
			echo
			echo "| mode | kind | CPS | s | calls | failed | failed % | achieved CPS | p99 ms | wall s | verdict |"
			echo "|---|---|---|---|---|---|---|---|---|---|---|"
			cat "$OUT/cps-runs.md"
			echo
		fi
		if [ -s "$OUT/transcode-rows.md" ]; then
			echo "### Transcoding ladder (PCMU caller → switch → Opus far end echoing)"
			echo
			echo "| complexity | calls | calls up | failed | loss % | loss % (SIPp count) | concealed % | caller→far end % (far-end socket drops) | output pace % | CPU % | SIPp CPU % | CPU µs/transcoded packet | CPU µs/call-second | raw libopus µs/call-second | ratio vs raw libopus | RSS idle MiB | RSS MiB | KiB/call | switch log lines | held |"
			echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
			cat "$OUT/transcode-rows.md"
			echo
		fi
		[ -n "$Q_RAN" ] && queue_section
		[ -s "$OUT/rtp-details.md" ] && cat "$OUT/rtp-details.md"
	} >"$f"
	cat "$f"
	RESULTS_PRINTED=1
	MISSED=0
	local met_q=-
	[ -n "$Q_RAN" ] && met_q=$(queue_met)
	for m in "$met_cps" "$met_rtp" "$met_cpu" "$met_tc" "$met_q"; do [[ "$m" == "NOT met"* ]] && MISSED=1; done
	return 0
}

# ---------------------------------------------------------------------------------------
# main

command -v sipp >/dev/null || die "sipp not found (Debian package sip-tester; make deps)"
command -v curl >/dev/null || die "curl not found"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_fds=$((4 * CALLS + 1024))
(($(ulimit -n) >= need_fds)) || log "warning: ulimit -n is $(ulimit -n); the switch needs about $need_fds descriptors for $CALLS calls"
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/cps-runs.md"
: >"$OUT/rtp-details.md"
log "Switchboard load test: phases $PHASES, quick=$QUICK, artefacts in $OUT"
ROWS_READY=1

if has_phase baseline; then
	cps_search direct
	BASE_CPS=$CPS_MAX BASE_FAILPCT=$CPS_FAILPCT BASE_P99=$CPS_P99 BASE_NOTE=$CPS_NOTE
fi
if has_phase switch; then
	start_switch cps
	cps_search switch
	stop_switch
	SW_CPS=$CPS_MAX SW_FAILPCT=$CPS_FAILPCT SW_P99=$CPS_P99 SW_NOTE=$CPS_NOTE
fi
if has_phase rtp; then
	start_switch rtp
	rtp_run switch
	stop_switch
fi
if has_phase relay; then
	if [ -f cmd/udprelay/main.go ]; then
		rtp_run relay
	else
		log "cmd/udprelay is missing: no bare-relay baseline"
	fi
fi
if has_phase transcode; then
	transcode_phase
fi
if has_phase queue; then
	queue_phase
fi

print_results
if [ "$STRICT" = 1 ] && [ "${MISSED:-0}" = 1 ]; then
	log "a target was missed (LOADTEST_STRICT=1)"
	exit 1
fi
