/*
 * A Lambda external extension as a static binary, for FROM-scratch test
 * images. It speaks the Extensions API over plain sockets. One binary is
 * copied into /opt/extensions under several names, and its file name picks
 * how it misbehaves, so a test image needs no shell and no per-case build:
 *   misnamed*     registers as "some-other-name" instead of its file name
 *   dies*         registers, then exit(3) on its first INVOKE event
 *   noregister*   exits 0 without ever registering
 *   otherwise     registers under its file name, follows events until SHUTDOWN
 * It prints one line per step to stdout so tests can find it in the logs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char host[64] = "127.0.0.1";
static int port = 9001;

/* One request per connection (Connection: close), so the whole response is
 * whatever arrives before EOF: no chunked or keep-alive parsing needed.
 * `out` keeps the status line and headers, for the caller to pick from. */
static int http(const char *method, const char *path, const char *header, const char *body, char *out,
                size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return -1;
    char head[512];
    size_t len = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                     method, path, host, port, header, len);
    if (write(fd, head, n) != n) return -1;
    if (len && write(fd, body, len) != (ssize_t)len) return -1;
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = read(fd, out + got, cap - 1 - got)) > 0) got += r;
    out[got] = 0;
    close(fd);
    int status = 0;
    sscanf(out, "HTTP/%*s %d", &status);
    return status;
}

int main(int argc, char **argv) {
    (void)argc;
    /* Unbuffered: the RIE may kill us at any time, and the lines must survive. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) { fprintf(stderr, "AWS_LAMBDA_RUNTIME_API is not set\n"); return 2; }
    sscanf(api, "%63[^:]:%d", host, &port);
    if (!strncmp(self, "noregister", 10)) {
        printf("extension %s exiting without registering\n", self);
        return 0;
    }
    const char *name = strncmp(self, "misnamed", 8) ? self : "some-other-name";
    int dies = !strncmp(self, "dies", 4);
    static char buf[1 << 16], header[256], id[128];
    snprintf(header, sizeof header, "Lambda-Extension-Name: %s", name);
    int status = http("POST", "/2020-01-01/extension/register", header, "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}",
                      buf, sizeof buf);
    static const char id_header[] = "\r\nLambda-Extension-Identifier:";
    char *h = strcasestr(buf, id_header);
    if (status != 200 || !h || sscanf(h + sizeof id_header - 1, " %127[^\r\n]", id) != 1) {
        /* Print the reply: a refused registration is what a test wants to see. */
        printf("extension %s register failed (HTTP %d): %s\n", name, status, buf);
        return 1;
    }
    printf("extension %s registered\n", name);
    snprintf(header, sizeof header, "Lambda-Extension-Identifier: %s", id);
    for (;;) {
        status = http("GET", "/2020-01-01/extension/event/next", header, NULL, buf, sizeof buf);
        if (status != 200) {
            printf("extension %s event/next failed (HTTP %d)\n", name, status);
            return 1;
        }
        /* The body is JSON; matching the quoted value is enough to tell the two events apart. */
        if (strstr(buf, "\"SHUTDOWN\"")) {
            printf("extension %s got SHUTDOWN\n", name);
            return 0;
        }
        if (strstr(buf, "\"INVOKE\"")) {
            printf("extension %s got INVOKE\n", name);
            if (dies) return 3;
        }
    }
}
