package bash

import (
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
	} {
		if got := tarTokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("tarTokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
