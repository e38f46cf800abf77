package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// doctorMaxReports bounds the lines about one kind of problem; the rest
// are counted.
const doctorMaxReports = 20

// cmdDoctor checks what makes a server fail at run time rather than at
// start: config warnings, and files in the data directory that the
// server's user (the directory's owner) cannot write.
func cmdDoctor(e cliEnv, args []string) int {
	fs := newFlags(e, "doctor", "immp doctor [-config FILE]")
	path := configFlag(e, fs)
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return e.usageError(fs, "doctor takes no arguments")
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	problems := 0
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stdout, "config: warning: %v\n", w)
	}
	owner, found, err := dataOwner(cfg.DataDir)
	switch {
	case err != nil:
		fmt.Fprintf(e.stdout, "data_dir %s: %v\n", cfg.DataDir, err)
		return exitFail
	case !found:
		fmt.Fprintf(e.stdout, "data_dir %s: does not exist yet; the first user command or serve creates it\n", cfg.DataDir)
		return exitOK
	}
	if me := uint32(os.Geteuid()); me != owner {
		fmt.Fprintf(e.stdout, "note: running as %s; the data directory belongs to %s, which the server should run as\n",
			userName(me), userName(owner))
	}
	problems, err = scanData(e, cfg.DataDir, owner)
	if err != nil {
		fmt.Fprintf(e.stdout, "data_dir %s: %v\n", cfg.DataDir, err)
		return exitFail
	}
	if problems > 0 {
		fmt.Fprintf(e.stdout, "%d problem(s). As root, give everything back to the server's user and let it write:\n"+
			"  chown -R %s %s && chmod -R u+rwX %s\n", problems, nameOrID(owner), cfg.DataDir, cfg.DataDir)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "data_dir %s: every file belongs to %s and is writable by it\n", cfg.DataDir, userName(owner))
	return exitOK
}

// dataOwner is the uid owning dir; found is false when dir does not exist.
func dataOwner(dir string) (uid uint32, found bool, err error) {
	fi, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false, fmt.Errorf("no owner information on this system")
	}
	return st.Uid, true, nil
}

// scanData reports every file or directory under dir that is not owned by
// owner, or that its owner cannot write (directories: also enter), and
// returns how many.
func scanData(e cliEnv, dir string, owner uint32) (int, error) {
	var wrongOwner, wrongMode int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(e.stdout, "%s: cannot be read: %v\n", p, err)
			wrongMode++
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if st.Uid != owner {
			wrongOwner++
			if wrongOwner <= doctorMaxReports {
				fmt.Fprintf(e.stdout, "%s: owned by %s, not by %s: the server cannot change it (mail to that account gets 451)\n",
					p, userName(st.Uid), userName(owner))
			}
			if d.IsDir() && p != dir {
				return fs.SkipDir // the repair below covers what is inside
			}
			return nil
		}
		need := fs.FileMode(0o600)
		if d.IsDir() {
			need = 0o700
		}
		if fi.Mode().Perm()&need != need {
			wrongMode++
			if wrongMode <= doctorMaxReports {
				fmt.Fprintf(e.stdout, "%s: mode %v: its owner needs %v at least\n", p, fi.Mode().Perm(), need)
			}
		}
		return nil
	})
	for _, x := range []struct {
		n    int
		what string
	}{{wrongOwner, "with the wrong owner"}, {wrongMode, "with the wrong mode"}} {
		if x.n > doctorMaxReports {
			fmt.Fprintf(e.stdout, "... and %d more %s\n", x.n-doctorMaxReports, x.what)
		}
	}
	return wrongOwner + wrongMode, err
}
