// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/uspace/device_test_side_effects [TEST]: what a device-interrupt
 * selftest leaves behind on the host (default TEST:
 * x86_64/host_device_irq_exit_test, the 6.12 backport's).
 *
 * That test writes to a serial port and routes the port's interrupt to
 * the CPU where its vCPU spins.  A KVM selftest must leave no side effect
 * on the host, and must not write into the host's console.  Run TEST
 * (a name under /kit/bin, or a path) twice, each time comparing every
 * /proc/irq/N/smp_affinity_list before and after:
 *
 *  refuses_console   TEST -t CONSOLE, CONSOLE the first serial port that
 *                    /proc/consoles names: it must exit KSFT_SKIP (4)
 *                    without touching any affinity
 *  restores_affinity TEST as it runs in the plan: it must pass, and every
 *                    interrupt's affinity must be what it was before.  The
 *                    check first routes the port's interrupt (ttyS1, TEST's
 *                    default) to the first CPU of its own mask, where TEST
 *                    does not put it, so that a move left behind shows
 *                    even if an earlier run left the interrupt where TEST
 *                    routes it; it puts the affinity back afterwards
 *
 * Exit 0 if both pass, 1 otherwise (also when TEST is missing);
 * KSFT_SKIP (4) if nothing failed but a check could not run: no serial
 * console, no ttyS1, or TEST skipped where it should run (one CPU).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define KSFT_SKIP	4
#define MAX_IRQS	1024

struct affinity {
	int irq;
	char list[64];
};

static int skipped;

static int read_affinity(int irq, char *list, size_t size)
{
	char path[64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	list[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fgets(list, size, f) != NULL;
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	return ok;
}

/* Every /proc/irq/N/smp_affinity_list into @a; returns how many. */
static int read_affinities(struct affinity *a)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	dir = opendir("/proc/irq");
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < MAX_IRQS) {
		char *end;
		long irq = strtol(d->d_name, &end, 10);

		if (*end || end == d->d_name)
			continue;
		if (!read_affinity(irq, a[n].list, sizeof(a[n].list)))
			continue;
		a[n].irq = irq;
		n++;
	}
	closedir(dir);
	return n;
}

/* The IRQs whose affinity differs between @a and @b, into @out. */
static int affinity_changes(const struct affinity *a, int na,
			    const struct affinity *b, int nb,
			    char *out, size_t size)
{
	int i, j, changed = 0;
	size_t len = 0;

	out[0] = '\0';
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && b[j].irq != a[i].irq; j++)
			;
		if (j < nb && !strcmp(a[i].list, b[j].list))
			continue;
		changed++;
		if (len < size)
			len += snprintf(out + len, size - len, "%sIRQ %d %s -> %s",
					changed > 1 ? ", " : "", a[i].irq, a[i].list,
					j < nb ? b[j].list : "(gone)");
	}
	return changed;
}

/* The first serial port in /proc/consoles ("ttyS0 -W- (EC p a) 4:64"). */
static int serial_console(char *name, size_t size)
{
	char line[256], dev[64];
	FILE *f;
	int found = 0;

	f = fopen("/proc/consoles", "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%63s", dev) == 1 && !strncmp(dev, "ttyS", 4);
	fclose(f);
	if (found)
		snprintf(name, size, "%s", dev);
	return found;
}

/* Run @path with @arg1 @arg2 (may be NULL); its wait status, or -1. */
static int run(const char *path, const char *arg1, const char *arg2)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execl(path, path, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static const char *describe(int status, char *buf, size_t size)
{
	if (status == -1)
		snprintf(buf, size, "could not run it");
	else if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	return buf;
}

static struct affinity before[MAX_IRQS], after[MAX_IRQS];

static int write_affinity(int irq, const char *list)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	f = fopen(path, "w");
	if (!f)
		return 0;
	fputs(list, f);
	return !fclose(f);
}

/* The interrupt of serial port @tty (/sys/class/tty/TTY/irq), or -1. */
static int tty_irq(const char *tty)
{
	char path[96];
	FILE *f;
	int irq = -1;

	snprintf(path, sizeof(path), "/sys/class/tty/%s/irq", tty);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &irq) != 1 || irq <= 0)
		irq = -1;
	fclose(f);
	return irq;
}

/* Run the test once; report @name: exit @want and no affinity changed. */
static void check(const char *name, const char *path, const char *arg1,
		  const char *arg2, int want)
{
	char changes[512], how[64];
	int nb, na, status, changed;

	nb = read_affinities(before);
	status = run(path, arg1, arg2);
	na = read_affinities(after);
	if (nb <= 0 || na <= 0) {
		report(0, name, "cannot read /proc/irq/*/smp_affinity_list");
		return;
	}
	changed = affinity_changes(before, nb, after, na, changes, sizeof(changes));
	if (want != KSFT_SKIP && status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == KSFT_SKIP && !changed) {
		printf("ok %s # SKIP %s skipped\n", name, path);
		skipped++;
		return;
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != want)
		report(0, name, "%s %s%s%s: %s, want exit %d%s%s", path,
		       arg1 ?: "", arg2 ? " " : "", arg2 ?: "",
		       describe(status, how, sizeof(how)), want,
		       changed ? "; and it left " : "", changed ? changes : "");
	else if (changed)
		report(0, name, "%d interrupt affinit%s left changed: %s",
		       changed, changed > 1 ? "ies" : "y", changes);
	else
		report(1, name, "%s, %d interrupt affinities unchanged",
		       describe(status, how, sizeof(how)), na);
}

/*
 * Route ttyS1's interrupt to the first CPU of this task's mask (the port
 * held open, so that its interrupt is requested), run the test, put the
 * affinity back.
 */
static void restores_affinity(const char *path)
{
	const char *name = "restores_affinity", *tty = "ttyS1";
	char saved[64], parked[16], devpath[64];
	cpu_set_t allowed;
	int irq, fd, cpu;

	irq = tty_irq(tty);
	snprintf(devpath, sizeof(devpath), "/dev/%s", tty);
	fd = open(devpath, O_WRONLY | O_NOCTTY | O_NONBLOCK);
	if (irq < 0 || fd < 0) {
		/* TEST skips there too. */
		printf("ok %s # SKIP no %s with an interrupt\n", name, tty);
		skipped++;
		if (fd >= 0)
			close(fd);
		return;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		report(0, name, "sched_getaffinity() failed: cannot judge");
		close(fd);
		return;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed); cpu++)
		;
	snprintf(parked, sizeof(parked), "%d", cpu);
	if (!read_affinity(irq, saved, sizeof(saved)) || !write_affinity(irq, parked)) {
		report(0, name, "cannot route IRQ %d (%s) to CPU %d: cannot judge", irq, tty, cpu);
		close(fd);
		return;
	}
	printf("device_test_side_effects: IRQ %d (%s) routed to CPU %d (was %s)\n",
	       irq, tty, cpu, saved);
	check(name, path, NULL, NULL, 0);
	if (!write_affinity(irq, saved))
		report(0, "puts_back_its_own_change", "cannot restore IRQ %d to %s", irq, saved);
	close(fd);
}

int main(int argc, char *argv[])
{
	const char *test = argc > 1 ? argv[1] : "x86_64/host_device_irq_exit_test";
	char self[PATH_MAX], path[PATH_MAX], console[64];
	ssize_t len;

	/* A plan name is relative to /kit/bin, the parent of this program's dir. */
	if (test[0] == '/') {
		snprintf(path, sizeof(path), "%s", test);
	} else {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len < 0) {
			printf("device_test_side_effects: cannot read /proc/self/exe\n");
			return 1;
		}
		self[len] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dirname(dirname(self)), test);
	}
	if (access(path, X_OK)) {
		printf("device_test_side_effects: no test %s (the plan must name it too)\n", path);
		return 1;
	}

	if (serial_console(console, sizeof(console))) {
		check("refuses_console", path, "-t", console, KSFT_SKIP);
	} else {
		printf("ok refuses_console # SKIP no serial port in /proc/consoles\n");
		skipped++;
	}
	restores_affinity(path);

	printf("device_test_side_effects: %d failure(s), %d skipped\n", failures, skipped);
	return failures ? 1 : skipped ? KSFT_SKIP : 0;
}
