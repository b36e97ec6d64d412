"""The stand-in's log: one timestamped line per event, to --log FILE or stderr.

Hook processes write their own stdout/stderr into the same file descriptor.
"""
import sys
import threading
import time


class Log:
    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else sys.stderr

    def write(self, line):
        now = time.time()
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now)) + ".%03d" % (int(now * 1000) % 1000)
        with self.lock:
            self.file.write("%s %s\n" % (stamp, line))
            self.file.flush()

    def stream_fd(self):
        """A file descriptor children may write to."""
        return self.file.fileno()

    def close(self):
        if self.file is not sys.stderr:
            self.file.close()
