package quality

import (
	"math"
	"testing"
	"time"
)

func TestMOS(t *testing.T) {
	tests := []struct {
		name    string
		latency time.Duration
		jitter  time.Duration
		loss    float64
		want    float64
	}{
		// EL = 0 + 0 + 10 = 10 < 160, R = 93.2 - 10/40 = 92.95.
		// R(R-60)(100-R) = 92.95 * 32.95 * 7.05 = 21592.052625
		// MOS = 1 + 3.25325 + 0.151144368 = 4.404394368
		{"perfect", 0, 0, 0, 4.404394368},
		// EL = 100 + 2*20 + 10 = 150 < 160, R = 93.2 - 3.75 = 89.45.
		// 89.45 * 29.45 * 10.55 = 27791.891375
		// MOS = 1 + 3.13075 + 0.194543240 = 4.325293240
		{"EL below 160", 100 * time.Millisecond, 20 * time.Millisecond, 0, 4.325293240},
		// EL = 150 + 2*10 + 10 = 180 >= 160, R = 93.2 - (180-120)/10 = 87.2.
		// 87.2 * 27.2 * 12.8 = 30359.552
		// MOS = 1 + 3.052 + 0.212516864 = 4.264516864
		{"EL above 160", 150 * time.Millisecond, 10 * time.Millisecond, 0, 4.264516864},
		// EL = 10, R = 92.95 - 2.5*5 = 80.45.
		// 80.45 * 20.45 * 19.55 = 32163.708875
		// MOS = 1 + 2.81575 + 0.225145962 = 4.040895962
		{"5% loss", 0, 0, 5, 4.040895962},
		// R = 92.95 - 250 < 0 -> 0, MOS = 1.
		{"total loss", 0, 0, 100, 1},
		// EL = 10010, R = 93.2 - 989 < 0 -> 0, MOS = 1.
		{"huge latency", 10 * time.Second, 0, 0, 1},
		// R = 92.95 + 25 = 117.95 -> 100, MOS = 1 + 3.5 + 0 = 4.5.
		{"clamped at 100", 0, 0, -10, 4.5},
	}
	for _, tt := range tests {
		got := MOS(tt.latency, tt.jitter, tt.loss)
		if math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("%s: MOS(%v, %v, %v) = %.9f, want %.9f", tt.name, tt.latency, tt.jitter, tt.loss, got, tt.want)
		}
	}
	if MOS(0, 0, 5) >= MOS(0, 0, 0) {
		t.Error("5% loss does not lower the MOS")
	}
}

func TestWeakHysteresis(t *testing.T) {
	steps := []struct {
		mos           float64
		weak, changed bool
	}{
		{4.4, false, false},
		{4.0, false, false}, // not below 4.0
		{3.99, true, true},
		{3.5, true, false},
		{4.05, true, false}, // inside the hysteresis band
		{4.0999, true, false},
		{4.1, false, true},
		{4.05, false, false},
		{3.9, true, true},
		{4.3, false, true},
	}
	var w Weak
	for i, s := range steps {
		weak, changed := w.Update(s.mos)
		if weak != s.weak || changed != s.changed {
			t.Errorf("step %d: Update(%v) = (%v, %v), want (%v, %v)", i, s.mos, weak, changed, s.weak, s.changed)
		}
	}
}
