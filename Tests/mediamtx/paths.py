"""Runtime paths: what /v3/paths/... shows, and the on-demand state machine of MediaMTX's path.go.

PathManager mirrors internal/core/path_manager.go + path.go of MediaMTX v1.20.1:
- every static configured name has a runtime path as soon as its config is applied; names that
  only match a regex config (or all_others) get one while a publisher or reader uses them;
- a publisher makes the path available (ready) with its tracks; when it leaves, the readers are
  closed and the path is not available any more;
- a reader of a path with runOnDemand and no stream is held, the command is started, the reader is
  served once a publisher is ready, or failed after runOnDemandStartTimeout; after the last reader
  leaves, runOnDemandCloseAfter later the command is stopped and runOnUnDemand runs;
- a config reload hot-updates a path when only record*/forward/rpiCamera image keys changed and
  otherwise destroys it (kicking publisher and readers, stopping its hooks) and creates it again.
The media side (relay.py or the /_stub fakes) calls describe / add_reader / remove_reader /
check_publish / add_publisher / remove_publisher; the manager calls back relay.kick(handle) to
close an RTSP session.
"""
import threading
import time
import urllib.parse

import conf as confmod
from gocompat import SECOND, rfc3339nano
from hooks import Cmd

INITIAL, WAITING_READY, READY, CLOSING = "initial", "waitingReady", "ready", "closing"


_STATIC_SOURCE_TYPES = [(("rtsp://", "rtsps://", "rtsp+http://", "rtsps+http://", "rtsp+ws://", "rtsps+ws://"),
                         "rtspSource"),
                        (("rtmp://", "rtmps://"), "rtmpSource"), (("http://", "https://"), "hlsSource"),
                        (("udp://", "udp+mpegts://", "unix+mpegts://"), "mpegtsSource"),
                        (("udp+rtp://", "unix+rtp://"), "rtpSource"), (("srt://",), "srtSource"),
                        (("moqt://",), "moqSource"), (("whep://", "wheps://"), "webRTCSource")]
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def static_source_type(source):
    """APISourceDescribe().Type of the source a non-publisher path has from its creation, or None."""
    if source == "publisher":
        return None
    if source == "redirect":
        return "redirect"
    if source == "rpiCamera":
        return "rpiCameraSource"
    for prefixes, kind in _STATIC_SOURCE_TYPES:
        if source.startswith(prefixes):
            return kind
    return None


class Refusal(Exception):
    """A read/publish request refused: RTSP status code and MediaMTX's reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Stream:
    def __init__(self, tracks):
        self.available_ns = time.time_ns()
        self.tracks = tracks          # [{"codec": "H264", "codecProps": {...}}]
        self.inbound_bytes = 0
        self.outbound_bytes = 0
        self.inbound_frames_in_error = 0


class _Held:
    """A reader waiting for an on-demand publisher."""

    def __init__(self):
        self.event = threading.Event()
        self.error = None


class Path:
    def __init__(self, name, conf_name, pconf, matches):
        self.name, self.conf_name, self.conf, self.matches = name, conf_name, pconf, matches
        self.source = None            # {"type": ..., "id": ...}
        self.publisher = None         # media-side handle of the publisher
        self.stream = None
        self.online_ns = None
        self.readers = {}             # id -> {"type", "id", "handle", "unread"}
        self.held = []
        self.od_state = INITIAL
        self.ready_timer = None
        self.close_timer = None
        self.on_undemand = None
        self.on_unavailable = None
        self.on_offline = None
        self.on_uninit = None
        self.closed = False
        kind = static_source_type(pconf["source"])
        # a static source (never connected by the stand-in) or a redirect is the path's source
        # from the start; path.isOnline() is then true with a zero onlineTime
        self.static_source = {"type": kind, "id": ""} if kind else None


class PathManager:
    def __init__(self, registry, log, rtsp_port, relay=None):
        self.lock = threading.RLock()
        self.registry, self.log, self.rtsp_port = registry, log, rtsp_port
        self.relay = relay
        self.path_confs = {}
        self.paths = {}

    # --- hooks --------------------------------------------------------------------------------

    def _env(self, p):
        env = {"MTX_PATH": p.name, "RTSP_PATH": p.name, "RTSP_PORT": str(self.rtsp_port)}
        for i, group in enumerate((p.matches or [])[1:], 1):
            env["G%d" % i] = group
        return env

    def _hook_pair(self, p, start_key, stop_key, env):
        """Start p.conf[start_key] (with its ...Restart flag); return the closer that stops it and then
        launches p.conf[stop_key] once (hooks.OnInit / OnDemand / OnAvailable / OnOnline / OnRead)."""
        cmd = None
        if p.conf[start_key]:
            self.log.write("[path %s] %s command started" % (p.name, start_key))
            cmd = Cmd(self.registry, p.name, start_key, p.conf[start_key], env,
                      restart=p.conf.get(start_key + "Restart", False))
            cmd.start()
        stop_cmdstr = p.conf[stop_key] if stop_key else ""

        def closer(reason=None):
            if cmd is not None:
                cmd.close(reason)
                self.log.write("[path %s] %s command stopped%s" % (p.name, start_key,
                                                                   (": " + reason) if reason else ""))
            if stop_cmdstr:
                self.log.write("[path %s] %s command launched" % (p.name, stop_key))
                Cmd(self.registry, p.name, stop_key, stop_cmdstr, env).start()
        return closer

    # --- path lifecycle -------------------------------------------------------------------------

    def _create(self, conf_name, pconf, name, matches):
        p = Path(name, conf_name, pconf, matches)
        self.paths[name] = p
        self.log.write("[path %s] created" % name)
        p.on_uninit = self._hook_pair(p, "runOnInit", None, self._env(p))
        return p

    def _close(self, p):
        if p.closed:
            return
        p.closed = True
        if self.paths.get(p.name) is p:
            del self.paths[p.name]
        for attr in ("ready_timer", "close_timer"):
            t = getattr(p, attr)
            if t is not None:
                t.cancel()
                setattr(p, attr, None)
        p.on_uninit("path destroyed")
        for held in p.held:
            held.error = "terminated"
            held.event.set()
        p.held = []
        if p.publisher is not None:
            self._kick(p.publisher)
        if p.on_undemand is not None:
            p.on_undemand("path destroyed")
            p.on_undemand = None
        if p.stream is not None:
            self._set_not_available(p)
        p.source = None
        p.publisher = None
        self.log.write("[path %s] destroyed" % p.name)

    def _should_close(self, p):
        return (confmod.compile_name_regexp(p.conf_name) is not None and p.source is None and
                not p.readers and not p.held)

    def _close_if_idle(self, p):
        if not p.closed and self._should_close(p):
            self._close(p)

    def reload(self, new_paths):
        """pathManager.doReloadConf with the validated conf.paths."""
        with self.lock:
            recreate, reload_ = set(), set()
            for conf_name, old in self.path_confs.items():
                new = new_paths.get(conf_name)
                if new is not None and new != old:
                    (reload_ if confmod.can_be_updated(old, new) else recreate).add(conf_name)
            for name, p in list(self.paths.items()):
                try:
                    new_name, new_conf, _ = confmod.find_path_conf(new_paths, name)
                except confmod.ConfError:
                    self._close(p)
                    continue
                if new_name != p.conf_name:
                    if confmod.can_be_updated(self.path_confs[p.conf_name], new_conf):
                        p.conf_name, p.conf = new_name, new_conf
                    else:
                        self._close(p)
                    continue
                if new_name in recreate:
                    self._close(p)
                    continue
                if new_name in reload_:
                    p.conf = new_conf
            self.path_confs = new_paths
            for conf_name, pconf in new_paths.items():
                if confmod.compile_name_regexp(conf_name) is None and conf_name not in self.paths:
                    self._create(conf_name, pconf, conf_name, None)

    def close_all(self):
        with self.lock:
            for p in list(self.paths.values()):
                self._close(p)
            self.path_confs = {}

    # --- availability ---------------------------------------------------------------------------

    def _set_available(self, p, source, tracks, query):
        p.stream = Stream(tracks)
        env = dict(self._env(p), MTX_QUERY=urllib.parse.quote_plus(query or "", safe=""),
                   MTX_SOURCE_TYPE=source["type"], MTX_SOURCE_ID=source["id"])
        p.on_unavailable = self._hook_pair(p, "runOnAvailable", "runOnUnavailable", env)
        if p.on_offline is not None:
            p.on_offline()
        p.on_offline = self._hook_pair(p, "runOnOnline", "runOnOffline", env)
        p.online_ns = time.time_ns()
        self.log.write("[path %s] stream is available and online, %d track%s (%s)" % (
            p.name, len(tracks), "" if len(tracks) == 1 else "s", ", ".join(t["codec"] for t in tracks)))

    def _set_not_available(self, p):
        if p.on_offline is not None:
            p.on_offline()
            p.on_offline = None
        for reader in list(p.readers.values()):
            self._drop_reader(p, reader)
            self._kick(reader["handle"])
        if p.on_unavailable is not None:
            p.on_unavailable()
            p.on_unavailable = None
        p.stream = None
        self.log.write("[path %s] stream is not available" % p.name)

    def _kick(self, handle):
        if handle is not None and self.relay is not None:
            self.relay.kick(handle)

    # --- on-demand publisher --------------------------------------------------------------------

    def _timer(self, p, attr, seconds, fire):
        old = getattr(p, attr)
        if old is not None:
            old.cancel()

        def run():
            with self.lock:
                if getattr(p, attr) is not timer or p.closed:
                    return
                setattr(p, attr, None)
                fire(p)
        timer = threading.Timer(seconds, run)
        timer.daemon = True
        setattr(p, attr, timer)
        timer.start()

    def _on_demand_start(self, p, query):
        env = dict(self._env(p), MTX_QUERY=urllib.parse.quote_plus(query or "", safe=""))
        p.on_undemand = self._hook_pair(p, "runOnDemand", "runOnUnDemand", env)
        self._timer(p, "ready_timer", p.conf["runOnDemandStartTimeout"] / SECOND, self._ready_timeout)
        p.od_state = WAITING_READY

    def _ready_timeout(self, p):
        for held in p.held:
            held.error = "source of path '%s' has timed out" % p.name
            held.event.set()
        p.held = []
        self._on_demand_stop(p, "timed out")
        self._close_if_idle(p)

    def _schedule_close(self, p):
        self._timer(p, "close_timer", p.conf["runOnDemandCloseAfter"] / SECOND,
                    lambda p: self._on_demand_stop(p, "not needed by anyone"))
        p.od_state = CLOSING

    def _on_demand_stop(self, p, reason):
        if p.od_state == CLOSING and p.close_timer is not None:
            p.close_timer.cancel()
            p.close_timer = None
        if p.on_undemand is not None:
            p.on_undemand(reason)
            p.on_undemand = None
        p.od_state = INITIAL

    # --- readers ------------------------------------------------------------------------------

    def _lookup(self, name):
        try:
            conf_name, pconf, matches = confmod.find_path_conf(self.path_confs, name)
        except confmod.ConfError as e:
            raise Refusal(400, str(e))
        p = self.paths.get(name)
        if p is None:
            p = self._create(conf_name, pconf, name, matches)
        return p

    def _wait_for_stream(self, p, query):
        """With the lock held: return when p has a stream, holding the caller if on-demand."""
        if p.stream is not None:
            return
        if p.static_source is not None and p.conf["sourceOnDemand"]:
            # the stand-in never pulls a static source: a reader waits for it in vain
            self.lock.release()
            try:
                time.sleep(p.conf["sourceOnDemandStartTimeout"] / SECOND)
            finally:
                self.lock.acquire()
            raise Refusal(400, "source of path '%s' has timed out" % p.name)
        if not p.conf["runOnDemand"]:
            self._close_if_idle(p)
            raise Refusal(404, "no stream is available on path '%s'" % p.name)
        if p.od_state == INITIAL:
            self._on_demand_start(p, query)
        held = _Held()
        p.held.append(held)
        self.lock.release()
        try:
            held.event.wait()
        finally:
            self.lock.acquire()
        if held.error is not None:
            raise Refusal(400, held.error)

    def describe(self, name, query=""):
        """An RTSP DESCRIBE: returns when the stream can be described, or raises Refusal."""
        with self.lock:
            p = self._lookup(name)
            self._wait_for_stream(p, query)

    def add_reader(self, name, reader_id, handle, query="", reader_type="rtspSession"):
        """A reader session (RTSP SETUP). Returns the path's Stream."""
        with self.lock:
            p = self._lookup(name)
            self._wait_for_stream(p, query)
            if p.closed or p.stream is None:
                raise Refusal(400, "terminated")
            if reader_id in p.readers:
                return p.stream
            if p.conf["maxReaders"] != 0 and len(p.readers) >= p.conf["maxReaders"]:
                raise Refusal(400, "maximum reader count reached")
            env = dict(self._env(p), MTX_QUERY=urllib.parse.quote_plus(query or "", safe=""),
                       MTX_READER_TYPE=reader_type, MTX_READER_ID=reader_id)
            p.readers[reader_id] = {"type": reader_type, "id": reader_id, "handle": handle,
                                    "unread": self._hook_pair(p, "runOnRead", "runOnUnread", env)}
            if p.conf["runOnDemand"] and p.od_state == CLOSING:
                p.od_state = READY
                if p.close_timer is not None:
                    p.close_timer.cancel()
                    p.close_timer = None
            self.log.write("[path %s] reader %s added" % (p.name, reader_id))
            return p.stream

    def _drop_reader(self, p, reader):
        del p.readers[reader["id"]]
        reader["unread"]()

    def remove_reader(self, name, reader_id):
        with self.lock:
            p = self.paths.get(name)
            if p is None:
                return
            reader = p.readers.get(reader_id)
            if reader is not None:
                self._drop_reader(p, reader)
                self.log.write("[path %s] reader %s removed" % (p.name, reader_id))
            if not p.readers and p.conf["runOnDemand"] and p.od_state == READY:
                self._schedule_close(p)
            self._close_if_idle(p)

    # --- publishers ---------------------------------------------------------------------------

    def check_publish(self, name, record=False):
        """RTSP ANNOUNCE (record=False): the name must match a configuration. RTSP RECORD (record=True):
        also what path.doAddPublisher checks. Raises Refusal (RTSP 400)."""
        with self.lock:
            try:
                _, pconf, _ = confmod.find_path_conf(self.path_confs, name)
            except confmod.ConfError as e:
                raise Refusal(400, str(e))
            if not record:
                return
            if pconf["source"] != "publisher":
                raise Refusal(400, "can't publish to path '%s' since 'source' is not 'publisher'" % name)
            p = self.paths.get(name)
            if p is not None and p.source is not None and not pconf["overridePublisher"]:
                raise Refusal(400, "someone is already publishing to path '%s'" % name)

    def add_publisher(self, name, source, handle, tracks, query=""):
        """A publisher delivers media. source = {"type": ..., "id": ...}. Returns the Stream."""
        with self.lock:
            p = self._lookup(name)
            if p.conf["source"] != "publisher":
                raise Refusal(400, "can't publish to path '%s' since 'source' is not 'publisher'" % name)
            if p.source is not None:
                if not p.conf["overridePublisher"]:
                    raise Refusal(400, "someone is already publishing to path '%s'" % name)
                self.log.write("[path %s] closing existing publisher" % name)
                self._kick(p.publisher)
                self._remove_publisher(p)
            self._set_available(p, source, tracks, query)
            p.source = dict(source)
            p.publisher = handle
            self.log.write("[path %s] %s %s is publishing" % (name, source["type"], source["id"]))
            if p.conf["runOnDemand"] and p.od_state != INITIAL:
                if p.ready_timer is not None:
                    p.ready_timer.cancel()
                    p.ready_timer = None
                self._schedule_close(p)
            for held in p.held:
                held.event.set()
            p.held = []
            return p.stream

    def _remove_publisher(self, p):
        self._set_not_available(p)
        p.source = None
        p.publisher = None

    def remove_publisher(self, name, source_id):
        with self.lock:
            p = self.paths.get(name)
            if p is None or p.source is None or p.source["id"] != source_id:
                return
            self.log.write("[path %s] publisher %s left" % (name, source_id))
            self._remove_publisher(p)
            self._close_if_idle(p)

    # --- API --------------------------------------------------------------------------------------

    @staticmethod
    def _api_path(p):
        s = p.stream
        source = p.source or p.static_source
        online = p.on_offline is not None or (source is not None and not p.conf["alwaysAvailable"])
        t = rfc3339nano(s.available_ns) if s else None
        readers = sorted(({"type": r["type"], "id": r["id"]} for r in p.readers.values()),
                         key=lambda r: (r["type"], r["id"]))
        return {"name": p.name, "confName": p.conf_name,
                "ready": s is not None, "readyTime": t, "available": s is not None, "availableTime": t,
                "online": online,
                "onlineTime": (rfc3339nano(p.online_ns) if p.online_ns else GO_ZERO_TIME) if online else None,
                "source": dict(source) if source else None,
                "tracks": [tr["codec"] for tr in s.tracks] if s else [],
                "tracks2": [dict(tr) for tr in s.tracks] if s else [],
                "readers": readers,
                "inboundBytes": s.inbound_bytes if s else 0, "outboundBytes": s.outbound_bytes if s else 0,
                "inboundFramesInError": s.inbound_frames_in_error if s else 0,
                "bytesReceived": s.inbound_bytes if s else 0, "bytesSent": s.outbound_bytes if s else 0}

    def api_list(self):
        with self.lock:
            return [self._api_path(self.paths[n]) for n in sorted(self.paths)]

    def api_get(self, name):
        with self.lock:
            p = self.paths.get(name)
            return None if p is None else self._api_path(p)
