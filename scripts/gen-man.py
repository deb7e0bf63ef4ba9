#!/usr/bin/env python3
"""Writes the snats(1) man page from the command's own argument parser:
``snats --experimental-dump-help | scripts/gen-man.py [VERSION] > snats.1``.

Every command and option comes from the dump, so the page cannot drift from ``snats --help``.
The options every command shares (the connection's) are listed once, under CONNECTION
OPTIONS; each command lists its own."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List


def roff(text: str) -> str:
    """Text safe for roff: backslashes doubled, a leading dot or quote escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def spelling(argument: Dict[str, Any]) -> str:
    names = []
    for name in argument.get("names", []):
        dashes = "-" if name["kind"] == "short" else "--"
        names.append(f"\\fB{roff(dashes + name['name'])}\\fR")
    head = ", ".join(names) if names else f"\\fI{roff(argument.get('valueName', 'value'))}\\fR"
    if argument["kind"] == "option":
        head += f" \\fI{roff(argument.get('valueName', 'value'))}\\fR"
    return head


def key(argument: Dict[str, Any]) -> str:
    return json.dumps([argument.get("kind"), argument.get("names"), argument.get("valueName")], sort_keys=True)


def leaves(command: Dict[str, Any], path: List[str]) -> List[Any]:
    subcommands = [sub for sub in command.get("subcommands", []) if sub.get("shouldDisplay", True)
                   and sub["commandName"] != "help"]
    if not subcommands:
        return [(path, command)]
    found = []
    for sub in subcommands:
        found.extend(leaves(sub, path + [sub["commandName"]]))
    return found


def options_of(command: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [arg for arg in command.get("arguments", []) if arg.get("shouldDisplay", True)
            and not (arg["kind"] == "flag" and arg.get("valueName") == "help")]


def describe(argument: Dict[str, Any], out: List[str]) -> None:
    out.append(".TP")
    out.append(spelling(argument))
    text = argument.get("abstract", "")
    if argument.get("defaultValue") not in (None, ""):
        text += f" (default: {argument['defaultValue']})"
    out.append(roff(text) if text else "")


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else ""
    root = json.load(sys.stdin)["command"]
    commands = leaves(root, [])
    shared_keys = None
    for _, command in commands:
        keys = {key(arg) for arg in options_of(command)}
        shared_keys = keys if shared_keys is None else shared_keys & keys
    shared_keys = shared_keys or set()
    out = [f'.TH SNATS 1 "" "swiftnats {roff(version)}" "User Commands"',
           ".SH NAME", "snats \\- " + roff(root.get("abstract", "the swiftnats command-line tool")),
           ".SH SYNOPSIS", "\\fBsnats\\fR \\fIcommand\\fR [\\fIsubcommand\\fR] [\\fIoptions\\fR] [\\fIarguments\\fR]",
           ".SH DESCRIPTION",
           roff("snats talks to NATS servers with the swiftnats library: core messaging, micro "
                "services, RPC, JetStream streams and consumers, Key-Value and Object Store buckets. "
                "Each command below lists its own options; every command also takes the connection "
                "options."),
           ".SH COMMANDS"]
    for path, command in commands:
        out.append(".SS " + roff("snats " + " ".join(path)))
        if command.get("abstract"):
            out.append(roff(command["abstract"]))
        if command.get("discussion"):
            out.append(".PP")
            out.append(roff(command["discussion"]))
        positional = [arg for arg in options_of(command) if arg["kind"] == "positional"]
        own = [arg for arg in options_of(command) if arg["kind"] != "positional" and key(arg) not in shared_keys]
        for argument in positional + own:
            describe(argument, out)
    out.append(".SH CONNECTION OPTIONS")
    if commands:
        for argument in options_of(commands[0][1]):
            if key(argument) in shared_keys:
                describe(argument, out)
    out += [".SH ENVIRONMENT", ".TP", "\\fBNATS_URL\\fR",
            roff("The server(s) to use when no --server is given (default nats://127.0.0.1:4222)."),
            ".SH SEE ALSO",
            roff("The swiftnats documents and C examples in /usr/share/doc/swiftnats (or the "
                 "installation prefix's share/doc/swiftnats); snats help <command>.")]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
