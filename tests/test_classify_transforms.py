"""ModSecurity 2.9's transformations, checked against ModSecurity's own expectations.

Cases marked "tfn" are from ModSecurity v2's regression tests (owasp-modsecurity/ModSecurity,
tests/tfn/<name>.t: input, output); cases marked "manual" are from the Reference Manual's
"Transformation functions" section; the others follow the C they port (apache2/msc_util.c,
apache2/re_tfns.c) and say which branch they exercise. Values are bytes held as latin-1 text.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secmon.core.classify import transforms as t

ALL_BYTES = "".join(chr(code) for code in range(256))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),  # tfn urlDecodeUni: Empty
        ("Test+Case", "Test Case"),  # tfn: Valid
        ("+" + "".join(f"%{code:02x}" for code in range(256)), " " + ALL_BYTES),  # tfn: every %XX
        ("+" + "".join(f"%u{code:04x}" for code in range(256)), " " + ALL_BYTES),  # tfn: every %u00XX
        ("%u1141", "A"),  # tfn: %u11XX keeps the low byte
        ("".join(f"%uff{code:02x}" for code in range(1, 0x5F)), "".join(chr(c + 0x20) for c in range(1, 0x5F))),
        ("%uff00%uff7f", "\x00\x7f"),  # tfn: "Invalid Full Width ASCII" is not folded
        ("%+", "% "),  # tfn: Partial Invalid
        ("%%20", "% "),
        ("%0g%20", "%0g "),
        ("%u%u0020", "%u "),
        ("%u000g%u0020", "%u000g "),
        ("%0%1%2%a%f", "%0%1%2%a%f"),  # tfn: Invalid
        ("%", "%"),
        ("%gg", "%gg"),
    ],
)
def test_url_decode_uni(text, expected):
    assert t.url_decode_uni(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Test+Case", "Test Case"),  # tfn urlDecode
        ("%41%u0041%zz%4", "A%u0041%zz%4"),  # urldecode_nonstrict: no %u, a bad % kept
        ("%2B+", "+ "),  # a decoded + is not a space: one pass
    ],
)
def test_url_decode(text, expected):
    assert t.url_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TestCase", "TestCase"),  # tfn htmlEntityDecode: Nothing
        ("&#x0;&#X0;&#x20;&#X20;&#0;&#32;\0&#100;&quot;&amp;&lt;&gt;&nbsp;", '\0\0  \0 \0d"&<>\xa0'),  # tfn: with ;
        ("&#x0&#X0&#x20&#X20&#0&#32\0&#100&quot&amp&lt&gt&nbsp", '\0\0  \0 \0d"&<>\xa0'),  # tfn: without ;
        (
            "&#xg;&#Xg;&#xg0;&#X2g;&#a;\0&#a2;&#3a&#a00;&#1a0;&#10a;&foo;",
            "&#xg;&#Xg;&#xg0;\x02g;&#a;\0&#a2;\x03a&#a00;\x01a0;\x0aa;&foo;",
        ),  # tfn: Invalid
        ("&#x4142;", "B"),  # the value is cut to its low byte
        ("javascript&colon;", "javascript&colon;"),  # 2.9.7 knows five names (later versions add more)
    ],
)
def test_html_entity_decode(text, expected):
    assert t.html_entity_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff", "\a\b\f\n\r\t\v?'\"\x00\x0a\x53\x00\xff"),  # tfn
        ("\\8\\9\\666\\xag\\xga\\0123", "89\xb6xagxga\x0a3"),  # tfn: Invalid Sequences
        ("\\x\\x0", "xx0"),  # tfn
        ("\\", "\\"),  # tfn: a backslash with nothing after
        ("\\\0", "\0"),  # tfn: a backslash with NUL after
    ],
)
def test_escape_seq_decode(text, expected):
    assert t.escape_seq_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Test  \t   Case  ", " Test Case "),  # tfn compressWhitespace
        ("a \t\x0b\n\r\f\xa0b\0", "a b\0"),  # tfn: every C space (and NBSP) folds; NUL does not
    ],
)
def test_compress_whitespace(text, expected):
    assert t.compress_whitespace(text) == expected


def test_utf8_to_unicode_writes_each_sequence_as_percent_u():
    # tfn utf8toUnicode: "Ā ā" → "%u0100 %u0101", "■" → "%u25a0"; bytes that are not UTF-8 stay.
    text = "Ā ā ■".encode().decode("latin-1") + " \xff"
    assert t.utf8_to_unicode(text) == "%u0100 %u0101 %u25a0 \xff"
    # msc_util.c utf8_unicode_inplace_ex: an overlong sequence is decoded, then its lead byte repeated;
    # a lead byte that starts no sequence is dropped; a stray continuation byte stays.
    assert t.utf8_to_unicode("\xc0\xae/") == "%u002e\xc0/"
    assert t.utf8_to_unicode("a\xc3Ab\x80") == "aAb\x80"
    assert t.utf8_to_unicode("\xc3\xa9\0x") == "%u00e9"  # its length is strlen(): cut at NUL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\u0041\\x42\\101\\n\\q", "ABA\nq"),  # js_decode_nonstrict_inplace: each escape kind
        ("\\uff21", "A"),  # full-width ASCII folds to ASCII
        ("\\477", "'7"),  # three octal digits only while the value is one byte
        ("a\\", "a\\"),  # not enough bytes: kept
    ],
)
def test_js_decode(text, expected):
    assert t.js_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\41 x", "Ax"),  # css_decode_inplace: hex escape, one following space eaten
        ("\\ff21", "A"),  # four digits: full-width folded
        ("\\000041", "A"),  # six digits: the last two
        ("a\\\nb\\", "ab"),  # backslash-newline and a final backslash vanish
        ("\\zz", "zz"),  # not hex: the character is kept
    ],
)
def test_css_decode(text, expected):
    assert t.css_decode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # manual, cmdLine: deletes \ " ' ^, spaces before / and (, replaces , ; and runs of spaces with one, lowercases
        ('C:\\ "Win" ;, /x (A^b', "c: win/x(ab"),
        ("c^ommand /c ''dir''", "command/c dir"),
        ("cat\0/etc/passwd", "cat"),  # re_tfns.c walks a C string: the value ends at NUL
    ],
)
def test_cmd_line(text, expected):
    assert t.cmd_line(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/foo/bar/../baz", "/foo/baz"),
        ("/foo//bar", "/foo/bar"),
        ("/etc/./passwd", "/etc/passwd"),
        ("/../../etc/passwd", "/etc/passwd"),  # not above the root
        ("../../etc/passwd", "../../etc/passwd"),  # a relative head's back-references stay
        ("a/../../b", "../b"),
        ("/a/b/", "/a/b/"),  # a trailing slash stays only when there was one
    ],
)
def test_normalize_path(text, expected):
    assert t.normalize_path(text) == expected


def test_normalize_path_win_reads_backslashes_as_slashes():
    assert t.normalize_path_win("c:\\a\\..\\b") == "c:/b"


@pytest.mark.parametrize(
    ("function", "text", "expected"),
    [
        (t.replace_comments, "a/*x*/b/*c", "a b "),  # re_tfns: each comment, and an open one, becomes a space
        (t.remove_comments_char, "a/*b*/c--d#e<!--f-->", "abcdef"),
        (t.remove_comments, "a/*b*/c -- d", "ac "),  # everything from -- goes
        (t.remove_whitespace, " a\tb\xa0c ", "abc"),
        (t.remove_nulls, "a\0b", "ab"),  # tfn removeNulls
        (t.replace_nulls, "a\0b", "a b"),
        (t.lowercase, "AbC\xc9", "abc\xc9"),  # tolower in the C locale: ASCII only
        (t.base64_decode, "VGVzdENhc2U=", "TestCase"),  # tfn base64Decode
        (t.base64_decode, "VGVzdENhc2U.junk", "TestCase"),  # stops at the first non-base64 character
        (t.base64_decode_ext, "VGVz.dENh c2U=", "TestCase"),  # skips them
        (t.hex_decode, "5465737443617365", "TestCase"),  # tfn hexDecode
        (t.hex_encode, "Te", "5465"),
        (t.trim, " \t a b \n", "a b"),
        (t.trim_left, "  a ", "a "),
        (t.trim_right, "  a ", "  a"),
        (t.url_encode, "a b/é", "a+b%2f%e9"),
    ],
)
def test_small_transforms(function, text, expected):
    assert function(text) == expected


def test_length_counts_bytes():
    assert t.TRANSFORMS["length"]("TestCase") == "8"  # tfn length
    assert t.TRANSFORMS["length"]("caf\xc3\xa9") == "5"


def test_a_chain_applies_in_order():
    assert t.chain(("urldecodeuni", "htmlentitydecode", "lowercase"))("%26lt;SCRIPT%26gt;") == "<script>"


@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=200))
def test_every_transform_takes_any_bytes_and_gives_bytes(text):
    for name, function in t.TRANSFORMS.items():
        result = function(text)
        assert all(ord(char) < 256 for char in result), name


# Values made of what logs hold, the marks of UNCHANGED_WITHOUT among them, so that both sides of the
# property are reached often.
LOGGED_TEXT = st.text(alphabet=st.sampled_from("aZ09/._-?=&%+;:,'\"\\^*#<> \t\x00\xa0\xc3\xa9!(){}|$~"), max_size=60)


@pytest.mark.parametrize("name", sorted(t.UNCHANGED_WITHOUT))
@given(text=LOGGED_TEXT | st.text(alphabet=st.characters(max_codepoint=255), max_size=60))
def test_a_value_without_a_transforms_marks_is_unchanged_by_it(name, text):
    if t.marks(text).isdisjoint(t.UNCHANGED_WITHOUT[name]):
        assert t.TRANSFORMS[name](text) == text


def test_a_chain_has_marks_only_when_each_of_its_transforms_has():
    assert t.unchanged_without(("urldecodeuni", "lowercase")) == frozenset("%+") | t.UPPER
    assert t.unchanged_without(("urldecodeuni", "base64decode")) is None
