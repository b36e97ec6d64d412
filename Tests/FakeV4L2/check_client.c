/*
 * check_client.c - exercises the behaviours of libfakev4l2.so that v4l2-ctl
 * and ffmpeg do not reach: epoll readiness, non-blocking DQBUF, dropped
 * frames, close() racing a blocking DQBUF, unplug and wedge while open,
 * stat() of nodes, the metadata and media nodes.  Run by selftest.sh under
 * LD_PRELOAD with FAKE_V4L2_DIR set; argv[1] is that directory, which must
 * hold video0 (YUYV 640x480@30,15 + MJPG), video1 (metadata) and media0
 * (serial SN0001) as written by selftest.sh.  Prints one line per check and
 * exits non-zero if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/media.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *dir;

#define CHECK(cond, ...)                                     \
    do {                                                     \
        if (cond) {                                          \
            printf("ok   ");                                 \
        } else {                                             \
            printf("FAIL ");                                 \
            failures++;                                      \
        }                                                    \
        printf(__VA_ARGS__);                                 \
        printf("\n");                                        \
    } while (0)

static char *node(const char *name)
{
    static char buf[4][4096];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static void write_file(const char *path, const char *text)
{
    /* Write-then-rename: the library reloads on inode/mtime/size change. */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { perror(tmp); exit(2); }
    fputs(text, f);
    fclose(f);
    if (rename(tmp, path) != 0) { perror("rename"); exit(2); }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

static int start_stream(int fd, unsigned count, void **maps, size_t *len)
{
    struct v4l2_requestbuffers rb = {.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (xioctl(fd, VIDIOC_REQBUFS, &rb)) return -1;
    for (unsigned i = 0; i < rb.count; i++) {
        struct v4l2_buffer b = {.index = i, .type = rb.type, .memory = V4L2_MEMORY_MMAP};
        if (xioctl(fd, VIDIOC_QUERYBUF, &b)) return -1;
        if (maps) {
            maps[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
            if (maps[i] == MAP_FAILED) return -1;
            *len = b.length;
        }
        if (xioctl(fd, VIDIOC_QBUF, &b)) return -1;
    }
    int type = rb.type;
    return xioctl(fd, VIDIOC_STREAMON, &type) ? -1 : (int)rb.count;
}

static void check_stat_and_caps(void)
{
    struct stat st;
    CHECK(stat(node("video0"), &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 81 &&
              minor(st.st_rdev) == 0,
          "stat(video0) is char device 81:0");
    int fd = open(node("video0"), O_RDWR);
    CHECK(fd >= 0, "open video0");
    struct stat fst;
    CHECK(fstat(fd, &fst) == 0 && S_ISCHR(fst.st_mode) && fst.st_rdev == st.st_rdev && fst.st_ino == st.st_ino,
          "fstat(fd) matches stat(path)");
    struct v4l2_capability cap;
    CHECK(xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 && !strcmp((char *)cap.card, "HD USB Camera") &&
              cap.device_caps == (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT),
          "QUERYCAP card/device_caps");

    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    f.fmt.pix.width = 1000;
    f.fmt.pix.height = 700;
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    CHECK(xioctl(fd, VIDIOC_TRY_FMT, &f) == 0 && f.fmt.pix.width == 1280 && f.fmt.pix.height == 720 &&
              f.fmt.pix.sizeimage == 1280 * 720 * 2,
          "TRY_FMT 1000x700 -> nearest 1280x720 (got %ux%u)", f.fmt.pix.width, f.fmt.pix.height);
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_NV12;
    CHECK(xioctl(fd, VIDIOC_TRY_FMT, &f) == 0 && f.fmt.pix.pixelformat == V4L2_PIX_FMT_YUYV,
          "TRY_FMT unsupported fourcc -> default format");
    struct v4l2_format g = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    CHECK(xioctl(fd, VIDIOC_G_FMT, &g) == 0 && g.fmt.pix.width == 640, "TRY_FMT did not change G_FMT");

    struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    p.parm.capture.timeperframe = (struct v4l2_fract){1, 14};
    CHECK(xioctl(fd, VIDIOC_S_PARM, &p) == 0 && p.parm.capture.timeperframe.denominator == 15,
          "S_PARM 1/14 -> nearest 1/15");

    int input = 1;
    CHECK(xioctl(fd, VIDIOC_S_INPUT, &input) < 0 && errno == EINVAL, "S_INPUT 1 -> EINVAL");
    v4l2_std_id std;
    CHECK(xioctl(fd, VIDIOC_G_STD, &std) < 0 && errno == ENOTTY, "unhandled ioctl -> ENOTTY");
    struct v4l2_queryctrl qc = {.id = V4L2_CID_BRIGHTNESS};
    CHECK(xioctl(fd, VIDIOC_QUERYCTRL, &qc) < 0 && errno == EINVAL, "QUERYCTRL -> EINVAL (no controls)");
    int on = 1;
    CHECK(ioctl(fd, FIONBIO, &on) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK), "FIONBIO passes through to the fd");
    char c;
    CHECK(read(fd, &c, 1) < 0 && errno == EINVAL, "read() -> EINVAL (no READWRITE)");
    close(fd);

    fd = open(node("media0"), O_RDWR);
    struct media_device_info mi;
    CHECK(fd >= 0 && xioctl(fd, MEDIA_IOC_DEVICE_INFO, &mi) == 0 && !strcmp(mi.serial, "SN0001") &&
              !strcmp(mi.model, "HD USB Camera"),
          "media0 MEDIA_IOC_DEVICE_INFO serial/model");
    close(fd);
}

static void check_streaming(void)
{
    int fd = open(node("video0"), O_RDWR | O_NONBLOCK);
    void *maps[32];
    size_t len = 0;
    int n = start_stream(fd, 4, maps, &len);
    CHECK(n == 4 && len == 640 * 480 * 2, "REQBUFS/QUERYBUF/mmap/QBUF/STREAMON (%d buffers)", n);

    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    CHECK(xioctl(fd, VIDIOC_DQBUF, &b) < 0 && errno == EAGAIN, "non-blocking DQBUF before a frame -> EAGAIN");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD on the device fd");
    double t0 = now_s();
    int r = epoll_wait(ep, &ev, 1, 1000);
    CHECK(r == 1 && now_s() - t0 < 0.2, "epoll wakes for the first frame (%.0f ms)", (now_s() - t0) * 1000);
    CHECK(xioctl(fd, VIDIOC_DQBUF, &b) == 0 && b.bytesused == 640 * 480 * 2 && b.sequence == 0 &&
              (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC),
          "DQBUF: bytesused %u, sequence %u", b.bytesused, b.sequence);
    /* Centre pixel of frame 0: Y = 320*192/640 + 240*63/480 = 127, U = V = 128. */
    const unsigned char *px = (const unsigned char *)maps[b.index] + (240 * 640 + 320) * 2;
    CHECK(px[0] == 127 && px[1] == 128 && px[3] == 128, "frame holds the YUYV test pattern (Y %u U %u V %u)",
          px[0], px[1], px[3]);

    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    CHECK(xioctl(fd, VIDIOC_S_FMT, &f) < 0 && errno == EBUSY, "S_FMT while buffers exist -> EBUSY");

    /* Hold every buffer: the driver must drop frames (sequence gap). */
    unsigned held[32], nheld = 1;
    held[0] = b.index;
    while (nheld < 4) {
        if (epoll_wait(ep, &ev, 1, 1000) != 1) break;
        if (xioctl(fd, VIDIOC_DQBUF, &b) == 0) held[nheld++] = b.index;
    }
    unsigned last = b.sequence;
    usleep(250000);
    for (unsigned i = 0; i < nheld; i++) {
        struct v4l2_buffer q = {.index = held[i], .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        xioctl(fd, VIDIOC_QBUF, &q);
    }
    epoll_wait(ep, &ev, 1, 1000);
    CHECK(xioctl(fd, VIDIOC_DQBUF, &b) == 0 && b.sequence > last + 3,
          "frames dropped while no buffer queued (sequence %u -> %u)", last, b.sequence);

    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    CHECK(xioctl(fd, VIDIOC_STREAMOFF, &type) == 0, "STREAMOFF");
    CHECK(epoll_wait(ep, &ev, 1, 100) == 0, "not readable after STREAMOFF");
    for (int i = 0; i < n; i++) munmap(maps[i], len);
    close(ep);
    close(fd);
}

struct dq_arg {
    int fd, rc, err;
};

static void *blocking_dqbuf(void *p)
{
    struct dq_arg *a = p;
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    a->rc = ioctl(a->fd, VIDIOC_DQBUF, &b);
    a->err = errno;
    return NULL;
}

static void *querycap(void *p)
{
    struct dq_arg *a = p;
    struct v4l2_capability cap;
    int rc = ioctl(a->fd, VIDIOC_QUERYCAP, &cap);
    a->err = errno;
    __atomic_store_n(&a->rc, rc, __ATOMIC_RELEASE); /* polled by the main thread */
    return NULL;
}

static void check_threads_unplug_wedge(void)
{
    /* close() while another thread sits in a blocking DQBUF. */
    int fd = open(node("video0"), O_RDWR);
    struct v4l2_requestbuffers rb = {.count = 2, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    xioctl(fd, VIDIOC_REQBUFS, &rb);
    xioctl(fd, VIDIOC_STREAMON, &type); /* nothing queued: DQBUF blocks */
    struct dq_arg a = {.fd = fd, .rc = 0};
    pthread_t t;
    pthread_create(&t, NULL, blocking_dqbuf, &a);
    usleep(100000);
    close(fd);
    pthread_join(t, NULL);
    CHECK(a.rc < 0 && a.err == EBADF, "close() releases a blocking DQBUF with EBADF");

    /* Unplug while streaming: epoll wakes, DQBUF and later ioctls fail ENODEV. */
    write_file(node("video7"), "card=Unplug Me\nformats=YUYV:320x240@30\n");
    fd = open(node("video7"), O_RDWR | O_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    void *maps[32];
    size_t len;
    start_stream(fd, 2, maps, &len);
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    epoll_wait(ep, &ev, 1, 1000);
    xioctl(fd, VIDIOC_DQBUF, &b); /* keep one buffer out so nothing is pending */
    epoll_wait(ep, &ev, 1, 1000);
    xioctl(fd, VIDIOC_DQBUF, &b);
    unlink(node("video7"));
    double t0 = now_s();
    int r = epoll_wait(ep, &ev, 1, 2000);
    CHECK(r == 1 && now_s() - t0 < 0.5, "epoll wakes on unplug (%.0f ms)", (now_s() - t0) * 1000);
    CHECK(xioctl(fd, VIDIOC_DQBUF, &b) < 0 && errno == ENODEV, "DQBUF after unplug -> ENODEV");
    struct v4l2_capability cap;
    CHECK(xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0 && errno == ENODEV, "QUERYCAP after unplug -> ENODEV");
    close(ep);
    close(fd);
    CHECK(open(node("video7"), O_RDWR) < 0 && errno == ENOENT, "reopen after unplug -> ENOENT");

    /* fail= written while open: the fd starts failing (unplug without rm). */
    write_file(node("video8"), "card=Flaky\n");
    fd = open(node("video8"), O_RDWR);
    CHECK(fd >= 0 && xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0, "video8 works");
    write_file(node("video8"), "card=Flaky\nfail=EIO\n");
    CHECK(xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0 && errno == EIO, "live fail=EIO -> ioctl EIO");
    close(fd);
    CHECK(open(node("video8"), O_RDWR) < 0 && errno == EIO, "open with fail=EIO -> EIO");
    unlink(node("video8"));

    /* Wedge after open; un-wedge by rewriting the file. */
    write_file(node("video9"), "card=Wedgy\n");
    fd = open(node("video9"), O_RDWR);
    write_file(node("video9"), "card=Wedgy\nwedge=1\n");
    struct dq_arg w = {.fd = fd, .rc = 1};
    pthread_create(&t, NULL, querycap, &w);
    usleep(300000);
    CHECK(__atomic_load_n(&w.rc, __ATOMIC_ACQUIRE) == 1, "wedge=1: QUERYCAP still blocked after 300 ms");
    write_file(node("video9"), "card=Wedgy\nwedge=0\n");
    t0 = now_s();
    pthread_join(t, NULL);
    CHECK(w.rc == 0 && now_s() - t0 < 0.5, "wedge=0: QUERYCAP completes (%.0f ms)", (now_s() - t0) * 1000);
    close(fd);
    unlink(node("video9"));
}

static void check_metadata(void)
{
    int fd = open(node("video1"), O_RDWR);
    struct v4l2_fmtdesc d = {.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    CHECK(xioctl(fd, VIDIOC_ENUM_FMT, &d) < 0 && errno == EINVAL, "metadata: ENUM_FMT video type -> EINVAL");
    d.type = V4L2_BUF_TYPE_META_CAPTURE;
    CHECK(xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0 && d.pixelformat == V4L2_META_FMT_UVC, "metadata: ENUM_FMT UVCH");
    struct v4l2_input in = {.index = 0};
    CHECK(xioctl(fd, VIDIOC_ENUMINPUT, &in) < 0 && errno == ENOTTY, "metadata: ENUMINPUT -> ENOTTY");
    struct v4l2_requestbuffers rb = {.count = 2, .type = V4L2_BUF_TYPE_META_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int type = V4L2_BUF_TYPE_META_CAPTURE;
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_META_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int ok = xioctl(fd, VIDIOC_REQBUFS, &rb) == 0;
    for (unsigned i = 0; ok && i < rb.count; i++) {
        b.index = i;
        ok = xioctl(fd, VIDIOC_QBUF, &b) == 0;
    }
    ok = ok && xioctl(fd, VIDIOC_STREAMON, &type) == 0 && xioctl(fd, VIDIOC_DQBUF, &b) == 0;
    CHECK(ok && b.bytesused == 22, "metadata: streams UVC header buffers (bytesused %u)", b.bytesused);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FAKE_V4L2_DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_stat_and_caps();
    check_streaming();
    check_threads_unplug_wedge();
    check_metadata();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
