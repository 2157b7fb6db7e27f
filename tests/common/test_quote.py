"""errors.quote: how a core quotes what the caller sent in a message (issue 16)."""

from __future__ import annotations

from prum.services.common.errors import quote


def test_a_short_value_is_its_repr() -> None:
    assert quote("NL-P-1") == "'NL-P-1'"
    assert quote("x\x00") == "'x\\x00'"
    assert quote(12) == "12" and quote(None) == "None" and quote(b"\x00") == "b'\\x00'"


def test_a_long_value_is_cut_with_its_length() -> None:
    assert quote("a" * 100) == repr("a" * 80) + "... (100 characters)"
    assert quote("a" * 100, limit=10) == repr("a" * 10) + "... (100 characters)"


def test_escaped_characters_do_not_make_the_quote_long() -> None:
    for text in ("\x00" * 100_000, "\U000e0001" * 100_000, "é" * 100_000, "٣" * 100_000):
        quoted = quote(text)
        assert len(quoted.encode("utf-8")) <= 4 * 80 + 40, (text[:1], len(quoted.encode("utf-8")))
        assert quoted.endswith("... (100,000 characters)")


def test_a_value_python_cannot_print_is_told_by_its_size() -> None:
    assert quote(10 ** 5000) == "<an integer of 16,610 bits>"  # str() raises ValueError beyond 4,300 digits

    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert quote(Unprintable()) == "<a Unprintable>"
