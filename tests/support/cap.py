"""The OASIS CAP 1.2 schema every alert is validated against, and the feeds' XML namespaces."""

from __future__ import annotations

import xmlschema

from tools.emulator import ROOT

CAP_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "fixtures" / "cap" / "CAP-v1.2.xsd")
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}
