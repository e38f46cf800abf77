package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// Duration is a time.Duration written as in Go ("30s", "5m", "1h30m").
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"30s\", \"5m\", \"1h\"): %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration in its shortest Go form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String is the shortest readable form: "30m" rather than "30m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Size is a number of octets written with a unit ("25MiB", "512KiB", "1GB")
// or as a plain number of octets.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// UnmarshalText parses "25MiB", "10 MB", "1024".
func (s *Size) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			str = strings.TrimSpace(strings.TrimSuffix(str, u.suffix))
			mult = u.mult
			break
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("not a size (want e.g. \"25MiB\", \"512KiB\"): %q", b)
	}
	*s = Size(n * mult)
	return nil
}

// MarshalText writes the size with the largest binary unit that divides it.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseQuota reads a storage quota as "immp user quota" and the admin page
// take it: a size ("1GiB"), "unlimited" or "none" (0), or "default"
// (maildir.QuotaDefault: follow [accounts] quota).
func ParseQuota(s string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "default":
		return maildir.QuotaDefault, nil
	case "unlimited", "none":
		return 0, nil
	}
	var sz Size
	if err := sz.UnmarshalText([]byte(s)); err != nil {
		return 0, err
	}
	return int64(sz), nil
}

// Human writes s with a binary unit and one decimal where it is not a
// whole number of them ("0B", "812B", "1.5KiB", "3GiB"): storage use as
// "immp user list" and the admin page show it.
func (s Size) Human() string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(s), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 || f == float64(int64(f)) {
		return fmt.Sprintf("%d%s", int64(f), units[i])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}

func (s Size) String() string {
	n := int64(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
