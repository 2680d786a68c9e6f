"""The `edi-engine` command line.

Exit codes: 0 everything valid, 1 findings of error severity, 2 unreadable input or bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from edi.x12.acks import InterchangeAck, acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.inspect import REPORT_VERSION, Totals, inspect_stream
from engine.cli_alerts import add_alert_commands
from engine.cli_orders import add_commands
from engine.cli_users import add_user_commands

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _Usage(f"{self.prog}: {message}")


def _check_readable(path: str) -> str | None:
    """Why the file cannot be inspected at all, or None."""
    p = Path(path)
    if not p.exists():
        return f"{path}: no such file"
    if p.is_dir():
        return f"{path}: is a directory"
    try:
        with p.open("rb") as handle:
            if not handle.read(1):
                return f"{path}: the file is empty"
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror})"
    return None


# -- inspect -------------------------------------------------------------------------------------
def _finding_line(finding: dict[str, Any]) -> str:
    return (
        f"{finding['severity']:<7} {finding['table']} {finding['code']}: {finding['message']} — {finding['location']}"
    )


class _TextReport:
    def __init__(self, out: TextIO, all_sets: bool) -> None:
        self.out = out
        self.all_sets = all_sets
        self.set_ids: dict[str, int] = {}

    def file(self, name: str) -> None:
        print(name, file=self.out)

    def event(self, kind: str, data: dict[str, Any]) -> None:
        out = self.out
        if kind == "interchange":
            s, r = data["sender"], data["receiver"]
            print(
                f"  interchange {data['control_number']}  {s['qualifier']}:{s['id']} -> {r['qualifier']}:{r['id']}"
                f"  version {data['version']}  usage {data['usage']}  at byte {data['offset']}",
                file=out,
            )
        elif kind == "group":
            self.set_ids = {}
            print(
                f"    group {data['control_number']}  {data['functional_id']}  version {data['version']}"
                f"  {data['sender']} -> {data['receiver']}",
                file=out,
            )
        elif kind == "set":
            self.set_ids[data["id"]] = self.set_ids.get(data["id"], 0) + 1
            errors = sum(1 for f in data["findings"] if f["severity"] == "error")
            if self.all_sets or data["findings"]:
                state = f"{errors} errors" if errors else ("warnings" if data["findings"] else "ok")
                print(
                    f"      set {data['id']} {data['control_number']}  {data['segments']} segments  {state}", file=out
                )
                for finding in data["findings"]:
                    print(f"        {_finding_line(finding)}", file=out)
        elif kind == "group_end":
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.set_ids.items()))
            print(f"      {data['sets_read']} sets ({counts}); GE01 says {data['declared_sets']}", file=out)
            for finding in data["findings"]:
                print(f"      {_finding_line(finding)}", file=out)
        elif kind == "interchange_end":
            print(f"    {data['groups_read']} groups; IEA01 says {data['declared_groups']}", file=out)
            for finding in data["findings"]:
                print(f"    {_finding_line(finding)}", file=out)
        elif kind == "file":
            for finding in data["findings"]:
                print(f"  {_finding_line(finding)}", file=out)


class _JsonReport:
    """Writes the documented JSON shape as the file streams past, so memory stays bounded."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first_file = True
        self.first: list[bool] = []

    def _item(self) -> None:
        if self.first[-1]:
            self.first[-1] = False
        else:
            self.out.write(",")

    def start(self) -> None:
        self.out.write(f'{{"report_version": {REPORT_VERSION}, "files": [')

    def file(self, name: str) -> None:
        if not self.first_file:
            self.out.write(",")
        self.first_file = False
        self.out.write(f'{{"file": {json.dumps(name)}, "interchanges": [')
        self.first = [True]

    def event(self, kind: str, data: dict[str, Any]) -> None:
        write = self.out.write
        if kind == "interchange":
            self._item()
            write(json.dumps(data)[:-1] + ', "groups": [')
            self.first.append(True)
        elif kind == "group":
            self._item()
            write(json.dumps(data)[:-1] + ', "sets": [')
            self.first.append(True)
        elif kind == "set":
            self._item()
            write(json.dumps(data))
        elif kind in ("group_end", "interchange_end"):
            self.first.pop()
            write("], " + json.dumps(data)[1:])
        elif kind == "file":
            write("], " + json.dumps(data)[1:])

    def unreadable(self, name: str, message: str) -> None:
        self.file(name)
        write = self.out.write
        write('], "error": ' + json.dumps(message) + ', "findings": []}')

    def finish(self, totals: Totals, exit_code: int) -> None:
        self.out.write(f'], "summary": {json.dumps(totals.as_dict())}, "exit_code": {exit_code}}}\n')


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    totals = Totals()
    report: _TextReport | _JsonReport = _JsonReport(out) if args.json else _TextReport(out, args.sets)
    if isinstance(report, _JsonReport):
        report.start()
    code = EXIT_OK
    for path in args.files:
        problem = _check_readable(path)
        if problem is None:
            before = totals.interchanges
            report.file(path)
            for kind, data in inspect_stream(path, totals=totals):
                report.event(kind, data)
            if totals.interchanges == before:
                problem = f"{path}: no X12 interchange (ISA) found in the file"
                if not args.json:
                    print(f"  error: {problem}", file=out)
            if problem is None:
                continue
        elif isinstance(report, _JsonReport):
            report.unreadable(path, problem)
        else:
            print(f"edi-engine inspect: {problem}", file=sys.stderr)
        code = EXIT_UNREADABLE
    if code != EXIT_UNREADABLE and totals.errors:
        code = EXIT_FINDINGS
    if isinstance(report, _JsonReport):
        report.finish(totals, code)
    else:
        by_id = ", ".join(f"{k}: {v}" for k, v in sorted(totals.sets_by_id.items()))
        print(
            f"{len(args.files)} files, {totals.interchanges} interchanges, {totals.groups} groups, "
            f"{totals.sets} sets ({by_id}), {totals.segments} segments; "
            f"{totals.errors} errors, {totals.warnings} warnings",
            file=out,
        )
    return code


# -- ack -----------------------------------------------------------------------------------------
def cmd_ack(args: argparse.Namespace, out: TextIO) -> int:
    problem = _check_readable(args.file)
    if problem is not None:
        print(f"edi-engine ack: {problem}", file=sys.stderr)
        return EXIT_UNREADABLE
    result = acknowledge(args.file, kind="999" if args.use_999 else "997", control_numbers=CountingControlNumbers())
    if not result.interchanges:
        print(f"edi-engine ack: {args.file}: no X12 interchange (ISA) found in the file", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.output:
        Path(args.output).write_bytes(result.data)
    else:
        sys.stdout.buffer.write(result.data)
        sys.stdout.flush()
    for summary in result.interchanges:
        print(_describe_ack(summary), file=sys.stderr)
    return EXIT_OK


def _describe_ack(summary: InterchangeAck) -> str:
    """One line per inbound interchange: what we answer, group by group."""
    parts = [f"interchange {summary.control_number}:"]
    if summary.ta104 is not None:
        parts.append(f"TA1 {summary.ta104} {summary.ta105}")
    for group in summary.groups:
        if group.kind is None:
            parts.append(f"group {group.control_number} ({group.functional_id}) holds acknowledgements: none owed")
            continue
        sets = " ".join(f"{s.control_number}={s.status}" for s in group.sets)
        codes = f" {','.join(group.codes)}" if group.codes else ""
        parts.append(f"{group.kind} for group {group.control_number}: AK9 {group.status}{codes} [{sets}]")
    if summary.note:
        parts.append(summary.note)
    return " ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edi-engine", description="An EDI integration engine for retail orders.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    inspect = commands.add_parser(
        "inspect", help="read X12 files, check them against the standard and list every finding"
    )
    inspect.add_argument("files", nargs="+", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print the report as JSON (shape in README)")
    inspect.add_argument("--sets", action="store_true", help="list every transaction set, not only those with findings")
    inspect.set_defaults(handler=cmd_inspect)
    ack = commands.add_parser("ack", help="write the 997 (or 999) and the TA1 the engine would send for a file")
    ack.add_argument("file", metavar="FILE")
    ack.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
    ack.add_argument("--999", dest="use_999", action="store_true", help="answer 005010 groups with a 999")
    ack.set_defaults(handler=cmd_ack)
    add_commands(commands)
    add_alert_commands(commands)
    add_user_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return EXIT_UNREADABLE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        code: int = args.handler(args, sys.stdout)
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    raise SystemExit(main())
