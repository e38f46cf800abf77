package config

import "testing"

func TestSizeHuman(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0B", 812: "812B", 1536: "1.5KiB", 3 << 30: "3GiB", 5 << 40: "5TiB"} {
		if got := Size(n).Human(); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}
