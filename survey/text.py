"""Vietnamese text order and search, without a locale database.

The Vietnamese alphabet has letters of its own — ``a ă â b c d đ e ê g h i k l m n o ô ơ p q
r s t u ư v x y`` — so ``Ă`` sorts after every ``A…`` word and ``Đ`` after every ``D…`` word
(as in a dictionary or the official list of administrative units). Tone marks only break ties,
in the dictionary order: none, huyền (`), hỏi (?), ngã (~), sắc (´), nặng (.). Case breaks the
last ties.
"""

from __future__ import annotations

import unicodedata

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
# Marks that make another letter (breve, circumflex, horn) and marks that are tones.
_LETTER_MARKS = {"\u0306": "\u0306", "\u0302": "\u0302", "\u031b": "\u031b"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_RANK = {unicodedata.normalize("NFD", letter): 200 + n for n, letter in enumerate(_ALPHABET)}


def sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Key for ``sorted`` that puts Vietnamese words in dictionary order.

    >>> sorted(["Đông", "Dương", "Ân", "An", "Ăn", "Bình"], key=sort_key)
    ['An', 'Ăn', 'Ân', 'Bình', 'Dương', 'Đông']
    >>> sorted(["má", "mà", "ma", "mạ", "mả", "mã"], key=sort_key)
    ['ma', 'mà', 'mả', 'mã', 'má', 'mạ']
    """
    letters: list[int] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _TONES:
            if tones:
                tones[-1] = _TONES[char]
            continue
        if char in _LETTER_MARKS and letters:
            base = _ALPHABET_BY_RANK.get(letters[-1], "")
            letters[-1] = _RANK.get(base + char, letters[-1])
            continue
        code = ord(char)
        letters.append(_RANK.get(char, code if code < 200 else 1000 + code))
        tones.append(0)
    return tuple(letters), tuple(tones), unicodedata.normalize("NFC", text)


_ALPHABET_BY_RANK = {rank: letter for letter, rank in _RANK.items()}


def fold(text: str) -> str:
    """``text`` as a search compares it: without tone or letter marks, đ as d, lower case, single
    spaces — so "thoi binh" finds "Thới Bình". The staff unit filter (static/js/unit-filter.js)
    folds the same way.

    >>> fold("  Thị trấn  Sông Đốc ")
    'thi tran song doc'
    """
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(stripped.replace("đ", "d").replace("Đ", "d").lower().split())
