"""The hub's kernel: context, event bus, state machine, services and clock."""
