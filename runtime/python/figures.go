package python

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"sync"

	"wasmbox/runtime"
	"wasmbox/wasm"
)

// The figures a run returns: the guest renders them with matplotlib's Agg and hands over PNG
// bytes (the driver's _show_figure), which are checked here whatever the guest claims.
const (
	// MaxImages bounds the figures one run returns; more can be written with savefig.
	MaxImages = 8
	// MaxFigurePixels bounds a returned figure's width x height (the driver's MAX_FIGURE_PIXELS).
	MaxFigurePixels = 4000 * 4000
	// MaxFigureBytes bounds a returned figure's PNG (the driver's MAX_FIGURE_BYTES).
	MaxFigureBytes = 8 << 20
)

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
	Image *string `json:"image"` // a figure shown: PNG, base64
}

// serve answers the driver's service requests during a run: a figure shown joins the run's
// images if it is a PNG within the limits. A malformed request is a protocol error (the guest
// is not wasmbox's driver); a figure refused is an error the guest raises.
func serve(images *imageSink) func([]byte) ([]byte, error) {
	return func(msg []byte) ([]byte, error) {
		var req service
		if json.Unmarshal(msg, &req) != nil || req.Image == nil {
			return nil, wasm.ErrProtocol
		}
		if base64.StdEncoding.DecodedLen(len(*req.Image)) > MaxFigureBytes+3 {
			return refuse("ValueError", fmt.Sprintf("a figure shown is limited to %d MB of PNG", MaxFigureBytes>>20))
		}
		data, err := base64.StdEncoding.DecodeString(*req.Image)
		if err != nil {
			return nil, wasm.ErrProtocol
		}
		if err := checkFigure(data); err != nil {
			return refuse("ValueError", err.Error())
		}
		if !images.add(data) {
			return refuse("RuntimeError", fmt.Sprintf("more than %d figures in one run; the rest are not shown (save them with savefig)", MaxImages))
		}
		return json.Marshal(map[string]any{"ok": true})
	}
}

// checkFigure accepts a PNG of at most MaxFigureBytes and MaxFigurePixels (read from its header:
// the bytes are passed on, not decoded).
func checkFigure(data []byte) error {
	if len(data) > MaxFigureBytes {
		return fmt.Errorf("a figure shown is limited to %d MB of PNG", MaxFigureBytes>>20)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("a figure shown must be a PNG: %v", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxFigurePixels {
		return fmt.Errorf("a figure shown is limited to %d megapixels; this one is %dx%d", MaxFigurePixels/1000000, cfg.Width, cfg.Height)
	}
	return nil
}

func refuse(typ, msg string) ([]byte, error) {
	return json.Marshal(map[string]string{"error": msg, "type": typ})
}
