/* gate-run-launch: what packages/cli/bin/gate-run.js runs node under, so that a SIGQUIT never kills
 * gate-run (docs/sandbox.md, "Signals"). node resets every signal to its default action while it
 * starts, and again while it exits: for tens of milliseconds at each end a SIGQUIT (Ctrl-\ reaches
 * the whole process group) kills it with the default action, and the run is lost. This small
 * static program is the process the shell sees:
 *
 *   gate-run-launch NODE SCRIPT ARGS...
 *
 * It blocks SIGQUIT from its first instruction (entry.c), handles it, and runs node with a pipe
 * (fd number in GATE_RUN_LAUNCHER_FD) on which gate-run.js writes "R" once its own SIGQUIT
 * listener is in place and "E<status>\n" as it exits. Then:
 * - node killed by SIGQUIT before "R": nothing ran (gate-run starts the loader only after), so node
 *   is started again with GATE_RUN_EARLY_QUIT=1: the request is kept and the program suspends at
 *   its first check;
 * - node killed by SIGQUIT after "E": the status it reported is the status;
 * - a SIGQUIT sent to this process is passed on to node once it listens (kept until then);
 * - SIGINT, SIGTERM and SIGHUP are passed on; node's status, or its signal, is this process's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid, ready, pending;
static int wake[2] = { -1, -1 };

static void on_signal(int sig) {
  int saved = errno;
  if (sig == SIGCHLD) {
    (void)!write(wake[1], "c", 1);
  } else if (sig == SIGQUIT) {
    if (child_pid && ready) kill(child_pid, SIGQUIT);
    else pending = 1;
  } else if (child_pid) {
    kill(child_pid, sig);
  }
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: gate-run-launch NODE SCRIPT ARGS...\n", stderr);
    return 2;
  }
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) { perror("gate-run-launch: pipe"); return 2; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  int forwarded[] = { SIGQUIT, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
  for (size_t k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++) sigaction(forwarded[k], &sa, NULL);
  sigset_t quit, none;
  sigemptyset(&quit);
  sigaddset(&quit, SIGQUIT);
  sigemptyset(&none);
  sigprocmask(SIG_UNBLOCK, &quit, NULL);

  int early = 0;
  for (int attempt = 0;; attempt++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) { perror("gate-run-launch: pipe"); return 2; }
    ready = 0;
    /* no signal handler runs between the fork and the child's exec */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid < 0) { perror("gate-run-launch: fork"); return 2; }
    if (pid == 0) {
      char fd[16];
      int w = dup(p[1]); /* without O_CLOEXEC: node gets it */
      snprintf(fd, sizeof fd, "%d", w);
      setenv("GATE_RUN_LAUNCHER_FD", fd, 1);
      if (early || pending) setenv("GATE_RUN_EARLY_QUIT", "1", 1);
      /* node as any program starts: default actions, nothing blocked (node resets both anyway as
       * it starts; a SIGQUIT that kills it then is why it is started again) */
      for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
      sigprocmask(SIG_SETMASK, &none, NULL);
      execvp(argv[1], argv + 1);
      fprintf(stderr, "gate-run: cannot run %s: %s\n", argv[1], strerror(errno));
      _exit(2);
    }
    child_pid = pid;
    close(p[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pending) early = 1;
    pending = 0;

    /* messages from node until it is gone (the pipe may stay open in the loader it started) */
    char msg[64];
    size_t used = 0;
    int reported = -1, done = 0, status = 0;
    struct pollfd fds[2] = { { p[0], POLLIN, 0 }, { wake[0], POLLIN, 0 } };
    while (!done) {
      if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
      if (fds[0].revents) {
        ssize_t n = read(p[0], msg + used, sizeof msg - 1 - used);
        if (n <= 0) fds[0].fd = -1;
        else {
          used += (size_t)n;
          msg[used] = 0;
          if (!ready && strchr(msg, 'R')) {
            ready = 1;
            /* a request that came while node was starting and did not kill it */
            if (pending) { pending = 0; kill(pid, SIGQUIT); }
          }
          char *e = strchr(msg, 'E');
          if (e && strchr(e, '\n')) { reported = atoi(e + 1); ready = 0; }
          if (used > sizeof msg / 2) {
            /* keep what may still be a partial "E…" message */
            char *last = strrchr(msg, 'E');
            size_t keep = last && !strchr(last, '\n') ? strlen(last) : 0;
            memmove(msg, msg + used - keep, keep);
            used = keep;
          }
        }
      }
      if (fds[1].revents) {
        char c[16];
        while (read(wake[0], c, sizeof c) > 0) {}
      }
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) done = 1;
    }
    close(p[0]);
    child_pid = 0;
    if (!done && waitpid(pid, &status, 0) < 0) return 2;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    if (sig == SIGQUIT && reported >= 0) return reported;
    if (sig == SIGQUIT && reported < 0 && !ready && attempt < 20) { early = 1; continue; }
    /* the same death for whoever waits for this process */
    signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    kill(getpid(), sig);
    return 128 + sig;
  }
}
