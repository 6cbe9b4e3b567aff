#!/usr/bin/env bash
# scripts/torture-slow.sh - slow and idle clients against the switch (run by
# scripts/torture.sh; prints its rows of the table on stdout, see torture-lib.sh).
#
# Starts the switch with short timeouts (http.read_header_timeout, read_timeout and
# idle_timeout TORTURE_SLOW_TIMEOUT; sip.tcp_first_request_timeout and tcp_idle_timeout
# the same), then opens, from this shell (bash /dev/tcp), N connections of each kind:
#   - slow HTTP bodies: a POST whose headers promise 1000 bytes, 2 of them sent;
#   - idle SIP TCP connections: connected, nothing sent;
#   - half-sent SIP requests: the start of an OPTIONS, never finished.
# After the timeout and a grace period it counts how many of each are still
# established (ss: the switch has not closed them). Target: 0.
#
# Environment (defaults): TORTURE_SLOW_N=100 connections of each kind,
# TORTURE_SLOW_TIMEOUT=2 seconds, TORTURE_SLOW_GRACE=3 seconds, TORTURE_BIN
# (bin/switchboard), TORTURE_SIP=15060 TORTURE_HTTP=18080, TORTURE_OUT (a temp dir),
# TORTURE_SLOW_CONFIGURE=1 (0: start the switch without the timeout settings, to
# see what its defaults do within the same wait).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/torture-lib.sh
. scripts/torture-lib.sh

N=${TORTURE_SLOW_N:-100}
TIMEOUT=${TORTURE_SLOW_TIMEOUT:-2}
GRACE=${TORTURE_SLOW_GRACE:-3}
BIN=${TORTURE_BIN:-$PWD/bin/switchboard}
SIP=${TORTURE_SIP:-15060}
HTTP=${TORTURE_HTTP:-18080}
OUT=${TORTURE_OUT:-$(mktemp -d /tmp/switchboard-torture-slow.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

NODE_PID=
trap 'node_stop 5' EXIT
trap '' PIPE # a write to a connection the switch closed fails (EPIPE), it does not end the script

need=$((3 * N + 64))
if [ "$(ulimit -n)" != unlimited ] && (($(ulimit -n) < need)); then
	ulimit -n "$need" 2>/dev/null || log "ulimit -n $(ulimit -n) is below $need: some connections may fail to open"
fi

cfg=$OUT/node.yaml
if [ "${TORTURE_SLOW_CONFIGURE:-1}" = 0 ]; then
	node_config "$cfg" "$SIP" "$HTTP" "$OUT/switchboard.db"
else
	node_config "$cfg" "$SIP" "$HTTP" "$OUT/switchboard.db" \
	"  tcp_first_request_timeout: ${TIMEOUT}s
  tcp_idle_timeout: ${TIMEOUT}s
  max_conns_per_ip: $((4 * N))" \
	"  read_header_timeout: ${TIMEOUT}s
  read_timeout: ${TIMEOUT}s
  idle_timeout: ${TIMEOUT}s"
fi

HTTP_TARGET="0 of $N open after ${TIMEOUT} s + ${GRACE} s"
SIP_TARGET=$HTTP_TARGET
if ! "$BIN" validate --config "$cfg" >"$OUT/validate.log" 2>&1; then
	why=$(grep -E 'timeout' "$OUT/validate.log" | head -2 | sed 's|.*node.yaml:||' | tr '\n' ' ' | tr '|' '/')
	echo "| check | target | figure | met |"
	echo "|---|---|---|---|"
	row "slow HTTP bodies" "$HTTP_TARGET" "the switch refuses the timeout settings: ${why:-see $OUT/validate.log}" no
	row "idle SIP TCP connections" "$SIP_TARGET" "the switch refuses the timeout settings" no
	row "half-sent SIP requests" "$SIP_TARGET" "the switch refuses the timeout settings" no
	exit 0
fi
if ! node_start "$BIN" "$cfg" "$OUT/node.log" "$HTTP"; then
	log "the switch did not start (see $OUT/node.log)"
	row "slow clients" "the switch starts" "it did not (see $OUT/node.log)" no
	exit 0
fi

# established PORT: our client connections to PORT still established (the switch
# closing one moves ours to CLOSE-WAIT).
established() { ss -Htn state established "( dport = :$1 )" | wc -l; }

FDS=()
open_n() { # KIND PORT: opens N connections of KIND to PORT, counts them in OPENED
	local kind=$1 port=$2 i fd
	OPENED=0
	for ((i = 0; i < N; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || continue
		FDS+=("$fd")
		OPENED=$((OPENED + 1))
		case $kind in
		http) printf 'POST /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer torture-key\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"' >&"$fd" 2>/dev/null ;;
		half) printf 'OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-%d\r\nFrom: <sip:t@127.0.0.1>;tag=%d\r\n' "$i" "$i" >&"$fd" 2>/dev/null ;;
		esac
	done
}

log "opening $N slow HTTP bodies to :$HTTP"
open_n http "$HTTP"
http_opened=$OPENED
http_before=$(established "$HTTP")
log "opening $N idle and $N half-sent SIP TCP connections to :$SIP"
open_n idle "$SIP"
idle_opened=$OPENED
idle_ports=$(ss -Htn "( dport = :$SIP )" | awk '{print $4}' | sed 's/.*://')
idle_before=$(established "$SIP")
open_n half "$SIP"
half_opened=$OPENED
sip_before=$(established "$SIP")
log "established: HTTP $http_before, SIP $sip_before; waiting $((TIMEOUT + GRACE)) s"
sleep $((TIMEOUT + GRACE))

# Idle and half-sent connections are told apart by their local ports.
http_left=$(established "$HTTP")
sip_open=$(ss -Htn state established "( dport = :$SIP )" | awk '{print $3}' | sed 's/.*://')
idle_left=0
half_left=0
for p in $sip_open; do
	if grep -qx "$p" <<<"$idle_ports"; then idle_left=$((idle_left + 1)); else half_left=$((half_left + 1)); fi
done
for fd in "${FDS[@]}"; do exec {fd}>&-; done
alive=no
curl -fsS -m 2 "http://127.0.0.1:$HTTP/healthz" >/dev/null 2>&1 && alive=yes

echo "| check | target | figure | met |"
echo "|---|---|---|---|"
# met: none left, of connections that were established (a refused one proves nothing)
verdict() { [ "$1" = 0 ] && [ "$2" -gt 0 ] && echo yes || echo no; }
row "slow HTTP bodies" "$HTTP_TARGET" "$http_left of $http_opened still open ($http_before established before); switch answering: $alive" "$(verdict "$http_left" "$http_before")"
row "idle SIP TCP connections" "$SIP_TARGET" "$idle_left of $idle_opened still open ($idle_before established before)" "$(verdict "$idle_left" "$idle_before")"
row "half-sent SIP requests" "$SIP_TARGET" "$half_left of $half_opened still open ($((sip_before - idle_before)) established before)" "$(verdict "$half_left" "$((sip_before - idle_before))")"
