package python

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"

	"wasmbox/wasm"
)

// The host's side of the figure path, without a guest: what it accepts, and what it refuses
// whatever the guest claims.
func TestServe_figures(t *testing.T) {
	encode := func(w, h int) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	request := func(data []byte) []byte {
		msg, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(data)})
		return msg
	}
	// A PNG whose header claims 5000x5000: only the header is read, never the pixels.
	var header bytes.Buffer
	png.Encode(&header, image.NewGray(image.Rect(0, 0, 1, 1)))
	claim := header.Bytes()
	copy(claim[16:24], []byte{0, 0, 0x13, 0x88, 0, 0, 0x13, 0x88})
	binary.BigEndian.PutUint32(claim[29:33], crc32.ChecksumIEEE(claim[12:29])) // IHDR's CRC

	var images imageSink
	serveFn := serve(&images)
	cases := []struct {
		name, msg string
		errType   string // the exception the guest is told to raise; "" accepted
		says      string // in its message
	}{
		{"small PNG", string(request(encode(64, 48))), "", ""},
		{"not a PNG", string(request([]byte("GIF89a...."))), "ValueError", "must be a PNG"},
		{"header claims 25 megapixels", string(request(claim)), "ValueError", "5000x5000"},
		{"over the byte limit", string(request(make([]byte, MaxFigureBytes+1))), "ValueError", "MB of PNG"},
	}
	for _, tc := range cases {
		out, err := serveFn([]byte(tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var reply struct{ Error, Type string }
		json.Unmarshal(out, &reply)
		if reply.Type != tc.errType || (tc.errType != "") != (reply.Error != "") || !strings.Contains(reply.Error, tc.says) {
			t.Errorf("%s: reply %s, want error type %q", tc.name, out, tc.errType)
		}
	}
	if got := len(images.take()); got != 1 {
		t.Fatalf("%d images kept, want the one accepted", got)
	}
	// The cap per run: the ninth is refused and not kept.
	for i := 1; i <= MaxImages; i++ {
		out, _ := serveFn(request(encode(8, 8)))
		if refused := strings.Contains(string(out), "figures in one run"); refused != (i == MaxImages) {
			t.Errorf("figure %d: %s", i+1, out)
		}
	}
	if got := len(images.take()); got != MaxImages {
		t.Errorf("%d images kept, want %d", got, MaxImages)
	}
	// What wasmbox's driver never sends is a protocol error (the interpreter is not trusted after).
	for _, msg := range []string{`{}`, `not json`, `{"image": "not base64!"}`, `{"render": {}}`} {
		if _, err := serveFn([]byte(msg)); !errors.Is(err, wasm.ErrProtocol) {
			t.Errorf("%s: %v, want %v", msg, err, wasm.ErrProtocol)
		}
	}
}
