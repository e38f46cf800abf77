package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// The server must be able to write every file of its data directory: a
// maildir folder or an immp.db-wal created by root while the server runs
// as "immp" makes that account answer 451 until someone runs chown. immp
// refuses rather than fixes up: a verb that writes into the data directory
// (anything but the network clients below) runs only as the directory's
// owner, and says which command to use instead. Creating files as the
// owner would need every writer (SQLite's -wal and -shm files included)
// to chown after the fact, and a crash between the two would leave the
// very file this prevents.

// writesData reports whether verb opens the data directory for writing.
// The exceptions talk to the server over the network or only read files.
func writesData(verb string) bool {
	switch verb {
	case "guard", "subinbox", "healthcheck", "dns", "config", "doctor", "version", "help", "completion":
		return false
	}
	return true
}

// ownerProblem is why this process must not write into dataDir, or "".
// A directory that does not exist yet is fine: it will be this user's.
func ownerProblem(dataDir string) string {
	fi, err := os.Stat(dataDir)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	me := os.Geteuid()
	if int(st.Uid) == me {
		return ""
	}
	owner := userName(st.Uid)
	return fmt.Sprintf("the data directory %s belongs to %s, but this command runs as %s: "+
		"files it created would not be writable by the server. Run it as the owner: "+
		"\"sudo -u %s immp ...\", or in the container \"docker exec -u %s CONTAINER immp ...\"",
		dataDir, owner, userName(uint32(me)), nameOrID(st.Uid), nameOrID(st.Uid))
}

// userName is "name (uid N)", or "uid N" for a uid without a name.
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username + " (uid " + id + ")"
	}
	return "uid " + id
}

// nameOrID is what sudo -u and docker exec -u take: the name, else "#N"
// for sudo's numeric form (docker takes the number too).
func nameOrID(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}
