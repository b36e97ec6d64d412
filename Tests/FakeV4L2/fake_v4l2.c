/*
 * fake_v4l2.c - an LD_PRELOAD library that fakes V4L2 cameras for tests.
 *
 * Why: the test machines have no /dev/video*, but the camera code must still
 * run its real open()/ioctl()/mmap()/poll() paths.  So the library interposes
 * those libc entry points and answers for "device nodes" that are plain files
 * under $FAKE_V4L2_DIR named video<N> (or media<N>).  Each node file holds a
 * small key=value config describing the camera; see README.md.
 *
 * Design notes (the "why" behind the shape of the code):
 *
 *  - The fd handed to the application is a real eventfd, created in
 *    semaphore mode.  That keeps fd numbers unique and real, makes close(),
 *    fcntl(), isatty() etc. behave, and - most importantly - lets the
 *    application's own poll()/select()/epoll see the device as readable
 *    exactly when a filled buffer is waiting to be dequeued (the producer
 *    adds 1 per finished buffer, VIDIOC_DQBUF takes 1).  So poll, select and
 *    epoll need no interposition at all.
 *
 *  - Buffers live in one memfd per open device; the application's mmap() of
 *    the fake fd is redirected to a real mmap() of that memfd at the same
 *    offset.  The mapping is therefore ordinary shared memory: munmap() needs
 *    no interposition, and mappings outliving VIDIOC_REQBUFS(0) stay valid,
 *    as with videobuf2.
 *
 *  - Frames are produced by one thread per streaming fd, at the negotiated
 *    frame interval, into the oldest queued buffer (or counted as a dropped
 *    frame - a gap in v4l2_buffer.sequence - when none is queued), like a
 *    real driver.
 *
 *  - The node file is re-read on every ioctl and every frame: if it was
 *    deleted the device is "unplugged" (ENODEV, and a streaming fd wakes
 *    pollers); if it was rewritten, the live keys (wedge, delay_ms, fail,
 *    busy) take effect on already-open fds.
 *
 *  - Nodes must also *look* like V4L2 nodes: stat()/fstat() report a
 *    character device (major 81, minor N for video<N>) and
 *    /sys/dev/char/81:N/uevent is served with DEVNAME=video<N>, which is how
 *    v4l2-ctl decides what a node is.  read()/write() on a fake fd fail with
 *    EINVAL, as on a driver without V4L2_CAP_READWRITE.
 *
 *  - One global mutex guards the fd table and all per-fd state.  Entries are
 *    reference counted so that close() from one thread cannot free state that
 *    another thread is using inside a blocking DQBUF or a wedged ioctl.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* we define open() ourselves; no fortify wrappers */

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/media.h>
#include <linux/videodev2.h>

#define EXPORT __attribute__((visibility("default")))

/* <linux/version.h> describes the build headers, not a parameter; ours: */
#define KVER(a, b, c) ((uint32_t)(((a) << 16) + ((b) << 8) + (c)))

/* ------------------------------------------------------------------------ */
/* Real libc entry points                                                   */
/* ------------------------------------------------------------------------ */

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real___openat_2)(int, const char *, int);
static int (*real___openat64_2)(int, const char *, int);
static int (*real_close)(int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);

/* Idempotent; also called lazily because another library's constructor may
 * call into us before ours has run. */
static void resolve_real(void)
{
#define RESOLVE(name) \
    if (!real_##name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name)
    RESOLVE(open);
    RESOLVE(open64);
    RESOLVE(openat);
    RESOLVE(openat64);
    RESOLVE(__open_2);
    RESOLVE(__open64_2);
    RESOLVE(__openat_2);
    RESOLVE(__openat64_2);
    RESOLVE(close);
    RESOLVE(read);
    RESOLVE(write);
    RESOLVE(ioctl);
    RESOLVE(mmap);
    RESOLVE(mmap64);
#undef RESOLVE
    /* The fortify and 64-bit variants may be missing on some libcs. */
    if (!real_open64) real_open64 = real_open;
    if (!real_openat64) real_openat64 = real_openat;
    if (!real_mmap64) real_mmap64 = real_mmap;
}

/* ------------------------------------------------------------------------ */
/* Node configuration                                                       */
/* ------------------------------------------------------------------------ */

#define MAX_FMTS 8
#define MAX_SIZES 32
#define MAX_IVALS 8
#define MAX_BUFS 32           /* VIDEO_MAX_FRAME */
#define META_BUFSIZE 10240    /* what uvcvideo reports for UVCH */
#define META_FPS 30

enum kind { KIND_CAPTURE, KIND_META, KIND_MEDIA };

struct frame_size {
    uint32_t w, h;
    unsigned nival;
    struct v4l2_fract ival[MAX_IVALS]; /* frame interval in seconds */
};

struct format {
    uint32_t fourcc;
    unsigned nsize;
    struct frame_size size[MAX_SIZES];
};

struct config {
    char card[32], driver[16], bus_info[32], serial[40];
    enum kind kind;
    uint32_t version;
    unsigned nfmt;
    struct format fmt[MAX_FMTS];
    /* "Live" keys: re-read from the node file while the fd is open. */
    bool wedge;        /* every ioctl blocks until the file says otherwise */
    bool wedge_open;   /* open() blocks likewise */
    bool busy;         /* S_FMT/S_PARM/REQBUFS answer EBUSY */
    int fail;          /* errno for open() (and ioctls once set live) */
    unsigned delay_ms; /* every ioctl sleeps this long first */
};

static bool g_debug;

#define LOG(...)                                              \
    do {                                                      \
        if (g_debug) {                                        \
            fprintf(stderr, "fake-v4l2: " __VA_ARGS__);       \
            fputc('\n', stderr);                              \
        }                                                     \
    } while (0)

/* Node names: video<N> or media<N>. */
static bool node_name(const char *base, enum kind *kind, unsigned *num)
{
    enum kind k;
    if (strncmp(base, "video", 5) == 0)
        k = KIND_CAPTURE;
    else if (strncmp(base, "media", 5) == 0)
        k = KIND_MEDIA;
    else
        return false;
    const char *d = base + 5;
    if (!*d) return false;
    for (; *d; d++)
        if (!isdigit((unsigned char)*d)) return false;
    if (kind) *kind = k;
    if (num) *num = (unsigned)strtoul(base + 5, NULL, 10);
    return true;
}

/* Character device numbers reported for nodes: VIDEO_MAJOR for video<N>;
 * media majors are dynamic on real systems, so pick one that is unlikely
 * to collide with a real device on a developer machine. */
#define FAKE_VIDEO_MAJOR 81u
#define FAKE_MEDIA_MAJOR 511u

/* stat() that can never be our interposed one (we interpose stat()). */
static int raw_stat(const char *path, struct stat *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static uint32_t parse_fourcc(const char *s)
{
    char c[4] = {' ', ' ', ' ', ' '};
    size_t n = strlen(s);
    if (n == 0 || n > 4) return 0;
    memcpy(c, s, n);
    return v4l2_fourcc(c[0], c[1], c[2], c[3]);
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* "30" -> 1/30 s, "30000/1001" -> 1001/30000 s, "7.5" -> 2/15 s. */
static bool parse_fps(const char *s, struct v4l2_fract *ival)
{
    char *end;
    unsigned long num = strtoul(s, &end, 10), den = 1;
    if (end == s) return false;
    if (*end == '/') {
        const char *p = end + 1;
        den = strtoul(p, &end, 10);
        if (end == p) return false;
    } else if (*end == '.') {
        const char *p = end + 1;
        for (; isdigit((unsigned char)*p) && den < 100000; p++) {
            num = num * 10 + (unsigned long)(*p - '0');
            den *= 10;
        }
        end = (char *)p;
    }
    if (*end || num == 0 || den == 0 || num > UINT32_MAX || den > UINT32_MAX) return false;
    uint32_t g = gcd32((uint32_t)num, (uint32_t)den);
    ival->numerator = (uint32_t)den / g; /* interval = 1 / fps */
    ival->denominator = (uint32_t)num / g;
    return true;
}

/* formats=FCC:WxH@fps,fps;WxH@fps|FCC:... */
static bool parse_formats(char *spec, struct config *c, const char *path)
{
    char *sp1, *sp2, *sp3;
    c->nfmt = 0;
    for (char *ft = strtok_r(spec, "|", &sp1); ft; ft = strtok_r(NULL, "|", &sp1)) {
        char *colon = strchr(ft, ':');
        if (!colon) goto bad;
        *colon = '\0';
        if (c->nfmt == MAX_FMTS) goto bad;
        struct format *f = &c->fmt[c->nfmt];
        memset(f, 0, sizeof(*f));
        if (!(f->fourcc = parse_fourcc(trim(ft)))) goto bad;
        for (char *st = strtok_r(colon + 1, ";", &sp2); st; st = strtok_r(NULL, ";", &sp2)) {
            st = trim(st);
            if (!*st) continue;
            if (f->nsize == MAX_SIZES) goto bad;
            struct frame_size *fs = &f->size[f->nsize];
            char *at = strchr(st, '@');
            if (at) *at = '\0';
            char *x = strchr(st, 'x');
            if (!x) goto bad;
            char *end;
            fs->w = (uint32_t)strtoul(st, &end, 10);
            if (end != x) goto bad;
            fs->h = (uint32_t)strtoul(x + 1, &end, 10);
            if (*trim(end) || fs->w == 0 || fs->h == 0) goto bad;
            fs->nival = 0;
            if (at) {
                for (char *it = strtok_r(at + 1, ",", &sp3); it; it = strtok_r(NULL, ",", &sp3)) {
                    if (fs->nival == MAX_IVALS || !parse_fps(trim(it), &fs->ival[fs->nival])) goto bad;
                    fs->nival++;
                }
            }
            if (fs->nival == 0) fs->ival[fs->nival++] = (struct v4l2_fract){1, 30};
            f->nsize++;
        }
        if (f->nsize == 0) goto bad;
        c->nfmt++;
    }
    return true;
bad:
    fprintf(stderr, "fake-v4l2: %s: malformed formats= entry\n", path);
    return false;
}

static uint32_t parse_version(const char *s)
{
    unsigned a = 0, b = 0, p = 0;
    sscanf(s, "%u.%u.%u", &a, &b, &p);
    return KVER(a, b > 255 ? 255 : b, p > 255 ? 255 : p);
}

static int parse_errno(const char *v)
{
    static const struct { const char *name; int err; } names[] = {
        {"ENODEV", ENODEV}, {"EIO", EIO},   {"EBUSY", EBUSY},   {"EACCES", EACCES},
        {"ENXIO", ENXIO},   {"ENOENT", ENOENT}, {"EPERM", EPERM}, {"ENOMEM", ENOMEM},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v, names[i].name) == 0) return names[i].err;
    int n = atoi(v);
    return n == 1 ? ENODEV : n; /* fail=1 means "unplugged" */
}

static bool parse_bool(const char *v) { return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0; }

/* Reads the node file with the real open() so we never recurse into ours.
 * Returns 0 or an errno. */
static int load_config(const char *path, struct config *c)
{
    enum kind hint = KIND_CAPTURE;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    node_name(base, &hint, NULL);

    memset(c, 0, sizeof(*c));
    copy_str(c->card, sizeof(c->card), "Fake Camera");
    copy_str(c->driver, sizeof(c->driver), "uvcvideo");
    snprintf(c->bus_info, sizeof(c->bus_info), "usb-fake-%s", base);
    c->kind = hint;
    struct utsname u;
    c->version = uname(&u) == 0 ? parse_version(u.release) : KVER(6, 1, 0);

    int fd = real_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    static const size_t cap = 64 * 1024;
    char *text = malloc(cap);
    if (!text) {
        real_close(fd);
        return ENOMEM;
    }
    size_t n = 0;
    for (ssize_t r; n < cap - 1 && (r = real_read(fd, text + n, cap - 1 - n)) != 0;) {
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(text);
            real_close(fd);
            return e;
        }
        n += (size_t)r;
    }
    text[n] = '\0';
    real_close(fd);

    bool have_formats = false, ok = true;
    char *sp;
    for (char *line = strtok_r(text, "\n", &sp); line && ok; line = strtok_r(NULL, "\n", &sp)) {
        line = trim(line);
        if (!*line || *line == '#') continue;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        char *key = trim(line), *val = trim(eq + 1);
        if (!strcmp(key, "card")) copy_str(c->card, sizeof(c->card), val);
        else if (!strcmp(key, "driver")) copy_str(c->driver, sizeof(c->driver), val);
        else if (!strcmp(key, "bus_info")) copy_str(c->bus_info, sizeof(c->bus_info), val);
        else if (!strcmp(key, "serial")) copy_str(c->serial, sizeof(c->serial), val);
        else if (!strcmp(key, "version")) c->version = parse_version(val);
        else if (!strcmp(key, "wedge")) c->wedge = parse_bool(val);
        else if (!strcmp(key, "wedge_open")) c->wedge_open = parse_bool(val);
        else if (!strcmp(key, "busy")) c->busy = parse_bool(val);
        else if (!strcmp(key, "fail")) c->fail = parse_errno(val);
        else if (!strcmp(key, "delay_ms")) c->delay_ms = (unsigned)strtoul(val, NULL, 10);
        else if (!strcmp(key, "kind")) {
            if (!strcmp(val, "capture") || !strcmp(val, "video")) c->kind = KIND_CAPTURE;
            else if (!strcmp(val, "metadata") || !strcmp(val, "meta")) c->kind = KIND_META;
            else if (!strcmp(val, "media")) c->kind = KIND_MEDIA;
            else {
                fprintf(stderr, "fake-v4l2: %s: unknown kind=%s\n", path, val);
                ok = false;
            }
        } else if (!strcmp(key, "formats")) {
            ok = parse_formats(val, c, path);
            have_formats = true;
        } else
            LOG("%s: ignoring unknown key '%s'", path, key);
    }
    free(text);
    if (!ok) return EINVAL;
    if (!have_formats) { /* a capture node always has at least one format */
        c->nfmt = 1;
        c->fmt[0].fourcc = V4L2_PIX_FMT_YUYV;
        c->fmt[0].nsize = 1;
        c->fmt[0].size[0] = (struct frame_size){640, 480, 1, {{1, 30}}};
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Pixel formats                                                            */
/* ------------------------------------------------------------------------ */

static const struct fmt_info {
    uint32_t fourcc;
    const char *desc;
    bool compressed;
} fmt_table[] = {
    {V4L2_PIX_FMT_YUYV, "YUYV 4:2:2", false},
    {V4L2_PIX_FMT_UYVY, "UYVY 4:2:2", false},
    {V4L2_PIX_FMT_NV12, "Y/UV 4:2:0", false},
    {V4L2_PIX_FMT_YUV420, "Planar YUV 4:2:0", false},
    {V4L2_PIX_FMT_GREY, "8-bit Greyscale", false},
    {V4L2_PIX_FMT_RGB24, "24-bit RGB 8-8-8", false},
    {V4L2_PIX_FMT_BGR24, "24-bit BGR 8-8-8", false},
    {V4L2_PIX_FMT_MJPEG, "Motion-JPEG", true},
    {V4L2_PIX_FMT_JPEG, "JFIF JPEG", true},
    {V4L2_PIX_FMT_H264, "H.264", true},
    {V4L2_PIX_FMT_HEVC, "HEVC", true},
};

static const struct fmt_info *fmt_lookup(uint32_t fourcc)
{
    for (size_t i = 0; i < sizeof(fmt_table) / sizeof(fmt_table[0]); i++)
        if (fmt_table[i].fourcc == fourcc) return &fmt_table[i];
    return NULL;
}

static bool fmt_compressed(uint32_t fourcc)
{
    const struct fmt_info *fi = fmt_lookup(fourcc);
    return fi && fi->compressed;
}

/* bytesperline/sizeimage as a driver would report them.  Compressed
 * sizeimage is the worst-case buffer (uvcvideo reports ~w*h*2 too). */
static void frame_geometry(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t *bpl, uint32_t *size)
{
    switch (fourcc) {
    case V4L2_PIX_FMT_GREY: *bpl = w; *size = w * h; break;
    case V4L2_PIX_FMT_NV12:
    case V4L2_PIX_FMT_YUV420: *bpl = w; *size = w * h + 2 * ((w + 1) / 2) * ((h + 1) / 2); break;
    case V4L2_PIX_FMT_RGB24:
    case V4L2_PIX_FMT_BGR24: *bpl = w * 3; *size = w * h * 3; break;
    default:
        if (fmt_compressed(fourcc)) {
            *bpl = 0;
            *size = w * h * 2 < 65536 ? 65536 : w * h * 2;
        } else { /* YUYV, UYVY and anything unknown: 16 bits per pixel */
            *bpl = w * 2;
            *size = w * h * 2;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Per-fd state and the fd table                                            */
/* ------------------------------------------------------------------------ */

enum buf_state { BUF_DEQUEUED, BUF_QUEUED, BUF_DONE };

struct fake_buf {
    enum buf_state state;
    uint32_t bytesused, sequence;
    struct timeval ts;
};

struct fake {
    struct fake *next;
    int fd;                /* the eventfd given to the application */
    unsigned refs;         /* table reference + in-flight calls */
    bool closed;           /* closed by the application */
    int dead;              /* errno once the stream died (unplug, fail=) */
    char path[PATH_MAX];   /* canonical node path */
    enum kind name_kind;   /* video<N> or media<N>: picks the st_rdev major */
    unsigned num;          /* N */
    struct stat seen;      /* node file identity at last (re)load */
    struct config cfg;

    /* Negotiated format (index into cfg.fmt / .size) and interval. */
    unsigned cur_fmt, cur_size;
    struct v4l2_fract cur_ival;

    /* Buffers: nbuf slots of buf_stride bytes in a memfd. */
    int memfd;
    uint8_t *mem;
    size_t mem_len, buf_stride;
    uint32_t buf_len;
    unsigned nbuf;
    struct fake_buf buf[MAX_BUFS];
    unsigned queued[MAX_BUFS], nqueued; /* FIFO waiting to be filled */
    unsigned done[MAX_BUFS], ndone;     /* FIFO waiting for DQBUF */

    /* Streaming. */
    bool streaming, stop, producer_running, joining;
    pthread_t producer;
    pthread_cond_t tick; /* wakes the producer early (stop) */
    uint32_t sequence;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond; /* any state change; CLOCK_MONOTONIC */
static pthread_condattr_t g_condattr;
static struct fake *g_list;
static atomic_int g_count; /* fast path: no fake fds -> no locking at all */

/* fork(): hold the lock across it so the child never inherits it locked.
 * Producer threads do not survive into the child, so there the streams
 * simply stop (DQBUF waits forever / EAGAIN) until STREAMOFF or close. */
static void atfork_prepare(void) { pthread_mutex_lock(&g_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&g_lock); }
static void atfork_child(void)
{
    for (struct fake *f = g_list; f; f = f->next) f->producer_running = f->joining = false;
    pthread_mutex_unlock(&g_lock);
}

__attribute__((constructor)) static void fake_init(void)
{
    resolve_real();
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    pthread_condattr_init(&g_condattr);
    pthread_condattr_setclock(&g_condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &g_condattr);
    const char *d = getenv("FAKE_V4L2_DEBUG");
    g_debug = d && *d && strcmp(d, "0") != 0;
}

/* Caller holds g_lock. */
static struct fake *find_locked(int fd)
{
    for (struct fake *f = g_list; f; f = f->next)
        if (f->fd == fd) return f;
    return NULL;
}

/* Returns the entry for fd with a reference taken, or NULL. */
static struct fake *fake_get(int fd)
{
    if (fd < 0 || atomic_load(&g_count) == 0) return NULL;
    pthread_mutex_lock(&g_lock);
    struct fake *f = find_locked(fd);
    if (f) f->refs++;
    pthread_mutex_unlock(&g_lock);
    return f;
}

static void free_buffers_locked(struct fake *f)
{
    if (f->mem) munmap(f->mem, f->mem_len);
    if (f->memfd >= 0) real_close(f->memfd);
    f->mem = NULL;
    f->memfd = -1;
    f->mem_len = 0;
    f->nbuf = f->nqueued = f->ndone = 0;
}

/* Caller holds g_lock. */
static void fake_put_locked(struct fake *f)
{
    if (--f->refs == 0 && f->closed) {
        free_buffers_locked(f);
        pthread_cond_destroy(&f->tick);
        free(f);
    }
}

static void fake_put(struct fake *f)
{
    pthread_mutex_lock(&g_lock);
    fake_put_locked(f);
    pthread_mutex_unlock(&g_lock);
}

/* Re-read the node: deleted means unplugged; a rewrite updates the live keys.
 * The file is re-read every time rather than only on an mtime change:
 * timestamps are jiffy-coarse, so "wedge=1" then "wedge=0" written within a
 * few ms would otherwise be missed, and a re-read costs microseconds.
 * Caller holds g_lock.  Returns 0 or the errno the device now fails with. */
static int refresh_locked(struct fake *f)
{
    struct stat st;
    if (f->dead) return f->dead;
    if (raw_stat(f->path, &st) != 0) return ENODEV;
    f->seen = st;
    struct config *c = malloc(sizeof(*c));
    int err = c ? load_config(f->path, c) : ENOMEM;
    if (err == ENOENT) {
        free(c);
        return ENODEV;
    }
    if (!err && (c->wedge != f->cfg.wedge || c->busy != f->cfg.busy || c->fail != f->cfg.fail ||
                 c->delay_ms != f->cfg.delay_ms)) {
        f->cfg.wedge = c->wedge;
        f->cfg.busy = c->busy;
        f->cfg.fail = c->fail;
        f->cfg.delay_ms = c->delay_ms;
        LOG("%s changed: wedge=%d busy=%d fail=%d delay_ms=%u", f->path, c->wedge, c->busy, c->fail, c->delay_ms);
    }
    free(c);
    return f->cfg.fail;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ------------------------------------------------------------------------ */
/* Frame synthesis                                                          */
/* ------------------------------------------------------------------------ */

/* A moving diagonal gradient, so consecutive frames differ. */
static inline uint8_t pat_y(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t t)
{
    return (uint8_t)((x * 192u / w) + (y * 63u / h) + t * 4u);
}
static inline uint8_t pat_u(uint32_t x, uint32_t w) { return (uint8_t)(64u + x * 128u / w); }
static inline uint8_t pat_v(uint32_t y, uint32_t h) { return (uint8_t)(192u - y * 128u / h); }

static void render_raw(uint8_t *p, uint32_t fourcc, uint32_t w, uint32_t h, uint32_t bpl, uint32_t t)
{
    switch (fourcc) {
    case V4L2_PIX_FMT_YUYV:
    case V4L2_PIX_FMT_UYVY: {
        bool yuyv = fourcc == V4L2_PIX_FMT_YUYV;
        for (uint32_t y = 0; y < h; y++) {
            uint8_t *row = p + (size_t)y * bpl;
            for (uint32_t x = 0; x + 1 < w; x += 2) {
                uint8_t *q = row + x * 2;
                uint8_t y0 = pat_y(x, y, w, h, t), y1 = pat_y(x + 1, y, w, h, t);
                uint8_t u = pat_u(x, w), v = pat_v(y, h);
                if (yuyv) { q[0] = y0; q[1] = u; q[2] = y1; q[3] = v; }
                else      { q[0] = u; q[1] = y0; q[2] = v; q[3] = y1; }
            }
        }
        break;
    }
    case V4L2_PIX_FMT_GREY:
    case V4L2_PIX_FMT_NV12:
    case V4L2_PIX_FMT_YUV420: {
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) p[(size_t)y * w + x] = pat_y(x, y, w, h, t);
        if (fourcc == V4L2_PIX_FMT_GREY) break;
        uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
        uint8_t *c = p + (size_t)w * h;
        for (uint32_t y = 0; y < ch; y++)
            for (uint32_t x = 0; x < cw; x++) {
                uint8_t u = pat_u(2 * x, w), v = pat_v(2 * y, h);
                if (fourcc == V4L2_PIX_FMT_NV12) {
                    c[((size_t)y * cw + x) * 2] = u;
                    c[((size_t)y * cw + x) * 2 + 1] = v;
                } else {
                    c[(size_t)y * cw + x] = u;
                    c[(size_t)cw * ch + (size_t)y * cw + x] = v;
                }
            }
        break;
    }
    case V4L2_PIX_FMT_RGB24:
    case V4L2_PIX_FMT_BGR24:
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                uint8_t *q = p + (size_t)y * bpl + x * 3;
                uint8_t r = pat_y(x, y, w, h, t), g = pat_u(x, w), b = pat_v(y, h);
                q[0] = fourcc == V4L2_PIX_FMT_RGB24 ? r : b;
                q[1] = g;
                q[2] = fourcc == V4L2_PIX_FMT_RGB24 ? b : r;
            }
        break;
    default: /* unknown raw format: mid grey bytes */
        memset(p, 0x80, (size_t)bpl * h);
    }
}

/* Minimal baseline JPEG writer: one grey component, quantiser 1, every 8x8
 * block flat (DC only, AC = EOB).  Enough to produce a real, decodable JPEG
 * of exactly the negotiated size with a moving gradient, without embedding a
 * codec: the scan is just DC differences. */
struct bitw {
    uint8_t *p;
    size_t n, cap;
    uint32_t acc;
    int nbits;
    bool overflow;
};

static void bw_byte(struct bitw *b, uint8_t v)
{
    if (b->n < b->cap) b->p[b->n++] = v;
    else b->overflow = true;
}

static void bw_bits(struct bitw *b, uint32_t v, int n)
{
    b->acc = (b->acc << n) | (v & ((1u << n) - 1));
    b->nbits += n;
    while (b->nbits >= 8) {
        uint8_t byte = (uint8_t)(b->acc >> (b->nbits - 8));
        bw_byte(b, byte);
        if (byte == 0xFF) bw_byte(b, 0x00); /* marker stuffing */
        b->nbits -= 8;
    }
    b->acc &= (1u << b->nbits) - 1;
}

static void bw_bytes(struct bitw *b, const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) bw_byte(b, v[i]);
}

static uint32_t render_jpeg(uint8_t *p, size_t cap, uint32_t w, uint32_t h, uint32_t t)
{
    /* Standard luminance DC table (ITU T.81 K.3); AC table holds only EOB. */
    static const uint8_t dc_bits[16] = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    uint16_t dc_code[12];
    uint8_t dc_len[12];
    for (unsigned len = 1, code = 0, sym = 0; len <= 16; len++, code <<= 1)
        for (unsigned i = 0; i < dc_bits[len - 1]; i++, sym++, code++) {
            dc_code[sym] = (uint16_t)code;
            dc_len[sym] = (uint8_t)len;
        }

    struct bitw b = {p, 0, cap, 0, 0, false};
    static const uint8_t soi_app0[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00,
                                       0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
    bw_bytes(&b, soi_app0, sizeof(soi_app0));
    static const uint8_t dqt[] = {0xFF, 0xDB, 0x00, 0x43, 0x00};
    bw_bytes(&b, dqt, sizeof(dqt));
    for (int i = 0; i < 64; i++) bw_byte(&b, 1);
    const uint8_t sof[] = {0xFF, 0xC0, 0x00, 0x0B, 0x08, (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8),
                           (uint8_t)w, 0x01, 0x01, 0x11, 0x00};
    bw_bytes(&b, sof, sizeof(sof));
    static const uint8_t dht_dc[] = {0xFF, 0xC4, 0x00, 0x1F, 0x00};
    bw_bytes(&b, dht_dc, sizeof(dht_dc));
    bw_bytes(&b, dc_bits, 16);
    for (uint8_t i = 0; i < 12; i++) bw_byte(&b, i);
    static const uint8_t dht_ac[] = {0xFF, 0xC4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0,    0, 0, 0, 0x00};
    bw_bytes(&b, dht_ac, sizeof(dht_ac));
    static const uint8_t sos[] = {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00};
    bw_bytes(&b, sos, sizeof(sos));

    int prev = 0;
    for (uint32_t by = 0; by < (h + 7) / 8; by++)
        for (uint32_t bx = 0; bx < (w + 7) / 8; bx++) {
            uint32_t cx = bx * 8 + 4 < w ? bx * 8 + 4 : w - 1, cy = by * 8 + 4 < h ? by * 8 + 4 : h - 1;
            int dc = 8 * ((int)pat_y(cx, cy, w, h, t) - 128); /* flat block: F(0,0) = 8 * (level - 128) */
            int diff = dc - prev;
            prev = dc;
            unsigned mag = (unsigned)(diff < 0 ? -diff : diff), cat = 0;
            while (mag >> cat) cat++;
            bw_bits(&b, dc_code[cat], dc_len[cat]);
            if (cat) bw_bits(&b, (uint32_t)(diff < 0 ? diff - 1 : diff), (int)cat);
            bw_bits(&b, 0, 1); /* EOB */
        }
    if (b.nbits) bw_bits(&b, 0x7F, 8 - b.nbits); /* pad with 1-bits */
    bw_byte(&b, 0xFF);
    bw_byte(&b, 0xD9);
    return b.overflow ? 0 : (uint32_t)b.n;
}

/* Caller holds g_lock.  Fills the oldest queued buffer, or drops the frame. */
static void produce_locked(struct fake *f)
{
    uint32_t seq = f->sequence++;
    if (f->nqueued == 0) {
        LOG("fd %d: frame %u dropped (no queued buffer)", f->fd, seq);
        return;
    }
    unsigned idx = f->queued[0];
    memmove(f->queued, f->queued + 1, --f->nqueued * sizeof(f->queued[0]));
    struct fake_buf *b = &f->buf[idx];
    uint8_t *p = f->mem + idx * f->buf_stride;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);

    if (f->cfg.kind == KIND_META) {
        /* One struct uvc_meta_buf: ns, sof, then a 12-byte UVC payload
         * header (HLE, BFH with EOH|SCR|PTS|FID, PTS, SCR). */
        uint64_t ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        uint16_t sof = (uint16_t)(seq & 0x7FF);
        memset(p, 0, 22);
        memcpy(p, &ns, 8);
        memcpy(p + 8, &sof, 2);
        p[10] = 12;
        p[11] = (uint8_t)(0x8C | (seq & 1));
        uint32_t pts = seq * 1000u;
        memcpy(p + 12, &pts, 4);
        memcpy(p + 16, &pts, 4);
        memcpy(p + 20, &sof, 2);
        b->bytesused = 22;
    } else {
        const struct format *fm = &f->cfg.fmt[f->cur_fmt];
        const struct frame_size *fs = &fm->size[f->cur_size];
        uint32_t bpl, size;
        frame_geometry(fm->fourcc, fs->w, fs->h, &bpl, &size);
        if (fm->fourcc == V4L2_PIX_FMT_MJPEG || fm->fourcc == V4L2_PIX_FMT_JPEG)
            b->bytesused = render_jpeg(p, f->buf_len, fs->w, fs->h, seq);
        else if (fmt_compressed(fm->fourcc))
            b->bytesused = 0; /* no H.264/HEVC synthesis; see README */
        else {
            render_raw(p, fm->fourcc, fs->w, fs->h, bpl, seq);
            b->bytesused = size;
        }
    }
    b->state = BUF_DONE;
    b->sequence = seq;
    b->ts.tv_sec = now.tv_sec;
    b->ts.tv_usec = now.tv_nsec / 1000;
    f->done[f->ndone++] = idx;
    uint64_t one = 1;
    if (real_write(f->fd, &one, sizeof(one)) != sizeof(one)) LOG("fd %d: eventfd write failed", f->fd);
    pthread_cond_broadcast(&g_cond);
}

static void timespec_add(struct timespec *ts, const struct v4l2_fract *ival)
{
    uint64_t ns = (uint64_t)ival->numerator * 1000000000ull / ival->denominator;
    ts->tv_sec += (time_t)(ns / 1000000000ull);
    ts->tv_nsec += (long)(ns % 1000000000ull);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *producer_main(void *arg)
{
    struct fake *f = arg;
    pthread_mutex_lock(&g_lock);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!f->stop) {
        struct v4l2_fract ival = f->cfg.kind == KIND_META ? (struct v4l2_fract){1, META_FPS} : f->cur_ival;
        timespec_add(&next, &ival);
        while (!f->stop && pthread_cond_timedwait(&f->tick, &g_lock, &next) != ETIMEDOUT) {}
        if (f->stop) break;
        int err = refresh_locked(f);
        if (err) {
            /* Unplugged (or fail=) mid-stream: make the fd readable so a
             * poller wakes up and finds DQBUF failing with that errno. */
            LOG("fd %d: stream died: %s", f->fd, strerror(err));
            f->dead = err;
            uint64_t one = 1;
            if (real_write(f->fd, &one, sizeof(one)) != sizeof(one)) LOG("fd %d: eventfd write failed", f->fd);
            pthread_cond_broadcast(&g_cond);
            break;
        }
        produce_locked(f);
        /* If we fell far behind (stopped process, slow machine), resync
         * rather than bursting frames. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1) next = now;
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

/* Stops the producer thread, if any.  Caller holds g_lock and a reference;
 * the lock is dropped while joining. */
static void stop_producer_locked(struct fake *f)
{
    while (f->joining) pthread_cond_wait(&g_cond, &g_lock);
    if (!f->producer_running) return;
    pthread_t thread = f->producer;
    f->stop = true;
    f->joining = true;
    pthread_cond_signal(&f->tick);
    pthread_mutex_unlock(&g_lock);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&g_lock);
    f->producer_running = false;
    f->joining = false;
    f->stop = false;
    pthread_cond_broadcast(&g_cond);
}

/* ------------------------------------------------------------------------ */
/* ioctl handlers (all called with g_lock held)                             */
/* ------------------------------------------------------------------------ */

static uint32_t buf_type(const struct fake *f)
{
    return f->cfg.kind == KIND_META ? V4L2_BUF_TYPE_META_CAPTURE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
}

static int find_fmt(const struct config *c, uint32_t fourcc)
{
    for (unsigned i = 0; i < c->nfmt; i++)
        if (c->fmt[i].fourcc == fourcc) return (int)i;
    return -1;
}

/* uvcvideo's metric: the size with the least non-overlapping area. */
static unsigned nearest_size(const struct format *fm, uint32_t w, uint32_t h)
{
    unsigned best = 0;
    uint64_t bestd = UINT64_MAX;
    for (unsigned i = 0; i < fm->nsize; i++) {
        const struct frame_size *s = &fm->size[i];
        uint64_t mw = w < s->w ? w : s->w, mh = h < s->h ? h : s->h;
        uint64_t d = (uint64_t)w * h + (uint64_t)s->w * s->h - 2 * mw * mh;
        if (d < bestd) {
            bestd = d;
            best = i;
        }
    }
    return best;
}

static struct v4l2_fract nearest_ival(const struct frame_size *fs, struct v4l2_fract want)
{
    if (want.numerator == 0 || want.denominator == 0) return fs->ival[0];
    double w = (double)want.numerator / want.denominator, bestd = 1e300;
    struct v4l2_fract best = fs->ival[0];
    for (unsigned i = 0; i < fs->nival; i++) {
        double d = (double)fs->ival[i].numerator / fs->ival[i].denominator - w;
        if (d < 0) d = -d;
        if (d < bestd) {
            bestd = d;
            best = fs->ival[i];
        }
    }
    return best;
}

static void fill_pix(struct v4l2_pix_format *pix, const struct format *fm, const struct frame_size *fs)
{
    memset(pix, 0, sizeof(*pix));
    pix->width = fs->w;
    pix->height = fs->h;
    pix->pixelformat = fm->fourcc;
    pix->field = V4L2_FIELD_NONE;
    frame_geometry(fm->fourcc, fs->w, fs->h, &pix->bytesperline, &pix->sizeimage);
    pix->colorspace = V4L2_COLORSPACE_SRGB;
    pix->priv = V4L2_PIX_FMT_PRIV_MAGIC; /* the core sets this for EXT_PIX_FORMAT drivers */
}

static int do_querycap(struct fake *f, struct v4l2_capability *cap)
{
    memset(cap, 0, sizeof(*cap));
    copy_str((char *)cap->driver, sizeof(cap->driver), f->cfg.driver);
    copy_str((char *)cap->card, sizeof(cap->card), f->cfg.card);
    copy_str((char *)cap->bus_info, sizeof(cap->bus_info), f->cfg.bus_info);
    cap->version = f->cfg.version;
    cap->device_caps = (f->cfg.kind == KIND_META ? V4L2_CAP_META_CAPTURE : V4L2_CAP_VIDEO_CAPTURE) |
                       V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
    /* Like uvcvideo: capabilities is the union over the device's nodes
     * (video + metadata); device_caps is this node only. */
    cap->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING |
                        V4L2_CAP_EXT_PIX_FORMAT | V4L2_CAP_DEVICE_CAPS;
    return 0;
}

static int do_enum_fmt(struct fake *f, struct v4l2_fmtdesc *d)
{
    if (d->type != buf_type(f)) return EINVAL;
    uint32_t index = d->index, type = d->type;
    memset(d, 0, sizeof(*d));
    d->index = index;
    d->type = type;
    if (f->cfg.kind == KIND_META) {
        if (index != 0) return EINVAL;
        d->pixelformat = V4L2_META_FMT_UVC;
        copy_str((char *)d->description, sizeof(d->description), "UVC Payload Header Metadata");
        return 0;
    }
    if (index >= f->cfg.nfmt) return EINVAL;
    uint32_t fcc = f->cfg.fmt[index].fourcc;
    const struct fmt_info *fi = fmt_lookup(fcc);
    d->pixelformat = fcc;
    d->flags = fi && fi->compressed ? V4L2_FMT_FLAG_COMPRESSED : 0;
    if (fi)
        copy_str((char *)d->description, sizeof(d->description), fi->desc);
    else
        snprintf((char *)d->description, sizeof(d->description), "%.4s", (const char *)&fcc);
    return 0;
}

static int do_enum_framesizes(struct fake *f, struct v4l2_frmsizeenum *s)
{
    if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
    int fi = find_fmt(&f->cfg, s->pixel_format);
    if (fi < 0 || s->index >= f->cfg.fmt[fi].nsize) return EINVAL;
    const struct frame_size *fs = &f->cfg.fmt[fi].size[s->index];
    memset(&s->reserved, 0, sizeof(s->reserved));
    s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
    s->discrete.width = fs->w;
    s->discrete.height = fs->h;
    return 0;
}

static int do_enum_frameintervals(struct fake *f, struct v4l2_frmivalenum *iv)
{
    if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
    int fi = find_fmt(&f->cfg, iv->pixel_format);
    if (fi < 0) return EINVAL;
    const struct format *fm = &f->cfg.fmt[fi];
    for (unsigned i = 0; i < fm->nsize; i++)
        if (fm->size[i].w == iv->width && fm->size[i].h == iv->height) {
            if (iv->index >= fm->size[i].nival) return EINVAL;
            memset(&iv->reserved, 0, sizeof(iv->reserved));
            iv->type = V4L2_FRMIVAL_TYPE_DISCRETE;
            iv->discrete = fm->size[i].ival[iv->index];
            return 0;
        }
    return EINVAL;
}

static int do_fmt(struct fake *f, unsigned long req, struct v4l2_format *fmt)
{
    if (fmt->type != buf_type(f)) return EINVAL;
    if (f->cfg.kind == KIND_META) { /* one fixed format; S/TRY just report it */
        memset(&fmt->fmt, 0, sizeof(fmt->fmt));
        fmt->fmt.meta.dataformat = V4L2_META_FMT_UVC;
        fmt->fmt.meta.buffersize = META_BUFSIZE;
        return req == VIDIOC_S_FMT && f->nbuf ? EBUSY : 0;
    }
    unsigned fi = f->cur_fmt, si = f->cur_size;
    if (req != VIDIOC_G_FMT) {
        int i = find_fmt(&f->cfg, fmt->fmt.pix.pixelformat);
        fi = i < 0 ? 0 : (unsigned)i; /* unsupported fourcc: fall back to the default */
        si = nearest_size(&f->cfg.fmt[fi], fmt->fmt.pix.width, fmt->fmt.pix.height);
    }
    if (req == VIDIOC_S_FMT) {
        /* videobuf2 refuses format changes once buffers exist. */
        if (f->streaming || f->nbuf || f->cfg.busy) return EBUSY;
        f->cur_fmt = fi;
        f->cur_size = si;
        f->cur_ival = nearest_ival(&f->cfg.fmt[fi].size[si], f->cur_ival);
    }
    fill_pix(&fmt->fmt.pix, &f->cfg.fmt[fi], &f->cfg.fmt[fi].size[si]);
    return 0;
}

static int do_parm(struct fake *f, unsigned long req, struct v4l2_streamparm *p)
{
    if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
    if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
    if (req == VIDIOC_S_PARM) {
        if (f->streaming || f->cfg.busy) return EBUSY;
        f->cur_ival = nearest_ival(&f->cfg.fmt[f->cur_fmt].size[f->cur_size], p->parm.capture.timeperframe);
    }
    memset(&p->parm, 0, sizeof(p->parm));
    p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
    p->parm.capture.timeperframe = f->cur_ival;
    return 0;
}

static int do_enuminput(struct fake *f, struct v4l2_input *in)
{
    if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
    if (in->index != 0) return EINVAL;
    memset(in, 0, sizeof(*in));
    copy_str((char *)in->name, sizeof(in->name), "Camera 1");
    in->type = V4L2_INPUT_TYPE_CAMERA;
    return 0;
}

static void fill_buffer(struct fake *f, unsigned idx, struct v4l2_buffer *b)
{
    const struct fake_buf *fb = &f->buf[idx];
    memset(b, 0, sizeof(*b));
    b->index = idx;
    b->type = buf_type(f);
    b->bytesused = fb->bytesused;
    b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_TSTAMP_SRC_SOE |
               (fb->state == BUF_QUEUED ? V4L2_BUF_FLAG_QUEUED : 0) | (fb->state == BUF_DONE ? V4L2_BUF_FLAG_DONE : 0);
    b->field = V4L2_FIELD_NONE;
    b->timestamp = fb->ts;
    b->sequence = fb->sequence;
    b->memory = V4L2_MEMORY_MMAP;
    b->m.offset = (uint32_t)(idx * f->buf_stride);
    b->length = f->buf_len;
}

static int do_reqbufs(struct fake *f, struct v4l2_requestbuffers *rb)
{
    if (rb->type != buf_type(f)) return EINVAL;
    if (rb->memory != V4L2_MEMORY_MMAP) return EINVAL; /* only MMAP is offered */
    if (f->streaming || f->cfg.busy) return EBUSY;
    free_buffers_locked(f);
    rb->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
    memset(rb->reserved, 0, sizeof(rb->reserved));
    if (rb->count == 0) return 0;
    unsigned n = rb->count < 2 ? 2 : rb->count > MAX_BUFS ? MAX_BUFS : rb->count;

    if (f->cfg.kind == KIND_META)
        f->buf_len = META_BUFSIZE;
    else {
        const struct format *fm = &f->cfg.fmt[f->cur_fmt];
        uint32_t bpl;
        frame_geometry(fm->fourcc, fm->size[f->cur_size].w, fm->size[f->cur_size].h, &bpl, &f->buf_len);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    f->buf_stride = (f->buf_len + page - 1) / page * page;
    f->mem_len = f->buf_stride * n;
    f->memfd = memfd_create("fake-v4l2-buffers", MFD_CLOEXEC);
    if (f->memfd < 0) return ENOMEM;
    if (ftruncate(f->memfd, (off_t)f->mem_len) != 0 ||
        (f->mem = real_mmap(NULL, f->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0)) == MAP_FAILED) {
        f->mem = NULL;
        free_buffers_locked(f);
        return ENOMEM;
    }
    f->nbuf = n;
    memset(f->buf, 0, sizeof(f->buf));
    rb->count = n;
    return 0;
}

static int do_qbuf(struct fake *f, struct v4l2_buffer *b)
{
    if (b->type != buf_type(f) || b->memory != V4L2_MEMORY_MMAP || b->index >= f->nbuf) return EINVAL;
    if (f->buf[b->index].state != BUF_DEQUEUED) return EINVAL; /* already queued */
    f->buf[b->index].state = BUF_QUEUED;
    f->queued[f->nqueued++] = b->index;
    fill_buffer(f, b->index, b);
    return 0;
}

static int do_dqbuf(struct fake *f, struct v4l2_buffer *b)
{
    if (b->type != buf_type(f) || b->memory != V4L2_MEMORY_MMAP) return EINVAL;
    for (;;) {
        if (f->closed) return EBADF;
        if (f->dead) return f->dead;
        if (!f->streaming) return EINVAL;
        if (f->ndone) break;
        int fl = fcntl(f->fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK)) return EAGAIN;
        pthread_cond_wait(&g_cond, &g_lock); /* blocking DQBUF */
    }
    unsigned idx = f->done[0];
    memmove(f->done, f->done + 1, --f->ndone * sizeof(f->done[0]));
    uint64_t v;
    if (real_read(f->fd, &v, sizeof(v)) != sizeof(v)) LOG("fd %d: eventfd read failed", f->fd); /* semaphore: -1 */
    f->buf[idx].state = BUF_DEQUEUED;
    fill_buffer(f, idx, b);
    return 0;
}

static void drain_done_locked(struct fake *f)
{
    uint64_t v;
    for (; f->ndone; f->ndone--)
        if (real_read(f->fd, &v, sizeof(v)) != sizeof(v)) break;
    f->ndone = 0;
}

static int do_streamon(struct fake *f, const int *type)
{
    if ((uint32_t)*type != buf_type(f)) return EINVAL;
    if (f->nbuf == 0) return EINVAL;
    while (f->joining) pthread_cond_wait(&g_cond, &g_lock); /* a STREAMOFF still joining */
    if (f->closed) return EBADF;
    if (f->streaming) return 0;
    f->streaming = true;
    f->stop = false;
    if (pthread_create(&f->producer, NULL, producer_main, f) != 0) {
        f->streaming = false;
        return ENOMEM;
    }
    f->producer_running = true;
    return 0;
}

static int do_streamoff(struct fake *f, const int *type)
{
    if ((uint32_t)*type != buf_type(f)) return EINVAL;
    f->streaming = false;
    stop_producer_locked(f);
    /* All buffers return to the application, as in videobuf2. */
    drain_done_locked(f);
    f->nqueued = 0;
    for (unsigned i = 0; i < f->nbuf; i++) f->buf[i].state = BUF_DEQUEUED;
    pthread_cond_broadcast(&g_cond);
    return 0;
}

static int do_media_info(struct fake *f, struct media_device_info *mi)
{
    memset(mi, 0, sizeof(*mi));
    copy_str(mi->driver, sizeof(mi->driver), f->cfg.driver);
    copy_str(mi->model, sizeof(mi->model), f->cfg.card);
    copy_str(mi->serial, sizeof(mi->serial), f->cfg.serial);
    copy_str(mi->bus_info, sizeof(mi->bus_info), f->cfg.bus_info);
    mi->media_version = f->cfg.version;
    mi->driver_version = f->cfg.version;
    return 0;
}

static int dispatch_locked(struct fake *f, unsigned long req, void *arg)
{
    if (f->cfg.kind == KIND_MEDIA)
        return req == MEDIA_IOC_DEVICE_INFO ? do_media_info(f, arg) : ENOTTY;

    switch (req) {
    case VIDIOC_QUERYCAP: return do_querycap(f, arg);
    case VIDIOC_ENUM_FMT: return do_enum_fmt(f, arg);
    case VIDIOC_ENUM_FRAMESIZES: return do_enum_framesizes(f, arg);
    case VIDIOC_ENUM_FRAMEINTERVALS: return do_enum_frameintervals(f, arg);
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT: return do_fmt(f, req, arg);
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: return do_parm(f, req, arg);
    case VIDIOC_ENUMINPUT: return do_enuminput(f, arg);
    case VIDIOC_G_INPUT:
        if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
        *(int *)arg = 0;
        return 0;
    case VIDIOC_S_INPUT:
        if (f->cfg.kind != KIND_CAPTURE) return ENOTTY;
        return *(int *)arg == 0 ? 0 : EINVAL;
    case VIDIOC_G_PRIORITY: *(uint32_t *)arg = V4L2_PRIORITY_DEFAULT; return 0;
    case VIDIOC_S_PRIORITY: return 0;
    /* No controls: what the V4L2 core answers for a driver without any. */
    case VIDIOC_QUERYCTRL:
    case VIDIOC_QUERY_EXT_CTRL:
    case VIDIOC_QUERYMENU:
    case VIDIOC_G_CTRL:
    case VIDIOC_S_CTRL:
    case VIDIOC_G_EXT_CTRLS:
    case VIDIOC_S_EXT_CTRLS:
    case VIDIOC_TRY_EXT_CTRLS: return EINVAL;
    case VIDIOC_REQBUFS: return do_reqbufs(f, arg);
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->type != buf_type(f) || b->index >= f->nbuf) return EINVAL;
        fill_buffer(f, b->index, b);
        return 0;
    }
    case VIDIOC_QBUF: return do_qbuf(f, arg);
    case VIDIOC_DQBUF: return do_dqbuf(f, arg);
    case VIDIOC_STREAMON: return do_streamon(f, arg);
    case VIDIOC_STREAMOFF: return do_streamoff(f, arg);
    default: return ENOTTY;
    }
}

static const char *ioctl_name(unsigned long req)
{
#define N(x) case x: return #x
    switch (req) {
    N(VIDIOC_QUERYCAP); N(VIDIOC_ENUM_FMT); N(VIDIOC_ENUM_FRAMESIZES); N(VIDIOC_ENUM_FRAMEINTERVALS);
    N(VIDIOC_G_FMT); N(VIDIOC_S_FMT); N(VIDIOC_TRY_FMT); N(VIDIOC_G_PARM); N(VIDIOC_S_PARM);
    N(VIDIOC_ENUMINPUT); N(VIDIOC_G_INPUT); N(VIDIOC_S_INPUT); N(VIDIOC_QUERYCTRL);
    N(VIDIOC_QUERY_EXT_CTRL); N(VIDIOC_REQBUFS); N(VIDIOC_QUERYBUF); N(VIDIOC_QBUF);
    N(VIDIOC_DQBUF); N(VIDIOC_STREAMON); N(VIDIOC_STREAMOFF); N(VIDIOC_G_PRIORITY);
    N(MEDIA_IOC_DEVICE_INFO);
    default: return NULL;
    }
#undef N
}

/* ------------------------------------------------------------------------ */
/* Interposed entry points                                                  */
/* ------------------------------------------------------------------------ */

/* Is path (relative to dirfd) a fake node?  On success writes its canonical
 * path, kind (from the name) and number.  Cheap string checks come first:
 * open() and stat() are hot and almost never ours.  Preserves errno. */
static bool match_node(int dirfd, const char *path, char out[PATH_MAX], enum kind *kind, unsigned *num)
{
    const char *dir = getenv("FAKE_V4L2_DIR");
    if (!dir || !*dir || !path || !*path) return false;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!node_name(base, NULL, NULL) && strncmp(path, dir, strlen(dir)) != 0 && !strstr(path, "/by-id/") &&
        !strstr(path, "/by-path/"))
        return false;

    char abs[PATH_MAX], real[PATH_MAX], rdir[PATH_MAX];
    if (path[0] != '/' && dirfd != AT_FDCWD) {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, abs, sizeof(abs) - 1);
        if (n < 0 || (size_t)n + 1 + strlen(path) >= sizeof(abs)) return false;
        abs[n] = '/';
        strcpy(abs + n + 1, path);
    } else if (strlen(path) < sizeof(abs))
        strcpy(abs, path);
    else
        return false;

    int saved = errno;
    struct stat st;
    bool ok = realpath(abs, real) && realpath(dir, rdir) && raw_stat(real, &st) == 0 && S_ISREG(st.st_mode);
    errno = saved;
    if (!ok) return false;
    char *slash = strrchr(real, '/');
    size_t dlen = strlen(rdir);
    if (!slash || (size_t)(slash - real) != dlen || strncmp(real, rdir, dlen) != 0 ||
        !node_name(slash + 1, kind, num))
        return false;
    strcpy(out, real);
    return true;
}

/* Writers (e.g. the test creating the node file) must see the real file. */
static bool open_is_reader(int flags)
{
    return (flags & O_ACCMODE) != O_WRONLY && !(flags & (O_CREAT | O_TRUNC | O_APPEND | O_DIRECTORY | O_PATH));
}

/* v4l2-ctl and friends identify a node by reading
 * /sys/dev/char/<major>:<minor>/uevent for its stat() st_rdev.  For our
 * fake majors, serve that file from a memfd.  Returns an fd, or -1 if path
 * is not such a file (errno untouched). */
static int sysfs_uevent_fd(const char *path, int flags)
{
    unsigned maj, min;
    int end = 0;
    if (!path || strncmp(path, "/sys/dev/char/", 14) != 0) return -1;
    if (sscanf(path + 14, "%u:%u/uevent%n", &maj, &min, &end) != 2 || path[14 + end] != '\0') return -1;
    if (maj != FAKE_VIDEO_MAJOR && maj != FAKE_MEDIA_MAJOR) return -1;
    const char *dir = getenv("FAKE_V4L2_DIR");
    if (!dir || !*dir) return -1;
    char node[PATH_MAX], real[PATH_MAX];
    const char *name = maj == FAKE_VIDEO_MAJOR ? "video" : "media";
    snprintf(node, sizeof(node), "%s/%s%u", dir, name, min);
    struct stat st;
    if (raw_stat(node, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    int saved = errno;
    int fd = memfd_create("fake-v4l2-uevent", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    int n = snprintf(real, sizeof(real), "MAJOR=%u\nMINOR=%u\nDEVNAME=%s%u\n", maj, min, name, min);
    if (real_write(fd, real, (size_t)n) != n || lseek(fd, 0, SEEK_SET) != 0) {
        real_close(fd);
        errno = saved;
        return -1;
    }
    LOG("serving %s", path);
    return fd;
}

/* Blocks while the node file says wedge=1 (the config is re-read every
 * 50 ms).  Returns 0, or ENODEV if the node disappears meanwhile, or EBADF
 * if f is closed by another thread.  With f == NULL (open), watches path. */
static int wait_unwedged(struct fake *f, const char *path)
{
    for (bool first = true;; first = false) {
        bool wedged;
        unsigned delay = 0;
        if (f) {
            pthread_mutex_lock(&g_lock);
            int err = f->closed ? EBADF : refresh_locked(f);
            wedged = f->cfg.wedge;
            delay = f->cfg.delay_ms;
            pthread_mutex_unlock(&g_lock);
            if (err) return err;
        } else {
            struct config *c = malloc(sizeof(*c));
            if (!c) return ENOMEM;
            int err = load_config(path, c);
            wedged = c->wedge_open;
            free(c);
            if (err) return err == ENOENT ? ENODEV : err;
        }
        if (first && delay) sleep_ms(delay);
        if (!wedged) return 0;
        if (first) LOG("%s: wedged", f ? f->path : path);
        sleep_ms(50);
    }
}

static int fake_open(const char *path, int flags)
{
    struct config *c = malloc(sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return -1;
    }
    int err = load_config(path, c);
    if (!err && c->fail) err = c->fail;
    if (!err && c->wedge_open) err = wait_unwedged(NULL, path);
    struct stat st;
    if (!err && raw_stat(path, &st) != 0) err = ENODEV;
    int fd = -1;
    struct fake *f = NULL;
    if (!err) {
        int efl = EFD_SEMAPHORE | (flags & O_NONBLOCK ? EFD_NONBLOCK : 0) | (flags & O_CLOEXEC ? EFD_CLOEXEC : 0);
        fd = eventfd(0, efl);
        f = fd >= 0 ? calloc(1, sizeof(*f)) : NULL;
        if (!f) err = fd < 0 ? errno : ENOMEM;
    }
    if (err) {
        LOG("open %s -> %s", path, strerror(err));
        if (fd >= 0) real_close(fd);
        free(c);
        errno = err;
        return -1;
    }
    f->fd = fd;
    f->refs = 1;
    f->memfd = -1;
    f->seen = st;
    f->cfg = *c;
    free(c);
    snprintf(f->path, sizeof(f->path), "%s", path);
    node_name(strrchr(path, '/') + 1, &f->name_kind, &f->num);
    if (f->cfg.kind == KIND_CAPTURE) f->cur_ival = f->cfg.fmt[0].size[0].ival[0];
    pthread_cond_init(&f->tick, &g_condattr);

    pthread_mutex_lock(&g_lock);
    f->next = g_list;
    g_list = f;
    atomic_fetch_add(&g_count, 1);
    pthread_mutex_unlock(&g_lock);
    LOG("open %s -> fd %d (%s)", path, fd,
        f->cfg.kind == KIND_META ? "metadata" : f->cfg.kind == KIND_MEDIA ? "media" : "capture");
    return fd;
}

#define OPEN_BODY(dirfd, path, flags, real_call)                               \
    do {                                                                       \
        char node[PATH_MAX];                                                   \
        resolve_real();                                                        \
        if (open_is_reader(flags) && match_node((dirfd), (path), node, NULL, NULL)) \
            return fake_open(node, (flags));                                   \
        int sysfd = open_is_reader(flags) ? sysfs_uevent_fd((path), (flags)) : -1;   \
        if (sysfd >= 0) return sysfd;                                          \
        return real_call;                                                      \
    } while (0)

/* open() only reads mode when O_CREAT/O_TMPFILE is set; fetching it
 * unconditionally would read garbage but is harmless, still we don't. */
#define GET_MODE(flags, last)                                    \
    mode_t mode = 0;                                             \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                     \
        va_list ap;                                              \
        va_start(ap, last);                                      \
        mode = (mode_t)va_arg(ap, int);                          \
        va_end(ap);                                              \
    }

EXPORT int open(const char *path, int flags, ...)
{
    GET_MODE(flags, flags);
    OPEN_BODY(AT_FDCWD, path, flags, real_open(path, flags, mode));
}

EXPORT int open64(const char *path, int flags, ...)
{
    GET_MODE(flags, flags);
    OPEN_BODY(AT_FDCWD, path, flags, real_open64(path, flags, mode));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    GET_MODE(flags, flags);
    OPEN_BODY(dirfd, path, flags, real_openat(dirfd, path, flags, mode));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    GET_MODE(flags, flags);
    OPEN_BODY(dirfd, path, flags, real_openat64(dirfd, path, flags, mode));
}

/* _FORTIFY_SOURCE builds call these instead of open() for non-constant flags. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
EXPORT int __open_2(const char *path, int flags)
{
    OPEN_BODY(AT_FDCWD, path, flags, real___open_2 ? real___open_2(path, flags) : real_open(path, flags));
}

EXPORT int __open64_2(const char *path, int flags)
{
    OPEN_BODY(AT_FDCWD, path, flags, real___open64_2 ? real___open64_2(path, flags) : real_open64(path, flags));
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    OPEN_BODY(dirfd, path, flags,
              real___openat_2 ? real___openat_2(dirfd, path, flags) : real_openat(dirfd, path, flags));
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    OPEN_BODY(dirfd, path, flags,
              real___openat64_2 ? real___openat64_2(dirfd, path, flags) : real_openat64(dirfd, path, flags));
}

EXPORT int close(int fd)
{
    resolve_real();
    struct fake *f = NULL;
    if (fd >= 0 && atomic_load(&g_count)) {
        pthread_mutex_lock(&g_lock);
        for (struct fake **pp = &g_list; *pp; pp = &(*pp)->next)
            if ((*pp)->fd == fd) {
                f = *pp;
                *pp = f->next; /* unlink before the real close: the fd number may be reused at once */
                break;
            }
        if (f) {
            atomic_fetch_sub(&g_count, 1);
            f->closed = true;
            f->streaming = false;
            pthread_cond_broadcast(&g_cond); /* wake blocking DQBUFs: they return EBADF */
            stop_producer_locked(f);         /* our table reference keeps f alive meanwhile */
            LOG("close fd %d (%s)", fd, f->path);
            int rc = real_close(fd);
            int e = errno;
            fake_put_locked(f); /* drop the table reference */
            pthread_mutex_unlock(&g_lock);
            errno = e;
            return rc;
        }
        pthread_mutex_unlock(&g_lock);
    }
    return real_close(fd);
}

/* Our nodes do not offer V4L2_CAP_READWRITE, so like a real driver read()
 * and write() fail with EINVAL.  This also stops a stray `cat`/`cp` of a node
 * file under LD_PRELOAD from blocking forever on the eventfd. */
EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    resolve_real();
    struct fake *f = fake_get(fd);
    if (!f) return real_read(fd, buf, n);
    fake_put(f);
    errno = EINVAL;
    return -1;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    resolve_real();
    struct fake *f = fake_get(fd);
    if (!f) return real_write(fd, buf, n);
    fake_put(f);
    errno = EINVAL;
    return -1;
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    resolve_real();

    struct fake *f = fake_get(fd);
    if (!f) return real_ioctl(fd, req, arg);
    /* Only V4L2 ('V') and media ('|') ioctls are ours; generic ones such as
     * FIONBIO or TCGETS (isatty) go to the underlying eventfd. */
    if (_IOC_TYPE(req) != 'V' && _IOC_TYPE(req) != '|') {
        fake_put(f);
        return real_ioctl(fd, req, arg);
    }
    int err = wait_unwedged(f, NULL); /* also re-reads the node: unplug, fail=, delay_ms= */
    if (!err && !arg) err = EFAULT;
    if (!err) {
        pthread_mutex_lock(&g_lock);
        err = f->closed ? EBADF : f->dead;
        if (!err) err = dispatch_locked(f, req, arg);
        pthread_mutex_unlock(&g_lock);
    }
    if (g_debug) {
        const char *name = ioctl_name(req);
        if (name)
            LOG("fd %d %s -> %s", fd, name, err ? strerror(err) : "ok");
        else
            LOG("fd %d ioctl '%c' nr %lu -> %s", fd, (int)_IOC_TYPE(req), (unsigned long)_IOC_NR(req),
                err ? strerror(err) : "ok");
    }
    fake_put(f);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* Maps buffer <offset> of a fake fd: a real shared mapping of its memfd. */
static void *fake_mmap(struct fake *f, void *addr, size_t len, int prot, int flags, off_t off)
{
    void *p = MAP_FAILED;
    int err = EINVAL;
    pthread_mutex_lock(&g_lock);
    if (f->nbuf && (flags & MAP_SHARED) && off >= 0 && f->buf_stride && (size_t)off % f->buf_stride == 0 &&
        (size_t)off / f->buf_stride < f->nbuf && len > 0 && len <= f->buf_stride) {
        p = real_mmap(addr, len, prot, flags, f->memfd, off);
        err = p == MAP_FAILED ? errno : 0;
    }
    pthread_mutex_unlock(&g_lock);
    LOG("fd %d mmap offset %lld len %zu -> %s", f->fd, (long long)off, len, err ? strerror(err) : "ok");
    if (p == MAP_FAILED) errno = err;
    return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    resolve_real();
    struct fake *f = (flags & MAP_ANONYMOUS) ? NULL : fake_get(fd);
    if (!f) return real_mmap(addr, len, prot, flags, fd, off);
    void *p = fake_mmap(f, addr, len, prot, flags, off);
    int e = errno;
    fake_put(f);
    errno = e;
    return p;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    resolve_real();
    struct fake *f = (flags & MAP_ANONYMOUS) ? NULL : fake_get(fd);
    if (!f) return real_mmap64(addr, len, prot, flags, fd, off);
    void *p = fake_mmap(f, addr, len, prot, flags, off);
    int e = errno;
    fake_put(f);
    errno = e;
    return p;
}

/* ------------------------------------------------------------------------ */
/* stat() family and fopen()                                                */
/* ------------------------------------------------------------------------ */

/* Nodes must look like character devices: real V4L2 code (and v4l2-ctl)
 * checks S_ISCHR and derives the sysfs path from st_rdev.  The real stat
 * is done with the raw syscall - identical to what glibc does on Linux and
 * immune to which stat symbols a given glibc exports. */

#define NODE_RDEV(kind, num) makedev((kind) == KIND_MEDIA ? FAKE_MEDIA_MAJOR : FAKE_VIDEO_MAJOR, (num))

/* Works for struct stat and struct stat64 alike. */
#define PATCH_STAT(st, kind, num)                                   \
    do {                                                            \
        (st)->st_mode = S_IFCHR | ((st)->st_mode & 07777);          \
        (st)->st_rdev = NODE_RDEV(kind, num);                       \
        (st)->st_size = 0;                                          \
        (st)->st_blocks = 0;                                        \
    } while (0)

/* A fake fd reports the identity of its node file (so fstat(fd) matches
 * stat(path), as for a real device), as a character device. */
#define PATCH_FD_STAT(fd, st)                                       \
    do {                                                            \
        struct fake *f_ = fake_get(fd);                             \
        if (f_) {                                                   \
            pthread_mutex_lock(&g_lock);                            \
            (st)->st_dev = f_->seen.st_dev;                         \
            (st)->st_ino = f_->seen.st_ino;                         \
            (st)->st_nlink = 1;                                     \
            (st)->st_uid = f_->seen.st_uid;                         \
            (st)->st_gid = f_->seen.st_gid;                         \
            (st)->st_mode = f_->seen.st_mode;                       \
            (st)->st_atim = f_->seen.st_atim;                       \
            (st)->st_mtim = f_->seen.st_mtim;                       \
            (st)->st_ctim = f_->seen.st_ctim;                       \
            PATCH_STAT(st, f_->name_kind, f_->num);                 \
            fake_put_locked(f_);                                    \
            pthread_mutex_unlock(&g_lock);                          \
        }                                                           \
    } while (0)

#define PATCH_PATH_STAT(dirfd, path, st)                            \
    do {                                                            \
        char n_[PATH_MAX];                                          \
        enum kind k_;                                               \
        unsigned num_;                                              \
        if (S_ISREG((st)->st_mode) && match_node((dirfd), (path), n_, &k_, &num_)) \
            PATCH_STAT(st, k_, num_);                               \
    } while (0)

static int sys_fstatat(int dirfd, const char *path, void *st, int flags)
{
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

/* Out of line so the nonnull attribute on fstatat's path cannot fold the
 * NULL check away (Linux >= 6.11 accepts NULL with AT_EMPTY_PATH). */
__attribute__((noinline)) static bool empty_path(const char *p) { return !p || !*p; }

static int sys_fstat(int fd, void *st) { return (int)syscall(SYS_fstat, fd, st); }

/* Each entry point has a static twin (fv_<name>) that the legacy and statx
 * entry points call: calling the exported names instead could recurse
 * through another interposer (sanitizers implement fstat via __fxstat). */
#define DEFINE_PATH_STAT(name, type, nofollow)                          \
    static int fv_##name(const char *path, struct type *st)             \
    {                                                                   \
        int rc = sys_fstatat(AT_FDCWD, path, st, (nofollow));           \
        if (rc == 0) PATCH_PATH_STAT(AT_FDCWD, path, st);               \
        return rc;                                                      \
    }                                                                   \
    EXPORT int name(const char *path, struct type *st) { return fv_##name(path, st); }

#define DEFINE_FD_STAT(name, type)                                      \
    static int fv_##name(int fd, struct type *st)                       \
    {                                                                   \
        int rc = sys_fstat(fd, st);                                     \
        if (rc == 0) PATCH_FD_STAT(fd, st);                             \
        return rc;                                                      \
    }                                                                   \
    EXPORT int name(int fd, struct type *st) { return fv_##name(fd, st); }

#define DEFINE_AT_STAT(name, type)                                      \
    EXPORT int name(int dirfd, const char *path, struct type *st, int flags) \
    {                                                                   \
        return fv_##name(dirfd, path, st, flags);                       \
    }

#define DEFINE_AT_STAT_IMPL(name, type)                                 \
    static int fv_##name(int dirfd, const char *path, struct type *st, int flags) \
    {                                                                   \
        int rc = sys_fstatat(dirfd, path, st, flags);                   \
        if (rc != 0) return rc;                                         \
        if ((flags & AT_EMPTY_PATH) && empty_path(path))                \
            PATCH_FD_STAT(dirfd, st);                                   \
        else                                                            \
            PATCH_PATH_STAT(dirfd, path, st);                           \
        return rc;                                                      \
    }

DEFINE_PATH_STAT(stat, stat, 0)
DEFINE_PATH_STAT(stat64, stat64, 0)
DEFINE_PATH_STAT(lstat, stat, AT_SYMLINK_NOFOLLOW)
DEFINE_PATH_STAT(lstat64, stat64, AT_SYMLINK_NOFOLLOW)
DEFINE_FD_STAT(fstat, stat)
DEFINE_FD_STAT(fstat64, stat64)
DEFINE_AT_STAT_IMPL(fstatat, stat)
DEFINE_AT_STAT_IMPL(fstatat64, stat64)
DEFINE_AT_STAT(fstatat, stat)
DEFINE_AT_STAT(fstatat64, stat64)

/* Binaries built against glibc < 2.33 call these instead. */
int __xstat(int, const char *, struct stat *);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat(int, const char *, struct stat *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstat(int, int, struct stat *);
int __fxstat64(int, int, struct stat64 *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __fxstatat64(int, int, const char *, struct stat64 *, int);
EXPORT int __xstat(int ver, const char *p, struct stat *st) { (void)ver; return fv_stat(p, st); }
EXPORT int __xstat64(int ver, const char *p, struct stat64 *st) { (void)ver; return fv_stat64(p, st); }
EXPORT int __lxstat(int ver, const char *p, struct stat *st) { (void)ver; return fv_lstat(p, st); }
EXPORT int __lxstat64(int ver, const char *p, struct stat64 *st) { (void)ver; return fv_lstat64(p, st); }
EXPORT int __fxstat(int ver, int fd, struct stat *st) { (void)ver; return fv_fstat(fd, st); }
EXPORT int __fxstat64(int ver, int fd, struct stat64 *st) { (void)ver; return fv_fstat64(fd, st); }
EXPORT int __fxstatat(int ver, int d, const char *p, struct stat *st, int fl)
{
    (void)ver;
    return fv_fstatat(d, p, st, fl);
}
EXPORT int __fxstatat64(int ver, int d, const char *p, struct stat64 *st, int fl)
{
    (void)ver;
    return fv_fstatat64(d, p, st, fl);
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
    int rc = (int)syscall(SYS_statx, dirfd, path, flags, mask, stx);
    if (rc != 0 || !S_ISREG(stx->stx_mode)) return rc;
    /* Reuse the stat logic, then copy the patched fields over. */
    struct stat st;
    if (fv_fstatat(dirfd, path, &st, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) == 0 && S_ISCHR(st.st_mode)) {
        stx->stx_mode = (uint16_t)st.st_mode;
        stx->stx_rdev_major = major(st.st_rdev);
        stx->stx_rdev_minor = minor(st.st_rdev);
        stx->stx_size = 0;
        stx->stx_blocks = 0;
    }
    return rc;
}

/* fopen() opens through glibc-internal calls that bypass our open(), so the
 * sysfs uevent files need their own hook (libstdc++'s ifstream uses it). */
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);

static FILE *fopen_common(const char *path, const char *mode, FILE *(*real)(const char *, const char *))
{
    if (mode && mode[0] == 'r' && !strchr(mode, '+')) {
        int fd = sysfs_uevent_fd(path, strchr(mode, 'e') ? O_CLOEXEC : 0);
        if (fd >= 0) {
            FILE *fp = fdopen(fd, "r");
            if (fp) return fp;
            real_close(fd);
        }
    }
    return real(path, mode);
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
    if (!real_fopen) *(void **)&real_fopen = dlsym(RTLD_NEXT, "fopen");
    return fopen_common(path, mode, real_fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
    if (!real_fopen64) *(void **)&real_fopen64 = dlsym(RTLD_NEXT, "fopen64");
    return fopen_common(path, mode, real_fopen64 ? real_fopen64 : real_fopen);
}
