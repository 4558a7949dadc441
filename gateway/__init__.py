"""TokenHub: a Kubernetes-native LLM routing gateway (data plane and shared domain)."""

__version__ = "0.1.0"
