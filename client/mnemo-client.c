/*
 * mnemo-client: the hook-path client of mnemo. One frame out, one frame back, over the daemon's Unix socket.
 *
 *   mnemo-client hook <Event>            stdin: the hook's JSON; prints what the daemon says, exits with its status
 *   mnemo-client call <op> [json-args]   prints the daemon's text (--json: JSON); for scripts
 *   mnemo-client batch                   stdin: a JSON array of {"op","args"} calls, one round trip
 *
 * Hook mode fails open: on any failure (no daemon, refused, timeout, error reply, short read, garbage, oversized
 * input) it prints nothing, exits 0 and leaves one line in the client log. If the daemon is not running it starts it,
 * detached, for the next hook, without waiting. call and batch report failures on stderr and exit 1.
 *
 * C11 and POSIX only. Frames: 4-byte big-endian length, then a MessagePack map (see src/protocol).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MNEMO_NODE
#define MNEMO_NODE "node"
#endif
#ifndef MNEMO_CLI
#define MNEMO_CLI ""
#endif

#define MAX_FRAME (8u * 1024u * 1024u)       /* the daemon's default frame limit */
#define MAX_REPLY (64u * 1024u * 1024u)
#define CONNECT_TIMEOUT_MS 50
#define HOOK_TIMEOUT_MS 500
#define SESSION_START_TIMEOUT_MS 2000
#define CALL_TIMEOUT_MS 10000
#define AUTOSTART_BACKOFF_S 10
#define LOG_MAX_BYTES (1024 * 1024)

static char runtime_dir[PATH_MAX];
static char log_dir[PATH_MAX];
static long long deadline_ms;
static const char *mode_name = "?";

/* ---------- small helpers ---------- */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(void) {
    long long left = deadline_ms - now_ms();
    return left < 0 ? 0 : (int)left;
}

static int join_path(char *out, size_t size, const char *a, const char *b) {
    int n = snprintf(out, size, "%s/%s", a, b);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static void mkdirs(const char *path) {
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
    }
    mkdir(buf, 0700);
}

/* The rule of src/paths.ts (documented there): MNEMO_HOME moves everything; else XDG dirs; else under HOME (or the
 * account's home directory, as Node's os.homedir()). `mnemo-client paths` prints the result; a test compares it. */
static int resolve_dirs(void) {
    const char *home = getenv("MNEMO_HOME");
    const char *user = getenv("HOME");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/tmp";
    }
    int a, b;
    if (home && *home) {
        a = snprintf(runtime_dir, sizeof runtime_dir, "%s/run", home);
        b = snprintf(log_dir, sizeof log_dir, "%s/data/logs", home);
    } else {
        const char *xrt = getenv("XDG_RUNTIME_DIR");
        const char *xdata = getenv("XDG_DATA_HOME");
        a = xrt && *xrt ? snprintf(runtime_dir, sizeof runtime_dir, "%s/mnemo", xrt)
                        : snprintf(runtime_dir, sizeof runtime_dir, "%s/.mnemo/run", user);
        b = xdata && *xdata ? snprintf(log_dir, sizeof log_dir, "%s/mnemo/logs", xdata)
                            : snprintf(log_dir, sizeof log_dir, "%s/.local/share/mnemo/logs", user);
    }
    return a > 0 && (size_t)a < sizeof runtime_dir && b > 0 && (size_t)b < sizeof log_dir ? 0 : -1;
}

/* One line in client.log: never to the terminal, never to stdout. */
static void log_line(const char *fmt, ...) {
    char path[PATH_MAX];
    if (!log_dir[0] || join_path(path, sizeof path, log_dir, "client.log") != 0) return;
    mkdirs(log_dir);
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > LOG_MAX_BYTES) {
        char old[PATH_MAX];
        if (snprintf(old, sizeof old, "%s.1", path) < (int)sizeof old) rename(path, old);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    char line[1024];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, "pid=%d mode=%s ", (int)getpid(), mode_name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    n += m;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

/* ---------- growable buffer and MessagePack writer ---------- */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int failed;
} buf_t;

static void buf_put(buf_t *b, const void *src, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void put_u8(buf_t *b, uint8_t v) { buf_put(b, &v, 1); }
static void put_be16(buf_t *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, x, 2);
}
static void put_be32(buf_t *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, x, 4);
}

static void mp_map(buf_t *b, uint32_t n) {
    if (n < 16) put_u8(b, (uint8_t)(0x80 | n));
    else { put_u8(b, 0xde); put_be16(b, (uint16_t)n); }
}
static void mp_uint(buf_t *b, uint32_t v) {
    if (v < 128) put_u8(b, (uint8_t)v);
    else { put_u8(b, 0xce); put_be32(b, v); }
}
static void mp_str(buf_t *b, const char *s, size_t n) {
    if (n < 32) put_u8(b, (uint8_t)(0xa0 | n));
    else if (n < 256) { put_u8(b, 0xd9); put_u8(b, (uint8_t)n); }
    else if (n < 65536) { put_u8(b, 0xda); put_be16(b, (uint16_t)n); }
    else { put_u8(b, 0xdb); put_be32(b, (uint32_t)n); }
    buf_put(b, s, n);
}
static void mp_cstr(buf_t *b, const char *s) { mp_str(b, s, strlen(s)); }
static void mp_bin(buf_t *b, const uint8_t *s, size_t n) {
    if (n < 256) { put_u8(b, 0xc4); put_u8(b, (uint8_t)n); }
    else if (n < 65536) { put_u8(b, 0xc5); put_be16(b, (uint16_t)n); }
    else { put_u8(b, 0xc6); put_be32(b, (uint32_t)n); }
    buf_put(b, s, n);
}

/* ---------- MessagePack reader (bounds-checked; only what replies use) ---------- */

typedef struct {
    const uint8_t *p, *end;
} rd_t;

static int rd_need(rd_t *r, size_t n) { return (size_t)(r->end - r->p) >= n ? 0 : -1; }
static uint32_t be(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static int rd_map(rd_t *r, uint32_t *n) {
    if (rd_need(r, 1)) return -1;
    uint8_t t = *r->p;
    if ((t & 0xf0) == 0x80) { *n = t & 0x0f; r->p++; return 0; }
    if (t == 0xde && !rd_need(r, 3)) { *n = be(r->p + 1, 2); r->p += 3; return 0; }
    if (t == 0xdf && !rd_need(r, 5)) { *n = be(r->p + 1, 4); r->p += 5; return 0; }
    return -1;
}

/* A str or bin value. */
static int rd_str(rd_t *r, const char **s, uint32_t *n) {
    if (rd_need(r, 1)) return -1;
    uint8_t t = *r->p;
    int h;
    if ((t & 0xe0) == 0xa0) { *n = t & 0x1f; h = 1; }
    else if ((t == 0xd9 || t == 0xc4) && !rd_need(r, 2)) { *n = r->p[1]; h = 2; }
    else if ((t == 0xda || t == 0xc5) && !rd_need(r, 3)) { *n = be(r->p + 1, 2); h = 3; }
    else if ((t == 0xdb || t == 0xc6) && !rd_need(r, 5)) { *n = be(r->p + 1, 4); h = 5; }
    else return -1;
    if (rd_need(r, (size_t)h + *n)) return -1;
    *s = (const char *)r->p + h;
    r->p += h + *n;
    return 0;
}

static int rd_int(rd_t *r, long long *v) {
    if (rd_need(r, 1)) return -1;
    uint8_t t = *r->p;
    if (t < 0x80) { *v = t; r->p++; return 0; }
    if (t >= 0xe0) { *v = (int8_t)t; r->p++; return 0; }
    int n = t == 0xcc || t == 0xd0 ? 1 : t == 0xcd || t == 0xd1 ? 2 : t == 0xce || t == 0xd2 ? 4 : t == 0xcf || t == 0xd3 ? 8 : 0;
    if (!n || rd_need(r, 1 + (size_t)n)) return -1;
    uint64_t u = 0;
    for (int i = 0; i < n; i++) u = (u << 8) | r->p[1 + i];
    int is_signed = t >= 0xd0;
    if (is_signed && n < 8 && (u >> (8 * n - 1))) u |= ~(uint64_t)0 << (8 * n);
    *v = (long long)u;
    r->p += 1 + n;
    return 0;
}

static int rd_skip(rd_t *r, int depth) {
    if (depth > 32 || rd_need(r, 1)) return -1;
    uint8_t t = *r->p;
    const char *s;
    uint32_t n;
    long long v;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) { r->p++; return 0; }
    if ((t & 0xf0) == 0x80 || t == 0xde || t == 0xdf) {
        if (rd_map(r, &n)) return -1;
        for (uint32_t i = 0; i < 2 * n; i++) if (rd_skip(r, depth + 1)) return -1;
        return 0;
    }
    if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd) {
        if ((t & 0xf0) == 0x90) { n = t & 0x0f; r->p++; }
        else if (t == 0xdc && !rd_need(r, 3)) { n = be(r->p + 1, 2); r->p += 3; }
        else if (t == 0xdd && !rd_need(r, 5)) { n = be(r->p + 1, 4); r->p += 5; }
        else return -1;
        for (uint32_t i = 0; i < n; i++) if (rd_skip(r, depth + 1)) return -1;
        return 0;
    }
    if ((t & 0xe0) == 0xa0 || (t >= 0xc4 && t <= 0xc6) || (t >= 0xd9 && t <= 0xdb)) return rd_str(r, &s, &n);
    if ((t >= 0xcc && t <= 0xcf) || (t >= 0xd0 && t <= 0xd3)) return rd_int(r, &v);
    if (t == 0xca && !rd_need(r, 5)) { r->p += 5; return 0; }
    if (t == 0xcb && !rd_need(r, 9)) { r->p += 9; return 0; }
    int ext = t == 0xd4 ? 1 : t == 0xd5 ? 2 : t == 0xd6 ? 4 : t == 0xd7 ? 8 : t == 0xd8 ? 16 : -1;
    if (ext > 0 && !rd_need(r, 2 + (size_t)ext)) { r->p += 2 + ext; return 0; }
    if ((t == 0xc7 || t == 0xc8 || t == 0xc9)) {
        int h = t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4;
        if (rd_need(r, 1 + (size_t)h)) return -1;
        n = be(r->p + 1, h);
        if (rd_need(r, 2 + (size_t)h + n)) return -1;
        r->p += 2 + h + n;
        return 0;
    }
    return -1;
}

static int key_is(const char *k, uint32_t n, const char *want) { return strlen(want) == n && memcmp(k, want, n) == 0; }

/* Whether the next value is a map (fixmap, map16 or map32), without reading past the end. */
static int is_map(const rd_t *r) {
    if (r->p >= r->end) return 0;
    uint8_t t = *r->p;
    return (t & 0xf0) == 0x80 || t == 0xde || t == 0xdf;
}

/* ---------- socket I/O under the deadline ---------- */

static int wait_fd(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int ms = remaining_ms();
        if (ms == 0) return -1;
        int r = poll(&p, 1, ms);
        if (r > 0) return 0;
        if (r == 0) return -1;
        if (errno != EINTR) return -1;
    }
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) { p += w; n -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { if (wait_fd(fd, POLLOUT)) return -1; continue; }
        return -1;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r > 0) { p += r; n -= (size_t)r; continue; }
        if (r == 0) return -1; /* short read: the daemon closed early */
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) { if (wait_fd(fd, POLLIN)) return -1; continue; }
        return -1;
    }
    return 0;
}

/* Connects within the connect timeout. Returns the fd, or -1 with errno (ENOENT/ECONNREFUSED: no daemon). */
static int connect_daemon(const char *path, int connect_ms) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    if (errno == EINPROGRESS || errno == EAGAIN) {
        long long saved = deadline_ms;
        if (now_ms() + connect_ms < deadline_ms) deadline_ms = now_ms() + connect_ms;
        int ok = wait_fd(fd, POLLOUT);
        deadline_ms = saved;
        int err = 0;
        socklen_t len = sizeof err;
        if (ok == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) return fd;
        errno = err ? err : ETIMEDOUT;
    }
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return -1;
}

/* Starts `node mnemo daemon` in its own session, detached, for the next hook; never waits for it. */
static void autostart(void) {
    /* MNEMO_NO_AUTOSTART=1: the daemon is managed elsewhere (a service unit, a test); never start one from a hook. */
    const char *off = getenv("MNEMO_NO_AUTOSTART");
    if (off && *off && strcmp(off, "0") != 0) { log_line("not starting a daemon (MNEMO_NO_AUTOSTART is set)"); return; }
    char stamp[PATH_MAX];
    mkdirs(runtime_dir);
    if (join_path(stamp, sizeof stamp, runtime_dir, "autostart.stamp") != 0) return;
    struct stat st;
    /* A daemon that cannot start must not be respawned by every hook. */
    if (stat(stamp, &st) == 0 && time(NULL) - st.st_mtime < AUTOSTART_BACKOFF_S) return;
    int sfd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (sfd >= 0) close(sfd);
    const char *node = getenv("MNEMO_NODE");
    const char *cli = getenv("MNEMO_CLI");
    if (!node || !*node) node = MNEMO_NODE;
    if (!cli || !*cli) cli = MNEMO_CLI;
    if (!*cli) { log_line("cannot autostart: the CLI path is unknown (set MNEMO_CLI)"); return; }
    pid_t pid = fork();
    if (pid < 0) return;
    if (pid == 0) {
        setsid();
        pid_t again = fork();
        if (again != 0) _exit(0);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); if (devnull > 2) close(devnull); }
        execlp(node, node, cli, "daemon", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
    log_line("daemon not running; started it for the next call");
}

/* Reads all of stdin within the deadline; -2 when it is larger than `limit`. */
static int read_stdin_nonblocking(buf_t *in, size_t limit) {
    uint8_t chunk[65536];
    for (;;) {
        ssize_t r = read(0, chunk, sizeof chunk);
        if (r > 0) {
            if (in->len + (size_t)r > limit) return -2;
            buf_put(in, chunk, (size_t)r);
            if (in->failed) return -1;
            continue;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) { if (wait_fd(0, POLLIN)) return -1; continue; }
        if (errno == EBADF) return 0; /* no stdin at all: an empty payload */
        return -1;
    }
}

/* Reads stdin within the deadline, its blocking mode restored however it ends (it may be a shared terminal). */
static int read_stdin(buf_t *in, size_t limit) {
    int fl = fcntl(0, F_GETFL);
    if (fl >= 0) fcntl(0, F_SETFL, fl | O_NONBLOCK);
    int r = read_stdin_nonblocking(in, limit);
    if (fl >= 0) fcntl(0, F_SETFL, fl);
    return r;
}

static int usage(void) {
    fprintf(stderr, "usage: mnemo-client hook <Event> < hook.json\n"
                    "       mnemo-client call <op> [json-args] [--json]\n"
                    "       mnemo-client batch [--json] < calls.json\n"
                    "       mnemo-client paths\n");
    return 2;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) return usage();
    const char *mode = argv[1];
    if (strcmp(mode, "paths") == 0) {
        /* Where this client looks: the socket it connects to and the log it writes. */
        if (resolve_dirs() != 0) return 1;
        printf("socket %s/mnemo.sock\nclientLog %s/client.log\n", runtime_dir, log_dir);
        return 0;
    }
    int hook = strcmp(mode, "hook") == 0;
    int call = strcmp(mode, "call") == 0;
    int batch = strcmp(mode, "batch") == 0;
    if (!hook && !call && !batch) return usage();
    mode_name = mode;
    if (hook && argc < 3) {
        /* A hook set up without its event name still must not block anything: log it, print nothing, exit 0. */
        if (resolve_dirs() == 0) log_line("usage: mnemo-client hook <Event> (the event name is missing)");
        return 0;
    }
    if (call && argc < 3) return usage();
    int json = 0;
    for (int i = 2; i < argc; i++) if (strcmp(argv[i], "--json") == 0) json = 1;
    const int fail_status = hook ? 0 : 1;

    int total_ms = hook ? (strcmp(argv[2], "SessionStart") == 0 ? SESSION_START_TIMEOUT_MS : HOOK_TIMEOUT_MS) : CALL_TIMEOUT_MS;
    const char *env_timeout = getenv("MNEMO_CLIENT_TIMEOUT_MS");
    if (env_timeout && *env_timeout) {
        long v = strtol(env_timeout, NULL, 10);
        if (v > 0 && v < 3600000) total_ms = (int)v;
    }
    int connect_ms = CONNECT_TIMEOUT_MS < total_ms ? CONNECT_TIMEOUT_MS : total_ms;
    const char *env_connect = getenv("MNEMO_CLIENT_CONNECT_MS");
    if (env_connect && *env_connect) {
        long v = strtol(env_connect, NULL, 10);
        if (v > 0 && v < 600000) connect_ms = (int)v;
    }
    deadline_ms = now_ms() + total_ms;

    if (resolve_dirs() != 0) return fail_status;
    char sock_path[PATH_MAX];
    if (join_path(sock_path, sizeof sock_path, runtime_dir, "mnemo.sock") != 0) return fail_status;

    /* The request body, built before connecting so a bad input never costs a connection. */
    buf_t in = {0}, req = {0};
    if (hook || batch) {
        int r = read_stdin(&in, MAX_FRAME - 4096);
        if (r == -2) {
            log_line("stdin is over the %u-byte frame limit; sent nothing", MAX_FRAME - 4096);
            if (!hook) fprintf(stderr, "mnemo-client: input is over the frame limit\n");
            return fail_status;
        }
        if (r != 0) { log_line("could not read stdin within the deadline"); return fail_status; }
    }
    mp_map(&req, 4);
    mp_cstr(&req, "id");
    mp_uint(&req, 1);
    mp_cstr(&req, "op");
    if (hook) {
        mp_cstr(&req, "hook");
        mp_cstr(&req, "args");
        mp_map(&req, 2);
        mp_cstr(&req, "event");
        mp_cstr(&req, argv[2]);
        mp_cstr(&req, "payload");
        mp_bin(&req, in.data ? in.data : (const uint8_t *)"", in.len);
        mp_cstr(&req, "render");
        mp_cstr(&req, "value");
    } else if (call) {
        mp_cstr(&req, argv[2]);
        const char *args = "{}";
        for (int i = 3; i < argc; i++) if (strcmp(argv[i], "--json") != 0) { args = argv[i]; break; }
        mp_cstr(&req, "args_json");
        mp_cstr(&req, args);
        mp_cstr(&req, "render");
        mp_cstr(&req, json ? "json" : "text");
    } else {
        mp_cstr(&req, "batch");
        buf_t a = {0};
        buf_put(&a, "{\"calls\":", 9);
        buf_put(&a, in.len ? (const char *)in.data : "null", in.len ? in.len : 4);
        buf_put(&a, "}", 1);
        mp_cstr(&req, "args_json");
        mp_str(&req, (const char *)a.data, a.len);
        mp_cstr(&req, "render");
        mp_cstr(&req, json ? "json" : "text");
        free(a.data);
    }
    if (req.failed || req.len > MAX_FRAME) { log_line("request too large or out of memory"); return fail_status; }

    int fd = connect_daemon(sock_path, connect_ms);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ECONNREFUSED) autostart();
        log_line("cannot connect to %s: %s", sock_path, strerror(e));
        if (!hook) fprintf(stderr, "mnemo-client: the mnemo daemon is not running (%s)%s\n", strerror(e),
                           e == ENOENT || e == ECONNREFUSED ? "; starting it" : "");
        return fail_status;
    }
    uint8_t head[4] = {(uint8_t)(req.len >> 24), (uint8_t)(req.len >> 16), (uint8_t)(req.len >> 8), (uint8_t)req.len};
    if (write_all(fd, head, 4) || write_all(fd, req.data, req.len)) {
        log_line("send failed: %s", remaining_ms() == 0 ? "deadline passed" : strerror(errno));
        if (!hook) fprintf(stderr, "mnemo-client: sending to the daemon failed\n");
        return fail_status;
    }
    if (read_all(fd, head, 4)) {
        log_line("no reply: %s", remaining_ms() == 0 ? "deadline passed" : "connection closed");
        if (!hook) fprintf(stderr, "mnemo-client: no reply from the daemon within %d ms\n", total_ms);
        return fail_status;
    }
    uint32_t n = be(head, 4);
    if (n == 0 || n > MAX_REPLY) { log_line("reply frame of %u bytes is out of bounds", n); return fail_status; }
    uint8_t *body = malloc(n);
    if (!body || read_all(fd, body, n)) {
        log_line("short reply");
        if (!hook) fprintf(stderr, "mnemo-client: the reply was cut short\n");
        return fail_status;
    }
    close(fd);

    rd_t r = {body, body + n};
    uint32_t keys;
    int ok = -1;
    const char *out = NULL, *code = "?", *msg = "";
    uint32_t out_len = 0, code_len = 1, msg_len = 0;
    long long exit_code = 0, reply_id = -1;
    if (rd_map(&r, &keys)) { log_line("reply is not a map"); return fail_status; }
    for (uint32_t i = 0; i < keys; i++) {
        const char *k;
        uint32_t kn;
        if (rd_str(&r, &k, &kn)) { log_line("garbled reply"); return fail_status; }
        if (key_is(k, kn, "id")) {
            if (rd_int(&r, &reply_id)) { log_line("garbled reply"); return fail_status; }
        } else if (key_is(k, kn, "ok")) {
            if (rd_need(&r, 1) || (*r.p != 0xc2 && *r.p != 0xc3)) { log_line("garbled reply"); return fail_status; }
            ok = *r.p == 0xc3;
            r.p++;
        } else if (key_is(k, kn, "result") && is_map(&r)) {
            uint32_t rk;
            if (rd_map(&r, &rk)) { log_line("garbled reply"); return fail_status; }
            for (uint32_t j = 0; j < rk; j++) {
                const char *f;
                uint32_t fn;
                if (rd_str(&r, &f, &fn)) { log_line("garbled reply"); return fail_status; }
                if (key_is(f, fn, "stdout")) { if (rd_str(&r, &out, &out_len)) { log_line("garbled reply"); return fail_status; } }
                else if (key_is(f, fn, "exitCode")) { if (rd_int(&r, &exit_code)) { log_line("garbled reply"); return fail_status; } }
                else if (rd_skip(&r, 0)) { log_line("garbled reply"); return fail_status; }
            }
        } else if (key_is(k, kn, "result") && rd_str(&r, &out, &out_len) == 0) {
            /* call and batch: the daemon rendered the text */
        } else if (key_is(k, kn, "error") && is_map(&r)) {
            uint32_t ek;
            if (rd_map(&r, &ek)) { log_line("garbled reply"); return fail_status; }
            for (uint32_t j = 0; j < ek; j++) {
                const char *f;
                uint32_t fn;
                if (rd_str(&r, &f, &fn)) { log_line("garbled reply"); return fail_status; }
                if (key_is(f, fn, "code")) { if (rd_str(&r, &code, &code_len)) return fail_status; }
                else if (key_is(f, fn, "message")) { if (rd_str(&r, &msg, &msg_len)) return fail_status; }
                else if (rd_skip(&r, 0)) return fail_status;
            }
        } else if (rd_skip(&r, 0)) {
            log_line("garbled reply");
            return fail_status;
        }
    }
    if (ok == 1 && reply_id != 1) {
        /* Only this client's one request (id 1) is answered on its connection; anything else is not its reply. */
        log_line("a reply with id %lld is not the answer to this request (id 1)", reply_id);
        if (!hook) fprintf(stderr, "mnemo-client: the daemon answered another request\n");
        return fail_status;
    }
    if (ok != 1) {
        log_line("error reply %.*s: %.*s", (int)code_len, code, (int)(msg_len > 300 ? 300 : msg_len), msg);
        if (!hook) fprintf(stderr, "mnemo-client: %.*s (%.*s)\n", (int)msg_len, msg, (int)code_len, code);
        return fail_status;
    }
    if (out && out_len > 0) {
        fwrite(out, 1, out_len, stdout);
        if (!hook && out[out_len - 1] != '\n') fputc('\n', stdout);
    }
    if (fflush(stdout) != 0) return fail_status;
    if (!hook) return 0;
    /* Exit status 2 would block the prompt or the tool call: mnemo never does that, whatever a reply says. */
    if (exit_code == 2 || exit_code < 0 || exit_code > 255) {
        log_line("daemon asked for exit status %lld; exiting 0", exit_code);
        return 0;
    }
    return (int)exit_code;
}
