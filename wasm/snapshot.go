package wasm

import "errors"

// ViewMemory calls fn with the instance's linear memory as it is, not copied: a snapshot of a
// state of hundreds of megabytes is encoded from it directly, never held twice in the
// worker's address space. fn must not keep mem nor modify it; no call runs while fn does. The
// instance must not be in a call (ViewMemory waits for one to end). hints, when not empty,
// say which pages and blocks are known, without reading them, to be as the base image
// ([Host.BaseImage]) or zeros.
func (in *Instance) ViewMemory(fn func(build string, mem []byte, hints Hints) error) error {
	in.callMu.Lock()
	defer in.callMu.Unlock()
	if err := in.Err(); err != nil {
		return err
	}
	mem := in.mod.Memory()
	b, ok := mem.Read(0, mem.Size())
	if !ok {
		return errors.New("wasm: read memory")
	}
	var hints Hints
	if in.cow != nil && len(in.cow.buf) > 0 && len(b) > 0 && &b[0] == &in.cow.buf[0] && uint64(len(b)) == in.cow.size {
		hints = in.cow.hints()
	}
	return fn(in.host.baseHash, b, hints)
}
