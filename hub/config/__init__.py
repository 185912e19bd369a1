"""Config loading and validation: YAML with positions, tags, secrets, located errors."""

from hub.config.core_schema import HubCoreConfig
from hub.config.errors import ConfigError, ConfigInvalid, ConfigWarning, format_path
from hub.config.nodes import Input, NodeDict, NodeList, NodeStr, position
from hub.config.secrets import RedactSecretsFilter, redact, register_secret, secret_values
from hub.config.validate import BlockModel, errors_from_validation, validate_block
from hub.config.yaml_loader import load_config_file, load_yaml, position_of

__all__ = (
    "ConfigWarning",
    "BlockModel",
    "ConfigError",
    "ConfigInvalid",
    "HubCoreConfig",
    "Input",
    "NodeDict",
    "NodeList",
    "NodeStr",
    "RedactSecretsFilter",
    "errors_from_validation",
    "format_path",
    "load_config_file",
    "load_yaml",
    "position",
    "position_of",
    "redact",
    "register_secret",
    "secret_values",
    "validate_block",
)
