/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit/i386/kvm32.h: what the kit's 32-bit KVM programs share (the KVM
 * selftests' library is x86_64 only): error reporting in the kit's
 * "kit: FAIL: ..." form, and one vCPU in real mode running @code at
 * CODE_GPA with IF=1.
 */
#ifndef KIT_KVM32_H
#define KIT_KVM32_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MEM_SIZE	0x10000
#define CODE_GPA	0x1000
#define KSFT_SKIP	4

static inline void fail(const char *what, long long got, long long want)
{
	printf("kit: FAIL: %s: %lld (want %lld)\n", what, got, want);
	exit(1);
}

static inline void die(const char *what)
{
	printf("kit: FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline int xioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die(name);
	return r;
}

/*
 * Real-mode guest code at CODE_GPA: count %ecx down from @loop, write %al
 * to port @port, start again.
 *   1000: mov $loop, %ecx
 *   1006: dec %ecx
 *   1008: jnz 1006
 *   100a: out %al, $port
 *   100c: jmp 1000
 */
#define REALMODE_LOOP_CODE(loop, port) {				\
	0x66, 0xb9, (loop) & 0xff, ((loop) >> 8) & 0xff,		\
	((loop) >> 16) & 0xff, (loop) >> 24,				\
	0x66, 0x49,							\
	0x75, 0xfc,							\
	0xe6, (port),							\
	0xeb, 0xf2,							\
}

struct vcpu32 {
	int kvm, vm, fd;
	struct kvm_run *run;
};

/* /dev/kvm, or exit with KSFT_SKIP. */
static inline int open_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0) {
		printf("kit: SKIP: /dev/kvm: %s\n", strerror(errno));
		exit(KSFT_SKIP);
	}
	return kvm;
}

/* A VM with MEM_SIZE bytes at 0 and one real-mode vCPU at CODE_GPA, IF=1. */
static inline struct vcpu32 create_realmode_vcpu(int kvm, const void *code, size_t size)
{
	struct kvm_userspace_memory_region mem;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct vcpu32 v = { .kvm = kvm };
	unsigned char *ram;
	int mmap_size;

	v.vm = xioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	ram = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest memory");
	memcpy(ram + CODE_GPA, code, size);
	mem = (struct kvm_userspace_memory_region) {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (unsigned long)ram,
	};
	xioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &mem, "KVM_SET_USER_MEMORY_REGION");
	v.fd = xioctl(v.vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
	mmap_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
	v.run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0);
	if (v.run == MAP_FAILED)
		die("mmap kvm_run");

	xioctl(v.fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	xioctl(v.fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 0x202;	/* IF=1 */
	xioctl(v.fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
	return v;
}

#endif
