"""``shipwheel announce VERSION``: the announcement mail and the GitHub release body; sent once with ``--send``."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "announce",
        parents=[common],
        help="write the release announcement (mail text, GitHub release Markdown) and send it once",
        description="Write VERSION's announcement (highlights from the notes, contributors and pull requests since "
        "the previous tag, links, checksums) to .shipwheel/releases/VERSION-announcement.txt and "
        "VERSION-github-release.md. With --send, mail it through release.smtp-host (STARTTLS, login with "
        "release.smtp-user and SHIPWHEEL_SMTP_PASSWORD) to release.announce-to as Bcc. The Message-ID is "
        "recorded, and a release already announced is not announced again.",
    )
    p.add_argument("version", metavar="VERSION", help="the release")
    p.add_argument("--send", action="store_true", help="mail it (once)")
    p.add_argument("--force", action="store_true", help="send even though a Message-ID is recorded")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..release import announce, load_state, repository_of

    config = config_from_args(args)
    state = load_state(config, args.version)
    result = announce(
        config,
        args.version,
        state=state,
        git=repository_of(config),
        send=args.send,
        force=args.force,
        password=os.environ.get("SHIPWHEEL_SMTP_PASSWORD"),
    )
    if args.json:
        print_json(
            {
                "text_file": str(result.text_file),
                "markdown_file": str(result.markdown_file),
                "message_id": result.message_id,
                "sent_now": result.sent_now,
                "sent_before": result.sent_before,
            }
        )
        return 0
    out_console.print(Text(f"wrote {result.text_file} and {result.markdown_file}"))
    if result.sent_now:
        out_console.print(Text(f"sent {result.message_id}", style="bold green"))
    elif result.sent_before:
        out_console.print(Text(f"already sent as {result.message_id}; not sent again", style="bold"))
    return 0
