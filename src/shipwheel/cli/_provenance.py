"""``shipwheel verify --provenance``: the options, the call into :mod:`shipwheel.attest`, the rendering."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from ..errors import UsageError
from ._common import out_console


def add_options(parser: argparse.ArgumentParser) -> None:
    """The provenance options of ``shipwheel verify``."""
    group = parser.add_argument_group("provenance (PEP 740 attestations, needs shipwheel[attest])")
    group.add_argument(
        "--provenance", action="store_true", help="check each file's publish attestation against the workflow"
    )
    group.add_argument(
        "--publisher-repository", metavar="OWNER/NAME", help="the GitHub repository that must have published"
    )
    group.add_argument(
        "--publisher-workflow",
        metavar="FILE",
        default="wheels.yml",
        help="its workflow file (default: wheels.yml, what shipwheel ci github writes)",
    )
    group.add_argument(
        "--publisher-ref",
        metavar="REF",
        help="the ref the workflow ran on, e.g. refs/heads/main (default: any)",
    )
    group.add_argument(
        "--integrity-index",
        metavar="URL",
        help="fetch attestations missing beside the files from this index's integrity API "
        "(https://pypi.org); default: only FILE.publish.attestation",
    )


def check(args: argparse.Namespace, files: list[Path]) -> bool:
    """Run the provenance check when ``--provenance`` is given; ``True`` when every file passes or not asked."""
    from rich.table import Table

    if not args.provenance:
        return True
    if not args.publisher_repository or args.publisher_repository.count("/") != 1:
        raise UsageError(
            "--provenance needs --publisher-repository OWNER/NAME",
            hint="name the GitHub repository whose workflow publishes the release",
        )
    from ..attest import Identity, verify_provenance

    identity = Identity(args.publisher_repository, args.publisher_workflow, args.publisher_ref)
    results = verify_provenance(files, identity, index=args.integrity_index)
    table = Table(
        title=f"provenance: {identity.repository} {identity.workflow}"
        + (f" @ {identity.ref}" if identity.ref else ""),
        title_justify="left",
    )
    for col in ("file", "provenance", "detail"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(
            Text(r.file.name),
            Text("ok", style="green") if r.ok else Text("FAILED", style="bold red"),
            Text(r.problem or r.source, style="dim" if r.ok else "red"),
        )
    out_console.print(table)
    return all(r.ok for r in results)
