"""Where stored media lives: a local folder or S3-compatible object storage (see base)."""

from __future__ import annotations

from services.media_store.base import MediaStore, MediaUnavailable, ObjectInfo, valid_key

__all__ = ["MediaStore", "MediaUnavailable", "ObjectInfo", "valid_key"]
