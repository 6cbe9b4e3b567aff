# Switchboard — build, run, test.
#   make run       install what is missing, build, start the demo switch
#   make call      place a demo call (SIPp, a spoken sentence) to the running demo
#   make test      gofmt + vet + race tests + SIPp suites (what CI runs)
#   make bench     go benchmarks of the hot paths
#   make loadtest  SIPp load test through the switch, with baselines
#   make torture   robustness suite (fuzzing, kill -9 restart, SIGTERM drain, floods,
#                  slow clients) with a table of results; not part of make test

SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
CONFIG  ?= testdata/config/demo.yaml

.PHONY: all deps build run call test vet fmt-check unit bench loadtest torture clean

all: build

deps:
	@GO=$(GO) bash scripts/deps.sh

build:
	@[ -x bin/switchboard ] || echo "make build: first build of bin/switchboard (cgo with libopus; about 2 minutes on 2 cores with empty Go caches)"
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/switchboard ./cmd/switchboard

run: deps build
	@mkdir -p data
	@echo
	@echo "  Switchboard demo ($(CONFIG)), database data/switchboard.db"
	@echo "  Agent panel:    http://127.0.0.1:8080/"
	@echo "  Demo agents:    demo1 / $${DEMO1_TOKEN:-demo1-token}    demo2 / $${DEMO2_TOKEN:-demo2-token}"
	@echo "  Supervisor key: $${DEMO_API_KEY:-demo-key}    (API: http://127.0.0.1:8080/api/v1/openapi.json)"
	@echo "  Place a call:   make call    (in another terminal; SIP on 127.0.0.1:5060)"
	@echo
	./bin/switchboard serve --config $(CONFIG)

# call places a demo call to the running switch: SIPp calls +15550100 and
# speaks a sentence (espeak-ng, looped) until the agent hangs up.
call: deps
	@bash scripts/demo-sentence.sh data/demo
	@echo "Calling +15550100 from +15557770 (answer it in the panel; hang up there to end the call)"
	cd data/demo && sipp 127.0.0.1:5060 -sf ../../testdata/sipp/uac_demo.xml -s +15550100 -i 127.0.0.1 \
		-p 5070 -mi 127.0.0.1 -mp 6000 -m 1 -nostdin -trace_err

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	# the sipgo fork's own tests of what we changed (third_party/sipgo/README.switchboard.md)
	cd third_party/sipgo && $(GO) test -race -count=1 -run 'Switchboard|^TestTCP(RefAfterPeerClose|CloseIsIdempotentForPool|PerIPCap|LimitsFirstMessage|LimitLogRate)$$' ./sip/

test: deps fmt-check vet build unit

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./media/... ./sip/... ./acd/... ./store/... ./gateway/...
	$(GO) test -run '^$$' -bench AnswerToAudio -benchtime 50x ./cmd/switchboard

loadtest: deps build
	bash scripts/loadtest.sh

# torture: TORTURE_FUZZTIME (default 5m) per fuzz target; see scripts/torture.sh.
torture: deps build
	bash scripts/torture.sh

clean:
	rm -rf bin
