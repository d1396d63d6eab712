// Package clustertest starts the real servers cluster mode needs, for tests: Debian's
// redis-server and SeaweedFS's S3 server (built by scripts/seaweedfs.sh, pinned), each on free
// loopback ports in the test's temporary directory, killed with the test (and with the test
// binary: Pdeathsig).
package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Redis is a redis-server without persistence (a restart loses every key, as a Redis without
// a volume does).
type Redis struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
	t    testing.TB
}

// StartRedis starts a redis-server for the test.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed (apt-get install redis-server): %v", err)
	}
	r := &Redis{port: freePort(t, 0), dir: t.TempDir(), t: t}
	r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start starts the server again after Stop, on the same port, empty.
func (r *Redis) Start() {
	r.t.Helper()
	r.cmd = command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", r.dir, "--protected-mode", "no", "--loglevel", "warning")
	r.cmd.Stdout, r.cmd.Stderr = logFile(r.t, r.dir, "redis.log")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	waitPort(r.t, r.port, 20*time.Second)
}

// Stop kills the server.
func (r *Redis) Stop() { stop(r.cmd) }

// S3 is a SeaweedFS server answering S3 with one identity and one bucket.
type S3 struct {
	Endpoint  string // http://127.0.0.1:port
	Bucket    string
	AccessKey string
	SecretKey string
	cmd       *exec.Cmd
}

// StartS3 starts SeaweedFS (master, volume, filer and S3 gateway in one process) and makes the
// bucket "wasmbox".
func StartS3(t testing.TB) *S3 {
	t.Helper()
	weed := Weed(t)
	dir := t.TempDir()
	s := &S3{Bucket: "wasmbox", AccessKey: "wasmbox-test", SecretKey: "wasmbox-test-secret"}
	cfg := filepath.Join(dir, "s3.json")
	ident := fmt.Sprintf(`{"identities":[{"name":"wasmbox","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, s.AccessKey, s.SecretKey)
	if err := os.WriteFile(cfg, []byte(ident), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// Every service also listens on its port + 10000 for gRPC, so each port is taken with that
	// one free too.
	ports := make([]int, 4)
	for i := range ports {
		ports[i] = freePort(t, 10000)
	}
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", ports[3])
	s.cmd = command(weed, "server", "-dir="+data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+strconv.Itoa(ports[0]), "-volume.port="+strconv.Itoa(ports[1]),
		"-filer.port="+strconv.Itoa(ports[2]), "-s3", "-s3.port="+strconv.Itoa(ports[3]), "-s3.config="+cfg,
		"-master.port.grpc="+strconv.Itoa(ports[0]+10000), "-volume.port.grpc="+strconv.Itoa(ports[1]+10000),
		"-filer.port.grpc="+strconv.Itoa(ports[2]+10000), "-s3.port.grpc="+strconv.Itoa(ports[3]+10000),
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
		"-master.volumeSizeLimitMB=64", "-volume.max=0")
	s.cmd.Stdout, s.cmd.Stderr = logFile(t, dir, "weed.log")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(s.cmd) })
	cl, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cl.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			t.Fatalf("SeaweedFS did not make a bucket within 90 s: %v\n%s", err, tail(log, 4000))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return s
}

// Pause stops the server's process (SIGSTOP): the store hangs, as an unreachable one does.
func (s *S3) Pause() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues it.
func (s *S3) Resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

// Env is the environment a wasmbox replica needs to use the store (the usual AWS variables).
func (s *S3) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint, "AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey, "AWS_REGION=us-east-1",
	}
}

// Weed is the path of SeaweedFS's binary: $WASMBOX_SEAWEEDFS (the Makefile sets it), else what
// scripts/seaweedfs.sh builds or finds in the cache.
func Weed(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WASMBOX_SEAWEEDFS"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "seaweedfs.sh")
	out, err := exec.Command(script).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	_ = cmd.Wait()
}

func logFile(t testing.TB, dir, name string) (*os.File, *os.File) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, f
}

// freePort is a loopback port free now, with port+also free too when also > 0.
func freePort(t testing.TB, also int) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if also > 0 {
			if p+also > 65535 {
				l.Close()
				continue
			}
			l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+also))
			if err != nil {
				l.Close()
				continue
			}
			l2.Close()
		}
		l.Close()
		return p
	}
	t.Fatal("no free port pair")
	return 0
}

func waitPort(t testing.TB, port int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d after %v", port, limit)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
