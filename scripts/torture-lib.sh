# scripts/torture-lib.sh - helpers shared by scripts/torture*.sh (sourced, not run).
#
# A torture script prints its results as Markdown table rows on stdout,
#   | check | target | figure | yes/no |
# and everything else (progress, errors) on stderr; scripts/torture.sh
# collects the rows of every check into one table.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# row CHECK TARGET FIGURE MET: one result row on stdout (MET: yes or no).
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }

# node_config FILE SIP_PORT HTTP_PORT DB [EXTRA_SIP_YAML] [EXTRA_HTTP_YAML]: a
# minimal switch: SIP on UDP and TCP, one trunk for 127.0.0.0/8, every call
# refused with 480, an API key "torture-key", SQLite state in DB.
node_config() {
	local file=$1 sip=$2 http=$3 db=$4 sipx=${5:-} httpx=${6:-}
	cat >"$file" <<YAML
node: {name: torture}
sip:
  listen: ["udp://127.0.0.1:$sip", "tcp://127.0.0.1:$sip"]
$sipx
rtp: {ports: "${TORTURE_RTP_PORTS:-31000-31999}"}
http:
  listen: "127.0.0.1:$http"
$httpx
storage: {database: "sqlite://$db"}
log: {level: info, format: json}
trunks:
  - name: local
    inbound: {allow: ["127.0.0.0/8"]}
api:
  keys:
    - {name: torture, key: torture-key}
routes:
  - {name: all, match: {to: "*"}, flow: refuse}
flows:
  refuse:
    - hangup: {code: 480}
YAML
}

# node_start BIN CONFIG LOG HTTP_PORT: starts the switch in the background,
# sets NODE_PID, and waits (10 s at most) until /healthz answers.
node_start() {
	local bin=$1 cfg=$2 logf=$3 http=$4 i
	"$bin" serve --config "$cfg" >>"$logf" 2>&1 &
	NODE_PID=$!
	for ((i = 0; i < 100; i++)); do
		curl -fsS -m 1 "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$NODE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# node_stop [SECONDS]: SIGTERM the node, SIGKILL after SECONDS (default 10).
node_stop() {
	local pid=${NODE_PID:-} i
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < ${1:-10} * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	NODE_PID=
}

# sip_options DIR SIP_PORT: sends one OPTIONS over UDP with SIPp; true on a 200.
sip_options() {
	local dir=$1 port=$2
	cat >"$dir/options.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="torture OPTIONS">
  <send><![CDATA[
OPTIONS sip:ping@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:torture@[local_ip]:[local_port]>;tag=[pid]-[call_number]
To: <sip:ping@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" timeout="5000"/>
</scenario>
XML
	(cd "$dir" && timeout 20 sipp "127.0.0.1:$port" -sf options.xml -m 1 -i 127.0.0.1 -p 0 \
		-nostdin -timeout 10s -timeout_error -trace_err >>"$dir/sipp-options.log" 2>&1)
}
