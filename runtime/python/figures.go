package python

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"wasmbox/runtime"
	"wasmbox/runtime/plot"
	"wasmbox/wasm"
)

// MaxImages bounds the figures one run returns; more are rendered for savefig but not returned.
const MaxImages = 8

// imageSink collects the figures a run displays.
type imageSink struct {
	mu     sync.Mutex
	images []runtime.Image
}

func (s *imageSink) add(png []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.images) >= MaxImages {
		return false
	}
	s.images = append(s.images, runtime.Image{MIME: "image/png", Data: png})
	return true
}

func (s *imageSink) take() []runtime.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.images
}

// service is a request the driver makes in the middle of a run.
type service struct {
	Render  *plot.Figure `json:"render"`
	Display *plot.Figure `json:"display"`
}

// serve answers the driver's service requests during a run: rendering a figure for savefig
// (the PNG comes back) or showing one (it joins the run's images).
func serve(images *imageSink) func([]byte) ([]byte, error) {
	return func(msg []byte) ([]byte, error) {
		var req service
		if json.Unmarshal(msg, &req) != nil || (req.Render == nil && req.Display == nil) {
			return nil, wasm.ErrProtocol
		}
		fig := req.Render
		if fig == nil {
			fig = req.Display
		}
		reply := map[string]any{}
		png, rerr := plot.Render(*fig)
		switch {
		case rerr != nil:
			reply["error"] = rerr.Error()
			if errors.Is(rerr, plot.ErrInvalid) {
				reply["type"] = "ValueError"
			}
		case req.Render != nil:
			reply["png"] = base64.StdEncoding.EncodeToString(png)
		default:
			if !images.add(png) {
				reply["error"] = fmt.Sprintf("more than %d figures in one run; the rest are not shown (save them with savefig)", MaxImages)
			} else {
				reply["ok"] = true
			}
		}
		return json.Marshal(reply)
	}
}
