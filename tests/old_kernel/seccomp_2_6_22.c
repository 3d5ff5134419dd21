/*
 * Runs a program under the syscall surface of Linux 2.6.22 (docs/platforms.md):
 *   seccomp_2_6_22 PROGRAM [ARGS...]
 * - ENOSYS for syscalls that arrived after 2.6.22;
 * - ENOSYS for futex FUTEX_WAIT_BITSET / FUTEX_WAKE_BITSET (2.6.25);
 * - EINVAL for socket/socketpair with SOCK_CLOEXEC or SOCK_NONBLOCK (2.6.27).
 * x86_64 only: qemu-user cannot run under such a filter, so the x86_64-musl
 * build stands in for every musl target.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/* If the loaded value equals NR, return ENOSYS; else fall through. */
#define NOSYS_IF(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(ERRNO(ENOSYS))

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    struct sock_filter filter[] = {
        LOAD(offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_KILL_PROCESS),
        LOAD(offsetof(struct seccomp_data, nr)),
        NOSYS_IF(SYS_accept4), NOSYS_IF(SYS_pipe2), NOSYS_IF(SYS_dup3),
        NOSYS_IF(SYS_epoll_create1), NOSYS_IF(SYS_eventfd2), NOSYS_IF(SYS_signalfd4),
        NOSYS_IF(SYS_inotify_init1), NOSYS_IF(SYS_timerfd_create), NOSYS_IF(SYS_fallocate),
        NOSYS_IF(SYS_preadv), NOSYS_IF(SYS_pwritev), NOSYS_IF(SYS_recvmmsg),
        NOSYS_IF(SYS_sendmmsg), NOSYS_IF(SYS_getrandom), NOSYS_IF(SYS_statx),
        NOSYS_IF(SYS_prlimit64), NOSYS_IF(SYS_clone3), NOSYS_IF(SYS_rseq),
        NOSYS_IF(SYS_membarrier), NOSYS_IF(SYS_copy_file_range), NOSYS_IF(SYS_close_range),
        NOSYS_IF(SYS_openat2), NOSYS_IF(SYS_faccessat2), NOSYS_IF(SYS_pidfd_open),
        NOSYS_IF(SYS_memfd_create), NOSYS_IF(SYS_futex_waitv), NOSYS_IF(SYS_set_robust_list),
        /* futex: the op, without the private and clock flags, must not be a BITSET op. */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 6),
        LOAD(ARG_LO(1)),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(unsigned)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAIT_BITSET, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAKE_BITSET, 1, 0),
        RET(SECCOMP_RET_ALLOW),
        RET(ERRNO(ENOSYS)),
        /* socket and socketpair: no type flags before 2.6.27. */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 3),
        LOAD(ARG_LO(1)),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SOCK_CLOEXEC | SOCK_NONBLOCK, 0, 1),
        RET(ERRNO(EINVAL)),
        RET(SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("PR_SET_NO_NEW_PRIVS");
        return 1;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("PR_SET_SECCOMP");
        return 1;
    }
    execv(argv[1], argv + 1);
    perror("execv");
    return 127;
}
