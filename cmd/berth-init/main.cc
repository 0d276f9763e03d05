// berth-init: the tiny init `berth run --init` puts in a container as pid 1 (bind-mounted
// read-only at /sbin/berth-init; the command becomes `/sbin/berth-init -- CMD ARGS...`).
//
// What a pid 1 owes the processes under it, and nothing more (docker's docker-init, tini):
//   - it runs CMD as its only child, in the foreground process group of the terminal when there is one;
//   - every signal it can catch is forwarded to that child (a pid 1 has no default actions, so
//     without this SIGTERM would do nothing to a program that did not install a handler);
//   - it reaps every orphan re-parented to it, so no zombies pile up;
//   - it exits with the child's status: the exit code, or 128+N when signal N ended it.
// Static, no libstdc++: it must run in any image.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    setpgid(0, 0);
    if (isatty(0)) {
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(0, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    execvp(argv[first], argv + first);
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  setpgid(child, child);  // either of us may get there first

  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // Job-control stops meant for us would stop nobody: pass them on like the rest.
      kill(child, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != child) continue;  // an orphan, reaped
      // The child is gone: reap what is left quickly and leave with its status.
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
}
