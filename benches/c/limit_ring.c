/* The "limit" peer of the ring benchmark: the least a program can do per
 * round with io_uring, written from the syscalls up. No liburing: it calls
 * io_uring_setup, mmap and io_uring_register once, and in the loop writes
 * SQEs, publishes the SQ tail, enters the kernel with an inline `syscall`
 * instruction and reads the CQ. Nothing is checked per entry that the
 * round does not need: the SQ index array is filled once at setup, and a
 * round submits only as many entries as the ring holds, so the SQ head is
 * never read (the enter's return value says all were consumed).
 *
 * Every implementation in the benchmark is compared with this one: what it
 * costs above it is the price of its abstractions. */
#include <linux/io_uring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A raw system call, inline: no libc wrapper, no errno. Returns the
 * kernel's value (negative errno on failure). */
static inline long sys6(long nr, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#else
#error "limit_ring.c: inline syscall written for x86_64 and aarch64 only"
#endif
}

struct limit {
    /* What io_uring_enter is called with: the ring fd, or its registered
     * index with IORING_ENTER_REGISTERED_RING in `enter_flags`. */
    int enter_fd;
    unsigned enter_flags;
    int ring_fd;
    int registered; /* 1 if `enter_fd` is a registered index */

    unsigned *sq_tail; /* written by us (store-release), read by the kernel */
    unsigned sq_mask;
    unsigned sq_local_tail;
    struct io_uring_sqe *sqes;

    unsigned *cq_head; /* written by us (store-release), read by the kernel */
    unsigned *cq_tail; /* written by the kernel (smp_store_release) */
    unsigned cq_mask;
    struct io_uring_cqe *cqes;

    void *ring_map;
    size_t ring_len;
    size_t sqes_len;
};

void limit_free(void *p);

/* A ring of `entries` slots; `defer` adds SINGLE_ISSUER | DEFER_TASKRUN and
 * a registered ring fd. NULL if the kernel refuses. */
void *limit_setup(unsigned entries, int defer) {
    struct limit *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->ring_fd = -1;
    l->ring_map = MAP_FAILED;
    l->sqes = MAP_FAILED;

    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    if (defer) p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    long fd = sys6(__NR_io_uring_setup, entries, (long)&p, 0, 0, 0, 0);
    if (fd < 0) goto fail;
    l->ring_fd = (int)fd;
    /* One mapping for both rings (Linux 5.4): the minimal layout. */
    if (!(p.features & IORING_FEAT_SINGLE_MMAP)) goto fail;

    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    l->ring_len = sq_len > cq_len ? sq_len : cq_len;
    l->ring_map = mmap(NULL, l->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                       l->ring_fd, IORING_OFF_SQ_RING);
    if (l->ring_map == MAP_FAILED) goto fail;
    l->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    l->sqes = mmap(NULL, l->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   l->ring_fd, IORING_OFF_SQES);
    if (l->sqes == MAP_FAILED) goto fail;

    char *ring = l->ring_map;
    l->sq_tail = (unsigned *)(ring + p.sq_off.tail);
    l->sq_mask = *(unsigned *)(ring + p.sq_off.ring_mask);
    l->sq_local_tail = *l->sq_tail;
    /* Slot i of the index array names SQE i, once and for all. */
    unsigned *array = (unsigned *)(ring + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;

    l->cq_head = (unsigned *)(ring + p.cq_off.head);
    l->cq_tail = (unsigned *)(ring + p.cq_off.tail);
    l->cq_mask = *(unsigned *)(ring + p.cq_off.ring_mask);
    l->cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);

    l->enter_fd = l->ring_fd;
    l->enter_flags = IORING_ENTER_GETEVENTS;
    if (defer) {
        /* offset -1: the kernel picks the index and writes it back. */
        struct io_uring_rsrc_update u = {.offset = -1U, .data = (unsigned long)l->ring_fd};
        if (sys6(__NR_io_uring_register, l->ring_fd, IORING_REGISTER_RING_FDS, (long)&u, 1, 0, 0) != 1)
            goto fail;
        l->enter_fd = (int)u.offset;
        l->registered = 1;
        l->enter_flags |= IORING_ENTER_REGISTERED_RING;
    }
    return l;
fail:
    limit_free(l);
    return NULL;
}

void limit_free(void *p) {
    struct limit *l = p;
    if (l->registered) {
        struct io_uring_rsrc_update u = {.offset = (unsigned)l->enter_fd};
        sys6(__NR_io_uring_register, l->ring_fd, IORING_UNREGISTER_RING_FDS, (long)&u, 1, 0, 0);
    }
    if (l->sqes != MAP_FAILED) munmap(l->sqes, l->sqes_len);
    if (l->ring_map != MAP_FAILED) munmap(l->ring_map, l->ring_len);
    if (l->ring_fd >= 0) close(l->ring_fd);
    free(l);
}

/* Publishes the SQ tail, submits `batch` entries and waits for `batch`
 * completions, then reaps them. Returns how many succeeded (res >= ok_res
 * for reads, res >= 0 for NOPs), or -1 if the enter failed or fell short. */
static inline int submit_reap(struct limit *l, unsigned batch, int want_res) {
    /* Pairs with the kernel's smp_load_acquire of the SQ tail. */
    __atomic_store_n(l->sq_tail, l->sq_local_tail, __ATOMIC_RELEASE);
    long ret = sys6(__NR_io_uring_enter, l->enter_fd, batch, batch, l->enter_flags, 0, 0);
    if (ret != (long)batch) return -1;
    unsigned head = *l->cq_head; /* only we write it */
    /* Pairs with the kernel's smp_store_release of the CQ tail. */
    unsigned tail = __atomic_load_n(l->cq_tail, __ATOMIC_ACQUIRE);
    int ok = 0;
    for (; head != tail; head++) {
        int res = l->cqes[head & l->cq_mask].res;
        ok += want_res < 0 ? res >= 0 : res == want_res;
    }
    /* Pairs with the kernel's read of the CQ head before it reuses slots. */
    __atomic_store_n(l->cq_head, head, __ATOMIC_RELEASE);
    return ok;
}

/* `rounds` times: write `batch` NOPs, submit and wait for them, reap them.
 * 0 on success. */
int limit_nop_rounds(void *p, unsigned batch, unsigned long long rounds) {
    struct limit *l = p;
    for (unsigned long long r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < batch; i++) {
            struct io_uring_sqe *sqe = &l->sqes[l->sq_local_tail++ & l->sq_mask];
            *sqe = (struct io_uring_sqe){.opcode = IORING_OP_NOP, .fd = -1, .user_data = i};
        }
        if (submit_reap(l, batch, -1) != (int)batch) return -1;
    }
    return 0;
}

/* `batch` 4 KiB reads of `fd` into `buf` (batch * 4096 bytes), at offsets
 * (base + i) * 4096 modulo 1 MiB. 0 on success. */
int limit_read_round(void *p, int fd, char *buf, unsigned batch, unsigned long long base) {
    struct limit *l = p;
    for (unsigned i = 0; i < batch; i++) {
        struct io_uring_sqe *sqe = &l->sqes[l->sq_local_tail++ & l->sq_mask];
        *sqe = (struct io_uring_sqe){
            .opcode = IORING_OP_READ,
            .fd = fd,
            .off = (base + i) * 4096 % (1 << 20),
            .addr = (unsigned long)(buf + (size_t)i * 4096),
            .len = 4096,
            .user_data = i,
        };
    }
    return submit_reap(l, batch, 4096) == (int)batch ? 0 : -1;
}
