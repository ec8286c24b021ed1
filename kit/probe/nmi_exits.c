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

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define PROBE_FAIL(...) TEST_FAIL(__VA_ARGS__)
#include "nmi_probe.h"

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

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	probe_pin(PROBE_VCPU_CPU);
	while (!stop_vcpu) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_IO) {
			printf("kit: FAIL: vCPU exit reason %u (%s), not I/O: an NMI reached the guest?\n",
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

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;

	TEST_REQUIRE(sysconf(_SC_NPROCESSORS_ONLN) == 2);
	probe_require();

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	probe_pin(PROBE_HOST_CPU);
	pthread_create(&thread, NULL, vcpu_thread, vcpu);
	usleep(100 * 1000);

	probe_run_all(&vcpu_failed);

	stop_vcpu = true;
	pthread_join(thread, NULL);
	kvm_vm_free(vm);
	return 0;
}
