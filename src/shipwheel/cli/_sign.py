"""``shipwheel sign``: detached armored GPG signatures and a signed SHA256SUMS manifest."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ._common import (
    add_config_options,
    add_release_paths,
    config_from_args,
    err_console,
    out_console,
    print_json,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..sign import TrustedSigners


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
        "--verify",
        action="store_true",
        help="check instead of signing: every file must be signed by a pinned key (its .asc, or a signed "
        "SHA256SUMS that lists it)",
    )
    p.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="with --verify: check only the signatures present; unsigned files and manifests pass",
    )
    add_trust_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..sign import sign_files, verify_release

    overrides = {"sign.key": args.key} if args.key else {}
    config = config_from_args(args, overrides)
    paths = list(args.paths) or [config.build.output_dir]
    gpg = config.sign.gpg
    if args.verify:
        from ..distfiles import collect_release_files

        files = collect_release_files(paths)
        trusted = signers_from(args, config)
        checked = verify_release(files, trusted=trusted, allow_unsigned=args.allow_unsigned, gpg=gpg)
        if args.json:
            print_json(
                {
                    "verified": [str(f) for f in checked.signed],
                    "unsigned": [str(f) for f in checked.unsigned],
                    "signers": sorted(checked.signers),
                }
            )
            return 0
        for note in trusted.notes:
            err_console.print(Text(note, style="dim"))
        by = ", ".join(sorted(checked.signers)) or "nobody"
        out_console.print(Text(f"{len(checked.signed)} of {len(files)} files signed by {by}", style="green"))
        if checked.unsigned:
            names = ", ".join(f.name for f in checked.unsigned)
            out_console.print(Text(f"not signed (allowed by --allow-unsigned): {names}", style="yellow"))
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


def _fingerprint(value: str) -> str:
    from ..sign import parse_fingerprint

    fpr = parse_fingerprint(value)
    if fpr is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a full key fingerprint (40 or 64 hex digits; see gpg --fingerprint KEY)"
        )
    return fpr


def add_trust_options(p: argparse.ArgumentParser) -> None:
    """``--trusted-key FPR`` (repeatable) and ``--trust-keyring``: whose signatures sign, fetch and publish
    accept."""
    p.add_argument(
        "--trusted-key",
        metavar="FPR",
        action="append",
        type=_fingerprint,
        default=[],
        help="accept signatures only by this key fingerprint (repeatable; default: sign.trusted-keys, else sign.key)",
    )
    p.add_argument(
        "--trust-keyring",
        action="store_true",
        help="accept a signature by any key in gpg's keyring (no pinning)",
    )


def signers_from(args: argparse.Namespace, config: Config, *, resolve: bool = True) -> TrustedSigners:
    """The trusted signers of a command: ``--trusted-key`` pins, else ``sign.trusted-keys``, else ``sign.key``
    (resolved with gpg now, or without ``resolve`` only when a signature is checked)."""
    from ..sign import trusted_signers

    pinned = list(getattr(args, "trusted_key", None) or []) or list(config.sign.trusted_keys)
    any_key = bool(getattr(args, "trust_keyring", False))
    return trusted_signers(pinned, key=config.sign.key, any_key=any_key, gpg=config.sign.gpg, resolve=resolve)
