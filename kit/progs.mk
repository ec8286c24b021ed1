# Read after the KVM selftests' Makefile
#   make -C tools/testing/selftests/kvm -f Makefile -f <this file> \
#        KIT_PROGS_SRC=<kit>/kit OUTPUT=<out> <out>/bench/<name> <out>/emu/<name>
# builds the kit's own programs (kit/bench/<name>.c: benchmarks;
# kit/emu/<name>.c: tests of the emulated host; kit/uspace/<name>.c: what
# user space sees of the host's interrupt path) against the selftests'
# library, with the selftests' own compiler flags, the way they build a test.
$(OUTPUT)/bench/%: $(KIT_PROGS_SRC)/bench/%.c $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/emu/%: $(KIT_PROGS_SRC)/emu/%.c $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/uspace/%: $(KIT_PROGS_SRC)/uspace/%.c $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

# kit/probe/<name>.c: tests that need a probe kernel (tests/broken/*-probe*).
$(OUTPUT)/probe/%: $(KIT_PROGS_SRC)/probe/%.c $(wildcard $(KIT_PROGS_SRC)/probe/*.h) $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

# kit/i386/<name>.c: 32-bit programs for an i386 host kernel (the KVM
# selftests' library is x86_64 only): plain C on the UAPI headers, static.
$(OUTPUT)/i386/%: $(KIT_PROGS_SRC)/i386/%.c $(wildcard $(KIT_PROGS_SRC)/i386/*.h $(KIT_PROGS_SRC)/probe/*.h)
	@mkdir -p $(@D)
	$(CC) -m32 -static -O2 -Wall -Wextra $(KHDR_INCLUDES) $< -o $@
