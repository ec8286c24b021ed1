# Read after the KVM selftests' Makefile
#   make -C tools/testing/selftests/kvm -f Makefile -f <this file> \
#        KIT_BENCH_SRC=<kit>/kit/bench OUTPUT=<out> <out>/bench/<name>
# builds the kit program <name>.c against the selftests' library, with the
# selftests' own compiler flags, the way they build a test.
$(OUTPUT)/bench/%: $(KIT_BENCH_SRC)/%.c $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@
