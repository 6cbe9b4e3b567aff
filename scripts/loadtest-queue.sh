# shellcheck shell=bash
# scripts/loadtest-queue.sh - part f of `make loadtest` (phase "queue"), sourced by
# scripts/loadtest.sh, whose helpers it uses (start_switch, stop_switch, track, nap,
# stop_pid, cpu_ticks, pid_udp_drops, udp_drops, metrics/mval, dump_*, stat_col, ...).
#
# SIPp callers (uac.xml, 1 kHz PCMU tone) -> the switch's "support" queue
# (testdata/config/loadtest-queue.yaml) -> `switchboard agentsim` WebRTC agents: every
# call is transcoded PCMU <-> Opus between the caller's SIP leg and the agent's
# WebRTC leg. A ladder of concurrent queued-and-answered calls; per level a fresh
# switch (its own SQLite file under $OUT), N+10 simulated agents, N calls held over a
# window: calls up and failed, losses both ways (the agents' sequence gaps, the
# switch's per-leg loss at call end, frames the switch concealed, kernel drops),
# CPU of the switch, agentsim and SIPp, and the agents' answer-to-audio delay.
#
# Environment (defaults; [quick]):
#   LOADTEST_QUEUE_CALLS="50 100 150 200"  ["20 50"]  ladder of concurrent calls
#   LOADTEST_QUEUE_WINDOW=30  [8]   seconds of each level's measurement window
#   LOADTEST_QUEUE_CPS=30           call rate of the ramp (all UACs together)
#   LOADTEST_QUEUE_AGENTS_EXTRA=10  agents beyond the calls (idle in the window)
#   LOADTEST_QUEUE_ANSWER_AFTER=0s  agentsim --answer-after
#   LOADTEST_QUEUE_UACS=4           SIPp UAC processes sharing the calls (1-8)
#   LOADTEST_QUEUE_ALL=0            1 = climb the whole ladder even after a level is not held
#   LOADTEST_QUEUE_PPROF=0          1 = a CPU profile of the switch over each window
#                                   ($OUT/queue-N/switch-cpu.pprof; go tool pprof -top)
#   LOADTEST_QUEUE_CONFIG=testdata/config/loadtest-queue.yaml
#   LOADTEST_QUEUE_KEY=loadtest-queue-key   the config's API key

if [ "$QUICK" = 1 ]; then
	d_q_calls="20 50" d_q_window=8
else
	d_q_calls="50 100 150 200" d_q_window=30
fi
Q_CALLS=${LOADTEST_QUEUE_CALLS:-$d_q_calls}
Q_WINDOW=${LOADTEST_QUEUE_WINDOW:-$d_q_window}
Q_CPS=${LOADTEST_QUEUE_CPS:-30}
Q_EXTRA=${LOADTEST_QUEUE_AGENTS_EXTRA:-10}
Q_ANSWER_AFTER=${LOADTEST_QUEUE_ANSWER_AFTER:-0s}
Q_UACS=${LOADTEST_QUEUE_UACS:-4}
Q_ALL=${LOADTEST_QUEUE_ALL:-0}
Q_PPROF=${LOADTEST_QUEUE_PPROF:-0}
Q_CONFIG=${LOADTEST_QUEUE_CONFIG:-testdata/config/loadtest-queue.yaml}
Q_KEY=${LOADTEST_QUEUE_KEY:-loadtest-queue-key}
Q_TARGET=150 # issue 5: concurrent queued-and-answered calls on this machine
((Q_UACS > 8)) && Q_UACS=8
((Q_UACS < 1)) && Q_UACS=1

Q_RAN= Q_BEST=0 Q_STOPPED=
declare -A QB=() # the best level held: its figures

# queue_available: the support queue's stats.available_agents ("" if unknown).
queue_available() {
	curl -fsS --max-time 2 -H "Authorization: Bearer $Q_KEY" "http://$HTTP/api/v1/queues/support" 2>/dev/null |
		grep -o '"available_agents":[0-9]*' | cut -d: -f2 || true
}

# agentsim_at FILE T FIELD: FIELD ("received", "lost", "answered", ...) of agentsim's
# first "stats at" line at or after Unix time T (the last one if none is).
agentsim_at() {
	awk -v t="$2" -v k="$3" '$2 == "stats" && $3 == "at" {
			v = ""; for (i = 3; i < NF; i++) if ($i == k) v = $(i + 1)
			last = v; if ($4 + 0 >= t + 0) { print v; f = 1; exit }
		}
		END { if (!f) print last }' "$1" 2>/dev/null || true
}

# hist_mean FILE NAME LEG: _sum / _count of histogram NAME{leg=LEG}; empty without calls.
hist_mean() {
	awk -v n="$2" -v l="leg=\"$3\"" '
		index($1, n "_sum{") == 1 && index($1, l) { s = $NF }
		index($1, n "_count{") == 1 && index($1, l) { c = $NF }
		END { if (c > 0) printf "%.6f\n", s / c }' "$1"
}
# hist_over FILE NAME LEG LE: observations of NAME{leg=LEG} above bucket LE (count - bucket).
hist_over() {
	awk -v n="$2" -v l="leg=\"$3\"" -v le="le=\"$4\"" '
		index($1, n "_count{") == 1 && index($1, l) { c = $NF }
		index($1, n "_bucket{") == 1 && index($1, l) && index($1, le) { b = $NF }
		END { printf "%.0f\n", c - b }' "$1"
}

# queue_run N: one level. Sets Q_* figures of the level (see the end).
queue_run() {
	local n=$1 agents=$(($1 + Q_EXTRA))
	local dir="$OUT/queue-$n" uacs=$Q_UACS
	((uacs > n)) && uacs=$n
	mkdir -p "$dir"
	ln -sf "$SIPP_DIR/tone_1000hz.pcmu" "$dir/tone_1000hz.pcmu"
	# the level's figures, empty until measured
	Q_UP=0 Q_ACTIVE= Q_FAILED=$n Q_FAILPCT=100 Q_CPUPCT= Q_ASCPUPCT= Q_SIPPCPUPCT= Q_KDROPS=0 Q_ASKDROPS=0 Q_UACDROPS=0
	Q_RSS= Q_CONCPCT= Q_SWLOSSPCT= Q_PACEPCT= Q_AGRCV= Q_AGLOST= Q_AGLOSSPCT= Q_LEGCALLER= Q_LEGCALLEE=
	Q_AGPACE= Q_AGSHORTPCT= Q_AGGAPPCT= Q_PACELOSSPCT=
	Q_LEGOVER= Q_LEGCALLS= Q_SUMMARY= Q_ANSWERED= Q_AGFAILED= Q_P50= Q_P99= Q_NOTE= Q_SETUP= Q_AVAIL=0
	local ramp_s=$(((n + Q_CPS - 1) / Q_CPS)) settle=3
	local win_start=$((ramp_s + settle))
	local win_end=$((win_start + Q_WINDOW))
	local hold_ms=$(((win_end + 2) * 1000))
	local bound=$((win_end + 90))
	local i ports=()
	for ((i = 0; i < uacs; i++)); do ports+=("udp:$((UAC_PORT + i))" "udp:$((UAC_MEDIA + 4 * i))"); done
	require_free "${ports[@]}"

	# the agents: created with the API key, deleted when agentsim ends (SIGTERM below)
	log "queue: $n calls: starting agentsim with $agents agents (answer after $Q_ANSWER_AFTER, Opus complexity 1)"
	local ta t_avail
	ta=$(now)
	(cd "$dir" && exec "$ROOT/bin/switchboard" agentsim --api "http://$HTTP" --key "$Q_KEY" --agents "$agents" \
		--answer-after "$Q_ANSWER_AFTER" --talk 0 --clear-wrapup --complexity 1 --tone 1300 \
		--duration "$((bound + 60))s" --stats-every 500ms >agentsim.out 2>agentsim.err) &
	local as=$!
	track "$as"
	Q_AVAIL=0
	for ((i = 0; i < 600; i++)); do
		Q_AVAIL=$(queue_available)
		[ "${Q_AVAIL:-0}" -ge "$agents" ] && break
		kill -0 "$as" 2>/dev/null || break
		sleep 0.1
	done
	t_avail=$(calc "$(now) - $ta")
	Q_SETUP=$t_avail
	if [ "${Q_AVAIL:-0}" -lt "$agents" ]; then
		log "queue: only ${Q_AVAIL:-0} of $agents agents available after $(fmt %.1f "$t_avail") s ($dir/agentsim.err):"
		tail -n 5 "$dir/agentsim.err" >&2 || true
		stop_pid "$as" 30
		Q_NOTE="agents not available"
		return 0
	fi
	log "queue: $agents agents available after $(fmt %.1f "$t_avail") s"

	log "queue: $n calls from $uacs SIPp UACs, ramp ${ramp_s}s at $Q_CPS CPS, window ${Q_WINDOW}s"
	local t0 uac_pids=() specs=() k
	t0=$(now)
	for ((i = 0; i < uacs; i++)); do
		k=$((n / uacs + (i < n % uacs ? 1 : 0)))
		(cd "$dir" && exec sipp "$SWITCH_SIP" -sf "$SIPP_DIR/uac.xml" -s 1000 -i 127.0.0.1 \
			-p $((UAC_PORT + i)) -mi 127.0.0.1 -mp $((UAC_MEDIA + 4 * i)) -r "$Q_CPS" -rp $((1000 * uacs)) \
			-m "$k" -l "$k" -d "$hold_ms" -rtp_threadtasks "$k" -recv_timeout 30000 -buff_size "$SIP_BUF" \
			-timeout "$bound" -nostdin -trace_err -trace_stat -stf "uac${i}_stat.csv" -fd 5 \
			-trace_screen -screen_file "uac${i}_screen.log" >"uac$i.out" 2>&1) &
		uac_pids+=($!)
		track "$!"
		specs+=("$!:$dir/uac${i}_screen.log")
		sleep 0.003 # different 20 ms phases
	done

	local pprof_pid=
	local -A S
	qsnap() {
		local x=$1 j p c=0
		S[t$x]=$(now)
		dump_request "${specs[@]}"
		metrics "$dir/metrics-$x.txt"
		S[tm$x]=$(now)
		S[cpu$x]=$(cpu_ticks "$SW_PID")
		S[ascpu$x]=$(cpu_ticks "$as")
		for p in "${uac_pids[@]}"; do c=$((c + $(cpu_ticks "$p"))); done
		S[sippcpu$x]=$c
		S[kdrops$x]=$(pid_udp_drops "$SW_PID" "${SWITCH_SIP##*:}")
		S[askdrops$x]=$(pid_udp_drops "$as")
		c=0
		for ((j = 0; j < uacs; j++)); do c=$((c + $(udp_drops $((UAC_MEDIA + 4 * j))))); done
		S[uacdrops$x]=$c
		dump_wait "${specs[@]}"
		local up=0 sent=0
		for ((j = 0; j < uacs; j++)); do
			up=$((up + $(open_calls "$dir/uac${j}_screen.log")))
			sent=$((sent + $(rtp_sent "$dir/uac${j}_screen.log")))
		done
		S[calls$x]=$up S[sent$x]=$sent
		S[received$x]=$(mval "$dir/metrics-$x.txt" switchboard_rtp_packets_received_total)
		S[transcoded$x]=$(mval "$dir/metrics-$x.txt" switchboard_rtp_packets_transcoded_total)
		S[concealed$x]=$(mval "$dir/metrics-$x.txt" switchboard_frames_concealed_total)
		S[active$x]=$(mval "$dir/metrics-$x.txt" switchboard_active_calls)
		S[rss$x]=$(rss_kib "$SW_PID")
	}
	nap "$(calc "$t0 + $win_start - $(now)")"
	for p in "${uac_pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a SIPp UAC exited during the ramp-up (see $dir/uac*.out, *_errors.log)"; done
	qsnap A
	log "queue: window start: ${S[callsA]} calls up (SIPp), switch active calls ${S[activeA]:-n/a}"
	if [ "$Q_PPROF" = 1 ]; then
		curl -fsS --max-time $((Q_WINDOW + 10)) -H "Authorization: Bearer $Q_KEY" -o "$dir/switch-cpu.pprof" \
			"http://$HTTP/debug/pprof/profile?seconds=$((Q_WINDOW > 2 ? Q_WINDOW - 1 : 1))" 2>/dev/null &
		pprof_pid=$!
		track "$pprof_pid"
	fi
	nap "$(calc "$t0 + $win_end - $(now)")"
	qsnap B
	log "queue: window end: ${S[callsB]} calls up; waiting for the calls to end"
	[ -n "$pprof_pid" ] && { wait "$pprof_pid" 2>/dev/null || true; }

	local rc=0
	for p in "${uac_pids[@]}"; do wait "$p" || rc=$?; done
	wait_switch_idle
	nap 1 # the agents' last call.ended and wrap-ups
	metrics "$dir/metrics-C.txt"
	log "queue: stopping agentsim (SIGTERM: it prints its summary and deletes its agents)"
	stop_pid "$as" 60

	local created=0 ok=0 j
	for ((j = 0; j < uacs; j++)); do
		created=$((created + $(stat_col "$dir/uac${j}_stat.csv" 'OutgoingCall(C)')))
		ok=$((ok + $(stat_col "$dir/uac${j}_stat.csv" 'SuccessfulCall(C)')))
	done
	local dt dCPU summary
	dt=$(calc "${S[tmB]} - ${S[tmA]}")
	dCPU=$((S[cpuB] - S[cpuA]))
	Q_UP=$(((S[callsA] < S[callsB]) ? S[callsA] : S[callsB]))
	Q_ACTIVE=${S[activeB]:-}
	Q_FAILED=$((n - ok))
	Q_FAILPCT=$(calc "100 * $Q_FAILED / $n")
	Q_CPUPCT=$(calc "100 * $dCPU / $CLK_TCK / $dt")
	Q_ASCPUPCT=$(calc "100 * (${S[ascpuB]} - ${S[ascpuA]}) / $CLK_TCK / $dt")
	Q_SIPPCPUPCT=$(calc "100 * (${S[sippcpuB]} - ${S[sippcpuA]}) / $CLK_TCK / $dt")
	Q_KDROPS=$((S[kdropsB] - S[kdropsA]))
	Q_ASKDROPS=$((S[askdropsB] - S[askdropsA]))
	Q_UACDROPS=$((S[uacdropsB] - S[uacdropsA]))
	Q_RSS=${S[rssB]:-}
	# caller -> agent, at the switch: caller packets received, frames made up for them
	local dRcv dC dT
	dRcv=$((S[receivedB] - S[receivedA]))
	dC=$((S[concealedB] - S[concealedA]))
	dT=$((S[transcodedB] - S[transcodedA]))
	Q_CONCPCT=$(calc "100 * $dC / $dRcv")
	# ... and with the kernel drops on all the switch's sockets (media and the agents'
	# WebRTC ones) counted as lost on the way in
	Q_SWLOSSPCT=$(calc "100 * ($dC + $Q_KDROPS) / ($dRcv + $Q_KDROPS)")
	# agent -> caller, at the switch: packets transcoded towards the callers, against
	# 50/s for every call up (< 100 % when the media clock falls behind)
	Q_PACEPCT=$(calc "100 * $dT / (50 * $Q_UP * $dt)")
	Q_PACELOSSPCT=$(calc "100 - $Q_PACEPCT")
	# caller -> agent, at the agents (agentsim's "stats at" lines just after each
	# snapshot): gaps in the switch's sequence numbers, and packets short of 50/s per
	# agent (the switch renumbers what it sends, so a frame it never sent, e.g. when its
	# media clock fell more than 100 ms behind, is no gap; every agent, on a call or
	# not, gets 50 packets/s: the call's audio or the session's silence)
	local rA rB lA lB tA tB
	tA=$(agentsim_at "$dir/agentsim.out" "${S[tA]}" at) tB=$(agentsim_at "$dir/agentsim.out" "${S[tB]}" at)
	rA=$(agentsim_at "$dir/agentsim.out" "${S[tA]}" received) lA=$(agentsim_at "$dir/agentsim.out" "${S[tA]}" lost)
	rB=$(agentsim_at "$dir/agentsim.out" "${S[tB]}" received) lB=$(agentsim_at "$dir/agentsim.out" "${S[tB]}" lost)
	if [ -n "$rA" ] && [ -n "$rB" ] && [ -n "$tA" ] && [ -n "$tB" ]; then
		Q_AGRCV=$(calc "$rB - $rA") Q_AGLOST=$(calc "$lB - $lA")
		Q_AGGAPPCT=$(calc "100 * $Q_AGLOST / ($Q_AGRCV + $Q_AGLOST)")
		Q_AGPACE=$(calc "100 * $Q_AGRCV / (50 * $agents * ($tB - $tA))")
		Q_AGSHORTPCT=$(calc "100 - $Q_AGPACE")
		# the agents' loss: the larger of the two
		Q_AGLOSSPCT=$(awk -v g="$Q_AGGAPPCT" -v s="$Q_AGSHORTPCT" 'BEGIN { print (g > s) ? g : s }')
	fi
	# the switch's view of each leg over whole calls (histograms at call end)
	Q_LEGCALLER=$(hist_mean "$dir/metrics-C.txt" switchboard_leg_packet_loss_percent caller)
	Q_LEGCALLEE=$(hist_mean "$dir/metrics-C.txt" switchboard_leg_packet_loss_percent callee)
	Q_LEGOVER=$(($(hist_over "$dir/metrics-C.txt" switchboard_leg_packet_loss_percent caller 0.1) + $(hist_over "$dir/metrics-C.txt" switchboard_leg_packet_loss_percent callee 0.1)))
	Q_LEGCALLS=$(mval "$dir/metrics-C.txt" switchboard_leg_packet_loss_percent_count)
	# agentsim's own summary (whole run)
	summary=$(grep -E '^agentsim: offered [0-9]+ answered' "$dir/agentsim.out" | tail -n 1 || true)
	Q_SUMMARY=${summary#agentsim: }
	Q_ANSWERED=$(sed -nE 's/.* answered ([0-9]+) .*/\1/p' <<<"$summary")
	Q_AGFAILED=$(sed -nE 's/.* failed ([0-9]+);.*/\1/p' <<<"$summary")
	Q_P50=$(sed -nE 's/.*answer-to-audio p50 ([^ ]+) .*/\1/p' <<<"$summary")
	Q_P99=$(sed -nE 's/.*answer-to-audio p50 [^ ]+ p99 ([^ ]+) .*/\1/p' <<<"$summary")
	Q_NOTE=
	[ -n "$summary" ] || Q_NOTE="agentsim printed no summary ($dir/agentsim.out)"
	{
		echo "### queue-$n: raw window figures"
		echo
		echo "window ${dt}s; calls up $Q_UP (switch active ${Q_ACTIVE:-n/a}); SIPp: created $created, successful $ok, rc $rc," \
			"RTP sent $((S[sentB] - S[sentA])); switch: received $dRcv caller packets, concealed $dC frames, transcoded $dT packets towards the callers," \
			"kernel drops on its sockets $Q_KDROPS; agents: received $Q_AGRCV, lost $Q_AGLOST (sequence gaps) between their stats lines at $tA and $tB, kernel drops on their sockets $Q_ASKDROPS;" \
			"kernel drops on the UACs' media sockets $Q_UACDROPS (uac.xml never reads RTP: everything sent to it); CPU ticks switch $dCPU, agentsim $((S[ascpuB] - S[ascpuA])), SIPp $((S[sippcpuB] - S[sippcpuA])) (CLK_TCK $CLK_TCK);" \
			"agents available after $(fmt %.1f "$Q_SETUP") s; RSS ${S[rssA]} -> ${S[rssB]} KiB; legs at call end: $Q_LEGCALLS, $Q_LEGOVER with loss > 0.1 %."
		echo "agentsim: ${Q_SUMMARY:-no summary}"
		echo
		grep -E '^switchboard_(leg_packet_loss|calls_|rtp_packets_dropped)' "$dir/metrics-C.txt" | sed 's/^/    /' || true
		echo
	} >>"$OUT/rtp-details.md"
}

queue_phase() {
	local n held errs saved_config=$CONFIG worst
	command -v curl >/dev/null || die "curl not found"
	[ -x bin/switchboard ] || make build >&2
	: >"$OUT/queue-rows.md"
	CONFIG=$Q_CONFIG
	Q_RAN=1
	for n in $Q_CALLS; do
		export SWITCHBOARD_STORAGE_DATABASE="sqlite://$OUT/queue-$n.db" # a fresh database per level
		start_switch "queue-$n"
		unset SWITCHBOARD_STORAGE_DATABASE
		queue_run "$n"
		wait_switch_idle
		stop_switch
		errs=$(grep -c . "$OUT/switchboard-queue-$n.log" 2>/dev/null || true)
		# the worst of the losses measured (each < 0.1 % for a level to hold)
		worst=$(awk -v a="$Q_AGLOSSPCT" -v b="$Q_SWLOSSPCT" -v c="$Q_LEGCALLER" -v d="$Q_LEGCALLEE" -v e="$Q_PACELOSSPCT" \
			'BEGIN { if (a == "" || b == "" || c == "" || d == "" || e == "") exit; m = a; if (b > m) m = b; if (c > m) m = c; if (d > m) m = d; if (e > m) m = e; print m }')
		held=$(awk -v w="$worst" -v f="$Q_FAILED" -v up="$Q_UP" -v ans="${Q_ANSWERED:-0}" -v af="${Q_AGFAILED:-1}" -v n="$n" \
			'BEGIN { print (w != "" && w < 0.1 && f == 0 && up >= n && ans >= n && af == 0) ? "yes" : "no" }')
		[ -n "$Q_NOTE" ] && held="no ($Q_NOTE)"
		echo "| $n | ${Q_UP:-0} | ${Q_ANSWERED:-n/a} | $Q_FAILED | $(fmt %.4f "$Q_AGGAPPCT") | $(fmt %.2f "$Q_AGPACE") | $(fmt %.4f "$Q_SWLOSSPCT") ($(fmt %.4f "$Q_CONCPCT")) | $(fmt %.4f "$Q_LEGCALLER") | $(fmt %.4f "$Q_LEGCALLEE") | $(fmt %.2f "$Q_PACEPCT") | $Q_KDROPS / $Q_ASKDROPS | $(fmt %.0f "$Q_CPUPCT") | $(fmt %.0f "$Q_ASCPUPCT") | $(fmt %.0f "$Q_SIPPCPUPCT") | ${Q_P50:-n/a} / ${Q_P99:-n/a} | $(fmt %.1f "$(calc "${Q_RSS:-0} / 1024")") | $errs | $held |" >>"$OUT/queue-rows.md"
		log "queue: $n calls: up $Q_UP, failed $Q_FAILED; caller->agent: gaps at the agents $(fmt %.4f "$Q_AGGAPPCT") %, pace at the agents $(fmt %.2f "$Q_AGPACE") %," \
			"loss at the switch $(fmt %.4f "$Q_SWLOSSPCT") %; agent->caller pace $(fmt %.2f "$Q_PACEPCT") %; leg loss caller $(fmt %.4f "$Q_LEGCALLER") % / agent $(fmt %.4f "$Q_LEGCALLEE") %, switch CPU $(fmt %.0f "$Q_CPUPCT") %, agentsim CPU $(fmt %.0f "$Q_ASCPUPCT") %," \
			"answer-to-audio p50 ${Q_P50:-n/a} p99 ${Q_P99:-n/a}; held: $held"
		if [ "$errs" != 0 ]; then
			log "queue: the switch logged $errs lines ($OUT/switchboard-queue-$n.log), most frequent:"
			sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+Z-]+//g; s/"time":"[^"]*",?//' "$OUT/switchboard-queue-$n.log" | cut -c1-200 | sort | uniq -c | sort -rn | head -3 >&2 || true
		fi
		if [ "$held" = yes ]; then
			if ((n > Q_BEST)); then
				Q_BEST=$n
				QB=([loss]=$worst [failpct]=$Q_FAILPCT [cpu]=$Q_CPUPCT [ascpu]=$Q_ASCPUPCT [p50]=${Q_P50:-n/a} [p99]=${Q_P99:-n/a})
			fi
		elif [ "$Q_ALL" != 1 ]; then
			Q_STOPPED=$n
			log "queue: $n calls not held; not climbing further (LOADTEST_QUEUE_ALL=1 climbs anyway)"
			break
		fi
	done
	CONFIG=$saved_config
}

# queue_met: the target's verdict for the main table.
queue_met() {
	local top=0 x met
	met=$( ((Q_BEST >= Q_TARGET)) && echo met || echo "NOT met")
	for x in $Q_CALLS; do ((x > top)) && top=$x; done
	((top < Q_TARGET)) && met="$met (the ladder stops at $top)"
	echo "$met"
}

# queue_main_row: the queue phase's row of the main results table.
queue_main_row() {
	local t="≥$Q_TARGET queued-and-answered calls, <0.1 % loss: $(queue_met)"
	if ((Q_BEST > 0)); then
		echo "| switch queue → agentsim WebRTC agents, PCMU↔Opus (highest level held) | – | $(fmt %.3f "${QB[failpct]}") | – | $Q_BEST | $(fmt %.4f "${QB[loss]}") | – | $(fmt %.0f "${QB[cpu]}") (agentsim $(fmt %.0f "${QB[ascpu]}")) | – | $t |"
	else
		echo "| switch queue → agentsim WebRTC agents, PCMU↔Opus | – | – | – | none held (lowest level ${Q_CALLS%% *}) | – | – | – | – | $t |"
	fi
}

# queue_notes: the phase's notes under the main table.
queue_notes() {
	echo "- queue: SIPp callers (uac.xml, PCMU) → the switch's queue (loadtest-queue.yaml) → \`switchboard agentsim\` WebRTC agents" \
		"(Opus, complexity 1, N+$Q_EXTRA agents, answer after $Q_ANSWER_AFTER): every call transcoded PCMU↔Opus. A level is held when every call" \
		"was up in the ${Q_WINDOW}s window and answered by an agent, none failed, and each loss is < 0.1 %:" \
		"caller→agent at the agents (sequence gaps, and packets short of 50/s per agent, window) and at the switch ((frames concealed + kernel drops on its sockets) ÷ (caller packets received + those drops), window)," \
		"agent→caller at the switch (packets short of 50/s per call sent towards the callers, window), and each leg's loss as the switch measured it over whole calls (switchboard_leg_packet_loss_percent, mean)." \
		"$( ((Q_BEST > 0)) && echo "Best level held: **$Q_BEST calls**; the agents' answer-to-audio there p50 ${QB[p50]}, p99 ${QB[p99]}." || echo "No level held.")" \
		"$([ -n "$Q_STOPPED" ] && echo "Ladder stopped at $Q_STOPPED calls (not held).")"
}

# queue_section: the ladder's table.
queue_section() {
	[ -s "$OUT/queue-rows.md" ] || return 0
	echo "### Queue ladder (SIPp PCMU callers → queue → agentsim WebRTC agents, Opus)"
	echo
	echo "| calls | calls up | answered by agents | failed | caller→agent gaps at agents % | caller→agent pace at agents % | caller→agent loss at switch % (concealed only) | caller leg loss % (switch) | agent leg loss % (switch) | agent→caller pace at switch % | kernel drops switch / agentsim | switch CPU % | agentsim CPU % | SIPp CPU % | answer-to-audio p50 / p99 | switch RSS MiB | switch log lines | held |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	cat "$OUT/queue-rows.md"
	echo
}
