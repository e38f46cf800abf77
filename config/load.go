package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Error is a configuration error. Key is the dotted name of the offending
// key ("smtp.listen"); Line is its line in File when known (0 otherwise).
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads, decodes and validates the TOML file at path. Keys absent
// from the file keep the file-mode defaults: limits at their defaults,
// every listener off, auto_create off.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &Error{File: path, Msg: err.Error()}
	}
	return Parse(data, path)
}

// Parse decodes and validates TOML text; name is used in error messages.
func Parse(data []byte, name string) (Config, error) {
	c := base()
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, decodeError(err, data, name)
	}
	if err := c.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = name
			ce.Line = lineOf(data, ce.Key)
		}
		return Config{}, err
	}
	return c, nil
}

// decodeError turns go-toml's errors into an *Error naming the key.
func decodeError(err error, data []byte, name string) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		var keys []string
		for _, e := range sm.Errors {
			keys = append(keys, strings.Join(e.Key(), "."))
		}
		row, _ := sm.Errors[0].Position()
		msg := "unknown key"
		if len(keys) > 1 {
			msg = "unknown key (also unknown: " + strings.Join(keys[1:], ", ") + ")"
		}
		return &Error{File: name, Line: row, Key: keys[0], Msg: msg}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return &Error{File: name, Line: row, Key: key, Msg: msg}
	}
	// Type mismatches and TextUnmarshaler failures come without a
	// position; go-toml names the field in the text.
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	return &Error{File: name, Key: guessKey(msg), Msg: msg}
}

// guessKey finds the Go field path go-toml puts into type errors
// ("... into a Go struct field Config.SMTP.Listen of type string") and
// maps it back to the TOML key.
func guessKey(msg string) string {
	i := strings.Index(msg, "field ")
	if i < 0 {
		return ""
	}
	path := strings.Fields(msg[i+len("field "):])[0]
	parts := strings.Split(path, ".")
	if len(parts) > 0 && parts[0] == "Config" {
		parts = parts[1:]
	}
	return tomlKeyOf(parts)
}

// lineOf finds the line where a dotted key is set in TOML text, by a plain
// scan of [section] headers and "key =" lines. 0 when it is not there (the
// key kept its default).
func lineOf(data []byte, key string) int {
	section, name := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		section, name = key[:i], key[i+1:]
	}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = strings.TrimSpace(strings.Trim(line, "[]"))
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"`)
		if (cur == section && k == name) || (cur == "" && k == key) {
			return n
		}
	}
	return 0
}
