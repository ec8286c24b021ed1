// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/probe/nmi_exits: host NMIs that arrive while a guest runs, on a
 * kernel with the kit's NMI probe (tests/broken/nmi-probe.patch, applied by
 * kit/broken.sh; never mailed).  The probe sends NMI IPIs with a short
 * handler and marks the window in which x86_entry_from_kvm() handles an
 * NMI exit; see arch/x86/kernel/kit_nmi_probe.c in that patch.
 *
 * A vCPU spins on CPU 1 with IF=1 while CPU 0 sends NMI storms to CPU 1.
 * Phases (the probe's 'mode'):
 *
 *  0  storm: every NMI sent is handled once on the host (storm_got ==
 *     storm_sent, CPU 1's NMI count grows as much), and some were taken
 *     with an NMI exit (via_kvm), so the exit path was tested.
 *  1  CPU latch: the first NMIs taken with an exit send one more NMI to
 *     CPU 1 from their handler, while NMIs are blocked.  Each must arrive
 *     before x86_entry_from_kvm() returns (released == self_sent, late ==
 *     0): whatever handled the exit released NMI blocking.
 *  2  nmi_state latch (IDT hosts): the same, and the handler then IRETs to
 *     itself, which unblocks NMIs: the second NMI nests at once and must be
 *     run after the first one's handlers, on the same pt_regs (restarted
 *     == self_sent), never inside them (nested == 0).
 *
 * An NMI that reaches the guest (which has no IDT) shuts it down and fails
 * the test.  Fails, rather than skips, on a kernel without the probe: it is
 * only run on probe kernels.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define PROBE		"/sys/module/kit_nmi_probe/parameters/"
#define HOST_CPU	0
#define VCPU_CPU	1
#define GAP_US		1000
#define STORM_NMIS	400
#define LATCH_NMIS	100

static volatile bool stop_vcpu;
static volatile bool vcpu_failed;

static void guest_code(void)
{
	u64 end;

	sti();
	for (;;) {
		end = rdtsc() + guest_tsc_khz * 10;
		while (rdtsc() < end)
			cpu_relax();
		GUEST_SYNC(0);
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "pinning to CPU %d: errno %d", cpu, errno);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	pin(VCPU_CPU);
	while (!stop_vcpu) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "kit: FAIL: vCPU exit reason %u (%s), not I/O: an NMI reached the guest?\n",
				vcpu->run->exit_reason,
				exit_reason_str(vcpu->run->exit_reason));
			vcpu_failed = true;
			return NULL;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
	return NULL;
}

static void write_param(const char *name, unsigned int val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PROBE "%s", name);
	f = fopen(path, "w");
	TEST_ASSERT(f, "open %s: errno %d", path, errno);
	TEST_ASSERT(fprintf(f, "%u\n", val) > 0 && !fclose(f),
		    "write %u to %s: errno %d", val, path, errno);
}

/* CPU @cpu's count on the NMI line of /proc/interrupts. */
static unsigned long nmi_count(int cpu)
{
	char line[1024];
	unsigned long v = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "open /proc/interrupts: errno %d", errno);
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		int i;

		while (*p == ' ')
			p++;
		if (strncmp(p, "NMI:", 4))
			continue;
		p += 4;
		for (i = 0; i <= cpu; i++)
			v = strtoul(p, &p, 10);
	}
	fclose(f);
	return v;
}

struct result {
	int mode;
	unsigned int storm_sent;
	int storm_got, via_kvm, self_sent, released, late, late_arrived;
	int nested, restarted;
};

static struct result storm(int mode, unsigned int n)
{
	struct result r;
	unsigned long before, after;
	char buf[512];
	FILE *f;

	write_param("mode", mode);
	write_param("gap_us", GAP_US);
	before = nmi_count(VCPU_CPU);
	write_param("storm", n);
	after = nmi_count(VCPU_CPU);

	f = fopen(PROBE "result", "r");
	TEST_ASSERT(f && fgets(buf, sizeof(buf), f), "reading the probe's result");
	fclose(f);
	printf("mode %d: %s", mode, buf);
	printf("mode %d: CPU %d counted %lu NMIs\n", mode, VCPU_CPU, after - before);
	TEST_ASSERT(sscanf(buf, "mode=%d storm_sent=%u storm_got=%d via_kvm=%d self_sent=%d released=%d late=%d late_arrived=%d nested=%d restarted=%d",
			   &r.mode, &r.storm_sent, &r.storm_got, &r.via_kvm,
			   &r.self_sent, &r.released, &r.late, &r.late_arrived,
			   &r.nested, &r.restarted) == 10,
		    "unexpected probe result '%s'", buf);

	TEST_ASSERT(!vcpu_failed, "the vCPU failed (see above)");
	TEST_ASSERT(r.storm_sent == n, "%u NMIs sent, wanted %u (2 CPUs?)", r.storm_sent, n);
	TEST_ASSERT(r.storm_got == (int)r.storm_sent,
		    "mode %d: %d of %u NMIs handled on CPU %d", mode, r.storm_got,
		    r.storm_sent, VCPU_CPU);
	TEST_ASSERT(after - before >= r.storm_sent + r.self_sent,
		    "mode %d: CPU %d counted %lu NMIs, %u + %d were sent", mode,
		    VCPU_CPU, after - before, r.storm_sent, r.self_sent);
	TEST_ASSERT(r.via_kvm > 0, "mode %d: no NMI was taken with an NMI exit (of %d)",
		    mode, r.storm_got);
	TEST_ASSERT(r.nested == 0, "mode %d: %d NMI handlers ran inside another",
		    mode, r.nested);
	return r;
}

static bool host_has_fred(void)
{
	char line[4096];
	bool fred = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	TEST_ASSERT(f, "open /proc/cpuinfo: errno %d", errno);
	while (!fred && fgets(line, sizeof(line), f))
		fred = !strncmp(line, "flags", 5) && strstr(line, " fred");
	fclose(f);
	return fred;
}

static void check_latch(struct result *r)
{
	TEST_ASSERT(r->self_sent > 0, "mode %d: no NMI sent from a KVM NMI exit's handler",
		    r->mode);
	TEST_ASSERT(r->late == 0 && r->released == r->self_sent,
		    "mode %d: of %d NMIs latched while an NMI exit was handled, %d arrived before x86_entry_from_kvm() returned, %d after (%d seen later): NMI blocking not released",
		    r->mode, r->self_sent, r->released, r->late, r->late_arrived);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;
	struct result r;

	TEST_REQUIRE(sysconf(_SC_NPROCESSORS_ONLN) == 2);
	TEST_ASSERT(!access(PROBE "storm", W_OK),
		    "no %sstorm: not a kernel with tests/broken/nmi-probe.patch", PROBE);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	pin(HOST_CPU);
	pthread_create(&thread, NULL, vcpu_thread, vcpu);
	usleep(100 * 1000);

	storm(0, STORM_NMIS);

	r = storm(1, LATCH_NMIS);
	check_latch(&r);
	TEST_ASSERT(r.restarted == 0, "mode 1: %d NMIs restarted by nmi_state, expected none",
		    r.restarted);

	if (host_has_fred()) {
		printf("mode 2: not run: FRED host (no IRET unblocks NMIs)\n");
	} else {
		r = storm(2, LATCH_NMIS);
		check_latch(&r);
		TEST_ASSERT(r.restarted == r.self_sent,
			    "mode 2: %d of %d nested NMIs run again by exc_nmi()'s nmi_state latch",
			    r.restarted, r.self_sent);
	}

	stop_vcpu = true;
	pthread_join(thread, NULL);
	kvm_vm_free(vm);
	return 0;
}
