/* The liburing peer of the ring benchmark: the same NOP and read rounds as
 * the Rust implementations, written the way liburing users write them. */
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

struct lu {
    struct io_uring ring;
};

void *lu_setup(unsigned entries, int defer) {
    struct lu *l = calloc(1, sizeof(*l));
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    if (defer) p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(entries, &l->ring, &p) < 0) { free(l); return NULL; }
    if (defer) io_uring_register_ring_fd(&l->ring);
    return l;
}

void lu_free(void *p) {
    struct lu *l = p;
    io_uring_queue_exit(&l->ring);
    free(l);
}

/* `rounds` times: push `batch` NOPs, submit and wait for them, reap them.
 * 0 on success. */
int lu_nop_rounds(void *p, unsigned batch, unsigned long long rounds) {
    struct lu *l = p;
    for (unsigned long long r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < batch; i++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
            io_uring_prep_nop(sqe);
            sqe->user_data = i;
        }
        if (io_uring_submit_and_wait(&l->ring, batch) < 0) return -1;
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&l->ring, head, cqe) {
            if (cqe->res < 0) return -1;
            seen++;
        }
        io_uring_cq_advance(&l->ring, seen);
        if (seen != batch) return -1;
    }
    return 0;
}

/* `batch` 4 KiB reads of `fd` into `buf` (batch * 4096 bytes). */
int lu_read_round(void *p, int fd, char *buf, unsigned batch, unsigned long long base) {
    struct lu *l = p;
    for (unsigned i = 0; i < batch; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
        io_uring_prep_read(sqe, fd, buf + (size_t)i * 4096, 4096, (base + i) * 4096 % (1 << 20));
        sqe->user_data = i;
    }
    if (io_uring_submit_and_wait(&l->ring, batch) < 0) return -1;
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&l->ring, head, cqe) {
        if (cqe->res != 4096) return -1;
        seen++;
    }
    io_uring_cq_advance(&l->ring, seen);
    return seen == batch ? 0 : -1;
}
