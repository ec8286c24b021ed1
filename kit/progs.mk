# Read after the KVM selftests' Makefile
#   make -C tools/testing/selftests/kvm -f Makefile -f <this file> \
#        KIT_PROGS_SRC=<kit>/kit OUTPUT=<out> <out>/bench/<name> <out>/emu/<name>
# builds the kit's own programs (kit/bench/<name>.c: benchmarks;
# kit/emu/<name>.c: tests of the emulated host; kit/uspace/<name>.c: what
# user space sees of the host's interrupt path) against the selftests'
# library, with the selftests' own compiler flags, the way they build a test.
# kit/bench/, kit/emu/, kit/uspace/ and kit/probe/ (tests that need a probe
# kernel, tests/broken/*-probe*): one rule each, the same recipe.
define kit_prog_rule
$$(OUTPUT)/$(1)/%: $$(KIT_PROGS_SRC)/$(1)/%.c $$(wildcard $$(KIT_PROGS_SRC)/$(1)/*.h) $$(LIBKVM_OBJS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(CPPFLAGS) $$(LDFLAGS) $$(TARGET_ARCH) $$< $$(LIBKVM_OBJS) $$(LDLIBS) -o $$@
endef
$(foreach d,bench emu uspace probe,$(eval $(call kit_prog_rule,$(d))))

# kit/i386/<name>.c: 32-bit programs for an i386 host kernel (the KVM
# selftests' library is x86_64 only): plain C on the UAPI headers, static.
$(OUTPUT)/i386/%: $(KIT_PROGS_SRC)/i386/%.c $(wildcard $(KIT_PROGS_SRC)/i386/*.h $(KIT_PROGS_SRC)/probe/*.h)
	@mkdir -p $(@D)
	$(CC) -m32 -static -O2 -Wall -Wextra $(KHDR_INCLUDES) $< -o $@
