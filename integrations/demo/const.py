"""Constants for the demo integration."""

from pathlib import Path
from typing import Final

DOMAIN: Final = "demo"
#: The config ``safetyhub run`` uses when there is no config.yaml.
DEMO_CONFIG: Final = Path(__file__).with_name("demo_config.yaml")
SOS_ID: Final = "demo_market"
LIGHT_ID: Final = "demo_lamp"
CAMERA_ID: Final = "demo_gate"
MOTION_ID: Final = "demo_motion"
