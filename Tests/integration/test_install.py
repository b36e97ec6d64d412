"""`make install` into a DESTDIR: layout, rpath, the installed daemon running from it, the
systemd unit verified by systemd-analyze, config never overwritten, upgrade and uninstall."""
import asyncio
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from client import Client
from conftest import BIN, REPO, free_port

PREFIX = "/usr/local"
LIBDIR = "usr/local/lib/camera-service"
UNIT = "/usr/local/lib/systemd/system/camera-service.service"


def install(dest, action="install"):
    env = dict(os.environ, DESTDIR=str(dest), PREFIX=PREFIX, BUILD_DIR=str(BIN.parent))
    r = subprocess.run([str(REPO / "scripts" / "install.sh"), action], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def files_under(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    install(d)
    return d


def test_layout_and_rpath(dest):
    lib = dest / LIBDIR
    assert (lib / "camera-service").is_file() and (lib / "libPluginAPI.so").is_file()
    for plugin in ("JWTAuth", "V4L2Source", "TestPatternSource", "MediaMTXBackend", "FFmpegCapture", "FileStore"):
        assert (lib / f"lib{plugin}.so").is_file(), plugin
    assert os.readlink(dest / "usr/local/bin/camera-service") == "../lib/camera-service/camera-service"
    for elf in [lib / "camera-service", *lib.glob("*.so")]:
        out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True).stdout
        runpath = [l for l in out.splitlines() if "RUNPATH" in l or "RPATH" in l]
        assert runpath and all("[$ORIGIN]" in l for l in runpath), (elf.name, runpath)
    # every Swift runtime library comes from the install, none from the toolchain
    ldd = subprocess.run(["ldd", str(lib / "camera-service")], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}).stdout
    swift = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=>" in l and "libswift" in l]
    assert swift and all(p.startswith(str(lib) + "/") for p in swift), swift
    assert (dest / "etc/camera-service/config.yaml").is_file() and (dest / "var/lib/camera-service").is_dir()
    assert (dest / "usr/local/share/camera-service/mediamtx/mediamtx.yml").is_file()
    assert (dest / "usr/local/lib/sysusers.d/camera-service.conf").read_text().count("camera-service") >= 2


def test_installed_daemon_runs_from_its_directory(dest, tmp_path):
    lib = dest / LIBDIR
    port = free_port()
    env = {"PATH": os.environ["PATH"], "CAMERA_SERVICE_DATA_DIR": str(tmp_path / "data"), "CAMERA_SERVICE_SERVER_PORT": str(port),
           "CAMERA_SERVICE_SERVER_HOST": "127.0.0.1",
           "CAMERA_SERVICE_SERVER_CONSOLE_DIR": str(dest / "usr/local/share/camera-service/console")}
    config = str(dest / "etc/camera-service/config.yaml")
    r = subprocess.run([str(lib / "camera-service"), "--check-config", "--config", config], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plugin jwt_auth: OK" in r.stdout and "plugin test_pattern_source: disabled" in r.stdout
    proc = subprocess.Popen([str(dest / "usr/local/bin/camera-service"), "--demo", "--config", config], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        lines = [proc.stdout.readline().decode() for _ in range(6)]
        admin = next(l.split()[1] for l in lines if l.strip().startswith("admin "))

        async def go():
            c = await Client.open(f"ws://127.0.0.1:{port}/ws", role=None)
            assert (await c.call("authenticate", {"auth_token": admin}))["result"]["role"] == "admin"
            cams = (await c.call("get_camera_list"))["result"]["cameras"]
            await c.ws.close()
            return cams
        assert "test_cam0" in {c["device"] for c in asyncio.run(go())}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        assert (tmp_path / "data").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_systemd_unit_verifies(dest, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed (scripts/install-deps.sh test installs it)")
    root = tmp_path / "root"
    shutil.copytree(dest, root, symlinks=True)
    # verify --root needs the distribution's own units (sysinit.target, …) under the root
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", UNIT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr
    unit = (root / UNIT.lstrip("/")).read_text()
    for line in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "ReadWritePaths=/var/lib/camera-service", "DeviceAllow=char-video4linux rw", "SupplementaryGroups=video",
                 "User=camera-service", "Restart=on-failure",
                 "ExecStartPre=/usr/local/lib/camera-service/camera-service --config /etc/camera-service/config.yaml --check-config"):
        assert line in unit, line
    # and it can fail: a bad value is reported
    (root / UNIT.lstrip("/")).write_text(unit.replace("ProtectSystem=strict", "ProtectSystem=sometimes"))
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", UNIT], capture_output=True, text=True, timeout=60)
    assert "sometimes" in r.stdout + r.stderr


def test_upgrade_keeps_edited_config_and_uninstall_removes_the_rest(tmp_path):
    d = tmp_path / "dest"
    install(d)
    config = d / "etc/camera-service/config.yaml"
    config.write_text(config.read_text().replace("port: 8002", "port: 9002"))
    # a file an older version installed and this one no longer has
    gone = d / LIBDIR / "libRetired.so"
    gone.write_text("old")
    manifest = d / LIBDIR / "install-manifest"
    manifest.write_text(manifest.read_text() + f"file {PREFIX}/lib/camera-service/libRetired.so\n")
    r = install(d)
    assert "kept your /etc/camera-service/config.yaml" in r.stderr
    assert "port: 9002" in config.read_text() and "port: 8002" in (d / "etc/camera-service/config.yaml.dist").read_text()
    assert not gone.exists()
    (d / "var/lib/camera-service/api-keys.json").write_text("{}")  # data the daemon made
    r = install(d, "uninstall")
    assert "kept /etc/camera-service/config.yaml" in r.stderr and "kept /var/lib/camera-service" in r.stderr
    assert files_under(d) == {"etc/camera-service/config.yaml", "var/lib/camera-service/api-keys.json"}


def test_uninstall_of_an_untouched_install_leaves_nothing(tmp_path):
    d = tmp_path / "dest"
    install(d)
    install(d)  # an upgrade in place changes nothing
    install(d, "uninstall")
    assert not any(d.iterdir()), sorted(files_under(d))


def test_plugin_built_out_of_tree_against_the_installed_sdk(dest, tmp_path):
    # docs/plugins.md's command: swiftc against sdk/ and libPluginAPI.so, no repository needed.
    lib = dest / LIBDIR
    sources = sorted(str(p) for p in (REPO / "Examples/HelloPlugin/Sources/AcmeHello").glob("*.swift"))
    out = tmp_path / "libAcmeHello.so"
    r = subprocess.run(["swiftc", "-emit-library", "-parse-as-library", "-swift-version", "6", "-module-name", "AcmeHello",
                        "-I", str(lib / "sdk"), "-L", str(lib), "-lPluginAPI", "-no-toolchain-stdlib-rpath", *sources, "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    port = free_port()
    (tmp_path / "plugins.yaml").write_text(
        "plugins:\n  - {name: jwt_auth, library: JWTAuth, required: true}\n"
        f"  - {{name: acme_hello, library: {out}, required: true, config: {{greeting: Ahoy}}}}\n")
    (tmp_path / "config.yaml").write_text(f"server: {{host: 127.0.0.1, port: {port}, console_dir: ''}}\n")
    r = subprocess.run([str(lib / "camera-service"), "--config", str(tmp_path / "config.yaml"), "--check-config"],
                       capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, timeout=60)
    assert r.returncode == 0 and "plugin acme_hello: OK" in r.stdout, r.stdout + r.stderr
    proc = subprocess.Popen([str(lib / "camera-service"), "--demo", "--config", str(tmp_path / "config.yaml")], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
    try:
        lines = [proc.stdout.readline().decode() for _ in range(6)]
        viewer = next(l.split()[1] for l in lines if l.strip().startswith("viewer "))

        async def go():
            c = await Client.open(f"ws://127.0.0.1:{port}/ws", role=None)
            await c.call("authenticate", {"auth_token": viewer})
            reply = await c.call("acme.hello", {"name": "Ada"})
            await c.ws.close()
            return reply
        assert asyncio.run(go())["result"]["message"] == "Ahoy, Ada!"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
