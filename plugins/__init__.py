"""Community plugins shipped with the hub; each folder is a model a hobbyist can copy."""
