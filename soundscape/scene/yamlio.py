"""YAML 1.2 reading that remembers where every key and value came from.

We compose ruamel.yaml's node tree ourselves instead of constructing Python
objects, so that every value keeps its file:line:col, duplicate keys are
reported with both positions, and alias bombs or absurd nesting are refused
before they cost memory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from ..errors import Diagnostic, Pos, SceneError

MAX_FILE_BYTES = 1_000_000
"""A scene is a few kB; a megabyte is a mistake or an attack."""
MAX_NODES = 50_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # YAML 1.2's line breaks (not NEL, LS or PS)
# ...which ruamel's scanner still ends a line at (YAML 1.1), while positions and editors don't.
_OLD_BREAKS = {"\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}
_OLD_BREAK = re.compile("[\x85\u2028\u2029]")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``, lines counted as YAML counts them."""
    line = len(_LINE_BREAK.findall(text, 0, offset)) + 1
    return line, offset - max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset))


def source_lines(text: str) -> list[str]:
    """The lines of a scene's text as diagnostics count them (``str.splitlines`` would also
    split at NEL, LS, PS, form feeds…, and show the wrong line)."""
    return _LINE_BREAK.split(text)


@dataclass
class Document:
    """Plain data from one YAML file plus the position of every path in it."""

    file: str
    data: Any
    text: str
    values: dict[PathKey, Pos] = field(default_factory=dict)
    keys: dict[PathKey, Pos] = field(default_factory=dict)


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a scene file as UTF-8 (BOM allowed), with errors that say what to do."""
    file = str(path)
    try:
        if path.is_dir():
            raise SceneError.single(file, "is a folder, not a scene file", code="SC003")
        size = path.stat().st_size
        if size > max_bytes:
            raise SceneError.single(
                file,
                f"file is {size:,} bytes; a scene may be at most {max_bytes:,} bytes",
                code="SC003",
                hint="split sounds into an included file, or check this is the right file",
            )
        raw = path.read_bytes()
    except OSError as e:
        raise SceneError.single(
            file, f"cannot read file: {e.strerror or e}", code="SC003"
        ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and raw[1:2] == b"\x00"):
        raise SceneError.single(
            file, "file is UTF-16; save scene files as UTF-8", code="SC001", hint="re-save as UTF-8"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        # Columns count characters, as editors do, not bytes.
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        col = len(raw[line_start : e.start].decode("utf-8", errors="replace")) + 1
        raise SceneError(
            [
                Diagnostic(
                    Pos(file, line, col),
                    f"invalid UTF-8 byte 0x{raw[e.start]:02x}",
                    code="SC001",
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise SceneError(
            [Diagnostic(Pos(file, line, col), "NUL byte in a text file", code="SC001")]
        )
    return text


def _flow_depth_error(text: str, file: str) -> SceneError | None:
    """Refuse absurd ``[[[[…`` nesting before the recursive composer spends seconds on it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    line, col = 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return SceneError(
                    [
                        Diagnostic(
                            Pos(file, line, col),
                            f"nesting deeper than {MAX_DEPTH} levels",
                            code="SC001",
                            hint="scenes are shallow; check for unbalanced brackets",
                        )
                    ]
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


_CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}


def parse(text: str, file: str) -> Document:
    """Parse YAML 1.2 text into a `Document`, or raise `SceneError` with positions."""
    deep = _flow_depth_error(text, file)
    if deep is not None:
        raise deep
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        odd = _old_break_before(text, getattr(mark, "index", None), file)
        if odd is not None:
            raise SceneError([odd]) from None
        msg = (e.problem or e.context or "invalid YAML").strip()
        pos = Pos(file, mark.line + 1, mark.column + 1) if mark else Pos(file, 1, 1)
        hint = "check indentation and quoting near this position"
        if "\t" in msg or "tab" in msg.lower():
            hint = "YAML indentation must use spaces, not tabs"
        raise SceneError(
            [Diagnostic(pos, f"YAML syntax error: {msg}", code="SC001", hint=hint)]
        ) from None
    except ReaderError as e:
        # A character YAML forbids (e.g. a control character): point at it.
        line, col = _line_col(text, e.position if isinstance(e.position, int) else 0)
        raise SceneError.single(
            file,
            f"YAML syntax error: character {_codepoint(e.character)} is not allowed in YAML",
            code="SC001",
            hint="remove it, or write it as an escape inside double quotes",
            line=line,
            col=col,
        ) from None
    except (YAMLError, RecursionError, ValueError) as e:
        raise SceneError.single(file, f"YAML syntax error: {e}", code="SC001") from None
    doc = Document(file=file, data=None, text=text)
    if node is None:
        doc.data = {}
        return doc
    builder = _Builder(doc)
    doc.data = builder.build(node, (), 0)
    return doc


def _old_break_before(text: str, at: int | None, file: str) -> Diagnostic | None:
    """A NEL/LS/PS on the line of a syntax error (or the line before) is almost surely its
    cause: the parser broke the line there, so say that instead of "expected <block end>"."""
    if not isinstance(at, int):
        return None
    start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at))
    start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) if start > 0 else start
    found = None
    for m in _OLD_BREAK.finditer(text, start + 1, at + 1):
        found = m
    if found is None:
        return None
    ch = found.group()
    return Diagnostic(
        Pos(file, *_line_col(text, found.start())),
        f"YAML syntax error: character {_codepoint(ch)} ({_OLD_BREAKS[ch]}) ends the line here "
        "for YAML parsers, though editors show one line",
        code="SC001",
        hint="replace it with a space or a real line break (it often comes from text pasted "
        "from a web page or a word processor)",
    )


def _codepoint(ch: object) -> str:
    code = ch if isinstance(ch, int) else ord(ch) if isinstance(ch, str) and len(ch) == 1 else None
    return f"U+{code:04X}" if code is not None else repr(ch)


def load_document(path: Path) -> Document:
    return parse(read_text(path), str(path))


def _pos(file: str, node: Node) -> Pos:
    m = node.start_mark
    return Pos(file, m.line + 1, m.column + 1)


_INT_BASES = {"0x": 16, "0o": 8}


def _scalar(node: ScalarNode) -> Any:
    tag, value = str(node.tag), node.value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        base = _INT_BASES.get(value[:2].lower(), 10)
        return int(value[2:] if base != 10 else value, base)
    if tag.endswith(":float"):
        low = value.lower().lstrip("+")
        if low in (".inf", "-.inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low == ".nan":
            return math.nan
        return float(value)
    return value


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0

    def fail(
        self, node: Node, msg: str, code: str = "SC001", hint: str | None = None
    ) -> SceneError:
        return SceneError([Diagnostic(_pos(self.doc.file, node), msg, code=code, hint=hint)])

    def text(self, node: ScalarNode) -> str:
        """The scalar's text; escapes like "\\ud83d\\ude00" become the character they pair into."""
        value = str(node.value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # YAML's \u escapes can spell UTF-16 surrogates; a lone one is no character
            # at all and would break every later encode, so refuse it here.
            try:
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise self.fail(
                    node,
                    "invalid character escape: a lone UTF-16 surrogate (\\ud800-\\udfff)",
                    hint="write the character itself, or its full \\U0001XXXX escape",
                ) from None
        return value

    def build(self, node: Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                f"document has more than {MAX_NODES:,} values (an alias bomb?)",
                hint="scenes are small; remove repeated aliases",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        self.doc.values[path] = _pos(self.doc.file, node)
        if isinstance(node, ScalarNode):
            if str(node.tag) in _CORE_TAGS or str(node.tag) == "!":
                node.value = self.text(node)
                return _scalar(node)
            raise self.fail(
                node,
                f"unsupported YAML tag '{node.tag}'",
                hint="scenes use plain values; remove the tag",
            )
        if not str(node.tag).endswith((":seq", ":map")):
            raise self.fail(node, f"unsupported YAML tag '{node.tag}'", hint="remove the tag")
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        raise self.fail(node, "unsupported YAML node")

    def mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        own = []
        # `<<: *anchor` fills in keys the mapping does not set itself; build the
        # merged ones first so the mapping's own keys and positions win.
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and str(knode.tag).endswith(":merge"):
                sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise self.fail(source, "'<<' merges only mappings")
                    out.update(self.mapping(source, path, depth + 1))
            else:
                own.append((knode, vnode))
        seen: dict[str, Pos] = {}
        for knode, vnode in own:
            if not isinstance(knode, ScalarNode):
                raise self.fail(knode, "mapping keys must be plain text")
            key = self.text(knode)
            kpos = _pos(self.doc.file, knode)
            if key in seen:
                raise SceneError(
                    [
                        Diagnostic(
                            kpos,
                            f"duplicate key '{key}' (first defined at line {seen[key].line})",
                            code="SC002",
                            hint="remove one of them; YAML keeps only one and the other is lost",
                        )
                    ]
                )
            seen[key] = kpos
            self.doc.keys[(*path, key)] = kpos
            out[key] = self.build(vnode, (*path, key), depth + 1)
        return out


def kind_name(value: Any) -> str:
    """What a parsed YAML value is, in the words an error message uses."""
    return {
        dict: "mapping",
        list: "list",
        str: "string",
        int: "number",
        float: "number",
        bool: "boolean",
        type(None): "null (empty value)",
    }.get(type(value), type(value).__name__)
