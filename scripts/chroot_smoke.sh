#!/usr/bin/env bash
# make static's smoke test: the static binary in root filesystems that hold nothing else, entered
# with chroot (inside `unshare --net` when the kernel lets us, so nothing can reach the network).
#   1. scratch: only /usr/local/bin/wrkr and its tool links (what examples/container/Containerfile
#      builds FROM scratch): `wrkr verify PACK` and `wrkr-events --records J | wrkr-pack |
#      wrkr-verify -`, the pipe assembled outside the root as a container's caller would.
#   2. busybox: the same plus busybox's sh (examples/container/Containerfile.busybox): `wrkr demo`,
#      whose steps run through /bin/sh.
# Both get /dev/null, zero, random and urandom (as a container runtime provides); neither gets
# /proc or any library.
# Usage: scripts/chroot_smoke.sh STATIC_BINARY   (as root, or where `unshare -r` works)
set -euo pipefail
BIN="$(realpath "${1:?usage: chroot_smoke.sh STATIC_BINARY}")"
BUSYBOX="${BUSYBOX:-$(command -v busybox || true)}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
say() { printf 'chroot-smoke: %s\n' "$*"; }

if file "$BIN" | grep -q "dynamically linked"; then
    echo "chroot-smoke: $BIN is dynamically linked; build it with make static" >&2
    exit 1
fi

# Enter ROOT and run ARGS there; a private network namespace when unshare allows it.
enter() {
    local root="$1"
    shift
    if [ "$(id -u)" != 0 ]; then
        unshare -r --net chroot "$root" "$@"
    elif unshare --net true 2>/dev/null; then
        unshare --net chroot "$root" "$@"
    else
        chroot "$root" "$@"
    fi
}

# A root with only the binary, its tool links and /dev/null.
make_root() {
    local root="$1"
    mkdir -p "$root/usr/local/bin" "$root/dev" "$root/data" "$root/tmp"
    install -m 0755 "$BIN" "$root/usr/local/bin/wrkr"
    for tool in $("$BIN" --list); do ln -s wrkr "$root/usr/local/bin/$tool"; done
    # The devices every container runtime provides (`wrkr keygen` reads /dev/urandom).
    local dev
    for dev in null:1:3 zero:1:5 urandom:1:9 random:1:8; do
        IFS=: read -r name major minor <<<"$dev"
        mknod -m 0666 "$root/dev/$name" c "$major" "$minor" 2>/dev/null ||
            { touch "$root/dev/$name"; mount --bind "/dev/$name" "$root/dev/$name"; MOUNTS+=("$root/dev/$name"); }
    done
}
MOUNTS=()
cleanup_mounts() { for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup_mounts EXIT

# A real job and its pack, made outside with the same binary (the host has a shell for the steps).
mkdir -p "$WORK/host"
(cd "$WORK/host" && WRKR_HOME="$WORK/host/store" "$BIN" demo > demo.txt)
job=$(sed -n 's/^job_id=//p' "$WORK/host/demo.txt")
pack=$(sed -n 's/^jobpack=//p' "$WORK/host/demo.txt")
case "$pack" in /*) ;; *) pack="$WORK/host/$pack" ;; esac

# 1. scratch
root="$WORK/scratch"
make_root "$root"
cp -a "$WORK/host/store" "$root/data/store"
cp "$pack" "$root/data/pack.zip"
say "scratch root: $(find "$root" -type f -o -type l -o -type c | sed "s|$root||" | grep -v '/data/' | tr '\n' ' ')"
enter "$root" /usr/local/bin/wrkr verify /data/pack.zip >/dev/null
say "scratch: wrkr verify PACK ok"
enter "$root" /usr/local/bin/wrkr-events --store /data/store --records "$job" \
    | enter "$root" /usr/local/bin/wrkr-pack > "$WORK/piped.zip"
enter "$root" /usr/local/bin/wrkr-verify - < "$WORK/piped.zip" >/dev/null
# Not byte-compared with the host's export: the job's workspace (an absolute host path) is not in
# the root, so the artifacts are listed by their recorded hashes instead of re-read.
say "scratch: wrkr-events --records $job | wrkr-pack | wrkr-verify - ok"

# 2. busybox
if [ -z "$BUSYBOX" ] || file "$(realpath "$BUSYBOX")" | grep -q "dynamically linked"; then
    echo "chroot-smoke: a static busybox is needed for the second case (apt-get install busybox-static)" >&2
    exit 1
fi
root="$WORK/busybox"
make_root "$root"
mkdir -p "$root/bin"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"
for applet in sh mkdir printf cat ls; do ln -s busybox "$root/bin/$applet"; done
enter "$root" /usr/local/bin/wrkr-verify - < "$WORK/piped.zip" >/dev/null
enter "$root" /bin/sh -c 'cd /tmp && PATH=/bin:/usr/local/bin WRKR_HOME=/tmp/store wrkr demo' > "$WORK/bb.txt"
grep -q '^footer=' "$WORK/bb.txt"
bbpack=$(sed -n 's/^jobpack=//p' "$WORK/bb.txt")
case "$bbpack" in /*) ;; *) bbpack="/tmp/$bbpack" ;; esac
enter "$root" /usr/local/bin/wrkr verify "$bbpack" >/dev/null
say "busybox: wrkr demo ok ($(grep '^footer=' "$WORK/bb.txt"))"
say "static binary: $(stat -c %s "$BIN") bytes"
