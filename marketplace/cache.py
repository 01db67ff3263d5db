"""A Redis cache that degrades to "no cache" while Redis is unreachable, instead of failing the request.

Everything cached here (query embeddings, throttle counters) can be recomputed or briefly skipped; a
Redis restart (kill -9, failover) must cost a cache miss, not a 500 on every page that touches the cache.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is down; ``incr`` and ``clear`` still raise."""

    def _unavailable(self, operation: str, exc: BaseException) -> None:
        logger.warning("cache %s skipped, Redis unavailable: %s", operation, exc)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except UNAVAILABLE as exc:
            self._unavailable("add", exc)
            return False

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as exc:
            self._unavailable("get", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE as exc:
            self._unavailable("set", exc)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().touch(key, timeout, version))
        except UNAVAILABLE as exc:
            self._unavailable("touch", exc)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except UNAVAILABLE as exc:
            self._unavailable("delete", exc)
            return False

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return dict(super().get_many(keys, version))
        except UNAVAILABLE as exc:
            self._unavailable("get_many", exc)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except UNAVAILABLE as exc:
            self._unavailable("has_key", exc)
            return False

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        try:
            return list(super().set_many(data, timeout, version))
        except UNAVAILABLE as exc:
            self._unavailable("set_many", exc)
            return list(data)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE as exc:
            self._unavailable("delete_many", exc)
