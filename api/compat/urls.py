"""The Scribe- and OpenAI-compatible endpoints, at the paths their SDKs call."""

urlpatterns: list = []
