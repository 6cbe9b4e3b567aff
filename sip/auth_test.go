package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// answer computes what a UA would send for the challenge.
func answer(t *testing.T, chal, method, uri, user, pass string) string {
	t.Helper()
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(c, digest.Options{Method: method, URI: uri, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestDigestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := NewAuthenticator(time.Minute, func() time.Time { return now })
	chal := a.Challenge("switchboard", false)
	uri := "sip:+15550100@127.0.0.1:5060"

	if err := a.Verify(answer(t, chal, "INVITE", uri, "alice", "s3cret"), "INVITE", "switchboard", "alice", "s3cret"); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	if err := a.Verify(answer(t, chal, "INVITE", uri, "alice", "wrong"), "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := a.Verify(answer(t, chal, "INVITE", uri, "mallory", "s3cret"), "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrBadUser) {
		t.Fatalf("wrong user: %v", err)
	}
	// A response computed for another method does not pass.
	if err := a.Verify(answer(t, chal, "BYE", uri, "alice", "s3cret"), "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("wrong method: %v", err)
	}
	if err := a.Verify("", "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no credentials: %v", err)
	}

	// A nonce from another process (other key) is refused.
	other := NewAuthenticator(time.Minute, func() time.Time { return now })
	forged := answer(t, other.Challenge("switchboard", false), "INVITE", uri, "alice", "s3cret")
	if err := a.Verify(forged, "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrBadNonce) {
		t.Fatalf("foreign nonce: %v", err)
	}

	// After the TTL the nonce is stale, even with the right password.
	good := answer(t, chal, "INVITE", uri, "alice", "s3cret")
	now = now.Add(2 * time.Minute)
	if err := a.Verify(good, "INVITE", "switchboard", "alice", "s3cret"); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("expired nonce: %v", err)
	}
	stale, err := digest.ParseChallenge(a.Challenge("switchboard", true))
	if err != nil || !stale.Stale {
		t.Fatalf("stale challenge: %+v %v", stale, err)
	}
}
