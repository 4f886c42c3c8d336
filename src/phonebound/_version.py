"""The package version, in a module of its own: modules that record it import this, never the
package `__init__` (whose lazy attributes import them)."""

__version__ = "0.1.0"
