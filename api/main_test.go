package api

import (
	"net/http/httptest"
	"testing"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
	"wasmbox/librechat"
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
		return []front.Mount{New(f).Mount, librechat.New(f, nil).Mount}
	}, opts...)
	return &fixture{http: fx.HTTP, mgr: fx.Mgr}
}
