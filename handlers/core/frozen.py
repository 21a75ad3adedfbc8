"""Blocks serialised once and reused while the data they show is unchanged.

Building a block with slack_sdk.models and calling `to_dict()` validates it every time, which
costs more than finding the row it shows. A FrozenBlock holds the validated dict of a block
built once; the snapshot a handler reads from (storage.snapshot) keeps it as long as its
rows stay the same. The dict is shared: nothing may change it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from slack_sdk.models.blocks import Block

from storage.snapshot import remember


class FrozenBlock(Block):
    def __init__(self, rendered: dict[str, Any]) -> None:
        super().__init__(type=rendered["type"], block_id=rendered.get("block_id"))
        self._rendered = rendered

    def to_dict(self, *args: Any) -> dict[str, Any]:
        return self._rendered


# Every list separates its rows with the same divider.
DIVIDER: Block = FrozenBlock({"type": "divider"})


def frozen(memo: dict[Hashable, Any], key: Hashable, build: Callable[[], Block]) -> Block:
    """The block `build()` makes, validated and serialised once per `memo` and `key`."""
    return remember(memo, key, lambda: FrozenBlock(build().to_dict()))
