#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn two exit_bench outputs (baseline, patched) into the results table.

Usage: table.py BASELINE_LOG PATCHED_LOG [--breakdown BASE.json PATCHED.json]
                [--setup TEXT] [--md OUT.md]

A log is anything that contains exit_bench's lines (its own output, or a
whole serial console of the vmx lane).  Prints the table as text; with --md
also writes it as Markdown.  Exits 1 (with the reason) if a log has no
'exit_bench: done' line or a kind is missing from one of them: a benchmark
that did not run has no figures.  Timing never makes it fail.
"""
import argparse
import json
import os
import re
import sys

# The nmi kind's event, by exit_bench's -N (its "nmi_source=" line).
NMI_SOURCES = {
    "sysrq": "NMI (sysrq-l backtrace request)",
    "probe": "NMI IPI from the kit's NMI probe (NMI_LOCAL handler of a few lines)",
}
# kind, what the host dispatches
KINDS = [
    ("timer", "local APIC timer, LOCAL_TIMER_VECTOR 0xec"),
    ("ipi", "call-function IPI, CALL_FUNCTION_SINGLE_VECTOR 0xfb"),
    ("device", "8250 UART transmit IRQ (IO-APIC, device vector)"),
    ("nmi", NMI_SOURCES["sysrq"]),
]
# How the series changes each kind's path, per base: on 6.12 KVM walked the
# IDT; on 7.x 64-bit KVM already dispatches IRQ exits through FRED's table,
# also on IDT hosts.
CHANGES = {
    "6.12": {
        "timer": "system vector: IDT gate walk -> system_interrupt_handlers[]",
        "ipi": "system vector: IDT gate walk -> system_interrupt_handlers[]",
        "device": "device vector: IDT gate walk -> common_interrupt()",
        "nmi": "asm_exc_nmi_kvm_vmx -> external_nmi() + IRET to self",
    },
    "7.3": {
        "timer": "system vector: fred_extint() + sysvec_table[] -> "
                 "external_interrupt() + system_interrupt_handlers[] "
                 "(entry work once, L1D request)",
        "ipi": "system vector: as timer",
        "device": "device vector: fred_extint() -> external_interrupt() "
                  "(L1D request)",
        "nmi": "idt_do_nmi_irqoff + asm_exc_nmi_kvm_vmx (IRET) -> "
               "asm_external_event_from_kvm + external_nmi() (iret_to_self)",
    },
}[os.environ.get("KIT_BASE", "7.3")]
FIELDS = ("samples", "median", "p10", "p90", "min", "max", "dropped",
          "extra", "events", "irqs")


def parse(path):
    """The figures per kind, the kernel release and whether the run ended."""
    kinds, skips, kernel, done = {}, {}, "?", False
    source = "sysrq"
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"exit_bench: nmi_source=(\w+)", line)
            if m:
                source = m.group(1)
                continue
            m = re.search(r"KIT-BEGIN kernel=(\S+)", line)
            if m:
                kernel = m.group(1)
            if "exit_bench: done" in line:
                done = True
            m = re.search(r"exit_bench: kind=(\w+) SKIP (.*)", line)
            if m:
                skips[m.group(1)] = m.group(2).strip()
                continue
            m = re.search(r"exit_bench: kind=(\w+) (.*)", line)
            if m:
                vals = dict(re.findall(r"(\w+)=(-?\d+)", m.group(2)))
                kinds[m.group(1)] = {k: int(v) for k, v in vals.items()}
    return kinds, skips, kernel, done, source


def fmt_dist(d):
    return "%d [%d-%d] n=%d" % (d["median"], d["p10"], d["p90"], d["samples"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("patched")
    ap.add_argument("--breakdown", nargs=2, metavar=("BASE_JSON", "PATCHED_JSON"),
                    help="bochs_breakdown.py analyze --json of each kernel")
    ap.add_argument("--setup", default="")
    ap.add_argument("--md")
    a = ap.parse_args()

    runs = {}
    errors = []
    for name, path in (("baseline", a.baseline), ("patched", a.patched)):
        try:
            runs[name] = parse(path)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            continue
        if not runs[name][3]:
            errors.append("%s: no 'exit_bench: done' in %s (the benchmark did not finish)"
                          % (name, path))
    if errors:
        for e in errors:
            print("bench: error: " + e, file=sys.stderr)
        return 1

    sources = {runs[n][4] for n in runs}
    if len(sources) > 1:
        print("bench: error: the two runs took their NMIs from different sources (%s)"
              % ", ".join(sorted(sources)), file=sys.stderr)
        return 1
    source = sources.pop()
    rows = []
    for kind, what in KINDS:
        if kind == "nmi":
            what = NMI_SOURCES.get(source, what)
        change = CHANGES[kind]
        b, p = runs["baseline"][0].get(kind), runs["patched"][0].get(kind)
        skip = runs["baseline"][1].get(kind) or runs["patched"][1].get(kind)
        if skip:
            rows.append((kind, what, "skipped: " + skip, "", "", "", change))
            continue
        if not b or not p or not b.get("samples") or not p.get("samples"):
            errors.append("kind %s has no samples (baseline %s, patched %s)"
                          % (kind, b, p))
            continue
        delta = p["median"] - b["median"]
        ratio = p["median"] / b["median"]
        rows.append((kind, what, fmt_dist(b), fmt_dist(p), "%+d" % delta,
                     "%.3f" % ratio, change))
    if errors:
        for e in errors:
            print("bench: error: " + e, file=sys.stderr)
        return 1

    head = ("kind", "host event", "baseline median [p10-p90]",
            "patched median [p10-p90]", "delta", "ratio", "what the series changes")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    out = []
    out.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for r in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    text = "\n".join(out)

    checks = []
    for name in ("baseline", "patched"):
        kinds, _, kernel, _, _ = runs[name]
        parts = []
        for kind, _ in KINDS:
            d = kinds.get(kind)
            if not d:
                continue
            if kind == "timer":
                parts.append("timer %d gaps in %d ms, CPU 1 counted %d"
                             % (d.get("samples", 0), d.get("events", 0), d.get("irqs", -1)))
            else:
                parts.append("%s %d samples of %d events, %d dropped, %d extra gaps, "
                             "CPU 1 counted %d" % (kind, d.get("samples", 0),
                                                   d.get("events", 0), d.get("dropped", 0),
                                                   d.get("extra", 0), d.get("irqs", -1)))
        checks.append("%s (%s): %s" % (name, kernel, "; ".join(parts)))

    split_head, split_rows = None, []
    if a.breakdown:
        bd = []
        for path in a.breakdown:
            try:
                with open(path) as f:
                    bd.append(json.load(f))
            except (OSError, ValueError):
                bd.append({})
        split_head = ("kind", "baseline: handler + rest", "patched: handler + rest",
                      "rest delta", "exit to handler: baseline / patched",
                      "handler share (patched)", "exits used (incomplete)")
        for kind, _ in KINDS:
            b, p = bd[0].get(kind), bd[1].get(kind)
            used = "%s / %s" % tuple(
                "%d (%d)" % (d["exits"], d["incomplete"]) if d else "0"
                for d in (b, p))
            if not b or not p or not b["exits"] or not p["exits"]:
                split_rows.append((kind, "n/a", "n/a", "", "", "", used))
                continue
            split_rows.append((kind, "%d + %d" % (b["handler"], b["rest"]),
                               "%d + %d" % (p["handler"], p["rest"]),
                               "%+d" % (p["rest"] - b["rest"]),
                               "%d / %d (%+d)" % (b["to_handler"], p["to_handler"],
                                                  p["to_handler"] - b["to_handler"]),
                               "%.0f%%" % (100 * p["share"]), used))

    print(text)
    print()
    for c in checks:
        print(c)
    if split_head:
        w = [max(len(str(r[i])) for r in split_rows + [split_head])
             for i in range(len(split_head))]
        print()
        print("Handler and the rest (KVM's exit/entry path and the dispatch), median "
              "instructions per exit, Bochs debugger breakpoints:")
        for r in [split_head] + split_rows:
            print("  ".join(str(c).ljust(x) for c, x in zip(r, w)).rstrip())

    if a.md:
        md = []
        if a.setup:
            md.append(a.setup.rstrip() + "\n")
        md.append("| " + " | ".join(head) + " |")
        md.append("|" + "---|" * len(head))
        for r in rows:
            md.append("| " + " | ".join(str(c) for c in r) + " |")
        md.append("")
        md.append("Samples against what the host counted (CPU 1's /proc/interrupts row "
                  "over the phase; the timer phase's count covers only the time CPU 0 slept):")
        md.append("")
        for c in checks:
            md.append("- " + c)
        if split_head:
            md.append("")
            md.append("Where the instructions of an exit go: the handler body (the same code "
                      "in both kernels) and the rest, i.e. KVM's exit and entry path plus the "
                      "dispatch to the handler, which is what the series changes. Median "
                      "instructions per exit, from a second run under Bochs' debugger "
                      "(kit/bench/bochs_breakdown.py):")
            md.append("")
            md.append("| " + " | ".join(split_head) + " |")
            md.append("|" + "---|" * len(split_head))
            for r in split_rows:
                md.append("| " + " | ".join(str(c) for c in r) + " |")
        with open(a.md, "w") as f:
            f.write("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
