"""The payers the assistant can check, from payers.yml, and matching what people type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bot.content import ContentError, read_yaml

PAYERS_FILE = Path(__file__).with_name("payers.yml")


class PayerFileError(ContentError):
    """payers.yml is not valid; the message names the bad key."""


@dataclass(frozen=True)
class Payer:
    name: str  # shown to the person
    payer_id: str  # Stedi payer ID, sent as tradingPartnerServiceId
    aliases: Tuple[str, ...] = ()
    family: Optional[str] = None


def normalise(text: str) -> str:
    text = (text or "").lower().replace("&", " and ").replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = text.replace("'s ", " ").replace("'", "")
    return re.sub(r"\s+", " ", text).strip()


def _phrase_spans(phrase: str, text: str) -> List[Tuple[int, int]]:
    return [
        (m.start(), m.end())
        for m in re.finditer(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text)
    ]


@dataclass(frozen=True)
class PayerDirectory:
    payers: Tuple[Payer, ...]
    families: Dict[str, Tuple[str, ...]]

    def by_id(self, payer_id: str) -> Optional[Payer]:
        return next((p for p in self.payers if p.payer_id == payer_id), None)

    def match(self, text: str) -> List[Payer]:
        t = normalise(text)
        if not t:
            return []
        hits = []  # (span, payer)
        for payer in self.payers:
            for alias in (normalise(payer.name),) + payer.aliases:
                for span in _phrase_spans(alias, t):
                    hits.append((span, payer))
        if hits:
            # Drop a payer whose every match lies inside a longer match of another payer
            # ("humana military" is TRICARE East, not Humana).
            best: Dict[str, List[Tuple[int, int]]] = {}
            for span, payer in hits:
                best.setdefault(payer.payer_id, []).append(span)
            keep = []
            for payer in self.payers:
                spans = best.get(payer.payer_id)
                if not spans:
                    continue
                others = [s for pid, ss in best.items() if pid != payer.payer_id for s in ss]
                inside = all(
                    any(
                        o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0])
                        for o in others
                    )
                    for s in spans
                )
                if not inside:
                    keep.append(payer)
            return keep
        for family, phrases in self.families.items():
            if any(_phrase_spans(normalise(p), t) for p in phrases):
                return [p for p in self.payers if p.family == family]
        return []


def _fail(path: Path, key: str, message: str) -> PayerFileError:
    return PayerFileError(f"{path.name}: {key}: {message}")


def load(path: Path = PAYERS_FILE) -> PayerDirectory:
    data = read_yaml(path, PayerFileError, source=Path(path).name)
    path = Path(path)
    unknown = set(data) - {"payers", "families"}
    if unknown:
        raise _fail(path, sorted(unknown)[0], "unknown key")
    families_raw = data.get("families") or {}
    if not isinstance(families_raw, dict):
        raise _fail(path, "families", "expected a mapping of family name to phrases")
    families: Dict[str, Tuple[str, ...]] = {}
    for fam, phrases in families_raw.items():
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and p.strip() for p in phrases)
        ):
            raise _fail(path, f"families.{fam}", "expected a non-empty list of phrases")
        families[str(fam)] = tuple(normalise(p) for p in phrases)
    entries = data.get("payers")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, "payers", "expected a non-empty list")
    payers, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"payers[{i}]"
        if not isinstance(entry, dict):
            raise _fail(path, where, "expected a mapping")
        extra = set(entry) - {"name", "payer_id", "aliases", "family"}
        if extra:
            raise _fail(path, f"{where}.{sorted(extra)[0]}", "unknown key")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(path, f"{where}.name", "required, a non-empty string")
        where = f"payers[{i}] ({name})"
        pid = entry.get("payer_id")
        if not isinstance(pid, str) or not re.fullmatch(r"[A-Za-z0-9]{2,20}", pid):
            raise _fail(
                path, f"{where}.payer_id", "required, a quoted string of 2-20 letters/digits"
            )
        if pid in seen:
            raise _fail(path, f"{where}.payer_id", f"duplicate payer ID {pid}")
        seen.add(pid)
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and normalise(a) for a in aliases
        ):
            raise _fail(path, f"{where}.aliases", "expected a list of non-empty strings")
        family = entry.get("family")
        if family is not None and family not in families:
            raise _fail(path, f"{where}.family", f"'{family}' is not listed under families")
        payers.append(
            Payer(
                name=name.strip(),
                payer_id=pid,
                aliases=tuple(normalise(a) for a in aliases),
                family=family,
            )
        )
    return PayerDirectory(payers=tuple(payers), families=families)


@lru_cache(maxsize=1)
def directory() -> PayerDirectory:
    return load()


def match_payer(text: str) -> List[Payer]:
    """Payers matching what the person typed: one (a clear match), several (ask them to
    pick; e.g. "blue cross"), or none (unknown: offer a coordinator)."""
    return directory().match(text)
