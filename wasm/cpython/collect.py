"""Collects what a meson build of a Python package made for wasm32-wasi, for static linking.

wasm32-wasi has no shared libraries, so each extension module (a meson 'shared module' that
would be installed as <name>.cpython-313-wasm32-wasi.so) is linked into python.wasm instead and
registered as a built-in module under its dotted name. From the build directory this writes:

  OUT/modules  one line per extension module: "dotted.name PyInit_symbol"
  OUT/libs     the archives to link, in order: lib<pkg>-objects.a (every module's objects),
               then the static libraries the modules link with
  OUT/lib/     those archives
  OUT/site/    the package's installed files other than extension modules (Python files,
               headers, data), laid out as in site-packages

Objects go into one archive, so the linker takes only what the PyInit_ functions reach.
Identical objects (the same source compiled for two modules) are taken once; two different
objects defining the same global symbol would silently bind one module to the other's code, so
that fails the build, as does a module without a PyInit_ function.
"""

import argparse
import hashlib
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys


def ninja_builds(build_ninja):
    """Maps each output of build.ninja to (explicit inputs, variables)."""
    text = build_ninja.read_text().replace("$\n", " ")
    builds = {}
    current = None
    for line in text.splitlines():
        if line.startswith("build "):
            head, _, rest = line[len("build "):].partition(": ")
            outs = split_ninja(head)
            explicit = split_ninja(rest.split(" | ")[0].split(" || ")[0])[1:]
            current = {"inputs": explicit, "vars": {}}
            for o in outs:
                builds[o] = current
        elif line.startswith(" ") and current is not None and " = " in line:
            k, _, v = line.strip().partition(" = ")
            current["vars"][k] = v
        elif not line.startswith(" "):
            current = None
    return builds


def split_ninja(s):
    # Paths escape spaces and colons with $; split on unescaped spaces.
    parts, cur, i = [], "", 0
    while i < len(s):
        c = s[i]
        if c == "$" and i + 1 < len(s):
            cur += s[i + 1]
            i += 2
            continue
        if c == " ":
            if cur:
                parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        parts.append(cur)
    return parts


def defined_globals(nm, path):
    """Strong global symbols an object defines."""
    out = subprocess.run([nm, "--defined-only", "--extern-only", "--no-weak", path],
                         check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] in "TDBRC":
            syms.add(f[2])
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--name", required=True, help="archive name, e.g. numpy")
    ap.add_argument("--nm", default="llvm-nm-16")
    ap.add_argument("--ar", default="llvm-ar-16")
    a = ap.parse_args()
    b = a.build.resolve()
    info = b / "meson-info"
    targets = json.loads((info / "intro-targets.json").read_text())
    installed = json.loads((info / "intro-installed.json").read_text())
    builds = ninja_builds(b / "build.ninja")

    site_root = None
    modules, objects, archives = [], [], []
    for t in targets:
        if t["type"] != "shared module" or not t.get("installed"):
            continue
        dest = t["install_filename"][0]
        m = re.match(r"(.*/(?:site|dist)-packages)/(.*?)(\.cpython-[^/]*)?\.so$", dest)
        if not m:
            sys.exit(f"collect: cannot tell the module name of {dest}")
        site_root = m.group(1)
        dotted = m.group(2).replace("/", ".")
        rel = str(pathlib.Path(t["filename"][0]).relative_to(b))
        if rel not in builds:
            sys.exit(f"collect: no build line for {rel} in build.ninja")
        ins = builds[rel]["inputs"]
        link_args = shlex.split(builds[rel]["vars"].get("LINK_ARGS", ""))
        objs = [x for x in ins if x.endswith((".o", ".obj"))]
        libs = [x for x in ins + link_args if x.endswith(".a")]
        init = "PyInit_" + dotted.rsplit(".", 1)[-1]
        found = [o for o in objs if init in defined_globals(a.nm, str(b / o))]
        if not found:
            sys.exit(f"collect: {dotted}: no object defines {init}")
        modules.append((dotted, init))
        objects += [(dotted, o) for o in objs]
        archives += [x for x in libs if x not in archives]

    if not modules:
        sys.exit("collect: no extension modules in the build")

    # One copy of each object: two modules that compile the same source with the same flags
    # (numpy's lapack_lite) make identical objects, taken once. Different objects defining the
    # same global symbol are an error (on wasm32 a second copy may differ in ABI: numpy's
    # legacy random distributions use a 32-bit long).
    seen, owner, kept = set(), {}, []
    for dotted, o in objects:
        key = hashlib.sha256((b / o).read_bytes()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        for s in defined_globals(a.nm, str(b / o)):
            if s in owner:
                sys.exit(f"collect: symbol {s} is defined by {owner[s]} and {o}")
            owner[s] = o
        kept.append(o)
    for x in archives:
        out = subprocess.run([a.nm, "--defined-only", "--extern-only", "--no-weak", str(b / x)],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3 and f[1] in "TDBRC":
                if f[2] in owner and owner[f[2]] != x:
                    sys.exit(f"collect: symbol {f[2]} is defined by {owner[f[2]]} and {x}")
                owner[f[2]] = x

    lib = a.out / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    objarchive = lib / f"lib{a.name}-objects.a"
    objarchive.unlink(missing_ok=True)
    subprocess.run([a.ar, "rcs", str(objarchive)] + [str(b / o) for o in kept], check=True)
    names = [objarchive.name]
    for x in archives:
        dst = lib / x.replace("/", "__")
        dst.unlink(missing_ok=True)
        with open(b / x, "rb") as f:
            thin = f.read(8) == b"!<thin>\n"
        if thin:
            # meson makes thin archives (members stay in the build tree): copy the members in.
            members = subprocess.run([a.ar, "t", str(b / x)], check=True, capture_output=True,
                                     text=True).stdout.split()
            base = (b / x).parent
            subprocess.run([a.ar, "rcs", str(dst)] + [str(base / m) for m in members], check=True)
        else:
            shutil.copy(b / x, dst)
        names.append(dst.name)
    (a.out / "libs").write_text("".join(n + "\n" for n in names))
    (a.out / "modules").write_text("".join(f"{d} {i}\n" for d, i in modules))

    site = a.out / "site"
    nfiles = 0
    for srcpath, dest in installed.items():
        if not dest.startswith(site_root + "/") or dest.endswith(".so"):
            continue
        rel = dest[len(site_root) + 1:]
        p = pathlib.Path(srcpath)
        if p.is_dir():
            shutil.copytree(p, site / rel, dirs_exist_ok=True)
            nfiles += sum(1 for _ in p.rglob("*"))
            continue
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, site / rel)
        nfiles += 1
    print(f"collect: {len(modules)} extension modules, {len(kept)} objects, {len(archives)} static "
          f"libraries, {nfiles} installed files", file=sys.stderr)


if __name__ == "__main__":
    main()
