package sdes

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	line80 = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"
	line32 = "2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"
)

func mustParse(t testing.TB, v string) Crypto {
	t.Helper()
	c, err := ParseCrypto(v)
	if err != nil {
		t.Fatalf("ParseCrypto(%q): %v", v, err)
	}
	return c
}

func TestParseCryptoRoundTrip(t *testing.T) {
	tests := []struct {
		line     string
		tag      int
		suite    Suite
		key      string
		lifetime string
		mki      string
	}{
		{line80, 1, AES128CMHMACSHA1_80, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", "2^20", "1:32"},
		{line32, 2, AES128CMHMACSHA1_32, "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", "", ""},
		{"3 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^31", 3, AES128CMHMACSHA1_80,
			"NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", "2^31", ""},
		{"4 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1:4", 4, AES128CMHMACSHA1_32,
			"NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", "", "1:4"},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.line)
		want, _ := base64.StdEncoding.DecodeString(tt.key)
		if c.Tag != tt.tag || c.Suite != tt.suite || c.Lifetime != tt.lifetime || c.MKI != tt.mki {
			t.Errorf("ParseCrypto(%q) = tag %d suite %q lifetime %q mki %q", tt.line, c.Tag, c.Suite, c.Lifetime, c.MKI)
		}
		if !bytes.Equal(c.Key, want) || len(c.Key) != KeyLen {
			t.Errorf("ParseCrypto(%q).Key = %x, want %x", tt.line, c.Key, want)
		}
		if got := c.Value(); got != tt.line {
			t.Errorf("Value() = %q, want %q", got, tt.line)
		}
	}
	// Extra whitespace (and a CR left by a line splitter) is tolerated.
	c := mustParse(t, "  2  AES_CM_128_HMAC_SHA1_32   inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r")
	if c.Value() != line32 {
		t.Errorf("Value() = %q, want %q", c.Value(), line32)
	}
}

func TestParseCryptoErrors(t *testing.T) {
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	tests := []struct {
		line string
		want error
	}{
		{"1 F8_128_HMAC_SHA1_80 inline:" + key, ErrUnsupportedSuite},
		{"1 AEAD_AES_256_GCM inline:" + key, ErrUnsupportedSuite},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:" + key, ErrUnsupportedSuite},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key[:36], ErrMalformed},                              // short key (27 bytes)
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key[:38] + "==", ErrMalformed},                       // 28 bytes, padded
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "QUJD", ErrMalformed},                          // 33 bytes
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPy!jNWhcYD0mXXtxaVBR", ErrMalformed}, // bad base64
		{"1 AES_CM_128_HMAC_SHA1_80 " + key, ErrMalformed},                                          // no inline:
		{"1 AES_CM_128_HMAC_SHA1_80 uri:" + key, ErrMalformed},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " UNENCRYPTED_SRTP", ErrUnsupportedParam},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " KDR=1", ErrUnsupportedParam},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4;inline:" + key + "|2^20|2:4", ErrUnsupportedParam},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|forever", ErrMalformed},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:999", ErrMalformed},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4|x", ErrMalformed},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key, ErrMalformed},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key, ErrMalformed},
		{"1 AES_CM_128_HMAC_SHA1_80", ErrMalformed},
		{"", ErrMalformed},
	}
	for _, tt := range tests {
		_, err := ParseCrypto(tt.line)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseCrypto(%q) = %v, want %v", tt.line, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), key[:20]) {
			t.Errorf("ParseCrypto(%q) error leaks the key: %v", tt.line, err)
		}
	}
	// FEC_KEY carries key material: the error names the parameter only.
	_, err := ParseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " FEC_KEY=inline:" + key)
	if !errors.Is(err, ErrUnsupportedParam) || strings.Contains(err.Error(), key[:20]) || !strings.Contains(err.Error(), "FEC_KEY") {
		t.Errorf("FEC_KEY: err = %v", err)
	}
}

// TestCryptoRedaction checks that nothing but Value renders the key, in any
// encoding a log line could use.
func TestCryptoRedaction(t *testing.T) {
	c := mustParse(t, line80)
	b64 := "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	leaks := func(s string) bool {
		return strings.Contains(s, b64) || strings.Contains(s, b64[:12]) ||
			strings.Contains(s, hex.EncodeToString(c.Key[:8])) ||
			strings.Contains(s, strings.ToUpper(hex.EncodeToString(c.Key[:8]))) ||
			strings.Contains(s, fmt.Sprint(c.Key[:6])) || // "[61 45 110 ..." as %v of []byte
			strings.Contains(s, strings.TrimSuffix(fmt.Sprintf("%#v", c.Key[:6])[len("[]byte{"):], "}")) ||
			strings.Contains(s, string(c.Key[:8]))
	}
	if !leaks(c.Value()) {
		t.Fatal("leak detector does not see the key in Value()")
	}
	if want := "1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^20|1:32"; c.String() != want {
		t.Errorf("String() = %q, want %q", c.String(), want)
	}
	type wrapper struct {
		Remote Crypto
		Ptr    *Crypto
	}
	w := wrapper{Remote: c, Ptr: &c}
	var outs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(f, c), fmt.Sprintf(f, &c), fmt.Sprintf(f, w), fmt.Sprintf(f, []Crypto{c}))
	}
	outs = append(outs, c.String(), c.GoString(), c.LogValue().String(), fmt.Sprint(c), fmt.Sprintln(c))
	if !strings.Contains(fmt.Sprintf("%#v", c), "sdes.Crypto{Tag:1") {
		t.Errorf("%%#v = %s", fmt.Sprintf("%#v", c))
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("offer", "crypto", c, "ptr", &c, slog.Any("wrapped", w), slog.Group("g", "c", c))
	}
	outs = append(outs, buf.String())
	if !strings.Contains(buf.String(), `"crypto":"1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^20|1:32"`) {
		t.Errorf("slog JSON output lacks the redacted attribute: %s", buf.String())
	}
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	for _, s := range outs {
		if leaks(s) {
			t.Errorf("key leaked in %q", s)
		}
		if !strings.Contains(s, "redacted") {
			t.Errorf("no redaction marker in %q", s)
		}
	}
}

func TestGenerate(t *testing.T) {
	a, err := Generate(7, AES128CMHMACSHA1_32)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(7, AES128CMHMACSHA1_32)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Key) != KeyLen || bytes.Equal(a.Key, b.Key) || bytes.Equal(a.Key, make([]byte, KeyLen)) {
		t.Fatalf("Generate keys: %x %x", a.Key, b.Key)
	}
	back := mustParse(t, a.Value())
	if back.Tag != 7 || back.Suite != AES128CMHMACSHA1_32 || !bytes.Equal(back.Key, a.Key) {
		t.Errorf("round trip of generated line: %v", back)
	}
	if _, err := Generate(1, "AEAD_AES_128_GCM"); !errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("Generate(GCM) err = %v", err)
	}
}

func TestSelect(t *testing.T) {
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	offer := []Crypto{
		{Tag: 1, Suite: "AEAD_AES_256_GCM", Key: make([]byte, 44)},
		mustParse(t, "2 AES_CM_128_HMAC_SHA1_80 inline:"+key+"|2^20|1:4"), // MKI: skipped
		mustParse(t, "3 AES_CM_128_HMAC_SHA1_32 inline:"+key),
		mustParse(t, "4 AES_CM_128_HMAC_SHA1_80 inline:"+key),
	}
	remote, local, err := Select(offer)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Tag != 3 || remote.Suite != AES128CMHMACSHA1_32 {
		t.Errorf("remote = %v, want tag 3 _32", remote)
	}
	if local.Tag != 3 || local.Suite != AES128CMHMACSHA1_32 || len(local.Key) != KeyLen ||
		bytes.Equal(local.Key, remote.Key) || local.MKI != "" || local.Lifetime != "" {
		t.Errorf("local = %v", local)
	}
	if _, err := NewSession(local, remote); err != nil {
		t.Errorf("NewSession(Select()): %v", err)
	}

	// Order of the offer wins over our preference.
	remote, _, err = Select([]Crypto{offer[3], offer[2]})
	if err != nil || remote.Tag != 4 {
		t.Errorf("Select = %v, %v; want tag 4", remote, err)
	}

	for _, o := range [][]Crypto{nil, offer[:2], {{Tag: 1, Suite: AES128CMHMACSHA1_80, Key: make([]byte, 16)}}} {
		if _, _, err := Select(o); !errors.Is(err, ErrNoSuite) {
			t.Errorf("Select(%v) err = %v, want ErrNoSuite", o, err)
		}
	}
}
