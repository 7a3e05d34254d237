"""Invite codes: three groups of four consonants, "KQTM-BFRZ-HNPX".

Twelve letters from 18 give about 50 bits: even with the database and its key stolen,
guessing a live code takes a GPU weeks, not minutes. Only consonants, without D and W:
a Vietnamese (Telex) phone keyboard turns "aa", "dd", "w", or a vowel followed by s, f, r,
x or j into other letters, and none of those can occur. No O/0 or I/1 to misread. Case,
spaces and dashes do not matter when the code is typed back.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "BCFGHJKLMNPQRSTVXZ"
GROUP, GROUPS = 4, 3
LENGTH = GROUP * GROUPS

_GROUP = f"[{ALPHABET}{ALPHABET.lower()}]{{{GROUP}}}"
PATTERN = re.compile(rf"(?<![A-Za-z0-9]){_GROUP}(?:[- ]?{_GROUP}){{{GROUPS - 1}}}(?![A-Za-z0-9])")


def new_code() -> str:
    letters = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(letters[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(text: str) -> str:
    """The letters that count: upper case, without spaces, dashes or dots."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def looks_like(text: str) -> bool:
    code = normalise(text)
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)


def find(text: str) -> str | None:
    """A well-formed code inside a sentence ("mã của tôi là KQTM-BFRZ-HNPX ạ")."""
    match = PATTERN.search(text)
    return match.group(0) if match else None
