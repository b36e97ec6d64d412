"""External commands of path hooks, run the way MediaMTX's internal/externalcmd runs them.

- The command string is split with POSIX shell rules (shlex; MediaMTX uses go-shellquote) and is
  never given to a shell; each argument is then expanded with os.Expand semantics, from the
  hook's variables first and then from the stand-in's own environment.
- The child inherits the stand-in's environment plus the hook's variables, runs in its own process
  group (setpgid, like Go's SysProcAttr{Setpgid: true}) and writes to the stand-in's log.
- close() sends SIGINT to the whole process group. MediaMTX then waits forever; the stand-in
  waits KILL_AFTER seconds and then sends SIGKILL to the group, so a test can never hang on it.
- With restart=True an exited command is started again after RESTART_PAUSE seconds (any exit
  status: MediaMTX v1.20.1 treats every exit the same way).
Every spawned process is kept in HookRegistry for GET /_stub/hooks. A run's exit (orphans, exit
code, end time) is recorded before the process is reaped (HookRun.collect, with waitid(WNOWAIT)),
and describe() collects an exited process itself: once the kernel reports the exit, `running: false`
comes with its exit code and stop reason. /proc can be ahead of that report: a process's cmdline
empties, and a multi-threaded leader (ffmpeg) shows as a zombie, while its threads are still exiting;
waitid reports the exit only after the last one. Observers of /proc wait for `running` to turn false.
"""
import itertools
import os
import shlex
import signal
import subprocess
import threading
import time

from gocompat import os_expand

RESTART_PAUSE = 5.0
KILL_AFTER = 5.0


def _group_members(pgid):
    """PIDs whose process group is pgid (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry))
    return out


class HookRegistry:
    """Every hook process the stand-in started, for /_stub/hooks and for the final cleanup."""

    def __init__(self, log):
        self.log = log
        self.lock = threading.Lock()
        self.runs = []
        self.cmds = set()
        self.ids = itertools.count(1)

    def add(self, run):
        with self.lock:
            self.runs.append(run)

    def describe(self):
        with self.lock:
            return [run.describe() for run in self.runs]

    def clear(self):
        """Forget finished runs (a restart), except those that left processes behind."""
        with self.lock:
            self.runs = [r for r in self.runs if r.running or r.orphans]

    def stop_all(self):
        with self.lock:
            cmds = list(self.cmds)
        for cmd in cmds:
            cmd.close()
        for cmd in cmds:
            cmd.join(KILL_AFTER + 2)
        # leftovers of groups whose leader exited (e.g. background jobs that ignore SIGINT): only the
        # processes seen in the group when the leader exited, if they are still in that group
        with self.lock:
            runs = [r for r in self.runs if r.orphans]
        for run in runs:
            alive = set(_group_members(run.pid))
            for pid in run.orphans:
                if pid in alive:
                    self.log.write("[hooks] killing %d, left in the group of %s (pid %d)" % (pid, run.kind, run.pid))
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


class HookRun:
    """One spawned process."""

    def __init__(self, run_id, path, kind, argv, env_added, proc):
        self.id, self.path, self.kind, self.argv, self.env = run_id, path, kind, argv, env_added
        self.proc = proc
        self.pid = proc.pid
        self.started = time.time()
        self.exit_code = None
        self.ended = None
        self.stop_reason = None
        self.killed = False
        self.orphans = []
        self.lock = threading.Lock()

    @property
    def running(self):
        return self.exit_code is None

    def wait_exit(self):
        """Block until the process has exited, without reaping it (it stays a zombie for collect)."""
        while self.exit_code is None:
            try:
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
                return
            except InterruptedError:
                continue
            except ChildProcessError:   # reaped already (by collect)
                return

    def collect(self):
        """If the process has exited: record its orphans, reap it, record exit code and end time; True then.

        The process is reaped only here, under self.lock, after its group was scanned and before the
        lock is released, so describe never sees it reaped while `running` is still true. Orphans are scanned while the leader is a zombie: the group still exists then."""
        with self.lock:
            if self.exit_code is not None:
                return True
            try:
                exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            except ChildProcessError:
                exited = True
            if not exited:
                return False
            orphans = _group_members(self.pid)
            code = self.proc.wait()
            self.orphans = orphans      # before exit_code: "running" turns false last
            self.ended = time.time()
            self.exit_code = code
            return True

    def describe(self):
        self.collect()
        return {"id": self.id, "path": self.path, "kind": self.kind, "argv": self.argv, "env": self.env,
                "pid": self.pid, "running": self.running, "exitCode": self.exit_code,
                "started": self.started, "ended": self.ended, "stopReason": self.stop_reason,
                "killed": self.killed, "orphans": self.orphans}


class Cmd:
    """externalcmd.Cmd: start() spawns (and respawns with restart), close() stops it."""

    def __init__(self, registry, path, kind, cmdstr, env, restart=False, on_exit=None):
        self.registry, self.path, self.kind, self.cmdstr = registry, path, kind, cmdstr
        self.env = dict(env)
        self.restart = restart
        self.on_exit = on_exit
        self.terminate = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hook-%s-%s" % (kind, path), daemon=True)
        self.current = None
        self.stop_reason = None

    def start(self):
        with self.registry.lock:
            self.registry.cmds.add(self)
        self.thread.start()

    def close(self, reason=None):
        """Like Cmd.Close: returns at once; the process group gets SIGINT."""
        if self.stop_reason is None:
            self.stop_reason = reason or "closed"
        self.terminate.set()

    def join(self, timeout=None):
        self.thread.join(timeout)

    def _argv(self):
        parts = shlex.split(self.cmdstr)
        return [os_expand(p, lambda name: self.env.get(name, os.environ.get(name, ""))) for p in parts]

    def _run(self):
        try:
            while True:
                terminated = self._run_once()
                if terminated or not self.restart:
                    return
                if self.terminate.wait(RESTART_PAUSE):
                    return
        finally:
            with self.registry.lock:
                self.registry.cmds.discard(self)

    def _run_once(self):
        log = self.registry.log
        try:
            argv = self._argv()
            if not argv:
                raise ValueError("empty command")
            env = dict(os.environ)
            env.update(self.env)
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log.stream_fd(),
                                    stderr=subprocess.STDOUT, process_group=0, close_fds=True)
        except (OSError, ValueError) as e:
            log.write("[path %s] %s command failed to start: %s" % (self.path, self.kind, e))
            if self.on_exit:
                self.on_exit(e)
            return self.terminate.wait(0)
        run = HookRun(next(self.registry.ids), self.path, self.kind, argv, self.env, proc)
        self.current = run
        self.registry.add(run)
        log.write("[path %s] %s command started: pid %d argv %s" % (self.path, self.kind, run.pid, argv))
        waiter = threading.Thread(target=self._wait, args=(run,), daemon=True)
        waiter.start()
        while waiter.is_alive():
            if self.terminate.wait(0.05):
                self._stop(run, waiter)
                return True
        self._finish(run)
        if self.on_exit:
            self.on_exit(run.exit_code)
        return False

    @staticmethod
    def _wait(run):
        run.wait_exit()
        run.collect()

    def _stop(self, run, waiter):
        log = self.registry.log
        run.stop_reason = self.stop_reason
        try:
            os.killpg(run.pid, signal.SIGINT)
        except OSError:
            pass
        waiter.join(KILL_AFTER)
        if waiter.is_alive():
            log.write("[path %s] %s command (pid %d) still running %.0fs after SIGINT: SIGKILL to its group"
                      % (self.path, self.kind, run.pid, KILL_AFTER))
            run.killed = True
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except OSError:
                pass
            waiter.join()
        self._finish(run)

    def _finish(self, run):
        run.collect()
        code = run.exit_code
        self.registry.log.write("[path %s] %s command (pid %d) exited with code %s%s" % (
            self.path, self.kind, run.pid, code,
            (" leaving group members %s" % run.orphans) if run.orphans else ""))
