#!/usr/bin/env bash
# scripts/demo-sentence.sh DIR - writes DIR/sentence.pcmu, the demo caller's
# audio for `make call` (testdata/sipp/uac_demo.xml): a sentence spoken by
# espeak-ng, as raw G.711 u-law at 8 kHz with a second of silence after it
# (SIPp's rtp_stream loops it). Kept if it exists.
set -euo pipefail
dir=${1:?usage: demo-sentence.sh DIR}
mkdir -p "$dir"
[ -s "$dir/sentence.pcmu" ] && exit 0
espeak-ng -s 150 -w "$dir/sentence.wav" \
	"Hello, this is a demo call to Switchboard. If you can hear me in the agent panel, the call works."
ffmpeg -loglevel error -y -i "$dir/sentence.wav" -af apad=pad_dur=1 -ar 8000 -ac 1 -f mulaw "$dir/sentence.pcmu"
