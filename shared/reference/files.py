"""Reading the reference data files: safe YAML where floats are exact Decimals and a repeated key is an
error, and validation errors turned into one `ReferenceDataError` naming the file and the field."""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shared.reference.calendars import error_lines


class ReferenceDataError(ValueError):
    """A reference data file is missing or broken; the message names the file and the field."""


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML where floats are Decimals (coefficients) and a repeated key is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return loader.construct_yaml_float(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:float", _decimal)

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file; ReferenceDataError naming the file otherwise."""
    try:
        with path.open(encoding="utf-8") as stream:  # the stream's name goes into YAML error marks
            document = yaml.load(stream, Loader=_YamlLoader)
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ReferenceDataError(f"{path}: expected a mapping at the top level, found {type(document).__name__}")
    return document


def describe(error: ValidationError, path: Path, where: str) -> ReferenceDataError:
    """One line per problem: `<file>: <where>.<field>: <message> (got <value>)`."""
    lines = [f"{path}: {f'{where}.{loc}'.strip('.') or 'top level'}: {detail}" for loc, detail in error_lines(error)]
    return ReferenceDataError("\n".join(lines))


def validate(model: type[M], data: object, path: Path, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe(exc, path, where) from None
