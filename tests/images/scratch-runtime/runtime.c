/*
 * A custom Lambda runtime as a static binary, for FROM-scratch test images
 * (no shell, no RIE in the image). It speaks the Runtime API over plain
 * sockets and is steered by the event and by MODE:
 *   MODE=init-crash   exit(7) before asking for the first event
 *   MODE=init-error   report /init/error, then exit(1)
 *   event containing "crash"   exit(3) during the invoke
 *   event containing "sleep"   sleep 30 s (past any test timeout)
 *   event containing "fail"    report /invocation/<id>/error
 *   event containing "extra"   report an error document with fields of its own
 *   event containing "plain"   report a text (not JSON) error with a Lambda-Runtime-Function-Error-Type header
 *   event containing "lookalike"  answer /response with a document shaped like an error
 *   otherwise: answer {"argv": [...], "handler": "$_HANDLER", "machine": "x86_64", "trace": "<its
 *   Lambda-Runtime-Trace-Id>", "tenant": "<its Lambda-Runtime-Aws-Tenant-Id>", "event": <event>}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

static char host[64] = "127.0.0.1";
static char trace[512], tenant[512];  /* headers of the last /next answer */
static int port = 9001;

static int http_with(const char *method, const char *path, const char *extra_header, const char *body, char *out,
                     size_t cap, char *request_id) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return -1;
    char head[768];
    size_t len = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, host, port, extra_header ? extra_header : "", len);
    if (write(fd, head, n) != n) return -1;
    if (len && write(fd, body, len) != (ssize_t)len) return -1;
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = read(fd, out + got, cap - 1 - got)) > 0) got += r;
    out[got] = 0;
    close(fd);
    if (request_id) {
        request_id[0] = trace[0] = tenant[0] = 0;
        char *h = strcasestr(out, "Lambda-Runtime-Aws-Request-Id:");
        if (h) sscanf(h + 31, " %127[^\r\n]", request_id);
        if ((h = strcasestr(out, "Lambda-Runtime-Trace-Id:"))) sscanf(h + 24, " %511[^\r\n]", trace);
        if ((h = strcasestr(out, "Lambda-Runtime-Aws-Tenant-Id:"))) sscanf(h + 29, " %511[^\r\n]", tenant);
    }
    char *payload = strstr(out, "\r\n\r\n");
    if (payload) memmove(out, payload + 4, strlen(payload + 4) + 1);
    return 0;
}

static int http(const char *method, const char *path, const char *body, char *out, size_t cap, char *request_id) {
    return http_with(method, path, NULL, body, out, cap, request_id);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    const char *mode = getenv("MODE");
    if (!api) { fprintf(stderr, "AWS_LAMBDA_RUNTIME_API is not set\n"); return 2; }
    sscanf(api, "%63[^:]:%d", host, &port);
    printf("custom runtime starting, mode=%s\n", mode ? mode : "echo");
    if (mode && !strcmp(mode, "init-crash")) return 7;
    static char buf[1 << 20], reply[(1 << 20) + 4096], path[256], rid[128], argv_json[2048];
    if (mode && !strcmp(mode, "init-error")) {
        http("POST", "/2018-06-01/runtime/init/error",
             "{\"errorMessage\":\"custom init failed\",\"errorType\":\"Custom.InitError\"}", buf, sizeof buf, NULL);
        return 1;
    }
    size_t used = 0;
    used += snprintf(argv_json + used, sizeof argv_json - used, "[");
    for (int i = 0; i < argc && used < sizeof argv_json - 8; i++)
        used += snprintf(argv_json + used, sizeof argv_json - used, "%s\"%s\"", i ? "," : "", argv[i]);
    snprintf(argv_json + used, sizeof argv_json - used, "]");
    const char *handler = getenv("_HANDLER");
    struct utsname uts;
    uname(&uts);
    for (;;) {
        if (http("GET", "/2018-06-01/runtime/invocation/next", NULL, buf, sizeof buf, rid) != 0) return 5;
        printf("custom runtime invoked %s\n", rid);
        if (strstr(buf, "crash")) return 3;
        if (strstr(buf, "sleep")) sleep(30);
        if (strstr(buf, "extra")) {
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", rid);
            http("POST", path, "{\"errorType\":\"Custom.Failure\",\"errorMessage\":\"with details\",\"details\":{\"code\":42}}",
                 reply, sizeof reply, NULL);
            continue;
        }
        if (strstr(buf, "plain")) {
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", rid);
            http_with("POST", path, "Lambda-Runtime-Function-Error-Type: Custom.PlainText\r\n", "it broke, in plain text",
                      reply, sizeof reply, NULL);
            continue;
        }
        if (strstr(buf, "lookalike")) {
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", rid);
            http("POST", path, "{\"errorType\":\"NotAnError\",\"errorMessage\":\"just data\"}", reply, sizeof reply,
                 NULL);
            continue;
        }
        if (strstr(buf, "fail")) {
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", rid);
            http("POST", path, "{\"errorMessage\":\"asked to fail\",\"errorType\":\"Custom.Failure\"}", reply,
                 sizeof reply, NULL);
            continue;
        }
        snprintf(reply, sizeof reply,
                 "{\"argv\":%s,\"handler\":\"%s\",\"machine\":\"%s\",\"trace\":\"%s\",\"tenant\":\"%s\",\"event\":%s}",
                 argv_json, handler ? handler : "", uts.machine, trace, tenant, buf[0] ? buf : "null");
        snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", rid);
        http("POST", path, reply, buf, sizeof buf, NULL);
    }
}
