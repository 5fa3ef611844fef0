"""The SR archive: every SR the node issued, indexed and searchable; retention of originals."""

from node.archive.index import ArchiveQuery, ArchiveQueryError, index_new_results, search

__all__ = ["ArchiveQuery", "ArchiveQueryError", "index_new_results", "search"]
