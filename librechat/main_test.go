package librechat

import (
	"net/http/httptest"
	"testing"

	"wasmbox/api"
	"wasmbox/front"
	"wasmbox/internal/fronttest"
	"wasmbox/sessions"
)

func TestMain(m *testing.M) { fronttest.Main(m) }

type fixture struct {
	http *httptest.Server
	mgr  *sessions.Manager
}

func newFixture(t *testing.T, cfg front.Config, opts ...sessions.Option) *fixture {
	t.Helper()
	fx := fronttest.Serve(t, cfg, func(f *front.Front) []front.Mount {
		return []front.Mount{api.New(f).Mount, New(f, nil).Mount}
	}, opts...)
	return &fixture{http: fx.HTTP, mgr: fx.Mgr}
}
