// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/emu/irq_nesting: does the host take a maskable interrupt inside a
 * hardirq handler, i.e. with RFLAGS.IF=0?
 *
 * Linux runs every hardirq handler with interrupts disabled, so on
 * hardware the IRQ trace events of one CPU never nest: an *_entry is
 * always followed by its *_exit before the next *_entry.  An emulator that
 * clears IF on FRED event delivery without masking interrupts (Bochs
 * before kit/bochs/patches/0002) delivers the next pending interrupt right
 * into the handler of the previous one.
 *
 * It reads each CPU's trace of the events irq:irq_handler_entry/exit and
 * irq_vectors:*_entry/exit and counts nestings, "entry A, entry B, exit B,
 * exit A" in a row (a lone entry while a handler looks open is not one: a
 * trace can lose an exit, and the debug kernel does): first what the boot left there (when the kernel command
 * line had trace_event=irq:irq_handler_entry,irq:irq_handler_exit,
 * irq_vectors:*, as tests/plans/emu.plan asks), then, LOAD_SECS times, after
 * a second of interrupts (the timer tick; reschedule IPIs from processes
 * that wake each other through pipes across CPUs; call-function IPIs from
 * membarrier).  It stops at the first nesting: a kernel that takes
 * interrupts with IF=0 may hang soon after (7.3 in irq_wait_on_inprogress()).
 * Asserted: no nesting, and at least MIN_ENTRIES handler entries (else it
 * could not judge).  NMIs are not traced (they may nest).  Leaves the
 * events disabled and the buffer empty.  Exit 0 pass, 1 fail, 4 skip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>

#define TRACEFS		"/sys/kernel/tracing"
#define LOAD_SECS	3
#define MIN_ENTRIES	200
#define KSFT_SKIP	4

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "irq_nesting: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static void must_write(const char *rel, const char *val)
{
	char path[256];
	int r;

	snprintf(path, sizeof(path), TRACEFS "/%s", rel);
	r = write_file(path, val);
	if (r)
		fail("writing '%s' to %s: %s", val, path, strerror(-r));
}

static void set_events(const char *on)
{
	must_write("events/irq/irq_handler_entry/enable", on);
	must_write("events/irq/irq_handler_exit/enable", on);
	must_write("events/irq_vectors/enable", on);
}

/* Processes that wake each other through pipes, spread over the CPUs. */
static void pingpong(int cpu, int in, int out)
{
	cpu_set_t set;
	char c = 0;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (;;) {
		if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
			_exit(0);
	}
}

static void make_load(int ncpus, int secs)
{
	int a[2], b[2], i, n = ncpus > 1 ? ncpus : 2;
	pid_t pids[64];
	struct timespec t0, t;
	char c = 0;

	if (n > 32)
		n = 32;
	for (i = 0; i < n; i++) {
		if (pipe(a) || pipe(b))
			fail("pipe: %s", strerror(errno));
		pids[2 * i] = fork();
		if (!pids[2 * i])
			pingpong(i % ncpus, a[0], b[1]);
		pids[2 * i + 1] = fork();
		if (!pids[2 * i + 1])
			pingpong((i + 1) % ncpus, b[0], a[1]);
		if (write(a[1], &c, 1) != 1)
			fail("pipe write: %s", strerror(errno));
	}
	syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < secs);
	for (i = 0; i < 2 * n; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
}

/* The event name of a trace line: the word before ": " after the time. */
static const char *event_name(char *line, size_t *len)
{
	char *p = strstr(line, ": ");	/* after the timestamp */
	char *e;

	if (!p)
		return NULL;
	p += 2;
	e = strstr(p, ": ");
	if (!e)
		e = p + strcspn(p, ":\n");
	*len = e - p;
	return p;
}

static int ends_with(const char *s, size_t len, const char *suf)
{
	size_t l = strlen(suf);

	return len >= l && !memcmp(s + len - l, suf, l);
}

static unsigned long entries, nested;
static char first[600];
/* The trace lines before the first nesting, to show what led to it. */
#define CONTEXT 6
static char before[CONTEXT][512];

/* Count the nesting in each CPU's trace so far; empty the buffer. */
static void scan(long ncpus, const char *when)
{
	char path[256], line[512];
	int cpu;

	for (cpu = 0; cpu < ncpus; cpu++) {
		/* The last four entry/exit events: kind and direction. */
		char kind[4][64] = { "", "", "", "" };
		int is_entry[4] = { 0 }, n = 0, k = 0;
		FILE *f;

		snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/trace", cpu);
		f = fopen(path, "r");
		if (!f)
			fail("%s: %s", path, strerror(errno));
		while (fgets(line, sizeof(line), f)) {
			const char *ev;
			size_t len;
			int e;

			if (line[0] == '#')
				continue;
			if (!nested)
				memcpy(before[n++ % CONTEXT], line, sizeof(line));
			ev = event_name(line, &len);
			if (!ev)
				continue;
			if (ends_with(ev, len, "_entry"))
				e = 1;
			else if (ends_with(ev, len, "_exit"))
				e = 0;
			else
				continue;
			entries += e;
			len -= e ? 6 : 5;
			if (len >= sizeof(kind[0]))
				len = sizeof(kind[0]) - 1;
			memcpy(kind[k % 4], ev, len);
			kind[k % 4][len] = 0;
			is_entry[k % 4] = e;
			k++;
			/*
			 * A nesting is "entry A, entry B, exit B, exit A" in a
			 * row.  The trace may lose an event (the debug kernel
			 * drops some exits), so an entry while another handler
			 * looks open is not enough: only the inner handler's exit
			 * followed at once by the outer one's counts.
			 */
			if (k >= 4 && !e && !is_entry[(k - 2) % 4] &&
			    is_entry[(k - 3) % 4] && is_entry[(k - 4) % 4] &&
			    !strcmp(kind[(k - 1) % 4], kind[(k - 4) % 4]) &&
			    !strcmp(kind[(k - 2) % 4], kind[(k - 3) % 4]) &&
			    !nested++) {
				/*
				 * Say it in one short line and leave: a kernel
				 * that takes interrupts with IF=0 may hang any
				 * moment, and the serial console is slow.
				 */
				snprintf(first, sizeof(first), "%s, cpu%d: %.60s ... %.60s", when, cpu,
					 before[(n - 4 + CONTEXT) % CONTEXT] + strspn(before[(n - 4 + CONTEXT) % CONTEXT], " "),
					 line + strspn(line, " "));
				first[strcspn(first, "\n")] = ' ';
				first[strcspn(first, "\n")] = 0;
			}
		}
		fclose(f);
	}
	if (nested) {
		must_write("tracing_on", "0");
		set_events("0");
		fail("%lu interrupt(s) taken inside a hardirq handler (IF=0); first: %s", nested, first);
	}
	must_write("trace", "");
	printf("irq_nesting: %s: %lu handler entries so far, none inside another handler\n",
	       when, entries);
}

int main(void)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct stat st;
	char when[32];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stat(TRACEFS "/events", &st) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		printf("SKIP: no tracefs at %s (%s): kernel without trace events?\n",
		       TRACEFS, strerror(errno));
		return KSFT_SKIP;
	}
	if (stat(TRACEFS "/events/irq_vectors", &st)) {
		printf("SKIP: no irq_vectors trace events\n");
		return KSFT_SKIP;
	}

	/* What the boot recorded, if the command line enabled the events. */
	must_write("tracing_on", "0");
	scan(ncpus, "boot");

	must_write("buffer_size_kb", "4096");
	set_events("1");
	for (i = 1; i <= LOAD_SECS; i++) {
		must_write("tracing_on", "1");
		make_load(ncpus, 1);
		must_write("tracing_on", "0");
		snprintf(when, sizeof(when), "load second %d", i);
		scan(ncpus, when);
	}
	set_events("0");

	printf("irq_nesting: %ld CPUs, boot + %d s of load: %lu handler entries, %lu inside another handler\n",
	       ncpus, LOAD_SECS, entries, nested);
	if (entries < MIN_ENTRIES)
		fail("only %lu handler entries traced, need %d to judge", entries, MIN_ENTRIES);
	return 0;
}
