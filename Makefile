# The kit: build Linux 7.3 with series/ applied (or, with KIT_BASE=6.12 or
# the backport-* targets, 6.12.y with backport/6.12/series/) and test it.
# 'make help' lists the targets; README.md says what each one does.

SHELL := /bin/bash
KIT := kit
KIT_BASE ?= 7.3
export KIT_BASE
BASE_DIR := $(shell sed -n 's/^BASE_DIR=//p' kit/base-$(KIT_BASE).conf 2>/dev/null)
ifeq ($(BASE_DIR),)
$(error no base '$(KIT_BASE)': kit/base-$(KIT_BASE).conf missing (bases: 7.3, 6.12))
endif
# build/ for 7.3, build/<base>/ for the backport (kit/lib.sh says the same).
OUT := $(if $(filter 7.3,$(KIT_BASE)),build,build/$(KIT_BASE))
PLANS := $(patsubst ./%,%,$(BASE_DIR)/tests/plans)
CHECK_PLAN ?= $(PLANS)/vmx-check.plan
RUN_PLAN ?= $(PLANS)/vmx-run.plan
# The lanes that 'make check' requires to have run (a skipped one fails):
# static, KUnit on QEMU, the check plan on the idt and the fred lane (a
# real Intel CPU if this machine has one, else the kit's Bochs), and the
# emulator's own red lane where the kit's Bochs is used.
# (The 6.12 backport keeps its idt lane only.)
ifeq ($(KIT_BASE),7.3)
FRED_LANE := vmx-fred-patched-$(basename $(notdir $(CHECK_PLAN)))
I386_LANE := qemu-patched-i386 vmx-patched-i386-vmx-i386
BOCHS_RED := $(shell bash -c '. kit/lib.sh; [ "$$(vmx_host idt 2>/dev/null)" = bochs ] && echo bochs-red')
endif
CHECK_LANES := static kit kit-mail kit-matrix qemu-patched vmx-patched-$(basename $(notdir $(CHECK_PLAN))) \
	$(FRED_LANE) $(I386_LANE) $(BOCHS_RED)
# The red lane (the fixes' tests fail without the fixes) where the base
# lists such tests and the series has patches.
RED := $(if $(and $(wildcard $(BASE_DIR)/tests/red-on-base.txt),$(wildcard $(BASE_DIR)/series/0001-*.patch)),red)
CHECK_LANES += $(RED)

.PHONY: help deps tree export build build-base build-all selftests static qemu \
	vmx vmx-fred vmx-i386 vmx-i386-base vmx-base vmx-full bench bench-nmi bench-experiment debian-changes run check check-full mail-check matrix matrix-table red summary mail clean \
	distclean bochs bochs-red kit-test broken vmx-lanes debug debug-base vectoring soak bad-input reliability

help:
	@echo 'make run         tree, build, boot the patched kernel on the Intel VMX host (idt lane)'
	@echo '                 and run the series'"'"' KVM selftests ($(RUN_PLAN)); verdict table'
	@echo 'make check       the test suite: static, kit, qemu (KUnit), vmx idt+fred+i386, bochs-red, red; fails on any'
	@echo '                 failure or skipped required lane; ends with "N passed, N failed"'
	@echo 'make tree        unpack the base (or use KERNEL_TREE=), apply series/ with git am'
	@echo 'make export      series/ <- the tree'"'"'s commits since base (keeps the cover letter)'
	@echo 'make build       patched x86_64 kernel;  make build-base: the baseline'
	@echo 'make build-all   every config of the base'"'"'s matrix (kit/base-$(KIT_BASE).conf)'
	@echo 'make matrix      each patch x each matrix config builds, no new warnings; W=1/sparse/kernel-doc'
	@echo '                 (a config at a time; MATRIX_SKIP_DONE=1 builds only configs not done for this series)'
	@echo 'make matrix-table the matrix table from the column files (build/results/matrix, results/matrix)'
	@echo 'make mail-check  static lane + matrix (what a series needs before mailing)'
	@echo 'make check-full  check + matrix + mail + reliability, and the same for the 6.12 backport (not in CI)'
	@echo 'make reliability debug (x86_64-debug, -cfi), soak, bad-input and the IBT/CFI/lockdep/soak defects'
	@echo 'make static      static lane: series applies, checkpatch --strict, claims'
	@echo 'make qemu        qemu lane: boot + KUnit under QEMU (KVM if it works, else TCG)'
	@echo 'make vmx         idt vmx lane on the patched kernel, PLAN=$(PLANS)/<name>.plan'
	@echo 'make vmx-fred    the same on the fred lane (FRED host: wildcat_lake, or a real FRED CPU)'
	@echo 'make vmx-i386    the i386 kernel with KVM on the idt lane, 32-bit KVM program (-base: plain 7.3)'
	@echo 'make bochs       build the kit'"'"'s Bochs (kit/bochs/: pinned source, patches, configure line)'
	@echo 'make bochs-red   the emulator tests (kit/emu/) on Bochs without the kit'"'"'s patches: must fail'
	@echo 'make debug       a debug kernel (lockdep/entry/RCU) on both vmx lanes, 7.3 first: splats'
	@echo '                 7.3 prints too are recorded, not blamed; DEBUG_CONFIG=x86_64-cfi|-kasan|-ubsan,'
	@echo '                 DEBUG_KERNELS="base patched" (debug-base: 7.3 only)'
	@echo 'make broken      a purpose-made defect (tests/broken/, BROKEN=fred-orig-ax): which lanes go red'
	@echo 'make vmx-base    the idt lane with PLAN on the baseline kernel'
	@echo 'make soak        guests on every CPU under timer/IPI/device/NMI storms, 7.3 and the series,'
	@echo '                 idt+fred lanes, counts must agree (DURATION=20 guest seconds per run)'
	@echo 'make vectoring   events whose delivery faults in EPT, on 7.3, the series and the requeue'
	@echo '                 experiment (experiments/, VECTORING_RUNS="run..."): results/vectoring.md'
	@echo 'make kit-test    the kit'"'"'s own tests: how it picks the Intel host, mail identity, matrix table'
	@echo 'make bad-input   the kit on bad input (bad trees, tarballs, builds, full disk, Ctrl-C): one'
	@echo '                 clear error each, nothing left half-done (CASES="..." for a subset)'
	@echo 'make red         the fixes'"'"' tests on base + test patches only: each must fail'
	@echo 'make vmx-full    upstream KVM selftests on baseline and patched, parity table'
	@echo 'make vmx-lanes   the same selftests on the idt and the fred lane (results/lanes.md, ~5 min)'
	@echo 'make bench       host cost of IRQ/NMI VM exits, baseline vs patched in one run (bench/results.md)'
	@echo 'make bench-nmi   the same with the kit'"'"'s NMI probe (short NMI handler), L1D flush off'
	@echo 'make bench-experiment EXPERIMENT=NAME  7.3 vs the series + experiments/NAME.patch, L1D flush off'
	@echo 'make debian-changes  what the base package changed in the series'"'"' areas (its changelog)'
	@echo 'make summary     the verdict table of the last results'
	@echo 'make mail        build/mail/: the series from your git identity, To/Cc (get_maintainer.pl),'
	@echo '                 send-email --dry-run; MAIL_SEND=1 sends (asks before each mail)'
	@echo 'make clean       remove results and build output (keeps the trees and ccache)'
	@echo 'make distclean   remove build/ entirely'
	@echo 'make backport-X  target X on the 6.12.y backport (backport/6.12/), e.g. backport-check'
	@echo 'Variables: KERNEL_TREE=/path/to/linux  PLAN=...  KIT_BOCHS_CPUS=2  KIT_BASE=7.3|6.12'
	@echo '           KIT_VMX_HOST=auto|bochs|bochs-fred|bochs-2.7|qemu-kvm  BOCHS_SRC=/path/to/bochs'

deps:
	@bash -c '. $(KIT)/lib.sh; ensure_pkgs "$${PKGS_BUILD[@]}" "$${PKGS_INITRAMFS[@]}" "$${PKGS_QEMU[@]}" "$${PKGS_BOCHS[@]}" "$${PKGS_MAIL[@]}" "$${PKGS_CHECK[@]}"'

# The emulated Intel host: Bochs from source with the kit's patches.
bochs:
	@bash $(KIT)/bochs.sh patched

tree:
	@bash $(KIT)/tree.sh

export:
	@bash $(KIT)/export.sh

build: tree
	@bash $(KIT)/build.sh patched x86_64

build-base: tree
	@bash $(KIT)/build.sh base x86_64

# Every config of the base's build matrix (kit/base-<base>.conf).
build-all: build
	@bash -c '. $(KIT)/lib.sh; for c in $$MATRIX_CONFIGS; do bash $(KIT)/build.sh patched $$c || exit; done'

static: tree
	@bash $(KIT)/lane-static.sh

qemu: build
	@bash $(KIT)/lane-qemu.sh patched

PLAN ?= $(RUN_PLAN)
vmx: build
	@bash $(KIT)/lane-vmx.sh patched $(PLAN)

vmx-fred: build
	@KIT_VMX_LANE=fred bash $(KIT)/lane-vmx.sh patched $(PLAN)

vmx-base: build-base
	@bash $(KIT)/lane-vmx.sh base $(PLAN)

# The 32-bit lanes: the i386 kernel (KVM_INTEL) with its KUnit suites on
# QEMU, and on the idt lane with the kit's 32-bit KVM program
# (tests/plans/vmx-i386.plan); -base: plain 7.3.
vmx-i386: tree
	@bash $(KIT)/build.sh patched i386
	@KIT_CONFIG=i386 bash $(KIT)/lane-qemu.sh patched || true
	@KIT_CONFIG=i386 bash $(KIT)/lane-vmx.sh patched $(PLANS)/vmx-i386.plan

vmx-i386-base: tree
	@bash $(KIT)/build.sh base i386
	@KIT_CONFIG=i386 bash $(KIT)/lane-qemu.sh base || true
	@KIT_CONFIG=i386 bash $(KIT)/lane-vmx.sh base $(PLANS)/vmx-i386.plan

# The main job: the patched kernel on the Intel VMX lane with the IRQ/NMI
# exit tests.  Prints the verdict table; exits non-zero on a failure.
run: build
	@rm -f $(OUT)/results/vmx-patched-$(basename $(notdir $(RUN_PLAN))).tap
	@bash $(KIT)/lane-vmx.sh patched $(RUN_PLAN) || true
	@REQUIRED_LANES="vmx-patched-$(basename $(notdir $(RUN_PLAN)))" \
	 bash $(KIT)/summary.sh $(OUT)/results/vmx-patched-$(basename $(notdir $(RUN_PLAN))).tap

# The test suite.  Every lane runs even if an earlier one failed; the
# summary decides.
check: build
	@rm -f $(addprefix $(OUT)/results/,$(addsuffix .tap,$(CHECK_LANES)))
	@bash $(KIT)/lane-static.sh || true
	@bash tests/kit/vmx-host.sh || true
	@bash tests/kit/mail-identity.sh || true
	@bash tests/kit/matrix-table.sh || true
	@bash $(KIT)/lane-qemu.sh patched || true
	@bash $(KIT)/lane-vmx.sh patched $(CHECK_PLAN) || true
	@$(if $(FRED_LANE),KIT_VMX_LANE=fred bash $(KIT)/lane-vmx.sh patched $(CHECK_PLAN) || true,true)
	@$(if $(I386_LANE),$(MAKE) --no-print-directory vmx-i386 || true,true)
	@$(if $(RED),bash $(KIT)/red.sh || true,true)
	@$(if $(BOCHS_RED),bash $(KIT)/bochs-red.sh || true,true)
	@REQUIRED_LANES="$(CHECK_LANES)" bash $(KIT)/summary.sh \
	 $(addprefix $(OUT)/results/,$(addsuffix .tap,$(CHECK_LANES)))

# The kit's own tests (tests/kit/): how it picks the Intel host, and that
# 'make mail' refuses a placeholder identity (needs the tree, else skips),
# and how make matrix makes its table from per-config column files.
kit-test:
	@rc=0; bash tests/kit/vmx-host.sh || rc=1; bash tests/kit/mail-identity.sh || rc=1; \
	 bash tests/kit/matrix-table.sh || rc=1; exit $$rc

# Every way to get the kit's input wrong ends in one clear error line and a
# non-zero exit, and leaves nothing that breaks the next run (a scratch copy
# of the kit in $(OUT)/bad-input; ~8 min; $(OUT)/results/bad-input.tap).
bad-input: tree
	@bash tests/kit/bad-input.sh $(CASES)

# The series' tests on the base with only the test patches (no fixes): each
# test of tests/red-on-base.txt must fail there ($(OUT)/results/red.tap).
red: tree
	@bash $(KIT)/red.sh

# A purpose-made defect (tests/broken/NAME.patch on the patched tree, default
# fred-orig-ax) and the lanes that must catch it (tests/broken/NAME.expect).
# The vmx lanes' plan: BROKEN_PLAN=path, else the .expect's '#!plan', else
# the check plan.
BROKEN ?= fred-orig-ax
broken: build
	@BROKEN_CONFIG=$(BROKEN_CONFIG) bash $(KIT)/broken.sh $(BROKEN) $(BROKEN_PLAN)

# A debug kernel (configs/debug.config: lockdep, entry, atomic sleep, RCU,
# debug objects) on both vmx lanes, plain 7.3 first, then the series; a
# splat 7.3 prints as well is recorded, not blamed ('make debug-base': 7.3
# only).  DEBUG_CONFIG=x86_64-cfi: the clang kCFI kernel (configs/cfi.config);
# x86_64-kasan, x86_64-ubsan: configs/kasan.config, configs/ubsan.config.
DEBUG_CONFIG ?= x86_64-debug
DEBUG_KERNELS ?= base patched
debug: tree
	@bash $(KIT)/debug.sh $(DEBUG_CONFIG) $(DEBUG_KERNELS)
debug-base: tree
	@bash $(KIT)/debug.sh $(DEBUG_CONFIG) base

# The kit's tests of the emulated host (kit/emu/) on its Bochs without the
# kit's patches: each test of tests/red-on-bochs.txt must fail there.
bochs-red: build
	@bash $(KIT)/bochs-red.sh

# Must KVM requeue an event whose delivery caused a VM exit?  The series'
# x86/event_vectoring_test on 7.3, the series (idt and fred lanes) and the
# debug-only kernel of experiments/vectoring-requeue.patch, each case judged
# against experiments/vectoring.runs ($(OUT)/results/vectoring.md).
VECTORING_RUNS ?=
vectoring: build
	@bash $(KIT)/vectoring.sh $(VECTORING_RUNS)

# Guests on every CPU under a storm of timer, IPI, device and NMI events,
# plain 7.3 and the series on both vmx lanes ($(OUT)/results/soak.md; the
# latest is in results/reliability.md).  DURATION: guest seconds per run.
DURATION ?= 20
soak: tree
	@SOAK_DURATION=$(DURATION) bash $(KIT)/soak.sh

# Everything of issue 14 (results/reliability.md), in one go; not in CI
# (~2.5-3.5 h on 2 cores, most of it cold debug and clang builds).  Each
# step runs even if one before it failed; the target fails if any did.
RELIABILITY_STEPS = debug debug-cfi debug-kasan debug-ubsan soak bad-input \
	broken-ibt-no-endbr broken-irq-left-on broken-soak-nmi-lost broken-cfi-wrong-type
reliability: tree
	@fail=""; for s in $(RELIABILITY_STEPS); do \
		case $$s in \
		debug) $(MAKE) --no-print-directory debug DEBUG_CONFIG=x86_64-debug ;; \
		debug-*) $(MAKE) --no-print-directory debug DEBUG_CONFIG=x86_64-$${s#debug-} ;; \
		broken-*) $(MAKE) --no-print-directory broken BROKEN=$${s#broken-} ;; \
		*) $(MAKE) --no-print-directory $$s ;; \
		esac || fail="$$fail $$s"; \
	done; \
	if [ -n "$$fail" ]; then echo "reliability: failed:$$fail" >&2; exit 1; fi; \
	echo "reliability: all of $(RELIABILITY_STEPS) passed"

summary:
	@bash $(KIT)/summary.sh

# Every patch builds on its own (x86_64, X86_FRED=n, i386), no new warnings;
# W=1, sparse and kernel-doc on the touched files at the tip.
matrix: tree
	@bash $(KIT)/matrix.sh

# The matrix table again from the column files (build/results/matrix/ and
# the landed results/matrix/), building nothing.
matrix-table: tree
	@MATRIX_TABLE_ONLY=1 bash $(KIT)/matrix.sh

# The checks a series needs before it is mailed: checkpatch and the
# series' claims (static lane), the per-patch build matrix with W=1, sparse
# and kernel-doc.
mail-check: static matrix

# What does not fit in CI: 'make check', then the build matrix and the mails.
check-full: check
	@bash $(KIT)/matrix.sh
	@bash $(KIT)/mail.sh
	@$(if $(filter 7.3,$(KIT_BASE)),$(MAKE) --no-print-directory reliability,true)
	@$(if $(filter 7.3,$(KIT_BASE)),$(MAKE) --no-print-directory KIT_BASE=6.12 check-full,true)

# The upstream KVM selftests on the baseline and the patched kernel, and
# the comparison ($(OUT)/results/parity.md; the latest is in results/).
vmx-full: build build-base
	@bash $(KIT)/parity.sh $(PLANS)/vmx-full.plan

# The same upstream selftests on the idt and the fred lane, patched kernel
# ($(OUT)/results/lanes.md; the latest is in results/lanes.md).
vmx-lanes: build
	@bash $(KIT)/parity.sh --lanes $(PLANS)/vmx-full.plan

# What an IRQ or NMI VM exit costs the host, baseline and patched kernel
# in one run ($(OUT)/results/bench.md; the latest is bench/results.md).
# Not part of 'make check': a benchmark never fails on its figures.
bench: build build-base
	@bash $(KIT)/bench.sh

# The same on 7.3 and the series with the kit's NMI probe, the NMIs from
# the probe (short handler), the L1D flush off ($(OUT)/results/bench-nmi.md).
bench-nmi: tree
	@BENCH_KERNELS=probe bash $(KIT)/bench.sh tests/plans/bench-nmi.plan

# 7.3 against the series plus experiments/$(EXPERIMENT).patch, a change not
# in the series, the L1D flush off ($(OUT)/results/bench-noflush-NAME.md).
ifneq ($(filter bench-experiment,$(MAKECMDGOALS)),)
ifeq ($(EXPERIMENT),)
$(error bench-experiment needs EXPERIMENT=NAME, one of: $(basename $(notdir $(wildcard experiments/*.patch))))
endif
ifeq ($(wildcard experiments/$(EXPERIMENT).patch),)
$(error no experiments/$(EXPERIMENT).patch: EXPERIMENT is one of: $(basename $(notdir $(wildcard experiments/*.patch))))
endif
endif
bench-experiment: tree build-base
	@BENCH_KERNELS=experiment EXPERIMENT=$(EXPERIMENT) bash $(KIT)/bench.sh tests/plans/bench-noflush.plan

# What the base package changed on top of upstream in the areas the
# series touches, from its changelog ($(OUT)/results/debian-changes.md; the
# latest is in results/).
debian-changes: tree
	@bash $(KIT)/debian-changes.sh

# The series as mails with To/Cc from get_maintainer.pl, checked with
# git send-email --dry-run.  From: and Signed-off-by: are the sender's:
# git config user.name/user.email (or MAIL_FROM="Name <addr>"); a placeholder
# identity (the kit's "Kit Developer", example.org, ...) is refused.
# Nothing is sent unless MAIL_SEND=1 (git send-email --confirm=always).
mail: tree
	@bash $(KIT)/mail.sh

clean:
	rm -rf $(OUT)/results $(OUT)/obj-* $(OUT)/base/obj-* $(OUT)/selftests-* $(OUT)/initramfs $(OUT)/bochs build/emu/*/obj

distclean:
	rm -rf build

# The 6.12.y backport: any target on backport/6.12/ (base Debian 6.12).
backport-%:
	@$(MAKE) --no-print-directory KIT_BASE=6.12 $*
