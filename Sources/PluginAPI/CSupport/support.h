// Header-only C support for PluginAPI: what Swift cannot do safely itself. Everything here is
// `static inline`, compiled into libPluginAPI.so by the Swift module that imports it (with
// `internal import`), so the SDK stays one shared library and clients never see this module.
#ifndef CPLUGINSUPPORT_H
#define CPLUGINSUPPORT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Declared by glibc only under _GNU_SOURCE, which the Glibc module is built without.
extern int pipe2(int pipefd[2], int flags);

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/// fork + exec for a supervised child. Between fork and exec the child only makes
/// async-signal-safe system calls (the parent is multi-threaded): its own process group,
/// SIGKILL when the forking thread's process dies (PR_SET_PDEATHSIG; the caller forks from a
/// thread that lives as long as the process), default signal dispositions and an empty mask
/// (the daemon ignores SIGPIPE, which exec would otherwise pass on), the three standard fds,
/// every other fd closed on exec, then execve. Returns the pid, or -1 with *err set (errno of
/// fork, chdir or execve, reported through a close-on-exec pipe).
static inline pid_t cps_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                              int in_fd, int out_fd, int err_fd, int *err) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *err = errno; return -1; }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);  // the daemon died before prctl took effect
        struct sigaction dfl;
        dfl.sa_handler = SIG_DFL;
        dfl.sa_flags = 0;
        sigemptyset(&dfl.sa_mask);
        for (int s = 1; s < NSIG; s++) { if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL); }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) goto failed;
        if (cwd != NULL && chdir(cwd) != 0) goto failed;
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);  // kernels before 5.11
        }
        execve(path, argv, envp);
    failed:;
        int e = errno;
        ssize_t unused = write(report[1], &e, sizeof e);
        (void)unused;
        _exit(127);
    }
    close(report[1]);
    if (pid < 0) { *err = errno; close(report[0]); return -1; }
    setpgid(pid, pid);  // also from the parent, so the group exists before anyone signals it
    int e = 0;
    ssize_t n;
    do { n = read(report[0], &e, sizeof e); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof e) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *err = e;
        return -1;
    }
    return pid;
}

/// A file descriptor that becomes readable when `pid` exits (Linux 5.3+); -1 when unsupported.
static inline int cps_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/// waitpid's status decoded: 1 exited (*code), 2 killed by a signal (*code), 0 neither.
static inline int cps_decode_status(int status, int *code) {
    if (WIFEXITED(status)) { *code = WEXITSTATUS(status); return 1; }
    if (WIFSIGNALED(status)) { *code = WTERMSIG(status); return 2; }
    return 0;
}

/// A pipe whose two ends are close-on-exec (glibc declares pipe2 only under _GNU_SOURCE).
static inline int cps_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#endif
