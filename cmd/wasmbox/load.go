package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcplib "github.com/mark3labs/mcp-go/mcp"
)

// loadCmd drives a wasmbox server with concurrent MCP clients (streamable HTTP), each in its
// own session, and prints throughput and latency percentiles of one tool's calls. With
// --new-session each call runs in a session created for it (what a client that never passes
// session_id gets), so the latency includes binding a worker.
func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:7860/mcp", "streamable HTTP endpoint of the server")
	clients := fs.Int("clients", 8, "concurrent MCP clients")
	duration := fs.Duration("duration", 20*time.Second, "how long to drive the server")
	code := fs.String("code", "n = n + 1 if 'n' in globals() else 1\nn", "code each call runs")
	tool := fs.String("tool", "execute_python_code", "tool each call uses: execute_python_code, execute_javascript_code or execute_bash_command")
	fresh := fs.Bool("new-session", false, "run each call in a new session")
	noSession := fs.Bool("no-session", false, "call without a session_id, as a client that never keeps one (each call makes a session, which is kept)")
	calls := fs.Int("calls", 0, "stop after this many calls in all (0: run for --duration)")
	key := fs.String("key", "", "API key, if the server needs one")
	think := fs.Duration("think", 0, "pause between a client's calls (an agent's turn between tool calls); not counted in the latencies")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	arg := "code"
	switch *tool {
	case "execute_python_code", "execute_javascript_code":
	case "execute_bash_command":
		arg = "command"
	default:
		fmt.Fprintf(stderr, "wasmbox load: --tool %q: want execute_python_code, execute_javascript_code or execute_bash_command\n", *tool)
		return 2
	}
	if *clients < 1 || *duration <= 0 || *think < 0 {
		fmt.Fprintln(stderr, "wasmbox load: want --clients >= 1, a positive --duration and --think >= 0")
		return 2
	}
	headers := map[string]string{}
	if *key != "" {
		headers["Authorization"] = "Bearer " + *key
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		firstErr  error
	)
	record := func(d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures++
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		latencies = append(latencies, d)
	}
	ctx, cancel := context.WithTimeout(ctx, *duration+2*time.Minute)
	defer cancel()
	metricsURL := strings.TrimSuffix(strings.TrimSuffix(*url, "/"), "/mcp") + "/metrics"
	before, _ := postHistogram(ctx, metricsURL, headers)
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	var callsStarted atomic.Int64
	start := time.Now()
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.NewStreamableHttpClient(*url, transport.WithHTTPHeaders(headers))
			if err != nil {
				record(0, err)
				return
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				record(0, err)
				return
			}
			init := mcplib.InitializeRequest{}
			init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
			init.Params.ClientInfo = mcplib.Implementation{Name: "wasmbox-load", Version: version}
			if _, err := c.Initialize(ctx, init); err != nil {
				record(0, err)
				return
			}
			newSession := func() string {
				req := mcplib.CallToolRequest{}
				req.Params.Name = "create_execution_session"
				res, err := c.CallTool(ctx, req)
				if err != nil || res.IsError {
					record(0, fmt.Errorf("create session: %v %v", err, res))
					return ""
				}
				sid, _ := res.StructuredContent.(map[string]any)["session_id"].(string)
				return sid
			}
			sid := ""
			if !*fresh && !*noSession {
				if sid = newSession(); sid == "" {
					return
				}
			}
			req := mcplib.CallToolRequest{}
			req.Params.Name = *tool
			for ctx.Err() == nil && time.Now().Before(deadline) && (*calls == 0 || callsStarted.Add(1) <= int64(*calls)) {
				t0 := time.Now()
				if *fresh {
					if sid = newSession(); sid == "" {
						return
					}
				}
				req.Params.Arguments = map[string]any{arg: *code, "session_id": sid}
				if *noSession {
					req.Params.Arguments = map[string]any{arg: *code}
				}
				res, err := c.CallTool(ctx, req)
				if err == nil && res.IsError {
					err = fmt.Errorf("tool error: %v", res.Content)
				}
				record(time.Since(t0), err)
				if *fresh {
					del := mcplib.CallToolRequest{}
					del.Params.Name, del.Params.Arguments = "delete_session", map[string]any{"session_id": sid}
					c.CallTool(ctx, del)
				}
				if *think > 0 {
					time.Sleep(*think)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Fprintf(stdout, "clients %d, duration %s: %d calls, %d failed, %.1f calls/s\n", *clients, elapsed.Round(time.Millisecond), len(latencies), failures, float64(len(latencies))/elapsed.Seconds())
	fmt.Fprintf(stdout, "latency p50 %s  p90 %s  p99 %s  max %s\n", pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	if after, err := postHistogram(ctx, metricsURL, headers); err == nil && before != nil {
		// What the server spent per POST /mcp, from its own histogram (the tool calls and the
		// clients' few setup requests), interpolated within buckets as Prometheus does.
		d := after.minus(before)
		fmt.Fprintf(stdout, "server (POST /mcp, %d requests): p50 %s  p90 %s  p99 %s\n", d.count(),
			d.quantile(0.50).Round(time.Microsecond), d.quantile(0.90).Round(time.Microsecond), d.quantile(0.99).Round(time.Microsecond))
	}
	if firstErr != nil {
		fmt.Fprintf(stdout, "first error: %v\n", firstErr)
	}
	if len(latencies) == 0 || failures > 0 {
		return 1
	}
	return 0
}

// histogram is the cumulative bucket counts of one route's POST durations, by upper bound.
type histogram map[float64]float64

// postHistogram reads the server's histogram of POST /mcp durations from its /metrics.
func postHistogram(ctx context.Context, url string, headers map[string]string) (histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	h := histogram{}
	sc := bufio.NewScanner(resp.Body)
	const prefix = `wasmbox_http_post_duration_seconds_bucket{route="mcp",le="`
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		bound, err1 := strconv.ParseFloat(le, 64)
		n, err2 := strconv.ParseFloat(count, 64)
		if err1 == nil && err2 == nil {
			h[bound] = n
		}
	}
	return h, sc.Err()
}

func (h histogram) minus(o histogram) histogram {
	d := histogram{}
	for b, n := range h {
		d[b] = n - o[b]
	}
	return d
}

func (h histogram) count() int { return int(h[math.Inf(1)]) }

// quantile interpolates linearly within the bucket the q-th request falls in; beyond the last
// finite bound it answers that bound.
func (h histogram) quantile(q float64) time.Duration {
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	total := h[math.Inf(1)]
	if total == 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		if h[b] >= rank {
			if math.IsInf(b, 1) {
				return time.Duration(lower * float64(time.Second))
			}
			frac := (rank - below) / max(h[b]-below, 1)
			return time.Duration((lower + (b-lower)*frac) * float64(time.Second))
		}
		lower, below = b, h[b]
	}
	return time.Duration(lower * float64(time.Second))
}
