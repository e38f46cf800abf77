package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	m := completionModel(e.ctx)
	if fs.Arg(0) == "zsh" {
		fmt.Fprint(e.stdout, zshCompletion(m))
	} else {
		fmt.Fprint(e.stdout, bashCompletion(m))
	}
	return exitOK
}

// completions is what both scripts complete: the verbs in table order,
// each with its sub-commands and flags, and the flags that take a path.
type completions struct {
	verbs     []verbCompletion
	fileFlags []string // sorted
}

type verbCompletion struct {
	name  string
	flags []string // a verb without sub-commands
	subs  []subCompletion
}

type subCompletion struct {
	name  string
	flags []string
}

// completionModel reads every verb's (and sub-command's) usage text.
func completionModel(ctx context.Context) completions {
	var m completions
	files := map[string]bool{}
	add := func(help string) []string {
		flags, ff := flagsOf(help)
		for _, f := range ff {
			files[f] = true
		}
		return flags
	}
	for _, v := range verbs() {
		vc := verbCompletion{name: v.name}
		help := verbHelp(ctx, v.name)
		seen := map[string]bool{}
		for _, s := range subLine.FindAllStringSubmatch(help, -1) {
			if s[1] == v.name && !seen[s[2]] {
				seen[s[2]] = true
				vc.subs = append(vc.subs, subCompletion{name: s[2], flags: add(verbHelp(ctx, v.name, s[2]))})
			}
		}
		if len(vc.subs) == 0 {
			vc.flags = add(help)
			// "Usage: immp completion bash|zsh": the choices are its words.
			if c := choiceLine.FindStringSubmatch(help); c != nil && c[1] == v.name {
				for _, w := range strings.Split(c[2], "|") {
					vc.subs = append(vc.subs, subCompletion{name: w, flags: vc.flags})
				}
			}
		}
		m.verbs = append(m.verbs, vc)
	}
	for f := range files {
		m.fileFlags = append(m.fileFlags, f)
	}
	slices.Sort(m.fileFlags)
	if len(m.fileFlags) == 0 {
		m.fileFlags = []string{"-config"}
	}
	return m
}

func (m completions) verbNames() string {
	var names []string
	for _, v := range m.verbs {
		names = append(names, v.name)
	}
	return strings.Join(names, " ")
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
	subLine    = regexp.MustCompile(`(?m)^\s+immp ([a-z-]+) ([a-z][a-z-]*)\b`)
	choiceLine = regexp.MustCompile(`(?m)^Usage: immp ([a-z-]+) ([a-z]+(?:\|[a-z]+)+)$`)
	flagLine   = regexp.MustCompile(`(?m)^  (-[a-z][a-z-]*)(?: ([A-Z:]+))?`)
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

// caseArms writes the arms of the shell "case $verb" that set subs and
// flags, with list quoting a word list the shell's way and sub the
// expression of the second word; bash and zsh share the case syntax.
func (m completions) caseArms(list func([]string) string, sub string) string {
	var b strings.Builder
	for _, v := range m.verbs {
		if len(v.subs) == 0 {
			fmt.Fprintf(&b, "\t%s) flags=%s ;;\n", v.name, list(v.flags))
			continue
		}
		var subs []string
		for _, s := range v.subs {
			subs = append(subs, s.name)
		}
		fmt.Fprintf(&b, "\t%s) subs=%s\n\t\tcase %s in\n", v.name, list(subs), sub)
		for _, s := range v.subs {
			fmt.Fprintf(&b, "\t\t%s) flags=%s ;;\n", s.name, list(s.flags))
		}
		b.WriteString("\t\tesac ;;\n")
	}
	return b.String()
}

// bashCompletion is the bash script: verbs, sub-commands, flags, and file
// names after flags that take a file.
func bashCompletion(m completions) string {
	cases := m.caseArms(func(words []string) string { return fmt.Sprintf("%q", strings.Join(words, " ")) }, `"$sub"`)
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
`, m.verbNames()+" help", strings.Join(m.fileFlags, "|"), m.verbNames(), cases)
}

// zshCompletion is a native zsh completion function (zshcompsys(1)): the
// same completions as bash, offered through compadd and _files so zsh's
// own matching, menus and descriptions work. It can be sourced after
// compinit, or saved as _immp in a directory of $fpath.
func zshCompletion(m completions) string {
	cases := m.caseArms(func(words []string) string { return "(" + strings.Join(words, " ") + ")" }, "$sub")
	return fmt.Sprintf(`#compdef immp
# zsh completion for immp: source <(immp completion zsh) after compinit,
# or save as _immp in a directory of $fpath.
_immp() {
	local verb=${words[2]} sub=${words[3]}
	local -a subs flags
	if (( CURRENT == 2 )); then
		compadd -- %s help
		return
	fi
	case ${words[CURRENT-1]} in
	%s) _files; return ;;
	esac
	case $verb in
	help) (( CURRENT == 3 )) && compadd -- %s; return ;;
%s	esac
	if (( ${#subs} && CURRENT == 3 )); then
		compadd -a subs
	elif [[ $PREFIX == -* ]]; then
		compadd -- $flags -h
	else
		_files
	fi
}
if [[ ${funcstack[1]} == _immp ]]; then
	_immp "$@"
else
	compdef _immp immp
fi
`, m.verbNames(), strings.Join(m.fileFlags, "|"), m.verbNames(), cases)
}
