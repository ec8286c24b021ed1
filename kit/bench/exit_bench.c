// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_bench: what a host interrupt or NMI that hits a running guest costs
 * the host, per kind of event, measured from inside the guest.
 *
 * A vCPU pinned to CPU 1 spins in the guest with interrupts enabled,
 * reading the TSC.  Any VM exit shows up as a gap between two consecutive
 * reads: the time from the last guest instruction before the exit to the
 * first one after the next VM entry, i.e. the exit, everything the host
 * does (KVM's exit path, the dispatch, the handler) and the entry.  The
 * guest records every gap above a threshold.
 *
 * The main thread, on CPU 0, makes events land on CPU 1 one at a time:
 *
 *   timer   nothing: the host's local timer ticks (LOCAL_TIMER_VECTOR)
 *   ipi     membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): a call-function
 *           IPI (CALL_FUNCTION_SINGLE_VECTOR) to the CPU that runs the vCPU
 *   device  one byte written to a serial port that is not a console
 *           (/dev/ttyS1, or -D TTY) with its IRQ routed to CPU 1: the
 *           8250's transmit interrupt (a device vector, common_interrupt).
 *           Not the console: what the kernel and this program print would
 *           raise the same interrupt inside the windows.  The IRQ's
 *           affinity is put back afterwards.
 *   nmi     sysrq 'l': an NMI backtrace request to every other CPU; or,
 *           with -N probe, one NMI IPI from the kit's NMI probe
 *           (/sys/module/kit_nmi_probe/parameters/storm, a kernel with
 *           tests/broken/nmi-probe*.patch), whose NMI_LOCAL handler is a
 *           few lines: the dispatch is visible in its figures
 *
 * Each event gets a window: the host opens it (an odd number in guest
 * memory), waits until the guest has seen it, sends the event, waits until
 * the guest runs again after the exit, and closes it.  A gap that starts
 * inside window k belongs to window k.  A window with exactly one gap gives
 * one sample (ipi, device); windows with none or several are counted as
 * dropped.  An NMI window is longer (sysrq prints its header synchronously
 * to the console first), and timer ticks land in it too: the largest gap
 * of the window is the NMI (it prints a backtrace; a tick costs a fraction
 * of that), the others are counted as extra.  The probe's NMI windows are
 * short and take exactly one gap, like the IPI's.  Timer samples are the gaps of
 * the timer phase, in which CPU 0 sleeps.
 *
 * The /proc/interrupts rows of CPU 1 (LOC, CAL, NMI, the tty's IRQ) are
 * read before and after each phase and printed, so that the samples can be
 * checked against what the host counted.
 *
 * On a real Intel host the gaps are TSC cycles.  On Bochs, the TSC counts
 * executed instructions (see bench/README.md), so a gap is the number of
 * instructions the exit cost the host.
 *
 * Output: one line per kind,
 *   exit_bench: kind=K samples=N median=M p10=A p90=B min=C max=D
 *               dropped=X extra=Y events=E irqs=I
 * "exit_bench: nmi_source=sysrq|probe" and "exit_bench: done".  Exit 0 if every kind that could run has
 * samples, 4 (KSFT_SKIP) if the machine cannot run the benchmark.
 *
 * Usage: exit_bench [-t threshold] [-T timer_ms] [-i ipis] [-d bytes]
 *                   [-D tty] [-n nmis] [-N sysrq|probe] [-k kinds]
 *                   (kinds: comma list, default all)
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define HOST_CPU	0

/* The selftests' pinning helper has another name on each base: our own. */
static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "sched_setaffinity(CPU %d) failed, errno %d", cpu, errno);
}
/* The vCPU's CPU: 1, or 0 on a one-CPU machine (timer kind only). */
static int vcpu_cpu = 1;
#define MAX_GAPS	16384
/* The device kind's serial port (-D): never a console. */
static const char *tty = "ttyS1";
#define PROBE_STORM	"/sys/module/kit_nmi_probe/parameters/storm"
/* Where the NMIs come from (-N): "sysrq" or "probe". */
static const char *nmi_source = "sysrq";

struct gap {
	uint64_t start;		/* TSC before the gap */
	uint64_t end;		/* TSC after it */
	uint32_t win;		/* window open when the gap started (odd), else even */
	uint32_t pad;
};

/* Shared with the guest (the test ELF is loaded into the guest). */
static struct gap gaps[MAX_GAPS];
static uint32_t nr_gaps;
static uint32_t window;
static uint32_t seen;
static uint64_t spins;
static uint64_t threshold = 300;
static bool stop;

static void guest_code(void)
{
	uint64_t prev, now, n = 0, s = 0;
	uint32_t w_prev, w_now;

	/*
	 * IF=1: real CPUs exit on host interrupts whatever the guest's IF;
	 * Bochs only when the guest runs with interrupts enabled.  The guest
	 * has no interrupt source of its own.
	 */
	asm volatile("sti");
	w_prev = READ_ONCE(window);
	prev = rdtsc();
	while (!READ_ONCE(stop)) {
		now = rdtsc();
		w_now = READ_ONCE(window);
		if (now - prev > threshold) {
			if (n < MAX_GAPS) {
				gaps[n].start = prev;
				gaps[n].end = now;
				gaps[n].win = w_prev;
			}
			WRITE_ONCE(nr_gaps, ++n);
		}
		WRITE_ONCE(seen, w_now);
		WRITE_ONCE(spins, ++s);
		prev = now;
		w_prev = w_now;
	}
	asm volatile("cli");
	GUEST_DONE();
}

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;

struct kind {
	const char *name;
	const char *row;	/* /proc/interrupts row on CPU 1 */
	int events;		/* windows, or timer milliseconds */
	bool largest;		/* the largest gap of a window is the sample */
	bool ran;
	char skip[128];
	uint32_t first_win, last_win;	/* windows [first, last], odd numbers */
	uint32_t gap_from, gap_to;	/* timer: the phase's gaps */
	long long irqs;
};

/* The host's view of the guest's variables, set up by map_guest_vars(). */
static struct {
	volatile uint32_t *nr_gaps, *window, *seen;
	volatile uint64_t *spins;
	volatile bool *stop;
} h;

#define H(var) ((typeof(h.var))addr_gva2hva(vm, (uint64_t)&(var)))

static void map_guest_vars(void)
{
	h.nr_gaps = H(nr_gaps);
	h.window = H(window);
	h.seen = H(seen);
	h.spins = H(spins);
	h.stop = H(stop);
}

#define G(var) (*h.var)

static void *vcpu_thread(void *arg)
{
	struct ucall uc;

	pin_to_cpu(vcpu_cpu);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
	return NULL;
}

/* Spin until the guest has run some more (up to 10 s). */
static void wait_guest_progress(void)
{
	uint64_t s = G(spins);
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (G(spins) == s) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		TEST_ASSERT(t.tv_sec - t0.tv_sec < 10, "the guest stopped running");
	}
}

/* Open the next window for an event of @k; return once the guest runs in it. */
static void open_window(struct kind *k)
{
	uint32_t w = G(window) + 1;

	G(window) = w;
	while (G(seen) != w)
		;
	if (!k->first_win)
		k->first_win = w;
	k->last_win = w;
}

/*
 * Close the window once the guest has run again after the event.  The
 * guest reads the window right after the TSC, and the event's exit may come
 * in between: the window must still be open when it reads it.
 */
static void close_window(void)
{
	wait_guest_progress();
	G(window) = G(window) + 1;
}

/* The count of one /proc/interrupts row ("LOC", "4", ...) on @cpu, or -1. */
static long long irq_count(const char *row, int cpu)
{
	char line[4096], name[32];
	long long count = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "cannot open /proc/interrupts");
	snprintf(name, sizeof(name), "%s:", row);
	while (count < 0 && fgets(line, sizeof(line), f)) {
		char *tok = strtok(line, " \t\n");
		int col;

		if (!tok || strcmp(tok, name))
			continue;
		for (col = 0; col <= cpu && tok; col++)
			tok = strtok(NULL, " \t\n");
		if (tok)
			count = strtoll(tok, NULL, 10);
	}
	fclose(f);
	return count;
}

/* The IRQ number of the /proc/interrupts row that names @dev, or -1. */
static int find_irq(const char *dev)
{
	char line[4096];
	int irq = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "cannot open /proc/interrupts");
	while (irq < 0 && fgets(line, sizeof(line), f)) {
		if (strstr(line, dev))
			irq = atoi(line);
	}
	fclose(f);
	return irq;
}

/* Is @dev a console?  /proc/consoles names each, e.g. "ttyS0 -W- (EC p a)". */
static bool is_console(const char *dev)
{
	char line[256], name[64];
	bool console = false;
	FILE *f = fopen("/proc/consoles", "r");

	if (!f)
		return false;
	while (!console && fgets(line, sizeof(line), f))
		console = sscanf(line, "%63s", name) == 1 && !strcmp(name, dev);
	fclose(f);
	return console;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}


/* Print the figures of one kind; returns its number of samples. */
static uint32_t report(struct kind *k, struct gap *g, uint32_t n)
{
	uint64_t *v = calloc(n + 1, sizeof(*v));
	uint32_t i, samples = 0, dropped = 0, extra = 0, w;

	TEST_ASSERT(v, "out of memory");
	if (!strcmp(k->name, "timer")) {
		for (i = k->gap_from; i < k->gap_to && i < n; i++)
			if (!(g[i].win & 1))
				v[samples++] = g[i].end - g[i].start;
	} else {
		for (w = k->first_win; w && w <= k->last_win; w += 2) {
			uint64_t best = 0;
			uint32_t in = 0;

			for (i = 0; i < n; i++) {
				if (g[i].win != w)
					continue;
				in++;
				if (g[i].end - g[i].start > best)
					best = g[i].end - g[i].start;
			}
			if (in == 1 || (in > 1 && k->largest)) {
				v[samples++] = best;
				extra += in - 1;
			} else {
				dropped++;
			}
		}
	}
	qsort(v, samples, sizeof(*v), cmp_u64);
	if (samples)
		printf("exit_bench: kind=%s samples=%u median=%lu p10=%lu p90=%lu min=%lu max=%lu dropped=%u extra=%u events=%d irqs=%lld\n",
		       k->name, samples, v[samples / 2], v[samples / 10],
		       v[samples * 9 / 10], v[0], v[samples - 1], dropped, extra,
		       k->events, k->irqs);
	else
		printf("exit_bench: kind=%s samples=0 dropped=%u events=%d irqs=%lld\n",
		       k->name, dropped, k->events, k->irqs);
	free(v);
	return samples;
}

static void run_timer(struct kind *k)
{
	struct timespec ts = { k->events / 1000, (k->events % 1000) * 1000000L };

	wait_guest_progress();
	k->gap_from = G(nr_gaps);
	nanosleep(&ts, NULL);
	k->gap_to = G(nr_gaps);
}

static void run_ipi(struct kind *k)
{
	int i;

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		snprintf(k->skip, sizeof(k->skip), "membarrier private expedited not available");
		return;
	}
	for (i = 0; i < k->events; i++) {
		open_window(k);
		TEST_ASSERT(!syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0),
			    "membarrier() failed");
		close_window();
	}
}

static void run_nmi(struct kind *k)
{
	int i, fd;

	if (!strcmp(nmi_source, "probe")) {
		if (access(PROBE_STORM, W_OK)) {
			snprintf(k->skip, sizeof(k->skip),
				 "no %s (a kernel with the kit's NMI probe)", PROBE_STORM);
			return;
		}
		/* One NMI to CPU 1; the write returns once it was handled. */
		for (i = 0; i < k->events; i++) {
			open_window(k);
			TEST_ASSERT(!write_file(PROBE_STORM, "1"), "write to %s failed", PROBE_STORM);
			close_window();
		}
		return;
	}
	if (access("/proc/sysrq-trigger", W_OK)) {
		snprintf(k->skip, sizeof(k->skip), "no /proc/sysrq-trigger (root, CONFIG_MAGIC_SYSRQ)");
		return;
	}
	for (i = 0; i < k->events; i++) {
		open_window(k);
		fd = open("/proc/sysrq-trigger", O_WRONLY);
		TEST_ASSERT(fd >= 0 && write(fd, "l", 1) == 1, "sysrq l failed");
		close(fd);
		close_window();
	}
}

static void run_device(struct kind *k)
{
	char path[64], old[64] = "", row[16], cpu[16];
	int i, irq, fd;

	if (is_console(tty)) {
		snprintf(k->skip, sizeof(k->skip), "%s is a console: give another port with -D", tty);
		return;
	}
	snprintf(path, sizeof(path), "/dev/%s", tty);
	fd = open(path, O_WRONLY | O_NOCTTY);
	irq = find_irq(tty);
	if (fd < 0 || irq < 0) {
		snprintf(k->skip, sizeof(k->skip), "no /dev/%s with an IRQ", tty);
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(row, sizeof(row), "%d", irq);
	k->row = strdup(row);
	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	read_file(path, old, sizeof(old));
	snprintf(cpu, sizeof(cpu), "%d\n", vcpu_cpu);
	if (write_file(path, cpu)) {
		snprintf(k->skip, sizeof(k->skip), "cannot route IRQ %d to CPU %d", irq, vcpu_cpu);
		close(fd);
		return;
	}
	/* The first interrupt on CPU 1 completes the move. */
	TEST_ASSERT(write(fd, " ", 1) == 1 && !tcdrain(fd), "write to %s failed", tty);
	k->irqs = irq_count(k->row, vcpu_cpu);
	for (i = 0; i < k->events; i++) {
		uint32_t n;
		int j;

		open_window(k);
		n = G(nr_gaps);
		TEST_ASSERT(write(fd, " ", 1) == 1, "write to %s failed", tty);
		/* The transmit interrupt is asynchronous: wait for an exit. */
		for (j = 0; j < 100000 && G(nr_gaps) == n; j++)
			usleep(10);
		close_window();
		TEST_ASSERT(!tcdrain(fd), "tcdrain(%s) failed", tty);
	}
	TEST_ASSERT(write(fd, "\n", 1) == 1 && !tcdrain(fd), "write to %s failed", tty);
	k->irqs = irq_count(k->row, vcpu_cpu) - k->irqs;
	if (old[0])
		write_file(path, old);
	close(fd);
}

int main(int argc, char *argv[])
{
	struct kind kinds[] = {
		{ .name = "timer", .row = "LOC", .events = 1000 },
		{ .name = "ipi", .row = "CAL", .events = 200 },
		{ .name = "device", .events = 100 },
		{ .name = "nmi", .row = "NMI", .events = 20, .largest = true },
	};
	const char *only = NULL;
	char printk[64] = "";
	pthread_t thread;
	struct gap *g;
	uint32_t n;
	int opt, i, missing = 0, nmis = 0;

	while ((opt = getopt(argc, argv, "t:T:i:d:D:n:N:k:")) != -1) {
		switch (opt) {
		case 't': threshold = strtoull(optarg, NULL, 0); break;
		case 'T': kinds[0].events = atoi(optarg); break;
		case 'i': kinds[1].events = atoi(optarg); break;
		case 'd': kinds[2].events = atoi(optarg); break;
		case 'D': tty = optarg; break;
		case 'n': nmis = atoi(optarg); break;
		case 'N': nmi_source = optarg; break;
		case 'k': only = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-t threshold] [-T timer_ms] [-i ipis] [-d bytes] [-D tty] [-n nmis] [-N sysrq|probe] [-k kinds]\n",
				argv[0]);
			return 2;
		}
	}
	if (strcmp(nmi_source, "sysrq") && strcmp(nmi_source, "probe")) {
		fprintf(stderr, "%s: -N %s: the NMI source is sysrq or probe\n", argv[0], nmi_source);
		return 2;
	}
	/* The probe's NMIs are cheap and its windows short: more of them, one gap each. */
	if (!strcmp(nmi_source, "probe")) {
		kinds[3].events = 100;
		kinds[3].largest = false;
	}
	if (nmis)
		kinds[3].events = nmis;
	printf("exit_bench: nmi_source=%s\n", nmi_source);

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX) || kvm_cpu_has(X86_FEATURE_SVM));
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		/* Only the timer kind needs no second CPU. */
		vcpu_cpu = HOST_CPU;
		for (i = 1; i < (int)ARRAY_SIZE(kinds); i++)
			snprintf(kinds[i].skip, sizeof(kinds[i].skip),
				 "needs 2 CPUs (the vCPU's and the sender's)");
	}
	pin_to_cpu(HOST_CPU);

	/* Keep the NMI backtraces off the (slow, synchronous) console. */
	read_file("/proc/sys/kernel/printk", printk, sizeof(printk));
	write_file("/proc/sys/kernel/printk", "1");

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	sync_global_to_guest(vm, threshold);
	map_guest_vars();
	pthread_create(&thread, NULL, vcpu_thread, NULL);
	while (!G(spins))
		usleep(1000);

	for (i = 0; i < (int)ARRAY_SIZE(kinds); i++) {
		struct kind *k = &kinds[i];
		long long before = -1;

		if (only && !strstr(only, k->name))
			continue;
		if (k->skip[0]) {
			printf("exit_bench: kind=%s SKIP %s\n", k->name, k->skip);
			continue;
		}
		if (k->row)
			before = irq_count(k->row, vcpu_cpu);
		if (!strcmp(k->name, "timer"))
			run_timer(k);
		else if (!strcmp(k->name, "ipi"))
			run_ipi(k);
		else if (!strcmp(k->name, "device"))
			run_device(k);
		else
			run_nmi(k);
		if (k->skip[0]) {
			printf("exit_bench: kind=%s SKIP %s\n", k->name, k->skip);
			continue;
		}
		k->ran = true;
		if (strcmp(k->name, "device"))
			k->irqs = before < 0 ? -1 : irq_count(k->row, vcpu_cpu) - before;
	}

	G(stop) = true;
	pthread_join(thread, NULL);
	if (printk[0])
		write_file("/proc/sys/kernel/printk", printk);

	n = G(nr_gaps);
	TEST_ASSERT(n <= MAX_GAPS, "%u gaps, room for %d: raise MAX_GAPS or lower the counts",
		    n, MAX_GAPS);
	g = addr_gva2hva(vm, (uint64_t)gaps);
	printf("exit_bench: threshold=%lu gaps=%u guest_spins=%lu\n",
	       threshold, n, G(spins));
	for (i = 0; i < (int)ARRAY_SIZE(kinds); i++) {
		if (kinds[i].ran && !report(&kinds[i], g, n))
			missing++;
	}
	kvm_vm_free(vm);
	printf("exit_bench: done\n");
	return missing ? 1 : 0;
}
