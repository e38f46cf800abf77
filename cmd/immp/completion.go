package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// cmdCompletion prints a completion script for bash or zsh. The script is
// built from the verbs table and from each verb's own -h output, so a new
// verb, sub-command or flag is completed without touching this file.
func cmdCompletion(e cliEnv, args []string) int {
	fs := newFlags(e, "completion", "immp completion bash|zsh")
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "bash" && fs.Arg(0) != "zsh") {
		return e.usageError(fs, "name the shell: bash or zsh")
	}
	script := bashCompletion(e.ctx)
	if fs.Arg(0) == "zsh" {
		// zsh runs bash completion functions through bashcompinit.
		script = "#compdef immp\n# zsh completion for immp: source <(immp completion zsh)\n" +
			"autoload -U +X bashcompinit && bashcompinit\n" + script
	}
	fmt.Fprint(e.stdout, script)
	return exitOK
}

// verbHelp is what "immp ARGS... -h" prints.
func verbHelp(ctx context.Context, args ...string) string {
	var out bytes.Buffer
	e := cliEnv{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard,
		getenv: func(string) string { return "" }, systemConfig: defaultSystemConfig}
	run(e, append(args, "-h"))
	return out.String()
}

var (
	subLine  = regexp.MustCompile(`(?m)^\s+immp ([a-z-]+) ([a-z][a-z-]*)\b`)
	flagLine = regexp.MustCompile(`(?m)^  (-[a-z][a-z-]*)(?: ([A-Z:]+))?`)
)

// flagsOf lists the flags in a usage text, and those taking a file or
// directory.
func flagsOf(help string) (flags []string, fileFlags []string) {
	for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
		flags = append(flags, m[1])
		if strings.Contains(m[2], "FILE") || strings.Contains(m[2], "DIR") || strings.Contains(m[2], "PATH") {
			fileFlags = append(fileFlags, m[1])
		}
	}
	return flags, fileFlags
}

// bashCompletion writes the bash script: verbs, sub-commands, flags, and
// file names after flags that take a file.
func bashCompletion(ctx context.Context) string {
	var names []string
	var cases strings.Builder
	files := map[string]bool{}
	for _, v := range verbs() {
		names = append(names, v.name)
		help := verbHelp(ctx, v.name)
		var subs []string
		seen := map[string]bool{}
		for _, m := range subLine.FindAllStringSubmatch(help, -1) {
			if m[1] == v.name && !seen[m[2]] {
				seen[m[2]] = true
				subs = append(subs, m[2])
			}
		}
		if len(subs) == 0 {
			flags, ff := flagsOf(help)
			for _, f := range ff {
				files[f] = true
			}
			fmt.Fprintf(&cases, "\t%s) flags=%q ;;\n", v.name, strings.Join(flags, " "))
			continue
		}
		fmt.Fprintf(&cases, "\t%s) subs=%q\n\t\tcase \"$sub\" in\n", v.name, strings.Join(subs, " "))
		for _, s := range subs {
			flags, ff := flagsOf(verbHelp(ctx, v.name, s))
			for _, f := range ff {
				files[f] = true
			}
			fmt.Fprintf(&cases, "\t\t%s) flags=%q ;;\n", s, strings.Join(flags, " "))
		}
		cases.WriteString("\t\tesac ;;\n")
	}
	var fileFlags []string
	for f := range files {
		fileFlags = append(fileFlags, f)
	}
	sort.Strings(fileFlags)
	if len(fileFlags) == 0 {
		fileFlags = []string{"-config"}
	}
	return fmt.Sprintf(`# bash completion for immp: source <(immp completion bash)
_immp() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local verb=${COMP_WORDS[1]} sub=${COMP_WORDS[2]} subs="" flags=""
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	case "$prev" in
	%s) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	case "$verb" in
	help) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W %q -- "$cur")); return ;;
%s	esac
	if [ -n "$subs" ] && [ "$COMP_CWORD" -eq 2 ]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	elif [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$flags -h" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _immp immp
`, strings.Join(append(names, "help"), " "), strings.Join(fileFlags, "|"), strings.Join(names, " "), cases.String())
}
