package bash

import (
	"context"
	"slices"
	"testing"
)

// TestTarTokens: tar's argument styles, one option per token.
func TestTarTokens(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{[]string{"czf", "out.tgz", "dir"}, []string{"-c", "-z", "-f", "out.tgz", "dir"}},
		{[]string{"-xzvf", "a.tgz", "-C", "out"}, []string{"-x", "-z", "-v", "-f", "a.tgz", "-C", "out"}},
		{[]string{"-tfa.tgz"}, []string{"-t", "-f", "a.tgz"}},
		{[]string{"Cxzf", "dir", "a.tgz"}, []string{"-C", "dir", "-x", "-z", "-f", "a.tgz"}},
		{[]string{"--create", "--gzip", "--file=x.tgz", "--", "-z"}, []string{"--create", "--gzip", "--file=x.tgz", "--", "-z"}},
		{[]string{"-c", "-", "x"}, []string{"-c", "-", "x"}},
		// A long option's argument stays whole, whatever it looks like.
		{[]string{"-czf", "o.tgz", "--exclude", "-foo", "d"}, []string{"-c", "-z", "-f", "o.tgz", "--exclude", "-foo", "d"}},
	} {
		if got := tarTokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("tarTokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPlanTarGzip: which tar commands run as a pipeline, and with what.
func TestPlanTarGzip(t *testing.T) {
	var ip *Interpreter // the cases below never read the archive
	for _, c := range []struct {
		args    []string
		ok      bool
		create  bool
		archive string
		tar     []string
	}{
		{[]string{"tar", "czf", "o.tgz", "d"}, true, true, "o.tgz", []string{"tar", "-f", "-", "-c", "d"}},
		{[]string{"tar", "-xzf", "o.tgz", "-C", "out"}, true, false, "o.tgz", []string{"tar", "-f", "-", "-x", "-C", "out"}},
		{[]string{"tar", "--create", "--gzip", "--file", "o.tgz", "--exclude", "-foo", "d"}, true, true, "o.tgz",
			[]string{"tar", "-f", "-", "--create", "--exclude", "-foo", "d"}},
		{[]string{"tar", "-caf", "o.tgz", "d"}, true, true, "o.tgz", []string{"tar", "-f", "-", "-c", "d"}},
		{[]string{"tar", "-cf", "o.tar", "d"}, false, true, "", nil},                  // no compression
		{[]string{"tar", "-czf", "o.tgz", "--fil=x.tgz", "d"}, false, false, "", nil}, // an abbreviation
		{[]string{"tar", "-cjf", "o.tbz", "d"}, false, false, "", nil},                // another compressor
		{[]string{"tar", "-czf", "o.tgz", "--checkpoint-action=exec=x", "d"}, false, false, "", nil},
	} {
		p, ok := ip.planTarGzip(context.Background(), c.args)
		if ok != c.ok || ok && (p.create != c.create || p.archive != c.archive || !slices.Equal(p.args, c.tar)) {
			t.Errorf("planTarGzip(%q) = %+v %v", c.args, p, ok)
		}
	}
}
