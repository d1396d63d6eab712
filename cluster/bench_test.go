package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"wasmbox/internal/clustertest"
)

// BenchmarkRestore: a replica taking over a session of a 2 MB snapshot and 10 small files:
// lease, fence, manifest and every file downloaded into an empty directory.
// BenchmarkCommit: the next checkpoint after a run changed the snapshot and one small file.
func BenchmarkCluster(b *testing.B) {
	cutEq := func(kv string) (string, string, bool) { return strings.Cut(kv, "=") }
	s3 := clustertest.StartS3(b)
	rd := clustertest.StartRedis(b)
	ctx := context.Background()
	c, err := ParseStore("s3://"+s3.Bucket+"/bench", func(k string) string {
		for _, kv := range s3.Env() {
			if n, v, _ := cutEq(kv); n == k {
				return v
			}
		}
		return ""
	})
	if err != nil {
		b.Fatal(err)
	}
	c.Creds = credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")
	o, err := OpenObjects(c)
	if err != nil {
		b.Fatal(err)
	}
	l, err := OpenLeases(rd.URL, "bench:")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cp := NewCheckpoints(o, nil)
	src := b.TempDir()
	snap := make([]byte, 2<<20)
	rand.Read(snap)
	os.WriteFile(filepath.Join(src, "python.snapshot"), snap, 0o600)
	os.MkdirAll(filepath.Join(src, "workspace"), 0o700)
	for i := range 10 {
		os.WriteFile(filepath.Join(src, "workspace", fmt.Sprintf("f%d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o600)
	}
	lease, err := l.Acquire(ctx, "b", "bench", time.Minute, 0)
	if err != nil {
		b.Fatal(err)
	}
	h, err := cp.Open(ctx, "b", lease)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Commit(ctx, src); err != nil {
		b.Fatal(err)
	}
	l.Release(ctx, lease)

	b.Run("restore", func(b *testing.B) {
		for range b.N {
			dir := b.TempDir()
			lease, err := l.Acquire(ctx, "b", "bench", time.Minute, 0)
			if err != nil {
				b.Fatal(err)
			}
			h, err := cp.Open(ctx, "b", lease)
			if err == nil {
				err = h.Restore(ctx, dir)
			}
			if err != nil {
				b.Fatal(err)
			}
			l.Release(ctx, lease)
		}
	})
	b.Run("commit_small", func(b *testing.B) {
		lease, err := l.Acquire(ctx, "b", "bench", time.Minute, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Release(ctx, lease)
		h, err := cp.Open(ctx, "b", lease)
		if err != nil {
			b.Fatal(err)
		}
		small := make([]byte, 50<<10)
		for i := range b.N {
			small[0], small[1000] = byte(i), byte(i>>8)
			os.WriteFile(filepath.Join(src, "python.snapshot"), small, 0o600)
			os.WriteFile(filepath.Join(src, "session.json"), []byte(fmt.Sprintf(`{"runs":%d}`, i)), 0o600)
			if err := h.Commit(ctx, src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("commit", func(b *testing.B) {
		lease, err := l.Acquire(ctx, "b", "bench", time.Minute, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Release(ctx, lease)
		h, err := cp.Open(ctx, "b", lease)
		if err != nil {
			b.Fatal(err)
		}
		for i := range b.N {
			snap[0], snap[1<<20] = byte(i), byte(i>>8)
			os.WriteFile(filepath.Join(src, "python.snapshot"), snap, 0o600)
			os.WriteFile(filepath.Join(src, "workspace", "f0.txt"), []byte(fmt.Sprint(i)), 0o600)
			if err := h.Commit(ctx, src); err != nil {
				b.Fatal(err)
			}
		}
	})
}
