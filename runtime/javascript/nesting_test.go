package javascript

import (
	"strings"
	"testing"

	"wasmbox/runtime"
)

func TestNesting(t *testing.T) {
	cases := []struct {
		code string
		want int
	}{
		{"", 0},
		{"f(a[1], {b: 2})", 2},
		{"'((((' + \"[[[\"", 0},
		{"// ((((\nx", 0},
		{"/* {{{{ */ (1)", 1},
		{"'unterminated (((", 0},
		{"`${(1)}`", 2},
		{"))))(", 1},
		{strings.Repeat("(", 300000) + "1" + strings.Repeat(")", 300000), 300000},
	}
	for _, tc := range cases {
		if got := nesting(tc.code); got != tc.want {
			t.Errorf("nesting(%.40q) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

// TestInterpreter_Run_deepNesting: code that would overflow the parsers' stacks is refused
// with a SyntaxError, and the interpreter keeps its state.
func TestInterpreter_Run_deepNesting(t *testing.T) {
	for _, lang := range []runtime.Language{runtime.JavaScript, runtime.TypeScript} {
		ip := newInterp(t, lang)
		run(t, ip, "var kept = 7")
		for _, code := range []string{
			strings.Repeat("(", 300000) + "1" + strings.Repeat(")", 300000),
			strings.Repeat("[", 400000),
			"x = " + strings.Repeat("{a:", 200000) + "1" + strings.Repeat("}", 200000),
		} {
			res := run(t, ip, code)
			if res.Error == nil || res.Error.Type != "SyntaxError" || !strings.Contains(res.Stderr, "levels deep") {
				t.Errorf("%s: got %+v %q, want a nesting SyntaxError", lang, res.Error, res.Stderr)
			}
		}
		if res := run(t, ip, "kept"); res.Stdout != "7\n" {
			t.Errorf("%s: state after refusals: %q", lang, res.Stdout)
		}
		ok := run(t, ip, strings.Repeat("(", 200)+"1"+strings.Repeat(")", 200))
		if ok.Stdout != "1\n" {
			t.Errorf("%s: 200 levels: %q %+v", lang, ok.Stdout, ok.Error)
		}
	}
}
