#!/usr/bin/env bash
# End-to-end tests of Berth as it is installed: `scripts/package.sh` builds the release
# binary (Swift's runtime static), the tarball and the Debian package; the package is
# installed on this machine (user `berth`, /etc/berth/config.yml, /var/lib/berth, the
# systemd unit), served the way its unit runs it and pushed to; then the Dockerfile's image
# is built with Debian's docker engine on a base image made here from Debian's packages
# (no image registry is reachable from this machine), run, and pushed to.
# BERTH_RELEASE_BINARY=PATH packages that binary instead of building one.
set -uo pipefail

source "$(dirname "$0")/lib.sh"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

require() { # tool: a missing tool fails under CI, is reported elsewhere
    command -v "$1" >/dev/null && return 0
    if [ "${CI:-}" = "true" ]; then fail "$1 is required"; else echo "  skip: $1 is not installed"; fi
    return 1
}

# The package's files and user are removed again at the end (the registry's data too:
# this is a test machine), also when the script fails half-way.
purge_package() {
    pkill -u berth -f '/usr/bin/berth serve' 2>/dev/null
    dpkg --purge berth >/dev/null 2>&1
    rm -rf /var/lib/berth /etc/berth
    getent passwd berth >/dev/null && deluser --system --quiet berth >/dev/null 2>&1
    getent group berth >/dev/null && delgroup --system --quiet berth >/dev/null 2>&1
    return 0
}
DOCKER_IMAGES=()
trap 'for i in "${DOCKER_IMAGES[@]}"; do docker rmi -f "$i" >/dev/null 2>&1; done; cleanup; [ "$(id -u)" -eq 0 ] && purge_package' EXIT

echo "== scripts/package.sh: the release binary, the tarball, the Debian package"
if [ -n "${BERTH_RELEASE_BINARY:-}" ]; then
    out=$("$REPO/scripts/package.sh" --binary "$BERTH_RELEASE_BINARY" 2>&1)
else
    out=$("$REPO/scripts/package.sh" 2>&1)
fi
status=$?
expect_eq "scripts/package.sh succeeds" "$status" "0"
[ "$status" -eq 0 ] || { echo "$out" | tail -20; finish; exit 1; }
VERSION=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$REPO/Sources/berth/Version.swift")
TARBALL="$REPO/dist/berth-$VERSION-linux-$(uname -m).tar.gz"
DEB="$REPO/dist/berth_${VERSION}_$(dpkg --print-architecture).deb"
check "it made the tarball" test -s "$TARBALL"
check "and the Debian package" test -s "$DEB"
T="$WORK/tarball"; mkdir -p "$T"; tar -C "$T" -xzf "$TARBALL"
BIN="$T/berth-$VERSION-linux-$(uname -m)/bin/berth"
expect_eq "the tarball holds the binary, the config, the unit and the README" \
    "$(cd "$T/berth-$VERSION-linux-$(uname -m)" && find . -type f | sort | tr '\n' ' ')" \
    "./README.md ./bin/berth ./share/berth/berth.service ./share/berth/config.yml "
libs=$(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
expect_eq "the binary links no Swift runtime: only Debian's C/C++ runtime, libldap, libcrypto, libxml2 and zlib" "$libs" \
    "ld-linux-x86-64.so.2 libc.so.6 libcrypto.so.3 libgcc_s.so.1 liblber-2.5.so.0 libldap-2.5.so.0 libm.so.6 libstdc++.so.6 libxml2.so.2 libz.so.1 "
check "and every library it loads is found" bash -c "! ldd '$BIN' | grep -q 'not found'"
expect_eq "berth --version names the release" "$("$BIN" --version)" "$VERSION"
fields=$(dpkg-deb -f "$DEB" Package Version Depends)
check "the package depends on the libraries' Debian packages ($(dpkg-deb -f "$DEB" Depends))" \
    bash -c "echo '$fields' | grep -q 'libldap' && echo '$fields' | grep -q 'libc6' && echo '$fields' | grep -q 'libssl'"
expect_eq "its files" "$(dpkg-deb -c "$DEB" | awk '{print $6}' | grep -v '/$' | sort | tr '\n' ' ')" \
    "./etc/berth/config.yml ./lib/systemd/system/berth.service ./usr/bin/berth ./usr/share/doc/berth/README.md "

if [ "$(id -u)" -ne 0 ]; then
    if [ "${CI:-}" = "true" ]; then fail "installing the package needs root"; else echo "  skip: installing the package needs root"; fi
    finish; exit
fi

echo "== the Debian package installed here, served as its systemd unit runs it"
purge_package
check "dpkg -i installs it" dpkg -i "$DEB"
check "it created the system user berth" bash -c "getent passwd berth | grep -q ':/var/lib/berth:'"
expect_eq "/var/lib/berth belongs to berth, mode 0750" "$(stat -c '%U:%G %a' /var/lib/berth)" "berth:berth 750"
expect_eq "/etc/berth/config.yml is readable by berth only (and root)" "$(stat -c '%U:%G %a' /etc/berth/config.yml)" "root:berth 640"
check "the config file is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' berth | grep -q /etc/berth/config.yml"
check "berth is on the PATH" bash -c "command -v berth | grep -q /usr/bin/berth"
check "the packaged config passes check-config --strict" berth check-config --strict /etc/berth/config.yml
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verifies the unit" bash -c "! systemd-analyze verify /lib/systemd/system/berth.service 2>&1 | grep -v 'Cannot add dependency' | grep ."
fi
# No systemd runs here: start the unit's ExecStart as its User in its WorkingDirectory.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/berth.service)
workdir=$(sed -n 's/^WorkingDirectory=//p' /lib/systemd/system/berth.service)
user=$(sed -n 's/^User=//p' /lib/systemd/system/berth.service)
PPORT=$(free_port)
(cd "$workdir" && REGISTRY_HTTP_ADDR=127.0.0.1:$PPORT exec runuser -u "$user" -- $exec_start) >"$WORK/packaged.out" 2>"$WORK/packaged.err" &
PIDS+=($!)
wait_ready "http://127.0.0.1:$PPORT/v2/" || { tail -20 "$WORK/packaged.err"; }
expect_eq "the first admin's password is in /var/lib/berth/admin-password, 0600, owned by berth" \
    "$(stat -c '%U %a' /var/lib/berth/admin-password 2>&1)" "berth 600"
ADMIN_PW=$(cat /var/lib/berth/admin-password)
check "and not in the service's output" bash -c "! grep -q -- '$ADMIN_PW' '$WORK/packaged.out' '$WORK/packaged.err' && grep -q 'admin-password' '$WORK/packaged.out'"
python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 20000 --seed 71 >/dev/null
check "skopeo pushes to the packaged Berth as admin" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v1" "docker://127.0.0.1:$PPORT/team/app:v1"
check "its data is under /var/lib/berth/data" test -d /var/lib/berth/data/docker/registry/v2/repositories/team/app
out=$(cd "$WORK" && echo ci-password-1 | berth user add ci --password-stdin --cost 4 2>&1)
check "sudo-style 'berth user add' from another directory finds the packaged database ($out)" bash -c "echo '$out' | grep -q '/etc/berth/config.yml'"
check "berth acl add the same way" bash -c "cd '$WORK' && berth acl add --account ci --name 'ci/*' --actions pull,push 2>/dev/null"
check "the new account pushes at once" $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 "oci:$WORK/img:v1" "docker://127.0.0.1:$PPORT/ci/app:v1"
expect_eq "nothing under /var/lib/berth belongs to root after the CLI ran as root" "$(find /var/lib/berth -user root | head -3)" ""
pkill -TERM -u berth -f '/usr/bin/berth serve'
check "the service stops on SIGTERM" wait_until 30 bash -c "! pgrep -u berth -f '/usr/bin/berth serve'"
check "dpkg --remove removes the binary" bash -c "dpkg --remove berth >/dev/null && ! test -e /usr/bin/berth"
check "and keeps the registry's data" test -d /var/lib/berth/data/docker/registry/v2/repositories/team/app
check "dpkg --purge removes the config" bash -c "dpkg --purge berth >/dev/null && ! test -e /etc/berth/config.yml"
purge_package

echo "== the Dockerfile's image, on a Debian base image made here from Debian packages"
if require dockerd && require docker; then
    DD="$WORK/dockerd"; mkdir -p "$DD"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$DD/root" --exec-root "$DD/exec" \
        -H "unix://$DD/docker.sock" --pidfile "$DD/docker.pid" >"$DD/dockerd.log" 2>&1 &
    PIDS+=($!)
    MOUNTS+=("$DD/exec/netns/default")
    export DOCKER_HOST="unix://$DD/docker.sock"
    wait_until 60 docker version
    # The base: the files of the installed Debian packages a runtime and the Dockerfile's
    # steps need (a shell, coreutils, ldd) and the packages the .deb depends on, with their
    # dependencies; /bin/sh as dash's postinst would make it.
    ROOTFS="$WORK/rootfs"; mkdir -p "$ROOTFS/tmp" "$ROOTFS/etc"; chmod 1777 "$ROOTFS/tmp"
    runtime=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*//; s/ //g' | grep -v '^adduser$')
    pkgs=$(apt-cache depends --installed --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
        bash dash coreutils grep sed libc-bin $runtime 2>/dev/null | grep '^[a-z0-9]' | sort -u)
    # Paths as dpkg lists them (/bin/dash) are stored where they really are (/usr/bin/dash).
    for pkg in $pkgs; do dpkg -L "$pkg" 2>/dev/null; done | python3 -c '
import os, sys
for line in sys.stdin:
    path = line.rstrip("\n")
    if path.startswith("/") and path != "/.":
        print(os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)))' |
        sort -u | tar -C / --no-recursion -cf - -T - 2>/dev/null | tar -C "$ROOTFS" -xf -
    ln -sf dash "$ROOTFS/usr/bin/sh"
    ldconfig -r "$ROOTFS"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
    check "a Debian base image is imported ($(echo $pkgs | wc -w) packages)" bash -c "tar -C '$ROOTFS' -c . | docker import - berth-test/debian-base:12 >/dev/null"
    DOCKER_IMAGES+=(berth-test/debian-base:12)
    check "docker build of the Dockerfile (PREBUILT=dist/bin/berth, both stages on that base)" \
        docker build --network=none --build-arg SWIFT_IMAGE=berth-test/debian-base:12 --build-arg BASE_IMAGE=berth-test/debian-base:12 \
        --build-arg PREBUILT=dist/bin/berth -t berth-test/berth:latest "$REPO"
    DOCKER_IMAGES+=(berth-test/berth:latest)
    expect_eq "the image runs as uid 10001 with /var/lib/berth as a volume" \
        "$(docker image inspect -f '{{.Config.User}} {{range $k, $v := .Config.Volumes}}{{$k}}{{end}}' berth-test/berth:latest)" "10001:10001 /var/lib/berth"
    CPORT=$(free_port)
    check "docker run (host network: this engine has no bridge)" \
        docker run -d --name berth-test --network host -e REGISTRY_HTTP_ADDR=127.0.0.1:$CPORT berth-test/berth:latest
    if wait_ready "http://127.0.0.1:$CPORT/v2/"; then
        wait_until 20 docker exec berth-test test -s /var/lib/berth/admin-password
        CONTAINER_PW=$(docker exec berth-test cat /var/lib/berth/admin-password)
        check "the admin's password is in the container's /var/lib/berth/admin-password, not its log" \
            bash -c "[ -n '$CONTAINER_PW' ] && ! docker logs berth-test 2>&1 | grep -q -- '$CONTAINER_PW'"
        check "skopeo pushes to the container" $SK copy --dest-tls-verify=false --dest-creds "admin:$CONTAINER_PW" "oci:$WORK/img:v1" "docker://127.0.0.1:$CPORT/team/app:v1"
        check "and pulls back" $SK copy --src-tls-verify=false --src-creds "admin:$CONTAINER_PW" "docker://127.0.0.1:$CPORT/team/app:v1" "oci:$WORK/back:v1"
    else
        fail "the container serves" "$(docker logs berth-test 2>&1 | tail -20)"
    fi
    docker rm -f berth-test >/dev/null 2>&1
    unset DOCKER_HOST
fi

finish
