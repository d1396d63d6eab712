package bash

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// ProbeCommand is the hidden subcommand that confines itself as the launcher does and reports
// which layers took effect; cmd/wasmbox dispatches it to [RunProbe].
const ProbeCommand = "__sandbox-probe"

// Layers reports, for each confinement layer, whether it is active on this kernel.
type Layers map[string]string

// RunProbe is the body of the probe subcommand: it confines itself with a workspace of dir
// and prints the resulting [Layers] as JSON.
func RunProbe(args []string) int {
	dir := os.TempDir()
	if len(args) > 0 {
		dir = args[0]
	}
	layers := Layers{}
	abi, _ := llsys.LandlockGetABIVersion()
	// Open the status file first: once confined, /proc is out of reach, but an open file can
	// still be read.
	statusFile, _ := os.Open("/proc/self/status")
	err := confine(spec{Workspace: dir, CPUSeconds: 1})
	if err != nil {
		layers["error"] = err.Error()
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_CPU, &lim) == nil && lim.Cur == 1 {
		layers["rlimits"] = "active (CPU = timeout, address space 512 MiB, file size 64 MiB, 256 open files, 512 processes)"
	} else {
		layers["rlimits"] = "inactive"
	}
	var status []byte
	if statusFile != nil {
		status, _ = io.ReadAll(statusFile)
		statusFile.Close()
	}
	field := func(name string) string {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, name+":") {
				return strings.TrimSpace(strings.TrimPrefix(l, name+":"))
			}
		}
		return ""
	}
	layers["no_new_privs"] = map[bool]string{true: "active", false: "inactive"}[field("NoNewPrivs") == "1"]
	layers["seccomp"] = map[bool]string{true: "active (no AF_INET/AF_INET6/AF_NETLINK/AF_PACKET sockets, no ptrace, mount, bpf, ...)", false: "inactive"}[field("Seccomp") == "2"]
	if _, err := os.ReadFile("/etc/hostname"); err != nil && abi > 0 {
		layers["landlock"] = fmt.Sprintf("active (ABI %d: workspace read-write without exec, system dirs read-only, only allowlisted programs executable, TCP bind/connect denied)", abi)
	} else {
		layers["landlock"] = fmt.Sprintf("inactive (kernel ABI %d)", abi)
	}
	layers["process_group"] = "active (each program in its own group, killed at timeout and run end)"
	b, _ := json.Marshal(layers)
	fmt.Println(string(b))
	return 0
}

// Probe runs the launcher's probe and returns what it reported.
func (e *Engine) Probe(dir string) Layers {
	out, err := exec.Command(e.launcher, ProbeCommand, dir).Output()
	layers := Layers{}
	if err != nil || json.Unmarshal(out, &layers) != nil {
		return Layers{"error": fmt.Sprintf("probe failed: %v", err)}
	}
	return layers
}
