"""Telex typed without a Vietnamese keyboard: "ddoanf vaof" meant "đoàn vào".

Telex spells each Vietnamese letter with plain keys: "dd" is đ, a doubled vowel or a
following "w" adds the hat or the horn (aa â, aw ă, ee ê, oo ô, ow ơ, uw ư), and one of
s f r x j after the vowel is the tone (z removes it). Only the folded form is needed here
(no accents, as `domain.parsing.fold` gives), so the decoder drops those keys instead of
composing letters. It is meant as a second try when folded text matched nothing in a
fixed list (choices, activity types, countries), never to rewrite free text.
"""

from __future__ import annotations

_VOWELS = frozenset("aeiouy")
_DOUBLED = frozenset("aeo")  # aa, ee, oo
_TONE_KEYS = frozenset("sfrxjz")  # never letters of a Vietnamese syllable after its vowel


def _word(word: str) -> str:
    if not (word.isascii() and word.isalpha()):
        return word
    letters: list[str] = []
    seen_vowel = False
    for char in word:
        if char == "d" and letters == ["d"]:  # dd: đ, only at the start of a syllable
            continue
        if seen_vowel and (char in _TONE_KEYS or char == "w"):
            continue
        if char == "w":  # alone, w is ư
            char = "u"
        if char in _VOWELS:
            if letters and letters[-1] == char and char in _DOUBLED:
                continue
            seen_vowel = True
        letters.append(char)
    return "".join(letters)


def untelex(folded: str) -> str:
    """The folded words as they read once their Telex keys are decoded."""
    return " ".join(_word(word) for word in folded.split(" "))
