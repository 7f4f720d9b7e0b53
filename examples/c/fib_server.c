/* The original example's experience in C: a fibonacci handler served over
 * HTTP by io_uring. Build and run from the repository root, after
 * cargo build --release -p http-demo (the rpath finds the library):
 *
 *   cc -O2 -o fib_server examples/c/fib_server.c -Ihttp-demo/include \
 *      -Ltarget/release -lhttp_demo -lpthread -Wl,-rpath,'$ORIGIN/target/release'
 *   ./fib_server 8000
 *   curl -X POST http://localhost:8000/15        # 610
 *
 * SIGINT/SIGTERM stop it gracefully. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_demo.h"

static long fibonacci(long n) {
    if (n < 0 || n > 92) {
        server_reject("n must be between 0 and 92");
        return 0;
    }
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) { long t = a + b; a = b; b = t; }
    return a;
}

static int port;
static sigset_t stop_signals;

static void *stop_on_signal(void *arg) {
    int sig;
    (void)arg;
    if (sigwait(&stop_signals, &sig) == 0) server_stop(port);
    return NULL;
}

int main(int argc, char **argv) {
    port = argc > 1 ? atoi(argv[1]) : 8000;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL); /* inherited by workers */
    pthread_t t;
    pthread_create(&t, NULL, stop_on_signal, NULL);
    printf("serving fibonacci on port %d\n", port);
    fflush(stdout);
    int rc = server_listen(port, fibonacci);
    if (rc != HD_OK) fprintf(stderr, "server_listen: %s\n", server_strerror(rc));
    return rc == HD_OK ? 0 : 1;
}
