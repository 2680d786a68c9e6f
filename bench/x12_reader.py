"""X12 reader benchmark: throughput against a bare split and ansi-x12, validation rate, peak RSS.

    python -m bench.x12_reader [--pos 20000] [--lines 10] [--scale 10] [--repeat 3]

Generates (or reuses, from a temp dir) a 850 file of ``--pos`` purchase orders and one
``--scale`` times larger, runs every measurement, prints the figures and PASS/FAIL per target,
and rewrites the results section of bench/README.md (``--no-write`` leaves it alone). A benchmark,
not a test: a missed target is reported, never raised. Every side computes the same digest over
every element value and its position, and the digests must agree, so no side can skip work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import importlib.util
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.generate import FileStats, generate, segments_per_po
from edi.x12.reader import X12Reader
from edi.x12.structures import GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, TransactionSet

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN = "<!-- results:begin (written by python -m bench.x12_reader; edit above this line) -->"
END = "<!-- results:end -->"
WHITESPACE = " \t\r\n\f\v"

TARGET_VS_SPLIT = 2.0  # ours at most this many times the bare split's time
TARGET_VS_ANSI = 3.0  # ours at least this many times faster than ansi-x12
TARGET_VALIDATION = 250_000  # segments/s with full schema validation
TARGET_RSS_MIB = 64  # peak RSS of `edi-engine inspect` on both file sizes

# What `edi-engine inspect` is replaced by while the CLI does not exist: stream the file.
STREAM_SNIPPET = """\
import sys
from edi.x12.reader import X12Reader
from edi.x12.structures import TransactionSet
n = 0
for ev in X12Reader(sys.argv[1]):
    if type(ev) is TransactionSet:
        n += len(ev.segments)
print(n)
"""


# -- the digest ------------------------------------------------------------------------------
# Segment n (1-based, file order, ISA..IEA all counted) contributes hash((n, tag, e1, e2, ...)).
# A tuple's hash depends on each member and its place, so this covers (segment index, element
# index, value) for every element. The contributions are XORed (n makes each one distinct).
# CPython hashes a bytes value and the Latin-1 str of the same bytes alike (within one process),
# which lets ansi-x12's bytes elements give the same digest as our str elements. It is cheap:
# one tuple and one hash per segment, the same on every side.


@dataclass
class Run:
    name: str
    segments: int  # digest's segment count
    digest: int
    findings: int = 0
    extra: str = ""
    samples: list[str] = field(default_factory=list)  # a few distinct findings, when there are any


def digest_events(events: Iterable[Any], found: list[Any] | None = None) -> tuple[int, int, int]:
    """(segments, digest, findings) over X12Reader-style events, in file order.

    The first findings seen are put in ``found`` (when given) so a report can show them."""
    n = acc = findings = 0
    keep = found if found is not None else []
    for item in events:
        ev = _as_event(item)
        cls = type(ev)
        if cls is TransactionSet:
            for seg in ev.segments:
                n += 1
                acc ^= hash((n, *seg.fields))
            if ev.findings:
                findings += len(ev.findings)
                if len(keep) < 100:
                    keep += ev.findings
        elif cls is InterchangeStart:
            n += 1
            acc ^= hash((n, *ev.interchange.isa.fields))
        elif cls is GroupStart:
            n += 1
            acc ^= hash((n, *ev.group.gs.fields))
        elif cls is GroupEnd:
            if ev.group.ge is not None:
                n += 1
                acc ^= hash((n, *ev.group.ge.fields))
            if ev.group.findings:
                findings += len(ev.group.findings)
                if len(keep) < 100:
                    keep += ev.group.findings
        elif cls is InterchangeEnd:
            if ev.interchange.iea is not None:
                n += 1
                acc ^= hash((n, *ev.interchange.iea.fields))
            if ev.interchange.findings:
                findings += len(ev.interchange.findings)
                if len(keep) < 100:
                    keep += ev.interchange.findings
    return n, acc, findings


def _samples(found: list[Any], limit: int = 3) -> list[str]:
    """Distinct findings by (level, code), as 'level code: message'."""
    seen: dict[tuple[str, str], str] = {}
    for finding in found:
        level = getattr(getattr(finding, "level", None), "name", str(getattr(finding, "level", "")))
        key = (level, str(getattr(finding, "code", "")))
        seen.setdefault(key, f"{key[0]} {key[1]}: {getattr(finding, 'message', finding)}")
    return list(seen.values())[:limit]


def _as_event(item: Any) -> Any:
    """The event itself, or the event inside whatever the validator yields around it."""
    if isinstance(item, (TransactionSet, InterchangeStart, GroupStart, GroupEnd, InterchangeEnd)):
        return item
    if isinstance(item, tuple) and item:
        return item[0]
    return getattr(item, "event", item)


# -- the sides -------------------------------------------------------------------------------
def run_split(path: Path) -> Run:
    """a. Bare Python: read, decode, split on the terminator, drop the line break, split on '*'."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with open(path, "rb") as f:
            text = f.read().decode("latin-1")
        esep, term = text[3], text[105]
        n = acc = 0
        for piece in text.split(term):
            piece = piece.lstrip(WHITESPACE)
            if piece:
                n += 1
                acc ^= hash((n, *piece.split(esep)))
    finally:
        if enabled:
            gc.enable()
    return Run("bare split", n, acc)


def run_ours(path: Path) -> Run:
    """b. X12Reader (envelopes, control numbers and counts checked as it reads) + digest."""
    reader = X12Reader(path)
    found: list[Any] = []
    n, acc, findings = digest_events(reader, found)
    found += reader.findings
    return Run("edi X12Reader", n, acc, findings + len(reader.findings), samples=_samples(found))


def run_ours_nogc(path: Path) -> Run:
    """b, with the cyclic GC off: how much of (b) is collector time (for the profile notes)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        run = run_ours(path)
    finally:
        if enabled:
            gc.enable()
    run.name = "edi X12Reader, gc off"
    return run


_ISA_AFTER_TERMINATOR = re.compile(rb"(?<=[~])[ \t\r\n]*(?=ISA)")


def run_ansi(path: Path) -> Run:
    """c. ansi-x12: tokenize_x12 + parse_x12_interchange (ST/SE, GS/GE, ISA/IEA control numbers
    and counts, raising on a fault) per interchange; it reads one interchange per call, so the
    file is cut at each ISA first (a regex scan, counted in its time)."""
    from x12 import parse_x12_interchange, tokenize_x12

    with open(path, "rb") as f:
        payload = f.read()
    term = payload[105:106]
    pattern = _ISA_AFTER_TERMINATOR
    if term != b"~":
        pattern = re.compile(rb"(?<=" + re.escape(term) + rb")[ \t\r\n]*(?=ISA)")
    cuts = [0] + [m.end() for m in pattern.finditer(payload)] + [len(payload)]
    n = acc = 0
    groups = 0
    for start, end in itertools.pairwise(cuts):
        document = tokenize_x12(payload[start:end])
        interchange = parse_x12_interchange(document)
        groups += len(interchange.groups)
        for seg in document.segments:
            n += 1
            acc ^= hash((n, seg.tag, *seg.elements))
    return Run("ansi-x12", n, acc, extra=f"{len(cuts) - 1} interchanges, {groups} groups")


def validation_runner() -> tuple[Callable[[Path], Run] | None, str]:
    """d. Full schema validation, when edi.x12.validate exists; else why not."""
    try:
        from edi.x12.schema import default_schemas  # type: ignore[import-not-found]
        from edi.x12.validate import validated_events  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, f"not available yet ({exc})"

    def run_validation(path: Path) -> Run:
        reader = X12Reader(path)
        found: list[Any] = []
        n, acc, findings = digest_events(validated_events(reader, default_schemas()), found)
        found += reader.findings
        return Run("edi X12Reader + validate", n, acc, findings + len(reader.findings), samples=_samples(found))

    return run_validation, ""


@dataclass
class Timing:
    label: str
    runs: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # process CPU seconds
    run: Run | None = None

    @property
    def best(self) -> float:
        return min(self.runs)

    def rate(self) -> float:
        assert self.run is not None
        return self.run.segments / self.best


def time_sides(
    sides: list[tuple[str, str, Callable[[Path], Run]]], path: Path, repeat: int
) -> tuple[dict[str, Timing], dict[str, str]]:
    """Run every side once per round, ``repeat`` rounds, so a busy spell on the machine falls
    on all of them rather than on whichever side happened to run then. A side that raises is
    dropped and its error returned (the caller decides whether that is fatal)."""
    timings = {key: Timing(label) for key, label, _ in sides}
    errors: dict[str, str] = {}
    for round_ in range(1, repeat + 1):
        for key, label, fn in sides:
            if key in errors:
                continue
            gc.collect()
            cpu, start = time.process_time(), time.perf_counter()
            try:
                run = fn(path)
            except Exception as exc:
                errors[key] = f"{type(exc).__name__}: {exc}"[:300]
                print(f"  round {round_} {label}: failed: {errors[key]}", flush=True)
                continue
            timing = timings[key]
            timing.runs.append(time.perf_counter() - start)
            timing.cpu.append(time.process_time() - cpu)
            timing.run = run
            print(f"  round {round_} {label}: {timing.runs[-1]:.3f} s (cpu {timing.cpu[-1]:.3f} s)", flush=True)
    return {key: t for key, t in timings.items() if key not in errors}, errors


# -- peak RSS --------------------------------------------------------------------------------
@dataclass
class Rss:
    file: str
    stats: FileStats
    how: str
    maxrss_kib: int
    wall: float
    ok: bool
    note: str = ""


def _cli() -> tuple[list[str] | None, str]:
    script = Path(sys.executable).with_name("edi-engine")
    if not script.exists():
        return None, "the edi-engine console script is not installed"
    if importlib.util.find_spec("engine.cli") is None:
        return None, "the edi-engine console script is installed but engine.cli does not exist yet"
    return [str(script), "inspect"], ""


def _measure(command: list[str]) -> dict[str, Any]:
    wrapper = [sys.executable, str(HERE / "_maxrss.py"), *command]
    done = subprocess.run(wrapper, capture_output=True, text=True, check=True, cwd=HERE.parent)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def peak_rss(label: str, stats: FileStats) -> Rss:
    cli, why = _cli()
    notes = []
    if cli is not None:
        result = _measure([*cli, str(stats.path)])
        code, stderr = result["returncode"], result["stderr_tail"].strip()
        # Exit 0: all valid; 1: it read everything and reported errors (engine/cli.py). Anything
        # else, or a traceback, means it did not do the job and the figure would mean nothing.
        if code in (0, 1) and "Traceback" not in stderr:
            summary = (result["stdout_tail"].strip().splitlines() or [""])[-1]
            note = f"exit {code}; its summary: {summary}" if summary else f"exit {code}"
            return Rss(label, stats, "edi-engine inspect", result["maxrss_kib"], result["wall_s"], True, note)
        why = f"edi-engine inspect exited {code}: {stderr[-200:]}"
    notes.append(f"fallback because {why}")
    result = _measure([sys.executable, "-c", STREAM_SNIPPET, str(stats.path)])
    expected = stats.segments - 2 * stats.interchanges - 2 * stats.groups  # ST..SE segments only
    counted = result["stdout_tail"].strip()
    ok = result["returncode"] == 0 and counted == str(expected)
    if not ok:
        notes.append(f"stream run failed or miscounted (rc {result['returncode']}, counted {counted!r})")
    return Rss(
        label, stats, "python -c (X12Reader stream)", result["maxrss_kib"], result["wall_s"], ok, "; ".join(notes)
    )


# -- files -----------------------------------------------------------------------------------
def bench_file(workdir: Path, pos: int, lines: int, seed: int) -> FileStats:
    """Generate the file unless an identical one (same arguments, same generator) is there."""
    version = hashlib.blake2b((HERE / "generate.py").read_bytes(), digest_size=4).hexdigest()
    path = workdir / f"850_{pos}po_{lines}lines_seed{seed}_{version}.x12"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        data = json.loads(meta.read_text())
        return FileStats(path, data["segments"], data["sets"], data["groups"], data["interchanges"], data["bytes"])
    print(f"generating {path} ...", flush=True)
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    stats = generate(partial, pos=pos, lines=lines, seed=seed)
    partial.rename(path)
    stats = FileStats(path, stats.segments, stats.transaction_sets, stats.groups, stats.interchanges, stats.bytes)
    meta.write_text(
        json.dumps(
            {
                "segments": stats.segments,
                "sets": stats.transaction_sets,
                "groups": stats.groups,
                "interchanges": stats.interchanges,
                "bytes": stats.bytes,
            }
        )
    )
    print(f"  {stats.segments:,} segments, {stats.bytes / 2**20:.1f} MiB in {time.perf_counter() - start:.1f} s")
    return stats


# -- report ----------------------------------------------------------------------------------
@dataclass
class Report:
    when: str
    machine: list[str]
    args: argparse.Namespace
    small: FileStats
    timings: dict[str, Timing] = field(default_factory=dict)
    validation_note: str = ""
    rss: list[Rss] = field(default_factory=list)
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # target, measured, verdict
    digest_note: str = ""


def machine_facts() -> list[str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        mem = f"{total / 2**30:.1f} GiB RAM"
    except (ValueError, OSError):
        pass
    try:
        ansi = metadata.version("ansi-x12")
    except metadata.PackageNotFoundError:
        ansi = "not installed"
    load = ""
    if hasattr(os, "getloadavg"):
        load = "load average at start " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"nproc {nproc}" + (f" ({cpu})" if cpu else "") + (f", {mem}" if mem else ""),
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"ansi-x12 {ansi}",
        *([load] if load else []),
    ]


def evaluate(report: Report) -> None:
    t = report.timings
    ours, split = t["b"], t["a"]
    ratio = ours.best / split.best
    report.checks.append(
        (
            f"ours within {TARGET_VS_SPLIT:g}x of the bare split",
            f"{ratio:.2f}x the split's time",
            "PASS" if ratio <= TARGET_VS_SPLIT else "FAIL",
        )
    )
    if "c" in t:
        speedup = t["c"].best / ours.best
        report.checks.append(
            (
                f"ours at least {TARGET_VS_ANSI:g}x ansi-x12",
                f"{speedup:.2f}x faster",
                "PASS" if speedup >= TARGET_VS_ANSI else "FAIL",
            )
        )
    validated = t["d"].run if "d" in t else None
    if validated is not None and validated.findings:
        # The file is clean: a finding means the validator skipped work (no schema for the set)
        # or disagrees with the generator. Either way the rate is not that of a full validation.
        run = validated
        report.checks.append(
            (
                f"validation >= {TARGET_VALIDATION:,} segments/s",
                f"{t['d'].rate():,.0f} segments/s, but the validator reported {run.findings} findings on the "
                f"clean file, so it did not validate everything: {'; '.join(run.samples)}",
                "NOT MEASURED",
            )
        )
    elif "d" in t:
        rate = t["d"].rate()
        report.checks.append(
            (
                f"validation >= {TARGET_VALIDATION:,} segments/s",
                f"{rate:,.0f} segments/s",
                "PASS" if rate >= TARGET_VALIDATION else "FAIL",
            )
        )
    else:
        report.checks.append((f"validation >= {TARGET_VALIDATION:,} segments/s", report.validation_note, "SKIP"))
    for rss in report.rss:
        mib = rss.maxrss_kib / 1024
        verdict = "PASS" if rss.ok and mib < TARGET_RSS_MIB else "FAIL"
        report.checks.append(
            (f"peak RSS < {TARGET_RSS_MIB} MiB, {rss.file} file", f"{mib:.1f} MiB ({rss.how})", verdict)
        )


def render(report: Report) -> str:
    a = report.args
    s = report.small
    out = [
        BEGIN,
        "",
        "## Last run",
        "",
        f"{report.when}; `python -m bench.x12_reader --pos {a.pos} --lines {a.lines} --scale {a.scale}"
        f" --repeat {a.repeat}`",
        "",
        *(f"- {fact}" for fact in report.machine),
        f"- 1x file: {s.segments:,} segments ({s.transaction_sets:,} sets, {s.groups} groups, "
        f"{s.interchanges} interchanges), {s.bytes / 2**20:.1f} MiB",
        "",
        f"Throughput on the 1x file: wall time, best of {a.repeat} rounds (each round runs every side"
        " once, in this order). Process CPU time of the same runs is shown too, as it is less sensitive to other"
        " work on the machine; the targets use wall time.",
        "",
        "| | measurement | best wall (s) | all wall runs (s) | best CPU (s) | segments/s (wall) | wall vs split"
        " | CPU vs split |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    split = report.timings["a"].best
    split_cpu = min(report.timings["a"].cpu)
    names = {
        "a": "bare `split` (gc off)",
        "b": "edi `X12Reader` (streaming, envelope checks)",
        "b0": "edi `X12Reader`, gc off (info only)",
        "c": "ansi-x12 `tokenize_x12` + `parse_x12_interchange`",
        "d": "edi `X12Reader` + `validated_events` (schemas)",
    }
    for key in ("a", "b", "b0", "c", "d"):
        timing = report.timings.get(key)
        if timing is None:
            if key == "d":
                out.append(f"| d | {names[key]} | - | - | - | {report.validation_note} | - | - |")
            continue
        runs = ", ".join(f"{x:.3f}" for x in timing.runs)
        cpu = min(timing.cpu)
        out.append(
            f"| {'info' if key == 'b0' else key} | {names[key]} | {timing.best:.3f} | {runs} | {cpu:.3f} | "
            f"{timing.rate():,.0f} | {timing.best / split:.2f}x | {cpu / split_cpu:.2f}x |"
        )
    out += ["", report.digest_note, ""]
    out += [
        "Peak RSS (`ru_maxrss` of a fresh child, one per measurement):",
        "",
        "| file | segments | size (MiB) | command | peak RSS (MiB) | wall (s) | segments/s | note |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for rss in report.rss:
        st = rss.stats
        out.append(
            f"| {rss.file} | {st.segments:,} | {st.bytes / 2**20:.1f} | {rss.how} | {rss.maxrss_kib / 1024:.1f} | "
            f"{rss.wall:.2f} | {st.segments / rss.wall:,.0f} | {rss.note or '-'} |"
        )
    out += ["", "Targets:", "", "| target | measured | result |", "| --- | --- | --- |"]
    out += [f"| {target} | {measured} | {verdict} |" for target, measured, verdict in report.checks]
    out += ["", END, ""]
    return "\n".join(out)


def write_readme(section: str) -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head = text[: text.index(BEGIN)]
        tail = text[text.index(END) + len(END) :].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text)


# -- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=20_000, help="purchase orders in the 1x file (default 20000)")
    parser.add_argument("--lines", type=int, default=10, help="PO1 lines per purchase order (default 10)")
    parser.add_argument("--scale", type=int, default=10, help="size of the memory-run file, x the 1x (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts (default 3)")
    parser.add_argument("--seed", type=int, default=850)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "edi-engine-bench", help="where the files go"
    )
    parser.add_argument("--no-ansi", action="store_true", help="skip ansi-x12 (slow)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    small = bench_file(args.workdir, args.pos, args.lines, args.seed)
    assert small.segments == small.transaction_sets * segments_per_po(args.lines) + 2 * (
        small.groups + small.interchanges
    )
    report = Report(
        when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), machine=machine_facts(), args=args, small=small
    )
    print(f"1x file: {small.path} ({small.segments:,} segments, {small.bytes / 2**20:.1f} MiB)")

    sides: list[tuple[str, str, Callable[[Path], Run]]] = [
        ("a", "bare split", run_split),
        ("b", "ours", run_ours),
        ("b0", "ours, gc off", run_ours_nogc),
    ]
    if not args.no_ansi:
        sides.append(("c", "ansi-x12", run_ansi))
    validate, report.validation_note = validation_runner()
    if validate is not None:
        sides.append(("d", "ours + validation", validate))
    else:
        print(f"  validation: {report.validation_note}")
    report.timings, errors = time_sides(sides, small.path, args.repeat)
    for key, error in errors.items():
        if key != "d":
            raise SystemExit(f"{key} failed: {error}")
        report.validation_note = f"failed: {error}"

    # Every side must have seen every segment and every value in the same places.
    reference = report.timings["a"].run
    assert reference.segments == small.segments, (reference.segments, small.segments)
    for key, timing in report.timings.items():
        run = timing.run
        assert run is not None
        assert run.segments == reference.segments and run.digest == reference.digest, (
            f"{key} ({run.name}) digest differs: {run.segments} segments, {run.digest:#x}; "
            f"split: {reference.segments}, {reference.digest:#x}"
        )
        assert key == "d" or run.findings == 0, f"{run.name} reported findings on a clean file: {run.samples}"
    findings_d = report.timings["d"].run.findings if "d" in report.timings and report.timings["d"].run else None
    report.digest_note = (
        f"Digests agree on every side: {reference.segments:,} segments, digest "
        f"`{reference.digest & 0xFFFFFFFFFFFFFFFF:016x}` (per-process hash). "
        f"Our reader reported 0 findings"
        + ("" if findings_d is None else f"; the validator reported {findings_d:,} findings")
        + " on this clean file."
    )

    print("peak RSS ...", flush=True)
    report.rss.append(peak_rss("1x", small))
    if args.scale > 1:
        big = bench_file(args.workdir, args.pos * args.scale, args.lines, args.seed)
        report.rss.append(peak_rss(f"{args.scale}x", big))
    for rss in report.rss:
        print(f"  {rss.file}: {rss.maxrss_kib / 1024:.1f} MiB, {rss.wall:.2f} s via {rss.how} {rss.note}")

    evaluate(report)
    section = render(report)
    print()
    print(section)
    for target, measured, verdict in report.checks:
        print(f"{verdict:4}  {target}: {measured}")
    if not args.no_write:
        write_readme(section)
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
