/* --timeout SECONDS: a wall-clock limit on the whole run. A CLOCK_MONOTONIC POSIX timer, armed
 * before the image is mapped, delivers SIGVTALRM (SIGALRM is --suspend-after's); its handler
 * prints one line and exits with EXIT_TIMEOUT, wherever the program is: in generated code, in an
 * infinite loop without calls, or blocked in a host call. Only write and exit_group run after the
 * sandbox is in, both on the whitelist; timer_create itself happens before it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gate.h"

static char message[128];
static int message_len;

static void on_timeout(int sig, siginfo_t *info, void *uc) {
  (void)sig;
  (void)uc;
  /* only our timer: a SIGVTALRM sent by someone else is not a timeout */
  if (info->si_code != SI_TIMER) return;
  (void)!write(2, message, (size_t)message_len);
  _exit(EXIT_TIMEOUT);
}

/* Parses SECONDS (decimal, > 0, at most a year) and arms the timer; -1 after a line on stderr. */
int timeout_arm(const char *seconds) {
  char *end;
  double s = strtod(seconds, &end);
  if (end == seconds || *end || !(s > 0) || s > 366.0 * 86400) {
    fprintf(stderr, "gate-run: --timeout: expected a positive number of seconds, got \"%s\"\n", seconds);
    return -1;
  }
  message_len = snprintf(message, sizeof message, "gate-run: timeout: the program was stopped after %s s (--timeout)\n", seconds);
  if (message_len >= (int)sizeof message) message_len = (int)sizeof message - 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_timeout;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  /* the other handlers' signals are held while this one runs: it never returns to them */
  sigfillset(&sa.sa_mask);
  if (sigaction(SIGVTALRM, &sa, NULL) < 0) { perror("gate-run: --timeout: sigaction"); return -1; }
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGVTALRM;
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) < 0) { perror("gate-run: --timeout: timer_create"); return -1; }
  struct itimerspec when;
  memset(&when, 0, sizeof when);
  when.it_value.tv_sec = (time_t)s;
  when.it_value.tv_nsec = (long)((s - (double)(time_t)s) * 1e9);
  if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) when.it_value.tv_nsec = 1;
  if (timer_settime(timer, 0, &when, NULL) < 0) { perror("gate-run: --timeout: timer_settime"); return -1; }
  return 0;
}
