package bash

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultAllowlist are the programs bash code may run when BASH_ALLOWLIST is not set. Those not
// installed on the host are left out when the engine starts.
var DefaultAllowlist = []string{
	"cat", "echo", "printf", "ls", "head", "tail", "wc", "sort", "uniq", "cut", "tr", "grep", "egrep",
	"fgrep", "sed", "awk", "find", "xargs", "date", "seq", "basename", "dirname", "mkdir", "touch", "cp",
	"mv", "rm", "rmdir", "ln", "diff", "cmp", "tee", "true", "false", "sleep", "stat", "du", "file",
	"base64", "sha256sum", "md5sum", "jq", "tar", "gzip", "gunzip", "zip", "unzip",
}

// neverAllowed are shells, interpreters, network clients and tools that run other programs or
// change privileges: no configuration can allow them.
var neverAllowed = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`sh bash dash zsh ksh mksh csh tcsh fish ash busybox toybox
		python python2 python3 node nodejs deno bun perl ruby php lua luajit tclsh wish expect guile
		gawk-sh java jshell irb R Rscript osascript
		curl wget nc ncat netcat socat ssh scp sftp telnet ftp rsync ping dig nslookup host openssl
		env sudo su doas chroot nsenter unshare setsid nohup timeout strace gdb ltrace script
		systemd-run at crontab chmod chown chgrp mount umount ip iptables kill pkill killall`) {
		neverAllowed[n] = true
	}
}

// forbidden reports whether name may never be allowed (python3.11 counts as python).
func forbidden(name string) bool {
	if neverAllowed[name] {
		return true
	}
	for _, prefix := range []string{"python", "perl", "ruby", "php", "node", "lua", "pypy"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Allowlist maps program names to their absolute paths on the host.
type Allowlist map[string]string

// ParseAllowlist reads a comma- or space-separated list of program names (BASH_ALLOWLIST).
func ParseAllowlist(s string) ([]string, error) {
	var names []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if strings.ContainsRune(f, '/') {
			return nil, fmt.Errorf("bash: allowlist entry %q: give program names, not paths", f)
		}
		names = append(names, f)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("bash: allowlist %q is empty", s)
	}
	return names, nil
}

// searchPath is the only PATH programs are looked up in and run with.
const searchPath = "/usr/local/bin:/usr/bin:/bin"

// resolveAllowlist finds each program in searchPath, refusing forbidden ones; programs that
// are not installed are skipped.
func resolveAllowlist(names []string) (Allowlist, error) {
	a := Allowlist{}
	for _, n := range names {
		if forbidden(n) {
			return nil, fmt.Errorf("bash: %q can never be allowed (shells, interpreters, network clients and privilege tools are refused)", n)
		}
		for _, dir := range filepath.SplitList(searchPath) {
			p := filepath.Join(dir, n)
			if _, err := exec.LookPath(p); err == nil {
				if real, err := filepath.EvalSymlinks(p); err == nil {
					// A name that is a link to a forbidden program (sh -> dash) is refused too.
					if forbidden(filepath.Base(real)) {
						return nil, fmt.Errorf("bash: %q is %s, which can never be allowed", n, real)
					}
					p = real
				}
				a[n] = p
				break
			}
		}
	}
	return a, nil
}

// Names returns the allowed program names, sorted.
func (a Allowlist) Names() []string {
	out := make([]string, 0, len(a))
	for n := range a {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
