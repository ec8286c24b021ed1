// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/i386/kvm_irq_exits: does a 32-bit KVM host handle the interrupts
 * that exit its guests?
 *
 * The KVM selftests build for x86_64 only, so this is a plain 32-bit
 * program on the KVM API: one vCPU in real mode with IF=1 counting down a
 * loop of GUEST_LOOP iterations and then writing to port 0x10, over and
 * over, for RUN_S seconds of CLOCK_MONOTONIC.  Every host interrupt that
 * arrives meanwhile exits the guest; VMX has acknowledged it, and the
 * host must run its handler: on 32-bit that is what x86_entry_from_kvm()
 * hands to the IDT gate (7.3) or to external_interrupt() (the series).
 * The run ends by itself (the guest exits to user space every round; no
 * timer or signal is needed), so a host that loses its timer interrupts
 * fails the assertions below instead of hanging.
 *
 * Asserted, from the vCPU's binary stats and /proc/interrupts:
 *  - irq_exits >= MIN_EXITS: the host took interrupt exits;
 *  - this CPU's local timer count ("LOC") grew by >= MIN_EXITS while the
 *    guest ran: the timer interrupts those exits acknowledged were
 *    handled (an exit whose interrupt is dropped leaves the APIC's
 *    in-service bit set and the count still);
 *  - the guest never left for another reason.
 * The vCPU thread is pinned to one CPU so the counts are that CPU's.
 * Prints one "kit: ..." line per figure; exit 0 = pass, 1 = fail (with
 * the values), 4 = skip (no /dev/kvm).  Changes no host setting.
 */
#include "kvm32.h"

#include <sched.h>
#include <stdint.h>
#include <time.h>

#define RUN_S		2
/* HZ=100 gives 200 ticks in RUN_S; ask for a fraction. */
#define MIN_EXITS	20
/* ~2 ms on hardware, ~0.1 s on an emulator at 100 M instructions/s. */
#define GUEST_LOOP	5000000
#define MAX_ROUNDS	100000
#define EXIT_PORT	0x10
/* This CPU's column of the "LOC:" line of /proc/interrupts. */
static long long local_timer_count(int cpu)
{
	char line[4096];
	long long v = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		die("/proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		int i;

		while (*p == ' ')
			p++;
		if (strncmp(p, "LOC:", 4))
			continue;
		p += 4;
		for (i = 0; i <= cpu; i++) {
			v = strtoll(p, &end, 10);
			if (end == p)
				fail("LOC: column missing for CPU", cpu, cpu);
			p = end;
		}
		break;
	}
	fclose(f);
	if (v < 0)
		fail("no LOC: line in /proc/interrupts", v, 0);
	return v;
}

/* A u64 statistic of the vCPU, by name, from its KVM_GET_STATS_FD file. */
static unsigned long long vcpu_stat(int vcpu, const char *name)
{
	struct kvm_stats_header h;
	unsigned long long v;
	size_t dsz;
	char *descs;
	int fd, i;

	fd = ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		die("KVM_GET_STATS_FD");
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		die("stats header");
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	if (!descs || pread(fd, descs, h.num_desc * dsz, h.desc_offset) !=
		      (ssize_t)(h.num_desc * dsz))
		die("stats descriptors");
	for (i = 0; i < (int)h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);

		if (strcmp(d->name, name))
			continue;
		if (pread(fd, &v, sizeof(v), h.data_offset + d->offset) != sizeof(v))
			die("stats data");
		free(descs);
		close(fd);
		return v;
	}
	printf("kit: FAIL: no vCPU statistic %s\n", name);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	static const unsigned char code[] = REALMODE_LOOP_CODE(GUEST_LOOP, EXIT_PORT);
	unsigned long long exits0, exits1;
	long long loc0, loc1;
	struct vcpu32 v;
	struct kvm_run *run;
	int kvm, vcpu, cpu, rounds = 0;
	double t0, t1;
	cpu_set_t set;

	kvm = open_kvm();
	/* Stay on one CPU: the exits and the timer counts are that CPU's. */
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");

	v = create_realmode_vcpu(kvm, code, sizeof(code));
	vcpu = v.fd;
	run = v.run;

	exits0 = vcpu_stat(vcpu, "irq_exits");
	loc0 = local_timer_count(cpu);
	t0 = now_s();
	do {
		int r = ioctl(vcpu, KVM_RUN, NULL);

		t1 = now_s();
		if (r && errno != EINTR)
			die("KVM_RUN");
		if (r)
			continue;	/* a signal: run again */
		/* Only the guest's port write may end a run. */
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != EXIT_PORT)
			fail("guest exit to user space, reason", run->exit_reason,
			     KVM_EXIT_IO);
		rounds++;
	} while (t1 - t0 < RUN_S && rounds < MAX_ROUNDS);
	loc1 = local_timer_count(cpu);
	exits1 = vcpu_stat(vcpu, "irq_exits");

	printf("kit: cpu %d: %d guest rounds, irq_exits +%llu, LOC +%lld in %.2f s\n",
	       cpu, rounds, exits1 - exits0, loc1 - loc0, t1 - t0);
	if (exits1 - exits0 < MIN_EXITS)
		fail("irq_exits while the guest ran", exits1 - exits0, MIN_EXITS);
	if (loc1 - loc0 < MIN_EXITS)
		fail("local timer interrupts handled while the guest ran",
		     loc1 - loc0, MIN_EXITS);
	printf("kit: PASS\n");
	return 0;
}
