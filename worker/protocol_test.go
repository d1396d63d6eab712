package worker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// TestProtocol_stream: a snapshot travels as a stream after its frame, in chunks; the frame
// after it is read intact; a stream over the reader's bound, truncated, or with a chunk over
// maxChunk is refused with errFrame without reading on.
func TestProtocol_stream(t *testing.T) {
	snap := bytes.Repeat([]byte("snapshot"), 300_000) // 2.4 MB: three chunks
	var buf bytes.Buffer
	if err := sendStream(&buf, &message{Kind: kindFrozen}, bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	writeMessage(&buf, &message{Kind: kindResult})
	raw := buf.Bytes()

	r := bytes.NewReader(raw)
	m, err := readMessage(r)
	if err != nil || m.Kind != kindFrozen || !m.Stream {
		t.Fatalf("frame: %+v %v", m, err)
	}
	got, err := io.ReadAll(newStreamReader(r, int64(len(snap))))
	if err != nil || !bytes.Equal(got, snap) {
		t.Fatalf("stream: %d bytes, %v; want %d", len(got), err, len(snap))
	}
	if m, err := readMessage(r); err != nil || m.Kind != kindResult {
		t.Errorf("the frame after the stream: %+v %v", m, err)
	}

	cases := []struct {
		name string
		raw  []byte
		max  int64
	}{
		{"over the bound", raw, int64(len(snap)) - 1},
		{"truncated", raw[:len(raw)/2], 0},
		{"chunk over maxChunk", append(append([]byte(nil), raw[:rawFrameLen(raw)]...), 0x7f, 0, 0, 0), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.raw)
			readMessage(r)
			if _, err := io.ReadAll(newStreamReader(r, tc.max)); !errors.Is(err, errFrame) {
				t.Errorf("got %v, want errFrame", err)
			}
		})
	}
}

// rawFrameLen is the length of the first frame in raw, its header included.
func rawFrameLen(raw []byte) int { return 4 + int(binary.BigEndian.Uint32(raw)) }

// TestProtocol_streamAbort: a sender that fails part way aborts the stream; the reader gets
// the reason, wrapped in errStreamAborted, and the next frame is readable.
func TestProtocol_streamAbort(t *testing.T) {
	var buf bytes.Buffer
	sw := newStreamWriter(&buf, func() *message { return &message{Kind: kindFrozen} })
	if sw.Started() {
		t.Error("started before anything was written")
	}
	sw.Write([]byte("part of a state"))
	sw.Abort("out of luck" + strings.Repeat("!", 2*maxAbort))
	writeMessage(&buf, &message{Kind: kindResult})
	r := bytes.NewReader(buf.Bytes())
	readMessage(r)
	_, err := io.ReadAll(newStreamReader(r, 0))
	if !errors.Is(err, errStreamAborted) || !strings.Contains(err.Error(), "out of luck") {
		t.Errorf("got %v, want errStreamAborted with the reason", err)
	}
	if m, err := readMessage(r); err != nil || m.Kind != kindResult {
		t.Errorf("the frame after the aborted stream: %+v %v", m, err)
	}
	// A reader failing makes sendStream abort, not send a stream that looks complete.
	buf.Reset()
	sendStream(&buf, &message{Kind: kindThaw}, io.MultiReader(strings.NewReader("data"), errReader{}))
	r = bytes.NewReader(buf.Bytes())
	readMessage(r)
	if _, err := io.ReadAll(newStreamReader(r, 0)); !errors.Is(err, errStreamAborted) {
		t.Errorf("a failing source: %v, want an aborted stream", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestProtocol_frames: frames that break the protocol are errFrame; a frame over maxFrame is
// refused before its body is read.
func TestProtocol_frames(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"over maxFrame", []byte{0x7f, 0xff, 0xff, 0xff}},
		{"body short", []byte{0, 0, 0, 10, '{'}},
		{"not JSON", []byte{0, 0, 0, 3, 'a', 'b', 'c'}},
		{"wrong types", append([]byte{0, 0, 0, 12}, `{"kind": 12}`...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readMessage(bytes.NewReader(tc.raw)); !errors.Is(err, errFrame) {
				t.Errorf("got %v, want errFrame", err)
			}
		})
	}
	if _, err := readMessage(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("no frame at all: %v, want io.EOF (the peer hung up)", err)
	}
}

// TestCheckPeer: another protocol version or build is refused with ErrVersion, saying to
// restart.
func TestCheckPeer(t *testing.T) {
	if err := checkPeer(ProtocolVersion, "b", "b"); err != nil {
		t.Errorf("same version and build: %v", err)
	}
	for _, tc := range []struct {
		version int
		build   string
	}{{ProtocolVersion + 1, "b"}, {0, "b"}, {ProtocolVersion, "other"}, {ProtocolVersion, ""}} {
		if err := checkPeer(tc.version, tc.build, "b"); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "restart") {
			t.Errorf("version %d build %q: %v, want ErrVersion saying to restart", tc.version, tc.build, err)
		}
	}
}

// TestSetupError: a failed setup is a version error only when the worker said it is another
// version or build; one that failed before saying who it is keeps its own message.
func TestSetupError(t *testing.T) {
	const why = "mount namespace: remount /dev/null read-only: operation not permitted"
	for _, tc := range []struct {
		reply   message
		version bool
	}{
		{message{Error: why}, false},
		{message{Error: why, Version: ProtocolVersion, Build: "b"}, false},
		{message{Error: why, Version: ProtocolVersion, Build: "other"}, true},
		{message{Error: why, Version: ProtocolVersion + 1, Build: "b"}, true},
	} {
		err := setupError(&tc.reply, "b")
		if errors.Is(err, ErrVersion) != tc.version || !strings.Contains(err.Error(), why) {
			t.Errorf("version %d build %q: %v, want ErrVersion %v", tc.reply.Version, tc.reply.Build, err, tc.version)
		}
	}
}

// TestBuildID: the running binary has a build id, the same each time, and the file it runs
// from has the same; another file has another.
func TestBuildID(t *testing.T) {
	id := BuildID()
	if id == "" || strings.HasPrefix(id, "unknown") || BuildID() != id {
		t.Fatalf("BuildID() = %q", id)
	}
	exe, _ := os.Executable()
	if got, err := fileBuildID(exe); err != nil || got != id {
		t.Errorf("fileBuildID(%s) = %q %v, want %q", exe, got, err, id)
	}
	other := t.TempDir() + "/not-elf"
	os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755)
	if got, err := fileBuildID(other); err != nil || got == id || !strings.HasPrefix(got, "sha256:") {
		t.Errorf("a non-ELF file: %q %v, want its SHA-256", got, err)
	}
	if _, err := fileBuildID(t.TempDir() + "/missing"); err == nil {
		t.Error("a missing file has a build id")
	}
}

// FuzzReadMessage: no input makes the frame decoder panic or allocate past maxFrame; what it
// accepts encodes again. Seeds are in testdata/fuzz/FuzzReadMessage and below.
func FuzzReadMessage(f *testing.F) {
	for _, m := range []*message{{Kind: kindSetup, Setup: &Setup{}, Version: ProtocolVersion, Build: "b"}, {Kind: kindFrozen, Stream: true},
		{Kind: kindResult, Result: &wireResult{}}, {Kind: kindBind, Bind: "/x"}} {
		var buf bytes.Buffer
		writeMessage(&buf, m)
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readMessage(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := writeMessage(io.Discard, m); err != nil {
			t.Fatalf("an accepted frame does not encode: %v", err)
		}
	})
}

// FuzzStreamReader: no input makes the stream reader panic, return more than its bound, or
// end without saying how; a complete stream's bytes are exactly its chunks'.
func FuzzStreamReader(f *testing.F) {
	var buf bytes.Buffer
	sendStream(&buf, &message{Kind: kindThaw}, strings.NewReader("some state"))
	raw := buf.Bytes()[rawFrameLen(buf.Bytes()):]
	f.Add(raw)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 'n', 'o'})
	f.Add([]byte{0, 0x10, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		const bound = 1 << 16
		got, err := io.ReadAll(newStreamReader(bytes.NewReader(data), bound))
		if len(got) > bound {
			t.Fatalf("read %d bytes past the bound", len(got))
		}
		if err != nil && !errors.Is(err, errFrame) && !errors.Is(err, errStreamAborted) {
			t.Fatalf("error %v is neither errFrame nor errStreamAborted", err)
		}
	})
}
