#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Where the host's instructions go in an IRQ or NMI VM exit, on Bochs.

Bochs' internal debugger (Debian's bochs-bin has it) stops at linear
breakpoints and prints the tick count, which on Bochs is the executed
instruction count (bench/README.md).  Breakpoints on

  - vmx_vmexit            where the CPU lands after a VM exit,
  - the VMRESUME          in __vmx_vcpu_run, the next VM entry,
  - the calls that start and the return addresses that end the handler of
    each kind of exit (KINDS below; the same code in both kernels), on an
    IDT host's VM-exit path

split each exit of the vCPU's CPU into the handler's own work and the rest
(KVM's exit and entry path plus the dispatch to the handler, which is what
the series changes).  A stop ends the CPU's round of the debugger's SMP
loop early, which shifts tick counts by a few per stop: take the
guest-side figures from a run without breakpoints.

  breakpoints --obj DIR   print the breakpoints for a kernel's O= dir
  drive --obj DIR --out STOPS -- bochs-bin ARGS...
        run Bochs under its debugger; on each stop log "tick cpu name" to
        STOPS and continue.  DIR has vmlinux (and the addresses are
        vmlinux's: no KASLR in the kit's kernels).
  analyze STOPS [--cpu N] [--json]
        per exit kind: exits, median instructions exit->entry, median in
        the handler, the rest, from the exit to the handler's start (KVM's
        exit path and the dispatch; also from the exits whose handler did
        not close), the handler's share.
"""
import argparse
import json
import os
import re
import select
import subprocess
import sys

# What is "the handler" of each kind of exit: the span between the stops
# B+ (a call) and B- (where a call returns to).  Each entry: kind ->
# (name, [(callee or None for an indirect call, callers or None)] for B+,
# the same for B-); a callee "=name" is that function's first instruction
# instead.  The bodies are the same code in both kernels.
#
# Bochs 2.7's debugger does not stop at every linear breakpoint: it stops
# where execution arrives by a return or at a function's entry, but not at
# an instruction in the middle of straight-line code (a call right after
# the return of the previous call: 0 stops of ~700 in a run on 2026-12-07,
# while the return address two instructions on stopped every time).
# Hence the system vectors' handlers start at their first instruction
# ("=name") and end where their call in the table handler returns to.
# In NMI exits Bochs misses the stop at the return address of
# irqentry_nmi_exit() in exc_nmi() (95 of 100 exits of a run on
# 2026-12-07, the other 5 closing it 355-360 instructions after the span's
# start) but stops at that function's first instruction in every one
# (100 of 100, 330-335 after the start): the NMI span ends there ("=name"
# in the B- list), and irqentry_nmi_exit() itself, the same ~25
# instructions in both kernels, counts to the rest.
KINDS = {
    "timer": ("__sysvec_apic_timer_interrupt",
              [("=__sysvec_apic_timer_interrupt", None)],
              [("__sysvec_apic_timer_interrupt", None)]),
    "ipi": ("__sysvec_call_function_single",
            [("=__sysvec_call_function_single", None)],
            [("__sysvec_call_function_single", None)]),
    # desc->handle_irq(), called indirectly from __common_interrupt():
    # handle_edge_irq() for the UART.  Starts at its first instruction
    # ("=name"): Bochs skips the stop at that indirect call in some runs.
    "device": ("handle_edge_irq()", [("=handle_edge_irq", None)],
               [(None, {"__common_interrupt"})]),
    # From the NMI entry accounting to the start of its end, in exc_nmi(),
    # which runs the NMI handlers in both kernels: the call of
    # irqentry_nmi_enter() there to the first instruction of
    # irqentry_nmi_exit().  Not default_do_nmi()'s own call: Bochs 2.7's
    # debugger never stops at its start, and an NMI backtrace is ~240k
    # instructions.
    "nmi": ("irqentry_nmi_enter() .. irqentry_nmi_exit()'s start",
            [("irqentry_nmi_enter", {"exc_nmi"})],
            [("=irqentry_nmi_exit", None)]),
}
MAX_BREAKPOINTS = 16   # BX_DBG_MAX_LIN_BPOINTS in Bochs 2.7

# Stops that only make the next ones reliable ("arm"; analyze ignores
# them): without a stop at __vmx_vcpu_run()'s entry, Bochs 2.7 missed
# the one at its VMRESUME after ~200 of ~830 exits of a run (all the
# IPI exits of 7.3, where KVM skips the L1D flush), with it after none;
# likewise for the NMI span's call sites with one at exc_nmi()'s entry.
# Each stop shifts the counts by a few instructions, on both kernels.
# The C function the 64-bit KVM frame builder calls (7.3's
# __fred_entry_from_kvm(), the series' external_event_from_kvm(); each
# kernel has one of them): without it Bochs missed the stop at every
# timer and IPI handler's start on a kernel whose interrupt path runs
# from that function without another armed stop (the folded experiment,
# which inlined it there: 0 of 455 timer exits complete, 470 of 498 with
# it; the series now tail-calls event_from_kvm_irq() from it: 431 of 492
# complete in the last bench-noflush run).
ARM = ("__vmx_vcpu_run", "exc_nmi", "external_event_from_kvm", "__fred_entry_from_kvm")


def disassemble(obj):
    """{function: [(address, mnemonic, operands)]} of vmlinux's text."""
    res = subprocess.run(["objdump", "-d", "--no-show-raw-insn",
                          os.path.join(obj, "vmlinux")],
                         capture_output=True, text=True, check=True).stdout
    funcs, cur = {}, None
    for line in res.splitlines():
        m = re.match(r"([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(2), [])
            continue
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m and cur is not None:
            cur.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return funcs


def call_sites(funcs, callee, callers):
    """[(call, return address)] of the calls to @callee (direct calls), or
    of the indirect calls in @callers when @callee is None."""
    sites = {}
    for name, ins in funcs.items():
        if callers and name not in callers:
            continue
        for i, (addr, mnem, ops) in enumerate(ins[:-1]):
            if not mnem.startswith("call"):
                continue
            # An indirect call: "call *%rax", or through a retpoline or
            # ITS thunk (a direct call to __x86_indirect_*thunk*).
            if (callee is None and (ops.startswith("*") or
                                    "<__x86_indirect_" in ops)) or \
               (callee is not None and ops.endswith("<%s>" % callee)):
                sites.setdefault(name, []).append((addr, ins[i + 1][0]))
    # Only the call sites on an IDT host's VM-exit path: where the body is
    # reached through software dispatch, not the IDT entry's.  That is the
    # patched kernel's dispatch_table_*() handlers; on a 7.x baseline
    # (x86_entry_from_kvm()) FRED's table, which 64-bit KVM uses on IDT
    # hosts too; before 6.18 the IDT entry's (FRED's are unused there).
    table = {n: v for n, v in sites.items() if n.startswith("dispatch_table_")}
    if not table and "x86_entry_from_kvm" in funcs:
        table = {n: v for n, v in sites.items() if n.startswith("fred_")}
    sites = {n: v for n, v in sites.items() if not n.startswith("fred_")}
    return sorted(a for v in (table or sites).values() for a in v)


def first_insn(funcs, name):
    """The address of @name's first instruction."""
    if name not in funcs:
        raise SystemExit("bochs_breakdown: no %s in vmlinux" % name)
    return funcs[name][0][0]


def breakpoints(obj):
    """[(address, name)]: name is 'exit', 'entry', 'arm' (see ARM),
    'B+<kind>' (a call that starts the kind's handler) or 'B-<kind>' (where
    one that ends it returns to)."""
    funcs = disassemble(obj)
    for name in ("vmx_vmexit", "__vmx_vcpu_run", "__common_interrupt"):
        if name not in funcs:
            raise SystemExit("bochs_breakdown: no %s in %s/vmlinux" % (name, obj))
    bps = [(funcs["vmx_vmexit"][0][0], "exit")]
    run = [a for a, m, _ in funcs["__vmx_vcpu_run"] if m == "vmresume"]
    if len(run) != 1:
        raise SystemExit("bochs_breakdown: %d VMRESUME in __vmx_vcpu_run" % len(run))
    bps.append((run[0], "entry"))
    bps += [(funcs[f][0][0], "arm") for f in ARM if f in funcs]
    for kind, (what, starts, ends) in KINDS.items():
        begin, finish = [], []
        for callee, callers in starts:
            if callee and callee.startswith("="):   # a function's entry
                begin.append(first_insn(funcs, callee[1:]))
                continue
            sites = call_sites(funcs, callee, callers)
            begin += [c for c, _ in sites]
            if ends is None:
                finish += [r for _, r in sites]
        for callee, callers in ends or []:
            if callee and callee.startswith("="):   # a function's entry
                finish.append(first_insn(funcs, callee[1:]))
                continue
            finish += [r for _, r in call_sites(funcs, callee, callers)]
        if not begin or not finish:
            raise SystemExit("bochs_breakdown: found no call for %s (%s)" % (kind, what))
        bps += [(a, "B+" + kind) for a in begin] + [(a, "B-" + kind) for a in finish]
    if len(bps) > MAX_BREAKPOINTS:
        raise SystemExit("bochs_breakdown: %d breakpoints, Bochs has %d"
                         % (len(bps), MAX_BREAKPOINTS))
    return bps


def drive(a):
    bps = breakpoints(a.obj)
    # Bochs numbers breakpoints from 1 in the order they are set.
    names = {i + 1: name for i, (_, name) in enumerate(bps)}
    proc = subprocess.Popen(a.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    fd = proc.stdout.fileno()
    buf = b""
    pending = [("lb 0x%x" % addr) for addr, _ in bps] + ["c"]
    prompt = re.compile(rb"<bochs:\d+> $")
    bp_re = re.compile(rb"\((\d+)\) Breakpoint (\d+), 0x")
    tick_re = re.compile(rb"Next at t=(\d+)")
    stops = 0
    raw = open(a.raw, "wb") if a.raw else None
    with open(a.out, "w") as out:
        while True:
            r, _, _ = select.select([fd], [], [], 5.0)
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            if not prompt.search(buf[-32:]):
                if len(buf) > 1 << 20:
                    buf = buf[-4096:]
                continue
            tick = tick_re.search(buf)
            for hit in bp_re.finditer(buf):
                if tick:
                    out.write("%s %s %s\n" % (tick.group(1).decode(), hit.group(1).decode(),
                                              names.get(int(hit.group(2)), "?")))
                    stops += 1
            if raw:
                raw.write(buf)
            buf = b""
            cmd = pending.pop(0) if pending else "c"
            try:
                proc.stdin.write(cmd.encode() + b"\n")
                proc.stdin.flush()
            except BrokenPipeError:
                break
    rc = proc.wait()
    print("bochs_breakdown: %d stops, %d breakpoints, Bochs exit %d" % (stops, len(bps), rc),
          file=sys.stderr)
    return rc


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0


def analyze(a):
    """Fold the stops of one CPU into exits: exit, [call ... return of a
    body]..., entry.  An exit in which Bochs skipped the stop at a call or
    at a return of its handler (it skips one now and then, see
    bench/README.md) is counted as incomplete and left out."""
    exits, cur = [], None
    with open(a.stops) as f:
        for line in f:
            t, cpu, name = line.split()
            if int(cpu) != a.cpu:
                continue
            t = int(t)
            if name == "exit":
                cur = {"t0": t, "bodies": [], "open": {}, "missed": set()}
            elif cur is None:
                continue
            elif name == "entry":
                cur["total"] = t - cur["t0"]
                exits.append(cur)
                cur = None
            elif name.startswith("B+"):
                cur["open"].setdefault(name[2:], t)
                cur.setdefault("first", t)
            elif name.startswith("B-"):
                body = name[2:]
                if body in cur["open"]:
                    cur["bodies"].append((body, t - cur["open"].pop(body)))
                else:
                    # Bochs skipped the stop at the call: where this
                    # handler began is unknown.
                    cur["missed"].add(body)
    kinds = {}
    for e in exits:
        names = sorted(e["missed"]) + [b for b, _ in e["bodies"]] + list(e["open"])
        if not names:
            continue   # an exit of another reason (I/O, EPT, ...)
        # The exit's kind is its first handler; only that kind's spans are
        # its handler.  Anything else the host handles before the next VM
        # entry (e.g. a tick taken through the IDT once KVM enables
        # interrupts again) counts to the rest, on both kernels alike.
        kind = names[0]
        d = kinds.setdefault(kind, {"v": [], "incomplete": 0, "to": []})
        # From the exit to the handler's start needs only its first stop:
        # an exit whose handler did not close gives that figure too.
        if kind not in e["missed"]:
            d["to"].append(e["first"] - e["t0"])
        if kind in e["open"] or kind in e["missed"]:
            d["incomplete"] += 1
        else:
            d["v"].append((e["total"], sum(x for b, x in e["bodies"] if b == kind),
                           e["first"] - e["t0"]))
    res = {}
    for kind, d in kinds.items():
        v = d["v"]
        tot = median([x for x, _, _ in v])
        han = median([h for _, h, _ in v])
        res[kind] = {"exits": len(v), "incomplete": d["incomplete"], "total": tot,
                     "handler": han, "rest": median([x - h for x, h, _ in v]),
                     "to_handler": median(d["to"]), "to_handler_n": len(d["to"]),
                     "share": han / tot if tot else 0.0}
    if a.json:
        json.dump(res, sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        for kind, d in sorted(res.items()):
            print("%-7s exits=%d incomplete=%d total=%d handler=%d rest=%d "
                  "exit_to_handler=%d (of %d) share=%.2f"
                  % (kind, d["exits"], d["incomplete"], d["total"], d["handler"],
                     d["rest"], d["to_handler"], d["to_handler_n"], d["share"]))
    return 0 if res else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--obj", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--raw", help="also keep Bochs' debugger output here")
    d.add_argument("cmd", nargs=argparse.REMAINDER)
    n = sub.add_parser("analyze")
    n.add_argument("stops")
    n.add_argument("--cpu", type=int, default=1)
    n.add_argument("--json", action="store_true")
    b = sub.add_parser("breakpoints")
    b.add_argument("--obj", required=True)
    a = ap.parse_args()
    if a.what == "drive":
        if a.cmd and a.cmd[0] == "--":
            a.cmd = a.cmd[1:]
        if not a.cmd:
            ap.error("drive: no Bochs command")
        return drive(a)
    if a.what == "breakpoints":
        for addr, name in breakpoints(a.obj):
            print("0x%x %s" % (addr, name))
        return 0
    return analyze(a)


if __name__ == "__main__":
    sys.exit(main())
