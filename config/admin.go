package config

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
)

// MinAdminPassword is the shortest admin page password accepted.
const MinAdminPassword = 12

// AdminPassword reads http.admin_password_file: its first line, without
// the line end. The file must not be readable by other users.
func (c *Config) AdminPassword() (string, error) {
	p := c.HTTP.AdminPasswordFile
	fi, err := os.Stat(p)
	if err != nil {
		return "", bad("http.admin_password_file", "%v", err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return "", bad("http.admin_password_file", "%s is readable by other users: chmod o-rwx %s", p, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", bad("http.admin_password_file", "%v", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", bad("http.admin_password_file", "%s is empty", p)
		}
		return "", bad("http.admin_password_file", "%v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < MinAdminPassword {
		return "", bad("http.admin_password_file", "the password in %s is shorter than %d characters", p, MinAdminPassword)
	}
	return pw, nil
}

// validateAdmin: the admin page needs the [http] listener and a password
// that can be read. It is never on without one, whatever the address.
func (c *Config) validateAdmin() error {
	switch c.HTTP.MTASTSMode { // RFC 8461 5
	case "", "testing", "enforce", "none":
	default:
		return bad("http.mta_sts_mode", "must be \"testing\", \"enforce\", \"none\" or \"\" (not served), not %q", c.HTTP.MTASTSMode)
	}
	if c.HTTP.AdminPasswordFile == "" {
		return nil
	}
	if c.HTTP.Listen == "" {
		return bad("http.admin_password_file", "is set but http.listen is off: the admin page is served there")
	}
	_, err := c.AdminPassword()
	return err
}
