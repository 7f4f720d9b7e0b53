/*
 * http_demo.h: the C API of libhttp_demo.so, the fibonacci HTTP server on
 * io_uring (ring-core). Build the library with
 *
 *     cargo build --release -p http-demo      # target/release/libhttp_demo.so
 *
 * and link with -lhttp_demo. See examples/c and examples/python.
 *
 * Every POST /<n> calls the handler with n; its return value is sent as a
 * JSON number. Handlers may block: they run on a pool of handler threads
 * (16), never on the I/O threads, so a slow call delays only its own
 * connection. Several run at once: they (and their user_data) must be safe
 * to call that way. server_listen* returns after the calls in progress have
 * returned.
 * Nothing in this API unwinds or aborts on bad input: errors are return codes.
 */
#ifndef HTTP_DEMO_H
#define HTTP_DEMO_H

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define HD_OK                   0
#define HD_ERR_INVALID         -1 /* bad port, NULL handler, bad address */
#define HD_ERR_ADDR_IN_USE     -2
#define HD_ERR_LISTEN          -3 /* other listen/bind failure */
#define HD_ERR_IO_URING        -4 /* io_uring unavailable or failed */
#define HD_ERR_INTERNAL        -5
#define HD_ERR_NOT_RUNNING     -6 /* server_stop: nothing on that port */
#define HD_ERR_ALREADY_RUNNING -7

typedef long (*server_handler)(long n);
typedef long (*server_handler_ex)(long n, void *user_data);
typedef void (*server_ready)(int bound_port, void *ready_data);

/* Serve on 0.0.0.0:port, one worker thread per CPU. Blocks until
 * server_stop(port) is called from another thread; returns HD_OK or an
 * HD_ERR_* code. A port this library already serves is HD_ERR_ALREADY_RUNNING
 * (checked before binding); a port another process listens on is
 * HD_ERR_ADDR_IN_USE (the port is never shared). */
int server_listen(int port, server_handler handler);

/* As server_listen, with a listen address (NULL: 0.0.0.0), a thread count
 * (0: one per CPU) and user_data passed to every handler call. */
int server_listen_ex(const char *addr, int port, unsigned threads,
                     server_handler_ex handler, void *user_data);

/* As server_listen_ex; once the server listens (before any request is
 * served) it calls ready(bound_port, ready_data) on the calling thread. The
 * way to learn the port when `port` is 0. */
int server_listen_ready(const char *addr, int port, unsigned threads,
                        server_handler_ex handler, void *user_data,
                        server_ready ready, void *ready_data);

/* Graceful stop of the server started on `port` (callable from any thread):
 * stop accepting, answer requests already received, then server_listen
 * returns. HD_OK or HD_ERR_NOT_RUNNING. */
int server_stop(int port);

/* From inside a handler: n is outside the handler's domain -> 422 with
 * `reason` (NULL: a default text). The handler's return value is ignored. */
void server_reject(const char *reason);

/* From inside a handler: the handler failed -> 500 with `reason`. */
void server_fail(const char *reason);

/* A static description of a return code. */
const char *server_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* HTTP_DEMO_H */
