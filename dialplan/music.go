package dialplan

import (
	"context"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// HoldMusic is what a caller on hold in queue hears: the queue's hold
// (queues[].hold), else the top-level hold; music (the built-in music when
// none is set) with its announcement repeated over it.
func (e *Engine) HoldMusic(ctx context.Context, queue string) *call.Music {
	h := e.cfg.Hold
	for _, q := range e.cfg.Queues {
		if q.Name == queue && q.Hold != nil {
			h = *q.Hold
		}
	}
	every := h.Announcement.Every
	if every <= 0 {
		every = config.DefaultHoldAnnouncementEvery
	}
	return e.music(ctx, h.Music, h.Announcement, every)
}

// TransferMusic is what a caller hears while a transfer's target rings:
// transfers.music (the built-in hold music when none is set) with
// transfers.message repeated over it.
func (e *Engine) TransferMusic(ctx context.Context) *call.Music {
	t := e.cfg.Transfers
	every := t.Message.Every
	if every <= 0 {
		every = config.DefaultTransferMessageEvery
	}
	return e.music(ctx, t.Music, t.Message, every)
}

// QueueMusic is what a caller transferred to queue hears while waiting
// there: its waiting strategy's music with its announcement (response codes
// and the maximum wait apply only to callers the dialplan queued).
func (e *Engine) QueueMusic(ctx context.Context, queue string) *call.Music {
	ws, _ := e.strategy(ctx, queue, "")
	return e.music(ctx, ws.Music, config.Message{File: ws.Announcement.File}, ws.Announcement.Every)
}

// music loads a music file (none: the built-in music) and a message, once,
// and plays them at whatever rate the caller's leg needs. A file that does
// not load is logged and left out: the caller hears the rest.
func (e *Engine) music(ctx context.Context, file string, msg config.Message, every time.Duration) *call.Music {
	var clip *audio.Clip
	if file != "" {
		c, err := e.prompts.File(ctx, e.path(file))
		if err != nil {
			e.log.Warn("music does not load: the built-in music plays", "file", file, "error", err)
		}
		clip = c
	}
	if clip == nil {
		clip = e.builtinMusic()
	}
	var m *audio.Clip
	var err error
	switch {
	case msg.File != "":
		m, err = e.prompts.File(ctx, e.path(msg.File))
	case msg.Say != "":
		m, err = e.prompts.Say(ctx, prompt.Speech{Text: msg.Say})
	}
	if err != nil {
		e.log.Warn("message does not load: music alone", "file", msg.File, "error", err)
		m = nil
	}
	return &call.Music{New: func(rate int) audio.Source { return audio.NewRepeat(rate, clip, m, every) }}
}
