"""``edi-engine users``: the portal's accounts (``add``, ``list``, ``disable``, ``token``).

A new user's password never comes from the command line itself (it would stay in the shell's
history and in the process list): it is asked twice at the prompt, or read from
``--password-file FILE`` or ``$EDI_ENGINE_NEW_PASSWORD`` for scripts.

Exit status: 0 done, 1 no such user or the e-mail is taken, 2 bad usage (an unknown
organisation, a password refused or not confirmed, no workspace).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from getpass import getpass
from pathlib import Path
from typing import Any, TextIO

from engine.config import ConfigError
from engine.passwords import PasswordRefused, check_new_password
from engine.runtime import Runtime
from engine.users import (
    UnknownOrganisation,
    UserError,
    UserInfo,
    add_user,
    check_organisation,
    disable_user,
    find_user,
    issue_api_token,
    list_users,
    normalise_email,
)
from mappings.profiles import ProfileError

#: Where a script hands ``users add`` the new password, when there is no ``--password-file``.
PASSWORD_VARIABLE = "EDI_ENGINE_NEW_PASSWORD"


class _BadUsage(ValueError):
    pass


def add_user_commands(commands: Any) -> None:
    """Register ``users`` on the top-level parser's subcommands."""
    users = commands.add_parser("users", help="the portal's user accounts").add_subparsers(dest="action", required=True)

    def command(name: str, handler: Any, about: str) -> argparse.ArgumentParser:
        # No abbreviations: "--password SECRET" must not pass for "--password-file SECRET".
        parser: argparse.ArgumentParser = users.add_parser(name, help=about, description=about, allow_abbrev=False)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--workspace", default=".", help="the workspace folder (default: here)")
        parser.set_defaults(handler=_guarded(handler))
        return parser

    add = command("add", cmd_users_add, "create a portal user: an organisation's, or an administrator")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--name", required=True, help="the person's name, as the portal shows it")
    whose = add.add_mutually_exclusive_group(required=True)
    whose.add_argument(
        "--organisation", metavar="ORG", help="the organisation (edi-engine.toml) whose partners they see"
    )
    whose.add_argument("--admin", action="store_true", help="an administrator: sees every partner")
    add.add_argument(
        "--password-file",
        metavar="FILE",
        help=f"read the password from this file (else ${PASSWORD_VARIABLE}, else it is asked twice)",
    )
    command("list", cmd_users_list, "every portal user, with organisation and state")
    disable = command("disable", cmd_users_disable, "stop a user logging in, and end their open sessions")
    disable.add_argument("email", metavar="EMAIL")
    token = command("token", cmd_users_token, "issue a user's API token (replaces the old one; shown once)")
    token.add_argument("email", metavar="EMAIL")


def _guarded(handler: Any) -> Any:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            runtime = Runtime.open(Path(args.workspace))
        except (ConfigError, ProfileError) as problem:
            print(f"edi-engine: {problem}", file=sys.stderr)
            return 2
        try:
            code: int = handler(runtime, args, out)
            return code
        except UserError as refusal:
            print(f"edi-engine: {refusal}", file=sys.stderr)
            return 1
        except (UnknownOrganisation, PasswordRefused, _BadUsage) as problem:
            print(f"edi-engine: {problem}", file=sys.stderr)
            return 2
        finally:
            runtime.close()

    return run


def new_password(password_file: str | None) -> str:
    """The new user's password: from the file, the environment, or typed twice at the prompt."""
    if password_file is not None:
        try:
            text = Path(password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise _BadUsage(f"{password_file}: cannot be read ({error})") from error
        return text.rstrip("\r\n")
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    password = getpass("Password: ")
    check_new_password(password)  # said before asking again
    if getpass("The same password again: ") != password:
        raise _BadUsage("the two passwords differ: nothing was changed")
    return password


def cmd_users_add(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    # What can be refused is refused before a password is asked for.
    if args.organisation is not None:
        check_organisation(runtime, args.organisation)
    if find_user(runtime, args.email) is not None:
        raise UserError(f"a user with the e-mail {normalise_email(args.email)} already exists")
    user = add_user(runtime, args.email, name=args.name, password=new_password(args.password_file),
                    organisation_id=args.organisation, is_admin=args.admin)  # fmt: skip
    if args.json:
        print(json.dumps(_as_dict(user), indent=2), file=out)
    else:
        print(f"added {user.email} ({user.name}), {_whose(runtime, user)}", file=out)
    return 0


def cmd_users_list(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    users = list_users(runtime)
    if args.json:
        print(json.dumps([_as_dict(user) for user in users], indent=2), file=out)
        return 0
    for user in users:
        state = f"disabled {user.disabled_at:%Y-%m-%d %H:%M} UTC" if user.disabled_at else "active"
        token = "API token" if user.has_api_token else "no API token"
        print(f"{user.email:<32} {user.name:<24} {_whose(runtime, user):<36} {state}, {token}", file=out)
    if not users:
        print("no users (add one with: edi-engine users add EMAIL --name NAME --organisation ORG)", file=out)
    return 0


def cmd_users_disable(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    user = disable_user(runtime, args.email)
    if args.json:
        print(json.dumps(_as_dict(user), indent=2), file=out)
    else:
        print(f"disabled {user.email}: they cannot log in, and their open sessions have ended", file=out)
    return 0


def cmd_users_token(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    token = issue_api_token(runtime, args.email)
    if args.json:
        print(json.dumps({"email": normalise_email(args.email), "token": token}), file=out)
    else:
        print(token, file=out)
    print("edi-engine: this API token is shown once, now; only its SHA-256 is kept. Any earlier token no "
          "longer works.", file=sys.stderr)  # fmt: skip
    return 0


def _whose(runtime: Runtime, user: UserInfo) -> str:
    if user.is_admin:
        return "administrator (every partner)"
    names = {o.id: o.name for o in runtime.workspace.organisations}
    return f"organisation {user.organisation_id} ({names.get(user.organisation_id or '', 'no longer configured')})"


def _as_dict(user: UserInfo) -> dict[str, Any]:
    data = asdict(user)
    data["created_at"] = user.created_at.isoformat()
    data["disabled_at"] = user.disabled_at.isoformat() if user.disabled_at else None
    return data
