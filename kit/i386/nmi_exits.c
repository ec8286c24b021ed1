// SPDX-License-Identifier: GPL-2.0-only
/*
 * kit/i386/nmi_exits: kit/probe/nmi_exits for a 32-bit host kernel with
 * the kit's NMI probe (tests/broken/nmi-probe.patch, #!config i386): host
 * NMIs that arrive while a guest runs reach the host's handlers once each,
 * NMIs latched by the CPU while an NMI exit is handled arrive before
 * x86_entry_from_kvm() returns, and those that nest after an IRET are run
 * by exc_nmi()'s nmi_state latch (kit/probe/nmi_probe.h has the checks).
 *
 * A real-mode vCPU with IF=1 loops on CPU 1 and exits to user space by
 * port I/O every round; CPU 0 sends the NMIs.  Any other exit (an NMI
 * that reached the guest, which has no IVT set up) fails the test.
 * Prints "kit: ..." lines; exit 0 = pass, 1 = fail, 4 = skip (no KVM).
 */
#include "kvm32.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#define PROBE_FAIL(fmt, ...)						\
	do {								\
		printf("kit: FAIL: " fmt "\n", ##__VA_ARGS__);		\
		exit(1);						\
	} while (0)
#include "../probe/nmi_probe.h"

#define GUEST_LOOP	200000
#define EXIT_PORT	0x10

static volatile bool stop_vcpu;
static volatile bool vcpu_failed;

static void *vcpu_thread(void *arg)
{
	struct vcpu32 *v = arg;

	probe_pin(PROBE_VCPU_CPU);
	while (!stop_vcpu) {
		int r = ioctl(v->fd, KVM_RUN, NULL);

		if (r && errno == EINTR)
			continue;
		if (r || v->run->exit_reason != KVM_EXIT_IO ||
		    v->run->io.port != EXIT_PORT) {
			printf("kit: FAIL: KVM_RUN %d, exit reason %u, not I/O to port 0x%x: an NMI reached the guest?\n",
			       r, v->run->exit_reason, EXIT_PORT);
			vcpu_failed = true;
			return NULL;
		}
	}
	return NULL;
}

int main(void)
{
	static const unsigned char code[] = REALMODE_LOOP_CODE(GUEST_LOOP, EXIT_PORT);
	struct vcpu32 v;
	pthread_t thread;
	int kvm;

	kvm = open_kvm();
	if (sysconf(_SC_NPROCESSORS_ONLN) != 2) {
		printf("kit: SKIP: needs 2 CPUs\n");
		return KSFT_SKIP;
	}
	probe_require();

	v = create_realmode_vcpu(kvm, code, sizeof(code));
	probe_pin(PROBE_HOST_CPU);
	if (pthread_create(&thread, NULL, vcpu_thread, &v))
		die("pthread_create");
	usleep(100 * 1000);

	probe_run_all(&vcpu_failed);

	stop_vcpu = true;
	pthread_join(thread, NULL);
	printf("kit: PASS\n");
	return 0;
}
