"""Series inventory: what every series of a study is, from headers only, and protocol checks."""

from workers.inventory.series import SeriesInventory, classify_series, inventory_path

__all__ = ["SeriesInventory", "classify_series", "inventory_path"]
