package main

import (
	"errors"
	"io/fs"
	"os"
)

// defaultSystemConfig is where a packaged install keeps its config.
const defaultSystemConfig = "/etc/immp/immp.toml"

// localConfig is the config looked for in the working directory.
const localConfig = "immp.toml"

// configSource is the config a verb uses and how it was found.
type configSource struct {
	path string // "" is the built-in test-bed profile
	note string // what to tell on stderr; "" when -config named the file
}

// findConfig is config discovery, the same for every verb (DESIGN
// "Contracts"): -config FILE, else $IMMP_CONFIG, else ./immp.toml, else
// /etc/immp/immp.toml, else the built-in test-bed profile. Every choice
// but an explicit -config is said on stderr, so a forgotten flag never
// silently works on another data directory.
func findConfig(e cliEnv, flagPath string) configSource {
	if flagPath != "" {
		return configSource{path: flagPath}
	}
	if p := e.getenv("IMMP_CONFIG"); p != "" {
		return configSource{path: p, note: "using config " + p + " (from $IMMP_CONFIG)"}
	}
	if exists(localConfig) {
		return configSource{path: localConfig, note: "using config " + localConfig + " (found in the working directory)"}
	}
	sys := e.systemConfig
	if sys == "" {
		sys = defaultSystemConfig
	}
	if exists(sys) {
		return configSource{path: sys, note: "using config " + sys}
	}
	return configSource{note: "no config file (-config, $IMMP_CONFIG, ./immp.toml, " + sys +
		"): using the built-in test-bed profile (data in ./immp-data, domain localhost)"}
}

// exists reports whether path names something; a file that exists but
// cannot be read counts, so that loading it reports why.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
