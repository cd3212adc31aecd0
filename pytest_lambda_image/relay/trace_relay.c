/*
 * trace_relay: gives the runtime the invoke's trace id, which the RIE reads
 * from the invoke request (X-Amzn-Trace-Id) but never renders as
 * Lambda-Runtime-Trace-Id (its sandbox uses a no-op tracer).
 *
 * The RIE does pass X-Amz-Tenant-Id on to the runtime, unchanged, as
 * Lambda-Runtime-Aws-Tenant-Id: the plugin sends the trace id there too,
 * behind a prefix, and this relay turns that header of each
 * /invocation/next answer into Lambda-Runtime-Trace-Id. Invokes do not
 * pass through it; only the runtime's own requests do.
 *
 *   trace_relay front <rie> [rie args...]
 *       Container entrypoint (PID 1). Serves the Runtime API to the runtime
 *       on 127.0.0.1:9002, passing requests on to the RIE's at
 *       127.0.0.1:9001; runs the RIE as its child; exits as the RIE does.
 *   trace_relay exec <bootstrap> [args...]
 *       What the RIE starts as the bootstrap: points AWS_LAMBDA_RUNTIME_API
 *       at the relay and execs the real bootstrap (the runtime stays the
 *       RIE's own child).
 *
 * Each connection is served by one thread, one request and its answer at
 * a time (runtime API clients never pipeline). Bodies are forwarded by
 * Content-Length or chunked framing as they arrive.
 *
 *   trace_relay front --init-budget <s> <rie> [rie args...]
 *       Also keeps Lambda's phases, which the RIE runs under one timer (an
 *       init counts against the first invoke's timeout there): the init gets
 *       its own <s> seconds, and each invoke the function timeout from the
 *       moment the runtime receives it. The RIE's own timer is set past both;
 *       this relay stops a runtime that overruns (see keeper below). Lambda
 *       stops an init over budget and runs it again inside the first invoke,
 *       init and invoke together under the function timeout; the RIE cannot
 *       start a runtime again within an invoke, so the init goes on and is
 *       held to what the retry would have to meet: done within the function
 *       timeout of its start (a timeout at Lambda's moment when it cannot be).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RIE_API_PORT 9001
#define RELAY_API_PORT 9002
#define HEAD_MAX 65536
#define CARRIER "Lambda-Runtime-Aws-Tenant-Id"
#define CARRIER_PREFIX "pytest-lambda-image-trace="

static volatile pid_t rie_pid;

/* The phase keeper: what the runtime is doing and when it must be done. */
enum phase { IDLE, INIT, INVOKE };
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    long timeout_ms, budget_ms; /* 0: not keeping phases */
    pid_t pid, pgid;            /* the runtime's, from its start notice */
    enum phase phase;
    int retry; /* the init ran past its budget: it now stands for Lambda's retry inside the invoke */
    long long started, delivered, deadline; /* monotonic ms; deadline 0: none */
    char request_id[128];
} keeper = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static long long now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct conn {
    int client;
    int upstream_port;
};

struct reader {
    int fd;
    char buf[HEAD_MAX];
    size_t start, end;
};

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Where a message goes: its head is held back and sent together with the
 * first piece of its body, one segment instead of two (each segment costs
 * the receiver a wake-up, which is most of what a hop costs). */
struct sink {
    int fd;
    const char *pending;
    size_t pending_len;
};

static int sink_write(struct sink *s, const char *data, size_t len) {
    if (s->pending_len == 0) return write_all(s->fd, data, len);
    struct iovec iov[2] = {{(void *)s->pending, s->pending_len}, {(void *)data, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    do n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    size_t sent = (size_t)n, head = s->pending_len;
    s->pending_len = 0;
    if (sent < head) {
        if (write_all(s->fd, s->pending + sent, head - sent) < 0) return -1;
        sent = head;
    }
    return write_all(s->fd, data + (sent - head), len - (sent - head));
}

static int sink_flush(struct sink *s) {
    size_t len = s->pending_len;
    s->pending_len = 0;
    return len ? write_all(s->fd, s->pending, len) : 0;
}

static int fill(struct reader *r) {
    if (r->start > 0 && r->start == r->end) r->start = r->end = 0;
    if (r->end == sizeof r->buf) {
        if (r->start == 0) return -1;
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    for (;;) {
        ssize_t n = recv(r->fd, r->buf + r->end, sizeof r->buf - r->end, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        r->end += (size_t)n;
        return 0;
    }
}

/* The head (up to and including the blank line), copied into head. */
static int read_head(struct reader *r, char *head, size_t *len) {
    for (;;) {
        char *found = memmem(r->buf + r->start, r->end - r->start, "\r\n\r\n", 4);
        if (found) {
            size_t n = (size_t)(found + 4 - (r->buf + r->start));
            memcpy(head, r->buf + r->start, n);
            head[n] = 0;
            *len = n;
            r->start += n;
            return 0;
        }
        if (fill(r) < 0) return -1;
    }
}

/* A header's value (first occurrence, any case), or NULL. */
static const char *header(const char *head, const char *name, size_t *len) {
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *value = line + name_len + 1;
            while (*value == ' ' || *value == '\t') value++;
            const char *end = strstr(value, "\r\n");
            *len = (size_t)(end - value);
            while (*len > 0 && (value[*len - 1] == ' ' || value[*len - 1] == '\t')) (*len)--;
            return value;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

static int forward_exact(struct reader *r, struct sink *out, unsigned long long count) {
    while (count > 0) {
        if (r->start == r->end && fill(r) < 0) return -1;
        size_t n = r->end - r->start;
        if (n > count) n = (size_t)count;
        if (sink_write(out, r->buf + r->start, n) < 0) return -1;
        r->start += n;
        count -= n;
    }
    return 0;
}

static int forward_line(struct reader *r, struct sink *out, char *line, size_t cap) {
    for (;;) {
        char *found = memmem(r->buf + r->start, r->end - r->start, "\r\n", 2);
        if (found) {
            size_t n = (size_t)(found + 2 - (r->buf + r->start));
            if (n >= cap) return -1;
            memcpy(line, r->buf + r->start, n);
            line[n] = 0;
            r->start += n;
            return sink_write(out, line, n);
        }
        if (fill(r) < 0) return -1;
    }
}

static int forward_chunked(struct reader *r, struct sink *out) {
    char line[1024];
    for (;;) {
        if (forward_line(r, out, line, sizeof line) < 0) return -1;
        unsigned long long size = strtoull(line, NULL, 16);
        if (size == 0) break;
        if (forward_exact(r, out, size + 2) < 0) return -1;
    }
    for (;;) { /* trailers, then the blank line */
        if (forward_line(r, out, line, sizeof line) < 0) return -1;
        if (strcmp(line, "\r\n") == 0) return 0;
    }
}

/* 1: the message ends with the connection; 0: framed; -1: error. */
static int forward_body(struct reader *r, struct sink *out, const char *head, int is_response, int bodiless) {
    size_t len;
    const char *value;
    if (bodiless) return sink_flush(out);
    value = header(head, "Transfer-Encoding", &len);
    if (value && len >= 7 && strncasecmp(value + len - 7, "chunked", 7) == 0) return forward_chunked(r, out);
    value = header(head, "Content-Length", &len);
    if (value) {
        unsigned long long length = strtoull(value, NULL, 10);
        return length ? forward_exact(r, out, length) : sink_flush(out);
    }
    if (!is_response) return sink_flush(out);
    if (sink_flush(out) < 0) return -1;
    while (r->start < r->end || fill(r) == 0) { /* until the upstream closes */
        if (write_all(out->fd, r->buf + r->start, r->end - r->start) < 0) return -1;
        r->start = r->end;
    }
    return 1;
}

static int connect_local(int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* -- the phase keeper ------------------------------------------------------ */

/* A runtime process starts (its `exec` side says so): its init begins, with
 * the init budget. */
static void keeper_started(pid_t pid, pid_t pgid) {
    pthread_mutex_lock(&keeper.lock);
    keeper.pid = pid;
    keeper.pgid = pgid;
    keeper.phase = INIT;
    keeper.retry = 0;
    keeper.started = now_ms(CLOCK_MONOTONIC);
    keeper.deadline = keeper.started + keeper.budget_ms;
    keeper.request_id[0] = 0;
    pthread_cond_signal(&keeper.changed);
    pthread_mutex_unlock(&keeper.lock);
}

/* The runtime asks for its next invoke: its init (or its invoke) is over. A
 * retried init keeps its deadline: init and invoke share the function timeout. */
static void keeper_waiting(void) {
    pthread_mutex_lock(&keeper.lock);
    keeper.phase = IDLE;
    if (!keeper.retry) keeper.deadline = 0;
    pthread_mutex_unlock(&keeper.lock);
}

/* The runtime receives invoke `id`: the function timeout runs from now. The
 * deadline as Lambda-Runtime-Deadline-Ms (wall-clock ms). */
static long long keeper_delivered(const char *id, size_t id_len) {
    pthread_mutex_lock(&keeper.lock);
    long long now = now_ms(CLOCK_MONOTONIC);
    keeper.phase = INVOKE;
    keeper.delivered = now;
    if (!keeper.retry) keeper.deadline = now + keeper.timeout_ms; /* a retry's runs from its init */
    keeper.retry = 0;
    if (id_len >= sizeof keeper.request_id) id_len = sizeof keeper.request_id - 1;
    memcpy(keeper.request_id, id, id_len);
    keeper.request_id[id_len] = 0;
    long long wall = now_ms(CLOCK_REALTIME) + (keeper.deadline - now);
    pthread_cond_signal(&keeper.changed);
    pthread_mutex_unlock(&keeper.lock);
    return wall;
}

/* The RIE took the runtime's /response or /error: the invoke is done. */
static void keeper_answered(void) {
    pthread_mutex_lock(&keeper.lock);
    if (keeper.phase == INVOKE) {
        keeper.phase = IDLE;
        keeper.deadline = 0;
    }
    pthread_mutex_unlock(&keeper.lock);
}

/* Past the deadline (keeper.lock held). An init past its budget becomes
 * Lambda's retry: it must be done within the function timeout of its start,
 * which it cannot be when that is no longer than the budget (it then times
 * out now, where Lambda's retry would time out a function timeout later).
 * Otherwise: say so as Lambda's log would, and for the plugin in the RIE's
 * words, and stop the runtime; the RIE sees it exit and starts a new one for
 * the next invoke. */
static void keeper_overrun(void) {
    char out[1024];
    int n = 0;
    long long now = now_ms(CLOCK_MONOTONIC);
    double limit_s = (double)keeper.timeout_ms / 1000;
    if (keeper.phase == INIT && !keeper.retry) {
        n = snprintf(out, sizeof out, "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: timeout\n",
                     (double)(now - keeper.started));
        if (write(1, out, (size_t)n) < 0) { /* nothing to do about it */ }
        n = 0;
        keeper.retry = 1;
        keeper.deadline = keeper.started + keeper.timeout_ms;
        if (keeper.timeout_ms > keeper.budget_ms) return;
    }
    {
        char line[160];
        int m = snprintf(line, sizeof line, "[DEBUG] (rapid) Invoke() timeout: Task timed out after %.2f seconds (the trace relay keeps the function timeout)\n", limit_s);
        if (write(2, line, (size_t)m) < 0) { /* nothing to do about it */ }
        if (keeper.request_id[0]) {
            time_t wall = time(NULL);
            struct tm utc;
            char stamp[32];
            const char *memory = getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
            double ran = (double)(now - (keeper.phase == INVOKE ? keeper.delivered : keeper.started));
            gmtime_r(&wall, &utc);
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
            memory = memory && *memory ? memory : "3008";
            n = snprintf(out, sizeof out,
                         "%s.%03lldZ %s Task timed out after %.2f seconds\nEND RequestId: %s\nREPORT RequestId: %s\t"
                         "Duration: %.2f ms\tBilled Duration: %.0f ms\tMemory Size: %s MB\tMax Memory Used: %s MB\t"
                         "Status: timeout\n",
                         stamp, now_ms(CLOCK_REALTIME) % 1000, keeper.request_id, limit_s, keeper.request_id,
                         keeper.request_id, ran, ran, memory, memory); /* whole ms: billed as run */
        }
    }
    if (n > 0 && write(1, out, (size_t)(n < (int)sizeof out ? n : (int)sizeof out - 1)) < 0) { /* as above */ }
    if (keeper.pid > 0) kill(keeper.pgid > 1 && keeper.pgid == keeper.pid ? -keeper.pgid : keeper.pid, SIGKILL);
    keeper.pid = 0;
    keeper.phase = IDLE;
    keeper.deadline = 0;
    keeper.retry = 0;
}

static void *watchdog(void *arg) {
    (void)arg;
    pthread_mutex_lock(&keeper.lock);
    for (;;) {
        if (keeper.deadline == 0) {
            pthread_cond_wait(&keeper.changed, &keeper.lock);
            continue;
        }
        long long now = now_ms(CLOCK_MONOTONIC);
        if (now < keeper.deadline) {
            struct timespec until = {(time_t)(keeper.deadline / 1000), (long)(keeper.deadline % 1000) * 1000000};
            pthread_cond_timedwait(&keeper.changed, &keeper.lock, &until);
            continue;
        }
        keeper_overrun();
    }
    return NULL;
}

/* The `exec` side's notice that a runtime process starts: "<pid> <pgid>". */
static void take_start_notice(struct reader *r, int client, const char *head) {
    size_t len;
    const char *value = header(head, "Content-Length", &len);
    size_t want = value ? (size_t)strtoul(value, NULL, 10) : 0;
    char body[64] = {0};
    if (want >= sizeof body) want = sizeof body - 1;
    while (r->end - r->start < want && fill(r) == 0) {}
    if (r->end - r->start >= want) {
        memcpy(body, r->buf + r->start, want);
        r->start += want;
        int pid = 0, pgid = 0;
        if (sscanf(body, "%d %d", &pid, &pgid) == 2 && pid > 0) keeper_started(pid, pgid);
    }
    write_all(client, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 46);
}

/* Tell the front this runtime process starts (the init's clock starts). */
static void notify_start(void) {
    int fd = connect_local(RELAY_API_PORT);
    if (fd < 0) return;
    char body[64], message[256], answer[256];
    int body_len = snprintf(body, sizeof body, "%d %d", (int)getpid(), (int)getpgrp());
    int n = snprintf(message, sizeof message,
                     "POST /pytest-lambda-image/runtime-start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s", body_len, body);
    if (write_all(fd, message, (size_t)n) == 0)
        while (recv(fd, answer, sizeof answer, 0) > 0) {}
    close(fd);
}

/* Replace the value of header `name` in a NUL-terminated head of `len` bytes
 * (room for `cap`); returns the new length. */
static size_t set_header(char *head, size_t len, size_t cap, const char *name, const char *value) {
    size_t old_len;
    const char *old = header(head, name, &old_len);
    size_t new_len = strlen(value);
    if (!old || len - old_len + new_len >= cap) return len;
    char *at = (char *)old;
    memmove(at + new_len, at + old_len, len - (size_t)(at + old_len - head) + 1);
    memcpy(at, value, new_len);
    return len - old_len + new_len;
}

/* An answer's head; a /next answer's carried trace id becomes its
 * Lambda-Runtime-Trace-Id (and the carrier header goes). */
static size_t rewrite_head(const char *head, size_t len, int is_next, char *out) {
    size_t value_len, ignored, prefix_len = strlen(CARRIER_PREFIX);
    const char *value = is_next ? header(head, CARRIER, &value_len) : NULL;
    if (!value || value_len <= prefix_len || strncmp(value, CARRIER_PREFIX, prefix_len) != 0) {
        memcpy(out, head, len);
        return len;
    }
    /* The carrier line goes in any case (the function must never see it as
     * its tenant id); the trace id is added unless the RIE gave one. */
    int has_trace = header(head, "Lambda-Runtime-Trace-Id", &ignored) != NULL;
    const char *line = value;
    while (line > head && line[-1] != '\n') line--; /* the carrier line starts here */
    const char *next_line = strstr(value, "\r\n") + 2;
    size_t n = (size_t)(line - head);
    memcpy(out, head, n);
    if (!has_trace) {
        memcpy(out + n, "Lambda-Runtime-Trace-Id: ", 25);
        n += 25;
        memcpy(out + n, value + prefix_len, value_len - prefix_len);
        n += value_len - prefix_len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    memcpy(out + n, next_line, len - (size_t)(next_line - head));
    return n + len - (size_t)(next_line - head);
}

/* A client waiting for "100 Continue" (curl does, for large bodies) gets it
 * from here, and the RIE never sees the Expect header: it would answer
 * with an interim response this relay does not pass on. */
static int answer_expect(int client, char *head, size_t *len) {
    size_t value_len;
    const char *value = header(head, "Expect", &value_len);
    if (!value || value_len != 12 || strncasecmp(value, "100-continue", 12) != 0) return 0;
    char *line = (char *)value;
    while (line > head && line[-1] != '\n') line--;
    char *next_line = strstr(value, "\r\n") + 2;
    memmove(line, next_line, *len - (size_t)(next_line - head) + 1);
    *len -= (size_t)(next_line - line);
    return write_all(client, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Wait for the RIE's answer, watching the runtime's side too: a runtime
 * that goes away while its /next waits (the RIE killed it after a timeout
 * or crash) must take its request with it, or the RIE would hand the next
 * invoke to a /next nobody reads. -1: the runtime hung up. */
static int await_answer(struct reader *up, int client) {
    if (up->start < up->end) return 0;
    struct pollfd fds[2] = {{up->fd, POLLIN, 0}, {client, POLLIN | POLLRDHUP, 0}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (fds[0].revents) return 0;
        if (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) return -1;
        if (fds[1].revents & POLLIN) {
            char probe;
            ssize_t got = recv(client, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
            if (got == 0) return -1;
            fds[1].events = 0; /* data ahead of our answer: it waits in the socket */
        }
    }
}

static void *serve(void *arg) {
    struct conn *c = arg;
    struct reader *down = malloc(sizeof *down), *up = malloc(sizeof *up);
    char *head = malloc(HEAD_MAX + 1), *rewritten = malloc(HEAD_MAX + 64);
    int upstream = -1;
    if (!down || !up || !head || !rewritten) goto done;
    down->fd = c->client;
    down->start = down->end = 0;
    upstream = connect_local(c->upstream_port);
    if (upstream < 0) goto done;
    up->fd = upstream;
    up->start = up->end = 0;
    for (;;) {
        size_t len;
        if (read_head(down, head, &len) < 0) break;
        if (strncmp(head, "POST /pytest-lambda-image/runtime-start ", 40) == 0) {
            take_start_notice(down, c->client, head);
            break;
        }
        if (answer_expect(c->client, head, &len) < 0) break;
        int is_head = strncmp(head, "HEAD ", 5) == 0;
        const char *line_end = strstr(head, "\r\n");
        const char *next = strstr(head, "/invocation/next ");
        int is_next = strncmp(head, "GET ", 4) == 0 && next != NULL && next < line_end;
        const char *result = strstr(head, "/runtime/invocation/");
        int is_result = strncmp(head, "POST ", 5) == 0 && result != NULL && result < line_end;
        if (is_next && keeper.timeout_ms) keeper_waiting();
        struct sink to_rie = {upstream, head, len};
        if (forward_body(down, &to_rie, head, 0, 0) < 0) break;
        if (await_answer(up, c->client) < 0) break;
        if (read_head(up, head, &len) < 0) break;
        int status = len > 12 ? atoi(head + 9) : 0;
        int bodiless = is_head || status == 204 || status == 304 || (status >= 100 && status < 200);
        size_t out_len = rewrite_head(head, len, is_next && status == 200, rewritten);
        rewritten[out_len] = 0;
        size_t id_len;
        const char *id = is_next && status == 200 && keeper.timeout_ms
                             ? header(head, "Lambda-Runtime-Aws-Request-Id", &id_len) : NULL;
        if (id) {
            char deadline[32];
            snprintf(deadline, sizeof deadline, "%lld", keeper_delivered(id, id_len));
            out_len = set_header(rewritten, out_len, HEAD_MAX + 64, "Lambda-Runtime-Deadline-Ms", deadline);
        }
        if (is_result && keeper.timeout_ms) keeper_answered();
        struct sink to_runtime = {c->client, rewritten, out_len};
        int closed = forward_body(up, &to_runtime, head, 1, bodiless);
        if (closed != 0) break;
        size_t conn_len;
        const char *connection = header(head, "Connection", &conn_len);
        if (connection && conn_len == 5 && strncasecmp(connection, "close", 5) == 0) break;
    }
done:
    if (upstream >= 0) close(upstream);
    close(c->client);
    free(down);
    free(up);
    free(head);
    free(rewritten);
    free(c);
    return NULL;
}

struct listener {
    int fd;
    int upstream_port;
};

static void *accept_loop(void *arg) {
    struct listener *l = arg;
    for (;;) {
        int client = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL;
        }
        int one = 1;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        pthread_t thread;
        pthread_attr_t attr;
        if (!c) {
            close(client);
            continue;
        }
        c->client = client;
        c->upstream_port = l->upstream_port;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&thread, &attr, serve, c) != 0) {
            close(client);
            free(c);
        }
        pthread_attr_destroy(&attr);
    }
}

static int listen_on(uint32_t address, int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(address);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether a #! script's interpreter can be started: a `#!/bin/sh` bootstrap
 * in a FROM-scratch image has none, and exec fails as for a missing file. */
static int interpreter_present(const char *script) {
    char line[256];
    FILE *file = fopen(script, "rb");
    if (!file) return 0;
    size_t n = fread(line, 1, sizeof line - 1, file);
    fclose(file);
    line[n] = 0;
    char *start = line + 2;
    while (*start == ' ' || *start == '\t') start++;
    char *end = start;
    while (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') end++;
    *end = 0;
    return *start && access(start, X_OK) == 0;
}

/* The bootstrap's path as exec would find it (PATH for a bare name), if it
 * is a program exec can start (ELF or #!); else NULL. */
static char *runnable(const char *name, char *path, size_t cap) {
    char magic[4];
    if (strchr(name, '/')) {
        snprintf(path, cap, "%s", name);
    } else {
        const char *dirs = getenv("PATH");
        char *copy = strdup(dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        int found = 0;
        for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
            snprintf(path, cap, "%s/%s", *dir ? dir : ".", name);
            found = access(path, X_OK) == 0;
        }
        free(copy);
        if (!found) return NULL;
    }
    if (access(path, X_OK) != 0) return NULL;
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    size_t n = fread(magic, 1, sizeof magic, file);
    fclose(file);
    if (n >= 4 && memcmp(magic, "\x7f" "ELF", 4) == 0) return path;
    if (n >= 2 && memcmp(magic, "#!", 2) == 0 && interpreter_present(path)) return path;
    return NULL;
}

static const char *const default_paths[] = {"/var/task/bootstrap", "/opt/bootstrap", "/var/runtime/bootstrap"};

/* Where the RIE itself looks for a bootstrap when given no command. */
static const char *default_bootstrap(void) {
    char path[4096];
    for (size_t i = 0; i < 3; i++)
        if (access(default_paths[i], F_OK) == 0) return runnable(default_paths[i], path, sizeof path) ? default_paths[i] : NULL;
    return NULL;
}

static void pass_signal(int sig) {
    if (rie_pid > 0) kill(rie_pid, sig);
}

/* `--init-budget <s>`: keep Lambda's phases. The RIE's own timer goes past
 * the init budget plus the function timeout (it must never fire first); the
 * runtime is told the function timeout again by its `exec` side. */
static void keep_phases(long budget_s) {
    const char *configured = getenv("AWS_LAMBDA_FUNCTION_TIMEOUT");
    long timeout_s = configured ? strtol(configured, NULL, 10) : 300; /* the RIE's default */
    if (budget_s <= 0 || timeout_s <= 0) return;
    char value[32];
    snprintf(value, sizeof value, "%ld", timeout_s);
    setenv("PYTEST_LAMBDA_IMAGE_TIMEOUT", value, 1);
    snprintf(value, sizeof value, "%ld", timeout_s + budget_s + 2);
    setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", value, 1);
    keeper.timeout_ms = timeout_s * 1000;
    keeper.budget_ms = budget_s * 1000;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&keeper.changed, &attr);
    pthread_t thread;
    if (pthread_create(&thread, NULL, watchdog, NULL) != 0) keeper.timeout_ms = 0;
}

static int front(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[0], "--init-budget") == 0) {
        keep_phases(strtol(argv[1], NULL, 10));
        argc -= 2;
        argv += 2;
    }
    /* Listening before the RIE starts, so before any runtime can call. */
    struct listener runtime = {listen_on(INADDR_LOOPBACK, RELAY_API_PORT), RIE_API_PORT};
    if (runtime.fd < 0) {
        perror("trace_relay: listen");
        return 1;
    }
    char **rie_argv = calloc((size_t)argc + 1, sizeof *rie_argv);
    if (!rie_argv) return 1;
    rie_argv[0] = argv[0];
    int out = 1, seen = 0;
    for (int i = 1; i < argc; i++) {
        /* `<this binary> exec <bootstrap>`, the first such pair (an image's own
         * command may hold another, e.g. `bundle exec aws_lambda_ric`): kept
         * only when the bootstrap can be started, so that the RIE reports a
         * broken entrypoint in its own words. */
        if (!seen && i + 1 < argc && strcmp(argv[i + 1], "exec") == 0) {
            char path[4096];
            seen = 1;
            /* A working directory the runtime's user cannot enter fails the
             * exec too: the RIE must name the bootstrap, not this relay. */
            int enterable = access(".", X_OK) == 0;
            if (!enterable || (i + 2 < argc ? runnable(argv[i + 2], path, sizeof path) == NULL : !default_bootstrap())) {
                i += 1;
                continue;
            }
        }
        rie_argv[out++] = argv[i];
    }
    struct sigaction action = {.sa_handler = pass_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    sigaction(SIGQUIT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A stop signal between fork and rie_pid being set would be lost. */
    sigset_t stops, before;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGHUP);
    sigaddset(&stops, SIGQUIT);
    sigprocmask(SIG_BLOCK, &stops, &before);
    pid_t pid = fork();
    if (pid < 0) {
        perror("trace_relay: fork");
        return 1;
    }
    if (pid == 0) {
        close(runtime.fd);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &before, NULL); /* the RIE gets the signals it expects */
        execv(rie_argv[0], rie_argv);
        perror("trace_relay: exec the RIE");
        _exit(127);
    }
    rie_pid = pid;
    sigprocmask(SIG_SETMASK, &before, NULL);
    pthread_t thread;
    int failed = pthread_create(&thread, NULL, accept_loop, &runtime);
    if (failed) fprintf(stderr, "trace_relay: cannot serve the runtime API: %s\n", strerror(failed));
    for (;;) { /* PID 1: reap every orphan; leave when the RIE goes */
        int status;
        pid_t done = waitpid(-1, &status, 0);
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) return 1;
        if (done != pid) continue;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
    }
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "front") == 0) return front(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) {
        setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9002", 1);
        const char *timeout = getenv("PYTEST_LAMBDA_IMAGE_TIMEOUT");
        if (timeout) { /* the front keeps the phases: the runtime sees the function's own timeout */
            setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", timeout, 1);
            unsetenv("PYTEST_LAMBDA_IMAGE_TIMEOUT");
            notify_start();
        }
        if (argc == 2) { /* no command: where the RIE itself looks for a bootstrap */
            const char *found = default_bootstrap();
            char *args[] = {(char *)found, NULL};
            if (found) execv(found, args);
            fprintf(stderr, "trace_relay: no bootstrap in /var/task, /opt or /var/runtime\n");
            return 127;
        }
        char path[4096];
        if (runnable(argv[2], path, sizeof path)) execv(path, argv + 2);
        fprintf(stderr, "trace_relay: cannot run %s: %s\n", argv[2], strerror(errno));
        return 127;
    }
    fprintf(stderr, "usage: trace_relay front <rie> [args...] | exec <bootstrap> [args...]\n");
    return 2;
}
