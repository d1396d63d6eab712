package front

import (
	goruntime "runtime"
	"time"
)

// SystemInfo describes the server: versions, languages, limits, sessions, isolation.
type SystemInfo struct {
	Version        string            `json:"version"`
	Python         string            `json:"python"`
	Languages      []string          `json:"languages"`
	TimeoutSeconds float64           `json:"timeout_seconds"`
	MaxOutputBytes int               `json:"max_output_bytes"`
	MemoryMiB      int64             `json:"memory_mib"`
	WorkspaceMiB   int64             `json:"workspace_quota_mib"`
	Sessions       int               `json:"sessions"`
	MaxSessions    int               `json:"max_sessions"`
	SessionTTL     string            `json:"session_ttl"`
	MaxConcurrent  int               `json:"max_concurrent_executions"`
	PoolSize       int               `json:"warm_pool"`
	CPUs           int               `json:"cpus"`
	Uptime         string            `json:"uptime"`
	Isolation      map[string]string `json:"isolation"`
	// Unavailable lists the languages this server cannot run, with why.
	Unavailable map[string]string `json:"unavailable_languages,omitempty"`
}

// SystemInfo describes the server as get_system_info and /api/info show it.
func (f *Front) SystemInfo() SystemInfo {
	l := f.cfg.Sessions.Limits()
	var langs []string
	for _, lang := range f.cfg.Sessions.Languages() {
		langs = append(langs, string(lang))
	}
	pool := 0
	if f.cfg.PoolSize != nil {
		pool = f.cfg.PoolSize()
	}
	iso := f.cfg.Isolation
	if iso == nil {
		iso = map[string]string{}
	}
	var unavailable map[string]string
	for lang, why := range f.cfg.Unavailable {
		if !f.HasLanguage(lang) {
			if unavailable == nil {
				unavailable = map[string]string{}
			}
			unavailable[string(lang)] = why
		}
	}
	return SystemInfo{Unavailable: unavailable,
		Version: f.cfg.Version, Python: f.cfg.PythonVersion, Languages: langs,
		TimeoutSeconds: l.Timeout.Seconds(), MaxOutputBytes: l.MaxOutput, MemoryMiB: l.Memory >> 20,
		WorkspaceMiB: l.WorkspaceQuota >> 20, Sessions: f.cfg.Sessions.Count(), MaxSessions: f.cfg.Sessions.MaxSessions(),
		SessionTTL: f.cfg.Sessions.TTL().String(), MaxConcurrent: f.cfg.Sessions.MaxConcurrent(), PoolSize: pool,
		CPUs: goruntime.NumCPU(), Uptime: time.Since(f.started).Round(time.Second).String(), Isolation: iso,
	}
}
