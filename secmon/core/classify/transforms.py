"""ModSecurity 2.9's transformation functions (`t:`), as CRS rules name them.

Each function takes and returns a *byte string held in a str*: every character is one byte
(U+0000-U+00FF, i.e. `bytes.decode("latin-1")`). ModSecurity works on bytes, and so do the rule
regexes (RE2 in Latin-1 mode, see crs.py); keeping bytes as latin-1 text lets the decoders below be
plain string code while `%C3%A9` still decodes to the two bytes C3 A9, as in ModSecurity.

The decoders are ports of ModSecurity v2's own C (apache2/msc_util.c: urldecode_nonstrict_inplace_ex,
urldecode_uni_nonstrict_inplace_ex, html_entities_decode_inplace, js_decode_nonstrict_inplace,
css_decode_inplace, ansi_c_sequences_decode_inplace, normalize_path_inplace; apache2/re_tfns.c for
the rest), quirks included: a decoder that is lenient in ModSecurity (an invalid `%zz` is kept as
is) is lenient here, because the rules were written against that behaviour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
OCTAL_DIGITS = frozenset("01234567")
# C's isspace() in the "C" locale; ModSecurity's whitespace transforms also treat NBSP (0xA0) as space.
C_SPACE = frozenset(" \t\n\v\f\r")
NBSP = "\xa0"
ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def x2c(text: str, at: int) -> str:
    """ModSecurity's x2c: two characters read as a hex byte, without validation (as in C)."""
    value = 0
    for char in text[at : at + 2]:
        code = ord(char)
        value = value * 16 + (((code & 0xDF) - 65 + 10) if code >= 65 else (code - 48))
    return chr(value & 0xFF)


def full_width(byte: str, high: str) -> str:
    """Full-width ASCII (U+FF01-U+FF5E) keeps its low byte plus 0x20, as ModSecurity's %u and \\u decoders do."""
    if high in ("ff", "fF", "Ff", "FF") and 0 < ord(byte) < 0x5F:
        return chr(ord(byte) + 0x20)
    return byte


def lowercase(text: str) -> str:
    return text.translate(ASCII_LOWER)  # tolower() in the C locale: ASCII only


def url_decode(text: str) -> str:
    """urlDecode: `%XX` when both are hex digits (else the `%` is kept), `+` is a space."""
    if "%" not in text and "+" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if char == "%" and i + 2 < n + 0 and text[i + 1] in HEX_DIGITS and text[i + 2] in HEX_DIGITS:
            out.append(x2c(text, i + 1))
            i += 3
            continue
        out.append(" " if char == "+" else char)
        i += 1
    return "".join(out)


def url_decode_uni(text: str) -> str:
    """urlDecodeUni: urlDecode plus IIS `%uHHHH`, which keeps the low byte (no unicode map configured)."""
    if "%" not in text and "+" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if char == "%" and i + 1 < n and text[i + 1] in "uU":
            if i + 5 < n and all(c in HEX_DIGITS for c in text[i + 2 : i + 6]):
                out.append(full_width(x2c(text, i + 4), text[i + 2 : i + 4]))
                i += 6
            else:
                out.append(text[i : i + 2])
                i += 2
            continue
        if char == "%" and i + 2 < n and text[i + 1] in HEX_DIGITS and text[i + 2] in HEX_DIGITS:
            out.append(x2c(text, i + 1))
            i += 3
            continue
        out.append(" " if char == "+" else char)
        i += 1
    return "".join(out)


HTML_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">", "nbsp": NBSP}


def html_entity_decode(text: str) -> str:
    """htmlEntityDecode: `&#DDD;`, `&#xHH;` (the `;` optional, the value cut to a byte) and five names."""
    if "&" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        decoded, end = decode_entity(text, i) if text[i] == "&" else (None, i)
        if decoded is None:
            out.append(text[i])
            i += 1
            continue
        out.append(decoded)
        i = end + 1 if end < n and text[end] == ";" else end
    return "".join(out)


def decode_entity(text: str, at: int) -> tuple[str | None, int]:
    """The entity starting at `&` at `at`: (its byte, where its digits or name end), or (None, at)."""
    n, j = len(text), at + 1
    if j < n and text[j] == "#":
        j += 1
        base, digits = 10, "0123456789"
        if j < n and text[j] in "xX":
            j += 1
            base, digits = 16, HEX_DIGITS
        start = j
        while j < n and text[j] in digits:
            j += 1
        if j == start:
            return None, at
        # strtol saturates at LONG_MAX on overflow; the cast to unsigned char keeps its low byte (0xFF).
        value = min(int(text[start:j], base), 2**63 - 1)
        return chr(value & 0xFF), j
    start = j
    while j < n and text[j].isascii() and text[j].isalnum():
        j += 1
    named = HTML_NAMED.get(text[start:j].lower()) if j > start else None
    return (named, j) if named is not None else (None, at)


JS_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def js_decode(text: str) -> str:
    """jsDecode: `\\uHHHH` (low byte, full-width fold), `\\xHH`, `\\OOO`, `\\n`-style, `\\C` → C."""
    if "\\" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] != "\\":
            out.append(text[i])
            i += 1
        elif i + 5 < n and text[i + 1] == "u" and all(c in HEX_DIGITS for c in text[i + 2 : i + 6]):
            out.append(full_width(x2c(text, i + 4), text[i + 2 : i + 4]))
            i += 6
        elif i + 3 < n and text[i + 1] == "x" and text[i + 2] in HEX_DIGITS and text[i + 3] in HEX_DIGITS:
            out.append(x2c(text, i + 2))
            i += 4
        elif i + 1 < n and text[i + 1] in OCTAL_DIGITS:
            digits = octal_run(text, i + 1)
            if len(digits) == 3 and digits[0] > "3":  # only one byte: \000-\377
                digits = digits[:2]
            out.append(chr(int(digits, 8)))
            i += 1 + len(digits)
        elif i + 1 < n:
            out.append(JS_SIMPLE.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i:])
            i = n
    return "".join(out)


def octal_run(text: str, at: int) -> str:
    """Up to three octal digits from `at` (the first is known to be one)."""
    end = at + 1
    while end < len(text) and end < at + 3 and text[end] in OCTAL_DIGITS:
        end += 1
    return text[at:end]


def css_decode(text: str) -> str:
    """cssDecode: `\\` + 1-6 hex digits (last byte kept; one following space eaten), `\\\\\\n` dropped, `\\C` → C."""
    if "\\" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] != "\\":
            out.append(text[i])
            i += 1
            continue
        if i + 1 >= n:  # a backslash at the end is dropped (continuation to nothing)
            i += 1
            continue
        i += 1
        j = 0
        while j < 6 and i + j < n and text[i + j] in HEX_DIGITS:
            j += 1
        if j == 0:
            if text[i] != "\n":
                out.append(text[i])
            i += 1
            continue
        out.append(css_escape_byte(text[i : i + j]))
        if i + j < n and text[i + j] in C_SPACE:
            j += 1
        i += j
    return "".join(out)


def css_escape_byte(digits: str) -> str:
    """The byte a CSS hex escape of 1-6 digits decodes to in ModSecurity: its last two digits."""
    if len(digits) == 1:
        return chr(int(digits, 16))
    byte = x2c(digits, len(digits) - 2)
    fold = len(digits) == 4 or (len(digits) == 5 and digits[0] == "0") or (len(digits) == 6 and digits[:2] == "00")
    return full_width(byte, digits[-4:-2]) if fold else byte


ANSI_SIMPLE = {**JS_SIMPLE, "\\": "\\", "?": "?", "'": "'", '"': '"'}


def escape_seq_decode(text: str) -> str:
    """escapeSeqDecode: ANSI C escapes; an unknown `\\C` keeps C (the backslash goes), as ModSecurity's C does."""
    if "\\" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] != "\\" or i + 1 >= n:
            out.append(text[i])
            i += 1
            continue
        follower = text[i + 1]
        if follower in ANSI_SIMPLE:
            out.append(ANSI_SIMPLE[follower])
            i += 2
        elif follower in "xX" and i + 3 < n and text[i + 2] in HEX_DIGITS and text[i + 3] in HEX_DIGITS:
            out.append(x2c(text, i + 2))
            i += 4
        elif follower in OCTAL_DIGITS:
            digits = octal_run(text, i + 1)
            out.append(chr(int(digits, 8) & 0xFF))
            i += 1 + len(digits)
        else:
            out.append(follower)
            i += 2
    return "".join(out)


def cmd_line(text: str) -> str:
    """cmdLine: drop `\\ " ' ^`, fold `space , ; tab CR LF` runs to one space, no space before `/` or `(`, lowercase."""
    out: list[str] = []
    space = False
    for char in text:
        if char in "\"'\\^":
            continue
        if char in " ,;\t\r\n":
            if not space:
                out.append(" ")
                space = True
            continue
        if char in "/(":
            if space:
                out.pop()
            space = False
            out.append(char)
            continue
        out.append(char.translate(ASCII_LOWER))
        space = False
    return "".join(out)


def compress_whitespace(text: str) -> str:
    out: list[str] = []
    in_space = False
    for char in text:
        if char in C_SPACE or char == NBSP:
            if not in_space:
                out.append(" ")
            in_space = True
        else:
            out.append(char)
            in_space = False
    return "".join(out)


def remove_whitespace(text: str) -> str:
    return "".join(char for char in text if char not in C_SPACE and char != NBSP)


def remove_comments(text: str) -> str:
    """removeComments: drops `/* */` and `<!-- -->` comments, and everything from `--` or `#`."""
    out, i, n, in_comment = [], 0, len(text), False
    while i < n:
        if in_comment:
            if text.startswith("*/", i) or text.startswith("-->", i):
                i += 2 if text[i] == "*" else 3
                in_comment = False
                out.append(text[i : i + 1])  # ModSecurity copies the byte after the comment unexamined
                i += 1
            else:
                i += 1
        elif text.startswith("/*", i) or text.startswith("<!--", i):
            i += 2 if text[i] == "/" else 4
            in_comment = True
        elif text.startswith("--", i) or text[i] == "#":
            break
        else:
            out.append(text[i])
            i += 1
    if in_comment:
        out.append(" ")
    return "".join(out)


COMMENT_MARKS = ("<!--", "-->", "/*", "*/", "--", "#")


def remove_comments_char(text: str) -> str:
    """removeCommentsChar: removes the comment marks themselves (`/*`, `*/`, `<!--`, `-->`, `--`, `#`)."""
    out, i, n = [], 0, len(text)
    while i < n:
        mark = next((m for m in COMMENT_MARKS if text.startswith(m, i)), None)
        if mark:
            i += len(mark)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def replace_comments(text: str) -> str:
    """replaceComments: each `/* ... */` becomes one space; an unterminated one also (to the end)."""
    out, i, n, in_comment = [], 0, len(text), False
    while i < n:
        if not in_comment and text.startswith("/*", i):
            in_comment, i = True, i + 2
        elif in_comment and text.startswith("*/", i):
            in_comment, i = False, i + 2
            out.append(" ")
        elif in_comment:
            i += 1
        else:
            out.append(text[i])
            i += 1
    if in_comment:
        out.append(" ")
    return "".join(out)


def normalize_path(text: str, win: bool = False) -> str:
    """normalizePath: collapse `//`, drop `/./`, resolve `/../` (not above the root), keep a relative head's `../`."""
    if not text:
        return text
    if win:
        text = text.replace("\\", "/")
    relative = not text.startswith("/")
    trailing = text.endswith("/")
    out: list[str] = []
    climbed_past_root = 0
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out and out[-1] != "..":
                out.pop()
            elif relative:
                out.append("..")
                climbed_past_root += 1
            continue
        out.append(segment)
    last = text.rsplit("/", 1)[-1]
    result = "/".join(out)
    if not relative:
        result = "/" + result
    if (trailing or last in (".", "..")) and out and not result.endswith("/"):
        result += "/" if trailing or not relative else ""
    return result


def normalize_path_win(text: str) -> str:
    return normalize_path(text, win=True)


def remove_nulls(text: str) -> str:
    return text.replace("\0", "")


def replace_nulls(text: str) -> str:
    return text.replace("\0", " ")


def utf8_to_unicode(text: str) -> str:
    """utf8toUnicode: each valid 2-4 byte UTF-8 sequence becomes `%uHHHH` (lowercase hex, at least four digits)."""
    if all(ord(char) < 0x80 for char in text):
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        byte = ord(text[i])
        width = 2 if 0xC0 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF8 else 1
        sequence = text[i : i + width]
        if width > 1 and len(sequence) == width and all(0x80 <= ord(c) < 0xC0 for c in sequence[1:]):
            code = byte & (0x1F, 0x0F, 0x07)[width - 2]
            for char in sequence[1:]:
                code = (code << 6) | (ord(char) & 0x3F)
            out.append(f"%u{code:04x}")
            i += width
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def base64_decode(text: str) -> str:
    """base64Decode: APR's decoder reads base64 characters up to the first one that is not (padding included)."""
    end = 0
    while end < len(text) and (text[end].isascii() and (text[end].isalnum() or text[end] in "+/")):
        end += 1
    data = text[:end]
    data = data[: len(data) - (len(data) % 4 == 1)]  # a lone trailing sextet carries no byte
    return base64.b64decode(data + "=" * (-len(data) % 4)).decode("latin-1")


def base64_decode_ext(text: str) -> str:
    """base64DecodeExt: like base64Decode, but skips characters that are not base64 (dots, spaces...)."""
    return base64_decode("".join(c for c in text if c.isascii() and (c.isalnum() or c in "+/")))


def hex_decode(text: str) -> str:
    """hexDecode: pairs read with x2c, unvalidated, an odd last character dropped (ModSecurity's hex2bytes_inplace)."""
    return "".join(x2c(text, i) for i in range(0, len(text) - 1, 2))


def hex_encode(text: str) -> str:
    return binascii.hexlify(text.encode("latin-1")).decode("ascii")


def url_encode(text: str) -> str:
    """urlEncode: ModSecurity's url_encode keeps letters, digits and `*-._`, writes space as `+`, escapes the rest."""
    out = []
    for char in text:
        if char.isascii() and (char.isalnum() or char in "*-._"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{ord(char):02x}")
    return "".join(out)


def digest(algorithm: str) -> Callable[[str], str]:
    return lambda text: hashlib.new(algorithm, text.encode("latin-1")).digest().decode("latin-1")


def trim_left(text: str) -> str:
    return text.lstrip(" \t\n\v\f\r")


def trim_right(text: str) -> str:
    return text.rstrip(" \t\n\v\f\r")


def trim(text: str) -> str:
    return trim_right(trim_left(text))


# By the lowercase name: ModSecurity resolves transformation names case-insensitively (t:base64decode).
TRANSFORMS: dict[str, Callable[[str], str]] = {
    "lowercase": lowercase,
    "urldecode": url_decode,
    "urldecodeuni": url_decode_uni,
    "htmlentitydecode": html_entity_decode,
    "jsdecode": js_decode,
    "cssdecode": css_decode,
    "cmdline": cmd_line,
    "compresswhitespace": compress_whitespace,
    "removewhitespace": remove_whitespace,
    "removenulls": remove_nulls,
    "replacenulls": replace_nulls,
    "removecomments": remove_comments,
    "removecommentschar": remove_comments_char,
    "replacecomments": replace_comments,
    "normalisepath": normalize_path,
    "normalizepath": normalize_path,
    "normalisepathwin": normalize_path_win,
    "normalizepathwin": normalize_path_win,
    "base64decode": base64_decode,
    "base64decodeext": base64_decode_ext,
    "hexdecode": hex_decode,
    "hexencode": hex_encode,
    "utf8tounicode": utf8_to_unicode,
    "escapeseqdecode": escape_seq_decode,
    "trim": trim,
    "trimleft": trim_left,
    "trimright": trim_right,
    "length": lambda text: str(len(text)),
    "sha1": digest("sha1"),
    "md5": digest("md5"),
    "urlencode": url_encode,
}


def chain(names: tuple[str, ...]) -> Callable[[str], str]:
    """The transformations named (lowercase, `none` already removed) applied in order."""
    functions = [TRANSFORMS[name] for name in names]

    def apply(text: str) -> str:
        for function in functions:
            text = function(text)
        return text

    return apply
