"""Dutch addresses to coordinates through PDOK Locatieserver (the government's free BAG service)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from chalicelib.domain.signup import Address

# centroide_ll is WKT in WGS84: "POINT(5.12143 52.09074)"
POINT = re.compile(r"POINT\(\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s*\)")


class GeocoderUnavailable(Exception):
    """PDOK did not answer usefully; the caller should ask the person to try again later."""


@dataclass(frozen=True)
class PdokGeocoder:
    """Looks up postcode + house number (+ addition) on the Locatieserver `free` endpoint."""

    url: str  # e.g. https://api.pdok.nl/bzk/locatieserver/search/v3_1/free
    timeout_s: float = 3.0

    def lookup(self, postcode: str, house_number: str, addition: str | None) -> Address | None:
        """The address, or None when the BAG has no such address."""
        query = {
            "q": f"postcode:{postcode} AND huisnummer:{house_number}",
            "fq": "type:adres",
            "fl": "postcode,huisnummer,huisletter,huisnummertoevoeging,gemeentecode,centroide_ll",
            "rows": "20",
        }
        request = urllib.request.Request(
            f"{self.url}?{urllib.parse.urlencode(query)}", headers={"Accept": "application/json"}
        )
        try:
            # Settings accept only an http(s) GEOCODER_URL, so urllib never opens file: or ftp:.
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # nosec B310 # http(s)
                docs = json.load(response)["response"]["docs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GeocoderUnavailable(type(exc).__name__) from None
        for doc in docs:
            if _addition(doc) == (addition or ""):
                return _address(doc)
        return None


def _addition(doc: dict[str, object]) -> str:
    # BAG splits "12A-2" into huisletter "A" and toevoeging "2"; people write them together.
    return f"{doc.get('huisletter') or ''}{doc.get('huisnummertoevoeging') or ''}".upper()


def _address(doc: dict[str, object]) -> Address:
    match = POINT.fullmatch(str(doc.get("centroide_ll", "")))
    if match is None:
        raise GeocoderUnavailable("no centroid")
    return Address(
        postcode=str(doc["postcode"]),
        house_number=str(doc["huisnummer"]),
        addition=_addition(doc) or None,
        lon=float(match.group(1)),
        lat=float(match.group(2)),
        municipality=f"GM{doc['gemeentecode']}",
    )
