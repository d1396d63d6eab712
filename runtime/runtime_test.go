package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestLimits_Validate(t *testing.T) {
	cases := []struct {
		name string
		l    Limits
		ok   bool
	}{
		{"defaults", DefaultLimits(), true},
		{"zero", Limits{}, true},
		{"negative timeout", Limits{Timeout: -time.Second}, false},
		{"negative output", Limits{MaxOutput: -1}, false},
		{"tiny memory", Limits{Memory: 1 << 20}, false},
		{"huge memory", Limits{Memory: 8 << 30}, false},
		{"negative quota", Limits{WorkspaceQuota: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLimits_Normalize(t *testing.T) {
	got, err := Limits{Timeout: time.Second}.Normalize()
	if err != nil || got.Timeout != time.Second || got.MaxOutput != DefaultMaxOutput || got.Memory != DefaultMemory || got.WorkspaceQuota != DefaultWorkspaceQuota {
		t.Errorf("Normalize: got %+v, %v", got, err)
	}
	if _, err := (Limits{Memory: 1 << 20}).Normalize(); err == nil || !strings.Contains(err.Error(), "memory limit") {
		t.Errorf("Normalize of a 1 MiB memory limit: %v, want an error naming the field", err)
	}
}
