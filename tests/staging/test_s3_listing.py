"""S3-style XML bucket listings from servers nobody vouched for: read with defusedxml, refused when hostile."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.http_servers import ListingServer
from shipwheel.staging import TransferError
from shipwheel.staging._containers._http import HttpContainer
from shipwheel.staging._containers._listing import parse_s3_xml

BASE = "http://127.0.0.1:8000/staging/"
WHEEL = "numpy-2.4.6-cp312-cp312-win_amd64.whl"

_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE ListBucketResult [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
    )
    + "]>\n<ListBucketResult><Contents><Key>&lol9;</Key></Contents></ListBucketResult>"
)
_EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    f"<ListBucketResult><Contents><Key>&x;{WHEEL}</Key></Contents></ListBucketResult>"
)
_INTERNAL = f'<!DOCTYPE x [<!ENTITY a "rc/">]><ListBucketResult><Contents><Key>&a;{WHEEL}</Key></Contents></ListBucketResult>'
_DTD_ONLY = (
    f"<!DOCTYPE ListBucketResult><ListBucketResult><Contents><Key>{WHEEL}</Key></Contents></ListBucketResult>"
)


@pytest.mark.parametrize(
    "xml", [_LAUGHS, _EXTERNAL, _INTERNAL, _DTD_ONLY], ids=["laughs", "external", "entity", "dtd"]
)
def test_hostile_s3_listing_is_refused_before_any_entity_is_expanded(xml: str) -> None:
    with pytest.raises(TransferError, match=r"S3 listing .* was refused: (DTDForbidden|EntitiesForbidden)"):
        parse_s3_xml(xml, BASE)


def test_broken_s3_listing_is_an_error_not_an_empty_listing() -> None:
    with pytest.raises(TransferError, match="not valid XML"):
        parse_s3_xml("<ListBucketResult><Contents><Key>x</Contents>", BASE)


@pytest.mark.integration
def test_fetch_listing_from_a_server_serving_a_billion_laughs_is_refused(tmp_path: Path) -> None:
    with ListingServer(tmp_path) as server:
        url = server.page("/bucket", _LAUGHS, ctype="application/xml")
        container = HttpContainer(url, timeout=10)
        try:
            with pytest.raises(TransferError, match="was refused"):
                container.listing("numpy")
        finally:
            container.close()


def test_s3_xml_listing_with_continuation_token() -> None:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Name>staging</Name><Prefix>rc/</Prefix><IsTruncated>true</IsTruncated>
      <NextContinuationToken>tok+en/1</NextContinuationToken>
      <Contents><Key>rc/{WHEEL}</Key><Size>1234</Size></Contents>
      <Contents><Key>rc/SHA256SUMS</Key><Size>80</Size></Contents>
    </ListBucketResult>"""
    page = parse_s3_xml(xml, "http://127.0.0.1:9000/staging?list-type=2&prefix=rc/")
    assert page.links[0].url == f"http://127.0.0.1:9000/staging/rc/{WHEEL}"
    assert page.links[0].size == 1234
    assert page.next_url == (
        "http://127.0.0.1:9000/staging?list-type=2&prefix=rc%2F&continuation-token=tok%2Ben%2F1"
    )
