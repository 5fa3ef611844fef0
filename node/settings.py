"""The one typed settings object of the node (keys fixed by the architecture contract).

Loaded from a TOML file (``--config`` or ``SPINENODE_CONFIG``; UTF-8 with or without a BOM, UTF-16 or
Shift_JIS); every key can be overridden by an environment variable ``SPINENODE_<SECTION>__<KEY>``, list
sections by index (``SPINENODE_DESTINATIONS__0__HOST``) or whole as JSON or a TOML literal
(``SPINENODE_DESTINATIONS='[{"name": "pacs", ...}]'``). Values are parsed as TOML literals, then JSON, else
taken as strings. Unknown keys are an error that names the key and the closest known one.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from node.ris.endpoints import RisEndpointSettings
from node.routing.rules import RoutingSettings

ENV_PREFIX = "SPINENODE_"
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # default character repertoire, no backslash


class SettingsError(ValueError):
    """The settings are invalid; the message names the key."""


def _check_ae(value: str) -> str:
    if not _AE_RE.match(value) or not value.strip():
        raise ValueError(f"invalid AE title {value!r}: 1-16 printable characters, no backslash")
    return value.strip()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class NodeSettings(_Section):
    ae_title: str = "SPINENODE"
    host: str = "127.0.0.1"
    port: int = Field(11112, ge=0, le=65535)
    data_dir: Path = Path("./var")
    allowed_calling_aets: list[str] = Field(default_factory=list)
    stable_seconds: float = Field(10.0, ge=0)
    max_pdu: int = Field(0, ge=0, description="largest PDU the SCP accepts; 0 = unlimited")
    min_free_bytes: int = Field(512 * 1024 * 1024, ge=0, description="below this free space: 0xA700")
    retention_days: float = Field(0, ge=0, description="delete delivered originals after this; 0 keeps them")
    # what one peer may hold of the SCP (node.dicom.guard)
    acse_timeout_seconds: float = Field(5.0, gt=0, description="to complete an association, else closed")
    idle_timeout_seconds: float = Field(60.0, gt=0, description="an association silent this long is aborted")
    max_associations: int = Field(32, ge=1)
    max_associations_per_peer: int = Field(16, ge=1, description="open connections from one address")
    max_pending_per_peer: int = Field(4, ge=1, description="connections from one address not yet associated")
    association_hold_seconds: float = Field(
        60.0, ge=0, description="an open association holds its studies this long after stable_seconds, no longer"
    )
    tls_certificate: Path | None = Field(None, description="PEM certificate: the SCP speaks DICOM TLS only")
    tls_private_key: Path | None = None
    tls_ca: Path | None = Field(None, description="PEM CA bundle that peers' certificates must chain to")
    tls_require_peer_certificate: bool = False
    max_inflated_bytes: int = Field(256 << 20, ge=1, description="a deflated dataset inflating past this: 0xA700")

    _ae = field_validator("ae_title")(classmethod(lambda cls, v: _check_ae(v)))

    @field_validator("allowed_calling_aets")
    @classmethod
    def _aets(cls, values: list[str]) -> list[str]:
        return [_check_ae(v) for v in values]


class DatabaseSettings(_Section):
    url: str = ""


class BrokerSettings(_Section):
    url: str = ""


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: str = ""
    tls_certificate: Path | None = Field(None, description="PEM certificate: the web app is served over HTTPS")
    tls_private_key: Path | None = None


class DestinationSettings(_Section):
    name: str = Field(min_length=1)
    ae_title: str
    host: str
    port: int = Field(ge=1, le=65535)
    results: bool = True
    max_age_seconds: float = Field(24 * 3600.0, gt=0)
    first_retry_seconds: float = Field(5.0, gt=0)
    tls: bool = Field(False, description="send over DICOM TLS")
    tls_ca: Path | None = Field(None, description="PEM CA the destination's certificate must chain to")
    tls_certificate: Path | None = Field(None, description="PEM certificate presented to the destination")
    tls_private_key: Path | None = None

    _ae = field_validator("ae_title")(classmethod(lambda cls, v: _check_ae(v)))


class Settings(_Section):
    node: NodeSettings = Field(default_factory=NodeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    destinations: list[DestinationSettings] = Field(default_factory=list)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ris: list[RisEndpointSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_targets(self) -> Settings:
        names = [d.name for d in self.destinations] + [r.name for r in self.ris]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"destination and ris names must be unique together: {dupes}")
        return self

    @field_validator("destinations")
    @classmethod
    def _unique_names(cls, values: list[DestinationSettings]) -> list[DestinationSettings]:
        names = [d.name for d in values]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"destination names must be unique: {dupes}")
        return values

    # derived locations -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.node.data_dir.resolve()

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'spinenode.sqlite'}"

    def target_names(self) -> list[str]:
        return [d.name for d in self.destinations] + [r.name for r in self.ris]

    def ris_endpoint(self, name: str) -> RisEndpointSettings:
        for endpoint in self.ris:
            if endpoint.name == name:
                return endpoint
        raise KeyError(f"no ris endpoint named {name!r}")

    def destination(self, name: str) -> DestinationSettings:
        for dest in self.destinations:
            if dest.name == name:
                return dest
        raise KeyError(f"no destination named {name!r}")


ENV_NOT_SETTINGS = frozenset({"CONFIG", "LOG_LEVEL", "LOG_FORMAT", "ANALYSIS_WORKERS"})
"""Variables of the prefix that are not settings: read by the command line itself (the settings file, the log
level and format) and by the analysis (its process pool, ``workers.analysis.segmentations``)."""


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if raw.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass
    return raw


def _did_you_mean(name: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_order(key: str) -> list[tuple[int, str]]:
    """Variables in an order that fills lists from index 0 up (…__2__ before …__10__)."""
    return [(int(p), "") if p.isdigit() else (-1, p) for p in key.split("__")]


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for key, raw in sorted(environ.items(), key=lambda item: _env_order(item[0])):
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX) :] in ENV_NOT_SETTINGS:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if not all(parts):
            raise SettingsError(f"environment variable {key}: expected {ENV_PREFIX}<SECTION>__<KEY>")
        if parts[0] not in Settings.model_fields:
            hint = _did_you_mean(parts[0], Settings.model_fields)
            raise SettingsError(f"environment variable {key}: no settings section [{parts[0]}]{hint}")
        target: Any = data
        for here, part in enumerate(parts):
            last = here == len(parts) - 1
            value = _parse_env_value(raw) if last else None
            if isinstance(target, list):
                if not part.isdigit():
                    raise SettingsError(f"environment variable {key}: {part!r} must be a list index (0, 1, …)")
                index = int(part)
                if index > len(target):
                    raise SettingsError(
                        f"environment variable {key}: index {index} skips entries ({len(target)} so far)"
                    )
                if index == len(target):
                    target.append({})
                if last:
                    target[index] = value
                else:
                    target = target[index]
            elif isinstance(target, dict):
                if last:
                    target[part] = value
                else:
                    list_section = here == 0 and _is_list_field(Settings, part)
                    target = target.setdefault(part, [] if list_section else {})
            else:
                raise SettingsError(f"environment variable {key}: {'.'.join(parts[:here])} is not a table or list")


def _is_list_field(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and typing.get_origin(field.annotation) is list


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model that holds the last element of a validation error location."""
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        annotation = field.annotation
        while typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
            annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), None)
        model = annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(exc: ValidationError, source: str) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            model = _model_at(tuple(err["loc"]))
            hint = _did_you_mean(str(err["loc"][-1]), model.model_fields) if model else ""
            problems.append(f"{where}: unknown key{hint}")
        else:
            problems.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    return f"invalid settings in {source}: " + "; ".join(problems)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings once; raise :class:`SettingsError` naming the key."""
    env = dict(os.environ if environ is None else environ)
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    data: dict[str, Any] = {}
    if path:
        from node.inputs.text import TextEncodingError, read_text

        try:
            data = tomllib.loads(read_text(path)[0])
        except FileNotFoundError as exc:
            raise SettingsError(f"config file not found: {path}") from exc
        except (OSError, TextEncodingError) as exc:
            raise SettingsError(f"config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from exc
    _apply_env(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        source = f"{path} and the environment" if path else "the environment (no config file)"
        raise SettingsError(_describe(exc, source)) from None
    from node.routing.rules import RuleError

    try:  # rules files are read and checked now: fail fast, naming the rule and field
        settings.routing.rule_set(settings.target_names())
    except (RuleError, OSError) as exc:
        raise SettingsError(f"routing: {exc}") from None
    return settings
