"""Model providers behind one streaming interface, and the router that picks and fails over.

The SDK-backed providers (`openai_compat`, `anthropic_provider`) are imported only when one is
configured, so importing this package stays cheap.
"""

from .base import (
    CompletionRequest,
    Message,
    Provider,
    ProviderConfig,
    ProviderError,
    StreamEvent,
    Tier,
    Usage,
)
from .offline import OfflineProvider
from .router import (
    AiInterrupted,
    AiUnavailable,
    Attempt,
    CallContext,
    Completion,
    Route,
    RoutedEvent,
    Router,
    RouteTable,
    tier_for,
)

__all__ = [
    "AiInterrupted",
    "AiUnavailable",
    "Attempt",
    "CallContext",
    "Completion",
    "CompletionRequest",
    "Message",
    "OfflineProvider",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "Route",
    "RouteTable",
    "RoutedEvent",
    "Router",
    "StreamEvent",
    "Tier",
    "Usage",
    "tier_for",
]
