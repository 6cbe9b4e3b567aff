#!/usr/bin/env bash
# deps.sh: installs the Debian packages the build, the demo and the tests
# need, saying which ones and why before it does (make run and make test
# call it through make deps). The README's package list is this one.
set -euo pipefail
packages=(
	"sip-tester:SIPp, the demo caller (make call) and a SIP peer in the tests"
	"libopus-dev:the Opus codec (cgo)"
	"libopusfile-dev:Opus files (cgo)"
	"pkg-config:finds libopus for cgo"
	"espeak-ng:text-to-speech prompts (say)"
	"ffmpeg:converts uploaded audio the switch cannot decode itself"
	"chromium:headless browser for the agent panel's tests"
)
missing=()
for entry in "${packages[@]}"; do
	p=${entry%%:*}
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$entry")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "make deps: the Debian packages are installed (${packages[*]%%:*})"
else
	echo "make deps: installing ${#missing[@]} Debian package(s) with apt-get (a few minutes the first time):"
	names=()
	for entry in "${missing[@]}"; do
		echo "  ${entry%%:*}: ${entry#*:}"
		names+=("${entry%%:*}")
	done
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${names[@]}"
fi
if ! command -v "${GO:-go}" >/dev/null; then
	echo "make deps: Go is required (https://go.dev/dl), 1.26 or newer" >&2
	exit 1
fi
