"""The media side: two GStreamer RTSP servers in this process, both bound to the stand-in's host.

- publish server (--publish-port): ANNOUNCE/RECORD of H.264 over RTP (TCP or UDP) at /<name>;
  each access unit goes to an appsink, from where it is pushed to the readers of <name>;
- read server (--rtsp-port): DESCRIBE/SETUP/PLAY at /<name> (TCP or UDP), one shared appsrc
  pipeline per name, fed by the publisher of <name>.

Mounts are made on demand (_Mounts.make_path adds the factory of any name a request names); the
pre-* hooks of every client then ask PathManager, so a name is accepted exactly when its path
configuration, a ~regex or all_others would accept it in MediaMTX, with MediaMTX's RTSP answers:
- ANNOUNCE: 400 when no configuration matches; RECORD: 400 when the source is not "publisher" or
  someone publishes already and overridePublisher is false;
- DESCRIBE/SETUP: 404 when a configured path has no stream and no runOnDemand, 400 when no
  configuration matches or a runOnDemand timed out; a reader of an on-demand path is held inside
  pre-describe until the publisher is ready.
A path counts as published (ready) when the first access unit with an SPS reaches the appsink
(MediaMTX: at RECORD, from the SDP); tracks2 gets width/height from the caps and profile/level from
the SPS, with MediaMTX's names ("Baseline", "High", level "3.1").

The thread pools have 16 threads: with GStreamer's default a reader's DESCRIBE can block the
publisher's client thread and both deadlock.
"""
import threading
import uuid

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

from paths import Refusal  # noqa: E402

RECORD_LAUNCH = ("( rtph264depay name=depay0 ! h264parse config-interval=-1 ! "
                 "video/x-h264,stream-format=byte-stream,alignment=au ! "
                 "appsink name=asink emit-signals=true sync=false async=false max-buffers=100 drop=true )")
PLAY_LAUNCH = ("( appsrc name=asrc is-live=true format=time do-timestamp=true max-bytes=4000000 "
               "leaky-type=downstream ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1 )")
STATUS = {200: GstRtsp.RTSPStatusCode.OK, 400: GstRtsp.RTSPStatusCode.BAD_REQUEST,
          404: GstRtsp.RTSPStatusCode.NOT_FOUND}
H264_PROFILES = {66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10", 122: "High 4:2:2",
                 244: "High 4:4:4 Predictive"}


def _find_sps(data):
    """profile_idc, level_idc of the first SPS NAL unit in an Annex B access unit, or None."""
    i = 0
    n = len(data)
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0 or i + 6 > n:
            return None
        if data[i + 3] & 0x1F == 7:
            return data[i + 4], data[i + 6]
        i += 3


def h264_track(caps, sps):
    """The tracks2 entry MediaMTX shows for an H.264 format."""
    props = {"width": 0, "height": 0, "profile": "", "level": ""}
    s = caps.get_structure(0) if caps is not None and caps.get_size() else None
    if s is not None:
        ok, w = s.get_int("width")
        if ok:
            props["width"] = w
        ok, h = s.get_int("height")
        if ok:
            props["height"] = h
    if sps is not None:
        profile_idc, level_idc = sps
        props["profile"] = H264_PROFILES.get(profile_idc, str(profile_idc))
        major, minor = divmod(level_idc, 10)
        props["level"] = str(major) if minor == 0 else "%d.%d" % (major, minor)
    return {"codec": "H264", "codecProps": props}


def _strip_control(path):
    """"/cam/stream=0" -> "/cam": the per-stream control URL of SETUP names the same path."""
    head, sep, tail = path.rpartition("/")
    if sep and head and tail.startswith(("stream=", "streamid=", "trackID=")):
        return head
    return path


def _name_of(ctx, strip_control=False):
    path = ctx.uri.abspath if ctx.uri is not None else ""
    if strip_control:
        path = _strip_control(path)
    return path[1:] if path.startswith("/") else path


class _Publisher:
    def __init__(self, name, client):
        self.name, self.client = name, client
        self.id = str(uuid.uuid4())
        self.stream = None
        self.refused = False
        self.samples_without_sps = 0


class _Reader:
    def __init__(self, client):
        self.client = client
        self.id = str(uuid.uuid4())
        self.name = None


class _Mounts(GstRtspServer.RTSPMountPoints):
    """Mount points that make the factory of a name the first time a request URL names it.

    GStreamer looks the mount up before it emits pre-announce-request, so the factory must exist
    by then; whether the name is acceptable is decided in the pre-* hooks.
    """

    def __init__(self, ensure):
        super().__init__()
        self.ensure = ensure

    def do_make_path(self, url):
        path = GstRtspServer.RTSPMountPoints.do_make_path(self, url)
        if path:
            name = _strip_control(path)[1:]
            if name:
                self.ensure(name)
        return path


class Relay:
    def __init__(self, manager, host, publish_port, read_port, log):
        Gst.init(None)
        self.manager, self.log = manager, log
        self.lock = threading.Lock()
        self.record_factories = {}
        self.play_factories = {}
        self.appsrcs = {}            # name -> [appsrc of the shared read media]
        self.current = {}            # name -> id of the publisher whose media is forwarded
        self.readers = {}            # client -> _Reader
        self.publishers = {}         # client -> _Publisher
        self.pub_by_media = {}       # record media -> _Publisher (until its ANNOUNCE is answered)
        self.pub_server = self._server(host, publish_port, self._publish_client, record=True)
        self.read_server = self._server(host, read_port, self._read_client, record=False)
        self.loop = GLib.MainLoop()
        self.thread = None

    def _server(self, host, port, on_client, record):
        server = GstRtspServer.RTSPServer()
        server.set_address(host)
        server.set_service(str(port))
        server.set_mount_points(_Mounts(lambda name: self._factory(name, record)))
        server.get_thread_pool().set_max_threads(16)
        server.connect("client-connected", on_client)
        return server

    def start(self):
        for server in (self.pub_server, self.read_server):
            if server.attach(None) == 0:
                raise OSError("cannot listen on %s:%s" % (server.get_address(), server.get_service()))
        self.thread = threading.Thread(target=self.loop.run, name="glib", daemon=True)
        self.thread.start()

    def stop(self):
        self.drop_all()
        GLib.idle_add(lambda: self.loop.quit() and False)
        if self.thread is not None:
            self.thread.join(5)

    # --- kicking (called by PathManager with its lock held: never block) -----------------------

    def kick(self, client):
        def run():
            for server in (self.pub_server, self.read_server):
                server.client_filter(lambda s, c, u: GstRtspServer.RTSPFilterResult.REMOVE if c == client
                                     else GstRtspServer.RTSPFilterResult.KEEP, None)
            return False
        GLib.idle_add(run)

    def drop_all(self):
        """Close every RTSP session (a restarted server drops its connections)."""
        def run():
            for server in (self.pub_server, self.read_server):
                server.client_filter(lambda s, c, u: GstRtspServer.RTSPFilterResult.REMOVE, None)
            return False
        GLib.idle_add(run)

    # --- publish server -------------------------------------------------------------------------

    def _publish_client(self, server, client):
        client.connect("pre-announce-request", self._pre_announce)
        client.connect("pre-record-request", self._pre_record)
        client.connect("pre-describe-request", self._wrong_server, "reading is served on the read port")
        client.connect("closed", self._publisher_closed)

    def _wrong_server(self, client, ctx, why):
        self.log.write("[RTSP] %s %s refused: %s" % (ctx.method, ctx.uri.abspath if ctx.uri else "", why))
        return GstRtsp.RTSPStatusCode.BAD_REQUEST

    def _pre_announce(self, client, ctx):
        name = _name_of(ctx)
        with self.lock:
            pub = self.pub_by_media.pop(ctx.media, None)
        try:
            self.manager.check_publish(name)
        except Refusal as e:
            self.log.write("[RTSP] ANNOUNCE /%s refused (%d): %s" % (name, e.status, e.reason))
            if pub is not None:
                pub.refused = True
            return STATUS[e.status]
        if pub is not None:
            pub.client = client
            with self.lock:
                self.publishers[client] = pub
        return GstRtsp.RTSPStatusCode.OK

    def _pre_record(self, client, ctx):
        name = _name_of(ctx, strip_control=True)
        try:
            self.manager.check_publish(name, record=True)
        except Refusal as e:
            self.log.write("[RTSP] RECORD /%s refused (%d): %s" % (name, e.status, e.reason))
            with self.lock:
                pub = self.publishers.get(client)
            if pub is not None:
                pub.refused = True
            return STATUS[e.status]
        return GstRtsp.RTSPStatusCode.OK

    def _factory(self, name, record):
        table = self.record_factories if record else self.play_factories
        with self.lock:
            factory = table.get(name)
            if factory is not None:
                return factory
            factory = GstRtspServer.RTSPMediaFactory()
            if record:
                factory.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
                factory.set_launch(RECORD_LAUNCH)
                factory.connect("media-configure", self._record_configure, name)
            else:
                factory.set_shared(True)
                factory.set_launch(PLAY_LAUNCH)
                factory.connect("media-configure", self._play_configure, name)
            mounts = (self.pub_server if record else self.read_server).get_mount_points()
            mounts.add_factory("/" + name, factory)
            table[name] = factory
            return factory

    def _record_configure(self, factory, media, name):
        pub = _Publisher(name, None)
        with self.lock:
            self.pub_by_media[media] = pub
        media.get_element().get_by_name("asink").connect("new-sample", self._on_sample, pub)
        media.connect("unprepared", lambda m: self._publisher_gone(pub))
        media.connect("unprepared", lambda m: self.pub_by_media.pop(m, None))

    def _publisher_closed(self, client):
        with self.lock:
            pub = self.publishers.pop(client, None)
        if pub is not None:
            self._publisher_gone(pub)

    def _publisher_gone(self, pub):
        with self.lock:
            if self.current.get(pub.name) == pub.id:
                del self.current[pub.name]
        if pub.stream is not None:
            self.manager.remove_publisher(pub.name, pub.id)

    def _on_sample(self, sink, pub):
        sample = sink.emit("pull-sample")
        if sample is None or pub.refused:
            return Gst.FlowReturn.OK
        buf = sample.get_buffer()
        size = buf.get_size()
        if pub.stream is None:
            ok, info = buf.map(Gst.MapFlags.READ)
            sps = _find_sps(bytes(info.data)) if ok else None
            if ok:
                buf.unmap(info)
            if sps is None:
                pub.samples_without_sps += 1
                if pub.samples_without_sps < 60:
                    return Gst.FlowReturn.OK
            try:
                pub.stream = self.manager.add_publisher(pub.name, {"type": "rtspSession", "id": pub.id},
                                                        pub.client, [h264_track(sample.get_caps(), sps)])
            except Refusal as e:
                self.log.write("[RTSP] publisher of /%s refused: %s" % (pub.name, e.reason))
                pub.refused = True
                if pub.client is not None:
                    self.kick(pub.client)
                return Gst.FlowReturn.OK
            with self.lock:
                self.current[pub.name] = pub.id
        pub.stream.inbound_bytes += size
        with self.lock:
            if self.current.get(pub.name) != pub.id:
                return Gst.FlowReturn.OK
            srcs = list(self.appsrcs.get(pub.name, ()))
            n_readers = sum(1 for r in self.readers.values() if r.name == pub.name)
        caps = sample.get_caps()
        for src in srcs:
            if src.get_property("caps") is None or not src.get_property("caps").is_equal(caps):
                src.set_property("caps", caps)
            copy = buf.copy()
            copy.pts = copy.dts = Gst.CLOCK_TIME_NONE
            src.emit("push-buffer", copy)
        pub.stream.outbound_bytes += size * n_readers
        return Gst.FlowReturn.OK

    # --- read server ----------------------------------------------------------------------------

    def _read_client(self, server, client):
        reader = _Reader(client)
        with self.lock:
            self.readers[client] = reader
        client.connect("pre-describe-request", self._pre_describe, reader)
        client.connect("pre-setup-request", self._pre_setup, reader)
        client.connect("pre-announce-request", self._wrong_server, "publishing is served on the publish port")
        client.connect("pre-teardown-request", self._teardown, reader)
        client.connect("closed", self._reader_closed, reader)

    def _pre_describe(self, client, ctx, reader):
        name = _name_of(ctx)
        try:
            self.manager.describe(name, ctx.uri.query or "")
        except Refusal as e:
            self.log.write("[RTSP] DESCRIBE /%s refused (%d): %s" % (name, e.status, e.reason))
            return STATUS[e.status]
        return GstRtsp.RTSPStatusCode.OK

    def _pre_setup(self, client, ctx, reader):
        name = _name_of(ctx, strip_control=True)
        if reader.name is not None:
            return GstRtsp.RTSPStatusCode.OK
        try:
            self.manager.add_reader(name, reader.id, client, ctx.uri.query or "")
        except Refusal as e:
            self.log.write("[RTSP] SETUP /%s refused (%d): %s" % (name, e.status, e.reason))
            return STATUS[e.status]
        with self.lock:
            reader.name = name
        return GstRtsp.RTSPStatusCode.OK

    def _teardown(self, client, ctx, reader):
        self._reader_gone(reader)
        return GstRtsp.RTSPStatusCode.OK

    def _reader_closed(self, client, reader):
        with self.lock:
            self.readers.pop(client, None)
        self._reader_gone(reader)

    def _reader_gone(self, reader):
        with self.lock:
            name, reader.name = reader.name, None
        if name is not None:
            self.manager.remove_reader(name, reader.id)

    def _play_configure(self, factory, media, name):
        src = media.get_element().get_by_name("asrc")
        with self.lock:
            self.appsrcs.setdefault(name, []).append(src)

        def unprepared(m):
            with self.lock:
                if src in self.appsrcs.get(name, []):
                    self.appsrcs[name].remove(src)
        media.connect("unprepared", unprepared)
