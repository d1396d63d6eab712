package bash

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/interp"
)

// GNU tar runs its compressor through /bin/sh -c, and no shell exists for programs here: `tar
// czf`, `tar xzf` and `tar xf x.tgz` (which finds the compression itself) would all fail with
// "gzip: Cannot exec". The shell runs those as the pipeline they stand for instead, tar
// reading or writing the archive on a pipe and gzip on the other end, both allowlisted
// programs started and confined like any other.

// tarArgOptions are GNU tar's short options that take an argument.
const tarArgOptions = "bCfFgHIKLNTVX"

// tarLong are the long options a planned tar command may have, true for those that take an
// argument (as --opt=ARG or --opt ARG). A command with any other (or an abbreviation, which
// GNU tar accepts) runs as written: its meaning is not certain here.
var tarLong = map[string]bool{
	"--create": false, "--extract": false, "--get": false, "--list": false, "--gzip": false,
	"--gunzip": false, "--ungzip": false, "--auto-compress": false, "--verbose": false,
	"--to-stdout": false, "--keep-old-files": false, "--overwrite": false, "--no-same-owner": false,
	"--no-same-permissions": false, "--preserve-permissions": false, "--same-permissions": false,
	"--same-owner": false, "--numeric-owner": false, "--wildcards": false, "--no-recursion": false,
	"--recursion": false, "--totals": false, "--touch": false, "--dereference": false,
	"--ignore-zeros": false, "--skip-old-files": false, "--keep-newer-files": false,
	"--file": true, "--directory": true, "--exclude": true, "--strip-components": true,
	"--transform": true, "--xform": true, "--owner": true, "--group": true, "--mode": true,
	"--mtime": true, "--files-from": true, "--exclude-from": true, "--newer": true,
	"--newer-mtime": true, "--after-date": true,
}

// tarPlan is a tar command with gzip compression, taken apart.
type tarPlan struct {
	create  bool     // else extract or list
	archive string   // "-": standard input or output
	args    []string // tar's argv without compression options, the archive given as "-"
}

// planTarGzip returns the plan for a tar command (args[0] is "tar") that makes, extracts or
// lists a gzip-compressed archive; false for every other tar command, which runs as it is.
func (ip *Interpreter) planTarGzip(ctx context.Context, args []string) (tarPlan, bool) {
	toks := tarTokens(args[1:])
	var mode byte
	gz, auto := false, false
	archive := "-"
	out := []string{"tar", "-f", "-"}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "--":
			out = append(out, toks[i:]...)
			i = len(toks)
		case t == "-z" || t == "--gzip" || t == "--gunzip" || t == "--ungzip":
			gz = true
		case t == "-a" || t == "--auto-compress":
			auto = true
		case strings.HasPrefix(t, "--") && !knownLong(t):
			return tarPlan{}, false
		case t == "-f" || t == "--file":
			if i+1 < len(toks) {
				archive = toks[i+1]
				i++
			}
		case strings.HasPrefix(t, "--file="):
			archive = strings.TrimPrefix(t, "--file=")
		case strings.HasPrefix(t, "-j") || strings.HasPrefix(t, "-J") || t == "--bzip2" || t == "--xz" || t == "--zstd" ||
			t == "--lzma" || t == "--lzip" || t == "--lzop" || t == "-Z" || t == "--compress" || t == "-I" ||
			strings.HasPrefix(t, "--use-compress-program"):
			return tarPlan{}, false // another compressor: tar says what it cannot run
		default:
			switch t {
			case "-c", "--create":
				mode = 'c'
			case "-x", "--extract", "--get":
				mode = 'x'
			case "-t", "--list":
				mode = 't'
			}
			out = append(out, t)
			takesArg := len(t) == 2 && t[0] == '-' && strings.IndexByte(tarArgOptions, t[1]) >= 0 || tarLong[t]
			if takesArg && i+1 < len(toks) {
				out = append(out, toks[i+1])
				i++
			}
		}
	}
	switch {
	case mode == 0 || archive == "":
		return tarPlan{}, false
	case mode == 'c':
		gz = gz || auto && (strings.HasSuffix(archive, ".gz") || strings.HasSuffix(archive, ".tgz") || strings.HasSuffix(archive, ".taz"))
	case !gz && archive != "-":
		gz = ip.gzipped(ctx, archive) // tar finds the compression of an archive it reads
	}
	return tarPlan{create: mode == 'c', archive: archive, args: out}, gz
}

// knownLong reports whether t is one of tarLong, alone or as --opt=ARG.
func knownLong(t string) bool {
	name, _, hasArg := strings.Cut(t, "=")
	takes, ok := tarLong[name]
	return ok && (!hasArg || takes)
}

// tarTokens splits tar's arguments into one option per token ("-f" and its argument as two):
// the old style's first argument ("czf out.tgz dir") and bundles ("-xzvf") included.
func tarTokens(rest []string) []string {
	var toks []string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		cluster := rest[0]
		rest = rest[1:]
		for _, c := range cluster {
			toks = append(toks, "-"+string(c))
			if strings.ContainsRune(tarArgOptions, c) && len(rest) > 0 {
				toks = append(toks, rest[0])
				rest = rest[1:]
			}
		}
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			return append(toks, rest[i:]...)
		case strings.HasPrefix(a, "--"):
			toks = append(toks, a)
			if tarLong[a] && i+1 < len(rest) { // its argument, whatever it looks like
				i++
				toks = append(toks, rest[i])
			}
		case len(a) < 2 || a[0] != '-':
			toks = append(toks, a)
		default:
			for j := 1; j < len(a); j++ {
				toks = append(toks, "-"+string(a[j]))
				if strings.IndexByte(tarArgOptions, a[j]) >= 0 {
					if j+1 < len(a) {
						toks = append(toks, a[j+1:])
					} else if i+1 < len(rest) {
						i++
						toks = append(toks, rest[i])
					}
					break
				}
			}
		}
	}
	return toks
}

// gzipped reports whether the workspace file at path starts as gzip data does.
func (ip *Interpreter) gzipped(ctx context.Context, path string) bool {
	f, err := ip.open(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [2]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && magic == [2]byte{0x1f, 0x8b}
}

// tarGzip runs a plan: tar and gzip at once, joined by a pipe.
func (ip *Interpreter) tarGzip(ctx context.Context, hc interp.HandlerContext, tarPath string, plan tarPlan) error {
	gzPath, ok := ip.engine.allow["gzip"]
	if !ok {
		fmt.Fprintln(hc.Stderr, "tar: compressed archives need gzip, which this server does not allow")
		return interp.ExitStatus(2)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	tarHC, gzHC := hc, hc
	gzArgs := []string{"gzip", "-c"}
	var tarErr, gzErr error
	runTar := func() { tarErr = ip.start(ctx, tarHC, "tar", tarPath, plan.args) }
	runGzip := func() { gzErr = ip.start(ctx, gzHC, "gzip", gzPath, gzArgs) }
	writes, reads := runTar, runGzip // the programs at the pipe's two ends
	// The paths tar is given are checked before the archive is made or emptied.
	check := plan.args
	if plan.archive != "-" {
		check = append(append([]string{}, plan.args...), plan.archive)
	}
	if err := ip.jail.pathArgs(ip.jail.host(hc.Dir), ip.jail.hostArgs(check)); err != nil {
		r.Close()
		w.Close()
		fmt.Fprintf(hc.Stderr, "tar: %v\n", err)
		runOf(ctx).deny(fmt.Sprintf("tar: %v", err))
		return interp.ExitStatus(126)
	}
	if plan.create {
		tarHC.Stdout, gzHC.Stdin = w, r
		if plan.archive != "-" {
			f, err := ip.open(ctx, plan.archive, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				r.Close()
				w.Close()
				fmt.Fprintf(hc.Stderr, "tar: %v\n", err)
				return interp.ExitStatus(2)
			}
			defer f.Close()
			gzHC.Stdout = f
		}
	} else {
		gzArgs = []string{"gzip", "-dc"}
		if plan.archive != "-" {
			gzArgs = append(gzArgs, "--", plan.archive)
		}
		gzHC.Stdout, tarHC.Stdin = w, r
		writes, reads = runGzip, runTar
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer w.Close() // the reader then sees the end of its input
		writes()
	}()
	go func() {
		defer wg.Done()
		defer r.Close() // the writer then gets EPIPE
		reads()
	}()
	wg.Wait()
	if tarErr != nil {
		return tarErr
	}
	return gzErr
}
