"""Administrator-adjustable layout data: hall, authority, seal, wording per document and per matter.

The bundled TOML files in ``resources/templates/`` (``hall.toml``, ``documents.toml``,
``matters.toml``) are the defaults. A hall overrides any key by putting a file of the same name in
its own templates folder (``load_templates(override_dir)``); tables merge key by key, so an override
file holds only what differs. Wording is Chinese official text and is printed as written, whatever
the interface language. Placeholders are ``str.format`` fields filled from the case.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clerk_app.documents.dto import DocType
from clerk_app.i18n import _
from clerk_app.paths import resource

_FILES = ("hall.toml", "documents.toml", "matters.toml")


class TemplateError(ValueError):
    """A template file that cannot be read or a placeholder that the case cannot fill."""


@dataclass(frozen=True, slots=True)
class Hall:
    """The hall and issuing authority (``hall.toml``)."""

    hall_name: str
    authority: str
    contact_phone: str
    address: str
    review_body: str
    court: str
    slip_footer: str
    seal_image: Path | None  # a real file path, or None for a hand stamp


@dataclass(frozen=True, slots=True)
class Wording:
    """The wording of one document type, after per-matter overrides."""

    doc_type: DocType
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def text(self, key: str, default: str = "") -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str):
            raise TemplateError(_("模板项 {key} 应为文字").format(key=f"{self.doc_type}.{key}"))
        return value

    def lines(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key, ())
        if isinstance(value, str):
            return (value,) if value else ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise TemplateError(_("模板项 {key} 应为文字列表").format(key=f"{self.doc_type}.{key}"))
        return tuple(value)

    def flag(self, key: str) -> bool:
        return bool(self.values.get(key, False))

    @property
    def title(self) -> str:
        return self.text("title")

    @property
    def number_format(self) -> str:
        return self.text("number_format", "{seq}")


@dataclass(frozen=True, slots=True)
class Templates:
    """Everything the renderers read besides the DTO."""

    hall: Hall
    documents: Mapping[str, Mapping[str, Any]]
    matters: Mapping[str, Mapping[str, Mapping[str, Any]]]

    def wording(self, doc_type: DocType, matter_code: str = "") -> Wording:
        """The wording of ``doc_type``, with the matter's own keys replacing the general ones."""
        merged = dict(self.documents.get(doc_type.value, {}))
        if matter_code:
            merged.update(self.matters.get(matter_code, {}).get(doc_type.value, {}))
        return Wording(doc_type, MappingProxyType(merged))


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled; a placeholder the case lacks is a TemplateError."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(
            _("模板占位符无法填写：{detail}（模板：{template}）").format(detail=exc, template=template)
        ) from exc


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(_("模板文件 {name} 格式错误：{detail}").format(name=name, detail=exc)) from exc


def _seal_path(value: str, override_dir: Path | None) -> Path | None:
    if not value:
        return None
    candidate = Path(value)
    if candidate.is_absolute():
        return candidate
    if override_dir is not None and (override_dir / value).is_file():
        return override_dir / value
    bundled = resource("templates", value)
    if isinstance(bundled, Path):
        return bundled
    raise TemplateError(_("印章图片不在文件系统中：{name}").format(name=value))


def load_templates(override_dir: Path | None = None) -> Templates:
    """Read the bundled templates and merge the hall's overrides from ``override_dir`` (if given)."""
    data: dict[str, dict[str, Any]] = {}
    for name in _FILES:
        merged = _read(resource("templates", name).read_text(encoding="utf-8"), name)
        if override_dir is not None and (override_dir / name).is_file():
            merged = _merge(merged, _read((override_dir / name).read_text(encoding="utf-8"), name))
        data[name] = merged
    hall = data["hall.toml"]
    try:
        hall_info = Hall(
            hall_name=str(hall["hall_name"]),
            authority=str(hall["authority"]),
            contact_phone=str(hall.get("contact_phone", "")),
            address=str(hall.get("address", "")),
            review_body=str(hall.get("review_body", "")),
            court=str(hall.get("court", "")),
            slip_footer=str(hall.get("slip_footer", "")),
            seal_image=_seal_path(str(hall.get("seal_image", "")), override_dir),
        )
    except KeyError as exc:
        raise TemplateError(_("hall.toml 缺少必填项：{key}").format(key=exc)) from exc
    if hall_info.seal_image is not None and not hall_info.seal_image.is_file():
        raise TemplateError(_("找不到印章图片：{path}").format(path=hall_info.seal_image))
    return Templates(
        hall=hall_info,
        documents=MappingProxyType(data["documents.toml"]),
        matters=MappingProxyType(data["matters.toml"].get("matters", {})),
    )
