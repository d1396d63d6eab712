package sessions

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A session's history is kept in <dir>/history.jsonl, one line per run appended as the run
// ends: a run costs one small write, not a rewrite of its session's record with the whole
// history (which, durably, cost a millisecond or more per call and serialized calls on the
// file system's journal). Appends are not synced on the run's path; the logSyncer makes them
// durable within a second. A process that dies loses nothing it wrote; a machine that loses
// power may lose the history of its last second. The log is rewritten whole (durably) when it
// holds twice the history cap, and at load when its tail was torn.
const historyLog = "history.jsonl"

// logLine is one line of the history log: a run's entry and the session's counters after it.
// At load the last valid line's counters win.
type logLine struct {
	Runs     int       `json:"runs"`
	LastUsed time.Time `json:"last_used"`
	Entry    Entry     `json:"entry"`
}

// logLines are the lines of a log holding history, with the session's counters on each (the
// last one's win at load).
func logLines(history []Entry, runs int, lastUsed time.Time) []logLine {
	out := make([]logLine, len(history))
	for i, h := range history {
		out[i] = logLine{Runs: runs, LastUsed: lastUsed, Entry: h}
	}
	return out
}

// appendRun appends line to s's history log, or, when compact holds the session's history,
// rewrites the log with it. Nothing is written once the session's directory is removed;
// created says the append makes the log, whose directory entry is then synced too.
func (m *Manager) appendRun(s *session, line []byte, created bool, compact []logLine) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.removed {
		return nil
	}
	path := filepath.Join(s.dir, historyLog)
	if compact != nil {
		return writeLog(path, compact)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		m.syncer.mark(path, created)
	}
	return err
}

// writeLog replaces the log at path with lines, durably.
func writeLog(path string, lines []logLine) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return writeFileAtomic(path, buf.Bytes())
}

// readLog returns the valid lines of the log at path, and whether it must be rewritten (a line
// could not be read: the tail of a write cut by a crash).
func readLog(path string) ([]logLine, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	lines, torn := parseLog(b)
	return lines, torn, nil
}

// parseLog reads a history log's lines; torn reports a line that could not be read.
func parseLog(b []byte) (lines []logLine, torn bool) {
	torn = len(b) > 0 && b[len(b)-1] != '\n'
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			torn = true
			continue
		}
		lines = append(lines, l)
	}
	if sc.Err() != nil {
		torn = true
	}
	return lines, torn
}

// logSyncer syncs the history logs appended to since its last round, once a second: one
// fsync per written log per second at most, off every run's path.
type logSyncer struct {
	mu    sync.Mutex
	dirty map[string]bool // at most one entry per session; true: its directory too
}

func (y *logSyncer) mark(path string, dir bool) {
	y.mu.Lock()
	if y.dirty == nil {
		y.dirty = map[string]bool{}
	}
	y.dirty[path] = y.dirty[path] || dir
	y.mu.Unlock()
}

// flush syncs every log marked since the last flush; a log removed since is skipped.
func (y *logSyncer) flush() {
	y.mu.Lock()
	dirty := y.dirty
	y.dirty = nil
	y.mu.Unlock()
	for path, dir := range dirty {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		f.Sync()
		f.Close()
		if dir {
			syncDir(filepath.Dir(path))
		}
	}
}

// run flushes once a second until stop is closed, then once more.
func (y *logSyncer) run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			y.flush()
			return
		case <-t.C:
			y.flush()
		}
	}
}
