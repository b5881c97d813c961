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
import re
from collections.abc import Callable

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
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


URL_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}|\+")
URL_ESCAPE_UNI = re.compile(r"%[uU][0-9a-fA-F]{4}|%[0-9a-fA-F]{2}|\+")


def decode_url_escape(match: re.Match) -> str:
    escape = match.group()
    if escape == "+":
        return " "
    if len(escape) == 6:  # %uHHHH: the low byte (no unicode map configured), full-width ASCII folded
        return full_width(x2c(escape, 4), escape[2:4])
    return x2c(escape, 1)


def url_decode(text: str) -> str:
    """urlDecode: `%XX` when both are hex digits (else the `%` is kept), `+` is a space."""
    if "%" not in text and "+" not in text:
        return text
    return URL_ESCAPE.sub(decode_url_escape, text)


def url_decode_uni(text: str) -> str:
    """urlDecodeUni: urlDecode plus IIS `%uHHHH`, which keeps the low byte (no unicode map configured)."""
    if "%" not in text and "+" not in text:
        return text
    return URL_ESCAPE_UNI.sub(decode_url_escape, text)


HTML_ENTITY = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([0-9A-Za-z]+));?")
HTML_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">", "nbsp": NBSP}


def html_entity_decode(text: str) -> str:
    """htmlEntityDecode: `&#DDD;`, `&#xHH;` (the `;` optional, the value cut to a byte) and five names."""
    if "&" not in text:
        return text
    return HTML_ENTITY.sub(decode_entity, text)


def decode_entity(match: re.Match) -> str:
    hex_digits, decimal, name = match.groups()
    if name is not None:
        return HTML_NAMED.get(name.lower(), match.group())
    # strtol saturates at LONG_MAX on overflow; the cast to unsigned char keeps the low byte (0xFF then).
    value = int(hex_digits, 16) if hex_digits is not None else int(decimal)
    return chr(min(value, 2**63 - 1) & 0xFF)


# Octal: three digits only while the value stays one byte (\000-\377), as ModSecurity's C does.
JS_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-3][0-7]{0,2}|[4-7][0-7]?)|(.))", re.DOTALL)
JS_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def js_decode(text: str) -> str:
    """jsDecode: `\\uHHHH` (low byte, full-width fold), `\\xHH`, `\\OOO` (one byte), `\\n`-style, `\\C` → C."""
    if "\\" not in text:
        return text
    return JS_ESCAPE.sub(decode_js_escape, text)


def decode_js_escape(match: re.Match) -> str:
    unicode, hex_byte, octal, other = match.groups()
    if unicode is not None:
        return full_width(x2c(unicode, 2), unicode[:2])
    if hex_byte is not None:
        return x2c(hex_byte, 0)
    if octal is not None:
        return chr(int(octal, 8))
    return JS_SIMPLE.get(other, other)


def css_decode(text: str) -> str:
    """cssDecode: `\\` + 1-6 hex digits (last byte kept; one following space eaten), `\\\\\\n` dropped, `\\C` → C."""
    if "\\" not in text:
        return text
    return CSS_ESCAPE.sub(decode_css_escape, text)


def decode_css_escape(match: re.Match) -> str:
    digits, other = match.groups()
    if digits is not None:
        return css_escape_byte(digits)
    return "" if other is None or other == "\n" else other


CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\v\f\r]?|(.)|\Z)", re.DOTALL)


def css_escape_byte(digits: str) -> str:
    """The byte a CSS hex escape of 1-6 digits decodes to in ModSecurity: its last two digits."""
    if len(digits) == 1:
        return chr(int(digits, 16))
    byte = x2c(digits, len(digits) - 2)
    fold = len(digits) == 4 or (len(digits) == 5 and digits[0] == "0") or (len(digits) == 6 and digits[:2] == "00")
    return full_width(byte, digits[-4:-2]) if fold else byte


ANSI_SIMPLE = {**JS_SIMPLE, "\\": "\\", "?": "?", "'": "'", '"': '"'}
ANSI_ESCAPE = re.compile(r"\\(?:([abfnrtv\\?'\"])|[xX]([0-9a-fA-F]{2})|([0-7]{1,3})|(.))", re.DOTALL)


def escape_seq_decode(text: str) -> str:
    """escapeSeqDecode: ANSI C escapes; an unknown `\\C` keeps C (the backslash goes), as ModSecurity's C does."""
    if "\\" not in text:
        return text
    return ANSI_ESCAPE.sub(decode_ansi_escape, text)


def decode_ansi_escape(match: re.Match) -> str:
    simple, hex_byte, octal, other = match.groups()
    if simple is not None:
        return ANSI_SIMPLE[simple]
    if hex_byte is not None:
        return x2c(hex_byte, 0)
    if octal is not None:
        return chr(int(octal, 8) & 0xFF)
    return other


CMD_DROPPED = re.compile(r"[\"'\\^]")
CMD_SPACES = re.compile(r"[ ,;\t\r\n]+")
CMD_SPACE_BEFORE = re.compile(r" (?=[/(])")


def cmd_line(text: str) -> str:
    """cmdLine: drop `\\ " ' ^`, fold `space , ; tab CR LF` runs to one space, no space before `/` or `(`, lowercase.
    The C walks the value as a C string (`for (; *input; input++)`): it ends at the first NUL."""
    text = CMD_DROPPED.sub("", text.split("\0", 1)[0])
    text = CMD_SPACES.sub(" ", text)
    return CMD_SPACE_BEFORE.sub("", text).translate(ASCII_LOWER)


WHITESPACE = re.compile(r"[ \t\n\v\f\r\xa0]+")


def compress_whitespace(text: str) -> str:
    return WHITESPACE.sub(" ", text)


def remove_whitespace(text: str) -> str:
    return WHITESPACE.sub("", text)


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


COMMENT_MARKS = re.compile(r"/\*|\*/|<!--|-->|--|#")


def remove_comments_char(text: str) -> str:
    """removeCommentsChar: removes the comment marks themselves (`/*`, `*/`, `<!--`, `-->`, `--`, `#`)."""
    return COMMENT_MARKS.sub("", text)


C_COMMENT = re.compile(r"/\*(?:.*?\*/|.*\Z)", re.DOTALL)


def replace_comments(text: str) -> str:
    """replaceComments: each `/* ... */` becomes one space; an unterminated one also (to the end)."""
    if "/*" not in text:
        return text
    return C_COMMENT.sub(" ", text)


def normalize_path(text: str, win: bool = False) -> str:
    """normalizePath: collapse `//`, drop `/./`, resolve `/../` (not above the root); ports normalize_path_inplace."""
    if win:
        text = text.replace("\\", "/")
    if "//" not in text and "." not in text:
        return text
    out = list(text)  # in place, as the C: `dst` never passes `src`
    end = len(out) - 1
    relative = not text.startswith("/")
    trailing = text.endswith("/")
    src = dst = 0
    hit_root = done = False
    while not done and src <= end and dst <= end:
        if src == end:
            done = True
        elif out[src + 1] != "/":
            src, dst = copy_path_byte(out, src, dst, end, relative)
            continue
        if src != end and out[src] == "/":
            pass  # an empty segment: the copy skips the repeated slashes
        elif out[src] == ".":
            if dst > 0 and out[dst - 1] == ".":  # a back-reference
                if relative and (hit_root or dst - 2 <= 0):
                    hit_root = True
                    src, dst = copy_path_byte(out, src, dst, end, relative)
                    continue
                dst -= 3
                while dst > 0 and out[dst] != "/":
                    dst -= 1
                if dst <= 0:
                    hit_root, dst = True, 0
                    if not relative and src == end:
                        dst += 1
                if done:
                    break
                src += 1
            elif dst == 0:  # a relative self-reference
                if done:
                    break
                src += 1
            elif out[dst - 1] == "/":  # a self-reference
                if done:
                    break
                dst -= 1
                src += 1
        elif dst > 0:
            hit_root = False
        src, dst = copy_path_byte(out, src, dst, end, relative)
    if not trailing and dst > 0 and out[dst - 1] == "/":
        dst -= 1
    return "".join(out[:dst])


def copy_path_byte(out: list[str], src: int, dst: int, end: int, relative: bool) -> tuple[int, int]:
    """The C's `copy:` label: skip to the last of repeated slashes, drop a relative path's leading one, copy."""
    if src > end:
        return src, dst
    if out[src] == "/":
        while src < end and out[src + 1] == "/":
            src += 1
        if relative and dst == 0:
            return src + 1, dst
    out[dst] = out[src]
    return src + 1, dst + 1


def normalize_path_win(text: str) -> str:
    return normalize_path(text, win=True)


def remove_nulls(text: str) -> str:
    return text.replace("\0", "")


def replace_nulls(text: str) -> str:
    return text.replace("\0", " ")


# A UTF-8 sequence by its lead byte's bits, or a lead byte that starts none (the last alternative).
UTF8_SEQUENCE = re.compile("[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3}|[\xc0-\xf7]")
UTF8_SHORTEST = {2: 0x80, 3: 0x800, 4: 0x10000}  # below these, a sequence is overlong


def utf8_to_unicode(text: str) -> str:
    """utf8toUnicode: each 2-4 byte UTF-8 sequence becomes `%uHHHH` (lowercase hex, at least four digits)."""
    if text.isascii():
        return text.split("\0", 1)[0]
    return UTF8_SEQUENCE.sub(percent_u, text).split("\0", 1)[0]  # its length is the C's strlen: cut at a NUL


def percent_u(match: re.Match) -> str:
    """One sequence as ModSecurity's utf8_unicode_inplace_ex writes it, quirks kept: an overlong or surrogate
    sequence is decoded and then its lead byte repeated (C0 AE → `%u002e` + C0); a lead byte that starts no
    sequence is dropped (F5-F7 kept); the four-byte case reads its third byte as `(b & 0x3F) < 6`, a 0 or 1."""
    sequence = [ord(char) for char in match.group()]
    lead = sequence[0]
    prefix = chr(lead) if lead >= 0xF5 else ""
    if len(sequence) == 1:
        return prefix
    if len(sequence) == 2:
        code = ((lead & 0x1F) << 6) | (sequence[1] & 0x3F)
    elif len(sequence) == 3:
        code = ((lead & 0x0F) << 12) | ((sequence[1] & 0x3F) << 6) | (sequence[2] & 0x3F)
    else:
        code = (
            ((lead & 0x07) << 18) | ((sequence[1] & 0x3F) << 12) | int((sequence[2] & 0x3F) < 6) | (sequence[3] & 0x3F)
        )
    suffix = chr(lead) if 0xD800 <= code <= 0xDFFF else ""
    suffix += chr(lead) if code < UTF8_SHORTEST[len(sequence)] else ""
    return f"{prefix}%u{code:04x}{suffix}"


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


# For each transformation that has one: marks whose absence from a value leaves it unchanged (a mark is one
# character, or two for the two-character triggers `//` and `--`; see `marks`). Most logged values hold few
# of them, so most chains need not run at all; the property is tested on any text.
UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SPACES = frozenset(" \t\n\v\f\r\xa0")
NON_ASCII = frozenset(map(chr, range(0x80, 0x100)))
COMMENT_MARK_PARTS = frozenset({"*", "<", "#", "--"})
UNCHANGED_WITHOUT: dict[str, frozenset[str]] = {
    "lowercase": UPPER,
    "urldecode": frozenset("%+"),
    "urldecodeuni": frozenset("%+"),
    "htmlentitydecode": frozenset("&"),
    "jsdecode": frozenset("\\"),
    "cssdecode": frozenset("\\"),
    "escapeseqdecode": frozenset("\\"),
    "cmdline": UPPER | frozenset("\"'\\^ ,;\t\r\n\0"),
    "compresswhitespace": SPACES,
    "removewhitespace": SPACES,
    "removenulls": frozenset("\0"),
    "replacenulls": frozenset("\0"),
    "removecomments": COMMENT_MARK_PARTS,
    "removecommentschar": COMMENT_MARK_PARTS,
    "replacecomments": frozenset("*"),
    "normalizepath": frozenset({".", "//"}),
    "normalisepath": frozenset({".", "//"}),
    "normalizepathwin": frozenset({".", "//", "\\"}),
    "normalisepathwin": frozenset({".", "//", "\\"}),
    "utf8tounicode": NON_ASCII | frozenset("\0"),
}


def marks(text: str) -> frozenset[str]:
    """The characters of `text`, and `//` and `--` when it holds them: what UNCHANGED_WITHOUT is checked against."""
    found = set(text)
    if "//" in text:
        found.add("//")
    if "--" in text:
        found.add("--")
    return frozenset(found)


def unchanged_without(names: tuple[str, ...]) -> frozenset[str] | None:
    """The marks whose absence leaves a value unchanged by the whole chain; None when one of its
    transformations has no such marks (a decoder of plain text: base64, hex; a digest)."""
    if not all(name in UNCHANGED_WITHOUT for name in names):
        return None
    return frozenset().union(*(UNCHANGED_WITHOUT[name] for name in names))


def chain(names: tuple[str, ...]) -> Callable[[str], str]:
    """The transformations named (lowercase, `none` already removed) applied in order."""
    functions = [TRANSFORMS[name] for name in names]

    def apply(text: str) -> str:
        for function in functions:
            text = function(text)
        return text

    return apply


def stages(names: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """For `multiMatch`: the value before any transformation, then after each one that changed it."""
    functions = [TRANSFORMS[name] for name in names]

    def apply(text: str) -> tuple[str, ...]:
        values = [text]
        for function in functions:
            changed = function(text)
            if changed != text:
                values.append(changed)
            text = changed
        return tuple(values)

    return apply
