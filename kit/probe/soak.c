// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/probe/soak [SECONDS]: guests on every CPU of the host while the host
 * takes four kinds of events at once, for SECONDS (default 20); then the
 * counts of events sent, handled on the host and seen as VM exits must
 * agree, and every guest must have made progress.  Needs the kit's NMI
 * probe kernel (tests/broken/nmi-probe.patch; kit/soak.sh applies it) and
 * a second UART (the soak plan gives Bochs a com2).
 *
 * One VM, one vCPU per online CPU, each vCPU thread pinned to its CPU; the
 * guests count in a loop with interrupts on.  Nothing is injected into
 * them: every host event that hits a CPU while its guest runs is an
 * external-interrupt or NMI exit, handled by the host.
 *
 *  timer   each vCPU thread has a POSIX timer firing every TIMER_US on its
 *          own CPU (an hrtimer: local APIC timer interrupts); its signal
 *          also ends KVM_RUN with EINTR.  Sent: expirations due in the
 *          time measured; handled: signals plus overruns, which must
 *          account for every one of them; LOC must count at least one
 *          interrupt per signal.
 *  ipi     a thread calls membarrier(PRIVATE_EXPEDITED), which sends a
 *          call-function IPI to every other CPU running this process,
 *          i.e. to the vCPUs.  CAL must count at least one per call.
 *  device  a thread writes single bytes to /dev/ttyS1 and waits for each
 *          to go out: one transmit interrupt per byte, through
 *          common_interrupt().  Its /proc/interrupts line must count at
 *          least one per byte.
 *  nmi     a thread sends storms of NMI IPIs through the probe, to every
 *          other CPU (arriving while the other kinds' handlers run): each
 *          must be handled exactly once (storm_got == storm_sent), some of
 *          them through an NMI exit (via_kvm), and the NMI line must
 *          count them.
 *  exits   the vCPUs' irq_exits: more than zero, and no more than the
 *          interrupts all CPUs handled (an exit is an interrupt handled).
 *
 * The figures are printed as 'KIT-SOAK' lines for kit/soak.sh.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define PROBE_FAIL(...) TEST_FAIL(__VA_ARGS__)
#include "nmi_probe.h"

#define MAX_CPUS	8
#define TIMER_US	500
#define IPI_GAP_US	300
#define NMI_STORM	50
#define NMI_GAP_US	200
#define NMI_PAUSE_US	5000
#define TTY		"/dev/ttyS1"

static unsigned long progress[MAX_CPUS];

static void guest_code(u64 id)
{
	sti();
	for (;;)
		WRITE_ONCE(progress[id], READ_ONCE(progress[id]) + 1);
}

static volatile bool stop;
static int ncpus;

struct vcpu_ctx {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	int cpu;
	unsigned long signals, overruns, eintr;
	unsigned long expected;
	u32 bad_exit;
};

static unsigned long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ul + ts.tv_nsec / 1000;
}

static __thread timer_t my_timer;
static __thread struct vcpu_ctx *my_ctx;

static void on_timer(int sig)
{
	int o = timer_getoverrun(my_timer);

	if (my_ctx) {
		my_ctx->signals++;
		if (o > 0)
			my_ctx->overruns += o;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_ctx *c = arg;
	struct itimerspec its = {
		.it_interval.tv_nsec = TIMER_US * 1000,
		.it_value.tv_nsec = TIMER_US * 1000,
	};
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	unsigned long t0;
	int r;

	probe_pin(c->cpu);
	my_ctx = c;
	sev._sigev_un._tid = syscall(SYS_gettid);
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &my_timer),
		    "timer_create: errno %d", errno);
	t0 = now_us();
	TEST_ASSERT(!timer_settime(my_timer, 0, &its, NULL),
		    "timer_settime: errno %d", errno);
	while (!stop) {
		r = __vcpu_run(c->vcpu);
		if (r < 0 && errno == EINTR) {
			c->eintr++;
			continue;
		}
		/* The guest never exits on its own: anything else is wrong. */
		c->bad_exit = r < 0 ? 0xffffffffu : c->vcpu->run->exit_reason;
		break;
	}
	memset(&its, 0, sizeof(its));
	timer_settime(my_timer, 0, &its, NULL);
	c->expected = (now_us() - t0) / TIMER_US;
	timer_delete(my_timer);
	return NULL;
}

static unsigned long ipi_calls;

static void *ipi_thread(void *arg)
{
	TEST_ASSERT(!syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0),
		    "membarrier register: errno %d", errno);
	while (!stop) {
		TEST_ASSERT(!syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0),
			    "membarrier: errno %d", errno);
		ipi_calls++;
		usleep(IPI_GAP_US);
	}
	return NULL;
}

static unsigned long tty_bytes;
static int tty_fd;

/* The UART's IRQ is requested when the port is opened: before counting. */
static void tty_open(void)
{
	struct termios t;

	tty_fd = open(TTY, O_WRONLY | O_NOCTTY);
	TEST_ASSERT(tty_fd >= 0, "open %s: errno %d (no second UART: the soak plan's com2?)",
		    TTY, errno);
	TEST_ASSERT(!tcgetattr(tty_fd, &t), "tcgetattr: errno %d", errno);
	cfmakeraw(&t);
	cfsetospeed(&t, B115200);
	TEST_ASSERT(!tcsetattr(tty_fd, TCSANOW, &t), "tcsetattr: errno %d", errno);
}

static void *device_thread(void *arg)
{
	while (!stop) {
		TEST_ASSERT(write(tty_fd, "k", 1) == 1, "write %s: errno %d", TTY, errno);
		TEST_ASSERT(!tcdrain(tty_fd), "tcdrain: errno %d", errno);
		tty_bytes++;
	}
	return NULL;
}

static unsigned long nmi_sent, nmi_got, nmi_via_kvm, nmi_storms;

static void *nmi_thread(void *arg)
{
	char buf[512];
	struct probe_result r;
	FILE *f;

	probe_write("mode", 0);
	probe_write("gap_us", NMI_GAP_US);
	while (!stop) {
		probe_write("storm", NMI_STORM);
		f = fopen(PROBE_DIR "result", "r");
		TEST_ASSERT(f && fgets(buf, sizeof(buf), f), "reading the probe's result");
		fclose(f);
		TEST_ASSERT(sscanf(buf, "mode=%d storm_sent=%u storm_got=%d via_kvm=%d",
				   &r.mode, &r.storm_sent, &r.storm_got, &r.via_kvm) == 4,
			    "unexpected probe result '%s'", buf);
		TEST_ASSERT(r.storm_got == (int)r.storm_sent,
			    "storm %lu: %d of %u NMIs handled", nmi_storms, r.storm_got,
			    r.storm_sent);
		nmi_sent += r.storm_sent;
		nmi_got += r.storm_got;
		nmi_via_kvm += r.via_kvm;
		nmi_storms++;
		usleep(NMI_PAUSE_US);
	}
	return NULL;
}

/* The sum over all CPUs of the /proc/interrupts line named @name ("LOC:",
 * "CAL:", "NMI:") or whose action is @name ("ttyS1"). */
static unsigned long interrupts(const char *name)
{
	char line[4096];
	unsigned long sum = 0;
	bool found = false;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "/proc/interrupts: errno %d", errno);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		int i;

		while (*p == ' ')
			p++;
		if (name[strlen(name) - 1] == ':') {
			if (strncmp(p, name, strlen(name)))
				continue;
		} else {
			size_t l = strlen(line);

			while (l && (line[l - 1] == '\n' || line[l - 1] == ' '))
				line[--l] = 0;
			if (l < strlen(name) || strcmp(line + l - strlen(name), name))
				continue;
		}
		p = strchr(p, ':') + 1;
		for (i = 0; i < ncpus; i++) {
			sum += strtoull(p, &end, 10);
			p = end;
		}
		found = true;
	}
	fclose(f);
	TEST_ASSERT(found, "no '%s' line in /proc/interrupts", name);
	return sum;
}

/* Every line of /proc/interrupts, all CPUs: what the host handled. */
static unsigned long all_interrupts(void)
{
	char line[4096];
	unsigned long sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "/proc/interrupts: errno %d", errno);
	TEST_ASSERT(fgets(line, sizeof(line), f), "empty /proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;
		int i;

		if (!p || !strncmp(line, " ERR", 4) || !strncmp(line, " MIS", 4))
			continue;
		p++;
		for (i = 0; i < ncpus; i++) {
			sum += strtoull(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpus[MAX_CPUS];
	struct vcpu_ctx ctx[MAX_CPUS] = {};
	unsigned long loc0, cal0, nmi0, tty0, all0, loc, cal, nmi, tty, all;
	unsigned long half[MAX_CPUS], exits = 0, sig = 0, due = 0, got = 0;
	unsigned long t0, secs;
	pthread_t ipi, dev, nmit;
	struct sigaction sa = { .sa_handler = on_timer };
	struct kvm_vm *vm;
	int i;

	secs = argc > 1 ? strtoull(argv[1], NULL, 0) : 20;
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(ncpus >= 2);
	TEST_ASSERT(ncpus <= MAX_CPUS, "%d CPUs, at most %d", ncpus, MAX_CPUS);
	probe_require();
	tty_open();
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction: errno %d", errno);

	vm = vm_create_with_vcpus(ncpus, guest_code, vcpus);
	loc0 = interrupts("LOC:");
	cal0 = interrupts("CAL:");
	nmi0 = interrupts("NMI:");
	tty0 = interrupts("ttyS1");
	all0 = all_interrupts();
	t0 = now_us();
	for (i = 0; i < ncpus; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		ctx[i].vcpu = vcpus[i];
		ctx[i].cpu = i;
		pthread_create(&ctx[i].thread, NULL, vcpu_thread, &ctx[i]);
	}
	pthread_create(&ipi, NULL, ipi_thread, NULL);
	pthread_create(&dev, NULL, device_thread, NULL);
	pthread_create(&nmit, NULL, nmi_thread, NULL);

	usleep(secs * 500000);
	for (i = 0; i < ncpus; i++) {
		sync_global_from_guest(vm, progress);
		half[i] = progress[i];
	}
	usleep(secs * 500000);
	stop = true;
	pthread_join(nmit, NULL);
	pthread_join(dev, NULL);
	pthread_join(ipi, NULL);
	for (i = 0; i < ncpus; i++) {
		pthread_kill(ctx[i].thread, SIGUSR1);
		pthread_join(ctx[i].thread, NULL);
	}
	secs = now_us() - t0;
	loc = interrupts("LOC:") - loc0;
	cal = interrupts("CAL:") - cal0;
	nmi = interrupts("NMI:") - nmi0;
	tty = interrupts("ttyS1") - tty0;
	all = all_interrupts() - all0;
	sync_global_from_guest(vm, progress);

	for (i = 0; i < ncpus; i++) {
		unsigned long e = vcpu_get_stat(ctx[i].vcpu, irq_exits);

		exits += e;
		sig += ctx[i].signals;
		due += ctx[i].expected;
		got += ctx[i].signals + ctx[i].overruns;
		printf("KIT-SOAK vcpu=%d cpu=%d progress=%lu half=%lu irq_exits=%lu timer_expected=%lu timer_signals=%lu timer_overruns=%lu eintr=%lu\n",
		       i, ctx[i].cpu, progress[i], half[i], e, ctx[i].expected,
		       ctx[i].signals, ctx[i].overruns, ctx[i].eintr);
	}
	printf("KIT-SOAK kind=timer sent=%lu handled=%lu irqs=%lu\n", due, got, loc);
	printf("KIT-SOAK kind=ipi sent=%lu irqs=%lu\n", ipi_calls, cal);
	printf("KIT-SOAK kind=device sent=%lu irqs=%lu\n", tty_bytes, tty);
	printf("KIT-SOAK kind=nmi sent=%lu handled=%lu via_kvm=%lu storms=%lu irqs=%lu\n",
	       nmi_sent, nmi_got, nmi_via_kvm, nmi_storms, nmi);
	printf("KIT-SOAK kind=all seconds=%lu.%03lu irqs=%lu irq_exits=%lu\n",
	       secs / 1000000, secs / 1000 % 1000, all, exits);

	for (i = 0; i < ncpus; i++) {
		TEST_ASSERT(!ctx[i].bad_exit,
			    "vCPU %d: KVM_RUN ended with exit reason %u (%s): the guest got an event?",
			    i, ctx[i].bad_exit, exit_reason_str(ctx[i].bad_exit));
		TEST_ASSERT(half[i] > 0 && progress[i] > half[i],
			    "vCPU %d made no progress: %lu at half time, %lu at the end",
			    i, half[i], progress[i]);
		/* One expiry may be due and not yet signalled at the end. */
		TEST_ASSERT(ctx[i].signals + ctx[i].overruns + 2 >= ctx[i].expected &&
			    ctx[i].signals + ctx[i].overruns <= ctx[i].expected + 2,
			    "vCPU %d: %lu timer expiries due, %lu signals + %lu overruns",
			    i, ctx[i].expected, ctx[i].signals, ctx[i].overruns);
	}
	TEST_ASSERT(loc >= sig, "%lu timer signals, only %lu LOC interrupts", sig, loc);
	TEST_ASSERT(ipi_calls > 0 && cal >= ipi_calls,
		    "%lu membarrier calls, only %lu CAL interrupts", ipi_calls, cal);
	TEST_ASSERT(tty_bytes > 0 && tty >= tty_bytes,
		    "%lu bytes sent on %s, only %lu of its interrupts", tty_bytes, TTY, tty);
	TEST_ASSERT(nmi_storms > 0 && nmi_got == nmi_sent && nmi >= nmi_sent,
		    "%lu NMIs sent in %lu storms, %lu handled by the probe, %lu counted",
		    nmi_sent, nmi_storms, nmi_got, nmi);
	TEST_ASSERT(nmi_via_kvm > 0, "none of %lu NMIs came through an NMI exit", nmi_got);
	TEST_ASSERT(exits > 0 && exits <= all,
		    "%lu IRQ exits, %lu interrupts handled on the host", exits, all);

	close(tty_fd);
	kvm_vm_free(vm);
	return 0;
}
