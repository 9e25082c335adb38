"""What kind a shared file is, from what Slack says of it (mimetype, filetype, name)."""

from __future__ import annotations

from bot.core.files import FileKind

IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
# Office files and PDFs go to Claude as document blocks (Bedrock Converse's formats; csv, html,
# txt and md are read inline as text instead, which every provider can take).
DOCUMENT_FORMATS = frozenset({"pdf", "doc", "docx", "xls", "xlsx"})
_DOCUMENT_MIMETYPES = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_TEXT_MIMETYPES = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-javascript",
    "application/x-yaml", "application/yaml", "application/x-sh", "application/x-shellscript",
    "application/sql", "application/toml", "application/x-ndjson", "image/svg+xml",
})
# Slack's filetypes for snippets and source code (files.info `filetype`), and common
# extensions of text files Slack labels application/octet-stream.
_TEXT_TYPES = frozenset({
    "text", "txt", "md", "markdown", "csv", "tsv", "json", "yaml", "yml", "xml", "html", "css",
    "log", "diff", "patch", "ini", "toml", "sql", "sh", "bash", "zsh", "shell", "powershell",
    "python", "py", "javascript", "js", "typescript", "ts", "jsx", "tsx", "java", "kotlin", "kt",
    "go", "rust", "rs", "ruby", "rb", "php", "perl", "c", "cpp", "h", "hpp", "csharp", "cs",
    "swift", "scala", "haskell", "lua", "r", "dart", "elixir", "erlang", "clojure", "groovy",
    "dockerfile", "makefile", "terraform", "tf", "graphql", "proto", "svg", "vb", "matlab",
})


def extension_of(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def document_format(*, mimetype: str, filetype: str, name: str) -> str:
    """The document format ("pdf", "docx", …) of an office file or PDF; "" for anything else."""
    for candidate in (filetype.lower(), extension_of(name)):
        if candidate in DOCUMENT_FORMATS:
            return candidate
    return _DOCUMENT_MIMETYPES.get(mimetype.lower(), "")


def kind_of(*, mimetype: str, filetype: str, name: str) -> FileKind:
    mimetype = mimetype.lower().split(";", 1)[0].strip()
    if mimetype in _TEXT_MIMETYPES or mimetype.startswith("text/"):
        return "text"
    if mimetype.startswith("image/"):
        return "image"
    if document_format(mimetype=mimetype, filetype=filetype, name=name):
        return "document"
    if filetype.lower() in _TEXT_TYPES or extension_of(name) in _TEXT_TYPES:
        return "text"
    if filetype.lower() in ("png", "jpg", "jpeg", "gif", "webp", "bmp", "tiff"):
        return "image"
    return "other"
