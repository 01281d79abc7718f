"""``shipwheel tag``: the annotated, optionally signed, release tag, made once."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "tag",
        parents=[common],
        help="make the annotated release tag (GPG- or SSH-signed when a key is configured)",
        description="Tag a commit (default HEAD) as release VERSION: an annotated tag (release.tag-format, default "
        "v{version}) whose message names the version, signed with sign.key when set (SSH when git's gpg.format is "
        "ssh or the key is an SSH key) and checked with git verify-tag against the pinned key. The same tag on the "
        "same commit is left alone; one on another commit is refused (exit 4). Ends with the git push commands.",
    )
    p.add_argument("version", metavar="VERSION", help="the release version")
    p.add_argument("--ref", default="HEAD", help="the commit to tag (default HEAD)")
    p.add_argument("--key", metavar="ID", help="sign with this GPG key or SSH key (default: sign.key)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..release import push_commands, tag_release

    config = config_from_args(args)
    result = tag_release(config, args.version, ref=args.ref, key=args.key)
    push = push_commands(config, args.version)
    if args.json:
        print_json(
            {
                "tag": result.name,
                "commit": result.commit,
                "created": result.created,
                "signed": result.signed,
                "verified": result.verified,
                "push": push,
            }
        )
        return 0
    what = "tagged" if result.created else "already tagged"
    signed = " (signed, verified)" if result.verified else " (signed)" if result.signed else ""
    out_console.print(Text(f"{what} {result.commit[:12]} as {result.name}{signed}", style="bold"))
    for line in push:  # one line each, never wrapped: they are copied as they are
        out_console.print(Text(f"{'push:':<12}{line}"), soft_wrap=True)
    return 0
