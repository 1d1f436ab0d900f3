"""The Trio engine: a supervisor of per-window task trees trading on an `Exchange`."""
