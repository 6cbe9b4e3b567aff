package config

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
)

const referencePath = "../docs/config-reference.md"

// readReference returns the configuration reference, or skips the test when
// the documentation is not next to the package.
func readReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(referencePath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no", referencePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReferenceExampleLoads keeps the example of the reference valid.
func TestReferenceExampleLoads(t *testing.T) {
	doc := readReference(t)
	_, rest, ok := strings.Cut(doc, "```yaml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("no ```yaml example in", referencePath)
	}
	t.Setenv("CARRIER_A_PASSWORD", "secret")
	unsetEnv(t, "PBX_PASSWORD")
	c := mustLoad(t, writeConfig(t, example))
	if got := c.Trunks[1].Inbound.Auth.Password; got != "change-me" {
		t.Errorf("pbx password = %q, want the ${PBX_PASSWORD:-change-me} default", got)
	}
}

// TestReferenceListsEveryKey checks that every key of Config appears in the
// reference, in its notation: "sip.tls.cert", "trunks[].codecs",
// "inbound.auth.realm", "flows.NAME[].dial.trunk".
func TestReferenceListsEveryKey(t *testing.T) {
	doc := readReference(t)
	for _, key := range leafKeys(reflect.TypeFor[Config](), "") {
		if rest, ok := strings.CutPrefix(key, "trunks[]."); ok && strings.Contains(rest, ".") {
			key = rest // inbound.* and outbound.* have tables of their own
		}
		if !strings.Contains(doc, "`"+key+"`") {
			t.Errorf("%s does not document `%s`", referencePath, key)
		}
	}
}

// leafKeys lists the settings under t in the reference's notation.
func leafKeys(t reflect.Type, prefix string) []string {
	switch {
	case t == durationType:
		return []string{prefix}
	case t.Kind() == reflect.Pointer:
		return leafKeys(t.Elem(), prefix)
	case t.Kind() == reflect.Struct:
		var keys []string
		for i := range t.NumField() {
			if name := yamlName(t.Field(i)); name != "" {
				keys = append(keys, leafKeys(t.Field(i).Type, joinKey(prefix, name))...)
			}
		}
		return keys
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.String:
		return leafKeys(t.Elem(), prefix+"[]")
	case t.Kind() == reflect.Map:
		return leafKeys(t.Elem(), prefix+".NAME")
	}
	return []string{prefix}
}

// TestReadmeIncludesReference: the README ends with the configuration
// reference, copied verbatim from docs/config-reference.md.
func TestReadmeIncludesReference(t *testing.T) {
	doc := readReference(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(readme), doc) {
		t.Error("README.md does not end with docs/config-reference.md: copy it again")
	}
}
