# Switchboard — build, run, test.
#   make run       install what is missing, build, start the demo switch
#   make test      gofmt + vet + race tests + SIPp suites (what CI runs)
#   make bench     go benchmarks of the hot paths
#   make loadtest  SIPp load test through the switch, with baselines

SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
CONFIG  ?= testdata/config/b2bua.yaml
# Debian packages the build and the tests need.
DEBS    := sip-tester libopus-dev libopusfile-dev pkg-config espeak-ng ffmpeg

.PHONY: all deps build run test vet fmt-check unit bench loadtest clean

all: build

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/dl), 1.26 or newer"; exit 1; }

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/switchboard ./cmd/switchboard

run: deps build
	./bin/switchboard serve --config $(CONFIG)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

test: deps fmt-check vet build unit

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./media/... ./sip/... ./acd/... ./store/... ./gateway/...
	$(GO) test -run '^$$' -bench AnswerToAudio -benchtime 50x ./cmd/switchboard

loadtest: deps build
	bash scripts/loadtest.sh

clean:
	rm -rf bin
