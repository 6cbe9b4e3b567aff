package call

import (
	"testing"

	"github.com/switchboard-voice/switchboard/media"
)

func TestAnswerTo(t *testing.T) {
	pcmu := media.Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	pcma := media.Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
	te8 := media.Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000}
	opus := media.Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}
	te48 := media.Codec{Name: "telephone-event", PayloadType: 110, ClockRate: 48000}
	g729 := media.Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}
	offer := &media.Description{Direction: media.SendOnly, Codecs: []media.Codec{g729, pcma, pcmu, te8}}
	for _, tc := range []struct {
		name string
		ans  media.Description
		want []media.Codec
	}{
		{"relay: the far codec is offered (the offer's numbers kept)",
			media.Description{Direction: media.SendRecv, Codecs: []media.Codec{{Name: "PCMU", PayloadType: 96, ClockRate: 8000}}},
			[]media.Codec{pcmu, te8}},
		{"transcode: the first offered codec the switch can encode",
			media.Description{Direction: media.SendRecv, Codecs: []media.Codec{opus, te48}},
			[]media.Codec{pcma, te8}},
		{"the switch's own media: no far codec",
			media.Description{Direction: media.SendRecv},
			[]media.Codec{pcma, te8}},
	} {
		got := answerTo(offer, tc.ans)
		if got.Direction != media.RecvOnly {
			t.Errorf("%s: direction %v to a sendonly offer, want recvonly", tc.name, got.Direction)
		}
		if len(got.Codecs) != len(tc.want) {
			t.Errorf("%s: codecs %+v, want %+v", tc.name, got.Codecs, tc.want)
			continue
		}
		for i := range tc.want {
			if got.Codecs[i] != tc.want[i] {
				t.Errorf("%s: codec %d = %+v, want %+v", tc.name, i, got.Codecs[i], tc.want[i])
			}
		}
	}
	// Nothing the switch can encode: no audio (the leg answers 488).
	if got := answerTo(&media.Description{Codecs: []media.Codec{g729}}, media.Description{}); len(got.Audio()) != 0 {
		t.Errorf("G.729-only offer answered with %+v", got.Codecs)
	}
}
