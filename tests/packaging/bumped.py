"""A newer release, for the live upgrade tests.

The exporter reports its version in ap_exporter_build_info from
CARGO_PKG_VERSION, which Cargo takes from Cargo.toml and no environment
variable overrides. So the honest way to get a binary that says it is newer
is a second build of the same source with the version bumped: this copies
the source tree (every file git knows: tracked, or new and not ignored)
into target/bumped/, bumps the last number of the version in the copy's
Cargo.toml and Cargo.lock, and cross-builds it with the project's own
recipe. The copy keeps its build cache, so only the first run pays for it.

  python3 tests/packaging/bumped.py [RUST_TARGET]    prints the binary's path
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COPY = os.path.join(ROOT, "target", "bumped")
# Written with the version bumped, the rest copied as they are.
BUMPED_FILES = ("Cargo.toml", "Cargo.lock")


def current_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


def bumped_version():
    parts = current_version().split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def write_if_changed(path, text):
    """Keeps the file (and its mtime, which Cargo's cache goes by) when equal."""
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path, "w") as f:
        f.write(text)


def mirror():
    """Copies the source tree into COPY (times kept, as Cargo's cache goes by
    them) and deletes what the tree no longer has."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    wanted = {name for name in listed if name and os.path.isfile(os.path.join(ROOT, name))}
    for name in wanted - set(BUMPED_FILES):
        source, copy = os.path.join(ROOT, name), os.path.join(COPY, name)
        if not os.path.exists(copy) or os.stat(copy).st_mtime != os.stat(source).st_mtime:
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copy2(source, copy)
    for d, dirs, names in os.walk(COPY):
        if d == COPY:
            dirs.remove("target")
        for n in names:
            name = os.path.relpath(os.path.join(d, n), COPY)
            if name not in wanted:
                os.remove(os.path.join(COPY, name))


def build(target="x86_64-unknown-linux-musl"):
    old, new = current_version(), bumped_version()
    os.makedirs(os.path.join(COPY, "target"), exist_ok=True)
    mirror()
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        toml = re.sub(r'^version = "%s"' % re.escape(old), 'version = "%s"' % new, f.read(), count=1, flags=re.M)
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        lock = re.sub(r'(name = "ap-exporter"\nversion = ")%s"' % re.escape(old), r'\g<1>%s"' % new, f.read())
    write_if_changed(os.path.join(COPY, "Cargo.toml"), toml)
    write_if_changed(os.path.join(COPY, "Cargo.lock"), lock)
    out = subprocess.run(["scripts/cross-build.sh", target], cwd=COPY, stdout=subprocess.PIPE, text=True, check=True)
    return os.path.join(COPY, out.stdout.strip())


if __name__ == "__main__":
    print(build(*sys.argv[1:]))
