"""The one typed settings object of the node (keys fixed by the architecture contract).

Loaded from a TOML file (``--config`` or ``SPINENODE_CONFIG``); every key can be overridden by an
environment variable ``SPINENODE_<SECTION>__<KEY>`` (values parsed as TOML literals where they parse,
else taken as strings). Unknown keys are an error that names the key.
"""

from __future__ import annotations

import os
import re
import tomllib
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


class DestinationSettings(_Section):
    name: str = Field(min_length=1)
    ae_title: str
    host: str
    port: int = Field(ge=1, le=65535)
    results: bool = True
    max_age_seconds: float = Field(24 * 3600.0, gt=0)
    first_retry_seconds: float = Field(5.0, gt=0)

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


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise SettingsError(f"environment variable {key}: expected {ENV_PREFIX}<SECTION>__<KEY>")
        section, name = parts
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise SettingsError(f"environment variable {key}: [{section}] is not a table")
        target[name] = _parse_env_value(raw)


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        lines.append(f"{where}: {err['msg']} (got {value!r})")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings once; raise :class:`SettingsError` naming the key."""
    env = dict(os.environ if environ is None else environ)
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SettingsError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from exc
    _apply_env(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    from node.routing.rules import RuleError

    try:  # rules files are read and checked now: fail fast, naming the rule and field
        settings.routing.rule_set(settings.target_names())
    except (RuleError, OSError) as exc:
        raise SettingsError(f"routing: {exc}") from None
    return settings
