package agent_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/gateway/agent"
)

// TestConnectRefused: a WHIP server that refuses the offer gives a
// StatusError with its explanation, and nothing is left running.
func TestConnectRefused(t *testing.T) {
	before := runtime.NumGoroutine()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/sdp" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "invalid agent token", http.StatusUnauthorized)
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := agent.Connect(ctx, hs.URL+"/whip", "tok", agent.Options{LoopbackOnly: true})
	var se *agent.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || se.Body != "invalid agent token" {
		t.Fatalf("Connect: %v, want a 401 StatusError", err)
	}
	hs.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 { // the test server's own
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d, were %d", runtime.NumGoroutine(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConnectTimesOut: a server that never answers leaves Connect to its
// context.
func TestConnectTimesOut(t *testing.T) {
	block := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := agent.Connect(ctx, hs.URL, "tok", agent.Options{LoopbackOnly: true}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v, want the deadline", err)
	}
}
