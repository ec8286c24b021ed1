/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit/probe/nmi_probe.h: the user side of the kit's NMI probe
 * (tests/broken/nmi-probe.patch: /sys/module/kit_nmi_probe/parameters/),
 * shared by kit/probe/nmi_exits (x86_64, on the KVM selftests' library)
 * and kit/i386/nmi_exits (a plain 32-bit program).  The includer defines
 * PROBE_FAIL(fmt, ...), which reports a failure and does not return, and
 * runs a vCPU on PROBE_VCPU_CPU while it calls probe_storm() from
 * PROBE_HOST_CPU.
 *
 * Modes (see kit/probe/nmi_exits.c): 0 storm, 1 an NMI latched by the CPU
 * from inside an NMI exit's handler, 2 the same after an IRET to self
 * (exc_nmi()'s nmi_state latch; IDT hosts only).
 */
#ifndef KIT_NMI_PROBE_H
#define KIT_NMI_PROBE_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROBE_DIR	"/sys/module/kit_nmi_probe/parameters/"
#define PROBE_HOST_CPU	0
#define PROBE_VCPU_CPU	1
#define PROBE_GAP_US	1000
#define PROBE_STORM	400
#define PROBE_LATCH	100

struct probe_result {
	int mode;
	unsigned int storm_sent;
	int storm_got, via_kvm, self_sent, released, late, late_arrived;
	int nested, restarted;
};

/* Run the calling thread on @cpu only. */
static inline void probe_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		PROBE_FAIL("pinning to CPU %d: %s", cpu, strerror(errno));
}

static inline void probe_require(void)
{
	if (access(PROBE_DIR "storm", W_OK))
		PROBE_FAIL("no %sstorm: not a kernel with tests/broken/nmi-probe.patch",
			   PROBE_DIR);
}

static inline void probe_write(const char *name, unsigned int val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PROBE_DIR "%s", name);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", val) < 0 || fclose(f))
		PROBE_FAIL("writing %u to %s: %s", val, path, strerror(errno));
}

/* CPU @cpu's count on the NMI line of /proc/interrupts. */
static inline unsigned long probe_nmi_count(int cpu)
{
	char line[4096];
	unsigned long v = 0;
	FILE *f = fopen("/proc/interrupts", "r");
	bool found = false;

	if (!f)
		PROBE_FAIL("/proc/interrupts: %s", strerror(errno));
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
		found = true;
	}
	fclose(f);
	if (!found)
		PROBE_FAIL("no NMI: line in /proc/interrupts");
	return v;
}

static inline bool probe_host_has_fred(void)
{
	char line[8192];
	bool fred = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		PROBE_FAIL("/proc/cpuinfo: %s", strerror(errno));
	while (!fred && fgets(line, sizeof(line), f))
		fred = !strncmp(line, "flags", 5) && strstr(line, " fred");
	fclose(f);
	return fred;
}

/*
 * One storm of @n NMIs to the vCPU's CPU in @mode; checks what every mode
 * must show: each NMI handled once, on the host, some of them through an
 * NMI exit, no handler inside another.  @vcpu_failed: the vCPU's verdict.
 */
static inline struct probe_result probe_storm(int mode, unsigned int n,
					      volatile bool *vcpu_failed)
{
	struct probe_result r;
	unsigned long before, after;
	char buf[512];
	FILE *f;

	probe_write("mode", mode);
	probe_write("gap_us", PROBE_GAP_US);
	before = probe_nmi_count(PROBE_VCPU_CPU);
	probe_write("storm", n);
	after = probe_nmi_count(PROBE_VCPU_CPU);

	f = fopen(PROBE_DIR "result", "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		PROBE_FAIL("reading %sresult", PROBE_DIR);
	fclose(f);
	printf("kit: mode %d: %s", mode, buf);
	printf("kit: mode %d: CPU %d counted %lu NMIs\n", mode, PROBE_VCPU_CPU,
	       after - before);
	if (sscanf(buf, "mode=%d storm_sent=%u storm_got=%d via_kvm=%d self_sent=%d released=%d late=%d late_arrived=%d nested=%d restarted=%d",
		   &r.mode, &r.storm_sent, &r.storm_got, &r.via_kvm,
		   &r.self_sent, &r.released, &r.late, &r.late_arrived,
		   &r.nested, &r.restarted) != 10)
		PROBE_FAIL("unexpected probe result '%s'", buf);

	if (*vcpu_failed)
		PROBE_FAIL("mode %d: the vCPU failed (see above)", mode);
	if (r.storm_sent != n)
		PROBE_FAIL("mode %d: %u NMIs sent, wanted %u (2 CPUs?)", mode,
			   r.storm_sent, n);
	if (r.storm_got != (int)r.storm_sent)
		PROBE_FAIL("mode %d: %d of %u NMIs handled on CPU %d", mode,
			   r.storm_got, r.storm_sent, PROBE_VCPU_CPU);
	if (after - before < r.storm_sent + r.self_sent)
		PROBE_FAIL("mode %d: CPU %d counted %lu NMIs, %u + %d were sent",
			   mode, PROBE_VCPU_CPU, after - before, r.storm_sent,
			   r.self_sent);
	if (r.via_kvm <= 0)
		PROBE_FAIL("mode %d: no NMI was taken with an NMI exit (of %d)",
			   mode, r.storm_got);
	if (r.nested)
		PROBE_FAIL("mode %d: %d NMI handlers ran inside another", mode,
			   r.nested);
	return r;
}

/* Modes 1 and 2: every latched NMI arrived before KVM's handling ended. */
static inline void probe_check_latch(const struct probe_result *r)
{
	if (r->self_sent <= 0)
		PROBE_FAIL("mode %d: no NMI sent from a KVM NMI exit's handler",
			   r->mode);
	if (r->late || r->released != r->self_sent)
		PROBE_FAIL("mode %d: of %d NMIs latched while an NMI exit was handled, %d arrived before x86_entry_from_kvm() returned, %d after (%d seen later): NMI blocking not released",
			   r->mode, r->self_sent, r->released, r->late,
			   r->late_arrived);
	if (r->mode == 1 && r->restarted)
		PROBE_FAIL("mode 1: %d NMIs restarted by nmi_state, expected none",
			   r->restarted);
	if (r->mode == 2 && r->restarted != r->self_sent)
		PROBE_FAIL("mode 2: %d of %d nested NMIs run again by exc_nmi()'s nmi_state latch",
			   r->restarted, r->self_sent);
}

/* The three modes, from PROBE_HOST_CPU, while the vCPU runs. */
static inline void probe_run_all(volatile bool *vcpu_failed)
{
	struct probe_result r;

	probe_storm(0, PROBE_STORM, vcpu_failed);
	r = probe_storm(1, PROBE_LATCH, vcpu_failed);
	probe_check_latch(&r);
	if (probe_host_has_fred()) {
		printf("kit: mode 2: not run: FRED host (no IRET unblocks NMIs)\n");
		return;
	}
	r = probe_storm(2, PROBE_LATCH, vcpu_failed);
	probe_check_latch(&r);
}

#endif
