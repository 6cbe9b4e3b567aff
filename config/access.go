package config

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Access is what a client of a running switch needs from its configuration
// file: where its HTTP listener is and a supervisor's API key.
type Access struct {
	// Listen is http.listen (DefaultHTTPListen when absent).
	Listen string
	// Key is the first of api.keys ("" when none).
	Key string
}

// ReadAccess reads http.listen and the first API key from the file at
// path, with ${VAR} expanded, without checking the rest: `switchboard
// reload` must reach the switch (and show its problems) even when the file
// it asks it to load has mistakes.
func ReadAccess(path string) (Access, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Access{}, fmt.Errorf("config: %w", err)
	}
	text, _ := expandEnv(string(raw))
	var doc struct {
		HTTP struct {
			Listen string `yaml:"listen"`
		} `yaml:"http"`
		API struct {
			Keys []struct {
				Key string `yaml:"key"`
			} `yaml:"keys"`
		} `yaml:"api"`
	}
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return Access{}, fmt.Errorf("config: %s: %w", path, err)
	}
	a := Access{Listen: doc.HTTP.Listen}
	setString(&a.Listen, DefaultHTTPListen)
	if len(doc.API.Keys) > 0 {
		a.Key = doc.API.Keys[0].Key
	}
	return a, nil
}
