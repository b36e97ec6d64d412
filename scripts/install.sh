#!/usr/bin/env bash
# `make install` / `make uninstall`.
#
#   scripts/install.sh install | uninstall
#
# Settings (environment; the Makefile passes its variables): PREFIX (/usr/local), DESTDIR
# (empty; set for packaging: nothing outside it is touched), SYSCONFDIR (/etc), STATEDIR
# (/var/lib/camera-service), BUILD_DIR (.build/release), UNITDIR (PREFIX/lib/systemd/system
# for /usr and /usr/local, else /etc/systemd/system).
#
# Layout: the daemon, libPluginAPI.so, the plugins and the Swift runtime they need in
# PREFIX/lib/camera-service (rpath $ORIGIN only, so a toolchain upgrade cannot swap the
# runtime under it) with the SDK's module in sdk/, a camera-service link in PREFIX/bin, the console, MediaMTX examples and
# docs under PREFIX/share, config in SYSCONFDIR/camera-service (an edited file is never
# overwritten: the new one goes beside it as .dist), data in STATEDIR, the systemd unit and a
# sysusers.d entry. Every file put is listed in PREFIX/lib/camera-service/install-manifest,
# which uninstall (and the next install, for files a new version no longer has) reads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action="${1:-install}"
PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
STATEDIR="${STATEDIR:-/var/lib/camera-service}"
BUILD_DIR="${BUILD_DIR:-.build/release}"
case "$PREFIX" in
    /usr|/usr/local) UNITDIR="${UNITDIR:-$PREFIX/lib/systemd/system}" ;;
    *) UNITDIR="${UNITDIR:-$SYSCONFDIR/systemd/system}" ;;
esac
LIBDIR="$PREFIX/lib/camera-service"
BINDIR="$PREFIX/bin"
SHAREDIR="$PREFIX/share/camera-service"
DOCDIR="$PREFIX/share/doc/camera-service"
SYSUSERSDIR="$PREFIX/lib/sysusers.d"
CONFDIR="$SYSCONFDIR/camera-service"
MANIFEST="$LIBDIR/install-manifest"
USER_NAME=camera-service

say() { echo "install: $*" >&2; }
die() { echo "install: $*" >&2; exit 1; }
# Acting on the live system (not staging into DESTDIR for a package) as root.
live_root() { [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ]; }
systemd_running() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; }

new_manifest=()
previous=""
put_file() {  # mode source target
    install -D -m "$1" "$2" "$DESTDIR$3"
    new_manifest+=("file $3")
}
# A directory; listed (so uninstall removes it when empty) only if this install or an
# earlier one made it, never one that was there before.
put_dir() {
    [ "$1" = / ] && return
    if [ ! -d "$DESTDIR$1" ] || grep -qxF "dir $1" <<< "$previous"; then
        put_dir "$(dirname "$1")"
        new_manifest+=("dir $1")
    fi
    install -d -m "${2:-0755}" "$DESTDIR$1"
}
# Feed it with `< <(…)`, not a pipe: a pipe's subshell would lose the manifest entry.
put_text() {  # mode target (text on stdin)
    local tmp
    tmp="$(mktemp)"
    cat > "$tmp"
    put_file "$1" "$tmp" "$2"
    rm -f "$tmp"
}
# A config file: installed when absent or unchanged; an edited one stays and the new
# version goes beside it as .dist.
put_config() {  # source target
    local target="$DESTDIR$2"
    if [ -e "$target" ] && ! cmp -s "$1" "$target"; then
        install -m 0640 "$1" "$target.dist"
        new_manifest+=("file $2.dist")
        say "kept your $2; the new default is $2.dist"
        return
    fi
    install -D -m 0640 "$1" "$target"
    live_root && chgrp "$USER_NAME" "$target"
    new_manifest+=("config $(sha256sum < "$1" | cut -d' ' -f1) $2")
}

# Lines of the previous manifest.
old_manifest() { [ -f "$DESTDIR$MANIFEST" ] && cat "$DESTDIR$MANIFEST" || true; }

# Removes what a manifest lists: files and links, unchanged config files, then the
# directories it made once they are empty (deepest first).
remove_listed() {
    local kind a b dirs=()
    while read -r kind a b; do
        case "$kind" in
            file) rm -f "$DESTDIR$a" ;;
            config)
                if [ -f "$DESTDIR$b" ] && [ "$(sha256sum < "$DESTDIR$b" | cut -d' ' -f1)" = "$a" ]; then
                    rm -f "$DESTDIR$b"
                elif [ -e "$DESTDIR$b" ]; then
                    say "kept $b: it was edited after installing"
                fi ;;
            dir) dirs+=("$a") ;;
        esac
    done
    printf '%s\n' "${dirs[@]}" | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- | while read -r d; do
        [ -n "$d" ] && rmdir "$DESTDIR$d" 2>/dev/null || true
    done
}

# The Swift runtime libraries the binaries load: every library ldd resolves from the
# directory libswiftCore.so comes from, wherever the toolchain keeps it.
swift_runtime() {
    local resolved dir
    resolved="$(ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)"
    dir="$(dirname "$(grep -m1 '/libswiftCore\.so$' <<< "$resolved")")"
    [ "$dir" != . ] || die "cannot find the Swift runtime the build links (ldd shows no libswiftCore.so)"
    grep "^$dir/" <<< "$resolved"
}

install_all() {
    [ -x "$BUILD_DIR/camera-service" ] || die "no build in $BUILD_DIR (run 'make release' first)"
    command -v patchelf >/dev/null || die "patchelf is needed (apt-get install patchelf)"
    previous="$(old_manifest)"

    put_dir "$LIBDIR"
    put_file 0755 "$BUILD_DIR/camera-service" "$LIBDIR/camera-service"
    local libs=() lib
    for lib in "$BUILD_DIR"/lib*.so; do
        put_file 0644 "$lib" "$LIBDIR/$(basename "$lib")"
        libs+=("$lib")
    done
    for lib in $(swift_runtime "$BUILD_DIR/camera-service" "${libs[@]}"); do
        put_file 0644 "$lib" "$LIBDIR/$(basename "$lib")"
    done
    local entry
    for entry in "${new_manifest[@]}"; do
        [[ "$entry" == "file $LIBDIR/"* ]] && patchelf --set-rpath '$ORIGIN' "$DESTDIR${entry#file }"
    done

    # The SDK, to build plugins out of tree against this libPluginAPI.so (docs/plugins.md):
    # the module interface (stable across compilers, library evolution) and, for the same
    # compiler, the compiled module.
    local triple
    triple="$(uname -m)-unknown-linux-gnu"
    put_dir "$LIBDIR/sdk/PluginAPI.swiftmodule"
    for ext in swiftinterface swiftmodule swiftdoc; do
        put_file 0644 "$BUILD_DIR/Modules/PluginAPI.$ext" "$LIBDIR/sdk/PluginAPI.swiftmodule/$triple.$ext"
    done

    put_dir "$BINDIR"
    ln -sfn "$(realpath -m --relative-to="$BINDIR" "$LIBDIR/camera-service")" "$DESTDIR$BINDIR/camera-service"  # relative: right in DESTDIR too
    new_manifest+=("file $BINDIR/camera-service")

    put_dir "$SHAREDIR/console"
    for f in console/*; do [ -f "$f" ] && put_file 0644 "$f" "$SHAREDIR/console/$(basename "$f")"; done
    put_dir "$SHAREDIR/mediamtx"
    put_file 0644 packaging/mediamtx.yml "$SHAREDIR/mediamtx/mediamtx.yml"
    put_file 0644 packaging/mediamtx.service "$SHAREDIR/mediamtx/mediamtx.service"
    put_dir "$SHAREDIR/examples"
    for f in Examples/python-client/*; do [ -f "$f" ] && put_file 0644 "$f" "$SHAREDIR/examples/$(basename "$f")"; done
    put_dir "$DOCDIR"
    for f in docs/*.md; do put_file 0644 "$f" "$DOCDIR/$(basename "$f")"; done

    put_dir "$UNITDIR"
    put_text 0644 "$UNITDIR/camera-service.service" < <(sed -e "s|@LIBDIR@|$LIBDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
        -e "s|@STATEDIR@|$STATEDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" packaging/camera-service.service.in)
    put_dir "$SYSUSERSDIR"
    put_text 0644 "$SYSUSERSDIR/camera-service.conf" < <(sed "s|/var/lib/camera-service|$STATEDIR|" packaging/camera-service.sysusers)

    if live_root && ! id "$USER_NAME" >/dev/null 2>&1; then
        if command -v systemd-sysusers >/dev/null; then
            systemd-sysusers "$SYSUSERSDIR/camera-service.conf"
        else
            useradd --system --user-group --groups video --home-dir "$STATEDIR" --shell /usr/sbin/nologin "$USER_NAME"
        fi
        say "created the system user $USER_NAME (in the video group)"
    fi

    # Config: the repository's, with the installed places for data and the console, and the
    # test-pattern cameras off (--demo turns them on).
    put_dir "$CONFDIR" 0750
    live_root && chgrp "$USER_NAME" "$DESTDIR$CONFDIR"
    local tmp
    tmp="$(mktemp -d)"
    sed -e "s|^data_dir: .*|data_dir: $STATEDIR   # keys, JWT secret, recordings, snapshots|" \
        -e "s|^  console_dir: .*|  console_dir: $SHAREDIR/console|" config.yaml > "$tmp/config.yaml"
    sed '/name: test_pattern_source/,/enabled:/ s/enabled: true/enabled: false/' plugins.yaml > "$tmp/plugins.yaml"
    grep -q "^data_dir: $STATEDIR" "$tmp/config.yaml" || die "config.yaml has no data_dir line to set"
    put_config "$tmp/config.yaml" "$CONFDIR/config.yaml"
    put_config "$tmp/plugins.yaml" "$CONFDIR/plugins.yaml"
    rm -rf "$tmp"

    # Data: the service's own (systemd's StateDirectory= also makes it); removed only if empty.
    put_dir "$STATEDIR" 0750
    live_root && chown "$USER_NAME:$USER_NAME" "$DESTDIR$STATEDIR"

    # Files the previous version had and this one does not.
    comm -23 <(printf '%s\n' "$previous" | grep '^file ' | sort -u) <(printf '%s\n' "${new_manifest[@]}" | grep '^file ' | sort -u) | remove_listed
    local kept
    kept="$(grep '^config ' <<< "$previous" || true)"
    # Keep the previous entries for config files kept as they were (uninstall still checks them).
    {
        printf '%s\n' "${new_manifest[@]}"
        while read -r _ sha path; do
            [ -n "$path" ] && ! printf '%s\n' "${new_manifest[@]}" | grep -q " $path\$" && echo "config $sha $path"
        done <<< "$kept"
        echo "file $MANIFEST"
    } | awk '!seen[$0]++' > "$DESTDIR$MANIFEST"

    if systemd_running && live_root; then
        systemctl daemon-reload
        if systemctl is-active --quiet camera-service; then
            say "upgraded; restart to use it: systemctl restart camera-service"
        else
            say "start it: systemctl enable --now camera-service   (logs: journalctl -u camera-service -f)"
        fi
    fi
    say "installed into ${DESTDIR:-/} (daemon and plugins: $LIBDIR, config: $CONFDIR, data: $STATEDIR)"
}

uninstall_all() {
    [ -f "$DESTDIR$MANIFEST" ] || die "nothing to uninstall: $DESTDIR$MANIFEST not found"
    if systemd_running && live_root && systemctl list-unit-files camera-service.service >/dev/null 2>&1; then
        systemctl disable --now camera-service 2>/dev/null || true
    fi
    remove_listed < "$DESTDIR$MANIFEST"
    systemd_running && live_root && systemctl daemon-reload
    [ -d "$DESTDIR$STATEDIR" ] && say "kept $STATEDIR: it holds data (keys, recordings); remove it yourself if unwanted"
    live_root && id "$USER_NAME" >/dev/null 2>&1 && say "kept the system user $USER_NAME (userdel $USER_NAME removes it)"
    say "uninstalled from ${DESTDIR:-/}"
}

case "$action" in
    install) install_all ;;
    uninstall) uninstall_all ;;
    *) die "usage: scripts/install.sh install|uninstall" ;;
esac
