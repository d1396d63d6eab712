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

// serve answers a driver's service request; handled is false for the run's final reply.
func serve(in *wasm.Instance, msg []byte, images *imageSink) (handled bool, err error) {
	var req service
	if json.Unmarshal(msg, &req) != nil || (req.Render == nil && req.Display == nil) {
		return false, nil
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
	b, _ := json.Marshal(reply)
	if err := in.Send(b); err != nil {
		return true, err
	}
	return true, nil
}
