"""``shipwheel sign``: detached armored GPG signatures and a signed SHA256SUMS manifest."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ..sign import sign_files, verify_release_signatures
from ._common import (
    add_config_options,
    add_release_paths,
    config_from_args,
    err_console,
    out_console,
    print_json,
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sign",
        parents=[common],
        help="write .asc GPG signatures and a signed SHA256SUMS manifest for release files",
        description="Sign each release file with a detached armored GPG signature (FILE.asc) and write "
        "SHA256SUMS and SHA256SUMS.asc beside them. fetch and publish check these when they are present. "
        "GNUPGHOME is respected.",
    )
    add_release_paths(p)
    p.add_argument(
        "--key", metavar="ID", help="the GPG key to sign with (default: sign.key, else gpg's default key)"
    )
    p.add_argument("--no-manifest", action="store_true", help="only the .asc files, no SHA256SUMS")
    p.add_argument(
        "--verify", action="store_true", help="check existing signatures and manifest instead of signing"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides = {"sign.key": args.key} if args.key else {}
    config = config_from_args(args, overrides)
    paths = list(args.paths) or [config.build.output_dir]
    gpg = config.sign.gpg
    if args.verify:
        from ..distfiles import collect_release_files

        files = collect_release_files(paths)
        verify_release_signatures(files, gpg=gpg)
        if args.json:
            print_json({"verified": [str(f) for f in files]})
        else:
            out_console.print(Text(f"signatures and manifest good for {len(files)} files", style="green"))
        return 0
    result = sign_files(
        paths,
        key=config.sign.key or None,
        gpg=gpg,
        manifest=not args.no_manifest,
        on_file=None if args.json else lambda p: err_console.print(Text(f"signed {p.name}", style="dim")),
    )
    if args.json:
        print_json(
            {
                "signatures": [str(p) for p in result.signatures],
                "manifest": str(result.manifest) if result.manifest else None,
                "manifest_signature": str(result.manifest_signature) if result.manifest_signature else None,
            }
        )
        return 0
    out_console.print(Text(f"{len(result.signatures)} signatures written", style="bold"))
    if result.manifest is not None:
        out_console.print(Text(f"{result.manifest} and {result.manifest_signature}"))
    return 0
