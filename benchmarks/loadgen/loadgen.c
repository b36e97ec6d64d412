/*
 * loadgen: a bounded WebSocket JSON-RPC 2.0 load generator.
 *
 * Single-threaded, one epoll loop, non-blocking sockets. It opens --idle idle
 * connections and then --conns active connections (at most --ramp-par setups
 * at a time; each setup = TCP connect + RFC 6455 upgrade + optional
 * "authenticate" call), drives the active connections for --warmup and then the
 * --duration measurement window with at most --inflight outstanding requests
 * per connection, drains outstanding responses (at most --drain), samples the
 * server process (--pid), closes every connection with a close handshake and
 * prints a table (or one JSON line with --json).
 *
 * Latency of a request = time from its send (CLOCK_MONOTONIC, taken just
 * before the write) to the read that returned its response, keyed by the
 * JSON-RPC id. Only requests sent inside the window are counted.
 *
 * Fan-out mode (--subscribe TOPIC): the --conns connections subscribe to TOPIC
 * (subscribe_events, with --token as auth_token) instead of sending requests;
 * one extra publisher connection authenticates with --publish-token and sends
 * --publish-count publish calls (--publish-method, default fixture.emit), one
 * every --publish-interval, each carrying its send time (CLOCK_MONOTONIC ns).
 * Every delivery to a subscriber records receive time - send time; lost
 * deliveries = expected (subscribers alive at each publish) - received.
 *
 * Build: benchmarks/loadgen/build.sh (gcc -O2 -Wall -Wextra ... -lcrypto).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#define VERSION "loadgen 1.0"

/* ------------------------------------------------------------------ options */

static struct {
    char *url;
    long conns, idle, inflight;
    double duration, warmup, drain;
    const char *method;
    const char *params; /* raw JSON or NULL */
    const char *token;
    long pid;
    long ramp_par;
    double ramp_timeout, connect_timeout, auth_timeout, max_runtime;
    const char *label;
    int json, verbose;
    long max_msg;
    /* fan-out mode (--subscribe) */
    const char *subscribe;      /* topic; NULL = request/response mode */
    long publish_count;
    double publish_interval;    /* seconds */
    const char *publish_token, *publish_method, *publish_params;
    int kernel_ts;
} opt = {
    .url = "ws://127.0.0.1:8002/ws",
    .conns = 1, .idle = 0, .inflight = 1,
    .duration = 10, .warmup = 1, .drain = 5,
    .method = "ping", .params = NULL, .token = NULL,
    .pid = 0, .ramp_par = 64,
    .ramp_timeout = 60, .connect_timeout = 5, .auth_timeout = 10, .max_runtime = 0,
    .label = NULL, .json = 0, .verbose = 0,
    .max_msg = 16 << 20,
    .subscribe = NULL, .publish_count = 100, .publish_interval = 0.05,
    .publish_token = NULL, .publish_method = "fixture.emit", .publish_params = NULL,
    .kernel_ts = 1,
};

/* parsed URL */
static char url_host[256], url_hostport[300], url_path[2048];
static char url_port[16];
static struct sockaddr_storage srv_addr;
static socklen_t srv_addrlen;
static int srv_family;

/* ------------------------------------------------------------------ small helpers */

static int64_t t_start_ns;

static inline int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void vlog(const char *fmt, ...)
{
    if (!opt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[loadgen %7.2fs] ", (mono_ns() - t_start_ns) / 1e9);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* Randomness: a pool refilled from getrandom(2) (the kernel CSPRNG). */
static uint8_t rnd_pool[4096];
static size_t rnd_pos = sizeof rnd_pool;

static void rnd_bytes(void *out, size_t n)
{
    uint8_t *o = out;
    while (n) {
        if (rnd_pos == sizeof rnd_pool) {
            size_t got = 0;
            while (got < sizeof rnd_pool) {
                ssize_t r = getrandom(rnd_pool + got, sizeof rnd_pool - got, 0);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    die("getrandom: %s", strerror(errno));
                }
                got += (size_t)r;
            }
            rnd_pos = 0;
        }
        size_t take = sizeof rnd_pool - rnd_pos;
        if (take > n)
            take = n;
        memcpy(o, rnd_pool + rnd_pos, take);
        rnd_pos += take;
        o += take;
        n -= take;
    }
}

static size_t base64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = (i + 1 < n) ? tab[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

/* Append s as a JSON string literal (with quotes) to a buffer; returns length. */
static size_t json_quote(char *out, const char *s)
{
    size_t o = 0;
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '"';
    out[o] = 0;
    return o;
}

static void fjson_str(FILE *f, const char *s)
{
    char *b = xmalloc(strlen(s) * 6 + 3);
    json_quote(b, s);
    fputs(b, f);
    free(b);
}

/* durations: "10", "10s", "500ms", "2m", "1.5s" -> seconds */
static double parse_duration(const char *name, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v))
        die("--%s: bad duration '%s'", name, s);
    if (!strcmp(end, "") || !strcmp(end, "s"))
        return v;
    if (!strcmp(end, "ms"))
        return v / 1000;
    if (!strcmp(end, "us"))
        return v / 1e6;
    if (!strcmp(end, "m"))
        return v * 60;
    die("--%s: bad duration '%s' (use e.g. 10, 10s, 500ms, 2m)", name, s);
    return 0;
}

static long parse_long(const char *name, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        die("--%s must be an integer in [%ld, %ld] (got '%s')", name, lo, hi, s);
    return v;
}

/* ------------------------------------------------------------------ JSON scanning */

static const char *js_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"'; returns pointer after the closing quote, or NULL */
static const char *js_string(const char *p, const char *e)
{
    p++;
    while (p < e) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p + 1;
        if (ch == '\\') {
            if (p + 1 >= e)
                return NULL;
            p += 2;
            continue;
        }
        if (ch < 0x20)
            return NULL;
        p++;
    }
    return NULL;
}

/* returns pointer after one JSON value starting at p (no leading ws), or NULL */
static const char *js_value(const char *p, const char *e, int depth)
{
    if (p >= e || depth > 64)
        return NULL;
    switch (*p) {
    case '"':
        return js_string(p, e);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = js_ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                if (p >= e || *p != '"')
                    return NULL;
                p = js_string(p, e);
                if (!p)
                    return NULL;
                p = js_ws(p, e);
                if (p >= e || *p != ':')
                    return NULL;
                p = js_ws(p + 1, e);
            }
            p = js_value(p, e, depth + 1);
            if (!p)
                return NULL;
            p = js_ws(p, e);
            if (p >= e)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p = js_ws(p + 1, e);
        }
    }
    case 't':
        return (e - p >= 4 && !memcmp(p, "true", 4)) ? p + 4 : NULL;
    case 'f':
        return (e - p >= 5 && !memcmp(p, "false", 5)) ? p + 5 : NULL;
    case 'n':
        return (e - p >= 4 && !memcmp(p, "null", 4)) ? p + 4 : NULL;
    default: {
        const char *s = p;
        if (p < e && *p == '-')
            p++;
        if (p >= e || !isdigit((unsigned char)*p))
            return NULL;
        while (p < e && (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
                         *p == '+' || *p == '-'))
            p++;
        return p > s ? p : NULL;
    }
    }
}

struct jspan {
    const char *p;
    size_t n;
};

/* Walk a top-level JSON object and return the raw values of up to 4 keys.
 * Returns 0 if the text is not one well-formed object. */
static int js_object_get(const char *p, const char *e, const char *const *keys, int nkeys,
                         struct jspan *out)
{
    for (int i = 0; i < nkeys; i++)
        out[i].p = NULL, out[i].n = 0;
    p = js_ws(p, e);
    if (p >= e || *p != '{')
        return 0;
    p = js_ws(p + 1, e);
    if (p < e && *p == '}')
        return js_ws(p + 1, e) == e;
    for (;;) {
        if (p >= e || *p != '"')
            return 0;
        const char *ks = p + 1;
        const char *ke = js_string(p, e);
        if (!ke)
            return 0;
        size_t klen = (size_t)(ke - 1 - ks);
        p = js_ws(ke, e);
        if (p >= e || *p != ':')
            return 0;
        p = js_ws(p + 1, e);
        const char *vs = p;
        p = js_value(p, e, 1);
        if (!p)
            return 0;
        for (int i = 0; i < nkeys; i++)
            if (strlen(keys[i]) == klen && !memcmp(keys[i], ks, klen)) {
                out[i].p = vs;
                out[i].n = (size_t)(p - vs);
            }
        p = js_ws(p, e);
        if (p >= e)
            return 0;
        if (*p == '}')
            return js_ws(p + 1, e) == e;
        if (*p != ',')
            return 0;
        p = js_ws(p + 1, e);
    }
}

/* unsigned integer id; returns 1 on success */
static int js_uint(struct jspan v, uint64_t *out)
{
    if (!v.p || v.n == 0 || v.n > 19)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (!isdigit((unsigned char)v.p[i]))
            return 0;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = x;
    return 1;
}

/* copy a JSON value for display: strings without quotes, truncated */
static void js_display(struct jspan v, char *out, size_t cap)
{
    size_t o = 0;
    if (!v.p) {
        snprintf(out, cap, "?");
        return;
    }
    const char *p = v.p, *e = v.p + v.n;
    if (v.n >= 2 && *p == '"')
        p++, e--;
    for (; p < e && o + 1 < cap; p++)
        out[o++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '_';
    out[o] = 0;
}

/* ------------------------------------------------------------------ histogram */

/* Log-linear histogram of nanosecond values: exact below 256 ns, above that
 * each power-of-two range [2^k, 2^(k+1)) is cut into 128 equal bins, so a
 * reported value (bin midpoint) is within 1/256 (0.4 %) of the true one. */
#define H_SUB 128
#define H_LINEAR 256
#define H_MAXEXP 47
#define H_BINS (H_LINEAR + (H_MAXEXP - 7) * H_SUB)

struct hist {
    uint64_t bins[H_BINS];
    uint64_t n;
    double sum;
    int64_t max;
};

static int h_index(int64_t v)
{
    if (v < H_LINEAR)
        return v < 0 ? 0 : (int)v;
    int k = 63 - __builtin_clzll((uint64_t)v); /* 2^k <= v, k >= 8 */
    int idx = H_LINEAR + (k - 8) * H_SUB + (int)((v >> (k - 7)) & (H_SUB - 1));
    return idx < H_BINS ? idx : H_BINS - 1;
}

static double h_mid(int idx)
{
    if (idx < H_LINEAR)
        return idx;
    int k = (idx - H_LINEAR) / H_SUB + 8;
    int sub = (idx - H_LINEAR) % H_SUB;
    double width = (double)(1LL << (k - 7));
    return (double)(H_SUB + sub) * width + (width - 1) / 2;
}

static void h_record(struct hist *h, int64_t v)
{
    if (v < 0)
        v = 0;
    h->bins[h_index(v)]++;
    h->n++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

static double h_quantile(const struct hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t target = (uint64_t)ceil(q * (double)h->n);
    if (target < 1)
        target = 1;
    uint64_t cum = 0;
    for (int i = 0; i < H_BINS; i++) {
        cum += h->bins[i];
        if (cum >= target) {
            double v = h_mid(i);
            return v > (double)h->max ? (double)h->max : v;
        }
    }
    return (double)h->max;
}

struct quant {
    uint64_t n;
    double mean, p50, p90, p99, p999, max; /* µs */
};

static double r1(double v) { return round(v * 10) / 10; }

static struct quant h_summary(const struct hist *h)
{
    struct quant q = {0};
    if (!h->n)
        return q;
    q.n = h->n;
    q.mean = r1(h->sum / (double)h->n / 1000);
    q.p50 = r1(h_quantile(h, 0.50) / 1000);
    q.p90 = r1(h_quantile(h, 0.90) / 1000);
    q.p99 = r1(h_quantile(h, 0.99) / 1000);
    q.p999 = r1(h_quantile(h, 0.999) / 1000);
    q.max = r1((double)h->max / 1000);
    return q;
}

/* ------------------------------------------------------------------ error counters */

#define EMAP_MAX 24
struct emap {
    struct {
        char key[112];
        int64_t n;
    } e[EMAP_MAX];
    int n;
    int64_t other;
};

static void emap_add(struct emap *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].key, key)) {
            m->e[i].n++;
            return;
        }
    if (m->n < EMAP_MAX) {
        snprintf(m->e[m->n].key, sizeof m->e[m->n].key, "%s", key);
        m->e[m->n].n = 1;
        m->n++;
    } else {
        m->other++;
    }
}

static const char *errno_key(int err)
{
    switch (err) {
    case EMFILE:
    case ENFILE:
        return "too many open files (EMFILE)";
    case EADDRNOTAVAIL:
        return "cannot assign requested address (local ports exhausted)";
    case ECONNREFUSED:
        return "connection refused";
    case ECONNRESET:
        return "connection reset by peer";
    case EPIPE:
        return "broken pipe";
    case ETIMEDOUT:
        return "timeout";
    default:
        return strerror(err);
    }
}

/* ------------------------------------------------------------------ connections */

enum { ST_FREE, ST_CONNECTING, ST_UPGRADING, ST_AUTH, ST_OPEN, ST_CLOSING, ST_DEAD };
enum { K_IDLE, K_ACTIVE, K_PUB, K_KINDS }; /* K_PUB: the publisher in fan-out mode */

struct conn {
    int fd;
    uint8_t state, kind, busy, epout;
    uint8_t close_sent, frag_op, frag_on;
    int64_t t0; /* setup start (connect) or auth start */
    uint8_t *rbuf;
    uint32_t rlen, rcap;
    uint8_t *wbuf;
    uint32_t wlen, woff, wcap;
    uint8_t *frag;
    uint32_t fraglen, fragcap;
    /* active connections only */
    uint64_t *pend_id; /* 0 = free slot */
    int64_t *pend_ts;
    uint32_t *freestk;
    uint32_t nfree;
    uint64_t seq; /* fan-out subscribers: index of the next event expected */
    char accept[29]; /* expected Sec-WebSocket-Accept during the upgrade */
};

static struct conn *conns;
static long nconns_total;
static int epfd;

/* ramp bookkeeping per kind */
struct ramp {
    long base, n, next;
    long in_setup;
    long established, failed, not_attempted;
    int64_t deadline;
    double seconds;
    int started, done;
    int64_t t_begin;
};
static struct ramp ramps[K_KINDS];

/* global measurement state */
static struct {
    int load_running, closing_phase;
    int64_t m_start, m_end; /* window in mono ns */
    int64_t sent, ok, rpc_err, malformed, unknown_id, notifications, binary;
    int64_t warm_ok, warm_err;
    int64_t outstanding, outstanding_window;
    int64_t conn_lost, lost_in_flight;
    int64_t auth_ok, auth_fail;
    int64_t pings, closing_count;
    struct hist lat, connect, idle_connect, auth;
    struct emap rpc_errs, conn_errs, run_errs;
} G;

/* fan-out mode state: one entry per published event */
static struct {
    int64_t *send_ns;   /* CLOCK_MONOTONIC at send (also in the message as t_ns) */
    int64_t *send_rt;   /* CLOCK_REALTIME at send, for kernel receive timestamps */
    int64_t *expected;  /* subscribers alive when it was sent (0 after an error reply) */
    int64_t *got;       /* deliveries received */
    int64_t *last_ns;   /* latest delivery */
    uint8_t *acked;
    long sent, acked_ok, acked_err;
    int64_t subs_alive;
    int64_t expected_total, deliveries, out_of_order, other_notes, pub_notes;
    int64_t t_first, t_next, drain_end;
    int64_t kts_used, kts_skipped;
    /* per read: the subscriber events it contained, for the kernel timestamp */
    int rd_events, rd_frames;
    long rd_event;
    int64_t rd_lat;
    struct hist puback, kernel, lag, evdone;
    /* publish request = pre + seg[0] + value + seg[1] + ... ; values: 0 = n, 1 = t_ns */
    char *pre, *seg[8];
    size_t pre_len, seg_len[8];
    int seg_val[8], nseg;
    char *topic_q; /* topic as a JSON string, to compare with "method" */
    size_t topic_q_len;
} F;

static struct conn *publisher;

static uint8_t *req_prefix; /* {"jsonrpc":"2.0","method":M[,"params":P],"id": */
static size_t req_prefix_len;
static uint8_t *auth_payload;
static size_t auth_payload_len;
static uint8_t *sub_payload; /* fan-out: subscribe_events (id 0), the subscribers' setup call */
static size_t sub_payload_len;
static uint8_t *pub_auth_payload; /* fan-out: authenticate with --publish-token (id 0) */
static size_t pub_auth_payload_len;

/* The call that completes a connection's setup (id 0), or NULL if there is none. */
static const uint8_t *setup_payload(const struct conn *c, size_t *len)
{
    if (c->kind == K_PUB) {
        *len = pub_auth_payload_len;
        return pub_auth_payload;
    }
    if (c->kind == K_ACTIVE && opt.subscribe) {
        *len = sub_payload_len;
        return sub_payload;
    }
    *len = auth_payload_len;
    return opt.token ? auth_payload : NULL;
}

static const char *setup_name(const struct conn *c)
{
    return c->kind == K_ACTIVE && opt.subscribe ? "subscribe" : "auth";
}

static const char *kind_prefix(int kind)
{
    return kind == K_IDLE ? "idle: " : kind == K_PUB ? "publisher: " : "";
}

/* scratch buffers */
static uint8_t scratch[65536];
static uint8_t *obuf;
static size_t obuf_cap;

static void conn_kill(struct conn *c, const char *reason);

static void conn_free_bufs(struct conn *c)
{
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
    free(c->wbuf);
    c->wbuf = NULL;
    c->wlen = c->woff = c->wcap = 0;
    free(c->frag);
    c->frag = NULL;
    c->fraglen = c->fragcap = 0;
    c->frag_on = 0;
}

static void set_epout(struct conn *c, int on)
{
    if (c->epout == on || c->state == ST_DEAD)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->epout = (uint8_t)on;
}

/* Queue or write bytes. Returns 0, or -1 if the connection died. */
static int conn_send(struct conn *c, const uint8_t *buf, size_t len)
{
    if (c->state == ST_DEAD)
        return -1;
    size_t done = 0;
    if (c->wlen == c->woff) {
        c->wlen = c->woff = 0;
        while (done < len) {
            ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            char why[128];
            snprintf(why, sizeof why, "write: %s", errno_key(errno));
            conn_kill(c, why);
            return -1;
        }
    }
    if (done < len) {
        size_t rest = len - done;
        if (c->woff > 0) { /* compact what is still queued */
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff;
            c->woff = 0;
        }
        if ((size_t)c->wlen + rest > c->wcap) {
            size_t nc = c->wcap ? c->wcap : 4096;
            while (nc < (size_t)c->wlen + rest)
                nc *= 2;
            if (nc > (size_t)opt.max_msg * 4 + (1u << 20)) {
                conn_kill(c, "write: send buffer overflow (server not reading)");
                return -1;
            }
            c->wbuf = xrealloc(c->wbuf, nc);
            c->wcap = (uint32_t)nc;
        }
        memcpy(c->wbuf + c->wlen, buf + done, rest);
        c->wlen += (uint32_t)rest;
        set_epout(c, 1);
    }
    return 0;
}

static void conn_flush(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (uint32_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        char why[128];
        snprintf(why, sizeof why, "write: %s", errno_key(errno));
        conn_kill(c, why);
        return;
    }
    c->woff = c->wlen = 0;
    if (c->wcap > 65536) {
        free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    set_epout(c, 0);
}

/* Build one masked client frame into out; returns its length. */
static size_t ws_frame(uint8_t *out, int opcode, const uint8_t *payload, size_t len)
{
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t m[4];
    rnd_bytes(m, 4);
    memcpy(out + h, m, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = payload[i] ^ m[i & 3];
    return h + len;
}

static int ws_send(struct conn *c, int opcode, const uint8_t *payload, size_t len)
{
    uint8_t stackbuf[512];
    uint8_t *b = len + 14 <= sizeof stackbuf ? stackbuf : xmalloc(len + 14);
    size_t n = ws_frame(b, opcode, payload, len);
    int r = conn_send(c, b, n);
    if (b != stackbuf)
        free(b);
    return r;
}

static void ws_send_close(struct conn *c, int code, const char *reason)
{
    if (c->close_sent || c->state == ST_DEAD)
        return;
    uint8_t p[125];
    size_t n = 0;
    if (code > 0) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > 123)
            rl = 123;
        memcpy(p + 2, reason, rl);
        n += rl;
    }
    c->close_sent = 1;
    ws_send(c, 0x8, p, n);
}

/* Account for requests still pending on a dying active connection. In the
 * final close phase they stay counted as unanswered (count = 0). */
static void fail_pending(struct conn *c, int count)
{
    if (!c->pend_id)
        return;
    for (long s = 0; s < opt.inflight; s++) {
        if (!c->pend_id[s])
            continue;
        if (count)
            G.outstanding--;
        if (count && c->pend_ts[s] >= G.m_start && c->pend_ts[s] < G.m_end) {
            G.outstanding_window--;
            G.lost_in_flight++;
        }
        c->pend_id[s] = 0;
        c->freestk[c->nfree++] = (uint32_t)s;
    }
}

static void conn_kill(struct conn *c, const char *reason)
{
    if (c->state == ST_DEAD || c->state == ST_FREE)
        return;
    int prev = c->state;
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->state = ST_DEAD;
    struct ramp *r = &ramps[c->kind];
    char key[160];
    switch (prev) {
    case ST_CONNECTING:
    case ST_UPGRADING:
    case ST_AUTH:
        r->in_setup--;
        r->failed++;
        snprintf(key, sizeof key, "%s%s", kind_prefix(c->kind), reason);
        emap_add(&G.conn_errs, key);
        break;
    case ST_OPEN:
        if (!G.closing_phase) {
            G.conn_lost++;
            if (c->kind == K_ACTIVE && opt.subscribe)
                F.subs_alive--;
            snprintf(key, sizeof key, "%s%s", kind_prefix(c->kind), reason);
            emap_add(&G.run_errs, key);
        }
        fail_pending(c, 1);
        break;
    case ST_CLOSING:
        G.closing_count--;
        fail_pending(c, 0);
        break;
    }
    if (!c->busy)
        conn_free_bufs(c);
}

static void setup_ok(struct conn *c)
{
    struct ramp *r = &ramps[c->kind];
    c->state = ST_OPEN;
    r->in_setup--;
    r->established++;
    if (c->kind == K_ACTIVE && opt.subscribe)
        F.subs_alive++;
}

/* ------------------------------------------------------------------ requests */

static int load_fill(struct conn *c);
static void on_sub_message(struct conn *c, const char *msg, size_t len, const struct jspan *v, int64_t now);
static void on_pub_message(uint64_t id, const struct jspan *v, int64_t now);

static void on_rpc_response(struct conn *c, const char *msg, size_t len, int64_t now)
{
    static const char *const keys[] = {"id", "result", "error", "method", "params"};
    struct jspan v[5];
    if (!js_object_get(msg, msg + len, keys, 5, v)) {
        G.malformed++;
        return;
    }
    uint64_t id;
    int have_id = js_uint(v[0], &id);

    if (c->state == ST_AUTH) {
        if (!have_id || id != 0) {
            if (v[3].p && !v[1].p && !v[2].p)
                G.notifications++;
            return; /* skip notifications (and anything else) until the auth reply */
        }
        char why[160];
        const char *what = c->kind == K_PUB ? "auth" : setup_name(c);
        if (v[2].p) {
            static const char *const ekeys[] = {"code", "message"};
            struct jspan ev[2];
            char code[24], m[64];
            js_object_get(v[2].p, v[2].p + v[2].n, ekeys, 2, ev);
            js_display(ev[0], code, sizeof code);
            js_display(ev[1], m, sizeof m);
            snprintf(why, sizeof why, "%s: rpc error %s %s", what, code, m);
        } else if (!v[1].p) {
            snprintf(why, sizeof why, "%s: response without result", what);
        } else {
            /* authenticate answers {"authenticated": true, ...}, subscribe_events {"subscribed": true, ...} */
            const char *flag = strcmp(what, "subscribe") ? "authenticated" : "subscribed";
            const char *const akeys[] = {flag};
            struct jspan av[1];
            int isobj = js_object_get(v[1].p, v[1].p + v[1].n, akeys, 1, av);
            if (isobj && av[0].p && !(av[0].n == 4 && !memcmp(av[0].p, "true", 4))) {
                snprintf(why, sizeof why, "%s: %s=false", what, flag);
            } else {
                if (c->kind != K_PUB) {
                    G.auth_ok++;
                    h_record(&G.auth, now - c->t0);
                }
                setup_ok(c);
                return;
            }
        }
        if (c->kind != K_PUB)
            G.auth_fail++;
        ws_send_close(c, 1000, "");
        conn_kill(c, why);
        return;
    }

    if (opt.subscribe && c->kind == K_ACTIVE) {
        on_sub_message(c, msg, len, v, now);
        return;
    }
    if (c->kind == K_PUB) {
        on_pub_message(have_id ? id : 0, v, now);
        return;
    }

    if (c->kind != K_ACTIVE || !c->pend_id) {
        if (v[3].p && !v[1].p && !v[2].p)
            G.notifications++;
        else
            G.unknown_id++;
        return;
    }
    if (!have_id) {
        if (v[3].p && !v[1].p && !v[2].p) {
            G.notifications++;
            return;
        }
        if (v[2].p) { /* error with null id: charge it to the oldest pending request */
            uint64_t best = 0;
            for (long s = 0; s < opt.inflight; s++)
                if (c->pend_id[s] && (!best || c->pend_id[s] < best))
                    best = c->pend_id[s];
            if (best) {
                id = best;
                have_id = 1;
            }
        }
        if (!have_id) {
            G.malformed++;
            return;
        }
    }
    uint64_t slot = id % (uint64_t)opt.inflight;
    if (id == 0 || c->pend_id[slot] != id) {
        G.unknown_id++;
        return;
    }
    int64_t ts = c->pend_ts[slot];
    c->pend_id[slot] = 0;
    c->freestk[c->nfree++] = (uint32_t)slot;
    G.outstanding--;
    int in_win = ts >= G.m_start && ts < G.m_end;
    if (in_win)
        G.outstanding_window--;
    if (v[2].p || !v[1].p) {
        if (in_win) {
            G.rpc_err++;
            char key[112];
            if (v[2].p) {
                static const char *const ekeys[] = {"code", "message"};
                struct jspan ev[2];
                char code[24], m[64];
                js_object_get(v[2].p, v[2].p + v[2].n, ekeys, 2, ev);
                js_display(ev[0], code, sizeof code);
                js_display(ev[1], m, sizeof m);
                snprintf(key, sizeof key, "%s %s", code, m);
            } else {
                snprintf(key, sizeof key, "response without result");
            }
            emap_add(&G.rpc_errs, key);
        } else if (ts < G.m_start) {
            G.warm_err++;
        }
        return;
    }
    if (in_win) {
        G.ok++;
        h_record(&G.lat, now - ts);
    } else if (ts < G.m_start) {
        G.warm_ok++;
    }
}

/* Send requests until the connection has --inflight outstanding. One write. */
static int load_fill(struct conn *c)
{
    if (!G.load_running || c->state != ST_OPEN || c->kind != K_ACTIVE || !c->nfree)
        return 0;
    int64_t ts = mono_ns();
    if (ts >= G.m_end)
        return 0;
    size_t o = 0;
    size_t maxframe = req_prefix_len + 21 + 1 + 14;
    uint8_t payload[4096 + 64];
    uint8_t *pl = req_prefix_len + 32 <= sizeof payload ? payload : xmalloc(req_prefix_len + 32);
    while (c->nfree) {
        if (o + maxframe > obuf_cap) {
            if (conn_send(c, obuf, o) < 0)
                break;
            o = 0;
        }
        uint32_t slot = c->freestk[--c->nfree];
        c->seq++;
        uint64_t id = c->seq * (uint64_t)opt.inflight + slot;
        c->pend_id[slot] = id;
        c->pend_ts[slot] = ts;
        G.outstanding++;
        if (ts >= G.m_start) {
            G.outstanding_window++;
            G.sent++;
        }
        memcpy(pl, req_prefix, req_prefix_len);
        size_t n = req_prefix_len;
        n += (size_t)sprintf((char *)pl + n, "%" PRIu64 "}", id);
        o += ws_frame(obuf + o, 0x1, pl, n);
    }
    if (pl != payload)
        free(pl);
    if (o && c->state != ST_DEAD)
        conn_send(c, obuf, o);
    return 0;
}

/* ------------------------------------------------------------------ fan-out */

/* A message on a subscriber. v = id, result, error, method, params. */
static void on_sub_message(struct conn *c, const char *msg, size_t len, const struct jspan *v, int64_t now)
{
    (void)msg;
    (void)len;
    if (!v[3].p || v[1].p || v[2].p || (v[0].p && !(v[0].n == 4 && !memcmp(v[0].p, "null", 4)))) {
        G.unknown_id++; /* a response: a subscriber sends nothing after subscribing */
        return;
    }
    if (v[3].n != F.topic_q_len || memcmp(v[3].p, F.topic_q, F.topic_q_len)) {
        F.other_notes++; /* another notification (e.g. a legacy broadcast) */
        return;
    }
    static const char *const pkeys[] = {"n", "t_ns"};
    struct jspan pv[2];
    uint64_t n, t;
    if (!v[4].p || !js_object_get(v[4].p, v[4].p + v[4].n, pkeys, 2, pv) || !js_uint(pv[0], &n) ||
        !js_uint(pv[1], &t) || n >= (uint64_t)F.sent || (int64_t)t != F.send_ns[n]) {
        G.malformed++; /* not one of our events, or t_ns/n do not match what was sent */
        return;
    }
    if (n < c->seq) { /* per connection the events must arrive once and in order */
        F.out_of_order++;
        return;
    }
    c->seq = n + 1;
    int64_t lat = now - (int64_t)t;
    h_record(&G.lat, lat);
    F.deliveries++;
    F.got[n]++;
    if (now > F.last_ns[n])
        F.last_ns[n] = now;
    F.rd_events++;
    F.rd_event = (long)n;
    F.rd_lat = lat;
}

/* A message on the publisher: the reply to publish call id = index + 1. */
static void on_pub_message(uint64_t id, const struct jspan *v, int64_t now)
{
    if (!id && v[3].p && !v[1].p && !v[2].p) {
        F.pub_notes++;
        return;
    }
    if (id == 0 || id > (uint64_t)F.sent || F.acked[id - 1]) {
        G.unknown_id++;
        return;
    }
    long k = (long)id - 1;
    F.acked[k] = 1;
    h_record(&F.puback, now - F.send_ns[k]);
    if (v[2].p || !v[1].p) {
        F.acked_err++;
        F.expected_total -= F.expected[k]; /* nothing was published: nothing is expected */
        F.expected[k] = 0;
        char key[112];
        if (v[2].p) {
            static const char *const ekeys[] = {"code", "message"};
            struct jspan ev[2];
            char code[24], m[64];
            js_object_get(v[2].p, v[2].p + v[2].n, ekeys, 2, ev);
            js_display(ev[0], code, sizeof code);
            js_display(ev[1], m, sizeof m);
            snprintf(key, sizeof key, "publish: %s %s", code, m);
        } else {
            snprintf(key, sizeof key, "publish: response without result");
        }
        emap_add(&G.rpc_errs, key);
        return;
    }
    F.acked_ok++;
}

/* Send the next publish call. Its send time is taken just before the frame is built. */
static void publish_one(void)
{
    long k = F.sent;
    struct conn *p = publisher;
    int64_t ts = mono_ns(), rt = real_ns();
    char buf[8192];
    size_t o = 0;
    memcpy(buf, F.pre, F.pre_len);
    o = F.pre_len;
    for (int i = 0; i < F.nseg; i++) {
        if (i > 0)
            o += (size_t)sprintf(buf + o, "%" PRId64, F.seg_val[i - 1] ? ts : (int64_t)k);
        memcpy(buf + o, F.seg[i], F.seg_len[i]);
        o += F.seg_len[i];
    }
    o += (size_t)sprintf(buf + o, ",\"id\":%ld}", k + 1);
    F.send_ns[k] = ts;
    F.send_rt[k] = rt;
    F.expected[k] = F.subs_alive;
    F.expected_total += F.subs_alive;
    F.sent++;
    if (!p || p->state != ST_OPEN || ws_send(p, 0x1, (const uint8_t *)buf, o) < 0) {
        /* the publisher is gone: this event was not published */
        F.expected_total -= F.expected[k];
        F.expected[k] = 0;
        F.acked[k] = 1;
        F.acked_err++;
        emap_add(&G.rpc_errs, "publish: publisher connection gone");
    }
}

/* ------------------------------------------------------------------ frames */

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* fast path: 8 ASCII bytes at a time */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp;
        if (b >= 0xC2 && b <= 0xDF)
            len = 2, cp = b & 0x1F;
        else if (b >= 0xE0 && b <= 0xEF)
            len = 3, cp = b & 0x0F;
        else if (b >= 0xF0 && b <= 0xF4)
            len = 4, cp = b & 0x07;
        else
            return 0;
        if (i + (size_t)len > n)
            return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

static void protocol_error(struct conn *c, int code, const char *why)
{
    char key[128];
    snprintf(key, sizeof key, "protocol error: %s", why);
    ws_send_close(c, code, why);
    conn_kill(c, key);
}

static void deliver(struct conn *c, int op, const uint8_t *p, size_t n, int64_t now)
{
    if (op == 0x2) {
        G.binary++;
        return;
    }
    if (!utf8_valid(p, n)) {
        protocol_error(c, 1007, "invalid UTF-8 in text message");
        return;
    }
    if (c->state == ST_CLOSING)
        return;
    on_rpc_response(c, (const char *)p, n, now);
}

static void handle_frame(struct conn *c, int fin, int op, const uint8_t *p, size_t n, int64_t now)
{
    F.rd_frames++;
    switch (op) {
    case 0x9: /* ping -> pong with the same payload */
        G.pings++;
        if (!c->close_sent)
            ws_send(c, 0xA, p, n);
        return;
    case 0xA:
        return;
    case 0x8: {
        int code = 1005;
        char reason[64] = "";
        if (n == 1) {
            protocol_error(c, 1002, "close frame with 1-byte payload");
            return;
        }
        if (n >= 2) {
            code = p[0] << 8 | p[1];
            if (code < 1000 || (code >= 1004 && code <= 1006) || (code >= 1015 && code < 3000) || code >= 5000) {
                protocol_error(c, 1002, "invalid close code");
                return;
            }
            if (!utf8_valid(p + 2, n - 2)) {
                protocol_error(c, 1007, "invalid UTF-8 in close reason");
                return;
            }
            size_t rl = n - 2 < sizeof reason - 1 ? n - 2 : sizeof reason - 1;
            for (size_t i = 0; i < rl; i++)
                reason[i] = (p[2 + i] >= 0x20 && p[2 + i] < 0x7f) ? (char)p[2 + i] : '_';
            reason[rl] = 0;
        }
        if (c->state == ST_CLOSING) { /* the reply to our close: done */
            conn_kill(c, "closed");
            return;
        }
        if (!c->close_sent) { /* echo the status code */
            uint8_t echo[2] = {(uint8_t)(code >> 8), (uint8_t)code};
            c->close_sent = 1;
            ws_send(c, 0x8, echo, code == 1005 ? 0 : 2);
        }
        char why[128];
        snprintf(why, sizeof why, "closed by peer: %d%s%s", code, reason[0] ? " " : "", reason);
        conn_kill(c, why);
        return;
    }
    case 0x1:
    case 0x2:
        if (c->frag_on) {
            protocol_error(c, 1002, "data frame inside a fragmented message");
            return;
        }
        if (fin) {
            deliver(c, op, p, n, now);
            return;
        }
        c->frag_on = 1;
        c->frag_op = (uint8_t)op;
        c->fraglen = 0;
        /* fall through to append */
        __attribute__((fallthrough));
    case 0x0:
        if (!c->frag_on) {
            protocol_error(c, 1002, "continuation frame without a message");
            return;
        }
        if ((uint64_t)c->fraglen + n > (uint64_t)opt.max_msg) {
            protocol_error(c, 1009, "message too big");
            return;
        }
        if (c->fraglen + n > c->fragcap) {
            size_t nc = c->fragcap ? c->fragcap : 4096;
            while (nc < c->fraglen + n)
                nc *= 2;
            c->frag = xrealloc(c->frag, nc);
            c->fragcap = (uint32_t)nc;
        }
        memcpy(c->frag + c->fraglen, p, n);
        c->fraglen += (uint32_t)n;
        if (fin && op == 0x0) {
            c->frag_on = 0;
            deliver(c, c->frag_op, c->frag, c->fraglen, now);
            if (c->state != ST_DEAD) {
                c->fraglen = 0;
                if (c->fragcap > 65536) {
                    free(c->frag);
                    c->frag = NULL;
                    c->fragcap = 0;
                }
            }
        }
        return;
    default:
        protocol_error(c, 1002, "reserved opcode");
        return;
    }
}

/* Parse complete frames from d[0..len). Returns bytes consumed. *need is set to
 * the total size of an incomplete frame at the end (0 if unknown). */
static size_t ws_parse(struct conn *c, uint8_t *d, size_t len, int64_t now, size_t *need)
{
    size_t off = 0;
    *need = 0;
    while (c->state != ST_DEAD) {
        size_t avail = len - off;
        if (avail < 2)
            break;
        uint8_t b0 = d[off], b1 = d[off + 1];
        int fin = b0 & 0x80, rsv = b0 & 0x70, op = b0 & 0x0F, masked = b1 & 0x80;
        uint64_t plen = b1 & 0x7F;
        size_t h = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)d[off + 2] << 8 | d[off + 3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | d[off + 2 + i];
            h = 10;
            if (plen >> 63) {
                protocol_error(c, 1002, "64-bit length with the high bit set");
                break;
            }
        }
        if (rsv) {
            protocol_error(c, 1002, "RSV bits set without an extension");
            break;
        }
        if (masked) {
            protocol_error(c, 1002, "masked frame from the server");
            break;
        }
        if (op >= 0x8 && (!fin || plen > 125)) {
            protocol_error(c, 1002, "bad control frame");
            break;
        }
        if (plen > (uint64_t)opt.max_msg) {
            protocol_error(c, 1009, "message too big");
            break;
        }
        if (avail - h < plen) {
            *need = h + (size_t)plen;
            break;
        }
        uint8_t *p = d + off + h;
        off += h + (size_t)plen;
        handle_frame(c, fin, op, p, (size_t)plen, now);
    }
    return off;
}

/* ------------------------------------------------------------------ handshake */

static void start_upgrade(struct conn *c)
{
    uint8_t key[16];
    char key64[32];
    rnd_bytes(key, sizeof key);
    base64_encode(key, sizeof key, key64);
    /* expected accept = base64(SHA1(key + GUID)) */
    char cat[64];
    int cl = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key64);
    uint8_t dig[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, (size_t)cl, dig);
    base64_encode(dig, sizeof dig, c->accept);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "User-Agent: " VERSION "\r\n"
                     "\r\n",
                     url_path, url_hostport, key64);
    c->state = ST_UPGRADING;
    conn_send(c, (const uint8_t *)req, (size_t)n);
}

static int header_has_token(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tl && !strncasecmp(s, tok, tl))
            return 1;
    }
    return 0;
}

/* Returns header bytes consumed (>0) when complete and valid, 0 if more data is
 * needed, -1 if the connection was failed. */
static long parse_upgrade(struct conn *c, uint8_t *d, size_t len, int64_t now)
{
    uint8_t *end = memmem(d, len, "\r\n\r\n", 4);
    if (!end) {
        if (len > 16384) {
            conn_kill(c, "bad handshake: response headers too long");
            return -1;
        }
        return 0;
    }
    size_t hl = (size_t)(end - d) + 4;
    char *h = xmalloc(hl + 1);
    memcpy(h, d, hl);
    h[hl] = 0;
    char why[160] = "";
    int code = 0, ok_up = 0, ok_conn = 0, ok_acc = 0;
    char *save = NULL;
    char *line = strtok_r(h, "\r\n", &save);
    if (!line || strncmp(line, "HTTP/1.", 7) || sscanf(line + 8, " %d", &code) != 1) {
        snprintf(why, sizeof why, "bad handshake: malformed status line");
        goto fail;
    }
    if (code != 101) {
        snprintf(why, sizeof why, "bad handshake: HTTP %d", code);
        goto fail;
    }
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        char *name = line, *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        char *ve = val + strlen(val);
        while (ve > val && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = 0;
        if (!strcasecmp(name, "upgrade"))
            ok_up = !strcasecmp(val, "websocket");
        else if (!strcasecmp(name, "connection"))
            ok_conn = header_has_token(val, "upgrade");
        else if (!strcasecmp(name, "sec-websocket-accept"))
            ok_acc = !strcmp(val, c->accept);
        else if (!strcasecmp(name, "sec-websocket-extensions") && *val) {
            snprintf(why, sizeof why, "bad handshake: unrequested extension");
            goto fail;
        } else if (!strcasecmp(name, "sec-websocket-protocol") && *val) {
            snprintf(why, sizeof why, "bad handshake: unrequested subprotocol");
            goto fail;
        }
    }
    if (!ok_up || !ok_conn || !ok_acc) {
        snprintf(why, sizeof why, "bad handshake: %s", !ok_acc ? "missing or wrong Sec-WebSocket-Accept"
                                                       : !ok_up ? "missing Upgrade: websocket"
                                                                : "missing Connection: Upgrade");
        goto fail;
    }
    free(h);
    if (c->kind != K_PUB)
        h_record(c->kind == K_IDLE ? &G.idle_connect : &G.connect, now - c->t0);
    size_t splen;
    const uint8_t *sp = setup_payload(c, &splen);
    if (sp) {
        c->state = ST_AUTH;
        c->t0 = now;
        if (ws_send(c, 0x1, sp, splen) < 0)
            return -1;
    } else {
        setup_ok(c);
    }
    return (long)hl;
fail:
    free(h);
    conn_kill(c, why);
    return -1;
}

/* ------------------------------------------------------------------ I/O events */

static void on_readable(struct conn *c)
{
    uint8_t *buf;
    size_t space;
    int use_scratch = c->rlen == 0;
    if (use_scratch) {
        buf = scratch;
        space = sizeof scratch;
    } else {
        if (c->rcap - c->rlen < 16384) {
            size_t nc = c->rcap * 2;
            if (nc < (size_t)c->rlen + 65536)
                nc = (size_t)c->rlen + 65536;
            if (nc > (size_t)opt.max_msg + 65536)
                nc = (size_t)opt.max_msg + 65536;
            if (nc > c->rcap) {
                c->rbuf = xrealloc(c->rbuf, nc);
                c->rcap = (uint32_t)nc;
            }
        }
        buf = c->rbuf + c->rlen;
        space = c->rcap - c->rlen;
    }
    ssize_t n;
    int64_t kts = 0; /* kernel receive timestamp (CLOCK_REALTIME) of the last segment read */
    int want_kts = opt.subscribe && opt.kernel_ts && c->kind == K_ACTIVE;
    if (want_kts) {
        struct iovec iov = {.iov_base = buf, .iov_len = space};
        union {
            char b[CMSG_SPACE(sizeof(struct timespec)) * 2];
            struct cmsghdr align;
        } cb;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b};
        n = recvmsg(c->fd, &mh, 0);
        if (n > 0)
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec kt;
                    memcpy(&kt, CMSG_DATA(cm), sizeof kt);
                    kts = (int64_t)kt.tv_sec * 1000000000LL + kt.tv_nsec;
                }
    } else {
        n = recv(c->fd, buf, space, 0);
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        char why[128];
        snprintf(why, sizeof why, "read: %s", errno_key(errno));
        conn_kill(c, c->state == ST_CLOSING ? "closed" : why);
        return;
    }
    if (n == 0) {
        conn_kill(c, c->state == ST_CLOSING ? "closed" : "read: EOF (connection closed by peer)");
        return;
    }
    int64_t now = mono_ns();
    uint8_t *d = use_scratch ? scratch : c->rbuf;
    size_t total = use_scratch ? (size_t)n : (size_t)c->rlen + (size_t)n;
    size_t off = 0, need = 0;
    c->busy = 1;
    F.rd_events = F.rd_frames = 0;
    if (c->state == ST_UPGRADING) {
        long r = parse_upgrade(c, d, total, now);
        if (r > 0)
            off = (size_t)r;
    }
    if (c->state != ST_DEAD && c->state != ST_UPGRADING)
        off += ws_parse(c, d + off, total - off, now, &need);
    c->busy = 0;
    if (F.rd_events) {
        /* The kernel timestamp belongs to the last segment of this read, so it dates a delivery
         * only when the read held exactly that one event (and all of it). */
        if (F.rd_events == 1 && F.rd_frames == 1 && kts && total == off) {
            int64_t k = kts - F.send_rt[F.rd_event];
            h_record(&F.kernel, k);
            h_record(&F.lag, F.rd_lat - k);
            F.kts_used++;
        } else if (want_kts) {
            F.kts_skipped += F.rd_events;
        }
    }
    if (c->state == ST_DEAD) {
        conn_free_bufs(c);
        return;
    }
    size_t left = total - off;
    if (left == 0) {
        c->rlen = 0;
        if (c->rbuf && (c->kind == K_IDLE || c->rcap > 131072)) {
            free(c->rbuf);
            c->rbuf = NULL;
            c->rcap = 0;
        }
    } else if (use_scratch) {
        size_t cap = left > 4096 ? left : 4096;
        if (need > cap)
            cap = need;
        if (cap > c->rcap) {
            c->rbuf = xrealloc(c->rbuf, cap);
            c->rcap = (uint32_t)cap;
        }
        memcpy(c->rbuf, d + off, left);
        c->rlen = (uint32_t)left;
    } else {
        memmove(c->rbuf, c->rbuf + off, left);
        c->rlen = (uint32_t)left;
    }
    if (G.load_running)
        load_fill(c);
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->state == ST_DEAD || c->state == ST_FREE)
        return;
    if (c->state == ST_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
        if (err) {
            char why[128];
            snprintf(why, sizeof why, "connect: %s", errno_key(err));
            conn_kill(c, why);
            return;
        }
        set_epout(c, 0);
        start_upgrade(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
    if (c->state != ST_DEAD && (ev & EPOLLOUT))
        conn_flush(c);
}

/* Start the TCP connect of one connection. */
static void conn_start(struct conn *c, int kind)
{
    struct ramp *r = &ramps[kind];
    memset(c, 0, sizeof *c);
    c->kind = (uint8_t)kind;
    c->fd = -1;
    c->t0 = mono_ns();
    int fd = socket(srv_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        char why[128];
        snprintf(why, sizeof why, "%s%s", kind == K_IDLE ? "idle: " : "", errno_key(errno));
        emap_add(&G.conn_errs, why);
        r->failed++;
        c->state = ST_DEAD;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.subscribe && opt.kernel_ts && kind == K_ACTIVE)
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    c->fd = fd;
    c->state = ST_CONNECTING;
    r->in_setup++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->epout = 1;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        char why[128];
        snprintf(why, sizeof why, "epoll: %s", strerror(errno));
        conn_kill(c, why);
        return;
    }
    if (connect(fd, (struct sockaddr *)&srv_addr, srv_addrlen) < 0 && errno != EINPROGRESS) {
        char why[128];
        snprintf(why, sizeof why, "connect: %s", errno_key(errno));
        conn_kill(c, why);
        return;
    }
    if (kind == K_ACTIVE && !opt.subscribe) {
        long k = opt.inflight;
        c->pend_id = calloc((size_t)k, sizeof *c->pend_id);
        c->pend_ts = calloc((size_t)k, sizeof *c->pend_ts);
        c->freestk = xmalloc((size_t)k * sizeof *c->freestk);
        if (!c->pend_id || !c->pend_ts)
            die("out of memory");
        for (long s = 0; s < k; s++)
            c->freestk[s] = (uint32_t)(k - 1 - s); /* slot 0 popped first */
        c->nfree = (uint32_t)k;
    }
}

/* ------------------------------------------------------------------ /proc */

struct psample {
    int ok;
    long rss_kb, hwm_kb;
    long long ticks;
};

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t tot = 0;
    while ((size_t)tot < cap - 1) {
        ssize_t n = read(fd, buf + tot, cap - 1 - (size_t)tot);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        tot += n;
    }
    close(fd);
    buf[tot] = 0;
    return tot;
}

static long long stat_ticks(const char *path)
{
    char b[4096];
    if (read_file(path, b, sizeof b) <= 0)
        return -1;
    char *p = strrchr(b, ')');
    if (!p)
        return -1;
    /* fields after ')' start with field 3 (state); utime = 14, stime = 15 */
    unsigned long long ut = 0, st = 0;
    int field = 2;
    char *save = NULL;
    for (char *t = strtok_r(p + 1, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 14)
            ut = strtoull(t, NULL, 10);
        else if (field == 15) {
            st = strtoull(t, NULL, 10);
            return (long long)(ut + st);
        }
    }
    return -1;
}

static struct psample proc_sample(long pid)
{
    struct psample s = {0};
    if (pid <= 0)
        return s;
    char path[64], b[8192];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (read_file(path, b, sizeof b) <= 0)
        return s;
    s.ok = 1;
    for (char *line = b; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (!strncmp(line, "VmRSS:", 6))
            s.rss_kb = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            s.hwm_kb = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "State:", 6) && strchr(line + 6, 'Z'))
            s.ok = 0;
        line = nl ? nl + 1 : NULL;
    }
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    s.ticks = stat_ticks(path);
    return s;
}

static double rusage_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ results */

static struct {
    int have;
    int alive_end;
    long rss_start, rss_connected, rss_max, rss_end, hwm_end;
    long long ticks0, ticks1;
    int64_t t_ticks0, t_ticks1;
    double cpu_pct, us_per_req;
} S;

static double client_cpu0 = -1, client_cpu_pct;
static const char *aborted;
static int64_t t_measure0, t_measure1;

static long count_alive(int kind)
{
    long n = 0;
    for (long i = 0; i < ramps[kind].next; i++) {
        struct conn *c = &conns[ramps[kind].base + i];
        if (c->state == ST_OPEN)
            n++;
    }
    return n;
}

static long alive_end[K_KINDS] = {-1, -1, -1};

static void emap_json(FILE *f, const char *name, const struct emap *m)
{
    if (!m->n)
        return;
    fprintf(f, ",\"%s\":{", name);
    for (int i = 0; i < m->n; i++) {
        if (i)
            fputc(',', f);
        fjson_str(f, m->e[i].key);
        fprintf(f, ":%" PRId64, m->e[i].n);
    }
    if (m->other)
        fprintf(f, ",\"other\":%" PRId64, m->other);
    fputc('}', f);
}

static void quant_json(FILE *f, const char *name, struct quant q)
{
    fprintf(f, ",\"%s\":{\"n\":%" PRIu64 ",\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}",
            name, q.n, q.mean, q.p50, q.p90, q.p99, q.p999, q.max);
}

static void emap_human(const char *title, const struct emap *m)
{
    if (!m->n)
        return;
    printf("  %s:\n", title);
    for (int i = 0; i < m->n; i++)
        printf("    %8" PRId64 "  %s\n", m->e[i].n, m->e[i].key);
    if (m->other)
        printf("    %8" PRId64 "  other\n", m->other);
}

static void print_fanout_results(void)
{
    struct quant lq = h_summary(&G.lat), cq = h_summary(&G.connect), sq = h_summary(&G.auth);
    struct quant pq = h_summary(&F.puback), kq = h_summary(&F.kernel), gq = h_summary(&F.lag);
    long incomplete = 0;
    for (long k = 0; k < F.sent; k++) {
        if (F.got[k] > 0)
            h_record(&F.evdone, F.last_ns[k] - F.send_ns[k]);
        if (F.got[k] < F.expected[k])
            incomplete++;
    }
    struct quant eq = h_summary(&F.evdone);
    int64_t lost = F.expected_total - F.deliveries;
    if (lost < 0)
        lost = 0;
    long sub_alive = alive_end[K_ACTIVE] >= 0 ? alive_end[K_ACTIVE] : count_alive(K_ACTIVE);
    double pub_s = t_measure0 && t_measure1 ? (t_measure1 - t_measure0) / 1e9 : 0;
    if (opt.json) {
        FILE *f = stdout;
        fprintf(f, "{\"tool\":\"" VERSION "\",\"mode\":\"fanout\"");
        if (opt.label) {
            fputs(",\"label\":", f);
            fjson_str(f, opt.label);
        }
        fputs(",\"url\":", f);
        fjson_str(f, opt.url);
        fputs(",\"topic\":", f);
        fjson_str(f, opt.subscribe);
        fputs(",\"publish_method\":", f);
        fjson_str(f, opt.publish_method);
        fprintf(f, ",\"conns\":%ld,\"conns_established\":%ld,\"conn_failures\":%ld,\"conn_not_attempted\":%ld"
                   ",\"active_alive_end\":%ld,\"idle\":%ld,\"idle_established\":%ld,\"publisher_ok\":%s",
                opt.conns, ramps[K_ACTIVE].established, ramps[K_ACTIVE].failed, ramps[K_ACTIVE].not_attempted,
                sub_alive, opt.idle, ramps[K_IDLE].established, ramps[K_PUB].established ? "true" : "false");
        emap_json(f, "conn_errors", &G.conn_errs);
        quant_json(f, "connect_us", cq);
        quant_json(f, "subscribe_us", sq);
        fprintf(f, ",\"ramp_s\":%.3f,\"subscribe_ok\":%" PRId64 ",\"subscribe_fail\":%" PRId64, ramps[K_ACTIVE].seconds,
                G.auth_ok, G.auth_fail);
        fprintf(f, ",\"publish_interval_ms\":%g,\"events_sent\":%ld,\"events_ok\":%ld,\"events_failed\":%ld"
                   ",\"publish_s\":%.3f",
                opt.publish_interval * 1000, F.sent, F.acked_ok, F.acked_err + (F.sent - F.acked_ok - F.acked_err), pub_s);
        emap_json(f, "rpc_errors", &G.rpc_errs);
        quant_json(f, "publish_ack_us", pq);
        fprintf(f, ",\"deliveries\":%" PRId64 ",\"expected\":%" PRId64 ",\"lost\":%" PRId64 ",\"out_of_order\":%" PRId64
                   ",\"events_incomplete\":%ld,\"conn_lost\":%" PRId64,
                F.deliveries, F.expected_total, lost, F.out_of_order, incomplete, G.conn_lost);
        emap_json(f, "run_errors", &G.run_errs);
        fprintf(f, ",\"malformed\":%" PRId64 ",\"other_notifications\":%" PRId64 ",\"server_pings\":%" PRId64,
                G.malformed + G.unknown_id + G.binary, F.other_notes + F.pub_notes + G.notifications, G.pings);
        quant_json(f, "latency_us", lq);
        quant_json(f, "event_complete_us", eq);
        quant_json(f, "kernel_arrival_us", kq);
        quant_json(f, "client_lag_us", gq);
        fprintf(f, ",\"kernel_ts_skipped\":%" PRId64, F.kts_skipped);
        if (S.have)
            fprintf(f, ",\"server\":{\"pid\":%ld,\"rss_start_kb\":%ld,\"rss_connected_kb\":%ld,\"rss_max_sampled_kb\":%ld,"
                       "\"rss_end_kb\":%ld,\"hwm_end_kb\":%ld,\"cpu_pct\":%.1f,\"cpu_us_per_delivery\":%.1f,\"alive_end\":%s}",
                    opt.pid, S.rss_start, S.rss_connected, S.rss_max, S.rss_end, S.hwm_end, S.cpu_pct, S.us_per_req,
                    S.alive_end ? "true" : "false");
        fprintf(f, ",\"client_cpu_pct\":%.1f", client_cpu_pct);
        if (aborted) {
            fputs(",\"aborted\":", f);
            fjson_str(f, aborted);
        }
        fputs("}\n", f);
        fflush(f);
        return;
    }
    printf("loadgen fan-out  %s  topic=%s  subscribers=%ld  events=%ld every %gms via %s%s%s\n", opt.url, opt.subscribe,
           opt.conns, opt.publish_count, opt.publish_interval * 1000, opt.publish_method, opt.label ? "  label=" : "",
           opt.label ? opt.label : "");
    if (aborted)
        printf("ABORTED: %s (partial results)\n", aborted);
    printf("  subscribers   %ld/%ld subscribed, %ld failed, %ld not attempted (ramp %.2fs); alive at end %ld, lost %" PRId64 "\n",
           ramps[K_ACTIVE].established, opt.conns, ramps[K_ACTIVE].failed, ramps[K_ACTIVE].not_attempted,
           ramps[K_ACTIVE].seconds, sub_alive, G.conn_lost);
    printf("  setup µs      connect p50 %.1f  p99 %.1f; subscribe p50 %.1f  p99 %.1f  max %.1f\n", cq.p50, cq.p99, sq.p50,
           sq.p99, sq.max);
    printf("  publisher     %s; %ld sent, %ld ok, %ld failed in %.2fs; reply µs p50 %.1f  p99 %.1f  max %.1f\n",
           ramps[K_PUB].established ? "authenticated" : "NOT CONNECTED", F.sent, F.acked_ok,
           F.acked_err + (F.sent - F.acked_ok - F.acked_err), pub_s, pq.p50, pq.p99, pq.max);
    printf("  deliveries    %" PRId64 " of %" PRId64 " expected; lost %" PRId64 ", out of order/duplicate %" PRId64
           ", events incomplete %ld\n",
           F.deliveries, F.expected_total, lost, F.out_of_order, incomplete);
    printf("  latency µs    mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (publish send -> subscriber read)\n",
           lq.mean, lq.p50, lq.p90, lq.p99, lq.p999, lq.max);
    printf("  per event µs  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (send -> last subscriber's read)\n", eq.p50, eq.p90,
           eq.p99, eq.max);
    if (opt.kernel_ts)
        printf("  kernel µs     p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (send -> in the subscriber's socket; %" PRIu64
               " deliveries, %" PRId64 " skipped)\n"
               "  client lag µs p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (in the socket -> read by loadgen)\n",
               kq.p50, kq.p90, kq.p99, kq.p999, kq.max, kq.n, F.kts_skipped, gq.p50, gq.p90, gq.p99, gq.p999, gq.max);
    printf("  other         malformed %" PRId64 ", other notifications %" PRId64 ", server pings %" PRId64 "\n",
           G.malformed + G.unknown_id + G.binary, F.other_notes + F.pub_notes + G.notifications, G.pings);
    emap_human("connection errors", &G.conn_errs);
    emap_human("publish errors", &G.rpc_errs);
    emap_human("errors during the run", &G.run_errs);
    if (S.have)
        printf("  server pid %ld RSS MB idle %.1f -> connected %.1f -> end %.1f (max sampled %.1f, HWM %.1f)%s\n"
               "                CPU %.1f %% while publishing = %.1f µs per delivery\n",
               opt.pid, S.rss_start / 1024.0, S.rss_connected / 1024.0, S.rss_end / 1024.0, S.rss_max / 1024.0,
               S.hwm_end / 1024.0, S.alive_end ? "" : "  (server gone at the end!)", S.cpu_pct, S.us_per_req);
    printf("  client        CPU %.1f %% of one core while publishing\n", client_cpu_pct);
    fflush(stdout);
}

static void print_results(void)
{
    if (opt.subscribe) {
        print_fanout_results();
        return;
    }
    double win = 0; /* seconds of window actually covered */
    if (t_measure0 && t_measure1) {
        win = opt.duration;
        if (aborted && (t_measure1 - G.m_start) / 1e9 < win)
            win = (t_measure1 - G.m_start) / 1e9;
    }
    struct quant lq = h_summary(&G.lat), cq = h_summary(&G.connect), aq = h_summary(&G.auth);
    struct quant iq = h_summary(&G.idle_connect);
    double rps = win > 0 ? r1((double)G.ok / win) : 0;
    int64_t unanswered = G.outstanding_window;
    int64_t errors = G.rpc_err + unanswered + G.lost_in_flight;
    long act_alive = alive_end[K_ACTIVE] >= 0 ? alive_end[K_ACTIVE] : count_alive(K_ACTIVE);
    long idle_alive = alive_end[K_IDLE] >= 0 ? alive_end[K_IDLE] : count_alive(K_IDLE);
    if (opt.json) {
        FILE *f = stdout;
        fprintf(f, "{\"tool\":\"" VERSION "\"");
        if (opt.label) {
            fputs(",\"label\":", f);
            fjson_str(f, opt.label);
        }
        fputs(",\"url\":", f);
        fjson_str(f, opt.url);
        fputs(",\"method\":", f);
        fjson_str(f, opt.method);
        fprintf(f, ",\"conns\":%ld,\"conns_established\":%ld,\"conn_failures\":%ld,\"conn_not_attempted\":%ld",
                opt.conns, ramps[K_ACTIVE].established, ramps[K_ACTIVE].failed, ramps[K_ACTIVE].not_attempted);
        fprintf(f, ",\"active_alive_end\":%ld,\"idle\":%ld,\"idle_established\":%ld,\"idle_failures\":%ld,\"idle_not_attempted\":%ld,\"idle_alive_end\":%ld",
                act_alive, opt.idle, ramps[K_IDLE].established, ramps[K_IDLE].failed, ramps[K_IDLE].not_attempted, idle_alive);
        emap_json(f, "conn_errors", &G.conn_errs);
        quant_json(f, "connect_us", cq);
        quant_json(f, "idle_connect_us", iq);
        fprintf(f, ",\"ramp_s\":%.3f,\"idle_ramp_s\":%.3f", ramps[K_ACTIVE].seconds, ramps[K_IDLE].seconds);
        fprintf(f, ",\"auth_ok\":%" PRId64 ",\"auth_fail\":%" PRId64, G.auth_ok, G.auth_fail);
        quant_json(f, "auth_us", aq);
        fprintf(f, ",\"inflight\":%ld,\"ramp_par\":%ld,\"warmup_s\":%g,\"duration_s\":%.3f", opt.inflight, opt.ramp_par,
                opt.warmup, win);
        fprintf(f, ",\"sent\":%" PRId64 ",\"ok\":%" PRId64 ",\"errors\":%" PRId64 ",\"rpc_error_count\":%" PRId64,
                G.sent, G.ok, errors, G.rpc_err);
        emap_json(f, "rpc_errors", &G.rpc_errs);
        fprintf(f, ",\"unanswered\":%" PRId64 ",\"lost_in_flight\":%" PRId64 ",\"conn_lost\":%" PRId64, unanswered,
                G.lost_in_flight, G.conn_lost);
        emap_json(f, "run_errors", &G.run_errs);
        fprintf(f, ",\"warmup_ok\":%" PRId64 ",\"warmup_errors\":%" PRId64 ",\"malformed\":%" PRId64
                   ",\"notifications\":%" PRId64 ",\"server_pings\":%" PRId64,
                G.warm_ok, G.warm_err, G.malformed + G.unknown_id + G.binary, G.notifications, G.pings);
        fprintf(f, ",\"rps\":%.1f", rps);
        quant_json(f, "latency_us", lq);
        if (S.have) {
            fprintf(f, ",\"server\":{\"pid\":%ld,\"rss_start_kb\":%ld,\"rss_connected_kb\":%ld,\"rss_max_sampled_kb\":%ld,"
                       "\"rss_end_kb\":%ld,\"hwm_end_kb\":%ld,\"cpu_pct\":%.1f,\"cpu_us_per_req\":%.1f,\"alive_end\":%s}",
                    opt.pid, S.rss_start, S.rss_connected, S.rss_max, S.rss_end, S.hwm_end, S.cpu_pct, S.us_per_req,
                    S.alive_end ? "true" : "false");
        }
        fprintf(f, ",\"client_cpu_pct\":%.1f", client_cpu_pct);
        if (aborted) {
            fputs(",\"aborted\":", f);
            fjson_str(f, aborted);
        }
        fputs("}\n", f);
        fflush(f);
        return;
    }
    printf("loadgen  %s  method=%s  conns=%ld  idle=%ld  inflight=%ld  warmup=%gs  window=%.3fs%s%s\n", opt.url,
           opt.method, opt.conns, opt.idle, opt.inflight, opt.warmup, win, opt.label ? "  label=" : "",
           opt.label ? opt.label : "");
    if (aborted)
        printf("ABORTED: %s (partial results)\n", aborted);
    printf("  connections   active %ld/%ld established, %ld failed, %ld not attempted (ramp %.2fs)\n",
           ramps[K_ACTIVE].established, opt.conns, ramps[K_ACTIVE].failed, ramps[K_ACTIVE].not_attempted,
           ramps[K_ACTIVE].seconds);
    if (opt.idle)
        printf("                idle   %ld/%ld established, %ld failed, %ld not attempted (ramp %.2fs)\n",
               ramps[K_IDLE].established, opt.idle, ramps[K_IDLE].failed, ramps[K_IDLE].not_attempted,
               ramps[K_IDLE].seconds);
    printf("                alive at end: %ld active + %ld idle; lost during the run: %" PRId64 "\n", act_alive,
           idle_alive, G.conn_lost);
    printf("  connect µs    p50 %.1f  p99 %.1f  max %.1f  (TCP + upgrade, active connections)\n", cq.p50, cq.p99,
           cq.max);
    if (opt.idle)
        printf("                p50 %.1f  p99 %.1f  max %.1f  (idle connections)\n", iq.p50, iq.p99, iq.max);
    if (opt.token)
        printf("  auth          ok %" PRId64 ", failed %" PRId64 "; µs p50 %.1f  p99 %.1f  max %.1f\n", G.auth_ok,
               G.auth_fail, aq.p50, aq.p99, aq.max);
    printf("  requests      %" PRId64 " ok in the window = %.1f req/s  (sent %" PRId64 ", warmup ok %" PRId64 ")\n",
           G.ok, rps, G.sent, G.warm_ok);
    printf("  latency µs    mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", lq.mean, lq.p50, lq.p90,
           lq.p99, lq.p999, lq.max);
    printf("  errors        %" PRId64 "  (JSON-RPC errors %" PRId64 ", unanswered %" PRId64 ", lost in flight %" PRId64
           "); malformed %" PRId64 ", notifications %" PRId64 "\n",
           errors, G.rpc_err, unanswered, G.lost_in_flight, G.malformed + G.unknown_id + G.binary, G.notifications);
    emap_human("connection errors", &G.conn_errs);
    emap_human("JSON-RPC errors", &G.rpc_errs);
    emap_human("errors during the run", &G.run_errs);
    if (S.have)
        printf("  server pid %ld RSS MB idle %.1f -> connected %.1f -> end %.1f (max sampled %.1f, HWM %.1f)%s\n"
               "                CPU %.1f %% = %.1f µs per request\n",
               opt.pid, S.rss_start / 1024.0, S.rss_connected / 1024.0, S.rss_end / 1024.0, S.rss_max / 1024.0,
               S.hwm_end / 1024.0, S.alive_end ? "" : "  (server gone at the end!)", S.cpu_pct, S.us_per_req);
    printf("  client        CPU %.1f %% of one core during the window\n", client_cpu_pct);
    fflush(stdout);
}

/* ------------------------------------------------------------------ main loop */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }
static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "loadgen: hard wall-clock limit exceeded, exiting\n";
    if (write(2, m, sizeof m - 1) < 0) {
    }
    _exit(2);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen --url ws://HOST:PORT/PATH [options]\n"
            "  --conns N           active connections (default 1)\n"
            "  --idle N            extra idle connections held open, opened first (default 0)\n"
            "  --inflight K        outstanding requests per active connection, 1 = lockstep (default 1)\n"
            "  --duration S        measurement window (default 10s; suffixes ms, s, m)\n"
            "  --warmup S          load before the window, not counted (default 1s)\n"
            "  --drain S           max wait for outstanding responses after the window (default 5s)\n"
            "  --method NAME       JSON-RPC method (default ping)\n"
            "  --params JSON       params value (default: no params field)\n"
            "  --token JWT         call authenticate {\"auth_token\":JWT} on every connection first; must succeed\n"
            "  --pid PID           server process: RSS (idle/connected/end) and CPU per request\n"
            "  --ramp-par P        concurrent connection setups during the ramps (default 64)\n"
            "  --ramp-timeout S    bound for each ramp (idle, active) (default 60s)\n"
            "  --connect-timeout S TCP connect + upgrade timeout (default 5s)\n"
            "  --auth-timeout S    authenticate reply timeout (default 10s)\n"
            "  --max-runtime S     hard wall-clock limit (default 2*ramp-timeout+warmup+duration+drain+30s)\n"
            "  --max-msg BYTES     largest server message accepted (default 16 MiB)\n"
            "  --label TEXT        copied into the output\n"
            "  --json              print one JSON line instead of the table\n"
            "  -v, --verbose       progress on stderr\n"
            "fan-out mode (event delivery latency):\n"
            "  --subscribe TOPIC   the --conns connections subscribe to TOPIC (subscribe_events, with --token\n"
            "                      as auth_token) and only receive; one extra connection publishes\n"
            "  --publish-count N   events to publish (default 100)\n"
            "  --publish-interval T  time between publish calls; a bare number is milliseconds (default 50)\n"
            "  --publish-token JWT the publisher calls authenticate with it first (required)\n"
            "  --publish-method M  publish call (default fixture.emit)\n"
            "  --publish-params J  its params, JSON in which the strings \"$topic\", \"$n\" and \"$t_ns\" are\n"
            "                      replaced (default {\"topic\":\"$topic\",\"params\":{\"device\":\"loadgen\",\n"
            "                      \"n\":\"$n\",\"t_ns\":\"$t_ns\"}}); the delivered event's params must carry n and t_ns\n"
            "  --no-kernel-ts      do not read kernel receive timestamps (SO_TIMESTAMPNS)\n"
            "  (--warmup = pause between setup and the first event, --drain = max wait after the last)\n"
            "exit status: 0 ok, 1 usage, 2 aborted (time limit or signal), 4 no active connection\n");
}

static void parse_url(void)
{
    const char *u = opt.url;
    if (strncmp(u, "ws://", 5))
        die("--url must start with ws:// (wss is not supported)");
    u += 5;
    const char *slash = strchr(u, '/');
    size_t alen = slash ? (size_t)(slash - u) : strlen(u);
    if (alen == 0 || alen >= sizeof url_hostport)
        die("--url: bad host");
    memcpy(url_hostport, u, alen);
    url_hostport[alen] = 0;
    snprintf(url_path, sizeof url_path, "%s", slash ? slash : "/");
    for (const char *p = url_path; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            die("--url: path must not contain spaces or control characters");
    const char *hp = url_hostport, *portp = NULL;
    size_t hl;
    if (*hp == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb)
            die("--url: bad IPv6 literal");
        hl = (size_t)(rb - hp - 1);
        memcpy(url_host, hp + 1, hl);
        if (rb[1] == ':')
            portp = rb + 2;
        else if (rb[1])
            die("--url: bad host");
    } else {
        const char *colon = strchr(hp, ':');
        hl = colon ? (size_t)(colon - hp) : strlen(hp);
        if (hl >= sizeof url_host)
            die("--url: host too long");
        memcpy(url_host, hp, hl);
        if (colon)
            portp = colon + 1;
    }
    url_host[hl] = 0;
    snprintf(url_port, sizeof url_port, "%s", portp && *portp ? portp : "80");
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res;
    int rc = getaddrinfo(url_host, url_port, &hints, &res);
    if (rc)
        die("--url: cannot resolve %s:%s: %s", url_host, url_port, gai_strerror(rc));
    struct addrinfo *pick = res; /* prefer IPv4 ("localhost" often lists ::1 first) */
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(&srv_addr, pick->ai_addr, pick->ai_addrlen);
    srv_addrlen = pick->ai_addrlen;
    srv_family = pick->ai_family;
    freeaddrinfo(res);
}

static uint8_t *make_call(const char *method, const char *params, size_t *len)
{
    char *mq = xmalloc(strlen(method) * 6 + 3);
    json_quote(mq, method);
    uint8_t *b = xmalloc(strlen(mq) + strlen(params) + 64);
    *len = (size_t)sprintf((char *)b, "{\"jsonrpc\":\"2.0\",\"method\":%s,\"params\":%s,\"id\":0}", mq, params);
    free(mq);
    return b;
}

static void build_fanout(void)
{
    const char *topic = opt.subscribe;
    F.topic_q = xmalloc(strlen(topic) * 6 + 3);
    F.topic_q_len = json_quote(F.topic_q, topic);
    /* subscribers: subscribe_events {"topics":[TOPIC][,"auth_token":TOKEN]} */
    char *tq = xmalloc((opt.token ? strlen(opt.token) : 0) * 6 + 3);
    json_quote(tq, opt.token ? opt.token : "");
    char *sp = xmalloc(strlen(F.topic_q) + strlen(tq) + 64);
    if (opt.token)
        sprintf(sp, "{\"topics\":[%s],\"auth_token\":%s}", F.topic_q, tq);
    else
        sprintf(sp, "{\"topics\":[%s]}", F.topic_q);
    sub_payload = make_call("subscribe_events", sp, &sub_payload_len);
    free(sp);
    free(tq);
    /* publisher: authenticate {"auth_token": PUBLISH_TOKEN} */
    tq = xmalloc(strlen(opt.publish_token) * 6 + 3);
    json_quote(tq, opt.publish_token);
    sp = xmalloc(strlen(tq) + 32);
    sprintf(sp, "{\"auth_token\":%s}", tq);
    pub_auth_payload = make_call("authenticate", sp, &pub_auth_payload_len);
    free(sp);
    free(tq);
    /* publish call: prefix, then the params template cut at "$n" / "$t_ns" */
    const char *tpl = opt.publish_params ? opt.publish_params
                                         : "{\"topic\":\"$topic\",\"params\":{\"device\":\"loadgen\",\"n\":\"$n\",\"t_ns\":\"$t_ns\"}}";
    {
        const char *e = tpl + strlen(tpl), *p = js_ws(tpl, e), *q = p < e ? js_value(p, e, 0) : NULL;
        if (!q || js_ws(q, e) != e)
            die("--publish-params is not valid JSON");
    }
    if (strlen(tpl) > 4000)
        die("--publish-params is too long");
    char *t = xmalloc(strlen(tpl) * 8 + F.topic_q_len * 8 + 16);
    { /* "$topic" -> the topic as a JSON string */
        size_t o = 0;
        for (const char *p = tpl; *p;) {
            if (!strncmp(p, "\"$topic\"", 8)) {
                memcpy(t + o, F.topic_q, F.topic_q_len);
                o += F.topic_q_len;
                p += 8;
            } else {
                t[o++] = *p++;
            }
        }
        t[o] = 0;
    }
    if (!strstr(t, "\"$n\"") || !strstr(t, "\"$t_ns\""))
        die("--publish-params must contain the strings \"$n\" and \"$t_ns\"");
    F.nseg = 0;
    for (const char *p = t;;) {
        const char *a = strstr(p, "\"$n\""), *b = strstr(p, "\"$t_ns\""), *m = NULL;
        int val = 0;
        if (a && (!b || a < b))
            m = a, val = 0;
        else if (b)
            m = b, val = 1;
        if (F.nseg == 8)
            die("--publish-params: too many placeholders");
        size_t l = m ? (size_t)(m - p) : strlen(p);
        F.seg[F.nseg] = xmalloc(l + 1);
        memcpy(F.seg[F.nseg], p, l);
        F.seg[F.nseg][l] = 0;
        F.seg_len[F.nseg] = l;
        if (!m) {
            F.nseg++;
            break;
        }
        F.seg_val[F.nseg] = val;
        F.nseg++;
        p = m + (val ? 7 : 4);
    }
    free(t);
    char *mq = xmalloc(strlen(opt.publish_method) * 6 + 3);
    json_quote(mq, opt.publish_method);
    F.pre = xmalloc(strlen(mq) + 64);
    F.pre_len = (size_t)sprintf(F.pre, "{\"jsonrpc\":\"2.0\",\"method\":%s,\"params\":", mq);
    free(mq);
    size_t k = (size_t)opt.publish_count;
    F.send_ns = calloc(k, sizeof *F.send_ns);
    F.send_rt = calloc(k, sizeof *F.send_rt);
    F.expected = calloc(k, sizeof *F.expected);
    F.got = calloc(k, sizeof *F.got);
    F.last_ns = calloc(k, sizeof *F.last_ns);
    F.acked = calloc(k, 1);
    if (!F.send_ns || !F.send_rt || !F.expected || !F.got || !F.last_ns || !F.acked)
        die("out of memory");
}

static void build_payloads(void)
{
    /* method */
    char *mq = xmalloc(strlen(opt.method) * 6 + 3);
    json_quote(mq, opt.method);
    size_t plen = opt.params ? strlen(opt.params) : 0;
    req_prefix = xmalloc(64 + strlen(mq) + plen);
    int n = sprintf((char *)req_prefix, "{\"jsonrpc\":\"2.0\",\"method\":%s", mq);
    if (opt.params) {
        const char *e = opt.params + plen;
        const char *p = js_ws(opt.params, e);
        const char *q = p < e ? js_value(p, e, 0) : NULL;
        if (!q || js_ws(q, e) != e)
            die("--params is not valid JSON");
        n += sprintf((char *)req_prefix + n, ",\"params\":%.*s", (int)(q - p), p);
    }
    n += sprintf((char *)req_prefix + n, ",\"id\":");
    req_prefix_len = (size_t)n;
    free(mq);
    if (opt.token) {
        char *tq = xmalloc(strlen(opt.token) * 6 + 3);
        json_quote(tq, opt.token);
        auth_payload = xmalloc(strlen(tq) + 128);
        auth_payload_len = (size_t)sprintf((char *)auth_payload,
                                           "{\"jsonrpc\":\"2.0\",\"method\":\"authenticate\",\"params\":{\"auth_token\":%s},\"id\":0}", tq);
        free(tq);
    }
    if (opt.subscribe)
        build_fanout();
    obuf_cap = 65536;
    if (obuf_cap < (req_prefix_len + 64) * 4)
        obuf_cap = (req_prefix_len + 64) * 4;
    obuf = xmalloc(obuf_cap);
}

static void scan_timeouts(int64_t now)
{
    for (int k = 0; k < K_KINDS; k++) {
        struct ramp *r = &ramps[k];
        if (!r->started || r->in_setup == 0)
            continue;
        for (long i = 0; i < r->next; i++) {
            struct conn *c = &conns[r->base + i];
            if ((c->state == ST_CONNECTING || c->state == ST_UPGRADING) &&
                now - c->t0 > (int64_t)(opt.connect_timeout * 1e9))
                conn_kill(c, c->state == ST_CONNECTING ? "connect: timeout" : "upgrade: timeout");
            else if (c->state == ST_AUTH && now - c->t0 > (int64_t)(opt.auth_timeout * 1e9)) {
                if (c->kind != K_PUB)
                    G.auth_fail++;
                conn_kill(c, c->kind == K_PUB ? "auth: timeout" : !strcmp(setup_name(c), "subscribe") ? "subscribe: timeout" : "auth: timeout");
            }
        }
    }
}

static void ramp_tick(struct ramp *r, int kind, int64_t now)
{
    if (!r->started) {
        r->started = 1;
        r->t_begin = now;
        r->deadline = now + (int64_t)(opt.ramp_timeout * 1e9);
    }
    while (r->next < r->n && r->in_setup < opt.ramp_par) {
        if (now > r->deadline) {
            r->not_attempted += r->n - r->next;
            for (long i = r->next; i < r->n; i++)
                conns[r->base + i].state = ST_FREE;
            r->next = r->n;
            break;
        }
        conn_start(&conns[r->base + r->next], kind);
        r->next++;
    }
    if (r->next >= r->n && r->in_setup == 0 && !r->done) {
        r->done = 1;
        r->seconds = (mono_ns() - r->t_begin) / 1e9;
        vlog("%s ramp done: %ld/%ld established, %ld failed in %.2fs",
             kind == K_IDLE ? "idle" : kind == K_PUB ? "publisher" : opt.subscribe ? "subscriber" : "active",
             r->established, r->n, r->failed, r->seconds);
    }
}

enum { PH_IDLE_RAMP, PH_ACTIVE_RAMP, PH_PUB_RAMP, PH_LOAD, PH_DRAIN, PH_CLOSE, PH_DONE };

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", required_argument, 0, 'u'},
        {"conns", required_argument, 0, 'c'},
        {"idle", required_argument, 0, 'I'},
        {"inflight", required_argument, 0, 'k'},
        {"duration", required_argument, 0, 'd'},
        {"warmup", required_argument, 0, 'w'},
        {"drain", required_argument, 0, 'D'},
        {"method", required_argument, 0, 'm'},
        {"params", required_argument, 0, 'P'},
        {"token", required_argument, 0, 't'},
        {"pid", required_argument, 0, 'p'},
        {"ramp-par", required_argument, 0, 'r'},
        {"ramp-timeout", required_argument, 0, 'R'},
        {"connect-timeout", required_argument, 0, 'C'},
        {"auth-timeout", required_argument, 0, 'A'},
        {"max-runtime", required_argument, 0, 'M'},
        {"max-msg", required_argument, 0, 'B'},
        {"label", required_argument, 0, 'L'},
        {"json", no_argument, 0, 'j'},
        {"verbose", no_argument, 0, 'v'},
        {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {"subscribe", required_argument, 0, 'S'},
        {"publish-count", required_argument, 0, 'n'},
        {"publish-interval", required_argument, 0, 'i'},
        {"publish-token", required_argument, 0, 'T'},
        {"publish-method", required_argument, 0, 'N'},
        {"publish-params", required_argument, 0, 'J'},
        {"no-kernel-ts", no_argument, 0, 'K'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': opt.url = optarg; break;
        case 'c': opt.conns = parse_long("conns", optarg, 0, 100000); break;
        case 'I': opt.idle = parse_long("idle", optarg, 0, 100000); break;
        case 'k': opt.inflight = parse_long("inflight", optarg, 1, 10000); break;
        case 'd': opt.duration = parse_duration("duration", optarg); break;
        case 'w': opt.warmup = parse_duration("warmup", optarg); break;
        case 'D': opt.drain = parse_duration("drain", optarg); break;
        case 'm': opt.method = optarg; break;
        case 'P': opt.params = *optarg ? optarg : NULL; break;
        case 't': opt.token = *optarg ? optarg : NULL; break;
        case 'p': opt.pid = parse_long("pid", optarg, 1, 1L << 30); break;
        case 'r': opt.ramp_par = parse_long("ramp-par", optarg, 1, 100000); break;
        case 'R': opt.ramp_timeout = parse_duration("ramp-timeout", optarg); break;
        case 'C': opt.connect_timeout = parse_duration("connect-timeout", optarg); break;
        case 'A': opt.auth_timeout = parse_duration("auth-timeout", optarg); break;
        case 'M': opt.max_runtime = parse_duration("max-runtime", optarg); break;
        case 'B': opt.max_msg = parse_long("max-msg", optarg, 125, 1L << 30); break;
        case 'L': opt.label = optarg; break;
        case 'j': opt.json = 1; break;
        case 'v': opt.verbose = 1; break;
        case 'V': puts(VERSION); return 0;
        case 'h': usage(stdout); return 0;
        case 'S': opt.subscribe = *optarg ? optarg : NULL; break;
        case 'n': opt.publish_count = parse_long("publish-count", optarg, 1, 10000000); break;
        case 'i': {
            /* a bare number is milliseconds here */
            char *end;
            double v = strtod(optarg, &end);
            opt.publish_interval = (end != optarg && !*end && v >= 0 && isfinite(v)) ? v / 1000
                                                                                : parse_duration("publish-interval", optarg);
            break;
        }
        case 'T': opt.publish_token = *optarg ? optarg : NULL; break;
        case 'N': opt.publish_method = optarg; break;
        case 'J': opt.publish_params = optarg; break;
        case 'K': opt.kernel_ts = 0; break;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }
    if (!opt.subscribe && (opt.duration <= 0 || opt.duration > 3600))
        die("--duration must be in (0, 3600] seconds");
    if (opt.warmup > 600 || opt.drain > 600)
        die("--warmup and --drain must be <= 600 seconds");
    if (opt.ramp_timeout <= 0 || opt.ramp_timeout > 3600 || opt.connect_timeout <= 0 || opt.auth_timeout <= 0)
        die("timeouts must be > 0 (ramp-timeout <= 3600)");
    if (opt.subscribe) {
        if (!opt.publish_token)
            die("--subscribe needs --publish-token (the publisher authenticates with it)");
        if (opt.conns < 1)
            die("--subscribe needs --conns >= 1");
        if (opt.publish_interval > 3600)
            die("--publish-interval must be <= 1 hour");
        opt.duration = opt.publish_count * opt.publish_interval; /* publishing time, for --max-runtime */
    }
    if (opt.max_runtime <= 0)
        opt.max_runtime = (opt.subscribe ? 3 : 2) * opt.ramp_timeout + opt.warmup + opt.duration + opt.drain + 30;
    parse_url();
    build_payloads();
    t_start_ns = mono_ns();

    /* open-files limit: soft := hard */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)(opt.conns + opt.idle + 16) > rl.rlim_cur)
        fprintf(stderr, "loadgen: warning: open-files limit %lu < %ld connections; expect EMFILE failures\n",
                (unsigned long)rl.rlim_cur, opt.conns + opt.idle);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)ceil(opt.max_runtime) + 15); /* backstop if the loop itself hangs */

    if (opt.pid) {
        struct psample s = proc_sample(opt.pid);
        if (!s.ok)
            die("--pid %ld: no such process", opt.pid);
        S.have = 1;
        S.rss_start = S.rss_max = s.rss_kb;
    }

    nconns_total = opt.idle + opt.conns + (opt.subscribe ? 1 : 0);
    conns = calloc((size_t)(nconns_total ? nconns_total : 1), sizeof *conns);
    if (!conns)
        die("out of memory");
    for (long i = 0; i < nconns_total; i++)
        conns[i].fd = -1;
    ramps[K_IDLE].base = 0;
    ramps[K_IDLE].n = opt.idle;
    ramps[K_ACTIVE].base = opt.idle;
    ramps[K_ACTIVE].n = opt.conns;
    ramps[K_PUB].base = opt.idle + opt.conns;
    ramps[K_PUB].n = opt.subscribe ? 1 : 0;
    if (opt.subscribe)
        publisher = &conns[ramps[K_PUB].base];

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));

    struct epoll_event evs[1024];
    int phase = PH_IDLE_RAMP;
    int64_t hard_deadline = t_start_ns + (int64_t)(opt.max_runtime * 1e9);
    int64_t next_scan = 0, next_rss = 0, next_progress = 0, drain_end = 0, close_end = 0;
    int exit_code = 0;

    while (phase != PH_DONE) {
        int64_t now = mono_ns();
        if (got_signal && !aborted)
            aborted = got_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)";
        if (now > hard_deadline && !aborted)
            aborted = "max-runtime exceeded";
        if (aborted)
            break;

        /* phase machine */
        if (phase == PH_IDLE_RAMP) {
            ramp_tick(&ramps[K_IDLE], K_IDLE, now);
            if (ramps[K_IDLE].done)
                phase = PH_ACTIVE_RAMP;
        }
        if (phase == PH_ACTIVE_RAMP) {
            ramp_tick(&ramps[K_ACTIVE], K_ACTIVE, now);
            if (ramps[K_ACTIVE].done && opt.subscribe) {
                phase = PH_PUB_RAMP;
            } else if (ramps[K_ACTIVE].done) {
                if (S.have) {
                    struct psample s = proc_sample(opt.pid);
                    S.rss_connected = s.rss_kb;
                    if (s.rss_kb > S.rss_max)
                        S.rss_max = s.rss_kb;
                }
                now = mono_ns();
                G.m_start = now + (int64_t)(opt.warmup * 1e9);
                G.m_end = G.m_start + (int64_t)(opt.duration * 1e9);
                G.load_running = 1;
                phase = PH_LOAD;
                vlog("load: %ld active connections, warmup %gs, window %gs", count_alive(K_ACTIVE), opt.warmup,
                     opt.duration);
                for (long i = 0; i < opt.conns; i++)
                    load_fill(&conns[ramps[K_ACTIVE].base + i]);
                now = mono_ns();
                if (opt.warmup == 0) {
                    if (S.have) {
                        S.ticks0 = proc_sample(opt.pid).ticks;
                        S.t_ticks0 = mono_ns();
                    }
                    client_cpu0 = rusage_s();
                    t_measure0 = mono_ns();
                }
            }
        }
        if (phase == PH_PUB_RAMP) {
            ramp_tick(&ramps[K_PUB], K_PUB, now);
            if (ramps[K_PUB].done) {
                if (S.have) {
                    struct psample s = proc_sample(opt.pid);
                    S.rss_connected = s.rss_kb;
                    if (s.rss_kb > S.rss_max)
                        S.rss_max = s.rss_kb;
                }
                now = mono_ns();
                F.t_first = F.t_next = now + (int64_t)(opt.warmup * 1e9);
                if (ramps[K_PUB].established && F.subs_alive > 0) {
                    phase = PH_LOAD;
                    vlog("fan-out: %" PRId64 " subscribers; %ld events every %gs after %gs", F.subs_alive,
                         opt.publish_count, opt.publish_interval, opt.warmup);
                } else {
                    phase = PH_DRAIN; /* nothing to measure: no publisher or no subscriber */
                    F.drain_end = now;
                }
            }
        }
        if (phase == PH_LOAD && opt.subscribe) {
            if (now >= F.t_next) {
                if (F.sent == 0) {
                    if (S.have) {
                        S.ticks0 = proc_sample(opt.pid).ticks;
                        S.t_ticks0 = mono_ns();
                    }
                    client_cpu0 = rusage_s();
                    t_measure0 = mono_ns();
                }
                publish_one();
                /* fixed schedule from the first event; a late send does not shift the ones after it */
                F.t_next = F.t_first + (int64_t)((double)F.sent * opt.publish_interval * 1e9);
                if (F.sent >= opt.publish_count) {
                    phase = PH_DRAIN;
                    F.drain_end = mono_ns() + (int64_t)(opt.drain * 1e9);
                    vlog("published %ld events; waiting for %" PRId64 " deliveries (%" PRId64 " so far)", F.sent,
                         F.expected_total, F.deliveries);
                }
            }
        } else if (phase == PH_LOAD) {
            if (t_measure0 == 0 && now >= G.m_start) {
                if (S.have) {
                    S.ticks0 = proc_sample(opt.pid).ticks;
                    S.t_ticks0 = mono_ns();
                }
                client_cpu0 = rusage_s();
                t_measure0 = mono_ns();
            }
            if (now >= G.m_end) {
                if (S.have) {
                    S.ticks1 = proc_sample(opt.pid).ticks;
                    S.t_ticks1 = mono_ns();
                }
                t_measure1 = mono_ns();
                double cs = rusage_s() - client_cpu0;
                client_cpu_pct = r1(cs / ((t_measure1 - t_measure0) / 1e9) * 100);
                phase = PH_DRAIN;
                drain_end = now + (int64_t)(opt.drain * 1e9);
                vlog("window over: %" PRId64 " ok, %" PRId64 " outstanding", G.ok, G.outstanding);
            }
        }
        if (phase == PH_DRAIN) {
            int drained;
            if (opt.subscribe) {
                long acks = F.acked_ok + F.acked_err;
                drained = (acks >= F.sent && F.deliveries >= F.expected_total) || now >= F.drain_end;
                if (drained && t_measure0) {
                    if (S.have) {
                        S.ticks1 = proc_sample(opt.pid).ticks;
                        S.t_ticks1 = mono_ns();
                    }
                    t_measure1 = mono_ns();
                    client_cpu_pct = r1((rusage_s() - client_cpu0) / ((t_measure1 - t_measure0) / 1e9) * 100);
                }
            } else {
                drained = G.outstanding <= 0 || now >= drain_end;
            }
            if (drained) {
                G.load_running = 0;
                vlog("drained, %" PRId64 " outstanding", G.outstanding);
                alive_end[K_ACTIVE] = count_alive(K_ACTIVE);
                alive_end[K_IDLE] = count_alive(K_IDLE);
                if (S.have) {
                    struct psample s = proc_sample(opt.pid);
                    S.alive_end = s.ok;
                    if (s.ok) {
                        S.rss_end = s.rss_kb;
                        S.hwm_end = s.hwm_kb;
                        if (s.rss_kb > S.rss_max)
                            S.rss_max = s.rss_kb;
                    }
                    if (S.ticks0 >= 0 && S.ticks1 > 0 && S.t_ticks1 > S.t_ticks0) {
                        double cpu_s = (double)(S.ticks1 - S.ticks0) / (double)sysconf(_SC_CLK_TCK);
                        S.cpu_pct = r1(cpu_s / ((S.t_ticks1 - S.t_ticks0) / 1e9) * 100);
                        int64_t units = opt.subscribe ? F.deliveries : G.ok;
                        if (units > 0)
                            S.us_per_req = r1(cpu_s * 1e6 / (double)units);
                    }
                }
                /* close handshake on every open connection */
                G.closing_phase = 1;
                for (long i = 0; i < nconns_total; i++) {
                    struct conn *c = &conns[i];
                    if (c->state == ST_OPEN) {
                        c->state = ST_CLOSING;
                        G.closing_count++;
                        ws_send_close(c, 1000, "");
                    } else if (c->state == ST_CONNECTING || c->state == ST_UPGRADING || c->state == ST_AUTH) {
                        conn_kill(c, "closing");
                    }
                }
                close_end = mono_ns() + 2000000000LL;
                phase = PH_CLOSE;
            }
        }
        if (phase == PH_CLOSE) {
            if (G.closing_count <= 0 || now >= close_end) {
                for (long i = 0; i < nconns_total; i++)
                    if (conns[i].state == ST_CLOSING)
                        conn_kill(&conns[i], "closed");
                phase = PH_DONE;
                break;
            }
        }

        if (now >= next_scan) {
            scan_timeouts(now);
            next_scan = now + 50000000LL;
        }
        if (S.have && now >= next_rss) {
            struct psample s = proc_sample(opt.pid);
            if (s.ok && s.rss_kb > S.rss_max)
                S.rss_max = s.rss_kb;
            next_rss = now + 250000000LL;
        }
        if (opt.verbose && now >= next_progress) {
            if (phase <= PH_PUB_RAMP && next_progress)
                vlog("ramp: idle %ld/%ld, active %ld/%ld established, %ld+%ld failed, %ld in setup",
                     ramps[K_IDLE].established, opt.idle, ramps[K_ACTIVE].established, opt.conns,
                     ramps[K_IDLE].failed, ramps[K_ACTIVE].failed,
                     ramps[K_IDLE].in_setup + ramps[K_ACTIVE].in_setup);
            next_progress = now + 2000000000LL;
        }

        /* wait */
        int64_t wake = now + 50000000LL;
        if (phase == PH_LOAD && opt.subscribe) {
            if (F.t_next < wake)
                wake = F.t_next;
        } else if (phase == PH_LOAD) {
            int64_t b = t_measure0 == 0 ? G.m_start : G.m_end;
            if (b < wake)
                wake = b;
        }
        if (phase == PH_DRAIN || phase == PH_CLOSE || phase <= PH_PUB_RAMP)
            wake = now + 5000000LL;
        int tmo = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        int n = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]), tmo);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }

    if (aborted) {
        exit_code = 2;
        if (t_measure0 && !t_measure1) {
            t_measure1 = mono_ns();
            double cs = rusage_s() - client_cpu0;
            client_cpu_pct = r1(cs / ((t_measure1 - t_measure0) / 1e9) * 100);
        }
        if (S.have && !S.rss_end) {
            struct psample s = proc_sample(opt.pid);
            S.alive_end = s.ok;
            S.rss_end = s.rss_kb;
            S.hwm_end = s.hwm_kb;
        }
    } else if (opt.conns > 0 && ramps[K_ACTIVE].established == 0) {
        exit_code = 4;
    } else if (opt.subscribe && ramps[K_PUB].established == 0) {
        exit_code = 4;
    }
    print_results();
    return exit_code;
}
