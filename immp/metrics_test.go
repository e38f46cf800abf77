package immp

import (
	"testing"

	"github.com/immp-mail/immp/internal/metrics"
)

// TestMetrics: one count per command outcome, by name and result.
func TestMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnv(t, func(o *Options) { o.Metrics = m })
	c := e.dial()
	c.cmd("A NOOP")
	c.cmd("B NOOP")
	c.cmd("C FROB")
	c.cmd("D CREATE x")
	c.send("E LOGOUT")
	c.expect("* BYE IMMP Server logging out", "E OK LOGOUT completed")
	want := map[[2]string]float64{
		{"NOOP", "OK"}: 2, {"UNKNOWN", "BAD"}: 1, {"CREATE", "BAD"}: 1, {"LOGOUT", "OK"}: 1,
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "immp_immp_commands_total" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			var k [2]string
			for _, l := range mm.GetLabel() {
				switch l.GetName() {
				case "command":
					k[0] = l.GetValue()
				case "result":
					k[1] = l.GetValue()
				}
			}
			got[k] = mm.GetCounter().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
