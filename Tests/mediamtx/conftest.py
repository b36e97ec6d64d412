import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mtx_server  # noqa: E402


def pytest_report_header(config):
    binary = mtx_server.real_binary()
    if binary:
        return "mediamtx conformance: running against the REAL MediaMTX at MEDIAMTX_BIN=%s" % binary
    return ("mediamtx conformance: running against the stand-in (Tests/mediamtx/standin.py); the real-server "
            "variant is skipped because MEDIAMTX_BIN is not set (set it to a mediamtx v1.20.x binary to run the "
            "same checks against the real server)")
