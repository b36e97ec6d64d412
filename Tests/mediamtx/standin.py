#!/usr/bin/python3
"""MediaMTX v1.20.1 stand-in for tests: control API, two RTSP servers, real hooks.

usage: /usr/bin/python3 Tests/mediamtx/standin.py --api-port P --rtsp-port R --publish-port Q
       [--host 127.0.0.1] [--api-user U --api-pass W] [--all-others] [--no-relay] [--log FILE]

Prints "ready" on stdout once every listener is up; SIGTERM or SIGINT stops every hook process
group and exits 0. See README.md next to this file.
"""
import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import api  # noqa: E402
import conf as confmod  # noqa: E402
from hooks import HookRegistry  # noqa: E402
from logger import Log  # noqa: E402
from paths import PathManager  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description="MediaMTX v1.20.1 stand-in for tests")
    ap.add_argument("--api-port", type=int, required=True)
    ap.add_argument("--rtsp-port", type=int, required=True, help="RTSP read server (readers)")
    ap.add_argument("--publish-port", type=int, required=True, help="RTSP publish server ($RTSP_PORT of hooks)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-user")
    ap.add_argument("--api-pass")
    ap.add_argument("--all-others", action="store_true", help="seed the all_others path, like mediamtx.yml")
    ap.add_argument("--no-relay", action="store_true", help="no RTSP servers (no GStreamer); use /_stub/publish")
    ap.add_argument("--log")
    ap.add_argument("--auth-fail-delay", type=float, default=api.AUTH_DELAY_MAX,
                    help="maximum random delay before a 401 for wrong credentials (MediaMTX: 4)")
    args = ap.parse_args(argv)
    if (args.api_user is None) != (args.api_pass is None):
        ap.error("--api-user and --api-pass go together")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log = Log(args.log)
    registry = HookRegistry(log)
    manager = PathManager(registry, log, args.publish_port)
    relay = None
    if not args.no_relay:
        from relay import Relay
        relay = Relay(manager, args.host, args.publish_port, args.rtsp_port, log)
        manager.relay = relay
    schema = confmod.Schema()
    state = api.State(schema, manager, registry, log, "%s:%d" % (args.host, args.api_port),
                      "%s:%d" % (args.host, args.rtsp_port), args.api_user, args.api_pass, args.all_others,
                      relay, auth_delay_max=args.auth_fail_delay)
    server = api.make_server(state, args.host, args.api_port)
    if relay is not None:
        relay.start()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threading.Thread(target=server.serve_forever, name="api", daemon=True).start()
    log.write("stand-in ready: api %s:%d, rtsp read %s:%d, rtsp publish %s:%d%s" % (
        args.host, args.api_port, args.host, args.rtsp_port, args.host, args.publish_port,
        " (no relay)" if relay is None else ""))
    print("ready", flush=True)

    while not stop.wait(0.5):
        pass

    log.write("stopping")
    with state.hang_cond:
        state.stopping = True
        state.hang_cond.notify_all()
    server.shutdown()
    server.server_close()
    manager.close_all()
    if relay is not None:
        relay.stop()
    registry.stop_all()
    log.write("stopped")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
