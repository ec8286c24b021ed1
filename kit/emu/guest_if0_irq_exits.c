// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/emu/guest_if0_irq_exits: does the Intel host take external-interrupt
 * VM exits from a guest that runs with interrupts disabled?
 *
 * KVM sets "external-interrupt exiting", so on hardware a host interrupt
 * exits the guest whatever the guest's RFLAGS.IF.  An emulator that
 * re-evaluates interrupt masking only when an instruction changes IF
 * (Bochs before kit/bochs/patches/0001) keeps host interrupts masked in a
 * guest entered with IF=0: no exits until the guest leaves for another
 * reason.  (SVM's external-interrupt intercept behaves the same: the test
 * has no vendor requirement.)
 *
 * Two phases, each one KVM_RUN of a guest that spins for SPIN_MS of TSC
 * time and then reports done: first with IF=1 (control: this host takes
 * IRQ exits at all, from its timer tick), then with IF=0 (cli).  Asserted:
 * irq_exits grows by at least MIN_EXITS in each phase.  The guest ends on
 * its own even when nothing exits it.  Changes no host setting.
 */
#include <stdio.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define SPIN_MS		1000
/* A host tick of HZ=100 gives 100 in SPIN_MS; ask for a fraction. */
#define MIN_EXITS	10

/* guest_tsc_khz: the selftests' library gives it to every guest. */
static u64 guest_spins;

static void guest_code(void)
{
	u64 end;

	sti();
	end = rdtsc() + guest_tsc_khz * SPIN_MS;
	while (rdtsc() < end)
		WRITE_ONCE(guest_spins, guest_spins + 1);
	GUEST_SYNC(1);

	cli();
	end = rdtsc() + guest_tsc_khz * SPIN_MS;
	while (rdtsc() < end)
		WRITE_ONCE(guest_spins, guest_spins + 1);
	GUEST_DONE();
}

static u64 run_phase(struct kvm_vcpu *vcpu, const char *name, u64 want_ucall)
{
	u64 before, exits;
	struct ucall uc;

	before = vcpu_get_stat(vcpu, irq_exits);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	case UCALL_SYNC:
	case UCALL_DONE:
		TEST_ASSERT(uc.cmd == want_ucall, "Guest ended phase '%s' with ucall %lu, expected %lu",
			    name, uc.cmd, want_ucall);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc.cmd);
	}
	exits = vcpu_get_stat(vcpu, irq_exits) - before;
	printf("guest with %s spun %d ms of TSC time: irq_exits +%lu\n", name, SPIN_MS, exits);
	return exits;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 on, off;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	TEST_ASSERT(guest_tsc_khz, "The selftests' library found no TSC frequency");

	on = run_phase(vcpu, "IF=1", UCALL_SYNC);
	TEST_ASSERT(on >= MIN_EXITS,
		    "Control failed: a guest with IF=1 took %lu IRQ exits in %d ms, expected >= %d (no host tick?)",
		    on, SPIN_MS, MIN_EXITS);
	off = run_phase(vcpu, "IF=0", UCALL_DONE);
	TEST_ASSERT(off >= MIN_EXITS,
		    "A guest with IF=0 took %lu IRQ exits in %d ms (with IF=1: %lu), expected >= %d: "
		    "host interrupts must exit the guest whatever its IF",
		    off, SPIN_MS, on, MIN_EXITS);

	kvm_vm_free(vm);
	return 0;
}
