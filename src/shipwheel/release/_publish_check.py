"""The release checks ``publish`` runs before it sends a byte: verify, then the pinned-signature check.

Publish is a step and never runs another one; this is the hook its callers (``shipwheel publish``, the release
pipeline) pass as :attr:`shipwheel.publish.PublishSettings.check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..config import Config
from ..errors import VerificationError
from ..publish import ReleaseCheck
from ..sign import trusted_signers, verify_release_signatures
from ..verify import VerifyCache, verify_paths

__all__ = ["publish_check"]


def publish_check(config: Config | None) -> ReleaseCheck:
    """The check of one release's files: every verify check (reusing the passing results ``shipwheel verify``
    recorded for identical files; warnings count when ``verify.strict``), then the GPG signatures and
    ``SHA256SUMS`` beside the files against the pinned signers only (``sign.trusted-keys``, else ``sign.key``;
    without a configuration nobody is pinned, so a present signature is refused with a hint to pin one)."""

    def check(files: Sequence[Path], project: str, version: str) -> tuple[str, ...]:
        report = verify_paths(
            list(files), config=config, project=project, version=version, cache=VerifyCache()
        )
        strict = config.verify.strict if config is not None else False
        if not report.ok(strict):
            problems = list(report.errors) or list(report.warnings)
            first = problems[0] if problems else None
            what = f"{first.file or 'release'}: {first.message} [{first.code}]" if first else "problems found"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise VerificationError(
                f"verify found problems in the release files, {what}{more}; nothing was uploaded",
                hint="run 'shipwheel verify' on them and fix what it reports, or pass --no-verify",
            )
        gpg = config.sign.gpg if config is not None else "gpg"
        trusted = trusted_signers(
            config.sign.trusted_keys if config is not None else (),
            key=config.sign.key if config is not None else "",
            gpg=gpg,
            resolve=False,
        )
        verify_release_signatures(files, gpg=gpg, trusted=trusted)
        return tuple(r.filename for r in report.files if r.verified_earlier)

    return check
