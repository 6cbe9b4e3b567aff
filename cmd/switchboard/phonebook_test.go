package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/store"
)

// TestReloadAppliesPhoneBook: the configuration's contacts are in the
// phone book at start (managed), and a reload applies its changes and
// transfers.allow_manual_numbers; the toll-fraud rule follows.
func TestReloadAppliesPhoneBook(t *testing.T) {
	n, ctx, write := reloadableNode(t, "", `contacts:
  - {name: Escalations, numbers: ["+15550142"], tags: [external_number]}
  - {name: Legal, numbers: ["+15550143"]}
`)
	a := n.contact.acd
	book := func() map[string]store.Contact {
		t.Helper()
		cs, err := a.Contacts(ctx, store.ContactFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.Contact{}
		for _, c := range cs {
			out[c.Name] = c
		}
		return out
	}
	if b := book(); len(b) != 2 || !b["Escalations"].Managed || !b["Legal"].Managed {
		t.Fatalf("phone book at start: %+v, want Escalations and Legal, managed", b)
	}
	if err := a.CheckExternalNumber(ctx, "+15550142"); err != nil {
		t.Errorf("+15550142 (tagged external_number): %v", err)
	}
	for _, num := range []string{"+15550143", "+15550199"} {
		if err := a.CheckExternalNumber(ctx, num); !errors.Is(err, acd.ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", num, err)
		}
	}

	write(`contacts:
  - {name: Escalations, numbers: ["+15550142", "+15550144"], tags: [external_number]}
transfers: {allow_manual_numbers: true}
`)
	if err := n.reload(); err != nil {
		t.Fatal(err)
	}
	b := book()
	if _, ok := b["Legal"]; ok || len(b["Escalations"].Numbers) != 2 {
		t.Errorf("phone book after reload: %+v, want Escalations with two numbers, no Legal", b)
	}
	if !a.AllowManualNumbers() {
		t.Fatal("transfers.allow_manual_numbers not applied on reload")
	}
	if err := a.CheckExternalNumber(ctx, "+15550199"); err != nil {
		t.Errorf("a manual number with allow_manual_numbers: %v", err)
	}
	if c, ok := book()["+15550199"]; !ok || c.Managed || len(c.Tags) != 1 || c.Tags[0] != config.TagExternalNumber {
		t.Errorf("the manual number is not in the phone book tagged external_number: %+v", c)
	}
}

// reloadableNode starts a node on reloadConfig's file plus base and extra
// YAML; write replaces extra in the file (for n.reload). The node and the
// context end with the test.
func reloadableNode(t *testing.T, base, extra string) (*node, context.Context, func(extra string)) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "switchboard.yaml")
	base = reloadConfig(t, dir, "tone-500.wav", "out", "127.0.0.0/8") + base
	write := func(extra string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(base+extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(extra)
	cfg, err := config.LoadWith(file, dialplan.Check)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	n, err := startNode(ctx, cfg, testLogger(t, &logBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.shutdown(context.Background()) })
	return n, ctx, write
}
