// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/uspace/irq_return_test: what user space sees of a task that entered
 * the kernel through a hardware interrupt (x86-64).
 *
 * An interrupt is not a system call: its entry must leave orig_ax = -1 in
 * pt_regs, so that syscall_get_nr() says "no system call".  A dispatch
 * path that leaves anything else there (the vector, an error code) makes
 * the signal code "restart" a system call that never was whenever RAX
 * happens to hold -ERESTART*: it rewinds RIP by two bytes and overwrites
 * RAX.  It also shows in /proc/PID/syscall and in ptrace's orig_rax.
 * Each case runs user code that makes no system calls while interrupts
 * come in, and checks what the kernel did on the way back:
 *
 *  signal_on_irq_return   SIGPROF from the timer tick, delivered on the
 *                         return from the interrupt (SA_RESTART handler):
 *                         the interrupted RAX and RIP are untouched
 *  proc_syscall_stopped   a spinning child stopped by SIGSTOP (it stops on
 *                         its way back from the IPI/tick):
 *                         /proc/PID/syscall starts with "-1"
 *  ptrace_interrupted     PTRACE_INTERRUPT of a spinning child: orig_rax
 *                         is -1, RIP is in the loop, and after PTRACE_CONT
 *                         its RAX (-ERESTARTNOINTR) is still intact
 *  syscall_restart        read() on a pipe interrupted by SIGUSR1 from
 *                         another CPU: restarted with SA_RESTART, -EINTR
 *                         without
 *
 * Each case needs a minimum of events, else it fails as unable to judge.
 * Exit 0 if all pass, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "report.h"

/* The kernel's internal restart codes (include/linux/errno.h). */
static const long restart_codes[] = { -512, -513, -514, -516 };

extern const char spin_start[], spin_end[];

/*
 * Count RCX down to zero with RAX = magic; nothing in the loop touches RAX.
 * Returns RAX as the loop left it.
 */
static __attribute__((noinline)) long spin_with_rax(long magic, unsigned long iters)
{
	long rax = magic;

	asm volatile(".globl spin_start, spin_end\n"
		     "spin_start:\n\t"
		     "1: dec %[n]\n\t"
		     "jnz 1b\n"
		     "spin_end:\n\t"
		     : "+a"(rax), [n] "+c"(iters) : : "memory", "cc");
	return rax;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- signal_on_irq_return */
static volatile long cur_magic;
static volatile unsigned long in_loop, bad_rax, bad_rip;
static volatile long bad_rax_val, bad_rip_val;

static void prof_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uintptr_t ip = uc->uc_mcontext.gregs[REG_RIP];

	(void)sig;
	(void)si;
	/* Two bytes before the loop: a rewound RIP still counts. */
	if (ip < (uintptr_t)spin_start - 2 || ip > (uintptr_t)spin_end)
		return;
	in_loop++;
	if (uc->uc_mcontext.gregs[REG_RAX] != cur_magic) {
		bad_rax++;
		bad_rax_val = uc->uc_mcontext.gregs[REG_RAX];
	}
	if (ip < (uintptr_t)spin_start) {
		bad_rip++;
		bad_rip_val = ip - (uintptr_t)spin_start;
	}
}

static void signal_on_irq_return(void)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction sa = { 0 };
	unsigned long returned_bad = 0;
	double end = now() + 2.0;
	unsigned int i = 0;

	sa.sa_sigaction = prof_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	while (now() < end) {
		cur_magic = restart_codes[i++ % 4];
		if (spin_with_rax(cur_magic, 2000000) != cur_magic)
			returned_bad++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_PROF, &it, NULL);
	signal(SIGPROF, SIG_DFL);

	if (in_loop < 20)
		report(0, "signal_on_irq_return", "only %lu SIGPROF in the loop in 2 s, need 20 to judge", in_loop);
	else
		report(!bad_rax && !bad_rip && !returned_bad, "signal_on_irq_return",
		       "%lu signals in the loop: RAX changed in %lu (last %ld), RIP rewound in %lu (last %+ld), loop returned a changed RAX %lu times",
		       in_loop, bad_rax, bad_rax_val, bad_rip, bad_rip_val, returned_bad);
}

/* ---- a child that spins in user space */
static pid_t spinner(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		unsigned int i;

		/* Dies with the parent.  No system call in the loop. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0;; i++) {
			long magic = restart_codes[i % 4];

			if (spin_with_rax(magic, 1000000) != magic)
				_exit(1);
		}
	}
	return pid;
}

static void proc_syscall_stopped(void)
{
	unsigned int n, ok = 0, running = 0;
	char path[64], buf[256] = "", last_bad[256] = "";
	pid_t pid = spinner();
	int st;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	usleep(20000);
	for (n = 0; n < 20; n++) {
		int fd;
		ssize_t r;

		kill(pid, SIGSTOP);
		if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
			break;
		fd = open(path, O_RDONLY);
		r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[r > 0 ? r : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (!strncmp(buf, "-1 ", 3))
			ok++;
		else if (!strcmp(buf, "running"))
			running++;
		else
			snprintf(last_bad, sizeof(last_bad), "%s", buf);
		kill(pid, SIGCONT);
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	report(n == 20 && ok + running == 20 && ok >= 10, "proc_syscall_stopped",
	       "%u stops: %u read '-1 ...' (no system call), %u 'running'%s%s",
	       n, ok, running, *last_bad ? ", other: " : "", last_bad);
}

/* A spinner under PTRACE_SEIZE, or -1 (reported as a failure of NAME). */
static pid_t seized_spinner(const char *name)
{
	pid_t pid = spinner();
	int st;

	if (!ptrace(PTRACE_SEIZE, pid, 0, 0))
		return pid;
	report(0, name, "PTRACE_SEIZE: %s", strerror(errno));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void ptrace_interrupted(void)
{
	unsigned int n, ok = 0;
	long bad_orig = 0;
	uintptr_t bad_ip = 0;
	pid_t pid = seized_spinner("ptrace_interrupted");
	int st;

	if (pid < 0)
		return;
	usleep(20000);
	for (n = 0; n < 20; n++) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) ||
		    waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			break;
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
			break;
		if ((long)regs.orig_rax == -1 &&
		    regs.rip >= (uintptr_t)spin_start && regs.rip <= (uintptr_t)spin_end)
			ok++;
		else if (regs.rip >= (uintptr_t)spin_start - 2 && regs.rip <= (uintptr_t)spin_end)
			bad_orig = regs.orig_rax, bad_ip = regs.rip;
		else
			ok++;	/* stopped between two loops: not judged */
		if (ptrace(PTRACE_CONT, pid, 0, 0))
			break;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	report(n == 20 && ok == 20, "ptrace_interrupted",
	       "%u interrupts of a spinning tracee, %u with orig_rax -1 and RIP in place%s (last bad: orig_rax %ld at RIP %#lx)",
	       n, ok, n < 20 ? " (a ptrace step failed)" : "", bad_orig, (unsigned long)bad_ip);
}

static void ptrace_resume_keeps_rax(void)
{
	pid_t pid = seized_spinner("ptrace_resume_keeps_rax");
	unsigned int n;
	int st;

	if (pid < 0)
		return;
	for (n = 0; n < 20; n++) {
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) || waitpid(pid, &st, 0) != pid)
			break;
		if (!WIFSTOPPED(st) || ptrace(PTRACE_CONT, pid, 0, 0))
			break;
		usleep(5000);
	}
	/* Detach (from a stop), then let it run: it checks its RAX after every loop. */
	if (!ptrace(PTRACE_INTERRUPT, pid, 0, 0) && waitpid(pid, &st, 0) == pid)
		ptrace(PTRACE_DETACH, pid, 0, 0);
	usleep(200000);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	report(n == 20 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "ptrace_resume_keeps_rax",
	       "%u stop/continue cycles; the child %s", n,
	       WIFEXITED(st) ? (WEXITSTATUS(st) ? "saw its RAX changed" : "exited early") :
	       WTERMSIG(st) == SIGTERM ? "kept its RAX" : strsignal(WTERMSIG(st)));
}

/* ---- syscall_restart */
static volatile unsigned long usr1_count;
static void usr1_handler(int sig)
{
	(void)sig;
	usr1_count++;
}

static void syscall_restart_case(int restart)
{
	const char *name = restart ? "syscall_restart(SA_RESTART)" : "syscall_restart(no SA_RESTART)";
	struct sigaction sa = { 0 };
	int p[2], res[2], st;
	char c;
	pid_t pid;
	long r[2];

	if (pipe(p) || pipe(res)) {
		report(0, name, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		ssize_t got;

		sa.sa_handler = usr1_handler;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGUSR1, &sa, NULL);
		got = read(p[0], &c, 1);
		r[0] = got < 0 ? -errno : got;
		r[1] = usr1_count;
		if (write(res[1], r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	usleep(50000);
	for (int i = 0; i < (restart ? 10 : 1); i++) {
		kill(pid, SIGUSR1);
		usleep(20000);
	}
	c = 'x';
	if (write(p[1], &c, 1) != 1)
		report(0, name, "write: %s", strerror(errno));
	if (read(res[0], r, sizeof(r)) != sizeof(r))
		r[0] = r[1] = -9999;
	waitpid(pid, &st, 0);
	close(p[0]); close(p[1]); close(res[0]); close(res[1]);
	if (restart)
		report(r[0] == 1 && r[1] == 10, name, "read() returned %ld after %ld signal(s), want 1 after 10",
		       r[0], r[1]);
	else
		report(r[0] == -EINTR && r[1] == 1, name, "read() returned %ld after %ld signal(s), want %d after 1",
		       r[0], r[1], -EINTR);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal_on_irq_return();
	proc_syscall_stopped();
	ptrace_interrupted();
	ptrace_resume_keeps_rax();
	syscall_restart_case(1);
	syscall_restart_case(0);
	printf("irq_return_test: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
