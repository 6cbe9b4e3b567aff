package dialplan

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan/prompt"
)

// Check is a config.Checker for what the dialplan needs beyond the
// configuration: every file a play action names exists, has an allowed
// format and is at most 4 MB, and the tools its prompts need (espeak-ng for
// say, ffmpeg for formats Go does not decode) are installed. A switch
// without them starts; a configuration that needs them is refused with
// what to install.
func Check(cfg *config.Config) config.Problems {
	lib := Library(cfg)
	var ps config.Problems
	names := make([]string, 0, len(cfg.Flows))
	for name := range cfg.Flows {
		names = append(names, name)
	}
	slices.Sort(names)
	speechChecked := false
	for _, name := range names {
		for i, a := range cfg.Flows[name] {
			key := fmt.Sprintf("flows.%s[%d]", name, i)
			switch {
			case a.Play != nil:
				if err := lib.CheckFile(resolve(cfg, a.Play.File)); err != nil {
					ps = append(ps, config.Problem{Key: key + ".play.file", Msg: err.Error()})
				}
			case a.Gather != nil && a.Gather.Prompt != "":
				if err := lib.CheckFile(resolve(cfg, a.Gather.Prompt)); err != nil {
					ps = append(ps, config.Problem{Key: key + ".gather.prompt", Msg: err.Error()})
				}
			case a.Say != nil:
				// Variables are known when it plays: check it with stand-ins.
				sp := speech(a.Say)
				sp.Text = config.ExpandVars(sp.Text, func(string) string { return "x" })
				if err := sp.Validate(); err != nil {
					ps = append(ps, config.Problem{Key: key + ".say", Msg: err.Error()})
				}
				if !speechChecked {
					speechChecked = true
					if err := lib.CheckSpeech(); err != nil {
						ps = append(ps, config.Problem{Key: key + ".say", Msg: err.Error()})
					}
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.WaitingStrategies)) {
		w := cfg.WaitingStrategies[name]
		key := "waiting_strategies." + name
		for _, f := range []struct{ key, path string }{
			{"greeting", w.Greeting}, {"music", w.Music}, {"announcement.file", w.Announcement.File},
			{"max_wait_message", w.MaxWaitMessage},
		} {
			if f.path == "" {
				continue
			}
			if err := lib.CheckFile(resolve(cfg, f.path)); err != nil {
				ps = append(ps, config.Problem{Key: key + "." + f.key, Msg: err.Error()})
			}
		}
	}
	return append(ps, checkHoldFiles(cfg, lib, &speechChecked)...)
}

// checkHoldFiles checks the files and texts hold, transfers and callback
// confirmations name, like those of the flows: confined to the prompt
// directories, in an allowed format, with espeak-ng installed for say.
func checkHoldFiles(cfg *config.Config, lib *prompt.Library, speechChecked *bool) config.Problems {
	type part struct {
		key string
		m   config.Message
		mus string
	}
	parts := []part{{"hold", cfg.Hold.Announcement, cfg.Hold.Music}}
	for i, q := range cfg.Queues {
		if q.Hold != nil {
			parts = append(parts, part{fmt.Sprintf("queues[%d].hold", i), q.Hold.Announcement, q.Hold.Music})
		}
	}
	parts = append(parts, part{"transfers", cfg.Transfers.Message, cfg.Transfers.Music})
	for _, name := range slices.Sorted(maps.Keys(cfg.Callbacks)) {
		m := cfg.Callbacks[name].Confirmation
		parts = append(parts, part{"callbacks." + name, config.Message{File: m.File, Say: m.Say}, ""})
	}
	var ps config.Problems
	for _, p := range parts {
		msg := ".announcement"
		switch {
		case p.key == "transfers":
			msg = ".message"
		case strings.HasPrefix(p.key, "callbacks."):
			msg = ".confirmation"
		}
		for _, f := range []struct{ key, path string }{{p.key + ".music", p.mus}, {p.key + msg + ".file", p.m.File}} {
			if f.path == "" {
				continue
			}
			if err := lib.CheckFile(resolve(cfg, f.path)); err != nil {
				ps = append(ps, config.Problem{Key: f.key, Msg: err.Error()})
			}
		}
		if p.m.Say == "" {
			continue
		}
		if err := (prompt.Speech{Text: p.m.Say}).Validate(); err != nil {
			ps = append(ps, config.Problem{Key: p.key + msg + ".say", Msg: err.Error()})
		}
		if !*speechChecked {
			*speechChecked = true
			if err := lib.CheckSpeech(); err != nil {
				ps = append(ps, config.Problem{Key: p.key + msg + ".say", Msg: err.Error()})
			}
		}
	}
	return ps
}

// Library returns a prompt library for cfg: caching under prompts.cache_dir
// and reading audio files only from the prompt directories (PromptDirs).
func Library(cfg *config.Config) *prompt.Library {
	return prompt.New(prompt.Options{CacheDir: cfg.Prompts.CacheDir, Dirs: PromptDirs(cfg)})
}

// PromptDirs are the directories cfg's audio files may be read from:
// prompts.dirs (relative to the configuration file), or the configuration
// file's directory when none is set (the working directory for a
// configuration built in code), and prompts.upload_dir, where uploaded
// prompts are kept.
func PromptDirs(cfg *config.Config) []string {
	dirs := make([]string, 0, len(cfg.Prompts.Dirs)+2)
	for _, d := range cfg.Prompts.Dirs {
		dirs = append(dirs, resolve(cfg, d))
	}
	if len(dirs) == 0 {
		dirs = append(dirs, resolve(cfg, "."))
	}
	return append(dirs, cfg.Prompts.Uploads())
}

// resolve makes a prompt path relative to the configuration file.
func resolve(cfg *config.Config, p string) string {
	if filepath.IsAbs(p) || cfg.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(cfg.File), p)
}
